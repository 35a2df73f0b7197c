"""The worker side of background work (no Qt here): run one job with progress and cancel, and serve a process.

A *job* is a Qt-free function ``fn(request, progress, cancelled, partial)``
(:mod:`gui.workers.jobs`): ``progress(*args)`` reports how far it is,
``partial(value)`` hands back an intermediate result (the market before its
diagnostics, a study's row), ``cancelled()`` says whether to stop. It returns
its result, or raises :class:`core.errors.Cancelled` when what it computed is
no longer wanted (then nothing is shown), or any other exception (shown as one
line). :func:`run_job` runs one, on a thread of the dashboard or in a worker
process, and reports on it with ``send(kind, job, *args)``:

* ``("running", job, pid)`` when it starts;
* ``("progress", job, *args)``; ``("partial", job, value, seconds)``;
* last one of ``("done", job, result, seconds)``, ``("error", job, message)``,
  ``("dropped", job)`` (cancelled: nothing to show).

:func:`serve` is a worker process's loop (``multiprocessing`` spawn context,
:class:`gui.workers.process.WorkerProcess` is the other end):

* requests: ``(job, payload)`` — ``payload`` is ``(fn, request)`` pickled by
  the dashboard (so that what cannot be pickled fails there, with a message) —
  or ``None`` to stop;
* control: job numbers to cancel, or :data:`ALL` (closing);
* replies: ``(kind, job, blob)``, ``blob`` the pickled arguments above. A reply
  that cannot be pickled becomes an ``error`` reply naming what failed (and its
  job is stopped), never dropped silently; the dashboard can always read which
  job a reply is for, even when it cannot unpickle the rest.

The process keeps core's caches (compiled problems, the solved day) between
jobs, and ends by itself when the dashboard is gone (killed: nobody sends ``None``).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import queue
import time

from core.errors import Cancelled

log = logging.getLogger(__name__)

ALL = -1  # on the control queue: cancel every job (the dashboard is closing)
PARENT_POLL_S = 1.0  # while idle, how often the process looks whether the dashboard still runs
ORPHAN_CHECK_S = 0.5  # while a job runs, at most this often


def run_job(job: int, fn, request, send, cancelled) -> None:
    """Run ``fn(request, progress, cancelled, partial)`` and report on it through ``send(kind, job, *args)``."""
    from gui.failures import describe_failure

    t0 = time.perf_counter()
    send("running", job, os.getpid())
    try:
        result = fn(
            request,
            progress=lambda *args: send("progress", job, *args),
            cancelled=cancelled,
            partial=lambda value: send("partial", job, value, time.perf_counter() - t0),
        )
    except Cancelled:
        send("dropped", job)
    except Exception as err:  # every failure becomes a message, none a crash
        log.debug("background job %s failed", getattr(fn, "__name__", fn), exc_info=True)
        send("error", job, describe_failure(err))
    else:
        send("done", job, result, time.perf_counter() - t0)


class _Replies:
    """The process's end of the replies: pickles each reply here, where a failure can still be reported."""

    def __init__(self, replies):
        self._replies = replies
        self.failed: set[int] = set()  # jobs whose reply could not be sent: they stop, nothing more is sent

    def send(self, kind: str, job: int, *args) -> None:
        if job in self.failed:
            return
        try:
            blob = pickle.dumps(args, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as err:
            from gui.failures import describe_failure

            log.debug("reply %s of job %s cannot be pickled", kind, job, exc_info=True)
            self.failed.add(job)
            what = {"done": "result", "partial": "intermediate result"}.get(kind, f"'{kind}' reply")
            kind, blob = (
                "error",
                pickle.dumps((f"the worker process cannot send its {what} back: {describe_failure(err)}",)),
            )
        self._replies.put((kind, job, blob))


def serve(requests, replies, control, preload: tuple[str, ...] = ()) -> None:
    """A worker process's loop: run each requested job until ``None`` arrives or the dashboard is gone.

    ``preload``: modules imported before the first request (the solver stack takes a second or two to import:
    done while the dashboard builds its window, not after its first request).
    """
    import importlib

    for name in preload:
        try:
            importlib.import_module(name)
        except Exception:  # the job's own import will say what is wrong
            log.debug("cannot preload %s", name, exc_info=True)
    out = _Replies(replies)
    stopped: set[int] = set()
    parent = multiprocessing.parent_process()
    last_check = [time.monotonic()]

    def orphaned() -> bool:
        return parent is not None and not parent.is_alive()

    def drain() -> None:
        while True:
            try:
                stopped.add(control.get_nowait())
            except queue.Empty:
                return
            except (EOFError, OSError, ValueError):  # the dashboard is gone
                stopped.add(ALL)
                return

    while True:
        try:
            item = requests.get(timeout=PARENT_POLL_S)
        except queue.Empty:
            if orphaned():
                return
            continue
        except (EOFError, OSError, ValueError):
            return
        if item is None:
            return
        job, payload = item
        try:
            fn, request = pickle.loads(payload)
        except Exception as err:  # does not unpickle here (another version of the code?)
            from gui.failures import describe_failure

            out.send("error", job, f"the worker process cannot read its request: {describe_failure(err)}")
            continue

        def cancelled(job=job) -> bool:
            drain()
            if ALL in stopped or job in stopped or job in out.failed:
                return True
            now = time.monotonic()
            if now - last_check[0] >= ORPHAN_CHECK_S:
                last_check[0] = now
                if orphaned():
                    stopped.add(ALL)
                    return True
            return False

        run_job(job, fn, request, out.send, cancelled)
        stopped.discard(job)
        out.failed.discard(job)
        if ALL in stopped and orphaned():
            return


__all__ = ["ALL", "run_job", "serve"]
