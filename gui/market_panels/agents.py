"""Agent results: each prosumer's day (energy, money, gain over the outside option, state of charge)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QStyledItemDelegate,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.market import MarketResult
from core.units import column_label, fmt_sig
from gui.frame_model import DataFrameModel, FrameSortProxy, fit_columns
from gui.market_panels.style import BAD, MONEY_COLUMNS, axis_label, hline, make_plot, set_line_label

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
        headers = {c: column_label(c, cur, MONEY_COLUMNS) for c in frame.columns}
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
        if first:  # widths from the widest texts: measuring every row of 3,000 agents froze the window 2 s
            fit_columns(self.view, self.model)
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
