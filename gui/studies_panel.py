"""The Studies panel: sweep the current project over axes, run it in the background, plot the results.

A study (:mod:`core.study`) clears the market of one base project at many
points — mechanisms, fairness rules, network models, PV penetration, demand,
bid shading, k, the reported period — each maybe for several Monte Carlo
draws. This panel builds the study from the dashboard's current project
(:func:`core.study.spec_for_scenario`: the same TOML a user would write, so it
can be saved and re-run with ``feeder-market study``), runs
:func:`core.study.run_study` on a worker (:class:`gui.workers.studies.StudyRunner`),
and shows the rows as they come in:

* **Lines** — a metric against an axis, one line per value of another, the
  mean over draws (and over the axes left at "all") with a ±1 std band;
* **Heat map** — the mean metric over two axes, with a colour bar;
* **Histogram** — the metric over the ok points (Monte Carlo draws), per group,
  with its mean and 5 %/95 % quantiles;
* **Table** — every row, its status (ok / infeasible / error) and message.

Clicking a point of a line, a heat-map cell or double-clicking a row emits
:attr:`StudiesPanel.openPoint` with that point's scenario and settings. The
panel computes nothing: every number is a row of ``run_study``'s table,
averaged for the plot.
"""

from __future__ import annotations

import functools
import math
import os
import time
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFontMetricsF
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.market import FAIRNESS_LABELS, MECHANISM_LABELS, NETWORK_LABELS
from core.study import (
    AXES,
    METRICS,
    TEXT_AXES,
    Draws,
    SpecError,
    StudyError,
    StudySpec,
    build_variant,
    evening_peak_period,
    read_results,
    results_table,
    spec_for_scenario,
    spec_of_results,
    status_counts,
    write_results,
)
from gui.charts import CategoryTicks, series_colour, side_column
from gui.frame_model import SORT_ROLE, FrameSortProxy, column_decimals, fmt_number, fmt_sig, header_with_unit
from gui.market_panels import BAD, SHORT_MECHANISM, axis_label, dashed, make_plot, style_plot_item
from gui.workers.studies import StudyRequest, StudyRunner

REFRESH_MS = 500  # plots follow a running study this often
INFEASIBLE = QColor(255, 236, 190)
VIEWS = (("lines", "Lines"), ("heat", "Heat map"), ("histogram", "Histogram"))
ALL = "__all__"  # a filter combo's "every value (mean)"
NONE = "__none__"  # a grouping combo's "no grouping"
HEAT_TEXT_CELLS = 144  # write the value in each cell up to this many cells
MONEY = {
    "welfare",
    "declared_gains",
    "gain_over_outside",
    "worst_off_gain",
    "platform_surplus",
    "max_ic_gain",
    "fairness_welfare_gain",
}

EMPTY_TEXT = (
    "<b>Choose axes and press Run</b>: the market of the current project is cleared at every point of the study "
    "— every combination of the axes you tick, each for every Monte Carlo draw — in a worker process, and the "
    "results are plotted here as they come in.<br><br>"
    "The default asks <i>what happens as rooftop PV grows from 10 % to 80 % of the peak demand under each "
    "mechanism?</i><br><br>"
    "<b>Lines</b>: a metric against an axis, one line per mechanism · <b>Heat map</b>: a metric over two axes · "
    "<b>Histogram</b>: a metric over Monte Carlo draws · <b>Table</b>: every point and its status.<br>"
    "Click a point (or double-click a row) to open its scenario in the dashboard."
)

# axis → (label, unit for the plot's axis, tooltip)
AXIS_INFO: dict[str, tuple[str, str, str]] = {
    "mechanism": (
        "Mechanism",
        "",
        "The market mechanism: the welfare-maximising clearing (shadow price λ) or one of "
        "the double auctions. Unticked: the welfare clearing.",
    ),
    "fairness": (
        "Fairness rule",
        "",
        "How the welfare clearing shares the gains: efficiency (max Σ U), proportional "
        "(max Σ ln U), max-min. Applies to the welfare clearing on the copper plate "
        "only; other combinations are skipped. Unticked: efficiency.",
    ),
    "network": (
        "Network model",
        "",
        "The welfare clearing's network model: none (copper plate), LinDistFlow, AC, "
        "DC. Applies to the welfare clearing only. Unticked: none.",
    ),
    "pv_penetration": (
        "PV penetration",
        "PV kW / peak demand kW",
        "Total PV capacity as a fraction of the project's peak demand (0.5 = half the peak). "
        "Existing PV is scaled, then new PV prosumers are added at load buses (seeded). "
        "Unticked: the project's PV as it is.",
    ),
    "demand_scale": (
        "Demand scale",
        "× demand",
        "A factor on every demand (fixed, flexible and buy blocks). Unticked: 1.",
    ),
    "bid_shading": (
        "Bid shading",
        "s",
        "Strategic shading s: sellers ask (1+s)×, buyers bid (1−s)× their true "
        "prices (−1 < s < 1). Unticked: 0 (truthful).",
    ),
    "k": (
        "k (uniform price)",
        "k",
        "The k of the uniform auction's k-pricing, 0 (buyers' side) … 1 (sellers' "
        "side); only the uniform auction uses it. Unticked: 0.5 (midpoint).",
    ),
    "period": (
        "Reported period",
        "period",
        "The period whose price, DLMPs, market power and audit are reported "
        "(welfare and energy are over the whole horizon).",
    ),
}

# metric → (label, unit, tooltip); {cur} is the project's currency
METRIC_INFO: dict[str, tuple[str, str, str]] = {
    "welfare": (
        "Welfare",
        "{cur}",
        "Value − cost − net grid cost over the horizon, at the prosumers' true "
        "(unshaded) curves: the same scale for every mechanism, and the welfare "
        "clearing's is the most any mechanism reaches",
    ),
    "declared_gains": (
        "Declared gains",
        "{cur}",
        "What the bids declared: Σ bid × kWh bought − Σ ask × kWh sold "
        "(the welfare clearing: its objective on the declared curves)",
    ),
    "gain_over_outside": (
        "Gain over the grid alone",
        "{cur}",
        "Welfare − Σ outside options: what the market adds to everyone trading with the grid alone",
    ),
    "worst_off_gain": (
        "Worst-off gain",
        "{cur}",
        "The smallest gain of a prosumer over its outside option "
        "(negative: someone is worse off than with the grid alone)",
    ),
    "price_per_kwh": ("Price", "{cur}/kWh", "The reported period's clearing price (the energy price with a network)"),
    "mean_price_per_kwh": ("Mean price", "{cur}/kWh", "The mean clearing price over the periods that cleared"),
    "traded_kwh": ("Traded energy", "kWh", "Energy traded between prosumers (peer to peer) over the horizon"),
    "grid_import_kwh": ("Grid import", "kWh", "Energy imported from the grid over the horizon"),
    "grid_export_kwh": ("Grid export", "kWh", "Energy exported to the grid over the horizon"),
    "platform_surplus": ("Platform surplus", "{cur}", "Payments in − payments out: the budget left to the platform"),
    "ir_violations": ("IR violations", "agents", "Agents worse off than with the grid alone at the tariffs"),
    "efficiency": (
        "Efficiency (period bids)",
        "of the optimum",
        "Auctions with the audit: the reported period's gains at its bids / the most those bids allow",
    ),
    "max_ic_gain": (
        "Largest IC gain",
        "{cur}",
        "Auctions with the audit: the best gain an agent finds by misreporting",
    ),
    "hhi": ("HHI", "0–1", "Herfindahl–Hirschman index of the sellers in the reported period"),
    "max_lerner": ("Largest Lerner index", "(P − mc)/P", "The largest observed Lerner index of a seller"),
    "dlmp_min_per_kwh": ("Lowest DLMP", "{cur}/kWh", "With a network model: the reported period's lowest DLMP"),
    "dlmp_max_per_kwh": ("Highest DLMP", "{cur}/kWh", "With a network model: the reported period's highest DLMP"),
    "v_min_pu": ("Lowest voltage", "p.u.", "With a network model: the reported period's lowest voltage"),
    "loss_kwh": ("Losses", "kWh", "With a network model: line losses over the horizon"),
    "max_loading_pct": ("Largest line loading", "%", "The reported period's most loaded line"),
    "envious_pairs": (
        "Envious pairs",
        "pairs",
        "Pairs (i, j) where i prefers j's bundle (fairness rules, or the envy audit)",
    ),
    "price_of_fairness": ("Price of fairness", "fraction", "Welfare lost by the fairness rule against efficiency"),
    "fairness_welfare_gain": ("Gains over outside options", "{cur}", "Σ gains over the outside options under the rule"),
    "jain": ("Jain's index", "0–1", "Jain's fairness index of the gains (1: equal)"),
    "solve_time_s": ("Solve time", "s", "The solver's (welfare clearing) or the auction's time"),
    "wall_time_s": ("Time per point", "s", "The whole point: variant, clearing, metrics"),
}
PLOT_METRICS = tuple(m for m, dtype in METRICS.items() if dtype in ("float64", "Int64"))

TEXT_LABELS = {
    "mechanism": SHORT_MECHANISM,
    "fairness": {"efficiency": "Efficiency", "proportional": "Proportional", "maxmin": "Max-min"},
    "network": {"none": "None (copper plate)", "lindistflow": "LinDistFlow", "ac": "AC-checked", "dc": "DC"},
}
TEXT_TIPS = {"mechanism": MECHANISM_LABELS, "fairness": FAIRNESS_LABELS, "network": NETWORK_LABELS}

# numeric axis → (minimum, maximum, step, decimals, default start, stop, num)
RANGES: dict[str, tuple[float, float, float, int, float, float, int]] = {
    "pv_penetration": (0.0, 10.0, 0.05, 3, 0.1, 0.8, 8),
    "demand_scale": (0.05, 10.0, 0.05, 3, 0.8, 1.2, 3),
    "bid_shading": (-0.95, 0.95, 0.05, 3, 0.0, 0.3, 4),
    "k": (0.0, 1.0, 0.1, 3, 0.0, 1.0, 5),
}
DEFAULT_AXES = {"mechanism": ["welfare", "uniform", "vcg"], "pv_penetration": (0.1, 0.8, 8)}


def metric_label(metric: str, currency: str = "") -> str:
    """``Welfare (EUR)``, ``Price (EUR/kWh)``: the metric's name and unit."""
    name, unit, _tip = METRIC_INFO.get(metric, (metric.replace("_", " "), "", ""))
    unit = unit.format(cur=currency or "currency")
    return f"{name} ({unit})" if unit else name


def axis_title(axis: str) -> str:
    name, unit, _tip = AXIS_INFO.get(axis, (axis, "", ""))
    return f"{name} ({unit})" if unit and unit != name.lower() and unit not in ("k", "period") else name


def value_text(axis: str, v) -> str:
    """An axis value as the plots name it (``Uniform price``, ``0.45``, ``–`` for none)."""
    if axis in TEXT_LABELS:
        return TEXT_LABELS[axis].get(v, str(v))
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return fmt_sig(float(v), 4)


def _same(a, b) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return bool(np.isclose(float(a), float(b), rtol=0, atol=1e-9))


def _mask(frame: pd.DataFrame, axis: str, value) -> pd.Series:
    if axis in TEXT_AXES:
        return frame[axis] == value
    return pd.Series(np.isclose(frame[axis].to_numpy(float), float(value), rtol=0, atol=1e-9), index=frame.index)


@functools.lru_cache(maxsize=1)
def _empty_table() -> pd.DataFrame:
    """A study table without rows (made once: building one takes milliseconds; never changed in place)."""
    return results_table([])


def _padded_range(arrays, pad: float = 0.06) -> tuple[float, float] | None:
    """The range of the finite values of ``arrays`` with ``pad`` of its span on each side (None: no value)."""
    finite = [a[np.isfinite(a)] for a in arrays]
    finite = [a for a in finite if a.size]
    if not finite:
        return None
    lo = float(min(a.min() for a in finite))
    hi = float(max(a.max() for a in finite))
    span = hi - lo if hi > lo else (abs(hi) or 1.0)
    return lo - pad * span, hi + pad * span


