"""Readings of facts said in prose or as bare items rather than in the usual words (issue 20), each from evidence
in the message: where the words stand (a list item of their own, the first item), what they attach to (the regimen
named in the same clause), negation and time in the same clause.

- `bare_age`: a number alone between separators ("74, IgA lambda, 2 prior lines") is the age when it opens the
  message; elsewhere among the facts it is a weak reading (`confidence_entity` below 1): the intake asks to
  confirm it ("Age 74?") instead of taking it.
- transplant eligibility and the number of transplants done: `transplants.py`.
- `current_regimen`: a regimen the patient is still on ("currently on DRd", "DRd ongoing", "on DRd since 2022")
  in a message that describes a relapse now is the regimen the disease progressed on: refractory (IMWG).
- `refractory_to_all`: "VRd, DKd, Pd. Refractory to all." reaches the drugs named before it.
- `lines_before_that`: "the last was teclistamab, 3 lines before that" counts the last therapy too (4); when the
  message also states a total, the partial count is dropped.

Each function takes the message (as the rules read it) and the entities so far and returns the entities to keep.

Layer: may import the standard library and `.lexicon`.
"""
from __future__ import annotations

import re
from typing import Callable, List, Optional, Tuple

from .lexicon import NUM, to_int

WEAK = 0.5  # confidence_entity of a reading the intake confirms before it takes it

# ---- a bare number as the age ------------------------------------------------------------------------------------
_ITEM_SPLIT = re.compile(r"[,;|\n]|\.(?=\s|$)|\s[-–]\s")
_BARE_NUMBER = re.compile(r"^\s*(?:(?:pt|patient|age|mdt|case|referral|consult)\s*[:#-]?\s*)?(\d{2,3})\s*$", re.I)
_HEADING = re.compile(r"^\s*[A-Za-z][\w /-]{0,30}:\s*")


def bare_age(text: str, out: List[dict]) -> List[dict]:
    if any(e["entity"] == "age" for e in out):
        return out
    taken = [(e["start"], e["end"]) for e in out]
    found = []
    pos = 0
    index = 0
    for part in _ITEM_SPLIT.split(text):
        start = text.find(part, pos)
        pos = start + len(part)
        item = part
        if index == 0:
            head = _HEADING.match(item)  # "MDT: 74, ..." / "Referral: 74 ..."
            if head and not _BARE_NUMBER.match(item):
                item, start = item[head.end():], start + head.end()
        if not item.strip():
            continue
        m = _BARE_NUMBER.match(item)
        if m:
            s, e = start + m.start(1), start + m.end(1)
            v = int(m.group(1))
            if 18 <= v <= 110 and all(e <= a or s >= b for a, b in taken):
                found.append((index, s, e, v))
        index += 1
    if len(found) != 1:
        return out  # none, or several bare numbers: nothing says which is the age
    index_count = index  # items in the message ("no, 79" answers with the age: two items)
    index, s, e, v = found[0]
    ent = {"entity": "age", "value": v, "start": s, "end": e}
    if index > 0 and index_count > 3:
        ent["confidence_entity"] = WEAK  # a bare number among many facts: asked, not taken
    return out + [ent]


# ---- shared: the clause of a span ---------------------------------------------------------------------------
# (dictated text says its punctuation: "full stop", "comma")
_CLAUSE_END = re.compile(r"[.;,!?()\n]|\b(?:but|however|although|though|and|full\s+stop|comma)\b", re.I)
_NEG_CUE = re.compile(r"\b(?:not|never|no\s+longer|unlikely|nor|neither|cannot)\b|n't\b", re.I)

def _clause_before(text: str, at: int) -> str:
    before = text[max(0, at - 80):at]
    cuts = list(_CLAUSE_END.finditer(before))
    return before[cuts[-1].end():] if cuts else before



def regimens_as_drugs(out: List[dict], components: Callable[[str], Tuple[str, ...]]) -> List[dict]:
    """Catalog regimens named without a status as their drugs without a role (so that a status found later in the
    words around them reaches their drugs; docs/nlu-schema.md, Regimens). Transplants and trials stay."""
    keep = []
    for e in out:
        comps = components(e["value"]) if e["entity"] == "regimen" and e.get("role") is None else ()
        if comps:
            keep += [{"entity": "drug", "value": d, "start": e["start"], "end": e["end"], "_regimen": e}
                     for d in comps if d != "dexamethasone"]
        else:
            keep.append(e)
    return keep


