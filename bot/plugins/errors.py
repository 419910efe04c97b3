"""Errors shared by the Rasa plug-ins (the stores raise them; the patches turn them into user messages)."""
from rasa.shared.exceptions import RasaException

__all__ = ["StorageError", "ConfigError", "ActionServerUnavailable"]


class StorageError(RasaException):
    """The conversation store or lock store failed (the cause is chained)."""


class ConfigError(RasaException):
    """A storage environment variable is missing or invalid (the message names it)."""


class ActionServerUnavailable(RasaException):
    """A call to the action server failed; the user has been told."""
