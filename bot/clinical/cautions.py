"""R7: the cautions a recommended option or the patient triggers, each with why and its severity.

Imports: the standard library and bot.clinical (kb, models, context, exclusions).
"""
from __future__ import annotations

from typing import Dict, List, Tuple

from .assessment import fitness_of
from .context import _Context
from .exclusions import _grouped
from .kb import KnowledgeBase
from .models import Case


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


_NO_PART: Tuple[Tuple[str, ...], Tuple[str, ...], Tuple[str, ...]] = ((), (), ())


def _options_plan(k: KnowledgeBase, offered: Tuple[str, ...]) -> Dict[str, Tuple[Tuple[str, ...], ...]]:
    """Caution id -> (the offered options that trigger it by its option triggers, in the order offered; because
    lines; note sentences), for a list of offered options (the parts memoised per caution by `_option_part`)."""
    hits: Dict[str, List[str]] = {}
    for code in offered:
        for cid, _, _ in k.caution_pairs[code]:
            hits.setdefault(cid, []).append(code)
    return {cid: (tuple(codes), *_option_part(k, cid, tuple(codes))) for cid, codes in hits.items()}


def _cautions(
    ctx: _Context,
    options: List[Dict[str, object]],
    cross: Dict[str, List[Tuple[str, str]]],
    regulatory: List[str],
    transplant: List[Dict[str, object]],
) -> List[Dict[str, object]]:
    k, case, say = ctx.k, ctx.case, ctx.k.say
    patient_line, transplant_line = k.filled("because.patient", "label"), k.filled("because.transplant", "code")
    recommended_tx = {t["option"] for t in transplant if t["recommended"]}
    by_code = {o["regimen"]: o for o in options}
    offered = list(by_code)
    # the offered options that trigger each caution by its option triggers (cautions.yml, precomputed per regimen
    # by the knowledge base); the derived triggers come from this case
    plan = _options_plan(k, tuple(offered))
    cross_pairs = [(short, code) for code in offered for short, _ in cross.get(code, ())]
    out = []
    for caution, always, derived, patient, transplant_codes, only_by_options in k.caution_plan:
        cid = caution.id
        if only_by_options and cid not in plan:
            continue  # no offered option triggers it
        if caution.only_when and not all(getattr(case, f) for f in caution.only_when):
            continue  # fires only for patients with these features (renal_impairment, 2026-12)
        notes: Tuple[str, ...] = ()
        if "cross_resistance" in derived:
            lines, codes = _grouped(cross_pairs, "{codes}: {key}"), tuple(dict.fromkeys(c for _, c in cross_pairs))
        elif "regulatory_status" in derived:
            codes = tuple(regulatory)
            approvals = tuple(by_code[code]["approval"] for code in codes)
            hit = k.caution_memo.get(("regulatory_status", codes, approvals))  # the same sets recur
            if hit is None:
                hit = (tuple(_grouped([("", c) for c in codes], "{codes} offered")),
                       tuple(f"{code}: {line}." for code, line in zip(codes, approvals, strict=True)))
                if len(k.caution_memo) < 20_000:
                    k.caution_memo[("regulatory_status", codes, approvals)] = hit
            lines, notes = hit
        elif "len_maintenance" in derived and ctx.maintenance_allowed:  # R2 (2026-12): named on DRd and KRd
            codes = tuple(c for c in offered if c in ctx.maintenance_allowed)
            lines = ()
        else:
            codes, lines, notes = plan.get(cid, _NO_PART)
        flags = [f for f in patient if getattr(case, f)] if patient else ()
        if not (always or codes or flags or derived or transplant_codes):
            continue  # nothing of this case can trigger it
        because: List[str] = [say("because.always")] if always else []
        because += lines
        for code in codes:  # in the order of the options
            by_code[code]["cautions"].append(cid)
        if flags:
            because += [patient_line[k.flag_labels[f]] for f in flags]
        if transplant_codes and recommended_tx:
            because += [transplant_line[code] for code in transplant_codes if code in recommended_tx]
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
        raised = [c for c in caution.high_when if _flag(case, c)] if caution.high_when else ()
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
