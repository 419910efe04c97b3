"""The HTTP API's response models and its OpenAPI 3.0 document, generated from the pydantic models.

The request body is `bot.clinical.models.Case` and the answer `bot.clinical.models.Recommendation` (the public
contract, ../shared/spec/contract.md); the look-ups answer `RegimenInfo` and `TrialInfo`, errors `Problem` and
`ValidationProblem` (models here, which bot.plugins.channels.api builds its answers with, so the document cannot
drift from what is sent). `document()` turns pydantic's JSON Schema into OpenAPI 3.0 schema objects: the
definitions move to `components/schemas`, and `const` (which OpenAPI 3.0 lacks) becomes a one-value `enum`.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional

from pydantic import BaseModel, Field
from pydantic.schema import schema as pydantic_schema

from bot import ENGINE_VERSION
from bot.clinical.kb import kb
from bot.clinical.models import Case, Recommendation

PREFIX = "/api/v1"
REF = "#/components/schemas/"
EXAMPLE_CASE = Path(__file__).resolve().parents[3] / "examples" / "case-len-dara-refractory.json"


class ApprovalInRegion(BaseModel):
    status: str = Field(..., description="e.g. 'approved 2024-04', 'not approved', 'no restriction recorded'")
    line: str = Field(..., description="the approval line for people, with the label's eligibility rule")


class SettingListing(BaseModel):
    setting: str = Field(..., description="S1-S6 (clinical-spec section 3)")
    name: str
    tier: str = Field(..., description="preferred, recommended or circumstances")


class TrialInfo(BaseModel):
    id: str
    comparison: str
    setting: str
    result: str
    regimens: List[str]
    source: str = Field(..., description="the publication")
    checked: str = Field(..., description="when the entry was last checked (YYYY-MM-DD)")
    knowledge_edition: str
    text: str = Field(..., description="the same look-up as text for people (python -m bot trial ID)")


class RegimenInfo(BaseModel):
    code: str
    name: str
    components: List[str]
    aliases: List[str]
    intensity: str
    settings: List[SettingListing] = Field(..., description="the settings whose tier table lists it")
    approval: Dict[str, ApprovalInRegion] = Field(..., description="by region (US, EU)")
    requires_t11_14: bool
    note: Optional[str] = None
    trials: List[TrialInfo]
    cautions: List[str] = Field(..., description="caution ids the regimen triggers by itself")
    knowledge_edition: str
    knowledge_version: str
    text: str = Field(..., description="the same look-up as text for people (python -m bot regimen CODE)")


class Problem(BaseModel):
    error: str = Field(..., description="a code for programs, e.g. unauthorized, not_found, body_not_json")
    reason: str = Field(..., description="what is wrong, for people (never quotes what was sent)")
    suggestions: List[str] = Field([], description="closest known names (not_found)")


class FieldProblem(BaseModel):
    field: str = Field(..., description="the case field (refractory, refractory[1], refractory/exposed; 'case' for "
                                        "the whole body)")
    message: str = Field(..., description="the problem, in the words of the command line (python -m bot recommend)")


class ValidationProblem(BaseModel):
    error: str = Field("case_invalid", description="always case_invalid")
    reason: str = Field(..., description="every problem on one line, as the command line prints them")
    errors: List[FieldProblem]


class RecallChange(BaseModel):
    regimen: str
    kind: str = Field(..., description="added, removed, tier (moved to another tier) or first (a new first option)")
    before: Optional[str] = Field(None, nullable=True,
                                  description="the tier (or first option) recorded; null when not recorded")
    after: Optional[str] = Field(None, nullable=True,
                                 description="the tier (or first option) under the current knowledge")
    text: str = Field(..., description="the difference in a clinician's words")


class RecalledRecommendation(BaseModel):
    audit_id: int = Field(..., description="the audit row (python -m bot audit list)")
    ts: str = Field(..., description="when the recommendation was given (UTC)")
    channel: Optional[str] = Field(None, nullable=True)
    edition: Optional[str] = Field(None, nullable=True,
                                   description="the knowledge edition it was given under (null in rows written "
                                               "before the trail recorded it)")
    region: str = Field(..., description="whose labels the replay used (the row's, else the server's default)")
    changes: List[RecallChange]
    notes: List[str]


class RecallReport(BaseModel):
    knowledge_edition: str = Field(..., description="the edition the recorded cases were replayed under")
    knowledge_version: str
    since: Optional[str] = Field(None, nullable=True,
                                 description="only rows given under this edition (YYYY-MM) or a later one")
    checked: int = Field(..., description="recommendations replayed")
    differ: int = Field(..., description="recommendations whose options, tiers or exclusions would now differ")
    skipped: int = Field(..., description="recorded cases the current knowledge cannot read (check them by hand)")
    recommendations: List[RecalledRecommendation]


MODELS = (Case, Recommendation, RegimenInfo, TrialInfo, Problem, ValidationProblem, RecallReport)


def _oas30(node: Any) -> Any:
    """JSON Schema (draft 7, pydantic's) to OpenAPI 3.0 schema objects: `const` becomes a one-value `enum`."""
    if isinstance(node, dict):
        out = {k: _oas30(v) for k, v in node.items() if k != "const"}
        if "const" in node:
            out["enum"] = [node["const"]]
        return out
    if isinstance(node, list):
        return [_oas30(v) for v in node]
    return node


def _json(schema: str, description: str) -> Dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": REF + schema}}}}


def _errors(*codes: int) -> Dict[str, Any]:
    text = {
        400: "a body that is not JSON, nested too deeply, an unknown query parameter or a malformed one",
        401: "no API token (or JWT), or a wrong one",
        404: "unknown name; `suggestions` lists the closest known",
        413: "the body is over the size limit",
    }
    return {str(c): _json("Problem", text[c]) for c in codes}


@lru_cache(maxsize=1)
def document() -> Dict[str, Any]:
    """The OpenAPI 3.0.3 document served at /api/v1/openapi.json."""
    k = kb()
    schemas = _oas30(pydantic_schema(MODELS, ref_prefix=REF)["definitions"])
    example = json.loads(EXAMPLE_CASE.read_text(encoding="utf-8")) if EXAMPLE_CASE.is_file() else None
    case_body: Dict[str, Any] = {"schema": {"$ref": REF + "Case"}}
    if example is not None:
        case_body["example"] = example
    name = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"},
            "description": "a regimen code or any alias (case-insensitive), e.g. KPd, dara-Rd, cilta-cel, auto-HCT"}
    trial = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"},
             "description": "a trial id or alias (case-insensitive), e.g. CANDOR, CARTITUDE-4"}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "RRMM assistant API",
            "version": ENGINE_VERSION,
            "description": (
                "Treatment options for relapsed or refractory multiple myeloma from the assistant's deterministic "
                f"guideline engine (knowledge as of {k.edition}). Decision support for clinicians, not a substitute "
                "for clinical judgement. Every route but this document and the health check needs the install's "
                "API token as `Authorization: Bearer <token>` (docs/security.md). Send no patient identifiers: a "
                "case holds none. Each recommendation is written to the audit trail with channel `api`."),
            "license": {"name": "Apache-2.0"},
        },
        "servers": [{"url": PREFIX}],
        "security": [{"bearerAuth": []}],
        "paths": {
            "/recommend": {"post": {
                "operationId": "recommend",
                "summary": "The recommendation for a case (the contract's Case in, Recommendation out)",
                "description": ("Unknown fields are errors. Drug names accept every alias of the knowledge base. "
                                "Without `region`, the server's default applies (RRMM_REGION, else US); "
                                "`assessment.region` says which. The `RRMM-Audit` response header holds the audit "
                                "row's id, or `not-recorded` when the audit trail could not be written."),
                "requestBody": {"required": True, "content": {"application/json": case_body}},
                "responses": {
                    "200": {**_json("Recommendation", "the recommendation"), "headers": {"RRMM-Audit": {
                        "description": "the audit row's id, or not-recorded", "schema": {"type": "string"}}}},
                    "422": _json("ValidationProblem", "the case is not valid: each problem names its field"),
                    **_errors(400, 401, 413),
                },
            }},
            "/regimens/{code}": {"get": {
                "operationId": "regimen", "summary": "What the knowledge base holds on a regimen",
                "parameters": [name],
                "responses": {"200": _json("RegimenInfo", "the regimen"), **_errors(401, 404)},
            }},
            "/trials/{id}": {"get": {
                "operationId": "trial", "summary": "What the knowledge base holds on a trial",
                "parameters": [trial],
                "responses": {"200": _json("TrialInfo", "the trial"), **_errors(401, 404)},
            }},
            "/audit/recall": {"get": {
                "operationId": "auditRecall",
                "summary": "Edition recall: audited recommendations the current knowledge would answer differently",
                "description": ("Replays the de-identified case of every audited recommendation through the installed "
                                "knowledge edition and lists those whose options, tiers or exclusions would now "
                                "differ, each difference in words (python -m bot audit recall)."),
                "parameters": [{"name": "since", "in": "query", "required": False,
                                "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
                                "description": "only recommendations given under this edition (YYYY-MM) or later"}],
                "responses": {"200": _json("RecallReport", "the recommendations that would now differ"),
                              **_errors(400, 401), "503": _json("Problem", "the audit trail cannot be read")},
            }},
            "/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document", "security": [],
                "responses": {"200": {"description": "the OpenAPI 3.0 document",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}},
            }},
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "description": "the install's API token (RRMM_API_TOKEN, else "
                                                              "var/api.token), or a JWT when RRMM_JWT_SECRET is set"}},
        },
    }
