"""The bidding game of an auction's sellers (markups on cost, withholding) and the Nash search by best responses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.mechanisms import MECHANISMS, AuctionOutcome, OrderBook
from core.strategy.cournot import _num
from core.strategy.existence import _optimal_welfare


@dataclass(frozen=True)
class Player:
    """A strategic agent: its code in the book, its name, and the side it bids strategically (``"sell"``/``"buy"``)."""

    agent: int
    name: str
    side: str


@dataclass(frozen=True, eq=False)
class Play:
    """One profile played: the outcome on the declared book, fills mapped to the true book's blocks.

    ``utility`` is every agent's true utility (:func:`core.properties.true_utility`),
    ``payoffs`` the players', ``welfare`` the true welfare ``Σ v·x − Σ c·y``,
    ``price`` the uniform price or, for a mechanism without one, the mean price
    sellers receive per kWh (``NaN`` when nothing trades).
    """

    outcome: AuctionOutcome
    buy_fill: np.ndarray
    sell_fill: np.ndarray
    utility: np.ndarray
    payoffs: np.ndarray
    welfare: float
    price: float


def largest_sellers(book: OrderBook, n: int) -> list[int]:
    """Codes of the ``n`` agents offering the most kWh (``Σ sell_qty``), largest first (ties: lower code)."""
    cap = np.bincount(book.sell_agent, weights=book.sell_qty, minlength=len(book.agents))
    order = sorted((i for i in range(len(book.agents)) if cap[i] > 0), key=lambda i: (-cap[i], i))
    return order[: max(int(n), 0)]


def _grid(spec, hi: float, what: str) -> np.ndarray:
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        if spec < 1:
            raise ValueError(f"{what}: a grid needs at least one point, got {spec!r}")
        return np.linspace(0.0, hi, int(spec)) if spec > 1 else np.array([0.0])
    g = np.unique(np.asarray(spec, dtype=np.float64))
    if g.ndim != 1 or g.size == 0 or not np.all(np.isfinite(g)) or g[0] < 0:
        raise ValueError(f"{what}: a grid must be finite values ≥ 0, got {spec!r}")
    return g


class BiddingGame:
    """A bidding game on a truthful order book ("Strategic Behavior and Market Power").

    ``truth`` holds the true values (the truthful book of :mod:`core.bids`:
    sellers' asks are marginal costs). ``players``: agent names or codes (the
    side is ``"sell"`` if the agent has asks, else ``"buy"``) or ``(agent, side)``
    pairs; ``None`` takes every agent with an ask, plus — with ``buyers=True`` —
    every agent with bids and no ask. A player's strategy is ``(m, w)``:

    * seller: each of its asks ``p`` becomes ``p + m·|p|`` (``= p·(1+m)`` for
      ``p ≥ 0``) for ``(1 − w)`` of the block's kWh;
    * buyer: each of its bids ``p`` becomes ``p − m·|p|`` for ``(1 − w)`` of the kWh;

    an agent's blocks on the other side stay truthful. ``m ∈ [0, m_max]`` on the
    grid ``markups`` (a number of points on ``[0, m_max]``, or the values);
    ``w ∈ [0, w_max]`` on ``withhold`` points when ``withhold`` is true (else
    ``w = 0``). The payoff is the player's true utility under ``mechanism`` (a
    name in :data:`core.mechanisms.MECHANISMS`; ``mechanism_kwargs`` are passed on,
    e.g. ``k=0.5``). Profiles are arrays of shape ``(n_players, 2)``: ``[m, w]``.
    """

    def __init__(
        self,
        truth: OrderBook,
        mechanism: str = "uniform",
        players=None,
        *,
        buyers: bool = False,
        markups=21,
        m_max: float = 1.0,
        withhold=False,
        w_max: float = 0.5,
        refine: int = 2,
        refine_points: int = 9,
        **mechanism_kwargs,
    ) -> None:
        if mechanism not in MECHANISMS:
            raise ValueError(f"mechanism must be one of {', '.join(sorted(MECHANISMS))}, got {mechanism!r}")
        m_max, w_max = _num(m_max, "m_max"), _num(w_max, "w_max")
        if m_max < 0:
            raise ValueError(f"m_max must be ≥ 0, got {m_max!r}")
        if not 0 <= w_max <= 1:
            raise ValueError(f"w_max must be in [0, 1], got {w_max!r}")
        if isinstance(refine, bool) or not isinstance(refine, (int, np.integer)) or refine < 0:
            raise ValueError(f"refine must be a whole number ≥ 0, got {refine!r}")
        if isinstance(refine_points, bool) or not isinstance(refine_points, (int, np.integer)) or refine_points < 3:
            raise ValueError(f"refine_points must be a whole number ≥ 3, got {refine_points!r}")
        self.truth = truth
        self.mechanism = mechanism
        self.mechanism_kwargs = dict(mechanism_kwargs)
        self._fn = MECHANISMS[mechanism]
        self.markup_grid = _grid(markups, m_max, "markups")
        if withhold is False or withhold is None:
            self.withhold_grid = np.array([0.0])
        elif withhold is True:
            self.withhold_grid = np.linspace(0.0, w_max, 11)
        else:
            self.withhold_grid = _grid(withhold, w_max, "withhold")
        if self.withhold_grid[-1] > 1:
            raise ValueError(f"withheld fractions must be ≤ 1, got {self.withhold_grid.tolist()}")
        self.refine = int(refine)
        self.refine_points = int(refine_points)
        self.players = self._players(players, buyers)
        if not self.players:
            raise ValueError("the game has no players (no agent with asks, or an empty players list)")
        n_agents = len(truth.agents)
        self._sell_of = np.full(truth.n_sell, -1)
        self._buy_of = np.full(truth.n_buy, -1)
        for k, p in enumerate(self.players):
            if p.side == "sell":
                self._sell_of[truth.sell_agent == p.agent] = k
            else:
                self._buy_of[truth.buy_agent == p.agent] = k
        self._codes = np.array([p.agent for p in self.players])
        self._n_agents = n_agents

    # --- set-up -----------------------------------------------------------
    def _players(self, players, buyers: bool) -> tuple[Player, ...]:
        book = self.truth
        n = len(book.agents)
        has_sell = np.bincount(book.sell_agent, minlength=n) > 0
        has_buy = np.bincount(book.buy_agent, minlength=n) > 0
        if players is None:
            out = [Player(i, book.agents[i], "sell") for i in range(n) if has_sell[i]]
            if buyers:
                out += [Player(i, book.agents[i], "buy") for i in range(n) if has_buy[i] and not has_sell[i]]
            return tuple(out)
        out = []
        seen = set()
        for entry in players:
            side = None
            if isinstance(entry, tuple):
                entry, side = entry
            if isinstance(entry, str):
                if entry not in book.agents:
                    raise ValueError(f"player {entry!r} is not an agent of the book")
                code = book.agents.index(entry)
            elif isinstance(entry, (int, np.integer)) and not isinstance(entry, bool) and 0 <= entry < n:
                code = int(entry)
            else:
                raise ValueError(f"a player must be an agent name or a code in 0…{n - 1}, got {entry!r}")
            side = side if side is not None else ("sell" if has_sell[code] else "buy")
            if side not in ("sell", "buy"):
                raise ValueError(f"player {book.agents[code]}: side must be 'sell' or 'buy', got {side!r}")
            if not (has_sell if side == "sell" else has_buy)[code]:
                raise ValueError(f"player {book.agents[code]} has no {side} blocks")
            if (code, side) in seen:
                raise ValueError(f"player {book.agents[code]} ({side}) listed twice")
            seen.add((code, side))
            out.append(Player(code, book.agents[code], side))
        return tuple(out)

    @property
    def n(self) -> int:
        """The number of players."""
        return len(self.players)

    @property
    def player_names(self) -> tuple[str, ...]:
        """The players' agent names."""
        return tuple(p.name for p in self.players)

    @property
    def m_max(self) -> float:
        """The largest markup: the markup interval is ``[0, m_max]``."""
        return float(self.markup_grid[-1])

    @property
    def w_max(self) -> float:
        """The largest withheld fraction: the interval ``[0, w_max]`` (0 without withholding)."""
        return float(self.withhold_grid[-1])

    def truthful_profile(self) -> np.ndarray:
        """Every player at ``m = 0, w = 0`` (truthful bidding; ``0`` must lie in the grids)."""
        return np.zeros((self.n, 2))

    # --- playing a profile ------------------------------------------------
    def declared_book(self, profile) -> tuple[OrderBook, np.ndarray, np.ndarray]:
        """The book the players declare at ``profile``, and the true-book indices of its buy and sell blocks.

        Blocks withheld whole (``w = 1``) leave the book, hence the indices.
        """
        x = np.asarray(profile, dtype=np.float64).reshape(self.n, 2)
        t = self.truth
        sp, sq = t.sell_price.copy(), t.sell_qty.copy()
        bp, bq = t.buy_price.copy(), t.buy_qty.copy()
        s_on, b_on = self._sell_of >= 0, self._buy_of >= 0
        if s_on.any():
            k = self._sell_of[s_on]
            sp[s_on] = sp[s_on] + x[k, 0] * np.abs(sp[s_on])
            sq[s_on] = sq[s_on] * (1.0 - x[k, 1])
        if b_on.any():
            k = self._buy_of[b_on]
            bp[b_on] = bp[b_on] - x[k, 0] * np.abs(bp[b_on])
            bq[b_on] = bq[b_on] * (1.0 - x[k, 1])
        keep_b, keep_s = np.flatnonzero(bq > 0), np.flatnonzero(sq > 0)
        book = OrderBook(
            bp[keep_b], bq[keep_b], t.buy_agent[keep_b], sp[keep_s], sq[keep_s], t.sell_agent[keep_s], t.agents
        )
        return book, keep_b, keep_s

    def play(self, profile) -> Play:
        """Clear the declared book of ``profile`` and score it at the true values."""
        book, kb, ks = self.declared_book(profile)
        out = self._fn(book, **self.mechanism_kwargs)
        t = self.truth
        bf, sf = np.zeros(t.n_buy), np.zeros(t.n_sell)
        bf[kb], sf[ks] = out.buy_fill, out.sell_fill
        n = self._n_agents
        value = np.bincount(t.buy_agent, weights=bf * t.buy_price, minlength=n)
        cost = np.bincount(t.sell_agent, weights=sf * t.sell_price, minlength=n)
        utility = value - cost - out.agent_payment
        welfare = float(value.sum() - cost.sum())
        return Play(out, bf, sf, utility, utility[self._codes], welfare, _price(out, book))

    def payoff(self, i: int, profile) -> float:
        """Player ``i``'s true utility at ``profile``: ``Σ v·x − Σ c·y − payment`` over its agent's blocks."""
        return float(self.play(profile).payoffs[i])

    # --- best responses ---------------------------------------------------
    def best_response(self, i: int, profile) -> tuple[np.ndarray, float, float]:
        """Player ``i``'s best strategy against ``profile`` found on the grid plus local refinement.

        Evaluates every ``(m, w)`` of the grid (product of the two grids), then
        ``refine`` times a finer grid of ``refine_points`` per coordinate spanning
        the neighbouring points of the best one so far (clipped to the interval):
        each level shrinks the spacing by ``(refine_points − 1)/2``. Returns
        ``(best strategy, its payoff, the payoff of the current strategy)``; the
        first best in search order wins ties. Deterministic.
        """
        x = np.array(profile, dtype=np.float64).reshape(self.n, 2)
        current = float(self._payoff_with(i, x, x[i]))
        mg, wg = self.markup_grid, self.withhold_grid
        best_val, best = -np.inf, x[i].copy()
        for m in mg:
            for w in wg:
                v = self._payoff_with(i, x, (m, w))
                if v > best_val:
                    best_val, best = v, np.array([m, w])
        gaps = [_gaps(mg, best[0]), _gaps(wg, best[1])]
        bounds = [(mg[0], mg[-1]), (wg[0], wg[-1])]
        for _ in range(self.refine):
            axes = []
            for d in range(2):
                lo_gap, hi_gap = gaps[d]
                if lo_gap + hi_gap <= 0:
                    axes.append(np.array([best[d]]))
                    continue
                pts = np.linspace(best[d] - lo_gap, best[d] + hi_gap, self.refine_points)
                axes.append(np.unique(np.clip(pts, *bounds[d])))
            centre = best.copy()
            for m in axes[0]:
                for w in axes[1]:
                    if m == centre[0] and w == centre[1]:
                        continue
                    v = self._payoff_with(i, x, (m, w))
                    if v > best_val:
                        best_val, best = v, np.array([m, w])
            spacing = [(gaps[d][0] + gaps[d][1]) / (self.refine_points - 1) for d in range(2)]
            gaps = [(spacing[d], spacing[d]) for d in range(2)]
        return best, float(best_val), current

    def _payoff_with(self, i: int, x: np.ndarray, s) -> float:
        y = x.copy()
        y[i] = s
        return float(self.play(y).payoffs[i])

    # --- for existence_check ----------------------------------------------
    def dims(self, i: int) -> list[tuple[str, float, float, np.ndarray]]:
        """Own-strategy coordinates: ``("markup", 0, m_max, grid)`` and, with withholding, ``("withheld", …)``."""
        out = [("markup", float(self.markup_grid[0]), self.m_max, self.markup_grid)]
        if self.withhold_grid.size > 1:
            out.append(("withheld", float(self.withhold_grid[0]), self.w_max, self.withhold_grid))
        return out

    def default_contexts(self) -> list[np.ndarray]:
        """Profiles of the others for :func:`existence_check`: truthful, mid-interval, top of the intervals."""
        lo = np.array([self.markup_grid[0], self.withhold_grid[0]])
        hi = np.array([self.m_max, self.w_max])
        return [np.tile(lo, (self.n, 1)), np.tile(0.5 * (lo + hi), (self.n, 1)), np.tile(hi, (self.n, 1))]


