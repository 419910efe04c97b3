"""Clinical reading rules around the ConText roles: coordinated lists, progression on a regimen named before
(anaphora), lenalidomide maintenance, transplant history, trial references and question framing.

Each rule is documented for users in docs/nlu-schema.md ("How messages are read"). Targets are spaCy spans
labelled DRUG (drugs, regimens, transplants, trials-as-option) or FINDING, with their match tuple
(start_char, end_char, kind, value, fixed_role, priority) in `info[(span.start, span.end)]`.

Layer: may import the standard library and `.matchers` (the target kinds); works on spaCy objects it is given.
"""
from __future__ import annotations

import re
from typing import Collection, List, Optional, Tuple

from .lexicon import to_int
from .matchers import DRUG, REGIMEN
from .sequences import MAINT_NEXT_RE, OFF_AFTER_RE, PROGRESSING_NOW_RE, plan_tail

# words that join the items of a coordinated list ("len, bort and dara", "len/dara")
CONNECTORS = {",", "and", "or", "/", "&", "+", "nor", "and/or", "as", "well", "-", "plus", "then", "("}
# progression stated after a list reaches its items, not the regimens before a "then" ("VCd, then Rd to PD")
LIST_CONNECTORS = CONNECTORS - {"then"}
QUESTION_RE = re.compile(r"\?|^\s*(?:what|why|how|which|when|tell|explain|describe|info|details|is|are|can|could|"
                         r"should|would|does|do|any|show|compare|cautions?|evidence)\b", re.I)
# a name as the whole message, maybe inside a question: "pd?", "why not allo?", "what did ASPIRE show?"
FRAME_RE = re.compile(
    r"^\s*(?:(?:what(?:'s|\s+is|\s+are|\s+about)|tell\s+me\s+about|explain|describe|why\s+not|why\s+no|info\s+on|"
    r"details\s+on|what\s+did|results\s+of|cautions\s+for|and|the)\s+)?(?:the\s+)?(?P<core>[\w+\-/ ]+?)"
    r"(?:\s+(?:regimen|trial|study|results|data|show|showed))?\s*[?.!]*\s*$", re.I)
_PROG = r"(?:progress(?:ed|ing|ion)|prog(?:'?d)?\.?|relaps(?:ed|ing|e)|PD|escaped|failed|failing)"
NEG_BEFORE = re.compile(r"(?:\bno|\bnot|\bwithout|\bnever|n't|\bnor)\s+(?:yet\s+|ever\s+|been\s+)*$", re.I)
# "progressing on it", "relapsed on this regimen", "progressed on both", "PD after 3 yrs on it", "refractory to
# both": the drugs named just before; "PD on each of the last three": the last items of the list before
ANAPHOR_RE = re.compile(
    rf"\b(?:{_PROG}(?:\s+(?:clinically|biochemically|rapidly|slowly|again|now|steadily|serologically))?"
    r"(?:\s+after\s+[^,;.()]{1,20}?)?\s+(?:(?:while|whilst)\s+)?(?:still\s+)?(?:on|during|through)"
    r"|refractory\s+to|resistant\s+to)\s+"
    r"(?:(?:each|all)\s+(?:of\s+)?(?:the\s+)?last\s+(?P<n>two|three|four|five|[2-5])|"
    r"(?P<pl>them|both(?:\s+of\s+them)?|these|those|each(?:\s+of\s+them)?|all\s+(?:three|four|of\s+them))|"
    r"it|this|that|the\s+same|the\s+latter|the\s+last\s+one|(?:this|that|the|the\s+same)\s+(?:regimen|combination|"
    r"combo|triplet|doublet|quadruplet|line|treatment|therapy))(?:\s+too)?\b", re.I)
# "DKd after VRd; both regimens to progression", "both failed": the last two regimens named
BOTH_PROG_RE = re.compile(
    r"\b(?:both|all\s+(?P<w>three|four))(?:\s+(?:of\s+them|regimens|lines|combinations|treatments))?\s+"
    r"(?:(?:were|was|have|had|then)\s+)*(?:(?:given|continued)\s+)?(?:(?:to|until|till)\s+(?:progression|PD)|failed|"
    r"progressed|refractory)\b", re.I)
