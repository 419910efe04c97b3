"""Rasa's HTTP API, live on loopback (the session's servers, started as scripts/serve starts them): nothing
about a conversation or the model without the API token, and a refused request changes nothing."""
from __future__ import annotations

import pytest

from tools.servers import ACTION_TOKEN

from .support import API_TOKEN, api, http, rest

pytestmark = pytest.mark.slow
CASE = "68M, 2 prior lines, refractory to lenalidomide and daratumumab, fit, not transplant eligible, clinical relapse"


def protected(conv):
    return [
        ("GET", "/status", None),
        ("GET", "/domain", None),
        ("GET", f"/conversations/{conv}/tracker", None),
        ("GET", f"/conversations/{conv}/story", None),
        ("POST", f"/conversations/{conv}/tracker/events", {"event": "slot", "name": "fitness", "value": "frail"}),
        ("PUT", f"/conversations/{conv}/tracker/events", [{"event": "restart"}]),
        ("POST", f"/conversations/{conv}/execute", {"name": "action_restart"}),
        ("POST", f"/conversations/{conv}/trigger_intent", {"name": "new_case"}),
        ("POST", f"/conversations/{conv}/predict", None),
        ("POST", f"/conversations/{conv}/messages", {"text": "she is frail", "sender": "user"}),
        ("POST", "/model/parse", {"text": "hello"}),
        ("POST", "/model/train", {}),
        ("POST", "/model/test/intents", {}),
        ("PUT", "/model", {"model_file": "/tmp/another-model.tar.gz"}),
        ("DELETE", "/model", None),
    ]


def test_without_the_token_nothing_is_read_injected_or_replaced(servers):
    base = f"http://127.0.0.1:{servers.rasa_port}"
    conv = "api-guard-case"
    status, replies = rest(base, {"sender": conv, "message": CASE})
    assert status == 200 and any("custom" in r for r in replies)
    before = api(base, "GET", f"/conversations/{conv}/tracker")[1]
    model = api(base, "GET", "/status")[1]["model_file"]

    for token in (None, "wrong-token-0123456789", API_TOKEN[:-1]):
        for method, path, payload in protected(conv):
            status, body = api(base, method, path, payload, token=token)
            assert status in (401, 403), (method, path, token, status)
            assert body["reason"] == "NotAuthenticated" and "fitness" not in str(body)
    # a Bearer header is the REST channel's way; Rasa's HTTP API takes the static token only as ?token=
    status, _, _ = http("GET", f"{base}/conversations/{conv}/tracker", headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert status == 401

    after = api(base, "GET", f"/conversations/{conv}/tracker")[1]
    assert after["events"] == before["events"] and after["slots"]["fitness"] == "fit"
    assert api(base, "GET", "/status")[1]["model_file"] == model
    status, replies = rest(base, {"sender": "api-guard-after", "message": CASE})
    assert status == 200 and replies[0]["text"].startswith("Read as: ") and "\n1. SVd, " in replies[0]["text"]


def test_only_the_greeting_and_version_and_the_health_checks_are_open(servers):
    base = f"http://127.0.0.1:{servers.rasa_port}"
    for path, expected in (("/", "Hello from Rasa"), ("/version", "minimum_compatible_version"),
                           ("/webhooks/rest/", "ok"), ("/chat/health", "ok"), ("/api/v1/", "ok"),
                           ("/api/v1/openapi.json", '"openapi":"3.0.3"')):
        status, text, _ = http("GET", base + path)
        assert status == 200 and expected in text, path
    status, text, _ = http("POST", f"{base}/webhooks/rest/webhook", b'{"sender": "x1", "message": "hi"}',
                           {"Content-Type": "application/json"})
    assert status == 401 and "Authorization: Bearer" in text
    for method, path in (("POST", "/api/v1/recommend"), ("GET", "/api/v1/regimens/KPd"),
                         ("GET", "/api/v1/trials/CANDOR")):
        status, text, _ = http(method, base + path, b"{}" if method == "POST" else None,
                               {"Content-Type": "application/json"})
        assert status == 401 and "Authorization: Bearer" in text, path


def test_the_token_never_reaches_a_log(servers):
    for name in ("rasa.log",):  # the actions run inside the Rasa server: one log
        text = (servers.workdir / name).read_text(errors="replace")
        assert API_TOKEN not in text and ACTION_TOKEN not in text, name


@pytest.mark.parametrize("method, path, raw", [
    ("POST", "/model/parse", b"[]"),
    ("POST", "/model/parse", b'{"text": 5}'),
    ("POST", "/model/parse", b"garbage"),
    ("POST", "/model/parse", b'{"text": "68M \\u0000 fit"}'),
    ("POST", "/model/parse", b'{"text": "' + b"x" * 5000 + b'"}'),
    ("POST", "/conversations/api-bad/messages", b"[]"),
    ("POST", "/conversations/api-bad/messages", b'{"text": ["hi"], "sender": "user"}'),
    ("POST", "/conversations/api-bad/execute", b'{"name": 5}'),
    ("POST", "/conversations/api-bad/trigger_intent", b'{"entities": {}}'),
    ("POST", "/conversations/api-bad/tracker/events", b"["),
    ("POST", "/conversations/api-bad/tracker/events", b"[1, 2]"),
    ("PUT", "/model", b"garbage"),
    ("POST", "/model/parse", b'{"a": ' * 40 + b"1" + b"}" * 40),
], ids=lambda v: v if isinstance(v, str) else None)
def test_with_the_token_a_malformed_body_gets_a_4xx_not_a_500(servers, method, path, raw):
    base = f"http://127.0.0.1:{servers.rasa_port}"
    status, text, _ = http(method, f"{base}{path}?token={API_TOKEN}", raw, {"Content-Type": "application/json"})
    assert 400 <= status < 500, (status, text[:300])
    assert http(method, f"{base}{path}", raw, {"Content-Type": "application/json"})[0] == 401  # the key first
