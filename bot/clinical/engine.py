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
from .models import AGGRESSIVE_FLAGS, Case

SETTING_ORDER = ("S1", "S2", "S3", "S4", "S5", "S6")
TIER_RANK = {"preferred": 0, "listed": 1, "also": 2}
INTENSIVE_FOR_FRAIL = frozenset({"triplet", "quadruplet", "combination", "cell_therapy"})
FOUR_OR_MORE = frozenset({"quadruplet", "combination"})
AGGRESSIVE_LABELS = {
    "ldh_elevated": "elevated LDH", "high_proliferation": "high plasma-cell proliferation index",
    "m_protein_rising": "rising M-protein", "extramedullary": "extramedullary disease",
}
FLAG_LABELS = {
    "cardiac_disease": "cardiac disease", "neuropathy": "existing peripheral neuropathy",
    "thrombosis_history": "history of thrombosis", "infection_risk": "high infection risk",
    "low_marrow_reserve": "low bone-marrow reserve", "renal_impairment": "renal impairment",
    "bone_disease": "bone disease", "t_11_14": "t(11;14)",
    "covid_vaccination_up_to_date": "COVID-19 vaccination up to date",
}
# R8 demotions: (case flag, drugs it demotes, explanation).
DEMOTIONS = (
    ("cardiac_disease", frozenset({"carfilzomib"}), "cardiac disease ranks carfilzomib lower"),
    (
        "neuropathy",
        frozenset({"bortezomib", "thalidomide"}),
        "existing neuropathy ranks bortezomib and thalidomide lower",
    ),
)


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
def aggressive_features(case: Case) -> List[str]:
    feats = []
    if case.high_risk_cytogenetics:
        feats.append("high-risk cytogenetics (" + ", ".join(case.high_risk_cytogenetics) + ")")
    feats += [AGGRESSIVE_LABELS[f] for f in AGGRESSIVE_FLAGS if getattr(case, f)]
    return feats


def _initiation(case: Case, aggressive: bool, k: KnowledgeBase) -> Dict[str, str]:
    action = {"none": "monitor", "biochemical": "start"}.get(case.relapse) or (
        "start_immediately" if aggressive else "start"
    )
    return {"action": action, "text": k.texts["initiation"][action]}


# ---- R2 ---------------------------------------------------------------------------------------
def lenalidomide_status(case: Case) -> Tuple[str, str]:
    """(status, why) by the 60-day rule and the maintenance exception of R2."""
    listed = "lenalidomide" in case.refractory
    days = case.days_since_last_lenalidomide
    if case.lenalidomide_maintenance_only:
        why = "progression on lenalidomide maintenance only counts as lenalidomide-sensitive (seed)"
        if listed:
            why += "; it was listed as refractory, which the maintenance exception overrides"
        return "sensitive", why
    if listed:
        return "refractory", "lenalidomide listed as refractory"
    if days is not None and days <= 60:
        return (
            "refractory",
            f"progression {days} days after the last lenalidomide dose (on therapy or <= 60 days: IMWG)",
        )
    if days is not None:
        return "sensitive", f"progression {days} days after the last lenalidomide dose (> 60 days)"
    if "lenalidomide" in case.exposed:
        return "sensitive", "lenalidomide received without refractoriness"
    return "naive", "no lenalidomide recorded"


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
            add(cand.regimen, cand.tier, f"{s.id} ({s.name}): {cand.note} [{s.source}]", cand.demote_when_aggressive)
    ctx.fire("R4", f"settings {', '.join(ctx.settings) or 'none'}")

    if case.prior_lines >= 2:
        untried = [c for c in k.untried_classes if c not in ctx.received_classes]
        if untried:
            for code in k.untried_regimens:
                reg = k.regimens[code]
                new = [d for d in reg.active_components if k.drugs[d].drug_class in untried]
                if new:
                    drug = new[0]
                    add(
                        code,
                        "also",
                        f"{drug} ({k.drugs[drug].drug_class}) is a class not recorded as received; "
                        f"an untried class may be used at any later relapse [{k.untried_source}]",
                    )
            ctx.fire("R4", "classes never recorded as received: " + ", ".join(untried))
    if ctx.fitness == "frail":
        for code in k.frail_regimens:
            add(code, "listed", f"doublet or monotherapy for a frail patient [{k.frail_source}]")
    return cands


