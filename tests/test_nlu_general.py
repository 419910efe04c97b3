"""General reading rules of clinicians' descriptions (clinical-spec section 9): each test states a rule with its
own varied wordings (none of them is an evaluation sentence)."""
import pytest

from bot import intake
from bot.nlu.extract import extract


def read(text, slots=None, requested=None, intent="describe_case"):
    """The case fields one message sets (as the conversation reads it)."""
    reading = intake.read_message(slots or {}, extract(text), intent, text, requested)
    return {k: v for k, v in reading.updates.items() if v is not None}


def flags(text):
    return {e["value"]: e.get("role") for e in extract(text) if e["entity"] in ("aggressive_feature", "comorbidity")}


# ---- 1. "nothing refractory" is an answer: refractory = [] ---------------------------------------------------------
@pytest.mark.parametrize("text", [
    "64F, 1 prior line (DRd), nil refractory, fit, TE",
    "VRd then KRd; refractory: nil",
    "two lines so far and nothin refractory",
    "nothign refractroy, first relapse",
    "refr - none",
    "she has never been refractory to anything",
    "no refrac drugs, biochemical relapse",
])
def test_nothing_refractory_is_an_empty_list(text):
    assert read(text).get("refractory") == []


@pytest.mark.parametrize("text,refractory", [
    ("after VRd and Dara-Kd nothing has failed apart from daratumumab", ["daratumumab"]),
    ("nothing else refractory except pom", ["pomalidomide"]),
    ("no other drugs refractory besides carfilzomib", ["carfilzomib"]),
    ("refractory to lenalidomide, no other refractory agents", ["lenalidomide"]),
])
def test_nothing_refractory_but_an_exception(text, refractory):
    assert read(text)["refractory"] == refractory


# ---- 2. relapse type from its description --------------------------------------------------------------------------
@pytest.mark.parametrize("text,value", [
    ("2 prior lines, biochem, fit", "biochemical"),
    ("biochem rel after DRd", "biochemical"),
    ("it is an FLC relapse only", "biochemical"),
    ("kappa rising, no end organ damage", "biochemical"),
    ("M-spike creeping up without any myeloma-defining events", "biochemical"),
    ("a paraprotein-only relapse", "biochemical"),
    ("new lytic lesions in the pelvis", "clinical"),
    ("calcium is up at 3.1", "clinical"),
    ("symptomatic anaemia from marrow infiltration, Hb 82", "clinical"),
    ("soft-tissue plasmacytoma on PET", "clinical"),
    ("clinical relapse, not biochemical", "clinical"),
])
def test_relapse_type(text, value):
    assert read(text)["relapse"] == value


# ---- 7. transplant eligibility --------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,value", [
    ("a further autograft is not an option for him", False),
    ("ASCT would not be a realistic option", False),
    ("she wouldn't be considered for a second transplant", False),
    ("he isn't fit enough for another ASCT", False),
    ("not a candidate for transplant", False),
    ("no further transplant option", False),
    ("we would treat her as transplant-eligible", True),
    ("he is eligible for a salvage autograft", True),
])
def test_transplant_eligibility(text, value):
    assert read(text)["transplant_eligible"] is value


def test_not_fit_enough_for_a_transplant_is_no_fitness_and_no_transplant_done():
    got = read("she is not fit enough for a second autograft")
    assert got["transplant_eligible"] is False
    assert "fitness" not in got and "prior_auto_hct" not in got


# ---- 8. flags -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["LDH about four times the upper limit of normal", "LDH twice ULN",
                                  "LDH is 3x normal", "raised LDH at relapse", "LDH 1.5 times the ULN"])
def test_ldh_elevated(text):
    assert flags(text).get("ldh_elevated", "missing") is None


@pytest.mark.parametrize("text", ["fast-rising paraprotein", "light chains climbing rapidly",
                                  "quickly-increasing M-spike", "M-protein going up fast"])
def test_m_protein_rising(text):
    assert flags(text).get("m_protein_rising", "missing") is None


