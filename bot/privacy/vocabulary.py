"""The privacy layer's vocabulary: the word lists in `words/`, loaded and checked once.

Each list is a UTF-8 text file beside this module, one entry a line, `#` starting a comment:

    clinical.txt           clinical words, drugs, makers and trials: never a name, a street or a town
    common.txt             ordinary words that start sentences and headings: a name only with strong context
    months.txt, days.txt   calendar words: never a name
    wordish_endings.txt    endings of ordinary and medical words (weak evidence against a lone name)
    geo_words.txt          common words that may still be part of a street or town name
    street_veto.txt        words that are never part of a street name
    street_suffixes.txt    Street, St, Road, ... (the street pattern is built from it)
    uk_postcode_areas.txt  UK postcode areas; us_states.txt: US state codes
    names.txt              given names, surnames and ambiguous names, in [given] [surname] [ambiguous]
                           sections, several a line

A missing file, an entry in the wrong case, with a space or listed twice raises an error naming the file and
line, when this module is imported (names.txt: on the first redaction). `hard_vocab()` adds the knowledge
base's drug, regimen and trial names to the clinical words.

Imports: the standard library and `bot.clinical` (the knowledge base). Never rasa, rasa_sdk, sanic or spaCy.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Dict, FrozenSet, Iterator, Tuple

from bot.clinical.kb import kb

WORDS_DIR = Path(__file__).with_name("words")
NAMES_FILE = WORDS_DIR / "names.txt"

_CASES: Dict[str, Callable[[str], bool]] = {
    "lower": lambda w: w == w.lower(),
    "upper": lambda w: w == w.upper(),
    "title": lambda w: w[:1].isupper() and w[1:] == w[1:].lower(),
}
_NAME_SHAPE = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_SECTION_RE = re.compile(r"\[(\w+)\]")


def _bad(path: Path, lineno: int, problem: str) -> ValueError:
    return ValueError(f"{path}:{lineno}: {problem}")


def _lines(path: Path) -> Iterator[Tuple[int, str]]:
    """(line number, content) of each line with content once '#' comments and blanks are stripped."""
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if line:
            yield lineno, line


@lru_cache(maxsize=None)
def word_list(name: str, case: str = "lower") -> Tuple[str, ...]:
    """The entries of words/<name>.txt in file order (one a line), each checked for `case`.

    Raises ValueError (file and line) for an entry with a space in it, in another case or listed twice, and
    for a file without entries; OSError when the file is missing (it ships as package data).
    """
    path, check = WORDS_DIR / f"{name}.txt", _CASES[case]
    seen: Dict[str, int] = {}
    for lineno, entry in _lines(path):
        if len(entry.split()) != 1:
            raise _bad(path, lineno, f"one entry a line, not {entry!r}")
        if not check(entry):
            raise _bad(path, lineno, f"{entry!r} is not in {case} case")
        if entry in seen:
            raise _bad(path, lineno, f"{entry!r} is already on line {seen[entry]}")
        seen[entry] = lineno
    if not seen:
        raise _bad(path, 0, "no entries")
    return tuple(seen)


MONTHS = frozenset(word_list("months"))
DAYS = frozenset(word_list("days"))
CALENDAR = MONTHS | DAYS
CLINICAL = frozenset(word_list("clinical"))
COMMON = frozenset(word_list("common"))
WORDISH_ENDINGS = word_list("wordish_endings")  # a tuple, for str.endswith
GEO_WORDS = frozenset(word_list("geo_words"))
STREET_VETO = frozenset(word_list("street_veto"))
STREET_SUFFIXES = word_list("street_suffixes", "title")  # in the order of the street pattern's alternatives
UK_AREAS = frozenset(word_list("uk_postcode_areas", "upper"))
US_STATES = word_list("us_states", "upper")  # in the order of the state patterns' alternatives
PLACEHOLDER_WORDS = frozenset({"name", "mrn", "dob", "phone", "email", "address"})  # [NAME], [MRN], ...


def fold(word: str) -> str:
    return re.sub(r"[\s_\-]+", "-", word.strip().lower())


@lru_cache(maxsize=1)
def hard_vocab() -> FrozenSet[str]:
    """Words (folded) that are never part of a name: the clinical vocabulary, with the knowledge base's."""
    words = set(CLINICAL) | set(MONTHS) | set(DAYS)
    words |= PLACEHOLDER_WORDS
    base = kb()
    for index in (base.drug_aliases(), base.regimen_aliases(), base.trial_aliases()):
        for key in index:
            words.add(key)
            words.update(p for p in key.split("-") if len(p) > 1 and not p.isdigit())
        words.update(fold(v) for v in index.values())
    for drug in base.drugs.values():
        for alias in (drug.id, *drug.aliases):
            words.add(fold(alias))
            words.update(p for p in re.split(r"[\s\-]+", alias.lower()) if len(p) > 1)
    for reg in (*base.regimens.values(), *base.transplants.values()):
        words.add(fold(reg.code))
    return frozenset(words)


