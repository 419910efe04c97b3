"""Case (input) and Recommendation (output) models: contract.md, names kept exactly.

pydantic v1 (Rasa 3.6 pins pydantic < 1.10.10). Unknown fields are errors; drug names accept every
alias of the knowledge base and normalise to canonical ids. `parse_case` turns validation errors into
one message per problem, each naming the field.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from pydantic import BaseModel, Extra, Field, StrictBool, ValidationError, conint, constr, root_validator, validator
from typing_extensions import Literal

from .kb import KnowledgeError, UnknownName, kb

# The case vocabulary comes from the knowledge base (knowledge/case.yml, regimens.yml): one source.
Fitness = Literal["fit", "intermediate", "frail"]
Relapse = Literal["none", "biochemical", "clinical"]
HighRisk = Literal[tuple(kb().high_risk)]  # type: ignore[misc]
TransplantCode = Literal[tuple(kb().transplants)]  # type: ignore[misc]
Region = Literal[tuple(kb().regions)]  # type: ignore[misc]
Tier = Literal["preferred", "recommended", "circumstances"]
DEFAULT_REGION = "US"  # contract.md: the source follows US labels; a deployment may set its own default

CASE_FACT_BOOLEANS = ("transplant_eligible", "lenalidomide_maintenance_only")  # facts of the case, not flags


class CaseError(ValueError):
    """Invalid case input. `problems` holds one message per problem, each naming its field."""

    def __init__(self, problems: List[str]):
        self.problems = problems
        super().__init__("invalid case: " + "; ".join(problems))


class Case(BaseModel):
    """One JSON object. Every field is optional except `prior_lines` and `relapse`; an unknown field is an error
    with a clear message (never silently ignored). Drug names accept every alias of the knowledge base
    (clinical-spec section 2) and are answered as canonical drug ids."""

    age: Optional[conint(strict=True, ge=18, le=120)] = Field(None, description="years")
    fitness: Optional[Fitness] = Field(None, description="overall fitness")
    rmci: Optional[conint(strict=True, ge=0, le=9)] = Field(
        None, description="Revised Myeloma Comorbidity Index; gives fitness when `fitness` is absent")
    transplant_eligible: Optional[StrictBool] = Field(
        None, description="eligible for high-dose therapy and autologous HCT")
    prior_auto_hct: Optional[conint(strict=True, ge=0)] = Field(None, description="autologous transplants already done")
    months_remission_after_hct: Optional[conint(strict=True, ge=0)] = Field(
        None, description="length of remission after the last autologous HCT")
    prior_lines: conint(strict=True, ge=1) = Field(..., description="lines of therapy already given")
    relapse: Relapse = Field(..., description="what is happening now")
    refractory: List[str] = Field([], description="drugs (ids or aliases) the disease is refractory to")
    exposed: List[str] = Field([], description="drugs received without being refractory")
    lenalidomide_maintenance_only: Optional[StrictBool] = Field(
        None, description="progression happened only on low-dose lenalidomide maintenance")
    days_since_last_lenalidomide: Optional[conint(strict=True, ge=0)] = Field(
        None, description="days from the last lenalidomide dose to progression (0 = on therapy)")
    high_risk_cytogenetics: List[HighRisk] = Field([], description="high-risk abnormalities present")
    t_11_14: Optional[StrictBool] = None
    ldh_elevated: Optional[StrictBool] = None
    high_proliferation: Optional[StrictBool] = None
    m_protein_rising: Optional[StrictBool] = None
    extramedullary: Optional[StrictBool] = None
    riss_stage: Optional[Literal[1, 2, 3]] = Field(None, description="R-ISS stage")
    cardiac_disease: Optional[StrictBool] = None
    neuropathy: Optional[StrictBool] = None
    thrombosis_history: Optional[StrictBool] = None
    infection_risk: Optional[StrictBool] = None
    low_marrow_reserve: Optional[StrictBool] = None
    renal_impairment: Optional[StrictBool] = None
    bone_disease: Optional[StrictBool] = None
    covid_vaccination_up_to_date: Optional[StrictBool] = None
    unavailable: List[str] = Field([], description="drugs not available or not affordable here")
    region: Region = Field(DEFAULT_REGION, description="whose labels apply (clinical-spec R9, section 8); a "
                                                       "deployment may set its own default")
    id: Optional[constr(strict=True, min_length=1, max_length=64)] = Field(
        None, description="batch, API and the command line only: a study or row id passed back with the answer "
                          "(`id` of the output row, or of the JSON answer); never a patient identifier; never stored "
                          "in the audit trail (2026-12)")

    class Config:
        extra = Extra.forbid
        allow_mutation = False

    @validator("refractory", "exposed", "unavailable", pre=True, each_item=False)
    def _drug_ids(cls, value: Any) -> List[str]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise ValueError("must be a list of drug names")
        out: List[str] = []
        for n, item in enumerate(value, 1):  # messages name the item's place, never what it holds
            if not isinstance(item, str):
                raise ValueError(f"item {n} must be a drug name (text)")
            try:
                drug = kb().drug_id(item)
            except UnknownName as exc:
                raise ValueError(f"item {n} is {exc}") from None
            if drug not in out:
                out.append(drug)
        return sorted(out)

    @validator("region", pre=True)
    def _region(cls, value: Any) -> Any:
        """'eu', ' EU ' -> 'EU' (other values fail the Literal check with the allowed ones named)."""
        return value.strip().upper() if isinstance(value, str) else value

    @validator("high_risk_cytogenetics", pre=True)
    def _cytogenetics(cls, value: Any) -> List[str]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise ValueError("must be a list of cytogenetic abnormalities")
        out = []
        for n, item in enumerate(value, 1):
            key = str(item).strip().lower().replace(" ", "")
            code = kb().high_risk_spellings.get(key)
            if code is None:
                raise ValueError(f"item {n} is not a known abnormality; expected one of {', '.join(kb().high_risk)} "
                                 f"(t(11;14) has its own field t_11_14)")
            if code not in out:
                out.append(code)
        return sorted(out)

    @root_validator(skip_on_failure=True)
    def _consistent(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        both = sorted(set(values["refractory"]) & set(values["exposed"]))
        if both:
            raise ValueError(f"refractory/exposed: {', '.join(both)} listed as both refractory and exposed "
                             f"(list each drug once: refractory if the disease is refractory to it)")
        if values.get("months_remission_after_hct") is not None and not values.get("prior_auto_hct"):
            raise ValueError("months_remission_after_hct: given, but prior_auto_hct is 0 or missing")
        return values


def _check_flags() -> None:
    """The boolean case fields are exactly the flags of knowledge/case.yml (whose labels the engine uses)."""
    declared = {name for name, f in Case.__fields__.items() if f.outer_type_ is StrictBool} - set(CASE_FACT_BOOLEANS)
    listed = set(kb().flag_labels)
    if declared != listed:
        raise KnowledgeError(f"case.yml: flags must be the boolean case fields of models.Case: missing "
                             f"{sorted(declared - listed)}, unknown {sorted(listed - declared)}")


_check_flags()
for _flag, _label in kb().flag_labels.items():  # the flags are described by their words for people (case.yml)
    Case.__fields__[_flag].field_info.description = Case.__fields__[_flag].field_info.description or _label


_FIELD_NAME = re.compile(r"\A[a-z][a-z0-9_]{0,39}\Z")


def _problem(err: Dict[str, Any]) -> str:
    loc = [str(x) for x in err["loc"] if x != "__root__"]
    field = loc[0] if loc else ""
    msg = err["msg"]
    if err["type"] == "value_error.extra":
        if not _FIELD_NAME.match(field):  # not shaped like a field name: it may be data sent as a key
            return "a field with an unknown name (case fields are lowercase names: see contract.md)"
        return f"{field}: unknown field (see contract.md for the case fields)"
    if err["type"] == "value_error.missing":
        return f"{field}: required field is missing"
    if not field:
        return msg
    if msg.startswith(f"{field}:") or msg.startswith(f"{field}/") or "/" in msg.split(":")[0]:
        return msg
    if len(loc) > 1:
        return f"{field}[{loc[1]}]: {msg}"
    return f"{field}: {msg}"


def parse_case(data: Any) -> Case:
    """Validate raw case data (a dict from JSON) into a Case, or raise CaseError naming each field."""
    if not isinstance(data, dict):
        raise CaseError([f"case: expected a JSON object, got {type(data).__name__}"])
    try:
        return Case.parse_obj(data)
    except ValidationError as exc:
        raise CaseError([_problem(e) for e in exc.errors()]) from None


# ---- output -----------------------------------------------------------------------------------
class Assessment(BaseModel):
    """How the engine read the case (clinical-spec R1-R4)."""

    setting: Optional[Literal["S1", "S2", "S3", "S4", "S5", "S6"]] = Field(
        ..., description="the main setting (clinical-spec section 3); null with `relapse` none")
    settings: List[str] = Field([], description="every setting the case falls in")
    lenalidomide_status: Literal["naive", "sensitive", "refractory"]
    refractory_classes: List[str]
    triple_class_refractory: bool
    penta_refractory: bool
    fitness: Literal["fit", "intermediate", "frail", "unknown"]
    fitness_basis: str = Field(..., description="where the fitness came from (stated, R-MCI, not given)")
    aggressive: bool = Field(..., description="aggressive relapse (R1)")
    aggressive_features: List[str] = []
    notes: List[str] = []
    region: Region
    lenalidomide_maintenance_progression: bool


class Initiation(BaseModel):
    """Whether to start treatment now (R1). With `relapse` none, `action` is `monitor`."""

    action: Literal["monitor", "start", "start_immediately"]
    text: str


class Option(BaseModel):
    """One treatment option. Options are ordered by tier, then by evidence (clinical-spec R8, section 7)."""

    regimen: str = Field(..., description="regimen code (clinical-spec section 4)")
    name: str
    components: List[str] = Field(..., description="drug ids")
    preferred: bool = Field(..., description="true exactly when `tier` is `preferred`")
    tier: Tier
    approval: str = Field(..., description="the labels in both regions")
    label: str = Field(..., description="the label in the case's region, for people")
    rationale: List[str]
    notes: List[str] = Field([], description="the rationale that qualifies the option (cross-resistance, label, "
                                             "tier, demotion)")
    trials: List[str] = Field(..., description="trial ids (clinical-spec section 6)")
    cautions: List[str] = Field(..., description="caution ids (clinical-spec section 5)")


    @root_validator(skip_on_failure=True)
    def _preferred_is_the_tier(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        if values["preferred"] != (values["tier"] == "preferred"):
            raise ValueError(f"{values['regimen']}: preferred must be true exactly when the tier is preferred (R8)")
        return values


class Exclusion(BaseModel):
    """A regimen of the catalog that is not an option, with its reasons: every one is listed, so \"why not X?\"
    always has an answer."""

    regimen: str
    reasons: List[str]
    ruled_out: bool = Field(..., description="true: ruled out by the case (refractory drug, anti-CD38 target, "
                                             "unavailable, t(11;14), prior lines, frailty); false: not indicated "
                                             "in the case's settings")


class TransplantOption(BaseModel):
    """Transplant advice (R6)."""

    option: TransplantCode
    recommended: bool
    text: str


class CautionOut(BaseModel):
    """A caution for the case (R7); ids are those of clinical-spec section 5 and never renamed."""

    id: str
    severity: Literal["info", "moderate", "high"]
    text: str
    because: List[str] = Field(..., description="what in the case or the options triggers it")


class TrialOut(BaseModel):
    """A trial behind the options (clinical-spec section 6)."""

    id: str
    comparison: str
    result: str
    source: str
    setting: str
    checked: str = Field(..., description="when the entry was last checked (YYYY-MM-DD)")


class Recommendation(BaseModel):
    """The answer to a case. Regimen codes, caution ids and trial ids are those of clinical-spec sections 4-6."""

    engine_version: str
    knowledge_version: str = Field(..., description="a hash of the knowledge files")
    knowledge_edition: str = Field(..., description="the clinical edition, e.g. 2026-11")
    assessment: Assessment
    initiation: Initiation
    options: List[Option]
    excluded: List[Exclusion] = Field(..., description="every regimen that is not an option")
    transplant: List[TransplantOption]
    cautions: List[CautionOut]
    trials: List[TrialOut]
    trace: List[str] = Field(..., description="the rules applied (R1, R2, ...)")
    trace_detail: List[str] = []
    disclaimer: str
    read_as: str = Field("", description="the case as read, one line (clinical-spec section 9)")
