"""The Studies dock's results: a study's title, its plot (lines, heat map, histograms) and its table of every point.

The view shows a study's table (:attr:`ResultsView.table`, the rows of :func:`core.study.run_study`) and computes
nothing but means for its plots. Opening a point (a click on a line's marker or a heat-map cell, a double-click on a
row) goes to ``open_point(point_id)``, given by the panel.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from html import escape

import pandas as pd
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from core.study import AXES, StudySpec, results_table, status_counts
from gui.frame_model import FrameSortProxy
from gui.studies.labels import AXIS_INFO, METRIC_INFO, metric_label
from gui.studies.plot_controls import PlotControls, ordered_values
from gui.studies.plots import NONE, Drawing, HeatMap, Histograms, LinesPlot, Study, rows_at
from gui.studies.table_model import StudyTableModel, table_headers, table_tips, table_view

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


@functools.lru_cache(maxsize=1)
def empty_table() -> pd.DataFrame:
    """A study table without rows (made once: building one takes milliseconds; never changed in place)."""
    return results_table([])


class ResultsView(QWidget):
    """The study shown: its title, the Plot tab (controls, legend, the plot, a hint) and the Table tab.

    ``busy()`` says whether a study is running (the table then only grows, and is filled only when in front);
    ``open_point(point_id) -> bool`` opens a point. :attr:`drawn`: the plot (or the title) was updated.
    """

    drawn = Signal()

    def __init__(self, busy: Callable[[], bool], open_point: Callable[[str], bool], parent=None):
        super().__init__(parent)
        self.busy = busy
        self.open_point = open_point
        self.spec: StudySpec | None = None
        self.meta: dict[str, str] | None = None
        self.spec_problem = ""  # why its points cannot be opened (results loaded without their project)
        self.table = empty_table()
        self.currency = ""  # the study's
        self.project_currency = ""  # the current project's: the metrics' units before a study is shown
        self.source = ""
        self.plot_data = pd.DataFrame()
        self.values: dict[str, list] = {}  # every axis: its values in the study, in order
        self.varying: list[str] = []  # the axes with more than one value
        self._table_frame = pd.DataFrame()
        self._table_stale = False
        self._table_sized = False
        self._plot_stale = False
        self._hint_style = "color: #555;"
        self._build()
        self.controls.changed.connect(self.redraw)
        self.table_view.doubleClicked.connect(self._row_double_clicked)
        self.tabs.currentChanged.connect(lambda _i: self._tab_changed())

    def _build(self) -> None:
        self.title = QLabel("No study yet", self)
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.controls = PlotControls(self)
        self.legend = QLabel("", self)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        self.lines = LinesPlot(self, self.open_line_point)
        self.heat = HeatMap(self, self.heat_cell_clicked)
        self.histograms = Histograms(self)
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
            "lines": self.lines.widget,
            "heat": self.heat.widget,
            "histogram": self.histograms.widget,
        }
        for w in self.pages.values():
            self.stack.addWidget(w)
        self.hint = QLabel("", self)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #555;")
        self.plot_page = QWidget(self)
        pl = QVBoxLayout(self.plot_page)
        pl.setContentsMargins(0, 2, 0, 0)
        pl.setSpacing(2)
        pl.addWidget(self.controls)
        pl.addWidget(self.legend)
        pl.addWidget(self.stack, 1)
        pl.addWidget(self.hint)

        self.model = StudyTableModel(self)
        self.proxy = FrameSortProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table_view = table_view(self)
        self.table_view.setModel(self.proxy)
        self.table_view.setToolTip("Every point of the study; double-click a row to open its scenario")
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.plot_page, "Plot")
        self.tabs.addTab(self.table_view, "Table")

        rl = QVBoxLayout(self)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.setSpacing(2)
        rl.addWidget(self.title)
        rl.addWidget(self.tabs, 1)

    # --- the study shown -------------------------------------------------------------------
    def show_study(
        self, spec: StudySpec | None, table: pd.DataFrame | None = None, meta=None, source="", problem: str = ""
    ) -> None:
        """Show the study ``spec`` (None: results loaded without it, ``problem`` says why) with ``table``'s rows."""
        self.spec, self.meta, self.spec_problem = spec, meta, problem
        self.currency = spec.base.currency if spec is not None else ((meta or {}).get("currency", ""))
        self.relabel_metrics()
        self.table = table if table is not None else empty_table()
        self.source = source
        self._table_sized = False
        self._set_axes_of_results()
        self.fill_table(force=True)
        self.redraw()

    def is_empty(self) -> bool:
        """No study shown (nor loaded)."""
        return self.spec is None and self.meta is None

    def relabel_metrics(self) -> None:
        """The metric combo's units in the currency of the study shown (else of the current project)."""
        self.controls.relabel_metrics(self.currency or self.project_currency)

    def _set_axes_of_results(self) -> None:
        """The axes that vary in the study shown, and their values in order (from the spec, else the table)."""
        values: dict[str, list] = {}
        if self.spec is not None:
            for axis in AXES:
                values[axis] = ordered_values(axis, [p.get(axis) for p in self.spec.points])
        else:
            for axis in AXES:
                values[axis] = ordered_values(axis, list(self.table[axis]) if axis in self.table else [])
        self.values = values
        self.varying = [a for a in AXES if len(values[a]) > 1]
        self.controls.set_axes(values, self.varying)

    def filtered(self, ok_only: bool = True) -> pd.DataFrame:
        return self.controls.filtered(self.table, ok_only)

    # --- drawing -------------------------------------------------------------------------
    def show_empty(self) -> None:
        self.stack.setCurrentWidget(self.empty)
        self.legend.setText("")
        self.hint.setText("")

    def _say_nothing(self, text: str) -> None:
        self.nothing.setText(text)
        self.stack.setCurrentWidget(self.nothing)
        self.legend.setText("")
        self.plot_data = pd.DataFrame()

    def refresh_plot(self) -> None:
        """While a study runs: redraw the plot if it is in front; else the title now, the plot when shown."""
        if self.tabs.currentWidget() is self.plot_page:
            self.redraw()
        else:
            self._plot_stale = True
            self.update_title()
            self.drawn.emit()

    def _tab_changed(self) -> None:
        if self.tabs.currentWidget() is self.plot_page:
            if self._plot_stale:
                self.redraw()
        elif self._table_stale:
            self.fill_table(force=True)

    def redraw(self) -> None:
        """Draw the chosen view of the results shown (called on every change and while a study runs)."""
        self._plot_stale = False
        self.update_title()
        if self.is_empty() and not len(self.table):
            self.show_empty()
            self.plot_data = pd.DataFrame()
            self.drawn.emit()
            return
        self.controls.update_filters()
        self.controls.update_metric_items(self.table)
        view, metric = self.controls.view_kind(), self.controls.chosen_metric()
        x_axis, g_axis = self.controls.x_axis(), self.controls.group_axis()
        ok = self.filtered()
        if not len(self.table):
            self._say_nothing("Waiting for the first points…" if self.busy() else "No points.")
        elif ok.empty:
            self._say_nothing("No ok point matches the axes chosen: see the Table tab for the points' status.")
        elif ok[metric].astype(float).notna().sum() == 0:
            name = METRIC_INFO.get(metric, (metric,))[0]
            self._say_nothing(
                f"{name} has no value in these points (e.g. efficiency and IC need the audit; DLMPs, "
                "voltages and losses a network model; the price of fairness a fairness rule)."
            )
        elif view in ("lines", "heat") and x_axis is None:
            what = "to draw lines" if view == "lines" else "for a heat map"
            self._say_nothing(f"Nothing varies in this study: sweep an axis over several values {what}.")
        else:
            study = Study(
                self.values, metric_label(metric, self.currency), "no value yet" if self.busy() else "no value"
            )
            if view == "lines":
                plot, drawing = self.lines, self.lines.draw(ok, metric, x_axis, g_axis, study)
            elif view == "heat":
                plot, drawing = self.heat, self.heat.draw(ok, metric, x_axis, g_axis, study)
            else:
                draws = self.spec.options.draws.n if self.spec is not None else int(self.table.draw.max() + 1)
                plot, drawing = self.histograms, self.histograms.draw(ok, metric, g_axis, study, draws)
            self._show(plot.widget, drawing)
        self.drawn.emit()

    def _show(self, widget: QWidget, drawing: Drawing) -> None:
        self.legend.setText(drawing.legend)
        self.plot_data = drawing.data
        self.stack.setCurrentWidget(widget)
        self.set_hint(drawing.hint)

    def update_title(self) -> None:
        if self.is_empty() and not len(self.table):
            self.title.setText("No study yet")
            return
        name = self.spec.name if self.spec is not None else (self.meta or {}).get("name", "study")
        parts = [f"<b>{escape(name)}</b>"]
        total = len(self.spec.points) if self.spec is not None else int((self.meta or {}).get("points", 0) or 0)
        n = len(self.table)
        parts.append(f"{n:,} / {total:,} points" if total and n < total else f"{n:,} points")
        if self.varying:
            parts.append(" × ".join(escape(AXIS_INFO[a][0]) for a in self.varying))
        if len(self.table):
            counts = status_counts(self.table)
            bad = ", ".join(f"{int(c)} {s}" for s, c in counts.items() if s != "ok" and c)
            if bad:
                parts.append(f"<span style='color:#b00020'>{escape(bad)}</span>")
        if self.source:
            parts.append(f"<span style='color:#555'>{escape(self.source)}</span>")
        self.title.setText(" · ".join(parts))
        self.title.setToolTip(self.spec_problem or (self.spec.text if self.spec is not None else ""))

    def set_hint(self, text: str, sheet: str = "color: #555;") -> None:
        """The hint under the plot (its style set only when it changes: setting a style sheet re-polishes)."""
        if self._hint_style != sheet:
            self._hint_style = sheet
            self.hint.setStyleSheet(sheet)
        self.hint.setText(text)

    def hint_error(self, text: str) -> None:
        self.set_hint(f"⚠ {text}", "color: #b00020;")

    # --- the table -------------------------------------------------------------------------
    def fill_table(self, force: bool = False) -> None:
        """The Table tab shows ``self.table`` (while a study runs: only when the tab is shown).

        While a study runs the table only grows: the rows that came in are
        appended to the model (the view places them), never the whole table
        again."""
        if not force and self.busy() and self.tabs.currentWidget() is not self.table_view:
            self._table_stale = True
            return
        self._table_stale = False
        t = self.table
        first = ["point", "draw", *self.varying, "status", "message"]
        rest = [c for c in t.columns if c not in first and c != "point_id"]
        frame = t[first + rest + ["point_id"]]
        if self.model.rowCount() and self.model.shows_prefix_of(frame):
            self.model.append(frame.iloc[self.model.rowCount() :])
        else:
            self.model.set_frame(frame, table_headers(frame, self.currency), table_tips())
        self._table_frame = frame
        if len(frame) and not self._table_sized:  # once per study: the first rows decide the widths
            self._table_sized = True
            header = self.table_view.horizontalHeader()
            widths = self.model.column_widths(header.fontMetrics(), self.table_view.fontMetrics())
            for c, width in enumerate(widths):
                header.resizeSection(c, width)

    def _row_double_clicked(self, index) -> None:
        source = self.proxy.mapToSource(index)
        if source.isValid():
            self.open_row(source.row())

    # --- opening a point -----------------------------------------------------------------------
    def open_row(self, row: int) -> bool:
        """Open the point of the table's row ``row`` (in the model's order)."""
        frame = self.model.frame
        if not 0 <= row < len(frame):
            return False
        return self.open_point(str(frame.point_id.iat[row]))

    def first_ok_point(self, conditions: dict) -> str | None:
        """The id of the first ok point (by point index) with these axis values and the filters' values."""
        t = self.filtered()
        for axis, v in conditions.items():
            if axis in (None, NONE) or v is None:
                continue
            t = t[rows_at(t, axis, v)]
        if t.empty:
            return None
        return str(t.sort_values("point").point_id.iat[0])

    def open_line_point(self, group, x) -> bool:
        """Open the first ok point of the line of ``group`` at ``x`` (an axis value)."""
        pid = self.first_ok_point({self.controls.x_axis(): x, self.controls.group_axis(): group})
        if pid is None:
            self.hint_error("No ok point there")
            return False
        return self.open_point(pid)

    def open_cell(self, x, y) -> bool:
        """Open the first ok point of the heat map's cell (``x``, ``y``: axis values; ``y`` None for one row)."""
        y_axis = self.controls.group_axis()
        pid = self.first_ok_point({self.controls.x_axis(): x, (y_axis if y is not None else None): y})
        if pid is None:
            self.hint_error("No ok point in this cell")
            return False
        return self.open_point(pid)

    def heat_cell_clicked(self, i: int, j: int) -> bool:
        """Open the cell in column ``i``, row ``j`` of the heat map shown."""
        xs, ys = self.heat.axes
        if not (0 <= i < len(xs) and 0 <= j < len(ys)):
            return False
        return self.open_cell(xs[i], ys[j])
