"""The feeder drawn as a one-line diagram (substation at the top, laterals to the side) or on the map.

(:class:`FeederView` is over 400 lines on purpose: layout, selection, colouring and the period's result all
recolour the same items and must agree on which changed; its drawing kit is in :mod:`gui.feeder_items`, its
legend in :mod:`gui.feeder_legend`.)

Positions come from :func:`core.scenario.layout.tree_layout` (layout units) or, when every bus has
geographic coordinates and "Geographic layout" is on (the default then), from
:func:`core.scenario.layout.geographic_layout` (north up, lines straight, one scale for both axes); the
view stretches them to fill its window, bus glyphs keep their size on screen,
and labels appear once there is room for them (level of detail), so the
1,000-bus feeder stays readable. Drag to pan, wheel to zoom, ``F`` or
double-click the background to fit.

Buses are coloured by what they host, or — with a market cleared on a network
model (:meth:`FeederView.set_result`) — by their DLMP or voltage in the chosen
period ("Colour buses by", top left); lines then by their loading. The legend
in the corner is the colour bar with its range and units. A voltage outside
its limits (a red ring) and a line at or over its rating (red, thick) stand out.

Painting stays in Qt: buses and lines are plain ellipse/rect/path items with
shared pens and brushes (no Python ``paint`` per item, so a repaint of the
1,000-bus feeder does not cross into Python 2,000 times). What only a few
items wear — the selection halo, the selected line's thick blue pen, the red
rings of the buses outside their voltage limits — is drawn by a few overlay
items made for those buses and lines alone; the selected item itself paints
nothing meanwhile (``ItemHasNoContents``), so Qt's dashed selection rectangle
never shows. Selection stays Qt's own (``setSelected``, ``clearSelection``,
``selectionChanged``). A new result or period touches only the items whose
colour, width, ring or tooltip changed; an edit that keeps the topology keeps
the items.
"""

from __future__ import annotations

import math
from dataclasses import replace
from html import escape

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QPainter,
)
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
)

from core.scenario import Scenario
from core.scenario.layout import electrical_depth, geographic_layout, tree_layout
from core.units import fmt_number
from gui.feeder_items import (
    _FLAGS,
    _HALO_BRUSH,
    _NO_BUTTON,
    _NO_CONTENTS,
    _NO_PEN,
    _SELECTED_BUS_PEN,
    _SELECTED_LINE_PEN,
    AT_LIMIT_WIDTH,
    BUS_ITEMS,
    BUS_PX,
    COLOUR_MODES,
    DARK_INK,
    FLOW_WIDTHS,
    KIND_COLOURS,
    LIGHT_INK,
    LINE_WIDTH,
    OVERLOADED,
    REPLACE_SCALE_TOL,
    SHARED,
    SUBSTATION_PX,
    Z_LABEL,
    Z_RING,
    Z_SELECTED_BUS,
    Z_SELECTED_LINE,
    BusItem,
    LineItem,
    SubstationItem,
    _kind,
    _overlay,
    _ring,
    all_bus_limits,
    prosumers_by_bus,
    scale_colours,
)
from gui.feeder_legend import GEOGRAPHIC_OFF_TIP, GEOGRAPHIC_TIP, FeederLegend
from gui.network_panels import (
    LIMIT,
    LOADING_AT_LIMIT_PCT,
    LOADING_OVER_PCT,
    LOADING_SCALE,
    ColourScale,
    bus_rows,
    dlmp_scale,
    has_network,
    has_voltages,
    line_rows,
    price_decimals,
    voltage_outside,
    voltage_scale,
)


