"""The native renderings of the rrmm_recommendation payload, and one answer per turn (no servers needed)."""
from __future__ import annotations

import asyncio
import copy
import json
import re

import pytest

from bot.clinical.kb import kb
from bot.clinical.render import ranked_options, render_text
from bot.clinical.short import first_screen, render_short
from bot.plugins.channels.base import TurnOutput
from bot.plugins.channels.render import (
    SLACK_CONTEXT_CHARS,
    SLACK_HEADER_CHARS,
    SLACK_MAX_BLOCKS,
    SLACK_SECTION_CHARS,
    SLACK_TEXT_CHARS,
    TEAMS_MAX_CARD_CHARS,
    is_text_twin,
    render_for,
    render_html,
    render_plain,
    render_slack,
    render_teams,
    slack_escape,
    split_text,
    teams_escape,
)

CASES = {
    "len-dara refractory": dict(prior_lines=2, refractory=["lenalidomide", "daratumumab"], fitness="fit",
                                transplant_eligible=False, ldh_elevated=True),
    "first relapse, transplant": dict(prior_lines=1, fitness="fit", transplant_eligible=True, prior_auto_hct=1,
                                      months_remission_after_hct=40),
    "penta-refractory frail": dict(prior_lines=5, fitness="frail", transplant_eligible=False,
                                   refractory=["lenalidomide", "pomalidomide", "bortezomib", "carfilzomib",
                                               "daratumumab"]),
    "no relapse": dict(prior_lines=1, relapse="none", fitness="fit", transplant_eligible=False),
}


@pytest.fixture(params=sorted(CASES))
def rec(request, rec_of):
    return rec_of(**CASES[request.param])


def huge(rec):
    """The recommendation blown up far beyond anything the catalog gives, to test the platform limits."""
    big = copy.deepcopy(rec)
    base = big["options"][0] if big["options"] else {"regimen": "X", "name": "x", "components": [], "preferred": False,
                                                     "rationale": ["r"], "trials": [], "cautions": []}
    big["options"] = [dict(base, regimen=f"R{i}", name="n " * 400, rationale=["why " * 900, "ranked lower " * 300])
                      for i in range(40)]
    big["cautions"] = [{"id": f"c{i}", "severity": "high", "text": "t " * 900, "because": ["b " * 400]}
                       for i in range(60)]
    big["assessment"]["notes"] = ["note " * 700]
    big["initiation"]["text"] = "start " * 700
    return big


def slack_texts(msg):
    for b in msg["blocks"]:
        if "text" in b:
            yield b["type"], b["text"]["text"]
        for e in b.get("elements", []):
            yield (e["type"], e["text"]["text"]) if e["type"] == "button" else (b["type"], e["text"])


def check_slack_limits(msg):
    assert len(msg["blocks"]) <= SLACK_MAX_BLOCKS
    assert len(msg["text"]) <= SLACK_TEXT_CHARS
    for kind, text in slack_texts(msg):
        assert text, kind
        assert len(text) <= {"header": SLACK_HEADER_CHARS, "section": SLACK_SECTION_CHARS,
                             "context": SLACK_CONTEXT_CHARS, "button": 75}[kind]
    for b in msg["blocks"]:
        assert len(b.get("elements", [])) <= 10


def _first_codes(rec):
    return [(rank, code) for _, group in first_screen(rec).options for rank, code, _ in group]


def test_slack_message_is_the_first_screen_with_buttons_for_the_rest(rec):
    msg = render_slack(rec)
    check_slack_limits(msg)
    blocks = msg["blocks"]
    assert blocks[0]["type"] == "header" and blocks[0]["text"]["type"] == "plain_text"
    text = "\n".join(t for _, t in slack_texts(msg))
    for rank, code in _first_codes(rec):  # the clinical trial is a headline, not numbered (R4)
        assert f"*{rank}. {code}*" in text
    assert ranked_options(rec) == [] or _first_codes(rec)[0] == (1, ranked_options(rec)[0]["regimen"])
    for c in rec["cautions"]:
        if c["severity"] == "high":
            assert kb().cautions[c["id"]].title in text
    sections = "\n".join(t for kind, t in slack_texts(msg) if kind == "section").replace(":red_circle:", "")
    assert not re.search(r"\b[a-z]+(?:_[a-z0-9]+)+\b|\bS[1-6]\b", sections)  # no caution or setting ids
    buttons = next(b for b in blocks if b["type"] == "actions")["elements"]
    assert buttons[0]["text"]["text"] == "Show details" and buttons[0]["style"] == "primary"
    assert buttons[0]["value"] == '/show_more{"section": "details"}'
    titles = [b["text"]["text"] for b in buttons]
    assert ("Transplant" in titles) == bool(rec["transplant"]) and ("All options" in titles) == bool(rec["options"])
    assert len(set(titles)) == len(titles)  # each label once
    assert blocks[-1]["type"] == "context" and rec["disclaimer"] in blocks[-1]["elements"][0]["text"]
    assert msg["text"] == slack_escape(render_short(rec))


