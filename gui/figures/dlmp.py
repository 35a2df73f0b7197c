"""The DLMP parts figure: the period's DLMP of every bus split into energy + loss + congestion + voltage.

:class:`DLMPChart` draws the parts on a ``pg.PlotItem`` — a stacked bar per bus, or on a feeder of
:data:`AREAS_ABOVE` buses and more stacked areas against electrical distance; the DLMP panel shows that item in its
plot widget (with its title, legend, energy switch, hover and selection around it) and the report renders it
offscreen in a ``pg.GraphicsLayout`` with a title and an in-figure legend (figure ``"dlmp_parts"``; none without a
network model).

The few helpers that read a network result's buses (:func:`has_network`, :func:`bus_rows`) live here with the parts
(:data:`PARTS`) so that :mod:`gui.network_panels` and this figure share them (it re-exports them).
"""

from __future__ import annotations

import math
from html import escape

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont, QFontMetricsF

from core.market import MarketResult
from core.units import column_decimals, fmt_number

# supply_demand as a module: the panels of gui.market_panels import the figure modules while that package loads
from gui.figures import Figure, figure
from gui.figures import supply_demand as sd
from gui.market_panels.style import HIGHLIGHT, price_unit

# the four parts of a DLMP, bottom of the stack first
PARTS = (
    ("energy_per_kwh", "energy", QColor(112, 146, 190)),
    ("loss_per_kwh", "loss", QColor(242, 163, 40)),
    ("congestion_per_kwh", "congestion", QColor(214, 50, 60)),
    ("voltage_per_kwh", "voltage", QColor(128, 80, 190)),
)
TOTAL = QColor(17, 17, 17)
SELECTED_BAND = QColor(0, 120, 215, 45)
AREAS_ABOVE = 150  # buses: from this many the DLMP parts are stacked areas against electrical distance, not bars
NOISE = 1e-9  # |part| below this (currency/kWh) is numerical noise of the solver: shown as 0
BAR_WIDTH = 0.78


def has_network(result: MarketResult | None) -> bool:
    return result is not None and result.buses is not None and len(result.buses) > 0


def bus_rows(result: MarketResult | None, period: int) -> pd.DataFrame:
    """``result.buses`` of one period, indexed by bus id (empty without a network)."""
    if not has_network(result):
        return pd.DataFrame()
    b = result.buses
    return b[b.period == period].set_index("bus", drop=False)


def price_decimals(values) -> int:
    """Decimals that show a price column with four significant digits at its largest magnitude."""
    return max(2, column_decimals(np.asarray(values, float), digits=4, most=6))


def exactness_text(result: MarketResult) -> str:
    """`` · exact AC (gap 2e-09)`` for the exact model, a warning where it fell back; empty for the others."""
    s = result.summary
    if result.settings.network != "socp":
        return ""
    if s.get("fallback"):
        return " · ⚠ the exact model's relaxation was not exact here: LinDistFlow prices, AC-checked"
    gap = s.get("exactness_gap")
    return f" · exact AC (relaxation gap {gap:.0e})" if gap is not None else ""


