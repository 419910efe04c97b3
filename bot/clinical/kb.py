"""The knowledge base: YAML files under bot/clinical/knowledge, validated when loaded.

`load()` (bot/clinical/loader.py) reads and checks every file once and returns an immutable `KnowledgeBase`
(bot/clinical/knowledge.py); `kb()` caches the current edition. `load(path)` reads another directory of the same
files (an older edition kept for edition recall), and `recommend(case, load(path))` answers with it. Look-ups
(`drug_id`, `regimen_code`, `trial_id`) are case-insensitive over ids and aliases and raise `UnknownName` with the
closest known names. The records (Regimen, Caution, Trial, ...) are in bot/clinical/entries.py; this module is the
one the others import.

Imports: the standard library and bot.clinical (entries, knowledge, loader).
"""
from __future__ import annotations

from functools import lru_cache

from .entries import (  # noqa: F401  (the names the rest of the project imports from bot.clinical.kb)
    KNOWLEDGE_DIR,
    TIERS,
    Demotion,
    KnowledgeError,
    Regimen,
    RegionLabel,
    UnknownName,
    fold,
)
from .knowledge import KnowledgeBase
from .loader import load


@lru_cache(maxsize=1)
def kb() -> KnowledgeBase:
    return load()
