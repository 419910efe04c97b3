"""The number of prior lines of therapy (clinical-spec section 9, IMWG) from the words that tell the history, once
the names have their roles (`pipeline.derive`).

- `count_lines`: the therapies named as given, grouped into lines: induction, autologous transplant, consolidation
  and maintenance of one plan are one line; another regimen, or the same one restarted after a relapse, starts a
  line. A regimen may be written as its drugs ("lenalidomide-dex", "daratumumab, carfilzomib and dexamethasone",
  "CTD (cyclophosphamide, thalidomide, dexamethasone)"); a regimen named as an option ahead ("Q: Kd vs PVd?",
  "ide-cel referral sent", "Plan: talquetamab") was not given. One regimen counts 1 only in a plan (a transplant,
  maintenance, consolidation or induction in it) or in a told history with a relapse now ("dx 2021, DRd -> PD on
  DRd", "s/p DRd x 4 yrs, now rising M-spike"); a regimen named alone ("progressed on DRd") leaves it to be asked.
- `single_line`: one regimen told from the diagnosis or under a treatment heading, with a relapse now.
- `named_lines`: an ordinal line that names its regimen was given ("second line was DKd", "3rd line teclistamab
  from 2022, now progressing on it"); "first line X" only dates X; a stated count wins over them.
- `history_ordinals`: an ordinal relapse that dates a past regimen ("at first relapse IRd", "DVd at first
  relapse", "1st relapse 2022 -> DRd") is no count.

Layer: may import the standard library, `bot.clinical` and the modules of this package.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Dict, FrozenSet, List, Optional, Set, Tuple

from bot.clinical.kb import fold, kb

from .derive import STATE_RE
from .lexicon import ORD, PRIOR_REGIMENS, to_int
from .prose import _RISE

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
                           r"(?:^|[\s(])\d\.(?=[ \t]|$)|\brelapsed?\b|\bprogress(?:ed|ion)\b|\bPD\b", re.I)
# drugs joined like this are one regimen ("lenalidomide-dex", "pom + dara"); with "," / "and" / "with" / "/" only
# when dexamethasone is among them ("daratumumab, carfilzomib and dexamethasone", "ven/dex"): a list without the
# steroid backbone is a list of drugs ("refractory to len, bort and dara")
NARROW_GLUE = re.compile(r"\s*\+\s*|-|[ \t]+")
WIDE_GLUE = re.compile(r"[ \t]*(?:,|/|&|\+|\band\b|\bwith\b|\bplus\b)[ \t]*(?:(?:and|with|plus)[ \t]+)?"
                       r"(?:(?:\d+\s*mg|weekly|low[\s-]dose|attenuated|oral|reduced[\s-]dose)[ \t]+)*", re.I)
# a regimen's code the KB does not know, spelled out in brackets: "CTDa (cyclophosphamide, thalidomide, dex)"
BRACKET_CODE = re.compile(r"(?<![\w-])(?!(?:IMiDs?|PIs?|CD38|mAbs?|BCMA|GPRC5D|TCR|CAR-?T|MM|FISH|ISS|CRAB)\s*\()"
                          r"[A-Z][A-Za-z]{1,6}\s*\($")
# a regimen named as a choice ahead, not a therapy given
_AHEAD_BEFORE = re.compile(r"\b(?:consider\w*|options?|vs\.?|versus|switch\w*\s+to|plann?\w*|refer\w*|discuss\w*|"
                           r"candidate|eligible|start\s+(?:on\s+)?|q)\W*(?:[\w-]+\W+){0,3}$|\bfor\s+(?:a\s+|the\s+)?$",
                           re.I)
_AHEAD_AFTER = re.compile(r"^\W*(?:[\w-]+\W+){0,2}?(?:options?|discussed|referral|planned|step-up|vs\.?|versus|"
                          r"or|candidate|eligible)\b", re.I)
_AHEAD_LINE = re.compile(r"^\W*(?:plan|q|question|options?|next|to\s+discuss|recommendation)\s*[:?-]", re.I)


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


@lru_cache(maxsize=1)
def _regimen_names() -> FrozenSet[str]:
    """Names of regimens (folded, without hyphens): a drug entity on one of them is a regimen ("Kd" is carfilzomib
    and the steroid; "d r d" dictated)."""
    names = set(kb().regimen_aliases()) | {fold(n) for n in PRIOR_REGIMENS}
    return frozenset(n.replace("-", "") for n in names)


def ahead(text: str, s: int, e: int) -> bool:
    """A name said as a choice ahead: in a question, after "consider" / "vs" / "for", before "option", "referral",
    "discussed", or on a line headed "Plan:" / "Q:"."""
    a = max(text.rfind(ch, 0, s) for ch in ".!?\n;") + 1
    end = re.compile(r"[.!\n;]|\?(?=\s|$)").search(text, e)
    b = end.start() if end else len(text)
    line_start = text.rfind("\n", 0, s) + 1
    return (b < len(text) and text[b] == "?") or bool(
        _AHEAD_BEFORE.search(text[a:s]) or _AHEAD_AFTER.match(text[e:b]) or _AHEAD_LINE.match(text[line_start:s]))


def _groups(text: str, spans: List[Tuple[int, int]], by_span: Dict[Tuple[int, int], List[dict]]
            ) -> List[List[Tuple[int, int]]]:
    """The spans that name one regimen together: joined by NARROW_GLUE, or by WIDE_GLUE with dexamethasone among
    them, or spelled out in the brackets after a code the KB does not know."""
    groups: List[List[Tuple[Tuple[int, int], bool]]] = []
    for sp in spans:
        if groups:
            prev = groups[-1][-1][0]
            glue = text[prev[1]:sp[0]]
            if len(by_span[prev]) == 1 and len(by_span[sp]) == 1:
                if NARROW_GLUE.fullmatch(glue):
                    groups[-1].append((sp, False))
                    continue
                if WIDE_GLUE.fullmatch(glue):
                    groups[-1].append((sp, True))
                    continue
        groups.append([(sp, False)])
    out: List[List[Tuple[int, int]]] = []
    for g in groups:
        if any(e["value"] == "dexamethasone" for sp, _ in g for e in by_span[sp]):
            out.append([sp for sp, _ in g])
            continue
        cur: List[Tuple[int, int]] = []
        for sp, wide in g:  # no steroid: the wide joints were a list of drugs
            if cur and wide:
                out.append(cur)
                cur = []
            cur.append(sp)
        out.append(cur)
    # brackets after an unknown code hold one regimen
    for m in re.finditer(r"\(([^()\n]{3,80})\)", text):
        code = re.search(r"([A-Za-z]+)\s*$", text[max(0, m.start() - 12):m.start()])
        if not code or not BRACKET_CODE.search(text[max(0, m.start() - 12):m.start() + 1]):
            continue
        a = m.start() - len(code.group(0))
        b = a + len(code.group(1))
        if any(s < b and a < t for s, t in spans):
            continue  # the code is a known name ("SVd (selinexor-bortezomib-dex)"): read as it is
        inside = [g for g in out if m.start() < g[0][0] and g[-1][1] < m.end()]
        if len(inside) > 1:
            merged = [sp for g in inside for sp in g]
            out = [g for g in out if all(g is not i for i in inside)] + [merged]
    return sorted(out)


def _therapy_items(text: str, ents: List[dict], components) -> List[_Item]:
    """The therapies the message names as given, in order: regimens (one span, or the drugs of one regimen),
    one-drug lines, transplants in the history, maintenance and consolidation. `components(code)`: the drugs of a
    catalog regimen."""
    by_span: Dict[Tuple[int, int], List[dict]] = {}
    for e in ents:
        if e["entity"] == "drug" and not e.get("_state"):
            by_span.setdefault((e["start"], e["end"]), []).append(e)
        elif e["entity"] == "regimen" and not e.get("role") and components(e["value"]):
            by_span.setdefault((e["start"], e["end"]), []).extend(
                {"entity": "drug", "value": d, "_named": False} for d in components(e["value"]))
    items: List[_Item] = []
    for g in _groups(text, sorted(by_span), by_span):
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
        regimen = len(g) > 1 or len(drugs) > 1 or any(x.get("_named") is False for x in drugs) or (
            fold(text[s:e]).replace("-", "") in _regimen_names())
        if kind == "regimen" and not (regimen or values & SINGLE_AGENT_LINES):
            continue  # a drug named alone is no line ("refractory to len, dara")
        if not roles & {"refractory", "exposed"} and (not _in_sequence(text, s, e) or ahead(text, s, e)):
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
    return bool(SEQUENCE_MARK.search(window) or WITH_TRANSPLANT.match(text[e:e + 40])
                or _TOLD_BEFORE.search(text[max(0, s - 30):s]))


# a regimen joined to the transplant that followed it ("VCD-autograft 2019", "VRd + ASCT") was given
WITH_TRANSPLANT = re.compile(r"^\s*(?:[-+/,]|\band\b|\bthen\b|\bfollowed\s+by\b|->|→)\s*(?:an?\s+|single\s+|tandem\s+)?"
                             r"(?:auto\w*|ASCT|SCT|HCT|(?:stem[\s-]cell\s+)?transplant\w*)\b", re.I)


# the disease relapsing now, said apart from the regimen: "now relapsing", "she is progressing" (not "progressed
# on DRd", which names the regimen alone: the count is asked)
NOW_RELAPSE = re.compile(
    r"\b(?:now|currently)\b[^.;,]{0,20}\b(?:relaps|progress)|\b(?:relapsing|progressing|relapsed|progressed)\s+now\b|"
    r"\b(?:is|has|she's|he's|disease's)\s+(?:now\s+)?(?:relapsing|progressing|relapsed|progressed)\b"
    r"(?!\s+(?:on|during|while|whilst)\b)", re.I)
# the words of a told history around the one regimen: "dx 2021", "2021 DRd ->", "s/p DRd x 4 yrs", "on Rd since 2020",
# "treated with ...", "first line", "DRd 2021-2024"
_DIAGNOSIS = re.compile(r"\b(?:diagnosed|dx|diagnosis|since\s+(?:the\s+)?diagnosis)\b|^\s*(?:tx|treatment|therapy)\s*:|"
                        r"\b(?:1st|first)[\s-]+line\b|\bL1\b|\b(?:only|single)\s+(?:one\s+)?(?:treatment|regimen|therapy|"
                        r"line)\b", re.I | re.M)
_TOLD_BEFORE = re.compile(r"(?:->|→|=>|\bs/p|\bstatus\s+post|\btreated\s+(?:with|w/)|\btx'?d\s+(?:with|w/)|"
                          r"\bstarted\s+(?:on|with)|\breceived?|\bhad|\bgiven|\bgot|\bdid|\b(?:been|is|was|remains|still)\s+on|"
                          r"\b(?:treatments?|therap(?:y|ies)|regimens?|history|tx|lines?)\s*:|"
                          r"\b(?:19|20)\d\d\s*:?|\binduction\s+(?:with\s+)?)\s*(?:\w+\s+)?$", re.I)
_TOLD_AFTER = re.compile(r"^\s*(?:\(\s*)?(?:(?:\d{1,2}/)?(?:19|20)\d\d|->|→|=>|x\s*\d|since\b|until\b|till\b|"
                         r"for\s+(?:\d|a|an|one|two|three|four|five|six|nearly|almost|over|about)\b|ongoing|"
                         r"continu\w*|(?:\([^()]{0,40}\)\s*)?(?:->|→))", re.I)


def _other_given(ents: List[dict], drugs: Set[str]) -> bool:
    """Another drug named as given or refractory, a named refractory state or a refractory class."""
    for e in ents:
        if e["entity"] == "refractory_class" or e.get("_state"):
            return True
        if e["entity"] == "drug" and e.get("role") in ("refractory", "exposed") and e["value"] not in drugs | {
                "dexamethasone"}:
            return True
    return False


def _only_line(text: str, ents: List[dict], line: _Line, items: List[_Item]) -> bool:
    """'had Rd for a year and now relapsing', 'dx 2021 ... DRd -> PD on DRd', 's/p DRd x 4 yrs, now rising M-spike':
    one regimen given, in words that tell the history or with the disease relapsing now, a relapse now, and no other
    drug named as given or refractory: one prior line."""
    if _other_given(ents, set().union(*line.keys)):
        return False
    if STATE_RE.search(text) or re.search(r"\bagain\b|\b(?:lines|regimens)\b", text, re.I):
        return False  # "triple-class refractory", "relapsed again": more than one line behind
    if NOW_RELAPSE.search(text):
        return True
    relapse = any(e["entity"] == "relapse" and e["value"] != "none" for e in ents)
    if not (relapse or _RISE.search(text)) or any(e["entity"] == "relapse" and e["value"] == "none" for e in ents):
        return False
    told = any(_TOLD_BEFORE.search(text[max(0, i.start - 30):i.start]) or _TOLD_AFTER.match(text[i.end:i.end + 50])
               for i in items if i.kind == "regimen")
    return told or bool(_DIAGNOSIS.search(text))


def _relapse_between(text: str, a: int, b: int) -> bool:
    """A relapse told between two therapies ("without progression" is none)."""
    return bool(re.search(r"(?<!without\s)(?<!\bno\s)(?<!\bnot\s)\b(?:relaps\w*|progress\w*|PD|recurr\w*)\b",
                          text[a:b], re.I))


# "bortezomib-dex for first relapse", "IsaKd (at 2nd relapse)": a regimen given at a relapse
DATED_RELAPSE = re.compile(rf"^[ \t]*,?[ \t]*\(?[ \t]*(?:at|for|on|in|as)\s+(?:the\s+|her\s+|his\s+)?(?:{ORD}\s+)?"
                           r"(?:relapse|progression|PD|recurrence)\b", re.I)


def count_lines(text: str, ents: List[dict], components) -> Optional[Tuple[int, int, int]]:
    """(number of prior lines, start, end of the words that open the last line) from the therapies named, or None
    when the message names no list of prior therapies (IMWG: induction, transplant, consolidation and maintenance
    of one plan are one line; a new regimen, or the same one restarted after a relapse, is a new line)."""
    items = _therapy_items(text, ents, components)
    lines: List[_Line] = []
    pending: List[_Item] = []  # a transplant or maintenance told before any regimen
    last_end = 0
    for it in items:
        if it.kind != "regimen":
            if lines:
                lines[-1].plan = True
            else:
                pending.append(it)
            continue
        if not it.restart and any(it.key in ln.keys for ln in lines):
            last_end = it.end
            continue  # the same regimen named again ("DRd ..., PD on DRd")
        if not it.restart and lines and any(it.key < k or k < it.key for k in lines[-1].keys) and not (
                _relapse_between(text, last_end, it.start) or DATED_RELAPSE.match(text[it.end:it.end + 40])):
            # a part of the last regimen named again ("KRd ... lenalidomide"), its full name ("Pd with dara (DPd)"),
            # a drug added or dropped without progression: the same line; after a relapse ("Pd to progression,
            # then DPd", "bortezomib-dex for first relapse") another one
            lines[-1].keys.add(it.key)
            last_end = it.end
            continue
        if pending and not lines and _relapse_between(text, pending[-1].end, it.start):
            # "s/p tandem ASCT -> bortezomib maint. Relapsed 2019 -> DRd": the first plan is a line of its own
            lines.append(_Line(set(), plan=True, start=pending[0].start))
            pending = []
        lines.append(_Line({it.key}, plan=bool(pending) or it.induction, start=it.start))
        pending = []
        last_end = it.end
    if not lines or (len(lines) == 1 and not lines[0].plan and not _only_line(text, ents, lines[0], items)):
        return None
    # the entity's words: those that open the last line ("then", "->", "2)"), else a free word of the history
    start = lines[-1].start
    prev_end = max([i.end for i in items if i.end <= start], default=max(0, start - 25))
    mark = re.compile(r"\bthen\b|->|=>|→|\bfollowed\s+by\b|\bswitched\s+to\b|(?<!\d)\d\)|\(\d\)|\bnext\b")
    place = _free_words(text, ents, ((prev_end, start, mark, True), (prev_end, start, WORD, True),
                                     (items[0].start, items[-1].end, WORD, False),
                                     (items[-1].end, len(text), WORD, False)))
    return (len(lines), *place) if place else None


WORD = re.compile(r"[A-Za-z]{2,}")


def _free_words(text: str, ents: List[dict], places) -> Optional[Tuple[int, int]]:
    """The first words of `places` ((start, end, pattern, from the end?)) that no entity takes."""
    taken = [(e["start"], e["end"]) for e in ents]
    for a0, b0, pattern, last in places:
        found = list(pattern.finditer(text, a0, b0))
        for m in (reversed(found) if last else found):
            if all(m.end() <= s or m.start() >= e for s, e in taken):
                return m.start(), m.end()
    return None


# ---- one regimen since the diagnosis -----------------------------------------------------------------------------
def single_line(text: str, out: List[dict]) -> Optional[Tuple[int, int, int]]:
    """(1, start, end) when the message tells the treatment from the diagnosis (or under a treatment heading) and
    names one regimen only, given and progressing now ("diagnosed 2020, treated with DRd which she has continued
    until now", "Tx: Dara-Rd (ongoing) - biochemical progression"): that regimen is the one prior line. Options
    named ahead ("Q: Kd vs PVd?") are no regimen given."""
    if not _DIAGNOSIS.search(text):
        return None
    given = [e for e in out if e["entity"] in ("drug", "regimen") and e.get("role") in ("refractory", "exposed")
             and e["value"] != "dexamethasone"]
    spans = {(e["start"], e["end"]) for e in given}
    named = [e for e in out if e["entity"] in ("drug", "regimen") and (e["start"], e["end"]) not in spans
             and e["value"] != "dexamethasone" and e.get("role") not in ("naive", "unavailable")
             and not ahead(text, e["start"], e["end"])]
    # the same regimen may be named again ("DRd -> progression on DRd"): one set of drugs
    regimens = {frozenset(g["value"] for g in given if (g["start"], g["end"]) == sp) for sp in spans}
    relapse = any(e["entity"] == "relapse" and e["value"] != "none" for e in out) or _RISE.search(text)
    if len(regimens) != 1 or named or not relapse:
        return None
    if any(e["entity"] == "lenalidomide_maintenance_only" or (e["entity"] == "prior_auto_hct" and e["value"])
           for e in out):
        return None  # a plan with a transplant or maintenance is counted by its own rule
    s, e = min(spans)
    place = _free_words(text, out, ((max(0, s - 30), s, WORD, True), (e, len(text), WORD, False),
                                    (0, s, WORD, True)))
    return (1, *place) if place else None


# ---- an ordinal line named with its regimen -----------------------------------------------------------------------
_ORD_LINE = re.compile(rf"^(?:(?P<o>{ORD})[\s-]*line|(?P<l>\d{{1,2}})L)\b", re.I)
_NAMES_AFTER = re.compile(r"^[ \t]*(?:(?:was|is|:|=|-|with|of|therapy|treatment|regimen)[ \t]*){0,2}$", re.I)


def named_lines(text: str, ents: List[dict]) -> List[dict]:
    """'2nd line DKd, 3rd line teclistamab from 2022, now progressing', 'Second line was daratumumab, carfilzomib and
    dexamethasone': an ordinal line that names the regimen given as it is that line (its number, not one fewer);
    of the ordinal lines of a message the highest stands for the count ("first line DRd" only dates DRd), and a
    count stated otherwise ("2 prior lines", "second relapse") wins over them."""
    ordinal = []
    for e in ents:
        if e["entity"] != "prior_lines" or e.get("role"):
            continue
        m = _ORD_LINE.match(text[e["start"]:e["end"]])
        if not m:
            continue
        n = to_int(m.group("o") or m.group("l"))
        nxt = [d for d in ents if d["entity"] in ("drug", "regimen") and d["start"] >= e["end"]
               and _NAMES_AFTER.match(text[e["end"]:d["start"]])]
        named = bool(nxt) and nxt[0].get("role") not in ("naive", "unavailable") and not ahead(
            text, e["start"], e["end"])
        ordinal.append((e, n if named and n else e["value"], named))
    if not any(named for _, _, named in ordinal):
        return ents
    stated = [e for e in ents if e["entity"] == "prior_lines" and not e.get("role")
              and all(e is not o for o, _, _ in ordinal)]
    drop = [o for o, _, _ in ordinal]
    out = [e for e in ents if all(e is not d for d in drop)]
    if stated:
        return out
    best, value, _ = max(ordinal, key=lambda x: (x[1], x[0]["start"]))
    return out + [{**best, "value": value}]


# ---- an ordinal relapse that dates an earlier treatment -----------------------------------------------------------
# "now at 2nd relapse", "she is at third relapse", "presenting at second progression": the relapse of now
CURRENT_RE = re.compile(r"\b(?:now|currently|presently|presenting|presents|is|she's|he's|today)\s+(?:\w+\s+)?"
                        r"(?:at|in|with)\s+(?:the\s+|her\s+|his\s+)?$", re.I)
STATUS_BETWEEN = re.compile(r"\b(?:refr\w*|resistant|progress\w*|PD|exposed|naive|failed|failing|after|following|"
                            r"post|despite|while|whilst|still|now)\b", re.I)
# a heading "first relapse: DRd", "2nd relapse (2021) - KPd", "1st relapse 2022 -> DRd" dates what follows it
HEADING_RE = re.compile(r"\s*(?:\(\s*(?:19|20)\d\d\s*\)\s*|(?:in\s+)?(?:\d{1,2}/)?(?:19|20)\d\d\s*)?"
                        r"(?::|-+>?|–|=>|→)\s*|\s*\(\s*(?:19|20)\d\d\s*\)\s*")
# "DVd at first relapse", "KRd for first relapse", "Dara-Vd (at 1st relapse)": the regimen given at that relapse
DATES_BEFORE = re.compile(r"^[ \t]*,?[ \t]*\(?[ \t]*(?:at|for|on|in|as)\s+(?:the\s+|her\s+|his\s+)?$", re.I)
# "at first relapse - sorry, second relapse: ...": the corrected relapse is the one of now
CORRECTED_BEFORE = re.compile(r"\b(?:sorry|i\s+mean|actually|correction|rather|make\s+(?:it|that))\W*$", re.I)


def history_ordinals(text: str, ents: List[dict]) -> List[dict]:
    """'at first relapse IRd', 'DVd at first relapse' date a regimen given in the past: no count of prior lines."""
    drugs = [e for e in ents if e["entity"] in ("drug", "regimen")]
    out = []
    for e in ents:
        ordinal_relapse = re.search(r"relapse|progression|recurrence", text[e["start"]:e["end"]], re.I)
        if e["entity"] != "prior_lines" or not ordinal_relapse or CURRENT_RE.search(
                text[max(0, e["start"] - 25):e["start"]]):
            out.append(e)
            continue
        clause = re.split(r"[.;\n]", text[:e["start"]])[-1]
        before = [d for d in drugs if d["end"] <= e["start"] and DATES_BEFORE.match(text[d["end"]:e["start"]])]
        if before and not re.search(r"\b(?:now|currently)\b", clause, re.I):
            continue  # "DVd at first relapse": the relapse when DVd was given
        dated = re.search(r"\b(?:at|on|after)\s+(?:the\s+|her\s+|his\s+)?$", text[max(0, e["start"] - 12):e["start"]],
                          re.I)
        head = HEADING_RE.match(text, e["end"])
        if (dated or head) and not CORRECTED_BEFORE.search(text[max(0, e["start"] - 20):e["start"]]):
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


# ---- a count said with doubt ----------------------------------------------------------------------------------------
_UNSURE_AFTER = re.compile(
    r"^\s*[-–,(]?\s*(?:(?:actually|but|although|though|i'?m|we'?re|am|is|are|but\s+i'?m)\s+)*(?:(?:not\s+sure|unsure|"
    r"uncertain|unclear|not\s+certain)(?!\s+(?:whether|if|about|regarding|of\s+the))|could\s+be|maybe|perhaps|possibly|"
    r"tbc|to\s+be\s+confirmed|need\s+to\s+(?:check|confirm)|or\s+(?:\d|one|two|three|four|five|six|seven|more)\b)",
    re.I)
_UNSURE_BEFORE = re.compile(r"(?:\b(?:\d{1,2}|one|two|three|four|five|six)(?:\s+(?:or|to)\s+|-)|\b(?:about|around|"
                            r"approximately|approx\.?|maybe|perhaps|possibly|probably)\s+|~\s*)$", re.I)


def unsure_counts(text: str, ents: List[dict]) -> List[dict]:
    """'4 prior lines - actually not sure, could be 4 or 5', '3 or 4 prior lines', 'maybe 3 lines': a count said with
    doubt is no count (the assistant asks)."""
    return [e for e in ents if not (e["entity"] == "prior_lines" and e.get("role") is None and (
        _UNSURE_AFTER.match(text[e["end"]:e["end"] + 60]) or _UNSURE_BEFORE.search(text[max(0, e["start"] - 20):
                                                                                         e["start"]])))]
