"""Who may use the channels, live on loopback (the channel tests' Rasa server, with allow-lists and Rasa's JWT
option in its environment): web chat origins for socket.io's polling and websocket transports, session ids
and error events; Slack workspaces and Teams tenants; JWT scopes on the REST channel and the HTTP API."""
from __future__ import annotations

import asyncio
import json
import time
import uuid

import jwt
import pytest
import socketio
import websockets

from tools.servers import API_TOKEN

from .support import CASE, INTRANET, SLACK_TEAM, slack_headers, teams_token, wait_until
from .test_slack_channel import event
from .test_teams_channel import activity, send

pytestmark = pytest.mark.slow
POLL = "/socket.io/?EIO=4&transport=polling"


# ---- web chat: origins --------------------------------------------------------------------------------------
def test_the_page_s_own_origin_and_listed_origins_may_connect_others_not(channel_server):
    own = channel_server.base
    for origin in (own, INTRANET):
        status, body, headers = channel_server.get(POLL, {"Origin": origin})
        assert status == 200 and body.startswith("0{") and headers.get("Access-Control-Allow-Origin") == origin
    status, body, headers = channel_server.get(POLL, {})  # no Origin: not a browser page on another site
    assert status == 200
    status, body, headers = channel_server.get(POLL, {"Origin": "http://evil.example"})
    assert status == 400 and "not an accepted origin" in body and "Access-Control-Allow-Origin" not in headers
    assert "refused a connection from origin http://evil.example" in channel_server.log.read_text()


def test_the_websocket_transport_checks_the_origin_too(channel_server):
    url = channel_server.base.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"

    async def open_with(origin):
        async with websockets.connect(url, origin=origin, open_timeout=10) as ws:
            return await asyncio.wait_for(ws.recv(), 10)

    assert asyncio.run(open_with(INTRANET)).startswith("0{")
    with pytest.raises(websockets.exceptions.InvalidStatusCode) as err:
        asyncio.run(open_with("http://evil.example"))
    assert err.value.status_code == 400


# ---- web chat: session ids and messages that cannot be accepted -------------------------------------------
def chat(channel_server, session_id, messages, wait=20.0, expect=None):
    """Connects (polling), asks for `session_id`, sends `messages` (a callable gets the confirmed id); waits for
    `expect` events (default one per message); returns (confirmed id, bot_uttered events)."""
    async def go():
        client = socketio.AsyncClient()
        got, confirmed = [], []
        client.on("bot_uttered", got.append)
        client.on("session_confirm", confirmed.append)
        await client.connect(channel_server.base, transports=["polling"], wait_timeout=10)
        try:
            await client.emit("session_request", {"session_id": session_id})
            deadline = time.monotonic() + 10
            while not confirmed and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            for m in messages:
                await client.emit("user_uttered", m(confirmed[0]) if callable(m) else m)
            deadline = time.monotonic() + wait
            while len(got) < (expect or len(messages)) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)
        finally:
            await client.eio.disconnect(abort=True)  # a polite disconnect waits for the long poll (25 s)
        return confirmed[0], got
    return asyncio.run(go())


def test_a_widget_s_own_uuid_gets_a_new_session_whose_conversation_is_answered(channel_server):
    session = str(uuid.uuid4())  # as a third-party Rasa widget may send it: not issued here, so not resumed
    confirmed, got = chat(channel_server, session, [lambda sid: {"session_id": sid, "message": "help"}], expect=2)
    assert confirmed != session and len(confirmed) == 64  # the server's signed id, which the widget adopts
    assert got[0]["error"] == "session_invalid" and not any(g.get("error") for g in got[1:]) and len(got) > 1
    assert channel_server.user_events(confirmed)[0]["text"] == "help"
    assert channel_server.user_events(session) == []
    again, got = chat(channel_server, confirmed, [])
    assert again == confirmed and got == []  # a reload resumes the session the server issued
    confirmed, _ = chat(channel_server, "bad id!", [])
    assert len(confirmed) == 64 and confirmed != "bad id!"  # a new session instead


def test_a_message_that_cannot_be_accepted_gets_an_error_event_never_silence(channel_server):
    bad = [
        {"session_id": "no", "message": "help"},                   # not a valid session id
        {"message": "help"},                                        # none at all
        {"session_id": uuid.uuid4().hex, "message": "help"},        # not issued by this server
        lambda sid: {"session_id": sid, "message": 42},                     # not text
        lambda sid: {"session_id": sid, "message": " \u0000 "},             # nothing left to read
        lambda sid: {"session_id": sid, "message": "fit " * 1200},          # over RRMM_MAX_MESSAGE_CHARS
        lambda sid: {"session_id": sid, "message": "help", "metadata": "{not json"},
        "just a string",
    ]
    session, got = chat(channel_server, None, bad)
    errors = [g["error"] for g in got]
    assert errors == ["session_invalid", "session_invalid", "session_invalid", "message_not_text", "message_empty",
                      "message_too_long", "metadata_invalid", "message_invalid"], got
    assert all(g["text"] for g in got)
    assert "at most 4,000" in got[5]["text"]
    assert channel_server.user_events(session) == []  # nothing reached the conversation


