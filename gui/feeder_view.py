"""The feeder drawn as a one-line diagram: substation at the top, laterals to the side.

Positions come from :func:`core.scenario.layout.tree_layout` (layout units); the
view stretches them to fill its window, bus glyphs keep their size on screen,
and labels appear once there is room for them (level of detail), so the
1,000-bus feeder stays readable. Drag to pan, wheel to zoom, ``F`` or
double-click the background to fit.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
)

from core.scenario import Scenario
from core.scenario.layout import tree_layout

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
    """Draws a scenario's feeder; emits the bus or line the user picks."""

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
        self.scene().selectionChanged.connect(self._on_selection)

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
        for bus_id, item in self.buses.items():
            kind = bus_kind(s, bus_id)
            item.setBrush(QBrush(KIND_COLOURS[kind]))
            ps = s.prosumers_at(bus_id)
            peak = sum(max(p.demand_kw) for p in ps) if ps else 0.0
            der = sum(p.asset.p_max_kw for p in ps if p.asset is not None)
            name = next((b.name for b in s.feeder.buses if b.id == bus_id), "")
            tip = f"<b>Bus {bus_id}</b>{' — ' + name if name and name != f'Bus {bus_id}' else ''}<br>"
            tip += f"{len(ps)} prosumer(s), peak demand {peak:,.1f} kW, DER capacity {der:,.1f} kW"
            if bus_id == s.feeder.substation.bus:
                tip += f"<br>substation: V set {s.feeder.substation.v_set_pu:g} p.u."
            item.setToolTip(tip)
        for ln in s.feeder.lines:
            rating = ln.rating_kva_at(s.feeder.base_kv)
            self.lines[ln.id].setToolTip(
                f"<b>Line {ln.id}</b> {ln.from_bus} → {ln.to_bus}<br>R {ln.r_ohm:g} Ω, X {ln.x_ohm:g} Ω"
                + (f"<br>rating {rating:,.0f} kVA" if rating else "<br>unrated")
            )
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
        """Fit the whole feeder in the window (keyboard: F)."""
        self._user_zoomed = False
        self.resetTransform()
        self._place()
        self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
        self._update_lod()

    def resizeEvent(self, event):
        super().resizeEvent(event)
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

    def legend_rect(self) -> QRectF:
        return QRectF(10, 10, 170, 20 + 18 * len(KIND_COLOURS))

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        """A legend in the top-left corner of the viewport."""
        painter.save()
        painter.resetTransform()
        box = self.legend_rect()
        painter.setPen(QPen(QColor(200, 200, 200)))
        painter.setBrush(QBrush(QColor(255, 255, 255, 225)))
        painter.drawRoundedRect(box, 6, 6)
        font = painter.font()
        font.setPointSizeF(8.5)
        painter.setFont(font)
        y = box.top() + 16
        painter.setPen(QColor(40, 40, 40))
        painter.drawText(QPointF(box.left() + 10, y), "Buses host:")
        for kind, colour in KIND_COLOURS.items():
            y += 18
            painter.setPen(QPen(QColor(40, 40, 40), 1))
            painter.setBrush(QBrush(colour))
            painter.drawEllipse(QPointF(box.left() + 16, y - 4), 5, 5)
            painter.drawText(QPointF(box.left() + 28, y), KIND_LABELS[kind])
        painter.restore()


__all__ = ["FeederView", "bus_kind"]