# "Dara-Rd, refractory as well", "KRd - also refractory": a status after a comma that refers back to the regimen
APPOSITIVE_REFR_RE = re.compile(r"^\s*[,-]\s*(?:(?:also|likewise|again)\s+)?(?:refractory|refr\.?|resistant|progressed)"
                                r"\s*(?:as\s+well|too|also)\b", re.I)
# "lenalidomide-dex, which she progressed on", "DPd, which is now failing", "DRd, on which she has now progressed"
WHICH_PROG_RE = re.compile(
    r"^\s*(?:\([^()]{0,40}\)\s*)?(?:(?:from|since|in|at|starting)\s+[^,;.()\n]{1,25}?\s*|"
    r"(?:19|20)\d\d\s*(?:[-–]\s*(?:(?:19|20)\d\d|present|now)\s*)?)?,?\s*(?:(?:which|that)\s+(?:(?:she|he|they|the\s+patient|her\s+disease|his\s+disease)\s+)?"
    r"(?:(?:has|had|have|is|was|were|now|then|subsequently|eventually|also|since|quickly|rapidly)\s+)*"
    r"(?:progressed|relapsed|progressing|relapsing|failing|failed|stopped\s+working|escaped)"
    r"|on\s+which\s+[^.;]{0,40}?\b(?:progress|relaps|PD\b|fail|risen|rising|rose|increas|climb))", re.I)
# "stayed on daratumumab until it stopped working", "for 4 years until she progressed"
UNTIL_PROG_RE = re.compile(
    r"until\s+(?:it|they|she|he|the\s+disease|her\s+disease|his\s+disease)\s+(?:stopped\s+working|failed|"
    r"progressed|relapsed|escaped)\b", re.I)
# a rise or progression before "(while) (still) on X" in the same clause: "rising paraprotein while still on DRd"
RISE_RE = re.compile(
    rf"\b(?:{_PROG}|rising|rise|risen|rose|up\s+from|gone\s+from|went\s+from|climbing|climbed|increasing|increased|"
    r"going\s+up|gone\s+up|doubling|doubled|creeping)\b", re.I)
RISE_NEG = re.compile(r"\b(?:no|not|without|stable|never)\b", re.I)
ON_BEFORE_RE = re.compile(r"(?:\b(?:while|whilst)\s+(?:still\s+)?(?:on|taking|receiving)|\bstill\s+on|\bon)\s+"
                          r"(?:(?:the|her|his|full[\s-]dose|continuous)\s+)*$", re.I)
# "relapsed 1 month after stopping pom": progression within 60 days of the last dose is refractoriness (IMWG)
STOPPED_RE = re.compile(
    rf"\b{_PROG}\s+(?:about\s+|around\s+|only\s+|just\s+)?(?P<n>\d{{1,3}}|one|two|three|four|five|six|seven|eight|a|an)"
    r"\s*-?\s*(?P<u>days?|d|weeks?|wks?|w|months?|mos?|mo)\s+(?:after|since|from|of)\s+(?:stopping|discontinuing|"
    r"coming\s+off|finishing|completing|(?:(?:his|her|the|their)\s+)?last\s+(?:dose\s+of\s+)?)\s*"
    r"(?:(?:the|her|his|their)\s+)?$", re.I)
# after "on X": "on KRd and progressed", "on DRd for 3 years, then progressed"
_QUAL = (r"^\s*(?:-\s*)?(?:(?:maintenance|maint\.?|induction|therapy|treatment|alone|monotherapy|combination|"
         r"based)\s*)?(?:\((?:[^()]{0,40})\)\s*)?(?:(?:for|x|over|×|from|since)\s*[^,;.()]{0,25}?\s*)?(?:\((?:[^()]{0,40})\)\s*)?")
AND_PROG_RE = re.compile(
    _QUAL + r",?\s*(?:and|but|then|before|,)\s+(?:then\s+|subsequently\s+|eventually\s+|later\s+|ultimately\s+|"
    r"has\s+|had\s+|have\s+|now\s+|is\s+now\s+|is\s+|was\s+|she\s+|he\s+)*" + _PROG +
    r"\b(?![^,;.]{0,30}\b(?:after\s+(?:stopping|discontinu|completing|finishing|coming\s+off|cessation|the\s+end|"
    r"it\s+was)|off\b))", re.I)
