"""Live servers for the persistence tests: action servers and Rasa servers with our stores, on loopback.

`Stack(workdir, model)` starts processes on demand, each with its own environment (RRMM_* variables),
log file and port, and knows every file they may write (`written_files()`), for the privacy scan.
Builds on tools/servers.py (free_port, wait_http, RASA_ENV, BIN).
"""
from __future__ import annotations

import json
import re
import secrets
import signal
import string
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Dict, Iterable, List, Optional

from tools.servers import BIN, RASA_ENV, ROOT, api_url, free_port, rest_headers, wait_http

PROJECT_ENDPOINTS = ROOT / "endpoints.yml"


class Proc:
    def __init__(self, name: str, popen: subprocess.Popen, port: int, log: Path, env: Dict[str, str]):
        self.name, self.popen, self.port, self.log, self.env = name, popen, port, log, env

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 20) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGCONT)  # in case a test paused it
            self.popen.terminate()
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)


class Stack:
    """Action servers and Rasa servers started by one test module; `stop_all()` ends exactly those."""

    def __init__(self, workdir: Path, model: Path, env: Optional[Dict[str, str]] = None):
        self.workdir = Path(workdir)
        self.model = model
        merged = {**RASA_ENV, "SANIC_HOST": "127.0.0.1", "RASA_TELEMETRY_ENABLED": "false",
                  "RRMM_AUDIT_DB": str(self.workdir / "audit.db"), "RRMM_SQLITE_DB": str(self.workdir / "tracker.db"),
                  **(env or {})}
        self.env = {k: v for k, v in merged.items() if v is not None}  # None: unset the variable
        self.procs: Dict[str, Proc] = {}
        self._log_n = 0
        self.given: List[tuple] = []  # (sender, recommendation) for every recommendation a user received
        self._given_lock = threading.Lock()

    # ---- processes -----------------------------------------------------------------------------
    def _log(self, name: str) -> Path:
        self._log_n += 1
        return self.workdir / f"{name}.{self._log_n}.log"

    def start_actions(self, name: str = "actions", port: Optional[int] = None, env: Optional[dict] = None) -> Proc:
        port = port or (self.procs[name].port if name in self.procs else free_port())
        log = self._log(name)
        full_env = {**self.env, **(env or {})}
        p = subprocess.Popen([str(BIN / "python"), "-m", "actions", "--port", str(port)],
                             cwd=ROOT, env=full_env, stdout=log.open("w"), stderr=subprocess.STDOUT)
        self.procs[name] = proc = Proc(name, p, port, log, full_env)
        wait_http(f"{proc.url}/health", p, 120, log)
        return proc

    def start_rasa(self, name: str = "rasa", actions: Optional[str] = "actions", port: Optional[int] = None,
                   env: Optional[dict] = None, debug: bool = False, wait: bool = True) -> Proc:
        """`rasa run` with the project's endpoints.yml (stores selected by the environment). `actions`: the action
        server it sends its actions to (RRMM_ACTION_URL; a free port when that server is not running), or None:
        the actions run inside it, as by default."""
        port = port or (self.procs[name].port if name in self.procs else free_port())
        log = self._log(name)
        file_log = self.workdir / f"{name}-file.log"
        full_env = {**self.env, **(env or {})}
        if actions is not None:
            base = self.procs[actions].url if actions in self.procs else f"http://127.0.0.1:{free_port()}"
            full_env["RRMM_ACTION_URL"] = f"{base}/webhook"
        cmd = [str(BIN / "rasa"), "run", "--model", str(self.model), "--endpoints", str(PROJECT_ENDPOINTS),
               "--credentials", str(ROOT / "credentials.yml"), "--enable-api", "--port", str(port),
               "--interface", "127.0.0.1", "--log-file", str(file_log)]
        if debug:
            cmd.append("--debug")
        p = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=log.open("w"), stderr=subprocess.STDOUT)
        self.procs[name] = proc = Proc(name, p, port, log, full_env)
        if wait:
            self.wait_rasa(name)
        return proc

    def wait_rasa(self, name: str = "rasa", timeout: float = 300) -> None:
        proc = self.procs[name]
        wait_http(api_url(proc.url, "/status"), proc.popen, timeout, proc.log)

    def stop(self, name: str) -> None:
        proc = self.procs.get(name)
        if proc:
            proc.stop()

    def stop_all(self) -> None:
        for proc in list(self.procs.values()):
            proc.stop()

    # ---- talking -------------------------------------------------------------------------------
    def say(self, sender: str, text: str, server: str = "rasa", timeout: float = 90) -> List[dict]:
        req = urllib.request.Request(
            f"{self.procs[server].url}/webhooks/rest/webhook",
            data=json.dumps({"sender": sender, "message": text}).encode(),
            headers=rest_headers())
        with urllib.request.urlopen(req, timeout=timeout) as r:
            replies = json.loads(r.read())
        rec = payload(replies)
        if rec is not None:
            with self._given_lock:
                self.given.append((sender, rec))
        return replies

    def tracker(self, sender: str, server: str = "rasa") -> dict:
        with urllib.request.urlopen(api_url(self.procs[server].url, f"/conversations/{sender}/tracker"),
                                    timeout=30) as r:
            return json.loads(r.read())

    def slots(self, sender: str, server: str = "rasa") -> dict:
        return self.tracker(sender, server)["slots"]

    # ---- what the processes wrote --------------------------------------------------------------
    def logs(self) -> List[Path]:
        return sorted(p for p in self.workdir.glob("*.log") if p.is_file())

    def written_files(self) -> List[Path]:
        return sorted(p for p in self.workdir.rglob("*") if p.is_file())


