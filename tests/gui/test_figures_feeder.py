"""The feeder figure ("feeder"): the feeder drawn from the scenario and a result in one period, by the code that draws
the FeederView (one code path), rendered offscreen with no widget in it.

``ieee33-community.json`` at 19:00: with LinDistFlow its DLMPs run from 0.1274 EUR/kWh at the substation (bus 1) to
0.1395 EUR/kWh at the end of the main feeder (bus 18); on a copper plate there are no DLMPs and the buses show what
they host.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage

from core.market import MarketSettings, clear
from core.scenario.generate import teaching_5bus
from core.scenario.io import load_project
from gui.feeder_items import KIND_COLOURS, BusItem, LineItem, SubstationItem, bus_kind
from gui.feeder_legend import LegendItem
from gui.feeder_view import FeederView
from gui.figures import BUILDERS, builders
from gui.figures.feeder import FeederChart
from gui.figures.render import Canvas
from gui.network_panels import LOADING_OVER_PCT, LOADING_SCALE

PROJECTS = Path(__file__).resolve().parents[2] / "projects"
PERIOD = 19


@pytest.fixture(scope="module")
def community():
    return load_project(PROJECTS / "ieee33-community.json")


@pytest.fixture(scope="module")
def lindistflow(community):
    return clear(community, MarketSettings(network="lindistflow", period=PERIOD, audit=False, tatonnement=False))


@pytest.fixture(scope="module")
def copper(community):
    return clear(community, MarketSettings(period=PERIOD, audit=False, tatonnement=False))


def _render(fig):
    canvas = Canvas(fig)
    png, svg = canvas.png(), canvas.svg()
    widgets = canvas.widgets()
    return canvas, png, svg, widgets


def _svg_text(svg: bytes) -> str:
    root = ET.fromstring(svg)  # parses
    return " ".join(t for el in root.iter() for t in (el.text, el.tail) if t and t.strip())


def _colours(png: bytes) -> int:
    img = QImage.fromData(png)
    assert img.width() >= 760 and img.height() >= 428
    step = 7
    return len({img.pixel(x, y) for x in range(0, img.width(), step) for y in range(0, img.height(), step)})


def _inside(canvas, chart: FeederChart) -> None:
    """Every visible bus, line and label of the drawing inside the figure, and none under the legend."""
    frame = QRectF(0, 0, canvas.width, canvas.height).adjusted(-0.5, -0.5, 0.5, 0.5)
    legend = chart.legend.sceneBoundingRect()
    items = [*chart.drawing.buses.values(), *chart.drawing.lines.values(), *chart.drawing.labels.values()]
    for item in items:
        if item.isVisible():
            r = item.sceneBoundingRect()
            assert frame.contains(r), (item, r)
            assert not legend.intersects(r), (item, r)
    assert frame.contains(legend) and frame.contains(chart.title.sceneBoundingRect())


def test_the_feeder_is_registered():
    assert "feeder" in builders() and BUILDERS["feeder"].__module__ == "gui.figures.feeder"


def test_lindistflow_colours_the_buses_by_their_dlmp_in_this_period(qapp, community, lindistflow):
    fig = BUILDERS["feeder"](lindistflow, community, PERIOD)
    assert fig.key == "feeder" and isinstance(fig.item, FeederChart) and fig.item in fig.keep
    chart: FeederChart = fig.item
    canvas, png, svg, widgets = _render(fig)
    try:
        assert widgets == []
        assert len(png) > 20_000 and _colours(png) > 20
        text = _svg_text(svg)
        for words in ("IEEE 33-bus community", "19:00", "LinDistFlow + losses", "this period", "EUR/kWh", "12.66 kV"):
            assert words in text, words
        # the colour bar spans this period's buses: each bus wears the scale's colour of its own DLMP
        rows = lindistflow.buses[lindistflow.buses.period == PERIOD]
        scale = chart.bus_scale
        assert scale.title == "Bus DLMP · this period" and scale.unit == "EUR/kWh"
        assert scale.lo == pytest.approx(rows.dlmp_per_kwh.min()) == pytest.approx(0.1274, abs=5e-5)
        assert scale.hi == pytest.approx(rows.dlmp_per_kwh.max()) == pytest.approx(0.1395, abs=5e-5)
        for bus, dlmp in zip(rows.bus, rows.dlmp_per_kwh, strict=True):
            item = chart.drawing.buses[str(bus)]
            assert item.colour == scale.colour(dlmp), bus
            if not item.substation:  # (the transformer is drawn in ink whatever its bus's colour)
                assert item.brush().color().rgb() == scale.colour(dlmp).rgb(), bus  # (brushes shared by 8-bit rgb)
        assert scale.label(scale.lo) in text and scale.label(scale.hi) in text  # the bar's ends, printed
        # lines by loading, wider the more power they carry, an arrow where power flows back
        lines = lindistflow.lines[lindistflow.lines.period == PERIOD].set_index("line")
        for ln, load in lines.loading_pct.items():
            if load == load and load <= LOADING_OVER_PCT:
                assert chart.drawing.lines[ln].colour() == LOADING_SCALE.colour(load), ln
        rated = lines[lines.loading_pct.notna() & (lines.loading_pct < 99.5)]
        by_flow = sorted(rated.index, key=lambda x: abs(rated.p_kw[x]))
        widths = [chart.drawing.lines[ln].pen().widthF() for ln in by_flow]
        assert widths == sorted(widths) and widths[-1] > widths[0]
        back = {ln for ln in lines.index if lines.p_kw[ln] < -1e-3}
        drawn = {ln for ln, it in chart.drawing.lines.items() if it._arrow is not None and it._arrow.isVisible()}
        assert drawn == back
        # the caption: what, when, which model, the range
        cap = fig.caption
        assert "19:00" in cap and "LinDistFlow" in cap and "DLMP" in cap and "this period" in cap
        assert f"{scale.label(scale.lo)} EUR/kWh (bus 1)" in cap and f"{scale.label(scale.hi)} EUR/kWh (bus 18)" in cap
        # print: nothing to select or hover, no halo; sizes in the figure (no ignored transformations), plain pens
        for item in canvas.scene.items():
            assert not item.flags() & item.GraphicsItemFlag.ItemIsSelectable, item
            assert not item.flags() & item.GraphicsItemFlag.ItemIgnoresTransformations, item
            assert item.toolTip() == "", item
        assert all(not it.pen().isCosmetic() for it in chart.drawing.lines.values())
        # 33 buses: every label readable, the substation's with its kV
        assert all(label.isVisible() for label in chart.drawing.labels.values())
        assert chart.drawing.labels["1"].text() == "1 · 12.66 kV"
        assert isinstance(chart.legend, LegendItem) and ("scale", scale) in chart.legend.sections
        _inside(canvas, chart)
    finally:
        canvas.close()


def test_the_figure_and_the_feeder_view_draw_alike(qtbot, community, lindistflow):
    """One code path: the screen's items, coloured by the same result on the same scale, wear the same colours,
    widths and arrows as the figure's."""
    fig = BUILDERS["feeder"](lindistflow, community, PERIOD)
    chart = fig.item
    view = FeederView()
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.set_scenario(community)
    view.set_colour_mode("dlmp")
    view.legend.scale_span.setCurrentIndex(view.legend.scale_span.findData("period"))
    view.set_result(lindistflow, PERIOD)
    assert {type(i) for i in view.buses.values()} == {type(i) for i in chart.drawing.buses.values()}
    assert {BusItem, SubstationItem} == {type(i) for i in chart.drawing.buses.values()}
    assert view.bus_scale.lo == chart.bus_scale.lo and view.bus_scale.hi == chart.bus_scale.hi
    for bus, item in view.buses.items():
        assert chart.drawing.buses[bus].colour == item.colour, bus
    for ln, item in view.lines.items():
        mine = chart.drawing.lines[ln]
        assert isinstance(mine, LineItem)
        assert mine.colour() == item.colour() and mine.pen().widthF() == item.pen().widthF(), ln
        assert (mine._arrow is not None and mine._arrow.isVisible()) == (
            item._arrow is not None and item._arrow.isVisible()
        )
    # the screen keeps its interactions: selectable, with tooltips
    assert view.buses["18"].flags() & view.buses["18"].GraphicsItemFlag.ItemIsSelectable
    assert "Bus 18" in view.buses["18"].toolTip()


