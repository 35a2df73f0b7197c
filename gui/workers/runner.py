"""The base of the background runners: one request at a time shown, off the GUI thread, in a process or on a thread.

A :class:`Runner` hands its :attr:`~Runner.job` (:mod:`gui.workers.jobs`) to a
worker — its own :class:`~gui.workers.process.WorkerProcess` (``process=True``)
or a :class:`~gui.workers.process.ThreadWorker` (``process=False``: tests that
intercept the computation, Dask's client loop) — and relays what comes back to
the GUI thread through a queued signal:

* every request gets a generation number; only the newest one's reports are
  shown. :meth:`Runner._launch` supersedes: the older jobs are cancelled (they
  stop at their next step) and whatever they still deliver is dropped;
  :meth:`Runner._cancel` with ``drop`` also drops the newest one;
* ``busy(bool)``: True while a request waits or the newest one runs;
* ``failed(message)``: one readable line (the traceback goes to the log); a
  request that cannot be sent, or a worker process that dies, fails the same
  way, and the next request starts a new process;
* :meth:`Runner.shutdown`: nothing more is delivered; the thread is waited for,
  the process closed (a bounded wait, then terminated).

Subclasses define the signals they show (``finished``, ``progress``…) and the
hooks :meth:`~Runner._on_running`, :meth:`~Runner._on_progress`,
:meth:`~Runner._on_partial`, :meth:`~Runner._on_done`, :meth:`~Runner._on_error`.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, Signal

from gui.failures import describe_failure
from gui.workers.process import ThreadWorker, WorkerProcess, take_prestarted

log = logging.getLogger(__name__)

PROCESS_JOIN_S = 5.0  # closing: how long the job in hand may take to stop before its process is terminated


class _Relay(QObject):
    """Lives on the GUI thread; workers emit on it, so delivery to the runner is queued."""

    report = Signal(int, str, object)  # generation, kind, args

    def sink(self, generation: int):
        return lambda kind, args: self.report.emit(generation, kind, args)


class Runner(QObject):
    """Schedules one kind of job on a worker; only the newest request's reports are shown (see the module)."""

    started = Signal()
    failed = Signal(str)
    busy = Signal(bool)

    job = None  # the Qt-free job function, fn(request, progress, cancelled, partial)
    what = "computation"  # for messages: "the computation cannot be sent to its worker process"
    process_name = "feeder-market-worker"
    crashed = "the computation process stopped unexpectedly ({how}); a new one starts with the next request"
    preload: tuple[str, ...] = ()  # modules a new worker process imports before its first request
    join_s = PROCESS_JOIN_S

    def __init__(self, parent: QObject | None = None, process: bool = True):
        """``process``: run in a separate process (True) or on a thread of this one (False)."""
        super().__init__(parent)
        self.process_mode = process
        self._proc: WorkerProcess | None = None
        self._threads = ThreadWorker(f"{self.process_name}-thread")
        self._relay = _Relay(self)
        self._relay.report.connect(self._receive, Qt.ConnectionType.QueuedConnection)
        self._generation = 0
        self._jobs: dict[int, tuple[object, int]] = {}  # generation → (executor, job) of requests handed over
        self._running: set[int] = set()  # generations handed over and not yet over
        self._dropped: set[int] = set()  # generations whose result is not to be shown
        self._busy = False
        self._closed = False
        self._last_in_process = False

    # --- the API shared by the runners -----------------------------------------------------------
    def is_busy(self) -> bool:
        return self._busy

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def uses_process(self) -> bool:
        """Whether the last request went to a worker process."""
        return self._last_in_process

    def shutdown(self, timeout_ms: int = -1) -> bool:
        """Drop every request and stop the running one at its next step (the window is closing).

        The thread is waited for (``timeout_ms < 0``: as long as its step takes);
        the runner's process is closed (the step in hand may take :attr:`join_s`,
        then it is terminated). Nothing more is delivered. Whether the thread is done.
        """
        self._closed = True
        self._stop_waiting()
        for executor, job in self._jobs.values():
            executor.cancel(job)
            executor.forget(job)
        self._jobs.clear()
        self._running.clear()
        done = self._threads.close(timeout_ms)
        if self._proc is not None:
            self._proc.close(self.join_s)
            self._proc = None
        self._set_busy(False)
        return done

    # --- for the subclasses ---------------------------------------------------------------------
    def _next_generation(self) -> int:
        """A new request: its generation; every older job is cancelled (its result will not be shown)."""
        self._generation += 1
        for gen, (executor, job) in self._jobs.items():
            if gen != self._generation:
                executor.cancel(job)
        return self._generation

    def _launch(self, gen: int, request, in_process: bool | None = None) -> None:
        """Hand ``request`` (generation ``gen``) to the worker; a failure to do so arrives as ``failed``."""
        in_process = self.process_mode if in_process is None else in_process
        self._last_in_process = in_process
        self._running.add(gen)
        self._update_busy()
        sink = self._relay.sink(gen)
        try:
            executor = self._process() if in_process else self._threads
            self._jobs[gen] = (executor, executor.submit(self.job, request, sink))
        except Exception as err:  # cannot be pickled, the process cannot start…: a message, no crash
            log.debug("cannot hand the %s over", self.what, exc_info=True)
            where = "its worker process" if in_process else "its worker"
            sink("error", (f"the {self.what} cannot be sent to {where}: {describe_failure(err)}",))

    def _process(self) -> WorkerProcess:
        """The worker process for the next job: the runner's own, a new one if it died (the study runners
        share one: :class:`gui.workers.studies.StudyRunner` overrides this)."""
        if self._proc is None or not self._proc.alive:
            if self._proc is not None:
                self._proc.close(0.5)
            self._proc = take_prestarted(self.process_name, self.crashed) or WorkerProcess(
                self.process_name, self.crashed, self.preload
            )
        return self._proc

    def _cancel(self, drop: bool = False) -> None:
        """Stop every job at its next step; with ``drop`` what they deliver is not shown."""
        for gen, (executor, job) in self._jobs.items():
            executor.cancel(job)
            if drop:
                self._dropped.add(gen)

    def _waiting(self) -> bool:
        """Whether a request waits to be handed over (the market's debounce)."""
        return False

    def _stop_waiting(self) -> None:
        """Forget the request waiting, if any."""

    def _current(self, gen: int) -> bool:
        return gen == self._generation and gen not in self._dropped and not self._closed and not self._waiting()

    def _update_busy(self) -> None:
        self._set_busy(not self._closed and (self._waiting() or self._generation in self._running))

    def _set_busy(self, on: bool) -> None:
        if on != self._busy:
            self._busy = on
            self._busy_changed(on)
            self.busy.emit(on)

    def _busy_changed(self, on: bool) -> None:
        """Hook: the runner turned busy or idle (before ``busy`` is emitted)."""

    # --- GUI-thread side ------------------------------------------------------------------------
    def _receive(self, gen: int, kind: str, args: tuple) -> None:
        if kind in ("done", "error", "dropped"):
            current = self._current(gen)
            self._running.discard(gen)
            self._jobs.pop(gen, None)
            self._dropped.discard(gen)
            self._update_busy()
            if current and kind == "done":
                self._on_done(gen, *args)
            elif current and kind == "error":
                self._on_error(gen, args[0])
        elif kind == "running":
            self._on_running(gen, *args)
        elif self._current(gen):
            if kind == "progress":
                self._on_progress(gen, *args)
            elif kind == "partial":
                self._on_partial(gen, args[0])

    def _on_running(self, gen: int, pid: int) -> None:
        """A worker (process ``pid``) picked generation ``gen`` up (whether or not it is current)."""

    def _on_progress(self, gen: int, *args) -> None:
        """The current request's progress."""

    def _on_partial(self, gen: int, items: list) -> None:
        """The current request's intermediate results: ``[(value, seconds), …]``."""

    def _on_done(self, gen: int, result, seconds: float) -> None:
        """The current request's result."""

    def _on_error(self, gen: int, message: str) -> None:
        self.failed.emit(message)


__all__ = ["PROCESS_JOIN_S", "Runner"]
