"""The fairness gains figure: each participant's gain over its outside option, efficient and under the chosen rule.

:class:`FairnessChart` draws the bars on a ``pg.PlotItem``; the Fairness panel shows that item in its plot widget
(with its hover and labels around it) and the report renders it offscreen (figure ``"fairness_gains"``). The
chart also holds the few drawing helpers the other report figures of the analysis panels share
(:class:`CategoryPlot`, :func:`plot_widget`, :func:`for_print`).
"""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont

from core.market import FAIRNESS_LABELS, MarketResult
from core.units import fmt_number, fmt_sig
from gui.charts import CategoryTicks
from gui.figures import Figure, figure
from gui.market_panels.style import axis_label, style_plot_item

EFFICIENT = QColor(112, 146, 190)  # the efficient allocation's gains
RULE = QColor(232, 125, 30)  # the chosen rule's gains
NOISE = 1e-6  # a price of fairness, Gini or gain this small (relative) is the solver's rounding: shown as 0
MANY = 80  # above this many participants the bars are a pixel wide and the rule's gains a line over them

SHORT_RULE = {"efficiency": "efficient", "proportional": "proportional", "maxmin": "max-min"}

# fonts readable at the report's size (REPORT_SIZE): ticks ≥ 9 pt, axis labels ≥ 10 pt
PRINT_TICK_PT = 9.5
PRINT_LABEL_PT = 10.5
PRINT_TITLE_PT = 11.0


def clean(x: float, scale: float = 1.0) -> float:
    """``x`` with the solver's rounding (``|x| < 1e-6·max(1, scale)``) shown as an exact 0."""
    x = float(x)
    return 0.0 if abs(x) < NOISE * max(1.0, abs(scale)) else x


def rule_label(rule: str) -> str:
    return FAIRNESS_LABELS.get(rule, rule)


# --- helpers shared by the analysis figures ------------------------------------------------------------------


class CategoryPlot(pg.PlotItem):
    """A house-styled ``pg.PlotItem`` that :class:`gui.charts.CategoryTicks` and ``index_at`` take as a plot widget."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.setMenuEnabled(False)
        style_plot_item(self)

    def getPlotItem(self) -> CategoryPlot:
        return self


def plot_widget(item: pg.PlotItem, parent=None, min_size: tuple[int, int] = (160, 80)) -> pg.PlotWidget:
    """A panel's white plot widget showing a chart's ``item`` (as :func:`gui.market_panels.make_plot` makes them)."""
    w = pg.PlotWidget(parent=parent, background="w", plotItem=item)
    w.setMenuEnabled(False)
    w.setMinimumSize(*min_size)
    return w


def for_print(item: pg.PlotItem, sides=("left", "bottom")) -> None:
    """Tick and axis-label fonts readable at the report's size."""
    ticks = QFont()
    ticks.setPointSizeF(PRINT_TICK_PT)
    for side in sides:
        ax = item.getAxis(side)
        ax.setTickFont(ticks)
        if ax.labelText:
            ax.setLabel(
                ax.labelText, units=ax.labelUnits or None, **{**ax.labelStyle, "font-size": f"{PRINT_LABEL_PT}pt"}
            )


def legend(entries, columns: int | None = None) -> pg.LegendItem:
    """A legend for a figure's layout (a row of its own, above the plot it explains): ``entries`` are
    (graphics item, name); names are rich text (escape ``<``)."""
    leg = pg.LegendItem(labelTextColor="#222", labelTextSize=f"{PRINT_TICK_PT}pt", horSpacing=14)
    leg.setColumnCount(columns or len(entries))
    for it, name in entries:
        leg.addItem(it, escape(name))
    return leg


def room_for_first_name(plot: pg.PlotItem, n: int, plot_px: float) -> None:
    """Widen the left end of a category axis so that the first name (centred on 0) is drawn, not dropped as
    overflowing the axis: ``plot_px`` is about the view's width in the report's figure."""
    pad = max(0.6, 30.0 * n / max(plot_px - 30.0, 1.0))
    plot.getViewBox().setXRange(-pad, n - 0.4, padding=0)


def figure_layout(title: str) -> pg.GraphicsLayout:
    """A report figure's layout with ``title`` (rich text) in its first row."""
    layout = pg.GraphicsLayout()
    layout.setContentsMargins(4, 2, 4, 2)
    layout.layout.setVerticalSpacing(0)
    layout.addLabel(title, row=0, col=0, colspan=3, size=f"{PRINT_TITLE_PT}pt", color="#222")
    return layout


def period_time(result: MarketResult) -> str:
    p = result.periods
    if p is not None and "time" in p:
        row = p[p.period == result.period]
        if len(row):
            return str(row.time.iloc[0])
    return f"period {result.period}"


