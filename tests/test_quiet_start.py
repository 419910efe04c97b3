"""`./scripts/start` as a clinician sees it, on a terminal (a pseudo-terminal here): a few lines of its own, the
assistant's greeting prompt, no library warning on the screen (they go to var/rasa.log), the port of RASA_PORT, and
one process (no action server started)."""
from __future__ import annotations

import os
import pty
import re
import select
import shutil
import subprocess
import time

import pytest

from tools.servers import ROOT, free_port

pytestmark = pytest.mark.slow
PROMPT = "Your input ->"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")


def _read_until(fd: int, wanted: str, timeout: float) -> str:
    out, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
            if wanted in ANSI.sub("", out.decode("utf-8", "replace")):
                break
    return ANSI.sub("", out.decode("utf-8", "replace"))


def _descendants(pid: int) -> list:
    """The command lines of every process under pid (from /proc)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            kids = [int(k) for t in os.listdir(f"/proc/{p}/task")
                    for k in open(f"/proc/{p}/task/{t}/children").read().split()]
        except OSError:
            continue
        for k in kids:
            try:
                found.append(open(f"/proc/{k}/cmdline", "rb").read().decode(errors="replace").split("\0"))
            except OSError:
                continue
            todo.append(k)
    return found


def test_start_shows_no_warning_honours_rasa_port_and_runs_one_process(rasa_model, tmp_path):
    workdir = tmp_path / "project"  # a copy of what the script needs, so var/ and models/ are its own
    workdir.mkdir()
    for name in ("scripts", "bot", "actions", "tools", "data", "domain.yml", "config.yml", "endpoints.yml",
                 "credentials.yml", "pyproject.toml"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, workdir / name)
    (workdir / ".venv").symlink_to(ROOT / ".venv")
    (workdir / "models").mkdir()
    shutil.copy2(rasa_model, workdir / "models" / rasa_model.name)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RRMM_", "PYTHONWARNINGS", "TF_CPP"))}
    env.update(RASA_PORT=str(port), TERM="dumb", RRMM_AUDIT_DB=str(tmp_path / "audit.db"))
    pid, fd = pty.fork()
    if pid == 0:  # the child: the script, as typed in a terminal
        os.chdir(workdir)
        os.execve("/bin/bash", ["bash", "scripts/start"], env)
    try:
        screen = _read_until(fd, PROMPT, 400)
        assert PROMPT in screen, screen[-3000:]
        listening = subprocess.run(["ss", "-ltn"], capture_output=True, text=True).stdout
        commands = [" ".join(c) for c in _descendants(pid)]
        os.write(fd, b"/stop\r")
        screen += _read_until(fd, "\x00", 60)
    finally:
        try:
            os.kill(pid, 15)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
    lines = [line for line in screen.splitlines() if line.strip()]
    noisy = [line for line in lines if re.search(r"warn|deprecat|tensorflow|sqlalchemy|traceback", line, re.I)]
    assert not noisy, "\n".join(noisy)
    before_prompt = screen.split(PROMPT)[0]
    assert len([line for line in before_prompt.splitlines() if line.strip()]) <= 6, before_prompt
    assert f"port {port}" in screen and f"127.0.0.1:{port}" in listening
    assert any("rasa shell" in c or "rasa/__main__" in c or "bin/rasa" in c for c in commands), commands
    assert not any("-m actions" in c for c in commands), commands  # one process: no action server started
    log = (workdir / "var" / "rasa.log").read_text(errors="ignore")
    assert "custom actions run in this process" in log