def _gaps(grid: np.ndarray, v: float) -> tuple[float, float]:
    """Distances from ``v`` to its neighbours on ``grid`` (0 at an end)."""
    k = int(np.searchsorted(grid, v))
    k = min(max(k, 0), grid.size - 1)
    if grid[k] != v:  # v off the grid (a start profile): use the enclosing cell
        lo = grid[k - 1] if k > 0 else grid[0]
        return float(v - lo), float(grid[k] - v)
    return (float(v - grid[k - 1]) if k > 0 else 0.0, float(grid[k + 1] - v) if k + 1 < grid.size else 0.0)


def _price(out: AuctionOutcome, declared: OrderBook) -> float:
    """The uniform price; else pay-as-bid's ask-weighted mean price; else sellers' mean receipt per kWh."""
    if out.price is not None:
        return float(out.price)
    sold = float(out.sell_fill.sum())
    if sold <= 0:
        return float("nan")
    if out.mechanism == "pay_as_bid":
        return float(declared.sell_price @ out.sell_fill / sold)
    only_sell = (out.agent_sold > 0) & (out.agent_bought == 0)
    q = float(out.agent_sold[only_sell].sum())
    return float(-out.agent_payment[only_sell].sum() / q) if q > 0 else float("nan")


@dataclass(frozen=True, eq=False)
class PathStep:
    """One step of the best-response path: after ``mover`` changed its strategy in ``round`` (round 0: the start)."""

    round: int
    mover: str | None
    profile: tuple[tuple[float, float], ...]
    price: float


