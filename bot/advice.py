"""The one way to a recommendation: every door (chat actions, the HTTP API, the command line, batch) calls `advise`.

    advise(case_data, channel="api", conversation="api-7f3a", audit=True)
    # Advice(case=Case(...), recommendation={...}, audit_id=42, audit_error=None)

One call does, in this order:
1. the deployment's region rule: a case that does not name its `region` gets RRMM_REGION, else US
   (contract.md: a deployment may set its own default). An invalid RRMM_REGION is a setting error: every door checks
   it when it starts (`deployment_region()`), so a server or a command stops with the variable named instead of
   answering with the wrong labels;
2. one parse (bot.clinical.models.parse_case; a CaseError names each field);
3. the engine (bot.clinical.engine.recommend: pure, deterministic);
4. when asked (`audit=True`), one audit row written from the very Case the engine used, region included
   (bot.audit.record). A failed write does not take the answer away: it is logged and returned as `audit_error`,
   and the door tells its user (the chat says so, the API's RRMM-Audit header says `not-recorded`).

Nothing else in the project calls the engine or writes the audit trail (tests/test_architecture.py).
Layer: the standard library, `bot.clinical`, `bot.audit`.
"""
from __future__ import annotations

import asyncio
import logging
import os
import uuid
from dataclasses import dataclass
from functools import partial
from typing import Any, Dict, Mapping, Optional

from bot import audit as trail
from bot.clinical.engine import recommend
from bot.clinical.kb import kb
from bot.clinical.models import DEFAULT_REGION, Case, CaseError, parse_case

__all__ = ["Advice", "SettingError", "advise", "advise_async", "deployment_region", "with_region", "CaseError"]

logger = logging.getLogger(__name__)


class SettingError(ValueError):
    """A deployment setting is invalid (the message names the variable and the rule, never the value)."""


@dataclass(frozen=True)
class Advice:
    case: Case  # the case the engine used (the region filled in)
    recommendation: Dict[str, Any]  # contract.md's Recommendation
    audit_id: Optional[int] = None  # the audit row written; None when not asked or when the write failed
    audit_error: Optional[str] = None  # why the row could not be written (already logged)

    @property
    def recorded(self) -> bool:
        return self.audit_id is not None


def deployment_region(env: Mapping[str, str] = os.environ) -> str:
    """The region whose labels apply when a case does not say: RRMM_REGION, else US. Raises SettingError."""
    raw = env.get("RRMM_REGION")
    value = (raw or DEFAULT_REGION).strip().upper()
    regions = kb().regions
    if value not in regions:
        raise SettingError(f"RRMM_REGION must be one of {', '.join(regions)} (or unset for {DEFAULT_REGION})")
    return value


def with_region(data: Any, env: Mapping[str, str] = os.environ) -> Any:
    """The case data with the deployment's region when it names none (anything but an object is left to the parse)."""
    if isinstance(data, Mapping) and "region" not in data:
        return {**data, "region": deployment_region(env)}
    return data


def _engine(data: Any, env: Mapping[str, str]) -> "tuple[Case, Dict[str, Any]]":
    case = parse_case(dict(with_region(data, env)) if isinstance(data, Mapping) else data)
    return case, recommend(case)


def _conversation(channel: Optional[str], conversation: Optional[str]) -> str:
    # a call of its own (API, command line, batch run): its own conversation in the trail
    return conversation or f"{channel or 'call'}-{uuid.uuid4().hex}"


def _write(case: Case, rec: Dict[str, Any], channel: Optional[str], conversation: Optional[str],
           env: Mapping[str, str]) -> Advice:
    try:
        row = trail.record(_conversation(channel, conversation), channel, case, rec, env=env)
    except trail.AuditError as exc:
        logger.error("audit: a recommendation given over %s was NOT recorded: %s", channel or "an unnamed channel", exc)
        return Advice(case, rec, None, str(exc))
    return Advice(case, rec, row)


def advise(data: Any, *, channel: Optional[str], conversation: Optional[str] = None, audit: bool = True,
           env: Mapping[str, str] = os.environ) -> Advice:
    """The recommendation for raw case data (a mapping of contract.md's case fields). Raises CaseError naming each
    field, SettingError for an invalid RRMM_REGION. `conversation` defaults to a fresh id (one call, one
    conversation); it is stored only as a salted hash."""
    case, rec = _engine(data, env)
    return _write(case, rec, channel, conversation, env) if audit else Advice(case, rec)


async def advise_async(data: Any, *, channel: Optional[str], conversation: Optional[str] = None, audit: bool = True,
                       env: Mapping[str, str] = os.environ) -> Advice:
    """`advise` for a server's event loop: the engine inline (well under a millisecond), the audit write (SQLite,
    an fsync) in a worker thread, so other conversations go on meanwhile."""
    case, rec = _engine(data, env)
    if not audit:
        return Advice(case, rec)
    return await asyncio.get_running_loop().run_in_executor(
        None, partial(_write, case, rec, channel, conversation, env))
