"""The action server for scale-out: `python -m actions [rasa_sdk options]` (default: --actions actions, --port
$RRMM_ACTION_PORT, else 5055). A single machine does not need it: the actions run inside the Rasa server unless
RRMM_ACTION_URL names action servers (bot/plugins/action_runner.py).

The same as `rasa run actions --actions actions`, and:
- identifiers are redacted from every log line of the process (bot.plugins.patches, installed before
  rasa_sdk configures its logging);
- it listens on 127.0.0.1 unless RRMM_ACTION_INTERFACE (or rasa_sdk's SANIC_HOST) names another address;
- only requests with the action token run an action, and malformed action calls get a 4xx with the reason
  (bot.plugins.action_server, a rasa_sdk plug-in): the token is RRMM_ACTION_TOKEN, else the per-install file
  var/action.token (created once, mode 0600).
A wrong setting (the token, RRMM_REGION, RRMM_ACTION_PORT) stops it at start with a message naming the variable
(exit status 2).
"""
from __future__ import annotations

import os
import sys
from typing import List, Optional

from rasa_sdk.__main__ import main_from_args
from rasa_sdk.endpoint import create_argument_parser
from rasa_sdk.plugin import plugin_manager

from bot.advice import SettingError, deployment_region
from bot.plugins import timing
from bot.plugins.action_server import ActionServerGuard
from bot.plugins.inbound import ConfigError
from bot.plugins.patches import install
from bot.plugins.tokens import TokenError

DEFAULT_INTERFACE = "127.0.0.1"


def _fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def main(argv: Optional[List[str]] = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = create_argument_parser().parse_args(argv)
    if args.actions is None:
        args.actions = "actions"
    if not any(a in ("-p", "--port") or a.startswith("--port=") for a in argv) and os.environ.get("RRMM_ACTION_PORT"):
        raw = os.environ["RRMM_ACTION_PORT"].strip()
        if not raw.isdigit() or not 0 < int(raw) < 65536:
            _fail("RRMM_ACTION_PORT must be a port number (1-65535)")
        args.port = int(raw)
    try:
        deployment_region()  # the deployment's region rule (bot.advice), checked before any action runs
    except SettingError as exc:
        _fail(str(exc))
    install("logging", *(("sdk-timing",) if timing.enabled() else ()))
    os.umask(0o077)  # the audit trail and anything else it writes: the service account's alone
    # rasa_sdk binds SANIC_HOST, 0.0.0.0 by default: loopback unless asked
    os.environ["SANIC_HOST"] = (os.environ.get("RRMM_ACTION_INTERFACE") or os.environ.get("SANIC_HOST")
                                or DEFAULT_INTERFACE).strip()
    try:
        guard = ActionServerGuard.from_env()
    except (TokenError, ConfigError) as exc:
        _fail(str(exc))
    plugin_manager().register(guard)
    main_from_args(args)


if __name__ == "__main__":
    main()
