"""Edition recall (`python -m bot audit recall`, bot/audit/recall.py): recommendations recorded under one edition of
the knowledge are replayed under another, and exactly those that would now differ are listed, in words."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot import audit
from bot.audit.recall import differences, recall, render_recall
from bot.clinical.engine import recommend
from bot.clinical.kb import kb, load
from bot.clinical.models import parse_case
from tools.servers import ROOT

FIXTURE_2026_11 = ROOT / "tests" / "fixtures" / "knowledge-2026-11"

LEN_SENSITIVE = {"prior_lines": 1, "relapse": "clinical", "refractory": [], "exposed": ["bortezomib", "lenalidomide"],
                 "fitness": "fit", "transplant_eligible": False}
TRIPLE_CLASS = {"prior_lines": 4, "relapse": "clinical", "refractory": ["lenalidomide", "bortezomib", "daratumumab"],
                "fitness": "fit", "transplant_eligible": False}


@pytest.fixture
def env(tmp_path, monkeypatch):
    values = {"RRMM_AUDIT_DB": str(tmp_path / "audit.db"), "RRMM_AUDIT_SALT": "a-test-salt-of-enough-length",
              "RRMM_AUDIT_BUSY_TIMEOUT": "10"}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def candidate_edition(tmp_path: Path, edit) -> Path:
    """A copy of the 2026-11 knowledge with one change (a candidate edition), edition 2099-01."""
    target = tmp_path / "candidate"
    shutil.copytree(FIXTURE_2026_11, target)
    settings = yaml.safe_load((target / "settings.yml").read_text())
    edit(settings)
    (target / "settings.yml").write_text(yaml.safe_dump(settings, sort_keys=False))
    labels = (target / "labels.yml").read_text()
    (target / "labels.yml").write_text(labels.replace('edition: "2026-11"', 'edition: "2099-01"'))
    return target


def move_drd_to_recommended(settings):
    s1 = next(s for s in settings["settings"] if s["id"] == "S1")
    drd = next(c for c in s1["preferred"] if c["regimen"] == "DRd")
    s1["preferred"].remove(drd)
    s1["recommended"].insert(0, drd)


def record_under(knowledge, cases, env, channel="rest"):
    ids = []
    for n, case in enumerate(cases):
        c = parse_case(case)
        ids.append(audit.record(f"conversation-{n}", channel, c, recommend(c, knowledge), env=env))
    return ids


def test_the_fixture_is_the_2026_11_edition_and_loads():
    old = load(FIXTURE_2026_11)
    assert old.edition == "2026-11"
    assert "DRd" in old.regimens


def test_only_the_recommendations_that_would_change_are_listed_in_words(env, tmp_path):
    old = load(FIXTURE_2026_11)
    new = load(candidate_edition(tmp_path, move_drd_to_recommended))
    ids = record_under(old, [LEN_SENSITIVE, TRIPLE_CLASS, LEN_SENSITIVE], env)
    report = recall(audit.rows(), new)
    assert report.checked == 3
    assert [r.audit_id for r in report.changed] == [ids[0], ids[2]]  # the triple-class case is unaffected
    texts = [c.text for c in report.changed[0].changes]
    assert "DRd moved from preferred to other recommended" in texts
    assert any(t.startswith("first option now KRd (was DRd)") for t in texts)
    text = render_recall(report)
    assert "3 recommendations checked, 2 would now differ" in text
    assert f"Audit #{ids[0]}," in text and "rest" in text and "given under 2026-11" in text
    assert "S1" not in text and "seed" not in text.lower()  # words for people, no setting codes


def test_unchanged_knowledge_recalls_nothing(env):
    record_under(kb(), [LEN_SENSITIVE, TRIPLE_CLASS], env)
    report = recall(audit.rows(), kb())
    assert report.checked == 2 and report.changed == []


def test_a_regimen_gone_from_the_options_says_why(env, tmp_path):
    def drop_kpd_from_s3_and_s5(settings):
        for s in settings["settings"]:
            for tier in ("preferred", "recommended", "circumstances"):
                s[tier] = [c for c in s.get(tier) or [] if c["regimen"] != "KPd"]
    old = load(FIXTURE_2026_11)
    assert "KPd" in [o["regimen"] for o in recommend(parse_case(TRIPLE_CLASS), old)["options"]]
    new = load(candidate_edition(tmp_path, drop_kpd_from_s3_and_s5))
    record_under(old, [TRIPLE_CLASS], env)
    (row,) = recall(audit.rows(), new).changed
    (gone,) = [c for c in row.changes if c.regimen == "KPd"]
    assert gone.kind == "removed" and gone.text.startswith("KPd no longer an option: ")


def test_since_keeps_only_rows_given_under_that_edition_or_later(env, tmp_path):
    old = load(FIXTURE_2026_11)
    new = load(candidate_edition(tmp_path, move_drd_to_recommended))
    record_under(old, [LEN_SENSITIVE], env)
    assert recall(audit.rows(), new, since="2026-11").checked == 1
    assert recall(audit.rows(), new, since="2026-12").checked == 0
    with pytest.raises(ValueError, match="YYYY-MM"):
        recall(audit.rows(), new, since="last month")


def test_the_row_holds_the_case_as_the_engine_used_it_region_included(env):
    case = parse_case({**LEN_SENSITIVE, "region": "EU"})
    row_id = audit.record("c", "rest", case, recommend(case), env=env)
    (row,) = [r for r in audit.rows() if r["id"] == row_id]
    assert row["clinical_case"]["region"] == "EU"
    assert row["knowledge_edition"] == kb().edition
    assert row["tiers"]["DRd"] == "preferred"
    # the region the engine used wins over a case rebuilt without it (the chat's deployment default)
    eu_rec = recommend(case)
    row_id = audit.record("c", "rest", parse_case(LEN_SENSITIVE), eu_rec, env=env)
    assert [r for r in audit.rows() if r["id"] == row_id][0]["clinical_case"]["region"] == "EU"


def test_rows_of_an_older_trail_are_migrated_and_still_compared(env, tmp_path):
    """A database written before the trail kept edition, tiers and region: columns added, options compared."""
    old = load(FIXTURE_2026_11)
    rec = recommend(parse_case(LEN_SENSITIVE), old)
    con = sqlite3.connect(env["RRMM_AUDIT_DB"])
    con.execute("CREATE TABLE recommendations (id INTEGER PRIMARY KEY, uid TEXT NOT NULL, ts TEXT NOT NULL, "
                "conversation TEXT NOT NULL, channel TEXT, node TEXT, engine_version TEXT NOT NULL, "
                "knowledge_version TEXT NOT NULL, setting TEXT, clinical_case TEXT NOT NULL, offered TEXT NOT NULL, "
                "excluded TEXT NOT NULL, cautions TEXT NOT NULL)")
    con.execute("INSERT INTO recommendations VALUES (1, 'u1', '2026-11-30T10:00:00.000000Z', 'h', 'slack', 'n', "
                "'e', 'v', 'S1', ?, ?, '[]', '[]')", (json.dumps({k: v for k, v in LEN_SENSITIVE.items()}),
                                                      json.dumps([o["regimen"] for o in rec["options"]])))
    con.commit()
    con.close()
    audit.record("new", "rest", parse_case(TRIPLE_CLASS), recommend(parse_case(TRIPLE_CLASS), old), env=env)
    rows = audit.rows()
    assert rows[0]["knowledge_edition"] is None and rows[1]["knowledge_edition"] == "2026-11"
    new = load(candidate_edition(tmp_path, move_drd_to_recommended))
    (changed,) = recall(rows, new, default_region="EU").changed
    assert changed.audit_id == 1 and changed.region == "EU"
    assert "region not recorded: replayed with EU labels" in changed.notes
    assert any(c.kind == "first" for c in changed.changes)
    assert not any(c.kind == "tier" for c in changed.changes)  # the old row holds no tiers to compare


def test_differences_name_added_options_with_their_tier():
    k = kb()
    rec = recommend(parse_case(TRIPLE_CLASS))
    row = {"offered": [o["regimen"] for o in rec["options"] if o["regimen"] != "cilta-cel"],
           "tiers": {o["regimen"]: o["tier"] for o in rec["options"] if o["regimen"] != "cilta-cel"}}
    assert [c.text for c in differences(row, rec, k) if c.kind == "added"] == ["cilta-cel now an option (preferred)"]


def run_cli(*args, env):
    return subprocess.run([sys.executable, "-m", "bot", "audit", "recall", *args], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=120)


def test_the_command_line_in_text_and_json(env, tmp_path):
    old = load(FIXTURE_2026_11)
    ids = record_under(old, [LEN_SENSITIVE, TRIPLE_CLASS], env)
    candidate = candidate_edition(tmp_path, move_drd_to_recommended)
    out = run_cli("--knowledge", str(candidate), env=env)
    assert out.returncode == 0, out.stderr
    assert "2 recommendations checked, 1 would now differ" in out.stdout
    assert "DRd moved from preferred to other recommended" in out.stdout
    out = run_cli("--knowledge", str(candidate), "--format", "json", env=env)
    data = json.loads(out.stdout)
    assert data["knowledge_edition"] == "2099-01" and data["differ"] == 1
    assert data["recommendations"][0]["audit_id"] == ids[0]
    assert {"regimen": "DRd", "kind": "tier", "before": "preferred", "after": "recommended"}.items() <= \
        data["recommendations"][0]["changes"][0].items() or any(
            c["kind"] == "tier" and c["regimen"] == "DRd" for c in data["recommendations"][0]["changes"])


def test_the_command_line_names_what_is_wrong(env, tmp_path):
    out = run_cli("--since", "november", env=env)
    assert out.returncode == 2 and "YYYY-MM" in out.stderr and "november" not in out.stderr
    out = run_cli("--knowledge", str(tmp_path / "nowhere"), env=env)
    assert out.returncode == 2 and "not a directory" in out.stderr
    out = run_cli("--db", str(tmp_path / "none.db"), env=env)
    assert out.returncode == 2 and "no audit log" in out.stderr and "Traceback" not in out.stderr
