"""The knowledge base: YAML files under bot/clinical/knowledge, validated when loaded.

`load()` reads and checks every file once and returns an immutable `KnowledgeBase`; `kb()` caches it.
Lookups (`drug_id`, `regimen_code`, `trial_id`) are case-insensitive over ids and aliases and raise
`UnknownName` with the closest known names.
"""
from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, List, Mapping, Optional, Tuple

import yaml

KNOWLEDGE_DIR = Path(__file__).parent / "knowledge"
FILES = ("drugs.yml", "regimens.yml", "settings.yml", "cautions.yml", "trials.yml", "texts.yml", "case.yml")

INTENSITIES = ("monotherapy", "doublet", "triplet", "quadruplet", "combination", "cell_therapy", "trial")
TIERS = ("preferred", "listed", "also")
SEVERITIES = ("info", "moderate", "high")
FLAG_GROUPS = ("aggressive", "comorbidity", "other")
# Caution triggers computed by the engine (cautions.yml `derived`).
DERIVED_TRIGGERS = ("cross_resistance", "len_maintenance", "frail")
# Every fixed sentence of texts.yml and the values it may name (checked at load).
TEXT_SLOTS: Dict[str, Tuple[str, ...]] = {
    "disclaimer": (),
    "initiation.monitor": (), "initiation.start": (), "initiation.start_immediately": (),
    "notes.fitness_unknown": (), "notes.aggressive_not_clinical": ("features",),
    "rationale.preferred": (), "rationale.setting": ("setting", "name", "note", "source"),
    "rationale.untried_class": ("drug", "drug_class", "source"), "rationale.frail": ("source",),
    "rationale.salvage": ("drug", "note"), "rationale.switch": ("drug", "refractory"),
    "rationale.ranked_lower": ("why",), "rationale.aggressive": (), "rationale.less_aggressive": ("code",),
    "exclusions.refractory": ("drug",), "exclusions.shared_target": ("drug", "refractory", "drug_class"),
    "exclusions.unavailable": ("drug",), "exclusions.t11_14_absent": (), "exclusions.t11_14_undocumented": (),
    "exclusions.prior_lines": ("needed", "case"), "exclusions.prior_classes": ("classes",),
    "exclusions.frail": ("intensity",), "exclusions.quadruplet": (), "exclusions.not_indicated": ("where",),
    "exclusions.no_relapse": (),
    "cross_resistance.salvage": ("drug", "note"), "cross_resistance.switch": ("drug", "refractory"),
    "because.always": (), "because.patient": ("label",), "because.patient_value": ("label", "value"),
    "because.raises": ("reason",), "because.transplant": ("code",), "because.len_maintenance": (),
    "because.frail": ("basis",),
    "transplant.auto_eligibility_unknown": (), "transplant.auto_not_eligible": (),
    "transplant.auto_prior_unknown": (), "transplant.auto_first_relapse": (), "transplant.auto_later_relapse": (),
    "transplant.auto_done": ("prior",), "transplant.second_eligibility_unknown": (),
    "transplant.second_not_eligible": (), "transplant.second_remission_unknown": (),
    "transplant.second_advised": ("months",), "transplant.second_short_remission": ("months",),
    "transplant.allo": (), "transplant.allo_discussed": (), "transplant.recommended": (),
    "transplant.not_recommended": (),
    "lenalidomide.maintenance": (), "lenalidomide.maintenance_overrides": (), "lenalidomide.listed": (),
    "lenalidomide.within_60_days": ("days",), "lenalidomide.after_60_days": ("days",),
    "lenalidomide.exposed": (), "lenalidomide.naive": (),
    "high_risk_feature": ("abnormalities",),
    "render.no_option": (),
}


class KnowledgeError(ValueError):
    """The knowledge base files are inconsistent; the message names the file and the entry."""


class UnknownName(KeyError):
    """A drug, regimen or trial name that the knowledge base does not know."""

    def __init__(self, kind: str, name: str, suggestions: List[str]):
        self.kind, self.name, self.suggestions = kind, name, suggestions
        hint = f"; closest known: {', '.join(suggestions)}" if suggestions else ""
        super().__init__(f"unknown {kind} '{name}'{hint}")

    def __str__(self) -> str:  # KeyError quotes its message otherwise
        return self.args[0]


def fold(name: str) -> str:
    """Case- and spacing-insensitive key: 'Dara-Rd', 'dara rd' and 'DARA_RD' fold alike."""
    return re.sub(r"[\s_\-]+", "-", name.strip().lower())


@dataclass(frozen=True)
class Drug:
    id: str
    drug_class: str
    aliases: Tuple[str, ...]
    modality: Optional[str] = None


