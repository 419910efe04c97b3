"""Which recommendations reach the audit trail: only those the project produced for a message that came in
through one of its channels, for that conversation.

The Rasa server stamps every message a channel hands it (bot.plugins.patches, `Agent.handle_message`): the
message's metadata gets `rrmm_turn`, an HMAC-SHA256 under the install's turn secret (bot.plugins.tokens.turn_key:
RRMM_TURN_SECRET, else RRMM_ACTION_TOKEN when set, else the per-install file var/turn.secret, mode 0600; the Rasa
servers and any separate action servers must share it) of the conversation id, the channel and the message id.
The stamp lives only in the running turn: the tracker store keeps an allow-list of metadata keys
(bot.plugins.stores), so it is never stored, and no one can read it back through Rasa's HTTP API. The
recommendation action writes an audit row only when the latest user message carries a valid stamp for this
conversation (`turn_channel`, checked by the action before bot.advice writes the row); events injected through
the HTTP API (`POST /conversations/<id>/tracker/events`, `/messages`, `/trigger_intent`) followed by `execute
action_recommend` carry none, so they write no row (the recommendation is still answered, and the refusal is
logged).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any, Dict, Iterable, Optional

logger = logging.getLogger(__name__)

__all__ = ["STAMP_KEY", "stamp", "turn_channel"]

STAMP_KEY = "rrmm_turn"


def stamp(key: str, sender_id: str, channel: Optional[str], message_id: Optional[str]) -> str:
    """The stamp of one message: binds the conversation, the channel and the message."""
    data = "\0".join(("rrmm-turn", str(sender_id), str(channel or ""), str(message_id or "")))
    return hmac.new(key.encode("utf-8"), data.encode("utf-8"), hashlib.sha256).hexdigest()


def _latest_user_event(events: Iterable[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    for event in reversed(list(events or [])):
        if isinstance(event, dict) and event.get("event") == "user":
            return event
    return None


def turn_channel(key: Optional[str], sender_id: str, events: Iterable[Dict[str, Any]]) -> Optional[str]:
    """The channel of the latest user message when the Rasa server stamped it for this conversation; else None."""
    event = _latest_user_event(events)
    if not key or event is None:
        return None
    given = (event.get("metadata") or {}).get(STAMP_KEY)
    channel = event.get("input_channel")
    expected = stamp(key, sender_id, channel, event.get("message_id"))
    if isinstance(given, str) and hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("ascii")):
        return channel or None
    return None
