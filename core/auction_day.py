"""An auction day that can happen: every period cleared in time order from the state the earlier ones left.

A double auction (:mod:`core.mechanisms`) clears one period's bids. Over a day
the periods are not independent: what a battery sold at 18:00 is not in it at
19:00, and a ramp-limited unit starts 19:00 where it ended 18:00. So the day
is cleared the way it would be lived:

for ``t = 0, 1, …, T−1``

1. every prosumer bids for period ``t`` from its feasible set *given its state*
   — stored energy, last output — (:func:`core.bids.period_bids`: device blocks
   at true marginal values, a storage's at the value of its energy later
   (:mod:`core.storage_policy`), netted behind the meter, within the tariff band);
2. the mechanism clears the book;
3. each prosumer delivers what it sold, takes what it bought and settles the
   rest with the grid at the tariffs (:func:`core.bids.settle`);
4. its state moves on (:func:`core.bids.advance`).

The storage strategy is the battery's own price-responsive plan against a
forecast of the prices (by default the prices the day would clear at without
storage, :func:`expected_prices`), re-planned after each cleared period from the
energy it actually holds (:mod:`core.storage_policy`): a policy a real battery
could follow. Its state of charge never leaves ``[0, E]``, nobody buys
and sells in the same period, nobody trades with itself, and each prosumer's
energy closes: bought − sold + grid import − grid export = demand − generation.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from core.bids import (
    CHARGE,
    OUT,
    Fleet,
    PeriodBids,
    State,
    advance,
    device_blocks,
    fleet_arrays,
    net_bids,
    period_bids,
    settle,
    within_band,
)
from core.mechanisms import MECHANISMS, AuctionOutcome, OrderBook
from core.scenario.model import Scenario
from core.storage_policy import PENALTY_FACTOR, StorageValues, storage_values

_VALUES: dict[tuple, tuple] = {}  # each storage's (grid, value function) by (its parameters, forecast, step)
_VALUES_LOCK = threading.Lock()
VALUES_CACHE_MAX = 20_000


@dataclass
class AuctionDay:
    """A mechanism's day, period by period. Arrays are prosumers × periods (kWh per period, or kW)."""

    mechanism: str
    k: float
    fleet: Fleet
    books: list[OrderBook]
    outcomes: list[AuctionOutcome]
    bought_kwh: np.ndarray  # from other prosumers through the market
    sold_kwh: np.ndarray
    payment: np.ndarray  # to the market (negative: received), currency
    grid_import_kwh: np.ndarray
    grid_export_kwh: np.ndarray
    der_kw: np.ndarray  # cell power (storage: discharge − charge)
    charge_kw: np.ndarray
    flexible_kw: np.ndarray
    soc_kwh: np.ndarray  # stored energy at the end of each period (nan: no storage)
    forecast: tuple[np.ndarray, np.ndarray]  # the (buy, sell) prices storages planned against
    warnings: list[str] = field(default_factory=list)


def _storage_values(fleet: Fleet, forecast: tuple[np.ndarray, np.ndarray]) -> StorageValues | None:
    """The value functions of ``fleet``'s tracked storages against ``forecast`` (buy, sell per period), each
    solved once (an edit of one prosumer re-plans its own battery only)."""
    tr = np.flatnonzero(fleet.tracked)
    if tr.size == 0:
        return None
    buy, sell = forecast
    penalty = PENALTY_FACTOR * float(np.max(fleet.retail, initial=0.0))
    common = (fleet.step_h, tuple(np.round(buy, 12)), tuple(np.round(sell, 12)), penalty)
    keys = [
        (
            common,
            fleet.energy_kwh[i],
            fleet.e0_kwh[i],
            fleet.p_min_kw[i],
            tuple(fleet.p_max_kw[i]),
            fleet.eta[i],
            fleet.c_a[i],
            fleet.c_b[i],
        )
        for i in tr
    ]
    with _VALUES_LOCK:
        known = [_VALUES.get(k) for k in keys]
    missing = np.array([j for j, v in enumerate(known) if v is None], dtype=int)
    if missing.size:
        rows = tr[missing]
        new = storage_values(
            fleet.energy_kwh[rows],
            fleet.e0_kwh[rows],
            fleet.p_min_kw[rows],
            fleet.p_max_kw[rows],
            fleet.eta[rows],
            fleet.c_a[rows],
            fleet.c_b[rows],
            buy,
            sell,
            fleet.step_h,
            penalty,
        )
        with _VALUES_LOCK:
            if len(_VALUES) + missing.size > VALUES_CACHE_MAX:
                _VALUES.clear()
            for j, k in enumerate(missing):
                known[k] = (new.grid[j], new.values[j])
                _VALUES[keys[k]] = known[k]
    width = max(g.size for g, _ in known)

    def pad(a, axis):
        return np.concatenate([a, np.repeat(a.take([-1], axis=axis), width - a.shape[axis], axis=axis)], axis=axis)

    return StorageValues(np.stack([pad(g, 0) for g, _ in known]), np.stack([pad(v, 1) for _, v in known]))


