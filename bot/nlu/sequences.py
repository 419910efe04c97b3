"""Readings of a told sequence of therapies that decide which regimen a progression is said of (used by
`heuristics.progressed_on`): a maintenance after a transplant, progression in the present right after a regimen, and
progression after the therapy had ended.

Layer: may import the standard library.
"""
from __future__ import annotations

import re
from typing import Callable, List

# "-> isatuximab-pomalidomide-dex, progressing now on paraprotein only": progression in the present, said right after
# the regimen (not "off therapy"), is progression on it
PROGRESSING_NOW_RE = re.compile(
    r"^\s*(?:\([^()]{0,40}\)\s*)?[,-]\s*(?:(?:and|but|is|are|now|currently|again|already|clearly)\s+)*"
    r"(?:progressing|relapsing|failing)\b(?![^,;.()]{0,30}\b(?:off|after\s+(?:stopping|finishing|completing)))", re.I)
OFF_AFTER_RE = re.compile(r"^[^,;.()\n]{0,25}?\b(?:off\s+(?:tx|therapy|treatment|drug|all\s+therapy)|"
                          r"after\s+(?:stopping|completing|finishing)|(?:while\s+)?(?:on\s+)?(?:a\s+)?treatment[\s-]free)",
                          re.I)
MAINT_NEXT_RE = re.compile(r"^\s*(?:-\s*)?(?:maintenance|maint\b\.?)", re.I)


def plan_tail(items: List[int], is_transplant: Callable[[int], bool]) -> List[int]:
    """The items of a plan that progression said after it reaches: a maintenance ("VRd/ASCT/R maint (PD on R)",
    "R maint -> PD") is the therapy the disease progressed on, not the induction before it (the caller passes the
    maintenance's own drugs then); items before a transplant of the list ("VRd-ASCT-len ...") were induction, finished
    before any progression told after the list."""
    cut = [j for j in items if is_transplant(j)]
    return [j for j in items if j > max(cut)] if cut else items