@dataclass(frozen=True, eq=False)
class NashResult:
    """The outcome of :func:`nash_search`.

    ``converged``: a full round in which no player improved by more than
    ``tol`` — then ``equilibrium`` (per player ``(m, w)``), ``price``,
    ``profits``, ``welfare_equilibrium`` and ``welfare_lost =
    welfare_truthful − welfare_equilibrium`` are set. ``cycling``: the profile
    at the end of a round repeated one seen before without convergence (the
    dynamics are deterministic, so they would loop forever): no pure
    equilibrium was found and those fields are ``None``; likewise when the
    rounds ran out or the search was ``cancelled``. ``table`` holds, per player
    at ``last_profile`` (the equilibrium when converged): ``agent, side, markup,
    withheld, sold_kwh, bought_kwh, profit, truthful_profit,
    best_deviation_gain, best_deviation_markup, best_deviation_withheld``; the
    deviation comes from a fresh grid-plus-refinement search at that profile
    (``NaN`` when cancelled). ``path`` is every strategy change with the price.
    """

    game: BiddingGame
    converged: bool
    cycling: bool
    cancelled: bool
    rounds: int
    path: tuple[PathStep, ...]
    last_profile: tuple[tuple[float, float], ...]
    table: pd.DataFrame
    welfare_truthful: float
    welfare_optimal: float
    price_truthful: float
    equilibrium: tuple[tuple[float, float], ...] | None = None
    price: float | None = None
    profits: np.ndarray | None = None
    welfare_equilibrium: float | None = None
    welfare_lost: float | None = None
    cycle_rounds: int | None = None
    message: str = ""
    tol: float = 1e-6

    @property
    def max_deviation_gain(self) -> float:
        """``max_i [max_s u_i(s, x_{−i}) − u_i(x)]`` at ``last_profile``: ≤ ``tol`` at a reported equilibrium."""
        return float(self.table.best_deviation_gain.max()) if len(self.table) else 0.0

    def path_frame(self) -> pd.DataFrame:
        """The path as a table: ``round, mover, price``, then ``markup_<agent>`` and ``withheld_<agent>`` per player."""
        names = self.game.player_names
        rows = []
        for s in self.path:
            row = {"round": s.round, "mover": s.mover, "price": s.price}
            for name, (m, w) in zip(names, s.profile, strict=True):
                row[f"markup_{name}"] = m
                row[f"withheld_{name}"] = w
            rows.append(row)
        return pd.DataFrame(rows)


