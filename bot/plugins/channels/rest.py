"""The REST channel for other programs: `bot.plugins.channels.rest.RestChannel` in credentials.yml.

The same URL and JSON as Rasa's `rest` channel (README, ../shared/spec/contract.md):
`POST /webhooks/rest/webhook` with `{"sender": "...", "message": "...", "metadata": {...}}` answers a list of
`{"recipient_id": ..., "text": ...}` and `{"recipient_id": ..., "custom": {...}}` (the rrmm_recommendation
payload). Over Rasa's channel, which answers 500 on an empty body or a JSON list, `200 []` when the turn
fails, and pools every request without a sender into one conversation named "default", this one:

- needs the HTTP API token (bot.plugins.tokens, RRMM_API_TOKEN or var/api.token) as
  `Authorization: Bearer <token>` (or `?token=<token>`, as Rasa's HTTP API takes it), or, when RRMM_JWT_SECRET
  is set, a JWT as Rasa's HTTP API accepts it (role `admin`: any conversation; role `user`: the conversation
  named by its `username` only): otherwise 401 (403 for a user token naming another conversation);
- refuses, with a 4xx and a JSON body `{"error": code, "reason": ...}` naming the problem, before anything
  runs: a body that is empty, not UTF-8 JSON, not an object, over the size limit (413) or nested too deeply;
  unknown fields or query parameters; a missing or malformed `sender` (1-128 characters of
  `A-Z a-z 0-9 _ - . : @`); a `message` that is not a string or is empty; `metadata` that is not an object;
- cleans the text (control characters, lone surrogates) and answers a text over RRMM_MAX_MESSAGE_CHARS
  with the limit (bot.plugins.inbound, applied to every channel by bot.plugins.patches); a failure inside
  the turn is answered with an apology (patches), never `[]`.
Streaming (`?stream=true`) is not offered. `GET /webhooks/rest/` answers `{"status": "ok"}` without a token.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Dict, Optional, Text

import jwt
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from .. import inbound, tokens
from .base import OnNewMessage, channel_keys, log_on

logger = logging.getLogger(__name__)

FIELDS = ("sender", "message", "metadata")
QUERY = ("token",)
_BEARER = re.compile(r"^Bearer\s+(\S+)$", re.I)


def _refuse(refusal: inbound.Refusal) -> HTTPResponse:
    logger.warning("REST: refused a request (%s): %s", refusal.status, refusal.reason)
    return response.json(refusal.body(), status=refusal.status)


def _clean_metadata(value: Any) -> Any:
    """Strings in metadata (keys and values) cleaned like message text; depth is bounded by parse_json."""
    if isinstance(value, str):
        return inbound.clean_text(value)
    if isinstance(value, dict):
        return {inbound.clean_text(str(k)): _clean_metadata(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_metadata(v) for v in value]
    return value


class RestChannel(InputChannel):
    """REST with authentication and input checks (see the module docstring)."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        return cls(*channel_keys())

    def __init__(self, token: Text, jwt_secret: Optional[Text] = None, jwt_method: Text = "HS256") -> None:
        self.token = token
        self.jwt_secret = jwt_secret
        self.jwt_method = jwt_method

    # -- authentication ------------------------------------------------------------------------------------
    def _credential(self, request: Request) -> Optional[str]:
        match = _BEARER.match(request.headers.get("Authorization") or "")
        if match:
            return match.group(1)
        return request.args.get("token")

    def authenticate(self, request: Request) -> "inbound.Refusal | Dict[str, Any] | None":
        """None for the API token (any conversation), the JWT's `user` claim, or a 401 Refusal."""
        given = self._credential(request)
        if tokens.matches(given, self.token):
            return None
        if given and self.jwt_secret:
            try:
                claims = jwt.decode(given, self.jwt_secret, algorithms=[self.jwt_method])
            except jwt.PyJWTError:
                claims = None
            user = claims.get("user") if isinstance(claims, dict) else None
            if isinstance(user, dict):
                return user
        return inbound.Refusal(
            "unauthorized", "send the API token as 'Authorization: Bearer <token>' (docs/security.md)", "", 401)

    @staticmethod
    def permits(user: Optional[Dict[str, Any]], sender: str) -> bool:
        """Rasa's JWT scopes: role `admin` any conversation, role `user` its own (username) only."""
        return user is None or user.get("role") == "admin" or (
            user.get("role") == "user" and user.get("username") == sender)

    # -- the webhook --------------------------------------------------------------------------------------
    def parse(self, request: Request) -> "inbound.Refusal | Dict[str, Any]":
        unknown = sorted(k for k in request.args if k not in QUERY)
        if unknown:
            names = inbound.names_of(unknown)
            return inbound.Refusal("unknown_parameters", f"unknown query parameter(s) {names}; accepted: token",
                                   "")
        body = inbound.parse_json(request.body or b"", dict)
        if isinstance(body, inbound.Refusal):
            return body
        problem = inbound.check_fields(body, FIELDS)
        if problem:
            return problem
        sender = inbound.check_sender(body.get("sender"))
        if isinstance(sender, inbound.Refusal):
            return sender
        message = body.get("message")
        if message is None:
            return inbound.Refusal("message_missing", "'message' is required", "")
        if not isinstance(message, str):
            return inbound.check_text(message)  # the Refusal naming the type
        metadata = body.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            return inbound.Refusal("metadata_invalid", "'metadata' must be an object", "")
        text = inbound.check_text(message, inbound.max_message_chars())
        if isinstance(text, inbound.Refusal) and text.code == "message_empty":
            return text
        # a text over the limit goes on: the turn answers it with the limit, as on every channel (patches)
        return {"sender": sender, "message": message, "metadata": _clean_metadata(metadata or {})}

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        bp = Blueprint("custom_webhook_RestChannel", __name__)
        log_on("REST", f"/webhooks/{self.name()}/webhook (API token{' or JWT' if self.jwt_secret else ''} required)")

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            user = self.authenticate(request)
            if isinstance(user, inbound.Refusal):
                return _refuse(user)  # nothing about the body is looked at before authentication
            parsed = self.parse(request)
            if isinstance(parsed, inbound.Refusal):
                return _refuse(parsed)
            if not self.permits(user, parsed["sender"]):
                return _refuse(inbound.Refusal("forbidden", "this token may not use this conversation", "", 403))
            collector = CollectingOutputChannel()
            await on_new_message(UserMessage(parsed["message"], collector, parsed["sender"],
                                             input_channel=self.name(), metadata=parsed["metadata"]))
            return response.json(collector.messages)

        return bp
