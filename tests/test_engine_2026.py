"""The 2026 edition of clinical-spec.md: one or more tests per new or rewritten rule (R2, R4-R9), per row of the
tier table (section 7.3) and per label rule (section 8). Cases are written from the spec's rules, not copied from
its examples; assertions are what a clinician would notice (order, tier, the label sentence, exclusions and
their reasons)."""
import pytest
from conftest import caution, codes, excluded, make

from bot.clinical.kb import kb

K = kb()
TRIPLE_CLASS_4L = dict(prior_lines=4, fitness="fit", refractory=["lenalidomide", "bortezomib", "daratumumab"],
                       exposed=["pomalidomide", "carfilzomib"], transplant_eligible=False)
PENTA = ["daratumumab", "bortezomib", "carfilzomib", "lenalidomide", "pomalidomide"]


def option(rec, code):
    return next((o for o in rec["options"] if o["regimen"] == code), None)


def tier_of(rec, code):
    o = option(rec, code)
    return o and o["tier"]


def by_tier(rec, tier):
    return [o["regimen"] for o in rec["options"] if o["tier"] == tier]


# ---- section 7.3: one test per row of the tier table ------------------------------------------------------
def test_tier_row_s1_lenalidomide_sensitive():
    rec = make(fitness="fit", exposed=["lenalidomide", "bortezomib"])
    assert rec["assessment"]["setting"] == "S1"
    assert by_tier(rec, "preferred") == ["DRd", "KRd", "Tec-D", "DKd", "IsaKd"]
    assert by_tier(rec, "recommended")[:3] == ["DVd", "IRd", "ERd"]
    assert "BVd" not in codes(rec)  # US label: >= 2 prior lines (first relapse)
    assert tier_of(make(fitness="fit", exposed=["lenalidomide", "bortezomib"], region="EU"), "BVd") == "recommended"


def test_tier_row_s2_lenalidomide_refractory():
    rec = make(fitness="fit", refractory=["lenalidomide"], exposed=["bortezomib"])
    assert rec["assessment"]["setting"] == "S2"
    assert by_tier(rec, "preferred") == ["Tec-D", "DPd", "DKd", "IsaKd", "cilta-cel"]  # CAR-T last on purpose
    # 2026-12 (section 8): at a first relapse IsaPd's label (>= 2 prior lines) is not met, PVd is not approved in
    # the US and KPd is off-label everywhere: all three only in certain circumstances (recommended in 2026-11)
    assert by_tier(rec, "recommended")[:2] == ["DVd", "SVd"]
    assert {"IsaPd", "PVd", "KPd", "BPd"} <= set(by_tier(rec, "circumstances"))  # BPd: not approved in the US (R9)
    second = make(prior_lines=2, fitness="fit", refractory=["lenalidomide"], exposed=["bortezomib"], region="EU")
    assert by_tier(second, "recommended")[:3] == ["DVd", "IsaPd", "PVd"]  # EU labels hold at a second relapse


def test_tier_row_s3_lenalidomide_and_anti_cd38_refractory():
    rec = make(prior_lines=2, fitness="fit", refractory=["lenalidomide", "daratumumab"], exposed=["bortezomib"])
    assert by_tier(rec, "preferred") == ["cilta-cel", "ide-cel"]
    assert tier_of(rec, "KPd") == "circumstances"  # 2026-12: off-label everywhere (preferred in 2026-11)
    assert {"SVd", "EPd"} <= set(by_tier(rec, "recommended"))
    assert tier_of(rec, "PVd") == "circumstances"  # 2026-12: not approved in the US (R9)
    assert tier_of(make(region="EU", prior_lines=2, fitness="fit", refractory=["lenalidomide", "daratumumab"],
                        exposed=["bortezomib"]), "PVd") == "recommended"
    assert {"VCd", "BVd"} <= set(by_tier(rec, "circumstances"))  # indirect evidence; DREAMM-7 excluded this group


