"""Dictated text read as it would have been typed: numbers said in words, letters spelt out, spoken punctuation.

Speech-to-text writes what the clinician says: "creatinine two point nine", "ldh of five hundred", "in twenty
twenty one", "t eleven fourteen", "deletion seventeen p", "r m c i of seven", "l d h", "full stop". The rules read
digits, acronyms and punctuation, so `spoken_fixes(text)` gives the replacements (start, end, new text) that
`spelling.Speller` applies with the other corrections (offsets mapped back to the words as dictated).

What is rewritten (and nothing else):
- a number said in more than one word ("twenty four", "three hundred sixty", "one thousand four hundred"), a
  number word above ten ("eleven", "forty"), a year ("twenty nineteen", "twenty twenty one", "nineteen ninety
  eight") and a decimal ("eight point five");
- a single number word up to ten only after a measurement or a score ("ecog zero", "r mci four", "calcium of
  three") or in "from two to nine": elsewhere "two prior lines", "one transplant" stay words (the rules read them);
- the chromosome arms and translocations of cytogenetics ("seventeen p" = 17p, "one q" = 1q, "t four fourteen" /
  "translocation four fourteen" = t(4;14), for the translocations of myeloma only);
- clinical acronyms spelt letter by letter ("l d h", "e c o g", "d v t", "r m c i", "c r a b", "f l c");
- spoken punctuation: "full stop", "comma", "semicolon", and "period" in a message without written punctuation
  where it is not the noun ("a period of").

Layer: may import the standard library only.
"""
from __future__ import annotations

import re
from typing import List, Optional, Tuple

UNITS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
         "nine": 9}
TEENS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
         "seventeen": 17, "eighteen": 18, "nineteen": 19}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
        "eighty": 80, "ninety": 90}
NUMBER_WORDS = set(UNITS) | set(TEENS) | set(TENS) | {"hundred", "thousand", "point", "oh", "and"}
# words after which a single small number is a value ("ecog zero", "grade two", "r mci of four")
MEASURES = {
    "ecog", "mci", "r-mci", "ps", "grade", "score", "stage", "hb", "hgb", "haemoglobin", "hemoglobin",
    "calcium", "ca", "creatinine", "creat", "ldh", "egfr", "albumin", "kappa", "lambda", "flc", "paraprotein",
    "spike", "protein", "iss", "r-iss", "platelets", "neutrophils", "ef", "fraction",
}
FILLERS = {"of", "is", "was", "at", "to", "now", "score", "status", "performance"}
# translocations of myeloma (a pair of chromosome numbers after "t" or "translocation")
TRANSLOCATIONS = {(4, 14), (11, 14), (14, 16), (14, 20), (6, 14)}
# acronyms that dictation spells letter by letter
ACRONYMS = {"ldh": "LDH", "ecog": "ECOG", "dvt": "DVT", "rmci": "R-MCI", "crab": "CRAB", "flc": "FLC",
            "egfr": "eGFR", "mdt": "MDT", "asct": "ASCT", "iss": "ISS", "riss": "R-ISS", "hct": "HCT"}
LETTERS_RE = re.compile(r"(?<![\w-])[a-zA-Z](?:\s[a-zA-Z]){1,4}(?![\w-])")
WORD_RE = re.compile(r"[A-Za-z]+")
PUNCTUATION = [
    (re.compile(r"(?i)\s*\bfull\s+stop\b"), "."),
    (re.compile(r"(?i)\s*\bcomma\b"), ","),
    (re.compile(r"(?i)\s*\bsemi-?colon\b"), ";"),
    (re.compile(r"(?i)(?<!\ba\s)(?<!\bthe\s)(?<!\bthis\s)(?<!\bthat\s)(?<!\bany\s)\s*\bperiod\b(?!\s+(?:of|when|in)\b)"),
     "."),
]


