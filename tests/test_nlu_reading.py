"""Reading what clinicians send (issue 20): facts said in prose, as fields or bare, the 2026-12 readings (R2
maintenance progression, renal impairment), the confirmation of a weak reading, and the corpus scoring of
tools/evaluate.py. Examples written from clinical-spec section 9; none is evaluation text."""
import asyncio

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import actions as A
from bot import intake
from bot.nlu.extract import extract
from tools import evaluate as E


def tracker(slots):
    message = {"text": "", "intent": {"name": "inform", "confidence": 0.99}, "message_id": "m1", "entities": []}
    return Tracker("c1", slots, message, [], False, None, {}, "action_listen")


def case(text):
    return E.case_fields(text)


# ---- R2, 2026-12: progression on lenalidomide maintenance is lenalidomide-refractory -------------------------------
@pytest.mark.parametrize("text", [
    "64F, 1 prior line: VRd, ASCT, lenalidomide maintenance, progressed on the maintenance, fit",
    "VRd -> ASCT -> len maint, PD on len 2025, then nothing else",
    "had KRd then an autograft and lenalidomide maintenance which she progressed on last spring",
])
def test_progression_on_maintenance_reads_as_refractory_with_the_flag(text):
    got = case(text)
    assert "lenalidomide" in got["refractory"] and "lenalidomide" not in got.get("exposed", [])
    assert got["lenalidomide_maintenance_only"] is True


def test_maintenance_stopped_before_the_relapse_is_no_progression_on_it():
    got = case("VRd, ASCT, len maintenance stopped in 2022 for rash, relapsed off treatment in 2024")
    assert not got.get("lenalidomide_maintenance_only") and "lenalidomide" not in (got.get("refractory") or [])


def test_maintenance_progression_in_a_later_message_refines_exposed_without_a_conflict():
    conv = E.Conversation(E.describe_case_parser)
    conv.turn("2 prior lines: VRd, ASCT and lenalidomide maintenance, then DKd")
    conv.turn("she progressed on the len maintenance")
    assert conv.slots.get("case_conflict") is None
    assert "lenalidomide" in conv.slots["refractory"] and conv.slots["lenalidomide_maintenance_only"] is True


# ---- renal impairment (2026-12, section 5) -------------------------------------------------------------------------
@pytest.mark.parametrize("text, relapse", [
    ("71M, 2 prior lines, creatinine 2.4 mg/dL", "clinical"),  # a creatinine at the CRAB level is also a sign
    ("creatinine rising, 1 prior line", "clinical"),
    ("new renal failure from light chains", "clinical"),
    ("creatinine 160 umol/L, biochemical relapse only", "biochemical"),  # raised, below the CRAB level
    ("on haemodialysis, 2 prior lines", None),
    ("CKD 3b, eGFR 38", None),
    ("CrCl 35 mL/min", None),
])
def test_renal_impairment_is_read_from_words_and_values(text, relapse):
    got = case(text)
    assert got.get("renal_impairment") is True
    assert got.get("relapse") == relapse


@pytest.mark.parametrize("text", ["creatinine 0.9 mg/dL", "Cr 1.1", "normal renal function", "eGFR 75"])
def test_a_normal_kidney_is_no_renal_impairment(text):
    assert not case(text).get("renal_impairment")


def test_a_baseline_creatinine_is_no_relapse_sign():
    got = case("hx CKD 4 (Cr 2.6, baseline), PD on DRd: M-spike 0.9 -> 2.1 g/dL, no new CRAB")
    assert got.get("renal_impairment") is True and got.get("relapse") == "biochemical"