# expected_prices by the fleet's numbers (the compared mechanisms share it)
_FORECASTS: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}


def _fingerprint(fleet: Fleet) -> bytes:
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    for a in (
        fleet.demand_kw,
        fleet.f_max_kw,
        fleet.f_a,
        fleet.f_b,
        fleet.has_der,
        fleet.storage,
        fleet.eta,
        fleet.c_a,
        fleet.c_b,
        fleet.p_min_kw,
        fleet.p_max_kw,
        fleet.retail,
        fleet.feed_in,
    ):
        h.update(np.ascontiguousarray(a).tobytes())
    h.update(repr(fleet.step_h).encode())
    return h.digest()


def no_trade_interval(book: OrderBook, retail: float, feed_in: float) -> tuple[float, float]:
    """Where nothing clears: every price from the best bid (feed-in without bids) to the best ask (retail without
    asks), within the tariffs, clears nothing."""
    best_bid = float(book.buy_price.max()) if book.n_buy else feed_in
    best_ask = float(book.sell_price.min()) if book.n_sell else retail
    return max(best_bid, feed_in), min(best_ask, retail)


def expected_prices(fleet: Fleet) -> tuple[np.ndarray, np.ndarray]:
    """The default forecast storages plan against, (buy, sell) per period: the price in a market without storage.

    Every other device's truthful bids of the period (netted behind each meter, within the tariff band, ramps
    left out) cleared at one price (the uniform auction's midpoint): a storage expects to buy and sell there.
    Where nothing would trade, it expects to buy at the cheapest ask (retail when nobody sells) and to sell at
    the best bid (feed-in when nobody buys). It is what a battery can know ahead: when the community is short
    (evenings: the retail tariff) and when it is long (sunny middays: the PV's asks, down to feed-in).
    """
    key = _fingerprint(fleet)
    with _VALUES_LOCK:
        hit = _FORECASTS.get(key)
    if hit is not None:
        return hit[0].copy(), hit[1].copy()
    state = State.initial(fleet)
    buy, sell = np.zeros(fleet.periods), np.zeros(fleet.periods)
    for t in range(fleet.periods):
        dev = device_blocks(fleet, t, state)
        keep = ~(fleet.storage[dev.agent] & ((dev.device == OUT) | (dev.device == CHARGE)))
        b = within_band(net_bids(dev.take(keep), fleet.n), fleet.retail[t], fleet.feed_in[t])
        is_buy = b.is_buy
        book = OrderBook(
            b.price[is_buy],
            b.qty[is_buy],
            b.agent[is_buy],
            b.price[~is_buy],
            b.qty[~is_buy],
            b.agent[~is_buy],
            fleet.ids,
        )
        o = MECHANISMS["uniform"](book)
        if o.price is not None:
            buy[t] = sell[t] = o.price
        else:
            sell[t], buy[t] = no_trade_interval(book, float(fleet.retail[t]), float(fleet.feed_in[t]))
    with _VALUES_LOCK:
        if len(_FORECASTS) > 16:
            _FORECASTS.clear()
        _FORECASTS[key] = (buy.copy(), sell.copy())
    return buy, sell


