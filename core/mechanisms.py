"""Clearing mechanisms of a one-period double auction of divisible price–quantity blocks.

Implements the chapter's section "Market Design I: Clearing Mechanisms and Economic
Properties": the uniform-price double auction (k-pricing, midpoint by default),
pay-as-bid, VCG with the Clarke pivot, and McAfee's (1992) trade reduction. Each
mechanism takes an :class:`OrderBook` and returns an :class:`AuctionOutcome`
(fills per block, kWh and payments per agent, declared welfare, platform surplus).

Conventions
-----------
* A buy block (a *bid*) is "buy up to ``buy_qty`` kWh, paying at most ``buy_price``
  per kWh"; a sell block (an *ask*) is "sell up to ``sell_qty`` kWh for at least
  ``sell_price`` per kWh". Blocks are divisible: any part of a block may clear.
* **Merit order.** Bids are taken by price descending, asks by price ascending; ties
  are broken by block index (the lower index first). Every function here uses this
  one order, so results are deterministic.
* **Efficient allocation.** With demand step curve ``P_d(q)`` and supply step curve
  ``P_s(q)`` in merit order, the traded quantity is
  ``Q* = sup{q : P_d(q) ≥ P_s(q)} = max_p min(D(p), S(p))`` with
  ``D(p) = Σ_{bid ≥ p} qty`` and ``S(p) = Σ_{ask ≤ p} qty`` (bid = ask trades are
  included, as in the chapter's "bid ≥ ask"). Blocks are filled along the merit
  order up to ``Q*``; at most one block per side is split.
* **Walrasian price interval (divisible blocks).** A price ``p`` supports the
  allocation when nobody wants to change it at ``p``: every block with a fill > 0
  is willing (bid ≥ p, ask ≤ p) and every block with unfilled quantity is unwilling
  to trade more (bid ≤ p, ask ≥ p). Hence
  ``lo = max(highest filled ask, highest bid with unfilled quantity)`` and
  ``hi = min(lowest filled bid, lowest ask with unfilled quantity)``.
  A partially filled block is both filled and unfilled, so it pins the interval to
  its own price: ``lo = hi = its price`` (the only price at which its owner is
  content with a part of the block). With unit-like blocks that clear whole this is
  the familiar ``[max(a_k, b_{k+1}), min(b_k, a_{k+1})]``. It is never empty.
  The chapter's text instead quotes the "marginal pair" interval ``[a_k, b_k]``
  (marginal accepted ask and bid); both are offered (``interval=``).
* **Numerical tolerance.** Cumulative quantities are compared with a tolerance of
  ``4·(n+8)·eps·(side total)`` kWh (float summation error), so a block whose fill
  or remainder is below it counts as untouched or as full.
* **Speed.** For books of ≥ 4096 blocks the crossing is found by bucketing prices
  into ``n/16`` equal bins (one ``bincount`` per side), locating the one bin where
  the curves cross and sorting only that bin's blocks: expected ``O(n)``, and the
  result equals the full merit-order sort (the sort within a bin keeps the same
  tie-break). Small books are sorted outright.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd

from core.errors import Problem, ScenarioError

if TYPE_CHECKING:
    from core.scenario.model import Prosumer

__all__ = [
    "MECHANISMS",
    "Allocation",
    "AuctionOutcome",
    "Curves",
    "Marginal",
    "OrderBook",
    "efficient_allocation",
    "fills_by_group",
    "pay_as_bid",
    "supply_demand_curves",
    "trade_reduction",
    "uniform_price",
    "vcg",
]

_EPS = float(np.finfo(np.float64).eps)
_BUCKET_FROM = 4096  # books with at least this many blocks are cleared by bucketing
_BLOCKS_PER_BIN = 16
_MAX_LISTED = 5  # problems listed per kind of bad input

# ---------------------------------------------------------------------------
# the order book
# ---------------------------------------------------------------------------


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _float_array(value, field: str, side: str, problems: list[Problem]) -> np.ndarray | None:
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        problems.append(Problem(field=field, message=f"{side} side: {field} must be numbers"))
        return None
    if arr.ndim != 1:
        problems.append(
            Problem(field=field, message=f"{side} side: {field} must be one-dimensional, got shape {arr.shape}")
        )
        return None
    return arr


def _code_array(value, field: str, side: str, problems: list[Problem]) -> np.ndarray | None:
    try:
        raw = np.asarray(value)
        if raw.size == 0:
            raw = raw.astype(np.int64)
        if raw.dtype.kind not in "iuf" or raw.ndim != 1:
            raise TypeError
        if raw.dtype.kind == "f" and not np.all(np.isfinite(raw) & (raw == np.round(raw))):
            raise TypeError
    except (TypeError, ValueError):
        problems.append(Problem(field=field, message=f"{side} side: {field} must be whole-number agent codes"))
        return None
    return raw.astype(np.int64)


def _list_bad(
    problems: list[Problem],
    bad: np.ndarray,
    field: str,
    what: str,
    values: np.ndarray,
    side: str,
    names: Callable[[int], str | None],
) -> None:
    for i in bad[:_MAX_LISTED]:
        i = int(i)
        problems.append(
            Problem(
                field=f"{field}[{i}]",
                message=f"{side} block {i}: {what}, got {values[i].item()!r}",
                row=i,
                row_id=names(i),
            )
        )
    if bad.size > _MAX_LISTED:
        problems.append(Problem(field=field, message=f"{side} side: {bad.size - _MAX_LISTED} more blocks where {what}"))


@dataclass(frozen=True, eq=False)
class OrderBook:
    """Divisible price–quantity blocks of one period. Arrays of equal length per side.

    ``buy_price[i]`` is the most buy block ``i`` pays per kWh for up to ``buy_qty[i]``
    kWh; ``sell_price[j]`` the least sell block ``j`` accepts per kWh for up to
    ``sell_qty[j]`` kWh. ``buy_agent``/``sell_agent`` are codes into ``agents`` (an
    agent may have buy and sell blocks). Prices may be negative; quantities must be
    positive. Constructing a book validates it and raises
    :class:`~core.errors.ScenarioError` (a ``ValueError``) naming the side and block
    index of each problem; the stored arrays are read-only copies.
    """

    buy_price: np.ndarray  # per kWh
    buy_qty: np.ndarray  # kWh, > 0
    buy_agent: np.ndarray  # int codes into `agents`
    sell_price: np.ndarray
    sell_qty: np.ndarray
    sell_agent: np.ndarray
    agents: tuple[str, ...]

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        agents = self.agents
        if isinstance(agents, str) or not isinstance(agents, Iterable):
            raise ScenarioError(Problem(field="agents", message="agents must be a sequence of names"))
        agents = tuple(agents)
        seen: dict[str, int] = {}
        for i, name in enumerate(agents):
            if not isinstance(name, str) or not name:
                problems.append(
                    Problem(
                        field=f"agents[{i}]", message=f"agent {i}: a name must be non-empty text, got {name!r}", row=i
                    )
                )
            elif name in seen:
                problems.append(
                    Problem(
                        field=f"agents[{i}]",
                        message=f"agent {i}: duplicates agent {seen[name]} ('{name}')",
                        row=i,
                        row_id=name,
                    )
                )
            else:
                seen[name] = i
        object.__setattr__(self, "agents", agents)
        n_agents = len(agents)

        for side in ("buy", "sell"):
            price = _float_array(getattr(self, f"{side}_price"), f"{side}_price", side, problems)
            qty = _float_array(getattr(self, f"{side}_qty"), f"{side}_qty", side, problems)
            code = _code_array(getattr(self, f"{side}_agent"), f"{side}_agent", side, problems)
            if price is None or qty is None or code is None:
                continue
            if not (price.size == qty.size == code.size):
                problems.append(
                    Problem(
                        field=f"{side}_price",
                        message=(
                            f"{side} side: {side}_price, {side}_qty and {side}_agent must have equal lengths, "
                            f"got {price.size}, {qty.size} and {code.size}"
                        ),
                    )
                )
                continue
            bad_code = np.flatnonzero((code < 0) | (code >= n_agents))
            _list_bad(
                problems,
                bad_code,
                f"{side}_agent",
                f"the agent code must be in 0…{n_agents - 1}",
                code,
                side,
                lambda i: None,
            )

            def name(i: int, code=code) -> str | None:
                c = int(code[i])
                return agents[c] if 0 <= c < n_agents and isinstance(agents[c], str) else None

            _list_bad(
                problems,
                np.flatnonzero(~np.isfinite(price)),
                f"{side}_price",
                "the price must be a finite number",
                price,
                side,
                name,
            )
            _list_bad(
                problems,
                np.flatnonzero(~(np.isfinite(qty) & (qty > 0))),
                f"{side}_qty",
                "the quantity must be a positive finite number of kWh",
                qty,
                side,
                name,
            )
            object.__setattr__(self, f"{side}_price", _frozen(price))
            object.__setattr__(self, f"{side}_qty", _frozen(qty))
            object.__setattr__(self, f"{side}_agent", _frozen(code))
        if problems:
            raise ScenarioError(problems)

    # --- construction -----------------------------------------------------
    @classmethod
    def from_blocks(
        cls, buys: Sequence[tuple[str, float, float]], sells: Sequence[tuple[str, float, float]]
    ) -> OrderBook:
        """A book from ``(agent, price_per_kwh, qty_kwh)`` tuples; agents are numbered in order of appearance."""
        codes: dict[str, int] = {}
        cols: dict[str, tuple[list[float], list[float], list[int]]] = {}
        problems: list[Problem] = []
        for side, blocks in (("buy", buys), ("sell", sells)):
            prices: list[float] = []
            qtys: list[float] = []
            agent_codes: list[int] = []
            for i, blk in enumerate(blocks):
                try:
                    agent, price, qty = blk
                except (TypeError, ValueError):
                    problems.append(
                        Problem(
                            field=f"{side}[{i}]",
                            row=i,
                            message=(f"{side} block {i}: must be (agent, price, qty), got {blk!r}"),
                        )
                    )
                    continue
                ok = True
                if not isinstance(agent, str) or not agent:
                    problems.append(
                        Problem(
                            field=f"{side}[{i}].agent",
                            row=i,
                            message=(f"{side} block {i}: the agent must be a non-empty name, got {agent!r}"),
                        )
                    )
                    ok = False
                for what, v in (("price", price), ("qty", qty)):
                    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
                        problems.append(
                            Problem(
                                field=f"{side}_{what}[{i}]",
                                row=i,
                                message=(f"{side} block {i}: the {what} must be a number, got {v!r}"),
                            )
                        )
                        ok = False
                if ok:
                    agent_codes.append(codes.setdefault(agent, len(codes)))
                    prices.append(float(price))
                    qtys.append(float(qty))
            cols[side] = (prices, qtys, agent_codes)
        if problems:
            raise ScenarioError(problems)
        return cls(
            buy_price=np.array(cols["buy"][0], dtype=np.float64),
            buy_qty=np.array(cols["buy"][1], dtype=np.float64),
            buy_agent=np.array(cols["buy"][2], dtype=np.int64),
            sell_price=np.array(cols["sell"][0], dtype=np.float64),
            sell_qty=np.array(cols["sell"][1], dtype=np.float64),
            sell_agent=np.array(cols["sell"][2], dtype=np.int64),
            agents=tuple(codes),
        )

    @classmethod
    def from_prosumers(cls, prosumers: Iterable[Prosumer], period: int | None = None) -> OrderBook:
        """The explicit bids (:class:`~core.scenario.model.BidBlock`) of ``prosumers`` for one period.

        A block enters when its ``period`` is ``None`` (every period) or equals ``period``;
        ``period=None`` takes every block. Agents are the prosumer ids, all of them (a
        prosumer without blocks is listed and trades nothing).
        """
        buys: list[tuple[str, float, float]] = []
        sells: list[tuple[str, float, float]] = []
        agents: list[str] = []
        for p in prosumers:
            agents.append(p.id)
            for k, b in enumerate(p.bids):
                if b.side not in ("buy", "sell"):
                    raise ScenarioError(
                        Problem(
                            field=f"bids[{k}].side", row_id=p.id, message=f"must be 'buy' or 'sell', got {b.side!r}"
                        )
                    )
                if period is None or b.period is None or b.period == period:
                    (buys if b.side == "buy" else sells).append((p.id, b.price_per_kwh, b.quantity_kwh))
        code = {a: i for i, a in enumerate(agents)}

        def cols(blocks):
            return (
                np.array([b[1] for b in blocks], dtype=np.float64),
                np.array([b[2] for b in blocks], dtype=np.float64),
                np.array([code[b[0]] for b in blocks], dtype=np.int64),
            )

        bp, bq, ba = cols(buys)
        sp, sq, sa = cols(sells)
        return cls(bp, bq, ba, sp, sq, sa, tuple(agents))

    def without_agent(self, code: int) -> OrderBook:
        """The book with every block of agent ``code`` removed; ``agents`` (and so every code) is unchanged."""
        if isinstance(code, bool) or not isinstance(code, (int, np.integer)) or not 0 <= code < len(self.agents):
            raise ValueError(f"agent code must be in 0…{len(self.agents) - 1}, got {code!r}")
        kb = self.buy_agent != code
        ks = self.sell_agent != code
        return OrderBook(
            self.buy_price[kb],
            self.buy_qty[kb],
            self.buy_agent[kb],
            self.sell_price[ks],
            self.sell_qty[ks],
            self.sell_agent[ks],
            self.agents,
        )

    @property
    def n_buy(self) -> int:
        return int(self.buy_price.size)

    @property
    def n_sell(self) -> int:
        return int(self.sell_price.size)


# ---------------------------------------------------------------------------
# curves and the efficient allocation
# ---------------------------------------------------------------------------


class Curves(NamedTuple):
    """Demand and supply step curves in merit order.

    Step ``i`` of the demand curve spans ``demand_q[i] … demand_q[i+1]`` kWh at
    ``demand_p[i]`` per kWh and is buy block ``demand_block_index[i]``; so
    ``demand_q`` has one more entry than ``demand_p`` (it starts at 0), which is the
    form ``pyqtgraph``'s ``stepMode="center"`` takes. Likewise for supply.
    """

    demand_q: np.ndarray
    demand_p: np.ndarray
    demand_block_index: np.ndarray
    supply_q: np.ndarray
    supply_p: np.ndarray
    supply_block_index: np.ndarray


def _merit_order(buy_price: np.ndarray, sell_price: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bids by price descending, asks ascending; ties by block index (stable sorts)."""
    return np.argsort(-buy_price, kind="stable"), np.argsort(sell_price, kind="stable")


