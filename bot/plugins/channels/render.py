"""Native renderings of the `rrmm_recommendation` payload, one per platform, from the payload dict alone.

Every rendering is layered (issue 21): the first screen of bot.clinical.short (the case as read, the action, the
clinical-trial headline, the top tier's options and the next few, the high cautions in plain words, the counts of
what else there is), then what is one step away.
- `render_plain(rec)`: the short answer as text (shell, REST, and the fallback of every channel).
- `render_slack(rec)`: `{"text": the short answer in mrkdwn, "blocks": [Block Kit]}`: the first screen, buttons
  ("Show details", "Cautions", "Transplant", "Trials", "All options": each asks the assistant for that layer, as
  Slack cannot fold part of a message), the counts and the disclaimer last; within Slack's limits (50 blocks, 150
  characters per header, 3000 per section text, 10 context elements).
- `render_teams(rec)`: a Bot Framework message activity carrying an Adaptive Card 1.5: the first screen, "Show
  details" (Action.ToggleVisibility) unfolding the rest on the card, buttons sending the words of the other layers
  (Action.Submit, imBack); under Teams' message size (about 28 KB): the folded part shrinks first.
- `render_html(rec)`: an HTML fragment for the web chat: the first screen, "Show details" as a <details>
  disclosure, buttons for the other layers; every value is escaped.

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
    plain,
    ranked_options,
    read_as_line,
    setting_label,
    split_cautions,
    tier_groups,
    transplant_line,
    unrecorded_line,
)
from bot.clinical.short import SECTIONS, first_screen, render_short

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
    """True for a plain-text message (no buttons, no payload) that is the text rendering of `rec`: its short answer
    (what the recommendation turn sends), or the full text (its assessment line first, or under the Read-as line)."""
    if any(message.get(k) for k in ("buttons", "quick_replies", "custom", "image", "attachment", "elements")):
        return False
    text = message.get("text")
    if not isinstance(text, str):
        return False
    try:
        if text.strip() == render_short(rec).strip():
            return True
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


def render_plain(rec: Dict[str, Any], max_options: Optional[int] = None) -> str:
    """Plain text (shell, REST, and the fallback of every channel): the short answer (bot.clinical.short)."""
    return render_short(rec)


def more_payload(section: str) -> str:
    """What a "more" button sends: the intent and the layer, read without the NLU (Rasa's `/intent{...}` form)."""
    if section == "cautions":
        return "/ask_cautions"
    return "/show_more" + json.dumps({"section": section})


def more_buttons(rec: Dict[str, Any]) -> List[Dict[str, str]]:
    """The buttons under an answer: [{"title", "payload", "words"}] ("words": what the shell user types), "Show
    details" first; transplant only when the answer advises on it, trials and all options only with options."""
    return [{"title": title, "payload": more_payload(section), "words": section} for section, title in SECTIONS
            if (section != "transplant" or rec.get("transplant"))
            and (section not in ("all options", "trials") or ranked_options(rec))]


# ---- Slack -----------------------------------------------------------------------------------------------
def slack_escape(text: str) -> str:
    """Escapes the three characters Slack's mrkdwn reserves (&, <, >)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mrkdwn_section(text: str) -> Dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SLACK_SECTION_CHARS)}}


def slack_fallback_text(rec: Dict[str, Any], max_options: Optional[int] = None) -> str:
    """The message's `text`: the short answer, shown in notifications and by clients that do not draw blocks."""
    return cut(slack_escape(render_short(rec)), SLACK_TEXT_CHARS)


def render_slack(rec: Dict[str, Any], max_options: Optional[int] = None) -> Dict[str, Any]:
    """`{"text": ..., "blocks": [...]}` for chat.postMessage: the first screen, then buttons for the layers behind it
    ("Show details" first), the counts and knowledge edition, and the disclaimer last. Slack cannot fold a part of a
    message, so "Show details" asks the assistant for it (a message of its own)."""
    e = slack_escape
    screen = first_screen(rec)
    head = [f"*Action:* {e(screen.action)}"] + ([f"*{e(screen.trial)}*"] if screen.trial else [])
    blocks: List[Dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": cut("RRMM: " + headline(rec),
                                                                      SLACK_HEADER_CHARS), "emoji": True}},
    ]
    if rec.get("read_as"):  # the case as read comes first, under the title
        blocks.append(_mrkdwn_section(f"*Read as:* {e(screen.read_as[len('Read as: '):])}"))
    blocks.append(_mrkdwn_section("\n".join(head)))
    for heading, group in screen.options:
        blocks.append(_mrkdwn_section(f"_{e(heading)}_\n" + "\n".join(
            f"*{rank}. {e(code)}*{e(rest)}" for rank, code, rest in group)))
    for extra in (screen.tier_more, screen.no_option):
        if extra:
            blocks.append(_mrkdwn_section(e(extra)))
    if screen.cautions:
        mark = ":red_circle: " if screen.cautions.startswith("High") else ""
        blocks.append(_mrkdwn_section(mark + e(screen.cautions)))
    blocks.append({"type": "actions", "block_id": "rrmm_more", "elements": [
        {"type": "button", "text": {"type": "plain_text", "text": b["title"]}, "value": b["payload"],
         "action_id": f"rrmm_more_{i}", **({"style": "primary"} if i == 0 else {})}
        for i, b in enumerate(more_buttons(rec))]})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": cut(e(screen.more),
                                                                                 SLACK_CONTEXT_CHARS)}]})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": cut(":information_source: "
                                                                                 + e(rec["disclaimer"]),
                                                                                 SLACK_CONTEXT_CHARS)}]})
    return {"text": slack_fallback_text(rec), "blocks": blocks[:SLACK_MAX_BLOCKS]}


