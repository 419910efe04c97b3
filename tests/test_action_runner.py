"""Where the custom actions run (bot/plugins/action_runner.py through the one patch of RemoteAction.run): inside the
Rasa process by default, on the action server of RRMM_ACTION_URL for scale-out. The same action gives the same
answer both ways (an action server started here, no Rasa server or model needed)."""
from __future__ import annotations

import asyncio

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import EndpointConfig

from bot import audit
from bot.advice import advise
from bot.clinical.short import render_short
from bot.plugins import action_runner, tokens
from bot.plugins.errors import ConfigError
from bot.plugins.patches import install
from tools.servers import ACTION_TOKEN, ROOT

install("rasa")
DOMAIN = Domain.load(str(ROOT / "domain.yml"))
CASE = {"relapse": "clinical", "prior_lines": 2, "refractory": ["daratumumab", "lenalidomide"], "fitness": "fit",
        "transplant_eligible": False, "age": 68}
ONE_SHOT = "68M, 2 prior lines, refractory to lenalidomide and daratumumab, fit, not transplant eligible"


def tracker(sender: str, slots=None, text=ONE_SHOT, intent="describe_case") -> DialogueStateTracker:
    """A conversation whose latest message came through the REST channel, stamped as the Rasa server stamps it
    (bot.audit.provenance; the test servers share ACTION_TOKEN, which keys the stamp when no turn secret is set)."""
    stamp = {audit.STAMP_KEY: audit.stamp(ACTION_TOKEN, sender, "rest", "m1")}
    events = [ActionExecuted("action_listen"),
              UserUttered(text, {"name": intent, "confidence": 1.0}, message_id="m1", input_channel="rest",
                          metadata=stamp),
              *[SlotSet(k, v) for k, v in (slots or {}).items()]]
    return DialogueStateTracker.from_events(sender, events, slots=DOMAIN.slots)


def run(name: str, t: DialogueStateTracker, endpoint=None):
    out = CollectingOutputChannel()
    nlg = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
    return asyncio.run(RemoteAction(name, endpoint).run(out, nlg, t, DOMAIN))


def comparable(events):
    return [{k: v for k, v in e.as_dict().items() if k != "timestamp"} for e in events]


def test_without_an_action_server_the_recommendation_action_runs_in_this_process(monkeypatch, tmp_path):
    monkeypatch.delenv("RRMM_ACTION_URL", raising=False)
    monkeypatch.delenv("RRMM_TURN_SECRET", raising=False)
    monkeypatch.setenv("RRMM_ACTION_TOKEN", ACTION_TOKEN)
    monkeypatch.setenv("RRMM_AUDIT_DB", str(tmp_path / "audit.db"))
    events = run("action_recommend", tracker("inproc-1", CASE))
    said = [e for e in events if isinstance(e, BotUttered)]
    expected = advise(CASE, channel="rest", audit=False).recommendation
    assert said[0].text == render_short(expected)  # the short answer first (issue 21)
    assert said[1].data["custom"] == {"type": "rrmm_recommendation", "recommendation": expected}
    assert any(isinstance(e, SlotSet) and e.key == "recommended_case" for e in events)
    (row,) = audit.rows()
    assert row["channel"] == "rest" and row["offered"] == [o["regimen"] for o in expected["options"]]


def test_the_same_action_gives_the_same_answer_in_process_and_on_the_action_server(action_server, monkeypatch,
                                                                                   tmp_path):
    monkeypatch.delenv("RRMM_ACTION_URL", raising=False)
    monkeypatch.delenv("RRMM_TURN_SECRET", raising=False)
    monkeypatch.setenv("RRMM_ACTION_TOKEN", ACTION_TOKEN)
    monkeypatch.setenv("RRMM_AUDIT_DB", str(tmp_path / "audit.db"))
    remote = EndpointConfig(action_server.action_url, headers={"Authorization": f"Bearer {ACTION_TOKEN}"})
    for name, slots, text, intent in (
            ("action_recommend", CASE, ONE_SHOT, "describe_case"),
            ("validate_case_form", {"relapse": "clinical"}, "2 prior lines, refractory to len", "inform"),
            ("action_why_not", CASE, "why not KRd?", "ask_why_not"),
            ("action_case_summary", CASE, "summary", "ask_summary")):
        here = run(name, tracker("parity", slots, text, intent))
        there = run(name, tracker("parity", slots, text, intent), remote)
        assert comparable(here) == comparable(there), name
        assert here, name