def supply_demand_curves(book: OrderBook) -> Curves:
    """The demand and supply step curves of ``book`` ("Market Design I": sort bids descending, asks ascending).

    ``demand_q = [0, q_(1), q_(1)+q_(2), …]`` with ``q_(i)`` the quantity of the
    i-th bid in merit order (price descending, ties by block index) and
    ``demand_p[i] = b_(i)`` (non-increasing); supply likewise with asks ascending
    (``supply_p`` non-decreasing). ``*_block_index`` says which block each step is.
    """
    ob, os_ = _merit_order(book.buy_price, book.sell_price)
    dq = np.concatenate(([0.0], np.cumsum(book.buy_qty[ob])))
    sq = np.concatenate(([0.0], np.cumsum(book.sell_qty[os_])))
    return Curves(dq, book.buy_price[ob], ob, sq, book.sell_price[os_], os_)


def _snap(cum: np.ndarray, qty: np.ndarray, q_star: float, tol: float) -> np.ndarray:
    """Fills of blocks occupying ``(cum - qty, cum]`` on a curve cleared up to ``q_star`` (merit order)."""
    prev = np.empty_like(cum)
    prev[0] = 0.0
    prev[1:] = cum[:-1]
    partial = np.clip(q_star - prev, 0.0, qty)
    return np.where(prev >= q_star - tol, 0.0, np.where(cum <= q_star + tol, qty, partial))


