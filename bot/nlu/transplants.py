"""Transplant facts said in other words (issue 20): eligibility clause by clause and the number of autologous
transplants done, from the words around each mention (see docs/nlu-schema.md, "How a field is read").

- `transplant_prose`: eligibility negated at a distance ("we do not think he is a candidate for transplant" is not
  eligible), given as a field value ("HCT candidate - No", "Transplant: no"), refused ("declines further
  transplant": not eligible for this decision), said in a clause of its own (`eligibility_clauses`), or
  "eligible" / "ineligible" alone as an item of the case. A plan alone says nothing about eligibility.
- `transplant_count`: "tandem" is 2, a second transplant with its year the second one done; "no second ASCT" is
  about a transplant ahead; "?ASCT", "unknown", "unclear whether" leave the count open; a transplant in a plan
  ("eligible for salvage followed by ASCT", "we'd do ASCT after salvage", "Plan: ... then second auto") is none
  done (a `regimen`); a bare "no transplant" said among the present facts ("frail, no transplant", "No transplant
  possible") is the eligibility, not the count.
- `transplant_reasons`: none done for a reason ("never transplanted (age)", "no transplant, too old") or refused
  ("patient declines ASCT") is also not eligible.

Layer: may import the standard library, `.prose` and `.lines`.
"""
from __future__ import annotations

import re
from typing import List

from .lines import ahead
from .prose import _ITEM_SPLIT, _NEG_CUE, _clause_before, _clause_text

# ---- transplant eligibility in prose -----------------------------------------------------------------------------
_TX = (r"(?:(?:a|an|another|further|second|2nd|repeat|salvage|further|any\s+more|more)\s+)*"
       r"(?:auto(?:logous)?\s+)?(?:ASCT|auto[\s-]?(?:SCT|HCT)|SCT|HCT|(?:stem[\s-]cell\s+)?transplant(?:ation|s)?|"
       r"autografts?|HDM|HDT|high[\s-]dose\s+(?:therapy|melphalan|chemo(?:therapy)?))")
_TX_REFUSED = re.compile(
    rf"\b(?:declin(?:es|ed|ing)|refus(?:es|ed|ing)|(?:does|did|would|will)\s+not\s+want|(?:doesn|didn|wouldn|won)'t\s+want|"
    rf"not\s+keen\s+on|against|opted\s+against|turned\s+down)\s+(?:any\s+|a\s+)?{_TX}"
    rf"|\b{_TX}\s*(?:[:=-]\s*|\s+(?:was\s+|is\s+)?)(?:declined|refused)\b", re.I)
_BARE_ELIGIBLE = re.compile(r"^\s*(?:(?P<neg>not|non|in)[\s-]*)?eligible\s*$", re.I)
_NOT_TX_TARGET = re.compile(r"^\s*for\s+(?!(?:an?\s+|another\s+|further\s+|second\s+|2nd\s+)*"
                            r"(?:ASCT|SCT|HCT|auto|transplant|autograft|HDM|HDT|high))", re.I)


_TX_FIELD_NO = re.compile(r"^transplant\w*\s*[:=-]\s*(?:no|n)$", re.I)  # "Transplant: none" is none done
_FIELD_NO = re.compile(r"^\s*(?:\([^()]{0,30}\))?\s*[:=-]+\s*(?:no|none|not|n|false)\b", re.I)
_FIELD_UNKNOWN = re.compile(r"^\s*[:=-]*\s*(?:not\s+(?:yet\s+)?(?:assessed|known|decided|evaluated)|unknown|pending|"
                            r"\?|tbd|to\s+be\s+(?:decided|assessed|discussed))", re.I)
_CLAUSE = re.compile(r"[.;|\n!]|\?|\s/\s|\s[-–]\s(?=(?:actually|no\b|sorry))", re.I)
_TXE = (r"(?:transpl\w*|tranplant\w*|asct|autos|auto(?:graft\w*|logous|transplant\w*)?|auto[\s-]?(?:sct|hct|hsct)|"
        r"sct|hct|hdt|bmt|eligib\w*|elegib\w*|eligble|inelig\w*|candidate)")