# ---- Slack workspaces and Teams tenants ----------------------------------------------------------------------
def test_slack_events_of_another_workspace_are_refused(channel_server, stand_in):
    secret = channel_server.secrets["SLACK_SIGNING_SECRET"]
    body = event("U0ELSEWHERE", "D0ELSEWHERE", CASE).replace(f'"team_id": "{SLACK_TEAM}"'.encode(),
                                                             b'"team_id": "T0EVIL"')
    status, text, _ = channel_server.post("/webhooks/slack/webhook", body, slack_headers(secret, body))
    assert status == 403 and "workspace" in text
    time.sleep(2)
    assert stand_in.slack_posts("D0ELSEWHERE") == []
    assert "refused a request from workspace T0EVIL" in channel_server.log.read_text()
    ok = event("U0LISTED", "D0LISTED", "help").replace(f'"team_id": "{SLACK_TEAM}"'.encode(), b'"team_id": "T0OTHER"')
    assert channel_server.post("/webhooks/slack/webhook", ok, slack_headers(secret, ok))[0] == 200
    wait_until(lambda: stand_in.slack_posts("D0LISTED"), 60, "an answer in the second listed workspace")


def test_teams_activities_of_another_tenant_are_refused(channel_server, stand_in):
    for tenant in ("e7e7e7e7-aaaa-4bbb-accc-evilevilevil", None):
        conv = f"a:conv-tenant-{tenant}"
        body = activity(stand_in, "29:outsider", conv, CASE)
        body["channelData"] = {"tenant": {"id": tenant}} if tenant else {}
        body["conversation"] = {"id": conv, **({"tenantId": tenant} if tenant else {})}
        status, text, _ = send(channel_server, body, teams_token(stand_in, channel_server, body["serviceUrl"]))
        assert status == 403 and "tenant" in text
        time.sleep(1)
        assert stand_in.teams_posts(conv) == []
    assert "refused an activity from tenant e7e7e7e7-aaaa-4bbb-accc-evilevilevil" in channel_server.log.read_text()


def test_a_slack_or_teams_message_over_the_limit_is_answered_with_the_limit(channel_server, stand_in):
    secret = channel_server.secrets["SLACK_SIGNING_SECRET"]
    body = event("U0LONG", "D0LONG", "fit " * 1100)
    assert channel_server.post("/webhooks/slack/webhook", body, slack_headers(secret, body))[0] == 200
    posts = wait_until(lambda: stand_in.slack_posts("D0LONG"), 60, "the Slack answer")
    assert "at most 4,000" in posts[0]["text"]
    conv = "a:conv-long"
    teams = activity(stand_in, "29:long", conv, "fit " * 1100)
    assert send(channel_server, teams, teams_token(stand_in, channel_server, teams["serviceUrl"]))[0] in (200, 202)
    posts = wait_until(lambda: stand_in.teams_posts(conv), 60, "the Teams answer")
    assert "at most 4,000" in posts[0]["json"]["text"]
    # a signed Slack body that is not what Slack sends: 400 with the reason, not a 500
    for raw in (b"[1, 2]", b"{not json", b"[" * 5000 + b"]" * 5000):
        status, text, _ = channel_server.post("/webhooks/slack/webhook", raw, slack_headers(secret, raw))
        assert status == 400 and json.loads(text)["reason"], raw[:20]


# ---- Rasa's JWT option (RRMM_JWT_SECRET) on the REST channel and the HTTP API -----------------------------
def token_for(channel_server, role, username, **claims):
    payload = {"user": {"username": username, "role": role}, "exp": int(time.time()) + 600, **claims}
    return jwt.encode(payload, channel_server.secrets["RRMM_JWT_SECRET"], algorithm="HS256")


def rest_as(channel_server, bearer, sender):
    return channel_server.post("/webhooks/rest/webhook", json.dumps({"sender": sender, "message": "help"}).encode(),
                               {"Content-Type": "application/json", "Authorization": f"Bearer {bearer}"})[0]


def test_a_user_jwt_reaches_its_own_conversation_only(channel_server):
    mine = token_for(channel_server, "user", "jwt-clinician-1")
    assert rest_as(channel_server, mine, "jwt-clinician-1") == 200
    assert rest_as(channel_server, mine, "jwt-clinician-2") == 403
    assert rest_as(channel_server, token_for(channel_server, "admin", "ops"), "jwt-clinician-2") == 200
    assert rest_as(channel_server, API_TOKEN, "jwt-clinician-3") == 200  # the API token still works
    forged = jwt.encode({"user": {"username": "jwt-clinician-1", "role": "admin"}}, "another-secret-" + "0" * 32,
                        algorithm="HS256")
    expired = token_for(channel_server, "user", "jwt-clinician-1", exp=int(time.time()) - 3600)
    for bad in (forged, expired, "not-a-jwt"):
        assert rest_as(channel_server, bad, "jwt-clinician-1") == 401
    # Rasa's HTTP API, same scopes
    url = "/conversations/jwt-clinician-1/tracker"
    assert channel_server.get(url, {"Authorization": f"Bearer {mine}"})[0] == 200
    assert channel_server.get("/conversations/jwt-clinician-2/tracker", {"Authorization": f"Bearer {mine}"})[0] == 403
    assert channel_server.get(url, {"Authorization": f"Bearer {forged}"})[0] == 401
    assert channel_server.get(url, {})[0] == 401
