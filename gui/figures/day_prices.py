"""The prices-over-the-day figure: the market price of every period between the tariffs, the chosen period marked;
with a network model the band of DLMPs (cheapest to dearest bus) and the voltage of the worst bus below.

:class:`DayPricesChart` draws the prices on one ``pg.PlotItem`` and the voltages on a second, x-linked; the Prices
over the day panel shows each in a plot widget (with its title, legend and notes as labels around them) and the
report renders both offscreen in one ``pg.GraphicsLayout`` with a title and an in-figure legend (figure
``"day_prices"``).
"""

from __future__ import annotations

from html import escape

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont

from core.market import MarketResult
from core.units import fmt_number, fmt_sig

# supply_demand as a module: the panels of gui.market_panels import the figure modules while that package loads
from gui.figures import Figure, figure
from gui.figures import supply_demand as sd
from gui.market_panels.style import (
    DEMAND,
    DLMP_BAND,
    FEED_IN,
    HIGHLIGHT,
    LIMIT_RED,
    RETAIL,
    VOLTAGE,
    dashed,
    hline,
    price_unit,
    set_line_label,
)

NOW = HIGHLIGHT.darker(130)  # the marked period's line


def _now_line(position: float) -> pg.InfiniteLine:
    line = pg.InfiniteLine(
        angle=90,
        movable=False,
        pen=pg.mkPen(NOW, width=2),
        label="",
        labelOpts={
            "position": position,
            "color": "#333",
            "anchors": [(0, 0.5), (0, 0.5)],
            "fill": pg.mkBrush(255, 255, 255, 210),
        },
    )
    line.setZValue(-5)
    return line


