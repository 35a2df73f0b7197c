"""The window's actions, menus and toolbar, the tour and About."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QMessageBox,
    QTextBrowser,
    QVBoxLayout,
)

from core import __version__, logs
from core.scenario.generate import BUNDLED
from gui.presenting import (
    HAVE_EXCEL,
    HAVE_SVG,
    THEMES,
)
from gui.window.constants import PROJECTS_DIR, ROOT, _tip_shortcut, _undo_tip, readme_tour


class ActionsMixin:
    """Methods of :class:`gui.main_window.MainWindow` (actions)."""

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
        self.act_import_profiles = self._action(
            "Import profiles (CSV)…",
            self.import_profiles,
            tip="Per-period demand, availability and prices of the prosumers from a CSV (wide or long)",
        )
        self.act_export_profiles = self._action(
            "Export profiles (CSV)…", self.export_profiles, tip="Write every per-period series to a CSV file"
        )
        self.act_import_pp = self._action(
            "Import pandapower network…", self.import_pandapower, tip="Open a pandapower JSON network as a new project"
        )
        self.act_import_simbench = self._action(
            "Import SimBench grid…",
            self.import_simbench,
            tip="A SimBench benchmark grid with a day of its load and generation profiles, as a new project",
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
            "&Report (PDF or HTML)…",
            self.export_report_dialog,
            "Ctrl+Shift+R",
            "Write a report of the scenario and its market for stakeholders: a PDF, or one self-contained HTML file",
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
        m.addActions([self.act_import_csv, self.act_export_csv, self.act_import_pp, self.act_import_simbench])
        m.addActions([self.act_import_profiles, self.act_export_profiles])
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

        m = self.view_menu = mb.addMenu("&View")
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
