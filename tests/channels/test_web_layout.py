"""Where a recommendation lands in the web chat (issue 21), in Debian's chromium, at 1280x800 and 375x667.

The page is web/static's chat (rrmm-chat.js, rrmm-chat.css) over a stand-in of the socket.io server that answers
with exactly what the web chat channel sends for a turn (WebChatOutput over the engine's recommendation), so the
layout is tested without a Rasa model. After a conversation long enough to scroll, a new recommendation must show
its first line at the top of the conversation and its first option inside the visible part of it; "Show details"
opens and closes from the keyboard; the answer's buttons send their layer; a correction's "Changed: ..." comes
first. Screenshots go to test-output/channels/layout-*.png.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import threading

import pytest

from bot.clinical.short import render_short
from bot.plugins.channels.webchat import WebChatOutput

from .support import CASE, OUTPUT, ForeignSite
from .test_web_widget import _Sio

STATIC = OUTPUT.parents[1] / "web" / "static"
CASE_SLOTS = dict(prior_lines=2, refractory=["lenalidomide", "daratumumab"], exposed=["bortezomib"], fitness="fit",
                  transplant_eligible=False, age=68)
CORRECTION = "she is frail actually"
STUB_IO = """
window.RRMM_SENT = [];
window.io = function () {
  var on = {};
  var sock = {
    on: function (ev, fn) { on[ev] = fn; return sock; },
    emit: function (ev, data) {
      if (ev === "session_request") {
        setTimeout(function () { on.session_confirm({session_id: "0123456789abcdef0123456789abcdef"}); }, 0);
      } else if (ev === "user_uttered") {
        window.RRMM_SENT.push(data.message);
        var replies = window.RRMM_REPLIES[data.message] || window.RRMM_REPLIES["*"];
        replies.forEach(function (m, i) { setTimeout(function () { on.bot_uttered(m); }, 20 * (i + 1)); });
      }
    }
  };
  setTimeout(function () { on.connect(); }, 0);
  return sock;
};
"""
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>RRMM assistant</title><link rel="stylesheet" href="/rrmm-chat.css"></head>
<body class="rrmm-page"><main><div id="rrmm-chat"></div></main>
<script src="/replies.js"></script><script src="/stub-io.js"></script><script src="/rrmm-chat.js"></script>
</body></html>"""
LONG_FIRST = "a turn whose recommendation follows a long text"
FILLER = ("Earlier in the conversation: " + "a long answer about another regimen, its trials and its cautions. " * 12)


def _turn(messages):
    """What the web chat channel emits for a turn of these bot messages (the rich message first, as it sends)."""
    out = WebChatOutput(_Sio(), "bot_uttered")

    async def go():
        out.begin_turn()
        for m in messages:
            await out.send_response("s1", dict(m))
        await out.end_turn()

    worker = threading.Thread(target=asyncio.run, args=(go(),))  # playwright's sync API runs a loop in this thread
    worker.start()
    worker.join()
    return [data for _, data in out.sio.sent]


def _rec(**fields):
    from bot.clinical.engine import recommend
    from bot.clinical.models import parse_case

    return recommend(parse_case(dict(fields, relapse="clinical")))


@pytest.fixture(scope="module")
def site():
    from bot.clinical.changes import what_changed

    OUTPUT.mkdir(parents=True, exist_ok=True)
    rec = _rec(**CASE_SLOTS)
    frail = _rec(**dict(CASE_SLOTS, fitness="frail"))

    def answer(r, first=()):
        return _turn([*first, {"text": render_short(r)},
                      {"custom": {"type": "rrmm_recommendation", "recommendation": r}}])

    replies = {
        CASE: answer(rec),
        CORRECTION: answer(frail, [{"text": what_changed(rec, frail)}]),
        "*": [{"text": FILLER}],
        LONG_FIRST: [*_turn([{"text": FILLER}]), *answer(rec)],
    }
    s = ForeignSite()
    for name, kind in (("rrmm-chat.js", "text/javascript"), ("rrmm-chat.css", "text/css")):
        s.add(f"/{name}", (STATIC / name).read_bytes(), kind)
    s.add("/stub-io.js", STUB_IO, "text/javascript")
    s.add("/replies.js", "window.RRMM_REPLIES = " + json.dumps(replies) + ";", "text/javascript")
    url = s.add("/chat/index.html", PAGE)
    yield url, rec
    s.stop()


