"""The deterministic guideline engine: clinical-spec.md rules R1-R9, settings S1-S6, tiers (section 7) and labels
by region (section 8), 2026 edition.

`recommend(case)` is a pure function of the case and the knowledge base: no I/O, no clock, no
randomness, no Rasa. It returns the Recommendation of contract.md as a plain dict (the JSON shape);
`bot.clinical.models.Recommendation` validates that shape. Clinical content (regimens, tier tables, labels,
cautions, trials, texts) lives in bot/clinical/knowledge/*.yml; this module holds only the logic of the rules.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Set, Tuple

from bot import ENGINE_VERSION

from .kb import TIERS, KnowledgeBase, Regimen, RegionLabel
from .kb import kb as default_kb
from .models import Case

SETTING_ORDER = ("S1", "S2", "S3", "S4", "S5", "S6")
TIER_RANK = {t: i for i, t in enumerate(TIERS)}
LOWEST = len(TIERS) - 1
NOT_IN_TABLE = 10_000  # evidence position of a candidate the tier table does not name (ties go to catalog order)
TRIPLE_CLASS = ("IMiD", "PI", "anti-CD38")
FRAIL_ONLY = frozenset({"frail"})  # a candidate only the frail list names
TABLE_ONLY = frozenset({"table"})


@dataclass(slots=True)
class _Candidate:
    regimen: Regimen
    tier: int  # TIER_RANK
    evidence: int  # position in the merged tier table (R8)
    notes: Tuple[str, ...] = ()  # why it is a candidate
    sources: FrozenSet[str] = frozenset()  # table, every_relapse, untried, frail, label
    demote_when_aggressive: bool = False
    lifted: bool = False
    demoted: List[str] = field(default_factory=list)  # R8: why it moves to the end of its tier


@dataclass
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
    _label_failures: Dict[object, List[str]] = field(default_factory=dict)  # by regimen and by rule (RegionLabel)

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
        self.blocking = self.refractory.union(self.case.unavailable, *(k.class_members[cls] for cls in shared))

    @property
    def region(self) -> str:
        return self.case.region

    def fire(self, rule: str, text: str) -> None:
        self.trace.add(rule)
        self.detail.append(f"{rule}: {text}")

    def label(self, code: str) -> Optional[RegionLabel]:
        label = self.k.labels.get(code)
        return label.regions[self.case.region] if label else None

    def label_failures(self, code: str) -> List[str]:
        """What the case has instead of what the region's label of `code` asks (empty: the label holds)."""
        hit = self._label_failures.get(code)
        if hit is None:
            label = self.k.labels.get(code)
            if label is None:
                return []
            rl = label.regions[self.case.region]
            hit = self._label_failures.get(rl.rule_key)
            if hit is None:
                hit = self._label_failures[rl.rule_key] = _failures(rl, self)
            self._label_failures[code] = hit
        return hit


# ---- R1 ---------------------------------------------------------------------------------------
def aggressive_features(case: Case, k: Optional[KnowledgeBase] = None) -> List[str]:
    k = k or default_kb()
    feats = []
    if case.high_risk_cytogenetics:
        feats.append(k.say("high_risk_feature", abnormalities=", ".join(case.high_risk_cytogenetics)))
    feats += [k.flag_labels[f] for f in k.aggressive_flags if getattr(case, f)]
    return feats


def _initiation(case: Case, aggressive: bool, k: KnowledgeBase) -> Dict[str, str]:
    action = {"none": "monitor", "biochemical": "start"}.get(case.relapse) or (
        "start_immediately" if aggressive else "start"
    )
    return {"action": action, "text": k.texts["initiation"][action]}


# ---- R2 ---------------------------------------------------------------------------------------
def lenalidomide_status(case: Case, k: Optional[KnowledgeBase] = None) -> Tuple[str, str]:
    """(status, why) by the 60-day rule and the maintenance exception of R2."""
    k = k or default_kb()
    listed = "lenalidomide" in case.refractory
    days = case.days_since_last_lenalidomide
    if case.lenalidomide_maintenance_only:
        return "sensitive", k.say("lenalidomide.maintenance_overrides" if listed else "lenalidomide.maintenance")
    if listed:
        return "refractory", k.say("lenalidomide.listed")
    if days is not None and days <= 60:
        return "refractory", k.say("lenalidomide.within_60_days", days=days)
    if days is not None:
        return "sensitive", k.say("lenalidomide.after_60_days", days=days)
    if "lenalidomide" in case.exposed:
        return "sensitive", k.say("lenalidomide.exposed")
    return "naive", k.say("lenalidomide.naive")