# "DPd to progression", "DRd until PD"
TO_PROG_RE = re.compile(
    _QUAL + r",?\s*(?:(?:given|continued|treated|continuously|continuous|ongoing)\s+)?(?:to|until|till|untill|up\s+to|"
    r"through\s+to|-+>|=>|→)\s*(?:disease\s+)?(?:progression|PD|POD|relapse|progressive\s+disease)\b", re.I)
# "Rd (PD)", "DPd (x14 cycles, progressed)", "KRd (refractory)": progression in brackets right after the regimen
BRACKET_PROG_RE = re.compile(
    r"^\s*(?:-\s*)?(?:(?:maintenance|maint\.?|induction|therapy|treatment)\s*)?\(\s*(?:[^()]{0,30}?[,;]\s*)?"
    r"(?:PD|POD|progressed|progression|progressing|progressive\s+disease|prog(?:'?d)?\.?|refractory|refr\.?|"
    r"relapsed|failed)\b(?P<tail>[^()]{0,30})\)", re.I)
BRACKET_OFF_RE = re.compile(r"\b(?:off|stopp|complet|finish|discontinu|after\s+(?:the\s+)?end|later|free)", re.I)
# "progressed on A, then on B, then on C": the progression verb before A reaches each "(then) on X" after it
PROG_ON_BEFORE_RE = re.compile(
    rf"\b{_PROG}\s+(?:(?:clinically|biochemically|rapidly|again|also)\s+)?(?:(?:while|whilst)\s+)?(?:still\s+)?"
    r"(?:on|during|through)\s+(?:(?:the|her|his|full[\s-]dose)\s+)?$", re.I)
THEN_ON_RE = re.compile(
    r"^(?:\s*\([^()]{0,40}\))?\s*(?:[,;]\s*)?(?:and\s+)?(?:(?:then|later|subsequently|next|after\s+that|"
    r"again)\s*,?\s*)*(?:again\s+)?(?:on|during)\s+(?:(?:the|her|his)\s+)?$", re.I)
ON_WORDS = {"on", "onto"}
NOT_ON = {"based", "depends", "depending", "focus", "rely", "info", "information", "details", "data", "more",
          "advice", "thoughts", "evidence", "update", "comment", "opinion", "guidance", "read", "go", "put", "start",
          "started", "starting", "going"}
# "progressed on maintenance", "prog on maint", "relapsed on len maintenance"
PROG_MAINT_RE = re.compile(
    rf"\b{_PROG}\s+(?:(?:while|whilst)\s+)?(?:on|during|through)\s+(?:(?:the|her|his|their)\s+)?"
    r"(?:(?:len(?:alidomide)?|R|revlimid|lenalidomid)\s+)?(?P<m>maint(?:enance)?\.?)(?!\w)", re.I)
# a reference to a trial as evidence, not the option of enrolling in one ("which trial supports KPd?")
TRIAL_REF_BEFORE = {"which", "what", "whose", "that", "this", "pivotal", "registration", "registrational", "landmark",
                    "randomised", "randomized", "phase", "same", "key", "main", "original"}
TRIAL_REF_AFTER = {"support", "supports", "supported", "supporting", "showed", "shows", "show", "showing",
                   "demonstrated", "demonstrates", "demonstrating", "tested", "compared", "comparing", "data",
                   "evidence", "results", "result", "behind", "that", "which", "where", "was", "were", "led",
                   "established", "found", "finds", "reported", "backs", "backing", "proved", "proves", "did", "does",
                   "is", "name", "leading", "underpinning", "underpins", "basis", "justifies", "justifying"}
# transplant codes of the knowledge base (`kb().transplants`) read here one by one (checked when the pipeline is built)
AUTO_HCT, AUTO_HCT_2, ALLO_HCT = "auto-HCT", "auto-HCT-2", "allo-HCT"


