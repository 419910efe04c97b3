"""R5 and R9: what rules a candidate out (refractory drugs, a shared target, availability, t(11;14), frailty,
binding labels of the region) and the cross-resistance notes of the regimens that stay.

Imports: the standard library and bot.clinical (kb, models, context).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from .context import FRAIL_ONLY, _Candidate, _Context
from .kb import Regimen


def _rule_outs(reg: Regimen, ctx: _Context) -> List[str]:
    k, case, ref = ctx.k, ctx.case, ctx.refractory
    reasons: List[str] = []
    comps = k.component_sets[reg.code]
    if not comps.isdisjoint(ref):
        for d in reg.components:
            if d in ref and d not in reg.allowed_refractory and not (
                    reg.code in ctx.maintenance_allowed and d == k.maintenance_drug):
                reasons.append(k.filled("exclusions.refractory", "drug")[d])
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
                reasons.append(k.filled("exclusions.unavailable", "drug")[d])
    if reg.requires_t11_14 and not case.t_11_14:
        reasons.append(k.say("exclusions.t11_14_absent" if case.t_11_14 is False else "exclusions.t11_14_undocumented"))
    if ctx.fitness == "frail":
        if reg.intensity in k.frail_excluded_intensities:
            reasons.append(k.filled("exclusions.frail", "intensity")[reg.intensity])
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
        return [ctx.label_line("exclusions.label", reg.code, rl)]
    return []


def _cross_resistance(reg: Regimen, ctx: _Context) -> List[Tuple[str, str]]:
    """(short reason, rationale sentence) for each in-class switch, salvage exception or prior exposure to a class
    that lowers the tier (BCMA), of a regimen."""
    k, ref = ctx.k, ctx.refractory
    if k.component_sets[reg.code].isdisjoint(ref) and k.regimen_classes[reg.code].isdisjoint(ctx.resisting_classes):
        return []
    notes = []
    for d in reg.components:
        if d in ref and reg.code in ctx.maintenance_allowed and d == k.maintenance_drug:
            continue  # R2 (2026-12): said by the maintenance note and caution len_maintenance
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
