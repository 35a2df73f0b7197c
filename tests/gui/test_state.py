"""The window's market state: settings are undoable edits beside the scenario's, and the project stays clean."""

from dataclasses import replace

from PySide6.QtGui import QUndoStack

from core.market import MarketSettings
from gui.state import MarketState, describe_change


def test_the_undo_text_names_the_change_in_the_dashboards_words():
    before = MarketSettings()
    assert describe_change(before, replace(before, mechanism="vcg")) == "Mechanism: VCG (Clarke pivot)"
    assert describe_change(before, replace(before, network="socp")).startswith("Network model: AC")
    assert describe_change(before, replace(before, k=0.3, audit=False)) == "k: 0.3; Audit: off"


def test_settings_changes_undo_in_order_and_turning_k_is_one_step(qtbot):
    stack = QUndoStack()
    state = MarketState(stack, MarketSettings(period=19))
    seen = []
    state.settingsChanged.connect(seen.append)
    state.request(replace(state.settings, mechanism="uniform"))
    for k in (0.4, 0.3, 0.2):  # a spin box turned three steps
        state.request(replace(state.settings, k=k))
    assert stack.count() == 2 and stack.text(1) == "k: 0.2"
    state.request(replace(state.settings, period=7))  # navigation, not an edit
    assert stack.count() == 2 and state.period == 7
    stack.undo()
    assert state.settings.k == 0.5 and state.settings.mechanism == "uniform"
    stack.undo()
    assert state.settings == MarketSettings(period=7)
    stack.redo()
    stack.redo()
    assert state.settings == MarketSettings(mechanism="uniform", k=0.2, period=7)
    assert seen[-1] == state.settings


def test_a_settings_change_in_the_window_undoes_without_touching_the_project(window, qtbot):
    from tests.gui.waiting import result_where

    scenario = window.doc.scenario
    window.market_controls.set_mechanism("vcg")
    assert window.market_state.settings.mechanism == "vcg"
    assert window.doc.undo_stack.undoText() == "Mechanism: VCG (Clarke pivot)"
    assert not window.doc.modified  # the file does not hold the settings: nothing to save
    result_where(window, qtbot, lambda r: r.settings.mechanism == "vcg")
    window.act_undo.trigger()
    assert window.market_controls.mechanism.currentData() == "welfare"
    assert window.doc.scenario is scenario and not window.doc.modified
    result_where(window, qtbot, lambda r: r.settings.mechanism == "welfare")


def test_undo_walks_back_through_feeder_edits_and_market_choices_alike(window, qtbot):
    s = window.doc.scenario
    p = s.prosumers[0]
    window.doc.apply(s.with_prosumer(0, replace(p, demand_kw=tuple(2 * d for d in p.demand_kw))), "Double demand")
    window.market_controls.set_network("lindistflow")
    assert window.doc.modified
    window.act_undo.trigger()  # the network model first
    assert window.market_state.settings.network == "none" and window.doc.modified
    window.act_undo.trigger()  # then the feeder edit
    assert window.doc.scenario is s and not window.doc.modified
    assert not window.doc.undo_stack.canUndo()


def test_a_warning_leaves_the_status_bar_with_its_cause(window, qtbot):
    window.statusBar().showMessage("⚠ efficiency η must be in (0, 1], got 1.5", 15000)
    window.market_controls.set_mechanism("vcg")  # another market: the warning was about the last one
    assert window.statusBar().currentMessage() == ""
    window.statusBar().showMessage("⚠ a rating must be positive", 15000)
    window.act_undo.trigger()  # the scenario or the settings change back: so does the cause
    assert window.statusBar().currentMessage() == ""
    window.statusBar().showMessage("Saved project.json", 5000)  # news, not a warning, stays
    window.market_controls.set_mechanism("uniform")
    assert window.statusBar().currentMessage() == "Saved project.json"


def test_the_scenario_fields_read_from_the_start_of_their_text(window):
    name = window.scenario_form.edits["name"]
    assert name.cursorPosition() == 0 and name.text() == window.doc.scenario.name