def drugs_back_to_regimens(out: List[dict]) -> List[dict]:
    """Drugs of a catalog regimen that got no status after all are the regimen entity again."""
    keep, seen = [], set()
    for e in out:
        reg = e.pop("_regimen", None)
        if reg is not None and not e.get("role"):
            if id(reg) not in seen:
                seen.add(id(reg))
                keep.append(reg)
            continue
        keep.append(e)
    return keep


# ---- progression on the regimen still given ----------------------------------------------------------------------
_CURRENT_BEFORE = re.compile(
    r"\b(?:currently|still|presently|remains|remained|continues|continuing|continued|has\s+been|have\s+been|"
    r"been|is)\s+(?:on|receiving|taking|getting|treated\s+with|maintained\s+on)\s+(?:(?:the|his|her|their|"
    r"ongoing|continuous|maintenance|full[\s-]dose|reduced[\s-]dose|low[\s-]dose|single[\s-]agent)\s+)*$", re.I)
_CURRENT_AFTER = re.compile(
    r"^(?:[\s/+-]*(?:and\s+)?(?:dex(?:amethasone)?|d)\b)?[\s-]*(?:\((?=\s*(?:ongoing|current|continuing|still))|\([^()]{0,40}\)\s*)?"
    r"(?:[,-]\s*)?(?:(?:which|that)\s+(?:he|she|they)\s+(?:is|are|has\s+been)\s+still\s+(?:on|receiving|taking)"
    r"|(?:on\s+)?which\s+(?:he|she|they)\s+(?:remains?|continues?|has\s+continued|have\s+continued|is\s+still)"
    r"|continued\s+(?:until|till|to)\s+(?:now|date|today)|ongoing|current(?:ly)?\b|continuing|continues"
    r"|still\s+(?:on|given|running|ongoing)|since\b(?!\s+(?:stopping|discontinu\w*|completing|finishing))"
    r"|(?:cycle|C)\s*\d+\s+(?:now|ongoing|currently)|x\s*\d+(?:\.\d)?\s*(?:yrs?|years)|,?\s*continuous|to\s+date|"
    r"(?:\d{4})?\s*[-–]\s*(?:present|now|ongoing)|since\s+then)", re.I)
_NOW_RELAPSE = re.compile(r"\b(?:progress(?:ed|ing|ion)|relaps(?:ed|ing|e)|PD|rising|risen|rose|climbing|"
                          r"going\s+up|increas(?:ed|ing)|new\s+(?:lesions?|lytic|bone)|doubl(?:ed|ing))\b", re.I)
_RISE = re.compile(r"\b(?:progress(?:ing|ion)|rising|risen|climb(?:ing|ed)|going\s+up|gone\s+(?:up|from)|"
                   r"increas(?:ing|ed)|doubl(?:ed|ing))\b|\d(?:\.\d+)?\s*(?:->|→)\s*\d", re.I)
_NO_RELAPSE = re.compile(r"\bno\s+(?:evidence\s+of\s+)?(?:relapse|progression)|\bin\s+(?:s?CR|VGPR|remission)\b|"
                         r"\bstill\s+in\s+remission|\bnot\s+relaps", re.I)
_STOPPED = re.compile(r"\b(?:stopped|discontinued|completed|finished|ceased|off|held)\b", re.I)


_HEDGED = re.compile(r"\b(?:whether|if|query|possible|suspected)\b[^.;\n]{0,40}?\b(?:progress\w*|relaps\w*)|"
                     r"\?\s*(?:progress\w*|relaps\w*)", re.I)


def _no_relapse_last(text: str) -> bool:
    """A remission said after the last relapse of the story ("relapsed 2020 -> DRd, now in CR"), not a remission of
    the history that a relapse ended ("remained in remission for two years, relapsed in 2023")."""
    found = list(_NO_RELAPSE.finditer(text))
    return bool(found) and not _NOW_RELAPSE.search(text, found[-1].end())


