"""The Market power panel: who sells how much, how concentrated the market is, and each seller's markup.

It shows a :class:`core.market.MarketResult`'s ``market_power`` (per seller of
the chosen period: shares, marginal cost, Lerner observed and Cournot, RSI)
and ``market_power_summary`` (HHI, its band, the demand elasticity, the
pivotal sellers). Nothing is computed here that core returns.

* :class:`HHIGauge` — the HHI on its 0–1 scale with the three concentration bands;
* :class:`MarketPowerPanel` — shares, the gauge, Lerner per seller, pivotal sellers.
"""

from __future__ import annotations

import math
from html import escape

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QFont, QPainter, QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from core.market import MECHANISM_LABELS, MarketResult
from core.units import fmt_number, fmt_sig
from gui.charts import index_at
from gui.figures.fairness import plot_widget
from gui.figures.market_power import (
    COURNOT,
    INF_TEXT,
    OBSERVED,
    PIVOTAL,
    SHARE,
    MarketPowerChart,
    band_colour,
    gauge_bar,
    gauge_x,
    hhi_text,
    lerner_text,
    paint_gauge,
    sorted_sellers,
)
from gui.market_panels import _note, period_label, price_unit
from gui.presenting import muted


class HHIGauge(QWidget):
    """A horizontal 0–1 scale coloured by band, a marker at the HHI."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.value: float | None = None
        self.setMinimumHeight(40)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip(
            "Herfindahl–Hirschman index HHI = Σ s_i² of the sellers' shares of the kWh sold (0–1; "
            "× 10,000 = points). Bands: unconcentrated below 0.15, moderately concentrated 0.15–0.25, "
            "highly concentrated above 0.25 (the chapter's threshold; US DOJ/FTC Horizontal Merger "
            "Guidelines 2010: 1,500 and 2,500 points)."
        )

    def sizeHint(self) -> QSize:
        return QSize(400, 42)

    def set_value(self, h: float | None) -> None:
        self.value = h if h is not None and math.isfinite(h) else None
        self.update()

    def _bar(self) -> QRectF:
        return gauge_bar(self.width())

    def x_of(self, h: float) -> float:
        return gauge_x(self.width(), h)

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        font = QFont(self.font())
        font.setPointSizeF(8.0)
        # ticks under the bar in the palette's text colour (readable on the dark theme too)
        paint_gauge(p, self.width(), self.value, font, self.palette().color(QPalette.ColorRole.WindowText))
        p.end()


class MarketPowerPanel(QWidget):
    """The chosen period's sellers: shares (sorted), the HHI gauge, Lerner observed vs Cournot, pivotal sellers."""

    NO_POWER = "No market-power report in this result (no sellers in the period, or it was not computed)."

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result: MarketResult | None = None
        self.sellers = pd.DataFrame()
        self._eps_text = ""
        self.title = QLabel("No market cleared yet", self)
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.hhi_label = QLabel("", self)
        self.hhi_label.setTextFormat(Qt.TextFormat.RichText)
        self.gauge = HHIGauge(self)
        self.hhi_label.setToolTip(self.gauge.toolTip())

        # shares: kWh sold (bars) over capacity offered (pale bars behind); pivotal sellers in red; Lerner
        # observed vs Cournot — drawn by the report's chart
        self.chart = MarketPowerChart()
        c = self.chart
        self.share_plot = plot_widget(c.share_plot, self, (140, 60))
        self.capacity_bars, self.share_bars, self.share_names = c.capacity_bars, c.share_bars, c.share_names
        self.lerner_plot = plot_widget(c.lerner_plot, self, (140, 60))
        self.observed_bars, self.cournot_bars, self.inf_bars = c.observed_bars, c.cournot_bars, c.inf_bars
        self.lerner_names = c.lerner_names

        self.share_legend = QLabel(
            "<nobr>Share, largest first:</nobr> "
            f"<nobr><span style='color:{SHARE.name()}'>■</span> of kWh sold</nobr> &nbsp; "
            f"<nobr><span style='color:{SHARE.name()}'>□</span> of kWh offered</nobr> &nbsp; "
            f"<nobr><span style='color:{PIVOTAL.name()}'>■</span> pivotal</nobr>",
            self,
        )
        self.share_legend.setToolTip(
            "Each seller's share of the kWh sold in the period (the HHI's shares), over its "
            "share of the kWh offered; pivotal sellers (RSI < 1) in red"
        )
        self.share_legend.setTextFormat(Qt.TextFormat.RichText)
        self.share_legend.setWordWrap(True)

        self._lerner_legend = (
            "<nobr>Lerner (P − mc)/P:</nobr> "
            f"<nobr><span style='color:{OBSERVED.name()}'>■</span> observed</nobr> &nbsp; "
            f"<nobr><span style='color:{COURNOT.name()}'>■</span> Cournot s<sub>i</sub>/|ε|</nobr>"
        )
        self.lerner_legend = QLabel(self._lerner_legend, self)
        self.lerner_legend.setTextFormat(Qt.TextFormat.RichText)
        self.lerner_legend.setWordWrap(True)
        self.lerner_legend.setToolTip(
            "Observed: the clearing price against the seller's marginal cost at its last kWh sold. Cournot: what a "
            "Cournot seller with the same share would mark up, s_i/|ε|, ε the demand's price elasticity at the "
            "clearing point. ∞ (locally inelastic): demand does not respond to the price there (ε = 0), so the "
            "Cournot markup is unbounded."
        )

        left = QWidget(self)
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.setSpacing(2)
        ll.addWidget(self.share_legend)
        ll.addWidget(self.share_plot, 1)
        right = QWidget(self)
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.setSpacing(2)
        rl.addWidget(self.lerner_legend)
        rl.addWidget(self.lerner_plot, 1)
        self.split = QSplitter(Qt.Orientation.Horizontal, self)
        self.split.addWidget(left)
        self.split.addWidget(right)
        self.split.setChildrenCollapsible(False)

        self.pivotal = QLabel("", self)
        self.pivotal.setWordWrap(True)
        self.pivotal.setTextFormat(Qt.TextFormat.RichText)
        self.pivotal.setToolTip(
            "Residual supply index RSI_i = (Σ local capacity − capacity_i)/demand cleared: below "
            "1 the other local sellers alone cannot serve the demand, so seller i is pivotal "
            "— it can withhold and raise the price, up to the retail tariff at which the grid "
            "serves the rest"
        )
        self.hover = QLabel(" ", self)
        muted(self.hover, "#333")
        self.hover.setTextFormat(Qt.TextFormat.RichText)
        self.hover.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.hover.setFixedHeight(self.hover.fontMetrics().lineSpacing() + 4)

        page = QWidget(self)
        pl = QVBoxLayout(page)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.setSpacing(2)
        hhi = QHBoxLayout()
        hhi.setContentsMargins(0, 0, 0, 0)
        hhi.addWidget(self.hhi_label)
        hhi.addWidget(self.gauge, 1)
        pl.addLayout(hhi)
        pl.addWidget(self.split, 1)
        pl.addWidget(self.pivotal)
        pl.addWidget(self.hover)
        self.note = _note(self.NO_POWER, self)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(page)
        self.stack.addWidget(self.note)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(2)
        lay.addWidget(self.title)
        lay.addWidget(self.stack, 1)
        self.stack.setCurrentWidget(self.note)
        for plot in (self.share_plot, self.lerner_plot):
            plot.scene().sigMouseMoved.connect(lambda pos, plot=plot: self._mouse_moved(plot, pos))

    # --- data ---------------------------------------------------------------------------
    def set_result(self, result: MarketResult) -> None:
        self.result = result
        mp, summary = result.market_power, result.market_power_summary or {}
        when = escape(period_label(result))
        if mp is None or len(mp) == 0:
            self.sellers = pd.DataFrame()
            self.title.setText(f"<b>Market power</b> · {when}: no sellers")
            self.stack.setCurrentWidget(self.note)
            return
        self.stack.setCurrentIndex(0)
        s = sorted_sellers(mp)
        self.sellers = s
        n = len(s)
        unit = price_unit(result)
        mech = result.settings.mechanism
        if mech == "welfare":
            how = "the uniform-price auction of the same bids (the welfare clearing's price-taking twin)"
        else:
            how = f"the {MECHANISM_LABELS.get(mech, mech).lower()}"
        eps = summary.get("elasticity", float("nan"))
        eps_text = (
            "ε = 0 (locally inelastic)"
            if eps == 0
            else f"ε = {fmt_sig(eps, 3)}"
            if eps is not None and math.isfinite(eps)
            else "ε –"
        )
        price = summary.get("price", float("nan"))
        on = (
            "measured on the uniform-price auction of the same bids (copper plate, tariffs)"
            if mech == "welfare"
            else ""
        )
        self.title.setText(
            f"<b>Market power</b> · {when} · {n} seller{'s' if n != 1 else ''} · price {fmt_sig(price)} "
            f"{escape(unit)} · {fmt_sig(summary.get('traded_kwh', 0.0))} kWh traded" + (f" · {on}" if on else "")
        )
        self.title.setToolTip(
            f"Measured on {how}, the period's truthful bids and asks; demand elasticity at the "
            f"clearing point {eps_text}"
        )
        self._eps_text = eps_text
        h = summary.get("hhi", float("nan"))
        colour = band_colour(h).darker(160).name() if h is not None and math.isfinite(h) else "#333"
        cap = summary.get("hhi_capacity")
        cap_text = (
            f" (of the capacity offered: HHI {fmt_number(cap, 2)})" if cap is not None and math.isfinite(cap) else ""
        )
        head, _sep, band = hhi_text(summary).rpartition(" · ")
        self.hhi_label.setText(f"<b style='font-size:11.5pt; color:{colour}'>{escape(head)}<br>{escape(band)}</b>")
        self.hhi_label.setToolTip(f"{hhi_text(summary)}{cap_text}\n\n{self.gauge.toolTip()}")
        self.gauge.set_value(h)
        self.chart.show(s)
        self._lerner_legend_text()
        piv = list(summary.get("pivotal", []))
        if not piv:
            self.pivotal.setText(
                "<b>Pivotal sellers</b> (RSI &lt; 1): none — the others could always serve the "
                "demand without any one seller"
            )
        else:
            shown = ", ".join(escape(str(a)) for a in piv[:12])
            more = f" … and {len(piv) - 12} more" if len(piv) > 12 else ""
            self.pivotal.setText(
                f"<b>Pivotal sellers</b> (RSI &lt; 1): <span style='color:{PIVOTAL.name()}'>"
                f"{shown}{more}</span> — without any one of them the other local sellers cannot "
                "serve the demand; the grid still can, at the retail price, which caps what a "
                "pivotal seller can charge"
            )
        self.hover.setText("Hover a seller for its numbers")

    @property
    def inf_labels(self) -> list[pg.TextItem]:
        return self.chart.inf_labels

    def _lerner_legend_text(self) -> None:
        k = self.chart.n_infinite
        eps = f" <nobr>({escape(self._eps_text)})</nobr>" if k == 0 else ""
        extra = f" &nbsp; <nobr><span style='color:{COURNOT.name()}'>▨</span> <b>{INF_TEXT}</b></nobr>" if k else ""
        self.lerner_legend.setText(self._lerner_legend + eps + extra)

    # --- reading back (tests, reports) -----------------------------------------------------
    def drawn_shares(self) -> dict[str, float]:
        """Share of kWh sold per seller as drawn (%)."""
        h = self.share_bars.opts["height"]
        return {str(a): float(h[i]) for i, a in enumerate(self.sellers.agent)} if len(self.sellers) else {}

    def describe(self, i: int) -> str:
        r = self.sellers.iloc[i]
        unit = escape(price_unit(self.result))
        mc = "–" if not np.isfinite(r.marginal_cost) else f"{fmt_sig(r.marginal_cost)} {unit}"
        return (
            f"<b>{escape(str(r.agent))}</b> · sold {fmt_sig(r.sold_kwh)} of {fmt_sig(r.capacity_kwh)} kWh "
            f"offered · share {fmt_number(100 * np.nan_to_num(r.share), 1)} % · mc {mc} · Lerner observed "
            f"{lerner_text(float(r.lerner_observed))}, Cournot {lerner_text(float(r.lerner_cournot))} · "
            f"RSI {fmt_number(r.rsi, 2) if np.isfinite(r.rsi) else '∞'}"
            + (" · <b>pivotal</b>" if bool(r.pivotal) else "")
        )

    def _mouse_moved(self, plot, scene_pos) -> None:
        i = index_at(plot, scene_pos, len(self.sellers))
        if i is not None:
            self.hover.setText(self.describe(i))


__all__ = ["HHIGauge", "MarketPowerPanel", "hhi_text", "lerner_text"]
