"""CaseFactsIntentOverride: case facts make a message case information (bot/plugins/components.py)."""
import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.extract import extract
from bot.plugins.components import CaseFactsIntentOverride


def classify(text, intent):
    m = Message(data={"text": text, "intent": {"name": intent, "confidence": 0.4}, "entities": extract(text)})
    CaseFactsIntentOverride().process([m])
    return m.get("intent")["name"]


@pytest.mark.parametrize("text", ["R-MCI 6, not transplant eligible", "refractory to pomalidomide", "3 prior lines",
                                  "biochemical relapse only"])
def test_out_of_scope_or_fallback_with_case_facts_becomes_inform(text):
    assert classify(text, "out_of_scope") == "inform"
    assert classify(text, "nlu_fallback") == "inform"


@pytest.mark.parametrize("text,intent", [
    ("what's the dose of lenalidomide in renal failure?", "out_of_scope"),  # a drug with no status is no case fact
    ("book the tumour board room", "out_of_scope"),
    ("3 prior lines", "describe_case"),  # other intents are never touched
    ("why not KRd?", "ask_why_not"),
])
def test_other_messages_keep_their_intent(text, intent):
    assert classify(text, intent) == intent
