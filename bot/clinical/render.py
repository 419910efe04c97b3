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
    """'lenalidomide- and anti-CD38-refractory': the setting's short name from the knowledge base (its id, S3, stays
    in the JSON)."""
    k = k or default_kb()
    return next((s.short_name for s in k.settings if s.id == setting), str(setting or ""))


_SETTING_IDS = re.compile(r"\bS[1-9](?:(?:, | and | or )S[1-9])*\b")
_RULE_CODES = re.compile(r"\s*\((?:R\d+(?:, R\d+)*|clinical-spec[^)]*)\)")


def plain(text: str, k: Optional[KnowledgeBase] = None) -> str:
    """A sentence of the engine as a person reads it: setting ids in words ("not among the regimens indicated for
    lenalidomide- and anti-CD38-refractory or triple-class refractory disease") and rule codes ("(R9)") left out.
    The wording is the engine's; only the codes change."""
    k = k or default_kb()

    def settings(m: "re.Match[str]") -> str:
        names = [setting_label(x, k) for x in re.findall(r"S[1-9]", m.group())]
        return (", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]) + " disease"

    text = _RULE_CODES.sub("", _SETTING_IDS.sub(settings, str(text)))
    if "_" in text:  # a caution named by its id inside a sentence ("see car_t_late_effects")
        text = re.sub(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b", lambda m: k.cautions[m.group()].title
                      if m.group() in k.cautions else m.group().replace("_", " "), text)  # "(cell therapy)"
    return text


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
    out = [("why", plain(one_line_rationale(option)))]
    if option.get("label") and not no_label_recorded(option):  # that one is said once for all (unrecorded_line)
        out.append(("approval", str(option["label"])))
    out += [("note", plain(n)) for n in option_notes(option)]
    trial = key_trial(option, rec)
    if trial:
        out.append(("trial", trial))
    return out


def no_label_recorded(option: Dict[str, object], k: Optional[KnowledgeBase] = None) -> bool:
    """True when the option's approval line only says that no regional restriction is recorded."""
    label = str(option.get("label") or "")
    try:
        return bool(label) and label == (k or default_kb()).say("label.no_entry", region=label.split(": ", 1)[0])
    except KeyError:  # 2026-12: every regimen has a label, and the sentence is gone
        return False


def unrecorded_line(options: List[Dict[str, object]], k: Optional[KnowledgeBase] = None) -> Optional[str]:
    """The options whose approval line would only say that nothing is recorded, said once instead of under each:
    "Approval: US: no regional restriction recorded; check the local label (KPd, PVd, SVd)"."""
    codes = [str(o["regimen"]) for o in options if no_label_recorded(o, k)]
    if not codes:
        return None
    return f"Approval: {next(o['label'] for o in options if no_label_recorded(o, k))} ({', '.join(codes)})"


def sorted_cautions(rec: Dict[str, object]) -> List[Dict[str, object]]:
    return sorted(rec.get("cautions", []), key=lambda c: SEVERITY_ORDER.index(c["severity"])
                  if c.get("severity") in SEVERITY_ORDER else len(SEVERITY_ORDER))


def split_cautions(rec: Dict[str, object]) -> Tuple[List[Dict[str, object]], List[Dict[str, object]]]:
    """(high and moderate cautions, highest first; the `info` ones, folded into one line)."""
    cautions = sorted_cautions(rec)
    return [c for c in cautions if c.get("severity") != "info"], [c for c in cautions if c.get("severity") == "info"]


def caution_name(c: Dict[str, object], k: Optional[KnowledgeBase] = None) -> str:
    """The caution in plain words (its `title` in cautions.yml); the id stays in the JSON."""
    known = (k or default_kb()).cautions.get(str(c["id"]))
    return known.title if known is not None and known.title else str(c["id"]).replace("_", " ")


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


def wrap_for_terminal(text: str, width: Optional[int] = None) -> str:
    """`text` with every line wrapped to the terminal's width (continuation lines indented under the line's own
    indent and list marker), so that nothing runs past the edge of a shell."""
    import shutil
    import textwrap

    width = max(40, width or shutil.get_terminal_size((100, 24)).columns)
    out = []
    for line in text.split("\n"):
        lead = re.match(r"^(\s*(?:\d+\.|-)?\s*)", line).group(1)
        out.extend(textwrap.wrap(line, width, subsequent_indent=" " * len(lead), break_on_hyphens=False,
                                 break_long_words=True) or [""])
    return "\n".join(out)


def read_as_line(rec: Dict[str, object]) -> Optional[str]:
    """'Read as: ...', the first line of every rendering of a recommendation (None when the payload has none)."""
    return f"Read as: {rec['read_as']}" if rec.get("read_as") else None


def render_text(rec: Dict[str, object], show_excluded: bool = False, max_options: Optional[int] = None) -> str:
    lines = [read_as_line(rec)] if read_as_line(rec) else []
    lines += [assessment_line(rec), f"Action: {rec['initiation']['text']}"]
    lines += [f"Note: {plain(n)}" for n in rec["assessment"].get("notes", [])]
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
        unrecorded = unrecorded_line(shown)
        if unrecorded:
            lines.append(unrecorded)
    elif rec["initiation"]["action"] != "monitor" and not headline:
        lines += ["", no_option_text()]
    ruled = [e for e in rec["excluded"] if e["ruled_out"]]
    if ruled and rec["initiation"]["action"] != "monitor":
        lines.append("")
        if show_excluded:
            lines.append("Ruled out:")
            lines += [
                f"- {e['regimen']}: {'; '.join(plain(r) for r in e['reasons'] if not r.startswith('not among'))}"
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
        out.append(f"- [{SEVERITY_MARK[c['severity']]}] {caution_name(c)}: {plain(c['text'])}")
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
            notes = "".join(f" {n[:1].upper()}{n[1:]}." for n in map(plain, option_notes(o)))
            return f"{code} is option {i} for this case ({tier}): {plain(one_line_rationale(o))}.{notes} " \
                   f"Approval: {o.get('label') or k.approval_line(code, region)}."
    for e in rec["excluded"]:
        if e["regimen"] == code:
            text = f"{code} is not an option for this case: " + "; ".join(plain(r, k) for r in e["reasons"]) + "."
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
        lines.append("Cautions: " + ", ".join(k.cautions[c].title for c in cautions))
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
            lines.append(f"- {c.title}: {c.text}{' ' + notes if notes else ''}")
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
        lines.append(f"- {c.title}: {c.text}{' ' + notes if notes else ''}")
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

