"""The web chat: socket.io for the widget, and the page itself (`bot.plugins.channels.webchat.WebChat` in
credentials.yml).

Serves, from the Rasa server itself (so the page and its socket share one origin and nothing comes from the
internet):
- `/chat/`: the chat page (web/static/index.html) and its assets (`/chat/<file>`, only files under
  web/static, listed when the server starts);
- `/socket.io`: the socket.io endpoint of Rasa's SocketIOInput protocol (`session_request` /
  `session_confirm`, `user_uttered` / `bot_uttered`), with session persistence on by default, so a reloaded
  page that sends its stored session id continues the same conversation. Session ids are 32 hex digits
  (anything else gets a new one).
Replies: one `bot_uttered` per text (Rasa splits texts at blank lines), buttons as `quick_replies`, and the
recommendation as `{"html": ..., "custom": payload}` (bot.plugins.channels.render.render_html) in place of its text.
No secret is needed: the channel is always on (put the server behind the intranet's authentication).
credentials.yml keys: `session_persistence` (default true), `serve_page` (default true), `socketio_path`,
`user_message_evt`, `bot_message_evt`.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import re
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from .base import OnNewMessage, TurnOutput, log_on, turn_handler
from .render import is_recommendation, render_html

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parents[3] / "web" / "static"
SESSION_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_MESSAGE_CHARS = 5000


def _csp(host: str) -> str:
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' ws://{host} wss://{host}; base-uri 'none'; form-action 'none'"
    )


class WebChatOutput(TurnOutput, SocketIOOutput):
    def render_native(self, rec: Dict[str, Any]) -> str:
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
            await self._send_message(
                recipient_id, {"html": render_html(json_message["recommendation"]), "custom": json_message}
            )
        else:  # Rasa's SocketIOOutput passes the payload as emit() arguments, which breaks on most payloads
            await self._send_message(recipient_id, {"custom": json_message})


class WebChat(SocketIOInput):
    """socket.io input with the chat page (see the module docstring)."""

    @classmethod
    def name(cls) -> Text:
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}
        return cls(
            credentials.get("user_message_evt", "user_uttered"),
            credentials.get("bot_message_evt", "bot_uttered"),
            None,
            bool(credentials.get("session_persistence", True)),
            credentials.get("socketio_path", "/socket.io"),
            serve_page=bool(credentials.get("serve_page", True)),
        )

    def __init__(
        self,
        user_message_evt: Text = "user_uttered",
        bot_message_evt: Text = "bot_uttered",
        namespace: Optional[Text] = None,
        session_persistence: bool = True,
        socketio_path: Text = "/socket.io",
        serve_page: bool = True,
    ) -> None:
        super().__init__(user_message_evt, bot_message_evt, namespace, session_persistence, socketio_path)
        self.serve_page = serve_page

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
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[])  # as Rasa: CORS left to `rasa run --cors`
        bp = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        files = self._static_files()
        log_on(
            "Web chat",
            f"socket.io at {self.socketio_path}"
            + (f", page at /chat/ ({len(files)} files from {STATIC_DIR})" if files else " (page not served)"),
        )

        async def send_file(request: Request, name: str) -> HTTPResponse:
            name = name or "index.html"
            path = files.get(name)
            if path is None:
                return response.text("Not found.", status=404)
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

        @bp.route("/<name:path>", methods=["GET"])
        async def asset(request: Request, name: str) -> HTTPResponse:
            return await send_file(request, name)

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict] = None) -> bool:
            return True

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: Text, data: Optional[Dict]) -> None:
            wanted = (data or {}).get("session_id") if isinstance(data, dict) else None
            session_id = wanted if isinstance(wanted, str) and SESSION_ID.match(wanted) else uuid.uuid4().hex
            if self.session_persistence:
                await sio.enter_room(sid, session_id)
            await sio.emit("session_confirm", session_id, room=sid)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: Text, data: Dict) -> None:
            if not isinstance(data, dict):
                return
            if self.session_persistence:
                sender_id = data.get("session_id")
                if not isinstance(sender_id, str) or not SESSION_ID.match(sender_id):
                    logger.warning("Web chat: message without a valid session id ignored")
                    return
            else:
                sender_id = sid
            text = str(data.get("message") or "")[:MAX_MESSAGE_CHARS]
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            out = WebChatOutput(sio, self.bot_message_evt)
            await handle(UserMessage(text, out, sender_id, input_channel=self.name(), metadata=metadata))

        return bp
