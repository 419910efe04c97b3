"""Told treatment histories (clinical-spec section 9): which drugs a narrative makes refractory (progression on
them or within 60 days) and which only exposed, and the relapse now. Sentences written for these tests; none is
evaluation text."""
import pytest

from tools import evaluate as E


def case(text):
    return E.case_fields(text)


# ---- progression after a plan with maintenance reaches the maintenance, not the induction -------------------------
@pytest.mark.parametrize("text, induction", [
    ("59M, KRd/autograft/R maint (progressed on R 2024), then Isa-Pd", "carfilzomib"),
    ("induction VCd-auto-lenalidomide maintenance -> PD on maintenance in 2023", "bortezomib"),
    ("VTd + ASCT + len maint (PD on maint); fit", "bortezomib"),
])
def test_progression_after_a_maintenance_plan_leaves_the_induction_exposed(text, induction):
    got = case(text)
    assert "lenalidomide" in got["refractory"]
    assert induction in got["exposed"] and induction not in got["refractory"]


def test_progression_after_a_regimen_without_a_plan_still_reaches_all_its_drugs():
    got = case("1 prior line: KRd (PD on it), new bone pain")
    assert set(got["refractory"]) == {"carfilzomib", "lenalidomide"}


# ---- "never refractory", "refractory drugs: none" --------------------------------------------------------------
@pytest.mark.parametrize("text", [
    "one prior line, Rd continuing, deep response, never been refractory, fit",
    "Lines: 1\nRefractory agents: none\nFitness: fit",
])
def test_a_statement_that_nothing_is_refractory_gives_an_empty_list(text):
    assert case(text)["refractory"] == []


def test_never_refractory_to_a_named_drug_is_no_statement_about_the_others():
    got = case("refractory to dara, never refractory to len")
    assert got["refractory"] == ["daratumumab"]


# ---- a step of a sequence ends a status; "X, progressing now" ------------------------------------------------------
def test_progression_before_an_arrow_says_nothing_of_the_next_regimen():
    got = case("2020 DRd -> 2023 PD on DRd -> KPd, continuing, MRD negative, no relapse")
    assert set(got["refractory"]) == {"daratumumab", "lenalidomide"}
    assert "carfilzomib" not in got["refractory"]


@pytest.mark.parametrize("text, refractory", [
    ("VCd, then Elo-Pd, progressing now with new rib lesions", {"elotuzumab", "pomalidomide"}),
    ("VCd, then Elo-Pd, progressing off therapy since 2024", set()),
])
def test_a_regimen_followed_by_progressing_now_is_the_one_progressed_on(text, refractory):
    assert set(case(text).get("refractory") or []) == refractory


# ---- a regimen still given: refractory with a relapse now, exposed without one -----------------------------------
@pytest.mark.parametrize("text, role", [
    ("two prior lines, VMP then Isa-Pd ongoing since 2023, in VGPR, no sign of relapse", "exposed"),
    ("Isa-Pd ongoing since 2023, M-spike now climbing 0.5 to 1.6", "refractory"),
    ("was in remission for 3 years after VRd; relapsed 2024, started Isa-Pd, which she is still taking, "
     "and the paraprotein is rising again", "refractory"),
])
def test_a_regimen_still_given_is_refractory_only_with_a_relapse_now(text, role):
    got = case(text)
    assert "pomalidomide" in (got.get(role) or []) and "isatuximab" in (got.get(role) or [])


# ---- the relapse now ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, relapse", [
    ("2 lines, progressing on Kd, M-spike only", "biochemical"),
    ("KPd to progression, FLC-only progression this time", "biochemical"),
    ("kappa light chain only myeloma, 2 prior lines", None),
    ("1 line, PD on DRd, haemoglobin fell from 121 to 84 g/L with marrow infiltration", "clinical"),
    ("1 line, PD on DRd, Hgb 12.6 -> 11.8, calcium normal", None),
    ("2021 PD on len (paraprotein only) -> Isa-Kd; 11/2026 PD on Isa-Kd with new extramedullary lesion in the liver",
     "clinical"),
])
def test_the_relapse_type_is_the_one_of_now(text, relapse):
    assert case(text).get("relapse") == relapse


# ---- progression after a regimen ended is no progression on it ------------------------------------------------------
@pytest.mark.parametrize("text, refractory, exposed", [
    ("CyBorD x6 -> PD 2021 off tx -> Isa-Kd -> PD on Isa-Kd 2025", {"carfilzomib", "isatuximab"}, {"bortezomib"}),
    ("thal maint (stopped for neuropathy) -> PD 2020; Rd to PD", {"lenalidomide"}, {"thalidomide"}),
    ("CyBorD -> PD 2021 -> Isa-Kd", {"bortezomib", "cyclophosphamide"}, set()),
])
def test_progression_off_therapy_leaves_the_regimen_exposed(text, refractory, exposed):
    got = case(text)
    assert set(got.get("refractory") or []) >= refractory
    assert exposed <= set(got.get("exposed") or []) and not exposed & set(got.get("refractory") or [])


