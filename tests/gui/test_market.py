"""The market panels as a user drives them: choose a mechanism, edit a prosumer, see new numbers.

The teaching project is the chapter's double auction: bids {12, 10, 8} and
asks {5, 7, 9} ¢/kWh for 1 kWh each. By hand: two units trade (12 ≥ 5,
10 ≥ 7; 8 < 9); the Walrasian interval is [8, 9], so the uniform price at
k = 0.5 is 8.5 ¢/kWh. VCG pays each buyer's and seller's externality: the
buyers pay 8 and 8 (the price that would have kept them out: max(8, 7) = 8),
the sellers receive 9 and 9, so the platform runs a deficit of 16 − 18 = −2 ¢.
"""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt

import gui.workers.jobs
from core.errors import ClearingError, ScenarioError
from core.market import MarketSettings
from gui.failures import describe_failure
from gui.market_panels import BAD
from tests.gui.waiting import TIMEOUT_MS, result_where


@pytest.fixture
def clear_calls(monkeypatch):
    """Wrap the clearing the runner calls; record the thread of each call."""
    calls: list[threading.Thread] = []
    real = gui.workers.jobs.clear

    def wrapped(*args, **kwargs):
        calls.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(gui.workers.jobs, "clear", wrapped)
    return calls


def _choose(window, qtbot, mechanism: str):
    with qtbot.waitSignal(window.runner.finished, timeout=TIMEOUT_MS) as blocker:
        window.market_controls.set_mechanism(mechanism)
    result = blocker.args[0]
    assert result.settings.mechanism == mechanism
    return result


def _prosumer_cell(window, prosumer_id: str, key: str):
    model = window.prosumers.model
    row = next(r for r in range(model.rowCount()) if model.record(r).id == prosumer_id)
    return model.index(row, model.column_of(key))


def test_uniform_price_on_the_teaching_auction(teaching, qtbot):
    result = _choose(teaching, qtbot, "uniform")
    assert result.curves.price == pytest.approx(8.5)
    summary = teaching.curves.summary.text()
    assert "8.5\u00a0¢/\u2060kWh" in summary and "2\u00a0kWh" in summary
    # the clearing point is drawn at (2 kWh, 8.5 ¢/kWh), the curves as steps in pyqtgraph's "center" form
    xs, ys = teaching.curves.point.getData()
    assert list(xs) == pytest.approx([2.0]) and list(ys) == pytest.approx([8.5])
    assert teaching.curves.demand.opts["stepMode"] == "center"
    assert list(teaching.curves.demand.xData) == pytest.approx([0, 1, 2, 3])
    assert list(teaching.curves.demand.yData) == pytest.approx([12, 10, 8])
    # axes carry units; the tariffs are named on the right axis
    item = teaching.curves.plot.getPlotItem()
    assert "¢/kWh" in item.getAxis("left").labelText
    assert "kWh" in item.getAxis("bottom").labelText
    right = [text for v, text in item.getAxis("right")._tickLevels[0]]
    assert right == ["retail 25", "feed-in 4", "◀ 8.5"]
    # k is for the uniform auction only
    assert teaching.market_controls.k.isEnabled()
    # the price iteration panel says an auction clears directly
    assert teaching.iteration.stack.currentWidget() is teaching.iteration.note
    assert "clears directly" in teaching.iteration.note.text()


def test_hovering_a_step_names_the_agent_behind_it(teaching, qtbot):
    _choose(teaching, qtbot, "uniform")
    text = teaching.curves.hover_at(0.5, 11.5)
    assert text.startswith("B1 bids 12 ¢/kWh for 1 kWh")
    assert teaching.curves.hover.text() == text
    assert teaching.curves.hover_at(2.5, 9.2).startswith("S3 asks 9 ¢/kWh for 1 kWh")
    assert teaching.curves.hover_at(1.5, 7.3).startswith("S2 asks 7")


