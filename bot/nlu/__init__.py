"""Clinical entity extraction for the conversation: rule-based spaCy + medspacy ConText, no model to fetch.

`bot.nlu.extract.extract(text)` returns the entities of docs/nlu-schema.md. The Rasa component around it is
`bot.plugins.components.ClinicalEntityExtractor`.

Layer: may import the standard library, spaCy, medspacy, `bot.clinical` (drug, regimen and trial names) and
`bot.privacy` (person names are never drug names). Never rasa, rasa_sdk or sanic. The pipeline needs the
medspacy fixes of `bot.plugins.patches` installed by its caller (the Rasa components, the tests and tools do).

(The package does not re-export `extract`, so that `bot.nlu.extract` stays the module.)
"""
