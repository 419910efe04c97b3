"""Look-up by drug: which regimens of the catalog contain a drug, and where each stands for a case.

"Which regimens contain carfilzomib?" in the chat (actions: action_drug_regimens) and
`GET /api/v1/regimens?drug=carfilzomib` (bot.plugins.channels.api) both answer from here. Any alias of the drug is
accepted (kb().drug_id). With a recommendation for the conversation's case, each regimen gets its place in it: its
tier among the options, or why it is not an option (the reasons of `excluded`, as "why not X?" gives them).
Pure: the knowledge base and a recommendation dict in, text or records out.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from .entries import Regimen
from .kb import KnowledgeBase
from .kb import kb as default_kb
from .render import tier_heading


def regimens_with(drug: str, k: Optional[KnowledgeBase] = None) -> Tuple[str, List[Regimen]]:
    """(the drug's id, the catalog's regimens that contain it, in catalog order); raises UnknownName for a name the
    knowledge base does not know as a drug."""
    k = k or default_kb()
    drug_id = k.drug_id(drug)
    return drug_id, [r for r in k.regimens.values() if drug_id in r.components]


def standing(rec: Dict[str, object], code: str, k: Optional[KnowledgeBase] = None) -> Dict[str, object]:
    """Where a regimen stands in a recommendation: {"tier": preferred|recommended|circumstances, "option": n} for an
    option, {"tier": None, "reasons": [...]} otherwise (ruled out by the case, or not indicated in its settings)."""
    numbered = [o for o in rec.get("options", []) if o["regimen"] != "trial"]
    for n, o in enumerate(numbered, 1):
        if o["regimen"] == code:
            return {"tier": o.get("tier"), "option": n}
    for e in rec.get("excluded", []):
        if e["regimen"] == code:
            return {"tier": None, "reasons": list(e["reasons"])}
    return {"tier": None, "reasons": []}


def _status_line(code: str, place: Dict[str, object], k: KnowledgeBase) -> str:
    if place.get("tier"):
        return f"- {code}: option {place['option']} ({tier_heading(str(place['tier']), k).lower()})"
    reasons = place.get("reasons") or []
    return f"- {code}: not an option" + (f": {reasons[0]}" if reasons else "")


def drug_regimens_text(drug: str, rec: Optional[Dict[str, object]] = None, k: Optional[KnowledgeBase] = None) -> str:
    """The answer for people: the short answer first (how many regimens, which), then each one's place in the case's
    recommendation when there is one. Raises UnknownName for an unknown drug."""
    k = k or default_kb()
    drug_id, regimens = regimens_with(drug, k)
    if not regimens:
        return f"No regimen of the catalog contains {drug_id}.\nKnowledge as of {k.edition}."
    names = ", ".join(f"{r.code} ({r.name})" for r in regimens)
    lines = [f"{drug_id} is in {len(regimens)} regimen{'s' if len(regimens) > 1 else ''}: {names}."]
    if rec is not None:
        lines.append("For this case:")
        placed = [(r.code, standing(rec, r.code, k)) for r in regimens]
        placed.sort(key=lambda cp: (cp[1].get("option") is None, cp[1].get("option") or 0))  # options first
        lines += [_status_line(code, place, k) for code, place in placed]
    else:
        lines.append('Once the case is described I say where each stands for it; "what is <regimen>?" gives the '
                     "details.")
    lines.append(f"Knowledge as of {k.edition}.")
    return "\n".join(lines)
