"""Microsoft Teams through the Bot Framework: `bot.plugins.channels.teams.TeamsChannel` in credentials.yml.

Secrets from the environment only: TEAMS_APP_ID and TEAMS_APP_PASSWORD (the Azure Bot's Microsoft App ID and
a client secret). Without both the channel is off (logged at start, webhook answers 503). TEAMS_APP_TENANT_ID
is set for a single-tenant bot. Non-secret settings (credentials.yml keys or the environment), for a test
or a sovereign cloud: `openid_metadata_url` / TEAMS_OPENID_METADATA_URL (default Microsoft's Bot Framework
OpenID metadata) and `token_url` / TEAMS_TOKEN_URL (default Microsoft's OAuth token endpoint).

Rasa's BotFrameworkInput fetches Microsoft's keys while starting (so it cannot start offline), takes the
algorithm from the token itself and checks only signature and audience. This connector checks what the
Bot Framework's authentication protocol asks of a bot, on every activity, before reading it:
- a Bearer token, RS256, signed by a key of the OpenID metadata's key set (fetched when first needed,
  refreshed daily and when an unknown key id shows up, at most every five minutes);
- issuer https://api.botframework.com, audience the app id, expiry and not-before (five minutes' leeway);
- the signing key's endorsements include the activity's channel id, when the key lists endorsements;
- the token's `serviceurl` claim equals the activity's serviceUrl (replies, with the bot's own token, go
  only where the signed token says).
Anything else gets 401 and is not processed. Then the tenant: an activity from a tenant other than those of
TEAMS_ALLOWED_TENANTS (comma-separated tenant ids; default: TEAMS_APP_TENANT_ID for a single-tenant bot, the
recommended registration) gets 403 and is logged, before anything else (the welcome included); a multi-tenant
bot with neither variable accepts every tenant and says so in the log at start. Valid message activities are
acknowledged at once (202) and answered in the background: the recommendation as an Adaptive Card
(bot.plugins.channels.render.render_teams).
When the bot is installed (a conversationUpdate whose membersAdded include the bot itself: a personal install,
or the app added to a team or group chat) it sends a welcome: the domain's `utter_greet` and `utter_help` texts.
The app package for Teams (manifest, icons, suggested commands) is built by bot.plugins.channels.teams_package.
"""
from __future__ import annotations

import asyncio
import datetime
import json
import logging
import re
import time
from http import HTTPStatus
from typing import Any, Dict, List, Optional, Text

import aiohttp
import jwt
from jwt.algorithms import RSAAlgorithm
from rasa.core.channels.botframework import MICROSOFT_OPEN_ID_URI, BotFramework, BotFrameworkInput
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

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
from .problem import problem_response, serve_problems
from .render import TEAMS_TEXT_CHARS, is_recommendation, render_teams, split_text, teams_text

logger = logging.getLogger(__name__)

SECRETS = ("TEAMS_APP_ID", "TEAMS_APP_PASSWORD")
ISSUER = "https://api.botframework.com"
TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
DEFAULT_TOKEN_URL = TOKEN_URL.format(tenant="botframework.com")
TOKEN_SCOPE = "https://api.botframework.com/.default"
KEYS_MAX_AGE = datetime.timedelta(days=1)
KEYS_MIN_REFRESH_SECONDS = 300
LEEWAY_SECONDS = 300
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=15)
_MENTION = re.compile(r"<at>[^<]*</at>", re.I)
WELCOME_RESPONSES = ("utter_greet", "utter_help")  # domain.yml
WELCOME_FALLBACK = "Hello. Describe a patient with relapsed or refractory myeloma, or type help."


class AuthError(Exception):
    """An activity whose token does not pass; the message is safe to log (no token content)."""


