"""Case intake for the conversation: entities -> case slots, bare answers, conflicts, questions.

Pure functions over plain dicts (Rasa slot values and Rasa-style entities); the Rasa actions in
`actions/` are thin adapters over this module. Slot names are the case fields of contract.md, plus
`never_received` (drugs stated as never given) and `case_conflict` (a question to settle).
"""
from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Optional, Tuple

from bot.clinical.kb import UnknownName, kb
from bot.clinical.models import Case, CaseError, parse_case

REQUIRED = ("relapse", "prior_lines", "refractory", "fitness", "transplant_eligible", "prior_auto_hct")
CASE_FIELDS = tuple(Case.__fields__)
LIST_FIELDS = ("refractory", "exposed", "unavailable", "high_risk_cytogenetics")
DRUG_ROLES = ("refractory", "exposed", "naive", "unavailable")
FLAG_ENTITIES = ("aggressive_feature", "comorbidity")
SCALAR_ENTITIES = ("age", "prior_lines", "relapse", "fitness", "rmci", "transplant_eligible", "prior_auto_hct",
                   "months_remission_after_hct", "riss_stage", "days_since_last_lenalidomide",
                   "covid_vaccination_up_to_date", "lenalidomide_maintenance_only")

_NONE = re.compile(
    r"^\s*(none|nothing|no(ne)?\s+(drugs?|refractor\w*)|not\s+refractory(\s+to\s+anything)?|n/?a|nil|no|"
    r"zero|0|neither|not\s+any)\b",
    re.I,
)
_YES = re.compile(r"^\s*(yes|yeah|yep|y|correct|she is|he is|eligible|sure|affirmative)\b", re.I)
_NO = re.compile(r"^\s*(no|nope|n|not|never|ineligible|negative)\b", re.I)
_WORDNUM = {
    "zero": 0,
    "none": 0,
    "one": 1,
    "once": 1,
    "two": 2,
    "twice": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
}
_FITNESS = [
    (re.compile(r"\b(frail|unfit)\b", re.I), "frail"),
    (re.compile(r"\bintermediate\b", re.I), "intermediate"),
    (re.compile(r"\bfit\b", re.I), "fit"),
]
_RELAPSE = [
    (re.compile(r"\bbiochem\w*|\bparaprotein\b|\blab\w* only\b", re.I), "biochemical"),
    (re.compile(r"\bclinical\w*|\bsymptom\w*|\bCRAB\b", re.I), "clinical"),
    (re.compile(r"\b(no relapse|not met|stable|none|no)\b", re.I), "none"),
]


def _first_number(text: str) -> Optional[int]:
    m = re.search(r"\b(\d{1,3})\b", text)
    if m:
        return int(m.group(1))
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in _WORDNUM:
            return _WORDNUM[word]
    return None


_UNSURE = re.compile(
    r"\b(not sure|unsure|unknown|don'?t know|do not know|no idea|uncertain|maybe|not known|tbd|unclear)\b", re.I
)


def interpret_answer(slot: str, text: str, intent: Optional[str]) -> Any:
    """The value of a bare answer to the question for `slot`, or None when it does not answer it."""
    if _UNSURE.search(text):
        return None
    if slot == "refractory":
        return [] if (_NONE.match(text) or intent == "deny") else None
    if slot == "transplant_eligible":
        if intent == "affirm" or _YES.match(text):
            return True
        if intent == "deny" or _NO.match(text):
            return False
        return None
    if slot in ("prior_lines", "prior_auto_hct"):
        if slot == "prior_auto_hct" and (intent == "deny" or _NONE.match(text)):
            return 0
        return _first_number(text)
    if slot == "fitness":
        for pattern, value in _FITNESS:
            if pattern.search(text):
                return value
        return None
    if slot == "relapse":
        for pattern, value in _RELAPSE:
            if pattern.search(text):
                return value
        return "none" if intent == "deny" else None
    return None


_NO_REFRACTORY = re.compile(
    r"\b(no|nothing|none)\s+(drugs?\s+|disease\s+)?(is\s+)?refractor\w*"
    r"|\bnot\s+refractory\s+to\s+(anything|any\s+(drug|agent|therap\w*|class\w*))"
    r"|\brefractory\s*(to|:)\s*(none|nothing|no\s+drugs?)\b"
    r"|\bnothing\s+(is\s+)?refractory\b|\bsensitive\s+to\s+(all|everything)\b",
    re.I,
)


def says_no_refractory(text: str) -> bool:
    """An explicit statement that the disease is refractory to no drug ("no refractory drugs")."""
    return bool(_NO_REFRACTORY.search(text or ""))


CASE_FACTS = (
    "prior_lines",
    "relapse",
    "fitness",
    "rmci",
    "transplant_eligible",
    "prior_auto_hct",
    "months_remission_after_hct",
    "lenalidomide_maintenance_only",
    "days_since_last_lenalidomide",
)