def test_tier_row_s4_lenalidomide_and_bortezomib_refractory():
    rec = make(prior_lines=2, fitness="fit", refractory=["lenalidomide", "bortezomib"], exposed=["daratumumab"])
    assert by_tier(rec, "preferred") == ["Tec-D", "DPd", "DKd", "IsaKd", "cilta-cel"]
    assert by_tier(rec, "recommended")[:3] == ["EPd", "IsaPd", "ide-cel"]
    assert tier_of(rec, "KPd") == "circumstances"  # 2026-12: off-label everywhere
    assert tier_of(rec, "ide-cel") == "recommended"  # 2 prior lines, triple-class exposed


def test_tier_row_s5_triple_class_refractory_puts_car_t_and_bispecifics_first_salvage_last():
    rec = make(**TRIPLE_CLASS_4L)
    ranked = [c for c in codes(rec) if c != "trial"]
    assert ranked[:6] == ["cilta-cel", "ide-cel", "teclistamab", "elranatamab", "linvoseltamab", "talquetamab"]
    assert tier_of(rec, "trial") == "preferred"
    salvage = [ranked.index(c) for c in ("VDT-PACE", "DCEP", "Benda")]
    assert min(salvage) > max(ranked.index(c) for c in ranked[:6])
    assert {"VDT-PACE", "DCEP", "Md", "belantamab", "Benda"} <= set(by_tier(rec, "circumstances"))


def test_tier_row_s6_penta_refractory():
    rec = make(prior_lines=5, fitness="fit", refractory=PENTA, t_11_14=True)
    assert by_tier(rec, "preferred") == ["cilta-cel", "ide-cel", "teclistamab", "elranatamab", "linvoseltamab",
                                         "talquetamab", "trial"]
    assert tier_of(rec, "Sd") == "recommended"  # its label holds: >= 4 lines, refractory to 2 PIs, 2 IMiDs, CD38
    assert {"VDT-PACE", "DCEP", "Benda", "Pano-Vd", "Md", "belantamab"} <= set(by_tier(rec, "circumstances"))


def test_ven_d_is_off_label_so_only_in_certain_circumstances_although_the_table_says_recommended():
    rec = make(prior_lines=5, fitness="fit", refractory=PENTA, t_11_14=True)
    ven = option(rec, "Ven-d")
    assert ven["tier"] == "circumstances" and "regulatory_status" in ven["cautions"]
    assert any("off-label" in n for n in ven["notes"])


# ---- R2 (2026): progression on lenalidomide maintenance only -------------------------------------------------
def test_r2_maintenance_case_counts_as_lenalidomide_refractory_for_cilta_cel_label():
    maint = make(fitness="fit", exposed=["lenalidomide", "bortezomib"], lenalidomide_maintenance_only=True)
    plain = make(fitness="fit", exposed=["lenalidomide", "bortezomib"])
    assert tier_of(maint, "cilta-cel") == "preferred"
    assert "cilta-cel" not in codes(plain)  # lenalidomide-sensitive: the label needs lenalidomide-refractory
    assert maint["assessment"]["lenalidomide_status"] == "refractory"  # R2 revised 2026-12 (sensitive in 2026-11)


def test_r2_maintenance_with_anti_cd38_refractory_is_in_the_lenalidomide_and_anti_cd38_refractory_setting():
    # R2 revised 2026-12: the maintenance case IS lenalidomide-refractory (S3 only; 2026-11 gave S1 and S3)
    rec = make(prior_lines=2, fitness="fit", exposed=["lenalidomide", "bortezomib"], refractory=["daratumumab"],
               lenalidomide_maintenance_only=True)
    assert rec["assessment"]["settings"] == ["S3"] and tier_of(rec, "cilta-cel") == "preferred"
    assert "DRd" not in codes(rec)  # anti-CD38 refractory: the maintenance exception cannot bring DRd back


# ---- R4 (2026): label-driven candidates and the clinical trial ------------------------------------------------
def test_r4_ide_cel_is_a_candidate_from_two_prior_lines_when_triple_class_exposed():
    rec = make(prior_lines=2, fitness="fit", refractory=["lenalidomide"], exposed=["bortezomib", "daratumumab"])
    assert rec["assessment"]["setting"] == "S2" and tier_of(rec, "ide-cel") == "recommended"
    assert any("label" in r and "holds" in r for r in option(rec, "ide-cel")["rationale"])
    one = make(prior_lines=1, fitness="fit", refractory=["lenalidomide"], exposed=["bortezomib", "daratumumab"])
    assert "ide-cel" not in codes(one)


