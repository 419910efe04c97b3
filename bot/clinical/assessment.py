"""The case assessed: R1 (indication, aggressive features), R2 (lenalidomide status), R3 (fitness) and the
settings and candidates of R4.

Imports: the standard library and bot.clinical (kb, models, context).
"""
from __future__ import annotations

from typing import Dict, FrozenSet, List, Optional, Tuple

from .context import NOT_IN_TABLE, TABLE_ONLY, TIER_RANK, _Candidate, _Context
from .kb import KnowledgeBase
from .kb import kb as default_kb
from .models import Case


# ---- R1 ---------------------------------------------------------------------------------------
def early_relapse(case: Case, k: KnowledgeBase) -> bool:
    """R1 (b), 2026-12: relapse within `early_relapse.months` of the last autologous HCT (functional high risk). A
    remission length counts unless the case says no transplant was done."""
    months = case.months_remission_after_hct
    return (k.early_relapse_months is not None and months is not None and case.prior_auto_hct != 0
            and months < k.early_relapse_months)


def aggressive_features(case: Case, k: Optional[KnowledgeBase] = None) -> List[str]:
    k = k or default_kb()
    feats = []
    if case.high_risk_cytogenetics:
        feats.append(k.say("high_risk_feature", abnormalities=", ".join(case.high_risk_cytogenetics)))
    feats += [k.flag_labels[f] for f in k.aggressive_flags if getattr(case, f)]
    if early_relapse(case, k):
        feats.append(k.say("early_relapse_feature", months=case.months_remission_after_hct,
                           threshold=k.early_relapse_months))
    return feats


def is_aggressive(case: Case, feats: List[str], k: KnowledgeBase) -> bool:
    """R1: a clinical relapse with an aggressive feature; 2026-12: an early relapse after autologous HCT is
    aggressive whether the relapse is clinical or biochemical (functional high risk is a property of the disease)."""
    if case.relapse == "clinical":
        return bool(feats)
    return case.relapse == "biochemical" and early_relapse(case, k)


def _initiation(case: Case, aggressive: bool, k: KnowledgeBase) -> Dict[str, str]:
    action = "monitor" if case.relapse == "none" else "start_immediately" if aggressive else "start"
    key = "start_biochemical" if (action == "start" and case.relapse == "biochemical"
                                  and k.has_text("initiation.start_biochemical")) else action
    return {"action": action, "text": k.texts["initiation"][key]}


# ---- R2 ---------------------------------------------------------------------------------------
def lenalidomide_status(case: Case, k: Optional[KnowledgeBase] = None) -> Tuple[str, str]:
    """(status, why) by the 60-day rule and the maintenance exception of R2."""
    k = k or default_kb()
    listed = "lenalidomide" in case.refractory
    days = case.days_since_last_lenalidomide
    if case.lenalidomide_maintenance_only:
        if k.maintenance_counts_as == "refractory":  # R2 revised 2026-12: the same whichever list names it
            return "refractory", k.say("lenalidomide.maintenance")
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
    driven = ctx.label_driven()
    additions += [(*x, "label") for x in driven]
    if driven:
        ctx.fire("R4", f"{ctx.region} labels that hold: " + ", ".join(x[0] for x in driven))
    if ctx.maintenance and k.maintenance_regimens:  # R2 (2026-12): S1's preferred, only in their tier
        note = f"{k.maintenance_note} [{k.maintenance_source}]"
        additions += [(code, k.maintenance_tier, note, "maintenance") for code in k.maintenance_regimens]
    if ctx.aggressive and ctx.fitness in k.bridging_fitness:  # R4 (2026-12): bridging or debulking at any line
        note = k.bridging_note + (f"; {k.bridging_extramedullary_note}" if case.extramedullary else "")
        note = f"{note} [{k.bridging_source}]"
        additions += [(code, k.bridging_tier, note, "bridging") for code in k.bridging_regimens]
        ctx.fire("R4", "aggressive relapse: bridging or debulking candidates")
    for code, tier, note, source in additions:
        c = cands.get(code)
        if c is None:
            cands[code] = c = _Candidate(k.regimens[code], TIER_RANK[tier], NOT_IN_TABLE)
        elif code not in table:  # where the tier table names a regimen, its tier wins (section 7.2)
            c.tier = min(c.tier, TIER_RANK[tier])
        c.sources = c.sources | {source}
        if note not in c.notes:
            c.notes += (note,)
    if ctx.maintenance and k.maintenance_regimens:  # never higher than their tier (R2, 2026-12)
        floor = TIER_RANK[k.maintenance_tier]
        for code in k.maintenance_regimens:
            cands[code].tier = max(cands[code].tier, floor)
    return cands