def _below_100(w: List[str], j: int) -> Optional[Tuple[int, int]]:
    """(value, words used) of a number below 100 said from w[j] ("forty", "forty two", "fourteen", "six")."""
    if j >= len(w):
        return None
    if w[j] in TENS:
        if j + 1 < len(w) and w[j + 1] in UNITS and w[j + 1] != "zero":
            return TENS[w[j]] + UNITS[w[j + 1]], 2
        return TENS[w[j]], 1
    if w[j] in TEENS:
        return TEENS[w[j]], 1
    if w[j] in UNITS:
        return UNITS[w[j]], 1
    return None


def _parse(words: List[str]) -> Optional[Tuple[str, int]]:
    """The number said from words[0]: (digits, words used), or None."""
    w = [x.lower() for x in words]
    n = len(w)
    # a year: "twenty nineteen", "twenty twenty one", "nineteen ninety eight"
    if n > 1 and w[0] in ("twenty", "nineteen") and (w[1] in TENS or w[1] in TEENS):
        rest = _below_100(w, 1)
        if rest and rest[0] >= 10:
            return str((2000 if w[0] == "twenty" else 1900) + rest[0]), 1 + rest[1]
    total, j = 0, 0
    while True:
        part = _below_100(w, j)
        if part is None:
            break
        value, j = part[0], j + part[1]
        if value < 10 and j < n and w[j] == "hundred":
            value, j = value * 100, j + 1
            k = j + 1 if j < n and w[j] == "and" else j
            rest = _below_100(w, k)
            if rest:
                value, j = value + rest[0], k + rest[1]
        if j < n and w[j] == "thousand" and total == 0:
            total, j = value * 1000, j + 1
            if j < n and w[j] == "and":
                j += 1
            continue
        total += value
        break
    if j == 0:
        return None
    if j < n and w[j - 1] == "and":
        j -= 1
    digits = str(total)
    if j + 1 < n and w[j] == "point" and w[j + 1] in UNITS:
        j += 1
        decimals = ""
        while j < n and w[j] in UNITS and len(decimals) < 2:
            decimals += str(UNITS[w[j]])
            j += 1
        digits += "." + decimals
    return digits, j


def _words(text: str) -> List[Tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group(0)) for m in WORD_RE.finditer(text)]


def _joined(text: str, a: int, b: int) -> bool:
    """Two words next to each other, separated by spaces or a hyphen only (one spoken phrase)."""
    return re.fullmatch(r"\s+|\s*-\s*", text[a:b]) is not None


def number_fixes(text: str) -> List[Tuple[int, int, str]]:
    words = _words(text)
    fixes: List[Tuple[int, int, str]] = []
    i = 0
    while i < len(words):
        if words[i][2].lower() not in NUMBER_WORDS or words[i][2].lower() in ("point", "oh", "and", "hundred",
                                                                              "thousand"):
            i += 1
            continue
        # the run of words said as one phrase
        k = i + 1
        while k < len(words) and words[k][2].lower() in NUMBER_WORDS and _joined(text, words[k - 1][1], words[k][0]):
            k += 1
        parsed = _parse([w[2] for w in words[i:k]])
        if parsed is None:
            i += 1
            continue
        digits, used = parsed
        last = words[i + used - 1]
        single = used == 1 and (words[i][2].lower() in UNITS or words[i][2].lower() == "ten")
        if single and not _value_context(text, words, i):
            i += used
            continue
        fixes.append((words[i][0], last[1], digits))
        i += used
    return fixes


