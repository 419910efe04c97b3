"""The project's Rasa 3.6 NLU components.

`ClinicalEntityExtractor` wraps `bot.nlu.extract.extract`; `CaseFactsIntentOverride` makes a message that
states case facts case information, whatever the intent classifier guessed. Creating either installs
`bot.plugins.patches` in the Rasa process (the medspacy fixes the extractor needs, Rasa's failure handling).

config.yml (after the tokenizer; the extractor itself does not use Rasa's tokens):

    pipeline:
      - name: WhitespaceTokenizer
      - name: bot.plugins.components.ClinicalEntityExtractor
        # entities: [drug, prior_lines]   # optional: only these entity types (default: all)
      ...

Entities are added to the message's `entities` with `"extractor": "ClinicalEntityExtractor"` and
`confidence_entity` 1.0, after the entities other components already put there. Values keep their types
(int, bool, str) so `from_entity` slot mappings fill bool / float / categorical slots directly. Spans may lie
inside a whitespace token ("68" in "68M"): `rasa test nlu` labels each token with the entity that overlaps
it most, so see docs/nlu-schema.md, "Span conventions for annotations".
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_ROLE,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    INTENT,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.intake import states_case_facts
from bot.nlu.extract import extract, get_nlp

from .patches import install

CONFIDENCE = "confidence_entity"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class ClinicalEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Rule-based clinical entities (drugs with refractory/exposed/naive/unavailable roles, prior lines,
    fitness, transplant facts, cytogenetics, comorbidities, ...) as described in docs/nlu-schema.md."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"entities": None}  # None: every entity type of the schema

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._config = {**self.get_default_config(), **(config or {})}
        wanted = self._config.get("entities")
        self._wanted = set(wanted) if wanted else None

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "ClinicalEntityExtractor":
        install()
        get_nlp()  # build the spaCy/medspacy pipeline now, not on the first user message
        return cls(config)

    @classmethod
    def required_components(cls) -> List[type]:
        return []

    def extract_entities(self, text: Optional[Text]) -> List[Dict[Text, Any]]:
        """Rasa entity dicts for one text."""
        if not text:
            return []
        out = []
        for ent in extract(text):
            if self._wanted is not None and ent["entity"] not in self._wanted:
                continue
            rasa_ent = {
                ENTITY_ATTRIBUTE_TYPE: ent["entity"],
                ENTITY_ATTRIBUTE_START: ent["start"],
                ENTITY_ATTRIBUTE_END: ent["end"],
                ENTITY_ATTRIBUTE_VALUE: ent["value"],
                CONFIDENCE: 1.0,
            }
            if ent.get("role"):
                rasa_ent[ENTITY_ATTRIBUTE_ROLE] = ent["role"]
            out.append(rasa_ent)
        return out

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            entities = self.add_extractor_name(self.extract_entities(message.get(TEXT)))
            if entities:
                message.set(ENTITIES, message.get(ENTITIES, []) + entities, add_to_output=True)
        return messages

    @property
    def name(self) -> Text:
        return self.__class__.__name__


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class CaseFactsIntentOverride(GraphComponent):
    """Runs after DIETClassifier and FallbackClassifier: when the intent is `out_of_scope` or
    `nlu_fallback` but the extractor found case facts (`bot.intake.states_case_facts`), the intent becomes
    `inform`, so an answer such as "R-MCI 6, not eligible" is taken into the case instead of being called
    out of scope. Nothing else is changed."""

    OVERRIDDEN = ("out_of_scope", "nlu_fallback")

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "CaseFactsIntentOverride":
        install()
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            if intent.get("name") in self.OVERRIDDEN and states_case_facts(message.get(ENTITIES) or []):
                message.set(INTENT, {"name": "inform", "confidence": intent.get("confidence") or 0.0,
                                     "overridden_from": intent.get("name")}, add_to_output=True)
        return messages
