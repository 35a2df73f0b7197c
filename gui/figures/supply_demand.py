"""The supply and demand figure: the period's bid and ask step curves, the clearing point and the prices that clear.

:class:`SupplyDemandChart` draws the curves on a ``pg.PlotItem``; the Supply and demand panel shows that item in its
plot widget (with its summary, hover and legend labels around it) and the report renders it offscreen in a
``pg.GraphicsLayout`` with a title and an in-figure legend (figure ``"supply_demand"``).

The module also holds the few print helpers the market figures share (:func:`set_label`, :func:`for_print`,
:func:`figure_layout`, :func:`legend`, :func:`model_words`, :func:`time_of`).
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF

from core.market import NETWORK_LABELS, MarketResult
from core.units import fmt_sig
from gui.figures import REPORT_SIZE, Figure, figure
from gui.market_panels.style import (
    DEMAND,
    FEED_IN,
    HIGHLIGHT,
    POINT,
    RETAIL,
    SHORT_MECHANISM,
    SUPPLY,
    dashed,
    mechanism_title,
    price_unit,
    style_plot_item,
)

# fonts readable at the report's size (REPORT_SIZE): ticks ≥ 9 pt, axis labels ≥ 10 pt
PRINT_TICK_PT = 9.5
PRINT_LABEL_PT = 10.5
PRINT_TITLE_PT = 11.0
SCREEN_TICK_PT = 8.5
BAND_BRUSH = (60, 60, 60, 28)  # the band of prices that clear


# --- print helpers shared by the market figures ---------------------------------------------------------------


def new_plot() -> pg.PlotItem:
    """A house-styled plot item (white plot, dark readable axes, a light grid, no menu)."""
    item = pg.PlotItem()
    item.setMenuEnabled(False)
    style_plot_item(item)
    return item


def plot_widget(item: pg.PlotItem, parent=None) -> pg.PlotWidget:
    """A panel's white plot widget showing a chart's ``item`` (as :func:`gui.market_panels.make_plot` makes them)."""
    w = pg.PlotWidget(parent=parent, background="w", plotItem=item)
    w.setMenuEnabled(False)
    w.setMinimumSize(160, 80)  # small enough for the docks to fit a 1,366×768 screen
    return w


def set_label(item: pg.PlotItem, side: str, text: str, pt: float = 9.0) -> None:
    """An axis label in the house style (:func:`gui.market_panels.axis_label` for a plot item)."""
    item.setLabel(side, text, **{"color": "#222", "font-size": f"{pt}pt"})


def for_print(item: pg.PlotItem, sides=("left", "bottom")) -> None:
    """Tick and axis-label fonts readable at the report's size."""
    ticks = QFont()
    ticks.setPointSizeF(PRINT_TICK_PT)
    for side in sides:
        ax = item.getAxis(side)
        ax.setTickFont(ticks)
        if ax.labelText:
            ax.setLabel(ax.labelText, **{**ax.labelStyle, "font-size": f"{PRINT_LABEL_PT}pt"})


def figure_layout(title: str) -> pg.GraphicsLayout:
    """A report figure's layout with ``title`` (rich text) in its first row."""
    layout = pg.GraphicsLayout()
    layout.setContentsMargins(4, 2, 8, 2)
    layout.layout.setVerticalSpacing(0)
    layout.addLabel(title, row=0, col=0, size=f"{PRINT_TITLE_PT}pt", color="#222")
    return layout


def legend(entries, width: float = REPORT_SIZE[0] - 40.0) -> pg.LegendItem:
    """An in-figure legend (a row of the figure's layout): ``entries`` are (graphics item, plain name), in as many
    columns as fit in ``width`` pixels (by the legend's own laid-out width), row by row."""
    leg = pg.LegendItem(labelTextColor="#222", labelTextSize=f"{PRINT_TICK_PT}pt", horSpacing=14, verSpacing=-4)
    for it, name in entries:
        leg.addItem(it, escape(name))
    for columns in range(len(entries), 0, -1):
        leg.setColumnCount(columns)
        if columns == 1 or leg.layout.effectiveSizeHint(Qt.SizeHint.PreferredSize).width() <= width:
            break
    return leg


