"""Conversations over the REST channel with the live Rasa server, its custom actions inside it (loopback)."""
import uuid

import pytest

pytestmark = pytest.mark.slow


def texts(replies):
    return "\n".join(r.get("text", "") for r in replies if r.get("text"))


def payload(replies):
    found = [
        r["custom"]
        for r in replies
        if isinstance(r.get("custom"), dict) and r["custom"].get("type") == "rrmm_recommendation"
    ]
    assert len(found) <= 1
    return found[0]["recommendation"] if found else None


def sender():
    return f"test-{uuid.uuid4().hex[:12]}"


def requested(servers, who):
    return servers.tracker(who)["slots"].get("requested_slot")


def test_one_process_answers_the_actions_run_inside_the_rasa_server(servers):
    """As the scripts start it: no action server, no action token; the recommendation is recorded with its channel."""
    assert set(servers.procs) == {"rasa"}
    who = sender()
    rec = payload(servers.say(who, "62F, 1 prior line, refractory to lenalidomide, frail, not transplant eligible, "
                                            "clinical relapse"))
    assert rec is not None and rec["assessment"]["fitness"] == "frail"
    log = (servers.workdir / "rasa.log").read_text(errors="ignore")
    assert "custom actions run in this process" in log and "Failed to execute custom action" not in log


def test_one_shot_case_gets_options_cautions_trials_in_the_same_turn(servers):
    who = sender()
    replies = servers.say(
        who,
        "68M, 2 prior lines, refractory to lenalidomide and daratumumab, fit, not transplant eligible, "
        "clinical relapse",
    )
    rec = payload(replies)
    assert rec is not None, texts(replies)
    assert rec["assessment"]["setting"] == "S3" and rec["assessment"]["fitness"] == "fit"
    assert rec["options"][0]["regimen"] == "SVd"  # 2026-12: KPd off-label (in certain circumstances)
    out = texts(replies)
    assert "1. SVd, selinexor + bortezomib + dexamethasone" in out and "High cautions: " in out
    assert "not a substitute for clinical judgement" in out and 'Ask: details' in out  # the short answer
    details = texts(servers.say(who, "details"))
    assert "Options (ranked)" in details and "BOSTON" in details  # the trial behind SVd, one step away
    assert requested(servers, who) is None


def test_step_by_step_intake_asks_one_thing_at_a_time(servers):
    who = sender()
    r = servers.say(who, "I have a 71 year old man with relapsed myeloma")
    assert payload(r) is None and requested(servers, who) == "relapse"
    assert "clinical relapse" in texts(r)
    r = servers.say(who, "clinical")
    assert requested(servers, who) == "prior_lines" and "prior lines" in texts(r)
    r = servers.say(who, "two")
    assert requested(servers, who) == "refractory"
    r = servers.say(who, "refractory to lenalidomide")
    assert requested(servers, who) == "fitness"
    r = servers.say(who, "he's fit")
    assert requested(servers, who) == "transplant_eligible"
    r = servers.say(who, "no")
    rec = payload(r)
    assert rec is not None, texts(r)
    assert rec["assessment"]["setting"] == "S2" and rec["assessment"]["lenalidomide_status"] == "refractory"
    assert {"DPd", "PVd", "IsaPd"} <= {o["regimen"] for o in rec["options"]}


def test_none_answer_counts_and_transplant_history_is_asked_when_eligible(servers):
    who = sender()
    servers.say(who, "62F, first relapse, clinical, fit, transplant eligible")
    assert requested(servers, who) == "refractory"
    servers.say(who, "none")
    assert requested(servers, who) == "prior_auto_hct"
    rec = payload(servers.say(who, "no prior transplant"))
    assert rec is not None
    auto = next(t for t in rec["transplant"] if t["option"] == "auto-HCT")
    assert auto["recommended"] is True


def test_correction_updates_the_case_and_reruns_the_recommendation(servers):
    who = sender()
    first = payload(servers.say(who, "69F, 2 prior lines, len refractory, fit, not TE, biochemical relapse"))
    assert first and first["assessment"]["fitness"] == "fit"
    again = payload(servers.say(who, "actually she is frail"))
    assert again and again["assessment"]["fitness"] == "frail"
    # frail: doublets and monotherapy, and a clinical trial at every relapse (R4, 2026 edition)
    assert all(o["regimen"] in ("Pd", "Kd", "Vd", "Sd", "Td", "Md", "D", "Rd", "trial") for o in again["options"])
    more = payload(servers.say(who, "sorry, she is also refractory to pomalidomide"))
    assert more and "Pd" not in {o["regimen"] for o in more["options"]}


def test_contradiction_is_asked_about_not_guessed(servers):
    who = sender()
    r = servers.say(
        who,
        "70M, 3 prior lines, refractory to daratumumab, never received daratumumab, fit, not transplant eligible, "
        "clinical relapse",
    )
    assert payload(r) is None
    assert "conflicting" in texts(r) and "daratumumab" in texts(r)
    rec = payload(servers.say(who, "it is refractory"))
    assert rec is not None
    assert "anti-CD38" in rec["assessment"]["refractory_classes"]


def test_why_not_regimen_lookup_and_trial(servers):
    who = sender()
    servers.say(
        who,
        "70M, 2 prior lines, lenalidomide and daratumumab refractory, fit, not transplant eligible, clinical relapse",
    )
    out = texts(servers.say(who, "why not KRd?"))
    assert "KRd is not an option" in out and "lenalidomide" in out
    out = texts(servers.say(who, "what is KPd?"))
    assert out.startswith("KPd:") and "carfilzomib" in out
    out = texts(servers.say(who, "what did CANDOR show?"))
    assert "37%" in out


