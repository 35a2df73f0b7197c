"""The market power figure: the sellers' shares, their Lerner indices and the HHI on its bands.

:class:`MarketPowerChart` draws the shares and the Lerner indices on two ``pg.PlotItem``\\ s; the Market power panel
shows them in its plot widgets (with its hover and labels around them) and the report renders them offscreen in one
``pg.GraphicsLayout`` with a title, the HHI as a graphics gauge (:class:`HHIBar`) and in-figure legends (figure
``"market_power"``). :func:`paint_gauge` paints the HHI gauge for both the panel's widget and the figure's item.
"""

from __future__ import annotations

import math
from html import escape

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy

from core.market import MECHANISM_LABELS, NETWORK_LABELS, MarketResult
from core.units import fmt_number, fmt_sig
from gui.charts import CategoryTicks
from gui.figures import Figure, figure
from gui.figures.fairness import (
    PRINT_TICK_PT,
    CategoryPlot,
    figure_layout,
    for_print,
    legend,
    period_time,
    room_for_first_name,
)
from gui.market_panels.style import axis_label, price_unit

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
OTHERS = QColor(150, 150, 150)  # the sellers beyond the largest, together (the report's figure of a big market)
INF_TEXT = "∞ (locally inelastic)"
MANY = 80  # above this many sellers the bars are a pixel wide
TOP_N = 15  # the report's figure shows the largest sellers and the rest together above this many


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


def measured_on(result: MarketResult) -> str:
    """Which market the market power is measured on, in words (the panel's title says the same)."""
    mech = (result.market_power_summary or {}).get("measured_on") or (
        "uniform" if result.settings.mechanism == "welfare" else result.settings.mechanism
    )
    if result.settings.mechanism == "welfare":
        return "the uniform-price auction of the same bids (copper plate, tariffs)"
    return f"the {MECHANISM_LABELS.get(mech, mech).lower()} itself (copper plate, tariffs)"


def sorted_sellers(mp: pd.DataFrame) -> pd.DataFrame:
    """The sellers, largest share of the kWh sold first (then of the kWh offered)."""
    order = np.lexsort((mp.capacity_share.to_numpy(float) * -1, -np.nan_to_num(mp.share.to_numpy(float))))
    return mp.iloc[order].reset_index(drop=True)


def top_sellers(s: pd.DataFrame, n: int = TOP_N) -> pd.DataFrame:
    """The ``n`` largest sellers of ``s`` (sorted) and one row for the rest together.

    The rest's shares add up; its Lerner indices are the share-weighted means of its sellers' (the average
    markup of that part of the market; with ε = 0 its Cournot index is ∞ as each of its selling sellers' is).
    """
    s = s.assign(others=False)
    if len(s) <= n + 1:
        return s
    head, rest = s.iloc[:n], s.iloc[n:]
    w = np.nan_to_num(rest.share.to_numpy(float))

    def mean(col: str) -> float:
        x = rest[col].to_numpy(float)
        ok = ~np.isnan(x) & (w > 0)
        if not ok.any():
            return float("nan")
        with np.errstate(invalid="ignore"):
            return float(np.sum(w[ok] * x[ok]) / np.sum(w[ok]))

    row = {
        "agent": f"{len(rest):,} others",
        "capacity_kwh": float(rest.capacity_kwh.sum()),
        "sold_kwh": float(rest.sold_kwh.sum()),
        "share": float(np.nansum(rest.share.to_numpy(float))),
        "capacity_share": float(np.nansum(rest.capacity_share.to_numpy(float))),
        "marginal_cost": float("nan"),
        "lerner_observed": mean("lerner_observed"),
        "lerner_cournot": mean("lerner_cournot"),
        "rsi": float("nan"),
        "pivotal": False,
        "others": True,
    }
    for c in s.columns:
        row.setdefault(c, float("nan"))
    return pd.concat([head, pd.DataFrame([row])[s.columns]], ignore_index=True)


# --- the HHI gauge ------------------------------------------------------------------------------------------


def gauge_bar(width: float) -> QRectF:
    return QRectF(8.0, 4.0, max(width - 16.0, 10.0), 16.0)


def gauge_x(width: float, h: float) -> float:
    r = gauge_bar(width)
    return r.left() + min(max(h, 0.0), 1.0) * r.width()


