"""A scenario study off the GUI thread: :class:`StudyRunner`, rows streamed back, one shared worker process.

:class:`StudyRunner` runs one study at a time (:func:`gui.workers.jobs.study_job`).
What comes back, always on the GUI thread through queued signals:

* ``rows(list)`` — rows as they finish (dicts of :data:`core.study.COLUMNS`),
  so that a panel plots the study while it runs;
* ``progress(done, total)`` — points done out of the study's;
* ``finished(StudyRun)`` — the whole table (also after a cancel: the rows that finished);
* ``failed(message)`` — one readable line (no traceback);
* ``busy(bool)``, ``started()``.

Where it runs:

* **in this computer** (``workers=0``, the default): in a worker *process*. One
  process serves every runner of the application (:func:`study_process`), is
  started at the first study and kept for the next ones (its solver caches
  stay warm), and ends with the application. A process that dies fails its
  study with a message — the rows that came back are kept — and the next study
  starts a new one;
* **on Dask** (``workers=N`` for a new ``LocalCluster``, or
  ``scheduler="tcp://HOST:8786"``): the points already run in Dask's worker
  processes; only the client loop runs here, on a thread.

``cancel()`` is polled by ``run_study`` between points: no more points start,
finished ones are kept.
"""

from __future__ import annotations

import atexit
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, QObject, Signal

from gui.workers import jobs
from gui.workers.process import WorkerProcess
from gui.workers.runner import Runner

PROCESS_JOIN_S = 1.0  # closing: how long a study in hand may take to stop before the process is terminated
CRASHED = (
    "the study's worker process stopped unexpectedly ({how}); the finished points are kept, "
    "and Run starts a new process"
)


@dataclass(frozen=True, eq=False)
class StudyRequest:
    """A study to run: its spec, and where — ``workers=0`` in a worker process of this computer, ``workers=N``
    on a new ``LocalCluster`` of N processes, ``scheduler="tcp://HOST:8786"`` on an existing Dask cluster."""

    spec: object  # core.study.StudySpec
    workers: int | None = 0
    scheduler: str | None = None

    @property
    def in_process(self) -> bool:
        """Whether it runs in the worker process (not on Dask)."""
        return self.workers == 0 and not self.scheduler


_PROCESS: WorkerProcess | None = None
_QUIT_HOOKED = False


def study_process(start: bool = True) -> WorkerProcess | None:
    """The application's study worker process: the one running, else a new one (``start``; else None).

    Called on the GUI thread only. The process ends with the application
    (``aboutToQuit``, and at exit) or with :func:`close_study_process`.
    """
    global _PROCESS, _QUIT_HOOKED
    if _PROCESS is not None and not _PROCESS.alive:
        _PROCESS.close(0.2)
        _PROCESS = None
    if _PROCESS is None and start:
        _PROCESS = WorkerProcess("feeder-market-study", CRASHED)
        app = QCoreApplication.instance()
        if app is not None and not _QUIT_HOOKED:
            app.aboutToQuit.connect(close_study_process)
            _QUIT_HOOKED = True
    return _PROCESS


def close_study_process() -> None:
    """Stop the study worker process (a study in hand stops at its next point)."""
    global _PROCESS
    proc, _PROCESS = _PROCESS, None
    if proc is not None:
        proc.close(PROCESS_JOIN_S)


atexit.register(close_study_process)


class StudyRunner(Runner):
    """Runs :func:`core.study.run_study` in the background when asked; never on the GUI thread (see the module)."""

    rows = Signal(object)  # list of row dicts
    progress = Signal(int, int)  # done, total
    finished = Signal(object)  # core.study.StudyRun

    job = staticmethod(jobs.study_job)
    what = "study"
    process_name = "feeder-market-study"
    crashed = CRASHED
    join_s = PROCESS_JOIN_S

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent, process=True)
        self._cancelling = False
        self.last_run = None
        self.process_pid: int | None = None  # the worker process that ran (runs) the latest study in this computer

    def start(self, request: StudyRequest) -> None:
        """Run ``request`` in the background; a study still running is cancelled and its results dropped."""
        if self._closed:
            return
        self._cancel(drop=True)
        gen = self._next_generation()
        self._cancelling = False
        self._launch(gen, request, in_process=request.in_process)
        self.started.emit()

    def cancel(self) -> None:
        """Stop the running study: no new point starts; the finished rows come back with ``finished``."""
        self._cancel()
        if self._busy:
            self._cancelling = True

    def is_cancelling(self) -> bool:
        return self._busy and self._cancelling

    def _process(self) -> WorkerProcess:
        return study_process()

    def _busy_changed(self, on: bool) -> None:
        if not on:
            self._cancelling = False

    def _on_running(self, gen: int, pid: int) -> None:
        if self._current(gen) and self._last_in_process:
            self.process_pid = pid

    def _on_progress(self, gen: int, done: int, total: int) -> None:
        self.progress.emit(done, total)

    def _on_partial(self, gen: int, items: list) -> None:
        self.rows.emit([row for row, _seconds in items])

    def _on_done(self, gen: int, run, seconds: float) -> None:
        self.last_run = run
        self.finished.emit(run)


__all__ = ["StudyRequest", "StudyRunner", "close_study_process", "study_process"]
