"""The deterministic guideline engine: clinical-spec.md rules R1-R9, settings S1-S6, tiers (section 7) and labels
by region (section 8), 2026 edition.

`recommend(case)` is a pure function of the case and the knowledge base: no I/O, no clock, no
randomness, no Rasa. It returns the Recommendation of contract.md as a plain dict (the JSON shape);
`bot.clinical.models.Recommendation` validates that shape. Clinical content (regimens, tier tables, labels,
cautions, trials, texts) lives in bot/clinical/knowledge/*.yml; the logic of the rules is split by rule:
assessment.py (R1-R4), exclusions.py (R5, R9), transplant.py (R6), cautions.py (R7), and here R8 (tiers and
order) and the assembly of the answer. `settings_of`, `lenalidomide_status`, `fitness_of` and
`aggressive_features` are re-exported for other modules.

Imports: the standard library, bot (ENGINE_VERSION) and bot.clinical.
"""
from __future__ import annotations

from typing import Dict, FrozenSet, List, Optional, Tuple

from bot import ENGINE_VERSION

from .assessment import (  # noqa: F401  (re-exported)
    _candidates,
    _initiation,
    aggressive_features,
    fitness_of,
    is_aggressive,
    lenalidomide_status,
    settings_of,
)
from .cautions import _cautions
from .context import LOWEST, NO_FAILURES, SETTING_ORDER, TIER_RANK, TRIPLE_CLASS, _Candidate, _Context
from .exclusions import _cross_resistance, _label_rule_outs, _rule_outs
from .kb import TIERS, KnowledgeBase
from .kb import kb as default_kb
from .models import Case
from .render import read_as
from .transplant import _transplant


# ---- R8 and assembly ------------------------------------------------------------------------
def _demotions(c: _Candidate, ctx: _Context) -> List[str]:
    comps = ctx.k.component_sets[c.regimen.code]
    out = [d.why for d in ctx.demotions if not d.drugs.isdisjoint(comps)] if ctx.demotions else []
    if c.demote_when_aggressive and ctx.aggressive:
        out.append(ctx.k.say("rationale.less_aggressive", code=c.regimen.code))
    return out


def _place(kept: List[_Candidate], ctx: _Context) -> Dict[str, List[str]]:
    """R9, R5 (BCMA) and R8 (aggressive lift, demotions) act on the tiers and the order inside them; returns the
    extra rationale of each regimen."""
    k, region = ctx.k, ctx.region
    extra: Dict[str, List[str]] = {}
    plans = k.label_plans[region]
    lowered = k.lowering_classes & ctx.received_classes  # R5: classes whose receipt lowers a regimen's tier
    for c in kept:
        code = c.regimen.code
        extra[code] = notes = []
        plan = plans.get(code)
        if plan is not None:
            rl, not_approved, unchecked = plan  # sentences that depend only on the knowledge base
            c.fails = fails = ctx.label_failures(code) if rl.has_rule else NO_FAILURES
            if not_approved:
                c.tier = LOWEST
                notes.append(not_approved)
            elif fails:  # only a label that is not binding gets here (binding ones were ruled out)
                c.tier = LOWEST
                notes.append(ctx.label_line("rationale.off_label", code, rl))
            if unchecked and not fails:  # an off-label note already names the whole label
                notes.append(unchecked)
        if lowered and not k.regimen_classes[code].isdisjoint(lowered):
            c.tier = min(c.tier + 1, LOWEST)  # R5: after a BCMA-directed therapy, one tier lower
            _same_target(c, ctx, notes)
        if code in k.exposure_note_regimens and ctx.received:
            notes += [note for regimens, classes, modalities, note in k.exposure_notes
                      if code in regimens and _received_any(ctx, classes, modalities)]
        if ctx.fitness == "frail" and code in k.redirecting:
            notes.append(k.say("rationale.frail_bispecific"))
        c.demoted = _demotions(c, ctx)
    if ctx.aggressive and (not k.lift_settings or not k.lift_settings.isdisjoint(ctx.candidate_settings)):
        lift = TIER_RANK[k.lift_to]
        worst_redirecting = max((c.tier for c in kept if c.regimen.code in k.redirecting), default=lift)
        for c in kept:
            if c.regimen.code in k.lift_regimens and c.tier > lift:
                c.tier, c.lifted = max(lift, worst_redirecting), True
                extra[c.regimen.code].append(k.say("rationale.aggressive_lift", tier=TIERS[c.tier]))
    return extra