_TXE_RE = re.compile(rf"\b{_TXE}\b", re.I)
_TXE_W = r"(?:transplant\w*|ASCT|auto\w*|HCT|SCT|TE)"
_ELIG_CUE = re.compile(
    r"eligib|elegib|eligble|inelig|candidate|would\s+(?:not\s+|never\s+)?(?:do|go|be|have|undergo|proceed)|"
    rf"we'?d\s+do|keen|willing|\bnot\s+(?:possible|feasible|indicated|appropriate|suitable)|^\W*{_TXE_W}\W+(?:no|never)\b|"
    r"interested|\bwant|declin|refus|anymore|\bagain\b|not\s+for\b|appropriate|reasonable|suitable|going\s+for|"
    r"\bcan\s+(?:do|have|go|undergo)|cannot|can't|after\s+salv|consider\w*\s+(?:for\s+)?(?:a\s+|an\s+)?(?:2nd|second|"
    r"another|further|repeat)|(?:2nd|second|another|further|repeat|#\s?2)\s+\w*\s*(?:is|would\s+be|remains)?\s*"
    r"(?:an?\s+)?(?:option|possible|planned|feasible)|not\s+an\s+option|no\s+(?:more|further|2nd|second|other)\b|"
    r"[:=-]\s*(?:yes|no|y|n)\b|^\W*(?:transplant\w*|TE)\W*(?:yes|no)\b|"
    r"\((?:age|frailty|comorbid\w*|ckd|frail)[^)]*\)", re.I)
# a reason alone is a cue only for a transplant not done or not possible ("no transplant because of her age"), never for
# one given ("autologous SCT in 2022, ... maintenance stopped due to neuropathy")
_REASON_CUE = re.compile(r"because|due\s+to|given\s+(?:his|her|the)?\s*(?:age|frailty)", re.I)
_NOT_A_STATEMENT = re.compile(r"^\W*(?:what|why|how|which|tell|explain|is|are|does|do|can|could|should)\b", re.I)
_ALLO = re.compile(r"\ballo", re.I)
_AUTO_WORD = re.compile(r"\b(?:auto\w*|asct|hdt|hdm)\b", re.I)
_UNDECIDED = re.compile(
    r"not\s+(?:yet\s+)?(?:assessed|decided|known|done|evaluated)|under\s+discussion|undecided|(?:have|has)\s+not\s+"
    r"decided|haven't\s+decided|discussing|to\s+be\s+(?:decided|discussed|assessed)|unknown|unclear|uncertain|"
    r"pending|awaiting|\bif\b(?!\s+(?:[\w'-]+\s+){0,3}(?:respon\w*|works?|re-?induction|salvage|you\s+(?:think|agree|feel)|"
    r"(?:it\s+is\s+)?appropriate))|whether|\beval\w*|outside\s+records|not\s+sure", re.I)
_NEG_NEAR = re.compile(
    rf"(?:\bnot?|\bnever|n't|\bnor|\bnon|\bcannot|\bnone)\s+(?:[\w'-]+\s+){{0,4}}?{_TXE}\b"
    rf"|{_TXE}\b[\w\s#]{{0,20}}?(?:[:=-]\s*|\s+(?:is|was|would\s+be|remains)\s+)(?:not|no|never|none|n)\b"
    rf"|{_TXE}\s+(?:no|never|not\s+possible)(?=\s*(?:$|[.,;)(!]))"
    r"|declin|refus|not\s+keen|not\s+interested|n't\s+want|not\s+want|not\s+wanting|\bagainst\b|inelig|"
    r"\b(?:doesnt|dosent|dont|didnt|wont)\s+want|"
    r"no\s+(?:more|further|longer)|anymore|not\s+an\s+option|not\s+(?:appropriate|possible|planned|suitable)"
    rf"|^\W*{_TXE}\W+(?:no|never|none|n)\b", re.I)
_ANSWER = re.compile(r"^\W*(?:(?:we|i)\s+think\s+|probably\s+|likely\s+)?(yes|no)\b", re.I)


