"""The Fairness panel: who gains what under the chosen fairness rule, what it costs, and who envies whom.

It shows a :class:`core.market.MarketResult`'s ``fairness`` (per participant:
the gain over the outside option, efficient and under the rule),
``fairness_summary`` (the headline numbers, the supporting prices, budget
balance), ``fairness_comparison`` (one row per rule) and ``envy`` (agents ×
agents). Nothing is computed here that core returns (``../shared/DESIGN.md``);
the envy matrix of a large feeder is only thinned for the screen
(:func:`envy_view`: the envious rows and columns, or block maxima).

* :class:`EnvyHeatMap` — the envy matrix as a heat map with a colour bar;
* :class:`FairnessPanel` — utilities, headline numbers, the rules compared, the heat map.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.market import NETWORK_LABELS, Diagnostic, MarketResult
from core.market.settings import FAIRNESS_AUDIT_MAX_AGENTS
from core.units import fmt_number, fmt_sig
from gui.charts import CategoryTicks, StatGrid, index_at, side_column
from gui.figures.fairness import SHORT_RULE, FairnessChart, clean, plot_widget, rule_label
from gui.frame_model import DataFrameModel
from gui.market_panels import SELECTED, _note, axis_label, make_plot
from gui.presenting import muted

ENVY_LIMIT = 200  # above this many agents the heat map shows the envious agents only, or block maxima

ENVY_CMAP = pg.ColorMap(
    [0.0, 0.004, 0.35, 0.7, 1.0],
    [QColor(255, 255, 255), QColor(255, 236, 150), QColor(250, 170, 60), QColor(220, 70, 30), QColor(120, 0, 30)],
)

# ---------------------------------------------------------------------------
# the envy heat map
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EnvyView:
    """What the heat map draws: a matrix (rows envy columns), its row and column names, how it was thinned.

    ``mode``: ``"full"`` (every agent), ``"envious"`` (only agents in an envious
    pair) or ``"blocks"`` (each cell is the largest envy in a block of agents);
    ``row_groups``/``col_groups`` list the agents behind each row/column.
    """

    matrix: np.ndarray
    rows: list[str]
    cols: list[str]
    row_groups: list[list[str]]
    col_groups: list[list[str]]
    mode: str
    n_agents: int


def envy_view(envy: pd.DataFrame, limit: int = ENVY_LIMIT) -> EnvyView:
    """The envy matrix made small enough to draw: whole up to ``limit`` agents, else thinned.

    Above ``limit`` agents: the rows and columns of the agents in an envious
    pair, when there are at most ``limit`` of each; otherwise blocks of
    consecutive agents, each cell the largest envy of its block (max-pooling:
    no envy is lost from sight).
    """
    ids = [str(a) for a in envy.index]
    cols = [str(a) for a in envy.columns]
    E = envy.to_numpy(dtype=float, copy=False)
    n = len(ids)
    if n <= limit and len(cols) <= limit:
        return EnvyView(E, ids, cols, [[a] for a in ids], [[a] for a in cols], "full", n)
    r = np.flatnonzero((E > 0).any(axis=1))
    c = np.flatnonzero((E > 0).any(axis=0))
    if 0 < r.size <= limit and 0 < c.size <= limit:
        rows, cs = [ids[i] for i in r], [cols[j] for j in c]
        return EnvyView(E[np.ix_(r, c)], rows, cs, [[a] for a in rows], [[a] for a in cs], "envious", n)
    b = int(np.ceil(max(E.shape) / limit))
    nr, nc = -(-E.shape[0] // b), -(-E.shape[1] // b)
    padded = np.zeros((nr * b, nc * b))
    padded[: E.shape[0], : E.shape[1]] = E
    M = padded.reshape(nr, b, nc, b).max(axis=(1, 3))
    rg = [ids[k * b : (k + 1) * b] for k in range(nr)]
    cg = [cols[k * b : (k + 1) * b] for k in range(nc)]
    name = lambda g: g[0] if len(g) == 1 else f"{g[0]}…{g[-1]}"  # noqa: E731
    return EnvyView(M, [name(g) for g in rg], [name(g) for g in cg], rg, cg, "blocks", n)


class EnvyHeatMap(QWidget):
    """The envy matrix: row i envies column j by the colour's amount; white is no envy.

    Rows (who envies) run down the left axis, columns (whose bundle is envied)
    along the bottom; names are thinned to fit. Hovering a cell says who envies
    whom by how much.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.view: EnvyView | None = None
        self.currency = ""
        self.envy: pd.DataFrame | None = None
        self.plot = make_plot(self)
        self.plot.setMinimumSize(120, 60)
        item = self.plot.getPlotItem()
        item.showGrid(x=False, y=False)
        vb = item.getViewBox()
        vb.invertY(True)
        vb.setMouseEnabled(x=True, y=True)
        self.image = pg.ImageItem()
        item.addItem(self.image)
        self.bar = pg.ColorBarItem(
            values=(0.0, 1.0), colorMap=ENVY_CMAP, interactive=False, width=12, colorMapMenu=False
        )
        self.bar.setImageItem(self.image, insert_in=item)
        self.bar.axis.setTextPen(pg.mkPen("#222"))
        self.border = pg.QtWidgets.QGraphicsRectItem()
        self.border.setPen(pg.mkPen("#888", width=0))
        self.border.setBrush(pg.mkBrush(None))
        item.addItem(self.border)
        self.x_names = CategoryTicks(self.plot, "bottom")
        self.y_names = CategoryTicks(self.plot, "left")
        axis_label(self.plot, "left", "envier i")
        axis_label(self.plot, "bottom", "envied j (whose bundle)")
        self.caption = QLabel("", self)
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(Qt.TextFormat.RichText)
        self.hover = QLabel(" ", self)
        muted(self.hover, "#333")
        self.hover.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.hover.setFixedHeight(self.hover.fontMetrics().lineSpacing() + 4)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.caption)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.hover)
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)

    def set_envy(self, envy: pd.DataFrame | None, currency: str, note: str = "") -> None:
        self.envy = envy
        self.currency = currency
        if envy is None or envy.shape[0] == 0:
            self.view = None
            self.image.clear()
            self.caption.setText("No envy audit in this result")
            self.x_names.set_names([])
            self.y_names.set_names([])
            return
        v = envy_view(envy)
        self.view = v
        M = v.matrix
        top = float(M.max(initial=0.0))
        levels = (0.0, top if top > 0 else 1.0)
        # any envy at all gets at least the palest non-white colour (the LUT's resolution is 1/255 of the top)
        shown = np.where(M > 0, np.maximum(M, levels[1] / 250.0), 0.0)
        self.image.setImage(shown.T, autoLevels=False, levels=levels)  # ImageItem: first axis is x (columns)
        self.image.setRect(QRectF(-0.5, -0.5, M.shape[1], M.shape[0]))
        self.border.setRect(QRectF(-0.5, -0.5, M.shape[1], M.shape[0]))
        self.bar.setLevels(levels)
        self.bar.axis.setLabel(f"envy ({currency})", **{"color": "#222", "font-size": "9pt"})
        vb = self.plot.getPlotItem().getViewBox()
        vb.setRange(xRange=(-0.5, M.shape[1] - 0.5), yRange=(-0.5, M.shape[0] - 0.5), padding=0)
        self.x_names.set_names(v.cols)
        self.y_names.set_names(v.rows)
        n = v.n_agents
        envious = int((envy.to_numpy(dtype=float, copy=False) > 0).sum()) if v.mode != "full" else int((M > 0).sum())
        if v.mode == "full":
            what = f"{n} × {n} participants"
        elif v.mode == "envious":
            what = (
                f"only the {M.shape[0]} participants who envy and the {M.shape[1]} envied "
                f"(of {n:,}; the others are envy-free)"
            )
        else:
            b = len(v.row_groups[0])
            what = f"{n:,} participants in blocks of {b}: each cell the largest envy in its block"
        state = (
            "no envy — every participant prefers its own bundle"
            if envious == 0
            else (
                f"{envious:,} envious pair{'s' if envious != 1 else ''}, the largest {fmt_sig(top)} {escape(currency)}"
            )
        )
        self.caption.setText(f"<b>Envy</b> · {what} · {state}" + (f" · {escape(note)}" if note else ""))
        self.hover.setText("Hover a cell: who envies whom, by how much")

    def shape(self) -> tuple[int, int]:
        """The drawn matrix's (rows, columns)."""
        return (0, 0) if self.view is None else self.view.matrix.shape

    def describe(self, i: int, j: int) -> str:
        """The cell (row ``i``, column ``j``) as drawn, in words."""
        v = self.view
        cur = self.currency
        x = float(v.matrix[i, j])
        if v.mode == "blocks":
            rg, cg = v.row_groups[i], v.col_groups[j]
            if x <= 0:
                return f"no one in {v.rows[i]} envies anyone in {v.cols[j]}"
            return (
                f"participants {v.rows[i]} envy participants {v.cols[j]} by up to {fmt_sig(x)} {cur} "
                f"({len(rg)} × {len(cg)} block)"
            )
        a, b = v.rows[i], v.cols[j]
        if a == b:
            return f"{a}: its own bundle (no envy by definition)"
        if x <= 0:
            return f"{a} does not envy {b}"
        return f"{a} envies {b} by {fmt_sig(x)} {cur}"

    def _mouse_moved(self, scene_pos) -> None:
        if self.view is None:
            return
        vb = self.plot.getPlotItem().getViewBox()
        if not vb.sceneBoundingRect().contains(scene_pos):
            return
        p = vb.mapSceneToView(scene_pos)
        i, j = round(p.y()), round(p.x())
        rows, cols = self.view.matrix.shape
        if 0 <= i < rows and 0 <= j < cols:
            text = self.describe(i, j)
            self.hover.setText(text)
            self.plot.setToolTip(text)


