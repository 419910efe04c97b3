"""One machine with an action server, live on loopback: one action server (RRMM_ACTION_URL: its failures are
what several tests here provoke), one Rasa server (--debug: the most log output), the project's endpoints.yml
(SQLite tracker store, memory locks), audit log and logs in a temp dir. The default one-process set-up is what
the session's `servers` fixture runs (tests/test_conversation.py, the channel and security tests).

Tests run in file order on one stack: restart survival, failure behaviour (action server down, slow;
storage and audit errors), then the privacy corpus through the real servers, then the scan of every
file written and the audit rows against every recommendation given.
"""
from __future__ import annotations

import hashlib
import hmac
import signal
import sqlite3
import time
from collections import Counter

import pytest
import yaml

from bot import audit, intake
from bot.clinical.engine import recommend
from bot.clinical.models import parse_case
from bot.plugins.patches import ACTION_SERVER_TEXT, STORAGE_TEXT
from tools.servers import ROOT

from .support import Stack, find_identifiers, new_sender, payload, scan_files, texts

pytestmark = pytest.mark.slow

CORPUS = yaml.safe_load((ROOT / "tests" / "privacy" / "corpus.yml").read_text(encoding="utf-8"))["messages"]
IDENTIFIERS = sorted({i for m in CORPUS for i in m["identifiers"]})
ONE_SHOT = (
    "68M, 2 prior lines, refractory to lenalidomide and daratumumab, fit, not transplant eligible, clinical relapse"
)
PRIVACY_NOTICE = "Please don't share patient identifiers"
CASE_KEYS = ("age", "prior_lines", "relapse", "fitness", "refractory", "exposed", "transplant_eligible")
ACTION_TIMEOUT = 4


def sender(tag="t"):
    return new_sender(tag)


@pytest.fixture(scope="module")
def stack(rasa_model, tmp_path_factory):
    st = Stack(
        tmp_path_factory.mktemp("embedded"),
        rasa_model,
        env={
            "RRMM_ACTION_TIMEOUT": str(ACTION_TIMEOUT),
            "RRMM_SQLITE_BUSY_TIMEOUT": "2",
            "RRMM_AUDIT_BUSY_TIMEOUT": "1",
            "RASA_TELEMETRY_ENABLED": None,
        },
    )
    st.started_at = time.time()
    st.not_recorded = set()
    try:
        st.start_actions()
        st.start_rasa(debug=True)
        yield st
    finally:
        st.stop_all()


def requested(st, who):
    return st.slots(who).get("requested_slot")


def log_text(st, name):
    return "\n".join(p.read_text(errors="ignore") for p in st.workdir.glob(f"{name}*.log"))


def finish_intake(st, who):
    """The rest of the step-by-step intake after the prior lines were asked; returns the recommendation."""
    assert "refractory to" in texts(st.say(who, "two"))
    assert requested(st, who) == "refractory"
    st.say(who, "refractory to lenalidomide")
    assert requested(st, who) == "fitness"
    st.say(who, "he's fit")
    assert requested(st, who) == "transplant_eligible"
    rec = payload(st.say(who, "no"))
    assert rec is not None
    assert rec == recommend(parse_case(intake.case_dict(st.slots(who))))
    assert rec["assessment"]["setting"] == "S2" and rec["assessment"]["lenalidomide_status"] == "refractory"
    return rec


def test_the_project_stores_and_hooks_are_in_use(stack):
    log = log_text(stack, "rasa-file")
    assert f"tracker store: SQLite at {stack.workdir / 'tracker.db'}; identifiers are redacted" in log
    assert "lock store: in memory" in log
    assert f"action-server timeout {ACTION_TIMEOUT:g} s" in log
    assert "Rasa telemetry and error reporting are off" in log  # not asked for: off


