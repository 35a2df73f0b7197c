"""The Studies panel's worker process: :func:`core.study.run_study` in its own interpreter (no Qt here).

A study run on a thread of the GUI process shares Python's interpreter lock
with the GUI thread: cvxpy's canonicalisation and the interior-point solve hold
it for tens of milliseconds at a time, and every call the GUI thread makes back
into Python (a table cell, a plot item) then waits for it — the window froze
for up to a second while a study ran. In a process the GUI thread only pickles
the spec once and a reader thread unpickles the rows as they come.

Protocol (``multiprocessing`` queues, spawn context; :class:`gui.compute_studies.StudyRunner`
is the other end):

* requests: ``(job, payload)`` — ``payload`` is the pickled
  :class:`~core.study.StudySpec` (pickled by the GUI so that a spec that cannot
  be pickled fails there, with a message) — or ``None`` to stop;
* control: job numbers to cancel (a running job stops before its next point,
  its finished rows kept; a queued one ends as soon as it starts);
* replies: ``("ready", pid)`` once the process has imported the solver stack,
  then per job ``("running", job, pid)``, ``("row", job, row)`` per finished
  point, ``("progress", job, done, total)``, and last ``("done", job, StudyRun)``,
  or ``("error", job, message)``. A job cancelled before it started ends at
  once, with its (empty) cancelled run.

The process keeps core's caches (compiled problems) between jobs, as the
thread did: the second study of the same project starts warm. It ends by
itself when the GUI process is gone (killed: nobody sends ``None``).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import queue

PARENT_POLL_S = 1.0  # while idle, how often the process looks whether the GUI process is still there

log = logging.getLogger(__name__)


def serve(requests, replies, control) -> None:
    """The worker process's loop: run each study request until ``None`` arrives."""
    from core import study
    from gui.failures import describe_failure

    stopped: set[int] = set()
    parent = multiprocessing.parent_process()

    def orphaned() -> bool:
        return parent is not None and not parent.is_alive()

    def drain() -> None:
        while True:
            try:
                stopped.add(control.get_nowait())
            except queue.Empty:
                return
            except (EOFError, OSError):  # the GUI process is gone
                return

    replies.put(("ready", os.getpid()))
    while True:
        try:
            item = requests.get(timeout=PARENT_POLL_S)
        except queue.Empty:
            if orphaned():
                return
            continue
        if item is None:
            return
        job, payload = item
        try:
            spec = pickle.loads(payload)
        except Exception as err:  # a spec that does not unpickle here (another version of the code?)
            replies.put(("error", job, describe_failure(err)))
            continue
        replies.put(("running", job, os.getpid()))

        def on_row(row: dict, job=job) -> None:
            replies.put(("row", job, row))

        def progress(done: int, total: int, job=job) -> None:
            replies.put(("progress", job, int(done), int(total)))

        def cancelled(job=job) -> bool:
            drain()
            return job in stopped or orphaned()

        try:
            run = study.run_study(spec, workers=0, on_row=on_row, progress=progress, cancelled=cancelled)
        except Exception as err:  # every failure becomes a message, none a crash
            log.debug("study failed", exc_info=True)
            replies.put(("error", job, describe_failure(err)))
        else:
            replies.put(("done", job, run))
        stopped.discard(job)


__all__ = ["serve"]