# ---- coordinated lists ----------------------------------------------------------------------------------------
def mark_lists(doc, spans: list) -> None:
    """The commas and "and"/"or"/"/" inside a coordinated list of drugs or of findings do not end a ConText
    scope (Token._.rrmm_free = False); a comma after the "and" of a list starts a new clause ("refractory to
    len and bort, dara naive")."""
    for sp in spans:
        for tok in sp:
            tok._.rrmm_free = False
    closed = False  # a list "len, bort and dara" ends with its "and": a comma after that starts a new clause
    for a, b in zip(spans, spans[1:], strict=False):  # consecutive pairs
        gap = doc[a.end:b.start]
        if a.label_ == b.label_ and len(gap) <= 3 and all(t.lower_ in CONNECTORS or t.is_space for t in gap):
            has_comma = any(t.text == "," for t in gap)
            if closed and has_comma:
                closed = False
                continue
            for t in gap:
                t._.rrmm_free = False
            if any(t.lower_ in ("and", "or", "nor", "and/or") for t in gap):
                closed = True
        else:
            closed = False


def listed(doc, spans: list, i: int, step: int) -> List[int]:
    """Indexes of the coordinated list of drug targets around spans[i], walking left (-1) or right (+1)."""
    out = [i]
    j = i
    while 0 <= j + step < len(spans):
        a, b = (spans[j + step], spans[j]) if step < 0 else (spans[j], spans[j + step])
        gap = doc[a.end:b.start]
        if b.label_ != DRUG or a.label_ != DRUG or len(gap) > 3 or not all(
                t.lower_ in LIST_CONNECTORS or t.is_space for t in gap):
            break
        j += step
        out.append(j)
    return out


