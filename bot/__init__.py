"""RRMM decision support: the deterministic guideline engine and the assistant built on it.

Packages, one per layer (docs/architecture.md says what each may import; tests/test_architecture.py checks it):
  clinical  the knowledge base, models, engine and text rendering (pure)
  intake    the conversation's case intake: entities -> case fields, questions, conflicts (pure)
  nlu       clinical entity extraction (spaCy + medspacy)
  privacy   identifier detection and redaction, log redaction
  audit     the append-only audit trail
  plugins   everything that plugs into Rasa or Sanic: stores, NLU components, channels, patches
`cli` is `python -m bot`.
"""

__version__ = "0.1.0"
ENGINE_VERSION = __version__
