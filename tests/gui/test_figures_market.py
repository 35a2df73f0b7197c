"""The market figures ("supply_demand", "day_prices", "dlmp_parts"): drawn from a result by the code the Supply and
demand, Prices over the day and DLMP panels draw with (one code path), rendered offscreen with no widget in them.

The teaching auction (one period, 12:00) clears at 8.5 ¢/kWh for 2 kWh, any price in [8, 9] ¢/kWh clearing;
``ieee33-community.json`` at 19:00 with LinDistFlow has DLMPs from 0.1274 EUR/kWh (bus 1) to 0.1395 EUR/kWh (bus 18).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage

from core.market import MarketSettings, clear
from core.scenario.generate import synthetic_feeder, teaching_5bus
from core.scenario.io import load_project
from gui.figures import BUILDERS, builders
from gui.figures.day_prices import DayPricesChart
from gui.figures.dlmp import AREAS_ABOVE, PARTS, DLMPChart
from gui.figures.render import Canvas
from gui.figures.supply_demand import SupplyDemandChart

PROJECTS = Path(__file__).resolve().parents[2] / "projects"
PERIOD = 19
QUICK = dict(audit=False, tatonnement=False, compare=False)


@pytest.fixture(scope="module")
def teaching():
    s = teaching_5bus()
    return s, clear(s, MarketSettings(mechanism="uniform", **QUICK))


@pytest.fixture(scope="module")
def community():
    return load_project(PROJECTS / "ieee33-community.json")


@pytest.fixture(scope="module")
def copper(community):
    return clear(community, MarketSettings(period=PERIOD, **QUICK))


@pytest.fixture(scope="module")
def lindistflow(community):
    return clear(community, MarketSettings(network="lindistflow", period=PERIOD, **QUICK))


def _render(fig):
    canvas = Canvas(fig)
    return canvas, canvas.png(), canvas.svg(), canvas.widgets()


def _svg_text(svg: bytes) -> str:
    root = ET.fromstring(svg)  # parses
    return " ".join(t for el in root.iter() for t in (el.text, el.tail) if t and t.strip())


def _colours(png: bytes) -> int:
    img = QImage.fromData(png)
    assert img.width() >= 760 and img.height() >= 428
    step = 7
    return len({img.pixel(x, y) for x in range(0, img.width(), step) for y in range(0, img.height(), step)})


def _inside(canvas, fig) -> None:
    """The title, the legend and the plots all inside the figure (none pushed off its right edge)."""
    frame = QRectF(0, 0, canvas.width, canvas.height).adjusted(-0.5, -0.5, 0.5, 0.5)
    layout = fig.item.layout
    for i in range(layout.count()):
        r = layout.itemAt(i).graphicsItem().sceneBoundingRect()
        assert frame.contains(r), (layout.itemAt(i).graphicsItem(), r)


def _print_fonts(plot, sides=("left", "bottom")) -> None:
    for side in sides:
        ax = plot.getAxis(side)
        assert ax.style["tickFont"].pointSizeF() >= 9.0, side
        if ax.labelText and ax.label.isVisible():
            assert float(ax.labelStyle["font-size"].removesuffix("pt")) >= 10.0, side


def test_the_market_figures_are_registered():
    registered = builders()
    assert BUILDERS["supply_demand"].__module__ == "gui.figures.supply_demand"
    assert BUILDERS["day_prices"].__module__ == "gui.figures.day_prices"
    assert BUILDERS["dlmp_parts"].__module__ == "gui.figures.dlmp"
    assert {"supply_demand", "day_prices", "dlmp_parts"} <= set(registered)


# --- supply and demand --------------------------------------------------------------------------------------------


def test_supply_and_demand_marks_the_clearing_point_and_the_prices_that_clear(qapp, teaching):
    scenario, result = teaching
    c = result.curves
    fig = BUILDERS["supply_demand"](result, scenario, result.period)
    assert fig.key == "supply_demand"
    chart = fig.keep[0]
    assert isinstance(chart, SupplyDemandChart)
    canvas, png, svg, widgets = _render(fig)
    try:
        assert widgets == []
        assert len(png) > 20_000 and _colours(png) > 10
        # the point is the result's clearing: 8.5 ¢/kWh for 2 kWh; the band is the interval that clears
        xs, ys = chart.point.getData()
        assert list(xs) == pytest.approx([c.traded_kwh]) and c.traded_kwh == pytest.approx(2.0)
        assert list(ys) == pytest.approx([c.price]) and c.price == pytest.approx(8.5)
        assert chart.band.isVisible() and chart.band.getRegion() == pytest.approx(tuple(c.price_interval))
        assert list(chart.demand.xData) == pytest.approx(list(c.demand_kwh))
        assert list(chart.demand.yData) == pytest.approx(list(c.demand_price))
        assert list(chart.supply.yData) == pytest.approx(list(c.supply_price))
        right = [text for _v, text in chart.plot.getAxis("right")._tickLevels[0]]
        assert right == ["retail 25", "feed-in 4", "◀ 8.5"]
        text = _svg_text(svg)
        for words in ("Supply and demand", "12:00", "Uniform price", "copper plate", "retail 25", "◀ 8.5", "2 kWh"):
            assert words in text, words
        for words in ("Cumulative energy", "Price", "prices that clear", "clearing point"):
            assert words in text, words
        cap = fig.caption
        assert "12:00" in cap and "uniform-price double auction" in cap and "copper plate" in cap
        assert "8.5 ¢/kWh for 2 kWh" in cap and "8–9 ¢/kWh" in cap and "25 ¢/kWh" in cap and "4 ¢/kWh" in cap
        _print_fonts(chart.plot, ("left", "bottom", "right"))
        _inside(canvas, fig)
    finally:
        canvas.close()


def test_supply_and_demand_of_a_day_prints_where_it_trades(qapp, community, copper):
    """The 33-bus community at 19:00: the welfare clearing's λ and traded kWh; the steps beyond the range shown
    are left out of the print, the ones shown are the result's."""
    c = copper.curves
    fig = BUILDERS["supply_demand"](copper, community, PERIOD)
    chart = fig.keep[0]
    canvas, png, svg, widgets = _render(fig)
    try:
        assert widgets == [] and len(png) > 20_000
        xs, ys = chart.point.getData()
        assert list(xs) == pytest.approx([c.traded_kwh]) and list(ys) == pytest.approx([c.price])
        x1 = chart.plot.getViewBox().viewRange()[0][1]
        for curve, q, p in ((chart.demand, c.demand_kwh, c.demand_price), (chart.supply, c.supply_kwh, c.supply_price)):
            n = len(curve.xData)
            assert list(curve.xData) == pytest.approx(list(q[:n])) and list(curve.yData) == pytest.approx(
                list(p[: n - 1])
            )
            assert curve.xData[-1] >= min(x1, q[-1]) - 1e-9  # the steps reach the edge of the plot
        assert "19:00" in fig.caption and "welfare-maximising" in fig.caption and "copper plate" in fig.caption
        assert "19:00" in _svg_text(svg)
        _inside(canvas, fig)
    finally:
        canvas.close()


