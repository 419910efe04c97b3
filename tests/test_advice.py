"""The recommendation service (bot/advice.py) and the doors that call it: one region rule, one parse, the engine, the
audit row from the case the engine used. The chat actions, the HTTP API, the command line and batch all give the same
answer for the same case under the same deployment, and write the same row when they audit."""
from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import advice, audit, batch
from bot.clinical.models import parse_case
from tools.servers import ROOT

CASE = {"age": 97, "prior_lines": 3, "relapse": "clinical", "refractory": ["len", "bort", "dara"], "fitness": "fit",
        "transplant_eligible": False}


@pytest.fixture
def env(tmp_path):
    return {"RRMM_AUDIT_DB": str(tmp_path / "audit.db"), "RRMM_AUDIT_BUSY_TIMEOUT": "10"}


def offered(rec):
    return [o["regimen"] for o in rec["options"]]


# ---- the region rule -------------------------------------------------------------------------------------------
def test_a_case_without_region_gets_the_deployment_s_and_its_labels(env):
    us = advice.advise(CASE, channel="cli", audit=False, env=env)
    eu = advice.advise(CASE, channel="cli", audit=False, env={**env, "RRMM_REGION": " eu "})
    assert us.case.region == "US" and us.recommendation["assessment"]["region"] == "US"
    assert eu.case.region == "EU" and eu.recommendation["assessment"]["region"] == "EU"
    # teclistamab's label: 4 prior lines in the US, 3 in the EU (clinical-spec section 8)
    assert "teclistamab" in offered(eu.recommendation) and "teclistamab" not in offered(us.recommendation)


def test_a_region_the_clinician_gives_wins_over_the_deployment_s(env):
    given_ = advice.advise({**CASE, "region": "US"}, channel="api", audit=False, env={**env, "RRMM_REGION": "EU"})
    assert given_.case.region == "US" and given_.recommendation["assessment"]["region"] == "US"


@pytest.mark.parametrize("value", ["Mars", "UK", "U S", "1"])
def test_an_invalid_rrmm_region_is_a_clear_error_naming_the_variable_never_the_value(value):
    with pytest.raises(advice.SettingError) as caught:
        advice.deployment_region({"RRMM_REGION": value})
    assert str(caught.value) == "RRMM_REGION must be one of US, EU (or unset for US)"
    with pytest.raises(advice.SettingError):  # and no answer with the wrong labels
        advice.advise(CASE, channel="api", audit=False, env={"RRMM_REGION": value})


def test_an_invalid_case_names_each_field(env):
    with pytest.raises(advice.CaseError) as caught:
        advice.advise({"prior_lines": "two", "fitness": "fit"}, channel="api", env=env)
    assert any(p.startswith("prior_lines:") for p in caught.value.problems)
    assert any(p.startswith("relapse:") for p in caught.value.problems)
    assert not os.path.exists(env["RRMM_AUDIT_DB"])  # nothing recorded for a case that got no answer


# ---- the audit row -----------------------------------------------------------------------------------------------
def test_the_audit_row_is_the_case_the_engine_used_region_included(env):
    given_ = advice.advise(CASE, channel="api", conversation="conv-1", env={**env, "RRMM_REGION": "EU"})
    (row,) = audit.rows(env=env)
    assert given_.recorded and row["id"] == given_.audit_id
    assert row["channel"] == "api" and row["clinical_case"]["region"] == "EU"
    assert row["clinical_case"]["age"] == 90  # de-identified as before
    assert row["clinical_case"]["refractory"] == ["bortezomib", "daratumumab", "lenalidomide"]
    assert row["offered"] == offered(given_.recommendation) and "teclistamab" in row["offered"]
    us = advice.advise(CASE, channel="rest", conversation="conv-2", env=env)
    assert audit.rows(env=env)[-1]["clinical_case"]["region"] == "US" == us.case.region  # the default is recorded too


def test_no_row_unless_asked(env):
    advice.advise(CASE, channel="cli", audit=False, env=env)
    assert not os.path.exists(env["RRMM_AUDIT_DB"])


def test_a_failed_audit_write_keeps_the_answer_logs_and_says_why(tmp_path, caplog):
    broken = {"RRMM_AUDIT_DB": str(tmp_path)}  # a directory: the write fails
    with caplog.at_level(logging.ERROR, logger="bot.advice"):
        given_ = advice.advise(CASE, channel="api", env=broken)
    assert not given_.recorded and given_.audit_id is None and "cannot write the audit log" in given_.audit_error
    assert given_.recommendation["options"]
    assert "was NOT recorded" in caplog.text


