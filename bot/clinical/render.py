"""Text for people: the recommendation and the knowledge-base look-ups.

One renderer for the CLI, the Rasa replies and the plain-text channels. It works from the
Recommendation dict alone (the `rrmm_recommendation` payload), so a channel can call it on what it
received. Look-up texts (regimen, trial, cautions of a regimen, why-not) come from here too.
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional

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
    trials = {t["id"]: t for t in rec.get("trials", [])}
    for tid in option["trials"]:
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
    if a["setting"]:
        parts.append(setting_label(a["setting"]))
    parts.append(f"lenalidomide {a['lenalidomide_status']}")
    if a["penta_refractory"]:
        parts.append("penta-refractory")
    elif a["triple_class_refractory"]:
        parts.append("triple-class refractory")
    parts.append(f"fitness {a['fitness']}")
    if a["aggressive"]:
        parts.append("aggressive relapse (" + ", ".join(a["aggressive_features"]) + ")")
    return "Assessment: " + "; ".join(parts)


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
    options = rec["options"]
    if options:
        lines.append("")
        lines.append("Options (ranked):")
        shown = options if max_options is None else options[:max_options]
        for i, o in enumerate(shown, 1):
            pref = " [preferred]" if o["preferred"] else ""
            lines.append(f"{i}. {o['regimen']}: {o['name']}{pref}")
            lines.append(f"   Why: {one_line_rationale(o)}")
            for extra in o["rationale"]:
                if (
                    extra.startswith("ranked lower")
                    or "cross-resistance possible" in extra
                    or extra.startswith("stays despite")
                ):
                    lines.append(f"   Note: {extra}")
            trial = key_trial(o, rec)
            if trial:
                lines.append(f"   Evidence: {trial}")
        if len(shown) < len(options):
            lines.append(f"   (+{len(options) - len(shown)} more: ask for all options)")
    elif rec["initiation"]["action"] != "monitor":
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
    if rec["cautions"]:
        lines.append("")
        lines.append("Cautions:")
        for c in sorted(rec["cautions"], key=lambda c: ("high", "moderate", "info").index(c["severity"])):
            lines.append(f"- [{SEVERITY_MARK[c['severity']]}] {c['id']}: {c['text']}")
            lines.append(f"  because: {'; '.join(c['because'])}")
    if rec["transplant"]:
        lines.append("")
        lines.append("Transplant:")
        for t in rec["transplant"]:
            lines.append(f"- {transplant_line(t)}")
    lines += ["", rec["disclaimer"]]
    return "\n".join(lines)


def why_not(rec: Dict[str, object], code: str) -> str:
    """Why a regimen is, or is not, among the options of this recommendation."""
    for i, o in enumerate(rec["options"], 1):
        if o["regimen"] == code:
            return f"{code} is option {i} for this case: {one_line_rationale(o)}."
    for e in rec["excluded"]:
        if e["regimen"] == code:
            return f"{code} is not an option for this case: " + "; ".join(e["reasons"]) + "."
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
    reqs = []
    if reg.min_prior_lines:
        reqs.append(f">= {reg.min_prior_lines} prior lines")
    if reg.requires_prior_classes:
        reqs.append("prior " + " and ".join(reg.requires_prior_classes))
    if reg.requires_t11_14:
        reqs.append("t(11;14)")
    if reqs:
        lines.append("Requires: " + ", ".join(reqs))
    if reg.salvage_note:
        lines.append(f"Note: {reg.salvage_note}")
    for tid in reg.trials:
        t = k.trials[tid]
        lines.append(f"Trial {t.id}: {t.comparison} ({t.setting}): {t.result} Source: {t.source}.")
    cautions = regimen_cautions(reg.code, k)
    if cautions:
        lines.append("Cautions: " + ", ".join(cautions))
    return "\n".join(lines)


def regimen_cautions(code: str, k: Optional[KnowledgeBase] = None) -> List[str]:
    """Caution ids a regimen triggers by itself, plus those shown with every recommendation."""
    k = k or default_kb()
    code = k.regimen_code(code)
    own = {cid for cid, _ in k.caution_hits[code]}
    return [c.id for c in k.cautions.values() if c.id in own or c.triggers.get("always")]


def drug_cautions_text(drug: str, k: Optional[KnowledgeBase] = None) -> str:
    """Cautions a single drug triggers (by drug, class or modality), for "cautions with pom?"."""
    k = k or default_kb()
    d = k.drugs[k.drug_id(drug)]
    lines = [f"Cautions with {d.id} ({k.classes[d.drug_class]['name']}):"]
    for c in k.cautions.values():
        t = c.triggers
        if (
            d.id in t.get("drugs", ())
            or d.drug_class in t.get("classes", ())
            or (d.modality and d.modality in t.get("modalities", ()))
        ):
            lines.append(f"- {c.id}: {c.text}")
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
        note = c.regimen_notes.get(reg.code, "")
        lines.append(f"- {c.id}: {c.text}{' ' + note if note else ''}")
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
        ]
    )