def _ink_right(img: QImage, top: float, bottom: float) -> int:
    """The rightmost column of ``img`` with a pixel that is not white, in the rows ``top`` to ``bottom``."""
    a = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())[:, : 4 * img.width()]
    band = a.reshape(img.height(), img.width(), 4)[int(top) : int(bottom) + 1, :, :3]
    return int(np.flatnonzero((band < 250).any(axis=(0, 2))).max())


def test_a_figure_painted_smaller_keeps_its_legend_in_scale(qapp, community, copper):
    """The PDF paints a figure scaled to the text column: the legend scales with the rest (pyqtgraph's legends
    ignore transformations, for the screen; in print their labels kept their size and the last one ran off the
    figure). The legend's ink, painted at 0.5, ends where half of its ink at full size ends."""
    import pyqtgraph as pg
    from PySide6.QtGui import QColor, QPainter

    fig = BUILDERS["supply_demand"](copper, community, PERIOD)
    canvas = Canvas(fig)
    try:
        legend = next(it for it in canvas.scene.items() if isinstance(it, pg.LegendItem))
        box = legend.sceneBoundingRect()
        right = {}
        for scale in (1.0, 0.5):
            img = QImage(canvas.width, canvas.height, QImage.Format.Format_ARGB32)
            img.fill(QColor("white"))
            painter = QPainter(img)
            canvas.export_paint(painter, QRectF(0, 0, canvas.width * scale, canvas.height * scale))
            painter.end()
            right[scale] = _ink_right(img, box.top() * scale, box.bottom() * scale)
        assert right[1.0] > canvas.width / 2  # the legend spans the figure
        assert right[0.5] == pytest.approx(right[1.0] / 2, abs=3)
        # and afterwards the items are as the screen draws them (a panel's own items are exported too)
        from PySide6.QtWidgets import QGraphicsItem

        assert legend.flags() & QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations
        modes = {it.opts["segmentedLineMode"] for it in canvas.scene.items() if isinstance(it, pg.PlotCurveItem)}
        assert modes == {pg.getConfigOption("segmentedLineMode")}
    finally:
        canvas.close()


