"""What a message asks for, when the intent classifier is unsure: a request for help with a relapsed or refractory
myeloma case ("I need advice on a relapsed myeloma patient", "rrmm pt, need help"), or a question about myeloma
that is not a case (answered or redirected, never called out of scope: clinical-spec section 9).

`case_request(text)` and `about_myeloma(text)` are cheap regular expressions plus a fuzzy match of the word
"myeloma" ("myleoma", "myelma"); newly diagnosed myeloma (induction) is not this assistant's remit.

Layer: the standard library and `.matchers` (the edit distance).
"""
from __future__ import annotations

import re

from .matchers import osa_distance

_WORD = re.compile(r"[A-Za-z]+")
_MM = re.compile(r"(?<![\w/])(?:RRMM|R/?R\s*MM|r/r\s*mm|rrmm|MM)(?![\w/])")
_RELAPSED = re.compile(
    r"\b(?:relaps\w*|refractory|r/r|rrmm|progress\w*|came\s+back|come\s+back|coming\s+back|returned|recurr\w*|"
    r"salvage|next\s+line|second[\s-]line|third[\s-]line|later[\s-]line|escap\w*|failing|failed)\b", re.I)
_CASE = re.compile(
    r"\b(?:patient|pt|pts|case|lady|man|woman|gentleman|gent|referral|consult|options?|advice|advise|help|opinion|"
    r"plan|next\s+steps?|treatment|treat|therapy|decision\s+support|guidance|recommend\w*|think\s+through|"
    r"go\s+through|run\s+(?:a|an|this|it)\b|sanity\s+check|where\s+do\s+i\s+start|what\s+(?:should|to|do)\b|"
    r"choos\w*|ideas?|look\s+up|work\s+out|q|question)\b", re.I)
_NEWLY = re.compile(r"\b(?:newly[\s-]diagnosed|new(?:ly)?\s+diagnosis|NDMM|induction|front[\s-]?line|upfront|"
                    r"smou?ldering|MGUS)\b", re.I)


def _myeloma_word(word: str) -> bool:
    w = word.lower()
    if w in ("myeloma", "myelomas"):
        return True
    return len(w) >= 5 and w[0] == "m" and osa_distance(w, "myeloma", 2) <= 2 and w not in ("melanoma", "myoma",
                                                                                              "myopia", "mycoma")


def about_myeloma(text: str) -> bool:
    """The message names myeloma (misspelt too) or RRMM / MM."""
    text = text or ""
    return bool(_MM.search(text)) or any(_myeloma_word(w) for w in _WORD.findall(text))


def case_request(text: str) -> bool:
    """A request for help with a relapsed or refractory myeloma case (facts or not)."""
    text = text or ""
    if not about_myeloma(text):
        return False
    relapsed = bool(_RELAPSED.search(text)) or bool(re.search(r"RRMM|rrmm|R/R", text))
    if _NEWLY.search(text) and not relapsed:
        return False
    return relapsed and bool(_CASE.search(text))


def newly_diagnosed(text: str) -> bool:
    """About newly diagnosed myeloma (outside this assistant's remit) and not about a relapse."""
    return bool(_NEWLY.search(text or "")) and not _RELAPSED.search(text or "")
