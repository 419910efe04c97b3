"""The short answer: the first screen of a recommendation, and the layers one step away from it.

A clinician reads the answer between two patients, so the first screen holds only what decides the next step
(UpToDate's "Summary and recommendations", conventions.md): the case as read, the action, the clinical-trial
headline, the top tier's options and the next few (one line each: code and name, the reason, the approval in a few
words), the high cautions in plain words, what else can be asked, and the knowledge edition with the disclaimer.
It fits FIRST_SCREEN_LINES lines and FIRST_SCREEN_CHARS characters (tests/test_short_answer.py checks it over random
cases). Everything else is one step away (SECTIONS): "details" (the full answer, bot.clinical.render.render_text),
"cautions", "why not <regimen>", "transplant", "trials", "all options"; words in the shell, buttons elsewhere.
The recommendation JSON stays complete: this module only chooses what a person sees first.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from .kb import KnowledgeBase
from .kb import kb as default_kb
from .render import (
    caution_name,
    knowledge_line,
    no_label_recorded,
    no_option_text,
    one_line_rationale,
    option_lines,
    plain,
    ranked_options,
    read_as_line,
    render_cautions,
    render_text,
    split_cautions,
    tier_groups,
    tier_heading,
    transplant_line,
    trial_headline,
)

FIRST_SCREEN_LINES = 15
FIRST_SCREEN_CHARS = 1200
NEXT_OPTIONS = 3  # how many options of the following tiers the first screen shows at most, after the top tier
TOP_OPTIONS = 5  # the top tier's options shown at most (a longer tier says how many more)
# what the clinician can ask for next: (the words in the shell, the button's label)
SECTIONS: Tuple[Tuple[str, str], ...] = (("details", "Show details"), ("cautions", "Cautions"),
                                         ("transplant", "Transplant"), ("trials", "Trials"),
                                         ("all options", "All options"))
WHY_NOT = "why not <regimen>"
READ_AS_CHARS = 300  # a longer case as read is cut at a part's end on the first screen ("summary" shows it all)
ACTION_CHARS = 240  # a longer action is cut at a sentence's end when nothing else fits ("details" shows it all)


def approval_brief(option: Dict[str, object], k: Optional[KnowledgeBase] = None) -> Optional[str]:
    """The option's approval in the case's region in a few words, from its `label` field ("US: approved 2024-04",
    "EU: not approved"); None when the label says only that nothing is recorded (it would add nothing)."""
    label = str(option.get("label") or "")
    if not label or no_label_recorded(option, k):
        return None
    return ": ".join(label.split(": ")[:2])


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "?", "!")) else ".")


def option_line(number: int, option: Dict[str, object], name: bool = True, reason: str = "full",
                k: Optional[KnowledgeBase] = None) -> str:
    """"2. cilta-cel, ciltacabtagene autoleucel (BCMA CAR-T): CAR-T for lenalidomide-refractory disease; needs
    referral, apheresis and bridging therapy. US: approved 2024-04." `reason`: "full", "short" (its first clause)
    or "none"."""
    code, words = str(option["regimen"]), str(option.get("name") or "")
    line = f"{number}. {code}" + (f", {words}" if name and words and words != code else "")
    why = plain(one_line_rationale(option), k)
    if reason == "short":
        why = why.split("; ", 1)[0].split(" (", 1)[0]
    approval = approval_brief(option, k)
    tail = " ".join(x for x in ((_sentence(why) if why and reason != "none" else ""),
                                 (_sentence(approval) if approval else "")) if x)
    return line + (f": {tail}" if tail else "")


def more_line(rec: Dict[str, object], shown: int, k: Optional[KnowledgeBase] = None) -> str:
    """What the first screen leaves out, by count, the words that show it, and the knowledge edition."""
    k = k or default_kb()
    options = ranked_options(rec)
    ruled = [e for e in rec.get("excluded", []) if e.get("ruled_out")]
    counts = []
    if options:
        counts.append(f"{shown} of {len(options)} options" if len(options) > shown else
                      f"{len(options)} option{'' if len(options) == 1 else 's'}")
    if ruled and rec["initiation"]["action"] != "monitor":
        counts.append(f"{len(ruled)} ruled out")
    words = [w for w, _ in SECTIONS if w != "transplant" or rec.get("transplant")]
    if not options:
        words = [w for w in words if w not in ("all options", "trials")]
    words.insert(2 if len(words) > 1 else len(words), WHY_NOT)
    edition = f"Knowledge {rec.get('knowledge_edition') or k.edition}."  # the region: the Read-as line's last part
    return (("; ".join(counts) + ". ") if counts else "") + "Ask: " + ", ".join(words) + ". " + edition


def _cautions_line(rec: Dict[str, object], k: KnowledgeBase) -> Optional[str]:
    main, info = split_cautions(rec)
    high = [caution_name(c, k) for c in main if c.get("severity") == "high"]
    rest = len(main) - len(high) + len(info)
    if not high:
        return f"Cautions: {rest} (none high); say \"cautions\"." if rest else None
    return "High cautions: " + "; ".join(high) + "." + (f" (+{rest} more)" if rest else "")


@dataclass
class FirstScreen:
    """The first screen's parts; `lines()` is its text, and the channels mark the same parts up their own way."""

    read_as: Optional[str]  # the "Read as: ..." line (cut at a part's end when very long)
    action: str
    trial: Optional[str]
    options: List[Tuple[str, List[Tuple[int, str, str]]]] = field(default_factory=list)  # (tier, [(rank, code, rest)])
    tier_more: Optional[str] = None  # "(+2 more preferred: "all options")"
    no_option: Optional[str] = None
    cautions: Optional[str] = None
    more: str = ""
    disclaimer: str = ""
    shown: int = 0

    def lines(self) -> List[str]:
        out = [x for x in (self.read_as, f"Action: {self.action}", self.trial) if x]
        for heading, group in self.options:
            out.append(f"{heading}:")
            out += [f"{rank}. {code}{rest}" for rank, code, rest in group]
        out += [x for x in (self.tier_more, self.no_option, self.cautions, self.more, self.disclaimer) if x]
        return out

    def text(self) -> str:
        return "\n".join(self.lines())

    def fits(self) -> bool:
        return len(self.lines()) <= FIRST_SCREEN_LINES and len(self.text()) <= FIRST_SCREEN_CHARS


