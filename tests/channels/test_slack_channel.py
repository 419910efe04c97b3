"""Slack as Slack uses it: signed Events API requests in, chat.postMessage calls out (to a local stand-in)."""
from __future__ import annotations

import json
import time
import urllib.parse
import uuid

import pytest

from bot.plugins.channels.render import SLACK_HEADER_CHARS, SLACK_MAX_BLOCKS, SLACK_SECTION_CHARS

from .support import CASE, slack_headers, wait_until

pytestmark = pytest.mark.slow
WEBHOOK = "/webhooks/slack/webhook"


def event(user: str, channel: str, text: str, event_type: str = "message", event_id: str = "", ts: str = ""):
    ts = ts or f"{time.time():.6f}"
    body = {"token": "verification-token-unused", "team_id": "T0TEST", "api_app_id": "A0TEST", "type": "event_callback",
            "event_id": event_id or "Ev" + uuid.uuid4().hex[:10].upper(), "event_time": int(time.time()),
            "authorizations": [{"user_id": "U0BOT", "is_bot": True}],
            "event": {"type": event_type, "user": user, "text": text, "channel": channel, "ts": ts, "event_ts": ts,
                      "channel_type": "im" if channel.startswith("D") else "channel"}}
    return json.dumps(body).encode()


def post(channel_server, body: bytes, headers):
    return channel_server.post(WEBHOOK, body, headers)


def signed(channel_server, body: bytes, **kw):
    return post(channel_server, body, slack_headers(channel_server.secrets["SLACK_SIGNING_SECRET"], body, **kw))


def block_texts(blocks, kind):
    out = []
    for b in blocks:
        if b["type"] == kind:
            out += [b["text"]["text"]] if "text" in b else [e["text"] for e in b.get("elements", [])]
    return out


def test_signed_event_is_answered_with_block_kit_on_the_web_api(channel_server, stand_in):
    started = time.monotonic()
    status, _, _ = signed(channel_server, event("U0CLIN1", "D0CLIN1", CASE))
    assert status == 200 and time.monotonic() - started < 3, "Slack needs the acknowledgement within 3 s"

    posts = wait_until(lambda: [p for p in stand_in.slack_posts("D0CLIN1") if p.get("blocks")], 60,
                       "the recommendation blocks")
    rec_posts = [p for p in posts if p["blocks"][0]["type"] == "header"]
    assert len(rec_posts) == 1
    msg = rec_posts[0]
    blocks = msg["blocks"]
    # the first screen: the setting in words, the case as read, the action, the ranked options one line each,
    # buttons for the rest ("Show details" first), the disclaimer last
    assert blocks[0]["text"]["text"].startswith("RRMM: lenalidomide- and anti-CD38-refractory")
    sections = block_texts(blocks, "section")
    assert sections[0].startswith("*Read as:*") and sections[1].startswith("*Action:*")
    options = next(s for s in sections if s.startswith("_Other recommended_"))  # 2026-12: no preferred tier here
    assert "\n*1. SVd*, selinexor + bortezomib + dexamethasone: " in options
    buttons = next(b for b in blocks if b["type"] == "actions")["elements"]
    assert [b["text"]["text"] for b in buttons][:2] == ["Show details", "Cautions"]
    assert "Decision support for clinicians" in block_texts(blocks, "context")[-1]
    assert blocks[-1]["type"] == "context"
    # the short answer as fallback text; Slack's limits
    assert msg["text"].startswith("Read as: ") and "1. SVd" in msg["text"]
    assert len(blocks) <= SLACK_MAX_BLOCKS and len(blocks[0]["text"]["text"]) <= SLACK_HEADER_CHARS
    assert all(len(s) <= SLACK_SECTION_CHARS for s in sections)
    # the answer comes once: the plain text twin of the blocks is not posted (a turn's replies go out in order)
    twin = ("Read as:", "Assessment:")
    assert not [p for p in stand_in.slack_posts("D0CLIN1")
                if not p.get("blocks") and str(p.get("text", "")).startswith(twin)]
    # posted with the bot token, to the channel of the event
    req = next(r for r in stand_in.matching("POST", "/slack/api/chat.postMessage") if r.get("ts") == msg["ts"])
    assert req["headers"]["Authorization"] == f"Bearer {channel_server.secrets['SLACK_BOT_TOKEN']}"


@pytest.mark.parametrize("forgery", ["unsigned", "wrong signature", "signed with another secret",
                                     "timestamp older than five minutes", "timestamp in the future",
                                     "body changed after signing"])
