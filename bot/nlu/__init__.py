"""Clinical entity extraction for the conversation: rule-based spaCy + medspacy ConText, no model to fetch.

`bot.nlu.extract.extract(text)` returns the entities of docs/nlu-schema.md (which also gives the reading rules).
The Rasa component around it is `bot.plugins.components.ClinicalEntityExtractor`.

    extract.py        the public face: extract, get_nlp, get_pipeline, ENTITY_NAMES, ENTITY_ROLES
    schema.py         the entity names and their roles (docs/nlu-schema.md)
    pipeline.py       the steps for one message: facts, targets, ConText, roles
    matchers.py       spaCy tokenizer, name patterns from the knowledge base, drug names with a typo
    facts.py          case facts and findings by regular expression   (rules: facts.json)
    context_rules.py  medspacy ConText rules                          (rules: context_rules.json)
    roles.py          ConText modifiers -> roles and entities
    heuristics.py     lists, progression on a regimen, maintenance, transplants, trials, questions
    lexicon.py        vocabulary the knowledge base does not hold

Layer: may import the standard library, spaCy, medspacy (and loguru, to quiet medspacy), `bot.clinical` (drug,
regimen, trial and transplant names) and `bot.privacy` (person names are never drug names). Never rasa, rasa_sdk
or sanic. The pipeline needs the medspacy fixes of `bot.plugins.patches` installed by its caller (the Rasa
components, the tests and tools do). Each module's docstring says what it may import.

(The package does not re-export `extract`, so that `bot.nlu.extract` stays the module.)
"""
