"""The feeder view kept fast on 1,000 buses without changing what it shows or how it is used.

Buses and lines are painted by Qt (no Python ``paint`` per item); the selection
halo, the selected line and the red voltage rings are a few overlay items; an
edit that keeps the topology restyles the items it has instead of making new
ones; a new period re-reads only what changed. These tests check the behaviour
a user sees (the timings are in ``benchmarks/bench_feeder_view.py``).

``ieee33-constrained.json`` cleared with LinDistFlow: at 19:00 bus 18 sits at
its voltage floor (0.934 p.u.), not beyond it; at 13:00 line L22 (into bus 23)
is at 100 % of its rating.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsSimpleTextItem,
    QToolTip,
)

from core.market import MarketSettings, clear
from core.scenario.edit import adding_bus
from core.scenario.io import load_project
from gui.feeder_items import KIND_COLOURS, SELECT_PEN, Z_RING, Z_SELECTED_BUS, LineItem, all_bus_limits, bus_kind
from gui.feeder_view import FeederView
from gui.network_panels import LIMIT, LOADING_OVER_PCT, LOADING_SCALE, bus_limits, voltage_outside

NO_CONTENTS = QGraphicsItem.GraphicsItemFlag.ItemHasNoContents
PROJECTS = Path(__file__).resolve().parents[2] / "projects"


@pytest.fixture(scope="module")
def constrained():
    return load_project(PROJECTS / "ieee33-constrained.json")


@pytest.fixture(scope="module")
def result(constrained):
    """LinDistFlow at 19:00; the result holds every period (13:00 too)."""
    return clear(constrained, MarketSettings(network="lindistflow", period=19, audit=False, tatonnement=False))


@pytest.fixture
def feeder(qtbot, constrained):
    view = FeederView()
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.set_scenario(constrained)
    view.show()
    qtbot.waitExposed(view)
    return view


def _with_v(result, bus: str, period: int, v_pu: float):
    """``result`` with one bus's voltage in one period replaced (a bus outside its limits on demand)."""
    buses = result.buses.copy()
    buses.loc[(buses.bus == bus) & (buses.period == period), "v_pu"] = v_pu
    return replace(result, buses=buses)


def _rings(view) -> list[QGraphicsItem]:
    return [i for i in view.scene().items() if i.zValue() == Z_RING and i.isVisible()]


def _halos(view) -> list[QGraphicsItem]:
    return [i for i in view.scene().items() if i.zValue() == Z_SELECTED_BUS and i.parentItem() is None]


def _viewport_pos(view, scene_pos: QPointF) -> QPoint:
    return view.mapFromScene(scene_pos)


def test_no_bus_or_line_paints_in_python(feeder, result):
    feeder.set_result(_with_v(result, "17", 19, 0.90), 19)
    feeder.select_bus("18")
    feeder.lines["L22"].setSelected(True)  # (a second selected item: its mark too)
    assert _rings(feeder) and len(feeder.selection_marks()) == 2
    kinds = set()
    for item in feeder.scene().items():
        for cls in type(item).__mro__:
            if cls.__module__.startswith(("gui", "tests")):
                assert "paint" not in cls.__dict__ and "boundingRect" not in cls.__dict__, cls
        kinds.add(type(item))
    bus_types = {type(item) for item in feeder.buses.values()}
    assert all(issubclass(t, (QGraphicsEllipseItem, QGraphicsRectItem)) for t in bus_types)
    assert {type(item) for item in feeder.lines.values()} == {LineItem}
    assert issubclass(LineItem, QGraphicsPathItem)
    assert bus_types | {LineItem, QGraphicsSimpleTextItem} <= kinds