def _cross(bp: np.ndarray, bq: np.ndarray, sp: np.ndarray, sq: np.ndarray, tol: float):
    """Merit-order fills by sorting everything: ``Q* = max_j min(D_j, S(b_j))``."""
    ob, os_ = _merit_order(bp, sp)
    bps, bqs = bp[ob], bq[ob]
    sps, sqs = sp[os_], sq[os_]
    d_cum = np.cumsum(bqs)
    s_cum = np.cumsum(sqs)
    s_at = np.concatenate(([0.0], s_cum))[np.searchsorted(sps, bps, side="right")]  # S(b_j): asks ≤ b_j
    q_star = max(float(np.max(np.minimum(d_cum, s_at))), 0.0)
    bf = np.empty_like(bq)
    sf = np.empty_like(sq)
    bf[ob] = _snap(d_cum, bqs, q_star, tol)
    sf[os_] = _snap(s_cum, sqs, q_star, tol)
    return bf, sf


def _bins(p: np.ndarray, lo: float, scale: float, nbins: int) -> np.ndarray:
    g = (p - lo) * scale  # monotone in p (IEEE rounding is monotone)
    g = g.astype(np.int64)
    np.minimum(g, nbins - 1, out=g)
    return g


def _fills(bp: np.ndarray, bq: np.ndarray, sp: np.ndarray, sq: np.ndarray, nbins: int | None = None):
    """Efficient fills per block (buy_fill, sell_fill), in merit order with the block-index tie-break.

    ``nbins=None`` chooses: the full sort below ``_BUCKET_FROM`` blocks, else ``n/16``
    price bins. Bucketing: with ``g(p)`` the bin of price ``p``, ``hi_d[j] = Σ_{g(bid) ≥ j} q``,
    ``lo_d[j] = hi_d[j+1]``, ``hi_s[j] = Σ_{g(ask) ≤ j} q``, ``lo_s[j] = hi_s[j-1]``; the
    last ``j`` with ``hi_d[j] ≥ lo_s[j]`` also has ``hi_s[j] ≥ lo_d[j]``, so
    ``Q* ∈ [max(lo_d, lo_s), min(hi_d, hi_s)]`` at ``j``: bids above bin ``j`` and asks
    below it clear whole, those beyond it not at all, and only bin ``j`` is sorted
    (with two sentinel blocks carrying the quantities already cleared).
    """
    nb, ns = bp.size, sp.size
    if nb == 0 or ns == 0:
        return np.zeros(nb), np.zeros(ns)
    bmax, smin = float(bp.max()), float(sp.min())
    if bmax < smin:
        return np.zeros(nb), np.zeros(ns)
    tol = 4.0 * (nb + ns + 8) * _EPS * max(float(bq.sum()), float(sq.sum()))
    n = nb + ns
    if nbins is None:
        nbins = n // _BLOCKS_PER_BIN if n >= _BUCKET_FROM else 1
    lo = min(float(bp.min()), smin)
    span = max(bmax, float(sp.max())) - lo
    scale = nbins / span if np.isfinite(span) and span > 0.0 else 0.0
    if nbins < 2 or not (np.isfinite(scale) and scale > 0.0):  # one price, or a span too small/large to bin
        return _cross(bp, bq, sp, sq, tol)

    gb = _bins(bp, lo, scale, nbins)
    gs = _bins(sp, lo, scale, nbins)
    hi_d = np.cumsum(np.bincount(gb, weights=bq, minlength=nbins)[::-1])[::-1]
    hi_s = np.cumsum(np.bincount(gs, weights=sq, minlength=nbins))
    lo_s = np.concatenate(([0.0], hi_s[:-1]))
    j = int(np.count_nonzero(hi_d >= lo_s)) - 1  # hi_d non-increasing, lo_s non-decreasing: a prefix
    pre_d = float(hi_d[j + 1]) if j + 1 < nbins else 0.0  # bids in bins above j
    pre_s = float(lo_s[j])  # asks in bins below j
    wb = np.flatnonzero(gb == j)
    ws = np.flatnonzero(gs == j)
    fb, fs = _cross(
        np.concatenate(([np.inf], bp[wb])),
        np.concatenate(([pre_d], bq[wb])),
        np.concatenate(([-np.inf], sp[ws])),
        np.concatenate(([pre_s], sq[ws])),
        tol,
    )
    bf = np.where(gb > j, bq, 0.0)
    sf = np.where(gs < j, sq, 0.0)
    bf[wb] = fb[1:]
    sf[ws] = fs[1:]
    return bf, sf


