"""The install's shared secrets: the HTTP API token and the action-server token.

Each comes from its environment variable, or else from a per-install file created once with mode 0600
(the first process that needs it writes it; its path is logged, and printed by the scripts, once):

    RRMM_API_TOKEN     HTTP API (`/conversations`, `/model`, ...) and the REST channel;
                       file RRMM_API_TOKEN_FILE, default var/api.token
    RRMM_ACTION_TOKEN  what Rasa sends the action server (`Authorization: Bearer ...`, endpoints.yml);
                       file RRMM_ACTION_TOKEN_FILE, default var/action.token
    RRMM_WEBCHAT_SECRET  the key that signs the web chat's session ids (only the Rasa server uses it);
                       file RRMM_WEBCHAT_SECRET_FILE, default var/webchat.secret

A token has at least 16 characters from `A-Z a-z 0-9 . _ ~ -` (it travels in a URL query and an HTTP header
unencoded). Rotation: set a new value in the environment, or delete the file, and restart both servers
(docs/security.md).

`python -m bot.plugins.tokens api|action` prints the token (creating the file when needed), for the scripts:
`export RRMM_API_TOKEN="$(python -m bot.plugins.tokens api)"`. Nothing here imports rasa or sanic.
"""
from __future__ import annotations

import hmac
import logging
import os
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import List, Mapping, Optional, Set, Tuple

from bot.secretfile import create_once

logger = logging.getLogger(__name__)

__all__ = ["TOKENS", "TokenError", "token", "turn_key", "matches", "api_authorized", "secret_values", "TOKEN_FILTER"]

MIN_CHARS = 16
_VALID = re.compile(r"\A[A-Za-z0-9._~-]{%d,512}\Z" % MIN_CHARS)


class TokenError(RuntimeError):
    """A token is invalid or its file cannot be read or written (the message names which; never the value)."""


@dataclass(frozen=True)
class Token:
    kind: str
    env: str
    file_env: str
    default_file: str
    what: str

    def path(self, env: Mapping[str, str] = os.environ) -> Path:
        return Path(env.get(self.file_env) or self.default_file)


TOKENS = {
    "api": Token("api", "RRMM_API_TOKEN", "RRMM_API_TOKEN_FILE", "var/api.token",
                 "HTTP API and REST channel token"),
    "action": Token("action", "RRMM_ACTION_TOKEN", "RRMM_ACTION_TOKEN_FILE", "var/action.token",
                    "action-server token"),
    "webchat": Token("webchat", "RRMM_WEBCHAT_SECRET", "RRMM_WEBCHAT_SECRET_FILE", "var/webchat.secret",
                     "web chat session-signing secret"),
    "turn": Token("turn", "RRMM_TURN_SECRET", "RRMM_TURN_SECRET_FILE", "var/turn.secret",
                  "channel-message stamping secret (bot.audit.provenance)"),
}


def _check(value: str, where: str) -> str:
    if not _VALID.match(value):
        raise TokenError(f"{where} must be at least {MIN_CHARS} characters from A-Z a-z 0-9 . _ ~ - "
                         f"(for example: python -c 'import secrets; print(secrets.token_hex(32))')")
    return value