# ---- progression linked to a regimen named before it ----------------------------------------------------------
def progressed_on(doc, spans: list, info: dict, transplants: Collection[str]) -> set:
    """Targets that progression is stated about without a status word before them: "1 prior line of DRd,
    progressing on it", "on KRd and progressed", "DPd to progression" (refractory, IMWG: progression on
    therapy). `transplants`: the transplant codes (never refractory)."""
    text = doc.text
    low = text.lower()
    if not any(w in low for w in ("prog", "relaps", "pd", "escaped", "fail", "refractory", "resistant", "ris", "rose",
                                  "up", "climb", "increas", "doubl", "creep", "stopped working")):
        return set()

    def eligible(k: int) -> bool:
        sp = spans[k]
        c = info[(sp.start, sp.end)]
        return sp.label_ == DRUG and not (c[2] == REGIMEN and (c[3] in transplants or c[3] == "trial"))

    forced: set = set()
    # "progressing on it": the nearest drug target before it (for "them"/"both": its whole list; for "it": the
    # drugs written together with it, "daratumumab-lenalidomide-dex")
    for m in ANAPHOR_RE.finditer(text):
        if NEG_BEFORE.search(text[max(0, m.start() - 20):m.start()]):
            continue
        if re.match(r"\s*(?:(?:of\s+)?(?:them|these|drugs|agents|regimens)\s*)?[:(]", text[m.end():]):
            continue  # "refractory to all three: len, pom, dara": the list follows
        before = [k for k, sp in enumerate(spans) if sp.end_char <= m.start() and eligible(k)]
        if not before:
            continue
        k = before[-1]
        if len(doc[spans[k].end:doc.char_span(m.start(), m.end(), alignment_mode="expand").start]) > 25:
            continue
        count = re.match(r"(?:both|all\s+(?P<w>three|four))\b", m.group("pl") or "", re.I)
        if m.group("n"):
            idx = listed(doc, spans, k, -1)[: to_int(m.group("n")) or 1]
        elif count:
            # "VRd, then KPd - PD on both": the last two regimens, across "then"
            n = to_int(count.group("w")) if count.group("w") else 2
            idx = listed(doc, spans, k, -1)
            if len({tuple(combined(doc, spans, j)) for j in idx}) < (n or 2):
                idx = last_units(doc, spans, k, n or 2, eligible)
        elif m.group("pl"):
            idx = listed(doc, spans, k, -1)
        else:
            idx = combined(doc, spans, k)
        forced.update((spans[j].start, spans[j].end) for j in idx if eligible(j))
    # "on KRd and progressed", "DPd to progression"
    for k in range(len(spans)):
        if not eligible(k):
            continue
        left = listed(doc, spans, k, -1)
        right = listed(doc, spans, k, +1)
        if k != right[-1]:
            continue  # the list is handled at its last item
        head, last = spans[left[-1]], spans[right[-1]]
        rest = text[last.end_char:]
        to = TO_PROG_RE.match(rest)
        if to and (BRACKET_OFF_RE.search(to.group(0)) or OFF_AFTER_RE.match(rest[to.end():])):
            to = None  # "thal maint (stopped for PN) -> PD", "VCd -> PD 2022 off tx": progression after it ended
        hit = bool(to) or bool(WHICH_PROG_RE.match(rest)) or bool(APPOSITIVE_REFR_RE.match(rest))
        b = BRACKET_PROG_RE.match(rest)
        named = b and any(last.end_char < sp.start_char < last.end_char + b.end() for sp in spans)
        hit = hit or bool(b and not BRACKET_OFF_RE.search(b.group("tail")) and not named)  # "(PD on R)": R only
        if not hit:
            q = re.match(_QUAL, rest)
            hit = bool(q and UNTIL_PROG_RE.match(rest[q.end():]))
        if not hit and PROGRESSING_NOW_RE.match(rest):
            hit = True  # "-> Isa-Pd, progressing now": the regimen the disease is progressing on
        if not hit and AND_PROG_RE.match(rest):
            prev = list(doc[max(0, head.start - 3):head.start])
            on = [j for j, t in enumerate(prev) if t.lower_ in ON_WORDS]
            if on:
                j = on[-1]
                hit = not (j > 0 and prev[j - 1].lower_ in NOT_ON) and all(
                    t.lower_ in ("maintenance", "maint", "a", "the", "her", "his", "full", "dose", "-")
                    for t in prev[j + 1:])
        if hit:
            maint = MAINT_NEXT_RE.match(text[last.end_char:])
            items = plan_tail(combined(doc, spans, k) if maint else left,
                              lambda j: info[(spans[j].start, spans[j].end)][3] in transplants)
            forced.update((spans[j].start, spans[j].end) for j in items if eligible(j))
    # "KPd after DVd; both regimens to progression": the last regimens named before
    for m in BOTH_PROG_RE.finditer(text):
        if NEG_BEFORE.search(text[max(0, m.start() - 20):m.start()]):
            continue
        before = [k for k, sp in enumerate(spans) if sp.end_char <= m.start() and eligible(k)]
        if before:
            n = to_int(m.group("w")) if m.group("w") else 2
            idx = last_units(doc, spans, before[-1], n or 2, eligible, sentences=2)
            forced.update((spans[j].start, spans[j].end) for j in idx if eligible(j))
    # "progressed on DRd, then on KPd, then on Isa-Pd": the verb reaches each "then on X"
    k = 0
    while k < len(spans):
        group = combined(doc, spans, k)
        if not eligible(k) or not PROG_ON_BEFORE_RE.search(text[max(0, spans[k].start_char - 60):spans[k].start_char]):
            k = group[-1] + 1
            continue
        while group[-1] + 1 < len(spans):
            nxt = group[-1] + 1
            gap = text[spans[group[-1]].end_char:spans[nxt].start_char]
            if not eligible(nxt) or not THEN_ON_RE.match(gap) or not re.search(r"[,;]|\band\b|\bthen\b", gap, re.I):
                break
            group = combined(doc, spans, nxt)
            forced.update((spans[j].start, spans[j].end) for j in group if eligible(j))
        k = group[-1] + 1
    # "rising paraprotein while still on DRd", "M-protein up from 4 to 10 on len"
    for k, sp in enumerate(spans):
        if not eligible(k):
            continue
        before = text[:sp.start_char]
        on = ON_BEFORE_RE.search(before[-40:])
        if not on:
            continue
        clause = re.split(r"[,;.:()\n]", before[: len(before) - len(before[-40:]) + on.start()])[-1]
        rise = [r for r in RISE_RE.finditer(clause) if not RISE_NEG.search(clause[max(0, r.start() - 25):r.start()])]
        if rise and not re.search(r"\bstable\b|\bresponding\b|\bin\s+remission\b", clause, re.I):
            forced.update((spans[j].start, spans[j].end) for j in combined(doc, spans, k) if eligible(j))
    # "relapsed 1 month after stopping pom": within 60 days of the last dose; a regimen in brackets just after
    # the drug ("pom (DPd stopped ...)") stopped with it
    for k, sp in enumerate(spans):
        if not eligible(k):
            continue
        m = STOPPED_RE.search(text[max(0, sp.start_char - 80):sp.start_char])
        if not m:
            continue
        n = to_int(m.group("n")) or (1 if m.group("n").lower() in ("a", "an") else None)
        unit = m.group("u").lower()
        days = None if n is None else n * (1 if unit.startswith("d") else 7 if unit.startswith("w") else 30)
        if days is not None and days <= 60:
            forced.add((sp.start, sp.end))
            nxt = k + 1
            bracket = nxt < len(spans) and re.fullmatch(r"\s*\(\s*", text[sp.end_char:spans[nxt].start_char])
            if bracket and eligible(nxt):
                forced.add((spans[nxt].start, spans[nxt].end))
    return forced


