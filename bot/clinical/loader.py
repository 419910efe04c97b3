"""Reading and checking the YAML files of bot/clinical/knowledge into a KnowledgeBase: a file or entry that is
inconsistent stops the load with a KnowledgeError naming the file and the entry.

Imports: the standard library, PyYAML and bot.clinical (entries, knowledge).
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Dict, List, Mapping, Tuple, Union

import yaml

from .entries import (
    DERIVED_TRIGGERS,
    FILES,
    FLAG_GROUPS,
    INTENSITIES,
    KNOWLEDGE_DIR,
    OPTION_TRIGGERS,
    OPTIONAL_TEXT_SLOTS,
    SEVERITIES,
    TEXT_SLOTS,
    TIERS,
    Candidate,
    Caution,
    Demotion,
    Drug,
    KnowledgeError,
    Regimen,
    Setting,
    Trial,
    fold,
)
from .knowledge import KnowledgeBase
from .labels import labels_of


# ---- loading and validation ---------------------------------------------------------------
def _read(directory: Path) -> Tuple[Dict[str, object], str]:
    docs, digest = {}, hashlib.sha256()
    for name in FILES:
        path = directory / name
        raw = path.read_bytes()
        digest.update(name.encode() + b"\0" + raw + b"\0")
        try:
            docs[name] = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise KnowledgeError(f"{name}: not valid YAML: {exc}") from None
    return docs, digest.hexdigest()[:12]


def _require(cond: bool, where: str, problem: str) -> None:
    if not cond:
        raise KnowledgeError(f"{where}: {problem}")


def _index(kind: str, entries: List[Tuple[str, Tuple[str, ...]]], where: str) -> Dict[str, str]:
    index: Dict[str, str] = {}
    for canonical, aliases in entries:
        for surface in (canonical, *aliases):
            key = fold(surface)
            other = index.get(key)
            _require(other is None or other == canonical, where,
                     f"{kind} alias '{surface}' names both '{other}' and '{canonical}'")
            index[key] = canonical
    return index


def _case_vocabulary(doc: Mapping[str, object]) -> Tuple[Dict[str, Dict[str, str]], Dict[str, Tuple[str, ...]]]:
    flags = doc.get("flags") or {}
    _require(set(flags) == set(FLAG_GROUPS), "case.yml: flags", f"groups must be {', '.join(FLAG_GROUPS)}")
    seen: set = set()
    for group, entries in flags.items():
        for name, label in entries.items():
            _require(name not in seen, f"case.yml: flags.{group}", f"{name} listed twice")
            _require(isinstance(label, str) and bool(label), f"case.yml: flags.{group}.{name}", "label missing")
            seen.add(name)
    high_risk = {code: tuple(aliases or ()) for code, aliases in (doc.get("high_risk_cytogenetics") or {}).items()}
    _require(bool(high_risk), "case.yml", "high_risk_cytogenetics missing")
    return {g: dict(e) for g, e in flags.items()}, high_risk


def _text_node(texts: Mapping[str, object], key: str) -> object:
    node: object = texts
    for part in key.split("."):
        if not (isinstance(node, dict) and part in node):
            return None
        node = node[part]  # type: ignore[index]
    return node


def _check_texts(texts: Mapping[str, object]) -> None:
    """Every sentence of TEXT_SLOTS exists, and each of OPTIONAL_TEXT_SLOTS that exists; each names only its own
    values."""
    for key, slots in (*TEXT_SLOTS.items(), *OPTIONAL_TEXT_SLOTS.items()):
        node = _text_node(texts, key)
        if node is None and key in OPTIONAL_TEXT_SLOTS:
            continue
        _require(node is not None, "texts.yml", f"{key} missing")
        _require(isinstance(node, str) and bool(node), "texts.yml", f"{key} must be a sentence")
        try:
            str(node).format(**{name: "x" for name in slots})
        except (KeyError, IndexError, ValueError) as exc:
            raise KnowledgeError(f"texts.yml: {key}: names a value it is not given ({exc}); "
                                 f"it may use {', '.join(slots) or 'none'}") from None


def _check_links(regimens: Mapping[str, Regimen], transplants: Mapping[str, Regimen],
                 trials: Mapping[str, Trial]) -> None:
    """regimen -> trial and trial -> regimen links agree."""
    for reg in (*regimens.values(), *transplants.values()):
        for tid in reg.trials:
            _require(tid in trials, f"regimens.yml: {reg.code}", f"trial {tid} not in trials.yml")
            _require(reg.code in trials[tid].regimens, f"regimens.yml: {reg.code}",
                     f"lists trial {tid}, but trials.yml: {tid} does not list {reg.code}")
    for t in trials.values():
        for code in t.regimens:
            reg = regimens.get(code) or transplants[code]
            _require(t.id in reg.trials, f"trials.yml: {t.id}",
                     f"lists regimen {code}, but regimens.yml: {code} does not list {t.id}")


def _check_reachable(regimens: Mapping[str, Regimen], lists: Mapping[str, set]) -> None:
    """Every catalog regimen can be offered: some candidate list (a setting's tier table, the every-relapse,
    frail or untried-class list, or a label rule) names it."""
    reachable = set().union(*lists.values())
    for code in regimens:
        _require(code in reachable, f"regimens.yml: {code}",
                 "unreachable: no setting, every-relapse, frail or untried-class list or label rule names it")


def _settings(s: Mapping[str, object], regimens: Mapping[str, Regimen], drugs: Mapping[str, Drug],
              classes: Mapping[str, object]) -> Tuple[Setting, ...]:
    """The settings and their tier table rows (settings.yml), checked."""
    settings = []
    for entry in s["settings"]:
        where = f"settings.yml: {entry['id']}"
        cond = {k: tuple(v) for k, v in entry["condition"].items()}
        for k, names in cond.items():
            _require(k in ("refractory", "refractory_any", "none_refractory", "refractory_class_all"),
                     where, f"unknown condition {k}")
            for n in names:
                _require(n in (classes if k == "refractory_class_all" else drugs), where, f"unknown name {n}")
        unknown = set(entry) - {"id", "name", "short_name", "source", "condition", *TIERS}
        _require(not unknown, where, f"unknown keys {sorted(unknown)} (tiers are {', '.join(TIERS)})")
        cands: List[Candidate] = []
        for tier in TIERS:
            for c in entry.get(tier) or []:
                code = c.get("regimen")
                _require(code in regimens, where, f"{tier}: {code} is not in the catalog")
                _require(set(c) <= {"regimen", "note", "source", "checked", "demote_when_aggressive"}, where,
                         f"unknown keys in candidate {code}")
                _require(bool(c.get("note")), where, f"{tier}: {code}: note missing")
                _require(all(x.regimen != code for x in cands), where, f"{code} listed twice")
                cands.append(Candidate(code, tier, c["note"], c.get("source") or entry["source"],
                                       bool(c.get("demote_when_aggressive", False))))
        _require(bool(entry.get("short_name")), where, "short_name missing")
        settings.append(Setting(entry["id"], entry["name"], entry["short_name"], entry["source"], cond, tuple(cands)))
    _require([x.id for x in settings] == ["S1", "S2", "S3", "S4", "S5", "S6"], "settings.yml",
             "settings S1-S6 in order")
    return tuple(settings)


def load(directory: Union[str, Path] = KNOWLEDGE_DIR) -> KnowledgeBase:
    """The knowledge base of `directory` (default: the current edition, bot/clinical/knowledge). Any directory
    holding the same files loads, e.g. a frozen copy of an older edition (tests/fixtures/knowledge-2026-11), so
    that a case can be replayed through an older and the current knowledge: `recommend(case, load(path))`."""
    directory = Path(directory)
    if not directory.is_dir():
        raise KnowledgeError(f"{directory}: not a directory of knowledge files")
    missing = [name for name in FILES if not (directory / name).is_file()]
    if missing:
        raise KnowledgeError(f"{directory}: missing {', '.join(missing)}")
    docs, version = _read(directory)
    flags, high_risk = _case_vocabulary(docs["case.yml"])
    patient_flags = {f for group in flags.values() for f in group}
    d = docs["drugs.yml"]
    classes = d["classes"]
    drugs: Dict[str, Drug] = {}
    for drug_id, entry in d["drugs"].items():
        where = f"drugs.yml: drug {drug_id}"
        _require(drug_id == drug_id.lower(), where, "ids are lower case")
        _require(entry.get("class") in classes, where, f"unknown class {entry.get('class')!r}")
        drugs[drug_id] = Drug(drug_id, entry["class"], tuple(entry.get("aliases", [])), entry.get("modality"))
    drug_index = _index("drug", [(k, v.aliases) for k, v in drugs.items()], "drugs.yml")
    modalities = {x.modality for x in drugs.values() if x.modality}

    r = docs["regimens.yml"]
    regimens: Dict[str, Regimen] = {}
    transplants: Dict[str, Regimen] = {}
    for target, key in ((regimens, "regimens"), (transplants, "transplants")):
        for entry in r[key]:
            code = entry["code"]
            where = f"regimens.yml: {code}"
            _require(code not in regimens and code not in transplants, where, "duplicate code")
            unknown = set(entry) - {"code", "name", "components", "aliases", "intensity", "trials",
                                    "allowed_refractory", "requires_t11_14", "salvage_note", "cite_by_prior_lines"}
            _require(not unknown, where, f"unknown keys {sorted(unknown)} (labels by region: labels.yml)")
            comps = tuple(entry.get("components", []))
            for comp in comps:
                _require(comp in drugs, where, f"component '{comp}' is not a drug id")
            intensity = entry.get("intensity", "transplant" if key == "transplants" else None)
            _require(key == "transplants" or intensity in INTENSITIES, where, f"intensity {intensity!r}")
            allowed = frozenset(entry.get("allowed_refractory", []))
            _require(allowed <= set(comps), where, "allowed_refractory must name components")
            cite = {}
            for tid, bounds in (entry.get("cite_by_prior_lines") or {}).items():
                _require(tid in entry.get("trials", []), where, f"cite_by_prior_lines: {tid} is not one of its trials")
                _require(isinstance(bounds, list) and len(bounds) == 2 and isinstance(bounds[0], int)
                         and (bounds[1] is None or isinstance(bounds[1], int)), where,
                         f"cite_by_prior_lines: {tid} needs [low, high or null]")
                cite[tid] = (bounds[0], bounds[1])
            target[code] = Regimen(
                code=code, name=entry["name"], components=comps, aliases=tuple(entry.get("aliases", [])),
                intensity=intensity, trials=tuple(entry.get("trials", [])), index=len(regimens) + len(transplants),
                allowed_refractory=allowed, requires_t11_14=bool(entry.get("requires_t11_14", False)),
                salvage_note=entry.get("salvage_note", ""), cite_by_prior_lines=cite,
            )
            _require(not allowed or bool(target[code].salvage_note), where, "allowed_refractory needs a salvage_note")
    all_regimens = {**regimens, **transplants}
    regimen_index = _index("regimen", [(k, v.aliases) for k, v in all_regimens.items()], "regimens.yml")

    s = docs["settings.yml"]
    settings = _settings(s, regimens, drugs, classes)
    every = []
    for c in s["every_relapse"]["candidates"]:
        where = f"settings.yml: every_relapse: {c.get('regimen')}"
        _require(c.get("regimen") in regimens, where, "not in the catalog")
        _require(c.get("tier") in TIERS, where, f"tier {c.get('tier')!r}")
        every.append(Candidate(c["regimen"], c["tier"], c["note"], s["every_relapse"]["source"]))
    frail = s["frail"]
    for code, tier in frail["regimens"].items():
        _require(code in regimens, "settings.yml: frail", f"{code} is not in the catalog")
        _require(tier in TIERS, f"settings.yml: frail: {code}", f"tier {tier!r}")
    for code in (*frail.get("label_required", []), *frail.get("excluded_regimens", {})):
        _require(code in regimens, "settings.yml: frail", f"{code} is not in the catalog")
    for intensity in frail.get("excluded_intensities", []):
        _require(intensity in INTENSITIES, "settings.yml: frail", f"intensity {intensity!r}")
    for code in s["untried_class"]["regimens"]:
        _require(code in regimens, "settings.yml: untried_class", f"{code} is not in the catalog")
    for cls in s["untried_class"]["classes"]:
        _require(cls in classes, "settings.yml: untried_class", f"unknown class {cls}")
    for key, section in (("untried_class", s["untried_class"]), ("label_driven", s["label_driven"]),
                         ("aggressive_lift", {"tier": s["aggressive_lift"]["to"]})):
        _require(section.get("tier") in TIERS, f"settings.yml: {key}", f"tier {section.get('tier')!r}")
    lift = s["aggressive_lift"]
    for code in lift["regimens"]:
        _require(code in regimens, "settings.yml: aggressive_lift", f"{code} is not in the catalog")
    for sid in lift.get("settings", []):
        _require(sid in {x.id for x in settings}, "settings.yml: aggressive_lift", f"unknown setting {sid}")
    for m in lift["never_above_modalities"]:
        _require(m in modalities, "settings.yml: aggressive_lift", f"unknown modality {m!r}")
    mp = s["maintenance_progression"]
    maintenance_drug = mp["drug"]
    _require(maintenance_drug in drugs, "settings.yml: maintenance_progression", f"unknown drug {maintenance_drug}")
    counts_as = mp.get("counts_as", "sensitive")  # 2026-11: sensitive (no key); 2026-12: refractory
    _require(counts_as in ("sensitive", "refractory"), "settings.yml: maintenance_progression",
             f"counts_as {counts_as!r} (sensitive or refractory)")
    for code in mp.get("regimens", []):
        _require(code in regimens and maintenance_drug in regimens[code].components,
                 "settings.yml: maintenance_progression", f"{code} must be a regimen with {maintenance_drug}")
    if mp.get("regimens"):
        _require(mp.get("tier") in TIERS and bool(mp.get("note")), "settings.yml: maintenance_progression",
                 "regimens need a tier and a note")
    early = s.get("early_relapse") or {}
    _require(not early or isinstance(early.get("months"), int), "settings.yml: early_relapse", "months missing")
    referral = frozenset((s.get("aggressive_referral") or {}).get("modalities", []))
    _require(referral <= modalities, "settings.yml: aggressive_referral", "unknown modality")
    bridging = s.get("aggressive_bridging") or {}
    for code in bridging.get("regimens", []):
        _require(code in regimens, "settings.yml: aggressive_bridging", f"{code} is not in the catalog")
    if bridging:
        _require(bridging.get("tier") in TIERS and bool(bridging.get("note")), "settings.yml: aggressive_bridging",
                 "tier and note needed")
        for fit in bridging.get("fitness", []):
            _require(fit in ("fit", "intermediate", "frail"), "settings.yml: aggressive_bridging", f"fitness {fit!r}")
    second = s.get("second_transplant") or {}
    exposure_notes = []
    for entry in s.get("after_exposure_notes", []):
        where = f"settings.yml: after_exposure_notes: {entry.get('regimens')}"
        for code in entry.get("regimens", []):
            _require(code in regimens, where, f"{code} is not in the catalog")
        _require(set(entry.get("after_classes", [])) <= set(classes), where, "unknown class")
        _require(set(entry.get("after_modalities", [])) <= modalities, where, "unknown modality")
        _require(bool(entry.get("note")) and bool(entry.get("regimens")), where, "regimens and note needed")
        exposure_notes.append((frozenset(entry["regimens"]), frozenset(entry.get("after_classes", [])),
                               frozenset(entry.get("after_modalities", [])), str(entry["note"])))
    same_modality = {}
    for cls, entry in classes.items():
        rule = entry.get("refractory_same_modality")
        if rule:
            where = f"drugs.yml: class {cls}: refractory_same_modality"
            _require(rule.get("tier") in TIERS, where, f"tier {rule.get('tier')!r}")
            _require(set(rule.get("notes") or {}) <= modalities and bool(rule.get("notes")), where,
                     "notes by modality needed")
            same_modality[cls] = (rule["tier"], dict(rule["notes"]))
    driven = s["label_driven"].get("regimens")
    for code in driven or []:
        _require(code in regimens, "settings.yml: label_driven", f"{code} is not in the catalog")

    t = docs["trials.yml"]
    trials: Dict[str, Trial] = {}
    for entry in t["trials"]:
        where = f"trials.yml: {entry['id']}"
        for key in ("comparison", "setting", "result", "source", "checked"):
            _require(bool(entry.get(key)), where, f"missing {key}")
        for code in entry["regimens"]:
            _require(code in all_regimens, where, f"regimen {code} unknown")
        trials[entry["id"]] = Trial(
            entry["id"],
            tuple(entry["regimens"]),
            entry["comparison"],
            entry["setting"],
            entry["result"],
            entry["source"],
            str(entry["checked"]),
        )
    _check_links(regimens, transplants, trials)
    trial_index = _index("trial", [(k, ()) for k in trials], "trials.yml")

    c = docs["cautions.yml"]
    known = {
        "drugs": drugs,
        "classes": classes,
        "regimens": regimens,
        "transplant": transplants,
        "patient": patient_flags,
        "derived": DERIVED_TRIGGERS,
        "modalities": modalities,
    }
    note_keys = {*regimens, *drugs, *classes, *modalities}
    cautions: Dict[str, Caution] = {}
    for entry in c["cautions"]:
        where = f"cautions.yml: {entry['id']}"
        _require(entry["severity"] in SEVERITIES, where, "severity")
        unknown = set(entry) - {"id", "severity", "high_when", "moderate_when", "high_with", "triggers", "text",
                                "notes", "source", "checked", "only_when", "title"}
        _require(not unknown, where, f"unknown keys {sorted(unknown)}")
        trig = entry["triggers"]
        for name, group in (("triggers", trig), ("high_with", entry.get("high_with") or {})):
            for k, v in group.items():
                if k == "always" and name == "triggers":
                    continue
                allowed = known if name == "triggers" else OPTION_TRIGGERS
                _require(k in allowed, where, f"unknown {name} key {k}")
                for n in v:
                    _require(n in known[k], where, f"{k} trigger {n!r} unknown")
        for cond in entry.get("high_when", []) + entry.get("moderate_when", []) + entry.get("only_when", []):
            _require(cond.lstrip("!") in patient_flags, where, f"condition {cond!r} unknown")
        for key in entry.get("notes", {}):
            _require(key in note_keys, where, f"note for unknown {key} (a regimen, drug, class or modality)")
        cautions[entry["id"]] = Caution(
            entry["id"],
            entry["severity"],
            entry["text"],
            entry["source"],
            trig,
            tuple(entry.get("high_when", [])),
            tuple(entry.get("moderate_when", [])),
            {k: tuple(v) for k, v in (entry.get("high_with") or {}).items()},
            dict(entry.get("notes", {})),
            tuple(entry.get("only_when", [])),
            str(entry.get("checked", "")),
            str(entry.get("title") or entry["id"].replace("_", " ")),
        )

    texts = docs["texts.yml"]
    _check_texts(texts)
    lab = docs["labels.yml"]
    for key in ("edition", "checked"):
        _require(bool(lab.get(key)), "labels.yml", f"{key} missing")
    labels = labels_of(lab, regimens, drugs, classes, texts)
    for key, needed in (("early_relapse_feature", early), ("initiation.refer_car_t", referral),
                        ("transplant.second_short_after_maintenance", second.get("after_maintenance_months"))):
        _require(not needed or _text_node(texts, key) is not None, "texts.yml", f"{key} missing")
    demotions = []
    for entry in s.get("demotions", []):
        where = f"settings.yml: demotions: {entry.get('flag')}"
        _require(entry.get("flag") in flags["comorbidity"], where, "flag must be a comorbidity of case.yml")
        for drug in entry.get("drugs", []):
            _require(drug in drugs, where, f"unknown drug {drug}")
        _require(bool(entry.get("why")), where, "why missing")
        demotions.append(Demotion(entry["flag"], frozenset(entry["drugs"]), entry["why"]))
    untried_regimens = tuple(s["untried_class"]["regimens"])
    _check_reachable(regimens, {
        "settings": {x.regimen for st in settings for x in st.candidates},
        "every_relapse": {x.regimen for x in every},
        "frail": set(frail["regimens"]),
        "untried": set(untried_regimens),
        "labels": {code for code, x in labels.items() if any(rl.has_rule for rl in x.regions.values())
                   and (driven is None or code in driven)},
        "bridging": set(bridging.get("regimens", [])),
        "maintenance": set(mp.get("regimens", [])),
    })
    if _text_node(texts, "label.no_entry") is None:  # 2026-12: every regimen has a label row
        for code in regimens:
            _require(code in labels, f"labels.yml: {code}", "no label row (every regimen of the catalog needs one)")

    return KnowledgeBase(
        version=version,
        edition=str(lab["edition"]),
        checked=str(lab["checked"]),
        classes=classes,
        drugs=drugs,
        regimens=regimens,
        transplants=transplants,
        settings=settings,
        every_relapse=tuple(every),
        every_relapse_source=s["every_relapse"]["source"],
        untried_classes=tuple(s["untried_class"]["classes"]),
        untried_regimens=untried_regimens,
        untried_source=s["untried_class"]["source"],
        untried_tier=s["untried_class"]["tier"],
        label_driven_tier=s["label_driven"]["tier"],
        label_driven_source=s["label_driven"]["source"],
        frail_tiers=dict(frail["regimens"]),
        frail_source=frail["source"],
        frail_label_required=frozenset(frail.get("label_required", [])),
        frail_excluded_intensities=frozenset(frail.get("excluded_intensities", [])),
        frail_excluded_regimens=dict(frail.get("excluded_regimens") or {}),
        maintenance_drug=maintenance_drug,
        lift_regimens=frozenset(lift["regimens"]),
        lift_to=lift["to"],
        lift_modalities=frozenset(lift["never_above_modalities"]),
        demotions=tuple(demotions),
        regions=tuple(lab["regions"]),
        labels=labels,
        label_class_words={cls: tuple(w) for cls, w in lab["class_words"].items()},
        cautions=cautions,
        trials=trials,
        texts=texts,
        flags=flags,
        high_risk=high_risk,
        _drug_index=drug_index,
        _regimen_index=regimen_index,
        _trial_index=trial_index,
        maintenance_counts_as=counts_as,
        maintenance_regimens=tuple(mp.get("regimens", [])),
        maintenance_tier=str(mp.get("tier", "")),
        maintenance_note=str(mp.get("note", "")),
        maintenance_source=str(mp.get("source", "")),
        early_relapse_months=early.get("months"),
        referral_modalities=referral,
        bridging_regimens=tuple(bridging.get("regimens", [])),
        bridging_tier=str(bridging.get("tier", "")),
        bridging_fitness=frozenset(bridging.get("fitness", [])),
        bridging_note=str(bridging.get("note", "")),
        bridging_extramedullary_note=str(bridging.get("extramedullary_note", "")),
        bridging_source=str(bridging.get("source", "")),
        second_hct_months=int(second.get("months", 18)),
        second_hct_after_maintenance_months=second.get("after_maintenance_months"),
        exposure_notes=tuple(exposure_notes),
        same_modality=same_modality,
        lift_settings=frozenset(lift.get("settings", [])),
        label_driven_regimens=None if driven is None else frozenset(driven),
    )
