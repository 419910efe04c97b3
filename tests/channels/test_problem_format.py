"""One error format for every 4xx and 5xx of the HTTP API, the REST channel and the webhooks (bot/problems.py):
RFC 9457 `application/problem+json` with type, title, status, detail and errors [{field, rule}], the older `error`
and `reason` beside them, wrong methods (405 with Allow) and unknown paths included; never the value sent. Checked on
the live server against the OpenAPI document's own schema."""
from __future__ import annotations

import json
import urllib.request

import pytest

from tools.servers import API_TOKEN

from .support import ROOT

pytestmark = pytest.mark.slow
AUTH = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"}
CASE = json.loads((ROOT / "examples" / "case-len-dara-refractory.json").read_text())
SECRET_LOOKING = "MRN-77310452"  # sent in each bad request: never to be echoed


def call(server, method, path, body=None, headers=None):
    req = urllib.request.Request(server.base + path, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode(), {k.lower(): v for k, v in r.headers.items()}
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), {k.lower(): v for k, v in e.headers.items()}


# (what, method, path, body, headers, status, code)
CASES = [
    ("API without the token", "GET", "/api/v1/regimens/KPd", None, {}, 401, "unauthorized"),
    ("API, an unknown query parameter", "GET", f"/api/v1/regimens/KPd?{SECRET_LOOKING}=1", None, AUTH, 400,
     "unknown_parameters"),
    ("API, a body that is not JSON", "POST", "/api/v1/recommend", SECRET_LOOKING.encode(), AUTH, 400,
     "body_not_json"),
    ("API, a body over the limit", "POST", "/api/v1/recommend", b'{"a": "' + b"x" * 200_000 + b'"}', AUTH, 413,
     "body_too_large"),
    ("API, an invalid case", "POST", "/api/v1/recommend",
     json.dumps({**CASE, "prior_lines": -3, "refractory": [SECRET_LOOKING]}).encode(), AUTH, 422, "case_invalid"),
    ("API, an unknown regimen", "GET", f"/api/v1/regimens/{SECRET_LOOKING}", None, AUTH, 404, "not_found"),
    ("API, an unknown drug", "GET", f"/api/v1/regimens?drug={SECRET_LOOKING}", None, AUTH, 404, "not_found"),
    ("API, an unknown path", "GET", f"/api/v1/{SECRET_LOOKING}", None, AUTH, 404, "not_found"),
    ("API, a wrong method", "GET", "/api/v1/recommend", None, AUTH, 405, "method_not_allowed"),
    ("API, a wrong method on a look-up", "DELETE", "/api/v1/trials/CANDOR", None, AUTH, 405, "method_not_allowed"),
    ("REST without the token", "POST", "/webhooks/rest/webhook", b"{}", {"Content-Type": "application/json"}, 401,
     "unauthorized"),
    ("REST, no sender", "POST", "/webhooks/rest/webhook", json.dumps({"message": SECRET_LOOKING}).encode(), AUTH,
     400, "sender_missing"),
    ("REST, a wrong method", "GET", "/webhooks/rest/webhook", None, AUTH, 405, "method_not_allowed"),
    ("Slack, not signed", "POST", "/webhooks/slack/webhook", json.dumps({"token": SECRET_LOOKING}).encode(),
     {"Content-Type": "application/json"}, 401, "unauthorized"),
    ("Teams, not signed", "POST", "/webhooks/botframework/webhook", json.dumps({"id": SECRET_LOOKING}).encode(),
     {"Content-Type": "application/json"}, 401, "unauthorized"),
    ("an unknown webhook", "POST", f"/webhooks/{SECRET_LOOKING}/webhook", b"{}", {}, 404, "not_found"),
    ("the web chat, an unknown file", "GET", f"/chat/{SECRET_LOOKING}.js", None, {}, 404, "not_found"),
]


@pytest.fixture(scope="module")
def problem_schema(channel_server):
    from openapi_schema_validator import OAS30Validator

    status, text, _ = call(channel_server, "GET", "/api/v1/openapi.json")
    doc = json.loads(text)
    schema = {**doc["components"]["schemas"]["Problem"], "components": doc["components"]}
    return OAS30Validator(schema)


@pytest.mark.parametrize("what,method,path,body,headers,status,code", CASES, ids=[c[0] for c in CASES])
def test_every_error_is_problem_details_naming_the_field_and_rule_never_the_value(
        channel_server, problem_schema, what, method, path, body, headers, status, code):
    got, text, hdrs = call(channel_server, method, path, body, headers)
    assert got == status, (what, got, text[:300])
    assert hdrs.get("content-type", "").startswith("application/problem+json"), (what, hdrs.get("content-type"))
    problem = json.loads(text)
    problem_schema.validate(problem)
    assert problem["type"] == f"urn:rrmm:problem:{code}" and problem["status"] == status
    assert problem["title"] and problem["detail"]
    assert (problem["error"], problem["reason"]) == (code, problem["detail"]), "the older members, kept"
    assert SECRET_LOOKING not in text and SECRET_LOOKING.lower() not in text.lower(), f"{what} echoes the value sent"
    for entry in problem["errors"]:
        assert entry["field"] and entry["rule"]
    if status in (400, 401, 413, 422):
        assert problem["errors"], f"{what}: which field, and which rule"
    if status == 405:
        assert hdrs.get("allow") and problem["errors"] == [{"field": "method", "rule": f"one of {hdrs['allow']}"}]


def test_an_invalid_case_names_each_field_with_its_rule_and_keeps_the_older_members(channel_server):
    body = json.dumps({**CASE, "prior_lines": 0, "fitness": "sprightly"}).encode()
    status, text, _ = call(channel_server, "POST", "/api/v1/recommend", body, AUTH)
    problem = json.loads(text)
    assert status == 422 and problem["title"] == "Invalid case"
    fields = {e["field"]: e for e in problem["errors"]}
    assert set(fields) == {"prior_lines", "fitness"}
    assert all(e["message"] == e["rule"] for e in problem["errors"]), "`message`, the older name, kept"
    assert "sprightly" not in text and problem["problems"]


def test_a_channel_that_is_off_answers_503_in_the_same_format(tmp_path):
    """A Slack or Teams connector without its secrets (bot.plugins.channels.base.OffChannel)."""
    from bot.plugins.channels.base import off_channel

    channel = off_channel("slack", "Slack", ["SLACK_BOT_TOKEN"])
    route = next(r for r in channel.blueprint(None)._future_routes if r.uri == "/webhook")
    import asyncio

    answer = asyncio.run(route.handler(None))
    problem = json.loads(answer.body)
    assert answer.status == 503 and answer.content_type == "application/problem+json"
    assert problem["type"] == "urn:rrmm:problem:channel_off" and problem["state"] == "off"
    assert problem["errors"] == [{"field": "SLACK_BOT_TOKEN", "rule": "set in the server's environment"}]
