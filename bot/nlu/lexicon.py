"""Vocabulary of the clinical entity extractor that is not in the knowledge base.

Drug, regimen and trial names come from `bot.clinical.kb` (see `matchers.py`); this module only holds what the KB
does not know: number words, prior (mostly front-line) regimens that are not catalog options, a few extra surface
forms of KB codes, and the lists used to keep fuzzy matching and case-insensitive matching from
false positives.

Layer: may import the standard library only.
"""
from __future__ import annotations

import re
from typing import Dict, Optional, Tuple

NUMBER_WORDS: Dict[str, int] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "single": 1, "a": 1, "an": 1,
}
ORDINAL_WORDS: Dict[str, int] = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10,
}
# regex fragments (used case-insensitively)
NUM = r"(?:\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten)"
ORD = r"(?:\d{1,2}\s?(?:st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth)"
# durations: "3 months", "1.5 yrs", "a year", "18m", "two years"
DURATION_NUM = r"(?:\d{1,3}(?:\.\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a|an)"
EXTRA_NUMBERS = {"eleven": 11, "twelve": 12}


def to_int(word: str) -> Optional[int]:
    """'3', 'three', '3rd', 'third' -> 3; None when not a number."""
    w = word.strip().lower()
    w = re.sub(r"\s+", "", w)
    if w.isdigit():
        return int(w)
    m = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)", w)
    if m:
        return int(m.group(1))
    if w in NUMBER_WORDS:
        return NUMBER_WORDS[w]
    if w in ORDINAL_WORDS:
        return ORDINAL_WORDS[w]
    if w in EXTRA_NUMBERS:
        return EXTRA_NUMBERS[w]
    return None


def to_float(word: str) -> Optional[float]:
    w = word.strip().lower()
    try:
        return float(w)
    except ValueError:
        v = to_int(w)
        return None if v is None else float(v)


# Prior regimens that are not catalog options (front-line and older combinations). A status on one of them
# ("refractory to VRd") is a status on each of its non-steroid components. Components are KB drug ids
# (checked when the pipeline is built). Names are matched case-insensitively with hyphen/space variants.
PRIOR_REGIMENS: Dict[str, Tuple[str, ...]] = {
    "VRd": ("bortezomib", "lenalidomide"),
    "RVd": ("bortezomib", "lenalidomide"),
    "VRd-lite": ("bortezomib", "lenalidomide"),
    "RVd-lite": ("bortezomib", "lenalidomide"),
    "VLd": ("bortezomib", "lenalidomide"),
    "VTd": ("bortezomib", "thalidomide"),
    "TVd": ("bortezomib", "thalidomide"),
    "D-VRd": ("daratumumab", "bortezomib", "lenalidomide"),
    "Dara-VRd": ("daratumumab", "bortezomib", "lenalidomide"),
    "DaraVRd": ("daratumumab", "bortezomib", "lenalidomide"),
    "DVRd": ("daratumumab", "bortezomib", "lenalidomide"),
    "D-RVd": ("daratumumab", "bortezomib", "lenalidomide"),
    "Dara-RVd": ("daratumumab", "bortezomib", "lenalidomide"),
    "D-VTd": ("daratumumab", "bortezomib", "thalidomide"),
    "Dara-VTd": ("daratumumab", "bortezomib", "thalidomide"),
    "DVTd": ("daratumumab", "bortezomib", "thalidomide"),
    "D-KRd": ("daratumumab", "carfilzomib", "lenalidomide"),
    "Dara-KRd": ("daratumumab", "carfilzomib", "lenalidomide"),
    "DKRd": ("daratumumab", "carfilzomib", "lenalidomide"),
    "Isa-KRd": ("isatuximab", "carfilzomib", "lenalidomide"),
    "IsaKRd": ("isatuximab", "carfilzomib", "lenalidomide"),
    "Isa-VRd": ("isatuximab", "bortezomib", "lenalidomide"),
    "IsaVRd": ("isatuximab", "bortezomib", "lenalidomide"),
    "Isa-Kd": ("isatuximab", "carfilzomib"),
    "IsaKd": ("isatuximab", "carfilzomib"),
    "KCd": ("carfilzomib", "cyclophosphamide"),
    "VMP": ("bortezomib", "melphalan"),
    "D-VMP": ("daratumumab", "bortezomib", "melphalan"),
    "Dara-VMP": ("daratumumab", "bortezomib", "melphalan"),
    "MPT": ("melphalan", "thalidomide"),
    "MPV": ("melphalan", "bortezomib"),
    "CTd": ("cyclophosphamide", "thalidomide"),
    "CTDa": ("cyclophosphamide", "thalidomide"),  # UK: attenuated (reduced-dose) CTD
    "MPB": ("melphalan", "bortezomib"),
    "PCd": ("pomalidomide", "cyclophosphamide"),
    "PAd": ("bortezomib", "doxorubicin"),
    "SPd": ("selinexor", "pomalidomide"),
    "XPd": ("selinexor", "pomalidomide"),
    "SKd": ("selinexor", "carfilzomib"),
    "XKd": ("selinexor", "carfilzomib"),
}
# Names of PRIOR_REGIMENS that are matched only in their exact case (they are ordinary words or other
# clinical abbreviations in lower or upper case: CTD = connective tissue disease, PAD = peripheral artery disease).
PRIOR_REGIMENS_CASED = {"CTd", "PAd", "CTDa", "MPB", "PCd"}

