"""The window's files: new, open, save, import and export, recent files, autosave and recovery."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QMessageBox,
)

from core.errors import ScenarioError
from gui.window.constants import MAX_RECENT, PROJECTS_DIR


class FilesMixin:
    """Methods of :class:`gui.main_window.MainWindow` (files)."""

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
        from core.files import remove_stale_temporaries

        remove_stale_temporaries(path)  # what a save killed mid-write left beside it (older than the file)
        self._add_recent(path)
        self.feeder.fit()
        why = self.start_where_something_happens()
        self.statusBar().showMessage(f"Opened {path} at {why}", 8000)
        return True

    def start_where_something_happens(self) -> str:
        """Move to the period where something happens (:func:`core.scenario.summary.start_period`); say which."""
        from core.scenario.summary import start_period

        t, why = start_period(self.doc.scenario, network=self.market_state.settings.network != "none")
        self.market_state.set_period(t)
        return why

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

    def import_profiles(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import profiles", str(Path.home()), "CSV files (*.csv)")
        if path:
            self.import_profiles_path(Path(path))

    def import_profiles_path(self, path: Path) -> bool:
        """The per-period series of a CSV (core.scenario.timeseries) onto the project, as one undoable edit; what
        did not match (ids, the horizon) is said in a message."""
        from core.scenario.timeseries import import_profiles_csv

        try:
            new, report = import_profiles_csv(path, self.doc.scenario)
        except ScenarioError as err:
            self.error("Cannot import profiles", err)
            return False
        self.doc.apply(new, f"Import profiles from {path.name}")
        self.statusBar().showMessage(f"Imported {report.series} profiles from {path}", 5000)
        if report.unknown_ids or report.missing_ids or report.horizon_changed:
            lines = report.lines()
            box = QMessageBox(QMessageBox.Icon.Information, "Imported profiles", lines[0], parent=self)
            box.setInformativeText("\n".join(f"• {line}" for line in lines[1:]))
            if QApplication.platformName() == "offscreen":
                box.setModal(False)
                box.show()
                QTimer.singleShot(0, box.close)  # never block an unattended run
            else:
                box.exec()
        return True

    def export_profiles(self) -> None:
        from core.scenario.timeseries import export_profiles_csv

        path, _ = QFileDialog.getSaveFileName(
            self, "Export profiles", str(Path.home() / "profiles.csv"), "CSV files (*.csv)"
        )
        if path:
            try:
                export_profiles_csv(self.doc.scenario, path)
            except OSError as err:
                self.error("Cannot export profiles", f"{path}: {err.strerror or err}")

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

    def import_simbench(self) -> None:
        """File ▸ Import SimBench grid…: a radial SimBench code, a day of 2016 and a step, as a new project."""
        if not self.maybe_save():
            return
        from core.scenario.simbench_io import INSTALL_HINT, simbench_installed

        if not simbench_installed():
            self.error("SimBench is not installed", INSTALL_HINT)
            return
        from gui.simbench_dialog import SimbenchDialog

        dialog = SimbenchDialog(self)
        if dialog.exec() != SimbenchDialog.DialogCode.Accepted:
            return
        self.import_simbench_grid(*dialog.choice())

    def import_simbench_grid(self, code: str, day, step: str = "1h") -> bool:
        """Import SimBench's ``code`` with the profiles of ``day`` (a new project, off the GUI thread)."""
        from gui.simbench_dialog import run_import

        try:
            scenario, warnings = run_import(self, code, day, step)
        except ScenarioError as err:
            self.error("Cannot import SimBench grid", err)
            return False
        self.doc.replace(scenario, None)
        self.feeder.fit()
        self.statusBar().showMessage(
            f"Imported SimBench {code} on {day.isoformat()}: {len(scenario.prosumers)} prosumers, "
            f"{scenario.periods} periods ({len(warnings)} notes)",
            8000,
        )
        if warnings and QApplication.platformName() != "offscreen":
            QMessageBox.information(self, "Imported with notes", "\n".join(f"• {w}" for w in warnings))
        return True

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
        from core.files import remove_stale_temporaries

        remove_stale_temporaries(self.recovery_path())  # an autosave killed mid-write
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
