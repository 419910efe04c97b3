"""The NLU rule files (bot/nlu/context_rules.json, bot/nlu/facts.json) load, and a broken rule is named."""
import copy
import json

import pytest

from bot.nlu import context_rules

CONTEXT = json.loads(context_rules.RULES_FILE.read_text(encoding="utf-8"))


def _context_with(rule):
    data = copy.deepcopy(CONTEXT)
    data["rules"].append(rule)
    return data


def test_context_rules_file_loads_every_category():
    rules = context_rules.context_rules()
    assert {r.category for r in rules} == set(CONTEXT["categories"])
    assert len(rules) == sum(len(g.get("literals", [None])) for g in CONTEXT["rules"])


@pytest.mark.parametrize("rule, message", [
    ({"category": "REFRACTRY", "direction": "FORWARD", "literals": ["refr to"]}, "unknown category 'REFRACTRY'"),
    ({"category": "EXPOSED", "direction": "SIDEWAYS", "literals": ["had"]}, "direction 'SIDEWAYS'"),
    ({"category": "EXPOSED", "direction": "FORWARD", "literal": "bad", "pattern": [{"LOWR": "had"}]}, "bad pattern"),
    ({"category": "EXPOSED", "direction": "FORWARD", "literal": "bad", "pattern": [{"TEXT": {"REGEX": "("}}]},
     "bad pattern"),
    ({"category": "EXPOSED", "direction": "FORWARD", "literal": "bad", "pattern": []}, "non-empty list"),
    ({"category": "EXPOSED", "direction": "FORWARD", "literal": "bad", "pattern": [{"LOWER": {"IN": "@nope"}}]},
     "unknown word list '@nope'"),
    ({"category": "EXPOSED", "direction": "FORWARD", "literals": ["had"], "on_modifies": "nope"},
     "unknown on_modifies 'nope'"),
    ({"category": "EXPOSED", "direction": "FORWARD", "literals": ["had"], "max_scope": 0}, "max_scope"),
    ({"category": "EXPOSED", "direction": "FORWARD", "literals": ["had", ""]}, "non-empty strings"),
    ({"category": "EXPOSED", "direction": "FORWARD", "literals": ["had"], "scope": 3}, "unknown fields ['scope']"),
    ({"category": "EXPOSED", "direction": "FORWARD", "literal": "had"}, "either 'literals'"),
    ({"category": "TERMINATE", "direction": "FORWARD", "literals": ["however"]}, "direction 'FORWARD'"),
    ({"category": "PSEUDO", "direction": "PSEUDO", "literals": ["why not"], "max_scope": 2}, "status categories"),
])
def test_a_broken_context_rule_is_named(rule, message):
    with pytest.raises(context_rules.RuleError) as err:
        context_rules.load(_context_with(rule))
    n = len(CONTEXT["rules"])
    assert message in str(err.value)
    assert f"rule {n} (" in str(err.value)  # the rule's index, literal and category


def test_a_broken_context_file_is_refused():
    with pytest.raises(context_rules.RuleError):
        context_rules.load({"rules": []})
    data = copy.deepcopy(CONTEXT)
    data["not_terminated_by"] = {"MAINTENANCE": ["REFRACTRY"]}
    with pytest.raises(context_rules.RuleError, match="not_terminated_by"):
        context_rules.load(data)