def last_units(doc, spans: list, k: int, n: int, eligible, sentences: int = 1) -> List[int]:
    """The spans of the last `n` regimens (drugs written together count as one) ending with spans[k], walking back
    over a treatment sequence ("VRd, then KPd", "len -> pom") within `sentences` sentences."""
    out: List[int] = []
    units = 0
    j = k
    while j >= 0 and units < n:
        group = combined(doc, spans, j)
        if all(eligible(i) for i in group):
            out += group
            units += 1
        prev = group[0] - 1
        if prev < 0:
            break
        sentences -= len(re.findall(r"[.!?\n]", doc.text[spans[prev].end_char:spans[group[0]].start_char]))
        if sentences < 1:
            break
        j = prev
    return sorted(out)


def combined(doc, spans: list, k: int) -> List[int]:
    """spans[k] and the drug targets written together with it, joined by "-", "+" or "/" without spaces
    ("daratumumab-lenalidomide-dex", "Sarclisa-Pomalyst")."""
    idx = [k]
    for step in (-1, 1):
        j = k
        while 0 <= j + step < len(spans):
            a, b = (spans[j + step], spans[j]) if step < 0 else (spans[j], spans[j + step])
            gap = doc.text[a.end_char:b.start_char]
            if a.label_ != DRUG or b.label_ != DRUG or gap not in ("-", "+", "/", " + ", " - "):
                break
            j += step
            idx.append(j)
    return sorted(idx)


# ---- a list of past treatments ---------------------------------------------------------------------------------
HISTORY_MARK = re.compile(r"\bthen\b|->|=>|→|\bfollowed\s+by\b|\bswitched\s+to\b|(?:^|[\s(])\d\)|\(\d\)|"
                          r"\b(?:prior|previous)\s+(?:tx|treatments?|therap(?:y|ies)|regimens?)\b|\bhx\b|"
                          r"\b(?:regimens?|lines?|treatment)\s+(?:so\s+far|list|history)\b|\bhistory\b|"
                          r"\blines?\s+of\s+(?:treatment|therapy)\b|\bfirst\b", re.I)


def _sequence_neighbour(text: str, s: int, e: int) -> bool:
    """A "then" / "->" right before or after the name: a step of a treatment sequence."""
    return bool(re.match(r"\s*(?:\([^()]{0,40}\)\s*)?,?\s*(?:then\b|->|=>|→|followed\s+by\b)", text[e:e + 50], re.I)
                or re.search(r"(?:\bthen|->|=>|→|\bfollowed\s+by)\s*,?\s*$", text[max(0, s - 20):s], re.I))