def test_vcg_shows_its_deficit(teaching, qtbot):
    result = _choose(teaching, qtbot, "vcg")
    assert result.summary["platform_surplus"] == pytest.approx(-2.0)
    props = teaching.properties
    assert props.cell("vcg", "platform_surplus") == "−2.00"  # money: cents, like every money column
    assert props.cell("vcg", "bb").startswith("✗")
    assert props.cell("uniform", "bb").startswith("✓")
    assert props.cell("vcg", "max_ic_gain") == "✓ 0.00"  # truthful: nobody gains by lying
    assert props.cell("uniform", "max_ic_gain").startswith("✗")
    # the chosen mechanism's row is the highlighted one, and property cells are green/red
    assert props.model.bold_row == props.row_of("vcg")
    bb = props.model.index(props.row_of("vcg"), props.model.column_of("bb"))
    assert bb.data(Qt.ItemDataRole.BackgroundRole).color() == BAD.color()
    assert "platform deficit 2 ¢" in teaching.curves.summary.text()  # the period's (here the only one)
    assert "no single price" in teaching.curves.summary.text()
    assert not teaching.market_controls.k.isEnabled()
    # every column explains itself and its unit
    for c in range(props.model.columnCount()):
        assert props.model.headerData(c, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert "(¢)" in props.model.headerData(props.model.column_of("platform_surplus"), Qt.Orientation.Horizontal)
    assert "Myerson–Satterthwaite" in props.explanation.text()


def test_editing_a_prosumer_clears_the_market_again(teaching, qtbot):
    _choose(teaching, qtbot, "uniform")
    idx = _prosumer_cell(teaching, "B3", "bids")
    assert idx.data() == "buy 8@1"
    with qtbot.waitSignal(teaching.runner.finished, timeout=TIMEOUT_MS) as blocker:
        assert teaching.prosumers.model.setData(idx, "buy 11@1")
    # bids {12, 11, 10} and asks {5, 7, 9}: three units trade, the interval is [9, 10]
    result = blocker.args[0]
    assert result.curves.traded_kwh == pytest.approx(3.0)
    assert result.curves.price == pytest.approx(9.5)
    assert "9.5\u00a0¢/\u2060kWh" in teaching.curves.summary.text()
    agents = teaching.agent_results.model
    assert agents.rowCount() == 6
    # undo puts the old numbers back
    with qtbot.waitSignal(teaching.runner.finished, timeout=TIMEOUT_MS) as blocker:
        teaching.act_undo.trigger()
    assert blocker.args[0].curves.price == pytest.approx(8.5)


def test_a_newer_request_supersedes_one_still_running(teaching, qtbot, monkeypatch):
    real = gui.workers.jobs.clear
    release = threading.Event()
    first_running = threading.Event()
    seen: dict[str, bool] = {}

    def slow_first(scenario, settings, progress=None, cancelled=None):
        if settings.mechanism == "pay_as_bid":
            first_running.set()
            release.wait(10)
            seen["cancelled"] = cancelled()
        return real(scenario, settings, progress=progress, cancelled=cancelled)

    monkeypatch.setattr(gui.workers.jobs, "clear", slow_first)
    shown = []
    teaching.runner.finished.connect(lambda r: shown.append(r.settings.mechanism))
    teaching.market_controls.set_mechanism("pay_as_bid")
    qtbot.waitUntil(first_running.is_set, timeout=TIMEOUT_MS)
    teaching.market_controls.set_mechanism("vcg")
    release.set()
    result_where(teaching, qtbot, lambda r: r.settings.mechanism == "vcg")
    assert seen["cancelled"] is True  # the first clearing was told to stop
    assert shown == ["vcg"]  # and its result never reached the panels
    assert teaching.properties.model.bold_row == teaching.properties.row_of("vcg")


def test_a_burst_of_requests_clears_once(teaching, qtbot, clear_calls):
    shown = []
    teaching.runner.finished.connect(lambda r: shown.append(r.settings.mechanism))
    s = teaching.doc.scenario
    teaching.runner.request(s, MarketSettings(mechanism="uniform"))
    teaching.runner.request(s, MarketSettings(mechanism="trade_reduction"))
    teaching.runner.request(s, MarketSettings(mechanism="vcg"))
    result_where(teaching, qtbot, lambda r: r.settings.mechanism == "vcg")
    assert shown == ["vcg"]
    assert len(clear_calls) == 1


def test_the_gui_thread_never_clears(teaching, qtbot, clear_calls):
    _choose(teaching, qtbot, "uniform")
    with qtbot.waitSignal(teaching.runner.finished, timeout=TIMEOUT_MS):
        teaching.market_controls.k.setValue(0.25)
    assert clear_calls
    assert all(t is not threading.main_thread() for t in clear_calls)
    # k = 0.25 on the interval [8, 9]
    assert teaching.market_result.curves.price == pytest.approx(8.25)


@pytest.mark.parametrize(
    "error, expected",
    [
        (ClearingError("infeasible", "the welfare-maximising clearing is infeasible"), "is infeasible"),
        (ScenarioError("prosumer 'S1' has no bus"), "prosumer 'S1' has no bus"),
        (ValueError("period 3 is outside the horizon (0…0)"), "period 3 is outside the horizon"),
        (ZeroDivisionError("float division by zero"), "ZeroDivisionError: float division by zero"),
    ],
)
def test_a_failure_is_one_line_in_the_status_bar_and_keeps_the_last_result(
    teaching, qtbot, monkeypatch, error, expected
):
    before = _choose(teaching, qtbot, "uniform")
    summary = teaching.curves.summary.text()

    def broken(*_args, **_kwargs):
        raise error

    monkeypatch.setattr(gui.workers.jobs, "clear", broken)
    with qtbot.waitSignal(teaching.runner.failed, timeout=TIMEOUT_MS) as blocker:
        teaching.market_controls.k.setValue(0.3)
    message = blocker.args[0]
    assert expected in message and "\n" not in message and "Traceback" not in message
    status = teaching.statusBar().currentMessage()
    assert status.startswith("⚠") and expected in status
    assert "⚠" in teaching.market_controls.state.text()
    # the previous result stays on screen
    assert teaching.market_result is before
    assert teaching.curves.summary.text() == summary
    qtbot.waitUntil(lambda: not teaching.runner.is_busy(), timeout=TIMEOUT_MS)


def test_describe_failure_never_shows_a_traceback():
    assert describe_failure(RuntimeError("first line\n  second line")) == "RuntimeError: first line"
    assert describe_failure(KeyError("x")) == "KeyError: 'x'"
    assert describe_failure(ClearingError("solver_error", "")) == "solver_error"


def test_welfare_clearing_shows_its_price_iteration(teaching, qtbot):
    result = teaching.market_result
    assert result.settings.mechanism == "welfare"
    panel = teaching.iteration
    assert panel.stack.currentIndex() == 0  # the plots, not the note
    iters, prices = panel.prices.getData()
    assert len(iters) == result.trace.iterations == len(prices)
    assert list(prices) == pytest.approx(list(result.trace.prices[:, 0]))
    assert panel.lam.value() == pytest.approx(result.periods.price_per_kwh.iloc[0])
    assert "λ" in panel.lam.label.format
    _x, excess = panel.excess.getData()
    assert list(excess) == pytest.approx(list(result.trace.excess_kw[:, 0]))
    # the planner's price sits inside the auction's interval [8, 9]
    assert 8.0 <= result.curves.price <= 9.0


def test_the_period_slider_moves_the_day_and_the_curves(window, qtbot):
    first = result_where(window, qtbot, lambda r: True)
    assert first.scenario_name.startswith("IEEE 33")
    controls = window.market_controls
    assert controls.period.maximum() == 23 and controls.period.isEnabled()
    with qtbot.waitSignal(window.runner.finished, timeout=TIMEOUT_MS) as blocker:
        controls.period.setValue(12)
    result = blocker.args[0]
    assert result.period == 12
    assert controls.clock.text().startswith("12:00")
    day = window.day_prices
    assert day.now.value() == 12
    assert day.price.opts["stepMode"] == "center" and len(day.price.yData) == 24
    assert list(day.price.yData) == pytest.approx(list(result.periods.price_per_kwh))
    assert "12:00" in day.title.text()
    # the curves came with the market, before the audit: the same clearing, its diagnostics then followed
    assert window.curves.result.period == 12 and window.curves.result.curves is result.curves
    assert window.properties.result.comparison is result.comparison and result.comparison is not None
    assert window.compare.result is result and result.mechanisms is not None
    assert window.properties.isEnabled() and "Solved in" in controls.state.text()


def test_agent_results_table_sorts_by_value_and_marks_ir_violations(teaching, qtbot):
    from dataclasses import replace

    result = _choose(teaching, qtbot, "uniform")
    panel = teaching.agent_results
    model = panel.model
    pay = model.column_of("payment")
    assert model.headerData(pay, Qt.Orientation.Horizontal) == "Payment (¢)"
    assert model.headerData(model.column_of("bought_kwh"), Qt.Orientation.Horizontal) == "Bought P2P (kWh)"
    assert model.index(0, pay).data(Qt.ItemDataRole.TextAlignmentRole) & Qt.AlignmentFlag.AlignRight
    panel.view.sortByColumn(pay, Qt.SortOrder.AscendingOrder)
    proxy = panel.proxy
    shown = [proxy.index(r, pay).data() for r in range(proxy.rowCount())]
    assert shown[0] == "−8.50" and shown[-1] == "8.50"
    assert model.flags(model.index(0, 0)) & Qt.ItemFlag.ItemIsEditable == Qt.ItemFlag(0)
    # an agent worse off than its outside option is shown in red
    agents = result.agents.copy()
    agents.loc[0, "ir_ok"] = False
    panel.set_result(replace(result, agents=agents))
    assert model.index(0, 0).data(Qt.ItemDataRole.BackgroundRole).color() == BAD.color()
    assert model.index(1, 0).data(Qt.ItemDataRole.BackgroundRole) is None
    assert "1 worse off" in panel.info.text()


def test_market_docks_are_listed_in_the_view_menu(window, qtbot):
    view = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    titles = {a.text() for a in view.actions()}
    for key in (
        "market",
        "curves",
        "properties",
        "agents",
        "iteration",
        "day_prices",
        "dlmp",
        "fairness",
        "market_power",
        "nash",
        "studies",
    ):
        assert window.docks[key].windowTitle() in titles
    assert window.centralWidget() is window.feeder
    # each group of tabbed docks shows one tab bar, and no stale copy of it peeks out between the docks
    from PySide6.QtWidgets import QTabBar

    qtbot.waitUntil(lambda: not window._tab_bar_check.isActive())
    # the dock groups' tab bars (children of the window; a panel's own tabs are not in question)
    bars = [b for b in window.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly) if b.isVisible()]
    groups = sorted(tuple(b.tabText(i) for i in range(b.count())) for b in bars)
    assert groups == sorted(
        [
            ("Supply and demand", "Prices over the day", "Price iteration"),
            ("Compare mechanisms", "Mechanism properties"),
        ]
    )  # the Market workspace, where the window opens


