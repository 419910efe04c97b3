"""The cached action-response validator keeps Rasa's validation (bot/plugins/patches.py)."""
import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot.plugins.components import ClinicalEntityExtractor


def test_installed_when_the_component_is_loaded_and_still_validates():
    ClinicalEntityExtractor.create({}, None, None, None)  # as the Rasa server does when it loads the model
    assert RemoteAction._validate_action_result.__rrmm_patch__ is True
    action = RemoteAction("action_x", None)
    assert action._validate_action_result({"events": [{"event": "slot", "name": "a", "value": 1}], "responses": []})
    with pytest.raises(ValidationError) as err:
        action._validate_action_result({"events": [{"event": "no_such_event"}], "responses": []})
    assert "Failed to validate Action server response" in err.value.message
    with pytest.raises(ValidationError):
        action._validate_action_result({"events": "not a list"})
