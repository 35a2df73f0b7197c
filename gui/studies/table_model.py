"""The Studies dock's results table: a read-only model of a study's rows (cheap to grow while it runs), its view,
its headers and tooltips."""

from __future__ import annotations

import numpy as np
import pandas as pd
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from core.study import AXES
from core.units import column_decimals, column_label, fmt_number
from gui.frame_model import SORT_ROLE
from gui.market_panels import BAD
from gui.studies.labels import AXIS_INFO, METRIC_INFO, MONEY

INFEASIBLE = QColor(255, 236, 190)
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


def table_view(parent) -> QTableView:
    view = QTableView(parent)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setSortingEnabled(True)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(22)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    return view


def table_headers(frame: pd.DataFrame, currency: str) -> dict[str, str]:
    """The columns' headers: the axes' and metrics' names with their units (in ``currency``)."""
    headers = {c: column_label(c, currency or "currency", MONEY) for c in frame.columns}
    for a in AXES:
        headers[a] = AXIS_INFO[a][0]
    for m, (name, unit, _tip) in METRIC_INFO.items():
        u = unit.format(cur=currency or "currency")
        headers[m] = f"{name} ({u})" if u else name
    headers.update(point="Point", draw="Draw", status="Status", message="Message", point_id="Point id")
    return headers


def table_tips() -> dict[str, str]:
    """The columns' tooltips."""
    tips = {m: info[2] for m, info in METRIC_INFO.items()}
    tips.update({a: info[2] for a, info in AXIS_INFO.items()})
    tips.update(
        status="ok; infeasible: the clearing is proven infeasible; error: it failed (see the message)",
        point_id="A hash of the point's parameters and of the base project: the same everywhere",
    )
    return tips