def test_an_edit_that_keeps_the_topology_keeps_the_items_and_restyles_them(feeder, constrained, qtbot):
    assert bus_kind(constrained, "18") == "generation"
    buses, lines, labels = dict(feeder.buses), dict(feeder.lines), dict(feeder.labels)
    feeder.zoom(1.5)  # the user's zoom survives the edit (a rebuild fits the feeder again)
    transform = feeder.transform()
    assert feeder.bus_colour("18") == KIND_COLOURS["generation"]
    assert "DER capacity 0.0 kW" not in feeder.buses["18"].toolTip()
    # bus 18 loses its PV: a new scenario, the same feeder
    prosumers = tuple(replace(p, asset=None) if p.bus == "18" else p for p in constrained.prosumers)
    edited = replace(constrained, prosumers=prosumers)
    kind = bus_kind(edited, "18")
    assert kind != "generation"
    feeder.set_scenario(edited)
    assert all(feeder.buses[b] is item for b, item in buses.items()) and len(feeder.buses) == len(buses)
    assert all(feeder.lines[k] is item for k, item in lines.items())
    assert all(feeder.labels[k] is item for k, item in labels.items())
    assert feeder.transform() == transform
    assert feeder.bus_colour("18") == KIND_COLOURS[kind]
    assert feeder.buses["18"].brush().color() == KIND_COLOURS[kind]  # what Qt paints
    assert "DER capacity 0.0 kW" in feeder.buses["18"].toolTip()
    # and back
    feeder.set_scenario(constrained)
    assert feeder.buses["18"] is buses["18"] and feeder.bus_colour("18") == KIND_COLOURS["generation"]


def test_an_edit_of_a_bus_limit_rings_the_bus_without_a_rebuild(feeder, constrained, result):
    feeder.set_result(result, 19)
    assert not _rings(feeder) and not feeder.buses["16"].alert
    v16 = float(result.buses[(result.buses.bus == "16") & (result.buses.period == 19)].v_pu.iloc[0])
    # bus 16 gets a floor of its own, above its voltage
    f = constrained.feeder
    strict = replace(f, buses=tuple(replace(b, v_min_pu=v16 + 0.01) if b.id == "16" else b for b in f.buses))
    edited = replace(constrained, feeder=strict)
    assert all_bus_limits(strict) == {b.id: bus_limits(edited, b.id) for b in strict.buses}
    item = feeder.buses["16"]
    feeder.set_scenario(edited)
    assert feeder.buses["16"] is item and item.alert
    assert [r.scenePos() for r in _rings(feeder)] == [item.scenePos()]
    assert "outside" in item.toolTip()
    feeder.set_scenario(constrained)
    assert not item.alert and not _rings(feeder)


def test_adding_a_bus_keeps_the_items_of_the_others(feeder, constrained):
    feeder.select_bus("18")
    before = dict(feeder.buses)
    grown, new_bus = adding_bus(constrained, "18")
    feeder.set_scenario(grown)
    assert new_bus in feeder.buses and new_bus in feeder.labels
    assert all(feeder.buses[b] is item for b, item in before.items())
    new_line = next(ln.id for ln in grown.feeder.lines if ln.to_bus == new_bus)
    assert feeder.lines[new_line].scene() is feeder.scene()
    # laid out below its parent, and the selection kept
    assert feeder.bus_scene_pos(new_bus).y() > feeder.bus_scene_pos("18").y()
    assert feeder.selected_bus() == "18" and len(_halos(feeder)) == 1
    # removed again while selected: its items and its halo leave the scene
    feeder.select_bus(new_bus)
    gone = feeder.buses[new_bus]
    feeder.set_scenario(constrained)
    assert new_bus not in feeder.buses and gone.scene() is None
    assert feeder.selected_bus() is None and _halos(feeder) == [] and feeder.selection_marks() == []
    assert all(feeder.buses[b] is item for b, item in before.items())


