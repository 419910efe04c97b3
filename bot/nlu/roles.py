"""Roles from ConText modifiers: the status of a drug or regimen, the absence of a finding, and the entities
a target becomes (a prior regimen with a status is its drugs; a transplant in the history is prior_auto_hct).

`Roles(kb, prior_regimens).resolve(...)` reads the modifiers medspacy ConText attached to one target span:
the nearest status wins (`_pick` has the two exceptions of a list between two statuses); "but not" takes the
opposite of the status before it (`_but_not`). Modifier categories are those of `context_rules.json`.

Layer: may import the standard library, `.matchers` (target kinds) and `.heuristics`; works on spaCy
objects it is given and the knowledge base it is given.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from .heuristics import planned_transplant, relapsed_while_on, transplant_entity
from .matchers import DRUG, FINDING, PRIOR

# priority of statuses at equal distance from a drug
DRUG_PRIORITY = {"UNAVAILABLE": 0, "NAIVE": 1, "NEGATED_EXISTENCE": 2, "REFRACTORY": 3, "PROGRESSED": 4,
                 "BUT_NOT": 5, "MAINTENANCE": 6, "EXPOSED": 7, "IGNORE": 8, "NOT_BARE": 9}
FINDING_PRIORITY = {"NEGATED_EXISTENCE": 0, "ABSENT_ONLY": 0, "UNKNOWN": 1, "UNAVAILABLE": 1, "IGNORE": 1,
                    "NOT_BARE": 2, "POSITIVE": 3}
STRONG = {"REFRACTORY", "PROGRESSED", "NEGATED_EXISTENCE", "NAIVE", "UNAVAILABLE"}
HISTORY_WORDS = {"prior", "previous", "history of", "h/o", "hx of", "hx", "past", "recent", "known"}
STATUS_ROLE = {"UNAVAILABLE": "unavailable", "NAIVE": "naive", "NEGATED_EXISTENCE": "naive", "REFRACTORY": "refractory",
               "PROGRESSED": "refractory", "MAINTENANCE": "exposed", "EXPOSED": "exposed"}
# words after a regimen that name the phase it was given in, not a status ("progressed during VRd induction")
PHASE_WORDS = {"induction", "consolidation", "induction therapy", "induction chemotherapy"}
# words that join the drugs of one group before a status ("dara and btz exposed", "len + pom refractory")
GROUP_JOINERS = {"and", "&", "+", "/", "plus", "both", "also", "-"}
BUT_NOT_OPPOSITE = {"REFRACTORY": "EXPOSED", "PROGRESSED": "EXPOSED", "EXPOSED": "NEGATED_EXISTENCE",
                    "MAINTENANCE": "NEGATED_EXISTENCE"}


def _ranked(sp, priority: Dict[str, int], guard=()) -> List[Tuple[int, int, str, Any]]:
    """The modifiers of a span with a category in `priority`: (distance, priority, category, modifier), nearest
    first. A negation inside a `guard` range (a fact's own "no": "no progression") does not count."""
    ranked = []
    doc = sp.doc
    for mod in sp._.modifiers:
        cat = mod.category.upper()
        if cat not in priority:
            continue
        ms, me = mod.modifier_span
        if cat in ("NEGATED_EXISTENCE", "NOT_BARE") and guard:
            a, b = doc[ms].idx, doc[me - 1].idx + len(doc[me - 1])
            if any(gs <= a and b <= ge for gs, ge in guard):
                continue  # the "no" of "no progression", "never a transplant candidate": that fact's own
        dist = sp.start - me if me <= sp.start else ms - sp.end
        ranked.append((max(dist, 0), priority[cat], cat, mod))
    ranked.sort(key=lambda r: (r[0], r[1]))
    return ranked


def _closing_group(gap) -> bool:
    """'refr len, dara and btz exposed': the tokens between a drug and the status after it are the rest of a tight
    group ("and btz", "+ pom", "/ dara"), so the status after reaches the drug over the one before the list."""
    words = [t for t in gap if not t.ent_type_ and not t.is_space]
    if not (words and all(t.lower_ in GROUP_JOINERS for t in words) and any(
            t.lower_ in ("and", "&", "+", "/", "plus") for t in words)):
        return False
    # every name of the group is joined to the one before it: in "refractory to len dara carfilzomib and pom
    # bortezomib exposed" (dictated, no commas) only bortezomib is the group of "exposed"
    joined = False
    for t in gap:
        if t.is_space:
            continue
        if t.ent_type_ and t.ent_iob_ == "B":
            if not joined:
                return False
            joined = False
        elif not t.ent_type_:
            joined = True
    return True


def _pick(doc, sp, ranked):
    """The status of a drug: the nearest modifier; but when a status before the drug and a different one
    after it both reach it (a list between them: "refr len, pom, dara, bortezomib exposed"), the one after
    applies only to the drug right before it."""
    before = [r for r in ranked if r[3].modifier_span[1] <= sp.start]
    after = [r for r in ranked if r[3].modifier_span[0] >= sp.end]
    if before and after and before[0][2] != after[0][2] and before[0][2] in STRONG:
        if doc[slice(*after[0][3].modifier_span)].text.lower() in PHASE_WORDS:
            return before[0]  # "progressed during VRd induction": the phase names when, not a status
        gap = doc[sp.end:after[0][3].modifier_span[0]]
        if all(t.text in ("-", "–") or t.is_space for t in gap) or _closing_group(gap):
            return after[0]
        return before[0]
    if before and after and after[0][2] in STRONG and before[0][2] not in STRONG:
        # "2PL len+dara refractory", "1 line of therapy, Kyprolis and Revlimid refractory": a status written
        # right after a tight list (no comma) beats a weaker one before it
        gap = doc[sp.end:after[0][3].modifier_span[0]]
        if all((not t._.rrmm_free and t.text != ",") or t.text in ("-", "–") or t.is_space for t in gap):
            return after[0]
    return ranked[0]


def _but_not(mod, graph_mods) -> Optional[str]:
    """'refractory to len but not bortezomib': the opposite of the status before 'but not'."""
    ms = mod.modifier_span[0]
    before = [m for m in graph_mods if m.modifier_span[1] <= ms and m.category.upper() in DRUG_PRIORITY
              and m.category.upper() != "BUT_NOT"]
    if not before:
        return None
    prev = max(before, key=lambda m: m.modifier_span[1]).category.upper()
    return BUT_NOT_OPPOSITE.get(prev)


def _finding(doc, sp, c, guard) -> List[dict]:
    """A finding: role "absent" when negated (the adjacent negation word joins the span), dropped when unknown,
    corrected away or after a bare "not"; history words before it join the span ("prior DVT")."""
    s, e = sp.start_char, sp.end_char
    entity, value = c[3]
    role = c[4]
    ent = {"entity": entity, "value": value, "start": s, "end": e}
    if entity == "relapse":
        ent["_sign"] = True  # CRAB wording or a rising paraprotein (derive.resolve_relapse)
    ranked = _ranked(sp, FINDING_PRIORITY, guard)
    if role is None and ranked:
        dist, _, cat, mod = ranked[0]
        if cat in ("UNKNOWN", "UNAVAILABLE", "IGNORE", "NOT_BARE"):
            return []
        if cat in ("NEGATED_EXISTENCE", "ABSENT_ONLY"):
            role = "absent"
            ms, me = mod.modifier_span
            if dist == 0:  # the negation word is part of the span: "no neuropathy", "t(11;14) negative"
                ent["start"] = min(s, doc[ms].idx)
                ent["end"] = max(e, doc[me - 1].idx + len(doc[me - 1]))
    if role is None:  # "prior DVT", "history of PE": the history words are part of the span
        for mod in sp._.modifiers:
            ms, me = mod.modifier_span
            if me == sp.start and doc[ms:me].text.lower() in HISTORY_WORDS:
                ent["start"] = doc[ms].idx
    if role:
        ent["role"] = role
    return [ent]


class Roles:
    """Entities of one target span from its ConText modifiers."""

    def __init__(self, kb, prior_regimens: Dict[str, Tuple[str, ...]]) -> None:
        self.kb = kb
        self.prior_regimens = prior_regimens

    def resolve(self, doc, sp, c, graph_mods, question: bool, forced: bool = False, guard=(),
                history: bool = False) -> List[dict]:
        """`c` is the target's match (start_char, end_char, kind, value, fixed_role, priority); `forced`: progression
        was stated about it (`heuristics.progressed_on`); `guard`: character ranges of negated facts; `history`: it
        is named in a list of past treatments ("VTd + ASCT, ...", "Thalomid-dex, then Velcade-dex"): given, so
        exposed when nothing else is said about it."""
        if c[2] == FINDING:
            return _finding(doc, sp, c, guard)
        s, e = sp.start_char, sp.end_char
        kind, value = c[2], c[3]
        ranked = _ranked(sp, DRUG_PRIORITY, guard)
        cats = {r[2] for r in ranked}
        status: Optional[str] = None
        maint = False
        cat: Optional[str] = None
        if ranked:
            dist, _, cat, mod = _pick(doc, sp, ranked)
            if cat == "BUT_NOT":
                cat = _but_not(mod, graph_mods)
            if cat in ("REFRACTORY", "PROGRESSED") and any(r[2] in ("NOT_BARE", "BUT_NOT") and r[0] <= 1
                                                           and r[3].modifier_span[1] <= sp.start for r in ranked):
                cat = "EXPOSED"  # "but NOT bortezomib refractory"
            if cat in ("NEGATED_EXISTENCE", "NAIVE", "NOT_BARE") and any(
                    r[2] == "UNAVAILABLE" and r[0] <= 2 and r[3].modifier_span[0] >= sp.end for r in ranked):
                cat = "UNAVAILABLE"  # "no dara (not reimbursed here)"
        if cat is None and history:
            cat = "EXPOSED"
        if forced and cat in (None, "EXPOSED", "MAINTENANCE"):
            cat = "PROGRESSED"  # "on KRd and progressed", "DRd ..., progressing on it"
            cats.add(cat)
        if cat is not None:
            status = STATUS_ROLE.get(cat or "")
            maint = "MAINTENANCE" in cats and status not in ("naive", "unavailable")
            if maint and cat != "REFRACTORY":
                status = "exposed" if kind == DRUG and value == "lenalidomide" else status
                if kind == DRUG and value != "lenalidomide" and cat == "MAINTENANCE" and "PROGRESSED" in cats:
                    status = "refractory"
        out: List[dict] = []

        def drug(d: str, role: Optional[str]) -> dict:
            ent = {"entity": "drug", "value": d, "start": s, "end": e, "_named": kind == DRUG}
            if role and d != "dexamethasone":
                ent["role"] = role
            return ent

        if kind == DRUG:
            out.append(drug(value, status))
            if maint and value == "lenalidomide":
                mod = next(r[3] for r in ranked if r[2] == "MAINTENANCE")
                ms, me = mod.modifier_span
                mtoks = [t for t in doc[ms:me] if "maint" in t.lower_] or list(doc[ms:me])
                out.append({"entity": "lenalidomide_maintenance_only", "value": True,
                            "start": mtoks[0].idx, "end": mtoks[-1].idx + len(mtoks[-1]),
                            "_prog": bool({"PROGRESSED", "REFRACTORY"} & cats) or relapsed_while_on(doc, sp)})
            return out
        if kind == PRIOR:
            return [drug(d, status) for d in self.prior_regimens[value]]
        # catalog regimen or transplant
        if value in self.kb.transplants:
            lookup = question or len(doc) <= 3  # "what is a second ASCT?", "ASCT2"
            if status != "unavailable" and planned_transplant(doc.text, s, e):
                return [transplant_entity(value, None, True, s, e)]  # "ASCT planned": named, not done
            return [transplant_entity(value, status, lookup, s, e)]
        comps = self.kb.regimens[value].active_components
        if status in ("refractory", "exposed") and comps:
            return [drug(d, status) for d in comps]
        ent = {"entity": "regimen", "value": value, "start": s, "end": e}
        if status in ("naive", "unavailable") or (status and comps):
            ent["role"] = status
        return [ent]
