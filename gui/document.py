"""The open project: a Scenario, its file, and the undo stack of every edit (the market settings' too: gui.state).

Scenarios are immutable, so an edit is simply "replace scenario A by B"; a
:class:`ScenarioEdit` remembers both, which makes every edit undoable the same
way, whatever it touched.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from core.scenario import Scenario, load_project, save_project


class ScenarioEdit(QUndoCommand):
    """Replace the document's scenario (``redo``) and put the old one back (``undo``)."""

    def __init__(self, doc: ProjectDocument, before: Scenario, after: Scenario, text: str):
        super().__init__(text)
        self._doc = doc
        self._before = before
        self._after = after

    def redo(self) -> None:
        self._doc._set(self._after)

    def undo(self) -> None:
        self._doc._set(self._before)


class ProjectDocument(QObject):
    """Holds the scenario being edited; every change goes through :meth:`apply`."""

    scenarioChanged = Signal(object)  # Scenario
    pathChanged = Signal(object)  # Path | None
    modifiedChanged = Signal(bool)

    def __init__(self, scenario: Scenario, path: Path | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self._scenario = scenario
        self._path = Path(path) if path else None
        self.undo_stack = QUndoStack(self)
        # the stack also holds the market settings' changes (gui.state), which the file does not keep: the
        # project is modified when its scenario is not the one saved (or opened), whatever the stack's index
        self._saved = scenario
        self._was_modified = False
        self.undo_stack.cleanChanged.connect(self._on_clean)

    def _on_clean(self, clean: bool) -> None:
        if clean:
            self._saved = self._scenario
        self._update_modified()

    def _update_modified(self) -> None:
        if self.modified != self._was_modified:
            self._was_modified = self.modified
            self.modifiedChanged.emit(self._was_modified)

    @property
    def scenario(self) -> Scenario:
        return self._scenario

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def modified(self) -> bool:
        return self._scenario is not self._saved

    def apply(self, after: Scenario, text: str) -> None:
        """Push an undoable edit replacing the scenario by ``after`` (already validated)."""
        if after == self._scenario:
            return
        self.undo_stack.push(ScenarioEdit(self, self._scenario, after, text))

    def edit(self, after: Scenario, text: str) -> ScenarioEdit:
        """The edit replacing the scenario by ``after``, not pushed: part of a compound edit (gui.state)."""
        return ScenarioEdit(self, self._scenario, after, text)

    def _set(self, scenario: Scenario) -> None:
        self._scenario = scenario
        self.scenarioChanged.emit(scenario)
        self._update_modified()

    def replace(self, scenario: Scenario, path: Path | None) -> None:
        """Start over on another scenario (New/Open): clears the undo history."""
        self.undo_stack.clear()
        self._path = Path(path) if path else None
        self._saved = scenario
        self._set(scenario)
        self.undo_stack.setClean()
        self._was_modified = False
        self.pathChanged.emit(self._path)
        self.modifiedChanged.emit(False)

    def open(self, path: str | Path) -> None:
        """Load ``path`` (raises ScenarioError, leaving the document as it was)."""
        scenario = load_project(path)
        self.replace(scenario, Path(path))

    def save(self, path: str | Path | None = None) -> Path:
        """Save atomically to ``path`` (or the current file) and mark clean."""
        target = Path(path) if path else self._path
        if target is None:
            raise ValueError("no file name: use Save As")
        save_project(self._scenario, target)
        self._path = target
        self._saved = self._scenario
        self.undo_stack.setClean()
        self._update_modified()
        self.pathChanged.emit(self._path)
        return target
