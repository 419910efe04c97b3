"""Reading and checking labels.yml (clinical-spec section 8, R5, R9): each option's label by region, its
eligibility rule (with alternative rules, "... or ..."), and the sentences a clinician reads, built from the rule with
texts.yml `label`. Called by bot/clinical/loader.py.

Imports: the standard library and bot.clinical.entries.
"""
from __future__ import annotations

from functools import cached_property
from typing import Any, Dict, FrozenSet, List, Mapping, Tuple

from .entries import LABEL_RULE_KEYS, TIERS, Drug, KnowledgeError, Label, Regimen, RegionLabel


def _require(cond: bool, where: str, problem: str) -> None:
    if not cond:
        raise KnowledgeError(f"{where}: {problem}")


def _region_label(code: str, region: str, entry: Mapping[str, object], doc: Mapping[str, object],
                  drugs: Mapping[str, Drug], classes: Mapping[str, object], texts: Mapping[str, object],
                  status: object = None) -> RegionLabel:
    """One region's label of an option, checked, with its sentences built from the rule (texts.yml `label`).
    `status` is given for an alternative rule (labels.yml `alternatives`), which shares its label's status."""
    where = f"labels.yml: {code}: {region}"
    statuses = doc["statuses"]
    words = doc["class_words"]
    alternative = status is not None
    status = status if alternative else entry.get("status")
    _require(status in statuses, where, f"status {status!r} (one of {', '.join(statuses)})")
    allowed = {"also", *LABEL_RULE_KEYS} if alternative else {"status", "date", "note", "also", "alternatives",
                                                               *LABEL_RULE_KEYS}
    unknown = set(entry) - allowed
    _require(not unknown, where, f"unknown keys {sorted(unknown)}")
    for cls in (*entry.get("prior_classes", []), *entry.get("refractory_counts", {})):
        _require(cls in classes and cls in words, where, f"class {cls!r} unknown or without class_words")
    for drug in entry.get("prior_drugs", []):
        _require(drug in drugs, where, f"drug {drug!r} unknown")
    date = str(entry.get("date", ""))
    _require(alternative or "{date}" not in statuses[status]["words"] or bool(date), where,
             f"status {status} needs a date")

    def say(key: str, **values: object) -> str:
        return str(texts["label"][key]).format(**values)

    def items(parts: List[str]) -> str:
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]

    low, high = int(entry.get("min_prior_lines", 0)), entry.get("max_prior_lines")
    lines = ""
    if high is not None and int(high) == low:
        lines = say("case_lines", count=low, noun="line" if low == 1 else "lines")
    elif high is not None:
        lines = say("range_lines", low=low, high=high)
    elif low:
        lines = say("min_lines", count=low, noun="line" if low == 1 else "lines")
    prior = [words[c][0] for c in entry.get("prior_classes", [])] + list(entry.get("prior_drugs", []))
    if prior:
        lines = f"{lines} {say('including', items=items(prior))}".strip()
    rule: List[str] = [lines] if lines else []
    if entry.get("lenalidomide_refractory"):
        rule.append(say("lenalidomide_refractory"))
    if entry.get("triple_class_refractory"):
        rule.append(say("triple_class_refractory"))
    counts = tuple((cls, int(n)) for cls, n in (entry.get("refractory_counts") or {}).items())
    if counts:
        rule.append(say("refractory_counts", items=items(
            [words[c][0] if n == 1 else f">= {n} {words[c][1]}" for c, n in counts])))
    months = entry.get("hct_min_months")
    if months is not None:
        rule.append(say("hct", years=f"{int(months) / 12:g}"))
    if entry.get("also"):
        rule.append(str(entry["also"]))
    rule_text = ", ".join(rule)
    alternatives = tuple(
        _region_label(code, region, alt, doc, drugs, classes, texts, status=status)
        for alt in (entry.get("alternatives") or []))
    _require(all(isinstance(alt, dict) for alt in (entry.get("alternatives") or [])), where,
             "alternatives must be rules")
    if alternatives:
        rule_text = " or ".join([rule_text, *(alt.rule_text for alt in alternatives)])
    status_text = statuses[status]["words"].format(date=date)
    line = str(texts["label"]["approval_rule" if rule_text else "approval"]).format(
        region=region, status=status_text, rule=rule_text)
    if entry.get("note"):
        line += f"; {entry['note']}"
    return RegionLabel(
        region=region, status=status, date=date, approved=bool(statuses[status]["approved"]),
        note=str(entry.get("note", "")), also=str(entry.get("also", "")), min_prior_lines=low,
        max_prior_lines=None if high is None else int(high), prior_classes=tuple(entry.get("prior_classes", [])),
        prior_drugs=tuple(entry.get("prior_drugs", [])),
        lenalidomide_refractory=bool(entry.get("lenalidomide_refractory")),
        triple_class_refractory=bool(entry.get("triple_class_refractory")), refractory_counts=counts,
        hct_min_months=None if months is None else int(months), status_text=status_text, rule_text=rule_text,
        line=line, alternatives=alternatives)


