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
    path.write_text("\n".join(json.dumps(c) for c in cases) + "\n")
    p = cli(str(path))
    assert p.returncode == 0, p.stderr
    lines = p.stdout.decode().splitlines()
    assert len(lines) == len(cases)
    for n, (case, line) in enumerate(zip(cases, lines, strict=True), 1):
        assert json.loads(line) == {"line": n, **recommend(parse_case(case))}
    assert p.stderr == b""  # not a terminal: no progress


def test_an_invalid_line_gets_an_error_object_in_place_a_message_and_exit_2_while_the_others_are_answered():
    rows = [json.dumps(LEN_DARA), '{"prior_lines": -1, "relapse": "clinical"}', "not json", "[1, 2]",
            json.dumps({**LEN_DARA, "region": "EU"})]
    p = cli("-", "--batch", stdin="\n".join(rows).encode())
    assert p.returncode == 2
    out = [json.loads(x) for x in p.stdout.decode().splitlines()]
    assert out[0]["options"][0]["regimen"] == "SVd" and out[4]["assessment"]["region"] == "EU"
    assert [row["line"] for row in out] == [1, 2, 3, 4, 5]
    assert out[1]["error"] == "invalid case"  # the older members, kept for one edition
    assert any("prior_lines" in m for m in out[1]["problems"])
    # the one error format (bot/problems.py): type, title, status, detail, errors with field and rule
    assert out[1]["type"] == "urn:rrmm:problem:case_invalid" and out[1]["status"] == 422
    assert out[1]["title"] == "Invalid case" and "prior_lines" in out[1]["detail"]
    assert {"field": "prior_lines", "rule": "ensure this value is greater than or equal to 1"} in out[1]["errors"]
    assert "-1" not in json.dumps(out[1]["errors"])  # never the value sent
    assert out[2]["type"] == "urn:rrmm:problem:line_unreadable" and out[2]["status"] == 400
    assert "not valid JSON" in out[2]["problems"][0] and out[2]["errors"][0]["field"] == "line"
    assert out[3]["problems"] == ["case: expected a JSON object, got list"]
    err = p.stderr.decode()
    assert "line 2: " in err and "prior_lines" in err and "line 3: not valid JSON" in err
    assert "3 invalid lines" in err and "Traceback" not in err


def test_text_format_is_refused_in_batch_mode_and_a_missing_file_is_named(tmp_path):
    p = cli(str(tmp_path / "x.jsonl"), "--format", "text")
    assert p.returncode == 2 and b"batch mode writes JSON lines" in p.stderr
    p = cli(str(tmp_path / "missing.jsonl"))
    assert p.returncode == 2 and b"cannot read" in p.stderr and b"Traceback" not in p.stderr


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_on_a_terminal_a_progress_bar_shows_the_share_of_the_file_and_problems_never_land_on_it():
    rows = [json.dumps(LEN_DARA)] * 700 + ["not json"] + [json.dumps(LEN_DARA)] * 300 + ["{}"]
    raw = ("\n".join(rows) + "\n").encode()
    out, err = io.BytesIO(), _Terminal()
    done, invalid = batch.run(io.BytesIO(raw), out, err, total_bytes=len(raw))
    assert (done, invalid) == (1000, 2) and len(out.getvalue().splitlines()) == 1002
    # what a terminal shows: each \r redraws the line, so the visible text of a line is after its last \r
    shown = [line.split("\r")[-1] for line in err.getvalue().split("\n")]
    problems = [line for line in shown if line.startswith("line ")]
    assert len(problems) == 2 and problems[0].startswith("line 701: not valid JSON (")
    assert problems[1] == "line 1002: prior_lines: required field is missing; relapse: required field is missing"
    for text in err.getvalue().split("\n"):
        if "line 7" in text or "line 1002" in text:  # drawn on a cleared line, not appended to the bar
            assert text.split("\r")[-1].startswith("line "), repr(text)
    bar = [line for line in shown if line.startswith("cases:")][-1]
    assert "100%" in bar and "1,000 answered, 2 invalid" in bar


def test_piped_nothing_but_the_problems_goes_to_standard_error():
    raw = (json.dumps(LEN_DARA) + "\n\n").encode()
    out, err = io.BytesIO(), io.StringIO()
    assert batch.run(io.BytesIO(raw), out, err, total_bytes=len(raw)) == (1, 1)
    assert err.getvalue() == "line 2: blank line: expected a case (one JSON object)\n"