def _key(x: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in x.ravel())


def _as_tuple(x: np.ndarray) -> tuple[tuple[float, float], ...]:
    return tuple((float(m), float(w)) for m, w in x)


def nash_search(
    book,
    mechanism: str = "uniform",
    players=None,
    markups=21,
    withhold=False,
    max_rounds: int = 50,
    tol: float = 1e-6,
    progress: Callable[[float, str], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    *,
    start=None,
    buyers: bool = False,
    m_max: float = 1.0,
    w_max: float = 0.5,
    refine: int = 2,
    refine_points: int = 9,
    **mechanism_kwargs,
) -> NashResult:
    """Search a pure Nash equilibrium of the bidding game by best-response dynamics ("Strategic Behavior").

    ``book`` is the truthful :class:`~core.mechanisms.OrderBook` (or a ready
    :class:`BiddingGame`, whose settings are then used). From ``start`` (default
    truthful, ``m = w = 0``) the players move in turn; player ``i`` switches to
    its best response (:meth:`BiddingGame.best_response`) only when that beats
    its current payoff by more than ``tol``. Stops when

    * a whole round passes without a switch: **converged** — ``x*`` with
      ``u_i(x*) ≥ u_i(s_i, x*_{−i}) − tol`` for every searched ``s_i``;
    * the profile after a round equals one after an earlier round: **cycling**
      (the dynamics are deterministic, so they repeat forever; the game may
      have no pure equilibrium on the grid — an Edgeworth cycle, say);
    * ``max_rounds`` rounds pass, or ``cancelled()`` returns true.

    Then each player's best deviation at the final profile is searched afresh
    and the true welfare ``Σ v·x − Σ c·y`` is compared with truthful bidding.
    ``progress(fraction, text)`` is called after every best response.
    """
    game = (
        book
        if isinstance(book, BiddingGame)
        else BiddingGame(
            book,
            mechanism,
            players,
            buyers=buyers,
            markups=markups,
            m_max=m_max,
            withhold=withhold,
            w_max=w_max,
            refine=refine,
            refine_points=refine_points,
            **mechanism_kwargs,
        )
    )
    if isinstance(max_rounds, bool) or not isinstance(max_rounds, (int, np.integer)) or max_rounds < 1:
        raise ValueError(f"max_rounds must be a whole number ≥ 1, got {max_rounds!r}")
    tol = _num(tol, "tol")
    n = game.n
    x = game.truthful_profile() if start is None else np.array(start, dtype=np.float64).reshape(n, 2)
    truthful = game.play(game.truthful_profile())
    welfare_optimal = _optimal_welfare(game.truth)

    def report(fraction: float, text: str) -> None:
        if progress is not None:
            progress(min(max(fraction, 0.0), 1.0), text)

    path = [PathStep(0, None, _as_tuple(x), game.play(x).price)]
    seen = {_key(x): 0}
    converged = cycling = stopped = False
    cycle_rounds = None
    rounds = 0
    for r in range(1, int(max_rounds) + 1):
        rounds = r
        moved = False
        for i in range(n):
            if cancelled is not None and cancelled():
                stopped = True
                break
            s, val, cur = game.best_response(i, x)
            if val > cur + tol:
                x[i] = s
                moved = True
                path.append(PathStep(r, game.players[i].name, _as_tuple(x), game.play(x).price))
            report(0.9 * ((r - 1) * n + i + 1) / (max_rounds * n), f"round {r}: {game.players[i].name}")
        if stopped:
            break
        if not moved:
            converged = True
            break
        k = _key(x)
        if k in seen:
            cycling = True
            cycle_rounds = r - seen[k]
            break
        seen[k] = r

    # best deviations at the final profile: a fresh search, not the dynamics' record
    at = game.play(x)
    gain = np.full(n, np.nan)
    dev = np.full((n, 2), np.nan)
    if not stopped:
        for i in range(n):
            if cancelled is not None and cancelled():
                stopped = True
                break
            s, val, cur = game.best_response(i, x)
            gain[i], dev[i] = val - cur, s
            report(0.9 + 0.1 * (i + 1) / n, f"checking deviations: {game.players[i].name}")
    table = pd.DataFrame(
        {
            "agent": list(game.player_names),
            "side": [p.side for p in game.players],
            "markup": x[:, 0],
            "withheld": x[:, 1],
            "sold_kwh": at.outcome.agent_sold[game._codes],
            "bought_kwh": at.outcome.agent_bought[game._codes],
            "profit": at.payoffs,
            "truthful_profit": truthful.payoffs,
            "best_deviation_gain": gain,
            "best_deviation_markup": dev[:, 0],
            "best_deviation_withheld": dev[:, 1],
        }
    )
    if stopped:
        converged = cycling = False
    common = dict(
        game=game,
        converged=converged,
        cycling=cycling,
        cancelled=stopped,
        rounds=rounds,
        path=tuple(path),
        last_profile=_as_tuple(x),
        table=table,
        welfare_truthful=truthful.welfare,
        welfare_optimal=welfare_optimal,
        price_truthful=truthful.price,
        cycle_rounds=cycle_rounds,
        tol=tol,
    )
    if converged:
        msg = (
            f"converged after {rounds} rounds: price {at.price:.6g}, true welfare {at.welfare:.6g} vs "
            f"{truthful.welfare:.6g} truthful (lost {truthful.welfare - at.welfare:.6g}); largest deviation "
            f"gain {np.nanmax(gain) if n else 0.0:.3g} (tol {tol:g})"
        )
        report(1.0, msg)
        return NashResult(
            **common,
            equilibrium=_as_tuple(x),
            price=at.price,
            profits=at.payoffs.copy(),
            welfare_equilibrium=at.welfare,
            welfare_lost=truthful.welfare - at.welfare,
            message=msg,
        )
    if stopped:
        msg = f"cancelled in round {rounds}: no equilibrium reported"
    elif cycling:
        msg = (
            f"no pure equilibrium found: best responses cycle (the profile after round {rounds} repeats the one "
            f"after round {rounds - cycle_rounds}, a cycle of {cycle_rounds} rounds)"
        )
    else:
        msg = f"no pure equilibrium found: best responses had not settled after {rounds} rounds"
    report(1.0, msg)
    return NashResult(**common, message=msg)