# ---- R3 ---------------------------------------------------------------------------------------
def fitness_of(case: Case) -> Tuple[str, str]:
    if case.fitness:
        basis = "stated"
        if case.rmci is not None and _rmci_band(case.rmci) != case.fitness:
            basis = f"stated (wins over R-MCI {case.rmci}, which suggests {_rmci_band(case.rmci)})"
        return case.fitness, basis
    if case.rmci is not None:
        return _rmci_band(case.rmci), f"R-MCI {case.rmci}"
    return "unknown", "not given"


def _rmci_band(score: int) -> str:
    return "frail" if score >= 7 else "intermediate" if score >= 4 else "fit"


# ---- R4 ---------------------------------------------------------------------------------------
def settings_of(refractory: FrozenSet[str], k: KnowledgeBase) -> Tuple[str, ...]:
    """The settings whose condition the refractory drugs meet (R4); cached per what the conditions look at."""
    classes = frozenset(k.drug_class_of[d] for d in refractory)
    key = (refractory & k.setting_drugs, classes & k.setting_classes)
    hit = k.settings_memo.get(key)
    if hit is None:
        hit = k.settings_memo[key] = _settings_of(refractory, classes, k)
    return hit


def _settings_of(refractory: FrozenSet[str], classes: FrozenSet[str], k: KnowledgeBase) -> Tuple[str, ...]:
    found = []
    for s in k.settings:
        c = s.condition
        if (
            all(d in refractory for d in c.get("refractory", ()))
            and (not c.get("refractory_any") or any(d in refractory for d in c["refractory_any"]))
            and not any(d in refractory for d in c.get("none_refractory", ()))
            and all(cl in classes for cl in c.get("refractory_class_all", ()))
        ):
            found.append(s.id)
    return tuple(found)


def _candidates(ctx: _Context) -> Dict[str, _Candidate]:
    k, case = ctx.k, ctx.case
    table = k.table_for(ctx.candidate_settings)
    # the tier tables of the case's settings (the most advanced first: it describes the disease best)
    cands = {code: _Candidate(k.regimens[code], TIER_RANK[entry.tier], entry.evidence, entry.notes, TABLE_ONLY,
                              entry.demote_when_aggressive) for code, entry in table.items()}
    ctx.fire("R4", f"settings {', '.join(ctx.candidate_settings) or 'none'}")
    additions = [(*x, "every_relapse") for x in k.fixed_additions["every_relapse"]]
    if case.prior_lines >= 2:
        untried = frozenset(k.untried_classes) - ctx.received_classes
        if untried:
            additions += [(*x, "untried") for x in k.untried_additions(untried)]
            ctx.fire("R4", "classes never recorded as received: " + ", ".join(
                c for c in k.untried_classes if c in untried))
    if ctx.fitness == "frail":
        additions += [(*x, "frail") for x in k.fixed_additions["frail"]]
    driven = [x for x in k.rule_labels[ctx.region] if not ctx.label_failures(x[0])]
    additions += [(*x, "label") for x in driven]
    if driven:
        ctx.fire("R4", f"{ctx.region} labels that hold: " + ", ".join(x[0] for x in driven))
    for code, tier, note, source in additions:
        c = cands.get(code)
        if c is None:
            cands[code] = c = _Candidate(k.regimens[code], TIER_RANK[tier], NOT_IN_TABLE)
        elif code not in table:  # where the tier table names a regimen, its tier wins (section 7.2)
            c.tier = min(c.tier, TIER_RANK[tier])
        c.sources = c.sources | {source}
        if note not in c.notes:
            c.notes += (note,)
    return cands


# ---- R5 and R9: labels ---------------------------------------------------------------------------
def _failures(rl: RegionLabel, ctx: _Context) -> List[str]:
    """The case's values that do not meet a region's label rule (section 8), for people."""
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


