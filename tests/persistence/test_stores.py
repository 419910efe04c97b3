"""bot/stores.py and bot/log_redaction.py without servers: settings from the environment, redaction before
storage, restart survival at the store level, storage errors raised (never swallowed), bounded waits."""
from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from bot.plugins import stores
from bot.plugins.stores import (
    ConfigError,
    RedactingSQLTrackerStore,
    StorageError,
    lock_settings,
    redact_event,
    tracker_settings,
)
from tools.servers import ROOT

RAW = "Pt John Whitaker MRN 00482913, 68M, 2 prior lines, refractory to lenalidomide, fit. Call 07700 900461"
IDENTIFIERS = ("John Whitaker", "Whitaker", "00482913", "07700 900461")
BOT_TEXT = "KPd ... Richardson et al., Lancet Oncol 2019"


@pytest.fixture(scope="module")
def domain():
    from rasa.shared.core.domain import Domain
    return Domain.load(str(ROOT / "domain.yml"))


def run(coro):
    return asyncio.new_event_loop().run_until_complete(coro)


def make_store(domain, tmp_path, **env):
    return RedactingSQLTrackerStore(domain=domain, install_hooks=False,
                                    env={"RRMM_SQLITE_DB": str(tmp_path / "tracker.db"), **env})


def conversation(domain, sender="c1"):
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    tracker = DialogueStateTracker(sender, domain.slots)
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered(RAW, intent={"name": "describe_case", "confidence": 1.0},
                               entities=[{"entity": "age", "start": 29, "end": 31, "value": 68},
                                         {"entity": "drug", "value": "lenalidomide", "role": "refractory"}],
                               parse_data={"text": RAW, "intent": {"name": "describe_case", "confidence": 1.0},
                                           "entities": [], "message_id": "m1"},
                               input_channel="rest", message_id="m1", metadata={"note": "from John Whitaker"}))
    tracker.update(SlotSet("age", 68))
    tracker.update(SlotSet("refractory", ["lenalidomide"]))
    tracker.update(ActionExecuted("action_recommend"))
    tracker.update(BotUttered(BOT_TEXT, data={"custom": {"type": "rrmm_recommendation"}}))
    tracker.update(ActionExecuted("action_listen"))
    return tracker


def leaks(path: Path):
    data = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*")).decode("utf-8", "ignore").lower()
    return [i for i in IDENTIFIERS if i.lower() in data]


# ---- settings -------------------------------------------------------------------------------------
def test_defaults_are_the_embedded_sqlite_store_and_memory_locks():
    assert tracker_settings({}) == {"kind": "sqlite", "connect_timeout": 60.0, "db": "var/tracker.db"}
    assert lock_settings({}) == {"kind": "memory"}


def test_postgresql_and_redis_come_from_the_environment():
    env = {"RRMM_TRACKER_STORE": "postgresql", "RRMM_DB_HOST": "db.internal", "RRMM_DB_PORT": "6543",
           "RRMM_DB_NAME": "rasa", "RRMM_DB_USER": "bot", "RRMM_DB_PASSWORD": "pw", "RRMM_DB_SSLMODE": "require",
           "RRMM_LOCK_STORE": "redis", "RRMM_REDIS_HOST": "cache", "RRMM_REDIS_PORT": "6380", "RRMM_REDIS_DB": "2",
           "RRMM_REDIS_PASSWORD": "pw2", "RRMM_REDIS_KEY_PREFIX": "site1", "RRMM_REDIS_SSL": "true"}
    t = tracker_settings(env)
    assert (t["kind"], t["host"], t["port"], t["db"], t["username"], t["password"], t["sslmode"]) == \
        ("postgresql", "db.internal", 6543, "rasa", "bot", "pw", "require")
    assert lock_settings(env) == {"kind": "redis", "host": "cache", "port": 6380, "db": 2, "password": "pw2",
                                  "key_prefix": "site1", "use_ssl": True}


@pytest.mark.parametrize("env, message", [
    ({"RRMM_TRACKER_STORE": "mysql"}, "RRMM_TRACKER_STORE must be one of sqlite, postgresql"),
    ({"RRMM_TRACKER_STORE": "postgresql", "RRMM_DB_PORT": "five"}, "RRMM_DB_PORT must be a whole number"),
    ({"RRMM_TRACKER_STORE": "postgresql", "RRMM_DB_PORT": "70000"}, "RRMM_DB_PORT must be between"),
    ({"RRMM_DB_CONNECT_TIMEOUT": "0"}, "RRMM_DB_CONNECT_TIMEOUT must be more than 0"),
])
def test_bad_tracker_settings_name_the_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        tracker_settings(env)


@pytest.mark.parametrize("env, message", [
    ({"RRMM_LOCK_STORE": "zookeeper"}, "RRMM_LOCK_STORE must be one of memory, redis"),
    ({"RRMM_LOCK_STORE": "redis", "RRMM_REDIS_KEY_PREFIX": "a:b"}, "letters and digits"),
    ({"RRMM_LOCK_STORE": "redis", "RRMM_REDIS_SSL": "maybe"}, "RRMM_REDIS_SSL must be true or false"),
])
def test_bad_lock_settings_name_the_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        lock_settings(env)