def test_renderings_stay_within_platform_limits_for_very_long_answers(rec):
    big = huge(rec)
    check_slack_limits(render_slack(big))
    teams = render_teams(big)
    assert len(json.dumps(teams)) <= TEAMS_MAX_CARD_CHARS + 1000
    details = render_html(big).split('<details class="rrmm-details">')[1]
    assert details.count('class="rrmm-option"') == 40  # the page has room for everything, folded


def _teams_leaves(elements):
    for element in elements:
        if element["type"] == "Container":
            yield from _teams_leaves(element["items"])
        else:
            yield element


def test_teams_card_is_a_well_formed_adaptive_card_with_show_details(rec):
    activity = render_teams(rec)
    card = activity["attachments"][0]["content"]
    assert activity["type"] == "message" and activity["summary"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5" and card["body"]
    for item in _teams_leaves(card["body"]):
        assert item["type"] == "TextBlock" and item["wrap"] is True and item["text"]
    assert rec["disclaimer"] in card["body"][-1]["text"]
    toggle = card["actions"][0]
    assert toggle == {"type": "Action.ToggleVisibility", "title": "Show details", "targetElements": ["rrmm-details"]}
    hidden = next(e for e in card["body"] if e.get("id") == "rrmm-details")
    assert hidden["isVisible"] is False
    shown = [t["text"] for e in card["body"] if e.get("id") != "rrmm-details" for t in _teams_leaves([e])]
    assert len("\n".join(shown)) <= 1200 + 200  # the first screen, with the card's title and markup
    asks = [a["data"]["msteams"]["value"] for a in card["actions"][1:]]
    assert all(a["type"] == "Action.Submit" for a in card["actions"][1:]) and "cautions" in asks
    assert ("transplant" in asks) == bool(rec["transplant"])


def test_data_cannot_inject_markup(rec_of):
    rec = rec_of(prior_lines=2, refractory=["lenalidomide"], fitness="fit", transplant_eligible=False)
    shown = next(c for c in rec["cautions"] if c["severity"] != "info")  # in the folded details
    shown["text"] = "<script>alert(1)</script> & <!channel> *bold* [link](http://x)"
    rec["initiation"]["text"] = shown["text"]  # on the first screen
    page = render_html(rec)
    assert "<script>" not in page and "&lt;script&gt;" in page
    slack = json.dumps(render_slack(rec))
    assert "<!channel>" not in slack and "&lt;!channel&gt;" in slack
    blocks = json.dumps(render_teams(rec)["attachments"][0]["content"]["body"])  # fallbackText is plain text
    assert "[link](http" not in blocks and "\\\\*bold\\\\*" in blocks


def test_plain_text_is_the_short_answer_the_bot_sends(rec):
    assert render_plain(rec) == render_short(rec)
    assert render_for("rest", {"type": "rrmm_recommendation", "recommendation": rec}) == render_plain(rec)
    assert render_for("cmdline", {"type": "rrmm_recommendation", "recommendation": rec}) == render_plain(rec)
    assert render_for("slack", {"type": "something else"}) is None


def test_split_text_keeps_every_character_within_the_limit():
    text = "\n".join(f"line {i} " + "x" * (i * 37 % 300) for i in range(200))
    parts = split_text(text, 1000)
    assert all(len(p) <= 1000 for p in parts)
    assert "".join(parts).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(" ", "")


class _Sink:
    async def send_response(self, recipient_id, message):
        self.sent.append(message)


class FakeChannel(TurnOutput, _Sink):
    """A TurnOutput over a channel that records what it sends."""

    def __init__(self, fail=False):
        self.sent, self.fail = [], fail

    def render_native(self, rec):
        if self.fail:
            raise KeyError("options")
        return "native"


def run_turn(out, messages):
    async def go():
        out.begin_turn()
        for m in messages:
            await out.send_response("u1", dict(m))
        await out.end_turn()
    asyncio.run(go())
    return out.sent


def test_one_answer_per_turn(rec_of):
    rec = rec_of(prior_lines=2, refractory=["lenalidomide"], fitness="fit", transplant_eligible=False)
    payload = {"custom": {"type": "rrmm_recommendation", "recommendation": rec}}
    twin = {"text": render_short(rec)}
    notice = {"text": "Please don't share patient identifiers."}
    assert is_text_twin(twin, rec) and not is_text_twin(notice, rec)
    assert run_turn(FakeChannel(), [notice, twin, payload]) == [notice, payload]
    # a payload that cannot be rendered: the text stays, the payload goes
    assert run_turn(FakeChannel(fail=True), [twin, payload]) == [twin]
    # other turns are untouched, and order is kept
    question = {"text": "How many prior lines?", "buttons": [{"title": "1", "payload": "1"}]}
    assert run_turn(FakeChannel(), [notice, question]) == [notice, question]


# ---- 2026 edition: what every channel shows (clinical-spec R4, R8, section 5 rendering, section 8) -------------
TRIPLE_CLASS = dict(prior_lines=4, fitness="fit", refractory=["lenalidomide", "bortezomib", "daratumumab"],
                    exposed=["pomalidomide", "carfilzomib"], transplant_eligible=False)


def teams_texts(card):
    for element in card["body"]:
        for item in element.get("items", [element]):
            yield item["text"]


def test_every_channel_shows_the_same_first_screen_and_folds_the_rest(rec_of):
    rec = rec_of(**TRIPLE_CLASS)
    first = _first_codes(rec)
    slack = render_slack(rec)
    text = "\n".join(t for _, t in slack_texts(slack))
    assert "Clinical trial: preferred in this setting" in text and "_Preferred_" in text
    assert "*1. cilta-cel*, ciltacabtagene autoleucel (BCMA CAR-T): " in text and "US: approved 2024-04." in text
    assert "Knowledge 2026-12." in text
    check_slack_limits(slack)

    card = render_teams(rec)["attachments"][0]["content"]
    texts = [t["text"] for t in _teams_leaves(card["body"])]
    assert any("Clinical trial: preferred" in t for t in texts) and "Preferred" in texts
    assert [t for t in texts if t.startswith("**1. cilta-cel**")]
    hidden = next(e for e in card["body"] if e.get("id") == "rrmm-details")
    folded = [t["text"] for t in _teams_leaves(hidden["items"])]
    assert any(t.startswith("Approval: US: accelerated approval") for t in folded)
    assert any(t.startswith("Knowledge as of 2026-12") for t in folded)
    assert len([t for t in folded if t.startswith("**") and ". " in t[:8]]) == len(ranked_options(rec))

    page = render_html(rec)
    head, details = page.split('<details class="rrmm-details"><summary>Show details</summary>')
    assert 'class="rrmm-trial-headline">Clinical trial: preferred' in head
    assert head.count('class="rrmm-option"') == len(first) and '<h4 class="rrmm-tier">Preferred</h4><ol start="1">' \
        in head
    assert '<h5 class="rrmm-tier">Preferred</h5><ol start="1">' in details and 'data-tier="circumstances"' in details
    assert 'class="rrmm-approval">Approval: US: accelerated approval' in details
    assert 'class="rrmm-knowledge">Knowledge as of 2026-12; US labels' in details
    assert details.count('class="rrmm-option"') == len(ranked_options(rec))
    transplant = 'data-say="/show_more{&quot;section&quot;: &quot;transplant&quot;}">Transplant</button>'
    assert (transplant in page) == bool(rec["transplant"])
    assert '<button type="button" class="rrmm-ask" data-say="/ask_cautions">Cautions</button>' in page


def test_the_text_twin_is_recognised_under_a_first_line_that_restates_the_case(rec_of):
    rec = rec_of(prior_lines=2, refractory=["lenalidomide"], fitness="fit", transplant_eligible=False)
    assert render_text(rec).startswith("Read as: ") and is_text_twin({"text": render_text(rec)}, rec)
    assert is_text_twin({"text": render_short(rec)}, rec)
    assert not is_text_twin({"text": "Read as: x\nsomething\n" + render_text(rec)[len(rec["read_as"]) + 9:]}, rec)
    assert not is_text_twin({"text": "What is KPd?"}, rec)


def test_every_rendering_shows_the_read_as_line_first(rec):
    line = rec["read_as"]
    assert line and render_plain(rec).startswith("Read as: " + line)
    slack = render_slack(rec)
    assert slack["blocks"][1]["text"]["text"] == "*Read as:* " + slack_escape(line)
    assert slack["text"].startswith("Read as: ")
    card = render_teams(rec)["attachments"][0]["content"]
    assert card["body"][1]["text"] == "**Read as:** " + teams_escape(line)
    html_out = render_html(rec)
    assert html_out.index("rrmm-read-as") < html_out.index("rrmm-assessment")
    if rec["options"]:
        assert html_out.index("rrmm-read-as") < html_out.index("rrmm-first") < html_out.index("rrmm-details")
