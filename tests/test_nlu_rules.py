"""The NLU rule files (bot/nlu/context_rules.json, bot/nlu/facts.json) load, and a broken rule is named; person
names come from bot.privacy."""
import copy
import json

import pytest

from bot.nlu import context_rules, facts
from bot.nlu.extract import ENTITY_NAMES

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


# ---- facts.json ---------------------------------------------------------------------------------------------
FACTS = json.loads(facts.RULES_FILE.read_text(encoding="utf-8"))


def _facts_with(entry=None, finding=None, fragments=None):
    data = copy.deepcopy(FACTS)
    if entry is not None:
        data["facts"][0]["rules"].append(entry)
    if finding is not None:
        data["findings"].append(finding)
    if fragments is not None:
        data["fragments"].update(fragments)
    return data


def test_facts_file_loads():
    rules, findings = facts.load(["lenalidomide", "len"], entities=ENTITY_NAMES)
    assert len(rules) == sum(len(e.get("patterns", [None])) for s in FACTS["facts"] for e in s["rules"])
    assert len(findings) == sum(len(g["rules"]) for g in FACTS["findings"])
    assert rules[0].pattern.search("3 months off len")


@pytest.mark.parametrize("entry, message", [
    ({"entity": "age", "value": 1, "pattern": "{NOPE}x"}, "unknown fragment {NOPE}"),
    ({"entity": "age", "fn": "nope", "pattern": "x"}, "unknown fn 'nope'"),
    ({"entity": "age", "fn": "unless_not", "pattern": "x"}, "needs \"value\""),
    ({"entity": "age", "fn": "age", "value": 3, "pattern": "x"}, "takes no \"value\""),
    ({"entity": "age", "value": 1, "pattern": "(x"}, "bad regex"),
    ({"entity": "age", "fn": "age", "span": "s", "claim": "span", "pattern": "x"}, "no group 's'"),
    ({"entity": "agee", "value": 1, "pattern": "x"}, "unknown entity 'agee'"),
    ({"entity": "age", "value": 1, "pattern": "x", "flags": "i"}, "unknown fields ['flags']"),
    ({"entity": "age", "value": 1, "pattern": "x", "patterns": ["y"]}, "either \"pattern\" or \"patterns\""),
    ({"entity": "age", "value": 1, "claim": "all", "pattern": "x"}, "claim"),
    ({"entity": "age", "value": 1, "case": "yes", "pattern": "x"}, "case is true or false"),
])
def test_a_broken_fact_rule_is_named(entry, message):
    with pytest.raises(facts.FactRuleError) as err:
        facts.load(["len"], _facts_with(entry=entry), entities=ENTITY_NAMES)
    n = len(FACTS["facts"][0]["rules"])
    assert message in str(err.value)
    assert f"facts.json: facts[0].rules[{n}]" in str(err.value)


@pytest.mark.parametrize("finding, message", [
    ({"entity": "comorbidity", "value": "x", "rules": [{"pattern": "(?P<v>\\d+)", "role": {"fn": "threshold",
      "group": "w", "below": 1}}]}, "no group 'w'"),
    ({"entity": "comorbidity", "value": "x", "rules": [{"pattern": "x", "role": "present"}]}, "role is \"absent\""),
    ({"entity": "comorbidity", "value": "x", "rules": [{"pattern": "x["}]}, "bad regex"),
    ({"entity": "comorbidity", "value": "x", "needs": ["CKD"], "rules": [{"pattern": "x"}]}, "lower-case"),
])
def test_a_broken_finding_rule_is_named(finding, message):
    with pytest.raises(facts.FactRuleError) as err:
        facts.load(["len"], _facts_with(finding=finding), entities=ENTITY_NAMES)
    assert message in str(err.value)
    assert f"facts.json: findings[{len(FACTS['findings'])}]" in str(err.value)


def test_fragments_are_checked():
    with pytest.raises(facts.FactRuleError, match="refers to itself"):
        facts.load(["len"], _facts_with(fragments={"LOOP": "a{LOOP}"}))
    with pytest.raises(facts.FactRuleError, match="given by the code"):
        facts.load(["len"], _facts_with(fragments={"LEN": "len"}))


# ---- person names come from bot.privacy -----------------------------------------------------------------------
def test_a_drug_alias_inside_a_privacy_person_name_is_not_a_drug(monkeypatch):
    from bot.nlu import pipeline
    from bot.nlu.extract import extract
    from bot.privacy import Redaction

    text = "Len Smith, 68M, refractory to pom"
    monkeypatch.setattr(pipeline, "redact", lambda t: Redaction(t, (("person_name", 0, 9),)))
    drugs = {(e["value"], e.get("role")) for e in extract(text) if e["entity"] == "drug"}
    assert drugs == {("pomalidomide", "refractory")}


# A drug alias as a given name: bot.privacy's detector finds these names, so the extractor skips the drug.
@pytest.mark.parametrize("text", ["Len Smith, 68M, refractory to pom", "Mr Mel Jones, 2 prior lines",
                                  "Dr Isa Khan asks about KRd", "patient Dara Brown is refractory to pom",
                                  "pt Len, 70F", "called Len, refractory to pom", "named Mel Wong"])
def test_drug_alias_as_a_given_name(text):
    from bot.nlu.extract import extract
    assert {e["value"] for e in extract(text) if e["entity"] == "drug"} <= {"pomalidomide"}
