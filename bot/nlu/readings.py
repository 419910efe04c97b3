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


_PAST_STOP = re.compile(r"\b(?:stopped|stopping|discontinued|completed|finished|ceased|held|came\s+off|"
                        r"taken\s+off|stop(?:ped)?\s+for|(?:because\s+of|due\s+to|for)\s+(?:toxicity|intolerance))\b",
                        re.I)


def _bracket_or_clause(text: str, e: dict) -> str:
    """The brackets a span is in ("(stopped for HTN, no progression)"), else the words of its clause before it."""
    opened, closed = text.rfind("(", 0, e["start"]), text.rfind(")", 0, e["start"])
    if opened > closed and e["start"] - opened <= 60:
        end = text.find(")", e["end"])
        before = re.split(r"[.;,\n]|->|→", text[max(0, opened - 50):opened])[-1]
        return before + text[opened:end if end >= 0 else e["end"]]
    return re.split(r"[.;,\n]|->|→", text[max(0, e["start"] - 50):e["start"]])[-1]


def given_without_progression(text: str, out: List[dict]) -> List[dict]:
    """'VRd given without progression', 'VCd before that, without PD': said of a regimen, "without progression" is
    no relapse type of the case but the regimen given without progression (exposed)."""
    drop = []
    for e in out:
        if e["entity"] == "relapse" and e["value"] == "none" and _PAST_STOP.search(_bracket_or_clause(text, e)) \
                and re.match(r"(?:no|without)\b", text[e["start"]:], re.I):
            drop.append(id(e))  # "stopped for pneumonias (no PD)": how a past regimen ended, not the relapse now
            continue
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
_CREATININE_VALUE = re.compile(r"(?:creat\w*|\bs?Cr)\D{0,25}?(\d{1,4}(?:\.\d{1,2})?)(?!\d|\.\d)", re.I)


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


# ---- a regimen written out as its drugs ("daratumumab lenalidomide dexamethasone", "Dara-Carfilzomib-Dex") -------
_GLUE = re.compile(r"^[ \t]*(?:[-+/&]|\band\b|\bwith\b|\bplus\b)?[ \t]*\Z", re.I)
_STATUS_AFTER = re.compile(r"^\s*[-\s]?(?:exp\w*|naive|na[iï]ve|sensitive|not\s+refr\w*|unavailable|not\s+available)\b",
                           re.I)


def written_regimens(text: str, out: List[dict]) -> List[dict]:
    """The drugs of one regimen written out one after the other, joined only by spaces, hyphens, "+", "/" or
    "and" ("daratumumab lenalidomide dexamethasone since 2021, progressing on it", "Dara-Carfilzomib-Dex,
    progression under therapy") were given together: progression on that regimen (a member read refractory while
    the others are read exposed or without a status) makes every non-steroid drug of it refractory (IMWG:
    progression on therapy). A status written right after one of them ("len+dara refractory, bort exposed") keeps
    its own reading."""
    drugs = sorted((e for e in out if e["entity"] == "drug"), key=lambda e: (e["start"], e["end"]))
    groups: List[List[dict]] = []
    for d in drugs:
        last = groups[-1] if groups else None
        if last and (d["start"], d["end"]) == (last[-1]["start"], last[-1]["end"]):
            last.append(d)  # the drugs of one regimen name share its span
        elif last and d["start"] >= last[-1]["end"] and _GLUE.match(text[last[-1]["end"]:d["start"]]):
            last.append(d)
        else:
            groups.append([d])
    for group in groups:
        members = [d for d in group if d["value"] != "dexamethasone"]
        spans = {(d["start"], d["end"]) for d in members}
        if len(spans) < 2 or not any(d.get("role") == "refractory" for d in members):
            continue
        if any(d.get("role") not in (None, "exposed", "refractory") for d in group):
            continue
        if any(_STATUS_AFTER.match(text[d["end"]:d["end"] + 25]) for d in members):
            continue
        for d in members:
            d["role"] = "refractory"
    return out


