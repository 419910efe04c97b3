"""Configuration without a server: the scripts bind loopback and create the tokens on a first run; endpoints.yml
sends the action token; the web chat passes Rasa's socket authentication through and checks its origins;
allow-lists are read strictly."""
from __future__ import annotations

import asyncio
import os
import re
import stat
import subprocess
import time

import jwt
import pytest
import socketio

from bot.plugins.channels.base import allowed_ids
from bot.plugins.channels.webchat import WebChat, allowed_origins
from bot.plugins.errors import ConfigError
from tools.servers import BIN, ROOT

KEY = "web-chat-jwt-key-" + "k" * 32


def test_every_script_binds_loopback_unless_rasa_interface_says_otherwise():
    services = (ROOT / "scripts" / "services.sh").read_text()
    assert 'RASA_INTERFACE="${RASA_INTERFACE:-127.0.0.1}"' in services
    for name in ("start", "serve", "web"):
        text = (ROOT / "scripts" / name).read_text()
        command = re.search(r"^(?:exec )?rasa (run|shell) .*?(?<!\\)$", text, re.M | re.S).group(0)
        assert '--interface "$RASA_INTERFACE"' in command, name
        assert '--port "$RASA_PORT"' in command, name  # every script honours RASA_PORT
        assert "--auth-token" not in text, name  # the token travels in the environment, not in `ps` output
    assert "--enable-api" in (ROOT / "scripts" / "serve").read_text()
    assert 'RASA_PORT="${RASA_PORT:-5005}"' in services
    # the action port is one variable, read where an action server starts (scripts/actions), nowhere else
    assert 'RRMM_ACTION_PORT="${RRMM_ACTION_PORT:-5055}"' in services
    port_lines = [f"{p.name}: {line}" for p in (ROOT / "scripts").iterdir() for line in p.read_text().splitlines()
                  if "5055" in line and not line.lstrip().startswith("#")]
    assert port_lines == ['services.sh: RRMM_ACTION_PORT="${RRMM_ACTION_PORT:-5055}"   # an action server\'s port '
                          '(scripts/actions, python -m actions)'], port_lines
    assert "5055" not in (ROOT / "endpoints.yml").read_text()


