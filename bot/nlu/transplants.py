"""Transplant facts said in other words (issue 20): eligibility clause by clause and the number of autologous
transplants done, from the words around each mention (see docs/nlu-schema.md, "How a field is read").

- `transplant_prose`: eligibility negated at a distance ("we do not think he is a candidate for transplant" is not
  eligible), given as a field value ("HCT candidate - No", "Transplant: no"), refused ("declines further
  transplant": not eligible for this decision), said in a clause of its own (`eligibility_clauses`), or
  "eligible" / "ineligible" alone as an item of the case. A plan alone says nothing about eligibility.
- `transplant_count`: "tandem" is 2, a second transplant with its year the second one done; "no second ASCT" is
  about a transplant ahead; "?ASCT", "unknown", "unclear whether" leave the count open.

Layer: may import the standard library and `.prose`.
"""
from __future__ import annotations

import re
from typing import List

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
_TXE = (r"(?:transpl\w*|tranplant\w*|asct|auto(?:graft\w*|logous|transplant\w*)?|auto[\s-]?(?:sct|hct|hsct)|"
        r"sct|hct|hdt|bmt|eligib\w*|elegib\w*|eligble|inelig\w*|candidate)")
_TXE_RE = re.compile(rf"\b{_TXE}\b", re.I)
_ELIG_CUE = re.compile(
    r"eligib|elegib|eligble|inelig|candidate|would\s+(?:do|go|be|have|undergo|proceed)|we'?d\s+do|keen|willing|"
    r"interested|\bwant|declin|refus|anymore|\bagain\b|not\s+for\b|appropriate|reasonable|suitable|going\s+for|"
    r"\bcan\s+(?:do|have|go|undergo)|cannot|can't|after\s+salv|consider\w*\s+(?:for\s+)?(?:a\s+|an\s+)?(?:2nd|second|"
    r"another|further|repeat)|(?:2nd|second|another|further|repeat|#\s?2)\s+\w*\s*(?:is|would\s+be|remains)?\s*"
    r"(?:an?\s+)?(?:option|possible|planned|feasible)|not\s+an\s+option|no\s+(?:more|further|2nd|second|other)\b|"
    r"[:=-]\s*(?:yes|no|y|n)\b|^\W*(?:transplant\w*|TE)\W*(?:yes|no)\b|"
    r"\((?:age|frailty|comorbid\w*|ckd|frail)[^)]*\)|because|due\s+to|given\s+(?:his|her|the)?\s*(?:age|frailty)",
    re.I)
_NOT_A_STATEMENT = re.compile(r"^\W*(?:what|why|how|which|tell|explain|is|are|does|do|can|could|should)\b|\ballo", re.I)
_UNDECIDED = re.compile(
    r"not\s+(?:yet\s+)?(?:assessed|decided|known|done|evaluated)|under\s+discussion|undecided|(?:have|has)\s+not\s+"
    r"decided|haven't\s+decided|discussing|to\s+be\s+(?:decided|discussed|assessed)|unknown|unclear|uncertain|"
    r"pending|awaiting|\bif\b|whether|\beval\w*|outside\s+records|not\s+sure", re.I)
_NEG_NEAR = re.compile(
    rf"(?:\bnot?|\bnever|n't|\bnor|\bnon|\bcannot|\bnone)\s+(?:[\w'-]+\s+){{0,4}}?{_TXE}\b"
    rf"|{_TXE}\b[\w\s#]{{0,20}}?(?:[:=-]\s*|\s+(?:is|was|would\s+be|remains)\s+)(?:not|no|never|none|n)\b"
    r"|declin|refus|not\s+keen|not\s+interested|n't\s+want|not\s+want|not\s+wanting|\bagainst\b|inelig|"
    r"\b(?:doesnt|dosent|dont|didnt|wont)\s+want|"
    r"no\s+(?:more|further|longer)|anymore|not\s+an\s+option|not\s+(?:appropriate|possible|planned|suitable)",
    re.I)
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
        if not _ELIG_CUE.search(clause) or _UNDECIDED.search(clause) or _NOT_A_STATEMENT.search(clause):
            continue
        if re.search(r"\bplann?(?:ed|ing)\b", clause, re.I) and not re.search(
                r"declin|refus|inelig|eligib|candidate|not\s+for\b|want|keen", clause, re.I):
            continue  # "no transplant planned" is not "not eligible" (a plan says nothing about eligibility)
        free = [m for m in _TXE_RE.finditer(clause)
                if all(start + m.end() <= a or start + m.start() >= b for a, b in taken)]
        tx = free[0] if free else tx  # words no other fact took ("never transplanted, not eligible")
        found.append({"entity": "transplant_eligible", "value": not _NEG_NEAR.search(clause),
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
            if e["value"] == 2 and _SECOND.search(e["text"] if "text" in e else text[e["start"]:e["end"]]) \
                    and not _SECOND_DONE.search(text[max(0, e["start"] - 15):e["end"] + 12]) \
                    and not _DONE.search(clause):
                continue  # "not keen on a second transplant", "the decision on a second autograft": one ahead
            if e["value"] == 1 and _REFUSED_ONE.search(before):
                e["value"] = 0  # "declined ASCT", "transplant not offered": none done
            if e["value"] == 1 and not _ONE.search(before + text[e["start"]:e["end"]]) and _TANDEM.search(clause):
                e["value"] = 2
        keep.append(e)
    counts = [e for e in keep if e["entity"] == "prior_auto_hct"]
    if counts and max(e["value"] for e in counts) == 1 and _SECOND_DONE.search(text):
        m = _SECOND_DONE.search(text)
        keep.append({"entity": "prior_auto_hct", "value": 2, "start": m.start(), "end": m.end()})
    if counts and any(e["value"] >= 1 for e in counts):
        keep = [e for e in keep if not (e["entity"] == "prior_auto_hct" and e["value"] == 0)]
    return keep
