"""Log redaction: identifiers never reach a log line (the one place that does it).

`RedactingFilter` redacts each record it sees; `FILTER` is the process-wide instance. `add_filter_everywhere()`
puts it on every handler that exists now, and `structlog_redactor` is a structlog processor that redacts the
values of structured events before they are rendered. Handlers added later and structlog's configuration are
covered by `bot.plugins.patches.install("logging")` (in the Rasa and action servers only: a test process or
the CLI keeps its logging untouched).

Imports: the standard library and `bot.privacy.redaction`. Never rasa, rasa_sdk, sanic or spaCy (structlog
is not imported either: `structlog_redactor` is a plain function that structlog calls).
"""
from __future__ import annotations

import logging
from typing import Any, Optional

from .redaction import redact, redact_obj

__all__ = ["RedactingFilter", "FILTER", "install_log_redaction", "add_filter_everywhere", "structlog_redactor"]


class RedactingFilter(logging.Filter):
    """Redacts every record it sees: the message, its arguments, exception and stack text.

    The message is formatted with its arguments first and the result redacted, so identifiers passed as
    arguments of any type (a name as str, an MRN as int) are caught, with the context of the whole
    message. Attach it to handlers (`install_log_redaction()`): a filter on a logger does not see records
    that propagate from its children.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string: redact the parts instead
            record.msg = redact_obj(record.msg) if isinstance(record.msg, str) else redact(str(record.msg)).text
            if isinstance(record.args, dict):
                record.args = {k: redact_obj(v) if isinstance(v, str) else v for k, v in record.args.items()}
            elif record.args:
                record.args = tuple(redact_obj(a) if isinstance(a, str) else a for a in record.args)
        else:
            record.msg, record.args = redact(message).text, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text).text
        if record.stack_info:
            record.stack_info = redact(record.stack_info).text
        return True


def install_log_redaction(logger: Optional[logging.Logger] = None) -> RedactingFilter:
    """Add one RedactingFilter to every handler of `logger` (default: the root logger); returns it."""
    logger = logger or logging.getLogger()
    flt = next((f for h in logger.handlers for f in h.filters if isinstance(f, RedactingFilter)), None) \
        or RedactingFilter()
    for handler in logger.handlers:
        if flt not in handler.filters:
            handler.addFilter(flt)
    return flt


FILTER = RedactingFilter()


def add_filter_everywhere() -> RedactingFilter:
    """FILTER on every handler of every logger that exists now (idempotent); returns it."""
    for lg in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        if isinstance(lg, logging.Logger):
            for handler in list(lg.handlers):
                if FILTER not in handler.filters:
                    handler.addFilter(FILTER)
    return FILTER


def _plain(value: Any) -> Any:
    """JSON-like form of a structlog value (Rasa events and trackers have as_dict / current_state)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    as_dict = getattr(value, "as_dict", None)
    if callable(as_dict):
        try:
            return _plain(as_dict())
        except Exception:  # noqa: BLE001 - an object whose as_dict fails is logged by its text form instead
            return str(value)
    return str(value)


def structlog_redactor(_logger: Any, _method: str, event_dict: dict) -> dict:
    return {k: redact_obj(_plain(v)) for k, v in event_dict.items()}
