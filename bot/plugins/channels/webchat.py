"""The web chat: socket.io for the widget, and the page itself (`bot.plugins.channels.webchat.WebChat` in
credentials.yml).

Serves, from the Rasa server itself (so the page and its socket share one origin and nothing comes from the
internet):
- `/chat/`: the chat page (web/static/index.html) and its assets (`/chat/<file>`, only files under
  web/static, listed when the server starts);
- `/socket.io`: the socket.io endpoint of Rasa's SocketIOInput protocol (`session_request` /
  `session_confirm`, `user_uttered` / `bot_uttered`), with session persistence on by default, so a reloaded
  page that sends its stored session id continues the same conversation. Session ids are issued by this server
  and signed (`SessionIds`: 32 random hex digits and their HMAC-SHA256 under the install's web chat secret,
  RRMM_WEBCHAT_SECRET or var/webchat.secret, 0600), so the web chat reaches only conversations it created: a
  session request with any other id (another channel's conversation, an old or forged id, a third-party
  widget's own UUID) gets a new signed id in `session_confirm`, plus, when an id was sent, `bot_uttered`
  `{"text": ..., "error": "session_invalid"}` saying that a new conversation was started; a message whose
  `session_id` is not signed is refused the same way and reaches no conversation. Third-party Rasa widgets
  (rasa-webchat) take the id of `session_confirm` and use it from then on.
Replies are Rasa's standard socket.io messages, so any Rasa widget (rasa-webchat, ...) shows them: `{"text": ...}`
for each text and `{"text": ..., "quick_replies": [...]}` for buttons. The recommendation turn sends the rich
message first, `{"html": ..., "note": ..., "custom": payload, "text_twin": <the text>}` (render_html, the
copy-to-note text of bot.clinical.render.render_note, the payload), then its plain text `{"text": ...}`: a
third-party widget ignores the first and shows the text; this page and the widget (web/static/rrmm-chat.js) show
the HTML once and skip the text that equals `text_twin`.
A message that cannot be accepted (no valid session id, not text, empty, over RRMM_MAX_MESSAGE_CHARS, bad
metadata) is answered on its socket with `bot_uttered` `{"text": <what to do>, "error": <code>}`, which every
Rasa widget shows (this page as an error), and logged: never dropped silently.

Who may connect: pages of the server's own origin, and those listed in RRMM_WEBCHAT_ORIGINS (comma-separated
`https://host[:port]`), for socket.io's polling (CORS headers) and websocket transports (Origin checked); any
other origin is refused (400). `GET /chat/origin` tells any page whether its origin is allowed (and names
RRMM_WEBCHAT_ORIGINS), so the widget on a page that is not allowed says so. Socket authentication is Rasa's: with a
`jwt_key` (credentials.yml, or RRMM_WEBCHAT_JWT_KEY) and `jwt_method` (default HS256), a connection needs
`auth: {token: <JWT>}` signed with it (the page passes `data-token` from its script tag). Without a key the chat
needs no secret: put the server behind the intranet's authentication (docs/security.md).
credentials.yml keys: `session_persistence` (default true), `serve_page` (default true), `socketio_path`,
`user_message_evt`, `bot_message_evt`, `jwt_key`, `jwt_method`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import mimetypes
import os
import re
import secrets
import uuid
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Optional, Text

import jwt
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer
from socketio.exceptions import ConnectionRefusedError as Refused

from bot.clinical.note import render_note

from .. import inbound, tokens
from ..errors import ConfigError
from .base import OnNewMessage, TurnOutput, log_on, plug_in, setting, turn_handler
from .problem import problem_response, serve_problems
from .render import is_recommendation, render_html

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parents[3] / "web" / "static"
SESSION_ID = inbound.SESSION_ID
_ORIGIN = re.compile(r"\Ahttps?://[A-Za-z0-9.-]+(:[0-9]{1,5})?\Z")
NO_SESSION_TEXT = "This chat has no valid session, so I could not read your message: please reload the page."
NEW_SESSION_TEXT = ("This chat session is not valid here, so I started a new conversation: please describe the "
                    "case again.")


class SessionIds:
    """Session ids the server issues and signs: 32 random hex digits + the first 32 hex digits of their
    HMAC-SHA256 under the install's web chat secret (64 characters: a valid SESSION_ID and REST sender).
    Only an id this server issued verifies, so a session id cannot name a conversation of another channel."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"rrmm-webchat-session\0" + secret.encode("utf-8")).digest()

    def _mac(self, nonce: str) -> str:
        return hmac.new(self._key, nonce.encode("ascii"), hashlib.sha256).hexdigest()[:32]

    def issue(self) -> str:
        nonce = secrets.token_hex(16)
        return nonce + self._mac(nonce)

    def valid(self, value: Any) -> bool:
        if not isinstance(value, str) or len(value) != 64 or not SESSION_ID.match(value):
            return False
        nonce, mac = value[:32], value[32:]
        try:
            return hmac.compare_digest(mac, self._mac(nonce))
        except (TypeError, UnicodeEncodeError):  # pragma: no cover - SESSION_ID admits ASCII only
            return False


