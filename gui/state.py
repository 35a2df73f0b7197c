"""The window's market state: which market it shows (the settings and the period); the controls and panels observe it.

The scenario lives in :class:`gui.document.ProjectDocument`; what is computed *from* it lives here. A change of
settings (mechanism, network model, fairness rule, k, outside option, diagnostics) is an undoable command on the
document's undo stack, so Undo walks back through edits of the feeder and choices of the market alike, in the
order they were made; moving through the periods is navigation, not an edit (the slider is not undone). Which
settings combine is core's rule (:class:`core.market.MarketSettings` refuses the rest, with the reasons of
:func:`core.market.network_refusal` and :func:`core.market.fairness_refusal`, which the controls also follow).
"""

from __future__ import annotations

from dataclasses import fields, replace

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from core.market import FAIRNESS_LABELS, MECHANISM_LABELS, NETWORK_LABELS, MarketSettings

_FIELD_WORDS = {
    "mechanism": ("Mechanism", MECHANISM_LABELS),
    "network": ("Network model", NETWORK_LABELS),
    "fairness": ("Fairness rule", FAIRNESS_LABELS),
    "k": ("k", None),
    "grid": ("Outside option", {None: "automatic", "tariffs": "tariffs", "wholesale": "wholesale price"}),
    "audit": ("Audit", {True: "on", False: "off"}),
    "tatonnement": ("Price iteration", {True: "on", False: "off"}),
    "compare": ("Mechanism comparison", {True: "on", False: "off"}),
    "fairness_transfers": ("Fairness transfers", {True: "on", False: "off"}),
    "lexicographic": ("Lexicographic max-min", {True: "on", False: "off"}),
}
_SETTINGS_EDIT_ID = 0x5E77  # QUndoCommand.id(): consecutive changes of the same one field merge


def describe_change(before: MarketSettings, after: MarketSettings) -> str:
    """The undo text of a change of settings, in the dashboard's words ("Mechanism: VCG", "k: 0.3")."""
    parts = []
    for f in fields(MarketSettings):
        if f.name == "period":
            continue
        old, new = getattr(before, f.name), getattr(after, f.name)
        if old == new:
            continue
        name, words = _FIELD_WORDS.get(f.name, (f.name.replace("_", " ").capitalize(), None))
        shown = words.get(new, new) if words is not None else (f"{new:g}" if isinstance(new, float) else new)
        parts.append(f"{name}: {shown}")
    return "; ".join(parts) or "Market settings"


def _changed_fields(before: MarketSettings, after: MarketSettings) -> frozenset[str]:
    return frozenset(f.name for f in fields(MarketSettings) if getattr(before, f.name) != getattr(after, f.name))


class SettingsEdit(QUndoCommand):
    """Replace the market settings (``redo``) and put the old ones back (``undo``); turning k in steps merges."""

    def __init__(self, state: MarketState, before: MarketSettings, after: MarketSettings):
        super().__init__(describe_change(before, after))
        self._state, self._before, self._after = state, before, after
        self._fields = _changed_fields(before, after)

    def id(self) -> int:
        return _SETTINGS_EDIT_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SettingsEdit) or other._fields != self._fields or self._fields != {"k"}:
            return False
        self._after = other._after
        self.setText(describe_change(self._before, self._after))
        return True

    def redo(self) -> None:
        self._state._set(self._after)

    def undo(self) -> None:
        self._state._set(self._before)


class MarketState(QObject):
    """The settings of the market on screen (``period`` kept apart: see the module text)."""

    settingsChanged = Signal(object)  # MarketSettings, with the period
    periodChanged = Signal(int)

    def __init__(self, undo_stack: QUndoStack, settings: MarketSettings | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.undo_stack = undo_stack
        base = settings or MarketSettings()
        self._settings = replace(base, period=None)
        self._period = base.period or 0

    @property
    def settings(self) -> MarketSettings:
        """The settings with the current period: what :func:`core.market.clear_stages` is asked."""
        return replace(self._settings, period=self._period)

    @property
    def period(self) -> int:
        return self._period

    def request(self, settings: MarketSettings) -> None:
        """The user chose ``settings`` (its period moves the period, not undoably); an undoable edit when any other
        field changed."""
        if settings.period is not None and settings.period != self._period:
            self.set_period(settings.period)
        after = replace(settings, period=None)
        if after != self._settings:
            self.undo_stack.push(SettingsEdit(self, self._settings, after))

    def edit(self, settings: MarketSettings) -> SettingsEdit:
        """An edit to ``settings`` *with its period*, not pushed: part of a :class:`CompoundEdit` (opening a study's
        point, whose undo also puts the period back)."""
        return SettingsEdit(self, self.settings, settings)

    def adopt(self, settings: MarketSettings) -> None:
        """Take ``settings`` without an undo step or a signal (the controls reset their defaults for a project of
        another size: part of opening it, not a choice)."""
        self._settings = replace(settings, period=None)

    def set_period(self, period: int) -> None:
        if period == self._period:
            return
        self._period = int(period)
        self.periodChanged.emit(self._period)
        self.settingsChanged.emit(self.settings)

    def _set(self, settings: MarketSettings) -> None:
        self._settings = replace(settings, period=None)
        if settings.period is not None and settings.period != self._period:
            self._period = settings.period
            self.periodChanged.emit(self._period)
        self.settingsChanged.emit(self.settings)


class CompoundEdit(QUndoCommand):
    """Several edits undone and redone as one; ``on_undo`` is called after they are undone.

    The edits are plain commands this one calls (not Qt children: a child command made in Python would be owned
    twice, by its wrapper and by its parent, and deleted twice)."""

    def __init__(self, text: str, edits: list[QUndoCommand], on_undo=None):
        super().__init__(text)
        self._edits = list(edits)
        self._on_undo = on_undo

    def redo(self) -> None:
        for edit in self._edits:
            edit.redo()

    def undo(self) -> None:
        for edit in reversed(self._edits):
            edit.undo()
        if self._on_undo is not None:
            self._on_undo()