def eligibility_clauses(text: str, out: List[dict]) -> List[dict]:
    """Transplant eligibility said in a clause of its own words ("would be considered for a second autograft",
    "Transplant: no", "He cannot do other transplant", "not keen on a second transplant so not eligible"): a
    clause that names a transplant or eligibility and says something about a transplant ahead (eligible,
    candidate, second / another / further, would, consider, keen, want, declines, option, ...). Negated near the
    words, refused or "no more": not eligible; otherwise eligible. A clause that leaves it open ("not decided",
    "under discussion", "if", "whether", "pending"), a question, or a transplant in the past only gives nothing.
    Clauses that hold an eligibility already read are left to it."""
    have = [(e["start"], e["end"]) for e in out if e["entity"] == "transplant_eligible"]
    taken = [(e["start"], e["end"]) for e in out if e["entity"] == "prior_auto_hct"]
    found = []
    pos = 0
    question = False
    for m in list(_CLAUSE.finditer(text)) + [None]:
        end = m.start() if m else len(text)
        clause, start = text[pos:end], pos
        pos = m.end() if m else len(text)
        is_question = bool(m and m.group(0) == "?")
        if question and _ANSWER.match(clause):  # "transplant eligible? we think yes"
            found.append({"entity": "transplant_eligible", "value": _ANSWER.match(clause).group(1).lower() == "yes",
                          "start": start, "end": end})
            question = False
            continue
        question = is_question and bool(_TXE_RE.search(clause))
        tx = _TXE_RE.search(clause)
        if not tx or is_question or any(a < end and start < b for a, b in have):
            continue
        negated = bool(_NEG_NEAR.search(clause))
        if not (_ELIG_CUE.search(clause) or (negated and _REASON_CUE.search(clause))) or _UNDECIDED.search(clause) \
                or _NOT_A_STATEMENT.search(clause) or (_ALLO.search(clause) and not _AUTO_WORD.search(clause)):
            continue
        if re.search(r"\bplann?(?:ed|ing)\b", clause, re.I) and not re.search(
                r"declin|refus|inelig|eligib|candidate|not\s+for\b|want|keen", clause, re.I):
            continue  # "no transplant planned" is not "not eligible" (a plan says nothing about eligibility)
        free = [m for m in _TXE_RE.finditer(clause)
                if all(start + m.end() <= a or start + m.start() >= b for a, b in taken)]
        if not free:  # the transplant's words hold a count ("Transplant was never done and is not an option")
            cue = [m for m in list(_NEG_NEAR.finditer(clause)) + list(_ELIG_CUE.finditer(clause))
                   if m.end() > m.start() and all(start + m.end() <= a or start + m.start() >= b for a, b in taken)
                   and not re.match(r"declined|refused", clause[m.start():], re.I)  # "no ASCT (declined)": past
                   and "," not in clause[min(m.end(), tx.end()):max(m.start(), tx.start())]]  # its own words
            free = cue[:1]
        tx = free[0] if free else tx  # words no other fact took ("never transplanted, not eligible")
        found.append({"entity": "transplant_eligible", "value": not negated,
                      "start": start + tx.start(), "end": start + tx.end()})
    return found