def _light_grid(plot: pg.PlotItem) -> None:
    """Grid lines at the major and minor ticks only, not at the third level's: those are drawn at 3–5 % opacity
    (hardly visible) and, being translucent, cost Qt's raster engine ~0.1 ms each — with ~70 of them, most of
    a plot's repaint while a study runs."""
    for side in ("left", "bottom"):
        plot.getAxis(side).setStyle(maxTickLevel=1)


class _Ticks(CategoryTicks):
    """Category names on an axis when there are names; the axis' own numbers when there are none."""

    def update(self) -> None:
        if not self.names:
            self.plot.getPlotItem().getAxis(self.side).setTicks(None)
            return
        super().update()


# ---------------------------------------------------------------------------
# the axes form
# ---------------------------------------------------------------------------


class ChoiceEditor(QWidget):
    """The values of a text axis: one checkbox per choice."""

    def __init__(self, axis: str, parent=None):
        super().__init__(parent)
        self.axis = axis
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(0)
        self.checks: dict[str, QCheckBox] = {}
        for i, choice in enumerate(TEXT_AXES[axis]):
            box = QCheckBox(TEXT_LABELS[axis].get(choice, choice), self)
            box.setToolTip(TEXT_TIPS[axis].get(choice, choice))
            grid.addWidget(box, i // 2, i % 2)
            self.checks[choice] = box

    def values(self) -> list[str]:
        return [c for c, box in self.checks.items() if box.isChecked()]

    def set_values(self, values) -> None:
        wanted = set(values)
        for c, box in self.checks.items():
            box.setChecked(c in wanted)

    def connect(self, slot) -> None:
        for box in self.checks.values():
            box.toggled.connect(slot)


class RangeEditor(QWidget):
    """The values of a numeric axis: ``num`` evenly spaced values from ``start`` to ``stop`` (both included)."""

    def __init__(self, axis: str, parent=None):
        super().__init__(parent)
        self.axis = axis
        whole = axis == "period"
        if whole:
            self.start, self.stop = QSpinBox(self), QSpinBox(self)
            for s in (self.start, self.stop):
                s.setRange(0, 0)
        else:
            lo, hi, step, decimals, start, stop, _num = RANGES[axis]
            self.start, self.stop = QDoubleSpinBox(self), QDoubleSpinBox(self)
            for s, v in ((self.start, start), (self.stop, stop)):
                s.setRange(lo, hi)
                s.setSingleStep(step)
                s.setDecimals(decimals)
                s.setValue(v)
        self.num = QSpinBox(self)
        self.num.setRange(1, 1000)
        self.num.setValue(1 if whole else RANGES[axis][6])
        self.num.setToolTip(
            "How many evenly spaced values from the first to the last (both included); "
            "1: the first value only. In random mode each point draws a value between the two."
        )
        self.start.setToolTip("The first value")
        self.stop.setToolTip("The last value")
        for s in (self.start, self.stop, self.num):
            s.setKeyboardTracking(False)
            s.setMinimumWidth(52)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        lay.addWidget(self.start, 1)
        lay.addWidget(QLabel("to", self))
        lay.addWidget(self.stop, 1)
        lay.addWidget(QLabel("×", self))
        lay.addWidget(self.num)

    def range(self) -> tuple[float, float, int]:
        return self.start.value(), self.stop.value(), self.num.value()

    def set_range(self, start, stop, num: int) -> None:
        cast = int if isinstance(self.start, QSpinBox) else float
        self.start.setValue(cast(start))
        self.stop.setValue(cast(stop))
        self.num.setValue(int(num))

    def spec_value(self, mode: str):
        """What the spec's ``[axes]`` says: a list of one value, or a range."""
        start, stop, num = self.range()
        if self.axis == "period":
            start, stop = int(start), int(stop)
        if num == 1 or start == stop:
            return [start]
        if mode == "random":
            return {"start": start, "stop": stop}
        return {"start": start, "stop": stop, "num": num}

    def connect(self, slot) -> None:
        self.start.valueChanged.connect(slot)
        self.stop.valueChanged.connect(slot)
        self.num.valueChanged.connect(slot)


class AxisRow:
    """One axis of the form: a "sweep" checkbox (its name) and the editor of its values."""

    def __init__(self, axis: str, parent: QWidget):
        self.axis = axis
        name, _unit, tip = AXIS_INFO[axis]
        self.sweep = QCheckBox(name, parent)
        default = AXES[axis]
        shown = "the project's PV" if default is None else value_text(axis, default)
        self.sweep.setToolTip(f"{tip}\nTicked: the values on the right; unticked: the default ({shown}).")
        self.editor = ChoiceEditor(axis, parent) if axis in TEXT_AXES else RangeEditor(axis, parent)
        self.editor.setToolTip(tip)
        self.editor.setEnabled(False)
        self.sweep.toggled.connect(self.editor.setEnabled)

    def spec_value(self, mode: str):
        if isinstance(self.editor, ChoiceEditor):
            return self.editor.values()
        return self.editor.spec_value(mode)


# ---------------------------------------------------------------------------
# the results table
# ---------------------------------------------------------------------------

_DISPLAY = Qt.ItemDataRole.DisplayRole
_ALIGN = Qt.ItemDataRole.TextAlignmentRole
_BACKGROUND = Qt.ItemDataRole.BackgroundRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_INK = QBrush(QColor("#111111"))
_STATUS_BRUSH = {"error": BAD, "infeasible": QBrush(INFEASIBLE)}
SIZE_ROWS = 50  # the columns' widths follow the header and the first rows
MAX_COLUMN_PX = 260


class StudyTableModel(QAbstractTableModel):
    """The results table, read-only, cheap to paint and to grow while a study runs.

    A view asks ``data()`` for every role of every visible cell at every paint:
    here a cell's text is formatted once, when first shown (numbers with the
    column's decimals, :func:`gui.frame_model.fmt_number`), a row's colour is
    its status (error: red, infeasible: amber), and rows that come in are
    appended (``rowsInserted``: a sorted proxy places them, nothing is sorted
    again) instead of resetting the model. ``frame`` is the table shown, in
    the model's order.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.frame = pd.DataFrame()
        self.headers: dict[str, str] = {}
        self.tooltips: dict[str, str] = {}
        self._columns: list[str] = []
        self._numeric: list[bool] = []
        self._decimals: list[int] = []
        self._cols: list[np.ndarray] = []  # per column: its values (objects; None for a missing number)
        self._keys: list[np.ndarray | None] = []  # per numeric column: the sort keys (−inf for a missing number)
        self._texts: list[list] = []  # per column: the cells' texts, None until shown
        self._brushes: list[QBrush | None] = []  # per row
        self._rows = 0

    # --- filling ---------------------------------------------------------------------
    def set_frame(
        self, frame: pd.DataFrame, headers: dict[str, str] | None = None, tooltips: dict[str, str] | None = None
    ) -> None:
        """Show ``frame`` (a reset)."""
        self.beginResetModel()
        self.frame = frame.reset_index(drop=True)
        self.headers = dict(headers or {})
        self.tooltips = dict(tooltips or {})
        self._columns = [str(c) for c in self.frame.columns]
        self._numeric = [
            pd.api.types.is_numeric_dtype(self.frame[c]) and not pd.api.types.is_bool_dtype(self.frame[c])
            for c in self.frame.columns
        ]
        self._decimals = self._column_decimals(self.frame)
        self._cols, self._keys, self._texts, self._brushes = [], [], [], []
        self._rows = 0
        self._take(self.frame)
        self.endResetModel()

    def append(self, rows: pd.DataFrame) -> None:
        """Add ``rows`` (the same columns) at the end; a column whose decimals change is shown again."""
        if rows.empty:
            return
        n = self._rows
        rows = rows[self.frame.columns].reset_index(drop=True)
        self.beginInsertRows(QModelIndex(), n, n + len(rows) - 1)
        self.frame = pd.concat([self.frame, rows], ignore_index=True) if n else rows
        self._take(rows)
        self.endInsertRows()
        decimals = self._column_decimals(self.frame)
        changed = [c for c, (a, b) in enumerate(zip(decimals, self._decimals, strict=True)) if a != b]
        self._decimals = decimals
        for c in changed:
            self._texts[c] = [None] * self._rows
            self.dataChanged.emit(self.index(0, c), self.index(self._rows - 1, c), [_DISPLAY])

    def shows_prefix_of(self, frame: pd.DataFrame) -> bool:
        """Whether the rows shown are the first rows of ``frame`` (same columns): ``frame`` only adds rows."""
        n = self._rows
        if list(frame.columns) != list(self.frame.columns) or n > len(frame) or "point_id" not in frame:
            return False
        return n == 0 or bool(np.array_equal(self.frame.point_id.to_numpy(), frame.point_id.to_numpy()[:n]))

    def _column_decimals(self, frame: pd.DataFrame) -> list[int]:
        return [
            column_decimals(frame[c].to_numpy(dtype=float, na_value=np.nan)) if num else 0
            for c, num in zip(frame.columns, self._numeric, strict=True)
        ]

    def _take(self, rows: pd.DataFrame) -> None:
        """Keep the values of ``rows`` (appended), column by column."""
        first = not self._cols
        for c, (name, numeric) in enumerate(zip(self._columns, self._numeric, strict=True)):
            column = rows[name]
            values = column.to_numpy(dtype=object, na_value=None) if column.hasnans else column.to_numpy(dtype=object)
            keys = None
            if numeric:
                keys = column.to_numpy(dtype=float, na_value=np.nan)
                keys = np.where(np.isnan(keys), -np.inf, keys)
            if first:
                self._cols.append(values)
                self._keys.append(keys)
                self._texts.append([None] * len(rows))
            else:
                self._cols[c] = np.concatenate([self._cols[c], values])
                if keys is not None:
                    self._keys[c] = np.concatenate([self._keys[c], keys])
                self._texts[c].extend([None] * len(rows))
        if "status" in rows:
            self._brushes.extend(_STATUS_BRUSH.get(s) for s in rows["status"].tolist())
        else:
            self._brushes.extend([None] * len(rows))
        self._rows += len(rows)

    def text(self, r: int, c: int) -> str:
        """The cell's text as shown."""
        texts = self._texts[c]
        t = texts[r]
        if t is None:
            v = self._cols[c][r]
            if self._numeric[c]:
                t = fmt_number(v, self._decimals[c])
            else:
                t = "" if v is None else str(v)
            texts[r] = t
        return t

    # --- Qt model API ----------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._rows

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def headerData(self, section, orientation, role=_DISPLAY):
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self._columns):
            key = self._columns[section]
            if role == _DISPLAY:
                return self.headers.get(key, key)
            if role == _TOOLTIP:
                return self.tooltips.get(key)
            if role == _ALIGN and self._numeric[section]:
                return _RIGHT
        elif orientation == Qt.Orientation.Vertical and role == _DISPLAY:
            return str(section + 1)
        return None

    def data(self, index, role=_DISPLAY):
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        if role == _DISPLAY:
            return self.text(r, c)
        if role == _ALIGN:
            return _RIGHT if self._numeric[c] else None
        if role == _BACKGROUND:
            return self._brushes[r]
        if role == _FOREGROUND:
            return _INK if self._brushes[r] is not None else None
        if role == SORT_ROLE:
            if self._numeric[c]:
                return float(self._keys[c][r])
            v = self._cols[c][r]
            return "" if v is None else str(v)
        if role == _TOOLTIP:
            return self.tooltips.get(self._columns[c])
        return None

    def flags(self, index):
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def column_widths(self, header_metrics, cell_metrics, rows: int = SIZE_ROWS) -> list[int]:
        """Widths that fit each column's header and the texts of its first ``rows`` rows (at most
        :data:`MAX_COLUMN_PX`): one text per cell, no view involved."""
        widths = []
        n = min(rows, self._rows)
        for c, key in enumerate(self._columns):
            width = header_metrics.horizontalAdvance(str(self.headers.get(key, key))) + 24  # + the sort arrow
            for r in range(n):
                width = max(width, cell_metrics.horizontalAdvance(self.text(r, c)) + 12)
            widths.append(min(int(width), MAX_COLUMN_PX))
        return widths


