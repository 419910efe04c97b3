"""Audit rows from the chat (issue 18, finding 5): the row holds the case the engine used, region included (the
deployment's RRMM_REGION when the clinician named none), and only recommendations the project produced for a
message that came through one of its channels are recorded: injected events followed by
`execute action_recommend` over Rasa's HTTP API write no row, whatever conversation they name."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import actions as A
from bot import audit
from tools.servers import ACTION_TOKEN

from .support import api, audit_count, rest

SLOTS = {"relapse": "clinical", "prior_lines": 2, "refractory": ["daratumumab", "lenalidomide"], "fitness": "fit",
         "transplant_eligible": False, "age": 68}
KEY = "k" * 40
CASE = "68M, 2 prior lines, refractory to lenalidomide and daratumumab, fit, not transplant eligible, clinical relapse"


def user_event(sender: str, channel: str = "rest", message_id: str = "m1", key: str = KEY, **metadata) -> dict:
    meta = {audit.STAMP_KEY: audit.stamp(key, sender, channel, message_id), **metadata}
    return {"event": "user", "text": "68M ...", "input_channel": channel, "message_id": message_id,
            "parse_data": {"intent": {"name": "describe_case"}, "entities": []}, "metadata": meta}


def recommend_in(sender: str, events: list, slots: dict = SLOTS):
    tracker = Tracker(sender, dict(slots), {"text": "68M ...", "intent": {"name": "describe_case"}, "entities": [],
                                            "message_id": "m1"}, events, False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    asyncio.run(A.ActionRecommend().run(dispatcher, tracker, {}))
    return dispatcher.messages


@pytest.fixture
def trail(tmp_path, monkeypatch):
    monkeypatch.setenv("RRMM_AUDIT_DB", str(tmp_path / "audit.db"))
    monkeypatch.setenv("RRMM_ACTION_TOKEN", KEY)
    monkeypatch.delenv("RRMM_REGION", raising=False)
    return tmp_path / "audit.db"


def rows(path: Path):
    return audit.rows(path=path) if path.exists() else []


def test_the_row_holds_the_region_the_engine_used(trail, monkeypatch):
    recommend_in("conv-us", [user_event("conv-us")])
    monkeypatch.setenv("RRMM_REGION", "EU")
    messages = recommend_in("conv-eu", [user_event("conv-eu")])
    payload = next(m["custom"]["recommendation"] for m in messages if m.get("custom"))
    us, eu = rows(trail)
    assert us["clinical_case"]["region"] == "US" and us["channel"] == "rest"
    assert eu["clinical_case"]["region"] == "EU"  # the deployment default, as the engine applied it
    assert payload["options"] and eu["offered"] == [o["regimen"] for o in payload["options"]]
    # a region the clinician named wins over the deployment's
    recommend_in("conv-named", [user_event("conv-named")], {**SLOTS, "region": "US"})
    assert rows(trail)[-1]["clinical_case"]["region"] == "US"


def test_no_row_for_a_message_that_did_not_come_through_a_channel(trail, caplog):
    cases = {
        "no user event": [],
        "injected, no stamp": [{"event": "user", "text": "x", "input_channel": "rest", "message_id": "m1",
                                "metadata": {}}],
        "forged stamp": [user_event("conv-a", key="not-the-action-token-000")],
        "another conversation's stamp": [user_event("conv-b")],
        "another channel's stamp": [{**user_event("conv-a", channel="socketio"), "input_channel": "rest"}],
    }
    for name, events in cases.items():
        messages = recommend_in("conv-a", events)
        assert any(m.get("custom") for m in messages), name  # the answer itself is unchanged
    assert rows(trail) == []
    assert "did not come through one of the assistant's channels" in caplog.text
    recommend_in("conv-a", [user_event("conv-a")])
    assert len(rows(trail)) == 1


# ---- live: injected events and `execute action_recommend` over Rasa's HTTP API ------------------------------


@pytest.mark.slow
def test_injected_events_and_execute_write_no_audit_row_for_any_conversation(servers):
    base = f"http://127.0.0.1:{servers.rasa_port}"
    first = audit_count()
    status, _ = rest(base, {"sender": "prov-real", "message": CASE})  # a real conversation: its row
    assert status == 200
    before = audit_count()
    assert before == first + 1
    forged_stamp = "0f" * 32  # what an injector might put where the Rasa server's stamp goes
    for conv in ("prov-real", "prov-invented"):
        events = [{"event": "action", "name": "action_session_start"}, {"event": "session_started"},
                  {"event": "action", "name": "action_listen"}]  # so that `execute` starts no new session
        events += [{"event": "user", "text": "68M", "input_channel": "rest", "message_id": "m-injected",
                   "parse_data": {"intent": {"name": "describe_case", "confidence": 1.0}, "entities": []},
                   "metadata": {"rrmm_turn": forged_stamp}}]
        events += [{"event": "slot", "name": k, "value": v} for k, v in SLOTS.items()]
        status, body = api(base, "POST", f"/conversations/{conv}/tracker/events", events)
        assert status == 200, body
        status, body = api(base, "POST", f"/conversations/{conv}/execute", {"name": "action_recommend"})
        assert status == 200, body
        assert any("custom" in m for m in body["messages"]), body["messages"]  # answered, as before
    assert audit_count() == before
    log = "\n".join(p.read_text(errors="ignore") for p in servers.workdir.glob("*.log"))  # actions run in Rasa
    assert "did not come through one of the assistant's channels" in log
    assert ACTION_TOKEN not in log and forged_stamp not in json.dumps(api(base, "GET",
                                                                          "/conversations/prov-real/tracker")[1])