# ---- Microsoft Teams (Adaptive Card) -------------------------------------------------------------------
def teams_escape(text: str) -> str:
    """Neutralises the markdown Adaptive Card TextBlocks interpret, so data shows as written."""
    return re.sub(r"([\\*_\[\]`])", r"\\\1", str(text))


def _tb(text: str, **kw) -> Dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **kw}


_TEAMS_COLOR = {"high": "Attention", "moderate": "Warning", "info": "Default"}
TEAMS_DETAILS_ID = "rrmm-details"


def _teams_caution(c: Dict[str, Any], details: bool) -> List[Dict[str, Any]]:
    e = teams_escape
    out = [_tb(f"**{SEVERITY_MARK.get(c['severity'], c['severity'])}** {e(caution_name(c))}: {e(plain(c['text']))}",
               color=_TEAMS_COLOR.get(c["severity"], "Default"), spacing="Small")]
    if details and c.get("because"):
        out.append(_tb("because: " + e("; ".join(c["because"])), isSubtle=True, size="Small", spacing="None"))
    return out


def _teams_details(rec: Dict[str, Any], max_options: Optional[int], details: bool) -> List[Dict[str, Any]]:
    """What "Show details" opens on the card: every option with its lines, the ruled-out regimens, every caution
    (with why, when `details`), the transplant advice and the knowledge edition."""
    e = teams_escape
    body: List[Dict[str, Any]] = [_tb(f"**Assessment:** {e(assessment_line(rec)[len('Assessment: '):])}")]
    body += [_tb(f"**Note:** {e(plain(n))}", isSubtle=True) for n in rec["assessment"].get("notes", [])]
    groups, more = _options(rec, max_options)
    if groups:
        body.append(_tb("Options (ranked)", weight="Bolder", separator=True, spacing="Medium"))
        for heading, group in groups:
            body.append(_tb(e(heading), weight="Bolder", isSubtle=True, spacing="Small"))
            for i, o in group:
                items = [_tb(f"**{i}. {e(o['regimen'])}**: {e(o['name'])}")]
                lines = [f"{LABELS[kind]}: {text}" for kind, text in option_lines(o, rec) if details or kind != "note"]
                items += [_tb(e(line), isSubtle=True, spacing="None") for line in lines]
                body.append({"type": "Container", "items": items, "spacing": "Small"})
        unrecorded = unrecorded_line([o for _, g in groups for _, o in g])
        if unrecorded:
            body.append(_tb(e(unrecorded), isSubtle=True, size="Small"))
        if more:
            body.append(_tb(f"+{more} more: ask for all options", isSubtle=True, size="Small"))
    ruled = _ruled_out(rec)
    if ruled:
        body.append(_tb("Ruled out: " + ", ".join(e(x["regimen"]) for x in ruled) + ' (ask "why not <regimen>?")',
                        isSubtle=True, size="Small"))
    main, info = split_cautions(rec)
    if main or info:
        body.append(_tb("Cautions", weight="Bolder", separator=True, spacing="Medium"))
        for c in main + (info if details else []):
            body += _teams_caution(c, details)
        if info and not details:
            body.append(_tb(e(info_line(info)), isSubtle=True, size="Small", spacing="Small"))
    if rec.get("transplant"):
        body.append(_tb("Transplant", weight="Bolder", separator=True, spacing="Medium"))
        body += [_tb("- " + e(transplant_line(t)), spacing="Small") for t in rec["transplant"]]
    body.append(_tb(e(knowledge_line(rec)), isSubtle=True, size="Small", separator=True, spacing="Medium"))
    return body


