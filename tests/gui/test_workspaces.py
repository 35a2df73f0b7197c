"""Workspaces: every one fits a 1366×768 laptop with its main plots large, and keeps the user's arrangement."""

import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTabBar

from gui.window.workspaces import BY_KEY, WORKSPACES
from tests.gui.waiting import result_where


@pytest.fixture
def laptop(window, projects_dir, qtbot):
    """The window at 1366×768 on the constrained feeder, cleared with LinDistFlow (every panel has something)."""
    window.resize(1366, 768)
    assert window.open_path(projects_dir / "ieee33-constrained.json", ask=False)
    window.market_controls.set_network("lindistflow")
    result_where(window, qtbot, lambda r: r.settings.network == "lindistflow", timeout_ms=60_000)
    return window


def _plot_height(window, key: str) -> int:
    """The tallest plot of the dock ``key`` (its main one)."""
    plots = [p for p in window.docks[key].findChildren(pg.GraphicsView) if p.isVisible()]
    assert plots, f"no plot shown in the {key} dock"
    return max(p.height() for p in plots)


def _cut_tabs(window) -> list[str]:
    """The titles of the visible dock tabs drawn narrower than their text (elided)."""
    cut = []
    for bar in window.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly):
        if not bar.isVisible():
            continue
        for i in range(bar.count()):
            text = bar.tabText(i)
            if bar.tabRect(i).width() < bar.fontMetrics().horizontalAdvance(text) + 8:
                cut.append(text)
    return cut


@pytest.mark.parametrize("key", [w.key for w in WORKSPACES])
def test_each_workspace_fits_a_laptop_with_its_main_plots_large(laptop, qtbot, key):
    w = laptop
    w.show_workspace(key)
    w.restore_default_layout()  # its default arrangement for this window (it was arranged for a smaller one)
    ws = BY_KEY[key]
    for group in ws.left + ws.right + ws.bottom:
        w.docks[group[0]].raise_()
    qtbot.wait(50)
    assert w.size().toTuple() == (1366, 768)
    hint = w.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 700, f"{key}: minimum {hint.width()}×{hint.height()}"
    shown = {k for k, d in w.docks.items() if d.isVisible()}
    assert set(ws.docks()) <= shown | {k for g in ws.left + ws.right + ws.bottom for k in g[1:]}
    assert ("prosumers" in shown) == (key == "edit")  # the editors live in Edit
    for main in ws.main:
        if main == "studies":  # no plot before a study has run: the dock itself
            assert w.docks[main].height() >= 0.5 * w.height()
            continue
        assert _plot_height(w, main) >= 220, f"{key}: the {main} plot is {_plot_height(w, main)} px high"
    assert _cut_tabs(w) == []


def test_a_workspace_keeps_the_users_arrangement(window, qtbot):
    from PySide6.QtCore import Qt as _Qt

    window.resize(1366, 768)
    qtbot.wait(20)
    curves = window.docks["curves"]
    window.resizeDocks([curves], [420], _Qt.Orientation.Horizontal)
    qtbot.wait(20)
    width = curves.width()
    window.show_workspace("prices")
    assert not curves.isVisible() and window.docks["dlmp"].isVisible()
    window.show_workspace("market")
    qtbot.wait(20)
    assert abs(curves.width() - width) <= 2  # as the user left it
    assert window.settings.value("workspace/current") == "market"
    window.restore_default_layout()  # and back to how it comes
    qtbot.wait(20)
    assert abs(curves.width() - round(BY_KEY["market"].right_share * window.width())) <= 40
