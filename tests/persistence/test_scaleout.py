"""Scale-out on PostgreSQL and Redis, live on loopback: two Rasa servers share one PostgreSQL tracker store, one
Redis lock store and one action server (RRMM_ACTION_URL, with the action token), selected by environment variables
only (the project's endpoints.yml, unchanged). PostgreSQL and Redis are installed from Debian packages when
absent, run as private instances on free ports, and are stopped at the end (tests/persistence/services.py).
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from bot import audit, intake
from bot.clinical.engine import recommend
from bot.clinical.models import parse_case
from bot.plugins.patches import ACTION_SERVER_TEXT, STORAGE_TEXT
from bot.plugins.stores import AtomicRedisLockStore
from tools.servers import ROOT

from .services import Postgres, Redis, ensure_installed
from .support import Stack, find_identifiers, new_sender, payload, texts

pytestmark = pytest.mark.slow

SERVERS = ("rasa-a", "rasa-b")
CORPUS = yaml.safe_load((ROOT / "tests" / "privacy" / "corpus.yml").read_text(encoding="utf-8"))["messages"]
DRUGS = [["lenalidomide"], ["lenalidomide", "daratumumab"], ["bortezomib"], ["lenalidomide", "bortezomib"], []]
FITNESS = (("fit", "fit"), ("intermediate-fit", "intermediate"), ("frail", "frail"))


@pytest.fixture(scope="module")
def services():
    ensure_installed()
    pg, redis = Postgres(), Redis()
    try:
        pg.start()
        redis.start()
        yield pg, redis
    finally:
        pg.stop()
        redis.stop()


@pytest.fixture(scope="module")
def cluster(rasa_model, services, tmp_path_factory):
    pg, redis = services
    st = Stack(tmp_path_factory.mktemp("scaleout"), rasa_model, env={**pg.env(), **redis.env()})
    st.pg, st.redis = pg, redis
    try:
        st.start_actions("actions", env={"RRMM_AUDIT_NODE": "action-server"})
        for name in SERVERS:
            st.start_rasa(name, actions="actions", wait=False, env={"RRMM_AUDIT_NODE": name})
        for name in SERVERS:
            st.wait_rasa(name)
        yield st
    finally:
        st.stop_all()


def sender(tag="t"):
    return new_sender(tag)


def rasa_logs(st):
    return "\n".join(p.read_text(errors="ignore") for p in st.workdir.glob("rasa-*.log"))


def test_both_servers_use_postgresql_and_redis_from_the_environment(cluster):
    log = rasa_logs(cluster)
    pg, redis = cluster.pg, cluster.redis
    where = f"tracker store: PostgreSQL database {pg.database} at 127.0.0.1:{pg.port}; identifiers are redacted"
    assert log.count(where) >= 2 and log.count(f"lock store: Redis at 127.0.0.1:{redis.port}") >= 2
    assert pg.password not in log and redis.password not in log
    url = cluster.procs["actions"].url
    assert log.count(f"custom actions run on the action server at {url}/webhook") >= 2


def test_the_actions_of_both_servers_run_on_the_one_action_server(cluster):
    db = cluster.workdir / "audit.db"
    before = len(audit.rows(path=db)) if db.exists() else 0
    for server in SERVERS:
        assert payload(cluster.say(sender("actions"), ONE_SHOT_CASE, server=server)) is not None
    rows = audit.rows(path=db)[before:]
    assert [r["node"] for r in rows] == ["action-server", "action-server"]  # written by the action server's process
    assert "custom actions run in this process" not in rasa_logs(cluster)


def test_alternating_turns_between_two_servers_keep_one_consistent_state(cluster):
    who = sender("alternate")
    turns = [("I have a 71 year old man with relapsed myeloma", "relapse"), ("clinical", "prior_lines"),
             ("two", "refractory"), ("refractory to lenalidomide", "fitness"), ("he's fit", "transplant_eligible")]
    for i, (text, asked_next) in enumerate(turns):
        here, there = SERVERS[i % 2], SERVERS[(i + 1) % 2]
        assert texts(cluster.say(who, text, server=here))
        a, b = cluster.tracker(who, here), cluster.tracker(who, there)
        assert a["events"] == b["events"] and a["slots"] == b["slots"]  # one state, seen from both
        assert b["slots"]["requested_slot"] == asked_next
    rec = payload(cluster.say(who, "no", server=SERVERS[len(turns) % 2]))
    slots = cluster.slots(who, SERVERS[0])
    assert rec == recommend(parse_case(intake.case_dict(slots)))
    assert rec["assessment"]["setting"] == "S2" and slots["age"] == 71
    users = [e for e in cluster.tracker(who, SERVERS[1])["events"] if e["event"] == "user"]
    assert len(users) == len(turns) + 1


def test_simultaneous_messages_to_one_conversation_on_both_servers_are_processed_one_at_a_time(cluster):
    """The Redis lock: without it both servers would read the same state and append over each other."""
    who = sender("together")
    cluster.say(who, ONE_SHOT_CASE, server=SERVERS[0])
    barrier = threading.Barrier(2, timeout=30)
    asks = ("why not KRd?", "what is KPd?", "cautions with teclistamab", "summary")

    def send(server, text):
        barrier.wait()
        return cluster.say(who, text, server=server)

    for text in asks:
        with ThreadPoolExecutor(2) as pool:
            replies = list(pool.map(send, SERVERS, (text, text)))
        assert all(texts(r) for r in replies)
    events = cluster.tracker(who, SERVERS[1])["events"]
    users = [i for i, e in enumerate(events) if e["event"] == "user"]
    assert len(users) == 1 + 2 * len(asks)
    for start, end in zip(users, users[1:] + [len(events)], strict=True):
        turn = events[start + 1:end]
        # each message's turn is complete before the next begins: it ends listening, and has one reply set
        assert turn and turn[-1].get("name") == "action_listen", [e.get("name") or e["event"] for e in turn]
        assert sum(1 for e in turn if e.get("name") == "action_listen") == 1
    client = cluster.redis.client()
    assert int(client.info("commandstats").get("cmdstat_set", {}).get("calls", 0)) > 0  # locks were taken
    assert client.keys("*") == []  # and released


ONE_SHOT_CASE = ("68M, 2 prior lines, refractory to lenalidomide and daratumumab, fit, not transplant eligible, "
                 "clinical relapse")


def _case(i):
    drugs = DRUGS[i % len(DRUGS)]
    said_fitness, fitness = FITNESS[i % 3]
    lines = 1 + i % 4
    first = f"I have a {40 + i} year old {'man' if i % 2 else 'woman'} with relapsed myeloma"
    refractory = ("refractory to " + " and ".join(drugs)) if drugs else "not refractory to anything"
    second = (f"clinical relapse, {lines} prior line{'s' if lines > 1 else ''}, {refractory}, {said_fitness}, "
              f"not transplant eligible")
    expected = {"age": 40 + i, "relapse": "clinical", "prior_lines": lines, "refractory": sorted(drugs),
                "fitness": fitness, "transplant_eligible": False}
    return first, second, expected


def test_fifty_concurrent_conversations_finish_without_errors_or_cross_talk(cluster):
    n = 50
    rows_before = len(audit.rows(path=cluster.workdir / "audit.db")) if (cluster.workdir / "audit.db").exists() else 0
    errors_before = rasa_logs(cluster).count("[ERROR]")
    tag = new_sender("conv")

    def conversation(i):
        who = f"{tag}-{i:02d}"
        first, second, expected = _case(i)
        r1 = cluster.say(who, first, server=SERVERS[i % 2])
        r2 = cluster.say(who, second, server=SERVERS[(i + 1) % 2])
        slots = cluster.slots(who, SERVERS[i % 2])
        return who, expected, r1, r2, slots

    t0 = time.monotonic()
    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(conversation, range(n)))
    elapsed = time.monotonic() - t0
    assert len(results) == n
    for who, expected, r1, r2, slots in results:
        out = texts(r1) + texts(r2)
        assert ACTION_SERVER_TEXT not in out and STORAGE_TEXT not in out, (who, out)
        assert slots["relapse"] == "clinical" and "relapse" in texts(r1)  # the first turn asked for it
        got = {k: slots.get(k) for k in expected}
        got["refractory"] = sorted(got["refractory"] or [])
        assert got == expected, who  # its own case: no fact from another conversation
        rec = payload(r2)
        assert rec is not None, (who, texts(r2))
        assert rec == recommend(parse_case(expected)), who  # its own recommendation
    assert rasa_logs(cluster).count("[ERROR]") == errors_before
    rows = audit.rows(path=cluster.workdir / "audit.db")
    assert len(rows) - rows_before == n  # the action server wrote one row per recommendation given
    assert {r["node"] for r in rows} and all(r["clinical_case"]["age"] >= 40 for r in rows[rows_before:])
    print(f"50 concurrent conversations, 100 turns over 2 servers: {elapsed:.1f} s")


def test_postgresql_holds_no_identifier(cluster):
    messages = CORPUS[:12]
    for i, m in enumerate(messages):
        cluster.say(sender(f"pgprivacy{i}"), m["text"], server=SERVERS[i % 2])
    stored = cluster.pg.psql("SELECT data FROM events WHERE sender_id LIKE 'pgprivacy%'")
    assert stored.count('"event": "user"') == len(messages)
    identifiers = sorted({i for m in messages for i in m["identifiers"]})
    assert not find_identifiers(stored, identifiers)
    assert "[NAME]" in stored and "68M" in stored
    all_rows = cluster.pg.psql("SELECT data FROM events")
    assert not find_identifiers(all_rows, identifiers)


def test_atomic_redis_lock_store_issues_unique_tickets_under_contention(cluster):
    redis = cluster.redis
    stores_ = [AtomicRedisLockStore(host="127.0.0.1", port=redis.port, password=redis.password, db=3,
                                    key_prefix="t") for _ in range(2)]
    conversation = "contended"
    barrier = threading.Barrier(8, timeout=30)

    def issue(k):
        store = stores_[k % 2]
        barrier.wait()
        return [store.issue_ticket(conversation, 60) for _ in range(25)]

    with ThreadPoolExecutor(8) as pool:
        tickets = [t for batch in pool.map(issue, range(8)) for t in batch]
    assert len(tickets) == len(set(tickets)) == 200
    lock = stores_[0].get_lock(conversation)
    assert len(lock.tickets) == 200
    for t in tickets:
        stores_[t % 2].cleanup(conversation, t)
    assert stores_[0].get_lock(conversation) is None and redis.client(db=3).keys("*") == []


def test_postgresql_down_is_surfaced_and_the_conversation_continues_when_it_returns(cluster):
    pg = cluster.pg
    who = sender("pgdown")
    cluster.say(who, "I have a 71 year old man with relapsed myeloma", server=SERVERS[0])
    from .services import _run
    _run(pg._as_owner([str(pg.bindir / "pg_ctl"), "-D", str(pg.data), "-m", "fast", "-w", "-t", "60", "stop"]), 90)
    try:
        replies = cluster.say(who, "clinical", server=SERVERS[1])
        assert texts(replies) == STORAGE_TEXT
    finally:
        opts = f"-p {pg.port} -c listen_addresses=127.0.0.1 -k {pg.base} -c max_connections=200"
        _run(pg._as_owner([str(pg.bindir / "pg_ctl"), "-D", str(pg.data), "-l", str(pg.log), "-w", "-t", "60",
                           "-o", opts, "start"]), 90)
    log = rasa_logs(cluster)
    assert f"tracker store: could not read conversation {who}" in log and f"storage: conversation {who}" in log
    # the servers reconnect by themselves; the conversation is where it was
    assert cluster.slots(who, SERVERS[0])["requested_slot"] == "relapse"
    assert "prior lines" in texts(cluster.say(who, "clinical", server=SERVERS[0]))
    assert cluster.slots(who, SERVERS[1])["requested_slot"] == "prior_lines"
