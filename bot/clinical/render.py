"""Text for people: the recommendation and the knowledge-base look-ups.

One renderer for the CLI, the Rasa replies and the plain-text channels. It works from the
Recommendation dict alone (the `rrmm_recommendation` payload), so a channel can call it on what it
received. Look-up texts (regimen, trial, cautions of a regimen, why-not) come from here too.
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional, Tuple

from .kb import KnowledgeBase
from .kb import kb as default_kb

SEVERITY_MARK = {"high": "HIGH", "moderate": "moderate", "info": "info"}
_SOURCE = re.compile(r"\s*\[[^\]]*\]$")


def one_line_rationale(option: Dict[str, object]) -> str:
    """The first rationale without its setting prefix and source bracket."""
    first = next((r for r in option["rationale"] if r != "preferred in this setting"), "")
    first = _SOURCE.sub("", first)
    if re.match(r"^S\d \(", first):
        first = first.split("): ", 1)[-1]
    return first


def key_trial(option: Dict[str, object], rec: Dict[str, object]) -> Optional[str]:
    """The option's trial that its first reason cites (e.g. CARTITUDE-4 for cilta-cel at first relapse), else its
    first trial."""
    trials = {t["id"]: t for t in rec.get("trials", [])}
    first = next((r for r in option["rationale"] if r != "preferred in this setting"), "")
    cited = _SOURCE.search(first)
    order = sorted(option["trials"], key=lambda tid: not (cited and re.search(rf"\b{re.escape(tid)}\b", cited.group())))
    for tid in order:
        t = trials.get(tid)
        if t:
            return f"{t['id']} ({t['comparison']}): {t['result']}"
    return None


def setting_label(setting: Optional[str], k: Optional[KnowledgeBase] = None) -> str:
    """'S3 lenalidomide- and anti-CD38-refractory' (the setting's short name from the knowledge base)."""
    k = k or default_kb()
    short = next((s.short_name for s in k.settings if s.id == setting), "")
    return f"{setting} {short}".strip()


def transplant_line(t: Dict[str, object], k: Optional[KnowledgeBase] = None) -> str:
    k = k or default_kb()
    verdict = k.say("transplant.recommended" if t["recommended"] else "transplant.not_recommended")
    return f"{t['option']}: {verdict}. {t['text']}"


def no_option_text(k: Optional[KnowledgeBase] = None) -> str:
    return (k or default_kb()).say("render.no_option")


def assessment_line(rec: Dict[str, object]) -> str:
    a = rec["assessment"]
    parts = []
    label = setting_label(a["setting"]) if a["setting"] else ""
    if label:
        parts.append(label)
    status = a["lenalidomide_status"]
    said = f"lenalidomide-{status}" in label or (status == "refractory" and "lenalidomide- and" in label)
    if a.get("lenalidomide_maintenance_progression"):
        parts.append(f"lenalidomide {status} (progression on maintenance only)")
    elif not said:  # the setting's name says it already ("S1 lenalidomide-sensitive")
        parts.append(f"lenalidomide {status}")
    state = "penta-refractory" if a["penta_refractory"] else (
        "triple-class refractory" if a["triple_class_refractory"] else "")
    if state and state not in label:
        parts.append(state)
    parts.append(f"fitness {a['fitness']}")
    if a["aggressive"]:
        parts.append("aggressive relapse (" + ", ".join(a["aggressive_features"]) + ")")
    if a.get("region"):
        parts.append(f"region {a['region']}")
    return "Assessment: " + "; ".join(parts)


# ---- the parts every rendering shows (text here; Slack, Teams and HTML in bot/plugins/channels/render.py) ----------
TRIAL = "trial"
TEXT_LABELS = {"why": "Why", "approval": "Approval", "note": "Note", "trial": "Evidence"}  # option_lines' kinds
TIER_HEADINGS = ("preferred", "recommended", "circumstances")
SEVERITY_ORDER = ("high", "moderate", "info")


def trial_headline(rec: Dict[str, object], k: Optional[KnowledgeBase] = None) -> Optional[str]:
    """The clinical-trial line shown above the ranked options (R4: a headline, not a ranked item)."""
    trial = next((o for o in rec.get("options", []) if o["regimen"] == TRIAL), None)
    if trial is None:
        return None
    k = k or default_kb()
    return k.say("render.trial_preferred" if trial.get("tier") == "preferred" else "render.trial_recommended")


def ranked_options(rec: Dict[str, object]) -> List[Dict[str, object]]:
    """The options without the clinical trial (which is a headline): the numbered list."""
    return [o for o in rec.get("options", []) if o["regimen"] != TRIAL]


def tier_heading(tier: str, k: Optional[KnowledgeBase] = None) -> str:
    return (k or default_kb()).say(f"render.tier_{tier}")


def tier_groups(options: List[Dict[str, object]]) -> List[Tuple[str, List[Tuple[int, Dict[str, object]]]]]:
    """[(heading, [(number, option), ...]), ...] in tier order; numbering runs on across the groups."""
    groups: Dict[str, List[Tuple[int, Dict[str, object]]]] = {}
    for i, o in enumerate(options, 1):
        groups.setdefault(o.get("tier") or ("preferred" if o.get("preferred") else "recommended"), []).append((i, o))
    return [(tier_heading(t), groups[t]) for t in TIER_HEADINGS if t in groups]


def option_notes(option: Dict[str, object]) -> List[str]:
    """What qualifies an option (cross-resistance, label and tier changes, demotions)."""
    return list(option.get("notes", []))


def option_lines(option: Dict[str, object], rec: Dict[str, object]) -> List[Tuple[str, str]]:
    """What every rendering shows under an option, in order, as (kind, text): "why" (the one-line rationale),
    "approval" (the label in the case's region, when known), each "note", and "trial" (the key trial, when any).
    Each renderer gives the kinds its own labels and markup."""
    out = [("why", one_line_rationale(option))]
    if option.get("label"):
        out.append(("approval", str(option["label"])))
    out += [("note", n) for n in option_notes(option)]
    trial = key_trial(option, rec)
    if trial:
        out.append(("trial", trial))
    return out


def sorted_cautions(rec: Dict[str, object]) -> List[Dict[str, object]]:
    return sorted(rec.get("cautions", []), key=lambda c: SEVERITY_ORDER.index(c["severity"])
                  if c.get("severity") in SEVERITY_ORDER else len(SEVERITY_ORDER))


def split_cautions(rec: Dict[str, object]) -> Tuple[List[Dict[str, object]], List[Dict[str, object]]]:
    """(high and moderate cautions, highest first; the `info` ones, folded into one line)."""
    cautions = sorted_cautions(rec)
    return [c for c in cautions if c.get("severity") != "info"], [c for c in cautions if c.get("severity") == "info"]


def caution_name(c: Dict[str, object]) -> str:
    return str(c["id"]).replace("_", " ")


def info_line(info: List[Dict[str, object]], k: Optional[KnowledgeBase] = None) -> str:
    return (k or default_kb()).say("render.info_cautions", names=", ".join(caution_name(c) for c in info))


def knowledge_line(rec: Dict[str, object], k: Optional[KnowledgeBase] = None) -> str:
    """"Knowledge as of 2026-11; US labels; ..." (every recommendation shows it)."""
    k = k or default_kb()
    a = rec.get("assessment", {})
    return k.say("render.knowledge", edition=rec.get("knowledge_edition") or k.edition,
                 region=a.get("region") or k.regions[0])


RELAPSE_WORDS = {"clinical": "clinical relapse", "biochemical": "biochemical relapse only",
                 "none": "relapse criteria not met"}


def read_as(case, k: Optional[KnowledgeBase] = None) -> str:
    """The case as the assistant read it, in one line (clinical-spec section 9), so that a misreading shows and can
    be corrected: "2 prior lines; refractory: daratumumab, lenalidomide; fit; not transplant-eligible; clinical
    relapse", then what else the case holds. `case`: a bot.clinical.models.Case."""
    k = k or default_kb()
    parts = [f"{case.prior_lines} prior line{'' if case.prior_lines == 1 else 's'}",
             "refractory: " + (", ".join(case.refractory) if case.refractory else "none")]
    if case.exposed:
        parts.append("exposed: " + ", ".join(case.exposed))
    if case.lenalidomide_maintenance_only:
        parts.append("progressed on lenalidomide maintenance")
    if case.days_since_last_lenalidomide is not None:
        parts.append(f"{case.days_since_last_lenalidomide} days since the last lenalidomide")
    fitness = [case.fitness] if case.fitness else []
    if case.rmci is not None:
        fitness.append(f"R-MCI {case.rmci}")
    parts += [" (".join(fitness) + (")" if len(fitness) > 1 else "")] if fitness else ["fitness not given"]
    if case.transplant_eligible is not None:
        parts.append("transplant-eligible" if case.transplant_eligible else "not transplant-eligible")
    if case.prior_auto_hct is not None:
        hct = f"{case.prior_auto_hct} prior autologous transplant{'' if case.prior_auto_hct == 1 else 's'}"
        if case.months_remission_after_hct is not None:
            hct += f" ({case.months_remission_after_hct} months of remission)"
        parts.append(hct)
    parts.append(RELAPSE_WORDS.get(case.relapse, str(case.relapse)))
    if case.age is not None:
        parts.append(f"age {case.age}")
    if case.high_risk_cytogenetics:
        parts.append("high-risk cytogenetics: " + ", ".join(case.high_risk_cytogenetics))
    flags = [label for flag, label in k.flag_labels.items() if getattr(case, flag, None) is True]
    if flags:
        parts.append(", ".join(flags))
    absent = [label for flag, label in k.flag_labels.items()
              if getattr(case, flag, None) is False and flag != "covid_vaccination_up_to_date"]
    if absent:
        parts.append("no " + ", no ".join(absent))
    if case.unavailable:
        parts.append("not available: " + ", ".join(case.unavailable))
    region = getattr(case, "region", None)
    if region:
        parts.append(f"{region} labels")
    return "; ".join(parts)


def read_as_line(rec: Dict[str, object]) -> Optional[str]:
    """'Read as: ...', the first line of every rendering of a recommendation (None when the payload has none)."""
    return f"Read as: {rec['read_as']}" if rec.get("read_as") else None


def render_text(rec: Dict[str, object], show_excluded: bool = False, max_options: Optional[int] = None) -> str:
    lines = [read_as_line(rec)] if read_as_line(rec) else []
    lines += [assessment_line(rec), f"Action: {rec['initiation']['text']}"]
    lines += [f"Note: {n}" for n in rec["assessment"].get("notes", [])]
    headline = trial_headline(rec)
    if headline:
        lines.append(headline)
    options = ranked_options(rec)
    if options:
        lines.append("")
        lines.append("Options (ranked):")
        shown = options if max_options is None else options[:max_options]
        for heading, group in tier_groups(shown):
            lines.append(f"{heading}:")
            for i, o in group:
                lines.append(f"{i}. {o['regimen']}: {o['name']}")
                lines += [f"   {TEXT_LABELS[kind]}: {text}" for kind, text in option_lines(o, rec)]
        if len(shown) < len(options):
            lines.append(f"   (+{len(options) - len(shown)} more: ask for all options)")
    elif rec["initiation"]["action"] != "monitor" and not headline:
        lines += ["", no_option_text()]
    ruled = [e for e in rec["excluded"] if e["ruled_out"]]
    if ruled and rec["initiation"]["action"] != "monitor":
        lines.append("")
        if show_excluded:
            lines.append("Ruled out:")
            lines += [
                f"- {e['regimen']}: {'; '.join(r for r in e['reasons'] if not r.startswith('not among'))}"
                for e in ruled
            ]
            rest = [e["regimen"] for e in rec["excluded"] if not e["ruled_out"]]
            if rest:
                lines.append("Not indicated in this setting: " + ", ".join(rest))
        else:
            lines.append("Ruled out: " + ", ".join(e["regimen"] for e in ruled) + ' (ask "why not <regimen>?")')
    main, info = split_cautions(rec)
    if main or info:
        lines.append("")
        lines.append("Cautions:")
        lines += caution_lines(main)
        if info:
            lines.append(info_line(info))
    if rec["transplant"]:
        lines.append("")
        lines.append("Transplant:")
        for t in rec["transplant"]:
            lines.append(f"- {transplant_line(t)}")
    lines += ["", knowledge_line(rec), rec["disclaimer"]]
    return "\n".join(lines)


def caution_lines(cautions: List[Dict[str, object]]) -> List[str]:
    out = []
    for c in cautions:
        out.append(f"- [{SEVERITY_MARK[c['severity']]}] {c['id']}: {c['text']}")
        out.append(f"  because: {'; '.join(c['because'])}")
    return out


def render_cautions(rec: Dict[str, object]) -> str:
    """Every caution of a recommendation, the `info` ones too ("cautions" in the chat)."""
    lines = ["Cautions for this case:"] + caution_lines(sorted_cautions(rec))
    return "\n".join(lines + ["", knowledge_line(rec)])


def why_not(rec: Dict[str, object], code: str, k: Optional[KnowledgeBase] = None) -> str:
    """Why a regimen is, or is not, among the options of this recommendation (with its label for the region)."""
    k = k or default_kb()
    region = rec.get("assessment", {}).get("region") or k.regions[0]
    for o in rec["options"]:
        if o["regimen"] == code:
            if code == TRIAL:
                return f"{trial_headline(rec, k)} ({tier_heading(o.get('tier', 'recommended'), k).lower()})"
            i = next(n for n, x in enumerate(ranked_options(rec), 1) if x["regimen"] == code)
            tier = tier_heading(o.get("tier", "preferred" if o["preferred"] else "recommended"), k).lower()
            notes = "".join(f" {n[:1].upper()}{n[1:]}." for n in option_notes(o))
            return f"{code} is option {i} for this case ({tier}): {one_line_rationale(o)}.{notes} " \
                   f"Approval: {o.get('label') or k.approval_line(code, region)}."
    for e in rec["excluded"]:
        if e["regimen"] == code:
            text = f"{code} is not an option for this case: " + "; ".join(e["reasons"]) + "."
            if code in k.labels and not any(" label" in r for r in e["reasons"]):
                text += f" Approval: {k.approval_line(code, region)}."
            return text
    return (
        f"{code} is a transplant option; see the transplant advice."
        if code in {t["option"] for t in rec["transplant"]}
        else f"{code} is not in the regimen catalog."
    )


def render_regimen(code: str, k: Optional[KnowledgeBase] = None) -> str:
    k = k or default_kb()
    reg = k.regimen(code)
    lines = [f"{reg.code}: {reg.name}"]
    if reg.components and reg.intensity != "transplant":
        lines.append("Components: " + ", ".join(f"{d} ({k.drugs[d].drug_class})" for d in reg.components))
    if reg.aliases:
        lines.append("Also written: " + ", ".join(reg.aliases))
    settings = [f"{s.id} ({s.name}, {c.tier})" for s in k.settings for c in s.candidates if c.regimen == reg.code]
    if settings:
        lines.append("Listed for: " + "; ".join(settings))
    if reg.code in k.labels:
        lines.append("Approval: " + k.approval_line(reg.code))
    if reg.requires_t11_14:
        lines.append("Requires: t(11;14)")
    if reg.salvage_note:
        lines.append(f"Note: {reg.salvage_note}")
    for tid in reg.trials:
        t = k.trials[tid]
        lines.append(f"Trial {t.id}: {t.comparison} ({t.setting}): {t.result} Source: {t.source}.")
    cautions = regimen_cautions(reg.code, k)
    if cautions:
        lines.append("Cautions: " + ", ".join(cautions))
    lines.append(f"Knowledge as of {k.edition}.")
    return "\n".join(lines)


def render_drug(drug: str, k: Optional[KnowledgeBase] = None) -> str:
    """What the knowledge base holds on a drug ("what is selinexor?"); a drug that is also a regimen (a CAR-T, a
    bispecific) is shown as that regimen."""
    k = k or default_kb()
    d = k.drugs[k.drug_id(drug)]
    if d.id in k.regimens:
        return render_regimen(d.id, k)
    kind = k.classes[d.drug_class]["name"] + (f", {d.modality}" if d.modality else "")
    lines = [f"{d.id} ({kind})"]
    if d.aliases:
        lines.append("Also written: " + ", ".join(d.aliases))
    regimens = [r.code for r in k.regimens.values() if d.id in r.components]
    if regimens:
        lines.append("In the regimens: " + ", ".join(regimens) + ' (ask "what is <regimen>?")')
    lines.append(f"Knowledge as of {k.edition}.")
    return "\n".join(lines)


def regimen_cautions(code: str, k: Optional[KnowledgeBase] = None) -> List[str]:
    """Caution ids a regimen triggers by itself (regulatory_status: not approved in a region), plus those
    shown with every recommendation."""
    k = k or default_kb()
    code = k.regimen_code(code)
    own = {cid for cid, _ in k.caution_hits[code]}
    label = k.labels.get(code)
    if label is not None and label.unapproved:  # not approved, withdrawn or off-label in a region (2026-12)
        own.add("regulatory_status")
    return [c.id for c in k.cautions.values() if c.id in own or c.triggers.get("always")]


def drug_cautions_text(drug: str, k: Optional[KnowledgeBase] = None) -> str:
    """Cautions a single drug triggers (by drug, class or modality), for "cautions with pom?"; a drug that is also a
    regimen (a CAR-T, a bispecific) gets that regimen's cautions."""
    k = k or default_kb()
    d = k.drugs[k.drug_id(drug)]
    if d.id in k.regimens:
        return render_regimen_cautions(d.id, k)
    lines = [f"Cautions with {d.id} ({k.classes[d.drug_class]['name']}):"]
    keys = {d.id, d.drug_class, d.modality}
    for c in k.cautions.values():
        t = c.triggers
        if (
            d.id in t.get("drugs", ())
            or d.drug_class in t.get("classes", ())
            or (d.modality and d.modality in t.get("modalities", ()))
        ):
            notes = " ".join(text for key, text in c.notes.items() if key in keys)
            lines.append(f"- {c.id}: {c.text}{' ' + notes if notes else ''}")
    if len(lines) == 1:
        lines.append(
            "- none specific to this drug in the knowledge base (infection and COVID-19 vaccination apply to "
            "every regimen)"
        )
    return "\n".join(lines)


def render_regimen_cautions(code: str, k: Optional[KnowledgeBase] = None) -> str:
    k = k or default_kb()
    reg = k.regimen(code)
    lines = [f"Cautions with {reg.code} ({reg.name}):"]
    for cid in regimen_cautions(reg.code, k):
        c = k.cautions[cid]
        if cid == "regulatory_status":
            notes = k.approval_line(reg.code) + "."
        else:
            notes = " ".join(k.caution_notes.get(c.id, {}).get(reg.code, ()))
        lines.append(f"- {c.id}: {c.text}{' ' + notes if notes else ''}")
    return "\n".join(lines)


def render_trial(trial_id: str, k: Optional[KnowledgeBase] = None) -> str:
    k = k or default_kb()
    t = k.trials[k.trial_id(trial_id)]
    return "\n".join(
        [
            f"{t.id}: {t.comparison}",
            f"Setting: {t.setting}",
            f"Result: {t.result}",
            f"Regimens: {', '.join(t.regimens)}",
            f"Source: {t.source} (checked {t.checked})",
            f"Knowledge as of {k.edition}.",
        ]
    )


# ---- the copy-to-note summary ("note" in the chat, "Copy to note" in the web chat) -------------------------------
NOTE_MAX_CHARS = 1500
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


def _note_options(rec: Dict[str, object], region: str, names: bool, limit: Optional[int]) -> List[str]:
    options = ranked_options(rec)
    shown = options if limit is None else options[:limit]
    lines = []
    for heading, group in tier_groups(shown):
        lines.append(f"{heading}:")
        for i, o in group:
            extra = [x for x in (key_trial_id(o, rec), f"{region}: {approval_words(o, region)}") if x]
            name = f" ({o['name']})" if names else ""
            lines.append(f"  {i}. {o['regimen']}{name} - {'; '.join(extra)}")
    if len(shown) < len(options):
        lines.append(f"  (+{len(options) - len(shown)} more options in the full recommendation)")
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
        tail.append("High cautions: " + ", ".join(high) + ".")
    if rec.get("transplant"):
        tail.append("Transplant: " + "; ".join(
            f"{t['option']} {'advised' if t['recommended'] else 'not advised now'}" for t in rec["transplant"]) + ".")
    tail += [f"Source: RRMM assistant (engine {rec.get('engine_version', '?')}, knowledge as of {edition}).",
             str(rec["disclaimer"])]
    if not ranked_options(rec):
        body = [] if rec["initiation"]["action"] == "monitor" or headline else [no_option_text(k)]
        return "\n".join(head + body + tail)[:NOTE_MAX_CHARS]
    attempts = [(True, None), (False, None)] + [(False, n) for n in (6, 4, 3, 2, 1)]
    for names, limit in attempts:
        text = "\n".join(head + ["Options (ranked):"] + _note_options(rec, region, names, limit) + tail)
        if len(text) <= NOTE_MAX_CHARS:
            return text
    return text[: NOTE_MAX_CHARS - 1].rstrip() + "…"
