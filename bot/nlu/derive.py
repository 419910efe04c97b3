"""Facts derived from the whole message once the names have their roles (clinical-spec section 9): the relapse type
from CRAB wording, named refractory states, the region, bare corrections of a number, remission after a transplant
stated apart from it (the number of prior lines from the regimens named is `lines`).

Each function takes the message (as the rules read it) and the entities found so far, and returns the entities
to keep. Entities are dicts {"entity", "value", "start", "end", "role"?} with private keys ("_sign", "_named")
that `pipeline.finish` removes.

Layer: may import the standard library, `bot.clinical` and the modules of this package.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import List, Optional, Tuple

from .lexicon import DURATION_NUM, to_float, to_int

REGIONS_FILE = Path(__file__).with_name("regions.json")


# ---- the relapse type ------------------------------------------------------------------------------------------
def resolve_relapse(ents: List[dict]) -> List[dict]:
    """A relapse type stated in words wins over CRAB wording, which wins over a rising paraprotein (the signs:
    entities marked "_sign"); of the signs only the strongest is kept, with role "sign"."""
    stated = [e for e in ents if e["entity"] == "relapse" and not e.get("_sign")]
    signs = [e for e in ents if e["entity"] == "relapse" and e.get("_sign")]
    if not signs:
        return ents
    keep = None
    present = [e for e in signs if e.get("role") is None]
    if not stated and present:
        clinical = [e for e in present if e["value"] == "clinical"]
        keep = (clinical or present)[0]
        keep["role"] = "sign"
    return [e for e in ents if not e.get("_sign") or e is keep]


# ---- refractory states named instead of the drugs -------------------------------------------------------------
PENTA = ("bortezomib", "carfilzomib", "lenalidomide", "pomalidomide")
STATE_RE = re.compile(
    r"(?<![\w-])(?:(?P<penta>penta)[\s-]*(?:drug[\s-]*|class[\s-]*)?(?:refractory|refr\.?|ref)"
    r"|(?P<quad>quad(?:ruple)?)[\s-]*(?:drug[\s-]*)?(?:refractory|refr\.?|ref)"
    r"|(?P<triple>triple[\s-]*class|triple|3[\s-]*class)[\s-]*(?:refractory|refr\.?|ref)|(?P<tcr>TCR)"
    r"|(?P<double>double|dual|2[\s-]*class)[\s-]*(?:class[\s-]*)?(?:refractory|refr\.?|ref)"
    r"|(?P<triple2>(?:refractory|refr\.?)\s+to\s+(?:an?\s+)?IMiDs?\s*,\s*(?:an?\s+)?PIs?\s*,?\s*(?:and|\+|&)\s*"
    r"(?:an?\s+)?(?:anti[\s-]?CD38|CD38)(?:\s+(?:mAbs?|antibod(?:y|ies)))?)"
    r"|(?P<double2>(?:refractory|refr\.?)\s+to\s+(?:both\s+)?(?:an?\s+)?IMiDs?\s*(?:and|\+|&)\s*(?:an?\s+)?PIs?))"
    r"(?![\w-])", re.I)


def refractory_states(text: str, ents: List[dict]) -> List[dict]:
    """Penta- and quad-refractory are their drugs (penta: daratumumab unless isatuximab is named); triple-class or
    double-refractory with no drug named as refractory is a `refractory_class` entity (the intake asks which)."""
    out = list(ents)
    refractory = [e for e in ents if e["entity"] == "drug" and e.get("role") == "refractory"]
    taken = [(e["start"], e["end"]) for e in ents]
    for m in STATE_RE.finditer(text):
        s, e = m.span()
        if m.group("tcr") and not re.fullmatch("TCR", m.group("tcr")):
            continue
        if not all(e <= a or s >= b for a, b in taken):
            continue
        if m.group("penta") or m.group("quad"):
            drugs = list(PENTA)
            if m.group("penta"):
                isa = any(x["entity"] == "drug" and x["value"] == "isatuximab" and x.get("role") in (None, "refractory")
                          for x in ents)
                drugs.append("isatuximab" if isa else "daratumumab")
            for d in drugs:
                out.append({"entity": "drug", "value": d, "role": "refractory", "start": s, "end": e, "_state": True})
        elif not refractory:
            value = "double" if (m.group("double") or m.group("double2")) else "triple_class"
            out.append({"entity": "refractory_class", "value": value, "start": s, "end": e})
    return out


# ---- region ------------------------------------------------------------------------------------------------------
def _place(name: str) -> str:
    """A place name as a pattern: any spaces between its words, "St." with or without its dot ("st louis")."""
    return re.sub(r"^St\\\.\\s\+", r"St\\.?\\s*", re.escape(name).replace("\\ ", "\\s+"))


class Regions:
    """Places that say whose labels apply: EU member states (and their adjectives) -> EU; the US and its states ->
    US. Other countries give nothing (the deployment's default applies)."""

    def __init__(self, path: Path = REGIONS_FILE) -> None:
        data = json.loads(path.read_text(encoding="utf-8"))
        self.patterns: List[Tuple[re.Pattern, str]] = []
        for region in ("EU", "US"):
            spec = data[region]
            if spec.get("words"):
                self.patterns.append((re.compile(r"(?<![\w-])(?:" + "|".join(
                    re.escape(w) for w in sorted(spec["words"], key=len, reverse=True)) + r")(?![\w-])", re.I), region))
            never = {w for r in ("EU", "US") for w in data[r].get("lower_case_never", [])}
            lower = [w for w in spec.get("cased", []) if len(w) >= 4 and w.isalpha() or " " in w]
            lower = [w for w in lower if w not in never] + list(spec.get("cities", []))
            if lower:  # places in any case ("from phoenix arizona", "from ohio", "st louis": typed in a hurry)
                self.patterns.append((re.compile(r"(?<![\w.-])(?:" + "|".join(
                    _place(w) for w in sorted(lower, key=len, reverse=True)) + r")(?![\w-])", re.I), region))
            if spec.get("codes"):
                self.patterns.append((re.compile("|".join(re.escape(c) for c in spec["codes"])), region))
            if spec.get("state_codes"):  # "Houston, TX"; "Mesa AZ" (a capitalised place, an unambiguous code)
                codes = spec["state_codes"]
                loose = [c for c in codes if c not in spec.get("state_codes_comma_only", [])]
                self.patterns.append((re.compile(r"(?<=[a-z]),\s?(?:" + "|".join(codes) +
                                                 r")(?![\w-])(?!\s*\d)"), region))
                self.patterns.append((re.compile(r"\b[A-Z][a-z]{2,}\s(?:" + "|".join(loose) +
                                                 r")(?![\w-])(?!\s*\d)"), region))
            if spec.get("cased"):
                self.patterns.append((re.compile(r"(?<![\w.-])(?:" + "|".join(
                    re.escape(w) for w in sorted(spec["cased"], key=len, reverse=True)) + r")(?![\w-])"), region))

    def find(self, text: str, ents: List[dict]) -> List[dict]:
        taken = [(e["start"], e["end"]) for e in ents]
        found = []
        for pattern, region in self.patterns:
            for m in pattern.finditer(text):
                s, e = m.span()
                if all(e <= a or s >= b for a, b in taken):
                    found.append({"entity": "region", "value": region, "start": s, "end": e})
                    taken.append((s, e))
        return ents + found


# ---- a bare corrected number: "2 prior lines - sorry, 3" --------------------------------------------------------
CORRECTION_NUMBER = re.compile(
    r"(?:\b(?:sorry|i\s+mean|i\s+meant|make\s+that|no\s+wait|wait|or\s+rather|correction|actually|typo|"
    r"(?:scratch|strike|delete)\s+that)|\bno\s*(?=[,.…:;-]))"
    r"\s*[,.…:;-]*\s*(?:(?:it's|it\s+is|it\s+was|only|just)\s+)?"
    r"(?P<v>\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten)\b(?!\s*(?:[a-zA-Z(%/]|-[a-zA-Z]))", re.I)
NUMERIC = ("prior_lines", "rmci", "prior_auto_hct", "age")


def corrected_numbers(text: str, ents: List[dict]) -> List[dict]:
    out = list(ents)
    for m in CORRECTION_NUMBER.finditer(text):
        before = [e for e in ents if e["entity"] in NUMERIC and e["end"] <= m.start() and m.start() - e["end"] < 30]
        if not before:
            continue
        v = to_int(m.group("v"))
        prev = before[-1]
        if v is not None:
            out.append({"entity": prev["entity"], "value": v, "start": m.start("v"), "end": m.end("v")})
    return out


# ---- remission after a transplant, stated apart from it ---------------------------------------------------------
REMISSION_RE = re.compile(
    r"(?<![\w-])(?P<s>(?:remission|response|PFS)\s*(?:of|lasting|lasted|was|for|:|=)?\s*(?:about|around|approx\.?|"
    r"approximately|~|only|just)?\s*(?P<n>" + DURATION_NUM + r")\s*-?\s*"
    r"(?P<u>months?|mos?|mths?|mnths?|m|years?|yrs?|y))"
    r"(?![\w])", re.I)


AFTER_REF_RE = re.compile(
    r"(?<![\w-])(?:relapsed?|relapsing|progressed|progression|PD|recurrence|recurred)\s+(?:at\s+|about\s+|around\s+|"
    r"only\s+|just\s+|approximately\s+)?(?P<s>(?P<n>" + DURATION_NUM +
    r")\s*-?\s*(?P<u>months?|mos?|mths?|mnths?|years?|yrs?))"
    r"\s+(?:after|post|following|from)\s+(?:(?:the|his|her)\s+)?(?P<ref>it|that|this|(?:second|2nd|latter|last)"
    r"(?:\s+one)?)(?![\w-])", re.I)


def _after_reference(text: str, ents: List[dict]) -> Optional[dict]:
    """'tandem ASCT, relapsed 15 months after the second', 'autograft in 2019 and relapsed 26 months after it', or the
    answer 'relapsed 26 months after it' to the transplant question (no other treatment named): the remission."""
    therapies = [e for e in ents if e["entity"] in ("drug", "regimen", "prior_auto_hct")]
    taken = [(e["start"], e["end"]) for e in ents]
    for m in AFTER_REF_RE.finditer(text):
        s, e = m.span("s")
        if not all(e <= a or s >= b for a, b in taken):
            continue
        before = [t for t in therapies if t["end"] <= m.start()]
        transplants = [t for t in before if t["entity"] == "prior_auto_hct" and isinstance(t["value"], int)]
        ref = m.group("ref").lower()
        if ref in ("it", "that", "this"):
            nearest = max(before, key=lambda t: t["end"]) if before else None
            ok = not therapies or (nearest is not None and nearest["entity"] == "prior_auto_hct"
                                   and nearest["value"] >= 1)
        else:
            ok = any(t["value"] >= 2 for t in transplants)
        n = to_float(m.group("n"))
        if ok and n is not None:
            months = int(round(n * 12)) if m.group("u").lower().startswith("y") else int(round(n))
            return {"entity": "months_remission_after_hct", "value": months, "start": s, "end": e}
    return None


def remission_after_transplant(text: str, ents: List[dict]) -> List[dict]:
    """'ASCT as part of first line ..., remission 5 yrs': with a prior autologous transplant in the message and no
    remission read yet, a remission stated anywhere is the one after the transplant; a relapse dated after "it" or
    "the second" (`_after_reference`)."""
    if any(e["entity"] == "months_remission_after_hct" for e in ents):
        return ents
    found = _after_reference(text, ents)
    if found:
        return ents + [found]
    if not any(e["entity"] == "prior_auto_hct" and isinstance(e["value"], int) and e["value"] >= 1 for e in ents):
        return ents
    taken = [(e["start"], e["end"]) for e in ents]
    for m in REMISSION_RE.finditer(text):
        s, e = m.span("s")
        if not all(e <= a or s >= b for a, b in taken):
            continue
        n = to_float(m.group("n"))
        if n is None:
            continue
        months = int(round(n * 12)) if m.group("u").lower().startswith("y") else int(round(n))
        return ents + [{"entity": "months_remission_after_hct", "value": months, "start": s, "end": e}]
    return ents


# ---- "relapsed 20 months after stopping" (lenalidomide stopped in the sentence before) ---------------------------
AFTER_STOPPING_RE = re.compile(
    r"(?<![\w-])(?:relapsed?|relapsing|progressed|progression|PD|recurrence)\s+(?:about\s+|around\s+|only\s+|just\s+)?"
    r"(?P<s>(?P<n>" + DURATION_NUM + r")\s*-?\s*(?P<u>days?|weeks?|wks?|months?|mos?|mths?|years?|yrs?))\s+"
    r"(?:after|since|from)\s+(?:stopping|discontinuing|coming\s+off|finishing|completing|ceasing)"
    r"(?:\s+(?:it|that|treatment|therapy|maintenance|maint))?(?=\s*(?:[.,;)]|$))", re.I)
STOP_WORDS_RE = re.compile(r"\b(?:stopped|discontinued|ceased|finished|completed|came\s+off|held)\b", re.I)


def relapse_after_stopping(text: str, ents: List[dict]) -> List[dict]:
    """'lenalidomide maintenance stopped after 2 years. Relapsed 20 months after stopping.': the time from the last
    lenalidomide dose, when the last stop named before is lenalidomide's."""
    if any(e["entity"] == "days_since_last_lenalidomide" for e in ents):
        return ents
    for m in AFTER_STOPPING_RE.finditer(text):
        stops = list(STOP_WORDS_RE.finditer(text, max(0, m.start() - 200), m.start()))
        if not stops:
            continue
        stop = stops[-1]
        near = [e for e in ents if e["entity"] == "drug" and e["value"] != "dexamethasone"
                and stop.start() - 60 <= e["end"] <= stop.start()
                and not re.search(r"[.;]", text[e["end"]:stop.start()])]
        if not near or max(near, key=lambda e: e["end"])["value"] != "lenalidomide":
            continue
        n = to_float(m.group("n"))
        if n is None:
            continue
        u = m.group("u").lower()
        per = 365 if u.startswith("y") else 30 if u.startswith("m") else 7 if u.startswith("w") else 1
        days = int(round(n * per))
        s, e = m.span("s")
        return ents + [{"entity": "days_since_last_lenalidomide", "value": days, "start": s, "end": e}]
    return ents
