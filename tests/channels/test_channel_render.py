"""The native renderings of the rrmm_recommendation payload, and one answer per turn (no servers needed)."""
from __future__ import annotations

import asyncio
import copy
import json

import pytest

from bot.clinical.render import ranked_options, render_text
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
            yield b["type"], e["text"]


def check_slack_limits(msg):
    assert len(msg["blocks"]) <= SLACK_MAX_BLOCKS
    assert len(msg["text"]) <= SLACK_TEXT_CHARS
    for kind, text in slack_texts(msg):
        assert text, kind
        assert len(text) <= {"header": SLACK_HEADER_CHARS, "section": SLACK_SECTION_CHARS,
                             "context": SLACK_CONTEXT_CHARS}[kind]
    for b in msg["blocks"]:
        assert len(b.get("elements", [])) <= 10


def test_slack_blocks_show_assessment_options_cautions_transplant_and_disclaimer(rec):
    msg = render_slack(rec)
    check_slack_limits(msg)
    blocks = msg["blocks"]
    assert blocks[0]["type"] == "header" and blocks[0]["text"]["type"] == "plain_text"
    text = "\n".join(t for _, t in slack_texts(msg))
    for i, o in enumerate(ranked_options(rec)[:6], 1):  # the clinical trial is a headline, not numbered (R4)
        assert f"*{i}. {o['regimen']}*" in text
    for c in rec["cautions"]:
        assert c["id"].replace("_", " ") in text
    if rec["transplant"]:
        assert "*Transplant*" in text
    assert blocks[-1]["type"] == "context" and rec["disclaimer"] in blocks[-1]["elements"][0]["text"]
    if not rec["options"]:
        assert "Options" not in text


def test_renderings_stay_within_platform_limits_for_very_long_answers(rec):
    big = huge(rec)
    check_slack_limits(render_slack(big))
    teams = render_teams(big)
    assert len(json.dumps(teams)) <= TEAMS_MAX_CARD_CHARS + 1000
    assert render_html(big).count('class="rrmm-option"') == 40  # the page has room for everything


def test_teams_card_is_a_well_formed_adaptive_card(rec):
    activity = render_teams(rec)
    card = activity["attachments"][0]["content"]
    assert activity["type"] == "message" and activity["summary"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5" and card["body"]
    for element in card["body"]:
        assert element["type"] in {"TextBlock", "Container"}
        for item in element.get("items", [element]):
            assert item["type"] == "TextBlock" and item["wrap"] is True and item["text"]
    assert rec["disclaimer"] in card["body"][-1]["text"]


def test_data_cannot_inject_markup(rec_of):
    rec = rec_of(prior_lines=2, refractory=["lenalidomide"], fitness="fit", transplant_eligible=False)
    shown = next(c for c in rec["cautions"] if c["severity"] != "info")  # info ones are folded into one line
    shown["text"] = "<script>alert(1)</script> & <!channel> *bold* [link](http://x)"
    page = render_html(rec)
    assert "<script>" not in page and "&lt;script&gt;" in page
    slack = json.dumps(render_slack(rec))
    assert "<!channel>" not in slack and "&lt;!channel&gt;" in slack
    blocks = json.dumps(render_teams(rec)["attachments"][0]["content"]["body"])  # fallbackText is plain text
    assert "[link](http" not in blocks and "\\\\*bold\\\\*" in blocks


def test_plain_text_is_the_text_the_bot_sends(rec):
    assert render_plain(rec) == render_text(rec, max_options=6)
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
    twin = {"text": render_text(rec, max_options=6)}
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


def test_every_channel_shows_trial_headline_tiers_approval_info_line_and_knowledge(rec_of):
    rec = rec_of(**TRIPLE_CLASS)
    info = [c["id"].replace("_", " ") for c in rec["cautions"] if c["severity"] == "info"]
    slack = render_slack(rec)
    text = "\n".join(t for _, t in slack_texts(slack))
    assert "Clinical trial: preferred in this setting" in text and "_Preferred_" in text
    assert "*1. cilta-cel*" in text and "*Approval:* US: approved 2024-04" in text
    assert "Also (info): " + ", ".join(info) in text and "Knowledge as of 2026-12; US labels" in text
    assert "Knowledge as of 2026-12" in slack["text"]
    check_slack_limits(slack)

    card = render_teams(rec)["attachments"][0]["content"]
    texts = list(teams_texts(card))
    assert any("Clinical trial: preferred" in t for t in texts) and "Preferred" in texts
    assert any(t.startswith("**1. cilta-cel**") for t in texts) and any(t.startswith("Approval: US:") for t in texts)
    hidden = next(e for e in card["body"] if e.get("id") == "rrmm-info-cautions")
    assert hidden["isVisible"] is False and len([t for t in hidden["items"] if "because" not in t["text"]]) == len(info)
    assert card["actions"][0]["type"] == "Action.ToggleVisibility"
    assert any(t.startswith("Knowledge as of 2026-12") for t in texts)

    page = render_html(rec)
    assert 'class="rrmm-trial-headline">Clinical trial: preferred' in page
    assert '<h5 class="rrmm-tier">Preferred</h5><ol start="1">' in page and 'data-tier="circumstances"' in page
    assert 'class="rrmm-approval">Approval: US: approved 2024-04' in page
    assert '<details class="rrmm-info-cautions"><summary>Also (info): ' in page
    assert 'class="rrmm-knowledge">Knowledge as of 2026-12; US labels' in page
    assert page.count('class="rrmm-option"') == len([o for o in rec["options"] if o["regimen"] != "trial"])


def test_the_text_twin_is_recognised_under_a_first_line_that_restates_the_case(rec_of):
    rec = rec_of(prior_lines=2, refractory=["lenalidomide"], fitness="fit", transplant_eligible=False)
    assert render_text(rec).startswith("Read as: ") and is_text_twin({"text": render_text(rec)}, rec)
    assert not is_text_twin({"text": "Read as: x\nsomething\n" + render_text(rec)[len(rec["read_as"]) + 9:]}, rec)
    assert not is_text_twin({"text": "What is KPd?"}, rec)


def test_every_rendering_shows_the_read_as_line_first(rec):
    line = rec["read_as"]
    assert line and render_plain(rec).startswith("Read as: " + line)
    slack = render_slack(rec)
    assert slack["blocks"][1]["text"]["text"] == "*Read as:* " + slack_escape(line)
    assert slack["text"].split("\n")[1].startswith("*Read as:*")  # after the title line of the notification
    card = render_teams(rec)["attachments"][0]["content"]
    assert card["body"][1]["text"] == "**Read as:** " + teams_escape(line)
    html_out = render_html(rec)
    assert html_out.index("rrmm-read-as") < html_out.index("rrmm-assessment")