def _rule_outs(reg: Regimen, ctx: _Context) -> List[str]:
    k, case, ref = ctx.k, ctx.case, ctx.refractory
    reasons: List[str] = []
    comps = k.component_sets[reg.code]
    if not comps.isdisjoint(ref):
        for d in reg.components:
            if d in ref and d not in reg.allowed_refractory:
                reasons.append(k.say("exclusions.refractory", drug=d))
    if ctx.shared_refractory and not k.regimen_classes[reg.code].isdisjoint(ctx.shared_refractory):
        cls_of = k.drug_class_of
        for d in reg.components:
            hit = ctx.shared_refractory.get(cls_of[d])
            if hit and d not in ref:
                reasons.append(k.say("exclusions.shared_target", drug=d, refractory=", ".join(hit),
                                     drug_class=cls_of[d]))
    if case.unavailable and not comps.isdisjoint(case.unavailable):
        for d in reg.components:
            if d in case.unavailable:
                reasons.append(k.say("exclusions.unavailable", drug=d))
    if reg.requires_t11_14 and not case.t_11_14:
        reasons.append(k.say("exclusions.t11_14_absent" if case.t_11_14 is False else "exclusions.t11_14_undocumented"))
    if ctx.fitness == "frail":
        if reg.intensity in k.frail_excluded_intensities:
            reasons.append(k.say("exclusions.frail", intensity=reg.intensity))
        elif reg.code in k.frail_excluded_regimens:
            reasons.append(k.say("exclusions.frail_regimen", why=k.frail_excluded_regimens[reg.code]))
    elif reg.intensity == "quadruplet" and not (ctx.fitness == "fit" and ctx.aggressive):
        reasons.append(k.say("exclusions.quadruplet"))
    return reasons


def _label_rule_outs(cand: Optional[_Candidate], reg: Regimen, ctx: _Context) -> List[str]:
    """R5: a binding label of the region that the case does not meet; a frail-list regimen outside its label."""
    rl = ctx.label(reg.code)
    if rl is None:
        return []
    k, fails = ctx.k, ctx.label_failures(reg.code)
    if cand is not None and reg.code in k.frail_label_required and cand.sources == FRAIL_ONLY:
        if not rl.approved:
            return [k.say("exclusions.label_missing", region=ctx.region, status=rl.status_text)]
        if fails:
            return [k.say("exclusions.label_required", region=ctx.region, label=rl.rule_text,
                          values="; ".join(fails))]
    if fails and rl.approved and k.labels[reg.code].binding:
        return [k.say("exclusions.label", region=ctx.region, label=rl.rule_text, values="; ".join(fails))]
    return []


def _cross_resistance(reg: Regimen, ctx: _Context) -> List[Tuple[str, str]]:
    """(short reason, rationale sentence) for each in-class switch, salvage exception or prior exposure to a class
    that lowers the tier (BCMA), of a regimen."""
    k, ref = ctx.k, ctx.refractory
    if k.component_sets[reg.code].isdisjoint(ref) and k.regimen_classes[reg.code].isdisjoint(ctx.resisting_classes):
        return []
    notes = []
    for d in reg.components:
        if d in ref:  # only possible for allowed_refractory components
            notes.append((k.say("cross_resistance.salvage", drug=d, note=reg.salvage_note),
                          k.say("rationale.salvage", drug=d, note=reg.salvage_note)))
            continue
        cls = k.drug_class_of[d]
        if cls in k.lowering_classes:
            hit = sorted(x for x in ctx.received if k.drug_class_of[x] == cls)
            if hit:
                received = " and ".join(hit)
                notes.append((k.say("cross_resistance.exposure", drug=d, received=received, drug_class=cls),
                              k.say("rationale.lower_tier", received=received, drug_class=cls)))
            continue
        if k.shared_target(cls) or not k.cross_resistance_class(cls):
            continue
        hit = sorted(x for x in ref if k.drug_class_of[x] == cls)
        if hit:
            notes.append((k.say("cross_resistance.switch", drug=d, refractory=" and ".join(hit)),
                          k.say("rationale.switch", drug=d, refractory=", ".join(hit))))
    return notes


def _grouped(pairs: List[Tuple[str, str]], template: str) -> List[str]:
    """[(key, code)] -> one line per key listing its codes, in order of first appearance."""
    if not pairs:
        return []
    groups: Dict[str, List[str]] = {}
    for key, code in pairs:
        codes = groups.setdefault(key, [])
        if code not in codes:
            codes.append(code)
    return [template.format(codes=", ".join(codes), key=key) for key, codes in groups.items()]


