"""The Rasa 3.6 NLU component around the clinical entity extractor."""
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.recipes.recipe import Recipe
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.engine.validation import validate
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.test import EntityEvaluationResult, align_entity_predictions
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.data import TrainingType
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.shared.nlu.training_data.message import Message

from bot.plugins.components import ClinicalEntityExtractor

COMPONENT = "bot.plugins.components.ClinicalEntityExtractor"


@pytest.fixture
def make_component(tmp_path):
    def make(config=None):
        return ClinicalEntityExtractor.create(
            {**ClinicalEntityExtractor.get_default_config(), **(config or {})},
            LocalModelStorage(tmp_path), Resource("clinical_entities"), ExecutionContext(GraphSchema({}), "test"))
    return make


def test_process_adds_entities_and_keeps_others(make_component):
    component = make_component()
    other = {"entity": "something", "value": "x", "start": 0, "end": 2, "extractor": "DIETClassifier"}
    message = Message(data={TEXT: "68M, 2L, len/dara-refr, fit, not TE"})
    message.set(ENTITIES, [other])
    [out] = component.process([message])
    ents = out.get(ENTITIES)
    assert ents[0] == other
    ours = [e for e in ents if e.get("extractor") == "ClinicalEntityExtractor"]
    got = {(e["entity"], e["value"], e.get("role")) for e in ours}
    assert got == {("age", 68, None), ("sex", "male", None), ("prior_lines", 1, None),  # 2L: 1 prior line
                   ("drug", "lenalidomide", "refractory"), ("drug", "daratumumab", "refractory"),
                   ("fitness", "fit", None), ("transplant_eligible", False, None)}
    for e in ours:
        assert e["confidence_entity"] == 1.0
        assert isinstance(e["start"], int) and isinstance(e["end"], int)


def test_roles_and_typed_values(make_component):
    [out] = make_component().process([Message(data={TEXT: "no prior daratumumab, progressed on bortezomib, R-MCI 5"})])
    ents = {(e["entity"], e.get("role")): e["value"] for e in out.get(ENTITIES)}
    assert ents[("drug", "naive")] == "daratumumab"
    assert ents[("drug", "refractory")] == "bortezomib"
    assert ents[("rmci", None)] == 5


def test_entity_type_filter(make_component):
    [out] = make_component({"entities": ["drug"]}).process([Message(data={TEXT: "68M, len refractory, fit"})])
    assert {e["entity"] for e in out.get(ENTITIES)} == {"drug"}


def test_message_without_text_or_entities(make_component):
    component = make_component()
    empty = Message(data={})
    nothing = Message(data={TEXT: "hello there"})
    component.process([empty, nothing])
    assert not empty.get(ENTITIES)
    assert not nothing.get(ENTITIES)


def test_nlu_graph_with_the_component_validates():
    config = {"recipe": "default.v1", "language": "en",
              "pipeline": [{"name": "WhitespaceTokenizer"}, {"name": COMPONENT},
                           {"name": "CountVectorsFeaturizer"},
                           {"name": "DIETClassifier", "epochs": 1, "entity_recognition": False}],
              "policies": []}
    model_config = Recipe.recipe_for_name("default.v1").graph_config_for_recipe(config, {}, TrainingType.NLU)
    validate(model_config)
    nodes = [n for n in model_config.predict_schema.nodes.values() if n.uses is ClinicalEntityExtractor]
    assert nodes and nodes[0].fn == "process"


ANNOTATED = """
version: "3.1"
nlu:
- intent: describe_case
  examples: |
    - [68]{"entity": "age", "value": "68"}[M]{"entity": "sex", "value": "male"}, [2L]{"entity": "prior_lines", "value": "1"}, [len]{"entity": "drug", "role": "refractory", "value": "lenalidomide"}/[dara]{"entity": "drug", "role": "refractory", "value": "daratumumab"}-refr, [fit]{"entity": "fitness", "value": "fit"}, [not TE]{"entity": "transplant_eligible", "value": "false"}
    - refractory to [VRd]{"entity": "drug", "role": "refractory", "value": "bortezomib"}, [no neuropathy]{"entity": "comorbidity", "role": "absent", "value": "neuropathy"}, [prior DVT]{"entity": "comorbidity", "value": "thrombosis_history"}
    - progressed on [len]{"entity": "drug", "role": "exposed", "value": "lenalidomide"} [maintenance]{"entity": "lenalidomide_maintenance_only", "value": "true"}, [24 months remission]{"entity": "months_remission_after_hct", "value": "24"} after ASCT
    - [72]{"entity": "age", "value": "72"} yo [woman]{"entity": "sex", "value": "female"}, [third relapse]{"entity": "prior_lines", "value": "3"}, never had [carfilzomib]{"entity": "drug", "role": "naive", "value": "carfilzomib"}, [t(11;14) negative]{"entity": "cytogenetics", "role": "absent", "value": "t(11;14)"}
"""


def test_rasa_token_level_evaluation_matches_the_span_convention(make_component):
    """`rasa test nlu` labels each WhitespaceTokenizer token with the entity that overlaps it most;
    annotations written by docs/nlu-schema.md ("Span conventions") must give the same labels."""
    component = make_component()
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    examples = RasaYAMLReader().reads(ANNOTATED).nlu_examples
    assert len(examples) == 4
    for example in examples:
        text = example.get(TEXT)
        targets = example.get(ENTITIES)
        message = Message(data={TEXT: text})
        tokenizer.process([message])
        component.process([message])
        predictions = message.get(ENTITIES)
        result = EntityEvaluationResult(targets, predictions, message.get(TOKENS_NAMES[TEXT]), text)
        aligned = align_entity_predictions(result, {"ClinicalEntityExtractor"})
        assert aligned["extractor_labels"]["ClinicalEntityExtractor"] == aligned["target_labels"], text
