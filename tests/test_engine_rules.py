"""One or more tests per rule R1-R8 and setting S1-S6 of clinical-spec.md, and the seed's explicit statements."""
import re

import pytest
from conftest import caution, codes, excluded, make


# ---- R1 indication to treat --------------------------------------------------------------
def test_r1_no_relapse_means_monitor_and_no_options():
    rec = make(relapse="none", fitness="fit", refractory=["lenalidomide"])
    assert rec["initiation"]["action"] == "monitor"
    assert "2-3 months" in rec["initiation"]["text"]
    assert rec["options"] == []
    assert all("monitor" in e["reasons"][0] for e in rec["excluded"])


def test_r1_biochemical_relapse_starts_therapy():
    assert make(relapse="biochemical", fitness="fit")["initiation"]["action"] == "start"


def test_r1_clinical_relapse_with_aggressive_feature_starts_immediately():
    for feature in ({"ldh_elevated": True}, {"high_proliferation": True}, {"m_protein_rising": True},
                    {"extramedullary": True}, {"high_risk_cytogenetics": ["del17p"]}):
        rec = make(relapse="clinical", fitness="fit", **feature)
        assert rec["initiation"]["action"] == "start_immediately", feature
        assert rec["assessment"]["aggressive"] is True


def test_r1_clinical_relapse_without_aggressive_feature_starts():
    rec = make(relapse="clinical", fitness="fit")
    assert rec["initiation"]["action"] == "start" and rec["assessment"]["aggressive"] is False


def test_r1_aggressive_features_in_biochemical_relapse_are_noted_not_escalated():
    rec = make(relapse="biochemical", fitness="fit", ldh_elevated=True)
    assert rec["initiation"]["action"] == "start" and not rec["assessment"]["aggressive"]
    assert any("not clinical" in n for n in rec["assessment"]["notes"])


# ---- R2 lenalidomide status ---------------------------------------------------------------
@pytest.mark.parametrize(
    "fields,status",
    [
        ({}, "naive"),
        ({"exposed": ["lenalidomide"]}, "sensitive"),
        ({"refractory": ["lenalidomide"]}, "refractory"),
        ({"exposed": ["lenalidomide"], "days_since_last_lenalidomide": 0}, "refractory"),
        ({"exposed": ["lenalidomide"], "days_since_last_lenalidomide": 60}, "refractory"),
        ({"exposed": ["lenalidomide"], "days_since_last_lenalidomide": 61}, "sensitive"),
        # R2 revised 2026-12: progression on lenalidomide maintenance IS refractory, whichever list names it
        ({"refractory": ["lenalidomide"], "lenalidomide_maintenance_only": True}, "refractory"),
        ({"exposed": ["lenalidomide"], "lenalidomide_maintenance_only": True}, "refractory"),
        (
            {"exposed": ["lenalidomide"], "days_since_last_lenalidomide": 10, "lenalidomide_maintenance_only": True},
            "refractory",
        ),
    ],
)
def test_r2_lenalidomide_status_by_60_day_rule_and_maintenance_exception(fields, status):
    assert make(fitness="fit", **fields)["assessment"]["lenalidomide_status"] == status


def test_r2_maintenance_progression_is_refractory_s2_with_drd_and_krd_only_in_certain_circumstances():
    # R2 revised 2026-12 (replaces the 2026-11 test "maintenance only is sensitive, S1 and S2"): the case is
    # lenalidomide-refractory (S2); DRd and KRd, S1's preferred, stay only in `circumstances` with the note; no other
    # S1 candidate (IRd, ERd) is added.
    rec = make(
        fitness="fit", exposed=["lenalidomide", "bortezomib"], lenalidomide_maintenance_only=True,
        days_since_last_lenalidomide=0,
    )
    a = rec["assessment"]
    assert a["setting"] == "S2" and a["settings"] == ["S2"]
    assert a["lenalidomide_status"] == "refractory" and a["lenalidomide_maintenance_progression"] is True
    assert not {"IRd", "ERd"} & set(codes(rec))
    for code in ("DRd", "KRd"):
        o = next(o for o in rec["options"] if o["regimen"] == code)
        assert o["tier"] == "circumstances" and "len_maintenance" in o["cautions"], code
        assert any("may still work in selected patients" in r for r in o["rationale"]), code
    has_len = [("lenalidomide" in o["components"]) for o in rec["options"] if o["tier"] == "circumstances"]
    assert has_len == sorted(has_len)  # the lenalidomide-free options of the tier first
    c = caution(rec, "len_maintenance")
    assert c and "maintenance" in c["because"][0] and "counted it as lenalidomide-sensitive" in c["text"]


