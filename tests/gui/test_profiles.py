"""File ▸ Import profiles (CSV): an undoable edit; a 96 × 15-min day through the slider and the day's plots."""

from __future__ import annotations

import csv

import pytest

from tests.gui.waiting import TIMEOUT_MS, result_where


def _quarter_hours(scenario, path):
    rows = [["time", *(p.id for p in scenario.prosumers), "nobody"]]
    for t in range(96):
        rows.append([f"{t * 15 // 60:02d}:{t * 15 % 60:02d}", *(repr(p.demand_kw[t // 4]) for p in scenario.prosumers)])
        rows[-1].append("1")
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return path


def test_a_96_period_day_from_a_profiles_csv(window, qtbot, tmp_path):
    first = result_where(window, qtbot, lambda r: True)
    assert first.scenario_name.startswith("IEEE 33") and window.doc.scenario.periods == 24
    hourly = window.doc.scenario
    path = _quarter_hours(hourly, tmp_path / "q.csv")
    assert window.import_profiles_path(path)
    s = window.doc.scenario
    assert (s.periods, s.horizon.step_h) == (96, 0.25)
    controls = window.market_controls
    result_where(window, qtbot, lambda r: len(r.periods) == 96)
    assert controls.period.maximum() == 95
    with qtbot.waitSignal(window.runner.finished, timeout=TIMEOUT_MS) as blocker:
        controls.period.setValue(60)
    result = blocker.args[0]
    assert result.period == 60 and len(result.periods) == 96
    assert controls.clock.text().startswith("15:00")
    day = window.day_prices
    assert day.now.value() == 60 and len(day.price.yData) == 96
    assert "15:00" in day.title.text()
    # one undo gives the hourly day back
    window.doc.undo_stack.undo()
    assert window.doc.scenario == hourly
    result_where(window, qtbot, lambda r: len(r.periods) == 24)
    assert controls.period.maximum() == 23 and window.market_state.period == 23


def test_a_bad_profiles_file_keeps_the_project(window, qtbot, tmp_path):
    result_where(window, qtbot, lambda r: True)
    before = window.doc.scenario
    bad = tmp_path / "bad.csv"
    bad.write_text("time,c2\n00:00,x\n")
    assert not window.import_profiles_path(bad)
    assert window.doc.scenario is before
    assert "line 2" in window.statusBar().currentMessage()


@pytest.mark.parametrize("name", ["act_import_profiles", "act_export_profiles"])
def test_the_file_menu_has_the_profiles(window, name):
    action = getattr(window, name)
    file_menu = window.menuBar().actions()[0].menu()
    assert action in file_menu.actions()
