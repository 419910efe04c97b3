"""The web chat page as a clinician uses it, in Debian's headless chromium (Playwright drives the system browser).

The page comes from the Rasa server (/chat/) and every request it makes is checked to stay on that server
(no internet needed). Saves test-output/channels/webchat-recommendation.png.
"""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest

from .support import CASE, CHROMIUM_ARGS, OUTPUT, ROOT

pytestmark = pytest.mark.slow
STATIC = ROOT / "web" / "static"


def test_page_assets_are_all_local_and_the_client_is_vendored():
    for name in ("index.html", "rrmm-chat.js", "rrmm-chat.css", "embed.js"):
        text = (STATIC / name).read_text()
        if not name.endswith(".html"):  # the usage comments show the embedding page's tag, not an asset
            text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
        assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", text), name
        assert "cdn" not in text.lower(), name
    assert (STATIC / "vendor" / "socket.io.min.js").stat().st_size > 10000
    assert (ROOT / "web" / "package-lock.json").exists()


def test_page_is_served_with_a_strict_policy(channel_server):
    with urllib.request.urlopen(f"{channel_server.base}/chat/", timeout=10) as r:
        assert r.status == 200 and "rrmm-chat.js" in r.read().decode()
        csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    for path in ("/chat/../credentials.yml", "/chat/%2e%2e/credentials.yml", "/chat/nothing.js"):
        try:
            urllib.request.urlopen(f"{channel_server.base}{path}", timeout=10)
            raise AssertionError(f"{path} was served")
        except urllib.error.HTTPError as e:
            assert e.code == 404


def test_the_page_has_a_favicon_and_follows_the_system_colour_scheme(channel_server):
    """No 404 for the icon on each load: the page names its own, which the server serves."""
    with urllib.request.urlopen(f"{channel_server.base}/chat/", timeout=10) as r:
        html = r.read().decode()
    assert '<link rel="icon" href="favicon.svg" type="image/svg+xml">' in html
    assert '<meta name="color-scheme" content="light dark">' in html
    with urllib.request.urlopen(f"{channel_server.base}/chat/favicon.svg", timeout=10) as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("image/svg+xml")
        assert r.read().startswith(b"<svg")
    assert "@media (prefers-color-scheme: dark)" in (STATIC / "rrmm-chat.css").read_text()


def test_any_page_may_ask_whether_its_origin_is_allowed(channel_server, foreign_site):
    """What the widget asks when it cannot connect: readable from any origin, and it names the setting."""
    for origin, allowed in ((foreign_site.origin, True), (channel_server.base, True), (None, True),
                            ("http://not-listed.example", False)):
        req = urllib.request.Request(f"{channel_server.base}/chat/origin", headers={"Origin": origin} if origin else {})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.headers["Access-Control-Allow-Origin"] == "*", "any page can read the answer"
            assert json.loads(r.read()) == {"allowed": allowed, "setting": "RRMM_WEBCHAT_ORIGINS"}, origin


def test_clinician_gets_a_rendered_recommendation_and_keeps_the_session_on_reload(channel_server, chromium):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover
        pytest.fail("Playwright for Python is needed: pip install playwright (it drives Debian's chromium)")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    shot = OUTPUT / "webchat-recommendation.png"
    origin = channel_server.base
    elsewhere = []

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1100, "height": 1900})
            context.route("**/*", lambda route: (route.continue_() if route.request.url.startswith(origin)
                                                 else (elsewhere.append(route.request.url), route.abort())))
            page = context.new_page()
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{origin}/chat/")
            page.wait_for_selector(".rrmm-status[data-state=online]", timeout=20000)
            assert "not a substitute for clinical judgement" in page.inner_text(".rrmm-disclaimer-banner")
            assert page.is_visible(".rrmm-disclaimer-banner")

            page.fill("#rrmm-input", CASE)
            page.click("#rrmm-send")
            page.wait_for_selector(".rrmm-rec .rrmm-first li", timeout=60000)
            options = page.locator(".rrmm-rec .rrmm-first li").all_inner_texts()
            assert options[0].startswith("SVd") and len(options) >= 3
            page.click(".rrmm-rec .rrmm-details summary")  # Show details
            assert "Trial: BOSTON" in page.inner_text(".rrmm-rec .rrmm-details .rrmm-options")
            cautions = page.inner_text(".rrmm-rec .rrmm-cautions")
            assert "blood clots" in cautions and "moderate" in cautions.lower()
            assert "Decision support for clinicians" in page.inner_text(".rrmm-rec .rrmm-disclaimer")
            # the answer is shown once: not also as plain text
            twin = ("Read as:", "Assessment:")
            assert not [t for t in page.locator(".rrmm-bot").all_inner_texts() if t.startswith(twin)]
            page.locator(".rrmm-rec").scroll_into_view_if_needed()
            page.screenshot(path=str(shot))

            session = page.evaluate("() => JSON.parse(Object.entries(localStorage)[0][1]).session")
            assert re.fullmatch(r"[0-9a-f]{64}", session)  # issued and signed by the server (docs/security.md)
            page.reload()
            page.wait_for_selector(".rrmm-status[data-state=online]", timeout=20000)
            assert page.locator(".rrmm-rec .rrmm-first li").count() == len(options), "transcript kept"
            assert page.evaluate("() => JSON.parse(Object.entries(localStorage)[0][1]).session") == session
            # the server-side conversation continues: a follow-up question about the same case
            page.fill("#rrmm-input", "why not KRd?")
            page.keyboard.press("Enter")
            page.wait_for_function(
                "() => [...document.querySelectorAll('.rrmm-bot')]"
                ".some(e => e.innerText.includes('KRd is not an option'))",
                timeout=60000,
            )
            assert channel_server.user_events(session)[-1]["text"] == "why not KRd?"
            # "New conversation" forgets the transcript and starts a new session
            page.click(".rrmm-reset")
            page.wait_for_function(
                "() => { const s = JSON.parse(Object.entries(localStorage)[0][1]);"
                f" return s.session && s.session !== '{session}' && s.entries.length === 0; }}",
                timeout=20000,
            )
            assert page.locator(".rrmm-rec").count() == 0
            # a message the server cannot accept is shown as an error, not dropped (docs/security.md)
            page.fill("#rrmm-input", "fit " * 1100)
            page.keyboard.press("Enter")
            page.wait_for_selector(".rrmm-error", timeout=20000)
            assert "at most 4,000" in page.inner_text(".rrmm-error")
            assert page.locator(".rrmm-pending").count() == 0
            assert not errors, errors
        finally:
            browser.close()
    assert elsewhere == [], f"the page tried to reach other servers: {elsewhere}"
    assert shot.stat().st_size > 20000