def paint_gauge(p: QPainter, width: float, value: float | None, font: QFont, ink: QColor) -> None:
    """The HHI's 0–1 scale coloured by band, ticks under it in ``ink``, a marker at ``value``."""
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    r = gauge_bar(width)
    p.setFont(font)
    fm = QFontMetricsF(font)
    for lo, hi, name, short, colour in BANDS:
        band = QRectF(gauge_x(width, lo), r.top(), gauge_x(width, hi) - gauge_x(width, lo), r.height())
        p.fillRect(band, colour)
        label = next((t for t in (name, short) if fm.horizontalAdvance(t) <= band.width() - 4.0), None)
        if label is not None:
            p.setPen(QColor("#333"))
            p.drawText(band, Qt.AlignmentFlag.AlignCenter, label)
    p.setPen(QPen(QColor("#666"), 1.0))
    p.drawRect(r)
    p.setPen(ink)
    for v in (0.0, BAND_MODERATE, BAND_HIGH, 0.5, 0.75, 1.0):
        x = gauge_x(width, v)
        p.drawLine(QPointF(x, r.bottom()), QPointF(x, r.bottom() + 3))
        text = fmt_sig(v, 2) if v not in (0.0, 1.0) else str(int(v))
        w = fm.horizontalAdvance(text)
        left = min(max(x - w / 2, 0.0), width - w)
        p.drawText(QPointF(left, r.bottom() + 4 + fm.ascent()), text)
    if value is not None:
        x = gauge_x(width, value)
        p.setPen(QPen(QColor("#111"), 2.5))
        p.drawLine(QPointF(x, r.top() - 3), QPointF(x, r.bottom() + 1))
        tri = QPainterPath()
        tri.moveTo(x - 5, r.top() - 4)
        tri.lineTo(x + 5, r.top() - 4)
        tri.lineTo(x, r.top() + 3)
        tri.closeSubpath()
        p.fillPath(tri, QColor("#111"))


class HHIBar(pg.GraphicsWidget):
    """The HHI gauge as a graphics item (the report's figure): the same painting as the panel's widget."""

    def __init__(self, value: float | None = None, point_size: float = PRINT_TICK_PT):
        super().__init__()
        self.value = value if value is not None and math.isfinite(value) else None
        self.gauge_font = QFont()
        self.gauge_font.setPointSizeF(point_size)
        height = 24.0 + QFontMetricsF(self.gauge_font).height() + 2.0
        self.setMinimumHeight(height)
        self.setMaximumHeight(height)
        self.setPreferredSize(QSizeF(400.0, height))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def paint(self, p: QPainter, *_args) -> None:
        paint_gauge(p, self.size().width(), self.value, self.gauge_font, QColor("#222"))


# --- the chart ------------------------------------------------------------------------------------------------


