"""Cohort screening on the command line: `python -m bot recommend CASES.jsonl` (bot/batch.py)."""
import io
import json
import random
import subprocess
import sys
from pathlib import Path

from bench.engine import random_case
from bot import batch
from bot.clinical.engine import recommend
from bot.clinical.models import parse_case

ROOT = Path(__file__).resolve().parent.parent
LEN_DARA = {"prior_lines": 2, "relapse": "clinical", "refractory": ["lenalidomide", "daratumumab"], "fitness": "fit",
            "transplant_eligible": False}


def cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "bot", "recommend", *args], input=stdin, capture_output=True,
                          cwd=ROOT)


def test_every_line_gets_the_same_answer_as_the_single_case_command_in_the_input_order(tmp_path):
    rng = random.Random(11)
    cases = [random_case(rng) for _ in range(60)]
    cases += cases[:10]  # repeated profiles: answered from the memo, identically
    path = tmp_path / "cohort.jsonl"
    path.write_text("\n".join(json.dumps(c) for c in cases) + "\n\n")  # a trailing blank line is skipped
    p = cli(str(path))
    assert p.returncode == 0, p.stderr
    lines = p.stdout.decode().splitlines()
    assert len(lines) == len(cases)
    for case, line in zip(cases, lines, strict=True):
        assert json.loads(line) == recommend(parse_case(case))
    assert p.stderr == b""  # not a terminal: no progress


def test_an_invalid_line_gets_an_error_object_in_place_a_message_and_exit_2_while_the_others_are_answered():
    rows = [json.dumps(LEN_DARA), '{"prior_lines": -1, "relapse": "clinical"}', "not json", "[1, 2]",
            json.dumps({**LEN_DARA, "region": "EU"})]
    p = cli("-", "--batch", stdin="\n".join(rows).encode())
    assert p.returncode == 2
    out = [json.loads(x) for x in p.stdout.decode().splitlines()]
    assert out[0]["options"][0]["regimen"] == "SVd" and out[4]["assessment"]["region"] == "EU"
    assert out[1]["line"] == 2 and out[1]["error"] == "invalid case"
    assert any("prior_lines" in m for m in out[1]["problems"])
    assert out[2]["line"] == 3 and "not valid JSON" in out[2]["problems"][0]
    assert out[3]["problems"] == ["case: expected a JSON object, got list"]
    err = p.stderr.decode()
    assert "line 2: " in err and "prior_lines" in err and "line 3: not valid JSON" in err
    assert "3 invalid lines" in err and "Traceback" not in err


def test_text_format_is_refused_in_batch_mode_and_a_missing_file_is_named(tmp_path):
    p = cli(str(tmp_path / "x.jsonl"), "--format", "text")
    assert p.returncode == 2 and b"batch mode writes JSON lines" in p.stderr
    p = cli(str(tmp_path / "missing.jsonl"))
    assert p.returncode == 2 and b"cannot read" in p.stderr and b"Traceback" not in p.stderr


def test_progress_is_shown_on_a_terminal_with_the_share_of_the_file_and_the_rate():
    rows = ("\n".join([json.dumps(LEN_DARA)] * 30) + "\n").encode()
    out, err = io.BytesIO(), io.StringIO()
    done, invalid = batch.run(io.BytesIO(rows), out, err, total_bytes=len(rows), progress=True)
    assert (done, invalid) == (30, 0) and len(out.getvalue().splitlines()) == 30
    last = err.getvalue().rstrip("\n").split("\r")[-1]
    assert last.startswith("30 cases (100%), ") and last.endswith("/s")


def test_the_memo_is_bounded_and_keyed_on_the_fields_not_their_order():
    memo = batch._Memo(2)
    a, b = batch.answer_line(json.dumps(LEN_DARA).encode(), memo)[0], None
    reordered = json.dumps(dict(reversed(list(LEN_DARA.items())))).encode()
    b = batch.answer_line(reordered, memo)[0]
    assert a == b and memo.hits == 1
    for n in range(3, 6):
        batch.answer_line(json.dumps({**LEN_DARA, "prior_lines": n}).encode(), memo)
    assert len(memo.items) == 2