@dataclass(frozen=True)
class Regimen:
    code: str
    name: str
    components: Tuple[str, ...]
    aliases: Tuple[str, ...]
    intensity: str
    trials: Tuple[str, ...]
    index: int  # position in the catalog: the fixed tie-break of R8
    allowed_refractory: FrozenSet[str] = frozenset()
    requires_t11_14: bool = False
    min_prior_lines: int = 0
    requires_prior_classes: Tuple[str, ...] = ()
    salvage_note: str = ""

    @property
    def active_components(self) -> Tuple[str, ...]:
        """Components other than the steroid backbone."""
        return tuple(c for c in self.components if c != "dexamethasone")


@dataclass(frozen=True)
class Candidate:
    regimen: str
    tier: str
    note: str
    demote_when_aggressive: bool = False


@dataclass(frozen=True)
class Setting:
    id: str
    name: str
    short_name: str  # for the assessment line ("lenalidomide-sensitive")
    source: str
    condition: Mapping[str, Tuple[str, ...]]
    candidates: Tuple[Candidate, ...]


@dataclass(frozen=True)
class Demotion:
    """R8: a case flag that moves regimens containing some drugs to the end of their tier."""

    flag: str
    drugs: FrozenSet[str]
    why: str


@dataclass(frozen=True)
class Caution:
    id: str
    severity: str
    text: str
    source: str
    triggers: Mapping[str, object]
    high_when: Tuple[str, ...] = ()
    moderate_when: Tuple[str, ...] = ()
    regimen_notes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Trial:
    id: str
    regimens: Tuple[str, ...]
    comparison: str
    setting: str
    result: str
    source: str
    checked: str


@dataclass(frozen=True)
class KnowledgeBase:
    version: str
    classes: Mapping[str, Mapping[str, object]]
    drugs: Mapping[str, Drug]
    regimens: Mapping[str, Regimen]  # catalog order
    transplants: Mapping[str, Regimen]
    settings: Tuple[Setting, ...]
    untried_classes: Tuple[str, ...]
    untried_regimens: Tuple[str, ...]
    untried_source: str
    frail_regimens: Tuple[str, ...]
    frail_source: str
    demotions: Tuple[Demotion, ...]
    cautions: Mapping[str, Caution]
    trials: Mapping[str, Trial]
    texts: Mapping[str, object]
    flags: Mapping[str, Mapping[str, str]]  # group -> {case field: label} (case.yml)
    high_risk: Mapping[str, Tuple[str, ...]]  # abnormality code -> other spellings (case.yml)
    _drug_index: Mapping[str, str]
    _regimen_index: Mapping[str, str]
    _trial_index: Mapping[str, str]

    # ---- case vocabulary and fixed sentences ----------------------------------------------------
    @cached_property
    def flag_labels(self) -> Mapping[str, str]:
        """Every boolean case flag -> its label for people."""
        return {f: label for group in self.flags.values() for f, label in group.items()}

    @property
    def aggressive_flags(self) -> Tuple[str, ...]:
        return tuple(self.flags["aggressive"])

    @cached_property
    def high_risk_spellings(self) -> Mapping[str, str]:
        """Folded spelling (lower case, no spaces) -> abnormality code, for every code and alias."""
        out = {}
        for code, aliases in self.high_risk.items():
            for spelling in (code, *aliases):
                out[spelling.lower().replace(" ", "")] = code
        return out

    def say(self, key: str, **values: object) -> str:
        """The fixed sentence `key` of texts.yml ("section.name") with its values filled in."""
        node: object = self.texts
        for part in key.split("."):
            node = node[part]  # type: ignore[index]
        return str(node).format(**values) if values else str(node)

    # ---- look-ups -------------------------------------------------------------------------
    def drug_id(self, name: str) -> str:
        return self._lookup("drug", name, self._drug_index)

    def regimen_code(self, name: str) -> str:
        """A regimen or transplant code from any alias."""
        return self._lookup("regimen", name, self._regimen_index)

    def trial_id(self, name: str) -> str:
        return self._lookup("trial", name, self._trial_index)

    def regimen(self, code: str) -> Regimen:
        code = self.regimen_code(code)
        return self.regimens.get(code) or self.transplants[code]

    def drug_aliases(self) -> Dict[str, str]:
        """Every surface form (folded) -> drug id; for the NLU pipeline."""
        return dict(self._drug_index)

    def regimen_aliases(self) -> Dict[str, str]:
        return dict(self._regimen_index)

    def trial_aliases(self) -> Dict[str, str]:
        return dict(self._trial_index)

    def drugs_of_class(self, cls: str) -> Tuple[str, ...]:
        return tuple(d.id for d in self.drugs.values() if d.drug_class == cls)

    @cached_property
    def caution_hits(self) -> Mapping[str, Tuple[Tuple[str, Tuple[str, ...]], ...]]:
        """Regimen/transplant code -> ((caution id, what in the regimen triggers it), ...), in caution order.

        Covers the option triggers of cautions.yml (drugs, classes, modalities, regimens, transplant);
        computed once per knowledge base, since it depends on nothing else.
        """
        out = {}
        for reg in (*self.regimens.values(), *self.transplants.values()):
            hits = []
            for c in self.cautions.values():
                t = c.triggers
                found = tuple(d for d in reg.components if d in t.get("drugs", ())
                              or self.drugs[d].drug_class in t.get("classes", ())
                              or (self.drugs[d].modality and self.drugs[d].modality in t.get("modalities", ())))
                if not found and (reg.code in t.get("regimens", ()) or reg.code in t.get("transplant", ())):
                    found = (reg.code,)
                if found:
                    hits.append((c.id, found))
            out[reg.code] = tuple(hits)
        return out

    @cached_property
    def drug_class_of(self) -> Mapping[str, str]:
        return {d.id: d.drug_class for d in self.drugs.values()}

    def shared_target(self, cls: str) -> bool:
        return bool(self.classes[cls].get("shared_target", False))

    def cross_resistance_class(self, cls: str) -> bool:
        return bool(self.classes[cls].get("cross_resistance", True))

    @staticmethod
    def _lookup(kind: str, name: str, index: Mapping[str, str]) -> str:
        if not isinstance(name, str) or not name.strip():
            raise UnknownName(kind, str(name), [])
        hit = index.get(fold(name))
        if hit is not None:
            return hit
        canon = sorted(set(index.values()))
        close = difflib.get_close_matches(fold(name), list(index), n=6, cutoff=0.6)
        suggestions: List[str] = []
        for key in close:
            if index[key] not in suggestions:
                suggestions.append(index[key])
        if not suggestions:
            suggestions = [c for c in canon if c.lower().startswith(fold(name)[:1])][:5]
        raise UnknownName(kind, name, suggestions[:3])


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