# Extra surface forms of KB regimen/transplant codes that the KB does not list.
EXTRA_REGIMEN_ALIASES: Dict[str, str] = {
    "second transplant": "auto-HCT-2",
    "second autologous transplant": "auto-HCT-2",
    "second autograft": "auto-HCT-2",
    "second auto": "auto-HCT-2",
    "salvage transplant": "auto-HCT-2",
    "salvage autograft": "auto-HCT-2",
    "allo transplant": "allo-HCT",
    "allogeneic stem cell transplant": "allo-HCT",
    "allo-SCT": "allo-HCT",
    "melflufen dex": "Md",
    "ven dex": "Ven-d",
}

# Regimen aliases (folded) that are ordinary words or other abbreviations when written in another case:
# PD = progressive disease, SD = stable disease, MD = doctor, BD = twice daily, "vend", "d".
# These are matched only with the KB spelling (or when the whole message is just that name).
# Any alias whose folded form has at most two letters is treated the same way automatically.
CASE_SENSITIVE_REGIMEN_ALIASES = {"vend"}
# Ordinary words that name the "trial" option (enrolment in a clinical trial) only in phrases like "on a study",
# "into a trial", "trial options" (not "the ASPIRE trial"); or when the whole message is that word.
TRIAL_OPTION_WORDS = {"study", "trial"}

# Trials whose id is an ordinary English word: matched in the KB spelling / upper case, or next to a
# word like "trial", "study", "results".
TRIAL_WORDS = {"aspire", "castor", "candor", "apollo", "evolution", "boston", "storm", "horizon"}
TRIAL_CONTEXT_WORDS = ("trial", "study", "results", "data", "show", "showed", "shows", "find", "found")
# Base names of trial ids that identify one trial on their own ("TOURMALINE" = TOURMALINE-MM1).
TRIAL_BASE_ALIASES = {"tourmaline": "TOURMALINE-MM1", "icaria": "ICARIA-MM", "cartitude": "CARTITUDE-1",
                      "majestec": "MajesTEC-1", "karmma-1": "KarMMa", "tourmaline mm1": "TOURMALINE-MM1"}

# Fuzzy drug matching never touches these (long ordinary or clinical words that are close to a drug name).
FUZZY_STOPWORDS = {
    "relapsed", "relapses", "refractory", "remission", "maintenance", "melanoma", "myeloma",
    "lenient", "palliative", "pomegranate", "carfilzomibs", "idiopathic", "cisplatinum",
    "elevated", "elevation", "selection", "selected", "selective", "venous", "ventricular",
    "doxycycline", "cyclosporin", "cyclosporine", "cyclophosphamides", "decadence",
    "thalassemia", "thalassaemia", "bendamustines", "etoposides", "dexamethasones",
}
