"""The feeder's drawing kit: sizes, colours (light and dark inks), shared pens, bus, substation and line items, what a
result shows on them in a period (:class:`ResultView`), and :class:`FeederItems`, which builds, places and colours
them — for the :class:`~gui.feeder_view.FeederView` on screen and for the report's feeder figure alike.

(Over 400 lines on purpose: the items, what a result makes of them and the one code that builds, places and
colours them belong together — the screen and the report must draw the same feeder.)"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from html import escape
from types import SimpleNamespace

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
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
    QGraphicsSimpleTextItem,
)

from core.scenario import Scenario
from core.units import fmt_number
from gui.network_panels import (
    LIMIT,
    LOADING_AT_LIMIT_PCT,
    LOADING_OVER_PCT,
    LOADING_SCALE,
    ColourScale,
    bus_limits,
    bus_rows,
    dlmp_scale,
    has_network,
    has_voltages,
    line_rows,
    price_decimals,
    voltage_outside,
    voltage_scale,
)

BUS_PX = 11.0


SUBSTATION_PX = 18.0


LINE_PEN = QColor(90, 100, 115)


SELECT_PEN = QColor(0, 120, 215)


LINE_WIDTH = 2.0  # px: a line with no loading to show


LOADED_WIDTH = 2.6  # px: a rated line in the result


AT_LIMIT_WIDTH = 4.5  # px: a line at or over its rating, and the selected line
FLOW_WIDTHS = (1.4, 5.0)  # px: with a network result, a line's width grows with the power it carries (√ of its share)
REVERSE_FLOW_KW = 1e-3  # a line carrying more than this back towards the substation gets an arrow
LABEL_PT = 8.0  # bus labels
PRINT_OUTLINE_PX = 7.0  # in a figure, bus discs smaller than this are drawn without their outline
VALUE_LABEL_PX = 100.0  # columns this far apart on screen leave room for "18  0.9340 p.u." beside a bus
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


_PRINTED = _FLAGS(0)  # an item of a figure: sized in the figure's units, not selectable


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
    """One QBrush per colour and one QPen per (colour, width), shared by every item drawn with it: cosmetic pens
    on screen (a width in screen pixels at any zoom), plain ones in a figure (a width in the figure's units,
    scaled with it into an SVG or a PDF)."""

    LIMIT = 4096  # a DLMP or voltage scale has many colours: start over rather than grow without end

    def __init__(self, cosmetic: bool = True) -> None:
        self.cosmetic = cosmetic
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
            p.setCosmetic(self.cosmetic)
            self.pens[key] = p
        return p


SHARED = _Shared()
PRINT = _Shared(cosmetic=False)  # the pens of the items of a figure


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

    def __init__(self, bus_id: str, screen: bool = True):
        r = BUS_PX / 2
        super().__init__(-r, -r, BUS_PX, BUS_PX)
        self.bus_id = bus_id
        self.alert = False  # voltage outside its limits: a red ring (an overlay item)
        self.colour = KIND_COLOURS["empty"]
        self.tip = ""
        self.setFlags(_SELECTABLE_GLYPH if screen else _PRINTED)
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

    def __init__(self, bus_id: str, screen: bool = True):
        r = SUBSTATION_PX / 2
        super().__init__(-r, -r, SUBSTATION_PX, SUBSTATION_PX)
        self.bus_id = bus_id
        self.alert = False  # (the substation wears no ring: its voltage is the set-point)
        self.colour = KIND_COLOURS["empty"]
        self.tip = ""
        self.setFlags(_SELECTABLE_GLYPH if screen else _PRINTED)
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

    def __init__(self, line_id: str, screen: bool = True):
        super().__init__()
        self.line_id = line_id
        self.tip = ""
        self.screen = screen
        self._pens = SHARED if screen else PRINT
        self._band = QPainterPath()
        self._colour = LINE_PEN
        self._width = LINE_WIDTH
        self._arrow: QGraphicsPolygonItem | None = None
        self._ends: tuple[QPointF, QPointF] | None = None
        self._straight = False
        self.setFlags(_FLAGS.ItemIsSelectable if screen else _PRINTED)
        self.setZValue(Z_LINE)
        self.setPen(self._pens.pen(LINE_PEN, LINE_WIDTH))

    def set_style(self, colour: QColor, width: float) -> None:
        if colour != self._colour or width != self._width:
            self._colour, self._width = colour, width
            self.setPen(self._pens.pen(colour, width))

    def colour(self) -> QColor:
        return QColor(self._colour)

    def set_reverse(self, reverse: bool) -> None:
        """Power flowing back towards the substation (a feeder exporting its PV): an arrowhead pointing up on the
        line's drop, sized on screen; downstream flow, the usual direction, is left unmarked."""
        if reverse and self._arrow is None:
            arrow = QGraphicsPolygonItem(QPolygonF([QPointF(0, -5), QPointF(4.5, 3.5), QPointF(-4.5, 3.5)]), self)
            arrow.setPen(_NO_PEN)
            arrow.setBrush(QBrush(REVERSE_ARROW))
            if self.screen:  # sized on screen, with a hint; in a figure, sized in the figure and silent
                arrow.setFlags(_FLAGS.ItemIgnoresTransformations)
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


