"""Laboratory results laid out as a table or a dated series: a paraprotein or light chain level that rises over time
is a biochemical relapse sign (role `sign`), as "M-spike went 0.6 -> 1.8" is (`readings.paraprotein_numbers`).

Clinicians paste results as they come from the laboratory system; the order of time is in the layout, not in words:
- a row of values under a header of times ("Jul  Sep  Nov", "Today  3 mo ago", "Result ... 3 mo ago"): each value
  belongs to the time written above it (the same column of characters);
- a column under a header that names the protein, one row per date ("Date  kFLC mg/L ...", "01/2024  18 ...");
- a series on one line, each value with its date ("M-spike: 09/2024 0.3 | 12/2024 0.9", "0.4 (05/2026) -> 1.3 g/dL
  (11/2026)");
- one value with an earlier one in brackets ("88.0 mg/dL H [6.2 in 08/2026]", "1.9 g/dL (0.7 in June)").
The values are put in the order of their times; a rise is the latest at least 25% above the earliest (and a rise
called rapid on its line is also the aggressive feature `m_protein_rising`). Times that
cannot be ordered for sure (day/month or month/day, months that wrap a year) give nothing: no guess.

Layer: may import the standard library only.
"""
from __future__ import annotations

import re
from typing import List, Optional, Tuple

PROTEIN = (r"(?:para-?protein|M[\s-]?protein|M[\s-]?spike|monoclonal\s+protein|componente\s+M|M[\s-]?component"
           r"|(?:serum\s+)?(?:free\s+)?(?:kappa|lambda|involved)(?:\s+(?:s?FLC|free\s+light\s+chains?|light\s+chains?))?"
           r"|[kl]FLC|s?FLC|Ig[AGM])")
LABEL_RE = re.compile(rf"^\s*(?:serum\s+)?{PROTEIN}(?:\s*\([^)\n]*\))?(?=[\s:]|$)", re.I)
HEAD_PROTEIN_RE = re.compile(rf"(?<![\w/]){PROTEIN}(?![\w/])", re.I)
# a protein followed by its values (a series inside a line: "SPEP: M-spike 0.0 (2024) -> 0.4 (05/2026)")
INLINE_RE = re.compile(rf"(?<![\w/]){PROTEIN}(?:\s*\([^)\n]*\))?\s*:?\s*(?=\d)", re.I)
NUMBER_RE = re.compile(r"(?<![\w./<>-])(\d+(?:\.\d+)?)(?![\w./-]*\d)(?!\s*-\s*\d)")
MONTHS = {m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                          "dec"))}
TIME_RE = re.compile(
    r"(?i)(?<![\w/])(?:(?P<my>\d{1,2}/(?:19|20)\d\d)|(?P<ym>(?:19|20)\d\d-\d{2}(?:-\d{2})?)|(?P<dmy>\d{1,2}/\d{1,2}/\d{2,4})"
    r"|(?P<y>(?:19|20)\d\d)|(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
    r"|(?P<now>today|now|current|result|latest)|(?P<ago>\d+\s*(?:mo|mos|months?|wks?|weeks?)\s+ago)"
    r"|(?P<prev>prev(?:ious)?|prior|earlier|before)|(?P<base>baseline))"
    r"(?![\w/])")
RISE = 1.25
# the rise called rapid on the same line ("... 2.1 | 3.6  <- rapidly rising"): the aggressive feature too
RAPID_RE = re.compile(r"(?i)\b(?:rapid(?:ly)?|fast|quick(?:ly)?|steep(?:ly)?|sharp(?:ly)?)\b"
                      r"(?:\s+(?:rising|rise|increasing|climbing))?")


