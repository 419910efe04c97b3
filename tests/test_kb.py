"""Knowledge-base integrity: ids resolve, aliases are unique, the spec's vocabulary is covered."""
import re
import shutil

import pytest
import yaml

from bot.clinical.kb import KNOWLEDGE_DIR, KnowledgeError, UnknownName, fold, kb, load

K = kb()

SPEC_ALIASES = {  # clinical-spec.md section 2
    "Revlimid": "lenalidomide", "Pomalyst": "pomalidomide", "Thalomid": "thalidomide", "Velcade": "bortezomib",
    "Kyprolis": "carfilzomib", "Ninlaro": "ixazomib", "Darzalex": "daratumumab", "Darzalex Faspro": "daratumumab",
    "Sarclisa": "isatuximab", "Empliciti": "elotuzumab", "Xpovio": "selinexor", "Venclexta": "venetoclax",
    "Farydak": "panobinostat", "Blenrep": "belantamab", "Pepaxto": "melflufen", "Pepaxti": "melflufen",
    "Abecma": "ide-cel", "Carvykti": "cilta-cel", "Tecvayli": "teclistamab", "len": "lenalidomide",
    "lena": "lenalidomide", "pom": "pomalidomide", "thal": "thalidomide", "bort": "bortezomib", "btz": "bortezomib",
    "carfil": "carfilzomib", "cfz": "carfilzomib", "dara": "daratumumab", "isa": "isatuximab", "elo": "elotuzumab",
    "sel": "selinexor", "ven": "venetoclax", "pano": "panobinostat", "dex": "dexamethasone", "cy": "cyclophosphamide",
    "cytoxan": "cyclophosphamide", "idecabtagene vicleucel": "ide-cel", "ciltacabtagene autoleucel": "cilta-cel",
    "IDE-CEL": "ide-cel", "Cilta-Cel": "cilta-cel",
    # 2026 edition
    "Elrexfio": "elranatamab", "Talvey": "talquetamab", "Lynozyfic": "linvoseltamab",
}
SPEC_REGIMENS = ["DRd", "KRd", "IRd", "ERd", "DVd", "DKd", "DPd", "PVd", "IsaPd", "KPd", "VCd", "SVd", "EPd", "DKPd",
                 "Sd", "VDT-PACE", "DCEP", "Md", "Td", "Rd", "Pd", "Kd", "Vd", "Benda", "Ven-d", "Pano-Vd", "BVd",
                 "belantamab", "ide-cel", "cilta-cel", "teclistamab", "D", "trial",
                 # 2026 edition
                 "Tec-D", "IsaKd", "BPd", "elranatamab", "linvoseltamab", "talquetamab"]
SPEC_REGIMEN_ALIASES = {"Dara-Rd": "DRd", "Elo-Rd": "ERd", "Dara-Vd": "DVd", "KdD": "DKd", "Dara-Kd": "DKd",
                        "Dara-Pd": "DPd", "VPd": "PVd", "Isa-Pd": "IsaPd", "CyBorD": "VCd", "Elo-Pd": "EPd",
                        "Dara-KPd": "DKPd", "melflufen-dex": "Md", "Thal-dex": "Td", "Blenrep": "belantamab",
                        "Abecma": "ide-cel", "Carvykti": "cilta-cel", "Tecvayli": "teclistamab", "ASCT": "auto-HCT",
                        # 2026 edition
                        "Isa-Kd": "IsaKd", "KdIsa": "IsaKd", "Tec-Dara": "Tec-D", "TecDara": "Tec-D",
                        "teclistamab-daratumumab": "Tec-D", "Elrexfio": "elranatamab", "Talvey": "talquetamab",
                        "Lynozyfic": "linvoseltamab"}
