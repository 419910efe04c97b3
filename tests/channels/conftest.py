"""Fixtures for the channel tests (helpers in support.py): the stand-ins, a Rasa server with test secrets
(reusing the session's action server from tests/conftest.py) and Debian's chromium."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .support import CHROMIUM, CHROMIUM_ARGS, INTRANET, ChannelServer, ForeignSite, StandIn


@pytest.fixture(scope="session")
def stand_in():
    s = StandIn()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def foreign_site():
    """Another origin (its own port) whose pages embed the chat: allowed by the channel server's
    RRMM_WEBCHAT_ORIGINS, as an intranet page would be."""
    s = ForeignSite()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def channel_server(rasa_model, stand_in, foreign_site, tmp_path_factory):
    s = ChannelServer(tmp_path_factory.mktemp("channels"), rasa_model, stand_in,
                      env={"RRMM_WEBCHAT_ORIGINS": f"{INTRANET},{foreign_site.origin}"})
    yield s
    s.stop()
    log = s.log.read_text()
    leaked = [name for name, value in s.secrets.items() if value in log]
    if leaked:
        pytest.fail(f"the server log shows secrets: {leaked}")


# ---- Debian's chromium ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of Debian's chromium, installed with apt-get when absent (CI runs on a fresh machine as root)."""
    if not Path(CHROMIUM).exists():
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            pytest.fail("Debian's chromium is needed for the browser test: apt-get install chromium (as root)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update"], check=True, env=env, timeout=900, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "chromium"], check=True, env=env,
                       timeout=1800, stdout=subprocess.DEVNULL)
    assert Path(CHROMIUM).exists(), "apt-get installed chromium but /usr/bin/chromium is missing"
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium):
    """Debian's chromium driven by playwright, one per test module (the layout and widget tests)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()