def session_ids(env: Any = os.environ) -> SessionIds:
    """The signer with the install's secret (RRMM_WEBCHAT_SECRET, else var/webchat.secret created once, 0600)."""
    try:
        secret, created = tokens.token("webchat", env)
    except tokens.TokenError as exc:
        raise ConfigError(str(exc)) from None
    if created:
        logger.warning("Web chat: created the per-install session-signing secret %s (mode 0600)", created)
    return SessionIds(secret)


def allowed_origins(env: Any = os.environ) -> FrozenSet[str]:
    """The other origins of RRMM_WEBCHAT_ORIGINS (the server's own origin is always allowed)."""
    raw = (env.get("RRMM_WEBCHAT_ORIGINS") or "").strip()
    origins = frozenset(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    bad = sorted(o for o in origins if not _ORIGIN.match(o))
    if bad:
        raise ConfigError(f"RRMM_WEBCHAT_ORIGINS must list origins such as https://intranet.example or "
                          f"http://host:8080, separated by commas; not {bad[0][:80]!r}")
    return origins


def own_origins(environ: Dict[str, Any]) -> List[str]:
    """The origin(s) the request was addressed to: engine.io's own rule for its default (scheme and Host
    header, and the X-Forwarded-Proto/-Host a reverse proxy sets)."""
    if "wsgi.url_scheme" not in environ or "HTTP_HOST" not in environ:
        return []
    scheme, host = environ["wsgi.url_scheme"], environ["HTTP_HOST"]
    origins = [f"{scheme}://{host}"]
    if "HTTP_X_FORWARDED_PROTO" in environ or "HTTP_X_FORWARDED_HOST" in environ:
        proto = environ.get("HTTP_X_FORWARDED_PROTO", scheme).split(",")[0].strip()
        fwd_host = environ.get("HTTP_X_FORWARDED_HOST", host).split(",")[0].strip()
        origins.append(f"{proto}://{fwd_host}")
    return origins


def _csp(host: str) -> str:
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' ws://{host} wss://{host}; base-uri 'none'; form-action 'none'"
    )


class WebChatOutput(TurnOutput, SocketIOOutput):
    KEEP_TEXT_TWIN = True  # third-party Rasa widgets show the recommendation's text (module docstring)

    def render_native(self, rec: Dict[str, Any]) -> str:
        render_note(rec)  # what send_custom_json sends besides the HTML: a failure keeps the plain text alone
        return render_html(rec)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self._send_message(recipient_id, {"text": text.strip()})

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        await self._send_message(
            recipient_id,
            {
                "text": text.strip(),
                "quick_replies": [
                    {"content_type": "text", "title": b["title"], "payload": b["payload"]} for b in buttons
                ],
            },
        )

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        if is_recommendation(json_message):
            rec = json_message["recommendation"]
            message = {"html": render_html(rec), "note": render_note(rec), "custom": json_message}
            if isinstance(kwargs.get("rrmm_text_twin"), str):
                message["text_twin"] = kwargs["rrmm_text_twin"].strip()  # as send_text_message sends it
            await self._send_message(recipient_id, message)
        else:  # Rasa's SocketIOOutput passes the payload as emit() arguments, which breaks on most payloads
            await self._send_message(recipient_id, {"custom": json_message})


