"""The feeder figure: the feeder drawn from the scenario and a result in one period, for the report.

:class:`FeederChart` is a ``QGraphicsWidget`` holding a title, the legend (:class:`gui.feeder_legend.LegendItem`,
painted by the code that paints the legend in the corner of the :class:`~gui.feeder_view.FeederView`) and the
feeder's items, made, placed and coloured by :class:`gui.feeder_items.FeederItems` — the code the FeederView draws
the screen with — from the same layout (the tidy tree, or the map when every bus has coordinates), scales and level
of detail. What the screen adds for the user (the "Colour buses by" box, the selection halo, tooltips) is not here.

The buses are coloured by their DLMP when the result has a network model (on a colour bar fitted to this period),
else by what they host; lines by loading, wider the more power they carry, arrows where power flows back towards
the substation — figure ``"feeder"``.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QPointF, QRectF, QSizeF
from PySide6.QtGui import QFont, QTransform
from PySide6.QtWidgets import QGraphicsItemGroup, QGraphicsTextItem, QGraphicsWidget

from core.market import NETWORK_LABELS
from core.scenario import Scenario
from core.scenario.layout import electrical_depth, geographic_layout, tree_layout
from gui.feeder_items import (
    LABEL_PT,
    LIGHT_INK,
    FeederItems,
    ResultView,
    all_bus_limits,
    bus_positions,
    fit_scales,
    level_of_detail,
)
from gui.feeder_legend import LegendItem, LegendPainter, legend_sections
from gui.figures import REPORT_SIZE, Figure, figure
from gui.network_panels import has_network, has_voltages

TITLE_PT = 11.0  # the title inside the figure
TEXT_PT = 9.5  # the legend's text
LABEL_PRINT_PT = 9.0  # bus labels
PAD = 8.0  # px around the figure's content
GAP = 14.0  # px between the legend and the drawing
ROOM = 14.0  # px kept around the buses inside the drawing's area (their glyphs, the substation's windings)

QUANTITY = {"dlmp": "bus DLMP", "voltage": "bus voltage", "host": "what each bus hosts"}


def _px(pt: float) -> int:
    """A point size as pixels of the figure (96 per inch, as the report's figure sizes are counted), so that the
    text keeps its size against the drawing on every device (PNG, SVG, PDF)."""
    return max(1, round(pt * 96.0 / 72.0))


def _font(pt: float, bold: bool = False) -> QFont:
    font = QFont()
    font.setPixelSize(_px(pt))
    font.setBold(bold)
    return font


def colour_mode(result) -> str:
    """What the figure colours the buses by: the DLMP with a network model, else the voltage where there are
    voltages, else what they host."""
    if has_network(result):
        return "dlmp"
    if has_voltages(result):
        return "voltage"
    return "host"


def model_words(result) -> str:
    if result is None:
        return "no market cleared"
    network = result.settings.network
    if network == "none":
        return "copper plate (no network model)"
    return NETWORK_LABELS.get(network, network)


class FeederChart(QGraphicsWidget):
    """The feeder of a scenario with a result in one period, as graphics items only: a title, the legend and the
    drawing, laid out in the widget's rectangle whenever its geometry is set (the drawing fitted to what the title
    and the legend leave, keeping its aspect ratio)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QGraphicsTextItem(self)
        self.title.setDefaultTextColor(LIGHT_INK.text)
        self.title.setFont(_font(TITLE_PT))
        self.group = QGraphicsItemGroup(self)  # the feeder's items, scaled as one into the room left for them
        self.drawing = FeederItems(parent=self.group, screen=False, ink=LIGHT_INK)
        self.drawing.set_label_font(_font(LABEL_PRINT_PT))
        self.legend: LegendItem | None = None
        self.scenario: Scenario | None = None
        self.view: ResultView | None = None
        self.mode = "host"
        self.bus_scale = None
        self.line_scale = None
        self.layout_: dict[str, tuple[float, float]] = {}
        self.geographic = False
        self.depth: dict[str, int] = {}
        self.resize(QSizeF(*REPORT_SIZE))

    def show_result(self, scenario: Scenario, result, period: int) -> None:
        """Draw ``scenario``'s feeder coloured by ``result`` in ``period``."""
        self.scenario = scenario
        geo = geographic_layout(scenario.feeder)
        self.geographic = geo is not None
        self.layout_ = geo if geo is not None else tree_layout(scenario.feeder)
        self.depth = electrical_depth(scenario.feeder) if geo is not None else {}
        self.drawing.build(scenario)
        self.drawing.name(scenario)
        self.view = view = ResultView(result, period, scenario, all_bus_limits(scenario.feeder))
        self.mode = colour_mode(result)
        # the colour bar fitted to this period's buses (the report shows one period), and says so
        self.bus_scale = self.drawing.colour(view, self.mode, "period", "this period")
        self.line_scale = view.line_scale
        sections = legend_sections(
            self.mode,
            self.bus_scale,
            self.line_scale,
            result,
            bool(self.drawing.alerting),
            flows=True,
            reverse=bool(view.reverse),
        )
        if self.legend is not None:
            self.legend.setParentItem(None)
        self.legend = LegendItem(sections, LIGHT_INK, TEXT_PT / LegendPainter.BASE_PT, _font(TEXT_PT), self)
        name = scenario.name or (result.scenario_name if result is not None else "")
        when = view.period_label
        self.title.setHtml(
            f"<b>{escape(name)}</b> · {escape(QUANTITY[self.mode])} at {escape(when)} · {escape(model_words(result))}"
        )
        self.arrange()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.arrange()

    def arrange(self) -> None:
        """Title along the top, the legend below it on the left, the feeder fitted into the rest."""
        if self.scenario is None:
            return
        r = self.rect()
        self.title.setTextWidth(max(r.width() - 2 * PAD, 50.0))
        self.title.setPos(r.left() + PAD - 4, r.top() + PAD - 4)  # (a text item's own margin: 4 px)
        top = r.top() + PAD + self.title.boundingRect().height() - 2
        left = r.left() + PAD
        if self.legend is not None:
            self.legend.setPos(left, top)
            left += self.legend.size().width() + GAP
        area = QRectF(QPointF(left, top), QPointF(r.right() - PAD, r.bottom() - PAD))
        if area.width() < 20 or area.height() < 20:
            return
        room = 2 * ROOM
        sx, sy = fit_scales(self.layout_, area.width() - room, area.height() - room, self.geographic)
        self.group.setTransform(QTransform())
        self.drawing.place(bus_positions(self.layout_, sx, sy), self.scenario, self.geographic, self.depth)
        show, _wide, size = level_of_detail(sx, sy, LABEL_PRINT_PT / LABEL_PT)
        self.drawing.show_labels(show)
        self.drawing.set_bus_size(size)
        # the drawing with its labels, scaled down as one (if need be) to fit the area, and centred in it
        drawn = self.drawn_rect()
        k = min(1.0, area.width() / max(drawn.width(), 1.0), area.height() / max(drawn.height(), 1.0))
        self.group.setTransform(QTransform.fromScale(k, k))
        self.group.setPos(area.center() - drawn.center() * k)

    def drawn_rect(self) -> QRectF:
        """What the feeder's visible items cover, in the group's coordinates (a hidden label takes no room)."""
        rect = QRectF()
        for item in self.group.childItems():
            if item.isVisible():
                rect = rect.united(item.mapRectToParent(item.boundingRect() | item.childrenBoundingRect()))
        return rect