def test_the_market_shows_before_its_diagnostics_and_a_newer_edit_drops_them(teaching, qtbot, monkeypatch):
    """The first stage (prices, curves, agents) is on screen while the audit and the rules are computed; the
    panels waiting for them are greyed and keep their numbers; a newer request drops the older diagnostics."""
    real = gui.workers.jobs.clear
    hold = threading.Event()
    held: list[str] = []

    def held_diagnostics(scenario, settings, progress=None, cancelled=None):
        for stage in real(scenario, settings, progress=progress, cancelled=cancelled):
            if not stage.pending and settings.mechanism == "vcg":
                held.append(settings.mechanism)
                hold.wait(10)  # the complete VCG result waits until the test lets it go
            yield stage

    monkeypatch.setattr(gui.workers.jobs, "clear", held_diagnostics)
    before = _choose(teaching, qtbot, "uniform")
    assert teaching.properties.isEnabled()
    previews, finals = [], []
    teaching.runner.preview.connect(lambda r: previews.append(r.settings.mechanism))
    teaching.runner.finished.connect(lambda r: finals.append(r.settings.mechanism))
    with qtbot.waitSignal(teaching.runner.preview, timeout=TIMEOUT_MS) as blocker:
        teaching.market_controls.set_mechanism("vcg")
    first = blocker.args[0]
    assert first.pending == ("properties audit", "mechanism comparison")
    # VCG by hand (module text): buyers pay 8 and 8, sellers receive 9 and 9 — on screen already
    assert teaching.curves.result is first and teaching.agent_results.result is first
    assert first.summary["platform_surplus"] == pytest.approx(-2.0)
    # the properties panel still shows the uniform audit, greyed, until VCG's audit comes
    assert teaching.properties.result.comparison is before.comparison and not teaching.properties.isEnabled()
    assert teaching.runner.is_busy() and "Computing" in teaching.market_controls.state.text()
    qtbot.waitUntil(lambda: held == ["vcg"], timeout=TIMEOUT_MS)
    # a newer request while VCG's audit is held: its complete result must never be shown
    teaching.market_controls.set_mechanism("trade_reduction")
    hold.set()
    last = result_where(teaching, qtbot, lambda r: r.settings.mechanism == "trade_reduction" and not r.pending)
    # VCG's previews (the market, then its audit) all came before the newer request's; its final never did
    assert finals == ["trade_reduction"] and previews[0] == "vcg"
    newer = previews.index("trade_reduction")
    assert set(previews[:newer]) == {"vcg"} and set(previews[newer:]) == {"trade_reduction"}
    assert teaching.properties.isEnabled() and teaching.properties.result.comparison is last.comparison
    assert teaching.properties.model.bold_row == teaching.properties.row_of("trade_reduction")
    assert teaching.compare.isEnabled() and teaching.compare.result is last


