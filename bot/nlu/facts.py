"""Case facts (age, lines, relapse, transplant, ...) and clinical findings by regular expression, from `facts.json`.

The file holds the patterns and says what its fields mean; this module holds what needs Python: the functions
that turn a match into a value (`VALUES`, named in the file by "fn") or a finding's role (`ROLES`), the
fragments the code supplies (LEN, LENREG, NUM, ORD, DURATION_NUM), and the checks of `load()`, which names the rule at
fault (`FactRuleError`): an unknown fragment, function, field or entity, a regex that does not compile, a span
or threshold group the pattern does not have.

Facts are matched on the raw text in file order (`scan_facts`): an earlier rule claims its characters and a
later rule cannot match over them (so "not transplant eligible" is never also "transplant eligible", and "3
months off lenalidomide" is never also a lenalidomide mention). Findings (cytogenetics, aggressive features,
comorbidities) are targets for ConText, which finds their negation ("no neuropathy"); a few carry a fixed role
("normal LDH" is an absent elevated LDH; "eGFR 75" is an absent renal impairment).

Layer: may import the standard library and `.lexicon`.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Collection, Dict, Iterable, List, Optional, Pattern, Sequence, Tuple

from .lexicon import DURATION_NUM, NUM, ORD, to_float, to_int

RULES_FILE = Path(__file__).with_name("facts.json")
SKIP = object()    # claim the characters, emit nothing
REJECT = object()  # not a match after all: claim nothing
FRAGMENT_RE = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")


class FactRuleError(ValueError):
    """facts.json is not a valid rule file; the message names the rule."""


@dataclass(frozen=True)
class Rule:
    entity: str
    pattern: Pattern[str]
    value: Callable[[re.Match, str], Any]
    span: Optional[str] = None  # named group for the entity's span (default: the whole match)
    claim: str = "match"        # "match" or "span": the characters this rule takes from later rules
    needs: Tuple[str, ...] = ()  # lower-case substrings one of which must occur (a cheap pre-check)


@dataclass(frozen=True)
class Finding:
    entity: str
    value: str
    pattern: Pattern[str]
    role: Callable[[re.Match], Any] = lambda m: None  # fixed role ("absent"), None, or REJECT
    needs: Tuple[str, ...] = ()  # lower-case substrings one of which must occur (a cheap pre-check)

    def span(self, m: re.Match) -> tuple:
        return m.span("s") if "s" in self.pattern.groupindex else m.span()


# ---- value functions (named by "fn" in facts.json) -------------------------------------------------------------
def _before(text: str, m: re.Match, n: int = 30) -> str:
    return text[max(0, m.start() - n):m.start()].lower()


def _negated_number(m: re.Match, text: str) -> bool:
    """'3 prior lines not 2', '2L not 3L', 'she is 74 not 47': the number after 'not' is the wrong one."""
    return bool(re.search(r"(?:\bnot|\binstead of|\brather than)\s*$", _before(text, m)))


def _unit_months(n: float, unit: str) -> Optional[int]:
    u = unit.lower()
    if u.startswith("y"):
        return int(round(n * 12))
    if u.startswith("m"):
        return int(round(n))
    if u.startswith("w"):
        return int(round(n * 7 / 30))
    if u.startswith("d"):
        return int(round(n / 30))
    return None


def _unit_days(n: float, unit: str) -> Optional[int]:
    u = unit.lower()
    if u.startswith("y"):
        return int(round(n * 365))
    if u.startswith("m"):
        return int(round(n * 30))
    if u.startswith("w"):
        return int(round(n * 7))
    if u.startswith("d"):
        return int(round(n))
    return None


def _duration(m: re.Match, to_unit: Callable[[float, str], Optional[int]]) -> Any:
    n = to_float(m.group("n"))
    if n is None:
        return REJECT
    v = to_unit(n, m.group("u"))
    return REJECT if v is None else v


def _age(m: re.Match, t: str) -> Any:
    if _negated_number(m, t):
        return SKIP
    v = int(m.group("s"))
    return v if 18 <= v <= 110 else REJECT


# a number of years that is a duration, not an age: "remission for 3 years", "PFS of 24 years" (what comes before)
_DURATION_BEFORE = re.compile(
    r"(?:\b(?:for|after|over|of|lasting|lasted|remission|response|PFS|since|within|past|last|than|about|around|"
    r"approximately|nearly|almost|x|ago|diagnosed|dx|post|until|by)\s*[:=]?\s*|[~<>]\s*)$", re.I)
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
_UNITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}


def _age_field(m: re.Match, t: str) -> Any:
    """'Age: 74' is read by `age`; '74 years,' as a field of its own is an age unless a duration word comes
    before ('remission for 3 years')."""
    if _DURATION_BEFORE.search(t[max(0, m.start() - 25):m.start()]):
        return REJECT
    return _age(m, t)


def _age_words(m: re.Match, t: str) -> Any:
    """'sixty seven year old', 'seventy-two-year-old' (dictated text)."""
    words = re.split(r"[\s-]+", m.group("s").lower())
    v = _TENS.get(words[0], 0) + (_UNITS.get(words[1], 0) if len(words) > 1 else 0)
    return v if 18 <= v <= 110 else REJECT


def _sex_word(m: re.Match, t: str) -> Any:
    if re.search(r"\bnot\s*(?:a\s+)?$", _before(t, m)):
        return SKIP
    w = m.group(0).lower()
    return "female" if w in ("woman", "female", "lady", "women") else "male"


# "the last two lines", "her first 3 lines": some of the lines, not how many were given; "twenty two prior lines"
# in dictated text is a number of another field before the count
_PART_OF_LINES = re.compile(r"\b(?:last|latest|final|first|initial|recent|these|those|both)\s*$|"
                            r"\b(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)[\s-]*$", re.I)
# "Therapy lines: 1. VCD, 2. Rd": a numbered list of the lines, not a count
_NUMBERED_LIST = re.compile(r"^\s*[.)]\s*[A-Za-z][^\n]*?[\s,;]2\s*[.)]\s*[A-Za-z]")


def _lines(m: re.Match, t: str) -> Any:
    if _negated_number(m, t):
        return SKIP
    if _PART_OF_LINES.search(_before(t, m, 25)) or (
            to_int(m.group("v")) == 1 and _NUMBERED_LIST.match(t[m.end():m.end() + 200])):
        return REJECT  # the words stay free ("twenty two prior lines one": "prior lines one" is the count)
    v = to_int(m.group("v"))
    return v if v and 1 <= v <= 15 else REJECT


_DONE_RE = re.compile(
    r"(?:after|post|following|beyond|completed|completing|failed|failing|progressed\s+(?:on|after|during|through)|"
    r"progression\s+(?:on|after|during)|relapsed\s+(?:on|after|during)|relapse\s+(?:on|after)|on|during|"
    r"received|had)\s+(?:a\s+|the\s+|his\s+|her\s+)?$")


# a line named with its regimen in a told history is a line given ("second line DPd", "2nd line: KRd", "2nd line
# was DKd"; "first line X" only dates X, like "at first relapse X"), and so is the line a regimen was given as
# ("on Kd as second line", "PVd, her third line", "(5th line, since 2024)"); a line being chosen is not ("being
# considered for 3rd line", "3L options?")
_NAMED_AFTER = re.compile(r"^[ \t]*(?:was\s+|[:=-]\s*|with\s+|of\s+)?(?!(?:setting|options?|therap|treatment|for|in|is|"
                          r"would|should|choice|agent|regimen|now|next)\b)(?:[A-Z][A-Za-z-]{1,12}|[a-z]{2,5}\s+[a-z]{2,5})\b")
_GIVEN_LINE = re.compile(r"(?:\bas\s+(?:(?:his|her|the)\s+)?|\b(?:his|her)\s+|\(\s*)$", re.I)
_PLANNED_BEFORE = re.compile(
    r"\b(?:for|consider\w*|choose|choosing|plann\w*|plan|next|options?|what|which|in)\b[^.;|\n]*$", re.I)
# "your view on a second line", "thoughts on third-line options": the line being chosen, not one given
_ADVICE_ON = re.compile(r"\b(?:views?|thoughts?|advice|opinions?|input|ideas|guidance|recommendations?|help|"
                        r"suggestions?|comments?|decide|deciding|decision)\s+(?:on|about|regarding)\s+"
                        r"(?:a\s+|the\s+|his\s+|her\s+)?$", re.I)


def _ordinal_line(m: re.Match, t: str) -> Any:
    """'3rd line' is the line being given now (2 prior lines), unless it is behind the patient ('after 3rd line')."""
    n = to_int(m.group("v"))
    if not n:
        return REJECT
    done = (_DONE_RE.search(_before(t, m, 40)) and not _ADVICE_ON.search(_before(t, m, 40))) or _GIVEN_LINE.search(
        _before(t, m, 25)) or (
        n >= 2 and _NAMED_AFTER.match(t[m.end():m.end() + 30]) and not _PLANNED_BEFORE.search(_before(t, m, 40)))
    v = n if done else n - 1
    return v if v >= 1 else SKIP


# the value after these words is the one being replaced: "intermediate rather than fit", "clinical, not biochemical"
OLD_VALUE = re.compile(r"(?:\bnot|\brather\s+than|\binstead\s+of|\bas\s+opposed\s+to)\s*$")
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "1": 1, "2": 2, "3": 3}
NEEDS_VALUE = {"unless_not"}  # functions that take the rule's "value"
VALUES: Dict[str, Callable[[Any], Callable[[re.Match, str], Any]]] = {
    "skip": lambda v: lambda m, t: SKIP,
    "days": lambda v: lambda m, t: _duration(m, _unit_days),
    "months": lambda v: lambda m, t: _duration(m, _unit_months),
    "count": lambda v: lambda m, t: REJECT if _negated_number(m, t) else (to_int(m.group("v")) or REJECT),
    "int": lambda v: lambda m, t: int(m.group("v")),
    "once_twice": lambda v: lambda m, t: 2 if (m.group("v") or "").replace(" ", "").lower() in ("twice", "x2") else 1,
    "roman": lambda v: lambda m, t: _ROMAN[m.group("v").lower()],
    "unless_not": lambda v: lambda m, t: SKIP if OLD_VALUE.search(_before(t, m)) else v,
    "fit": lambda v: lambda m, t: (SKIP if OLD_VALUE.search(_before(t, m)) else
                                   REJECT if re.search(r"\b(?:un|not\s*|best\s*)$", _before(t, m)) else "fit"),
    "age": lambda v: _age,
    "age_field": lambda v: _age_field,
    "age_words": lambda v: _age_words,
    "sex_after_age": lambda v: lambda m, t: (REJECT if not 18 <= int(m.group("a")) <= 110
                                             else ("male" if m.group("s") == "M" else "female")),
    "sex_word": lambda v: _sex_word,
    "sex_letter": lambda v: lambda m, t: "male" if m.group("s") == "M" else "female",
    "lines": lambda v: _lines,
    "ordinal_line": lambda v: _ordinal_line,
}


def _threshold(group: str, below: float, absent_at: Optional[float] = None) -> Callable[[re.Match], Any]:
    """Numeric findings: present below `below`, absent at or above `absent_at`, otherwise no finding."""
    def role(m: re.Match) -> Any:
        v = float(m.group(group))
        if v < below:
            return None
        if absent_at is not None and v >= absent_at:
            return "absent"
        return REJECT
    return role


def _range(group: str, ranges: List[List[Any]]) -> Callable[[re.Match], Any]:
    """Numeric signs in one of several units: `ranges` holds [low, high, cut, "above" | "below"] per unit; a value
    in [low, high) is present when it is beyond its cut, otherwise no finding."""
    def role(m: re.Match) -> Any:
        v = float(m.group(group))
        for low, high, cut, side in ranges:
            if low <= v < high:
                return None if (v > cut if side == "above" else v < cut) else REJECT
        return REJECT
    return role


ROLES = {"threshold": _threshold, "range": _range}


# ---- loading -------------------------------------------------------------------------------------------------------
def _len_fragment(len_names: Sequence[str]) -> str:
    """The surface forms of lenalidomide as one group, longest first, spaces and hyphens optional."""
    forms = {re.escape(n).replace(r"\ ", r"[\s-]+").replace(r"\-", r"[\s-]*") for n in len_names}
    return "(?:" + "|".join(sorted(forms, key=lambda f: (-len(f), f))) + ")"


def _regimen_fragment(names: Sequence[str]) -> str:
    """Regimen names as one group, longest first, case-sensitive by their first letter ("Rd", not "rd")."""
    forms = {re.escape(n).replace(r"\-", r"[\s-]?") for n in names}
    return "(?-i:" + "|".join(sorted(forms, key=lambda f: (-len(f), f))) + ")"


class _Fragments:
    def __init__(self, templates: Dict[str, str], given: Dict[str, str]) -> None:
        self.templates, self.done = templates, dict(given)

    def expand(self, template: str, where: str, seen: Tuple[str, ...] = ()) -> str:
        def sub(m: re.Match) -> str:
            name = m.group(1)
            if name in seen:
                raise FactRuleError(f"{where}: fragment {name} refers to itself")
            if name not in self.done:
                if name not in self.templates:
                    raise FactRuleError(f"{where}: unknown fragment {{{name}}}")
                self.done[name] = self.expand(self.templates[name], f"fragment {name}", seen + (name,))
            return self.done[name]
        return FRAGMENT_RE.sub(sub, template)


def _strict(obj: Any, keys: Collection[str], required: Collection[str], where: str) -> None:
    if not isinstance(obj, dict):
        raise FactRuleError(f"{where}: expected an object")
    if set(obj) - set(keys):
        raise FactRuleError(f"{where}: unknown fields {sorted(set(obj) - set(keys))}")
    missing = [k for k in required if k not in obj]
    if missing:
        raise FactRuleError(f"{where}: missing {missing}")


def _compile(raw: Any, case: bool, frags: _Fragments, where: str) -> Pattern[str]:
    """A pattern (or its alternatives, joined with '|') with its fragments filled in, compiled."""
    if not isinstance(case, bool):
        raise FactRuleError(f"{where}: case is true or false")
    if isinstance(raw, list) and raw and all(isinstance(a, str) and a for a in raw):
        raw = "|".join(raw)
    if not isinstance(raw, str) or not raw:
        raise FactRuleError(f"{where}: a pattern is a non-empty string or a list of its alternatives")
    try:
        return re.compile(frags.expand(raw, where), 0 if case else re.IGNORECASE)
    except re.error as e:
        raise FactRuleError(f"{where}: bad regex: {e}") from None


def _needs(raw: Any, where: str) -> Tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(n, str) and n and n == n.lower() for n in raw):
        raise FactRuleError(f"{where}: needs must be a list of lower-case strings")
    return tuple(raw)


FACT_KEYS = ("note", "entity", "value", "fn", "span", "claim", "case", "pattern", "patterns")


def _fact_rules(entry: Any, needs: Tuple[str, ...], frags: _Fragments, entities, where: str) -> List[Rule]:
    _strict(entry, FACT_KEYS, ("entity",), where)
    entity = entry["entity"]
    if entities is not None and entity not in entities:
        raise FactRuleError(f"{where}: unknown entity {entity!r}")
    where = f"{where} ({entity})"
    fn = entry.get("fn")
    if fn is None:
        if "value" not in entry:
            raise FactRuleError(f"{where}: give a \"value\" or an \"fn\"")
        v = entry["value"]
        value = lambda m, t: v  # noqa: E731
    elif fn not in VALUES:
        raise FactRuleError(f"{where}: unknown fn {fn!r} (known: {', '.join(VALUES)})")
    elif ("value" in entry) != (fn in NEEDS_VALUE):
        raise FactRuleError(f"{where}: fn {fn!r} {'needs' if fn in NEEDS_VALUE else 'takes no'} \"value\"")
    else:
        value = VALUES[fn](entry.get("value"))
    claim, span = entry.get("claim", "match"), entry.get("span")
    if claim not in ("match", "span") or (claim == "span" and not span):
        raise FactRuleError(f"{where}: claim is \"match\" or \"span\" (with a \"span\" group)")
    if ("pattern" in entry) == ("patterns" in entry):
        raise FactRuleError(f"{where}: give either \"pattern\" or \"patterns\"")
    raws = [entry["pattern"]] if "pattern" in entry else entry["patterns"]
    if not isinstance(raws, list) or not raws:
        raise FactRuleError(f"{where}: patterns must be a non-empty list")
    rules = []
    for k, raw in enumerate(raws):
        pw = f"{where}, pattern {k}" if "patterns" in entry else where
        pattern = _compile(raw, entry.get("case", False), frags, pw)
        if span and span not in pattern.groupindex:
            raise FactRuleError(f"{pw}: the pattern has no group {span!r}")
        rules.append(Rule(entity, pattern, value, span, claim, needs))
    return rules


def _findings(group: Any, frags: _Fragments, entities, where: str) -> List[Finding]:
    _strict(group, ("entity", "value", "needs", "rules", "note"), ("entity", "value", "rules"), where)
    entity, value = group["entity"], group["value"]
    if entities is not None and entity not in entities:
        raise FactRuleError(f"{where}: unknown entity {entity!r}")
    where = f"{where} ({entity} {value})"
    needs = _needs(group.get("needs", []), where)
    out = []
    for k, rule in enumerate(group["rules"]):
        rw = f"{where}, rule {k}"
        _strict(rule, ("role", "case", "pattern", "note"), ("pattern",), rw)
        pattern = _compile(rule["pattern"], rule.get("case", False), frags, rw)
        spec = rule.get("role")
        if spec is None:
            role = Finding.role
        elif spec == "absent":
            role = lambda m: "absent"  # noqa: E731
        elif isinstance(spec, dict) and spec.get("fn") in ROLES:
            args = {k: v for k, v in spec.items() if k != "fn"}
            if spec["fn"] == "threshold" and args.get("group") not in pattern.groupindex:
                raise FactRuleError(f"{rw}: the pattern has no group {args.get('group')!r}")
            try:
                role = ROLES[spec["fn"]](**args)
            except TypeError as e:
                raise FactRuleError(f"{rw}: role {spec['fn']}: {e}") from None
        else:
            raise FactRuleError(f"{rw}: role is \"absent\" or {{\"fn\": one of {sorted(ROLES)}, ...}}")
        out.append(Finding(entity, value, pattern, role, needs))
    return out


def load(len_names: Sequence[str], data: Optional[dict] = None,
         entities: Optional[Collection[str]] = None,
         len_regimens: Sequence[str] = ()) -> Tuple[List[Rule], List[Finding]]:
    """(fact rules in order, finding rules) of facts.json (or of `data`, the same structure). `len_names` are the
    surface forms of lenalidomide (from the KB), `len_regimens` the names of regimens that contain it; `entities`,
    when given, the entity names a rule may have."""
    name = RULES_FILE.name
    if data is None:
        data = json.loads(RULES_FILE.read_text(encoding="utf-8"))
    _strict(data, ("about", "fragments", "facts", "findings"), ("fragments", "facts", "findings"), name)
    given = {"LEN": _len_fragment(len_names), "LENREG": _regimen_fragment(len_regimens or ("Rd",)), "NUM": NUM,
             "ORD": ORD, "DURATION_NUM": DURATION_NUM}
    clash = set(given) & set(data["fragments"])
    if clash:
        raise FactRuleError(f"{name}: fragments {sorted(clash)} are given by the code")
    frags = _Fragments(data["fragments"], given)
    for key in data["fragments"]:
        frags.expand("{" + key + "}", f"{name}: fragment {key}")
    facts: List[Rule] = []
    for i, section in enumerate(data["facts"]):
        where = f"{name}: facts[{i}]"
        _strict(section, ("needs", "rules", "note"), ("rules",), where)
        needs = _needs(section.get("needs", []), where)
        for j, entry in enumerate(section["rules"]):
            facts.extend(_fact_rules(entry, needs, frags, entities, f"{where}.rules[{j}]"))
    findings: List[Finding] = []
    for i, group in enumerate(data["findings"]):
        findings.extend(_findings(group, frags, entities, f"{name}: findings[{i}]"))
    return facts, findings


def scan_facts(text: str, rules: Iterable[Rule]) -> tuple:
    """(entities, claimed character ranges) for the fact rules, in rule order."""
    claimed: List[tuple] = []
    ents: List[dict] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in claimed)

    low = text.lower()
    for rule in rules:
        if rule.needs and not any(n in low for n in rule.needs):
            continue
        for m in rule.pattern.finditer(text):
            s, e = m.span(rule.span) if rule.span else m.span()
            if s < 0 or s == e or "\n" in m.group(0).strip():
                continue  # a fact is said on one line (lists, tables and "Field: value" lines)
            region = (s, e) if rule.claim == "span" else m.span()
            if not free(*region):
                continue
            v = rule.value(m, text)
            if v is REJECT:
                continue
            claimed.append(region)
            if v is SKIP:
                continue
            ents.append({"entity": rule.entity, "value": v, "start": s, "end": e})
    return ents, claimed