def _check_texts(texts: Mapping[str, object]) -> None:
    """Every sentence of TEXT_SLOTS exists and names only its own values."""
    for key, slots in TEXT_SLOTS.items():
        node: object = texts
        for part in key.split("."):
            _require(isinstance(node, dict) and part in node, "texts.yml", f"{key} missing")
            node = node[part]  # type: ignore[index]
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


def _check_reachable(regimens: Mapping[str, Regimen], settings: Tuple[Setting, ...], frail: Tuple[str, ...],
                     untried: Tuple[str, ...]) -> None:
    """Every catalog regimen can be offered: it is a candidate of a setting, of the frail list or of the
    untried-class list."""
    reachable = {c.regimen for st in settings for c in st.candidates} | set(frail) | set(untried)
    for code in regimens:
        _require(code in reachable, f"regimens.yml: {code}",
                 "unreachable: no setting, frail list or untried-class list names it")


def load(directory: Path = KNOWLEDGE_DIR) -> KnowledgeBase:
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

    r = docs["regimens.yml"]
    regimens: Dict[str, Regimen] = {}
    transplants: Dict[str, Regimen] = {}
    for target, key in ((regimens, "regimens"), (transplants, "transplants")):
        for entry in r[key]:
            code = entry["code"]
            where = f"regimens.yml: {code}"
            _require(code not in regimens and code not in transplants, where, "duplicate code")
            comps = tuple(entry.get("components", []))
            for comp in comps:
                _require(comp in drugs, where, f"component '{comp}' is not a drug id")
            intensity = entry.get("intensity", "transplant" if key == "transplants" else None)
            _require(key == "transplants" or intensity in INTENSITIES, where, f"intensity {intensity!r}")
            allowed = frozenset(entry.get("allowed_refractory", []))
            _require(allowed <= set(comps), where, "allowed_refractory must name components")
            prior_classes = tuple(entry.get("requires_prior_classes", []))
            for cls in prior_classes:
                _require(cls in classes, where, f"unknown class {cls!r}")
            target[code] = Regimen(
                code=code, name=entry["name"], components=comps, aliases=tuple(entry.get("aliases", [])),
                intensity=intensity, trials=tuple(entry.get("trials", [])), index=len(regimens) + len(transplants),
                allowed_refractory=allowed, requires_t11_14=bool(entry.get("requires_t11_14", False)),
                min_prior_lines=int(entry.get("min_prior_lines", 0)), requires_prior_classes=prior_classes,
                salvage_note=entry.get("salvage_note", ""),
            )
            _require(not allowed or bool(target[code].salvage_note), where, "allowed_refractory needs a salvage_note")
    all_regimens = {**regimens, **transplants}
    regimen_index = _index("regimen", [(k, v.aliases) for k, v in all_regimens.items()], "regimens.yml")

    s = docs["settings.yml"]
    settings = []
    for entry in s["settings"]:
        where = f"settings.yml: {entry['id']}"
        cond = {k: tuple(v) for k, v in entry["condition"].items()}
        for k, names in cond.items():
            _require(k in ("refractory", "refractory_any", "none_refractory", "refractory_class_all"),
                     where, f"unknown condition {k}")
            for n in names:
                _require(n in (classes if k == "refractory_class_all" else drugs), where, f"unknown name {n}")
        cands = []
        for c in entry["candidates"]:
            _require(c["regimen"] in regimens, where, f"candidate {c['regimen']} is not in the catalog")
            _require(c["tier"] in TIERS, where, f"tier {c['tier']!r}")
            _require(set(c) <= {"regimen", "tier", "note", "demote_when_aggressive"}, where,
                     f"unknown keys in candidate {c['regimen']}")
            cands.append(Candidate(c["regimen"], c["tier"], c["note"], bool(c.get("demote_when_aggressive", False))))
        _require(bool(entry.get("short_name")), where, "short_name missing")
        settings.append(Setting(entry["id"], entry["name"], entry["short_name"], entry["source"], cond, tuple(cands)))
    _require([x.id for x in settings] == ["S1", "S2", "S3", "S4", "S5", "S6"], "settings.yml",
             "settings S1-S6 in order")
    for code in s["untried_class"]["regimens"] + s["frail"]["regimens"]:
        _require(code in regimens, "settings.yml", f"{code} is not in the catalog")
    for cls in s["untried_class"]["classes"]:
        _require(cls in classes, "settings.yml: untried_class", f"unknown class {cls}")

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
    cautions: Dict[str, Caution] = {}
    for entry in c["cautions"]:
        where = f"cautions.yml: {entry['id']}"
        _require(entry["severity"] in SEVERITIES, where, "severity")
        trig = entry["triggers"]
        for k, v in trig.items():
            if k == "always":
                continue
            _require(
                k in ("drugs", "classes", "modalities", "regimens", "patient", "transplant", "derived"),
                where,
                f"unknown trigger {k}",
            )
            known = {
                "drugs": drugs,
                "classes": classes,
                "regimens": regimens,
                "transplant": transplants,
                "patient": patient_flags,
                "derived": DERIVED_TRIGGERS,
                "modalities": {x.modality for x in drugs.values()},
            }[k]
            for n in v:
                _require(n in known, where, f"{k} trigger {n!r} unknown")
        for cond in entry.get("high_when", []) + entry.get("moderate_when", []):
            _require(cond.lstrip("!") in patient_flags, where, f"condition {cond!r} unknown")
        for code in entry.get("regimen_notes", {}):
            _require(code in regimens, where, f"regimen note for unknown {code}")
        cautions[entry["id"]] = Caution(
            entry["id"],
            entry["severity"],
            entry["text"],
            entry["source"],
            trig,
            tuple(entry.get("high_when", [])),
            tuple(entry.get("moderate_when", [])),
            dict(entry.get("regimen_notes", {})),
        )

    texts = docs["texts.yml"]
    _check_texts(texts)
    demotions = []
    for entry in s.get("demotions", []):
        where = f"settings.yml: demotions: {entry.get('flag')}"
        _require(entry.get("flag") in flags["comorbidity"], where, "flag must be a comorbidity of case.yml")
        for drug in entry.get("drugs", []):
            _require(drug in drugs, where, f"unknown drug {drug}")
        _require(bool(entry.get("why")), where, "why missing")
        demotions.append(Demotion(entry["flag"], frozenset(entry["drugs"]), entry["why"]))
    frail_regimens = tuple(s["frail"]["regimens"])
    untried_regimens = tuple(s["untried_class"]["regimens"])
    _check_reachable(regimens, tuple(settings), frail_regimens, untried_regimens)

    return KnowledgeBase(
        version=version,
        classes=classes,
        drugs=drugs,
        regimens=regimens,
        transplants=transplants,
        settings=tuple(settings),
        untried_classes=tuple(s["untried_class"]["classes"]),
        untried_regimens=untried_regimens,
        untried_source=s["untried_class"]["source"],
        frail_regimens=frail_regimens,
        frail_source=s["frail"]["source"],
        demotions=tuple(demotions),
        cautions=cautions,
        trials=trials,
        texts=texts,
        flags=flags,
        high_risk=high_risk,
        _drug_index=drug_index,
        _regimen_index=regimen_index,
        _trial_index=trial_index,
    )


@lru_cache(maxsize=1)
def kb() -> KnowledgeBase:
    return load()
