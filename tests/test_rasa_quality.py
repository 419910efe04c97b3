"""Quality gates of the conversation: data validation, end-to-end test stories, held-out NLU F1."""
import json
import re
import subprocess
from pathlib import Path

import pytest
from conftest import BIN, RASA_ENV, ROOT

pytestmark = pytest.mark.slow
F1_GATE = 0.90


def rasa(*args, timeout=1200):
    return subprocess.run(
        [str(BIN / "rasa"), *args], cwd=ROOT, env=RASA_ENV, capture_output=True, text=True, timeout=timeout
    )


def _responses_used_by_code():
    """Responses the actions send by name, and the form's questions (utter_ask_<slot>): Rasa's validator only
    looks for responses in stories and rules, so it reports these as unused."""
    import re

    from bot import intake

    names = {name for module in (ROOT / "actions").glob("*.py")  # every action module (actions.py, note.py, more.py)
             for name in re.findall(r'response="(utter_\w+)"', module.read_text())}
    return names | {f"utter_ask_{slot}" for slot in intake.REQUIRED}


def test_training_data_validates_without_warnings():
    p = rasa("data", "validate")
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-4000:]
    warnings = re.findall(r"UserWarning: (.*)", out)
    unused = re.compile(r"The utterance '(\w+)' is not used in any story or rule\.")
    real = [w for w in warnings if not (unused.match(w) and unused.match(w).group(1) in _responses_used_by_code())]
    assert not real, real


def test_model_is_cached_by_training_data_hash(rasa_model):
    from tools.model import ensure_model, model_path

    assert rasa_model == model_path() and rasa_model.exists()
    before = rasa_model.stat().st_mtime
    assert ensure_model(quiet=True) == rasa_model and rasa_model.stat().st_mtime == before  # no retraining


def test_end_to_end_conversations_all_pass(rasa_model, tmp_path):
    out = tmp_path / "core"
    p = rasa(
        "test",
        "core",
        "--model",
        str(rasa_model),
        "--stories",
        "tests/e2e/test_conversations.yml",
        "--out",
        str(out),
        "--fail-on-prediction-errors",
    )
    failed = out / "failed_test_stories.yml"
    detail = failed.read_text()[:4000] if failed.exists() else ""
    assert p.returncode == 0, (p.stdout + p.stderr)[-3000:] + detail
    report = json.loads((out / "story_report.json").read_text()) if (out / "story_report.json").exists() else {}
    stories = Path(ROOT / "tests/e2e/test_conversations.yml").read_text().count("- story:")
    assert stories >= 25
    print(f"\nend-to-end conversations: {stories}, all passed; action accuracy {report.get('accuracy', 'n/a')}")


def test_held_out_nlu_intent_and_entity_f1(rasa_model, tmp_path):
    out = tmp_path / "nlu"
    p = rasa("test", "nlu", "--model", str(rasa_model), "--nlu", "tests/nlu/heldout.yml", "--out", str(out))
    assert p.returncode == 0, (p.stdout + p.stderr)[-3000:]
    intent = json.loads((out / "intent_report.json").read_text())["weighted avg"]
    entity_file = out / "ClinicalEntityExtractor_report.json"
    entity = json.loads(entity_file.read_text())["weighted avg"]
    results = ROOT / "results"
    results.mkdir(exist_ok=True)
    (results / "nlu_heldout.json").write_text(json.dumps({"intent": intent, "entity": entity}, indent=2))
    print(
        f"\nheld-out NLU: intent P {intent['precision']:.3f} R {intent['recall']:.3f} F1 {intent['f1-score']:.3f}; "
        f"entity P {entity['precision']:.3f} R {entity['recall']:.3f} F1 {entity['f1-score']:.3f}"
    )
    assert intent["f1-score"] >= F1_GATE, intent
    assert entity["f1-score"] >= F1_GATE, entity


def test_held_out_examples_never_appear_in_training_data():
    from rasa.shared.nlu.training_data.loading import load_data

    held = {e.get("text").strip().lower() for e in load_data(str(ROOT / "tests/nlu/heldout.yml")).training_examples}
    train = {e.get("text").strip().lower() for e in load_data(str(ROOT / "data/nlu")).training_examples}
    assert len(held) >= 150
    assert not held & train, sorted(held & train)[:10]
