"""Answers in the clinician's own words to the question the intake asked ("two", "she's pretty frail",
"never transplanted", "not really, she's 80", "len and dara", "the usual ones").

`interpret_answer(slot, text, intent, entities, slots)` gives the value of the asked field, or None when the
message does not answer it; `answer_extras` gives what a short answer adds besides ("no, 79": the age).
Entities are those the extractor found in the message (bot.nlu), as plain dicts.

Layer: the standard library and `bot.clinical`.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from bot.clinical.kb import UnknownName, kb

# The usual drugs of a named refractory state (clinical-spec section 9), offered as a button.
USUAL_REFRACTORY = {
    "triple_class": ["bortezomib", "daratumumab", "lenalidomide"],
    "double": ["bortezomib", "lenalidomide"],
}

_NONE = re.compile(
    r"^\s*(none|nothing|no(ne)?\s+(drugs?|refractor\w*)|not\s+refractory(\s+to\s+anything)?|n/?a|nil|no|"
    r"zero|0|neither|not\s+any)\b",
    re.I,
)
_NOTHING_ELSE = re.compile(
    r"\b(?:nothing|none|no(?:thing)?)\s+(?:else|other(?:\s+(?:drugs?|agents?))?|more)\b(?!\s+(?:to\s+add|than))", re.I)
_USUAL = re.compile(r"\b(?:the\s+)?(?:usual|standard|typical|common|classic|normal)(?:\s+(?:ones?|three|two|trio|pair|"
                    r"suspects|drugs?|agents?|classes|combination|combo|triplet))?\b|"
                    r"\b(?:yes|yep|yeah|correct|right|exactly|those|that'?s\s+(?:it|right))\b", re.I)
_YES = re.compile(r"^\s*(?:(?:definitely|absolutely|certainly)\s*,?\s*)?(yes|yeah|yep|yup|y|correct|she is|he is|"
                  r"eligible|sure|affirmative|indeed)\b(?!\s+not)", re.I)
_NO = re.compile(r"^\s*(no|nope|nah|n|not|never|ineligible|negative)\b", re.I)
_NO_ANYWHERE = re.compile(r"\b(?:no|not|nope|never|ineligible|unsuitable|unfit|too\s+(?:old|frail|unwell|sick))\b",
                          re.I)
_WORDNUM = {
    "zero": 0, "none": 0, "one": 1, "once": 1, "single": 1, "two": 2, "twice": 2, "three": 3, "four": 4,
    "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "first": 1, "second": 2, "third": 3,
    "fourth": 4, "fifth": 5, "sixth": 6,
}
_FITNESS = [
    (re.compile(r"\b(frail|unfit|not\s+(?:very\s+)?fit|poor(?:ly)?|weak|bed[\s-]?bound|housebound)\b", re.I), "frail"),
    (re.compile(r"\b(intermediate|moderately|moderate|reasonably|fairly|somewhat|so[\s-]so|in\s+between|borderline)\b",
                re.I), "intermediate"),
    (re.compile(r"\b(fit|robust|active|independent)\b", re.I), "fit"),
]
_RELAPSE = [
    (re.compile(r"\bbiochem\w*|\bparaprotein\b|\blab\w* only\b|\bserolog\w*|\blight\s+chains?\b|\bFLCs?\b|"
                r"\bM[\s-]?(?:spike|protein)\b", re.I), "biochemical"),
    (re.compile(r"\bclinical\w*|\bsymptom\w*|\bCRAB\b", re.I), "clinical"),
    (re.compile(r"\b(no relapse|not met|stable|none|no|remission)\b", re.I), "none"),
]
_NEVER = re.compile(
    r"^\s*(?:never|not\s+(?:yet|ever|once)|he\s+hasn't|she\s+hasn't|hasn't|has\s+not|didn't|did\s+not)\b", re.I)
_DURATION = re.compile(r"\b\d{1,3}(?:\.\d+)?\s*-?\s*(?:months?|mos?|mths?|m|years?|yrs?|y|weeks?|wks?|days?)\b|"
                       r"\b(?:19|20)\d\d\b|\b(?:one|two|three|four|five|six|a)\s+(?:months?|years?)\b", re.I)
_N = r"(?P<n>\d{1,3}(?:\.\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|a|an)"
_U = r"(?P<u>months?|mos?|mths?|years?|yrs?|y)"
# the remission after the transplant in an answer to the transplant question ("once, with 18 months of remission",
# "one, remission lasted 2 years", "yes, relapsed 3 years later")
_REMISSION = [
    re.compile(r"\b(?:remission|response|PFS|remitted|in\s+CR|CR)\s*(?:of|lasting|lasted|was|for|:|=)?\s*"
               r"(?:about|around|approx\.?|approximately|~|only|just|almost|nearly)?\s*" + _N + r"\s*-?\s*" + _U
               + r"\b", re.I),
    re.compile(r"\b" + _N + r"\s*-?\s*" + _U + r"\s+(?:of\s+|in\s+)?(?:remission|response|PFS|CR)\b", re.I),
    re.compile(r"\b(?:relapsed?|progressed|progression|PD|recurred)\s+(?:after\s+|at\s+|about\s+|around\s+)?" + _N
               + r"\s*-?\s*" + _U + r"(?:\s+(?:later|after(?:wards)?|post|on))?\b", re.I),
]
_UNSURE = re.compile(
    r"\b(not sure|unsure|unknown|don'?t know|do not know|no idea|uncertain|maybe|not known|tbd|unclear)\b", re.I
)
_BARE_AGE = re.compile(r"(?:^|[\s,;])(?P<v>\d{2,3})(?:\s*(?:y(?:ea)?rs?(?:\s+old)?|yo|y/o))?\s*[.!]?\s*$|"
                       r"(?:^|[\s,;])(?P<w>\d{2,3})\s*,", re.I)
_IT = re.compile(r"\b(?:PD|progress\w*|relaps\w*|refractory|failed|failing|escaped)\s+(?:\w+\s+){0,2}"
                 r"(?:on|to|with)\s+(?:it|that|this|them|both|that\s+regimen|this\s+regimen)\b|^\s*(?:it|that)\s+"
                 r"(?:failed|stopped\s+working)\b", re.I)


def first_number(text: str) -> Optional[int]:
    m = re.search(r"\b(\d{1,3})\b", text)
    if m:
        return int(m.group(1))
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in _WORDNUM:
            return _WORDNUM[word]
    return None


def drug_ids(entity: Dict[str, Any]) -> List[str]:
    """Drug ids an entity names: a drug, or the non-steroid components of a regimen."""
    value = entity.get("value")
    values = value if isinstance(value, list) else [value]
    out: List[str] = []
    for v in values:
        if not isinstance(v, str):
            continue
        try:
            if entity.get("entity") == "drug":
                d = kb().drug_id(v)
                if d != "dexamethasone":
                    out.append(d)
            else:
                out += [d for d in kb().regimen(v).components if d != "dexamethasone"]
        except UnknownName:
            continue
    return out


def named_drugs(entities: List[Dict[str, Any]], roles=(None,)) -> List[str]:
    """Drugs (and the drugs of regimens) the message names with one of `roles` (None: no status)."""
    out: List[str] = []
    for e in entities:
        if e.get("entity") in ("drug", "regimen") and e.get("role") in roles:
            out += [d for d in drug_ids(e) if d not in out]
    return out


def interpret_answer(slot: str, text: str, intent: Optional[str], entities: Optional[List[Dict[str, Any]]] = None,
                     slots: Optional[Dict[str, Any]] = None) -> Any:
    """The value of an answer to the question for `slot`, or None when the message does not answer it."""
    entities = entities or []
    slots = slots or {}
    if _UNSURE.search(text):
        return None
    words = len(re.findall(r"\w+", text))
    if slot == "refractory":
        stated = named_drugs(entities, ("refractory",))
        bare = named_drugs(entities, (None,))
        cls = slots.get("refractory_class")
        if cls in USUAL_REFRACTORY and not stated and not bare and _USUAL.search(text):
            return list(USUAL_REFRACTORY[cls])
        if _IT.search(text) and slots.get("last_regimen"):
            return sorted(set(stated) | set(slots["last_regimen"]))
        if bare:
            return sorted(set(stated) | set(bare))  # "len and dara": the answer to "which drugs?"
        if stated:
            return None  # read with their roles already
        if _NONE.match(text) or _NOTHING_ELSE.search(text) or (intent == "deny" and words <= 3):
            return []
        return None
    if slot == "transplant_eligible":
        if _YES.match(text) or (intent == "affirm" and words <= 3):
            return True
        if _NO.match(text) or (intent == "deny" and words <= 4) or (words <= 5 and _NO_ANYWHERE.search(text)):
            return False
        return None
    if slot in ("prior_lines", "prior_auto_hct"):
        counted = _DURATION.sub(" ", text)  # "relapsed 26 months after it": 26 is no count
        if slot == "prior_auto_hct":
            stated = [e["value"] for e in entities
                      if e.get("entity") == "prior_auto_hct" and isinstance(e.get("value"), int)]
            if stated:
                return stated[-1]
            if (_NONE.match(text) or _NEVER.match(text) or (intent == "deny" and words <= 3)) and not re.search(
                    r"\b(?:once|twice|two|\d)\b", counted, re.I):  # "never had one": "one" is a pronoun
                return 0
            n = first_number(counted)
            if n is None and (re.match(r"^\s*(?:yes|yep|yeah|she\s+did|he\s+did|one)\b", text, re.I) or any(
                    e.get("entity") == "months_remission_after_hct" for e in entities)):
                return 1  # "yes", "relapsed 26 months after it": one transplant
            return n if n is None or 0 <= n <= 15 else None
        n = first_number(counted)
        return n if n is None or 0 <= n <= 15 else None
    if slot == "fitness":
        for pattern, value in _FITNESS:
            if pattern.search(text):
                return value
        return None
    if slot == "relapse":
        for pattern, value in _RELAPSE:
            m = pattern.search(text)
            # in a longer message that tells the case, "no" / "remission" is said of something else ("no maint",
            # "remission 4 yrs after the 2nd"): only a short answer, or one that opens with it, says there is none
            if m and (value != "none" or words <= 4 or not text[:m.start()].strip(" ,.:-")):
                return value
        return "none" if (intent == "deny" and _NO.match(text)) else None
    return None


def remission_months(text: str) -> Optional[int]:
    """Months of remission stated in an answer ("18 months of remission", "remission lasted 2 years")."""
    for pattern in _REMISSION:
        m = pattern.search(text)
        if m:
            n = m.group("n").lower()
            value = float(n) if n[0].isdigit() else 1 if n in ("a", "an") else _WORDNUM.get(n)
            if value is None:
                continue
            return int(round(value * 12)) if m.group("u").lower().startswith("y") else int(round(value))
    return None


def answer_extras(slot: str, text: str, entities: List[Dict[str, Any]]) -> Dict[str, Any]:
    """What a short answer states besides the asked field: a bare number that is an age ("no, 79", "she's fit,
    55") when the question was not about a count; the remission after the transplant in an answer to the
    transplant question that gives it without naming the transplant ("once, with 18 months of remission")."""
    if slot == "prior_auto_hct":
        if any(e.get("entity") == "months_remission_after_hct" for e in entities):
            return {}
        count = interpret_answer(slot, text, None, entities)
        months = remission_months(text) if count else None
        return {"months_remission_after_hct": months} if months is not None and 0 <= months <= 400 else {}
    if slot == "prior_lines" or any(e.get("entity") == "age" for e in entities):
        return {}
    if len(re.findall(r"\w+", text)) > 8:
        return {}
    m = _BARE_AGE.search(text)
    if m:
        v = int(m.group("v") or m.group("w"))
        if 30 <= v <= 110:
            return {"age": v}
    return {}