def test_a_selected_bus_wears_one_halo_and_no_dashed_rectangle(feeder, result, qtbot):
    feeder.set_result(result, 19)
    assert feeder.selection_marks() == [] and _halos(feeder) == []
    feeder.select_bus("18")
    marks = feeder.selection_marks()
    assert len(marks) == 1 and _halos(feeder) == marks
    assert marks[0].scenePos() == feeder.bus_scene_pos("18")
    # the bus itself paints nothing meanwhile (Qt would draw its dashed selection rectangle); the mark draws it
    bus = feeder.buses["18"]
    assert bus.flags() & NO_CONTENTS
    body = [c for c in marks[0].childItems() if c.pen().color() == SELECT_PEN]
    assert len(body) == 1 and body[0].brush().color() == bus.brush().color()
    # recoloured while selected: the mark follows
    feeder.set_colour_mode("dlmp")
    (mark,) = feeder.selection_marks()
    body = [c for c in mark.childItems() if c.pen().color() == SELECT_PEN]
    assert body[0].brush().color() == feeder.bus_colour("18") != KIND_COLOURS["generation"]
    # another bus: still one halo, the first paints again
    feeder.select_bus("17")
    assert len(_halos(feeder)) == 1 and _halos(feeder)[0].scenePos() == feeder.bus_scene_pos("17")
    assert not bus.flags() & NO_CONTENTS
    # cleared from outside (as the main window does) or by select_bus(None): no halo
    feeder.scene().clearSelection()
    assert _halos(feeder) == [] and feeder.selection_marks() == []
    assert not feeder.buses["17"].flags() & NO_CONTENTS
    feeder.select_bus("1")  # the substation: a square halo
    assert len(_halos(feeder)) == 1 and isinstance(_halos(feeder)[0], QGraphicsRectItem)
    feeder.select_bus(None)
    assert _halos(feeder) == []


def test_the_selected_line_is_drawn_thick_and_blue_over_its_band(feeder, result):
    feeder.set_result(result, 13)
    line = feeder.lines["L22"]
    assert line.pen().widthF() > 4 and line.colour() == LOADING_SCALE.colour(100.0)
    line.setSelected(True)
    assert feeder.selected_line() == "L22"
    (mark,) = feeder.selection_marks()
    assert isinstance(mark, QGraphicsPathItem) and mark.path() == line.path()
    assert mark.pen().color() == SELECT_PEN and mark.pen().widthF() == pytest.approx(4.5) and mark.pen().isCosmetic()
    assert line.flags() & NO_CONTENTS
    # the line keeps its own style for when it is deselected
    assert line.pen().widthF() > 4 and feeder.line_colour("L22") == LOADING_SCALE.colour(100.0)
    feeder.select_bus("5")
    assert not line.isSelected() and not line.flags() & NO_CONTENTS and len(feeder.selection_marks()) == 1


def test_a_ring_marks_a_voltage_outside_its_limits_and_leaves_with_the_period(feeder, result):
    low = _with_v(result, "17", 19, 0.90)
    feeder.set_result(low, 19)
    assert feeder.buses["17"].alert and not feeder.buses["18"].alert  # 18 sits at its floor, not beyond
    (ring,) = _rings(feeder)
    assert ring.scenePos() == feeder.bus_scene_pos("17") and ring.pen().color() == LIMIT
    assert ring.acceptedMouseButtons() == Qt.MouseButton.NoButton  # clicks reach the bus
    assert "outside" in feeder.buses["17"].toolTip()
    # selected, the bus's ring is drawn over its halo (once)
    feeder.select_bus("17")
    (halo,) = _halos(feeder)
    assert any(c.pen().color() == LIMIT for c in halo.childItems())
    assert _rings(feeder) == []  # the standalone ring hides under the mark
    feeder.select_bus(None)
    assert len(_rings(feeder)) == 1
    # 13:00: within its limits
    feeder.set_period(13)
    assert not feeder.buses["17"].alert and _rings(feeder) == [] and feeder.rings == {}
    assert "outside" not in feeder.buses["17"].toolTip()
    feeder.set_period(19)
    assert len(_rings(feeder)) == 1


