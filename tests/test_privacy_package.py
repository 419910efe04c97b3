"""bot/privacy as a package: its layer rule, module sizes, docstrings and the word lists it ships."""
from __future__ import annotations

import ast
import fnmatch
import re
import sys
from pathlib import Path

import pytest

import bot.privacy
from bot.privacy import vocabulary

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "bot" / "privacy"
MODULES = sorted(PACKAGE.glob("*.py"))
WORD_FILES = sorted((PACKAGE / "words").glob("*.txt"))


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_module_imports_only_stdlib_and_clinical(path):
    """The privacy layer may import the standard library, bot.clinical and its own modules: never rasa,
    rasa_sdk, sanic or spaCy (log and event redaction must work in every process)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or name == "bot.clinical" or name.startswith(
                ("bot.clinical.", "bot.privacy")), f"{path.name}: import {name}"


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_module_small_with_docstring(path):
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 500, path.name
    doc = ast.get_docstring(ast.parse(text))
    assert doc and re.search(r"^(Imports|Layer):", doc, re.M), f"{path.name}: docstring says what it may import"


def test_known_limits_documented():
    assert "Known limits" in bot.privacy.__doc__


def test_word_files_ship_as_package_data():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    globs = re.findall(r'"([^"]+)"', re.search(r"(?m)^bot = \[(.*)\]$", pyproject).group(1))
    for path in WORD_FILES:
        rel = path.relative_to(ROOT / "bot").as_posix()
        assert any(fnmatch.fnmatch(rel, g) for g in globs), f"{rel} is not in [tool.setuptools.package-data]"


def test_word_lists_load():
    names = vocabulary.listed_names()
    assert names.given and names.surname and names.ambiguous
    assert "january" in vocabulary.MONTHS and "myeloma" in vocabulary.COMMON and "dex" in vocabulary.CLINICAL
    assert vocabulary.STREET_SUFFIXES[:2] == ("Street", "St") and "LS" in vocabulary.UK_AREAS


@pytest.mark.parametrize("content, case, problem", [
    ("alpha\nbeta gamma\n", "lower", "one entry a line"),
    ("alpha\nBeta\n", "lower", "lower case"),
    ("alpha  # a comment\n\nalpha\n", "lower", "already on line 1"),
    ("# only a comment\n", "lower", "no entries"),
    ("AB\nCd\n", "upper", "upper case"),
])
def test_word_list_checks(tmp_path, monkeypatch, content, case, problem):
    (tmp_path / "bad.txt").write_text(content, encoding="utf-8")
    monkeypatch.setattr(vocabulary, "WORDS_DIR", tmp_path)
    with pytest.raises(ValueError, match=re.escape(problem)) as err:
        vocabulary.word_list.__wrapped__("bad", case)
    assert "bad.txt:" in str(err.value)


@pytest.mark.parametrize("content, problem", [
    ("[given]\nJohn\n[nicknames]\nJack\n", "unknown section [nicknames]"),
    ("John\n[given]\nMary\n", "before the first [section]"),
    ("[surname]\nSmith Jones smith\n", "already on line 2"),
    ("[given]\nJohn2\n", "not shaped like a name"),
])
def test_names_file_checks(tmp_path, monkeypatch, content, problem):
    (tmp_path / "names.txt").write_text(content, encoding="utf-8")
    monkeypatch.setattr(vocabulary, "NAMES_FILE", tmp_path / "names.txt")
    with pytest.raises(ValueError, match=re.escape(problem)):
        vocabulary.listed_names.__wrapped__()
