"""Facts derived from the whole message once the names have their roles (clinical-spec section 9): the number of
prior lines from a named list of regimens, the relapse type from CRAB wording, named refractory states, the
region, bare corrections of a number, remission after a transplant stated apart from it.

Each function takes the message (as the rules read it) and the entities found so far, and returns the entities
to keep. Entities are dicts {"entity", "value", "start", "end", "role"?} with private keys ("_sign", "_named")
that `pipeline.finish` removes.

Layer: may import the standard library, `bot.clinical` and the modules of this package.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, FrozenSet, List, Optional, Set, Tuple

from .lexicon import DURATION_NUM, to_float, to_int

REGIONS_FILE = Path(__file__).with_name("regions.json")

# ---- prior lines from a list of regimens (IMWG: one plan = one line) ---------------------------------------------
# a one-drug therapy that is a line by itself
SINGLE_AGENT_LINES = frozenset({"teclistamab", "elranatamab", "talquetamab", "linvoseltamab", "cilta-cel", "ide-cel",
                                "belantamab"})
MAINT_AFTER = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*mg\s+)?(?:(?:low[\s-]dose|single[\s-]agent)\s+)?maint(?:enance)?\b",
                         re.I)
MAINT_BEFORE = re.compile(r"\bmaint(?:enance)?\.?\s+(?:with|on|of)?\s*(?:(?:low[\s-]dose|single[\s-]agent)\s+)?$", re.I)
CONSOL_AFTER = re.compile(r"^\s*(?:x\s*\d+\s*(?:cycles?\s+)?)?(?:consolidation|consol\.?)\b", re.I)
CONSOL_BEFORE = re.compile(r"\b(?:consolidation|consolidated)\s+(?:with\s+)?$", re.I)
INDUCTION_AFTER = re.compile(r"^\s*(?:x\s*\d+\s*(?:cycles?\s+)?)?induction\b", re.I)
RESTART_AFTER = re.compile(
    r"^\s*(?:was\s+|were\s+)?(?:re-?started|re-?challenged|re-?introduced|re-?treated|resumed)\b", re.I)
RESTART_BEFORE = re.compile(r"\b(?:re-?started|re-?challenged\s+with|re-?treated\s+with|re-?treatment\s+with|"
                            r"re-?introduced|resumed)\s+(?:on\s+)?$", re.I)
SEQUENCE_MARK = re.compile(r"\bthen\b|->|=>|→|\bfollowed\s+by\b|\bswitched\s+to\b|\bnext\b|;|(?:^|\s|\()\d\)|"
                           r"\brelapsed?\b|\bprogress(?:ed|ion)\b|\bPD\b", re.I)


@dataclass
class _Item:
    start: int
    end: int
    kind: str  # "regimen", "transplant", "maintenance", "consolidation"
    key: FrozenSet[str] = frozenset()
    restart: bool = False
    induction: bool = False


@dataclass
class _Line:
    keys: Set[FrozenSet[str]] = field(default_factory=set)
    plan: bool = False  # a transplant, maintenance, consolidation or induction in it
    start: int = 0


def _therapy_items(text: str, ents: List[dict], components) -> List[_Item]:
    """The therapies the message names as given, in order: regimens (one span, or drugs joined by '-'/'+'),
    one-drug lines, transplants in the history, maintenance and consolidation. `components(code)`: the drugs of a
    catalog regimen."""
    by_span: Dict[Tuple[int, int], List[dict]] = {}
    for e in ents:
        if e["entity"] == "drug" and not e.get("_state"):
            by_span.setdefault((e["start"], e["end"]), []).append(e)
        elif e["entity"] == "regimen" and not e.get("role") and components(e["value"]):
            by_span.setdefault((e["start"], e["end"]), []).extend(
                {"entity": "drug", "value": d, "_named": False} for d in components(e["value"]))
    spans = sorted(by_span)
    # drugs written together ("lenalidomide-dex", "Sarclisa-Pomalyst", "pom + dara") are one regimen
    groups: List[List[Tuple[int, int]]] = []
    for sp in spans:
        if groups:
            prev = groups[-1][-1]
            if re.fullmatch(r"\s*\+\s*|-|[ \t]+", text[prev[1]:sp[0]]) and len(by_span[prev]) == 1 \
                    and len(by_span[sp]) == 1:
                groups[-1].append(sp)
                continue
        groups.append([sp])
    items: List[_Item] = []
    for g in groups:
        drugs = [e for sp in g for e in by_span[sp]]
        values = frozenset(e["value"] for e in drugs if e["value"] != "dexamethasone")
        roles = {e.get("role") for e in drugs}
        s, e = g[0][0], g[-1][1]
        if not values or roles & {"naive", "unavailable"}:
            continue
        after, before = text[e:e + 40], text[max(0, s - 40):s]
        kind = "regimen"
        if MAINT_AFTER.match(after) or MAINT_BEFORE.search(before):
            kind = "maintenance"
        elif CONSOL_AFTER.match(after) or CONSOL_BEFORE.search(before):
            kind = "consolidation"
        regimen = len(g) > 1 or len(drugs) > 1 or any(x.get("_named") is False for x in drugs)
        if kind == "regimen" and not (regimen or values & SINGLE_AGENT_LINES):
            continue  # a drug named alone is no line ("refractory to len, dara")
        if not roles & {"refractory", "exposed"} and not _in_sequence(text, s, e):
            continue
        restart = bool(RESTART_AFTER.match(after) or RESTART_BEFORE.search(before))
        items.append(_Item(s, e, kind, values, restart=restart, induction=bool(INDUCTION_AFTER.match(after))))
    for ent in ents:
        if ent["entity"] == "prior_auto_hct" and isinstance(ent["value"], int) and ent["value"] >= 1:
            items.append(_Item(ent["start"], ent["end"], "transplant"))
    return sorted(items, key=lambda i: i.start)


def _in_sequence(text: str, s: int, e: int) -> bool:
    """A regimen named without a status counts as given when the text around it is a treatment history."""
    window = text[max(0, s - 30):s] + " " + text[e:e + 30]
    return bool(SEQUENCE_MARK.search(window) or WITH_TRANSPLANT.match(text[e:e + 40]))


# a regimen joined to the transplant that followed it ("VCD-autograft 2019", "VRd + ASCT") was given
WITH_TRANSPLANT = re.compile(r"^\s*(?:[-+/,]|\band\b|\bthen\b|\bfollowed\s+by\b|->|→)\s*(?:an?\s+|single\s+|tandem\s+)?"
                             r"(?:auto\w*|ASCT|SCT|HCT|(?:stem[\s-]cell\s+)?transplant\w*)\b", re.I)


# the disease relapsing now, said apart from the regimen: "now relapsing", "she is progressing" (not "progressed
# on DRd", which names the regimen alone: the count is asked)
NOW_RELAPSE = re.compile(
    r"\b(?:now|currently)\b[^.;,]{0,20}\b(?:relaps|progress)|\b(?:relapsing|progressing|relapsed|progressed)\s+now\b|"
    r"\b(?:is|has|she's|he's|disease's)\s+(?:now\s+)?(?:relapsing|progressing|relapsed|progressed)\b"
    r"(?!\s+(?:on|during|while|whilst)\b)", re.I)


def _only_line(text: str, ents: List[dict], line: _Line) -> bool:
    """'had Rd for a year and now relapsing', 'PD on KRd': one regimen given, the disease relapsing now and no other
    drug named as given or refractory: one prior line."""
    drugs = set().union(*line.keys)
    for e in ents:
        if e["entity"] == "refractory_class" or e.get("_state"):
            return False
        if e["entity"] == "drug" and e.get("role") in ("refractory", "exposed") and e["value"] not in drugs | {
                "dexamethasone"}:
            return False
    if STATE_RE.search(text) or re.search(r"\bagain\b|\b(?:lines|regimens)\b", text, re.I):
        return False  # "triple-class refractory", "relapsed again": more than one line behind
    return bool(NOW_RELAPSE.search(text))


def count_lines(text: str, ents: List[dict], components) -> Optional[Tuple[int, int, int]]:
    """(number of prior lines, start, end of the words that open the last line) from the therapies named, or None
    when the message names no list of prior therapies (IMWG: induction, transplant, consolidation and maintenance
    of one plan are one line; a new regimen, or the same one restarted after a relapse, is a new line)."""
    items = _therapy_items(text, ents, components)
    lines: List[_Line] = []
    pending_plan = False
    for it in items:
        if it.kind != "regimen":
            if lines:
                lines[-1].plan = True
            else:
                pending_plan = True
            continue
        if not it.restart and any(it.key in ln.keys for ln in lines):
            continue  # the same regimen named again ("DRd ..., PD on DRd")
        if not it.restart and lines and any(it.key < k or k < it.key for k in lines[-1].keys):
            lines[-1].keys.add(it.key)  # a part of the last regimen named again ("KRd ... lenalidomide")
            continue
        lines.append(_Line({it.key}, plan=pending_plan or it.induction, start=it.start))
        pending_plan = False
    if not lines or (len(lines) == 1 and not lines[0].plan and not _only_line(text, ents, lines[0])):
        return None
    # the entity's words: those that open the last line ("then", "->", "2)"), else a free word of the history
    start = lines[-1].start
    prev_end = max([i.end for i in items if i.end <= start], default=max(0, start - 25))
    taken = [(e["start"], e["end"]) for e in ents]
    mark = re.compile(r"\bthen\b|->|=>|→|\bfollowed\s+by\b|\bswitched\s+to\b|(?<!\d)\d\)|\(\d\)|\bnext\b")
    word = re.compile(r"[A-Za-z]{2,}")
    places = ((prev_end, start, mark, True), (prev_end, start, word, True),
              (items[0].start, items[-1].end, word, False), (items[-1].end, len(text), word, False))
    for a0, b0, pattern, last in places:
        found = list(pattern.finditer(text, a0, b0))
        for m in (reversed(found) if last else found):
            if all(m.end() <= s or m.start() >= e for s, e in taken):
                return len(lines), m.start(), m.end()
    return None


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
            lower = [w for w in spec.get("cased", []) if len(w) > 4 and w.isalpha() or " " in w]
            lower = [w for w in lower if w not in never] + list(spec.get("cities", []))
            if lower:  # places in any case ("from phoenix arizona", dictated)
                self.patterns.append((re.compile(r"(?<![\w.-])(?:" + "|".join(
                    re.escape(w) for w in sorted(lower, key=len, reverse=True)) + r")(?![\w-])", re.I), region))
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
    r"(?:\b(?:sorry|i\s+mean|i\s+meant|make\s+that|no\s+wait|wait|or\s+rather|correction|actually|typo)|\bno\s*(?=[,.…:;-]))"
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
    r"approximately|~|only|just)?\s*(?P<n>" + DURATION_NUM + r")\s*-?\s*(?P<u>months?|mos?|mths?|m|years?|yrs?|y))"
    r"(?![\w])", re.I)


AFTER_REF_RE = re.compile(
    r"(?<![\w-])(?:relapsed?|relapsing|progressed|progression|PD|recurrence|recurred)\s+(?:at\s+|about\s+|around\s+|"
    r"only\s+|just\s+|approximately\s+)?(?P<s>(?P<n>" + DURATION_NUM +
    r")\s*-?\s*(?P<u>months?|mos?|mths?|years?|yrs?))"
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


# ---- an ordinal relapse that dates an earlier treatment -----------------------------------------------------------
# "now at 2nd relapse", "she is at third relapse", "presenting at second progression": the relapse of now
CURRENT_RE = re.compile(r"\b(?:now|currently|presently|presenting|presents|is|she's|he's|today)\s+(?:\w+\s+)?"
                        r"(?:at|in|with)\s+(?:the\s+|her\s+|his\s+)?$", re.I)
STATUS_BETWEEN = re.compile(r"\b(?:refr\w*|resistant|progress\w*|PD|exposed|naive|failed|failing|after|following|"
                            r"post|despite|while|whilst|still|now)\b", re.I)


HEADING_RE = re.compile(r"\s*(?:\(\s*(?:19|20)\d\d\s*\)\s*)?(?::|-+>?|–|=>|→)\s*|\s*\(\s*(?:19|20)\d\d\s*\)\s*")


def history_ordinals(text: str, ents: List[dict]) -> List[dict]:
    """'at first relapse IRd' dates a regimen given in the past: it is no count of prior lines."""
    drugs = [e for e in ents if e["entity"] in ("drug", "regimen")]
    out = []
    for e in ents:
        ordinal_relapse = re.search(r"relapse|progression|recurrence", text[e["start"]:e["end"]], re.I)
        dated = re.search(r"\b(?:at|on|after)\s+(?:the\s+|her\s+|his\s+)?$", text[max(0, e["start"] - 12):e["start"]],
                          re.I)
        # a heading "first relapse: DRd", "2nd relapse (2021) - KPd" dates what follows it too
        head = HEADING_RE.match(text, e["end"])
        if e["entity"] == "prior_lines" and ordinal_relapse and (dated or head) and not CURRENT_RE.search(
                text[max(0, e["start"] - 25):e["start"]]):
            after = head.end() if head else e["end"]
            nxt = [d for d in drugs if d["start"] >= after and d["start"] - after <= 25
                   and not re.search(r"[.;:]", text[after:d["start"]])]
            # "at first relapse IRd" dates IRd; "at 2nd relapse, refractory to len" is where the patient is now
            # (a regimen refractory by the progression told after it, "at second relapse KPd, now progressing",
            # was given at that relapse: only a status written on it, "len-refractory", says where the patient is)
            status = nxt and (nxt[0].get("role") in ("naive", "unavailable") or (
                nxt[0].get("role") == "refractory"
                and re.match(r"[\s-]*(?:refr|ref\b|resist)", text[nxt[0]["end"]:], re.I)))
            if nxt and not STATUS_BETWEEN.search(text[e["end"]:nxt[0]["start"]]) and not status:
                continue
        out.append(e)
    return out
