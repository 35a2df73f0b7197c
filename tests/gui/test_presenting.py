"""Presenting and exporting: panel pictures, result tables, the HTML report, presentation mode, themes, autosave.

Each test drives the window's methods directly (no file dialogs), with files in tmp_path.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace

import pandas as pd
import pytest
from PySide6.QtGui import QImage, QPalette
from PySide6.QtWidgets import QApplication, QTextBrowser, QWidget

from gui.presenting import HAVE_EXCEL, HAVE_SVG, result_tables, write_excel

TIMEOUT_MS = 30000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def cleared(window, qtbot):
    """The window on the default project, its first market result on screen."""
    qtbot.waitUntil(lambda: window.market_result is not None and not window.runner.is_busy(), timeout=TIMEOUT_MS)
    return window


@pytest.fixture
def constrained(window, projects_dir, qtbot):
    """The constrained IEEE 33-bus project cleared with LinDistFlow: a result with DLMPs."""
    assert window.open_path(projects_dir / "ieee33-constrained.json", ask=False)
    window.market_controls.set_network("lindistflow")
    window.market_controls.period.setValue(19)
    qtbot.waitUntil(
        lambda: (
            window.market_result is not None
            and window.market_result.buses is not None
            and window.market_result.period == 19
            and not window.runner.is_busy()
        ),
        timeout=TIMEOUT_MS,
    )
    return window


@pytest.mark.parametrize("key", ["feeder", "curves", "properties", "prosumers", "market_power"])
def test_a_panel_exports_as_png(cleared, tmp_path, key):
    path = cleared.export_panel(key, tmp_path / f"{key}.png")
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    image = QImage(str(path))
    assert not image.isNull() and image.width() > 50 and image.height() > 50


@pytest.mark.skipif(not HAVE_SVG, reason="no QtSvg")
@pytest.mark.parametrize("key", ["feeder", "curves", "properties"])
def test_a_panel_exports_as_svg(cleared, tmp_path, key):
    path = cleared.export_panel(key, tmp_path / f"{key}.svg")
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    assert len(list(root.iter())) > 10  # something was drawn


def test_results_export_as_csv_files(cleared, tmp_path):
    files = cleared.export_results_csv(tmp_path / "results")
    names = {f.name for f in files}
    assert {"agents.csv", "periods.csv", "agent_periods.csv"} <= names
    result = cleared.market_result
    for name in ("agents", "periods", "agent_periods"):
        df = pd.read_csv(tmp_path / "results" / f"{name}.csv")
        frame = getattr(result, name)
        assert set(frame.columns) <= set(df.columns)
        assert len(df) == len(frame)


def test_network_results_add_bus_and_line_tables(constrained, tmp_path):
    files = {f.name for f in constrained.export_results_csv(tmp_path)}
    assert {"buses.csv", "lines.csv"} <= files
    buses = pd.read_csv(tmp_path / "buses.csv")
    assert "dlmp_per_kwh" in buses.columns and "v_pu" in buses.columns


def test_excel_workbook_has_one_sheet_per_result_table(constrained, tmp_path):
    assert HAVE_EXCEL and constrained.act_export_excel.isEnabled()  # openpyxl is a dependency
    result = constrained.market_result
    path = write_excel(result, tmp_path / "results.xlsx")
    sheets = pd.read_excel(path, sheet_name=None)
    assert set(sheets) == set(result_tables(result)) >= {"agents", "periods", "buses", "lines"}
    buses = sheets["buses"]
    assert len(buses) == len(result.buses)
    assert buses.dlmp_per_kwh.to_numpy() == pytest.approx(result.buses.dlmp_per_kwh.to_numpy())
    assert list(sheets["agents"].agent) == list(result.agents.agent)


def test_html_report_is_self_contained(constrained, tmp_path):
    from gui.report import draw_figures

    path = constrained.export_report(tmp_path / "report.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    images = re.findall(r"src=[\"']data:image/svg\+xml;base64,", text)  # drawn from the result, as vectors
    drawn = draw_figures(constrained.doc.scenario, constrained.market_result)
    assert len(images) == len(drawn) >= 5  # feeder, curves, prices over the day, DLMP parts, market power…
    assert "distribution locational marginal price" in text
    assert not re.search(r'(src|href)=["\']https?://', text)
    assert constrained.last_report == path and constrained.act_open_report.isEnabled()
    assert str(path) in constrained.statusBar().currentMessage()


def test_presentation_mode_hides_the_editors_and_comes_back(cleared, qtbot):
    w = cleared
    app = QApplication.instance()
    font_before = app.font().pointSizeF()
    state_before = w.saveState()
    size_before = w.size()
    visible_before = {k: d.isVisible() for k, d in w.docks.items()}
    w.act_presentation.trigger()
    assert w.in_presentation() and w.act_presentation.isChecked()
    qtbot.waitUntil(lambda: w.isFullScreen())
    for key in ("prosumers", "lines", "buses", "scenario", "history"):
        assert not w.docks[key].isVisible()
    assert not w.toolbar.isVisible()
    assert w.feeder.isVisible() and w.docks["curves"].isVisible()
    assert app.font().pointSizeF() == pytest.approx(font_before * 1.4, rel=0.02)
    w.act_leave_presentation.trigger()  # Esc
    assert not w.in_presentation() and not w.act_presentation.isChecked()
    qtbot.waitUntil(lambda: not w.isFullScreen())
    assert app.font().pointSizeF() == pytest.approx(font_before)
    assert {k: d.isVisible() for k, d in w.docks.items()} == visible_before
    assert w.toolbar.isVisible()
    qtbot.waitUntil(lambda: w.size() == size_before and w.saveState() == state_before)


def test_dark_theme_changes_the_palette_and_is_remembered(window, settings):
    app = QApplication.instance()
    light = app.palette().color(QPalette.ColorRole.Window)
    feeder = window.feeder
    label = next(iter(feeder.labels.values()))
    line = next(iter(feeder.lines))
    assert feeder.backgroundBrush().color().lightness() > 200 and label.brush().color().lightness() < 100
    try:
        window.act_themes["dark"].trigger()
        dark = app.palette().color(QPalette.ColorRole.Window)
        assert dark.lightness() < 80 < light.lightness()
        assert settings.value("view/theme") == "dark"
        # the feeder's canvas too: dark paper, light labels, unloaded lines light enough to see
        assert feeder.is_dark() and feeder.backgroundBrush().color().lightness() < 50
        assert label.brush().color().lightness() > 180
        assert feeder.line_colour(line).lightness() > feeder.backgroundBrush().color().lightness() + 100
    finally:
        window.set_theme("light")
    assert app.palette().color(QPalette.ColorRole.Window) == light
    assert settings.value("view/theme") == "light"
    assert not feeder.is_dark() and feeder.backgroundBrush().color().lightness() > 200


def test_autosave_writes_a_recovery_file_that_a_new_window_restores(window, settings, qtbot, tmp_path):
    from gui.main_window import MainWindow

    assert window.autosave() is None  # nothing modified, nothing written
    assert not window.recovery_available()
    window.doc.apply(replace(window.doc.scenario, name="Changed before the crash"), "Rename")
    path = window.autosave()
    assert path is not None and path.is_file() and path.parent.parent == tmp_path
    assert window.recovery_available()

    other = MainWindow(settings=settings, process=False)
    qtbot.addWidget(other, before_close_func=lambda win: win.doc.undo_stack.setClean())
    assert other.recovery_available()
    other.open_path(window.doc.path, ask=False)  # e.g. a file named on the command line: the offer stands
    assert other.recovery_available()
    assert other.restore_recovery()
    assert other.doc.scenario.name == "Changed before the crash"
    assert other.doc.modified  # restored as an unsaved change
    assert other.doc.scenario == window.doc.scenario

    # a clean save removes the recovery file
    other.doc.save(tmp_path / "saved.json")
    assert not other.recovery_available()


def test_restore_default_layout_brings_docks_back(window):
    assert window.workspace == "market"
    window.docks["agents"].hide()
    window.docks["curves"].hide()
    window.restore_default_layout()
    assert window.docks["agents"].isVisible() and window.docks["curves"].isVisible()
    assert not window.docks["prosumers"].isVisible()  # the editors live in the Edit workspace


def test_tooltips_name_the_shortcuts(window):
    assert "F5" in window.act_presentation.toolTip()
    assert "Ctrl+S" in window.act_save.toolTip()


def test_tour_shows_the_readme_tour(window):
    dlg = window.show_tour()
    text = dlg.findChild(QTextBrowser).toPlainText()
    assert "tour" in text.lower()
    dlg.close()


def test_right_click_on_a_panel_offers_its_export(window, qtbot):
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QMenu

    window.docks["curves"].customContextMenuRequested.emit(QPoint(5, 5))
    menus = [m for m in window.findChildren(QMenu) if m.isVisible()]
    assert len(menus) == 1
    texts = [a.text() for a in menus[0].actions()]
    assert texts == ["Export PNG…", "Export SVG…"]
    assert menus[0].actions()[1].isEnabled() == HAVE_SVG
    menus[0].close()


def test_the_current_panel_is_the_one_with_the_focus(window, monkeypatch):
    focus = {"w": window.curves.findChildren(QWidget)[0]}  # a widget inside the panel
    monkeypatch.setattr(QApplication, "focusWidget", staticmethod(lambda: focus["w"]))
    assert window.current_panel() == "curves"
    focus["w"] = window.feeder.viewport()
    assert window.current_panel() == "feeder"
    focus["w"] = None
    assert window.current_panel() == "feeder"


def test_presentation_mode_enlarges_the_feeders_labels_and_legend_too(cleared, qtbot):
    from gui.feeder_items import LEGEND_W

    w = cleared
    label = next(iter(w.feeder.labels.values()))
    before_pt, before_w = label.font().pointSizeF(), w.feeder.legend_rect().width()
    w.act_presentation.trigger()
    assert label.font().pointSizeF() == pytest.approx(before_pt * 1.4, rel=0.02)
    assert w.feeder.legend_rect().width() == pytest.approx(LEGEND_W * 1.4, rel=0.02)
    w.act_leave_presentation.trigger()
    assert label.font().pointSizeF() == pytest.approx(before_pt)
    assert w.feeder.legend_rect().width() == pytest.approx(before_w)


def test_presentation_mode_right_after_start_does_not_bring_the_window_down(window, qtbot):
    # the application's font grows ×1.4: Qt asks every widget for its paint metrics, and the study plot controls'
    # own method named metric() (shadowing QWidget.metric) raised there and brought the process down (a
    # segmentation fault, also under a real X server)
    window.act_presentation.trigger()
    qtbot.wait(1500)
    assert window.in_presentation()
    window.act_leave_presentation.trigger()
    qtbot.wait(300)
    assert not window.in_presentation()


def test_presentation_mode_maximises_when_full_screen_is_refused(cleared, qtbot, monkeypatch):
    from PySide6.QtCore import Qt

    w = cleared
    monkeypatch.setattr(w, "showFullScreen", lambda: None)  # a window manager that ignores the request
    w.act_presentation.trigger()
    qtbot.waitUntil(lambda: bool(w.windowState() & Qt.WindowState.WindowMaximized), timeout=3000)
    assert w.in_presentation() and "full screen was refused" in w.statusBar().currentMessage()
    w.act_leave_presentation.trigger()
    assert not w.in_presentation()


def test_a_stop_signal_keeps_unsaved_edits_for_recovery_and_asks_nothing(window, qtbot, monkeypatch):
    # Ctrl+C or SIGTERM: no dialog (nobody may be at the screen), the edits in the recovery file, the window shut
    quits = []
    monkeypatch.setattr(QApplication, "quit", lambda: quits.append(True))
    window.doc.apply(replace(window.doc.scenario, name="Edited, then Ctrl+C"), "Rename")
    window.stop_on_signal("SIGINT")  # window.ask_save_changes fails the test if it is called
    assert not window.isVisible() and quits == [True]
    assert window.recovery_available()
    from core.scenario.io import load_project

    assert load_project(window.recovery_path()).name == "Edited, then Ctrl+C"
    assert window.runner._closed and window.nash_runner._closed  # the workers end with the window


def test_a_stop_signal_without_edits_leaves_no_recovery_file(window, monkeypatch):
    monkeypatch.setattr(QApplication, "quit", lambda: None)
    window.stop_on_signal("SIGTERM")
    assert not window.isVisible() and not window.recovery_available()
