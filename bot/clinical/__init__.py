"""The clinical domain: the knowledge base (YAML under knowledge/ and its loader `kb`), the case and
recommendation models (`models`), the guideline engine (`engine`) and text for people (`render`).

Layer: the bottom. Pure: no I/O beyond loading its own data files, no clock, no randomness.
May import: the standard library, PyYAML and pydantic. Never another package of `bot`, nor rasa,
rasa_sdk or sanic.
"""
