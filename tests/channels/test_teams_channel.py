"""Teams as the Bot Framework uses it: activities with a signed token in, replies to the connector out.

The key set is generated locally (support.StandIn) and served as the OpenID metadata's jwks_uri; the
connector, the OAuth token endpoint and the key set are stand-ins on loopback.
"""
from __future__ import annotations

import json
import time
import uuid

import pytest
from cryptography.hazmat.primitives import serialization

from bot.plugins.channels.render import TEAMS_MAX_CARD_CHARS

from .support import CASE, TEAMS_TENANT, teams_token, wait_until

pytestmark = pytest.mark.slow
WEBHOOK = "/webhooks/botframework/webhook"


def activity(stand_in, user: str, conversation: str, text: str, **over):
    body = {"type": "message", "id": uuid.uuid4().hex, "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "serviceUrl": f"{stand_in.base}/teams/connector/", "channelId": "msteams",
            "from": {"id": user, "name": "Clinician"}, "conversation": {"id": conversation, "tenantId": TEAMS_TENANT},
            "recipient": {"id": "28:rrmm-bot", "name": "RRMM"}, "text": text, "textFormat": "plain",
            "channelData": {"tenant": {"id": TEAMS_TENANT}}}
    body.update(over)
    return body


def send(channel_server, body, token=None, auth=None):
    headers = {"Content-Type": "application/json"}
    if auth is not None:
        headers["Authorization"] = auth
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return channel_server.post(WEBHOOK, json.dumps(body).encode(), headers)


def test_activity_with_a_valid_token_is_answered_with_an_adaptive_card(channel_server, stand_in):
    conv = "a:conv-valid"
    body = activity(stand_in, "29:clinician-1", conv, f"<at>RRMM</at> {CASE}")
    status, _, _ = send(channel_server, body, teams_token(stand_in, channel_server, body["serviceUrl"]))
    assert status in (200, 202)

    posts = wait_until(lambda: [p for p in stand_in.teams_posts(conv) if (p["json"] or {}).get("attachments")], 60,
                       "the card on the connector")
    cards = [
        p for p in posts if p["json"]["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    ]
    assert len(cards) == 1
    reply = cards[0]
    card = reply["json"]["attachments"][0]["content"]
    texts = [b.get("text", "") for b in card["body"]]  # the first screen; the details are folded in a container
    folded = json.dumps(next(b for b in card["body"] if b.get("id") == "rrmm-details"))
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    assert texts[1].startswith("**Read as:**") and any(t.startswith("**1. SVd**, selinexor") for t in texts)
    assert card["actions"][0]["title"] == "Show details"
    assert "Options (ranked)" in folded and "blood clots" in folded and "Transplant" in folded
    assert any("Decision support for clinicians" in t for t in texts)
    assert len(json.dumps(card)) <= TEAMS_MAX_CARD_CHARS
    assert reply["json"]["summary"].startswith("RRMM recommendation")
    # replied with the bot's own token, obtained with its app id and password
    assert reply["headers"]["Authorization"] == f"Bearer {stand_in.access_token}"
    token_req = stand_in.matching("POST", "/teams/token")[0]["raw"].decode()
    assert f"client_id={channel_server.secrets['TEAMS_APP_ID']}" in token_req
    assert "grant_type=client_credentials" in token_req and "client_secret=" in token_req
    # once: no plain-text twin of the card
    twin = ("Read as:", "Assessment")
    assert not [p for p in stand_in.teams_posts(conv) if str(p["json"].get("text", "")).startswith(twin)]
    # the mention was stripped: the conversation got the case text itself
    assert channel_server.user_events("29:clinician-1")[0]["text"] == CASE


def _forged(stand_in, channel_server, kind):
    svc = f"{stand_in.base}/teams/connector/"
    body = activity(stand_in, "29:forger", f"a:conv-{kind.replace(' ', '-')}", CASE)
    tok = lambda **kw: teams_token(stand_in, channel_server, svc, **kw)  # noqa: E731
    public_pem = stand_in.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if kind == "missing token":
        return body, None, None
    if kind == "not a bearer token":
        return body, None, "Basic dXNlcjpwYXNz"
    if kind == "garbage token":
        return body, "not.a.jwt", None
    if kind == "signed by another key":
        return body, tok(key=stand_in.other_key), None
    if kind == "unknown key id":
        return body, tok(key=stand_in.other_key, kid="someone-else"), None
    if kind == "wrong audience":
        return body, tok(aud=str(uuid.uuid4())), None
    if kind == "wrong issuer":
        return body, tok(iss="https://sts.windows.net/attacker/"), None
    if kind == "expired":
        return body, tok(exp=int(time.time()) - 3600, nbf=int(time.time()) - 7200, iat=int(time.time()) - 7200), None
    if kind == "no expiry":
        return body, tok(exp=None), None
    if kind == "alg none":
        import jwt

        return (
            body,
            jwt.encode(
                {
                    "iss": "https://api.botframework.com",
                    "aud": channel_server.secrets["TEAMS_APP_ID"],
                    "exp": int(time.time()) + 600,
                    "serviceurl": svc,
                },
                None,
                algorithm="none",
                headers={"kid": stand_in.kid},
            ),
            None,
        )
    if kind == "HS256 with the public key":
        import base64
        import hashlib
        import hmac  # noqa: E401  (PyJWT refuses to make this token: build it by hand)

        b64 = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=")  # noqa: E731
        head = b64(json.dumps({"alg": "HS256", "kid": stand_in.kid, "typ": "JWT"}).encode())
        claims = b64(
            json.dumps(
                {
                    "iss": "https://api.botframework.com",
                    "aud": channel_server.secrets["TEAMS_APP_ID"],
                    "exp": int(time.time()) + 600,
                    "serviceurl": svc,
                }
            ).encode()
        )
        sig = b64(hmac.new(public_pem, head + b"." + claims, hashlib.sha256).digest())
        return body, (head + b"." + claims + b"." + sig).decode(), None
    if kind == "serviceUrl not the token's":
        body["serviceUrl"] = "http://127.0.0.1:9/elsewhere/"
        return body, tok(), None
    if kind == "channel not endorsed":
        body["channelId"] = "webchat"
        return body, tok(), None
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "missing token",
        "not a bearer token",
        "garbage token",
        "signed by another key",
        "unknown key id",
        "wrong audience",
        "wrong issuer",
        "expired",
        "no expiry",
        "alg none",
        "HS256 with the public key",
        "serviceUrl not the token's",
        "channel not endorsed",
    ],
)
def test_missing_or_invalid_token_is_refused(channel_server, stand_in, kind):
    body, token, auth = _forged(stand_in, channel_server, kind)
    status, text, _ = send(channel_server, body, token, auth)
    assert status == 401, text
    assert channel_server.user_events("29:forger") == []
    assert stand_in.teams_posts(body["conversation"]["id"]) == []


