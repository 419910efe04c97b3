"""The command line (`python -m bot recommend -`) with fuzzed input (hypothesis): every input ends with a
recommendation (status 0) or a message naming the problem (status 2), never a traceback."""
from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli import main
from tools.servers import ROOT

ANY_CHAR = st.characters(blacklist_categories=())
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(ANY_CHAR, max_size=20)
VALUES = st.recursive(SCALARS, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids,
                                                                                          max_size=4), max_leaves=10)
FIELDS = {
    "prior_lines": st.one_of(st.integers(-2, 12), SCALARS), "relapse": st.sampled_from(["none", "biochemical",
                                                                                        "clinical", "CLINICAL", ""]),
    "fitness": st.one_of(st.sampled_from(["fit", "intermediate", "frail"]), SCALARS),
    "refractory": st.one_of(st.lists(st.sampled_from(["Revlimid", "dara", "len", "bortezomib", "x\ud800", ""]),
                                     max_size=4), VALUES),
    "exposed": st.one_of(st.lists(st.text(ANY_CHAR, max_size=12), max_size=3), VALUES),
    "age": st.one_of(st.integers(0, 200), SCALARS), "transplant_eligible": st.one_of(st.booleans(), SCALARS),
    "region": st.one_of(st.sampled_from(["US", "EU"]), SCALARS), "unknown_field": VALUES,
}
CASES = st.fixed_dictionaries({}, optional=FIELDS)
INPUTS = st.one_of(
    CASES.map(lambda c: json.dumps(c, ensure_ascii=True).encode()),
    CASES.map(lambda c: json.dumps(c, ensure_ascii=True).encode()),
    VALUES.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
    st.integers(1, 5000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(1, 5000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.just(b'{"prior_lines": 1, "relapse": "clinical", "note": "' + b"a" * 1_000_000 + b'"}'),
)


def run(raw: bytes, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8"))
    code = main(["recommend", "-", "--format", "text"])
    return code, capsys.readouterr()


@settings(max_examples=200, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(raw=INPUTS)
def test_fuzzed_input_gets_a_recommendation_or_a_message_never_a_traceback(raw, monkeypatch, capsys):
    code, out = run(raw, monkeypatch, capsys)
    assert code in (0, 2), (code, raw[:200])
    if code == 2:
        assert out.err.startswith("error: ") and "Traceback" not in out.err and out.out == ""
    else:
        assert "Options" in out.out or "monitor" in out.out.lower() or out.out


@pytest.mark.parametrize("raw, expected", [
    (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
    (b'{"prior_lines": 2, "relapse": "clinical", "favourite_colour": "blue"}', "favourite_colour"),
    (b"\xff\xfe", "invalid case"),
], ids=["deep", "unknown field", "not UTF-8"])
def test_a_subprocess_exits_2_with_the_reason(raw, expected):
    p = subprocess.run([sys.executable, "-m", "bot", "recommend", "-"], cwd=ROOT, input=raw, capture_output=True,
                       timeout=120)
    err = p.stderr.decode()
    assert p.returncode == 2 and expected in err and "Traceback" not in err, err[-500:]
