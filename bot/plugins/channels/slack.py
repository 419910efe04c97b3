"""Slack for the assistant: `bot.plugins.channels.slack.SlackChannel` in credentials.yml.

Two ways to receive Slack's traffic, chosen by the environment (secrets from the environment only):
- HTTP (Events API): SLACK_BOT_TOKEN (xoxb-...) and SLACK_SIGNING_SECRET; Slack posts to
  /webhooks/slack/webhook (events, button clicks) and /webhooks/slack/commands (the `/rrmm` slash command).
- Socket Mode, when SLACK_APP_TOKEN (xapp-...) is set: SLACK_BOT_TOKEN and SLACK_APP_TOKEN; no public URL,
  the server connects out to Slack (bot.plugins.channels.slack_socket); no webhook is served.
Without its secrets the channel is off (logged at start, webhook answers 503). Non-secret settings
(credentials.yml keys, or the environment): `slack_api_url` / SLACK_API_URL, the Web API base (default
https://slack.com/api/; the tests point it at a local stand-in), `use_threads`, `conversation_granularity`,
`slack_channel`.

Both modes share the handlers below (`on_event`, `on_interaction`, `on_command`). Over Rasa's SlackInput
this connector:
- rejects every request that is not signed with the signing secret, or whose timestamp is more than five
  minutes away (401), before looking at its content; answers Slack's URL verification only when signed; a
  signed body that is not the JSON or form Slack sends gets 400 with the reason;
- with SLACK_ALLOWED_TEAMS (comma-separated workspace ids, T...), ignores events, clicks and commands of any
  other workspace, in both modes (logged; 403 over HTTP);
- answers each event once: Slack resends an event (X-Slack-Retry-Num) when the first answer was slow or
  failed; events are recognised by event id and by channel + message timestamp (a mention in a channel
  can arrive as both `message` and `app_mention`), and repeats are acknowledged with X-Slack-No-Retry;
- posts one message per reply (Rasa splits texts at blank lines) and the recommendation as Block Kit
  instead of its plain text (bot.plugins.channels.render.render_slack), within Slack's limits; waits out
  Slack's rate limits (429 + Retry-After, bounded: bot.plugins.channels.slack_web) instead of losing a reply;
- replaces the buttons of a question, once one is clicked, by a line saying what was chosen (chat.update),
  and answers one click per question;
- handles the `/rrmm` slash command: its text is a message of the clinician's conversation (no text: "help").
  Replies go to the channel the command came from; where the bot cannot post (a channel it is not in), they
  go only to the clinician, through the command's response_url.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections import OrderedDict
from typing import Any, Awaitable, Dict, List, Optional, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.slack import SlackBot, SlackInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.errors import SlackApiError

from .. import inbound
from .base import (
    OnNewMessage,
    TurnOutput,
    allowed_ids,
    log_on,
    off_channel,
    plug_in,
    refuse_file_secrets,
    secrets_from_env,
    setting,
    turn_handler,
)
from .problem import problem_response, refusal_response, serve_problems
from .render import (
    SLACK_SECTION_CHARS,
    SLACK_TEXT_CHARS,
    cut,
    is_recommendation,
    render_slack,
    slack_escape,
    split_text,
)
from .slack_socket import SlackSocketMode
from .slack_web import clicked_message_ts, mark_chosen, post_to_response_url, web_client

logger = logging.getLogger(__name__)

SECRETS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
HOW_TO_CONNECT = ("to connect Slack, set SLACK_BOT_TOKEN and either SLACK_APP_TOKEN (Socket Mode, as "
                  "docs/slack-app-manifest.yml: no public URL needed) or SLACK_SIGNING_SECRET (HTTP Events API)")
SOCKET_SECRETS = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")  # Socket Mode: SLACK_APP_TOKEN set
DEFAULT_API_URL = "https://slack.com/api/"
SEEN_TTL_SECONDS = 3600  # Slack retries within minutes; an hour is plenty
SEEN_MAX = 10000
HELP_TEXT = "help"  # what an empty `/rrmm` asks
CANNOT_POST = {"not_in_channel", "channel_not_found"}  # the bot is not in the slash command's channel
# what the shared handlers did with an event, a click or a command
STARTED, IGNORED, UNSUPPORTED, REPEAT, FORBIDDEN = "started", "ignored", "unsupported", "repeat", "forbidden"


class SlackOutput(TurnOutput, SlackBot):
    """Posts through chat.postMessage at a configurable Web API base URL."""

    def __init__(self, token: Text, slack_channel: Optional[Text] = None, thread_id: Optional[Text] = None,
                 proxy: Optional[Text] = None, api_url: Text = DEFAULT_API_URL,
                 response_url: Optional[Text] = None) -> None:
        super().__init__(token, slack_channel, thread_id, proxy)
        self.client = web_client(token, api_url, proxy)
        self.api_url = api_url
        self.response_url = response_url  # a slash command's: replies to the clinician alone when the bot cannot post

    def render_native(self, rec: Dict[str, Any]) -> Dict[str, Any]:
        return render_slack(rec)

    async def _post_message(self, channel: Text, **kwargs: Any) -> None:
        try:
            await super()._post_message(channel, **kwargs)
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            if not self.response_url or error not in CANNOT_POST:
                raise
            await post_to_response_url(self.response_url, {"response_type": "ephemeral", **kwargs}, self.api_url)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        recipient = self.slack_channel or recipient_id
        for part in split_text(slack_escape(text), SLACK_TEXT_CHARS):
            await self._post_message(channel=recipient, text=part)

    async def send_text_with_buttons(self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]],
                                     **kwargs: Any) -> None:
        recipient = self.slack_channel or recipient_id
        if len(buttons) > 25:
            return await self.send_text_message(recipient_id, text)
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": cut(slack_escape(text), SLACK_SECTION_CHARS)}},
                  {"type": "actions", "elements": [
                      {"type": "button", "text": {"type": "plain_text", "text": cut(b["title"], 75)},
                       "value": cut(b["payload"], 2000), "action_id": f"rrmm_button_{i}"}
                      for i, b in enumerate(buttons)]}]
        await self._post_message(channel=recipient, text=cut(slack_escape(text), SLACK_TEXT_CHARS), blocks=blocks)

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        recipient = self.slack_channel or recipient_id
        if is_recommendation(json_message):
            await self._post_message(channel=recipient, **render_slack(json_message["recommendation"]))
        else:  # Rasa's behaviour: the payload is chat.postMessage arguments
            json_message = dict(json_message)
            await self._post_message(channel=json_message.pop("channel", recipient), **json_message)


class SlackChannel(SlackInput):
    """Slack connector, over HTTP or Socket Mode, with secrets from the environment (see the module docstring)."""

    @classmethod
    def name(cls) -> Text:
        return "slack"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        plug_in()
        credentials = credentials or {}
        refuse_file_secrets("Slack", credentials, ("slack_token", "slack_signing_secret", "slack_app_token"),
                            (*SECRETS, "SLACK_APP_TOKEN"))
        socket_mode = bool(os.environ.get("SLACK_APP_TOKEN", "").strip())
        values, missing = secrets_from_env(SOCKET_SECRETS if socket_mode else SECRETS)
        if missing:
            return off_channel(cls.name(), "Slack", missing, HOW_TO_CONNECT)
        if socket_mode and os.environ.get("SLACK_SIGNING_SECRET", "").strip():
            logger.info("Slack: SLACK_APP_TOKEN is set, so Slack runs in socket mode; SLACK_SIGNING_SECRET is not used")
        return cls(
            values["SLACK_BOT_TOKEN"],
            setting(credentials, "slack_channel", "SLACK_CHANNEL", None),
            credentials.get("proxy"),
            use_threads=bool(credentials.get("use_threads", False)),
            slack_signing_secret="" if socket_mode else values["SLACK_SIGNING_SECRET"],
            conversation_granularity=credentials.get("conversation_granularity", "sender"),
            api_url=setting(credentials, "slack_api_url", "SLACK_API_URL", DEFAULT_API_URL),
            app_token=values.get("SLACK_APP_TOKEN"),
            allowed_teams=allowed_ids("SLACK_ALLOWED_TEAMS"),
        )

    def __init__(self, slack_token: Text, slack_channel: Optional[Text] = None, proxy: Optional[Text] = None,
                 use_threads: bool = False, slack_signing_secret: Text = "",
                 conversation_granularity: Text = "sender", api_url: Text = DEFAULT_API_URL,
                 app_token: Optional[Text] = None, allowed_teams: Optional[frozenset] = None) -> None:
        self.app_token = app_token or None  # set: Socket Mode (read by _validate_credentials)
        self.allowed_teams = allowed_teams
        super().__init__(slack_token, slack_channel, proxy, "x-slack-retry-reason", "x-slack-retry-num",
                         None, use_threads, slack_signing_secret, conversation_granularity)
        self.api_url = api_url if api_url.endswith("/") else api_url + "/"
        self._seen: "OrderedDict[str, float]" = OrderedDict()
        self.socket: Optional[SlackSocketMode] = None

    def _validate_credentials(self) -> None:
        if not self.app_token:  # Socket Mode has no signed requests: the app-level token is the secret
            super()._validate_credentials()

    def get_output_channel(self, channel: Optional[Text] = None, thread_id: Optional[Text] = None,
                           response_url: Optional[Text] = None) -> SlackOutput:
        return SlackOutput(self.slack_token, channel or self.slack_channel, thread_id, self.proxy, self.api_url,
                           response_url)

    # -- answering each event once ---------------------------------------------------------------------
    def first_time(self, keys: List[str]) -> bool:
        """Records the event's keys; False when any was seen within the last hour (a retry or a twin)."""
        now = time.monotonic()
        while self._seen and (len(self._seen) > SEEN_MAX or next(iter(self._seen.values())) < now - SEEN_TTL_SECONDS):
            self._seen.popitem(last=False)
        keys = [k for k in keys if k]
        if any(k in self._seen for k in keys):
            return False
        for k in keys:
            self._seen[k] = now
        return True

    @staticmethod
    def event_keys(body: Dict[str, Any]) -> List[str]:
        event = body.get("event") or {}
        keys = [f"id:{body.get('event_id')}" if body.get("event_id") else ""]
        if event.get("channel") and event.get("ts"):
            keys.append(f"msg:{event['channel']}:{event['ts']}")
        return keys

    # -- where to answer ----------------------------------------------------------------------------------
    @staticmethod
    def event_metadata(body: Dict[str, Any]) -> Dict[Text, Any]:
        """Where to answer an event (channel, thread) and the bot's own user ids (stripped from mentions)."""
        event = body.get("event") or {}
        users = list(body.get("authed_users") or [])
        if not users and body.get("authorizations"):
            users = [body["authorizations"][0].get("user_id")]
        return {"out_channel": event.get("channel"), "thread_id": event.get("thread_ts", event.get("ts")),
                "users": users, "channel_type": event.get("channel_type")}

    @staticmethod
    def interaction_metadata(payload: Dict[str, Any]) -> Dict[Text, Any]:
        message = payload.get("message") or {}
        user = (payload.get("user") or {}).get("id")
        channel = (payload.get("channel") or {}).get("id")
        return {"out_channel": channel, "thread_id": message.get("thread_ts", message.get("ts")),
                "users": [user] if user else [], "channel_type": "im" if str(channel).startswith("D") else None}

    def get_metadata(self, request: Request) -> Dict[Text, Any]:
        content_type = (request.headers.get("content-type") or "").split(";")[0].strip()
        if content_type == "application/json":
            return self.event_metadata(request.json or {})
        if content_type == "application/x-www-form-urlencoded" and request.form.get("payload"):
            return self.interaction_metadata(json.loads(request.form.get("payload")))
        return {"users": []}

    # -- what Slack sends, over HTTP or the socket (the same handling) --------------------------------------
    def team_allowed(self, team: Any) -> bool:
        """True unless SLACK_ALLOWED_TEAMS is set and does not list this workspace (then logged)."""
        if self.allowed_teams is None or team in self.allowed_teams:
            return True
        logger.warning("Slack: refused a request from workspace %s (not in SLACK_ALLOWED_TEAMS)", str(team)[:32])
        return False

    def on_event(self, body: Dict[str, Any], handle: OnNewMessage, retry: Any = None) -> str:
        """An Events API body: starts the turn of a user's message (once), else says why not."""
        if not self.team_allowed(body.get("team_id")):
            return FORBIDDEN
        if body.get("type") != "event_callback" or not isinstance(body.get("event"), dict) \
                or not self._is_user_message(body):
            return IGNORED
        metadata = self.event_metadata(body)
        if not self._is_supported_channel(body, metadata):
            return UNSUPPORTED
        if not self.first_time(self.event_keys(body)):
            logger.info("Slack: event already answered (retry %s): not answering again", retry or "-")
            return REPEAT
        event = body["event"]
        sender = self._get_conversation_id(event.get("user", ""), metadata.get("out_channel"),
                                           metadata.get("thread_id"))
        text = self._sanitize_user_message(str(event.get("text") or ""), metadata["users"])
        self.start_turn(handle, text, sender, metadata)
        return STARTED

    def on_interaction(self, payload: Dict[str, Any], handle: OnNewMessage) -> str:
        """A click (block_actions): the question's buttons are replaced by the choice, then the turn runs, once."""
        if not self.team_allowed((payload.get("team") or {}).get("id")):
            return FORBIDDEN
        if not self._is_interactive_message(payload):
            return IGNORED
        action = payload["actions"][0]
        metadata = self.interaction_metadata(payload)
        ts = clicked_message_ts(payload)
        # an answer's "more" buttons (Show details, Transplant, ...) stay: each click asks for one layer of it
        more = str(action.get("action_id") or "").startswith("rrmm_more_")
        keys = [f"action:{payload.get('trigger_id') or action.get('action_ts')}",
                f"click:{metadata.get('out_channel')}:{ts}" if ts and not more else ""]  # one answer per question
        if not self.first_time(keys):
            return REPEAT
        text = self._get_interactive_response(action)
        if text is None:
            return IGNORED
        sender = self._get_conversation_id(payload["user"]["id"], metadata.get("out_channel"),
                                           metadata.get("thread_id"))
        out = self.output_for(metadata)
        self.start_turn(handle, text, sender, metadata, out,
                        first=None if more else mark_chosen(out.client, payload, action, self.api_url))
        return STARTED

    def on_command(self, form: Dict[str, Any], handle: OnNewMessage) -> str:
        """A slash command (`/rrmm <text>`): its text is the clinician's message; no text asks for help."""
        if not self.team_allowed(form.get("team_id")):
            return FORBIDDEN
        user, channel = form.get("user_id"), form.get("channel_id")
        if not user or not channel:
            return IGNORED
        if form.get("trigger_id") and not self.first_time([f"command:{form['trigger_id']}"]):
            return REPEAT
        text = self._sanitize_user_message(str(form.get("text") or ""), []) or HELP_TEXT
        metadata = {"out_channel": channel, "thread_id": None, "users": [],
                    "channel_type": "im" if str(channel).startswith("D") else None, "slash_command": True}
        out = self.output_for(metadata, response_url=form.get("response_url"))
        self.start_turn(handle, text, self._get_conversation_id(user, channel, None), metadata, out)
        return STARTED

    def output_for(self, metadata: Dict[str, Any], response_url: Optional[Text] = None) -> SlackOutput:
        threaded = self.use_threads and metadata.get("channel_type") != "im"  # direct messages stay unthreaded
        return self.get_output_channel(metadata.get("out_channel"), metadata.get("thread_id") if threaded else None,
                                       response_url)

    def start_turn(self, handle: OnNewMessage, text: Text, sender: Optional[Text], metadata: Dict[str, Any],
                   out: Optional[SlackOutput] = None, first: Optional[Awaitable[Any]] = None) -> None:
        """Runs the turn in the background (Slack wants its acknowledgement within 3 s); `first` before it."""
        out = out or self.output_for(metadata)
        user_msg = UserMessage(text, out, sender, input_channel=self.name(), metadata=metadata)

        async def run() -> None:
            if first is not None:
                await first
            await handle(user_msg)

        task = asyncio.create_task(run())
        self._background_tasks.add(task)
        task.add_done_callback(self._background_tasks.discard)

    async def process_message(self, request: Request, on_new_message: OnNewMessage, text: Text,
                              sender_id: Optional[Text], metadata: Optional[Dict]) -> Any:
        """Rasa's entry point: acknowledges at once and answers in the background."""
        self.start_turn(on_new_message, text, sender_id, metadata or {})
        return response.text("")

    # -- HTTP -----------------------------------------------------------------------------------------------
    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        handle = turn_handler(on_new_message)
        bp = serve_problems(Blueprint("slack_webhook", __name__))
        if self.app_token:
            return self.socket_blueprint(bp, handle)
        log_on("Slack", f"/webhooks/{self.name()}/webhook and /commands (Web API {self.api_url})")

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "mode": "http"})

        @bp.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if not self.is_request_from_slack_authentic(request):
                logger.warning("Slack: refused a request without a valid signature or with a stale timestamp")
                return problem_response(401, "unauthorized", "the request is not signed by Slack, or it is too old",
                                        [{"field": "X-Slack-Signature", "rule": "signed with the app's signing secret, "
                                                                                "at most 5 minutes old"}])
            content_type = (request.headers.get("content-type") or "").split(";")[0].strip()
            if content_type == "application/json":
                body = inbound.parse_json(request.body or b"", dict)
                if isinstance(body, inbound.Refusal):
                    return refusal_response(body)
                if body.get("type") == "url_verification":
                    return response.json({"challenge": str(body.get("challenge", ""))})
                outcome = self.on_event(body, handle, request.headers.get(self.retry_num_header))
            elif content_type == "application/x-www-form-urlencoded" and request.form.get("payload"):
                payload = inbound.parse_json(request.form.get("payload").encode("utf-8", "replace"), dict)
                if isinstance(payload, inbound.Refusal):
                    return refusal_response(payload)
                outcome = self.on_interaction(payload, handle)
            elif content_type == "application/x-www-form-urlencoded" and request.form.get("command"):
                outcome = self.on_command({k: request.form.get(k) for k in request.form}, handle)
            else:
                outcome = IGNORED
            if outcome == FORBIDDEN:
                return problem_response(403, "forbidden", "this workspace may not use this app",
                                        [{"field": "team_id", "rule": "listed in SLACK_ALLOWED_TEAMS"}])
            if outcome == REPEAT:
                return response.text("already answered", headers={"X-Slack-No-Retry": "1"})
            if outcome == UNSUPPORTED:
                return response.text("channel not supported")
            return response.text("" if outcome == STARTED else outcome)

        # the slash command's Request URL (it may also be the webhook itself)
        bp.add_route(webhook, "/commands", methods=["POST"], name="slack_commands")
        return bp

    def socket_blueprint(self, bp: Blueprint, handle: OnNewMessage) -> Blueprint:
        """Socket Mode: no webhook; the connection opens after the server starts and closes before it stops."""
        self.socket = socket = SlackSocketMode(self, handle)
        log_on("Slack", f"socket mode: no webhook, connecting out to Slack (Web API {self.api_url})")

        @bp.after_server_start  # (Sanic registers functions here, not bound methods)
        async def open_socket(_app: Any, _loop: Any) -> None:
            socket.start()

        @bp.before_server_stop
        async def close_socket(_app: Any, _loop: Any) -> None:
            await socket.close()

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "mode": "socket", "connected": socket.connected})

        return bp
