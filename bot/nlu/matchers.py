"""Surface matching: the spaCy tokenizer, the name patterns built from the knowledge base, fuzzy drug names.

`make_nlp()` is a blank English spaCy pipeline whose tokenizer splits "len/dara", "len+dex", "ISS-3" and a
hanging hyphen ("lenalidomide- and ..."). `Matchers(nlp, kb)` turns the KB aliases of drugs, regimens,
transplants and trials (plus `lexicon`'s prior regimens and extra aliases) into spaCy PhraseMatcher / Matcher
patterns: case-insensitive with hyphen / space / no-space variants, except short codes that are other words
in another case ("PD", "SD", "MD", "BD", "D"), which match in their KB spelling only or as the whole message.
`Matchers.hits(doc)` gives (kind, value, span) per match; `Matchers.typos(doc, covered)` finds drug names
with a typo (>= 6 letters, 1-2 edits from a drug name of the same first letter: "lenalidomid", "daratumab").

Layer: may import the standard library, spaCy (when the pipeline is built), `bot.clinical` and `.lexicon`.
"""
from __future__ import annotations

import re
from typing import Dict, Iterator, List, Optional, Tuple

from bot.clinical.kb import fold

from .lexicon import (
    CASE_SENSITIVE_REGIMEN_ALIASES,
    EXTRA_REGIMEN_ALIASES,
    FUZZY_STOPWORDS,
    PRIOR_REGIMENS,
    PRIOR_REGIMENS_CASED,
    TRIAL_BASE_ALIASES,
    TRIAL_CONTEXT_WORDS,
    TRIAL_OPTION_WORDS,
    TRIAL_WORDS,
)

# kinds of targets: a drug, a catalog regimen or transplant, a prior (non-catalog) regimen, a trial, a finding
DRUG, REGIMEN, PRIOR, TRIAL, FINDING = "DRUG", "REGIMEN", "PRIOR", "TRIAL", "FINDING"
# which kind wins between two matches of the same length at the same place
KIND_PRIORITY = {DRUG: 0, REGIMEN: 1, PRIOR: 2, TRIAL: 3}
ABBREVIATIONS = ("refr.", "Refr.", "REFR.", "maint.", "Maint.", "neg.", "incl.", "vs.", "e.g.", "i.e.", "pt.",
                 "Pt.", "approx.", "yrs.", "mo.", "mos.", "dx.", "hx.", "tx.", "rx.")


def make_nlp():
    """A blank English spaCy pipeline with the tokenizer of clinical shorthand, and Token._.rrmm_free (False on
    the words of a target and the connectors of a coordinated list: they do not end a ConText scope)."""
    import spacy
    from spacy.tokens import Token
    from spacy.util import compile_infix_regex, compile_suffix_regex

    nlp = spacy.blank("en")
    infixes = list(nlp.Defaults.infixes) + [r"(?<=[A-Za-z0-9])[+/&](?=[A-Za-z0-9])", r"(?<=[A-Za-z])-(?=[0-9])"]
    nlp.tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
    # "lenalidomide- and isatuximab-refractory": a hyphen left hanging after a word is a token of its own
    nlp.tokenizer.suffix_search = compile_suffix_regex(list(nlp.Defaults.suffixes) + [r"(?<=[A-Za-z])-"]).search
    for abbr in ABBREVIATIONS:
        nlp.tokenizer.add_special_case(abbr, [{"ORTH": abbr}])
    Token.set_extension("rrmm_free", default=True, force=True)
    return nlp


# ---- fuzzy matching of drug names -----------------------------------------------------------------------------
def osa_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (edits incl. adjacent transpositions), > limit cut short."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: List[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        best = cur[0]
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                v = min(v, prev2[j - 2] + 1)
            cur[j] = v
            best = min(best, v)
        if best > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