def fills_by_group(
    group: np.ndarray, is_buy: np.ndarray, price: np.ndarray, qty: np.ndarray, n_groups: int
) -> np.ndarray:
    """The efficient allocation of many small books at once: every group's bids against its own asks.

    Blocks are rows (``group``, ``is_buy``, ``price``, ``qty``); within each group the
    bids (price descending) meet the asks (ascending) while ``bid ≥ ask``, exactly as
    :func:`efficient_allocation` clears one book (same merit order, ties by row index,
    ``Q*_g = max_j min(D_g(b_j), S_g(b_j))``). Returns the fill of every row (kWh).
    One sort for all groups, no loop over them: a prosumer's own blocks are netted, and
    every prosumer settles with the grid, in one call per period (:mod:`core.bids`).
    """
    n = price.size
    fills = np.zeros(n)
    if n == 0:
        return fills
    group = np.asarray(group, dtype=np.int64)
    rank = np.unique(price, return_inverse=True)[1].astype(np.int64)  # dense price rank, 0…R−1
    R = int(rank.max()) + 2
    buys, sells = np.flatnonzero(is_buy), np.flatnonzero(~is_buy)
    if buys.size == 0 or sells.size == 0:
        return fills
    ob = buys[np.lexsort((buys, -rank[buys], group[buys]))]  # by group, price descending, row
    os_ = sells[np.lexsort((sells, rank[sells], group[sells]))]  # by group, price ascending, row
    gb, gs = group[ob], group[os_]
    d_cum_all = np.cumsum(qty[ob])
    s_cum_all = np.concatenate(([0.0], np.cumsum(qty[os_])))
    start_b = np.searchsorted(gb, np.arange(n_groups))  # first bid of each group in `ob`
    start_s = np.searchsorted(gs, np.arange(n_groups))
    d_base = np.concatenate(([0.0], d_cum_all))[start_b]  # Σ of earlier groups' bids
    d_cum = d_cum_all - d_base[gb]
    # S_g(b_j): the group's asks priced ≤ b_j
    key_s = gs * R + rank[os_]
    upto = np.searchsorted(key_s, gb * R + rank[ob], side="right")
    s_at = s_cum_all[upto] - s_cum_all[start_s[gb]]
    cross = np.minimum(d_cum, s_at)
    q_star = np.zeros(n_groups)
    np.maximum.at(q_star, gb, cross)
    tol = 4.0 * (n + 8) * _EPS * max(float(qty.sum()), 1.0)
    fills[ob] = _snap_grouped(d_cum, qty[ob], q_star[gb], tol)
    s_cum = s_cum_all[1:] - s_cum_all[start_s[gs]]
    fills[os_] = _snap_grouped(s_cum, qty[os_], q_star[gs], tol)
    return fills


