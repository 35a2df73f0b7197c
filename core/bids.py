"""Bids and asks for one period, from what each prosumer can do *now* ("Market Design I").

A market that clears period by period sees each prosumer's bids for period
``t`` given the state the cleared periods before left it in (the state of
charge of its storage, the output its ramp limit starts from). This module
builds those bids, and settles a prosumer with the grid once the period has
cleared. Everything works on every prosumer at once (numpy, one row per block).

**Device blocks** (the truth, :func:`device_blocks`): each prosumer's devices
in period ``t`` as blocks of energy at the meter with their *true* marginal
values and costs (currency/kWh):

* fixed demand ``d_t``: one block of ``d_t·Δt`` kWh it must have: ``+∞``;
* a flexible load: ``BLOCKS`` equal blocks of ``[0, d^max_t]``, block
  ``[f₁, f₂]`` worth ``(U(f₂) − U(f₁))/(f₂ − f₁) = b − a·(f₁ + f₂)`` per kWh;
* a DER between the outputs it can reach now, ``[max(p_min, p_{t−1} − R),
  min(P^max_t, p_{t−1} + R)]`` (a storage also within its stored energy and its
  room): ``BLOCKS`` blocks of output, block ``[p₁, p₂]`` costing
  ``(C(p₂) − C(p₁))/(η·(p₂ − p₁)) = (b + a·(p₁ + p₂))/η`` per kWh at the meter;
  output it cannot avoid (a ramp or a minimum output) is a block at ``−∞``;
* a storage's discharge and charge blocks cost or are worth the wear plus the
  change in the value of the energy left for later, ``V_{t+1}`` of
  :mod:`core.storage_policy`; a storage offers at most what it holds and bids for
  at most the room it has.

**Net bids** (:func:`net_bids`): behind one meter a prosumer first serves itself
— its own bids meet its own asks (its demand its PV) — and only the rest goes
to the market. The part of a block it serves itself flips side at the same
price: a PV kWh its owner uses becomes a bid "buy instead of producing, if the
price is below my cost", a demand kWh it covers itself an ask "sell instead of
consuming, above my value". Its bids then all lie below its asks: a prosumer
never trades with itself and never buys and sells in the same period. The
result is its net demand curve ``D_i(p) − S_i(p)``, the chapter's truthful bid.

**The tariff band**: everyone can buy from the grid at the retail tariff and
sell to it at the feed-in tariff, so no bid is worth more than retail and no
ask less than feed-in: bids above retail are clipped to it (and asks below
feed-in to feed-in); bids below feed-in and asks above retail can never trade
and are left out. Explicit bids (a prosumer's own blocks, ``buy 12@1``) are
netted and clipped the same way — the clearing price then always lies in
``[feed-in, retail]`` — and cut to what the prosumer can physically deliver or
take in the period; each change is reported in the period's warnings.

**Settling with the grid** (:func:`settle`): after the period clears, each
prosumer delivers what it sold and takes what it bought, and does the rest
with the grid at the tariffs — its own best response: its device blocks meet
its market commitment, a grid import offer at retail and a grid export bid at
feed-in, in merit order (:func:`core.mechanisms.fills_by_group`). Unmatched
demand is bought from the grid, PV nobody bought is exported, a battery whose
bid did not clear charges from the grid only where its bid was above retail
(its energy worth more later than the grid charges now). The energy balance
closes exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.mechanisms import OrderBook, fills_by_group
from core.scenario.model import STORAGE_KINDS, Scenario

BLOCKS = 4
DEMAND, FLEX, OUT, CHARGE, EXPLICIT = 0, 1, 2, 3, 4  # device codes of a block
TINY_KWH = 1e-9


@dataclass(frozen=True)
class Fleet:
    """Every prosumer's parameters as arrays (one entry per prosumer; ``nan`` where it has no such thing)."""

    ids: tuple[str, ...]
    step_h: float
    demand_kw: np.ndarray  # (n, T)
    has_flex: np.ndarray
    f_max_kw: np.ndarray  # (n, T)
    f_a: np.ndarray
    f_b: np.ndarray
    has_der: np.ndarray
    storage: np.ndarray  # storage kinds (battery, ev)
    energy_kwh: np.ndarray  # nan without an energy limit
    e0_kwh: np.ndarray
    eta: np.ndarray
    c_a: np.ndarray
    c_b: np.ndarray
    p_min_kw: np.ndarray
    p_max_kw: np.ndarray  # (n, T), availability included
    ramp_kw: np.ndarray  # inf without a ramp limit
    retail: np.ndarray  # (T,) what the grid charges (the retail tariff, or the wholesale price)
    feed_in: np.ndarray  # (T,) what the grid pays
    explicit: dict = field(default_factory=dict)  # prosumer index → its BidBlocks

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def periods(self) -> int:
        return self.demand_kw.shape[1]

    @property
    def tracked(self) -> np.ndarray:
        """Storages with an energy limit: the ones whose state of charge is carried from period to period."""
        return self.storage & np.isfinite(self.energy_kwh)

    def cost(self, p_kw: np.ndarray, charge_kw: np.ndarray | None = None) -> np.ndarray:
        """DER cost per hour at cell power ``p`` (rows: prosumers): ``a·p² + b·p``, storage ``a·p² + b·(p + 2c)``."""
        p = np.asarray(p_kw, dtype=float)
        c = np.clip(-p, 0.0, None) if charge_kw is None else charge_kw
        a, b = self.c_a.reshape((-1,) + (1,) * (p.ndim - 1)), self.c_b.reshape((-1,) + (1,) * (p.ndim - 1))
        st = self.storage.reshape(a.shape)
        return np.where(self.has_der.reshape(a.shape), a * p**2 + b * np.where(st, p + 2 * c, p), 0.0)

    def value(self, f_kw: np.ndarray) -> np.ndarray:
        """Flexible-load value per hour ``b·f − a·f²`` (rows: prosumers)."""
        f = np.asarray(f_kw, dtype=float)
        shape = (-1,) + (1,) * (f.ndim - 1)
        return np.where(self.has_flex.reshape(shape), self.f_b.reshape(shape) * f - self.f_a.reshape(shape) * f**2, 0.0)


