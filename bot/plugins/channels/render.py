"""Native renderings of the `rrmm_recommendation` payload, one per platform, from the payload dict alone.

- `render_plain(rec)`: text for the shell and REST (bot.clinical.render.render_text, the text the bot sends anyway).
- `render_slack(rec)`: a Slack message, `{"text": mrkdwn fallback, "blocks": [Block Kit]}`: a header with the
  assessment, the clinical-trial headline, the ranked options grouped by tier (preferred, other recommended, in
  certain circumstances) with rationale, approval line for the case's region and key trial, the ruled-out
  regimens, the high and moderate cautions (the `info` ones folded into one line), the transplant note, and the
  knowledge edition and the disclaimer as context blocks (the disclaimer last); inside Slack's limits (50 blocks,
  150 characters per header, 3000 per section, 10 context elements).
- `render_teams(rec)`: the fields of a Bot Framework message activity carrying an Adaptive Card 1.5 (with a
  plain-text `summary` and card `fallbackText`; the `info` cautions in a container the clinician can show), kept
  under Teams' message size (about 28 KB).
- `render_html(rec)`: an HTML fragment for the web chat page (the `info` cautions in a <details> the clinician
  can open); every value is escaped.

Every rendering shows the same parts in the same order and words as bot.clinical.render.render_text.
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
    caution_name,
    info_line,
    knowledge_line,
    no_option_text,
    option_lines,
    ranked_options,
    read_as_line,
    render_text,
    setting_label,
    sorted_cautions,
    split_cautions,
    tier_groups,
    transplant_line,
    trial_headline,
)

PAYLOAD_TYPE = "rrmm_recommendation"
# how the channels label and mark up the kinds of bot.clinical.render.option_lines
LABELS = {"why": "Why", "approval": "Approval", "note": "Note", "trial": "Trial"}
HTML_CLASSES = {"why": "rrmm-why", "approval": "rrmm-approval", "note": "rrmm-option-note", "trial": "rrmm-trial"}
HTML_PREFIX = {"approval": "Approval: ", "trial": "Trial: "}
DEFAULT_MAX_OPTIONS = 6  # what the chat text shows too (actions.ActionRecommend)

# Slack Block Kit limits (https://api.slack.com/reference/block-kit/blocks)
SLACK_MAX_BLOCKS = 50
SLACK_HEADER_CHARS = 150
SLACK_SECTION_CHARS = 3000
SLACK_CONTEXT_ELEMENTS = 10
SLACK_CONTEXT_CHARS = 2000
SLACK_TEXT_CHARS = 3000  # fallback text and plain messages: Slack truncates long ones, 4000 is its advice
# Teams: a message (activity with its card) must stay under about 28 KB; keep a margin for the envelope.
TEAMS_MAX_CARD_CHARS = 24000
ADAPTIVE_CARD_VERSION = "1.5"  # the highest Teams renders; the cards are checked against its schema (tests/channels)
TEAMS_TEXT_CHARS = 20000

_ANY_SOURCE = re.compile(r"\s*\[[^\]]*\]$")


def is_recommendation(custom: Any) -> bool:
    return isinstance(custom, dict) and custom.get("type") == PAYLOAD_TYPE and isinstance(
        custom.get("recommendation"), dict)


def is_text_twin(message: Dict[str, Any], rec: Dict[str, Any]) -> bool:
    """True for a plain-text message (no buttons, no payload) that is the text rendering of `rec` (its assessment
    line is the first line, or the second under a line that restates the case)."""
    if any(message.get(k) for k in ("buttons", "quick_replies", "custom", "image", "attachment", "elements")):
        return False
    text = message.get("text")
    if not isinstance(text, str):
        return False
    try:
        text, first = text.lstrip(), read_as_line(rec)
        text = text[len(first):].lstrip() if first and text.startswith(first) else text
        return assessment_line(rec) in text.split("\n")[:2]
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
    """(the ranked options shown, grouped by tier: [(heading, [(number, option)])], how many more there are)."""
    opts = ranked_options(rec)
    shown = opts if max_options is None else opts[:max_options]
    return tier_groups(shown), len(opts) - len(shown)


def _ruled_out(rec) -> List[Dict[str, Any]]:
    if rec["initiation"]["action"] == "monitor":
        return []
    return [e for e in rec.get("excluded", []) if e.get("ruled_out")]


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
    trial_line = trial_headline(rec)
    if trial_line:
        lines.append(e(trial_line))
    groups, more = _options(rec, max_options)
    if groups:
        lines.append("*Options (ranked):* " + "; ".join(
            f"{e(heading)}: " + ", ".join(f"{i}. {e(o['regimen'])}" for i, o in group) for heading, group in groups)
            + (f" (+{more} more)" if more else ""))
    elif _no_option_text(rec) and not trial_line:
        lines.append(e(_no_option_text(rec)))
    cautions = sorted_cautions(rec)
    if cautions:
        lines.append("*Cautions:* " + ", ".join(f"{e(caution_name(c))} ({c['severity']})" for c in cautions))
    lines.append(e(knowledge_line(rec)))
    lines.append(f"_{e(rec['disclaimer'])}_")
    return cut("\n".join(lines), SLACK_TEXT_CHARS)


def render_slack(rec: Dict[str, Any], max_options: Optional[int] = DEFAULT_MAX_OPTIONS) -> Dict[str, Any]:
    """`{"text": ..., "blocks": [...]}` for chat.postMessage."""
    e = slack_escape
    a_line = assessment_line(rec)[len("Assessment: "):]
    head = [f"*Assessment:* {e(a_line)}", f"*Action:* {e(rec['initiation']['text'])}"]
    head += [f"*Note:* {e(n)}" for n in rec["assessment"].get("notes", [])]
    trial_line = trial_headline(rec)
    if trial_line:
        head.append(f"*{e(trial_line)}*")
    blocks: List[Dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": cut("RRMM: " + headline(rec),
                                                                      SLACK_HEADER_CHARS), "emoji": True}},
        _mrkdwn_section("\n".join(head)),
    ]
    if rec.get("read_as"):  # the case as read comes first, under the title
        blocks.insert(1, _mrkdwn_section(f"*Read as:* {e(rec['read_as'])}"))
    groups, more = _options(rec, max_options)
    if groups:
        blocks.append({"type": "divider"})
        blocks.append(_mrkdwn_section("*Options (ranked)*"))
        for heading, group in groups:
            blocks.append(_mrkdwn_section(f"_{e(heading)}_"))
            for i, o in group:
                lines = [f"*{i}. {e(o['regimen'])}*: {e(o['name'])}"]
                lines += [f"*{LABELS[kind]}:* {e(text)}" for kind, text in option_lines(o, rec)]
                blocks.append(_mrkdwn_section("\n".join(lines)))
        if more:
            blocks.append({"type": "context", "elements": [
                {"type": "mrkdwn", "text": f"+{more} more: ask for all options"}]})
    elif _no_option_text(rec) and not trial_line:
        blocks.append(_mrkdwn_section(e(_no_option_text(rec))))
    ruled = _ruled_out(rec)
    if ruled:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": cut(
            "*Ruled out:* " + ", ".join(e(x["regimen"]) for x in ruled) + e(' (ask "why not <regimen>?")'),
            SLACK_CONTEXT_CHARS)}]})
    main, info = split_cautions(rec)
    if main or info:
        blocks.append({"type": "divider"})
        blocks += _packed_sections("Cautions", [
            f"{_SLACK_SEVERITY.get(c['severity'], e(c['severity']))} *{e(caution_name(c))}*: {e(c['text'])}\n"
            f"      _because: {e('; '.join(c.get('because', [])))}_" for c in main])
        if info:
            text = cut(f"{_SLACK_SEVERITY['info']} {e(info_line(info))}", SLACK_CONTEXT_CHARS)
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]})
    if rec.get("transplant"):
        blocks += _packed_sections("Transplant", [f"• {e(transplant_line(t))}" for t in rec["transplant"]])
    footer = [{"type": "context", "elements": [{"type": "mrkdwn", "text": cut(e(knowledge_line(rec)),
                                                                             SLACK_CONTEXT_CHARS)}]},
              {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(":information_source: "
                                                                             + e(rec["disclaimer"]),
                                                                             SLACK_CONTEXT_CHARS)}]}]
    if len(blocks) + len(footer) > SLACK_MAX_BLOCKS:  # cannot happen with the catalog's sizes; a hard guard
        blocks = blocks[: SLACK_MAX_BLOCKS - len(footer) - 1] + [{"type": "context", "elements": [
            {"type": "mrkdwn", "text": "(shortened: ask for the summary)"}]}]
    blocks += footer
    return {"text": slack_fallback_text(rec, max_options), "blocks": blocks}


# ---- Microsoft Teams (Adaptive Card) -------------------------------------------------------------------
def teams_escape(text: str) -> str:
    """Neutralises the markdown Adaptive Card TextBlocks interpret, so data shows as written."""
    return re.sub(r"([\\*_\[\]`])", r"\\\1", str(text))


def _tb(text: str, **kw) -> Dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **kw}


_TEAMS_COLOR = {"high": "Attention", "moderate": "Warning", "info": "Default"}
TEAMS_INFO_ID = "rrmm-info-cautions"


def _teams_caution(c: Dict[str, Any], details: bool) -> List[Dict[str, Any]]:
    e = teams_escape
    out = [_tb(f"**{SEVERITY_MARK.get(c['severity'], c['severity'])}** {e(caution_name(c))}: {e(c['text'])}",
               color=_TEAMS_COLOR.get(c["severity"], "Default"), spacing="Small")]
    if details and c.get("because"):
        out.append(_tb("because: " + e("; ".join(c["because"])), isSubtle=True, size="Small", spacing="None"))
    return out


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
    trial_line = trial_headline(rec)
    if trial_line:
        body.append(_tb(f"**{e(trial_line)}**", color="Accent"))
    groups, more = _options(rec, max_options)
    actions: List[Dict[str, Any]] = []
    if groups:
        body.append(_tb("Options (ranked)", weight="Bolder", separator=True, spacing="Medium"))
        for heading, group in groups:
            body.append(_tb(e(heading), weight="Bolder", isSubtle=True, spacing="Small"))
            for i, o in group:
                items = [_tb(f"**{i}. {e(o['regimen'])}**: {e(o['name'])}")]
                lines = [f"{LABELS[kind]}: {text}" for kind, text in option_lines(o, rec) if details or kind != "note"]
                items += [_tb(e(line), isSubtle=True, spacing="None") for line in lines]
                body.append({"type": "Container", "items": items, "spacing": "Small"})
        if more:
            body.append(_tb(f"+{more} more: ask for all options", isSubtle=True, size="Small"))
    elif _no_option_text(rec) and not trial_line:
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
    main, info = split_cautions(rec)
    if main or info:
        body.append(_tb("Cautions", weight="Bolder", separator=True, spacing="Medium"))
        for c in main:
            body += _teams_caution(c, details)
        if info:
            body.append(_tb(e(info_line(info)), isSubtle=True, size="Small", spacing="Small"))
            if details:  # the clinician can show them on the card (Action.ToggleVisibility)
                hidden = [block for c in info for block in _teams_caution(c, details)]
                body.append({"type": "Container", "id": TEAMS_INFO_ID, "isVisible": False, "items": hidden})
                actions.append({"type": "Action.ToggleVisibility", "title": "Show info cautions",
                                "targetElements": [TEAMS_INFO_ID]})
    if rec.get("transplant"):
        body.append(_tb("Transplant", weight="Bolder", separator=True, spacing="Medium"))
        body += [_tb("- " + e(transplant_line(t)), spacing="Small") for t in rec["transplant"]]
    body.append(_tb(e(knowledge_line(rec)), isSubtle=True, size="Small", separator=True, spacing="Medium"))
    body.append(_tb(e(rec["disclaimer"]), isSubtle=True, size="Small", spacing="Small"))
    card = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": ADAPTIVE_CARD_VERSION,
        "fallbackText": cut(render_plain(rec, max_options=max_options), 4000),
        "msteams": {"width": "Full"},
        "body": body,
    }
    if actions:
        card["actions"] = actions
    return card


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
            "version": ADAPTIVE_CARD_VERSION,
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
def _html_caution(c: Dict[str, Any]) -> str:
    h = html.escape
    sev = c.get("severity", "info")
    return (f'<li class="rrmm-caution rrmm-sev-{h(sev)}"><span class="rrmm-sev">'
            f"{h(SEVERITY_MARK.get(sev, sev))}</span> <b>{h(caution_name(c))}</b>: {h(c['text'])}"
            f'<div class="rrmm-because">because: {h("; ".join(c.get("because", [])))}</div></li>')


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
    trial_line = trial_headline(rec)
    if trial_line:
        out.append(f'<p class="rrmm-trial-headline">{h(trial_line)}</p>')
    out.append("</header>")
    groups, more = _options(rec, max_options)
    if groups:
        out.append('<section class="rrmm-options"><h4>Options (ranked)</h4>')
        for heading, group in groups:
            out.append(f'<h5 class="rrmm-tier">{h(heading)}</h5><ol start="{group[0][0]}">')  # numbers run on
            for _, o in group:
                out.append(
                    f'<li class="rrmm-option" data-tier="{h(str(o.get("tier", "")))}"><div class="rrmm-option-title">'
                    f'<b class="rrmm-code">{h(o["regimen"])}</b> {h(o["name"])}</div>'
                )
                out += [f'<div class="{HTML_CLASSES[kind]}">{HTML_PREFIX.get(kind, "")}{h(text)}</div>'
                        for kind, text in option_lines(o, rec)]
                out.append("</li>")
            out.append("</ol>")
        if more:
            out.append(f'<p class="rrmm-more">+{more} more: ask for all options</p>')
        out.append("</section>")
    elif _no_option_text(rec) and not trial_line:
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
    main, info = split_cautions(rec)
    if main or info:
        out.append('<section class="rrmm-cautions"><h4>Cautions</h4><ul>')
        out += [_html_caution(c) for c in main]
        out.append("</ul>")
        if info:
            out.append(f'<details class="rrmm-info-cautions"><summary>{h(info_line(info))}</summary><ul>')
            out += [_html_caution(c) for c in info]
            out.append("</ul></details>")
        out.append("</section>")
    if rec.get("transplant"):
        out.append('<section class="rrmm-transplant"><h4>Transplant</h4><ul>')
        out += [f"<li>{h(transplant_line(t))}</li>" for t in rec["transplant"]]
        out.append("</ul></section>")
    out.append(f'<p class="rrmm-knowledge">{h(knowledge_line(rec))}</p>')
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