@pytest.mark.parametrize("text", [
    "pomalidomide was stopped because of grade 4 neutropenia",
    "dara-Rd dose reduced for thrombocytopenia",
    "neutropenic on lenalidomide so we reduced the dose",
    "thrombocytopenia leading to discontinuation of bortezomib",
    "len held due to recurrent neutropenia",
])
def test_a_drug_toxicity_is_no_low_marrow_reserve(text):
    assert "low_marrow_reserve" not in flags(text)


@pytest.mark.parametrize("text", ["pancytopenic from heavy marrow infiltration", "poor marrow reserve",
                                  "thrombocytopenia due to marrow involvement"])
def test_low_marrow_reserve_still_read(text):
    assert flags(text).get("low_marrow_reserve", "missing") is None


# ---- 10. "X rather than Y": Y is the old value ----------------------------------------------------------------------
@pytest.mark.parametrize("text,value", [
    ("sorry, she is intermediate fitness rather than fit", "intermediate"),
    ("he is frail rather than intermediate", "frail"),
    ("actually fit instead of frail", "fit"),
    ("I'd call him intermediate, not fit", "intermediate"),
])
def test_fitness_correction_reads_the_new_value(text, value):
    assert read(text, {"fitness": "fit" if value != "fit" else "frail"}, intent="correct")["fitness"] == value


# ---- 3. progression on a regimen: every drug of it refractory; a regimen given without progression exposed ----------
@pytest.mark.parametrize("text,refractory,exposed", [
    ("relapsed during Dara-VRd induction", {"daratumumab", "bortezomib", "lenalidomide"}, set()),
    ("Pd (PD), 2 prior lines", {"pomalidomide"}, set()),
    ("prior: KRd (8 cycles, progressed), then Isa-Pd", {"carfilzomib", "lenalidomide"},
     {"isatuximab", "pomalidomide"}),
    ("VRd (relapse 3 years after stopping it)", set(), {"bortezomib", "lenalidomide"}),
    ("DRd then Kd - PD on both", {"daratumumab", "lenalidomide", "carfilzomib"}, set()),
    ("thal, then bortezomib, then len, refractory to all three", {"thalidomide", "bortezomib", "lenalidomide"}, set()),
    ("relapsed on VTd, then on DRd and then on Elo-Pd",
     {"bortezomib", "thalidomide", "daratumumab", "lenalidomide", "elotuzumab", "pomalidomide"}, set()),
    ("progressed on DVd, then received Isa-Kd", {"daratumumab", "bortezomib"}, {"isatuximab", "carfilzomib"}),
    ("resistant to all three drugs: Revlimid, Kyprolis, Darzalex", {"lenalidomide", "carfilzomib", "daratumumab"},
     set()),
    ("progressed on Pomalyst and Sarclisa", {"pomalidomide", "isatuximab"}, set()),
    ("PD on Xpovio-Velcade", {"selinexor", "bortezomib"}, set()),
    ("relapsed on Tecvayli after Carvykti", {"teclistamab"}, {"cilta-cel"}),
    ("Ninlaro, then Revlimid until progression", {"lenalidomide"}, {"ixazomib"}),
    ("CTd, then Kd to PD", {"carfilzomib"}, {"cyclophosphamide", "thalidomide"}),
    ("KRd to progression after VRd", {"carfilzomib", "lenalidomide"}, {"bortezomib"}),
    ("Dara-Rd given without progression, then Kd to progression", {"carfilzomib"}, {"daratumumab", "lenalidomide"}),
    ("DVd was stopped for neuropathy, not progression", set(), {"daratumumab", "bortezomib"}),
])
def test_progression_on_a_regimen(text, refractory, exposed):
    got = read(text)
    assert set(got.get("refractory") or []) == refractory
    assert set(got.get("exposed") or []) == exposed


def test_without_progression_said_of_a_regimen_is_no_relapse_type():
    assert "relapse" not in read("Rd stopped after a year without progression, then Kd until PD")
    assert read("stable, still on DRd without progression")["relapse"] == "none"


