"""Channel configuration: no secret in the repository, secrets only from the environment, and a deployment
without Slack or Teams secrets starts with those channels off (logged, webhook refused), never crashing."""
from __future__ import annotations

import json
import logging
import os
import re
import urllib.error
import urllib.request

import pytest
import yaml

from bot.plugins.channels.base import OffChannel
from bot.plugins.channels.slack import SlackChannel
from bot.plugins.channels.teams import TeamsChannel
from bot.plugins.channels.webchat import WebChat

from .support import ROOT

SECRET_VARS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "TEAMS_APP_ID", "TEAMS_APP_PASSWORD")


def credentials():
    return yaml.safe_load((ROOT / "credentials.yml").read_text())


def test_credentials_file_names_every_channel_and_holds_no_secret():
    creds = credentials()
    assert set(creds) == {"bot.plugins.channels.rest.RestChannel", "bot.plugins.channels.api.ApiChannel",
                          "bot.plugins.channels.webchat.WebChat", "bot.plugins.channels.slack.SlackChannel",
                          "bot.plugins.channels.teams.TeamsChannel"}
    text = (ROOT / "credentials.yml").read_text()
    assert not re.search(r"xox[abpr]-[0-9A-Za-z]|\$\{", text)
    for conf in creds.values():
        for key in (conf or {}):
            assert not re.search(r"token|secret|password|app_id", key), f"{key} belongs in the environment"


def test_file_secrets_are_ignored(monkeypatch, caplog):
    for name in SECRET_VARS:
        monkeypatch.delenv(name, raising=False)
    with caplog.at_level(logging.WARNING, logger="bot.plugins.channels"):
        channel = SlackChannel.from_credentials({"slack_token": "xoxb-in-the-file", "slack_signing_secret": "s3cr3t"})
    assert isinstance(channel, OffChannel)
    assert "ignoring slack_token, slack_signing_secret in credentials.yml" in caplog.text
    assert "xoxb-in-the-file" not in caplog.text and "s3cr3t" not in caplog.text


@pytest.mark.parametrize("present", [(), ("SLACK_BOT_TOKEN",), ("SLACK_SIGNING_SECRET",)])
def test_slack_without_its_secrets_is_off_and_says_which(monkeypatch, caplog, present):
    for name in SECRET_VARS:
        monkeypatch.delenv(name, raising=False)
    for name in present:
        monkeypatch.setenv(name, "value-that-must-not-be-logged")
    channel = SlackChannel.from_credentials(credentials()["bot.plugins.channels.slack.SlackChannel"])
    assert isinstance(channel, OffChannel) and channel.name() == "slack"
    with caplog.at_level(logging.WARNING, logger="bot.plugins.channels"):
        channel.blueprint(None)
    missing = [n for n in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET") if n not in present]
    assert f"Slack channel is OFF: {' and '.join(missing)} not set in the environment" in caplog.text
    assert "value-that-must-not-be-logged" not in caplog.text


def test_the_slack_off_line_names_both_ways_to_connect(monkeypatch, caplog):
    """An operator who follows the manifest (Socket Mode) learns from the log that SLACK_APP_TOKEN is the way, and
    the HTTP way is named too."""
    for name in (*SECRET_VARS, "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with caplog.at_level(logging.WARNING, logger="bot.plugins.channels"):
        SlackChannel.from_credentials(None).blueprint(None)
    line = next(r.getMessage() for r in caplog.records if "Slack channel is OFF" in r.getMessage())
    assert "SLACK_APP_TOKEN (Socket Mode" in line and "SLACK_SIGNING_SECRET (HTTP" in line
    assert "SLACK_BOT_TOKEN and either" in line


def test_teams_without_its_secrets_is_off_and_with_them_starts_offline(monkeypatch, caplog):
    for name in SECRET_VARS:
        monkeypatch.delenv(name, raising=False)
    channel = TeamsChannel.from_credentials(None)
    assert isinstance(channel, OffChannel) and channel.name() == "botframework"
    with caplog.at_level(logging.WARNING, logger="bot.plugins.channels"):
        channel.blueprint(None)
    assert "Teams (Bot Framework) channel is OFF: TEAMS_APP_ID and TEAMS_APP_PASSWORD not set" in caplog.text
    # with its secrets it is built without fetching Microsoft's keys (they are fetched on the first activity)
    monkeypatch.setenv("TEAMS_APP_ID", "00000000-0000-0000-0000-000000000000")
    monkeypatch.setenv("TEAMS_APP_PASSWORD", "pw")
    monkeypatch.setenv("TEAMS_OPENID_METADATA_URL", "http://127.0.0.1:9/unreachable")
    channel = TeamsChannel.from_credentials(None)
    assert isinstance(channel, TeamsChannel) and channel.jwt_keys == {}


def test_web_chat_needs_no_secret():
    channel = WebChat.from_credentials(credentials()["bot.plugins.channels.webchat.WebChat"])
    assert channel.session_persistence is True and channel.url_prefix() == "/chat"


@pytest.mark.slow
def test_deployment_without_secrets_starts_with_slack_and_teams_off(servers):
    """The session's Rasa server (tests/conftest.py) runs credentials.yml with no channel secrets."""
    if any(os.environ.get(n) for n in SECRET_VARS):
        pytest.skip("channel secrets are set in this environment")
    log = (servers.workdir / "rasa.log").read_text()
    assert "Slack channel is OFF: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET not set" in log
    assert "Teams (Bot Framework) channel is OFF: TEAMS_APP_ID and TEAMS_APP_PASSWORD not set" in log
    assert "Web chat channel is on" in log
    base = f"http://127.0.0.1:{servers.rasa_port}"
    for path in ("/webhooks/slack/webhook", "/webhooks/botframework/webhook"):
        req = urllib.request.Request(base + path, data=b"{}", headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=10)
        body = json.loads(err.value.read())  # the one error format (bot/problems.py)
        assert err.value.code == 503 and body["status"] == 503 and body["state"] == "off"
        assert body["type"] == "urn:rrmm:problem:channel_off"
    assert servers.say("config-check", "hello") is not None  # REST still answers
    with urllib.request.urlopen(base + "/chat/", timeout=10) as r:
        assert r.status == 200
