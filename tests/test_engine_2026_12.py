"""The 2026-12 revision of clinical-spec.md (knowledge edition 2026-12): one or more tests per revised rule (R1 a and b,
R2, R4 bridging, R5 same-target BCMA, R6 after maintenance, section 5 cautions, section 6 citations and notes,
section 8 labels), written from the spec's wording; hypothesis properties where the rule is general."""
import json
import re

import pytest
from conftest import caution, codes, excluded, make
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine_properties import cases

from bot.clinical.engine import recommend
from bot.clinical.kb import kb
from bot.clinical.models import parse_case
from bot.clinical.note import render_note
from bot.clinical.render import render_text, why_not

K = kb()
TRIPLE_CLASS_4L = dict(prior_lines=4, fitness="fit", refractory=["lenalidomide", "bortezomib", "daratumumab"],
                       exposed=["pomalidomide", "carfilzomib"], transplant_eligible=False)
PROPERTY = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NO_RESTRICTION = re.compile(r"no (regional )?restriction recorded", re.I)


def option(rec, code):
    return next((o for o in rec["options"] if o["regimen"] == code), None)


def tier_of(rec, code):
    o = option(rec, code)
    return o and o["tier"]


def tx(rec, code):
    return next(t for t in rec["transplant"] if t["option"] == code)


# ---- section 8: a label row for every regimen; approval lines in plain words -------------------------------------
def test_every_regimen_of_the_catalog_has_a_label_row_in_every_region():
    assert set(K.labels) == set(K.regimens)
    for code in K.regimens:
        for region in K.regions:
            line = K.approval_line(code, region)
            assert line.startswith(f"{region}: ") and not NO_RESTRICTION.search(line), (code, region)
        assert not NO_RESTRICTION.search(K.approval_line(code))


def test_pvd_is_told_as_not_approved_in_the_us_and_approved_in_the_eu():
    rec = make(fitness="fit", refractory=["lenalidomide"], exposed=["bortezomib"])
    pvd = option(rec, "PVd")
    assert pvd["approval"].startswith("US: not approved; EU: approved 2019-05")
    assert pvd["tier"] == "circumstances" and "regulatory_status" in pvd["cautions"]


@pytest.mark.parametrize("code", ["IsaPd", "EPd", "Pd"])
def test_two_prior_line_labels_at_a_first_relapse_are_off_label_here_and_only_in_certain_circumstances(code):
    # the labels of IsaPd, EPd and Pd need >= 2 prior lines including lenalidomide and a PI (section 8)
    fitness = "frail" if code == "Pd" else "fit"
    refractory = ["lenalidomide", "bortezomib"] if code == "EPd" else ["lenalidomide"]  # EPd: a candidate in S4
    rec = make(fitness=fitness, refractory=refractory, exposed=["bortezomib"] if code != "EPd" else [])
    o = option(rec, code)
    assert o["tier"] == "circumstances" and "regulatory_status" in o["cautions"]
    assert o["label"].startswith("US: off-label here (the label needs >= 2 prior lines including")
    assert "case: 1 prior line" in o["label"] and o["approval"].startswith(o["label"])
    exposed = ["bortezomib"] if code != "EPd" else []
    second = make(prior_lines=2, fitness=fitness, refractory=refractory, exposed=exposed)
    assert tier_of(second, code) != "circumstances" and "off-label" not in option(second, code)["label"]


@pytest.mark.parametrize("code", ["KPd", "VCd", "DKPd"])
def test_combinations_off_label_everywhere_say_so_in_both_regions(code):
    line = K.approval_line(code)
    assert line == ("US: off-label (no approval for this combination at relapse); "
                    "EU: off-label (no approval for this combination at relapse)")


def test_eu_dpd_label_holds_at_one_line_when_lenalidomide_refractory_or_from_two_lines():
    one = make(region="EU", fitness="fit", refractory=["lenalidomide"], exposed=["bortezomib"])
    assert tier_of(one, "DPd") == "preferred" and "off-label" not in option(one, "DPd")["label"]
    assert "or >= 2 prior lines" in option(one, "DPd")["label"]


@PROPERTY
@given(cases())
def test_no_text_for_any_case_in_any_region_says_no_regional_restriction(case):
    rec = recommend(case)
    texts = [json.dumps(rec), render_text(rec, show_excluded=True), render_note(rec)]
    texts += [why_not(rec, code) for code in K.regimens]
    assert not any(NO_RESTRICTION.search(t) for t in texts)


