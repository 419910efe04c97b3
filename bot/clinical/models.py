"""Case (input) and Recommendation (output) models: contract.md, names kept exactly.

pydantic v1 (Rasa 3.6 pins pydantic < 1.10.10). Unknown fields are errors; drug names accept every
alias of the knowledge base and normalise to canonical ids. `parse_case` turns validation errors into
one message per problem, each naming the field.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from pydantic import BaseModel, Extra, StrictBool, ValidationError, conint, root_validator, validator
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
    age: Optional[conint(strict=True, ge=18, le=120)] = None
    fitness: Optional[Fitness] = None
    rmci: Optional[conint(strict=True, ge=0, le=9)] = None
    transplant_eligible: Optional[StrictBool] = None
    prior_auto_hct: Optional[conint(strict=True, ge=0)] = None
    months_remission_after_hct: Optional[conint(strict=True, ge=0)] = None
    prior_lines: conint(strict=True, ge=1)
    relapse: Relapse
    refractory: List[str] = []
    exposed: List[str] = []
    lenalidomide_maintenance_only: Optional[StrictBool] = None
    days_since_last_lenalidomide: Optional[conint(strict=True, ge=0)] = None
    high_risk_cytogenetics: List[HighRisk] = []
    t_11_14: Optional[StrictBool] = None
    ldh_elevated: Optional[StrictBool] = None
    high_proliferation: Optional[StrictBool] = None
    m_protein_rising: Optional[StrictBool] = None
    extramedullary: Optional[StrictBool] = None
    riss_stage: Optional[Literal[1, 2, 3]] = None
    cardiac_disease: Optional[StrictBool] = None
    neuropathy: Optional[StrictBool] = None
    thrombosis_history: Optional[StrictBool] = None
    infection_risk: Optional[StrictBool] = None
    low_marrow_reserve: Optional[StrictBool] = None
    renal_impairment: Optional[StrictBool] = None
    bone_disease: Optional[StrictBool] = None
    covid_vaccination_up_to_date: Optional[StrictBool] = None
    unavailable: List[str] = []
    region: Region = DEFAULT_REGION

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
    setting: Optional[Literal["S1", "S2", "S3", "S4", "S5", "S6"]]
    settings: List[str] = []
    lenalidomide_status: Literal["naive", "sensitive", "refractory"]
    refractory_classes: List[str]
    triple_class_refractory: bool
    penta_refractory: bool
    fitness: Literal["fit", "intermediate", "frail", "unknown"]
    fitness_basis: str
    aggressive: bool
    aggressive_features: List[str] = []
    notes: List[str] = []
    region: Region
    lenalidomide_maintenance_progression: bool


class Initiation(BaseModel):
    action: Literal["monitor", "start", "start_immediately"]
    text: str


class Option(BaseModel):
    regimen: str
    name: str
    components: List[str]
    preferred: bool
    tier: Tier
    approval: str  # both regions (contract.md)
    label: str  # the case's region only, for people
    rationale: List[str]
    notes: List[str] = []  # the rationale that qualifies the option (cross-resistance, label, tier, demotion)
    trials: List[str]
    cautions: List[str]


    @root_validator(skip_on_failure=True)
    def _preferred_is_the_tier(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        if values["preferred"] != (values["tier"] == "preferred"):
            raise ValueError(f"{values['regimen']}: preferred must be true exactly when the tier is preferred (R8)")
        return values


class Exclusion(BaseModel):
    regimen: str
    reasons: List[str]
    ruled_out: bool  # True: ruled out by the case; False: not indicated in the case's settings


class TransplantOption(BaseModel):
    option: TransplantCode
    recommended: bool
    text: str


class CautionOut(BaseModel):
    id: str
    severity: Literal["info", "moderate", "high"]
    text: str
    because: List[str]


class TrialOut(BaseModel):
    id: str
    comparison: str
    result: str
    source: str
    setting: str
    checked: str


class Recommendation(BaseModel):
    engine_version: str
    knowledge_version: str
    knowledge_edition: str
    assessment: Assessment
    initiation: Initiation
    options: List[Option]
    excluded: List[Exclusion]
    transplant: List[TransplantOption]
    cautions: List[CautionOut]
    trials: List[TrialOut]
    trace: List[str]
    trace_detail: List[str] = []
    disclaimer: str
    read_as: str = ""  # the case as read, one line (clinical-spec section 9)