def test_forged_requests_are_refused(channel_server, stand_in, forgery):
    sender, channel = "U0FORGER", "D0FORGER"
    body = event(sender, channel, CASE)
    secret = channel_server.secrets["SLACK_SIGNING_SECRET"]
    if forgery == "unsigned":
        headers = {"Content-Type": "application/json"}
    elif forgery == "wrong signature":
        headers = slack_headers(secret, body)
        headers["X-Slack-Signature"] = "v0=" + "0" * 64
    elif forgery == "signed with another secret":
        headers = slack_headers("not-the-signing-secret", body)
    elif forgery == "timestamp older than five minutes":
        headers = slack_headers(secret, body, timestamp=int(time.time()) - 6 * 60)
    elif forgery == "timestamp in the future":
        headers = slack_headers(secret, body, timestamp=int(time.time()) + 6 * 60)
    else:
        headers = slack_headers(secret, body)
        body = body.replace(b"68M", b"70F")
    status, text, _ = post(channel_server, body, headers)
    assert status == 401, text
    # refused before anything is read: no conversation, nothing posted
    assert channel_server.user_events(sender) == []
    assert stand_in.slack_posts(channel) == []


def test_url_verification_needs_a_signature(channel_server):
    body = json.dumps({"token": "x", "challenge": "c-123", "type": "url_verification"}).encode()
    status, text, _ = signed(channel_server, body)
    assert status == 200 and json.loads(text) == {"challenge": "c-123"}
    status, _, _ = post(channel_server, body, {"Content-Type": "application/json"})
    assert status == 401


def test_retries_and_twin_events_do_not_answer_twice(channel_server, stand_in):
    sender, channel = "U0RETRY", "D0RETRY"
    ts = f"{time.time():.6f}"
    first = event(sender, channel, CASE, event_id="Ev0RETRY1", ts=ts)
    assert signed(channel_server, first)[0] == 200
    # Slack's retries of the same event (the first while the answer is still being made)
    for num, reason in (("1", "http_timeout"), ("2", "http_error"), ("3", "connection_failed")):
        status, _, headers = signed(channel_server, first, extra={"X-Slack-Retry-Num": num,
                                                                  "X-Slack-Retry-Reason": reason})
        assert status == 200 and headers.get("X-Slack-No-Retry") == "1"
    # the same message delivered again as another event type (a mention arrives as message and app_mention)
    twin = event(sender, channel, CASE, event_type="app_mention", event_id="Ev0RETRY2", ts=ts)
    assert signed(channel_server, twin)[0] == 200
    # a later, different message is answered; by then any duplicate would have been posted (same sender: in order)
    assert signed(channel_server, event(sender, channel, "why not KRd?"))[0] == 200
    wait_until(lambda: any("KRd" in str(p.get("text")) and "not an option" in str(p.get("text"))
                           for p in stand_in.slack_posts(channel)), 60, "the answer to the later message")
    recs = [p for p in stand_in.slack_posts(channel) if p.get("blocks") and p["blocks"][0]["type"] == "header"]
    assert len(recs) == 1
    assert len(channel_server.user_events(sender)) == 2


def click(channel_server, sender, channel, question, button, trigger_id="1234.5678.abcd"):
    payload = {"type": "block_actions", "team": {"id": "T0TEST"}, "user": {"id": sender}, "channel": {"id": channel},
               "trigger_id": trigger_id,
               "container": {"type": "message", "message_ts": question["ts"], "channel_id": channel},
               "message": {"ts": question["ts"], "text": question["text"], "blocks": question["blocks"]},
               "actions": [{"type": "button", "action_id": button["action_id"], "value": button["value"],
                            "text": button["text"], "block_id": "b1", "action_ts": f"{time.time():.6f}"}]}
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    headers = slack_headers(channel_server.secrets["SLACK_SIGNING_SECRET"], body)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return body, headers


