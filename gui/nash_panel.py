"""The Nash panel: search the period's bidding game for a pure Nash equilibrium, on demand, off the GUI thread.

The players are the N largest sellers of the chosen period's truthful order
book; each marks up its asks (and may withhold kWh) under the current
mechanism — the welfare clearing is played as its price-taking twin, the
uniform-price auction. :class:`gui.workers.nash.NashRunner` runs
:func:`core.strategy.nash_search` and then :func:`core.strategy.existence_check`
on a worker; this panel shows the best-response path (the price and every
player's markup per step), the verdict, the per-player table and the
Debreu–Glicksberg–Fan evidence. It computes nothing itself.
"""

from __future__ import annotations

import math
from html import escape

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.market import AUCTIONS, MECHANISM_LABELS, MarketResult
from core.nash_run import NashOutcome, NashRequest
from core.units import fmt_number, fmt_sig
from gui.charts import CategoryTicks, StatLine, series_colour, side_column
from gui.frame_model import DataFrameModel
from gui.market_panels import BAD, GOOD, axis_label, dashed, hline, make_plot, period_label, set_line_label
from gui.presenting import muted
from gui.workers.nash import NashRunner

CONVERGED = "#1b7f3b"
NO_EQUILIBRIUM = "#b00020"
CANCELLED = "#666666"
TRUTHFUL = pg.mkColor(120, 120, 120)

GAME_TIP = (
    "The bidding game: the N largest sellers of the period mark up their true asks (and may withhold kWh); "
    "everyone else bids truthfully. Each player's payoff is its true profit under the mechanism. Best "
    "responses are searched in turn until nobody gains by moving (an equilibrium), a profile repeats (a "
    "cycle) or the rounds run out."
)

NASH_STATS = [
    ("price", "Equilibrium price", "The clearing price at the equilibrium profile, against truthful bidding's"),
    (
        "welfare_lost",
        "Welfare lost",
        "True welfare with truthful bids − true welfare at the equilibrium "
        "(Σ true value of kWh bought − Σ true cost of kWh sold)",
    ),
    (
        "deviation",
        "Largest deviation gain",
        "max_i [best payoff player i can reach alone − its payoff]: 0 (within the tolerance) at an equilibrium",
    ),
    ("rounds", "Rounds", "Rounds of best responses (each player moves once per round)"),
]

PLAYER_TIPS = {
    "agent": "The strategic seller (one of the N largest by kWh offered)",
    "side": "The side it plays: sell (marks its asks up) or buy (shades its bids down)",
    "markup_pct": "Its markup on its true asks at the final profile: ask·(1 + m), %",
    "withheld_pct": "The share of its offered kWh it withholds, %",
    "sold_kwh": "kWh it sells at the final profile",
    "profit": "Its true profit at the final profile: payment received − true cost, {cur}",
    "truthful_profit": "Its true profit when everyone bids truthfully, {cur}",
    "best_deviation_gain": "The most it could gain by changing its own strategy alone (a fresh search), {cur}",
    "best_deviation_markup_pct": "The markup of that best deviation, %",
}

EXISTENCE_TIPS = {
    "player": "The player whose payoff is examined along its own strategy, the others fixed",
    "nonempty": "Strategy set non-empty (an interval [0, m_max])",
    "compact": "Strategy set compact (closed and bounded)",
    "convex": "Strategy set convex (an interval, a box with withholding)",
    "continuous": "Payoff continuous in the player's own strategy: no jump survives 40 bisections of a grid cell",
    "max_step_rel": "Largest payoff change between neighbouring grid points, over the payoff's range",
    "jump_rel": "What is left of that change after bisecting its cell: a jump stays, a continuous change vanishes",
    "jump_at": "Where the largest jump is (strategy coordinate ≈ value, and the others' context profile)",
    "quasi_concave": "Payoff quasi-concave in own strategy: it rises, then falls (no dip between two higher values)",
    "qc_violation_rel": "The deepest dip below the best values on both sides, over the payoff's range",
    "qc_at": "Where that dip is",
}