def _same_target(c: _Candidate, ctx: _Context, notes: List[str]) -> None:
    """R5 (2026-12): after refractoriness to a drug of a class and modality (a BCMA bispecific, a BCMA CAR-T), the
    other drugs of that class and modality go to the class's tier, with the modality's note (drugs.yml)."""
    k = ctx.k
    for d in c.regimen.components:
        rule = k.same_modality.get(k.drug_class_of[d]) if k.same_modality else None
        modality = k.modality_of[d]
        if rule is None or modality not in rule[1]:
            continue
        hit = sorted(x for x in ctx.refractory if x != d and k.drug_class_of[x] == k.drug_class_of[d]
                     and k.modality_of[x] == modality)
        if hit:
            c.tier = max(c.tier, TIER_RANK[rule[0]])
            notes.append(rule[1][modality].format(drugs=" and ".join(hit)))


def _received_any(ctx: _Context, classes: FrozenSet[str], modalities: FrozenSet[str]) -> bool:
    k = ctx.k
    return any((not classes or k.drug_class_of[d] in classes) and (not modalities or k.modality_of[d] in modalities)
               for d in ctx.received)


def _rank_key(c: _Candidate, ctx: _Context) -> Tuple[int, int, int, int, int, int]:
    len_last = int(ctx.maintenance and ctx.k.maintenance_drug in c.regimen.components)
    # salvage chemotherapy never ranks above a T-cell-redirecting therapy of its tier (R8; R4 bridging, 2026-12);
    # after progression on lenalidomide maintenance, lenalidomide regimens come below every lenalidomide-free one of
    # their tier, bridging chemotherapy included (R2, 2026-12: "below the lenalidomide-free regimens")
    salvage_last = int(c.lifted or (c.regimen.code in ctx.k.lift_regimens and c.tier in ctx.redirecting_tiers))
    return (c.tier, len_last, salvage_last, int(bool(c.demoted)), c.evidence, c.regimen.index)


def recommend(case: Case, knowledge: Optional[KnowledgeBase] = None) -> Dict[str, object]:
    """The Recommendation (contract.md) for a validated Case, as a JSON-ready dict."""
    k = knowledge or default_kb()
    feats = aggressive_features(case, k)
    aggressive = is_aggressive(case, feats, k)
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
    # R2: progression on lenalidomide maintenance (2026-12: refractory; 2026-11: sensitive, with the as-if settings)
    maintenance = bool(case.lenalidomide_maintenance_only)
    settings = settings_of(refractory, k)
    candidate_settings = settings
    if maintenance and len_status == "sensitive":  # the 2026-11 reading: also the as-if-refractory settings
        as_if = settings_of(refractory | {k.maintenance_drug}, k)
        candidate_settings = tuple(s for s in SETTING_ORDER if s in settings or s in as_if)
    # R2: lenalidomide is never dropped from the history: received whichever list names it (labels needing an IMiD)
    received = frozenset((*refractory, *case.exposed, *((k.maintenance_drug,) if len_status != "naive" else ())))
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
    if case.relapse != "clinical" and feats and not aggressive:
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
        component_sets, labels = k.component_sets, k.rule_out_labels
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
        ctx.redirecting_tiers = frozenset(c.tier for c in kept if c.regimen.code in k.redirecting)
        kept.sort(key=lambda c: _rank_key(c, ctx))
        unapproved, approvals = k.unapproved_in[case.region], k.approval_lines
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
            if maintenance and len_status == "sensitive" and k.maintenance_drug not in reg.components:
                rationale.append(k.say("rationale.maintenance_free"))  # the 2026-11 reading of R2
            cited, trial_lines = k.citations(reg.code, case.prior_lines)  # section 6 (2026-12): the case's setting
            rationale += trial_lines
            fails = c.fails
            # section 5 (2026-12): only options not approved, withdrawn or off-label for the case in its region
            if reg.code in unapproved or fails:
                regulatory.append(reg.code)
            approval, region_label = (k.approval_for_case(reg.code, case.region, fails) if fails
                                      else (approvals[reg.code, None], approvals[reg.code, case.region]))
            options.append(
                {
                    "regimen": reg.code,
                    "name": reg.name,
                    "components": list(reg.components),
                    "preferred": tier == "preferred",
                    "tier": tier,
                    "approval": approval,
                    "label": region_label,
                    "rationale": rationale,
                    "notes": qualifiers,
                    "trials": list(cited),
                    "cautions": [],
                }
            )
        if options:
            ctx.fire("R8", "ranked: " + ", ".join(f"{o['regimen']} ({o['tier']})" for o in options))
        transplant = _transplant(ctx)
        excluded = ruled_out + not_indicated_ones  # ruled-out first, then not indicated; each in catalog order
        if aggressive and k.referral_modalities and any(  # R1 (b), 2026-12: refer for CAR-T now
                k.modality_of[d] in k.referral_modalities for o in options for d in o["components"]):
            initiation = {**initiation, "text": f"{initiation['text']} {k.say('initiation.refer_car_t')}"}
            ctx.fire("R1", "aggressive relapse with CAR-T among the options: refer now")

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
        "read_as": read_as(case, k),  # the case as read, shown first by every renderer (clinical-spec section 9)
    }
