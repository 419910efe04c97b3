"""The one-tag web widget, the chat on a phone, accessibility and third-party Rasa widgets, in Debian's chromium.

- (a) the widget (`<script src=".../chat/embed.js" data-server=... defer>`) on a page of another origin (its own
  port, with a strict Content-Security-Policy, hostile CSS, and its own `io` and AMD `define`) gets a
  recommendation, shown once, with "Copy to note"; keyboard access and focus;
- (b) a 375x667 phone viewport: the widget and the page /chat/ without horizontal scrolling (screenshots);
- (c) axe-core (from the npm registry, run in the page) finds no serious or critical violation in either;
- (d) the `rasa-webchat` widget (from the npm registry, served from the other origin) shows the recommendation's
  text, which the web chat sends as a standard Rasa text message.
Screenshots and axe results go to test-output/channels/. The npm packages are fetched with `npm pack` into
test-output/npm (skipped, saying why, only when npm or its registry cannot be reached).
"""
from __future__ import annotations

import asyncio
import json
import re

import pytest

from bot.clinical.note import NOTE_MAX_CHARS
from bot.plugins.channels.webchat import WebChatOutput

from .support import CASE, OUTPUT, ForeignSite, npm_package

AXE = ("axe-core", "4.14.1")
RASA_WEBCHAT = ("rasa-webchat", "1.0.1")
SERIOUS = ("serious", "critical")
HOSTILE_CSS = """
html { font-size: 8px !important; }
* { font-family: "Comic Sans MS", cursive !important; color: #f0f !important; letter-spacing: 3px !important; }
button { display: none !important; }
div, p, section { border: 4px dashed red !important; margin: 30px !important; }
rrmm-assistant { display: none; opacity: .1; }
"""
PAGE_JS = """
window.io = function pagesOwnSocketIo() {};
window.define = function pagesOwnAmdDefine() {};
window.define.amd = {};
"""


# ---- the messages the web chat sends: standard Rasa types, the rich one first ------------------------------------
class _Sio:
    def __init__(self):
        self.sent = []

    async def emit(self, event, data, room=None):
        self.sent.append((event, data))


def test_the_web_chat_sends_standard_rasa_messages_with_the_rich_one_first(rec_of):
    from bot.clinical.note import render_note
    from bot.clinical.render import render_text

    rec = rec_of(prior_lines=2, refractory=["lenalidomide", "daratumumab"], fitness="fit", transplant_eligible=False)
    out = WebChatOutput(_Sio(), "bot_uttered")
    text = render_text(rec, max_options=6)

    async def turn():
        out.begin_turn()
        await out.send_response("s1", {"text": "Please don't share patient identifiers."})
        await out.send_response("s1", {"text": text})
        await out.send_response("s1", {"custom": {"type": "rrmm_recommendation", "recommendation": rec}})
        await out.send_response("s1", {"text": "Which one?", "buttons": [{"title": "KPd", "payload": "/why"}]})
        await out.end_turn()

    asyncio.run(turn())
    sent = [data for event, data in out.sio.sent]
    assert all(event == "bot_uttered" for event, _ in out.sio.sent)
    assert sent[0] == {"text": "Please don't share patient identifiers."}
    assert set(sent[1]) == {"html", "note", "custom", "text_twin"} and sent[1]["text_twin"] == text.strip()
    assert sent[1]["note"] == render_note(rec) and sent[1]["html"].startswith('<article class="rrmm-rec">')
    assert sent[2] == {"text": text.strip()}  # exactly {"text"}: what rasa-webchat and other widgets show
    assert sent[3] == {"text": "Which one?", "quick_replies": [{"content_type": "text", "title": "KPd",
                                                                "payload": "/why"}]}


# ---- fixtures: npm packages, the browser, the pages --------------------------------------------------------------
def _npm(name_version):
    try:
        return npm_package(*name_version)
    except LookupError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def axe_source():
    package = _npm(AXE)
    assert (package / "LICENSE").exists()
    return (package / "axe.min.js").read_text(encoding="utf-8")


