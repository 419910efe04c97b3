"""What a hospital's IT uploads: the Teams app package and the Slack app manifest, checked against the official
JSON schemas shipped in schemas/ (Teams app manifest 1.17 from github.com/OfficeDev/microsoft-teams-app-schema,
Slack app manifest 1.0.0 from github.com/slackapi/manifest-schema); nothing is fetched when the tests run."""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import jsonschema
import pytest
import yaml

from bot.plugins.channels.slack import SlackChannel
from bot.plugins.channels.teams_package import GUID, MANIFEST_VERSION, manifest, package_bytes

from .support import ROOT

SCHEMAS = Path(__file__).parent / "schemas"
TEAMS_SCHEMA = json.loads((SCHEMAS / "teams-manifest-1.17.json").read_text(encoding="utf-8"))
SLACK_SCHEMA = json.loads((SCHEMAS / "slack-manifest-1.0.0.json").read_text(encoding="utf-8"))
APP_ID = "6BA7B810-9DAD-11D1-80B4-00C04FD430C8"
PUBLIC = "https://rrmm.hospital.example"


def teams_errors(app_manifest):
    validator = jsonschema.Draft4Validator(TEAMS_SCHEMA, format_checker=jsonschema.FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in validator.iter_errors(app_manifest)]


def read_png(data: bytes):
    """(width, height, RGBA rows) of an 8-bit RGBA, non-interlaced PNG with filter 0 rows (what the package writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, kind
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + length
    width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, color_type, interlace) == (8, 6, 0) and b"IEND" in chunks
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = 1 + 4 * width
    rows = []
    for y in range(height):
        line = raw[y * stride:(y + 1) * stride]
        assert line[0] == 0
        rows.append([tuple(line[1 + 4 * x:5 + 4 * x]) for x in range(width)])
    return width, height, rows


def run_cli(tmp_path, *args, app_id=APP_ID):
    env = {k: v for k, v in os.environ.items() if k not in ("TEAMS_APP_ID", "RRMM_PUBLIC_URL")}
    if app_id is not None:
        env["TEAMS_APP_ID"] = app_id
    return subprocess.run([sys.executable, "-m", "bot.plugins.channels", "teams-package", *args], cwd=tmp_path,
                          env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60)


# ---- Teams --------------------------------------------------------------------------------------------------
def test_teams_package_is_built_from_the_environment_and_valid(tmp_path):
    out = tmp_path / "pkg" / "rrmm.zip"
    result = run_cli(tmp_path, "--public-url", PUBLIC, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert f"Teams app package written to {out}" in result.stdout
    with zipfile.ZipFile(out) as z:
        assert sorted(z.namelist()) == ["color.png", "manifest.json", "outline.png"]  # at the root of the zip
        app = json.loads(z.read("manifest.json"))
        color, outline = z.read("color.png"), z.read("outline.png")
    assert teams_errors(app) == []
    assert app["manifestVersion"] == MANIFEST_VERSION and f"/v{MANIFEST_VERSION}/" in app["$schema"]
    bot = app["bots"][0]
    assert bot["botId"] == app["id"] == APP_ID.lower()  # the Azure Bot's App ID, from TEAMS_APP_ID
    assert bot["scopes"] == ["personal", "team", "groupChat"] and bot["isNotificationOnly"] is False
    personal = next(c for c in bot["commandLists"] if c["scopes"] == ["personal"])["commands"]
    titles = [c["title"] for c in personal]
    assert {"help", "new case", "summary"} <= set(titles)
    assert any("prior line" in t for t in titles)  # an example case
    groups = next(c for c in bot["commandLists"] if c["scopes"] == ["team", "groupChat"])["commands"]
    assert {"help", "new case"} <= {c["title"] for c in groups}
    assert app["validDomains"] == ["rrmm.hospital.example"]
    assert app["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert "permissions" not in app  # the bot needs none
    # icons: 192x192 full colour; 32x32 white on transparent, as Teams requires
    width, height, rows = read_png(color)
    assert (width, height) == (192, 192) and all(p[3] == 255 for row in rows for p in row)
    assert len({p for row in rows for p in row}) > 2
    width, height, rows = read_png(outline)
    pixels = [p for row in rows for p in row]
    assert (width, height) == (32, 32)
    assert all(p[:3] == (255, 255, 255) for p in pixels if p[3])
    assert any(p[3] == 0 for p in pixels) and any(p[3] == 255 for p in pixels)


def test_teams_package_options_and_reproducibility(tmp_path):
    app = manifest(APP_ID.lower(), PUBLIC, version="1.2.3", personal_only=True,
                   privacy_url="https://intranet.hospital.example/privacy")
    assert teams_errors(app) == []
    assert app["bots"][0]["scopes"] == ["personal"] and len(app["bots"][0]["commandLists"]) == 1
    assert app["version"] == "1.2.3" and app["developer"]["privacyUrl"].endswith("/privacy")
    assert package_bytes(app) == package_bytes(app)  # the same input gives the same zip


@pytest.mark.parametrize("app_id, args, message", [
    (None, ["--public-url", PUBLIC], "TEAMS_APP_ID is not set"),
    ("", ["--public-url", PUBLIC], "TEAMS_APP_ID is not set"),
    ("my-rrmm-bot", ["--public-url", PUBLIC], "TEAMS_APP_ID is not a GUID"),
    ("6ba7b810-9dad-11d1-80b4-00c04fd430c", ["--public-url", PUBLIC], "TEAMS_APP_ID is not a GUID"),
    (APP_ID, [], "give the assistant's public address"),
    (APP_ID, ["--public-url", "http://rrmm.hospital.example"], "must be an https:// address"),
    (APP_ID, ["--public-url", PUBLIC, "--version", "2"], "--version must look like 1.0.0"),
])
def test_teams_package_refuses_missing_or_wrong_settings(tmp_path, app_id, args, message):
    out = tmp_path / "app.zip"
    result = run_cli(tmp_path, *args, "--out", str(out), app_id=app_id)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert not out.exists() and "Traceback" not in result.stderr


def test_the_shipped_teams_schema_catches_mistakes():
    jsonschema.Draft4Validator.check_schema(TEAMS_SCHEMA)
    app = manifest(APP_ID.lower(), PUBLIC)
    assert teams_errors({**app, "bots": [{**app["bots"][0], "botId": "not-a-guid"}]})
    assert teams_errors({**app, "description": {**app["description"], "short": "x" * 81}})
    assert teams_errors({**app, "icons": {"color": "color.png"}})
    long_title = [{"scopes": ["personal"], "commands": [{"title": "x" * 33, "description": "d"}]}]
    assert teams_errors({**app, "bots": [{**app["bots"][0], "commandLists": long_title}]})
    assert GUID.match(APP_ID) and not GUID.match("6ba7b810")


# ---- Slack --------------------------------------------------------------------------------------------------
def slack_manifest():
    return yaml.safe_load((ROOT / "docs" / "slack-app-manifest.yml").read_text(encoding="utf-8"))


def test_slack_manifest_is_valid_and_matches_the_connector():
    app = slack_manifest()
    validator = jsonschema.Draft7Validator(SLACK_SCHEMA, format_checker=jsonschema.FormatChecker())
    assert [e.message for e in validator.iter_errors(app)] == []
    assert [e.message for e in validator.iter_errors({**app, "display_information": {"name": "x" * 36}})]
    settings = app["settings"]
    assert settings["socket_mode_enabled"] is True and settings["interactivity"]["is_enabled"] is True
    assert "request_url" not in settings["event_subscriptions"]  # Socket Mode: no public URL
    # the events the connector answers (SlackInput._is_user_message: message and app_mention), and their scopes
    assert set(settings["event_subscriptions"]["bot_events"]) == {"app_mention", "message.im"}
    assert set(app["oauth_config"]["scopes"]["bot"]) == {"app_mentions:read", "chat:write", "commands", "im:history"}
    command = app["features"]["slash_commands"][0]
    assert command["command"] == "/rrmm" and command["should_escape"] is False
    assert app["features"]["app_home"]["messages_tab_enabled"] is True
    assert app["features"]["app_home"]["messages_tab_read_only_enabled"] is False
    dm = {"event": {"type": "message", "text": "x", "channel_type": "im"}}
    mention = {"event": {"type": "app_mention", "text": "x"}}
    assert SlackChannel._is_user_message(dm) and SlackChannel._is_user_message(mention)


def test_docs_give_each_channel_a_numbered_checklist():
    text = (ROOT / "docs" / "channels.md").read_text(encoding="utf-8")
    for variable in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "TEAMS_APP_ID",
                     "TEAMS_APP_PASSWORD", "RRMM_PUBLIC_URL"):
        assert f"`{variable}" in text, variable
    for needed in ("docs/slack-app-manifest.yml", "connections:write", "python -m bot.plugins.channels teams-package",
                   "scripts/teams-package", "/rrmm"):
        assert needed in text, needed
