"""The mechanism comparison figure: the five mechanisms' days side by side, one metric per small bar chart.

:class:`MechanismBars` draws one metric of ``result.mechanisms`` (:func:`core.market.compare_days`) as horizontal
bars, one per mechanism, the chosen one in orange. The Compare panel shows the efficiency bars beside its table; the
report renders a grid of them — efficiency, gain over the grid alone, energy traded, the platform's money (budget
balance), how many lose against the grid alone (IR) and the best gain from lying (IC) — offscreen (figure
``"comparison"``).
"""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont, QFontMetrics

from core.market import MECHANISM_LABELS, NETWORK_LABELS, MarketResult
from core.units import fmt_number, fmt_sig
from gui.figures import Figure, figure
from gui.figures.fairness import PRINT_TICK_PT, CategoryPlot, figure_layout, for_print, period_time
from gui.market_panels.style import SHORT_MECHANISM, axis_label

BAR = QColor(31, 119, 180)
BAR_CHOSEN = QColor(226, 110, 30)
CHAR_PX = 8.5  # a label's character at the report's tick size, about
LABEL_VIEW_PX = 200.0  # a small plot's view in the report's 3 × 2 grid, about


class MechanismBars:
    """One metric per mechanism as horizontal bars (mechanisms down the left axis, the chosen one in orange)."""

    def __init__(self, label: str = "Efficiency (%)", names: bool = True):
        self.plot = CategoryPlot()
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.6, width=[], brushes=[])
        self.plot.addItem(self.bars)
        self.plot.getViewBox().setMouseEnabled(x=False, y=False)
        self.plot.getViewBox().invertY(True)
        self.names = names
        self.values: dict[str, float] = {}  # mechanism → the value drawn
        self.labels: list[pg.TextItem] = []
        axis_label(self.plot, "bottom", label)

    def clear(self) -> None:
        self.bars.setOpts(x0=[], y=[], width=[], brushes=[])
        self.values = {}
        self._clear_labels()

    def _clear_labels(self) -> None:
        for t in self.labels:
            self.plot.removeItem(t)
        self.labels = []

    def show(
        self,
        table: pd.DataFrame,
        metric: str,
        chosen: str,
        scale: float = 1.0,
        right: float | None = None,
        texts: list[str] | None = None,
        view_px: float = LABEL_VIEW_PX,
    ) -> None:
        """Bars of ``table[metric] × scale`` per mechanism (``right``: the axis's right end, else the data's).

        ``texts``: a label at each bar's end (the report's figure), "" for none.
        """
        v = scale * table[metric].to_numpy(float)
        mechs = list(table.mechanism)
        y = np.arange(len(table), dtype=float)
        ok = np.isfinite(v)
        self.values = {m: float(x) for m, x in zip(mechs, v, strict=True)}
        self.bars.setOpts(
            x0=np.zeros(int(ok.sum())),
            y=y[ok],
            width=v[ok],
            height=0.6,
            brushes=[pg.mkBrush(BAR_CHOSEN if m == chosen else BAR) for m, good in zip(mechs, ok, strict=True) if good],
        )
        left = self.plot.getAxis("left")
        names = [SHORT_MECHANISM.get(m, m) for m in mechs]
        if self.names:
            left.setTicks([[(float(i), n) for i, n in enumerate(names)], []])
            metrics = QFontMetrics(left.style["tickFont"] or self.plot.font())
            left.setWidth(max(metrics.horizontalAdvance(n) for n in names) + 14)
        else:
            left.setTicks([[(float(i), "") for i in range(len(names))], []])
            left.setWidth(4)
        lo = float(min(0.0, np.nanmin(v))) if ok.any() else 0.0
        hi = float(max(0.0, np.nanmax(v))) if ok.any() else 1.0
        small = 1e-6 * max(abs(lo), abs(hi), 1.0)  # solver noise: a bar of 0, its label to the right
        if right is None:
            # room for the labels at the bars' ends, as a share of the view (about LABEL_VIEW_PX wide)
            share = lambda sel: max((len(t) for x, t in zip(v, texts or [], strict=False) if sel(x)), default=0)  # noqa: E731
            f_right = min(0.45, CHAR_PX * share(lambda x: not x < -small) / view_px) if texts else 0.06
            f_left = min(0.3, CHAR_PX * share(lambda x: x < -small) / view_px) if texts else 0.0
            width = ((hi - lo) or 1.0) / max(1.0 - f_right - f_left, 0.25)
            right = hi + f_right * width
            lo = lo - f_left * width
        self.plot.getViewBox().setRange(xRange=(lo, right), yRange=(-0.6, len(table) - 0.4), padding=0)
        self._clear_labels()
        if texts:
            font = QFont()
            font.setPointSizeF(PRINT_TICK_PT)
            for i, (x, text) in enumerate(zip(v, texts, strict=True)):
                if not text:
                    continue
                at = float(x) if np.isfinite(x) else 0.0
                t = pg.TextItem(text, color="#222", anchor=(1.0, 0.5) if at < -small else (0.0, 0.5))
                t.setFont(font)
                t.setPos(at, float(i))
                self.plot.addItem(t)
                self.labels.append(t)


