"""A scenario study off the GUI thread: :func:`core.study.run_study` on a worker, rows streamed back.

:class:`StudyRunner` runs one study at a time on a private
:class:`QThreadPool`, in this process (``workers=0``, the default), on a Dask
``LocalCluster`` (``workers=N``) or on an existing Dask scheduler. What comes
back, always on the GUI thread through queued signals:

* ``rows(list)`` — rows as they finish (dicts of :data:`core.study.COLUMNS`),
  so that a panel plots the study while it runs;
* ``progress(done, total)`` — points done out of the study's;
* ``finished(StudyRun)`` — the whole table (also after a cancel: the rows that finished);
* ``failed(message)`` — one readable line (no traceback);
* ``busy(bool)``, ``started()``.

``cancel()`` is polled by ``run_study`` between points (in this process) or
while it waits for tasks (Dask): no more points start, finished ones are kept.
Like :class:`gui.compute.NashRunner`, a generation number drops whatever a
superseded run still delivers.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal

from gui.compute import describe_failure

log = logging.getLogger(__name__)


def run_study(spec, **kwargs):
    """The one computation the runner runs: :func:`core.study.run_study` (looked up at call time)."""
    from core import study

    return study.run_study(spec, **kwargs)


@dataclass(frozen=True, eq=False)
class StudyRequest:
    """A study to run: its spec, and where — ``workers=0`` in this process, ``workers=N`` on a new
    ``LocalCluster`` of N processes, ``scheduler="tcp://HOST:8786"`` on an existing Dask cluster."""

    spec: object  # core.study.StudySpec
    workers: int | None = 0
    scheduler: str | None = None


class _StudyRelay(QObject):
    """Lives on the GUI thread; the worker emits on it, so delivery is queued."""

    rows = Signal(int, object)  # generation, list of row dicts
    progress = Signal(int, int, int)  # generation, done, total
    done = Signal(int, object)  # generation, StudyRun
    error = Signal(int, str)  # generation, message


class _StudyJob(QRunnable):
    """One study on a pool thread."""

    def __init__(self, generation: int, request: StudyRequest, stop: threading.Event, relay: _StudyRelay):
        super().__init__()
        self.setAutoDelete(True)
        self.generation = generation
        self.request = request
        self.stop = stop
        self._relay = relay

    def _on_row(self, row: dict) -> None:
        self._relay.rows.emit(self.generation, [dict(row)])

    def _progress(self, done: int, total: int) -> None:
        self._relay.progress.emit(self.generation, int(done), int(total))

    def run(self) -> None:
        gen, req, relay = self.generation, self.request, self._relay
        try:
            result = run_study(req.spec, workers=req.workers, scheduler=req.scheduler or None,
                               progress=self._progress, cancelled=self.stop.is_set, on_row=self._on_row)
        except Exception as err:  # every failure becomes a message, none a crash
            log.debug("study failed", exc_info=True)
            relay.error.emit(gen, describe_failure(err))
            return
        relay.done.emit(gen, result)


class StudyRunner(QObject):
    """Runs :func:`core.study.run_study` on a worker when asked; never on the GUI thread (see the module)."""

    started = Signal()
    rows = Signal(object)  # list of row dicts
    progress = Signal(int, int)  # done, total
    finished = Signal(object)  # core.study.StudyRun
    failed = Signal(str)
    busy = Signal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._relay = _StudyRelay(self)
        q = Qt.ConnectionType.QueuedConnection
        self._relay.rows.connect(self._on_rows, q)
        self._relay.progress.connect(self._on_progress, q)
        self._relay.done.connect(self._on_done, q)
        self._relay.error.connect(self._on_error, q)
        self._generation = 0
        self._stop: threading.Event | None = None
        self._running: set[int] = set()
        self._busy = False
        self._closed = False
        self.last_run = None

    def start(self, request: StudyRequest) -> None:
        """Run ``request`` on the worker; a study still running is cancelled and its results dropped."""
        if self._closed:
            return
        self.cancel()
        self._generation += 1
        self._stop = threading.Event()
        self._running.add(self._generation)
        self._set_busy(True)
        self.pool.start(_StudyJob(self._generation, request, self._stop, self._relay))
        self.started.emit()

    def cancel(self) -> None:
        """Stop the running study: no new point starts; the finished rows come back with ``finished``."""
        if self._stop is not None:
            self._stop.set()

    def is_busy(self) -> bool:
        return self._busy

    def is_cancelling(self) -> bool:
        return self._busy and self._stop is not None and self._stop.is_set()

    def shutdown(self, timeout_ms: int = -1) -> bool:
        """Stop the study and wait for the worker (the window is closing)."""
        self._closed = True
        self.cancel()
        done = self.pool.waitForDone(timeout_ms)
        self._set_busy(False)
        return done

    # --- GUI-thread side -----------------------------------------------------------------
    def _current(self, gen: int) -> bool:
        return gen == self._generation and not self._closed

    def _finish(self, gen: int) -> bool:
        self._running.discard(gen)
        if not self._running:
            self._set_busy(False)
        return self._current(gen)

    def _on_rows(self, gen: int, rows: list) -> None:
        if self._current(gen):
            self.rows.emit(rows)

    def _on_progress(self, gen: int, done: int, total: int) -> None:
        if self._current(gen):
            self.progress.emit(done, total)

    def _on_done(self, gen: int, run) -> None:
        if self._finish(gen):
            self.last_run = run
            self.finished.emit(run)

    def _on_error(self, gen: int, message: str) -> None:
        if self._finish(gen):
            self.failed.emit(message)

    def _set_busy(self, on: bool) -> None:
        if on != self._busy:
            self._busy = on
            self.busy.emit(on)


__all__ = ["StudyRequest", "StudyRunner", "run_study"]