def embed_page(site, server: str) -> str:
    """An intranet page of another origin with the one-tag embed, a strict CSP naming the assistant's server,
    hostile CSS and its own `io` and AMD `define`."""
    ws = server.replace("http://", "ws://")
    csp = (f"default-src 'self'; script-src 'self' {server}; style-src 'self' {server}; "
           f"connect-src 'self' {server} {ws}; img-src 'self' data:; base-uri 'none'; form-action 'none'")
    site.add("/hostile.css", HOSTILE_CSS, "text/css")
    site.add("/page.js", PAGE_JS, "text/javascript")
    return site.add("/ward/index.html", f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Haematology ward - intranet</title>
<link rel="stylesheet" href="/hostile.css"><script src="/page.js"></script></head>
<body><header><h1>Haematology ward</h1></header>
<main><p>Rotas, protocols and contacts of the ward.</p></main>
<script src="{server}/chat/embed.js" data-server="{server}" defer></script>
</body></html>""", headers={"Content-Security-Policy": csp})


def run_axe(page, source: str, name: str, within: str = ""):
    """axe-core's violations on the page, or `within` one element (open shadow roots included); the results are
    saved for the report."""
    page.evaluate(source + "\n;void 0")  # evaluated by the debugger protocol: the page's CSP does not apply
    result = page.evaluate("""async (within) => {
        const r = await axe.run(within ? {include: [[within]]} : document, {resultTypes: ['violations']});
        const shadow = r.passes.filter(p => p.nodes.some(n => n.target.some(t => Array.isArray(t)))).length;
        return {shadowChecked: shadow, violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.map(n => JSON.stringify(n.target)).slice(0, 5)}))};
    }""", within)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / f"axe-{name}.json").write_text(json.dumps(result, indent=2))
    return result["violations"], result["shadowChecked"]


def no_horizontal_scroll(page, scroller: str) -> None:
    sizes = page.evaluate("""(sel) => {
        const out = {doc: [document.documentElement.scrollWidth, window.innerWidth]};
        const el = document.querySelector(sel) ||
                   (document.querySelector('rrmm-assistant') || {}).shadowRoot?.querySelector(sel);
        if (el) out.log = [el.scrollWidth, el.clientWidth];
        return out;
    }""", scroller)
    assert sizes["doc"][0] <= sizes["doc"][1], f"the page scrolls sideways: {sizes}"
    assert "log" in sizes and sizes["log"][0] <= sizes["log"][1], f"the conversation scrolls sideways: {sizes}"


class Watch:
    """Console errors, page errors (a CSP violation is one), requests to any server but the two allowed, and answers
    of 400 or more (a missing favicon would be one on every load)."""

    def __init__(self, context, page, allowed):
        self.errors, self.elsewhere, self.failed = [], [], []
        page.on("response", lambda r: self.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        context.route("**/*", lambda route: (route.continue_() if route.request.url.startswith(allowed)
                                             else (self.elsewhere.append(route.request.url), route.abort())))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)


@pytest.fixture(scope="module")
def widget(browser, channel_server, foreign_site):
    """The ward page with the widget open and a recommendation shown: (page, context, watch)."""
    url = embed_page(foreign_site, channel_server.base)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=foreign_site.origin)
    page = context.new_page()
    watch = Watch(context, page, (channel_server.base, foreign_site.origin))
    page.goto(url)
    launcher = page.locator("rrmm-assistant .rrmm-launcher")
    launcher.wait_for(state="visible", timeout=20000)
    launcher.click()
    page.wait_for_selector("rrmm-assistant .rrmm-status[data-state=online]", timeout=20000)
    page.fill("rrmm-assistant #rrmm-input", CASE)
    page.keyboard.press("Enter")
    page.wait_for_selector("rrmm-assistant .rrmm-rec .rrmm-first li", timeout=60000)
    page.wait_for_timeout(500)  # the plain-text twin arrives just after the rich message
    yield page, context, watch
    context.close()


# ---- (a) the one-tag widget on another origin ----------------------------------------------------------------------
@pytest.mark.slow
def test_the_one_tag_widget_on_another_origin_gets_a_recommendation_once(widget, channel_server, foreign_site):
    page, _, watch = widget
    options = page.locator("rrmm-assistant .rrmm-rec .rrmm-first li").all_inner_texts()
    assert options[0].startswith("SVd") and len(options) >= 3
    texts = page.locator("rrmm-assistant .rrmm-bot").all_inner_texts()
    assert not [t for t in texts if t.startswith(("Assessment:", "Read as:"))], "the plain-text twin is not shown"
    assert page.locator("rrmm-assistant .rrmm-rec").count() == 1
    assert page.evaluate("() => document.querySelector('rrmm-assistant').shadowRoot !== null")
    # the page's CSS does not reach the widget, and the widget leaves the page's globals alone
    styles = page.evaluate("""() => {
        const root = document.querySelector('rrmm-assistant').shadowRoot;
        const s = (sel) => getComputedStyle(root.querySelector(sel));
        return {launcher: s('.rrmm-launcher').display, send: s('.rrmm-send').display,
                font: s('.rrmm-bot-rec').fontSize, family: s('.rrmm-bot-rec').fontFamily,
                color: s('.rrmm-bot-rec').color, border: s('.rrmm-panel').borderTopStyle,
                host: getComputedStyle(document.querySelector('rrmm-assistant')).display,
                io: window.io && window.io.name, define: window.define && window.define.name};
    }""")
    assert styles["launcher"] == "flex" and styles["send"] != "none" and styles["host"] == "block"
    assert styles["font"] == "15px" and "Comic" not in styles["family"] and styles["color"] != "rgb(255, 0, 255)"
    assert styles["border"] == "none"
    assert (styles["io"], styles["define"]) == ("pagesOwnSocketIo", "pagesOwnAmdDefine")
    page.locator("rrmm-assistant .rrmm-rec").evaluate("e => e.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(OUTPUT / "widget-recommendation.png"))
    assert not watch.errors, watch.errors  # a Content-Security-Policy violation is a console error
    assert watch.elsewhere == []
    assert f"refused a connection from origin {foreign_site.origin}" not in channel_server.log.read_text()


@pytest.mark.slow
def test_copy_to_note_puts_the_plain_text_summary_on_the_clipboard(widget):
    page, _, _ = widget
    page.click("rrmm-assistant .rrmm-copy-note")
    page.wait_for_function("""() => document.querySelector('rrmm-assistant').shadowRoot
                              .querySelector('.rrmm-copy-status').textContent.startsWith('Copied')""", timeout=10000)
    note = page.evaluate("() => navigator.clipboard.readText()")
    assert note.startswith("RRMM decision support (US labels, knowledge as of 2026-12)")
    assert re.search(r"^  \d\. KPd .*- US: off-label \(no approval for this combination at relapse\)$", note, re.M)
    assert "OPTIMISMM" in note and note.endswith("local availability before prescribing.")
    assert len(note) <= NOTE_MAX_CHARS and "<" not in note and "68M" not in note


@pytest.mark.slow
def test_the_widget_works_from_the_keyboard_with_visible_focus(widget):
    page, _, _ = widget
    root = "document.querySelector('rrmm-assistant').shadowRoot"
    page.focus("rrmm-assistant #rrmm-input")
    page.keyboard.press("Escape")  # closes the panel; focus back on the launcher
    assert page.locator("rrmm-assistant .rrmm-panel").is_hidden()
    assert page.evaluate(f"() => {root}.activeElement.className") == "rrmm-launcher"
    assert page.get_attribute("rrmm-assistant .rrmm-launcher", "aria-expanded") == "false"
    outline = page.evaluate(f"() => getComputedStyle({root}.activeElement).outlineStyle")
    page.keyboard.press("Enter")  # opens it again, focus in the message box, transcript kept
    page.wait_for_function(f"() => {root}.activeElement && {root}.activeElement.id === 'rrmm-input'", timeout=10000)
    assert page.get_attribute("rrmm-assistant .rrmm-launcher", "aria-expanded") == "true"
    assert page.get_attribute("rrmm-assistant .rrmm-panel", "role") == "dialog"
    assert page.locator("rrmm-assistant .rrmm-rec").count() == 1
    page.keyboard.press("Shift+Tab")  # a visible focus ring on every control reached with the keyboard
    assert outline != "none" and page.evaluate(f"() => getComputedStyle({root}.activeElement).outlineStyle") != "none"
    page.click("rrmm-assistant .rrmm-close")
    assert page.locator("rrmm-assistant .rrmm-panel").is_hidden()
    page.click("rrmm-assistant .rrmm-launcher")
    assert page.locator("rrmm-assistant .rrmm-panel").is_visible()


# ---- (b) a phone ---------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_on_a_phone_the_widget_fills_the_screen_without_horizontal_scrolling(widget):
    page, _, _ = widget
    page.set_viewport_size({"width": 375, "height": 667})
    try:
        box = page.locator("rrmm-assistant .rrmm-panel").bounding_box()
        assert box and box["x"] == 0 and box["width"] == 375 and box["height"] == 667
        no_horizontal_scroll(page, ".rrmm-log")
        page.locator("rrmm-assistant .rrmm-rec").evaluate("e => e.scrollIntoView({block: 'start'})")
        page.screenshot(path=str(OUTPUT / "widget-phone.png"))
        assert page.locator("rrmm-assistant .rrmm-close").is_visible()
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})


@pytest.fixture(scope="module")
def phone_page(browser, channel_server):
    """The page /chat/ on a 375x667 phone with a recommendation shown."""
    context = browser.new_context(viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True,
                                  device_scale_factor=2)
    page = context.new_page()
    watch = Watch(context, page, (channel_server.base,))
    page.goto(f"{channel_server.base}/chat/")
    page.wait_for_selector(".rrmm-status[data-state=online]", timeout=20000)
    page.fill("#rrmm-input", CASE)
    page.click("#rrmm-send")
    page.wait_for_selector(".rrmm-rec .rrmm-first li", timeout=60000)
    yield page, watch
    context.close()


@pytest.mark.slow
def test_on_a_phone_the_chat_page_has_no_horizontal_scrolling(phone_page):
    page, watch = phone_page
    no_horizontal_scroll(page, ".rrmm-log")
    page.locator(".rrmm-rec").evaluate("e => e.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(OUTPUT / "webchat-phone.png"))
    assert page.locator(".rrmm-copy-note").is_visible() and page.locator("#rrmm-send").is_visible()
    assert not watch.errors and watch.elsewhere == []
    assert (OUTPUT / "webchat-phone.png").stat().st_size > 20000


# ---- (c) accessibility ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_axe_finds_no_serious_or_critical_violation_in_the_widget(widget, axe_source):
    page, _, _ = widget
    violations, in_shadow = run_axe(page, axe_source, "widget", within="rrmm-assistant")  # the ward's CSS is hostile
    assert in_shadow > 10, "axe checked the widget inside its shadow root"
    assert not [v for v in violations if v["impact"] in SERIOUS], violations


@pytest.mark.slow
def test_axe_finds_no_serious_or_critical_violation_in_the_chat_page(phone_page, axe_source):
    page, _ = phone_page
    violations, _ = run_axe(page, axe_source, "webchat-page")
    assert not [v for v in violations if v["impact"] in SERIOUS], violations


# ---- (e) the system's dark colour scheme, contrast checked in both --------------------------------------------------
BACKGROUND = """(sel) => {
    const root = document.querySelector('rrmm-assistant');
    const el = (root && root.shadowRoot.querySelector(sel)) || document.querySelector(sel);
    const [r, g, b] = getComputedStyle(el).backgroundColor.match(/\\d+/g).map(Number);
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
}"""


@pytest.mark.slow
@pytest.mark.parametrize("which", ["widget", "page"])
def test_the_widget_and_the_page_follow_the_dark_colour_scheme_and_pass_axe_in_it(which, request, axe_source):
    page = request.getfixturevalue("widget" if which == "widget" else "phone_page")[0]
    within = "rrmm-assistant" if which == "widget" else ""
    assert page.evaluate(BACKGROUND, ".rrmm-chat") > 0.9, "light by default"
    page.emulate_media(color_scheme="dark")
    try:
        assert page.evaluate(BACKGROUND, ".rrmm-chat") < 0.15, "dark when the system is"
        assert page.evaluate(BACKGROUND, ".rrmm-bot-rec") < 0.15, "the recommendation too"
        violations, _ = run_axe(page, axe_source, f"{which}-dark", within=within)
        assert not [v for v in violations if v["impact"] in SERIOUS], violations
        page.screenshot(path=str(OUTPUT / f"{which}-dark.png"))
    finally:
        page.emulate_media(color_scheme="light")


@pytest.mark.slow
def test_the_page_loads_without_a_failed_request_favicon_included(phone_page):
    page, watch = phone_page
    assert watch.failed == [], watch.failed
    status = page.evaluate("() => fetch(document.querySelector('link[rel=icon]').href).then(r => r.status)")
    assert status == 200


# ---- (f) a page whose origin is not allowed --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def unlisted_site():
    """Another origin that RRMM_WEBCHAT_ORIGINS does not list."""
    s = ForeignSite()
    yield s
    s.stop()


@pytest.mark.slow
def test_on_a_page_that_is_not_allowed_the_widget_says_so_and_names_the_setting(browser, channel_server,
                                                                                unlisted_site):
    url = embed_page(unlisted_site, channel_server.base)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(url)
        page.locator("rrmm-assistant .rrmm-launcher").click()
        page.wait_for_selector("rrmm-assistant .rrmm-not-allowed", timeout=30000)
        told = page.inner_text("rrmm-assistant .rrmm-not-allowed")
        assert f"This page ({unlisted_site.origin}) is not allowed to use the assistant" in told
        assert f"add {unlisted_site.origin} to RRMM_WEBCHAT_ORIGINS" in told
        assert page.inner_text("rrmm-assistant .rrmm-status") == "not allowed on this page"
        assert page.get_attribute("rrmm-assistant .rrmm-not-allowed", "role") == "alert"
        page.screenshot(path=str(OUTPUT / "widget-not-allowed.png"))
    finally:
        context.close()
    assert f"refused a connection from origin {unlisted_site.origin}" in channel_server.log.read_text()


# ---- (d) a third-party Rasa widget -----------------------------------------------------------------------------
@pytest.mark.slow
def test_the_rasa_webchat_widget_from_npm_shows_the_recommendation_text(browser, channel_server, foreign_site):
    package = _npm(RASA_WEBCHAT)
    assert (package / "LICENSE").exists()
    foreign_site.add("/vendor/rasa-webchat.js", (package / "lib" / "index.js").read_bytes(), "text/javascript")
    foreign_site.add("/vendor/start-webchat.js", f"""