def labels_of(doc: Mapping[str, object], regimens: Mapping[str, Regimen], drugs: Mapping[str, Drug],
            classes: Mapping[str, object], texts: Mapping[str, object]) -> Dict[str, Label]:
    regions = tuple(doc["regions"])
    _require(bool(regions), "labels.yml", "regions missing")
    labels: Dict[str, Label] = {}
    for code, entry in (doc.get("labels") or {}).items():
        where = f"labels.yml: {code}"
        _require(code in regimens, where, "not a regimen of the catalog")
        _require(set(entry) <= {"binding", "tier", "source", "checked", *regions}, where,
                 f"unknown keys {sorted(set(entry) - {'binding', 'tier', 'source', 'checked', *regions})}")
        _require(isinstance(entry.get("binding"), bool), where, "binding must be true or false")
        _require(entry.get("tier") in (None, *TIERS), where, f"tier {entry.get('tier')!r}")
        per_region = {}
        for region in regions:
            _require(isinstance(entry.get(region), dict), where, f"{region} missing")
            per_region[region] = _region_label(code, region, entry[region], doc, drugs, classes, texts)
        first = per_region[regions[0]]
        differs = any(not x.approved or x.rule_key != first.rule_key for x in per_region.values())
        labels[code] = Label(code, entry["binding"], entry.get("tier"), per_region,
                             "; ".join(x.line for x in per_region.values()), differs,
                             unapproved=any(not x.approved for x in per_region.values()),
                             source=str(entry.get("source", "")), checked=str(entry.get("checked", "")))
    return labels


class LabelViews:
    """What depends only on the labels of a knowledge base, computed once (a base of KnowledgeBase, which provides
    `labels`, `regions`, `say`, `has_text`, `approval_lines` and `frail_label_required`)."""

    @cached_property
    def region_labels(self) -> Mapping[str, Mapping[str, object]]:
        """Region -> regimen -> its RegionLabel there."""
        return {region: {code: label.regions[region] for code, label in self.labels.items()} for region in self.regions}

    @cached_property
    def label_plans(self) -> Mapping[str, Mapping[str, Tuple[object, str, str]]]:
        """Region -> regimen -> (its RegionLabel, the not-approved note or "", the unchecked-condition note or ""):
        the sentences of R9 that depend only on the knowledge base."""
        out: Dict[str, Dict[str, Tuple[object, str, str]]] = {}
        for region in self.regions:
            out[region] = {}
            for code, label in self.labels.items():
                rl = label.regions[region]
                not_approved = "" if rl.approved else self.say("rationale.not_approved", region=region,
                                                               status=rl.status_text)
                unchecked = self.say("rationale.label_unchecked", region=region, condition=rl.also) if (
                    rl.also and rl.approved) else ""
                out[region][code] = (rl, not_approved, unchecked)
        return out

    @cached_property
    def rule_ids(self) -> Mapping[str, Mapping[str, int]]:
        """Region -> regimen -> a number per distinct eligibility rule (labels without a rule are left out)."""
        ids: Dict[object, int] = {}
        return {region: {code: ids.setdefault(label.regions[region].rule_key, len(ids))
                         for code, label in self.labels.items() if label.regions[region].has_rule}
                for region in self.regions}

    @cached_property
    def label_classes(self) -> FrozenSet[str]:
        """Classes the label rules name (prior classes, refractory counts), and the three of triple-class."""
        return frozenset(c for label in self.labels.values() for rl in self._all_rules(label)
                         for c in (*rl.prior_classes, *(cls for cls, _ in rl.refractory_counts)))

    @cached_property
    def label_drugs(self) -> FrozenSet[str]:
        return frozenset(d for label in self.labels.values() for rl in self._all_rules(label) for d in rl.prior_drugs)

    @cached_property
    def label_count_classes(self) -> Tuple[str, ...]:
        return tuple(sorted({cls for label in self.labels.values() for rl in self._all_rules(label)
                             for cls, _ in rl.refractory_counts}))

    @cached_property
    def failures_memo(self) -> Dict[Tuple[object, ...], Dict[object, Any]]:
        """A memo for _Context.label_failures: by what of a case label rules read, then by rule."""
        return {}

    @cached_property
    def unapproved_in(self) -> Mapping[str, FrozenSet[str]]:
        """Region -> the regimens not approved there (not approved, withdrawn, off-label, pending)."""
        return {region: frozenset(code for code, label in self.labels.items() if not label.regions[region].approved)
                for region in self.regions}

    @cached_property
    def rule_out_labels(self) -> FrozenSet[str]:
        """Regimens whose label can rule them out (R5): binding labels, and the frail list's label_required."""
        return frozenset(code for code, label in self.labels.items() if label.binding) | self.frail_label_required

    @cached_property
    def _approvals(self) -> Dict[Tuple[str, ...], Tuple[str, str]]:
        """A memo for approval_for_case."""
        return {}

    def approval_for_case(self, code: str, region: str, fails: List[str]) -> Tuple[str, str]:
        """(both regions, the case's region) approval lines of an offered option whose label in `region` the case
        does not meet (`fails`: what the case has instead): "US: off-label here (the label needs ...; case: ...)"
        (section 8, 2026-12)."""
        if not fails or not self.has_text("label.off_label_here"):
            return self.approval_lines[code, None], self.approval_lines[code, region]
        key = (code, region, *fails)
        hit = self._approvals.get(key)
        if hit is None:
            label = self.labels[code]
            here = self.say("label.off_label_here", region=region, label=label.regions[region].rule_text,
                            values="; ".join(fails))
            hit = ("; ".join(here if r == region else label.regions[r].line for r in self.regions), here)
            if len(self._approvals) < 20_000:  # bounded: a case's values are few, but never grow without end
                self._approvals[key] = hit
        return hit

    @staticmethod
    def _all_rules(label: object) -> List[object]:
        out = []
        for rl in label.regions.values():  # type: ignore[attr-defined]
            out += [rl, *rl.alternatives]
        return out

