"""Helpers for the channel tests: local stand-ins for Slack's Web API and the Bot Framework (OpenID metadata,
key set, OAuth token, connector), a Rasa server with test secrets in its environment, Slack request signing
and Bot Framework tokens.

Everything listens on 127.0.0.1. The Rasa server reuses the session's action server (tests/conftest.py
`servers`) and the repository's credentials.yml, with secrets and stand-in URLs given in the environment,
exactly as a deployment would.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from tools.servers import BIN, RASA_ENV, api_url, endpoints_yaml, free_port, wait_http

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output" / "channels"
CASE = ("68M, 2 prior lines, refractory to lenalidomide and daratumumab, fit, not transplant eligible, "
        "clinical relapse")
CHROMIUM = "/usr/bin/chromium"
# Debian's chromium as every browser test starts it (headless, no sandbox: CI runs as root in a container)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
SLACK_TEAM = "T0TEST"
TEAMS_TENANT = "72f988bf-0000-4000-8000-00000000test"
INTRANET = "http://intranet.example"  # another origin allowed to embed the web chat (RRMM_WEBCHAT_ORIGINS)


def wait_until(predicate: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    """Polls `predicate` until it returns something truthy; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# ---- stand-ins --------------------------------------------------------------------------------------------
class StandIn:
    """One threaded HTTP server playing Slack's Web API and the Bot Framework's services; records requests."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.requests: List[Dict[str, Any]] = []
        self.lock = threading.Lock()
        self.kid = "test-key-1"
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.access_token = "stand-in-access-token-" + secrets.token_hex(8)
        self.rate_limited: Dict[str, int] = {}  # Slack channel -> how many posts to refuse with 429 first
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _reply(self, status: int, body: Any, headers: Optional[Dict[str, str]] = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _record(self, method: str) -> Dict[str, Any]:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                entry = {"method": method, "path": self.path, "headers": dict(self.headers.items()), "raw": raw}
                try:
                    entry["json"] = json.loads(raw) if raw else None
                except ValueError:
                    entry["json"] = None
                with stand_in.lock:
                    stand_in.requests.append(entry)
                return entry

            def do_GET(self):
                self._record("GET")
                if self.path == "/teams/openid":
                    return self._reply(200, {"issuer": "https://api.botframework.com",
                                             "jwks_uri": f"{stand_in.base}/teams/keys",
                                             "id_token_signing_alg_values_supported": ["RS256"]})
                if self.path == "/teams/keys":
                    return self._reply(200, {"keys": [stand_in.jwk()]})
                return self._reply(404, {"error": "not found"})

            def do_POST(self):
                entry = self._record("POST")
                if self.path.startswith("/slack/api/chat.postMessage"):
                    channel = (entry["json"] or {}).get("channel")
                    with stand_in.lock:
                        limited = stand_in.rate_limited.get(channel, 0)
                        stand_in.rate_limited[channel] = max(0, limited - 1)
                        entry["status"] = 429 if limited else 200
                        if not limited:
                            entry["ts"] = f"{time.time():.6f}"
                    if limited:
                        return self._reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
                    return self._reply(200, {"ok": True, "channel": channel, "ts": entry["ts"]})
                if self.path.startswith("/slack/api/chat.update"):
                    return self._reply(200, {"ok": True, "channel": (entry["json"] or {}).get("channel"),
                                             "ts": (entry["json"] or {}).get("ts")})
                if self.path == "/teams/token":
                    return self._reply(200, {"token_type": "Bearer", "expires_in": 3600,
                                             "access_token": stand_in.access_token})
                if self.path.startswith("/teams/connector/v3/conversations/"):
                    return self._reply(201, {"id": uuid.uuid4().hex})
                return self._reply(404, {"error": "not found"})

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def jwk(self) -> Dict[str, Any]:
        numbers = self.key.public_key().public_numbers()

        def b64(n: int) -> str:
            return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()

        return {"kty": "RSA", "use": "sig", "kid": self.kid, "n": b64(numbers.n), "e": b64(numbers.e),
                "endorsements": ["msteams"]}

    def matching(self, method: str, prefix: str) -> List[Dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["method"] == method and r["path"].startswith(prefix)]

    def slack_posts(self, channel: str) -> List[Dict[str, Any]]:
        """The messages posted to a Slack channel (those the stand-in accepted), each with its `ts`."""
        return [{**r["json"], "ts": r["ts"]} for r in self.slack_calls("chat.postMessage", channel) if r.get("ts")]

    def slack_calls(self, method: str, channel: str) -> List[Dict[str, Any]]:
        """Every call of a Slack Web API method for a channel, accepted or not (with `status`)."""
        return [r for r in self.matching("POST", f"/slack/api/{method}") if (r["json"] or {}).get("channel") == channel]

    def teams_posts(self, conversation: str) -> List[Dict[str, Any]]:
        return self.matching("POST", f"/teams/connector/v3/conversations/{conversation}/activities")


# ---- another web site (another origin) that embeds the chat ---------------------------------------------------
class ForeignSite:
    """A static web site on its own port, so another origin than the Rasa server: the intranet pages that embed
    the widget, or host a third-party Rasa widget. `add()` publishes a file, with headers (e.g. a CSP)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.files: Dict[str, Any] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                found = site.files.get(self.path.split("?", 1)[0])
                if found is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body, content_type, headers = found
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Cache-Control", "no-store")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add(self, path: str, body: Any, content_type: str = "text/html; charset=utf-8",
            headers: Optional[Dict[str, str]] = None) -> str:
        self.files[path] = (body.encode() if isinstance(body, str) else body, content_type, headers or {})
        return self.origin + path

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---- packages from the npm registry, for the browser tests (never for the product) ----------------------------
NPM_UNREACHABLE = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENETUNREACH",
                   "network", "socket hang up", "proxy")