# --- the chart ------------------------------------------------------------------------------------------------


class FairnessChart:
    """Each participant's gain over its outside option: efficient (bars), under the rule (bars or a line over them).

    Sorted by the efficient gain, largest first; equal gains (to a millionth) keep the project's order.
    """

    def __init__(self):
        self.plot = CategoryPlot()
        item = self.plot
        item.getViewBox().setMouseEnabled(x=True, y=False)
        self.eff_bars = pg.BarGraphItem(
            x=[0.0], height=[0.0], width=0.4, brush=pg.mkBrush(EFFICIENT), pen=pg.mkPen(None)
        )
        self.rule_bars = pg.BarGraphItem(x=[0.0], height=[0.0], width=0.4, brush=pg.mkBrush(RULE), pen=pg.mkPen(None))
        item.addItem(self.eff_bars)
        item.addItem(self.rule_bars)
        self.rule_line = item.plot([0.0], [], stepMode="center", pen=pg.mkPen(RULE, width=2.0))
        self.rule_line.setZValue(5)
        self.zero = pg.InfiniteLine(angle=0, pos=0.0, movable=False, pen=pg.mkPen("#666", width=1))
        item.addItem(self.zero)
        self.hover_band = pg.LinearRegionItem(
            values=(0, 1), movable=False, brush=pg.mkBrush(255, 200, 40, 70), pen=pg.mkPen(None)
        )
        self.hover_band.setZValue(-20)
        self.hover_band.setVisible(False)
        item.addItem(self.hover_band)
        self.names = CategoryTicks(self.plot, "bottom")
        axis_label(self.plot, "left", "Gain")
        axis_label(self.plot, "bottom", "Participant, largest efficient gain first →")
        self.sorted = pd.DataFrame()
        self.order: list[str] = []
        self.eff = np.zeros(0)
        self.rule = np.zeros(0)
        self.rule_name = "efficiency"
        self.many = False

    def show(self, result: MarketResult, rule: str | None = None) -> None:
        """Draw ``result.fairness`` (its rule: ``rule``, by default the summary's)."""
        fs = result.fairness_summary or {}
        rule = rule or fs.get("rule", result.settings.fairness)
        f = result.fairness
        eff = f.utility_efficient.to_numpy(float)
        order = np.argsort(-np.round(eff, 6), kind="stable")  # equal gains (to a millionth) in the project's order
        f = f.iloc[order].reset_index(drop=True)
        self.sorted = f
        self.order = [str(a) for a in f.agent]
        eff, u = f.utility_efficient.to_numpy(float), f.utility.to_numpy(float)
        self.eff, self.rule, self.rule_name = eff, u, rule
        n = len(f)
        x = np.arange(n, dtype=float)
        same = rule == "efficiency"
        many = self.many = n > MANY
        if same:
            self.eff_bars.setOpts(x=x, height=eff, width=1.0 if many else 0.7)
            self.rule_bars.setOpts(x=x, height=np.zeros(n), width=0.0)
            self.rule_bars.setVisible(False)
            self.rule_line.setData([0.0], [], stepMode="center")
            self.rule_line.setVisible(False)
        elif many:  # bars a pixel wide: the efficient gains as bars, the rule's as a line over them
            self.eff_bars.setOpts(x=x, height=eff, width=1.0)
            self.rule_bars.setVisible(False)
            self.rule_line.setData(np.arange(n + 1, dtype=float) - 0.5, u, stepMode="center")
            self.rule_line.setVisible(True)
        else:
            self.eff_bars.setOpts(x=x - 0.2, height=eff, width=0.4)
            self.rule_bars.setOpts(x=x + 0.2, height=u, width=0.4)
            self.rule_bars.setVisible(True)
            self.rule_line.setData([0.0], [], stepMode="center")
            self.rule_line.setVisible(False)
        axis_label(self.plot, "left", f"Gain ({result.currency})")
        lo = min(0.0, float(np.nanmin(np.r_[eff, u], initial=0.0)))
        hi = max(0.0, float(np.nanmax(np.r_[eff, u], initial=0.0)))
        pad = 0.06 * ((hi - lo) or 1.0)
        vb = self.plot.getViewBox()
        vb.setYRange(lo - (pad if lo < 0 else 0.0), hi + pad, padding=0)
        vb.setXRange(-0.6, n - 0.4, padding=0)
        self.names.set_names(self.order)
        self.hover_band.setVisible(False)

    def legend_html(self) -> str:
        """The legend as rich text (the panel's label above the plot)."""
        name = SHORT_RULE.get(self.rule_name, self.rule_name)
        swatch = "<nobr><span style='color:{c}'>{m}</span> {t}</nobr>"
        if self.rule_name == "efficiency":
            return swatch.format(c=EFFICIENT.name(), m="■", t="gain over the outside option (the rule is efficiency)")
        return (
            "gain over the outside option: "
            + swatch.format(c=EFFICIENT.name(), m="■", t="efficient")
            + " &nbsp; "
            + swatch.format(c=RULE.name(), m="━" if self.many else "■", t=f"under {name}")
        )

    def legend_item(self) -> pg.LegendItem:
        """The legend as a graphics item (the report's figure)."""
        if self.rule_name == "efficiency":
            return legend([(self.eff_bars, "gain over the outside option (the rule is efficiency)")])
        name = SHORT_RULE.get(self.rule_name, self.rule_name)
        rule_item = self.rule_line if self.many else self.rule_bars
        return legend([(self.eff_bars, "efficient"), (rule_item, f"under {name}")])