# ---- a paraprotein rise told as numbers ("M-spike went 0.6 -> 1.8", "paraprotein from 12 to 24 g/L") -----------
_PROTEIN = (r"(?:paraprotein|M[\s-]?protein|M[\s-]?spike|monoclonal\s+protein|(?:(?:free|kappa|lambda|involved)\s+)*"
            r"light[\s-]chains?|(?:(?:kappa|lambda|involved|serum)\s+)*s?FLCs?|Ig[AGM](?:\s+(?:kappa|lambda))?)")
_NUMBER = r"(\d+(?:\.\d+)?)(?:\s*(?:mg/L|g/L|g/dL|mg/dL|mg/dl|g/dl))?(?:\s*\((?:\d{1,2}/)?(?:19|20)?\d\d\))?"
_MIDDLE = _NUMBER.replace("(\\d", "(?:\\d", 1)  # a value between the first and the last ("0.3 to 0.7 to 1.4")
_RISE_NUMBERS = re.compile(
    rf"\b{_PROTEIN}\s+(?:(?:has|have|had|is|was)\s+)?(?:(?:now|gone|went|risen|rose|increased|climbed|up)\s+)*"
    rf"(?:from\s+)?{_NUMBER}\s*(?:->|→|=>|\bto\b)\s*(?:{_MIDDLE}\s*(?:->|→|=>|\bto\b)\s*)*{_NUMBER}", re.I)


def paraprotein_numbers(text: str, out: List[dict]) -> List[dict]:
    """A paraprotein, M-spike or light chain level told as two numbers is a rise when the second is higher (a
    biochemical relapse sign, never replacing a stated type or CRAB wording) and no rise when it is lower."""
    taken = [(e["start"], e["end"]) for e in out if e["entity"] == "relapse"]
    for m in _RISE_NUMBERS.finditer(text):
        a, b = float(m.group(1)), float(m.group(2))
        over = [e for e in out if e["entity"] == "relapse" and e.get("_sign") and e["value"] == "biochemical"
                and e["start"] < m.end() and m.start() < e["end"]]
        if b <= a:
            out = [e for e in out if all(e is not o for o in over)]  # "M-spike 2.1 -> 0.4": a response
        elif not over and all(m.end() <= s or m.start() >= t for s, t in taken):
            out.append({"entity": "relapse", "value": "biochemical", "_sign": True, "start": m.start(), "end": m.end()})
    return out


# ---- a CAR-T given once: a relapse after it is no progression on therapy -----------------------------------------
ONE_TIME = {"ide-cel", "cilta-cel"}
_NO_RESPONSE = re.compile(r"refr|resist|no\s+response|not\s+respond|never\s+respond|primary|non[\s-]?respon", re.I)


def one_time_therapies(text: str, out: List[dict]) -> List[dict]:
    """A CAR-T is one infusion, not a therapy the disease can progress on while it is given: a relapse after it
    ("cilta-cel 2022 -> sCR -> relapse 26 mo later") leaves it exposed; it is refractory only when the words say so
    ("refractory to ide-cel", "no response to cilta-cel")."""
    for e in out:
        if e["entity"] == "drug" and e["value"] in ONE_TIME and e.get("role") == "refractory":
            line_start = max(text.rfind(ch, 0, e["start"]) for ch in ".;\n") + 1
            around = text[max(line_start, e["start"] - 80):e["start"]] + " " + text[e["end"]:e["end"] + 30]
            if not _NO_RESPONSE.search(around):
                e["role"] = "exposed"
    return out


# ---- a regimen glossed by its drugs in brackets ("KCd (carfilzomib, cyclophosphamide, dex)") ------------------------
_GLOSS_WORDS = re.compile(r"^[\s,/+&-]*(?:(?:and|with|plus|attenuated|low[\s-]dose|weekly|prednis\w*|pred|"
                          r"dex\w*|steroids?)[\s,/+&-]*)*$", re.I)