@lru_cache(maxsize=1)
def short_drug_aliases() -> FrozenSet[str]:
    """Drug names of four letters or fewer (Len, Mel, Isa, Dara, Cy): also given names, so a name's context
    ("Dr Isa Khan", "pt Len", "Len Smith") makes one part of a name despite the clinical vocabulary."""
    base = kb()
    return frozenset(a.lower() for d in base.drugs.values() for a in (d.id, *d.aliases)
                     if a.isalpha() and len(a) <= 4)


@lru_cache(maxsize=1)
def trial_words() -> FrozenSet[str]:
    """Parts of the knowledge base's trial names (Boston, Horizon): they may also be streets or towns."""
    return frozenset(p for key in kb().trial_aliases() for p in key.split("-"))


@dataclass(frozen=True)
class Names:
    """Listed names, lower case: a given name or surname alone marks a capitalised word as a name; an
    ambiguous one (also an ordinary word) only next to another name or after a title or "name is"."""

    given: FrozenSet[str]
    surname: FrozenSet[str]
    ambiguous: FrozenSet[str]
    clinical: FrozenSet[str] = frozenset()  # listed names that are clinical words too (Jones): after a title only


@lru_cache(maxsize=1)
def listed_names() -> Names:
    """names.txt, without the clinical vocabulary; listed names that are also common words are ambiguous.

    Raises ValueError (file and line) for a word outside a known section, a word that is not shaped like a
    name, or a word listed twice in one section.
    """
    sections: Dict[str, Dict[str, int]] = {"given": {}, "surname": {}, "ambiguous": {}}
    current = None
    for lineno, line in _lines(NAMES_FILE):
        m = _SECTION_RE.fullmatch(line)
        if m:
            if m.group(1) not in sections:
                raise _bad(NAMES_FILE, lineno, f"unknown section [{m.group(1)}], not one of {sorted(sections)}")
            current = sections[m.group(1)]
            continue
        if current is None:
            raise _bad(NAMES_FILE, lineno, "names before the first [section]")
        for word in line.split():
            low = word.lower()
            if not _NAME_SHAPE.fullmatch(word):
                raise _bad(NAMES_FILE, lineno, f"{word!r} is not shaped like a name")
            if low in current:
                raise _bad(NAMES_FILE, lineno, f"{word!r} is already on line {current[low]}")
            current[low] = lineno
    hard = hard_vocab()
    ambiguous = {w for w in sections["ambiguous"] if w not in hard}
    # A listed name that is also an ordinary word counts as ambiguous, never as a name on its own.
    for key in ("given", "surname"):
        ambiguous |= {w for w in sections[key] if w in COMMON and w not in hard}
    given = frozenset(w for w in sections["given"] if w not in hard and w not in ambiguous)
    surname = frozenset(w for w in sections["surname"] if w not in hard and w not in ambiguous)
    clinical = frozenset(w for key in ("given", "surname") for w in sections[key] if w in hard)
    return Names(given, surname, frozenset(ambiguous), clinical)
