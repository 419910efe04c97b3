"""medspacy ConText rules from `context_rules.json`: the words that give a drug its status or negate a finding,
and what ends their scope. The file says what its fields mean; `load()` checks it and names the rule at fault
(`RuleError`): an unknown category, direction, field, word list or `on_modifies` function, an empty literal, a
spaCy token pattern that spaCy's Matcher rejects.

Every status category ends the scope of every other one, so "refractory to len, exposed to bort" gives each
drug its own status; when several statuses still reach a drug, the nearest one wins (`roles`). Commas and
connectors inside a coordinated list of drugs do not end a scope (`heuristics.mark_lists`).

Layer: may import the standard library, spaCy and medspacy.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

RULES_FILE = Path(__file__).with_name("context_rules.json")
DIRECTIONS = ("FORWARD", "BACKWARD", "BIDIRECTIONAL")
MEDSPACY_CATEGORIES = ("PSEUDO", "TERMINATE")  # their direction is their name; they end no other scope
RULE_KEYS = {"category", "direction", "literals", "literal", "pattern", "max_scope", "on_modifies", "note"}
FILE_KEYS = {"about", "categories", "not_terminated_by", "word_lists", "rules"}


# a fact written as one token ends a clause for a status word after it: "3PL refr len/pom", "78F refr len"
FACT_TOKEN = re.compile(r"\d{1,3}(?:PL|L|M|F|yo)|NTE|TE|fit|frail")


class RuleError(ValueError):
    """context_rules.json is not a valid rule file; the message names the rule."""


def _clause_initial_forward(clause_openers: frozenset) -> Callable:
    def clause_initial_forward(target, modifier, between) -> bool:
        """A bare status adjective modifies what follows it only at the start of a clause ("refr len, bort");
        elsewhere it looks back ("len refractory")."""
        if target.start < modifier.start:
            return True
        if modifier.start == 0:
            return True
        prev = modifier.doc[modifier.start - 1]
        return (prev.is_punct or prev.is_space or prev.lower_ in clause_openers or prev.like_num
                or bool(FACT_TOKEN.fullmatch(prev.text)))
    return clause_initial_forward


# on_modifies functions by name: name -> (word lists) -> function
ON_MODIFIES: Dict[str, Callable[[Dict[str, frozenset]], Callable]] = {
    "clause_initial_forward": lambda words: _clause_initial_forward(words["clause_openers"]),
}


def _pattern(raw: Any, words: Dict[str, List[str]], where: str, matcher) -> List[dict]:
    """The token pattern with "@name" word lists filled in, checked by spaCy's Matcher."""
    if not isinstance(raw, list) or not raw or not all(isinstance(t, dict) and t for t in raw):
        raise RuleError(f"{where}: pattern must be a non-empty list of token objects")

    def fill(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, str) and value.startswith("@"):
            if value[1:] not in words:
                raise RuleError(f"{where}: unknown word list {value!r}")
            return list(words[value[1:]])
        return value

    pattern = [fill(t) for t in raw]
    try:
        matcher.add("check", [pattern])
    except (ValueError, re.error) as e:  # spaCy's MatchPatternError is a ValueError
        raise RuleError(f"{where}: bad pattern: {' '.join(str(e).split())}") from None
    return pattern


def _check_file(data: Any) -> None:
    if not isinstance(data, dict) or set(data) - FILE_KEYS or "rules" not in data or "categories" not in data:
        raise RuleError(f"{RULES_FILE.name}: expected an object with {sorted(FILE_KEYS)}")
    if not isinstance(data["rules"], list) or not isinstance(data["categories"], dict):
        raise RuleError(f"{RULES_FILE.name}: 'rules' is a list and 'categories' an object")


def _where(i: int, raw: Any) -> str:
    """How an error names rule number i: its literal (or first literal) and category."""
    if not isinstance(raw, dict):
        return f"{RULES_FILE.name}: rule {i}"
    literals = raw.get("literals")
    label = raw.get("literal") or (literals[0] if isinstance(literals, list) and literals else None)
    return f"{RULES_FILE.name}: rule {i} ({label!r}, {raw.get('category')})"


