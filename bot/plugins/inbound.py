"""What the assistant accepts from outside, in one place for every channel and the action server.

* Message text (`check_text`): must be a string; control characters (other than tab and line breaks) become
  spaces and lone surrogates (half of a UTF-16 pair, which no encoder can write) are removed, because the NLU
  pipeline and the stores cannot process them; empty after that, or longer than RRMM_MAX_MESSAGE_CHARS
  (default 4,000 characters) is refused with a `Refusal` that says why, for the user and for the log.
* JSON bodies (`parse_json`): UTF-8 JSON within a size limit (`max_body_bytes()`), nested at most
  MAX_JSON_DEPTH levels, of the expected top-level type; `check_fields` names unknown and missing fields.
* Rasa's HTTP API (`check_api_body`): the routes that read a JSON object (parse, messages, execute,
  trigger_intent) get a 4xx with the reason for a body of the wrong shape, instead of Rasa's 500.
* Conversation ids (`check_sender`): 1-128 characters from `A-Z a-z 0-9 _ - . : @`; the web chat's session
  ids: 8-64 characters from `A-Z a-z 0-9 _ -` (`SESSION_ID`: 32 hex digits and UUIDs with dashes included).

Refusals never quote what was sent (it could hold an identifier); they name the field and the problem (an
unknown field only when its name is shaped like a field name: `names_of`).
"""
from __future__ import annotations

import json
import os
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

__all__ = ["Refusal", "ConfigError", "max_message_chars", "max_body_bytes", "clean_text", "check_text",
           "parse_json", "check_fields", "names_of", "check_sender", "check_api_body", "SESSION_ID", "SENDER_ID",
           "MAX_JSON_DEPTH", "DEFAULT_MAX_MESSAGE_CHARS"]

DEFAULT_MAX_MESSAGE_CHARS = 4000
MAX_JSON_DEPTH = 16
SESSION_ID = re.compile(r"\A[A-Za-z0-9_-]{8,64}\Z")  # \Z: "$" would accept a trailing newline
SENDER_ID = re.compile(r"\A[A-Za-z0-9_.:@-]{1,128}\Z")
# C0 and C1 control characters except tab, line feed and carriage return; DEL; lone surrogates.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class ConfigError(ValueError):
    """A limit variable is not a valid number (the message names it)."""


@dataclass(frozen=True)
class Refusal:
    """Why something sent was not accepted: `code` for programs, `reason` for logs and HTTP bodies, `text`
    for the person in the chat (what to do about it)."""

    code: str
    reason: str
    text: str
    status: int = 400

    def body(self) -> dict:
        return {"error": self.code, "reason": self.reason}


def max_message_chars(env: Mapping[str, str] = os.environ) -> int:
    raw = (env.get("RRMM_MAX_MESSAGE_CHARS") or "").strip()
    if not raw:
        return DEFAULT_MAX_MESSAGE_CHARS
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"RRMM_MAX_MESSAGE_CHARS must be a whole number of characters, not {raw[:20]!r}") from None
    if not 100 <= value <= 100_000:
        raise ConfigError("RRMM_MAX_MESSAGE_CHARS must be between 100 and 100000")
    return value


def max_body_bytes(env: Mapping[str, str] = os.environ) -> int:
    """A request body large enough for the longest message written entirely in \\uXXXX escapes of surrogate
    pairs (12 bytes per character) plus 16 KiB of metadata: 64 KiB by default."""
    return 16 * 1024 + 12 * max_message_chars(env)


def clean_text(text: str) -> str:
    """Control characters (except tab and line breaks) become spaces, lone surrogates are removed and the
    text is put in NFC form (one way of writing each accented letter)."""
    text = _SURROGATE.sub("", text)
    text = _CONTROL.sub(" ", text)
    return unicodedata.normalize("NFC", text)


def _too_long(n: int, limit: int) -> Refusal:
    return Refusal(
        "message_too_long", f"the message has {n:,} characters; the limit is {limit:,} (RRMM_MAX_MESSAGE_CHARS)",
        f"Your message is {n:,} characters long and I can read at most {limit:,}. Please send the case facts in "
        "a shorter message (or in several): age, relapse, prior lines, refractory drugs, fitness, transplant.",
        413)


def check_text(value: Any, limit: Optional[int] = None) -> Union[str, Refusal]:
    """The cleaned message text, or a Refusal (not a string, empty, too long)."""
    if not isinstance(value, str):
        return Refusal("message_not_text", f"'message' must be a string, not {_type(value)}",
                       "I could not read that message: please send it as text.")
    if limit is None:
        limit = max_message_chars()
    if len(value) > 4 * limit:  # do not clean megabytes just to refuse them
        return _too_long(len(value), limit)
    text = clean_text(value).strip()
    if not text:
        return Refusal("message_empty", "'message' is empty (after removing control characters)",
                       "Your message was empty: please type the case or a question.")
    if len(text) > limit:
        return _too_long(len(text), limit)
    return text


def check_sender(value: Any, field: str = "sender") -> Union[str, Refusal]:
    if value is None or value == "":
        return Refusal("sender_missing", f"'{field}' is required: one id per conversation (it is never shared "
                                         "with another client)", "This message has no conversation id.")
    if not isinstance(value, str):
        return Refusal("sender_invalid", f"'{field}' must be a string, not {_type(value)}",
                       "This message has an invalid conversation id.")
    if not SENDER_ID.match(value):
        return Refusal("sender_invalid", f"'{field}' must be 1-128 characters from A-Z a-z 0-9 _ - . : @",
                       "This message has an invalid conversation id.")
    return value