# ---- age: as a field, in words, bare -------------------------------------------------------------------------------
@pytest.mark.parametrize("text, age", [
    ("Age: 74\nPrior lines: 2", 74),
    ("Pt age - 74 | Lines - 1", 74),
    ("Patient in Madrid, 66 years, 1 prior line", 66),
    ("this is a sixty seven year old man two prior lines", 67),
    ("74, IgA lambda, 2 prior lines, fit", 74),  # a bare number opening the message
    ("Thank you for seeing Mme Dubois, 69. She is fit.", 69),
    ("60m, myeloma, 1 prior line", 60),
])
def test_age_is_read_when_the_evidence_is_strong(text, age):
    assert case(text).get("age") == age


@pytest.mark.parametrize("text", ["remission for 3 years, 2 prior lines", "PFS of 24 months, 2 prior lines",
                                  "Hb 82, Ca 2.9", "IgG kappa, 74, 81, 2 prior lines"])
def test_no_age_is_invented(text):
    assert "age" not in case(text)


COMPLETE_WITH_BARE_NUMBER = "IgG kappa, 74, 2 prior lines, len and dara refractory, fit, NTE, clinical relapse"


@pytest.mark.parametrize("answer, age", [("yes", 74), ("Age 74", 74), ("no, 47", 47), ("no", None)])
def test_a_bare_number_among_the_facts_is_confirmed_before_it_is_taken(answer, age):
    conv = E.Conversation(E.describe_case_parser)
    move = conv.turn(COMPLETE_WITH_BARE_NUMBER)
    assert move.reply == "conflict" and not move.recommendation and conv.slots.get("age") is None
    assert intake.conflict_button(conv.slots["case_conflict"]) == "Age 74"
    move = conv.turn(answer)
    assert move.recommendation and conv.slots.get("age") == age and conv.slots.get("case_conflict") is None


def test_the_confirmation_is_asked_with_the_reading_as_a_button():
    conflict = {"confirm": "age", "value": 74}
    d = CollectingDispatcher()
    asyncio.run(A.ActionAskConflictAnswer().run(d, tracker({"case_conflict": conflict}), {}))
    (msg,) = d.messages
    assert msg["text"].startswith("Age 74?")
    assert [b["title"] for b in msg["buttons"]] == ["Age 74", "No"]


def test_an_unanswered_confirmation_is_dropped_and_the_message_read():
    conv = E.Conversation(E.describe_case_parser)
    conv.turn("IgG kappa, 74, 2 prior lines, clinical relapse")
    move = conv.turn("len and dara refractory")
    assert conv.slots.get("case_conflict") is None and conv.slots.get("age") is None
    assert conv.slots["refractory"] == ["daratumumab", "lenalidomide"] and move.asks == "fitness"


# ---- transplant eligibility said in prose --------------------------------------------------------------------------
@pytest.mark.parametrize("text, eligible", [
    ("we do not think he is a candidate for transplant", False),
    ("Transplant: no", False),
    ("HCT candidate - No", False),
    ("she declines further transplant", False),
    ("no second ASCT, frail", False),
    ("He cannot do other transplant.", False),
    ("Fit; we would consider a second autograft.", True),
    ("fit, eligible", True),
    ("he is eligible for salvage followed by autologous transplant", True),
    ("transplant eligible? we think yes", True),
])
def test_transplant_eligibility_in_other_words(text, eligible):
    assert case(text).get("transplant_eligible") is eligible


@pytest.mark.parametrize("text", ["We have not decided about a second transplant yet",
                                  "Transplant eligible: not assessed yet", "whether a second ASCT is possible",
                                  "VRd and ASCT in 2019, relapsed in 2023"])
def test_an_open_or_past_transplant_says_nothing_about_eligibility(text):
    assert "transplant_eligible" not in case(text)


@pytest.mark.parametrize("text, n", [("VTd + tandem ASCT (2016, 2017), relapse 2022", 2),
                                     ("CTD -> ASCT 2010 | 2017 relapse: Vd -> 2nd ASCT 2018", 2),
                                     ("VRd, ASCT 2020, len maint; no second ASCT", 1)])
def test_the_number_of_transplants_done(text, n):
    assert case(text).get("prior_auto_hct") == n