def _tier(option: Dict[str, object]) -> str:
    return str(option.get("tier") or ("preferred" if option.get("preferred") else "recommended"))


def _option_block(rec: Dict[str, object], screen: FirstScreen, n_top: int, n_next: int, name_next: bool, reason: str,
                  next_reason: str, k: KnowledgeBase) -> None:
    """Fills the screen's options (grouped by tier, numbered by rank), its "+N more" line and how many are shown."""
    options = ranked_options(rec)
    top_tier = _tier(options[0])
    top = [o for o in options if _tier(o) == top_tier]
    shown = list(enumerate(options, 1))  # numbered by rank, so a number always means the same option
    shown = shown[:min(n_top, len(top))] + shown[len(top):len(top) + n_next]
    screen.options = []
    for i, o in shown:
        if not screen.options or screen.options[-1][0] != tier_heading(_tier(o), k):
            screen.options.append((tier_heading(_tier(o), k), []))
        is_top = _tier(o) == top_tier
        line = option_line(i, o, name=is_top or name_next, reason=reason if is_top else next_reason, k=k)
        screen.options[-1][1].append((i, str(o["regimen"]), line[len(f"{i}. {o['regimen']}"):]))
    screen.tier_more = (f"(+{len(top) - n_top} more {tier_heading(top_tier, k).lower()}: \"all options\")"
                        if len(top) > n_top else None)
    screen.shown = len(shown)
    screen.more = more_line(rec, len(shown), k)


def _read_as(rec: Dict[str, object], limit: int = 0) -> Optional[str]:
    """The Read-as line, cut after its last whole part within READ_AS_CHARS (the case's first parts are the ones the
    recommendation turns on: lines, refractory and exposed drugs, fitness, transplant, relapse)."""
    line, limit = read_as_line(rec), limit or READ_AS_CHARS
    if not line or len(line) <= limit:
        return line
    more = '; ... ("summary" shows the whole case)'
    return line[:line.rfind("; ", 0, limit - len(more))] + more


def first_screen(rec: Dict[str, object], k: Optional[KnowledgeBase] = None) -> FirstScreen:
    """The first screen: at most FIRST_SCREEN_LINES lines and FIRST_SCREEN_CHARS characters. Long cases lose, in
    this order, the options after the top tier's (and their names and reasons' second clauses), the reasons' second
    clauses, the top tier's beyond three, and finally the reasons (the codes, numbers and approvals stay)."""
    k = k or default_kb()
    action = str(rec["initiation"]["text"])
    passes = [(READ_AS_CHARS, action), (READ_AS_CHARS - 80, cut_at_clause(action, ACTION_CHARS, " ... (\"details\")"))]
    for read_chars, said in passes:  # a long case or action is cut at a part's end only when nothing else fits
        screen = FirstScreen(_read_as(rec, read_chars), said, trial_headline(rec, k), cautions=_cautions_line(rec, k),
                             more=more_line(rec, 0, k), disclaimer=str(rec["disclaimer"]))
        if not ranked_options(rec):
            if rec["initiation"]["action"] != "monitor" and not screen.trial:
                screen.no_option = no_option_text(k)
            if screen.fits():
                return screen
            continue
        top, nxt = TOP_OPTIONS, NEXT_OPTIONS
        attempts = [(top, n, names, "full", "short") for n in range(nxt, 0, -1) for names in (True, False)]
        attempts += [(top, 1, False, "short", "short"), (top, 1, False, "full", "none"),
                     (top, 1, False, "short", "none"), (top, 0, False, "full", ""), (top, 0, False, "short", "")]
        attempts += [(t, n, False, r, "none") for r in ("short", "none") for t in (3, 2) for n in (1, 0)]
        for n_top, n_next, names, reason, next_reason in attempts:
            _option_block(rec, screen, n_top, n_next, names, reason, next_reason, k)
            if screen.fits():
                return screen
    for n_top, reason in ((2, "none"), (1, "none")):  # the last resort: the first options by code and approval
        _option_block(rec, screen, n_top, 0, False, reason, "none", k)
        if screen.fits():
            break
    return screen