@contextlib.contextmanager
def _phone_page_with_answer(browser, url, text=CASE):
    """A phone-sized page (375x667) that has sent the case (or `text`) and shows its first screen; closed afterwards."""
    context = browser.new_context(viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(url)
        page.wait_for_selector(".rrmm-status[data-state=online]", timeout=20000)
        _say(page, text)
        page.wait_for_selector(".rrmm-rec .rrmm-first li", timeout=20000)
        yield context, page
    finally:
        context.close()


def _say(page, text):
    page.fill("#rrmm-input", text)
    page.keyboard.press("Enter")


def _boxes(page):
    """The visible part of the conversation, the newest recommendation's top and its first option (viewport px)."""
    return page.evaluate("""() => {
        const recs = document.querySelectorAll('.rrmm-bot-rec');
        const rec = recs[recs.length - 1];
        const box = (e) => { const r = e.getBoundingClientRect(); return {top: r.top, bottom: r.bottom}; };
        return {log: box(document.querySelector('.rrmm-log')), rec: box(rec),
                first: box(rec.querySelector('.rrmm-first li')), height: window.innerHeight,
                scrolled: document.querySelector('.rrmm-log').scrollTop};
    }""")


@pytest.mark.slow
@pytest.mark.parametrize("name,viewport", [("desktop", {"width": 1280, "height": 800}),
                                           ("phone", {"width": 375, "height": 667})])
def test_a_new_recommendation_shows_its_first_line_and_first_option(browser, site, name, viewport):
    url, rec = site
    context = browser.new_context(viewport=viewport, is_mobile=name == "phone", has_touch=name == "phone")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(url)
        page.wait_for_selector(".rrmm-status[data-state=online]", timeout=20000)
        for i in range(3):  # a conversation long enough to scroll
            _say(page, f"question {i}")
            page.wait_for_function(  # its answer, not the "answering" dots
                f"() => document.querySelectorAll('.rrmm-bot:not(.rrmm-pending)').length >= {i + 1}")
        _say(page, CASE)
        page.wait_for_selector(".rrmm-rec .rrmm-first li", timeout=20000)
        page.wait_for_timeout(300)
        b = _boxes(page)
        page.screenshot(path=str(OUTPUT / f"layout-{name}.png"))
        assert b["scrolled"] > 0, "the conversation scrolled to the new answer"
        # its first line in view at the top (or all of it in view when it is shorter than the conversation's height)
        assert b["log"]["top"] - 1 <= b["rec"]["top"], b
        assert b["rec"]["top"] - b["log"]["top"] <= 24 or b["rec"]["bottom"] <= b["log"]["bottom"], b
        assert b["log"]["top"] <= b["first"]["top"] and b["first"]["bottom"] <= min(b["log"]["bottom"], b["height"]), \
            f"the first option is not in view: {b}"
        first = page.locator(".rrmm-rec .rrmm-first li").first.inner_text()
        assert first.startswith(rec["options"][0]["regimen"])
        assert not errors, errors
    finally:
        context.close()
    assert (OUTPUT / f"layout-{name}.png").stat().st_size > 10000


@pytest.mark.slow
def test_show_details_works_from_the_keyboard_and_the_buttons_ask_for_a_layer(browser, site):
    url, rec = site
    with _phone_page_with_answer(browser, url) as (context, page):
        details = page.locator(".rrmm-rec .rrmm-details")
        assert details.evaluate("e => e.open") is False and page.locator(".rrmm-rec .rrmm-cautions").is_hidden()
        page.focus(".rrmm-rec .rrmm-details summary")
        page.keyboard.press("Enter")
        assert details.evaluate("e => e.open") is True and page.locator(".rrmm-rec .rrmm-cautions").is_visible()
        assert "Ruled out" in page.inner_text(".rrmm-rec .rrmm-details")
        page.keyboard.press(" ")
        assert details.evaluate("e => e.open") is False
        # what a screen reader is given (Chromium's accessibility tree): a named control that says it is collapsed
        cdp = context.new_cdp_session(page)
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
        summary = next(n for n in nodes if (n.get("name") or {}).get("value") == "Show details"
                       and n.get("role", {}).get("value") not in ("StaticText", "InlineTextBox"))
        props = {p["name"]: p["value"].get("value") for p in summary.get("properties", [])}
        assert props.get("expanded") is False and props.get("focusable") is True, (summary["role"], props)
        page.click(".rrmm-rec .rrmm-ask >> text=Cautions")
        page.wait_for_function("() => window.RRMM_SENT.length === 2")
        assert page.evaluate("() => window.RRMM_SENT[1]") == "/ask_cautions"
        assert page.locator(".rrmm-user").last.inner_text() == "Cautions"  # the label, not the payload


@pytest.mark.slow
def test_a_correction_shows_what_changed_first_with_the_new_first_option_in_view(browser, site):
    url, _ = site
    with _phone_page_with_answer(browser, url) as (context, page):
        _say(page, CORRECTION)
        page.wait_for_function("() => document.querySelectorAll('.rrmm-bot-rec').length === 2", timeout=20000)
        page.wait_for_timeout(300)
        change = page.locator(".rrmm-bot", has_text="Changed: now frail (was fit)").last
        top = change.evaluate("e => e.getBoundingClientRect().top - document.querySelector('.rrmm-log')"
                              ".getBoundingClientRect().top")
        assert -1 <= top, "the change is in view"
        assert top <= 24 or change.evaluate("e => e.getBoundingClientRect().top") < 200, "the change is in view first"
        b = _boxes(page)
        page.screenshot(path=str(OUTPUT / "layout-correction-phone.png"))
        # below the change, the new first option starts in view (its first line at least, on a phone)
        assert b["first"]["top"] + 20 <= min(b["log"]["bottom"], b["height"]), f"the new first option is in view: {b}"


@pytest.mark.slow
def test_a_long_text_before_the_recommendation_does_not_push_its_first_line_out_of_view(browser, site):
    """A turn whose recommendation follows a long text (a late answer to the message before, say): the first option
    is what a phone shows, not the text above it."""
    url, _ = site
    with _phone_page_with_answer(browser, url, LONG_FIRST) as (_, page):
        page.wait_for_timeout(300)
        b = _boxes(page)
        assert b["log"]["top"] - 1 <= b["rec"]["top"] <= b["log"]["top"] + 24, b
        assert b["first"]["bottom"] <= min(b["log"]["bottom"], b["height"]), f"the first option is not in view: {b}"