def _value_context(text: str, words: List[Tuple[int, int, str]], i: int) -> bool:
    """A single number word up to ten that is a value: after a measure ("ecog zero", "r mci of four") or in
    "from two to nine"."""
    j = i - 1
    while j >= 0 and words[j][2].lower() in FILLERS and i - j <= 3:
        j -= 1
    if j >= 0 and _near(text, words[j][1], words[i][0]):
        if words[j][2].lower() in MEASURES:
            return True
        # a measure spelt letter by letter ("e c o g zero", "r m c i of four")
        k = j
        while k >= 0 and len(words[k][2]) == 1:
            k -= 1
        spelt = "".join(w[2] for w in words[k + 1:j + 1]).lower()
        if any(spelt.endswith(a) for a in ("ecog", "mci", "ldh", "hb")):
            return True
    prev = words[i - 1][2].lower() if i else ""
    nxt = [w[2].lower() for w in words[i + 1:i + 3]]
    if prev == "from" and len(nxt) == 2 and nxt[0] == "to" and nxt[1] in NUMBER_WORDS:
        return True
    if prev == "to" and i >= 3 and words[i - 3][2].lower() == "from" and words[i - 2][2].lower() in NUMBER_WORDS:
        return True
    return False


def _near(text: str, a: int, b: int) -> bool:
    return b - a < 25 and not re.search(r"[.,;:\n]", text[a:b])


def cytogenetics_fixes(text: str) -> List[Tuple[int, int, str]]:
    """'seventeen p' = 17p, 'one q' = 1q, 't four fourteen' = t(4;14) (after the numbers are digits or not)."""
    fixes = []
    num = r"(one|1|four|4|six|6|eleven|11|fourteen|14|sixteen|16|twenty|20)"
    values = {"one": 1, "four": 4, "six": 6, "eleven": 11, "fourteen": 14, "sixteen": 16, "twenty": 20}
    for m in re.finditer(r"(?i)\b(?:t|translocation)\s+" + num + r"\s*[\s;,/-]\s*" + num + r"\b", text):
        a, b = (values.get(g.lower()) or int(g) for g in (m.group(1), m.group(2)))
        if (a, b) in TRANSLOCATIONS:
            start = m.start() if m.group(0)[:2].lower() == "t " else m.start(1)
            fixes.append((start, m.end(), f"t({a};{b})"))
    for m in re.finditer(r"(?i)\b(seventeen|17)\s+p\b", text):
        fixes.append((m.start(), m.end(), "17p"))
    for m in re.finditer(r"(?i)\b(one|1)\s+q\b(?!\s*:)", text):
        fixes.append((m.start(), m.end(), "1q"))
    return fixes


def letter_fixes(text: str) -> List[Tuple[int, int, str]]:
    """Acronyms spelt letter by letter ('l d h', 'e c o g', 'r m c i'), the longest known name of the run."""
    fixes = []
    for m in LETTERS_RE.finditer(text):
        letters = m.group(0).split()
        for n in range(len(letters), 1, -1):
            found = False
            for s in range(0, len(letters) - n + 1):
                name = ACRONYMS.get("".join(letters[s:s + n]).lower())
                if name:
                    # offsets of letters s .. s+n-1 inside the match (one character and one space each)
                    start = m.start() + 2 * s
                    fixes.append((start, start + 2 * n - 1, name))
                    found = True
                    break
            if found:
                break
    # "r mci" (the score's name said as a letter and a word)
    for m in re.finditer(r"(?i)\br\s+mci\b", text):
        fixes.append((m.start(), m.end(), "R-MCI"))
    return fixes


def punctuation_fixes(text: str) -> List[Tuple[int, int, str]]:
    fixes = []
    written = re.search(r"[.,;:]", text) is not None  # typed text: "period" is the noun ("maintenance period")
    for pattern, mark in PUNCTUATION:
        if written and mark == "." and "period" in pattern.pattern:
            continue
        for m in pattern.finditer(text):
            fixes.append((m.start(), m.end(), mark))
    return fixes


def spoken_fixes(text: str) -> List[Tuple[int, int, str]]:
    """The replacements of dictated text (sorted; where two overlap the earlier one is applied)."""
    fixes = letter_fixes(text) + cytogenetics_fixes(text) + punctuation_fixes(text)
    taken = [(a, b) for a, b, _ in fixes]
    fixes += [f for f in number_fixes(text) if all(f[1] <= a or f[0] >= b for a, b in taken)]
    return sorted(fixes)
