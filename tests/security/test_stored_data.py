"""What reaches storage (issue 18, findings 2 and 6): message metadata is cut down to an allow-list before it is
written (keys such as `mrn`, numbers and nested objects never stored), and the install's files are the service
account's alone (var/ 0700, databases, logs and exports 0600), from the scripts and from the code that creates
them. The live half runs against the session's servers (tools/servers.py)."""
from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from bot import audit
from bot.clinical.engine import recommend
from bot.clinical.models import parse_case
from bot.plugins.stores import redact_event
from tools.servers import ROOT

from .support import rest

CASE = {"age": 68, "prior_lines": 2, "relapse": "clinical", "refractory": ["len", "dara"], "fitness": "fit",
        "transplant_eligible": False}
IDENTIFYING = {"mrn": "12345678", "dob": "1957-03-04", "nhs": 9434765919, "patient": {"name": "John Smith"},
               "John Smith": "key as data", "ids": [4857773456, "943 476 5919"]}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---- finding 2: metadata ------------------------------------------------------------------------------------
def test_stored_metadata_keeps_the_allow_list_only_and_drops_identifiers_under_any_key():
    event = {"event": "user", "text": "68M", "input_channel": "rest", "message_id": "m1",
             "metadata": {**IDENTIFYING, "model_id": "abc123", "out_channel": "C0123", "users": ["U1"],
                          "thread_id": 1717171717.5, "rrmm_turn": "f" * 64}}
    stored = redact_event(event)
    assert stored["metadata"] == {"model_id": "abc123", "out_channel": "C0123", "users": ["U1"]}
    text = json.dumps(stored)
    for value in ("12345678", "1957-03-04", "9434765919", "John Smith", "4857773456", "943 476 5919", "mrn", "dob"):
        assert value not in text, value
    # metadata of every kind of event, the bot's own included, and metadata that is not an object
    assert redact_event({"event": "bot", "text": "Options", "metadata": {"mrn": "1"}})["metadata"] == {}
    assert redact_event({"event": "slot", "name": "age", "value": 68, "metadata": ["x"]})["metadata"] == {}
    # Rasa copies the first message's metadata into the session_started_metadata slot
    slot = redact_event({"event": "slot", "name": "session_started_metadata", "value": {**IDENTIFYING, "users": []}})
    assert slot["value"] == {"users": []}
    from bot.plugins.stores import METADATA_KEYS

    assert set(METADATA_KEYS) == {"model_id", "assistant_id", "out_channel", "thread_id", "channel_type", "users"}


@pytest.mark.slow
def test_rest_metadata_with_identifiers_never_reaches_the_tracker_store(servers):
    base = f"http://127.0.0.1:{servers.rasa_port}"
    status, _ = rest(base, {"sender": "meta-ids", "message": "help", "metadata": IDENTIFYING})
    assert status == 200
    con = sqlite3.connect(f"file:{servers.db}?mode=ro", uri=True)
    try:
        rows = [r[0] for r in con.execute("SELECT data FROM events WHERE sender_id = 'meta-ids'")]
    finally:
        con.close()
    assert rows and any(json.loads(r).get("event") == "user" for r in rows)
    for value in ("12345678", "1957-03-04", "9434765919", "John Smith", "4857773456", "943 476 5919", '"mrn"'):
        assert not any(value in r for r in rows), value


# ---- finding 6: modes -------------------------------------------------------------------------------------
def test_the_databases_and_exports_the_code_creates_are_0600_in_0700_directories(tmp_path, monkeypatch):
    monkeypatch.setenv("RRMM_AUDIT_DB", str(tmp_path / "var" / "audit.db"))
    monkeypatch.delenv("RRMM_AUDIT_SALT", raising=False)
    before = os.umask(0o022)  # a lax umask, as a shell gives by default
    try:
        audit.record("conv-1", "rest", parse_case(CASE), recommend(parse_case(CASE)))
        out = tmp_path / "audit.csv"
        assert subprocess.run([str(Path(os.sys.executable)), "-m", "bot", "audit", "export", "--format", "csv",
                               "--output", str(out)], cwd=ROOT, env={**os.environ}, capture_output=True,
                              timeout=120).returncode == 0
    finally:
        os.umask(before)
    var = tmp_path / "var"
    assert mode(var) == 0o700
    for name in ("audit.db", "audit.salt"):
        assert mode(var / name) == 0o600, name
    for extra in var.glob("audit.db-*"):  # SQLite's WAL files take the database's mode
        assert mode(extra) == 0o600, extra.name
    assert mode(out) == 0o600
    # a database left readable by an older version is made 0600 when opened
    old = tmp_path / "old" / "audit.db"
    old.parent.mkdir()
    os.replace(var / "audit.db", old)
    old.chmod(0o644)
    audit.record("conv-2", "rest", parse_case(CASE), recommend(parse_case(CASE)), env={"RRMM_AUDIT_DB": str(old)})
    assert mode(old) == 0o600


def test_the_tracker_store_creates_its_database_0600(tmp_path):
    from bot.plugins.stores import RedactingSQLTrackerStore

    before = os.umask(0o022)
    try:
        RedactingSQLTrackerStore(db=str(tmp_path / "state" / "tracker.db"), install_hooks=False,
                                 env={"RRMM_TRACKER_STORE": "sqlite"})
    finally:
        os.umask(before)
    assert mode(tmp_path / "state") == 0o700 and mode(tmp_path / "state" / "tracker.db") == 0o600


def test_the_scripts_make_var_0700_and_everything_in_it_0600(tmp_path):
    (tmp_path / "var").mkdir()
    (tmp_path / "var").chmod(0o755)
    old_log = tmp_path / "var" / "rasa.log"
    old_log.write_text("old\n")
    old_log.chmod(0o644)
    script = (f"umask 022; cd {tmp_path}; source {ROOT}/scripts/services.sh; echo new > var/actions.log; "
              "mkdir -p var/exports; echo x > var/exports/a.csv")
    env = {**os.environ, "PATH": f"{Path(os.sys.executable).parent}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT),
           "RRMM_API_TOKEN": "t" * 32, "RRMM_ACTION_TOKEN": "a" * 32}
    result = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert mode(tmp_path / "var") == 0o700
    assert mode(old_log) == 0o600 and mode(tmp_path / "var" / "actions.log") == 0o600
    assert mode(tmp_path / "var" / "exports") == 0o700 and mode(tmp_path / "var" / "exports" / "a.csv") == 0o600


@pytest.mark.slow
def test_the_live_servers_write_their_databases_0600(servers):
    base = f"http://127.0.0.1:{servers.rasa_port}"
    status, _ = rest(base, {"sender": "modes-case", "message": "68M, 2 prior lines, refractory to lenalidomide and "
                            "daratumumab, fit, not transplant eligible, clinical relapse"})
    assert status == 200
    assert mode(servers.db) == 0o600
    audit_db = Path(os.environ["RRMM_AUDIT_DB"])
    assert audit_db.exists() and mode(audit_db) == 0o600