def test_the_async_form_gives_the_same_answer_and_row(env):
    given_ = asyncio.run(advice.advise_async(CASE, channel="socketio", conversation="c", env=env))
    assert given_.recommendation == advice.advise(CASE, channel="cli", audit=False, env=env).recommendation
    assert audit.rows(env=env)[0]["channel"] == "socketio" and given_.audit_id == 1


CASES = st.fixed_dictionaries(
    {"prior_lines": st.integers(1, 6), "relapse": st.sampled_from(["clinical", "biochemical"]),
     "fitness": st.sampled_from(["fit", "intermediate", "frail"]),
     "refractory": st.lists(st.sampled_from(["len", "bort", "dara", "pom", "carfilzomib"]), unique=True, max_size=4)},
    optional={"region": st.sampled_from(["US", "EU"]), "transplant_eligible": st.booleans()})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=CASES, deployment=st.sampled_from(["US", "EU", None]))
def test_every_answer_is_the_engine_s_for_the_case_with_the_region_rule_applied(case, deployment):
    env = {"RRMM_REGION": deployment} if deployment else {}
    from bot.clinical.engine import recommend

    given_ = advice.advise(case, channel="api", audit=False, env=env)
    expected_region = case.get("region") or deployment or "US"
    assert given_.case.region == expected_region
    assert given_.recommendation == recommend(parse_case({**case, "region": expected_region}))


# ---- the doors: command line and batch ------------------------------------------------------------------------------
def bot_cli(*args, stdin=None, env=None):
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, input=stdin, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=120)


def test_the_command_line_follows_rrmm_region_and_stops_on_an_invalid_one(env):
    res = bot_cli("recommend", "-", stdin=json.dumps(CASE), env={**env, "RRMM_REGION": "EU"})
    assert res.returncode == 0 and json.loads(res.stdout)["assessment"]["region"] == "EU"
    res = bot_cli("recommend", "-", stdin=json.dumps(CASE), env={**env, "RRMM_REGION": "Mars"})
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.strip() == "error: RRMM_REGION must be one of US, EU (or unset for US)"
    assert "Traceback" not in res.stderr


def test_the_command_line_audits_only_when_asked(env):
    assert bot_cli("recommend", "-", stdin=json.dumps(CASE), env=env).returncode == 0
    assert not os.path.exists(env["RRMM_AUDIT_DB"])
    res = bot_cli("recommend", "-", "--audit", stdin=json.dumps(CASE), env=env)
    assert res.returncode == 0
    (row,) = audit.rows(env=env)
    assert row["channel"] == "cli" and row["offered"] == offered(json.loads(res.stdout))


def test_the_command_line_says_when_the_audit_write_failed(tmp_path):
    res = bot_cli("recommend", "-", "--audit", stdin=json.dumps(CASE), env={"RRMM_AUDIT_DB": str(tmp_path)})
    assert res.returncode == 1 and json.loads(res.stdout)["options"]  # the answer is still given
    assert "not recorded in the audit trail" in res.stderr and "Traceback" not in res.stderr


def test_batch_audits_every_case_when_asked_memo_or_not(env, monkeypatch):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    lines = [CASE, CASE, {**CASE, "region": "US"}, {"prior_lines": 0}]
    raw = b"\n".join(json.dumps(c).encode() for c in lines) + b"\n"
    out, err = io.BytesIO(), io.StringIO()
    trail = batch.Audit()
    done, invalid = batch.run(io.BytesIO(raw), out, err, progress=False, audit=trail)
    assert (done, invalid, trail.failed) == (3, 1, 0)
    rows = audit.rows(env=env)
    assert len(rows) == 3 and {r["channel"] for r in rows} == {"batch"}
    assert len({r["conversation"] for r in rows}) == 1  # one run, one conversation
    answers = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["offered"] for r in rows] == [offered(a) for a in answers[:3]]
    out2 = io.BytesIO()
    batch.run(io.BytesIO(raw), out2, io.StringIO(), progress=False)  # without --audit: the same answers, no row
    assert out2.getvalue() == out.getvalue() and len(audit.rows(env=env)) == 3


def test_batch_follows_rrmm_region(env):
    res = subprocess.run([sys.executable, "-m", "bot", "recommend", "-", "--batch"], cwd=ROOT,
                         input=json.dumps(CASE) + "\n", capture_output=True, text=True, timeout=120,
                         env={**os.environ, **env, "RRMM_REGION": "EU"})
    assert res.returncode == 0 and json.loads(res.stdout)["assessment"]["region"] == "EU"