SPEC_CAUTIONS = [
    "covid_vaccination",
    "infection",
    "thrombosis",
    "cardiac",
    "neuropathy",
    "cytopenias",
    "gi_toxicity",
    "cross_resistance",
    "len_maintenance",
    "premedication",
    "second_primary_malignancy",
    "infusion_reaction",
    "crs_neurotoxicity",
    "ocular_toxicity",
    "regulatory_status",
    "transplant_risks",
    "frailty",
    "t11_14_required",
    # 2026 edition
    "car_t_late_effects",
    "hypogammaglobulinemia",
    "gprc5d_toxicity",
    "blood_bank_interference",
    # 2026-12
    "renal_impairment",
]
SPEC_TRIALS = [
    "POLLUX",
    "ASPIRE",
    "TOURMALINE-MM1",
    "ELOQUENT-2",
    "CASTOR",
    "LEPUS",
    "CANDOR",
    "EVOLUTION",
    "BOSTON",
    "HORIZON",
    "DREAMM-3",
    "APOLLO",
    "ICARIA-MM",
    "OPTIMISMM",
    "ELOQUENT-3",
    "DREAMM-2",
    "PANORAMA-2",
    "STORM",
    "KarMMa",
    "CARTITUDE-1",
    "MajesTEC-1",
    "DREAMM-7",
    "PANORAMA-1",
    "Myeloma X",
    # 2026 edition
    "IKEMA",
    "CARTITUDE-4",
    "KarMMa-3",
    "MagnetisMM-3",
    "MonumenTAL-1",
    "LINKER-MM1",
    "DREAMM-8",
    "CANOVA",
    "MajesTEC-3",
]


@pytest.mark.parametrize("alias,drug", sorted(SPEC_ALIASES.items()))
def test_every_spec_drug_alias_normalises(alias, drug):
    assert K.drug_id(alias) == drug and K.drug_id(alias.upper()) == drug


def test_catalog_matches_spec_codes_and_aliases():
    assert sorted(K.regimens) == sorted(SPEC_REGIMENS)
    assert sorted(K.transplants) == ["allo-HCT", "auto-HCT", "auto-HCT-2"]
    for alias, code in SPEC_REGIMEN_ALIASES.items():
        assert K.regimen_code(alias) == code and K.regimen_code(alias.lower()) == code


def test_caution_and_trial_ids_match_spec():
    assert sorted(K.cautions) == sorted(SPEC_CAUTIONS)
    assert sorted(K.trials) == sorted(SPEC_TRIALS)


def test_every_trial_has_the_required_record():
    for t in K.trials.values():
        assert t.comparison and t.setting and t.result and t.source and t.checked
        assert t.regimens and all(r in K.regimens or r in K.transplants for r in t.regimens)


def test_aliases_are_unique_across_drugs_and_across_regimens():
    seen = {}
    for d in K.drugs.values():
        for a in (d.id, *d.aliases):
            assert seen.setdefault(fold(a), d.id) == d.id
    seen = {}
    for r in (*K.regimens.values(), *K.transplants.values()):
        for a in (r.code, *r.aliases):
            assert seen.setdefault(fold(a), r.code) == r.code


def test_unknown_names_suggest_the_closest():
    with pytest.raises(UnknownName) as err:
        K.drug_id("daratumamab")
    assert err.value.suggestions[0] == "daratumumab"
    with pytest.raises(UnknownName):
        K.regimen_code("XYZ")


def test_knowledge_version_changes_when_data_change(tmp_path):
    copy = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, copy)
    assert load(copy).version == K.version
    trials = copy / "trials.yml"
    trials.write_text(trials.read_text().replace("37% lower risk", "36% lower risk"))
    assert load(copy).version != K.version


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda d: d["regimens"][0]["components"].append("aspirin"), "component 'aspirin' is not a drug id"),
        (lambda d: d["regimens"][1]["aliases"].append("Dara-Rd"), "names both"),
        (lambda d: d["regimens"][0]["trials"].append("NOPE-1"), "trial NOPE-1 not in trials.yml"),
        (lambda d: d["regimens"][0].update(intensity="sextuplet"), "intensity"),
    ],
)
def test_invalid_knowledge_is_refused_with_the_entry_named(tmp_path, mutate, message):
    copy = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, copy)
    path = copy / "regimens.yml"
    data = yaml.safe_load(path.read_text())
    mutate(data)
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(KnowledgeError, match=message.replace("(", r"\(")):
        load(copy)


