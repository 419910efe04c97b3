"""The extraction pipeline: facts, targets, ConText, roles, in that order, for one message at a time.

`Pipeline()` builds everything once (spaCy tokenizer, KB patterns, ConText rules, fact and finding rules);
`Pipeline.process(text)` runs the steps of docs/nlu-schema.md ("How messages are read"):
1. case facts by regular expression (`facts`), which claim their characters;
2. targets: findings (`facts`), drug / regimen / transplant / trial names (`matchers`), drug names with a typo,
   a short name as the whole message; overlaps go to the longest;
3. the targets become the Doc's entities and medspacy ConText links them to status words (`context_rules`);
4. roles and entities (`roles`, `heuristics`), then sorted, without partial overlaps (`finish`).

Layer: may import the standard library, spaCy and medspacy (when built), loguru (to quiet medspacy's
loggers), `bot.clinical`, `bot.privacy` and the modules of this package. The medspacy fixes of
`bot.plugins.patches` must be installed first (`require_medspacy_fixes`).
"""
from __future__ import annotations

import re
import warnings
from typing import Dict, Iterable, List, Optional, Tuple

from bot.clinical.kb import fold, kb
from bot.privacy import redact

from .derive import (
    Regions,
    corrected_numbers,
    refractory_states,
    relapse_after_stopping,
    remission_after_transplant,
    resolve_relapse,
)
from .facts import REJECT, Finding, Rule, scan_facts
from .facts import load as load_facts
from .heuristics import (
    ALLO_HCT,
    AUTO_HCT,
    AUTO_HCT_2,
    QUESTION_RE,
    elliptic_unavailable,
    framed_name,
    maintenance_flag,
    mark_lists,
    progressed_on,
    treatment_history,
    trial_reference,
)
from .lexicon import PRIOR_REGIMENS
from .lines import count_lines, history_ordinals, named_lines, single_line, unsure_counts
from .matchers import DRUG, FINDING, KIND_PRIORITY, REGIMEN, TRIAL, Matchers, make_nlp
from .prose import (
    bare_age,
    current_regimen,
    drugs_back_to_regimens,
    history_drugs,
    lines_before_that,
    maintenance_partners,
    maintenance_progression,
    named_progression,
    progression_words,
    refractory_to_all,
    regimens_as_drugs,
    relapse_now,
)
from .readings import (
    asked_progression,
    given_without_progression,
    glossed_regimens,
    maintenance_not_progressed,
    one_time_therapies,
    paraprotein_numbers,
    renal_signs,
    treatment_cytopenia,
    written_regimens,
)
from .roles import DRUG_PRIORITY, FINDING_PRIORITY, Roles
from .schema import ENTITY_NAMES
from .spelling import OffsetMap, Speller
from .tables import table_trends
from .transplants import transplant_count, transplant_prose, transplant_reasons

# hyphens and dashes written as Unicode characters (text pasted from papers: "DREAMM‑7", "len–refractory")
DASH_RE = re.compile(r"[\u2010\u2011]|(?<=\w)[\u2012\u2013\u2212](?=\w)")
# facts whose own negation word ("no progression", "never a transplant candidate") is not a drug's or finding's
NEG_GUARD_FACTS = {"relapse", "transplant_eligible", "fitness", "covid_vaccination_up_to_date"}


def person_names(text: str) -> List[Tuple[int, int]]:
    """(start, end) of the person names in `text`, by the privacy layer's detector (the one detector of names)."""
    return [(s, e) for kind, s, e in redact(text).found if kind == "person_name"]


class SetupError(RuntimeError):
    """The pipeline cannot be built as it is meant to work."""