# ---------------------------------------------------------------------------
# the panel
# ---------------------------------------------------------------------------

STAT_KEYS = [
    ("welfare_gain", "Total welfare gain", "W = Σ_i U_i: the participants' gains over their outside options added up"),
    (
        "price_of_fairness",
        "Price of fairness",
        "PoF = (W_efficient − W_rule)/W_efficient: the share of the efficient gain the rule gives up",
    ),
    ("jain", "Jain's index", "(Σ U)²/(n·Σ U²): 1 when every gain is equal, 1/n when one participant gets it all"),
    ("gini", "Gini", "The Gini coefficient of the gains: 0 when every gain is equal, towards 1 as one takes all"),
    ("worst_off", "Worst-off", "min_i U_i: the smallest gain over the outside option"),
    ("envy", "Envious pairs", "Ordered pairs (i, j) where i would rather have j's bundle and payment than its own"),
    (
        "location",
        "Location-only pairs",
        "Envious pairs whose envy disappears once j's bundle is priced at i's own bus's DLMPs: envy of a better "
        "location, not of a better deal",
    ),
]

COMPARISON_TIPS = {
    "rule": "The fairness rule; the chosen one is in bold",
    "welfare_gain": "W = Σ_i U_i, the total gain over the outside options, {cur}",
    "price_of_fairness": "(W_efficient − W_rule)/W_efficient, %: what the rule costs in total gain",
    "jain": "Jain's fairness index of the gains: 1 = all equal, 1/n = one takes all",
    "gini": "Gini coefficient of the gains: 0 = all equal",
    "worst_off": "The smallest gain over the outside option, {cur}",
    "envious_pairs": "Ordered pairs (i, j) where i prefers j's bundle and payment to its own",
    "max_envy": "The largest envy: how much the most envious participant prefers another's bundle, {cur}",
    "platform_surplus": "Σ payments − the grid bill, {cur}: what the platform keeps (negative: a deficit)",
    "budget_balanced": "The platform neither keeps nor adds money (within the solver's tolerance)",
    "solve_time_s": "Time to allocate under the rule and audit its envy, s",
}