def test_a_conversation_survives_a_restart_of_the_server(stack):
    who = sender("restart")
    stack.say(who, "I have a 71 year old man with relapsed myeloma")
    assert requested(stack, who) == "relapse"
    stack.say(who, "clinical")
    assert requested(stack, who) == "prior_lines"
    before = stack.tracker(who)["events"]

    stack.stop("rasa")
    stack.start_rasa(debug=True)  # a new process: same port, same SQLite file

    after = stack.tracker(who)
    assert after["events"][: len(before)] == before
    assert after["slots"]["relapse"] == "clinical" and after["slots"]["age"] == 71
    assert after["slots"]["requested_slot"] == "prior_lines"
    finish_intake(stack, who)


def test_action_server_down_gives_a_clear_message_then_the_conversation_continues(stack):
    who = sender("down")
    stack.say(who, "I have a 71 year old man with relapsed myeloma")
    stack.stop("actions")
    t0 = time.monotonic()
    replies = stack.say(who, "clinical")
    assert time.monotonic() - t0 < ACTION_TIMEOUT
    assert texts(replies) == ACTION_SERVER_TEXT  # once, and nothing else
    assert requested(stack, who) == "relapse" and stack.slots(who)["relapse"] is None
    assert "failed for conversation " + who in log_text(stack, "rasa-file")

    stack.start_actions()  # back on the same port
    assert "prior lines" in texts(stack.say(who, "clinical"))
    assert stack.slots(who)["relapse"] == "clinical"
    finish_intake(stack, who)


def test_action_server_slow_gives_a_clear_message_within_the_timeout_then_continues(stack):
    who = sender("slow")
    stack.say(who, "I have a 71 year old man with relapsed myeloma")
    actions = stack.procs["actions"].popen
    actions.send_signal(signal.SIGSTOP)  # accepts connections (the kernel does) but never answers
    try:
        t0 = time.monotonic()
        replies = stack.say(who, "clinical")
        elapsed = time.monotonic() - t0
    finally:
        actions.send_signal(signal.SIGCONT)
    assert ACTION_TIMEOUT - 0.5 < elapsed < 2 * ACTION_TIMEOUT + 3, elapsed  # one wait, not one per call
    assert texts(replies) == ACTION_SERVER_TEXT
    assert f"no answer within {ACTION_TIMEOUT:g} s" in log_text(stack, "rasa-file")
    assert "prior lines" in texts(stack.say(who, "clinical"))
    finish_intake(stack, who)


def test_a_storage_error_is_logged_and_surfaced_then_the_conversation_continues(stack):
    who = sender("storage")
    stack.say(who, "I have a 71 year old man with relapsed myeloma")
    con = sqlite3.connect(str(stack.workdir / "tracker.db"), isolation_level=None, timeout=10)
    con.execute("BEGIN EXCLUSIVE")  # another writer holds the database: Rasa's save times out
    try:
        replies = stack.say(who, "clinical")
    finally:
        con.execute("ROLLBACK")
        con.close()
    out = texts(replies)
    assert out.endswith(STORAGE_TEXT) and "prior lines" in out  # the answer, then the warning
    log = log_text(stack, "rasa-file")
    assert f"tracker store: could not save conversation {who}" in log and "database is locked" in log
    assert f"storage: conversation {who}: StorageError" in log
    assert requested(stack, who) == "relapse"  # that turn was not stored, as the user was told
    assert "prior lines" in texts(stack.say(who, "clinical"))
    finish_intake(stack, who)


def test_an_audit_failure_still_shows_the_recommendation_with_a_note(stack):
    assert payload(stack.say(sender("audit-ok"), ONE_SHOT)) is not None  # the audit database exists
    who = sender("audit-locked")
    con = sqlite3.connect(str(stack.workdir / "audit.db"), isolation_level=None, timeout=10)
    con.execute("BEGIN EXCLUSIVE")
    try:
        replies = stack.say(who, ONE_SHOT)
    finally:
        con.execute("ROLLBACK")
        con.close()
    stack.not_recorded.add(who)
    assert payload(replies)["options"][0]["regimen"] == "SVd"  # 2026-12: KPd off-label
    assert "1. SVd, " in texts(replies) and texts(replies).endswith(audit.NOT_RECORDED_TEXT)
    assert f"conversation {who} was NOT recorded" in log_text(stack, "actions") + log_text(stack, "rasa")
    assert audit.NOT_RECORDED_TEXT not in texts(stack.say(sender("audit-again"), ONE_SHOT))


