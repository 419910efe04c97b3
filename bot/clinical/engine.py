"""The deterministic guideline engine: clinical-spec.md rules R1-R8 and settings S1-S6.

`recommend(case)` is a pure function of the case and the knowledge base: no I/O, no clock, no
randomness, no Rasa. It returns the Recommendation of contract.md as a plain dict (the JSON shape);
`bot.clinical.models.Recommendation` validates that shape. Clinical content (regimens, settings, cautions,
trials, texts) lives in bot/clinical/knowledge/*.yml; this module holds only the logic of the rules.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Set, Tuple

from bot import ENGINE_VERSION

from .kb import KnowledgeBase, Regimen
from .kb import kb as default_kb
from .models import Case
from .render import read_as

SETTING_ORDER = ("S1", "S2", "S3", "S4", "S5", "S6")
TIER_RANK = {"preferred": 0, "listed": 1, "also": 2}
INTENSIVE_FOR_FRAIL = frozenset({"triplet", "quadruplet", "combination", "cell_therapy"})
FOUR_OR_MORE = frozenset({"quadruplet", "combination"})


@dataclass
class _Candidate:
    regimen: Regimen
    tier: str
    seq: int
    notes: List[str] = field(default_factory=list)
    demote_when_aggressive: bool = False


@dataclass
class _Context:
    case: Case
    k: KnowledgeBase
    refractory: FrozenSet[str]
    received_classes: FrozenSet[str]
    fitness: str
    aggressive: bool
    settings: Tuple[str, ...]
    trace: Set[str] = field(default_factory=set)
    detail: List[str] = field(default_factory=list)
    shared_refractory: Dict[str, List[str]] = field(default_factory=dict)  # shared-target class -> refractory members

    def __post_init__(self) -> None:
        for d in sorted(self.refractory):
            cls = self.k.drug_class_of[d]
            if self.k.shared_target(cls):
                self.shared_refractory.setdefault(cls, []).append(d)

    def fire(self, rule: str, text: str) -> None:
        self.trace.add(rule)
        self.detail.append(f"{rule}: {text}")


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
    classes = {k.drugs[d].drug_class for d in refractory}
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
    cands: Dict[str, _Candidate] = {}

    def add(code: str, tier: str, note: str, demote_aggr: bool = False) -> None:
        c = cands.get(code)
        if c is None:
            cands[code] = c = _Candidate(k.regimens[code], tier, len(cands), demote_when_aggressive=demote_aggr)
        elif TIER_RANK[tier] < TIER_RANK[c.tier]:
            c.tier = tier
        c.demote_when_aggressive = c.demote_when_aggressive or demote_aggr
        if note not in c.notes:
            c.notes.append(note)

    by_id = {s.id: s for s in k.settings}
    for sid in reversed(ctx.settings):  # the most advanced setting describes the disease best
        s = by_id[sid]
        for cand in s.candidates:
            note = k.say("rationale.setting", setting=s.id, name=s.name, note=cand.note, source=s.source)
            add(cand.regimen, cand.tier, note, cand.demote_when_aggressive)
    ctx.fire("R4", f"settings {', '.join(ctx.settings) or 'none'}")

    if case.prior_lines >= 2:
        untried = [c for c in k.untried_classes if c not in ctx.received_classes]
        if untried:
            for code in k.untried_regimens:
                reg = k.regimens[code]
                new = [d for d in reg.active_components if k.drugs[d].drug_class in untried]
                if new:
                    drug = new[0]
                    add(code, "also", k.say("rationale.untried_class", drug=drug,
                                            drug_class=k.drugs[drug].drug_class, source=k.untried_source))
            ctx.fire("R4", "classes never recorded as received: " + ", ".join(untried))
    if ctx.fitness == "frail":
        for code in k.frail_regimens:
            add(code, "listed", k.say("rationale.frail", source=k.frail_source))
    return cands


# ---- R5 ---------------------------------------------------------------------------------------
def _rule_outs(reg: Regimen, ctx: _Context) -> List[str]:
    k, case, ref = ctx.k, ctx.case, ctx.refractory
    reasons = []
    for d in reg.components:
        if d in ref and d not in reg.allowed_refractory:
            reasons.append(k.say("exclusions.refractory", drug=d))
    if ctx.shared_refractory:
        cls_of = k.drug_class_of
        for d in reg.components:
            hit = ctx.shared_refractory.get(cls_of[d])
            if hit and d not in ref:
                reasons.append(k.say("exclusions.shared_target", drug=d, refractory=", ".join(hit),
                                     drug_class=cls_of[d]))
    for d in reg.components:
        if d in case.unavailable:
            reasons.append(k.say("exclusions.unavailable", drug=d))
    if reg.requires_t11_14 and not case.t_11_14:
        reasons.append(k.say("exclusions.t11_14_absent" if case.t_11_14 is False else "exclusions.t11_14_undocumented"))
    if case.prior_lines < reg.min_prior_lines:
        reasons.append(k.say("exclusions.prior_lines", needed=reg.min_prior_lines, case=case.prior_lines))
    missing = [c for c in reg.requires_prior_classes if c not in ctx.received_classes]
    if missing:
        reasons.append(k.say("exclusions.prior_classes", classes=" and ".join(missing)))
    if ctx.fitness == "frail" and reg.intensity in INTENSIVE_FOR_FRAIL:
        reasons.append(k.say("exclusions.frail", intensity=reg.intensity))
    elif reg.intensity == "quadruplet" and not (ctx.fitness == "fit" and ctx.aggressive):
        reasons.append(k.say("exclusions.quadruplet"))
    return reasons


def _cross_resistance(reg: Regimen, ctx: _Context) -> List[Tuple[str, str]]:
    """(short reason, rationale sentence) for each in-class switch or salvage exception of a regimen."""
    k, ref = ctx.k, ctx.refractory
    notes = []
    for d in reg.components:
        if d in ref:  # only possible for allowed_refractory components
            notes.append((k.say("cross_resistance.salvage", drug=d, note=reg.salvage_note),
                          k.say("rationale.salvage", drug=d, note=reg.salvage_note)))
            continue
        cls = k.drugs[d].drug_class
        if k.shared_target(cls) or not k.cross_resistance_class(cls):
            continue
        hit = sorted(x for x in ref if k.drugs[x].drug_class == cls)
        if hit:
            notes.append((k.say("cross_resistance.switch", drug=d, refractory=" and ".join(hit)),
                          k.say("rationale.switch", drug=d, refractory=", ".join(hit))))
    return notes


def _grouped(pairs: List[Tuple[str, str]], template: str) -> List[str]:
    """[(key, code)] -> one line per key listing its codes, in order of first appearance."""
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
    elif prior == 0:
        auto = (True, "auto_first_relapse" if case.prior_lines == 1 else "auto_later_relapse")
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

    high_risk = bool(case.high_risk_cytogenetics)
    allo_ok = bool(elig) and ctx.fitness == "fit" and high_risk
    text = k.say("transplant.allo")
    if allo_ok:
        text = k.say("transplant.allo_discussed") + " " + text
    out.append({"option": "allo-HCT", "recommended": allo_ok, "text": text})
    ctx.fire("R6", "; ".join(f"{t['option']} {'recommended' if t['recommended'] else 'not recommended'}" for t in out))
    return out


# ---- R7 ---------------------------------------------------------------------------------------
def _flag(case: Case, cond: str) -> bool:
    if cond.startswith("!"):
        return getattr(case, cond[1:]) is False
    return bool(getattr(case, cond))


def _cautions(
    ctx: _Context,
    options: List[Dict[str, object]],
    cross: Dict[str, List[Tuple[str, str]]],
    transplant: List[Dict[str, object]],
    len_maint: bool,
) -> List[Dict[str, object]]:
    k, case = ctx.k, ctx.case
    out = []
    recommended_tx = {t["option"] for t in transplant if t["recommended"]}
    option_hits = {o["regimen"]: dict(k.caution_hits[o["regimen"]]) for o in options}
    for caution in k.cautions.values():
        trig = caution.triggers
        because: List[str] = []
        if trig.get("always"):
            because.append(k.say("because.always"))
        drug_hits: List[Tuple[str, str]] = []
        offered: List[Tuple[str, str]] = []
        for opt in options:
            code = opt["regimen"]
            if caution.id == "cross_resistance":
                if cross.get(code):
                    opt["cautions"].append(caution.id)
                    drug_hits += [(short, code) for short, _ in cross[code]]
                continue
            hits = option_hits[code].get(caution.id)
            if hits:
                opt["cautions"].append(caution.id)
                if hits[0] == code:
                    offered.append(("", code))
                else:
                    drug_hits += [(d, code) for d in hits]
        by_options = bool(drug_hits or offered)
        if caution.id == "cross_resistance":
            because += _grouped(drug_hits, "{codes}: {key}")
        else:
            because += _grouped(drug_hits, "{key} in {codes}") + _grouped(offered, "{codes} offered")
        for flag in trig.get("patient", ()):
            if getattr(case, flag):
                because.append(k.say("because.patient", label=k.flag_labels[flag]))
        for code in trig.get("transplant", ()):
            if code in recommended_tx:
                because.append(k.say("because.transplant", code=code))
        for d in trig.get("derived", ()):
            if d == "len_maintenance" and len_maint:
                because.append(k.say("because.len_maintenance"))
            elif d == "frail" and ctx.fitness == "frail":
                because.append(k.say("because.frail", basis=fitness_of(case)[1]))
        if not because:
            continue
        severity = caution.severity
        if by_options and severity == "info" and trig.get("always"):
            severity = "moderate"
        if any(_flag(case, c) for c in caution.moderate_when) and severity == "info":
            severity = "moderate"
            because += [k.say("because.patient_value", label=k.flag_labels[c.lstrip("!")],
                              value="no" if c.startswith("!") else "yes")
                        for c in caution.moderate_when if _flag(case, c)]
        raised = [c for c in caution.high_when if _flag(case, c)]
        if raised:
            severity = "high"
            for c in raised:
                reason = k.say("because.patient", label=k.flag_labels[c])
                if reason not in because:
                    because.append(k.say("because.raises", reason=reason))
        offered = [o["regimen"] for o in options]
        notes = [note for code, note in caution.regimen_notes.items() if code in offered]
        out.append(
            {"id": caution.id, "severity": severity, "text": " ".join([caution.text, *notes]), "because": because}
        )
    ctx.fire("R7", "cautions " + ", ".join(c["id"] for c in out))
    return out


# ---- R8 and assembly ------------------------------------------------------------------------
def _rank_key(c: _Candidate, ctx: _Context) -> Tuple[int, int, int, int, int]:
    demotions = len(_demotions(c, ctx))
    aggr = 0
    if ctx.aggressive:
        aggr = 0 if c.regimen.intensity in FOUR_OR_MORE else 1 if c.regimen.intensity == "triplet" else 2
    return (demotions, TIER_RANK[c.tier], aggr, c.seq, c.regimen.index)


def _demotions(c: _Candidate, ctx: _Context) -> List[str]:
    out = [d.why for d in ctx.k.demotions if getattr(ctx.case, d.flag) and d.drugs & set(c.regimen.components)]
    if c.demote_when_aggressive and ctx.aggressive:
        out.append(ctx.k.say("rationale.less_aggressive", code=c.regimen.code))
    return out


def _received_classes(refractory: FrozenSet[str], exposed: List[str], k: KnowledgeBase) -> FrozenSet[str]:
    return frozenset(k.drugs[d].drug_class for d in (*refractory, *exposed))


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
    triple = {"IMiD", "PI", "anti-CD38"} <= set(ref_classes)
    penta = {"bortezomib", "carfilzomib", "lenalidomide", "pomalidomide"} <= refractory and bool(
        {"daratumumab", "isatuximab"} & refractory
    )
    settings = settings_of(refractory, k)
    ctx = _Context(case, k, refractory, _received_classes(refractory, case.exposed, k), fitness, aggressive, settings)

    initiation = _initiation(case, aggressive, k)
    ctx.fire("R1", f"relapse {case.relapse}" + (f"; aggressive: {', '.join(feats)}" if aggressive else ""))
    ctx.fire("R2", f"lenalidomide {len_status}: {len_why}")
    ctx.fire("R3", f"fitness {fitness} ({fitness_basis})")
    notes = []
    if fitness == "unknown":
        notes.append(k.say("notes.fitness_unknown"))
    if case.relapse != "clinical" and feats:
        notes.append(k.say("notes.aggressive_not_clinical", features=", ".join(feats)))

    options: List[Dict[str, object]] = []
    excluded: List[Dict[str, object]] = []
    cross: Dict[str, List[Tuple[str, str]]] = {}
    transplant: List[Dict[str, object]] = []

    if case.relapse == "none":
        for reg in k.regimens.values():
            excluded.append({"regimen": reg.code, "ruled_out": True, "reasons": [k.say("exclusions.no_relapse")]})
    else:
        cands = _candidates(ctx)
        kept: List[_Candidate] = []
        for reg in k.regimens.values():
            cand = cands.get(reg.code)
            reasons = _rule_outs(reg, ctx)
            if cand is not None and not reasons:
                kept.append(cand)
                continue
            if cand is None:
                where = ", ".join(settings) if settings else "this case"
                reasons = reasons + [k.say("exclusions.not_indicated", where=where)]
            else:
                ctx.fire("R5", f"{reg.code} ruled out: {'; '.join(reasons)}")
            excluded.append(
                {"regimen": reg.code, "ruled_out": cand is not None or len(reasons) > 1, "reasons": reasons}
            )
        kept.sort(key=lambda c: _rank_key(c, ctx))
        for c in kept:
            reg = c.regimen
            rationale = list(c.notes)
            if c.tier == "preferred":
                rationale.insert(0, k.say("rationale.preferred"))
            cross[reg.code] = _cross_resistance(reg, ctx)
            rationale += [sentence for _, sentence in cross[reg.code]]
            rationale += [k.say("rationale.ranked_lower", why=why) for why in _demotions(c, ctx)]
            if aggressive and reg.intensity in FOUR_OR_MORE | {"triplet"}:
                rationale.append(k.say("rationale.aggressive"))
            for tid in reg.trials:
                t = k.trials[tid]
                rationale.append(f"{t.id}: {t.comparison}: {t.result}")
            options.append(
                {
                    "regimen": reg.code,
                    "name": reg.name,
                    "components": list(reg.components),
                    "preferred": c.tier == "preferred",
                    "rationale": rationale,
                    "trials": list(reg.trials),
                    "cautions": [],
                }
            )
        if options:
            ctx.fire("R8", "ranked: " + ", ".join(o["regimen"] for o in options))
        transplant = _transplant(ctx)
        # ruled-out first, then not indicated; each group in catalog order
        excluded.sort(key=lambda e: (not e["ruled_out"], k.regimens[e["regimen"]].index))

    cautions = _cautions(
        ctx, options, cross, transplant, len_status == "sensitive" and bool(case.lenalidomide_maintenance_only)
    )
    trial_ids: List[str] = []
    for o in options:
        trial_ids += [t for t in o["trials"] if t not in trial_ids]
    for t in transplant:
        if t["recommended"]:
            trial_ids += [tid for tid in k.transplants[t["option"]].trials if tid not in trial_ids]
    trials = [
        {
            "id": t.id,
            "comparison": t.comparison,
            "result": t.result,
            "source": t.source,
            "setting": t.setting,
            "checked": t.checked,
        }
        for t in (k.trials[i] for i in trial_ids)
    ]

    return {
        "engine_version": ENGINE_VERSION,
        "knowledge_version": k.version,
        "assessment": {
            "setting": settings[-1] if settings else None,
            "settings": list(settings),
            "lenalidomide_status": len_status,
            "refractory_classes": ref_classes,
            "triple_class_refractory": triple,
            "penta_refractory": penta,
            "fitness": fitness,
            "fitness_basis": fitness_basis,
            "aggressive": aggressive,
            "aggressive_features": feats,
            "notes": notes,
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
        "read_as": read_as(case, k),  # the case as read, shown first by every renderer (clinical-spec section 9)
    }