# ---- R6 ---------------------------------------------------------------------------------------
def _transplant(ctx: _Context) -> List[Dict[str, object]]:
    case, k = ctx.case, ctx.k
    elig, prior, months = case.transplant_eligible, case.prior_auto_hct, case.months_remission_after_hct
    out = []
    if elig is None:
        auto = (False, "auto_eligibility_unknown")
    elif not elig:
        auto = (False, "auto_not_eligible")
    elif prior is None:
        auto = (False, "auto_prior_unknown")
    elif prior == 0:  # recommended at first relapse only; later it may still be considered (R6)
        auto = (case.prior_lines == 1, "auto_first_relapse" if case.prior_lines == 1 else "auto_later_relapse")
    else:
        auto = (False, "auto_done")
    out.append({"option": "auto-HCT", "recommended": auto[0], "text": k.say(f"transplant.{auto[1]}", prior=prior)})

    if prior:
        if not elig:
            second = (False, "second_eligibility_unknown" if elig is None else "second_not_eligible")
        elif months is None:
            second = (False, "second_remission_unknown")
        elif months >= 18:
            second = (True, "second_advised")
        else:
            second = (False, "second_short_remission")
        out.append({"option": "auto-HCT-2", "recommended": second[0],
                    "text": k.say(f"transplant.{second[1]}", months=months)})

    candidate = bool(elig) and ctx.fitness == "fit" and bool(case.high_risk_cytogenetics)
    age = case.age
    text = k.say("transplant.allo")
    if age is not None and age > 65:  # "young" = 65 or under: never recommended above (R6, 2026 edition)
        allo_ok, text = False, k.say("transplant.allo_too_old", age=age) + " " + text
    elif candidate:
        allo_ok = True
        lead = k.say("transplant.allo_age_unknown") if age is None else k.say("transplant.allo_discussed", age=age)
        text = lead + " " + text
    else:
        allo_ok = False
    out.append({"option": "allo-HCT", "recommended": allo_ok, "text": text})
    ctx.fire("R6", "; ".join(f"{t['option']} {'recommended' if t['recommended'] else 'not recommended'}" for t in out))
    return out


# ---- R7 ---------------------------------------------------------------------------------------
def _flag(case: Case, cond: str) -> bool:
    if cond.startswith("!"):
        return getattr(case, cond[1:]) is False
    return bool(getattr(case, cond))


def _option_part(k: KnowledgeBase, cid: str, codes: Tuple[str, ...]) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    """(because lines, note sentences) that offered options give caution `cid` by its option triggers; `codes` are
    the offered options that trigger it, in the order offered. Memoised per knowledge base (the same option sets
    recur)."""
    memo = k.caution_memo
    hit = memo.get((cid, codes))
    if hit is None:
        drug_pairs: List[Tuple[str, str]] = []
        code_pairs: List[Tuple[str, str]] = []
        for code in codes:
            for c, pairs, by_regimen in k.caution_pairs[code]:
                if c == cid:
                    if by_regimen:
                        code_pairs.append(("", code))
                    else:
                        drug_pairs.extend(pairs)
        per_code = k.caution_notes.get(cid, {})
        hit = (tuple(_grouped(drug_pairs, "{key} in {codes}") + _grouped(code_pairs, "{codes} offered")),
               tuple(dict.fromkeys(note for code in codes for note in per_code.get(code, ()))))
        if len(memo) < 20_000:
            memo[(cid, codes)] = hit
    return hit