def states_case_facts(entities: List[Dict[str, Any]]) -> bool:
    """True when the entities state a case fact: a drug or regimen with a status, prior lines, relapse,
    fitness, R-MCI or a transplant fact (a drug named without a status is not one)."""
    for e in entities:
        if e.get("entity") in CASE_FACTS:
            return True
        if e.get("entity") in ("drug", "regimen") and e.get("role") in DRUG_ROLES:
            return True
    return False


def _drug_ids(entity: Dict[str, Any]) -> List[str]:
    """Drug ids an entity names: a drug, or the non-steroid components of a regimen."""
    value = entity.get("value")
    values = value if isinstance(value, list) else [value]
    out: List[str] = []
    for v in values:
        if not isinstance(v, str):
            continue
        try:
            if entity["entity"] == "drug":
                out.append(kb().drug_id(v))
            else:
                out += [d for d in kb().regimen(v).components if d != "dexamethasone"]
        except UnknownName:
            continue
    return out


def _status(slots: Dict[str, Any], drug: str) -> Optional[str]:
    for role, slot in (("refractory", "refractory"), ("exposed", "exposed"), ("naive", "never_received")):
        if drug in (slots.get(slot) or []):
            return role
    return None


def _set_status(slots: Dict[str, Any], drug: str, role: str) -> None:
    for slot in ("refractory", "exposed", "never_received"):
        if slots.get(slot) is not None and drug in slots[slot]:
            slots[slot] = [d for d in slots[slot] if d != drug]
    target = {"refractory": "refractory", "exposed": "exposed", "naive": "never_received"}[role]
    slots[target] = sorted(set(slots.get(target) or []) | {drug})


def apply_entities(
    slots: Dict[str, Any], entities: Iterable[Dict[str, Any]], intent: Optional[str], text: str = ""
) -> Tuple[Dict[str, Any], Optional[Dict[str, Any]]]:
    """New slot values from one message's entities, and a conflict to ask about (or None).

    A drug given two different statuses in one message, or whose status changes from an earlier
    message without the user marking a correction (intent `correct`), is a conflict: it is asked
    about, never guessed. Refractory after exposed is a refinement, not a conflict.
    """
    new = {k: (list(v) if isinstance(v, list) else v) for k, v in slots.items()}
    entities = list(entities)
    said: Dict[str, set] = {}
    for e in entities:
        if e.get("entity") in ("drug", "regimen") and e.get("role") in ("refractory", "exposed", "naive"):
            for d in _drug_ids(e):
                said.setdefault(d, set()).add(e["role"])
    conflict = None
    for drug, roles in sorted(said.items()):
        if roles == {"exposed", "refractory"}:
            roles = {"refractory"}  # "after VRd, now refractory to len": refractory refines exposed
        if len(roles) > 1:
            conflict = {"drug": drug, "choices": sorted(roles)}
            continue
        role = next(iter(roles))
        before = _status(new, drug)
        if before is None or before == role or intent == "correct" or (before == "exposed" and role == "refractory"):
            _set_status(new, drug, role)
        elif before == "refractory" and role == "exposed" and intent != "correct":
            conflict = {"drug": drug, "choices": ["exposed", "refractory"]}
        else:
            conflict = {"drug": drug, "choices": sorted({before, role})}
    for e in entities:
        name, value, role = e.get("entity"), e.get("value"), e.get("role")
        if name in ("drug", "regimen") and role == "unavailable":
            new["unavailable"] = sorted(set(new.get("unavailable") or []) | set(_drug_ids(e)))
        elif name in SCALAR_ENTITIES and value is not None:
            new[name] = value
        elif name == "cytogenetics":
            if value == "t(11;14)":
                new["t_11_14"] = role != "absent"
            elif value in kb().high_risk:
                current = set(new.get("high_risk_cytogenetics") or [])
                new["high_risk_cytogenetics"] = sorted(current - {value} if role == "absent" else current | {value})
        elif name in FLAG_ENTITIES and isinstance(value, str) and value in Case.__fields__:
            new[value] = role != "absent"
        elif name == "sex" and value in ("male", "female"):
            new["sex"] = value
    if says_no_refractory(text) and not any(r == "refractory" for roles in said.values() for r in roles):
        if new.get("refractory") is None or intent == "correct":
            new["refractory"] = []
    if new.get("lenalidomide_maintenance_only") and _status(new, "lenalidomide") is None:
        _set_status(new, "lenalidomide", "exposed")
    changed = {k: v for k, v in new.items() if slots.get(k) != v}
    return changed, conflict