def test_installing_the_bot_sends_the_welcome(channel_server, stand_in):
    """Teams sends conversationUpdate with the bot among membersAdded when the app is installed."""
    conv = "a:conv-install"
    body = activity(stand_in, "29:installer", conv, "", type="conversationUpdate",
                    membersAdded=[{"id": "28:rrmm-bot"}])
    body.pop("text")
    status, _, _ = send(channel_server, body, teams_token(stand_in, channel_server, body["serviceUrl"]))
    assert status == 202
    post = wait_until(lambda: stand_in.teams_posts(conv), 30, "the welcome")[0]["json"]
    assert post["type"] == "message" and post["recipient"]["id"] == "29:installer"
    assert "Hello. Describe a patient" in post["text"]  # utter_greet
    assert "68M, 2 prior" in post["text"] and "new case" in post["text"]  # utter_help, with its example
    assert post["from"]["id"] == "28:rrmm-bot"
    # another member joining a chat the bot is in gets nothing; nor does an unauthenticated install
    other = activity(stand_in, "29:someone", "a:conv-member", "", type="conversationUpdate",
                     membersAdded=[{"id": "29:newcomer"}])
    assert send(channel_server, other, teams_token(stand_in, channel_server, other["serviceUrl"]))[0] == 202
    forged = activity(stand_in, "29:someone", "a:conv-forged", "", type="conversationUpdate",
                      membersAdded=[{"id": "28:rrmm-bot"}])
    assert send(channel_server, forged, "not.a.jwt")[0] == 401
    time.sleep(1)
    assert stand_in.teams_posts("a:conv-member") == [] and stand_in.teams_posts("a:conv-forged") == []
    assert channel_server.user_events("29:installer") == []  # the welcome is not a turn of the conversation