def test_privacy_corpus_clinical_facts_reach_the_case(stack):
    """Each corpus message opens a conversation; the case gets the facts the extractor finds in it."""
    from bot.nlu.extract import extract

    assert len(CORPUS) >= 50
    for i, m in enumerate(CORPUS):
        who = sender(f"privacy{i}")
        replies = stack.say(who, m["text"])
        assert PRIVACY_NOTICE in texts(replies), m["text"]
        slots = stack.slots(who)
        expected, _ = intake.apply_entities({}, extract(m["text"]), "describe_case", m["text"])
        assert {k for k in CASE_KEYS if k in expected} >= {"age"} or "age" not in m["text"]
        wrong = {k: (expected[k], slots.get(k)) for k in CASE_KEYS if k in expected and slots.get(k) != expected[k]}
        assert not wrong, f"{m['text']!r}: {wrong}"
        stored = stack.tracker(who)["latest_message"]["text"]  # read back from the tracker store
        assert all(fact in stored for fact in m["clinical"]), stored
        assert not find_identifiers(stored, m["identifiers"]), stored
        # and a follow-up turn with an identifier in a correction
        if i % 10 == 0:
            stack.say(who, f"sorry, the right record number is MRN {90000000 + i}")


def test_no_identifier_in_any_file_the_system_wrote(stack):
    written = stack.written_files()
    names = {p.name for p in written}
    assert {"tracker.db", "audit.db", "audit.salt"} <= names and any(n.startswith("rasa-file") for n in names)
    assert any(n.endswith(".log") and n.startswith("actions") for n in names)
    # also anything written under the project by these processes (nothing is expected there)
    project = [
        p
        for d in (ROOT / "var", ROOT / ".rasa", ROOT)
        for p in (d.glob("*") if d.is_dir() else [])
        if p.is_file()
        and p.suffix in (".db", ".log", ".sqlite", ".db-wal", ".db-shm")
        and p.stat().st_mtime >= stack.started_at
    ]
    identifiers = IDENTIFIERS + [str(90000000 + i) for i in range(0, len(CORPUS), 10)]
    leaks = scan_files(written + project, identifiers)
    assert not leaks, leaks
    # the scan finds what it looks for (same reader, a file that does hold identifiers)
    control = stack.workdir / "control.txt"
    control.write_text(CORPUS[0]["text"])
    try:
        assert scan_files([control], identifiers)
    finally:
        control.unlink()
    # what was typed was seen and redacted (debug logs print each message), not just absent
    assert "[NAME]" in log_text(stack, "rasa-file") and "[MRN]" in log_text(stack, "rasa-file")


def test_one_audit_row_per_recommendation_given(stack):
    salt = (stack.workdir / "audit.salt").read_text().strip().encode()
    h = lambda s: hmac.new(salt, s.encode(), hashlib.sha256).hexdigest()  # noqa: E731
    rows = audit.rows(path=stack.workdir / "audit.db")
    expected = Counter(
        (h(who), tuple(o["regimen"] for o in rec["options"]))
        for who, rec in stack.given
        if who not in stack.not_recorded
    )
    got = Counter((r["conversation"], tuple(r["offered"])) for r in rows)
    assert len(stack.given) >= 6
    assert got == expected
    for r in rows:
        assert r["channel"] == "rest" and r["engine_version"] and r["knowledge_version"]
        assert r["ts"].endswith("Z") and r["clinical_case"]["prior_lines"] >= 1
