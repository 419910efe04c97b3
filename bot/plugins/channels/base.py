"""What the Slack, Teams and web chat connectors share.

Secrets: each connector reads its secrets from the environment (never from credentials.yml) through
`secrets_from_env`. When one is missing the connector is replaced by `off_channel(...)`: a stub that logs
which channel is off and why (naming the variables, never their values) and answers its webhook with 503,
so a deployment without Slack or Teams secrets starts normally and never runs a channel without its secret.

Every connector calls `plug_in()` when Rasa creates it from credentials.yml: that installs the HTTP API's
authentication (bot.plugins.patches, group "api") before Rasa builds the API, and checks the input limits of
bot.plugins.inbound
(a wrong RRMM_MAX_MESSAGE_CHARS stops the server at start, naming the variable). `allowed_ids` reads the
allow-lists of Slack workspaces and Teams tenants.

One answer per turn: the recommendation turn sends its plain text and then the `rrmm_recommendation`
payload. `TurnOutput` holds a turn's messages until the turn ends; when a payload renders natively, the text
twin just before it is dropped, so the user gets the answer once (as blocks, a card or HTML). A channel whose
clients may be third-party widgets that show text only (the web chat: `KEEP_TEXT_TWIN`) keeps the twin instead,
sent right after the payload, which carries the twin's text as `rrmm_text_twin` so its own client can skip it.
Outside a turn (e.g. messages triggered through the HTTP API) messages go out directly.
"""
from __future__ import annotations

import logging
import os
from http import HTTPStatus
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence, Tuple, Type

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from .. import inbound
from ..errors import ConfigError
from ..patches import api_auth, install
from .render import is_recommendation, is_text_twin

logger = logging.getLogger("bot.plugins.channels")

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def channel_keys() -> Tuple[str, Optional[str], str]:
    """(API token, JWT secret or None, JWT method) for the channels that take the API token (REST, the HTTP API),
    after `plug_in()`; raises ConfigError like `api_auth`."""
    plug_in()
    auth = api_auth()
    return auth["auth_token"], auth.get("jwt_secret"), auth.get("jwt_method", "HS256")


def plug_in() -> None:
    """Installs the HTTP API's authentication, sets the process's umask to 077 and checks the input limits (see
    the module docstring). Rasa creates the channels before it opens its log file. The other
    patches come with the tracker store, once Rasa's logging is set up (their start-up lines reach the log
    file)."""
    install("api")
    os.umask(0o077)  # what the server writes from now on (its log file, SQLite files) is the service account's alone
    try:
        inbound.max_message_chars()
    except inbound.ConfigError as exc:
        raise ConfigError(str(exc)) from None


def allowed_ids(env_name: str) -> Optional[frozenset]:
    """The comma-separated ids of an allow-list variable (None when unset: no list)."""
    raw = os.environ.get(env_name, "").strip()
    if not raw:
        return None
    ids = frozenset(i.strip() for i in raw.split(",") if i.strip())
    if not ids:
        raise ConfigError(f"{env_name} must list ids separated by commas")
    return ids


def secrets_from_env(names: Sequence[str]) -> Tuple[Dict[str, str], List[str]]:
    """The values of the named environment variables, and the names of those unset or blank."""
    values = {n: os.environ.get(n, "").strip() for n in names}
    return {n: v for n, v in values.items() if v}, [n for n, v in values.items() if not v]


def setting(credentials: Optional[Dict[str, Any]], key: str, env: str, default: Any) -> Any:
    """A non-secret setting: the environment variable, else credentials.yml, else the default."""
    value = os.environ.get(env, "").strip()
    if value:
        return value
    if credentials and credentials.get(key) not in (None, ""):
        return credentials[key]
    return default


def refuse_file_secrets(title: str, credentials: Optional[Dict[str, Any]], keys: Sequence[str],
                        env_names: Sequence[str]) -> None:
    """Secrets written into credentials.yml are ignored (they belong in the environment): say so."""
    found = [k for k in keys if credentials and credentials.get(k)]
    if found:
        logger.warning("%s: ignoring %s in credentials.yml: secrets come only from the environment (%s)",
                       title, ", ".join(found), ", ".join(env_names))


