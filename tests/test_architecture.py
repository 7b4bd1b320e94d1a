"""docs/architecture.md stays true: the modules it names exist, every module is named in it, and imports keep to
its rules (only a backend imports its engine; indexer never imports webapp)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from helpers import ROOT

PAGE = ROOT / "docs" / "architecture.md"
PACKAGES = ("indexer", "webapp")
NAMED = re.compile(r"`((?:indexer|webapp)/[\w./-]*?\.py)`")
WHOOSH_BACKEND = Path("indexer/backends/whoosh")
SPHINX_BACKEND = Path("indexer/backends/sphinx")


def modules() -> list[Path]:
    """Every Python module under the packages, relative to ROOT."""
    return sorted(p.relative_to(ROOT) for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def imported(path: Path) -> set[str]:
    """Top-level names of everything ``path`` imports, anywhere in the module (lazy imports included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse((ROOT / path).read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_every_module_named_in_the_page_exists():
    named = set(NAMED.findall(PAGE.read_text(encoding="utf-8")))
    assert named, "the page names no modules"
    missing = sorted(p for p in named if not (ROOT / p).is_file())
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"


def test_every_module_is_named_in_the_page():
    named = set(NAMED.findall(PAGE.read_text(encoding="utf-8")))
    unnamed = [str(p) for p in modules()
               if p.name not in ("__init__.py", "__main__.py") and p.as_posix() not in named]
    assert not unnamed, f"add these modules to the table in docs/architecture.md: {unnamed}"


# (top-level name, the folder whose modules the rule covers, the folder inside it allowed to import the name)
RULES = [
    ("whoosh", Path("."), WHOOSH_BACKEND),
    ("pymysql", Path("."), SPHINX_BACKEND),
    ("webapp", Path("indexer"), None),
]


@pytest.mark.parametrize(("name", "scope", "allowed"), RULES, ids=[rule[0] for rule in RULES])
def test_imports_keep_to_the_rules(name, scope, allowed):
    covered = [p for p in modules() if p.is_relative_to(scope) and not (allowed and p.is_relative_to(allowed))]
    offenders = [str(p) for p in covered if name in imported(p)]
    where = f"outside {allowed}" if allowed else f"under {scope}"
    assert not offenders, f"{name} is imported {where} (docs/architecture.md, rules of the road): {offenders}"


def test_the_import_check_sees_lazy_imports():
    assert "webapp" in imported(Path("webapp/__init__.py"))  # `from webapp import api, ...` inside create_app()
    assert "whoosh" in imported(WHOOSH_BACKEND / "store.py")
    assert "pymysql" in imported(SPHINX_BACKEND / "store.py")


MAX_FUNCTION_LINES = 60


def test_no_function_is_longer_than_a_screen():
    """A function a newcomer must change fits on a screen; a longer one is split into named steps."""
    long = []
    for path in modules():
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, f"split these functions (over {MAX_FUNCTION_LINES} lines): {long}"
