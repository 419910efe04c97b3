"""Every change this project makes to third-party code (Rasa, medspacy, logging), in one place.

`install()` applies the patches of `PATCHES`, one line per patched attribute with the reason. Nothing
else in the project assigns to an attribute of another library. Where they are installed:

* the Rasa server: the tracker store (`bot.plugins.stores`) and the NLU components
  (`bot.plugins.components`) call `install()` when Rasa creates them; the channels of credentials.yml
  (`bot.plugins.channels`) call `install("api")` earlier, before Rasa builds its HTTP API, so that
  `rasa.server.create_app` is patched in time;
* the action server: `actions/__main__.py` calls `install("logging")`;
* processes that use the NLU extractor without Rasa (tests, `tools/evaluate.py`, benchmarks):
  `install("medspacy")`; `bot.nlu` refuses to build its pipeline without it (a clear error).

Each patch is idempotent and keeps the original as `__wrapped__`. The failure behaviour (clear messages
when the action server or storage fails) is described in docs/deploy.md.
"""
from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Text, Tuple

from bot.privacy.logs import FILTER, add_filter_everywhere, structlog_redactor

from . import action_runner, console, inbound, timing, tokens
from .errors import ActionServerUnavailable, ConfigError, StorageError

logger = logging.getLogger(__name__)

__all__ = ["install", "installed", "PATCHES", "GROUPS", "ACTION_SERVER_TEXT", "STORAGE_TEXT", "TURN_FAILED_TEXT",
           "action_timeout", "api_auth", "ActionServerUnavailable"]

GROUPS = ("rasa", "api", "logging", "medspacy", "timing", "sdk-timing")
# `install()` without arguments: everything a Rasa server needs; the timing groups only when RRMM_TIMING_LOG is set.
DEFAULT_GROUPS = ("rasa", "api", "logging", "medspacy")
ACTION_SERVER_TEXT = ("Sorry, the part of the assistant that reads cases and works out recommendations is not "
                      "answering right now, so I could not act on your last message. What you told me before "
                      "it is kept: please send that message again in a minute.")
STORAGE_TEXT = ("Sorry, I could not read or save this conversation just now (a storage error, logged for the "
                "administrators). My last answer may not be remembered: please send your message again in a "
                "minute.")
TURN_FAILED_TEXT = ("Sorry, something went wrong while I was working on your last message (the error is logged for "
                    "the administrators). Please send it again; if it fails again, rephrase it, or type \"new case\" "
                    "to start afresh.")
DEFAULT_ACTION_TIMEOUT = 20.0
_VALIDATION_HINT = (". Failed to validate Action server response from API, make sure your response from the "
                    "Action endpoint is valid. For more information about the format visit "
                    "https://rasa.com/docs/rasa/custom-actions")


# =====================================================================================================
# Rasa: action server calls
# =====================================================================================================
def action_timeout() -> float:
    raw = os.environ.get("RRMM_ACTION_TIMEOUT")
    try:
        value = float(raw) if raw else DEFAULT_ACTION_TIMEOUT
    except ValueError:
        logger.error("RRMM_ACTION_TIMEOUT=%r is not a number of seconds; using %g", raw, DEFAULT_ACTION_TIMEOUT)
        return DEFAULT_ACTION_TIMEOUT
    return value if value > 0 else DEFAULT_ACTION_TIMEOUT


_lock = threading.Lock()
# (conversation id, message id) of turns whose action-server call already failed, with the time it did.
_failed_turns: "OrderedDict[Tuple[Text, Optional[Text]], float]" = OrderedDict()
_FAILED_TURNS_MAX = 10000


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


def _resolve_event_type(original: Callable) -> Callable:
    """Rasa finds an event's class by walking every subclass of Event, recursively, for each event it reads
    (about 75 us an event, profiled: half the time of reading a conversation from the tracker store, and part of
    every action-server reply): remember the class found for each type name. A name not found still goes Rasa's
    way (its default or its error)."""
    found: Dict[str, Any] = {}

    def resolve_by_type(type_name: Text, default: Any = None) -> Any:
        cls = found.get(type_name)
        if cls is None:
            cls = original(type_name, default)
            if cls is not None and cls is not default and getattr(cls, "type_name", None) == type_name:
                found[type_name] = cls
        return cls

    return resolve_by_type


