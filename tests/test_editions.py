"""Knowledge editions: the frozen 2026-11 edition (tests/fixtures/knowledge-2026-11) loads from its directory and
answers through the same engine, so that audited cases can be replayed through an older and the current edition
(edition recall)."""
from pathlib import Path

import pytest

from bot.clinical.engine import recommend
from bot.clinical.kb import KnowledgeError, kb, load
from bot.clinical.models import Case

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