class DayPricesChart:
    """The market price in every period (a step line with a dot per period) between the retail and feed-in
    tariffs, a marker on one period; with a network model the DLMP band around the energy price and, on
    :attr:`volt_plot`, the lowest bus voltage of each period (LinDistFlow, dashed: AC) against the lower limit.
    """

    def __init__(self):
        self.plot = item = sd.new_plot()
        self.retail = item.plot([0.0], [], stepMode="center", pen=dashed(RETAIL), name="Retail import tariff")
        self.feed_in = item.plot([0.0], [], stepMode="center", pen=dashed(FEED_IN), name="Feed-in tariff")
        self.dlmp_lo = item.plot([0.0], [], stepMode="center", pen=pg.mkPen(DLMP_BAND, width=1.2))
        self.dlmp_hi = item.plot([0.0], [], stepMode="center", pen=pg.mkPen(DLMP_BAND, width=1.2))
        self.dlmp_band = pg.FillBetweenItem(
            self.dlmp_lo, self.dlmp_hi, brush=pg.mkBrush(DLMP_BAND.red(), DLMP_BAND.green(), DLMP_BAND.blue(), 70)
        )
        self.dlmp_band.setZValue(-2)
        item.addItem(self.dlmp_band)
        self.price = item.plot([0.0], [], stepMode="center", pen=pg.mkPen(DEMAND, width=2.4), name="Market price")
        self.dots = pg.ScatterPlotItem(size=6, pen=None, brush=pg.mkBrush(DEMAND))
        item.addItem(self.dots)
        self.now = _now_line(0.93)
        item.addItem(self.now)
        sd.set_label(item, "left", "Price")
        sd.set_label(item, "bottom", "Period (start time)")

        # the feeder's day (network results only): the voltage of the worst bus against its limit
        self.volt_plot = vi = sd.new_plot()
        vi.setXLink(self.plot)
        self.v_min = vi.plot([0.0], [], stepMode="center", pen=pg.mkPen(VOLTAGE, width=2.2))
        self.v_min_ac = vi.plot([0.0], [], stepMode="center", pen=dashed(VOLTAGE.lighter(150), 1.6))
        self.v_limit = hline(LIMIT_RED, 0.02, above=True)
        self.v_limit.setZValue(-1)
        vi.addItem(self.v_limit)
        self.v_now = _now_line(0.88)
        vi.addItem(self.v_now)
        # the period's worst voltage, written beside the marker above the curves (a line's own label sits under them)
        self.v_now_text = pg.TextItem("", color="#222", fill=pg.mkBrush(255, 255, 255, 225), anchor=(0, 0.5))
        self.v_now_text.setZValue(20)
        vi.addItem(self.v_now_text)
        sd.set_label(vi, "left", "V (p.u.)")

        self.result: MarketResult | None = None
        self.labels: list[str] = []
        self.period = -1
        self.v_min_limit: float | None = None
        self.network = False  # DLMPs drawn
        self.tariffs = True  # the retail and feed-in tariffs drawn
        self.volts = False  # the voltage plot in use
        self.ac = False  # the AC check's voltages drawn
        self.label_pt = 9.0
        self.layers(False)

    def layers(self, network: bool, tariffs: bool = True, volts: bool = True, ac: bool = False) -> None:
        """Show or hide the feeder's day (the DLMP band; the voltage plot is in use or not)."""
        for it in (self.dlmp_lo, self.dlmp_hi, self.dlmp_band):
            it.setVisible(network)
        self.retail.setVisible(tariffs)
        self.feed_in.setVisible(tariffs)
        volts = network and volts
        self.network, self.tariffs, self.volts, self.ac = network, tariffs, volts, ac
        bottom = self.plot.getAxis("bottom")
        bottom.setStyle(showValues=not volts)
        bottom.showLabel(not volts)

    def show(self, result: MarketResult) -> None:
        """Draw every period of ``result`` (the marker: :meth:`mark`)."""
        self.result = result
        p = result.periods
        T = len(p)
        unit = price_unit(result)
        edges = np.arange(T + 1, dtype=float) - 0.5
        x = p.period.to_numpy(float)
        price = p.price_per_kwh.to_numpy(float)
        self.price.setData(edges, price, stepMode="center")
        finite = np.isfinite(price)
        self.dots.setData(x[finite], price[finite])
        self.retail.setData(edges, p.retail_price_per_kwh.to_numpy(float), stepMode="center")
        self.feed_in.setData(edges, p.feed_in_price_per_kwh.to_numpy(float), stepMode="center")
        network = result.buses is not None and "dlmp_min_per_kwh" in p
        # with the wholesale price as the outside option the tariffs play no part: leave them out
        tariffs = not (network and result.settings.grid_prices == "wholesale")
        self.layers(network, tariffs, volts=result.settings.network != "dc", ac=network and "v_pu_ac" in result.buses)
        vals = [price[finite]]
        if tariffs:
            vals += [p.retail_price_per_kwh.to_numpy(float), p.feed_in_price_per_kwh.to_numpy(float)]
        if network:
            lo, hi = p.dlmp_min_per_kwh.to_numpy(float), p.dlmp_max_per_kwh.to_numpy(float)
            self.dlmp_lo.setData(edges, lo, stepMode="center")
            self.dlmp_hi.setData(edges, hi, stepMode="center")
            vals += [lo, hi]
            self.feeder_day()
        labels = [str(v) for v in p.time] if "time" in p else [str(i) for i in range(T)]
        self.labels = labels
        every = max(1, int(np.ceil(T / 8)))
        ticks = [[(i, labels[i]) for i in range(0, T, every)], [(i, "") for i in range(T)]]
        for plot in (self.plot, self.volt_plot):
            plot.getAxis("bottom").setTicks(ticks)
        sd.set_label(self.plot, "left", unit if network else f"Price ({unit})", self.label_pt)
        vals = np.concatenate(vals)
        vals = vals[np.isfinite(vals)]
        vb = self.plot.getViewBox()
        if vals.size:
            lo, hi = float(vals.min()), float(vals.max())
            span = hi - lo if hi - lo > 1e-9 * (1.0 + abs(hi)) else 0.0  # a spread of solver noise is none
            pad = 0.1 * (span or abs(hi) or 1.0)
            vb.setYRange(lo - pad, hi + 1.8 * pad, padding=0)  # room for the period's label at the top
        vb.setXRange(-0.6, T - 0.4, padding=0)
        self.period = -1

    def feeder_day(self) -> None:
        """The lowest voltage of each period (and the AC check's) against the lower limit."""
        result = self.result
        p = result.periods
        edges = np.arange(len(p) + 1, dtype=float) - 0.5
        v = p.v_min_pu.to_numpy(float)
        self.v_min.setData(edges, v, stepMode="center")
        ys = [v]
        b = result.buses
        if "v_pu_ac" in b:
            ac = b.groupby("period").v_pu_ac.min().reindex(p.period).to_numpy(float)
            self.v_min_ac.setData(edges, ac, stepMode="center")
            self.v_min_ac.setVisible(True)
            ys.append(ac)
        else:
            self.v_min_ac.setData([0.0], [], stepMode="center")
            self.v_min_ac.setVisible(False)
        limit = self.v_min_limit
        if limit is not None:
            self.v_limit.setValue(limit)
            set_line_label(self.v_limit, f"limit {fmt_sig(limit)} p.u.")
            ys.append(np.array([limit]))
        self.v_limit.setVisible(limit is not None)
        ys = np.concatenate(ys)
        ys = ys[np.isfinite(ys)]
        if ys.size:
            lo, hi = float(ys.min()), float(ys.max())
            pad = 0.12 * (hi - lo or 0.01)
            self.volt_plot.getViewBox().setYRange(lo - 1.6 * pad, hi + pad, padding=0)

    def mark(self, period: int) -> None:
        """Mark ``period`` (its time on the marker; with a network, its worst voltage and bus)."""
        result = self.result
        self.period = t = period
        p = result.periods
        T = len(p)
        label = self.labels[t] if 0 <= t < T else ""
        right = t > 0.6 * (T - 1)  # late in the day the labels go left of the marker, not off the plot
        for line in (self.now, self.v_now):
            line.setValue(float(t))
            anchor = (1.0, 0.5) if right else (0.0, 0.5)
            line.label.anchors = [anchor, anchor]
            line.label.updatePosition()
        set_line_label(self.now, label)
        if self.network and 0 <= t < T:
            b = result.buses[result.buses.period == t]
            worst = b.loc[b.v_pu.idxmin()] if len(b) else None
            v = float(p.v_min_pu.iloc[t])
            self.v_now_text.setText(f"{fmt_number(v, 4)} p.u." + (f" · bus {worst.bus}" if worst is not None else ""))
            (_x0, _x1), (y0, y1) = self.volt_plot.getViewBox().viewRange()
            low = v < 0.5 * (y0 + y1)  # write it where the period's own value is not
            self.v_now_text.setAnchor((1.0, 0.5) if right else (0.0, 0.5))
            self.v_now_text.setPos(t + (-0.3 if right else 0.3), y0 + (0.8 if low else 0.25) * (y1 - y0))

    def for_print(self) -> None:
        """Fonts readable at the report's size: ticks, axis labels, the marker's and the voltage's labels."""
        self.label_pt = sd.PRINT_LABEL_PT
        for plot in (self.plot, self.volt_plot):
            sd.for_print(plot)
        font = QFont()
        font.setPointSizeF(sd.PRINT_TICK_PT)
        for text in (self.now.label, self.v_now.label, self.v_limit.label, self.v_now_text):
            text.setFont(font)