@PROPERTY
@given(cases())
def test_an_off_label_option_is_never_above_certain_circumstances(case):
    """Off-label: not approved, withdrawn or off-label in the case's region, or a label the case does not meet.
    The one exception the spec writes itself: R8 lifts VDT-PACE and DCEP to `recommended` as bridging or
    debulking in aggressive triple-class or penta-refractory disease (R4 2026-12: "where R8 lifts them")."""
    rec = recommend(case)
    for o in rec["options"]:
        rl = K.labels[o["regimen"]].regions[case.region]
        off_label = not rl.approved or o["label"].startswith(f"{case.region}: off-label here")
        lifted = any(n.startswith("aggressive relapse: lifted") for n in o["notes"])
        if off_label and not lifted:
            assert o["tier"] == "circumstances", (o["regimen"], o["label"])
        if off_label:
            assert "regulatory_status" in o["cautions"], o["regimen"]
        else:  # section 5 (2026-12): not for mere differences between regions
            assert "regulatory_status" not in o["cautions"], o["regimen"]


# ---- R2: progression on lenalidomide maintenance IS refractory ---------------------------------------------------
def test_maintenance_progression_keeps_lenalidomide_in_the_history_for_labels_needing_an_imid():
    # entered as refractory with the maintenance flag: cilta-cel and Tec-D stay (no "no IMiD recorded")
    rec = make(fitness="fit", refractory=["lenalidomide"], exposed=["bortezomib"], lenalidomide_maintenance_only=True)
    assert {"cilta-cel", "Tec-D"} <= set(codes(rec))
    assert rec["assessment"]["lenalidomide_status"] == "refractory"
    assert rec["assessment"]["lenalidomide_maintenance_progression"] is True
    assert caution(rec, "len_maintenance")


def test_maintenance_progression_entered_under_exposed_never_puts_drd_in_the_top_tier():
    rec = make(fitness="fit", exposed=["lenalidomide", "bortezomib"], lenalidomide_maintenance_only=True)
    assert tier_of(rec, "DRd") == "circumstances" and tier_of(rec, "KRd") == "circumstances"
    assert rec["assessment"]["setting"] == "S2"


@PROPERTY
@given(cases(), st.booleans())
def test_a_maintenance_progression_gives_the_same_answer_whichever_list_lenalidomide_is_in(case, as_refractory):
    base = json.loads(case.json(exclude_none=True))
    base["lenalidomide_maintenance_only"] = True
    refractory = [d for d in base.get("refractory", []) if d != "lenalidomide"]
    exposed = [d for d in base.get("exposed", []) if d != "lenalidomide"]
    one = parse_case({**base, "refractory": refractory + ["lenalidomide"], "exposed": exposed})
    other = parse_case({**base, "refractory": refractory, "exposed": exposed + ["lenalidomide"]})
    a, b = recommend(one), recommend(other)
    a.pop("read_as"), b.pop("read_as")  # restates what was entered; everything else is the same answer
    assert a == b
    assert a["assessment"]["lenalidomide_status"] == "refractory"
    for o in a["options"]:
        if o["regimen"] in K.maintenance_regimens:
            assert o["tier"] == "circumstances" and "len_maintenance" in o["cautions"], o["regimen"]


# ---- R1: what biochemical relapse means; early relapse is aggressive; refer for CAR-T now --------------------------
def test_biochemical_relapse_says_what_a_significant_rise_is_and_still_starts():
    init = make(relapse="biochemical", fitness="fit")["initiation"]
    assert init["action"] == "start"
    for words in ("doubles", "5 g/L", "10 g/L", "500 mg/24 h", "200 mg/L", "abnormal ratio", "every 1-2 months"):
        assert words in init["text"], words


def test_a_relapse_14_months_after_transplant_is_aggressive_and_refers_for_car_t_now():
    case = dict(fitness="fit", refractory=["lenalidomide"], exposed=["bortezomib"], transplant_eligible=True,
                prior_auto_hct=1, months_remission_after_hct=14)
    rec = make(**case)
    assert rec["assessment"]["aggressive"] and rec["initiation"]["action"] == "start_immediately"
    assert any("early relapse, 14 months" in f for f in rec["assessment"]["aggressive_features"])
    assert "cilta-cel" in codes(rec) and "Refer for CAR-T now" in rec["initiation"]["text"]
    later = make(**{**case, "months_remission_after_hct": 20})
    assert not later["assessment"]["aggressive"] and "Refer for CAR-T" not in later["initiation"]["text"]


def test_an_aggressive_relapse_without_car_t_among_the_options_is_not_told_to_refer():
    rec = make(fitness="fit", exposed=["lenalidomide", "bortezomib"], extramedullary=True)
    assert rec["assessment"]["aggressive"] and not {"cilta-cel", "ide-cel"} & set(codes(rec))
    assert "CAR-T" not in rec["initiation"]["text"]