class MarketPowerChart:
    """The period's sellers, largest first: shares of the kWh sold over the kWh offered; Lerner observed vs Cournot."""

    def __init__(self):
        # shares: kWh sold (bars) over capacity offered (pale bars behind); pivotal sellers in red
        self.share_plot = CategoryPlot()
        self.share_plot.getViewBox().setMouseEnabled(x=True, y=False)
        self.capacity_bars = pg.BarGraphItem(
            x=[0.0], height=[0.0], width=0.8, brush=pg.mkBrush(CAPACITY), pen=pg.mkPen(SHARE, width=0.8)
        )
        self.share_bars = pg.BarGraphItem(x=[0.0], height=[0.0], width=0.5, brush=pg.mkBrush(SHARE), pen=pg.mkPen(None))
        self.share_plot.addItem(self.capacity_bars)
        self.share_plot.addItem(self.share_bars)
        self.share_names = CategoryTicks(self.share_plot, "bottom")
        axis_label(self.share_plot, "left", "Share (%)")

        # Lerner: observed (P − mc)/P beside Cournot s_i/|ε|
        self.lerner_plot = CategoryPlot()
        li = self.lerner_plot
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
        self.sellers = pd.DataFrame()
        self.n_infinite = 0

    def show(self, sellers: pd.DataFrame) -> None:
        """Draw ``sellers`` (sorted: :func:`sorted_sellers`, or :func:`top_sellers` with an ``others`` row)."""
        self.sellers = sellers
        self._draw_shares(sellers)
        self._draw_lerner(sellers)

    def _draw_shares(self, s: pd.DataFrame) -> None:
        n = len(s)
        x = np.arange(n, dtype=float)
        share = 100.0 * np.nan_to_num(s.share.to_numpy(float))
        cap = 100.0 * np.nan_to_num(s.capacity_share.to_numpy(float))
        many = n > MANY
        others = s.others.to_numpy(bool) if "others" in s else np.zeros(n, bool)
        brushes = [
            pg.mkBrush(OTHERS if o else PIVOTAL if p else SHARE)
            for p, o in zip(s.pivotal.to_numpy(bool), others, strict=True)
        ]
        self.share_bars.setOpts(x=x, height=share, width=0.9 if many else 0.5, brushes=brushes)
        self.capacity_bars.setOpts(
            x=x, height=cap, width=1.0 if many else 0.8, pen=pg.mkPen(None) if many else pg.mkPen(SHARE, width=0.8)
        )
        vb = self.share_plot.getViewBox()
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
        many = n > MANY
        w = 0.5 if many else 0.38
        self.observed_bars.setOpts(x=x - w / 2, height=np.nan_to_num(obs, nan=0.0, posinf=0.0, neginf=0.0), width=w)
        self.cournot_bars.setOpts(x=x + w / 2, height=np.where(np.isfinite(cour), cour, 0.0), width=w)
        self.inf_bars.setOpts(x=(x + w / 2)[inf], height=np.full(int(inf.sum()), top * 0.8), width=w)
        self.inf_bars.setVisible(bool(inf.any()))
        item = self.lerner_plot
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
        item.getViewBox().setYRange(lo - (0.05 * (hi - lo) if lo < 0 else 0.0), top, padding=0)
        self.n_infinite = int(inf.sum())

    def legend_items(self) -> tuple[pg.LegendItem, pg.LegendItem]:
        """The legends of the shares and of the Lerner indices as graphics items (the report's figure)."""
        share = [(self.share_bars, "of kWh sold"), (self.capacity_bars, "of kWh offered")]
        s = self.sellers
        if len(s) and s.pivotal.to_numpy(bool).any():
            share.append((_swatch(PIVOTAL), "pivotal (RSI < 1)"))
        if "others" in s and s.others.to_numpy(bool).any():
            share.append((_swatch(OTHERS), "the rest"))
        lerner = [(self.observed_bars, "observed (P − mc)/P"), (self.cournot_bars, "Cournot s/|ε|")]
        if self.n_infinite:
            lerner.append((self.inf_bars, "Cournot ∞ (ε = 0)"))
        return legend(share, columns=2), legend(lerner, columns=1 if len(lerner) <= 2 else 2)

    def clip_the_rest(self) -> pg.TextItem | None:
        """When the rest together dwarfs the largest sellers, the share axis ends above those and the rest's bar
        is cut there, its share written on it (the report's figure of a big market)."""
        s = self.sellers
        if "others" not in s or not s.others.to_numpy(bool).any():
            return None
        share = 100.0 * np.nan_to_num(s.share.to_numpy(float))
        cap = 100.0 * np.nan_to_num(s.capacity_share.to_numpy(float))
        rest = s.others.to_numpy(bool)
        top = float(max(share[~rest].max(initial=0.0), cap[~rest].max(initial=0.0), 1e-9))
        if max(share[rest].max(), cap[rest].max()) <= 1.6 * top:
            return None
        ceiling = 1.45 * top
        self.share_plot.getViewBox().setYRange(0.0, ceiling, padding=0)
        for bars in (self.share_bars, self.capacity_bars):  # cut in the data too: an SVG keeps no clipping
            bars.setOpts(height=np.minimum(np.asarray(bars.opts["height"], dtype=float), ceiling))
        i = int(np.flatnonzero(rest)[0])
        label = pg.TextItem(
            f"{fmt_number(share[i], 0)} % ↑", color="#222", anchor=(1.0, 0.0), fill=pg.mkBrush(255, 255, 255, 220)
        )
        font = QFont()
        font.setPointSizeF(PRINT_TICK_PT)
        label.setFont(font)
        label.setPos(i + 0.45, ceiling * 0.98)
        self.share_plot.addItem(label)
        return label


def _swatch(colour: QColor) -> pg.BarGraphItem:
    """A bar item only for a legend's sample of ``colour``."""
    return pg.BarGraphItem(x=[0.0], height=[0.0], width=0.5, brush=pg.mkBrush(colour), pen=pg.mkPen(None))


def eps_text(summary: dict) -> str:
    eps = summary.get("elasticity", float("nan"))
    if eps == 0:
        return "ε = 0 (locally inelastic)"
    if eps is not None and math.isfinite(eps):
        return f"ε = {fmt_sig(eps, 3)}"
    return "ε –"


# --- the report's figure --------------------------------------------------------------------------------------


