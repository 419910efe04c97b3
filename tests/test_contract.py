"""The public contract in the repository (docs/contract.md) is the code's: generated from the pydantic models by
`python -m tools.contract`, and checked here, so a field added to a model without regenerating fails. The README and
the docs link only to files a clone has."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.clinical.models import Case, Recommendation
from tools import contract

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "docs" / "contract.md"

# The public names as the contract stood when it moved into the repository (2026-12): never renamed or dropped.
CASE_FIELDS = (
    "age", "fitness", "rmci", "transplant_eligible", "prior_auto_hct", "months_remission_after_hct", "prior_lines",
    "relapse", "refractory", "exposed", "lenalidomide_maintenance_only", "days_since_last_lenalidomide",
    "high_risk_cytogenetics", "t_11_14", "ldh_elevated", "high_proliferation", "m_protein_rising", "extramedullary",
    "riss_stage", "cardiac_disease", "neuropathy", "thrombosis_history", "infection_risk", "low_marrow_reserve",
    "renal_impairment", "bone_disease", "covid_vaccination_up_to_date", "unavailable", "region")
RECOMMENDATION_FIELDS = ("engine_version", "knowledge_version", "assessment", "knowledge_edition", "initiation",
                         "options", "excluded", "transplant", "cautions", "trials", "trace", "disclaimer")
OPTION_FIELDS = ("regimen", "name", "components", "preferred", "tier", "approval", "rationale", "trials", "cautions")


def test_docs_contract_md_is_generated_from_the_models():
    assert CONTRACT.is_file(), "docs/contract.md is missing: run python -m tools.contract"
    assert CONTRACT.read_text(encoding="utf-8") == contract.render(), (
        "docs/contract.md differs from the models: run python -m tools.contract and commit the result")


def test_the_check_mode_fails_on_a_stale_file(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "contract.md"
    stale.write_text(contract.render().replace("`prior_lines`", "`lines`"), encoding="utf-8")
    monkeypatch.setattr(contract, "OUT", stale)
    assert contract.main(["--check"]) == 1
    assert "python -m tools.contract" in capsys.readouterr().err
    assert contract.main([]) == 0 and contract.main(["--check"]) == 0  # regenerated, it matches


def test_no_public_name_is_dropped_and_each_is_documented_with_its_rule():
    text = CONTRACT.read_text(encoding="utf-8")
    assert set(CASE_FIELDS) <= set(Case.__fields__)
    assert set(RECOMMENDATION_FIELDS) <= set(Recommendation.__fields__)
    assert set(OPTION_FIELDS) <= set(Recommendation.__fields__["options"].type_.__fields__)
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `(\w+)` \|.*$", text, re.M)}
    for name in Case.__fields__:
        assert name in rows, f"{name} is not in docs/contract.md"
    assert "| `prior_lines` | int >= 1 | yes |" in text
    assert "| `relapse` | `none` \\| `biochemical` \\| `clinical` | yes" in text
    assert "| `age` | int 18-120 |  | years |" in text
    assert re.search(r"^\| `cardiac_disease` \| bool \|  \| cardiac disease \|$", text, re.M)  # words of case.yml
    assert "| `options` | list of [Option](#option) |" in text  # nested models link to their table
    for heading in ("## Case (input)", "## Recommendation (output)", "### Option", "### Exclusion",
                    "## Command line", "## Conversation"):
        assert heading in text


def test_the_type_names_read_as_a_person_writes_them():
    assert contract.type_of({"type": "integer", "minimum": 0}) == "int >= 0"
    assert contract.type_of({"type": "integer", "minimum": 1, "maximum": 3}) == "int 1-3"
    assert contract.type_of({"enum": ["US", "EU"]}) == "`US` | `EU`"
    assert contract.type_of({"type": "array", "items": {"type": "string"}}) == "list of string"
    assert contract.type_of({"type": "string", "maxLength": 64}) == "string, at most 64 characters"
    assert contract.type_of({"allOf": [{"$ref": "#/definitions/Initiation"}]}) == "[Initiation](#initiation)"


LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
PATH = re.compile(r"`((?:\.\./|\./)*(?:\w[\w.-]*/)+[\w.-]+\.(?:md|yml|yaml|json|py|txt|svg|html|js|css))`")


MADE_BY_RUNNING = ("results/", "var/", "test-output/", "models/")  # .gitignore'd outputs the docs describe


def _targets(text: str):
    """(target, relative to the document?) for every markdown link to a file and every backquoted file path (those
    are written from the repository's root unless they start with ./ or ../)."""
    for m in LINK.finditer(text):
        target = m.group(1).split("#")[0]
        if re.search(r"[./]", target) and not re.match(r"^[a-z]+:", target):  # not Rasa's [68](age) annotations
            yield target, True
    for m in PATH.finditer(text):
        yield m.group(1), m.group(1).startswith(".")


@pytest.mark.parametrize("doc", ["README.md", *sorted(p.relative_to(ROOT).as_posix()
                                                     for p in (ROOT / "docs").glob("*.md"))])
def test_documents_link_only_to_files_in_the_repository(doc):
    """A clone has everything the README and the docs point to: nothing outside the repository (../shared/...)."""
    path = ROOT / doc
    bad = []
    for target, relative in _targets(path.read_text(encoding="utf-8")):
        if not relative and target.startswith(MADE_BY_RUNNING):
            continue
        resolved = ((path.parent if relative else ROOT) / target).resolve()
        if ROOT.resolve() not in resolved.parents or not resolved.exists():
            bad.append(target)
    assert not bad, f"{doc} points to files a clone does not have: {bad}"


def test_the_link_check_catches_a_file_outside_the_repository():
    found = dict(_targets("see `../shared/spec/contract.md` and [the page](docs/x.md#a), `docs/contract.md`"))
    assert found == {"../shared/spec/contract.md": True, "docs/x.md": True, "docs/contract.md": False}