@PROPERTY
@given(cases())
def test_an_early_relapse_is_always_aggressive(case):
    rec = recommend(case)
    months = case.months_remission_after_hct
    if case.relapse != "none" and months is not None and months < 18 and case.prior_auto_hct != 0:
        assert rec["assessment"]["aggressive"] and rec["initiation"]["action"] == "start_immediately"
        car_t = any(K.drugs[d].modality == "CAR-T" for o in rec["options"] for d in o["components"])
        assert ("Refer for CAR-T now" in rec["initiation"]["text"]) == car_t


# ---- R4: bridging or debulking whenever aggressive ---------------------------------------------------------------
@pytest.mark.parametrize("fitness", ["fit", "intermediate"])
def test_aggressive_disease_at_first_relapse_gets_bridging_chemotherapy_in_certain_circumstances(fitness):
    rec = make(fitness=fitness, refractory=["lenalidomide"], exposed=["bortezomib"], ldh_elevated=True)
    for code in ("VDT-PACE", "DCEP"):
        o = option(rec, code)
        assert o["tier"] == "circumstances" and any("bridging or debulking" in r for r in o["rationale"]), code
    assert not any("radiotherapy" in r for r in option(rec, "DCEP")["rationale"])
    emd = make(fitness=fitness, refractory=["lenalidomide"], exposed=["bortezomib"], extramedullary=True)
    assert any("radiotherapy for symptomatic plasmacytomas" in r for r in option(emd, "DCEP")["rationale"])


def test_no_bridging_chemotherapy_without_aggressive_disease_or_for_frail_patients():
    calm = make(fitness="fit", refractory=["lenalidomide"], exposed=["bortezomib"])
    frail = make(fitness="frail", refractory=["lenalidomide"], exposed=["bortezomib"], ldh_elevated=True)
    for rec in (calm, frail):
        assert not {"VDT-PACE", "DCEP"} & set(codes(rec))


def test_triple_class_refractory_aggressive_disease_still_lifts_bridging_to_recommended():
    rec = make(**TRIPLE_CLASS_4L, ldh_elevated=True)
    assert tier_of(rec, "VDT-PACE") == "recommended" and tier_of(rec, "DCEP") == "recommended"


# ---- R5: same-target BCMA therapy after refractoriness ------------------------------------------------------------
def test_after_refractoriness_to_a_bcma_bispecific_the_others_and_tec_d_only_in_certain_circumstances():
    rec = make(**{**TRIPLE_CLASS_4L, "refractory": TRIPLE_CLASS_4L["refractory"] + ["teclistamab"]})
    for code in ("elranatamab", "linvoseltamab"):
        o = option(rec, code)
        assert o["tier"] == "circumstances", code
        assert any("MagnetisMM-3" in n and "LINKER-MM1" in n for n in o["notes"]), code
    assert tier_of(rec, "cilta-cel") == "recommended"  # another modality: one tier lower only (R5)
    assert tier_of(rec, "talquetamab") == "preferred"
    assert any("prior T-cell redirection" in n for n in option(rec, "talquetamab")["notes"])


def test_after_exposure_without_refractoriness_bispecifics_are_one_tier_lower_only():
    rec = make(**{**TRIPLE_CLASS_4L, "exposed": TRIPLE_CLASS_4L["exposed"] + ["teclistamab"]})
    assert tier_of(rec, "elranatamab") == "recommended"
    assert any("excluded or barely included" in n for n in option(rec, "elranatamab")["notes"])


def test_after_a_bcma_car_t_failed_the_other_bcma_car_t_only_in_certain_circumstances():
    rec = make(**{**TRIPLE_CLASS_4L, "refractory": TRIPLE_CLASS_4L["refractory"] + ["cilta-cel"]})
    ide = option(rec, "ide-cel")
    assert ide["tier"] == "circumstances" and any("KarMMa-3 and CARTITUDE-4" in n for n in ide["notes"])
    assert tier_of(rec, "teclistamab") == "recommended"


@PROPERTY
@given(cases())
def test_no_same_target_bcma_option_above_certain_circumstances_after_refractoriness_to_that_modality(case):
    rec = recommend(case)
    failed = {K.drugs[d].modality for d in rec_refractory(case) if K.drugs[d].drug_class == "BCMA"}
    for o in rec["options"]:
        mods = {K.drugs[d].modality for d in o["components"] if K.drugs[d].drug_class == "BCMA"}
        if mods & failed & {"CAR-T", "bispecific"}:
            assert o["tier"] == "circumstances", (o["regimen"], sorted(failed))


