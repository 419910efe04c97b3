"""The one error format (bot/problems.py), as the batch and every HTTP door build it: RFC 9457 members, each problem
with its field and rule, the older members beside them, never the value sent."""
from hypothesis import given
from hypothesis import strategies as st

from bot import problems
from bot.clinical.models import CaseError, parse_case


def test_a_problem_has_the_rfc_9457_members_and_the_older_ones():
    p = problems.problem(404, "not_found", "unknown trial", [{"field": "id", "rule": "a trial of the knowledge base"}],
                         suggestions=["CANDOR"])
    assert p == {"type": "urn:rrmm:problem:not_found", "title": "Not Found", "status": 404, "detail": "unknown trial",
                 "errors": [{"field": "id", "rule": "a trial of the knowledge base"}], "error": "not_found",
                 "reason": "unknown trial", "suggestions": ["CANDOR"]}
    assert problems.ProblemDetails(**p).dict() == p  # the model the contract documents


def test_an_invalid_case_names_each_field_and_rule_never_the_value():
    try:
        parse_case({"prior_lines": -4, "relapse": "clinical", "refractory": ["MRN 5550123"], "fitness": "sprightly"})
    except CaseError as exc:
        messages = exc.problems
    p = problems.invalid_case(messages)
    assert p["status"] == 422 and p["title"] == "Invalid case" and p["problems"] == messages
    fields = [e["field"] for e in p["errors"]]
    assert sorted(fields) == ["fitness", "prior_lines", "refractory"]
    assert "5550123" not in str(p["errors"]) and "sprightly" not in str(p["errors"])


@given(st.lists(st.text(max_size=60), max_size=5))
def test_every_message_becomes_exactly_one_field_and_rule(messages):
    rules = problems.field_rules(messages)
    assert len(rules) == len(messages)
    for message, rule in zip(messages, rules, strict=True):
        assert rule["field"] and (rule["field"] == "case" and rule["rule"] == message
                                  or message == f"{rule['field']}: {rule['rule']}")


def test_a_refusal_of_any_channel_answers_in_the_same_format():
    from bot.plugins import inbound

    refusal = inbound.parse_json(b"\xff\xfe", dict)
    body = refusal.body()
    assert body["type"] == "urn:rrmm:problem:body_not_utf8" and body["status"] == 400
    assert body["errors"] == [{"field": "body", "rule": "the body is not UTF-8 text"}]
    assert (body["error"], body["reason"]) == ("body_not_utf8", body["detail"])


def test_the_readme_s_error_example_is_what_the_api_answers():
    """README, "Other programs": the curl body and the answer shown are the code's (the older members aside)."""
    import json
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    part = readme[readme.index("An invalid case:"):]
    sent = json.loads(re.search(r"-d '(\{.*?\})'", part).group(1))
    shown = json.loads(re.search(r"```json\n(.*?)```", part, re.S).group(1))
    try:
        parse_case(sent)
    except CaseError as exc:
        actual = problems.invalid_case(exc.problems)
    for key in ("type", "title", "status", "detail"):
        assert shown[key] == actual[key], key
    assert [(e["field"], e["rule"]) for e in shown["errors"]] == [(e["field"], e["rule"]) for e in actual["errors"]]
    assert set(shown) == set(actual)
