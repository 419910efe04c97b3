"""The action server's door: only Rasa, holding the action token, runs an action.

`ActionServerGuard` is a rasa_sdk plug-in (its documented extension point: a pluggy hook,
`attach_sanic_app_extensions`, registered by `actions/__main__.py`; nothing of rasa_sdk is patched). On the
rasa_sdk Sanic app it adds:

- a request middleware that, before any action runs, needs `Authorization: Bearer <RRMM_ACTION_TOKEN>` on
  `/webhook` and `/actions` (401 otherwise, logged without the token; `/health` stays open), and checks the
  action call: UTF-8 JSON object within RRMM_ACTION_MAX_BODY bytes (default 16 MiB: the call carries the whole
  conversation), nested at most 64 levels, a string `next_action`, an object `tracker`, and no field Rasa
  does not send (400 with `{"error": ..., "reason": ...}`);
- an error handler in place of rasa_sdk's, which answers 500 with the exception text *and the request body*
  (the conversation, identifiers included, back to the caller): 4xx errors keep their status, anything else
  answers 500 with a short reason; the traceback goes to the log only.

The token comes from bot.plugins.tokens (RRMM_ACTION_TOKEN, else var/action.token, created once with mode
0600). Rasa sends it from endpoints.yml (`headers: Authorization: Bearer ${RRMM_ACTION_TOKEN}`).
"""
from __future__ import annotations

import logging
import os
import re
import zlib
from typing import Any, Optional

import pluggy
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from . import inbound, tokens

logger = logging.getLogger(__name__)
hookimpl = pluggy.HookimplMarker("rasa_sdk")

PROTECTED = ("/webhook", "/actions")
CALL_FIELDS = ("next_action", "sender_id", "tracker", "domain", "version")
DEFAULT_MAX_BODY = 16 * 1024 * 1024
MAX_DEPTH = 64
_BEARER = re.compile(r"^Bearer\s+(\S+)$", re.I)


def max_body(env: Any = os.environ) -> int:
    raw = (env.get("RRMM_ACTION_MAX_BODY") or "").strip()
    if not raw:
        return DEFAULT_MAX_BODY
    if not raw.isdigit() or int(raw) < 65536:
        raise inbound.ConfigError("RRMM_ACTION_MAX_BODY must be a number of bytes, at least 65536")
    return int(raw)


def _refusal(status: int, code: str, reason: str) -> HTTPResponse:
    return response.json({"error": code, "reason": reason}, status=status)


class ActionServerGuard:
    """See the module docstring."""

    def __init__(self, token: str, max_bytes: int = DEFAULT_MAX_BODY) -> None:
        self.token = token
        self.max_bytes = max_bytes

    @classmethod
    def from_env(cls) -> "ActionServerGuard":
        value, created = tokens.token("action")
        if created:
            logger.warning("action server: created the per-install token file %s (mode 0600); Rasa must send it "
                           "(RRMM_ACTION_TOKEN, endpoints.yml)", created)
        return cls(value, max_body())

    @hookimpl
    def attach_sanic_app_extensions(self, app: Sanic) -> None:
        app.register_middleware(self.check, "request")
        app.exception(Exception)(self.on_error)
        logger.info("action server: %s need the action token", " and ".join(PROTECTED))

    def body(self, request: Request) -> "bytes | HTTPResponse":
        raw = request.body or b""
        if request.headers.get("Content-Encoding") == "deflate":
            try:
                inflater = zlib.decompressobj()
                raw = inflater.decompress(raw, self.max_bytes + 1)
            except zlib.error:
                return _refusal(400, "body_not_deflate", "Content-Encoding is deflate but the body is not")
        if len(raw) > self.max_bytes:
            return _refusal(413, "body_too_large", f"the action call is over {self.max_bytes:,} bytes")
        return raw

    async def check(self, request: Request) -> Optional[HTTPResponse]:
        if request.path not in PROTECTED:
            return None
        match = _BEARER.match(request.headers.get("Authorization") or "")
        if not tokens.matches(match.group(1) if match else None, self.token):
            logger.warning("action server: refused a request to %s without the action token", request.path)
            return _refusal(401, "unauthorized", "the action server needs 'Authorization: Bearer <action token>' "
                                                 "(RRMM_ACTION_TOKEN; docs/security.md)")
        if request.path != "/webhook" or request.method != "POST":
            return None
        raw = self.body(request)
        if isinstance(raw, HTTPResponse):
            return raw
        call = inbound.parse_json(raw, dict, max_bytes=self.max_bytes, max_depth=MAX_DEPTH)
        if isinstance(call, inbound.Refusal):
            problem: Optional[inbound.Refusal] = call
        else:
            problem = inbound.check_fields(call, CALL_FIELDS, ("next_action",))
            if problem is None and not isinstance(call["next_action"], str):
                problem = inbound.Refusal("next_action_invalid", "'next_action' must be a string", "")
            if problem is None and not isinstance(call.get("tracker"), dict):
                problem = inbound.Refusal("tracker_invalid", "'tracker' must be an object", "")
        if problem is not None:
            logger.warning("action server: refused an action call: %s", problem.reason)
            return response.json(problem.body(), status=problem.status)
        return None

    async def on_error(self, request: Request, exception: Exception) -> HTTPResponse:
        if isinstance(exception, SanicException) and 400 <= exception.status_code < 500:
            return _refusal(exception.status_code, "bad_request", str(exception)[:300])
        logger.error("action server: %s failed (%s)", request.path, type(exception).__name__, exc_info=exception)
        return _refusal(500, "action_failed", f"the action failed ({type(exception).__name__}); see the action "
                                              "server's log")
