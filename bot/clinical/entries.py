"""The knowledge base's records (drugs, regimens, settings, labels, cautions, trials), its vocabulary of
names and the errors of loading and look-up. Pure data classes: bot/clinical/knowledge.py holds the
knowledge base itself and bot/clinical/loader.py reads and checks the YAML files.

Imports: the standard library only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Dict, FrozenSet, List, Mapping, Optional, Tuple

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
    "transplant.second_advised": ("months", "threshold"), "transplant.second_short_remission": ("months", "threshold"),
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
    "label.min_lines": ("count", "noun"), "label.range_lines": ("low", "high"),
    "label.including": ("items",), "label.lenalidomide_refractory": (), "label.triple_class_refractory": (),
    "label.refractory_counts": ("items",), "label.hct": ("years",), "label.case_lines": ("count", "noun"),
    "label.case_missing": ("items",), "label.case_lenalidomide": (), "label.case_triple_class": (),
    "label.case_refractory": ("items",), "label.case_hct_unknown": (), "label.case_hct_history_unknown": (),
    "label.case_hct_short": ("months",),
}
# Sentences of later editions: checked when present; the engine uses each only where its edition has the data that
# needs it, so that an older edition (tests/fixtures/knowledge-2026-11) still loads and answers (edition recall).
OPTIONAL_TEXT_SLOTS: Dict[str, Tuple[str, ...]] = {
    "label.no_entry": ("region",),  # 2026-11: regimens without a label row; 2026-12 has a row for every regimen
    "label.off_label_here": ("region", "label", "values"),  # 2026-12
    "initiation.start_biochemical": (), "initiation.refer_car_t": (),  # 2026-12, R1
    "early_relapse_feature": ("months", "threshold"),  # 2026-12, R1 (b)
    "transplant.second_short_after_maintenance": ("months", "threshold"),  # 2026-12, R6
}


class KnowledgeError(ValueError):
    """The knowledge base files are inconsistent; the message names the file and the entry."""


class UnknownName(KeyError):
    """A drug, regimen or trial name that the knowledge base does not know."""

    def __init__(self, kind: str, name: str, suggestions: List[str]):
        self.kind, self.name, self.suggestions = kind, name, suggestions
        hint = f"; closest known: {', '.join(suggestions)}" if suggestions else ""
        # never the name sent: it could be a patient's name or number typed in the wrong field
        super().__init__(f"not a {kind} the knowledge base knows{hint}")

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
    # section 6, 2026-12: trial -> (low, high) prior lines where it is the trial cited
    cite_by_prior_lines: Mapping[str, Tuple[int, Optional[int]]] = field(
        default_factory=dict, hash=False, compare=False)

    def cited_trials(self, prior_lines: int) -> Tuple[str, ...]:
        """The trials of the case's setting by prior lines (section 6, 2026-12); all when none is narrowed."""
        ranges = self.cite_by_prior_lines
        if not ranges:
            return self.trials
        hit = tuple(t for t in self.trials if t not in ranges or (
            ranges[t][0] <= prior_lines and (ranges[t][1] is None or prior_lines <= ranges[t][1])))
        return hit or self.trials

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
    only_when: Tuple[str, ...] = ()  # case flags that must all be true for the caution to fire (2026-12)
    checked: str = ""
    title: str = ""  # the caution in plain words, for people (the id stays in the JSON)


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
    alternatives: Tuple["RegionLabel", ...] = ()  # other rules, any of which may hold instead (labels.yml)

    @cached_property
    def has_rule(self) -> bool:
        return bool(self.min_prior_lines or self.max_prior_lines is not None or self.prior_classes or self.prior_drugs
                    or self.lenalidomide_refractory or self.triple_class_refractory or self.refractory_counts
                    or self.hct_min_months is not None or bool(self.alternatives))

    @cached_property
    def rule_key(self) -> Tuple[object, ...]:
        """Equal for two labels with the same eligibility rule (many share one: the bispecifics of a region)."""
        return (self.min_prior_lines, self.max_prior_lines, frozenset(self.prior_classes), frozenset(self.prior_drugs),
                self.lenalidomide_refractory, self.triple_class_refractory, self.refractory_counts,
                self.hct_min_months, self.also, tuple(alt.rule_key for alt in self.alternatives))


@dataclass(frozen=True)
class Label:
    code: str
    binding: bool
    tier: Optional[str]  # tier where the label alone makes it a candidate (R4); None: label_driven default
    regions: Mapping[str, RegionLabel]
    approval: str  # both regions, for the `approval` field of an option
    differs: bool  # status or eligibility differ between the regions, or it is not approved in one of them
    unapproved: bool = False  # not approved (not approved, withdrawn, off-label, pending) in at least one region
    source: str = ""  # where the row comes from (2026-12 rows)
    checked: str = ""  # when it was checked
