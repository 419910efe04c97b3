"""Native renderings of the `rrmm_recommendation` payload, one per platform, from the payload dict alone.

- `render_plain(rec)`: text for the shell and REST (bot.clinical.render.render_text, the text the bot sends anyway).
- `render_slack(rec)`: a Slack message, `{"text": mrkdwn fallback, "blocks": [Block Kit]}`: a header with the
  assessment, the ranked options with rationale and key trial, the ruled-out regimens, the cautions, the
  transplant note and the disclaimer as context; inside Slack's limits (50 blocks, 150 characters per header,
  3000 per section, 10 context elements).
- `render_teams(rec)`: the fields of a Bot Framework message activity carrying an Adaptive Card 1.4 (with a
  plain-text `summary` and card `fallbackText`), kept under Teams' message size (about 28 KB).
- `render_html(rec)`: an HTML fragment for the web chat page; every value is escaped.

Channels call `render_for(channel_name, payload)`; anything that is not a recommendation payload gives None.
`is_text_twin(message, rec)` recognises the plain-text message the bot sends just before the payload, so that a
channel that renders the payload natively can send the answer once.
"""
from __future__ import annotations

import html
import json
import re
from typing import Any, Callable, Dict, List, Optional

from bot.clinical.render import (
    SEVERITY_MARK,
    assessment_line,
    key_trial,
    no_option_text,
    one_line_rationale,
    read_as_line,
    render_text,
    setting_label,
    transplant_line,
)

PAYLOAD_TYPE = "rrmm_recommendation"
DEFAULT_MAX_OPTIONS = 6  # what the chat text shows too (actions.ActionRecommend)
SEVERITY_ORDER = ("high", "moderate", "info")

# Slack Block Kit limits (https://api.slack.com/reference/block-kit/blocks)
SLACK_MAX_BLOCKS = 50
SLACK_HEADER_CHARS = 150
SLACK_SECTION_CHARS = 3000
SLACK_CONTEXT_ELEMENTS = 10
SLACK_CONTEXT_CHARS = 2000
SLACK_TEXT_CHARS = 3000  # fallback text and plain messages: Slack truncates long ones, 4000 is its advice
# Teams: a message (activity with its card) must stay under about 28 KB; keep a margin for the envelope.
TEAMS_MAX_CARD_CHARS = 24000
TEAMS_TEXT_CHARS = 20000

_ANY_SOURCE = re.compile(r"\s*\[[^\]]*\]$")


def is_recommendation(custom: Any) -> bool:
    return isinstance(custom, dict) and custom.get("type") == PAYLOAD_TYPE and isinstance(
        custom.get("recommendation"), dict)


def is_text_twin(message: Dict[str, Any], rec: Dict[str, Any]) -> bool:
    """True for a plain-text message (no buttons, no payload) that is the text rendering of `rec`."""
    if any(message.get(k) for k in ("buttons", "quick_replies", "custom", "image", "attachment", "elements")):
        return False
    text = message.get("text")
    if not isinstance(text, str):
        return False
    try:
        text = text.lstrip()
        first = read_as_line(rec)
        if first and text.startswith(first):
            text = text[len(first):].lstrip()
        return text.startswith(assessment_line(rec))
    except (KeyError, TypeError, AttributeError):
        return False


def cut(text: str, limit: int) -> str:
    """`text` shortened to at most `limit` characters, marking the cut with an ellipsis."""
    text = str(text)
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def split_text(text: str, limit: int) -> List[str]:
    """Splits a long text into parts of at most `limit` characters, at line ends where possible."""
    text = text.strip()
    parts: List[str] = []
    while len(text) > limit:
        at = text.rfind("\n", 0, limit)
        if at < limit // 2:
            at = text.rfind(" ", 0, limit)
        if at < limit // 2:
            at = limit
        parts.append(text[:at].rstrip())
        text = text[at:].lstrip("\n ")
    if text:
        parts.append(text)
    return parts or [""]


# ---- the parts every rendering shows, in the same order and words as bot.clinical.render.render_text -------------
def _options(rec, max_options):
    opts = rec.get("options") or []
    return opts if max_options is None else opts[:max_options], max(0, len(opts) - (max_options or len(opts)))