# ---- R5 ---------------------------------------------------------------------------------------
def _rule_outs(reg: Regimen, ctx: _Context) -> List[str]:
    k, case, ref = ctx.k, ctx.case, ctx.refractory
    reasons = []
    for d in reg.components:
        if d in ref and d not in reg.allowed_refractory:
            reasons.append(f"contains {d}, to which the disease is refractory")
    if ctx.shared_refractory:
        cls_of = k.drug_class_of
        for d in reg.components:
            hit = ctx.shared_refractory.get(cls_of[d])
            if hit and d not in ref:
                reasons.append(
                    f"contains {d}: refractory to {', '.join(hit)}, and {cls_of[d]} antibodies share one target"
                )
    for d in reg.components:
        if d in case.unavailable:
            reasons.append(f"{d} is not available here")
    if reg.requires_t11_14 and not case.t_11_14:
        reasons.append("needs t(11;14), " + ("which is absent" if case.t_11_14 is False else "which is not documented"))
    if case.prior_lines < reg.min_prior_lines:
        reasons.append(f"needs >= {reg.min_prior_lines} prior lines (case: {case.prior_lines})")
    missing = [c for c in reg.requires_prior_classes if c not in ctx.received_classes]
    if missing:
        reasons.append("needs prior " + " and ".join(missing) + " therapy, not recorded")
    if ctx.fitness == "frail" and reg.intensity in INTENSIVE_FOR_FRAIL:
        reasons.append(f"frail patient: monotherapy or doublets only ({reg.intensity})")
    elif reg.intensity == "quadruplet" and not (ctx.fitness == "fit" and ctx.aggressive):
        reasons.append("quadruplets only for fit patients with aggressive disease")
    return reasons


def _cross_resistance(reg: Regimen, ctx: _Context) -> List[Tuple[str, str]]:
    """(short reason, rationale sentence) for each in-class switch or salvage exception of a regimen."""
    k, ref = ctx.k, ctx.refractory
    notes = []
    for d in reg.components:
        if d in ref:  # only possible for allowed_refractory components
            notes.append(
                (
                    f"{d} despite refractoriness ({reg.salvage_note})",
                    f"stays despite refractoriness to {d}: {reg.salvage_note}",
                )
            )
            continue
        cls = k.drugs[d].drug_class
        if k.shared_target(cls) or not k.cross_resistance_class(cls):
            continue
        hit = sorted(x for x in ref if k.drugs[x].drug_class == cls)
        if hit:
            notes.append(
                (
                    f"{d} after refractory {' and '.join(hit)}",
                    f"switches to {d} within a class the disease is refractory to ({', '.join(hit)}): "
                    f"cross-resistance possible",
                )
            )
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
    case = ctx.case
    elig, prior, months = case.transplant_eligible, case.prior_auto_hct, case.months_remission_after_hct
    out = []
    if elig is None:
        auto = (
            False,
            "Transplant eligibility not stated: if eligible and no autologous HCT has been done, "
            "high-dose chemotherapy with autologous HCT is advised at first relapse.",
        )
    elif not elig:
        auto = (False, "Not transplant-eligible: autologous HCT is not advised.")
    elif prior is None:
        auto = (
            False,
            "Number of prior autologous transplants not stated: if none, high-dose chemotherapy "
            "with autologous HCT is advised at first relapse.",
        )
    elif prior == 0:
        text = "Transplant-eligible with no prior autologous HCT: high-dose chemotherapy with autologous HCT is advised"
        text += " at this first relapse." if case.prior_lines == 1 else " (the source advises it at first relapse)."
        auto = (True, text)
    else:
        auto = (False, f"{prior} autologous HCT already done: see second autologous HCT.")
    out.append({"option": "auto-HCT", "recommended": auto[0], "text": auto[1]})

    if prior:
        if not elig:
            second = (
                False,
                "A second autologous HCT needs transplant eligibility"
                + (" (not stated)." if elig is None else ", which is absent."),
            )
        elif months is None:
            second = (
                False,
                "Length of remission after the last autologous HCT not stated: a second autologous "
                "HCT is considered when the first remission lasted >= 18 months (Myeloma X).",
            )
        elif months >= 18:
            second = (
                True,
                f"Remission of {months} months after autologous HCT (>= 18): consider a second "
                f"autologous HCT (Myeloma X: time to progression 19 vs 11 months).",
            )
        else:
            second = (
                False,
                f"Remission of {months} months after autologous HCT is under the usual 18-month "
                f"threshold: a second autologous HCT is not advised.",
            )
        out.append({"option": "auto-HCT-2", "recommended": second[0], "text": second[1]})

    high_risk = bool(case.high_risk_cytogenetics)
    allo_ok = bool(elig) and ctx.fitness == "fit" and high_risk
    text = (
        "Allogeneic HCT is a limited option, best within a clinical trial, for young, fit patients with "
        "high-risk disease; treatment-related mortality, GVHD, graft failure and infections limit it. "
        "HLA-identical sibling transplant at relapse: about 35% overall survival at 5 years (seed)."
    )
    if allo_ok:
        text = "Transplant-eligible, fit, high-risk cytogenetics: may be discussed. " + text
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
            because.append("shown with every recommendation")
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
                because.append(f"patient: {FLAG_LABELS[flag]}")
        for code in trig.get("transplant", ()):
            if code in recommended_tx:
                because.append(f"{code} is among the transplant options")
        for d in trig.get("derived", ()):
            if d == "len_maintenance" and len_maint:
                because.append("progression on lenalidomide maintenance only (R2)")
            elif d == "frail" and ctx.fitness == "frail":
                because.append(f"frail patient (R3; {fitness_of(case)[1]})")
        if not because:
            continue
        severity = caution.severity
        if by_options and severity == "info" and trig.get("always"):
            severity = "moderate"
        if any(_flag(case, c) for c in caution.moderate_when) and severity == "info":
            severity = "moderate"
            because += [
                f"patient: {FLAG_LABELS[c.lstrip('!')]}: {'no' if c.startswith('!') else 'yes'}"
                for c in caution.moderate_when
                if _flag(case, c)
            ]
        raised = [c for c in caution.high_when if _flag(case, c)]
        if raised:
            severity = "high"
            for c in raised:
                reason = f"patient: {FLAG_LABELS[c]}"
                if reason not in because:
                    because.append(reason + " (raises severity)")
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
    out = [why for flag, drugs, why in DEMOTIONS if getattr(ctx.case, flag) and drugs & set(c.regimen.components)]
    if c.demote_when_aggressive and ctx.aggressive:
        out.append(f"{c.regimen.code} is mainly for less aggressive disease")
    return out


