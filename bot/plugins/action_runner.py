"""Where the custom actions of `actions/` run: inside the Rasa server by default, on action servers for scale-out.

Rasa Open Source 3.6 runs every custom action over HTTP on a separate action server; Rasa Pro's `actions_module`
runs them in the Rasa process. This module does the same for the project (one process, one port, no action token),
through `bot.plugins.patches` (`RemoteAction.run`, the one patch point), and keeps the action server for scale-out:

- `RRMM_ACTION_URL` set (`http(s)://host:port/webhook`, e.g. a load balancer in front of `python -m actions`
  servers): every action call goes there over HTTP with the action token (RRMM_ACTION_TOKEN, else
  var/action.token: bot.plugins.tokens), as Rasa does;
- else an `action_endpoint` with a `url` in the endpoints file: Rasa's own behaviour, unchanged;
- else (the project's endpoints.yml): in this process, by rasa_sdk's own `ActionExecutor` over the `actions`
  package. The call and the answer are the JSON documents an action server would get and send (copied both ways:
  neither side can change the other's objects), and the answer goes through Rasa's own steps after the HTTP call
  (validation, responses, events), so an action behaves the same in both set-ups (tests/test_action_runner.py).

A wrong RRMM_ACTION_URL stops the server at start (ConfigError naming it), as a wrong RRMM_REGION does (bot.advice).
"""
from __future__ import annotations

import logging
import os
import threading
import weakref
from typing import Any, Dict, List, Mapping, Optional, Tuple

from . import tokens
from .errors import ConfigError

logger = logging.getLogger(__name__)

__all__ = ["action_url", "remote_endpoint", "prepare", "run_in_process", "ACTIONS_PACKAGE"]

ACTIONS_PACKAGE = "actions"
_lock = threading.Lock()
_executor: Any = None
_endpoints: Dict[str, Any] = {}
_domains: Dict[int, Tuple["weakref.ReferenceType[Any]", bytes]] = {}  # by identity: Domain's hash is a fingerprint

try:  # a JSON copy in C: the same documents as over HTTP, a fraction of the cost
    import orjson

    def _copy(obj: Any) -> Any:
        return orjson.loads(orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS))

    def _dump(obj: Any) -> bytes:
        return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)

    _load = orjson.loads
except ImportError:  # pragma: no cover - orjson is a dependency of the project
    import json

    def _dump(obj: Any) -> bytes:
        return json.dumps(obj).encode("utf-8")

    def _load(raw: bytes) -> Any:
        return json.loads(raw)

    def _copy(obj: Any) -> Any:
        return _load(_dump(obj))


def action_url(env: Mapping[str, str] = os.environ) -> Optional[str]:
    """RRMM_ACTION_URL when set (checked: http:// or https://), else None. Raises ConfigError."""
    url = (env.get("RRMM_ACTION_URL") or "").strip()
    if not url:
        return None
    if not url.startswith(("http://", "https://")) or len(url) < 10:
        raise ConfigError("RRMM_ACTION_URL must be the action server's URL, starting with http:// or https:// "
                          "(e.g. http://127.0.0.1:5055/webhook)")
    return url


def remote_endpoint(url: str) -> Any:
    """The endpoint for RRMM_ACTION_URL, with the action token (built once per URL)."""
    endpoint = _endpoints.get(url)
    if endpoint is None:
        from rasa.utils.endpoints import EndpointConfig

        try:
            token, _ = tokens.token("action")
        except tokens.TokenError as exc:
            raise ConfigError(str(exc)) from None
        endpoint = _endpoints[url] = EndpointConfig(url=url, headers={"Authorization": f"Bearer {token}"})
    return endpoint


def _make_executor() -> Any:
    from rasa_sdk.executor import ActionExecutor

    from bot.advice import SettingError, deployment_region

    try:
        region = deployment_region()  # the deployment's region rule, checked at start (bot.advice)
    except SettingError as exc:
        raise ConfigError(str(exc)) from None
    executor = ActionExecutor()
    executor.register_package(ACTIONS_PACKAGE)
    logger.info("custom actions run in this process (%d actions; default region %s); RRMM_ACTION_URL names action "
                "servers instead", len(executor.actions), region)
    return executor


def _the_executor() -> Any:
    global _executor
    if _executor is None:
        with _lock:
            if _executor is None:
                _executor = _make_executor()
    return _executor


def prepare(env: Mapping[str, str] = os.environ) -> None:
    """At start: checks RRMM_ACTION_URL (and the action token for it), or loads the actions for this process, so a
    wrong setting or a broken action stops the server before the first message. Raises ConfigError."""
    url = action_url(env)
    if url:
        remote_endpoint(url)
        logger.info("custom actions run on the action server at %s", url.split("?")[0])
    else:
        _the_executor()


def _domain_json(domain: Any) -> Any:
    """The domain as the action server gets it (Rasa sends it with every call); serialised once per domain, found
    again by identity (a lookup by Domain's own hash would fingerprint the whole domain on every call: 2.5 ms)."""
    hit = _domains.get(id(domain))
    if hit is not None and hit[0]() is domain:
        return _load(hit[1])
    raw = _dump(domain.as_dict())
    with _lock:  # a new domain (a model loaded): forget the ones that are gone
        for key in [key for key, (ref, _) in _domains.items() if ref() is None]:
            del _domains[key]
        _domains[id(domain)] = (weakref.ref(domain), raw)
    return _load(raw)


async def run_in_process(action: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> List[Any]:
    """Rasa's RemoteAction.run with rasa_sdk's ActionExecutor in place of the HTTP call."""
    import rasa
    from rasa.core.actions.action import ActionExecutionRejection
    from rasa.shared.core import events
    from rasa.shared.core.trackers import EventVerbosity
    from rasa.shared.exceptions import RasaException
    from rasa_sdk.interfaces import ActionExecutionRejection as SdkRejection
    from rasa_sdk.interfaces import ActionNotFoundException

    name = action.name()
    call = {"next_action": name, "sender_id": tracker.sender_id,
            "tracker": _copy(tracker.current_state(EventVerbosity.ALL)), "domain": _domain_json(domain),
            "version": rasa.__version__}
    try:
        result = await _the_executor().run(call)
    except SdkRejection as exc:  # a form that cannot use the message: Rasa's normal flow, as after an HTTP 400
        raise ActionExecutionRejection(exc.action_name, exc.message) from None
    except ActionNotFoundException as exc:
        raise RasaException(f"Failed to execute custom action '{name}': no such action in '{ACTIONS_PACKAGE}' "
                            f"({exc.message})") from None
    except Exception:
        logger.exception("custom action '%s' failed in conversation %s", name, tracker.sender_id)
        raise
    result = _copy(result or {})
    action._validate_action_result(result)
    bot_messages = await action._utter_responses(result.get("responses", []), output_channel, nlg, tracker)
    return [*bot_messages, *events.deserialise_events(result.get("events", []))]
