"""The editor shell as a user drives it: open, edit, undo, save, reopen, close."""

from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from core.scenario import dumps_project, load_project


def _cell(table, prosumer_id: str, key: str):
    model = table.model
    row = next(r for r in range(model.rowCount()) if model.record(r).id == prosumer_id)
    return model.index(row, model.column_of(key))


def test_window_opens_on_the_default_project(window, projects_dir):
    assert window.doc.path == projects_dir / "ieee33-community.json"
    assert "ieee33-community.json" in window.windowTitle()
    assert len(window.feeder.buses) == 33
    assert len(window.feeder.lines) == 32
    assert window.prosumers.model.rowCount() == len(load_project(window.doc.path).prosumers) == 49
    assert window.lines_table.model.rowCount() == 32
    assert "33 buses · 32 lines · 49 prosumers · 24 periods" == window.counts_label.text()
    # the substation is drawn at the top of the tree
    top = min(window.feeder.buses.values(), key=lambda item: item.scenePos().y())
    assert top.bus_id == "1"


def test_edit_then_undo_restores_the_scenario(window):
    original = window.doc.scenario
    idx = _cell(window.prosumers, "c14", "p_max_kw")
    before = idx.data()
    assert before != "200"
    assert window.prosumers.model.setData(idx, "200")
    edited = window.doc.scenario
    assert edited.prosumers[window.doc.scenario.prosumer_index()["c14"]].asset.p_max_kw == 200.0
    assert window.doc.modified and window.isWindowModified()
    assert idx.data() == "200"

    changed = []
    window.prosumers.model.dataChanged.connect(lambda a, b, *_: changed.append((a.row(), b.row())))
    window.act_undo.trigger()
    assert window.doc.scenario == original
    assert not window.doc.modified
    assert idx.data() == before
    assert changed == [(idx.row(), idx.row())]  # the table repaints (and re-sorts) the edited row only
    window.act_redo.trigger()
    assert window.doc.scenario == edited


def test_invalid_edit_keeps_what_was_typed_and_the_scenario(window):
    original = window.doc.scenario
    idx = _cell(window.prosumers, "c14", "efficiency")
    window.prosumers.model.setData(idx, "1.5")
    assert window.doc.scenario == original  # refused
    assert not window.doc.modified
    assert idx.data() == "1.5"  # nothing typed is lost
    tip = idx.data(Qt.ItemDataRole.ToolTipRole)
    assert "(0, 1]" in tip and "c14" in tip
    assert "(0, 1]" in window.statusBar().currentMessage()
    # marks a selected row's highlight cannot hide: a warning sign and red text
    assert idx.data(Qt.ItemDataRole.DecorationRole) is not None
    assert idx.data(Qt.ItemDataRole.ForegroundRole).color().red() > 150
    # fixing it clears the mark and applies the edit
    window.prosumers.model.setData(idx, "0.9")
    assert idx.data(Qt.ItemDataRole.ToolTipRole).startswith("Efficiency")
    assert idx.data(Qt.ItemDataRole.DecorationRole) is None
    assert window.doc.scenario.prosumers[original.prosumer_index()["c14"]].asset.efficiency == 0.9


def test_text_that_is_not_a_number_is_refused_with_the_reason(window):
    idx = _cell(window.prosumers, "c2", "demand_kw")
    window.prosumers.model.setData(idx, "1, 2, x")
    assert "value 3 must be a number, got 'x'" in idx.data(Qt.ItemDataRole.ToolTipRole)
    window.prosumers.model.setData(idx, "1, 2")
    assert "has 2 values, the horizon has 24 periods" in idx.data(Qt.ItemDataRole.ToolTipRole)
    window.prosumers.model.setData(idx, "7.5")
    assert window.doc.scenario.prosumers[0].demand_kw == (7.5,) * 24


def test_save_then_reopen_is_identical(window, tmp_path, qtbot, settings):
    from gui.main_window import MainWindow

    window.prosumers.model.setData(_cell(window.prosumers, "c3", "name"), "Bakery on bus 3")
    target = tmp_path / "mine.json"
    assert window._save_to(target)
    assert not window.doc.modified
    assert target.read_text(encoding="utf-8") == dumps_project(window.doc.scenario)

    other = MainWindow(settings=settings, process=False)
    qtbot.addWidget(other)
    assert other.open_path(target, ask=False)
    assert other.doc.scenario == window.doc.scenario
    assert other.prosumers.model.index(1, 1).data() == "Bakery on bus 3"
    assert str(target.resolve()) == other.recent_files()[0]