def _read(path: Path) -> Optional[str]:
    try:
        mode = path.stat().st_mode
        value = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise TokenError(f"cannot read the token file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        try:
            os.chmod(path, 0o600)
            logger.warning("the token file %s was readable by other users: its mode is now 0600", path)
        except OSError as exc:
            raise TokenError(f"the token file {path} is readable by other users and cannot be made 0600 "
                             f"({exc.strerror}): chmod 600 {path}") from None
    return value or None


def _create(path: Path) -> bool:
    """Writes a new random token to `path` (mode 0600) unless another process got there first."""
    try:
        return create_once(path)
    except OSError as exc:
        raise TokenError(f"cannot create the token file {path}: {exc.strerror}") from None


def token(kind: str, env: Mapping[str, str] = os.environ) -> Tuple[str, Optional[Path]]:
    """(the token, the file's path when this call created it). Raises TokenError."""
    spec = TOKENS[kind]
    value = (env.get(spec.env) or "").strip()
    if value:
        return _remember(_check(value, spec.env)), None
    path = spec.path(env)
    created = None
    for _ in range(50):
        value = _read(path)
        if value:
            return _remember(_check(value, f"the token file {path}")), created
        if _create(path):
            created = path
            logger.info("created the per-install %s file %s (mode 0600)", spec.what, path)
    raise TokenError(f"the token file {path} stays empty")  # pragma: no cover


_known: Set[str] = set()  # tokens this process has read, for log scrubbing


def _remember(value: str) -> str:
    _known.add(value)
    return value


def matches(given: Optional[str], expected: str) -> bool:
    """Constant-time comparison (a timing difference would reveal the token one character at a time)."""
    return given is not None and hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def api_authorized(query_token: Optional[str], authorization: Optional[str], path: str, token: str,
                   jwt_secret: Optional[str], jwt_method: str = "HS256") -> bool:
    """True when Rasa's HTTP API will let a request through: the API token as `?token=`, or a JWT that Rasa
    accepts for the route (role admin; role user for its own conversation only). Checks of the body come after."""
    if matches(query_token, token):
        return True
    header = authorization or ""
    if not jwt_secret or not header.startswith("Bearer "):
        return False
    import jwt

    try:
        claims = jwt.decode(header[len("Bearer "):].strip(), jwt_secret, algorithms=[jwt_method])
    except jwt.PyJWTError:
        return False
    user = claims.get("user") if isinstance(claims, dict) else None
    if not isinstance(user, dict):
        return False
    parts = path.split("/")
    conversation = parts[2] if len(parts) > 2 and parts[1] == "conversations" else None
    return user.get("role") == "admin" or (user.get("role") == "user" and conversation is not None
                                           and user.get("username") == conversation)


def secret_values(env: Mapping[str, str] = os.environ) -> List[str]:
    """The tokens this process knows (read, or in the environment; never creates a file), for log scrubbing."""
    from_env = {(env.get(t.env) or "").strip() for t in TOKENS.values()}
    return sorted(v for v in from_env | _known if len(v) >= MIN_CHARS)


_QUERY_TOKEN = re.compile(r"([?&]token=)[^&\s\"']+")


class TokenFilter(logging.Filter):
    """Scrubs the tokens from log records: a `token=` query parameter (Rasa's HTTP API takes the token in
    the URL, which an access log would print) and the known token values anywhere in the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string: the privacy filter deals with it
            return True
        scrubbed = _QUERY_TOKEN.sub(r"\1[TOKEN]", message)
        for value in secret_values():
            scrubbed = scrubbed.replace(value, "[TOKEN]")
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


TOKEN_FILTER = TokenFilter()


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in TOKENS:
        print(f"usage: python -m bot.plugins.tokens {'|'.join(TOKENS)}", file=sys.stderr)
        return 2
    spec = TOKENS[args[0]]
    try:
        value, created = token(args[0])
    except TokenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if created:
        print(f"==> created the {spec.what} in {created} (mode 0600; {spec.env} overrides it); "
              f"docs/security.md says how to pass and rotate it", file=sys.stderr)
    print(value)
    return 0


if __name__ == "__main__":
    sys.exit(main())


def turn_key(env: Mapping[str, str] = os.environ) -> Optional[str]:
    """The key of the stamps the Rasa server puts on channel messages (bot.audit.provenance), shared by the Rasa
    server and the actions (in the same process by default, or separate action servers): RRMM_TURN_SECRET, else
    RRMM_ACTION_TOKEN when set (deployments that already share it), else the per-install file var/turn.secret
    (RRMM_TURN_SECRET_FILE), created once with mode 0600. None (logged) when none can be had: no audit row is
    written then, and the log says why."""
    if not (env.get(TOKENS["turn"].env) or "").strip() and (env.get(TOKENS["action"].env) or "").strip():
        return env[TOKENS["action"].env].strip()
    try:
        return token("turn", env)[0]
    except TokenError as exc:
        logger.error("audit: no turn secret, so no recommendation can be audited: %s", exc)
        return None