def line_sample(colour: QColor, width: float = 2.2, dash: bool = False) -> pg.PlotDataItem:
    """A legend's sample of a line (not drawn in any plot)."""
    return pg.PlotDataItem([0, 1], [0, 0], pen=dashed(colour, width) if dash else pg.mkPen(colour, width=width))


def box_sample(colour: QColor) -> pg.BarGraphItem:
    """A legend's sample of a filled area (not drawn in any plot)."""
    return pg.BarGraphItem(x=[0.0], height=[1.0], width=1.0, brush=pg.mkBrush(colour), pen=pg.mkPen(None))


def layout_now(layout: pg.GraphicsLayout, size: tuple[int, int] = REPORT_SIZE) -> None:
    """Give a figure's layout its report size now, so that what is fitted to the view's pixels fits the print."""
    layout.setGeometry(QRectF(0, 0, *size))
    layout.layout.activate()


MECHANISM_PHRASES = {
    "welfare": "the welfare-maximising clearing (its shadow price)",
    "uniform": "the uniform-price double auction",
    "pay_as_bid": "the pay-as-bid auction",
    "vcg": "the VCG mechanism (Clarke pivot)",
    "trade_reduction": "McAfee's trade-reduction auction",
}


def mechanism_words(result: MarketResult) -> str:
    """The mechanism as a phrase for a caption (``the uniform-price double auction``)."""
    m = result.settings.mechanism
    return MECHANISM_PHRASES.get(m, f"the {mechanism_title(result)}")


def on_model(result: MarketResult) -> str:
    """Where the market clears, for a caption: ``on a copper plate (no network model)``, ``with the LinDistFlow +
    losses network model``."""
    network = result.settings.network or "none"
    return "on a copper plate (no network model)" if network == "none" else f"with the {model_words(result)}"


def model_words(result: MarketResult) -> str:
    """The network model in words: ``copper plate (no network model)`` or its label."""
    network = result.settings.network or "none"
    if network == "none":
        return "copper plate (no network model)"
    return f"{NETWORK_LABELS.get(network, network)} network model"


def short_mechanism(result: MarketResult) -> str:
    """The mechanism's short name for a figure's title (``Uniform price``)."""
    m = result.settings.mechanism
    return SHORT_MECHANISM.get(m, m)


def short_model(result: MarketResult) -> str:
    """The network model's short name for a figure's title (``copper plate``, ``LinDistFlow + losses``)."""
    network = result.settings.network or "none"
    return "copper plate" if network == "none" else NETWORK_LABELS.get(network, network)


def time_of(result: MarketResult, period: int) -> str:
    """The time label of ``period`` (``19:00``), or ``period 19`` without one."""
    p = result.periods
    if p is not None and "time" in p and 0 <= period < len(p):
        row = p[p.period == period]
        if len(row):
            return str(row.time.iloc[0])
    return f"period {period}"


# --- the chart ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clearing:
    """What the chart drew of the clearing: a price (or none), and the interval of prices that clear."""

    has_price: bool = False
    wide: bool = False  # several prices clear: [lo, hi] is drawn as a band
    lo: float = float("nan")
    hi: float = float("nan")


