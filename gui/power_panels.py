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
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from core.market import MECHANISM_LABELS, MarketResult
from core.units import fmt_number, fmt_sig
from gui.charts import CategoryTicks, index_at
from gui.market_panels import _note, axis_label, make_plot, period_label, price_unit
from gui.presenting import muted

# HHI bands on the 0–1 scale (the chapter's 0.25; DOJ/FTC 2010: 1,500 and 2,500 points)
BAND_MODERATE = 0.15
BAND_HIGH = 0.25
BANDS = (  # from, to, name, short name, colour
    (0.0, BAND_MODERATE, "unconcentrated", "low", QColor(168, 214, 160)),
    (BAND_MODERATE, BAND_HIGH, "moderate", "mod.", QColor(250, 212, 120)),
    (BAND_HIGH, 1.0, "highly concentrated", "high", QColor(240, 150, 140)),
)
SHARE = QColor(31, 119, 180)
CAPACITY = QColor(31, 119, 180, 60)
PIVOTAL = QColor(190, 30, 45)
OBSERVED = QColor(232, 125, 30)
COURNOT = QColor(128, 80, 190)
INF_TEXT = "∞ (locally inelastic)"


def band_colour(h: float) -> QColor:
    for lo, hi, _name, _short, colour in BANDS:
        if lo <= h and (h < hi or hi == 1.0):
            return colour
    return BANDS[-1][4]


def hhi_text(summary: dict) -> str:
    """``HHI 0.30 · 3,000 points · highly concentrated`` (or why there is none)."""
    h = summary.get("hhi", float("nan"))
    if h is None or not math.isfinite(h):
        return f"HHI – · {summary.get('band', 'no trade')}"
    return (
        f"HHI {fmt_number(h, 2)} · {fmt_number(summary.get('hhi_points', 10_000 * h), 0)} points · "
        f"{summary.get('band', '')}"
    )


