"""Panels that show a cleared market. Each is an independent widget with ``set_result(result)``.

They display the numbers of a :class:`core.market.MarketResult` as they are:
plots are pyqtgraph items created once and updated in place with ``setData``;
tables are read-only views of core's DataFrames. Nothing here computes a
market number (``../shared/DESIGN.md``).

* :class:`CurvesPanel` — the chosen period's supply and demand step curves;
* :class:`PropertiesPanel` — the mechanisms compared on IR, BB, efficiency, IC;
* :class:`AgentResultsPanel` — every prosumer's energy and money;
* :class:`PriceIterationPanel` — the welfare clearing's price iteration;
* :class:`DayPricesPanel` — the price in every period of the horizon.
"""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QStackedWidget,
    QStyledItemDelegate,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.market import MECHANISM_LABELS, Diagnostic, MarketResult
from gui.frame_model import DataFrameModel, FrameSortProxy, fmt_number, fmt_sig, header_with_unit
from gui.presenting import muted

DEMAND = QColor(31, 119, 180)
SUPPLY = QColor(214, 39, 40)
RETAIL = QColor(120, 60, 160)
FEED_IN = QColor(20, 140, 90)
POINT = QColor(20, 20, 20)
HIGHLIGHT = QColor(255, 200, 40)
DLMP_BAND = QColor(226, 110, 30)
VOLTAGE = QColor(72, 40, 120)
LIMIT_RED = QColor(200, 0, 0)
GOOD = QBrush(QColor(200, 236, 200))
BAD = QBrush(QColor(255, 205, 205))
SELECTED = QBrush(QColor(214, 230, 250))
MONEY_COLUMNS = {
    "payment",
    "grid_payment",
    "value",
    "cost",
    "surplus",
    "outside_option",
    "gain_over_outside",
    "utility",
    "welfare",
    "platform_surplus",
    "max_ic_gain",
    "declared_gains",
    "ic_gain",
}
SHORT_MECHANISM = {
    "welfare": "Welfare (λ)",
    "uniform": "Uniform price",
    "pay_as_bid": "Pay-as-bid",
    "vcg": "VCG",
    "trade_reduction": "Trade reduction",
}


def price_unit(result: MarketResult) -> str:
    return f"{result.currency}/kWh"


def make_plot(parent=None) -> pg.PlotWidget:
    """A white pyqtgraph plot with dark, readable axes and a light grid."""
    w = pg.PlotWidget(parent=parent, background="w")
    w.setMenuEnabled(False)
    style_plot_item(w.getPlotItem())
    w.setMinimumSize(160, 80)  # small enough for the docks to fit a 1,366×768 screen
    return w


def style_plot_item(item: pg.PlotItem) -> pg.PlotItem:
    """The house style of a plot: a light grid, dark readable axes at 8.5 pt, no SI prefixes."""
    item.showGrid(x=True, y=True, alpha=0.15)
    font = QFont()
    font.setPointSizeF(8.5)
    for side in ("left", "bottom"):
        ax = item.getAxis(side)
        ax.setPen(pg.mkPen("#444"))
        ax.setTextPen(pg.mkPen("#222"))
        ax.setTickFont(font)
        ax.enableAutoSIPrefix(False)
    return item


def axis_label(plot: pg.PlotWidget, side: str, text: str) -> None:
    plot.getPlotItem().setLabel(side, text, **{"color": "#222", "font-size": "9pt"})


def dashed(color: QColor, width: float = 1.5) -> object:
    return pg.mkPen(color, width=width, style=Qt.PenStyle.DashLine)


def hline(color: QColor, position: float = 0.9, above: bool = True) -> pg.InfiniteLine:
    """A dashed horizontal line with a label at ``position`` (0 left … 1 right), above or below it."""
    ax = 1.0 if position > 0.5 else 0.0
    anchor = (ax, 1.0) if above else (ax, 0.0)
    line = pg.InfiniteLine(
        angle=0,
        movable=False,
        pen=dashed(color),
        label="",
        labelOpts={
            "position": position,
            "color": color,
            "anchors": [anchor, anchor],
            "fill": pg.mkBrush(255, 255, 255, 200),
        },
    )
    line.setZValue(5)
    return line


