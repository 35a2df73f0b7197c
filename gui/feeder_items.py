"""The feeder's drawing kit: sizes, colours (light and dark inks), shared pens, bus, substation and line items."""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QPainterPath,
    QPainterPathStroker,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsPolygonItem,
    QGraphicsRectItem,
)

from core.scenario import Scenario
from gui.network_panels import (
    LIMIT,
    ColourScale,
    bus_limits,
)

BUS_PX = 11.0


SUBSTATION_PX = 18.0


LINE_PEN = QColor(90, 100, 115)


SELECT_PEN = QColor(0, 120, 215)


LINE_WIDTH = 2.0  # px: a line with no loading to show


LOADED_WIDTH = 2.6  # px: a rated line in the result


AT_LIMIT_WIDTH = 4.5  # px: a line at or over its rating, and the selected line
FLOW_WIDTHS = (1.4, 5.0)  # px: with a network result, a line's width grows with the power it carries (√ of its share)
REVERSE_ARROW = QColor(0, 150, 110)  # the arrowhead of a line whose power flows back to the substation (green: export)


OVERLOADED = QColor(255, 0, 0)


HIT_BAND = 8.0  # scene units: a line is clickable over a band this wide


# what a bus hosts decides its fill (first match wins): storage, generation, flexible load, plain load
KIND_COLOURS = {
    "storage": QColor(46, 160, 67),
    "generation": QColor(240, 180, 20),
    "flexible": QColor(140, 90, 200),
    "load": QColor(120, 150, 190),
    "empty": QColor(235, 235, 235),
}


KIND_LABELS = {
    "storage": "battery / EV",
    "generation": "PV / generation",
    "flexible": "flexible load",
    "load": "load only",
    "empty": "no prosumer",
}


COLOUR_MODES = (("host", "what they host"), ("dlmp", "DLMP"), ("voltage", "voltage"))


LEGEND_W = 176.0


# stacking order: lines, the selected line, buses, the substation, red rings, the selected bus, labels
Z_LINE, Z_SELECTED_LINE, Z_BUS, Z_SUBSTATION, Z_RING, Z_SELECTED_BUS, Z_LABEL = 1.0, 1.5, 2.0, 2.1, 2.4, 2.5, 3.0


# enum members looked up once (each lookup through the Python enum costs microseconds)
_FLAGS = QGraphicsItem.GraphicsItemFlag


_SELECTABLE_GLYPH = _FLAGS.ItemIsSelectable | _FLAGS.ItemIgnoresTransformations


_NO_CONTENTS = _FLAGS.ItemHasNoContents


_NO_BUTTON = Qt.MouseButton.NoButton


_NO_PEN = QPen(Qt.PenStyle.NoPen)


_NO_BRUSH = QBrush(Qt.BrushStyle.NoBrush)


# pens and brushes every item of a kind shares
_BUS_PEN = QPen(QColor(40, 40, 40), 1.2)


_SUBSTATION_PEN = QPen(QColor(30, 30, 30), 1.5)


_SUBSTATION_BRUSH = QBrush(QColor(50, 50, 60))


_HALO_BRUSH = QBrush(QColor(0, 120, 215, 70))


_SELECTED_BUS_PEN = QPen(SELECT_PEN, 3)


_RING_PEN = QPen(LIMIT, 2.5)


_SELECTED_LINE_PEN = QPen(SELECT_PEN, AT_LIMIT_WIDTH)
_SELECTED_LINE_PEN.setCosmetic(True)


REPLACE_SCALE_TOL = 0.05  # a resize that changes the layout's spacing less than this only re-fits the view


@dataclass(frozen=True)
class FeederInk:
    """The colours of the drawing that depend on the theme (bus and scale colours do not)."""

    background: QColor
    line: QColor  # a line with no loading to show
    label: QColor
    text: QColor  # the legend's text
    note: QColor
    box: QColor  # the legend's box
    box_edge: QColor
    substation: QColor


LIGHT_INK = FeederInk(
    QColor(252, 252, 250),
    LINE_PEN,
    QColor(60, 60, 60),
    QColor(40, 40, 40),
    QColor(90, 90, 90),
    QColor(255, 255, 255, 235),
    QColor(200, 200, 200),
    QColor(50, 50, 60),
)


DARK_INK = FeederInk(
    QColor(30, 32, 36),
    QColor(150, 160, 175),
    QColor(205, 208, 214),
    QColor(220, 222, 226),
    QColor(165, 168, 174),
    QColor(44, 47, 53, 235),
    QColor(90, 94, 102),
    QColor(120, 126, 138),
)


