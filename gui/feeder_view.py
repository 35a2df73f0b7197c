"""The feeder drawn as a one-line diagram (substation at the top, laterals to the side) or on the map.

(:class:`FeederView` is over 400 lines on purpose: layout, selection, colouring and the period's result all
recolour the same items and must agree on which changed; its drawing kit is in :mod:`gui.feeder_items`, its
legend in :mod:`gui.feeder_legend`. The buses, lines, labels and rings are made, placed and coloured by
:class:`gui.feeder_items.FeederItems` and the legend painted by :class:`gui.feeder_legend.LegendPainter` — the code
that draws the report's feeder figure, :mod:`gui.figures.feeder`; the view adds the tooltips, the selection and
the "Colour buses by" box.)

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

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter
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
from gui.feeder_items import (
    _FLAGS,
    _HALO_BRUSH,
    _NO_BUTTON,
    _NO_CONTENTS,
    _NO_PEN,
    _SELECTED_BUS_PEN,
    _SELECTED_LINE_PEN,
    BUS_ITEMS,
    BUS_PX,
    COLOUR_MODES,
    DARK_INK,
    LABEL_PT,
    LIGHT_INK,
    REPLACE_SCALE_TOL,
    SHARED,
    SUBSTATION_PX,
    Z_SELECTED_BUS,
    Z_SELECTED_LINE,
    BusItem,
    FeederItems,
    LineItem,
    ResultView,
    SubstationItem,
    _overlay,
    _ring,
    all_bus_limits,
    bus_positions,
    fit_scales,
    level_of_detail,
)
from gui.feeder_legend import GEOGRAPHIC_OFF_TIP, GEOGRAPHIC_TIP, FeederLegend
from gui.network_panels import ColourScale


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
        # the buses, lines, labels and rings: made, placed and coloured by the code that draws the report's figure
        self.drawing = FeederItems(scene, screen=True, ink=self.ink)
        self.buses: dict[str, BusItem | SubstationItem] = self.drawing.buses
        self.lines: dict[str, LineItem] = self.drawing.lines
        self.labels: dict[str, QGraphicsSimpleTextItem] = self.drawing.labels
        self.rings: dict[str, QGraphicsEllipseItem] = self.drawing.rings  # the red rings of the buses outside limits
        self._alerting: set[str] = self.drawing.alerting  # buses outside their voltage limits (the substation too)
        self._selection_marks: list[QGraphicsItem] = []  # the halo of the selected bus, the selected line
        self._unpainted: list[QGraphicsItem] = []  # selected items, drawn by their marks meanwhile
        self._layout: dict[str, tuple[float, float]] = {}  # the one drawn: the tree's or the map's
        self._tree: dict[str, tuple[float, float]] = {}
        self._geo: dict[str, tuple[float, float]] | None = None  # None: some bus has no coordinates
        self._geo_wanted = True  # the user's choice, kept for the next feeder with coordinates
        self._depth: dict[str, int] = {}  # lines from the substation: which end of a straight line is upstream
        self._scenario: Scenario | None = None
        self._user_zoomed = False
        self._syncing = False
        self._tips: dict[str, str] = {}  # what a bus or line is, before any market numbers
        self._limits: dict[str, tuple[float, float]] = {}
        self._limits_of = None  # the feeder ``_limits`` and the line tips were read from
        self._shown: ResultView | None = None
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
        self.drawing.set_label_font(font)
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
        self._tree = tree_layout(s.feeder)
        self._read_coordinates(s)
        self.drawing.build(s)
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
        by_bus = self.drawing.name(s)  # what each bus hosts, the substation's kV
        names = {b.id: b.name for b in s.feeder.buses}
        substation = s.feeder.substation.bus
        for bus_id in self.buses:
            ps = by_bus.get(bus_id, ())
            peak = sum(max(p.demand_kw) for p in ps) if ps else 0.0
            der = sum(p.asset.p_max_kw for p in ps if p.asset is not None)
            name = names.get(bus_id, "")
            tip = f"<b>Bus {bus_id}</b>{' — ' + name if name and name != f'Bus {bus_id}' else ''}<br>"
            tip += f"{len(ps)} prosumer(s), peak demand {peak:,.1f} kW, DER capacity {der:,.1f} kW"
            if bus_id == substation:
                tip += f"<br>substation: V set {s.feeder.substation.v_set_pu:g} p.u., {s.feeder.base_kv:g} kV"
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
            view = self._shown = ResultView(self.result, self.period, s, self._limits)
        # the colours, rings, widths and arrows: the code that draws the report's figure
        self.bus_scale = self.drawing.colour(view, self.colour_mode(), self.legend.span())
        self._label_values()
        tips, bus_tips = self._tips, view.bus_tips
        for bus_id, item in self.buses.items():
            tip = tips.get(bus_id, "") + bus_tips.get(bus_id, "")
            if tip != item.tip:
                item.tip = tip
                item.setToolTip(tip)
        self.line_scale = view.line_scale
        line_tips = view.line_tips
        for line_id, item in self.lines.items():
            tip = tips.get(f"line:{line_id}", "") + line_tips.get(line_id, "")
            if tip != item.tip:
                item.tip = tip
                item.setToolTip(tip)
        if self._unpainted:
            self._mark_selection()  # the selected bus in its new colour, with or without its ring
        self.viewport().update()  # the legend

    # --- geometry ----------------------------------------------------------------
    def _scales(self) -> tuple[float, float]:
        """Pixels per layout unit in x and y so the tree (or the map) fills the viewport."""
        # the legend sits in the top-left corner: keep the drawing to its right
        w = max(self.viewport().width() - 2 * self.MARGIN_PX - self._legend_room(), 100.0)
        h = max(self.viewport().height() - 2 * self.MARGIN_PX, 100.0)
        # a large feeder fills the view as it is (its buses drawn smaller: _update_lod)
        return fit_scales(self._layout, w, h, self.is_geographic())

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
        pos = bus_positions(self._layout, sx, sy)
        self.drawing.place(pos, self._scenario, self.is_geographic(), self._depth)
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
        self.drawing.set_ink(ink)
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
        # the report's figure asks the same question of its own spacing
        show, wide, size = level_of_detail(px_x, px_y)
        if wide != self._value_labels:
            self._value_labels = wide
            self._label_values()
        self.drawing.show_labels(show)  # the substation and its kV: always
        self.drawing.set_bus_size(size)  # full size once zoomed in

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
