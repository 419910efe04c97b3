"""Failure behaviour of the Rasa server, installed by the tracker store (bot/stores.py) when Rasa creates it.

Rasa 3.6, left alone, answers nothing when the action server is down (the action's events are dropped
and an error is logged), waits up to 5 minutes for a slow one, and answers nothing either when the
conversation cannot be read or saved. `install()` changes these things in this process:

* Rasa's telemetry and error reports to Rasa's servers are off unless RASA_TELEMETRY_ENABLED is set;
* log redaction: identifiers never reach a log line (bot/log_redaction.py);
* every call to the action server (`RemoteAction.run`) is bounded by RRMM_ACTION_TIMEOUT seconds
  (default 20); when it fails (refused, timed out, an error status, an invalid answer) the user gets
  ACTION_SERVER_TEXT once for that message, the failure is logged, and Rasa's own error handling then
  runs as before (the action's events are dropped; a later call in the same turn fails at once instead of
  waiting again). The next message goes to the action server again: when it is back, the conversation
  continues from the stored state;
* a storage failure while handling a message (tracker store read or save, lock store) is logged, the
  user gets STORAGE_TEXT, and the error is raised on to Rasa (which logs it too). Rasa's own
  FailSafeTrackerStore would instead carry on with an in-memory store (a failed read silently starts the
  conversation afresh, a failed save keeps the turn in one process only): that fallback is turned off.

The texts are sent straight to the channel (`OutputChannel.send_text_message`), so they reach the user
whatever happens to the action's events; they are not themselves stored in the tracker.
"""
from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import OrderedDict
from typing import Any, List, Optional, Text, Tuple

from rasa.shared.exceptions import RasaException

from .log_redaction import install_everywhere

logger = logging.getLogger(__name__)

__all__ = ["install", "ActionServerUnavailable", "ACTION_SERVER_TEXT", "STORAGE_TEXT", "action_timeout"]

ACTION_SERVER_TEXT = ("Sorry, the part of the assistant that reads cases and works out recommendations is not "
                      "answering right now, so I could not act on your last message. What you told me before "
                      "it is kept: please send that message again in a minute.")
STORAGE_TEXT = ("Sorry, I could not read or save this conversation just now (a storage error, logged for the "
                "administrators). My last answer may not be remembered: please send your message again in a "
                "minute.")
DEFAULT_ACTION_TIMEOUT = 20.0

_lock = threading.Lock()
_installed = False
# (conversation id, message id) of turns whose action-server call already failed, with the time it did.
_failed_turns: "OrderedDict[Tuple[Text, Optional[Text]], float]" = OrderedDict()
_FAILED_TURNS_MAX = 10000


class ActionServerUnavailable(RasaException):
    """A call to the action server failed; the user has been told."""


def action_timeout() -> float:
    raw = os.environ.get("RRMM_ACTION_TIMEOUT")
    try:
        value = float(raw) if raw else DEFAULT_ACTION_TIMEOUT
    except ValueError:
        logger.error("RRMM_ACTION_TIMEOUT=%r is not a number of seconds; using %g", raw, DEFAULT_ACTION_TIMEOUT)
        return DEFAULT_ACTION_TIMEOUT
    return value if value > 0 else DEFAULT_ACTION_TIMEOUT


def _turn(tracker: Any) -> Tuple[Text, Optional[Text]]:
    latest = getattr(tracker, "latest_message", None)
    return tracker.sender_id, getattr(latest, "message_id", None)


def _remember_failure(turn: Tuple[Text, Optional[Text]]) -> bool:
    """Records a failed turn; False when it had already failed (the user has been told)."""
    now = time.monotonic()
    with _lock:
        while _failed_turns and (len(_failed_turns) > _FAILED_TURNS_MAX
                                 or now - next(iter(_failed_turns.values())) > 600):
            _failed_turns.popitem(last=False)
        if turn in _failed_turns:
            return False
        _failed_turns[turn] = now
        return True


def _already_failed(turn: Tuple[Text, Optional[Text]]) -> bool:
    with _lock:
        return turn in _failed_turns


