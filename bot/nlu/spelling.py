"""Misspelt clinical keywords ("refactory", "relpase", "transplnt", "elligible", "remision"), corrected before
the rules read a message, with a map back to the characters the clinician typed.

Only a closed list of keywords is corrected (`KEYWORDS`): a word of six letters or more, not itself a known
word, with the same first letter and the same last letter class, within one edit of a keyword of up to eight
letters or two edits of a longer one, and nearer to one keyword than to any other. Drug names with a typo are
matched by `matchers` (same thresholds); this module only spells the words the fact and status rules look for.
`correct(text)` returns the corrected text and an `OffsetMap` that turns its character offsets back into those
of the original text (a corrected word maps onto the word as typed).

Dictated text is read as typed (`spoken`: numbers in words, letters spelt out, spoken punctuation) and non-native
usage as the standard form (`usage`: "refractory with X", "she progress under Kd").

Layer: may import the standard library, `.matchers` (the edit distance), `.spoken` and `.usage`.
"""
from __future__ import annotations

import bisect
import re
from typing import Dict, FrozenSet, List, Optional, Tuple

from .matchers import osa_distance
from .spoken import spoken_fixes
from .usage import usage_fixes

# Words the rules read whose typos clinicians make; their own inflections are known words (never corrected).
KEYWORDS = (
    "refractory", "relapse", "relapsed", "relapsing", "progressed", "progressing", "progression", "transplant",
    "transplanted", "eligible", "ineligible", "remission", "exposed", "maintenance", "clinical", "biochemical",
    "intermediate", "candidate", "autograft", "myeloma", "hypercalcaemia", "hypercalcemia", "plasmacytoma",
    "extramedullary", "lesions", "paraprotein", "previous", "received", "naive", "stopped", "refractoriness",
    "creatinine", "neuropathy", "dialysis", "fractures", "calcium", "everything", "months", "chains", "dropping",
    "dropped",
)
# Short words the rules read: corrected for a doubled letter ("fitt", "fraill"), two inner letters swapped ("frial",
# "priro", "hihg") or an inner letter left out of a keyword of five letters ("mant", "pror") when what was typed is
# no word ("mint", "rail"), never for a changed letter (too near other words: "fat", "fin").
SHORT_KEYWORDS = ("fit", "unfit", "frail", "prior", "high", "maint")
# a letter left out of a short keyword ("mant", "pror") is read only when what was typed is no word of its own
DELETION_STOP = frozenset({"mint", "main", "aint", "rail", "fail", "unit", "frai", "prio", "hig", "pro", "pri"})
SHORT_RE = re.compile(r"(?<![\w'-])[A-Za-z]{3,7}(?![\w'-])")
# Real words near a keyword that must stay as written.
KNOWN_EXTRA = frozenset({
    "relapses", "progress", "progresses", "progressive", "progressively", "transplants", "transplanting",
    "eligibility", "ineligibility", "remissions", "exposure", "exposures", "exposes", "expose", "maintained",
    "maintaining", "clinically", "clinician", "clinicians", "biochemically", "intermediates", "candidates",
    "autografts", "autografted", "myelomas", "plasmacytomas", "lesion", "paraproteins", "previously", "receive",
    "receives", "receiving", "receiver", "stopping", "stopper", "stoppage", "refractive", "reflectory",
    "clinic", "clinics", "lesional", "refractor", "naively", "naivety", "previews", "exposing",
    "remiss", "released", "relayed", "relaxed", "replaced", "repulsed", "prolapsed", "collapsed", "eligibly",
    "transplantation", "transparent", "candida", "candidal", "translated", "translation", "translate", "translates",
    "creatine", "neuropathies", "dialyses", "dialysed", "dialyse", "fracture", "fractured",
    "mouths", "monthly", "chairs", "charts", "nephropathy", "nephropathies", "neuropathic",
    "drooping", "dripping", "dripped", "drooped", "cropped", "propped", "dropper", "droppings",
})
WORD_RE = re.compile(r"[A-Za-z]{6,}")


def _known() -> FrozenSet[str]:
    return frozenset(KEYWORDS) | KNOWN_EXTRA


class OffsetMap:
    """Offsets of the corrected text -> offsets of the original (identity when nothing was corrected)."""

    def __init__(self, edits: List[Tuple[int, int, int, int]]) -> None:
        # (new_start, new_end, old_start, old_end) per corrected word, in order
        self.edits = edits
        self.starts = [e[0] for e in edits]

    def __bool__(self) -> bool:
        return bool(self.edits)

    def to_original(self, pos: int, end: bool = False) -> int:
        """The original offset of `pos` (a start offset, or an exclusive end offset when `end`)."""
        i = (bisect.bisect_left(self.starts, pos) if end else bisect.bisect_right(self.starts, pos)) - 1
        if i < 0:
            return pos
        ns, ne, os_, oe = self.edits[i]
        if end:
            return oe if pos <= ne else pos - ne + oe
        return os_ if pos < ne else pos - ne + oe

    def to_new(self, pos: int, end: bool = False) -> int:
        """The corrected-text offset of an original offset (the inverse of `to_original`)."""
        olds = [e[2] for e in self.edits]
        i = (bisect.bisect_left(olds, pos) if end else bisect.bisect_right(olds, pos)) - 1
        if i < 0:
            return pos
        ns, ne, os_, oe = self.edits[i]
        if end:
            return ne if pos <= oe else pos - oe + ne
        return ns if pos < oe else pos - oe + ne