def test_r2_progression_within_60_days_gives_lenalidomide_refractory_setting():
    rec = make(fitness="fit", exposed=["lenalidomide"], days_since_last_lenalidomide=30)
    assert rec["assessment"]["setting"] == "S2"
    assert "DRd" not in codes(rec)
    assert any("lenalidomide" in r for r in excluded(rec, "DRd")["reasons"])


# ---- R3 fitness ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "rmci,band", [(0, "fit"), (3, "fit"), (4, "intermediate"), (6, "intermediate"), (7, "frail"), (9, "frail")]
)
def test_r3_fitness_from_rmci(rmci, band):
    assert make(rmci=rmci)["assessment"]["fitness"] == band


def test_r3_stated_fitness_wins_over_rmci():
    rec = make(fitness="fit", rmci=8)
    assert rec["assessment"]["fitness"] == "fit" and "wins" in rec["assessment"]["fitness_basis"]


def test_r3_frail_gets_only_monotherapy_or_doublets_with_frailty_caution():
    rec = make(fitness="frail", exposed=["lenalidomide", "bortezomib"])
    assert rec["options"], "a frail patient still gets options"
    from bot.clinical.kb import kb

    # a clinical trial is a candidate at every relapse (R4, 2026 edition)
    assert all(kb().regimens[c].intensity in ("doublet", "monotherapy", "trial") for c in codes(rec))
    assert "Rd" in codes(rec)
    assert any("frail" in r for r in excluded(rec, "DRd")["reasons"])
    assert caution(rec, "frailty")["severity"] == "high"


def test_r3_intermediate_gets_triplets_but_no_quadruplet():
    rec = make(prior_lines=2, fitness="intermediate", refractory=["lenalidomide", "bortezomib"], ldh_elevated=True)
    assert "DPd" in codes(rec) and "DKPd" not in codes(rec)
    assert any("quadruplets only for fit" in r for r in excluded(rec, "DKPd")["reasons"])


def test_r3_unknown_fitness_is_said_not_guessed():
    rec = make()
    assert rec["assessment"]["fitness"] == "unknown"
    assert any("Fitness not given" in n for n in rec["assessment"]["notes"])


# ---- R4 / S1-S6 ---------------------------------------------------------------------------
def test_s1_lenalidomide_sensitive_prefers_drd_and_krd():
    rec = make(fitness="fit", exposed=["lenalidomide", "bortezomib"])
    assert rec["assessment"]["setting"] == "S1"
    assert codes(rec)[:2] == ["DRd", "KRd"]
    assert [o["preferred"] for o in rec["options"][:2]] == [True, True]
    assert {"IRd", "ERd", "DKd", "DVd"} <= set(codes(rec))
    assert rec["options"][0]["trials"] == ["POLLUX"] and rec["options"][1]["trials"] == ["ASPIRE"]


def test_s2_lenalidomide_refractory_gets_dvd_dpd_pvd_isapd_and_dkd():
    rec = make(fitness="fit", refractory=["lenalidomide"], exposed=["bortezomib"])
    assert rec["assessment"]["setting"] == "S2"
    assert {"DVd", "DPd", "PVd", "IsaPd", "DKd"} <= set(codes(rec))
    assert not {"DRd", "KRd", "IRd", "ERd"} & set(codes(rec))


def test_s3_lenalidomide_and_daratumumab_refractory_gets_kpd_pvd_vcd_svd():
    rec = make(prior_lines=2, fitness="fit", refractory=["lenalidomide", "daratumumab"], exposed=["bortezomib"])
    assert rec["assessment"]["setting"] == "S3"
    assert {"KPd", "PVd", "VCd", "SVd"} <= set(codes(rec))
    assert not any(c in codes(rec) for c in ("DRd", "DVd", "DPd", "DKd", "IsaPd", "D"))


def test_s4_lenalidomide_and_bortezomib_refractory_gets_dpd_dkd_epd():
    rec = make(prior_lines=2, fitness="fit", refractory=["lenalidomide", "bortezomib"])
    assert rec["assessment"]["setting"] == "S4"
    assert {"DPd", "DKd", "EPd"} <= set(codes(rec))
    assert "DKPd" not in codes(rec)  # not aggressive


