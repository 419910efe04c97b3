"""The cached action-response validator keeps Rasa's validation (bot/rasa_speedups.py)."""
import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

import bot.nlu.rasa_component  # noqa: F401  (installs the fix, as in the Rasa server)


def test_installed_when_the_component_is_loaded_and_still_validates():
    assert RemoteAction._rrmm_cached_validator is True
    action = RemoteAction("action_x", None)
    assert action._validate_action_result({"events": [{"event": "slot", "name": "a", "value": 1}], "responses": []})
    with pytest.raises(ValidationError) as err:
        action._validate_action_result({"events": [{"event": "no_such_event"}], "responses": []})
    assert "Failed to validate Action server response" in err.value.message
    with pytest.raises(ValidationError):
        action._validate_action_result({"events": "not a list"})
