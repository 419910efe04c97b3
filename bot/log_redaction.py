"""Redact patient identifiers from every log line a process writes (Rasa server, action server).

`install_everywhere()` puts one `bot.privacy.RedactingFilter` on every logging handler that exists, on
every handler added later (`logging.Logger.addHandler` is wrapped, which also covers
`logging.config.dictConfig`, used by Sanic), and adds a structlog processor that redacts the values of
structured events before they are rendered (Rasa 3.6 logs user text through structlog, rendered as JSON
with non-ASCII characters escaped, where a redacting filter on the rendered line could miss a name).

It is installed by the tracker store in the Rasa server (bot/stores.py) and by `actions/log_redaction.py`
in the action server (rasa_sdk imports every module of the actions package). Not at import time of
`bot`, so that a test process or the CLI keeps its logging untouched.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from .privacy import RedactingFilter, redact_obj

__all__ = ["install_everywhere", "FILTER"]

FILTER = RedactingFilter()
_lock = threading.Lock()
_installed = False


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
        except Exception:  # noqa: BLE001 - fall back to the text form below
            pass
    return str(value)


def _structlog_redactor(_logger: Any, _method: str, event_dict: dict) -> dict:
    return {k: redact_obj(_plain(v)) for k, v in event_dict.items()}


def _add_to_handlers(logger: logging.Logger) -> None:
    for handler in list(getattr(logger, "handlers", ())):
        if FILTER not in handler.filters:
            handler.addFilter(FILTER)


def _install_structlog() -> None:
    try:
        import structlog
    except ImportError:  # pragma: no cover - rasa and rasa_sdk both depend on it
        return
    processors = structlog.get_config()["processors"]
    if _structlog_redactor in processors:
        return
    if isinstance(processors, list):
        # In place: bound loggers (cached on first use) share this list object.
        processors.insert(0, _structlog_redactor)
    else:  # pragma: no cover - a tuple configured by someone else
        structlog.configure(processors=[_structlog_redactor, *processors])


def install_everywhere() -> RedactingFilter:
    """Redact identifiers in all log output of this process from now on; idempotent. Returns the filter."""
    global _installed
    with _lock:
        _add_to_handlers(logging.getLogger())
        for logger in list(logging.Logger.manager.loggerDict.values()):
            if isinstance(logger, logging.Logger):
                _add_to_handlers(logger)
        if not _installed:
            original = logging.Logger.addHandler

            def addHandler(self: logging.Logger, hdlr: logging.Handler) -> None:  # noqa: N802 - logging's name
                if FILTER not in hdlr.filters:
                    hdlr.addFilter(FILTER)
                original(self, hdlr)

            addHandler.__wrapped__ = original  # type: ignore[attr-defined]
            logging.Logger.addHandler = addHandler  # type: ignore[method-assign]
            _installed = True
        _install_structlog()
    return FILTER