def test_r4_bispecifics_are_candidates_wherever_their_region_label_holds():
    case = dict(prior_lines=3, fitness="fit", refractory=["lenalidomide", "bortezomib"], exposed=["daratumumab"])
    us, eu = make(**case), make(region="EU", **case)
    assert us["assessment"]["setting"] == "S4"
    assert not {"teclistamab", "elranatamab", "linvoseltamab", "talquetamab"} & set(codes(us))  # US: >= 4 lines
    assert {"teclistamab", "elranatamab", "linvoseltamab", "talquetamab"} <= set(by_tier(eu, "recommended"))


def test_r4_clinical_trial_at_every_relapse_preferred_only_in_s5_s6():
    assert tier_of(make(fitness="fit"), "trial") == "recommended"
    assert tier_of(make(**TRIPLE_CLASS_4L), "trial") == "preferred"
    assert "trial" not in codes(make(relapse="none", fitness="fit"))


# ---- R5 (2026): labels, BCMA after BCMA ---------------------------------------------------------------------
def test_r5_binding_label_excludes_with_region_label_and_case_value():
    case = dict(prior_lines=3, fitness="fit", refractory=["lenalidomide", "bortezomib", "daratumumab"],
                exposed=["pomalidomide", "carfilzomib"])
    rec = make(**case)
    reasons = excluded(rec, "elranatamab")["reasons"]
    assert "US label: >= 4 prior lines including a PI, an IMiD and an anti-CD38 (case: 3 prior lines)" in reasons
    assert "elranatamab" in codes(make(region="EU", **case))


def test_r5_missing_prior_class_is_named():
    rec = make(fitness="fit", refractory=["lenalidomide"])  # no PI recorded
    assert any(r.startswith("US label:") and "no PI recorded" in r for r in excluded(rec, "cilta-cel")["reasons"])


def test_r5_bcma_after_bcma_one_tier_lower_with_cross_resistance_talquetamab_keeps_its_tier():
    rec = make(**{**TRIPLE_CLASS_4L, "exposed": ["pomalidomide", "carfilzomib", "cilta-cel"]})
    tec = option(rec, "teclistamab")
    assert tec["tier"] == "recommended" and "cross_resistance" in tec["cautions"]
    assert any("cilta-cel" in n for n in tec["notes"])
    assert tier_of(rec, "talquetamab") == "preferred"
    assert codes(rec)[0] == "talquetamab"


def test_r5_not_binding_label_not_met_moves_to_circumstances_with_regulatory_status():
    rec = make(prior_lines=4, fitness="fit", refractory=["lenalidomide", "bortezomib"], exposed=["daratumumab"])
    isakd = option(rec, "IsaKd")  # US label: 1-3 prior lines (not binding)
    assert isakd["tier"] == "circumstances" and "regulatory_status" in isakd["cautions"]
    assert any(n.startswith("off-label here: the US label needs 1-3 prior lines") for n in isakd["notes"])
    assert tier_of(make(region="EU", prior_lines=4, fitness="fit", refractory=["lenalidomide", "bortezomib"],
                        exposed=["daratumumab"]), "IsaKd") == "preferred"


def test_r5_ruled_out_lists_only_candidates_the_case_removes():
    rec = make(fitness="fit", exposed=["lenalidomide", "bortezomib"])
    ruled = {e["regimen"] for e in rec["excluded"] if e["ruled_out"]}
    assert not {"Ven-d", "belantamab", "teclistamab"} & ruled
    assert ruled == {"BVd"}  # an S1 candidate that the US label removes at first relapse
    assert excluded(rec, "teclistamab")["reasons"][0].startswith("US label: >= 4 prior lines")  # why-not answer


# ---- R6 (2026) ----------------------------------------------------------------------------------------------------
def tx(rec, option_code):
    return next(t for t in rec["transplant"] if t["option"] == option_code)


def test_r6_auto_hct_recommended_only_at_first_relapse():
    later = make(prior_lines=2, fitness="fit", transplant_eligible=True, prior_auto_hct=0)
    assert not tx(later, "auto-HCT")["recommended"] and "may still be considered" in tx(later, "auto-HCT")["text"]
    assert tx(make(fitness="fit", transplant_eligible=True, prior_auto_hct=0), "auto-HCT")["recommended"]


