"""One bidding game's Nash search and its existence check, as the dashboard (and the CLI) run it (no Qt here).

:func:`run_nash` takes a :class:`NashRequest` (a project, a period, an auction,
the strategic sellers) and returns a :class:`NashOutcome`: the best-response
search of :func:`core.strategy.nash_search`, then — unless it was cancelled —
the Debreu–Glicksberg–Fan check of :func:`core.strategy.existence_check` on
the game it searched. The defaults are the dashboard's: the 3 largest sellers,
markups up to +100 %, at most 50 rounds, k = 0.5 for the uniform price.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import Cancelled

SEARCH_SHARE = 0.8  # of the progress: the search; the rest is the existence check


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
    """A search, its existence check (``None`` if not run) and why not, and the seconds both took."""

    request: NashRequest
    result: object  # core.strategy.NashResult
    existence: object | None  # core.strategy.ExistenceCheck
    existence_note: str
    seconds: float


class _CancellableGame:
    """The game of a finished search, for :func:`~core.strategy.existence_check`: every payoff first checks
    ``cancelled()`` (raising :class:`~core.errors.Cancelled`), and each new player's line reports progress."""

    def __init__(self, game, cancelled: Callable[[], bool], progress: Callable[[float, str], None]):
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
            raise Cancelled
        return self._game.payoff(i, profile)


def _never() -> bool:
    return False


def run_nash(
    req: NashRequest,
    progress: Callable[[float, str], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    search=None,
    check=None,
    existence: bool = True,
) -> NashOutcome:
    """Search ``req``'s bidding game, then (``existence``, unless cancelled) check the existence conditions.

    ``progress(fraction, text)`` and ``cancelled()`` are optional. ``search``/``check``:
    :func:`core.strategy.nash_search` and :func:`core.strategy.existence_check` unless given. A cancelled search
    comes back with ``result.cancelled`` set (and the check not run); ``ValueError`` if nobody sells.
    """
    from core import strategy
    from core.auction_day import order_book
    from core.mechanisms import MECHANISMS

    if req.mechanism not in MECHANISMS:
        raise ValueError(
            f"the Nash search plays an auction's bidding game: mechanism '{req.mechanism}' is not one of "
            f"{', '.join(MECHANISMS)}"
        )

    progress = progress or (lambda _f, _text: None)
    cancelled = cancelled or _never
    search = search or strategy.nash_search
    check = check or strategy.existence_check
    t0 = time.perf_counter()
    book = order_book(req.scenario, req.period, req.mechanism, req.k)
    players = strategy.largest_sellers(book, req.players)
    if not players:
        raise ValueError("no prosumer offers energy in this period: there is no bidding game to play")
    kw = {"k": req.k} if req.mechanism == "uniform" else {}
    share = SEARCH_SHARE if existence else 1.0
    result = search(
        book,
        mechanism=req.mechanism,
        players=players,
        withhold=req.withhold,
        m_max=req.m_max,
        max_rounds=req.max_rounds,
        progress=lambda f, text: progress(share * f, text),
        cancelled=cancelled,
        **kw,
    )
    checked, note = None, ""
    if not existence:
        note = "not checked: not asked for"
    elif result.cancelled or cancelled():
        note = "not checked: the search was cancelled"
    else:
        step = lambda f, text: progress(SEARCH_SHARE + (1 - SEARCH_SHARE) * f, text)  # noqa: E731
        try:
            checked = check(_CancellableGame(result.game, cancelled, step))
        except Cancelled:
            note = "not finished: cancelled during the existence check"
    return NashOutcome(req, result, checked, note, time.perf_counter() - t0)


def nash_search(book, **kwargs):
    """:func:`core.strategy.nash_search` (the dashboard reaches the strategy module through this one)."""
    from core import strategy

    return strategy.nash_search(book, **kwargs)


def existence_check(game, **kwargs):
    """:func:`core.strategy.existence_check`."""
    from core import strategy

    return strategy.existence_check(game, **kwargs)


__all__ = ["NashOutcome", "NashRequest", "existence_check", "nash_search", "run_nash"]
