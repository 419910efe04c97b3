"""The person-name detector: one pass over the words of a message, deciding by shape, lists and context.

A name is a run of words that may be part of one (Title-case, CAPITALS after a title or "Name:", a listed name
in lower case), with its evidence: a title (Mr, Dr, Mrs ...) or "name is" before it is enough; so is a listed
given name or surname (words/names.txt); weaker evidence (an unlisted word after "patient", "re:", "Dear";
two unlisted capitalised words; "Okafor, 68F"; "Okafor's") counts only where capitals still mean something.
The clinical vocabulary (bot.privacy.vocabulary.hard_vocab: knowledge-base aliases of drugs, regimens and
trials, months, medical abbreviations and eponyms) is never taken for a name.

Known limits (heuristics, not a guarantee): a lone unlisted surname with no context ("saw Mthembu today"),
names written entirely in lower case without context, cities and hospitals other than in a street address,
identifiers spelt out ("john at gmail dot com") or split across messages are missed; an unknown capitalised
word right after "patient"/"re:"/"Dear" may be taken for a name; a compact 7+ digit number (e.g. a date
written 20230401) is taken for a record number.

Imports: the standard library and the modules of `bot.privacy` (its vocabulary, patterns and numbers). Never
rasa, rasa_sdk, sanic or spaCy.
"""
from __future__ import annotations

from functools import lru_cache
from typing import List, Optional, Set

from .numbers import plausible_birth_year
from .patterns import (
    CAP_TOKEN_RE,
    COMMA_RE,
    DOB_AFTER_NAME_RE,
    FOLLOWED_RE,
    INITIALS_RE,
    NAME_CTX,
    PARTICLES_BEFORE_RE,
    PATIENT_CTX,
    PLACE_BEFORE_RE,
    STRONG_CTX,
    TITLE_CASE_WORD_RE,
    TITLE_CTX,
    TOKEN_RE,
    WEAK_CTX,
    WORD_RE,
)
from .vocabulary import CALENDAR, COMMON, WORDISH_ENDINGS, hard_vocab, listed_names, short_drug_aliases

# Lower-case particles inside names: Ludwig van Beethoven, Maria da Silva, Abdullah bin Rashid.
PARTICLES = frozenset({"van", "von", "de", "da", "di", "del", "della", "der", "den", "du", "la", "le", "bin", "binti",
                       "bint", "ibn", "al", "el", "dos", "das", "ter", "ten", "y", "abu", "ben", "mac", "st"})
# Title-case surnames that start with a prefix: McDonald, O'Brien, DiMaggio, FitzGerald.
NAME_PREFIXES = ("Mc", "Mac", "O'", "O’", "D'", "D’", "Di", "De", "Da", "La", "Le", "Van", "Von", "Fitz", "St")


class _Tok:
    __slots__ = ("start", "end", "text", "low", "shape", "hard", "common", "listed", "amb", "alias", "poss", "mixed")

    def __init__(self, text: str, start: int, end: int, poss: bool, mixed: bool, info: tuple):
        self.start, self.end, self.text, self.poss, self.mixed = start, end, text, poss, mixed
        self.low, self.shape, self.hard, self.common, self.listed, self.amb, self.alias = info


@lru_cache(maxsize=8192)
def _word_info(text: str) -> tuple:
    """(lower, shape, hard, common, listed, ambiguous, alias) of one word; cached: words repeat across messages.
    `alias`: a short drug name written like a given name (Len, Isa): a name only in a name's context."""
    low = text.lower()
    parts = low.split("-")
    vocab, names = hard_vocab(), listed_names()
    hard = low in vocab or any(p in vocab and p not in CALENDAR for p in parts if len(p) > 1)
    common = low in COMMON or any(p in COMMON for p in parts)
    amb = low in names.ambiguous
    listed = (not amb) and (low in names.given or low in names.surname
                            or any(p in names.given or p in names.surname for p in parts if len(p) > 2))
    if len(text) == 1:
        shape = "initial" if text.isupper() else "other"
    elif _title_shaped(text) or (listed and len(parts) > 1 and _title_part(text.split("-")[0])):
        shape = "title"  # also Min-jun, Tanaka-san
    elif text.isupper():
        shape = "upper"
    elif text.islower():
        shape = "lower"
    else:
        shape = "other"
    alias = shape == "title" and low in short_drug_aliases()
    return low, shape, hard, common, listed, amb, alias


