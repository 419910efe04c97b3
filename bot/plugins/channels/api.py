"""The HTTP API for other programs (an EHR, a tumour-board tool): `bot.plugins.channels.api.ApiChannel` in
credentials.yml, served by the Rasa server itself under /api/v1 (nothing else has to run).

- `POST /api/v1/recommend`: a Case (contract.md) in, the Recommendation out; from the recommendation service
  (bot.advice, as every door), no conversation. Without `region`, the deployment's default applies (RRMM_REGION,
  else US; an invalid value stops the server at start). Each recommendation is written to the audit trail with
  channel `api`; the `RRMM-Audit` header gives the row's id (or `not-recorded`, logged, when the trail could not be
  written: the answer is still given, as in the chat).
- `GET /api/v1/regimens/{code}` and `GET /api/v1/trials/{id}`: what the knowledge base holds (any alias,
  case-insensitive); an unknown name gets 404 with the closest known names (for a drug's name: the regimens that
  contain it, and the look-up below).
- `GET /api/v1/regimens?drug=carfilzomib`: the regimens of the catalog that contain a drug (any alias), with the
  settings whose tier table lists each; without `drug`, the whole catalog. It takes no case: a regimen's tier for a
  case is in the answer of /recommend (the chat, which has the conversation's case, gives both).
- `GET /api/v1/audit/recall[?since=EDITION]`: edition recall (bot.audit.recall): the audited recommendations that
  the installed knowledge would now answer differently, with each difference in words.
- `GET /api/v1/openapi.json`: the OpenAPI 3.0 document (bot.plugins.channels.openapi), and `GET /api/v1/` a health
  check: the two routes open without a key (they hold nothing about a case).

Every other route needs the API token (bot.plugins.tokens: RRMM_API_TOKEN, else var/api.token) as
`Authorization: Bearer <token>` (or `?token=`), or a JWT when RRMM_JWT_SECRET is set, exactly as the REST channel;
otherwise 401, before the body is read. Bodies go through bot.plugins.inbound (size: 413; not UTF-8 JSON or nested
too deeply: 400, with `{"error", "reason"}`); an invalid case gets 422 with `{"error": "case_invalid", "reason",
"errors": [{"field", "message"}]}`, the messages of bot.clinical.models.parse_case that the command line prints.
Nothing of the case is logged: the log says which route answered what, with the setting and the number of options.
"""
from __future__ import annotations

import asyncio
import logging
import os
from functools import partial
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

from rasa.core.channels.channel import InputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import advice, audit, problems
from bot.audit.recall import recall, valid_edition
from bot.clinical.kb import UnknownName, kb
from bot.clinical.lookup import drug_regimens_text, regimens_with
from bot.clinical.render import regimen_cautions, render_regimen, render_trial

from .. import inbound
from ..errors import ConfigError
from .base import OnNewMessage, channel_keys, log_on
from .openapi import (
    PREFIX,
    ApprovalInRegion,
    FieldProblem,
    RegimenInfo,
    RegimenListing,
    RegimenSummary,
    SettingListing,
    TrialInfo,
    ValidationProblem,
    document,
)
from .problem import problem_response, refusal_response, serve_problems
from .rest import RestChannel

logger = logging.getLogger(__name__)

CHANNEL = "api"
QUERY = ("token",)


def default_region(env: Any = os.environ) -> str:
    """The deployment's region rule (bot.advice); a wrong RRMM_REGION stops the server with the variable named."""
    try:
        return advice.deployment_region(env)
    except advice.SettingError as exc:
        raise ConfigError(str(exc)) from None


def field_problems(messages: List[str]) -> List[FieldProblem]:
    """parse_case's messages ("prior_lines: required field is missing") as field problems: `field` and `rule`, and
    the older `message` (the same text) kept for one edition."""
    return [FieldProblem(field=r["field"], rule=r["rule"], message=r["rule"]) for r in problems.field_rules(messages)]


def _problem(status: int, error: str, reason: str, suggestions: Optional[List[str]] = None,
             errors: Sequence[Dict[str, str]] = (), headers: Optional[Dict[str, str]] = None) -> HTTPResponse:
    logger.warning("API: answered %s (%s)", status, error)
    return problem_response(status, error, reason, errors, headers, suggestions=suggestions or [])


def _unknown(exc: UnknownName, field: str) -> HTTPResponse:
    """404 for a name the knowledge base does not hold, with the closest known names (never the name sent)."""
    reason = (f"unknown {exc.kind} (closest known: {', '.join(exc.suggestions)})" if exc.suggestions
              else f"unknown {exc.kind}")
    return _problem(404, "not_found", reason, exc.suggestions,
                    [{"field": field, "rule": f"a {exc.kind} of the knowledge base (any alias)"}])


