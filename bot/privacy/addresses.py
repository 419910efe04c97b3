"""Postal addresses: a street with its number (and the town, state, postcode or ZIP after it), an address
after "address:" or "lives at", PO boxes, UK and Canadian postcodes, a US state with its ZIP.

Every address pattern holds a number, so a message without digits is skipped. A street or town is made of
capitalised words that are not clinical vocabulary ("12 Cycles Of Dara" is no street); trial names such as
Boston or Horizon may still be towns. Cities and hospitals on their own are not redacted (see the known limits
in `bot.privacy`).

Imports: the standard library and the modules of `bot.privacy` (its vocabulary and patterns). Never rasa,
rasa_sdk, sanic or spaCy.
"""
from __future__ import annotations

import re
from typing import Set

from .patterns import (
    ADDRESS_CONTEXT_RE,
    ADDRESS_START_RE,
    ADDRESS_WORDS,
    CA_POSTCODE_RE,
    CAPDIGIT_RE,
    CHUNK_SEP_RE,
    DIRECTION_RE,
    GERMAN_STREET_HINT,
    PO_BOX_RE,
    STATE_ZIP_AT_RE,
    STATE_ZIP_RE,
    STREET_FOREIGN_RE,
    STREET_GERMAN_RE,
    STREET_RE,
    STREET_WORDS,
    TOWN_RE,
    UK_POSTCODE_RE,
    ZIP_ALONE_RE,
    ZIP_CONTEXT_RE,
)
from .vocabulary import CLINICAL, COMMON, DAYS, GEO_WORDS, MONTHS, STREET_VETO, UK_AREAS, hard_vocab, trial_words


def _address_word_ok(word: str, town: bool = False) -> bool:
    """May `word` be part of a street (or, with `town`, a town) name?"""
    low = word.lower()
    if low in CLINICAL or low in MONTHS or low in DAYS or low in STREET_VETO:
        return False
    if town and low in COMMON and low not in GEO_WORDS:
        return False
    vocab = hard_vocab()
    # trial names (Boston, Horizon) may be towns or streets; drug and regimen names may not
    return not (low in vocab and low not in trial_words())


def _extend_address(text: str, end: int, limit: int = 4) -> int:
    """Take the town, state, postcode or ZIP that follow a street: ', Leeds LS1 4AB', ', Boston, MA 02115'."""
    after_code = False
    for _ in range(limit):
        sep = CHUNK_SEP_RE.match(text, end)
        if not sep:
            break
        pos = sep.end()
        comma = "," in sep.group() or after_code
        m = UK_POSTCODE_RE.match(text, pos)
        if m and m.group("area") not in UK_AREAS:
            m = None
        m = m or CA_POSTCODE_RE.match(text, pos)
        if not m:
            st = STATE_ZIP_AT_RE.match(text, pos)
            if st and (comma or st.group()[-1].isdigit()):
                m = st
        if not m and not comma:
            m = DIRECTION_RE.match(text, pos)  # 1600 Pennsylvania Avenue NW
        after_code = m is not None and m.re is not DIRECTION_RE
        if not m and comma:
            m = ZIP_ALONE_RE.match(text, pos)
            after_code = m is not None
            if not m:
                t = TOWN_RE.match(text, pos)
                if t and all(_address_word_ok(w, town=True) for w in re.findall(r"[^\W\d_]+", t.group())) \
                        and len(t.group()) <= 40:
                    m = t
        if not m:
            break
        end = m.end()
    return end


def find_addresses(text: str, low: str, words: Set[str], numberish: bool, spans: list) -> None:
    """Append (start, end, "address", 5) for each address in `text`.

    `low` is `text` in lower case, `words` its lower-case words and `numberish` whether it holds a run of 5+
    digits (the pre-checks of `bot.privacy.redaction`).
    """
    has_digit = numberish or any(c.isdigit() for c in text)
    if not has_digit:
        return  # every address pattern holds a number
    # `keyword`: the message holds an address keyword (address, lives, zip, rue ...). It gates the
    # "address:"/"lives at" and "zip:"/"postcode:" searches below, whatever else matched (a street found
    # first must not switch the ZIP search off: "12 Harley Street, ZIP: 12345-6789").
    keyword = not ADDRESS_WORDS.isdisjoint(words)
    street_rx = []
    if not STREET_WORDS.isdisjoint(words):
        street_rx.append(STREET_RE)
    if keyword:
        street_rx += [STREET_FOREIGN_RE, PO_BOX_RE]
    if GERMAN_STREET_HINT.search(low):
        street_rx.append(STREET_GERMAN_RE)
    for rx in street_rx:
        for m in rx.finditer(text):
            if rx is STREET_RE:
                if not all(_address_word_ok(w, town=True) for w in m.group("words").split()):
                    continue
                suffix = m.group()[m.end("words") - m.start():].rstrip(".")
                if suffix in ("Dr", "St") and re.match(r"[ \t]+[A-Z][a-z]", text[m.end():]):
                    continue  # "3 Lines Dr Patel", "12 Market St Mary's"?: a title, not a street
            spans.append((m.start(), _extend_address(text, m.end()), "address", 5))
    for m in (ADDRESS_CONTEXT_RE.finditer(text) if keyword else ()):
        a = ADDRESS_START_RE.match(text, m.end())
        if not a:
            continue
        found = re.findall(r"[^\W\d_]+", a.group())
        if not found or not all(_address_word_ok(w) for w in found):
            continue
        spans.append((a.start(), _extend_address(text, a.end(), 5), "address", 5))
    if CAPDIGIT_RE.search(text):
        for m in UK_POSTCODE_RE.finditer(text):
            if m.group("area") in UK_AREAS and not m.group().endswith("PL"):
                spans.append((m.start(), m.end(), "address", 5))
        for m in CA_POSTCODE_RE.finditer(text):
            spans.append((m.start(), m.end(), "address", 5))
    if numberish:
        for m in STATE_ZIP_RE.finditer(text):
            spans.append((m.start("zip"), m.end("zip"), "address", 5))
    for m in (ZIP_CONTEXT_RE.finditer(text) if keyword else ()):
        if any(c.isdigit() for c in m.group("code")):
            spans.append((m.start("code"), m.end("code"), "address", 5))