class WebChat(SocketIOInput):
    """socket.io input with the chat page (see the module docstring)."""

    @classmethod
    def name(cls) -> Text:
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        plug_in()
        credentials = credentials or {}
        return cls(
            credentials.get("user_message_evt", "user_uttered"),
            credentials.get("bot_message_evt", "bot_uttered"),
            None,
            bool(credentials.get("session_persistence", True)),
            credentials.get("socketio_path", "/socket.io"),
            serve_page=bool(credentials.get("serve_page", True)),
            jwt_key=setting(credentials, "jwt_key", "RRMM_WEBCHAT_JWT_KEY", None),
            jwt_method=setting(credentials, "jwt_method", "RRMM_WEBCHAT_JWT_METHOD", "HS256"),
            origins=allowed_origins(),
            sessions=session_ids(),
        )

    def __init__(
        self,
        user_message_evt: Text = "user_uttered",
        bot_message_evt: Text = "bot_uttered",
        namespace: Optional[Text] = None,
        session_persistence: bool = True,
        socketio_path: Text = "/socket.io",
        serve_page: bool = True,
        jwt_key: Optional[Text] = None,
        jwt_method: Text = "HS256",
        origins: FrozenSet[str] = frozenset(),
        sessions: Optional[SessionIds] = None,
    ) -> None:
        super().__init__(user_message_evt, bot_message_evt, namespace, session_persistence, socketio_path,
                         jwt_key, jwt_method)
        self.serve_page = serve_page
        self.origins = origins
        self.sessions = sessions if sessions is not None else SessionIds(secrets.token_hex(32))

    def origin_allowed(self, origin: Optional[str], environ: Dict[str, Any]) -> bool:
        """engine.io asks this for requests with an Origin header (polling and websocket alike)."""
        if origin is None or origin in self.origins or origin in own_origins(environ):
            return True
        if not environ.get("rrmm.origin_refused"):  # engine.io asks more than once per request: log it once
            environ["rrmm.origin_refused"] = True
            logger.warning("Web chat: refused a connection from origin %s (not in RRMM_WEBCHAT_ORIGINS)", origin[:100])
        return False

    def url_prefix(self) -> Text:
        return "/chat"  # absolute: Rasa joins it to /webhooks/, which gives /chat

    def get_output_channel(self) -> Optional[WebChatOutput]:
        return WebChatOutput(self.sio, self.bot_message_evt) if self.sio is not None else None

    def _static_files(self) -> Dict[str, Path]:
        if not self.serve_page or not STATIC_DIR.is_dir():
            return {}
        return {p.relative_to(STATIC_DIR).as_posix(): p for p in STATIC_DIR.rglob("*") if p.is_file()}

    def blueprint(self, on_new_message: OnNewMessage) -> SocketBlueprint:
        handle = turn_handler(on_new_message)
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=self.origin_allowed)
        bp = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        serve_problems(bp)
        self.sio = sio
        files = self._static_files()
        log_on(
            "Web chat",
            f"socket.io at {self.socketio_path}"
            + (f", page at /chat/ ({len(files)} files from {STATIC_DIR})" if files else " (page not served)")
            + f"; origins: its own{''.join(', ' + o for o in sorted(self.origins))}"
            + f"; socket authentication: {'JWT (' + str(self.jwt_algorithm) + ')' if self.jwt_key else 'none'}",
        )

        async def send_file(request: Request, name: str) -> HTTPResponse:
            name = name or "index.html"
            path = files.get(name)
            if path is None:
                return problem_response(404, "not_found", "no such file of the chat page")
            mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
            headers = {
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-cache",
            }
            if name.endswith(".html"):
                headers["Content-Security-Policy"] = _csp(request.host)
            return await response.file(path, mime_type=mime, headers=headers)

        @bp.route("/", methods=["GET"])
        async def page(request: Request) -> HTTPResponse:
            return await send_file(request, "index.html")

        @bp.route("/health", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/origin", methods=["GET"])
        async def origin(request: Request) -> HTTPResponse:
            """Whether the asking page's origin may connect, readable by any page (it says nothing else), so that
            the widget on a page that is not allowed can tell its user why, and what the administrator sets."""
            environ = {"wsgi.url_scheme": request.scheme, "HTTP_HOST": request.host}
            environ.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in request.headers.items()
                            if k.lower() in ("x-forwarded-proto", "x-forwarded-host")})
            sent = request.headers.get("origin")
            allowed = sent is None or sent in self.origins or sent in own_origins(environ)
            return response.json({"allowed": allowed, "setting": "RRMM_WEBCHAT_ORIGINS"},
                                 headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store",
                                          "Vary": "Origin"})

        @bp.route("/<name:path>", methods=["GET"])
        async def asset(request: Request, name: str) -> HTTPResponse:
            return await send_file(request, name)

        async def refuse(sid: Text, refusal: inbound.Refusal) -> None:
            logger.warning("Web chat: message not accepted: %s", refusal.reason)
            await sio.emit(self.bot_message_evt, {"text": refusal.text, "error": refusal.code}, room=sid)

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict] = None) -> bool:
            if not self.jwt_key:
                return True
            token = auth.get("token") if isinstance(auth, dict) else None
            if isinstance(token, str):
                try:  # as Rasa's decode_jwt (a "Bearer " prefix allowed), without its traceback in the log
                    jwt.decode(token.replace("Bearer ", ""), self.jwt_key, algorithms=[self.jwt_algorithm])
                    return True
                except jwt.PyJWTError as exc:
                    reason = type(exc).__name__
            else:
                reason = "no token"
            logger.warning("Web chat: refused a connection (%s)", reason)
            raise Refused("authentication failed: this chat needs a valid token")

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: Text, data: Optional[Dict]) -> None:
            wanted = data.get("session_id") if isinstance(data, dict) else None
            if not self.session_persistence:
                session_id = uuid.uuid4().hex
            elif self.sessions.valid(wanted):
                session_id = wanted
            else:  # never joined: another channel's conversation, a forged or old id, a widget's own UUID
                session_id = self.sessions.issue()
            if self.session_persistence:
                await sio.enter_room(sid, session_id)
            await sio.emit("session_confirm", session_id, room=sid)
            if self.session_persistence and wanted not in (None, "") and session_id != wanted:
                logger.warning("Web chat: a session request named a session this server did not issue; "
                               "a new session was started")
                await sio.emit(self.bot_message_evt, {"text": NEW_SESSION_TEXT, "error": "session_invalid"},
                               room=sid)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: Text, data: Any) -> None:
            if not isinstance(data, dict):
                return await refuse(sid, inbound.Refusal("message_invalid", "the event data is not an object",
                                                         "I could not read that message: please send it again."))
            if self.session_persistence:
                sender_id = data.get("session_id")
                if not self.sessions.valid(sender_id):
                    return await refuse(sid, inbound.Refusal(
                        "session_invalid", "no session id issued by this server", NO_SESSION_TEXT))
            else:
                sender_id = sid
            text = inbound.check_text(data.get("message"))
            if isinstance(text, inbound.Refusal):
                return await refuse(sid, text)
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                metadata = inbound.parse_json(metadata.encode("utf-8", "replace"), dict)
            if not isinstance(metadata, dict):
                return await refuse(sid, inbound.Refusal("metadata_invalid", "the metadata is not a JSON object",
                                                         "I could not read that message: please send it again."))
            out = WebChatOutput(sio, self.bot_message_evt)
            await handle(UserMessage(text, out, sender_id, input_channel=self.name(), metadata=metadata))

        return bp
