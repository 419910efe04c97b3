"""The rasa_sdk actions on Tracker fixtures: thin adapters, tested without a server or a model."""
import asyncio
import logging
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import actions as A
from bot import audit
from bot.advice import SettingError
from bot.clinical.models import parse_case
from bot.nlu.extract import extract

COMPLETE = {"relapse": "clinical", "prior_lines": 2, "refractory": ["daratumumab", "lenalidomide"], "fitness": "fit",
            "transplant_eligible": False}


def tracker(text="", intent="inform", slots=None, entities=None, active_loop=None, requested=None):
    slots = dict(slots or {})
    if requested:
        slots["requested_slot"] = requested
    message = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "message_id": "m1",
               "entities": extract(text) if entities is None else entities}
    return Tracker("c1", slots, message, [], False, None, {"name": active_loop} if active_loop else {}, "action_listen")


RESPONSES = yaml.safe_load((Path(__file__).resolve().parent.parent / "domain.yml").read_text())["responses"]


def run(action, t):
    """Messages as the user sees them (a named response rendered from domain.yml, as Rasa does) and events."""
    d = CollectingDispatcher()
    events = asyncio.run(action.run(d, t, {}))
    for m in d.messages:
        if m.get("response"):
            variant = RESPONSES[m["response"]][0]
            m["text"], m["buttons"] = variant["text"], variant.get("buttons", [])
    return d.messages, events


