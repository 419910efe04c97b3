"""Case intake for the conversation: entities -> case slots, bare answers, conflicts, questions.

Pure functions over plain dicts (Rasa slot values and Rasa-style entities); the Rasa actions in
`actions/` are thin adapters over this module. Slot names are the case fields of contract.md, plus
`never_received` (drugs stated as never given), `case_conflict` (a question to settle), `refractory_class` (a
refractory state named without its drugs: "triple-class refractory"), `last_regimen` (the drugs of the last
regimen named, for "progressed on it") and `region` (whose labels apply, when the clinician says).
"""
from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Optional, Tuple

from bot.clinical.kb import kb
from bot.clinical.models import Case, CaseError, parse_case

from .answers import answer_extras, drug_ids, first_number, interpret_answer  # noqa: F401  (re-exported)

REQUIRED = ("relapse", "prior_lines", "refractory", "fitness", "transplant_eligible", "prior_auto_hct")
CASE_FIELDS = tuple(f for f in Case.__fields__ if f != "id")  # `id` (a study id): batch, API and command line only
# `region` is a case field of contract.md; the intake keeps it in its slot even where the case model lacks it
INTAKE_FIELDS = CASE_FIELDS + (() if "region" in CASE_FIELDS else ("region",))
DRUG_ROLES = ("refractory", "exposed", "naive", "unavailable")
FLAG_ENTITIES = ("aggressive_feature", "comorbidity")
SCALAR_ENTITIES = ("age", "prior_lines", "relapse", "fitness", "rmci", "transplant_eligible", "prior_auto_hct",
                   "months_remission_after_hct", "riss_stage", "days_since_last_lenalidomide",
                   "covid_vaccination_up_to_date", "lenalidomide_maintenance_only")

# "nothing", "none", "nil", "no" and their typos ("nothng", "nothin")
_NOTHING = r"(?:no|none|nil|nothing|nothin|nothng|nuthin|nothign|noting)"
# "refractory" and its abbreviations and typos ("refr", "refractroy", "refactory")
_REFR = r"re?f(?:r|ra|ar)\w*"
_NO_REFRACTORY = re.compile(
    rf"\b{_NOTHING}\s+(?:other\s+|else\s+|more\s+|further\s+)?(?:drugs?\s+|agents?\s+|disease\s+|classes\s+)?"
    rf"(?:is\s+|was\s+|were\s+|has\s+been|have\s+been\s+|ever\s+)*{_REFR}\b\.?"
    r"|\bnothing\b[^.;,]{0,30}\b(?:has\s+been|was|is|were|been)\s+(?:ever\s+)?refractory\b"
    r"|\b(?:not|isn't|is\s+not|wasn't|never)\s+(?:been\s+)?refractory\s+to\s+(?:anything|any\s+(?:drugs?|agents?|therap\w*|class\w*)"
    r"|any\s+of\s+(?:them|these|those))"
    rf"|\b{_REFR}(?:\s+(?:drugs?|agents?|to))?\s*(?:to|:|=|-)?\s*(?:none|nothing|nil|no\s+drugs?|0)\b"
    r"|\bnever\s+(?:(?:been|was|were|has\s+been|have\s+been)\s+)?refractory\b(?!\s*(?:to|on|:)\b)"
    r"|\bnothing\s+(?:else\s+)?(?:is\s+|was\s+)?refractory\b|\bsensitive\s+to\s+(?:all|everything)\b"
    r"|\bno\s+(?:other\s+)?drugs?\s+(?:have|has)\s+(?:ever\s+|yet\s+)?failed"
    rf"|\b{_NOTHING}\s+(?:else\s+)?(?:has\s+)?(?:ever\s+)?(?:failed|stopped\s+working)"
    # the patient as the subject, in any word order ("Never was refractory.", "she was never refractory")
    r"|(?:^|[.;:!?]\s*|\b(?:he|she|patient|pt|disease|myeloma)\s+(?:is\s+|was\s+|has\s+)?)(?:never|not)\s+"
    r"(?:was\s+|been\s+|ever\s+)*refractory\b(?!\s*(?:to|on|for|with|at|in|-)\b)"
    r"|\b(?:not|never)\s+(?:been\s+)?refractory\s+to\s+no\s+(?:drugs?|agents?|one|therap\w*)",
    re.I,
)