def current_regimen(text: str, out: List[dict], components: Callable[[str], Tuple[str, ...]]) -> List[dict]:
    relapse = [e for e in out if e["entity"] == "relapse" and e["value"] in ("clinical", "biochemical")
               and e.get("role") in (None, "sign")]
    # a relapse now, said in words, by its signs or a rising value, and nothing saying there is none; without it a
    # regimen still given was given (exposed: "DRd ongoing, in sCR")
    told = _HEDGED.sub(" ", text)  # "to see whether she is progressing": asked, not told
    now = not ((not relapse and not _RISE.search(told)) or any(e["entity"] == "relapse" and e["value"] == "none"
                                                              for e in out) or _no_relapse_last(text))
    keep = []
    for e in out:
        keep.append(e)
        regimen = e["entity"] == "regimen" and e.get("role") is None and bool(components(e["value"]))
        if not regimen and (e["entity"] != "drug" or e.get("role") not in (None, "exposed")
                            or e["value"] == "dexamethasone"):
            continue
        clause_before = _clause_before(text, e["start"])
        after = text[e["end"]:e["end"] + 60]
        current = _CURRENT_BEFORE.search(clause_before) or _CURRENT_AFTER.match(after)
        if current and not _STOPPED.search(re.split(r"[.;\n]", after)[0]) and not _NEG_CUE.search(clause_before):
            role = "refractory" if now else "exposed"
            if not now and e.get("role"):
                continue
            if regimen:  # a catalog regimen with a status is its drugs (docs/nlu-schema.md, Regimens)
                keep.pop()
                keep += [{"entity": "drug", "value": d, "role": role, "start": e["start"], "end": e["end"]}
                         for d in components(e["value"]) if d != "dexamethasone"]
            else:
                e["role"] = role
    return keep


# ---- "N lines before that" ---------------------------------------------------------------------------------------
_BEFORE_THAT = re.compile(rf"\b(?P<n>{NUM})\s+(?:(?:prior|previous|other|more|earlier|further)\s+)?"
                          r"(?:lines?|regimens?|therapies|treatments)(?:\s+of\s+(?:therapy|treatment))?\s+"
                          r"(?:before|prior\s+to|preceding)\s+(?:that|this|it|then|them)\b", re.I)


def lines_before_that(text: str, out: List[dict]) -> List[dict]:
    m = _BEFORE_THAT.search(text)
    if not m:
        return out
    inside = [e for e in out if e["entity"] == "prior_lines" and m.start() <= e["start"] < m.end()]
    others = [e for e in out if e["entity"] == "prior_lines" and e not in inside and e.get("role") != "counted"]
    n: Optional[int] = to_int(m.group("n"))
    if others or n is None:
        return [e for e in out if e not in inside]  # a total is stated: the partial count is no count
    kept = [e for e in out if e not in inside and e["entity"] != "prior_lines"]
    return kept + [{"entity": "prior_lines", "value": n + 1, "start": m.start(), "end": m.end()}]


# ---- "refractory to all" after the list it refers to -------------------------------------------------------------
_ALL_REFRACTORY = re.compile(
    r"\b(?:(?:refractory|refr\.?|ref)\s+to\s+(?:all|everything|each|all\s+of\s+(?:them|these|those|the\s+above)|"
    r"all\s+(?:the\s+)?(?:above|drugs|agents|of\s+these|three|four|five|of\s+them))|all\s+refractory|"
    r"refractory\s+to\s+every\s+(?:one|line|regimen|drug))\b(?!\s*[:(])", re.I)


_EXCEPT = re.compile(r"\s*(?:(?:listed|above|named|mentioned|so\s+far|given)\s*)?,?\s*(?:except(?:\s+for)?|"
                     r"apart\s+from|other\s+than|save|but\s+not|excluding|bar)\s+", re.I)


def refractory_to_all(text: str, out: List[dict]) -> List[dict]:
    """'VRd, DKd, Pd. Refractory to all.': every drug given before the words (a list that follows them, "refractory
    to all four: a, b, c", is read by the roles)."""
    for m in _ALL_REFRACTORY.finditer(text):
        if _NEG_CUE.search(_clause_before(text, m.start())):
            continue  # "not refractory to all of them"
        # "refractory to everything listed except cyclophosphamide": the exception was given, not progressed on
        x = _EXCEPT.match(text, m.end())
        end = x.end() + (re.search(r"[.;\n]|$", text[x.end():]).start()) if x else m.end()
        excepted = {e["value"] for e in out if e["entity"] == "drug" and x and x.end() <= e["start"] < end}
        for e in out:
            if e["entity"] != "drug" or e["value"] == "dexamethasone":
                continue
            if e["value"] in excepted:
                e["role"] = "exposed"
            elif e["end"] <= m.start() and e.get("role") in (None, "exposed"):
                e["role"] = "refractory"
    return out