def test_an_unsure_transplant_history_gives_no_count():
    assert "prior_auto_hct" not in case("Dara-VRd -> ?ASCT (outside records pending) -> len maint")


# ---- progression on the regimen still given; lines -----------------------------------------------------------------
@pytest.mark.parametrize("text", [
    "72F on DRd since 2021, M-spike 0.9 -> 2.1 g/dL, no CRAB",
    "Tx: Dara-Rd (ongoing, cycle 40) - biochemical progression",
    "switched to DPd, on which she remains; her paraprotein has doubled",
    "progression under DRd with new lytic lesions",
])
def test_progression_on_a_regimen_still_given_is_refractory(text):
    got = case(text)
    assert {"daratumumab"} <= set(got.get("refractory") or [])


def test_a_regimen_still_given_without_relapse_stays_exposed():
    got = case("DPd since 2023, currently in VGPR, no evidence of relapse")
    assert not set(got.get("refractory") or []) & {"daratumumab", "pomalidomide"}


def test_progression_in_brackets_reaches_the_drug_it_names_only():
    got = case("2 prior lines: VRd/ASCT/len maint (PD on len), then DKd (PD on DKd)")
    assert "bortezomib" in got["exposed"] and "bortezomib" not in got["refractory"]


@pytest.mark.parametrize("text, n", [("s/p 4 lines? no: last was teclistamab, 3 lines before that", 4),
                                     ("three lines of treatment before, the last being ide-cel; two lines before that",
                                      3),
                                     ("first d r d which she progressed on and then v m p", 2)])
def test_lines_counted_from_the_narrative(text, n):
    assert case(text).get("prior_lines") == n


# ---- region from a place -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, region", [("referred from Lyon", "EU"), ("Uniklinik Koeln (DE)", "EU"),
                                          ("woman from sioux falls south dakota", "US"), ("Houston, TX", "US"),
                                          ("lives in Mesa AZ", "US"), ("seen in Toronto", None),
                                          ("Ca 2.9, 2 prior lines", None)])
def test_a_place_names_the_region(text, region):
    assert case(text).get("region") == region


def test_a_fact_is_read_on_its_own_line():
    got = case("R-MCI: 6\nTransplant candidate: No\nLines: 1")
    assert got.get("rmci") == 6 and "prior_auto_hct" not in got and got.get("prior_lines") == 1


# ---- the corpus scoring --------------------------------------------------------------------------------------------
def test_corpus_scoring_separates_misreads_from_questions(tmp_path):
    corpus = {"cases": [
        {"id": "x1", "style": "letter",
         "text": "71F, 2 prior lines, len and dara refractory, fit, NTE, clinical relapse",
         "expected": {"age": 71, "prior_lines": 2, "refractory": ["daratumumab", "lenalidomide"], "fitness": "fit",
                      "transplant_eligible": False, "relapse": "clinical"}},
        # a wrong expectation on purpose: the reading (2) is a misread against it
        {"id": "x2", "style": "letter", "text": "71F, 2 prior lines, clinical relapse",
         "expected": {"age": 71, "prior_lines": 3, "relapse": "clinical"}, "asks": "refractory"},
        # fitness expected but not said: the question is a miss, not a misread
        {"id": "x3", "style": "board", "messages": ["71F, 2 prior lines", "len and dara refractory, clinical"],
         "expected": {"age": 71, "prior_lines": 2, "refractory": ["daratumumab", "lenalidomide"],
                      "relapse": "clinical", "fitness": "fit"}},
    ]}
    path = tmp_path / "c.yml"
    path.write_text(yaml.safe_dump(corpus))
    assert E.is_corpus(path)
    r = E.evaluate_corpus([path])
    assert r["by_style"]["letter"]["whole"] == 1 and r["by_style"]["letter"]["misread_cases"] == 1
    assert r["by_style"]["board"]["whole"] == 0 and r["by_style"]["board"]["misread_fields"] == 0
    assert r["total"]["fields"] == 6 + 3 + 5 and r["total"]["fields_right"] == 6 + 2 + 4
    (x2,) = [e for e in r["errors"] if e["id"] == "x2"]
    assert x2["misread"] == {"prior_lines": {"expected": 3, "got": 2}}
    (x3,) = [e for e in r["errors"] if e["id"] == "x3"]
    assert x3["missed"] == {"fitness": {"expected": "fit", "got": None}} and x3["did"] == "asks fitness"


