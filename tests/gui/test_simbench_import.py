"""File ▸ Import SimBench grid…: the searchable list of radial codes, the day, and the import off the GUI thread."""

from __future__ import annotations

import datetime as dt
import sys

import pytest

from tests.gui.waiting import result_where

pytest.importorskip("simbench")

CODE = "1-LV-rural1--0-sw"


def test_the_dialog_filters_the_radial_codes_and_returns_the_choice(qtbot):
    from gui.simbench_dialog import SimbenchDialog

    d = SimbenchDialog()
    qtbot.addWidget(d)
    assert d.selected_code() == CODE  # a small LV grid by default
    assert d.table.item(0, 1).text() in ("LV", "MV", "MVLV")
    d.filter.setText("urban6 --0-sw")
    visible = [d.grids[r].code for r in range(len(d.grids)) if not d.table.isRowHidden(r)]
    assert visible == ["1-LV-urban6--0-sw"] and d.selected_code() == "1-LV-urban6--0-sw"
    d.step.setCurrentIndex(1)
    d.day.setDate(d.day.date().addDays(1))
    assert d.choice() == ("1-LV-urban6--0-sw", dt.date(2016, 6, 22), "15min")
    d.filter.setText("no such grid")
    assert d.selected_code() is None
    assert not d.buttons.button(d.buttons.StandardButton.Ok).isEnabled()


def test_a_simbench_day_becomes_the_project_and_clears(window, qtbot):
    result_where(window, qtbot, lambda r: True)
    assert window.import_simbench_grid(CODE, dt.date(2016, 6, 21), "1h")
    s = window.doc.scenario
    assert s.name.startswith(CODE) and s.periods == 24 and len(s.prosumers) == 17
    assert "SimBench" in window.statusBar().currentMessage()
    result = result_where(window, qtbot, lambda r: r.scenario_name.startswith(CODE))
    assert len(result.periods) == 24


def test_a_bad_code_keeps_the_project(window, qtbot):
    result_where(window, qtbot, lambda r: True)
    before = window.doc.scenario
    assert not window.import_simbench_grid("1-LV-nowhere--0-sw", dt.date(2016, 6, 21))
    assert window.doc.scenario is before
    assert "not a SimBench code" in window.statusBar().currentMessage()


def test_without_simbench_the_menu_says_how_to_install(window, qtbot, monkeypatch):
    result_where(window, qtbot, lambda r: True)
    monkeypatch.setitem(sys.modules, "simbench", None)
    window.act_import_simbench.trigger()
    assert 'pip install -e ".[grid]"' in window.statusBar().currentMessage()