def transplant_prose(text: str, out: List[dict]) -> List[dict]:
    asked = [e for e in out if e["entity"] == "transplant_eligible"
             and re.match(r"[^.;,\n]{0,25}\?", text[e["end"]:e["end"] + 26])]
    out = [e for e in out if all(e is not a for a in asked)]  # "TE for a 2nd ASCT?": a question, no statement
    stated = [e for e in out if e["entity"] == "transplant_eligible"]
    for e in stated:
        after = text[e["end"]:e["end"] + 40]
        if _FIELD_UNKNOWN.match(after):
            out = [o for o in out if o is not e]  # "Transplant eligible: not assessed yet"
        elif e["value"] is True and (_NEG_CUE.search(_clause_before(text, e["start"])) or _FIELD_NO.match(after)):
            # "we do not think he is a candidate for transplant", "HCT candidate - No", "TE: no"
            e["value"] = False
    for e in out:  # "Transplant: no" in a list of fields answers the eligibility, not the count of transplants
        if e["entity"] == "prior_auto_hct" and e["value"] == 0 and _TX_FIELD_NO.match(text[e["start"]:e["end"]]):
            e.update(entity="transplant_eligible", value=False)
    added = eligibility_clauses(text, out)
    # a transplant named as a plan ("not for 2nd ASCT") is a `regimen` entity: the eligibility takes its words
    # a transplant named as a plan ("not for 2nd ASCT") is a `regimen` entity, and a count read on the same words is
    # about a transplant ahead: the eligibility takes its words
    def clear(o: dict) -> bool:
        return all(o["end"] <= a["start"] or o["start"] >= a["end"] for a in added)

    # none done ("no transplant (age)") stays true with the words it took; an eligibility on them is left out
    # and so does a count of transplants done on words of the past ("-> ASCT 2021 -> no maintenance (declined)")
    added = [a for a in added if all(o["end"] <= a["start"] or o["start"] >= a["end"] for o in out
                                     if o["entity"] == "prior_auto_hct" and not _AHEAD_WORDS.search(
                                         text[max(0, o["start"] - 12):o["end"] + 4])
                                     and not (o["value"] == 0 and _AHEAD.search(_clause_text(text, o["start"],
                                                                                              o["end"]))))]
    out = [o for o in out if o["entity"] not in ("regimen", "prior_auto_hct") or clear(o)] + added
    if any(e["entity"] == "transplant_eligible" for e in out):
        return out
    # a planned transplant is a `regimen` entity (no eligibility by itself): only the facts' words are taken
    taken = [(e["start"], e["end"]) for e in out if e["entity"] not in ("regimen", "drug")]

    def free(s: int, t: int) -> bool:
        return all(t <= a or s >= b for a, b in taken)

    for pattern, value in ((_TX_REFUSED, False),):  # a plan alone says nothing about eligibility
        for m in pattern.finditer(text):
            if not free(*m.span()) or re.search(r"\?\s*$", text[m.end():m.end() + 3]):
                continue
            before = _clause_before(text, m.start())
            if value and (_NEG_CUE.search(before) or re.search(r"\b(?:if|whether|consider|discuss)\w*\b", before,
                                                                  re.I)):
                continue  # "not planned", "whether a transplant is possible": no eligibility
            return out + [{"entity": "transplant_eligible", "value": value, "start": m.start(), "end": m.end()}]
    pos = 0
    for part in _ITEM_SPLIT.split(text):
        start = text.find(part, pos)
        pos = start + len(part)
        m = _BARE_ELIGIBLE.match(part)
        if m and not _NOT_TX_TARGET.match(text[start + len(part):]) and free(start, start + len(part)):
            s = start + len(part) - len(part.lstrip())
            return out + [{"entity": "transplant_eligible", "value": not m.group("neg"), "start": s,
                           "end": start + len(part.rstrip())}]
    return out



_AHEAD_WORDS = re.compile(r"\b(?:2nd|second|further|another|more|repeat|salvage)\b|#\s?2", re.I)


# ---- how many autologous transplants were done -------------------------------------------------------------------
_AHEAD = re.compile(r"\b(?:no|not|never)\s+(?:(?:a|any)\s+)?(?:2nd|second|more|further|another|other|repeat)\b|"
                    r"\b(?:anymore|again)\b|\bno\s+(?:more|further)\b", re.I)
_UNSURE = re.compile(r"\?\s*$|\b(?:unknown|unclear|uncertain|not\s+sure|pending|whether|don't\s+know|do\s+not\s+know|"
                     r"records?\s+(?:awaited|pending)|checking)\b", re.I)
_TANDEM = re.compile(r"\btandem\b|\bdouble\s+(?:auto|ASCT|transplant)", re.I)
_SECOND_DONE = re.compile(
    r"(?:->|→|\bs/p|\bhad|\bunderwent|\bafter|\bthen)\s*(?:a\s+|the\s+)?(?:2nd|second)\s+(?:ASCT|auto\w*|autograft|"
    r"transplant\w*|SCT|HCT)|\b(?:2nd|second)\s+(?:ASCT|auto\w*|autograft|transplant\w*|SCT|HCT)\s*(?:in\s+)?"
    r"\(?(?:19|20)\d\d", re.I)


_SECOND = re.compile(r"\b(?:2nd|second)\b", re.I)
_DONE = re.compile(r"\b(?:s/p|had|has\s+had|underwent|received|done|performed|post|after|following|since)\b|"
                   r"(?<!\d)(?:19|20)\d\d(?!\d)", re.I)
_REFUSED_ONE = re.compile(r"\b(?:declin\w*|refus\w*|turned\s+down)\s+(?:an?\s+|the\s+)?(?:auto\w*\s+)?$", re.I)
_ONE = re.compile(r"\b(?:single|one|once|1)\s+(?:auto\w*\s+)?(?:ASCT|auto\w*|SCT|HCT|transplant\w*)?$", re.I)
_CORRECTED = re.compile(r"^\s*[-–,]?\s*(?:no|sorry|correction|actually|I\s+mean)\b\s*[,:-]", re.I)


