"""Evaluation gates: the development sets (tests/eval/dev) stay at or above their targets, and no evaluation text is
ever training data (tools/evaluate.py; docs/benchmarks.md)."""
import re
from pathlib import Path

import pytest
import yaml

from tools import evaluate as E

ROOT = Path(__file__).resolve().parent.parent
# One-shot targets of the issue (fields exact, cases whole), conversations and openers (set when they were reached,
# kept so that a regression fails).
ONESHOT_FIELDS, ONESHOT_CASES = 0.95, 0.85
CONVERSATION_TURNS, CONVERSATIONS_WHOLE, OPENERS = 0.90, 0.75, 0.90


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


def evaluation_texts():
    texts = [c["text"] for c in yaml.safe_load(E.DEFAULT.read_text())["cases"]]
    texts += [c["text"] for c in yaml.safe_load(E.DEV["oneshot"].read_text())["cases"]]
    for conv in yaml.safe_load(E.DEV["conversations"].read_text())["conversations"]:
        texts += [t["user"] for t in conv["turns"]]
    texts += [o["text"] for o in yaml.safe_load(E.DEV["openers"].read_text())["openers"]]
    # the evaluation corpus (issue 20): every message of every case, the dev part and the blind split alike
    for path in [*E.corpus_paths(), *E.corpus_paths(E.EVAL / "blind")]:
        for c in yaml.safe_load(path.read_text())["cases"]:
            texts += c.get("messages") or [c["text"]]
    return texts


def test_the_development_sets_are_as_large_as_promised():
    assert len(yaml.safe_load(E.DEV["oneshot"].read_text())["cases"]) >= 150
    assert len(yaml.safe_load(E.DEV["conversations"].read_text())["conversations"]) >= 20


def test_evaluation_texts_never_appear_in_training_data():
    """Bare answers and commands of one or two words ("yes", "two", "new case", "not TE") are the assistant's
    vocabulary and may be in both; every longer evaluation text must be absent from data/nlu."""
    from rasa.shared.nlu.training_data.loading import load_data

    train = {_norm(e.get("text")) for e in load_data(str(ROOT / "data/nlu")).training_examples}
    held = {_norm(t) for t in evaluation_texts() if len(t.split()) > 2}
    assert len(held) >= 300
    assert not held & train, sorted(held & train)[:10]


def test_one_shot_dev_set_read_by_the_extractor_meets_the_targets():
    """Without a model (each description read as a case description): the extractor and the intake alone."""
    r = E.evaluate(E.DEV["oneshot"])
    assert r["fields_exact"] >= ONESHOT_FIELDS and r["exact_rate"] >= ONESHOT_CASES, r["errors"][:5]


def test_older_one_shot_set_does_not_regress():
    r = E.evaluate(E.DEFAULT)
    assert r["fields_exact"] >= 0.97 and r["exact_rate"] >= 0.9, r["errors"][:5]


@pytest.fixture(scope="module")
def model_parse(rasa_model):
    return E.ModelParser(rasa_model)


@pytest.mark.slow
def test_one_shot_dev_set_through_the_chat_path_meets_the_targets(model_parse):
    r = E.evaluate_oneshot(E.DEV["oneshot"], model_parse)
    print(f"\none-shot dev (model): fields {r['fields_exact']:.1%}, cases {r['exact_rate']:.1%}")
    assert r["fields_exact"] >= ONESHOT_FIELDS and r["exact_rate"] >= ONESHOT_CASES, r["errors"][:5]


@pytest.mark.slow
def test_conversations_dev_set_meets_the_targets(model_parse):
    r = E.evaluate_conversations(E.DEV["conversations"], model_parse)
    print(f"\nconversations dev: turns {r['turn_rate']:.1%}, whole {r['whole_rate']:.1%}")
    assert r["turn_rate"] >= CONVERSATION_TURNS and r["whole_rate"] >= CONVERSATIONS_WHOLE, r["errors"][:5]


@pytest.mark.slow
def test_openers_dev_set_meets_the_target(model_parse):
    r = E.evaluate_openers(E.DEV["openers"], model_parse)
    print(f"\nopeners dev: {r['rate']:.1%} {r['by_kind']}")
    assert r["rate"] >= OPENERS, r["errors"]


def test_conversation_simulation_mirrors_the_intake():
    """The evaluator's conversation runs on bot.intake as the actions do (a scripted parser, no model)."""
    script = {"help with a relapsed myeloma patient please": ("describe_case", []),
              "hmm": ("nlu_fallback", []), "new case": ("new_case", [])}

    def parse(text):
        return script.get(text) or ("inform", E.extract(text))

    conv = E.Conversation(parse)
    move = conv.turn("help with a relapsed myeloma patient please")
    assert (move.asks, move.prompt) == ("relapse", "intro")
    move = conv.turn("hmm")
    assert (move.asks, move.prompt) == ("relapse", "example")
    move = conv.turn("hmm")
    assert (move.asks, move.prompt) == ("relapse", None)
    for text in ("clinical", "2 prior lines", "len and dara", "fit"):
        conv.turn(text)
    move = conv.turn("no, too old")
    assert move.recommendation and move.changed == {"transplant_eligible": False}
    move = conv.turn("new case")
    assert move.new_case and move.asks == "relapse" and conv.slots.get("prior_lines") is None
