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


def test_event_classes_are_found_once_by_type_name_and_unknown_names_still_fail():
    from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered

    ClinicalEntityExtractor.create({}, None, None, None)
    assert Event.resolve_by_type.__rrmm_patch__ is True
    for _ in range(2):  # found, then remembered: the same classes
        assert Event.resolve_by_type("user") is UserUttered and Event.resolve_by_type("slot") is SlotSet
    events = [{"event": "action", "name": "action_listen"}, {"event": "slot", "name": "fitness", "value": "fit"}]
    assert [type(Event.from_parameters(e)) for e in events] == [ActionExecuted, SlotSet]
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        Event.resolve_by_type("no_such_event")
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    assert Event.resolve_by_type("topic") is None  # Rasa's backwards compatibility kept
