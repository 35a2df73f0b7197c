"""The main window: the feeder in the middle, editors and the inspector in docks."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QTabBar,
    QUndoView,
)

from core.scenario import Scenario
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
from gui.state import MarketState
from gui.studies import StudiesPanel
from gui.window.actions import ActionsMixin
from gui.window.constants import (  # noqa: F401 - re-exported
    AUTOSAVE_MS,
    BOTTOM_DOCKS_PX,
    LAYOUT_VERSION,
    app_icon,
    default_project_path,
    load_default_scenario,
)
from gui.window.exports import ExportsMixin
from gui.window.files import FilesMixin
from gui.window.presentation import PresentationMixin
from gui.window.results import ResultsMixin
from gui.window.workspaces import BY_KEY, WorkspacesMixin
from gui.workers.market import MarketRunner
from gui.workers.nash import NashRunner


class MainWindow(ActionsMixin, ResultsMixin, FilesMixin, ExportsMixin, PresentationMixin, WorkspacesMixin, QMainWindow):
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
        # which market is shown: the controls ask, the state decides (undoably) and everything follows it
        self.market_state = MarketState(self.doc.undo_stack, self.market_controls.settings(), self)
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
        # every dock, in the area it usually lives in; the workspace (gui.window.workspaces) arranges and shows them
        for key, title, widget, area in (
            ("prosumers", "Prosumers", self.prosumers, bottom),
            ("lines", "Lines", self.lines_table, bottom),
            ("buses", "Buses", self.buses_table, bottom),
            ("compare", "Compare mechanisms", self.compare, bottom),
            ("properties", "Mechanism properties", self.properties, bottom),
            ("agents", "Agent results", self.agent_results, bottom),
            ("dlmp", "DLMP", self.dlmp, bottom),
            ("fairness", "Fairness", self.fairness, bottom),
            ("market_power", "Market power", self.market_power, bottom),
            ("nash", "Nash equilibrium", self.nash, bottom),
            ("studies", "Studies", self.studies, bottom),
            ("inspector", "Inspector", self.inspector, right),
            ("scenario", "Scenario", self.scenario_form, right),
            ("history", "Edit history", self.undo_view, right),
            ("market", "Market", self.market_controls, left),
            ("curves", "Supply and demand", self.curves, left),
            ("day_prices", "Prices over the day", self.day_prices, left),
            ("iteration", "Price iteration", self.iteration, left),
        ):
            self._dock(key, title, widget, area)

        self._tab_bar_check = QTimer(self)
        self._tab_bar_check.setSingleShot(True)
        self._tab_bar_check.setInterval(0)
        self._tab_bar_check.timeout.connect(self._hide_stale_tab_bars)

        self.counts_label = QLabel(self)
        self.statusBar().addPermanentWidget(self.counts_label)

        self._build_actions()
        self._build_menus()
        self._build_workspaces()

        # data flow: document -> views; views -> selection sync
        self.doc.scenarioChanged.connect(self._on_scenario)
        self.doc.pathChanged.connect(lambda _p: self._update_title())
        self.doc.modifiedChanged.connect(lambda _m: self._update_title())
        self.doc.pathChanged.connect(lambda p: self.studies.set_scenario(self.doc.scenario, p, self.doc.modified))
        self.doc.modifiedChanged.connect(lambda m: self.studies.set_scenario(self.doc.scenario, self.doc.path, m))
        self.studies.openPoint.connect(self.open_study_point)
        self.feeder.busSelected.connect(self._on_bus_selected)
        self.feeder.lineSelected.connect(self._on_line_selected)
        self.prosumers.rowPicked.connect(self._on_prosumer_picked)
        self.lines_table.rowPicked.connect(lambda ln: ln is not None and self._on_line_picked(ln.id))
        self.buses_table.rowPicked.connect(lambda b: b is not None and self._select_bus(b.id, center=True))
        for table in (self.prosumers, self.lines_table, self.buses_table):
            table.model.problem.connect(self._show_problem)
        self.scenario_form.problem.connect(self._show_problem)
        self.market_controls.settingsChanged.connect(self.market_state.request)
        self.market_state.settingsChanged.connect(self._on_settings)
        self.market_state.periodChanged.connect(self._show_period)
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
        self.statusBar().showMessage(f"Showing {self.start_where_something_happens()}", 10000)
        self._update_title()
        self._initial_size()
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
        """The first start fills the available screen (maximised once shown, unless a test runs offscreen)."""
        w, h = 1400, 880
        screen = QApplication.primaryScreen()
        if screen is not None:
            avail = screen.availableGeometry()
            w, h = avail.width(), avail.height()
        self._wanted_size = (max(w, 800), max(h, 560))
        self._maximise_at_first_show = QApplication.platformName() not in ("offscreen", "minimal")
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

    # --- reacting to the document ------------------------------------------------------
    def _on_scenario(self, s: Scenario) -> None:
        self.feeder.set_scenario(s)
        self.inspector.set_scenario(s)
        self.dlmp.set_feeder(s.feeder)
        self.day_prices.set_voltage_limit(s.feeder.v_min_pu)
        c = counts(s)
        self.counts_label.setText(
            f"{c['buses']} buses · {c['lines']} lines · {c['prosumers']} prosumers · {s.periods} "
            f"period{'s' if s.periods != 1 else ''}"
        )
        self.market_controls.set_scenario(s)
        self.clear_stale_warning()
        self.market_state.adopt(self.market_controls.settings())  # a project of another size: other defaults
        if self.market_state.period >= s.periods:  # a shorter horizon (an undone 96-period import): its last period
            self.market_state.set_period(s.periods - 1)
        self.studies.set_scenario(s, self.doc.path, self.doc.modified)
        self.recompute()

    def _update_title(self) -> None:
        name = self.doc.path.name if self.doc.path else "untitled"
        self.setWindowTitle(f"{name}[*] — {self.doc.scenario.name} — Feeder Market")
        self.setWindowModified(self.doc.modified)

    def _show_problem(self, reason: str) -> None:
        if reason:
            self.statusBar().showMessage(f"⚠ {reason}", 15000)
        else:
            self.statusBar().clearMessage()

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
        if wanted is not None and self._maximise_at_first_show:
            self._maximise_at_first_show = False
            self.setWindowState(self.windowState() | Qt.WindowState.WindowMaximized)
            QTimer.singleShot(100, self._size_fresh_workspace)  # once the window manager maximised it
        elif wanted is not None:
            if self.size().toTuple() != wanted:
                self.resize(*wanted)
            self._size_fresh_workspace()

    def _size_fresh_workspace(self) -> None:
        """The docks were sized for the window as built: size them for the window as shown (unless the user's
        own arrangement of this workspace was restored)."""
        if self._presentation is None and self.settings.value(f"workspace/{self.workspace}") is None:
            self._size_workspace(BY_KEY[self.workspace])

    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if isinstance(geometry, QByteArray):
            self._wanted_size = None  # the user's own size wins
            self._maximise_at_first_show = False
            self.restoreGeometry(geometry)
        del state
        self._restore_workspace()  # a layout saved by an older version (other docks) is not used

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

    def stop_on_signal(self, name: str = "SIGTERM") -> None:
        """Ctrl+C in the terminal (SIGINT) or SIGTERM: unsaved edits go to the recovery file (offered at the next
        start), the window closes without asking, the worker processes end with it."""
        self._stopping = name
        if self.doc.modified:
            self.autosave()
        self.close()
        QApplication.quit()

    def closeEvent(self, event: QCloseEvent) -> None:
        stopping = getattr(self, "_stopping", None)
        if not stopping and not self.maybe_save():
            event.ignore()
            return
        if self._presentation is not None:
            self.leave_presentation()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self._remember_workspace()
        self.autosave_timer.stop()
        if not stopping or not self.doc.modified:
            self.discard_recovery()  # stopped by a signal with edits: the recovery file keeps them
        self.runner.shutdown()
        self.nash_runner.shutdown()
        self.studies.shutdown()
        event.accept()