def _snap_grouped(cum: np.ndarray, qty: np.ndarray, q_star: np.ndarray, tol: float) -> np.ndarray:
    """:func:`_snap` with one cleared quantity per row (its group's)."""
    prev = cum - qty
    partial = np.clip(q_star - prev, 0.0, qty)
    return np.where(prev >= q_star - tol, 0.0, np.where(cum <= q_star + tol, qty, partial))


@dataclass(frozen=True)
class Marginal:
    """Where the efficient allocation stops (block indices into the book's sides; ``None`` when absent).

    ``buy_block`` is the marginal accepted bid ``b_k`` (the last bid in merit order
    with a fill > 0) and ``next_buy_block`` the first rejected one ``b_{k+1}`` (the
    first in merit order with unfilled quantity — the same block when ``b_k`` is
    only partly filled); likewise for asks. ``walrasian`` and ``marginal_pair`` are
    the two price intervals of the module docstring (``None`` when nothing clears).
    """

    traded_qty: float
    welfare: float
    buy_block: int | None
    sell_block: int | None
    next_buy_block: int | None
    next_sell_block: int | None
    bid_price: float | None
    ask_price: float | None
    next_bid_price: float | None
    next_ask_price: float | None
    buy_partial: bool
    sell_partial: bool
    walrasian: tuple[float, float] | None
    marginal_pair: tuple[float, float] | None


class Allocation(NamedTuple):
    """The efficient allocation: kWh per buy block and per sell block, and where it stops."""

    buy_fill: np.ndarray
    sell_fill: np.ndarray
    marginal: Marginal


def _pick(mask: np.ndarray, price: np.ndarray, lowest: bool, last: bool) -> int | None:
    """Index of the lowest (or highest) price under ``mask``; among ties the last (or first) index."""
    if not mask.any():
        return None
    v = np.where(mask, price, np.inf).min() if lowest else np.where(mask, price, -np.inf).max()
    idx = np.flatnonzero(mask & (price == v))
    return int(idx[-1] if last else idx[0])


def _marginal(book: OrderBook, bf: np.ndarray, sf: np.ndarray) -> Marginal:
    bp, bq, sp, sq = book.buy_price, book.buy_qty, book.sell_price, book.sell_qty
    traded = float(bf.sum())
    welfare = float(bp @ bf - sp @ sf)
    filled_b, open_b = bf > 0, bf < bq
    filled_s, open_s = sf > 0, sf < sq
    kb = _pick(filled_b, bp, lowest=True, last=True)
    ks = _pick(filled_s, sp, lowest=False, last=True)
    nb = _pick(open_b, bp, lowest=False, last=False)
    ns = _pick(open_s, sp, lowest=True, last=False)

    def price(arr: np.ndarray, i: int | None) -> float | None:
        return None if i is None else float(arr[i])

    bid, ask, nbid, nask = price(bp, kb), price(sp, ks), price(bp, nb), price(sp, ns)
    walrasian = pair = None
    if kb is not None and ks is not None:
        lo = ask if nbid is None else max(ask, nbid)
        hi = bid if nask is None else min(bid, nask)
        walrasian = (lo, hi)
        pair = (ask, bid)
    return Marginal(
        traded_qty=traded,
        welfare=welfare,
        buy_block=kb,
        sell_block=ks,
        next_buy_block=nb,
        next_sell_block=ns,
        bid_price=bid,
        ask_price=ask,
        next_bid_price=nbid,
        next_ask_price=nask,
        buy_partial=kb is not None and kb == nb,
        sell_partial=ks is not None and ks == ns,
        walrasian=walrasian,
        marginal_pair=pair,
    )


def efficient_allocation(book: OrderBook) -> Allocation:
    """The declared-welfare-maximizing allocation ("Market Design I": match highest bids with lowest asks).

    Maximizes ``W = Σ_i b_i x_i − Σ_j a_j y_j`` subject to ``Σ x = Σ y``,
    ``0 ≤ x_i ≤ q_i``, ``0 ≤ y_j ≤ q_j``: fill bids in merit order (price descending)
    against asks in merit order (ascending) while ``bid ≥ ask``, up to
    ``Q* = max_p min(D(p), S(p))``; divisible, so the crossing may split one block
    per side. Returns ``(buy_fill, sell_fill, marginal)``.
    """
    bf, sf = _fills(book.buy_price, book.buy_qty, book.sell_price, book.sell_qty)
    return Allocation(bf, sf, _marginal(book, bf, sf))