class ResultView:
    """What one result shows in one period on one feeder: per bus its values, ring and tooltip lines, per
    line its style and tooltip lines; the bus colours for each colour mode. Built once, reused while only
    the scenario's prosumers or the colour mode change."""

    def __init__(self, result, t: int, scenario: Scenario, limits: dict[str, tuple[float, float]]):
        self.result, self.period, self.limits = result, t, limits
        self.v_range = (scenario.feeder.v_min_pu, scenario.feeder.v_max_pu)
        self.network = network = has_network(result)
        self.voltages = voltages = has_voltages(result)
        self.buses = buses = bus_rows(result, t) if network else None
        lines = line_rows(result, t) if network else None
        self.bus_ids: list[str] = []
        self.alerts: set[str] = set()
        self.bus_tips: dict[str, str] = {}
        self.line_styles: dict[str, tuple[QColor, float]] = {}
        self.reverse: set[str] = set()  # lines whose power flows back towards the substation
        self.line_tips: dict[str, str] = {}
        self._colours: dict[tuple, tuple[ColourScale | None, dict[str, QColor]]] = {}
        self.period_label = scenario.horizon.labels()[t] if 0 <= t < scenario.periods else str(t)
        if network and len(buses):
            self.bus_ids = [str(b) for b in buses.bus]
            d = price_decimals(buses.dlmp_per_kwh)
            unit = f"{escape(result.currency)}/kWh"
            cols = [
                buses[c].to_numpy(float)
                for c in (
                    "dlmp_per_kwh",
                    "energy_per_kwh",
                    "loss_per_kwh",
                    "congestion_per_kwh",
                    "voltage_per_kwh",
                    "v_pu",
                )
            ]
            for bus_id, dlmp, energy, loss, congestion, voltage, v in zip(self.bus_ids, *cols, strict=True):
                tip = (
                    f"<br><b>DLMP {fmt_number(dlmp, d)} {unit}</b> (energy {fmt_number(energy, d)}, loss "
                    f"{fmt_number(loss, d)}, congestion {fmt_number(congestion, d)}, voltage "
                    f"{fmt_number(voltage, d)})"
                )
                if voltages:
                    v_min, v_max = limits.get(bus_id, self.v_range)
                    alert = voltage_outside(float(v), v_min, v_max)
                    if alert:
                        self.alerts.add(bus_id)
                    tip += f"<br>V {fmt_number(v, 4)} p.u." + (
                        f" <span style='color:{LIMIT.name()}'><b>⚠ outside {v_min:g}–{v_max:g}</b></span>"
                        if alert
                        else ""
                    )
                self.bus_tips[bus_id] = tip
        self.line_scale = LOADING_SCALE if network and lines is not None and len(lines) else None
        if self.line_scale is not None:
            ids = [str(x) for x in lines.line]
            cols = [lines[c].to_numpy(float) for c in ("loading_pct", "p_kw", "q_kvar", "loss_kw")]
            rated = [i for i, load in enumerate(cols[0]) if load == load]  # NaN: unrated
            colours = scale_colours(LOADING_SCALE, [cols[0][i] for i in rated])
            # the width says how much power a line carries (its share of the most any line carries, √ so that
            # the small flows stay visible), the colour how close it is to its rating, the arrow where it flows back
            p_abs = np.abs(cols[1])
            p_max = float(np.nanmax(p_abs)) if len(p_abs) and np.isfinite(p_abs).any() else 0.0
            lo_w, hi_w = FLOW_WIDTHS
            self.reverse = {ids[i] for i in range(len(ids)) if cols[1][i] < -REVERSE_FLOW_KW}
            for i, colour in zip(rated, colours, strict=True):
                load, p, q, loss = (float(c[i]) for c in cols)
                share = math.sqrt(abs(p) / p_max) if p_max > 0 and math.isfinite(p) else 0.0
                width = lo_w + (hi_w - lo_w) * share
                if load >= LOADING_AT_LIMIT_PCT:
                    width = max(width, AT_LIMIT_WIDTH)
                self.line_styles[ids[i]] = (OVERLOADED if load > LOADING_OVER_PCT else colour, width)
                state = (
                    " <b style='color:#c00000'>⚠ overloaded</b>"
                    if load > LOADING_OVER_PCT
                    else " <b style='color:#c00000'>at its rating</b>"
                    if load >= LOADING_AT_LIMIT_PCT
                    else ""
                )
                self.line_tips[ids[i]] = (
                    f"<br><b>loading {fmt_number(load, 1)} %</b>{state}<br>P "
                    f"{fmt_number(p, 1)} kW, Q {fmt_number(q, 1)} kvar, losses "
                    f"{fmt_number(loss, 2)} kW"
                    + ("<br>flowing back towards the substation" if ids[i] in self.reverse else "")
                )

    def is_for(self, result, t: int, scenario: Scenario, limits: dict[str, tuple[float, float]]) -> bool:
        return (
            self.result is result
            and self.period == t
            and self.limits is limits
            and self.v_range == (scenario.feeder.v_min_pu, scenario.feeder.v_max_pu)
        )

    def colours(
        self, mode: str, span: str = "day", label: str | None = None
    ) -> tuple[ColourScale | None, dict[str, QColor]]:
        """The bus colour scale of ``mode`` (None: what the buses host) and each bus's colour on it; ``span``:
        ``day`` — one scale for the whole day, so the same colour is the same price or voltage in every period
        (playing the day shows what changes) — or ``period``, fitted to this period's buses (its differences).
        ``label``: what the bar's title says it spans (default: "day" or the period's time)."""
        if (mode, span, label) not in self._colours:
            scale, column = None, None
            day = self.buses if self.result is None or self.result.buses is None else self.result.buses
            rows = day if span == "day" else self.buses
            if self.network and len(self.bus_ids) and mode == "dlmp":
                scale, column = dlmp_scale(rows, self.result.currency), "dlmp_per_kwh"
            elif self.voltages and len(self.bus_ids) and mode == "voltage":
                scale, column = voltage_scale(rows, *self.v_range), "v_pu"
            colours = {}
            if scale is not None:
                if label is None:  # what the bar spans, in its title
                    label = "day" if span == "day" else self.period_label
                scale = replace(scale, title=f"{scale.title} · {label}")
                colours = dict(zip(self.bus_ids, scale_colours(scale, self.buses[column].to_numpy(float)), strict=True))
            self._colours[(mode, span, label)] = (scale, colours)
        return self._colours[(mode, span, label)]


