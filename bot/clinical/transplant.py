"""R6: autologous, second autologous and allogeneic transplant advice.

Imports: the standard library and bot.clinical (kb, context).
"""
from __future__ import annotations

from typing import Dict, List

from .context import _Context


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
        threshold = k.second_hct_months
        if not elig:
            second = (False, "second_eligibility_unknown" if elig is None else "second_not_eligible")
        elif months is None:
            second = (False, "second_remission_unknown")
        else:
            # R6 (2026-12): a longer remission is asked when lenalidomide maintenance followed the transplant
            longer = k.second_hct_after_maintenance_months if case.lenalidomide_maintenance_only else None
            threshold = longer or k.second_hct_months
            if months >= threshold:
                second = (True, "second_advised")
            else:
                second = (False, "second_short_after_maintenance" if longer else "second_short_remission")
        out.append({"option": "auto-HCT-2", "recommended": second[0],
                    "text": k.say(f"transplant.{second[1]}", months=months,
                                  threshold=threshold)})

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
