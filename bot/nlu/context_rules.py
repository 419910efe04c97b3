"""medspacy ConText rules: the words that give a drug its status or negate a finding, and what ends their scope.

Categories (a modifier's category is read per target type in `extract.py`):

| category | drugs / regimens | findings |
| --- | --- | --- |
| NEGATED_EXISTENCE | naive ("no prior", "never had") | absent ("no", "negative") |
| ABSENT_ONLY | no status ("why was isatuximab excluded?") | absent ("ruled out", "excluded") |
| NAIVE | naive ("-naive", "never used") | - |
| REFRACTORY | refractory ("refractory to", "-refr") | - |
| PROGRESSED | refractory ("progressed on") | - |
| EXPOSED | exposed ("received", "after", "-exposed", "not refractory to") | - |
| MAINTENANCE | exposed, plus lenalidomide_maintenance_only for lenalidomide | - |
| UNAVAILABLE | unavailable ("not available", "can't get", "cannot source", "not on our formulary") | dropped (unknown) |
| BUT_NOT | the opposite of the clause before ("refractory to len but not bortezomib") | - |
| POSITIVE | - | present ("positive", "has", "history of") |
| UNKNOWN | - | dropped ("not tested", "pending") |
| NOT_BARE | no status ("I meant dara, not len") | dropped |
| IGNORE | no status | dropped ("ignore the neuropathy") |
| PSEUDO | swallows look-alikes ("why not", "not an option", "no longer") | idem |
| TERMINATE | ends scopes: , ; : . ! ? but however except now due to ... | idem |

Every status category ends the scope of every other one, so "refractory to len, exposed to bort" and
"refractory to len and exposed to bort" give each drug its own status; when several statuses still reach a
drug, the nearest one wins (`extract.py`). Commas and connectors inside a coordinated list of drugs ("len,
bort and dara") do not terminate: `extract.py` marks them (Token._.rrmm_free = False) before ConText runs.
"""
from __future__ import annotations

from typing import Iterable, List, Optional

from medspacy.context import ConTextRule
from spacy.tokens import Span

NEG = "NEGATED_EXISTENCE"
STATUS_CATEGORIES = ("NEGATED_EXISTENCE", "ABSENT_ONLY", "NAIVE", "REFRACTORY", "PROGRESSED", "EXPOSED", "MAINTENANCE",
                     "UNAVAILABLE", "BUT_NOT", "POSITIVE", "UNKNOWN", "NOT_BARE", "IGNORE")
# words after which a bare "refractory"/"refr" opens a clause and so may look forward ("refr len, bort")
# drug classes ("PI-exposed (bortezomib)")
CLASS_WORDS = {"pi", "pis", "imid", "imids", "cd38", "anti-cd38", "mab", "moab", "mabs", "antibody", "inhibitor",
               "class", "bcma", "iap", "xpo1", "proteasome", "immunomodulatory", "cd38-mab", "imid/pi", "double",
               "triple", "quad", "penta"}
CLAUSE_OPENERS = {"and", "but", "now", "also", "plus", "&", "then", "is", "are", "was", "she", "he", "disease",
                  "still", "both", "pt", "patient", "currently"}


def _clause_initial_forward(target: Span, modifier: Span, between: Span) -> bool:
    """A bare status adjective modifies what follows it only at the start of a clause ("refr len, bort");
    elsewhere it looks back ("len refractory")."""
    if target.start < modifier.start:
        return True
    if modifier.start == 0:
        return True
    prev = modifier.doc[modifier.start - 1]
    return prev.is_punct or prev.is_space or prev.lower_ in CLAUSE_OPENERS or prev.like_num


# Maintenance is not cut off by the statuses it qualifies: "len-refractory on maintenance",
# "progressed on len maintenance".
NOT_TERMINATING = {"MAINTENANCE": {"REFRACTORY", "PROGRESSED", "EXPOSED"}}


