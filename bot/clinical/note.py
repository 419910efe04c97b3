"""The copy-to-note summary ("note" in the chat, "Copy to note" in the web chat): plain text for a clinical note.

At most NOTE_MAX_CHARS characters; when the options do not all fit, the note names every option it leaves out and
says how many ("Not listed here: 3 more options (EPd, BPd, VCd)").
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional

from .kb import KnowledgeBase
from .kb import kb as default_kb
from .render import (
    assessment_line,
    caution_name,
    key_trial,
    no_option_text,
    ranked_options,
    split_cautions,
    tier_groups,
    trial_headline,
)
from .short import cut_at_clause

NOTE_MAX_CHARS = 1500
NOTE_CASE_CHARS = 320  # the case as read, cut at a part's end only when the note would not fit otherwise
_AGE = re.compile(r"\bage (\d{2,3})\b")


def key_trial_id(option: Dict[str, object], rec: Dict[str, object]) -> Optional[str]:
    """The id of the option's key trial (the one key_trial shows), or None."""
    line = key_trial(option, rec)
    return line.split(" (", 1)[0] if line else None


def approval_words(option: Dict[str, object], region: str, k: Optional[KnowledgeBase] = None) -> str:
    """The option's approval in the region in a few words: 'approved 2024-04', 'not approved', 'no restriction
    recorded' (an option without a label entry)."""
    k = k or default_kb()
    label = k.labels.get(str(option["regimen"]))
    if label is None or region not in label.regions:
        return "no restriction recorded"
    if str(option.get("label", "")).startswith(f"{region}: off-label here"):  # the case does not meet the label
        return "off-label here"
    return label.regions[region].status_text


def _note_case_line(rec: Dict[str, object]) -> str:
    """The case as read (the Read-as line when the recommendation has one, else its assessment), with an age over
    89 written as "over 89" (HIPAA Safe Harbor: such an age is an identifier)."""
    read = rec.get("read_as")
    text = f"Case as read: {read}" if read else assessment_line(rec)
    return _AGE.sub(lambda m: "age over 89" if int(m.group(1)) > 89 else m.group(0), text)


def _note_options(rec: Dict[str, object], region: str, names: bool, limit: Optional[int],
                  name_left: bool = True) -> List[str]:
    options = ranked_options(rec)
    shown = options if limit is None else options[:limit]
    lines = []
    for heading, group in tier_groups(shown):
        lines.append(f"{heading}:")
        for i, o in group:
            extra = [x for x in (key_trial_id(o, rec), f"{region}: {approval_words(o, region)}") if x]
            name = f" ({o['name']})" if names else ""
            lines.append(f"  {i}. {o['regimen']}{name} - {'; '.join(extra)}")
    left = options[len(shown):]
    if left:
        lines.append(f"  Not listed here: {len(left)} more option{'' if len(left) == 1 else 's'}"
                     + (" (" + ", ".join(str(o["regimen"]) for o in left) + ")" if name_left else
                        " (see the full recommendation)"))
    return lines


def render_note(rec: Dict[str, object], k: Optional[KnowledgeBase] = None) -> str:
    """A plain-text summary for pasting into a clinical note: the case as read, the action, the options by tier with
    their key trial and approval in the case's region, the high cautions, transplant in a word, the knowledge edition
    and the disclaimer. No identifiers (the recommendation holds none; an age over 89 is written as such), no
    markdown, at most NOTE_MAX_CHARS characters (long answers drop the regimens' full names, then options)."""
    k = k or default_kb()
    region = str(rec.get("assessment", {}).get("region") or k.regions[0])
    edition = rec.get("knowledge_edition") or k.edition
    head = [f"RRMM decision support ({region} labels, knowledge as of {edition})", _note_case_line(rec)]
    if rec.get("read_as"):
        head.append(assessment_line(rec))
    head.append(f"Action: {rec['initiation']['text']}")
    headline = trial_headline(rec, k)
    if headline:
        head.append(headline)
    tail = []
    main, _ = split_cautions(rec)
    high = [caution_name(c) for c in main if c.get("severity") == "high"]
    if high:
        tail.append("High cautions: " + "; ".join(high) + ".")
    if rec.get("transplant"):
        tail.append("Transplant: " + "; ".join(
            f"{t['option']} {'advised' if t['recommended'] else 'not advised now'}" for t in rec["transplant"]) + ".")
    tail += [f"Source: RRMM assistant (engine {rec.get('engine_version', '?')}, knowledge as of {edition}).",
             str(rec["disclaimer"])]
    count = len(ranked_options(rec))
    attempts = [(True, None, True), (False, None, True)] + [(False, n, True) for n in range(count - 1, 0, -1)]
    attempts += [(False, n, False) for n in range(count - 1, -1, -1)]  # too many left out to name: their count
    short_case = _cut_parts(head[1], NOTE_CASE_CHARS, "; ... (the whole case in the full recommendation)")
    action = f"Action: {rec['initiation']['text']}"
    short_action = cut_at_clause(action, NOTE_CASE_CHARS, " ... (see the full recommendation)")
    # a very long case as read, then a very long action, are cut at a part's end, last of all
    for case_line, said in ((head[1], action), (short_case, action), (short_case, short_action)):
        top = [head[0], case_line] + [said if line == action else line for line in head[2:]]
        if not count:
            body = [] if rec["initiation"]["action"] == "monitor" or headline else [no_option_text(k)]
            text = "\n".join(top + body + tail)
            if len(text) <= NOTE_MAX_CHARS:
                return text
            continue
        for names, limit, name_left in attempts:
            text = "\n".join(top + ["Options (ranked):"] + _note_options(rec, region, names, limit, name_left) + tail)
            if len(text) <= NOTE_MAX_CHARS:
                return text
    return text[: NOTE_MAX_CHARS - 1].rstrip() + "…"


def _cut_parts(line: str, limit: int, more: str) -> str:
    """`line` cut after its last whole "; "-separated part that fits in `limit` characters with `more`."""
    if len(line) <= limit:
        return line
    return line[:line.rfind("; ", 0, limit - len(more))] + more