def says_no_refractory(text: str) -> bool:
    """An explicit statement that the disease is refractory to no drug ("no refractory drugs")."""
    return bool(_NO_REFRACTORY.search(text or ""))


CASE_FACTS = (
    "region",
    "refractory_class",
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


WH_QUESTION = re.compile(r"^\W*(?:what|why|how|which|when|where|who)\b", re.I)
QUESTION = re.compile(r"\?|^\s*(?:what|why|how|which|when|where|who|should|can|could|would|is|are|does|do)\b", re.I)


def states_case_facts(entities: List[Dict[str, Any]], text: str = "") -> bool:
    """True when the entities state a case fact: a drug or regimen with a status, prior lines, relapse,
    fitness, R-MCI, a transplant fact or the region (a drug named without a status is not one; nor is CRAB
    wording inside a question: "how do I manage hypercalcaemia?"; a what/why/how question states none)."""
    question = bool(QUESTION.search(text or ""))
    if WH_QUESTION.match(text or ""):
        return False  # "what counts as lenalidomide-refractory?": a question about the rules, not this case
    for e in entities:
        if e.get("entity") == "relapse" and e.get("role") == "sign" and question:
            continue
        if e.get("entity") in CASE_FACTS:
            return True
        if e.get("entity") in ("drug", "regimen") and e.get("role") in DRUG_ROLES:
            return True
    return False


_drug_ids = drug_ids


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


# words that mark a message, or the rest of a message, as a correction of what was said before
CORRECTION = re.compile(
    r"\b(?:sorry|actually|correction|i\s+mean|i\s+meant|no\s+wait|wait|make\s+that|scratch\s+that|rather|"
    r"my\s+mistake|mistake|hang\s+on|not\s+(?:\w+[\s-]){0,2}refractory|no\s+longer|instead|in\s+fact|"
    r"forgot|also)\b|^\s*no\s*,", re.I)
# within one message, what follows these words replaces what came before ("refractory to len - no wait, ...")
SELF_CORRECTION = re.compile(
    r"\b(?:sorry|no\s+wait|wait|i\s+mean|i\s+meant|make\s+that|scratch\s+that|correction|or\s+rather|"
    r"actually)\b", re.I)
# a message that goes on with the history told before ("then DPd, now progressing on DPd")
CONTINUED = re.compile(r"^[\s,;.]*(?:and\s+)?(?:(?:then|after\s+that|afterwards|followed\s+by|next|subsequently)\b"
                       r"|->|→|=>)", re.I)
LENALIDOMIDE_WINDOW = 60  # days: progression within 60 days of the last dose is refractoriness (IMWG, R2)


def _self_corrected(entities: List[Dict[str, Any]], text: str) -> Tuple[List[Dict[str, Any]], bool]:
    """The entities of a message that corrects itself, with what the correction replaces left out, and whether
    the correction says that nothing is refractory."""
    marks = [m for m in SELF_CORRECTION.finditer(text or "") if m.start() > 0]
    if not marks or not entities or not all("start" in e for e in entities):
        return entities, False
    cut = marks[-1].start()
    after = [e for e in entities if e["start"] >= cut]
    after_kinds = {e["entity"] for e in after}
    after_drugs = {d for e in after if e["entity"] in ("drug", "regimen") for d in _drug_ids(e)}
    none_after = says_no_refractory(text[cut:])
    kept = []
    for e in entities:
        if e["start"] < cut:
            if e["entity"] in ("drug", "regimen"):
                drugs = set(_drug_ids(e))
                if drugs & after_drugs or (none_after and e.get("role") == "refractory"):
                    continue
            elif e["entity"] in after_kinds and e["entity"] in SCALAR_ENTITIES:
                continue
        kept.append(e)
    return kept, none_after


def apply_entities(
    slots: Dict[str, Any], entities: Iterable[Dict[str, Any]], intent: Optional[str], text: str = ""
) -> Tuple[Dict[str, Any], Optional[Dict[str, Any]]]:
    """New slot values from one message's entities, and a conflict to ask about (or None).

    A drug given two different statuses in one message, or whose status changes from an earlier
    message without the user marking a correction (intent `correct`, or words such as "actually", "not
    refractory to", "sorry"), is a conflict: it is asked about, never guessed. Refractory after exposed is a
    refinement, not a conflict. Within one message, what follows "sorry", "no wait", "I mean" replaces what came
    before. A count of lines read from a list of regimens (role "counted") and a relapse type read from CRAB
    wording (role "sign") never replace a stated value.
    """
    new = {k: (list(v) if isinstance(v, list) else v) for k, v in slots.items()}
    entities, none_after_correction = _self_corrected(list(entities), text)
    weak = [e for e in entities if is_weak(e)]  # readings on weak evidence: confirmed, never taken as they are
    entities = [e for e in entities if not is_weak(e)]
    correcting = intent == "correct" or bool(CORRECTION.search(text or ""))
    said: Dict[str, set] = {}
    # R2 (2026-12): progression on lenalidomide maintenance IS lenalidomide-refractory (with the flag)
    maintenance = any(e.get("entity") == "lenalidomide_maintenance_only" and e.get("value") is True for e in entities)
    for e in entities:
        if e.get("entity") in ("drug", "regimen") and e.get("role") in ("refractory", "exposed", "naive"):
            for d in _drug_ids(e):
                role = "refractory" if maintenance and d == "lenalidomide" and e["role"] == "exposed" else e["role"]
                said.setdefault(d, set()).add(role)
    conflict = None
    for drug, roles in sorted(said.items()):
        if roles == {"exposed", "refractory"}:
            roles = {"refractory"}  # "after VRd, now refractory to len": refractory refines exposed
        if len(roles) > 1:
            conflict = {"drug": drug, "choices": sorted(roles)}
            continue
        role = next(iter(roles))
        before = _status(new, drug)
        if before is None or before == role or correcting or (before == "exposed" and role == "refractory"):
            _set_status(new, drug, role)
        elif before == "refractory" and role == "exposed":
            conflict = {"drug": drug, "choices": ["exposed", "refractory"]}
        else:
            conflict = {"drug": drug, "choices": sorted({before, role})}
    named_relapse = from_sign = False
    for e in entities:
        name, value, role = e.get("entity"), e.get("value"), e.get("role")
        if name in ("drug", "regimen") and role == "unavailable":
            new["unavailable"] = sorted(set(new.get("unavailable") or []) | set(_drug_ids(e)))
        elif name == "prior_lines" and role == "counted":
            if any(x.get("entity") == "prior_lines" and x.get("role") != "counted" for x in entities):
                continue
            if slots.get("prior_lines") is None:
                new[name] = value
            elif isinstance(slots.get("prior_lines"), int) and CONTINUED.match(text or ""):
                new[name] = slots["prior_lines"] + value  # "then DPd, now progressing": the history goes on
        elif name == "relapse" and role == "sign":
            named_relapse = True
            if slots.get("relapse") is None and not any(
                    x.get("entity") == "relapse" and x.get("role") != "sign" for x in entities):
                new[name], from_sign = value, True
        elif name in SCALAR_ENTITIES and value is not None:
            new[name] = value
            named_relapse = named_relapse or name == "relapse"
        elif name == "region" and value in ("US", "EU"):
            new["region"] = value
        elif name == "refractory_class" and value in ("triple_class", "double"):
            if new.get("refractory") is None and not any(r == "refractory" for rs in said.values() for r in rs):
                new["refractory_class"] = value
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
    emd = any(e.get("entity") == "aggressive_feature" and e.get("value") == "extramedullary" and e.get("role") is None
              for e in entities)
    if from_sign and new.get("relapse") == "biochemical" and emd:
        new["relapse"] = "clinical"  # a rising paraprotein with a new plasmacytoma: the plasmacytoma decides
    if not named_relapse and new.get("relapse") is None:
        # a plasmacytoma / extramedullary disease is a clinical relapse; a rapidly rising paraprotein alone a
        # biochemical one (clinical-spec section 9)
        if any(e.get("entity") == "aggressive_feature" and e.get("value") == "extramedullary" and e.get("role") is None
               for e in entities):
            new["relapse"] = "clinical"
        elif any(e.get("entity") == "aggressive_feature" and e.get("value") == "m_protein_rising"
                 and e.get("role") is None for e in entities):
            new["relapse"] = "biochemical"
    no_refractory = none_after_correction or says_no_refractory(text)
    if no_refractory and not any(r == "refractory" for roles in said.values() for r in roles):
        besides = bool(re.search(r"\b(?:else|other)\b", text or "", re.I))  # "nothing else": besides those known
        if new.get("refractory") is None or (correcting and not besides):
            new["refractory"] = []
    days = new.get("days_since_last_lenalidomide")
    if isinstance(days, int) and days != slots.get("days_since_last_lenalidomide"):
        status = _status(new, "lenalidomide")
        if days <= LENALIDOMIDE_WINDOW and status in (None, "exposed"):
            _set_status(new, "lenalidomide", "refractory")  # progression within 60 days of the last dose
        elif days > LENALIDOMIDE_WINDOW and status is None:
            _set_status(new, "lenalidomide", "exposed")
    if new.get("lenalidomide_maintenance_only") and _status(new, "lenalidomide") in (None, "exposed"):
        # R2 (2026-12): progression on maintenance is refractoriness; the flag keeps how it came about
        _set_status(new, "lenalidomide", "refractory")
    if new.get("months_remission_after_hct") is not None and new.get("prior_auto_hct") is None:
        new["prior_auto_hct"] = 1  # "3 years post-transplant": a remission after a transplant is one transplant
    if new.get("refractory") is not None and new.get("refractory_class"):
        new["refractory_class"] = None
    regimens = [e for e in entities if e.get("entity") in ("drug", "regimen") and len(_drug_ids(e)) > 0
                and e.get("role") not in ("naive", "unavailable")]
    last = _last_regimen(regimens)
    if last:
        new["last_regimen"] = last
    if conflict is None and not new.get("case_conflict"):
        for e in weak:
            if e.get("entity") in SCALAR_ENTITIES and new.get(e["entity"]) is None:
                conflict = {"confirm": e["entity"], "value": e.get("value")}
                break
    changed = {k: v for k, v in new.items() if slots.get(k) != v}
    return changed, conflict


def is_weak(entity: Dict[str, Any]) -> bool:
    """A reading on weak evidence (`confidence_entity` below 1, bot.nlu.prose): the intake asks to confirm it."""
    conf = entity.get("confidence_entity")
    return isinstance(conf, (int, float)) and conf < 1


def _last_regimen(entities: List[Dict[str, Any]]) -> List[str]:
    """The drugs of the last regimen (or drug) named: what "progressed on it" refers to in the next message."""
    if not entities:
        return []
    last = entities[-1]
    if "start" not in last:
        return sorted(set(_drug_ids(last)))
    same = [e for e in entities if e.get("start") == last["start"] and e.get("end") == last["end"]]
    return sorted({d for e in same for d in _drug_ids(e)})


def resolve_conflict(
    slots: Dict[str, Any], conflict: Dict[str, Any], text: str, entities: Iterable[Dict[str, Any]]
) -> Optional[Dict[str, Any]]:
    """Slot updates that settle a conflict from the user's answer, or None when it does not settle it."""
    if "confirm" in conflict:
        return _confirmed(conflict, text, entities)
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


_YES = re.compile(r"^\W*(?:y|yes|yep|yeah|correct|right|that's\s+right|exactly|ok|okay|confirmed?|true)\b", re.I)
_NO = re.compile(r"^\W*(?:n|no|nope|wrong|incorrect|not\s+(?:right|correct)|false)\b", re.I)
CONFIRM_LABELS = {"age": "Age"}


def _confirmed(conflict: Dict[str, Any], text: str, entities: Iterable[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """The answer to "Age 74?": yes takes the reading, no drops it, a value of the field replaces it."""
    name, value = conflict["confirm"], conflict.get("value")
    for e in entities:
        if e.get("entity") == name and not is_weak(e) and e.get("value") is not None:
            return {name: e["value"]}
    if name == "age":
        m = re.fullmatch(r"\W*(?:no[,.\s]*)?(?:(?:she|he)\s+is\s+|age\s+)?(\d{2,3})\W*", text or "", re.I)
        if m and 18 <= int(m.group(1)) <= 120:
            return {name: int(m.group(1))}
    if _YES.match(text or "") or (text or "").strip() == conflict_button(conflict):
        return {name: value}
    if _NO.match(text or ""):
        return {}
    return None


def conflict_button(conflict: Dict[str, Any]) -> str:
    """The reading as the button of a confirmation ("Age 74")."""
    return f"{CONFIRM_LABELS.get(conflict['confirm'], conflict['confirm'].replace('_', ' ').capitalize())} " \
           f"{conflict.get('value')}"


def conflict_question(conflict: Dict[str, Any]) -> str:
    if "confirm" in conflict:
        return f"{conflict_button(conflict)}? I read that from a number standing alone: please confirm or correct it."

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