def glossed_regimens(text: str, out: List[dict]) -> List[dict]:
    """A regimen name followed by its drugs in brackets ("MPB (melphalan, prednisolone, bortezomib)", "PCd
    (pom/cyclo/dex)") names one regimen twice: a status read on the name or on the drugs is the status of all of
    them (refractory over exposed)."""
    drugs = [e for e in out if e["entity"] == "drug" and e["value"] != "dexamethasone"]
    for name in sorted({(e["start"], e["end"]) for e in drugs}):
        m = re.match(r"\s*\(", text[name[1]:])
        close = text.find(")", name[1])
        if not m or close < 0 or "(" in text[name[1] + m.end():close]:
            continue
        inside = [e for e in drugs if name[1] + m.end() <= e["start"] and e["end"] <= close]
        spans = sorted({(e["start"], e["end"]) for e in inside})
        if len(spans) < 2:
            continue
        cuts = [name[1] + m.end()] + [x for s in spans for x in s] + [close]
        if not all(_GLOSS_WORDS.match(text[a:b]) for a, b in zip(cuts[::2], cuts[1::2], strict=True)):
            continue  # the brackets say more than the drugs ("KRd (PD on len)")
        group = [e for e in drugs if (e["start"], e["end"]) == name] + inside
        roles = {e.get("role") for e in group}
        if roles - {None, "exposed", "refractory"}:
            continue
        role = "refractory" if "refractory" in roles else "exposed" if "exposed" in roles else None
        for e in group:
            if role:
                e["role"] = role
    return out


# ---- lenalidomide maintenance named with no progression on it ----------------------------------------------------
_NO_PROGRESSION_YET = re.compile(
    r"\?\s*(?:relapse|progression|PD)\b|\bnot\s+(?:sure|certain|clear)\b[^.;\n]{0,50}\b(?:progress|relaps)|"
    r"\b(?:restaging|work[\s-]?up|results)\b[^.;\n]{0,30}\b(?:pending|in\s+progress|to\s+be\s+completed|awaited)|"
    r"\boff\s+(?:len(?:alidomide)?\s+)?maint\w*", re.I)


_PROGRESSED_ON_MAINT = re.compile(
    r"\b(?:progress\w*|relaps\w*|PD|prog)\b[^.;\n]{0,40}\b(?:maint\w*|len(?:alidomide)?|R|revlimid)\b|"
    r"\bmaint\w*[^.;\n]{0,40}\b(?:progress\w*|relaps\w*|PD)\b", re.I)


def maintenance_not_progressed(text: str, out: List[dict]) -> List[dict]:
    """'len maint, still on maint, MRD neg, no relapse', '... lenalidomide maintenance, still taking it. ?relapse -
    restaging pending', 'off maintenance since 08/2024': a maintenance named with no progression said of it, in a
    message that says there is no relapse now, leaves it open, or that it was stopped, is no progression on
    maintenance (the flag goes; lenalidomide stays exposed)."""
    flags = [e for e in out if e["entity"] == "lenalidomide_maintenance_only" and e.get("_prog") is False]
    if not flags:
        return out
    said = re.sub(r"\b(?:no|not|without|never)\s+(?:\w+\s+){0,2}?(?:progress\w*|relaps\w*|PD)\b", " ", text, flags=re.I)
    if _PROGRESSED_ON_MAINT.search(said):
        return out  # "progression 09/2026 on maintenance - restaging pending": progressed on it
    none_now = any(e["entity"] == "relapse" and e["value"] == "none" and not e.get("role") for e in out)
    if none_now or _NO_PROGRESSION_YET.search(text):
        return [e for e in out if all(e is not f for f in flags)]
    return out


# ---- progression asked about, not told ("to review whether the disease is progressing on DPd") --------------------
_ASKED_PROGRESSION = re.compile(r"\b(?:whether|if|query|possible|possibly|suspected|\?)\s*(?:\w+\s+){0,4}?"
                                r"(?:progress\w*|relaps\w*|PD|failing)\s+(?:\w+\s+){0,2}$", re.I)


def asked_progression(text: str, out: List[dict]) -> List[dict]:
    """A progression asked about or suspected ("whether the disease is progressing on DPd", "?progressing on KRd") is
    no progression on the regimen: it was given (exposed)."""
    for e in out:
        if e["entity"] == "drug" and e.get("role") == "refractory":
            sentence = re.split(r"[.;\n]", text[max(0, e["start"] - 80):e["start"]])[-1]
            if _ASKED_PROGRESSION.search(sentence):
                e["role"] = "exposed"
    return out