def transplant_count(text: str, out: List[dict]) -> List[dict]:
    """The number of autologous transplants done, from what the words around each mention say: "no second ASCT",
    "no transplant anymore" are about a transplant ahead (no count); "?ASCT", "unknown", "unclear whether he had an
    autograft" leave it open; "tandem" is 2, a second transplant with its year is the second one done; a refusal
    of the only transplant ("declined ASCT") is none done."""
    keep = []
    counts = [e for e in out if e["entity"] == "prior_auto_hct"]
    for e in out:
        if e["entity"] == "prior_auto_hct":
            clause = _clause_text(text, e["start"], e["end"])
            before = text[max(0, e["start"] - 25):e["start"]]
            if e["value"] == 0 and _AHEAD.search(clause):
                continue  # "no second ASCT", "no transplant anymore"
            if _UNSURE.search(before) or _UNSURE.search(clause):
                continue
            if _CORRECTED.match(text[e["end"]:e["end"] + 20]) and any(o["start"] > e["end"] for o in counts):
                continue  # "tandem ASCT - no, single ASCT": the corrected mention gives way to the correction
            near = clause[max(0, clause.find(text[e["start"]:e["end"]]) - 50):]  # a long dictated clause: its end
            if e["value"] == 2 and _SECOND.search(e["text"] if "text" in e else text[e["start"]:e["end"]]) \
                    and not _SECOND_DONE.search(text[max(0, e["start"] - 15):e["end"] + 12]) \
                    and not _DONE.search(near):
                continue  # "not keen on a second transplant", "the decision on a second autograft": one ahead
            if e["value"] >= 1 and _planned(text, e):
                keep.append({"entity": "regimen", "value": "auto-HCT", "start": e["start"], "end": e["end"]})
                continue  # "eligible for salvage followed by ASCT", "we'd do ASCT after salvage": a plan
            if e["value"] == 1 and _REFUSED_ONE.search(before):
                e["value"] = 0  # "declined ASCT", "transplant not offered": none done
            if e["value"] == 1 and not _ONE.search(before + text[e["start"]:e["end"]]) and _TANDEM.search(clause):
                e["value"] = 2
        keep.append(e)
    counts = [e for e in keep if e["entity"] == "prior_auto_hct"]
    second = _SECOND_DONE.search(text)
    if counts and max(e["value"] for e in counts) == 1 and second and not ahead(text, second.start(), second.end()):
        keep.append({"entity": "prior_auto_hct", "value": 2, "start": second.start(), "end": second.end()})
    if counts and any(e["value"] >= 1 for e in counts):
        keep = [e for e in keep if not (e["entity"] == "prior_auto_hct" and e["value"] == 0)]
    most = max([e["value"] for e in keep if e["entity"] == "prior_auto_hct"], default=0)
    if most >= 2:
        # "tandem ASCT ... remission after the 2nd ASCT": a mention of one of them is no count of one
        for e in keep:
            if e["entity"] == "prior_auto_hct" and e["value"] == 1 and not _ONE.search(
                    text[max(0, e["start"] - 25):e["end"]]):
                e["value"] = most
    return _no_transplant_now(text, keep)


# a transplant ahead: "eligible for salvage followed by ASCT", "we'd do ASCT after salvage", "Plan: ... then second
# auto" (not "s/p ASCT", "had an ASCT", "ASCT 2019", "after ASCT")
_PLAN_BEFORE = re.compile(r"\b(?:would|will|could|plann?\w*|consider\w*|eligible|candidate|work-?up|aim\w*|"
                          r"possible|future|referr?(?:ed|al)\s+(?:for|to)|intend\w*|hope|we'?d|proceed\s+to|to\s+be|if|then\s+second)\b",
                          re.I)
_PAST_NEAR = re.compile(r"\b(?:s/p|status\s+post|had|has\s+had|underwent|received|prior|previous|post|after|following|"
                        r"since|relapsed?|remission)\s+(?:[\w-]+\s+){0,2}$", re.I)


