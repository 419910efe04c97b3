"""A performance fix for Rasa 3.6, installed in the Rasa server process.

Rasa validates every action-server response with `jsonschema.validate(result, schema)`. That function
re-checks the (large) events schema against the JSON meta-schema and builds a new validator on every
call: about 15-20 ms per custom action on a 2-core machine, most of a turn's latency (profiled with
cProfile, see docs/benchmarks.md). `install()` keeps the same validation of every response but checks
the schema and builds the validator once.
"""
from __future__ import annotations

from typing import Any, Dict, Text

_MESSAGE = (". Failed to validate Action server response from API, make sure your response from the Action "
            "endpoint is valid. For more information about the format visit https://rasa.com/docs/rasa/custom-actions")


def install() -> None:
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    if getattr(RemoteAction, "_rrmm_cached_validator", False):
        return
    compiled = {}

    def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
        validator = compiled.get("v")
        if validator is None:
            schema = self.action_response_format_spec()
            cls = validator_for(schema)
            cls.check_schema(schema)
            validator = compiled["v"] = cls(schema)
        error = best_match(validator.iter_errors(result))
        if error is not None:
            error.message += _MESSAGE
            raise error
        return True

    RemoteAction._validate_action_result = _validate_action_result
    RemoteAction._rrmm_cached_validator = True
