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
    "audit": {"bot", "clinical", "privacy", "secretfile"},
    "advice": {"bot", "clinical", "audit"},
    "console": set(),
    "cli": {"bot", "clinical", "audit", "advice", "batch", "console"},
    "batch": {"bot", "clinical", "advice", "console"},
    "secretfile": set(),
    "plugins": {"bot", "clinical", "intake", "nlu", "privacy", "audit", "advice", "plugins", "secretfile"},
}
# third-party distributions each layer may import besides the standard library
ALLOWED_THIRD_PARTY: Dict[str, Set[str]] = {
    "clinical": {"yaml", "pydantic", "typing_extensions"},
    "intake": set(),
    "privacy": set(),
    "nlu": {"spacy", "medspacy", "loguru", "yaml"},
    "audit": {"sqlite_utils"},
    "advice": set(),
    "console": set(),
    "cli": set(),
    "batch": {"orjson"},
    "secretfile": set(),
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


# ---- one way to a recommendation -------------------------------------------------------------------------------
SERVICE = ROOT / "bot" / "advice.py"
# edition recall replays audited cases through a candidate knowledge base to compare: it gives no recommendation
# and writes no row, so it runs the engine itself (with the knowledge it is given)
REPLAY = ROOT / "bot" / "audit" / "recall.py"
ENGINE = "bot.clinical.engine"
AUDIT_WRITE = "record"  # bot.audit's writer


def direct_calls(source: str) -> List[str]:
    """Where a module reaches the engine or the audit trail's writer itself instead of through bot.advice: an import
    of bot.clinical.engine (any name of it), `from bot.audit import record`, or `<bot.audit module>.record`."""
    tree = ast.parse(source)
    found, audit_names = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == ENGINE or alias.name.startswith(ENGINE + "."):
                    found.append(f"line {node.lineno}: import {alias.name}")
                if alias.name in ("bot.audit", "bot.audit.trail"):
                    audit_names.add(alias.asname or alias.name)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == ENGINE or node.module.startswith(ENGINE + "."):
                found.append(f"line {node.lineno}: from {node.module} import ...")
            elif node.module == "bot.clinical" and any(a.name == "engine" for a in node.names):
                found.append(f"line {node.lineno}: from bot.clinical import engine")
            elif node.module in ("bot.audit", "bot.audit.trail"):
                if any(a.name == AUDIT_WRITE for a in node.names):
                    found.append(f"line {node.lineno}: from {node.module} import {AUDIT_WRITE}")
            elif node.module == "bot":
                audit_names |= {a.asname or a.name for a in node.names if a.name == "audit"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == AUDIT_WRITE and ast.unparse(node.value) in audit_names:
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_the_single_path_check_catches_a_direct_call():
    assert direct_calls("from bot.clinical.engine import recommend\n") == [
        "line 1: from bot.clinical.engine import ..."]
    assert direct_calls("def f():\n    from bot import audit\n    audit.record('c', 'api', {}, {})\n") == [
        "line 3: audit.record"]
    assert direct_calls("import bot.audit as t\nt.record(1)\n") == ["line 2: t.record"]
    assert direct_calls("from bot.audit import record as r\n") == ["line 1: from bot.audit import record"]
    assert direct_calls("from bot import advice\nfrom bot.audit import rows\nadvice.advise({}, channel='cli')\n") == []


def test_every_door_gets_its_recommendation_from_the_service_only():
    """Chat actions, the HTTP API, the command line and batch call bot.advice; nothing else in the project calls the
    engine or writes the audit trail (the engine's own package and edition recall's replay aside)."""
    offenders = []
    for folder in ("bot", "actions", "tools"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path in (SERVICE, REPLAY) or (ROOT / "bot" / "clinical") in path.parents or "__pycache__" in path.parts:
                continue
            offenders += [f"{path.relative_to(ROOT)}: {f}" for f in direct_calls(path.read_text(encoding="utf-8"))]
    assert not offenders, "a recommendation goes through bot/advice.py only:\n" + "\n".join(offenders)
    assert direct_calls(SERVICE.read_text(encoding="utf-8")), "the service itself calls the engine and the audit"


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def import_graph() -> Dict[str, Set[str]]:
    """bot's modules -> the bot modules each imports (at any depth; `from pkg import name` resolves to pkg.name
    when that is a module, else to pkg)."""
    modules = {_module_name(p): p for p in bot_modules()}
    graph: Dict[str, Set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(up + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            edges |= {t for t in targets if t in modules and t != name}
        graph[name] = edges
    return graph


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on: Set[str] = set()
    out: List[List[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_cycle_check_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_between_modules_of_bot():
    """Imports inside functions count too (the old batch <-> cli and nlu.extract <-> nlu.pipeline loops were such)."""
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)