def fleet_arrays(s: Scenario, grid: str = "tariffs") -> Fleet:
    """The prosumers of ``s`` as a :class:`Fleet`; ``grid``: the outside option, ``tariffs`` (retail and
    feed-in) or ``wholesale`` (the substation's price both ways)."""
    from core.welfare import grid_prices

    P, T = s.prosumers, s.periods
    n = len(P)
    nan = np.full(n, np.nan)
    demand = np.array([p.demand_kw for p in P], dtype=float).reshape(n, T)
    has_flex = np.array([p.flexible is not None for p in P], dtype=bool)
    f_max = np.zeros((n, T))
    f_a, f_b = np.zeros(n), np.zeros(n)
    has_der = np.array([p.asset is not None for p in P], dtype=bool)
    storage = np.array([p.asset is not None and p.asset.kind in STORAGE_KINDS for p in P], dtype=bool)
    energy, e0 = nan.copy(), np.zeros(n)
    eta, c_a, c_b, p_min = np.ones(n), np.zeros(n), np.zeros(n), np.zeros(n)
    p_max = np.zeros((n, T))
    ramp = np.full(n, np.inf)
    explicit = {}
    for i, p in enumerate(P):
        if p.flexible is not None:
            f_max[i] = p.flexible.d_max_kw
            f_a[i], f_b[i] = p.flexible.value_a_per_kw2h, p.flexible.value_b_per_kwh
        a = p.asset
        if a is not None:
            eta[i], c_a[i], c_b[i], p_min[i] = a.efficiency, a.cost_a_per_kw2h, a.cost_b_per_kwh, a.p_min_kw
            p_max[i] = a.p_max_kw if a.availability_pu is None else np.asarray(a.availability_pu) * a.p_max_kw
            if a.ramp_kw_per_period is not None:
                ramp[i] = a.ramp_kw_per_period
            if a.kind in STORAGE_KINDS and a.energy_kwh is not None:
                energy[i], e0[i] = a.energy_kwh, a.soc_init_pu * a.energy_kwh
        if p.bids:
            explicit[i] = p.bids
    buy, sell = grid_prices(s, tuple(range(T)), grid)
    return Fleet(
        tuple(p.id for p in P),
        float(s.horizon.step_h),
        demand,
        has_flex,
        f_max,
        f_a,
        f_b,
        has_der,
        storage,
        energy,
        e0,
        eta,
        c_a,
        c_b,
        p_min,
        p_max,
        ramp,
        buy,
        sell,
        explicit,
    )


