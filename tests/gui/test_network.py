"""The network side of the dashboard as a user drives it: choose a network model, read the DLMPs.

``ieee33-constrained.json`` has a voltage floor of 0.934 p.u. that binds at
bus 18 (the end of the main feeder) in the evening, and a 30 A lateral 3 → 23
that is congested at midday. With LinDistFlow at 19:00 the DLMP of bus 18 is
energy + loss + voltage (the lowest voltage on the feeder, at its limit); at
13:00 the line into bus 23 is at 100 % of its rating.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, Qt

from gui.network_panels import LOADING_SCALE
from tests.gui.waiting import TIMEOUT_MS, result_where


@pytest.fixture
def constrained(window, projects_dir, qtbot):
    """The window on the constrained IEEE 33-bus project, cleared with LinDistFlow, at 19:00."""
    assert window.open_path(projects_dir / "ieee33-constrained.json", ask=False)
    controls = window.market_controls
    controls.audit.setChecked(False)  # not what these tests look at; keeps them quick
    controls.set_network("lindistflow")
    controls.period.setValue(19)
    result_where(
        window,
        qtbot,
        lambda r: (
            r.settings.network == "lindistflow"
            and r.period == 19
            and r.scenario_name.startswith("IEEE 33-bus community, constrained")
        ),
    )
    return window


def _row(result, bus: str, period: int):
    b = result.buses
    return b[(b.bus == bus) & (b.period == period)].iloc[0]


def test_the_dlmp_panel_stacks_the_four_parts_of_every_bus(constrained):
    result = constrained.market_result
    panel = constrained.dlmp
    assert panel.stack.currentIndex() == 0  # the plot, not the note
    assert panel.bar_count() == 33
    # sorted by electrical distance from the substation: the substation first, bus 18 (the far end) last
    shown = [str(b) for b in panel.rows.bus]
    assert shown[0] == "1" and shown[-1] == "18"
    row = _row(result, "18", 19)
    parts = panel.drawn_parts("18")
    assert set(parts) == {"energy", "loss", "congestion", "voltage"}
    # the parts add up to the bus balance's dual within the decomposition's check (1e-7 EUR/kWh = 0.0001 EUR/MWh)
    assert sum(parts.values()) == pytest.approx(panel.drawn_total("18"), abs=1e-7)
    assert panel.drawn_total("18") == pytest.approx(row.dlmp_per_kwh, abs=1e-12)
    assert parts["voltage"] == pytest.approx(row.voltage_per_kwh) and parts["voltage"] > 0.01  # the floor binds
    assert parts["energy"] == pytest.approx(row.energy_per_kwh)
    # the units are on the axis; hovering a bar names the bus's numbers
    assert "EUR/kWh" in panel.plot.getPlotItem().getAxis("left").labelText
    text = panel.hover_index(panel.index_of("18"))
    assert "Bus 18" in text and f"{row.dlmp_per_kwh:.4f}" in text and "0.9340 p.u." in text
    assert "EUR/kWh" in panel.plot.toolTip() and "withdraws 90.0 kW" in panel.plot.toolTip()
    assert panel.hover.text() == text
    assert "voltage" in panel.title.text() and "19:00" in panel.title.text()


def test_without_the_energy_part_the_bars_show_the_locational_parts(constrained):
    panel = constrained.dlmp
    row = _row(constrained.market_result, "18", 19)
    panel.with_energy.setChecked(False)
    assert not panel.bars["energy_per_kwh"].isVisible()
    assert panel.drawn_total("18") == pytest.approx(row.loss_per_kwh + row.congestion_per_kwh + row.voltage_per_kwh)
    assert "DLMP − energy" in panel.plot.getPlotItem().getAxis("left").labelText
    panel.with_energy.setChecked(True)
    assert panel.drawn_total("18") == pytest.approx(row.dlmp_per_kwh)


def test_buses_coloured_by_voltage_put_bus_18_at_the_low_end(constrained):
    feeder = constrained.feeder
    feeder.set_colour_mode("voltage")
    scale = feeder.bus_scale
    assert scale is not None and scale.unit == "p.u."
    # one scale for the whole day (the same colour is the same voltage in every period)
    day = constrained.market_result.buses
    assert (scale.lo, scale.hi) == pytest.approx((day.v_pu.min(), day.v_pu.max()))
    v18 = _row(constrained.market_result, "18", 19).v_pu
    assert scale.lo == pytest.approx(v18)  # the floor binds at bus 18 at 19:00: the day's lowest voltage
    assert feeder.bus_colour("18") == scale.colour(v18)
    assert scale.fraction(_row(constrained.market_result, "2", 19).v_pu) > 0.8
    feeder.set_period(13)
    assert (feeder.bus_scale.lo, feeder.bus_scale.hi) == (scale.lo, scale.hi)
    assert feeder.bus_colour("18") == scale.colour(_row(constrained.market_result, "18", 13).v_pu)
    feeder.set_period(19)
    # the lower limit is marked on the colour bar; bus 18 sits at it, not beyond it
    assert any(name == "min" and v == pytest.approx(0.934) for v, name in scale.marks)
    assert not feeder.buses["18"].alert
    assert "V 0.9340 p.u." in feeder.buses["18"].toolTip()
    # by DLMP bus 18 is the dearest; by what they host the colours are the usual ones
    feeder.set_colour_mode("dlmp")
    assert feeder.bus_scale.unit == "EUR/kWh"
    assert feeder.bus_scale.hi == pytest.approx(day.dlmp_per_kwh.max())
    at19 = day[day.period == 19]
    assert at19.set_index("bus").dlmp_per_kwh.idxmax() == "18"
    assert feeder.bus_colour("18") == feeder.bus_scale.colour(_row(constrained.market_result, "18", 19).dlmp_per_kwh)
    feeder.set_colour_mode("host")
    assert feeder.bus_scale is None
    from gui.feeder_items import KIND_COLOURS

    assert feeder.bus_colour("18") == KIND_COLOURS["generation"]


def test_a_voltage_outside_its_limits_stands_out(constrained):
    from dataclasses import replace

    result = constrained.market_result
    buses = result.buses.copy()
    buses.loc[(buses.bus == "17") & (buses.period == 19), "v_pu"] = 0.90
    constrained.feeder.set_result(replace(result, buses=buses), 19)
    assert constrained.feeder.buses["17"].alert and not constrained.feeder.buses["16"].alert
    assert "outside" in constrained.feeder.buses["17"].toolTip()
    constrained.inspector.set_result(replace(result, buses=buses), 19)
    constrained.feeder.buses["17"].setSelected(True)
    html = constrained.inspector.toHtml()
    assert "below the limit" in constrained.inspector.toPlainText() and "#c80000" in html


def test_choosing_an_auction_disables_the_network_selector(constrained, qtbot):
    controls = constrained.market_controls
    assert controls.network.isEnabled() and not controls.iterate.isEnabled()
    with qtbot.waitSignal(constrained.runner.finished, timeout=TIMEOUT_MS) as blocker:
        controls.set_mechanism("uniform")
    assert controls.network.currentData() == "none"
    assert not controls.network.isEnabled()
    assert "welfare" in controls.network.toolTip()
    assert blocker.args[0].settings.network == "none" and blocker.args[0].buses is None
    assert controls.settings().network == "none"
    # no network, no DLMPs: the panel says how to get them; the feeder shows what buses host
    panel = constrained.dlmp
    assert panel.stack.currentWidget() is panel.note
    assert "choose a network model to see dlmps" in panel.note.text().lower()
    assert constrained.feeder.bus_scale is None and constrained.feeder.line_scale is None
    with qtbot.waitSignal(constrained.runner.finished, timeout=TIMEOUT_MS):
        controls.set_mechanism("welfare")
    assert controls.network.isEnabled()


def test_lines_are_coloured_by_loading_and_follow_the_period_slider(constrained, qtbot, monkeypatch):
    import gui.workers.jobs

    result = constrained.market_result
    feeder = constrained.feeder
    into_23 = result.lines[(result.lines.to_bus == "23") & (result.lines.period == 13)].iloc[0]
    assert into_23.line == "L22" and into_23.loading_pct == pytest.approx(100.0, abs=0.01)
    calls = []
    real = gui.workers.jobs.clear
    monkeypatch.setattr(gui.workers.jobs, "clear", lambda *a, **k: calls.append(1) or real(*a, **k))
    constrained.market_controls.period.setValue(13)
    # at once, from the result on screen (the new clearing has not even started)
    assert calls == [] and constrained.market_result is result
    assert feeder.period == 13 and constrained.dlmp.period == 13 and constrained.day_prices.now.value() == 13
    assert feeder.line_colour("L22") == LOADING_SCALE.colour(100.0)
    assert feeder.lines["L22"].pen().widthF() > 4
    assert "loading 100.0 %" in feeder.lines["L22"].toolTip() and "at its rating" in feeder.lines["L22"].toolTip()
    assert feeder.line_colour("L18") != LOADING_SCALE.colour(100.0)
    assert feeder.lines["L18"].pen().widthF() < feeder.lines["L22"].pen().widthF()  # room left: thinner
    # the congested lateral: its buses carry a congestion part, the others none
    parts = constrained.dlmp.drawn_parts("24")
    assert parts["congestion"] > 0.001 and constrained.dlmp.drawn_parts("18")["congestion"] == 0
    # the inspector on the line shows its flow and loading, in red
    feeder.lines["L22"].setSelected(True)
    text = constrained.inspector.toPlainText()
    assert "100.0" in text and "congested" in text and "506.9" in text
    result_where(constrained, qtbot, lambda r: r.period == 13)


def test_the_inspector_shows_the_dlmp_of_a_clicked_bus(constrained, qtbot):
    row = _row(constrained.market_result, "18", 19)
    constrained.feeder.buses["18"].setSelected(True)
    text = constrained.inspector.toPlainText()
    assert "Bus 18" in text and "DLMP" in text and f"{row.dlmp_per_kwh:.4f}" in text
    for name in ("energy", "loss", "congestion", "voltage"):
        assert name in text
    assert f"{row.voltage_per_kwh:.4f}" in text and "0.9340" in text and "withdrawal" in text
    # the DLMP panel marks the selected bus; clicking a bar selects its bus
    panel = constrained.dlmp
    assert panel.selected_band.isVisible()
    assert panel.selected_band.getRegion() == pytest.approx((32 - 0.5, 32 + 0.5))
    vb = panel.plot.getPlotItem().getViewBox()
    i = panel.index_of("24")
    scene = vb.mapViewToScene(QPointF(i, 0.05))
    pos = panel.plot.mapFromScene(scene)
    qtbot.mouseClick(panel.plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: constrained.feeder.selected_bus() == "24", timeout=5000)
    assert "Bus 24" in constrained.inspector.toPlainText()


def test_the_feeder_day_shows_the_dlmp_band_and_the_worst_voltage(constrained, qtbot):
    day = constrained.day_prices
    p = constrained.market_result.periods
    assert day.volt_plot.isVisible() and day.dlmp_band.isVisible()
    assert list(day.dlmp_hi.yData) == pytest.approx(list(p.dlmp_max_per_kwh))
    assert list(day.dlmp_lo.yData) == pytest.approx(list(p.dlmp_min_per_kwh))
    assert list(day.v_min.yData) == pytest.approx(list(p.v_min_pu))
    assert day.v_limit.value() == pytest.approx(0.934)
    assert day.v_now.value() == 19 and day.v_now_text.toPlainText() == "0.9340 p.u. · bus 18"
    assert "19:00" in day.title.text()
    # the wholesale price is the outside option here: the tariffs are left out
    assert not day.retail.isVisible()
    constrained.market_controls.period.setValue(13)
    assert day.v_now.value() == 13 and "13:00" in day.title.text()
    result_where(constrained, qtbot, lambda r: r.period == 13)


def test_ac_check_shows_the_ac_voltage(constrained, qtbot):
    with qtbot.waitSignal(constrained.runner.finished, timeout=TIMEOUT_MS) as blocker:
        constrained.market_controls.set_network("ac")
    result = blocker.args[0]
    assert "v_pu_ac" in result.buses
    constrained.feeder.buses["18"].setSelected(True)
    assert "AC voltage" in constrained.inspector.toPlainText()
    assert "(AC " in constrained.dlmp.hover_index(constrained.dlmp.index_of("18"))
    assert constrained.day_prices.v_min_ac.isVisible()


def test_a_large_feeders_dlmps_show_their_differences_and_the_selected_lateral(qtbot):
    """200 buses: the parts are stacked areas against electrical distance, the axis starts under the cheapest DLMP
    (the parts that differ are readable), and selecting a bus marks its lateral — its path from the substation and
    every bus below it — on the chart."""
    import networkx as nx

    from core.market import MarketSettings, clear
    from core.scenario.generate import synthetic_feeder
    from gui.network_panels import DLMPPanel

    s = synthetic_feeder(n_buses=200, n_prosumers=300, seed=7, periods=2)
    result = clear(s, MarketSettings(network="lindistflow", period=1, audit=False, tatonnement=False, compare=False))
    panel = DLMPPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 400)
    panel.set_feeder(s.feeder)
    panel.set_result(result)
    dlmp = panel.rows.dlmp_per_kwh.to_numpy(float)
    # the parts as stacked areas against electrical distance, not one bar per bus
    assert not panel.bars["energy_per_kwh"].isVisible() and panel.areas["energy_per_kwh"][2].isVisible()
    lo, hi, _fill = panel.areas["loss_per_kwh"]
    assert list(hi.xData) == list(panel.rows.electrical_distance_pu)
    loss = panel.rows.loss_per_kwh
    assert hi.yData - lo.yData == pytest.approx(loss.where(loss.abs() >= 1e-9, 0.0))
    y0, y1 = panel.plot.getPlotItem().getViewBox().viewRange()[1]
    assert 0.0 < y0 < dlmp.min() and y1 > dlmp.max()
    tree = nx.bfs_tree(s.feeder.graph(), s.feeder.substation.bus)
    bus = next(
        b for b in tree if tree.out_degree(b) > 0 and nx.shortest_path_length(tree, s.feeder.substation.bus, b) == 3
    )
    panel.set_selected_bus(bus)
    expected = set(nx.shortest_path(tree, s.feeder.substation.bus, bus)) | nx.descendants(tree, bus)
    assert set(panel.lateral_marked()) == expected
    panel.set_selected_bus(None)
    assert panel.lateral_marked() == []
