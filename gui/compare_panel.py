"""Compare mechanisms: the five mechanisms' days side by side, on one scale.

It shows ``result.mechanisms`` (:func:`core.market.compare_days`) as it is: one
row per mechanism, the day's welfare valued with the prosumers' true curves
(value − cost − net grid cost), the share of the welfare clearing's gain over
the grid alone it reaches (efficiency), the platform's money, the energy traded
between prosumers, the grid's, the worst-off prosumer's gain, how many lose
against the tariffs (IR) and the best gain from a misreport in the chosen
period (IC, measured). A switch shows the chosen period's columns instead.
Mechanisms are columns (side by side); clicking one shows that mechanism in the
dashboard (``mechanism_chosen``).
"""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QRadioButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.market import COMPARE_COLUMNS, MECHANISM_LABELS, Diagnostic, MarketResult
from core.units import fmt_number, fmt_sig
from gui.figures.comparison import MechanismBars
from gui.figures.fairness import plot_widget
from gui.frame_model import DataFrameModel
from gui.market_panels import BAD, SELECTED, SHORT_MECHANISM, period_label
from gui.presenting import muted

CHART_FROM_PX = 880  # the efficiency bars beside the table from this panel width
NOTE_FROM_PX = 300  # the one-line note under the table from this panel height

# metric → (label with its unit, decimals, tooltip); {cur}: the currency, {when}: the period's clock time
METRICS: dict[str, tuple[str, int, str]] = {
    "welfare": (
        "Welfare ({cur})",
        2,
        "Σ true value − Σ true cost − net grid cost over the day, {cur}: the prosumers' "
        "own curves, not their bids; money between prosumers and the platform cancels. The welfare "
        "clearing's is the most any mechanism reaches.",
    ),
    "efficiency": (
        "Efficiency (%)",
        1,
        "(W − W⁰)/(W* − W⁰): the share of what the welfare clearing adds to "
        "everyone trading with the grid alone (W⁰) that this mechanism adds",
    ),
    "gain_over_outside": (
        "Gain over grid alone ({cur})",
        1,
        "W − W⁰, {cur}: what the market adds to everyone trading with the grid alone",
    ),
    "platform_surplus": (
        "Platform surplus ({cur})",
        2,
        "What the platform keeps over the day, {cur}: Σ payments "
        "in − out (the welfare clearing: minus its grid bill); negative: a deficit someone must "
        "fund",
    ),
    "traded_kwh": ("Traded P2P (kWh)", 0, "Energy traded between prosumers (peer to peer) over the day, kWh"),
    "grid_import_kwh": ("Grid import (kWh)", 0, "Energy from the grid over the day, kWh"),
    "grid_export_kwh": ("Grid export (kWh)", 0, "Energy to the grid over the day, kWh"),
    "worst_off_gain": (
        "Worst-off gain ({cur})",
        2,
        "The smallest gain of a prosumer over trading with the grid alone over the day, {cur}",
    ),
    "ir_violations": (
        "Worse off than grid (IR)",
        0,
        "How many prosumers end the day worse off than trading "
        "with the grid alone at the tariffs: individual rationality judged against the outside option",
    ),
    "max_ic_gain": (
        "Gain from lying at {when} (IC, {cur})",
        2,
        "The best gain a prosumer finds by shading its "
        "bid or ask at {when} (measured), {cur}; 0: nobody gains by lying. The welfare clearing has no "
        "bids to misreport.",
    ),
    "period_welfare": ("Welfare at {when} ({cur})", 1, "Welfare in {when} alone, {cur}"),
    "period_traded_kwh": ("Traded P2P at {when} (kWh)", 1, "Energy traded between prosumers at {when}, kWh"),
    "period_price_per_kwh": (
        "Price at {when} ({cur}/kWh)",
        4,
        "The clearing price at {when} (–: no single price, or nothing traded)",
    ),
    "period_platform_surplus": ("Platform surplus at {when} ({cur})", 2, "What the platform keeps at {when}, {cur}"),
}
# the comparison's columns (core's table), shown in two views: the day, and the chosen period with the audit's gain
DAY_ROWS = tuple(c for c in COMPARE_COLUMNS if not c.startswith("period_") and c != "max_ic_gain")
PERIOD_ROWS = (*(c for c in COMPARE_COLUMNS if c.startswith("period_")), "max_ic_gain")