# ---------------------------------------------------------------------------
# the panel
# ---------------------------------------------------------------------------


def _table_view(parent) -> QTableView:
    view = QTableView(parent)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setSortingEnabled(True)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(22)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    return view


class StudiesPanel(QWidget):
    """Parameter sweeps and Monte Carlo over the current project, run off the GUI thread and plotted.

    The window calls :meth:`set_scenario` on every change of the project,
    connects :attr:`openPoint` and calls :meth:`shutdown` when it closes.
    """

    openPoint = Signal(object, object, str)  # Scenario (as declared), MarketSettings, description

    def __init__(self, runner: StudyRunner | None = None, parent=None):
        super().__init__(parent)
        self.runner = runner or StudyRunner(self)
        self.scenario = None
        self.path: Path | None = None
        self.modified = False
        self.form_spec: StudySpec | None = None  # what Run would run
        self.form_error = ""
        self.spec: StudySpec | None = None  # the study whose results are shown
        self.spec_problem = ""  # why its points cannot be opened (results loaded without their project)
        self.meta: dict[str, str] | None = None
        self.table = _empty_table()
        self.currency = ""
        self.source = ""
        self.use_dask = False
        self.line_curves: dict[object, pg.PlotDataItem] = {}
        self.plot_data = pd.DataFrame()
        self._rows: list[dict] = []
        self._dirty = False
        self._total = 0
        self._done = 0
        self._t0: float | None = None
        self._elapsed = 0.0
        self._values: dict[str, list] = {}
        self._varying: list[str] = []
        self._filter_key: tuple = ()
        self._stale = True
        self._heat_axes: tuple[list, list] = ([], [])
        self._periods = 0
        self._points: dict = {}
        self._table_frame = pd.DataFrame()
        self._table_stale = False
        self._table_sized = False
        self._plot_stale = False
        self._steps: list = []  # what is left of a refresh (one step per turn of the event loop)
        self._incoming: pd.DataFrame | None = None  # the table with the rows that came in, until shown
        self._steps_s = 0.0
        self._line_pool: list[dict] = []  # the lines' plot items, reused by every redraw
        self._lines_x_range: tuple[float, float] | None = None
        self._lines_y_range: tuple[float, float] | None = None
        self._axis_labels: dict[tuple, str] = {}
        self._hint_style = "color: #555;"
        self._where = ""
        self._build()
        self._connect()
        self._update_buttons()
        self._show_empty(True)

    # --- building ------------------------------------------------------------------------
    def _build(self) -> None:
        # the axes
        self.axis_rows: dict[str, AxisRow] = {}
        axes_box = QGroupBox("Axes", self)
        axes_box.setToolTip(
            "Tick the axes to sweep; the study runs every combination of their values (grid) or "
            "random points over them. Unticked axes keep their default."
        )
        grid = QGridLayout(axes_box)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(3)
        order = ("mechanism", "fairness", "network", "pv_penetration", "demand_scale", "bid_shading", "k", "period")
        for r, axis in enumerate(order):
            row = AxisRow(axis, axes_box)
            self.axis_rows[axis] = row
            align = Qt.AlignmentFlag.AlignTop if axis in TEXT_AXES else Qt.AlignmentFlag.AlignVCenter
            grid.addWidget(row.sweep, r, 0, align)
            grid.addWidget(row.editor, r, 1)
        grid.setColumnStretch(1, 1)

        # Monte Carlo, mode, seed
        mc_box = QGroupBox("Monte Carlo and sampling", self)
        form = QFormLayout(mc_box)
        form.setContentsMargins(6, 4, 6, 4)
        form.setVerticalSpacing(3)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.draws_n = QSpinBox(mc_box)
        self.draws_n.setRange(1, 10000)
        self.draws_n.setToolTip(
            "Monte Carlo: every point is run this many times, each draw with its own noise "
            "(common random numbers: draw d has the same noise at every point)"
        )
        self.demand_std = self._std_box(
            "Demand noise σ: multiplicative noise exp(σz − σ²/2) on every prosumer's demand, per period"
        )
        self.pv_std = self._std_box("PV noise σ: on each PV asset's availability, per period (clipped to [0, 1])")
        self.bid_std = self._std_box(
            "Bid noise σ: one factor per prosumer on its cost and value coefficients and its explicit bid prices"
        )
        self.mode = QComboBox(mc_box)
        self.mode.addItem("Grid: every combination", "grid")
        self.mode.addItem("Random: sample points", "random")
        self.mode.setToolTip(
            "Grid: the full factorial of the ticked axes. Random: this many points, each axis "
            "drawn (seeded) among its values or uniformly between its first and last value."
        )
        self.samples = QSpinBox(mc_box)
        self.samples.setRange(1, 1_000_000)
        self.samples.setValue(50)
        self.samples.setSuffix(" points")
        self.samples.setEnabled(False)
        self.samples.setToolTip("Random mode: how many points to draw (identical draws are kept once)")
        self.seed = QSpinBox(mc_box)
        self.seed.setRange(0, 2_000_000_000)
        self.seed.setToolTip(
            "Decides the PV sites that PV penetration adds, the random points and the draws' "
            "noise: the same seed gives the same study"
        )
        self.audit = QCheckBox("Audit each point (slower)", mc_box)
        self.audit.setToolTip(
            "The properties audit of the reported period: efficiency against the optimum and the "
            "best gain from a misreport (incentive compatibility), for the auctions"
        )
        form.addRow("Draws per point", self.draws_n)
        noise = QWidget(mc_box)
        nl = QHBoxLayout(noise)
        nl.setContentsMargins(0, 0, 0, 0)
        nl.setSpacing(3)
        for caption, box in (("demand", self.demand_std), ("PV", self.pv_std), ("bids", self.bid_std)):
            lab = QLabel(caption, noise)
            lab.setToolTip(box.toolTip())
            nl.addWidget(lab)
            nl.addWidget(box, 1)
        form.addRow("Noise σ", noise)
        form.addRow("Mode", self.mode)
        form.addRow("Samples", self.samples)
        form.addRow("Seed", self.seed)
        form.addRow("", self.audit)

        # the count, the validation message
        self.count_label = QLabel("", self)
        self.count_label.setWordWrap(True)
        self.count_label.setTextFormat(Qt.TextFormat.RichText)
        self.problem_label = QLabel("", self)
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet("color: #b00020;")
        self.problem_label.setVisible(False)

        # running
        cores = os.cpu_count() or 1
        self.dask = QCheckBox(f"Use a local Dask cluster ({cores} workers)", self)
        self.dask.setToolTip(
            "Run the points in parallel on a Dask LocalCluster of this machine's cores (starting "
            "it takes a few seconds). Unticked: one point after the other in a worker process of "
            "this computer."
        )
        self.scheduler = QLineEdit(self)
        self.scheduler.setPlaceholderText("or an existing scheduler: tcp://host:8786")
        self.scheduler.setToolTip(
            "The address of a running Dask scheduler: the points run on its workers (the same "
            "Feeder Market must be installed there)"
        )
        self.scheduler.setEnabled(False)
        self.run_button = QPushButton("Run", self)
        self.run_button.setToolTip("Run the study in the background: the plots fill in as points finish")
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Stop the study: no new point starts; the finished points are kept")
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setFormat("%v / %m points")
        self.bar.setTextVisible(True)
        self.state = QLabel("", self)
        self.state.setWordWrap(True)
        self.state.setStyleSheet("color: #555;")

        # files
        self.save_results_button = QPushButton("Save results…", self)
        self.save_results_button.setToolTip(
            "Write the results table: Parquet (with the study's spec, to load again here or read with pandas) or CSV"
        )
        self.load_results_button = QPushButton("Load results…", self)
        self.load_results_button.setToolTip(
            "Open a study's Parquet file (from this panel or `feeder-market study`) and plot it"
        )
        self.save_spec_button = QPushButton("Save spec…", self)
        self.save_spec_button.setToolTip(
            "Write the study as set up above as a TOML spec, to run again with "
            "`feeder-market study SPEC -o results.parquet` (on a cluster too)"
        )
        self.export_plot_button = QPushButton("Export plot data…", self)
        self.export_plot_button.setToolTip(
            "Write the numbers behind the plot shown (means, std, counts; the heat "
            "map's cells; the histogram's bins) as CSV"
        )

        side = QWidget(self)
        sl = QVBoxLayout(side)
        sl.setContentsMargins(0, 0, 6, 0)
        sl.setSpacing(4)
        sl.addWidget(axes_box)
        sl.addWidget(mc_box)
        sl.addWidget(self.count_label)
        sl.addWidget(self.problem_label)
        sl.addWidget(self.dask)
        sl.addWidget(self.scheduler)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.run_button, 1)
        buttons.addWidget(self.cancel_button)
        sl.addLayout(buttons)
        sl.addWidget(self.bar)
        sl.addWidget(self.state)
        files = QGridLayout()
        files.setContentsMargins(0, 4, 0, 0)
        files.setSpacing(3)
        files.addWidget(self.save_results_button, 0, 0)
        files.addWidget(self.load_results_button, 0, 1)
        files.addWidget(self.save_spec_button, 1, 0)
        files.addWidget(self.export_plot_button, 1, 1)
        sl.addLayout(files)
        sl.addStretch(1)
        self.side = side_column(side, 420)
        # the dock must fit beside the prosumers on a 1,366 px screen: the form scrolls sideways when narrow
        self.side.setMinimumWidth(260)
        self.side.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)

        # the results: title, view controls, plots and table
        self.title = QLabel("No study yet", self)
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.metric_combo = QComboBox(self)
        for m in PLOT_METRICS:
            self.metric_combo.addItem(metric_label(m), m)
            self.metric_combo.setItemData(
                self.metric_combo.count() - 1, METRIC_INFO.get(m, ("", "", m))[2], Qt.ItemDataRole.ToolTipRole
            )
        # by default what the market adds to everyone trading with the grid alone: one scale for every mechanism
        self.metric_combo.setCurrentIndex(PLOT_METRICS.index("gain_over_outside"))
        self.metric_combo.setToolTip("The metric plotted (a column of the results table)")
        self.view = QComboBox(self)
        for key, label in VIEWS:
            self.view.addItem(label, key)
        self.view.setToolTip(
            "Lines: the metric against an axis, one line per value of another · Heat map: the "
            "metric over two axes · Histogram: the metric over the ok points (Monte Carlo draws)"
        )
        self.x_combo = QComboBox(self)
        self.x_combo.setToolTip("The axis along the plot's x axis")
        self.x_caption = QLabel("x", self)
        self.group_combo = QComboBox(self)
        self.group_combo.setToolTip("One line (heat map: one row; histogram: one histogram) per value of this axis")
        self.group_caption = QLabel("lines by", self)
        # two rows that shrink with the dock: what to plot, then against what
        controls = QVBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.setSpacing(2)
        first, second = QHBoxLayout(), QHBoxLayout()
        for row in (first, second):
            row.setContentsMargins(0, 0, 0, 0)
            row.setSpacing(4)
            controls.addLayout(row)
        first.addWidget(QLabel("Metric", self))
        first.addWidget(self.metric_combo, 1)
        first.addWidget(QLabel("View", self))
        first.addWidget(self.view)
        second.addWidget(self.x_caption)
        second.addWidget(self.x_combo, 1)
        second.addWidget(self.group_caption)
        second.addWidget(self.group_combo, 1)
        for combo, chars in ((self.view, 8), (self.x_combo, 10), (self.group_combo, 10)):
            combo.setMinimumContentsLength(chars)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.metric_combo.setMinimumContentsLength(12)
        self.metric_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.filters_box = QWidget(self)
        self.filters_layout = QHBoxLayout(self.filters_box)
        self.filters_layout.setContentsMargins(0, 0, 0, 0)
        self.filters_layout.setSpacing(4)
        self.filters: dict[str, QComboBox] = {}

        self.legend = QLabel("", self)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)

        # lines
        self.lines_plot = make_plot(self)
        _light_grid(self.lines_plot.getPlotItem())
        self.lines_ticks = _Ticks(self.lines_plot, "bottom")
        # heat map
        self.heat_plot = make_plot(self)
        hp = self.heat_plot.getPlotItem()
        hp.showGrid(x=False, y=False)
        self.heat_image = pg.ImageItem(axisOrder="col-major")
        hp.addItem(self.heat_image)
        self.heat_bar = pg.ColorBarItem(
            values=(0.0, 1.0), colorMap=pg.colormap.get("viridis"), interactive=False, width=14
        )
        self.heat_bar.setImageItem(self.heat_image, insert_in=hp)
        bar_axis = self.heat_bar.axis
        bar_axis.setPen(pg.mkPen("#444"))
        bar_axis.setTextPen(pg.mkPen("#222"))
        bar_axis.setTickFont(hp.getAxis("left").style.get("tickFont"))
        bar_axis.enableAutoSIPrefix(False)
        self.heat_x_ticks = CategoryTicks(self.heat_plot, "bottom")
        self.heat_y_ticks = CategoryTicks(self.heat_plot, "left")
        self.heat_texts: list[pg.TextItem] = []
        # histogram
        self.hist_view = pg.GraphicsLayoutWidget(self, border=None)
        self.hist_view.setBackground("w")
        self.hist_view.setMinimumSize(160, 80)
        self.hist_plots: list[pg.PlotItem] = []
        self._hist_items: list[dict] = []  # per plot of the histogram view: its items, kept between redraws

        self.empty = QLabel(EMPTY_TEXT, self)
        self.empty.setTextFormat(Qt.TextFormat.RichText)
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setStyleSheet("color: #444; padding: 24px;")
        self.nothing = QLabel("", self)
        self.nothing.setWordWrap(True)
        self.nothing.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.nothing.setStyleSheet("color: #555; padding: 16px;")
        self.stack = QStackedWidget(self)
        self.pages = {
            "empty": self.empty,
            "nothing": self.nothing,
            "lines": self.lines_plot,
            "heat": self.heat_plot,
            "histogram": self.hist_view,
        }
        for w in self.pages.values():
            self.stack.addWidget(w)

        self.hint = QLabel("", self)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #555;")
        plot_page = QWidget(self)
        pl = QVBoxLayout(plot_page)
        pl.setContentsMargins(0, 2, 0, 0)
        pl.setSpacing(2)
        pl.addLayout(controls)
        pl.addWidget(self.filters_box)
        pl.addWidget(self.legend)
        pl.addWidget(self.stack, 1)
        pl.addWidget(self.hint)

        self.model = StudyTableModel(self)
        self.proxy = FrameSortProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table_view = _table_view(self)
        self.table_view.setModel(self.proxy)
        self.table_view.setToolTip("Every point of the study; double-click a row to open its scenario")

        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(plot_page, "Plot")
        self.tabs.addTab(self.table_view, "Table")
        self.plot_page = plot_page
        self.tabs.currentChanged.connect(lambda _i: self._tab_changed())

        results = QWidget(self)
        rl = QVBoxLayout(results)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.setSpacing(2)
        rl.addWidget(self.title)
        rl.addWidget(self.tabs, 1)
        # on a short screen the results scroll rather than push the window taller than the screen
        results_area = QScrollArea(self)
        results_area.setWidgetResizable(True)
        results_area.setFrameShape(QFrame.Shape.NoFrame)
        results_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        results_area.setWidget(results)
        results_area.setMinimumHeight(120)
        page = QSplitter(Qt.Orientation.Horizontal, self)
        page.addWidget(self.side)
        page.addWidget(results_area)
        page.setStretchFactor(0, 0)
        page.setStretchFactor(1, 1)
        page.setSizes([400, 700])
        page.setChildrenCollapsible(False)
        self.splitter = page
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(page, 1)

        self.refresh_timer = QTimer(self)
        self.refresh_timer.setInterval(REFRESH_MS)
        self.step_timer = QTimer(self)  # the next step of a refresh
        self.step_timer.setSingleShot(True)
        self.step_timer.setInterval(1)
        self.validate_timer = QTimer(self)
        self.validate_timer.setSingleShot(True)
        self.validate_timer.setInterval(150)
        self.set_axes(DEFAULT_AXES)
        self.x_combo.setEnabled(False)
        self.group_combo.setEnabled(False)

    def _std_box(self, tip: str) -> QDoubleSpinBox:
        box = QDoubleSpinBox(self)
        box.setRange(0.0, 2.0)
        box.setSingleStep(0.01)
        box.setDecimals(3)
        box.setToolTip(tip)
        box.setKeyboardTracking(False)
        return box

    def _connect(self) -> None:
        for row in self.axis_rows.values():
            row.sweep.toggled.connect(self._form_changed)
            row.editor.connect(self._form_changed)
        for box in (self.draws_n, self.demand_std, self.pv_std, self.bid_std, self.samples, self.seed):
            box.valueChanged.connect(self._form_changed)
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self.audit.toggled.connect(self._form_changed)
        self.dask.toggled.connect(self.scheduler.setEnabled)
        self.validate_timer.timeout.connect(self.validate_now)
        self.refresh_timer.timeout.connect(self._tick)
        self.step_timer.timeout.connect(self._run_step)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.save_results_button.clicked.connect(self._save_results_dialog)
        self.load_results_button.clicked.connect(self._load_results_dialog)
        self.save_spec_button.clicked.connect(self._save_spec_dialog)
        self.export_plot_button.clicked.connect(self._export_plot_dialog)
        self.metric_combo.currentIndexChanged.connect(lambda _i: self.redraw())
        self.view.currentIndexChanged.connect(lambda _i: self._view_changed())
        self.x_combo.currentIndexChanged.connect(lambda _i: self.redraw())
        self.group_combo.currentIndexChanged.connect(lambda _i: self.redraw())
        self.table_view.doubleClicked.connect(self._row_double_clicked)
        self.heat_plot.scene().sigMouseClicked.connect(self._heat_clicked)
        self.runner.busy.connect(lambda _on: self._update_buttons())
        self.runner.rows.connect(self._on_rows)
        self.runner.progress.connect(self._on_progress)
        self.runner.finished.connect(self._on_finished)
        self.runner.failed.connect(self._on_failed)

    # --- the project ---------------------------------------------------------------------
    def set_scenario(self, scenario, path: Path | None = None, modified: bool = False) -> None:
        """The dashboard's current project (its file, if it has one; ``modified``: edits not saved yet).

        Cheap: remembers it and updates the period choices; the study is
        validated again a moment later (when the panel is visible), never run.
        """
        first = self.scenario is None
        self.scenario = scenario
        self.path = Path(path) if path else None
        self.modified = bool(modified)
        periods = int(scenario.periods) if scenario is not None else 0
        horizon_changed = periods != self._periods
        if horizon_changed:
            self._periods = periods
            editor = self.axis_rows["period"].editor
            peak = evening_peak_period(scenario) if scenario is not None else 0
            for box in (editor.start, editor.stop):
                box.blockSignals(True)
                box.setRange(0, max(periods - 1, 0))
                box.setValue(peak)
                box.blockSignals(False)
            editor.num.setValue(1)
            labels = scenario.horizon.labels() if scenario is not None else []
            editor.setToolTip(
                AXIS_INFO["period"][2]
                + (f"\nThe evening peak of this project: period {peak} ({labels[peak]})" if labels else "")
            )
            self.axis_rows["period"].sweep.setChecked(True)
        if not self.currency:
            self._relabel_metrics()
        # the number of points depends on the horizon only: an edit elsewhere keeps the count shown; Run and
        # Save spec build the study from the project as it is then
        if first or horizon_changed or scenario is None:
            self._form_changed()
        self._update_buttons()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.validate_timer.start()

    # --- the form ------------------------------------------------------------------------
    def set_axes(self, axes: dict) -> None:
        """Tick exactly ``axes``: a text axis takes a list of choices, a numeric one ``(start, stop, num)``."""
        for axis, row in self.axis_rows.items():
            row.sweep.blockSignals(True)
            row.sweep.setChecked(axis in axes)
            row.editor.setEnabled(axis in axes)
            row.sweep.blockSignals(False)
            if axis not in axes:
                continue
            if isinstance(row.editor, ChoiceEditor):
                row.editor.set_values(axes[axis])
            else:
                start, stop, num = axes[axis]
                row.editor.set_range(start, stop, num)
        self._form_changed()

    def set_draws(self, n: int = 1, demand_std: float = 0.0, pv_std: float = 0.0, bid_std: float = 0.0) -> None:
        self.draws_n.setValue(n)
        self.demand_std.setValue(demand_std)
        self.pv_std.setValue(pv_std)
        self.bid_std.setValue(bid_std)

    def axes(self) -> dict:
        """The ``[axes]`` of the study as set up: the ticked axes and their values."""
        mode = self.mode.currentData()
        return {a: row.spec_value(mode) for a, row in self.axis_rows.items() if row.sweep.isChecked()}

    def draws(self) -> Draws:
        return Draws(
            n=self.draws_n.value(),
            demand_std=self.demand_std.value(),
            pv_std=self.pv_std.value(),
            bid_std=self.bid_std.value(),
        )

    def _mode_changed(self) -> None:
        random = self.mode.currentData() == "random"
        self.samples.setEnabled(random)
        for row in self.axis_rows.values():
            if isinstance(row.editor, RangeEditor):
                row.editor.num.setEnabled(not random)
        self._form_changed()

    def _form_changed(self, *_args) -> None:
        self._stale = True
        if self.isVisible():
            self.validate_timer.start()

    def build_spec(self) -> StudySpec:
        """The study as set up (raises :class:`SpecError`)."""
        if self.scenario is None:
            raise SpecError("no project is open")
        mode = self.mode.currentData()
        market = {"audit": True} if self.audit.isChecked() else None
        return spec_for_scenario(
            self.scenario,
            self.axes(),
            base_file=self.path,
            mode=mode,
            seed=self.seed.value(),
            samples=self.samples.value() if mode == "random" else None,
            draws=self.draws(),
            market=market,
            modified=self.modified,
        )

    def validate_now(self) -> StudySpec | None:
        """Validate the form: the count of points, or the reason it cannot run. Returns the spec (or None)."""
        self.validate_timer.stop()
        self._stale = False
        try:
            spec = self.build_spec()
        except SpecError as err:
            self.form_spec, self.form_error = None, self._spec_message(err)
        except Exception as err:  # a broken value: say so, never a traceback
            self.form_spec, self.form_error = None, f"{type(err).__name__}: {err}"
        else:
            self.form_spec, self.form_error = spec, ""
        self._show_count()
        self._update_buttons()
        return self.form_spec

    @staticmethod
    def _spec_message(err: SpecError) -> str:
        lines = []
        for p in err.problems:
            where = p.field.removeprefix("axes.")
            where = AXIS_INFO.get(where, (where,))[0] if where in AXIS_INFO else where
            lines.append(f"{where}: {p.message}" if where else p.message)
        return "\n".join(lines) or str(err)

    def _show_count(self) -> None:
        spec = self.form_spec
        if spec is None:
            self.count_label.setText("<b>Cannot run</b>")
            self.problem_label.setText(f"⚠ {self.form_error}")
            self.problem_label.setVisible(True)
            return
        self.problem_label.setVisible(False)
        n = len(spec.points)
        if not self.runner.is_busy() and self.spec is None and self.meta is None:
            self.bar.setRange(0, max(n, 1))
            self.bar.setValue(0)
        draws = spec.options.draws.n
        text = f"<b>{n:,} point{'s' if n != 1 else ''}</b>"
        if draws > 1:
            text += f" ({n // draws:,} × {draws} draws)"
        if spec.skipped_combinations:
            k = spec.skipped_combinations
            text += (
                f" <span style='color:#555'>({k:,} combination{'s' if k != 1 else ''} skipped: fairness rules "
                "and network models apply to the welfare clearing only)</span>"
            )
        self.count_label.setText(text)
        self.count_label.setToolTip(
            "Combinations the market refuses or ignores are left out: network models and "
            "fairness rules go with the welfare clearing only, fairness rules with the "
            "copper plate at the tariffs only."
        )

    # --- running -------------------------------------------------------------------------
    def run(self) -> bool:
        """Run the study as set up on the worker (never here); False when it cannot run."""
        if self.runner.is_busy():
            return False
        spec = self.validate_now()
        if spec is None:
            return False
        workers, scheduler = 0, None
        if self.dask.isChecked():
            address = self.scheduler.text().strip()
            workers, scheduler = (None, address) if address else (os.cpu_count() or 1, None)
        self._start_results(spec)
        self._total, self._done = len(spec.points), 0
        self.bar.setRange(0, max(self._total, 1))
        self.bar.setValue(0)
        self._t0 = time.monotonic()
        where = (
            "in a worker process"
            if workers == 0
            else (f"on {scheduler}" if scheduler else f"on a local Dask cluster ({workers} workers)")
        )
        self._where = where
        self._state(f"Running {self._total:,} points {where}…")
        self.runner.start(StudyRequest(spec, workers=workers, scheduler=scheduler))
        self.refresh_timer.start()
        self._update_buttons()
        return True

    def cancel(self) -> None:
        if self.runner.is_busy():
            self.runner.cancel()
            self._state("Cancelling: the points running finish, no new one starts…")
            self._update_buttons()

    def shutdown(self, timeout_ms: int = -1) -> bool:
        """Stop a running study and wait for its worker (the window is closing)."""
        self.refresh_timer.stop()
        self._stop_steps()
        return self.runner.shutdown(timeout_ms)

    def is_running(self) -> bool:
        return self.runner.is_busy()

    def _start_results(
        self, spec: StudySpec | None, table: pd.DataFrame | None = None, meta=None, source="", problem: str = ""
    ) -> None:
        self._stop_steps()
        self.spec, self.meta, self.spec_problem = spec, meta, problem
        self._points = {p.point_id: p for p in spec.points} if spec is not None else {}
        self.currency = spec.base.currency if spec is not None else ((meta or {}).get("currency", ""))
        self._relabel_metrics()
        self._rows = []
        self.table = table if table is not None else _empty_table()
        self.source = source
        self._dirty = False
        self._elapsed = 0.0
        self._table_sized = False
        self._set_axes_of_results()
        self._fill_table(force=True)
        self.redraw()

    def _on_rows(self, rows: list) -> None:
        self._rows.extend(rows)  # taken into the table at the next refresh
        self._dirty = True

    def _absorb_rows(self) -> None:
        """Take the rows that came in into the next table (``_show_incoming`` shows it): a table of the new rows
        appended (what :func:`core.study.results_table` gives for all the rows: sorted by point, stably)."""
        rows, self._rows = self._rows, []
        base = self._incoming if self._incoming is not None else self.table
        if not rows:
            self._incoming = base
            return
        new = results_table(rows)
        if not len(base):
            self._incoming = new
            return
        table = pd.concat([base, new], ignore_index=True)
        if not table.point.is_monotonic_increasing:  # Dask: points finish out of order
            table = table.sort_values("point", kind="stable").reset_index(drop=True)
        self._incoming = table

    def _show_incoming(self) -> None:
        """The table with the new rows becomes the one shown, and the plot follows (when it is in front)."""
        if self._incoming is not None:
            self.table, self._incoming = self._incoming, None
        self._refresh_plot()

    def _on_progress(self, done: int, total: int) -> None:
        self._done, self._total = done, total
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)

    def _tick(self) -> None:
        if self._t0 is not None:
            self._elapsed = time.monotonic() - self._t0
        if self.runner.is_busy() and not self.runner.is_cancelling():
            starting = " (starting the Dask cluster…)" if not self._done and "Dask" in self._where else ""
            self._state(f"Running: {self._done:,} / {self._total:,} points · {self._elapsed:.1f} s{starting}")
        if self._dirty and not self._steps:
            self._dirty = False
            self._steps = [self._absorb_rows, self._show_incoming, self._fill_table]
            self._steps_s = 0.0
            self._run_step()

    def _run_step(self) -> None:
        """One step of a refresh while a study runs (the new rows into the table; the Table tab; the plot), the
        next one at the next turn of the event loop: the window's other events and timers come in between."""
        if not self._steps:
            return
        t0 = time.perf_counter()
        self._steps.pop(0)()
        self._steps_s += time.perf_counter() - t0
        if self._steps:
            self.step_timer.start()
        else:  # a large study: refresh less often, so that the GUI thread stays free
            self.refresh_timer.setInterval(int(min(5000, max(REFRESH_MS, 5000 * self._steps_s))))

    def _stop_steps(self, keep_rows: bool = False) -> None:
        """No more steps of the refresh in hand; the rows it took in are dropped (the table that comes next has
        them) unless ``keep_rows``."""
        self._steps = []
        self.step_timer.stop()
        if not keep_rows:
            self._incoming = None

    def _on_finished(self, run) -> None:
        self.refresh_timer.stop()
        self._stop_steps()
        self._elapsed = run.elapsed_s
        self._t0 = None
        self.table = run.table
        self._rows = []
        self._dirty = False
        done = len(run.table)
        self._done = done
        self.bar.setRange(0, max(run.total, 1))
        self.bar.setValue(done)
        counts = status_counts(run.table)
        tally = ", ".join(f"{int(c):,} {s}" for s, c in counts.items() if c)
        if run.cancelled:
            self._state(
                f"Cancelled after {done:,} of {run.total:,} points ({run.elapsed_s:.1f} s): the finished "
                f"points are kept{' — ' + tally if tally else ''}."
            )
        else:
            self._state(f"Done: {done:,} points in {run.elapsed_s:.1f} s — {tally or 'no rows'}.")
        self._fill_table(force=True)
        self.redraw()
        self._update_buttons()

    def _on_failed(self, message: str) -> None:
        self.refresh_timer.stop()
        self._stop_steps(keep_rows=True)
        self._t0 = None
        self._dirty = False
        self._absorb_rows()  # the rows that came back are kept
        self.table, self._incoming = self._incoming, None
        self._fill_table()
        self.redraw()
        self._state(f"⚠ The study stopped: {message}", error=True)
        self._update_buttons()

    def _state(self, text: str, error: bool = False) -> None:
        self.state.setText(text)
        self.state.setStyleSheet("color: #b00020;" if error else "color: #555;")

    def _update_buttons(self) -> None:
        busy = self.runner.is_busy()
        self.run_button.setEnabled(
            not busy and self.scenario is not None and (self.form_spec is not None or self._stale)
        )
        self.cancel_button.setEnabled(busy and not self.runner.is_cancelling())
        has_rows = len(self.table) > 0
        self.save_results_button.setEnabled(has_rows and not busy)
        self.export_plot_button.setEnabled(len(self.plot_data) > 0)
        self.load_results_button.setEnabled(not busy)
        self.save_spec_button.setEnabled(self.scenario is not None)

    # --- results: axes, filters ------------------------------------------------------------
    def _set_axes_of_results(self) -> None:
        """The axes that vary in the study shown, and their values in order (from the spec, else the table)."""
        values: dict[str, list] = {}
        if self.spec is not None:
            for axis in AXES:
                seen = [p.get(axis) for p in self.spec.points]
                values[axis] = self._ordered(axis, seen)
        else:
            for axis in AXES:
                values[axis] = self._ordered(axis, list(self.table[axis]) if axis in self.table else [])
        self._values = values
        self._varying = [a for a in AXES if len(values[a]) > 1]
        self._fill_axis_combos()

    @staticmethod
    def _ordered(axis: str, seen: list) -> list:
        clean = [v for v in seen if v is not None and not (isinstance(v, float) and math.isnan(v)) and v != ""]
        if axis in TEXT_AXES:
            return [c for c in TEXT_AXES[axis] if c in set(clean)]
        return sorted({float(v) for v in clean})

    def _fill_axis_combos(self) -> None:
        varying = self._varying
        x_old, g_old = self.x_combo.currentData(), self.group_combo.currentData()
        for combo in (self.x_combo, self.group_combo):
            combo.blockSignals(True)
            combo.clear()
        for a in varying:
            self.x_combo.addItem(AXIS_INFO[a][0], a)
        self.group_combo.addItem("(none)", NONE)
        for a in varying:
            self.group_combo.addItem(AXIS_INFO[a][0], a)
        numeric = [a for a in varying if a not in TEXT_AXES]
        x = (
            x_old
            if x_old in varying
            else (
                "pv_penetration"
                if "pv_penetration" in varying
                else (numeric[0] if numeric else (varying[0] if varying else None))
            )
        )
        others = [a for a in varying if a != x]
        # lines by the mechanism when it varies (with the mechanism along x too: one line, and in the
        # histogram one per mechanism), else by the next axis that varies
        g = (
            g_old
            if (g_old in others or g_old == NONE) and x_old == x
            else ("mechanism" if "mechanism" in varying else (others[0] if others else NONE))
        )
        if x is not None:
            self.x_combo.setCurrentIndex(self.x_combo.findData(x))
        self.group_combo.setCurrentIndex(max(self.group_combo.findData(g), 0))
        for combo in (self.x_combo, self.group_combo):
            combo.blockSignals(False)
            combo.setEnabled(bool(varying))

    def _used_axes(self) -> set:
        view = self.view.currentData()
        g = self.group_combo.currentData()
        used = {g} if g not in (None, NONE) else set()
        if view != "histogram":
            used.add(self.x_combo.currentData())
        return used

    def _update_filters(self) -> None:
        """One combo per varying axis the view does not use: a value, or every value (mean)."""
        free = [a for a in self._varying if a not in self._used_axes()]
        key = (self.view.currentData() == "histogram", *((a, tuple(self._values[a])) for a in free))
        if key == self._filter_key:
            return
        old = {a: c.currentData() for a, c in self.filters.items()}
        self._filter_key = key
        while self.filters_layout.count():
            item = self.filters_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.filters = {}
        if free:
            lab = QLabel("Other axes:", self.filters_box)
            lab.setToolTip("Axes the plot does not show: a single value, or every value (the plot shows the mean)")
            self.filters_layout.addWidget(lab)
        for a in free:
            self.filters_layout.addWidget(QLabel(AXIS_INFO[a][0], self.filters_box))
            combo = QComboBox(self.filters_box)
            combo.addItem("all" if self.view.currentData() == "histogram" else "all (mean)", ALL)
            for v in self._values[a]:
                combo.addItem(value_text(a, v), v)
            keep = old.get(a, ALL)
            idx = 0
            if keep != ALL:
                idx = next((i for i in range(1, combo.count()) if _same(combo.itemData(i), keep)), 0)
            combo.setCurrentIndex(idx)
            combo.currentIndexChanged.connect(lambda _i: self.redraw())
            self.filters_layout.addWidget(combo)
            self.filters[a] = combo
        self.filters_layout.addStretch(1)
        self.filters_box.setVisible(bool(free))

    def _filtered(self, ok_only: bool = True) -> pd.DataFrame:
        t = self.table
        if ok_only:
            t = t[t.status == "ok"]
        for a, combo in self.filters.items():
            v = combo.currentData()
            if v != ALL and a in t:
                t = t[_mask(t, a, v)]
        return t

    # --- results: drawing --------------------------------------------------------------------
    def _view_changed(self) -> None:
        view = self.view.currentData()
        self.x_caption.setVisible(view != "histogram")
        self.x_combo.setVisible(view != "histogram")
        self.group_caption.setText({"lines": "lines by", "heat": "rows", "histogram": "one per"}[view])
        self.redraw()

    def _show_empty(self, on: bool) -> None:
        if on:
            self.stack.setCurrentWidget(self.empty)
            self.legend.setText("")
            self.hint.setText("")

    def _say_nothing(self, text: str) -> None:
        self.nothing.setText(text)
        self.stack.setCurrentWidget(self.nothing)
        self.legend.setText("")
        self.plot_data = pd.DataFrame()

    def _refresh_plot(self) -> None:
        """While a study runs: redraw the plot if it is in front; else the title now, the plot when shown."""
        if self.tabs.currentWidget() is self.plot_page:
            self.redraw()
        else:
            self._plot_stale = True
            self._update_title()
            self._update_buttons()

    def _tab_changed(self) -> None:
        if self.tabs.currentWidget() is self.plot_page:
            if self._plot_stale:
                self.redraw()
        elif self._table_stale:
            self._fill_table(force=True)

    def redraw(self) -> None:
        """Draw the chosen view of the results shown (called on every change and while a study runs)."""
        self._plot_stale = False
        self._update_title()
        if self.spec is None and self.meta is None and not len(self.table):
            self._show_empty(True)
            self.plot_data = pd.DataFrame()
            self._update_buttons()
            return
        self._update_filters()
        self._update_metric_items()
        view = self.view.currentData()
        metric = self.metric_combo.currentData()
        ok = self._filtered()
        if not len(self.table):
            self._say_nothing("Waiting for the first points…" if self.runner.is_busy() else "No points.")
        elif ok.empty:
            self._say_nothing("No ok point matches the axes chosen: see the Table tab for the points' status.")
        elif ok[metric].astype(float).notna().sum() == 0:
            name = METRIC_INFO.get(metric, (metric,))[0]
            self._say_nothing(
                f"{name} has no value in these points (e.g. efficiency and IC need the audit; DLMPs, "
                "voltages and losses a network model; the price of fairness a fairness rule)."
            )
        elif view == "lines":
            self._draw_lines(ok, metric)
        elif view == "heat":
            self._draw_heat(ok, metric)
        else:
            self._draw_histogram(ok, metric)
        self._update_buttons()

    def _update_title(self) -> None:
        if self.spec is None and self.meta is None and not len(self.table):
            self.title.setText("No study yet")
            return
        name = self.spec.name if self.spec is not None else (self.meta or {}).get("name", "study")
        parts = [f"<b>{escape(name)}</b>"]
        total = len(self.spec.points) if self.spec is not None else int((self.meta or {}).get("points", 0) or 0)
        n = len(self.table)
        parts.append(f"{n:,} / {total:,} points" if total and n < total else f"{n:,} points")
        if self._varying:
            parts.append(" × ".join(escape(AXIS_INFO[a][0]) for a in self._varying))
        if len(self.table):
            counts = status_counts(self.table)
            bad = ", ".join(f"{int(c)} {s}" for s, c in counts.items() if s != "ok" and c)
            if bad:
                parts.append(f"<span style='color:#b00020'>{escape(bad)}</span>")
        if self.source:
            parts.append(f"<span style='color:#555'>{escape(self.source)}</span>")
        self.title.setText(" · ".join(parts))
        self.title.setToolTip(self.spec_problem or (self.spec.text if self.spec is not None else ""))

    def _relabel_metrics(self) -> None:
        """The metric combo's units in the currency of the study shown (else of the current project)."""
        cur = self.currency or (self.scenario.currency if self.scenario is not None else "")
        for i in range(self.metric_combo.count()):
            self.metric_combo.setItemText(i, metric_label(self.metric_combo.itemData(i), cur))

    def _update_metric_items(self) -> None:
        """Metrics without any value in the results are greyed out (they need the audit, a network…)."""
        item_model = self.metric_combo.model()
        t = self.table[self.table.status == "ok"] if len(self.table) else self.table
        present = [m for m in PLOT_METRICS if m in t]
        values = t[present].to_numpy(dtype=float, na_value=np.nan) if len(t) else np.empty((0, len(present)))
        has = dict(zip(present, (~np.isnan(values)).any(axis=0).tolist(), strict=True))
        for i in range(self.metric_combo.count()):
            item = item_model.item(i)
            enabled = bool(has.get(self.metric_combo.itemData(i), False) or not len(t))
            if item is not None and item.isEnabled() != enabled:
                item.setEnabled(enabled)

    def _missing_word(self) -> str:
        return "no value yet" if self.runner.is_busy() else "no value"

    def _positions(self, axis: str, values) -> np.ndarray:
        """Where values of ``axis`` go along a plot axis: themselves (numbers) or their index (text)."""
        if axis in TEXT_AXES:
            order = {v: i for i, v in enumerate(self._values[axis])}
            return np.array([order.get(v, np.nan) for v in values], dtype=float)
        return np.asarray(values, dtype=float)

    def _unit(self, metric: str) -> str:
        return metric_label(metric, self.currency)

    def _group_values(self, g: str | None) -> list:
        return [None] if g in (None, NONE) else list(self._values[g])

    def _index_of(self, axis: str, values: pd.Series, order: list) -> np.ndarray:
        """For each of ``values`` (a column of ``axis``), its index in ``order`` (the axis' values); −1 if absent."""
        if axis in TEXT_AXES:
            return pd.Index(list(order), dtype=object).get_indexer(values.to_numpy(dtype=object))
        keys = np.round(np.asarray(order, dtype=float), 9)
        return pd.Index(keys).get_indexer(np.round(values.to_numpy(dtype=float, na_value=np.nan), 9))

    def _lines_stats(self, ok: pd.DataFrame, metric: str, x_axis: str, g_axis) -> list[tuple]:
        """Per group of ``g_axis`` (one group: None): the mean, std (ddof 1) and count of ``metric`` at each
        value of ``x_axis`` — every group at once (a pass of ``np.bincount``, not a groupby per group)."""
        xs, groups = self._values[x_axis], self._group_values(g_axis)
        nx, ng = len(xs), len(groups)
        y = ok[metric].to_numpy(dtype=float, na_value=np.nan)
        xi = self._index_of(x_axis, ok[x_axis], xs)
        gi = np.zeros(len(ok), dtype=np.intp) if groups == [None] else self._index_of(g_axis, ok[g_axis], groups)
        keep = (xi >= 0) & (gi >= 0) & ~np.isnan(y)
        cell, v = gi[keep] * nx + xi[keep], y[keep]
        count = np.bincount(cell, minlength=ng * nx)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.bincount(cell, weights=v, minlength=ng * nx) / count
            dev = np.bincount(cell, weights=(v - mean[cell]) ** 2, minlength=ng * nx)
            std = np.where(count > 1, np.sqrt(dev / np.maximum(count - 1, 1)), np.nan)
        mean = np.where(count > 0, mean, np.nan)
        return [
            (g, mean[k * nx : (k + 1) * nx], std[k * nx : (k + 1) * nx], count[k * nx : (k + 1) * nx])
            for k, g in enumerate(groups)
        ]

    def _line_items(self, rank: int, band: bool) -> dict:
        """The plot items of the ``rank``-th line (kept between redraws: a redraw sets their data)."""
        pi = self.lines_plot.getPlotItem()
        while len(self._line_pool) <= rank:
            curve = pg.PlotDataItem([], [], symbol="o", symbolPen=pg.mkPen("w", width=1.0), connect="finite")
            curve.setCurveClickable(False)
            curve.sigPointsClicked.connect(self._line_clicked)
            pi.addItem(curve)
            self._line_pool.append({"curve": curve, "band": None, "style": None, "band_colour": None})
        items = self._line_pool[rank]
        if band and items["band"] is None:
            upper = pg.PlotCurveItem(pen=pg.mkPen(None))
            lower = pg.PlotCurveItem(pen=pg.mkPen(None))
            fill = pg.FillBetweenItem(upper, lower)
            for it in (upper, lower, fill):
                pi.addItem(it)
            items["band"] = (upper, lower, fill)
        return items

    def _drop_line_items(self, keep: int) -> None:
        """Remove the plot items of the lines from ``keep`` on (fewer lines than before)."""
        pi = self.lines_plot.getPlotItem()
        for items in self._line_pool[keep:]:
            for it in (items["curve"], *(items["band"] or ())):
                pi.removeItem(it)
        del self._line_pool[keep:]

    def _draw_lines(self, ok: pd.DataFrame, metric: str) -> None:
        x_axis = self.x_combo.currentData()
        g_axis = self.group_combo.currentData()
        if x_axis is None:
            self._say_nothing("Nothing varies in this study: sweep an axis over several values to draw lines.")
            return
        if g_axis == x_axis:
            g_axis = NONE
        pi = self.lines_plot.getPlotItem()
        self.line_curves = {}
        xs = self._values[x_axis]
        xpos = self._positions(x_axis, xs)
        text_x = x_axis in TEXT_AXES
        names = [value_text(x_axis, v) for v in xs] if text_x else []
        if names != self.lines_ticks.names:
            self.lines_ticks.set_names(names)
        series = [
            (k, g, mean, std, count)
            for k, (g, mean, std, count) in enumerate(self._lines_stats(ok, metric, x_axis, g_axis))
            if np.isfinite(mean).any()
        ]
        self._drop_line_items(len(series))
        legend, records = [], []
        band = False
        for rank, (k, g, mean, std, count) in enumerate(series):
            colour = series_colour(k)
            with_band = bool(np.nanmax(count, initial=0) > 1 and np.isfinite(std).any())
            items = self._line_items(rank, with_band)
            # a line that a later one covers (the same values somewhere) is drawn wider, with larger markers
            behind = sum(
                1 for _k, _h, m2, _s, _c in series[rank + 1 :] if np.isclose(mean, m2, rtol=1e-6, atol=1e-12).any()
            )
            curve = items["curve"]
            style = (colour.name(), behind)
            if items["style"] != style:
                items["style"] = style
                curve.setPen(pg.mkPen(colour, width=2.0 + 2.0 * behind))
                curve.setSymbolBrush(pg.mkBrush(colour))
                curve.setSymbolSize(8 + 5 * behind)
            if items["band"] is not None:
                upper, lower, fill_item = items["band"]
                if with_band:
                    band = True
                    f = np.isfinite(mean) & np.isfinite(xpos)
                    s = np.where(np.isfinite(std), std, 0.0)[f]
                    upper.setData(xpos[f], mean[f] + s)
                    lower.setData(xpos[f], mean[f] - s)
                    if items["band_colour"] != colour.name():
                        items["band_colour"] = colour.name()
                        fill = QColor(colour)
                        fill.setAlpha(45)
                        fill_item.setBrush(pg.mkBrush(fill))
                for it in (upper, lower, fill_item):
                    if it.isVisible() != with_band:
                        it.setVisible(with_band)
            curve.setData(xpos, mean)
            curve.setZValue(10 + rank)
            self.line_curves[g] = curve
            label = value_text(g_axis, g) if g is not None else self._unit(metric)
            same = [
                h
                for _k, h, m2, _s, _c in series[rank + 1 :]
                if np.allclose(mean, m2, rtol=1e-9, atol=1e-12, equal_nan=True)
            ]
            if same:
                label += f" (the same values as {value_text(g_axis, same[0])})"
            legend.append(f"<nobr><span style='color:{colour.name()}'>━●</span> {escape(label)}</nobr>")
            for i, v in enumerate(xs):
                records.append(
                    {
                        "group_axis": "" if g is None else g_axis,
                        "group": "" if g is None else g,
                        "x_axis": x_axis,
                        "x": v,
                        "mean": mean[i],
                        "std": std[i],
                        "points": count[i],
                    }
                )
        missing = [
            value_text(g_axis, g)
            for g in self._group_values(g_axis)
            if g is not None and all(h != g for _k, h, *_rest in series)
        ]
        if missing:
            legend.append(f"<nobr>{self._missing_word()}: {escape(', '.join(missing))}</nobr>")
        if band:
            legend.append("<nobr><span style='color:#999'>▒</span> ±1 std over the draws and the axes at “all”</nobr>")
        self.legend.setText(" &nbsp; ".join(legend))
        self._axis_label(self.lines_plot, "bottom", axis_title(x_axis))
        self._axis_label(self.lines_plot, "left", self._unit(metric))
        pad = 0.5 if text_x else 0.04 * ((np.nanmax(xpos) - np.nanmin(xpos)) or 1.0)
        x_range = (float(np.nanmin(xpos)) - pad, float(np.nanmax(xpos)) + pad)
        vb = pi.getViewBox()
        if x_range != self._lines_x_range:
            self._lines_x_range = x_range
            vb.setXRange(*x_range, padding=0)
        # the y range from the lines and bands drawn (not the view's auto range: it would find it out at the first
        # paint, change the axes and paint the plot a second time)
        y_range = _padded_range(
            [
                y
                for _k, _g, mean, std, _c in series
                for y in (mean, mean + np.nan_to_num(std), mean - np.nan_to_num(std))
            ]
        )
        if y_range is not None and y_range != self._lines_y_range:
            self._lines_y_range = y_range
            vb.setYRange(*y_range, padding=0)
        self.plot_data = pd.DataFrame(records)
        self.stack.setCurrentWidget(self.lines_plot)
        self._set_hint("Click a point to open its scenario in the dashboard (the first ok draw of it).")

    def _axis_label(self, plot: pg.PlotWidget, side: str, text: str) -> None:
        """:func:`gui.market_panels.axis_label`, only when the text changes (setting it lays the plot out)."""
        key = (id(plot), side)
        if self._axis_labels.get(key) != text:
            self._axis_labels[key] = text
            axis_label(plot, side, text)

    def _set_hint(self, text: str, sheet: str = "color: #555;") -> None:
        """The hint under the plot (its style set only when it changes: setting a style sheet re-polishes)."""
        if self._hint_style != sheet:
            self._hint_style = sheet
            self.hint.setStyleSheet(sheet)
        self.hint.setText(text)

    def _draw_heat(self, ok: pd.DataFrame, metric: str) -> None:
        x_axis = self.x_combo.currentData()
        y_axis = self.group_combo.currentData()
        if x_axis is None:
            self._say_nothing("Nothing varies in this study: sweep an axis over several values for a heat map.")
            return
        if y_axis in (None, NONE) or y_axis == x_axis:
            y_axis = None
        xs = self._values[x_axis]
        ys = self._values[y_axis] if y_axis else [None]
        grid = np.full((len(xs), len(ys)), np.nan)
        counts = np.zeros((len(xs), len(ys)), dtype=int)
        records = []
        for i, xv in enumerate(xs):
            col = ok[_mask(ok, x_axis, xv)]
            for j, yv in enumerate(ys):
                cell = col if yv is None else col[_mask(col, y_axis, yv)]
                v = cell[metric].astype(float).dropna()
                if len(v):
                    grid[i, j] = float(v.mean())
                    counts[i, j] = len(v)
                records.append(
                    {
                        "x_axis": x_axis,
                        "x": xv,
                        "y_axis": y_axis or "",
                        "y": "" if yv is None else yv,
                        "mean": grid[i, j],
                        "points": counts[i, j],
                    }
                )
        self._heat_axes = (list(xs), list(ys))
        finite = grid[np.isfinite(grid)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if hi <= lo:
            lo, hi = lo - 0.5 * (abs(lo) or 1.0), hi + 0.5 * (abs(hi) or 1.0)
        self.heat_image.setImage(grid, autoLevels=False, levels=(lo, hi))
        self.heat_image.setRect(QRectF(-0.5, -0.5, len(xs), len(ys)))
        self.heat_bar.setLevels((lo, hi))
        fm = QFontMetricsF(self.heat_bar.axis.style.get("tickFont") or self.font())
        top = max(abs(lo), abs(hi))
        self.heat_bar.axis.setWidth(int(fm.horizontalAdvance(fmt_sig(-top, 4)) + 14))
        self.heat_x_ticks.set_names([value_text(x_axis, v) for v in xs])
        names = [value_text(y_axis, v) if y_axis else "" for v in ys]
        self.heat_y_ticks.set_names(names)
        hp = self.heat_plot.getPlotItem()
        left = hp.getAxis("left")
        fm = QFontMetricsF(left.style.get("tickFont") or self.font())
        left.setWidth(int(max((fm.horizontalAdvance(t) for t in names), default=0) + 14 + (24 if y_axis else 0)))
        cells = []  # (i, j, text, ink) of the values written in their cells
        if grid.size <= HEAT_TEXT_CELLS:
            cmap = pg.colormap.get("viridis")
            for i in range(len(xs)):
                for j in range(len(ys)):
                    if not math.isfinite(grid[i, j]):
                        continue
                    c = cmap.mapToQColor((grid[i, j] - lo) / (hi - lo))
                    luma = 0.299 * c.redF() + 0.587 * c.greenF() + 0.114 * c.blueF()
                    cells.append((i, j, fmt_sig(grid[i, j], 3), "#111" if luma > 0.5 else "#fff"))
        self._write_heat_cells(cells)
        self._axis_label(self.heat_plot, "bottom", axis_title(x_axis))
        self._axis_label(self.heat_plot, "left", axis_title(y_axis) if y_axis else "")
        vb = hp.getViewBox()
        vb.setRange(xRange=(-0.5, len(xs) - 0.5), yRange=(-0.5, len(ys) - 0.5), padding=0)
        empty = int((~np.isfinite(grid)).sum())
        self.legend.setText(
            f"Mean {escape(self._unit(metric))} per cell over the ok points (draws and axes at "
            f"“all”)" + (f" · {empty} empty cell{'s' if empty != 1 else ''} (no ok point or no value)" if empty else "")
        )
        self.plot_data = pd.DataFrame(records)
        self.stack.setCurrentWidget(self.heat_plot)
        self._set_hint("Click a cell to open its scenario in the dashboard (the cell's first ok point).")

    def _write_heat_cells(self, cells: list[tuple]) -> None:
        """The values written in the heat map's cells: the text items of the last drawing are reused."""
        hp = self.heat_plot.getPlotItem()
        for t in self.heat_texts[len(cells) :]:
            hp.removeItem(t)
        del self.heat_texts[len(cells) :]
        for n, (i, j, text, ink) in enumerate(cells):
            if n < len(self.heat_texts):
                t = self.heat_texts[n]
                if (t.textItem.toPlainText(), t.color.name()) != (text, QColor(ink).name()):
                    t.setText(text, color=ink)
            else:
                t = pg.TextItem(text, color=ink, anchor=(0.5, 0.5))
                t.setZValue(5)
                hp.addItem(t)
                self.heat_texts.append(t)
            if (t.pos().x(), t.pos().y()) != (i, j):
                t.setPos(i, j)

    def _hist_layout(self, n: int) -> None:
        """``n`` stacked plots in the histogram view, each with its bars, its mean and its 5 % and 95 % lines:
        the plots of the last drawing when there were as many (a redraw sets their data)."""
        while len(self.hist_plots) > n:  # fewer groups: the last plots go
            self.hist_view.removeItem(self.hist_plots.pop())
            self._hist_items.pop()
        for rank in range(len(self.hist_plots), n):  # more groups: plots are added below
            pi = self._hist_plot(rank)
            bars = pg.PlotDataItem([0.0, 1.0], [0], stepMode="center", fillLevel=0)
            lines = (
                pg.InfiniteLine(0.0, angle=90, pen=pg.mkPen("#222", width=2.0)),
                pg.InfiniteLine(0.0, angle=90, pen=dashed(QColor("#222"), 1.3)),
                pg.InfiniteLine(0.0, angle=90, pen=dashed(QColor("#222"), 1.3)),
            )
            for it in (bars, *lines):
                pi.addItem(it)
            self.hist_plots.append(pi)
            self._hist_items.append({"plot": pi, "bars": bars, "lines": lines, "colour": None, "look": {}})

    def _hist_plot(self, row: int) -> pg.PlotItem:
        """A plot of the histogram view, styled as :func:`gui.market_panels.make_plot`'s."""
        item = self.hist_view.addPlot(row=row, col=0)
        item.setMenuEnabled(False)
        style_plot_item(item)
        item.getAxis("left").setWidth(48)
        _light_grid(item)
        return item

    def _draw_histogram(self, ok: pd.DataFrame, metric: str) -> None:
        """One histogram per group, stacked (a shared x range when the groups overlap, else each its own)."""
        g_axis = self.group_combo.currentData()
        groups = []
        for k, g in enumerate(self._group_values(g_axis)):
            sub = ok if g is None else ok[_mask(ok, g_axis, g)]
            v = np.sort(sub[metric].astype(float).dropna().to_numpy())
            if v.size:
                groups.append((k, g, v))
        lo = min(float(v[0]) for _k, _g, v in groups)
        hi = max(float(v[-1]) for _k, _g, v in groups)
        widest = max(float(v[-1] - v[0]) for _k, _g, v in groups)
        shared = (hi - lo) <= 5.0 * widest  # the groups overlap or lie close: compare them on one axis

        def edges_for(a: float, b: float, spread: float) -> np.ndarray:
            span = b - a
            if span <= 1e-12 * max(abs(b), 1.0):
                half = 0.01 * (abs(a) or 1.0)
                return np.array([a - half, b + half])
            bins = int(np.clip(round(12 * span / max(spread, span / 40.0)), 5, 40))
            return np.linspace(a, b, bins + 1)

        legend, records = [], []
        common = (
            edges_for(lo, hi, min((float(v[-1] - v[0]) for _k, _g, v in groups if v[-1] > v[0]), default=hi - lo))
            if shared
            else None
        )
        last = len(groups) - 1
        self._hist_layout(len(groups))
        for rank, (k, g, v) in enumerate(groups):
            edges = common if shared else edges_for(float(v[0]), float(v[-1]), float(v[-1] - v[0]))
            counts, _ = np.histogram(v, bins=edges)
            colour = series_colour(k)
            items = self._hist_items[rank]
            pi = items["plot"]
            if items["colour"] != colour.name():
                items["colour"] = colour.name()
                fill = QColor(colour)
                fill.setAlpha(110)
                items["bars"].setPen(pg.mkPen(colour, width=1.6))
                items["bars"].setBrush(pg.mkBrush(fill))
            items["bars"].setData(edges, counts)
            mean, q05, q95 = float(v.mean()), float(np.quantile(v, 0.05)), float(np.quantile(v, 0.95))
            for line, x in zip(items["lines"], (mean, q05, q95), strict=True):
                line.setValue(x)
            name = value_text(g_axis, g) if g is not None else "All ok points"
            # what the plot shows besides its data: set only when it changes (setting it lays the plot out)
            look = {
                "title": f"<span style='color:{colour.name()}'>■</span> {escape(name)}",
                "ticks": max(1, math.ceil(counts.max(initial=1) / 4)),
                "link": bool(shared and rank),
                "bottom": self._unit(metric) if rank == last else ("" if not shared else None),
                "values": not (shared and rank != last),
                "left": "Points" if rank == last // 2 else None,
            }
            old = items["look"]
            if old.get("title") != look["title"]:
                pi.setTitle(look["title"], size="9pt", color="#222", justify="left")
            if old.get("ticks") != look["ticks"]:
                pi.getAxis("left").setTickSpacing(major=look["ticks"], minor=1)
            if old.get("link") != look["link"]:
                pi.setXLink(self.hist_plots[0] if look["link"] else None)
            for side in ("bottom", "left"):
                if side in old and old[side] == look[side]:
                    continue
                if look[side] is None:
                    pi.showLabel(side, False)
                else:
                    pi.setLabel(side, look[side], color="#222", size="9pt")
            if old.get("values") != look["values"]:
                pi.getAxis("bottom").setStyle(showValues=look["values"])
            items["look"] = look
            pad = 0.03 * (edges[-1] - edges[0])
            pi.getViewBox().setRange(
                xRange=(edges[0] - pad, edges[-1] + pad),
                yRange=(0, max(int(counts.max(initial=0)), 1) * 1.1),
                padding=0,
            )
            same = [h for _k, h, w in groups[rank + 1 :] if w.size == v.size and np.allclose(w, v, rtol=1e-9)]
            note = f" (the same values as {value_text(g_axis, same[0])})" if same else ""
            legend.append(
                f"<nobr><span style='color:{colour.name()}'>■</span> {escape(name + note)}: mean "
                f"<b>{escape(fmt_sig(mean))}</b>, 5–95 % [{escape(fmt_sig(q05))}, "
                f"{escape(fmt_sig(q95))}] (n = {v.size})</nobr>"
            )
            for b in range(len(counts)):
                records.append(
                    {
                        "group_axis": "" if g is None else g_axis,
                        "group": "" if g is None else g,
                        "bin_from": edges[b],
                        "bin_to": edges[b + 1],
                        "points": int(counts[b]),
                        "mean": mean,
                        "q05": q05,
                        "q95": q95,
                    }
                )
        missing = [
            value_text(g_axis, g)
            for g in self._group_values(g_axis)
            if g is not None and all(h != g for _k, h, _v in groups)
        ]
        if missing:
            legend.append(f"<nobr>{self._missing_word()}: {escape(', '.join(missing))}</nobr>")
        legend.append(
            "<nobr>━ mean &nbsp; ╍ 5 % and 95 % quantiles"
            + ("" if shared else " · each group on its own scale (far apart)")
            + "</nobr>"
        )
        self.legend.setText(" &nbsp; ".join(legend))
        self.plot_data = pd.DataFrame(records)
        self.stack.setCurrentWidget(self.hist_view)
        draws = self.spec.options.draws.n if self.spec is not None else int(self.table.draw.max() + 1)
        self._set_hint(
            "The metric over every ok point (Monte Carlo draws and the axes at “all”)."
            + ("" if draws > 1 else " Set draws > 1 and some noise for a distribution.")
        )

    # --- the table -----------------------------------------------------------------------------
    def _fill_table(self, force: bool = False) -> None:
        """The Table tab shows ``self.table`` (while a study runs: only when the tab is shown).

        While a study runs the table only grows: the rows that came in are
        appended to the model (the view places them), never the whole table
        again."""
        if not force and self.runner.is_busy() and self.tabs.currentWidget() is not self.table_view:
            self._table_stale = True
            return
        self._table_stale = False
        t = self.table
        swept = list(self._varying)
        first = ["point", "draw", *swept, "status", "message"]
        rest = [c for c in t.columns if c not in first and c != "point_id"]
        frame = t[first + rest + ["point_id"]]
        if self.model.rowCount() and self.model.shows_prefix_of(frame):
            self.model.append(frame.iloc[self.model.rowCount() :])
        else:
            self.model.set_frame(frame, self._table_headers(frame), self._table_tips())
        self._table_frame = frame
        if len(frame) and not self._table_sized:  # once per study: the first rows decide the widths
            self._table_sized = True
            header = self.table_view.horizontalHeader()
            widths = self.model.column_widths(header.fontMetrics(), self.table_view.fontMetrics())
            for c, width in enumerate(widths):
                header.resizeSection(c, width)

    def _table_headers(self, frame: pd.DataFrame) -> dict[str, str]:
        headers = {c: header_with_unit(c, self.currency or "currency", MONEY) for c in frame.columns}
        for a in AXES:
            headers[a] = AXIS_INFO[a][0]
        for m, (name, unit, _tip) in METRIC_INFO.items():
            u = unit.format(cur=self.currency or "currency")
            headers[m] = f"{name} ({u})" if u else name
        headers.update(point="Point", draw="Draw", status="Status", message="Message", point_id="Point id")
        return headers

    @staticmethod
    def _table_tips() -> dict[str, str]:
        tips = {m: info[2] for m, info in METRIC_INFO.items()}
        tips.update({a: info[2] for a, info in AXIS_INFO.items()})
        tips.update(
            status="ok; infeasible: the clearing is proven infeasible; error: it failed (see the message)",
            point_id="A hash of the point's parameters and of the base project: the same everywhere",
        )
        return tips

    def _row_double_clicked(self, index) -> None:
        source = self.proxy.mapToSource(index)
        if source.isValid():
            self.open_row(source.row())

    def open_row(self, row: int) -> bool:
        """Open the point of the table's row ``row`` (in the model's order)."""
        frame = self.model.frame
        if not 0 <= row < len(frame):
            return False
        return self.open_point(str(frame.point_id.iat[row]))

    # --- opening a point ---------------------------------------------------------------------
    def describe_point(self, point) -> str:
        name = self.spec.name if self.spec is not None else "study"
        axes = self._varying or list(self.spec.swept if self.spec is not None else [])
        parts = [f"{AXIS_INFO[a][0]} {value_text(a, point.get(a))}" for a in axes]
        draw = f", draw {point.draw}" if self.spec is not None and self.spec.options.draws.n > 1 else ""
        return f"{name} · point {point.index}: " + ", ".join(parts) + draw

    def open_point(self, point_id: str) -> bool:
        """Emit :attr:`openPoint` with the scenario and settings of the point ``point_id``; False (and a
        message) when the study's base project is not at hand."""
        if self.spec is None:
            self._hint_error(f"Cannot open this point: {self.spec_problem or 'the study has no spec'}")
            return False
        point = self._points.get(point_id)
        if point is None:
            self._hint_error("Cannot open this point: it is not a point of the study's spec")
            return False
        try:
            _truth, declared = build_variant(self.spec.base, point, self.spec.options)
            settings = point.settings(self.spec.options)
        except Exception as err:  # a variant the project's validation refuses: say so
            self._hint_error(f"Cannot open this point: {err}")
            return False
        description = self.describe_point(point)
        self._set_hint(f"Opened in the dashboard: {description}")
        self.openPoint.emit(declared, settings, description)
        return True

    def _hint_error(self, text: str) -> None:
        self._set_hint(f"⚠ {text}", "color: #b00020;")

    def first_ok_point(self, conditions: dict) -> str | None:
        """The id of the first ok point (by point index) with these axis values and the filters' values."""
        t = self._filtered()
        for axis, v in conditions.items():
            if axis in (None, NONE) or v is None:
                continue
            t = t[_mask(t, axis, v)]
        if t.empty:
            return None
        return str(t.sort_values("point").point_id.iat[0])

    def open_line_point(self, group, x) -> bool:
        """Open the first ok point of the line of ``group`` at ``x`` (an axis value)."""
        pid = self.first_ok_point({self.x_combo.currentData(): x, self.group_combo.currentData(): group})
        if pid is None:
            self._hint_error("No ok point there")
            return False
        return self.open_point(pid)

    def open_cell(self, x, y) -> bool:
        """Open the first ok point of the heat map's cell (``x``, ``y``: axis values; ``y`` None for one row)."""
        y_axis = self.group_combo.currentData()
        pid = self.first_ok_point({self.x_combo.currentData(): x, (y_axis if y is not None else None): y})
        if pid is None:
            self._hint_error("No ok point in this cell")
            return False
        return self.open_point(pid)

    def _line_clicked(self, curve, points, _event=None) -> None:
        if not len(points):
            return
        group = next((g for g, c in self.line_curves.items() if c is curve), None)
        x_axis = self.x_combo.currentData()
        px = float(points[0].pos().x())
        xs = self._values.get(x_axis, [])
        if x_axis in TEXT_AXES:
            i = round(px)
            if not 0 <= i < len(xs):
                return
            x = xs[i]
        else:
            x = min(xs, key=lambda v: abs(float(v) - px)) if xs else px
        self.open_line_point(group, x)

    def _heat_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        vb = self.heat_plot.getPlotItem().getViewBox()
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        p = vb.mapSceneToView(event.scenePos())
        self.heat_cell_clicked(round(p.x()), round(p.y()))

    def heat_cell_clicked(self, i: int, j: int) -> bool:
        """Open the cell in column ``i``, row ``j`` of the heat map shown."""
        xs, ys = self._heat_axes
        if not (0 <= i < len(xs) and 0 <= j < len(ys)):
            return False
        return self.open_cell(xs[i], ys[j])

    # --- files ---------------------------------------------------------------------------------
    def save_results(self, path: str | os.PathLike) -> Path:
        """The results table: Parquet with the study's spec when the suffix is ``.parquet`` (else CSV)."""
        p = Path(path)
        if p.suffix.lower() == ".parquet":
            return write_results(self.table, p, self.spec, metadata=self.meta)
        from core.files import write_atomic

        write_atomic(p, lambda fh: self.table.to_csv(fh, index=False))
        return p

    def export_table(self, path: str | os.PathLike) -> Path:
        """The results table as CSV (Parquet when the suffix is ``.parquet``): :meth:`save_results`."""
        return self.save_results(path)

    def export_plot_data(self, path: str | os.PathLike) -> Path:
        """The numbers behind the plot shown, as CSV."""
        p = Path(path)
        self.plot_data.to_csv(p, index=False)
        return p

    def load_results(self, path: str | os.PathLike) -> bool:
        """Show a study's Parquet file (:func:`core.study.read_results`); its points can be opened when its base
        project is found as it was. False (and a message) when the file is not a study."""
        p = Path(path)
        try:
            table, meta = read_results(p)
        except StudyError as err:
            self._state(f"⚠ {err}", error=True)
            return False
        try:
            spec = spec_of_results(meta, near=p, table=table)
            problem = ""
        except StudyError as err:
            spec, problem = None, str(err)
        self._start_results(spec, table=table, meta=meta, source=f"loaded from {p.name}", problem=problem)
        self._done = len(table)
        self.bar.setRange(0, max(len(spec.points) if spec is not None else len(table), 1))
        self.bar.setValue(len(table))
        note = "" if spec is not None else f" Its points cannot be opened: {problem}."
        self._state(f"Loaded {len(table):,} points from {p.name}.{note}", error=False)
        self._update_buttons()
        return True

    def save_spec(self, path: str | os.PathLike) -> Path:
        """The study as set up in the form, as a TOML spec (raises :class:`SpecError` when it is not valid)."""
        spec = self.validate_now()
        if spec is None:
            raise SpecError(self.form_error or "the study is not valid")
        from core.files import write_atomic

        p = Path(path)
        write_atomic(p, lambda fh: fh.write(spec.text))
        return p

    def _folder(self) -> str:
        return str(self.path.parent if self.path is not None else Path.home())

    def _save_results_dialog(self) -> None:
        stem = (self.spec.name if self.spec is not None else "study").replace(" ", "-").replace("/", "-")
        path, chosen = QFileDialog.getSaveFileName(
            self,
            "Save the study's results",
            str(Path(self._folder()) / f"{stem}.parquet"),
            "Parquet (*.parquet);;CSV (*.csv)",
        )
        if path:
            p = Path(path)
            if not p.suffix:
                p = p.with_suffix(".csv" if "CSV" in chosen else ".parquet")
            try:
                self.save_results(p)
                self._state(f"Saved {len(self.table):,} rows to {p}")
            except (OSError, ValueError) as err:
                self._state(f"⚠ Cannot save {p.name}: {err}", error=True)

    def _load_results_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Load a study's results", self._folder(), "Study results (*.parquet)"
        )
        if path:
            self.load_results(path)

    def _save_spec_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the study spec", str(Path(self._folder()) / "study.toml"), "Study spec (*.toml)"
        )
        if path:
            p = Path(path) if Path(path).suffix else Path(path).with_suffix(".toml")
            try:
                self.save_spec(p)
                self._state(f"Saved the spec to {p}: run it with feeder-market study {p.name} -o results.parquet")
            except (OSError, SpecError) as err:
                self._state(f"⚠ Cannot save the spec: {err}", error=True)

    def _export_plot_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the plot's data", str(Path(self._folder()) / "plot.csv"), "CSV (*.csv)"
        )
        if path:
            try:
                self.export_plot_data(path)
            except OSError as err:
                self._state(f"⚠ Cannot write {path}: {err}", error=True)


__all__ = ["StudiesPanel", "metric_label"]
