"""A read-only Qt table model over a pandas DataFrame (core's results are DataFrames).

Numbers are right-aligned and shown with a number of decimals chosen per
column; headers carry the unit (from the column name's suffix, or given);
sorting uses the raw values (``SORT_ROLE``), not the text.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from core.units import column_unit, fmt_cell, fmt_full, unit_decimals

SORT_ROLE = Qt.ItemDataRole.UserRole + 1


ROW_NAME_COLUMNS = ("agent", "id", "bus", "line")  # the first present names a results row


class DataFrameModel(QAbstractTableModel):
    """A read-only view of a DataFrame.

    ``headers``/``tooltips`` map a column to its header text and tooltip;
    ``row_brush(row) -> QBrush | None`` colours whole rows;
    ``cell_brush(row, column) -> QBrush | None`` single cells (it wins).
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.frame = pd.DataFrame()
        self.headers: dict[str, str] = {}
        self.tooltips: dict[str, str] = {}
        self.row_brush: Callable[[int], QBrush | None] | None = None
        self.cell_brush: Callable[[int, str], QBrush | None] | None = None
        self.cell_text: Callable[[int, str], str | None] | None = None
        self.cell_tooltip: Callable[[int, str], str | None] | None = None
        self.bold_row: int | None = None
        self._decimals: dict[str, int] = {}
        self._units: dict[str, str] = {}
        self._numeric: dict[str, bool] = {}

    def set_frame(
        self,
        frame: pd.DataFrame,
        headers: dict[str, str] | None = None,
        tooltips: dict[str, str] | None = None,
        decimals: dict[str, int] | None = None,
    ) -> None:
        self.beginResetModel()
        self.frame = frame.reset_index(drop=True)
        self.headers = dict(headers or {})
        self.tooltips = dict(tooltips or {})
        self._numeric = {
            c: pd.api.types.is_numeric_dtype(self.frame[c]) and not pd.api.types.is_bool_dtype(self.frame[c])
            for c in self.frame.columns
        }
        self._units = {c: column_unit(str(c)) for c, num in self._numeric.items() if num}
        self._decimals = {c: unit_decimals(self.frame[c].to_numpy(), u) for c, u in self._units.items()}
        self._decimals.update(decimals or {})
        self.endResetModel()

    def column_key(self, section: int) -> str:
        return str(self.frame.columns[section])

    def column_of(self, key: str) -> int:
        return list(self.frame.columns).index(key)

    # --- Qt model API --------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.frame)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.frame.columns)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.frame.columns):
            key = self.column_key(section)
            if role == Qt.ItemDataRole.DisplayRole:
                return self.headers.get(key, key)
            if role == Qt.ItemDataRole.ToolTipRole:
                return self.tooltips.get(key)
            if role == Qt.ItemDataRole.TextAlignmentRole and self._numeric.get(key):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        elif orientation == Qt.Orientation.Vertical and role == Qt.ItemDataRole.DisplayRole:
            # the row's name (agent, bus, line, id) where the table has one: it stays in view when the table is
            # scrolled to the right, as a frozen first column would
            key = next((c for c in ROW_NAME_COLUMNS if c in self.frame.columns), None)
            if key is not None and 0 <= section < len(self.frame):
                return str(self.frame[key].iat[section])
            return str(section + 1)
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r, key = index.row(), self.column_key(index.column())
        value = self.frame.iat[r, index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            if self.cell_text is not None:
                text = self.cell_text(r, key)
                if text is not None:
                    return text
            if self._numeric.get(key):
                return fmt_cell(value, self._decimals.get(key, 2), self._units.get(key, ""))
            if isinstance(value, (bool, np.bool_)):
                return "✓" if value else "✗"
            return "" if value is None else str(value)
        if role == SORT_ROLE:
            if isinstance(value, (bool, np.bool_)):
                return int(value)
            if self._numeric.get(key):
                v = float(value)
                return -math.inf if math.isnan(v) else v
            return str(value)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if self._numeric.get(key):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if isinstance(value, (bool, np.bool_)):
                return int(Qt.AlignmentFlag.AlignCenter)
            return None
        if role == Qt.ItemDataRole.BackgroundRole:
            if self.cell_brush is not None:
                b = self.cell_brush(r, key)
                if b is not None:
                    return b
            if self.row_brush is not None:
                return self.row_brush(r)
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if self.cell_brush is not None and self.cell_brush(r, key) is not None:
                return QBrush(QColor("#111111"))
            if self.row_brush is not None and self.row_brush(r) is not None:
                return QBrush(QColor("#111111"))
            return None
        if role == Qt.ItemDataRole.FontRole and self.bold_row == r:
            f = QFont()
            f.setBold(True)
            return f
        if role == Qt.ItemDataRole.ToolTipRole:
            if self.cell_tooltip is not None:
                tip = self.cell_tooltip(r, key)
                if tip is not None:
                    return tip
            if self._numeric.get(key):  # the full number behind the rounded one
                full = fmt_full(value)
                head = self.tooltips.get(key)
                return f"{full}\n\n{head}" if head else full
            return self.tooltips.get(key)
        return None

    def flags(self, index):
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


class FrameSortProxy(QSortFilterProxyModel):
    """Sorts by the raw values; filters on any column's text."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(-1)


def fit_columns(view, model: DataFrameModel, padding: int = 18, most: int = 320) -> None:
    """Set ``view``'s column widths from their contents — the header and the widest text a column shows —
    without asking Qt to measure every cell (``resizeColumnsToContents`` calls ``data()`` for each role of
    each row: half a second and more on 3,000 agents). A numeric column's widest text is its largest or
    smallest number (one format per column); a text column's, its longest string."""
    from PySide6.QtGui import QFontMetrics

    fm = QFontMetrics(view.font())
    head_fm = QFontMetrics(view.horizontalHeader().font())
    frame = model.frame
    for c in range(model.columnCount()):
        key = model.column_key(c)
        header = str(model.headerData(c, Qt.Orientation.Horizontal) or key)
        texts = []
        if len(frame):
            col = frame[key]
            if model._numeric.get(key):
                values = col.to_numpy(dtype=float)
                finite = np.isfinite(values)
                rows = [
                    int(np.argmax(np.where(finite, values, -np.inf))),
                    int(np.argmin(np.where(finite, values, np.inf))),
                ]
            else:
                lengths = col.astype(str).str.len().to_numpy()
                rows = [int(np.argmax(lengths))]
            texts = [model.data(model.index(r, c)) or "" for r in rows]
        width = max(
            [head_fm.horizontalAdvance(header) + padding] + [fm.horizontalAdvance(str(t)) + padding for t in texts]
        )
        view.setColumnWidth(c, min(width, most))