# --- the report's figure ----------------------------------------------------------------------------------------


def _legend(chart: DayPricesChart) -> pg.LegendItem:
    if chart.network:
        entries = [(sd.line_sample(DEMAND, 2.4), "energy price"), (sd.box_sample(DLMP_BAND), "DLMPs, all buses")]
    else:
        entries = [(sd.line_sample(DEMAND, 2.4), "market price")]
    if chart.tariffs:
        entries += [(sd.line_sample(RETAIL, 1.5, True), "retail"), (sd.line_sample(FEED_IN, 1.5, True), "feed-in")]
    if chart.volts:
        entries.append((sd.line_sample(VOLTAGE), "worst bus V"))
        if chart.ac:
            entries.append((sd.line_sample(VOLTAGE.lighter(150), 1.6, True), "AC"))
        if chart.v_min_limit is not None:
            entries.append((sd.line_sample(LIMIT_RED, 1.5, True), "V limit"))
    entries.append((sd.line_sample(NOW, 2.0), "report's period"))
    return sd.legend(entries)


@figure("day_prices")
def build(result: MarketResult | None, scenario, period: int) -> Figure | None:
    """The market's prices over the day for print: a title, an in-figure legend, the prices (and voltages)."""
    if result is None or result.periods is None or len(result.periods) == 0:
        return None
    p = result.periods
    T = len(p)
    chart = DayPricesChart()
    chart.for_print()
    if scenario is not None:
        chart.v_min_limit = scenario.feeder.v_min_pu
    chart.show(result)
    t = period if 0 <= period < T else result.period
    when = sd.time_of(result, t)
    unit = price_unit(result)
    title = "Feeder day" if chart.network else "Prices over the day"
    layout = sd.figure_layout(
        f"<b>{title}</b> · {escape(sd.short_mechanism(result))} · {escape(sd.short_model(result))} · "
        f"marked: {escape(when)}"
    )
    layout.addItem(_legend(chart), row=1, col=0)
    layout.addItem(chart.plot, row=2, col=0)
    if chart.volts:
        layout.addItem(chart.volt_plot, row=3, col=0)
        layout.layout.setRowStretchFactor(2, 2)
        layout.layout.setRowStretchFactor(3, 1)
        sd.set_label(chart.volt_plot, "bottom", "Period (start time)", sd.PRINT_LABEL_PT)
        # the two plots' left axes as wide, so that their periods line up
        for plot in (chart.plot, chart.volt_plot):
            plot.getAxis("left").setWidth(62)
    sd.layout_now(layout)
    # drawn once, before the x-link has carried the range over: the voltages' periods under the prices'
    chart.volt_plot.setXRange(*chart.plot.getViewBox().viewRange()[0], padding=0)
    chart.mark(t)

    price = p.price_per_kwh.to_numpy(float)
    shown = f"{fmt_sig(price[t])} {unit}" if np.isfinite(price[t]) else "no single price"
    span = f"{T} periods from {chart.labels[0]} to {chart.labels[-1]}" if T > 1 else f"one period ({chart.labels[0]})"
    each = "each of the " if T > 1 else ""
    if chart.network:
        caption = (
            f"The feeder's day under {sd.mechanism_words(result)} {sd.on_model(result)}: the energy price at the "
            f"substation in {each}{span} (blue) and the band of the distribution locational marginal prices "
            f"(DLMPs) from the cheapest bus to the dearest (orange), in {unit}."
        )
        if chart.volts:
            caption += " Below: the lowest bus voltage of each period (p.u.)"
            caption += ", dashed the AC power flow's," if chart.ac else ""
            caption += (
                f" against the lower limit of {fmt_sig(chart.v_min_limit)} p.u. (red)."
                if chart.v_min_limit is not None
                else "."
            )
        caption += (
            f" The report's period, {when} (marked), has energy at {shown} and DLMPs from "
            f"{fmt_sig(p.dlmp_min_per_kwh.iloc[t])} to {fmt_sig(p.dlmp_max_per_kwh.iloc[t])} {unit}"
        )
        if chart.volts:
            caption += f"; its lowest voltage is {chart.v_now_text.toPlainText().replace(' · ', ' at ')}"
        caption += "."
        if not chart.tariffs:
            caption += (
                " With a network the market trades with the grid at the wholesale price, so the tariffs (what the "
                "gains are measured against) are not drawn."
            )
    else:
        caption = (
            f"The market price in {each}{span} under {sd.mechanism_words(result)} {sd.on_model(result)}, in {unit}, "
            "between the "
            f"retail import tariff (purple, dashed) and the feed-in tariff (green, dashed) that the grid offers "
            f"instead. The report's period, {when} (marked), clears at {shown}."
        )
    if not np.isfinite(price).any():
        caption += " No period has a single market price: every trade pays its own."
    elif not np.isfinite(price).all():
        caption += " Gaps are periods without a single market price (no trade, or no uniform price)."
    return Figure("day_prices", layout, caption, keep=[chart])