def npm_package(name: str, version: str) -> Path:
    """The unpacked npm package `name@version` (its tarball from the registry, `npm pack`, cached under
    test-output/npm). Raises LookupError with the reason when npm or the registry cannot be reached."""
    import shutil
    import tarfile

    dest = ROOT / "test-output" / "npm" / f"{name}-{version}"
    if (dest / "package" / "package.json").exists():
        return dest / "package"
    npm = shutil.which("npm")
    if npm is None:
        raise LookupError("npm is not installed (the browser tests take axe-core and rasa-webchat from the npm "
                          "registry): apt-get install npm")
    dest.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run([npm, "pack", f"{name}@{version}", "--pack-destination", str(dest), "--json"],
                              capture_output=True, text=True, timeout=300, cwd=dest)
    except subprocess.TimeoutExpired:
        raise LookupError(f"npm pack {name}@{version} timed out: the npm registry is unreachable") from None
    if done.returncode != 0:
        if any(word in done.stderr for word in NPM_UNREACHABLE):
            raise LookupError(f"the npm registry is unreachable (npm pack {name}@{version}): "
                              f"{done.stderr.strip().splitlines()[-1][:200]}")
        raise RuntimeError(f"npm pack {name}@{version} failed: {done.stderr[-1000:]}")
    tarball = dest / json.loads(done.stdout)[0]["filename"]
    with tarfile.open(tarball) as tar:
        tar.extractall(dest, filter="data")
    tarball.unlink()
    return dest / "package"


# ---- a Rasa server with test secrets -------------------------------------------------------------------
class ChannelServer:
    """`rasa run` with the repository's credentials.yml, the test secrets and stand-in URLs in its environment,
    the allow-lists (Slack workspace, Teams tenant, web chat origin) and Rasa's JWT option for the HTTP API."""

    def __init__(self, workdir: Path, model: Path, stand_in: StandIn,
                 env: Optional[Dict[str, str]] = None) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.secrets = {
            "SLACK_BOT_TOKEN": "xoxb-test-" + secrets.token_hex(12),
            "SLACK_SIGNING_SECRET": secrets.token_hex(16),
            "TEAMS_APP_ID": str(uuid.uuid4()),
            "TEAMS_APP_PASSWORD": secrets.token_urlsafe(24),
            "RRMM_JWT_SECRET": secrets.token_hex(32),
        }
        self.env = {**RASA_ENV, **self.secrets,
                    "SLACK_API_URL": f"{stand_in.base}/slack/api/",
                    "TEAMS_OPENID_METADATA_URL": f"{stand_in.base}/teams/openid",
                    "TEAMS_TOKEN_URL": f"{stand_in.base}/teams/token",
                    "SLACK_ALLOWED_TEAMS": f"{SLACK_TEAM},T0OTHER", "TEAMS_ALLOWED_TENANTS": TEAMS_TENANT,
                    "RRMM_WEBCHAT_ORIGINS": INTRANET,
                    "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost", **(env or {})}
        endpoints = workdir / "endpoints.yml"
        endpoints.write_text(endpoints_yaml(workdir / "tracker.db"))  # the actions run inside this server
        self.log = workdir / "rasa.log"
        self.proc = subprocess.Popen(
            [str(BIN / "rasa"), "run", "--model", str(model), "--endpoints", str(endpoints),
             "--credentials", str(ROOT / "credentials.yml"), "--enable-api", "--port", str(self.port),
             "--interface", "127.0.0.1"],
            cwd=ROOT, env=self.env, stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        wait_http(api_url(self.base, "/status"), self.proc, 300, self.log)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def post(self, path: str, body: bytes, headers: Dict[str, str]):
        """(status, body text, headers) of a POST to the server."""
        req = urllib.request.Request(self.base + path, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read().decode(), dict(r.headers.items())
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), dict(e.headers.items())

    def get(self, path: str, headers: Dict[str, str]):
        """(status, body text, headers) of a GET to the server."""
        req = urllib.request.Request(self.base + path, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read().decode(), dict(r.headers.items())
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), dict(e.headers.items())

    def user_events(self, sender: str) -> List[Dict[str, Any]]:
        url = api_url(self.base, f"/conversations/{urllib.request.quote(sender, safe=':')}/tracker")
        with urllib.request.urlopen(url, timeout=30) as r:
            return [e for e in json.loads(r.read())["events"] if e.get("event") == "user"]


# ---- Slack request signing --------------------------------------------------------------------------------
def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return f"v0={digest}"


def slack_headers(secret: Optional[str], body: bytes, timestamp: Optional[int] = None,
                  extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        headers.update({"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": slack_signature(secret, ts, body)})
    headers.update(extra or {})
    return headers




# ---- Bot Framework tokens ---------------------------------------------------------------------------------
def teams_token(stand_in: StandIn, server: ChannelServer, service_url: str, key=None, algorithm: str = "RS256",
                kid: Optional[str] = None, **claims: Any) -> str:
    """A Bot Framework channel token as the connector would send it; keyword arguments override claims."""
    import jwt
    from cryptography.hazmat.primitives import serialization

    now = int(time.time())
    body = {"iss": "https://api.botframework.com", "aud": server.secrets["TEAMS_APP_ID"], "exp": now + 600,
            "nbf": now - 10, "iat": now - 10, "serviceurl": service_url}
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    signing_key = key if key is not None else stand_in.key
    if algorithm == "RS256":
        secret = signing_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption())
    else:
        secret = signing_key
    return jwt.encode(body, secret, algorithm=algorithm, headers={"kid": kid or stand_in.kid})
