"""Rule-based clinical entity extraction for RRMM case descriptions (spaCy + medspacy ConText; no Rasa imports).

    from bot.nlu.extract import extract
    extract("68M, 2L, len/dara-refr, fit, not TE")
    # [{'entity': 'age', 'value': 68, 'start': 0, 'end': 2, 'text': '68'},
    #  {'entity': 'sex', 'value': 'male', 'start': 2, 'end': 3, 'text': 'M'},
    #  {'entity': 'prior_lines', 'value': 2, ...}, {'entity': 'drug', 'value': 'lenalidomide', 'role': 'refractory', ...},
    #  {'entity': 'drug', 'value': 'daratumumab', 'role': 'refractory', ...}, {'entity': 'fitness', 'value': 'fit', ...},
    #  {'entity': 'transplant_eligible', 'value': False, ...}]

Entities follow docs/nlu-schema.md. Each is a dict {"entity", "value", "start", "end", "text"} plus "role" when
the schema gives one; offsets are character offsets into the text; the list is sorted by start.

How it works
------------
1. Case facts (age, sex, prior_lines, relapse, fitness, rmci, transplant_eligible, prior_auto_hct,
   months_remission_after_hct, days_since_last_lenalidomide, riss_stage, covid_vaccination_up_to_date) are
   regular expressions on the raw text (`facts.py`); negation is part of those patterns ("not TE").
2. Drug, regimen and trial names are spaCy PhraseMatcher patterns built from the knowledge base aliases
   (`kb().drug_aliases()`, `regimen_aliases()`, `trial_aliases()`), case-insensitive, with hyphen / space /
   no-space variants; drug names with a typo (tokens of >= 7 letters within 1-2 edits of a drug name of the
   same first letter, e.g. "lenalidomid", "daratumab") are matched too. Short regimen codes that are other
   words in another case ("PD" progressive disease, "SD", "MD", "BD", "D") are matched in their KB spelling
   only ("Pd", "Sd"), or when the whole message is the name ("pd?").
3. Findings (cytogenetics, aggressive features, comorbidities) are regular expressions (`facts.py`).
4. Drugs, regimens and findings become the spaCy Doc's entities, and medspacy ConText (`context_rules.py`)
   links them to status and negation words. Commas, semicolons, "but", "now", "due to", ... end a scope,
   except the commas and "and"/"or"/"/" inside a coordinated list of drugs ("refractory to len, bort and
   dara") or of findings ("no neuropathy, CKD or CHF"); a comma after the "and" of a list starts a new
   clause ("refractory to len and bort, dara naive"). When more than one status reaches a drug, the nearest
   wins, except that a status written after a list ("refr len, pom, dara, bort exposed") only reaches the
   drug right before it when another status opens the list.
   (medspacy 1.3.1 has two interval bugs that break this; bot.plugins.patches fixes them.)
   Calls are serialised by a lock, so the shared pipeline can serve a threaded server.

Roles of drugs: refractory ("refractory to", "-refr", "progressed on"), exposed ("received", "after",
"-exposed", "not refractory to", "exposed but not refractory", "sensitive to", "after stopping"), naive ("no
prior", "never had", "-naive"), unavailable ("not available", "can't get", "cannot source", "isn't on our
formulary"). A drug class with a status followed by its drugs in brackets gives them that status ("PI exposed
(bortezomib)"); "excluded" / "ruled out" give a drug no status ("why was isatuximab excluded?"). Progression
stated after a regimen without a status word before it makes it refractory (`_progressed_on`): "1 prior line of
DRd, progressing on it" (the nearest regimen before "it"; "both"/"them": its whole list), "on KRd and
progressed" (after "on" only: "received VRd and ASCT and progressed 3 years later" stays exposed), "DPd to /
until progression". A status right after a tight list ("2PL len+dara refractory") beats a weaker one before it.
"progressed on len maintenance" gives lenalidomide role exposed
plus `lenalidomide_maintenance_only` (value true, span "maintenance"): the seed counts progression on
maintenance only as lenalidomide-sensitive (R2); an explicit "refractory" still gives refractory (and the flag).
Maintenance named in the history ("VRd/ASCT/len maint, then DKd") does not give the flag when the message says
lenalidomide is refractory elsewhere, unless progression was on maintenance ("prog on maint", "relapsed ...
while on len maintenance"); "R maint ..., prog on maint" gives the flag on the second "maint".
"relapsed 4 months after stopping lenalidomide" is `days_since_last_lenalidomide` on the duration plus the drug
(exposed); "3 months off lenalidomide" keeps the drug inside the fact's span.
Dexamethasone never carries a status (a steroid backbone is part of every regimen).
Unicode hyphens and dashes inside words ("DREAMM‑7", "len–refractory") are read as "-" (offsets unchanged).

Regimens (the choice asked for in the design brief). A regimen with a status refractory or exposed - catalog
or not ("refractory to VRd", "progressed on KRd", "had VRd induction") - gives one `drug` entity per
non-dexamethasone component with that role, all on the regimen's span: the only case where two entities share
characters, and then their start and end are identical (Rasa's evaluation labels the token once, with the
same entity and role; from_entity slot mappings collect every drug). A catalog regimen without a status is a
`regimen` entity with its KB code ("why not KRd?"); with naive / unavailable it stays a `regimen` with that
role ("KRd not available": lenalidomide may well be available). Prior regimens that are not catalog options
(VRd, VTd, D-VRd, KCd, VMP, ... in `lexicon.PRIOR_REGIMENS`) always become their drugs, with or without a role.
A name that is both a drug and a one-drug regimen (teclistamab, belantamab/Blenrep, ide-cel, cilta-cel, Benda)
is a `drug`. Transplants: an autologous transplant in the history ("after ASCT", "had VRd + ASCT", "KRd
induction, ASCT, len maintenance", "relapsed 11 months after ASCT", "autografted once") is `prior_auto_hct` (1; a
second one 2; "no ASCT" 0; "eligible for a second autograft" is only `transplant_eligible`); in a question, as the
whole message, or as "second ASCT" / allo-HCT without a status it is a `regimen` entity ("what is a second
ASCT?", "why not allo?"), and with "not available" a `regimen` with role unavailable.

Findings get role "absent" when negated ("no neuropathy", "t(11;14) negative"); a finding marked unknown
("FISH not done", "t(11;14) pending"), corrected away ("ignore the neuropathy") or named after a bare "not"
("it's t(4;14) not t(11;14)") is dropped.

Prior lines: "2 prior lines", "after 3 lines", "4 prior regimens", "2L", "3PL" and "third relapse" (= 3)
count lines already given; an ordinal line counts the line being given now: "3rd line" / "being considered
for 3rd line" = 2 prior lines, unless it is behind the patient ("after 3rd line", "progressed on 3rd-line
therapy" = 3). Numbers may be words (one..ten, first..tenth).
"""
from __future__ import annotations