# metric → axis label ({cur} the currency, {when} the period's time), scale of the report's grid
PANELS = (
    ("efficiency", "Efficiency (%)", 100.0),
    ("gain_over_outside", "Gain over grid alone ({cur})", 1.0),
    ("traded_kwh", "Traded P2P (kWh)", 1.0),
    ("platform_surplus", "Platform surplus ({cur})", 1.0),
    ("ir_violations", "Worse off than grid (IR)", 1.0),
    ("max_ic_gain", "Gain from lying at {when} (IC, {cur})", 1.0),
)


def _text(metric: str, value: float, mechanism: str, balance_scale: float) -> str:
    if metric == "max_ic_gain" and mechanism == "welfare":
        return "no bids"
    if not np.isfinite(value):
        return "–"
    if metric == "ir_violations":
        n = round(value)
        return "none" if n == 0 else f"{n:,}"
    if metric == "platform_surplus" and abs(value) < 1e-6 * balance_scale:
        return "balanced"
    if metric == "max_ic_gain" and abs(value) < 1e-9:
        return "0"
    if metric == "efficiency":
        return fmt_number(value, 1)
    return fmt_sig(value, 4)


@figure("comparison")
def build(result: MarketResult, scenario=None, period: int | None = None) -> Figure | None:
    """The mechanisms compared on one scale over the day; None when the result has no comparison."""
    table = result.mechanisms
    if table is None or len(table) == 0:
        return None
    t = table.reset_index(drop=True)
    cur = result.currency
    when = period_time(result)
    chosen = result.settings.mechanism
    balance_scale = 1.0 + float(np.nanmax(np.abs(t.welfare.to_numpy(float))))
    extra = " (the headline's network aside)" if result.settings.network != "none" else ""
    layout = figure_layout(
        f"<b>Mechanisms compared</b> · the day · copper plate, tariffs{escape(extra)} · "
        f"<span style='color:{BAR_CHOSEN.name()}'>■</span> {escape(SHORT_MECHANISM.get(chosen, chosen))} chosen"
    )
    layout.layout.setVerticalSpacing(6)
    layout.layout.setHorizontalSpacing(12)
    charts = []
    fill = {"cur": cur, "when": when}
    for k, (metric, label, scale) in enumerate(PANELS):
        row, col = 1 + k // 3, k % 3
        chart = MechanismBars(label.format(**fill), names=col == 0)
        v = scale * t[metric].to_numpy(float)
        texts = [_text(metric, float(x), m, balance_scale) for x, m in zip(v, t.mechanism, strict=True)]
        for_print(chart.plot)
        chart.show(t, metric, chosen, scale=scale, texts=texts, view_px=150.0 if col == 0 else 210.0)
        layout.addItem(chart.plot, row=row, col=col)
        charts.append(chart)
    for chart in charts[1:]:
        chart.plot.setYLink(charts[0].plot)
    eff = t.set_index("mechanism").efficiency
    others = eff.drop("welfare", errors="ignore").dropna()  # no gain to share (nobody trades): no efficiency
    worst = others.idxmin() if len(others) else None
    if worst is not None and np.isclose(float(others.max()), float(others.min()), rtol=0, atol=5e-4):
        worst = None  # all equally efficient: nobody is "the least"
    net = result.settings.network
    network_words = (
        f" The report's headline clears the welfare-maximising market with {NETWORK_LABELS.get(net, net)}; "
        "this comparison runs every mechanism on the copper plate, so its welfare clearing is that model's "
        "copper-plate twin."
        if net != "none"
        else ""
    )
    day = f"{len(result.periods)} period{'s' if len(result.periods) != 1 else ''}"
    caption = (
        f"The five mechanisms over the whole day ({day}), each valued with the prosumers' "
        f"true values and costs on the copper plate with the tariffs; the chosen mechanism "
        f"({MECHANISM_LABELS.get(chosen, chosen)}) in orange. Efficiency is the share of the welfare clearing's "
        f"gain over everyone trading with the grid alone that a mechanism reaches (the welfare clearing: 100 %); "
        f"the platform surplus is what the platform keeps (0: budget balanced; negative: a deficit someone must "
        f"fund); IR counts the prosumers who end the day worse off than with the grid alone; IC is the best gain "
        f"a prosumer finds by misreporting its bid at {when} (0: nobody gains by lying)."
        + (
            f" The least efficient is {MECHANISM_LABELS.get(worst, worst)} at "
            f"{fmt_sig(100.0 * float(eff[worst]), 3)} %."
            if worst is not None and np.isfinite(eff[worst])
            else ""
        )
        + network_words
    )
    return Figure("comparison", layout, caption, keep=charts)


__all__ = ["BAR", "BAR_CHOSEN", "MechanismBars"]
