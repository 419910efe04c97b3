"""The engine's working state for one case: the candidates (R4) and the context every rule reads (refractory
drugs, received classes, fitness, settings, the region's labels), with the label check of R5/R9 (`_failures`).

Imports: the standard library and bot.clinical (kb, models).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, List, Optional, Sequence, Set, Tuple

from .kb import TIERS, Demotion, KnowledgeBase, Regimen, RegionLabel
from .models import Case

SETTING_ORDER = ("S1", "S2", "S3", "S4", "S5", "S6")
TIER_RANK = {t: i for i, t in enumerate(TIERS)}
LOWEST = len(TIERS) - 1
NOT_IN_TABLE = 10_000  # evidence position of a candidate the tier table does not name (ties go to catalog order)
TRIPLE_CLASS = ("IMiD", "PI", "anti-CD38")
FRAIL_ONLY = frozenset({"frail"})  # a candidate only the frail list names
TABLE_ONLY = frozenset({"table"})
NO_FAILURES: Tuple[str, ...] = ()  # a label without a rule has nothing to fail


@dataclass(slots=True)
class _Candidate:
    regimen: Regimen
    tier: int  # TIER_RANK
    evidence: int  # position in the merged tier table (R8)
    notes: Tuple[str, ...] = ()  # why it is a candidate
    sources: FrozenSet[str] = frozenset()  # table, every_relapse, untried, frail, label
    demote_when_aggressive: bool = False
    lifted: bool = False
    demoted: Sequence[str] = ()  # R8: why it moves to the end of its tier (set by _place)
    fails: Tuple[str, ...] = ()  # what the case lacks for the region's label (R5, R9)


@dataclass(slots=True)
class _Context:
    case: Case
    k: KnowledgeBase
    refractory: FrozenSet[str]
    received: FrozenSet[str]  # drugs exposed or refractory (section 8: prior exposure)
    received_classes: FrozenSet[str]
    fitness: str
    aggressive: bool
    settings: Tuple[str, ...]  # the settings the case is in
    candidate_settings: Tuple[str, ...]  # plus those of R2's maintenance exception
    triple: bool
    maintenance: bool  # R2: progression on lenalidomide maintenance only
    trace: Set[str] = field(default_factory=set)
    detail: List[str] = field(default_factory=list)
    shared_refractory: Dict[str, List[str]] = field(default_factory=dict)  # shared-target class -> refractory members
    _label_failures: Dict[object, Tuple[str, ...]] = field(default_factory=dict)  # by regimen
    _by_rule: Optional[Dict[object, Any]] = None  # this case's signature's memo (`_rules`)
    demotions: Tuple[Demotion, ...] = ()  # R8: the demotions whose flag this case has

    redirecting_tiers: FrozenSet[int] = frozenset()  # R8: tiers holding a T-cell-redirecting option
    maintenance_allowed: FrozenSet[str] = frozenset()  # R2 (2026-12): regimens kept despite the maintenance drug
    resisting_classes: FrozenSet[str] = frozenset()  # classes where a switch or re-exposure carries cross-resistance
    blocking: FrozenSet[str] = frozenset()  # drugs that rule a regimen out: refractory, shared target, unavailable

    def __post_init__(self) -> None:
        k = self.k
        classes = {k.drug_class_of[d] for d in self.refractory}
        shared = classes & k.shared_classes
        if shared:
            for d in sorted(self.refractory):
                cls = k.drug_class_of[d]
                if cls in shared:
                    self.shared_refractory.setdefault(cls, []).append(d)
        self.resisting_classes = frozenset(classes & k.switch_classes) | (k.lowering_classes & self.received_classes)
        if self.maintenance and k.maintenance_counts_as == "refractory":
            self.maintenance_allowed = frozenset(k.maintenance_regimens)
        self.demotions = tuple(d for d in k.demotions if getattr(self.case, d.flag))
        self.blocking = self.refractory.union(self.case.unavailable, *(k.class_members[cls] for cls in shared))

    @property
    def region(self) -> str:
        return self.case.region

    def fire(self, rule: str, text: str) -> None:
        self.trace.add(rule)
        self.detail.append(f"{rule}: {text}")

    def label(self, code: str) -> Optional[RegionLabel]:
        return self.k.region_labels[self.case.region].get(code)

    def label_failures(self, code: str) -> Tuple[str, ...]:
        """What the case has instead of what the region's label of `code` asks (empty: the label holds). Memoised per
        case by regimen, and per knowledge base by what of a case label rules read (`_signature`), then by rule."""
        hit = self._label_failures.get(code)
        if hit is None:
            rid = self.k.rule_ids[self.case.region].get(code)
            if rid is None:  # no label, or one without an eligibility rule (off-label, not approved, ...)
                return NO_FAILURES
            by_rule = self._rules()
            hit = by_rule.get(rid)
            if hit is None:
                hit = by_rule[rid] = tuple(_failures(self.k.region_labels[self.case.region][code], self))
            self._label_failures[code] = hit
        return hit

    def label_line(self, key: str, code: str, rl: RegionLabel) -> str:
        """The sentence `key` naming the region's label of `code` and what of the case fails it (memoised with the
        failures: the same for every case of this signature)."""
        by_rule = self._rules()
        tag = (key, self.case.region, code)
        hit = by_rule.get(tag)
        if hit is None:
            hit = by_rule[tag] = self.k.say(key, region=self.case.region, label=rl.rule_text,
                                            values="; ".join(self.label_failures(code)))
        return hit

    def label_driven(self) -> Tuple[Tuple[object, ...], ...]:
        """R4: the region's label-driven candidates whose label holds for this case (memoised with the failures)."""
        by_rule = self._rules()
        key = ("driven", self.case.region)
        hit = by_rule.get(key)
        if hit is None:
            hit = by_rule[key] = tuple(x for x in self.k.rule_labels[self.case.region]
                                       if not self.label_failures(x[0]))
        return hit

    def _rules(self) -> Dict[object, Any]:
        """The memo of the label rules' results shared by every case of this signature (bounded): by rule id the
        failures, by ("driven", region) the label-driven candidates, by (sentence, region, regimen) a label sentence."""
        if self._by_rule is not None:
            return self._by_rule
        memo, sig = self.k.failures_memo, self._signature()
        by_rule = memo.get(sig)
        if by_rule is None:
            by_rule = {}
            if len(memo) < 20_000:
                memo[sig] = by_rule
        self._by_rule = by_rule
        return by_rule

    def _signature(self) -> Tuple[object, ...]:
        """What of this case the label rules read (section 8): lines, prior classes and drugs, lenalidomide and
        triple-class refractoriness, refractory counts per class, transplant history."""
        k, case = self.k, self.case
        counts = tuple(sum(1 for d in self.refractory if k.drug_class_of[d] == cls) for cls in k.label_count_classes)
        return (case.prior_lines, self.received_classes & k.label_classes, self.received & k.label_drugs,
                "lenalidomide" in self.refractory or self.maintenance, self.triple, counts,
                case.prior_auto_hct, case.months_remission_after_hct)