WebChat.default({{socketUrl: "{channel_server.base}", socketPath: "/socket.io/", embedded: true,
                  title: "RRMM assistant", params: {{storage: "session"}}, hideWhenNotConnected: false}}, null);
""", "text/javascript")
    url = foreign_site.add("/tumour-board/index.html", """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tumour board</title></head>
<body><h1>Tumour board</h1><script src="/vendor/rasa-webchat.js"></script><script src="/vendor/start-webchat.js">
</script></body></html>""")
    context = browser.new_context(viewport={"width": 1100, "height": 1400})
    page = context.new_page()
    watch = Watch(context, page, (channel_server.base, foreign_site.origin))
    try:
        page.goto(url)
        page.wait_for_selector(".rw-new-message", timeout=30000)
        page.fill(".rw-new-message", CASE)
        page.click(".rw-send")
        response = page.wait_for_function("""() => [...document.querySelectorAll('.rw-response')]
            .map(e => e.innerText).find(t => t.includes('Read as:'))""", timeout=60000).json_value()
        assert "KPd" in response and "Decision support for clinicians" in response
        page.screenshot(path=str(OUTPUT / "rasa-webchat.png"))
        # rasa-webchat asks Google Fonts for its font (aborted here: nothing leaves the machine); nothing else
        assert [u for u in watch.elsewhere if not u.startswith("https://fonts.googleapis.com/")] == []
    finally:
        context.close()