class SupplyDemandChart:
    """The period's demand (bids, descending) and supply (asks, ascending) step curves.

    The clearing point (price × traded kWh) is a dot with dotted guides to the right axis, which names the price
    and the two tariffs, and to the bottom, where the traded kWh is written; a grey band covers the prices that
    clear when they are more than one.
    """

    def __init__(self):
        self.plot = item = new_plot()
        self.demand = item.plot([0.0], [], stepMode="center", pen=pg.mkPen(DEMAND, width=2.2), name="Demand (bids)")
        self.supply = item.plot([0.0], [], stepMode="center", pen=pg.mkPen(SUPPLY, width=2.2), name="Supply (asks)")
        self.hover_step = item.plot([], [], pen=pg.mkPen(HIGHLIGHT, width=6))  # the panel's hover
        self.hover_step.setZValue(-1)
        self.point = pg.ScatterPlotItem(size=11, pen=pg.mkPen("w", width=1.5), brush=pg.mkBrush(POINT), symbol="o")
        self.point.setZValue(10)
        item.addItem(self.point)
        # dotted guides from the clearing point to the right axis (its price) and down (its kWh)
        self.guides = item.plot(
            [], [], pen=pg.mkPen(QColor(60, 60, 60), width=1.2, style=Qt.PenStyle.DotLine), connect="pairs"
        )
        self.qty_label = pg.TextItem("", color="#111", anchor=(0, 1))
        self.qty_label.setZValue(11)
        item.addItem(self.qty_label)
        self.quantity = pg.InfiniteLine(angle=90, movable=False, pen=dashed(QColor(60, 60, 60), 1.2))
        item.addItem(self.quantity)
        self.retail = pg.InfiniteLine(angle=0, movable=False, pen=dashed(RETAIL))
        self.feed_in = pg.InfiniteLine(angle=0, movable=False, pen=dashed(FEED_IN))
        item.addItem(self.retail)
        item.addItem(self.feed_in)
        # the interval of prices that clear the period, when it is more than one price
        self.band = pg.LinearRegionItem(
            orientation="horizontal", movable=False, brush=pg.mkBrush(*BAND_BRUSH), pen=pg.mkPen(None)
        )
        self.band.setZValue(-5)
        item.addItem(self.band)
        item.showAxis("right")
        right = item.getAxis("right")
        right.setPen(pg.mkPen("#444"))
        right.setTextPen(pg.mkPen("#222"))
        font = QFont()
        font.setPointSizeF(SCREEN_TICK_PT)
        right.setTickFont(font)
        right.setTicks([[]])
        self.tick_px = 14.0  # the right axis's labels closer than this are dropped (tariffs win)
        self.label_px = 18.0  # the room under the lowest line for the kWh label
        self.printed = False  # fonts for print (:meth:`for_print`)
        set_label(item, "bottom", "Cumulative energy (kWh)")
        set_label(item, "left", "Price")
        self.clearing = Clearing()
        self.set_visible(False)

    def set_visible(self, on: bool) -> None:
        for it in (self.point, self.guides, self.qty_label, self.quantity, self.retail, self.feed_in, self.band):
            it.setVisible(on)

    def show(self, result: MarketResult) -> Clearing:
        """Draw ``result.curves`` (the result's period); returns what was drawn of the clearing."""
        c = result.curves
        set_label(self.plot, "left", f"Price ({price_unit(result)})", self._label_pt())
        self.hover_step.setData([], [])
        right = self.plot.getAxis("right")
        if c is None:
            self.demand.setData([0.0], [], stepMode="center")
            self.supply.setData([0.0], [], stepMode="center")
            self.set_visible(False)
            right.setTicks([[]])
            self.clearing = Clearing()
            return self.clearing
        self.demand.setData(np.asarray(c.demand_kwh, float), np.asarray(c.demand_price, float), stepMode="center")
        self.supply.setData(np.asarray(c.supply_kwh, float), np.asarray(c.supply_price, float), stepMode="center")
        self.set_visible(True)
        self.retail.setValue(c.retail_price)
        self.feed_in.setValue(c.feed_in_price)
        y_lo, y_hi, x_hi = self.fit(c)
        has_price = bool(c.price is not None and np.isfinite(c.price))
        ticks = [
            (c.retail_price, f"retail {fmt_sig(c.retail_price)}"),
            (c.feed_in_price, f"feed-in {fmt_sig(c.feed_in_price)}"),
        ]
        if has_price:
            ticks.append((c.price, f"◀ {fmt_sig(c.price)}"))
        if self.printed:  # drawn once, at this range: the steps beyond it are left out (thousands on a big feeder)
            for curve, q, p in (
                (self.demand, c.demand_kwh, c.demand_price),
                (self.supply, c.supply_kwh, c.supply_price),
            ):
                q, p = np.asarray(q, float), np.asarray(p, float)
                n = int(np.searchsorted(q, x_hi, side="left")) + 1  # the edges up to the first beyond the range
                if n < len(q):
                    curve.setData(q[:n], p[: n - 1], stepMode="center")
        kept = self.spread(ticks, y_lo, y_hi)
        right.setTicks([kept])
        if self.printed:  # drawn once: the axis as wide as its labels now (on screen it widens as it paints)
            fm = QFontMetricsF(right.style.get("tickFont") or QFont())
            right.setWidth(max(fm.horizontalAdvance(text) for _v, text in kept) + 14.0)
        self.quantity.setValue(c.traded_kwh)
        self.qty_label.setText(f"{fmt_sig(c.traded_kwh)} kWh")
        self.qty_label.setPos(c.traded_kwh, y_lo)
        lo, hi = c.price_interval if c.price_interval is not None else (np.nan, np.nan)
        wide = bool(np.isfinite(lo) and np.isfinite(hi) and hi - lo > 1e-9 * (1.0 + abs(hi)))
        self.band.setVisible(wide)
        if wide:
            self.band.setRegion((lo, hi))
        if has_price:
            self.point.setData([c.traded_kwh], [c.price])
            self.guides.setData([c.traded_kwh, x_hi, c.traded_kwh, c.traded_kwh], [c.price, c.price, c.price, y_lo])
            self.guides.setVisible(True)
            self.quantity.setVisible(False)
        else:
            self.point.setData([], [])
            self.guides.setData([], [])
            self.quantity.setVisible(True)
        self.clearing = Clearing(has_price, wide, float(lo), float(hi))
        return self.clearing

    def _label_pt(self) -> float:
        return float(self.plot.getAxis("left").labelStyle.get("font-size", "9pt").removesuffix("pt") or 9.0)

    def fit(self, c) -> tuple[float, float, float]:
        """Show every step and both tariff lines; returns (lowest price shown, highest, largest kWh shown)."""
        prices = [
            p
            for p in (
                *np.asarray(c.demand_price, float),
                *np.asarray(c.supply_price, float),
                c.retail_price,
                c.feed_in_price,
            )
            if np.isfinite(p)
        ]
        xs = [*np.asarray(c.demand_kwh, float), *np.asarray(c.supply_kwh, float)]
        vb = self.plot.getViewBox()
        y_lo, y_hi, x_hi = 0.0, 1.0, 1.0
        if prices:
            lo, hi = min(prices), max(prices)
            pad = 0.08 * (hi - lo or abs(hi) or 1.0)
            y_hi = hi + pad
            # room under the lowest line for the kWh label: a line of its text
            text_px = self.label_px
            h_px = max(vb.height(), 80.0)
            y_lo = lo - max(pad, text_px * (y_hi - lo) / (h_px - text_px))
            vb.setYRange(y_lo, y_hi, padding=0)
        if xs:
            x_all = (max(xs) or 1.0) * 1.04
            x_hi = x_all
            traded = float(c.traded_kwh or 0.0)
            if 0.0 < traded and 2.5 * traded < 0.8 * x_all:  # zoomed to where it trades; the rest a wheel away
                x_hi = max(2.5 * traded, 0.25 * x_all)
            vb.setLimits(xMin=0.0, xMax=x_all)
            vb.setXRange(0.0, x_hi, padding=0)
        return y_lo, y_hi, x_hi

    def spread(self, ticks: list[tuple[float, str]], y_lo: float, y_hi: float) -> list[tuple[float, str]]:
        """Right-axis labels, dropping a later one that would overlap an earlier (tariffs win)."""
        px = max(self.plot.getViewBox().height(), 120.0)
        min_gap = self.tick_px * (y_hi - y_lo) / px
        kept: list[tuple[float, str]] = []
        for v, text in ticks:
            if all(abs(v - k) >= min_gap for k, _t in kept):
                kept.append((v, text))
        return kept

    def for_print(self) -> None:
        """Fonts readable at the report's size (the right axis's tariff labels and the traded kWh too)."""
        self.printed = True
        for_print(self.plot, ("left", "bottom", "right"))
        self.tick_px = 1.6 * PRINT_TICK_PT
        self.label_px = 2.0 * PRINT_TICK_PT + 4.0
        font = QFont()
        font.setPointSizeF(PRINT_TICK_PT)
        self.qty_label.setFont(font)