@dataclass
class Blocks:
    """Blocks of one period, one row each: agent, side, price per kWh, kWh at the meter, device code."""

    agent: np.ndarray
    is_buy: np.ndarray
    price: np.ndarray
    qty: np.ndarray
    device: np.ndarray

    @staticmethod
    def concat(parts: list[Blocks]) -> Blocks:
        return Blocks(
            *(np.concatenate([getattr(b, k) for b in parts]) for k in ("agent", "is_buy", "price", "qty", "device"))
        )

    def take(self, keep: np.ndarray) -> Blocks:
        return Blocks(self.agent[keep], self.is_buy[keep], self.price[keep], self.qty[keep], self.device[keep])

    def totals(self, n: int, buy: bool, must: bool | None = None) -> np.ndarray:
        """kWh per agent on one side (``must``: only the ±∞ blocks, or only the others)."""
        m = self.is_buy == buy
        if must is not None:
            m &= np.isinf(self.price) == must
        return np.bincount(self.agent[m], weights=self.qty[m], minlength=n)


def _rows(agent, is_buy: bool, price, qty, device: int) -> Blocks:
    agent = np.asarray(agent, dtype=np.int64).ravel()
    n = agent.size
    price = np.asarray(price, dtype=float).ravel() if np.ndim(price) else np.full(n, float(price))
    qty = np.asarray(qty, dtype=float).ravel() if np.ndim(qty) else np.full(n, float(qty))
    return Blocks(agent, np.full(n, is_buy), price, qty, np.full(n, device, dtype=np.int64))


@dataclass
class State:
    """What the cleared periods left: stored energy (kWh, ``nan`` if untracked) and last output (kW, ``nan``
    before the first period)."""

    soc_kwh: np.ndarray
    p_prev_kw: np.ndarray

    @staticmethod
    def initial(fleet: Fleet) -> State:
        return State(np.where(fleet.tracked, fleet.e0_kwh, np.nan), np.full(fleet.n, np.nan))