def test_a_first_run_creates_the_api_token_and_prints_where_it_is(tmp_path):
    """scripts/services.sh (sourced by start, serve and web), run in an empty directory as on a clean install: one
    process, one token (the API's); the action token only with action servers (RRMM_ACTION_URL)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RRMM_API_TOKEN", "RRMM_ACTION_TOKEN"))}
    env.update(PATH=f"{BIN}:{env.get('PATH', '')}", PYTHONPATH=str(ROOT))
    show = (f'source "{ROOT}/scripts/services.sh" && '
            'echo "$RASA_INTERFACE|$API_TOKEN_SOURCE|${#RRMM_API_TOKEN}|${#RRMM_ACTION_TOKEN}"')
    first = subprocess.run(["bash", "-c", show], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "127.0.0.1|var/api.token|64|0"
    assert "var/api.token" in first.stderr and not (tmp_path / "var" / "action.token").exists()
    assert stat.S_IMODE((tmp_path / "var" / "api.token").stat().st_mode) == 0o600
    second = subprocess.run(["bash", "-c", show], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert second.stdout == first.stdout and "created" not in second.stderr
    api = (tmp_path / "var" / "api.token").read_text().strip()
    assert api not in first.stdout + first.stderr  # the value is never printed, only where it is
    given = subprocess.run(["bash", "-c", show], cwd=tmp_path, env={**env, "RRMM_API_TOKEN": "e" * 20},
                           capture_output=True, text=True, timeout=120)
    assert given.stdout.strip() == "127.0.0.1|$RRMM_API_TOKEN|20|0"
    scale_out = subprocess.run(["bash", "-c", show], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                               env={**env, "RRMM_ACTION_URL": "http://127.0.0.1:5055/webhook"})
    assert scale_out.stdout.strip() == "127.0.0.1|var/api.token|64|64" and "var/action.token" in scale_out.stderr
    assert stat.S_IMODE((tmp_path / "var" / "action.token").stat().st_mode) == 0o600
    bad = subprocess.run(["bash", "-c", show], cwd=tmp_path, env={**env, "RRMM_API_TOKEN": "short"},
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "RRMM_API_TOKEN must be at least 16 characters" in bad.stderr


def test_action_servers_get_the_action_token_from_the_environment(monkeypatch):
    """endpoints.yml names no action server (the actions run in the Rasa server) and needs no token; with
    RRMM_ACTION_URL, Rasa sends RRMM_ACTION_TOKEN as a header (bot.plugins.action_runner)."""
    from rasa.core.utils import AvailableEndpoints

    from bot.plugins import action_runner

    monkeypatch.delenv("RRMM_ACTION_TOKEN", raising=False)
    assert AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.yml")).action is None
    monkeypatch.setenv("RRMM_ACTION_TOKEN", "a" * 32)
    endpoint = action_runner.remote_endpoint("http://127.0.0.1:5999/webhook")
    assert endpoint.headers == {"Authorization": "Bearer " + "a" * 32}
    assert endpoint.token is None  # a header, never a query parameter (access logs)


def connect_handler(channel):
    async def on_new_message(message):  # pragma: no cover - not called here
        return None

    channel.blueprint(on_new_message)
    return channel.sio.handlers["/"]["connect"]


def test_socket_authentication_is_passed_through_from_credentials(monkeypatch):
    monkeypatch.delenv("RRMM_WEBCHAT_JWT_KEY", raising=False)
    channel = WebChat.from_credentials({"jwt_key": KEY, "jwt_method": "HS256", "session_persistence": True})
    assert channel.jwt_key == KEY and channel.jwt_algorithm == "HS256"
    connect = connect_handler(channel)
    good = jwt.encode({"user": {"username": "u1"}, "exp": int(time.time()) + 60}, KEY, algorithm="HS256")
    assert asyncio.run(connect("sid1", {}, {"token": good})) is True
    assert asyncio.run(connect("sid1", {}, {"token": "Bearer " + good})) is True
    expired = jwt.encode({"exp": int(time.time()) - 60}, KEY, algorithm="HS256")
    forged = jwt.encode({"user": {"username": "u1"}}, "not-the-key-" + "x" * 32, algorithm="HS256")
    for auth in (None, {}, {"token": 5}, {"token": "garbage"}, {"token": expired}, {"token": forged}):
        with pytest.raises(socketio.exceptions.ConnectionRefusedError):
            asyncio.run(connect("sid1", {}, auth))
    # the key may come from the environment instead (a shared HS256 secret does not belong in a file)
    monkeypatch.setenv("RRMM_WEBCHAT_JWT_KEY", KEY + "-env")
    assert WebChat.from_credentials({}).jwt_key == KEY + "-env"
    monkeypatch.delenv("RRMM_WEBCHAT_JWT_KEY")
    assert asyncio.run(connect_handler(WebChat.from_credentials({}))("sid2", {}, None)) is True  # no key: open


def test_origins_and_allow_lists_are_read_strictly(monkeypatch):
    assert allowed_origins({"RRMM_WEBCHAT_ORIGINS": "https://intranet.example, http://ward:8080/"}) == {
        "https://intranet.example", "http://ward:8080"}
    assert allowed_origins({}) == frozenset()
    for bad in ("*", "intranet.example", "https://intranet.example/chat", "javascript:alert(1)"):
        with pytest.raises(ConfigError, match="RRMM_WEBCHAT_ORIGINS"):
            allowed_origins({"RRMM_WEBCHAT_ORIGINS": bad})
    channel = WebChat(origins=frozenset({"https://intranet.example"}))
    environ = {"wsgi.url_scheme": "http", "HTTP_HOST": "rrmm:5005"}
    assert channel.origin_allowed("http://rrmm:5005", environ) and channel.origin_allowed(None, environ)
    assert channel.origin_allowed("https://intranet.example", environ)
    assert not channel.origin_allowed("https://intranet.example.evil", environ)
    assert channel.origin_allowed("https://rrmm.hospital", {**environ, "HTTP_X_FORWARDED_PROTO": "https",
                                                             "HTTP_X_FORWARDED_HOST": "rrmm.hospital"})
    monkeypatch.setenv("TEAMS_ALLOWED_TENANTS", " t1 , t2 ")
    assert allowed_ids("TEAMS_ALLOWED_TENANTS") == {"t1", "t2"}
    monkeypatch.setenv("TEAMS_ALLOWED_TENANTS", " , ")
    with pytest.raises(ConfigError, match="TEAMS_ALLOWED_TENANTS"):
        allowed_ids("TEAMS_ALLOWED_TENANTS")


def test_a_single_tenant_teams_bot_accepts_its_own_tenant_only(monkeypatch):
    from bot.plugins.channels.teams import TeamsChannel

    monkeypatch.setenv("TEAMS_APP_ID", "app")
    monkeypatch.setenv("TEAMS_APP_PASSWORD", "pw")
    monkeypatch.delenv("TEAMS_ALLOWED_TENANTS", raising=False)
    monkeypatch.setenv("TEAMS_APP_TENANT_ID", "tenant-a")
    channel = TeamsChannel.from_credentials(None)
    assert channel.allowed_tenants == {"tenant-a"}
    assert channel.tenant_allowed({"channelData": {"tenant": {"id": "tenant-a"}}})
    assert channel.tenant_allowed({"conversation": {"tenantId": "tenant-a"}})
    assert not channel.tenant_allowed({"channelData": {"tenant": {"id": "tenant-b"}}})
    assert not channel.tenant_allowed({"channelData": "junk", "conversation": ["junk"]})
    monkeypatch.delenv("TEAMS_APP_TENANT_ID")
    assert TeamsChannel.from_credentials(None).allowed_tenants is None  # multi-tenant, unlisted: logged at start


def test_slack_workspaces_outside_the_list_are_refused_in_both_modes():
    """The handlers that HTTP and socket mode share (on_event, on_interaction, on_command) check the workspace."""
    from bot.plugins.channels.slack import FORBIDDEN, SlackChannel

    channel = SlackChannel("xoxb-test", slack_signing_secret="s" * 32, allowed_teams=frozenset({"T0OK"}))

    async def handle(message):  # pragma: no cover - must not run
        raise AssertionError("a refused workspace reached a turn")

    assert channel.on_event({"team_id": "T0EVIL", "type": "event_callback", "event": {}}, handle) == FORBIDDEN
    assert channel.on_interaction({"team": {"id": "T0EVIL"}, "actions": [{"type": "button"}]}, handle) == FORBIDDEN
    assert channel.on_command({"team_id": "T0EVIL", "user_id": "U1", "channel_id": "D1"}, handle) == FORBIDDEN
    assert channel.on_command({"user_id": "U1", "channel_id": "D1"}, handle) == FORBIDDEN  # no workspace: refused
    assert SlackChannel("xoxb-test", slack_signing_secret="s" * 32).team_allowed("T0ANY")  # no list: any