# ---- progression said after the regimen in other words -------------------------------------------------------
_PROG_GENERIC = re.compile(
    r"^[^;|\n]{0,40}?\b(?:PD|progress\w*|relaps\w*|prog|escap\w*)\s+(?:(?:while|whilst)\s+)?(?:on|during|under|in)\s+"
    r"(?:the\s+|this\s+|that\s+|his\s+|her\s+)?(?:therapy|treatment|tx|it|this|that|them|both)\b", re.I)
_NEG_PROG = re.compile(r"\b(?:without|no|not|never|nor)\s+(?:\w+\s+)?(?:PD|progress\w*|prog|relaps\w*)", re.I)
_PROG_UNDER = re.compile(r"\b(?:PD|progress\w*|relaps\w*)\s+(?:under|during)\s+(?:the\s+|his\s+|her\s+)?$", re.I)
_HISTORY_AFTER = re.compile(r"^\s*(?:\(?\s*(?:\d{1,2}/)?(?:19|20)\d\d|->|→|=>|x\s*\d|\d+\s*cycles|"
                            r"(?:[-+/]|\band\b|\bthen\b)\s*(?:an?\s+)?(?:ASCT|auto\w*|SCT|HCT|(?:stem\s+cell\s+)?transplant)|"
                            r"[,;]?\s*(?:and\s+)?(?:(?:she|he|they)\s+)?(?:relaps\w*|progress\w*|PD)\s+(?:(?:\d{2,3}|[3-9])\s*"
                            r"(?:months?|mos?)|\d+(?:\.\d)?\s*(?:years?|yrs?))\s+(?:after|since|off)\b|"
                            r"\((?:[^()]*?)"
                            r"(?:CR|VGPR|PR|remission|relapse|response|stopped|months?|mo)\b)", re.I)
_HISTORY_BEFORE = re.compile(r"(?:->|→|=>|\bthen|(?:19|20)\d\d\s*:?|(?:^|[\s;,])\(?\d{1,2}[.)]|"
                             r"\b[a-z]\)|\b(?:had|received|given|got|"
                             r"after|treated\s+with|prior)\b)\s*$", re.I)
_ASKING = re.compile(r"\?|\b(?:consider\w*|option|for|versus|vs\.?|or|switch\w*\s+to|start\w*|plan\w*|referr\w*|"
                     r"approved|eligible|candidate)\s*$", re.I)


def progression_words(text: str, out: List[dict]) -> List[dict]:
    """'DPd (progress on therapy)', 'KCd - PD on tx', 'progression under DRd', 'Pd with elotuzumab, progressed in this
    month': progression said of "the therapy" right after a regimen, or "under" / "during" right before it, makes
    its drugs refractory (IMWG: progression on therapy). Other drugs of the same words go with it."""
    spans = sorted({(e["start"], e["end"]) for e in out if e["entity"] == "drug" and e["value"] != "dexamethasone"})
    hit = set()
    for i, (s, e) in enumerate(spans):
        nxt = spans[i + 1][0] if i + 1 < len(spans) else len(text)
        after = text[e:nxt]
        m = _PROG_GENERIC.match(after)
        if (m and not _NEG_PROG.search(m.group(0))) or _PROG_UNDER.search(text[max(0, s - 40):s]):
            hit.add((s, e))
    for d in out:
        if (d["start"], d["end"]) in hit and d["entity"] == "drug" and d.get("role") in (None, "exposed") \
                and d["value"] != "dexamethasone":
            d["role"] = "refractory"
    return out


def history_drugs(text: str, out: List[dict]) -> List[dict]:
    """A drug named without a status in a told history ("cilta-cel 01/2024 -> sCR", "2021 ide-cel (relapse after 22
    months)", "-> DKd -> ...") was given: exposed. Not in a question, nor after words of a choice ahead ("consider",
    "for", "vs")."""
    for d in out:
        if d["entity"] != "drug" or d.get("role") or d["value"] == "dexamethasone":
            continue
        end = d["end"]
        for o in out:  # the regimen's other words ("Dara-Pom-dex")
            if o["entity"] == "drug" and 0 <= o["start"] - end <= 1:
                end = max(end, o["end"])
        before = text[max(0, d["start"] - 25):d["start"]]
        sentence = text[d["start"]:]
        stop = re.search(r"[.;|\n]", sentence)
        if "?" in sentence[:stop.start() if stop else len(sentence)] or _ASKING.search(before):
            continue
        if _HISTORY_AFTER.match(text[end:end + 40]) or _HISTORY_BEFORE.search(before):
            d["role"] = "exposed"
    return out