def _forecast(fleet: Fleet, forecast) -> tuple[np.ndarray, np.ndarray]:
    """``forecast`` as (buy, sell): one price per period for both, a pair, or None for :func:`expected_prices`."""
    if forecast is None:
        return expected_prices(fleet)
    if isinstance(forecast, tuple) and len(forecast) == 2:
        return np.asarray(forecast[0], dtype=float), np.asarray(forecast[1], dtype=float)
    f = np.asarray(forecast, dtype=float)
    return f, f.copy()


def clear_day(
    scenario: Scenario,
    mechanism: str = "uniform",
    k: float = 0.5,
    until: int | None = None,
    forecast=None,
    declared: Scenario | None = None,
    grid: str = "tariffs",
) -> AuctionDay:
    """Clear ``scenario``'s periods ``0…until`` (default: all) in time order with ``mechanism`` (module text).

    ``forecast``: the prices storages plan against: one per period, or (buy, sell); default
    :func:`expected_prices`.
    ``declared``: the prosumers bid this scenario's curves (a study's shaded declarations) while
    their physics and their settlement stay ``scenario``'s. ``grid``: the outside option everyone
    settles with (``tariffs`` or ``wholesale``).
    """
    fn = MECHANISMS[mechanism]
    kw = {"k": k} if mechanism == "uniform" else {}
    fleet = fleet_arrays(scenario, grid)
    T = fleet.periods
    last = T - 1 if until is None else int(until)
    fc = _forecast(fleet, forecast)
    values = _storage_values(fleet, fc)
    said = fleet_arrays(declared, grid) if declared is not None else None
    said_values = _storage_values(said, fc) if said is not None else None
    n = fleet.n
    z = lambda: np.zeros((n, T))  # noqa: E731
    day = AuctionDay(mechanism, k, fleet, [], [], z(), z(), z(), z(), z(), z(), z(), z(), np.full((n, T), np.nan), fc)
    state = State.initial(fleet)
    for t in range(last + 1):
        bids: PeriodBids = period_bids(fleet, t, state, values, said, said_values)
        out = fn(bids.book, **kw)
        bought = np.asarray(out.agent_bought, dtype=float)
        sold = np.asarray(out.agent_sold, dtype=float)
        both = np.minimum(bought, sold)  # a prosumer filled on both sides at one tied price: only its net moves
        bought, sold = bought - both, sold - both
        settled = settle(fleet, t, bids.device, bought, sold)
        state = advance(fleet, state, settled)
        day.books.append(bids.book)
        day.outcomes.append(out)
        day.warnings += bids.warnings
        day.bought_kwh[:, t], day.sold_kwh[:, t] = bought, sold
        day.payment[:, t] = out.agent_payment
        day.grid_import_kwh[:, t], day.grid_export_kwh[:, t] = settled.grid_import_kwh, settled.grid_export_kwh
        day.der_kw[:, t], day.charge_kw[:, t] = settled.der_kw, settled.charge_kw
        day.flexible_kw[:, t] = settled.flexible_kw
        day.soc_kwh[:, t] = state.soc_kwh
    return day


def order_book(
    scenario: Scenario, t: int, mechanism: str = "uniform", k: float = 0.5, grid: str = "tariffs"
) -> OrderBook:
    """Period ``t``'s order book as ``mechanism``'s day reaches it (the earlier periods cleared first)."""
    return clear_day(scenario, mechanism, k, until=t, grid=grid).books[t]


def state_at(fleet: Fleet, der_kw: np.ndarray, t: int) -> State:
    """The state a dispatch (prosumers × periods of cell power, e.g. the welfare clearing's) leaves at the start
    of period ``t``."""
    soc = np.where(fleet.tracked, fleet.e0_kwh - fleet.step_h * der_kw[:, :t].sum(axis=1), np.nan)
    prev = der_kw[:, t - 1] if t > 0 else np.full(fleet.n, np.nan)
    return State(soc, np.where(fleet.has_der, prev, np.nan))


def book_at(fleet: Fleet, t: int, state: State, forecast=None) -> PeriodBids:
    """The truthful bids of period ``t`` from ``state`` (what the prosumers would bid in an auction there)."""
    return period_bids(fleet, t, state, _storage_values(fleet, _forecast(fleet, forecast)))
