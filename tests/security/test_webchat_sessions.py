"""The web chat reaches only conversations it created (issue 18, findings 1 and 4), live on loopback with a
python-socketio client against the session's Rasa server (tools/servers.py, credentials.yml as scripts/serve):
a `session_request` naming a conversation of the token-protected REST channel is refused with a message and
a new session, a message naming it is refused and changes nothing (no summary, no correction, no audit row),
a third-party widget's own UUID gets its own new web-chat conversation, a reload resumes the session the
server issued, and an id with a trailing newline is refused."""
from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import socketio

from .support import api, audit_count, rest

pytestmark = pytest.mark.slow
CASE = "68M, 2 prior lines, refractory to lenalidomide and daratumumab, fit, not transplant eligible, clinical relapse"


def chat(base: str, session_id, messages, wait: float = 30.0):
    """Connects, asks for `session_id`, sends `messages` (a callable gets the confirmed id); returns (confirmed
    id, bot_uttered events)."""
    async def go():
        client = socketio.AsyncClient()
        got, confirmed = [], []
        client.on("bot_uttered", got.append)
        client.on("session_confirm", confirmed.append)
        await client.connect(base, transports=["polling"], wait_timeout=10)
        try:
            await client.emit("session_request", {"session_id": session_id})
            deadline = time.monotonic() + 10
            while not confirmed and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            expected = len(got)
            for m in messages:
                await client.emit("user_uttered", m(confirmed[0]) if callable(m) else m)
                expected += 1
                deadline = time.monotonic() + wait
                while len(got) < expected and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)
        finally:
            await client.eio.disconnect(abort=True)  # a polite disconnect waits for the long poll (25 s)
        return confirmed[0], got
    return asyncio.run(go())




def texts(events) -> str:
    return "\n".join(str(e.get("text") or "") + str(e.get("html") or "") for e in events)


def test_a_rest_conversation_cannot_be_reached_from_the_web_chat(servers):
    base = f"http://127.0.0.1:{servers.rasa_port}"
    conv = f"ehr-{uuid.uuid4().hex[:8]}"
    status, replies = rest(base, {"sender": conv, "message": CASE})
    assert status == 200 and any("custom" in r for r in replies)
    before = api(base, "GET", f"/conversations/{conv}/tracker")[1]
    rows = audit_count()

    confirmed, got = chat(base, conv, [
        {"session_id": conv, "message": "summary"},
        {"session_id": conv, "message": "note"},
        {"session_id": conv, "message": "actually he's frail"},
    ])
    assert confirmed != conv and len(confirmed) == 64  # a new session, issued by the server
    errors = [g for g in got if g.get("error") == "session_invalid"]
    assert len(errors) == 4, got  # the session request, then each message
    assert "started a new conversation" in errors[0]["text"]
    assert "lenalidomide" not in texts(got).lower() and "KPd" not in texts(got) and "68" not in texts(got)
    after = api(base, "GET", f"/conversations/{conv}/tracker")[1]
    assert after["events"] == before["events"] and after["slots"]["fitness"] == "fit"
    assert audit_count() == rows
    # the id the server gave instead names a conversation of its own: empty, not the REST one
    assert [e for e in api(base, "GET", f"/conversations/{confirmed}/tracker")[1]["events"]
            if e.get("event") == "user"] == []


def test_a_widget_s_own_uuid_gets_a_new_web_chat_conversation_and_a_reload_resumes_it(servers):
    base = f"http://127.0.0.1:{servers.rasa_port}"
    own = str(uuid.uuid4())  # as a third-party widget may send it
    confirmed, got = chat(base, own, [lambda sid: {"session_id": sid, "message": "help"}])
    assert confirmed != own and len(confirmed) == 64
    answers = [g for g in got if not g.get("error")]
    assert answers and all(g["text"] for g in answers)
    events = api(base, "GET", f"/conversations/{confirmed}/tracker")[1]["events"]
    users = [e for e in events if e.get("event") == "user"]
    assert [u["text"] for u in users] == ["help"] and users[0]["input_channel"] == "socketio"
    assert [e for e in api(base, "GET", f"/conversations/{own}/tracker")[1]["events"] if e.get("event") == "user"] == []
    # a reload sends the id it was given: the same conversation, no error
    again, got = chat(base, confirmed, [lambda sid: {"session_id": sid, "message": "help"}])
    assert again == confirmed and not any(g.get("error") for g in got)
    events = api(base, "GET", f"/conversations/{confirmed}/tracker")[1]["events"]
    assert len([e for e in events if e.get("event") == "user"]) == 2
    # a forged id (one digit changed), or the issued id with a trailing newline, is not resumed
    forged = confirmed[:-1] + ("0" if confirmed[-1] != "0" else "1")
    for bad in (forged, confirmed + "\n"):
        other, got = chat(base, bad, [{"session_id": bad, "message": "help"}])
        assert other not in (bad, confirmed) and [g.get("error") for g in got] == ["session_invalid"] * 2