def _clause_text(text: str, start: int, end: int) -> str:
    a = max(text.rfind(ch, 0, start) for ch in ".;|\n(/") + 1
    ends = [i for i in (text.find(ch, end) for ch in ".;|\n)") if i >= 0]
    return text[a:min(ends) if ends else len(text)]


# ---- progression on lenalidomide maintenance told as a history ---------------------------------------------------
_LEN_MAINT = re.compile(r"\b(?:len(?:alidomide)?|lenalidomid|revlimid|R|DR|dara[\s-]?len)\s+maint\w*|\bmaint\w*\s+"
                        r"(?:with\s+|on\s+)?(?:len(?:alidomide)?|lenalidomid|revlimid)\b", re.I)
_PROG_ON_LEN = re.compile(
    r"^[^;|\n]{0,60}?\b(?:PD|progress\w*|prog\w*|relaps\w*|prgression|progresion|escape)\s+(?:\w+\s+){0,3}?"
    r"(?:on|under|during|while\s+on|in)\s+(?:the\s+)?(?:len(?:alidomide)?|lenalidomid|revlimid|R|it|maint\w*|"
    r"DR\s+maint\w*)\b|^[^;|\n]{0,30}?\bwhich\s+(?:he|she|they)\s+(?:\w+\s+)?progressed\s+on", re.I)


_NEXT_CLAUSE = re.compile(r"\s*(?:\([^()\n]{0,30}\)\s*)?[;\n]\s*(?:(?:\d{1,2}/)?(?:19|20)\d\d\s*:?\s*)?")
_PROG_OPENS = re.compile(r"(?:PD|progress\w*|relaps\w*)\s+(?:\w+\s+){0,2}?(?:on|under|during|while\s+on)\s+"
                         r"(?:the\s+)?(?:len(?:alidomide)?|lenalidomid|revlimid|R|maint\w*)\b", re.I)


def maintenance_progression(text: str, out: List[dict]) -> List[dict]:
    """'VRd -> ASCT -> len maint, PD on len', 'lenalidomide maintenance which she progressed on': progression on
    lenalidomide told right after its maintenance, with no other lenalidomide regimen between, was progression on
    maintenance (R2, 2026-12: lenalidomide-refractory with the flag)."""
    if any(e["entity"] == "lenalidomide_maintenance_only" for e in out):
        return out
    for m in _LEN_MAINT.finditer(text):
        after = text[m.end():m.end() + 90]
        stop = re.search(r"\b(?:stopped|discontinued|ceased|completed|until\s+\d|for\s+\d)", after[:40], re.I)
        p = _PROG_ON_LEN.match(after)
        if not p:  # "len maint; PD on len", "-> len maint\n06/2021 PD on len": the next clause opens with it
            nxt = _NEXT_CLAUSE.match(after)
            p = _PROG_OPENS.match(after, nxt.end()) if nxt else None
        if not p or (stop and stop.start() < p.end()):
            continue
        between = [e for e in out if e["entity"] == "drug" and e["value"] == "lenalidomide"
                   and m.end() < e["start"] < m.end() + p.start()]
        if between:
            continue  # another lenalidomide regimen came after the maintenance
        return out + [{"entity": "lenalidomide_maintenance_only", "value": True, "start": m.start(), "end": m.end()}]
    return out


# ---- "(PD on len)" said of one drug of a plan --------------------------------------------------------------------
_PAREN_PROG = re.compile(r"\(\s*(?:PD|progress\w*|prog\w*|relaps\w*)\s+(?:\w+\s+)?(?:on|under|during|while\s+on)\s+"
                         r"(?:the\s+)?[^()]{0,40}\)", re.I)
_PLAN_START = re.compile(r"[,;|\n:]|\bthen\b|\d\)|\)", re.I)


def named_progression(text: str, out: List[dict]) -> List[dict]:
    """'VRd/ASCT/len maint (PD on len)', 'D-VMP (PD on dara maintenance)': progression said of a drug of the plan in
    brackets makes that drug refractory, not the rest of the plan (bortezomib stays exposed)."""
    for m in _PAREN_PROG.finditer(text):
        named = {e["value"] for e in out if e["entity"] == "drug" and m.start() < e["start"] < m.end()}
        if not named:
            continue
        cuts = list(_PLAN_START.finditer(text, 0, m.start()))
        start = cuts[-1].end() if cuts else 0
        for e in out:
            if (e["entity"] == "drug" and start <= e["start"] < m.start() and e.get("role") == "refractory"
                    and e["value"] not in named):
                e["role"] = "exposed"
    return out


