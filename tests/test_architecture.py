"""The layers of bot/ (docs/architecture.md): what each package may import, checked on the source.

Rasa, rasa_sdk and Sanic are imported only by bot/plugins (and the thin actions/); the pure layers import
only what the table allows. Every module's imports are read with `ast`, at any depth (an import inside a
function is still a dependency).
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
RASA = {"rasa", "rasa_sdk", "sanic"}
# package of bot -> the packages of bot it may import ("bot" itself: its __init__, ENGINE_VERSION)
ALLOWED_BOT: Dict[str, Set[str]] = {
    "clinical": {"bot"},
    "intake": {"bot", "clinical"},
    "privacy": {"bot", "clinical"},
    "nlu": {"bot", "clinical", "privacy"},
    "audit": {"bot", "clinical", "intake", "privacy", "secretfile"},
    "cli": {"bot", "clinical", "audit", "batch", "problems"},
    "batch": {"bot", "clinical", "cli", "problems"},
    "secretfile": set(),
    "problems": set(),
    "plugins": {"bot", "clinical", "intake", "nlu", "privacy", "audit", "plugins", "secretfile", "problems"},
}
# third-party distributions each layer may import besides the standard library
ALLOWED_THIRD_PARTY: Dict[str, Set[str]] = {
    "clinical": {"yaml", "pydantic", "typing_extensions"},
    "intake": set(),
    "privacy": set(),
    "nlu": {"spacy", "medspacy", "loguru", "yaml"},
    "audit": {"sqlite_utils"},
    "cli": set(),
    "batch": {"orjson", "tqdm"},
    "secretfile": set(),
    "problems": {"pydantic"},
    "plugins": None,  # anything: this is where the frameworks plug in
}


def imports(source: str) -> Iterator[Tuple[str, int, bool]]:
    """(module imported, line, at module level) for every import of a module's source."""
    tree = ast.parse(source)
    top = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno, id(node) in top
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module, node.lineno, id(node) in top


def rasa_at_module_level(source: str) -> List[str]:
    return [f"line {line}: {name}" for name, line, top in imports(source) if top and name.split(".")[0] in RASA]


def _layer(path: Path) -> str:
    rel = path.relative_to(ROOT / "bot")
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def bot_modules() -> List[Path]:
    return sorted(p for p in (ROOT / "bot").rglob("*.py") if "__pycache__" not in p.parts)


def test_the_boundary_check_catches_a_rasa_import():
    assert rasa_at_module_level("import os\nfrom rasa.core.agent import Agent\n") == ["line 2: rasa.core.agent"]
    assert rasa_at_module_level("def f():\n    import sanic\n") == []  # inside a function: not module level
    assert rasa_at_module_level("import rasa_sdk.events as e") == ["line 1: rasa_sdk.events"]


@pytest.mark.parametrize("folder", ["bot", "tools", "bench"])
def test_nothing_outside_the_plugins_imports_rasa_rasa_sdk_or_sanic_at_module_level(folder):
    bad = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        if (ROOT / "bot" / "plugins") in path.parents or "__pycache__" in path.parts:
            continue
        found = rasa_at_module_level(path.read_text(encoding="utf-8"))
        bad += [f"{path.relative_to(ROOT)}: {f}" for f in found]
    assert not bad, "only bot/plugins (and actions/) may import rasa, rasa_sdk or sanic:\n" + "\n".join(bad)


def test_every_layer_imports_only_what_docs_architecture_allows():
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    bad = []
    for path in bot_modules():
        layer = _layer(path)
        if layer in ("__init__", "__main__"):
            continue
        assert layer in ALLOWED_BOT, f"{path.relative_to(ROOT)}: a package docs/architecture.md does not describe"
        for name, line, _ in imports(path.read_text(encoding="utf-8")):
            first = name.split(".")[0]
            where = f"{path.relative_to(ROOT)}:{line}: imports {name}"
            if first == "bot":
                target = name.split(".")[1] if "." in name else "bot"
                if target not in ALLOWED_BOT[layer] and target != layer:
                    bad.append(f"{where} (the {layer} layer may import {sorted(ALLOWED_BOT[layer])})")
            elif first in RASA and layer != "plugins":
                bad.append(f"{where} (only bot/plugins may import {first})")
            elif first not in stdlib and ALLOWED_THIRD_PARTY[layer] is not None \
                    and first not in ALLOWED_THIRD_PARTY[layer]:
                bad.append(f"{where} (third-party package not allowed in the {layer} layer)")
    assert not bad, "\n".join(bad)


def test_every_package_of_bot_says_what_it_may_import():
    for init in sorted((ROOT / "bot").glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "import" in doc.lower(), f"{init.relative_to(ROOT)}: the docstring must say what the layer may import"


def test_third_party_code_is_patched_in_one_module_only():
    """`bot.plugins.patches` is the one place that replaces attributes of other libraries."""
    from bot.plugins import patches

    offenders = []
    for path in [*bot_modules(), *sorted((ROOT / "actions").glob("*.py"))]:
        if path.name == "patches.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {alias.asname or alias.name.split(".")[0] for node in ast.walk(tree)
                    if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names
                    if not (isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("bot")))}
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
                node, (ast.AugAssign, ast.AnnAssign)) else []
            for t in targets:
                base = t
                while isinstance(base, ast.Attribute):
                    base = base.value
                if isinstance(t, ast.Attribute) and isinstance(base, ast.Name) and base.id in imported \
                        and base.id not in ("self", "cls"):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: assigns {ast.unparse(t)}")
    assert not offenders, "patch third-party code in bot/plugins/patches.py only:\n" + "\n".join(offenders)
    assert {p.group for p in patches.PATCHES} == set(patches.GROUPS)
    assert all(p.why for p in patches.PATCHES), "every patch says why (its maker's docstring)"


def test_no_module_of_bot_is_over_500_lines():
    long = [f"{p.relative_to(ROOT)}: {n}" for p in bot_modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500]
    assert not long, "split these modules by job:\n" + "\n".join(long)
