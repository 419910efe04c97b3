"""Knowledge editions: the frozen 2026-11 edition (tests/fixtures/knowledge-2026-11) loads from its directory and
answers through the same engine, so that audited cases can be replayed through an older and the current edition
(edition recall)."""
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from test_engine_properties import cases

from bot.clinical.engine import recommend
from bot.clinical.kb import KnowledgeError, kb, load
from bot.clinical.models import Case, Recommendation

FIXTURE = Path(__file__).parent / "fixtures" / "knowledge-2026-11"


@pytest.fixture(scope="module")
def november():
    return load(FIXTURE)


def test_the_november_edition_loads_from_its_directory(november):
    assert november.edition == "2026-11"
    assert november.version != kb().version  # a different hash of different files


def test_a_path_given_as_text_loads_too():
    assert load(str(FIXTURE)).edition == "2026-11"


def test_a_directory_without_knowledge_files_is_refused_with_its_name(tmp_path):
    with pytest.raises(KnowledgeError, match="missing"):
        load(tmp_path)
    with pytest.raises(KnowledgeError, match="not a directory"):
        load(tmp_path / "absent")


def test_the_engine_answers_with_the_edition_it_is_given(november):
    case = Case(prior_lines=1, relapse="clinical", refractory=["lenalidomide"], fitness="fit")
    old, new = recommend(case, november), recommend(case)
    assert old["knowledge_edition"] == "2026-11"
    assert new["knowledge_edition"] == kb().edition
    assert old["options"] and new["options"]


def _ranked(rec):
    return {o["regimen"]: o["tier"] for o in rec["options"]}


def test_the_two_editions_differ_where_the_2026_12_revision_changed_a_rule(november):
    # R2: progression on lenalidomide maintenance: DRd preferred in 2026-11, only in certain circumstances now
    maintenance = Case(prior_lines=1, relapse="clinical", exposed=["lenalidomide", "bortezomib"], fitness="fit",
                       lenalidomide_maintenance_only=True)
    old, new = recommend(maintenance, november), recommend(maintenance)
    assert _ranked(old)["DRd"] == "preferred" and _ranked(new)["DRd"] == "circumstances"
    assert old["assessment"]["lenalidomide_status"] == "sensitive"
    assert new["assessment"]["lenalidomide_status"] == "refractory"
    # section 8: KPd (off-label everywhere) led S3 in 2026-11
    s3 = Case(prior_lines=2, relapse="clinical", refractory=["lenalidomide", "daratumumab"], exposed=["bortezomib"],
              fitness="fit")
    assert _ranked(recommend(s3, november))["KPd"] == "preferred" and _ranked(recommend(s3))["KPd"] == "circumstances"
    # R1 (b): an early relapse after transplant was not aggressive in 2026-11
    early = Case(prior_lines=1, relapse="clinical", refractory=["lenalidomide"], exposed=["bortezomib"], fitness="fit",
                 transplant_eligible=True, prior_auto_hct=1, months_remission_after_hct=14)
    assert not recommend(early, november)["assessment"]["aggressive"] and recommend(early)["assessment"]["aggressive"]


def test_an_unchanged_case_gets_the_same_options_and_tiers_from_both_editions(november):
    case = Case(prior_lines=2, relapse="clinical", refractory=["lenalidomide", "bortezomib"],
                exposed=["daratumumab"], fitness="fit")
    old, new = recommend(case, november), recommend(case)
    same = {code: tier for code, tier in _ranked(new).items() if code not in ("KPd", "DKPd")}  # off-label in 2026-12
    assert all(_ranked(old).get(code) == tier for code, tier in same.items() if code != "trial")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_any_valid_case_is_answered_by_the_older_edition_in_the_contract_s_shape(november, case):
    rec = recommend(case, november)
    Recommendation.parse_obj(rec)
    assert rec["knowledge_edition"] == "2026-11" and rec["knowledge_version"] == november.version


def test_recommendations_recorded_under_2026_11_are_recalled_under_2026_12_in_a_clinician_s_words(
        november, tmp_path, monkeypatch):
    from bot.audit import trail as audit
    from bot.audit.recall import recall, render_recall

    env = {"RRMM_AUDIT_DB": str(tmp_path / "audit.db"), "RRMM_AUDIT_SALT": "a-test-salt-of-enough-length",
           "RRMM_AUDIT_BUSY_TIMEOUT": "10"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    cases = [
        dict(prior_lines=1, relapse="clinical", exposed=["lenalidomide", "bortezomib"], fitness="fit",
             lenalidomide_maintenance_only=True, transplant_eligible=False),  # R2
        dict(prior_lines=2, relapse="clinical", refractory=["lenalidomide", "daratumumab"], exposed=["bortezomib"],
             fitness="fit", transplant_eligible=False),  # section 8: KPd off-label
        dict(prior_lines=4, relapse="clinical", refractory=["lenalidomide", "bortezomib", "daratumumab"],
             exposed=["pomalidomide", "carfilzomib"], fitness="fit", transplant_eligible=False),  # S5
    ]
    ids = []
    for n, fields in enumerate(cases):
        case = Case(**fields)
        ids.append(audit.record(f"conversation-{n}", "rest", case, recommend(case, november), env=env))
    report = recall(audit.rows(), kb())
    assert report.knowledge_edition == "2026-12" and report.checked == 3
    changed = {r.audit_id: [c.text for c in r.changes] for r in report.changed}
    assert "DRd moved from preferred to in certain circumstances" in changed[ids[0]]
    assert "cilta-cel" not in " ".join(changed[ids[0]])  # an option in both editions (R2 label reading)
    assert "KPd moved from preferred to in certain circumstances" in changed[ids[1]]
    assert "first option now cilta-cel (was KPd)" in changed[ids[1]]
    assert "given under 2026-11" in render_recall(report)
