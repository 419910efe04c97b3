"""One message of the conversation read for the case, and how the next question is asked.

The Rasa actions (`actions/actions.py`) and the evaluation of conversations (`tools/evaluate.py`) both call these
functions, so what is scored is what the assistant does:

- `read_message(slots, entities, intent, text, requested)`: the slot updates a message makes (facts, an answer in
  the clinician's own words to the open question, a correction), problems, a conflict, and whether it was an
  answer that could not be read (`unreadable`) or an out-of-scope question inside the intake (`digression`).
- `next_prompt(slots, unreadable)`: the variant of the next question (`intake_prompt`): "intro" (the first
  question of an empty case, after one sentence saying what will be asked), "example" (an answer that could not be
  read: asked again once, with an example), "triple_class" / "double" (a refractory state named without its drugs:
  the usual answer as a button), or None.
- `new_case_slots(entities, text)`: the case a "next patient: ..." message starts with.

Layer: the standard library, `bot.clinical` and this package.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from .answers import answer_extras, interpret_answer, named_drugs
from .case import INTAKE_FIELDS, REQUIRED, apply_entities, check_values, missing, resolve_conflict

CASE_INTENTS = ("describe_case", "inform", "correct", "affirm", "deny")
# inside the intake these are read as an answer first; unread, they are an unreadable answer or an aside
ANSWER_INTENTS = ("nlu_fallback", "out_of_scope")
BOOKKEEPING = ("never_received", "refractory_class", "case_conflict")
_OTHER_QUESTION = re.compile(r"\?|^\s*(?:what|why|how|which|when|where|who|can|could|would|should|is|are|does|do|"
                             r"tell|give|book|calculate|explain)\b", re.I)


@dataclass
class Reading:
    updates: Dict[str, Any] = field(default_factory=dict)  # slot -> value (None clears)
    problems: List[str] = field(default_factory=list)  # values the case model refused, each naming its field
    unreadable: bool = False  # an answer to the open question that says nothing the intake can use
    digression: bool = False  # an out-of-scope question asked inside the intake: answer it, then ask again

    @property
    def case_changes(self) -> Dict[str, Any]:
        return {k: v for k, v in self.updates.items() if k in INTAKE_FIELDS}


def reads_case(intent: Optional[str], requested: Optional[str]) -> bool:
    """Whether a message with this intent is read for the case (inside the intake, a low-confidence or
    out-of-scope message is read too: it may be an answer in words the classifier does not know)."""
    return intent in CASE_INTENTS or (requested is not None and intent in ANSWER_INTENTS)


def read_message(slots: Dict[str, Any], entities: List[Dict[str, Any]], intent: Optional[str], text: str,
                 requested: Optional[str] = None) -> Reading:
    """What one message changes in the case. `requested`: the field the intake asked for (None outside it)."""
    text = text or ""
    if not reads_case(intent, requested):
        return Reading()
    conflict = slots.get("case_conflict")
    confirming = False
    if conflict:
        settled = resolve_conflict(slots, conflict, text, entities)
        if settled is not None:
            return Reading({**settled, "case_conflict": None})
        # a confirmation not answered: the message is read as it is and the reading is not taken
        confirming = "confirm" in conflict
    as_intent = "inform" if intent in ANSWER_INTENTS else intent
    updates, new_conflict = apply_entities(slots, entities, as_intent, text)
    if requested in REQUIRED:
        current = {**slots, **updates}
        if current.get(requested) is None:
            value = interpret_answer(requested, text, intent, entities, current)
            if value is not None:
                updates[requested] = value
                if requested == "refractory":
                    updates["refractory_class"] = None
                    for other in ("exposed", "never_received"):  # refractory refines "exposed"
                        held = current.get(other) or []
                        if set(held) & set(value):
                            updates[other] = [d for d in held if d not in value]
        if requested == "prior_lines" and {**slots, **updates}.get("prior_lines") is not None:
            # "one, DRd", "just the one line, KRd": the regimens named as the lines were given
            current = {**slots, **updates}
            for d in named_drugs(entities, (None,)):
                if d not in (current.get("refractory") or []) and d not in (current.get("exposed") or []):
                    updates["exposed"] = sorted(set(updates.get("exposed") or current.get("exposed") or []) | {d})
        for k, v in answer_extras(requested, text, entities).items():
            updates.setdefault(k, v)
    updates, problems = check_values(updates, slots)
    if new_conflict:
        updates["case_conflict"] = new_conflict
    elif confirming:
        updates["case_conflict"] = None
    reading = Reading(updates, problems)
    if requested is not None:
        after = {**slots, **updates}
        changed = bool(reading.case_changes) or any(k in updates for k in BOOKKEEPING)
        if not changed and requested in missing(after):
            if intent == "out_of_scope" and (_OTHER_QUESTION.search(text) or len(re.findall(r"\w+", text)) > 7):
                reading.digression = True
            else:
                reading.unreadable = True
    return reading


def next_prompt(slots: Dict[str, Any], unreadable: bool = False) -> Tuple[Optional[str], Optional[str]]:
    """(variant of the next question, the field already asked again with an example) for the case in `slots`."""
    reasked = slots.get("reasked")
    if slots.get("case_conflict"):
        return None, reasked
    still = missing(slots)
    if not still:
        return None, None
    nxt = still[0]
    if nxt == "refractory" and slots.get("refractory_class") in ("triple_class", "double"):
        return slots["refractory_class"], reasked
    if unreadable and reasked != nxt:
        return "example", nxt
    if nxt == "relapse" and not unreadable and all(slots.get(f) is None for f in REQUIRED + ("rmci",)):
        return "intro", reasked
    return None, reasked


def new_case_slots(entities: List[Dict[str, Any]], text: str) -> Dict[str, Any]:
    """The case a new-case message already describes ("ok, next patient: 62F, 2 prior lines, ...")."""
    reading = read_message({}, entities, "describe_case", text)
    return {k: v for k, v in reading.updates.items() if v is not None}