def test_each_diagnostic_reaches_its_panel_as_soon_as_it_is_done(window, qtbot):
    """Proportional fairness on the default project: the market, then the decentralised check, the audit, the
    price iteration and the rule comparison — each panel un-greys when its own numbers arrive."""
    result_where(window, qtbot, lambda r: True)
    seen = []
    panels = {
        "properties": window.properties,
        "iteration": window.iteration,
        "fairness": window.fairness,
        "compare": window.compare,
    }

    def record(result):
        seen.append((result.pending, {k for k, p in panels.items() if p.isEnabled()}))

    window.runner.preview.connect(record)  # after the window's own slot
    window.runner.finished.connect(record)
    window.market_controls.set_fairness("proportional")
    result_where(window, qtbot, lambda r: r.settings.fairness == "proportional" and not r.pending)
    pendings = [p for p, _ in seen]
    assert pendings == [
        ("decentralised check", "properties audit", "price iteration", "fairness comparison", "mechanism comparison"),
        ("properties audit", "price iteration", "fairness comparison", "mechanism comparison"),
        ("price iteration", "fairness comparison", "mechanism comparison"),
        ("fairness comparison", "mechanism comparison"),
        ("mechanism comparison",),
        (),
    ]
    enabled = [e for _, e in seen]
    assert enabled == [
        set(),
        set(),
        {"properties"},
        {"properties", "iteration"},
        {"properties", "iteration", "fairness"},
        set(panels),
    ]
    assert window.fairness.result.fairness_summary["rule"] == "proportional"
    assert window.iteration.result.trace is not None and window.properties.result.comparison is not None