def require_medspacy_fixes() -> None:
    """medspacy 1.3.1 has two interval bugs that break ConText scopes; bot.plugins.patches fixes them (the one
    place that patches third-party code). Extraction without them would be silently wrong: refuse instead."""
    import medspacy.common.medspacy_matcher as mm
    import medspacy.context.context_modifier as cm
    if not (getattr(cm.tuple_overlaps, "__rrmm_patch__", False)
            and getattr(mm.prune_overlapping_matches, "__rrmm_patch__", False)):
        raise SetupError("the NLU pipeline needs the medspacy fixes: call bot.plugins.patches.install(\"medspacy\") "
                         "first (the Rasa components do)")


class Pipeline:
    def __init__(self) -> None:
        saved_filters = list(warnings.filters)
        try:
            import medspacy.context  # noqa: F401  (registers the medspacy_context factory)
            from loguru import logger

            from .context_rules import context_rules
        finally:
            warnings.filters[:] = saved_filters  # medspacy silences every warning of the process on import
        logger.disable("PyRuSH")
        logger.disable("medspacy")
        require_medspacy_fixes()
        self.kb = kb()
        missing = sorted({AUTO_HCT, AUTO_HCT_2, ALLO_HCT} - set(self.kb.transplants))
        if missing:
            raise SetupError(f"the NLU reads the transplant codes {missing}, which the knowledge base does not have")
        self.transplants = frozenset(self.kb.transplants)
        nlp = make_nlp()
        nlp.add_pipe("medspacy_context", config={"rules": None, "span_attrs": None})
        self.context = nlp.get_pipe("medspacy_context")
        rules = context_rules()
        unread = sorted((set(DRUG_PRIORITY) | set(FINDING_PRIORITY)) - {r.category for r in rules})
        if unread:
            raise SetupError(f"roles.py reads ConText categories that no rule of context_rules.json has: {unread}")
        self.context.add(rules)
        self.nlp = nlp
        len_names = [n for n, d in self.kb.drug_aliases().items() if d == "lenalidomide"]
        len_names += ["lenalidomid", "lenalidomde"]
        self.fact_rules: List[Rule]
        self.finding_rules: List[Finding]
        len_regimens = [name for code, reg in self.kb.regimens.items() if "lenalidomide" in reg.components
                        for name in (code, *reg.aliases)]
        len_regimens += [name for name, comps in PRIOR_REGIMENS.items() if "lenalidomide" in comps]
        self.fact_rules, self.finding_rules = load_facts(len_names, entities=ENTITY_NAMES, len_regimens=len_regimens)
        self.matchers = Matchers(nlp, self.kb)
        self.roles = Roles(self.kb, self.matchers.prior_regimens)
        joined = tuple(self.kb.regimens) + tuple(a for r in self.kb.regimens.values() for a in r.aliases)
        self.speller = Speller(joined=joined + tuple(PRIOR_REGIMENS))
        self.regions = Regions()
        person_names("Mr A Smith")  # the privacy detector loads its word lists now, not on the first message

    # ---- steps 1-2: facts and targets -----------------------------------------------------------------------------
    def _targets(self, doc, original: str, omap: OffsetMap) -> Tuple[List[dict], List[dict], List[tuple]]:
        """(fact entities, trial entities, targets for ConText); a target is (start_char, end_char, kind, value,
        fixed_role, priority). `original`: the message as written (doc.text has its Unicode dashes as "-" and its
        misspelt keywords corrected; `omap` maps offsets between the two)."""
        text = doc.text
        facts, claimed = scan_facts(text, self.fact_rules)

        def free(a: int, b: int) -> bool:
            return all(b <= s or a >= e for s, e in claimed)

        cands: List[tuple] = []  # (start_char, end_char, kind, value, fixed_role, priority)
        low = text.lower()
        for rule in self.finding_rules:
            if rule.needs and not any(n in low for n in rule.needs):
                continue
            for m in rule.pattern.finditer(text):
                s, e = rule.span(m)
                if s == e or not free(s, e) or "\n" in m.group(0).strip():
                    continue
                role = rule.role(m)
                if role is REJECT:
                    continue
                cands.append((s, e, FINDING, (rule.entity, rule.value), role, 5))
        names: Optional[List[Tuple[int, int]]] = None  # person names, looked for once a drug name matched
        for kind, value, span in self.matchers.hits(doc):
            s, e = span.start_char, span.end_char
            # a name glued to more letters is not that name ("Isabel" is not isatuximab)
            if (s > 0 and text[s - 1].isalnum()) or (e < len(text) and text[e].isalpha()):
                continue
            if kind == DRUG:
                if names is None:
                    names = [(omap.to_new(a), omap.to_new(b, end=True)) for a, b in person_names(original)]
                if any(a <= s and e <= b for a, b in names):
                    continue  # a drug alias that is part of a person's name
            if kind == REGIMEN and value == "trial" and trial_reference(doc, span):
                continue
            if free(s, e):
                cands.append((s, e, kind, value, None, KIND_PRIORITY[kind]))
        covered = [(c[0], c[1]) for c in cands] + claimed
        for s, e, drug in self.matchers.typos(doc, covered):
            cands.append((s, e, DRUG, drug, None, 0))
        if not cands:
            framed = framed_name(text)
            if framed:
                hit = self.matchers.whole_message.get(fold(framed[2]))
                if hit and free(framed[0], framed[1]):
                    cands.append((framed[0], framed[1], hit[0], hit[1], None, 1))
        # non-overlapping choice: longer first, then by kind priority, then leftmost
        cands.sort(key=lambda c: (-(c[1] - c[0]), c[5], c[0]))
        chosen: List[tuple] = []
        for c in cands:
            if all(c[1] <= o[0] or c[0] >= o[1] for o in chosen):
                chosen.append(c)
        chosen.sort()
        trials = [c for c in chosen if c[2] == TRIAL]
        targets = [c for c in chosen if c[2] != TRIAL]
        return facts, [{"entity": "trial", "value": c[3], "start": c[0], "end": c[1]} for c in trials], targets

    # ---- steps 3-4: ConText and roles -----------------------------------------------------------------------------
    def process(self, original: str) -> List[dict]:
        from spacy.tokens import Span
        # Unicode dashes as "-" (same length), then misspelt keywords corrected (offsets mapped back by `omap`)
        text, omap = self.speller.correct(DASH_RE.sub("-", original))
        doc = self.nlp.make_doc(text)
        for tok in doc:  # sentences: one per line (punctuation ends ConText scopes as TERMINATE modifiers)
            tok.is_sent_start = tok.i == 0 or "\n" in doc[tok.i - 1].text
        facts, trials, targets = self._targets(doc, original, omap)
        spans: List[Span] = []
        info: Dict[Tuple[int, int], tuple] = {}
        for c in targets:
            span = doc.char_span(c[0], c[1], alignment_mode="expand")
            if span is None or any(span.start < o.end and o.start < span.end for o in spans):
                continue
            label = FINDING if c[2] == FINDING else DRUG
            span = Span(doc, span.start, span.end, label=label)
            spans.append(span)
            info[(span.start, span.end)] = c
        spans.sort(key=lambda sp: sp.start)
        mark_lists(doc, spans)
        doc.ents = spans
        self.context(doc)
        out = list(facts) + trials
        question = bool(QUESTION_RE.search(text))
        graph_mods = list(doc._.context_graph.modifiers) if doc._.context_graph is not None else []
        forced = progressed_on(doc, spans, info, self.transplants)
        guard = [(f["start"], f["end"]) for f in facts if f["entity"] in NEG_GUARD_FACTS]
        history = treatment_history(doc, spans, info)
        for sp in spans:
            c = info[(sp.start, sp.end)]
            out.extend(self.roles.resolve(doc, sp, c, graph_mods, question, (sp.start, sp.end) in forced, guard,
                                          history=(sp.start, sp.end) in history and not asked(text, sp)))
        out = elliptic_unavailable(text, out)
        out = maintenance_flag(text, out)
        out = maintenance_progression(text, out)
        out = maintenance_not_progressed(text, out)
        out = treatment_cytopenia(text, out)
        out = given_without_progression(text, out)
        out = regimens_as_drugs(out, self._components)  # a status found below reaches a catalog regimen's drugs
        out = table_trends(text, out)  # a rise in a lab table: a relapse now, for the regimen still given too
        out = current_regimen(text, out, self._components)
        out = progression_words(text, out)
        out = named_progression(text, out)
        out = history_drugs(text, out)
        out = drugs_back_to_regimens(out)
        out = refractory_to_all(text, out)
        out = written_regimens(text, out)
        out = glossed_regimens(text, out)
        out = asked_progression(text, out)
        out = one_time_therapies(text, out)
        out = maintenance_partners(text, out)
        out = self.derive(text, out)
        if omap:
            for ent in out:
                ent["start"], ent["end"] = omap.to_original(ent["start"]), omap.to_original(ent["end"], end=True)
        return finish(original, out)


    def _components(self, code: str) -> Tuple[str, ...]:
        reg = self.kb.regimens.get(code)
        return tuple(reg.active_components) if reg is not None else ()

    def derive(self, text: str, out: List[dict]) -> List[dict]:
        """Facts of the whole message (`derive`): ordinal relapses that date a past regimen, named refractory
        states, corrected numbers, remission stated apart from the transplant, the relapse type from its signs,
        the region, and the number of prior lines from the regimens named when no count is stated."""
        out = history_ordinals(text, out)
        out = named_lines(text, out)
        out = refractory_states(text, out)
        out = corrected_numbers(text, out)
        out = unsure_counts(text, out)
        out = remission_after_transplant(text, out)
        out = relapse_after_stopping(text, out)
        out = renal_signs(text, out)
        out = paraprotein_numbers(text, out)
        out = relapse_now(text, out)
        out = resolve_relapse(out)
        out = self.regions.find(text, out)
        out = bare_age(text, out)
        out = transplant_prose(text, out)
        out = transplant_count(text, out)
        out = transplant_reasons(text, out)
        out = lines_before_that(text, out)
        if not any(e["entity"] == "prior_lines" for e in out):
            counted = count_lines(text, out, self._components) or single_line(text, out)
            if counted:
                n, s, e = counted
                out.append({"entity": "prior_lines", "value": n, "start": s, "end": e, "role": "counted"})
        return out


