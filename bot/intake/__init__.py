"""The conversation's case intake: entities -> case fields, answers in the clinician's words, conflicts,
corrections, what is still missing and how the next question is asked.

Layer: pure functions over plain dicts (Rasa slot values and Rasa-style entities).
May import: the standard library and `bot.clinical`. Never rasa, rasa_sdk or sanic.
The questions themselves are responses of domain.yml (`utter_ask_<slot>`, with variants by `intake_prompt`).
"""
from .answers import USUAL_REFRACTORY, interpret_answer  # noqa: F401  (the public interface of the intake)
from .case import (  # noqa: F401
    CASE_FIELDS,
    INTAKE_FIELDS,
    REQUIRED,
    apply_entities,
    case_dict,
    check_values,
    conflict_button,
    conflict_question,
    missing,
    resolve_conflict,
    says_no_refractory,
    states_case_facts,
    summary,
)
from .turn import (  # noqa: F401
    CASE_INTENTS,
    Reading,
    new_case_slots,
    next_prompt,
    read_message,
    reads_case,
)
