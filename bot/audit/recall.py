"""Edition recall: which recommendations already given would be different under the current knowledge.

A knowledge update (a new edition: approvals, trials, rules) can change what the assistant would have said about
a patient seen last month. `recall()` replays the de-identified case of every audited recommendation (the case
exactly as the engine used it, region included) through a knowledge base (the current one unless another
directory is given: a candidate edition can be checked before it is installed) and lists the rows whose options,
tiers or exclusions would now differ, with each difference in a clinician's words ("cilta-cel now an option
(preferred)", "DRd moved from preferred to in certain circumstances"), the audit id, the date and the channel.

    python -m bot audit recall [--since EDITION] [--knowledge DIR] [--format text|json] [--db PATH]
    GET /api/v1/audit/recall?since=EDITION        (API token; bot/plugins/channels/api.py)

Rows written before the audit trail kept the edition, the tiers or the region are still compared on what they
hold: options and their order always; tiers when the row has them; a row without its region is replayed with the
deployment's default region and says so. Nothing here writes to the trail or shows anything that identifies a
patient: the rows hold only normalised case fields and regimen codes.

Imports: the standard library, bot.clinical and bot.audit.trail.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from bot.clinical.engine import recommend
from bot.clinical.kb import KnowledgeBase, kb
from bot.clinical.kb import load as load_knowledge
from bot.clinical.models import DEFAULT_REGION, CaseError, parse_case

__all__ = ["EDITION", "Change", "Recalled", "RecallReport", "recall", "render_recall", "valid_edition",
           "knowledge_from"]

EDITION = re.compile(r"\d{4}-\d{2}\Z")
TIER_ORDER = ("preferred", "recommended", "circumstances")


def valid_edition(text: str) -> str:
    """An edition as written in the knowledge base (YYYY-MM); raises ValueError naming the rule."""
    value = (text or "").strip()
    if not EDITION.match(value):
        raise ValueError("since: an edition is written YYYY-MM (e.g. 2026-11)")
    return value


def knowledge_from(directory: Optional[str]) -> KnowledgeBase:
    """The knowledge base of a directory (a candidate edition), or the installed one."""
    if not directory:
        return kb()
    path = Path(directory)
    if not path.is_dir():
        raise ValueError("knowledge: not a directory of knowledge files")
    return load_knowledge(path)


@dataclass(frozen=True)
class Change:
    regimen: str
    kind: str  # added | removed | tier | first
    before: Optional[str]
    after: Optional[str]
    text: str


@dataclass
class Recalled:
    audit_id: int
    ts: str
    channel: Optional[str]
    edition: Optional[str]  # the edition the recommendation was given under (None: not recorded in old rows)
    region: str
    changes: List[Change]
    notes: List[str] = field(default_factory=list)

    def as_dict(self) -> Dict[str, Any]:
        return {**asdict(self), "changes": [asdict(c) for c in self.changes]}


@dataclass
class RecallReport:
    knowledge_edition: str
    knowledge_version: str
    since: Optional[str]
    checked: int
    changed: List[Recalled]
    skipped: int = 0  # rows whose stored case the current knowledge cannot read (counted, never dropped silently)

    def as_dict(self) -> Dict[str, Any]:
        return {"knowledge_edition": self.knowledge_edition, "knowledge_version": self.knowledge_version,
                "since": self.since, "checked": self.checked, "differ": len(self.changed), "skipped": self.skipped,
                "recommendations": [r.as_dict() for r in self.changed]}


def _tier_words(tier: Optional[str], k: KnowledgeBase) -> str:
    return k.say(f"render.tier_{tier}").lower() if tier in TIER_ORDER else "an option"


def _removed_reason(rec: Mapping[str, Any], code: str) -> str:
    for e in rec.get("excluded") or []:
        if e.get("regimen") == code and e.get("reasons"):
            return str(e["reasons"][0])
    return ""


def differences(row: Mapping[str, Any], rec: Mapping[str, Any], k: KnowledgeBase) -> List[Change]:
    """What the new recommendation `rec` says differently from what the audit `row` records, in words."""
    before: List[str] = list(row.get("offered") or [])
    before_tiers: Mapping[str, str] = row.get("tiers") or {}
    after_options = rec.get("options") or []
    after: List[str] = [o["regimen"] for o in after_options]
    after_tiers = {o["regimen"]: o.get("tier") for o in after_options}
    changes: List[Change] = []
    for code in after:
        if code not in before:
            changes.append(Change(code, "added", None, after_tiers[code],
                                  f"{code} now an option ({_tier_words(after_tiers[code], k)})"))
    for code in before:
        if code not in after:
            reason = _removed_reason(rec, code)
            changes.append(Change(code, "removed", before_tiers.get(code), None,
                                  f"{code} no longer an option" + (f": {reason}" if reason else "")))
    for code in after:
        old, new = before_tiers.get(code), after_tiers[code]
        if code in before and old and new and old != new:
            changes.append(Change(code, "tier", old, new,
                                  f"{code} moved from {_tier_words(old, k)} to {_tier_words(new, k)}"))
    first_before = next((c for c in before if c != "trial"), None)
    first_after = next((c for c in after if c != "trial"), None)
    if first_before != first_after and (first_before or first_after):
        text = (f"first option now {first_after} (was {first_before})" if first_before and first_after
                else f"first option now {first_after}" if first_after else f"no option now (was {first_before})")
        changes.append(Change(first_after or first_before or "", "first", first_before, first_after, text))
    return changes


def _replay_case(stored: Mapping[str, Any], default_region: str) -> Tuple[Any, List[str]]:
    data, notes = dict(stored or {}), []
    if "region" not in data:
        data["region"] = default_region
        notes.append(f"region not recorded: replayed with {default_region} labels")
    return parse_case(data), notes


def recall(rows: Iterable[Mapping[str, Any]], knowledge: Optional[KnowledgeBase] = None,
           since: Optional[str] = None, default_region: str = DEFAULT_REGION) -> RecallReport:
    """Replays each row's case through `knowledge` (default: the installed one); rows recorded under an edition
    before `since` (YYYY-MM) are left out; rows that do not record their edition are kept (and say so)."""
    k = knowledge or kb()
    since = valid_edition(since) if since else None
    checked, skipped, changed = 0, 0, []
    memo: Dict[str, Dict[str, Any]] = {}
    for row in rows:
        edition = row.get("knowledge_edition")
        if since and edition and edition < since:
            continue
        checked += 1
        try:
            case, notes = _replay_case(row.get("clinical_case") or {}, default_region)
        except CaseError:
            skipped += 1
            continue
        key = case.json(sort_keys=True) if hasattr(case, "json") else repr(case)
        rec = memo.get(key)
        if rec is None:
            rec = memo[key] = recommend(case, k)
        changes = differences(row, rec, k)
        if not changes:
            continue
        if not edition:
            notes.append("edition not recorded in this row")
        if not row.get("tiers"):
            notes.append("tiers not recorded in this row: options compared, tiers not")
        changed.append(Recalled(audit_id=int(row["id"]), ts=str(row.get("ts") or ""), channel=row.get("channel"),
                                edition=edition, region=case.region, changes=changes, notes=notes))
    return RecallReport(knowledge_edition=k.edition, knowledge_version=k.version, since=since, checked=checked,
                        changed=changed, skipped=skipped)


def render_recall(report: RecallReport) -> str:
    """The report for a person: one paragraph per recommendation that would now differ."""
    n = report.checked
    head = (f"Edition recall against knowledge {report.knowledge_edition}"
            + (f" (recommendations given under {report.since} or later)" if report.since else "") + ": "
            + f"{n} recommendation{'s' if n != 1 else ''} checked, {len(report.changed)} would now differ.")
    lines = [head]
    if report.skipped:
        lines.append(f"{report.skipped} recorded case{'s' if report.skipped != 1 else ''} could not be read by this "
                     "knowledge base (a field it no longer knows); check them by hand.")
    for r in report.changed:
        when = r.ts[:16].replace("T", " ") + " UTC" if r.ts else "time not recorded"
        given = f"given under {r.edition}" if r.edition else "edition not recorded"
        lines.append("")
        lines.append(f"Audit #{r.audit_id}, {when}, {r.channel or 'channel not recorded'}, {r.region} labels, {given}:")
        lines += [f"  - {c.text}" for c in r.changes]
        lines += [f"  ({note})" for note in r.notes if note != "edition not recorded in this row"]
    return "\n".join(lines)
