"""A message that states case facts is case information, whatever the intent classifier guessed.

Runs after DIETClassifier and FallbackClassifier: when the intent is `out_of_scope` or `nlu_fallback`
but the rule-based extractor found case facts (a drug or regimen with a status, prior lines, relapse,
fitness, R-MCI, transplant facts), the intent becomes `inform`, so an answer such as "R-MCI 6, not
eligible" is taken into the case instead of being called out of scope. Nothing else is changed.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT
from rasa.shared.nlu.training_data.message import Message

OVERRIDDEN = ("out_of_scope", "nlu_fallback")
CASE_FACTS = ("prior_lines", "relapse", "fitness", "rmci", "transplant_eligible", "prior_auto_hct",
              "months_remission_after_hct", "lenalidomide_maintenance_only", "days_since_last_lenalidomide")
STATUS_ROLES = ("refractory", "exposed", "naive", "unavailable")


def states_case_facts(entities: List[Dict[str, Any]]) -> bool:
    for e in entities:
        if e.get("entity") in CASE_FACTS:
            return True
        if e.get("entity") in ("drug", "regimen") and e.get("role") in STATUS_ROLES:
            return True
    return False


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class CaseFactsIntentOverride(GraphComponent):
    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "CaseFactsIntentOverride":
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            if intent.get("name") in OVERRIDDEN and states_case_facts(message.get(ENTITIES) or []):
                message.set(INTENT, {"name": "inform", "confidence": intent.get("confidence") or 0.0,
                                     "overridden_from": intent.get("name")}, add_to_output=True)
        return messages
