"""The market clearing in a separate process, for big projects (no Qt here).

Threads share one interpreter lock: while the solver stack runs its long C
calls (cvxpy's matrix stuffing, the interior-point solve) on a worker thread,
the GUI thread cannot run Python for 100–300 ms at a time on the 1,000-bus
feeder, and the window freezes. A worker *process* has its own interpreter:
the GUI thread only pickles the request (≈ 20 ms for 3,000 prosumers) and a
reader thread unpickles the answers.

Protocol (``multiprocessing`` queues, spawn context):

* requests: ``(generation, scenario, settings)``, or ``None`` to stop;
* replies: ``("running", gen)``, ``("progress", gen, fraction, text)``,
  ``("done", gen, result, seconds, final)``, ``("error", gen, message)``,
  ``("dropped", gen)``;
* ``latest``: a shared integer, the newest generation the GUI asked for. A
  clearing whose generation is older is cancelled at its next progress point
  (``cancelled()`` reads it), exactly as on the thread pool.

The process keeps core's caches (compiled problems, the solved day) between
requests, like the thread did.
"""

from __future__ import annotations

import logging
import queue
import time

log = logging.getLogger(__name__)
PARENT_CHECK_S = 1.0  # an idle worker checks this often that the dashboard still runs


class _Superseded(Exception):  # a control-flow signal, not an error
    pass


def serve(requests, replies, latest) -> None:
    """The worker process's loop: clear each request (the newest one waiting) until ``None`` arrives."""
    import os

    from core import market
    from gui.failures import describe_failure

    parent = os.getppid()
    while True:
        try:
            item = requests.get(timeout=PARENT_CHECK_S)
        except queue.Empty:
            if os.getppid() != parent:  # the dashboard died without saying goodbye: so does its worker
                return
            continue
        while True:  # only the newest request waiting is worth running
            try:
                newer = requests.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                replies.put(("dropped", item[0]))
            item = newer
            if item is None:
                break
        if item is None:
            return
        gen, scenario, settings = item

        def cancelled(gen=gen) -> bool:
            return latest.value != gen

        def progress(fraction: float, text: str, gen=gen) -> None:
            if cancelled():
                raise _Superseded
            replies.put(("progress", gen, float(fraction), str(text)))

        if cancelled():
            replies.put(("dropped", gen))
            continue
        replies.put(("running", gen))
        t0 = time.perf_counter()
        try:
            result = None
            for stage in market.clear_stages(scenario, settings, progress=progress, cancelled=cancelled):
                result = stage
                if stage.pending and not cancelled():
                    replies.put(("done", gen, stage, time.perf_counter() - t0, False))
        except _Superseded:
            replies.put(("dropped", gen))
        except Exception as err:  # every failure becomes a message, none a crash
            if cancelled():
                replies.put(("dropped", gen))
            else:
                log.debug("market clearing failed", exc_info=True)
                replies.put(("error", gen, describe_failure(err)))
        else:
            if cancelled() or result is None:
                replies.put(("dropped", gen))
            else:
                replies.put(("done", gen, result, time.perf_counter() - t0, True))