def _refusal(refusal: inbound.Refusal) -> HTTPResponse:
    logger.warning("API: answered %s (%s)", refusal.status, refusal.code)
    return refusal_response(refusal)


def regimen_info(name: str) -> RegimenInfo:
    """The knowledge base's entry on a regimen (raises UnknownName)."""
    k = kb()
    reg = k.regimen(name)
    approval = {}
    for region in k.regions:
        label = k.labels.get(reg.code)
        status = label.regions[region].status_text if label else "no restriction recorded"
        line = k.approval_line(reg.code, region) if reg.code in k.regimens else f"{region}: not a drug regimen"
        approval[region] = ApprovalInRegion(status=status, line=line)
    settings = _settings_of(reg.code)
    return RegimenInfo(
        code=reg.code, name=reg.name, components=list(reg.components), aliases=list(reg.aliases),
        intensity=reg.intensity, settings=settings, approval=approval, requires_t11_14=reg.requires_t11_14,
        note=reg.salvage_note or None, trials=[trial_info(t) for t in reg.trials],
        cautions=regimen_cautions(reg.code, k) if reg.code in k.regimens else [],
        knowledge_edition=k.edition, knowledge_version=k.version, text=render_regimen(reg.code, k))


def _settings_of(code: str) -> List[SettingListing]:
    return [SettingListing(setting=s.id, name=s.name, tier=c.tier)
            for s in kb().settings for c in s.candidates if c.regimen == code]


def regimen_listing(drug: Optional[str]) -> RegimenListing:
    """The regimens that contain a drug (any alias; raises UnknownName), or the whole catalog without one."""
    k = kb()
    if drug is None:
        drug_id, regimens, text = None, list(k.regimens.values()), "The regimens of the catalog: " + ", ".join(
            k.regimens) + f".\nKnowledge as of {k.edition}."
    else:
        drug_id, regimens = regimens_with(drug, k)
        text = drug_regimens_text(drug_id, None, k)
    return RegimenListing(drug=drug_id, knowledge_edition=k.edition, text=text, regimens=[
        RegimenSummary(code=r.code, name=r.name, components=list(r.components), intensity=r.intensity,
                       settings=_settings_of(r.code)) for r in regimens])


def trial_info(name: str) -> TrialInfo:
    """The knowledge base's entry on a trial (raises UnknownName)."""
    k = kb()
    t = k.trials[k.trial_id(name)]
    return TrialInfo(id=t.id, comparison=t.comparison, setting=t.setting, result=t.result, regimens=list(t.regimens),
                     source=t.source, checked=t.checked, knowledge_edition=k.edition, text=render_trial(t.id, k))


def recall_report(since: Optional[str], default_region: str) -> Any:
    """Edition recall over the whole audit trail under the installed knowledge (blocking: SQLite and the engine)."""
    try:
        items = audit.rows()
    except audit.AuditError as exc:
        if "no audit log" in str(exc):  # nothing recorded yet: nothing to recall
            items = []
        else:
            raise
    return recall(items, since=since, default_region=default_region)