def test_s4_fit_aggressive_progressing_on_vrd_gets_dkpd_in_its_tier():
    # 2026 edition (R8, 7.3): aggressive disease keeps quadruplets in their tier: DKPd is offered but Tec-D, the
    # strongest randomised result of S4, leads. 2026-12 (section 8): DKPd is off-label everywhere, so only in
    # certain circumstances (it was `recommended` in the 2026-11 edition).
    rec = make(prior_lines=2, fitness="fit", refractory=["lenalidomide", "bortezomib"], extramedullary=True)
    dkpd = next(o for o in rec["options"] if o["regimen"] == "DKPd")
    assert dkpd["tier"] == "circumstances" and codes(rec)[0] == "Tec-D"
    assert "off-label" in dkpd["label"] and "regulatory_status" in dkpd["cautions"]


def test_s5_triple_class_refractory_gets_its_candidates():
    rec = make(
        prior_lines=4,
        fitness="fit",
        refractory=["lenalidomide", "bortezomib", "daratumumab"],
        exposed=["carfilzomib", "pomalidomide", "elotuzumab", "selinexor"],
    )
    a = rec["assessment"]
    assert a["setting"] == "S5" and a["triple_class_refractory"] and not a["penta_refractory"]
    assert {"Sd", "VDT-PACE", "Md", "ide-cel", "cilta-cel", "belantamab", "teclistamab"} <= set(codes(rec))


def test_s5_settings_add_up_kpd_for_triple_class_patient_without_carfilzomib_or_pomalidomide():
    rec = make(prior_lines=3, fitness="fit", refractory=["lenalidomide", "bortezomib", "daratumumab"])
    assert set(rec["assessment"]["settings"]) == {"S3", "S4", "S5"}
    assert "KPd" in codes(rec)


def test_s6_penta_refractory_gets_bcma_alkylators_selinexor_panobinostat_and_a_trial():
    rec = make(
        prior_lines=5,
        fitness="fit",
        refractory=["daratumumab", "bortezomib", "carfilzomib", "lenalidomide", "pomalidomide"],
    )
    a = rec["assessment"]
    assert a["setting"] == "S6" and a["penta_refractory"]
    assert {"ide-cel", "cilta-cel", "teclistamab", "VDT-PACE", "DCEP", "Benda", "Sd", "Pano-Vd", "trial"} <= set(
        codes(rec)
    )
    assert "Ven-d" not in codes(rec)


def test_r4_untried_class_added_after_first_relapse_only():
    second = make(
        prior_lines=2,
        fitness="fit",
        refractory=["lenalidomide", "bortezomib", "daratumumab"],
        exposed=["carfilzomib", "pomalidomide"],
    )
    assert "EPd" in codes(second)  # elotuzumab never received
    assert any(
        "not recorded as received" in r
        for r in next(o for o in second["options"] if o["regimen"] == "EPd")["rationale"]
    )
    first = make(prior_lines=1, fitness="fit", refractory=["lenalidomide"], exposed=["bortezomib"])
    assert "EPd" not in codes(first)


# ---- R5 exclusions --------------------------------------------------------------------------
def test_r5_refractory_drug_removes_regimen_with_reason():
    rec = make(fitness="fit", refractory=["carfilzomib"])
    assert "KRd" not in codes(rec)
    assert "contains carfilzomib, to which the disease is refractory" in excluded(rec, "KRd")["reasons"]


def test_r5_anti_cd38_share_one_target():
    rec = make(prior_lines=2, fitness="fit", refractory=["lenalidomide", "daratumumab"])
    assert "IsaPd" not in codes(rec)
    assert any("share one target" in r for r in excluded(rec, "IsaPd")["reasons"])


def test_r5_unavailable_drug_removes_regimen():
    rec = make(fitness="fit", unavailable=["Kyprolis"])
    assert "KRd" not in codes(rec) and "DKd" not in codes(rec)
    assert "carfilzomib is not available here" in excluded(rec, "KRd")["reasons"]


def test_r5_venetoclax_only_with_t11_14():
    penta = dict(
        prior_lines=5,
        fitness="fit",
        refractory=["isatuximab", "bortezomib", "carfilzomib", "lenalidomide", "pomalidomide"],
    )
    assert "Ven-d" in codes(make(t_11_14=True, **penta))
    rec = make(t_11_14=False, **penta)
    assert "Ven-d" not in codes(rec)
    assert any("t(11;14)" in r for r in excluded(rec, "Ven-d")["reasons"])
    assert caution(make(t_11_14=True, **penta), "t11_14_required")