def der_range(fleet: Fleet, t: int, state: State) -> tuple[np.ndarray, np.ndarray]:
    """The cell power each DER can run at in period ``t`` from ``state`` (kW): ``[lo, hi]`` per prosumer."""
    dt = fleet.step_h
    lo = fleet.p_min_kw.copy()
    hi = fleet.p_max_kw[:, t].copy()
    ramped = np.isfinite(fleet.ramp_kw) & np.isfinite(state.p_prev_kw)
    lo = np.where(ramped, np.maximum(lo, state.p_prev_kw - fleet.ramp_kw), lo)
    hi = np.where(ramped, np.minimum(hi, state.p_prev_kw + fleet.ramp_kw), hi)
    # a ramp-limited unit must be able to come down to what will be available later (a cloud, an EV leaving):
    # p_t ≤ P^max_{t+k} + k·R for every later period
    K = fleet.periods - 1 - t
    lim = np.isfinite(fleet.ramp_kw) & fleet.has_der
    if K > 0 and lim.any():
        k = np.arange(1, K + 1)
        later = fleet.p_max_kw[lim, t + 1 :] + fleet.ramp_kw[lim, None] * k[None, :]
        hi[lim] = np.minimum(hi[lim], later.min(axis=1))
    lo = np.minimum(lo, hi)  # a ramp cannot keep output above what is available (a cloud)
    tr = fleet.tracked
    if tr.any():
        # a storage keeps within its energy now and later: enough left to be back at its initial charge by the
        # end, enough room for the charging its ramp forces next (stored energy wins over the ramp)
        rows = np.flatnonzero(tr)
        soc = state.soc_kwh[rows]
        # what it holds, also for the discharging its ramp forces next: Σ_{k=0…K} max(0, p − k·R) ≤ e/Δt
        e_hi = np.minimum(
            _ramped_inverse(np.clip(soc / dt, 0.0, None), fleet.ramp_kw[rows], fleet.periods - 1 - t),
            _reach(fleet, t, soc, rows),
        )
        e_lo = -np.minimum((fleet.energy_kwh[rows] - soc) / dt, _room(fleet, t, soc, rows))
        e_lo = np.minimum(e_lo, 0.0)
        e_hi = np.maximum(e_hi, e_lo)
        lo[rows] = np.clip(lo[rows], e_lo, e_hi)
        hi[rows] = np.clip(hi[rows], e_lo, e_hi)
    return np.where(fleet.has_der, lo, 0.0), np.where(fleet.has_der, hi, 0.0)