def _table(parent) -> QTableView:
    view = QTableView(parent)
    view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(22)
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    view.horizontalHeader().setResizeContentsPrecision(200)  # widths from the first rows: instant on 1,000 players
    return view


def game_mechanism(mechanism: str) -> str:
    """The auction the bidding game is played under: the chosen one, or the uniform price for the welfare clearing."""
    return mechanism if mechanism in AUCTIONS else "uniform"


class NashPanel(QWidget):
    """Find a pure Nash equilibrium of the chosen period's bidding game, on demand.

    ``set_market(scenario, result)`` says which market to play (the scenario of
    the result on screen, its period, mechanism and k); a change of market
    stops a running search and marks a shown one as out of date.
    """

    def __init__(self, runner: NashRunner | None = None, parent=None):
        super().__init__(parent)
        self.runner = runner or NashRunner(self)
        self.scenario = None
        self.result: MarketResult | None = None
        self.outcome: NashOutcome | None = None
        self._market_key: tuple | None = None
        self._outcome_key: tuple | None = None
        self._pending_key: tuple | None = None
        self._frame = pd.DataFrame()

        self.title = QLabel("No market cleared yet", self)
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.RichText)

        # the game's options and the search's controls (a column on the left)
        self.players = QSpinBox(self)
        self.players.setRange(1, 20)
        self.players.setValue(3)
        self.players.setSuffix(" largest sellers")
        self.players.setToolTip(
            "The strategic players: the sellers offering the most kWh in the period; the others bid truthfully"
        )
        self.m_max = QDoubleSpinBox(self)
        self.m_max.setRange(5.0, 500.0)
        self.m_max.setSingleStep(10.0)
        self.m_max.setDecimals(0)
        self.m_max.setValue(100.0)
        self.m_max.setSuffix(" %")
        self.m_max.setToolTip(
            "The largest markup a player may put on its true asks: ask·(1 + m), m ∈ [0, max] "
            "(searched on 21 points with a finer search around the best)"
        )
        self.withhold = QCheckBox("Withhold kWh", self)
        self.withhold.setToolTip(
            "Players may also withhold up to half of their offered kWh (capacity withholding, "
            "the way market power is exercised)"
        )
        self.max_rounds = QSpinBox(self)
        self.max_rounds.setRange(1, 500)
        self.max_rounds.setValue(50)
        self.max_rounds.setToolTip("Stop after this many rounds of best responses without convergence")
        self.find_button = QPushButton("Find equilibrium", self)
        self.find_button.setToolTip(
            "Search a pure Nash equilibrium by best-response dynamics (on a worker thread), "
            "then check the Debreu–Glicksberg–Fan conditions"
        )
        self.find_button.setEnabled(False)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Stop the search at its next best response")
        self.cancel_button.setEnabled(False)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 100)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(8)
        self.bar.setVisible(False)
        self.state = QLabel("", self)
        muted(self.state, "#555")
        self.state.setWordWrap(True)
        self.state.setVisible(False)
        self.verdict = QLabel("Press <b>Find equilibrium</b> to search the period's bidding game.", self)
        self.verdict.setTextFormat(Qt.TextFormat.RichText)
        self.verdict.setWordWrap(True)
        self.stats = StatLine(NASH_STATS, self)

        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setVerticalSpacing(3)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Players", self.players)
        form.addRow("Max markup", self.m_max)
        form.addRow("Max rounds", self.max_rounds)
        form.addRow("", self.withhold)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.find_button, 1)
        buttons.addWidget(self.cancel_button)
        side = QWidget(self)
        sl = QVBoxLayout(side)
        sl.setContentsMargins(0, 0, 6, 0)
        sl.setSpacing(4)
        sl.addLayout(form)
        sl.addLayout(buttons)
        sl.addWidget(self.bar)
        sl.addWidget(self.state)
        sl.addStretch(1)
        self.side = side_column(side)

        # the best-response path: the price per step over every player's markup per step
        self.price_plot = make_plot(self)
        self.price_plot.setMinimumHeight(55)
        self.price_plot.setMinimumSize(140, 50)
        pi = self.price_plot.getPlotItem()
        self.price_line = pi.plot(
            [],
            [],
            pen=pg.mkPen("#1f77b4", width=2.2),
            symbol="o",
            symbolSize=6,
            symbolBrush=pg.mkBrush("#1f77b4"),
            symbolPen=None,
        )
        self.truthful_line = hline(TRUTHFUL, 0.02, above=True)
        pi.addItem(self.truthful_line)
        pi.getAxis("bottom").setStyle(showValues=False)
        axis_label(self.price_plot, "left", "Price")
        self.markup_plot = make_plot(self)
        self.markup_plot.setMinimumHeight(50)
        self.markup_plot.setMinimumSize(140, 50)
        self.markup_plot.setXLink(self.price_plot)
        self.markup_plot.getPlotItem().getAxis("left").setWidth(pi.getAxis("left").width())
        self.markup_names = CategoryTicks(self.markup_plot, "bottom")
        self.markup_lines: list = []
        axis_label(self.markup_plot, "left", "%")
        axis_label(self.markup_plot, "bottom", "Best-response step (round:mover)")
        self.path_legend = QLabel("", self)
        self.path_legend.setTextFormat(Qt.TextFormat.RichText)
        self.path_legend.setWordWrap(True)
        path = QWidget(self)
        pl = QVBoxLayout(path)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.setSpacing(0)
        pl.addWidget(self.path_legend)
        pl.addWidget(self.price_plot, 1)
        pl.addWidget(self.markup_plot, 1)
        self.path = path

        self.player_model = DataFrameModel(self)
        self.player_view = _table(self)
        self.player_view.setModel(self.player_model)

        self.existence_verdict = QLabel("Not checked yet: the check runs after the search.", self)
        self.existence_verdict.setWordWrap(True)
        self.existence_verdict.setTextFormat(Qt.TextFormat.RichText)
        self.existence_model = DataFrameModel(self)
        self.existence_model.cell_brush = self._existence_brush
        self.existence_view = _table(self)
        self.existence_view.setModel(self.existence_model)
        self.existence_notes = QLabel("", self)
        self.existence_notes.setWordWrap(True)
        muted(self.existence_notes, "#555")
        ex = QWidget(self)
        el = QVBoxLayout(ex)
        el.setContentsMargins(0, 0, 0, 0)
        el.addWidget(self.existence_verdict)
        el.addWidget(self.existence_view, 1)
        el.addWidget(self.existence_notes)

        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(path, "Best-response path")
        self.tabs.addTab(self.player_view, "Players")
        self.tabs.addTab(ex, "Existence (Debreu–Glicksberg–Fan)")

        results = QWidget(self)
        rl = QVBoxLayout(results)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.setSpacing(2)
        rl.addWidget(self.verdict)
        rl.addWidget(self.stats)
        rl.addWidget(self.tabs, 1)
        page = QSplitter(Qt.Orientation.Horizontal, self)
        page.addWidget(self.side)
        page.addWidget(results)
        page.setStretchFactor(0, 0)
        page.setStretchFactor(1, 1)
        page.setSizes([230, 640])
        page.setChildrenCollapsible(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(3)
        lay.addWidget(self.title)
        lay.addWidget(page, 1)

        self.find_button.clicked.connect(self.find)
        self.cancel_button.clicked.connect(self.cancel)
        self.runner.busy.connect(self._busy)
        self.runner.progress.connect(self._progress)
        self.runner.finished.connect(self._show)
        self.runner.failed.connect(self._failed)

    # --- the market to play --------------------------------------------------------------
    def set_market(self, scenario, result: MarketResult) -> None:
        """The market on screen: the next search plays its period's bids under its mechanism."""
        s = result.settings
        key = (id(scenario), result.period, s.mechanism, s.k)
        changed = key != self._market_key
        self.scenario, self.result, self._market_key = scenario, result, key
        mech = game_mechanism(s.mechanism)
        label = escape(MECHANISM_LABELS.get(mech, mech))
        if mech == "uniform":
            label += f" (k = {fmt_sig(s.k, 3)})"
        twin = " (for the welfare clearing)" if s.mechanism == "welfare" else ""
        self.title.setText(f"<b>Nash equilibrium</b> · the {escape(period_label(result))} bids under {label}{twin}")
        twin_tip = (
            "The welfare clearing is played as its price-taking twin, the uniform-price auction of the same bids.\n"
            if s.mechanism == "welfare"
            else ""
        )
        self.title.setToolTip(twin_tip + GAME_TIP)
        if result.market_power is not None and len(result.market_power):
            self.players.setMaximum(max(1, min(50, len(result.market_power))))
        self.find_button.setEnabled(not self.runner.is_busy())
        if changed and self.runner.is_busy():
            self.runner.cancel(drop=True)
            self._state(
                "Search stopped: the market changed (an edit, the period or the mechanism) — "
                "find the equilibrium again."
            )
        if changed and self.outcome is not None and self._outcome_key != key:
            self._state("The equilibrium shown is for the market before the last change — find it again to update.")

    def request(self) -> NashRequest | None:
        if self.scenario is None or self.result is None:
            return None
        s = self.result.settings
        return NashRequest(
            scenario=self.scenario,
            period=self.result.period,
            mechanism=game_mechanism(s.mechanism),
            players=self.players.value(),
            withhold=self.withhold.isChecked(),
            m_max=self.m_max.value() / 100.0,
            max_rounds=self.max_rounds.value(),
            k=s.k,
        )

    def find(self) -> None:
        """Start the search on the worker (never here)."""
        req = self.request()
        if req is None:
            return
        self._pending_key = self._market_key
        self.runner.start(req)
        self._state("Searching…")

    def cancel(self) -> None:
        self.runner.cancel()
        self._state("Cancelling…")

    # --- runner feedback -------------------------------------------------------------------
    def _state(self, text: str) -> None:
        self.state.setText(text)
        self.state.setVisible(bool(text))

    def _busy(self, on: bool) -> None:
        self.bar.setVisible(on)
        if on:
            self.bar.setValue(0)
        self.find_button.setEnabled(not on and self.scenario is not None)
        self.cancel_button.setEnabled(on)
        for w in (self.players, self.m_max, self.withhold, self.max_rounds):
            w.setEnabled(not on)

    def _progress(self, fraction: float, text: str) -> None:
        self.bar.setValue(round(100 * max(0.0, min(1.0, fraction))))
        self._state(f"Searching… {text}")

    def _failed(self, message: str) -> None:
        self._state(f"⚠ {message}")
        self.state.setStyleSheet("color: #b00020;")

    # --- the outcome -------------------------------------------------------------------------
    def _show(self, outcome: NashOutcome) -> None:
        self.outcome = outcome
        self._outcome_key = self._pending_key
        muted(self.state, "#555")
        r = outcome.result
        cur = self.result.currency if self.result is not None else ""
        unit = f"{cur}/kWh"
        if r.converged:
            colour, head = (
                CONVERGED,
                (f"✓ Converged after {r.rounds} round{'s' if r.rounds != 1 else ''}: a pure Nash equilibrium"),
            )
        elif r.cancelled:
            colour, head = CANCELLED, f"■ Cancelled in round {r.rounds}: no equilibrium reported"
        elif r.cycling:
            colour, head = (
                NO_EQUILIBRIUM,
                (
                    f"✗ Cycling: no pure equilibrium found — best responses repeat every "
                    f"{r.cycle_rounds} round{'s' if r.cycle_rounds != 1 else ''}"
                ),
            )
        else:
            colour, head = (
                NO_EQUILIBRIUM,
                (f"✗ No pure equilibrium found: best responses had not settled after {r.rounds} rounds"),
            )
        self.verdict.setText(f"<b style='color:{colour}'>{escape(head)}</b>")
        self.verdict.setToolTip(r.message)
        truthful = r.price_truthful
        if r.converged:
            self.stats.set("price", fmt_sig(r.price), unit, f"(truthful {fmt_sig(truthful)})")
            self.stats.set("welfare_lost", fmt_number(_zero(r.welfare_lost), 2), cur)
        else:
            last = r.path[-1].price if r.path else float("nan")
            self.stats.set("price", "–", "", f"(last profile {fmt_sig(last)} {unit}; truthful {fmt_sig(truthful)})")
            self.stats.set("welfare_lost", "–")
        gain = r.max_deviation_gain
        self.stats.set(
            "deviation",
            "–" if not math.isfinite(gain) else fmt_number(_zero(gain), 2),
            "" if not math.isfinite(gain) else cur,
        )
        self.stats.set("rounds", str(r.rounds))
        self._draw_path(r, unit)
        self._fill_players(r, cur)
        self._fill_existence(outcome)
        seconds = f" in {outcome.seconds:.2f} s" if outcome.seconds is not None else ""
        self._state(f"Done{seconds}." if not r.cancelled else f"Stopped{seconds}.")

    def _draw_path(self, r, unit: str) -> None:
        path = r.path_frame()
        n = len(path)
        x = np.arange(n, dtype=float)
        names = ["start"] + [f"{int(row['round'])}:{row['mover']}" for _i, row in path.iloc[1:].iterrows()]
        price = path.price.to_numpy(float)
        self.price_line.setData(x, price)
        t = r.price_truthful
        self.truthful_line.setVisible(t is not None and math.isfinite(t))
        if t is not None and math.isfinite(t):
            self.truthful_line.setValue(t)
            set_line_label(self.truthful_line, f"truthful {fmt_sig(t)}")
        axis_label(self.price_plot, "left", unit)
        ys = np.r_[price, [t] if t is not None else []]
        ys = ys[np.isfinite(ys)]
        if ys.size:
            lo, hi = float(ys.min()), float(ys.max())
            pad = 0.15 * ((hi - lo) or abs(hi) or 1.0)
            self.price_plot.getPlotItem().getViewBox().setYRange(lo - pad, hi + pad, padding=0)
        self.price_plot.getPlotItem().getViewBox().setXRange(-0.4, max(n - 1, 1) + 0.4, padding=0)
        self.markup_names.set_names(names)
        mi = self.markup_plot.getPlotItem()
        for line in self.markup_lines:
            mi.removeItem(line)
        self.markup_lines = []
        legend = []
        withheld = bool(np.any([path[c].to_numpy(float).any() for c in path.columns if c.startswith("withheld_")]))
        top = 1.0
        for k, name in enumerate(r.game.player_names):
            colour = series_colour(k)
            m = 100.0 * path[f"markup_{name}"].to_numpy(float)
            top = max(top, float(np.nanmax(m, initial=0.0)))
            line = mi.plot(
                x,
                m,
                pen=pg.mkPen(colour, width=2.0),
                symbol="o",
                symbolSize=5,
                symbolBrush=pg.mkBrush(colour),
                symbolPen=None,
            )
            self.markup_lines.append(line)
            if withheld:
                w = 100.0 * path[f"withheld_{name}"].to_numpy(float)
                top = max(top, float(np.nanmax(w, initial=0.0)))
                self.markup_lines.append(mi.plot(x, w, pen=dashed(colour, 1.4)))
            legend.append(f"<nobr><span style='color:{colour.name()}'>━</span> {escape(str(name))}</nobr>")
        if withheld:
            legend.append("<nobr>╍ withheld (%)</nobr>")
        price = (
            f"<nobr>top: <span style='color:#1f77b4'>━●</span> price ({escape(unit)})</nobr> &nbsp; "
            f"<nobr><span style='color:{TRUTHFUL.name()}'>╍╍</span> truthful</nobr> &nbsp; · &nbsp; "
            "<nobr>below: markup (%)</nobr> "
        )
        self.path_legend.setText(price + " &nbsp; ".join(legend))
        axis_label(self.markup_plot, "left", "%")
        mi.getViewBox().setYRange(-0.05 * top, top * 1.1, padding=0)

    def _fill_players(self, r, cur: str) -> None:
        t = r.table
        frame = pd.DataFrame(
            {
                "agent": t.agent.astype(str),
                "side": t.side.astype(str),
                "markup_pct": 100.0 * t.markup.to_numpy(float),
                "withheld_pct": 100.0 * t.withheld.to_numpy(float),
                "sold_kwh": t.sold_kwh.to_numpy(float),
                "profit": t.profit.to_numpy(float),
                "truthful_profit": t.truthful_profit.to_numpy(float),
                "best_deviation_gain": [_zero(v) for v in t.best_deviation_gain.to_numpy(float)],
                "best_deviation_markup_pct": 100.0 * t.best_deviation_markup.to_numpy(float),
            }
        )
        headers = {
            "agent": "Player",
            "side": "Side",
            "markup_pct": "Markup\n(%)",
            "withheld_pct": "Withheld\n(%)",
            "sold_kwh": "Sold\n(kWh)",
            "profit": f"Profit\n({cur})",
            "truthful_profit": f"Truthful\nprofit ({cur})",
            "best_deviation_gain": f"Best deviation\ngain ({cur})",
            "best_deviation_markup_pct": "Best deviation\nmarkup (%)",
        }
        tips = {k: v.format(cur=cur) for k, v in PLAYER_TIPS.items()}
        self.player_model.set_frame(
            frame,
            headers,
            tips,
            decimals={
                "markup_pct": 1,
                "withheld_pct": 1,
                "sold_kwh": 2,
                "profit": 2,
                "truthful_profit": 2,
                "best_deviation_gain": 2,
                "best_deviation_markup_pct": 1,
            },
        )
        self.player_view.resizeColumnsToContents()

    def _fill_existence(self, outcome: NashOutcome) -> None:
        ex = outcome.existence
        if ex is None:
            self.existence_verdict.setText(f"<b>Debreu–Glicksberg–Fan</b>: {escape(outcome.existence_note)}")
            self.existence_model.set_frame(pd.DataFrame())
            self.existence_notes.setText("")
            self._frame = pd.DataFrame()
            return
        colour = CONVERGED if ex.holds else NO_EQUILIBRIUM
        self.existence_verdict.setText(
            f"<b>Debreu–Glicksberg–Fan</b>: <b style='color:{colour}'>{escape(ex.verdict)}</b>"
        )
        self.existence_verdict.setToolTip(
            "A pure equilibrium exists when every strategy set is non-empty, compact and convex and every payoff "
            "is continuous in the profile and quasi-concave in the player's own strategy. Checked numerically "
            "along each player's own strategy: a failure disproves a condition, a pass is evidence."
        )
        p = ex.players.copy()
        self._frame = p
        headers = {
            "player": "Player",
            "nonempty": "Non-empty",
            "compact": "Compact",
            "convex": "Convex",
            "continuous": "Continuous",
            "max_step_rel": "Step (rel.)",
            "jump_rel": "Jump (rel.)",
            "jump_at": "Jump at",
            "quasi_concave": "Quasi-concave",
            "qc_violation_rel": "Dip (rel.)",
            "qc_at": "Dip at",
        }
        p = p.assign(jump_at=p.jump_at.fillna("–"), qc_at=p.qc_at.fillna("–"))
        self.existence_model.set_frame(
            p, headers, EXISTENCE_TIPS, decimals={"max_step_rel": 3, "jump_rel": 3, "qc_violation_rel": 3}
        )
        self.existence_view.resizeColumnsToContents()
        self.existence_notes.setText("Sampled evidence: a failure disproves a condition, a pass supports it (hover).")
        self.existence_notes.setToolTip("\n".join(f"• {n}" for n in ex.notes))

    def _existence_brush(self, r: int, key: str):
        if key in ("nonempty", "compact", "convex", "continuous", "quasi_concave") and len(self._frame):
            return GOOD if bool(self._frame[key].iat[r]) else BAD
        return None


def _zero(x) -> float:
    """The search's tolerance-sized numbers (|x| < 1e-9) as an exact 0."""
    x = float(x) if x is not None else float("nan")
    return 0.0 if math.isfinite(x) and abs(x) < 1e-9 else x


__all__ = ["NashPanel", "game_mechanism"]