def lerner_text(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if math.isinf(x):
        return INF_TEXT
    return fmt_number(x, 3)


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
        return QRectF(8.0, 4.0, max(self.width() - 16.0, 10.0), 16.0)

    def x_of(self, h: float) -> float:
        r = self._bar()
        return r.left() + min(max(h, 0.0), 1.0) * r.width()

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = self._bar()
        font = QFont(self.font())
        font.setPointSizeF(8.0)
        p.setFont(font)
        fm = QFontMetricsF(font)
        for lo, hi, name, short, colour in BANDS:
            band = QRectF(self.x_of(lo), r.top(), self.x_of(hi) - self.x_of(lo), r.height())
            p.fillRect(band, colour)
            label = next((t for t in (name, short) if fm.horizontalAdvance(t) <= band.width() - 4.0), None)
            if label is not None:
                p.setPen(QColor("#333"))
                p.drawText(band, Qt.AlignmentFlag.AlignCenter, label)
        p.setPen(QPen(QColor("#666"), 1.0))
        p.drawRect(r)
        # ticks under the bar, in the palette's text colour (readable on the dark theme too)
        p.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        for v in (0.0, BAND_MODERATE, BAND_HIGH, 0.5, 0.75, 1.0):
            x = self.x_of(v)
            p.drawLine(QPointF(x, r.bottom()), QPointF(x, r.bottom() + 3))
            text = fmt_sig(v, 2) if v not in (0.0, 1.0) else str(int(v))
            w = fm.horizontalAdvance(text)
            left = min(max(x - w / 2, 0.0), self.width() - w)
            p.drawText(QPointF(left, r.bottom() + 4 + fm.ascent()), text)
        if self.value is not None:
            x = self.x_of(self.value)
            p.setPen(QPen(QColor("#111"), 2.5))
            p.drawLine(QPointF(x, r.top() - 3), QPointF(x, r.bottom() + 1))
            tri = QPainterPath()
            tri.moveTo(x - 5, r.top() - 4)
            tri.lineTo(x + 5, r.top() - 4)
            tri.lineTo(x, r.top() + 3)
            tri.closeSubpath()
            p.fillPath(tri, QColor("#111"))
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

        # shares: kWh sold (bars) over capacity offered (pale bars behind); pivotal sellers in red
        self.share_plot = make_plot(self)
        self.share_plot.setMinimumSize(140, 60)
        si = self.share_plot.getPlotItem()
        si.getViewBox().setMouseEnabled(x=True, y=False)
        self.capacity_bars = pg.BarGraphItem(
            x=[0.0], height=[0.0], width=0.8, brush=pg.mkBrush(CAPACITY), pen=pg.mkPen(SHARE, width=0.8)
        )
        self.share_bars = pg.BarGraphItem(x=[0.0], height=[0.0], width=0.5, brush=pg.mkBrush(SHARE), pen=pg.mkPen(None))
        si.addItem(self.capacity_bars)
        si.addItem(self.share_bars)
        self.share_names = CategoryTicks(self.share_plot, "bottom")
        axis_label(self.share_plot, "left", "Share (%)")

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

        # Lerner: observed (P − mc)/P beside Cournot s_i/|ε|
        self.lerner_plot = make_plot(self)
        self.lerner_plot.setMinimumSize(140, 60)
        li = self.lerner_plot.getPlotItem()
        li.getViewBox().setMouseEnabled(x=True, y=False)
        self.observed_bars = pg.BarGraphItem(
            x=[0.0], height=[0.0], width=0.38, brush=pg.mkBrush(OBSERVED), pen=pg.mkPen(None)
        )
        self.cournot_bars = pg.BarGraphItem(
            x=[0.0], height=[0.0], width=0.38, brush=pg.mkBrush(COURNOT), pen=pg.mkPen(None)
        )
        inf_brush = pg.mkBrush(COURNOT.red(), COURNOT.green(), COURNOT.blue(), 90)
        inf_brush.setStyle(Qt.BrushStyle.BDiagPattern)
        self.inf_bars = pg.BarGraphItem(
            x=[0.0],
            height=[0.0],
            width=0.38,
            brush=inf_brush,
            pen=pg.mkPen(COURNOT, width=1.2, style=Qt.PenStyle.DashLine),
        )
        li.addItem(self.observed_bars)
        li.addItem(self.cournot_bars)
        li.addItem(self.inf_bars)
        self.inf_labels: list[pg.TextItem] = []
        self.lerner_names = CategoryTicks(self.lerner_plot, "bottom")
        self.lerner_plot.setXLink(self.share_plot)
        axis_label(self.lerner_plot, "left", "Lerner")
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
        order = np.lexsort((mp.capacity_share.to_numpy(float) * -1, -np.nan_to_num(mp.share.to_numpy(float))))
        s = mp.iloc[order].reset_index(drop=True)
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
        self._draw_shares(s)
        self._draw_lerner(s)
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

    def _draw_shares(self, s: pd.DataFrame) -> None:
        n = len(s)
        x = np.arange(n, dtype=float)
        share = 100.0 * np.nan_to_num(s.share.to_numpy(float))
        cap = 100.0 * np.nan_to_num(s.capacity_share.to_numpy(float))
        many = n > 80
        brushes = [pg.mkBrush(PIVOTAL if p else SHARE) for p in s.pivotal.to_numpy(bool)]
        self.share_bars.setOpts(x=x, height=share, width=0.9 if many else 0.5, brushes=brushes)
        self.capacity_bars.setOpts(
            x=x, height=cap, width=1.0 if many else 0.8, pen=pg.mkPen(None) if many else pg.mkPen(SHARE, width=0.8)
        )
        vb = self.share_plot.getPlotItem().getViewBox()
        top = max(float(np.max(np.r_[share, cap], initial=0.0)), 1.0)
        vb.setYRange(0.0, top * 1.08, padding=0)
        vb.setXRange(-0.6, n - 0.4, padding=0)
        names = [str(a) for a in s.agent]
        self.share_names.set_names(names)
        self.lerner_names.set_names(names)

    def _draw_lerner(self, s: pd.DataFrame) -> None:
        n = len(s)
        x = np.arange(n, dtype=float)
        obs = s.lerner_observed.to_numpy(float)
        cour = s.lerner_cournot.to_numpy(float)
        inf = np.isinf(cour)
        lo, hi = 0.0, 0.0
        finite = np.r_[obs[np.isfinite(obs)], cour[np.isfinite(cour)]]
        if finite.size:
            lo, hi = min(0.0, float(finite.min())), max(0.0, float(finite.max()))
        if hi <= 0:
            hi = 1.0
        top = hi * (1.3 if inf.any() else 1.08)  # room for the ∞ marks above the tallest finite bar
        many = n > 80
        w = 0.5 if many else 0.38
        self.observed_bars.setOpts(x=x - w / 2, height=np.nan_to_num(obs, nan=0.0, posinf=0.0, neginf=0.0), width=w)
        self.cournot_bars.setOpts(x=x + w / 2, height=np.where(np.isfinite(cour), cour, 0.0), width=w)
        self.inf_bars.setOpts(x=(x + w / 2)[inf], height=np.full(int(inf.sum()), top * 0.8), width=w)
        self.inf_bars.setVisible(bool(inf.any()))
        item = self.lerner_plot.getPlotItem()
        for t in self.inf_labels:
            item.removeItem(t)
        self.inf_labels = []
        if inf.any() and inf.sum() <= 40:
            for i in np.flatnonzero(inf):
                t = pg.TextItem("∞", color=COURNOT, anchor=(0.5, 1.0))
                font = QFont()
                font.setPointSizeF(11)
                font.setBold(True)
                t.setFont(font)
                t.setPos(float(x[i] + w / 2), top * 0.8)
                item.addItem(t)
                self.inf_labels.append(t)
        vb = item.getViewBox()
        vb.setYRange(lo - (0.05 * (hi - lo) if lo < 0 else 0.0), top, padding=0)
        k = int(inf.sum())
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
