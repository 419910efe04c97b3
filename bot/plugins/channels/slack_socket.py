"""Slack Socket Mode for the Slack connector: no public URL, the Rasa server connects out to Slack.

When SLACK_APP_TOKEN (an app-level token, `xapp-...`, with the `connections:write` scope) is set, the Slack
connector (bot.plugins.channels.slack.SlackChannel) serves no webhook. Instead, when the Rasa server has started
(a Sanic `after_server_start` listener of the channel's blueprint) it asks Slack for a WebSocket URL
(`apps.connections.open` with the app token) and opens it with slack_sdk's asyncio Socket Mode client
(`slack_sdk.socket_mode.aiohttp`, on Sanic's own event loop). Slack then sends everything over that socket:

- `events_api` envelopes (messages to the bot, mentions), `interactive` ones (button clicks) and
  `slash_commands` (`/rrmm`). Each is acknowledged on the socket first (Slack wants the ack within 3 s and
  redelivers an unacknowledged envelope), then handed to the very same handlers as the HTTP webhook
  (SlackChannel.on_event / on_interaction / on_command): same conversation ids, same renderer, same
  de-duplication of redelivered events, replies through the same Web API calls (chat.postMessage, chat.update).
- `hello` when a connection is ready; `disconnect` when Slack wants the client to move to a new connection
  (about every few hours, or before maintenance): slack_sdk then opens a new URL; a dropped or silent socket
  (no pong) is reopened the same way.

Trust model (as Slack documents for Socket Mode): nothing arrives over HTTP, so there is no request signature
to check; what comes over the socket comes from Slack, because only the holder of the app-level token can open
it (over TLS, to the URL Slack's API returned). The app-level token is therefore the secret to protect: anyone
holding it can receive the app's events. The signing secret is not used in this mode.

Log messages say "socket mode" in lower case: the log redaction (bot.privacy) takes "Socket Mode" for a name.
The connection closes when the server stops (`before_server_stop`). Without internet the server still starts:
the connection is retried in the background (1 s, doubling to 60 s) and the log says why. A token Slack refuses
(`invalid_auth`, a bot token instead of an app-level one, ...) stops the attempts with an error naming the cause.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, Optional

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from .slack_web import web_client

logger = logging.getLogger("bot.plugins.channels.slack")

FATAL_ERRORS = {"invalid_auth", "not_authed", "not_allowed_token_type", "account_inactive", "token_revoked",
                "token_expired", "missing_scope", "no_permission"}
FIRST_DELAY, MAX_DELAY = 1.0, 60.0
PING_INTERVAL = 10.0  # seconds between pings; a socket silent for four intervals is reopened



class SlackSocketMode:
    """One Socket Mode connection for a SlackChannel: `start()` after the server starts, `close()` before it stops.

    `channel` provides `app_token`, `api_url`, `proxy` and the handlers `on_event(body, handle, retry)`,
    `on_interaction(payload, handle)` and `on_command(form, handle)`; `handle` is the turn handler.
    """

    def __init__(self, channel: Any, handle: Callable[[Any], Awaitable[Any]]) -> None:
        self.channel = channel
        self.handle = handle
        self.client: Optional[SocketModeClient] = None
        self.closed = False
        self._task: Optional[asyncio.Task] = None

    @property
    def connected(self) -> bool:
        session = self.client.current_session if self.client is not None else None
        return session is not None and not session.closed

    # -- lifecycle --------------------------------------------------------------------------------------
    def start(self) -> None:
        """Connects in the background (the server does not wait for Slack)."""
        if self._task is None:
            self.closed = False
            self._task = asyncio.create_task(self._connect())

    async def _connect(self) -> None:
        token = self.channel.app_token
        if not token.startswith("xapp-"):
            logger.error("Slack socket mode is OFF: SLACK_APP_TOKEN must be an app-level token (xapp-...) with the "
                         "connections:write scope (the app's settings, app-level tokens)")
            return
        api = web_client(None, self.channel.api_url, self.channel.proxy)
        delay = FIRST_DELAY
        while not self.closed:
            try:
                response = await api.apps_connections_open(app_token=token)
                url = response["url"]
            except SlackApiError as exc:
                error = str(exc.response.get("error") if exc.response is not None else "") or "error"
                if error in FATAL_ERRORS:
                    logger.error("Slack socket mode is OFF: Slack refused SLACK_APP_TOKEN (%s). Create an app-level "
                                 "token with the connections:write scope and restart.", error)
                    return
                logger.warning("Slack socket mode: apps.connections.open failed (%s); retrying in %.0f s", error, delay)
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError, KeyError, TypeError) as exc:
                logger.warning("Slack socket mode: cannot reach Slack at %s (%s); retrying in %.0f s",
                               self.channel.api_url, type(exc).__name__, delay)
            else:
                await self._open(url, api)
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_DELAY)

    async def _open(self, url: str, api: Any) -> None:
        client = SocketModeClient(self.channel.app_token, logger=logging.getLogger("bot.plugins.channels.slack.sdk"),
                                  web_client=api, proxy=self.channel.proxy, ping_interval=PING_INTERVAL)
        client.message_listeners.append(self.on_message)
        client.socket_mode_request_listeners.append(self.on_request)
        self.client = client
        client.wss_uri = url  # the URL just issued: connect() uses it instead of asking again
        await client.connect()

    async def close(self) -> None:
        self.closed = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None
        client, self.client = self.client, None
        if client is not None:
            await client.close()
            logger.info("Slack socket mode: connection closed")

    # -- what arrives on the socket ---------------------------------------------------------------------
    async def on_message(self, client: AsyncBaseSocketModeClient, message: Dict[str, Any], raw: Optional[str]) -> None:
        # (`disconnect` never reaches the listeners: slack_sdk opens a new connection at once)
        if message.get("type") == "hello":
            logger.info("Slack channel is connected over socket mode (%s connection(s) for this app)",
                        message.get("num_connections", "?"))

    async def on_request(self, client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        """Acknowledges the envelope at once, then hands its payload to the connector's handlers."""
        try:
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
        except (ConnectionError, aiohttp.ClientError, RuntimeError) as exc:  # Slack redelivers; de-duplicated
            logger.warning("Slack socket mode: could not acknowledge an envelope (%s)", type(exc).__name__)
        try:
            if request.type == "events_api":
                outcome = self.channel.on_event(request.payload, self.handle, request.retry_attempt)
            elif request.type == "interactive":
                outcome = self.channel.on_interaction(request.payload, self.handle)
            elif request.type == "slash_commands":
                outcome = self.channel.on_command(request.payload, self.handle)
            else:
                outcome = "ignored"
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            logger.warning("Slack socket mode: could not read a %s envelope (%s)", request.type, type(exc).__name__)
            return
        logger.debug("Slack socket mode: %s envelope %s", request.type, outcome)