def _option_notes(option) -> List[str]:
    return [r for r in option.get("rationale", []) if r.startswith("ranked lower") or "cross-resistance possible" in r
            or r.startswith("stays despite")]


def _ruled_out(rec) -> List[Dict[str, Any]]:
    if rec["initiation"]["action"] == "monitor":
        return []
    return [e for e in rec.get("excluded", []) if e.get("ruled_out")]


def _cautions(rec) -> List[Dict[str, Any]]:
    return sorted(rec.get("cautions", []), key=lambda c: SEVERITY_ORDER.index(c["severity"])
                  if c.get("severity") in SEVERITY_ORDER else len(SEVERITY_ORDER))


def _caution_name(c) -> str:
    return str(c["id"]).replace("_", " ")


def _no_option_text(rec) -> Optional[str]:
    if not rec.get("options") and rec["initiation"]["action"] != "monitor":
        return no_option_text()
    return None


def headline(rec) -> str:
    """A short title: setting and fitness (the full assessment line follows it)."""
    a = rec["assessment"]
    parts = []
    if a.get("setting"):
        parts.append(setting_label(a["setting"]))
    else:
        parts.append(f"lenalidomide {a['lenalidomide_status']}")
    parts.append(f"fitness {a['fitness']}")
    if a.get("aggressive"):
        parts.append("aggressive relapse")
    return "; ".join(parts)


def render_plain(rec: Dict[str, Any], max_options: Optional[int] = DEFAULT_MAX_OPTIONS) -> str:
    """Plain text (shell, REST, and the fallback of every channel)."""
    return render_text(rec, max_options=max_options)


# ---- Slack -----------------------------------------------------------------------------------------------
def slack_escape(text: str) -> str:
    """Escapes the three characters Slack's mrkdwn reserves (&, <, >)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_SLACK_SEVERITY = {"high": ":red_circle: *HIGH*", "moderate": ":large_orange_circle: moderate",
                   "info": ":large_blue_circle: info"}


def _mrkdwn_section(text: str) -> Dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SLACK_SECTION_CHARS)}}


def _packed_sections(title: str, items: List[str]) -> List[Dict[str, Any]]:
    """Items (mrkdwn lines) packed into as few sections as the per-section limit allows."""
    blocks, current = [], f"*{title}*"
    for item in items:
        item = cut(item, SLACK_SECTION_CHARS - 40)
        if len(current) + 1 + len(item) > SLACK_SECTION_CHARS:
            blocks.append(_mrkdwn_section(current))
            current = item
        else:
            current += "\n" + item
    blocks.append(_mrkdwn_section(current))
    return blocks


def slack_fallback_text(rec: Dict[str, Any], max_options: Optional[int] = DEFAULT_MAX_OPTIONS) -> str:
    """The message's `text`: mrkdwn shown in notifications and by clients that do not draw blocks."""
    e = slack_escape
    lines = [f"*RRMM recommendation*: {e(assessment_line(rec)[len('Assessment: '):])}"]
    if rec.get("read_as"):
        lines.append(f"*Read as:* {e(rec['read_as'])}")
    lines.append(f"*Action:* {e(rec['initiation']['text'])}")
    shown, more = _options(rec, max_options)
    if shown:
        lines.append("*Options (ranked):* " + ", ".join(
            f"{i}. {e(o['regimen'])}" for i, o in enumerate(shown, 1)) + (f" (+{more} more)" if more else ""))
    elif _no_option_text(rec):
        lines.append(e(_no_option_text(rec)))
    cautions = _cautions(rec)
    if cautions:
        lines.append("*Cautions:* " + ", ".join(f"{e(_caution_name(c))} ({c['severity']})" for c in cautions))
    lines.append(f"_{e(rec['disclaimer'])}_")
    return cut("\n".join(lines), SLACK_TEXT_CHARS)