def set_line_label(line: pg.InfiniteLine, text: str) -> None:
    line.label.setFormat(text.replace("{", "{{").replace("}", "}}"))


def nobreak(text: str) -> str:
    """``text`` that a label never wraps (non-breaking spaces, a word joiner after each slash)."""
    return text.replace(" ", "\u00a0").replace("/", "/\u2060")


def mechanism_title(result: MarketResult) -> str:
    return MECHANISM_LABELS.get(result.settings.mechanism, result.settings.mechanism)


def period_label(result: MarketResult) -> str:
    p = result.periods
    row = p[p.period == result.period]
    return str(row.time.iloc[0]) if len(row) and "time" in p else f"period {result.period}"


def _note(text: str, parent=None) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    muted(label, "#555", " padding: 16px;")
    return label


# ---------------------------------------------------------------------------
# supply and demand
# ---------------------------------------------------------------------------


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
            x_hi = (max(xs) or 1.0) * 1.04
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


# ---------------------------------------------------------------------------
# mechanism properties
# ---------------------------------------------------------------------------

PROPERTY_COLUMNS = ("efficiency", "ir", "bb", "max_ic_gain")


class PropertiesPanel(QWidget):
    """The mechanisms compared on the chosen period's bids: who has which of IR, BB, efficiency, IC."""

    NEEDS = (Diagnostic.AUDIT,)  # the diagnostics its numbers come from

    EXPLANATION = (
        "<b>Myerson–Satterthwaite</b>: no mechanism can guarantee efficiency, individual rationality, "
        "budget balance and incentive compatibility together on every set of bids; red marks what each "
        "gives up on this period's bids."
    )

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result: MarketResult | None = None
        self.title = QLabel("No market cleared yet", self)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        self.model = DataFrameModel(self)
        self.view = QTableView(self)
        self.view.setModel(self.model)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(24)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.explanation = QLabel(self.EXPLANATION, self)
        self.explanation.setWordWrap(True)
        self.explanation.setTextFormat(Qt.TextFormat.RichText)
        self.explanation.setToolTip(
            "Myerson & Satterthwaite (1983): for bilateral trade with private values, no mechanism is "
            "efficient, individually rational, (weakly) budget-balanced and Bayesian incentive-compatible. "
            "VCG buys efficiency, IR and IC with a deficit; uniform price balances the budget but rewards "
            "shading; trade reduction gives up a trade."
        )
        self.model.cell_brush = self._brush
        self.model.cell_text = self._text
        self.model.cell_tooltip = self._tooltip
        self._frame = pd.DataFrame()
        self._cmp = pd.DataFrame()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.title)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.explanation)

    def headers(self, cur: str) -> tuple[dict[str, str], dict[str, str]]:
        headers = {
            "name": "Mechanism",
            "traded_kwh": "Traded\n(kWh)",
            "welfare": f"Gains at\nthe bids ({cur})",
            "efficiency": "Efficient\n(%)",
            "platform_surplus": f"Platform\nsurplus ({cur})",
            "ir": "IR\n(agents)",
            "bb": "BB\n(budget)",
            "max_ic_gain": f"IC: max gain\nfrom lying ({cur})",
        }
        tips = {
            "name": "The clearing mechanism, run on the same truthful bids and asks of the period (as the day "
            "reaches it: storages bid from the charge the earlier periods left)",
            "traded_kwh": "Energy traded between prosumers in the period, kWh",
            "welfare": f"Gains from trade at the period's bids: Σ bid × kWh bought − Σ ask × kWh sold, {cur}. The "
            "bids are the prosumers' marginal values within the tariffs (a storage's: the value of its "
            "energy later); the day's welfare on one scale is in Compare mechanisms",
            "efficiency": "Efficiency on these bids: their gains over the most any allocation of them achieves, %",
            "platform_surplus": f"Platform surplus: Σ payments by buyers − Σ receipts of sellers, {cur}; "
            "negative = a deficit someone must fund",
            "ir": "Individual rationality: no agent ends worse off than by staying out "
            "(its utility ≥ 0 at its true values); red shows how many lose",
            "bb": "Budget balance (weak): the platform never pays in (platform surplus ≥ 0)",
            "max_ic_gain": f"Incentive compatibility, measured: the largest gain any agent gets by shading its bid or "
            f"ask (best misreport found), {cur}; 0 = nobody gains by lying",
        }
        return headers, tips

    def set_result(self, result: MarketResult) -> None:
        self.result = result
        cmp = result.comparison
        when = escape(period_label(result))
        if cmp is None or len(cmp) == 0:
            self._frame = pd.DataFrame()
            self.model.set_frame(self._frame)
            self.model.bold_row = None
            self.title.setText(
                f"<b>Mechanism properties</b> · {when}: not audited — tick "
                "<i>Audit mechanisms</i> in the Market dock to compare the auctions"
            )
            return
        frame = pd.DataFrame(
            {
                "name": [SHORT_MECHANISM.get(m, m) for m in cmp.mechanism],
                "traded_kwh": cmp.traded_kwh.to_numpy(float),
                "welfare": cmp.welfare.to_numpy(float),
                "efficiency": 100.0 * cmp.efficiency.to_numpy(float),
                "platform_surplus": cmp.platform_surplus.to_numpy(float),
                "ir": cmp.individually_rational.to_numpy(bool),
                "bb": cmp.budget_balanced.to_numpy(bool),
                "max_ic_gain": cmp.max_ic_gain.to_numpy(float),
            }
        )
        self._frame = frame
        self._cmp = cmp.reset_index(drop=True)
        headers, tips = self.headers(result.currency)
        chosen = result.settings.mechanism
        audited = "uniform" if chosen == "welfare" else chosen
        rows = [i for i, m in enumerate(self._cmp.mechanism) if m == audited]
        self.model.bold_row = rows[0] if rows else None
        self.model.set_frame(frame, headers, tips, decimals={"efficiency": 1})
        if chosen == "welfare":
            extra = " The welfare clearing is audited as the uniform-price auction on the same bids (row in bold)."
        else:
            extra = f" {escape(MECHANISM_LABELS.get(chosen, chosen))} is in bold."
        self.title.setText(f"<b>Mechanism properties</b> · {when} · truthful bids of the period.{extra}")
        lucky = [
            SHORT_MECHANISM.get(m, m)
            for r, m in enumerate(self._cmp.mechanism)
            if all(self._ok(r, k) for k in PROPERTY_COLUMNS)
        ]
        text = self.EXPLANATION
        if lucky:
            one = len(lucky) == 1
            text += (
                f" Here {' and '.join(lucky)} happen{'s' if one else ''} to have all four; on other bids "
                f"{'it' if one else 'they'} need not."
            )
        self.explanation.setText(text)
        self.view.resizeColumnsToContents()

    def row_of(self, mechanism: str) -> int:
        return list(self._cmp.mechanism).index(mechanism)

    def cell(self, mechanism: str, column: str) -> str:
        """The text shown for ``mechanism`` in ``column`` (for tests and reports)."""
        return self.model.index(self.row_of(mechanism), self.model.column_of(column)).data()

    def _ok(self, r: int, key: str) -> bool | None:
        cmp = self._cmp
        if key == "efficiency":
            return bool(cmp.efficiency.iat[r] >= 1.0 - 1e-6)
        if key == "ir":
            return bool(cmp.individually_rational.iat[r])
        if key == "bb":
            return bool(cmp.budget_balanced.iat[r])
        if key == "max_ic_gain":
            return bool(cmp.incentive_compatible.iat[r])
        return None

    def _brush(self, r: int, key: str):
        ok = self._ok(r, key)
        if ok is not None:
            return GOOD if ok else BAD
        if r == self.model.bold_row:
            return SELECTED
        return None

    def _text(self, r: int, key: str) -> str | None:
        cmp = self._cmp
        if key == "ir":
            n = int(cmp.ir_violations.iat[r])
            return "✓ none lose" if n == 0 else f"✗ {n} lose"
        if key == "bb":
            s = float(cmp.platform_surplus.iat[r])
            if not bool(cmp.budget_balanced.iat[r]):
                return "✗ deficit"
            return "✓ balanced" if abs(s) < 1e-9 else "✓ surplus"
        if key == "efficiency":
            return ("✓ " if self._ok(r, key) else "✗ ") + fmt_number(self._frame.efficiency.iat[r], 1)
        if key == "max_ic_gain":
            return ("✓ " if self._ok(r, key) else "✗ ") + fmt_number(self._frame.max_ic_gain.iat[r], 2)
        if key == "name" and r == self.model.bold_row:
            return "▸ " + str(self._frame.name.iat[r])
        return None

    def _tooltip(self, r: int, key: str) -> str | None:
        if key == "max_ic_gain":
            cmp = self._cmp
            g = float(cmp.max_ic_gain.iat[r])
            if g <= 1e-6:
                return "No agent gains by shading its bid or ask: truth-telling is a best reply"
            cur = self.result.currency if self.result else ""
            return f"Some agent gains {fmt_sig(g)} {cur} by misreporting: an incentive to lie"
        return None


