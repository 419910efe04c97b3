"""The short answer (bot.clinical.short): the first screen a clinician reads, measured over random cases.

Issue 21: at most 15 lines and 1,200 characters holding the case as read, the action, the trial headline, the top
tier's options (one line each, numbered by rank), the high cautions in plain words, what else can be asked, and the
disclaimer; never an internal id or code. The layers behind it ("details", "cautions", "transplant", "trials",
"all options") show what the first screen leaves out.
"""
from __future__ import annotations

import re

from conftest import make
from hypothesis import HealthCheck, given, settings
from test_engine_properties import cases

from bot.clinical.kb import kb
from bot.clinical.render import ranked_options, trial_headline
from bot.clinical.short import (
    FIRST_SCREEN_CHARS,
    FIRST_SCREEN_LINES,
    approval_brief,
    render_section,
    render_short,
)

K = kb()
MANY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CODES = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b|\bS[1-9]\b|\(R\d+\)")  # caution ids, setting ids, rule codes


def _rec(case):
    from bot.clinical.engine import recommend

    return recommend(case)  # `cases()` draws validated cases


def _top_tier(rec):
    options = ranked_options(rec)
    return [o for o in options if options and o.get("tier") == options[0].get("tier")]


@MANY
@given(cases())
def test_the_first_screen_fits_and_holds_what_decides_the_next_step(case):
    rec = _rec(case)
    text = render_short(rec)
    lines = text.split("\n")
    assert len(lines) <= FIRST_SCREEN_LINES and len(text) <= FIRST_SCREEN_CHARS, (len(lines), len(text), text)
    read_as = f"Read as: {rec['read_as']}"
    assert lines[0] == read_as or (lines[0].endswith('... ("summary" shows the whole case)')
                                   and read_as.startswith(lines[0].split("; ... (")[0] + "; "))
    action = next(ln for ln in lines if ln.startswith("Action: "))
    assert action == f"Action: {rec['initiation']['text']}" or (
        action.endswith(' ... ("details")') and rec["initiation"]["text"].startswith(action[8:-16]))
    if trial_headline(rec):
        assert trial_headline(rec) in lines
    options = ranked_options(rec)
    numbered = [ln for ln in lines if re.match(r"^\d+\. ", ln)]
    for ln in numbered:  # each option line: its rank, its code, and nothing that is not its own
        n, code = re.match(r"^(\d+)\. ([^,:]+)", ln).groups()
        assert options[int(n) - 1]["regimen"] == code
    top = _top_tier(rec)
    assert len(numbered) >= min(len(top), 2), text  # the top tier (at least its first two) is always there
    if options:
        assert numbered[0].startswith(f"1. {options[0]['regimen']}")
        assert f"{len(options)} option" in text or f"of {len(options)} options" in text
    high = [c for c in rec["cautions"] if c["severity"] == "high"]
    for c in high:
        assert K.cautions[c["id"]].title in text, c["id"]
    assert not CODES.search(text.replace(lines[0], "")), CODES.search(text)
    assert lines[-1] == rec["disclaimer"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_every_option_left_off_the_first_screen_is_one_step_away(case):
    rec = _rec(case)
    short = render_short(rec)
    every = render_section(rec, "all options")
    for i, o in enumerate(ranked_options(rec), 1):
        assert f"{i}. {o['regimen']}: {o['name']}" in every
    for c in rec["cautions"]:
        assert K.cautions[c["id"]].title in render_section(rec, "cautions")
    if len(ranked_options(rec)) > len(re.findall(r"(?m)^\d+\. ", short)):
        assert 'all options' in short.split('Ask: ')[1] and 'Ask: details' in short


def test_the_example_case_reads_in_one_screen_with_plain_names():
    rec = make(prior_lines=2, refractory=["lenalidomide", "daratumumab"], exposed=["bortezomib"], fitness="fit",
               transplant_eligible=False, ldh_elevated=True, thrombosis_history=True, age=68)
    text = render_short(rec)
    assert "1. cilta-cel, ciltacabtagene autoleucel (BCMA CAR-T): CAR-T for lenalidomide-refractory disease" in text
    assert "Other recommended:\n3. SVd" in text  # the next tier too, by code when nothing more fits
    assert "US: approved 2024-04." in text  # the approval in a few words, from the option's label
    assert "High cautions: infections; blood clots; CRS and neurotoxicity (ICANS); CAR-T late effects; eye toxicity" \
        in text
    for code in ("ocular_toxicity", "car_t_late_effects", "crs_neurotoxicity", "S3", "no regional restriction"):
        assert code not in text
    assert 'why not <regimen>, transplant' in text


def test_approval_in_a_few_words_says_nothing_when_nothing_is_recorded():
    rec = make(prior_lines=2, refractory=["lenalidomide", "daratumumab"], exposed=["bortezomib"], fitness="fit",
               transplant_eligible=False)
    by_code = {o["regimen"]: o for o in rec["options"]}
    assert approval_brief(by_code["cilta-cel"]) == "US: approved 2024-04"
    assert all(approval_brief(o) is None for o in rec["options"] if "no regional restriction" in o["label"])


def test_the_layers_say_what_the_first_screen_leaves_out():
    rec = make(prior_lines=3, refractory=["lenalidomide", "daratumumab", "bortezomib"], fitness="fit",
               transplant_eligible=True, prior_auto_hct=1, months_remission_after_hct=40, age=55)
    assert render_section(rec, "transplant").startswith("Transplant:\n- auto-HCT")
    trials = render_section(rec, "trials")
    assert trials.startswith("Clinical trial:") and "For: " in trials
    details = render_section(rec, "details")
    assert "Ruled out:" in details and "because:" in details and "_" not in details.split("Cautions:")[1]
    assert render_section(rec, "nonsense") is None


def test_why_not_says_settings_in_words():
    from bot.clinical.render import why_not

    rec = make(prior_lines=3, refractory=["lenalidomide", "daratumumab", "bortezomib"], fitness="fit",
               transplant_eligible=False)
    text = why_not(rec, "KRd")
    assert "S3" not in text and "S5" not in text and "refractory disease" in text, text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_every_regimen_a_caution_cites_is_listed_in_the_details(case):
    rec = _rec(case)
    details = render_section(rec, "details")
    listed = set(re.findall(r"(?m)^\d+\. ([^:]+): ", details))
    codes = {o["regimen"] for o in ranked_options(rec)}
    for c in rec["cautions"]:
        for because in c["because"]:
            cited = {w.strip(" ,;:()") for w in re.split(r"[\s,;]+", because)} & codes
            assert cited <= listed, (c["id"], because)  # never a regimen hidden behind "(+N more)"
