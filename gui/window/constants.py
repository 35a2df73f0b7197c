"""The window's settings and small helpers (paths, sizes, timings, the tour text, tooltips)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction, QIcon, QKeySequence

from core.scenario import Scenario
from core.scenario.generate import BUNDLED, DEFAULT_PROJECT

ROOT = Path(__file__).resolve().parents[2]  # the repository


PROJECTS_DIR = ROOT / "projects"


RESOURCES_DIR = ROOT / "resources"


MAX_RECENT = 8


BOTTOM_DOCKS_PX = 280  # the height of the bottom docks (prosumers, the market's tables and panels) at first


AUTOSAVE_MS = 60_000  # a modified project is written to the recovery file this often


PRESENTATION_FONT_SCALE = 1.4


LAYOUT_VERSION = 3  # saved dock layouts of another version are not restored (2: Compare mechanisms, 3: workspaces)


EDITING_DOCKS = ("prosumers", "lines", "buses", "scenario", "history")  # hidden in presentation mode


PANEL_BUDGET_MS = 15  # big projects: panels filled per turn of the event loop until this much time went by


PROGRESSIVE_ABOVE = 20_000  # prosumers × periods above which the panels are filled in turns


def default_project_path() -> Path:
    return PROJECTS_DIR / DEFAULT_PROJECT


def load_default_scenario() -> tuple[Scenario, Path | None]:
    """The bundled default project (generated in memory if the file is not installed)."""
    path = default_project_path()
    if path.exists():
        from core.scenario import load_project

        return load_project(path), path
    return BUNDLED[DEFAULT_PROJECT](), None


def app_icon() -> QIcon:
    return QIcon(str(RESOURCES_DIR / "icons" / "feeder-market.svg"))


def readme_tour() -> str:
    """The README's "A short tour" section (markdown), or a pointer when the README is not installed."""
    readme = ROOT / "README.md"
    try:
        text = readme.read_text(encoding="utf-8")
    except OSError:
        return "The tour is in the README of Feeder Market."
    lines, inside = [], False
    for line in text.splitlines():
        if line.startswith("## "):
            if inside:
                break
            inside = "tour" in line.lower()
        if inside:
            lines.append(line)
    return "\n".join(lines) or text


def _undo_tip(act: QAction) -> None:
    """Undo/Redo: the tooltip names the edit and the shortcut (the toolbar button only says Undo/Redo)."""
    try:
        keys = act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        tip = act.text().replace("&", "") + (f" ({keys})" if keys else "")
        if act.toolTip() != tip:
            act.setToolTip(tip)
    except RuntimeError:  # the window is being torn down: its actions go first
        pass


def _tip_shortcut(act: QAction) -> None:
    """Name the action's shortcut in its tooltip."""
    keys = act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    if keys:
        tip = act.toolTip() or act.text().replace("&", "").rstrip("…")
        if keys not in tip:
            act.setToolTip(f"{tip} ({keys})")