def _type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


_KIND = {dict: "object", list: "list"}


def _depth(value: Any, limit: int) -> bool:
    """True when `value` nests containers deeper than `limit` (iterative: no recursion on hostile input)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children)
    return False


def parse_json(raw: bytes, expect: type = dict, max_bytes: Optional[int] = None,
               max_depth: int = MAX_JSON_DEPTH) -> Union[Any, Refusal]:
    """The parsed body, or a Refusal naming the problem (size, encoding, syntax, depth, top-level type)."""
    limit = max_body_bytes() if max_bytes is None else max_bytes
    user = "The message could not be read; please send it again."
    if len(raw) > limit:
        return Refusal("body_too_large", f"the body has {len(raw):,} bytes; the limit is {limit:,}", user, 413)
    if not raw.strip():
        return Refusal("body_empty", f"the body is empty: send a JSON {_KIND.get(expect, 'value')}", user)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Refusal("body_not_utf8", "the body is not UTF-8 text", user)
    try:
        value = json.loads(text)
    except RecursionError:
        return Refusal("body_too_deep", f"the JSON is nested deeper than {max_depth} levels", user)
    except ValueError as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        return Refusal("body_not_json", f"the body is not valid JSON{where}", user)
    if _depth(value, max_depth):
        return Refusal("body_too_deep", f"the JSON is nested deeper than {max_depth} levels", user)
    if not isinstance(value, expect):
        return Refusal("body_wrong_type", f"the body must be a JSON {_KIND.get(expect, 'value')}, not {_type(value)}",
                       user)
    return value


_NAME = re.compile(r"\A[a-z][a-z0-9_]{0,39}\Z")


def names_of(unknown: Sequence[str]) -> str:
    """Unknown field or parameter names for a message: those shaped like a name (lowercase, digits, _), never
    anything else a client sent as a key (it could be data: a patient's name, a number)."""
    shown = [repr(k) for k in unknown if _NAME.match(k)][:5]
    others = sum(1 for k in unknown if not _NAME.match(k))
    if others:
        shown.append(f"{others} with {'an unknown name' if others == 1 else 'unknown names'}")
    return ", ".join(shown) + (" ..." if len(unknown) > 5 + others else "")


def check_fields(body: Mapping[str, Any], allowed: Sequence[str], required: Sequence[str] = ()) -> Optional[Refusal]:
    unknown = sorted(k for k in body if k not in allowed)
    if unknown:
        names = names_of(unknown)
        return Refusal("unknown_fields", f"unknown field(s) {names}; accepted: {', '.join(allowed)}",
                       "The message could not be read; please send it again.")
    missing = [k for k in required if body.get(k) is None]
    if missing:
        return Refusal("missing_fields", f"missing field(s): {', '.join(missing)}",
                       "The message could not be read; please send it again.")
    return None


# Rasa's HTTP API routes that read a JSON object: (path, field types, required fields). Rasa answers 500 when
# the body is a list, or `text` a number; other routes already answer 400, or take YAML (training, tests).
_API_BODIES = (
    (re.compile(r"^/model/parse$"), {"text": str, "message_id": str}, ("text",)),
    (re.compile(r"^/conversations/.+/messages$"), {"text": str, "sender": str, "parse_data": dict}, ("text",)),
    (re.compile(r"^/conversations/.+/execute$"), {"name": str, "policy": str}, ("name",)),
    (re.compile(r"^/conversations/.+/trigger_intent$"), {"name": str, "entities": (dict, list)}, ("name",)),
)


def check_api_body(method: str, path: str, raw: bytes, emulated: bool = False) -> Optional[Refusal]:
    """None when the request may go on to Rasa's handler; a Refusal naming the problem otherwise."""
    if method != "POST":
        return None
    spec = next(((types, required) for pattern, types, required in _API_BODIES if pattern.match(path)), None)
    if spec is None:
        return None
    body = parse_json(raw, dict)
    if isinstance(body, Refusal) or emulated:  # another NLU service's request format: the JSON check only
        return body if isinstance(body, Refusal) else None
    types, required = spec
    for name, kind in types.items():
        if body.get(name) is not None and not isinstance(body[name], kind):
            wanted = " or ".join(_type(k()) for k in (kind if isinstance(kind, tuple) else (kind,)))
            return Refusal("field_invalid", f"'{name}' must be {wanted}, not {_type(body[name])}", "")
    missing = [name for name in required if body.get(name) is None]
    if missing:
        return Refusal("missing_fields", f"missing field(s): {', '.join(missing)}", "")
    if "text" in types:
        text = check_text(body["text"])
        if isinstance(text, Refusal):
            return Refusal(text.code, text.reason.replace("'message'", "'text'"), "", text.status)
        if _CONTROL.search(body["text"]) or _SURROGATE.search(body["text"]):
            return Refusal("text_invalid", "'text' holds control characters or lone surrogates", "")
    return None


def stamp(message: Any) -> None:
    """Marks a message that a channel handed the agent (bot.audit.provenance: only such turns are audited), under
    the install's turn secret (bot.plugins.tokens.turn_key); a stamp the client put in the metadata is replaced."""
    from bot.audit.provenance import STAMP_KEY
    from bot.audit.provenance import stamp as turn_stamp
    from bot.plugins.tokens import turn_key

    metadata = {k: v for k, v in (message.metadata or {}).items() if k != STAMP_KEY}
    key = turn_key()
    if key:
        metadata[STAMP_KEY] = turn_stamp(key, message.sender_id, message.input_channel, message.message_id)
    message.metadata = metadata