class FairnessPanel(QWidget):
    """The chosen fairness rule against the efficient allocation, the rules compared, and the envy matrix.

    Gains are over the outside option (trading with the grid alone at the
    tariffs), in the scenario's currency over the whole horizon, so the panel
    does not change with the period slider.
    """

    NEEDS = (Diagnostic.FAIRNESS_COMPARISON, Diagnostic.ENVY_AUDIT)  # the diagnostics its numbers come from

    NO_FAIRNESS = (
        "Fairness rules share the welfare clearing's gain: choose the welfare-maximising mechanism "
        "(Market dock), on the copper plate with the tariffs as the outside option, to compare "
        "efficiency, proportional fairness and max-min, and to audit envy.\n\n"
        "An auction has its own allocation, so there is no fairness rule to apply."
    )

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result: MarketResult | None = None
        self.order: list[str] = []
        self._eff = np.zeros(0)
        self._rule = np.zeros(0)
        self._frame = pd.DataFrame()
        self.title = QLabel("No market cleared yet", self)
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.stats = StatGrid(STAT_KEYS, self)
        self.support = QLabel("", self)
        self.support.setWordWrap(True)
        self.support.setTextFormat(Qt.TextFormat.RichText)
        muted(self.support, "#333")
        summary = QWidget(self)
        sl = QVBoxLayout(summary)
        sl.setContentsMargins(0, 0, 6, 0)
        sl.setSpacing(6)
        sl.addWidget(self.stats)
        sl.addWidget(self.support)
        sl.addStretch(1)
        self.summary = side_column(summary)

        # utilities: two series per participant, sorted by the efficient gain (drawn by the report's chart)
        self.chart = FairnessChart()
        self.plot = plot_widget(self.chart.plot, self, (140, 60))
        self.eff_bars = self.chart.eff_bars
        self.rule_bars = self.chart.rule_bars
        self.rule_line = self.chart.rule_line
        self.zero = self.chart.zero
        self.hover_band = self.chart.hover_band
        self.names = self.chart.names
        self.legend = QLabel("", self)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        self.hover = QLabel(" ", self)
        muted(self.hover, "#333")
        self.hover.setTextFormat(Qt.TextFormat.RichText)
        self.hover.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.hover.setFixedHeight(self.hover.fontMetrics().lineSpacing() + 4)
        bars = QWidget(self)
        bl = QVBoxLayout(bars)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.setSpacing(2)
        bl.addWidget(self.legend)
        bl.addWidget(self.plot, 1)
        bl.addWidget(self.hover)
        self.bars_note = _note("", self)
        self.bars_stack = QStackedWidget(self)
        self.bars_stack.addWidget(bars)
        self.bars_stack.addWidget(self.bars_note)

        self.heatmap = EnvyHeatMap(self)

        # the rules compared
        self.model = DataFrameModel(self)
        self.model.cell_brush = lambda r, _k: SELECTED if r == self.model.bold_row else None
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table_note = QLabel("", self)
        self.table_note.setWordWrap(True)
        muted(self.table_note, "#555")
        rules = QWidget(self)
        rl = QVBoxLayout(rules)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.table, 1)
        rl.addWidget(self.table_note)

        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.bars_stack, "Gains")
        self.tabs.addTab(self.heatmap, "Envy")
        self.tabs.addTab(rules, "Rules compared")
        self.tabs.setTabToolTip(0, "Each participant's gain over its outside option: efficient, and under the rule")
        self.tabs.setTabToolTip(1, "Who would rather have whose bundle and payment, and by how much")
        self.tabs.setTabToolTip(2, "Efficiency, proportional fairness and max-min on the same scenario")

        page = QSplitter(Qt.Orientation.Horizontal, self)
        page.addWidget(self.summary)
        page.addWidget(self.tabs)
        page.setStretchFactor(0, 0)
        page.setStretchFactor(1, 1)
        page.setSizes([270, 600])
        page.setChildrenCollapsible(False)
        self.page = page
        self.note = _note(self.NO_FAIRNESS, self)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(page)
        self.stack.addWidget(self.note)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(3)
        lay.addWidget(self.title)
        lay.addWidget(self.stack, 1)
        self.stack.setCurrentWidget(self.note)
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)

    # --- data ---------------------------------------------------------------------------
    def set_result(self, result: MarketResult) -> None:
        self.result = result
        cur = result.currency
        fs = result.fairness_summary or {}
        if result.fairness is None and result.envy is None:
            self.title.setText("<b>Fairness</b> · not computed for this result")
            self.note.setText(self._why_not(result))
            self.stack.setCurrentWidget(self.note)
            return
        self.stack.setCurrentIndex(0)
        n = len(result.envy) if result.envy is not None else len(result.fairness)
        pairs = n * (n - 1)
        if result.envy is not None:
            self.stats.set(
                "envy",
                f"{int(fs.get('envious_pairs', 0)):,}",
                "",
                f"of {pairs:,} · max {fmt_sig(clean(fs.get('max_envy', 0.0)), 4)} {cur}",
            )
        if result.fairness is None:  # the network clearing: the envy audit under DLMPs only
            self._network(result, fs)
            return
        self.tabs.setTabEnabled(0, True)
        self.tabs.setTabEnabled(2, True)
        self.bars_stack.setCurrentIndex(0)
        rule = fs.get("rule", result.settings.fairness)
        transfers = bool(fs.get("transfers", result.settings.fairness_transfers))
        lex = result.settings.lexicographic and rule == "maxmin"
        regime = "with lump-sum transfers" if transfers else "every kWh at the market price, no side payments"
        periods = len(result.periods)
        self.title.setText(
            f"<b>Fairness</b> · {escape(rule_label(rule))}{' · lexicographic' if lex else ''} · {regime} · "
            f"{n} participants · gains over the outside option, {escape(cur)} over {periods} "
            f"period{'s' if periods != 1 else ''}"
        )
        self.title.setToolTip(
            "A participant's gain U_i is its surplus minus its outside option — what it would "
            "earn trading with the grid alone at the tariffs — over the whole horizon."
        )
        G = float(fs.get("welfare_gain", np.nan))
        self.stats.show_only(["welfare_gain", "price_of_fairness", "jain", "gini", "worst_off", "envy"])
        self.stats.set("welfare_gain", fmt_number(G, 2), cur)
        pof = clean(fs.get("price_of_fairness", np.nan)) if np.isfinite(fs.get("price_of_fairness", np.nan)) else np.nan
        self.stats.set("price_of_fairness", fmt_sig(100.0 * pof, 3), "%")
        self.stats.set("jain", fmt_number(clean(fs.get("jain", np.nan)), 3), "", "(1 = equal)")
        self.stats.set("gini", fmt_number(clean(fs.get("gini", np.nan)), 3), "", "(0 = equal)")
        self.stats.set("worst_off", fmt_number(clean(fs.get("worst_off", np.nan), G / max(n, 1)), 2), cur)
        surplus = clean(fs.get("platform_surplus", 0.0), G)
        if fs.get("budget_balanced", False):
            budget = f"<b>Budget</b>: balanced ✓ (platform surplus {fmt_number(surplus, 2)} {escape(cur)})"
        else:
            word = "deficit" if surplus < 0 else "surplus"
            budget = (
                f"<b>Budget</b>: <span style='color:#b00020'>not balanced ✗</span> (platform {word} "
                f"{fmt_number(abs(surplus), 2)} {escape(cur)})"
            )
        self.support.setText(f"<b>Supported by</b>: {escape(str(fs.get('supported_by', '–')))}<br><br>{budget}")
        self._draw_bars(result, rule)
        self._fill_table(result, rule)
        self.heatmap.set_envy(result.envy, cur)

    def _why_not(self, result: MarketResult) -> str:
        s = result.settings
        if s.mechanism != "welfare":
            return self.NO_FAIRNESS
        if s.grid_prices != "tariffs":
            return (
                "Fairness rules measure each participant's gain over its outside option at the tariffs: "
                "with the wholesale price as the outside option they are not computed. Choose the tariffs "
                "(or “Automatic” on the copper plate) in the Market dock."
            )
        n = len(result.agents) if result.agents is not None else 0
        if s.fairness == "efficiency" and n > FAIRNESS_AUDIT_MAX_AGENTS:
            return (
                f"With {n:,} participants the fairness rules are compared only when one is chosen (each takes "
                "seconds at this size): choose Proportional or Max-min under Fairness in the Market dock to see "
                "every participant's gain, the price of fairness and the envy between them."
            )
        return "This result carries no fairness audit."

    def _network(self, result: MarketResult, fs: dict) -> None:
        cur = result.currency
        self.title.setText(
            f"<b>Fairness</b> · the efficient clearing with DLMPs "
            f"({escape(NETWORK_LABELS.get(result.settings.network, result.settings.network))}) · "
            "envy audit only (the fairness rules need the copper plate)"
        )
        self.stats.show_only(["envy", "location"])
        self.stats.set("location", f"{int(fs.get('location_pairs', 0)):,}", "", "(envy of a better bus)")
        worst = fs.get("worst_pair")
        self.support.setText(
            "Each participant pays its own bus's DLMP, so a participant may prefer a neighbour's deal only because "
            "the neighbour's bus is cheaper: those pairs are <i>location-only</i>."
            + (f" Largest envy: {escape(worst[0])} envies {escape(worst[1])}." if worst else "")
        )
        self.bars_note.setText(
            "Fairness rules (proportional, max-min) are computed on the copper plate with the "
            "tariffs as the outside option. Choose Network “None” to compare them."
        )
        self.bars_stack.setCurrentWidget(self.bars_note)
        self.model.set_frame(pd.DataFrame())
        self.tabs.setTabEnabled(2, False)
        self.tabs.setCurrentIndex(1)
        self.heatmap.set_envy(result.envy, cur, note="under the DLMPs")

    def _draw_bars(self, result: MarketResult, rule: str) -> None:
        self.chart.show(result, rule)
        self._sorted = self.chart.sorted
        self.order = list(self.chart.order)
        self._eff, self._rule = self.chart.eff, self.chart.rule
        self.legend.setText(self.chart.legend_html())
        self.hover.setText("Hover a participant for its gains, payment and transfer")

    def _fill_table(self, result: MarketResult, rule: str) -> None:
        cmp = result.fairness_comparison
        cur = result.currency
        if cmp is None or len(cmp) == 0:
            self.model.set_frame(pd.DataFrame())
            self.table_note.setText("No comparison in this result.")
            return
        cmp = cmp.reset_index(drop=True) if "rule" in cmp else cmp.reset_index()
        scale = float(np.nanmax(np.abs(cmp.welfare_gain.to_numpy(float)), initial=1.0))
        frame = pd.DataFrame(
            {
                "rule": [SHORT_RULE.get(r, r).capitalize() for r in cmp.rule],
                "welfare_gain": cmp.welfare_gain.to_numpy(float),
                "price_of_fairness": [100.0 * clean(v) for v in cmp.price_of_fairness],
                "jain": [clean(v) for v in cmp.jain],
                "gini": [clean(v) for v in cmp.gini],
                "worst_off": [clean(v, scale / max(len(result.fairness), 1)) for v in cmp.worst_off],
                "envious_pairs": cmp.envious_pairs.to_numpy(int),
                "max_envy": cmp.max_envy.to_numpy(float),
                "platform_surplus": [clean(v, scale) for v in cmp.platform_surplus],
                "budget_balanced": cmp.budget_balanced.to_numpy(bool),
                "solve_time_s": cmp.solve_time_s.to_numpy(float),
            }
        )
        self._frame = frame
        headers = {
            "rule": "Rule",
            "welfare_gain": f"Welfare\ngain ({cur})",
            "price_of_fairness": "Price of\nfairness (%)",
            "jain": "Jain's\nindex",
            "gini": "Gini",
            "worst_off": f"Worst-off\n({cur})",
            "envious_pairs": "Envious\npairs",
            "max_envy": f"Max envy\n({cur})",
            "platform_surplus": f"Platform\nsurplus ({cur})",
            "budget_balanced": "Budget\nbalanced",
            "solve_time_s": "Time\n(s)",
        }
        tips = {k: v.format(cur=cur) for k, v in COMPARISON_TIPS.items()}
        rows = [i for i, r in enumerate(cmp.rule) if r == rule]
        self.model.bold_row = rows[0] if rows else None
        self.model.set_frame(
            frame,
            headers,
            tips,
            decimals={
                "welfare_gain": 2,
                "price_of_fairness": 2,
                "jain": 3,
                "gini": 3,
                "worst_off": 2,
                "platform_surplus": 2,
                "solve_time_s": 3,
            },
        )
        self.table.resizeColumnsToContents()
        transfers = result.settings.fairness_transfers
        self.table_note.setText(
            "Every rule on the same scenario, "
            + (
                "with lump-sum transfers (within the tariff band)."
                if transfers
                else "without transfers (every kWh at the market price)."
            )
        )
        self.table_note.setToolTip(
            "Efficiency = max Σ U_i; proportional = max Σ ln U_i; max-min = max min U_i (U_i: participant i's gain "
            "over its outside option). "
            + (
                "With transfers the rules split the total gain equally as far as the tariff band allows; where "
                "equal gains do not fit, they also re-dispatch, and fairness has a price."
                if transfers
                else "Without transfers the rules can only move dispatch and, with the grid absorbing imbalances, give "
                "back the efficient gains."
            )
        )

    # --- reading back what is drawn (tests, reports) --------------------------------------------
    def drawn_gains(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(participants in drawn order, efficient gains, gains under the rule) as drawn."""
        return list(self.order), np.asarray(self._eff), np.asarray(self._rule)

    def comparison_cell(self, rule: str, column: str) -> str:
        r = next(i for i, x in enumerate(self._frame.rule) if x == SHORT_RULE.get(rule, rule).capitalize())
        return self.model.index(r, self.model.column_of(column)).data()

    # --- hover ---------------------------------------------------------------------------------
    def _mouse_moved(self, scene_pos) -> None:
        i = index_at(self.plot, scene_pos, len(self.order))
        if i is not None:
            self.hover_index(i)

    def hover_index(self, i: int) -> str:
        f = self._sorted.iloc[i]
        cur = escape(self.result.currency)
        rule = (self.result.fairness_summary or {}).get("rule", "efficiency")
        text = f"<b>{escape(str(f.agent))}</b> · efficient gain {fmt_number(f.utility_efficient, 2)} {cur}"
        if rule != "efficiency":
            text += f" · under {SHORT_RULE.get(rule, rule)} {fmt_number(f.utility, 2)} {cur}"
        tr = clean(f.transfer)
        text += f" · pays {fmt_number(clean(f.payment), 2)} {cur}"
        if tr != 0:
            text += f" · transfer {'+' if tr > 0 else ''}{fmt_number(tr, 2)} {cur}"
        self.hover_band.setRegion((i - 0.5, i + 0.5))
        self.hover_band.setVisible(True)
        self.hover.setText(text)
        return text


__all__ = ["EnvyHeatMap", "EnvyView", "FairnessPanel", "envy_view"]