import re
import threading
import warnings
from typing import Any, Dict, Iterable, List, Optional, Tuple

from bot.clinical.kb import fold

from .facts import REJECT, Finding, Rule, fact_rules, finding_rules, scan_facts
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

__all__ = ["extract", "get_nlp", "get_pipeline", "ENTITY_NAMES", "ENTITY_ROLES"]

ENTITY_NAMES = (
    "drug", "regimen", "trial", "age", "sex", "prior_lines", "relapse", "fitness", "rmci", "transplant_eligible",
    "prior_auto_hct", "months_remission_after_hct", "cytogenetics", "aggressive_feature", "comorbidity",
    "lenalidomide_maintenance_only", "days_since_last_lenalidomide", "riss_stage", "covid_vaccination_up_to_date",
)

# roles each entity can carry (for domain.yml)
ENTITY_ROLES = {
    "drug": ("refractory", "exposed", "naive", "unavailable"),
    "regimen": ("refractory", "exposed", "naive", "unavailable"),
    "cytogenetics": ("absent",), "aggressive_feature": ("absent",), "comorbidity": ("absent",),
}

_LOCK = threading.RLock()
_STATE: Optional["_Pipeline"] = None

DRUG, REGIMEN, PRIOR, TRIAL, FINDING = "DRUG", "REGIMEN", "PRIOR", "TRIAL", "FINDING"
TRANSPLANT_CODES = ("auto-HCT", "auto-HCT-2", "allo-HCT")
CONNECTORS = {",", "and", "or", "/", "&", "+", "nor", "and/or", "as", "well", "-", "plus", "then", "("}
# priority of statuses at equal distance from a drug
DRUG_PRIORITY = {"UNAVAILABLE": 0, "NAIVE": 1, "NEGATED_EXISTENCE": 2, "REFRACTORY": 3, "PROGRESSED": 4,
                 "BUT_NOT": 5, "MAINTENANCE": 6, "EXPOSED": 7, "IGNORE": 8, "NOT_BARE": 9}
FINDING_PRIORITY = {"NEGATED_EXISTENCE": 0, "ABSENT_ONLY": 0, "UNKNOWN": 1, "UNAVAILABLE": 1, "IGNORE": 1, "NOT_BARE": 2,
                    "POSITIVE": 3}
STRONG = {"REFRACTORY", "PROGRESSED", "NEGATED_EXISTENCE", "NAIVE", "UNAVAILABLE"}
HISTORY_WORDS = {"prior", "previous", "history of", "h/o", "hx of", "hx", "past", "recent", "known"}
QUESTION_RE = re.compile(r"\?|^\s*(?:what|why|how|which|when|tell|explain|describe|info|details|is|are|can|could|"
                         r"should|would|does|do|any|show|compare|cautions?|evidence)\b", re.I)
# hyphens and dashes written as Unicode characters (text pasted from papers: "DREAMM‑7", "len–refractory")
DASH_RE = re.compile(r"[\u2010\u2011]|(?<=\w)[\u2012\u2013\u2212](?=\w)")
_PROG = r"(?:progress(?:ed|ing|ion)|prog(?:'?d)?\.?|relaps(?:ed|ing|e)|PD|escaped|failed|failing)"
_NEG_BEFORE = re.compile(r"(?:\bno|\bnot|\bwithout|\bnever|n't|\bnor)\s+(?:yet\s+|ever\s+|been\s+)*$", re.I)
# "progressing on it", "relapsed on this regimen", "progressed on both": the drugs named just before
ANAPHOR_RE = re.compile(
    rf"\b{_PROG}(?:\s+(?:clinically|biochemically|rapidly|slowly|again|now|steadily|serologically))?\s+"
    rf"(?:(?:while|whilst)\s+)?(?:on|during|through)\s+(?:(?P<pl>them|both(?:\s+of\s+them)?|these|those|"
    r"all\s+(?:three|four|of\s+them))|it|this|that|the\s+same|(?:this|that|the|the\s+same)\s+(?:regimen|combination|"
    r"combo|triplet|doublet|quadruplet|line|treatment|therapy))\b", re.I)
