"""Lab values told as a table (issue 20, the relapse now): a paraprotein row read against the time columns of its
header ("Now  Prev", "Today  3 mo ago", "Baseline  Now", "Jul  Sep  Nov", "01/2025  07/2025"), each value taken in the
column it stands under. A rise from the earliest column to the latest is a biochemical relapse sign; dates whose day
and month cannot be told apart ("11/02/26") give no reading.

Layer: may import the standard library.
"""
from __future__ import annotations

import re
from typing import List, Optional, Tuple

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_TIME = re.compile(
    r"(?P<now>\b(?:now|today|current|latest)\b)|(?P<ago>\b(?P<n>\d{1,2})\s*(?:mo|mos|months?|wks?|weeks?)\s+ago\b)|"
    r"(?P<prev>\b(?:prev|previous|prior|before|baseline)\b)|"
    r"(?P<my>(?<![\d/])(?P<m1>\d{1,2})/(?P<y1>(?:19|20)\d\d)(?![\d/]))|"
    r"(?P<dmy>(?<![\d/])(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y2>\d{2}|\d{4})(?![\d/]))|"
    r"(?P<mon>\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b)", re.I)
_ROW = re.compile(r"^\s*(?P<label>(?:serum\s+)?(?:paraprotein|para-protein|M[\s-]?protein|M[\s-]?spike|"
                  r"monoclonal\s+protein|Ig[AGM](?:[\s-]*(?:kappa|lambda|k|l))?|(?:kappa|lambda|involved)\s+(?:s?FLC|"
                  r"free\s+light\s+chains?|light\s+chains?)|[kl]FLC|s?FLC)(?:\s*\([^()\n]{0,12}\))?)(?=\s)", re.I)
_VALUE = re.compile(r"(?<![\w./-])\d+(?:\.\d+)?(?![\w/]|[.-]\d)")


def _times(line: str) -> Optional[List[Tuple[int, float]]]:
    """(column, time) of each time heading of a header line, or None when it is no header or its dates are
    ambiguous. Times only need to sort: now is latest, "3 mo ago" before it, "prev"/"baseline" before that."""
    found = []
    dmy = []
    for m in _TIME.finditer(line):
        if m.group("now"):
            t = 1e9
        elif m.group("ago"):
            t = 1e9 - int(m.group("n"))
        elif m.group("prev"):
            t = 1e9 - 1000
        elif m.group("my"):
            t = int(m.group("y1")) * 12 + int(m.group("m1"))
        elif m.group("mon"):
            t = _MONTHS.index(m.group("mon")[:3].lower())
        else:
            a, b, y = int(m.group("a")), int(m.group("b")), int(m.group("y2")[-2:])
            dmy.append((m.start(), a, b, y))
            continue
        found.append((m.start(), float(t)))
    if dmy:
        if found:
            return None
        readings = []
        for day_first in (True, False):
            if all((b if day_first else a) <= 12 and (a if day_first else b) <= 31 for _, a, b, _y in dmy):
                readings.append([(c, float(y * 400 + (b if day_first else a) * 32 + (a if day_first else b)))
                                 for c, a, b, y in dmy])
        orders = {tuple(sorted(range(len(r)), key=lambda i, r=r: r[i][1])) for r in readings}
        if len(orders) != 1:
            return None  # "11/02/26 08/03/26": day and month cannot be told apart, nor the order of the columns
        found = readings[0]
    return found if len(found) >= 2 else None


def lab_tables(text: str, out: List[dict]) -> List[dict]:
    """A paraprotein row of a lab table that rises from its earliest column to its latest (by at least a quarter,
    or from zero) is a biochemical relapse sign (never replacing a stated type or CRAB wording: `_sign`)."""
    if any(e["entity"] == "relapse" and e.get("value") == "biochemical" for e in out):
        return out
    lines, pos = [], 0
    for line in text.split("\n"):
        lines.append((pos, line))
        pos += len(line) + 1
    for i, (_, header) in enumerate(lines):
        times = _times(header) if not _ROW.match(header) else None
        if not times:
            continue
        for start, row in lines[i + 1:i + 12]:
            if not row.strip():
                break
            m = _ROW.match(row)
            if not m:
                continue
            values = {}
            for v in _VALUE.finditer(row, m.end()):
                col, t = min(times, key=lambda ct, v=v: abs(ct[0] - v.start()))
                if abs(col - v.start()) <= 8 and t not in values:
                    values[t] = float(v.group(0))
            if len(values) < 2:
                continue
            first, last = values[min(values)], values[max(values)]
            if last > first and (first == 0 or last >= 1.25 * first):
                out.append({"entity": "relapse", "value": "biochemical", "_sign": True,
                            "start": start + m.start("label"), "end": start + m.end("label")})
                return out
    return out