def adaptive_card(rec: Dict[str, Any], max_options: Optional[int] = None, details: bool = True,
                  folded: bool = True) -> Dict[str, Any]:
    """The first screen on the card, "Show details" (Action.ToggleVisibility) unfolding the rest on the card itself,
    and buttons that ask for a layer (Action.Submit sending the words, as if typed); the disclaimer last."""
    e = teams_escape
    screen = first_screen(rec)
    body: List[Dict[str, Any]] = [_tb("RRMM recommendation", size="Medium", weight="Bolder")]
    if screen.read_as:
        body.append(_tb(f"**Read as:** {e(screen.read_as[len('Read as: '):])}"))
    body.append(_tb(f"**Action:** {e(screen.action)}",
                    color="Attention" if rec["initiation"]["action"] == "start_immediately" else "Default"))
    if screen.trial:
        body.append(_tb(f"**{e(screen.trial)}**", color="Accent"))
    for heading, group in screen.options:
        body.append(_tb(e(heading), weight="Bolder", isSubtle=True, spacing="Small"))
        body += [_tb(f"**{rank}. {e(code)}**{e(rest)}", spacing="None") for rank, code, rest in group]
    body += [_tb(e(x), isSubtle=True, size="Small") for x in (screen.tier_more, screen.no_option) if x]
    if screen.cautions:
        body.append(_tb(e(screen.cautions), color="Attention" if screen.cautions.startswith("High") else "Default"))
    body.append(_tb(e(screen.more), isSubtle=True, size="Small"))
    actions: List[Dict[str, Any]] = []
    if folded:
        body.append({"type": "Container", "id": TEAMS_DETAILS_ID, "isVisible": False,
                     "items": _teams_details(rec, max_options, details)})
        actions.append({"type": "Action.ToggleVisibility", "title": "Show details",
                        "targetElements": [TEAMS_DETAILS_ID]})
    actions += [{"type": "Action.Submit", "title": b["title"], "data": {"msteams": {"type": "imBack",
                                                                                 "value": b["words"]}}}
                for b in more_buttons(rec) if b["words"] != "details"]
    body.append(_tb(e(rec["disclaimer"]), isSubtle=True, size="Small", separator=True, spacing="Medium"))
    card = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": ADAPTIVE_CARD_VERSION,
        "fallbackText": cut(render_plain(rec), 4000),
        "msteams": {"width": "Full"},
        "body": body,
        "actions": actions,
    }
    return card


def render_teams(rec: Dict[str, Any], max_options: Optional[int] = None) -> Dict[str, Any]:
    """Fields of a Bot Framework message activity with the card as its attachment, within Teams' size limit (the
    folded details shrink first: without the options' notes and the info cautions, then fewer options, then none)."""
    attempts = [(max_options, True, True), (max_options, False, True), (6, False, True), (3, False, True),
                (None, False, False)]
    for n, details, folded in attempts:
        card = adaptive_card(rec, n, details, folded)
        if len(json.dumps(card)) <= TEAMS_MAX_CARD_CHARS:
            break
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
            f"{h(SEVERITY_MARK.get(sev, sev))}</span> <b>{h(caution_name(c))}</b>: {h(plain(c['text']))}"
            f'<div class="rrmm-because">because: {h("; ".join(c.get("because", [])))}</div></li>')


