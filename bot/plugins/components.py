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

import re
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
from bot.nlu.requests import about_myeloma, case_request, newly_diagnosed

from .patches import install

CONFIDENCE = "confidence_entity"
CORRECTION_CUE = re.compile(
    r"\b(?:actually|sorry|correction|i\s+meant|i\s+mean|my\s+mistake|mistake|typo|wait|scratch\s+that|make\s+that|"
    r"forgot|also|as\s+well|instead|or\s+rather|change\s+(?:it|that|the|to)|update:?|correct\s+that|not\s+\w+\s+but|"
    r"wrong|misspoke|miscounted|oops|hang\s+on|hold\s+on|in\s+fact|after\s+all)\b|\btoo\W*$|,\s*not\s+\w+\W*$|"
    r"^\W*no\s*,\s*(?:it'?s|it\s+is|that'?s|she'?s|she\s+is|he'?s|he\s+is|there\s+(?:are|were))\s", re.I)
NEXT_PATIENT = re.compile(r"^\W*(?:(?:ok(?:ay)?|right|so|and|now|alright|thanks?|great)\W+){0,2}(?:(?:a|the|my)\s+)?"
                          r"(?:next|new|another|different|second|other)\s+(?:patient|case|pt|one)\b", re.I)
LOOKUPS = ("ask_cautions", "ask_drug_regimens", "ask_regimen", "ask_trial", "ask_why_not")
# what makes a message a look-up rather than case facts: a question, or the words of a look-up
LOOKUP_CUE = re.compile(r"\?|^\W*(?:what|why|how|which|when|who|is|are|does|do|can|could|should|would|tell|show|"
                        r"list|explain|info)\b|\b(?:cautions?|risks?|toxicit\w*|side[- ]effects?|warnings?|trials?|"
                        r"stud(?:y|ies)|data|evidence|results?|why not|what about)\b", re.I)
# the words of a new case and of a request for help: without them, case facts classified so are an answer
NEW_CASE_CUE = re.compile(r"\b(?:new|next|another|different|other|fresh)\s+(?:patient|case|pt|one|consult)\b|"
                          r"\b(?:start\s+over|start\s+again|reset|clear|forget)\b", re.I)
HELP_CUE = re.compile(r"\?|\b(?:help|how|what\s+can|what\s+do|instructions?|usage|commands?|examples?|menu)\b", re.I)
DOSING = re.compile(r"\b(?:dose|doses|dosing|dosage|mg|titrat\w*)\b", re.I)  # not covered: utter_help says so


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
                CONFIDENCE: ent.get("confidence_entity", 1.0),  # below 1: a weak reading the intake confirms
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


def _names_regimen(entity: Dict[Text, Any]) -> bool:
    """Whether an entity's words name a regimen ("KRd" is read as its drugs): a message naming one may ask about it."""
    from bot.clinical.kb import UnknownName, kb

    try:
        kb().regimen_code(str(entity.get("text") or ""))
    except UnknownName:
        return False
    return True


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class CaseFactsIntentOverride(GraphComponent):
    """Runs after DIETClassifier and FallbackClassifier. A message that opens with "next patient" / "new case" and
    states case facts is `new_case` (the old case is cleared, the new one read). `correct` and `inform` follow the
    words of a correction ("actually", "sorry", "I meant", "also"). When the intent is `out_of_scope`
    or `nlu_fallback`: a message that states case facts (`bot.intake.states_case_facts`) becomes `inform`, so an
    answer such as "R-MCI 6, not eligible" is taken into the case; a request for help with a relapsed myeloma case
    (`bot.nlu.requests.case_request`, also when classified `greet` or `help`: "Hi, could you help me with a
    relapsed myeloma patient?") becomes `describe_case`, which starts the intake; any other message about myeloma
    becomes `help` (redirected, never out of scope: clinical-spec section 9). A look-up intent (cautions, regimen,
    trial, why-not) for a message that states case facts, names no regimen or trial and asks nothing ("clinical with
    new bone lesions") becomes `inform`, and so do case facts classified `new_case` without its words ("one prior
    ASCT") and clinical entities classified `help` without a request for help ("one, DRd"). Nothing else is changed."""

    OVERRIDDEN = ("out_of_scope", "nlu_fallback")
    OPENERS = ("out_of_scope", "nlu_fallback", "greet", "help")

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "CaseFactsIntentOverride":
        install()
        return cls()

    @classmethod
    def decide(cls, intent: Optional[str], text: str, entities: List[Dict[Text, Any]]) -> Optional[str]:
        """The intent that replaces `intent`, or None to keep it."""
        if intent in ("describe_case", "inform") and NEXT_PATIENT.match(text) and states_case_facts(entities, text):
            return "new_case"  # "ok, next patient: 62F, 2 prior lines, ...": a new case that is described at once
        # a correction is marked by its words ("actually", "sorry", "I meant", "also"); the two intents lead to the same
        # reading of the case (bot.intake treats such words as a correction whatever the intent)
        if intent == "correct" and not CORRECTION_CUE.search(text):
            return "inform"
        if intent == "inform" and CORRECTION_CUE.search(text):
            return "correct"
        if intent in cls.OVERRIDDEN and states_case_facts(entities, text) and not newly_diagnosed(text):
            return "inform"
        if intent == "new_case" and not NEW_CASE_CUE.search(text) and states_case_facts(entities, text):
            return "inform"  # "one prior ASCT": an answer, whatever DIET thought
        if (intent == "help" and entities and not HELP_CUE.search(text) and not case_request(text)
                and not newly_diagnosed(text)):
            return "inform"  # "one, DRd": clinical words and no request for help are an answer
        if (intent in LOOKUPS and not LOOKUP_CUE.search(text) and states_case_facts(entities, text)
                and not any(e.get("entity") in ("regimen", "trial") or _names_regimen(e) for e in entities)):
            return "inform"  # "clinical with new bone lesions" answers the intake: it asks nothing
        patient = {e.get("entity") for e in entities} >= {"age", "prior_lines"}  # "70F, 2 lines, after Kd; ...?"
        if intent in LOOKUPS and patient and states_case_facts(entities, text) and not newly_diagnosed(text):
            return "describe_case"  # a patient described with a question on the side: the case is read first
        if intent == "show_more" and states_case_facts(entities, text):
            return "inform"  # "70F, needs options after Kd": case facts, not "all options" of an answer
        if intent in cls.OPENERS and case_request(text):
            return "describe_case"
        if (intent in cls.OVERRIDDEN and entities and len(text.split()) <= 8 and not HELP_CUE.search(text)
                and not LOOKUP_CUE.search(text) and not newly_diagnosed(text) and not DOSING.search(text)):
            return "inform"  # a short answer of clinical words ("one, DRd"): read as case information
        if intent in cls.OVERRIDDEN and not newly_diagnosed(text) and not DOSING.search(text) and (
                about_myeloma(text) or any(e.get("entity") in ("drug", "regimen", "trial") for e in entities)):
            return "help"
        return None

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            new = self.decide(intent.get("name"), message.get(TEXT) or "", message.get(ENTITIES) or [])
            if new:
                message.set(INTENT, {"name": new, "confidence": intent.get("confidence") or 0.0,
                                     "overridden_from": intent.get("name")}, add_to_output=True)
        return messages
