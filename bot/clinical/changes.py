"""What a correction changed, in a clinician's words, said before the new short answer.

"Changed: now frail (was fit). Ruled out now: DKd, KRd (not for a frail patient). Kd first instead of DKd."
Compared from two recommendations alone (their Read-as lines, options, exclusions, action and high cautions), so any
channel can say it; the clinical wording of each reason is the engine's.
"""
from __future__ import annotations

from typing import Dict, List, Optional

from .kb import KnowledgeBase
from .kb import kb as default_kb
from .render import caution_name, plain, ranked_options


def _parts(rec: Dict[str, object]) -> List[str]:
    return [p for p in str(rec.get("read_as") or "").split("; ") if p]


def _case_change(old: Dict[str, object], new: Dict[str, object]) -> Optional[str]:
    """"now frail (was fit); now 3 prior lines (was 2 prior lines)": the parts of the case as read that differ,
    each new part beside the old part it replaced (same position, or the same kind of part), else alone."""
    before, after = _parts(old), _parts(new)
    gone = [p for p in before if p not in after]
    came = [p for p in after if p not in before]
    said = []
    for part in came:
        head = part.split(":")[0].split(" ")[-1]
        was = next((g for g in gone if g.split(":")[0].split(" ")[-1] == head), None)
        if was is None and len(came) == len(gone) == 1:
            was = gone[0]
        if was is not None:
            gone.remove(was)
        said.append(f"now {part}" + (f" (was {was})" if was else ""))
    said += [f"no longer {g}" for g in gone]
    return "; ".join(said) if said else None


def what_changed(old: Dict[str, object], new: Dict[str, object], k: Optional[KnowledgeBase] = None) -> str:
    """One short paragraph: what changed in the case, which options left (with their reason) or came, the new first
    option, a changed action and new high cautions; "Nothing changed in the options" when the options stay."""
    k = k or default_kb()
    out = []
    case = _case_change(old, new)
    if case:
        out.append(f"Changed: {case}.")
    before = [str(o["regimen"]) for o in ranked_options(old)]
    after = [str(o["regimen"]) for o in ranked_options(new)]
    reasons = {e["regimen"]: e.get("reasons", []) for e in new.get("excluded", [])}
    left: Dict[str, List[str]] = {}
    for code in (c for c in before if c not in after):
        why = plain(reasons[code][0], k) if reasons.get(code) else "no longer listed"
        left.setdefault(why, []).append(code)
    for why, codes in left.items():
        out.append(f"No longer an option: {', '.join(codes)} ({why}).")
    came = [c for c in after if c not in before]
    if came:
        out.append(f"New option{'s' if len(came) > 1 else ''}: {', '.join(came)}.")
    if after and before and after[0] != before[0]:
        out.append(f"{after[0]} first instead of {before[0]}.")
    elif before and after and before != after and not left and not came:
        out.append("Same options in a new order.")
    if old["initiation"]["action"] != new["initiation"]["action"]:
        out.append(f"Action now: {new['initiation']['text']}")
    high_before = {c["id"] for c in old.get("cautions", []) if c.get("severity") == "high"}
    high_new = [caution_name(c, k) for c in new.get("cautions", [])
                if c.get("severity") == "high" and c["id"] not in high_before]
    if high_new:
        out.append(f"New high caution{'s' if len(high_new) > 1 else ''}: {'; '.join(high_new)}.")
    if before == after and not high_new and old["initiation"]["action"] == new["initiation"]["action"]:
        out.append("The options stay the same.")
    return " ".join(out)