# ---------------------------------------------------------------------------
# outcomes
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class AuctionOutcome:
    """The result of one mechanism on one book.

    ``price`` is the single price everybody trades at when there is one (uniform
    price; trade reduction when it keeps all trades at ``p0``), else ``None``.
    ``price_interval`` is the interval of clearing prices: for ``uniform`` the one
    the price was chosen in (per ``interval=``), for the other mechanisms the
    Walrasian interval of the efficient allocation, for reference; ``None`` when
    nothing clears. ``agent_payment[i]`` is what agent ``i`` pays the platform
    (negative: receives); ``platform_surplus = Σ agent_payment`` (≥ 0: weakly budget
    balanced, < 0: a deficit). ``declared_welfare = Σ bid·fill − Σ ask·fill``.
    """

    mechanism: str
    price: float | None
    price_interval: tuple[float, float] | None
    buy_fill: np.ndarray
    sell_fill: np.ndarray
    agent_bought: np.ndarray
    agent_sold: np.ndarray
    agent_payment: np.ndarray
    declared_welfare: float
    platform_surplus: float
    traded_qty: float
    notes: str

    def agent_frame(self, book: OrderBook) -> pd.DataFrame:
        """One row per agent: ``agent, bought_kwh, sold_kwh, payment, declared_value, declared_cost,
        declared_surplus``.

        ``declared_value = Σ bid·fill`` over the agent's buy blocks,
        ``declared_cost = Σ ask·fill`` over its sell blocks, and
        ``declared_surplus = declared_value − declared_cost − payment`` (its quasilinear
        utility at declared prices: value − payment for a buyer, payment received −
        cost for a seller). Individual rationality is ``declared_surplus ≥ 0``.
        """
        if book.buy_price.shape != self.buy_fill.shape or book.sell_price.shape != self.sell_fill.shape:
            raise ValueError(
                "agent_frame: the book is not the one this outcome was cleared from "
                f"({book.n_buy}/{book.n_sell} blocks vs {self.buy_fill.size}/{self.sell_fill.size})"
            )
        n = len(book.agents)
        value = np.bincount(book.buy_agent, weights=book.buy_price * self.buy_fill, minlength=n)
        cost = np.bincount(book.sell_agent, weights=book.sell_price * self.sell_fill, minlength=n)
        return pd.DataFrame(
            {
                "agent": list(book.agents),
                "bought_kwh": self.agent_bought,
                "sold_kwh": self.agent_sold,
                "payment": self.agent_payment,
                "declared_value": value,
                "declared_cost": cost,
                "declared_surplus": value - cost - self.agent_payment,
            }
        )


def _money(book: OrderBook, buyer_pays: np.ndarray, seller_gets: np.ndarray) -> np.ndarray:
    """Per-agent payment from per-block money: ``Σ buyer_pays − Σ seller_gets`` over the agent's blocks."""
    n = len(book.agents)
    return np.bincount(book.buy_agent, weights=buyer_pays, minlength=n) - np.bincount(
        book.sell_agent, weights=seller_gets, minlength=n
    )


def _outcome(
    book: OrderBook,
    mechanism: str,
    price: float | None,
    interval: tuple[float, float] | None,
    bf: np.ndarray,
    sf: np.ndarray,
    payment: np.ndarray,
    notes: str,
) -> AuctionOutcome:
    """Assemble an outcome from per-block fills and per-agent payments."""
    n = len(book.agents)
    return AuctionOutcome(
        mechanism=mechanism,
        price=price,
        price_interval=interval,
        buy_fill=bf,
        sell_fill=sf,
        agent_bought=np.bincount(book.buy_agent, weights=bf, minlength=n),
        agent_sold=np.bincount(book.sell_agent, weights=sf, minlength=n),
        agent_payment=payment,
        declared_welfare=float(book.buy_price @ bf - book.sell_price @ sf),
        platform_surplus=float(payment.sum()),
        traded_qty=float(bf.sum()),
        notes=notes,
    )


def _no_trade_note(book: OrderBook) -> str:
    if book.n_buy == 0 or book.n_sell == 0:
        return f"nothing clears: no {'buy' if book.n_buy == 0 else 'sell'} blocks"
    return (
        f"nothing clears: the highest bid {float(book.buy_price.max()):g} is below "
        f"the lowest ask {float(book.sell_price.min()):g}"
    )


def _no_trade(book: OrderBook, mechanism: str) -> AuctionOutcome:
    z_b, z_s = np.zeros(book.n_buy), np.zeros(book.n_sell)
    return _outcome(book, mechanism, None, None, z_b, z_s, np.zeros(len(book.agents)), _no_trade_note(book))


# ---------------------------------------------------------------------------
# mechanisms
# ---------------------------------------------------------------------------