# ---- 4. a status after a tight group reaches each of its drugs ------------------------------------------------------
@pytest.mark.parametrize("text,refractory,exposed", [
    ("refractory to pom, carfilzomib and dara exposed", {"pomalidomide"}, {"carfilzomib", "daratumumab"}),
    ("len-refr, isa + bortezomib exposed", {"lenalidomide"}, {"isatuximab", "bortezomib"}),
    ("refr lenalidomide, pom, bortezomib exposed", {"lenalidomide", "pomalidomide"}, {"bortezomib"}),
    ("refr dara+pom", {"daratumumab", "pomalidomide"}, set()),
    ("refractory to thal/len/bort", {"thalidomide", "lenalidomide", "bortezomib"}, set()),
])
def test_a_status_reaches_its_group(text, refractory, exposed):
    got = read(text)
    assert set(got.get("refractory") or []) == refractory
    assert set(got.get("exposed") or []) == exposed


# ---- 5. prior lines from the narrative ------------------------------------------------------------------------------
@pytest.mark.parametrize("text,lines", [
    ("she is now at her third relapse", 3),
    ("at 2nd relapse now, len-refractory", 2),
    ("he has progressed for the third time", 3),
    ("this is the second progression", 2),
    ("four lines of therapy behind him", 4),
    ("VTd, ASCT and thal maintenance; at first relapse Kd; then DPd until PD", 3),
    ("Dara-VRd -> ASCT -> len maint -> KPd -> Isa-Pd, progressing", 3),
    ("2 prior lines, sorry, 3", 3),
    ("4 previous lines... no, 3", 3),
    ("two lines - no, it's one", 1),
    ("had DRd for three years and is now progressing", 1),
    ("on Rd for 18 months; relapsing now", 1),
])
def test_prior_lines_from_the_narrative(text, lines):
    assert read(text)["prior_lines"] == lines


def test_a_relapse_dating_a_regimen_is_no_count_and_a_regimen_alone_is_asked():
    assert read("VRd/ASCT, at first relapse IRd, then KPd")["prior_lines"] == 3
    assert "prior_lines" not in read("PD on Dara-Rd")  # one regimen named alone: the count is asked
    assert "prior_lines" not in read("triple-class refractory, now progressing on KPd")


# ---- 6. autologous transplants and the remission after them -------------------------------------------------------
@pytest.mark.parametrize("text,count,months", [
    ("s/p autograft, relapsed 3 yrs later", 1, None),
    ("HDM/ASCT 2018, PD 2 years post-transplant", 1, 24),
    ("tandem autografts, relapse 20 months after the second", 2, 20),
    ("two autologous transplants; relapsed 9 mo after the second one", 2, 9),
    ("had an autograft in 2019 and relapsed 30 months after it", 1, 30),
    ("VRd, ASCT, relapse at 5 yrs", 1, 60),
    ("auto-SCT with a 2 year remission", 1, 24),
    ("no prior ASCT", 0, None),
])
def test_autologous_transplant_history(text, count, months):
    got = read(text)
    assert got["prior_auto_hct"] == count
    assert got.get("months_remission_after_hct") == months


def test_after_it_is_the_transplant_only_when_the_transplant_is_meant():
    assert "months_remission_after_hct" not in read("had Dara-Rd, relapsed 8 months after it")
    assert "months_remission_after_hct" not in read("VRd then KPd, relapsed a year after the second")


@pytest.mark.parametrize("answer,count,months", [
    ("never had one", 0, None),
    ("no, never", 0, None),
    ("yes, she relapsed 26 months after it", 1, 26),
    ("relapsed 3 years after it", 1, 36),
    ("twice (tandem)", 2, None),
    ("yes, in 2017", 1, None),
])
def test_answers_to_the_transplant_question(answer, count, months):
    slots = {"transplant_eligible": True, "prior_lines": 1, "relapse": "clinical", "refractory": [], "fitness": "fit"}
    got = read(answer, slots, requested="prior_auto_hct", intent="inform")
    assert got["prior_auto_hct"] == count
    assert got.get("months_remission_after_hct") == months