def _load_changed(tmp_path, name, mutate):
    copy = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, copy)
    path = copy / name
    data = yaml.safe_load(path.read_text())
    mutate(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return lambda: load(copy)


def _trial(d, tid):
    return next(t for t in d["trials"] if t["id"] == tid)


def _regimen(d, code):
    return next(r for r in d["regimens"] if r["code"] == code)


def _drop_candidate(d, code):
    for setting in d["settings"]:
        for tier in ("preferred", "recommended", "circumstances"):
            setting[tier] = [c for c in setting.get(tier) or [] if c["regimen"] != code]
    d["every_relapse"]["candidates"] = [c for c in d["every_relapse"]["candidates"] if c["regimen"] != code]


@pytest.mark.parametrize(
    "name,mutate,message",
    [
        # regimen -> trial and trial -> regimen links must agree, in both directions
        ("trials.yml", lambda d: _trial(d, "CANDOR")["regimens"].append("KRd"),
         "trials.yml: CANDOR: lists regimen KRd, but regimens.yml: KRd does not list CANDOR"),
        ("trials.yml", lambda d: _trial(d, "ASPIRE").update(regimens=["IRd"]),
         "regimens.yml: KRd: lists trial ASPIRE, but trials.yml: ASPIRE does not list KRd"),
        # every regimen must be reachable from a setting, the frail list or the untried-class list
        ("regimens.yml", lambda d: d["regimens"].append(
            {"code": "XRd", "name": "x", "components": ["lenalidomide", "dexamethasone"], "intensity": "triplet"}),
         "regimens.yml: XRd: unreachable"),
        # 2026 edition: the tier tables and the every-relapse list name `trial`; without them it is unreachable
        ("settings.yml", lambda d: _drop_candidate(d, "trial"), "regimens.yml: trial: unreachable"),
    ],
)
def test_inconsistent_knowledge_stops_the_load_naming_the_entry(tmp_path, name, mutate, message):
    with pytest.raises(KnowledgeError, match=re.escape(message)):
        _load_changed(tmp_path, name, mutate)()


@pytest.mark.parametrize(
    "name,mutate,message",
    [
        ("texts.yml", lambda d: d["exclusions"].pop("label"), "texts.yml: exclusions.label missing"),
        ("texts.yml", lambda d: d["exclusions"].update(unavailable="{drug} is not available in {country}"),
         "texts.yml: exclusions.unavailable: names a value it is not given"),
        ("case.yml", lambda d: d["flags"]["comorbidity"].pop("neuropathy") and None, None),
    ],
)
def test_fixed_sentences_and_case_vocabulary_are_checked(tmp_path, name, mutate, message):
    loader = _load_changed(tmp_path, name, mutate)
    if message:
        with pytest.raises(KnowledgeError, match=re.escape(message)):
            loader()
    else:  # a flag named by a caution that case.yml no longer lists
        with pytest.raises(KnowledgeError, match="neuropathy"):
            loader()


def test_labels_and_sentences_come_from_the_knowledge_base():
    assert K.flag_labels["neuropathy"] == "existing peripheral neuropathy"
    assert K.high_risk_spellings["del(17p)"] == "del17p" and set(K.high_risk) >= {"del17p", "t(4;14)"}
    assert (K.say("exclusions.label", region="US", label=">= 4 prior lines", values="3 prior lines")
            == "US label: >= 4 prior lines (case: 3 prior lines)")


# ---- 2026 edition: tier table, labels by region, trials' publications and dates --------------------------------
SPEC_TIER_TABLE = {  # clinical-spec.md section 7.3, in evidence order
    "S1": (["DRd", "KRd", "Tec-D", "DKd", "IsaKd"], ["DVd", "IRd", "ERd", "BVd"], []),
    "S2": (["Tec-D", "DPd", "DKd", "IsaKd", "cilta-cel"], ["DVd", "IsaPd", "PVd", "KPd", "BVd", "BPd", "SVd"], []),
    "S3": (["KPd", "cilta-cel", "ide-cel"], ["PVd", "SVd", "BPd", "EPd"], ["VCd", "BVd"]),
    "S4": (["Tec-D", "DPd", "DKd", "IsaKd", "cilta-cel"], ["EPd", "IsaPd", "KPd", "DKPd", "BPd", "ide-cel"], []),
    "S5": (["cilta-cel", "ide-cel", "teclistamab", "elranatamab", "linvoseltamab", "talquetamab", "trial"],
           ["KPd", "SVd", "BVd", "BPd", "EPd", "Sd"], ["VDT-PACE", "DCEP", "Md", "belantamab", "Benda"]),
    "S6": (["cilta-cel", "ide-cel", "teclistamab", "elranatamab", "linvoseltamab", "talquetamab", "trial"],
           ["Sd", "Ven-d"], ["VDT-PACE", "DCEP", "Benda", "Pano-Vd", "Md", "belantamab"]),
}
# clinical-spec.md section 8: option -> (binding, US status, US min lines, EU status, EU min lines)
SPEC_LABELS = {
    "cilta-cel": (True, "approved", 1, "approved", 1), "ide-cel": (True, "approved", 2, "approved", 2),
    "teclistamab": (True, "accelerated", 4, "conditional", 3), "Tec-D": (True, "approved", 1, "pending", 1),
    "elranatamab": (True, "accelerated", 4, "conditional", 3),
    "talquetamab": (True, "accelerated", 4, "conditional", 3),
    "linvoseltamab": (True, "accelerated", 4, "conditional", 3), "BVd": (True, "approved", 2, "approved", 1),
    "BPd": (True, "not_approved", 0, "approved", 1), "IsaKd": (False, "approved", 1, "approved", 1),
    "belantamab": (False, "withdrawn", 0, "withdrawn", 0), "Md": (False, "withdrawn", 0, "approved", 3),
    "Sd": (False, "accelerated", 4, "approved", 4), "Pano-Vd": (False, "withdrawn", 0, "check_local", 0),
    "Ven-d": (False, "off_label", 0, "off_label", 0),
    # 2026-12: a row for every regimen of the catalog
    "DRd": (False, "approved", 1, "approved", 1), "DVd": (False, "approved", 1, "approved", 1),
    "KRd": (False, "approved", 1, "approved", 1), "IRd": (False, "approved", 1, "approved", 1),
    "ERd": (False, "approved", 1, "approved", 1), "DKd": (False, "approved", 1, "approved", 1),
    "DPd": (False, "approved", 1, "approved", 1), "IsaPd": (False, "approved", 2, "approved", 2),
    "EPd": (False, "approved", 2, "approved", 2), "PVd": (False, "not_approved", 0, "approved", 1),
    "SVd": (False, "approved", 1, "approved", 1), "Rd": (False, "approved_undated", 1, "approved_undated", 1),
    "Vd": (False, "approved_undated", 0, "approved_undated", 1), "Kd": (False, "approved_undated", 1,
                                                                         "approved_undated", 1),
    "Pd": (False, "approved", 2, "approved", 2), "D": (False, "approved", 3, "approved", 0),
    **{code: (False, "off_label_combination", 0, "off_label_combination", 0)
       for code in ("KPd", "VCd", "DKPd", "Td", "VDT-PACE", "DCEP", "Benda")},
    "trial": (False, "protocol", 0, "protocol", 0),
}
SPEC_LABEL_DATES = {  # section 8: first approval of the combination for relapsed myeloma, by region (2026-12)
    "DRd": ("2016-11", "2017-04"), "DVd": ("2016-11", "2017-04"), "KRd": ("2015-07", "2015-11"),
    "IRd": ("2015-11", "2016-11"), "ERd": ("2015-11", "2016-05"), "DKd": ("2020-08", "2021-02"),
    "DPd": ("2021-07", "2021-06"), "IsaPd": ("2020-03", "2020-06"), "EPd": ("2018-11", "2019-08"),
    "PVd": ("", "2019-05"), "SVd": ("2020-12", "2022"), "Pd": ("2013-02", "2013-08"), "D": ("2015-11", "2016-05"),
}
SPEC_PUBLICATIONS = {  # clinical-spec.md section 6
    "POLLUX": "Dimopoulos et al., N Engl J Med 2016", "ASPIRE": "Stewart et al., N Engl J Med 2015",
    "TOURMALINE-MM1": "Moreau et al., N Engl J Med 2016", "ELOQUENT-2": "Lonial et al., N Engl J Med 2015",
    "CASTOR": "Palumbo et al., N Engl J Med 2016", "CANDOR": "Dimopoulos et al., Lancet 2020",
    "EVOLUTION": "Kumar et al., Blood 2012", "BOSTON": "Grosicki et al., Lancet 2020",
    "HORIZON": "Richardson et al., J Clin Oncol 2021", "KarMMa": "Munshi et al., N Engl J Med 2021",
    "CARTITUDE-1": "Berdeja et al., Lancet 2021", "MajesTEC-1": "Moreau et al., N Engl J Med 2022",
    "DREAMM-2": "Lonial et al., Lancet Oncol 2020", "PANORAMA-2": "Richardson et al., Blood 2013",
    "Myeloma X": "Cook et al., Lancet Oncol 2014", "LEPUS": "RRMM review", "DREAMM-3": "RRMM review",
    "IKEMA": "Moreau et al., Lancet 2021", "CARTITUDE-4": "San-Miguel et al., N Engl J Med 2023",
    "KarMMa-3": "Rodriguez-Otero et al., N Engl J Med 2023", "MagnetisMM-3": "Lesokhin et al., Nat Med 2023",
    "MonumenTAL-1": "Chari et al., N Engl J Med 2022", "LINKER-MM1": "Bumma et al., J Clin Oncol 2024",
    "DREAMM-7": "Hungria et al., N Engl J Med 2024", "DREAMM-8": "Dimopoulos et al., N Engl J Med 2024",
}


def test_tier_table_is_the_spec_table():
    for s in K.settings:
        rows = tuple([c.regimen for c in s.candidates if c.tier == tier]
                     for tier in ("preferred", "recommended", "circumstances"))
        assert rows == SPEC_TIER_TABLE[s.id], s.id


def test_labels_are_the_spec_labels_by_region():
    assert set(K.labels) == set(SPEC_LABELS) and K.regions == ("US", "EU")
    for code, (binding, us, us_lines, eu, eu_lines) in SPEC_LABELS.items():
        label = K.labels[code]
        assert label.binding is binding, code
        assert (label.regions["US"].status, label.regions["US"].min_prior_lines) == (us, us_lines), code
        assert (label.regions["EU"].status, label.regions["EU"].min_prior_lines) == (eu, eu_lines), code
        for rl in label.regions.values():
            undated = ("not_approved", "off_label", "check_local", "off_label_combination", "approved_undated",
                       "protocol")
            assert rl.line.startswith(f"{rl.region}: ") and (rl.date or rl.status in undated), code
    for code, (us, eu) in SPEC_LABEL_DATES.items():
        assert (K.labels[code].regions["US"].date, K.labels[code].regions["EU"].date) == (us, eu), code
    # 2026-12 rows carry their source and the date checked
    for code in set(SPEC_LABEL_DATES) | {"KPd", "VCd", "DKPd", "Td", "VDT-PACE", "DCEP", "Benda", "Rd", "Vd", "Kd"}:
        assert K.labels[code].source and K.labels[code].checked == "2026-12-07", code
    assert K.labels["cilta-cel"].regions["US"].lenalidomide_refractory
    assert K.labels["BPd"].regions["EU"].prior_drugs == ("lenalidomide",)
    assert K.labels["Md"].regions["EU"].hct_min_months == 36 and K.labels["IsaKd"].regions["US"].max_prior_lines == 3


def test_every_trial_cites_its_publication_and_the_date_it_was_checked():
    assert K.edition == "2026-12" and K.checked == "2026-12-07"
    for tid, source in SPEC_PUBLICATIONS.items():
        assert K.trials[tid].source == source, tid
    # trial records were checked for the 2026 edition; the 2026-12 revision changed none of them
    assert all(t.checked in ("2026-11-26", "2026-12-07") for t in K.trials.values())
    assert "CANOVA" in K.trials["CANOVA"].source and "HR 0.17" in K.trials["MajesTEC-3"].result


def test_no_knowledge_text_names_the_source_text_seed():
    def strings(node):
        if isinstance(node, dict):
            for key, value in node.items():
                yield str(key)
                yield from strings(value)
        elif isinstance(node, list):
            for value in node:
                yield from strings(value)
        elif isinstance(node, str):
            yield node

    for path in KNOWLEDGE_DIR.glob("*.yml"):
        found = [s for s in strings(yaml.safe_load(path.read_text())) if re.search(r"\bseed\b", s, re.I)]
        assert not found, (path.name, found)


def test_new_drugs_classes_and_errata():
    assert K.drugs["talquetamab"].drug_class == "GPRC5D" and K.drugs["talquetamab"].modality == "bispecific"
    assert {K.drugs[d].drug_class for d in ("elranatamab", "linvoseltamab")} == {"BCMA"}
    assert K.regimens["Tec-D"].components == ("teclistamab", "daratumumab")
    assert "both arms contained lenalidomide" in K.cautions["second_primary_malignancy"].notes["ERd"]
    assert "36.6 vs 13.4" in K.trials["DREAMM-7"].result and ">= 1 prior line" in K.trials["DREAMM-7"].setting


def _label(d, code):
    return d["labels"][code]


@pytest.mark.parametrize(
    "name,mutate,message",
    [
        ("labels.yml", lambda d: d["labels"].update(XRd={"binding": True, "US": {}, "EU": {}}),
         "labels.yml: XRd: not a regimen of the catalog"),
        ("labels.yml", lambda d: _label(d, "BVd")["US"].update(min_lines=2), "labels.yml: BVd: US: unknown keys"),
        ("labels.yml", lambda d: _label(d, "BVd")["EU"].update(status="provisional"), "labels.yml: BVd: EU: status"),
        ("labels.yml", lambda d: _label(d, "BVd")["US"].update(prior_classes=["PI", "XYZ"]),
         "labels.yml: BVd: US: class 'XYZ'"),
        ("labels.yml", lambda d: _label(d, "BVd").pop("EU"), "labels.yml: BVd: EU missing"),
        ("settings.yml", lambda d: d["settings"][0]["preferred"].append({"regimen": "XRd", "note": "x"}),
         "settings.yml: S1: preferred: XRd is not in the catalog"),
        ("settings.yml", lambda d: d["settings"][0]["recommended"].append({"regimen": "DRd", "note": "x"}),
         "settings.yml: S1: DRd listed twice"),
        ("settings.yml", lambda d: d["settings"][0].update(listed=[]), "settings.yml: S1: unknown keys ['listed']"),
        ("cautions.yml", lambda d: d["cautions"][1].update(high_with={"patient": ["cardiac_disease"]}),
         "cautions.yml: infection: unknown high_with key patient"),
        ("cautions.yml", lambda d: d["cautions"][1]["notes"].update(XYZ="x"),
         "cautions.yml: infection: note for unknown"),
    ],
)
def test_inconsistent_2026_knowledge_stops_the_load_naming_the_entry(tmp_path, name, mutate, message):
    with pytest.raises(KnowledgeError, match=re.escape(message)):
        _load_changed(tmp_path, name, mutate)()