def uniform_price(book: OrderBook, k: float = 0.5, interval: str = "walrasian") -> AuctionOutcome:
    """Uniform-price double auction with k-pricing ("Market Design I").

    Efficient allocation (:func:`efficient_allocation`); one price
    ``p = lo + k·(hi − lo)`` (computed as ``(1−k)·lo + k·hi``), ``0 ≤ k ≤ 1``, on the
    interval ``[lo, hi]`` of clearing prices:

    * ``interval="walrasian"`` (default): ``lo = max(a_k, b_{k+1})``,
      ``hi = min(b_k, a_{k+1})`` over filled / unfilled blocks; a partially filled
      block pins ``lo = hi`` to its own price (module docstring);
    * ``interval="marginal_pair"`` (the chapter's wording): ``lo = a_k``, ``hi = b_k``,
      the marginal accepted ask and bid.

    Buyers pay ``p·fill``, sellers receive ``p·fill``: strongly budget balanced
    (platform surplus 0), individually rational since ``a_k ≤ p ≤ b_k``. The
    chapter's example (bids 12, 10, 8; asks 5, 7, 9; 1 kWh each) trades 2 kWh at 8.5.
    Nothing clears → ``price=None`` and zero fills.
    """
    if isinstance(k, bool) or not isinstance(k, (int, float, np.integer, np.floating)) or not 0.0 <= k <= 1.0:
        raise ValueError(f"k must be a number in [0, 1], got {k!r}")
    if interval not in ("walrasian", "marginal_pair"):
        raise ValueError(f"interval must be 'walrasian' or 'marginal_pair', got {interval!r}")
    bf, sf, m = efficient_allocation(book)
    if m.walrasian is None or m.marginal_pair is None:
        return _no_trade(book, "uniform")
    lo, hi = m.walrasian if interval == "walrasian" else m.marginal_pair
    price = min(max((1.0 - k) * lo + k * hi, lo), hi)
    note = f"{m.traded_qty:g} kWh at {price:g} (k = {k:g} on the {interval} interval [{lo:g}, {hi:g}])"
    if interval == "walrasian" and (m.buy_partial or m.sell_partial):
        side, blk = ("buy", m.buy_block) if m.buy_partial else ("sell", m.sell_block)
        note += f"; {side} block {blk} is partly filled, which pins the price to its own"
    return _outcome(book, "uniform", price, (lo, hi), bf, sf, _money(book, price * bf, price * sf), note)


def pay_as_bid(book: OrderBook) -> AuctionOutcome:
    """Pay-as-bid (discriminatory) clearing of the efficient allocation ("Market Design I").

    Buyer block ``i`` pays ``b_i·x_i``, seller block ``j`` receives ``a_j·y_j``; the
    platform keeps ``Σ b_i x_i − Σ a_j y_j`` = the declared welfare (≥ 0, weakly
    budget balanced) and every agent's declared surplus is 0 (IR, binding). Not
    incentive compatible: bidders shade their bids.
    """
    bf, sf, m = efficient_allocation(book)
    if m.walrasian is None:
        return _no_trade(book, "pay_as_bid")
    payment = _money(book, book.buy_price * bf, book.sell_price * sf)
    return _outcome(
        book,
        "pay_as_bid",
        None,
        m.walrasian,
        bf,
        sf,
        payment,
        f"{m.traded_qty:g} kWh, each block at its own price; the platform keeps the spread {m.welfare:g}",
    )


def vcg(book: OrderBook) -> AuctionOutcome:
    """Vickrey–Clarke–Groves with the Clarke pivot ("Market Design I": efficient, IC, IR, not budget balanced).

    Efficient allocation ``x``; agent ``i`` pays
    ``t_i = W_{−i} − (W − v_i(x_i))`` where ``W`` is the declared welfare of the
    efficient allocation, ``W_{−i}`` that of the book without agent ``i``, and
    ``v_i(x_i) = Σ bid·fill − Σ ask·fill`` over ``i``'s own blocks (an agent may
    both buy and sell). Its utility ``v_i − t_i = W − W_{−i} ≥ 0`` (IR). The
    platform surplus ``Σ t_i`` is generally negative (a deficit): the chapter's
    example pays sellers 9 and charges buyers 8 per kWh, a deficit of 2.
    Agents without fills pay 0 (``W_{−i} = W``); each other agent costs one re-clear.
    """
    bf, sf, m = efficient_allocation(book)
    if m.walrasian is None:
        return _no_trade(book, "vcg")
    n = len(book.agents)
    bp, bq, ba = book.buy_price, book.buy_qty, book.buy_agent
    sp, sq, sa = book.sell_price, book.sell_qty, book.sell_agent
    value = np.bincount(ba, weights=bp * bf, minlength=n) - np.bincount(sa, weights=sp * sf, minlength=n)
    trading = np.flatnonzero((np.bincount(ba, weights=bf, minlength=n) + np.bincount(sa, weights=sf, minlength=n)) > 0)
    payment = np.zeros(n)
    for i in trading:
        kb, ks = ba != i, sa != i
        fb, fs = _fills(bp[kb], bq[kb], sp[ks], sq[ks])
        w_minus_i = float(bp[kb] @ fb - sp[ks] @ fs)
        payment[i] = w_minus_i - (m.welfare - value[i])
    surplus = float(payment.sum())
    note = f"{m.traded_qty:g} kWh; Clarke pivot payments; platform surplus {surplus:g}" + (
        f" (a deficit of {-surplus:g}: VCG is not budget balanced)" if surplus < 0 else ""
    )
    return _outcome(book, "vcg", None, m.walrasian, bf, sf, payment, note)


