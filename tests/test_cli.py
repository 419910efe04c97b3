"""The command line of contract.md: exit codes, messages naming the field, no tracebacks."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True, cwd=ROOT)


def test_recommend_json_from_file():
    p = run("recommend", "examples/case-len-dara-refractory.json")
    assert p.returncode == 0, p.stderr
    rec = json.loads(p.stdout)
    assert rec["assessment"]["setting"] == "S3" and rec["options"][0]["regimen"] == "cilta-cel"


def test_recommend_text_from_stdin():
    case = {"prior_lines": 1, "relapse": "clinical", "exposed": ["Revlimid"], "fitness": "fit"}
    p = run("recommend", "-", "--format", "text", stdin=json.dumps(case))
    assert p.returncode == 0, p.stderr
    assert "1. DRd" in p.stdout and "2. KRd" in p.stdout and "not a substitute for clinical judgement" in p.stdout
    assert p.stdout.startswith("Read as: ") and len(p.stdout.splitlines()) <= 15  # the short answer
    full = run("recommend", "-", "--format", "text", "--details", stdin=json.dumps(case)).stdout
    assert "Options (ranked):" in full and "Cautions:" in full and len(full) > len(p.stdout)


def test_text_for_a_terminal_wraps_to_its_width():
    from bot.clinical.render import wrap_for_terminal

    text = run("recommend", "examples/case-len-dara-refractory.json", "--format", "text", "--details").stdout
    wrapped = wrap_for_terminal(text, 80)
    assert max(map(len, wrapped.splitlines())) <= 80
    assert " ".join(wrapped.split()) == " ".join(text.split())  # the same words, only wrapped


@pytest.mark.parametrize(
    "case,field",
    [
        ({"relapse": "clinical"}, "prior_lines: required field is missing"),
        ({"prior_lines": 2, "relapse": "sometimes"}, "relapse:"),
        ({"prior_lines": 2, "relapse": "clinical", "refractory": ["carfilzomab"]}, "closest known: carfilzomib"),
        ({"prior_lines": 2, "relapse": "clinical", "age": 12}, "age:"),
        ({"prior_lines": 2, "relapse": "clinical", "mrn": "123"}, "mrn: unknown field"),
        (
            {"prior_lines": 2, "relapse": "clinical", "refractory": ["len"], "exposed": ["Revlimid"]},
            "both refractory and exposed",
        ),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_invalid_case_exits_2_naming_the_field(case, field):
    p = run("recommend", "-", stdin=json.dumps(case))
    assert p.returncode == 2
    assert field in p.stderr and "Traceback" not in p.stderr and p.stdout == ""


def test_a_study_id_comes_back_with_the_json_answer_and_a_bad_one_is_named_not_echoed():
    case = {"prior_lines": 1, "relapse": "clinical", "exposed": ["lenalidomide"], "fitness": "fit", "id": "trial-07"}
    p = run("recommend", "-", stdin=json.dumps(case))
    assert p.returncode == 0, p.stderr
    rec = json.loads(p.stdout)
    assert rec["id"] == "trial-07" and rec["options"], "the id first, then the whole recommendation"
    p = run("recommend", "-", stdin=json.dumps(dict(case, id="x" * 65)))
    assert p.returncode == 2 and "id: must be text of 1 to 64 characters" in p.stderr
    assert "x" * 65 not in p.stderr + p.stdout and "Traceback" not in p.stderr


def test_broken_json_and_missing_file():
    p = run("recommend", "-", stdin="{not json")
    assert p.returncode == 2 and "not valid JSON" in p.stderr and "Traceback" not in p.stderr
    p = run("recommend", "/no/such/case.json")
    assert p.returncode == 2 and "cannot read" in p.stderr


def test_regimen_and_trial_lookups():
    p = run("regimen", "cybord")
    assert p.returncode == 0 and p.stdout.startswith("VCd:") and "EVOLUTION" in p.stdout
    p = run("trial", "candor")
    assert p.returncode == 0 and "37%" in p.stdout


def test_unknown_regimen_or_trial_exits_2_with_closest_codes():
    p = run("regimen", "KRD2")
    assert p.returncode == 2 and "KRd" in p.stderr and "Traceback" not in p.stderr
    p = run("trial", "Pollux-2")
    assert p.returncode == 2 and "POLLUX" in p.stderr


def test_usage_errors_exit_2():
    assert run().returncode == 2
    assert run("recommend", "-", "--format", "xml", stdin="{}").returncode == 2


def test_recommend_follows_the_region_of_the_case():
    case = {"prior_lines": 3, "relapse": "clinical", "fitness": "fit", "refractory": ["len", "bort", "dara"],
            "exposed": ["pom", "carfil"]}
    us = json.loads(run("recommend", "-", stdin=json.dumps(case)).stdout)
    eu = json.loads(run("recommend", "-", stdin=json.dumps({**case, "region": "EU"})).stdout)
    assert us["assessment"]["region"] == "US" and eu["assessment"]["region"] == "EU"
    assert "teclistamab" not in [o["regimen"] for o in us["options"]]
    assert "teclistamab" in [o["regimen"] for o in eu["options"]] and eu["knowledge_edition"] == "2026-12"
    text = run("recommend", "-", "--format", "text", stdin=json.dumps({**case, "region": "EU"})).stdout
    assert "EU labels" in text and "Knowledge 2026-12." in text
    p = run("recommend", "-", stdin=json.dumps({**case, "region": "Mars"}))
    assert p.returncode == 2 and "region:" in p.stderr and "Traceback" not in p.stderr