# after "on X": "on KRd and progressed", "on DRd for 3 years, then progressed"
_QUAL = (r"^\s*(?:-\s*)?(?:(?:maintenance|maint\.?|induction|therapy|treatment|alone|monotherapy|combination|based)\s*)?"
         r"(?:\((?:[^()]{0,40})\)\s*)?(?:(?:for|x|over|×)\s*[^,;.()]{0,25}?\s*)?(?:\((?:[^()]{0,40})\)\s*)?")
AND_PROG_RE = re.compile(
    _QUAL + r",?\s*(?:and|but|then|before|,)\s+(?:then\s+|subsequently\s+|eventually\s+|later\s+|ultimately\s+|"
    r"has\s+|had\s+|have\s+|now\s+|is\s+now\s+|is\s+|was\s+|she\s+|he\s+)*" + _PROG +
    r"\b(?![^,;.]{0,30}\b(?:after\s+(?:stopping|discontinu|completing|finishing|coming\s+off|cessation|the\s+end|"
    r"it\s+was)|off\b))", re.I)
# "DPd to progression", "DRd until PD"
TO_PROG_RE = re.compile(
    _QUAL + r",?\s*(?:(?:given|continued|treated|continuously|continuous|ongoing)\s+)?(?:to|until|till|untill|up\s+to|"
    r"through\s+to)\s+(?:disease\s+)?(?:progression|PD|POD|relapse|progressive\s+disease)\b", re.I)
ON_WORDS = {"on", "onto"}
NOT_ON = {"based", "depends", "depending", "focus", "rely", "info", "information", "details", "data", "more",
          "advice", "thoughts", "evidence", "update", "comment", "opinion", "guidance", "read", "go", "put", "start",
          "started", "starting", "going"}
# "progressed on maintenance", "prog on maint", "relapsed on len maintenance"
PROG_MAINT_RE = re.compile(
    rf"\b{_PROG}\s+(?:(?:while|whilst)\s+)?(?:on|during|through)\s+(?:(?:the|her|his|their)\s+)?"
    r"(?:(?:len(?:alidomide)?|R|revlimid|lenalidomid)\s+)?(?P<m>maint(?:enance)?\.?)(?!\w)", re.I)
# a reference to a trial as evidence, not the option of enrolling in one ("which trial supports KPd?")
TRIAL_REF_BEFORE = {"which", "what", "whose", "that", "this", "pivotal", "registration", "registrational", "landmark",
                    "randomised", "randomized", "phase", "same", "key", "main", "original"}
TRIAL_REF_AFTER = {"support", "supports", "supported", "supporting", "showed", "shows", "show", "showing",
                   "demonstrated", "demonstrates", "demonstrating", "tested", "compared", "comparing", "data",
                   "evidence", "results", "result", "behind", "that", "which", "where", "was", "were", "led",
                   "established", "found", "finds", "reported", "backs", "backing", "proved", "proves", "did", "does",
                   "is", "name", "leading", "underpinning", "underpins", "basis", "justifies", "justifying"}
NEG_GUARD_FACTS = {"relapse", "transplant_eligible", "fitness", "covid_vaccination_up_to_date"}
FRAME_RE = re.compile(
    r"^\s*(?:(?:what(?:'s|\s+is|\s+are|\s+about)|tell\s+me\s+about|explain|describe|why\s+not|why\s+no|info\s+on|"
    r"details\s+on|what\s+did|results\s+of|cautions\s+for|and|the)\s+)?(?:the\s+)?(?P<core>[\w+\-/ ]+?)"
    r"(?:\s+(?:regimen|trial|study|results|data|show|showed))?\s*[?.!]*\s*$", re.I)


# ---- fuzzy matching of drug names -----------------------------------------------------------------------------
def _osa(a: str, b: str, limit: int) -> int:
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
    def __init__(self, names: Dict[str, str]):
        self.by_letter: Dict[str, List[Tuple[str, str]]] = {}
        for name, drug in names.items():
            if len(name) >= 7 and name.isalpha():
                self.by_letter.setdefault(name[0], []).append((name, drug))
        self.cache: Dict[str, Optional[str]] = {}

    def __call__(self, word: str) -> Optional[str]:
        w = word.lower()
        if w in self.cache:
            return self.cache[w]
        result = None
        if len(w) >= 7 and w.isalpha() and w not in FUZZY_STOPWORDS:
            best: Dict[str, int] = {}
            for name, drug in self.by_letter.get(w[0], ()):
                limit = 1 if len(name) <= 9 else 2
                d = _osa(w, name, limit)
                if d <= limit:
                    best[drug] = min(d, best.get(drug, 99))
            if best:
                top = min(best.values())
                winners = [d for d, v in best.items() if v == top]
                result = winners[0] if len(winners) == 1 else None
        if len(self.cache) < 20000:
            self.cache[w] = result
        return result


class SetupError(RuntimeError):
    """The pipeline cannot be built as it is meant to work."""