def fit_scales(layout: dict[str, tuple[float, float]], w: float, h: float, geographic: bool) -> tuple[float, float]:
    """Pixels per layout unit in x and y so that ``layout`` (the tree's or the map's) fills ``w`` × ``h`` pixels.

    A map keeps one scale for both axes (distances and directions stay true); a tree stretches to fill, within
    limits (never absurdly stretched on one axis; a large feeder is drawn as it is, its buses smaller)."""
    xs = [p[0] for p in layout.values()] or [0.0]
    ys = [p[1] for p in layout.values()] or [0.0]
    span_x = max(max(xs) - min(xs), 1.0)
    span_y = max(max(ys) - min(ys), 1.0)
    if geographic:
        scale = max(min(w / span_x, h / span_y, 160.0), 0.5)
        return scale, scale
    sx = w / span_x
    sy = h / span_y
    sx = min(sx, 6.0 * sy, 160.0)
    sy = min(sy, 6.0 * sx, 120.0)
    # never wider than the room, so that fitting it would squash its rows to a slab
    return max(sx, 0.5), max(sy, 2.0)


def level_of_detail(px_x: float, px_y: float, text: float = 1.0) -> tuple[bool, bool, int]:
    """What fits when neighbouring columns are ``px_x`` and rows ``px_y`` pixels apart (labels ``text`` × 8 pt):
    (bus labels shown, room for a value beside each id, the bus discs' size in pixels — as large as the room
    between neighbours allows, so that a 1,000-bus feeder shows its trunk and laterals, not a heap of discs)."""
    show = px_x >= 22.0 * text and px_y >= 11.5 * text  # 8-pt labels need ~11 px between rows
    wide = px_x >= VALUE_LABEL_PX * text
    size = round(min(BUS_PX, max(3.0, 0.85 * min(px_x, px_y))))
    return show, wide, size


def bus_positions(layout: dict[str, tuple[float, float]], sx: float, sy: float) -> dict[str, QPointF]:
    return {b: QPointF(x * sx, y * sy) for b, (x, y) in layout.items()}


