"""The feeder drawn as a one-line diagram: substation at the top, laterals to the side.

Positions come from :func:`core.scenario.layout.tree_layout` (layout units); the
view stretches them to fill its window, bus glyphs keep their size on screen,
and labels appear once there is room for them (level of detail), so the
1,000-bus feeder stays readable. Drag to pan, wheel to zoom, ``F`` or
double-click the background to fit.

Buses are coloured by what they host, or — with a market cleared on a network
model (:meth:`FeederView.set_result`) — by their DLMP or voltage in the chosen
period ("Colour buses by", top left); lines then by their loading. The legend
in the corner is the colour bar with its range and units. A voltage outside
its limits (a red ring) and a line at or over its rating (red, thick) stand out.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QLinearGradient,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
)
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QLabel,
    QVBoxLayout,
)

from core.scenario import Scenario
from core.scenario.layout import tree_layout
from gui.frame_model import fmt_number
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


def bus_kind(scenario: Scenario, bus_id: str) -> str:
    """Which legend class a bus falls in, from the prosumers it hosts."""
    ps = scenario.prosumers_at(bus_id)
    if not ps:
        return "empty"
    if any(p.asset is not None and p.asset.kind in ("battery", "ev") for p in ps):
        return "storage"
    if any(p.asset is not None for p in ps):
        return "generation"
    if any(p.flexible is not None for p in ps):
        return "flexible"
    return "load"


class BusItem(QGraphicsEllipseItem):
    def __init__(self, bus_id: str, substation: bool):
        size = SUBSTATION_PX if substation else BUS_PX
        super().__init__(-size / 2, -size / 2, size, size)
        self.bus_id = bus_id
        self.substation = substation
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(2)
        self.setPen(QPen(QColor(40, 40, 40), 1.2))
        self.alert = False  # voltage outside its limits: a red ring

    def boundingRect(self) -> QRectF:
        return self.rect().adjusted(-8, -8, 8, 8)

    def paint(self, painter, option, widget=None):
        selected = self.isSelected()
        if self.substation:
            if selected:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(QBrush(QColor(0, 120, 215, 70)))
                painter.drawRect(self.rect().adjusted(-6, -6, 6, 6))
            painter.setPen(QPen(SELECT_PEN if selected else QColor(30, 30, 30), 3 if selected else 1.5))
            painter.setBrush(QBrush(QColor(50, 50, 60)))
            painter.drawRect(self.rect())
            return
        if selected:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QBrush(QColor(0, 120, 215, 70)))
            painter.drawEllipse(self.rect().adjusted(-6, -6, 6, 6))
        if self.alert:
            painter.setPen(QPen(LIMIT, 2.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(self.rect().adjusted(-3.5, -3.5, 3.5, 3.5))
        painter.setPen(QPen(SELECT_PEN, 3) if selected else self.pen())
        painter.setBrush(self.brush())
        painter.drawEllipse(self.rect())


class LineItem(QGraphicsPathItem):
    """A feeder line drawn as a one-line-diagram elbow (across from the upstream bus, then down);
    clickable over a band wider than it is drawn."""

    def __init__(self, line_id: str):
        super().__init__()
        self.line_id = line_id
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(1)
        self._pen = QPen(LINE_PEN, 2.0)
        self._pen.setCosmetic(True)
        self.setPen(self._pen)

    def set_style(self, colour: QColor, width: float) -> None:
        self._pen = QPen(colour, width)
        self._pen.setCosmetic(True)
        self.setPen(self._pen)
        self.update()

    def colour(self) -> QColor:
        return QColor(self._pen.color())

    def set_ends(self, upstream: QPointF, downstream: QPointF) -> None:
        path = QPainterPath(upstream)
        if abs(upstream.x() - downstream.x()) > 0.5:
            path.lineTo(QPointF(downstream.x(), upstream.y()))
        path.lineTo(downstream)
        self.setPath(path)

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(8.0)
        return stroker.createStroke(self.path())

    def paint(self, painter, option, widget=None):
        pen = QPen(SELECT_PEN, 4.5) if self.isSelected() else self._pen
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path())


class FeederView(QGraphicsView):
    """Draws a scenario's feeder and, given one, a cleared market on it; emits the bus or line the user picks."""

    busSelected = Signal(object)  # bus id or None
    lineSelected = Signal(object)  # line id or None

    MARGIN_PX = 40.0

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setBackgroundBrush(QBrush(QColor(252, 252, 250)))
        self.setMinimumSize(320, 240)
        self.setToolTip("")
        self.buses: dict[str, BusItem] = {}
        self.lines: dict[str, LineItem] = {}
        self.labels: dict[str, QGraphicsSimpleTextItem] = {}
        self._layout: dict[str, tuple[float, float]] = {}
        self._scenario: Scenario | None = None
        self._user_zoomed = False
        self._syncing = False
        self._kinds: dict[str, str] = {}
        self._tips: dict[str, str] = {}  # what a bus or line is, before any market numbers
        self.result = None
        self.period = 0
        self.bus_scale: ColourScale | None = None  # the scale the buses are painted with (None: what they host)
        self.line_scale: ColourScale | None = None
        self.scene().selectionChanged.connect(self._on_selection)

        # "Colour buses by" sits above the legend, in the top-left corner (a child of the view, not of its
        # viewport: it must not scroll with the scene)
        self.colour_box = QFrame(self)
        self.colour_box.setObjectName("colourBox")
        self.colour_box.setStyleSheet("#colourBox { background: rgba(255, 255, 255, 235); border: 1px solid #c8c8c8;"
                                      " border-radius: 6px; }")
        box = QVBoxLayout(self.colour_box)
        box.setContentsMargins(8, 5, 8, 6)
        box.setSpacing(2)
        caption = QLabel("Colour buses by:", self.colour_box)
        caption.setStyleSheet("color: #282828; background: transparent; border: none;")
        self.colour_by = QComboBox(self.colour_box)
        for key, label in COLOUR_MODES:
            self.colour_by.addItem(label, key)
        self.colour_by.setToolTip("What the bus colours show: the prosumers a bus hosts, or — with a market "
                                  "cleared on a network model — its DLMP or its voltage in the chosen period")
        box.addWidget(caption)
        box.addWidget(self.colour_by)
        self.colour_box.setFixedWidth(int(LEGEND_W))
        self.colour_box.adjustSize()
        self._place_colour_box()
        self.colour_by.currentIndexChanged.connect(lambda _i: self._apply_result())

    # --- building -------------------------------------------------------------
    def set_scenario(self, scenario: Scenario) -> None:
        """Draw ``scenario`` (rebuilds the items only when the topology changed)."""
        old = self._scenario
        self._scenario = scenario
        topology = lambda s: (s.feeder.substation.bus, tuple(b.id for b in s.feeder.buses),  # noqa: E731
                              tuple((ln.id, ln.from_bus, ln.to_bus) for ln in s.feeder.lines))
        if old is None or topology(old) != topology(scenario):
            self._rebuild(scenario)
        self._refresh_styles(scenario)

    def _rebuild(self, s: Scenario) -> None:
        selected_bus = self.selected_bus()
        self._syncing = True
        self.scene().clear()
        self.buses.clear()
        self.lines.clear()
        self.labels.clear()
        self._layout = tree_layout(s.feeder)
        font = QFont()
        font.setPointSizeF(8.0)
        for ln in s.feeder.lines:
            item = LineItem(ln.id)
            self.scene().addItem(item)
            self.lines[ln.id] = item
        for b in s.feeder.buses:
            item = BusItem(b.id, substation=b.id == s.feeder.substation.bus)
            self.scene().addItem(item)
            self.buses[b.id] = item
            label = QGraphicsSimpleTextItem(b.id)
            label.setFont(font)
            label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            label.setBrush(QBrush(QColor(60, 60, 60)))
            label.setZValue(3)
            self.scene().addItem(label)
            self.labels[b.id] = label
        self._syncing = False
        self._place()
        self._user_zoomed = False
        self.fit()
        if selected_bus in self.buses:
            self.select_bus(selected_bus)

    def _refresh_styles(self, s: Scenario) -> None:
        self._kinds.clear()
        self._tips.clear()
        for bus_id, item in self.buses.items():
            kind = bus_kind(s, bus_id)
            self._kinds[bus_id] = kind
            item.setBrush(QBrush(KIND_COLOURS[kind]))
            ps = s.prosumers_at(bus_id)
            peak = sum(max(p.demand_kw) for p in ps) if ps else 0.0
            der = sum(p.asset.p_max_kw for p in ps if p.asset is not None)
            name = next((b.name for b in s.feeder.buses if b.id == bus_id), "")
            tip = f"<b>Bus {bus_id}</b>{' — ' + name if name and name != f'Bus {bus_id}' else ''}<br>"
            tip += f"{len(ps)} prosumer(s), peak demand {peak:,.1f} kW, DER capacity {der:,.1f} kW"
            if bus_id == s.feeder.substation.bus:
                tip += f"<br>substation: V set {s.feeder.substation.v_set_pu:g} p.u."
            self._tips[bus_id] = tip
            item.setToolTip(tip)
        for ln in s.feeder.lines:
            rating = ln.rating_kva_at(s.feeder.base_kv)
            tip = (f"<b>Line {ln.id}</b> {ln.from_bus} → {ln.to_bus}<br>R {ln.r_ohm:g} Ω, X {ln.x_ohm:g} Ω"
                   + (f"<br>rating {rating:,.0f} kVA" if rating else "<br>unrated"))
            self._tips[f"line:{ln.id}"] = tip
            self.lines[ln.id].setToolTip(tip)
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

    def bus_colour(self, bus_id: str) -> QColor:
        return QColor(self.buses[bus_id].brush().color())

    def line_colour(self, line_id: str) -> QColor:
        return self.lines[line_id].colour()

    def _apply_result(self) -> None:
        """Bus fills, line pens and tooltips for the colour mode, the result and the period."""
        s = self._scenario
        if s is None:
            return
        result, t, mode = self.result, self.period, self.colour_mode()
        network = has_network(result)
        buses = bus_rows(result, t) if network else None
        lines = line_rows(result, t) if network else None
        self.bus_scale = None
        if network and len(buses) and mode == "dlmp":
            self.bus_scale = dlmp_scale(buses, result.currency)
            column = "dlmp_per_kwh"
        elif has_voltages(result) and len(buses) and mode == "voltage":
            self.bus_scale = voltage_scale(buses, s.feeder.v_min_pu, s.feeder.v_max_pu)
            column = "v_pu"
        values = dict(zip(buses.bus, buses[column], strict=True)) if self.bus_scale is not None else {}
        volts = dict(zip(buses.bus, buses.v_pu, strict=True)) if has_voltages(result) else {}
        d = price_decimals(buses.dlmp_per_kwh) if network and len(buses) else 4
        unit = f"{escape(result.currency)}/kWh" if result is not None else ""
        for bus_id, item in self.buses.items():
            kind = self._kinds.get(bus_id, "empty")
            colour = KIND_COLOURS[kind]
            if bus_id in values:
                colour = self.bus_scale.colour(float(values[bus_id]))
            elif self.bus_scale is not None:
                colour = KIND_COLOURS["empty"]  # not in the last cleared market (added since)
            item.setBrush(QBrush(colour))
            alert = False
            tip = self._tips.get(bus_id, "")
            if network and bus_id in buses.index:
                r = buses.loc[bus_id]
                v_min, v_max = bus_limits(s, bus_id)
                alert = bus_id in volts and voltage_outside(float(volts[bus_id]), v_min, v_max)
                tip += (f"<br><b>DLMP {fmt_number(r.dlmp_per_kwh, d)} {unit}</b> (energy "
                        f"{fmt_number(r.energy_per_kwh, d)}, loss {fmt_number(r.loss_per_kwh, d)}, congestion "
                        f"{fmt_number(r.congestion_per_kwh, d)}, voltage {fmt_number(r.voltage_per_kwh, d)})")
                if bus_id in volts:
                    tip += f"<br>V {fmt_number(r.v_pu, 4)} p.u." + (
                        f" <span style='color:{LIMIT.name()}'><b>⚠ outside {v_min:g}–{v_max:g}</b></span>"
                        if alert else "")
            if alert != item.alert:
                item.alert = alert
                item.update()
            item.setToolTip(tip)
        self.line_scale = LOADING_SCALE if network and lines is not None and len(lines) else None
        for line_id, item in self.lines.items():
            tip = self._tips.get(f"line:{line_id}", "")
            load = float(lines.loading_pct[line_id]) if self.line_scale is not None and line_id in lines.index \
                else float("nan")
            if load == load:  # rated, and in the result
                width = 4.5 if load >= LOADING_AT_LIMIT_PCT else 2.6
                colour = QColor(255, 0, 0) if load > LOADING_OVER_PCT else LOADING_SCALE.colour(load)
                item.set_style(colour, width)
                r = lines.loc[line_id]
                state = (" <b style='color:#c00000'>⚠ overloaded</b>" if load > LOADING_OVER_PCT else
                         " <b style='color:#c00000'>at its rating</b>" if load >= LOADING_AT_LIMIT_PCT else "")
                tip += (f"<br><b>loading {fmt_number(load, 1)} %</b>{state}<br>P {fmt_number(r.p_kw, 1)} kW, "
                        f"Q {fmt_number(r.q_kvar, 1)} kvar, losses {fmt_number(r.loss_kw, 2)} kW")
            else:
                item.set_style(LINE_PEN, 2.0)
            item.setToolTip(tip)
        self.viewport().update()

    # --- geometry ----------------------------------------------------------------
    def _scales(self) -> tuple[float, float]:
        """Pixels per layout unit in x and y so the tree fills the viewport."""
        xs = [p[0] for p in self._layout.values()] or [0.0]
        ys = [p[1] for p in self._layout.values()] or [0.0]
        # the legend sits in the top-left corner: keep the drawing to its right
        w = max(self.viewport().width() - 2 * self.MARGIN_PX - self._legend_room(), 100.0)
        h = max(self.viewport().height() - 2 * self.MARGIN_PX, 100.0)
        span_x = max(max(xs) - min(xs), 1.0)
        span_y = max(max(ys) - min(ys), 1.0)
        sx = w / span_x
        sy = h / span_y
        # keep the drawing from getting absurdly stretched on one axis
        sx = min(sx, 6.0 * sy, 160.0)
        sy = min(sy, 6.0 * sx, 120.0)
        return max(sx, 4.0), max(sy, 4.0)

    def _place(self) -> None:
        if not self._layout:
            return
        sx, sy = self._scales()
        self._sx, self._sy = sx, sy
        pos = {b: QPointF(x * sx, y * sy) for b, (x, y) in self._layout.items()}
        for bus_id, item in self.buses.items():
            item.setPos(pos[bus_id])
            offset = QPointF(12, -18) if self.buses[bus_id].substation else QPointF(7, -16)
            self.labels[bus_id].setPos(pos[bus_id] + offset)
        s = self._scenario
        if s is not None:
            for ln in s.feeder.lines:
                if ln.from_bus in pos and ln.to_bus in pos:
                    a, b = pos[ln.from_bus], pos[ln.to_bus]
                    up, down = (a, b) if a.y() <= b.y() else (b, a)
                    self.lines[ln.id].set_ends(up, down)
        rect = self.scene().itemsBoundingRect().adjusted(-self.MARGIN_PX - self._legend_room(), -self.MARGIN_PX,
                                                         self.MARGIN_PX, self.MARGIN_PX)
        self.setSceneRect(rect)
        self._update_lod()

    def fit(self) -> None:
        """Fit the whole feeder in the window (keyboard: F), clear of the legend.

        The margins and the legend's strip are pixels on screen, so they are
        sized in scene units at the scale the fit ends at (a large feeder is
        shown at less than 1:1): a few rounds of fitting settle it.
        """
        self._user_zoomed = False
        self.resetTransform()
        self._place()
        items = self.scene().itemsBoundingRect()
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

    def _place_colour_box(self) -> None:
        self.colour_box.move(self.viewport().geometry().topLeft() + QPoint(10, 10))
        self.colour_box.raise_()

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        # the legend is painted in viewport coordinates: repaint where it was and where it is
        r = self.legend_rect().toAlignedRect().adjusted(-2, -2, 2, 2)
        self.viewport().update(r)
        self.viewport().update(r.translated(dx, dy))

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._place_colour_box()
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
        if self.itemAt(event.position().toPoint()) is None:
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
        show = px_x >= 22.0 and px_y >= 14.0
        for label in self.labels.values():
            label.setVisible(show)

    # --- selection ---------------------------------------------------------------
    def selected_bus(self) -> str | None:
        for item in self.scene().selectedItems():
            if isinstance(item, BusItem):
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
        if self._syncing:
            return
        self.busSelected.emit(self.selected_bus())
        self.lineSelected.emit(self.selected_line())

    def bus_scene_pos(self, bus_id: str) -> QPointF:
        return self.buses[bus_id].scenePos()

    def _legend_room(self) -> float:
        """Pixels kept free on the left, beyond the margin, for the legend."""
        return self.legend_rect().right() - self.MARGIN_PX + 10.0

    # --- the legend (colour bars) -----------------------------------------------------------
    ROW = 17.0
    BAR = 11.0

    def _legend_sections(self) -> list[tuple[str, object]]:
        """What the legend shows, top to bottom: ('host'|'scale'|'note'|'alert', data)."""
        sections: list[tuple[str, object]] = []
        mode = self.colour_mode()
        if self.bus_scale is not None:
            sections.append(("scale", self.bus_scale))
            if mode == "voltage" or any(item.alert for item in self.buses.values()):
                sections.append(("alert", "voltage outside limits"))
        else:
            if mode != "host" and has_network(self.result):  # a DC result: no voltages
                sections.append(("note", "No voltages in the DC model:"))
                sections.append(("note", "choose LinDistFlow or AC."))
            elif mode != "host":
                sections.append(("note", f"No {'DLMPs' if mode == 'dlmp' else 'voltages'}: choose a network"))
                sections.append(("note", "model in the Market dock."))
            elif any(item.alert for item in self.buses.values()):
                sections.append(("alert", "voltage outside limits"))
            sections.append(("host", None))
        if self.line_scale is not None:
            sections.append(("scale", self.line_scale))
            sections.append(("line_alert", "at or over the rating"))
        return sections

    def _section_height(self, kind: str, data) -> float:
        if kind == "host":
            return self.ROW * (1 + len(KIND_COLOURS)) + 4
        if kind == "scale":
            return self.ROW + self.BAR + 6 + self.ROW + (self.ROW if data.marks else 0) + 6
        return self.ROW

    def legend_rect(self) -> QRectF:
        top = (self.colour_box.geometry().bottom() - self.viewport().y() + 6.0) if hasattr(self, "colour_box") \
            else 10.0
        h = 12 + sum(self._section_height(k, d) for k, d in self._legend_sections())
        return QRectF(10, top, LEGEND_W, h)

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        """The legend in the top-left corner of the viewport: what the colours mean, with units."""
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        box = self.legend_rect()
        painter.setPen(QPen(QColor(200, 200, 200)))
        painter.setBrush(QBrush(QColor(255, 255, 255, 235)))
        painter.drawRoundedRect(box, 6, 6)
        font = painter.font()
        font.setPointSizeF(8.5)
        painter.setFont(font)
        fm = QFontMetricsF(font)
        left = box.left() + 10
        y = box.top() + 6
        text = QColor(40, 40, 40)
        for kind, data in self._legend_sections():
            if kind == "host":
                y += self.ROW
                painter.setPen(text)
                painter.drawText(QPointF(left, y - 4), "Buses host:")
                for k, colour in KIND_COLOURS.items():
                    y += self.ROW
                    painter.setPen(QPen(QColor(40, 40, 40), 1))
                    painter.setBrush(QBrush(colour))
                    painter.drawEllipse(QPointF(left + 6, y - 8), 5, 5)
                    painter.drawText(QPointF(left + 18, y - 4), KIND_LABELS[k])
                y += 4
            elif kind == "scale":
                y = self._draw_scale(painter, fm, data, left, y, LEGEND_W - 20)
            elif kind == "note":
                y += self.ROW
                painter.setPen(QColor(90, 90, 90))
                painter.drawText(QPointF(left, y - 4), data)
            elif kind in ("alert", "line_alert"):
                y += self.ROW
                if kind == "alert":
                    painter.setPen(QPen(LIMIT, 2.5))
                    painter.setBrush(QBrush(QColor(235, 235, 235)))
                    painter.drawEllipse(QPointF(left + 6, y - 8), 5.5, 5.5)
                else:
                    painter.setPen(QPen(LIMIT, 4.5))
                    painter.drawLine(QPointF(left, y - 8), QPointF(left + 14, y - 8))
                painter.setPen(text)
                painter.drawText(QPointF(left + 18, y - 4), data)
        painter.restore()

    def _draw_scale(self, painter: QPainter, fm: QFontMetricsF, scale: ColourScale, left: float, y: float,
                    width: float) -> float:
        """A colour bar: title with unit, the gradient, its two ends labelled, marked values ticked."""
        y += self.ROW
        painter.setPen(QColor(40, 40, 40))
        painter.drawText(QPointF(left, y - 4), f"{scale.title} ({scale.unit})")
        bar = QRectF(left, y, width, self.BAR)
        grad = QLinearGradient(bar.topLeft(), bar.topRight())
        if scale.hi > scale.lo:
            for pos, colour in scale.stops():
                grad.setColorAt(pos, colour)
        else:
            grad.setColorAt(0.0, scale.colour(scale.lo))
            grad.setColorAt(1.0, scale.colour(scale.lo))
        painter.setPen(QPen(QColor(120, 120, 120), 0.8))
        painter.setBrush(QBrush(grad))
        painter.drawRect(bar)
        for value, _name in scale.marks:
            x = bar.left() + scale.fraction(value) * bar.width()
            painter.setPen(QPen(LIMIT, 2.2))
            painter.drawLine(QPointF(x, bar.top() - 3), QPointF(x, bar.bottom() + 3))
        y = bar.bottom() + 6 + self.ROW
        painter.setPen(QColor(40, 40, 40))
        lo, hi = scale.label(scale.lo), scale.label(scale.hi)
        if scale.hi > scale.lo:
            painter.drawText(QPointF(left, y - 5), lo)
            painter.drawText(QPointF(left + width - fm.horizontalAdvance(hi), y - 5), hi)
            if scale.lo < 0 < scale.hi or (scale is LOADING_SCALE):
                mid_v = 0.0 if scale.lo < 0 < scale.hi else 0.5 * (scale.lo + scale.hi)
                mid = scale.label(mid_v)
                x = left + scale.fraction(mid_v) * width - fm.horizontalAdvance(mid) / 2
                if x > left + fm.horizontalAdvance(lo) + 6 and x + fm.horizontalAdvance(mid) < left + width - \
                        fm.horizontalAdvance(hi) - 6:
                    painter.drawText(QPointF(x, y - 5), mid)
        else:
            painter.drawText(QPointF(left, y - 5), f"all {lo}")
        if scale.marks:
            y += self.ROW
            painter.setPen(QPen(LIMIT, 2.2))
            painter.drawLine(QPointF(left + 2, y - 13), QPointF(left + 2, y - 3))
            painter.setPen(QColor(40, 40, 40))
            names = ", ".join(f"{name} {scale.label(v)}" for v, name in scale.marks)
            painter.drawText(QPointF(left + 10, y - 4), f"limit: {names}")
        return y + 6


__all__ = ["COLOUR_MODES", "FeederView", "bus_kind"]