def test_r5_prior_line_requirements_come_from_the_region_label():
    # 2026 edition (section 8): prior-line requirements are the labels of the case's region; belantamab
    # monotherapy has no approval anywhere, so it is an option only in certain circumstances, at any line
    base = dict(
        fitness="fit", refractory=["lenalidomide", "pomalidomide", "daratumumab", "carfilzomib"], exposed=["bortezomib"]
    )
    three = make(prior_lines=3, **base)
    assert "teclistamab" not in codes(three)
    assert ("US label: >= 4 prior lines including a PI, an IMiD and an anti-CD38 (case: 3 prior lines)"
            in excluded(three, "teclistamab")["reasons"])
    assert next(o for o in three["options"] if o["regimen"] == "belantamab")["tier"] == "circumstances"
    assert "BVd" in codes(three)  # >= 2 lines, prior PI and IMiD, bortezomib not refractory
    four = make(prior_lines=4, **base)
    assert {"teclistamab", "belantamab"} <= set(codes(four))
    assert "teclistamab" in codes(make(prior_lines=3, region="EU", **base))  # EU label: >= 3 prior lines


def test_r5_cross_resistance_switch_within_class_stays_with_caution():
    rec = make(prior_lines=2, fitness="fit", refractory=["lenalidomide", "bortezomib"])
    dkd = next(o for o in rec["options"] if o["regimen"] == "DKd")
    assert "cross_resistance" in dkd["cautions"]
    assert any("carfilzomib" in r and "bortezomib" in r for r in dkd["rationale"])


def test_r5_salvage_combinations_stay_despite_bortezomib_refractoriness():
    rec = make(
        prior_lines=5,
        fitness="fit",
        refractory=["daratumumab", "bortezomib", "carfilzomib", "lenalidomide", "pomalidomide", "thalidomide"],
    )
    for code in ("VDT-PACE", "Pano-Vd"):
        opt = next(o for o in rec["options"] if o["regimen"] == code)
        assert "cross_resistance" in opt["cautions"]
        assert any(r.startswith("stays despite refractoriness") for r in opt["rationale"])
    assert "PVd" not in codes(rec)


def test_r5_every_catalog_regimen_is_option_or_excluded_with_reason():
    from bot.clinical.kb import kb

    rec = make(prior_lines=2, fitness="fit", refractory=["lenalidomide"])
    seen = codes(rec) + [e["regimen"] for e in rec["excluded"]]
    assert sorted(seen) == sorted(kb().regimens)
    assert all(e["reasons"] for e in rec["excluded"])


# ---- R6 transplant ----------------------------------------------------------------------------
def tx(rec, option):
    return next((t for t in rec["transplant"] if t["option"] == option), None)


def test_r6_eligible_without_prior_transplant_gets_auto_hct_at_first_relapse():
    rec = make(fitness="fit", transplant_eligible=True, prior_auto_hct=0)
    assert tx(rec, "auto-HCT")["recommended"] and "first relapse" in tx(rec, "auto-HCT")["text"]


def test_r6_second_auto_hct_after_remission_of_18_months_or_more():
    long = make(fitness="fit", transplant_eligible=True, prior_auto_hct=1, months_remission_after_hct=24)
    assert tx(long, "auto-HCT-2")["recommended"] and "Myeloma X" in [t["id"] for t in long["trials"]]
    short = make(fitness="fit", transplant_eligible=True, prior_auto_hct=1, months_remission_after_hct=12)
    assert not tx(short, "auto-HCT-2")["recommended"]
    assert not tx(long, "auto-HCT")["recommended"]


def test_r6_not_eligible_gets_no_transplant():
    rec = make(fitness="fit", transplant_eligible=False)
    assert not any(t["recommended"] for t in rec["transplant"])


def test_r6_allo_hct_limited_option_with_risks():
    rec = make(
        fitness="fit",
        transplant_eligible=True,
        prior_auto_hct=1,
        months_remission_after_hct=10,
        high_risk_cytogenetics=["del17p"],
    )
    allo = tx(rec, "allo-HCT")
    assert allo["recommended"] and "clinical trial" in allo["text"] and "35%" in allo["text"]
    assert caution(rec, "transplant_risks")["severity"] == "high"
    plain = make(fitness="fit", transplant_eligible=True, prior_auto_hct=0)
    assert not tx(plain, "allo-HCT")["recommended"] and caution(plain, "transplant_risks") is None