def render_slack(rec: Dict[str, Any], max_options: Optional[int] = DEFAULT_MAX_OPTIONS) -> Dict[str, Any]:
    """`{"text": ..., "blocks": [...]}` for chat.postMessage."""
    e = slack_escape
    a_line = assessment_line(rec)[len("Assessment: "):]
    blocks: List[Dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": cut("RRMM: " + headline(rec), SLACK_HEADER_CHARS),
                                    "emoji": True}},
        _mrkdwn_section("\n".join([f"*Assessment:* {e(a_line)}", f"*Action:* {e(rec['initiation']['text'])}"]
                                  + [f"*Note:* {e(n)}" for n in rec["assessment"].get("notes", [])])),
    ]
    if rec.get("read_as"):  # the case as read comes first, under the title
        blocks.insert(1, _mrkdwn_section(f"*Read as:* {e(rec['read_as'])}"))
    shown, more = _options(rec, max_options)
    if shown:
        blocks.append({"type": "divider"})
        blocks.append(_mrkdwn_section("*Options (ranked)*"))
        for i, o in enumerate(shown, 1):
            lines = [f"*{i}. {e(o['regimen'])}*: {e(o['name'])}" + ("  `preferred`" if o.get("preferred") else ""),
                     f"*Why:* {e(one_line_rationale(o))}"]
            lines += [f"*Note:* {e(n)}" for n in _option_notes(o)]
            trial = key_trial(o, rec)
            if trial:
                lines.append(f"*Trial:* {e(trial)}")
            blocks.append(_mrkdwn_section("\n".join(lines)))
        if more:
            blocks.append({"type": "context", "elements": [
                {"type": "mrkdwn", "text": f"+{more} more: ask for all options"}]})
    elif _no_option_text(rec):
        blocks.append(_mrkdwn_section(e(_no_option_text(rec))))
    ruled = _ruled_out(rec)
    if ruled:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": cut(
            "*Ruled out:* " + ", ".join(e(x["regimen"]) for x in ruled) + e(' (ask "why not <regimen>?")'),
            SLACK_CONTEXT_CHARS)}]})
    cautions = _cautions(rec)
    if cautions:
        blocks.append({"type": "divider"})
        blocks += _packed_sections("Cautions", [
            f"{_SLACK_SEVERITY.get(c['severity'], e(c['severity']))} *{e(_caution_name(c))}*: {e(c['text'])}\n"
            f"      _because: {e('; '.join(c.get('because', [])))}_" for c in cautions])
    if rec.get("transplant"):
        blocks += _packed_sections("Transplant", [f"• {e(transplant_line(t))}" for t in rec["transplant"]])
    disclaimer = {"type": "context", "elements": [
        {"type": "mrkdwn", "text": cut(":information_source: " + e(rec["disclaimer"]), SLACK_CONTEXT_CHARS)}]}
    if len(blocks) + 1 > SLACK_MAX_BLOCKS:  # cannot happen with the catalog's sizes; kept as a hard guard
        blocks = blocks[: SLACK_MAX_BLOCKS - 2] + [{"type": "context", "elements": [
            {"type": "mrkdwn", "text": "(shortened: ask for the summary)"}]}]
    blocks.append(disclaimer)
    return {"text": slack_fallback_text(rec, max_options), "blocks": blocks}


# ---- Microsoft Teams (Adaptive Card) -------------------------------------------------------------------
def teams_escape(text: str) -> str:
    """Neutralises the markdown Adaptive Card TextBlocks interpret, so data shows as written."""
    return re.sub(r"([\\*_\[\]`])", r"\\\1", str(text))


def _tb(text: str, **kw) -> Dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **kw}


_TEAMS_COLOR = {"high": "Attention", "moderate": "Warning", "info": "Default"}