def _planned(text: str, e: dict) -> bool:
    a = max(text.rfind(ch, 0, e["start"]) for ch in ".;\n") + 1
    if re.match(r"\s*(?:\(?\s*(?:in\s+)?(?:\d{1,2}/)?(?:19|20)\d\d|x\s*\d|done|performed)", text[e["end"]:], re.I) \
            or re.search(r"(?<!\d)(?:19|20)\d\d(?!\d)", text[e["start"]:e["end"]]):
        return False  # "ASCT 2019", "autograft (2018)": done
    if _PAST_NEAR.search(text[max(a, e["start"] - 30):e["start"]]):
        return False
    line = text[text.rfind("\n", 0, e["start"]) + 1:e["start"]]
    return bool(_PLAN_BEFORE.search(text[a:e["start"]]) or re.match(r"\W*plan\s*[:-]", line, re.I))


# "frail, no transplant": said as an item after the fitness, "no transplant" is the eligibility (not eligible), not a
# count ("No ASCT.", "VCd, no ASCT, then Rd", "no HCT (pt declined)" are none done)
_FITNESS_ITEM = re.compile(r"\b(?:frail|unfit|fit|intermediate|elderly|old|ECOG\s*\d|CFS\s*\d|PS\s*\d)\s*,\s*$", re.I)


def _no_transplant_now(text: str, out: List[dict]) -> List[dict]:
    eligibility = any(e["entity"] == "transplant_eligible" for e in out)
    keep = []
    for e in out:
        words = text[e["start"]:e["end"]]
        if e["entity"] == "prior_auto_hct" and e["value"] == 0 and re.fullmatch(
                r"no\s+(?:ASCT|auto\w*|HCT|SCT|transplant\w*|autograft)", words, re.I) \
                and _FITNESS_ITEM.search(text[max(0, e["start"] - 30):e["start"]]) \
                and not re.match(r"\s*\(", text[e["end"]:]):
            if not eligibility:
                keep.append({"entity": "transplant_eligible", "value": False, "start": e["start"], "end": e["end"]})
                eligibility = True
            continue
        keep.append(e)
    return keep


# ---- none done for a reason, or refused: not eligible -------------------------------------------------------------
_REASON_AFTER = re.compile(
    r"\s*(?:\(\s*(?:due\s+to\s+|because\s+of\s+|d/t\s+|given\s+)?(?P<r>age|frailty|frail|too\s+(?:old|frail|unwell)|"
    r"elderly|comorbidit\w*|patient\s+(?:choice|preference|wish)|pt\s+(?:choice|preference|wish))\b[^()]{0,30}\)"
    r"|[,;-]\s*(?P<r2>too\s+(?:old|frail|unwell)|(?:due\s+to|because\s+of)\s+(?:age|frailty|comorbidit\w*))"
    r"|\([^()]{0,40}?\b(?P<r3>declines|refuses|(?:does|will)\s+not\s+want|(?:doesn|won)'t\s+want)\b[^()]{0,30}\))",
    re.I)
# a refusal of now (a past one, "declined ASCT in 2019", says nothing about the decision of now)
_REFUSAL_VERB = re.compile(r"declines|declining|refuses|refusing|(?:does|would|will)\s+not\s+want|"
                           r"(?:doesn|wouldn|won)'t\s+want|not\s+keen\s+on|against", re.I)


def transplant_reasons(text: str, out: List[dict]) -> List[dict]:
    """'Never transplanted (age)', 'no transplant, too old': none done for a reason that rules it out; 'patient declines
    ASCT' read as none done: a refusal. Both are not eligible (for this decision), on the words of the reason or of
    the refusal (the transplant's words hold the count)."""
    if any(e["entity"] == "transplant_eligible" for e in out):
        return out
    taken = [(e["start"], e["end"]) for e in out]

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= t for s, t in taken)

    for e in out:
        if e["entity"] != "prior_auto_hct" or e["value"] != 0:
            continue
        m = _REASON_AFTER.match(text, e["end"])
        if m:
            g = "r" if m.group("r") else "r2" if m.group("r2") else "r3"
            if free(m.start(g), m.end(g)):
                return out + [{"entity": "transplant_eligible", "value": False, "start": m.start(g), "end": m.end(g)}]
    for m in _TX_REFUSED.finditer(text):
        if re.search(r"\?\s*$", text[m.end():m.end() + 3]) or _NEG_CUE.search(_clause_before(text, m.start())):
            continue
        verb = _REFUSAL_VERB.search(m.group(0))
        if verb and free(m.start() + verb.start(), m.start() + verb.end()):
            return out + [{"entity": "transplant_eligible", "value": False, "start": m.start() + verb.start(),
                           "end": m.start() + verb.end()}]
    return out
