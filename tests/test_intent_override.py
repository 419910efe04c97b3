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


@pytest.mark.parametrize("text,intent", [
    ("I need advice on a relapsed myeloma patient", "out_of_scope"),
    ("hi, could you help me with a relapsed myeloma patient?", "greet"),
    ("help w/ a refractory myleoma pt", "help"),
    ("rrmm pt, advice please", "nlu_fallback"),
])
def test_a_request_for_help_with_a_relapsed_myeloma_case_starts_the_intake(text, intent):
    assert classify(text, intent) == "describe_case"


@pytest.mark.parametrize("text", ["what counts as lenalidomide-refractory by IMWG?", "how is myeloma staged?",
                                  "cautions with carfilzomib?"])
def test_a_question_about_myeloma_is_never_out_of_scope(text):
    assert classify(text, "out_of_scope") == "help"


@pytest.mark.parametrize("text", ["best induction for newly diagnosed transplant-eligible myeloma?",
                                  "what's the dose of lenalidomide in renal failure?", "R-CHOP for DLBCL"])
def test_newly_diagnosed_myeloma_dosing_and_other_cancers_stay_out_of_scope(text):
    assert classify(text, "out_of_scope") == "out_of_scope"


def test_next_patient_with_facts_is_a_new_case():
    assert classify("ok, next patient: 62F, 2 prior lines, len-refr, fit", "describe_case") == "new_case"
    assert classify("next patient please", "new_case") == "new_case"
    assert classify("62F, 2 prior lines, len-refr, fit", "describe_case") == "describe_case"


@pytest.mark.parametrize("text,intent,becomes", [
    ("3 prior lines", "correct", "inform"),
    ("sorry, 3 prior lines", "inform", "correct"),
    ("she is frail, not fit", "inform", "correct"),
    ("actually she's frail", "correct", "correct"),
])
def test_correct_and_inform_follow_the_words_of_a_correction(text, intent, becomes):
    assert classify(text, intent) == becomes


@pytest.mark.parametrize("text,intent,becomes", [
    ("clinical with new bone lesions", "ask_cautions", "inform"),  # an answer to the intake, not a look-up
    ("fit, refractory to Revlimid and Pomalyst", "ask_regimen", "inform"),
    ("cautions with teclistamab", "ask_cautions", "ask_cautions"),
    ("what is KPd?", "ask_regimen", "ask_regimen"),
    ("any thrombosis risk with len in this frail patient?", "ask_cautions", "ask_cautions"),
    ("she is refractory to lenalidomide, what did CANDOR show", "ask_trial", "ask_trial"),
    ("KRd for a len-refractory patient", "ask_regimen", "ask_regimen"),  # names a regimen: a look-up
])
def test_a_look_up_intent_that_asks_nothing_and_states_case_facts_is_case_information(text, intent, becomes):
    assert classify(text, intent) == becomes


@pytest.mark.parametrize("text,intent,becomes", [
    ("one prior ASCT", "new_case", "inform"),
    ("one, DRd", "help", "inform"),
    ("one, DRd", "nlu_fallback", "inform"),  # a short answer of clinical words, no question
    ("KPd", "out_of_scope", "inform"),
    ("new patient: 3 prior lines, refractory to len", "new_case", "new_case"),
    ("next one please", "new_case", "new_case"),  # states no case facts
    ("help, she is refractory to len and what now?", "help", "help"),
    ("could you help with a relapsed myeloma patient", "help", "describe_case"),
])
def test_case_facts_classified_as_new_case_or_help_without_their_words_are_an_answer(text, intent, becomes):
    assert classify(text, intent) == becomes


def test_a_layer_of_the_answer_that_states_case_facts_is_case_information():
    assert classify("Mrs Shapiro, 70F, needs options after Kd; BOSTON suggests SVd?", "show_more") == "inform"
    assert classify("all options", "show_more") == "show_more" and classify("transplant", "show_more") == "show_more"


def test_a_look_up_that_describes_a_patient_is_a_case_description():
    text = "Mrs Shapiro, 70F, 2 prior lines, needs options after Kd; BOSTON suggests SVd?"
    assert classify(text, "ask_trial") == "describe_case"
    assert classify("what did BOSTON show?", "ask_trial") == "ask_trial"
    assert classify("why not KRd in 2 prior lines?", "ask_why_not") == "ask_why_not"  # no patient described