# ---- R7 cautions --------------------------------------------------------------------------------
def test_r7_covid_and_infection_always_present():
    for rec in (make(relapse="none"), make(fitness="fit"), make(fitness="frail")):
        assert caution(rec, "covid_vaccination") and caution(rec, "infection")


def test_r7_covid_not_up_to_date_raises_severity():
    assert (
        caution(make(fitness="fit", covid_vaccination_up_to_date=False), "covid_vaccination")["severity"] == "moderate"
    )


@pytest.mark.parametrize(
    "fields,code,cid",
    [
        ({"fitness": "fit"}, "DRd", "thrombosis"),
        ({"fitness": "fit"}, "KRd", "cardiac"),
        ({"fitness": "fit"}, "IRd", "neuropathy"),
        ({"fitness": "fit"}, "IRd", "cytopenias"),
        ({"fitness": "fit"}, "IRd", "gi_toxicity"),
        ({"fitness": "fit"}, "DVd", "cytopenias"),
        ({"fitness": "fit"}, "ERd", "premedication"),
        ({"fitness": "fit"}, "ERd", "second_primary_malignancy"),
        ({"fitness": "fit"}, "DRd", "infusion_reaction"),
    ],
)
def test_r7_option_triggers_caution(fields, code, cid):
    rec = make(**fields)
    assert cid in next(o for o in rec["options"] if o["regimen"] == code)["cautions"]
    assert any(re.search(rf"(^|[ ,]){re.escape(code)}(,|$| offered)", b) for b in caution(rec, cid)["because"])


def test_r7_bcma_cautions_and_regulatory_status():
    rec = make(
        prior_lines=5,
        fitness="fit",
        refractory=["daratumumab", "bortezomib", "carfilzomib", "lenalidomide", "pomalidomide"],
    )
    assert caution(rec, "crs_neurotoxicity")["severity"] == "high"
    rec5 = make(
        prior_lines=4,
        fitness="fit",
        refractory=["lenalidomide", "bortezomib", "daratumumab"],
        exposed=["pomalidomide", "carfilzomib"],
    )
    assert caution(rec5, "ocular_toxicity") and "boxed" in caution(rec5, "ocular_toxicity")["text"]
    reg = caution(rec5, "regulatory_status")
    assert "2022" in reg["text"] and "EU" in reg["text"]  # belantamab and melflufen errata


def test_r7_thrombosis_history_keeps_imids_but_raises_severity():
    rec = make(fitness="fit", thrombosis_history=True)
    assert "DRd" in codes(rec)
    assert caution(rec, "thrombosis")["severity"] == "high"
    assert caution(make(fitness="fit"), "thrombosis")["severity"] == "moderate"


def test_r7_erd_infection_and_krd_notes():
    rec = make(fitness="fit")
    text = caution(rec, "infection")["text"]
    assert "zoster" in text and "respiratory" in text
    assert "hypokalaemia" in caution(rec, "cardiac")["text"]


def test_r7_every_caution_has_a_reason():
    rec = make(
        prior_lines=3,
        fitness="intermediate",
        refractory=["lenalidomide", "bortezomib"],
        neuropathy=True,
        cardiac_disease=True,
    )
    assert all(c["because"] for c in rec["cautions"])


# ---- R8 ranking ------------------------------------------------------------------------------------
def test_r8_cardiac_disease_demotes_carfilzomib_to_the_end_of_its_tier():
    # 2026 edition (R8): a demotion moves the regimen to the end of its tier, never into another tier
    rec = make(fitness="fit", cardiac_disease=True)
    order = codes(rec)
    preferred = [o["regimen"] for o in rec["options"] if o["tier"] == "preferred"]
    assert order[0] == "DRd"
    assert {"KRd", "DKd", "IsaKd"} <= set(preferred[-3:])  # the carfilzomib regimens close the preferred tier
    assert all(order.index(c) < order.index(x) for c in ("KRd", "DKd") for x in ("IRd", "ERd", "DVd"))
    assert caution(rec, "cardiac")["severity"] == "high"