def test_a_copper_plate_shows_what_the_buses_host(qapp, community, copper):
    fig = BUILDERS["feeder"](copper, community, PERIOD)
    chart = fig.item
    canvas, png, svg, widgets = _render(fig)
    try:
        assert widgets == [] and len(png) > 20_000 and _colours(png) > 10
        assert chart.bus_scale is None and chart.line_scale is None and chart.mode == "host"
        for bus, item in chart.drawing.buses.items():
            assert item.colour == KIND_COLOURS[bus_kind(community, bus)], bus
        assert {it.pen().widthF() for it in chart.drawing.lines.values()} == {2.0}
        text = _svg_text(svg)
        for words in ("IEEE 33-bus community", "19:00", "copper plate", "Buses host:", "battery / EV", "load only"):
            assert words in text, words
        assert "this period" not in text  # no colour bar
        assert "copper plate" in fig.caption and "19:00" in fig.caption and "what its prosumers host" in fig.caption
        _inside(canvas, chart)
    finally:
        canvas.close()


def test_a_voltage_outside_its_limits_wears_its_ring_in_the_figure(qapp, community, lindistflow):
    buses = lindistflow.buses.copy()
    buses.loc[(buses.bus == "17") & (buses.period == PERIOD), "v_pu"] = 0.85
    fig = BUILDERS["feeder"](replace(lindistflow, buses=buses), community, PERIOD)
    chart = fig.item
    assert set(chart.drawing.rings) == {"17"} and chart.drawing.rings["17"].pos() == chart.drawing.buses["17"].pos()
    assert ("alert", "voltage outside limits") in chart.legend.sections
    assert "red ring" in fig.caption and "(1 in this period)" in fig.caption