def asked(text: str, sp) -> bool:
    """The sentence of a span is a question ("what about VRd then KRd?"), not a history told after a request for
    help ("Could you help with a lady of 79. She had VMP, then Rd...")."""
    a = max(text.rfind(ch, 0, sp.start_char) for ch in ".!?\n") + 1
    ends = [i for i in (text.find(ch, sp.end_char) for ch in ".!?\n") if i >= 0]
    b = min(ends) + 1 if ends else len(text)
    return bool(QUESTION_RE.search(text[a:b]))


def finish(text: str, ents: Iterable[dict]) -> List[dict]:
    """Sorted, with text, without partial overlaps (identical spans of one regimen's drugs are kept)."""
    ents = sorted(ents, key=lambda x: (x["start"], -(x["end"] - x["start"])))
    out: List[dict] = []
    for ent in ents:
        clash = False
        for o in out:
            if ent["start"] < o["end"] and o["start"] < ent["end"]:
                same = ent["start"] == o["start"] and ent["end"] == o["end"]
                # one regimen's drugs; renal wording that is both the comorbidity and a relapse sign
                if not (same and (ent["entity"] == o["entity"] == "drug"
                                  or {ent["entity"], o["entity"]} == {"relapse", "comorbidity"})):
                    clash = True
                    break
        if clash:
            continue
        ent["text"] = text[ent["start"]:ent["end"]]
        out.append(ent)
    keys = ("entity", "value", "start", "end", "text", "role", "confidence_entity")
    return [{k: e[k] for k in keys if k in e} for e in out]