class ApiChannel(InputChannel):
    """The /api/v1 routes (see the module docstring). It answers from the engine and never starts a conversation."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        return cls(*channel_keys())

    def __init__(self, token: Text, jwt_secret: Optional[Text] = None, jwt_method: Text = "HS256") -> None:
        self.auth = RestChannel(token, jwt_secret, jwt_method)  # the same keys as the REST channel
        self.region = default_region()
        document()  # built (and the knowledge base loaded) at start, not on the first request

    def url_prefix(self) -> Text:
        return PREFIX  # absolute: Rasa joins it to /webhooks/, which gives /api/v1

    def get_output_channel(self) -> None:
        return None

    def _check(self, request: Request, accepted: Tuple[str, ...] = QUERY) -> Optional[HTTPResponse]:
        """A 401 without a valid key, a 400 for unknown query parameters; None when the request may go on."""
        if isinstance(self.auth.authenticate(request), inbound.Refusal):
            return _problem(401, "unauthorized", "send the API token as 'Authorization: Bearer <token>' "
                                                 "(docs/security.md)",
                            errors=[{"field": "Authorization", "rule": "the install's API token (or a JWT)"}],
                            headers={"WWW-Authenticate": "Bearer"})
        unknown = sorted(k for k in request.args if k not in accepted)
        if unknown:
            return _problem(400, "unknown_parameters", f"{len(unknown)} unknown query parameter(s); accepted: "
                            + ", ".join(accepted), errors=[{"field": "query", "rule": "accepted parameters: "
                                                                                     + ", ".join(accepted)}])
        return None

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        bp = serve_problems(Blueprint("rrmm_api_v1", __name__))
        log_on("API", f"{PREFIX}/recommend, {PREFIX}/regimens?drug=, {PREFIX}/regimens/<code>, {PREFIX}/trials/<id> "
                      f"(API token{' or JWT' if self.auth.jwt_secret else ''} required), {PREFIX}/openapi.json; "
                      f"default region {self.region}")

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "openapi": f"{PREFIX}/openapi.json"})

        @bp.route("/openapi.json", methods=["GET"])
        async def openapi(_: Request) -> HTTPResponse:
            return response.json(document())

        @bp.route("/recommend", methods=["POST"])
        async def recommend_route(request: Request) -> HTTPResponse:
            refused = self._check(request)
            if refused:
                return refused
            body = inbound.parse_json(request.body or b"", object)
            if isinstance(body, inbound.Refusal):
                return _refusal(body)
            try:
                given = await advice.advise_async(body, channel=CHANNEL)
            except advice.CaseError as exc:
                found = field_problems(exc.problems)
                logger.warning("API: answered 422 (case_invalid: %s)", ", ".join(p.field for p in found)[:200])
                body = {**problems.invalid_case(exc.problems), "errors": [f.dict() for f in found]}
                return response.json(ValidationProblem(**body).dict(), status=422, content_type=problems.MEDIA_TYPE)
            except UnknownName as exc:  # pragma: no cover - parse_case turns unknown drugs into CaseError
                return _problem(422, "case_invalid", str(exc))
            rec = given.recommendation
            row = str(given.audit_id) if given.recorded else "not-recorded"  # a failure is logged by bot.advice
            logger.info("API: recommendation given (%s, %d options, audit row %s)",
                        ",".join(rec["assessment"].get("settings") or []) or "no setting", len(rec["options"]), row)
            if given.case.id is not None:  # the caller's study id, passed back (never written to the audit trail)
                rec = {"id": given.case.id, **rec}
            return response.json(rec, headers={"RRMM-Audit": row})

        @bp.route("/regimens", methods=["GET"])
        async def regimens(request: Request) -> HTTPResponse:
            refused = self._check(request, QUERY + ("drug",))
            if refused:
                return refused
            drug = request.args.get("drug")
            try:
                return response.json(regimen_listing(drug.strip() if drug is not None else None).dict())
            except UnknownName as exc:
                return _unknown(exc, "drug")

        @bp.route("/audit/recall", methods=["GET"])
        async def recall_route(request: Request) -> HTTPResponse:
            refused = self._check(request, QUERY + ("since",))
            if refused:
                return refused
            since = request.args.get("since")
            try:
                since = valid_edition(since) if since is not None else None
            except ValueError as exc:
                return _problem(400, "parameter_invalid", str(exc), errors=[{"field": "since", "rule": str(exc)}])
            try:
                report = await asyncio.get_running_loop().run_in_executor(
                    None, partial(recall_report, since=since, default_region=self.region))
            except audit.AuditError:
                logger.error("API: edition recall could not read the audit trail", exc_info=True)
                return _problem(503, "audit_unavailable", "the audit trail cannot be read (see the server log)")
            logger.info("API: edition recall (%d checked, %d differ)", report.checked, len(report.changed))
            return response.json(report.as_dict())

        @bp.route("/regimens/<code>", methods=["GET"])
        async def regimen(request: Request, code: str) -> HTTPResponse:
            return self._lookup(request, regimen_info, code)

        @bp.route("/trials/<trial_id>", methods=["GET"])
        async def trial(request: Request, trial_id: str) -> HTTPResponse:
            return self._lookup(request, trial_info, trial_id)

        return bp

    def _lookup(self, request: Request, find: Any, name: str) -> HTTPResponse:
        refused = self._check(request)
        if refused:
            return refused
        try:
            return response.json(find(name).dict())
        except UnknownName as exc:
            if find is regimen_info:  # a drug's name ("carfilzomib"): point to the look-up by drug
                try:
                    _, holding = regimens_with(name)
                    return _problem(404, "not_found", f"unknown regimen; that is a drug: {PREFIX}/regimens?drug="
                                    "<drug> lists the regimens that contain it", [r.code for r in holding],
                                    [{"field": "code", "rule": "a regimen code or alias (not a drug)"}])
                except UnknownName:
                    pass
            return _unknown(exc, "id" if exc.kind == "trial" else "code")
