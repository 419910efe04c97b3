"""Refusals name the field and the rule, never the value sent (issue 18, findings 3 and 4): a patient's name or
number typed where a drug name belongs is not repeated by the command line (one case or a batch, stdout and
stderr), the HTTP API's 422, or the REST channel; and a conversation or session id with a trailing newline is
refused (ids are anchored with \\Z), never stored as a separate conversation."""
from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cli import main
from bot.plugins import inbound
from tools.servers import ROOT

from .support import API_TOKEN, http, rest

NAME = "Johnathan Smithers"
MRN = "MRN0012345678"
BAD = {"prior_lines": 2, "relapse": "clinical", "refractory": ["len", NAME], "exposed": [MRN],
       "unavailable": [f"{NAME}, {MRN}"], "high_risk_cytogenetics": [NAME], "fitness": NAME, "age": MRN,
       "region": NAME, "transplant_eligible": MRN, NAME: MRN}
NAMES = st.from_regex(r"\A[A-Z][a-z]{3,8} [A-Z][a-z]{3,10}\Z") | st.from_regex(r"\A(MRN|NHS)[0-9]{6,10}\Z")


def run_cli(args, stdin: str):
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, input=stdin, capture_output=True,
                          text=True, timeout=120)


def test_the_command_line_names_each_field_and_never_repeats_the_values():
    result = run_cli(["recommend", "-"], json.dumps(BAD))
    assert result.returncode == 2
    out = result.stdout + result.stderr
    for field in ("refractory", "exposed", "unavailable", "high_risk_cytogenetics", "fitness", "age", "region",
                  "transplant_eligible"):
        assert field in out, field
    assert "item 2 is not a drug the knowledge base knows" in out and "field with an unknown name" in out
    assert NAME not in out and MRN not in out and "Smithers" not in out and "0012345678" not in out


def test_a_batch_names_each_field_and_never_repeats_the_values(tmp_path):
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps({"prior_lines": 1, "relapse": "clinical"}) + "\n" + json.dumps(BAD) + "\n")
    result = subprocess.run([sys.executable, "-m", "bot", "recommend", str(cases)], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["error"] == "invalid case"
    assert any(p.startswith("refractory: item 2") for p in json.loads(lines[1])["problems"])
    for stream in (result.stdout, result.stderr):
        assert NAME not in stream and MRN not in stream and "Smithers" not in stream


@settings(max_examples=60, deadline=None)
@given(value=NAMES, field=st.sampled_from(["refractory", "exposed", "unavailable", "high_risk_cytogenetics",
                                            "fitness", "relapse", "region", "age", "prior_lines", "key"]))
def test_no_value_typed_in_any_field_comes_back_in_the_message(value, field):
    case = {"prior_lines": 2, "relapse": "clinical"}
    if field == "key":
        case[value] = 1
    else:
        case[field] = [value] if field in ("refractory", "exposed", "unavailable", "high_risk_cytogenetics") else value
    saved, out, err = (sys.stdin, sys.stdout, sys.stderr), io.StringIO(), io.StringIO()
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(json.dumps(case)), out, err
    try:
        status = main(["recommend", "-"])
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
    assert status == 2
    text = out.getvalue() + err.getvalue()
    assert value not in text and value.split()[-1] not in text


def test_ids_with_a_trailing_newline_are_refused():
    assert inbound.check_sender("ehr-7f3a") == "ehr-7f3a"
    for bad in ("ehr-7f3a\n", "ehr-7f3a\r\n", "\nehr-7f3a"):
        refusal = inbound.check_sender(bad)
        assert isinstance(refusal, inbound.Refusal) and refusal.code == "sender_invalid"
    session = "0123456789abcdef" * 2
    assert inbound.SESSION_ID.match(session) and not inbound.SESSION_ID.match(session + "\n")


def test_unknown_field_names_that_are_not_shaped_like_names_are_not_repeated():
    refusal = inbound.check_fields({"sender": "a", NAME: 1, "mrn_x": 2}, ("sender", "message"))
    assert NAME not in refusal.reason and "Smithers" not in refusal.reason
    assert "'mrn_x'" in refusal.reason and "1 with an unknown name" in refusal.reason


# ---- live: the HTTP API and the REST channel --------------------------------------------------------------
@pytest.mark.slow
def test_the_api_422_names_each_field_and_never_repeats_the_values(servers):
    base = f"http://127.0.0.1:{servers.rasa_port}"
    status, text, _ = http("POST", f"{base}/api/v1/recommend", json.dumps(BAD).encode(),
                           {"Content-Type": "application/json", "Authorization": f"Bearer {API_TOKEN}"})
    assert status == 422
    body = json.loads(text)
    fields = {e["field"] for e in body["errors"]}
    assert {"refractory", "exposed", "fitness", "age", "region"} <= fields
    assert NAME not in text and MRN not in text and "Smithers" not in text
    log = (servers.workdir / "rasa.log").read_text()
    assert "Smithers" not in log and "0012345678" not in log


@pytest.mark.slow
def test_rest_refuses_a_sender_with_a_trailing_newline_and_never_repeats_keys_sent(servers):
    base = f"http://127.0.0.1:{servers.rasa_port}"
    status, body = rest(base, {"sender": "nl-conv\n", "message": "help"})
    assert status == 400 and body["error"] == "sender_invalid"
    status, body = rest(base, {"sender": "nl-conv", "message": "help", NAME: MRN})
    assert status == 400 and body["error"] == "unknown_fields"
    assert NAME not in json.dumps(body) and MRN not in json.dumps(body)
    status, text, _ = http("GET", f"{base}/conversations/nl-conv%0A/tracker?token={API_TOKEN}")
    assert status != 200 or not [e for e in json.loads(text)["events"] if e.get("event") == "user"]