def _require_medspacy_fixes() -> None:
    """medspacy 1.3.1 has two interval bugs that break ConText scopes; bot.plugins.patches fixes them (the one
    place that patches third-party code). Extraction without them would be silently wrong: refuse instead."""
    import medspacy.common.medspacy_matcher as mm
    import medspacy.context.context_modifier as cm
    if not (getattr(cm.tuple_overlaps, "__rrmm_patch__", False)
            and getattr(mm.prune_overlapping_matches, "__rrmm_patch__", False)):
        raise SetupError("the NLU pipeline needs the medspacy fixes: call bot.plugins.patches.install(\"medspacy\") "
                         "first (the Rasa components do)")


# ---- the pipeline ---------------------------------------------------------------------------------------------------
class _Pipeline:
    def __init__(self) -> None:
        saved_filters = list(warnings.filters)
        try:
            import medspacy.context  # noqa: F401  (registers the medspacy_context factory)
            import spacy
            from loguru import logger
            from spacy.matcher import Matcher, PhraseMatcher
            from spacy.tokens import Token
            from spacy.util import compile_infix_regex, compile_suffix_regex

            from .context_rules import context_rules
        finally:
            warnings.filters[:] = saved_filters  # medspacy silences every warning of the process on import
        logger.disable("PyRuSH")
        logger.disable("medspacy")
        _require_medspacy_fixes()
        from bot.clinical.kb import kb

        self.kb = kb()
        nlp = spacy.blank("en")
        infixes = list(nlp.Defaults.infixes) + [r"(?<=[A-Za-z0-9])[+/&](?=[A-Za-z0-9])", r"(?<=[A-Za-z])-(?=[0-9])"]
        nlp.tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
        # "lenalidomide- and isatuximab-refractory": a hyphen left hanging after a word is a token of its own
        nlp.tokenizer.suffix_search = compile_suffix_regex(list(nlp.Defaults.suffixes) + [r"(?<=[A-Za-z])-"]).search
        for abbr in ("refr.", "Refr.", "REFR.", "maint.", "Maint.", "neg.", "incl.", "vs.", "e.g.", "i.e.", "pt.",
                     "Pt.", "approx.", "yrs.", "mo.", "mos.", "dx.", "hx.", "tx.", "rx."):
            nlp.tokenizer.add_special_case(abbr, [{"ORTH": abbr}])
        Token.set_extension("rrmm_free", default=True, force=True)
        nlp.add_pipe("medspacy_context", config={"rules": None, "span_attrs": None})
        self.context = nlp.get_pipe("medspacy_context")
        self.context.add(context_rules())
        self.nlp = nlp

        self.fact_rules: List[Rule] = fact_rules(
            [n for n, d in self.kb.drug_aliases().items() if d == "lenalidomide"] + ["lenalidomid", "lenalidomde"])
        self.finding_rules: List[Finding] = finding_rules()

        # phrase patterns from the knowledge base
        self.lower = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.orth = PhraseMatcher(nlp.vocab, attr="ORTH")
        self.matcher = Matcher(nlp.vocab)
        self.whole_message: Dict[str, Tuple[str, str]] = {}  # folded name -> (kind, value) for ambiguous names
        lower: Dict[str, List[str]] = {}
        orth: Dict[str, List[str]] = {}

        def variants(folded: str) -> List[str]:
            """'second-auto-hct' -> 'second auto-hct', 'second-autohct', 'secondauto hct', ... (every separator
            between the parts is a space, a hyphen or nothing)."""
            parts = [p for p in folded.split("-") if p]
            if len(parts) > 4:
                return sorted({" ".join(parts), "-".join(parts)})
            out = {parts[0]}
            for part in parts[1:]:
                out = {o + sep + part for o in out for sep in (" ", "-", "")}
            return sorted(out)

        def add_lower(key: str, folded: str) -> None:
            for v in variants(folded):
                lower.setdefault(key, []).append(v)

        drug_names = self.kb.drug_aliases()
        for folded, drug in drug_names.items():
            add_lower(f"{DRUG}|{drug}", folded)
        regimen_names = dict(self.kb.regimen_aliases())
        for surface, code in EXTRA_REGIMEN_ALIASES.items():
            regimen_names.setdefault(fold(surface), code)
        cased: Dict[str, str] = {}
        for code, reg in {**self.kb.regimens, **self.kb.transplants}.items():
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
        self.prior_regimens: Dict[str, Tuple[str, ...]] = {}
        for name, comps in PRIOR_REGIMENS.items():
            for c in comps:
                if c not in self.kb.drugs:
                    raise ValueError(f"lexicon.PRIOR_REGIMENS: {name}: {c} is not a KB drug id")
            folded = fold(name)
            if folded in regimen_names:
                continue  # the knowledge base knows it: a catalog regimen
            self.prior_regimens[name] = comps
            if name in PRIOR_REGIMENS_CASED:
                orth.setdefault(f"{PRIOR}|{name}", []).append(name)
            else:
                add_lower(f"{PRIOR}|{name}", folded)
        for folded, trial in self.kb.trial_aliases().items():
            base = re.sub(r"[^a-z]", "", folded)
            if base in TRIAL_WORDS:
                orth.setdefault(f"{TRIAL}|{trial}", []).extend([trial, trial.upper()])
                self.whole_message[folded] = (TRIAL, trial)
                self.matcher.add(f"{TRIAL}|{trial}", [[{"LOWER": folded}, {"LOWER": {"IN": list(TRIAL_CONTEXT_WORDS)}}],
                                                     [{"LOWER": "the"}, {"LOWER": folded}]])
            else:
                add_lower(f"{TRIAL}|{trial}", folded)
        for base, trial in TRIAL_BASE_ALIASES.items():
            if trial in self.kb.trials:
                add_lower(f"{TRIAL}|{trial}", fold(base))
        for key, phrases in lower.items():
            self.lower.add(key, list(nlp.tokenizer.pipe(sorted(set(phrases)))))
        for key, phrases in orth.items():
            self.orth.add(key, list(nlp.tokenizer.pipe(sorted(set(phrases)))))
        # "R maint" = lenalidomide maintenance; "on a study" = a clinical trial
        self.matcher.add(f"{DRUG}|lenalidomide#0", [[{"ORTH": "R"}, {"LOWER": {"IN": ["maint", "maint.", "maintenance"]}}]])
        if "trial" in self.kb.regimens:
            words = sorted(TRIAL_OPTION_WORDS)
            self.matcher.add(f"{REGIMEN}|trial#1", [
                [{"LOWER": {"IN": ["on", "in", "into", "a", "for", "enrol", "enroll", "enrolment", "enrollment"]}},
                 {"LOWER": {"IN": words}}],
                [{"LOWER": {"IN": words}}, {"LOWER": {"IN": ["option", "options", "enrolment", "enrollment", "entry",
                                                              "participation", "referral"]}}]])
        self.known_words = set(drug_names) | set(regimen_names) | set(self.kb.trial_aliases()) | {
            "refractory", "refr", "exposed", "naive", "maintenance", "maint", "induction", "sensitive", "and", "or",
            "not", "unavailable", "resistant", "based", "relapse", "progression", "dex", "then", "x"}
        self.fuzzy = _Fuzzy({**{d: d for d in self.kb.drugs}, **{k: v for k, v in drug_names.items()}})

    # ---- step 1-3: facts and targets ----------------------------------------------------------------------------
    def _targets(self, doc) -> Tuple[List[dict], List[dict], List[tuple]]:
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
                if s == e or not free(s, e):
                    continue
                role = rule.role(m)
                if role is REJECT:
                    continue
                cands.append((s, e, FINDING, (rule.entity, rule.value), role, 5))
        prio = {DRUG: 0, REGIMEN: 1, PRIOR: 2, TRIAL: 3}
        for matcher in (self.lower, self.orth, self.matcher):
            for match_id, start, end in matcher(doc):
                key = self.nlp.vocab.strings[match_id].split("#")[0]
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
                s, e = span.start_char, span.end_char
                # a name glued to more letters is not that name ("Isabel" is not isatuximab)
                if (s > 0 and text[s - 1].isalnum()) or (e < len(text) and text[e].isalpha()):
                    continue
                if kind == DRUG and self._person_name(doc, span):
                    continue
                if kind == REGIMEN and value == "trial" and self._trial_reference(doc, span):
                    continue
                if free(s, e):
                    cands.append((s, e, kind, value, None, prio[kind]))
        covered = [(c[0], c[1]) for c in cands] + claimed
        for tok in doc:
            if len(tok) >= 7 and tok.is_alpha and all(tok.idx >= e or tok.idx + len(tok) <= s for s, e in covered):
                drug = self.fuzzy(tok.text)
                if drug:
                    cands.append((tok.idx, tok.idx + len(tok), DRUG, drug, None, 0))
        if not cands:
            m = FRAME_RE.match(text)
            if m:
                hit = self.whole_message.get(fold(m.group("core")))
                if hit and free(*m.span("core")):
                    cands.append((m.start("core"), m.end("core"), hit[0], hit[1], None, 1))
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

    @staticmethod
    def _trial_reference(doc, span) -> bool:
        """'which trial supports KPd?', 'is there a trial supporting Isa-Kd?': a trial as evidence, not the option
        of enrolling in one."""
        prev = doc[span.start - 1].lower_ if span.start > 0 else ""
        nxt = doc[span.end].lower_ if span.end < len(doc) else ""
        return prev in TRIAL_REF_BEFORE or nxt in TRIAL_REF_AFTER

    def _person_name(self, doc, span) -> bool:
        """'Len Smith', 'Mr Mel Jones', 'Dr Isa Khan': a short drug alias written like a first name."""
        if len(span) != 1 or not span[0].is_title or len(span[0]) > 4:
            return False
        prev = doc[span.start - 1].lower_.rstrip(".") if span.start > 0 else ""
        if prev in ("mr", "mrs", "ms", "miss", "dr", "prof", "patient", "pt", "name", "named", "called"):
            return True
        if span.end < len(doc):
            nxt = doc[span.end]
            if nxt.is_title and nxt.is_alpha and len(nxt) > 1 and fold(nxt.text) not in self.known_words:
                return True
        return False

    def process(self, original: str) -> List[dict]:
        from spacy.tokens import Span
        text = DASH_RE.sub("-", original)  # same length: offsets stay those of the original text
        doc = self.nlp.make_doc(text)
        for tok in doc:  # sentences: one per line (punctuation ends ConText scopes as TERMINATE modifiers)
            tok.is_sent_start = tok.i == 0 or "\n" in doc[tok.i - 1].text
        facts, trials, targets = self._targets(doc)
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
        for sp in spans:
            for tok in sp:
                tok._.rrmm_free = False
        closed = False  # a list "len, bort and dara" ends with its "and": a comma after that starts a new clause
        for a, b in zip(spans, spans[1:]):  # connectors inside a coordinated list of drugs or of findings
            gap = doc[a.end:b.start]
            if a.label_ == b.label_ and len(gap) <= 3 and all(t.lower_ in CONNECTORS or t.is_space for t in gap):
                has_comma = any(t.text == "," for t in gap)
                if closed and has_comma:
                    closed = False
                    continue
                for t in gap:
                    t._.rrmm_free = False
                if any(t.lower_ in ("and", "or", "nor", "and/or") for t in gap):
                    closed = True
            else:
                closed = False
        doc.ents = spans
        self.context(doc)
        out = list(facts) + trials
        question = bool(QUESTION_RE.search(text))
        graph_mods = list(doc._.context_graph.modifiers) if doc._.context_graph is not None else []
        forced = self._progressed_on(doc, spans, info)
        guard = [(f["start"], f["end"]) for f in facts if f["entity"] in NEG_GUARD_FACTS]
        for sp in spans:
            c = info[(sp.start, sp.end)]
            out.extend(self._resolve(doc, sp, c, graph_mods, question, (sp.start, sp.end) in forced, guard))
        out = self._maintenance_flag(text, out)
        return _finish(original, out)

    # ---- progression linked to a regimen named before it ---------------------------------------------------
    @staticmethod
    def _listed(doc, spans: list, i: int, step: int) -> List[int]:
        """Indexes of the coordinated list of drug targets around spans[i], walking left (-1) or right (+1)."""
        out = [i]
        j = i
        while 0 <= j + step < len(spans):
            a, b = (spans[j + step], spans[j]) if step < 0 else (spans[j], spans[j + step])
            gap = doc[a.end:b.start]
            if b.label_ != DRUG or a.label_ != DRUG or len(gap) > 3 or not all(
                    t.lower_ in CONNECTORS or t.is_space for t in gap):
                break
            j += step
            out.append(j)
        return out

    def _progressed_on(self, doc, spans: list, info: dict) -> set:
        """Targets that progression is stated about without a status word before them: "1 prior line of DRd,
        progressing on it", "on KRd and progressed", "DPd to progression" (refractory, IMWG: progression on
        therapy)."""
        text = doc.text
        low = text.lower()
        if not any(w in low for w in ("prog", "relaps", "pd", "escaped", "fail")):
            return set()

        def eligible(k: int) -> bool:
            sp = spans[k]
            c = info[(sp.start, sp.end)]
            return sp.label_ == DRUG and not (c[2] == REGIMEN and (c[3] in TRANSPLANT_CODES or c[3] == "trial"))

        forced: set = set()
        # "progressing on it": the nearest drug target before it (for "them"/"both": its whole list)
        for m in ANAPHOR_RE.finditer(text):
            if _NEG_BEFORE.search(text[max(0, m.start() - 20):m.start()]):
                continue
            before = [k for k, sp in enumerate(spans) if sp.end_char <= m.start() and eligible(k)]
            if not before:
                continue
            k = before[-1]
            if len(doc[spans[k].end:doc.char_span(m.start(), m.end(), alignment_mode="expand").start]) > 25:
                continue
            idx = self._listed(doc, spans, k, -1) if m.group("pl") else [k]
            forced.update((spans[j].start, spans[j].end) for j in idx if eligible(j))
        # "on KRd and progressed", "DPd to progression"
        for k, sp in enumerate(spans):
            if not eligible(k):
                continue
            left = self._listed(doc, spans, k, -1)
            right = self._listed(doc, spans, k, +1)
            if k != right[-1]:
                continue  # the list is handled at its last item
            head, last = spans[left[-1]], spans[right[-1]]
            rest = text[last.end_char:]
            hit = bool(TO_PROG_RE.match(rest))
            if not hit and AND_PROG_RE.match(rest):
                prev = [t for t in doc[max(0, head.start - 3):head.start]]
                on = [j for j, t in enumerate(prev) if t.lower_ in ON_WORDS]
                if on:
                    j = on[-1]
                    hit = not (j > 0 and prev[j - 1].lower_ in NOT_ON) and all(
                        t.lower_ in ("maintenance", "maint", "a", "the", "her", "his", "full", "dose", "-")
                        for t in prev[j + 1:])
            if hit:
                forced.update((spans[j].start, spans[j].end) for j in left if eligible(j))
        return forced

    # ---- lenalidomide maintenance flag ----------------------------------------------------------------------
    @staticmethod
    def _maintenance_flag(text: str, out: List[dict]) -> List[dict]:
        """Maintenance named in the history ("VRd/ASCT/len maint, then DKd") is not progression on it: when
        lenalidomide is refractory elsewhere in the message, the flag needs progression on maintenance ("prog
        on maint", "progressed on len maintenance"). "R maint ..., prog on maint" flags it even when the
        progression does not name the drug."""
        prog = None
        for m in PROG_MAINT_RE.finditer(text):
            if not _NEG_BEFORE.search(text[max(0, m.start() - 20):m.start()]):
                prog = m
                break
        flags = [e for e in out if e["entity"] == "lenalidomide_maintenance_only"]
        if flags and prog is None and not any(f.get("_prog") for f in flags):
            if any(e["entity"] == "drug" and e["value"] == "lenalidomide" and e.get("role") == "refractory"
                   for e in out):
                out = [e for e in out if e["entity"] != "lenalidomide_maintenance_only"]
        elif not flags and prog is not None:
            named = any(e["entity"] == "drug" and e["value"] == "lenalidomide" and e.get("_named") for e in out)
            s, e = prog.span("m")
            if named and text[e - 1] == ".":
                e -= 1
            if named and not any(o["start"] < e and s < o["end"] for o in out):
                out.append({"entity": "lenalidomide_maintenance_only", "value": True, "start": s, "end": e})
        return out

    # ---- step 4: statuses -----------------------------------------------------------------------------------
    @staticmethod
    def _ranked(sp, priority: Dict[str, int], guard=()) -> List[Tuple[int, int, str, Any]]:
        ranked = []
        doc = sp.doc
        for mod in sp._.modifiers:
            cat = mod.category.upper()
            if cat not in priority:
                continue
            ms, me = mod.modifier_span
            if cat in ("NEGATED_EXISTENCE", "NOT_BARE") and guard:
                a, b = doc[ms].idx, doc[me - 1].idx + len(doc[me - 1])
                if any(gs <= a and b <= ge for gs, ge in guard):
                    continue  # the "no" of "no progression", "never a transplant candidate": that fact's own
            dist = sp.start - me if me <= sp.start else ms - sp.end
            ranked.append((max(dist, 0), priority[cat], cat, mod))
        ranked.sort(key=lambda r: (r[0], r[1]))
        return ranked

    @staticmethod
    def _pick(doc, sp, ranked):
        """The status of a drug: the nearest modifier; but when a status before the drug and a different one
        after it both reach it (a list between them: "refr len, pom, dara, bortezomib exposed"), the one after
        applies only to the drug right before it."""
        before = [r for r in ranked if r[3].modifier_span[1] <= sp.start]
        after = [r for r in ranked if r[3].modifier_span[0] >= sp.end]
        if before and after and before[0][2] != after[0][2] and before[0][2] in STRONG:
            gap = doc[sp.end:after[0][3].modifier_span[0]]
            return after[0] if all(t.text in ("-", "–") or t.is_space for t in gap) else before[0]
        if before and after and after[0][2] in STRONG and before[0][2] not in STRONG:
            # "2PL len+dara refractory", "1 line of therapy, Kyprolis and Revlimid refractory": a status written
            # right after a tight list (no comma) beats a weaker one before it
            gap = doc[sp.end:after[0][3].modifier_span[0]]
            if all((not t._.rrmm_free and t.text != ",") or t.text in ("-", "–") or t.is_space for t in gap):
                return after[0]
        return ranked[0]

    def _resolve(self, doc, sp, c, graph_mods, question: bool, forced: bool = False, guard=()) -> List[dict]:
        s, e = sp.start_char, sp.end_char
        if c[2] == FINDING:
            entity, value = c[3]
            role = c[4]
            ent = {"entity": entity, "value": value, "start": s, "end": e}
            ranked = self._ranked(sp, FINDING_PRIORITY, guard)
            if role is None and ranked:
                dist, _, cat, mod = ranked[0]
                if cat in ("UNKNOWN", "UNAVAILABLE", "IGNORE", "NOT_BARE"):
                    return []
                if cat in ("NEGATED_EXISTENCE", "ABSENT_ONLY"):
                    role = "absent"
                    ms, me = mod.modifier_span
                    if dist == 0:  # the negation word is part of the span: "no neuropathy", "t(11;14) negative"
                        ent["start"] = min(s, doc[ms].idx)
                        ent["end"] = max(e, doc[me - 1].idx + len(doc[me - 1]))
            if role is None:  # "prior DVT", "history of PE": the history words are part of the span
                for mod in sp._.modifiers:
                    ms, me = mod.modifier_span
                    if me == sp.start and doc[ms:me].text.lower() in HISTORY_WORDS:
                        ent["start"] = doc[ms].idx
            if role:
                ent["role"] = role
            return [ent]

        kind, value = c[2], c[3]
        ranked = self._ranked(sp, DRUG_PRIORITY, guard)
        cats = {r[2] for r in ranked}
        status: Optional[str] = None
        maint = False
        cat: Optional[str] = None
        if ranked:
            dist, _, cat, mod = self._pick(doc, sp, ranked)
            if cat == "BUT_NOT":
                cat = self._but_not(mod, graph_mods)
        if forced and cat in (None, "EXPOSED", "MAINTENANCE"):
            cat = "PROGRESSED"  # "on KRd and progressed", "DRd ..., progressing on it"
            cats.add(cat)
        if cat is not None:
            status = {"UNAVAILABLE": "unavailable", "NAIVE": "naive", "NEGATED_EXISTENCE": "naive",
                      "REFRACTORY": "refractory", "PROGRESSED": "refractory", "MAINTENANCE": "exposed",
                      "EXPOSED": "exposed"}.get(cat or "")
            maint = "MAINTENANCE" in cats and status not in ("naive", "unavailable")
            if maint and cat != "REFRACTORY":
                status = "exposed" if kind == DRUG and value == "lenalidomide" else status
                if kind == DRUG and value != "lenalidomide" and cat == "MAINTENANCE" and "PROGRESSED" in cats:
                    status = "refractory"
        out: List[dict] = []

        def drug(d: str, role: Optional[str]) -> dict:
            ent = {"entity": "drug", "value": d, "start": s, "end": e, "_named": kind == DRUG}
            if role and d != "dexamethasone":
                ent["role"] = role
            return ent

        if kind == DRUG:
            out.append(drug(value, status))
            if maint and value == "lenalidomide":
                mod = next(r[3] for r in ranked if r[2] == "MAINTENANCE")
                ms, me = mod.modifier_span
                mtoks = [t for t in doc[ms:me] if "maint" in t.lower_] or list(doc[ms:me])
                out.append({"entity": "lenalidomide_maintenance_only", "value": True,
                            "start": mtoks[0].idx, "end": mtoks[-1].idx + len(mtoks[-1]),
                            "_prog": bool({"PROGRESSED", "REFRACTORY"} & cats) or self._relapsed_while_on(doc, sp)})
            return out
        if kind == PRIOR:
            return [drug(d, status) for d in self.prior_regimens[value]]
        # catalog regimen or transplant
        if value in TRANSPLANT_CODES:
            lookup = question or len(doc) <= 3  # "what is a second ASCT?", "ASCT2"
            if status == "unavailable" or value == "allo-HCT" or (status is None and (lookup or value != "auto-HCT")):
                ent = {"entity": "regimen", "value": value, "start": s, "end": e}
                if status in ("unavailable", "naive", "exposed", "refractory") and value == "allo-HCT":
                    ent["role"] = status
                elif status == "unavailable":
                    ent["role"] = status
                return [ent]
            if status == "naive":
                return [{"entity": "prior_auto_hct", "value": 0, "start": s, "end": e}]
            return [{"entity": "prior_auto_hct", "value": 2 if value == "auto-HCT-2" else 1, "start": s, "end": e}]
        comps = self.kb.regimens[value].active_components
        if status in ("refractory", "exposed") and comps:
            return [drug(d, status) for d in comps]
        ent = {"entity": "regimen", "value": value, "start": s, "end": e}
        if status in ("naive", "unavailable") or (status and comps):
            ent["role"] = status
        return [ent]

    @staticmethod
    def _relapsed_while_on(doc, sp) -> bool:
        """'relapsed 6 months after ASCT while on len maintenance': "on" just before the drug and a progression
        word (not negated) in the same sentence."""
        if not any(t.lower_ in ("on", "during") for t in doc[max(0, sp.start - 3):sp.start]):
            return False
        text = doc.text
        a = max(text.rfind(ch, 0, sp.start_char) for ch in ".;\n") + 1
        ends = [i for i in (text.find(ch, sp.end_char) for ch in ".;\n") if i >= 0]
        sentence = text[a:min(ends) if ends else len(text)]
        return any(not _NEG_BEFORE.search(sentence[:m.start()][-20:])
                   for m in re.finditer(rf"\b{_PROG}(?!\w)", sentence, re.I))

    @staticmethod
    def _but_not(mod, graph_mods) -> Optional[str]:
        """'refractory to len but not bortezomib': the opposite of the status before 'but not'."""
        ms = mod.modifier_span[0]
        before = [m for m in graph_mods if m.modifier_span[1] <= ms and m.category.upper() in DRUG_PRIORITY
                  and m.category.upper() != "BUT_NOT"]
        if not before:
            return None
        prev = max(before, key=lambda m: m.modifier_span[1]).category.upper()
        return {"REFRACTORY": "EXPOSED", "PROGRESSED": "EXPOSED", "EXPOSED": "NEGATED_EXISTENCE",
                "MAINTENANCE": "NEGATED_EXISTENCE"}.get(prev)


