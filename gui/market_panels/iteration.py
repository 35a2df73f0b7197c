"""Price iteration: the auctioneer's tâtonnement and the decentralised check of the welfare clearing."""

from __future__ import annotations

from html import escape

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QLabel,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core.market import Diagnostic, MarketResult
from core.units import fmt_sig
from gui.market_panels.style import (
    DEMAND,
    SUPPLY,
    _note,
    axis_label,
    hline,
    make_plot,
    mechanism_title,
    period_label,
    price_unit,
    set_line_label,
)

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