class _Fuzzy:
    """A word of >= 6 letters -> the one drug whose name (same first letter) is nearest within 1-2 edits (clinical-spec
    section 9: misspelt drug names of six letters or more resolve when the match is unambiguous)."""

    def __init__(self, names: Dict[str, str]):
        self.by_letter: Dict[str, List[Tuple[str, str]]] = {}
        for name, drug in names.items():
            if len(name) >= 6 and name.isalpha():
                self.by_letter.setdefault(name[0], []).append((name, drug))
        self.cache: Dict[str, Optional[str]] = {}

    def __call__(self, word: str) -> Optional[str]:
        w = word.lower()
        if w in self.cache:
            return self.cache[w]
        result = None
        if len(w) >= 6 and w.isalpha() and w not in FUZZY_STOPWORDS:
            best: Dict[str, int] = {}
            for name, drug in self.by_letter.get(w[0], ()):
                limit = 1 if len(name) <= 9 else 2
                d = osa_distance(w, name, limit)
                if d <= limit:
                    best[drug] = min(d, best.get(drug, 99))
            if best:
                top = min(best.values())
                winners = [d for d, v in best.items() if v == top]
                result = winners[0] if len(winners) == 1 else None
        if len(self.cache) < 20000:
            self.cache[w] = result
        return result


def _variants(folded: str) -> List[str]:
    """'second-auto-hct' -> 'second auto-hct', 'second-autohct', 'secondauto hct', ... (every separator between
    the parts is a space, a hyphen or nothing)."""
    parts = [p for p in folded.split("-") if p]
    if len(parts) > 4:
        return sorted({" ".join(parts), "-".join(parts)})
    out = {parts[0]}
    for part in parts[1:]:
        out = {o + sep + part for o in out for sep in (" ", "-", "")}
    return sorted(out)