def slotset(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot" and e["name"] != "extracted_message"}


def test_extract_fills_every_case_slot_from_one_message():
    msgs, events = run(
        A.ActionExtractCase(),
        tracker(
            "68M, 2 prior lines, refractory to lenalidomide and daratumumab, fit, not transplant eligible, "
        "clinical relapse",
            intent="describe_case",
        ),
    )
    s = slotset(events)
    assert s["refractory"] == ["daratumumab", "lenalidomide"] and s["prior_lines"] == 2 and s["fitness"] == "fit"
    assert s["transplant_eligible"] is False and s["relapse"] == "clinical" and s["age"] == 68
    assert msgs == []


def test_extract_reads_a_bare_answer_to_the_open_question():
    _, events = run(
        A.ActionExtractCase(),
        tracker(
            "none",
            intent="inform",
            slots={"relapse": "clinical", "prior_lines": 2},
            active_loop="case_form",
            requested="refractory",
        ),
    )
    assert slotset(events)["refractory"] == []
    _, events = run(
        A.ActionExtractCase(),
        tracker(
            "no",
            intent="deny",
            slots=COMPLETE | {"transplant_eligible": None},
            active_loop="case_form",
            requested="transplant_eligible",
        ),
    )
    assert slotset(events)["transplant_eligible"] is False


def test_extract_ignores_lookups_and_warns_about_identifiers_without_echoing_them():
    _, events = run(A.ActionExtractCase(), tracker("why not KRd?", intent="ask_why_not"))
    assert slotset(events) == {}
    t = tracker("Pt Jane Doe MRN 00482913 68F len refractory", intent="describe_case")
    msgs, events = run(A.ActionExtractCase(), t)
    assert slotset(events)["refractory"] == ["lenalidomide"]
    msgs, events = run(A.ActionWhyNot(), t)
    text = " ".join(m.get("text") or "" for m in msgs)
    assert "identifiers" in text and "Doe" not in text and "00482913" not in text
    assert slotset(events) == {"privacy_noticed": "m1"}
    quiet = tracker(
        "Pt Jane Doe MRN 00482913 68F len refractory", intent="describe_case", slots={"privacy_noticed": "m1"}
    )
    assert not any("identifiers" in (m.get("text") or "") for m in run(A.ActionRecommend(), quiet)[0])


def test_extract_refuses_impossible_values_naming_the_field():
    msgs, events = run(A.ActionExtractCase(), tracker("", intent="inform", entities=[{"entity": "age", "value": 12}]))
    assert "age" not in slotset(events)
    assert any("age" in (m.get("text") or "") for m in msgs)


def test_extract_flags_a_contradiction_and_reads_each_message_once():
    ents = [
        {"entity": "drug", "value": "daratumumab", "role": "refractory"},
        {"entity": "drug", "value": "daratumumab", "role": "naive"},
    ]
    _, events = run(A.ActionExtractCase(), tracker("", intent="describe_case", entities=ents))
    conflict = slotset(events)["case_conflict"]
    assert conflict["drug"] == "daratumumab"
    # Rasa runs the action again inside the form for the same message: that must not settle the conflict.
    again = tracker(
        "", intent="describe_case", entities=ents, slots={"case_conflict": conflict, "extracted_message": "m1"}
    )
    assert run(A.ActionExtractCase(), again)[1] == []


def test_recommend_sends_text_and_the_custom_payload():
    msgs, _ = run(A.ActionRecommend(), tracker(slots=COMPLETE))
    assert "1. SVd, selinexor + bortezomib + dexamethasone" in msgs[0]["text"]  # the short answer
    assert "not a substitute" in msgs[0]["text"] and len(msgs[0]["text"].splitlines()) <= 15
    custom = msgs[1]["custom"]
    assert custom["type"] == "rrmm_recommendation" and custom["recommendation"]["options"][0]["regimen"] == "SVd"


def test_terminal_gets_the_text_without_the_json_payload():
    t = tracker(slots=COMPLETE)
    t.events.append({"event": "user", "input_channel": "cmdline", "text": ""})
    msgs, _ = run(A.ActionRecommend(), t)
    assert len(msgs) == 1 and "1. SVd" in msgs[0]["text"] and 'Ask: details' in msgs[0]["text"]


def test_recommend_refuses_while_a_conflict_is_open_or_a_field_missing():
    msgs, _ = run(
        A.ActionRecommend(),
        tracker(slots=COMPLETE | {"case_conflict": {"drug": "daratumumab", "choices": ["naive", "refractory"]}}),
    )
    assert "conflicting" in msgs[0]["text"] and len(msgs) == 1
    msgs, _ = run(A.ActionRecommend(), tracker(slots={**COMPLETE, "fitness": None}))
    assert "fit, intermediate-fit or frail" in msgs[0]["text"]


def test_why_not_uses_the_exclusion_reasons():
    msgs, _ = run(A.ActionWhyNot(), tracker("why not KRd?", intent="ask_why_not", slots=COMPLETE))
    assert "KRd is not an option" in msgs[0]["text"] and "lenalidomide" in msgs[0]["text"]
    msgs, _ = run(A.ActionWhyNot(), tracker("why not KRd?", intent="ask_why_not"))
    assert "I need the case first" in msgs[0]["text"] and "KRd:" in msgs[0]["text"]


@pytest.mark.parametrize(
    "action,text,expect",
    [
        (A.ActionRegimenInfo(), "what is KPd?", "KPd: carfilzomib"),
        (A.ActionTrialInfo(), "what did CANDOR show?", "37%"),
        (A.ActionRegimenCautions(), "cautions with KRd", "heart toxicity"),
        (A.ActionRegimenCautions(), "cautions with teclistamab", "CRS and neurotoxicity (ICANS)"),
    ],
)
def test_lookups_answer_from_the_knowledge_base(action, text, expect):
    msgs, _ = run(action, tracker(text, intent="ask_regimen"))
    assert expect in msgs[0]["text"]


def test_summary_and_new_case():
    msgs, _ = run(A.ActionCaseSummary(), tracker(slots=COMPLETE))
    assert "refractory to: daratumumab, lenalidomide" in msgs[0]["text"]
    msgs, events = run(A.ActionNewCase(), tracker(slots=COMPLETE))
    assert {"event": "reset_slots", "timestamp": None} in events or any(e.get("event") == "reset_slots" for e in events)
    assert any(e.get("event") == "active_loop" and e.get("name") is None for e in events)


def test_form_asks_conflict_first_then_missing_fields_in_order():
    form = A.ValidateCaseForm()
    d = CollectingDispatcher()
    req = asyncio.run(form.required_slots([], d, tracker(slots={"case_conflict": {"drug": "x", "choices": []}}), {}))
    assert req[0] == "conflict_answer" and req[1:] == [
        "relapse",
        "prior_lines",
        "refractory",
        "fitness",
        "transplant_eligible",
    ]


def test_intake_questions_are_domain_responses_with_buttons():
    from bot import intake

    assert all(f"utter_ask_{slot}" in RESPONSES for slot in intake.REQUIRED)  # the form asks them by name
    msgs, _ = run(A.ActionRecommend(), tracker(slots={k: v for k, v in COMPLETE.items() if k != "fitness"}))
    assert msgs[0]["text"].startswith("Is the patient fit") and msgs[0]["buttons"]


# ---- 2026 edition: look-ups for the new names, labels in why-not, the region slot's default --------------------
@pytest.mark.parametrize(
    "action,text,intent,expect",
    [
        (A.ActionRegimenInfo(), "what is talquetamab?", "ask_regimen", "GPRC5D x CD3"),
        (A.ActionRegimenInfo(), "what is Tec-D?", "ask_regimen", "MajesTEC-3"),
        (A.ActionRegimenInfo(), "what is selinexor?", "ask_regimen", "In the regimens: SVd, Sd"),
        (A.ActionTrialInfo(), "what did CARTITUDE-4 show?", "ask_trial", "76% vs 49%"),
        (A.ActionTrialInfo(), "MajesTEC-3 results", "ask_trial", "HR 0.17"),
        (A.ActionRegimenCautions(), "cautions with talquetamab", "ask_cautions", "taste, skin and nail toxicity"),
    ],
)
def test_lookups_of_the_2026_edition(action, text, intent, expect):
    msgs, _ = run(action, tracker(text, intent=intent))
    assert expect in msgs[0]["text"]


THREE_LINES_TCR = {"relapse": "clinical", "prior_lines": 3, "refractory": ["bortezomib", "daratumumab", "lenalidomide"],
                   "exposed": ["carfilzomib", "pomalidomide"], "fitness": "fit", "transplant_eligible": False}


def test_why_not_teclistamab_answers_with_the_label_and_the_case_prior_lines():
    msgs, _ = run(A.ActionWhyNot(), tracker("why not teclistamab?", intent="ask_why_not", slots=THREE_LINES_TCR))
    text = msgs[0]["text"]
    assert "teclistamab is not an option" in text and "US label: >= 4 prior lines" in text and "3 prior lines" in text
    assert "Tec-D" in text  # every regimen with the drug
    msgs, _ = run(A.ActionWhyNot(), tracker("why not teclistamab?", intent="ask_why_not"))
    assert "I need the case first" in msgs[0]["text"] and "MajesTEC-1" in msgs[0]["text"]


def _payload(msgs):
    return next(m["custom"]["recommendation"] for m in msgs if m.get("custom"))


def test_region_slot_default_comes_from_rrmm_region(monkeypatch):
    monkeypatch.delenv("RRMM_REGION", raising=False)
    msgs, events = run(A.ActionRecommend(), tracker(slots=THREE_LINES_TCR))
    assert _payload(msgs)["assessment"]["region"] == "US" and "region" not in slotset(events)
    monkeypatch.setenv("RRMM_REGION", "eu")
    msgs, _ = run(A.ActionRecommend(), tracker(slots=THREE_LINES_TCR))
    rec = _payload(msgs)
    assert rec["assessment"]["region"] == "EU" and "teclistamab" in [o["regimen"] for o in rec["options"]]
    msgs, _ = run(A.ActionCaseSummary(), tracker(slots=THREE_LINES_TCR))
    assert "- region: EU (this deployment's default" in msgs[0]["text"]
    msgs, _ = run(A.ActionRecommend(), tracker(slots={**THREE_LINES_TCR, "region": "US"}))  # the clinician said
    assert _payload(msgs)["assessment"]["region"] == "US"
    msgs, _ = run(A.ActionCaseSummary(), tracker(slots={}))
    assert msgs[0]["text"].startswith("No case details yet")
    monkeypatch.setenv("RRMM_REGION", "Mars")  # never answered with the wrong labels (the server stops at start)
    with pytest.raises(SettingError, match="^RRMM_REGION must be one of US, EU"):
        run(A.ActionRecommend(), tracker(slots=THREE_LINES_TCR))


def stamped(t, key):
    """The tracker with its latest message as the Rasa server hands it to the actions: stamped for this
    conversation and channel (bot.audit.provenance), as every message that came through a channel is."""
    t.events = [{"event": "user", "text": t.latest_message.get("text", ""), "input_channel": "rest",
                 "message_id": "m1", "metadata": {audit.STAMP_KEY: audit.stamp(key, t.sender_id, "rest", "m1")}}]
    return t


def test_the_recommendation_given_is_audited_from_the_case_the_engine_used(monkeypatch, tmp_path, caplog):
    key = "a-turn-secret-for-the-tests-0123456789"
    monkeypatch.setenv("RRMM_TURN_SECRET", key)
    monkeypatch.setenv("RRMM_AUDIT_DB", str(tmp_path / "audit.db"))
    monkeypatch.setenv("RRMM_REGION", "EU")
    msgs, _ = run(A.ActionRecommend(), tracker(slots=THREE_LINES_TCR))  # no stamp (injected events): no row
    assert not (tmp_path / "audit.db").exists()
    assert audit.NOT_RECORDED_TEXT not in [m.get("text") for m in msgs] and _payload(msgs)["options"]
    msgs, _ = run(A.ActionRecommend(), stamped(tracker(slots=THREE_LINES_TCR), key))
    (row,) = audit.rows()
    assert row["clinical_case"]["region"] == "EU"
    assert row["offered"] == [o["regimen"] for o in _payload(msgs)["options"]]
    assert audit.NOT_RECORDED_TEXT not in [m.get("text") for m in msgs]
    # look-ups over the same case are not recommendations given: no row
    run(A.ActionRegimenCautions(), tracker("cautions", intent="ask_cautions", entities=[], slots=THREE_LINES_TCR))
    assert len(audit.rows()) == 1
    # the trail cannot be written: the recommendation is still shown, with the note, and the failure is logged
    monkeypatch.setenv("RRMM_AUDIT_DB", str(tmp_path))
    with caplog.at_level(logging.ERROR, logger="bot.advice"):
        msgs, _ = run(A.ActionRecommend(), stamped(tracker(slots=THREE_LINES_TCR), key))
    assert _payload(msgs)["options"] and msgs[-1]["text"] == audit.NOT_RECORDED_TEXT
    assert "was NOT recorded" in caplog.text


def test_cautions_without_a_regimen_list_every_caution_of_the_case():
    msgs, _ = run(A.ActionRegimenCautions(), tracker("cautions", intent="ask_cautions", entities=[],
                                                     slots=THREE_LINES_TCR))
    assert msgs[0]["text"].startswith("Cautions for this case:") and "COVID-19 vaccination:" in msgs[0]["text"]
    msgs, _ = run(A.ActionRegimenCautions(), tracker("cautions", intent="ask_cautions", entities=[]))
    assert msgs[0]["text"].startswith("Cautions for which regimen")


# ---- openers, questions by variant, corrections, new case, Read-as (clinical-spec section 9) ------------------------
def variant(response, prompt):
    """The text of `response` for the slot intake_prompt = prompt (Rasa's conditional response variations)."""
    for v in RESPONSES[response]:
        conds = v.get("condition") or []
        if (prompt is None and not conds) or any(c["name"] == "intake_prompt" and c["value"] == prompt for c in conds):
            return v
    raise AssertionError(f"{response} has no variant for {prompt}")


def form_events(text, intent="inform", slots=None, requested=None, entities=None):
    t = tracker(text, intent=intent, slots=slots, active_loop="case_form", requested=requested, entities=entities)
    d = CollectingDispatcher()
    events = asyncio.run(A.ValidateCaseForm().run(d, t, {"slots": {}, "forms": {}}))
    return d.messages, slotset(events)


def test_an_opener_gets_the_first_question_after_one_sentence_of_what_will_be_asked():
    _, s = form_events("I need advice on a relapsed myeloma patient", intent="describe_case")
    assert s["intake_prompt"] == "intro"
    intro = variant("utter_ask_relapse", "intro")["text"]
    assert intro.count(". ") >= 1 and "prior lines" in intro and intro.rstrip().endswith("?")


def test_an_unreadable_answer_is_asked_again_once_with_an_example():
    slots = {"relapse": "clinical", "prior_lines": 2, "refractory": []}
    _, s = form_events("hmm", intent="nlu_fallback", slots=slots, requested="fitness")
    assert s["intake_prompt"] == "example" and s["reasked"] == "fitness"
    assert "For example" in variant("utter_ask_fitness", "example")["text"]
    _, s = form_events("hmm", intent="nlu_fallback", slots={**slots, "reasked": "fitness", "intake_prompt": "example"},
                       requested="fitness")
    assert s["intake_prompt"] is None  # once only


def test_an_aside_inside_the_intake_is_answered_as_out_of_scope():
    msgs, s = form_events("can you book the tumour board room?", intent="out_of_scope", slots={"relapse": "clinical"},
                          requested="prior_lines")
    assert [m.get("response") for m in msgs] == ["utter_out_of_scope"] and s.get("intake_prompt") is None


def test_triple_class_is_asked_with_the_usual_answer_as_a_button():
    _, s = form_events("69M, triple-class refractory, 4 prior lines, fit, NTE, clinical relapse",
                       intent="describe_case")
    assert s["refractory_class"] == "triple_class" and s["intake_prompt"] == "triple_class"
    v = variant("utter_ask_refractory", "triple_class")
    assert v["buttons"][0]["title"] == "lenalidomide, bortezomib, daratumumab"
    payload = v["buttons"][0]["payload"]
    assert {e["value"] for e in extract(payload) if e.get("role") == "refractory"} == {
        "lenalidomide", "bortezomib", "daratumumab"}


def test_every_question_has_its_example_variant():
    from bot import intake

    for slot in intake.REQUIRED:
        assert "example" in variant(f"utter_ask_{slot}", "example")["text"].lower()


def test_the_recommendation_starts_with_the_read_as_line_in_text_and_payload():
    msgs, events = run(A.ActionRecommend(), tracker(slots=COMPLETE))
    assert msgs[0]["text"].startswith("Read as: 2 prior lines; refractory: daratumumab, lenalidomide; fit; "
                                      "not transplant-eligible; clinical relapse")
    assert msgs[1]["custom"]["recommendation"]["read_as"].startswith("2 prior lines")
    fingerprint = slotset(events)["recommended_case"]
    assert isinstance(fingerprint, str) and "lenalidomide" not in fingerprint  # a fingerprint, not a copy of the case


def test_a_bare_yes_after_the_recommendation_does_not_repeat_it():
    _, events = run(A.ActionRecommend(), tracker(slots=COMPLETE))
    case = slotset(events)["recommended_case"]
    msgs, _ = run(A.ActionRecommend(), tracker("ok", intent="affirm", slots=COMPLETE | {"recommended_case": case}))
    assert msgs[0]["response"] == "utter_case_unchanged"
    msgs, _ = run(A.ActionRecommend(), tracker("3 lines", intent="correct",
                                              slots=COMPLETE | {"prior_lines": 3, "recommended_case": case}))
    assert msgs[0]["text"].startswith("Read as: 3 prior lines")


def test_a_correction_after_the_recommendation_changes_that_field_without_a_conflict():
    _, events = run(A.ActionExtractCase(), tracker("she is not refractory to daratumumab", intent="inform",
                                                   slots=COMPLETE))
    s = slotset(events)
    assert s["refractory"] == ["lenalidomide"] and s["exposed"] == ["daratumumab"] and "case_conflict" not in s


def test_new_case_clears_says_so_only_when_there_was_a_case_and_reads_the_next_patient():
    msgs, events = run(A.ActionNewCase(), tracker("next patient", intent="new_case", slots=COMPLETE))
    assert [m.get("response") for m in msgs] == ["utter_new_case"]
    msgs, events = run(A.ActionNewCase(), tracker("new case", intent="new_case"))
    assert msgs == []
    _, events = run(A.ActionNewCase(), tracker("next patient: 62F, 2 prior lines, len-refr, fit, NTE",
                                               intent="new_case", slots=COMPLETE))
    s = slotset(events)
    assert s["prior_lines"] == 2 and s["refractory"] == ["lenalidomide"] and s["transplant_eligible"] is False


def test_an_aside_inside_the_intake_lets_the_form_reject_so_the_rules_answer_it():
    t = tracker("what is KPd?", intent="ask_regimen", slots={"relapse": "clinical"}, active_loop="case_form",
                requested="prior_lines")
    d = CollectingDispatcher()
    assert asyncio.run(A.ValidateCaseForm().run(d, t, {"slots": {}, "forms": {}})) == [] and d.messages == []
    events = [{"event": "user", "text": "what is KPd?"}, {"event": "action", "name": "action_regimen_info"},
              {"event": "action", "name": "case_form"}]  # the form again, after the answer
    back = Tracker("c1", {"relapse": "clinical", "requested_slot": "prior_lines", "intake_prompt": "intro"},
                   t.latest_message, events, False, None, {"name": "case_form"}, "case_form")
    events = asyncio.run(A.ValidateCaseForm().run(CollectingDispatcher(), back, {"slots": {}, "forms": {}}))
    assert slotset(events)["intake_prompt"] is None  # the question comes back, plain


def test_which_regimens_contain_a_drug_with_each_one_s_place_for_the_case():
    msgs, _ = run(A.ActionDrugRegimens(), tracker("which regimens contain carfilzomib?", intent="ask_drug_regimens",
                                                  slots=COMPLETE))
    text = msgs[0]["text"]
    assert text.startswith("carfilzomib is in ") and "For this case:" in text
    from bot.clinical.engine import recommend
    from bot.clinical.lookup import standing
    from bot.clinical.render import tier_heading

    rec = recommend(parse_case({**COMPLETE, "region": "US"}))
    kpd = standing(rec, "KPd")
    assert f"- KPd: option {kpd['option']} ({tier_heading(kpd['tier']).lower()})" in text
    assert "- KRd: not an option: " in text  # len-refractory case
    msgs, _ = run(A.ActionDrugRegimens(), tracker("which regimens contain Kyprolis?", intent="ask_drug_regimens"))
    assert msgs[0]["text"].startswith("carfilzomib is in ") and "For this case" not in msgs[0]["text"]
    msgs, _ = run(A.ActionDrugRegimens(), tracker("which regimens contain it?", intent="ask_drug_regimens"))
    assert msgs[0]["text"].startswith("Which drug?")


def _after_recommendation(slots, then):
    """A tracker whose events gave a recommendation for `slots`, then set `then` (a correction), as Rasa keeps them."""
    _, events = run(A.ActionRecommend(), tracker(slots=slots))
    history = [{"event": "slot", "name": k, "value": v} for k, v in slots.items()]
    history += [{"event": "action", "name": "action_recommend"}] + events
    history += [{"event": "user", "text": "correction"}] + [{"event": "slot", "name": k, "value": v}
                                                           for k, v in then.items()]
    current = {**slots, **slotset(events), **then}
    return current, history


def test_a_correction_answers_with_what_changed_first_then_the_short_answer():
    current, history = _after_recommendation(COMPLETE, {"fitness": "frail"})
    t = tracker("she is frail actually", intent="correct", slots=current)
    t.events.extend(history)
    msgs, _ = run(A.ActionRecommend(), t)
    assert msgs[0]["text"].startswith("Changed: now frail (was fit).")
    assert "No longer an option: " in msgs[0]["text"] and "SVd" in msgs[0]["text"].split("No longer")[1]
    assert " first instead of SVd." in msgs[0]["text"]
    assert msgs[1]["text"].startswith("Read as: ") and "frail" in msgs[1]["text"].splitlines()[0]
    assert msgs[2]["custom"]["type"] == "rrmm_recommendation"


def test_a_message_of_identifiers_alone_gets_the_privacy_warning_alone():
    _, events = run(A.ActionRecommend(), tracker(slots=COMPLETE))
    slots = COMPLETE | {"recommended_case": slotset(events)["recommended_case"]}
    msgs, _ = run(A.ActionRecommend(), tracker("MRN 12345678, John Smith", intent="inform", slots=slots))
    assert [m.get("response") for m in msgs] == ["utter_privacy_notice"]
    assert "12345678" not in str(msgs) and "Smith" not in str(msgs)


@pytest.mark.parametrize("text,expect", [
    ("details", ["Options (ranked):", "Ruled out:", "because:"]),
    ("all options", ["All ", "options (ranked):", "Evidence: "]),
    ("transplant", ["Transplant:", "auto-HCT"]),
    ("what about transplant?", ["Transplant:"]),
])
def test_each_layer_of_the_answer_is_one_word_away(text, expect):
    from actions.more import ActionShowMore

    msgs, _ = run(ActionShowMore(), tracker(text, intent="show_more", slots=COMPLETE))
    assert all(e in msgs[0]["text"] for e in expect), msgs[0]["text"]
    msgs, _ = run(ActionShowMore(), tracker("x", intent="show_more", slots=COMPLETE,
                                            entities=[{"entity": "section", "value": "transplant"}]))
    assert msgs[0]["text"].startswith("Transplant:")  # a button's payload names the layer
    msgs, _ = run(ActionShowMore(), tracker(text, intent="show_more", slots={}))
    assert msgs[0]["response"] == "utter_no_recommendation_yet"


def test_trials_after_a_recommendation_lists_the_trials_behind_its_options():
    msgs, _ = run(A.ActionTrialInfo(), tracker("trials", intent="ask_trial", slots=COMPLETE, entities=[]))
    assert "OPTIMISMM" in msgs[0]["text"] and "For: " in msgs[0]["text"]
    msgs, _ = run(A.ActionTrialInfo(), tracker("trials", intent="ask_trial", slots={}, entities=[]))
    assert msgs[0]["text"].startswith("Which trial? I know: ")
