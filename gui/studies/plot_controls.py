"""The Studies dock's plot controls: the metric, the view, the axes along x and by group, a filter per other axis."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from core.study import TEXT_AXES
from gui.studies.labels import AXIS_INFO, METRIC_INFO, PLOT_METRICS, metric_label, value_text
from gui.studies.plots import NONE, rows_at

VIEWS = (("lines", "Lines"), ("heat", "Heat map"), ("histogram", "Histogram"))
ALL = "__all__"  # a filter combo's "every value (mean)"


def _same(a, b) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return bool(np.isclose(float(a), float(b), rtol=0, atol=1e-9))


def ordered_values(axis: str, seen: list) -> list:
    """The distinct values of ``axis`` among ``seen``, in the axis' order (text) or sorted (numbers)."""
    clean = [v for v in seen if v is not None and not (isinstance(v, float) and math.isnan(v)) and v != ""]
    if axis in TEXT_AXES:
        return [c for c in TEXT_AXES[axis] if c in set(clean)]
    return sorted({float(v) for v in clean})


class PlotControls(QWidget):
    """What to plot (metric, view), against what (x, grouping) and at which values of the axes the plot does not
    show (a filter each: one value, or all of them averaged). :attr:`changed`: the plot must be drawn again."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._values: dict[str, list] = {}
        self._varying: list[str] = []
        self._filter_key: tuple = ()
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
        # two rows that shrink with the dock: what to plot, then against what; then the filters
        controls = QVBoxLayout(self)
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
        controls.addWidget(self.filters_box)
        self.x_combo.setEnabled(False)
        self.group_combo.setEnabled(False)
        self.metric_combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.view.currentIndexChanged.connect(lambda _i: self._view_changed())
        self.x_combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.group_combo.currentIndexChanged.connect(lambda _i: self.changed.emit())

    # --- what is chosen ------------------------------------------------------------------
    def chosen_metric(self) -> str:  # (not "metric": that is QWidget.metric(), which Qt calls when painting)
        return self.metric_combo.currentData()

    def view_kind(self) -> str:
        """``lines``, ``heat`` or ``histogram``."""
        return self.view.currentData()

    def x_axis(self) -> str | None:
        return self.x_combo.currentData()

    def group_axis(self) -> str | None:
        """The axis of the lines (heat map: rows; histogram: one per value); :data:`NONE` for no grouping."""
        return self.group_combo.currentData()

    def _view_changed(self) -> None:
        view = self.view_kind()
        self.x_caption.setVisible(view != "histogram")
        self.x_combo.setVisible(view != "histogram")
        self.group_caption.setText({"lines": "lines by", "heat": "rows", "histogram": "one per"}[view])
        self.changed.emit()

    # --- the metrics ---------------------------------------------------------------------
    def relabel_metrics(self, currency: str) -> None:
        """The metric combo's units in ``currency``."""
        for i in range(self.metric_combo.count()):
            self.metric_combo.setItemText(i, metric_label(self.metric_combo.itemData(i), currency))

    def update_metric_items(self, table: pd.DataFrame) -> None:
        """Metrics without any value in the results are greyed out (they need the audit, a network…)."""
        item_model = self.metric_combo.model()
        t = table[table.status == "ok"] if len(table) else table
        present = [m for m in PLOT_METRICS if m in t]
        values = t[present].to_numpy(dtype=float, na_value=np.nan) if len(t) else np.empty((0, len(present)))
        has = dict(zip(present, (~np.isnan(values)).any(axis=0).tolist(), strict=True))
        for i in range(self.metric_combo.count()):
            item = item_model.item(i)
            enabled = bool(has.get(self.metric_combo.itemData(i), False) or not len(t))
            if item is not None and item.isEnabled() != enabled:
                item.setEnabled(enabled)

    # --- the axes ------------------------------------------------------------------------
    def set_axes(self, values: dict[str, list], varying: list[str]) -> None:
        """The study shown: every axis' values, and the axes that vary (the choices along x and by group)."""
        self._values, self._varying = values, varying
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
        g = self.group_axis()
        used = {g} if g not in (None, NONE) else set()
        if self.view_kind() != "histogram":
            used.add(self.x_axis())
        return used

    def update_filters(self) -> None:
        """One combo per varying axis the view does not use: a value, or every value (mean)."""
        free = [a for a in self._varying if a not in self._used_axes()]
        key = (self.view_kind() == "histogram", *((a, tuple(self._values[a])) for a in free))
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
            combo.addItem("all" if self.view_kind() == "histogram" else "all (mean)", ALL)
            for v in self._values[a]:
                combo.addItem(value_text(a, v), v)
            keep = old.get(a, ALL)
            idx = 0
            if keep != ALL:
                idx = next((i for i in range(1, combo.count()) if _same(combo.itemData(i), keep)), 0)
            combo.setCurrentIndex(idx)
            combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
            self.filters_layout.addWidget(combo)
            self.filters[a] = combo
        self.filters_layout.addStretch(1)
        self.filters_box.setVisible(bool(free))

    def filtered(self, table: pd.DataFrame, ok_only: bool = True) -> pd.DataFrame:
        """The rows of ``table`` at the filters' values (``ok_only``: the ok rows only)."""
        t = table
        if ok_only:
            t = t[t.status == "ok"]
        for a, combo in self.filters.items():
            v = combo.currentData()
            if v != ALL and a in t:
                t = t[rows_at(t, a, v)]
        return t