def load(data: Optional[dict] = None) -> List[Any]:
    """The ConTextRule objects of the rule file (or of `data`, the same structure), in file order."""
    from medspacy.context import ConTextRule
    from spacy.matcher import Matcher
    from spacy.vocab import Vocab

    if data is None:
        data = json.loads(RULES_FILE.read_text(encoding="utf-8"))
    _check_file(data)
    categories = list(data["categories"])
    status = [c for c in categories if c not in MEDSPACY_CATEGORIES]
    words = {k: list(v) for k, v in data.get("word_lists", {}).items()}
    not_terminated_by = data.get("not_terminated_by", {})
    for cat, others in not_terminated_by.items():
        if cat not in status or not set(others) <= set(status):
            raise RuleError(f"not_terminated_by: {cat}: {others}: unknown category")
    frozen_words = {k: frozenset(v) for k, v in words.items()}
    functions: Dict[str, Callable] = {}
    checker = Matcher(Vocab(), validate=True)
    rules: List[Any] = []
    for i, raw in enumerate(data["rules"]):
        where = _where(i, raw)
        if not isinstance(raw, dict):
            raise RuleError(f"{where}: a rule is an object, not {raw!r}")
        if set(raw) - RULE_KEYS:
            raise RuleError(f"{where}: unknown fields {sorted(set(raw) - RULE_KEYS)}")
        category, direction = raw.get("category"), raw.get("direction")
        if category not in categories:
            raise RuleError(f"{where}: unknown category {category!r} (known: {', '.join(categories)})")
        allowed = (category,) if category in MEDSPACY_CATEGORIES else DIRECTIONS
        if direction not in allowed:
            raise RuleError(f"{where}: direction {direction!r} is not one of {', '.join(allowed)}")
        if ("literals" in raw) == ("literal" in raw) or ("pattern" in raw) != ("literal" in raw):
            raise RuleError(f"{where}: give either 'literals', or 'literal' with 'pattern'")
        literals = raw["literals"] if "literals" in raw else [raw["literal"]]
        if not isinstance(literals, list) or not literals or not all(isinstance(x, str) and x for x in literals):
            raise RuleError(f"{where}: literals must be non-empty strings")
        pattern = _pattern(raw["pattern"], words, where, checker) if "pattern" in raw else None
        if category in MEDSPACY_CATEGORIES and ("max_scope" in raw or "on_modifies" in raw):
            raise RuleError(f"{where}: max_scope and on_modifies are for status categories only")
        max_scope = raw.get("max_scope")
        if max_scope is not None and (not isinstance(max_scope, int) or isinstance(max_scope, bool) or max_scope < 1):
            raise RuleError(f"{where}: max_scope must be a positive integer")
        on_modifies = None
        if "on_modifies" in raw:
            name = raw["on_modifies"]
            if name not in ON_MODIFIES:
                raise RuleError(f"{where}: unknown on_modifies {name!r} (known: {', '.join(ON_MODIFIES)})")
            if name not in functions:
                functions[name] = ON_MODIFIES[name](frozen_words)
            on_modifies = functions[name]
        extra: Dict[str, Any] = {}
        if category not in MEDSPACY_CATEGORIES:
            ends = {c for c in status if c != category} - set(not_terminated_by.get(category, ()))
            extra = {"max_scope": max_scope, "on_modifies": on_modifies, "terminated_by": ends}
        for literal in literals:
            try:
                rules.append(ConTextRule(literal, category, direction=direction, pattern=pattern, **extra))
            except ValueError as e:
                raise RuleError(f"{where}: {literal!r}: {e}") from None
    return rules


def context_rules() -> List[Any]:
    """The ConTextRule objects of context_rules.json (new objects each call: one set per pipeline)."""
    return load()
