"""The install's tokens (bot/plugins/tokens.py): from the environment, or a per-install file created once with
mode 0600 whose path is printed; never logged; and the HTTP API settings derived from them."""
from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.plugins import tokens
from bot.plugins.errors import ConfigError
from bot.plugins.patches import api_auth
from tools.servers import ROOT


def env_for(tmp_path, **extra):
    return {"RRMM_API_TOKEN_FILE": str(tmp_path / "api.token"), "RRMM_ACTION_TOKEN_FILE": str(tmp_path / "a.token"),
            **extra}


def test_a_token_file_is_created_once_with_mode_0600_and_reused(tmp_path):
    env = env_for(tmp_path)
    value, created = tokens.token("api", env)
    path = tmp_path / "api.token"
    assert created == path and len(value) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again, created_again = tokens.token("api", env)
    assert again == value and created_again is None
    other, _ = tokens.token("action", env)
    assert other != value and stat.S_IMODE((tmp_path / "a.token").stat().st_mode) == 0o600


def test_concurrent_first_runs_agree_on_one_token(tmp_path):
    env = env_for(tmp_path)
    with ThreadPoolExecutor(8) as pool:
        values = list(pool.map(lambda _: tokens.token("action", env)[0], range(16)))
    assert len(set(values)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["a.token"]  # no temporary file left behind


def test_the_environment_wins_and_bad_values_are_named_never_shown(tmp_path):
    assert tokens.token("api", env_for(tmp_path, RRMM_API_TOKEN="x" * 20)) == ("x" * 20, None)
    assert not (tmp_path / "api.token").exists()
    for bad in ("short", "has spaces in it, sixteen+", "ümlaut-ümlaut-ümlaut"):
        with pytest.raises(tokens.TokenError) as err:
            tokens.token("api", env_for(tmp_path, RRMM_API_TOKEN=bad))
        assert "RRMM_API_TOKEN must be at least 16 characters" in str(err.value) and bad not in str(err.value)


def test_a_token_file_readable_by_others_is_made_private(tmp_path, caplog):
    path = tmp_path / "api.token"
    path.write_text("y" * 32 + "\n")
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        assert tokens.token("api", env_for(tmp_path))[0] == "y" * 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and "its mode is now 0600" in caplog.text


def test_the_command_prints_the_token_and_the_path_once(tmp_path):
    env = {**os.environ, **env_for(tmp_path)}
    env.pop("RRMM_API_TOKEN", None)
    run = lambda: subprocess.run([sys.executable, "-m", "bot.plugins.tokens", "api"], cwd=ROOT, env=env,  # noqa: E731
                                 capture_output=True, text=True, timeout=60)
    first, second = run(), run()
    assert first.returncode == 0 and second.returncode == 0
    assert first.stdout.strip() == second.stdout.strip() == (tmp_path / "api.token").read_text().strip()
    assert str(tmp_path / "api.token") in first.stderr and "mode 0600" in first.stderr
    assert second.stderr == ""  # printed once, when created
    bad = subprocess.run([sys.executable, "-m", "bot.plugins.tokens", "nope"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "usage" in bad.stderr and "Traceback" not in bad.stderr


def test_matches_is_exact():
    assert tokens.matches("a" * 20, "a" * 20)
    assert not tokens.matches(None, "a" * 20) and not tokens.matches("a" * 19, "a" * 20)
    assert not tokens.matches("a" * 20 + "\udc80", "a" * 20)  # undecodable input is compared, not crashed on


def test_log_lines_never_show_a_token(monkeypatch):
    monkeypatch.setenv("RRMM_ACTION_TOKEN", "z" * 24)
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "GET /status?token=%s&x=1 with %s", ("abc", "z" * 24),
                               None)
    tokens.TOKEN_FILTER.filter(record)
    assert record.getMessage() == "GET /status?token=[TOKEN]&x=1 with [TOKEN]"


def test_api_auth_settings(tmp_path):
    base = env_for(tmp_path, RRMM_API_TOKEN="t" * 32)
    assert api_auth(base) == {"auth_token": "t" * 32}
    jwt = api_auth({**base, "RRMM_JWT_SECRET": "s" * 32})
    assert jwt == {"auth_token": "t" * 32, "jwt_secret": "s" * 32, "jwt_method": "HS256"}
    assert api_auth({**base, "RRMM_JWT_SECRET": "s" * 32, "RRMM_JWT_METHOD": "RS256"})["jwt_method"] == "RS256"
    for bad, name in (({"RRMM_JWT_SECRET": "short"}, "RRMM_JWT_SECRET"),
                      ({"RRMM_JWT_SECRET": "s" * 32, "RRMM_JWT_METHOD": "none"}, "RRMM_JWT_METHOD"),
                      ({"RRMM_API_TOKEN": "bad token"}, "RRMM_API_TOKEN")):
        with pytest.raises(ConfigError) as err:
            api_auth({**base, **bad})
        assert name in str(err.value)
