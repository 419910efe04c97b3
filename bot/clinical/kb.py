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
FILES = ("drugs.yml", "regimens.yml", "settings.yml", "labels.yml", "cautions.yml", "trials.yml", "texts.yml",
         "case.yml")

INTENSITIES = ("monotherapy", "doublet", "triplet", "quadruplet", "combination", "cell_therapy", "trial")
TIERS = ("preferred", "recommended", "circumstances")  # R8: best first
SEVERITIES = ("info", "moderate", "high")
FLAG_GROUPS = ("aggressive", "comorbidity", "other")
# Caution triggers computed by the engine (cautions.yml `derived`).
DERIVED_TRIGGERS = ("cross_resistance", "len_maintenance", "frail", "regulatory_status")
# Option triggers of cautions.yml (triggers and high_with), matched against an offered option.
OPTION_TRIGGERS = ("drugs", "classes", "modalities", "regimens")
# Eligibility rule keys of labels.yml (clinical-spec section 8).
LABEL_RULE_KEYS = ("min_prior_lines", "max_prior_lines", "prior_classes", "prior_drugs", "lenalidomide_refractory",
                   "triple_class_refractory", "refractory_counts", "hct_min_months")
# Every fixed sentence of texts.yml and the values it may name (checked at load).
TEXT_SLOTS: Dict[str, Tuple[str, ...]] = {
    "disclaimer": (),
    "initiation.monitor": (), "initiation.start": (), "initiation.start_immediately": (),
    "notes.fitness_unknown": (), "notes.aggressive_not_clinical": ("features",), "notes.maintenance": ("settings",),
    "rationale.preferred": (), "rationale.setting": ("setting", "name", "note", "source"),
    "rationale.untried_class": ("drug", "drug_class", "source"), "rationale.frail": ("source",),
    "rationale.every_relapse": ("note", "source"), "rationale.label_driven": ("region", "label", "source"),
    "rationale.frail_bispecific": (), "rationale.not_approved": ("region", "status"),
    "rationale.off_label": ("region", "label", "values"), "rationale.label_unchecked": ("region", "condition"),
    "rationale.lower_tier": ("received", "drug_class"), "rationale.maintenance_free": (),
    "rationale.maintenance_len": (),
    "rationale.salvage": ("drug", "note"), "rationale.switch": ("drug", "refractory"),
    "rationale.ranked_lower": ("why",), "rationale.aggressive_lift": ("tier",), "rationale.less_aggressive": ("code",),
    "exclusions.refractory": ("drug",), "exclusions.shared_target": ("drug", "refractory", "drug_class"),
    "exclusions.unavailable": ("drug",), "exclusions.t11_14_absent": (), "exclusions.t11_14_undocumented": (),
    "exclusions.label": ("region", "label", "values"), "exclusions.label_required": ("region", "label", "values"),
    "exclusions.label_missing": ("region", "status"),
    "exclusions.frail": ("intensity",), "exclusions.frail_regimen": ("why",), "exclusions.quadruplet": (),
    "exclusions.not_indicated": ("where",), "exclusions.no_relapse": (),
    "cross_resistance.salvage": ("drug", "note"), "cross_resistance.switch": ("drug", "refractory"),
    "cross_resistance.exposure": ("drug", "received", "drug_class"),
    "because.always": (), "because.patient": ("label",), "because.patient_value": ("label", "value"),
    "because.raises": ("reason",), "because.transplant": ("code",), "because.len_maintenance": (),
    "because.frail": ("basis",), "because.raised_by": ("codes",),
    "transplant.auto_eligibility_unknown": (), "transplant.auto_not_eligible": (),
    "transplant.auto_prior_unknown": (), "transplant.auto_first_relapse": (), "transplant.auto_later_relapse": (),
    "transplant.auto_done": ("prior",), "transplant.second_eligibility_unknown": (),
    "transplant.second_not_eligible": (), "transplant.second_remission_unknown": (),
    "transplant.second_advised": ("months",), "transplant.second_short_remission": ("months",),
    "transplant.allo": (), "transplant.allo_discussed": ("age",), "transplant.allo_age_unknown": (),
    "transplant.allo_too_old": ("age",), "transplant.recommended": (), "transplant.not_recommended": (),
    "lenalidomide.maintenance": (), "lenalidomide.maintenance_overrides": (), "lenalidomide.listed": (),
    "lenalidomide.within_60_days": ("days",), "lenalidomide.after_60_days": ("days",),
    "lenalidomide.exposed": (), "lenalidomide.naive": (),
    "high_risk_feature": ("abnormalities",),
    "render.no_option": (), "render.trial_preferred": (), "render.trial_recommended": (),
    "render.tier_preferred": (), "render.tier_recommended": (), "render.tier_circumstances": (),
    "render.info_cautions": ("names",), "render.knowledge": ("edition", "region"),
    "label.approval": ("region", "status"), "label.approval_rule": ("region", "status", "rule"),
    "label.no_entry": ("region",), "label.min_lines": ("count", "noun"), "label.range_lines": ("low", "high"),
    "label.including": ("items",), "label.lenalidomide_refractory": (), "label.triple_class_refractory": (),
    "label.refractory_counts": ("items",), "label.hct": ("years",), "label.case_lines": ("count", "noun"),
    "label.case_missing": ("items",), "label.case_lenalidomide": (), "label.case_triple_class": (),
    "label.case_refractory": ("items",), "label.case_hct_unknown": (), "label.case_hct_history_unknown": (),
    "label.case_hct_short": ("months",),
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
    index: int  # position in the catalog: the last tie-break of R8
    allowed_refractory: FrozenSet[str] = frozenset()
    requires_t11_14: bool = False
    salvage_note: str = ""

    @property
    def active_components(self) -> Tuple[str, ...]:
        """Components other than the steroid backbone."""
        return tuple(c for c in self.components if c != "dexamethasone")


@dataclass(frozen=True)
class Candidate:
    """A regimen named by a setting's tier table (or another candidate list), with its tier and why."""

    regimen: str
    tier: str
    note: str
    source: str = ""
    demote_when_aggressive: bool = False


@dataclass(frozen=True)
class Setting:
    id: str
    name: str
    short_name: str  # for the assessment line ("lenalidomide-sensitive")
    source: str
    condition: Mapping[str, Tuple[str, ...]]
    candidates: Tuple[Candidate, ...]  # the tier table row: preferred, recommended, circumstances, in evidence order


@dataclass(frozen=True)
class TableEntry:
    """A regimen in the merged tier table rows of a case's settings (KnowledgeBase.table_for)."""

    tier: str  # the best tier of the rows naming it
    evidence: int  # position in the merged rows, the most advanced setting first (R8)
    notes: Tuple[str, ...]  # the rationale of each row naming it
    demote_when_aggressive: bool


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
    high_with: Mapping[str, Tuple[str, ...]] = field(default_factory=dict)
    notes: Mapping[str, str] = field(default_factory=dict)


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
class RegionLabel:
    """One option's label in one region (labels.yml): status, eligibility rule and the sentences built from them."""

    region: str
    status: str
    date: str
    approved: bool  # counts as approved in the region (R9)
    note: str = ""
    also: str = ""  # a condition the case does not record: named, not checked
    min_prior_lines: int = 0
    max_prior_lines: Optional[int] = None
    prior_classes: Tuple[str, ...] = ()
    prior_drugs: Tuple[str, ...] = ()
    lenalidomide_refractory: bool = False
    triple_class_refractory: bool = False
    refractory_counts: Tuple[Tuple[str, int], ...] = ()
    hct_min_months: Optional[int] = None
    status_text: str = ""  # "accelerated approval 2022-10"
    rule_text: str = ""  # ">= 4 prior lines including a PI, an IMiD and an anti-CD38"
    line: str = ""  # "US: accelerated approval 2022-10 for >= 4 prior lines ..."

    @property
    def has_rule(self) -> bool:
        return bool(self.min_prior_lines or self.max_prior_lines is not None or self.prior_classes or self.prior_drugs
                    or self.lenalidomide_refractory or self.triple_class_refractory or self.refractory_counts
                    or self.hct_min_months is not None)

    @cached_property
    def rule_key(self) -> Tuple[object, ...]:
        """Equal for two labels with the same eligibility rule (many share one: the bispecifics of a region)."""
        return (self.min_prior_lines, self.max_prior_lines, frozenset(self.prior_classes), frozenset(self.prior_drugs),
                self.lenalidomide_refractory, self.triple_class_refractory, self.refractory_counts,
                self.hct_min_months, self.also)


@dataclass(frozen=True)
class Label:
    code: str
    binding: bool
    tier: Optional[str]  # tier where the label alone makes it a candidate (R4); None: label_driven default
    regions: Mapping[str, RegionLabel]
    approval: str  # both regions, for the `approval` field of an option
    differs: bool  # status or eligibility differ between the regions, or it is not approved in one of them


@dataclass(frozen=True)
class KnowledgeBase:
    version: str
    edition: str
    checked: str
    classes: Mapping[str, Mapping[str, object]]
    drugs: Mapping[str, Drug]
    regimens: Mapping[str, Regimen]  # catalog order
    transplants: Mapping[str, Regimen]
    settings: Tuple[Setting, ...]
    every_relapse: Tuple[Candidate, ...]
    every_relapse_source: str
    untried_classes: Tuple[str, ...]
    untried_regimens: Tuple[str, ...]
    untried_source: str
    untried_tier: str
    label_driven_tier: str
    label_driven_source: str
    frail_tiers: Mapping[str, str]  # frail regimen -> tier, in order
    frail_source: str
    frail_label_required: FrozenSet[str]
    frail_excluded_intensities: FrozenSet[str]
    frail_excluded_regimens: Mapping[str, str]  # code -> why
    maintenance_drug: str
    lift_regimens: FrozenSet[str]
    lift_to: str
    lift_modalities: FrozenSet[str]
    demotions: Tuple[Demotion, ...]
    regions: Tuple[str, ...]
    labels: Mapping[str, Label]
    label_class_words: Mapping[str, Tuple[str, str]]  # class -> (one of them, several), labels.yml
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

    @cached_property
    def sentences(self) -> Mapping[str, str]:
        """texts.yml flattened: "section.name" -> sentence (the engine's hot path reads these)."""
        out: Dict[str, str] = {}

        def walk(prefix: str, node: object) -> None:
            if isinstance(node, dict):
                for name, child in node.items():
                    walk(f"{prefix}.{name}" if prefix else str(name), child)
            else:
                out[prefix] = str(node)

        walk("", self.texts)
        return out

    @cached_property
    def _said(self) -> Dict[Tuple[object, ...], str]:
        """A memo of `say` (the same few sentences with the same drugs and codes recur in every answer)."""
        return {}

    def say(self, key: str, **values: object) -> str:
        """The fixed sentence `key` of texts.yml ("section.name") with its values filled in."""
        if not values:
            return self.sentences[key]
        memo = self._said
        tag = (key, *values.values())  # a call site always names the same values in the same order
        text = memo.get(tag)
        if text is None:
            text = self.sentences[key].format(**values)
            if len(memo) < 20_000:  # bounded: free-text values (e.g. months) cannot grow it without end
                memo[tag] = text
        return text

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

    # ---- derived once per knowledge base (the engine's hot path reads these) ------------------------
    def _option_hit(self, reg: Regimen, trig: Mapping[str, object]) -> Tuple[str, ...]:
        """What in a regimen matches option triggers (drugs, classes, modalities; else its code)."""
        found = tuple(d for d in reg.components if d in trig.get("drugs", ())
                      or self.drugs[d].drug_class in trig.get("classes", ())
                      or (self.drugs[d].modality and self.drugs[d].modality in trig.get("modalities", ())))
        if not found and (reg.code in trig.get("regimens", ()) or reg.code in trig.get("transplant", ())):
            found = (reg.code,)
        return found

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
                found = self._option_hit(reg, c.triggers)
                if found:
                    hits.append((c.id, found))
            out[reg.code] = tuple(hits)
        return out

    @cached_property
    def caution_plan(self) -> Tuple[Tuple[Caution, bool, Tuple[str, ...], Tuple[str, ...], Tuple[str, ...], bool], ...]:
        """(caution, always, derived, patient, transplant, only_by_options) per caution in order: its triggers read
        once; only_by_options: nothing but an offered option can trigger it."""
        out = []
        for c in self.cautions.values():
            always, derived = bool(c.triggers.get("always")), tuple(c.triggers.get("derived", ()))
            patient, transplant = tuple(c.triggers.get("patient", ())), tuple(c.triggers.get("transplant", ()))
            out.append((c, always, derived, patient, transplant, not (always or derived or patient or transplant)))
        return tuple(out)

    @cached_property
    def caution_pairs(self) -> Mapping[str, Tuple[Tuple[str, Tuple[Tuple[str, str], ...], bool], ...]]:
        """Regimen -> (caution id, ((what triggers it, regimen), ...), triggered by the regimen's code) for the
        option triggers of cautions.yml (caution_hits in the shape the engine gathers)."""
        return {code: tuple((cid, tuple((d, code) for d in hits), hits[0] == code) for cid, hits in per)
                for code, per in self.caution_hits.items()}

    @cached_property
    def caution_memo(self) -> Dict[Tuple[str, Tuple[str, ...]], Tuple[Tuple[str, ...], Tuple[str, ...]]]:
        """A memo for engine._option_part: what a set of offered options gives a caution."""
        return {}

    @cached_property
    def caution_raisers(self) -> Mapping[str, FrozenSet[str]]:
        """Caution id -> the regimen codes whose offer raises it to high (`high_with`)."""
        return {c.id: frozenset(r.code for r in self.regimens.values() if self._option_hit(r, c.high_with))
                for c in self.cautions.values() if c.high_with}

    @cached_property
    def caution_notes(self) -> Mapping[str, Mapping[str, Tuple[str, ...]]]:
        """Caution id -> regimen code -> the note sentences an offer of that regimen adds (cautions.yml notes)."""
        out: Dict[str, Dict[str, Tuple[str, ...]]] = {}
        for c in self.cautions.values():
            for reg in self.regimens.values():
                keys = {reg.code, *reg.components, *(self.drugs[d].drug_class for d in reg.components),
                        *(self.drugs[d].modality for d in reg.components if self.drugs[d].modality)}
                notes = tuple(text for key, text in c.notes.items() if key in keys)
                if notes:
                    out.setdefault(c.id, {})[reg.code] = notes
        return out

    @cached_property
    def drug_class_of(self) -> Mapping[str, str]:
        return {d.id: d.drug_class for d in self.drugs.values()}

    @cached_property
    def regimen_classes(self) -> Mapping[str, FrozenSet[str]]:
        return {r.code: frozenset(self.drugs[d].drug_class for d in r.components) for r in self.regimens.values()}

    @cached_property
    def rule_labels(self) -> Mapping[str, Tuple[Tuple[str, str, str], ...]]:
        """Region -> (regimen, tier, rationale) of each label with an eligibility rule there: the R4 label-driven
        candidates, in labels.yml order."""
        return {region: tuple(
            (code, label.tier or self.label_driven_tier, self.say(
                "rationale.label_driven", region=region, label=label.regions[region].rule_text,
                source=self.label_driven_source))
            for code, label in self.labels.items() if label.regions[region].has_rule) for region in self.regions}

    @cached_property
    def fixed_additions(self) -> Mapping[str, Tuple[Tuple[str, str, str], ...]]:
        """The candidate lists that do not depend on the case: (regimen, tier, rationale) of the every-relapse
        list and of the frail list."""
        frail_note = self.say("rationale.frail", source=self.frail_source)
        return {"every_relapse": tuple((c.regimen, c.tier, self.say("rationale.every_relapse", note=c.note,
                                                                    source=c.source)) for c in self.every_relapse),
                "frail": tuple((code, tier, frail_note) for code, tier in self.frail_tiers.items())}

    @cached_property
    def _untried(self) -> Dict[FrozenSet[str], Tuple[Tuple[str, str, str], ...]]:
        return {}

    def untried_additions(self, untried: FrozenSet[str]) -> Tuple[Tuple[str, str, str], ...]:
        """(regimen, tier, rationale) of the untried-class regimens with a drug of these classes (R4); cached per
        set of classes."""
        hit = self._untried.get(untried)
        if hit is None:
            out = []
            for code in self.untried_regimens:
                new = [d for d in self.regimens[code].active_components if self.drugs[d].drug_class in untried]
                if new:
                    out.append((code, self.untried_tier, self.say(
                        "rationale.untried_class", drug=new[0], drug_class=self.drugs[new[0]].drug_class,
                        source=self.untried_source)))
            hit = self._untried[untried] = tuple(out)
        return hit

    @cached_property
    def setting_drugs(self) -> FrozenSet[str]:
        """The drugs the settings' conditions name (what of a case decides its settings)."""
        return frozenset(d for s in self.settings for key, names in s.condition.items()
                         if key != "refractory_class_all" for d in names)

    @cached_property
    def setting_classes(self) -> FrozenSet[str]:
        return frozenset(c for s in self.settings for c in s.condition.get("refractory_class_all", ()))

    @cached_property
    def settings_memo(self) -> Dict[Tuple[FrozenSet[str], FrozenSet[str]], Tuple[str, ...]]:
        """A memo for engine.settings_of (few combinations of the drugs and classes the conditions name)."""
        return {}

    @cached_property
    def conditional_regimens(self) -> Mapping[bool, FrozenSet[str]]:
        """Frail or not -> the regimens a rule-out can remove without a drug of theirs being refractory or
        unavailable: t(11;14), quadruplets (R3), and for a frail patient what settings.yml `frail` excludes."""
        base = {r.code for r in self.regimens.values() if r.requires_t11_14 or r.intensity == "quadruplet"}
        frail = base | {r.code for r in self.regimens.values()
                        if r.intensity in self.frail_excluded_intensities or r.code in self.frail_excluded_regimens}
        return {False: frozenset(base), True: frozenset(frail)}

    @cached_property
    def component_sets(self) -> Mapping[str, FrozenSet[str]]:
        return {r.code: frozenset(r.components) for r in self.regimens.values()}

    @cached_property
    def shared_classes(self) -> FrozenSet[str]:
        """Classes whose members share one target (drugs.yml shared_target: anti-CD38)."""
        return frozenset(c for c in self.classes if self.shared_target(c))

    @cached_property
    def switch_classes(self) -> FrozenSet[str]:
        """Classes where a switch to another member carries cross-resistance (R5: not shared-target, not a
        grab-bag class)."""
        return frozenset(c for c in self.classes if not self.shared_target(c) and self.cross_resistance_class(c))

    @cached_property
    def class_members(self) -> Mapping[str, FrozenSet[str]]:
        return {c: frozenset(self.drugs_of_class(c)) for c in self.classes}

    @cached_property
    def lowering_classes(self) -> FrozenSet[str]:
        """Classes whose exposure lowers the tier of their other members (drugs.yml exposure_lowers_tier: BCMA)."""
        return frozenset(c for c, entry in self.classes.items() if entry.get("exposure_lowers_tier"))

    @cached_property
    def trial_records(self) -> Mapping[str, Mapping[str, str]]:
        """Trial id -> (its line in an option's rationale, its record in a recommendation's `trials`)."""
        return {t.id: {"line": f"{t.id}: {t.comparison}: {t.result}",
                       "record": {"id": t.id, "comparison": t.comparison, "result": t.result, "source": t.source,
                                  "setting": t.setting, "checked": t.checked}}
                for t in self.trials.values()}

    @cached_property
    def redirecting(self) -> FrozenSet[str]:
        """Regimens with a T-cell-redirecting drug (the modalities of settings.yml aggressive_lift)."""
        return frozenset(r.code for r in self.regimens.values()
                         if any(self.drugs[d].modality in self.lift_modalities for d in r.components))

    @cached_property
    def _tables(self) -> Dict[Tuple[str, ...], Dict[str, TableEntry]]:
        """A memo for `table_for` (a case is in one of few combinations of settings)."""
        return {}

    def table_for(self, settings: Tuple[str, ...]) -> Mapping[str, TableEntry]:
        """regimen -> its entry in the tier table rows of these settings merged, the most advanced setting first
        (best tier, evidence position, the rationale of each row naming it); cached per combination of settings."""
        cache = self._tables
        hit = cache.get(settings)
        if hit is None:
            by_id = {s.id: s for s in self.settings}
            out: Dict[str, TableEntry] = {}
            for sid in reversed(settings):
                s = by_id[sid]
                for cand in s.candidates:
                    note = self.say("rationale.setting", setting=s.id, name=s.name, note=cand.note, source=cand.source)
                    old = out.get(cand.regimen)
                    if old is None:
                        out[cand.regimen] = TableEntry(cand.tier, len(out), (note,), cand.demote_when_aggressive)
                    else:
                        best = min(old.tier, cand.tier, key=TIERS.index)
                        out[cand.regimen] = TableEntry(best, old.evidence, old.notes + (note,),
                                                       old.demote_when_aggressive or cand.demote_when_aggressive)
            cache[settings] = hit = out
        return hit

    @cached_property
    def approval_lines(self) -> Mapping[Tuple[str, Optional[str]], str]:
        """(regimen, region or None for both) -> the approval line, for every regimen of the catalog."""
        out: Dict[Tuple[str, Optional[str]], str] = {}
        for code in self.regimens:
            label = self.labels.get(code)
            out[code, None] = label.approval if label else self.say("label.no_entry", region=" and ".join(self.regions))
            for region in self.regions:
                out[code, region] = label.regions[region].line if label else self.say("label.no_entry", region=region)
        return out

    def approval_line(self, code: str, region: Optional[str] = None) -> str:
        """The approval of an option in one region (or both, region None), for people."""
        return self.approval_lines[code, region]

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
                _require(set(c) <= {"regimen", "note", "source", "demote_when_aggressive"}, where,
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


def _region_label(code: str, region: str, entry: Mapping[str, object], doc: Mapping[str, object],
                  drugs: Mapping[str, Drug], classes: Mapping[str, object], texts: Mapping[str, object]) -> RegionLabel:
    """One region's label of an option, checked, with its sentences built from the rule (texts.yml `label`)."""
    where = f"labels.yml: {code}: {region}"
    statuses = doc["statuses"]
    words = doc["class_words"]
    status = entry.get("status")
    _require(status in statuses, where, f"status {status!r} (one of {', '.join(statuses)})")
    unknown = set(entry) - {"status", "date", "note", "also", *LABEL_RULE_KEYS}
    _require(not unknown, where, f"unknown keys {sorted(unknown)}")
    for cls in (*entry.get("prior_classes", []), *entry.get("refractory_counts", {})):
        _require(cls in classes and cls in words, where, f"class {cls!r} unknown or without class_words")
    for drug in entry.get("prior_drugs", []):
        _require(drug in drugs, where, f"drug {drug!r} unknown")
    date = str(entry.get("date", ""))
    _require("{date}" not in statuses[status]["words"] or bool(date), where, f"status {status} needs a date")

    def say(key: str, **values: object) -> str:
        return str(texts["label"][key]).format(**values)

    def items(parts: List[str]) -> str:
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]

    low, high = int(entry.get("min_prior_lines", 0)), entry.get("max_prior_lines")
    lines = ""
    if high is not None:
        lines = say("range_lines", low=low, high=high)
    elif low:
        lines = say("min_lines", count=low, noun="line" if low == 1 else "lines")
    prior = [words[c][0] for c in entry.get("prior_classes", [])] + list(entry.get("prior_drugs", []))
    if prior:
        lines = f"{lines} {say('including', items=items(prior))}".strip()
    rule: List[str] = [lines] if lines else []
    if entry.get("lenalidomide_refractory"):
        rule.append(say("lenalidomide_refractory"))
    if entry.get("triple_class_refractory"):
        rule.append(say("triple_class_refractory"))
    counts = tuple((cls, int(n)) for cls, n in (entry.get("refractory_counts") or {}).items())
    if counts:
        rule.append(say("refractory_counts", items=items(
            [words[c][0] if n == 1 else f">= {n} {words[c][1]}" for c, n in counts])))
    months = entry.get("hct_min_months")
    if months is not None:
        rule.append(say("hct", years=f"{int(months) / 12:g}"))
    if entry.get("also"):
        rule.append(str(entry["also"]))
    rule_text = ", ".join(rule)
    status_text = statuses[status]["words"].format(date=date)
    line = str(texts["label"]["approval_rule" if rule_text else "approval"]).format(
        region=region, status=status_text, rule=rule_text)
    if entry.get("note"):
        line += f"; {entry['note']}"
    return RegionLabel(
        region=region, status=status, date=date, approved=bool(statuses[status]["approved"]),
        note=str(entry.get("note", "")), also=str(entry.get("also", "")), min_prior_lines=low,
        max_prior_lines=None if high is None else int(high), prior_classes=tuple(entry.get("prior_classes", [])),
        prior_drugs=tuple(entry.get("prior_drugs", [])),
        lenalidomide_refractory=bool(entry.get("lenalidomide_refractory")),
        triple_class_refractory=bool(entry.get("triple_class_refractory")), refractory_counts=counts,
        hct_min_months=None if months is None else int(months), status_text=status_text, rule_text=rule_text,
        line=line)


def _labels(doc: Mapping[str, object], regimens: Mapping[str, Regimen], drugs: Mapping[str, Drug],
            classes: Mapping[str, object], texts: Mapping[str, object]) -> Dict[str, Label]:
    regions = tuple(doc["regions"])
    _require(bool(regions), "labels.yml", "regions missing")
    labels: Dict[str, Label] = {}
    for code, entry in (doc.get("labels") or {}).items():
        where = f"labels.yml: {code}"
        _require(code in regimens, where, "not a regimen of the catalog")
        _require(set(entry) <= {"binding", "tier", *regions}, where, f"unknown keys {sorted(set(entry))}")
        _require(isinstance(entry.get("binding"), bool), where, "binding must be true or false")
        _require(entry.get("tier") in (None, *TIERS), where, f"tier {entry.get('tier')!r}")
        per_region = {}
        for region in regions:
            _require(isinstance(entry.get(region), dict), where, f"{region} missing")
            per_region[region] = _region_label(code, region, entry[region], doc, drugs, classes, texts)
        first = per_region[regions[0]]
        differs = any(not x.approved or x.rule_key != first.rule_key for x in per_region.values())
        labels[code] = Label(code, entry["binding"], entry.get("tier"), per_region,
                             "; ".join(x.line for x in per_region.values()), differs)
    return labels


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
                                    "allowed_refractory", "requires_t11_14", "salvage_note"}
            _require(not unknown, where, f"unknown keys {sorted(unknown)} (labels by region: labels.yml)")
            comps = tuple(entry.get("components", []))
            for comp in comps:
                _require(comp in drugs, where, f"component '{comp}' is not a drug id")
            intensity = entry.get("intensity", "transplant" if key == "transplants" else None)
            _require(key == "transplants" or intensity in INTENSITIES, where, f"intensity {intensity!r}")
            allowed = frozenset(entry.get("allowed_refractory", []))
            _require(allowed <= set(comps), where, "allowed_refractory must name components")
            target[code] = Regimen(
                code=code, name=entry["name"], components=comps, aliases=tuple(entry.get("aliases", [])),
                intensity=intensity, trials=tuple(entry.get("trials", [])), index=len(regimens) + len(transplants),
                allowed_refractory=allowed, requires_t11_14=bool(entry.get("requires_t11_14", False)),
                salvage_note=entry.get("salvage_note", ""),
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
    for m in lift["never_above_modalities"]:
        _require(m in modalities, "settings.yml: aggressive_lift", f"unknown modality {m!r}")
    maintenance_drug = s["maintenance_progression"]["drug"]
    _require(maintenance_drug in drugs, "settings.yml: maintenance_progression", f"unknown drug {maintenance_drug}")

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
                                "notes", "source"}
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
        for cond in entry.get("high_when", []) + entry.get("moderate_when", []):
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
        )

    texts = docs["texts.yml"]
    _check_texts(texts)
    lab = docs["labels.yml"]
    for key in ("edition", "checked"):
        _require(bool(lab.get(key)), "labels.yml", f"{key} missing")
    labels = _labels(lab, regimens, drugs, classes, texts)
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
        "labels": {code for code, x in labels.items() if any(rl.has_rule for rl in x.regions.values())},
    })

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
    )


@lru_cache(maxsize=1)
def kb() -> KnowledgeBase:
    return load()