def test_r6_allo_hct_never_recommended_above_65_and_missing_age_is_said():
    case = dict(fitness="fit", transplant_eligible=True, prior_auto_hct=1, months_remission_after_hct=10,
                high_risk_cytogenetics=["del17p"])
    old = make(age=66, **case)
    assert not tx(old, "allo-HCT")["recommended"] and "over 65" in tx(old, "allo-HCT")["text"]
    assert caution(old, "transplant_risks") is None
    assert tx(make(age=65, **case), "allo-HCT")["recommended"]
    unknown = tx(make(**case), "allo-HCT")
    assert "age not given" in unknown["text"]


# ---- R7 (2026): new and changed cautions ------------------------------------------------------------------------
@pytest.mark.parametrize("fields,code,cid", [
    (TRIPLE_CLASS_4L, "cilta-cel", "car_t_late_effects"),
    (TRIPLE_CLASS_4L, "teclistamab", "hypogammaglobulinemia"),
    (TRIPLE_CLASS_4L, "cilta-cel", "hypogammaglobulinemia"),
    (TRIPLE_CLASS_4L, "talquetamab", "gprc5d_toxicity"),
    (TRIPLE_CLASS_4L, "elranatamab", "crs_neurotoxicity"),
    (TRIPLE_CLASS_4L, "VDT-PACE", "cytopenias"),
    (TRIPLE_CLASS_4L, "Md", "cytopenias"),
    (TRIPLE_CLASS_4L, "cilta-cel", "cytopenias"),
    (TRIPLE_CLASS_4L, "BPd", "ocular_toxicity"),
    (TRIPLE_CLASS_4L, "belantamab", "regulatory_status"),
    ({"fitness": "fit"}, "DRd", "blood_bank_interference"),
    ({"fitness": "fit", "exposed": ["lenalidomide", "bortezomib"]}, "Tec-D", "crs_neurotoxicity"),
    ({"fitness": "fit", "exposed": ["lenalidomide", "bortezomib"]}, "Tec-D", "hypogammaglobulinemia"),
    ({"fitness": "fit", "exposed": ["lenalidomide", "bortezomib"]}, "Tec-D", "blood_bank_interference"),
    ({"prior_lines": 5, "fitness": "fit", "refractory": PENTA}, "Pano-Vd", "cardiac"),
    ({"prior_lines": 5, "fitness": "fit", "refractory": PENTA}, "Pano-Vd", "gi_toxicity"),
])
def test_r7_2026_option_triggers_caution(fields, code, cid):
    rec = make(**fields)
    assert cid in option(rec, code)["cautions"], (code, cid)
    assert caution(rec, cid)["because"]


def test_r7_infection_is_high_with_t_cell_redirecting_therapy():
    assert caution(make(fitness="fit", exposed=["lenalidomide", "bortezomib"]), "infection")["severity"] == "high"
    calm = make(fitness="fit", exposed=["lenalidomide"])  # no Tec-D (no PI recorded), no CAR-T
    assert "Tec-D" not in codes(calm) and caution(calm, "infection")["severity"] == "moderate"


def test_r7_selinexor_and_spm_texts():
    rec = make(**TRIPLE_CLASS_4L)
    assert "hyponatraemia" in caution(rec, "gi_toxicity")["text"]
    spm = caution(make(fitness="fit"), "second_primary_malignancy")["text"]
    assert "9% vs 6%" in spm and "both arms contained lenalidomide" in spm


def test_r7_regulatory_status_says_where_and_since_when():
    rec = make(fitness="fit", refractory=["lenalidomide"], exposed=["bortezomib"])
    text = caution(rec, "regulatory_status")["text"]
    assert "PVd: US: not approved; EU: approved 2019-05" in text
    assert caution(rec, "regulatory_status")["severity"] == "info"


def test_r7_regulatory_status_only_for_options_not_approved_or_off_label_for_the_case():
    # section 5, 2026-12: not for mere differences between regions (teclistamab: US >= 4 lines, EU >= 3)
    rec = make(**TRIPLE_CLASS_4L)
    assert "regulatory_status" not in option(rec, "teclistamab")["cautions"]
    for o in rec["options"]:
        rl = K.labels[o["regimen"]].regions["US"]
        off_label = not rl.approved or o["label"].startswith("US: off-label here")
        assert ("regulatory_status" in o["cautions"]) == off_label, o["regimen"]