@figure("market_power")
def build(result: MarketResult, scenario=None, period: int | None = None) -> Figure | None:
    """Shares and Lerner of the largest sellers and the HHI on its bands; None when the period has no sellers."""
    mp, summary = result.market_power, result.market_power_summary or {}
    if mp is None or len(mp) == 0:
        return None
    s = sorted_sellers(mp)
    n = len(s)
    shown = top_sellers(s, TOP_N)
    chart = MarketPowerChart()
    chart.show(shown)
    when = period_time(result)
    cur_unit = price_unit(result)
    price = summary.get("price", float("nan"))
    traded = summary.get("traded_kwh", 0.0)
    on = measured_on(result)

    layout = figure_layout(
        f"<b>Market power</b> · {escape(when)} · {n:,} seller{'s' if n != 1 else ''} · price "
        f"{escape(fmt_sig(price))} {escape(cur_unit)} · {escape(fmt_sig(traded))} kWh traded"
    )
    layout.addLabel(f"measured on {escape(on)}", row=1, col=0, colspan=2, size="10pt", color="#444")
    h = summary.get("hhi", float("nan"))
    hhi_row = layout.addLayout(row=2, col=0, colspan=2)
    colour = band_colour(h).darker(160).name() if h is not None and math.isfinite(h) else "#333"
    hhi_row.addLabel(f"<b>{escape(hhi_text(summary))}</b>", size="10.5pt", color=colour)
    chart.gauge = HHIBar(h)
    hhi_row.addItem(chart.gauge)
    hhi_row.layout.setColumnStretchFactor(1, 1)
    hhi_row.setMaximumHeight(chart.gauge.maximumHeight())
    for plot in (chart.share_plot, chart.lerner_plot):
        for_print(plot)
    axis_label(chart.share_plot, "bottom", "Seller, largest share first")
    axis_label(chart.lerner_plot, "bottom", "Seller")
    for plot in (chart.share_plot, chart.lerner_plot):
        for_print(plot)
        plot.getViewBox().setMouseEnabled(x=False, y=False)
    shares_legend, lerner_legend = chart.legend_items()
    layout.addItem(shares_legend, row=3, col=0)
    layout.addItem(lerner_legend, row=3, col=1)
    layout.addItem(chart.share_plot, row=4, col=0)
    layout.addItem(chart.lerner_plot, row=4, col=1)
    layout.layout.setRowStretchFactor(4, 1)
    room_for_first_name(chart.share_plot, len(shown), 300.0)  # the Lerner plot's x is linked
    chart.rest_label = chart.clip_the_rest()
    chart.share_names.update()
    chart.lerner_names.update()

    network = result.settings.network
    differs = result.settings.mechanism == "welfare"  # measured on its price-taking twin, not on itself
    model_words = "the welfare-maximising clearing " + (
        f"with {NETWORK_LABELS.get(network, network)}" if network != "none" else "on the copper plate"
    )
    pivotal = list(summary.get("pivotal", []))
    piv_words = (
        "no seller is pivotal"
        if not pivotal
        else f"{len(pivotal):,} seller{'s are' if len(pivotal) != 1 else ' is'} pivotal (RSI < 1, in red)"
    )
    caption = (
        f"Market power at {when}, measured on {on}"
        + (
            f" — a different market from this report's headline ({model_words}): the price "
            f"{fmt_sig(price)} {cur_unit} and the {fmt_sig(traded)} kWh traded are that auction's."
            if differs
            else "."
        )
        + f" Left: each seller's share of the kWh sold (solid) over its share of the kWh offered (pale), largest "
        f"first; right: its Lerner index, observed (P − mc)/P and the Cournot markup s/|ε| ({eps_text(summary)})."
        + (
            f" The {TOP_N} largest of {n:,} sellers are shown, the other {n - TOP_N:,} together as one grey bar "
            f"({fmt_number(100.0 * float(shown.share.iloc[-1]), 0)} % of the kWh sold"
            + (", cut at the top of the axis" if chart.rest_label is not None else "")
            + "; its Lerner indices are their share-weighted means)."
            if len(shown) < n
            else ""
        )
        + f" The gauge places the {hhi_text(summary)} on its bands (unconcentrated below 0.15, highly "
        f"concentrated above 0.25); {piv_words}."
    )
    return Figure("market_power", layout, caption, keep=[chart])


__all__ = [
    "BANDS",
    "HHIBar",
    "MarketPowerChart",
    "band_colour",
    "hhi_text",
    "lerner_text",
    "measured_on",
    "paint_gauge",
    "sorted_sellers",
    "top_sellers",
]