class OffChannel(InputChannel):
    """Stands in for a connector whose secrets are missing: logs it and refuses its webhook (503)."""

    channel_name = "off"
    title = "Channel"
    missing: Sequence[str] = ()

    @classmethod
    def name(cls) -> str:
        return cls.channel_name

    def log_state(self) -> None:
        logger.warning("%s channel is OFF: %s not set in the environment (the other channels run)",
                       self.title, " and ".join(self.missing))

    def get_output_channel(self) -> None:
        return None

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        self.log_state()
        bp = Blueprint(f"{self.channel_name}_off", __name__)
        body = {"status": "off", "channel": self.channel_name,
                "reason": f"{self.title} is not configured on this server"}

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json(body, status=HTTPStatus.SERVICE_UNAVAILABLE)

        @bp.route("/webhook", methods=["GET", "POST"])
        async def webhook(_: Request) -> HTTPResponse:
            return response.json(body, status=HTTPStatus.SERVICE_UNAVAILABLE)

        return bp


def off_channel(channel_name: str, title: str, missing: Sequence[str]) -> OffChannel:
    cls: Type[OffChannel] = type(f"{title.replace(' ', '')}Off", (OffChannel,), {
        "channel_name": channel_name, "title": title, "missing": tuple(missing)})
    return cls()  # it logs its state when Rasa registers it (file logging is configured by then)


def log_on(title: str, route: str) -> None:
    logger.info("%s channel is on: %s", title, route)


class TurnOutput:
    """Mixin for an OutputChannel (put it first in the bases): one answer per turn, rendered natively.

    `render_native(rec)` (of the concrete channel) must raise when it cannot render; the plain text then stays.
    """

    _held: Optional[List[Tuple[str, Dict[str, Any]]]] = None
    KEEP_TEXT_TWIN = False  # True: send the text twin after the payload (marked on it), for text-only clients

    def render_native(self, rec: Dict[str, Any]) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def begin_turn(self) -> None:
        self._held = []

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        if self._held is not None:
            self._held.append((recipient_id, dict(message)))
            return
        await super().send_response(recipient_id, message)  # type: ignore[misc]

    def _merge(self, held: List[Tuple[str, Dict[str, Any]]]) -> List[Tuple[str, Dict[str, Any]]]:
        out: List[Tuple[str, Dict[str, Any]]] = []
        for recipient, message in held:
            custom = message.get("custom")
            if is_recommendation(custom):
                try:
                    self.render_native(custom["recommendation"])
                except Exception as exc:  # noqa: BLE001 - keep the plain text the bot sent with it
                    logger.error("could not render the recommendation natively (%s); sending its text",
                                 type(exc).__name__)
                    continue
                if out and out[-1][0] == recipient and is_text_twin(out[-1][1], custom["recommendation"]):
                    twin = out.pop()
                    if self.KEEP_TEXT_TWIN:
                        out += [(recipient, {**message, "rrmm_text_twin": twin[1].get("text")}), twin]
                        continue
            out.append((recipient, message))
        return out

    async def end_turn(self) -> None:
        held, self._held = self._held or [], None
        for recipient, message in self._merge(held):
            try:
                await super().send_response(recipient, message)  # type: ignore[misc]
            except Exception as exc:  # noqa: BLE001 - logged; the other replies of the turn still go out
                logger.error("%s: sending a reply failed (%s: %s)", type(self).__name__, type(exc).__name__,
                             str(exc)[:200])


def turn_handler(on_new_message: OnNewMessage) -> OnNewMessage:
    """Wraps Rasa's message handler so that a TurnOutput sends the turn's messages when the turn ends."""

    async def handle(message: UserMessage) -> Any:
        out = message.output_channel
        if not isinstance(out, TurnOutput):
            return await on_new_message(message)
        out.begin_turn()
        try:
            return await on_new_message(message)
        finally:
            await out.end_turn()

    return handle
