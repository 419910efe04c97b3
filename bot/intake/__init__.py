"""The conversation's case intake: entities -> case fields, bare answers, conflicts, questions.

Layer: pure functions over plain dicts (Rasa slot values and Rasa-style entities).
May import: the standard library and `bot.clinical`. Never rasa, rasa_sdk or sanic.
"""
from .case import (  # noqa: F401
                   BUTTONS,
                   CASE_FIELDS,
                   QUESTIONS,
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
