"""Clinical entity extraction for the Rasa assistant.

- `bot.nlu.extract.extract(text)`: rule-based entities (spaCy + medspacy ConText, no Rasa imports);
- `bot.nlu.rasa_component.ClinicalEntityExtractor`: the Rasa 3.6 NLU component around it.

(The package does not re-export `extract`, so that `bot.nlu.extract` stays the module.)
"""