class TeamsOutput(TurnOutput, BotFramework):
    """Sends replies to the activity's serviceUrl with the bot's OAuth token (asynchronous HTTP)."""

    _tokens: Dict[str, Any] = {}  # (token_url, app_id) -> (access token, expiry as monotonic seconds)

    def __init__(self, app_id: Text, app_password: Text, conversation: Dict[Text, Any], bot: Dict[Text, Any],
                 service_url: Text, token_url: Text) -> None:
        super().__init__(app_id, app_password, conversation, bot, service_url)
        self.token_url = token_url

    def render_native(self, rec: Dict[str, Any]) -> Dict[str, Any]:
        return render_teams(rec)

    async def _get_headers(self) -> Optional[Dict[Text, Any]]:
        key = f"{self.token_url}|{self.app_id}"
        cached = TeamsOutput._tokens.get(key)
        if cached and cached[1] > time.monotonic():
            token = cached[0]
        else:
            data = {"grant_type": "client_credentials", "client_id": self.app_id,
                    "client_secret": self.app_password, "scope": TOKEN_SCOPE}
            async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as session:
                async with session.post(self.token_url, data=data) as r:
                    if r.status != 200:
                        logger.error("Teams: could not get a Bot Framework token (HTTP %s)", r.status)
                        return None
                    body = await r.json(content_type=None)
            token = body["access_token"]
            TeamsOutput._tokens[key] = (token, time.monotonic() + max(60, int(body.get("expires_in", 3600)) - 300))
        return {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    async def send(self, message_data: Dict[Text, Any]) -> None:
        headers = await self._get_headers()
        if headers is None:
            return
        url = f"{self.global_uri}conversations/{self.conversation['id']}/activities"
        async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as session:
            async with session.post(url, headers=headers, data=json.dumps(message_data)) as r:
                if r.status >= 300:
                    logger.error("Teams: sending a reply failed (HTTP %s)", r.status)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        for part in split_text(text, TEAMS_TEXT_CHARS):
            await self.send(self.prepare_message(recipient_id, {"text": teams_text(part), "textFormat": "markdown"}))

    async def send_text_with_buttons(self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]],
                                     **kwargs: Any) -> None:
        card = {"contentType": "application/vnd.microsoft.card.hero", "content": {
            "text": teams_text(text),
            "buttons": [{"type": "imBack", "title": b["title"], "value": b["payload"]} for b in buttons]}}
        await self.send(self.prepare_message(recipient_id, {"attachments": [card]}))

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        if is_recommendation(json_message):
            await self.send(self.prepare_message(recipient_id, render_teams(json_message["recommendation"])))
        else:
            await super().send_custom_json(recipient_id, dict(json_message), **kwargs)