# abbreviations of keywords that are too far from them for the edit distance
ABBREVIATIONS = {"refrac": "refractory", "refract": "refractory", "refracted": "refractory"}
# a regimen spelt letter by letter (dictated text: "d r d", "v r d"): joined when the letters name one
LETTERS_RE = re.compile(r"(?<![\w-])([a-zA-Z])\s([a-zA-Z])\s([a-zA-Z])(?:\s([a-zA-Z]))?(?![\w-])")


def short_suggest(word: str) -> Optional[str]:
    """The short keyword typed with a letter doubled, two inner letters swapped or an inner letter left out, or None."""
    w = word.lower()
    if w in SHORT_KEYWORDS:
        return None
    for k in SHORT_KEYWORDS:
        if len(w) == len(k) - 1 and len(w) >= 4 and w[0] == k[0] and w not in DELETION_STOP:
            if any(k[:i] + k[i + 1:] == w for i in range(1, len(k))):
                return k
        if len(w) == len(k) + 1 and w[0] == k[0]:
            if any(w[i] == w[i + 1] and w[:i] + w[i + 1:] == k for i in range(len(w) - 1)):
                return k
        elif len(w) == len(k) and w[0] == k[0] and sorted(w) == sorted(k):
            diff = [i for i in range(len(w)) if w[i] != k[i]]
            if len(diff) == 2 and diff[1] == diff[0] + 1 and w[diff[0]] == k[diff[1]]:
                return k
    return None


class Speller:
    def __init__(self, keywords=KEYWORDS, joined: Tuple[str, ...] = ()) -> None:
        # joined: regimen names of 3-4 letters, read when dictated letter by letter (their KB spelling)
        self.joined = {j.lower(): j for j in joined if j.isalpha() and 3 <= len(j) <= 4}
        self.known = _known()
        self.by_letter: Dict[str, List[str]] = {}
        for k in keywords:
            self.by_letter.setdefault(k[0], []).append(k)
        self.cache: Dict[str, Optional[str]] = {}

    def suggest(self, word: str) -> Optional[str]:
        w = word.lower()
        if w in self.cache:
            return self.cache[w]
        result = None
        if len(w) >= 6 and w not in self.known:
            best: Dict[str, int] = {}
            for k in self.by_letter.get(w[0], ()):
                limit = 1 if len(k) <= 8 else 2
                d = osa_distance(w, k, limit)
                if d <= limit:
                    best[k] = d
            if best:
                top = min(best.values())
                winners = [k for k, v in best.items() if v == top]
                result = winners[0] if len(winners) == 1 else None
        if len(self.cache) < 20000:
            self.cache[w] = result
        return result

    def _fixes(self, text: str) -> List[Tuple[int, int, str]]:
        fixes = []
        for m in SHORT_RE.finditer(text):
            w = m.group(0)
            fix = short_suggest(w)
            if fix:
                fixes.append((m.start(), m.end(), fix[0].upper() + fix[1:] if w[0].isupper() else fix))
        for m in WORD_RE.finditer(text):
            w = m.group(0)
            fix = ABBREVIATIONS.get(w.lower()) or self.suggest(w)
            if fix and not any(f[0] == m.start() for f in fixes):
                fixes.append((m.start(), m.end(), fix[0].upper() + fix[1:] if w[0].isupper() else fix))
        if self.joined:
            for m in LETTERS_RE.finditer(text):
                for n in (4, 3):  # "d k d" and "v m p", the longest first
                    letters = [g for g in m.groups()[:n] if g]
                    name = self.joined.get("".join(letters).lower()) if len(letters) == n else None
                    if name:
                        fixes.append((m.start(), m.end(n), name))
                        break
        return sorted(fixes + spoken_fixes(text) + usage_fixes(text))

    def correct(self, text: str) -> Tuple[str, OffsetMap]:
        out: List[str] = []
        edits: List[Tuple[int, int, int, int]] = []
        last = 0
        shift = 0
        for start, end, fix in self._fixes(text):
            if start < last:
                continue
            out.append(text[last:start])
            ns = start + shift
            out.append(fix)
            edits.append((ns, ns + len(fix), start, end))
            shift += len(fix) - (end - start)
            last = end
        if not edits:
            return text, OffsetMap([])
        out.append(text[last:])
        return "".join(out), OffsetMap(edits)
