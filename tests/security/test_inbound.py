"""What the assistant accepts (bot/plugins/inbound.py), and what a turn does with bad text or a failure
(the Agent.handle_message patch in bot/plugins/patches.py), without a server."""
from __future__ import annotations

import asyncio
import json

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.plugins import inbound
from bot.plugins.errors import StorageError
from bot.plugins.patches import STORAGE_TEXT, TURN_FAILED_TEXT, _handle_message


def test_text_is_cleaned_of_what_the_nlu_cannot_process():
    assert inbound.clean_text("68M\x00, 2\x1b[31m prior\ud800 lines\x7f\tok\n") == "68M , 2 [31m prior lines \tok\n"
    assert inbound.check_text("  fit \u0085 ") == "fit"
    assert inbound.check_text("Cafe\u0301") == "Caf\u00e9"  # one way of writing each letter


@pytest.mark.parametrize("value, code", [
    (5, "message_not_text"), (None, "message_not_text"), (["a"], "message_not_text"), ({"a": 1}, "message_not_text"),
    ("", "message_empty"), ("   \x00\x01 ", "message_empty"), ("\ud800\udfff", "message_empty"),
    ("x" * 4001, "message_too_long"), ("x" * 10**6, "message_too_long"),
])
def test_text_that_cannot_be_accepted_is_refused_with_a_reason(value, code):
    refusal = inbound.check_text(value, 4000)
    assert isinstance(refusal, inbound.Refusal) and refusal.code == code
    assert refusal.reason and refusal.text and "Traceback" not in refusal.reason


def test_the_limit_comes_from_the_environment_and_a_bad_value_is_named():
    assert inbound.max_message_chars({}) == 4000 and inbound.max_message_chars({"RRMM_MAX_MESSAGE_CHARS": "500"}) == 500
    assert inbound.max_body_bytes({}) == 16384 + 12 * 4000
    for bad in ("many", "10", "10000000"):
        with pytest.raises(inbound.ConfigError, match="RRMM_MAX_MESSAGE_CHARS"):
            inbound.max_message_chars({"RRMM_MAX_MESSAGE_CHARS": bad})


@pytest.mark.parametrize("raw, code", [
    (b"", "body_empty"), (b"  \n", "body_empty"), (b"\xff\xfe{}", "body_not_utf8"), (b"{'a': 1}", "body_not_json"),
    (b"[1, 2]", "body_wrong_type"), (b"\"text\"", "body_wrong_type"), (b"null", "body_wrong_type"),
    (b"[" * 20000 + b"]" * 20000, "body_too_deep"), (json.dumps({"a": [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}).encode(),
                                                     "body_too_deep"),
    (b"{" + b" " * 70000 + b"}", "body_too_large"),
])
def test_bodies_that_cannot_be_accepted_are_refused_with_a_reason(raw, code):
    refusal = inbound.parse_json(raw, dict)
    assert isinstance(refusal, inbound.Refusal) and refusal.code == code, refusal
    assert refusal.status == (413 if code == "body_too_large" else 400)


def test_fields_and_ids():
    assert inbound.parse_json(b'{"sender": "a", "message": "b"}', dict) == {"sender": "a", "message": "b"}
    assert inbound.check_fields({"sender": 1, "x": 2, "y": 3}, ("sender", "message")).reason.startswith(
        "unknown field(s) 'x', 'y'")
    assert inbound.check_fields({"a": None}, ("a",), ("a",)).code == "missing_fields"
    for good in ("clinic-7", "8b0c1e3a9f2d4c5b8a7e6d5c4b3a2f1e", "U123:C456", "dr.smith@ward-4"):
        assert inbound.check_sender(good) == good
    for bad, code in ((None, "sender_missing"), ("", "sender_missing"), (7, "sender_invalid"),
                      ("a b", "sender_invalid"), ("x" * 129, "sender_invalid"), ("a\x00", "sender_invalid")):
        assert inbound.check_sender(bad).code == code
    for good in ("8b0c1e3a9f2d4c5b8a7e6d5c4b3a2f1e", "123e4567-e89b-12d3-a456-426614174000", "abc_DEF-", "x" * 64):
        assert inbound.SESSION_ID.match(good)
    for bad in ("short", "x" * 65, "has space00", "semi;colon00", "ümlautümlaut"):
        assert not inbound.SESSION_ID.match(bad)


# ---- the turn: Agent.handle_message as patched ---------------------------------------------------------------
def turn(original, text):
    out = CollectingOutputChannel()
    result = asyncio.run(_handle_message(original)(None, UserMessage(text, out, "conv-1", input_channel="rest")))
    return result, [m.get("text") for m in out.messages]


def test_a_turn_gets_the_cleaned_text():
    seen = []

    async def original(agent, message):
        seen.append(message.text)
        return []

    assert turn(original, "68M\x00 fit\ud800")[1] == [] and seen == ["68M  fit"]


def test_a_text_over_the_limit_is_answered_with_the_limit_and_not_processed():
    async def original(agent, message):  # pragma: no cover - must not run
        raise AssertionError("processed")

    result, said = turn(original, "x" * 4001)
    assert result is None and len(said) == 1 and "at most 4,000" in said[0]


def test_any_failure_inside_a_turn_is_answered_never_silence(caplog):
    async def broken_nlu(agent, message):
        raise ValueError("the NLU component raised")

    async def broken_store(agent, message):
        raise StorageError("database is locked")

    assert turn(broken_nlu, "hello") == (None, [TURN_FAILED_TEXT])
    assert "conversation conv-1: the turn failed" in caplog.text
    assert turn(broken_store, "hello") == (None, [STORAGE_TEXT])
    assert "storage: conversation conv-1: StorageError: database is locked" in caplog.text


def test_api_bodies_rasa_would_answer_500_to_are_refused():
    check = inbound.check_api_body
    assert check("POST", "/model/parse", b'{"text": "hello"}') is None
    assert check("POST", "/model/parse", b'{"text": "Cafe\\u0301"}') is None  # decomposed letters are text
    assert check("POST", "/model/parse", b'{"q": "hello"}', emulated=True) is None  # another NLU's format
    assert check("POST", "/model/train", b"garbage") is None  # YAML: not checked here
    assert check("POST", "/conversations/a/b/messages", b'{"text": "hi", "sender": "user"}') is None
    for path, raw, code in (("/model/parse", b"[]", "body_wrong_type"),
                            ("/model/parse", b'{"text": 5}', "field_invalid"),
                            ("/model/parse", b"{}", "missing_fields"),
                            ("/model/parse", b'{"text": "a\\u0007b"}', "text_invalid"),
                            ("/conversations/a/execute", b'{"name": 5}', "field_invalid"),
                            ("/conversations/a/trigger_intent", b'{"name": "x", "entities": 5}', "field_invalid")):
        assert check("POST", path, raw).code == code, (path, raw)