def _cautions(
    ctx: _Context,
    options: List[Dict[str, object]],
    cross: Dict[str, List[Tuple[str, str]]],
    regulatory: List[str],
    transplant: List[Dict[str, object]],
) -> List[Dict[str, object]]:
    k, case, say = ctx.k, ctx.case, ctx.k.say
    recommended_tx = {t["option"] for t in transplant if t["recommended"]}
    by_code = {o["regimen"]: o for o in options}
    offered = list(by_code)
    # the offered options that trigger each caution by its option triggers (cautions.yml, precomputed per regimen
    # by the knowledge base); the derived triggers come from this case
    hits: Dict[str, List[str]] = {}
    for code in offered:
        for cid, _, _ in k.caution_pairs[code]:
            hits.setdefault(cid, []).append(code)
    cross_pairs = [(short, code) for code in offered for short, _ in cross.get(code, ())]
    out = []
    for caution, always, derived, patient, transplant_codes, only_by_options in k.caution_plan:
        cid = caution.id
        if only_by_options and cid not in hits:
            continue  # no offered option triggers it
        notes: Tuple[str, ...] = ()
        if "cross_resistance" in derived:
            lines, codes = _grouped(cross_pairs, "{codes}: {key}"), tuple(dict.fromkeys(c for _, c in cross_pairs))
        elif "regulatory_status" in derived:
            lines, codes = _grouped([("", c) for c in regulatory], "{codes} offered"), tuple(regulatory)
            notes = tuple(f"{code}: {k.approval_line(code)}." for code in regulatory)
        else:
            codes = tuple(hits.get(cid, ()))
            lines, notes = _option_part(k, cid, codes) if codes else ((), ())
        flags = [f for f in patient if getattr(case, f)]
        if not (always or codes or flags or derived or transplant_codes):
            continue  # nothing of this case can trigger it
        because: List[str] = [say("because.always")] if always else []
        because += lines
        for code in codes:  # in the order of the options
            by_code[code]["cautions"].append(cid)
        because += [say("because.patient", label=k.flag_labels[f]) for f in flags]
        because += [say("because.transplant", code=code) for code in transplant_codes if code in recommended_tx]
        for d in derived:
            if d == "len_maintenance" and ctx.maintenance:
                because.append(say("because.len_maintenance"))
            elif d == "frail" and ctx.fitness == "frail":
                because.append(say("because.frail", basis=fitness_of(case)[1]))
        if not because:
            continue
        severity = caution.severity
        if codes and severity == "info" and always:
            severity = "moderate"
        if severity == "info" and caution.moderate_when and any(_flag(case, c) for c in caution.moderate_when):
            severity = "moderate"
            because += [say("because.patient_value", label=k.flag_labels[c.lstrip("!")],
                            value="no" if c.startswith("!") else "yes")
                        for c in caution.moderate_when if _flag(case, c)]
        raisers = k.caution_raisers.get(cid)
        if raisers and not raisers.isdisjoint(codes):
            raised_by = ", ".join(code for code in offered if code in raisers)
            severity = "high"
            plain = _grouped([("", raised_by)], "{codes} offered")[0]
            because = [b for b in because if b != plain] + [say("because.raised_by", codes=raised_by)]
        raised = [c for c in caution.high_when if _flag(case, c)]
        if raised:
            severity = "high"
            for c in raised:
                reason = say("because.patient", label=k.flag_labels[c])
                if reason not in because:
                    because.append(say("because.raises", reason=reason))
        text = " ".join([caution.text, *notes]) if notes else caution.text
        out.append({"id": cid, "severity": severity, "text": text, "because": because})
    ctx.fire("R7", "cautions " + ", ".join(c["id"] for c in out))
    return out


# ---- R8 and assembly ------------------------------------------------------------------------
def _demotions(c: _Candidate, ctx: _Context) -> List[str]:
    out = [d.why for d in ctx.k.demotions if getattr(ctx.case, d.flag) and d.drugs & set(c.regimen.components)]
    if c.demote_when_aggressive and ctx.aggressive:
        out.append(ctx.k.say("rationale.less_aggressive", code=c.regimen.code))
    return out


def _place(kept: List[_Candidate], ctx: _Context) -> Dict[str, List[str]]:
    """R9, R5 (BCMA) and R8 (aggressive lift, demotions) act on the tiers and the order inside them; returns the
    extra rationale of each regimen."""
    k, region = ctx.k, ctx.region
    extra: Dict[str, List[str]] = {}
    for c in kept:
        code, notes = c.regimen.code, extra.setdefault(c.regimen.code, [])
        rl = ctx.label(code)
        if rl is not None:
            fails = ctx.label_failures(code)
            if not rl.approved:
                c.tier = LOWEST
                notes.append(k.say("rationale.not_approved", region=region, status=rl.status_text))
            elif fails:  # only a label that is not binding gets here (binding ones were ruled out)
                c.tier = LOWEST
                notes.append(k.say("rationale.off_label", region=region, label=rl.rule_text, values="; ".join(fails)))
            if rl.also and rl.approved and not fails:  # an off-label note already names the whole label
                notes.append(k.say("rationale.label_unchecked", region=region, condition=rl.also))
        if not (k.regimen_classes[code] & k.lowering_classes).isdisjoint(ctx.received_classes):
            c.tier = min(c.tier + 1, LOWEST)  # R5: after a BCMA-directed therapy, one tier lower
        if ctx.fitness == "frail" and code in k.redirecting:
            notes.append(k.say("rationale.frail_bispecific"))
        c.demoted = _demotions(c, ctx)
    if ctx.aggressive:
        lift = TIER_RANK[k.lift_to]
        worst_redirecting = max((c.tier for c in kept if c.regimen.code in k.redirecting), default=lift)
        for c in kept:
            if c.regimen.code in k.lift_regimens and c.tier > lift:
                c.tier, c.lifted = max(lift, worst_redirecting), True
                extra[c.regimen.code].append(k.say("rationale.aggressive_lift", tier=TIERS[c.tier]))
    return extra