# ---- a drug given as an item of a numbered history ----------------------------------------------------------------
@pytest.mark.parametrize("text", [
    "Lines: 1) KRd + ASCT; 2) Isa-Pd (PD on it); 3) ide-cel in 2023 with a VGPR for 20 months",
    "(1) VRd, (2) DPd, progressed on it, (3) ide-cel, relapse at 11 months",
])
def test_a_numbered_item_of_a_history_was_given(text):
    assert "ide-cel" in case(text)["exposed"]


def test_a_numbered_question_is_no_history():
    assert not case("Options: 1) ide-cel? 2) teclistamab?").get("exposed")


# ---- progression on lenalidomide opening the clause after its maintenance -------------------------------------------
@pytest.mark.parametrize("text, flag", [
    ("KRd x4 -> auto 2021 -> lenalidomide maintenance; progression on lenalidomide 2024", True),
    ("2020 VRd -> ASCT -> R maint\n03/2025 PD on R -> KPd", True),
    ("VRd -> ASCT -> len maint; stopped 2023 for rash; PD on len rechallenge 2025", None),
    ("VRd -> ASCT -> len maint; DRd 2023; PD on len 2025", None),
])
def test_progression_on_len_in_the_clause_after_its_maintenance(text, flag):
    assert case(text).get("lenalidomide_maintenance_only") == flag


# ---- a time said between a regimen and the progression on it ------------------------------------------------------
@pytest.mark.parametrize("text", [
    "VMP in 2016, then pomalidomide-dexamethasone from 2022, on which she has now progressed",
    "VMP, then Pd at second relapse, which she progressed on last month",
    "VMP, then pomalidomide and dexamethasone since 2022 until progression this autumn",
])
def test_a_time_between_the_regimen_and_its_progression_keeps_the_link(text):
    got = case(text)
    assert "pomalidomide" in got["refractory"] and "melphalan" in got["exposed"]


# ---- regimens written as abbreviations, or joined to their transplant -----------------------------------------------
@pytest.mark.parametrize("text, exposed", [
    ("CTDa in 2016, then Rd to progression", {"cyclophosphamide", "thalidomide"}),
    ("MPB x9 in 2015, then Rd to progression", {"melphalan", "bortezomib"}),
    ("VCd-autograft 2018 (remission 4 years), then DRd to progression", {"bortezomib", "cyclophosphamide"}),
])
def test_a_prior_regimen_abbreviation_or_one_joined_to_its_transplant_was_given(text, exposed):
    got = case(text)
    assert exposed <= set(got["exposed"]) and "lenalidomide" in got["refractory"]


def test_ctd_in_capitals_alone_is_not_read_as_the_regimen():
    assert not case("history of CTD (scleroderma), 2 prior lines").get("exposed")


# ---- a regimen glossed by its drugs in brackets -------------------------------------------------------------------
@pytest.mark.parametrize("text, refractory, exposed", [
    ("2) KCd (carfilzomib, cyclophosphamide, dex) - progression on treatment 2022",
     {"carfilzomib", "cyclophosphamide"}, set()),
    ("she received MPB (melphalan, prednisolone, bortezomib) for 9 cycles, then Rd to progression",
     {"lenalidomide"}, {"melphalan", "bortezomib"}),
])
def test_a_regimen_and_its_drugs_in_brackets_share_one_status(text, refractory, exposed):
    got = case(text)
    assert set(got.get("refractory") or []) == refractory and exposed <= set(got.get("exposed") or [])


def test_brackets_that_say_more_than_the_drugs_keep_their_own_reading():
    got = case("VRd/ASCT/len maint (PD on len), then DKd")
    assert "bortezomib" not in got["refractory"]


# ---- the partner of lenalidomide in a maintenance progressed on ----------------------------------------------------
@pytest.mark.parametrize("text, refractory", [
    ("D-VRd, ASCT, then isatuximab-lenalidomide maintenance; progressed on maintenance 2025",
     {"isatuximab", "lenalidomide"}),
    ("D-VRd, ASCT, then isatuximab-lenalidomide maintenance stopped 2023 for infections; relapse 2025", set()),
])
def test_a_drug_given_with_lenalidomide_maintenance_shares_its_progression(text, refractory):
    assert set(case(text).get("refractory") or []) == refractory


def test_an_exception_to_refractory_to_everything_was_given_only():
    got = case("VMP, then Rd, then DPd. Refractory to everything above except melphalan.")
    assert "melphalan" in got["exposed"] and "melphalan" not in got["refractory"]
    assert {"lenalidomide", "daratumumab", "pomalidomide", "bortezomib"} <= set(got["refractory"])


# ---- an answer to the relapse question ---------------------------------------------------------------------------
@pytest.mark.parametrize("reply, relapse", [
    ("no", "none"),
    ("none, still in remission", "none"),
    ("had an autograft in 2019 with a remission of 4 years, no maintenance afterwards", None),
])
def test_no_relapse_is_read_from_an_answer_not_from_a_told_history(reply, relapse):
    conv = E.Conversation(E.describe_case_parser)
    conv.turn("new patient, 61F")
    conv.requested = "relapse"
    conv.turn(reply)
    assert conv.slots.get("relapse") == relapse