class TeamsChannel(BotFrameworkInput):
    """Bot Framework connector for Teams with secrets from the environment (see the module docstring)."""

    @classmethod
    def name(cls) -> Text:
        return "botframework"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        plug_in()
        credentials = credentials or {}
        refuse_file_secrets("Teams", credentials, ("app_id", "app_password"), SECRETS)
        values, missing = secrets_from_env(SECRETS)
        if missing:
            return off_channel(cls.name(), "Teams (Bot Framework)", missing)
        tenant = setting(None, "", "TEAMS_APP_TENANT_ID", "botframework.com")
        allowed = allowed_ids("TEAMS_ALLOWED_TENANTS")
        if allowed is None and tenant != "botframework.com":
            allowed = frozenset([tenant])
        return cls(values["TEAMS_APP_ID"], values["TEAMS_APP_PASSWORD"],
                   openid_metadata_url=setting(credentials, "openid_metadata_url", "TEAMS_OPENID_METADATA_URL",
                                               MICROSOFT_OPEN_ID_URI),
                   token_url=setting(credentials, "token_url", "TEAMS_TOKEN_URL", TOKEN_URL.format(tenant=tenant)),
                   allowed_tenants=allowed)

    def __init__(self, app_id: Text, app_password: Text, openid_metadata_url: Text = MICROSOFT_OPEN_ID_URI,
                 token_url: Text = DEFAULT_TOKEN_URL, allowed_tenants: Optional[frozenset] = None) -> None:
        # Not BotFrameworkInput.__init__: it fetches Microsoft's keys synchronously while starting.
        self.allowed_tenants = allowed_tenants
        self.app_id = app_id
        self.app_password = app_password
        self.openid_metadata_url = openid_metadata_url
        self.token_url = token_url
        self.jwt_keys: Dict[Text, Any] = {}
        self.jwt_update_time = datetime.datetime.fromtimestamp(0)
        self._last_fetch = float("-inf")
        self._keys_lock: Optional[asyncio.Lock] = None
        self._background_tasks: set = set()

    # -- keys -----------------------------------------------------------------------------------------
    async def _fetch_keys(self) -> None:
        async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as session:
            async with session.get(self.openid_metadata_url) as r:
                r.raise_for_status()
                conf = await r.json(content_type=None)
            async with session.get(conf["jwks_uri"]) as r:
                r.raise_for_status()
                keys = await r.json(content_type=None)
        self.jwt_keys = {k["kid"]: k for k in keys.get("keys", []) if k.get("kid")}
        self.jwt_update_time = datetime.datetime.now()

    async def _key(self, kid: str) -> Dict[str, Any]:
        if self._keys_lock is None:
            self._keys_lock = asyncio.Lock()
        async with self._keys_lock:
            stale = datetime.datetime.now() - self.jwt_update_time > KEYS_MAX_AGE
            min_gap = KEYS_MIN_REFRESH_SECONDS if self.jwt_keys else 10  # never refetch on every request
            if (stale or kid not in self.jwt_keys) and time.monotonic() - self._last_fetch > min_gap:
                self._last_fetch = time.monotonic()
                try:
                    await self._fetch_keys()
                except (aiohttp.ClientError, asyncio.TimeoutError, KeyError, ValueError) as exc:
                    logger.error("Teams: could not fetch the Bot Framework signing keys (%s)", type(exc).__name__)
        if kid not in self.jwt_keys:
            raise AuthError("unknown signing key")
        return self.jwt_keys[kid]

    async def authenticate(self, auth_header: Optional[str], activity: Dict[str, Any]) -> Dict[str, Any]:
        """The token's claims when the request may be processed; AuthError otherwise."""
        match = re.fullmatch(r"Bearer\s+(\S+)", auth_header or "")
        if not match:
            raise AuthError("no Bearer token")
        token = match.group(1)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("malformed token") from None
        if header.get("alg") != "RS256" or not header.get("kid"):
            raise AuthError("token not signed with RS256 and a key id")
        jwk = await self._key(str(header["kid"]))
        try:
            key = RSAAlgorithm.from_jwk(json.dumps(jwk))
            claims = jwt.decode(token, key=key, algorithms=["RS256"], audience=self.app_id, issuer=ISSUER,
                                leeway=LEEWAY_SECONDS, options={"require": ["exp", "iss", "aud"]})
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise AuthError(f"token rejected ({type(exc).__name__})") from None
        endorsements = jwk.get("endorsements")
        if endorsements is not None and activity.get("channelId") not in endorsements:
            raise AuthError("signing key not endorsed for this channel")
        service_url = str(activity.get("serviceUrl") or "")
        if not service_url or str(claims.get("serviceurl", "")).rstrip("/") != service_url.rstrip("/"):
            raise AuthError("serviceUrl does not match the token")
        return claims

    @staticmethod
    def tenant_of(activity: Dict[str, Any]) -> Optional[str]:
        """The activity's tenant id (Teams puts it in channelData.tenant.id and conversation.tenantId)."""
        data = activity.get("channelData")
        tenant = data.get("tenant") if isinstance(data, dict) else None
        value = tenant.get("id") if isinstance(tenant, dict) else None
        if not value and isinstance(activity.get("conversation"), dict):
            value = activity["conversation"].get("tenantId")
        return value if isinstance(value, str) and value else None

    def tenant_allowed(self, activity: Dict[str, Any]) -> bool:
        return self.allowed_tenants is None or self.tenant_of(activity) in self.allowed_tenants

    # -- webhook --------------------------------------------------------------------------------------
    def get_output_channel_for(self, activity: Dict[str, Any]) -> TeamsOutput:
        return TeamsOutput(self.app_id, self.app_password, activity["conversation"], activity["recipient"],
                           activity["serviceUrl"], self.token_url)

    # -- installation: the welcome ----------------------------------------------------------------------
    @staticmethod
    def bot_added(activity: Dict[str, Any]) -> bool:
        """True when the bot itself is among the members added (it was installed, or added to a team or chat)."""
        bot_id = (activity.get("recipient") or {}).get("id")
        added = activity.get("membersAdded") or []
        return bool(bot_id) and isinstance(added, list) and any(
            isinstance(m, dict) and m.get("id") == bot_id for m in added)

    def welcome(self, activity: Dict[str, Any], text: str) -> None:
        """Sends the welcome to the conversation the bot was added to, in the background."""
        try:
            out = self.get_output_channel_for(activity)
            recipient = (activity.get("from") or {}).get("id") or activity["conversation"]["id"]
        except (KeyError, TypeError):
            logger.warning("Teams: a conversationUpdate without conversation, recipient or serviceUrl: no welcome")
            return

        async def send() -> None:
            try:
                await out.send_text_message(recipient, text)
            except (aiohttp.ClientError, asyncio.TimeoutError, KeyError, ValueError) as exc:
                logger.error("Teams: sending the welcome failed (%s)", type(exc).__name__)

        task = asyncio.create_task(send())
        self._background_tasks.add(task)
        task.add_done_callback(self._background_tasks.discard)

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        handle = turn_handler(on_new_message)
        bp = serve_problems(Blueprint("botframework_webhook", __name__))
        log_on("Teams (Bot Framework)", f"/webhooks/{self.name()}/webhook (keys from {self.openid_metadata_url}; "
               + (f"tenants: {', '.join(sorted(self.allowed_tenants))})" if self.allowed_tenants is not None else
                  "any tenant)"))
        if self.allowed_tenants is None:
            logger.warning("Teams: activities from every tenant are accepted (a multi-tenant bot): set "
                           "TEAMS_ALLOWED_TENANTS, or register a single-tenant bot (TEAMS_APP_TENANT_ID)")

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            try:
                activity = json.loads(request.body or b"{}")
                if not isinstance(activity, dict):
                    raise ValueError
            except ValueError:
                activity = {}
            try:
                await self.authenticate(request.headers.get("Authorization"), activity)
            except AuthError as exc:
                logger.warning("Teams: refused an activity: %s", exc)
                return problem_response(401, "unauthorized", "the activity is not signed by the Bot Framework for this "
                                        "bot", [{"field": "Authorization", "rule": "a Bot Framework token for "
                                                                                   "TEAMS_APP_ID"}])
            if not self.tenant_allowed(activity):
                logger.warning("Teams: refused an activity from tenant %s (not in TEAMS_ALLOWED_TENANTS)",
                               str(self.tenant_of(activity))[:64])
                return problem_response(403, "forbidden", "this tenant may not use this bot",
                                        [{"field": "channelData.tenant.id", "rule": "listed in TEAMS_ALLOWED_TENANTS"}])
            if activity.get("type") == "conversationUpdate" and self.bot_added(activity):
                self.welcome(activity, welcome_text(getattr(request.app.ctx, "agent", None)))
            if activity.get("type") != "message":
                return response.text("", status=HTTPStatus.ACCEPTED)
            try:
                text = _MENTION.sub(" ", str(activity.get("text") or "")).strip()
                metadata = self.add_attachments_to_metadata(activity, self.get_metadata(request))
                user_msg = UserMessage(text, self.get_output_channel_for(activity), activity["from"]["id"],
                                       input_channel=self.name(), metadata=metadata)
            except (KeyError, TypeError):
                return problem_response(400, "activity_invalid", "not a Bot Framework message activity",
                                        [{"field": "body", "rule": "a message activity with from.id"}])
            task = asyncio.create_task(handle(user_msg))
            self._background_tasks.add(task)
            task.add_done_callback(self._background_tasks.discard)
            return response.text("", status=HTTPStatus.ACCEPTED)

        return bp


def welcome_text(agent: Any) -> str:
    """The welcome on install: the greeting and the help of the loaded model's domain (fixed texts live there)."""
    responses = getattr(getattr(agent, "domain", None), "responses", None) or {}
    texts = []
    for name in WELCOME_RESPONSES:
        variants = responses.get(name) or []
        if variants and isinstance(variants[0], dict) and variants[0].get("text"):
            texts.append(str(variants[0]["text"]).strip())
    return "\n\n".join(texts) or WELCOME_FALLBACK
