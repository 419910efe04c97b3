"""Live Rasa servers on loopback for tests and benchmarks: `rasa run`, and an action server when asked.

`Servers(workdir, model)` writes its own endpoints file (the project's: SQLite tracker store, here in workdir, and
no action endpoint: the custom actions run inside the Rasa server), starts each process on demand and waits until it
answers; `start_actions()` starts an action server (`python -m actions`) on a free port, and a Rasa server started
after it sends its actions there (RRMM_ACTION_URL, the scale-out set-up). `say()` posts a message to the REST
channel, `tracker()` reads the conversation through the HTTP API.

Both servers need their tokens, as in a deployment: RASA_ENV carries RRMM_API_TOKEN, RRMM_ACTION_TOKEN and
RRMM_WEBCHAT_SECRET (the caller's own, or fresh random ones for this process), every server started from here
inherits them, and `API_TOKEN` / `rest_headers()` / `api_url()` are what a client sends (docs/security.md).
"""
from __future__ import annotations

import json as _json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RASA_ENV = {
    **os.environ,
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "PYTHONWARNINGS": "ignore",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "RRMM_API_TOKEN": os.environ.get("RRMM_API_TOKEN") or secrets.token_hex(32),
    "RRMM_ACTION_TOKEN": os.environ.get("RRMM_ACTION_TOKEN") or secrets.token_hex(32),
    "RRMM_WEBCHAT_SECRET": os.environ.get("RRMM_WEBCHAT_SECRET") or secrets.token_hex(32),
}
API_TOKEN = RASA_ENV["RRMM_API_TOKEN"]
ACTION_TOKEN = RASA_ENV["RRMM_ACTION_TOKEN"]
BIN = Path(sys.executable).parent


def rest_headers() -> dict:
    """Headers of a REST channel request: JSON, and the API token."""
    return {"Content-Type": "application/json", "Authorization": f"Bearer {API_TOKEN}"}


def api_url(base: str, path: str) -> str:
    """A URL of Rasa's HTTP API with the token (Rasa takes it as a query parameter)."""
    return f"{base}{path}{'&' if '?' in path else '?'}token={API_TOKEN}"


def endpoints_yaml(tracker_db: Path) -> str:
    """An endpoints file as the project's endpoints.yml: the redacting SQL tracker store on SQLite, no action
    endpoint (the actions run in the Rasa server unless RRMM_ACTION_URL names an action server)."""
    return f"tracker_store:\n  type: bot.plugins.stores.RedactingSQLTrackerStore\n  db: {tracker_db}\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}); log {log}:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url.split('?')[0]} not ready after {timeout} s; log {log}:\n{log.read_text()[-3000:]}")


class Servers:
    def __init__(self, workdir: Path, model: Path):
        self.workdir = workdir
        self.model = model
        self.action_port = free_port()
        self.rasa_port = free_port()
        self.db = workdir / "tracker.db"
        self.endpoints = workdir / "endpoints.yml"
        self.endpoints.write_text(endpoints_yaml(self.db))
        self.procs = {}

    def start_actions(self):
        log = self.workdir / "actions.log"
        self.procs["actions"] = p = subprocess.Popen(
            [str(BIN / "python"), "-m", "actions", "--port", str(self.action_port)],
            cwd=ROOT,
            env=RASA_ENV,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        wait_http(f"http://127.0.0.1:{self.action_port}/health", p, 120, log)

    @property
    def action_url(self) -> str:
        return f"http://127.0.0.1:{self.action_port}/webhook"

    def start_rasa(self):
        """`rasa run`; its actions go to this object's action server when one was started, else run inside it."""
        log = self.workdir / "rasa.log"
        env = {**RASA_ENV, "RRMM_ACTION_URL": self.action_url} if "actions" in self.procs else RASA_ENV
        self.procs["rasa"] = p = subprocess.Popen(
            [
                str(BIN / "rasa"),
                "run",
                "--model",
                str(self.model),
                "--endpoints",
                str(self.endpoints),
                "--credentials",
                str(ROOT / "credentials.yml"),
                "--enable-api",
                "--port",
                str(self.rasa_port),
                "--interface",
                "127.0.0.1",
            ],
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        wait_http(api_url(f"http://127.0.0.1:{self.rasa_port}", "/status"), p, 300, log)

    def stop_all(self):
        for name in list(self.procs):
            self.stop(name)

    def stop(self, name):
        p = self.procs.pop(name, None)
        if p and p.poll() is None:
            p.terminate()
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()

    def say(self, sender: str, text: str):
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.rasa_port}/webhooks/rest/webhook",
            data=_json.dumps({"sender": sender, "message": text}).encode(),
            headers=rest_headers(),
        )
        with urllib.request.urlopen(req, timeout=60) as r:
            return _json.loads(r.read())

    def tracker(self, sender: str):
        with urllib.request.urlopen(
            api_url(f"http://127.0.0.1:{self.rasa_port}", f"/conversations/{sender}/tracker"), timeout=30
        ) as r:
            return _json.loads(r.read())