def test_an_auction_says_it_drops_the_network_and_the_welfare_clearing_takes_it_back(window, qtbot):
    c = window.market_controls
    c.set_network("lindistflow")
    c.set_mechanism("uniform")
    assert c.settings().network == "none" and not c.network.isEnabled()
    assert "without the feeder" in window.statusBar().currentMessage()
    c.set_mechanism("vcg")
    c.set_mechanism("welfare")
    assert c.settings().network == "lindistflow"
    assert "LinDistFlow" in window.statusBar().currentMessage()
    result_where(window, qtbot, lambda r: r.settings.network == "lindistflow" and not r.pending)


def test_figures_below_the_noise_floor_read_as_zero():
    from core.units import fmt_sig

    assert fmt_sig(7.598e-9) == "0" and fmt_sig(-5.4e-13) == "0"
    assert fmt_sig(0.07158) == "0.07158" and fmt_sig(8.5) == "8.5" and fmt_sig(-2.0) == "−2"
    assert fmt_sig(3238.4) == "3,238"


def test_supply_and_demand_opens_on_where_it_trades(qtbot, projects_dir):
    """The 33-bus community at 00:00 trades a few kWh out of thousands bid: the plot shows the clearing, and the
    rest of the curves is a wheel away (its limits), not squeezed into the first pixels."""
    from core.market import clear
    from core.scenario import load_project
    from gui.market_panels import CurvesPanel

    s = load_project(projects_dir / "ieee33-community.json")
    result = clear(s, MarketSettings(mechanism="uniform", period=0, audit=False, compare=False))
    c = result.curves
    whole = max(max(c.demand_kwh), max(c.supply_kwh))
    assert 0 < c.traded_kwh < 0.2 * whole
    panel = CurvesPanel()
    qtbot.addWidget(panel)
    panel.resize(600, 400)
    panel.set_result(result)
    vb = panel.plot.getPlotItem().getViewBox()
    x0, x1 = vb.viewRange()[0]
    assert x0 == 0.0 and c.traded_kwh < x1 <= max(2.5 * c.traded_kwh, 0.25 * whole * 1.04) + 1e-6
    assert vb.state["limits"]["xLimits"][1] == pytest.approx(whole * 1.04)