def test_every_colour_is_the_scale_colour_of_its_value(feeder, result):
    """The colours are mapped for all buses at once: each must equal the scale's colour of its own value."""
    feeder.set_colour_mode("dlmp")
    for t in (19, 13):
        feeder.set_result(result, t)
        rows = result.buses[result.buses.period == t]
        scale = feeder.bus_scale
        for bus, dlmp in zip(rows.bus, rows.dlmp_per_kwh, strict=True):
            assert feeder.bus_colour(bus) == scale.colour(dlmp), (t, bus)
        lines = result.lines[result.lines.period == t]
        for line, load in zip(lines.line, lines.loading_pct, strict=True):
            expected = LOADING_SCALE.colour(load) if load <= LOADING_OVER_PCT else None
            if expected is not None:
                assert feeder.line_colour(line) == expected, (t, line)
    feeder.set_colour_mode("voltage")
    rows = result.buses[result.buses.period == 13]
    for bus, v in zip(rows.bus, rows.v_pu, strict=True):
        assert feeder.bus_colour(bus) == feeder.bus_scale.colour(v)
        lo, hi = bus_limits(feeder._scenario, bus)
        assert feeder.buses[bus].alert == voltage_outside(v, lo, hi)
    feeder.set_result(None, 13)  # no market: what they host, grey lines
    assert feeder.bus_scale is None and feeder.line_scale is None
    assert feeder.bus_colour("18") == KIND_COLOURS["generation"] and feeder.lines["L22"].pen().widthF() == 2.0


def test_clicks_select_a_bus_a_line_over_its_band_or_nothing(feeder, result, qtbot):
    feeder.set_result(result, 19)
    buses, lines = [], []
    feeder.busSelected.connect(buses.append)
    feeder.lineSelected.connect(lines.append)
    qtbot.mouseClick(
        feeder.viewport(), Qt.MouseButton.LeftButton, pos=_viewport_pos(feeder, feeder.bus_scene_pos("18"))
    )
    assert feeder.selected_bus() == "18" and buses[-1] == "18" and len(_halos(feeder)) == 1
    # the vertical part of L22 (3 → 23), a few pixels beside the drawn line: inside the click band
    line = feeder.lines["L22"]
    path = line.path()
    end = path.pointAtPercent(1.0)
    corner = QPointF(end.x(), path.pointAtPercent(0.0).y())
    middle = feeder.mapFromScene((corner + end) / 2)
    drawn, band = line.pen().widthF() / 2, 8.0 * feeder.transform().m11() / 2  # half widths, px
    aside = round((drawn + band) / 2)
    assert drawn < aside < band  # beside what is drawn, inside the band
    qtbot.mouseClick(feeder.viewport(), Qt.MouseButton.LeftButton, pos=middle + QPoint(aside, 0))
    assert feeder.selected_line() == "L22" and lines[-1] == "L22" and buses[-1] is None
    assert _halos(feeder) == [] and len(feeder.selection_marks()) == 1
    # empty space clears
    qtbot.mouseClick(
        feeder.viewport(),
        Qt.MouseButton.LeftButton,
        pos=QPoint(feeder.viewport().width() - 5, feeder.viewport().height() - 5),
    )
    assert feeder.selected_line() is None and feeder.selected_bus() is None and feeder.selection_marks() == []
    assert lines[-1] is None


def test_hovering_a_bus_or_a_line_shows_its_tooltip(feeder, result, qtbot):
    feeder.set_result(result, 13)
    feeder.select_bus("18")  # over the halo too

    def tip_at(scene_pos: QPointF) -> str:
        pos = _viewport_pos(feeder, scene_pos)
        QToolTip.hideText()
        event = QHelpEvent(QEvent.Type.ToolTip, pos, feeder.viewport().mapToGlobal(pos))
        QApplication.sendEvent(feeder.viewport(), event)
        return QToolTip.text()

    assert "Bus 18" in tip_at(feeder.bus_scene_pos("18"))
    path = feeder.lines["L22"].path()
    assert "loading 100.0 %" in tip_at(path.pointAtPercent(0.9))
    QToolTip.hideText()