def _validate_action_result(original: Callable) -> Callable:
    """Rasa re-checks the large events schema against the JSON meta-schema and builds a new validator
    for every action-server response (15-20 ms per custom action, profiled): build it once, validate the
    same way."""
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for

    compiled: Dict[str, Any] = {}

    def _validate(self: Any, result: Dict[Text, Any]) -> bool:
        validator = compiled.get("v")
        if validator is None:
            schema = self.action_response_format_spec()
            cls = validator_for(schema)
            cls.check_schema(schema)
            validator = compiled["v"] = cls(schema)
        error = best_match(validator.iter_errors(result))
        if error is not None:
            error.message += _VALIDATION_HINT
            raise error
        return True

    return _validate


def _actions_in_process(original: Callable) -> Callable:
    """Rasa OSS 3.6 sends every custom action over HTTP to a separate action server (two round trips per case
    message, about 90% of their time Rasa's serialisation and HTTP, profiled; two processes and a token to manage).
    As Rasa Pro's `actions_module`: without RRMM_ACTION_URL or an action endpoint in the endpoints file, the actions
    run in the Rasa process through rasa_sdk's ActionExecutor, with the same documents and Rasa's own handling of
    the answer (bot.plugins.action_runner); RRMM_ACTION_URL sends them to action servers (scale-out)."""
    async def run(self: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> List[Any]:
        url = action_runner.action_url()
        if url:
            self.action_endpoint = action_runner.remote_endpoint(url)
        elif not (self.action_endpoint and self.action_endpoint.url):
            return await action_runner.run_in_process(self, output_channel, nlg, tracker, domain)
        return await original(self, output_channel, nlg, tracker, domain)

    return run


def _remote_action_run(original: Callable) -> Callable:
    """Every call to the action server is bounded by RRMM_ACTION_TIMEOUT (default 20 s; Rasa waits up to
    5 minutes); when it fails the user is told once per message (Rasa would answer nothing), the failure
    is logged and Rasa's own error handling runs as before. A later call of the same turn fails at once."""
    from rasa.core.actions.action import ActionExecutionRejection

    async def run(self: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> List[Any]:
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

    return run


# =====================================================================================================
# Rasa: storage
# =====================================================================================================
def _raise_error(original: Callable) -> Callable:
    """Rasa wraps every tracker store in a FailSafeTrackerStore that, on an error, goes on with an
    in-memory store: a failed read silently starts the conversation afresh, a failed save keeps the turn
    in one process only. Both lose data without telling anyone: raise instead."""
    def raise_error(self: Any, error: Exception) -> None:
        raise error
    return raise_error


def _storage_failures() -> tuple:
    import sqlalchemy.exc
    from rasa.core.lock_store import LockError

    failures: tuple = (StorageError, LockError, sqlalchemy.exc.SQLAlchemyError)
    try:
        import redis.exceptions
        failures += (redis.exceptions.RedisError,)
    except ImportError:  # redis is installed with rasa; without it there is no Redis lock store either
        logger.debug("redis is not importable: Redis errors are not watched")
    return failures


def _handle_message(original: Callable) -> Callable:
    """Every message that reaches the agent, from any channel (the terminal too): its text is cleaned
    (control characters, lone surrogates: bot.plugins.inbound), and a text over RRMM_MAX_MESSAGE_CHARS is
    answered with the limit instead of processed. A failure inside the turn is logged and answered: a storage
    failure (tracker store read or save, lock store) with STORAGE_TEXT, anything else (the NLU, a bug) with
    TURN_FAILED_TEXT. Rasa would log the error and answer nothing (`[]` on REST)."""
    failures = _storage_failures()

    async def handle_message(self: Any, message: Any) -> Any:
        inbound.stamp(message)  # bot.audit.provenance: only stamped turns are audited
        if isinstance(message.text, str):
            limit = inbound.max_message_chars()
            checked = inbound.check_text(message.text, limit)
            if isinstance(checked, inbound.Refusal) and checked.code == "message_too_long":
                logger.warning("conversation %s: message not processed: %s", message.sender_id, checked.reason)
                if message.output_channel is not None:
                    await _tell(message.output_channel, message.sender_id, checked.text)
                return None
            message.text = checked if isinstance(checked, str) else ""
        try:
            return await original(self, message)
        except failures as exc:
            first = str(exc).strip().splitlines()
            logger.error("storage: conversation %s: %s: %s; the user was told", message.sender_id,
                         type(exc).__name__, first[0][:300] if first else "")
            text = STORAGE_TEXT
        except Exception:  # noqa: BLE001 - any other failure of the turn: logged with its traceback, user told
            logger.exception("conversation %s: the turn failed; the user was told to send the message again",
                             message.sender_id)
            text = TURN_FAILED_TEXT
        if message.output_channel is not None:
            await _tell(message.output_channel, message.sender_id, text)
        return None

    return handle_message


# =====================================================================================================
# Rasa: the HTTP API is never served without authentication
# =====================================================================================================
def api_auth(env: Any = os.environ) -> Dict[str, Any]:
    """The HTTP API's authentication settings from the environment: `auth_token` (RRMM_API_TOKEN or the
    per-install file), and `jwt_secret` / `jwt_method` when RRMM_JWT_SECRET is set. Raises ConfigError."""
    try:
        token, created = tokens.token("api", env)
    except tokens.TokenError as exc:
        raise ConfigError(str(exc)) from None
    if created:
        logger.warning("HTTP API: created the per-install token file %s (mode 0600): programs send the token as "
                       "?token=... (HTTP API) or Authorization: Bearer ... (REST channel); docs/security.md", created)
    settings: Dict[str, Any] = {"auth_token": token}
    secret = (env.get("RRMM_JWT_SECRET") or "").strip()
    if secret:
        if len(secret) < tokens.MIN_CHARS:
            raise ConfigError(f"RRMM_JWT_SECRET must be at least {tokens.MIN_CHARS} characters")
        method = (env.get("RRMM_JWT_METHOD") or "HS256").strip()
        if method not in ("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512"):
            raise ConfigError(f"RRMM_JWT_METHOD must be a JWT algorithm such as HS256 or RS256, not {method[:20]!r}")
        settings.update(jwt_secret=secret, jwt_method=method)
    return settings


def _create_app(original: Callable) -> Callable:
    """`rasa run --enable-api` serves the conversations and the model to anyone who can reach the port when
    no --auth-token or --jwt-secret is given: the API always gets a token here, from RRMM_API_TOKEN or the
    per-install token file (the environment, not the command line, where every local user could read it),
    and Rasa's JWT option besides it when RRMM_JWT_SECRET is set (api_auth). Its JSON routes also get the
    body check of _api_body_check (Rasa answers 500 to a list where it expects an object)."""
    signature = inspect.signature(original)

    def create_app(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind_partial(*args, **kwargs)
        given = bound.arguments
        settings = api_auth()
        if not given.get("auth_token"):
            given["auth_token"] = settings["auth_token"]
        if not given.get("jwt_secret") and settings.get("jwt_secret"):
            given["jwt_secret"], given["jwt_method"] = settings["jwt_secret"], settings["jwt_method"]
        logger.info("HTTP API: every route but /, /version and the channels needs the token%s",
                    f" or a JWT ({given.get('jwt_method')})" if given.get("jwt_secret") else "")
        app = original(*bound.args, **bound.kwargs)
        app.register_middleware(_api_body_check(given["auth_token"], given.get("jwt_secret"),
                                                given.get("jwt_method") or "HS256"), "request")
        return app

    return create_app


def _api_body_check(token: str, jwt_secret: Optional[str] = None, jwt_method: str = "HS256") -> Callable:
    """A request middleware for the API routes that read a JSON object (inbound.check_api_body): a 4xx with the
    reason instead of Rasa's 500. Only for requests that Rasa will authorise (`tokens.api_authorized`): the others get
    Rasa's 401 (or 403) first, whatever their body."""
    from sanic import response

    async def check(request: Any) -> Any:
        if not tokens.api_authorized(request.args.get("token"), request.headers.get("Authorization"), request.path,
                                     token, jwt_secret, jwt_method):
            return None
        refusal = inbound.check_api_body(request.method, request.path, request.body or b"",
                                         "emulation_mode" in request.args)
        if refusal is None:
            return None
        logger.warning("HTTP API: refused %s %s (%s)", request.method, request.path.split("/")[1], refusal.reason)
        return response.json(refusal.body(), status=refusal.status, content_type="application/problem+json")

    return check


# =====================================================================================================
# logging and structlog: identifiers never reach a log line
# =====================================================================================================
def _add_handler(original: Callable) -> Callable:
    """Handlers added later (Sanic's dictConfig, Rasa's file handler) get the redacting filter and the token
    filter (bot.plugins.tokens) too."""
    def addHandler(self: logging.Logger, hdlr: logging.Handler) -> None:  # noqa: N802 - logging's name
        for flt in (FILTER, tokens.TOKEN_FILTER):
            if flt not in hdlr.filters:
                hdlr.addFilter(flt)
        original(self, hdlr)
    return addHandler


def _token_filter_everywhere() -> None:
    for lg in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        if isinstance(lg, logging.Logger):
            for handler in list(lg.handlers):
                if tokens.TOKEN_FILTER not in handler.filters:
                    handler.addFilter(tokens.TOKEN_FILTER)


def _install_structlog() -> None:
    """Rasa 3.6 logs user text through structlog, rendered as JSON with non-ASCII escaped, where a filter
    on the rendered line could miss a name: redact the values of each event before rendering. The
    processor list is changed in place because bound loggers, cached on first use, share it."""
    try:
        import structlog
    except ImportError:  # rasa and rasa_sdk both depend on it; without it there is nothing to redact
        logger.debug("structlog is not importable: no structlog processor installed")
        return
    processors = structlog.get_config()["processors"]
    if structlog_redactor in processors:
        return
    if isinstance(processors, list):
        processors.insert(0, structlog_redactor)
    else:
        structlog.configure(processors=[structlog_redactor, *processors])


# =====================================================================================================
# medspacy 1.3.1: two interval bugs that break ConText scopes (bot/nlu relies on the fixed behaviour)
# =====================================================================================================
def _overlaps(original: Callable) -> Callable:
    """`tuple_overlaps(a, b)` misses b strictly containing a, so a terminator (scope: the sentence) does
    not end a scope another modifier already shortened ("refractory to len, pom and dara, bortezomib
    exposed" would make dara exposed): a plain interval overlap."""
    def tuple_overlaps(a: Tuple[int, int], b: Tuple[int, int]) -> bool:
        return a[0] < b[1] and b[0] < a[1]
    return tuple_overlaps


def _longest_first(original: Callable) -> Callable:
    """`prune_overlapping_matches` compares each match with its neighbour only, so a chain of overlapping
    modifier matches keeps overlapping or shorter ones ("refractory to len but not refractory to ..."):
    keep the longest matches greedily, then the leftmost."""
    def prune_overlapping_matches(matches: List[Tuple[int, int, int]], strategy: str = "longest"):
        kept: List[Tuple[int, int, int]] = []
        for m in sorted(matches, key=lambda x: (-(x[2] - x[1]), x[1])):
            if all(m[2] <= k[1] or m[1] >= k[2] for k in kept):
                kept.append(m)
        return sorted(kept, key=lambda x: (x[1], x[2]))
    return prune_overlapping_matches


# =====================================================================================================
# The table
# =====================================================================================================
@dataclass(frozen=True)
class Patch:
    group: str
    module: str
    attribute: str  # "Class.method" or a module-level name
    make: Callable[[Callable], Callable]  # original -> replacement

    @property
    def why(self) -> str:
        return " ".join((self.make.__doc__ or "").split())


PATCHES: Tuple[Patch, ...] = (
    Patch("rasa", "rasa.core.actions.action", "RemoteAction._validate_action_result", _validate_action_result),
    Patch("rasa", "rasa.core.actions.action", "RemoteAction.run", _actions_in_process),
    Patch("rasa", "rasa.core.actions.action", "RemoteAction.run", _remote_action_run),  # wraps the one above
    Patch("rasa", "rasa.shared.core.events", "Event.resolve_by_type", _resolve_event_type),
    Patch("rasa", "rasa.core.tracker_store", "FailSafeTrackerStore.on_tracker_store_error", _raise_error),
    Patch("rasa", "rasa.core.tracker_store", "FailSafeTrackerStore.on_tracker_store_retrieve_error", _raise_error),
    Patch("rasa", "rasa.core.agent", "Agent.handle_message", _handle_message),
    Patch("rasa", "rasa.core.channels.console", "print_buttons", console.print_buttons),
    Patch("rasa", "rasa.core.channels.console", "_print_bot_output", console.print_bot_output),
    Patch("api", "rasa.server", "create_app", _create_app),
    Patch("logging", "logging", "Logger.addHandler", _add_handler),
    Patch("medspacy", "medspacy.context.context_modifier", "tuple_overlaps", _overlaps),
    Patch("medspacy", "medspacy.common.medspacy_matcher", "prune_overlapping_matches", _longest_first),
    Patch("timing", "rasa.engine.runner.dask", "DaskGraphRunner.__init__", timing.runner_init),
    Patch("timing", "rasa.core.agent", "Agent.handle_message", timing.handle_message),
    Patch("timing", "rasa.core.actions.action", "RemoteAction.run", timing.remote_action_run),
    Patch("sdk-timing", "rasa_sdk.executor", "ActionExecutor.run", timing.executor_run),
)
_applied: set = set()


def _apply(patch: Patch) -> None:
    owner: Any = importlib.import_module(patch.module)
    *path, name = patch.attribute.split(".")
    for part in path:
        owner = getattr(owner, part)
    original = getattr(owner, name)
    replacement = patch.make(original)
    replacement.__wrapped__ = original  # type: ignore[attr-defined]
    replacement.__rrmm_patch__ = True  # type: ignore[attr-defined]
    setattr(owner, name, replacement)


def _telemetry_off_unless_asked() -> None:
    """Rasa sends usage events and error reports (exception texts) to Rasa's servers unless told not to:
    off unless RASA_TELEMETRY_ENABLED is set explicitly. (A setting, not a patch.)"""
    if os.environ.get("RASA_TELEMETRY_ENABLED") is not None:
        return
    os.environ["RASA_TELEMETRY_ENABLED"] = "false"
    try:
        import sentry_sdk
        sentry_sdk.Hub.current.bind_client(None)
    except Exception as exc:  # noqa: BLE001 - no error reporting installed: nothing to turn off
        logger.debug("sentry error reporting not turned off (%s): it is not installed", type(exc).__name__)
    logger.info("Rasa telemetry and error reporting are off (set RASA_TELEMETRY_ENABLED=true to allow them)")


def install(*groups: str) -> None:
    """Apply the patches of the given groups (default: DEFAULT_GROUPS, and "timing" when RRMM_TIMING_LOG is set)
    in this process; idempotent."""
    wanted = groups or DEFAULT_GROUPS
    if timing.enabled() and "rasa" in wanted:  # with the Rasa group, after it: the action span wraps the actions
        wanted = (*wanted, "timing")  # wherever they run (the channels' earlier install("api") would put it inside)
    unknown = [g for g in wanted if g not in GROUPS]
    if unknown:
        raise ValueError(f"unknown patch group(s) {', '.join(unknown)}; known: {', '.join(GROUPS)}")
    with _lock:
        if "logging" in wanted:
            add_filter_everywhere()  # handlers that exist now; later ones through Logger.addHandler
            _token_filter_everywhere()
            _install_structlog()
        if "rasa" in wanted and "rasa" not in _applied:
            _telemetry_off_unless_asked()
        for patch in PATCHES:
            key = (patch.group, patch.module, patch.attribute, patch.make.__name__)
            if patch.group in wanted and key not in _applied:
                _apply(patch)
                _applied.add(key)
        newly = [g for g in wanted if g not in _applied]
        _applied.update(wanted)
    if "rasa" in newly:
        action_runner.prepare()  # where the actions run; a wrong setting stops the server here (ConfigError)
        logger.info("failure handling installed: action-server timeout %g s, clear messages on action-server, "
                    "storage and turn failures, messages over %d characters answered with the limit, identifiers "
                    "redacted from logs", action_timeout(), inbound.max_message_chars())


def installed(group: str) -> bool:
    """True when the patches of `group` are in place in this process."""
    return group in _applied
