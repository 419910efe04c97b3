"""The action server for scale-out, live on loopback (started with `python -m actions` as scripts/actions does):
it listens on 127.0.0.1 by default, runs nothing without the action token (no action, no audit row), refuses
malformed action calls with the reason, and never sends the conversation back in an error."""
from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest

from bot import audit
from bot.plugins.action_server import ActionServerGuard
from tools.servers import ACTION_TOKEN

from .support import audit_count, http

pytestmark = pytest.mark.slow
SLOTS = {"relapse": "clinical", "prior_lines": 2, "refractory": ["daratumumab", "lenalidomide"], "fitness": "fit",
         "transplant_eligible": False, "age": 68}


def call(sender: str, **over) -> dict:
    """An action call as Rasa sends it: the turn's user message carries the Rasa server's stamp (keyed by the
    action token, bot/audit/provenance.py), without which no audit row is written."""
    user = {"event": "user", "text": "68M ...", "input_channel": "rest", "message_id": "m1",
            "metadata": {audit.STAMP_KEY: audit.stamp(ACTION_TOKEN, sender, "rest", "m1")}}
    body = {"next_action": "action_recommend", "sender_id": sender, "version": "3.6.21", "domain": {},
            "tracker": {"sender_id": sender, "slots": SLOTS, "events": [user], "paused": False, "followup_action": None,
                        "active_loop": {}, "latest_action_name": "action_listen",
                        "latest_message": {"text": "68M ...", "intent": {"name": "describe_case"}, "entities": [],
                                           "message_id": "m1"}}}
    body.update(over)
    return body


def deep(n: int):
    value: object = 1
    for _ in range(n):
        value = [value]
    return {"a": value}




def post(action_server, body: bytes, headers: dict, path: str = "/webhook"):
    status, text, _ = http("POST", f"http://127.0.0.1:{action_server.action_port}{path}", body, headers)
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


AUTH = {"Content-Type": "application/json", "Authorization": f"Bearer {ACTION_TOKEN}"}


def test_it_listens_on_loopback_only(action_server):
    port = f"{action_server.action_port:04X}"
    listening = [line.split()[1] for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
                 if line.split()[1].endswith(":" + port) and line.split()[3] == "0A"]
    assert listening == [f"0100007F:{port}"]  # 127.0.0.1, not 0.0.0.0
    assert not [line for line in Path("/proc/net/tcp6").read_text().splitlines()[1:]
                if line.split()[1].endswith(":" + port) and line.split()[3] == "0A"]


def test_without_the_token_no_action_runs_and_no_audit_row_is_written(action_server):
    body = json.dumps(call("guard-no-token")).encode()
    before = audit_count()
    for headers in ({"Content-Type": "application/json"},
                    {"Content-Type": "application/json", "Authorization": "Bearer wrong-token-0123456789"},
                    {"Content-Type": "application/json", "Authorization": ACTION_TOKEN},  # not a Bearer header
                    {"Content-Type": "application/json", "Authorization": f"Bearer {ACTION_TOKEN[:-1]}"}):
        status, reply = post(action_server, body, headers)
        assert status == 401 and reply["error"] == "unauthorized", headers
    status, reply = post(action_server, body, {"Content-Type": "application/json"}, f"/webhook?token={ACTION_TOKEN}")
    assert status == 401  # only the header: a query parameter would land in access logs
    status, _, _ = http("GET", f"http://127.0.0.1:{action_server.action_port}/actions")
    assert status == 401
    assert audit_count() == before
    # the same call with the token: the recommendation, and its audit row
    status, reply = post(action_server, body, AUTH)
    assert status == 200 and any((m.get("custom") or {}).get("type") == "rrmm_recommendation"
                                 for m in reply["responses"])
    assert audit_count() == before + 1
    assert http("GET", f"http://127.0.0.1:{action_server.action_port}/health")[0] == 200


@pytest.mark.parametrize("raw, extra, status, code", [
    (b"", {}, 400, "body_empty"),
    (b"not json", {}, 400, "body_not_json"),
    (b"[]", {}, 400, "body_wrong_type"),
    (json.dumps({"tracker": {}}).encode(), {}, 400, "missing_fields"),
    (json.dumps(call("x", next_action=5)).encode(), {}, 400, "next_action_invalid"),
    (json.dumps(call("x", tracker="t")).encode(), {}, 400, "tracker_invalid"),
    (json.dumps(call("x", admin=True)).encode(), {}, 400, "unknown_fields"),
    (json.dumps(call("x", domain=deep(70))).encode(), {}, 400, "body_too_deep"),
    (b"garbage", {"Content-Encoding": "deflate"}, 400, "body_not_deflate"),
    (zlib.compress(b"[1]"), {"Content-Encoding": "deflate"}, 400, "body_wrong_type"),
    (json.dumps(call("x", next_action="action_does_not_exist")).encode(), {}, 404, None),
], ids=["empty", "not json", "list", "no next_action", "number action", "tracker string", "unknown field", "deep",
        "bad deflate", "deflated list", "unknown action"])
def test_a_malformed_action_call_gets_a_4xx_with_the_reason(action_server, raw, extra, status, code):
    got, reply = post(action_server, raw, {**AUTH, **extra})
    assert got == status, reply
    assert code is None or reply["error"] == code
    assert "Traceback" not in json.dumps(reply)


def test_an_action_that_fails_answers_500_without_sending_the_conversation_back(action_server):
    body = call("guard-crash")
    del body["tracker"]["sender_id"]  # rasa_sdk cannot build the tracker: the action raises
    body["tracker"]["latest_message"]["text"] = "Jonathan Quincy Example, MRN 55501234"
    status, reply = post(action_server, json.dumps(body).encode(), AUTH)
    assert status == 500 and reply["error"] == "action_failed"
    assert "Jonathan" not in json.dumps(reply) and "55501234" not in json.dumps(reply)
    assert "Jonathan" not in (action_server.workdir / "actions.log").read_text(errors="replace")


def test_a_missing_token_is_generated_once_for_the_install(tmp_path, monkeypatch):
    monkeypatch.delenv("RRMM_ACTION_TOKEN", raising=False)
    monkeypatch.setenv("RRMM_ACTION_TOKEN_FILE", str(tmp_path / "action.token"))
    first, second = ActionServerGuard.from_env(), ActionServerGuard.from_env()
    assert first.token == second.token == (tmp_path / "action.token").read_text().strip()
    assert oct((tmp_path / "action.token").stat().st_mode & 0o777) == "0o600"