# ---- 9. days since the last lenalidomide ------------------------------------------------------------------
@pytest.mark.parametrize("text,days", [
    ("last dose of lenalidomide 4 months ago", 120),
    ("stopped Revlimid 9 months ago", 270),
    ("she has been off len for 6 weeks", 42),
    ("lenalidomide was discontinued 3 months ago", 90),
])
def test_days_since_last_lenalidomide(text, days):
    assert read(text)["days_since_last_lenalidomide"] == days


def test_days_since_lenalidomide_need_lenalidomide():
    assert "days_since_last_lenalidomide" not in read("stopped daratumumab 5 months ago, len-refractory")


# ---- 10-11. conversation answers ----------------------------------------------------------------------------
@pytest.mark.parametrize("answer", ["the standard three", "the usual trio", "the typical ones"])
def test_the_usual_triple_class_answer(answer):
    got = read(answer, {"refractory_class": "triple_class"}, requested="refractory", intent="inform")
    assert got["refractory"] == ["bortezomib", "daratumumab", "lenalidomide"]


def test_a_regimen_named_in_the_lines_answer_is_exposed_and_stays_so():
    slots = {"relapse": "clinical"}
    slots.update(read("only one line so far, Dara-VMP", slots, requested="prior_lines", intent="inform"))
    assert slots["prior_lines"] == 1
    assert set(slots["exposed"]) == {"daratumumab", "bortezomib", "melphalan"}
    slots.update(read("nil refractory", slots, requested="refractory", intent="inform"))
    assert slots["refractory"] == [] and set(slots["exposed"]) == {"daratumumab", "bortezomib", "melphalan"}


# ---- history told after a request for help; transplants and stops said in passing ----------------------------------
def test_a_history_after_a_request_for_help_is_still_a_history():
    got = read("Can you advise on a man of 70? He had MPT first, then Dara-Rd until it stopped working.")
    assert set(got["exposed"]) == {"melphalan", "thalidomide"}
    assert set(got["refractory"]) == {"daratumumab", "lenalidomide"}
    assert "exposed" not in read("what about VRd then KRd?")


@pytest.mark.parametrize("text,count", [
    ("KRd x4 plus ASCT, then len maintenance", 1),
    ("VTd with an autograft in 2016, then DRd to progression", 1),
])
def test_a_transplant_given_with_a_regimen(text, count):
    assert read(text)["prior_auto_hct"] == count


@pytest.mark.parametrize("text", ["never transplanted and none planned", "no ASCT in her future",
                                  "he is not eligible for another, given his age; one ASCT in 2015"])
def test_no_transplant_ahead(text):
    assert read(text)["transplant_eligible"] is False


def test_relapse_dated_from_a_lenalidomide_stop_said_before():
    got = read("Revlimid maintenance was stopped at 3 years. She relapsed 5 months after stopping.")
    assert got["days_since_last_lenalidomide"] == 150
    other = read("Dara was stopped for reactions. Relapsed 5 months after stopping.")
    assert "days_since_last_lenalidomide" not in other


@pytest.mark.parametrize("text,refractory", [
    ("Kd after Dara-VRd; both regimens to progression", {"carfilzomib", "daratumumab", "bortezomib", "lenalidomide"}),
    ("Isa-Pd to progression; before that KRd, refractory too", {"isatuximab", "pomalidomide", "carfilzomib",
                                                                "lenalidomide"}),
    ("Rd, then DVd. Both failed.", {"lenalidomide", "daratumumab", "bortezomib"}),
])
def test_both_regimens_refractory(text, refractory):
    assert set(read(text)["refractory"]) == refractory


def test_eligible_for_one():
    assert read("never transplanted, but she would be a candidate for one")["transplant_eligible"] is True


@pytest.mark.parametrize("text,count,months", [
    ("double (2) autologous transplants", 2, None),
    ("autograft in 2020, VRd before it", 1, None),
    ("relapse at 3 yrs after KRd/ASCT", 1, 36),
    ("he is 2 years post-autograft and progressing", 1, 24),
])
def test_more_transplant_wordings(text, count, months):
    got = read(text)
    assert got["prior_auto_hct"] == count
    assert got.get("months_remission_after_hct") == months