@pytest.mark.parametrize("text, relapse", [
    ("4 prior lines, now kappa light chains rising and a new extramedullary mass in the pleura", "clinical"),
    ("4 prior lines, now kappa light chains rising, no extramedullary disease on PET", "biochemical"),
])
def test_extramedullary_disease_with_a_rising_paraprotein_is_a_clinical_relapse(text, relapse):
    assert case(text)["relapse"] == relapse


@pytest.mark.parametrize("text, relapse, emd", [
    ("3 lines, PET now shows new PET-avid lesions in the sacrum", "clinical", None),
    ("3 lines, new T12 vertebral collapse on MRI", "clinical", None),
    ("3 lines, new FDG-avid extramedullary lesions in the spleen", "clinical", True),
])
def test_new_bone_lesions_in_other_words_are_a_clinical_relapse(text, relapse, emd):
    got = case(text)
    assert got["relapse"] == relapse and got.get("extramedullary") == emd


@pytest.mark.parametrize("text, relapse", [
    ("1 line, off therapy. SPEP: M-spike 0.1 (2023) -> 0.6 (03/2026) -> 1.5 g/dL (10/2026). Hb, Ca normal",
     "biochemical"),
    ("1 line, off therapy. paraprotein went from 30 to 12 to 4 g/L", None),
])
def test_a_paraprotein_told_as_a_series_is_read_first_to_last(text, relapse):
    assert case(text).get("relapse") == relapse


# ---- a paraprotein row of a lab table ----------------------------------------------------------------------------
@pytest.mark.parametrize("table, relapse", [
    ("Test        Now      Prev\nIgG         24.1 H   9.8    g/L\nHb          12.9     13.0   g/dL", "biochemical"),
    ("            Baseline   Now\nM-spike     0.2        1.4     g/dL", "biochemical"),
    ("             Mar     Jun     Sep\nParaprotein  22      14      6      g/L", None),
    ("SPEP     11/02/26   08/03/26\nM-spike  0.4        1.6      g/dL", None),  # which column is later?
    ("            01/2025   06/2025\nkappa FLC   40        95       mg/L", "biochemical"),
])
def test_a_rise_across_the_time_columns_of_a_lab_table_is_a_biochemical_sign(table, relapse):
    assert case("68F, 2 prior lines, fit.\n" + table).get("relapse") == relapse


def test_a_rise_in_a_table_makes_the_regimen_still_given_refractory():
    got = case("71M, 1 prior line, on Isa-Pd since 2024, still on it.\n         Today   3 mo ago\n"
               "M-spike  1.9     0.6     g/dL")
    assert {"isatuximab", "pomalidomide"} <= set(got["refractory"])


# ---- a status after a list written without commas (dictated) -------------------------------------------------------
@pytest.mark.parametrize("text, refractory, exposed", [
    ("refractory to pomalidomide daratumumab and lenalidomide carfilzomib exposed only",
     {"pomalidomide", "daratumumab", "lenalidomide"}, {"carfilzomib"}),
    ("refractory to len, dara and btz exposed", {"lenalidomide"}, {"daratumumab", "bortezomib"}),
])
def test_a_status_after_a_list_reaches_the_names_joined_to_it_only(text, refractory, exposed):
    got = case(text)
    assert set(got["refractory"]) == refractory and set(got["exposed"]) == exposed


@pytest.mark.parametrize("text, exposed", [
    ("Last regimen: Isa-Pd (progressed on it)\nBefore that: KRd, relapsed 14 months after stopping", True),
    ("Last regimen: Isa-Pd (progressed on it)\nBefore that: KRd, relapsed 3 weeks after stopping", False),
])
def test_a_relapse_long_after_a_regimen_stopped_leaves_it_exposed(text, exposed):
    got = case(text)
    assert ("carfilzomib" in (got.get("exposed") or [])) == exposed
    assert "carfilzomib" not in (got.get("refractory") or []) or not exposed


# ---- lenalidomide maintenance named with no progression on it --------------------------------------------------------
@pytest.mark.parametrize("text, flag", [
    ("1 prior line: KRd, ASCT 2022, len maintenance ongoing, MRD negative, no relapse", None),
    ("1 prior line: KRd, ASCT 2022, lenalidomide maintenance. ?progression - PET results awaited", None),
    ("1 prior line: KRd, ASCT 2022, len maintenance; relapsed on maintenance 2025, restaging pending", True),
    ("1 prior line: KRd, ASCT 2022, lenalidomide maintenance, now new lytic lesions", True),
])
def test_maintenance_without_progression_on_it_gives_no_flag(text, flag):
    got = case(text)
    assert got.get("lenalidomide_maintenance_only") == flag
    assert ("lenalidomide" in (got.get("refractory") or [])) == bool(flag)


@pytest.mark.parametrize("text, role", [
    ("2 lines, KRd since 2024; PET next week to see whether she is progressing on KRd", "exposed"),
    ("2 lines, KRd since 2024; she is clearly progressing on KRd with new lesions", "refractory"),
])
def test_a_progression_asked_about_is_no_progression_on_the_regimen(text, role):
    assert "carfilzomib" in (case(text).get(role) or [])