def adaptive_card(rec: Dict[str, Any], max_options: Optional[int] = DEFAULT_MAX_OPTIONS,
                  details: bool = True) -> Dict[str, Any]:
    e = teams_escape
    a_line = assessment_line(rec)[len("Assessment: "):]
    body: List[Dict[str, Any]] = [
        _tb("RRMM recommendation", size="Medium", weight="Bolder"),
    ]
    if rec.get("read_as"):
        body.append(_tb(f"**Read as:** {e(rec['read_as'])}"))
    body += [
        _tb(f"**Assessment:** {e(a_line)}"),
        _tb(f"**Action:** {e(rec['initiation']['text'])}",
            color="Attention" if rec["initiation"]["action"] == "start_immediately" else "Default"),
    ]
    body += [_tb(f"**Note:** {e(n)}", isSubtle=True) for n in rec["assessment"].get("notes", [])]
    shown, more = _options(rec, max_options)
    if shown:
        body.append(_tb("Options (ranked)", weight="Bolder", separator=True, spacing="Medium"))
        for i, o in enumerate(shown, 1):
            title = f"**{i}. {e(o['regimen'])}**: {e(o['name'])}" + (" (preferred)" if o.get("preferred") else "")
            items = [_tb(title)]
            lines = [f"Why: {one_line_rationale(o)}"]
            if details:
                lines += [f"Note: {n}" for n in _option_notes(o)]
            trial = key_trial(o, rec)
            if trial:
                lines.append(f"Trial: {trial}")
            items += [_tb(e(line), isSubtle=True, spacing="None") for line in lines]
            body.append({"type": "Container", "items": items, "spacing": "Small"})
        if more:
            body.append(_tb(f"+{more} more: ask for all options", isSubtle=True, size="Small"))
    elif _no_option_text(rec):
        body.append(_tb(e(_no_option_text(rec)), separator=True))
    ruled = _ruled_out(rec)
    if ruled:
        body.append(
            _tb(
                "Ruled out: " + ", ".join(e(x["regimen"]) for x in ruled) + ' (ask "why not <regimen>?")',
                isSubtle=True,
                size="Small",
            )
        )
    cautions = _cautions(rec)
    if cautions:
        body.append(_tb("Cautions", weight="Bolder", separator=True, spacing="Medium"))
        for c in cautions:
            body.append(
                _tb(
                    f"**{SEVERITY_MARK.get(c['severity'], c['severity'])}** {e(_caution_name(c))}: {e(c['text'])}",
                    color=_TEAMS_COLOR.get(c["severity"], "Default"),
                    spacing="Small",
                )
            )
            if details and c.get("because"):
                body.append(_tb("because: " + e("; ".join(c["because"])), isSubtle=True, size="Small", spacing="None"))
    if rec.get("transplant"):
        body.append(_tb("Transplant", weight="Bolder", separator=True, spacing="Medium"))
        body += [_tb("- " + e(transplant_line(t)), spacing="Small") for t in rec["transplant"]]
    body.append(_tb(e(rec["disclaimer"]), isSubtle=True, size="Small", separator=True, spacing="Medium"))
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.4",
        "fallbackText": cut(render_plain(rec, max_options=max_options), 4000),
        "msteams": {"width": "Full"},
        "body": body,
    }