def _finish(text: str, ents: Iterable[dict]) -> List[dict]:
    """Sorted, with text, without partial overlaps (identical spans of one regimen's drugs are kept)."""
    ents = sorted(ents, key=lambda x: (x["start"], -(x["end"] - x["start"])))
    out: List[dict] = []
    for ent in ents:
        clash = False
        for o in out:
            if ent["start"] < o["end"] and o["start"] < ent["end"]:
                if not (ent["start"] == o["start"] and ent["end"] == o["end"] and ent["entity"] == o["entity"] == "drug"):
                    clash = True
                    break
        if clash:
            continue
        ent["text"] = text[ent["start"]:ent["end"]]
        out.append(ent)
    return [{k: e[k] for k in ("entity", "value", "start", "end", "text", "role") if k in e} for e in out]


def get_pipeline() -> "_Pipeline":
    """The extraction pipeline (patterns from the KB, spaCy tokenizer and matchers, medspacy ConText),
    built once per process (about a second; importing spaCy/medspacy takes longer)."""
    global _STATE
    if _STATE is None:
        with _LOCK:
            if _STATE is None:
                _STATE = _Pipeline()
    return _STATE


def get_nlp():
    """The spaCy `Language` of the pipeline (blank English tokenizer + `medspacy_context`), built once."""
    return get_pipeline().nlp


def extract(text: str) -> List[dict]:
    """Clinical entities of a message: [{"entity", "value", "start", "end", "text", "role"?}], sorted by start."""
    if not isinstance(text, str) or not text.strip():
        return []
    pipeline = get_pipeline()
    with _LOCK:  # spaCy's Doc extensions and the ConText graph are per call, but the vocab is shared
        return pipeline.process(text)
