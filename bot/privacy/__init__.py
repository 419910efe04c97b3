"""Find and redact patient identifiers in free text before it is echoed, logged or stored.

`redact(text)` returns a `Redaction`: the text with each identifier replaced by a placeholder, and where
the identifiers were (kind, start, end) in the original text. The identifier strings themselves are not
kept anywhere. `contains_identifier(text)` is the yes/no form; `RedactingFilter` redacts log records and
`redact_obj` walks JSON-like values (events before they are stored).

Kinds and placeholders:
    person_name [NAME], record_number [MRN], date_of_birth [DOB], phone [PHONE], email [EMAIL],
    address [ADDRESS].

No pretrained model: regular expressions plus context. Person names are found by context (a title such
as Mr/Dr, "name is", "patient ...", "Jane Doe, 68F", "Smith's") and by a hand-typed list of common given
names and surnames (`words/names.txt`) applied to capitalised words only; the clinical vocabulary
(knowledge-base aliases of drugs, regimens and trials, months, medical abbreviations and eponyms) is never
taken for a name. Clinical facts (ages such as 68M, lab values, cytogenetics, durations, treatment dates,
regimen and trial names) are left as they are.

Known limits (heuristics, not a guarantee): a lone unlisted surname with no context ("saw Mthembu today"),
names written entirely in lower case without context, cities and hospitals other than in a street address,
identifiers spelt out ("john at gmail dot com") or split across messages are missed; an unknown capitalised
word right after "patient"/"re:"/"Dear" may be taken for a name; a compact 7+ digit number (e.g. a date
written 20230401) is taken for a record number.

Layer: may import the standard library and `bot.clinical` (its vocabulary is never a name). Never rasa,
rasa_sdk or sanic. Log redaction lives here too (`bot.privacy.logs`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, FrozenSet, List, Tuple

from .addresses import find_addresses
from .names import find_names
from .numbers import find_bare_numbers, find_dobs, find_phones, find_records
from .patterns import DOB_WORDS, EMAIL_RE, NUMBERISH_RE, PROTECTED_RE, RECORD_WORDS, WORD_RE

__all__ = ["Redaction", "redact", "contains_identifier", "RedactingFilter", "redact_obj", "install_log_redaction",
           "PLACEHOLDERS"]

PLACEHOLDERS = {
    "person_name": "[NAME]",
    "record_number": "[MRN]",
    "date_of_birth": "[DOB]",
    "phone": "[PHONE]",
    "email": "[EMAIL]",
    "address": "[ADDRESS]",
}


@dataclass(frozen=True)
class Redaction:
    """`text` with identifiers replaced; `found` = ((kind, start, end), ...) in the original text."""

    text: str
    found: Tuple[Tuple[str, int, int], ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.found)

    @property
    def kinds(self) -> FrozenSet[str]:
        return frozenset(k for k, _, _ in self.found)


# =====================================================================================================
# Redaction
# =====================================================================================================
def _detect(text: str) -> List[Tuple[int, int, str, int]]:
    spans: List[Tuple[int, int, str, int]] = []
    low = text.lower()
    words = set(WORD_RE.findall(low))
    if "@" in text:
        for m in EMAIL_RE.finditer(text):
            spans.append((m.start(), m.end(), "email", 0))
    if not DOB_WORDS.isdisjoint(words):
        find_dobs(text, spans)
    if not RECORD_WORDS.isdisjoint(words):
        find_records(text, spans)
    numberish = NUMBERISH_RE.search(text) is not None
    if numberish:
        find_bare_numbers(text, spans)
        find_phones(text, spans)
    find_addresses(text, low, words, numberish, spans)
    find_names(text, words, spans)
    if spans:
        protected = [(m.start(), m.end()) for m in PROTECTED_RE.finditer(text)]
        if protected:
            spans = [s for s in spans if not any(s[0] < pe and ps < s[1] for ps, pe in protected)]
    return spans


def _merge(spans) -> List[Tuple[int, int, str]]:
    """Overlapping or touching-inside spans become one; its kind is that of the longest (then by priority)."""
    out: List[List[Any]] = []
    for s, e, kind, prio in sorted(spans, key=lambda x: (x[0], -x[1], x[3])):
        if s >= e:
            continue
        if out and s < out[-1][1]:
            cur = out[-1]
            if (e - s, -prio) > (cur[4], -cur[3]):
                cur[2], cur[3], cur[4] = kind, prio, e - s
            cur[1] = max(cur[1], e)
        else:
            out.append([s, e, kind, prio, e - s])
    return [(s, e, k) for s, e, k, _, _ in out]


def _render(text: str, spans: List[Tuple[int, int, str]]):
    parts, segs, pos, out_len = [], [], 0, 0
    for s, e, kind in spans:
        if pos < s:
            parts.append(text[pos:s])
            segs.append((out_len, out_len + s - pos, pos, s, False))
            out_len += s - pos
        ph = PLACEHOLDERS[kind]
        parts.append(ph)
        segs.append((out_len, out_len + len(ph), s, e, True))
        out_len += len(ph)
        pos = e
    if pos < len(text):
        parts.append(text[pos:])
        segs.append((out_len, out_len + len(text) - pos, pos, len(text), False))
    return "".join(parts), segs


def _to_original(segs, s: int, e: int) -> Tuple[int, int]:
    os_ = oe = None
    for out_s, out_e, orig_s, orig_e, placeholder in segs:
        if os_ is None and out_s <= s < out_e:
            os_ = orig_s if placeholder else orig_s + (s - out_s)
        if out_s < e <= out_e:
            oe = orig_e if placeholder else orig_s + (e - out_s)
            break
    return (os_ if os_ is not None else 0), (oe if oe is not None else segs[-1][3])


def redact(text: str) -> Redaction:
    """Replace every identifier found in `text` by its placeholder (see PLACEHOLDERS)."""
    if not isinstance(text, str):
        raise TypeError(f"redact() needs a str, not {type(text).__name__}")
    if not text:
        return Redaction(text, ())
    raw = _detect(text)
    if not raw:
        return Redaction(text, ())
    spans = _merge(raw)
    out, segs = _render(text, spans)
    # The result must itself be clean (idempotence): look again, and fold anything new back into the
    # original spans. Converges in one or two rounds; bounded for safety.
    for _ in range(4):
        again = _detect(out)
        if not again:
            break
        extra = []
        for s, e, kind, prio in again:
            os_, oe = _to_original(segs, s, e)
            extra.append((os_, oe, kind, prio))
        spans = _merge([(s, e, k, _prio(k)) for s, e, k in spans] + extra)
        out, segs = _render(text, spans)
    return Redaction(out, tuple((k, s, e) for s, e, k in spans))


def _prio(kind: str) -> int:
    return {"email": 0, "record_number": 1, "date_of_birth": 2, "phone": 4, "address": 5, "person_name": 6}[kind]


def contains_identifier(text: str) -> bool:
    """True when `text` holds anything `redact` would replace."""
    return isinstance(text, str) and bool(text) and bool(_detect(text))


# =====================================================================================================
# Logs and stored events
# =====================================================================================================
def redact_obj(obj: Any) -> Any:
    """A copy of a JSON-like value with every string redacted (dict values, list/tuple/set items).

    Dict keys are kept as they are (they are field names). Other values (numbers, None, ...) pass through.
    """
    if isinstance(obj, str):
        return redact(obj).text
    if isinstance(obj, dict):
        return {k: redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [redact_obj(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(redact_obj(v) for v in obj)
    if isinstance(obj, (set, frozenset)):
        return type(obj)(redact_obj(v) for v in obj)
    return obj


from .logs import RedactingFilter, install_log_redaction  # noqa: E402  (re-exported)
