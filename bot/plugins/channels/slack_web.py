"""Slack Web API helpers shared by the HTTP (Events API) and Socket Mode connectors.

- `web_client(token, api_url, proxy)`: an AsyncWebClient that waits out Slack's rate limits. Slack answers a
  call over a method's rate limit with HTTP 429 and `Retry-After` (seconds); `RateLimitRetry` waits that long
  (at most `RATE_LIMIT_MAX_WAIT`) and sends the same call again, at most `RATE_LIMIT_RETRIES` times, so a
  reply is delayed rather than lost. After the last retry the call fails as before (logged, not raised past
  the turn).
- `mark_chosen(client, payload, ...)`: once a question button is clicked, the question message is updated
  (chat.update) so that its buttons are replaced by a line saying who chose what: they cannot be pressed twice.
- `post_to_response_url(url, body, api_url)`: replies through a slash command's or an interaction's
  `response_url`, only to Slack's own hooks host (or the host of the configured Web API, for a stand-in).
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any, Dict, List, Optional
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import async_default_handlers
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from .render import SLACK_CONTEXT_CHARS, SLACK_SECTION_CHARS, cut, slack_escape

logger = logging.getLogger("bot.plugins.channels.slack")

RATE_LIMIT_RETRIES = 3
RATE_LIMIT_MAX_WAIT = 30.0  # seconds; Slack's Retry-After is usually 1-30 s for chat.* methods
SLACK_HOOKS = "https://hooks.slack.com/"
_USER_ID = re.compile(r"\A[UW][A-Z0-9]{2,30}\Z")
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=30)


def retry_after(response: Optional[HttpResponse], default: float = 1.0) -> float:
    """Seconds to wait from a 429 answer's Retry-After header (a number of seconds), within the bound."""
    for name, values in (response.headers.items() if response is not None else []):
        if name.lower() == "retry-after":
            raw = values[0] if isinstance(values, list) and values else values
            try:
                return min(max(float(str(raw).strip()), 0.0), RATE_LIMIT_MAX_WAIT)
            except ValueError:
                break
    return default


class RateLimitRetry(AsyncRetryHandler):
    """Retries a Web API call that Slack refused with 429, after the Retry-After it gave (bounded)."""

    def __init__(self, max_retry_count: int = RATE_LIMIT_RETRIES) -> None:
        super().__init__(max_retry_count=max_retry_count)

    async def _can_retry_async(self, *, state: RetryState, request: HttpRequest,
                               response: Optional[HttpResponse] = None, error: Optional[Exception] = None) -> bool:
        return response is not None and response.status_code == 429

    async def prepare_for_next_attempt_async(self, *, state: RetryState, request: HttpRequest,
                                             response: Optional[HttpResponse] = None,
                                             error: Optional[Exception] = None) -> None:
        wait = retry_after(response)
        method = request.url.rstrip("/").rsplit("/", 1)[-1]
        logger.warning("Slack: rate limited on %s (429); retrying in %.0f s (retry %d of %d)", method, wait,
                       state.current_attempt + 1, self.max_retry_count)
        state.next_attempt_requested = True
        await asyncio.sleep(wait)
        state.increment_current_attempt()


def web_client(token: Optional[str], api_url: str, proxy: Optional[str] = None) -> AsyncWebClient:
    """A Web API client at `api_url` that retries on connection resets (slack_sdk's default) and on 429."""
    return AsyncWebClient(token, base_url=api_url, proxy=proxy, timeout=30,
                          retry_handlers=[*async_default_handlers(), RateLimitRetry()])


# ---- replies through a response_url ---------------------------------------------------------------------
def response_url_allowed(url: str, api_url: str) -> bool:
    """Only Slack's hooks host, or the host of the configured Web API (a local stand-in in tests)."""
    if not isinstance(url, str) or not url:
        return False
    if url.startswith(SLACK_HOOKS):
        return True
    target, api = urlsplit(url), urlsplit(api_url)
    return bool(api.netloc) and (target.scheme, target.netloc) == (api.scheme, api.netloc)


async def post_to_response_url(url: str, body: Dict[str, Any], api_url: str) -> bool:
    """POSTs `body` (JSON) to a response_url; False (logged) when refused or not accepted."""
    if not response_url_allowed(url, api_url):
        logger.warning("Slack: not following a response_url outside %s", SLACK_HOOKS)
        return False
    async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as session:
        async with session.post(url, data=json.dumps(body), headers={"Content-Type": "application/json"}) as r:
            if r.status >= 300:
                logger.error("Slack: the response_url did not accept the reply (HTTP %s)", r.status)
                return False
    return True


# ---- a clicked question: its buttons replaced by what was chosen ----------------------------------------
def chosen_line(payload: Dict[str, Any], action: Dict[str, Any]) -> str:
    title = (action.get("text") or {}).get("text") or action.get("value") or "?"
    user = str((payload.get("user") or {}).get("id") or "")
    who = f"<@{user}>" if _USER_ID.match(user) else "You"
    return cut(f":white_check_mark: {who} chose *{slack_escape(title)}*", SLACK_CONTEXT_CHARS)


def chosen_message(payload: Dict[str, Any], action: Dict[str, Any]) -> Dict[str, Any]:
    """The clicked message with its action blocks replaced by a context line naming the choice."""
    message = payload.get("message") or {}
    blocks: List[Dict[str, Any]] = [b for b in message.get("blocks") or []
                                    if isinstance(b, dict) and b.get("type") != "actions"]
    text = str(message.get("text") or "")
    if not blocks and text:
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SLACK_SECTION_CHARS)}}]
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": chosen_line(payload, action)}]})
    return {"text": text or chosen_line(payload, action), "blocks": blocks}


def clicked_message_ts(payload: Dict[str, Any]) -> Optional[str]:
    return (payload.get("container") or {}).get("message_ts") or (payload.get("message") or {}).get("ts")


async def mark_chosen(client: AsyncWebClient, payload: Dict[str, Any], action: Dict[str, Any], api_url: str) -> None:
    """Updates the clicked question so its buttons are gone; failures are logged (the answer still comes)."""
    channel = (payload.get("channel") or {}).get("id") or (payload.get("container") or {}).get("channel_id")
    ts = clicked_message_ts(payload)
    update = chosen_message(payload, action)
    try:
        if (payload.get("container") or {}).get("is_ephemeral"):  # chat.update cannot change ephemeral messages
            await post_to_response_url(payload.get("response_url", ""), {"replace_original": True, **update}, api_url)
        elif channel and ts:
            await client.chat_update(channel=channel, ts=ts, **update)
    except (SlackApiError, aiohttp.ClientError, asyncio.TimeoutError) as exc:
        logger.error("Slack: could not remove the buttons of the answered question (%s)", _error_name(exc))


def _error_name(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        error = exc.response.get("error") if exc.response is not None else None
        return str(error or "SlackApiError")
    return type(exc).__name__