class ComparePanel(QWidget):
    """Every mechanism's day on the common metrics (module text)."""

    NEEDS = (Diagnostic.MECHANISM_COMPARISON,)  # the diagnostics its numbers come from

    mechanism_chosen = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result: MarketResult | None = None
        self._table = pd.DataFrame()
        self._rows: tuple[str, ...] = DAY_ROWS
        self._tips: list[str] = []
        self.title = QLabel("No market cleared yet", self)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        self.show_day = QRadioButton("Day", self)
        self.show_period = QRadioButton("Period", self)
        self.show_day.setChecked(True)
        self.show_day.setToolTip("The whole day's numbers")
        self.show_period.setToolTip("The chosen period's numbers")
        group = QButtonGroup(self)
        group.addButton(self.show_day)
        group.addButton(self.show_period)
        self.show_day.toggled.connect(lambda _on: self._fill())
        self.model = DataFrameModel(self)
        self.model.cell_text = self._text
        self.model.cell_brush = self._brush
        self.model.cell_tooltip = self._tooltip
        self.view = QTableView(self)
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.view.horizontalHeader().setStretchLastSection(False)
        self.view.horizontalHeader().setSectionsClickable(True)
        self.view.horizontalHeader().sectionClicked.connect(self._clicked)
        self.view.clicked.connect(lambda index: self._clicked(index.column()))
        self.chart = MechanismBars("Efficiency (%)")  # the report's comparison draws the same bars
        self.plot = plot_widget(self.chart.plot, self)
        self.plot.setMinimumWidth(180)
        self.bars = self.chart.bars
        self.plot.setToolTip("Efficiency: the share of the welfare clearing's gain over the grid alone, %")
        self.note = QLabel(
            "Welfare: value − cost − net grid cost at the true curves. Click a column to show that mechanism.", self
        )
        self.note.setWordWrap(True)
        self.note.setToolTip(
            "One scale for every mechanism: welfare is value − cost − net grid cost with the "
            "prosumers' true curves (not their bids); the auctions clear the day period by period "
            "from the state the earlier periods left; the welfare clearing's welfare is the most "
            "any of them reaches."
        )
        muted(self.note, "#555")
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.show_day)
        top.addWidget(self.show_period)
        body = QHBoxLayout()
        body.addWidget(self.view, 3)
        body.addWidget(self.plot, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addLayout(body, 1)
        lay.addWidget(self.note)

    def resizeEvent(self, e) -> None:
        super().resizeEvent(e)
        self.plot.setVisible(self.width() >= CHART_FROM_PX)  # narrow: the table needs the room
        self.note.setVisible(self.height() >= NOTE_FROM_PX)  # short: the rows need it

    # --- data ----------------------------------------------------------------------------
    def set_result(self, result: MarketResult) -> None:
        self.result = result
        table = result.mechanisms
        self._table = pd.DataFrame() if table is None else table.reset_index(drop=True)
        self._fill()

    def _fill(self) -> None:
        r = self.result
        if r is None:
            return
        when = period_label(r)
        self._rows = DAY_ROWS if self.show_day.isChecked() else PERIOD_ROWS
        if self._table.empty:
            self.model.set_frame(pd.DataFrame())
            self.chart.clear()
            why = (
                "not compared: tick <i>Compare</i> in the Market dock"
                if not r.settings.compare
                else "comparing the mechanisms…"
            )
            self.title.setText(f"<b>Compare mechanisms</b> · {why}")
            return
        t = self._table
        cur = r.currency
        fill = {"cur": cur, "when": when}
        frame = pd.DataFrame({"metric": [METRICS[k][0].format(**fill) for k in self._rows]})
        for m in t.mechanism:
            row = t[t.mechanism == m].iloc[0]
            frame[m] = [float(row[k]) * (100.0 if k == "efficiency" else 1.0) for k in self._rows]
        headers = {"metric": "", **{m: SHORT_MECHANISM.get(m, m) for m in t.mechanism}}
        chosen = r.settings.mechanism
        if chosen in headers:
            headers[chosen] = "▸ " + headers[chosen]
        tips = {
            "metric": "Click a mechanism's column header to show it in the dashboard",
            **{m: f"{MECHANISM_LABELS.get(m, m)} — click the header to show it in the dashboard" for m in t.mechanism},
        }
        self._tips = [METRICS[k][2].format(**fill) for k in self._rows]
        self.model.bold_row = None
        self.model.set_frame(frame, headers, tips)
        self.view.resizeColumnsToContents()
        scope = "the day" if self.show_day.isChecked() else escape(when)
        extra = ""
        if r.settings.network != "none" or r.settings.grid_prices != "tariffs":
            extra = " — the dashboard's welfare clearing has its network; here all five run on the copper plate"
        self.title.setText(f"<b>Compare mechanisms</b> · {scope} · copper plate at the tariffs{escape(extra)}")
        self.chart.show(t, "efficiency", chosen, scale=100.0, right=105.0)

    # --- cells ---------------------------------------------------------------------------
    def _mechanism(self, key: str) -> str | None:
        return key if key in set(self._table.mechanism) else None

    def _text(self, r: int, key: str) -> str | None:
        m = self._mechanism(key)
        if m is None:
            return None
        metric = self._rows[r]
        v = float(self.model.frame[key].iat[r])
        if metric == "ir_violations":
            n = round(v)
            return "none" if n == 0 else f"⚠ {n}"
        if metric == "max_ic_gain" and m == "welfare":
            return "no bids"
        if not np.isfinite(v):
            return "–"
        if metric in ("platform_surplus", "period_platform_surplus"):
            scale = 1.0 + float(np.nanmax(np.abs(self._table.welfare.to_numpy(float))))
            if abs(v) < 1e-6 * scale:
                return "0 (balanced)"
            return fmt_number(v, METRICS[metric][1]) + (" deficit" if v < 0 else "")
        if metric == "period_price_per_kwh":
            return fmt_sig(v)
        return fmt_number(v, METRICS[metric][1])

    def _brush(self, r: int, key: str):
        m = self._mechanism(key)
        if m is None:
            return None
        if self._rows[r] == "ir_violations" and float(self.model.frame[key].iat[r]) > 0.5:
            return BAD
        if self.result is not None and m == self.result.settings.mechanism:
            return SELECTED
        return None

    def _tooltip(self, r: int, key: str) -> str | None:
        return self._tips[r] if 0 <= r < len(self._tips) else None

    def _clicked(self, section: int) -> None:
        key = self.model.column_key(section) if 0 <= section < self.model.columnCount() else ""
        m = self._mechanism(key)
        if m is not None:
            self.mechanism_chosen.emit(m)

    def value(self, mechanism: str, metric: str) -> str:
        """The text shown for ``mechanism``'s ``metric`` (tests, reports)."""
        return self.model.index(list(self._rows).index(metric), self.model.column_of(mechanism)).data()