def _rank_key(c: _Candidate, ctx: _Context) -> Tuple[int, int, int, int, int, int]:
    len_last = int(ctx.maintenance and ctx.k.maintenance_drug in c.regimen.components)
    return (c.tier, int(c.lifted), int(bool(c.demoted)), len_last, c.evidence, c.regimen.index)


def recommend(case: Case, knowledge: Optional[KnowledgeBase] = None) -> Dict[str, object]:
    """The Recommendation (contract.md) for a validated Case, as a JSON-ready dict."""
    k = knowledge or default_kb()
    feats = aggressive_features(case, k)
    aggressive = case.relapse == "clinical" and bool(feats)
    len_status, len_why = lenalidomide_status(case, k)
    ref = set(case.refractory)
    if len_status == "refractory":
        ref.add("lenalidomide")
    elif len_status == "sensitive":
        ref.discard("lenalidomide")
    refractory = frozenset(ref)
    fitness, fitness_basis = fitness_of(case)
    ref_classes = sorted({k.drugs[d].drug_class for d in refractory})
    triple = set(TRIPLE_CLASS) <= set(ref_classes)
    penta = {"bortezomib", "carfilzomib", "lenalidomide", "pomalidomide"} <= refractory and bool(
        {"daratumumab", "isatuximab"} & refractory
    )
    maintenance = len_status == "sensitive" and bool(case.lenalidomide_maintenance_only)
    settings = settings_of(refractory, k)
    candidate_settings = settings
    if maintenance:  # R2, 2026 edition: also the settings the case would be in were lenalidomide refractory
        as_if = settings_of(refractory | {k.maintenance_drug}, k)
        candidate_settings = tuple(s for s in SETTING_ORDER if s in settings or s in as_if)
    received = frozenset((*refractory, *case.exposed))
    ctx = _Context(case, k, refractory, received, frozenset(k.drug_class_of[d] for d in received), fitness,
                   aggressive, settings, candidate_settings, triple, maintenance)

    initiation = _initiation(case, aggressive, k)
    ctx.fire("R1", f"relapse {case.relapse}" + (f"; aggressive: {', '.join(feats)}" if aggressive else ""))
    ctx.fire("R2", f"lenalidomide {len_status}: {len_why}")
    ctx.fire("R3", f"fitness {fitness} ({fitness_basis})")
    ctx.fire("R9", f"region {case.region}: its labels apply")
    notes = []
    if fitness == "unknown":
        notes.append(k.say("notes.fitness_unknown"))
    if case.relapse != "clinical" and feats:
        notes.append(k.say("notes.aggressive_not_clinical", features=", ".join(feats)))
    if maintenance and case.relapse != "none":
        notes.append(k.say("notes.maintenance", settings=" and ".join(candidate_settings)))

    options: List[Dict[str, object]] = []
    excluded: List[Dict[str, object]] = []
    cross: Dict[str, List[Tuple[str, str]]] = {}
    regulatory: List[str] = []
    transplant: List[Dict[str, object]] = []

    if case.relapse == "none":
        no_relapse = k.say("exclusions.no_relapse")
        excluded = [{"regimen": code, "ruled_out": True, "reasons": [no_relapse]} for code in k.regimens]
    else:
        cands = _candidates(ctx)
        kept: List[_Candidate] = []
        ruled_out: List[Dict[str, object]] = []
        not_indicated_ones: List[Dict[str, object]] = []
        not_indicated = k.say("exclusions.not_indicated",
                              where=", ".join(candidate_settings) if candidate_settings else "this case")
        blocking, conditional = ctx.blocking, k.conditional_regimens[fitness == "frail"]
        component_sets, labels = k.component_sets, k.labels
        for code, reg in k.regimens.items():
            cand = cands.get(code)
            # most regimens meet none of the rule-outs: set tests tell, before any sentence is built
            reasons = _rule_outs(reg, ctx) if (not component_sets[code].isdisjoint(blocking)
                                               or code in conditional) else []
            if code in labels:
                reasons = _label_rule_outs(cand, reg, ctx) + reasons
            if cand is None:
                reasons.append(not_indicated)
                not_indicated_ones.append({"regimen": code, "ruled_out": False, "reasons": reasons})
            elif reasons:
                ctx.fire("R5", f"{code} ruled out: {'; '.join(reasons)}")
                ruled_out.append({"regimen": code, "ruled_out": True, "reasons": reasons})
            else:
                kept.append(cand)
        extra = _place(kept, ctx)
        kept.sort(key=lambda c: _rank_key(c, ctx))
        for c in kept:
            reg = c.regimen
            tier = TIERS[c.tier]
            cross[reg.code] = _cross_resistance(reg, ctx)
            # what qualifies the option (renderers show these under it): cross-resistance, label and tier
            # changes, demotions, R2's lenalidomide-last rule
            qualifiers = [sentence for _, sentence in cross[reg.code]] + extra[reg.code]
            qualifiers += [k.say("rationale.ranked_lower", why=why) for why in c.demoted]
            if maintenance and k.maintenance_drug in reg.components:
                qualifiers.append(k.say("rationale.maintenance_len"))
            rationale = ([k.say("rationale.preferred")] if tier == "preferred" else []) + list(c.notes) + qualifiers
            if maintenance and k.maintenance_drug not in reg.components:
                rationale.append(k.say("rationale.maintenance_free"))
            rationale += [k.trial_records[tid]["line"] for tid in reg.trials]
            label = k.labels.get(reg.code)
            if label is not None and (label.differs or ctx.label_failures(reg.code)):
                regulatory.append(reg.code)
            options.append(
                {
                    "regimen": reg.code,
                    "name": reg.name,
                    "components": list(reg.components),
                    "preferred": tier == "preferred",
                    "tier": tier,
                    "approval": k.approval_line(reg.code),
                    "label": k.approval_line(reg.code, case.region),
                    "rationale": rationale,
                    "notes": qualifiers,
                    "trials": list(reg.trials),
                    "cautions": [],
                }
            )
        if options:
            ctx.fire("R8", "ranked: " + ", ".join(f"{o['regimen']} ({o['tier']})" for o in options))
        transplant = _transplant(ctx)
        excluded = ruled_out + not_indicated_ones  # ruled-out first, then not indicated; each in catalog order

    cautions = _cautions(ctx, options, cross, regulatory, transplant)
    trial_ids: List[str] = []
    for o in options:
        trial_ids += [t for t in o["trials"] if t not in trial_ids]
    for t in transplant:
        if t["recommended"]:
            trial_ids += [tid for tid in k.transplants[t["option"]].trials if tid not in trial_ids]
    trials = [dict(k.trial_records[tid]["record"]) for tid in trial_ids]

    return {
        "engine_version": ENGINE_VERSION,
        "knowledge_version": k.version,
        "knowledge_edition": k.edition,
        "assessment": {
            "setting": settings[-1] if settings else None,
            "settings": list(candidate_settings),
            "lenalidomide_status": len_status,
            "refractory_classes": ref_classes,
            "triple_class_refractory": triple,
            "penta_refractory": penta,
            "fitness": fitness,
            "fitness_basis": fitness_basis,
            "aggressive": aggressive,
            "aggressive_features": feats,
            "notes": notes,
            "region": case.region,
            "lenalidomide_maintenance_progression": maintenance,
        },
        "initiation": initiation,
        "options": options,
        "excluded": excluded,
        "transplant": transplant,
        "cautions": cautions,
        "trials": trials,
        "trace": sorted(ctx.trace, key=lambda r: int(r[1:])),
        "trace_detail": ctx.detail,
        "disclaimer": k.texts["disclaimer"],
    }
