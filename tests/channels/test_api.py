"""The HTTP API for other programs (/api/v1 on the Rasa server), with a plain HTTP client: the OpenAPI document,
the token, the recommendation and its audit row, the look-ups, and bad input (4xx naming the problem, never 5xx)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot import audit
from bot.clinical.engine import recommend
from bot.clinical.models import Case, Recommendation, parse_case
from tools.servers import API_TOKEN

from .support import ROOT

pytestmark = pytest.mark.slow
AUTH = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"}
CASE = json.loads((ROOT / "examples" / "case-len-dara-refractory.json").read_text())


def post(server, path, body, headers=AUTH):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, text, hdrs = server.post(path, raw, headers)
    return status, (json.loads(text) if text.strip().startswith(("{", "[")) else text), hdrs


def get(server, path, headers=AUTH):
    status, text, hdrs = server.get(path, headers)
    return status, (json.loads(text) if text.strip().startswith(("{", "[")) else text), hdrs


# ---- the document ------------------------------------------------------------------------------------------------
def test_the_openapi_document_is_valid_and_generated_from_the_contract_models(channel_server):
    from openapi_spec_validator import validate_spec

    status, doc, _ = get(channel_server, "/api/v1/openapi.json", headers={})  # open: it holds nothing about a case
    assert status == 200
    validate_spec(doc)
    assert doc["openapi"].startswith("3.0") and doc["servers"] == [{"url": "/api/v1"}]
    assert set(doc["paths"]) == {"/recommend", "/regimens/{code}", "/trials/{id}", "/audit/recall", "/openapi.json"}
    schemas = doc["components"]["schemas"]
    assert set(schemas["Case"]["properties"]) == set(Case.__fields__)
    assert schemas["Case"]["required"] == ["prior_lines", "relapse"]
    assert schemas["Case"]["additionalProperties"] is False
    assert set(schemas["Recommendation"]["properties"]) == set(Recommendation.__fields__)
    assert "const" not in json.dumps(doc)  # OpenAPI 3.0 has no const
    op = doc["paths"]["/recommend"]["post"]
    assert set(op["responses"]) == {"200", "400", "401", "413", "422"}
    parse_case(op["requestBody"]["content"]["application/json"]["example"])  # the example is a valid case
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {**doc["components"]["securitySchemes"]["bearerAuth"],
                                                                  "type": "http", "scheme": "bearer"}
    assert get(channel_server, "/api/v1/", headers={})[:2] == (200, {"status": "ok", "openapi": "/api/v1/openapi.json"})


# ---- the key ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token-0123456789abcdef"},
                                     {"Authorization": f"Basic {API_TOKEN}"}, {"Authorization": API_TOKEN}])
def test_without_the_api_token_every_route_but_the_document_is_refused(channel_server, headers):
    for path in ("/api/v1/regimens/KPd", "/api/v1/trials/CANDOR", "/api/v1/audit/recall"):
        status, body, _ = get(channel_server, path, headers)
        assert status == 401 and body["error"] == "unauthorized" and "result" not in body
    status, body, _ = post(channel_server, "/api/v1/recommend", b"not even json", {**headers, "Content-Type": "x/y"})
    assert status == 401 and body["error"] == "unauthorized"  # the key is checked before the body is read


def test_the_token_also_works_as_a_query_parameter_as_on_rasa_s_http_api(channel_server):
    status, body, _ = get(channel_server, f"/api/v1/trials/CANDOR?token={API_TOKEN}", headers={})
    assert status == 200 and body["id"] == "CANDOR"
    assert API_TOKEN not in channel_server.log.read_text()


# ---- the recommendation ------------------------------------------------------------------------------------------
def test_a_case_gets_the_contract_s_recommendation_and_an_audit_row_with_channel_api(channel_server):
    from openapi_schema_validator import OAS30Validator

    status, rec, headers = post(channel_server, "/api/v1/recommend", CASE)
    assert status == 200, rec
    assert rec == recommend(parse_case(CASE))  # what the command line answers (same engine, same JSON)
    Recommendation.parse_obj(rec)
    _, doc, _ = get(channel_server, "/api/v1/openapi.json", headers={})
    schema = {**doc["components"]["schemas"]["Recommendation"], "components": doc["components"]}
    OAS30Validator(schema).validate(rec)
    assert rec["options"][0]["regimen"] == "cilta-cel" and rec["assessment"]["region"] == "US"
    row_id = headers.get("RRMM-Audit") or headers.get("rrmm-audit")
    assert row_id and row_id.isdigit(), headers
    row = next(r for r in audit.rows(path=os.environ["RRMM_AUDIT_DB"]) if r["id"] == int(row_id))
    assert row["channel"] == "api" and row["offered"] == [o["regimen"] for o in rec["options"]]
    assert row["clinical_case"]["refractory"] == ["daratumumab", "lenalidomide"] and len(row["conversation"]) == 64
    log = channel_server.log.read_text()
    assert f"API: recommendation given (S3, {len(rec['options'])} options, audit row {row_id})" in log


def test_the_region_is_the_case_s_else_the_server_s_default(channel_server):
    base = {"prior_lines": 3, "relapse": "clinical", "refractory": ["len", "bort", "dara"], "fitness": "fit"}
    _, us, _ = post(channel_server, "/api/v1/recommend", base)
    _, eu, _ = post(channel_server, "/api/v1/recommend", {**base, "region": "eu"})
    assert us["assessment"]["region"] == "US" and eu["assessment"]["region"] == "EU"
    assert ("teclistamab" in [o["regimen"] for o in eu["options"]]) != (
        "teclistamab" in [o["regimen"] for o in us["options"]])  # 3 prior lines: the EU label, not the US one


# ---- bad input --------------------------------------------------------------------------------------------------
BAD_CASES = [
    ([1, 2], [("case", "expected a JSON object, got list")]),
    ("a case", [("case", "expected a JSON object, got str")]),
    ({}, [("prior_lines", "required field is missing"), ("relapse", "required field is missing")]),
    ({"prior_lines": "2", "relapse": "clinical"}, [("prior_lines", "value is not a valid integer")]),
    ({"prior_lines": 0, "relapse": "soon"}, None),
    ({"prior_lines": 2, "relapse": "clinical", "name": "x"}, [("name", "unknown field (see contract.md for the case "
                                                                       "fields)")]),
    ({"prior_lines": 2, "relapse": "clinical", "refractory": ["lenalidomide", "Smithomab"]}, None),
    ({"prior_lines": 2, "relapse": "clinical", "refractory": ["len"], "exposed": ["lenalidomide"]}, None),
    ({"prior_lines": 2, "relapse": "clinical", "region": "Mars"}, None),
    ({"prior_lines": 2, "relapse": "clinical", "age": 17, "transplant_eligible": "yes"}, None),
]


@pytest.mark.parametrize("body,expected", BAD_CASES)
def test_an_invalid_case_gets_422_naming_each_field_with_the_command_line_s_messages(channel_server, body, expected,
                                                                                     tmp_path):
    status, answer, _ = post(channel_server, "/api/v1/recommend", body)
    assert status == 422, answer
    assert answer["error"] == "case_invalid"
    pairs = [(e["field"], e["message"]) for e in answer["errors"]]
    if expected:
        assert pairs == expected
    # the command line's message for the same input, line by line
    path = tmp_path / "case.json"
    path.write_text(json.dumps(body))
    cli = subprocess.run([sys.executable, "-m", "bot", "recommend", str(path)], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert cli.returncode == 2
    lines = [line.strip() for line in cli.stderr.splitlines()[1:]]
    assert [f"{field}: {message}" for field, message in pairs] == lines
    assert answer["reason"] == "; ".join(lines)
    assert "Smithomab" not in Path(channel_server.log).read_text()  # nothing of a case reaches the log


@pytest.mark.parametrize("raw,status,error", [
    (b"", 400, "body_empty"),
    (b"{not json", 400, "body_not_json"),
    (b"\xff\xfe{}", 400, "body_not_utf8"),
    (b'{"prior_lines": 2, "x": ' + b"[" * 20 + b"1" + b"]" * 20 + b"}", 400, "body_too_deep"),
    (b"{" + b" " * 200_000 + b"}", 413, "body_too_large"),
])
def test_a_body_that_is_not_a_json_case_gets_a_4xx_with_the_reason(channel_server, raw, status, error):
    got, answer, _ = post(channel_server, "/api/v1/recommend", raw)
    assert (got, answer["error"]) == (status, error), answer
    assert answer["reason"]


def test_unknown_query_parameters_and_wrong_methods_are_refused(channel_server):
    status, answer, _ = post(channel_server, "/api/v1/recommend?stream=true", CASE)
    assert status == 400 and answer["error"] == "unknown_parameters"
    assert get(channel_server, "/api/v1/recommend")[0] == 405


# ---- look-ups ----------------------------------------------------------------------------------------------------
def test_a_regimen_by_code_or_alias_and_a_trial_by_id(channel_server):
    status, reg, _ = get(channel_server, "/api/v1/regimens/kpd")
    assert status == 200 and reg["code"] == "KPd" and reg["components"][:2] == ["carfilzomib", "pomalidomide"]
    assert {s["setting"] for s in reg["settings"]} >= {"S3"} and set(reg["approval"]) == {"US", "EU"}
    assert reg["text"].startswith("KPd: ") and reg["knowledge_edition"] == "2026-12"
    status, reg, _ = get(channel_server, "/api/v1/regimens/cilta-cel")
    assert status == 200 and reg["approval"]["US"]["status"] == "approved 2024-04"
    assert [t["id"] for t in reg["trials"]] == ["CARTITUDE-1", "CARTITUDE-4"]
    assert get(channel_server, "/api/v1/regimens/auto-HCT")[0] == 200
    status, trial, _ = get(channel_server, "/api/v1/trials/candor")
    assert status == 200 and trial["id"] == "CANDOR" and "DKd" in trial["regimens"] and trial["checked"]


def test_an_unknown_regimen_or_trial_gets_404_with_the_closest_known_names(channel_server):
    status, answer, _ = get(channel_server, "/api/v1/regimens/KRD2")
    assert status == 404 and answer["error"] == "not_found" and "KRd" in answer["suggestions"]
    assert "KRD2" not in answer["reason"]  # a refusal never quotes what was sent
    status, answer, _ = get(channel_server, "/api/v1/trials/CARTITUDE-9")
    assert status == 404 and "CARTITUDE-4" in answer["suggestions"]


# ---- edition recall -----------------------------------------------------------------------------------------------
def test_edition_recall_replays_the_api_s_own_audited_recommendations(channel_server):
    from openapi_schema_validator import OAS30Validator

    assert post(channel_server, "/api/v1/recommend", CASE)[0] == 200
    status, report, _ = get(channel_server, "/api/v1/audit/recall")
    assert status == 200
    assert report["checked"] >= 1 and report["differ"] == 0 and report["recommendations"] == []  # same knowledge
    doc = get(channel_server, "/api/v1/openapi.json", headers={})[1]
    schema = {**doc["components"]["schemas"]["RecallReport"], "components": doc["components"]}
    OAS30Validator(schema).validate(json.loads(json.dumps(report).replace("#/components", "#/components")))
    status, report, _ = get(channel_server, "/api/v1/audit/recall?since=2999-01")
    assert status == 200 and report["checked"] == 0


def test_edition_recall_names_a_malformed_edition_without_quoting_it(channel_server):
    status, body, _ = get(channel_server, "/api/v1/audit/recall?since=MRN123456")
    assert status == 400 and body["error"] == "parameter_invalid" and "YYYY-MM" in body["reason"]
    assert "MRN123456" not in json.dumps(body)