def test_a_curve_is_one_path_in_svg(qapp):
    """1,000 prosumers' steps: the SVG holds each curve as one path, not a line per segment (a 4 MB figure)."""
    s = synthetic_feeder(300, 900, periods=24)
    result = clear(s, MarketSettings(period=12, audit=False, tatonnement=False, compare=False, market_power=False))
    fig = BUILDERS["supply_demand"](result, s, 12)
    canvas = Canvas(fig)
    try:
        svg = canvas.svg()
        root = ET.fromstring(svg)
        lines = [el for el in root.iter() if el.tag.rsplit("}", 1)[-1] in ("polyline", "path")]
        assert len(fig.keep[0].demand.xData) > 300  # hundreds of steps drawn
        assert len(lines) < 150 and len(svg) < 400_000
    finally:
        canvas.close()


def test_no_curves_no_supply_and_demand(community, copper):
    from dataclasses import replace

    assert BUILDERS["supply_demand"](replace(copper, curves=None), community, PERIOD) is None


# --- prices over the day ------------------------------------------------------------------------------------------


def test_prices_over_the_day_mark_the_reports_period(qapp, community, copper):
    p = copper.periods
    fig = BUILDERS["day_prices"](copper, community, PERIOD)
    chart = fig.keep[0]
    assert isinstance(chart, DayPricesChart)
    canvas, png, svg, widgets = _render(fig)
    try:
        assert widgets == [] and len(png) > 20_000 and _colours(png) > 10
        assert list(chart.price.yData) == pytest.approx(list(p.price_per_kwh))
        assert list(chart.retail.yData) == pytest.approx(list(p.retail_price_per_kwh))
        assert list(chart.feed_in.yData) == pytest.approx(list(p.feed_in_price_per_kwh))
        assert chart.now.value() == PERIOD and chart.now.label.toPlainText() == "19:00"
        assert not chart.volts and chart.volt_plot.scene() is not canvas.scene  # no voltages without a network
        text = _svg_text(svg)
        for words in ("Prices over the day", "marked: 19:00", "00:00", "market price", "retail", "feed-in"):
            assert words in text, words
        cap = fig.caption
        price = p.price_per_kwh.iloc[PERIOD]
        assert "24 periods from 00:00 to 23:00" in cap and "19:00" in cap and "copper plate" in cap
        assert f"clears at {price:.2f} EUR/kWh" in cap
        _print_fonts(chart.plot)
        _inside(canvas, fig)
    finally:
        canvas.close()


def test_the_feeder_day_shows_the_dlmp_band_and_the_worst_voltage(qapp, community, lindistflow):
    p = lindistflow.periods
    fig = BUILDERS["day_prices"](lindistflow, community, PERIOD)
    chart = fig.keep[0]
    canvas, png, svg, widgets = _render(fig)
    try:
        assert widgets == [] and len(png) > 20_000
        assert chart.network and chart.volts and chart.volt_plot.scene() is canvas.scene
        assert list(chart.dlmp_lo.yData) == pytest.approx(list(p.dlmp_min_per_kwh))
        assert list(chart.dlmp_hi.yData) == pytest.approx(list(p.dlmp_max_per_kwh))
        assert list(chart.v_min.yData) == pytest.approx(list(p.v_min_pu))
        assert chart.v_limit.value() == pytest.approx(community.feeder.v_min_pu)
        assert chart.v_now.value() == PERIOD
        # the voltages are drawn under the prices' periods (not at the x-link's default range)
        assert chart.volt_plot.getViewBox().viewRange()[0] == pytest.approx(chart.plot.getViewBox().viewRange()[0])
        rows = lindistflow.buses[lindistflow.buses.period == PERIOD]
        worst = rows.loc[rows.v_pu.idxmin()]
        assert chart.v_now_text.toPlainText() == f"{worst.v_pu:.4f} p.u. · bus {worst.bus}"
        text = _svg_text(svg)
        for words in ("Feeder day", "LinDistFlow", "DLMPs, all buses", "worst bus V", "V (p.u.)", "EUR/kWh"):
            assert words in text, words
        cap = fig.caption
        lo, hi = p.dlmp_min_per_kwh.iloc[PERIOD], p.dlmp_max_per_kwh.iloc[PERIOD]
        assert f"DLMPs from {lo:.4f} to {hi:.4f} EUR/kWh" in cap and "LinDistFlow" in cap and "19:00" in cap
        assert f"{worst.v_pu:.4f} p.u. at bus {worst.bus}" in cap
        for plot in (chart.plot, chart.volt_plot):
            _print_fonts(plot)
        _inside(canvas, fig)
    finally:
        canvas.close()


# --- DLMP parts ---------------------------------------------------------------------------------------------------


def test_no_network_no_dlmp_parts(community, copper):
    assert BUILDERS["dlmp_parts"](copper, community, PERIOD) is None