class DLMPChart:
    """The period's DLMP of every bus as a stack of its four parts, buses by electrical distance from the substation.

    Positive parts stack above zero, negative ones below, and a black bar marks the DLMP itself (the sum; without
    the energy part, DLMP − energy). From :data:`AREAS_ABOVE` buses on, the parts are stacked areas against the
    electrical distance and the DLMPs one line. The hover and selection bands and the lateral's markers are the
    panel's (hidden until it uses them).
    """

    def __init__(self):
        self.plot = item = sd.new_plot()
        vb = item.getViewBox()
        vb.setMouseEnabled(x=True, y=False)
        self.hover_band = pg.LinearRegionItem(
            values=(0, 1),
            movable=False,
            brush=pg.mkBrush(HIGHLIGHT.red(), HIGHLIGHT.green(), HIGHLIGHT.blue(), 70),
            pen=pg.mkPen(None),
        )
        self.selected_band = pg.LinearRegionItem(
            values=(0, 1), movable=False, brush=pg.mkBrush(SELECTED_BAND), pen=pg.mkPen(None)
        )
        for band in (self.hover_band, self.selected_band):
            band.setZValue(-20)
            band.setVisible(False)
            item.addItem(band)
        self.bars: dict[str, pg.BarGraphItem] = {}
        for key, _name, colour in PARTS:
            bar = pg.BarGraphItem(
                x=[0.0], height=[0.0], y0=[0.0], width=BAR_WIDTH, brush=pg.mkBrush(colour), pen=pg.mkPen(None)
            )
            item.addItem(bar)
            self.bars[key] = bar
        # hundreds of buses: the parts as stacked areas against electrical distance (AREAS_ABOVE buses and more)
        self.areas: dict[str, tuple[pg.PlotCurveItem, pg.PlotCurveItem, pg.FillBetweenItem]] = {}
        for key, _name, colour in PARTS:
            lo, hi = pg.PlotCurveItem(pen=pg.mkPen(None)), pg.PlotCurveItem(pen=pg.mkPen(None))
            fill = pg.FillBetweenItem(lo, hi, brush=pg.mkBrush(colour))
            for it in (lo, hi, fill):
                it.setVisible(False)
                item.addItem(it)
            self.areas[key] = (lo, hi, fill)
        self.zero = pg.InfiniteLine(angle=0, pos=0.0, movable=False, pen=pg.mkPen("#666", width=1))
        item.addItem(self.zero)
        self.total = item.plot([], [], pen=pg.mkPen(TOTAL, width=2.4), connect="pairs")
        self.total.setZValue(10)
        # on a large feeder: the selected bus's lateral (its path from the substation and the buses below it)
        self.lateral = pg.ScatterPlotItem(
            size=6, brush=pg.mkBrush(HIGHLIGHT), pen=pg.mkPen("#222", width=0.8), symbol="o"
        )
        self.lateral.setZValue(12)
        item.addItem(self.lateral)
        self.rows = pd.DataFrame()  # the period's buses in the order drawn
        self.x = np.zeros(0)  # each drawn bus's position: its rank, or its electrical distance (areas)
        self.mark = np.zeros(0)  # the black bar's (or line's) value at each bus
        self.label_pt = 9.0
        sd.set_label(item, "left", "DLMP")
        sd.set_label(item, "bottom", "Bus, by electrical distance from the substation →")
        vb.sigXRangeChanged.connect(lambda *_a: self.retick())
        vb.sigResized.connect(lambda *_a: self.retick())

    @property
    def many(self) -> bool:
        return len(self.rows) >= AREAS_ABOVE

    def show(self, result: MarketResult, period: int, energy: bool = True, refit: bool = True) -> pd.DataFrame:
        """Draw ``period`` of ``result`` (``energy``: with the energy part; ``refit``: the whole feeder in view,
        as also when the number of buses changed). Returns the buses in the order drawn."""
        rows = bus_rows(result, period).sort_values(["electrical_distance_pu", "depth"], kind="stable")
        n_before = len(self.rows)
        self.rows = rows
        n = len(rows)
        many = n >= AREAS_ABOVE
        x = rows.electrical_distance_pu.to_numpy(float) if many else np.arange(n, dtype=float)
        self.x = x
        up = np.zeros(n)
        down = np.zeros(n)
        for key, _name, _colour in PARTS:
            h = np.where(np.abs(rows[key].to_numpy(float)) < NOISE, 0.0, rows[key].to_numpy(float))
            shown = energy or key != "energy_per_kwh"
            self.bars[key].setVisible(shown and not many)
            for it in self.areas[key]:
                it.setVisible(shown and many)
            y0 = np.where(h >= 0, up, down)
            if shown:
                up = np.where(h >= 0, up + h, up)
                down = np.where(h < 0, down + h, down)
            self.bars[key].setOpts(x=x, height=h, y0=y0 if shown else np.zeros(n), width=BAR_WIDTH)
            if many:
                lo, hi, _fill = self.areas[key]
                lo.setData(x, y0)
                hi.setData(x, y0 + h)
        dlmp = rows.dlmp_per_kwh.to_numpy(float)
        # the mark: the DLMP, or without the energy part the sum of the three locational parts drawn
        mark = dlmp if energy else up + down
        if many:  # one line through every bus's DLMP, nearest the substation first
            self.total.setPen(pg.mkPen(TOTAL, width=1.2))
            self.total.setData(x, mark, connect="all")
        else:
            self.total.setPen(pg.mkPen(TOTAL, width=2.4))
            half = BAR_WIDTH / 2
            self.total.setData(np.repeat(x, 2) + np.tile([-half, half], n), np.repeat(mark, 2), connect="pairs")
        sd.set_label(
            self.plot,
            "bottom",
            "Electrical distance from the substation (Σ|Z| along the path, p.u.) →"
            if many
            else "Bus, by electrical distance from the substation →",
            self.label_pt,
        )
        unit = price_unit(result)
        sd.set_label(self.plot, "left", f"DLMP ({unit})" if energy else f"DLMP − energy<br>({unit})", self.label_pt)
        vb = self.plot.getViewBox()
        lo, hi = (
            float(min(down.min(initial=0.0), mark.min(initial=0.0))),
            float(max(up.max(initial=0.0), mark.max(initial=0.0))),
        )
        if many and energy and n and mark.min() > 0:
            # hundreds of buses share the energy part: start the axis under the cheapest DLMP so that what
            # differs between them (loss, congestion, voltage) is drawn at a readable scale; the axis says where
            spread = float(mark.max() - mark.min())
            lo = max(0.0, float(mark.min()) - max(0.5 * spread, 0.02 * float(mark.max())))
        pad = 0.06 * ((hi - lo) or abs(hi) or 1.0)
        vb.setYRange(lo - (pad if lo < 0 else 0.0), hi + pad, padding=0)
        self.mark = mark
        if many:
            span = float(x.max() - x.min()) or 1.0
            vb.setLimits(xMin=float(x.min()) - 0.02 * span, xMax=float(x.max()) + 0.02 * span)
            if refit or n != n_before:
                vb.setXRange(float(x.min()), float(x.max()), padding=0.01)
        else:
            vb.setLimits(xMin=-1.0, xMax=max(n, 1) + 0.0)
            if refit or n != n_before:
                vb.setXRange(-0.6, n - 0.4, padding=0)
        self.retick()
        return rows

    def retick(self) -> None:
        """Bus ids under the bars: every k-th when they would not fit side by side."""
        ax = self.plot.getAxis("bottom")
        n = len(self.rows)
        if n >= AREAS_ABOVE:
            ax.setTicks(None)  # electrical distance: pyqtgraph's own numeric ticks
            return
        if n == 0:
            ax.setTicks([[]])
            return
        vb = self.plot.getViewBox()
        (x0, x1), width = vb.viewRange()[0], max(vb.width(), 50.0)
        ids = [str(b) for b in self.rows.bus]
        fm = QFontMetricsF(ax.style.get("tickFont") or QFont())
        label_px = max(fm.horizontalAdvance(s) for s in ids) + 8.0
        visible = max(x1 - x0, 1.0)
        k = max(1, math.ceil(label_px / (width / visible)))
        if k > 1:  # round the stride up to 2, 5, 10, 20, 50…
            mag = 10 ** math.floor(math.log10(k))
            k = next(m * mag for m in (1, 2, 5, 10) if m * mag >= k)
        major = [(float(i), ids[i]) for i in range(0, n, k)]
        minor = [(float(i), "") for i in range(n)] if k > 1 and width / visible >= 3 else []
        ax.setTicks([major, minor])

    def band_at(self, i: int) -> tuple[float, float]:
        """The band that highlights bus ``i``: its bar, or a sliver of the distance axis around it."""
        if len(self.rows) < AREAS_ABOVE:
            return i - 0.5, i + 0.5
        half = 0.004 * (float(self.x.max() - self.x.min()) or 1.0)
        return float(self.x[i]) - half, float(self.x[i]) + half

    def for_print(self) -> None:
        """Fonts readable at the report's size."""
        self.label_pt = sd.PRINT_LABEL_PT
        sd.for_print(self.plot)


