"""Supply and demand: the chosen period's step curves, the clearing point and the prices that clear."""

from __future__ import annotations

from html import escape

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QLabel,
    QVBoxLayout,
    QWidget,
)

# a module import: gui.figures.supply_demand imports this package's style, which imports this module
import gui.figures.supply_demand as supply_demand
from core.market import MarketResult
from core.units import fmt_sig
from gui.market_panels.style import (
    DEMAND,
    FEED_IN,
    RETAIL,
    SUPPLY,
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
        # the drawing is the report's figure's (gui.figures.supply_demand): one code path
        self.chart = supply_demand.SupplyDemandChart()
        self.plot = supply_demand.plot_widget(self.chart.plot, self)
        ch = self.chart
        self.demand, self.supply, self.hover_step, self.point = ch.demand, ch.supply, ch.hover_step, ch.point
        self.guides, self.qty_label, self.quantity, self.band = ch.guides, ch.qty_label, ch.quantity, ch.band
        self.retail, self.feed_in = ch.retail, ch.feed_in
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
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)

    def set_result(self, result: MarketResult) -> None:
        self.result = result
        c = result.curves
        unit = price_unit(result)
        title = escape(mechanism_title(result))
        when = escape(period_label(result))
        drawn = self.chart.show(result)
        if c is None:
            self.summary.setText(f"<b>{title}</b> · {when}: no curves for this result")
            return
        self.retail.setToolTip(f"Retail import tariff: {fmt_sig(c.retail_price)} {unit}")
        self.feed_in.setToolTip(f"Feed-in tariff: {fmt_sig(c.feed_in_price)} {unit}")
        traded = f"<b>{nobreak(f'{fmt_sig(c.traded_kwh)} kWh')}</b> traded between prosumers"
        lo, hi, wide = drawn.lo, drawn.hi, drawn.wide
        between = escape(nobreak(f"[{fmt_sig(lo)}, {fmt_sig(hi)}] {unit}")) if wide else ""
        if drawn.has_price:
            price = f"price <b>{escape(nobreak(f'{fmt_sig(c.price)} {unit}'))}</b>"
            if wide:
                price += f" (the middle: any price in {between} clears)"
        else:
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