def test_the_dev_corpus_is_scored_by_style_and_never_read_as_training_data():
    paths = E.corpus_paths()
    assert paths, "tests/eval/dev/corpus holds the dev corpus"
    cases = [c for p in paths for c in yaml.safe_load(p.read_text())["cases"]]
    assert len(cases) >= 400 and len({c["style"] for c in cases}) >= 12
    blind = [c for p in E.corpus_paths(E.EVAL / "blind") for c in yaml.safe_load(p.read_text())["cases"]]
    assert len(blind) >= 200 and len({c["style"] for c in blind}) >= 12  # the next blind split, kept unscored
    assert not {c["id"] for c in blind} & {c["id"] for c in cases}


def test_extract_marks_only_weak_readings():
    ents = extract("IgG kappa, 74, 2 prior lines, fit")
    (age,) = [e for e in ents if e["entity"] == "age"]
    assert age["confidence_entity"] < 1
    assert all("confidence_entity" not in e for e in extract("74, IgG kappa, 2 prior lines, fit"))
    assert all("confidence_entity" not in e for e in extract("no, 79"))  # a short answer with the age


@pytest.mark.parametrize("text, n", [("VRd then ASCT; second line DPd, now progressing on DPd", 2),
                                     ("on Kd as second line, progressing", 2),
                                     ("PVd, her third line, progressing with anaemia", 3),
                                     ("being considered for 3rd line", 2), ("3L options?", 2)])
def test_an_ordinal_line_named_with_its_regimen_is_a_line_given(text, n):
    assert case(text).get("prior_lines") == n


# ---- a regimen written out as its drugs: progression on it reaches all of them ------------------------------------
@pytest.mark.parametrize("text, refractory", [
    ("2 prior lines: bortezomib-melphalan-prednisone, then isatuximab pomalidomide dexamethasone from 2023, "
     "progressing on it now", {"isatuximab", "pomalidomide"}),
    ("1 prior line of carfilzomib+daratumumab+dex, progression under therapy this autumn",
     {"carfilzomib", "daratumumab"}),
    ("first line ixazomib lenalidomide dex, on which her paraprotein has now risen", {"ixazomib", "lenalidomide"}),
])
def test_progression_on_a_regimen_written_as_its_drugs_reaches_each_drug(text, refractory):
    assert set(case(text)["refractory"]) >= refractory


@pytest.mark.parametrize("text", [
    "Refractory: lenalidomide, carfilzomib\nDaratumumab: never had it",
    "progressed on lenalidomide, bortezomib-exposed",
])
def test_a_drug_on_its_own_line_or_after_a_comma_is_not_pulled_into_the_regimen(text):
    refractory = case(text).get("refractory") or []
    assert "bortezomib" not in refractory and "daratumumab" not in refractory


def test_a_status_written_after_a_drug_of_the_group_keeps_its_reading():
    got = case("len+dara refractory, bortezomib exposed")
    assert {"lenalidomide", "daratumumab"} <= set(got["refractory"]) and got["exposed"] == ["bortezomib"]


