"""The copy-to-note summary: `render_note` on recommendations, and `action_note` on Tracker fixtures."""
import asyncio
import re
from pathlib import Path

import pytest
import yaml
from conftest import make
from hypothesis import HealthCheck, given, settings
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from test_engine_properties import cases

from actions.note import ActionNote
from bot.clinical.note import NOTE_MAX_CHARS, render_note
from bot.clinical.render import ranked_options, render_text

COMPLETE = {"relapse": "clinical", "prior_lines": 2, "refractory": ["daratumumab", "lenalidomide"], "fitness": "fit",
            "transplant_eligible": False}
ROOT = Path(__file__).resolve().parent.parent
RESPONSES = yaml.safe_load((ROOT / "domain.yml").read_text())["responses"]
CASES = [
    {"prior_lines": 2, "refractory": ["lenalidomide", "daratumumab"], "fitness": "fit", "transplant_eligible": False},
    {"prior_lines": 1, "exposed": ["lenalidomide"], "fitness": "fit", "transplant_eligible": True, "prior_auto_hct": 1,
     "months_remission_after_hct": 40},
    {"prior_lines": 3, "exposed": ["lenalidomide", "bortezomib", "daratumumab"], "fitness": "fit", "ldh_elevated": True,
     "transplant_eligible": False, "age": 95},  # 12 options
    {"prior_lines": 5, "refractory": ["lenalidomide", "pomalidomide", "bortezomib", "carfilzomib", "daratumumab"],
     "fitness": "frail", "region": "EU"},
    {"prior_lines": 2, "relapse": "none"},
]


@pytest.mark.parametrize("case", CASES)
def test_the_note_is_plain_text_within_the_limit_with_edition_and_disclaimer(case):
    rec = make(**case)
    note = render_note(rec)
    assert len(note) <= NOTE_MAX_CHARS
    assert "Knowledge as of" not in note and f"knowledge as of {rec['knowledge_edition']}" in note
    assert note.rstrip().endswith(rec["disclaimer"])
    assert not re.search(r"[*_`#<>]|\]\(", note), "no markdown or HTML"
    assert "\t" not in note and all(len(line) < 400 for line in note.splitlines())


def test_the_note_lists_every_option_by_tier_with_its_key_trial_and_approval_in_the_region():
    rec = make(**CASES[0])
    note = render_note(rec)
    lines = note.splitlines()
    assert lines[0] == "RRMM decision support (US labels, knowledge as of 2026-12)"
    assert lines[1].startswith("Case as read: 2 prior lines; refractory: daratumumab, lenalidomide; fit")
    assert lines[2].startswith("Assessment: lenalidomide- and anti-CD38-refractory")  # the setting in words
    for heading in ("Other recommended:", "In certain circumstances:"):
        assert heading in lines
    ranked = [o for o in rec["options"] if o["regimen"] != "trial"]
    for i, o in enumerate(ranked, 1):
        line = next(x for x in lines if x.startswith(f"  {i}. {o['regimen']} "))
        assert "US: " in line
    # 2026-12 (section 8): every option's approval in plain words, never "no restriction recorded"
    assert any(line.startswith("  ") and "OPTIMISMM; US: not approved" in line for line in lines)
    assert ("  2. KPd (carfilzomib + pomalidomide + dexamethasone) - US: off-label (no approval for this combination "
            "at relapse)") in lines
    assert "  4. BPd (belantamab mafodotin + pomalidomide + dexamethasone) - DREAMM-8; US: not approved" in lines
    assert any(line.startswith("  5. EPd ") and line.endswith("US: off-label here") for line in lines)
    assert "no restriction recorded" not in note
    triple = make(prior_lines=3, refractory=["lenalidomide", "bortezomib", "daratumumab"], fitness="fit",
                  transplant_eligible=False)
    # section 6 (2026-12): ide-cel from 2 prior lines cites KarMMa-3, the trial of its setting
    assert re.search(r"\d\. ide-cel .*- KarMMa-3; US: approved 2024-04\n", render_note(triple))
    assert "Clinical trial:" in note  # the trial headline, not a ranked item


def test_the_note_uses_the_read_as_line_when_the_payload_has_one_and_never_shows_an_age_over_89():
    rec = dict(make(**CASES[0]), read_as="2 prior lines; refractory: daratumumab, lenalidomide; fit; age 93")
    lines = render_note(rec).splitlines()
    assert lines[1] == "Case as read: 2 prior lines; refractory: daratumumab, lenalidomide; fit; age over 89"
    assert lines[2].startswith("Assessment: ")
    assert "93" not in render_note(rec)
    rec["read_as"] = "1 prior line; age 71"
    assert "age 71" in render_note(rec)


def test_the_approval_follows_the_region_of_the_case():
    assert "teclistamab - MajesTEC-1; EU: conditional approval 2022-08" in render_note(make(**CASES[3]))