def test_dlmp_parts_stack_the_four_parts_of_every_bus(qapp, community, lindistflow):
    rows = lindistflow.buses[lindistflow.buses.period == PERIOD].set_index("bus")
    fig = BUILDERS["dlmp_parts"](lindistflow, community, PERIOD)
    chart = fig.keep[0]
    assert isinstance(chart, DLMPChart)
    canvas, png, svg, widgets = _render(fig)
    try:
        assert widgets == [] and len(png) > 20_000 and _colours(png) > 10
        drawn = [str(b) for b in chart.rows.bus]
        assert len(drawn) == 33 and drawn[0] == "1" and drawn[-1] == "18"  # nearest the substation first
        i = drawn.index("18")
        for key, _name, _c in PARTS:
            assert chart.bars[key].opts["height"][i] == pytest.approx(rows.loc["18", key], abs=1e-9), key
        assert chart.total.yData[2 * i] == pytest.approx(rows.loc["18", "dlmp_per_kwh"], abs=1e-12)
        assert not chart.hover_band.isVisible() and not chart.selected_band.isVisible()
        text = _svg_text(svg)
        for words in ("DLMP per bus", "19:00", "LinDistFlow", "0.1274–0.1395 EUR/kWh", "energy", "congestion"):
            assert words in text, words
        assert "18" in text.split() and "DLMP (EUR/kWh)" in text
        cap = fig.caption
        assert "33 buses" in cap and "19:00" in cap and "LinDistFlow" in cap
        assert "0.1274 EUR/kWh (bus 1)" in cap and "0.1395 EUR/kWh (bus 18)" in cap
        _print_fonts(chart.plot)
        _inside(canvas, fig)
    finally:
        canvas.close()


def test_a_large_feeders_dlmp_parts_are_stacked_areas_against_distance(qapp):
    s = synthetic_feeder(n_buses=200, n_prosumers=300, seed=7, periods=2)
    result = clear(s, MarketSettings(network="lindistflow", period=1, **QUICK))
    fig = BUILDERS["dlmp_parts"](result, s, 1)
    chart = fig.keep[0]
    canvas, png, svg, widgets = _render(fig)
    try:
        assert widgets == [] and len(png) > 20_000
        assert len(chart.rows) >= AREAS_ABOVE and chart.many
        assert not chart.bars["energy_per_kwh"].isVisible() and chart.areas["energy_per_kwh"][2].isVisible()
        lo, hi, _fill = chart.areas["loss_per_kwh"]
        assert list(hi.xData) == list(chart.rows.electrical_distance_pu)
        loss = chart.rows.loss_per_kwh
        assert hi.yData - lo.yData == pytest.approx(loss.where(loss.abs() >= 1e-9, 0.0))
        dlmp = chart.rows.dlmp_per_kwh.to_numpy(float)
        assert list(chart.total.yData) == pytest.approx(list(dlmp))
        y0, y1 = chart.plot.getViewBox().viewRange()[1]
        assert 0.0 < y0 < dlmp.min() and y1 > dlmp.max()
        assert "Electrical distance" in _svg_text(svg)
        assert f"{len(chart.rows)} buses" in fig.caption and "electrical distance" in fig.caption
        assert "price axis starts at" in fig.caption
        _inside(canvas, fig)
    finally:
        canvas.close()


# --- one code path: the panels draw on the charts -----------------------------------------------------------------


def test_the_panels_show_the_charts_items(qtbot, teaching, community, lindistflow):
    from gui.market_panels import CurvesPanel, DayPricesPanel
    from gui.network_panels import DLMPPanel

    _scenario, result = teaching
    curves = CurvesPanel()
    qtbot.addWidget(curves)
    curves.set_result(result)
    assert isinstance(curves.chart, SupplyDemandChart) and curves.plot.getPlotItem() is curves.chart.plot
    assert curves.point is curves.chart.point
    assert list(curves.point.getData()[0]) == pytest.approx([2.0]) and curves.legend.text()  # labels stay on screen

    day = DayPricesPanel()
    qtbot.addWidget(day)
    day.set_voltage_limit(community.feeder.v_min_pu)
    day.set_result(lindistflow)
    assert day.plot.getPlotItem() is day.chart.plot and day.volt_plot.getPlotItem() is day.chart.volt_plot
    fig = BUILDERS["day_prices"](lindistflow, community, PERIOD)
    assert list(day.dlmp_hi.yData) == pytest.approx(list(fig.keep[0].dlmp_hi.yData))
    assert day.v_now_text.toPlainText() == fig.keep[0].v_now_text.toPlainText()

    dlmp = DLMPPanel()
    qtbot.addWidget(dlmp)
    dlmp.set_result(lindistflow)
    assert dlmp.plot.getPlotItem() is dlmp.chart.plot and dlmp.bars is dlmp.chart.bars
    fig = BUILDERS["dlmp_parts"](lindistflow, community, PERIOD)
    for key, _name, _c in PARTS:
        assert np.allclose(dlmp.bars[key].opts["height"], fig.keep[0].bars[key].opts["height"])
