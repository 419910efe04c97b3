"""Regular-expression rules for case facts (age, lines, relapse, transplant, ...) and clinical findings.

Facts are matched on the raw text, in the order of `fact_rules()`: an earlier rule claims its characters
and a later rule cannot match over them (so "not transplant eligible" is never also "transplant eligible",
and "3 months off lenalidomide" is never also a lenalidomide mention). A rule may claim only its span
(`claim="span"`), e.g. the age "68" and the sex "M" of "68M".

Findings (cytogenetics, aggressive features, comorbidities) are matched here too, but their negation is
left to medspacy ConText in `extract.py` ("no neuropathy", "t(11;14) negative"); a few carry a fixed role
("normal LDH" is an absent elevated LDH; "eGFR 75" is an absent renal impairment).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, List, Optional, Pattern, Sequence, Tuple

from .lexicon import DURATION_NUM, NUM, ORD, to_float, to_int

SKIP = object()    # claim the characters, emit nothing
REJECT = object()  # not a match after all: claim nothing

I = re.IGNORECASE


@dataclass(frozen=True)
class Rule:
    entity: str
    pattern: Pattern[str]
    value: Callable[[re.Match, str], Any]
    span: Optional[str] = None  # named group for the entity's span (default: the whole match)
    claim: str = "match"        # "match" or "span": the characters this rule takes from later rules
    role: Optional[str] = None
    needs: Tuple[str, ...] = ()  # lower-case substrings one of which must occur (a cheap pre-check)


def _c(p: str, flags: int = I) -> Pattern[str]:
    return re.compile(p, flags)


def const(v: Any) -> Callable[[re.Match, str], Any]:
    return lambda m, text: v


def _before(text: str, m: re.Match, n: int = 30) -> str:
    return text[max(0, m.start() - n):m.start()].lower()


def _negated_number(m: re.Match, text: str) -> bool:
    """'3 prior lines not 2', '2L not 3L', 'she is 74 not 47': the number after 'not' is the wrong one."""
    return bool(re.search(r"(?:\bnot|\binstead of|\brather than)\s*$", _before(text, m)))


def _unit_months(n: float, unit: str) -> Optional[int]:
    u = unit.lower()
    if u.startswith("y"):
        return int(round(n * 12))
    if u.startswith("m"):
        return int(round(n))
    if u.startswith("w"):
        return int(round(n * 7 / 30))
    if u.startswith("d"):
        return int(round(n / 30))
    return None


def _unit_days(n: float, unit: str) -> Optional[int]:
    u = unit.lower()
    if u.startswith("y"):
        return int(round(n * 365))
    if u.startswith("m"):
        return int(round(n * 30))
    if u.startswith("w"):
        return int(round(n * 7))
    if u.startswith("d"):
        return int(round(n))
    return None


def _duration(m: re.Match, to_unit: Callable[[float, str], Optional[int]]) -> Any:
    n = to_float(m.group("n"))
    if n is None:
        return REJECT
    v = to_unit(n, m.group("u"))
    return REJECT if v is None else v


# ---- shared fragments -------------------------------------------------------------------------------
B = r"(?<![\w])"   # word start (also after '-', '/', '(')
E = r"(?![\w])"    # word end
DUR = rf"{B}(?P<n>{DURATION_NUM})\s*-?\s*(?P<u>days?|d|weeks?|wks?|w|months?|mos?|mths?|m|years?|yrs?|y){E}"
MDUR = rf"{B}(?P<n>{DURATION_NUM})\s*-?\s*(?P<u>months?|mos?|mths?|m|years?|yrs?|y){E}"
DET = r"(?:(?:the|his|her|their|first|1st|last|initial|prior|previous|upfront|frontline|front-line|an?)\s+)*"
AUTO = (r"(?:ASCTs?|auto[\s-]?(?:SCT|HCT|HSCT)s?|autoHCT|auto(?:logous)?\s+(?:stem[\s-]cell\s+)?"
        r"(?:transplant(?:ation|s)?|SCT|HCT|HSCT)|autografts?|HDM\s*/\s*ASCT|"
        r"(?:stem[\s-]cell\s+)?transplant(?:ation|s)?|SCT|HCT)")
HCT_TARGET = (r"(?:(?:an?\s+)?(?:further|another|second|2nd|salvage|repeat|upfront|an?)\s+)*"
              r"(?:ASCT|auto[\s-]?(?:SCT|HCT|HSCT)|autoHCT|auto(?:logous)?\s+(?:stem[\s-]cell\s+)?"
              r"(?:transplant(?:ation)?|SCT|HCT)|(?:stem[\s-]cell\s+)?transplant(?:ation)?|autograft|SCT|HCT|HDT|HDM|"
              r"high[\s-]dose\s+(?:therapy|chemo(?:therapy)?|melphalan))")
# "autografted once", "transplanted in 2019": a transplant done (the participle)
AUTO_DONE = r"(?<!not\s)(?<!never\s)(?<!be\s)(?:autografted|auto[\s-]?transplanted|transplanted)"
RELAPSED = r"(?:relapsed?|relapsing|progressed|progressing|progression|PD|recurrence|recurred)"
REMISSION = r"(?:remission|response|PFS|progression[\s-]free\s+(?:survival|interval)|CR|disease[\s-]control)"


def fact_rules(len_names: Sequence[str]) -> List[Rule]:
    """The ordered fact rules; `len_names` are the surface forms of lenalidomide (from the KB)."""
    LEN = "(?:" + "|".join(sorted({re.escape(n).replace(r"\ ", r"[\s-]+").replace(r"\-", r"[\s-]*")
                                   for n in len_names}, key=len, reverse=True)) + ")"
    LENW = rf"{B}{LEN}{E}"
    rules: List[Rule] = []
    needs: Tuple[str, ...] = ()

    def add(rule: Rule) -> None:
        rules.append(Rule(rule.entity, rule.pattern, rule.value, rule.span, rule.claim, rule.role, needs))

    needs = ("len", "revlimid")
    # ---- days since last lenalidomide (the span includes the drug) --------------------------------------
    days = lambda m, t: _duration(m, _unit_days)  # noqa: E731
    for p in (
        rf"{DUR}\s+off\s+(?:of\s+)?{LENW}",
        rf"{B}off\s+{LENW}\s+(?:for\s+)?{DUR}",
        rf"{B}(?:stopped|discontinued|ceased|finished|completed|came\s+off)\s+{LENW}(?:\s+(?:dose|therapy|treatment))?\s+{DUR}\s+(?:ago|before|prior|earlier|previously)",
        rf"{LENW}(?:\s+(?:was|were|had\s+been))?\s+(?:stopped|discontinued|ceased|held|finished|completed)\s+{DUR}\s+(?:ago|before|prior|earlier|previously)",
        rf"{B}last\s+(?:dose\s+of\s+)?{LENW}(?:\s+dose)?(?:\s+was)?\s+{DUR}\s+(?:ago|before|prior|earlier)",
    ):
        add(Rule("days_since_last_lenalidomide", _c(p), days))
    # "relapsed 4 months after stopping lenalidomide": the duration only; the drug stays a drug (exposed)
    for p in (
        rf"(?P<s>{DUR})\s+(?:after|since|from)\s+(?:stopping|discontinuing|ceasing|finishing|completing|coming\s+off|"
        rf"(?:the\s+)?(?:last\s+dose|end|completion|discontinuation|cessation)\s+of)\s+(?:(?:the|his|her|their)\s+)?{LENW}",
        rf"(?P<s>{DUR})\s+since\s+(?:the\s+)?(?:last\s+)?{LENW}",
    ):
        add(Rule("days_since_last_lenalidomide", _c(p), days, span="s", claim="span"))

    needs = ("sct", "hct", "transplant", "autograft", "hdm", "remission", "response", "pfs", "auto")
    # ---- length of remission after autologous HCT ---------------------------------------------------------
    months = lambda m, t: _duration(m, _unit_months)  # noqa: E731
    after = r"(?:after|post|following|from)"
    for p, claim in (
        # "relapsed 11 months after ASCT": the duration only, the transplant is prior_auto_hct (below)
        (rf"{B}{RELAPSED}\s+(?:at\s+|about\s+|around\s+|approximately\s+|only\s+|just\s+)?(?P<s>{MDUR})\s+{after}[\s-]+{DET}{AUTO}{E}",
         "span"),
        (rf"(?P<s>(?:{REMISSION}\s+(?:of|lasting|for|was|lasted|:)\s+)?{MDUR}(?:\s+(?:of\s+)?{REMISSION})?)"
         rf"\s+{after}[\s-]+{DET}{AUTO}{E}", "match"),
        (rf"{B}{REMISSION}\s+{after}\s+{DET}{AUTO}\s+(?:\(?\s*(?:of|lasting|for|was|lasted|at|:|=|was\s+at)\s*)?(?P<s>{MDUR})",
         "span"),
        (rf"{B}(?:relapsed?|progressed|progression|PD)\s+(?:at\s+)?(?P<s>{MDUR})\s+{after}[\s-]+{DET}{AUTO}{E}", "match"),
        # "prior ASCT with remission of 3 years", "ASCT done, remission 15 mo", "s/p auto-HCT x1 (remission 19 mo)"
        (rf"{B}(?:{AUTO}|{AUTO_DONE}){E}(?:\s+(?:in\s+)?(?:19|20)\d\d)?(?:[^.;\n]{{0,25}}?)[\s,(]\s*(?:with\s+(?:an?\s+)?)?(?:first\s+)?(?P<s>{REMISSION}\s*(?:of|lasting|for|was|lasted|:)?\s*(?:only\s+)?{MDUR})",
         "span"),
        (rf"{B}(?:{AUTO}|{AUTO_DONE}){E}(?:\s+(?:in\s+)?(?:19|20)\d\d)?(?:[^.;\n]{{0,25}}?)[\s,(]\s*(?:with\s+(?:an?\s+)?)?(?P<s>{MDUR}\s+(?:of\s+)?{REMISSION})",
         "span"),
        (rf"{B}(?:{AUTO}|{AUTO_DONE}){E}(?:\s+(?:in\s+)?(?:19|20)\d\d)?(?:[^.;\n]{{0,25}}?)[\s,(]\s*(?:relapsed?|progressed|progression)\s+(?:at\s+)(?P<s>{MDUR})",
         "span"),
    ):
        add(Rule("months_remission_after_hct", _c(p), months, span="s", claim=claim))

    add(Rule("months_remission_after_hct", _c(
        rf"^\W*(?:the\s+)?(?P<s>(?:remission|response)\s+(?:lasted|was|of|for|lasting)\s+(?:about\s+|around\s+|approx(?:imately|\.)?\s+)?{MDUR})\W*$"),
        months, span="s"))

    needs = ("sct", "hct", "transplant", "autograft", "hdm", "auto")
    # ---- prior autologous transplants ----------------------------------------------------------------------
    for p in (
        rf"{B}(?:no|without|not\s+had|never\s+had|never\s+received|hasn't\s+had|has\s+not\s+had|had\s+no|did\s+not\s+have|didn't\s+have)\s+(?:an?\s+|any\s+)?(?:prior\s+|previous\s+|upfront\s+)?{AUTO}(?:\s+yet)?{E}",
        rf"{B}(?:never|not)\s+(?:been\s+|yet\s+)?(?:auto[\s-]?)?(?:transplanted|autografted){E}",
        rf"{B}transplant[\s-]na[iï]ve{E}",
        rf"{B}(?:prior\s+)?(?:ASCT|auto[\s-]?(?:HCT|SCT)|transplants?)\s*[:=]\s*(?:no|none|0){E}",
    ):
        add(Rule("prior_auto_hct", _c(p), const(0)))
    add(Rule("prior_auto_hct", _c(rf"{B}(?P<v>{NUM})\s+(?:prior\s+|previous\s+|earlier\s+)?(?:{AUTO}|autologous\s+(?:stem[\s-]cell\s+)?transplants?){E}"),
             lambda m, t: REJECT if _negated_number(m, t) else (to_int(m.group("v")) or REJECT)))
    add(Rule("prior_auto_hct", _c(rf"{B}(?:prior\s+|previous\s+)?(?:ASCT|auto[\s-]?(?:SCT|HCT|HSCT)|transplant)\s*x\s*(?P<v>\d){E}"),
             lambda m, t: int(m.group("v"))))
    add(Rule("prior_auto_hct", _c(rf"{B}(?:tandem|double)\s+(?:ASCT|auto[\s-]?(?:SCT|HCT)|transplants?|autografts?){E}"), const(2)))
    add(Rule("prior_auto_hct", _c(
        rf"{B}(?:prior|previous|previously\s+had|s/p|status\s+post|had|have|has\s+had|did\s+have|underwent|"
        rf"history\s+of|h/o|hx\s+of|single)\s+(?:an?\s+)?(?:upfront\s+|frontline\s+|front-line\s+|consolidative\s+)?{AUTO}{E}"),
        const(1)))
    add(Rule("prior_auto_hct", _c(rf"{B}(?:ASCT|auto[\s-]?(?:SCT|HCT))\s+(?:done|performed|completed){E}"), const(1)))
    # "relapsed 11 months after ASCT", "first relapse 4 years after transplant": the transplant is in the history
    add(Rule("prior_auto_hct", _c(
        rf"{B}{RELAPSED}\s+(?:at\s+|about\s+|around\s+|approximately\s+|only\s+|just\s+)?{MDUR}\s+{after}[\s-]+{DET}(?P<s>{AUTO}){E}"),
        const(1), span="s", claim="span"))
    # "first remission after auto transplant lasted 3 years"
    add(Rule("prior_auto_hct", _c(
        rf"{B}{REMISSION}\s+{after}\s+{DET}(?P<s>{AUTO}){E}\s+(?:\(?\s*(?:of|lasting|for|was|lasted|at|:|=|was\s+at)\s*)?{MDUR}"),
        const(1), span="s", claim="span"))
    # "autografted once", "autografted twice", "transplanted in 2019"
    add(Rule("prior_auto_hct", _c(rf"{B}(?:{AUTO_DONE})(?:\s+(?P<v>once|twice|x\s*[12]))?{E}"),
             lambda m, t: 2 if (m.group("v") or "").replace(" ", "").lower() in ("twice", "x2") else 1))

    needs = ("te", "transplant", "sct", "hct", "hdt", "hdm", "eligib", "high", "candidate", "tie", "tne")
    # ---- transplant eligibility ----------------------------------------------------------------------------------
    TX = HCT_TARGET
    false_patterns = (
        (rf"{B}(?:not|non)[\s-]*(?:an?\s+)?(?:transplant|ASCT|SCT|HCT)[\s-]*(?:eligible|candidate){E}", I),
        (rf"{B}(?:never|not|no\s+longer|(?:is|was|has)n't)"
         rf"(?:\s+(?:been|be|really|ever|considered|deemed|thought\s+to\s+be|felt\s+to\s+be))*\s+(?:an?\s+)?"
         rf"(?:(?:good|suitable|realistic|potential)\s+)?(?:transplant|ASCT|SCT|HCT|auto[\s-]?(?:HCT|SCT))[\s-]*(?:eligible|candidate){E}", I),
        (rf"{B}(?:[Nn]ot|[Nn]on)[\s-]*TE{E}", 0),
        (rf"{B}(?:NTE|TNE|TIE){E}", 0),
        (rf"{B}(?:transplant|ASCT|SCT|HCT)[\s-]*in[\s-]?eligible{E}", I),
        (rf"{B}in[\s-]?eligible\s+for\s+{TX}{E}", I),
        (rf"{B}(?:not|never|no\s+longer|(?:is|was|has)n't)(?:\s+(?:be|been|really|ever|considered|deemed))*\s+(?:eligible|an?\s+candidate|fit|suitable|considered)\s+for\s+{TX}{E}", I),
        (rf"{B}(?:unfit|too\s+(?:frail|old|unwell|sick|comorbid)|unsuitable)\s+for\s+{TX}{E}", I),
        (rf"{B}(?:transplant|ASCT)\s+(?:eligibility|eligible)\s*(?:to|[:=]|is)?\s*(?:no|false|not\s+eligible){E}", I),
        (rf"{B}non[\s-]transplant{E}", I),
        (r"^\W*(?:(?:he|she)(?:'s|\s+is)\s+|is\s+|but\s+)?not\s+eligible\W*$", I),
    )
    for p, flags in false_patterns:
        add(Rule("transplant_eligible", _c(p, flags), const(False)))
    true_patterns = (
        (rf"{B}(?:transplant|ASCT|SCT|HCT|auto[\s-]?(?:HCT|SCT))[\s-]*(?:eligible|candidate){E}", I),
        (rf"{B}(?:eligible|an?\s+candidate|fit|suitable)\s+for\s+{TX}{E}", I),
        (rf"{B}TE{E}", 0),
        (rf"{B}(?:transplant|ASCT)\s+(?:eligibility|eligible)\s*(?:to|[:=]|is)?\s*(?:yes|true){E}", I),
    )
    for p, flags in true_patterns:
        add(Rule("transplant_eligible", _c(p, flags), const(True)))

    needs = ("iss", "mci")
    # ---- R-ISS, R-MCI, COVID vaccination -----------------------------------------------------------------------------
    roman = {"i": 1, "ii": 2, "iii": 3, "1": 1, "2": 2, "3": 3}
    add(Rule("riss_stage", _c(rf"{B}R[\s-]?ISS(?:\s+stage)?\s*(?:[:=]|is|of)?\s*(?P<v>III|II|I|[123]){E}"),
             lambda m, t: roman[m.group("v").lower()]))
    add(Rule("riss_stage", _c(rf"{B}stage\s+(?P<v>III|II|I|[123])\s+(?:by\s+|per\s+)?R[\s-]?ISS{E}"),
             lambda m, t: roman[m.group("v").lower()]))
    add(Rule("rmci", _c(rf"{B}R[\s-]?MCI(?:\s+score)?\s*(?:of|=|:|is|was|score\s+is)?\s*(?P<v>\d)(?:\s*/\s*9)?{E}"),
             lambda m, t: int(m.group("v"))))

    needs = ("vacc", "boost", "jab", "shot", "immuni")
    VAX = r"(?:vaccin(?:es?|ations?|ated)|boosters?|jabs?|shots?|immuni[sz]ations?)"
    COV = r"(?:COVID(?:[\s-]?19)?|SARS[\s-]?CoV[\s-]?2|corona(?:virus)?)"
    for p in (
        rf"{B}un[\s-]?vaccinated{E}(?:\s+(?:for|against)\s+{COV})?",
        rf"{B}(?:not|never)\s+(?:been\s+|yet\s+)?(?:vaccinated|boosted){E}(?:\s+(?:for|against)\s+{COV})?",
        rf"{B}no\s+(?:{COV}\s+)?{VAX}{E}",
        rf"{B}(?:{COV}\s+)?{VAX}\s+(?:are\s+|is\s+)?(?:not|aren't|isn't|not\s+yet)\s+(?:up[\s-]to[\s-]date|current|complete|done|UTD){E}",
        rf"{B}(?:declined|refused|missed|overdue\s+for|behind\s+on)\s+(?:the\s+|his\s+|her\s+|all\s+)?(?:{COV}\s+)?{VAX}{E}",
        rf"{B}(?:{COV}\s+)?{VAX}\s+(?:overdue|outstanding|lapsed|out\s+of\s+date){E}",
    ):
        add(Rule("covid_vaccination_up_to_date", _c(p), const(False)))
    for p in (
        rf"{B}(?:{COV}\s+)?{VAX}\s+(?:are\s+|is\s+|all\s+)?(?:up[\s-]to[\s-]date|current|complete|completed|done|UTD){E}",
        rf"{B}up[\s-]to[\s-]date\s+(?:with|on)\s+(?:(?:his|her|all)\s+)?(?:{COV}\s+)?{VAX}{E}",
        rf"{B}(?:fully|triple|double|quadruple|recently)[\s-]*(?:vaccinated|boosted){E}(?:\s+(?:for|against)\s+{COV})?",
        rf"{B}{COV}[\s-]+(?:vaccinated|boosted){E}",
        rf"{B}(?:vaccinated|boosted)(?:\s+(?:for|against)\s+{COV}){E}",
        rf"{B}boosted{E}",
    ):
        add(Rule("covid_vaccination_up_to_date", _c(p), const(True)))

    needs = ()
    # ---- age and sex ---------------------------------------------------------------------------------------------------
    def age(m: re.Match, t: str) -> Any:
        if _negated_number(m, t):
            return SKIP
        v = int(m.group("s"))
        return v if 18 <= v <= 110 else REJECT

    AGE_AFTER = r"(?![\d.])"
    NOT_UNIT = r"(?!\s*(?:-\s*)?(?:protein|spike|component|prot|mo\b|months?|%|mg|mL|mm|x\b))"
    add(Rule("age", _c(rf"{B}(?P<s>\d{{2,3}}){AGE_AFTER}\s?(?P<x>[MF])(?![\w-])(?!\s*-?\s*(?:protein|spike|component))", 0),
             age, span="s", claim="span"))
    add(Rule("sex", _c(rf"{B}(?P<a>\d{{2,3}}){AGE_AFTER}\s?(?P<s>[MF])(?![\w-])(?!\s*-?\s*(?:protein|spike|component))", 0),
             lambda m, t: REJECT if not 18 <= int(m.group("a")) <= 110 else ("male" if m.group("s") == "M" else "female"),
             span="s", claim="span"))
    YO = (r"(?:yo|y/o|y\.o\.?|yoa|yr?s?[\s-]*old|years?[\s-]*old|year-old|yr-old|-year-old|y(?=\s|,|$)|"
          r"yr?s?(?=\s*(?:,|$|\s(?:man|woman|male|female|lady|gentleman|gent|pt|patient|M|F)\b)))")
    add(Rule("age", _c(rf"{B}(?P<s>\d{{2,3}}){AGE_AFTER}\s*-?\s*{YO}"), age, span="s", claim="span"))
    add(Rule("age", _c(rf"{B}(?:aged?|age\s*(?:is|of|to|[:=])|age)\s*(?P<s>\d{{2,3}}){AGE_AFTER}{NOT_UNIT}"), age, span="s", claim="span"))
    add(Rule("age", _c(rf"{B}(?P<s>\d{{2,3}}){AGE_AFTER}\s*,?\s*(?=(?:man|woman|male|female|lady|gentleman|gent)\b)"),
             age, span="s", claim="span"))
    add(Rule("age", _c(rf"{B}(?:(?:he|she)(?:'s|\s+is)|(?:pt|patient)(?:\s+is)?|(?:man|woman|male|female|lady|gentleman),)\s+(?:now\s+)?(?P<s>\d{{2,3}}){AGE_AFTER}{NOT_UNIT}(?!\s*(?:prior|lines?|L\b|PL\b))"),
             age, span="s", claim="span"))
    add(Rule("age", _c(rf"{B}(?P<s>\d{{2,3}}){AGE_AFTER}\s*,?\s*(?=[MF](?![\w-]))", 0), age, span="s", claim="span"))
    # after a title and an initial or a name: "Mrs B, 70", "Mr K, 64 years", "pt AB 72", "Mrs Smith, 81"
    TITLE = r"(?i:mrs|mr|ms|miss|mx|dr|prof|pt|patient)\.?"
    NAME = r"(?:[A-Z]{1,3}\.?|[A-Z][a-z]+(?:-[A-Z][a-z]+)?)"
    add(Rule("age", _c(
        rf"{B}{TITLE}\s+{NAME}(?:\s*{NAME}){{0,2}}\s*[,:;(-]?\s*(?:aged?\s+|is\s+|now\s+)?(?P<s>\d{{2,3}}){AGE_AFTER}"
        rf"(?!\s*(?:-\s*)?(?:protein|spike|component|prot|mo\b|mos\b|months?|%|mg|mL|mm|kgs?|lbs?|cm|bpm|x\b|cycles?|days?|weeks?|wks?|prior|lines?|L\b|PL\b|"
        rf"(?:years?|yrs?|y)\s+(?:ago|after|since|of|on|off|post|later|remission|before)\b))", 0),
        age, span="s", claim="span"))

    def sex_word(m: re.Match, t: str) -> Any:
        if re.search(r"\bnot\s*(?:a\s+)?$", _before(t, m)):
            return SKIP
        w = m.group(0).lower()
        return "female" if w in ("woman", "female", "lady", "women") else "male"
    add(Rule("sex", _c(rf"{B}(?:man|male|gentleman|gent|woman|female|lady){E}"), sex_word))
    add(Rule("sex", _c(r"(?:(?<=\d)|\b)(?:yo|y/o|yrs?|old|y\.o\.)\s+(?P<s>[MF])(?![\w-])", 0),
             lambda m, t: "male" if m.group("s") == "M" else "female", span="s", claim="span"))

    # ---- prior lines -------------------------------------------------------------------------------------------------------
    def lines(m: re.Match, t: str) -> Any:
        if _negated_number(m, t):
            return SKIP
        v = to_int(m.group("v"))
        return v if v and 1 <= v <= 15 else REJECT

    LINEW = r"(?:lines?|LOTs?|regimens?|therap(?:y|ies)|treatments?|tx)"
    add(Rule("prior_lines", _c(
        rf"{B}(?P<v>{NUM})\+?\s*(?:(?:prior|previous|earlier|preceding|completed|lines?\s+of)\s+)?(?:lines?|LOTs?)(?:\s+of\s+(?:therapy|treatment|tx))?(?:\s+(?:prior|previously|so\s+far))?{E}"),
        lines))
    add(Rule("prior_lines", _c(
        rf"{B}(?P<v>{NUM})\+?\s*(?:prior|previous|earlier|preceding)\s+(?:regimens?|therap(?:y|ies)|treatments?|tx|lines\s+of\s+therapy){E}"),
        lines))
    add(Rule("prior_lines", _c(rf"{B}(?P<v>\d{{1,2}})\s?P?L{E}", 0), lines))
    add(Rule("prior_lines", _c(rf"{B}(?:prior|previous)\s+(?:{LINEW})\s*(?:x\s*|[:=]\s*|to\s+|is\s+|are\s+|of\s+|=\s*)?(?P<v>{NUM}){E}(?!\s*(?:months?|years?|mo|yrs?|%))"), lines))
    add(Rule("prior_lines", _c(rf"{B}(?:no\.?\s+of\s+)?(?:prior\s+)?lines?(?:\s+of\s+therapy)?\s*[:=]\s*(?P<v>{NUM}){E}(?!\s*\))"), lines))

    def ordinal_line(m: re.Match, t: str) -> Any:
        n = to_int(m.group("v"))
        if not n:
            return REJECT
        before = _before(t, m, 40)
        done = re.search(r"(?:after|post|following|beyond|completed|completing|failed|failing|progressed\s+(?:on|after|during|through)|"
                         r"progression\s+(?:on|after|during)|relapsed\s+(?:on|after|during)|relapse\s+(?:on|after)|on|during|"
                         r"received|had)\s+(?:a\s+|the\s+|his\s+|her\s+)?$", before)
        v = n if done else n - 1
        return v if v >= 1 else SKIP
    add(Rule("prior_lines", _c(rf"{B}(?P<v>{ORD})[\s-]*line(?:\s+(?:therapy|treatment|setting|of\s+(?:therapy|treatment)))?{E}"),
             ordinal_line))
    add(Rule("prior_lines", _c(rf"{B}(?P<v>{ORD})\s+(?:relapse|progression|PD|relapsed|recurrence){E}"), lines))
    add(Rule("prior_lines", _c(rf"{B}relapse\s+(?:number|no\.?|#)\s*(?P<v>{NUM}){E}"), lines))

    # ---- relapse -------------------------------------------------------------------------------------------------------------
    PROT = r"(?:serum\s+)?(?:paraprotein|para-protein|M[\s-]?protein|M[\s-]?spike|monoclonal\s+protein|(?:free\s+)?light[\s-]chains?|s?FLCs?)"
    none_patterns = (
        rf"{B}(?:no|without)\s+(?:(?:evidence|signs?)\s+of\s+)?(?:(?:clinical|biochemical|disease|serological|further)\s+)?(?:relapse|progression|PD){E}(?!\s+(?:on|while|during))",
        rf"{B}(?:no|without)\s+(?:(?:evidence|signs?)\s+of\s+)?(?:(?:clinical|biochemical|disease|serological|further)\s+)?(?:relapse|progression|PD)"
        rf"\s+(?:on|while\s+on|during)\s+(?:the\s+|her\s+|his\s+)?(?:current|present|ongoing|this)\s+(?:therapy|treatment|regimen|tx|line){E}",
        rf"{B}(?:not|n't|hasn't|has\s+not|have\s+not|did\s+not|didn't)\s+(?:yet\s+)?(?:relapsed|progressed|progressing|relapsing){E}",
        rf"{B}(?:stable\s+disease|disease\s+(?:is\s+|remains\s+)?stable|stable\s+{PROT}|{PROT}\s+(?:is\s+)?stable){E}",
        rf"{B}(?:remains|still|is)\s+in\s+(?:remission|CR|VGPR|PR|sCR){E}",
        rf"{B}(?:relapse|progression)\s*[:=]\s*(?:none|no){E}",
    )
    for p in none_patterns:
        add(Rule("relapse", _c(p), const("none")))
    add(Rule("relapse", _c(rf"{B}SD(?=\s*(?:$|[,.;)]))", 0), const("none")))
    bio_patterns = (
        rf"{B}(?:biochemical(?:ly)?|biochem\.?|serologic(?:al)?(?:ly)?|paraprotein(?:[\s-]only)?|laboratory|asymptomatic|M[\s-]?protein(?:[\s-]only)?|light[\s-]chain(?:[\s-]only)?)\s+(?:relapse|progression|PD|rise|escape|relapsed|progressed|progressing|recurrence){E}(?:\s+only)?",
        rf"{B}(?:relapse|progression)\s*(?:is\s+)?(?:[:=]\s*|to\s+)?(?:biochemical|biochem|serological)(?:\s+only)?{E}",
        rf"{B}(?:(?:just|only)\s+(?:an?\s+)?)?(?:rising|increasing|rise\s+in|increase\s+in)\s+(?:the\s+)?{PROT}\s+only{E}",
        rf"{B}(?:just|only)\s+(?:an?\s+)?(?:rising|increasing|rise\s+in|increase\s+in)\s+(?:the\s+)?{PROT}{E}",
        rf"{B}{PROT}\s+(?:rise|rising|increase|increasing|going\s+up|up)\s+only{E}",
        rf"{B}no\s+CRAB(?:\s+(?:features|criteria|symptoms|events))?{E}",
        rf"{B}biochemical(?:ly)?(?:\s+only)?{E}",
    )
    for p in bio_patterns:
        add(Rule("relapse", _c(p), lambda m, t: SKIP if re.search(r"\bnot\s*$", _before(t, m)) else "biochemical"))
    clin_patterns = (
        rf"{B}(?:clinical(?:ly)?|clin\.?|symptomatic|overt)\s+(?:relapse|progression|PD|relapsed|progressed|progressing|rel|disease\s+progression|recurrence){E}",
        rf"{B}(?:progressing|progressed|relapsing|relapsed)\s+clinically{E}",
        rf"{B}(?:relapse|progression)\s*(?:is\s+)?(?:[:=]\s*|to\s+)?(?:clinical|clin|symptomatic){E}",
        rf"{B}(?:new\s+)?CRAB(?:\s+(?:features|symptoms|events))?{E}(?!\s+criteria)",
        rf"{B}clinical(?:ly)?(?=\s*(?:$|[,.;!?)]))",
    )
    for p in clin_patterns:
        add(Rule("relapse", _c(p), lambda m, t: SKIP if re.search(r"\bnot\s*$", _before(t, m)) else "clinical"))

    needs = ("fit", "frail", "intermediate", "moderately", "poor")
    # ---- fitness --------------------------------------------------------------------------------------------------------------
    add(Rule("fitness", _c(rf"{B}not\s+(?:very\s+)?frail{E}"), const(SKIP)))
    add(Rule("fitness", _c(rf"{B}(?:(?:fitness|frailty)\s*(?:is\s+|[:=]\s*|to\s+)?)?(?:intermediate(?:ly)?|moderately)[\s-]*(?:fitness|fit|frailty){E}|{B}(?:fitness|frailty)\s*(?:is\s+|[:=]\s*|to\s+)?intermediate{E}|{B}intermediate{E}(?![\s-]*(?:risk|dose|care|-?term))"),
                     const("intermediate")))
    add(Rule("fitness", _c(rf"{B}(?:unfit|not\s+fit|(?:very\s+)?frail|poor\s+(?:fitness|performance\s+status)){E}(?!\s+for\s+{HCT_TARGET})"),
             const("frail")))
    add(Rule("fitness", _c(rf"{B}(?:fitness\s*[:=]\s*)?fit{E}(?!\s+for\s+{HCT_TARGET})"),
             lambda m, t: REJECT if re.search(r"\b(?:un|not\s*|best\s*)$", _before(t, m)) else "fit"))
    return rules


# ---- findings: targets for ConText ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    entity: str
    value: str
    pattern: Pattern[str]
    role: Callable[[re.Match], Any] = lambda m: None  # fixed role ("absent"), None, or REJECT
    needs: Tuple[str, ...] = ()  # lower-case substrings one of which must occur (a cheap pre-check)

    def span(self, m: re.Match) -> tuple:
        return m.span("s") if "s" in self.pattern.groupindex else m.span()


def _threshold(group: str, below: float, absent_at: Optional[float] = None) -> Callable[[re.Match], Any]:
    """Numeric findings: present below `below`, absent at or above `absent_at`, otherwise no finding."""
    def role(m: re.Match) -> Any:
        v = float(m.group(group))
        if v < below:
            return None
        if absent_at is not None and v >= absent_at:
            return "absent"
        return REJECT
    return role


NEEDS = {
    ("cytogenetics", "t(4;14)"): ("14",), ("cytogenetics", "t(14;16)"): ("16",), ("cytogenetics", "t(14;20)"): ("20",),
    ("cytogenetics", "t(11;14)"): ("14",), ("cytogenetics", "del17p"): ("17",), ("cytogenetics", "amp1q"): ("1q",),
    ("cytogenetics", "gain1q"): ("1q",),
    ("aggressive_feature", "ldh_elevated"): ("ldh",),
    ("aggressive_feature", "extramedullary"): ("extra", "emd", "plasmacytoma"),
    ("aggressive_feature", "m_protein_rising"): ("protein", "spike", "light", "flc"),
    ("aggressive_feature", "high_proliferation"): ("prolif", "ki", "pcli", "phase"),
    ("comorbidity", "cardiac_disease"): ("chf", "hf", "ihd", "cad", "af", "mi", "nyha", "heart", "cardi", "ef", "ejection",
                                        "lv", "infarct", "fib", "arrhythm", "stenosis", "valv", "coronary", "isch"),
    ("comorbidity", "neuropathy"): ("neuropath", "pn"),
    ("comorbidity", "thrombosis_history"): ("dvt", "pe", "vte", "thromb", "embol", "clot"),
    ("comorbidity", "infection_risk"): ("infect", "pneumon", "sepsis", "gamma", "ig", "immun"),
    ("comorbidity", "low_marrow_reserve"): ("marrow", "count", "cytopen", "penia", "penic", "platelet", "plt", "anc",
                                           "transfusion", "neutrophil"),
    ("comorbidity", "renal_impairment"): ("ckd", "aki", "esrd", "eskd", "ri", "kidney", "renal", "dialysis", "hd",
                                         "nephropathy", "creatinine", "gfr", "crcl", "clcr"),
    ("comorbidity", "bone_disease"): ("lytic", "bone", "fractur", "skeletal", "sre", "osteo", "cord"),
}


def finding_rules() -> List[Finding]:
    out: List[Finding] = []

    def f(entity: str, value: str, p: str, flags: int = I, role: Callable[[re.Match], Any] = lambda m: None) -> None:
        out.append(Finding(entity, value, _c(p, flags), role, NEEDS.get((entity, value), ())))

    absent = lambda m: "absent"  # noqa: E731
    # cytogenetics
    def trans(a: int, b: int) -> str:
        return (rf"{B}(?:t|translocation)\s*\(?\s*{a}\s*[;:,]\s*{b}\s*\)?(?:\s*\(\s*[pq][\d.]+\s*;\s*[pq][\d.]+\s*\))?(?![\w])"
                rf"|{B}\(\s*{a}\s*;\s*{b}\s*\)")
    for a, b in ((4, 14), (14, 16), (14, 20), (11, 14)):
        f("cytogenetics", f"t({a};{b})", trans(a, b))
    ONEQ = r"(?:\(\s*(?:of\s+)?(?:chromosome\s+)?1q(?:21)?\s*\)|\s*(?:of\s+)?(?:chromosome\s+)?1q(?:21)?)"
    f("cytogenetics", "del17p",
      rf"{B}del\s*(?:\(\s*17\s*\)\s*\(\s*p(?:\s*13(?:\.1)?)?\s*\)|\(\s*17\s*p(?:\s*13(?:\.1)?)?\s*\)|17\s*p(?:13(?:\.1)?)?){E}"
      rf"|{B}17p(?:13)?\s*(?:deletion|del(?:eted)?|loss){E}|{B}17p-(?![\w])"
      rf"|{B}(?:deletion|loss)\s+(?:of\s+)?(?:chromosome\s+)?17p(?:13)?{E}|{B}TP53\s+(?:deletion|loss){E}|{B}monosomy\s+17p?{E}")
    f("cytogenetics", "amp1q", rf"{B}amp(?:lification|lified)?\s*{ONEQ}{E}|{B}1q(?:21)?\s*amp(?:lification|lified)?{E}")
    f("cytogenetics", "gain1q",
      rf"{B}(?:gain|dup(?:lication)?)\s*{ONEQ}{E}|{B}1q(?:21)?\s*(?:gain(?:ed)?|duplication){E}|{B}1q(?:21)?\+(?![\w])"
      rf"|(?<![\w+])\+\s?1q(?:21)?{E}")
    # aggressive features
    f("aggressive_feature", "ldh_elevated",
      rf"{B}(?:high|elevated|raised|increased|rising|abnormal)\s+(?:serum\s+)?LDH{E}"
      rf"|{B}LDH\s+(?:is\s+|was\s+|now\s+|remains\s+)*(?:high|elevated|raised|increased|abnormal|above\s+(?:the\s+)?(?:ULN|normal|upper\s+limit(?:\s+of\s+normal)?)|>\s*ULN|\d+(?:\.\d+)?\s*x\s*ULN|\d+(?:\.\d+)?\s*(?:times|x)\s+(?:the\s+)?(?:ULN|upper\s+limit(?:\s+of\s+normal)?)){E}"
      rf"|{B}LDH\s*(?:↑|\^)")
    f("aggressive_feature", "ldh_elevated", rf"{B}(?:normal\s+LDH|LDH\s+(?:is\s+|was\s+)?(?:normal|within\s+normal\s+limits|WNL|not\s+(?:elevated|raised|high))){E}",
      role=absent)
    f("aggressive_feature", "extramedullary",
      rf"{B}extra[\s-]?medullary(?:\s+(?:disease|plasmacytomas?|involvement|relapse|spread|lesions?|masse?s?|progression))?{E}|{B}EMD{E}"
      rf"|{B}(?:(?:soft[\s-]tissue|para[\s-]?skeletal|para[\s-]?osseous|extra[\s-]?osseous|new)\s+)?plasmacytomas?{E}")
    f("aggressive_feature", "m_protein_rising",
      rf"{B}(?:rapidly\s+|quickly\s+|fast\s+)?(?:rising|increasing|climbing|doubling|escalating)\s+(?:serum\s+)?(?:M[\s-]?protein|M[\s-]?spike|paraprotein|para-protein|monoclonal\s+protein|(?:free\s+)?light[\s-]chains?|s?FLCs?){E}"
      rf"|{B}(?:M[\s-]?protein|M[\s-]?spike|paraprotein|light[\s-]chains?|s?FLCs?)\s+(?:is\s+|are\s+)?(?:rapidly\s+)?(?:rising|increasing|climbing|doubling|doubled|going\s+up){E}")
    f("aggressive_feature", "high_proliferation",
      rf"{B}high(?:ly)?\s+(?:plasma[\s-]cell\s+)?(?:proliferation|proliferative)(?:\s+(?:index|rate|fraction|activity))?{E}"
      rf"|{B}high\s+(?:Ki[\s-]?67|PCLI|S[\s-]phase(?:\s+fraction)?){E}|{B}Ki[\s-]?67\s+(?:is\s+)?(?:high|elevated|raised){E}"
      rf"|{B}highly\s+proliferative{E}")
    # comorbidities
    f("comorbidity", "cardiac_disease",
      rf"{B}(?:CHF|HF[rpm]?EF|IHD|CAD|AF|AFib|NYHA\s+(?:class\s+)?(?:II|III|IV|[234])|MI){E}", 0)
    f("comorbidity", "cardiac_disease",
      rf"{B}(?:congestive\s+)?(?:heart|cardiac)\s+failure{E}|{B}(?:(?:dilated|ischa?emic|amyloid|hypertrophic|restrictive|infiltrative|toxic|anthracycline|chemotherapy[\s-]induced|non-ischa?emic)\s+)?cardiomyopath(?:y|ies){E}"
      rf"|{B}(?:reduced|low|poor|impaired|depressed|decreased)\s+(?:LV\s*)?(?:EF|ejection\s+fraction|LV\s+function|LVEF|systolic\s+function){E}"
      rf"|{B}(?:ischa?emic|coronary)\s+(?:heart|artery)\s+disease{E}|{B}myocardial\s+infarction{E}|{B}a-?fib{E}|{B}atrial\s+fibrillation{E}"
      rf"|{B}cardiac\s+(?:disease|comorbidit(?:y|ies)|history|amyloid(?:osis)?|dysfunction|impairment|arrhythmias?|problems?|issues?){E}"
      rf"|{B}heart\s+(?:disease|problems?){E}|{B}arrhythmias?{E}|{B}aortic\s+stenosis{E}|{B}valv(?:ular)?\s+(?:heart\s+)?disease{E}")
    f("comorbidity", "cardiac_disease",
      rf"{B}(?:LV)?EF\s*(?:of\s+|is\s+|was\s+|[:=]\s*)?[<≤~]?\s*(?P<v>\d{{1,2}})\s*%", role=_threshold("v", 50, 50))
    f("comorbidity", "cardiac_disease", rf"{B}(?:normal|preserved)\s+(?:LV\s*)?(?:EF|ejection\s+fraction|LV\s+function|cardiac\s+function){E}",
      role=absent)
    f("comorbidity", "neuropathy",
      rf"{B}(?:(?:grade|gr|G)\s*[1-4]\s+)?(?:(?:severe|mild|moderate|significant|peripheral|sensory|motor|painful|sensorimotor|chemo(?:therapy)?[\s-]induced|residual|pre-?existing|baseline)\s+)*(?:poly)?neuropath(?:y|ies|ic\s+pain)(?:\s*(?:,\s*)?(?:grade|gr|G)\s*[1-4])?{E}")
    f("comorbidity", "neuropathy", rf"{B}(?:(?:grade|gr|G)\s*[1-4]\s+)?(?:PN|CIPN|PNP)(?:\s+(?:grade|gr|G)\s*[1-4])?{E}", 0)
    f("comorbidity", "thrombosis_history", rf"{B}(?:DVT(?:\s*/\s*PE)?|PE\s*/\s*DVT|VTE){E}", 0)
    f("comorbidity", "thrombosis_history",
      rf"{B}(?i:history\s+of|h/o|hx\s+of|hx|prior|previous|past|recent|had\s+an?|has\s+had\s+an?|had|with)\s+(?P<s>PE){E}", 0)
    f("comorbidity", "thrombosis_history",
      rf"{B}(?:venous\s+thrombo(?:embolism|sis)|thrombo[\s-]?embolism|thrombo[\s-]?embolic\s+(?:disease|events?)|pulmonary\s+embol(?:ism|us|i)|"
      rf"deep\s+vein\s+thrombosis|(?:arterial\s+|venous\s+)?thrombosis|blood\s+clots?|clotting\s+history|thrombotic\s+events?){E}")
    f("comorbidity", "infection_risk",
      rf"{B}(?:recurrent|frequent|repeated|multiple|serious|severe|repeat)\s+(?:chest\s+|respiratory\s+|bacterial\s+|sino-?pulmonary\s+)?(?:infections?|pneumonias?|sepsis){E}"
      rf"|{B}hypogamma(?:globulin(?:a)?emia)?{E}|{B}(?:low|reduced|decreased)\s+(?:IgG|immunoglobulins?|Ig\s+levels?|gammaglobulins?){E}"
      rf"|{B}immunoparesis{E}|{B}(?:IVIG|SCIG|IgRT){E}|{B}infection\s+risk{E}|{B}(?:high|increased)\s+(?:risk\s+of\s+)?infections?(?:\s+risk)?{E}"
      rf"|{B}prone\s+to\s+infections?{E}|{B}infection[\s-]prone{E}")
    f("comorbidity", "low_marrow_reserve",
      rf"{B}(?:poor|low|limited|reduced|inadequate|impaired|compromised)\s+(?:bone\s+)?marrow\s+(?:reserve|function){E}"
      rf"|{B}(?:low|poor)\s+(?:blood\s+)?counts{E}|{B}(?:pan)?cytopeni(?:a|as|c){E}|{B}thrombocytopeni(?:a|c){E}|{B}neutropeni(?:a|c){E}"
      rf"|{B}(?:low|reduced)\s+(?:platelets?|plts?|neutrophils?|ANC){E}|{B}transfusion[\s-]dependen(?:t|ce|cy){E}|{B}marrow\s+(?:failure|suppression){E}")
    f("comorbidity", "low_marrow_reserve",
      rf"{B}(?:platelets?|plts?|PLT)\s*(?:count\s*)?(?:of\s+|is\s+|[:=]\s*)?(?P<v>\d{{1,3}})(?:\s*k|\s*x\s*10\^?9\s*/\s*L)?{E}",
      role=_threshold("v", 75, 150))
    f("comorbidity", "low_marrow_reserve", rf"{B}(?:good|adequate|normal|preserved)\s+(?:bone\s+)?(?:marrow\s+(?:reserve|function)|(?:blood\s+)?counts){E}",
      role=absent)
    f("comorbidity", "renal_impairment",
      rf"{B}(?:CKD|AKI|ESRD|ESKD|RI)(?:\s*(?:stage\s*)?(?:[1-5]|IV|V|III|II)[ab]?)?{E}", 0)
    f("comorbidity", "renal_impairment",
      rf"{B}(?:chronic\s+|acute\s+)?kidney\s+(?:disease|failure|injury|impairment|insufficiency|dysfunction){E}"
      rf"|{B}(?:severe\s+|moderate\s+|mild\s+)?renal\s+(?:impairment|failure|insufficiency|dysfunction|disease|involvement){E}"
      rf"|{B}(?:impaired|reduced|poor|decreased)\s+(?:renal|kidney)\s+function{E}|{B}(?:haemo|hemo)?dialysis(?:[\s-]dependent)?{E}"
      rf"|{B}HD[\s-]dependent{E}|{B}cast\s+nephropathy{E}|{B}myeloma\s+kidney{E}|{B}(?:elevated|raised|high|rising)\s+creatinine{E}")
    f("comorbidity", "renal_impairment",
      rf"{B}(?:e?GFR|CrCl|CrCL|CLcr|creatinine\s+clearance)\s*(?:of\s+|is\s+|was\s+|[:=]\s*)?[<≤~]?\s*(?P<v>\d{{1,3}})(?:\s*(?:ml|mL)\s*/\s*min(?:\s*/\s*1\.73\s*m2)?)?(?![\w.])",
      role=_threshold("v", 60, 60))
    f("comorbidity", "renal_impairment", rf"{B}(?:normal|preserved|good)\s+(?:renal|kidney)\s+function{E}"
      rf"|{B}(?:renal|kidney)\s+function\s+(?:is\s+)?(?:normal|preserved|fine|ok|OK){E}", role=absent)
    f("comorbidity", "bone_disease",
      rf"{B}(?:(?:multiple|new|extensive|diffuse|progressive)\s+)?(?:osteo)?lytic(?:\s+bone)?\s+(?:lesions?|disease){E}|{B}lytics{E}"
      rf"|{B}(?:(?:multiple|new|extensive|diffuse)\s+)?bone\s+(?:disease|lesions?|involvement|destruction){E}|{B}pathologic(?:al)?\s+fractures?{E}"
      rf"|{B}(?:(?:new|multiple)\s+)?(?:vertebral|compression|spinal|osteoporotic)\s+(?:compression\s+)?fractures?{E}|{B}new\s+fractures?{E}"
      rf"|{B}skeletal[\s-]related\s+events?{E}|{B}osteolytic{E}|{B}(?:spinal\s+)?cord\s+compression{E}")
    return out


def scan_facts(text: str, rules: Iterable[Rule]) -> tuple:
    """(entities, claimed character ranges) for the fact rules, in rule order."""
    claimed: List[tuple] = []
    ents: List[dict] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in claimed)

    low = text.lower()
    for rule in rules:
        if rule.needs and not any(n in low for n in rule.needs):
            continue
        for m in rule.pattern.finditer(text):
            s, e = m.span(rule.span) if rule.span else m.span()
            if s < 0 or s == e:
                continue
            region = (s, e) if rule.claim == "span" else m.span()
            if not free(*region):
                continue
            v = rule.value(m, text)
            if v is REJECT:
                continue
            claimed.append(region)
            if v is SKIP:
                continue
            ent = {"entity": rule.entity, "value": v, "start": s, "end": e}
            if rule.role:
                ent["role"] = rule.role
            ents.append(ent)
    return ents, claimed