def test_a_long_answer_drops_the_full_names_first_and_is_always_cut_to_the_limit():
    rec = make(**CASES[2])
    note = render_note(rec)
    assert "12. " in note or "more option" in note
    huge = dict(rec, options=rec["options"] * 6, read_as="x " * 400)
    assert len(render_note(huge)) <= NOTE_MAX_CHARS
    many = render_note(dict(rec, options=rec["options"] * 6))
    shown = len(re.findall(r"(?m)^  \d+\. ", many))
    assert f"Not listed here: {len(ranked_options(rec)) * 6 - shown} more options" in many


def test_a_monitor_answer_has_no_option_list():
    note = render_note(make(**CASES[4]))
    assert "Options" not in note and "monitor" in note


def test_the_note_is_shorter_than_the_full_text():
    rec = make(**CASES[0])
    assert len(render_note(rec)) < len(render_text(rec)) / 2


# ---- action_note on Tracker fixtures -------------------------------------------------------------------------
def tracker(slots=None, text="note"):
    message = {"text": text, "intent": {"name": "note", "confidence": 0.99}, "message_id": "m1", "entities": []}
    return Tracker("c1", dict(slots or {}), message, [], False, None, {}, "action_listen")


def run(t):
    d = CollectingDispatcher()
    events = asyncio.run(ActionNote().run(d, t, {}))
    for m in d.messages:
        if m.get("response"):
            m["text"] = RESPONSES[m["response"]][0]["text"]
    return d.messages, events


def test_action_note_answers_with_the_note_of_the_case_s_recommendation(monkeypatch):
    monkeypatch.delenv("RRMM_REGION", raising=False)
    msgs, events = run(tracker(COMPLETE))
    assert len(msgs) == 1 and events == []
    assert msgs[0]["text"].startswith("RRMM decision support (US labels")
    assert ("KPd (carfilzomib + pomalidomide + dexamethasone) - US: off-label (no approval for this combination at "
            "relapse)") in msgs[0]["text"]
    assert not msgs[0].get("custom") and not msgs[0].get("json_message")


def test_action_note_uses_the_deployment_s_region(monkeypatch):
    monkeypatch.setenv("RRMM_REGION", "EU")
    msgs, _ = run(tracker(COMPLETE))
    assert msgs[0]["text"].startswith("RRMM decision support (EU labels")


def test_action_note_asks_the_intake_question_while_the_case_is_incomplete():
    msgs, _ = run(tracker({}))
    assert msgs == [{**msgs[0], "response": "utter_ask_relapse"}]
    msgs, _ = run(tracker({k: v for k, v in COMPLETE.items() if k != "fitness"}))
    assert msgs[0]["response"] == "utter_ask_fitness"


def test_action_note_inside_the_intake_says_what_is_still_needed_and_leaves_the_question_to_the_form():
    t = tracker({k: v for k, v in COMPLETE.items() if k not in ("fitness", "transplant_eligible")})
    t.active_loop = {"name": "case_form"}
    msgs, _ = run(t)
    assert [m["text"] for m in msgs] == ["I'll write the note once I have the case. Still needed: fitness, "
                                         "transplant eligible."]


def test_the_note_intent_has_its_rule_and_is_named_in_help():
    rules = yaml.safe_load((ROOT / "data/rules/intake.yml").read_text())["rules"]
    assert any(r["steps"] == [{"intent": "note"}, {"action": "action_note"}] for r in rules)
    assert "note" in yaml.safe_load((ROOT / "domain.yml").read_text())["intents"]
    assert '"note"' in RESPONSES["utter_help"][0]["text"]


def test_action_note_asks_about_an_open_conflict_first():
    conflict = {"drug": "lenalidomide", "choices": ["refractory", "exposed"]}
    msgs, _ = run(tracker(dict(COMPLETE, case_conflict=conflict)))
    assert [m["text"] for m in msgs] == ["I have conflicting information about lenalidomide: is the disease refractory "
                                         "to it or received it without being refractory?"]


def test_action_note_asks_not_to_share_identifiers_and_never_repeats_them():
    msgs, events = run(tracker(COMPLETE, text="note for John Smith MRN 1234567"))
    assert msgs[0]["response"] == "utter_privacy_notice"
    assert "John" not in msgs[1]["text"] and "1234567" not in msgs[1]["text"]
    assert events and events[0]["name"] == "privacy_noticed"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_the_note_fits_and_names_every_option_it_leaves_out_by_count(case):
    from bot.clinical.engine import recommend

    rec = recommend(case)
    note = render_note(rec)
    assert len(note) <= NOTE_MAX_CHARS and note.endswith(rec["disclaimer"])
    options = [o["regimen"] for o in ranked_options(rec)]
    listed = re.findall(r"(?m)^  (\d+)\. (\S+)", note)
    assert [code for _, code in listed] == options[:len(listed)]
    left = options[len(listed):]
    if left:
        said = re.search(r"Not listed here: (\d+) more options? \(([^)]*)\)", note)
        assert said and int(said.group(1)) == len(left), note  # by count, and by name when the names fit
        assert said.group(2).split(", ") == left or said.group(2) == "see the full recommendation"
    else:
        assert "Not listed here" not in note