def _terminators(category: str) -> set:
    return {c for c in STATUS_CATEGORIES if c != category} - NOT_TERMINATING.get(category, set())


def _rules(category: str, direction: str, literals: Iterable[str], max_scope: Optional[int] = None,
           on_modifies=None) -> List[ConTextRule]:
    return [ConTextRule(lit, category, direction=direction, max_scope=max_scope, on_modifies=on_modifies,
                        terminated_by=_terminators(category))
            for lit in literals]


def _token_rule(literal: str, category: str, direction: str, pattern: list, max_scope: Optional[int] = None):
    return ConTextRule(literal, category, direction=direction, pattern=pattern, max_scope=max_scope,
                       terminated_by=_terminators(category))


def context_rules() -> List[ConTextRule]:
    r: List[ConTextRule] = []
    F, B, BI = "FORWARD", "BACKWARD", "BIDIRECTIONAL"

    # ---- negation --------------------------------------------------------------------------------------------
    r += _rules(NEG, F, [
        "no", "no prior", "no previous", "no previously", "no history of", "no h/o", "no hx of", "no evidence of",
        "no sign of", "no signs of", "no known", "never", "never been on", "never been exposed to",
        "never exposed to", "never treated with", "never on", "not exposed to", "not previously exposed to",
        "not treated with", "not had", "not yet had", "not yet received", "not received", "has not had",
        "hasn't had", "has not received", "hasn't received", "have not had", "haven't had", "had no",
        "did not receive", "didn't receive", "did not have", "didn't have", "did not get", "didn't get",
        "without", "without prior", "without any", "free of", "denies", "negative for", "absence of", "nor",
        "neither", "none of", "no exposure to", "unexposed to", "not been on", "never been treated with",
        "not yet exposed to", "not yet treated with", "no previous exposure to", "no prior exposure to",
    ])
    r += _rules(NEG, BI, ["never received", "never had", "never given", "never used", "never tried",
                          "not given", "not used", "not yet used", "not yet given", "not yet tried", "not tried"])
    r += _rules(NEG, B, [
        "negative", "neg", "neg.", "-ve", "absent", "not detected", "not present", "not seen", "not found",
        "not identified", "none", ": none", ": absent", ": negative", ": neg",
        "not demonstrated", "undetected",
    ])
    # a drug "excluded" / "ruled out" is an option set aside, not a drug never given
    r += _rules("ABSENT_ONLY", B, ["ruled out", "excluded", "was excluded", "been excluded", "was ruled out",
                                   "been ruled out"])
    r += _rules("NAIVE", B, ["naive", "naïve", "naive only"])
    r += _rules("NAIVE", F, ["naive to", "naïve to", "naive:", "naïve:"])
    r += _rules("NOT_BARE", F, ["not", "n't", "not just", "instead of", "rather than"])

    # ---- refractory / progressed ------------------------------------------------------------------------------
    r += _rules("REFRACTORY", F, [
        "refractory to", "refractory to:", "refr to", "refr. to", "refract to", "refrac to", "ref to",
        "refractory:", "refr:", "resistant to", "resistance to", "refractory disease to", "double refractory",
        "double-refractory", "triple refractory", "triple-refractory", "quad refractory", "quad-refractory",
        "quadruple refractory", "penta refractory", "penta-refractory", "failure of", "failing",
        "no response to", "did not respond to", "didn't respond to", "non-responsive to", "unresponsive to",
        "primary refractory to", "refractory drugs to", "refractory drugs are", "refractory drugs:",
        "refractory drugs", "refractory disease on", "refractory to both", "refractory to all of",
        "also refractory to", "now refractory to", "refractory as well to", "refractoriness to",
        "refractory to everything:", "refractory to all:", "refractory to everything she has had:",
        "refractory to everything he has had:", "refractory to everything she's had:",
        "refractory to everything he's had:", "refractory to all drugs:", "refractory to all agents:",
    ])
    r += _rules("REFRACTORY", BI, ["refractory", "refr", "refr.", "refract", "refrac", "refactory", "refratory",
                                   "resistant", "failed"], on_modifies=_clause_initial_forward)
    r += _rules("REFRACTORY", B, ["refractory disease", "failure", "refractory only", "refractory as well",
                                  "refractory too", "refr too"])
    r += _rules("PROGRESSED", F, [
        "progressed on", "progressing on", "progression on", "progressive disease on", "pd on",
        "progressed while on", "progressed whilst on", "progressing while on", "progression while on",
        "progressed during", "progression during", "progressing during", "progressed through",
        "progression through", "relapsed on", "relapsing on", "relapse on", "relapsed while on",
        "relapsed during", "relapse while on", "relapse during", "progressed within 60 days of",
        "progression within 60 days of", "progressing clinically on", "progressed clinically on",
        "progressed rapidly on", "still progressing on", "pd while on", "disease progression on",
        "progressed on full-dose", "progressed on full dose", "relapsed within 60 days of", "escaped on",
        "progressed after starting", "progression on full-dose", "prog on", "prog. on", "prog while on",
        "prog during", "progd on", "progressed on treatment with", "progressing on treatment with",
        "progressed on therapy with", "relapsed whilst on", "progressing whilst on",
    ])

    # ---- exposed / maintenance ---------------------------------------------------------------------------------
    r += _rules("EXPOSED", F, [
        "exposed to", "received", "receiving", "treated with", "treatment with", "therapy with", "had",
        "has had", "have had", "given", "tried", "took", "taking", "after", "following", "followed by",
        "post", "s/p", "status post", "prior", "previous", "previously", "previously on", "previously had",
        "previously received", "previously treated with", "prior therapy with", "prior therapies:",
        "prior therapy:", "prior treatment:", "prior treatments:", "previous treatment:", "previous therapy:",
        "prior regimens:", "prior lines:", "lines:", "was on", "currently on", "still on", "while on",
        "induction with", "consolidation with", "cycles of", "courses of", "sensitive to", "responded to",
        "response to", "responsive to", "incl.", "including", "exposure to", "exposed to:",
        "exposed:", "not refractory to", "non-refractory to", "not refr to", "never refractory to",
        "not resistant to", "did not progress on", "didn't progress on", "no progression on",
        "not progressed on", "hasn't progressed on", "has not progressed on", "exposed but not refractory to",
        "sensitive:", "treated with:", "received:", "exposed only to", "previous exposure to", "prior exposure to",
        "not progressing on", "not relapsing on", "not relapsed on", "without progressing on",
        "without progression on", "no progression while on", "no relapse on", "stable on", "responding to",
        "stopping", "after stopping", "after discontinuing", "discontinuing", "came off", "coming off",
        "after coming off", "stopped taking", "since last", "since stopping", "since the last", "since discontinuing",
        "since finishing", "since completing", "since coming off", "after completing", "after finishing",
        "last dose of",
    ])
    r += _rules("EXPOSED", F, ["on"], max_scope=4)
    r += _rules("EXPOSED", F, ["line of", "lines of", "line with", "lines with", "line (", "lines (", "line:",
                               "line", "lines", "regimens (", "regimens:"], max_scope=8)
    r.append(_token_rule("2PL", "EXPOSED", F, [{"TEXT": {"REGEX": r"^\d{1,2}(?:PL|L)$"}}], max_scope=8))
    r += _rules("EXPOSED", B, [
        "exposed", "sensitive", "pretreated", "pre-treated", "based", "containing",
        "induced", "responsive", "exposed only", "exposed not refractory", "exposed but not refractory",
        "not refractory", "non-refractory", "non refractory", "not refr",
        "not resistant", "sensitive only",
        "not refractory to it", "exposure",
    ])
    r += _rules("EXPOSED", BI, ["induction", "consolidation", "induction chemotherapy", "induction therapy"],
                on_modifies=_clause_initial_forward)
    r += _rules("EXPOSED", BI, ["stopped", "discontinued", "ceased"], on_modifies=_clause_initial_forward)
    # a drug class with a status, then its drugs in brackets: "PI exposed (bortezomib)", "IMiD-refractory (len, pom)"
    for words, cat in ((["exposed", "sensitive", "pretreated", "pre-treated"], "EXPOSED"),
                       (["refractory", "refr", "refr.", "resistant"], "REFRACTORY"), (["naive", "naïve"], "NAIVE")):
        r.append(_token_rule(f"class {words[0]} (", cat, F, [
            {"LOWER": {"IN": sorted(CLASS_WORDS)}}, {"ORTH": "-", "OP": "?"}, {"LOWER": {"IN": words}},
            {"ORTH": {"IN": ["(", "[", ":"]}}], max_scope=12))
    r.append(_token_rule("xN", "EXPOSED", B, [{"LOWER": {"REGEX": r"^x\d{1,2}$"}}], max_scope=3))
    r.append(_token_rule("x N", "EXPOSED", B, [{"LOWER": "x"}, {"LIKE_NUM": True}], max_scope=3))
    r += _rules("MAINTENANCE", BI, ["maintenance", "maint", "maint."], on_modifies=_clause_initial_forward)
    r += _rules("MAINTENANCE", B, ["maintenance only", "maintenance therapy", "maintenance alone"])
    r += _rules("MAINTENANCE", BI, ["maintenance dose", "maintenance-dose", "on maintenance"])
    r += _rules("MAINTENANCE", F, ["maintenance with", "maintenance on", "maintenance:", "maintained on",
                                   "maintenance therapy with", "on maintenance dose",
                                   "maintenance dose of"])

    # ---- unavailable ------------------------------------------------------------------------------------------
    r += _rules("UNAVAILABLE", B, [
        "not available", "isn't available", "is not available", "not available here", "unavailable",
        "not accessible", "inaccessible", "not funded", "not reimbursed", "not covered", "not approved",
        "not licensed", "not licenced", "unaffordable", "not affordable", "too expensive", "not on formulary",
        "not on the formulary", "off formulary", "not yet available", "not marketed", "no longer available",
        "not an option here", "isn't funded", "is not funded", "isn't reimbursed", "is not reimbursed",
        "isn't covered", "is not covered", "isn't approved", "is not approved", "not available to us",
        "not available locally", "not available in our country", "not obtainable", "can't be obtained",
        "cannot be obtained", "out of stock", "not stocked", "not funded here", "cannot be sourced",
        "can't be sourced", "could not be sourced", "couldn't be sourced", "not procurable", "not in stock",
        "not reimbursable", "not on the pbs", "not on pbs", "not nice approved", "not commissioned",
    ])
    # "isn't on our formulary", "is not on the hospital formulary", "not in our formulary"
    r.append(_token_rule("not on formulary", "UNAVAILABLE", B, [
        {"LOWER": {"IN": ["not", "n't", "isn't", "never"]}}, {"LOWER": {"IN": ["on", "in"]}},
        {"LOWER": {"IN": ["our", "the", "my", "this", "local", "hospital", "national", "regional", "state", "a"]},
         "OP": "*"}, {"LOWER": {"IN": ["formulary", "formularies", "list"]}}]))
    r.append(_token_rule("off our formulary", "UNAVAILABLE", B, [
        {"LOWER": {"IN": ["off", "removed"]}}, {"LOWER": "from", "OP": "?"},
        {"LOWER": {"IN": ["our", "the", "my", "local", "hospital"]}, "OP": "+"}, {"LOWER": "formulary"}]))
    r += _rules("UNAVAILABLE", F, [
        "can't get", "cannot get", "can not get", "can't access", "cannot access", "unable to get",
        "unable to obtain", "unable to access", "no access to", "don't have", "do not have", "doesn't have",
        "does not have", "we have no", "lack access to", "no funding for", "can't afford", "cannot afford",
        "not available:", "unavailable:", "not funded:", "without access to", "can't use", "cannot use",
        "no availability of", "not available is", "can't prescribe", "cannot prescribe", "we can't get",
        "we cannot get", "don't have access to", "do not have access to", "cannot source", "can't source",
        "can not source", "could not source", "couldn't source", "unable to source", "not able to source",
        "not able to get", "not able to obtain", "not able to access", "can't obtain", "cannot obtain",
        "can't procure", "cannot procure", "unable to procure", "no supply of", "don't stock", "do not stock",
        "not funded for", "have no access to", "has no access to", "there is no access to",
    ])
    r += _rules("BUT_NOT", F, ["but not", "but not to", "though not", "yet not", "but not to the"])

    # ---- findings ----------------------------------------------------------------------------------------------
    r += _rules("POSITIVE", B, ["positive", "pos", "present", "detected", "confirmed", "+ve", "positive on fish"])
    r += _rules("POSITIVE", F, ["positive for", "has", "have", "with", "known", "history of", "h/o", "hx of",
                                "hx", "also has", "shows", "showed"])
    r += _rules("UNKNOWN", BI, ["not tested", "not done", "unknown", "pending", "not checked", "not assessed",
                                "not performed", "not known", "unclear", "not evaluated", "awaited", "?"])
    r += _rules("IGNORE", F, ["ignore", "disregard", "scratch", "remove", "forget", "delete", "drop"])

    # ---- pseudo-triggers ------------------------------------------------------------------------------------------
    for lit in ("why not", "why no", "why isn't", "why is not", "not an option", "not indicated",
                "not recommended", "not suitable", "not sure", "not clear", "no longer", "not only", "if not",
                "or not", "whether or not", "not certain", "no change", "no further", "from refractory",
                "from the refractory list", "from refractory list", "based on", "no change in", "not necessarily",
                "why did you exclude", "why was", "why exclude", "not listed", "no major", "not yet",
                "info on", "information on", "details on", "data on", "more on", "advice on", "thoughts on",
                "evidence on", "update on", "focus on", "comment on", "opinion on", "guidance on", "read on",
                "depends on", "depending on", "rely on", "go on", "put on", "start on", "started on",
                "switch to", "switched to", "start", "starting", "consider", "considering", "planned",
                "planning", "recommend", "suggest", "offer", "candidate for",
                # organ failure is a comorbidity, not treatment failure ("dose of len in renal failure")
                "renal failure", "kidney failure", "heart failure", "cardiac failure", "liver failure",
                "hepatic failure", "respiratory failure", "marrow failure", "bone marrow failure", "graft failure",
                "organ failure", "multiorgan failure", "multi-organ failure"):
        r.append(ConTextRule(lit, "PSEUDO", direction="PSEUDO"))

    # ---- terminations ------------------------------------------------------------------------------------------
    free = {"_": {"rrmm_free": True}}
    for punct in (",", ";", ".", "!", ":", "--", "|"):
        r.append(ConTextRule(punct, "TERMINATE", direction="TERMINATE", pattern=[{"ORTH": punct, **free}]))
    # "then" ends a clause ("progressed on len maintenance, then DPd"), not a list ("refractory to len then dara")
    r.append(ConTextRule("then", "TERMINATE", direction="TERMINATE", pattern=[{"LOWER": "then", **free}]))
    for lit in ("but", "however", "although", "though", "whereas", "whilst", "except", "apart from",
                "aside from", "other than", "now", "due to", "because", "because of", "so", "which", "while",
                "otherwise", "since", "who", "currently", "today", "although she", "although he",
                "except for", "with the exception of", "besides", "would you", "should i", "should we", "could we",
                "can we", "can i", "would it", "is it"):
        r.append(ConTextRule(lit, "TERMINATE", direction="TERMINATE"))
    return r