def test_new_case_clears_everything(servers):
    who = sender()
    servers.say(who, "60M, 1 prior line, no refractory drugs, fit, not transplant eligible, clinical relapse")
    servers.say(who, "new case")
    out = texts(servers.say(who, "summarise the case"))
    assert "No case details yet" in out


def test_identifiers_are_never_echoed_and_the_user_is_asked_not_to_share_them(servers):
    who = sender()
    replies = servers.say(
        who, "Pt John Whitaker MRN 00482913, 68M, 2 prior lines, len and dara refractory, fit, not TE, clinical relapse"
    )
    out = texts(replies) + str(replies)
    assert "Whitaker" not in out and "00482913" not in out
    assert "identifiers" in out
    assert payload(replies) is not None  # the clinical facts still reached the case


def test_out_of_scope_and_help_say_what_is_covered(servers):
    who = sender()
    assert "relapsed or refractory multiple myeloma" in texts(
        servers.say(who, "can you book the tumour board room for Thursday?")
    )
    assert "why not KRd" in texts(servers.say(who, "help"))


@pytest.mark.parametrize("opener", [
    "I need advice on a relapsed myeloma patient",
    "new patient with relapsed MM",
    "got a myeloma pt who relapsed, what are the options",
    "I'd like a second opinion on treatment for relapsed multiple myeloma",
])
def test_the_openers_of_the_issue_start_the_intake(servers, opener):
    who = sender()
    out = texts(servers.say(who, opener))
    assert requested(servers, who) == "relapse", out
    assert "Cleared" not in out and "outside what I cover" not in out
    assert "prior lines" in out and "clinical relapse" in out  # what will be asked, then the first question


def test_one_shot_shorthand_gets_a_recommendation_that_starts_with_read_as(servers):
    who = sender()
    r = servers.say(who, "71F, s/p VRd x4, ASCT and len maintenance, progressed on the maintenance, nothing else "
                         "refractory, first clinical relapse with new hypercalcaemia and lytic lesions, fit, TE")
    assert requested(servers, who) is None
    out = texts(r)
    # R2 (2026-12): progression on lenalidomide maintenance is lenalidomide-refractory
    assert out.startswith("Read as: 1 prior line; refractory: lenalidomide; exposed: bortezomib; progressed on "
                          "lenalidomide maintenance; fit; transplant-eligible; 1 prior autologous transplant; "
                          "clinical relapse"), out
    assert payload(r)["read_as"].startswith("1 prior line")


def test_a_free_text_correction_changes_that_field_and_answers_again(servers):
    who = sender()
    first = payload(servers.say(who, "67M, 2PL, len-ref and dara-ref, fit, not TE, clinical relapse"))
    assert first and first["read_as"].startswith("2 prior lines; refractory: daratumumab, lenalidomide")
    r = servers.say(who, "no, 3 lines")
    again = payload(r)
    assert again and again["read_as"].startswith("3 prior lines; refractory: daratumumab, lenalidomide")
    r = servers.say(who, "he is not refractory to daratumumab")
    assert payload(r)["read_as"].startswith("3 prior lines; refractory: lenalidomide; exposed: daratumumab")


def test_penta_refractory_and_an_unreadable_answer(servers):
    who = sender()
    servers.say(who, "penta-refractory, 5 prior lines, clinical relapse, NTE")
    assert requested(servers, who) == "fitness"
    out = texts(servers.say(who, "hmm"))
    assert requested(servers, who) == "fitness" and "For example" in out and "did not understand" not in out
    rec = payload(servers.say(who, "she's pretty frail"))
    assert rec and rec["assessment"]["penta_refractory"] is True


def test_an_aside_inside_the_intake_is_answered_then_the_question_comes_back(servers):
    who = sender()
    servers.say(who, "can you help with a relapsed myeloma patient?")
    assert requested(servers, who) == "relapse"
    out = texts(servers.say(who, "what is KPd?"))
    assert out.startswith("KPd:") and "relapse" in out and requested(servers, who) == "relapse"
    out = texts(servers.say(who, "summarise the case"))
    assert "No case details yet" in out and requested(servers, who) == "relapse"


def test_a_correction_says_what_changed_before_the_short_answer(servers):
    who = sender()
    assert payload(servers.say(who, "69F, 2 prior lines, len refractory, fit, not TE, biochemical relapse"))
    replies = servers.say(who, "actually she is frail")
    said = [r["text"] for r in replies if r.get("text")]
    assert said[0].startswith("Changed: now frail (was fit).") and "No longer an option: " in said[0], said
    assert said[1].startswith("Read as: ") and payload(replies)["assessment"]["fitness"] == "frail"


def test_a_message_of_identifiers_alone_gets_the_privacy_warning_alone(servers):
    who = sender()
    assert payload(servers.say(who, "68M, 2 prior lines, len and dara refractory, fit, not TE, clinical relapse"))
    replies = servers.say(who, "MRN 00482913")
    out = texts(replies)
    assert "identifiers" in out and "00482913" not in str(replies)
    assert payload(replies) is None and "Read as:" not in out  # no reprint of the recommendation


@pytest.mark.parametrize("words,expect", [("transplant", "Transplant:\n- auto-HCT"),
                                          ("all options", "All 9 options (ranked):"),
                                          ("trials", "Clinical trial:"),
                                          ('/show_more{"section": "details"}', "Options (ranked):")])
def test_each_layer_is_one_word_or_one_button_away(servers, words, expect):
    who = sender()
    assert payload(servers.say(who, "68M, 2 prior lines, len and dara refractory, exposed to bortezomib, fit, not TE, "
                                    "clinical relapse"))
    out = texts(servers.say(who, words))
    assert expect in out, out