def resolve_conflict(
    slots: Dict[str, Any], conflict: Dict[str, Any], text: str, entities: Iterable[Dict[str, Any]]
) -> Optional[Dict[str, Any]]:
    """Slot updates that settle a conflict from the user's answer, or None when it does not settle it."""
    drug = conflict["drug"]
    role = None
    for e in entities:
        if e.get("entity") in ("drug", "regimen") and drug in _drug_ids(e) and e.get("role") in conflict["choices"]:
            role = e["role"]
    if role is None:
        t = text.lower()
        if re.search(r"\brefract\w*|\bprogress\w*", t) and not re.search(r"\bnot\s+refract", t):
            role = "refractory"
        elif re.search(r"\bnever\b|\bnaive\b|\bnot\s+(given|received|had)\b|\bno\s+prior\b", t):
            role = "naive"
        elif re.search(r"\bexposed\b|\breceived\b|\bhad\b|\bnot\s+refract|\bsensitive\b|\bresponded\b", t):
            role = "exposed"
    if role is None or role not in conflict["choices"]:
        return None
    new = {k: (list(v) if isinstance(v, list) else v) for k, v in slots.items()}
    _set_status(new, drug, role)
    return {k: v for k, v in new.items() if slots.get(k) != v}


def conflict_question(conflict: Dict[str, Any]) -> str:
    words = {
        "refractory": "refractory to it",
        "exposed": "received it without being refractory",
        "naive": "never received it",
    }
    choices = " or ".join(words[c] for c in conflict["choices"])
    return f"I have conflicting information about {conflict['drug']}: is the disease {choices}?"


def missing(slots: Dict[str, Any]) -> List[str]:
    """Required slots still empty, in the order they are asked (contract.md, Conversation)."""
    out = []
    for name in REQUIRED:
        if name == "prior_auto_hct" and slots.get("transplant_eligible") is not True:
            continue
        if name == "fitness" and slots.get("rmci") is not None:
            continue
        if slots.get(name) is None:
            out.append(name)
    return out


def case_dict(slots: Dict[str, Any]) -> Dict[str, Any]:
    """The case fields among the slots (empty ones dropped)."""
    return {k: slots[k] for k in CASE_FIELDS if slots.get(k) not in (None, [])}


def case_from_slots(slots: Dict[str, Any]) -> Case:
    return parse_case(case_dict(slots))


def check_values(updates: Dict[str, Any], slots: Dict[str, Any]) -> Tuple[Dict[str, Any], List[str]]:
    """Drop updates the case model refuses (e.g. age 12), returning them as problems naming the field."""
    trial = {**case_dict(slots), **{k: v for k, v in updates.items() if k in CASE_FIELDS}}
    trial.setdefault("prior_lines", 1)
    trial.setdefault("relapse", "none")
    try:
        parse_case({k: v for k, v in trial.items() if v not in (None, [])})
        return updates, []
    except CaseError as exc:
        bad_fields = {p.split(":")[0].split("[")[0].split("/")[0] for p in exc.problems}
        kept = {k: v for k, v in updates.items() if k not in bad_fields}
        return kept, exc.problems


def summary(slots: Dict[str, Any]) -> str:
    """The case so far, for the clinician (normalised values only: nothing the user typed is echoed)."""
    case = case_dict(slots)
    if not case and not slots.get("never_received"):
        return ('No case details yet. Describe the patient, for example: "68M, 2 prior lines, len- and '
                'dara-refractory, fit, not transplant-eligible, clinical relapse".')
    lines = ["Case so far:"]
    labels = {
        "prior_lines": "prior lines",
        "relapse": "relapse",
        "fitness": "fitness",
        "rmci": "R-MCI",
        "age": "age",
        "transplant_eligible": "transplant-eligible",
        "prior_auto_hct": "prior autologous HCT",
        "months_remission_after_hct": "months of remission after HCT",
        "refractory": "refractory to",
        "exposed": "exposed (not refractory)",
        "unavailable": "not available",
        "high_risk_cytogenetics": "high-risk cytogenetics",
        "t_11_14": "t(11;14)",
        "days_since_last_lenalidomide": "days since last lenalidomide",
        "lenalidomide_maintenance_only": "progressed on lenalidomide maintenance only",
        "riss_stage": "R-ISS",
    }
    for key in CASE_FIELDS:
        if key in case:
            value = case[key]
            if isinstance(value, list):
                value = ", ".join(value) if value else "none"
            elif isinstance(value, bool):
                value = "yes" if value else "no"
            lines.append(f"- {labels.get(key, key.replace('_', ' '))}: {value}")
    if slots.get("refractory") == []:
        lines.append("- refractory to: none")
    if slots.get("never_received"):
        lines.append("- never received: " + ", ".join(slots["never_received"]))
    still = missing(slots)
    if still:
        lines.append("Still needed: " + ", ".join(s.replace("_", " ") for s in still))
    return "\n".join(lines)