# ---- redaction before storage ---------------------------------------------------------------------
def test_redact_event_removes_identifiers_from_user_events_and_keeps_the_rest():
    event = {"event": "user", "timestamp": 1.5, "text": RAW, "input_channel": "rest", "message_id": "m1",
             "parse_data": {"text": RAW, "intent": {"name": "describe_case", "confidence": 1.0},
                            "entities": [{"entity": "drug", "value": "lenalidomide", "role": "refractory"}],
                            "message_id": "m1"},
             "metadata": {"note": "John Whitaker"}}
    out = redact_event(event)
    stored = json.dumps(out)
    assert not [i for i in IDENTIFIERS if i in stored]
    for fact in ("68M", "2 prior lines", "refractory to lenalidomide", "fit"):
        assert fact in out["text"] and fact in out["parse_data"]["text"]
    assert out["parse_data"]["intent"] == event["parse_data"]["intent"]
    assert out["parse_data"]["entities"] == event["parse_data"]["entities"]
    assert (out["timestamp"], out["message_id"], out["input_channel"]) == (1.5, "m1", "rest")
    assert event["text"] == RAW  # the event itself (the running turn) is untouched
    slot = redact_event({"event": "slot", "name": "note", "value": "Mr John Whitaker", "timestamp": 2.0})
    assert "Whitaker" not in json.dumps(slot) and slot["name"] == "note"
    bot = {"event": "bot", "text": BOT_TEXT, "data": {}, "metadata": {}}
    assert redact_event(bot) == bot  # the bot's own words are kept verbatim


def test_saved_conversation_survives_a_new_store_and_holds_no_identifier(domain, tmp_path):
    tracker = conversation(domain)
    store = make_store(domain, tmp_path)
    run(store.save(tracker))
    assert tracker.latest_message.text == RAW  # the turn in memory keeps the raw text
    store.engine.dispose()
    again = run(make_store(domain, tmp_path).retrieve("c1"))  # as after a restart
    assert len(again.events) == len(tracker.events)
    assert again.get_slot("age") == 68 and again.get_slot("refractory") == ["lenalidomide"]
    assert "[NAME]" in again.latest_message.text and "68M, 2 prior lines" in again.latest_message.text
    assert again.latest_message.intent["name"] == "describe_case"
    assert [e.text for e in again.events if e.type_name == "bot"] == [BOT_TEXT]
    assert leaks(tmp_path / "tracker.db") == []


def test_an_event_broker_gets_redacted_events_too(domain, tmp_path):
    class Broker:
        published = []

        def publish(self, body):
            self.published.append(body)

    store = make_store(domain, tmp_path)
    store.event_broker = Broker()
    run(store.save(conversation(domain)))
    sent = json.dumps(Broker.published)
    assert '"event": "user"' in sent and "68M" in sent and not [i for i in IDENTIFIERS if i in sent]


def test_only_new_events_are_appended(domain, tmp_path):
    from rasa.shared.core.events import ActionExecuted, UserUttered
    store = make_store(domain, tmp_path)
    tracker = conversation(domain)
    run(store.save(tracker))
    tracker.update(UserUttered("he's frail, call Mrs Okafor on 07700 900461", intent={"name": "correct"}))
    tracker.update(ActionExecuted("action_listen"))
    run(store.save(tracker))
    run(store.save(tracker))
    con = sqlite3.connect(str(tmp_path / "tracker.db"))
    try:
        assert con.execute("SELECT count(*) FROM events WHERE sender_id = 'c1'").fetchone()[0] == len(tracker.events)
    finally:
        con.close()
    assert "okafor" not in (tmp_path / "tracker.db").read_bytes().decode("utf-8", "ignore").lower()