# ---- R5 and R9: labels ---------------------------------------------------------------------------
def _failures(rl: RegionLabel, ctx: _Context) -> List[str]:
    """The case's values that do not meet a region's label rule (section 8), for people."""
    out = _rule_failures(rl, ctx)
    if out and rl.alternatives and any(not _rule_failures(alt, ctx) for alt in rl.alternatives):
        return []  # another rule of the label holds ("... or ...")
    return out


def _rule_failures(rl: RegionLabel, ctx: _Context) -> List[str]:
    k, case = ctx.k, ctx.case
    out = []
    n = case.prior_lines
    if n < rl.min_prior_lines or (rl.max_prior_lines is not None and n > rl.max_prior_lines):
        out.append(k.say("label.case_lines", count=n, noun="line" if n == 1 else "lines"))
    missing = [c for c in rl.prior_classes if c not in ctx.received_classes]
    missing += [d for d in rl.prior_drugs if d not in ctx.received]
    if missing:
        out.append(k.say("label.case_missing", items=" or ".join(missing)))
    if rl.lenalidomide_refractory and not ("lenalidomide" in ctx.refractory or ctx.maintenance):
        out.append(k.say("label.case_lenalidomide"))  # R2: progression on maintenance counts as refractory here
    if rl.triple_class_refractory and not ctx.triple:
        out.append(k.say("label.case_triple_class"))
    if rl.refractory_counts:
        have = {cls: sum(1 for d in ctx.refractory if k.drug_class_of[d] == cls) for cls, _ in rl.refractory_counts}
        if any(have[cls] < need for cls, need in rl.refractory_counts):
            words = k.label_class_words
            out.append(k.say("label.case_refractory", items=", ".join(
                f"{have[cls]} {cls if have[cls] == 1 else words[cls][1]}" for cls, _ in rl.refractory_counts)))
    if rl.hct_min_months is not None:
        if case.prior_auto_hct is None:
            out.append(k.say("label.case_hct_history_unknown"))
        elif case.prior_auto_hct:
            months = case.months_remission_after_hct
            if months is None:
                out.append(k.say("label.case_hct_unknown"))
            elif months < rl.hct_min_months:
                out.append(k.say("label.case_hct_short", months=months))
    return out