# --- the report's figure ----------------------------------------------------------------------------------------


def clearing_words(result: MarketResult, clearing: Clearing) -> str:
    """The clearing in words: the price (or why there is none), the kWh traded, the band of prices that clear."""
    c = result.curves
    unit = price_unit(result)
    between = f"{fmt_sig(clearing.lo)}–{fmt_sig(clearing.hi)} {unit}"
    traded = f"{fmt_sig(c.traded_kwh)} kWh"
    if clearing.has_price:
        text = f"They cross at the clearing point (the black dot): {fmt_sig(c.price)} {unit} for {traded} traded"
        if clearing.wide:
            text += f"; any price in {between} clears the same trades (the grey band), and the middle is shown"
        return text + "."
    if c.traded_kwh <= 1e-9:
        return "Nothing is traded in this period" + (
            f": any price in {between} clears nothing." if clearing.wide else "."
        )
    return f"{traded} are traded with no single price: each trade pays its own (the dashed line marks the kWh)."


@figure("supply_demand")
def build(result: MarketResult | None, scenario, period: int) -> Figure | None:
    """The period's supply and demand for print: a title, an in-figure legend, the curves and the clearing."""
    if result is None or result.curves is None:
        return None
    c = result.curves
    when = time_of(result, c.period)
    chart = SupplyDemandChart()
    chart.for_print()
    layout = figure_layout(
        f"<b>Supply and demand</b> · {escape(when)} · {escape(short_mechanism(result))} · {escape(short_model(result))}"
    )
    entries = [
        (line_sample(DEMAND), "demand (bids, highest first)"),
        (line_sample(SUPPLY), "supply (asks, cheapest first)"),
        (line_sample(RETAIL, 1.5, dash=True), "retail"),
        (line_sample(FEED_IN, 1.5, dash=True), "feed-in"),
    ]
    point = pg.ScatterPlotItem(size=9, pen=pg.mkPen("w", width=1.0), brush=pg.mkBrush(POINT), symbol="o")
    entries.append((point, "clearing point"))
    lo, hi = c.price_interval if c.price_interval is not None else (np.nan, np.nan)
    if np.isfinite(lo) and np.isfinite(hi) and hi - lo > 1e-9 * (1.0 + abs(hi)):
        entries.append((box_sample(QColor(*BAND_BRUSH[:3], 70)), "prices that clear"))
    layout.addItem(legend(entries), row=1, col=0)
    layout.addItem(chart.plot, row=2, col=0)
    layout_now(layout)
    clearing = chart.show(result)
    unit = price_unit(result)
    caption = (
        f"Supply and demand at {when} under {mechanism_words(result)} {on_model(result)}. Each step is one "
        f"prosumer's bid (blue, highest first) or ask (red, cheapest first) in {unit}, laid end to end in kWh. "
        f"{clearing_words(result, clearing)} The dashed lines are the grid's prices, the outside option: the retail "
        f"import tariff {fmt_sig(c.retail_price)} {unit} and the feed-in tariff {fmt_sig(c.feed_in_price)} {unit}."
    )
    if result.settings.mechanism == "welfare":
        caption += (
            " The welfare clearing optimises the whole day at once; the curves show what each prosumer would bid "
            "in this period from the state the clearing leaves it in."
        )
    if period != c.period:  # a result holds the curves of its own period only
        caption += f" (The result holds the curves of {when} only.)"
    return Figure("supply_demand", layout, caption, keep=[chart])