def test_question_buttons_work_as_slack_interactions(channel_server, stand_in):
    sender, channel = "U0BUTTON", "D0BUTTON"
    assert signed(channel_server, event(sender, channel, CASE.replace(", clinical relapse", "")))[0] == 200
    question = wait_until(lambda: [p for p in stand_in.slack_posts(channel)
                                   if any(b["type"] == "actions" for b in p.get("blocks", []))], 60, "buttons")[0]
    buttons = next(b for b in question["blocks"] if b["type"] == "actions")["elements"]
    clinical = next(b for b in buttons if b["text"]["text"] == "clinical")
    body, headers = click(channel_server, sender, channel, question, clinical)
    assert post(channel_server, body, headers)[0] == 200
    wait_until(
        lambda: [p for p in stand_in.slack_posts(channel) if p.get("blocks") and p["blocks"][0]["type"] == "header"],
        60,
        "the recommendation after the click",
    )
    # the question was updated: its buttons replaced by the choice, so they cannot be pressed twice
    update = stand_in.slack_calls("chat.update", channel)
    assert len(update) == 1 and update[0]["json"]["ts"] == question["ts"]
    assert [b["type"] for b in update[0]["json"]["blocks"]] == ["section", "context"]
    assert "<@U0BUTTON> chose *clinical*" in update[0]["json"]["blocks"][-1]["elements"][0]["text"]
    # another click on the same question (sent before Slack drew the update) is acknowledged, not answered
    other = next(b for b in buttons if b is not clinical)
    body2, headers2 = click(channel_server, sender, channel, question, other, trigger_id="9999.5678.abcd")
    status, _, reply_headers = post(channel_server, body2, headers2)
    assert status == 200 and reply_headers.get("X-Slack-No-Retry") == "1"
    assert [e["text"] for e in channel_server.user_events(sender)][-1] == clinical["value"]
    # an unsigned click is refused like any other request
    headers.pop("X-Slack-Signature")
    assert post(channel_server, body, headers)[0] == 401


def command(channel_server, user, channel, text, secret=None):
    body = urllib.parse.urlencode({"token": "unused", "team_id": "T0TEST", "channel_id": channel, "user_id": user,
                                   "command": "/rrmm", "text": text, "trigger_id": uuid.uuid4().hex,
                                   "response_url": "https://hooks.slack.com/commands/T0TEST/1/x"}).encode()
    headers = slack_headers(secret or channel_server.secrets["SLACK_SIGNING_SECRET"], body)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return channel_server.post("/webhooks/slack/commands", body, headers)


def test_slash_command_is_a_message_and_empty_asks_for_help(channel_server, stand_in):
    started = time.monotonic()
    status, text, _ = command(channel_server, "U0SLASH", "D0SLASH", "")
    assert status == 200 and text == "" and time.monotonic() - started < 3
    help_post = wait_until(lambda: stand_in.slack_posts("D0SLASH"), 60, "the help")[0]
    assert "relapsed or refractory multiple myeloma" in help_post["text"]
    assert command(channel_server, "U0SLASH", "D0SLASH", "what is KPd?")[0] == 200
    wait_until(lambda: len(stand_in.slack_posts("D0SLASH")) >= 2, 60, "the answer")
    assert [e["text"] for e in channel_server.user_events("U0SLASH")] == ["help", "what is KPd?"]
    # signed like every request from Slack
    assert command(channel_server, "U0SLASH2", "D0SLASH2", "help", secret="another-secret")[0] == 401
    assert channel_server.user_events("U0SLASH2") == []


def test_a_rate_limited_reply_is_sent_after_retry_after(channel_server, stand_in):
    stand_in.rate_limited["D0RATE"] = 2  # Slack answers 429 with Retry-After: 1, twice
    assert signed(channel_server, event("U0RATE", "D0RATE", "hello"))[0] == 200
    wait_until(lambda: stand_in.slack_posts("D0RATE"), 60, "the reply after the rate limit")
    calls = stand_in.slack_calls("chat.postMessage", "D0RATE")
    assert [c["status"] for c in calls][:3] == [429, 429, 200]  # the first reply waited twice, then went out
    assert calls[2]["json"] == calls[0]["json"]


def test_show_details_and_the_other_buttons_of_an_answer_each_ask_for_their_layer(channel_server, stand_in):
    sender, channel = "U0DETAIL", "D0DETAIL"
    assert signed(channel_server, event(sender, channel, CASE))[0] == 200
    rec = wait_until(lambda: [p for p in stand_in.slack_posts(channel)
                              if p.get("blocks") and p["blocks"][0]["type"] == "header"], 60, "the answer")[0]
    buttons = next(b for b in rec["blocks"] if b["type"] == "actions")["elements"]
    details = next(b for b in buttons if b["text"]["text"] == "Show details")
    body, headers = click(channel_server, sender, channel, rec, details, trigger_id="1111.2222.details")
    assert post(channel_server, body, headers)[0] == 200
    wait_until(lambda: any("Options (ranked):" in str(p.get("text")) for p in stand_in.slack_posts(channel)), 60,
               "the details")
    trials = next(b for b in buttons if b["text"]["text"] == "Trials")  # the same answer's other button still works
    body, headers = click(channel_server, sender, channel, rec, trials, trigger_id="3333.4444.trials")
    assert post(channel_server, body, headers)[0] == 200
    wait_until(lambda: any("For: " in str(p.get("text")) for p in stand_in.slack_posts(channel)), 60, "the trials")
    assert stand_in.slack_calls("chat.update", channel) == []  # the answer keeps its buttons
