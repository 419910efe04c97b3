"""The conversation's case intake: entities -> case fields, bare answers, conflicts, what is still missing.

Layer: pure functions over plain dicts (Rasa slot values and Rasa-style entities).
May import: the standard library and `bot.clinical`. Never rasa, rasa_sdk or sanic.
The questions themselves are responses of domain.yml (`utter_ask_<slot>`).
"""
from .case import (  # noqa: F401  (the public interface of the intake)
    CASE_FIELDS,
    REQUIRED,
    apply_entities,
    case_dict,
    case_from_slots,
    check_values,
    conflict_question,
    interpret_answer,
    missing,
    resolve_conflict,
    says_no_refractory,
    states_case_facts,
    summary,
)