def texts(replies: Iterable[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies if r.get("text"))


def payload(replies: Iterable[dict]) -> Optional[dict]:
    found = [r["custom"] for r in replies
             if isinstance(r.get("custom"), dict) and r["custom"].get("type") == "rrmm_recommendation"]
    assert len(found) <= 1
    return found[0]["recommendation"] if found else None


def wait_until(predicate, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} not reached within {timeout} s")


# ---- identifiers in what the system wrote ---------------------------------------------------------
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def readable(data: bytes) -> str:
    """A file's bytes as text for searching: UTF-8 (SQLite stores text so), JSON \\uXXXX escapes decoded too."""
    text = data.decode("utf-8", "ignore")
    return text + "\n" + _UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def find_identifiers(text: str, identifiers: Iterable[str]) -> List[str]:
    """Identifiers present in text: as words (case-insensitive), or for 6+ digits as a whole number written
    with other separators (so '943 476 5919' is also found as 943-476-5919 or 9434765919)."""
    low = text.lower()
    digit_runs = {re.sub(r"\D", "", r) for r in re.findall(r"\d(?:[ \-./()]{0,2}\d)*", text)}
    found = []
    for ident in identifiers:
        if ident.lower() in low and re.search(r"(?<!\w)" + re.escape(ident) + r"(?!\w)", text, re.I):
            found.append(ident)
            continue
        digits = re.sub(r"\D", "", ident)
        if len(digits) >= 6 and digits in digit_runs:
            found.append(ident)
    return found


def scan_files(paths: Iterable[Path], identifiers: List[str]) -> Dict[str, List[str]]:
    """{file: identifiers found} over every given file (SQLite databases, their -wal/-shm, logs)."""
    leaks = {}
    for path in paths:
        found = find_identifiers(readable(path.read_bytes()), identifiers)
        if found:
            leaks[str(path)] = found
    return leaks


def new_sender(tag: str) -> str:
    """A fresh conversation id of letters only: a long run of digits would be redacted in the logs as a
    record number (bot/privacy.py), and the tests look for the id there."""
    return f"{tag}-" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(12))