def caption(chart: FeederChart, result) -> str:
    """What the figure shows, for which period and model, and how to read it — in plain words."""
    s, view = chart.scenario, chart.view
    when = view.period_label
    feeder = s.feeder
    n = len(feeder.buses)
    where = "drawn on the map, north up" if chart.geographic else "drawn as a one-line diagram, substation at the top"
    head = f"The {n:,}-bus feeder at {when} ({where}; the substation, {feeder.base_kv:g} kV, is the transformer symbol)"
    if result is None:
        return head + ": no market cleared; each bus is coloured by what its prosumers host."
    model = model_words(result)
    scale = chart.bus_scale
    if chart.mode in ("dlmp", "voltage") and scale is not None:
        column = "dlmp_per_kwh" if chart.mode == "dlmp" else "v_pu"
        rows = view.buses
        values = rows[column].astype(float)
        lo_bus, hi_bus = str(rows.bus[values.idxmin()]), str(rows.bus[values.idxmax()])
        what = "DLMP" if chart.mode == "dlmp" else "voltage"
        text = (
            f"{head}, cleared with {model}. Each bus is coloured by its {what} in this period, from "
            f"{scale.label(scale.lo)} {scale.unit} (bus {lo_bus}) to {scale.label(scale.hi)} {scale.unit} "
            f"(bus {hi_bus}); the colour bar spans this period's buses only."
        )
        if chart.line_scale is not None:
            back = len(view.reverse)
            text += (
                " Lines are coloured by their loading (% of their rating, red at or over it) and drawn wider the "
                "more power they carry"
                + (
                    f"; {back} green arrow{'s' if back != 1 else ''} mark{'' if back != 1 else 's'} where power "
                    "flows back towards the substation"
                    if back
                    else "; no power flows back towards the substation"
                )
                + "."
            )
        alerts = sorted(chart.drawing.alerting)
        if alerts:
            text += f" A red ring marks a bus outside its voltage limits ({len(alerts)} in this period)."
        return text
    if has_network(result):  # (a model without the quantity chosen)
        return f"{head}, cleared with {model}; each bus is coloured by what its prosumers host."
    return (
        f"{head}, cleared on a copper plate: without a network model there are no DLMPs, voltages or line flows, so "
        "each bus is coloured by what its prosumers host (battery or EV, PV or other generation, flexible load, "
        "load only, no prosumer) and every line is drawn alike."
    )


@figure("feeder")
def build(result, scenario: Scenario | None = None, period: int | None = None) -> Figure | None:
    """The feeder coloured by the result in ``period`` (default: the result's own); None without a scenario."""
    if scenario is None:
        return None
    t = (result.period if result is not None else 0) if period is None else period
    chart = FeederChart()
    chart.show_result(scenario, result, t)
    return Figure("feeder", chart, caption(chart, result), keep=[chart])