def test_unsaved_changes_prompt_before_closing(window):
    window.prosumers.model.setData(_cell(window.prosumers, "c2", "power_factor"), "0.9")
    asked = []
    window.ask_save_changes = lambda: asked.append(1) or QMessageBox.StandardButton.Cancel
    assert not window.close()
    assert window.isVisible() and asked
    window.ask_save_changes = lambda: QMessageBox.StandardButton.Discard
    assert window.close()


def test_clicking_a_bus_selects_its_prosumers_and_shows_its_numbers(window):
    window.feeder.buses["14"].setSelected(True)
    assert "Bus 14" in window.inspector.toPlainText()
    assert "bat14" in window.inspector.toPlainText()
    rows = window.prosumers.selected_rows()
    assert {window.doc.scenario.prosumers[r].id for r in rows} == {"c14", "bat14"}
    window.prosumers.only_bus.setChecked(True)
    assert window.prosumers.proxy.rowCount() == 2


def test_add_and_remove_prosumer_are_undoable(window):
    n = len(window.doc.scenario.prosumers)
    window.feeder.buses["18"].setSelected(True)
    window.act_add.trigger()
    s = window.doc.scenario
    assert len(s.prosumers) == n + 1 and s.prosumers[-1].bus == "18"
    window.prosumers.select_ids({s.prosumers[-1].id})
    window.prosumers.remove_selected()
    assert len(window.doc.scenario.prosumers) == n
    window.act_undo.trigger()
    window.act_undo.trigger()
    assert len(window.doc.scenario.prosumers) == n


def test_add_bus_draws_it_and_removing_an_inner_bus_is_refused(window):
    window.feeder.buses["18"].setSelected(True)
    window.act_add_bus.trigger()
    s = window.doc.scenario
    assert len(s.feeder.buses) == 34 and len(window.feeder.buses) == 34
    new_bus = s.feeder.buses[-1].id
    assert any(ln.from_bus == "18" and ln.to_bus == new_bus for ln in s.feeder.lines)
    window.feeder.select_bus("17")
    window.remove_bus()
    assert len(window.doc.scenario.feeder.buses) == 34
    assert "below it" in window.statusBar().currentMessage()
    window.act_undo.trigger()
    assert len(window.feeder.buses) == 33


def test_a_line_edit_that_breaks_the_tree_is_refused(window):
    table = window.lines_table
    idx = table.model.index(4, table.model.column_of("to_bus"))  # L5: 5 -> 6
    table.model.setData(idx, "4")  # 4-5 twice: a loop, and buses 6… cut off
    assert window.doc.scenario.feeder.lines[4].to_bus == "6"
    assert "loop" in idx.data(Qt.ItemDataRole.ToolTipRole) or "not connected" in idx.data(Qt.ItemDataRole.ToolTipRole)


def test_opening_a_broken_file_keeps_the_current_project(window, tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('{"format": "feeder-market-project", "schema_version": 1, "scenario": {', encoding="utf-8")
    before = window.doc.scenario
    assert not window.open_path(bad, ask=False)
    assert window.doc.scenario is before
    assert "broken.json" in window.statusBar().currentMessage()


def test_scenario_form_refuses_bad_limits(window):
    form = window.scenario_form
    form.edits["v_min_pu"].setText("1.2")
    form._commit("v_min_pu")
    assert window.doc.scenario.feeder.v_min_pu == 0.9
    assert "v_max_pu" in form.message.text()
    form.edits["v_min_pu"].setText("0.92")
    form._commit("v_min_pu")
    assert window.doc.scenario.feeder.v_min_pu == 0.92


@pytest.mark.parametrize("name", ["teaching-5bus.json", "synthetic-1000bus.json"])
def test_bundled_projects_open(window, projects_dir, name):
    assert window.open_path(projects_dir / name, ask=False)
    s = window.doc.scenario
    assert len(window.feeder.buses) == len(s.feeder.buses)
    assert window.prosumers.model.rowCount() == len(s.prosumers)


def test_new_project_starts_a_small_valid_feeder(window):
    window.new_project()
    s = window.doc.scenario
    assert window.doc.path is None and len(s.feeder.buses) == 2 and not s.prosumers
    assert "untitled" in window.windowTitle()
    s2 = replace(s, name="x")
    assert s2.name == "x"


def test_rows_are_named_by_their_id_in_the_row_header(window, qtbot):
    """Scrolled to the right a table still says whose row it is: the row header holds the id, not a number."""
    from PySide6.QtCore import Qt

    from tests.gui.waiting import result_where

    vertical = Qt.Orientation.Vertical
    s = window.doc.scenario
    assert window.prosumers.model.headerData(0, vertical) == s.prosumers[0].id
    assert window.lines_table.model.headerData(1, vertical) == s.feeder.lines[1].id
    result = result_where(window, qtbot, lambda r: r.agents is not None)
    assert window.agent_results.model.headerData(2, vertical) == str(result.agents.agent.iloc[2])
