"""Post-readings over the entities of one message that need the words around them: a cytopenia that is a drug's
toxicity (no low marrow reserve), "without progression" said of a regimen (exposed, no relapse type).

Each function takes the message (as the rules read it) and the entities found so far, and returns the entities
to keep.

Layer: may import the standard library.
"""
from __future__ import annotations

import re
from typing import List

# ---- cytopenias that are a drug's toxicity, not a poor marrow reserve ------------------------------------------
_TOX_BEFORE = re.compile(
    r"\b(?:stopped|stopping|discontinued|discontinuing|ceased|held|holding|interrupted|withdrawn|dose[\s-]?reduced|"
    r"reduced|reducing|delayed|paused|switched|changed|came\s+off|taken\s+off|intolerant|intolerance|toxicity)\b"
    r"[^.;:\n]{0,40}?\b(?:because\s+of|due\s+to|for|owing\s+to|after|secondary\s+to|given|with|from)\s+"
    r"(?:(?:grade\s*\d|g\d|severe|recurrent|significant|prolonged|persistent|febrile|profound)\s+)*$"
    r"|(?:induced|related|associated|emergent)\s*$", re.I)
_TOX_AFTER = re.compile(
    r"^\s*(?:\([^()]{0,30}\)\s*)?(?:(?:led|leading|requiring|needing|necessitating|forced|prompted|causing)\s+"
    r"(?:to\s+)?(?:a\s+)?(?:dose|stopping|discontinu|interrupt|reduc|holding|cessation|switch)"
    r"|(?:on|from|with|during|while\s+on|whilst\s+on|due\s+to|caused\s+by|related\s+to|secondary\s+to|attributed\s+to"
    r"|after)\s+(?:the\s+|her\s+|his\s+|full[\s-]dose\s+)?$)", re.I)


def treatment_cytopenia(text: str, out: List[dict]) -> List[dict]:
    """'len stopped because of neutropenia', 'neutropenic on len', 'dose reduced for thrombocytopenia': a
    cytopenia that is the toxicity of a drug (a reason to stop or reduce it) is no low marrow reserve (which
    needs present cytopenias from marrow infiltration or poor reserve)."""
    drugs = [e for e in out if e["entity"] in ("drug", "regimen")]
    keep = []
    for e in out:
        if e["entity"] == "comorbidity" and e["value"] == "low_marrow_reserve" and not e.get("role"):
            before = re.split(r"[.;\n]", text[max(0, e["start"] - 70):e["start"]])[-1]
            nxt = [d for d in drugs if e["end"] <= d["start"] <= e["end"] + 30]
            after = text[e["end"]:nxt[0]["start"]] if nxt else ""
            tail = text[e["end"]:e["end"] + 40]
            if _TOX_BEFORE.search(before) or _TOX_AFTER.match(tail) or (nxt and _TOX_AFTER.match(after)):
                continue
        keep.append(e)
    return keep


def given_without_progression(text: str, out: List[dict]) -> List[dict]:
    """'VRd given without progression', 'VCd before that, without PD': said of a regimen, "without progression" is
    no relapse type of the case but the regimen given without progression (exposed)."""
    drop = []
    for e in out:
        if e["entity"] != "relapse" or e["value"] != "none" or not re.match(r"without\b", text[e["start"]:], re.I):
            continue
        before = [d for d in out if d["entity"] == "drug" and d["end"] <= e["start"]
                  and not re.search(r"[.;\n]", text[d["end"]:e["start"]]) and e["start"] - d["end"] <= 40]
        if not before or re.search(r"\b(?:still|currently|remains|now)\s+on\s+[^.;,]{0,30}$",
                                   text[max(0, e["start"] - 60):e["start"]], re.I):
            continue  # "still on DRd without progression": no relapse now
        drop.append(id(e))
        last = max(d["end"] for d in before)
        for d in before:
            if d["end"] == last and not d.get("role") and d["value"] != "dexamethasone":
                d["role"] = "exposed"
    return [e for e in out if id(e) not in drop]


# ---- renal impairment and the relapse (2026-12, clinical-spec section 5 and section 9) ------------------------
_RENAL_WORDS = re.compile(r"renal|kidney|creat|nephropath|\bs?Cr\b", re.I)
_CREATININE_VALUE = re.compile(r"(?:creat\w*|\bs?Cr)\D{0,25}?(\d{1,4}(?:\.\d{1,2})?)(?![\d.])", re.I)


_CHRONIC = re.compile(r"\b(?:baseline|hx|history|known|chronic|CKD|stable|diagnos\w*)\b", re.I)


def _around(text: str, start: int, end: int) -> str:
    """The clause of a span (between separators), where its time and cause are said."""
    a = max(text.rfind(ch, 0, start) for ch in ".;|\n") + 1
    ends = [i for i in (text.find(ch, end) for ch in ".;|\n") if i >= 0]
    return text[a:min(ends) if ends else len(text)]


def _crab_creatinine(text: str) -> bool:
    """A creatinine value at the CRAB level (IMWG: above 2 mg/dL or 177 umol/L)."""
    m = _CREATININE_VALUE.search(text)
    if not m:
        return False
    v = float(m.group(1))
    return v > 2.0 if v < 20 else v > 177


def renal_signs(text: str, out: List[dict]) -> List[dict]:
    """A message that names renal failure or a raised creatinine states renal impairment (the comorbidity, for
    the `renal_impairment` caution) whether or not the myeloma caused it: CRAB wording of the relapse ("new renal
    failure", "creatinine rising") gives the comorbidity on the same words, and a creatinine value at the CRAB
    level gives the clinical relapse sign. Negated or absent findings give nothing new."""
    added = []
    for e in out:
        same = [o for o in out if o["start"] == e["start"] and o["end"] == e["end"]]
        words = text[e["start"]:e["end"]]
        if (e["entity"] == "relapse" and e.get("_sign") and e.get("role") is None and e["value"] == "clinical"
                and _RENAL_WORDS.search(words) and not any(o["entity"] == "comorbidity" for o in same)):
            added.append({"entity": "comorbidity", "value": "renal_impairment", "start": e["start"], "end": e["end"]})
        elif (e["entity"] == "comorbidity" and e["value"] == "renal_impairment" and not e.get("role")
              and _crab_creatinine(words) and not any(o["entity"] == "relapse" for o in same)
              and not _CHRONIC.search(_around(text, e["start"], e["end"]))):
            added.append({"entity": "relapse", "value": "clinical", "_sign": True, "start": e["start"],
                          "end": e["end"]})
    return out + added
