"""Slack (Events API) for the assistant: `bot.plugins.channels.slack.SlackChannel` in credentials.yml.

Secrets from the environment only: SLACK_BOT_TOKEN (xoxb-...) and SLACK_SIGNING_SECRET. Without both, the
channel is off (logged at start, webhook answers 503). Non-secret settings (credentials.yml keys, or the
environment): `slack_api_url` / SLACK_API_URL, the Web API base (default https://slack.com/api/; the tests
point it at a local stand-in), `use_threads`, `conversation_granularity`, `slack_channel`.

Over Rasa's SlackInput this connector:
- rejects every request that is not signed with the signing secret, or whose timestamp is more than five
  minutes away (401), before looking at its content; answers Slack's URL verification only when signed;
- with SLACK_ALLOWED_TEAMS (comma-separated workspace ids, T...), refuses events and interactions of any
  other workspace (403, logged); a body that is not the JSON or form Slack sends gets 400 with the reason;
- answers each event once: Slack resends an event (X-Slack-Retry-Num) when the first answer was slow or
  failed; events are recognised by event id and by channel + message timestamp (a mention in a channel
  can arrive as both `message` and `app_mention`), and repeats are acknowledged with X-Slack-No-Retry;
- posts one message per reply (Rasa splits texts at blank lines) and the recommendation as Block Kit
  instead of its plain text (bot.plugins.channels.render.render_slack), within Slack's limits.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from http import HTTPStatus
from typing import Any, Dict, List, Optional, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.slack import SlackBot, SlackInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.web.async_client import AsyncWebClient

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
from .render import (
    SLACK_SECTION_CHARS,
    SLACK_TEXT_CHARS,
    cut,
    is_recommendation,
    render_slack,
    slack_escape,
    split_text,
)

logger = logging.getLogger(__name__)

SECRETS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
DEFAULT_API_URL = "https://slack.com/api/"
SEEN_TTL_SECONDS = 3600  # Slack retries within minutes; an hour is plenty
SEEN_MAX = 10000


class SlackOutput(TurnOutput, SlackBot):
    """Posts through chat.postMessage at a configurable Web API base URL."""

    def __init__(self, token: Text, slack_channel: Optional[Text] = None, thread_id: Optional[Text] = None,
                 proxy: Optional[Text] = None, api_url: Text = DEFAULT_API_URL) -> None:
        super().__init__(token, slack_channel, thread_id, proxy)
        self.client = AsyncWebClient(token, base_url=api_url, proxy=proxy, timeout=30)

    def render_native(self, rec: Dict[str, Any]) -> Dict[str, Any]:
        return render_slack(rec)

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
    """Slack Events API connector with secrets from the environment (see the module docstring)."""

    @classmethod
    def name(cls) -> Text:
        return "slack"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        plug_in()
        credentials = credentials or {}
        refuse_file_secrets("Slack", credentials, ("slack_token", "slack_signing_secret"), SECRETS)
        values, missing = secrets_from_env(SECRETS)
        if missing:
            return off_channel(cls.name(), "Slack", missing)
        return cls(
            values["SLACK_BOT_TOKEN"],
            setting(credentials, "slack_channel", "SLACK_CHANNEL", None),
            credentials.get("proxy"),
            use_threads=bool(credentials.get("use_threads", False)),
            slack_signing_secret=values["SLACK_SIGNING_SECRET"],
            conversation_granularity=credentials.get("conversation_granularity", "sender"),
            api_url=setting(credentials, "slack_api_url", "SLACK_API_URL", DEFAULT_API_URL),
            allowed_teams=allowed_ids("SLACK_ALLOWED_TEAMS"),
        )

    def __init__(self, slack_token: Text, slack_channel: Optional[Text] = None, proxy: Optional[Text] = None,
                 use_threads: bool = False, slack_signing_secret: Text = "",
                 conversation_granularity: Text = "sender", api_url: Text = DEFAULT_API_URL,
                 allowed_teams: Optional[frozenset] = None) -> None:
        super().__init__(slack_token, slack_channel, proxy, "x-slack-retry-reason", "x-slack-retry-num",
                         None, use_threads, slack_signing_secret, conversation_granularity)
        self.api_url = api_url if api_url.endswith("/") else api_url + "/"
        self.allowed_teams = allowed_teams
        self._seen: "OrderedDict[str, float]" = OrderedDict()

    def get_output_channel(self, channel: Optional[Text] = None, thread_id: Optional[Text] = None) -> SlackOutput:
        return SlackOutput(self.slack_token, channel or self.slack_channel, thread_id, self.proxy, self.api_url)

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
        return {"out_channel": (payload.get("channel") or {}).get("id"),
                "thread_id": message.get("thread_ts", message.get("ts")), "users": [user] if user else []}

    def team_allowed(self, team: Any) -> bool:
        if self.allowed_teams is None or team in self.allowed_teams:
            return True
        logger.warning("Slack: refused a request from workspace %s (not in SLACK_ALLOWED_TEAMS)", str(team)[:32])
        return False

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        handle = turn_handler(on_new_message)
        bp = Blueprint("slack_webhook", __name__)
        log_on("Slack", f"/webhooks/{self.name()}/webhook (Web API {self.api_url})")

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if not self.is_request_from_slack_authentic(request):
                logger.warning("Slack: refused a request without a valid signature or with a stale timestamp")
                return response.text("Request not signed by Slack, or too old.", status=HTTPStatus.UNAUTHORIZED)
            content_type = (request.headers.get("content-type") or "").split(";")[0].strip()
            retry = request.headers.get(self.retry_num_header)
            if content_type == "application/json":
                body = inbound.parse_json(request.body or b"", dict)
                if isinstance(body, inbound.Refusal):
                    return response.json(body.body(), status=body.status)
                if body.get("type") == "url_verification":
                    return response.json({"challenge": str(body.get("challenge", ""))})
                if not self.team_allowed(body.get("team_id")):
                    return response.text("This workspace may not use this app.", status=HTTPStatus.FORBIDDEN)
                if body.get("type") != "event_callback" or not isinstance(body.get("event"), dict) \
                        or not self._is_user_message(body):
                    return response.text("ignored")
                metadata = self.event_metadata(body)
                if not self._is_supported_channel(body, metadata):
                    return response.text("channel not supported")
                if not self.first_time(self.event_keys(body)):
                    logger.info("Slack: event already answered (retry %s): not answering again", retry or "-")
                    return response.text("already answered", headers={"X-Slack-No-Retry": "1"})
                event = body["event"]
                sender = self._get_conversation_id(event.get("user", ""), metadata.get("out_channel"),
                                                   metadata.get("thread_id"))
                text = self._sanitize_user_message(str(event.get("text") or ""), metadata["users"])
                return await self.process_message(request, handle, text, sender, metadata)
            if content_type == "application/x-www-form-urlencoded" and request.form.get("payload"):
                payload = inbound.parse_json(request.form.get("payload").encode("utf-8", "replace"), dict)
                if isinstance(payload, inbound.Refusal):
                    return response.json(payload.body(), status=payload.status)
                if not self.team_allowed((payload.get("team") or {}).get("id")):
                    return response.text("This workspace may not use this app.", status=HTTPStatus.FORBIDDEN)
                if not self._is_interactive_message(payload):
                    return response.text("ignored")
                action = payload["actions"][0]
                if not self.first_time([f"action:{payload.get('trigger_id') or action.get('action_ts')}"]):
                    return response.text("already answered", headers={"X-Slack-No-Retry": "1"})
                text = self._get_interactive_response(action)
                if text is None:
                    return response.text("ignored")
                metadata = self.interaction_metadata(payload)
                sender = self._get_conversation_id(payload["user"]["id"], metadata.get("out_channel"),
                                                   metadata.get("thread_id"))
                return await self.process_message(request, handle, text, sender, metadata)
            return response.text("ignored")

        return bp

    async def process_message(self, request: Request, on_new_message: OnNewMessage, text: Text,
                              sender_id: Optional[Text], metadata: Optional[Dict]) -> Any:
        """Acknowledges at once and answers in the background (Slack wants a reply within 3 s)."""
        metadata = metadata or {}
        threaded = self.use_threads and metadata.get("channel_type") != "im"  # direct messages stay unthreaded
        out = self.get_output_channel(metadata.get("out_channel"), metadata.get("thread_id") if threaded else None)
        user_msg = UserMessage(text, out, sender_id, input_channel=self.name(), metadata=metadata)
        task = asyncio.create_task(on_new_message(user_msg))
        self._background_tasks.add(task)
        task.add_done_callback(self._background_tasks.discard)
        return response.text("")