def test_r8_neuropathy_demotes_bortezomib_and_thalidomide():
    # 2026-12: 2 prior lines with a PI, so that IsaPd's label (>= 2 prior lines incl. lenalidomide and a PI) holds
    # and DVd and IsaPd share the recommended tier
    rec = make(prior_lines=2, fitness="fit", refractory=["lenalidomide"], exposed=["bortezomib"], neuropathy=True)
    order = codes(rec)
    assert order.index("PVd") > order.index("DPd") and order.index("DVd") > order.index("IsaPd")
    assert next(o for o in rec["options"] if o["regimen"] == "DVd")["tier"] == "recommended"


def test_r8_aggressive_favours_triplets_and_demotes_erd():
    calm = codes(make(fitness="fit"))
    hot = make(fitness="fit", extramedullary=True)
    recommended = [o["regimen"] for o in hot["options"] if o["tier"] == "recommended"]
    assert calm.index("ERd") < len(calm) - 1 and recommended[-1] == "ERd"  # the end of its tier
    erd = next(o for o in hot["options"] if o["regimen"] == "ERd")
    assert any("less aggressive" in r for r in erd["rationale"])
    # 2026 edition (R8): aggressive disease keeps quadruplets in their tiers (DKPd is offered; 2026-12: off-label,
    # so in certain circumstances)
    aggressive = make(prior_lines=2, fitness="fit", refractory=["lenalidomide", "bortezomib"], ldh_elevated=True)
    assert next(o for o in aggressive["options"] if o["regimen"] == "DKPd")["tier"] == "circumstances"


def test_r8_same_case_same_answer():
    a = make(prior_lines=3, fitness="fit", refractory=["lenalidomide", "bortezomib"], cardiac_disease=True)
    b = make(prior_lines=3, fitness="fit", refractory=["bortezomib", "lenalidomide"], cardiac_disease=True)
    assert a == b


# ---- the seed's explicit statements ---------------------------------------------------------------
def test_seed_drd_krd_preferred_when_lenalidomide_sensitive():
    # 2026 edition (7.3): DRd and KRd lead the preferred tier of S1 (Tec-D, DKd and IsaKd follow)
    rec = make(fitness="fit", exposed=["lenalidomide"])
    assert [o["regimen"] for o in rec["options"] if o["preferred"]][:2] == ["DRd", "KRd"]


def test_seed_len_and_dara_refractory_options():
    rec = make(prior_lines=2, fitness="fit", refractory=["lenalidomide", "daratumumab"], exposed=["bortezomib"])
    assert {"KPd", "PVd", "VCd", "SVd"} <= set(codes(rec))
    # 2026 edition (7.3, S3): the CAR-T of the preferred tier; VCd (indirect evidence) only in certain
    # circumstances. 2026-12 (section 8): KPd and VCd are off-label everywhere, so only in certain circumstances
    # (KPd led this setting in the 2026-11 edition).
    assert codes(rec)[:2] == ["cilta-cel", "ide-cel"]
    for code in ("KPd", "VCd"):
        assert next(o for o in rec["options"] if o["regimen"] == code)["tier"] == "circumstances", code


def test_seed_venetoclax_only_with_t11_14_everywhere():
    from bot.clinical.kb import kb

    for fields in ({}, {"t_11_14": False}):
        rec = make(
            prior_lines=5,
            fitness="fit",
            refractory=["daratumumab", "bortezomib", "carfilzomib", "lenalidomide", "pomalidomide"],
            **fields,
        )
        assert not any("venetoclax" in kb().regimens[c].components for c in codes(rec))


def test_seed_td_never_preferred_for_fit():
    rec = make(fitness="fit", exposed=["lenalidomide", "thalidomide"])
    assert "Td" not in codes(rec)


def test_seed_teclistamab_needs_four_prior_lines():
    base = dict(fitness="fit", refractory=["daratumumab", "bortezomib", "carfilzomib", "lenalidomide", "pomalidomide"])
    assert "teclistamab" not in codes(make(prior_lines=3, **base))
    assert "teclistamab" in codes(make(prior_lines=4, **base))


def test_errata_applied_in_knowledge():
    from bot.clinical.kb import kb

    k = kb()
    assert k.drugs["teclistamab"].drug_class == "BCMA"
    assert "ORR" in k.trials["ASPIRE"].result
    assert "newly diagnosed" in k.trials["EVOLUTION"].setting
    assert "famotidine" in k.cautions["premedication"].text
    assert "graft-versus-host" in k.cautions["transplant_risks"].text


def test_disclaimer_always_present():
    for rec in (make(relapse="none"), make(fitness="frail")):
        assert "not a substitute for clinical judgement" in rec["disclaimer"]
