"""The main window: the feeder in the middle, editors and the inspector in docks."""

from __future__ import annotations

import contextlib
import html
import logging
import time
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDesktopServices, QFont, QIcon, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QTabBar,
    QTextBrowser,
    QUndoView,
    QVBoxLayout,
)

from core import __version__, logs
from core.errors import ScenarioError
from core.market import MECHANISM_LABELS
from core.scenario import Scenario
from core.scenario.generate import BUNDLED, DEFAULT_PROJECT
from core.scenario.summary import counts
from gui.compare_panel import ComparePanel
from gui.document import ProjectDocument
from gui.fairness_panel import FairnessPanel
from gui.feeder_view import FeederView
from gui.market_controls import MarketControls
from gui.market_panels import AgentResultsPanel, CurvesPanel, DayPricesPanel, PriceIterationPanel, PropertiesPanel
from gui.nash_panel import NashPanel
from gui.network_panels import DLMPPanel
from gui.panels import Inspector, ProsumerEditor, ScenarioForm, bus_table, line_table
from gui.power_panels import MarketPowerPanel
from gui.presenting import (
    HAVE_EXCEL,
    HAVE_SVG,
    THEMES,
    apply_theme,
    png_bytes,
    save_png,
    save_svg,
    scale_plot_fonts,
    write_csv_folder,
    write_excel,
)
from gui.studies import StudiesPanel
from gui.workers.market import MarketRunner
from gui.workers.nash import NashRunner

ROOT = Path(__file__).resolve().parent.parent
PROJECTS_DIR = ROOT / "projects"
RESOURCES_DIR = ROOT / "resources"
MAX_RECENT = 8
log = logging.getLogger(__name__)
BOTTOM_DOCKS_PX = 280  # the height of the bottom docks (prosumers, the market's tables and panels) at first
AUTOSAVE_MS = 60_000  # a modified project is written to the recovery file this often
PRESENTATION_FONT_SCALE = 1.4
LAYOUT_VERSION = 2  # saved dock layouts of another version are not restored (2: Compare mechanisms)
EDITING_DOCKS = ("prosumers", "lines", "buses", "scenario", "history")  # hidden in presentation mode
# the report's figures: caption → panel key (the DLMP only when the result has a network)
REPORT_PANELS = {
    "The feeder": "feeder",
    "Supply and demand": "curves",
    "Distribution locational marginal prices": "dlmp",
    "Compare mechanisms": "compare",
    "Mechanism properties": "properties",
    "Fairness": "fairness",
    "Market power": "market_power",
}


PANEL_BUDGET_MS = 15  # big projects: panels filled per turn of the event loop until this much time went by
PROGRESSIVE_ABOVE = 20_000  # prosumers × periods above which the panels are filled in turns


def default_project_path() -> Path:
    return PROJECTS_DIR / DEFAULT_PROJECT


def load_default_scenario() -> tuple[Scenario, Path | None]:
    """The bundled default project (generated in memory if the file is not installed)."""
    path = default_project_path()
    if path.exists():
        from core.scenario import load_project

        return load_project(path), path
    return BUNDLED[DEFAULT_PROJECT](), None


def app_icon() -> QIcon:
    return QIcon(str(RESOURCES_DIR / "icons" / "feeder-market.svg"))