@pytest.mark.parametrize("text,value", [
    ("kidney injury due to light chains", "clinical"),
    ("myeloma-related renal failure", "clinical"),
])
def test_renal_failure_from_myeloma_is_clinical(text, value):
    got = read(text)
    assert got["relapse"] == value and got["renal_impairment"] is True


def test_renal_impairment_from_another_cause_is_no_relapse_sign():
    assert "relapse" not in read("CKD stage 3 from diabetes")


def test_an_arrow_to_progression_is_progression_on_the_regimen():
    got = read("Dara-VTd -> ASCT -> Kd -> PD -> Elo-Pd")
    assert set(got["refractory"]) == {"carfilzomib"}
    assert {"daratumumab", "bortezomib", "thalidomide", "elotuzumab", "pomalidomide"} <= set(got["exposed"])


def test_a_remission_after_a_transplant_is_one_transplant():
    assert read("remission of 30 months after autograft")["prior_auto_hct"] == 1
    assert "months_remission_after_hct" not in read("no prior ASCT")


# ---- a transplant planned or considered is not one done, and no eligibility from the plan alone -----------------
@pytest.mark.parametrize("text", [
    "plan: KRd then consider ASCT",
    "71M, 1 prior line, ASCT planned",
    "she is to be considered for auto",
    "referred for transplant work-up",
    "Plan: 4 cycles of DRd, autograft to follow",
    "we would like to proceed to ASCT after 4 cycles",
    "possible future ASCT once in VGPR",
])
def test_a_planned_transplant_is_not_a_prior_one(text):
    got = read(text)
    assert "prior_auto_hct" not in got
    assert "transplant_eligible" not in got
    assert not any(e["entity"] == "prior_auto_hct" for e in extract(text))


@pytest.mark.parametrize("text", ["no transplant planned", "2 prior lines, no further ASCT planned, fit"])
def test_no_transplant_planned_is_not_ineligible(text):
    got = read(text)
    assert "transplant_eligible" not in got and "prior_auto_hct" not in got


@pytest.mark.parametrize("text,count", [
    ("s/p ASCT, now relapsing", 1),
    ("autografted 2021", 1),
    ("had an ASCT, 1 prior line", 1),
    ("VRd x4 then ASCT, len maintenance, relapsed 2 yrs later", 1),
    ("VRd + ASCT in 2019, second ASCT now being considered", 1),
])
def test_a_transplant_in_the_past_still_counts(text, count):
    assert read(text)["prior_auto_hct"] == count


# ---- an ordinal relapse that dates a regimen in a history: each relapse treated starts a line --------------------
@pytest.mark.parametrize("text,lines", [
    ("VRd induction, at first relapse DRd, at second relapse KPd, now progressing", 3),
    ("VRd-ASCT-len maintenance; at 1st relapse DRd; at 2nd relapse KPd; now relapsing again", 3),
    ("Initially VRd. At first relapse: DKd. At second relapse Isa-Pd. Now progressing.", 3),
    ("VRd induction; first relapse: DRd; second relapse: KPd; now progressing", 3),
    ("Dx 2018 VRd + ASCT + len maint; at first relapse (2021) DKd; at second relapse (2023) IsaPd; now PD", 3),
    ("KRd induction then at first relapse Dara-Pd, now progressing", 2),
    ("VRd induction, at first relapse DRd, now at second relapse", 2),
])
def test_ordinal_relapses_in_a_history_count_the_lines(text, lines):
    assert read(text)["prior_lines"] == lines


@pytest.mark.parametrize("text,lines", [
    ("first relapse, 1 prior line, len refractory, fit", 1),
    ("at first relapse, refractory to len", 1),
    ("first relapse: len refractory, fit", 1),
    ("2nd relapse - refractory to len and dara", 2),
    ("now at second relapse after VRd then DKd", 2),
])
def test_an_ordinal_relapse_of_now_keeps_its_count(text, lines):
    assert read(text)["prior_lines"] == lines
