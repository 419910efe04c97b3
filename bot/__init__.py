"""RRMM decision support: the deterministic guideline engine and what the assistant builds on it."""

__version__ = "0.1.0"
ENGINE_VERSION = __version__