class _Shared:
    """One QBrush per colour and one cosmetic QPen per (colour, width), shared by every item drawn with it."""

    LIMIT = 4096  # a DLMP or voltage scale has many colours: start over rather than grow without end

    def __init__(self) -> None:
        self.brushes: dict[int, QBrush] = {}
        self.pens: dict[tuple[int, float], QPen] = {}

    def brush(self, colour: QColor) -> QBrush:
        key = colour.rgba()
        b = self.brushes.get(key)
        if b is None:
            if len(self.brushes) >= self.LIMIT:
                self.brushes.clear()
            b = self.brushes[key] = QBrush(colour)
        return b

    def pen(self, colour: QColor, width: float) -> QPen:
        key = (colour.rgba(), width)
        p = self.pens.get(key)
        if p is None:
            if len(self.pens) >= self.LIMIT:
                self.pens.clear()
            p = QPen(colour, width)
            p.setCosmetic(True)
            self.pens[key] = p
        return p


SHARED = _Shared()


def _kind(prosumers) -> str:
    if not prosumers:
        return "empty"
    if any(p.asset is not None and p.asset.kind in ("battery", "ev") for p in prosumers):
        return "storage"
    if any(p.asset is not None for p in prosumers):
        return "generation"
    if any(p.flexible is not None for p in prosumers):
        return "flexible"
    return "load"


def bus_kind(scenario: Scenario, bus_id: str) -> str:
    """Which legend class a bus falls in, from the prosumers it hosts."""
    return _kind(scenario.prosumers_at(bus_id))


def prosumers_by_bus(scenario: Scenario) -> dict[str, list]:
    """The prosumers of each bus, in one pass (``Scenario.prosumers_at`` scans them all for one bus)."""
    out: dict[str, list] = {}
    for p in scenario.prosumers:
        out.setdefault(p.bus, []).append(p)
    return out


def all_bus_limits(feeder) -> dict[str, tuple[float, float]]:
    """:func:`gui.network_panels.bus_limits` of every bus, in one pass (it looks one bus up in the list)."""
    return {
        b.id: bus_limits(
            SimpleNamespace(feeder=SimpleNamespace(buses=(b,), v_min_pu=feeder.v_min_pu, v_max_pu=feeder.v_max_pu)),
            b.id,
        )
        for b in feeder.buses
    }


def scale_colours(scale: ColourScale, values) -> list[QColor]:
    """``[scale.colour(v) for v in values]`` in one call into the colour map (the same colours)."""
    if len(values) == 0:
        return []
    return scale.cmap.map(np.array([scale.fraction(float(v)) for v in values], float), mode="qcolor")


class BusItem(QGraphicsEllipseItem):
    """A bus: a disc of a fixed size on screen, painted by Qt. ``colour`` is what it stands for."""

    substation = False

    def __init__(self, bus_id: str):
        r = BUS_PX / 2
        super().__init__(-r, -r, BUS_PX, BUS_PX)
        self.bus_id = bus_id
        self.alert = False  # voltage outside its limits: a red ring (an overlay item)
        self.colour = KIND_COLOURS["empty"]
        self.tip = ""
        self.setFlags(_SELECTABLE_GLYPH)
        self.setZValue(Z_BUS)
        self.setPen(_BUS_PEN)
        self.setBrush(SHARED.brush(self.colour))

    def set_colour(self, colour: QColor) -> None:
        if colour != self.colour:
            self.colour = colour
            self.setBrush(SHARED.brush(colour))


class SubstationItem(QGraphicsRectItem):
    """The substation: a transformer (two overlapping windings, the one-line diagram's symbol) whatever the colour
    scale, its kV beside it (the label); ``colour`` is what its bus stands for. The square around the windings is
    what is clicked and selected; it is not drawn."""

    substation = True

    def __init__(self, bus_id: str):
        r = SUBSTATION_PX / 2
        super().__init__(-r, -r, SUBSTATION_PX, SUBSTATION_PX)
        self.bus_id = bus_id
        self.alert = False  # (the substation wears no ring: its voltage is the set-point)
        self.colour = KIND_COLOURS["empty"]
        self.tip = ""
        self.setFlags(_SELECTABLE_GLYPH)
        self.setZValue(Z_SUBSTATION)
        self.setPen(_NO_PEN)
        self.setBrush(QBrush(Qt.BrushStyle.NoBrush))
        w = 0.62 * SUBSTATION_PX  # each winding's diameter; they overlap by a third
        self.windings = [QGraphicsEllipseItem(-w / 2, y - w / 2, w, w, self) for y in (-0.22 * w * 1.4, 0.22 * w * 1.4)]
        self.set_ink(QColor(30, 30, 36), QColor("white"))

    def set_ink(self, ink: QColor, paper: QColor) -> None:
        """The windings in ``ink`` on ``paper`` (the lines behind them do not show through)."""
        for winding in self.windings:
            winding.setPen(QPen(ink, 1.8))
            winding.setBrush(QBrush(paper))
        self.windings[1].setBrush(QBrush(Qt.BrushStyle.NoBrush))  # the lower winding drawn over the upper one

    def set_colour(self, colour: QColor) -> None:
        self.colour = colour


