"""A local stand-in of Slack for Socket Mode: the Web API and the Socket Mode WebSocket, on loopback.

One aiohttp server, in its own thread and event loop:
- `POST /api/apps.connections.open` with the app-level token (Bearer) answers a `ws://` URL to itself (a new
  ticket each time), or `invalid_auth` for any other token;
- `GET /link/?ticket=N` is the socket: it says `hello`, records every acknowledgement (`envelope_id`) the client
  sends, and is driven by the test (`send` an envelope, `disconnect` as Slack does, `drop` the connection);
- `POST /api/chat.postMessage` and `/api/chat.update` are recorded and answered like Slack (`ok`, a `ts`);
  `rate_limited[channel] = n` answers the next n posts to that channel with 429 and `Retry-After`, and
  `not_in_channel` lists channels the bot is not in (`not_in_channel` error);
- `POST /hooks/<anything>` plays Slack's response_url (recorded).
The test side is synchronous and thread-safe: calls are recorded in lists guarded by a lock.
"""
from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
import uuid
from typing import Any, Dict, List, Optional, Set

from aiohttp import WSMsgType, web

from tools.servers import free_port


class SlackSocketStandIn:
    def __init__(self, retry_after: str = "1") -> None:
        self.app_token = "xapp-1-A0TEST-" + secrets.token_hex(12)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.base}/api/"
        self.hooks_url = f"{self.base}/hooks/"
        self.retry_after = retry_after
        self.lock = threading.Lock()
        self.calls: List[Dict[str, Any]] = []       # Web API calls: method, json, headers, status
        self.hook_posts: List[Dict[str, Any]] = []  # response_url posts
        self.acks: List[Dict[str, Any]] = []        # what the client sent on the socket
        self.tickets = 0                            # apps.connections.open answers
        self.connections = 0                        # sockets opened
        self.closed_connections = 0                 # sockets that ended
        self.rate_limited: Dict[str, int] = {}
        self.not_in_channel: Set[str] = set()
        self._sockets: List[web.WebSocketResponse] = []
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self.thread.start()
        if not started.wait(10):
            raise RuntimeError("the Slack stand-in did not start")

    # ---- server -------------------------------------------------------------------------------------------
    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/link/", self._link)
        app.router.add_post("/hooks/{path:.*}", self._hook)
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        self.loop.run_until_complete(web.TCPSite(self.runner, "127.0.0.1", self.port).start())
        started.set()
        self.loop.run_forever()

    def stop(self) -> None:
        async def shutdown() -> None:
            for ws in list(self._sockets):
                await ws.close()
            await self.runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.read()
        try:
            body = json.loads(raw) if raw and request.content_type == "application/json" else dict(await request.post())
        except ValueError:
            body = {}
        entry = {"method": method, "json": body, "headers": dict(request.headers), "time": time.monotonic()}
        status, headers, answer = 200, {}, {"ok": True}
        if method == "apps.connections.open":
            if request.headers.get("Authorization") != f"Bearer {self.app_token}":
                answer = {"ok": False, "error": "invalid_auth"}
            else:
                with self.lock:
                    self.tickets += 1
                    ticket = self.tickets
                answer = {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}"}
        elif method == "chat.postMessage":
            channel = body.get("channel")
            with self.lock:
                limited = self.rate_limited.get(channel, 0)
                if limited:
                    self.rate_limited[channel] = limited - 1
            if limited:
                status, headers, answer = 429, {"Retry-After": self.retry_after}, {"ok": False, "error": "ratelimited"}
            elif channel in self.not_in_channel:
                answer = {"ok": False, "error": "not_in_channel"}
            else:
                answer = {"ok": True, "channel": channel, "ts": f"{time.time():.6f}"}
        elif method == "chat.update":
            answer = {"ok": True, "channel": body.get("channel"), "ts": body.get("ts")}
        entry["status"] = status
        entry["answer"] = answer
        with self.lock:
            self.calls.append(entry)
        return web.json_response(answer, status=status, headers=headers)

    async def _hook(self, request: web.Request) -> web.Response:
        with self.lock:
            self.hook_posts.append({"path": request.path, "json": json.loads(await request.read() or b"{}")})
        return web.Response(text="ok")

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        with self.lock:
            self.connections += 1
        self._sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "stand-in"},
                            "connection_info": {"app_id": "A0TEST"}})
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    data = json.loads(msg.data)
                    with self.lock:
                        self.acks.append({**data, "time": time.monotonic()})
        finally:
            if ws in self._sockets:
                self._sockets.remove(ws)
            with self.lock:
                self.closed_connections += 1
        return ws

    # ---- driving the socket (from the test's thread) ---------------------------------------------------------
    def _on_loop(self, coro: Any, timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    @property
    def open_sockets(self) -> int:
        return len(self._sockets)

    def send(self, envelope: Dict[str, Any]) -> Dict[str, Any]:
        """Sends an envelope on the newest open socket; returns it with the time it went out."""
        async def go() -> None:
            await self._sockets[-1].send_json(envelope)

        self._on_loop(go())
        return {**envelope, "time": time.monotonic()}

    def disconnect(self, reason: str = "refresh_requested") -> None:
        self.send({"type": "disconnect", "reason": reason, "debug_info": {"host": "stand-in"}})

    def drop(self) -> None:
        """Closes the newest socket from Slack's side, as a network failure or a restart would."""
        async def go() -> None:
            await self._sockets[-1].close()

        self._on_loop(go())

    def acked(self, envelope_id: str) -> Optional[Dict[str, Any]]:
        with self.lock:
            return next((a for a in self.acks if a.get("envelope_id") == envelope_id), None)

    def api(self, method: str, channel: Optional[str] = None) -> List[Dict[str, Any]]:
        with self.lock:
            return [c for c in self.calls if c["method"] == method
                    and (channel is None or (c["json"] or {}).get("channel") == channel)]

    def posts(self, channel: str) -> List[Dict[str, Any]]:
        """What was posted to a channel (accepted posts only)."""
        return [c["json"] for c in self.api("chat.postMessage", channel) if c["status"] == 200
                and c["answer"].get("ok")]


# ---- envelopes as Slack sends them over Socket Mode -------------------------------------------------------------
def envelope_id() -> str:
    return str(uuid.uuid4())


def events_api(user: str, channel: str, text: str, event_type: str = "message", event_id: str = "", ts: str = "",
               retry_attempt: int = 0) -> Dict[str, Any]:
    ts = ts or f"{time.time():.6f}"
    body = {"token": "unused", "team_id": "T0TEST", "api_app_id": "A0TEST", "type": "event_callback",
            "event_id": event_id or "Ev" + uuid.uuid4().hex[:10].upper(), "event_time": int(time.time()),
            "authorizations": [{"user_id": "U0BOT", "is_bot": True}],
            "event": {"type": event_type, "user": user, "text": text, "channel": channel, "ts": ts, "event_ts": ts,
                      "channel_type": "im" if channel.startswith("D") else "channel"}}
    return {"envelope_id": envelope_id(), "type": "events_api", "payload": body, "accepts_response_payload": False,
            "retry_attempt": retry_attempt, "retry_reason": "timeout" if retry_attempt else ""}


def interactive(user: str, channel: str, message: Dict[str, Any], button: Dict[str, Any],
                response_url: str = "") -> Dict[str, Any]:
    """A click on `button` (a Block Kit button element) of the posted `message` (with its ts)."""
    payload = {"type": "block_actions", "team": {"id": "T0TEST", "domain": "hospital"}, "user": {"id": user},
               "channel": {"id": channel},
               "trigger_id": uuid.uuid4().hex, "api_app_id": "A0TEST", "response_url": response_url,
               "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel,
                             "is_ephemeral": False},
               "message": {"type": "message", "ts": message["ts"], "text": message.get("text", ""),
                           "blocks": message.get("blocks", [])},
               "actions": [{"type": "button", "action_id": button["action_id"], "block_id": "b1",
                            "text": button["text"], "value": button["value"], "action_ts": f"{time.time():.6f}"}]}
    return {"envelope_id": envelope_id(), "type": "interactive", "payload": payload, "accepts_response_payload": False}


def slash_command(user: str, channel: str, text: str, response_url: str = "") -> Dict[str, Any]:
    payload = {"token": "unused", "team_id": "T0TEST", "team_domain": "hospital", "channel_id": channel,
               "channel_name": "directmessage" if channel.startswith("D") else "oncology", "user_id": user,
               "user_name": "clinician", "command": "/rrmm", "text": text, "api_app_id": "A0TEST",
               "is_enterprise_install": "false", "response_url": response_url, "trigger_id": uuid.uuid4().hex}
    return {"envelope_id": envelope_id(), "type": "slash_commands", "payload": payload,
            "accepts_response_payload": True}
