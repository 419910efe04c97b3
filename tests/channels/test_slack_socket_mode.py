"""Slack Socket Mode against a local stand-in of Slack's Socket Mode WebSocket and Web API (slack_standin.py).

The connector's own code runs here, in the test's event loop, with a stand-in conversation in place of Rasa's
agent (fast, no model): the socket is opened with the app-level token, every envelope is acknowledged before it
is handled, events are answered once, clicks replace the question's buttons, `/rrmm` is a message, the
connection is reopened when Slack says `disconnect` or the socket drops, and a 429 delays a reply instead of
losing it. The last test runs the real Rasa server in Socket Mode (the socket opened at start, closed at stop).
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Dict, List

import pytest

from bot.plugins.channels.base import turn_handler
from bot.plugins.channels.slack import SlackChannel
from bot.plugins.channels.slack_socket import SlackSocketMode
from bot.plugins.channels.slack_web import RATE_LIMIT_RETRIES

from .slack_standin import SlackSocketStandIn, events_api, interactive, slash_command
from .support import CASE, ChannelServer, wait_until

BOT_TOKEN = "xoxb-socket-test-token"


@pytest.fixture(scope="module")
def slack():
    s = SlackSocketStandIn()
    yield s
    s.stop()


class Conversation:
    """Stands in for Rasa's agent: records each message and answers through the connector's output channel."""

    def __init__(self) -> None:
        self.messages: List[Any] = []

    async def on_new_message(self, message: Any) -> None:
        self.messages.append(message)
        out = message.output_channel
        if message.text == "question":
            await out.send_response(message.sender_id, {"text": "What kind of relapse?", "buttons": [
                {"title": "clinical", "payload": "clinical"}, {"title": "biochemical", "payload": "biochemical"}]})
        else:
            await out.send_response(message.sender_id, {"text": f"you said: {message.text}"})

    def texts(self) -> List[str]:
        return [m.text for m in self.messages]


async def until(predicate: Callable[[], Any], timeout: float = 15, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@contextlib.asynccontextmanager
async def socket_mode(slack: SlackSocketStandIn, app_token: str = ""):
    channel = SlackChannel(BOT_TOKEN, None, None, use_threads=True, api_url=slack.api_url,
                           app_token=app_token or slack.app_token)
    conversation = Conversation()
    socket = SlackSocketMode(channel, turn_handler(conversation.on_new_message))
    opened = slack.connections
    socket.start()
    try:
        if not app_token:
            await until(lambda: socket.connected and slack.connections > opened and slack.open_sockets, what="socket")
        yield socket, conversation
    finally:
        await socket.close()


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 90))


async def acked_within(slack: SlackSocketStandIn, sent: Dict[str, Any], seconds: float = 3.0) -> Dict[str, Any]:
    ack = await until(lambda: slack.acked(sent["envelope_id"]), seconds + 2, f"the ack of {sent['type']}")
    assert ack["time"] - sent["time"] < seconds, "Slack needs the acknowledgement within 3 s"
    assert set(ack) <= {"envelope_id", "payload", "time"}
    return ack


def test_events_are_acknowledged_then_answered_once(slack):
    async def scenario():
        async with socket_mode(slack) as (_, conversation):
            opened = slack.api("apps.connections.open")[-1]
            assert opened["headers"]["Authorization"] == f"Bearer {slack.app_token}"  # the app-level token opens it
            ts = f"{time.time():.6f}"
            first = slack.send(events_api("U0SOCK1", "D0SOCK1", "hello there", event_id="Ev0SOCK1", ts=ts))
            await acked_within(slack, first)
            await until(lambda: slack.posts("D0SOCK1"), what="the reply")
            # Slack redelivers the same event (another envelope); the same message arrives as a mention too
            again = slack.send(events_api("U0SOCK1", "D0SOCK1", "hello there", event_id="Ev0SOCK1", ts=ts,
                                          retry_attempt=1))
            twin = slack.send(events_api("U0SOCK1", "D0SOCK1", "hello there", event_type="app_mention",
                                         event_id="Ev0SOCK2", ts=ts))
            await acked_within(slack, again)
            await acked_within(slack, twin)
            later = slack.send(events_api("U0SOCK1", "D0SOCK1", "second message"))
            await acked_within(slack, later)
            await until(lambda: len(slack.posts("D0SOCK1")) == 2, what="the second reply")
            assert conversation.texts() == ["hello there", "second message"]
            assert conversation.messages[0].sender_id == "U0SOCK1"  # conversation_granularity: sender
            assert [p["text"] for p in slack.posts("D0SOCK1")] == ["you said: hello there", "you said: second message"]
            post = slack.api("chat.postMessage", "D0SOCK1")[0]
            assert post["headers"]["Authorization"] == f"Bearer {BOT_TOKEN}"  # replies with the bot token
            assert "thread_ts" not in post["json"]  # direct messages are not threaded
            # in a channel, a mention is answered in a thread under it; other channel messages are ignored
            mention = slack.send(events_api("U0SOCK1", "C0SOCK1", "<@U0BOT> in a channel", event_type="app_mention"))
            chatter = slack.send(events_api("U0SOCK1", "C0SOCK1", "not for the bot"))
            await acked_within(slack, mention)
            await acked_within(slack, chatter)
            reply = await until(lambda: slack.posts("C0SOCK1"), what="the threaded reply")
            assert reply[0]["text"] == "you said: in a channel"
            assert reply[0]["thread_ts"] == mention["payload"]["event"]["ts"]
            await asyncio.sleep(0.3)
            assert conversation.texts() == ["hello there", "second message", "in a channel"]

    run(scenario())


def test_a_clicked_question_loses_its_buttons_and_counts_once(slack):
    async def scenario():
        async with socket_mode(slack) as (_, conversation):
            slack.send(events_api("U0CLICK", "D0CLICK", "question"))
            call = await until(lambda: slack.api("chat.postMessage", "D0CLICK"), what="the question")
            question = {**call[0]["json"], "ts": call[0]["answer"]["ts"]}
            buttons = next(b for b in question["blocks"] if b["type"] == "actions")["elements"]
            click = slack.send(interactive("U0CLICK", "D0CLICK", question, buttons[0]))
            await acked_within(slack, click)
            update = (await until(lambda: slack.api("chat.update", "D0CLICK"), what="chat.update"))[0]["json"]
            assert update["ts"] == question["ts"] and update["channel"] == "D0CLICK"
            assert [b["type"] for b in update["blocks"]] == ["section", "context"]  # the buttons are gone
            assert update["blocks"][0] == question["blocks"][0]  # the question stays
            assert update["blocks"][1]["elements"][0]["text"] == ":white_check_mark: <@U0CLICK> chose *clinical*"
            await until(lambda: "clinical" in conversation.texts(), what="the click as a message")
            # a second click on the same question (before Slack drew the update) is acknowledged, not answered
            other = slack.send(interactive("U0CLICK", "D0CLICK", question, buttons[1]))
            await acked_within(slack, other)
            await asyncio.sleep(0.3)
            assert conversation.texts() == ["question", "clinical"]
            assert len(slack.api("chat.update", "D0CLICK")) == 1

    run(scenario())


def test_slash_command_is_a_message_and_empty_asks_for_help(slack):
    async def scenario():
        async with socket_mode(slack) as (_, conversation):
            command = slack.send(slash_command("U0CMD", "D0CMD", "  68M, 2 prior lines  "))
            await acked_within(slack, command)
            empty = slack.send(slash_command("U0CMD", "D0CMD", ""))
            await acked_within(slack, empty)
            await until(lambda: len(slack.posts("D0CMD")) == 2, what="two replies")
            assert conversation.texts() == ["68M, 2 prior lines", "help"]
            assert conversation.messages[0].sender_id == "U0CMD"  # the clinician's own conversation
            # a channel the bot is not in: the answer goes to the clinician alone, through the response_url
            slack.not_in_channel.add("C0NOTIN")
            blocked = slack.send(slash_command("U0CMD", "C0NOTIN", "summary", response_url=slack.hooks_url + "c1"))
            await acked_within(slack, blocked)
            hook = (await until(lambda: slack.hook_posts, what="the response_url"))[-1]
            assert hook["json"] == {"response_type": "ephemeral", "text": "you said: summary"}

    run(scenario())


def test_reconnects_when_slack_says_disconnect_or_the_socket_drops(slack):
    async def scenario():
        async with socket_mode(slack) as (socket, conversation):
            tickets, connections = slack.tickets, slack.connections
            slack.disconnect()  # Slack refreshes connections every few hours
            await until(lambda: slack.connections == connections + 1 and socket.connected, what="a new connection")
            assert slack.tickets == tickets + 1  # a new URL was asked for
            slack.send(events_api("U0RECON", "D0RECON", "after the refresh"))
            await until(lambda: slack.posts("D0RECON"), what="an answer on the new connection")
            slack.drop()  # the network or Slack drops the socket
            await until(lambda: slack.connections == connections + 2 and socket.connected, what="a reconnection")
            slack.send(events_api("U0RECON", "D0RECON", "after the drop"))
            await until(lambda: len(slack.posts("D0RECON")) == 2, what="an answer after the drop")
            assert conversation.texts() == ["after the refresh", "after the drop"]
        await until(lambda: slack.open_sockets == 0, what="the socket closed by close()")

    run(scenario())


def test_rate_limited_replies_wait_and_are_sent(slack):
    async def scenario():
        async with socket_mode(slack):
            slack.rate_limited["D0RATE"] = 2  # Slack answers 429 + Retry-After: 1 twice
            slack.send(events_api("U0RATE", "D0RATE", "busy workspace"))
            await until(lambda: slack.posts("D0RATE"), 20, "the reply after the rate limit")
            attempts = slack.api("chat.postMessage", "D0RATE")
            assert [a["status"] for a in attempts] == [429, 429, 200]
            assert attempts[1]["time"] - attempts[0]["time"] >= 0.9  # Retry-After was honoured
            assert attempts[2]["json"] == attempts[0]["json"]  # the same reply
            # bounded: a limit that never ends gives up after RATE_LIMIT_RETRIES retries (logged, not raised)
            slack.retry_after = "0"
            slack.rate_limited["D0RATE2"] = 100
            slack.send(events_api("U0RATE2", "D0RATE2", "never"))
            await until(lambda: len(slack.api("chat.postMessage", "D0RATE2")) == 1 + RATE_LIMIT_RETRIES, 20, "retries")
            await asyncio.sleep(0.5)
            assert len(slack.api("chat.postMessage", "D0RATE2")) == 1 + RATE_LIMIT_RETRIES

    try:
        run(scenario())
    finally:
        slack.retry_after = "1"
        slack.rate_limited.clear()


@pytest.mark.parametrize("token, error", [("xapp-1-not-the-apps-token", "Slack refused SLACK_APP_TOKEN (invalid_auth)"),
                                          ("xoxb-a-bot-token", "must be an app-level token (xapp-...)")])
def test_a_refused_app_token_stops_with_a_clear_error(slack, caplog, token, error):
    async def scenario():
        tickets = slack.tickets
        with caplog.at_level(logging.ERROR, logger="bot.plugins.channels.slack"):
            async with socket_mode(slack, app_token=token) as (socket, _):
                await until(lambda: socket._task.done(), what="the attempt to end")
                assert not socket.connected and slack.tickets == tickets
        assert "Slack socket mode is OFF" in caplog.text and error in caplog.text
        assert token not in caplog.text

    run(scenario())


# ---- the Rasa server in Socket Mode ------------------------------------------------------------------------------
@pytest.mark.slow
def test_rasa_server_in_socket_mode(rasa_model, slack, stand_in, tmp_path):
    """`rasa run` with SLACK_APP_TOKEN: the socket opens at start, answers a case natively, closes at stop."""
    env = {"SLACK_APP_TOKEN": slack.app_token, "SLACK_API_URL": slack.api_url, "SLACK_SIGNING_SECRET": ""}
    connections = slack.connections
    server = ChannelServer(tmp_path, rasa_model, stand_in, env=env)
    try:
        wait_until(lambda: slack.connections > connections and slack.open_sockets, 60, "the socket at start")
        with urllib.request.urlopen(f"{server.base}/webhooks/slack/", timeout=10) as r:
            assert json.loads(r.read()) == {"status": "ok", "mode": "socket", "connected": True}
        with pytest.raises(urllib.error.HTTPError) as refused:  # no webhook: nothing arrives over HTTP
            urllib.request.urlopen(urllib.request.Request(f"{server.base}/webhooks/slack/webhook", data=b"{}",
                                                          headers={"Content-Type": "application/json"}), timeout=10)
        assert refused.value.code in (404, 405)

        # a case without the relapse type: the question comes with buttons; the click answers it
        sent = slack.send(events_api("U0LIVE", "D0LIVE", CASE.replace(", clinical relapse", "")))
        wait_until(lambda: slack.acked(sent["envelope_id"]), 3, "the ack")
        call = wait_until(lambda: [c for c in slack.api("chat.postMessage", "D0LIVE")
                                   if any(b["type"] == "actions" for b in c["json"].get("blocks", []))], 60, "buttons")
        question = {**call[0]["json"], "ts": call[0]["answer"]["ts"]}
        buttons = next(b for b in question["blocks"] if b["type"] == "actions")["elements"]
        clinical = next(b for b in buttons if b["text"]["text"] == "clinical")
        slack.send(interactive("U0LIVE", "D0LIVE", question, clinical))
        rec = wait_until(lambda: [p for p in slack.posts("D0LIVE") if p.get("blocks")
                                  and p["blocks"][0]["type"] == "header"], 60, "the recommendation")
        head = rec[0]["blocks"][0]["text"]["text"]
        assert len(rec) == 1 and head.startswith("RRMM: lenalidomide- and anti-CD38-refractory")  # setting in words
        update = slack.api("chat.update", "D0LIVE")[0]["json"]
        assert update["ts"] == question["ts"] and "chose *clinical*" in json.dumps(update["blocks"])
        # /rrmm with no text: the help
        slack.send(slash_command("U0LIVE2", "D0LIVE2", ""))
        help_post = wait_until(lambda: slack.posts("D0LIVE2"), 60, "the help")
        assert "relapsed or refractory multiple myeloma" in help_post[0]["text"]
        assert [e["text"] for e in server.user_events("U0LIVE2")] == ["help"]
    finally:
        server.stop()
    wait_until(lambda: slack.open_sockets == 0, 20, "the socket closed when the server stopped")
    log = server.log.read_text()
    assert "Slack channel is on: socket mode" in log and "Slack channel is connected over socket mode" in log
    assert "[NAME]" not in log  # nothing the log redaction would take for a name
    assert slack.app_token not in log