# ---- the patterns ---------------------------------------------------------------------------------------------
class Matchers:
    """The name patterns of drugs, regimens, transplants and trials, built once from the knowledge base."""

    def __init__(self, nlp, kb) -> None:
        from spacy.matcher import Matcher, PhraseMatcher

        self.lower = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.orth = PhraseMatcher(nlp.vocab, attr="ORTH")
        self.matcher = Matcher(nlp.vocab)
        self.whole_message: Dict[str, Tuple[str, str]] = {}  # folded name -> (kind, value) for ambiguous names
        lower: Dict[str, List[str]] = {}
        orth: Dict[str, List[str]] = {}

        def add_lower(key: str, folded: str) -> None:
            for v in _variants(folded):
                lower.setdefault(key, []).append(v)

        drug_names = kb.drug_aliases()
        for folded, drug in drug_names.items():
            add_lower(f"{DRUG}|{drug}", folded)
        regimen_names = dict(kb.regimen_aliases())
        for surface, code in EXTRA_REGIMEN_ALIASES.items():
            if code not in kb.regimens and code not in kb.transplants:
                raise ValueError(f"lexicon.EXTRA_REGIMEN_ALIASES: {surface}: {code} is not a KB regimen or transplant")
            regimen_names.setdefault(fold(surface), code)
        cased: Dict[str, str] = {}
        for code, reg in {**kb.regimens, **kb.transplants}.items():
            for surface in (code, *reg.aliases):
                cased[surface] = code
        for folded, code in regimen_names.items():
            letters = sum(ch.isalpha() for ch in folded)
            if letters <= 2 or folded in CASE_SENSITIVE_REGIMEN_ALIASES or folded in TRIAL_OPTION_WORDS:
                self.whole_message[folded] = (REGIMEN, code)  # plus the exact-case patterns / Matcher below
                continue
            add_lower(f"{REGIMEN}|{code}", folded)
        for surface, code in cased.items():
            folded = fold(surface)
            if sum(ch.isalpha() for ch in folded) <= 2 or folded in CASE_SENSITIVE_REGIMEN_ALIASES:
                if sum(ch.isalpha() for ch in folded) <= 1:
                    continue  # "D": only as the whole message
                for v in {surface, surface.replace("-", ""), code}:
                    if fold(v) == folded or v == code:
                        orth.setdefault(f"{REGIMEN}|{code}", []).append(v)
        # prior regimens that are not catalog options: name -> their drugs
        self.prior_regimens: Dict[str, Tuple[str, ...]] = {}
        for name, comps in PRIOR_REGIMENS.items():
            for c in comps:
                if c not in kb.drugs:
                    raise ValueError(f"lexicon.PRIOR_REGIMENS: {name}: {c} is not a KB drug id")
            folded = fold(name)
            if folded in regimen_names:
                continue  # the knowledge base knows it: a catalog regimen
            self.prior_regimens[name] = comps
            if name in PRIOR_REGIMENS_CASED:
                orth.setdefault(f"{PRIOR}|{name}", []).append(name)
            else:
                add_lower(f"{PRIOR}|{name}", folded)
        for folded, trial in kb.trial_aliases().items():
            base = re.sub(r"[^a-z]", "", folded)
            if base in TRIAL_WORDS:
                orth.setdefault(f"{TRIAL}|{trial}", []).extend([trial, trial.upper()])
                self.whole_message[folded] = (TRIAL, trial)
                self.matcher.add(f"{TRIAL}|{trial}", [[{"LOWER": folded}, {"LOWER": {"IN": list(TRIAL_CONTEXT_WORDS)}}],
                                                     [{"LOWER": "the"}, {"LOWER": folded}]])
            else:
                add_lower(f"{TRIAL}|{trial}", folded)
        for base, trial in TRIAL_BASE_ALIASES.items():
            if trial in kb.trials:
                add_lower(f"{TRIAL}|{trial}", fold(base))
        for key, phrases in lower.items():
            self.lower.add(key, list(nlp.tokenizer.pipe(sorted(set(phrases)))))
        for key, phrases in orth.items():
            self.orth.add(key, list(nlp.tokenizer.pipe(sorted(set(phrases)))))
        # "R maint" = lenalidomide maintenance; "on a study" = a clinical trial
        self.matcher.add(f"{DRUG}|lenalidomide#0",
                         [[{"ORTH": "R"}, {"LOWER": {"IN": ["maint", "maint.", "maintenance"]}}]])
        if "trial" in kb.regimens:
            words = sorted(TRIAL_OPTION_WORDS)
            self.matcher.add(f"{REGIMEN}|trial#1", [
                [{"LOWER": {"IN": ["on", "in", "into", "a", "for", "enrol", "enroll", "enrolment", "enrollment"]}},
                 {"LOWER": {"IN": words}}],
                [{"LOWER": {"IN": words}}, {"LOWER": {"IN": ["option", "options", "enrolment", "enrollment", "entry",
                                                              "participation", "referral"]}}]])
        self.fuzzy = _Fuzzy({**{d: d for d in kb.drugs}, **{k: v for k, v in drug_names.items()}})

    def hits(self, doc) -> Iterator[Tuple[str, str, object]]:
        """(kind, value, span) of every pattern match, the span trimmed to the name ("the ASPIRE trial" ->
        "ASPIRE", "R maint" -> "R", "on a study" -> "study")."""
        for matcher in (self.lower, self.orth, self.matcher):
            for match_id, start, end in matcher(doc):
                key = doc.vocab.strings[match_id].split("#")[0]
                kind, value = key.split("|", 1)
                span = doc[start:end]
                if kind == TRIAL and span[-1].lower_ in TRIAL_CONTEXT_WORDS + ("the",):
                    span = doc[start:end - 1] if span[-1].lower_ != "the" else doc[start + 1:end]
                if kind == TRIAL and span[0].lower_ == "the":
                    span = doc[start + 1:end]
                if kind == DRUG and value == "lenalidomide" and span[0].text == "R" and len(span) > 1:
                    span = span[:1]
                if kind == REGIMEN and value == "trial" and len(span) == 2 and matcher is self.matcher:
                    span = span[1:] if span[1].lower_ in TRIAL_OPTION_WORDS else span[:1]
                yield kind, value, span

    def typos(self, doc, covered: List[Tuple[int, int]]) -> Iterator[Tuple[int, int, str]]:
        """(start_char, end_char, drug) of the words of >= 6 letters outside `covered` that are a drug name
        with a typo."""
        for tok in doc:
            if len(tok) >= 6 and tok.is_alpha and all(tok.idx >= e or tok.idx + len(tok) <= s for s, e in covered):
                drug = self.fuzzy(tok.text)
                if drug:
                    yield tok.idx, tok.idx + len(tok), drug