# --- the report's figure ----------------------------------------------------------------------------------------


@figure("dlmp_parts")
def build(result: MarketResult | None, scenario, period: int) -> Figure | None:
    """The period's DLMP parts for print: a title, an in-figure legend, the stacked bars (or areas)."""
    if not has_network(result) or bus_rows(result, period).empty:
        return None
    chart = DLMPChart()
    chart.for_print()
    when = sd.time_of(result, period)
    unit = price_unit(result)
    rows = bus_rows(result, period)
    dlmp = rows.dlmp_per_kwh.to_numpy(float)
    d = price_decimals(dlmp)
    layout = sd.figure_layout(
        f"<b>DLMP per bus</b> · {escape(when)} · {escape(sd.short_model(result))} · "
        f"{fmt_number(dlmp.min(), d)}–{fmt_number(dlmp.max(), d)} {escape(unit)}{escape(exactness_text(result))}"
    )
    entries = [(sd.box_sample(colour), name) for _key, name, colour in PARTS]
    entries.append((sd.line_sample(TOTAL, 2.4), "DLMP (their sum)"))
    layout.addItem(sd.legend(entries), row=1, col=0)
    layout.addItem(chart.plot, row=2, col=0)
    sd.layout_now(layout)
    rows = chart.show(result, period)

    n = len(rows)
    cheap, dear = rows.loc[rows.dlmp_per_kwh.idxmin()], rows.loc[rows.dlmp_per_kwh.idxmax()]
    caption = (
        f"The distribution locational marginal price (DLMP) of each of the {n:,} buses at {when} "
        f"under {sd.mechanism_words(result)} {sd.on_model(result)}, split into its parts: energy (the substation's "
        "price, the same at every bus), loss (what the losses its power causes cost), congestion (line ratings) and "
        "voltage (voltage limits); a part below zero lowers the price. "
    )
    if chart.many:
        caption += (
            "The parts are stacked areas against each bus's electrical distance from the substation (Σ|Z| along "
            "its path, p.u.), and the black line joins the buses' DLMPs. "
        )
        y0 = chart.plot.getViewBox().viewRange()[1][0]
        if y0 > 0:
            caption += (
                f"The price axis starts at {fmt_number(y0, d)} {unit}, under the cheapest DLMP, so that what differs "
                "between the buses is readable. "
            )
    else:
        caption += (
            "Buses are sorted by electrical distance from the substation, nearest first; the black bar on each "
            "marks its DLMP (the sum of its parts). "
        )
    caption += (
        f"The DLMPs run from {fmt_number(cheap.dlmp_per_kwh, d)} {unit} (bus {cheap.bus}) to "
        f"{fmt_number(dear.dlmp_per_kwh, d)} {unit} (bus {dear.bus})"
    )
    locational = rows[[key for key, _n, _c in PARTS if key != "energy_per_kwh"]].to_numpy(float)
    largest = result.summary.get("largest_dlmp_component")
    if period == result.period and largest and np.abs(locational).max(initial=0.0) >= NOISE:
        caption += f"; the largest locational part is {largest}"
    caption += "."
    err = result.summary.get("decomposition_error_per_kwh")
    if err is not None:
        caption += f" The parts add up to each DLMP within {err:.0e} {unit}."
    return Figure("dlmp_parts", layout, caption, keep=[chart])
