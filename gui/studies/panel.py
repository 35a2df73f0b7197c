"""The Studies dock: the spec form and the results view, a study run in the background, its files, its points opened.

A study (:mod:`core.study`) clears the market of one base project at many
points — mechanisms, fairness rules, network models, PV penetration, demand,
bid shading, k, the reported period — each maybe for several Monte Carlo
draws. This panel builds the study from the dashboard's current project
(:func:`core.study.spec_for_scenario`: the same TOML a user would write, so it
can be saved and re-run with ``feeder-market study``), runs
:func:`core.study.run_study` on a worker (:class:`gui.workers.studies.StudyRunner`),
and shows the rows as they come in (:class:`gui.studies.results_view.ResultsView`:
lines, heat map, histograms, table).

Clicking a point of a line, a heat-map cell or double-clicking a row emits
:attr:`StudiesPanel.openPoint` with that point's scenario and settings. The
panel computes nothing: every number is a row of ``run_study``'s table,
averaged for the plot.
"""

from __future__ import annotations

import os
import time
from operator import attrgetter
from pathlib import Path

import pandas as pd
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from core.study import (
    SpecError,
    StudyError,
    StudySpec,
    build_variant,
    read_results,
    results_table,
    spec_of_results,
    status_counts,
    write_results,
)
from gui.charts import side_column
from gui.studies.files import ask_export_plot, ask_load_results, ask_report, ask_save_results, ask_save_spec
from gui.studies.form import StudyForm
from gui.studies.labels import AXIS_INFO, value_text
from gui.studies.results_view import ResultsView
from gui.studies.run_box import RunBox
from gui.workers.studies import StudyRequest, StudyRunner

REFRESH_MS = 500  # plots follow a running study this often


def _forward(path: str) -> property:
    """A read-only attribute of a part of the panel (``"form.count_label"``), where callers and tests find it."""
    return property(attrgetter(path), doc=f"``self.{path}``")