class _ResultView:
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
        self._colours: dict[tuple[str, str], tuple[ColourScale | None, dict[str, QColor]]] = {}
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

    def colours(self, mode: str, span: str = "day") -> tuple[ColourScale | None, dict[str, QColor]]:
        """The bus colour scale of ``mode`` (None: what the buses host) and each bus's colour on it; ``span``:
        ``day`` — one scale for the whole day, so the same colour is the same price or voltage in every period
        (playing the day shows what changes) — or ``period``, fitted to this period's buses (its differences)."""
        if (mode, span) not in self._colours:
            scale, column = None, None
            day = self.buses if self.result is None or self.result.buses is None else self.result.buses
            rows = day if span == "day" else self.buses
            if self.network and len(self.bus_ids) and mode == "dlmp":
                scale, column = dlmp_scale(rows, self.result.currency), "dlmp_per_kwh"
            elif self.voltages and len(self.bus_ids) and mode == "voltage":
                scale, column = voltage_scale(rows, *self.v_range), "v_pu"
            colours = {}
            if scale is not None:
                label = "day" if span == "day" else self.period_label  # what the bar spans, in its title
                scale = replace(scale, title=f"{scale.title} · {label}")
                colours = dict(zip(self.bus_ids, scale_colours(scale, self.buses[column].to_numpy(float)), strict=True))
            self._colours[(mode, span)] = (scale, colours)
        return self._colours[(mode, span)]


def _coordinates(s: Scenario) -> tuple:
    """The buses' geographic coordinates, what the geographic layout is made from."""
    return tuple((b.x, b.y) for b in s.feeder.buses)


def _topology(s: Scenario) -> tuple:
    """What the items and the layout are made from: the substation, the buses in order, the lines."""
    return (
        s.feeder.substation.bus,
        tuple(b.id for b in s.feeder.buses),
        tuple((ln.id, ln.from_bus, ln.to_bus) for ln in s.feeder.lines),
    )


LABEL_PT = 8.0  # bus labels
VALUE_LABEL_PX = 100.0  # columns this far apart on screen leave room for "18  0.9340 p.u." beside a bus
REVERSE_FLOW_KW = 1e-3  # a line carrying more than this back towards the substation gets an arrow