def _key(m: re.Match) -> Optional[Tuple[str, float]]:
    """(kind, sortable time) of a time token; kinds must agree to be compared."""
    if m.group("my"):
        mo, y = m.group("my").split("/")
        return "date", int(y) * 12 + int(mo)
    if m.group("ym"):
        y, mo = m.group("ym").split("-")[:2]
        return "date", int(y) * 12 + int(mo)
    if m.group("dmy"):
        return "dmy", 0.0  # day/month or month/day: resolved by `_order`
    if m.group("y"):
        return "year", int(m.group("y")) * 12
    if m.group("mon"):
        return "month", MONTHS[m.group("mon")[:3].lower()]
    if m.group("now"):
        return "rel", 0.0
    if m.group("prev"):
        return "rel", -1.0
    if m.group("ago"):
        n = int(re.match(r"\d+", m.group("ago")).group(0))
        return "rel", -n * (0.25 if "w" in m.group("ago").lower() else 1.0)
    return "rel", -1e6  # baseline


def _order(times: List[re.Match]) -> Optional[List[float]]:
    """Sortable times of the tokens, or None when they cannot be ordered for sure."""
    keys = [_key(t) for t in times]
    kinds = {k for k, _ in keys}
    if kinds <= {"date", "year"}:
        return [v for _, v in keys]
    if kinds == {"rel"}:
        return [v for _, v in keys]
    if kinds == {"month"}:
        values = [v for _, v in keys]
        return values if values == sorted(values) else None  # months that wrap a year: no guess
    if kinds == {"dmy"}:
        parts = [[int(x) for x in t.group(0).split("/")] for t in times]
        year = [p[2] + (2000 if p[2] < 100 else 0) for p in parts]
        as_dm = [y * 400 + p[1] * 32 + p[0] for y, p in zip(year, parts, strict=True)]
        as_md = [y * 400 + p[0] * 32 + p[1] for y, p in zip(year, parts, strict=True)]
        valid_dm = all(p[1] <= 12 for p in parts)
        valid_md = all(p[0] <= 12 for p in parts)
        if valid_dm and valid_md and _rank(as_dm) != _rank(as_md):
            return None
        return as_dm if valid_dm else as_md if valid_md else None
    return None


def _rank(xs: List[int]) -> List[int]:
    return sorted(range(len(xs)), key=xs.__getitem__)


def _rises(pairs: List[Tuple[float, float]]) -> Optional[bool]:
    """Values in time order: True when the latest is a rise over the earliest, False when not."""
    if len(pairs) < 2 or len({t for t, _ in pairs}) < len(pairs):
        return None
    ordered = [v for _, v in sorted(pairs)]
    return ordered[-1] >= ordered[0] * RISE and ordered[-1] > ordered[0]


def _numbers(line: str, start: int = 0) -> List[Tuple[int, float]]:
    return [(m.start(1), float(m.group(1))) for m in NUMBER_RE.finditer(line, start)]


def _row_under_header(lines: List[str], i: int) -> Optional[bool]:
    """A protein row (lines[i]) read under the nearest header of times above it, value by column."""
    for j in range(i - 1, max(-1, i - 10), -1):
        times = [t for t in TIME_RE.finditer(lines[j]) if t.start() > 0 or not LABEL_RE.match(lines[j])]
        if len(times) >= 2:
            order = _order(times)
            if order is None:
                return None
            nums = _numbers(lines[i], LABEL_RE.match(lines[i]).end())
            pairs = []
            for t, key in zip(times, order, strict=True):
                near = [(abs(col - t.start()), v) for col, v in nums if abs(col - t.start()) <= 4]
                if near:
                    pairs.append((key, min(near)[1]))
            return _rises(pairs) if len(pairs) == len(times) else None
        if not lines[j].strip():
            return None
    return None


def _column_by_dates(lines: List[str], i: int) -> List[bool]:
    """A header naming proteins (lines[i]) over rows that each open with a date."""
    out = []
    heads = [h for h in HEAD_PROTEIN_RE.finditer(lines[i])]
    for h in heads:
        pairs = []
        times = []
        for row in lines[i + 1:]:
            t = TIME_RE.match(row.strip() and row or "")
            if not t or t.start() != 0:
                break
            nums = [(abs(col - h.start()), v) for col, v in _numbers(row, t.end()) if abs(col - h.start()) <= 4]
            if not nums:
                break
            times.append(t)
            pairs.append(min(nums)[1])
        order = _order(times) if len(times) >= 2 else None
        if order is not None:
            rise = _rises(list(zip(order, pairs, strict=True)))
            if rise is not None:
                out.append(rise)
    return out


