"""Prices over the day: the market price and its interval per period, DLMP bands and voltages with a network."""

from __future__ import annotations

from html import escape

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QLabel,
    QVBoxLayout,
    QWidget,
)

from core.market import MarketResult
from core.units import fmt_number, fmt_sig
from gui.market_panels.style import (
    DEMAND,
    DLMP_BAND,
    FEED_IN,
    HIGHLIGHT,
    LIMIT_RED,
    RETAIL,
    VOLTAGE,
    axis_label,
    dashed,
    hline,
    make_plot,
    mechanism_title,
    price_unit,
    set_line_label,
)
from gui.presenting import muted


class DayPricesPanel(QWidget):
    """The market price in every period, between the retail and feed-in tariffs; the chosen period marked.

    With a network model the panel is the feeder's day: the band of DLMPs
    (cheapest to dearest bus) around the substation's energy price, and below
    it the voltage of the worst bus against the lower limit. The period marker
    follows the period slider (:meth:`set_period`) without a new clearing.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result: MarketResult | None = None
        self.period = 0
        self.title = QLabel("No market cleared yet", self)
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.plot = make_plot(self)
        item = self.plot.getPlotItem()
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
        self.now = self._now_line(0.93)
        item.addItem(self.now)
        self.legend = QLabel("", self)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        self.note = QLabel("", self)
        muted(self.note, "#555")
        self.note.setWordWrap(True)
        axis_label(self.plot, "left", "Price")
        axis_label(self.plot, "bottom", "Period (start time)")

        # the feeder's day (network results only): the voltage of the worst bus against its limit
        self.volt_plot = make_plot(self)
        self.volt_plot.setXLink(self.plot)
        vi = self.volt_plot.getPlotItem()
        self.v_min = vi.plot([0.0], [], stepMode="center", pen=pg.mkPen(VOLTAGE, width=2.2))
        self.v_min_ac = vi.plot([0.0], [], stepMode="center", pen=dashed(VOLTAGE.lighter(150), 1.6))
        self.v_limit = hline(LIMIT_RED, 0.02, above=True)
        self.v_limit.setZValue(-1)
        vi.addItem(self.v_limit)
        self.v_now = self._now_line(0.88)
        vi.addItem(self.v_now)
        # the period's worst voltage, written beside the marker above the curves (a line's own label sits under them)
        self.v_now_text = pg.TextItem("", color="#222", fill=pg.mkBrush(255, 255, 255, 225), anchor=(0, 0.5))
        self.v_now_text.setZValue(20)
        vi.addItem(self.v_now_text)
        axis_label(self.volt_plot, "left", "V (p.u.)")
        self.volt_plot.setMinimumHeight(80)
        self.volt_plot.setToolTip(
            "The lowest bus voltage of each period (LinDistFlow; dashed: the AC power flow's), "
            "against the feeder's lower voltage limit"
        )

        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(2)
        lay.addWidget(self.title)
        lay.addWidget(self.legend)
        lay.addWidget(self.plot, 2)  # the prices first; the voltage strip a third
        lay.addWidget(self.volt_plot, 1)
        lay.addWidget(self.note)
        self._network(False)

    @staticmethod
    def _now_line(position: float) -> pg.InfiniteLine:
        line = pg.InfiniteLine(
            angle=90,
            movable=False,
            pen=pg.mkPen(HIGHLIGHT.darker(130), width=2),
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

    def _network(self, on: bool, tariffs: bool = True, volts: bool = True, ac: bool = False) -> None:
        """Show or hide the feeder's day (the DLMP band and the voltage plot below the prices)."""
        for it in (self.dlmp_lo, self.dlmp_hi, self.dlmp_band):
            it.setVisible(on)
        self.retail.setVisible(tariffs)
        self.feed_in.setVisible(tariffs)
        volts = on and volts
        self.volt_plot.setVisible(volts)
        bottom = self.plot.getPlotItem().getAxis("bottom")
        bottom.setStyle(showValues=not volts)
        bottom.showLabel(not volts)
        if on:
            legend = (
                f"<nobr><span style='color:{DEMAND.name()}'>━━</span> energy price</nobr> &nbsp; "
                f"<nobr><span style='color:{DLMP_BAND.name()}'>▇▇</span> DLMPs, all buses</nobr> &nbsp; "
            )
            if tariffs:
                legend += (
                    f"<nobr><span style='color:{RETAIL.name()}'>╍╍</span> retail</nobr> &nbsp; "
                    f"<nobr><span style='color:{FEED_IN.name()}'>╍╍</span> feed-in</nobr> &nbsp; "
                )
            if volts:
                legend += f"<nobr><span style='color:{VOLTAGE.name()}'>━━</span> worst bus V</nobr> &nbsp; "
                if ac:
                    legend += f"<nobr><span style='color:{VOLTAGE.lighter(150).name()}'>╍╍</span> AC</nobr> &nbsp; "
                legend += f"<nobr><span style='color:{LIMIT_RED.name()}'>╍╍</span> V limit</nobr>"
        else:
            legend = (
                f"<span style='color:{DEMAND.name()}'>━━</span> market price &nbsp; "
                f"<span style='color:{RETAIL.name()}'>╍╍</span> retail import tariff &nbsp; "
                f"<span style='color:{FEED_IN.name()}'>╍╍</span> feed-in tariff &nbsp; "
                f"<span style='color:{HIGHLIGHT.darker(130).name()}'>┃</span> current period"
            )
        self.legend.setText(legend)

    def set_result(self, result: MarketResult, period: int | None = None) -> None:
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
        self._network(network, tariffs, volts=result.settings.network != "dc", ac=network and "v_pu_ac" in result.buses)
        vals = [price[finite]]
        if tariffs:
            vals += [p.retail_price_per_kwh.to_numpy(float), p.feed_in_price_per_kwh.to_numpy(float)]
        if network:
            lo, hi = p.dlmp_min_per_kwh.to_numpy(float), p.dlmp_max_per_kwh.to_numpy(float)
            self.dlmp_lo.setData(edges, lo, stepMode="center")
            self.dlmp_hi.setData(edges, hi, stepMode="center")
            vals += [lo, hi]
            self._feeder_day(result, edges)
        labels = [str(v) for v in p.time] if "time" in p else [str(i) for i in range(T)]
        self._labels = labels
        every = max(1, int(np.ceil(T / 8)))
        ticks = [[(i, labels[i]) for i in range(0, T, every)], [(i, "") for i in range(T)]]
        for w in (self.plot, self.volt_plot):
            w.getPlotItem().getAxis("bottom").setTicks(ticks)
        axis_label(self.plot, "left", unit if network else f"Price ({unit})")
        vals = np.concatenate(vals)
        vals = vals[np.isfinite(vals)]
        vb = self.plot.getPlotItem().getViewBox()
        if vals.size:
            lo, hi = float(vals.min()), float(vals.max())
            span = hi - lo if hi - lo > 1e-9 * (1.0 + abs(hi)) else 0.0  # a spread of solver noise is none
            pad = 0.1 * (span or abs(hi) or 1.0)
            vb.setYRange(lo - pad, hi + 1.8 * pad, padding=0)  # room for the period's label at the top
        vb.setXRange(-0.6, T - 0.4, padding=0)
        if not finite.any():
            self.note.setText(f"{mechanism_title(result)}: no single market price — every trade pays its own.")
        elif not finite.all():
            self.note.setText("Gaps: periods without a single market price (no trade, or no uniform price).")
        else:
            self.note.setText("")
        self.period = -1
        self.set_period(result.period if period is None else period)

    def _feeder_day(self, result: MarketResult, edges: np.ndarray) -> None:
        p = result.periods
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
        limit = self._v_min_limit
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
            self.volt_plot.getPlotItem().getViewBox().setYRange(lo - 1.6 * pad, hi + pad, padding=0)

    _v_min_limit: float | None = None

    def set_voltage_limit(self, v_min_pu: float | None) -> None:
        """The feeder's lower voltage limit, drawn under the lowest voltage (from the scenario)."""
        self._v_min_limit = v_min_pu
        if self.result is not None and self.volt_plot.isVisibleTo(self):
            self._feeder_day(self.result, np.arange(len(self.result.periods) + 1, dtype=float) - 0.5)

    def set_period(self, period: int) -> None:
        """Mark ``period`` (no new clearing: the result holds every period)."""
        result = self.result
        if result is None or period == self.period:
            return
        self.period = t = period
        p = result.periods
        T = len(p)
        labels = self._labels
        unit = price_unit(result)
        price = p.price_per_kwh.to_numpy(float)
        label = labels[t] if 0 <= t < T else ""
        right = t > 0.6 * (T - 1)  # late in the day the labels go left of the marker, not off the plot
        for line in (self.now, self.v_now):
            line.setValue(float(t))
            anchor = (1.0, 0.5) if right else (0.0, 0.5)
            line.label.anchors = [anchor, anchor]
            line.label.updatePosition()
        set_line_label(self.now, label)
        network = result.buses is not None and "dlmp_min_per_kwh" in p and 0 <= t < T
        shown = f"{fmt_sig(price[t]) if 0 <= t < T and np.isfinite(price[t]) else '–'}"
        if network:
            b = result.buses[result.buses.period == t]
            worst = b.loc[b.v_pu.idxmin()] if len(b) else None
            v = float(p.v_min_pu.iloc[t])
            self.v_now_text.setText(f"{fmt_number(v, 4)} p.u." + (f" · bus {worst.bus}" if worst is not None else ""))
            (_x0, _x1), (y0, y1) = self.volt_plot.getPlotItem().getViewBox().viewRange()
            low = v < 0.5 * (y0 + y1)  # write it where the period's own value is not
            self.v_now_text.setAnchor((1.0, 0.5) if right else (0.0, 0.5))
            self.v_now_text.setPos(t + (-0.3 if right else 0.3), y0 + (0.8 if low else 0.25) * (y1 - y0))
            text = (
                f"<b>Feeder day</b> · {escape(label)} · energy {shown} {escape(unit)} · DLMPs "
                f"{fmt_sig(p.dlmp_min_per_kwh.iloc[t])}–{fmt_sig(p.dlmp_max_per_kwh.iloc[t])} {escape(unit)}"
            )
            self.title.setToolTip(
                f"Prices in {unit}; the DLMPs of the period range from the cheapest bus to the dearest"
            )
        else:
            text = (
                f"<b>Prices over the horizon</b> · {escape(mechanism_title(result))} · "
                f"{T} period{'s' if T != 1 else ''} · current: {escape(label)} · price {shown} {escape(unit)}"
            )
        self.title.setText(text)