def test_default_sqlite_file_is_var_tracker_db_in_wal_mode(domain, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RRMM_SQLITE_DB", raising=False)
    store = RedactingSQLTrackerStore(domain=domain, install_hooks=False, env={})
    run(store.save(conversation(domain)))
    assert (tmp_path / "var" / "tracker.db").is_file()
    con = sqlite3.connect(str(tmp_path / "var" / "tracker.db"))
    try:
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        con.close()


def test_rasa_builds_our_store_from_endpoints_yml(domain, tmp_path, monkeypatch):
    from rasa.core.lock_store import LockStore
    from rasa.core.tracker_store import TrackerStore
    from rasa.utils.endpoints import EndpointConfig
    endpoints = yaml.safe_load((ROOT / "endpoints.yml").read_text())
    monkeypatch.setenv("RRMM_SQLITE_DB", str(tmp_path / "t.db"))
    monkeypatch.delenv("RRMM_LOCK_STORE", raising=False)
    store = TrackerStore.create(EndpointConfig.from_dict({**endpoints["tracker_store"], "install_hooks": False}),
                                domain=domain)
    assert type(store) is RedactingSQLTrackerStore and store.settings_kind == "sqlite"
    lock_store = LockStore.create(EndpointConfig.from_dict(endpoints["lock_store"]))
    assert type(lock_store) is stores.EnvLockStore and type(lock_store.impl).__name__ == "InMemoryLockStore"


# ---- errors: raised and logged, never swallowed; bounded waits -------------------------------------
def test_a_locked_database_raises_storage_error_and_logs_it(domain, tmp_path, caplog):
    store = make_store(domain, tmp_path, RRMM_SQLITE_BUSY_TIMEOUT="0.5")
    tracker = conversation(domain)
    run(store.save(tracker))
    from rasa.shared.core.events import UserUttered
    tracker.update(UserUttered("two", intent={"name": "inform"}))
    con = sqlite3.connect(str(tmp_path / "tracker.db"), isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    try:
        with caplog.at_level(logging.ERROR, logger="bot.plugins.stores"):
            t0 = time.monotonic()
            with pytest.raises(StorageError, match="could not save"):
                run(store.save(tracker))
            assert time.monotonic() - t0 < 10
        assert "could not save conversation c1" in caplog.text and "locked" in caplog.text
    finally:
        con.execute("ROLLBACK")
        con.close()
    run(store.save(tracker))  # and when the database is free again, the turn is stored
    assert run(store.retrieve("c1")).latest_message.text == "two"


def test_unreachable_postgresql_fails_within_the_connect_timeout(domain):
    from tools.servers import free_port
    t0 = time.monotonic()
    with pytest.raises(StorageError, match="cannot reach the PostgreSQL database"):
        RedactingSQLTrackerStore(domain=domain, install_hooks=False, env={
            "RRMM_TRACKER_STORE": "postgresql", "RRMM_DB_HOST": "127.0.0.1", "RRMM_DB_PORT": str(free_port()),
            "RRMM_DB_PASSWORD": "secret-password-value", "RRMM_DB_CONNECT_TIMEOUT": "1"})
    assert time.monotonic() - t0 < 15


def test_unreachable_redis_stops_the_start(tmp_path):
    from tools.servers import free_port
    with pytest.raises(StorageError, match="cannot reach Redis"):
        stores.EnvLockStore(env={"RRMM_LOCK_STORE": "redis", "RRMM_REDIS_HOST": "127.0.0.1",
                                 "RRMM_REDIS_PORT": str(free_port())})


def test_import_problems_do_not_fall_back_to_memory_silently(domain, monkeypatch):
    # Rasa replaces a custom tracker store that raises AttributeError/ImportError by an in-memory one.
    def broken(*a, **k):
        raise AttributeError("no such thing")
    monkeypatch.setattr(RedactingSQLTrackerStore, "_setup", broken)
    with pytest.raises(StorageError, match="tracker store could not start"):
        RedactingSQLTrackerStore(domain=domain, install_hooks=False)


# ---- logs -----------------------------------------------------------------------------------------
LOG_SCRIPT = r'''
import logging, logging.config, sys
from rasa.utils.log_utils import configure_structlog
import structlog
path = sys.argv[1]
configure_structlog(logging.DEBUG)              # as `rasa run` does (JSON lines, non-ASCII escaped)
root = logging.getLogger()
root.addHandler(logging.FileHandler(path))      # a handler that exists before
from bot.plugins.patches import install
install("logging")
logging.config.dictConfig({"version": 1, "disable_existing_loggers": False,  # one added after, as Sanic does
    "handlers": {"f": {"class": "logging.FileHandler", "filename": path + ".late"}},
    "loggers": {"late": {"handlers": ["f"], "level": "INFO"}}})
logging.getLogger("rasa.x").info("Received user message 'Pt John Whitaker MRN 00482913, 68M' with intent")
logging.getLogger("late").info("patient %s, phone %s", "Mr Søren Nielsen", "07700 900461")
structlog.get_logger().debug("processor.message.parse", parse_data_text="Mr Søren Nielsen DOB 1955-06-21, 69M",
                             rasa_events=[{"text": "John Whitaker"}])
try:
    raise ValueError("bad input from Pt John Whitaker")
except ValueError:
    logging.getLogger("rasa.y").exception("failed for Mrs Okafor")
'''


def test_log_redaction_covers_old_and_new_handlers_structlog_and_tracebacks(tmp_path):
    log = tmp_path / "rasa.log"
    res = subprocess.run([sys.executable, "-c", LOG_SCRIPT, str(log)], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    text = (log.read_text() + (tmp_path / "rasa.log.late").read_text() + res.stdout + res.stderr)
    decoded = text.encode().decode("unicode_escape", "ignore")  # \u00f8 in JSON lines
    for ident in ("John Whitaker", "Whitaker", "00482913", "Søren", "Nielsen", "07700 900461", "1955-06-21", "Okafor"):
        assert ident.lower() not in text.lower() and ident.lower() not in decoded.lower(), ident
    assert "68M" in text and "69M" in text and "[NAME]" in text and "ValueError" in text
