"""Fairness, market power and the Nash search as a user drives them.

The teaching project is the chapter's double auction: bids {12, 10, 8} and asks
{5, 7, 9} ¢/kWh for 1 kWh each. By hand:

* uniform price: S1 and S2 sell 1 kWh each, S3 nothing → shares ½, ½, 0 →
  HHI = ½² + ½² = 0.5 (5,000 points), highly concentrated (> 0.25). Demand
  does not respond to the price near 8.5 (the next bid is 8, the next ask 9):
  ε = 0, so the Cournot Lerner s_i/|ε| of a seller that sells is ∞.
* the welfare gain is (12 + 10) − (5 + 7) = 10 ¢. Max-min with transfers in
  the tariff band: B3 (value 8) and S3 (cost 9) cannot be paid without trading,
  so 0.4 kWh of the 8-for-9 trade goes through: W = 10 − 0.4 = 9.6 ¢, shared
  equally, 1.6 ¢ each; PoF = 0.4/10 = 4 %.
* the bidding game of the three sellers (markups up to 100 %): S1 raises its
  ask to just below 9 (9 is S3's ask, which then sets the price): the
  equilibrium price is 9 ¢/kWh against 8.5 truthful.
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt

import gui.workers.jobs
from core.units import fmt_sig
from gui.fairness_panel import envy_view
from gui.power_panels import hhi_text
from tests.gui.waiting import TIMEOUT_MS, result_where


def _choose(window, qtbot, **what):
    """Set controls (mechanism=…, fairness=…, network=…) and wait for the result that has them."""
    controls = window.market_controls
    for key, value in what.items():
        getattr(controls, f"set_{key}")(value)
    return result_where(window, qtbot, lambda r: all(getattr(r.settings, k) == v for k, v in what.items()))


# --- the controls ---------------------------------------------------------------------------


def test_the_fairness_selector_is_for_the_welfare_clearing_only(teaching, qtbot):
    controls = teaching.market_controls
    assert controls.fairness.isEnabled() and controls.transfers.isEnabled()
    assert controls.transfers.isChecked()  # core's default: lump-sum transfers
    assert not controls.lexicographic.isEnabled()  # max-min only
    result = _choose(teaching, qtbot, fairness="maxmin")
    assert controls.lexicographic.isEnabled()
    assert result.fairness_summary["rule"] == "maxmin"
    # an auction has its own allocation: the rule is forced back to efficiency, and the tooltip says why
    result = _choose(teaching, qtbot, mechanism="uniform")
    assert result.settings.fairness == "efficiency"
    assert controls.fairness.currentData() == "efficiency"
    assert not controls.fairness.isEnabled() and not controls.transfers.isEnabled()
    assert not controls.lexicographic.isEnabled()
    assert "welfare-maximising clearing" in controls.fairness.toolTip()
    assert "uniform-price double auction" in controls.fairness.toolTip()
    assert controls.settings().fairness == "efficiency"
    panel = teaching.fairness
    assert panel.stack.currentWidget() is panel.note and "welfare-maximising" in panel.note.text()
    # the tooltip of the transfers box explains both regimes
    _choose(teaching, qtbot, mechanism="welfare")
    assert controls.fairness.isEnabled()
    tip = controls.transfers.toolTip()
    assert "split the total gain equally" in tip and "budget balanced" in tip
    assert "market price" in tip and "efficient gains" in tip


def test_with_a_network_the_panel_audits_envy_under_the_dlmps(teaching, qtbot):
    controls = teaching.market_controls
    _choose(teaching, qtbot, fairness="maxmin")
    result = _choose(teaching, qtbot, network="lindistflow")
    assert result.settings.fairness == "efficiency"
    assert not controls.fairness.isEnabled() and "network" in controls.fairness.toolTip()
    panel = teaching.fairness
    assert panel.stack.currentIndex() == 0
    assert panel.heatmap.shape() == (6, 6)
    assert panel.tabs.currentIndex() == 1 and not panel.tabs.isTabEnabled(2)
    fs = result.fairness_summary
    assert panel.stats.value("envy").startswith(f"{fs['envious_pairs']} of 30")
    assert panel.stats.value("location").startswith(str(fs["location_pairs"]))
    assert "0.003 ¢" in panel.stats.value("envy")  # a small envy is not rounded away


# --- the fairness panel ----------------------------------------------------------------------


def test_max_min_on_the_teaching_feeder_shares_the_gain_equally(teaching, qtbot):
    result = _choose(teaching, qtbot, fairness="maxmin")
    panel = teaching.fairness
    assert panel.stack.currentIndex() == 0
    order, efficient, fair = panel.drawn_gains()
    assert sorted(order) == ["B1", "B2", "B3", "S1", "S2", "S3"]
    assert fair == pytest.approx(np.full(6, 1.6), abs=1e-5)  # equal gains under max-min
    assert np.all(np.diff(efficient) <= 1e-6)  # sorted by the efficient gain (equal to a millionth: ties)
    # S1 sells its kWh (cost 5) at λ = 8.5, the middle of the prices that clear, [8, 9]: a gain of 3.5; B1
    # buys its kWh (worth 12) at 8.5: 3.5 too. Equal gains keep the project's order (B1 first), whatever the
    # solver's last digits say
    assert efficient[:2] == pytest.approx([3.5, 3.5], abs=1e-5) and order[:2] == ["B1", "S1"]
    assert panel.rule_bars.isVisible() and list(panel.rule_bars.opts["height"]) == pytest.approx(list(fair))
    # the headline numbers, with their units
    assert panel.stats.value("welfare_gain") == "9.60 ¢"
    assert panel.stats.value("price_of_fairness") == "4 %"
    assert panel.stats.value("jain").startswith("1.000")
    assert panel.stats.value("gini").startswith("0.000")
    assert panel.stats.value("worst_off") == "1.60 ¢"
    assert panel.stats.value("envy").startswith("6 of 30")
    assert "Supported by" in panel.support.text() and "balanced ✓" in panel.support.text()
    assert result.fairness_summary["supported_by"][:40] in panel.support.text()
    assert "Max-min" in panel.title.text() and "lump-sum transfers" in panel.title.text()
    # the rules compared: every column explains itself, the chosen rule is in bold
    model = panel.model
    assert model.rowCount() == 3 and model.bold_row == 2
    for c in range(model.columnCount()):
        assert model.headerData(c, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert panel.comparison_cell("maxmin", "price_of_fairness") == "4.00"
    assert panel.comparison_cell("efficiency", "price_of_fairness") == "0.00"
    assert panel.comparison_cell("efficiency", "welfare_gain") == "10.00"
    # hovering a participant names its numbers
    assert "B1" in panel.hover_index(0) and "efficient gain 3.50 ¢" in panel.hover.text()
    # the envy matrix: one cell per pair of participants, rows envy columns
    heat = panel.heatmap
    assert heat.shape() == (6, 6)
    assert heat.image.image.shape == (6, 6)
    i, j = heat.view.rows.index("S1"), heat.view.cols.index("S2")
    assert result.envy.loc["S1", "S2"] == pytest.approx(2.0, abs=1e-5)
    assert heat.describe(i, j) == "S1 envies S2 by 2 ¢"
    assert heat.describe(j, i) == "S2 does not envy S1"
    assert heat.image.levels[0] == 0  # zero envy maps to the bottom of the scale: white
    assert heat.bar.axis.labelText.startswith("envy (¢)")


def test_ieee33_max_min_shows_what_core_computed(window, qtbot):
    result = _choose(window, qtbot, fairness="maxmin")
    panel = window.fairness
    f = result.fairness
    order, efficient, fair = panel.drawn_gains()
    assert len(order) == 49
    by_agent = f.set_index("agent")
    assert fair == pytest.approx(by_agent.loc[order, "utility"].to_numpy())
    assert efficient == pytest.approx(by_agent.loc[order, "utility_efficient"].to_numpy())
    # max-min raises the worst-off above the efficient allocation's, at a price: PoF = (W_eff − W)/W_eff
    cmp = result.fairness_comparison.set_index("rule")
    assert fair.min() > efficient.min() + 1.0
    pof = (cmp.welfare_gain["efficiency"] - cmp.welfare_gain["maxmin"]) / cmp.welfare_gain["efficiency"]
    assert panel.stats.value("price_of_fairness") == f"{fmt_sig(100 * pof, 3)} %"
    assert panel.stats.value("worst_off") == f"{fair.min():,.2f} EUR"
    assert panel.heatmap.shape() == (49, 49) and panel.heatmap.view.mode == "full"
    assert panel.stats.value("welfare_gain").endswith(" EUR")
    # without transfers every kWh settles at λ*: the rule gives back the efficient gains, PoF 0
    with qtbot.waitSignal(window.runner.finished, timeout=TIMEOUT_MS) as blocker:
        window.market_controls.transfers.setChecked(False)
    assert blocker.args[0].settings.fairness_transfers is False
    order, efficient, fair = panel.drawn_gains()
    assert fair == pytest.approx(efficient, abs=1e-3)
    assert panel.stats.value("price_of_fairness") == "0 %"
    assert "no side payments" in panel.title.text()


def test_a_large_envy_matrix_is_thinned_for_the_screen():
    n = 600
    ids = [f"h{i}" for i in range(n)]
    E = np.zeros((n, n))
    E[5, 7], E[300, 2], E[599, 598] = 1.0, 3.0, 0.5
    view = envy_view(pd.DataFrame(E, index=ids, columns=ids), limit=200)
    assert view.mode == "envious" and view.matrix.shape == (3, 3)  # the envious rows × the envied columns
    assert view.rows == ["h5", "h300", "h599"] and view.cols == ["h2", "h7", "h598"]
    assert view.matrix.max() == 3.0 and view.n_agents == n
    E[np.arange(n), (np.arange(n) + 1) % n] = 0.25  # everybody envies somebody: blocks, largest envy of each
    view = envy_view(pd.DataFrame(E, index=ids, columns=ids), limit=200)
    assert view.mode == "blocks" and view.matrix.shape == (200, 200)
    assert view.matrix.max() == 3.0 and view.matrix[100, 0] == 3.0  # h300 envies h2: block (300 // 3, 2 // 3)
    assert view.rows[0] == "h0…h2" and view.row_groups[100] == ["h300", "h301", "h302"]
    small = envy_view(pd.DataFrame(E[:49, :49], index=ids[:49], columns=ids[:49]))
    assert small.mode == "full" and small.matrix.shape == (49, 49)


# --- market power ----------------------------------------------------------------------------


def test_market_power_of_the_teaching_auction(teaching, qtbot):
    result = _choose(teaching, qtbot, mechanism="uniform")
    panel = teaching.market_power
    assert panel.stack.currentIndex() == 0
    assert hhi_text(result.market_power_summary) == "HHI 0.50 · 5,000 points · highly concentrated"
    text = panel.hhi_label.text()
    assert "HHI 0.50 · 5,000 points" in text and "highly concentrated" in text
    assert panel.gauge.value == pytest.approx(0.5)
    assert panel.drawn_shares() == pytest.approx({"S1": 50.0, "S2": 50.0, "S3": 0.0})
    # Lerner: observed (8.5 − 5)/8.5 for S1; Cournot ∞ (ε = 0), shown as such
    obs = panel.observed_bars.opts["height"]
    assert obs[0] == pytest.approx(3.5 / 8.5)
    assert panel.inf_bars.isVisible() and len(panel.inf_bars.opts["x"]) == 2
    assert [t.textItem.toPlainText() for t in panel.inf_labels] == ["∞", "∞"]
    assert "∞ (locally inelastic)" in panel.lerner_legend.text()
    assert "Cournot ∞ (locally inelastic)" in panel.describe(0)
    assert "none" in panel.pivotal.text()
    assert "8.5 ¢/kWh" in panel.title.text()


# --- the Nash search -------------------------------------------------------------------------


@pytest.fixture
def nash_calls(monkeypatch):
    """Wrap the search the Nash runner calls; record the thread of each call."""
    calls: list[threading.Thread] = []
    real = gui.workers.jobs.nash_search

    def wrapped(book, **kwargs):
        calls.append(threading.current_thread())
        assert threading.current_thread() is not threading.main_thread()
        return real(book, **kwargs)

    monkeypatch.setattr(gui.workers.jobs, "nash_search", wrapped)
    return calls


def test_the_nash_search_runs_off_the_gui_thread_and_finds_price_9(teaching, qtbot, nash_calls):
    _choose(teaching, qtbot, mechanism="uniform")
    panel = teaching.nash
    assert panel.find_button.isEnabled()
    assert "Uniform-price double auction" in panel.title.text()
    with qtbot.waitSignal(teaching.nash_runner.finished, timeout=TIMEOUT_MS) as blocker:
        qtbot.mouseClick(panel.find_button, Qt.MouseButton.LeftButton)
    outcome = blocker.args[0]
    assert len(nash_calls) == 1 and nash_calls[0] is not threading.main_thread()
    r = outcome.result
    assert r.converged and r.price == pytest.approx(9.0) and r.price_truthful == pytest.approx(8.5)
    assert "Converged" in panel.verdict.text()
    assert panel.stats.value("price") == "9 ¢/kWh (truthful 8.5)"
    assert panel.stats.value("welfare_lost") == "0.00 ¢"
    assert panel.stats.value("deviation") == "0.00 ¢"
    # the path: the price per step, ending at 9; each player's markup per step
    _x, prices = panel.price_line.getData()
    assert prices[0] == pytest.approx(8.5) and prices[-1] == pytest.approx(9.0)
    assert len(panel.markup_lines) == 3
    _x, s1 = panel.markup_lines[0].getData()
    assert s1[-1] == pytest.approx(80.0)  # S1 marks up 80 %: 5·1.8 = 9
    assert panel.player_model.rowCount() == 3
    assert panel.player_model.index(0, panel.player_model.column_of("markup_pct")).data() == "80.0"
    # the existence check ran in the same worker: the uniform price's step payoffs jump
    ex = outcome.existence
    assert ex is not None and not ex.holds
    assert "does not apply" in panel.existence_verdict.text()
    assert panel.existence_model.rowCount() == 3
    assert not teaching.nash_runner.is_busy() and not panel.cancel_button.isEnabled()


def test_cancelling_a_running_search_stops_it(teaching, qtbot, monkeypatch):
    real = gui.workers.jobs.nash_search
    running = threading.Event()
    seen = {}

    def slow(book, **kwargs):
        running.set()
        stop = kwargs["cancelled"].__self__  # the runner's threading.Event behind cancelled()
        seen["stopped"] = stop.wait(20)  # until Cancel is pressed
        return real(book, **kwargs)

    monkeypatch.setattr(gui.workers.jobs, "nash_search", slow)
    panel = teaching.nash
    runner = teaching.nash_runner
    panel.find()
    qtbot.waitUntil(running.is_set, timeout=TIMEOUT_MS)
    assert runner.is_busy() and panel.cancel_button.isEnabled() and not panel.find_button.isEnabled()
    with qtbot.waitSignal(runner.finished, timeout=TIMEOUT_MS) as blocker:
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    outcome = blocker.args[0]
    assert seen["stopped"] is True
    assert outcome.result.cancelled and not outcome.result.converged
    assert outcome.existence is None and "cancelled" in outcome.existence_note
    assert "Cancelled" in panel.verdict.text()
    assert not runner.is_busy() and runner._threads.wait(5000)
    assert panel.find_button.isEnabled() and not panel.cancel_button.isEnabled()


def test_a_new_market_marks_the_shown_equilibrium_out_of_date(teaching, qtbot):
    _choose(teaching, qtbot, mechanism="uniform")
    panel = teaching.nash
    with qtbot.waitSignal(teaching.nash_runner.finished, timeout=TIMEOUT_MS):
        panel.find()
    assert not panel.state.text().startswith("The equilibrium shown")
    _choose(teaching, qtbot, mechanism="pay_as_bid")
    assert "Pay-as-bid" in panel.title.text()
    assert panel.state.text().startswith("The equilibrium shown is for the market before the last change")


def test_a_large_market_says_how_to_get_its_fairness_audit(qtbot):
    # above FAIRNESS_AUDIT_MAX_AGENTS participants the efficient clearing skips comparing the rules: the panel
    # says so and how to get them, instead of a bare "not computed"
    from core.market import MarketSettings, clear
    from core.market.settings import FAIRNESS_AUDIT_MAX_AGENTS
    from core.scenario.generate import synthetic_feeder
    from gui.fairness_panel import FairnessPanel

    s = synthetic_feeder(n_buses=30, n_prosumers=FAIRNESS_AUDIT_MAX_AGENTS + 20, periods=2)
    result = clear(s, MarketSettings(audit=False, tatonnement=False))
    assert result.fairness is None and result.envy is None
    panel = FairnessPanel()
    qtbot.addWidget(panel)
    panel.set_result(result)
    assert f"With {FAIRNESS_AUDIT_MAX_AGENTS + 20:,} participants" in panel.note.text()
    assert "Proportional or Max-min" in panel.note.text()