# ---------------------------------------------------------------------------
# per agent
# ---------------------------------------------------------------------------

AGENT_TOOLTIPS = {
    "agent": "The prosumer's id",
    "bus": "The bus it is connected to",
    "role": "consumer, producer or prosumer",
    "der": "Its distributed energy resource (pv, battery, ev, chp…)",
    "bought_kwh": "Energy bought from other prosumers (peer to peer) over the day, kWh",
    "sold_kwh": "Energy sold to other prosumers (peer to peer) over the day, kWh",
    "grid_import_kwh": "Energy from the grid over the day, kWh (the welfare clearing: its share of the community's "
    "import, pro rata)",
    "grid_export_kwh": "Energy to the grid over the day, kWh",
    "payment": "What it pays the market or platform (negative: what it receives), {cur}",
    "grid_payment": "What it pays the grid itself at the tariffs (auctions: its unmatched energy), {cur}",
    "value": "True value of its flexible load, U(d) = b·d − a·d², over the day, {cur}",
    "cost": "True cost of its DER, C(p) = a·p² + b·p (storage: wear), over the day, {cur}",
    "surplus": "Its surplus: value − cost − payment − grid payment, {cur}",
    "outside_option": "Its surplus trading with the grid alone at the tariffs over the day, {cur}",
    "gain_over_outside": "What the market adds: surplus − outside option, {cur}",
    "ir_ok": "Individually rational: the market leaves it no worse off than trading with the grid alone",
    "soc": "A storage's state of charge at the end of each period of the day, from 0 to its energy (select the "
    "row for the plot)",
    "storage_kwh": "A storage's energy capacity, kWh",
}
SOC = QColor(120, 60, 160)