def trade_reduction(book: OrderBook, variant: str = "mcafee") -> AuctionOutcome:
    """McAfee's (1992) trade-reduction double auction for divisible blocks ("Market Design I").

    From the efficient allocation take the marginal accepted bid ``b_k`` and ask
    ``a_k`` and the first rejected ones ``b_{k+1}``, ``a_{k+1}`` (merit order; a
    partly filled marginal block is its own first rejected one).

    * ``variant="mcafee"``: ``p0 = (b_{k+1} + a_{k+1}) / 2``. If ``a_k ≤ p0 ≤ b_k``
      all efficient trades happen at ``p0`` (``price = p0``; ``p0`` then lies in the
      Walrasian interval, so the platform breaks even). Otherwise — or when a side
      has no rejected block, so ``p0`` does not exist — the trade is reduced:
    * reduction (always with ``variant="pure"``): drop the marginal blocks ``b_k``
      and ``a_k`` entirely; trade ``min(Σ remaining accepted bids, Σ remaining
      accepted asks)``, rationing the long side pro rata; every buyer pays ``b_k``
      and every seller receives ``a_k`` per kWh; the platform keeps
      ``(b_k − a_k)·traded ≥ 0``.

    Individually rational (remaining bids ≥ ``b_k``, asks ≤ ``a_k``) and weakly
    budget balanced always; dominant-strategy IC when each agent has a single unit block; gives up at most
    the marginal pair's welfare. ``notes`` says which branch was taken.
    """
    if variant not in ("mcafee", "pure"):
        raise ValueError(f"variant must be 'mcafee' or 'pure', got {variant!r}")
    bf, sf, m = efficient_allocation(book)
    if m.walrasian is None or m.buy_block is None or m.sell_block is None:
        return _no_trade(book, "trade_reduction")
    bid_k, ask_k = float(m.bid_price), float(m.ask_price)
    reason = "the pure variant always drops the marginal pair"
    if variant == "mcafee":
        if m.next_bid_price is None or m.next_ask_price is None:
            side = "buy" if m.next_bid_price is None else "sell"
            reason = f"no rejected {side} block, so p0 is undefined"
        else:
            p0 = 0.5 * m.next_bid_price + 0.5 * m.next_ask_price
            if ask_k <= p0 <= bid_k:
                return _outcome(
                    book,
                    "trade_reduction",
                    p0,
                    m.walrasian,
                    bf,
                    sf,
                    _money(book, p0 * bf, p0 * sf),
                    f"p0 = ({m.next_bid_price:g} + {m.next_ask_price:g})/2 = {p0:g} lies in "
                    f"[a_k, b_k] = [{ask_k:g}, {bid_k:g}]: all {m.traded_qty:g} kWh of the "
                    "efficient allocation trade at p0",
                )
            reason = f"p0 = {p0:g} lies outside [a_k, b_k] = [{ask_k:g}, {bid_k:g}]"

    rb, rs = bf.copy(), sf.copy()
    rb[m.buy_block] = 0.0
    rs[m.sell_block] = 0.0
    tb, ts = float(rb.sum()), float(rs.sum())
    traded = min(tb, ts)
    rationed = ""
    if tb > ts:
        rb *= ts / tb
        rationed = f"; buyers rationed pro rata to {ts / tb:.4g} of their accepted kWh"
    elif ts > tb:
        rs *= tb / ts
        rationed = f"; sellers rationed pro rata to {tb / ts:.4g} of their accepted kWh"
    ba, sa = book.agents[book.buy_agent[m.buy_block]], book.agents[book.sell_agent[m.sell_block]]
    note = (
        f"{reason}: marginal buy block {m.buy_block} ({ba}, bid {bid_k:g}) and sell block "
        f"{m.sell_block} ({sa}, ask {ask_k:g}) dropped; {traded:g} kWh trade, buyers pay b_k = {bid_k:g} "
        f"and sellers receive a_k = {ask_k:g} per kWh{rationed}"
    )
    return _outcome(book, "trade_reduction", None, m.walrasian, rb, rs, _money(book, bid_k * rb, ask_k * rs), note)


MECHANISMS: dict[str, Callable[..., AuctionOutcome]] = {
    "uniform": uniform_price,
    "pay_as_bid": pay_as_bid,
    "vcg": vcg,
    "trade_reduction": trade_reduction,
}
"""The mechanisms by name (``AuctionOutcome.mechanism``); each takes an :class:`OrderBook`."""


def bilateral_matches(book: OrderBook, outcome: AuctionOutcome) -> pd.DataFrame:
    """The cleared energy as bilateral trades: filled bids and asks paired in merit order.

    Walks the filled buy blocks (price descending) and the filled sell blocks
    (ascending) side by side, as the chapter's matching does ("match the highest
    bid with the lowest ask…"), splitting blocks where their fills differ.
    One row per pair: ``seller, buyer, kwh, bid_per_kwh, ask_per_kwh``.
    """
    ob, os_ = _merit_order(book.buy_price, book.sell_price)
    bi = [i for i in ob if outcome.buy_fill[i] > 0]
    si = [j for j in os_ if outcome.sell_fill[j] > 0]
    rows = []
    b_left = outcome.buy_fill[bi[0]] if bi else 0.0
    s_left = outcome.sell_fill[si[0]] if si else 0.0
    ib = js = 0
    while ib < len(bi) and js < len(si):
        i, j = bi[ib], si[js]
        q = min(b_left, s_left)
        if q > 1e-12:
            rows.append(
                (
                    book.agents[int(book.sell_agent[j])],
                    book.agents[int(book.buy_agent[i])],
                    float(q),
                    float(book.buy_price[i]),
                    float(book.sell_price[j]),
                )
            )
        b_left -= q
        s_left -= q
        if b_left <= 1e-12:
            ib += 1
            b_left = outcome.buy_fill[bi[ib]] if ib < len(bi) else 0.0
        if s_left <= 1e-12:
            js += 1
            s_left = outcome.sell_fill[si[js]] if js < len(si) else 0.0
    return pd.DataFrame(rows, columns=["seller", "buyer", "kwh", "bid_per_kwh", "ask_per_kwh"])