def _tokens(text: str) -> List[_Tok]:
    """Word tokens that may matter for names: capitalised words, listed names, particles."""
    names = listed_names()
    out = []
    n = len(text)
    # Lower-case words matter only when a listed name or a particle is written in lower case.
    lower = set(WORD_RE.findall(text))  # runs of lower-case letters as written
    lower_too = not (names.given.isdisjoint(lower) and names.surname.isdisjoint(lower)
                     and PARTICLES.isdisjoint(lower))
    for m in (TOKEN_RE if lower_too else CAP_TOKEN_RE).finditer(text):
        word, start, end = m.group(), m.start(), m.end()
        if word[0].islower():
            low = word.lower()
            if not (low in names.given or low in names.surname or low in PARTICLES):
                continue
        poss = False
        if len(word) > 2 and word[-2] in "'’" and word[-1] in "sS":
            word, end, poss = word[:-2], end - 2, True
        after = end + 2 if poss else end
        mixed = after < n and (text[after].isalnum() or text[after] == "_")
        out.append(_Tok(word, start, end, poss, mixed, _word_info(word)))
    return out


def _title_part(p: str) -> bool:
    if len(p) < 2:
        return False
    if p[0].isupper() and p[1:].replace("'", "").replace("’", "").islower():
        return True
    for pre in NAME_PREFIXES:
        n = len(pre)
        if p.startswith(pre) and len(p) > n + 1 and p[n].isupper() and p[n + 1:].islower():
            return True
    return False


def _title_shaped(word: str) -> bool:
    parts = word.split("-")
    if len(parts) > 1 and parts[0] in PARTICLES:  # al-Hassan, el-Sayed
        parts = parts[1:]
    return all(_title_part(p) for p in parts)


def _wordish(low: str) -> bool:
    return low.endswith(WORDISH_ENDINGS)


def _context(text: str, start: int) -> Optional[str]:
    tail = text[max(0, start - 48):start]
    if not tail:
        return None
    if TITLE_CTX.search(tail):
        return "title"
    if NAME_CTX.search(tail):
        return "name"
    if STRONG_CTX.search(tail):
        return "strong"
    if PATIENT_CTX.search(tail):
        return "patient"
    if WEAK_CTX.search(tail):
        return "weak"
    return None


NAME_CONTEXTS = ("title", "name", "strong", "patient")


def _accepts(t: _Tok, ctx: Optional[str]) -> bool:
    """May this token be (part of) a name in this context?"""
    if t.mixed:
        return False
    if t.hard:  # clinical vocabulary: only a listed name or a short drug name after a title or "name is"
        return ctx in ("title", "name") and t.shape == "title" and (t.alias or t.low in listed_names().clinical)
    strong = ctx in ("title", "name", "strong")
    if t.shape == "title":
        return not t.common or (strong and t.amb) or (ctx in ("title", "name") and t.listed)
    if t.shape == "upper":  # JOHN SMITH: listed names, or after a title or "Name:"
        return not t.common and (t.listed or ctx in ("title", "name"))
    if t.shape == "lower":  # "mrs smith", "pt john okafor"; without context only as a pair (see _is_name)
        return t.listed and not t.common
    return False


def _joined(text: str, a: _Tok, b: _Tok) -> bool:
    gap = text[a.end + (2 if a.poss else 0):b.start]
    if a.poss:
        return False
    if a.shape == "initial":
        return gap in (" ", ".", ". ")
    return gap == " " or gap == "\t"  # two spaces separate pasted fields: "Ama Boateng  Sex: F"




