"""A scenario study off the GUI thread: :func:`core.study.run_study` on a worker, rows streamed back.

:class:`StudyRunner` runs one study at a time. What comes back, always on the
GUI thread through queued signals:

* ``rows(list)`` — rows as they finish (dicts of :data:`core.study.COLUMNS`),
  so that a panel plots the study while it runs;
* ``progress(done, total)`` — points done out of the study's;
* ``finished(StudyRun)`` — the whole table (also after a cancel: the rows that finished);
* ``failed(message)`` — one readable line (no traceback);
* ``busy(bool)``, ``started()``.

Where it runs:

* **in this computer** (``workers=0``, the default): in a worker *process*
  (:func:`gui.study_process.serve`, ``multiprocessing`` spawn context). On a
  thread, the solver stack's long C calls (cvxpy's canonicalisation, the
  interior-point solve) hold Python's interpreter lock, and the GUI thread
  waited for it on every call back into Python: the window froze for up to a
  second while a study ran. One process serves every runner of the
  application (:func:`study_process`), is started at the first study and kept
  for the next ones (its solver caches stay warm), and ends with the
  application. A process that dies (killed, out of memory) fails its study with
  a message — the rows that came back are kept — and the next study starts a
  new one.
* **on Dask** (``workers=N`` for a new ``LocalCluster``, or
  ``scheduler="tcp://HOST:8786"``): the points already run in Dask's worker
  processes; only the client loop runs here, on a :class:`QThreadPool` thread.

``cancel()`` is polled by ``run_study`` between points (in the worker process,
through a control queue) or while it waits for tasks (Dask): no more points
start, finished ones are kept. Like :class:`gui.compute.NashRunner`, a
generation number drops whatever a superseded run still delivers.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import pickle
import queue
import threading
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, QObject, QRunnable, Qt, QThreadPool, Signal

from gui.failures import describe_failure

log = logging.getLogger(__name__)

PROCESS_JOIN_S = 1.0  # closing: how long a study in hand may take to stop before the process is terminated
REPLY_POLL_S = 0.25  # how often the reader thread looks whether the process is still alive
BATCH_MESSAGES = 500  # the reader relays at most this many replies at once


def run_study(spec, **kwargs):
    """The computation the thread runs (Dask): :func:`core.study.run_study` (looked up at call time)."""
    from core import study

    return study.run_study(spec, **kwargs)


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


class _StudyRelay(QObject):
    """Lives on the GUI thread; workers emit on it, so delivery is queued."""

    rows = Signal(int, object)  # generation, list of row dicts
    progress = Signal(int, int, int)  # generation, done, total
    done = Signal(int, object)  # generation, StudyRun
    error = Signal(int, str)  # generation, message
    running = Signal(int, int)  # generation, pid of the worker process


class _StudyJob(QRunnable):
    """One study on a pool thread (Dask's client loop)."""

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


# ---------------------------------------------------------------------------
# the worker process
# ---------------------------------------------------------------------------


class StudyProcess:
    """The worker process (:func:`gui.study_process.serve`) and a thread relaying its replies to the runners.

    Jobs are numbered across runners; each job's replies go to the relay (and
    generation) of the runner that submitted it, as long as that runner wants
    them (:meth:`forget`). Replies that arrive together are relayed together:
    the rows of one job as one list, only the last progress.
    """

    _jobs = itertools.count(1)

    def __init__(self) -> None:
        import multiprocessing

        from gui.study_process import serve

        ctx = multiprocessing.get_context("spawn")  # never fork a process that runs Qt threads
        self.requests = ctx.Queue()
        self.replies = ctx.Queue()
        self.control = ctx.Queue()
        self.process = ctx.Process(target=serve, args=(self.requests, self.replies, self.control), daemon=True,
                                   name="feeder-market-study")
        self.process.start()
        self.pid = self.process.pid
        self.closing = False
        self.dead = False
        self._lock = threading.Lock()
        self._sinks: dict[int, tuple[_StudyRelay, int]] = {}  # job → (relay, generation)
        self._in_flight: set[int] = set()
        self.reader = threading.Thread(target=self._read, name="feeder-market-study-replies", daemon=True)
        self.reader.start()

    @property
    def alive(self) -> bool:
        return not self.closing and not self.dead and self.process.is_alive()

    def submit(self, payload: bytes, relay: _StudyRelay, generation: int) -> int:
        """Queue a pickled spec; returns its job number."""
        job = next(self._jobs)
        with self._lock:
            self._sinks[job] = (relay, generation)
            self._in_flight.add(job)
        self.requests.put((job, payload))
        return job

    def cancel(self, job: int) -> None:
        """Stop ``job`` before its next point (or skip it, still queued); its finished rows come back."""
        try:
            self.control.put(job)
        except (OSError, ValueError):  # closed
            pass

    def forget(self, job: int) -> None:
        """Relay nothing more of ``job`` (its runner is gone or superseded it)."""
        with self._lock:
            self._sinks.pop(job, None)

    def _read(self) -> None:
        while True:
            try:
                batch = [self.replies.get(timeout=REPLY_POLL_S)]
            except queue.Empty:
                if self.closing:
                    return
                if not self.process.is_alive():
                    self._died()
                    return
                continue
            except (EOFError, OSError, ValueError):  # the queue is closed or broken
                self._died()
                return
            except Exception:  # a reply that does not unpickle here: skip it
                log.debug("unreadable reply from the study process", exc_info=True)
                continue
            while len(batch) < BATCH_MESSAGES:  # what else has come: relayed together
                try:
                    batch.append(self.replies.get_nowait())
                except queue.Empty:
                    break
                except Exception:
                    log.debug("unreadable reply from the study process", exc_info=True)
                    break
            self._relay(batch)

    def _relay(self, batch: list) -> None:
        rows: dict[int, list] = {}
        order: list[tuple] = []  # what to emit, in order; rows of a job go out before its next non-row reply
        progress: dict[int, tuple[int, int]] = {}

        def flush(job: int) -> None:
            if rows.get(job):
                order.append(("rows", job, rows.pop(job)))
            if job in progress:
                order.append(("progress", job, *progress.pop(job)))

        for msg in batch:
            kind = msg[0]
            if kind == "ready":
                continue
            job = msg[1]
            if kind == "row":
                rows.setdefault(job, []).append(msg[2])
            elif kind == "progress":
                progress[job] = (msg[2], msg[3])
            else:
                flush(job)
                order.append(msg)
        for job in list(rows) + list(progress):
            flush(job)
        with self._lock:
            for msg in order:
                kind, job = msg[0], msg[1]
                last = kind in ("done", "error")
                if last:
                    self._in_flight.discard(job)
                sink = self._sinks.pop(job, None) if last else self._sinks.get(job)
                if sink is None:
                    continue
                relay, gen = sink
                try:
                    if kind == "rows":
                        relay.rows.emit(gen, msg[2])
                    elif kind == "progress":
                        relay.progress.emit(gen, msg[2], msg[3])
                    elif kind == "running":
                        relay.running.emit(gen, msg[2])
                    elif kind == "done":
                        relay.done.emit(gen, msg[2])
                    elif kind == "error":
                        relay.error.emit(gen, msg[2])
                except RuntimeError:  # the runner was deleted without shutdown(): nobody to tell
                    self._sinks.pop(job, None)

    def _died(self) -> None:
        self.dead = True
        if self.closing:
            return
        self.process.join(0.5)
        code = self.process.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        message = (f"the study's worker process stopped unexpectedly ({how}); the finished points are kept, "
                   "and Run starts a new process")
        with self._lock:
            for job in sorted(self._in_flight):
                sink = self._sinks.pop(job, None)
                if sink is not None:
                    try:
                        sink[0].error.emit(sink[1], message)
                    except RuntimeError:  # its runner is gone
                        pass
            self._in_flight.clear()

    def close(self, timeout_s: float = PROCESS_JOIN_S) -> None:
        """Stop the process (a study in hand stops at its next point, else the process is terminated after
        ``timeout_s``) and the reader. A process that died is only cleaned up: nothing is waited for."""
        if self.closing:
            return
        self.closing = True
        if not self.process.is_alive():
            self.process.join(0)
            for q in (self.requests, self.replies, self.control):
                q.close()
                q.cancel_join_thread()
            return
        with self._lock:
            self._sinks.clear()
            jobs = sorted(self._in_flight)
        for job in jobs:
            self.cancel(job)
        try:
            self.requests.put(None)
        except (OSError, ValueError):
            pass
        self.process.join(timeout_s)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(1.0)
        self.reader.join(2 * REPLY_POLL_S + 0.5)
        for q in (self.requests, self.replies, self.control):
            q.close()
            q.cancel_join_thread()


_PROCESS: StudyProcess | None = None
_QUIT_HOOKED = False


def study_process(start: bool = True) -> StudyProcess | None:
    """The application's study worker process: the one running, else a new one (``start``; else None).

    Called on the GUI thread only. The process ends with the application
    (``aboutToQuit``, and at exit) or with :func:`close_study_process`.
    """
    global _PROCESS, _QUIT_HOOKED
    if _PROCESS is not None and not _PROCESS.alive:
        _PROCESS.close(0.2)
        _PROCESS = None
    if _PROCESS is None and start:
        _PROCESS = StudyProcess()
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
        proc.close()


atexit.register(close_study_process)


class StudyRunner(QObject):
    """Runs :func:`core.study.run_study` in the background when asked; never on the GUI thread (see the module)."""

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
        self._relay.running.connect(self._on_running, q)
        self._generation = 0
        self._stop: threading.Event | None = None
        self._jobs: dict[int, tuple[StudyProcess, int]] = {}  # generation → (process, job) of studies in the process
        self._running: set[int] = set()
        self._busy = False
        self._cancelling = False
        self._closed = False
        self.last_run = None
        self.process_pid: int | None = None  # the worker process that ran (runs) the latest study in this computer

    def start(self, request: StudyRequest) -> None:
        """Run ``request`` in the background; a study still running is cancelled and its results dropped."""
        if self._closed:
            return
        self.cancel()
        self._generation += 1
        gen = self._generation
        self._stop = None
        self._cancelling = False
        self._running.add(gen)
        self._set_busy(True)
        if request.in_process:
            self._submit(gen, request.spec)
        else:
            self._stop = threading.Event()
            self.pool.start(_StudyJob(gen, request, self._stop, self._relay))
        self.started.emit()

    def _submit(self, gen: int, spec) -> None:
        try:
            payload = pickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as err:
            self._relay.error.emit(gen, f"the study cannot be sent to its worker process: {describe_failure(err)}")
            return
        try:
            proc = study_process()
            self._jobs[gen] = (proc, proc.submit(payload, self._relay, gen))
        except Exception as err:  # the process cannot start (out of resources…): a message, no crash
            log.debug("cannot start the study process", exc_info=True)
            self._relay.error.emit(gen, f"cannot start the study's worker process: {describe_failure(err)}")

    def cancel(self) -> None:
        """Stop the running study: no new point starts; the finished rows come back with ``finished``."""
        if self._stop is not None:
            self._stop.set()
        for proc, job in self._jobs.values():
            proc.cancel(job)
        if self._busy:
            self._cancelling = True

    def is_busy(self) -> bool:
        return self._busy

    def is_cancelling(self) -> bool:
        return self._busy and self._cancelling

    def shutdown(self, timeout_ms: int = -1) -> bool:
        """Stop the study (the window is closing): the worker process drops it at its next point; a Dask
        client loop is waited for. Nothing more is delivered."""
        self._closed = True
        self.cancel()
        for proc, job in self._jobs.values():
            proc.forget(job)
        self._jobs.clear()
        done = self.pool.waitForDone(timeout_ms)
        self._set_busy(False)
        return done

    # --- GUI-thread side -----------------------------------------------------------------
    def _current(self, gen: int) -> bool:
        return gen == self._generation and not self._closed

    def _finish(self, gen: int) -> bool:
        self._running.discard(gen)
        self._jobs.pop(gen, None)
        if not self._running:
            self._set_busy(False)
        return self._current(gen)

    def _on_running(self, gen: int, pid: int) -> None:
        if self._current(gen):
            self.process_pid = pid

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
            if not on:
                self._cancelling = False
            self.busy.emit(on)


__all__ = ["StudyProcess", "StudyRequest", "StudyRunner", "close_study_process", "run_study", "study_process"]