def _reach(fleet: Fleet, t: int, soc: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The most each storage may discharge in period ``t`` (kW, cells) and still hold its initial charge at the
    end of the horizon, charging at full power afterwards as its ramp allows:
    ``p + Σ_{k=1…K} max(p_min, p − k·R) ≤ (e − e₀)/Δt`` with ``K`` the periods left.

    With ``u = p − p_min`` the left side is ``(K+1)·p_min + (j+1)·u − R·j(j+1)/2`` where ``j = min(K, ⌊u/R⌋)``
    terms still ramp down: increasing and piecewise linear, solved on the piece where it meets the bound.
    """
    dt, K = fleet.step_h, fleet.periods - 1 - t
    pmin, ramp, e0 = fleet.p_min_kw[rows], fleet.ramp_kw[rows], fleet.e0_kwh[rows]
    x = (soc - e0) / dt - (K + 1) * pmin  # what (j+1)·u − R·j(j+1)/2 may reach
    return pmin + _ramped_inverse(np.clip(x, 0.0, None), ramp, K)


def _room(fleet: Fleet, t: int, soc: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The most each storage may charge in period ``t`` (kW into the cells) and not overfill while its ramp
    winds the charging down afterwards: ``Σ_{k=0…K} max(0, c − k·R) ≤ (E − e)/Δt`` (the same piecewise-linear
    form as :func:`_reach`)."""
    dt, K = fleet.step_h, fleet.periods - 1 - t
    return _ramped_inverse(np.clip((fleet.energy_kwh[rows] - soc) / dt, 0.0, None), fleet.ramp_kw[rows], K)


def _ramped_inverse(x: np.ndarray, ramp: np.ndarray, K: int) -> np.ndarray:
    """The ``u ≥ 0`` with ``(j+1)·u − R·j(j+1)/2 = x``, ``j = min(K, ⌊u/R⌋)`` (``R = ∞``: ``u = x``)."""
    finite = np.isfinite(ramp) & (ramp > 0)
    r = np.where(finite, ramp, 1.0)
    # the piece: the largest j ≤ K with R·j(j+1)/2 ≤ x (the left side at u = j·R)
    j = np.floor((-1.0 + np.sqrt(1.0 + 8.0 * x / r)) / 2.0)
    j = np.where(finite, np.clip(j, 0, K), 0.0)
    return (x + r * j * (j + 1) / 2.0) / (j + 1)


def device_blocks(fleet: Fleet, t: int, state: State, values=None) -> Blocks:
    """Every prosumer's devices in period ``t`` as blocks at their true prices (module text).

    ``values``: the storages' :class:`~core.storage_policy.StorageValues` over the tracked storages in
    prosumer order (``None``: stored energy is worth nothing later).
    """
    dt, n = fleet.step_h, fleet.n
    parts: list[Blocks] = []
    idx = np.arange(n)
    d = fleet.demand_kw[:, t]
    has_d = d > TINY_KWH
    parts.append(_rows(idx[has_d], True, np.inf, d[has_d] * dt, DEMAND))
    k = np.arange(BLOCKS + 1) / BLOCKS
    tariffs = np.array([fleet.retail[t], fleet.feed_in[t]])
    fl = fleet.has_flex & (fleet.f_max_kw[:, t] > TINY_KWH)
    if fl.any():
        fmax, av, bv = fleet.f_max_kw[fl, t], fleet.f_a[fl], fleet.f_b[fl]
        # equal blocks, split where the marginal value b − 2a·f crosses a tariff (so a block is wholly worth
        # buying from the grid, or not)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            cross = np.where(av[:, None] > 0, (bv[:, None] - tariffs[None, :]) / (2 * av[:, None]), 0.0)
        f = _edges(np.zeros(fmax.size), fmax, cross)
        f1, f2 = f[:, :-1], f[:, 1:]
        price = bv[:, None] - av[:, None] * (f1 + f2)
        parts.append(_rows(np.repeat(idx[fl], f1.shape[1]), True, price, (f2 - f1) * dt, FLEX))
    if fleet.has_der.any():
        lo, hi = der_range(fleet, t, state)
        der = np.flatnonzero(fleet.has_der)
        tracked = fleet.tracked[der]
        trow = np.cumsum(fleet.tracked) - 1  # row of each tracked storage in `values`
        soc = state.soc_kwh[der]
        eta, a, b = fleet.eta[der], fleet.c_a[der], fleet.c_b[der]
        storage = fleet.storage[der]
        wear_b = np.where(storage, np.maximum(b, 0.0), b)

        def later(p):  # V_{t+1}(e − Δt·p) for the tracked storages (0 elsewhere); p: (len(der), m)
            out = np.zeros_like(p)
            if values is not None and tracked.any():
                out[tracked] = values.at(t + 1, soc[tracked, None] - dt * p[tracked], trow[der[tracked]])
            return out

        # output (discharge) side: [max(lo, 0), hi]
        o_lo, o_hi = np.maximum(lo[der], 0.0), hi[der]
        must = o_lo > TINY_KWH
        parts.append(_rows(der[must], False, -np.inf, eta[must] * o_lo[must] * dt, OUT))
        span = o_hi > o_lo + TINY_KWH
        if span.any():
            # equal blocks, a plain DER's also split where its marginal cost (b + 2a·p)/η crosses a tariff
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                cross = np.where(
                    (a[:, None] > 0) & ~storage[:, None],
                    (eta[:, None] * tariffs[None, :] - b[:, None]) / (2 * a[:, None]),
                    o_lo[:, None],
                )
            p = _edges(o_lo[span], o_hi[span], cross[span])
            p1, p2 = p[:, :-1], p[:, 1:]
            cost = dt * (a[span, None] * (p2**2 - p1**2) + wear_b[span, None] * (p2 - p1))
            grid = np.zeros((der.size, p.shape[1]))
            grid[span] = p
            later_v = later(grid)[span]
            cost = cost + later_v[:, :-1] - later_v[:, 1:]
            energy = eta[span, None] * (p2 - p1) * dt
            with np.errstate(divide="ignore", invalid="ignore"):
                price = np.where(energy > 0, cost / np.where(energy > 0, energy, 1.0), 0.0)
            parts.append(_rows(np.repeat(der[span], p1.shape[1]), False, price, energy, OUT))
        # charge side (storage): cells take c ∈ [max(−hi, 0), −lo]
        c_lo, c_hi = np.maximum(-hi[der], 0.0), np.maximum(-lo[der], 0.0)
        ch = storage & (c_hi > TINY_KWH)
        must = ch & (c_lo > TINY_KWH)
        parts.append(_rows(der[must], True, np.inf, c_lo[must] / eta[must] * dt, CHARGE))
        span = ch & (c_hi > c_lo + TINY_KWH)
        if span.any():
            c = c_lo[span, None] + (c_hi[span] - c_lo[span])[:, None] * k[None, :]
            c1, c2 = c[:, :-1], c[:, 1:]
            worth = -dt * (a[span, None] * (c2**2 - c1**2) + wear_b[span, None] * (c2 - c1))
            grid = np.zeros((der.size, BLOCKS + 1))
            grid[span] = -c
            later_v = later(grid)[span]
            worth = worth + later_v[:, 1:] - later_v[:, :-1]
            energy = (c2 - c1) / eta[span, None] * dt
            parts.append(_rows(np.repeat(der[span], BLOCKS), True, worth / energy, energy, CHARGE))
    out = Blocks.concat(parts)
    return out.take(out.qty > TINY_KWH)


def _edges(lo: np.ndarray, hi: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Per row, ``BLOCKS`` equal steps from ``lo`` to ``hi`` and the extra ``cuts`` inside (rows × edges, sorted;
    a cut outside ``[lo, hi]`` gives an empty block, dropped later)."""
    k = np.arange(BLOCKS + 1) / BLOCKS
    even = lo[:, None] + (hi - lo)[:, None] * k[None, :]
    cut = np.clip(np.where(np.isfinite(cuts), cuts, lo[:, None]), lo[:, None], hi[:, None])
    return np.sort(np.concatenate([even, cut], axis=1), axis=1)


def explicit_blocks(fleet: Fleet, t: int) -> Blocks:
    """The explicit bids and asks that apply in period ``t`` (a block for every period, or for ``t``)."""
    rows = [
        (i, b.side == "buy", b.price_per_kwh, b.quantity_kwh)
        for i, bids in fleet.explicit.items()
        for b in bids
        if b.period is None or b.period == t
    ]
    if not rows:
        return _rows([], True, [], [], EXPLICIT)
    a, s, p, q = (np.array(x) for x in zip(*rows, strict=True))
    return Blocks(
        a.astype(np.int64), s.astype(bool), p.astype(float), q.astype(float), np.full(a.size, EXPLICIT, dtype=np.int64)
    )


def net_bids(blocks: Blocks, n: int) -> Blocks:
    """Each agent's blocks netted against each other (module text): the filled part of a block flips side.

    A flipped block meets one of the agent's own only at the same price (a block it half uses itself: at that
    price it is indifferent); should the market clear exactly there, the day keeps only its net
    (:func:`core.auction_day.clear_day`).
    """
    fill = fills_by_group(blocks.agent, blocks.is_buy, blocks.price, blocks.qty, n)
    rest = blocks.qty - fill
    kept = Blocks(blocks.agent, blocks.is_buy, blocks.price, rest, blocks.device)
    flipped = Blocks(blocks.agent, ~blocks.is_buy, blocks.price, fill, blocks.device)
    out = Blocks.concat([kept, flipped])
    return out.take(out.qty > TINY_KWH)


def within_band(blocks: Blocks, retail: float, feed_in: float) -> Blocks:
    """Bids clipped to the retail tariff and asks to the feed-in tariff; those that can never trade left out."""
    b, p = blocks.is_buy, blocks.price
    keep = np.where(b, p >= feed_in, p <= retail)
    out = blocks.take(keep)
    out.price = np.where(out.is_buy, np.minimum(out.price, retail), np.maximum(out.price, feed_in))
    return out


def _cut(blocks: Blocks, limit: np.ndarray, buy: bool) -> Blocks:
    """Each agent's blocks on one side cut to ``limit`` kWh, its best prices first (bids high, asks low)."""
    side = np.flatnonzero(blocks.is_buy == buy)
    if side.size == 0:
        return blocks
    order = side[np.lexsort((side, -blocks.price[side] if buy else blocks.price[side], blocks.agent[side]))]
    ag = blocks.agent[order]
    cum = np.cumsum(blocks.qty[order])
    start = np.searchsorted(ag, ag, side="left")
    before = np.concatenate(([0.0], cum))[start]
    upto = cum - before
    prev = upto - blocks.qty[order]
    qty = blocks.qty.copy()
    qty[order] = np.clip(limit[ag] - prev, 0.0, blocks.qty[order])
    out = Blocks(blocks.agent, blocks.is_buy, blocks.price, qty, blocks.device)
    return out.take(out.qty > TINY_KWH)


@dataclass
class PeriodBids:
    """The period's order book and what went into it."""

    book: OrderBook
    device: Blocks  # the truth: every agent's device blocks (true prices)
    warnings: list[str]


def period_bids(
    fleet: Fleet, t: int, state: State, values=None, declared: Fleet | None = None, declared_values=None
) -> PeriodBids:
    """The order book of period ``t`` (module text): device blocks, or explicit bids where a prosumer has them,
    netted per prosumer and kept within the tariff band.

    ``declared``: the bids come from this fleet's curves (a study's shaded declarations, with its storage
    values ``declared_values``) while the physical limits and the settlement stay ``fleet``'s.
    """
    n = fleet.n
    truth = device_blocks(fleet, t, state, values)
    src = truth if declared is None else device_blocks(declared, t, state, declared_values)
    warnings: list[str] = []
    said = fleet if declared is None else declared
    if said.explicit:
        own = np.zeros(n, dtype=bool)
        own[list(said.explicit)] = True
        market = src.take(~own[src.agent])
        exp = net_bids(explicit_blocks(said, t), n)
        # what each prosumer with explicit bids can physically deliver or take at its meter now
        can_sell = np.clip(truth.totals(n, False) - truth.totals(n, True, must=True), 0.0, None)
        can_buy = np.clip(truth.totals(n, True) - truth.totals(n, False, must=True), 0.0, None)
        cut = _cut(_cut(exp, can_sell, buy=False), can_buy, buy=True)
        warnings += _explicit_warnings(fleet, t, exp, cut)
        band = within_band(cut, fleet.retail[t], fleet.feed_in[t])
        warnings += _band_warnings(fleet, t, cut)
        netted = Blocks.concat([within_band(net_bids(market, n), fleet.retail[t], fleet.feed_in[t]), band])
    else:
        netted = within_band(net_bids(src, n), fleet.retail[t], fleet.feed_in[t])
    b = netted.is_buy
    book = OrderBook(
        netted.price[b], netted.qty[b], netted.agent[b], netted.price[~b], netted.qty[~b], netted.agent[~b], fleet.ids
    )
    return PeriodBids(book, truth, warnings)


def _explicit_warnings(fleet: Fleet, t: int, before: Blocks, after: Blocks) -> list[str]:
    out = []
    n = fleet.n
    for buy, verb, what in ((False, "offers", "deliver"), (True, "bids for", "take")):
        had, has = before.totals(n, buy), after.totals(n, buy)
        for i in np.flatnonzero(had > has + 1e-9):
            out.append(
                f"period {t}: {fleet.ids[i]} {verb} {had[i]:.4g} kWh but can {what} only {has[i]:.4g} kWh "
                "at its meter now: its bids are cut to that"
            )
    return out


def _band_warnings(fleet: Fleet, t: int, blocks: Blocks) -> list[str]:
    retail, feed_in = fleet.retail[t], fleet.feed_in[t]
    out = []
    for i, buy, price in zip(blocks.agent, blocks.is_buy, blocks.price, strict=True):
        who = fleet.ids[i]
        if buy and price > retail:
            out.append(
                f"period {t}: {who} bids {price:g} per kWh, above the retail tariff {retail:g}: it bids "
                f"{retail:g} (it can buy from the grid at {retail:g})"
            )
        elif not buy and price < feed_in:
            out.append(
                f"period {t}: {who} asks {price:g} per kWh, below the feed-in tariff {feed_in:g}: it asks "
                f"{feed_in:g} (it can sell to the grid at {feed_in:g})"
            )
        elif buy and price < feed_in:
            out.append(
                f"period {t}: {who}'s bid of {price:g} per kWh is below the feed-in tariff {feed_in:g}: "
                "no seller takes less than the grid pays, so it is left out"
            )
        elif not buy and price > retail:
            out.append(
                f"period {t}: {who}'s ask of {price:g} per kWh is above the retail tariff {retail:g}: "
                "no buyer pays more than the grid charges, so it is left out"
            )
    return out


@dataclass
class Settlement:
    """What each prosumer does in the period once its market trades are fixed (per prosumer)."""

    grid_import_kwh: np.ndarray
    grid_export_kwh: np.ndarray
    der_kw: np.ndarray  # cell power (storage: discharge − charge)
    charge_kw: np.ndarray  # storage charging into the cells
    flexible_kw: np.ndarray
    demand_served_kwh: np.ndarray


def settle(fleet: Fleet, t: int, truth: Blocks, bought_kwh: np.ndarray, sold_kwh: np.ndarray) -> Settlement:
    """Each prosumer's best response to its market trades with its devices and the grid (module text)."""
    n, dt = fleet.n, fleet.step_h
    net = np.asarray(bought_kwh, dtype=float) - np.asarray(sold_kwh, dtype=float)
    idx = np.arange(n)
    big = truth.totals(n, True) + truth.totals(n, False) + np.abs(net) + 1.0
    gets, owes = net > TINY_KWH, net < -TINY_KWH
    rows = Blocks.concat(
        [
            truth,
            _rows(idx[gets], False, -np.inf, net[gets], EXPLICIT),  # energy it bought arrives whatever happens
            _rows(idx[owes], True, np.inf, -net[owes], EXPLICIT),  # energy it sold must be delivered
            _rows(idx, False, fleet.retail[t], big, -1),  # the grid sells at retail …
            _rows(idx, True, fleet.feed_in[t], big, -2),  # … and buys at feed-in
        ]
    )
    fill = fills_by_group(rows.agent, rows.is_buy, rows.price, rows.qty, n)

    def done(device: int) -> np.ndarray:
        m = rows.device == device
        return np.bincount(rows.agent[m], weights=fill[m], minlength=n)

    g = done(-1) - done(-2)  # at equal tariffs the grid could both sell and buy: only the net is real
    out_e, in_e = done(OUT), done(CHARGE)
    p_out = np.where(fleet.has_der, out_e / (fleet.eta * dt), 0.0)
    charge = np.where(fleet.storage, in_e * fleet.eta / dt, 0.0)
    return Settlement(
        np.clip(g, 0.0, None), np.clip(-g, 0.0, None), p_out - charge, charge, done(FLEX) / dt, done(DEMAND)
    )


def advance(fleet: Fleet, state: State, settled: Settlement) -> State:
    """The state after a period: stored energy ``e − Δt·p`` (clipped into ``[0, E]`` against rounding) and the
    output the next period's ramp starts from."""
    tr = fleet.tracked
    soc = np.where(tr, state.soc_kwh - fleet.step_h * settled.der_kw, np.nan)
    soc = np.where(tr, np.clip(soc, 0.0, np.where(tr, fleet.energy_kwh, 0.0)), np.nan)
    return State(soc, np.where(fleet.has_der, settled.der_kw, np.nan))
