"""The REST channel with bad input, live on loopback (the session's servers): a 4xx naming the problem for a
bad request, a clear answer for text the assistant cannot use, never a 500, never `[]`, never a shared
conversation; then a property-based fuzz of the channel (hypothesis), after which the server still answers a
case and both databases pass SQLite's integrity check."""
from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.plugins.inbound import MAX_JSON_DEPTH
from bot.plugins.patches import TURN_FAILED_TEXT

from .support import API_TOKEN, api, rest, rest_headers

pytestmark = pytest.mark.slow
CASE = "68M, 2 prior lines, refractory to lenalidomide and daratumumab, fit, not transplant eligible, clinical relapse"
JSON = {"Content-Type": "application/json"}


def base(servers):
    return f"http://127.0.0.1:{servers.rasa_port}"


BAD_REQUESTS = [
    # (name, raw body, query, status, error code)
    ("empty body", b"", "", 400, "body_empty"),
    ("a JSON list", b"[]", "", 400, "body_wrong_type"),
    ("a JSON string", b'"hello"', "", 400, "body_wrong_type"),
    ("not JSON", b"sender=a&message=b", "", 400, "body_not_json"),
    ("not UTF-8", b'{"sender": "a", "message": "\xff\xfe"}', "", 400, "body_not_utf8"),
    ("no sender", b'{"message": "hello"}', "", 400, "sender_missing"),
    ("null sender", b'{"sender": null, "message": "hello"}', "", 400, "sender_missing"),
    ("a number as sender", b'{"sender": 12, "message": "hello"}', "", 400, "sender_invalid"),
    ("control characters in the sender", b'{"sender": "a\\u0000b", "message": "hello"}', "", 400, "sender_invalid"),
    ("no message", b'{"sender": "rest-bad"}', "", 400, "message_missing"),
    ("a number as the message", b'{"sender": "rest-bad", "message": 5}', "", 400, "message_not_text"),
    ("a list as the message", b'{"sender": "rest-bad", "message": ["hi"]}', "", 400, "message_not_text"),
    ("an empty message", b'{"sender": "rest-bad", "message": "  "}', "", 400, "message_empty"),
    ("only control characters", b'{"sender": "rest-bad", "message": "\\u0000\\u0007"}', "", 400, "message_empty"),
    ("unknown fields", b'{"sender": "rest-bad", "message": "hi", "input_channel": "slack"}', "", 400,
     "unknown_fields"),
    ("metadata not an object", b'{"sender": "rest-bad", "message": "hi", "metadata": [1]}', "", 400,
     "metadata_invalid"),
    ("deeply nested JSON", b'{"sender": "rest-bad", "message": "hi", "metadata": ' + b'{"a": ' * 40 + b"1"
     + b"}" * 41, "", 400, "body_too_deep"),
    ("a 1 MB body", json.dumps({"sender": "rest-bad", "message": "x" * 1_000_000}).encode(), "", 413,
     "body_too_large"),
    ("streaming", b'{"sender": "rest-bad", "message": "hi"}', "?stream=true", 400, "unknown_parameters"),
]


@pytest.mark.parametrize("name, raw, query, status, code", BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
def test_a_bad_request_gets_a_4xx_naming_the_problem(servers, name, raw, query, status, code):
    got, body = rest(base(servers), None, headers=rest_headers(), raw=raw, query=query)
    assert (got, body["error"]) == (status, code), body
    assert body["reason"] and "Traceback" not in body["reason"]


def test_without_a_sender_nothing_is_pooled_into_one_default_conversation(servers):
    for text in ("my patient is 70", "what is the case?"):
        assert rest(base(servers), {"message": text})[0] == 400
    tracker = api(base(servers), "GET", "/conversations/default/tracker")[1]
    assert not [e for e in tracker["events"] if e["event"] == "user"]


def test_text_the_assistant_cannot_use_is_cleaned_or_answered_clearly(servers):
    # control characters and a lone surrogate: cleaned, and the case is read
    status, replies = rest(base(servers), {"sender": "rest-clean", "message": "\u0000" + CASE + "\ud800\u001b"})
    assert status == 200 and replies[0]["text"].startswith("Read as: ") and "\n1. SVd, " in replies[0]["text"]
    assert any((r.get("custom") or {}).get("type") == "rrmm_recommendation" for r in replies)
    # a text over RRMM_MAX_MESSAGE_CHARS: the clinician is told, the conversation is untouched
    status, replies = rest(base(servers), {"sender": "rest-long", "message": "fit " * 2000})
    assert status == 200 and len(replies) == 1 and "at most 4,000" in replies[0]["text"]
    tracker = api(base(servers), "GET", "/conversations/rest-long/tracker")[1]
    assert not [e for e in tracker["events"] if e["event"] == "user"]
    # metadata strings are cleaned too; the turn is answered
    status, replies = rest(base(servers), {"sender": "rest-meta", "message": "help",
                                           "metadata": {"ward\u0000": "4\ud800", "n": [1, {"x": None}]}})
    assert status == 200 and replies and TURN_FAILED_TEXT not in str(replies)


def test_the_token_may_also_come_as_a_query_parameter_like_the_http_api(servers):
    status, replies = rest(base(servers), {"sender": "rest-query", "message": "help"}, headers=JSON,
                           query=f"?token={API_TOKEN}")
    assert status == 200 and replies
    for headers in (JSON, {**JSON, "Authorization": "Bearer wrong-token-0123456789"},
                    {**JSON, "Authorization": f"Basic {API_TOKEN}"}):
        status, body = rest(base(servers), {"sender": "rest-query", "message": "help"}, headers=headers)
        assert status == 401 and body["error"] == "unauthorized"


# ---- fuzz --------------------------------------------------------------------------------------------------
ANY_CHAR = st.characters(blacklist_categories=())  # surrogates and control characters included
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(ANY_CHAR, max_size=30)
VALUES = st.recursive(SCALARS, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids,
                                                                                          max_size=4), max_leaves=12)
