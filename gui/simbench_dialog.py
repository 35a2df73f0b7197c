"""File ▸ Import SimBench grid…: choose a radial SimBench code (searchable, with its level and size), a day of
2016 and a step; the import itself runs on a thread behind a busy progress note (:func:`run_import`)."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDate, QEventLoop, Qt, QThread
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressDialog,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.scenario.simbench_io import SIMBENCH_YEAR, import_simbench, radial_simbench_codes
from core.units import fmt

DEFAULT_CODE = "1-LV-rural1--0-sw"
DEFAULT_DAY = dt.date(SIMBENCH_YEAR, 6, 21)
STEPS = (("1h", "1 h (the mean of each hour's quarter hours)"), ("15min", "15 min (96 periods)"))


class SimbenchDialog(QDialog):
    """The code, the day and the step of a SimBench import; :meth:`choice` after ``exec()``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import SimBench grid")
        self.grids = radial_simbench_codes()
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter: LV, MV, rural, urban6, -sw…")
        self.filter.setClearButtonEnabled(True)
        self.table = QTableWidget(len(self.grids), 4)
        self.table.setHorizontalHeaderLabels(["Code", "Level", "Buses", "Prosumers"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for row, g in enumerate(self.grids):
            cells = (g.code, g.level, fmt(g.buses, "count"), fmt(g.prosumers, "count"))
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col >= 2:
                    item.setTextAlignment(right)
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        self.day = QDateEdit(QDate(DEFAULT_DAY.year, DEFAULT_DAY.month, DEFAULT_DAY.day))
        self.day.setCalendarPopup(True)
        self.day.setDisplayFormat("yyyy-MM-dd")
        self.day.setDateRange(QDate(SIMBENCH_YEAR, 1, 1), QDate(SIMBENCH_YEAR, 12, 31))
        self.step = QComboBox()
        for key, text in STEPS:
            self.step.addItem(text, key)
        note = QLabel(
            f"SimBench's profiles are of {SIMBENCH_YEAR}. The wholesale price is not part of SimBench: a default "
            "daily profile is used (editable, as the tariffs)."
        )
        note.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Import")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Day", self.day)
        form.addRow("Step", self.step)
        lay = QVBoxLayout(self)
        lay.addWidget(self.filter)
        lay.addWidget(self.table, 1)
        lay.addLayout(form)
        lay.addWidget(note)
        lay.addWidget(self.buttons)
        self.filter.textChanged.connect(self.apply_filter)
        self.table.itemSelectionChanged.connect(self._update_ok)
        self.table.doubleClicked.connect(lambda _index: self.accept() if self.selected_code() else None)
        self.select(DEFAULT_CODE)
        self.resize(620, 560)

    def apply_filter(self, text: str) -> None:
        """Show the codes holding every word of ``text`` (any case); keep a visible selection."""
        words = text.lower().split()
        for row, g in enumerate(self.grids):
            self.table.setRowHidden(row, not all(w in g.code.lower() for w in words))
        current = self.table.currentRow()
        if current < 0 or self.table.isRowHidden(current):
            visible = [r for r in range(len(self.grids)) if not self.table.isRowHidden(r)]
            self.table.clearSelection()
            if visible:
                self.table.selectRow(visible[0])
        self._update_ok()

    def select(self, code: str) -> None:
        for row, g in enumerate(self.grids):
            if g.code == code:
                self.table.selectRow(row)
                self.table.scrollToItem(self.table.item(row, 0))
                return

    def selected_code(self) -> str | None:
        rows = {i.row() for i in self.table.selectedItems() if not self.table.isRowHidden(i.row())}
        return self.grids[min(rows)].code if rows else None

    def _update_ok(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(self.selected_code() is not None)

    def choice(self) -> tuple[str, dt.date, str]:
        """``(code, day, step)`` as chosen."""
        d = self.day.date()
        return self.selected_code() or DEFAULT_CODE, dt.date(d.year(), d.month(), d.day()), self.step.currentData()


class _ImportThread(QThread):
    """``import_simbench`` off the GUI thread (reading SimBench's files takes seconds; no solver runs)."""

    def __init__(self, code: str, day: dt.date, step: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.args = (code, day, step)
        self.result = None
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            self.result = import_simbench(*self.args)
        except Exception as err:  # handed to the GUI thread, which shows it
            self.error = err


def run_import(parent: QWidget, code: str, day: dt.date, step: str):
    """``import_simbench(code, day, step)`` on a thread, a busy progress note meanwhile; the window keeps
    painting (a local event loop). Returns ``(scenario, warnings)`` or raises what the import raised."""
    note = QProgressDialog(f"Loading SimBench grid {code} and its profiles of {day.isoformat()}…", None, 0, 0, parent)
    note.setWindowTitle("Import SimBench grid")
    note.setWindowModality(Qt.WindowModality.WindowModal)
    note.setMinimumDuration(0)
    note.show()
    thread = _ImportThread(code, day, step, parent)
    loop = QEventLoop()
    thread.finished.connect(loop.quit)
    thread.start()
    if not thread.isFinished():
        loop.exec()
    thread.wait()
    note.close()
    note.deleteLater()
    thread.deleteLater()
    if thread.error is not None:
        raise thread.error
    return thread.result
