"""The audit trail: one append-only row per recommendation given (SQLite).

Layer: may import the standard library, sqlite-utils, `bot.clinical`, `bot.intake` and `bot.privacy`.
Never rasa, rasa_sdk or sanic.
"""
from .provenance import STAMP_KEY, stamp, turn_channel  # noqa: F401,E402
from .trail import *  # noqa: F401,F403
from .trail import __all__  # noqa: F401

__all__ = [*__all__, "STAMP_KEY", "stamp", "turn_channel"]