# ---- R8 (2026) --------------------------------------------------------------------------------------------------
def test_r8_aggressive_lifts_salvage_chemotherapy_never_above_t_cell_redirecting_therapy():
    calm = make(**TRIPLE_CLASS_4L)
    hot = make(**TRIPLE_CLASS_4L, extramedullary=True)
    assert tier_of(calm, "VDT-PACE") == "circumstances" and tier_of(hot, "VDT-PACE") == "recommended"
    assert tier_of(hot, "DCEP") == "recommended"
    order = codes(hot)
    assert order.index("VDT-PACE") > max(order.index(c) for c in order if c in K.redirecting)
    # BCMA exposure puts the BCMA bispecifics into `recommended`: the lifted chemotherapy still follows them
    exposed = make(**{**TRIPLE_CLASS_4L, "exposed": ["pomalidomide", "carfilzomib", "ide-cel"]}, ldh_elevated=True)
    order = codes(exposed)
    assert order.index("VDT-PACE") > order.index("linvoseltamab")


def test_r8_demotion_stays_inside_the_tier():
    rec = make(prior_lines=5, fitness="fit", refractory=PENTA, neuropathy=True)
    assert tier_of(rec, "VDT-PACE") == "circumstances"
    circ = by_tier(rec, "circumstances")
    assert circ.index("VDT-PACE") > circ.index("Md")  # bortezomib/thalidomide: end of its tier


# ---- R9: region -------------------------------------------------------------------------------------------------
def test_r9_region_default_is_us_and_reported():
    rec = make(fitness="fit")
    assert rec["assessment"]["region"] == "US" and rec["knowledge_edition"] == "2026-12"
    assert make(fitness="fit", region="eu")["assessment"]["region"] == "EU"


def test_r9_bpd_circumstances_in_the_us_recommended_in_the_eu():
    case = dict(fitness="fit", refractory=["lenalidomide"], exposed=["bortezomib"])
    us, eu = make(**case), make(region="EU", **case)
    assert tier_of(us, "BPd") == "circumstances" and "regulatory_status" in option(us, "BPd")["cautions"]
    assert option(us, "BPd")["label"] == "US: not approved"
    assert tier_of(eu, "BPd") == "recommended" and option(eu, "BPd")["label"].startswith("EU: approved 2025-07")


def test_r9_tec_d_in_the_eu_only_in_certain_circumstances_until_the_decision():
    rec = make(region="EU", fitness="fit", refractory=["lenalidomide"], exposed=["bortezomib"])
    tecd = option(rec, "Tec-D")
    assert tecd["tier"] == "circumstances" and "regulatory_status" in tecd["cautions"]
    assert "Commission decision" in tecd["label"]
    assert option(rec, "Tec-D")["approval"].startswith("US: approved 2026-03")


def test_r9_belantamab_monotherapy_not_approved_anywhere():
    for region in ("US", "EU"):
        assert tier_of(make(region=region, **TRIPLE_CLASS_4L), "belantamab") == "circumstances"


def test_frail_patients_keep_bispecific_monotherapy_but_not_tec_d_car_t_sd_or_md_outside_their_labels():
    frail = make(prior_lines=4, fitness="frail", refractory=["lenalidomide", "bortezomib", "daratumumab"],
                 exposed=["pomalidomide", "carfilzomib"])
    assert {"teclistamab", "talquetamab"} <= set(codes(frail)) and "cilta-cel" not in codes(frail)
    assert caution(frail, "frailty") and caution(frail, "crs_neurotoxicity")
    first = make(fitness="frail", exposed=["lenalidomide", "bortezomib"])
    assert "Tec-D" not in codes(first)
    assert any("bispecific combination" in r for r in excluded(first, "Tec-D")["reasons"])
    assert not {"Sd", "Md"} & set(codes(first))  # "Sd and Md keep their labels" (section 4)
    assert any("label" in r for r in excluded(first, "Sd")["reasons"])
