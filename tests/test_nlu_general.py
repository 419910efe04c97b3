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