def treatment_history(doc, spans: list, info: dict) -> set:
    """Regimens named in a list of past treatments: a prior (non-catalog) regimen anywhere, a catalog regimen or
    drugs written together ("Thalomid-dex") next to a sequence word ("then", "->", "2)", "prior tx:")."""
    text = doc.text
    out = set()
    for k, sp in enumerate(spans):
        c = info[(sp.start, sp.end)]
        if sp.label_ != DRUG or c[2] == "TRIAL" or (c[2] == REGIMEN and c[3] in ("trial",)):
            continue
        if c[2] == "PRIOR":
            out.add((sp.start, sp.end))
            continue
        idx = combined(doc, spans, k)
        if c[2] == DRUG and len(idx) == 1 and not _sequence_neighbour(text, sp.start_char, sp.end_char):
            continue  # a drug named alone is no regimen, unless it is a step of a sequence ("Velcade, then Revlimid")
        regimens = [j for j in listed(doc, spans, k, -1) + listed(doc, spans, k, +1)
                    if j != k and info[(spans[j].start, spans[j].end)][2] in (REGIMEN, "PRIOR")]
        if c[2] == REGIMEN and regimens:
            out.add((sp.start, sp.end))  # "VCd, DVd, KPd": a list of regimens is a history
            continue
        a, b = spans[idx[0]].start_char, spans[idx[-1]].end_char
        window = text[max(0, a - 40):a] + " | " + text[b:b + 40]
        if HISTORY_MARK.search(window):
            out.add((sp.start, sp.end))
    return out


def elliptic_unavailable(text: str, out: List[dict]) -> List[dict]:
    """'Talvey available, Elrexfio not.': a drug followed by a bare "not" after an availability word."""
    for e in out:
        if e["entity"] != "drug" or e.get("role"):
            continue
        if re.match(r"\s+not\s*(?:[.;,)!]|$)", text[e["end"]:]) and re.search(
                r"\b(?:available|availability|funded|reimbursed|accessible|on\s+formulary)\b",
                text[max(0, e["start"] - 60):e["start"]], re.I):
            e["role"] = "unavailable"
    return out


# ---- lenalidomide maintenance ---------------------------------------------------------------------------------
def maintenance_flag(text: str, out: List[dict]) -> List[dict]:
    """Maintenance named in the history ("VRd/ASCT/len maint, then DKd") is not progression on it: when
    lenalidomide is refractory elsewhere in the message, the flag needs progression on maintenance ("prog
    on maint", "progressed on len maintenance"). "R maint ..., prog on maint" flags it even when the
    progression does not name the drug."""
    prog = None
    for m in PROG_MAINT_RE.finditer(text):
        if not NEG_BEFORE.search(text[max(0, m.start() - 20):m.start()]):
            prog = m
            break
    flags = [e for e in out if e["entity"] == "lenalidomide_maintenance_only"]
    if flags and prog is None and all(_stopped(text, f) for f in flags):
        # "len maint x4y (stopped for fatigue) => relapse", "14 months after stopping len maintenance": the
        # relapse came off maintenance (R2: not progression on maintenance)
        return [e for e in out if e["entity"] != "lenalidomide_maintenance_only"]
    if flags and prog is None and not any(f.get("_prog") for f in flags):
        if any(e["entity"] == "drug" and e["value"] == "lenalidomide" and e.get("role") == "refractory"
               for e in out):
            out = [e for e in out if e["entity"] != "lenalidomide_maintenance_only"]
    elif not flags and prog is not None:
        named = any(e["entity"] == "drug" and e["value"] == "lenalidomide" and e.get("_named") for e in out)
        s, e = prog.span("m")
        if named and text[e - 1] == ".":
            e -= 1
        if named and not any(o["start"] < e and s < o["end"] for o in out):
            out.append({"entity": "lenalidomide_maintenance_only", "value": True, "start": s, "end": e})
    return out


STOP_WORDS = r"(?:stopped|discontinued|ceased|completed|finished|held|came\s+off|coming\s+off|stopping|discontinuing)"


def _stopped(text: str, flag: dict) -> bool:
    """The maintenance of `flag` was stopped before the relapse: a stop word in its clause."""
    after = re.split(r"[.;]|=>|->|\bthen\b|\bnow\b", text[flag["end"]:flag["end"] + 50])[0]
    before = re.split(r"[.;,]|=>|->", text[max(0, flag["start"] - 40):flag["start"]])[-1]
    return bool(re.search(rf"\b{STOP_WORDS}\b", after + " " + before, re.I))