def test_the_thousand_bus_feeder_prints_without_bus_labels(qapp):
    big = load_project(PROJECTS / "synthetic-1000bus.json")
    fig = BUILDERS["feeder"](None, big, PERIOD)  # the drawing and its level of detail need no market
    chart = fig.item
    canvas, png, _svg, widgets = _render(fig)
    try:
        assert widgets == [] and len(png) > 20_000
        shown = [b for b, label in chart.drawing.labels.items() if label.isVisible()]
        assert shown == [big.feeder.substation.bus]  # the substation and its kV alone
        assert chart.drawing.bus_px < 11  # discs as small as the room between neighbours: a tree, not a heap
        assert "1,000-bus feeder" in fig.caption and "no market" in fig.caption
        _inside(canvas, chart)
    finally:
        canvas.close()


def test_a_feeder_with_coordinates_is_drawn_on_the_map(qapp):
    plain = teaching_5bus()
    xy = {"S": (0.0, 0.0), "1": (0.0, 100.0), "2": (-100.0, 100.0), "3": (-200.0, 100.0), "4": (100.0, 200.0)}
    buses = tuple(replace(b, x=xy[b.id][0], y=xy[b.id][1]) for b in plain.feeder.buses)
    mapped = replace(plain, feeder=replace(plain.feeder, buses=buses))
    fig = BUILDERS["feeder"](None, mapped, 0)
    chart = fig.item
    pos = {b: item.scenePos() for b, item in chart.drawing.buses.items()}
    assert chart.geographic and "on the map" in fig.caption
    assert pos["4"].x() > pos["1"].x() > pos["2"].x() > pos["3"].x()  # east to the right
    assert pos["4"].y() < pos["1"].y() < pos["S"].y()  # north up
    # straight lines on the map
    for ln in mapped.feeder.lines:
        assert chart.drawing.lines[ln.id].path().elementCount() == 2