class FeederView(QGraphicsView):
    """Draws a scenario's feeder and, given one, a cleared market on it; emits the bus or line the user picks."""

    busSelected = Signal(object)  # bus id or None
    lineSelected = Signal(object)  # line id or None

    MARGIN_PX = 40.0

    def __init__(self, parent=None):
        super().__init__(parent)
        scene = QGraphicsScene(self)
        # the items move only when the feeder is laid out again: no index to keep up to date on every move
        scene.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.setScene(scene)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.ink = LIGHT_INK
        self.setBackgroundBrush(QBrush(self.ink.background))
        self._text_scale = 1.0  # bus labels (presentation mode enlarges them)
        self._value_labels = False  # labels wide enough on screen for a value beside the id
        self.legend = FeederLegend(self)  # "Colour buses by" and the colour bars, top left
        self.colour_box, self.colour_by = self.legend.box, self.legend.colour_by
        self.geographic_box = self.legend.geographic  # "Geographic layout": enabled when every bus has coordinates
        self.setMinimumSize(320, 240)
        self.setToolTip("")
        self.buses: dict[str, BusItem | SubstationItem] = {}
        self.lines: dict[str, LineItem] = {}
        self.labels: dict[str, QGraphicsSimpleTextItem] = {}
        self.rings: dict[str, QGraphicsEllipseItem] = {}  # the red rings of the buses outside their limits
        self._alerting: set[str] = set()  # buses outside their voltage limits (the substation too)
        self._selection_marks: list[QGraphicsItem] = []  # the halo of the selected bus, the selected line
        self._unpainted: list[QGraphicsItem] = []  # selected items, drawn by their marks meanwhile
        self._labels_shown: bool | None = None
        self._layout: dict[str, tuple[float, float]] = {}  # the one drawn: the tree's or the map's
        self._tree: dict[str, tuple[float, float]] = {}
        self._geo: dict[str, tuple[float, float]] | None = None  # None: some bus has no coordinates
        self._geo_wanted = True  # the user's choice, kept for the next feeder with coordinates
        self._depth: dict[str, int] = {}  # lines from the substation: which end of a straight line is upstream
        self._scenario: Scenario | None = None
        self._user_zoomed = False
        self._syncing = False
        self._kinds: dict[str, str] = {}
        self._tips: dict[str, str] = {}  # what a bus or line is, before any market numbers
        self._limits: dict[str, tuple[float, float]] = {}
        self._limits_of = None  # the feeder ``_limits`` and the line tips were read from
        self._shown: _ResultView | None = None
        self.result = None
        self.period = 0
        self.bus_scale: ColourScale | None = None  # the scale the buses are painted with (None: what they host)
        self.line_scale: ColourScale | None = None
        self.scene().selectionChanged.connect(self._on_selection)

        self.colour_by.currentIndexChanged.connect(lambda _i: self._apply_result())
        self.legend.scale_span.currentIndexChanged.connect(lambda _i: self._apply_result())
        self.geographic_box.toggled.connect(self.set_geographic)

    def set_text_scale(self, factor: float) -> None:
        """Bus labels and the legend ×``factor`` (presentation mode), 1 to go back."""
        self._text_scale = factor
        font = QFont()
        font.setPointSizeF(LABEL_PT * factor)
        for label in self.labels.values():
            label.setFont(font)
        self.legend.place()
        self.viewport().update()

    def sizeHint(self) -> QSize:
        """Modest: the window's central widget takes what the workspace's docks leave (they are sized, it is not)."""
        return QSize(420, 320)

    # --- building -------------------------------------------------------------
    def set_scenario(self, scenario: Scenario) -> None:
        """Draw ``scenario``: the items are rebuilt only when the topology changed; an edit that keeps it
        (a prosumer's demand, a line's rating, a bus's name or limits) restyles the items it changed."""
        old = self._scenario
        self._scenario = scenario
        if old is None or (old.feeder is not scenario.feeder and _topology(old) != _topology(scenario)):
            self._rebuild(scenario)
        elif old.feeder is not scenario.feeder and _coordinates(old) != _coordinates(scenario):
            self._read_coordinates(scenario)
            self.fit()
        self._refresh_styles(scenario)

    # --- tree or map -------------------------------------------------------------
    def _read_coordinates(self, s: Scenario) -> None:
        """The geographic layout of ``s`` (if every bus has coordinates), the switch to match, the layout drawn."""
        self._geo = geographic_layout(s.feeder)
        self._depth = electrical_depth(s.feeder) if self._geo is not None else {}
        box = self.geographic_box
        box.blockSignals(True)
        box.setEnabled(self._geo is not None)
        box.setChecked(self._geo is not None and self._geo_wanted)
        box.blockSignals(False)
        box.setToolTip(GEOGRAPHIC_TIP if self._geo is not None else GEOGRAPHIC_OFF_TIP)
        self._layout = self._geo if self.is_geographic_possible() and self._geo_wanted else self._tree

    def is_geographic_possible(self) -> bool:
        """Whether the feeder can be drawn on the map: every bus has coordinates."""
        return self._geo is not None

    def is_geographic(self) -> bool:
        """Whether the feeder is drawn on the map (else as the tree)."""
        return self._geo is not None and self._layout is self._geo

    def set_geographic(self, on: bool) -> None:
        """Draw the feeder on the map (``on``, when its buses have coordinates) or as the tree, and fit it."""
        self._geo_wanted = bool(on)
        if self.geographic_box.isChecked() != (on and self._geo is not None):
            self.geographic_box.blockSignals(True)
            self.geographic_box.setChecked(on and self._geo is not None)
            self.geographic_box.blockSignals(False)
        layout = self._geo if on and self._geo is not None else self._tree
        if layout is not self._layout:
            self._layout = layout
            self.fit()

    def _rebuild(self, s: Scenario) -> None:
        """Items for a new topology, then the layout. The items of the buses and lines that stay are kept
        (adding a bus to the 1,000-bus feeder makes one bus, one label and one line), the others go."""
        selected_bus = self.selected_bus()
        self._syncing = True
        scene = self.scene()
        substation = s.feeder.substation.bus
        old_buses, old_lines, old_labels = dict(self.buses), dict(self.lines), dict(self.labels)
        self.buses.clear()
        self.lines.clear()
        self.labels.clear()
        self._tree = tree_layout(s.feeder)
        self._read_coordinates(s)
        for ln in s.feeder.lines:
            line = old_lines.pop(ln.id, None)
            if line is None:
                line = LineItem(ln.id)
                scene.addItem(line)
            self.lines[ln.id] = line
        font = None
        for b in s.feeder.buses:
            item = old_buses.pop(b.id, None)
            if item is not None and item.substation != (b.id == substation):
                old_buses[b.id] = item  # a bus became the substation, or stopped being it: a new glyph
                item = None
            if item is None:
                item = SubstationItem(b.id) if b.id == substation else BusItem(b.id)
                if item.substation:
                    item.set_ink(self.ink.text, self.ink.background)
                scene.addItem(item)
            self.buses[b.id] = item
            label = old_labels.pop(b.id, None)
            if label is None:
                if font is None:
                    font = QFont()
                    font.setPointSizeF(LABEL_PT * self._text_scale)
                label = QGraphicsSimpleTextItem(b.id)
                label.setFont(font)
                label.setFlags(_FLAGS.ItemIgnoresTransformations)
                label.setBrush(QBrush(self.ink.label))
                label.setZValue(Z_LABEL)
                scene.addItem(label)
            self.labels[b.id] = label
        for bus_id in old_buses:
            self._alerting.discard(bus_id)
            ring = self.rings.pop(bus_id, None)
            if ring is not None:
                scene.removeItem(ring)
        for gone in (*old_lines.values(), *old_buses.values(), *old_labels.values()):
            scene.removeItem(gone)
        self._labels_shown = None  # new labels show: level of detail again
        self._bus_px = BUS_PX  # new discs are full size: level of detail again
        self._syncing = False
        self.fit()  # lays the items out
        if selected_bus in self.buses:
            self.select_bus(selected_bus)

    def _refresh_styles(self, s: Scenario) -> None:
        """The kinds and tooltips the scenario gives (not the market), then the colours."""
        if self._limits_of is not s.feeder:
            self._limits_of = s.feeder
            limits = all_bus_limits(s.feeder)
            if limits != self._limits:
                self._limits = limits  # (a new object: the shown result's rings are read again)
            self._tips.clear()
            for ln in s.feeder.lines:
                rating = ln.rating_kva_at(s.feeder.base_kv)
                self._tips[f"line:{ln.id}"] = (
                    f"<b>Line {ln.id}</b> {ln.from_bus} → {ln.to_bus}<br>R {ln.r_ohm:g} Ω, "
                    f"X {ln.x_ohm:g} Ω" + (f"<br>rating {rating:,.0f} kVA" if rating else "<br>unrated")
                )
        by_bus = prosumers_by_bus(s)
        names = {b.id: b.name for b in s.feeder.buses}
        substation = s.feeder.substation.bus
        self._kinds.clear()
        for bus_id in self.buses:
            ps = by_bus.get(bus_id, ())
            self._kinds[bus_id] = _kind(ps)
            peak = sum(max(p.demand_kw) for p in ps) if ps else 0.0
            der = sum(p.asset.p_max_kw for p in ps if p.asset is not None)
            name = names.get(bus_id, "")
            tip = f"<b>Bus {bus_id}</b>{' — ' + name if name and name != f'Bus {bus_id}' else ''}<br>"
            tip += f"{len(ps)} prosumer(s), peak demand {peak:,.1f} kW, DER capacity {der:,.1f} kW"
            if bus_id == substation:
                tip += f"<br>substation: V set {s.feeder.substation.v_set_pu:g} p.u., {s.feeder.base_kv:g} kV"
                if bus_id in self.labels:
                    self.labels[bus_id].setText(f"{bus_id} · {s.feeder.base_kv:g} kV")
            self._tips[bus_id] = tip
        self._apply_result()

    # --- the market on the feeder -------------------------------------------------------
    def colour_mode(self) -> str:
        return self.colour_by.currentData()

    def set_colour_mode(self, mode: str) -> None:
        """``host``, ``dlmp`` or ``voltage``."""
        self.colour_by.setCurrentIndex(self.colour_by.findData(mode))

    def set_result(self, result, period: int | None = None) -> None:
        """Colour the feeder by ``result`` in ``period`` (default: the result's own period)."""
        self.result = result
        self.period = result.period if period is None else period
        self._apply_result()

    def set_period(self, period: int) -> None:
        """Show another period of the same result (no new clearing)."""
        if period != self.period:
            self.period = period
            self._apply_result()

    def _label_values(self) -> None:
        """Coloured by DLMP or voltage, each bus's label also gives its value with its unit, in the colour bar's
        format, once the columns are far enough apart on screen for it (zoomed in); else the bus ids alone."""
        mode, scale, view = self.colour_mode(), self.bus_scale, self._shown
        column = {"dlmp": "dlmp_per_kwh", "voltage": "v_pu"}.get(mode) if self._value_labels else None
        rows = view.buses if view is not None else None
        values = (
            dict(zip(map(str, rows.bus), rows[column].to_numpy(float), strict=True))
            if scale is not None and column is not None and rows is not None and len(rows) and column in rows
            else {}
        )
        substation = self._scenario.feeder.substation.bus if self._scenario is not None else None
        for bus_id, label in self.labels.items():
            if bus_id == substation:
                continue  # its kV
            v = values.get(bus_id)
            text = bus_id if v is None or v != v else f"{bus_id}  {scale.label(v)} {scale.unit}"
            if label.text() != text:
                label.setText(text)

    def bus_colour(self, bus_id: str) -> QColor:
        return QColor(self.buses[bus_id].colour)

    def line_colour(self, line_id: str) -> QColor:
        return self.lines[line_id].colour()

    def _apply_result(self) -> None:
        """Bus fills, rings, line pens and tooltips for the colour mode, the result and the period; only the
        items whose look or tooltip changed are touched."""
        s = self._scenario
        if s is None:
            return
        view = self._shown
        if view is None or not view.is_for(self.result, self.period, s, self._limits):
            view = self._shown = _ResultView(self.result, self.period, s, self._limits)
        self.bus_scale, values = view.colours(self.colour_mode(), self.legend.span())
        self._label_values()
        empty = KIND_COLOURS["empty"]
        kinds, tips, bus_tips, alerts = self._kinds, self._tips, view.bus_tips, view.alerts
        for bus_id, item in self.buses.items():
            colour = values.get(bus_id)
            if colour is None:
                # not in the last cleared market (added since): no colour on the scale
                colour = empty if self.bus_scale is not None else KIND_COLOURS[kinds.get(bus_id, "empty")]
            item.set_colour(colour)
            alert = bus_id in alerts
            if alert != item.alert:
                item.alert = alert
                self._set_ring(item, alert)
            tip = tips.get(bus_id, "") + bus_tips.get(bus_id, "")
            if tip != item.tip:
                item.tip = tip
                item.setToolTip(tip)
        self.line_scale = view.line_scale
        styles, line_tips = view.line_styles, view.line_tips
        default = (self.ink.line, LINE_WIDTH)
        for line_id, item in self.lines.items():
            item.set_style(*styles.get(line_id, default))
            item.set_reverse(line_id in view.reverse)
            tip = tips.get(f"line:{line_id}", "") + line_tips.get(line_id, "")
            if tip != item.tip:
                item.tip = tip
                item.setToolTip(tip)
        if self._unpainted:
            self._mark_selection()  # the selected bus in its new colour, with or without its ring
        self.viewport().update()  # the legend

    def _set_ring(self, item: BusItem | SubstationItem, alert: bool) -> None:
        if alert:
            self._alerting.add(item.bus_id)
        else:
            self._alerting.discard(item.bus_id)
        if item.substation:
            return
        ring = self.rings.pop(item.bus_id, None)
        if ring is not None:
            self.scene().removeItem(ring)
        if alert:
            ring = self.rings[item.bus_id] = _ring()
            ring.setFlags(_FLAGS.ItemIgnoresTransformations)
            ring.setZValue(Z_RING)
            ring.setPos(item.pos())
            self.scene().addItem(ring)

    # --- geometry ----------------------------------------------------------------
    def _scales(self) -> tuple[float, float]:
        """Pixels per layout unit in x and y so the tree (or the map) fills the viewport."""
        xs = [p[0] for p in self._layout.values()] or [0.0]
        ys = [p[1] for p in self._layout.values()] or [0.0]
        # the legend sits in the top-left corner: keep the drawing to its right
        w = max(self.viewport().width() - 2 * self.MARGIN_PX - self._legend_room(), 100.0)
        h = max(self.viewport().height() - 2 * self.MARGIN_PX, 100.0)
        span_x = max(max(xs) - min(xs), 1.0)
        span_y = max(max(ys) - min(ys), 1.0)
        if self.is_geographic():  # a map: one scale for both axes, so distances and directions stay true
            scale = max(min(w / span_x, h / span_y, 160.0), 0.5)
            return scale, scale
        sx = w / span_x
        sy = h / span_y
        # keep the drawing from getting absurdly stretched on one axis
        sx = min(sx, 6.0 * sy, 160.0)
        sy = min(sy, 6.0 * sx, 120.0)
        # a large feeder fills the view as it is (its buses drawn smaller: _update_lod), never wider than the view
        # so that fitting it would squash its rows to a slab
        return max(sx, 0.5), max(sy, 2.0)

    def _needs_place(self) -> bool:
        """Whether the items must move: a new layout, or a viewport whose size changes the spacing by more than
        ``REPLACE_SCALE_TOL`` (a dock a few pixels taller must not re-place 1,000 buses: the fit absorbs it)."""
        if not self._layout:
            return False
        placed = getattr(self, "_placed", None)
        if placed is None or placed[0] is not self._layout:
            return True
        sx, sy = self._scales()
        tol = REPLACE_SCALE_TOL
        return abs(sx - placed[1]) > tol * placed[1] or abs(sy - placed[2]) > tol * placed[2]

    def _place(self) -> None:
        if not self._layout:
            return
        sx, sy = self._scales()
        self._sx, self._sy = sx, sy
        self._placed = (self._layout, sx, sy)
        pos = {b: QPointF(x * sx, y * sy) for b, (x, y) in self._layout.items()}
        labels = self.labels
        for bus_id, item in self.buses.items():
            p = pos[bus_id]
            item.setPos(p)
            labels[bus_id].setPos(p.x() + (12 if item.substation else 7), p.y() + (-18 if item.substation else -16))
        for bus_id, ring in self.rings.items():
            ring.setPos(pos[bus_id])
        s = self._scenario
        if s is not None:
            straight, depth = self.is_geographic(), self._depth
            for ln in s.feeder.lines:
                if ln.from_bus in pos and ln.to_bus in pos:
                    a, b = pos[ln.from_bus], pos[ln.to_bus]
                    if straight:  # the end nearer the substation is upstream
                        first = depth.get(ln.from_bus, 0) <= depth.get(ln.to_bus, 0)
                    else:  # a row nearer the top
                        first = a.y() <= b.y()
                    up, down = (a, b) if first else (b, a)
                    self.lines[ln.id].set_ends(up, down, straight)
        if self._unpainted:
            self._mark_selection()
        rect = self._drawing_rect().adjusted(
            -self.MARGIN_PX - self._legend_room(), -self.MARGIN_PX, self.MARGIN_PX, self.MARGIN_PX
        )
        self.setSceneRect(rect)
        self._update_lod()

    def _drawing_rect(self) -> QRectF:
        """The scene rectangle of the feeder: its lines, labels and buses with room around each bus for its
        ring and halo (whether or not one is shown: the fit does not move when a bus is selected)."""
        rect = self.scene().itemsBoundingRect()
        if self.buses:
            xs = [item.x() for item in self.buses.values()]
            ys = [item.y() for item in self.buses.values()]
            rect = rect.united(
                QRectF(QPointF(min(xs), min(ys)), QPointF(max(xs), max(ys))).adjusted(
                    -BUS_PX / 2 - 8, -BUS_PX / 2 - 8, BUS_PX / 2 + 8, BUS_PX / 2 + 8
                )
            )
            for item in self.buses.values():
                if item.substation:
                    r = SUBSTATION_PX / 2 + 8
                    rect = rect.united(QRectF(item.x() - r, item.y() - r, 2 * r, 2 * r))
        return rect

    def set_dark(self, dark: bool) -> None:
        """The dark theme's canvas: dark paper, light labels, lines and legend, a light substation (the bus
        colours stay)."""
        ink = DARK_INK if dark else LIGHT_INK
        if ink is self.ink:
            return
        self.ink = ink
        self.setBackgroundBrush(QBrush(ink.background))
        self.legend.style()
        for item in self.buses.values():
            if item.substation:
                item.set_ink(ink.text, ink.background)
        brush = QBrush(ink.label)
        for label in self.labels.values():
            label.setBrush(brush)
        if self._scenario is not None:
            self._apply_result()
        self.viewport().update()

    def is_dark(self) -> bool:
        return self.ink is DARK_INK

    def fit(self) -> None:
        """Fit the whole feeder in the window (keyboard: F), clear of the legend.

        The margins and the legend's strip are pixels on screen, so they are
        sized in scene units at the scale the fit ends at (a large feeder is
        shown at less than 1:1): a few rounds of fitting settle it.
        """
        self._user_zoomed = False
        self.resetTransform()
        if self._needs_place():
            self._place()
        items = self._drawing_rect()
        k = 1.0
        for _ in range(4):
            left = (self.MARGIN_PX + self._legend_room()) / k
            m = self.MARGIN_PX / k
            self.setSceneRect(items.adjusted(-left, -m, m, m))
            self.resetTransform()
            self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
            k_new = self.transform().m11()
            if abs(k_new - k) <= 1e-3 * k:
                break
            k = k_new
        self._update_lod()

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        # the legend is painted in viewport coordinates: repaint where it was and where it is
        r = self.legend_rect().toAlignedRect().adjusted(-2, -2, 2, 2)
        self.viewport().update(r)
        self.viewport().update(r.translated(dx, dy))

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self.legend.place()
        if not self._user_zoomed:
            self.fit()

    def wheelEvent(self, event):
        factor = 1.2 ** (event.angleDelta().y() / 120.0)
        current = self.transform().m11()
        if 0.2 < current * factor < 40.0:
            self.scale(factor, factor)
            self._user_zoomed = True
            self._update_lod()

    def zoom(self, factor: float) -> None:
        self.scale(factor, factor)
        self._user_zoomed = True
        self._update_lod()

    def keyPressEvent(self, event):
        if event.key() == Qt.Key.Key_F:
            self.fit()
        elif event.key() in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom(1.25)
        elif event.key() == Qt.Key.Key_Minus:
            self.zoom(0.8)
        else:
            super().keyPressEvent(event)

    def mouseDoubleClickEvent(self, event):
        # the background: nothing there but marks (a ring, a halo), which take no clicks
        if all(item.acceptedMouseButtons() == _NO_BUTTON for item in self.items(event.position().toPoint())):
            self.fit()
        else:
            super().mouseDoubleClickEvent(event)

    def _update_lod(self) -> None:
        """Show bus labels only when neighbouring buses are far enough apart on screen."""
        if not self.labels:
            return
        zoom = self.transform().m11()
        px_x = getattr(self, "_sx", 20.0) * zoom
        px_y = getattr(self, "_sy", 20.0) * zoom
        show = px_x >= 22.0 and px_y >= 11.5  # 8-pt labels need ~11 px between rows
        wide = px_x >= VALUE_LABEL_PX
        if wide != self._value_labels:
            self._value_labels = wide
            self._label_values()
        if show != self._labels_shown:
            self._labels_shown = show
            for bus_id, label in self.labels.items():
                label.setVisible(show or self.buses[bus_id].substation)  # the substation and its kV: always
        # bus discs as large as the room between neighbours allows on screen (full size once zoomed in): a
        # 1,000-bus feeder shows its trunk and laterals, not a heap of overlapping discs
        size = round(min(BUS_PX, max(3.0, 0.85 * min(px_x, px_y))))
        if size != getattr(self, "_bus_px", BUS_PX):
            self._bus_px = size
            for item in self.buses.values():
                if not item.substation:
                    item.setRect(-size / 2, -size / 2, size, size)

    # --- selection ---------------------------------------------------------------
    def selected_bus(self) -> str | None:
        for item in self.scene().selectedItems():
            if isinstance(item, BUS_ITEMS):
                return item.bus_id
        return None

    def selected_line(self) -> str | None:
        for item in self.scene().selectedItems():
            if isinstance(item, LineItem):
                return item.line_id
        return None

    def select_bus(self, bus_id: str | None, center: bool = False) -> None:
        """Select a bus from outside (no signal echo)."""
        if bus_id == self.selected_bus():
            return
        self._syncing = True
        self.scene().clearSelection()
        if bus_id in self.buses:
            self.buses[bus_id].setSelected(True)
            if center:
                self.ensureVisible(self.buses[bus_id], 60, 60)
        self._syncing = False

    def _on_selection(self) -> None:
        self._mark_selection()
        if self._syncing:
            return
        self.busSelected.emit(self.selected_bus())
        self.lineSelected.emit(self.selected_line())

    def _mark_selection(self) -> None:
        """Draw the selected buses and lines with overlay items (a halo and a blue ring; a thick blue line)
        while the items themselves paint nothing (no dashed selection rectangle)."""
        scene = self.scene()
        for item in self._unpainted:
            item.setFlag(_NO_CONTENTS, False)
            ring = self.rings.get(getattr(item, "bus_id", None))
            if ring is not None:
                ring.setVisible(True)
        for mark in self._selection_marks:
            scene.removeItem(mark)
        self._unpainted.clear()
        self._selection_marks.clear()
        for item in scene.selectedItems():
            if isinstance(item, LineItem):
                mark = _overlay(QGraphicsPathItem(item.path()), Z_SELECTED_LINE)
                mark.setPen(_SELECTED_LINE_PEN)
            elif isinstance(item, BUS_ITEMS):
                mark = _bus_mark(item)  # with its own ring, over the halo
                ring = self.rings.get(item.bus_id)
                if ring is not None:
                    ring.setVisible(False)
            else:
                continue
            item.setFlag(_NO_CONTENTS, True)
            self._unpainted.append(item)
            self._selection_marks.append(mark)
            scene.addItem(mark)

    @property
    def alerting(self) -> set[str]:
        """The buses outside their voltage limits (ringed in red; the legend says what the ring means)."""
        return self._alerting

    def selection_marks(self) -> list[QGraphicsItem]:
        """The overlay items drawing the selection: one per selected bus or line."""
        return list(self._selection_marks)

    def bus_scene_pos(self, bus_id: str) -> QPointF:
        return self.buses[bus_id].scenePos()

    def _legend_room(self) -> float:
        """Pixels kept free on the left, beyond the margin, for the legend."""
        return self.legend_rect().right() - self.MARGIN_PX + 10.0

    def legend_rect(self) -> QRectF:
        """The legend's box in viewport pixels (:class:`gui.feeder_legend.FeederLegend`)."""
        return self.legend.rect()

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        """The legend in the top-left corner of the viewport: what the colours mean, with units."""
        self.legend.paint(painter)


def _bus_mark(item: BusItem | SubstationItem) -> QGraphicsItem:
    """A selected bus: a pale blue halo, its ring if it has one, the bus again with a thick blue edge."""
    if item.substation:
        r = SUBSTATION_PX / 2 + 6
        halo = QGraphicsRectItem(-r, -r, 2 * r, 2 * r)
        body = QGraphicsRectItem(item.rect(), halo)  # a blue square around the transformer
    else:
        r = BUS_PX / 2 + 6
        halo = QGraphicsEllipseItem(-r, -r, 2 * r, 2 * r)
        if item.alert:
            _ring().setParentItem(halo)
        body = QGraphicsEllipseItem(item.rect(), halo)
        body.setBrush(SHARED.brush(item.colour))
    halo.setPen(_NO_PEN)
    halo.setBrush(_HALO_BRUSH)
    body.setPen(_SELECTED_BUS_PEN)
    _overlay(body)
    halo.setFlags(_FLAGS.ItemIgnoresTransformations)
    halo.setPos(item.pos())
    return _overlay(halo, Z_SELECTED_BUS)


__all__ = ["COLOUR_MODES", "FeederView"]
