"""Redaction: run the detectors, merge their spans, render placeholders; and the yes/no and JSON forms.

`redact(text)` -> `Redaction(text, found)`: each detector (e-mail here; `numbers`, `addresses`, `names`)
runs only when cheap pre-checks say the message may hold what it looks for, spans inside protected facts
are dropped, overlapping spans merge (the longest kind wins, then the higher priority), and the result is
checked again until it is clean itself (idempotence). `contains_identifier` is the yes/no form and
`redact_obj` walks JSON-like values (events before they are stored).

Imports: the standard library and the modules of `bot.privacy`. Never rasa, rasa_sdk, sanic or spaCy.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, FrozenSet, List, Tuple

from .addresses import find_addresses
from .names import find_names
from .numbers import find_bare_numbers, find_dobs, find_phones, find_records
from .patterns import DOB_WORDS, EMAIL_RE, NUMBERISH_RE, PROTECTED_RE, RECORD_WORDS, WORD_RE

PLACEHOLDERS = {
    "person_name": "[NAME]",
    "record_number": "[MRN]",
    "date_of_birth": "[DOB]",
    "phone": "[PHONE]",
    "email": "[EMAIL]",
    "address": "[ADDRESS]",
}
# Of two overlapping spans of the same length, the kind with the lower number wins.
PRIORITY = {"email": 0, "record_number": 1, "date_of_birth": 2, "phone": 4, "address": 5, "person_name": 6}


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


def _detect(text: str) -> List[Tuple[int, int, str, int]]:
    """Every (start, end, kind, priority) span a detector finds, before merging; none inside a protected
    span (trial ids, citations, eponyms, institutions)."""
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
    """The text with each span replaced by its placeholder, and the segments (out_start, out_end,
    orig_start, orig_end, is_placeholder) that map the result back to the original."""
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
    """The span of the original text that rendered as [s, e) of the result."""
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
        spans = _merge([(s, e, k, PRIORITY[k]) for s, e, k in spans] + extra)
        out, segs = _render(text, spans)
    return Redaction(out, tuple((k, s, e) for s, e, k in spans))


def contains_identifier(text: str) -> bool:
    """True when `text` holds anything `redact` would replace."""
    return isinstance(text, str) and bool(text) and bool(_detect(text))


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