def relapsed_while_on(doc, sp) -> bool:
    """'relapsed 6 months after ASCT while on len maintenance': "on" just before the drug and a progression
    word (not negated) in the same sentence."""
    if not any(t.lower_ in ("on", "during") for t in doc[max(0, sp.start - 3):sp.start]):
        return False
    text = doc.text
    a = max(text.rfind(ch, 0, sp.start_char) for ch in ".;\n") + 1
    ends = [i for i in (text.find(ch, sp.end_char) for ch in ".;\n") if i >= 0]
    sentence = text[a:min(ends) if ends else len(text)]
    return any(not NEG_BEFORE.search(sentence[:m.start()][-20:])
               for m in re.finditer(rf"\b{_PROG}(?!\w)", sentence, re.I))


# ---- transplants ----------------------------------------------------------------------------------------------
# a transplant ahead, not done: "plan: KRd then consider ASCT", "to be considered for auto", "referred for transplant
# work-up", "ASCT planned", "will proceed to ASCT" (no prior_auto_hct, and no eligibility from the plan alone)
PLAN_BEFORE_RE = re.compile(
    r"\b(?:plan(?:s|ned|ning)?|consider(?:s|ed|ing|ation)?|refer(?:s|red|ral)?|work[\s-]?up|will|would|could|"
    r"should|going\s+to|intend\w*|aim\w*|hop(?:e|es|ed|ing)|proceed(?:ing)?\s+to|evaluat\w*|assess\w*|"
    r"possible|potential|future|upcoming|discuss\w*)(?=[^.;\n]{0,40}$)", re.I)
PLAN_AFTER_RE = re.compile(
    r"^\s*(?:is\s+|was\s+|being\s+|to\s+be\s+|still\s+|now\s+)?(?:planned|planning|work[\s-]?up|workup|referral|"
    r"assessment|evaluation|to\s+follow|pending|booked|scheduled|considered|under\s+consideration|discussion|"
    r"discussed|candidacy|if\b|when\b|once\b|after\s+(?:induction|\w+\s+cycles))", re.I)
DONE_BETWEEN_RE = re.compile(r"\b(?:had|has\s+had|received|underwent|done|s/p|status\s+post|post|prior|previous|"
                             r"relapsed|progressed|after)\b", re.I)


def planned_transplant(text: str, s: int, e: int) -> bool:
    """The transplant at text[s:e] is one planned or considered, not one given (a plan word before it in its
    clause with no history word between, or a plan word right after it)."""
    before = text[max(0, s - 40):s]
    m = PLAN_BEFORE_RE.search(before)
    if m and not DONE_BETWEEN_RE.search(before[m.end():]):
        return True
    return bool(PLAN_AFTER_RE.match(text[e:e + 40]))


def transplant_entity(value: str, status: Optional[str], lookup: bool, s: int, e: int) -> dict:
    """An autologous transplant in the history is `prior_auto_hct` (1, a second one 2, "no ASCT" 0); asked
    about (`lookup`: a question or the whole message), "second ASCT" or allo-HCT without a status, or "not
    available", it is a `regimen`."""
    if status == "unavailable" or value == ALLO_HCT or (status is None and (lookup or value != AUTO_HCT)):
        ent = {"entity": "regimen", "value": value, "start": s, "end": e}
        if status in ("unavailable", "naive", "exposed", "refractory") and value == ALLO_HCT:
            ent["role"] = status
        elif status == "unavailable":
            ent["role"] = status
        return ent
    if status == "naive":
        return {"entity": "prior_auto_hct", "value": 0, "start": s, "end": e}
    return {"entity": "prior_auto_hct", "value": 2 if value == AUTO_HCT_2 else 1, "start": s, "end": e}


# ---- trials and questions -------------------------------------------------------------------------------------
def trial_reference(doc, span) -> bool:
    """'which trial supports KPd?', 'is there a trial supporting Isa-Kd?': a trial as evidence, not the option
    of enrolling in one."""
    prev = doc[span.start - 1].lower_ if span.start > 0 else ""
    nxt = doc[span.end].lower_ if span.end < len(doc) else ""
    return prev in TRIAL_REF_BEFORE or nxt in TRIAL_REF_AFTER


def framed_name(text: str) -> Optional[Tuple[int, int, str]]:
    """(start, end, words) of the name a short message is about: "pd?", "why not allo?", "ASPIRE results"."""
    m = FRAME_RE.match(text)
    return (m.start("core"), m.end("core"), m.group("core")) if m else None

