"""Authentication comes before any look at the body (issue 18, finding 6), live on loopback: a malformed body
without valid credentials gets 401 on every door that takes the API token (Rasa's HTTP API, the REST channel,
the API for programs), never a 400 that tells an unauthenticated caller how its body was read."""
from __future__ import annotations

import pytest

from .support import http

pytestmark = pytest.mark.slow
BAD_BODIES = [b"", b"[]", b"not json", b'{"text": 5}', b"[" * 50 + b"]" * 50]


def test_a_bad_body_without_valid_credentials_gets_401_first(servers):
    base = f"http://127.0.0.1:{servers.rasa_port}"
    json_type = {"Content-Type": "application/json"}
    credentials = [{}, {"Authorization": "Bearer not-a-token-and-not-a-jwt"}, {"Authorization": "Basic eDp5"}]
    for body in BAD_BODIES:
        for extra in credentials:
            headers = {**json_type, **extra}
            for path in ("/conversations/auth-order/messages", "/conversations/auth-order/execute", "/model/parse",
                         "/conversations/auth-order/trigger_intent"):
                status, text, _ = http("POST", f"{base}{path}", body, headers)
                assert status == 401, (path, body[:10], extra, status, text[:200])
            status, _, _ = http("POST", f"{base}/conversations/auth-order/messages?token=wrong-token-000000",
                                body, json_type)
            assert status == 401
            for path in ("/webhooks/rest/webhook", "/api/v1/recommend"):
                status, text, _ = http("POST", f"{base}{path}", body, headers)
                assert status == 401, (path, body[:10], extra, status, text[:200])