def _received_classes(refractory: FrozenSet[str], exposed: List[str], k: KnowledgeBase) -> FrozenSet[str]:
    return frozenset(k.drugs[d].drug_class for d in (*refractory, *exposed))


def recommend(case: Case, knowledge: Optional[KnowledgeBase] = None) -> Dict[str, object]:
    """The Recommendation (contract.md) for a validated Case, as a JSON-ready dict."""
    k = knowledge or default_kb()
    feats = aggressive_features(case)
    aggressive = case.relapse == "clinical" and bool(feats)
    len_status, len_why = lenalidomide_status(case)
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
        notes.append(
            "Fitness not given (neither fitness nor R-MCI): frailty limits not applied and quadruplets "
            "withheld; give fitness or R-MCI for a complete answer."
        )
    if case.relapse != "clinical" and feats:
        notes.append(
            "Aggressive features present (" + ", ".join(feats) + ") but the relapse is not clinical: "
            "not treated as an aggressive relapse (R1)."
        )

    options: List[Dict[str, object]] = []
    excluded: List[Dict[str, object]] = []
    cross: Dict[str, List[Tuple[str, str]]] = {}
    transplant: List[Dict[str, object]] = []

    if case.relapse == "none":
        for reg in k.regimens.values():
            excluded.append(
                {"regimen": reg.code, "ruled_out": True, "reasons": ["no relapse requiring treatment: monitor (R1)"]}
            )
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
                reasons = reasons + [f"not among the regimens indicated for {where}"]
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
                rationale.insert(0, "preferred in this setting")
            cross[reg.code] = _cross_resistance(reg, ctx)
            rationale += [sentence for _, sentence in cross[reg.code]]
            rationale += [f"ranked lower: {why} (R8)" for why in _demotions(c, ctx)]
            if aggressive and reg.intensity in FOUR_OR_MORE | {"triplet"}:
                rationale.append("aggressive relapse favours triplets and quadruplets (R8)")
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
    }
