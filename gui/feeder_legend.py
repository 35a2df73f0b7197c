"""The feeder's legend, top left of :class:`gui.feeder_view.FeederView`: "Colour buses by", "Geographic layout"
and the colour bars; the same bars as a graphics item for the report's figure (:class:`LegendItem`).

What the bus and line colours mean, with units and ranges (the scales of :mod:`gui.network_panels`), the
limits marked on the bars, and the red of a voltage outside its limits or a line at its rating. Painted in
viewport pixels over the scene (``drawForeground``), so it neither scrolls nor zooms with the feeder.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QLinearGradient, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QFrame,
    QGraphicsItem,
    QGraphicsWidget,
    QLabel,
    QVBoxLayout,
)

from gui.feeder_items import COLOUR_MODES, FLOW_WIDTHS, KIND_COLOURS, KIND_LABELS, LEGEND_W, REVERSE_ARROW
from gui.network_panels import LIMIT, LOADING_SCALE, ColourScale, has_network

GEOGRAPHIC_TIP = (
    "Draw the buses where they are on the map (north up), from the coordinates the network came with; "
    "off: the one-line diagram, substation at the top and laterals to the side"
)
GEOGRAPHIC_OFF_TIP = (
    "Draw the buses where they are on the map: needs geographic coordinates (x, y) for every bus, as a "
    "pandapower network with bus geodata brings them; this feeder is drawn as a one-line diagram"
)


def legend_sections(
    mode: str,
    bus_scale: ColourScale | None,
    line_scale: ColourScale | None,
    result,
    alerting: bool,
    flows: bool = False,
    reverse: bool = False,
) -> list[tuple[str, object]]:
    """What the feeder's legend shows, top to bottom, as ('host'|'scale'|'note'|'alert'|'line_alert'|'flow'|
    'reverse', data): the bus colour bar (or what the buses host), the buses outside their voltage limits, the
    line loading bar and, with ``flows``, what a line's width says and (``reverse``) the arrow of a flow back to
    the substation."""
    sections: list[tuple[str, object]] = []
    if bus_scale is not None:
        sections.append(("scale", bus_scale))
        if mode == "voltage" or alerting:
            sections.append(("alert", "voltage outside limits"))
    else:
        if mode != "host" and has_network(result):  # a DC result: no voltages
            sections.append(("note", "No voltages in the DC model:"))
            sections.append(("note", "choose LinDistFlow or AC."))
        elif mode != "host":
            sections.append(("note", f"No {'DLMPs' if mode == 'dlmp' else 'voltages'}: choose a network"))
            sections.append(("note", "model in the Market dock."))
        elif alerting:
            sections.append(("alert", "voltage outside limits"))
        sections.append(("host", None))
    if line_scale is not None:
        sections.append(("scale", line_scale))
        sections.append(("line_alert", "at or over the rating"))
        if flows:
            sections.append(("flow", "wider: more power carried"))
            if reverse:
                sections.append(("reverse", "power flows back upstream"))
    return sections


class LegendPainter:
    """Paints the feeder's legend — what the bus and line colours mean, with units and ranges — into a box: in
    the corner of the :class:`~gui.feeder_view.FeederView` (:class:`FeederLegend`) and in the report's feeder
    figure (:class:`LegendItem`), by this one code. ``scale``: its rows and bars × ``scale``; ``font``: its text
    (default: the painter's font at ``BASE_PT`` × ``scale`` points)."""

    BASE_ROW, BASE_BAR, BASE_PT = 17.0, 11.0, 8.5

    def __init__(self, ink, scale: float = 1.0, font: QFont | None = None):
        self.ink, self.scale, self.font = ink, scale, font
        self._width: float | None = None  # wider than LEGEND_W × scale: fitted to its text (fit_width)

    @property
    def row(self) -> float:
        return self.BASE_ROW * self.scale

    @property
    def bar(self) -> float:
        return self.BASE_BAR * self.scale

    @property
    def width(self) -> float:
        return LEGEND_W * self.scale if self._width is None else self._width

    def text_font(self) -> QFont:
        if self.font is not None:
            return QFont(self.font)
        font = QApplication.font()
        font.setPointSizeF(self.BASE_PT * self.scale)
        return font

    def fit_width(self, sections: list[tuple[str, object]]) -> float:
        """Widen the box (never narrower than the screen's) so that every line of ``sections`` fits in it."""
        fm = QFontMetricsF(self.text_font())
        need = 0.0
        for kind, data in sections:
            if kind == "host":
                need = max(need, 18 + max(fm.horizontalAdvance(t) for t in KIND_LABELS.values()))
            elif kind == "scale":
                need = max(need, fm.horizontalAdvance(f"{data.title} ({data.unit})"))
                if data.marks:
                    names = ", ".join(f"{name} {data.label(v)}" for v, name in data.marks)
                    need = max(need, 10 + fm.horizontalAdvance(f"limit: {names}"))
            elif kind == "note":
                need = max(need, fm.horizontalAdvance(data))
            else:
                need = max(need, 18 + fm.horizontalAdvance(data))
        self._width = max(LEGEND_W * self.scale, need + 24)
        return self._width

    def section_height(self, kind: str, data) -> float:
        if kind == "host":
            return self.row * (1 + len(KIND_COLOURS)) + 4
        if kind == "scale":
            return self.row + self.bar + 6 + self.row + (self.row if data.marks else 0) + 6
        return self.row

    def height(self, sections: list[tuple[str, object]]) -> float:
        return 12 + sum(self.section_height(k, d) for k, d in sections)

    def paint(self, painter: QPainter, box: QRectF, sections: list[tuple[str, object]]) -> None:
        """The legend in ``box`` (painter coordinates): a rounded box, then each section."""
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        ink = self.ink
        painter.setPen(QPen(ink.box_edge))
        painter.setBrush(QBrush(ink.box))
        painter.drawRoundedRect(box, 6, 6)
        if self.font is not None:
            font = QFont(self.font)
        else:  # (the painter's own font: the viewport's, on screen)
            font = painter.font()
            font.setPointSizeF(self.BASE_PT * self.scale)
        painter.setFont(font)
        fm = QFontMetricsF(font)
        left = box.left() + 10
        y = box.top() + 6
        text = ink.text
        for kind, data in sections:
            if kind == "host":
                y += self.row
                painter.setPen(text)
                painter.drawText(QPointF(left, y - 4), "Buses host:")
                for k, colour in KIND_COLOURS.items():
                    y += self.row
                    painter.setPen(QPen(QColor(40, 40, 40), 1))
                    painter.setBrush(QBrush(colour))
                    painter.drawEllipse(QPointF(left + 6, y - 8), 5, 5)
                    painter.setPen(text)
                    painter.drawText(QPointF(left + 18, y - 4), KIND_LABELS[k])
                y += 4
            elif kind == "scale":
                y = self._draw_scale(painter, fm, data, left, y, self.width - 20)
            elif kind == "note":
                y += self.row
                painter.setPen(ink.note)
                painter.drawText(QPointF(left, y - 4), data)
            elif kind in ("alert", "line_alert", "flow", "reverse"):
                y += self.row
                if kind == "alert":
                    painter.setPen(QPen(LIMIT, 2.5))
                    painter.setBrush(QBrush(QColor(235, 235, 235)))
                    painter.drawEllipse(QPointF(left + 6, y - 8), 5.5, 5.5)
                elif kind == "line_alert":
                    painter.setPen(QPen(LIMIT, 4.5))
                    painter.drawLine(QPointF(left, y - 8), QPointF(left + 14, y - 8))
                elif kind == "flow":  # a thin line and a thick one: the widths of the least and the most power
                    lo, hi = FLOW_WIDTHS
                    painter.setPen(QPen(ink.line, lo))
                    painter.drawLine(QPointF(left, y - 11), QPointF(left + 14, y - 11))
                    painter.setPen(QPen(ink.line, hi))
                    painter.drawLine(QPointF(left, y - 5), QPointF(left + 14, y - 5))
                else:  # the arrowhead of a line whose power flows back (LineItem's)
                    painter.setPen(QPen(Qt.PenStyle.NoPen))
                    painter.setBrush(QBrush(REVERSE_ARROW))
                    x0, y0 = left + 7, y - 8
                    painter.drawPolygon(
                        QPolygonF([QPointF(x0, y0 - 5), QPointF(x0 + 4.5, y0 + 3.5), QPointF(x0 - 4.5, y0 + 3.5)])
                    )
                painter.setPen(text)
                painter.drawText(QPointF(left + 18, y - 4), data)
        painter.restore()

    def _draw_scale(
        self, painter: QPainter, fm: QFontMetricsF, scale: ColourScale, left: float, y: float, width: float
    ) -> float:
        """A colour bar: title with unit, the gradient, its two ends labelled, marked values ticked."""
        y += self.row
        painter.setPen(self.ink.text)
        painter.drawText(QPointF(left, y - 4), f"{scale.title} ({scale.unit})")
        bar = QRectF(left, y, width, self.bar)
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
        y = bar.bottom() + 6 + self.row
        painter.setPen(self.ink.text)
        lo, hi = scale.label(scale.lo), scale.label(scale.hi)
        if scale.hi > scale.lo:
            painter.drawText(QPointF(left, y - 5), lo)
            painter.drawText(QPointF(left + width - fm.horizontalAdvance(hi), y - 5), hi)
            if scale.lo < 0 < scale.hi or (scale is LOADING_SCALE):
                mid_v = 0.0 if scale.lo < 0 < scale.hi else 0.5 * (scale.lo + scale.hi)
                mid = scale.label(mid_v)
                x = left + scale.fraction(mid_v) * width - fm.horizontalAdvance(mid) / 2
                if (
                    x > left + fm.horizontalAdvance(lo) + 6
                    and x + fm.horizontalAdvance(mid) < left + width - fm.horizontalAdvance(hi) - 6
                ):
                    painter.drawText(QPointF(x, y - 5), mid)
        else:
            painter.drawText(QPointF(left, y - 5), f"all {lo}")
        if scale.marks:
            y += self.row
            painter.setPen(QPen(LIMIT, 2.2))
            painter.drawLine(QPointF(left + 2, y - 13), QPointF(left + 2, y - 3))
            painter.setPen(self.ink.text)
            names = ", ".join(f"{name} {scale.label(v)}" for v, name in scale.marks)
            painter.drawText(QPointF(left + 10, y - 4), f"limit: {names}")
        return y + 6


class FeederLegend:
    """The legend of ``view`` (a :class:`~gui.feeder_view.FeederView`): the "Colour buses by" box with the
    "Geographic layout" switch, a child of the view (not of its viewport: it must not scroll with the scene), and
    the colour bars painted below it."""

    def __init__(self, view):
        self.view = view
        self._start_pt = QApplication.font().pointSizeF()
        self.box = QFrame(view)
        self.box.setObjectName("colourBox")
        self.style()
        lay = QVBoxLayout(self.box)
        lay.setContentsMargins(8, 5, 8, 6)
        lay.setSpacing(2)
        caption = QLabel("Colour buses by:", self.box)
        caption.setStyleSheet("background: transparent; border: none;")  # the palette's text colour
        self.colour_by = QComboBox(self.box)
        for key, label in COLOUR_MODES:
            self.colour_by.addItem(label, key)
        self.colour_by.setToolTip(
            "What the bus colours show: the prosumers a bus hosts, or — with a market "
            "cleared on a network model — its DLMP or its voltage in the chosen period"
        )
        self.scale_span = QComboBox(self.box)
        self.scale_span.addItem("Scale: whole day", "day")
        self.scale_span.addItem("Scale: this period", "period")
        self.scale_span.setToolTip(
            "The colour bar's range: the whole day (a colour is the same price or voltage in every period) or "
            "this period alone (its differences, stretched over the whole bar)"
        )
        self.geographic = QCheckBox("Geographic layout", self.box)
        self.geographic.setStyleSheet("background: transparent;")
        self.geographic.setEnabled(False)
        self.geographic.setToolTip(GEOGRAPHIC_OFF_TIP)
        lay.addWidget(caption)
        lay.addWidget(self.colour_by)
        lay.addWidget(self.scale_span)
        lay.addWidget(self.geographic)
        self.colour_by.currentIndexChanged.connect(self._show_span)
        self._show_span()
        self.box.setFixedWidth(int(LEGEND_W))
        self.box.adjustSize()
        self.place()

    def span(self) -> str:
        """``day`` or ``period``: what the bus colour bar spans."""
        return str(self.scale_span.currentData())

    def _show_span(self, *_args) -> None:
        self.scale_span.setVisible(self.colour_by.currentData() != "host")
        self.box.adjustSize()

    def style(self) -> None:
        """The box in the view's ink (light or dark theme)."""
        box, edge = self.view.ink.box, self.view.ink.box_edge
        self.box.setStyleSheet(
            f"#colourBox {{ background: rgba({box.red()}, {box.green()}, {box.blue()}, {box.alpha()}); "
            f"border: 1px solid {edge.name()}; border-radius: 6px; }}"
        )

    def place(self) -> None:
        self.box.setFixedWidth(int(self.width))
        self.box.adjustSize()
        self.box.move(self.view.viewport().geometry().topLeft() + QPoint(10, 10))
        self.box.raise_()

    # the legend grows with the application's font (presentation mode: ×1.4) from its size at start
    BASE_ROW, BASE_BAR, BASE_PT = LegendPainter.BASE_ROW, LegendPainter.BASE_BAR, LegendPainter.BASE_PT

    @property
    def scale(self) -> float:
        pt = QApplication.font().pointSizeF()
        return max(1.0, pt / self._start_pt) if pt > 0 and self._start_pt > 0 else 1.0

    def painter(self) -> LegendPainter:
        return LegendPainter(self.view.ink, self.scale)

    @property
    def row(self) -> float:
        return self.BASE_ROW * self.scale

    @property
    def bar(self) -> float:
        return self.BASE_BAR * self.scale

    @property
    def width(self) -> float:
        return LEGEND_W * self.scale

    def sections(self) -> list[tuple[str, object]]:
        """What the legend shows, top to bottom: ('host'|'scale'|'note'|'alert'|'line_alert', data)."""
        view = self.view
        return legend_sections(view.colour_mode(), view.bus_scale, view.line_scale, view.result, bool(view.alerting))

    def section_height(self, kind: str, data) -> float:
        return self.painter().section_height(kind, data)

    def rect(self) -> QRectF:
        top = self.box.geometry().bottom() - self.view.viewport().y() + 6.0
        return QRectF(10, top, self.width, self.painter().height(self.sections()))

    def paint(self, painter: QPainter) -> None:
        """The legend in the top-left corner of the viewport: what the colours mean, with units."""
        painter.save()
        painter.resetTransform()
        self.painter().paint(painter, self.rect(), self.sections())
        painter.restore()


class LegendItem(QGraphicsWidget):
    """The feeder's legend as a graphics item (the report's figure): :class:`LegendPainter` in its rectangle."""

    def __init__(
        self, sections: list[tuple[str, object]], ink, scale: float = 1.0, font: QFont | None = None, parent=None
    ):
        super().__init__(parent)
        self.sections = sections
        self.legend = LegendPainter(ink, scale, font)
        self.legend.fit_width(sections)
        size = QSizeF(self.legend.width + 1, self.legend.height(sections) + 1)
        self.setMinimumSize(size)
        self.setMaximumSize(size)
        self.resize(size)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, False)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        r = self.rect()
        self.legend.paint(painter, QRectF(r.left() + 0.5, r.top() + 0.5, r.width() - 1, r.height() - 1), self.sections)
