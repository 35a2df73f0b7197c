"""The Nash search off the GUI thread: :class:`NashRunner`, on demand, cancellable.

The search of a bidding game's pure Nash equilibrium and its existence check
(:func:`core.nash_run.run_nash`, through :func:`gui.workers.jobs.nash_job`), one
at a time, in a worker process of its own started at the first search
(``process=True``) or on a thread (``process=False``).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from core.nash_run import NashOutcome, NashRequest
from gui.workers import jobs
from gui.workers.runner import Runner


class NashRunner(Runner):
    """Runs the Nash search (then the existence check) on a worker when asked; never on the GUI thread.

    ``cancel()`` stops the running search at its next best response (the result
    comes back with ``cancelled`` set); ``cancel(drop=True)`` also drops it (the
    market it was searching has changed). Signals, always on the GUI thread:
    ``started()``, ``finished(NashOutcome)``, ``failed(message)``,
    ``progress(fraction, text)``, ``busy(bool)``.
    """

    finished = Signal(object)
    progress = Signal(float, str)

    job = staticmethod(jobs.nash_job)
    what = "Nash search"
    process_name = "feeder-market-nash"
    crashed = "the Nash search's process stopped unexpectedly ({how}); Find equilibrium starts a new one"

    def __init__(self, parent: QObject | None = None, process: bool = True):
        """``process``: search in a separate process (True) or on a thread of this one (False)."""
        super().__init__(parent, process=process)
        self.last_outcome: NashOutcome | None = None

    def start(self, request: NashRequest) -> None:
        """Search ``request``'s game on the worker; a search still running is cancelled and dropped."""
        if self._closed:
            return
        self._cancel(drop=True)
        self._launch(self._next_generation(), request)
        self.started.emit()

    def cancel(self, drop: bool = False) -> None:
        """Stop the running search at its next step; with ``drop`` its result is never shown."""
        self._cancel(drop)

    def _on_progress(self, gen: int, fraction: float, text: str) -> None:
        self.progress.emit(fraction, text)

    def _on_done(self, gen: int, outcome: NashOutcome, seconds: float) -> None:
        self.last_outcome = outcome
        self.finished.emit(outcome)


__all__ = ["NashOutcome", "NashRequest", "NashRunner"]