def _reason(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return f"no answer within {timeout:g} s"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


async def _tell(output_channel: Any, recipient_id: Text, text: Text) -> None:
    try:
        await output_channel.send_text_message(recipient_id, text)
    except Exception as exc:  # noqa: BLE001 - the channel itself failed: at least the log says so
        logger.error("could not send the failure message to conversation %s: %s", recipient_id, _reason(exc, 0))


def _install_action_guard() -> None:
    from rasa.core.actions.action import ActionExecutionRejection, RemoteAction

    original = RemoteAction.run

    async def run(self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> List[Any]:
        turn = _turn(tracker)
        if _already_failed(turn):
            raise ActionServerUnavailable(f"action server unavailable: '{self.name()}' skipped for this message")
        timeout = action_timeout()
        try:
            return await asyncio.wait_for(original(self, output_channel, nlg, tracker, domain), timeout)
        except ActionExecutionRejection:
            raise  # the action declined (a form that could not use the message): normal Rasa flow
        except Exception as exc:  # noqa: BLE001 - refused, timed out, 5xx, invalid response: the user is told
            reason = _reason(exc, timeout)
            if _remember_failure(turn):
                logger.error("action server: '%s' failed for conversation %s (%s); the user was told to resend",
                             self.name(), tracker.sender_id, reason)
                await _tell(output_channel, tracker.sender_id, ACTION_SERVER_TEXT)
            raise ActionServerUnavailable(f"action server: '{self.name()}' failed ({reason})") from exc

    run.__wrapped__ = original  # type: ignore[attr-defined]
    RemoteAction.run = run  # type: ignore[method-assign]


def _install_storage_guard() -> None:
    import sqlalchemy.exc
    from rasa.core.agent import Agent
    from rasa.core.lock_store import LockError

    from .stores import StorageError

    failures: tuple = (StorageError, LockError, sqlalchemy.exc.SQLAlchemyError)
    try:
        import redis.exceptions
        failures += (redis.exceptions.RedisError,)
    except ImportError:  # pragma: no cover - installed with rasa
        pass
    # Rasa wraps every tracker store in a FailSafeTrackerStore that, on an error, logs it and goes on with
    # an in-memory store: a failed read starts the conversation afresh, a failed save keeps the turn in
    # this process only. Both would lose data without telling anyone: the error is raised instead.
    from rasa.core.tracker_store import FailSafeTrackerStore

    def raise_error(self: FailSafeTrackerStore, error: Exception) -> None:
        raise error

    FailSafeTrackerStore.on_tracker_store_error = raise_error  # type: ignore[method-assign]
    FailSafeTrackerStore.on_tracker_store_retrieve_error = raise_error  # type: ignore[method-assign]

    original = Agent.handle_message

    async def handle_message(self: Agent, message: Any) -> Any:
        try:
            return await original(self, message)
        except failures as exc:
            logger.error("storage: conversation %s: %s: %s; the user was told", message.sender_id,
                         type(exc).__name__, str(exc).strip().splitlines()[0][:300] if str(exc).strip() else "")
            if message.output_channel is not None:
                await _tell(message.output_channel, message.sender_id, STORAGE_TEXT)
            raise

    handle_message.__wrapped__ = original  # type: ignore[attr-defined]
    Agent.handle_message = handle_message  # type: ignore[method-assign]


def _telemetry_off_unless_asked() -> None:
    """Rasa sends usage events and error reports (exception texts) to Rasa's servers unless told not to;
    this process keeps them off unless RASA_TELEMETRY_ENABLED=true is set explicitly."""
    if os.environ.get("RASA_TELEMETRY_ENABLED") is not None:
        return
    os.environ["RASA_TELEMETRY_ENABLED"] = "false"
    try:
        import sentry_sdk
        sentry_sdk.Hub.current.bind_client(None)
    except Exception:  # noqa: BLE001 - no error reporting installed: nothing to turn off
        pass
    logger.info("Rasa telemetry and error reporting are off (set RASA_TELEMETRY_ENABLED=true to allow them)")


def install() -> None:
    """Installs the behaviours above in this (Rasa server) process; idempotent."""
    global _installed
    install_everywhere()
    with _lock:
        if _installed:
            return
        _installed = True
    _telemetry_off_unless_asked()
    _install_action_guard()
    _install_storage_guard()
    logger.info("failure handling installed: action-server timeout %g s, clear messages on action-server and "
                "storage failures, identifiers redacted from logs", action_timeout())
