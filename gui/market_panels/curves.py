"""Supply and demand: the chosen period's step curves, the clearing point and the prices that clear."""

from __future__ import annotations

from html import escape

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QLabel,
    QVBoxLayout,
    QWidget,
)

from core.market import MarketResult
from core.units import fmt_sig
from gui.market_panels.style import (
    DEMAND,
    FEED_IN,
    HIGHLIGHT,
    POINT,
    RETAIL,
    SUPPLY,
    axis_label,
    dashed,
    make_plot,
    mechanism_title,
    nobreak,
    period_label,
    price_unit,
)
from gui.presenting import muted


class CurvesPanel(QWidget):
    """The chosen period's demand (bids, descending) and supply (asks, ascending) step curves.

    The clearing point (price × traded kWh) is a dot with dotted guides to the
    right axis, which names the price and the two tariffs, and to the bottom,
    where the traded kWh is written. Hovering a step names the agent behind it.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result: MarketResult | None = None
        self.summary = QLabel("No market cleared yet", self)
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.plot = make_plot(self)
        item = self.plot.getPlotItem()
        self.demand = item.plot([0.0], [], stepMode="center", pen=pg.mkPen(DEMAND, width=2.2), name="Demand (bids)")
        self.supply = item.plot([0.0], [], stepMode="center", pen=pg.mkPen(SUPPLY, width=2.2), name="Supply (asks)")
        self.legend = QLabel(
            f"<nobr><span style='color:{DEMAND.name()}'>━━</span> demand (bids, highest first)</nobr> &nbsp; "
            f"<nobr><span style='color:{SUPPLY.name()}'>━━</span> supply (asks, cheapest first)</nobr> &nbsp; "
            f"<nobr><span style='color:{RETAIL.name()}'>╍╍</span> retail</nobr> &nbsp; "
            f"<nobr><span style='color:{FEED_IN.name()}'>╍╍</span> feed-in tariff</nobr> &nbsp; "
            "<nobr><b>●</b> clearing point</nobr> &nbsp; <nobr><span style='color:#999'>▒</span> prices that "
            "clear</nobr>",
            self,
        )
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        self.hover_step = item.plot([], [], pen=pg.mkPen(HIGHLIGHT, width=6))
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
            orientation="horizontal", movable=False, brush=pg.mkBrush(60, 60, 60, 28), pen=pg.mkPen(None)
        )
        self.band.setZValue(-5)
        item.addItem(self.band)
        item.showAxis("right")
        right = item.getAxis("right")
        right.setPen(pg.mkPen("#444"))
        right.setTextPen(pg.mkPen("#222"))
        font = QFont()
        font.setPointSizeF(8.5)
        right.setTickFont(font)
        right.setTicks([[]])
        self.hover = QLabel(" ", self)
        muted(self.hover, "#333")
        self.hover.setWordWrap(True)
        self.hover.setFixedHeight(2 * self.hover.fontMetrics().lineSpacing() + 4)
        self.hover.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.summary)
        lay.addWidget(self.legend)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.hover)
        axis_label(self.plot, "bottom", "Cumulative energy (kWh)")
        axis_label(self.plot, "left", "Price")
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)
        self._set_visible(False)

    def _set_visible(self, on: bool) -> None:
        for it in (self.point, self.guides, self.qty_label, self.quantity, self.retail, self.feed_in, self.band):
            it.setVisible(on)

    def set_result(self, result: MarketResult) -> None:
        self.result = result
        c = result.curves
        unit = price_unit(result)
        axis_label(self.plot, "left", f"Price ({unit})")
        title = escape(mechanism_title(result))
        when = escape(period_label(result))
        self.hover_step.setData([], [])
        right = self.plot.getPlotItem().getAxis("right")
        if c is None:
            self.demand.setData([0.0], [], stepMode="center")
            self.supply.setData([0.0], [], stepMode="center")
            self._set_visible(False)
            right.setTicks([[]])
            self.summary.setText(f"<b>{title}</b> · {when}: no curves for this result")
            return
        self.demand.setData(np.asarray(c.demand_kwh, float), np.asarray(c.demand_price, float), stepMode="center")
        self.supply.setData(np.asarray(c.supply_kwh, float), np.asarray(c.supply_price, float), stepMode="center")
        self._set_visible(True)
        self.retail.setValue(c.retail_price)
        self.feed_in.setValue(c.feed_in_price)
        self.retail.setToolTip(f"Retail import tariff: {fmt_sig(c.retail_price)} {unit}")
        self.feed_in.setToolTip(f"Feed-in tariff: {fmt_sig(c.feed_in_price)} {unit}")
        y_lo, y_hi, x_hi = self._fit(c)
        has_price = c.price is not None and np.isfinite(c.price)
        ticks = [
            (c.retail_price, f"retail {fmt_sig(c.retail_price)}"),
            (c.feed_in_price, f"feed-in {fmt_sig(c.feed_in_price)}"),
        ]
        if has_price:
            ticks.append((c.price, f"◀ {fmt_sig(c.price)}"))
        right.setTicks([self._spread(ticks, y_lo, y_hi)])
        self.quantity.setValue(c.traded_kwh)
        self.qty_label.setText(f"{fmt_sig(c.traded_kwh)} kWh")
        self.qty_label.setPos(c.traded_kwh, y_lo)
        traded = f"<b>{nobreak(f'{fmt_sig(c.traded_kwh)} kWh')}</b> traded between prosumers"
        lo, hi = c.price_interval if c.price_interval is not None else (np.nan, np.nan)
        wide = bool(np.isfinite(lo) and np.isfinite(hi) and hi - lo > 1e-9 * (1.0 + abs(hi)))
        self.band.setVisible(wide)
        if wide:
            self.band.setRegion((lo, hi))
        between = escape(nobreak(f"[{fmt_sig(lo)}, {fmt_sig(hi)}] {unit}")) if wide else ""
        if has_price:
            self.point.setData([c.traded_kwh], [c.price])
            self.guides.setData([c.traded_kwh, x_hi, c.traded_kwh, c.traded_kwh], [c.price, c.price, c.price, y_lo])
            self.guides.setVisible(True)
            self.quantity.setVisible(False)
            price = f"price <b>{escape(nobreak(f'{fmt_sig(c.price)} {unit}'))}</b>"
            if wide:
                price += f" (the middle: any price in {between} clears)"
        else:
            self.point.setData([], [])
            self.guides.setData([], [])
            self.quantity.setVisible(True)
            if c.traded_kwh <= 1e-9:
                price = "nothing traded" + (f": any price in {between} clears nothing" if wide else "")
            else:
                price = "no single price (each trade pays its own)"
        extra = ""
        periods = result.periods
        if result.settings.mechanism != "welfare" and "platform_surplus" in periods and 0 <= c.period < len(periods):
            # the period's own money, like the rest of this line (the day's total is in the agents' table)
            ps = float(periods.platform_surplus.iloc[c.period])
            if abs(ps) < 1e-9:
                ps = 0.0  # the solver's rounding, not money
            word = "deficit" if ps < 0 else "surplus"
            extra = f" · platform {word} {fmt_sig(abs(ps))} {escape(result.currency)}"
        self.summary.setText(f"<b>{title}</b> · {when} · {price} · {traded}{extra}")
        notes = result.summary.get("notes")
        tip = str(notes) if notes else ""
        if result.settings.mechanism == "welfare":
            tip = (
                "The welfare clearing optimises the whole horizon at once; the curves show what each prosumer "
                "would bid in this period from the state the clearing leaves it in (behind its meter, its own "
                "demand already met by its own supply). A storage's bids price its energy for later, so the "
                "clearing's point need not sit exactly where the curves cross."
            )
        self.summary.setToolTip(tip)
        self.hover.setText("Hover a step to see whose bid or ask it is")

    def _fit(self, c) -> tuple[float, float, float]:
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
        vb = self.plot.getPlotItem().getViewBox()
        y_lo, y_hi, x_hi = 0.0, 1.0, 1.0
        if prices:
            lo, hi = min(prices), max(prices)
            pad = 0.08 * (hi - lo or abs(hi) or 1.0)
            y_hi = hi + pad
            # room under the lowest line for the kWh label: ~18 px of the view's height
            h_px = max(vb.height(), 80.0)
            y_lo = lo - max(pad, 18.0 * (y_hi - lo) / (h_px - 18.0))
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

    def _spread(self, ticks: list[tuple[float, str]], y_lo: float, y_hi: float) -> list[tuple[float, str]]:
        """Right-axis labels, dropping a later one that would overlap an earlier (tariffs win)."""
        px = max(self.plot.getPlotItem().getViewBox().height(), 120.0)
        min_gap = 14.0 * (y_hi - y_lo) / px
        kept: list[tuple[float, str]] = []
        for v, text in ticks:
            if all(abs(v - k) >= min_gap for k, _t in kept):
                kept.append((v, text))
        return kept

    # --- hover ------------------------------------------------------------------------------
    def _mouse_moved(self, scene_pos) -> None:
        vb = self.plot.getPlotItem().getViewBox()
        if not vb.sceneBoundingRect().contains(scene_pos):
            return
        p = vb.mapSceneToView(scene_pos)
        self.hover_at(p.x(), p.y())

    def step_at(self, x: float, y: float) -> tuple[str, int] | None:
        """(side, step index) of the curve step under view point (x, y), the nearer curve in price."""
        if self.result is None or self.result.curves is None:
            return None
        c = self.result.curves
        found = []
        for side, q, p in (("demand", c.demand_kwh, c.demand_price), ("supply", c.supply_kwh, c.supply_price)):
            q, p = np.asarray(q, float), np.asarray(p, float)
            if len(p) == 0 or x < q[0] or x > q[-1]:
                continue
            i = int(np.clip(np.searchsorted(q, x, side="right") - 1, 0, len(p) - 1))
            found.append((abs(p[i] - y), side, i))
        if not found:
            return None
        _d, side, i = min(found)
        return side, i

    def hover_at(self, x: float, y: float) -> str:
        """Describe (and highlight) the step under (x, y) in data coordinates; returns the text shown."""
        hit = self.step_at(x, y)
        if hit is None:
            self.hover_step.setData([], [])
            self.hover.setText(" ")
            return ""
        c = self.result.curves
        side, i = hit
        q = np.asarray(c.demand_kwh if side == "demand" else c.supply_kwh, float)
        p = np.asarray(c.demand_price if side == "demand" else c.supply_price, float)
        agent = (c.demand_agent if side == "demand" else c.supply_agent)[i]
        verb = "bids" if side == "demand" else "asks"
        unit = price_unit(self.result)
        text = (
            f"{agent} {verb} {fmt_sig(p[i])} {unit} for {fmt_sig(q[i + 1] - q[i])} kWh "
            f"({side} step {i + 1} of {len(p)}, {fmt_sig(q[i])}–{fmt_sig(q[i + 1])} kWh on the curve)"
        )
        self.hover_step.setData([q[i], q[i + 1]], [p[i], p[i]])
        self.hover.setText(text)
        return text
