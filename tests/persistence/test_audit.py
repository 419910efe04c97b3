"""bot/audit.py and `python -m bot audit`: append-only rows, hashed conversation ids, WAL and transactions,
parallel writers, export by date range, failures logged and shown."""
from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
import time

import pytest

from bot import ENGINE_VERSION, audit
from bot.clinical.engine import recommend
from bot.clinical.kb import kb
from bot.clinical.models import parse_case
from tools.servers import ROOT

CASE = {"age": 68, "prior_lines": 2, "relapse": "clinical", "refractory": ["Revlimid", "dara"], "fitness": "fit",
        "transplant_eligible": False}


@pytest.fixture
def env(tmp_path):
    return {"RRMM_AUDIT_DB": str(tmp_path / "audit.db"), "RRMM_AUDIT_BUSY_TIMEOUT": "10"}


def rec_for(case):
    return recommend(parse_case(case))


def test_a_row_holds_what_the_issue_lists_and_nothing_typed(env, tmp_path):
    rec = rec_for(CASE)
    row_id = audit.record("sender-42", "rest", parse_case(CASE), rec, env=env)
    (row,) = audit.rows(env=env)
    assert row["id"] == row_id == 1
    assert row["ts"].endswith("Z") and row["ts"][:4].isdigit()  # UTC
    salt = (tmp_path / "audit.salt").read_text().strip().encode()
    assert row["conversation"] == hmac.new(salt, b"sender-42", hashlib.sha256).hexdigest()
    assert "sender-42" not in json.dumps(row)
    assert row["channel"] == "rest"
    assert row["engine_version"] == ENGINE_VERSION and row["knowledge_version"] == kb().version
    assert row["clinical_case"] == {"age": 68, "prior_lines": 2, "relapse": "clinical", "fitness": "fit",
                                    "refractory": ["daratumumab", "lenalidomide"], "transplant_eligible": False,
                                    "region": "US"}  # the region the engine used, always (edition recall)
    assert row["offered"] == [o["regimen"] for o in rec["options"]] and row["offered"][0] == "SVd"
    assert row["excluded"] == [e["regimen"] for e in rec["excluded"]] and "DRd" in row["excluded"]
    assert row["cautions"] == [c["id"] for c in rec["cautions"]] and "thrombosis" in row["cautions"]
    assert row["setting"] == "S3"


def test_ages_over_89_are_stored_as_90():
    assert audit.deidentify_case({**CASE, "age": 97})["age"] == 90
    assert audit.deidentify_case({**CASE, "age": 89})["age"] == 89


def test_salt_file_is_created_once_with_mode_0600_and_env_salt_wins(env, tmp_path):
    audit.record("a", "rest", CASE, rec_for(CASE), env=env)
    salt_file = tmp_path / "audit.salt"
    first = salt_file.read_text()
    assert stat.S_IMODE(salt_file.stat().st_mode) == 0o600 and len(first.strip()) == 64
    audit.record("a", "rest", CASE, rec_for(CASE), env=env)
    assert salt_file.read_text() == first
    r1, r2 = audit.rows(env=env)
    assert r1["conversation"] == r2["conversation"]  # same conversation, same hash
    audit.record("a", "rest", CASE, rec_for(CASE), env={**env, "RRMM_AUDIT_SALT": "another-install-salt-0123"})
    assert audit.rows(env=env)[2]["conversation"] != r1["conversation"]
    with pytest.raises(audit.AuditError, match="at least 16"):
        audit.record("a", "rest", CASE, rec_for(CASE), env={**env, "RRMM_AUDIT_SALT": "short"})


def test_the_log_is_append_only(env):
    audit.record("a", "rest", CASE, rec_for(CASE), env=env)
    assert not [n for n in dir(audit) if n.startswith(("update", "delete", "remove"))]
    con = sqlite3.connect(env["RRMM_AUDIT_DB"])
    try:
        for sql in ("UPDATE recommendations SET channel = 'x'", "DELETE FROM recommendations"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                con.execute(sql)
        assert con.execute("SELECT count(*) FROM recommendations").fetchone() == (1,)
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        con.close()


WRITER = """
import sys, time
from pathlib import Path
from bot import audit
from bot.clinical.engine import recommend
from bot.clinical.models import parse_case
path, n, worker, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
case = {"prior_lines": 2, "relapse": "clinical", "fitness": "fit", "age": 40 + worker}
rec = recommend(parse_case(case))
env = {"RRMM_AUDIT_DB": path, "RRMM_AUDIT_BUSY_TIMEOUT": "60", "RRMM_AUDIT_NODE": f"w{worker}"}
deadline = time.monotonic() + 120
while not go.exists():  # start together: the most contention
    if time.monotonic() > deadline:
        sys.exit("no start signal")
    time.sleep(0.01)
for i in range(n):
    audit.record(f"conv-{worker}-{i}", "rest", case, rec, env=env)
print(n)
"""


def test_parallel_writers_lose_nothing(tmp_path):
    """16 processes x 200 rows at once, on a new database (schema and salt created under contention)."""
    path, workers, per, go = str(tmp_path / "audit.db"), 16, 200, tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, path, str(per), str(w), str(go)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for w in range(workers)]
    try:
        time.sleep(1.0)
        go.touch()
        outs = [p.communicate(timeout=240) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0] * workers, [e[-500:] for _, e in outs]
    rows = audit.rows(path=path)
    assert len(rows) == workers * per
    assert [r["id"] for r in rows] == list(range(1, workers * per + 1))
    assert len({r["uid"] for r in rows}) == len({r["conversation"] for r in rows}) == workers * per
    by_node = {}
    for r in rows:
        by_node.setdefault(r["node"], set()).add(r["clinical_case"]["age"])
    assert by_node == {f"w{w}": {40 + w} for w in range(workers)}
    assert len({tuple(r["offered"]) for r in rows}) == 1
    assert len((tmp_path / "audit.salt").read_text().split()) == 1  # one salt, created once for all writers
    # the writers interleaved: no process wrote all its rows in one block
    order = [r["node"] for r in rows]
    assert sum(1 for a, b in zip(order, order[1:], strict=False) if a != b) > workers