class FeederItems:
    """The feeder's drawing: a glyph per bus (the substation a transformer with its kV), a path per line, a label
    per bus and a red ring per bus outside its voltage limits — made from a scenario (:meth:`build`), placed from a
    layout (:meth:`place`), coloured from a :class:`ResultView` (:meth:`colour`).

    One code path for the screen and the report: :class:`gui.feeder_view.FeederView` builds them into its scene
    (``screen``: glyphs, rings and labels of a fixed size on screen whatever the zoom, cosmetic pens, selectable;
    the view adds tooltips and the selection), a figure (:mod:`gui.figures.feeder`) under one of its items
    (``screen=False``: every size in the figure's units so that the drawing scales as a whole into an SVG or a
    PDF; nothing to select or hover).
    """

    def __init__(self, scene=None, parent: QGraphicsItem | None = None, *, screen: bool = True, ink=None):
        self.scene, self.parent, self.screen = scene, parent, screen
        self.ink = LIGHT_INK if ink is None else ink
        self.buses: dict[str, BusItem | SubstationItem] = {}
        self.lines: dict[str, LineItem] = {}
        self.labels: dict[str, QGraphicsSimpleTextItem] = {}
        self.rings: dict[str, QGraphicsEllipseItem] = {}  # the red rings of the buses outside their limits
        self.alerting: set[str] = set()  # buses outside their voltage limits (the substation too)
        self.kinds: dict[str, str] = {}  # what each bus hosts
        self.label_font = QFont()
        self.label_font.setPointSizeF(LABEL_PT)
        self.bus_px = BUS_PX
        self.labels_shown: bool | None = None

    # --- making and removing -------------------------------------------------------------------------------
    def _add(self, item: QGraphicsItem) -> None:
        if self.parent is not None:
            item.setParentItem(self.parent)
        else:
            self.scene.addItem(item)

    @staticmethod
    def _remove(item: QGraphicsItem) -> None:
        scene = item.scene()
        if scene is not None:
            scene.removeItem(item)
        else:
            item.setParentItem(None)

    def set_label_font(self, font: QFont) -> None:
        """The bus labels' font (presentation mode enlarges it; a figure sets it in pixels)."""
        self.label_font = QFont(font)
        for label in self.labels.values():
            label.setFont(self.label_font)

    def build(self, s: Scenario) -> list[str]:
        """Items for ``s``'s topology; the items of the buses and lines that stay are kept (adding a bus to the
        1,000-bus feeder makes one bus, one label and one line), the others go. Returns the buses that went."""
        substation = s.feeder.substation.bus
        old_buses, old_lines, old_labels = dict(self.buses), dict(self.lines), dict(self.labels)
        self.buses.clear()
        self.lines.clear()
        self.labels.clear()
        for ln in s.feeder.lines:
            line = old_lines.pop(ln.id, None)
            if line is None:
                line = LineItem(ln.id, self.screen)
                self._add(line)
            self.lines[ln.id] = line
        for b in s.feeder.buses:
            item = old_buses.pop(b.id, None)
            if item is not None and item.substation != (b.id == substation):
                old_buses[b.id] = item  # a bus became the substation, or stopped being it: a new glyph
                item = None
            if item is None:
                item = SubstationItem(b.id, self.screen) if b.id == substation else BusItem(b.id, self.screen)
                if item.substation:
                    item.set_ink(self.ink.text, self.ink.background)
                self._add(item)
            self.buses[b.id] = item
            label = old_labels.pop(b.id, None)
            if label is None:
                label = QGraphicsSimpleTextItem(b.id)
                label.setFont(self.label_font)
                if self.screen:
                    label.setFlags(_FLAGS.ItemIgnoresTransformations)
                label.setBrush(QBrush(self.ink.label))
                label.setZValue(Z_LABEL)
                self._add(label)
            self.labels[b.id] = label
        for bus_id in old_buses:
            self.alerting.discard(bus_id)
            ring = self.rings.pop(bus_id, None)
            if ring is not None:
                self._remove(ring)
        for gone in (*old_lines.values(), *old_buses.values(), *old_labels.values()):
            self._remove(gone)
        self.labels_shown = None  # new labels show: level of detail again
        self.bus_px = BUS_PX  # new discs are full size: level of detail again
        return list(old_buses)

    def name(self, s: Scenario) -> dict[str, list]:
        """What each bus hosts (its fill without a market) and the substation's label (its kV), from ``s``; returns
        the prosumers of each bus."""
        by_bus = prosumers_by_bus(s)
        self.kinds.clear()
        for bus_id in self.buses:
            self.kinds[bus_id] = _kind(by_bus.get(bus_id, ()))
        substation = s.feeder.substation.bus
        if substation in self.labels:
            self.labels[substation].setText(f"{substation} · {s.feeder.base_kv:g} kV")
        return by_bus

    def set_ink(self, ink: FeederInk) -> None:
        """The theme's ink: the substation's windings and the labels (the bus colours stay)."""
        self.ink = ink
        for item in self.buses.values():
            if item.substation:
                item.set_ink(ink.text, ink.background)
        brush = QBrush(ink.label)
        for label in self.labels.values():
            label.setBrush(brush)

    # --- placing ---------------------------------------------------------------------------------------------
    def place(self, pos: dict[str, QPointF], s: Scenario | None, straight: bool, depth: dict[str, int]) -> None:
        """Buses, labels and rings at ``pos``; each line from its upstream end to its downstream one: an elbow
        (the one-line diagram) or, ``straight``, the segment (the map, where ``depth`` says which end is up)."""
        labels = self.labels
        for bus_id, item in self.buses.items():
            p = pos[bus_id]
            item.setPos(p)
            labels[bus_id].setPos(p.x() + (12 if item.substation else 7), p.y() + (-18 if item.substation else -16))
        for bus_id, ring in self.rings.items():
            ring.setPos(pos[bus_id])
        if s is not None:
            for ln in s.feeder.lines:
                if ln.from_bus in pos and ln.to_bus in pos:
                    a, b = pos[ln.from_bus], pos[ln.to_bus]
                    if straight:  # the end nearer the substation is upstream
                        first = depth.get(ln.from_bus, 0) <= depth.get(ln.to_bus, 0)
                    else:  # a row nearer the top
                        first = a.y() <= b.y()
                    up, down = (a, b) if first else (b, a)
                    self.lines[ln.id].set_ends(up, down, straight)

    def show_labels(self, show: bool) -> None:
        """The bus labels (the substation's, with its kV, always)."""
        if show != self.labels_shown:
            self.labels_shown = show
            for bus_id, label in self.labels.items():
                label.setVisible(show or self.buses[bus_id].substation)

    def set_bus_size(self, size: float) -> None:
        if size != self.bus_px:
            self.bus_px = size
            # printed, a small disc loses its outline (which would hide its colour); on screen one zooms in
            pen = _BUS_PEN if self.screen or size >= PRINT_OUTLINE_PX else _NO_PEN
            for item in self.buses.values():
                if not item.substation:
                    item.setRect(-size / 2, -size / 2, size, size)
                    if not self.screen:
                        item.setPen(pen)

    # --- colouring -------------------------------------------------------------------------------------------
    def colour(self, view: ResultView, mode: str, span: str = "day", label: str | None = None) -> ColourScale | None:
        """Bus fills and rings, line colours, widths and arrows for ``view`` (a result in a period) coloured by
        ``mode`` (:meth:`ResultView.colours`); only the items whose look changed are touched. Returns the bus
        colour scale (None: the buses show what they host)."""
        scale, values = view.colours(mode, span, label)
        empty = KIND_COLOURS["empty"]
        kinds, alerts = self.kinds, view.alerts
        for bus_id, item in self.buses.items():
            colour = values.get(bus_id)
            if colour is None:
                # not in the last cleared market (added since): no colour on the scale
                colour = empty if scale is not None else KIND_COLOURS[kinds.get(bus_id, "empty")]
            item.set_colour(colour)
            alert = bus_id in alerts
            if alert != item.alert:
                item.alert = alert
                self.set_ring(item, alert)
        styles = view.line_styles
        default = (self.ink.line, LINE_WIDTH)
        for line_id, item in self.lines.items():
            item.set_style(*styles.get(line_id, default))
            item.set_reverse(line_id in view.reverse)
        return scale

    def set_ring(self, item: BusItem | SubstationItem, alert: bool) -> None:
        """The red ring of a bus outside its voltage limits (the substation wears none: its voltage is set)."""
        if alert:
            self.alerting.add(item.bus_id)
        else:
            self.alerting.discard(item.bus_id)
        if item.substation:
            return
        ring = self.rings.pop(item.bus_id, None)
        if ring is not None:
            self._remove(ring)
        if alert:
            ring = self.rings[item.bus_id] = _ring()
            if self.screen:
                ring.setFlags(_FLAGS.ItemIgnoresTransformations)
            ring.setZValue(Z_RING)
            ring.setPos(item.pos())
            self._add(ring)