def test_a_small_resize_refits_the_view_without_moving_the_buses(feeder, qtbot):
    """A dock a few pixels taller (a label appearing) must not re-place every bus and line; a real resize does."""
    view = feeder
    view.fit()
    before = {b: item.pos() for b, item in view.buses.items()}
    path = view.lines["L22"].path()
    height = view.viewport().height()
    view.resize(view.width(), view.height() - 12)
    qtbot.waitUntil(lambda: view.viewport().height() < height)
    assert {b: item.pos() for b, item in view.buses.items()} == before and view.lines["L22"].path() == path
    # the whole drawing is still in the window
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert all(visible.contains(item.pos()) for item in view.buses.values())
    # half the height: the spacing changes, the buses move
    view.resize(view.width(), view.height() // 2)
    qtbot.waitUntil(lambda: view.buses["18"].pos() != before["18"])
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert all(visible.contains(item.pos()) for item in view.buses.values())


def test_the_bus_colour_bar_says_what_it_spans_and_formats_its_ends_alike(feeder, result):
    from gui.network_panels import DLMP_CMAP, ColourScale

    feeder.set_result(result, 19)
    feeder.set_colour_mode("dlmp")
    day = result.buses.dlmp_per_kwh
    evening = result.buses[result.buses.period == 19].dlmp_per_kwh
    scale = feeder.bus_scale
    assert (
        scale.title.endswith("· day") and scale.lo == pytest.approx(day.min()) and scale.hi == pytest.approx(day.max())
    )
    feeder.legend.scale_span.setCurrentIndex(feeder.legend.scale_span.findData("period"))
    scale = feeder.bus_scale
    assert scale.title.endswith("· 19:00") and scale.lo == pytest.approx(evening.min())
    assert scale.hi == pytest.approx(evening.max()) and evening.min() > day.min()
    # one format per bar: the decimals that tell its ends apart
    bar = ColourScale("Bus DLMP", "EUR/kWh", 0.04907, 0.2030, DLMP_CMAP)
    assert (bar.label(bar.lo), bar.label(bar.hi)) == ("0.049", "0.203")
    volts = ColourScale("Bus voltage", "p.u.", 0.934, 1.0061, DLMP_CMAP)
    assert (volts.label(volts.lo), volts.label(volts.hi)) == ("0.9340", "1.0061")


def test_a_lines_width_says_its_flow_and_an_arrow_where_power_flows_back(feeder, result):
    for t in (13, 19):
        feeder.set_result(result, t)
        lines = result.lines[result.lines.period == t].set_index("line")
        rated = lines[lines.loading_pct.notna() & (lines.loading_pct < 99.5)]
        widths = {ln: feeder.lines[ln].pen().widthF() for ln in rated.index}
        by_flow = sorted(rated.index, key=lambda ln: abs(rated.p_kw[ln]))
        assert [widths[ln] for ln in by_flow] == sorted(widths[ln] for ln in by_flow)  # more power, wider
        back = {ln for ln in lines.index if lines.p_kw[ln] < -1e-3}
        arrows = {ln for ln, item in feeder.lines.items() if item._arrow is not None and item._arrow.isVisible()}
        assert arrows == back
        for ln in back:
            assert "back towards the substation" in feeder.lines[ln].toolTip()
        assert (len(back) > 20) == (t == 13)  # midday: the PV flows back up most of the feeder


def test_coloured_by_a_quantity_the_labels_give_its_value_in_the_bars_format(feeder, result):
    feeder.set_result(result, 19)
    feeder.set_colour_mode("voltage")
    v18 = float(result.buses[(result.buses.period == 19) & (result.buses.bus == "18")].v_pu.iloc[0])
    assert v18 == pytest.approx(0.934, abs=1e-6)
    assert feeder.labels["18"].text() == f"18  {feeder.bus_scale.label(v18)} p.u."
    feeder.zoom(0.25)  # columns too close for a value beside each id: the ids alone
    assert feeder.labels["18"].text() == "18"
    feeder.fit()
    assert feeder.labels["18"].text().endswith("p.u.")
    feeder.set_colour_mode("host")
    assert feeder.labels["18"].text() == "18"
