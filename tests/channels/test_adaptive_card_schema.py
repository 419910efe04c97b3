"""The Teams cards are valid Adaptive Cards 1.5: checked against the official JSON schema, shipped in the repository
(schemas/adaptive-card-1.5.json, from github.com/microsoft/AdaptiveCards; nothing is fetched when the tests run)."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from bot.plugins.channels.render import ADAPTIVE_CARD_VERSION, TEAMS_MAX_CARD_CHARS, render_teams

from .test_channel_render import CASES, huge

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "adaptive-card-1.5.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft6Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
# Teams' own card property (full-width cards), documented by Microsoft for Teams and not part of the schema
TEAMS_EXTENSIONS = {"msteams": {"width": "Full"}}
MORE_CASES = {
    "biochemical relapse": dict(prior_lines=1, relapse="biochemical", fitness="fit", transplant_eligible=False),
    "intermediate fitness, 3 lines": dict(prior_lines=3, refractory=["lenalidomide", "bortezomib"],
                                          fitness="intermediate", transplant_eligible=False),
}


def schema_errors(card):
    card = copy.deepcopy(card)
    for key, value in TEAMS_EXTENSIONS.items():
        if key in card:
            assert card.pop(key) == value
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in VALIDATOR.iter_errors(card)]


def card_of(rec):
    activity = render_teams(rec)
    assert len(activity["attachments"]) == 1
    attachment = activity["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    return attachment["content"]


def test_the_shipped_schema_is_the_adaptive_card_schema_and_catches_mistakes():
    jsonschema.Draft6Validator.check_schema(SCHEMA)
    assert SCHEMA["id"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    good = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "x", "wrap": True}]}
    assert schema_errors(good) == []
    for bad in ({"type": "TextBlock", "text": "x", "color": "Purple"}, {"type": "TextBlok", "text": "x"},
                {"type": "TextBlock", "text": "x", "weight": "Heavy"}, {"type": "Container", "items": "x"}):
        assert schema_errors({**good, "body": [bad]}), bad
    assert schema_errors({**good, "msTeams": {}})  # unknown card properties are refused


@pytest.mark.parametrize("case", sorted({**CASES, **MORE_CASES}))
def test_cards_are_valid_adaptive_cards_1_5(rec_of, case):
    rec = rec_of(**{**CASES, **MORE_CASES}[case])
    card = card_of(rec)
    assert card["version"] == ADAPTIVE_CARD_VERSION == "1.5"
    assert schema_errors(card) == []
    assert len(json.dumps(card)) <= TEAMS_MAX_CARD_CHARS
    if rec["initiation"]["action"] == "monitor":
        assert not rec["options"] and "Options (ranked)" not in json.dumps(card)


@pytest.mark.parametrize("case", sorted(CASES))
def test_long_cards_are_shortened_and_stay_valid(rec_of, case):
    big = huge(rec_of(**CASES[case]))
    card = card_of(big)
    assert schema_errors(card) == []
    assert len(json.dumps(card)) <= TEAMS_MAX_CARD_CHARS