class SparklineDelegate(QStyledItemDelegate):
    """Draws the ``soc`` column as a small line over the day (0 to the storage's energy); empty elsewhere."""

    def __init__(self, panel: AgentResultsPanel):
        super().__init__(panel)
        self.panel = panel

    def paint(self, painter, option, index) -> None:
        src = self.panel.proxy.mapToSource(index)
        series = self.panel.soc_of(src.row())
        if series is None:
            super().paint(painter, option, index)
            return
        y, cap = series
        r = option.rect.adjusted(4, 4, -4, -4)
        if r.width() < 8 or r.height() < 4 or y.size < 2:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(QColor(190, 190, 190), 1, Qt.PenStyle.DotLine))
        painter.drawLine(r.left(), r.bottom(), r.right(), r.bottom())
        xs = r.left() + np.arange(y.size) * (r.width() / (y.size - 1))
        ys = r.bottom() - np.clip(y / cap, 0.0, 1.0) * r.height()
        painter.setPen(QPen(SOC, 1.4))
        painter.drawPolyline(QPolygonF([QPointF(float(a), float(b)) for a, b in zip(xs, ys, strict=True)]))
        painter.restore()


class AgentResultsPanel(QWidget):
    """``result.agents`` as a sortable, read-only table; agents worse off than their outside option in red;
    storages with their state of charge over the day (a sparkline, and a plot of the selected one)."""

    HIDDEN = ("soc_min_kwh", "soc_max_kwh")  # the sparkline says it better

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result: MarketResult | None = None
        self.model = DataFrameModel(self)
        self.model.row_brush = self._row_brush
        self.proxy = FrameSortProxy(self)
        self.proxy.setSourceModel(self.model)
        self.view = QTableView(self)
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.view.setAlternatingRowColors(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.sparkline = SparklineDelegate(self)
        self.view.selectionModel().currentRowChanged.connect(lambda cur, _prev: self._show_soc(cur))
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter agents (id, bus, role, DER…)")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.info = QLabel("No market cleared yet", self)
        # the selected storage's day: its state of charge against its energy
        self.soc_plot = make_plot(self)
        self.soc_plot.setFixedHeight(110)
        item = self.soc_plot.getPlotItem()
        self.soc_line = item.plot(
            [],
            [],
            pen=pg.mkPen(SOC, width=2),
            stepMode=None,
            symbol="o",
            symbolSize=4,
            symbolBrush=pg.mkBrush(SOC),
            symbolPen=None,
        )
        self.soc_cap = hline(QColor(120, 120, 120), 0.02, above=False)
        item.addItem(self.soc_cap)
        axis_label(self.soc_plot, "left", "Stored (kWh)")
        self.soc_plot.setVisible(False)
        self._soc: dict[int, tuple[np.ndarray, float]] = {}
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.filter, 1)
        bar.addWidget(self.info)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(bar)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.soc_plot)
        self._ir: np.ndarray = np.zeros(0, dtype=bool)

    def set_result(self, result: MarketResult) -> None:
        first = self.result is None
        self.result = result
        frame = result.agents.drop(columns=[c for c in self.HIDDEN if c in result.agents])
        cur = result.currency
        self._ir = frame.ir_ok.to_numpy(bool) if "ir_ok" in frame else np.ones(len(frame), dtype=bool)
        self._soc = {}
        ap = result.agent_periods
        if "soc_kwh" in ap and "soc_max_kwh" in result.agents:
            T = len(result.periods)
            soc = ap.soc_kwh.to_numpy(float).reshape(len(frame), T) if len(frame) * T == len(ap) else None
            if soc is not None:
                for r in np.flatnonzero(np.isfinite(soc).all(axis=1)):
                    self._soc[int(r)] = (soc[r], self._energy(result, r, soc[r]))
        if self._soc:
            frame = frame.assign(soc=["" for _ in range(len(frame))])
        headers = {c: header_with_unit(c, cur, MONEY_COLUMNS) for c in frame.columns}
        headers.update(
            {
                "agent": "Agent",
                "der": "DER",
                "ir_ok": "IR",
                "gain_over_outside": f"Gain vs grid ({cur})",
                "outside_option": f"Outside option ({cur})",
                "bought_kwh": "Bought P2P (kWh)",
                "sold_kwh": "Sold P2P (kWh)",
                "soc": "State of charge",
                "storage_kwh": "Storage (kWh)",
            }
        )
        tips = {c: AGENT_TOOLTIPS.get(c, c).format(cur=cur) for c in frame.columns}
        decimals = {c: 2 for c in frame.columns if c in MONEY_COLUMNS}
        decimals.update({c: 1 for c in frame.columns if c.endswith("_kwh")})
        self.model.set_frame(frame, headers, tips, decimals)
        for c in range(self.model.columnCount()):
            self.view.setItemDelegateForColumn(c, self.sparkline if self.model.column_key(c) == "soc" else None)
        bad = int((~self._ir).sum())
        n_periods = len(result.periods)
        self.info.setText(
            f"{len(frame)} agents · over {n_periods} period{'s' if n_periods != 1 else ''} · "
            + ("all no worse off than the grid" if bad == 0 else f"⚠ {bad} worse off than the grid (red)")
        )
        if first:
            self.view.resizeColumnsToContents()
        if "soc" in frame:
            self.view.setColumnWidth(self.model.column_of("soc"), 110)
        self._show_soc(self.view.currentIndex())

    @staticmethod
    def _energy(result: MarketResult, r: int, soc: np.ndarray) -> float:
        """The storage's energy capacity (kWh), else the most it held."""
        cap = float(result.agents.storage_kwh.iat[r]) if "storage_kwh" in result.agents else np.nan
        return cap if np.isfinite(cap) and cap > 0 else float(max(np.nanmax(soc), 1e-9))

    def soc_of(self, row: int) -> tuple[np.ndarray, float] | None:
        """(state of charge per period, energy capacity) of the agent in source ``row``, or None."""
        return self._soc.get(row)

    def _show_soc(self, index) -> None:
        row = self.proxy.mapToSource(index).row() if index.isValid() else -1
        series = self._soc.get(row)
        if series is None or self.result is None:
            self.soc_plot.setVisible(False)
            return
        y, cap = series
        agent = str(self.result.agents.agent.iat[row])
        x = np.arange(1, y.size + 1, dtype=float)
        self.soc_line.setData(x, y)
        self.soc_cap.setValue(cap)
        set_line_label(self.soc_cap, f"{agent}: energy {fmt_sig(cap)} kWh")
        labels = list(self.result.periods.time) if "time" in self.result.periods else [str(int(v)) for v in x]
        step = max(1, y.size // 8)
        self.soc_plot.getPlotItem().getAxis("bottom").setTicks(
            [[(float(i + 1), f"{labels[i]}") for i in range(0, y.size, step)]]
        )
        self.soc_plot.getPlotItem().getViewBox().setRange(
            xRange=(0.5, y.size + 0.5), yRange=(0.0, cap * 1.08), padding=0
        )
        self.soc_plot.setToolTip(f"{agent}: stored energy at the end of each period, kWh (capacity {fmt_sig(cap)} kWh)")
        self.soc_plot.setVisible(True)

    def _row_brush(self, r: int):
        return BAD if r < len(self._ir) and not self._ir[r] else None


# ---------------------------------------------------------------------------
# the price iteration (welfare clearing)
# ---------------------------------------------------------------------------


DECENTRALISED_REL_TOL = 1e-4  # a gap below this share of the largest trade is the solver's tolerance


def _small(x: float) -> str:
    """A figure that is often solver noise: 2 significant digits, powers of ten below 10⁻³."""
    return f"{x:.1e}" if 0 < abs(x) < 1e-3 else fmt_sig(x, 2)


class PriceIterationPanel(QWidget):
    """The tâtonnement of the chosen period: price and excess supply per round, against the planner's λ."""

    NEEDS = (Diagnostic.PRICE_ITERATION, Diagnostic.DECENTRALISED_CHECK)  # the diagnostics its numbers come from

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result: MarketResult | None = None
        self.title = QLabel("No market cleared yet", self)
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.price_plot = make_plot(self)
        self.excess_plot = make_plot(self)
        self.price_plot.setMinimumHeight(55)
        self.excess_plot.setMinimumHeight(45)
        self.excess_plot.setXLink(self.price_plot)
        self.prices = self.price_plot.getPlotItem().plot(
            [],
            [],
            pen=pg.mkPen(DEMAND, width=2),
            symbol="o",
            symbolSize=6,
            symbolBrush=pg.mkBrush(DEMAND),
            symbolPen=None,
        )
        self.lam = hline(QColor(30, 30, 30), 0.96)
        self.price_plot.getPlotItem().addItem(self.lam)
        self.band = pg.LinearRegionItem(
            orientation="horizontal", movable=False, brush=pg.mkBrush(60, 60, 60, 28), pen=pg.mkPen(None)
        )
        self.band.setZValue(-5)
        self.price_plot.getPlotItem().addItem(self.band)
        self.excess = self.excess_plot.getPlotItem().plot(
            [],
            [],
            pen=pg.mkPen(SUPPLY, width=1.8),
            symbol="s",
            symbolSize=5,
            symbolBrush=pg.mkBrush(SUPPLY),
            symbolPen=None,
        )
        zero = pg.InfiniteLine(angle=0, pos=0.0, movable=False, pen=pg.mkPen("#888", width=1))
        self.excess_plot.getPlotItem().addItem(zero)
        axis_label(self.price_plot, "left", "Price")
        axis_label(self.excess_plot, "left", "Excess (kW)")
        self.excess_plot.setToolTip(
            "Excess supply at the announced price: Σ of the agents' net trades, kW "
            "(the grid absorbs any excess at a tariff bound)"
        )
        axis_label(self.excess_plot, "bottom", "Iteration")
        self.note = _note("", self)
        plots = QWidget(self)
        pl = QVBoxLayout(plots)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.setSpacing(2)
        pl.addWidget(self.price_plot, 3)
        pl.addWidget(self.excess_plot, 2)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(plots)
        self.stack.addWidget(self.note)
        self.check = QLabel("", self)
        self.check.setWordWrap(True)
        self.check.setTextFormat(Qt.TextFormat.RichText)
        self.check.setToolTip(
            "The decentralised check: each agent alone maximises its own surplus at the "
            "planner's prices λ_t; with convex costs and values its answer is the planner's "
            "trade (decentralised = centralised). Shown: the largest gap over agents and "
            "periods, kW, and the largest imbalance Σ_i q_i(λ) + grid, kW."
        )
        policy = self.check.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # its coming and going must not resize the docks and the feeder
        self.check.setSizePolicy(policy)
        self.check.setVisible(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.title)
        lay.addWidget(self.check)
        lay.addWidget(self.stack, 1)

    def _show_check(self, result: MarketResult) -> None:
        gap = result.summary.get("max_trade_gap_kw")
        if gap is None:
            self.check.setVisible(False)
            return
        imbalance = result.summary.get("max_imbalance_kw", float("nan"))
        ap = result.agent_periods
        net = (ap.sold_kwh + ap.grid_export_kwh - ap.bought_kwh - ap.grid_import_kwh).to_numpy(float)
        step = float(result.summary.get("step_h", 1.0))
        largest = float(np.max(np.abs(net), initial=0.0)) / step
        tol = max(1e-3, DECENTRALISED_REL_TOL * largest)  # interior-point solvers stop at ~1e-6 relative
        ok = gap <= tol and imbalance <= tol
        verdict = (
            "the planner's trades, within the solver's tolerance: decentralised = centralised"
            if ok
            else "they differ: some agent's own optimum is not the planner's (an agent indifferent between "
            "trades, or non-convex data)"
        )
        self.check.setText(
            f"<span style='color:{'#1b7f3b' if ok else '#b00020'}'>{'✓' if ok else '⚠'}</span> "
            f"Decentralised check — each agent alone at λ: {verdict}; largest gap {_small(gap)} kW "
            f"(largest trade {fmt_sig(largest, 3)} kW), imbalance {_small(imbalance)} kW."
        )
        self.check.setVisible(True)

    def set_result(self, result: MarketResult) -> None:
        self.result = result
        self._show_check(result)
        mech = result.settings.mechanism
        when = escape(period_label(result))
        unit = price_unit(result)
        if mech != "welfare":
            self.title.setText(f"<b>Price iteration</b> · {escape(mechanism_title(result))}")
            self.note.setText(
                f"The {mechanism_title(result).lower()} clears directly: it sorts the bids and asks and "
                "reads the trades (and prices) where the curves cross — there is no price iteration.\n\n"
                "Choose the welfare-maximising clearing to see the auctioneer's price iteration (tâtonnement)."
            )
            self.stack.setCurrentWidget(self.note)
            return
        tr = result.trace
        if result.settings.network != "none":
            self.title.setText("<b>Price iteration</b> · network model")
            self.note.setText(
                "With a network model every bus has its own price: the DLMPs of the "
                "network-constrained clearing (see the DLMP panel). The price iteration runs on the "
                "copper plate only (network “None”)."
            )
            self.stack.setCurrentWidget(self.note)
            return
        if tr is None or tr.prices.size == 0:
            self.title.setText("<b>Price iteration</b> · not run")
            self.note.setText(
                "The price iteration was not run for this result: tick “Price iteration” in the "
                "Market dock to see the auctioneer's rounds."
            )
            self.stack.setCurrentWidget(self.note)
            return
        t = result.period
        it = np.arange(1, tr.prices.shape[0] + 1, dtype=float)
        self.prices.setData(it, np.asarray(tr.prices[:, t], float))
        self.excess.setData(it, np.asarray(tr.excess_kw[:, t], float))
        p = result.periods.iloc[t]
        lo, hi = float(p.price_lo_per_kwh), float(p.price_hi_per_kwh)
        lam = float(p.price_per_kwh) if np.isfinite(p.price_per_kwh) else 0.5 * (lo + hi)
        wide = hi - lo > 1e-9 * (1.0 + abs(hi))
        self.band.setVisible(wide)
        if wide:
            self.band.setRegion((lo, hi))
        self.lam.setValue(lam)
        set_line_label(
            self.lam,
            f"planner's λ = {fmt_sig(lam)} {unit}"
            + (f" (any price in [{fmt_sig(lo)}, {fmt_sig(hi)}] clears)" if wide else ""),
        )
        axis_label(self.price_plot, "left", f"Price ({unit})")
        state = (
            f"converged in {tr.iterations} rounds"
            if tr.converged
            else f"stopped after {tr.iterations} rounds without converging"
        )
        final = float(tr.prices[-1, t])
        where = (
            "inside the interval of prices that clear"
            if lo - 1e-9 <= final <= hi + 1e-9
            else f"{fmt_sig(min(abs(final - lo), abs(final - hi)))} {escape(unit)} outside the prices that clear"
        )
        self.title.setText(
            f"<b>Price iteration</b> · {when} · {state} (tolerance {fmt_sig(tr.tolerance)} {escape(unit)}); "
            f"final price {fmt_sig(final)} {escape(unit)}, {where}"
            + (f" [{fmt_sig(lo)}, {fmt_sig(hi)}]" if wide else f" (λ = {fmt_sig(lam)})")
        )
        ys = [*np.asarray(tr.prices[:, t], float), lo, hi]
        lo, hi = min(ys), max(ys)
        pad = 0.1 * (hi - lo or abs(hi) or 1.0)
        self.price_plot.getPlotItem().getViewBox().setYRange(lo - pad, hi + pad, padding=0)
        self.price_plot.getPlotItem().getViewBox().setXRange(0.5, len(it) + 0.5, padding=0)
        self.excess_plot.getPlotItem().getViewBox().enableAutoRange(axis="y")
        self.stack.setCurrentIndex(0)


# ---------------------------------------------------------------------------
# prices over the horizon
# ---------------------------------------------------------------------------


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
        lay.addWidget(self.plot, 3)
        lay.addWidget(self.volt_plot, 2)
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


__all__ = ["AgentResultsPanel", "CurvesPanel", "DayPricesPanel", "PriceIterationPanel", "PropertiesPanel"]