def render_teams(rec: Dict[str, Any], max_options: Optional[int] = DEFAULT_MAX_OPTIONS) -> Dict[str, Any]:
    """Fields of a Bot Framework message activity with the card as its attachment, within Teams' size limit."""
    attempts = [(max_options, True), (max_options, False), (3, False), (1, False)]
    for n, details in attempts:
        card = adaptive_card(rec, n, details)
        if len(json.dumps(card)) <= TEAMS_MAX_CARD_CHARS:
            break
    else:  # still too big: the short text version, which always fits
        card = {
            "type": "AdaptiveCard",
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "version": "1.4",
            "body": [_tb(teams_escape(cut(render_plain(rec, 3), TEAMS_MAX_CARD_CHARS // 2)))],
        }
    summary = f"RRMM recommendation: {headline(rec)}"
    return {
        "type": "message",
        "summary": cut(summary, 250),
        "text": "",
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}],
    }


def teams_text(text: str) -> str:
    """A plain text message as Teams markdown: each line kept (markdown would join them), nothing interpreted."""
    return "\n\n".join(teams_escape(line) if line.strip() else "" for line in text.strip().split("\n"))


# ---- web chat (HTML) -----------------------------------------------------------------------------------
def render_html(rec: Dict[str, Any], max_options: Optional[int] = None) -> str:
    """An HTML fragment (classes `rrmm-*`, styled by web/static/rrmm-chat.css); all text escaped."""
    h = html.escape
    a = rec["assessment"]
    out = [
        '<article class="rrmm-rec">',
        '<header class="rrmm-rec-head">',
        f'<h3>RRMM recommendation <span class="rrmm-setting">{h(headline(rec))}</span></h3>',
    ]
    if rec.get("read_as"):
        out.append(f'<p class="rrmm-read-as"><b>Read as:</b> {h(rec["read_as"])}</p>')
    out += [
        f'<p class="rrmm-assessment"><b>Assessment:</b> {h(assessment_line(rec)[len("Assessment: ") :])}</p>',
        f'<p class="rrmm-action rrmm-action-{h(rec["initiation"]["action"])}"><b>Action:</b> '
        f"{h(rec['initiation']['text'])}</p>",
    ]
    out += [f'<p class="rrmm-note"><b>Note:</b> {h(n)}</p>' for n in a.get("notes", [])]
    out.append("</header>")
    shown, more = _options(rec, max_options)
    if shown:
        out.append('<section class="rrmm-options"><h4>Options (ranked)</h4><ol>')
        for o in shown:
            pref = ' <span class="rrmm-badge">preferred</span>' if o.get("preferred") else ""
            out.append(
                f'<li class="rrmm-option"><div class="rrmm-option-title"><b class="rrmm-code">{h(o["regimen"])}</b> '
                f"{h(o['name'])}{pref}</div>"
            )
            out.append(f'<div class="rrmm-why">{h(one_line_rationale(o))}</div>')
            out += [f'<div class="rrmm-option-note">{h(n)}</div>' for n in _option_notes(o)]
            trial = key_trial(o, rec)
            if trial:
                out.append(f'<div class="rrmm-trial">Trial: {h(trial)}</div>')
            out.append("</li>")
        out.append("</ol>")
        if more:
            out.append(f'<p class="rrmm-more">+{more} more: ask for all options</p>')
        out.append("</section>")
    elif _no_option_text(rec):
        out.append(f'<section class="rrmm-options"><p>{h(_no_option_text(rec))}</p></section>')
    ruled = _ruled_out(rec)
    if ruled:
        out.append(
            '<section class="rrmm-excluded"><details><summary>Ruled out: '
            + h(", ".join(x["regimen"] for x in ruled))
            + "</summary><ul>"
        )
        for x in ruled:
            reasons = "; ".join(r for r in x.get("reasons", []) if not r.startswith("not among"))
            out.append(f"<li><b>{h(x['regimen'])}</b>: {h(reasons)}</li>")
        out.append("</ul>")
        rest = [x["regimen"] for x in rec.get("excluded", []) if not x.get("ruled_out")]
        if rest:
            out.append(f"<p>Not indicated in this setting: {h(', '.join(rest))}</p>")
        out.append("</details></section>")
    cautions = _cautions(rec)
    if cautions:
        out.append('<section class="rrmm-cautions"><h4>Cautions</h4><ul>')
        for c in cautions:
            sev = c.get("severity", "info")
            out.append(
                f'<li class="rrmm-caution rrmm-sev-{h(sev)}"><span class="rrmm-sev">'
                f"{h(SEVERITY_MARK.get(sev, sev))}</span> <b>{h(_caution_name(c))}</b>: {h(c['text'])}"
                f'<div class="rrmm-because">because: {h("; ".join(c.get("because", [])))}</div></li>'
            )
        out.append("</ul></section>")
    if rec.get("transplant"):
        out.append('<section class="rrmm-transplant"><h4>Transplant</h4><ul>')
        out += [f"<li>{h(transplant_line(t))}</li>" for t in rec["transplant"]]
        out.append("</ul></section>")
    out.append(f'<footer class="rrmm-disclaimer">{h(rec["disclaimer"])}</footer></article>')
    return "\n".join(out)


RENDERERS: Dict[str, Callable[[Dict[str, Any]], Any]] = {
    "slack": render_slack,
    "botframework": render_teams,
    "socketio": render_html,
    "rest": render_plain,
    "cmdline": render_plain,
}


def render_for(channel: str, payload: Any) -> Optional[Any]:
    """The rendering of a `rrmm_recommendation` payload for a channel (plain text for unknown channels)."""
    if not is_recommendation(payload):
        return None
    return RENDERERS.get(channel, render_plain)(payload["recommendation"])
