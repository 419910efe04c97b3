"""Documentation that cannot rot: the paths the README layout table and docs/architecture.md name exist, and
every package of bot/ and every top-level folder of the project is described in both."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = {"README.md": ROOT / "README.md", "docs/architecture.md": ROOT / "docs" / "architecture.md"}


def _table_paths(text: str):
    """Backquoted paths in the first column of markdown tables."""
    return {m.group(1) for m in re.finditer(r"^\| `([\w./-]+)`", text, re.M)}


@pytest.mark.parametrize("doc", sorted(DOCS))
def test_every_path_in_the_layout_tables_exists(doc):
    paths = _table_paths(DOCS[doc].read_text(encoding="utf-8"))
    assert paths, f"{doc} has no layout table"
    missing = sorted(p for p in paths if not (ROOT / p.rstrip("/")).exists())
    assert not missing, f"{doc} names paths that do not exist: {missing}"


@pytest.mark.parametrize("doc", sorted(DOCS))
def test_every_package_of_bot_is_described(doc):
    paths = _table_paths(DOCS[doc].read_text(encoding="utf-8"))
    packages = sorted(f"bot/{p.name}/" for p in (ROOT / "bot").iterdir() if (p / "__init__.py").exists())
    assert [p for p in packages if p not in paths] == [], f"{doc}: describe every package of bot/"


def test_every_checklist_names_files_that_exist():
    text = DOCS["docs/architecture.md"].read_text(encoding="utf-8")
    for title in ("Add a regimen", "Add a caution", "Add a trial", "Add a channel"):
        assert f"### {title}" in text, title
    named = set(re.findall(r"`((?:bot|tests|data|docs)/[\w./-]+\.(?:py|yml|md))`", text))
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, f"docs/architecture.md names files that do not exist: {missing}"