class MainWindow(QMainWindow):
    """Feeder Market's window. ``doc`` holds the scenario; panels follow its changes."""

    def __init__(
        self,
        scenario: Scenario | None = None,
        path: Path | None = None,
        settings: QSettings | None = None,
        process: bool = True,
    ):
        """``process``: clear the market in a separate process (the application) or on a thread (tests)."""
        super().__init__()
        self._wanted_size: tuple[int, int] | None = None
        self.settings = settings or QSettings()
        if scenario is None:
            scenario, path = load_default_scenario()
        self.doc = ProjectDocument(scenario, path, self)
        self.setWindowIcon(app_icon())

        self.feeder = FeederView(self)
        self.feeder.setToolTip("")
        self.setCentralWidget(self.feeder)

        self.prosumers = ProsumerEditor(self.doc)
        self.lines_table = line_table(self.doc)
        self.buses_table = bus_table(self.doc)
        self.inspector = Inspector()
        self.scenario_form = ScenarioForm(self.doc)
        self.undo_view = QUndoView(self.doc.undo_stack)
        self.undo_view.setEmptyLabel("Opened project")

        # the market: controls, a runner that clears off the GUI thread, panels that show its result
        self.runner = MarketRunner(self, process=process)
        self._panel_steps: dict = {}  # panel → how to show it the newest result (big projects: drawn in turns)
        self.progressive_panels: bool | None = None  # None: in turns on big projects only
        self._panel_timer = QTimer(self)
        self._panel_timer.setSingleShot(True)
        self._panel_timer.setInterval(0)
        self._panel_timer.timeout.connect(self._drain_panel_steps)
        self.market_controls = MarketControls()
        self.curves = CurvesPanel()
        self.properties = PropertiesPanel()
        self.compare = ComparePanel()
        self.compare.mechanism_chosen.connect(self._show_mechanism)
        self.agent_results = AgentResultsPanel()
        self.iteration = PriceIterationPanel()
        self.day_prices = DayPricesPanel()
        self.dlmp = DLMPPanel()
        self.fairness = FairnessPanel()
        self.market_power = MarketPowerPanel()
        self.nash_runner = NashRunner(self, process=process)
        self.nash = NashPanel(self.nash_runner)
        self.studies = StudiesPanel()
        self.market_panels = [
            self.curves,
            self.compare,
            self.properties,
            self.agent_results,
            self.iteration,
            self.fairness,
            self.market_power,
        ]
        # views of the whole result that follow the period slider without a new clearing
        self.period_views = [self.day_prices, self.dlmp, self.feeder, self.inspector]
        self.market_result = None

        self.docks: dict[str, QDockWidget] = {}
        bottom, right, left = (
            Qt.DockWidgetArea.BottomDockWidgetArea,
            Qt.DockWidgetArea.RightDockWidgetArea,
            Qt.DockWidgetArea.LeftDockWidgetArea,
        )
        # bottom: the editors (left half) beside the market's tables (right half)
        self._dock("prosumers", "Prosumers", self.prosumers, bottom)
        self._dock("compare", "Compare mechanisms", self.compare, bottom)
        self.splitDockWidget(self.docks["prosumers"], self.docks["compare"], Qt.Orientation.Horizontal)
        self._dock("properties", "Mechanism properties", self.properties, bottom)
        self.tabifyDockWidget(self.docks["compare"], self.docks["properties"])
        self._dock("lines", "Lines", self.lines_table, bottom)
        self._dock("buses", "Buses", self.buses_table, bottom)
        self.tabifyDockWidget(self.docks["prosumers"], self.docks["lines"])
        self.tabifyDockWidget(self.docks["lines"], self.docks["buses"])
        self.docks["prosumers"].raise_()
        self._dock("agents", "Agent results", self.agent_results, bottom)
        self.tabifyDockWidget(self.docks["properties"], self.docks["agents"])
        self._dock("dlmp", "DLMP", self.dlmp, bottom)
        self.tabifyDockWidget(self.docks["agents"], self.docks["dlmp"])
        self._dock("fairness", "Fairness", self.fairness, bottom)
        self.tabifyDockWidget(self.docks["dlmp"], self.docks["fairness"])
        self._dock("market_power", "Market power", self.market_power, bottom)
        self.tabifyDockWidget(self.docks["fairness"], self.docks["market_power"])
        self._dock("nash", "Nash equilibrium", self.nash, bottom)
        self.tabifyDockWidget(self.docks["market_power"], self.docks["nash"])
        self._dock("studies", "Studies", self.studies, bottom)
        self.tabifyDockWidget(self.docks["nash"], self.docks["studies"])
        self.docks["compare"].raise_()
        # right: what is selected, and the scenario itself
        self._dock("inspector", "Inspector", self.inspector, right)
        self._dock("scenario", "Scenario", self.scenario_form, right)
        self._dock("history", "Edit history", self.undo_view, right)
        self.tabifyDockWidget(self.docks["scenario"], self.docks["history"])
        self.docks["scenario"].raise_()
        # left: what to compute, and the market's plots
        self._dock("market", "Market", self.market_controls, left)
        self._dock("curves", "Supply and demand", self.curves, left)
        self._dock("day_prices", "Prices over the day", self.day_prices, left)
        self._dock("iteration", "Price iteration", self.iteration, left)
        self.tabifyDockWidget(self.docks["curves"], self.docks["day_prices"])
        self.tabifyDockWidget(self.docks["day_prices"], self.docks["iteration"])
        self.docks["curves"].raise_()
        self.resizeDocks([self.docks["inspector"], self.docks["scenario"]], [520, 260], Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["market"], self.docks["curves"]], [230, 540], Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["inspector"], self.docks["curves"]], [340, 430], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["prosumers"], self.docks["compare"]], [700, 700], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["prosumers"]], [BOTTOM_DOCKS_PX], Qt.Orientation.Vertical)

        self._tab_bar_check = QTimer(self)
        self._tab_bar_check.setSingleShot(True)
        self._tab_bar_check.setInterval(0)
        self._tab_bar_check.timeout.connect(self._hide_stale_tab_bars)

        self.counts_label = QLabel(self)
        self.statusBar().addPermanentWidget(self.counts_label)

        self._build_actions()
        self._build_menus()

        # data flow: document -> views; views -> selection sync
        self.doc.scenarioChanged.connect(self._on_scenario)
        self.doc.pathChanged.connect(lambda _p: self._update_title())
        self.doc.modifiedChanged.connect(lambda _m: self._update_title())
        self.doc.pathChanged.connect(lambda p: self.studies.set_scenario(self.doc.scenario, p, self.doc.modified))
        self.doc.modifiedChanged.connect(lambda m: self.studies.set_scenario(self.doc.scenario, self.doc.path, m))
        self.studies.openPoint.connect(self.open_study_point)
        self.doc.undo_stack.indexChanged.connect(self._on_undo_index)
        self.feeder.busSelected.connect(self._on_bus_selected)
        self.feeder.lineSelected.connect(self._on_line_selected)
        self.prosumers.rowPicked.connect(self._on_prosumer_picked)
        self.lines_table.rowPicked.connect(lambda ln: ln is not None and self._on_line_picked(ln.id))
        self.buses_table.rowPicked.connect(lambda b: b is not None and self._select_bus(b.id, center=True))
        for table in (self.prosumers, self.lines_table, self.buses_table):
            table.model.problem.connect(self._show_problem)
        self.scenario_form.problem.connect(self._show_problem)
        self.market_controls.settingsChanged.connect(lambda _settings: self.recompute())
        self.market_controls.periodChanged.connect(self._show_period)
        self.market_controls.networkChanged.connect(self._on_network_chosen)
        self.market_controls.notice.connect(lambda text: self.statusBar().showMessage(text, 10000))
        self.dlmp.busPicked.connect(lambda bus: self._select_bus(bus, center=True))
        self.runner.preview.connect(self._on_market_preview)
        self.runner.finished.connect(self._on_market_result)
        self.runner.failed.connect(self._on_market_failure)
        self.runner.busy.connect(self.market_controls.set_busy)
        self.runner.progress.connect(self.market_controls.set_progress)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.runner.shutdown)
            app.aboutToQuit.connect(self.nash_runner.shutdown)
            app.aboutToQuit.connect(self.studies.shutdown)

        self._on_scenario(self.doc.scenario)
        self._update_title()
        self._initial_size()
        self._default_state = self.saveState()
        self._restore_layout()

        # presenting: the state to go back to after presentation mode; the theme; the last report
        self._presentation: tuple | None = None
        self._light_palette = QPalette(QApplication.palette())
        self.last_report: Path | None = None
        self.set_theme(str(self.settings.value("view/theme", "light")))

        # autosave: a modified project goes to the recovery file every minute; a clean one removes it
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        # a recovery file left by an earlier run stays until the user restores or drops it
        self._recovery_settled = not self.recovery_available()
        self.doc.modifiedChanged.connect(self._on_modified_for_recovery)
        if not self._recovery_settled and QApplication.platformName() != "offscreen":
            QTimer.singleShot(0, self._offer_recovery)

    def _initial_size(self) -> None:
        """1400×880, or 90 % of a smaller screen."""
        w, h = 1400, 880
        screen = QApplication.primaryScreen()
        if screen is not None:
            avail = screen.availableGeometry()
            w, h = min(w, int(avail.width() * 0.9)), min(h, int(avail.height() * 0.9))
        self._wanted_size = (max(w, 800), max(h, 560))
        super().resize(*self._wanted_size)

    # --- construction -------------------------------------------------------------
    def _dock(self, key: str, title: str, widget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{key}")
        dock.setWidget(widget)
        dock.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        dock.customContextMenuRequested.connect(lambda pos, k=key: self._panel_menu(k, dock.mapToGlobal(pos)))
        self.addDockWidget(area, dock)
        self.docks[key] = dock
        return dock

    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        if tip:
            act.setStatusTip(tip)
            act.setToolTip(tip)
        _tip_shortcut(act)
        act.triggered.connect(slot)
        return act

    def _build_actions(self) -> None:
        K = QKeySequence.StandardKey
        self.act_new = self._action("&New", self.new_project, K.New, "Start an empty feeder")
        self.act_open = self._action("&Open…", self.open_dialog, K.Open, "Open a project file")
        self.act_save = self._action("&Save", self.save, K.Save, "Save the project")
        self.act_save_as = self._action("Save &As…", self.save_as, K.SaveAs, "Save the project under a new name")
        self.act_import_csv = self._action(
            "Import prosumers from CSV…", self.import_csv, tip="Replace the prosumers by those of a CSV file"
        )
        self.act_export_csv = self._action(
            "Export prosumers to CSV…", self.export_csv, tip="Write the prosumers to a CSV file"
        )
        self.act_import_pp = self._action(
            "Import pandapower network…", self.import_pandapower, tip="Open a pandapower JSON network as a new project"
        )
        self.act_quit = self._action("&Quit", self.close, K.Quit, "Quit Feeder Market")
        self.act_undo = self.doc.undo_stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcut(QKeySequence(K.Undo))
        self.act_redo = self.doc.undo_stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcut(QKeySequence(K.Redo))
        self.act_add = self._action(
            "Add prosumer", self.prosumers.add_prosumer, "Ctrl+Shift+A", "Add a prosumer at the selected bus"
        )
        self.act_remove = self._action(
            "Remove prosumer", self.prosumers.remove_selected, None, "Remove the selected prosumers"
        )
        self.act_remove.setShortcut(QKeySequence(K.Delete))
        self.act_remove.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.prosumers.addAction(self.act_remove)
        self.act_add_bus = self._action(
            "Add bus below selected",
            self.add_bus,
            "Ctrl+Shift+B",
            "Hang a new bus (and its line) below the selected bus",
        )
        self.act_remove_bus = self._action(
            "Remove selected bus",
            self.remove_bus,
            None,
            "Remove the selected end-of-feeder bus, its line and its prosumers",
        )
        self.act_fit = self._action("&Fit feeder to window", self.feeder.fit, "F", "Show the whole feeder")
        self.act_fit.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.feeder.addAction(self.act_fit)
        self.act_about = self._action("&About Feeder Market", self.about)
        for act, label in ((self.act_undo, "Undo"), (self.act_redo, "Redo")):
            # the toolbar says just "Undo": "Undo Open study point (…)" widened the window past the screen;
            # the menu and the tooltip keep the whole text
            act.setIconText(label)
            act.changed.connect(lambda act=act: _undo_tip(act))
            _undo_tip(act)

        # exporting
        self.act_export_png = self._action(
            "Current panel as &PNG…",
            lambda: self.export_panel_dialog("png"),
            "Ctrl+Shift+P",
            "Save the panel with the keyboard focus as a PNG picture",
        )
        self.act_export_svg = self._action(
            "Current panel as &SVG…",
            lambda: self.export_panel_dialog("svg"),
            None,
            "Save the panel with the keyboard focus as an SVG drawing",
        )
        if not HAVE_SVG:
            self.act_export_svg.setEnabled(False)
            self.act_export_svg.setToolTip("SVG export needs PySide6's QtSvg module, missing here")
        self.act_export_results_csv = self._action(
            "Results as &CSV…",
            self.export_results_csv_dialog,
            tip="Write the result's tables (agents, agent periods, periods, mechanisms…) as CSV files into a folder",
        )
        self.act_export_excel = self._action(
            "Results as &Excel…",
            self.export_excel_dialog,
            tip="Write the result's tables as the sheets of one workbook",
        )
        if not HAVE_EXCEL:
            self.act_export_excel.setEnabled(False)
            self.act_export_excel.setToolTip("Excel export needs the openpyxl package (pip install openpyxl)")
        self.act_export_report = self._action(
            "&Report (HTML)…",
            self.export_report_dialog,
            "Ctrl+Shift+R",
            "Write a self-contained HTML report of the scenario and its market",
        )
        self.act_open_report = self._action(
            "Open &last report", self.open_last_report, None, "Open the last HTML report written, in the browser"
        )
        self.act_open_report.setEnabled(False)

        # presenting
        self.act_presentation = self._action(
            "&Presentation mode",
            self.toggle_presentation,
            "F5",
            "Full screen, larger fonts, the editors hidden (Esc leaves)",
        )
        self.act_presentation.setCheckable(True)
        self.act_leave_presentation = self._action("Leave presentation mode", self.leave_presentation, "Esc")
        self.act_leave_presentation.setEnabled(False)
        self.addAction(self.act_leave_presentation)
        self.theme_group = QActionGroup(self)
        self.act_themes: dict[str, QAction] = {}
        for theme in THEMES:
            act = QAction(theme.capitalize(), self, checkable=True)
            act.setStatusTip(f"The {theme} colour theme")
            act.triggered.connect(lambda _c=False, t=theme: self.set_theme(t))
            self.theme_group.addAction(act)
            self.act_themes[theme] = act
        self.act_default_layout = self._action(
            "Restore &default layout",
            self.restore_default_layout,
            None,
            "Put every panel back where it was at the first start",
        )
        self.act_tour = self._action("&Tour", self.show_tour, "F1", "A short tour of the dashboard (from the README)")

    def _build_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addActions([self.act_new, self.act_open])
        self.recent_menu = m.addMenu("Open &Recent")
        self.bundled_menu = m.addMenu("Open &Bundled Project")
        for name in BUNDLED:
            self.bundled_menu.addAction(name, lambda n=name: self.open_path(PROJECTS_DIR / n))
        m.addSeparator()
        m.addActions([self.act_save, self.act_save_as])
        m.addSeparator()
        m.addActions([self.act_import_csv, self.act_export_csv, self.act_import_pp])
        m.addSeparator()
        ex = m.addMenu("&Export")
        ex.addActions([self.act_export_png, self.act_export_svg])
        ex.addSeparator()
        ex.addActions([self.act_export_results_csv, self.act_export_excel])
        ex.addSeparator()
        ex.addActions([self.act_export_report, self.act_open_report])
        m.addSeparator()
        m.addAction(self.act_quit)
        self._refresh_recent()

        m = mb.addMenu("&Edit")
        m.addActions([self.act_undo, self.act_redo])
        m.addSeparator()
        m.addActions([self.act_add, self.act_remove])
        m.addSeparator()
        m.addActions([self.act_add_bus, self.act_remove_bus])

        m = mb.addMenu("&View")
        m.addAction(self.act_fit)
        m.addAction(self.act_presentation)
        themes = m.addMenu("&Theme")
        themes.addActions(list(self.act_themes.values()))
        m.addAction(self.act_default_layout)
        m.addSeparator()
        for dock in self.docks.values():
            m.addAction(dock.toggleViewAction())

        m = mb.addMenu("&Help")
        m.addAction(self.act_tour)
        m.addAction(self.act_about)

        tb = self.toolbar = self.addToolBar("Main")
        tb.setObjectName("toolbar_main")
        tb.addActions([self.act_new, self.act_open, self.act_save])
        tb.addSeparator()
        tb.addActions([self.act_undo, self.act_redo])
        tb.addSeparator()
        tb.addActions([self.act_add_bus, self.act_add, self.act_fit])

    # --- reacting to the document ------------------------------------------------------
    def _on_scenario(self, s: Scenario) -> None:
        self.feeder.set_scenario(s)
        self.inspector.set_scenario(s)
        self.day_prices.set_voltage_limit(s.feeder.v_min_pu)
        c = counts(s)
        self.counts_label.setText(
            f"{c['buses']} buses · {c['lines']} lines · {c['prosumers']} prosumers · {s.periods} "
            f"period{'s' if s.periods != 1 else ''}"
        )
        self.market_controls.set_scenario(s)
        self.studies.set_scenario(s, self.doc.path, self.doc.modified)
        self.recompute()

    # --- the market ------------------------------------------------------------------------
    def recompute(self) -> None:
        """Ask for the market of the current scenario and controls (cleared on a worker, never here)."""
        try:
            settings = self.market_controls.settings()
        except ValueError as err:
            self._on_market_failure(str(err))
            return
        self.runner.request(self.doc.scenario, settings)

    def open_study_point(self, scenario, settings, description: str) -> None:
        """Show a study's point in the dashboard: its scenario as an undoable edit (Undo goes back to the
        project), the market controls set to its mechanism, rule, network, k and period."""
        before = (self.doc.undo_stack.index(), self.market_controls.settings())
        self.doc.apply(scenario, f"Open study point ({description})")
        self._before_study_point = before
        self._set_market_controls(settings)
        self.statusBar().showMessage(f"Opened {description} — Undo (Ctrl+Z) goes back to the project", 15000)
        for key in ("curves", "agents"):
            self.docks[key].raise_()
        self.recompute()

    def _set_market_controls(self, settings) -> None:
        c = self.market_controls
        c.set_mechanism(settings.mechanism)
        c.set_network(settings.network)
        c.set_fairness(settings.fairness)
        c.set_grid(settings.grid)
        c.k.setValue(settings.k)
        if settings.period is not None:
            c.period.setValue(settings.period)

    def _on_undo_index(self, index: int) -> None:
        """Undoing "Open study point" also puts back the market settings the project had before it."""
        before = getattr(self, "_before_study_point", None)
        if before is not None and index == before[0]:
            self._before_study_point = None
            self._set_market_controls(before[1])
            self.statusBar().showMessage("Back to the project and its market settings", 8000)

    def _on_market_preview(self, result) -> None:
        """The market before (some of) its diagnostics: every panel that has its data now shows it; the panels
        waiting for a diagnostic (``result.pending``) keep the last result, greyed, until it comes."""
        waiting = self._waiting_panels(result)
        if self.runner.preview_index and self.market_result is not None:
            # the same request, one diagnostic more: only the panels it completes are drawn
            ready = [p for p in self._waiting_panels(self.market_result) if p not in waiting]
            self._show_result(result, ready, with_period_views=False)
            for panel in ready:
                self._set_updating(panel, False)
        else:
            self._show_result(result, [p for p in self.market_panels if p not in waiting], with_period_views=True)
        for panel in waiting:
            self._set_updating(panel, True)

    def _on_market_result(self, result) -> None:
        """The complete result; after a preview of the same request only the panels that waited are redrawn."""
        if self.runner.follows_preview and self.market_result is not None and self.market_result.pending:
            panels = [p for p in self.market_panels if p in self._waiting_panels(self.market_result)]
            self._show_result(result, panels, with_period_views=False)
        else:
            self._show_result(result, self.market_panels, with_period_views=True)
        for panel in self.market_panels:
            self._set_updating(panel, False)
        self.market_controls.set_solved(self.runner.last_seconds)
        caveat = result.summary.get("solver_warning")
        if caveat:  # an optimum the solver itself called inaccurate: said, not hidden (core.numerics)
            self.statusBar().showMessage(f"⚠ {caveat.splitlines()[0]}", 20000)
            log.warning("market result with a solver warning: %s", caveat)

    def _waiting_panels(self, result) -> list:
        """The panels whose numbers come from a diagnostic still pending in ``result``."""
        needs = {d: panel for panel in self.market_panels for d in getattr(panel, "NEEDS", ())}  # each panel says
        return list(dict.fromkeys(needs[d] for d in result.pending if d in needs))

    @staticmethod
    def _set_updating(panel, on: bool) -> None:
        """Grey a panel whose numbers belong to the last result while the new one's diagnostics come
        (the Market dock says what is being computed)."""
        if panel.isEnabled() == on:
            panel.setEnabled(not on)
            panel.setToolTip("Updating: computing this panel for the new result…" if on else "")

    def _show_result(self, result, panels, with_period_views: bool) -> None:
        """Hand ``result`` to ``panels`` (and the views that follow the period). On a big project
        (``PROGRESSIVE_ABOVE`` prosumer-periods) each panel is filled in its own turn of the event loop, a few per
        ``PANEL_BUDGET_MS``, so that the window keeps answering while thousands of rows are drawn."""
        self.market_result = result
        scenario = self.doc.scenario
        steps: dict = {panel: (lambda panel=panel: panel.set_result(result)) for panel in panels}
        if with_period_views:
            steps[self.nash] = lambda: self.nash.set_market(scenario, result)

            def at_period(view):
                period = self.market_controls.period.value()  # read when drawn: the slider may have moved
                view.set_result(result, period if 0 <= period < len(result.periods) else result.period)

            steps.update({view: (lambda view=view: at_period(view)) for view in self.period_views})
        if not self._progressive(scenario):
            for step in steps.values():
                step()
            return
        self._panel_steps.update(steps)  # a newer result's step for a panel replaces an older one
        self._panel_timer.start()

    def _progressive(self, scenario) -> bool:
        if self.progressive_panels is not None:
            return self.progressive_panels
        return len(scenario.prosumers) * scenario.periods > PROGRESSIVE_ABOVE

    def _drain_panel_steps(self) -> None:
        start = time.perf_counter()
        while self._panel_steps and (time.perf_counter() - start) * 1000 < PANEL_BUDGET_MS:
            panel = next(iter(self._panel_steps))
            self._panel_steps.pop(panel)()
        if self._panel_steps:
            self._panel_timer.start()

    def panels_settled(self) -> bool:
        """Whether every panel shows the last result handed out (nothing left to draw)."""
        return not self._panel_steps

    def _show_period(self, period: int) -> None:
        """The period slider moved: views of the whole result follow at once (the clearing comes after)."""
        if self.market_result is not None and 0 <= period < len(self.market_result.periods):
            for view in self.period_views:
                view.set_period(period)

    def _show_mechanism(self, mechanism: str) -> None:
        """A row of Compare mechanisms was clicked: the dashboard shows that mechanism (on the copper plate,
        where the auctions clear)."""
        c = self.market_controls
        if mechanism == c.settings().mechanism:
            return
        if mechanism != "welfare":
            c.set_network("none")
            c.set_fairness("efficiency")
        c.set_mechanism(mechanism)
        self.statusBar().showMessage(f"Showing the {MECHANISM_LABELS.get(mechanism, mechanism).lower()}", 6000)

    def _on_network_chosen(self, network: str) -> None:
        """A network model was chosen: bring its DLMPs forward."""
        if network != "none":
            self.docks["dlmp"].show()
            self.docks["dlmp"].raise_()

    def _on_market_failure(self, message: str) -> None:
        """Say why in the status bar and the controls; the panels keep the last result."""
        self.statusBar().showMessage(f"⚠ Market not cleared: {message}", 15000)
        self.market_controls.set_failed(message)

    def _update_title(self) -> None:
        name = self.doc.path.name if self.doc.path else "untitled"
        self.setWindowTitle(f"{name}[*] — {self.doc.scenario.name} — Feeder Market")
        self.setWindowModified(self.doc.modified)

    def _show_problem(self, reason: str) -> None:
        if reason:
            self.statusBar().showMessage(f"⚠ {reason}", 15000)
        else:
            self.statusBar().clearMessage()

    # --- selection sync ------------------------------------------------------------------
    def _select_bus(self, bus: str | None, center: bool = False) -> None:
        self.feeder.select_bus(bus, center=center)
        self.inspector.show_bus(bus)
        self.dlmp.set_selected_bus(bus)

    def _on_bus_selected(self, bus: str | None) -> None:
        self.dlmp.set_selected_bus(bus)
        if bus is None:
            if self.feeder.selected_line() is None:
                self.inspector.show_bus(None)
            return
        self.inspector.show_bus(bus)
        self.prosumers.set_bus(bus)

    def _on_line_selected(self, line: str | None) -> None:
        self.inspector.show_line(line)

    def _on_line_picked(self, line_id: str) -> None:
        item = self.feeder.lines.get(line_id)
        if item is not None:
            self.feeder.scene().clearSelection()
            item.setSelected(True)

    def _on_prosumer_picked(self, p) -> None:
        if p is not None:
            self.prosumers.current_bus = p.bus
            self._select_bus(p.bus, center=True)

    # --- feeder edits -----------------------------------------------------------------------
    def add_bus(self) -> None:
        from core.scenario.edit import adding_bus

        s = self.doc.scenario
        parent = self.feeder.selected_bus() or s.feeder.substation.bus
        new, bus_id = adding_bus(s, parent)
        self.doc.apply(new, f"Add bus {bus_id} below {parent}")
        self._select_bus(bus_id, center=True)

    def remove_bus(self) -> None:
        from core.scenario.edit import removing_bus

        bus = self.feeder.selected_bus()
        if bus is None:
            self.statusBar().showMessage("Select a bus on the feeder first", 5000)
            return
        try:
            new = removing_bus(self.doc.scenario, bus)
        except ScenarioError as err:
            self._show_problem(err.problems[0].message)
            return
        self.doc.apply(new, f"Remove bus {bus}")

    # --- files -------------------------------------------------------------------------------
    def ask_save_changes(self) -> QMessageBox.StandardButton:
        """Ask what to do with unsaved changes (tests replace this)."""
        name = self.doc.path.name if self.doc.path else "the untitled project"
        return QMessageBox.question(
            self,
            "Unsaved changes",
            f"Save the changes to {name} before closing it?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )

    def maybe_save(self) -> bool:
        """True when it is fine to drop the current project (saved, discarded, or unchanged)."""
        if not self.doc.modified:
            return True
        answer = self.ask_save_changes()
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def new_project(self) -> None:
        if not self.maybe_save():
            return
        from core.scenario.edit import empty_scenario

        self.doc.replace(empty_scenario(), None)
        self.statusBar().showMessage("New project: add buses and lines in the Buses and Lines tables", 8000)

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        start = str(self.doc.path.parent if self.doc.path else PROJECTS_DIR)
        path, _ = QFileDialog.getOpenFileName(self, "Open project", start, "Feeder Market projects (*.json)")
        if path:
            self.open_path(Path(path), ask=False)

    def open_path(self, path: Path, ask: bool = True) -> bool:
        """Open a project file; on a bad file show why and keep the current project."""
        if ask and not self.maybe_save():
            return False
        try:
            self.doc.open(path)
        except ScenarioError as err:
            self.error("Cannot open project", err)
            return False
        self._add_recent(path)
        self.feeder.fit()
        self.statusBar().showMessage(f"Opened {path}", 5000)
        return True

    def save(self) -> bool:
        if self.doc.path is None:
            return self.save_as()
        return self._save_to(self.doc.path)

    def save_as(self) -> bool:
        start = str(self.doc.path or (Path.home() / "feeder-project.json"))
        path, _ = QFileDialog.getSaveFileName(self, "Save project as", start, "Feeder Market projects (*.json)")
        if not path:
            return False
        if not path.endswith(".json"):
            path += ".json"
        return self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        try:
            self.doc.save(path)
        except OSError as err:
            self.error("Cannot save project", f"{path}: {err.strerror or err}")
            return False
        self._add_recent(path)
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def import_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import prosumers", str(Path.home()), "CSV files (*.csv)")
        if path:
            self.import_csv_path(Path(path))

    def import_csv_path(self, path: Path) -> bool:
        from core.scenario.importers import import_prosumers_csv

        try:
            new = import_prosumers_csv(path, self.doc.scenario)
        except ScenarioError as err:
            self.error("Cannot import prosumers", err)
            return False
        self.doc.apply(new, f"Import prosumers from {path.name}")
        self.statusBar().showMessage(f"Imported {len(new.prosumers)} prosumers from {path}", 5000)
        return True

    def export_csv(self) -> None:
        from core.scenario.importers import export_prosumers_csv

        path, _ = QFileDialog.getSaveFileName(
            self, "Export prosumers", str(Path.home() / "prosumers.csv"), "CSV files (*.csv)"
        )
        if path:
            try:
                export_prosumers_csv(self.doc.scenario, path)
            except OSError as err:
                self.error("Cannot export prosumers", f"{path}: {err.strerror or err}")

    def import_pandapower(self) -> None:
        if not self.maybe_save():
            return
        path, _ = QFileDialog.getOpenFileName(
            self, "Import pandapower network", str(Path.home()), "pandapower JSON (*.json)"
        )
        if not path:
            return
        from core.scenario.importers import import_pandapower

        try:
            scenario, warnings = import_pandapower(path)
        except ScenarioError as err:
            self.error("Cannot import network", err)
            return
        self.doc.replace(scenario, None)
        self.feeder.fit()
        if warnings:
            QMessageBox.information(self, "Imported with notes", "\n".join(f"• {w}" for w in warnings))

    def error(self, title: str, err) -> None:
        """Show a readable error (never a traceback) and keep the current state."""
        text = err.report() if isinstance(err, ScenarioError) else str(err)
        self.statusBar().showMessage(f"⚠ {str(err).splitlines()[0]}", 15000)
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        if QApplication.platformName() == "offscreen":
            box.setModal(False)
            box.show()
            QTimer.singleShot(0, box.close)  # never block an unattended run
        else:
            box.exec()

    # --- recent files and window layout (QSettings) -------------------------------------
    def recent_files(self) -> list[str]:
        value = self.settings.value("recentFiles", [])
        if isinstance(value, str):
            value = [value]
        return [v for v in (value or []) if v]

    def _add_recent(self, path: Path) -> None:
        p = str(Path(path).resolve())
        files = [p] + [f for f in self.recent_files() if f != p]
        self.settings.setValue("recentFiles", files[:MAX_RECENT])
        self.settings.setValue("lastProject", p)
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for f in files:
            self.recent_menu.addAction(f, lambda f=f: self.open_path(Path(f)))
        self.recent_menu.setEnabled(bool(files))

    def resize(self, *size) -> None:
        """Resize; before the first show, also the size the window will be given once shown."""
        super().resize(*size)
        if self._wanted_size is not None and not self.isVisible():
            self._wanted_size = (size[0].width(), size[0].height()) if len(size) == 1 else (int(size[0]), int(size[1]))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        # before the first show the docks are narrow, their wrapped labels tall, and the window's minimum
        # height with them: the size asked for in _initial_size may have been enlarged. Ask again.
        wanted, self._wanted_size = self._wanted_size, None
        if wanted is not None and self.size().toTuple() != wanted:
            self.resize(*wanted)
            self.resizeDocks([self.docks["market"], self.docks["curves"]], [230, 540], Qt.Orientation.Vertical)
            self.resizeDocks([self.docks["prosumers"]], [BOTTOM_DOCKS_PX], Qt.Orientation.Vertical)

    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if isinstance(geometry, QByteArray):
            self._wanted_size = None  # the user's own size wins
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.restoreState(state, LAYOUT_VERSION)  # a layout saved by an older version (other docks) is not used

    def event(self, e) -> bool:
        if e.type() in (QEvent.Type.LayoutRequest, QEvent.Type.Show):
            self._tab_bar_check.start()
        return super().event(e)

    def _hide_stale_tab_bars(self) -> None:
        """Hide the dock tab bars Qt leaves behind.

        Qt 6 (seen with 6.11) keeps a copy of a dock group's tab bar from an earlier
        layout pass (tabifying before the window is shown, restoreState) visible at
        its old place, where it peeks out between docks. A live tab bar sits right
        under the dock whose tab is current; any other is stale.
        """
        docks = {d.windowTitle(): d for d in self.findChildren(QDockWidget)}
        for bar in self.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly):
            if not bar.isVisible():
                continue
            dock = docks.get(bar.tabText(bar.currentIndex()))
            g = bar.geometry()
            d = dock.geometry() if dock is not None else None
            live = (
                dock is not None
                and dock.isVisible()
                and not dock.isFloating()
                and abs(g.left() - d.left()) <= 1
                and abs(g.width() - d.width()) <= 1
                and (abs(g.top() - d.bottom() - 1) <= 1 or abs(d.top() - g.bottom() - 1) <= 1)
            )
            if not live:
                bar.hide()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.maybe_save():
            event.ignore()
            return
        if self._presentation is not None:
            self.leave_presentation()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(LAYOUT_VERSION))
        self.autosave_timer.stop()
        self.discard_recovery()
        self.runner.shutdown()
        self.nash_runner.shutdown()
        self.studies.shutdown()
        event.accept()

    def about(self) -> None:
        QMessageBox.about(
            self,
            "About Feeder Market",
            f"<h3>Feeder Market {__version__}</h3>"
            "<p>A dashboard for peer-to-peer and transactive energy markets on radial distribution feeders: "
            "draw a feeder and its prosumers, choose a clearing mechanism or a fairness rule, and see "
            "prices, flows and market power.</p>"
            + (
                f"<p>Log file (attach it to a report of a failure):<br><code>{html.escape(str(logs.log_file()))}</code>"
                "</p>"
                if logs.log_file() is not None
                else ""
            ),
        )

    # --- exporting -------------------------------------------------------------------------------
    def panel_widget(self, key: str):
        """The widget of panel ``key`` ("feeder" or a dock's key)."""
        return self.feeder if key == "feeder" else self.docks[key].widget()

    def current_panel(self) -> str:
        """The panel holding the keyboard focus (the feeder when none does)."""
        w = QApplication.focusWidget()
        while w is not None:
            if w is self.feeder:
                return "feeder"
            for key, dock in self.docks.items():
                if w is dock:
                    return key
            w = w.parentWidget()
        return "feeder"

    def _panel_title(self, key: str) -> str:
        return "Feeder" if key == "feeder" else self.docks[key].windowTitle()

    def _panel_menu(self, key: str, global_pos) -> None:
        menu = QMenu(self)
        menu.addAction("Export PNG…", lambda: self.export_panel_dialog("png", key))
        svg = menu.addAction("Export SVG…", lambda: self.export_panel_dialog("svg", key))
        svg.setEnabled(HAVE_SVG)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(global_pos)

    def export_panel(self, key: str, path: str | Path) -> Path:
        """Write panel ``key`` to ``path``: PNG or SVG by the file's suffix."""
        p = Path(path)
        widget = self.panel_widget(key)
        if p.suffix.lower() == ".svg":
            return save_svg(widget, p, self._panel_title(key))
        return save_png(widget, p if p.suffix else p.with_suffix(".png"))

    def _export_dir(self) -> Path:
        d = self.settings.value("export/dir")
        return Path(d) if d and Path(d).is_dir() else Path.home()

    def _remember_dir(self, path: Path) -> None:
        self.settings.setValue("export/dir", str(path if path.is_dir() else path.parent))

    def export_panel_dialog(self, fmt: str, key: str | None = None) -> None:
        key = key or self.current_panel()
        name = self._panel_title(key).lower().replace(" ", "-")
        filt = "PNG pictures (*.png)" if fmt == "png" else "SVG drawings (*.svg)"
        path, _ = QFileDialog.getSaveFileName(
            self, f"Export {self._panel_title(key)} as {fmt.upper()}", str(self._export_dir() / f"{name}.{fmt}"), filt
        )
        if not path:
            return
        p = Path(path) if path.lower().endswith(f".{fmt}") else Path(f"{path}.{fmt}")
        try:
            self.export_panel(key, p)
        except OSError as err:
            self.error("Cannot export the panel", f"{p}: {err.strerror or err}")
            return
        self._remember_dir(p)
        self.statusBar().showMessage(f"Exported {self._panel_title(key)} to {p}", 8000)

    def _need_result(self) -> bool:
        if self.market_result is None:
            self.statusBar().showMessage("⚠ No market result yet: wait for the market to clear", 8000)
            return False
        return True

    def export_results_csv(self, folder: str | Path) -> list[Path]:
        """The current result's tables as CSV files in ``folder``."""
        return write_csv_folder(self.market_result, folder)

    def export_results_csv_dialog(self) -> None:
        if not self._need_result():
            return
        folder = QFileDialog.getExistingDirectory(self, "Export the results into a folder", str(self._export_dir()))
        if not folder:
            return
        try:
            files = self.export_results_csv(folder)
        except OSError as err:
            self.error("Cannot export the results", f"{folder}: {err.strerror or err}")
            return
        self._remember_dir(Path(folder))
        self.statusBar().showMessage(f"Wrote {', '.join(f.name for f in files)} to {folder}", 8000)

    def export_excel_dialog(self) -> None:
        if not self._need_result():
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the results as Excel", str(self._export_dir() / "results.xlsx"), "Excel workbooks (*.xlsx)"
        )
        if not path:
            return
        p = Path(path) if path.endswith(".xlsx") else Path(f"{path}.xlsx")
        try:
            write_excel(self.market_result, p)
        except OSError as err:
            self.error("Cannot export the results", f"{p}: {err.strerror or err}")
            return
        self._remember_dir(p)
        self.statusBar().showMessage(f"Wrote {p}", 8000)

    def report_figures(self) -> dict[str, bytes]:
        """The main panels as PNG bytes, caption → bytes (each tab brought forward while it is drawn)."""
        result = self.market_result
        front = [d for d in self.docks.values() if d.isVisible() and not d.visibleRegion().isEmpty()]
        figures = {}
        for caption, key in REPORT_PANELS.items():
            if key == "dlmp" and (result is None or result.buses is None):
                continue
            if key != "feeder":
                dock = self.docks[key]
                if dock.isHidden():
                    continue
                dock.raise_()
                QApplication.processEvents()
            figures[caption] = png_bytes(self.panel_widget(key))
        for dock in front:
            dock.raise_()
        return figures

    def export_report(self, path: str | Path) -> Path:
        """Write the HTML report of the scenario and its current result to ``path``."""
        from core.report import write_report

        if self.market_result is None:
            raise OSError("no market result yet")
        p = write_report(Path(path), self.doc.scenario, self.market_result, self.report_figures())
        with contextlib.suppress(OSError):
            p.chmod(0o644)  # written through a private temporary file: readable like any document
        self.last_report = p
        self.act_open_report.setEnabled(True)
        self.statusBar().showMessage(f"Wrote the report {p} (File ▸ Export ▸ Open last report)", 10000)
        return p

    def export_report_dialog(self) -> None:
        if not self._need_result():
            return
        stem = (self.doc.path.stem if self.doc.path else "feeder-market") + "-report.html"
        path, _ = QFileDialog.getSaveFileName(
            self, "Write the HTML report", str(self._export_dir() / stem), "HTML files (*.html)"
        )
        if not path:
            return
        p = Path(path) if path.endswith((".html", ".htm")) else Path(f"{path}.html")
        try:
            self.export_report(p)
        except OSError as err:
            self.error("Cannot write the report", f"{p}: {err.strerror or err}")
            return
        self._remember_dir(p)

    def open_last_report(self) -> None:
        if self.last_report is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.last_report)))

    # --- presenting ------------------------------------------------------------------------------
    def in_presentation(self) -> bool:
        return self._presentation is not None

    def toggle_presentation(self) -> None:
        if self._presentation is None:
            self.enter_presentation()
        else:
            self.leave_presentation()

    def enter_presentation(self) -> None:
        """Full screen, fonts ×1.4, the editing docks and the toolbar hidden."""
        if self._presentation is not None:
            return
        app = QApplication.instance()
        font = QFont(app.font())
        self._presentation = (self.saveState(), font, self.windowState(), self.geometry())
        for key in EDITING_DOCKS:
            self.docks[key].hide()
        self.toolbar.hide()
        big = QFont(font)
        if font.pointSizeF() > 0:
            big.setPointSizeF(font.pointSizeF() * PRESENTATION_FONT_SCALE)
        else:
            big.setPixelSize(round(font.pixelSize() * PRESENTATION_FONT_SCALE))
        app.setFont(big)
        scale_plot_fonts(self, PRESENTATION_FONT_SCALE)
        self.showFullScreen()
        self.act_presentation.setChecked(True)
        self.act_leave_presentation.setEnabled(True)
        self.statusBar().showMessage("Presentation mode: Esc or F5 leaves", 5000)

    def leave_presentation(self) -> None:
        """Back to the layout, window state and font from before."""
        if self._presentation is None:
            return
        state, font, window_state, geometry = self._presentation
        self._presentation = None
        QApplication.instance().setFont(font)
        scale_plot_fonts(self, None)
        QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)  # the small fonts' minimum sizes, now
        self.setWindowState(window_state)
        if self.isVisible():
            if window_state & Qt.WindowState.WindowMaximized:
                self.showMaximized()
            else:
                self.showNormal()
        self.restoreState(state)

        def settle() -> None:  # once the smaller fonts reached every widget (posted events), the old size fits
            if self._presentation is None:
                QApplication.sendPostedEvents()
                if not self.windowState() & Qt.WindowState.WindowMaximized:
                    self.setGeometry(geometry)
                self.restoreState(state)

        QTimer.singleShot(0, settle)
        self.act_presentation.setChecked(False)
        self.act_leave_presentation.setEnabled(False)
        self.statusBar().clearMessage()

    def theme(self) -> str:
        return self._theme

    def set_theme(self, theme: str) -> None:
        """The light or dark theme (remembered)."""
        theme = theme if theme in THEMES else "light"
        previous, self._theme = getattr(self, "_theme", "light"), theme
        app = QApplication.instance()
        if app is not None:
            apply_theme(app, self, theme, self._light_palette, restyle_plots=theme == "dark" or previous != theme)
        self.feeder.set_dark(theme == "dark")
        self.act_themes[theme].setChecked(True)
        self.settings.setValue("view/theme", theme)

    def restore_default_layout(self) -> None:
        if self._presentation is not None:
            self.leave_presentation()
        self.restoreState(self._default_state)
        for dock in self.docks.values():
            dock.show()
        for key in ("prosumers", "compare", "scenario", "curves"):
            self.docks[key].raise_()
        self.toolbar.show()

    # --- autosave and recovery ------------------------------------------------------------------
    def recovery_path(self) -> Path:
        """Where a modified project is autosaved: beside the settings file."""
        return Path(self.settings.fileName()).resolve().parent / "recovery" / "recovered-project.json"

    def autosave(self) -> Path | None:
        """Save a modified project to the recovery file (atomically); the file written, or None."""
        if not self.doc.modified:
            return None
        from core.scenario import save_project

        p = self.recovery_path()
        try:
            save_project(self.doc.scenario, p)
        except (OSError, ValueError) as err:
            self.statusBar().showMessage(f"⚠ Autosave failed: {err}", 8000)
            return None
        self.settings.setValue("recovery/path", str(self.doc.path) if self.doc.path else "")
        return p

    def _on_modified_for_recovery(self, modified: bool) -> None:
        """Saved, reopened or undone back to the file: nothing left to recover."""
        if not modified and self._recovery_settled:
            self.discard_recovery()

    def recovery_available(self) -> bool:
        return self.recovery_path().is_file()

    def discard_recovery(self) -> None:
        self._recovery_settled = True
        p = self.recovery_path()
        if p.is_file():
            p.unlink()
        self.settings.remove("recovery/path")

    def restore_recovery(self) -> bool:
        """Open the autosaved project as an unsaved edit of its file (undo goes back to the file's state)."""
        from core.scenario import load_project

        self._recovery_settled = True
        p = self.recovery_path()
        try:
            recovered = load_project(p)
        except (ScenarioError, OSError) as err:
            self.error("Cannot restore the autosaved project", err)
            return False
        original = self.settings.value("recovery/path", "") or ""
        path = Path(original) if original else None
        base = self.doc.scenario
        if path is not None and path.is_file():
            try:
                base = load_project(path)
            except ScenarioError:
                path = None
        self.doc.replace(base, path)
        self.doc.apply(recovered, "Restore autosaved changes")
        self.autosave()  # the recovery file stays until the user saves or closes cleanly
        self.statusBar().showMessage("Restored the autosaved project: save it to keep it", 8000)
        return True

    def _offer_recovery(self) -> None:
        answer = QMessageBox.question(
            self,
            "Restore autosaved project?",
            "Feeder Market was closed with unsaved changes, which were autosaved. Restore them?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Discard,
            QMessageBox.StandardButton.Yes,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.restore_recovery()
        else:
            self.discard_recovery()

    # --- help -------------------------------------------------------------------------------------
    def show_tour(self) -> QDialog:
        """The README's tour in a small window."""
        dlg = QDialog(self)
        dlg.setWindowTitle("A short tour of Feeder Market")
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        browser = QTextBrowser(dlg)
        browser.setOpenExternalLinks(True)
        browser.setSearchPaths([str(ROOT)])
        browser.setMarkdown(readme_tour())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dlg)
        buttons.rejected.connect(dlg.close)
        lay = QVBoxLayout(dlg)
        lay.addWidget(browser)
        lay.addWidget(buttons)
        dlg.resize(760, 640)
        dlg.show()
        self.tour_dialog = dlg
        return dlg


def readme_tour() -> str:
    """The README's "A short tour" section (markdown), or a pointer when the README is not installed."""
    readme = ROOT / "README.md"
    try:
        text = readme.read_text(encoding="utf-8")
    except OSError:
        return "The tour is in the README of Feeder Market."
    lines, inside = [], False
    for line in text.splitlines():
        if line.startswith("## "):
            if inside:
                break
            inside = "tour" in line.lower()
        if inside:
            lines.append(line)
    return "\n".join(lines) or text


def _undo_tip(act: QAction) -> None:
    """Undo/Redo: the tooltip names the edit and the shortcut (the toolbar button only says Undo/Redo)."""
    try:
        keys = act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        tip = act.text().replace("&", "") + (f" ({keys})" if keys else "")
        if act.toolTip() != tip:
            act.setToolTip(tip)
    except RuntimeError:  # the window is being torn down: its actions go first
        pass


def _tip_shortcut(act: QAction) -> None:
    """Name the action's shortcut in its tooltip."""
    keys = act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    if keys:
        tip = act.toolTip() or act.text().replace("&", "").rstrip("…")
        if keys not in tip:
            act.setToolTip(f"{tip} ({keys})")