def find_names(text: str, words: Set[str], spans: list) -> None:
    """Append (start, end, "person_name", 6) for each name in `text` (and "date_of_birth" for a date of
    birth right after one); `words` are the lower-case words of the message (the initials pre-check)."""
    if "initial" in words or "initials" in words:
        for m in INITIALS_RE.finditer(text):
            spans.append((m.start("i"), m.end("i"), "person_name", 6))
    toks = _tokens(text)
    n, i = len(toks), 0
    title_case = _title_case_text(text) if toks else False
    while i < n:
        t = toks[i]
        clinical_name = t.hard and t.shape == "title" and t.low in listed_names().clinical  # Jones, Bence
        ctx = _context(text, t.start) if (t.alias or clinical_name) else None
        # a short drug name as a given name: in a name's context, or right before a listed surname ("Len Smith");
        # a listed name that is also a clinical word (Jones): after a title or "name is" only
        alias_name = (t.alias and (ctx in NAME_CONTEXTS or (
            i + 1 < n and _joined(text, t, toks[i + 1]) and toks[i + 1].listed and toks[i + 1].shape == "title"
            and not toks[i + 1].hard))) or (clinical_name and ctx in ("title", "name"))
        if (t.hard and not alias_name) or t.mixed or t.shape == "other" or (t.shape == "lower" and not t.listed):
            i += 1
            continue
        if t.common and not (t.amb or t.listed) and t.shape != "initial":
            i += 1
            continue
        if not (t.alias or clinical_name):
            ctx = _context(text, t.start)
        run: List[_Tok] = []
        j = i
        while j < n:
            tj = toks[j]
            if run and not _joined(text, run[-1], tj):
                break
            if tj.shape == "initial" and not tj.hard and tj.text not in ("I", "A") or (
                    tj.shape == "initial" and text[tj.end:tj.end + 1] == "."):
                # an initial only inside a name: J. Smith, John W. Smith
                if j + 1 < n and _joined(text, tj, toks[j + 1]) and _accepts(toks[j + 1], ctx):
                    run.append(tj)
                    j += 1
                    continue
                if run and any(r.shape != "initial" for r in run) and text[tj.end:tj.end + 1] == ".":
                    run.append(tj)
                    j += 1
                break
            if tj.low in PARTICLES and run and j + 1 < n and _joined(text, tj, toks[j + 1]) \
                    and _accepts(toks[j + 1], ctx) and not toks[j + 1].common:
                run.append(tj)
                j += 1
                continue
            if not (_accepts(tj, ctx) or (j == i and alias_name)):
                break
            run.append(tj)
            j += 1
            if tj.poss:
                break
        # SURNAME, Given (pasted referral headers)
        core = [r for r in run if r.shape != "initial" and r.low not in PARTICLES]
        if len(core) == 1 and not run[-1].poss and (ctx in ("title", "name", "strong", "patient", "weak")
                                                     or run[0].shape == "upper"):
            m = COMMA_RE.match(text, run[-1].end)
            if m and j < n and toks[j].start == m.end() and toks[j].shape == "title" and _accepts(toks[j], ctx) \
                    and (toks[j].listed or run[0].shape == "upper" or ctx == "name"):
                run.append(toks[j])
                j += 1
                while j < n and _joined(text, run[-1], toks[j]) and toks[j].shape == "title" and _accepts(toks[j], ctx):
                    run.append(toks[j])
                    j += 1
                core = [r for r in run if r.shape != "initial" and r.low not in PARTICLES]
        if core and _is_name(text, run, core, ctx, title_case):
            if ctx is None:  # drop a leading verb or adverb swept into the run ("Reviewed John Smith")
                while len(core) > 1 and not core[0].listed and (_wordish(core[0].low) or core[0].common):
                    run = run[run.index(core[0]) + 1:]
                    core = core[1:]
            while run and (run[-1].shape == "lower" and run[-1].low in PARTICLES
                           or run[-1].shape == "initial" and text[run[-1].end:run[-1].end + 1] != "."):
                run.pop()
            if run:
                end = run[-1].end + (1 if run[-1].shape == "initial" else 0)
                start = run[0].start
                if ctx == "title":  # Dr de la Cruz, Mrs van der Berg: the particles belong to the name
                    pb = PARTICLES_BEFORE_RE.search(text[max(0, start - 24):start])
                    if pb:
                        start -= len(pb.group())
                spans.append((start, end, "person_name", 6))
                m = DOB_AFTER_NAME_RE.match(text, end)
                if m and plausible_birth_year(m.group("date")):
                    spans.append((m.start("date"), m.end("date"), "date_of_birth", 3))
        i = max(j, i + 1)


def _is_name(text: str, run: List[_Tok], words: List[_Tok], ctx: Optional[str], title_case: bool) -> bool:
    """Is this run of capitalised words a person's name, given its context?

    Strong evidence: a title, "name is", a listed given name or surname. Weak evidence (an unlisted word
    after "patient", "re:", "Dear"; two unlisted capitalised words; "Okafor, 68F"; "Okafor's") is not
    trusted in Title Case Typed Text, nor right after a place preposition ("from Sierra Leone, 58M").
    """
    if ctx in ("title", "name"):
        return True
    single = len(words) == 1
    w = words[0]
    listed = any(x.listed for x in words)
    if listed and not (single and w.shape == "lower" and ctx is None):
        if all(x.shape == "upper" for x in words):
            return len(words) >= 2 or ctx in ("strong", "patient") or bool(FOLLOWED_RE.match(text, run[-1].end))
        return True
    if title_case or any(x.shape == "upper" for x in words):
        return False
    weak_single = single and (_wordish(w.low) or w.amb or w.common)
    if ctx in ("strong", "patient"):
        return not weak_single
    if ctx is None and PLACE_BEFORE_RE.search(text[max(0, run[0].start - 12):run[0].start]):
        return False
    if len(words) >= 2 and not any(_wordish(x.low) or x.common for x in words):
        return True
    if weak_single:
        return False
    if FOLLOWED_RE.match(text, run[-1].end):
        return True
    return single and w.poss and w.shape == "title"


def _title_case_text(text: str) -> bool:
    """Typed In Title Case (or all capitals): capitalisation then says little about names."""
    words = TITLE_CASE_WORD_RE.findall(text)
    if len(words) < 4:
        return False
    caps = sum(1 for w in words if w[0].isupper())
    return caps >= 0.6 * len(words)