def test_a_locked_database_raises_audit_error_after_the_busy_timeout(env):
    audit.record("a", "rest", CASE, rec_for(CASE), env=env)
    con = sqlite3.connect(env["RRMM_AUDIT_DB"], isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    try:
        t0 = time.monotonic()
        with pytest.raises(audit.AuditError, match="locked"):
            audit.record("a", "rest", CASE, rec_for(CASE), env={**env, "RRMM_AUDIT_BUSY_TIMEOUT": "0.5"})
        assert 0.4 < time.monotonic() - t0 < 5
    finally:
        con.execute("ROLLBACK")
        con.close()
    assert len(audit.rows(env=env)) == 1


# ---- python -m bot audit --------------------------------------------------------------------------
def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "bot", "audit", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


@pytest.fixture
def three_days(tmp_path):
    """Rows on 2026-01-01, 2026-01-02 (two) and 2026-01-03, written with a fixed clock."""
    path = tmp_path / "audit.db"
    env = {"RRMM_AUDIT_DB": str(path)}
    times = iter(["2026-01-01T10:00:00.000000Z", "2026-01-02T00:00:00.000000Z", "2026-01-02T23:59:59.999999Z",
                  "2026-01-03T08:30:00.000000Z"])
    from bot.audit import trail  # the module whose clock record() reads
    original = trail._utc_now
    trail._utc_now = lambda: next(times)
    try:
        for i, lines in enumerate((1, 2, 3, 4)):
            case = {"prior_lines": lines, "relapse": "clinical", "fitness": "fit"}
            audit.record(f"c{i}", "socketio" if i % 2 else "rest", case, rec_for(case), env=env)
    finally:
        trail._utc_now = original
    return path


def test_cli_lists_by_date_range(three_days):
    out = cli("list", "--db", str(three_days))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("4 recommendations") and "time (UTC)" in out.stdout
    out = cli("list", "--from", "2026-01-02", "--to", "2026-01-02", "--db", str(three_days))
    assert out.returncode == 0 and out.stdout.strip().endswith("2 recommendations")
    assert "2026-01-02 00:00:00" in out.stdout and "2026-01-02 23:59:59" in out.stdout
    out = cli("list", "--from", "2026-01-02T12:00:00Z", "--db", str(three_days), "--limit", "1")
    assert out.returncode == 0 and "2026-01-02 23:59:59" in out.stdout
    assert out.stdout.strip().endswith("1 recommendation")


def test_cli_exports_csv_and_json(three_days, tmp_path):
    out = cli("export", "--format", "json", "--from", "2026-01-02", "--db", str(three_days))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [r["clinical_case"]["prior_lines"] for r in data] == [2, 3, 4]
    assert all(isinstance(r["offered"], list) and r["offered"] for r in data)
    target = tmp_path / "export.csv"
    out = cli("export", "--format", "csv", "--to", "2026-01-02", "--db", str(three_days), "--output", str(target))
    assert out.returncode == 0 and "3 rows written" in out.stderr
    table = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [json.loads(r["clinical_case"])["prior_lines"] for r in table] == [1, 2, 3]
    assert table[1]["channel"] == "socketio" and json.loads(table[0]["offered"])[0]
    assert set(table[0]) >= {
        "ts",
        "conversation",
        "channel",
        "engine_version",
        "knowledge_version",
        "clinical_case",
        "offered",
        "excluded",
        "cautions",
    }


def test_cli_takes_the_database_from_the_environment(three_days):
    out = cli("export", "--format", "json", env={"RRMM_AUDIT_DB": str(three_days)})
    assert out.returncode == 0 and len(json.loads(out.stdout)) == 4


@pytest.mark.parametrize(
    "args, message",
    [
        (("list", "--from", "2026-02-30"), "is not a date"),
        (("list", "--to", "yesterday"), "is not a date"),
        (("list", "--from", "2026-01-03", "--to", "2026-01-01"), "is not before"),
        (("list", "--limit", "0"), "--limit must be 1 or more"),
        (("export", "--format", "xml"), "invalid choice"),
        (("export", "--output", "/nonexistent-dir/x.csv"), "cannot write"),
        ((), "required"),
    ],
)
def test_cli_bad_input_exits_2_with_a_message(three_days, args, message):
    out = cli(*args, "--db", str(three_days)) if args else cli()
    assert out.returncode == 2 and message in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_cli_missing_database_exits_2(tmp_path):
    out = cli("list", "--db", str(tmp_path / "none.db"))
    assert out.returncode == 2 and "no audit log at" in out.stderr and "Traceback" not in out.stderr
