"""The market clearing and the Nash search in separate processes (no Qt here).

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

The Nash search (:func:`serve_nash`, :func:`run_nash`) runs in a process of its
own, started at the first search: requests ``(generation, NashRequest)``,
replies ``("progress", gen, fraction, text)``, ``("done", gen, NashOutcome)``,
``("error", gen, message)``; the shared integer is the newest generation to
stop (a search stops at its next best response once it reaches its own).
"""

from __future__ import annotations

import logging
import queue
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)
PARENT_CHECK_S = 1.0  # an idle worker checks this often that the dashboard still runs


@dataclass(frozen=True, eq=False)
class NashRequest:
    """One bidding game to search: the period's truthful book of ``scenario``, the ``players`` largest sellers
    marking up (and, with ``withhold``, withholding) under ``mechanism`` (an auction; ``k`` for the uniform price)."""

    scenario: object
    period: int
    mechanism: str
    players: int = 3
    withhold: bool = False
    m_max: float = 1.0
    max_rounds: int = 50
    k: float = 0.5


@dataclass(frozen=True, eq=False)
class NashOutcome:
    """What the Nash runner hands back: the search, its existence check (``None`` if not run) and why not."""

    request: NashRequest
    result: object  # core.strategy.NashResult
    existence: object | None  # core.strategy.ExistenceCheck
    existence_note: str
    seconds: float


class NashCancelled(Exception):  # a control-flow signal, not an error
    """Raised inside the existence check's payoff once the search was cancelled."""


class _CancellableGame:
    """The game of a finished search, for :func:`existence_check`: every payoff first checks ``cancelled()``.

    ``existence_check`` takes no ``cancelled=`` of its own; this stops it at its next payoff, and reports
    progress each time it turns to a new player and context.
    """

    def __init__(self, game, cancelled, progress):
        self._game = game
        self._cancelled = cancelled
        self._progress = progress
        self._lines = 0
        self._contexts = max(len(game.default_contexts()), 1)

    @property
    def n(self) -> int:
        return self._game.n

    @property
    def player_names(self):
        return self._game.player_names

    def default_contexts(self):
        return self._game.default_contexts()

    def dims(self, i: int):
        self._lines += 1
        total = self._game.n * self._contexts
        self._progress(min(self._lines / total, 1.0), f"existence check: {self._game.player_names[i]}")
        return self._game.dims(i)

    def payoff(self, i: int, profile) -> float:
        if self._cancelled():
            raise NashCancelled
        return self._game.payoff(i, profile)


SEARCH_SHARE = 0.8  # of the progress bar: the search; the rest is the existence check


def run_nash(req: NashRequest, progress, cancelled, search=None, check=None) -> NashOutcome:
    """Search ``req``'s bidding game, then check the existence conditions (unless cancelled).

    ``progress(fraction, text)``, ``cancelled()``; ``search``/``check``: :func:`core.strategy.nash_search` and
    :func:`core.strategy.existence_check` unless given (the thread runner passes its own, which tests replace).
    """
    from core import strategy
    from core.auction_day import order_book

    search = search or strategy.nash_search
    check = check or strategy.existence_check
    t0 = time.perf_counter()
    book = order_book(req.scenario, req.period, req.mechanism, req.k)
    players = strategy.largest_sellers(book, req.players)
    if not players:
        raise ValueError("no prosumer offers energy in this period: there is no bidding game to play")
    kw = {"k": req.k} if req.mechanism == "uniform" else {}
    result = search(book, mechanism=req.mechanism, players=players, withhold=req.withhold, m_max=req.m_max,
                    max_rounds=req.max_rounds, progress=lambda f, text: progress(SEARCH_SHARE * f, text),
                    cancelled=cancelled, **kw)
    existence, note = None, ""
    if result.cancelled or cancelled():
        note = "not checked: the search was cancelled"
    else:
        step = lambda f, text: progress(SEARCH_SHARE + (1 - SEARCH_SHARE) * f, text)  # noqa: E731
        try:
            existence = check(_CancellableGame(result.game, cancelled, step))
        except NashCancelled:
            note = "not finished: cancelled during the existence check"
    return NashOutcome(req, result, existence, note, time.perf_counter() - t0)


def serve_nash(requests, replies, stop) -> None:
    """The Nash process's loop: search each request; ``stop`` holds the newest generation to stop."""
    import os

    from gui.failures import describe_failure

    parent = os.getppid()
    while True:
        try:
            item = requests.get(timeout=PARENT_CHECK_S)
        except queue.Empty:
            if os.getppid() != parent:
                return
            continue
        if item is None:
            return
        gen, req = item

        def cancelled(gen=gen) -> bool:
            return stop.value >= gen

        def progress(fraction: float, text: str, gen=gen) -> None:
            replies.put(("progress", gen, float(fraction), str(text)))

        try:
            outcome = run_nash(req, progress, cancelled)
        except Exception as err:  # every failure becomes a message, none a crash
            log.debug("Nash search failed", exc_info=True)
            replies.put(("error", gen, describe_failure(err)))
        else:
            replies.put(("done", gen, outcome))


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
