"""Rule-based clinical entity extraction for RRMM case descriptions (spaCy + medspacy ConText; no Rasa imports).

    from bot.nlu.extract import extract
    extract("68M, 2L, len/dara-refr, fit, not TE")
    # [{'entity': 'age', 'value': 68, 'start': 0, 'end': 2, 'text': '68'},
    #  {'entity': 'sex', 'value': 'male', 'start': 2, 'end': 3, 'text': 'M'}, {'entity': 'prior_lines', ...},
    #  {'entity': 'drug', 'value': 'lenalidomide', 'role': 'refractory', ...}, ...]

Entities follow docs/nlu-schema.md (which also says how messages are read). Each is a dict {"entity", "value",
"start", "end", "text"} plus "role" when the schema gives one; offsets are character offsets into the text; the
list is sorted by start. This module is the public face of the package; the work is done in `pipeline`
(orchestration), `facts` (+ facts.json), `matchers`, `context_rules` (+ context_rules.json), `roles` and
`heuristics`. The pipeline is built once per process and calls are serialised by a lock, so it can serve a
threaded server; it refuses to build without the medspacy fixes of `bot.plugins.patches`.

Layer: may import the standard library and this package (which may import spaCy, medspacy, `bot.clinical` and
`bot.privacy`); never rasa, rasa_sdk or sanic.
"""
from __future__ import annotations

import threading
from typing import List, Optional

from .pipeline import Pipeline
from .schema import ENTITY_NAMES, ENTITY_ROLES

__all__ = ["extract", "get_nlp", "get_pipeline", "ENTITY_NAMES", "ENTITY_ROLES"]

_LOCK = threading.RLock()
_STATE: Optional[Pipeline] = None


def get_pipeline() -> Pipeline:
    """The extraction pipeline (patterns from the KB, spaCy tokenizer and matchers, medspacy ConText),
    built once per process (about a second; importing spaCy/medspacy takes longer)."""
    global _STATE
    if _STATE is None:
        with _LOCK:
            if _STATE is None:
                _STATE = Pipeline()
    return _STATE


def get_nlp():
    """The spaCy `Language` of the pipeline (blank English tokenizer + `medspacy_context`), built once."""
    return get_pipeline().nlp


def extract(text: str) -> List[dict]:
    """Clinical entities of a message: [{"entity", "value", "start", "end", "text", "role"?}], sorted by start."""
    if not isinstance(text, str) or not text.strip():
        return []
    pipeline = get_pipeline()
    with _LOCK:  # spaCy's Doc extensions and the ConText graph are per call, but the vocab is shared
        return pipeline.process(text)
