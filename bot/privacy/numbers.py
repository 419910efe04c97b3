"""Numbers that identify a patient: record numbers, phone numbers and dates of birth.

Each `find_*` appends (start, end, kind, priority) spans to a list; `bot.privacy.redaction` decides which
run (trigger words, a number-shaped run in the message) and merges the spans. Treatment dates, lab values,
durations and doses are left alone: a date is a date of birth only after a DOB keyword (or right after a
name, see `names`), a number is a record number after a record keyword or when it is shaped like one
(123-45-6789, #12345, A1234567, 7+ digits), and a phone number needs a phone shape or a phone keyword.

Imports: the standard library and `bot.privacy.patterns`. Never rasa, rasa_sdk, sanic or spaCy.
"""
from __future__ import annotations

import re

from .patterns import BARE_ID_RE, DOB_RE, PHONE_CAND_RE, PHONE_CONTEXT_RE, PHONE_EXT_RE, RECORD_RE


def find_phones(text: str, spans: list) -> None:
    """Phone-shaped numbers (07700 900123, (212) 555-0187, +44 20 7946 0958), or 7-15 digits after a phone
    keyword (tel, mobile, call ...), with any extension after them."""
    for m in PHONE_CAND_RE.finditer(text):
        start, end = m.start(), m.end()
        cand = m.group()
        # drop a trailing 1-2 digit group followed by a word: "07700 900123 2 prior lines", "... 24 months"
        g = re.search(r"[ \t.\-]+\(?\d{1,2}\)?$", cand)
        if g and re.match(r"[ \t]+[^\W\d_]", text[end:end + 3]):
            cand = cand[:g.start()]
            end = start + len(cand)
        digits = re.sub(r"\D", "", cand)
        groups = re.findall(r"\d+", cand)
        ctx = PHONE_CONTEXT_RE.search(text[max(0, start - 24):start]) is not None
        ok = False
        if ctx and 7 <= len(digits) <= 15:
            ok = True
        elif cand.startswith("+") or cand.startswith("(+"):
            ok = 8 <= len(digits) <= 15 and len(groups) >= 2 or 10 <= len(digits) <= 15
        elif digits.startswith("00"):
            ok = 11 <= len(digits) <= 16 and len(groups) >= 2
        elif digits.startswith("0"):
            ok = 10 <= len(digits) <= 11 and (len(groups) >= 2 or len(groups) == 1)
        else:
            sizes = [len(g) for g in groups]
            ok = sizes in ([3, 3, 4], [1, 3, 3, 4]) and (sizes[0] != 1 or digits[0] == "1")
        if not ok:
            continue
        e = PHONE_EXT_RE.match(text, end)
        if e:
            end = e.end()
        spans.append((start, end, "phone", 4))


def find_records(text: str, spans: list) -> None:
    """The identifier after a record keyword (MRN, NHS no, hospital number, SSN ...) when it has 3+ digits."""
    for m in RECORD_RE.finditer(text):
        ident = m.group("id")
        if sum(c.isdigit() for c in ident) >= 3:
            spans.append((m.start("id"), m.end("id"), "record_number", 1))


def find_bare_numbers(text: str, spans: list) -> None:
    """Record numbers without a keyword: SSN-like, #12345, A1234567, 7+ digits."""
    for m in BARE_ID_RE.finditer(text):
        spans.append((m.start(), m.end(), "record_number", 5))


def find_dobs(text: str, spans: list) -> None:
    """The date after a date-of-birth keyword (DOB, D.O.B., born, date of birth, YOB ...)."""
    for m in DOB_RE.finditer(text):
        spans.append((m.start("date"), m.end("date"), "date_of_birth", 2))


def plausible_birth_year(date: str) -> bool:
    """A date whose year (if it has four digits) a living patient may have been born in."""
    years = re.findall(r"\d{4}", date)
    if not years:
        return True  # two-digit year
    return 1890 <= int(years[-1]) <= 2012