# ---- the number of transplants done: a second one ahead, a refused one, a corrected count -------------------------
@pytest.mark.parametrize("text, n", [
    ("VRd, ASCT 2019, len maintenance; we are weighing a second autograft at the next MDT", 1),
    ("KRd, autograft 2020; he is not keen on a second transplant", 1),
    ("VCd x6 (patient declined ASCT), then Rd", 0),
    ("VRd, tandem ASCT - no, single ASCT, then len maintenance", 1),
    ("VRd, tandem autograft 2018, len maintenance", 2),
    ("VRd, ASCT 2015, relapse, then a second ASCT in 2019", 2),
])
def test_transplants_done_are_counted_from_the_past_only(text, n):
    assert case(text).get("prior_auto_hct") == n


@pytest.mark.parametrize("text, n", [
    ("VMP-autograft 2018, thalidomide maintenance; relapse 2021 -> IsaKd -> progression on IsaKd 2024", 2),
    ("she had vrd and autologous transplant in 2016 then relapse in 2020 treated with carfilzomib pomalidomide "
     "dexamethasone progressed on it then elotuzumab pomalidomide dexamethasone progressing on it now", 3),
])
def test_lines_of_a_history_with_regimens_written_out_or_joined_to_the_transplant(text, n):
    assert case(text)["prior_lines"] == n


# ---- the relapse now: a past regimen's end is no "no progression"; a paraprotein told as numbers ------------------
@pytest.mark.parametrize("text, relapse", [
    ("1 prior line: KRd 2020 -> stopped for cardiotoxicity (no PD) -> off treatment; now new lytic lesions",
     "clinical"),
    ("VRd, bortezomib exposed only (stopped for neuropathy, no progression); now rising paraprotein", "biochemical"),
    ("Rd since 2022; her paraprotein went 8 -> 19 g/L over 4 months, Hb and calcium normal", "biochemical"),
    ("Rd since 2022; paraprotein from 11 to 26 g/L", "biochemical"),
])
def test_the_relapse_now_is_read_past_a_regimen_stopped_without_progression(text, relapse):
    assert case(text)["relapse"] == relapse


def test_a_falling_paraprotein_is_no_relapse_sign():
    assert case("KRd x8, paraprotein 24 -> 3 g/L, in VGPR").get("relapse") != "biochemical"


def test_progression_in_brackets_that_names_its_drug_reaches_that_drug_only():
    got = case("VMP-ASCT-R maint (2012-2016, PD on R maint), then KPd")
    assert "lenalidomide" in got["refractory"] and "bortezomib" not in got["refractory"]


@pytest.mark.parametrize("text, role", [
    ("4 prior lines, last cilta-cel 2023 -> sCR -> relapse 2025 with new lesions", "exposed"),
    ("4 prior lines, refractory to ide-cel (no response at day 30)", "refractory"),
])
def test_a_car_t_relapsed_after_is_exposed_unless_said_refractory(text, role):
    got = case(text)
    assert any(d in (got.get(role) or []) for d in ("cilta-cel", "ide-cel"))


@pytest.mark.parametrize("text", [
    "1 prior line: on daratumumab lenalidomide and dexamethasone since 2021, light chains have gone from 40 to 360",
    "1 prior line, DRd since 2020; while still on full-dose daratumumab and lenalidomide her paraprotein has climbed",
])
def test_a_rise_on_the_regimen_still_given_is_progression_on_it(text):
    assert {"daratumumab", "lenalidomide"} <= set(case(text).get("refractory") or [])


@pytest.mark.parametrize("text, eligible, done", [
    ("VRd -> ASCT 2020 -> len maint -> DKd. Not for 2nd ASCT (patient declines).", False, 1),
    ("VRd, autograft 2019, Rd at relapse; a further autologous transplant is not an option", False, 1),
    ("Rd since 2021, never transplanted, not eligible", False, 0),
    ("KRd x8 -> ASCT 2021 -> no maintenance (declined). Fit, transplant eligible", True, 1),
])
def test_a_transplant_ahead_is_eligibility_and_leaves_the_count_done(text, eligible, done):
    got = case(text)
    assert got.get("transplant_eligible") is eligible and got.get("prior_auto_hct") == done