def test_the_memo_is_bounded_and_keyed_on_the_fields_not_their_order():
    memo = batch._Memo(2)
    a, b = batch.answer_line(json.dumps(LEN_DARA).encode(), memo)[0], None
    reordered = json.dumps(dict(reversed(list(LEN_DARA.items())))).encode()
    b = batch.answer_line(reordered, memo)[0]
    assert a == b and memo.hits == 1
    for n in range(3, 6):
        batch.answer_line(json.dumps({**LEN_DARA, "prior_lines": n}).encode(), memo)
    assert len(memo.items) == 2


def test_every_input_line_gets_its_row_blank_and_unreadable_ones_included(tmp_path):
    rows = [json.dumps({**LEN_DARA, "id": "S-001"}), "", "   ", b"\xff\xfe{", json.dumps(LEN_DARA),
            json.dumps({**LEN_DARA, "id": "S-003", "prior_lines": 0})]
    raw = b"\n".join(r if isinstance(r, bytes) else r.encode() for r in rows) + b"\n"
    p = cli("-", "--batch", stdin=raw)
    assert p.returncode == 2
    out = [json.loads(x) for x in p.stdout.decode().splitlines()]
    assert [row["line"] for row in out] == [1, 2, 3, 4, 5, 6], "output line N answers input line N"
    assert out[0]["id"] == "S-001" and out[0]["options"] == recommend(parse_case(LEN_DARA))["options"]
    assert list(out[0])[:2] == ["line", "id"] and "id" not in out[4]
    for blank in out[1:3]:
        assert blank["type"] == "urn:rrmm:problem:line_unreadable" and "blank line" in blank["detail"]
    assert out[3]["status"] == 400 and "not valid JSON" in out[3]["detail"]
    assert out[5]["id"] == "S-003"
    assert out[5]["errors"] == [{"field": "prior_lines", "rule": "ensure this value is greater than or equal to 1"}]
    err = p.stderr.decode()
    assert "line 2: blank line" in err and "line 3: blank line" in err and "4 invalid lines" in err


def test_an_id_that_is_not_a_short_text_is_named_without_being_quoted():
    memo = batch._Memo(8)
    for bad in ("x" * 65, 12345, ""):
        line, problems = batch.answer_line(json.dumps({**LEN_DARA, "id": bad}).encode(), memo, 9)
        row = json.loads(line)
        assert row["line"] == 9 and row["status"] == 422 and "id" not in row
        assert row["errors"][0]["field"] == "id" and "64 characters" in row["errors"][0]["rule"]
        assert str(bad) not in row["detail"] or bad == ""


def test_the_id_never_reaches_the_audit_trail():
    from bot.audit.trail import deidentify_case

    case = parse_case({**LEN_DARA, "id": "STUDY-42"})
    assert case.id == "STUDY-42"
    assert "id" not in deidentify_case(case) and "STUDY-42" not in json.dumps(deidentify_case(case))
    assert recommend(case) == recommend(parse_case(LEN_DARA)), "the id does not change the answer"


def test_workers_answer_in_the_input_s_order_exactly_as_one_process(tmp_path):
    rng = random.Random(5)
    rows = [json.dumps({**random_case(rng), "id": f"row-{i}"}) for i in range(600)]
    rows[17], rows[400] = "", "nonsense"
    path = tmp_path / "cohort.jsonl"
    path.write_text("\n".join(rows) + "\n")
    one, two = cli(str(path), "--workers", "1"), cli(str(path), "--workers", "2")
    assert one.returncode == two.returncode == 2
    assert one.stdout == two.stdout and len(two.stdout.splitlines()) == 600
    assert [json.loads(x)["line"] for x in two.stdout.splitlines()] == list(range(1, 601))
    assert cli(str(path), "--workers", "0").returncode == 2


def test_with_audit_every_case_is_recorded_without_its_study_id(tmp_path):
    from bot import audit

    env = {**__import__("os").environ, "RRMM_AUDIT_DB": str(tmp_path / "audit.db")}
    rows = "\n".join([json.dumps({**LEN_DARA, "id": "STUDY-0042"}), "", json.dumps({**LEN_DARA, "id": "STUDY-0043"})])
    p = subprocess.run([sys.executable, "-m", "bot", "recommend", "-", "--batch", "--audit", "--workers", "2"],
                       input=(rows + "\n").encode(), capture_output=True, cwd=ROOT, env=env)
    assert p.returncode == 2  # the blank line
    out = [json.loads(x) for x in p.stdout.decode().splitlines()]
    assert [r["line"] for r in out] == [1, 2, 3] and out[2]["id"] == "STUDY-0043"
    recorded = audit.rows(env={"RRMM_AUDIT_DB": env["RRMM_AUDIT_DB"]})
    assert len(recorded) == 2 and {r["channel"] for r in recorded} == {"batch"}
    assert "STUDY-004" not in json.dumps(recorded), "a study id is never stored in the audit trail"