# --- the report's figure --------------------------------------------------------------------------------------


@figure("fairness_gains")
def build(result: MarketResult, scenario=None, period: int | None = None) -> Figure | None:
    """Each participant's gain, efficient vs under the chosen rule; None when the result has no fairness rule."""
    if result.fairness is None or len(result.fairness) == 0:
        return None
    fs = result.fairness_summary or {}
    rule = fs.get("rule", result.settings.fairness)
    chart = FairnessChart()
    chart.show(result, rule)
    cur = result.currency
    n = len(chart.order)
    periods = len(result.periods) if result.periods is not None else 0
    transfers = bool(fs.get("transfers", result.settings.fairness_transfers))
    regime = "with transfers" if transfers else "no side payments"
    layout = figure_layout(
        f"<b>Fairness</b> · {escape(rule_label(rule))} · {regime} · {n:,} participants · {escape(cur)} over "
        f"{periods} period{'s' if periods != 1 else ''}"
    )
    for_print(chart.plot)
    if n > MANY:
        axis_label(chart.plot, "bottom", f"{n:,} participants, largest efficient gain first →")
        for_print(chart.plot)
    chart.plot.getViewBox().setMouseEnabled(x=False, y=False)
    layout.addItem(chart.legend_item(), row=1, col=0)
    layout.addItem(chart.plot, row=2, col=0)
    layout.layout.setRowStretchFactor(2, 1)
    room_for_first_name(chart.plot, n, 660.0)
    chart.names.update()
    G = float(fs.get("welfare_gain", np.nan))
    pof = fs.get("price_of_fairness", np.nan)
    numbers = []
    if np.isfinite(G):
        numbers.append(f"the participants' gains add up to {fmt_number(G, 2)} {cur}")
    if pof is not None and np.isfinite(pof) and rule != "efficiency":
        numbers.append(f"the price of fairness is {fmt_sig(100.0 * clean(pof), 3)} % of the efficient gain")
    worst = fs.get("worst_off")
    if worst is not None and np.isfinite(worst):
        numbers.append(f"the worst-off participant gains {fmt_number(clean(worst, G / max(n, 1)), 2)} {cur}")
    jain = fs.get("jain")
    if jain is not None and np.isfinite(jain):
        numbers.append(f"Jain's index is {fmt_number(clean(jain), 3)} (1 = equal gains)")
    short = rule_label(rule).split(" (")[0].lower() + " fairness"
    if rule == "efficiency":
        what = "in the efficient allocation (the chosen rule is efficiency)"
        read = "Each bar is one participant"
    elif n > MANY:
        what = f"in the efficient allocation (blue bars) and under {short} (orange line)"
        read = "Each bar is one participant; the orange line is the same participant's gain under the rule"
    else:
        what = f"in the efficient allocation (blue, left bar) and under {short} (orange, right bar)"
        read = "Each pair of bars is one participant"
    horizon = f"{periods} periods, not one period" if periods != 1 else "1 period"
    caption = (
        f"Fairness gains: each participant's gain over its outside option (trading with the grid alone at the "
        f"tariffs), in {cur} over the whole horizon ({horizon}), {what}. "
        f"Welfare-maximising clearing on the copper plate with the tariffs as the outside option. "
        f"{read}, sorted by the efficient gain, largest first"
        + (f"; {n:,} participants are drawn a pixel wide and named every few" if n > MANY else "")
        + ". "
        + (("; ".join(numbers)[:1].upper() + "; ".join(numbers)[1:] + ".") if numbers else "")
    )
    return Figure("fairness_gains", layout, caption, keep=[chart])


__all__ = [
    "EFFICIENT",
    "RULE",
    "SHORT_RULE",
    "CategoryPlot",
    "FairnessChart",
    "clean",
    "figure_layout",
    "for_print",
    "legend",
    "plot_widget",
    "room_for_first_name",
    "rule_label",
]
