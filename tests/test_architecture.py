"""Data flows one way: core never imports Qt, pyqtgraph or gui (the import-linter contract in pyproject.toml)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN = ("PySide6", "shiboken6", "pyqtgraph", "gui")
CONTRACT = "core never imports Qt, pyqtgraph or gui"


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter's ``lint-imports`` in ``cwd`` (it reads the contracts from ``cwd/pyproject.toml``)."""
    pytest.importorskip("importlinter")
    code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run(
        [sys.executable, "-c", code, "--no-cache", "--no-logo"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_contract_is_kept():
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert CONTRACT in result.stdout and "KEPT" in result.stdout
    assert "0 broken" in result.stdout


# --- the checker can fail: a fake project whose core imports Qt --------------


def fake_project(tmp_path: Path, offending_module: str | None) -> Path:
    """A two-package project under ``tmp_path`` with the real pyproject.toml (and so the real contract)."""
    root = tmp_path / "proj"
    for pkg in ("core", "core/scenario", "gui"):
        (root / pkg).mkdir(parents=True)
        (root / pkg / "__init__.py").write_text("")
    (root / "core" / "scenario" / "model.py").write_text("import math\n\nimport numpy\n")
    (root / "gui" / "app.py").write_text("import PySide6.QtWidgets\n\nimport core.scenario.model\n")
    if offending_module is not None:
        (root / "core" / "scenario" / "view.py").write_text(offending_module)
    # the real first contract (the fake has none of the modules the other contracts name)
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    marker = "[[tool.importlinter.contracts]]"
    first = text.index(marker)
    second = text.find(marker, first + len(marker))
    (root / "pyproject.toml").write_text(text if second < 0 else text[:second], encoding="utf-8")
    return root


def test_a_clean_fake_project_keeps_the_contract(tmp_path):
    result = lint_imports(fake_project(tmp_path, None))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "KEPT" in result.stdout


@pytest.mark.parametrize(
    ("source", "forbidden"),
    [
        ("import PySide6.QtWidgets\n", "PySide6"),
        ("def plot():\n    import pyqtgraph as pg\n    return pg\n", "pyqtgraph"),  # even a lazy import
        ("from gui.app import main\n", "gui"),
    ],
    ids=["qt", "lazy-pyqtgraph", "gui"],
)
def test_the_contract_catches_core_importing_the_gui_side(tmp_path, source, forbidden):
    result = lint_imports(fake_project(tmp_path, source))
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert f"core is not allowed to import {forbidden}" in result.stdout
    assert "core.scenario.view" in result.stdout


# --- the layers and the gui's entry modules: a copy of the real packages with one bad import ---------


@pytest.mark.parametrize(
    ("where", "source", "contract"),
    [
        ("core/scenario/view.py", "from core.market import clear\n", "core's layers"),  # data imports a market
        ("core/welfare_view.py", "import core.study\n", None),  # not in a layer: free (a control for the next)
        ("core/mechanisms_extra.py", "import core.fairness\n", None),
        ("gui/peek.py", "from core.welfare import outside_option\n", "gui reaches core only through"),
        ("gui/peek.py", "from core.market.cache import CACHE\n", "gui reaches core only through"),
    ],
    ids=["scenario-imports-market", "free-module", "free-module-2", "gui-welfare", "gui-market-internals"],
)
def test_the_layer_and_entry_contracts_catch_a_wrong_import(tmp_path, where, source, contract):
    root = tmp_path / "proj"
    shutil.copytree(REPO / "core", root / "core", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "gui", root / "gui", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    (root / where).write_text(source, encoding="utf-8")
    result = lint_imports(root)
    if contract is None:
        assert result.returncode == 0, result.stdout + result.stderr
        return
    assert result.returncode != 0 and "BROKEN" in result.stdout
    assert contract in result.stdout.split("Broken contracts", 1)[1], result.stdout


# --- a second, independent check: read every core module's imports ---------


def forbidden_imports(path: Path) -> list[str]:
    """``module:line name`` for each import of a forbidden package in ``path`` (including lazy ones)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        hits += [f"{path.name}:{node.lineno} {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    return hits


def test_no_core_file_imports_qt_pyqtgraph_or_gui():
    files = sorted((REPO / "core").rglob("*.py"))
    assert len(files) >= 5
    hits = [h for f in files for h in forbidden_imports(f)]
    assert hits == []


def test_the_scan_can_fail(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom PySide6 import QtCore\n\ndef f():\n    import pyqtgraph.opengl\n    import gui\n")
    assert forbidden_imports(bad) == ["bad.py:2 PySide6", "bad.py:5 pyqtgraph.opengl", "bad.py:6 gui"]


def test_importing_all_of_core_loads_no_qt():
    """At run time too: importing every core module pulls in neither Qt nor pyqtgraph nor gui."""
    code = (
        "import importlib, pkgutil, sys, core\n"
        "names = [m.name for m in pkgutil.walk_packages(core.__path__, 'core.') if not m.name.endswith('__main__')]\n"
        "for n in names: importlib.import_module(n)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
        "print(len(names), bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split()[0] != "0"


# --- the house style: ruff's formatter and linter (CI runs the tests, so CI checks both) ---------


@pytest.mark.parametrize("command", [["format", "--check"], ["check"]], ids=["format", "lint"])
def test_the_code_is_ruff_clean(command):
    pytest.importorskip("ruff")
    done = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "."], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