# ---- the relapse now, not a relapse of the history ---------------------------------------------------------------
_PAST_WORDS = re.compile(r"\bat\s+(?:that|the)\s+time\b|\bpreviously\b|\bat\s+diagnosis\b|\bdiagnosed\b|"
                         r"\bat\s+(?:first|1st)\s+relapse\b|\bbaseline\b|\bknown\b|\bhx\b|\bhistory\b", re.I)
_NOW_MARK = re.compile(r"\b(?:now|currently|current|today|this\s+(?:month|week)|at\s+present|recent(?:ly)?|presents?|"
                       r"admitted)\b", re.I)
_YEAR = re.compile(r"(?<!\d)(?:(?:\d{1,2}/)?((?:19|20)\d\d)|\d{1,2}/(\d\d))(?![\d/])|'(\d\d)\b")


def _when(text: str, e: dict) -> Optional[float]:
    """The time of a reading: "now" words in its clause (infinity), else the year written nearest to it on its line
    (within 50 characters), else None."""
    clause = _clause_text(text, e["start"], e["end"])
    if _NOW_MARK.search(clause):
        return float("inf")
    a = max(text.rfind("\n", 0, e["start"]) + 1, e["start"] - 50)
    b = text.find("\n", e["end"])
    b = min(b if b >= 0 else len(text), e["end"] + 50)
    best = None
    for m in _YEAR.finditer(text, a, b):
        y = m.group(1) or m.group(2) or m.group(3)
        year = int(y) if len(y) == 4 else 2000 + int(y)
        dist = e["start"] - m.end() if m.end() <= e["start"] else m.start() - e["end"]
        if best is None or dist < best[0]:
            best = (dist, year)
    return float(best[1]) if best else None


def relapse_now(text: str, out: List[dict]) -> List[dict]:
    """In a told history the relapse type of an earlier progression ("03/2022 PD on R (biochem only) -> ... 10/2026
    PD on DKd w/ new lytic lesion", "diagnosed in 2019 with acute kidney injury") is not the relapse now: readings
    dated before the latest one, or marked as past ("at diagnosis", "baseline", "at that time"), are dropped before
    the stated type and the signs are weighed (derive.resolve_relapse)."""
    rel = [e for e in out if e["entity"] == "relapse" and e.get("role") in (None, "sign")]
    # extramedullary disease is a clinical relapse too (the intake): it dates the relapse now as well
    emd = [e for e in out if e["entity"] == "aggressive_feature" and e["value"] == "extramedullary"
           and not e.get("role")]
    if len(rel) + len(emd) < 2 or not rel:
        return out
    when = {id(e): _when(text, e) for e in rel + emd}
    latest = max((w for w in when.values() if w is not None), default=None)
    dated = [e for e in rel if (latest is not None and when[id(e)] is not None and when[id(e)] < latest)
             or (when[id(e)] != float("inf") and _PAST_WORDS.search(_clause_text(text, e["start"], e["end"])))]
    if not dated or (len(dated) == len(rel) and not any(when[id(e)] is not None and when[id(e)] >= latest
                                                        for e in emd)):
        return out
    return [e for e in out if all(e is not d for d in dated)]


# ---- the partner of lenalidomide in a maintenance progressed on ("dara-len maintenance") ---------------------------
_MAINT_WORD = re.compile(r"\s*maint(?:enance)?\b", re.I)
_JOIN = re.compile(r"\s*[-+/]\s*|\s+and\s+", re.I)


def maintenance_partners(text: str, out: List[dict]) -> List[dict]:
    """'Dara-VRd, ASCT, daratumumab-lenalidomide maintenance; progressed on maintenance': with progression on
    lenalidomide maintenance (the flag), the drugs given with lenalidomide in that maintenance were progressed on
    too (refractory)."""
    if not any(e["entity"] == "lenalidomide_maintenance_only" for e in out):
        return out
    drugs = sorted((e for e in out if e["entity"] == "drug"), key=lambda e: e["start"])
    for m in _MAINT_WORD.finditer(text):
        group = [d for d in drugs if d["end"] == m.start()]
        while group:
            head = min(d["start"] for d in group)
            prev = [d for d in drugs if d["end"] <= head and _JOIN.fullmatch(text[d["end"]:head])]
            if not prev:
                break
            group += prev
        if any(d["value"] == "lenalidomide" for d in group):
            for d in group:
                if d["value"] not in ("lenalidomide", "dexamethasone") and d.get("role") in (None, "exposed"):
                    d["role"] = "refractory"
    return out
