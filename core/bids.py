"""Bids and asks for one period, from the scenario ("Market Design I").

A prosumer with explicit bid blocks bids them. Any other prosumer bids
truthfully, from its own curves, with the tariffs as its reservation prices
(it can always trade with the grid instead):

* fixed demand ``d_t``: one buy block of ``d_t·Δt`` kWh at the retail import price;
* a flexible load: ``BLOCKS`` equal blocks of its ``d^max_t``, each at the
  marginal value at the block's middle, ``U'(f) = b − 2a·f``, capped at the retail price;
* a generating DER: ``BLOCKS`` equal blocks of its available ``η·P^max_t·Δt``
  kWh, each at the marginal cost at the meter, ``C'(p)/η = (b + 2a·p)/η``,
  floored at the feed-in price;
* storage: discharges like a generator (within its stored energy), and bids to
  charge at the round-trip value of the energy, ``η²·(mean retail price) − b``.
"""

from __future__ import annotations

import numpy as np

from core.mechanisms import OrderBook
from core.scenario.model import STORAGE_KINDS, Prosumer, Scenario

BLOCKS = 4


def prosumer_blocks(p: Prosumer, s: Scenario, t: int) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """(buy blocks, sell blocks) as (price per kWh, kWh) for prosumer ``p`` in period ``t``."""
    explicit = [b for b in p.bids if b.period is None or b.period == t]
    if explicit:
        buys = [(b.price_per_kwh, b.quantity_kwh) for b in explicit if b.side == "buy"]
        sells = [(b.price_per_kwh, b.quantity_kwh) for b in explicit if b.side == "sell"]
        return buys, sells
    dt = s.horizon.step_h
    retail = s.tariffs.retail_import_price_per_kwh[t]
    feed_in = s.tariffs.feed_in_price_per_kwh[t]
    buys: list[tuple[float, float]] = []
    sells: list[tuple[float, float]] = []
    if p.demand_kw[t] > 0:
        buys.append((retail, p.demand_kw[t] * dt))
    if p.flexible is not None:
        fl = p.flexible
        # f in kW at the block's middle: energy / Δt
        # the block's middle is e kWh, i.e. f = e/Δt kW
        buys += [(min(retail, fl.value_b_per_kwh - 2 * fl.value_a_per_kw2h * e / dt), size)
                 for e, size in _mid_sizes(fl.d_max_kw[t] * dt)]
    a = p.asset
    if a is not None:
        eta = a.efficiency
        avail_kw = a.p_max_at(t)
        if a.kind in STORAGE_KINDS and a.energy_kwh is not None:
            avail_kw = min(avail_kw, a.soc_init_pu * a.energy_kwh / dt)
        # the block's middle is e kWh at the meter, i.e. p = e/(η·Δt) kW inside the DER
        sells += [(max(feed_in, (a.cost_b_per_kwh + 2 * a.cost_a_per_kw2h * e / (eta * dt)) / eta), size)
                  for e, size in _mid_sizes(eta * max(avail_kw, 0.0) * dt)]
        if a.kind in STORAGE_KINDS and a.p_min_kw < 0:
            room_kw = -a.p_min_kw
            if a.energy_kwh is not None:
                room_kw = min(room_kw, (1.0 - a.soc_init_pu) * a.energy_kwh / dt)
            value = eta**2 * float(np.mean(s.tariffs.retail_import_price_per_kwh)) - max(a.cost_b_per_kwh, 0.0)
            if value > 0 and room_kw > 0:
                buys.append((min(retail, value), room_kw / eta * dt))
    return [b for b in buys if b[1] > 1e-12], [x for x in sells if x[1] > 1e-12]


def _mid_sizes(total: float) -> list[tuple[float, float]]:
    """BLOCKS equal blocks of ``total``: (energy at the block's middle, block size)."""
    if total <= 1e-12:
        return []
    size = total / BLOCKS
    return [((k + 0.5) * size, size) for k in range(BLOCKS)]


def order_book(s: Scenario, t: int) -> OrderBook:
    """Every prosumer's blocks for period ``t`` as one order book (agent codes = scenario order)."""
    buy_p, buy_q, buy_a, sell_p, sell_q, sell_a = [], [], [], [], [], []
    for i, p in enumerate(s.prosumers):
        b, a = prosumer_blocks(p, s, t)
        for price, qty in b:
            buy_p.append(price)
            buy_q.append(qty)
            buy_a.append(i)
        for price, qty in a:
            sell_p.append(price)
            sell_q.append(qty)
            sell_a.append(i)
    f, n = np.float64, np.int64
    return OrderBook(np.array(buy_p, dtype=f), np.array(buy_q, dtype=f), np.array(buy_a, dtype=n),
                     np.array(sell_p, dtype=f), np.array(sell_q, dtype=f), np.array(sell_a, dtype=n),
                     tuple(p.id for p in s.prosumers))