def test_rrmm_action_url_sends_the_actions_to_that_server_with_the_action_token(action_server, monkeypatch):
    monkeypatch.setenv("RRMM_ACTION_URL", action_server.action_url)
    monkeypatch.setenv("RRMM_ACTION_TOKEN", ACTION_TOKEN)
    endpoint = action_runner.remote_endpoint(action_runner.action_url())
    assert endpoint.url == action_server.action_url and endpoint.headers == {"Authorization": f"Bearer {ACTION_TOKEN}"}
    assert ACTION_TOKEN not in endpoint.url  # a header, never in the URL (access logs)
    events = run("action_recommend", tracker("remote-1", CASE))  # no endpoint configured: the variable decides
    assert any(isinstance(e, BotUttered) and (e.data or {}).get("custom") for e in events)
    assert tokens.token("action")[0] == ACTION_TOKEN


@pytest.mark.parametrize("value", ["localhost:5055/webhook", "ftp://x/webhook", "http://"])
def test_a_wrong_rrmm_action_url_is_a_clear_error_naming_the_variable(value):
    with pytest.raises(ConfigError) as caught:
        action_runner.action_url({"RRMM_ACTION_URL": value})
    assert str(caught.value) == ("RRMM_ACTION_URL must be the action server's URL, starting with http:// or https:// "
                                 "(e.g. http://127.0.0.1:5055/webhook)")  # the rule, never the value sent


def test_an_invalid_rrmm_region_stops_the_in_process_actions_at_start(monkeypatch):
    monkeypatch.setenv("RRMM_REGION", "Mars")
    with pytest.raises(ConfigError, match="^RRMM_REGION must be one of US, EU"):
        action_runner._make_executor()


def test_an_unknown_action_is_an_error_naming_it(monkeypatch):
    monkeypatch.delenv("RRMM_ACTION_URL", raising=False)
    with pytest.raises(RasaException, match="action_does_not_exist"):
        asyncio.run(action_runner.run_in_process(RemoteAction("action_does_not_exist", None),
                                                 CollectingOutputChannel(),
                                                 TemplatedNaturalLanguageGenerator(DOMAIN.responses),
                                                 tracker("unknown"), DOMAIN))


def test_the_project_endpoints_name_no_action_server():
    text = (ROOT / "endpoints.yml").read_text(encoding="utf-8")
    assert "action_endpoint" not in text.split("#")[0] and "\naction_endpoint:" not in text


def test_the_domain_is_copied_for_an_action_once_per_model_and_never_fingerprinted_per_call(monkeypatch):
    """Rasa sends the domain with every action call; in this process it is serialised once per domain and found
    again by identity: Domain's own hash fingerprints the whole domain (about 2.5 ms, most of an action's cost)."""
    built, hashed = [], []
    as_dict, fingerprint = Domain.as_dict, Domain.__hash__
    monkeypatch.setattr(Domain, "as_dict", lambda self: built.append(1) or as_dict(self))
    monkeypatch.setattr(Domain, "__hash__", lambda self: hashed.append(1) or fingerprint(self))
    monkeypatch.setattr(action_runner, "_domains", {})
    for _ in range(3):
        run("action_trial_info", tracker("dom-1", text="what did CANDOR show", intent="trial_info"))
    assert (len(built), len(hashed)) == (1, 0)
    other = Domain.from_dict({**DOMAIN.as_dict(), "responses": {**DOMAIN.as_dict()["responses"],
                                                                "utter_rrmm_test_only": [{"text": "a new model"}]}})
    assert "utter_rrmm_test_only" in action_runner._domain_json(other)["responses"], "a new model's domain is its own"
    assert "utter_rrmm_test_only" not in action_runner._domain_json(DOMAIN)["responses"]