BUS_ITEMS = (BusItem, SubstationItem)


class LineItem(QGraphicsPathItem):
    """A feeder line drawn as a one-line-diagram elbow (across from the upstream bus, then down) or straight (on the
    map); clickable over a band wider than it is drawn. Painted by Qt; ``shape`` (asked on a click or a tooltip, not
    when painting) returns the band made once per path."""

    def __init__(self, line_id: str):
        super().__init__()
        self.line_id = line_id
        self.tip = ""
        self._band = QPainterPath()
        self._colour = LINE_PEN
        self._width = LINE_WIDTH
        self._arrow: QGraphicsPolygonItem | None = None
        self._ends: tuple[QPointF, QPointF] | None = None
        self._straight = False
        self.setFlags(_FLAGS.ItemIsSelectable)
        self.setZValue(Z_LINE)
        self.setPen(SHARED.pen(LINE_PEN, LINE_WIDTH))

    def set_style(self, colour: QColor, width: float) -> None:
        if colour != self._colour or width != self._width:
            self._colour, self._width = colour, width
            self.setPen(SHARED.pen(colour, width))

    def colour(self) -> QColor:
        return QColor(self._colour)

    def set_reverse(self, reverse: bool) -> None:
        """Power flowing back towards the substation (a feeder exporting its PV): an arrowhead pointing up on the
        line's drop, sized on screen; downstream flow, the usual direction, is left unmarked."""
        if reverse and self._arrow is None:
            arrow = QGraphicsPolygonItem(QPolygonF([QPointF(0, -5), QPointF(4.5, 3.5), QPointF(-4.5, 3.5)]), self)
            arrow.setFlags(_FLAGS.ItemIgnoresTransformations)
            arrow.setPen(_NO_PEN)
            arrow.setBrush(QBrush(REVERSE_ARROW))
            arrow.setToolTip("Power flows back towards the substation here")
            self._arrow = arrow
            self._place_arrow()
        elif self._arrow is not None:
            self._arrow.setVisible(reverse)

    def _place_arrow(self) -> None:
        if self._arrow is not None and self._ends is not None:
            up, down = self._ends
            if self._straight:  # halfway along the line, pointing to its upstream end
                self._arrow.setPos(0.5 * (up + down))
                d = up - down
                self._arrow.setRotation(math.degrees(math.atan2(d.x(), -d.y())) if d.x() or d.y() else 0.0)
            else:  # halfway down the drop, pointing up
                self._arrow.setPos(QPointF(down.x(), 0.5 * (up.y() + down.y())))
                self._arrow.setRotation(0.0)

    def set_ends(self, upstream: QPointF, downstream: QPointF, straight: bool = False) -> None:
        """The line from its ``upstream`` bus (towards the substation) to its ``downstream`` one: an elbow (across,
        then down: the one-line diagram) or, ``straight``, the direct segment (the geographic drawing)."""
        self._ends = (upstream, downstream)
        self._straight = straight
        self._place_arrow()
        path = QPainterPath(upstream)
        if not straight and abs(upstream.x() - downstream.x()) > 0.5:
            path.lineTo(QPointF(downstream.x(), upstream.y()))
        path.lineTo(downstream)
        stroker = QPainterPathStroker()
        stroker.setWidth(HIT_BAND)
        self._band = stroker.createStroke(path)
        self.setPath(path)

    def shape(self) -> QPainterPath:
        return self._band


def _overlay(item: QGraphicsItem, z: float | None = None) -> QGraphicsItem:
    """An item that only shows: no clicks (they reach the bus or line beneath), no tooltip."""
    item.setAcceptedMouseButtons(_NO_BUTTON)
    if z is not None:
        item.setZValue(z)
    return item


def _ring() -> QGraphicsEllipseItem:
    """The red ring of a bus outside its voltage limits."""
    r = BUS_PX / 2 + 3.5
    ring = QGraphicsEllipseItem(-r, -r, 2 * r, 2 * r)
    ring.setPen(_RING_PEN)
    ring.setBrush(_NO_BRUSH)
    return _overlay(ring)