SERIES_RE = re.compile(
    r"(?i)(?<![\w/-])(?P<t1>\d{1,2}/(?:19|20)\d\d|(?:19|20)\d\d-\d{2})(?![\d/-])\s*:?\s*(?P<v1>\d+(?:\.\d+)?)(?![\d/.-])"
    r"|(?<![\w.])(?P<v2>\d+(?:\.\d+)?)\s*(?:[a-z]+/[a-z]+\s*)?\((?P<t2>\d{1,2}/(?:19|20)\d\d|(?:19|20)\d\d)\)")
EARLIER_RE = re.compile(
    r"(?i)[(\[]\s*(?:was\s+)?(?P<v>\d+(?:\.\d+)?)\s*(?:[a-z]+/[a-z]+\s*)?(?:in|on|at)\s+[\w/ ]{2,12}[)\]]")


def _series(line: str) -> Optional[bool]:
    """A protein with its values and dates on one line, or one value with an earlier one in brackets."""
    label = LABEL_RE.match(line)
    start = label.end() if label else 0
    pairs = []
    for m in SERIES_RE.finditer(line, start):
        t = TIME_RE.match(m.group("t1") or m.group("t2"))
        key = _key(t) if t else None
        if key and key[0] in ("date", "year"):
            pairs.append((key[1], float(m.group("v1") or m.group("v2"))))
    if len(pairs) >= 2:
        return _rises(pairs)
    earlier = EARLIER_RE.search(line, start)
    nums = _numbers(line, start)
    if label and earlier and nums and nums[0][0] < earlier.start():
        return _rises([(0.0, float(earlier.group("v"))), (1.0, nums[0][1])])
    return None


def table_trends(text: str, out: List[dict]) -> List[dict]:
    """A rise of a paraprotein told by the layout of laboratory results is a biochemical relapse sign (never
    replacing a stated type or CRAB wording: `derive.resolve_relapse` ranks the signs)."""
    if any(e["entity"] == "relapse" and e["value"] == "biochemical" for e in out):
        return out
    if any(e["entity"] == "aggressive_feature" and e["value"] == "extramedullary" and e.get("role") is None
           for e in out):
        return out  # extramedullary disease is a clinical relapse (the intake), above a paraprotein rise
    lines = text.split("\n")
    offsets = [0]
    for line in lines[:-1]:
        offsets.append(offsets[-1] + len(line) + 1)
    for i, line in enumerate(lines):
        rise = None
        if LABEL_RE.match(line):
            rise = _row_under_header(lines, i)
            if rise is None:
                rise = _series(line)
        elif re.match(r"(?i)\s*(?:date|month|time)\b", line):
            rise = True if any(_column_by_dates(lines, i)) else None
        elif INLINE_RE.search(line):
            rise = _series(line[INLINE_RE.search(line).start():])
        if rise:
            name = LABEL_RE.match(line) or INLINE_RE.search(line) or HEAD_PROTEIN_RE.search(line)
            s, e = (name.start(), name.end()) if name else (0, len(line))
            s += len(line[s:e]) - len(line[s:e].lstrip())
            out.append({"entity": "relapse", "value": "biochemical", "_sign": True, "start": offsets[i] + s,
                        "end": offsets[i] + e})
            rapid = RAPID_RE.search(line, e)
            if rapid and not any(o["entity"] == "aggressive_feature" and o["value"] == "m_protein_rising" for o in out):
                out.append({"entity": "aggressive_feature", "value": "m_protein_rising",
                            "start": offsets[i] + rapid.start(), "end": offsets[i] + rapid.end()})
            break
    return out
