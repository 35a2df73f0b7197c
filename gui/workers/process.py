"""The dashboard's side of background work (no Qt here): a worker process, or a thread, that runs jobs.

Both executors take ``submit(fn, request, sink)`` and return a job number;
``sink(kind, args)`` receives the job's reports (:mod:`gui.workers.protocol`:
``running``, ``progress``, ``partial`` — a list of ``(value, seconds)`` —,
then one of ``done``, ``error``, ``dropped``) on a thread of theirs, never on
the caller's. ``cancel(job)`` asks a job to stop at its next step,
``forget(job)`` delivers nothing more of it, ``close()`` ends the executor.

:class:`WorkerProcess` runs them in a spawned process (the solver's long C
calls then never hold the dashboard's interpreter lock):

* the request is pickled by the caller, so that one that cannot be pickled
  raises there (a message, not a job that never ends);
* a reader thread relays the replies; replies that come together are relayed
  together (a job's partial results as one list, only its last progress). A
  reply it cannot read fails its job with a message, and the reader goes on;
* a process that dies, or whose reply queue breaks, fails the jobs in flight
  with one message (``crashed``, with the exit code or signal); it is then not
  :attr:`~WorkerProcess.alive`, and the caller starts a new one for the next job;
* ``close`` waits a bounded time for the job in hand to stop, then terminates.

:class:`ThreadWorker` runs the same jobs, one at a time, on a thread of this
process: for the Dask client loop, and for tests that intercept a computation.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import logging
import pickle
import queue
import threading

from gui.failures import describe_failure
from gui.workers.protocol import ALL, run_job, serve

log = logging.getLogger(__name__)

REPLY_POLL_S = 0.25  # how often the reader thread looks whether the process is still alive
BATCH_MESSAGES = 500  # the reader relays at most this many replies at once
LAST = ("done", "error", "dropped")

_jobs = itertools.count(1)  # job numbers, unique across the executors of this process


def _deliver(sink, kind: str, args: tuple) -> None:
    try:
        sink(kind, args)
    except RuntimeError:  # its runner was deleted without shutdown(): nobody to tell
        log.debug("a %s report found no runner", kind)


CLEARING_PROCESS = "feeder-market-clearing"
CLEARING_PRELOAD = ("gui.workers.jobs", "core.pricing", "clarabel")  # the clearing's solver stack
_PRESTARTED: dict[str, WorkerProcess] = {}


def prestart(name: str, preload: tuple[str, ...] = ()) -> None:
    """Start the worker process ``name`` now, importing ``preload`` while the dashboard builds its window;
    the first runner of that name takes it (:func:`take_prestarted`) instead of starting one when its first
    request comes — the process's start-up then overlaps the window's."""
    if name not in _PRESTARTED:
        _PRESTARTED[name] = WorkerProcess(name, preload=preload)


def take_prestarted(name: str, crashed: str) -> WorkerProcess | None:
    """The process :func:`prestart` started under ``name``, if it is still alive (once)."""
    proc = _PRESTARTED.pop(name, None)
    if proc is None or not proc.alive:
        if proc is not None:
            proc.close(0.5)
        return None
    proc.crashed = crashed
    return proc


def close_prestarted() -> None:
    """End the processes :func:`prestart` started that no runner took (the dashboard closing early)."""
    while _PRESTARTED:
        _PRESTARTED.popitem()[1].close(0.5)


class WorkerProcess:
    """A spawned worker process (:func:`gui.workers.protocol.serve`) and the thread relaying its replies."""

    def __init__(
        self,
        name: str = "feeder-market-worker",
        crashed: str = "the worker process stopped unexpectedly ({how}); the next request starts a new one",
        preload: tuple[str, ...] = (),
    ):
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")  # never fork a process that runs Qt threads
        self.name = name
        self.crashed = crashed
        self.requests = ctx.Queue()
        self.replies = ctx.Queue()
        self.control = ctx.Queue()
        self.process = ctx.Process(
            target=serve, args=(self.requests, self.replies, self.control, tuple(preload)), daemon=True, name=name
        )
        self.process.start()
        self.pid = self.process.pid
        self.closing = False
        self.dead = False
        self._lock = threading.Lock()
        self._sinks: dict[int, object] = {}  # job → sink, while someone wants its reports
        self._in_flight: set[int] = set()  # jobs submitted and not yet over
        self.reader = threading.Thread(target=self._read, name=f"{name}-replies", daemon=True)
        self.reader.start()

    @property
    def alive(self) -> bool:
        return not self.closing and not self.dead and self.process.is_alive()

    def in_flight(self) -> set[int]:
        with self._lock:
            return set(self._in_flight)

    def submit(self, fn, request, sink) -> int:
        """Queue ``fn(request, …)``; returns its job number. Raises if the request cannot be pickled."""
        payload = pickle.dumps((fn, request), protocol=pickle.HIGHEST_PROTOCOL)
        job = next(_jobs)
        with self._lock:
            self._sinks[job] = sink
            self._in_flight.add(job)
        self.requests.put((job, payload))
        return job

    def cancel(self, job: int) -> None:
        """Stop ``job`` at its next step (a queued one as soon as it starts)."""
        try:
            self.control.put(job)
        except (OSError, ValueError):  # closed
            pass

    def forget(self, job: int) -> None:
        """Relay nothing more of ``job``."""
        with self._lock:
            self._sinks.pop(job, None)

    # --- the reader thread --------------------------------------------------------------------
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
            except (EOFError, OSError, ValueError) as err:  # the queue is closed or broken
                if not self.closing:
                    log.debug("the replies of %s broke", self.name, exc_info=True)
                    self._died(f"its replies could not be read: {describe_failure(err)}")
                return
            except Exception:  # a reply whose envelope does not unpickle: no job to tell
                log.warning("unreadable reply from %s", self.name, exc_info=True)
                continue
            while len(batch) < BATCH_MESSAGES:  # what else has come: relayed together
                try:
                    batch.append(self.replies.get_nowait())
                except queue.Empty:
                    break
                except Exception:
                    log.warning("unreadable reply from %s", self.name, exc_info=True)
                    break
            self._relay(batch)

    @staticmethod
    def _unpickle(msg) -> tuple[str, int, tuple]:
        kind, job, blob = msg
        try:
            return kind, job, pickle.loads(blob)
        except Exception as err:  # e.g. a class this side does not have: the job fails, the reader goes on
            log.warning("unreadable %s reply for job %s", kind, job, exc_info=True)
            return "error", job, (f"a reply of the worker process could not be read: {describe_failure(err)}",)

    def _relay(self, batch: list) -> None:
        partials: dict[int, list] = {}
        progress: dict[int, tuple] = {}
        order: list[tuple] = []  # a job's partials and progress go out before its next other report

        def flush(job: int) -> None:
            if partials.get(job):
                order.append(("partial", job, (partials.pop(job),)))
            if job in progress:
                order.append(("progress", job, progress.pop(job)))

        for msg in batch:
            kind, job, args = self._unpickle(msg)
            if kind == "partial":
                partials.setdefault(job, []).append(args)
            elif kind == "progress":
                progress[job] = args
            else:
                flush(job)
                order.append((kind, job, args))
        for job in list(partials) + list(progress):
            flush(job)
        out = []
        with self._lock:
            for kind, job, args in order:
                if kind in LAST:
                    self._in_flight.discard(job)
                sink = self._sinks.pop(job, None) if kind in LAST else self._sinks.get(job)
                if sink is not None:
                    out.append((sink, kind, args))
        for sink, kind, args in out:
            _deliver(sink, kind, args)

    def _died(self, why: str | None = None) -> None:
        self.dead = True
        if self.closing:
            return
        if self.process.is_alive():  # alive but unreachable: of no more use
            self.process.terminate()
        self.process.join(0.5)
        code = self.process.exitcode
        how = why or (f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}")
        message = self.crashed.format(how=how)
        with self._lock:
            sinks = [self._sinks.pop(job) for job in sorted(self._in_flight) if job in self._sinks]
            self._in_flight.clear()
        for sink in sinks:
            _deliver(sink, "error", (message,))

    def close(self, timeout_s: float = 1.0) -> None:
        """Stop the process (the job in hand stops at its next step, else the process is terminated after
        ``timeout_s``) and the reader. A process that died is only cleaned up: nothing is waited for."""
        if self.closing:
            return
        self.closing = True
        with self._lock:
            self._sinks.clear()
        if self.process.is_alive():
            for message in (ALL, None):
                try:
                    (self.control if message == ALL else self.requests).put(message)
                except (OSError, ValueError):
                    pass
            self.process.join(timeout_s)
            if self.process.is_alive():
                self.process.terminate()
                self.process.join(1.0)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(1.0)
        else:
            self.process.join(0)
        self.reader.join(2 * REPLY_POLL_S + 0.5)
        for q in (self.requests, self.replies, self.control):
            q.close()
            q.cancel_join_thread()


class ThreadWorker:
    """Runs jobs one at a time on a thread of this process (same reports as :class:`WorkerProcess`)."""

    def __init__(self, name: str = "feeder-market-worker"):
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._stops: dict[int, threading.Event] = {}
        self._sinks: dict[int, object] = {}
        self._futures: set[concurrent.futures.Future] = set()

    def submit(self, fn, request, sink) -> int:
        job = next(_jobs)
        stop = threading.Event()
        with self._lock:
            self._stops[job] = stop
            self._sinks[job] = sink
        future = self._pool.submit(run_job, job, fn, request, self._send, stop.is_set)
        self._futures.add(future)
        future.add_done_callback(self._futures.discard)
        return job

    def _send(self, kind: str, job: int, *args) -> None:
        with self._lock:
            sink = self._sinks.pop(job, None) if kind in LAST else self._sinks.get(job)
            if kind in LAST:
                self._stops.pop(job, None)
        if sink is not None:
            _deliver(sink, kind, ((args,),) if kind == "partial" else args)

    def cancel(self, job: int) -> None:
        with self._lock:
            stop = self._stops.get(job)
        if stop is not None:
            stop.set()

    def forget(self, job: int) -> None:
        with self._lock:
            self._sinks.pop(job, None)

    def wait(self, timeout_ms: int = -1) -> bool:
        """Wait for the jobs submitted (``timeout_ms < 0``: as long as they take); whether all are over."""
        pending = list(self._futures)
        if not pending:
            return True
        _done, left = concurrent.futures.wait(pending, timeout=None if timeout_ms < 0 else timeout_ms / 1000)
        return not left

    def close(self, timeout_ms: int = -1) -> bool:
        with self._lock:
            for stop in self._stops.values():
                stop.set()
            self._sinks.clear()
        done = self.wait(timeout_ms)
        self._pool.shutdown(wait=False)
        return done


__all__ = ["ThreadWorker", "WorkerProcess"]
