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

The package, one job a module (this module only re-exports the public API):
    redaction   detect -> merge -> render: `redact`, `contains_identifier`, `redact_obj`, `Redaction`
    names       the person-name detector
    numbers     record numbers, phone numbers, dates of birth
    addresses   streets, postcodes, ZIP codes
    patterns    the regular expressions and the cheap pre-checks
    vocabulary  the word lists in `words/*.txt` (clinical, common, months, names ...), loaded and checked once
    logs        log redaction: `RedactingFilter`, `install_log_redaction`, the structlog processor

Layer: every module of `bot.privacy` may import the standard library and `bot.clinical` (its vocabulary is
never a name), and the modules of this package. Never rasa, rasa_sdk, sanic or spaCy.
"""
from __future__ import annotations

from .logs import RedactingFilter, install_log_redaction
from .redaction import PLACEHOLDERS, Redaction, contains_identifier, redact, redact_obj

__all__ = ["Redaction", "redact", "contains_identifier", "RedactingFilter", "redact_obj", "install_log_redaction",
           "PLACEHOLDERS"]