def rec_refractory(case):
    return set(case.refractory)


# ---- R6: second transplant after lenalidomide maintenance --------------------------------------------------------
def test_second_transplant_after_maintenance_needs_36_months():
    case = dict(fitness="fit", exposed=["bortezomib"], lenalidomide_maintenance_only=True, transplant_eligible=True,
                prior_auto_hct=1, months_remission_after_hct=20)
    short = tx(make(**case), "auto-HCT-2")
    assert not short["recommended"] and "Myeloma X" in short["text"] and "maintenance" in short["text"]
    assert tx(make(**{**case, "months_remission_after_hct": 36}), "auto-HCT-2")["recommended"]
    no_maintenance = {**case, "lenalidomide_maintenance_only": False, "refractory": ["lenalidomide"]}
    assert tx(make(**no_maintenance), "auto-HCT-2")["recommended"]  # 20 >= 18 without maintenance


# ---- section 5: renal impairment and hypogammaglobulinemia ---------------------------------------------------------
def test_renal_impairment_is_acted_on_named_on_len_pom_and_carfilzomib_options_with_no_tier_change():
    case = dict(prior_lines=2, fitness="fit", refractory=["lenalidomide"], exposed=["bortezomib"])
    plain, renal = make(**case), make(**case, renal_impairment=True)
    assert caution(plain, "renal_impairment") is None
    c = caution(renal, "renal_impairment")
    assert c["severity"] == "moderate" and "creatinine clearance" in c["text"] and "dialysis" in c["text"]
    ranked = [(o["regimen"], o["tier"]) for o in renal["options"]]
    assert ranked == [(o["regimen"], o["tier"]) for o in plain["options"]]
    for o in renal["options"]:
        named = bool({"lenalidomide", "pomalidomide", "carfilzomib"} & set(o["components"]))
        assert ("renal_impairment" in o["cautions"]) == named, o["regimen"]


def test_hypogammaglobulinemia_gives_immunoglobulin_below_4_g_per_l_with_or_without_infections():
    text = caution(make(**TRIPLE_CLASS_4L), "hypogammaglobulinemia")["text"]
    for words in ("below 4 g/L", "with or without infections", "PJP", "HSV/VZV", "hepatitis B", "monthly"):
        assert words in text, words


# ---- section 6: the trial of the setting; notes never state a position ----------------------------------------------
@pytest.mark.parametrize("lines,ide_cel,cilta_cel", [(2, "KarMMa-3", "CARTITUDE-4"), (3, "KarMMa-3", "CARTITUDE-4"),
                                                     (4, "KarMMa-3", "CARTITUDE-1"), (5, "KarMMa", "CARTITUDE-1")])
def test_car_t_cites_the_trial_of_the_case_s_setting(lines, ide_cel, cilta_cel):
    rec = make(**{**TRIPLE_CLASS_4L, "prior_lines": lines})
    assert option(rec, "ide-cel")["trials"] == [ide_cel] and option(rec, "cilta-cel")["trials"] == [cilta_cel]
    assert {t["id"] for t in rec["trials"]} >= {ide_cel, cilta_cel}


def test_after_bcma_exposure_tec_d_and_car_t_notes_say_their_trials_excluded_prior_bcma_therapy():
    rec = make(fitness="fit", prior_lines=2, refractory=["lenalidomide"], exposed=["bortezomib", "belantamab"])
    assert any("MajesTEC-3 excluded patients with prior BCMA-directed therapy" in n
               for n in option(rec, "Tec-D")["notes"])
    assert any("CARTITUDE-4 excluded" in n for n in option(rec, "cilta-cel")["notes"])
    naive = make(fitness="fit", prior_lines=2, refractory=["lenalidomide"], exposed=["bortezomib"])
    assert not any("excluded" in n for n in option(naive, "Tec-D")["notes"])


def test_no_note_of_the_knowledge_base_states_an_option_s_position_in_the_list():
    position = re.compile(r"\b(first|last|top|second|third)\b[^.;]*\b(of the|in the list|preferred)\b", re.I)
    for s in K.settings:
        for c in s.candidates:
            assert not position.search(c.note), (s.id, c.regimen, c.note)


def test_the_excluded_teclistamab_still_gives_its_label_when_asked_why_not():
    rec = make(fitness="fit", exposed=["lenalidomide", "bortezomib"])
    assert excluded(rec, "teclistamab")["reasons"][0].startswith("US label: >= 4 prior lines")