class StudiesPanel(QWidget):
    """Sweeps and Monte Carlo of the project, run off the GUI thread (~460 lines: ~50 forward its parts' widgets).

    It runs a study from start to end (the worker's rows taken in step by step), saves and loads its files and
    opens its points; the form, the run controls and the results are parts of their own.
    The window calls :meth:`set_scenario` on every change of the project,
    connects :attr:`openPoint` and calls :meth:`shutdown` when it closes.
    The form is :attr:`form` (:class:`~gui.studies.form.StudyForm`), the
    results :attr:`results` (:class:`~gui.studies.results_view.ResultsView`);
    their widgets are also reachable from the panel (``panel.count_label``,
    ``panel.view``, ``panel.lines_plot``…).
    """

    openPoint = Signal(object, object, str)  # Scenario (as declared), MarketSettings, description

    # the form's widgets
    axis_rows = _forward("form.axis_rows")
    draws_n = _forward("form.draws_n")
    mode = _forward("form.mode")
    samples = _forward("form.samples")
    seed = _forward("form.seed")
    audit = _forward("form.audit")
    count_label = _forward("form.count_label")
    problem_label = _forward("form.problem_label")
    # the run controls
    dask = _forward("run_box.dask")
    scheduler = _forward("run_box.scheduler")
    run_button = _forward("run_box.run_button")
    cancel_button = _forward("run_box.cancel_button")
    bar = _forward("run_box.bar")
    state = _forward("run_box.state")
    save_results_button = _forward("run_box.save_results_button")
    load_results_button = _forward("run_box.load_results_button")
    save_spec_button = _forward("run_box.save_spec_button")
    export_plot_button = _forward("run_box.export_plot_button")
    report_button = _forward("run_box.report_button")
    # the study shown and its view
    table = _forward("results.table")
    spec = _forward("results.spec")
    meta = _forward("results.meta")
    plot_data = _forward("results.plot_data")
    title = _forward("results.title")
    tabs = _forward("results.tabs")
    stack = _forward("results.stack")
    empty = _forward("results.empty")
    legend = _forward("results.legend")
    hint = _forward("results.hint")
    model = _forward("results.model")
    table_view = _forward("results.table_view")
    view = _forward("results.controls.view")
    metric_combo = _forward("results.controls.metric_combo")
    x_combo = _forward("results.controls.x_combo")
    group_combo = _forward("results.controls.group_combo")
    lines_plot = _forward("results.lines.widget")
    line_curves = _forward("results.lines.curves")
    heat_plot = _forward("results.heat.widget")
    hist_view = _forward("results.histograms.widget")
    hist_plots = _forward("results.histograms.plots")

    def __init__(self, runner: StudyRunner | None = None, parent=None):
        super().__init__(parent)
        self.runner = runner or StudyRunner(self)
        self.scenario = None
        self.path: Path | None = None
        self.modified = False
        self.form_spec: StudySpec | None = None  # what Run would run
        self.form_error = ""
        self.use_dask = False
        self._points: dict = {}  # the points of the study shown, by id
        self._rows: list[dict] = []
        self._dirty = False
        self._total = 0
        self._done = 0
        self._t0: float | None = None
        self._elapsed = 0.0
        self._stale = True
        self._steps: list = []  # what is left of a refresh (one step per turn of the event loop)
        self._incoming: pd.DataFrame | None = None  # the table with the rows that came in, until shown
        self._steps_s = 0.0
        self._where = ""
        self._build()
        self._connect()
        self._update_buttons()
        self.results.show_empty()

    # --- building ------------------------------------------------------------------------
    def _build(self) -> None:
        self.form = StudyForm(self)
        self.run_box = RunBox(self)

        side = QWidget(self)
        sl = QVBoxLayout(side)
        sl.setContentsMargins(0, 0, 6, 0)
        sl.setSpacing(4)
        sl.addWidget(self.form)
        sl.addWidget(self.run_box)
        sl.addStretch(1)
        self.side = side_column(side, 420)
        # the dock must fit beside the prosumers on a 1,366 px screen: the form scrolls sideways when narrow
        self.side.setMinimumWidth(260)
        self.side.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)

        self.results = ResultsView(self.runner.is_busy, self.open_point, self)
        # on a short screen the results scroll rather than push the window taller than the screen
        results_area = QScrollArea(self)
        results_area.setWidgetResizable(True)
        results_area.setFrameShape(QFrame.Shape.NoFrame)
        results_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        results_area.setWidget(self.results)
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

    def _connect(self) -> None:
        self.form.changed.connect(self._form_changed)
        self.results.drawn.connect(self._update_buttons)
        self.validate_timer.timeout.connect(self.validate_now)
        self.refresh_timer.timeout.connect(self._tick)
        self.step_timer.timeout.connect(self._run_step)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.save_results_button.clicked.connect(lambda: ask_save_results(self))
        self.load_results_button.clicked.connect(lambda: ask_load_results(self))
        self.save_spec_button.clicked.connect(lambda: ask_save_spec(self))
        self.export_plot_button.clicked.connect(lambda: ask_export_plot(self))
        self.report_button.clicked.connect(lambda: ask_report(self))
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
        horizon_changed = self.form.set_horizon(scenario)
        self.results.project_currency = scenario.currency if scenario is not None else ""
        if not self.results.currency:
            self.results.relabel_metrics()
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
        self.form.set_axes(axes)

    def set_draws(self, n: int = 1, demand_std: float = 0.0, pv_std: float = 0.0, bid_std: float = 0.0) -> None:
        self.form.set_draws(n, demand_std, pv_std, bid_std)

    def axes(self) -> dict:
        """The ``[axes]`` of the study as set up: the ticked axes and their values."""
        return self.form.axes()

    def _form_changed(self, *_args) -> None:
        self._stale = True
        if self.isVisible():
            self.validate_timer.start()

    def build_spec(self) -> StudySpec:
        """The study as set up (raises :class:`SpecError`)."""
        return self.form.spec_for(self.scenario, self.path, self.modified)

    def validate_now(self) -> StudySpec | None:
        """Validate the form: the count of points, or the reason it cannot run. Returns the spec (or None)."""
        self.validate_timer.stop()
        self._stale = False
        try:
            spec = self.build_spec()
        except SpecError as err:
            self.form_spec, self.form_error = None, self.form.spec_message(err)
        except Exception as err:  # a broken value: say so, never a traceback
            self.form_spec, self.form_error = None, f"{type(err).__name__}: {err}"
        else:
            self.form_spec, self.form_error = spec, ""
        self.form.show_count(self.form_spec, self.form_error)
        if self.form_spec is not None and not self.runner.is_busy() and self.results.is_empty():
            self.run_box.set_progress(0, len(self.form_spec.points))
        self._update_buttons()
        return self.form_spec

    # --- running -------------------------------------------------------------------------
    def run(self) -> bool:
        """Run the study as set up on the worker (never here); False when it cannot run."""
        if self.runner.is_busy():
            return False
        spec = self.validate_now()
        if spec is None:
            return False
        workers, scheduler, where = self.run_box.where()
        self._start_results(spec)
        self._total, self._done = len(spec.points), 0
        self.run_box.set_progress(0, self._total)
        self._t0 = time.monotonic()
        self._where = where
        self.run_box.say(f"Running {self._total:,} points {where}…")
        self.runner.start(StudyRequest(spec, workers=workers, scheduler=scheduler))
        self.refresh_timer.start()
        self._update_buttons()
        return True

    def cancel(self) -> None:
        if self.runner.is_busy():
            self.runner.cancel()
            self.run_box.say("Cancelling: the points running finish, no new one starts…")
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
        self._points = {p.point_id: p for p in spec.points} if spec is not None else {}
        self._rows = []
        self._dirty = False
        self._elapsed = 0.0
        self.results.show_study(spec, table, meta, source, problem)

    def _on_rows(self, rows: list) -> None:
        self._rows.extend(rows)  # taken into the table at the next refresh
        self._dirty = True

    def _absorb_rows(self) -> None:
        """Take the rows that came in into the next table (``_show_incoming`` shows it): a table of the new rows
        appended (what :func:`core.study.results_table` gives for all the rows: sorted by point, stably)."""
        rows, self._rows = self._rows, []
        base = self._incoming if self._incoming is not None else self.results.table
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
            self.results.table, self._incoming = self._incoming, None
        self.results.refresh_plot()

    def _on_progress(self, done: int, total: int) -> None:
        self._done, self._total = done, total
        self.run_box.set_progress(done, total)

    def _tick(self) -> None:
        if self._t0 is not None:
            self._elapsed = time.monotonic() - self._t0
        if self.runner.is_busy() and not self.runner.is_cancelling():
            starting = " (starting the Dask cluster…)" if not self._done and "Dask" in self._where else ""
            self.run_box.say(f"Running: {self._done:,} / {self._total:,} points · {self._elapsed:.1f} s{starting}")
        if self._dirty and not self._steps:
            self._dirty = False
            self._steps = [self._absorb_rows, self._show_incoming, self.results.fill_table]
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
        self.results.table = run.table
        self._rows = []
        self._dirty = False
        done = len(run.table)
        self._done = done
        self.run_box.set_progress(done, run.total)
        counts = status_counts(run.table)
        tally = ", ".join(f"{int(c):,} {s}" for s, c in counts.items() if c)
        if run.cancelled:
            self.run_box.say(
                f"Cancelled after {done:,} of {run.total:,} points ({run.elapsed_s:.1f} s): the finished "
                f"points are kept{' — ' + tally if tally else ''}."
            )
        else:
            self.run_box.say(f"Done: {done:,} points in {run.elapsed_s:.1f} s — {tally or 'no rows'}.")
        self.results.fill_table(force=True)
        self.results.redraw()
        self._update_buttons()

    def _on_failed(self, message: str) -> None:
        self.refresh_timer.stop()
        self._stop_steps(keep_rows=True)
        self._t0 = None
        self._dirty = False
        self._absorb_rows()  # the rows that came back are kept
        self.results.table, self._incoming = self._incoming, None
        self.results.fill_table()
        self.results.redraw()
        self.run_box.say(f"⚠ The study stopped: {message}", error=True)
        self._update_buttons()

    def _update_buttons(self) -> None:
        busy = self.runner.is_busy()
        self.run_button.setEnabled(
            not busy and self.scenario is not None and (self.form_spec is not None or self._stale)
        )
        self.cancel_button.setEnabled(busy and not self.runner.is_cancelling())
        has_rows = len(self.results.table) > 0
        self.save_results_button.setEnabled(has_rows and not busy)
        self.export_plot_button.setEnabled(len(self.results.plot_data) > 0)
        self.report_button.setEnabled(len(self.results.table) > 0 and not busy)
        self.load_results_button.setEnabled(not busy)
        self.save_spec_button.setEnabled(self.scenario is not None)

    # --- opening a point ---------------------------------------------------------------------
    def describe_point(self, point) -> str:
        spec = self.results.spec
        name = spec.name if spec is not None else "study"
        axes = self.results.varying or list(spec.swept if spec is not None else [])
        parts = [f"{AXIS_INFO[a][0]} {value_text(a, point.get(a))}" for a in axes]
        draw = f", draw {point.draw}" if spec is not None and spec.options.draws.n > 1 else ""
        return f"{name} · point {point.index}: " + ", ".join(parts) + draw

    def open_point(self, point_id: str) -> bool:
        """Emit :attr:`openPoint` with the scenario and settings of the point ``point_id``; False (and a
        message) when the study's base project is not at hand."""
        spec = self.results.spec
        if spec is None:
            self.results.hint_error(f"Cannot open this point: {self.results.spec_problem or 'the study has no spec'}")
            return False
        point = self._points.get(point_id)
        if point is None:
            self.results.hint_error("Cannot open this point: it is not a point of the study's spec")
            return False
        try:
            _truth, declared = build_variant(spec.base, point, spec.options)
            settings = point.settings(spec.options)
        except Exception as err:  # a variant the project's validation refuses: say so
            self.results.hint_error(f"Cannot open this point: {err}")
            return False
        description = self.describe_point(point)
        self.results.set_hint(f"Opened in the dashboard: {description}")
        self.openPoint.emit(declared, settings, description)
        return True

    def open_row(self, row: int) -> bool:
        """Open the point of the table's row ``row`` (in the model's order)."""
        return self.results.open_row(row)

    def heat_cell_clicked(self, i: int, j: int) -> bool:
        """Open the cell in column ``i``, row ``j`` of the heat map shown."""
        return self.results.heat_cell_clicked(i, j)

    # --- files ---------------------------------------------------------------------------------
    def save_results(self, path: str | os.PathLike) -> Path:
        """The results table: Parquet with the study's spec when the suffix is ``.parquet`` (else CSV)."""
        p = Path(path)
        table = self.results.table
        if p.suffix.lower() == ".parquet":
            return write_results(table, p, self.results.spec, metadata=self.results.meta)
        from core.files import write_atomic

        write_atomic(p, lambda fh: table.to_csv(fh, index=False))
        return p

    def export_table(self, path: str | os.PathLike) -> Path:
        """The results table as CSV (Parquet when the suffix is ``.parquet``): :meth:`save_results`."""
        return self.save_results(path)

    def write_report(self, path: str | os.PathLike, page: str = "A4") -> Path:
        """A report of the study shown — what was varied, its plot as drawn (the plot's graphics only, as
        vectors), the numbers behind it and the points' outcome, the whole results attached — as PDF or HTML by
        the name's ending (:func:`gui.report.write_document`)."""
        from PySide6.QtGui import QTextDocumentFragment

        from core.report import study_report
        from gui.figures import Figure
        from gui.report import write_document
        from gui.studies.labels import metric_label

        r = self.results

        def plain(html: str) -> str:
            return " ".join(QTextDocumentFragment.fromHtml(html).toPlainText().split())

        shown = r.stack.currentWidget()
        item = getattr(shown, "centralWidget", None)
        view = {"lines": "lines", "heat": "a heat map", "histogram": "histograms"}.get(r.controls.view_kind(), "a plot")
        metric = r.controls.chosen_metric()
        caption = f"{metric_label(metric, r.currency or r.project_currency)} as {view}"
        legend = plain(r.legend.text())
        if legend:
            caption += f" — {legend}"
        figures = {}
        if item is not None and len(r.plot_data):
            rect = item.sceneBoundingRect()
            figures["study_plot"] = Figure("study_plot", item, caption, size=(int(rect.width()), int(rect.height())))
        about = [plain(r.title.text())]
        if r.spec is not None and r.spec.text:
            about.append("The study's spec: " + " ".join(r.spec.text.split())[:600])
        report = study_report(
            r.spec.name if r.spec is not None else (r.meta or {}).get("name", "study"),
            about,
            caption,
            r.plot_data,
            r.table,
            r.currency or r.project_currency or "EUR",
        )
        return write_document(path, report, figures, page)

    def export_plot_data(self, path: str | os.PathLike) -> Path:
        """The numbers behind the plot shown, as CSV."""
        p = Path(path)
        self.results.plot_data.to_csv(p, index=False)
        return p

    def load_results(self, path: str | os.PathLike) -> bool:
        """Show a study's Parquet file (:func:`core.study.read_results`); its points can be opened when its base
        project is found as it was. False (and a message) when the file is not a study."""
        p = Path(path)
        try:
            table, meta = read_results(p)
        except StudyError as err:
            self.run_box.say(f"⚠ {err}", error=True)
            return False
        try:
            spec = spec_of_results(meta, near=p, table=table)
            problem = ""
        except StudyError as err:
            spec, problem = None, str(err)
        self._start_results(spec, table=table, meta=meta, source=f"loaded from {p.name}", problem=problem)
        self._done = len(table)
        self.run_box.set_progress(len(table), len(spec.points) if spec is not None else len(table))
        note = "" if spec is not None else f" Its points cannot be opened: {problem}."
        self.run_box.say(f"Loaded {len(table):,} points from {p.name}.{note}", error=False)
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