SENDERS = st.one_of(st.from_regex(r"\Afuzz-[a-z0-9]{6}\Z"), st.text(ANY_CHAR, max_size=20), SCALARS)
MESSAGES = st.one_of(
    st.text(ANY_CHAR, max_size=300),
    st.sampled_from([CASE, "why not KRd?", "summary", "new case", "actually she is frail"]).map(
        lambda s: s + "\u0000\ud800"),
    st.integers(3990, 4100).map(lambda n: "x" * n),
    SCALARS,
)
OBJECTS = st.fixed_dictionaries({"sender": SENDERS, "message": MESSAGES},
                                optional={"metadata": VALUES, "extra": VALUES})
TURNS = st.fixed_dictionaries({"sender": st.from_regex(r"\Afuzz-[a-z0-9]{4}\Z"),
                               "message": st.one_of(st.text(ANY_CHAR, min_size=1, max_size=300), MESSAGES)},
                              optional={"metadata": st.dictionaries(st.text(ANY_CHAR, max_size=8), VALUES, max_size=3)})


def encode(value):
    return json.dumps(value, ensure_ascii=True).encode()  # lone surrogates travel as \ud800 escapes


BODIES = st.one_of(
    TURNS.map(encode),  # requests that reach a turn: three of the nine kinds
    TURNS.map(encode),
    TURNS.map(encode),
    OBJECTS.map(encode),
    VALUES.map(encode),
    st.binary(max_size=300),
    st.integers(1, 3000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(MAX_JSON_DEPTH - 2, MAX_JSON_DEPTH + 2).map(
        lambda n: b'{"sender": "fuzz-deep", "message": "hi", "metadata": ' + b'{"a": ' * n + b"1" + b"}" * (n + 1)),
    st.just(b'{"sender": "fuzz-big", "message": "' + b"a" * 1_100_000 + b'"}'),
)


def log_tail(path: Path, offset: int) -> str:
    with path.open("rb") as fh:
        fh.seek(offset)
        return fh.read().decode("utf-8", "replace")


def test_fuzzed_requests_never_get_a_5xx_or_a_traceback_and_leave_sound_databases(servers):
    url = base(servers)
    logs = [servers.workdir / "rasa.log"]  # the actions run inside the Rasa server: one log
    offsets = [p.stat().st_size for p in logs]
    seen = {"4xx": 0, "200": 0}

    @settings(max_examples=int(os.environ.get("RRMM_FUZZ_EXAMPLES", "200")), deadline=None, database=None,
              derandomize=True, suppress_health_check=list(HealthCheck))
    @given(BODIES)
    def one(raw):
        status, body = rest(url, None, headers=rest_headers(), raw=raw)
        assert status < 500, (status, raw[:200])
        if status == 200:
            seen["200"] += 1
            text = json.loads(raw)["message"]
            assert isinstance(body, list)
            assert body or text.strip().startswith("/"), raw[:200]  # Rasa's /restart, /back: commands, no answer
            assert TURN_FAILED_TEXT not in json.dumps(body), raw[:200]
        else:
            seen["4xx"] += 1
            assert 400 <= status < 500 and body["error"] and body["reason"], (status, body)

    one()
    print("fuzz:", seen)
    assert seen["4xx"] > 20 and seen["200"] > 10, seen  # both kinds were exercised
    for path, offset in zip(logs, offsets, strict=True):
        tail = log_tail(path, offset)
        assert "Traceback" not in tail and "[ERROR]" not in tail.replace("User is not authenticated", ""), path
    status, replies = rest(url, {"sender": "fuzz-after", "message": CASE})
    assert status == 200 and replies[0]["text"].startswith("Read as: ") and "\n1. SVd, " in replies[0]["text"]
    for db in (servers.db, Path(os.environ["RRMM_AUDIT_DB"])):
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok", db
        finally:
            con.close()