def cut_at_clause(text: str, limit: int, more: str) -> str:
    """`text` cut after its last sentence or clause ending within `limit` characters, marked with `more`."""
    if len(text) <= limit:
        return text
    at = max(text.rfind(". ", 0, limit - len(more)), text.rfind("; ", 0, limit - len(more)))
    return (text[:at + 1] if at > 0 else text[:limit - len(more)]).rstrip(" ;") + more


def render_short(rec: Dict[str, object], k: Optional[KnowledgeBase] = None) -> str:
    """The first screen as text (the shell, REST, the chat text of every channel)."""
    return first_screen(rec, k).text()


# ---- the layers one step away -----------------------------------------------------------------------------------
def render_details(rec: Dict[str, object]) -> str:
    """Everything: every option with its lines, the ruled-out regimens with their reasons, every caution with why,
    the transplant advice, the knowledge edition and the disclaimer."""
    return render_text(rec, show_excluded=True)


def render_all_options(rec: Dict[str, object], k: Optional[KnowledgeBase] = None) -> str:
    """Every ranked option by tier, with its reason, approval, notes and key trial."""
    k = k or default_kb()
    options = ranked_options(rec)
    if not options:
        return no_option_text(k)
    lines = [f"All {len(options)} options (ranked):"]
    for heading, group in tier_groups(options):
        lines.append(f"{heading}:")
        for i, o in group:
            lines.append(f"{i}. {o['regimen']}: {o['name']}")
            lines += [f"   {kind.capitalize() if kind != 'trial' else 'Evidence'}: {plain(text, k)}"
                      for kind, text in option_lines(o, rec)]
    return "\n".join(lines + ["", knowledge_line(rec, k)])


def render_transplant(rec: Dict[str, object], k: Optional[KnowledgeBase] = None) -> str:
    k = k or default_kb()
    if not rec.get("transplant"):
        return "No transplant advice for this case."
    return "\n".join(["Transplant:"] + [f"- {transplant_line(t, k)}" for t in rec["transplant"]])


def render_trials(rec: Dict[str, object], k: Optional[KnowledgeBase] = None) -> str:
    """The clinical-trial headline, then the trials behind the options, each with the options it supports."""
    k = k or default_kb()
    lines = [x for x in (trial_headline(rec, k),) if x]
    by_trial: Dict[str, List[str]] = {}
    for o in ranked_options(rec):
        for tid in o.get("trials", []):
            by_trial.setdefault(tid, []).append(str(o["regimen"]))
    for t in rec.get("trials", []):
        regimens = by_trial.get(t["id"])
        if regimens:
            lines.append(f"- {t['id']} ({t['comparison']}): {t['result']} For: {', '.join(regimens)}. "
                         f"Source: {t['source']}.")
    if len(lines) == (1 if trial_headline(rec, k) else 0):
        lines.append("No trial is cited for this case's options.")
    return "\n".join(lines)


def section_of(text: str) -> str:
    """Which layer a message asks for: "transplant", "trials", "cautions", "all options", else "details"."""
    words = text.lower()
    for section, keys in (("transplant", ("transplant", "hct", "asct", "allo")), ("trials", ("trial", "evidence")),
                          ("cautions", ("caution", "warning", "toxicit")),
                          ("all options", ("all options", "every option", "other options", "more options", "all"))):
        if any(key in words for key in keys):
            return section
    return "details"


def render_section(rec: Dict[str, object], section: str) -> Optional[str]:
    """The text of one layer ("details", "cautions", "transplant", "trials", "all options"); None for another."""
    return {"details": render_details, "cautions": render_cautions, "transplant": render_transplant,
            "trials": render_trials, "all options": render_all_options}.get(section, lambda _: None)(rec)
