"""Prices over the day: the market price and its interval per period, DLMP bands and voltages with a network."""

from __future__ import annotations

from html import escape

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QLabel,
    QVBoxLayout,
    QWidget,
)

# module imports: these figure modules import this package's style, which imports this module
import gui.figures.day_prices as day_figure
import gui.figures.supply_demand as supply_demand
from core.market import MarketResult
from core.units import fmt_sig
from gui.market_panels.style import (
    DEMAND,
    DLMP_BAND,
    FEED_IN,
    HIGHLIGHT,
    LIMIT_RED,
    RETAIL,
    VOLTAGE,
    mechanism_title,
    price_unit,
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
        # the drawing is the report's figure's (gui.figures.day_prices): one code path
        self.chart = ch = day_figure.DayPricesChart()
        self.plot = supply_demand.plot_widget(ch.plot, self)
        self.retail, self.feed_in, self.price, self.dots, self.now = ch.retail, ch.feed_in, ch.price, ch.dots, ch.now
        self.dlmp_lo, self.dlmp_hi, self.dlmp_band = ch.dlmp_lo, ch.dlmp_hi, ch.dlmp_band
        self.legend = QLabel("", self)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        self.note = QLabel("", self)
        muted(self.note, "#555")
        self.note.setWordWrap(True)

        # the feeder's day (network results only): the voltage of the worst bus against its limit
        self.volt_plot = supply_demand.plot_widget(ch.volt_plot, self)
        self.v_min, self.v_min_ac, self.v_limit, self.v_now = ch.v_min, ch.v_min_ac, ch.v_limit, ch.v_now
        self.v_now_text = ch.v_now_text
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

    def _network(self, on: bool, tariffs: bool = True, volts: bool = True, ac: bool = False) -> None:
        """Show or hide the feeder's day (the DLMP band and the voltage plot below the prices)."""
        self.chart.layers(on, tariffs, volts, ac)
        volts = self.chart.volts
        self.volt_plot.setVisible(volts)
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
        chart = self.chart
        chart.show(result)
        self._network(chart.network, chart.tariffs, chart.volts, chart.ac)
        self._labels = chart.labels
        finite = np.isfinite(result.periods.price_per_kwh.to_numpy(float))
        if not finite.any():
            self.note.setText(f"{mechanism_title(result)}: no single market price — every trade pays its own.")
        elif not finite.all():
            self.note.setText("Gaps: periods without a single market price (no trade, or no uniform price).")
        else:
            self.note.setText("")
        self.period = -1
        self.set_period(result.period if period is None else period)

    def set_voltage_limit(self, v_min_pu: float | None) -> None:
        """The feeder's lower voltage limit, drawn under the lowest voltage (from the scenario)."""
        self.chart.v_min_limit = v_min_pu
        if self.result is not None and self.volt_plot.isVisibleTo(self):
            self.chart.feeder_day()

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
        self.chart.mark(t)
        network = result.buses is not None and "dlmp_min_per_kwh" in p and 0 <= t < T
        shown = f"{fmt_sig(price[t]) if 0 <= t < T and np.isfinite(price[t]) else '–'}"
        if network:
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
