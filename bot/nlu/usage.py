"""Non-native English usage read as a colleague reads it: the preposition or verb form that the rules expect.

Clinicians writing in a second language keep the meaning and change the small words: "refractory with / on / at
/ for lenalidomide" (refractory to), "she progress under Kd", "was progress in 2023", "progressive on it"
(progressed), "progressed in course of DRd" (during). `usage_fixes(text)` gives the replacements (start, end, new
text) that `spelling.Speller` applies with the other corrections (offsets mapped back to the words as written), so
every rule reads the standard form. Only these forms are rewritten, each where it cannot mean anything else:
- after "refractory" / "refractoriness" / "resistant", the prepositions "with", "on", "at", "for", "of" become "to"
  (not before a number or a duration: "refractory for 2 years");
- the bare verb "progress" said of the disease ("she progress under Kd", "progress again on DRd", "was progress")
  becomes "progressed", never the noun ("good progress", "no progress", "progress of the disease");
- "progressive on / under / during / while on" becomes "progressed on ...";
- "in (the) course of" becomes "during";
- an adverb between a progression verb and its preposition is dropped ("progressed also under Kd");
- a preposition repeated in the list after a rewritten one ("refractory on DRd and on Kd") becomes "to".

Layer: may import the standard library only.
"""
from __future__ import annotations

import re
from typing import List, Tuple

PREPOSITION_RE = re.compile(
    r"(?i)\b(?:refractory|refractoriness|resistant|refr)\s+(?:(?:also|too|as\s+well)\s+)?(?P<p>with|on|at|for|of)\b"
    r"(?!\s+(?:\d|a\s+(?:year|month|week)|the\s+(?:last|past|first)|years?|months?|weeks?|more|over|about|"
    r"progression|disease|relapse|new|treatment\s+options?))")
# the bare verb: after its subject or an auxiliary, or before the word that says on what
PROGRESS_RE = re.compile(
    r"(?i)(?<!\bno\s)(?<!\bgood\s)(?<!\bsome\s)(?<!\blittle\s)(?<!\bany\s)(?<!\bmade\s)(?<!\bmaking\s)(?<!\bof\s)"
    r"(?<!\bin\s)(?<!\bwork\s)(?<!\bslow\s)(?<!\bthe\s)(?<!\ba\s)(?<!\bis\s)(?<!\bare\s)(?<!\bmore\s)"
    r"\b(?P<w>progress)\b(?=\s+(?:(?:also|again|now|still|then|already|further|clinically|biochemically)\s+)*"
    r"(?:on|under|during|while|in\s+(?:course|the\s+course)|after|with\s+new)\b)"
    r"|\b(?:he|she|they|it|disease|myeloma|patient|pt|was|has)\s+"
    r"(?:(?:also|again|now|still|then|already)\s+)*(?P<v>progress)\b(?!\s+(?:of|is|was|notes?|report)\b)")
PROGRESSIVE_RE = re.compile(r"(?i)\b(?P<w>progressive)(?=\s+(?:again\s+)?(?:on|under|during|while\s+on)\b)")
COURSE_RE = re.compile(r"(?i)\bin\s+(?:the\s+)?course\s+of\b")
# an adverb between the verb and its preposition ("progressed also under Kd", "progress again on DRd"): dropped
ADVERB_RE = re.compile(r"(?i)\b(?:progress(?:ed|ing)?|relapsed|relapsing)\s+"
                       r"(?P<a>(?:(?:also|again|now|still|then|already|further)\s+)+)(?P<p>under|on|during|while)\b")
# the preposition repeated in a list after a rewritten one ("refractory on DRd and on Kd")
AND_PREP_RE = re.compile(r"(?i)\b(?:and|or|,)\s+(?P<p>with|on|at|for)\b")


def usage_fixes(text: str) -> List[Tuple[int, int, str]]:
    fixes: List[Tuple[int, int, str]] = []
    for m in PREPOSITION_RE.finditer(text):
        fixes.append((m.start("p"), m.end("p"), "to"))
        clause = re.search(r"[.;\n]|\bbut\b", text[m.end():])
        end = m.end() + (clause.start() if clause else len(text) - m.end())
        for n in AND_PREP_RE.finditer(text, m.end(), end):
            fixes.append((n.start("p"), n.end("p"), "to"))
    for m in ADVERB_RE.finditer(text):
        fixes.append((m.start("a"), m.end("p"), m.group("p")))
    for m in PROGRESS_RE.finditer(text):
        g = "w" if m.group("w") else "v"
        fixes.append((m.start(g), m.end(g), "progressed"))
    for m in PROGRESSIVE_RE.finditer(text):
        fixes.append((m.start("w"), m.end("w"), "progressed"))
    for m in COURSE_RE.finditer(text):
        fixes.append((m.start(), m.end(), "during"))
    return sorted(fixes)
