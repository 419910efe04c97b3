"""The knowledge base: records by id, look-ups by any alias, and what depends only on the knowledge base,
computed once (tier tables, label sentences, caution plans). Built by bot/clinical/loader.py.

Imports: the standard library and bot.clinical (entries, labels).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cached_property
from typing import Dict, FrozenSet, List, Mapping, Optional, Tuple

from .entries import (
    TIERS,
    Candidate,
    Caution,
    Demotion,
    Drug,
    Label,
    Regimen,
    Setting,
    TableEntry,
    Trial,
    UnknownName,
    fold,
)
from .labels import LabelViews


class _Filled(dict):
    """value -> the sentence with it filled in, made on first use (bounded: values come from the knowledge base)."""

    def __init__(self, template: str, name: str) -> None:
        super().__init__()
        self.template, self.name = template, name

    def __missing__(self, value: object) -> str:
        text = self.template.format(**{self.name: value})
        if len(self) < 5_000:
            self[value] = text
        return text


@dataclass(frozen=True)
class KnowledgeBase(LabelViews):
    version: str
    edition: str
    checked: str
    classes: Mapping[str, Mapping[str, object]]
    drugs: Mapping[str, Drug]
    regimens: Mapping[str, Regimen]  # catalog order
    transplants: Mapping[str, Regimen]
    settings: Tuple[Setting, ...]
    every_relapse: Tuple[Candidate, ...]
    every_relapse_source: str
    untried_classes: Tuple[str, ...]
    untried_regimens: Tuple[str, ...]
    untried_source: str
    untried_tier: str
    label_driven_tier: str
    label_driven_source: str
    frail_tiers: Mapping[str, str]  # frail regimen -> tier, in order
    frail_source: str
    frail_label_required: FrozenSet[str]
    frail_excluded_intensities: FrozenSet[str]
    frail_excluded_regimens: Mapping[str, str]  # code -> why
    maintenance_drug: str
    lift_regimens: FrozenSet[str]
    lift_to: str
    lift_modalities: FrozenSet[str]
    demotions: Tuple[Demotion, ...]
    regions: Tuple[str, ...]
    labels: Mapping[str, Label]
    label_class_words: Mapping[str, Tuple[str, str]]  # class -> (one of them, several), labels.yml
    cautions: Mapping[str, Caution]
    trials: Mapping[str, Trial]
    texts: Mapping[str, object]
    flags: Mapping[str, Mapping[str, str]]  # group -> {case field: label} (case.yml)
    high_risk: Mapping[str, Tuple[str, ...]]  # abnormality code -> other spellings (case.yml)
    _drug_index: Mapping[str, str]
    _regimen_index: Mapping[str, str]
    _trial_index: Mapping[str, str]
    # ---- 2026-12 (settings.yml, drugs.yml); the defaults are the 2026-11 reading, so an older edition loads ----
    maintenance_counts_as: str = "sensitive"  # R2: what progression on lenalidomide maintenance counts as
    maintenance_regimens: Tuple[str, ...] = ()  # R2: S1 regimens kept, in `maintenance_tier` only
    maintenance_tier: str = ""
    maintenance_note: str = ""
    maintenance_source: str = ""
    early_relapse_months: Optional[int] = None  # R1 (b): relapse within this many months of autologous HCT
    referral_modalities: FrozenSet[str] = frozenset()  # R1 (b): refer now when options include these
    bridging_regimens: Tuple[str, ...] = ()  # R4: aggressive disease at any line
    bridging_tier: str = ""
    bridging_fitness: FrozenSet[str] = frozenset()
    bridging_note: str = ""
    bridging_extramedullary_note: str = ""
    bridging_source: str = ""
    second_hct_months: int = 18  # R6
    second_hct_after_maintenance_months: Optional[int] = None
    exposure_notes: Tuple[Tuple[FrozenSet[str], FrozenSet[str], FrozenSet[str], str], ...] = ()  # section 6, R5
    same_modality: Mapping[str, Tuple[str, Mapping[str, str]]] = None  # type: ignore[assignment]  # R5, by class
    lift_settings: FrozenSet[str] = frozenset()  # R8: settings where the aggressive lift applies (empty: all)
    label_driven_regimens: Optional[FrozenSet[str]] = None  # R4: labels that make a candidate (None: all with a rule)

    # ---- case vocabulary and fixed sentences ----------------------------------------------------
    @cached_property
    def flag_labels(self) -> Mapping[str, str]:
        """Every boolean case flag -> its label for people."""
        return {f: label for group in self.flags.values() for f, label in group.items()}

    @property
    def aggressive_flags(self) -> Tuple[str, ...]:
        return tuple(self.flags["aggressive"])

    @cached_property
    def high_risk_spellings(self) -> Mapping[str, str]:
        """Folded spelling (lower case, no spaces) -> abnormality code, for every code and alias."""
        out = {}
        for code, aliases in self.high_risk.items():
            for spelling in (code, *aliases):
                out[spelling.lower().replace(" ", "")] = code
        return out

    @cached_property
    def sentences(self) -> Mapping[str, str]:
        """texts.yml flattened: "section.name" -> sentence (the engine's hot path reads these)."""
        out: Dict[str, str] = {}

        def walk(prefix: str, node: object) -> None:
            if isinstance(node, dict):
                for name, child in node.items():
                    walk(f"{prefix}.{name}" if prefix else str(name), child)
            else:
                out[prefix] = str(node)

        walk("", self.texts)
        return out

    @cached_property
    def _said(self) -> Dict[Tuple[object, ...], str]:
        """A memo of `say` (the same few sentences with the same drugs and codes recur in every answer)."""
        return {}

    def filled(self, key: str, name: str) -> Mapping[object, str]:
        """The sentence `key` with its one value `name` filled in, by value: a mapping that fills itself (the hot
        sentences of an answer, one per drug, intensity or flag, without `say`'s keyword call)."""
        memo = self._fillers
        hit = memo.get((key, name))
        if hit is None:
            hit = memo[(key, name)] = _Filled(self.sentences[key], name)
        return hit

    @cached_property
    def _fillers(self) -> Dict[Tuple[str, str], "_Filled"]:
        return {}

    def has_text(self, key: str) -> bool:
        """Whether this edition has the sentence `key` (the sentences of later editions are optional)."""
        return key in self.sentences

    def say(self, key: str, **values: object) -> str:
        """The fixed sentence `key` of texts.yml ("section.name") with its values filled in."""
        if not values:
            return self.sentences[key]
        memo = self._said
        tag = (key, *values.values())  # a call site always names the same values in the same order
        text = memo.get(tag)
        if text is None:
            text = self.sentences[key].format(**values)
            if len(memo) < 20_000:  # bounded: free-text values (e.g. months) cannot grow it without end
                memo[tag] = text
        return text

    # ---- look-ups -------------------------------------------------------------------------
    def drug_id(self, name: str) -> str:
        return self._lookup("drug", name, self._drug_index)

    def regimen_code(self, name: str) -> str:
        """A regimen or transplant code from any alias."""
        return self._lookup("regimen", name, self._regimen_index)

    def trial_id(self, name: str) -> str:
        return self._lookup("trial", name, self._trial_index)

    def regimen(self, code: str) -> Regimen:
        code = self.regimen_code(code)
        return self.regimens.get(code) or self.transplants[code]

    def drug_aliases(self) -> Dict[str, str]:
        """Every surface form (folded) -> drug id; for the NLU pipeline."""
        return dict(self._drug_index)

    def regimen_aliases(self) -> Dict[str, str]:
        return dict(self._regimen_index)

    def trial_aliases(self) -> Dict[str, str]:
        return dict(self._trial_index)

    def drugs_of_class(self, cls: str) -> Tuple[str, ...]:
        return tuple(d.id for d in self.drugs.values() if d.drug_class == cls)

    # ---- derived once per knowledge base (the engine's hot path reads these) ------------------------
    def _option_hit(self, reg: Regimen, trig: Mapping[str, object]) -> Tuple[str, ...]:
        """What in a regimen matches option triggers (drugs, classes, modalities; else its code)."""
        found = tuple(d for d in reg.components if d in trig.get("drugs", ())
                      or self.drugs[d].drug_class in trig.get("classes", ())
                      or (self.drugs[d].modality and self.drugs[d].modality in trig.get("modalities", ())))
        if not found and (reg.code in trig.get("regimens", ()) or reg.code in trig.get("transplant", ())):
            found = (reg.code,)
        return found

    @cached_property
    def caution_hits(self) -> Mapping[str, Tuple[Tuple[str, Tuple[str, ...]], ...]]:
        """Regimen/transplant code -> ((caution id, what in the regimen triggers it), ...), in caution order.

        Covers the option triggers of cautions.yml (drugs, classes, modalities, regimens, transplant);
        computed once per knowledge base, since it depends on nothing else.
        """
        out = {}
        for reg in (*self.regimens.values(), *self.transplants.values()):
            hits = []
            for c in self.cautions.values():
                found = self._option_hit(reg, c.triggers)
                if found:
                    hits.append((c.id, found))
            out[reg.code] = tuple(hits)
        return out

    @cached_property
    def caution_plan(self) -> Tuple[Tuple[Caution, bool, Tuple[str, ...], Tuple[str, ...], Tuple[str, ...], bool], ...]:
        """(caution, always, derived, patient, transplant, only_by_options) per caution in order: its triggers read
        once; only_by_options: nothing but an offered option can trigger it."""
        out = []
        for c in self.cautions.values():
            always, derived = bool(c.triggers.get("always")), tuple(c.triggers.get("derived", ()))
            patient, transplant = tuple(c.triggers.get("patient", ())), tuple(c.triggers.get("transplant", ()))
            out.append((c, always, derived, patient, transplant, not (always or derived or patient or transplant)))
        return tuple(out)

    @cached_property
    def caution_pairs(self) -> Mapping[str, Tuple[Tuple[str, Tuple[Tuple[str, str], ...], bool], ...]]:
        """Regimen -> (caution id, ((what triggers it, regimen), ...), triggered by the regimen's code) for the
        option triggers of cautions.yml (caution_hits in the shape the engine gathers)."""
        return {code: tuple((cid, tuple((d, code) for d in hits), hits[0] == code) for cid, hits in per)
                for code, per in self.caution_hits.items()}

    @cached_property
    def caution_memo(self) -> Dict[Tuple[str, Tuple[str, ...]], Tuple[Tuple[str, ...], Tuple[str, ...]]]:
        """A memo for cautions._option_part: what a set of offered options gives a caution."""
        return {}

    @cached_property
    def caution_raisers(self) -> Mapping[str, FrozenSet[str]]:
        """Caution id -> the regimen codes whose offer raises it to high (`high_with`)."""
        return {c.id: frozenset(r.code for r in self.regimens.values() if self._option_hit(r, c.high_with))
                for c in self.cautions.values() if c.high_with}

    @cached_property
    def caution_notes(self) -> Mapping[str, Mapping[str, Tuple[str, ...]]]:
        """Caution id -> regimen code -> the note sentences an offer of that regimen adds (cautions.yml notes)."""
        out: Dict[str, Dict[str, Tuple[str, ...]]] = {}
        for c in self.cautions.values():
            for reg in self.regimens.values():
                keys = {reg.code, *reg.components, *(self.drugs[d].drug_class for d in reg.components),
                        *(self.drugs[d].modality for d in reg.components if self.drugs[d].modality)}
                notes = tuple(text for key, text in c.notes.items() if key in keys)
                if notes:
                    out.setdefault(c.id, {})[reg.code] = notes
        return out

    @cached_property
    def drug_class_of(self) -> Mapping[str, str]:
        return {d.id: d.drug_class for d in self.drugs.values()}

    @cached_property
    def regimen_classes(self) -> Mapping[str, FrozenSet[str]]:
        return {r.code: frozenset(self.drugs[d].drug_class for d in r.components) for r in self.regimens.values()}

    @cached_property
    def rule_labels(self) -> Mapping[str, Tuple[Tuple[str, str, str], ...]]:
        """Region -> (regimen, tier, rationale) of each label with an eligibility rule there: the R4 label-driven
        candidates, in labels.yml order."""
        return {region: tuple(
            (code, label.tier or self.label_driven_tier, self.say(
                "rationale.label_driven", region=region, label=label.regions[region].rule_text,
                source=self.label_driven_source))
            for code, label in self.labels.items() if label.regions[region].has_rule
            and (self.label_driven_regimens is None or code in self.label_driven_regimens)) for region in self.regions}

    @cached_property
    def fixed_additions(self) -> Mapping[str, Tuple[Tuple[str, str, str], ...]]:
        """The candidate lists that do not depend on the case: (regimen, tier, rationale) of the every-relapse
        list and of the frail list."""
        frail_note = self.say("rationale.frail", source=self.frail_source)
        return {"every_relapse": tuple((c.regimen, c.tier, self.say("rationale.every_relapse", note=c.note,
                                                                    source=c.source)) for c in self.every_relapse),
                "frail": tuple((code, tier, frail_note) for code, tier in self.frail_tiers.items())}

    @cached_property
    def _untried(self) -> Dict[FrozenSet[str], Tuple[Tuple[str, str, str], ...]]:
        return {}

    def untried_additions(self, untried: FrozenSet[str]) -> Tuple[Tuple[str, str, str], ...]:
        """(regimen, tier, rationale) of the untried-class regimens with a drug of these classes (R4); cached per
        set of classes."""
        hit = self._untried.get(untried)
        if hit is None:
            out = []
            for code in self.untried_regimens:
                new = [d for d in self.regimens[code].active_components if self.drugs[d].drug_class in untried]
                if new:
                    out.append((code, self.untried_tier, self.say(
                        "rationale.untried_class", drug=new[0], drug_class=self.drugs[new[0]].drug_class,
                        source=self.untried_source)))
            hit = self._untried[untried] = tuple(out)
        return hit

    @cached_property
    def setting_drugs(self) -> FrozenSet[str]:
        """The drugs the settings' conditions name (what of a case decides its settings)."""
        return frozenset(d for s in self.settings for key, names in s.condition.items()
                         if key != "refractory_class_all" for d in names)

    @cached_property
    def setting_classes(self) -> FrozenSet[str]:
        return frozenset(c for s in self.settings for c in s.condition.get("refractory_class_all", ()))

    @cached_property
    def settings_memo(self) -> Dict[Tuple[FrozenSet[str], FrozenSet[str]], Tuple[str, ...]]:
        """A memo for assessment.settings_of (few combinations of the drugs and classes the conditions name)."""
        return {}

    @cached_property
    def conditional_regimens(self) -> Mapping[bool, FrozenSet[str]]:
        """Frail or not -> the regimens a rule-out can remove without a drug of theirs being refractory or
        unavailable: t(11;14), quadruplets (R3), and for a frail patient what settings.yml `frail` excludes."""
        base = {r.code for r in self.regimens.values() if r.requires_t11_14 or r.intensity == "quadruplet"}
        frail = base | {r.code for r in self.regimens.values()
                        if r.intensity in self.frail_excluded_intensities or r.code in self.frail_excluded_regimens}
        return {False: frozenset(base), True: frozenset(frail)}

    @cached_property
    def component_sets(self) -> Mapping[str, FrozenSet[str]]:
        return {r.code: frozenset(r.components) for r in self.regimens.values()}

    @cached_property
    def shared_classes(self) -> FrozenSet[str]:
        """Classes whose members share one target (drugs.yml shared_target: anti-CD38)."""
        return frozenset(c for c in self.classes if self.shared_target(c))

    @cached_property
    def switch_classes(self) -> FrozenSet[str]:
        """Classes where a switch to another member carries cross-resistance (R5: not shared-target, not a
        grab-bag class)."""
        return frozenset(c for c in self.classes if not self.shared_target(c) and self.cross_resistance_class(c))

    @cached_property
    def class_members(self) -> Mapping[str, FrozenSet[str]]:
        return {c: frozenset(self.drugs_of_class(c)) for c in self.classes}

    @cached_property
    def lowering_classes(self) -> FrozenSet[str]:
        """Classes whose exposure lowers the tier of their other members (drugs.yml exposure_lowers_tier: BCMA)."""
        return frozenset(c for c, entry in self.classes.items() if entry.get("exposure_lowers_tier"))

    @cached_property
    def trial_records(self) -> Mapping[str, Mapping[str, str]]:
        """Trial id -> (its line in an option's rationale, its record in a recommendation's `trials`)."""
        return {t.id: {"line": f"{t.id}: {t.comparison}: {t.result}",
                       "record": {"id": t.id, "comparison": t.comparison, "result": t.result, "source": t.source,
                                  "setting": t.setting, "checked": t.checked}}
                for t in self.trials.values()}

    @cached_property
    def redirecting(self) -> FrozenSet[str]:
        """Regimens with a T-cell-redirecting drug (the modalities of settings.yml aggressive_lift)."""
        return frozenset(r.code for r in self.regimens.values()
                         if any(self.drugs[d].modality in self.lift_modalities for d in r.components))

    @cached_property
    def _tables(self) -> Dict[Tuple[str, ...], Dict[str, TableEntry]]:
        """A memo for `table_for` (a case is in one of few combinations of settings)."""
        return {}

    def table_for(self, settings: Tuple[str, ...]) -> Mapping[str, TableEntry]:
        """regimen -> its entry in the tier table rows of these settings merged, the most advanced setting first
        (best tier, evidence position, the rationale of each row naming it); cached per combination of settings."""
        cache = self._tables
        hit = cache.get(settings)
        if hit is None:
            by_id = {s.id: s for s in self.settings}
            out: Dict[str, TableEntry] = {}
            for sid in reversed(settings):
                s = by_id[sid]
                for cand in s.candidates:
                    note = self.say("rationale.setting", setting=s.id, name=s.name, note=cand.note, source=cand.source)
                    old = out.get(cand.regimen)
                    if old is None:
                        out[cand.regimen] = TableEntry(cand.tier, len(out), (note,), cand.demote_when_aggressive)
                    else:
                        best = min(old.tier, cand.tier, key=TIERS.index)
                        out[cand.regimen] = TableEntry(best, old.evidence, old.notes + (note,),
                                                       old.demote_when_aggressive or cand.demote_when_aggressive)
            cache[settings] = hit = out
        return hit

    @cached_property
    def approval_lines(self) -> Mapping[Tuple[str, Optional[str]], str]:
        """(regimen, region or None for both) -> the approval line, for every regimen of the catalog."""
        out: Dict[Tuple[str, Optional[str]], str] = {}
        for code in self.regimens:
            label = self.labels.get(code)
            out[code, None] = label.approval if label else self.say("label.no_entry", region=" and ".join(self.regions))
            for region in self.regions:
                out[code, region] = label.regions[region].line if label else self.say("label.no_entry", region=region)
        return out

    def citations(self, code: str, prior_lines: int) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
        """(trial ids, their rationale lines) a regimen cites for a case with this many prior lines (section 6)."""
        memo = self._citations
        hit = memo.get((code, prior_lines))
        if hit is None:
            cited = self.regimens[code].cited_trials(prior_lines)
            hit = (cited, tuple(self.trial_records[tid]["line"] for tid in cited))
            if len(memo) < 20_000:
                memo[code, prior_lines] = hit
        return hit

    @cached_property
    def _citations(self) -> Dict[Tuple[str, int], Tuple[Tuple[str, ...], Tuple[str, ...]]]:
        return {}

    def approval_line(self, code: str, region: Optional[str] = None) -> str:
        """The approval of an option in one region (or both, region None), for people."""
        return self.approval_lines[code, region]

    @cached_property
    def exposure_note_regimens(self) -> FrozenSet[str]:
        return frozenset(code for regimens, _, _, _ in self.exposure_notes for code in regimens)

    @cached_property
    def modality_of(self) -> Mapping[str, Optional[str]]:
        return {d.id: d.modality for d in self.drugs.values()}

    def shared_target(self, cls: str) -> bool:
        return bool(self.classes[cls].get("shared_target", False))

    def cross_resistance_class(self, cls: str) -> bool:
        return bool(self.classes[cls].get("cross_resistance", True))

    @staticmethod
    def _lookup(kind: str, name: str, index: Mapping[str, str]) -> str:
        if not isinstance(name, str) or not name.strip():
            raise UnknownName(kind, str(name), [])
        hit = index.get(fold(name))
        if hit is not None:
            return hit
        canon = sorted(set(index.values()))
        close = difflib.get_close_matches(fold(name), list(index), n=6, cutoff=0.6)
        suggestions: List[str] = []
        for key in close:
            if index[key] not in suggestions:
                suggestions.append(index[key])
        if not suggestions:
            suggestions = [c for c in canon if c.lower().startswith(fold(name)[:1])][:5]
        raise UnknownName(kind, name, suggestions[:3])