def _html_details(rec: Dict[str, Any], max_options: Optional[int]) -> List[str]:
    """What "Show details" unfolds: the assessment, every option with its lines, the ruled-out regimens with their
    reasons, every caution with why, the transplant advice and the knowledge edition."""
    h = html.escape
    out = [f'<p class="rrmm-assessment"><b>Assessment:</b> {h(assessment_line(rec)[len("Assessment: "):])}</p>']
    out += [f'<p class="rrmm-note"><b>Note:</b> {h(plain(n))}</p>' for n in rec["assessment"].get("notes", [])]
    groups, more = _options(rec, max_options)
    if groups:
        out.append('<section class="rrmm-options"><h4>Options (ranked)</h4>')
        for heading, group in groups:
            out.append(f'<h5 class="rrmm-tier">{h(heading)}</h5><ol start="{group[0][0]}">')  # numbers run on
            for _, o in group:
                out.append(f'<li class="rrmm-option" data-tier="{h(str(o.get("tier", "")))}"><div class="rrmm-option-'
                           f'title"><b class="rrmm-code">{h(o["regimen"])}</b> {h(o["name"])}</div>')
                out += [f'<div class="{HTML_CLASSES[kind]}">{HTML_PREFIX.get(kind, "")}{h(text)}</div>'
                        for kind, text in option_lines(o, rec)]
                out.append("</li>")
            out.append("</ol>")
        unrecorded = unrecorded_line([o for _, g in groups for _, o in g])
        if unrecorded:
            out.append(f'<p class="rrmm-approval">{h(unrecorded)}</p>')
        if more:
            out.append(f'<p class="rrmm-more">+{more} more: ask for all options</p>')
        out.append("</section>")
    ruled = _ruled_out(rec)
    if ruled:
        out.append('<section class="rrmm-excluded"><h4>Ruled out</h4><ul>')
        for x in ruled:
            reasons = "; ".join(plain(r) for r in x.get("reasons", []) if not r.startswith("not among"))
            out.append(f"<li><b>{h(x['regimen'])}</b>: {h(reasons)}</li>")
        out.append("</ul>")
        rest = [x["regimen"] for x in rec.get("excluded", []) if not x.get("ruled_out")]
        if rest:
            out.append(f"<p>Not indicated in this setting: {h(', '.join(rest))}</p>")
        out.append("</section>")
    main, info = split_cautions(rec)
    if main or info:
        out.append('<section class="rrmm-cautions"><h4>Cautions</h4><ul>')
        out += [_html_caution(c) for c in main + info]
        out.append("</ul></section>")
    if rec.get("transplant"):
        out.append('<section class="rrmm-transplant"><h4>Transplant</h4><ul>')
        out += [f"<li>{h(transplant_line(t))}</li>" for t in rec["transplant"]]
        out.append("</ul></section>")
    out.append(f'<p class="rrmm-knowledge">{h(knowledge_line(rec))}</p>')
    return out


def render_html(rec: Dict[str, Any], max_options: Optional[int] = None) -> str:
    """An HTML fragment (classes `rrmm-*`, styled by web/static/rrmm-chat.css); all text escaped. The first screen
    (bot.clinical.short) shows; "Show details" is a <details> disclosure (keyboard and screen reader work natively);
    buttons ask for a layer (`data-say`: what the web chat sends, web/static/rrmm-chat.js)."""
    h = html.escape
    screen = first_screen(rec)
    out = ['<article class="rrmm-rec">', '<header class="rrmm-rec-head">',
           f'<h3>RRMM recommendation <span class="rrmm-setting">{h(headline(rec))}</span></h3>']
    if screen.read_as:
        out.append(f'<p class="rrmm-read-as"><b>Read as:</b> {h(screen.read_as[len("Read as: "):])}</p>')
    out.append(f'<p class="rrmm-action rrmm-action-{h(rec["initiation"]["action"])}"><b>Action:</b> '
               f"{h(screen.action)}</p>")
    if screen.trial:
        out.append(f'<p class="rrmm-trial-headline">{h(screen.trial)}</p>')
    out.append("</header>")
    if screen.options or screen.no_option:
        out.append('<section class="rrmm-first" aria-label="Options">')
        for heading, group in screen.options:
            out.append(f'<h4 class="rrmm-tier">{h(heading)}</h4><ol start="{group[0][0]}">')
            out += [f'<li class="rrmm-option"><b class="rrmm-code">{h(code)}</b>{h(rest)}</li>'
                    for _, code, rest in group]
            out.append("</ol>")
        out += [f'<p class="rrmm-more">{h(x)}</p>' for x in (screen.tier_more, screen.no_option) if x]
        out.append("</section>")
    if screen.cautions:
        high = " rrmm-sev-high" if screen.cautions.startswith("High") else ""
        out.append(f'<p class="rrmm-high-cautions{high}">{h(screen.cautions)}</p>')
    out.append('<details class="rrmm-details"><summary>Show details</summary><div class="rrmm-details-body">')
    out += _html_details(rec, max_options)
    out.append("</div></details>")
    buttons = [b for b in more_buttons(rec) if b["words"] != "details"]
    if buttons:
        out.append('<div class="rrmm-asks" role="group" aria-label="Ask about this answer">' + "".join(
            f'<button type="button" class="rrmm-ask" data-say="{h(b["payload"])}">{h(b["title"])}</button>'
            for b in buttons) + "</div>")
    out.append(f'<p class="rrmm-counts">{h(screen.more)}</p>')
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
