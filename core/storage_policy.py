"""How a storage bids in a market that clears one period at a time: the value of stored energy.

A battery that sells in period t gives up energy it could sell later; one that
buys stores energy for later. Its truthful bid in period t is therefore not a
cost curve but an *opportunity* cost: what the energy is worth in the periods
still to come. This module computes that worth the way a real energy manager
would, and the way hydro reservoirs are scheduled ("water values"):

* **The forecast.** The battery expects to buy at ``π⁺_t`` and to sell at
  ``π⁻_t ≤ π⁺_t`` in every later period. By default
  (:func:`core.auction_day.expected_prices`) both are the price the period would
  clear at without any storage — the retail tariff when the community is short,
  the PV's asks down to the feed-in tariff on a sunny midday — and where nothing
  would trade, the cheapest ask (else retail) to buy and the best bid (else
  feed-in) to sell: what a battery can know ahead from the tariffs and the
  expected net load. A caller may pass another forecast.
* **The value function** ``V_t(e)``: the most the battery earns from period
  ``t`` to the end of the horizon starting with ``e`` kWh stored, trading at the
  forecast, by backward induction (dynamic programming) on a grid of states of
  charge::

      V_T(e)  = −penalty·max(e_0 − e, 0)        (hand the storage back as full as it was found)
      V_t(e)  = max_p  Δt·(π⁻_t·m(p)⁺ − π⁺_t·m(p)⁻ − C(p)) + V_{t+1}(e − Δt·p)

  with ``p`` the cells' power (``p_min ≤ p ≤ P^max_t``, positive: discharge),
  ``m(p)`` the power at the meter (``η·p`` discharging, ``p/η`` charging,
  :func:`core.prosumer.meter_kw`), ``C(p) = a·p² + b·|p|`` the wear, and
  ``0 ≤ e ≤ E``. ``penalty`` is ten times the highest retail tariff per kWh:
  refilling from the grid always beats ending short.
* **The policy.** In period ``t`` with ``e`` kWh stored (what the cleared
  periods before left, not the initial charge) the battery's truthful asks are
  the cost of discharging, ``Δt·(C(p₂) − C(p₁)) + V_{t+1}(e − Δt·p₁) − V_{t+1}(e − Δt·p₂)``
  per kWh delivered at the meter for each block ``[p₁, p₂]`` of its power, and its
  bids the value of charging, likewise. After the period clears it updates
  ``e`` and bids again from there: re-planning after every cleared period is
  automatic, because the policy is a function of the state.

``V`` is concave in ``e`` (a sup-convolution of concave functions, the reward
concave since ``π⁺ ≥ π⁻`` and wear is convex; with negative prices only up to
the grid), so asks rise and bids fall with the quantity. The ramp limit is not
part of the value function (it would make the state two-dimensional); the bids
of each period respect it from the previous period's output. Each storage has
its own grid of states of charge (:func:`charge_grid`): ``e₀`` is a node, so
the end condition is exact, and at least ``STEPS_PER_PERIOD`` steps fit in one
period at full power; between nodes ``V`` is interpolated linearly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GRID_POINTS = 61  # states of charge per storage at least …
STEPS_PER_PERIOD = 4  # … and at least this many between no power and full power in one period
MAX_GRID_POINTS = 801  # a 100 kWh store charged at 1 kW still gets 4 steps per hour
PENALTY_FACTOR = 10.0  # per kWh short at the end: this many times the highest retail tariff


def charge_grid(energy_kwh: float, e0_kwh: float, power_kw: float, step_h: float) -> np.ndarray:
    """The states of charge a storage is planned on: ``0 … e₀ … E`` in two uniform pieces, ``e₀`` (the charge it
    must end with) a node, fine enough for ``STEPS_PER_PERIOD`` steps of its full power in one period."""
    E = float(energy_kwh)
    if E <= 0:
        return np.zeros(2)
    full = max(float(power_kw) * step_h, 1e-9)
    k = int(np.clip(np.ceil(STEPS_PER_PERIOD * E / full) + 1, GRID_POINTS, MAX_GRID_POINTS))
    e0 = float(np.clip(e0_kwh, 0.0, E))
    k0 = round((k - 1) * e0 / E)
    if 0 < e0 < E:
        k0 = min(max(k0, 1), k - 2)
    lower = np.linspace(0.0, e0, k0 + 1) if k0 > 0 else np.array([0.0])
    upper = np.linspace(e0, E, k - k0)
    return np.concatenate([lower[:-1], upper]) if k0 > 0 else upper


@dataclass(frozen=True)
class StorageValues:
    """``V_t(e)`` of several storages, each on its own grid of states of charge (:func:`charge_grid`), padded to
    one width: ``grid[s, k]`` (kWh, the last point repeated) and ``values[s, t, k]``; ``t`` runs over ``0…T``
    (``t = T`` is the end of the horizon)."""

    grid: np.ndarray  # (S, K)
    values: np.ndarray  # (S, T+1, K)

    def at(self, t: int, e_kwh: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """``V_t(e)`` (currency) for each storage (``rows``: which ones; ``e_kwh`` matching, any shape
        ``(len(rows), …)``), linear between grid points, ``e`` clipped into ``[0, E]``."""
        rows = np.arange(self.grid.shape[0]) if rows is None else np.asarray(rows)
        e = np.asarray(e_kwh, dtype=float)
        grid = self.grid[rows]  # (n, K)
        table = self.values[rows, t]
        n, K = grid.shape
        flat = e.reshape(n, -1)
        e_c = np.clip(flat, grid[:, :1], grid[:, -1:])
        # one sorted key per storage: its grid shifted by its row, so one searchsorted finds every bracket
        span = float(np.max(grid[:, -1], initial=0.0)) + 1.0
        keys = (grid + np.arange(n)[:, None] * span).ravel()
        pos = np.searchsorted(keys, (e_c + np.arange(n)[:, None] * span).ravel(), side="right") - 1
        k = np.clip(pos.reshape(n, -1) - np.arange(n)[:, None] * K, 0, K - 2)
        g0 = np.take_along_axis(grid, k, axis=1)
        g1 = np.take_along_axis(grid, k + 1, axis=1)
        v0 = np.take_along_axis(table, k, axis=1)
        v1 = np.take_along_axis(table, k + 1, axis=1)
        width = g1 - g0
        w = np.where(width > 0, (e_c - g0) / np.where(width > 0, width, 1.0), 0.0)
        return ((1.0 - w) * v0 + w * v1).reshape(e.shape)


def storage_values(
    energy_kwh, e0_kwh, p_min_kw, p_max_kw, efficiency, cost_a, cost_b, buy, sell, step_h: float, penalty_per_kwh: float
) -> StorageValues:
    """Backward induction of the module text for ``S`` storages, each on its own grid.

    ``energy_kwh``, ``e0_kwh``, ``p_min_kw`` (≤ 0), ``efficiency``, ``cost_a``, ``cost_b``: shape ``(S,)``;
    ``p_max_kw``: ``(S, T)`` (availability included); ``buy``/``sell``: ``(T,)``, what the storage expects to
    pay for a kWh it charges and to get for one it discharges (currency/kWh, ``buy ≥ sell``).
    """
    E = np.asarray(energy_kwh, dtype=float)
    S = E.size
    pmax = np.asarray(p_max_kw, dtype=float).reshape(S, -1)
    T = pmax.shape[1]
    grids = [
        charge_grid(E[s], e0_kwh[s], max(float(pmax[s].max(initial=0.0)), abs(float(p_min_kw[s])), 1e-9), step_h)
        for s in range(S)
    ]
    K = max(g.size for g in grids)
    grid = np.stack([np.concatenate([g, np.full(K - g.size, g[-1])]) for g in grids])
    values = np.zeros((S, T + 1, K))
    for s in range(S):
        values[s] = _backward(
            grid[s],
            float(e0_kwh[s]),
            float(p_min_kw[s]),
            pmax[s],
            float(efficiency[s]),
            float(cost_a[s]),
            float(cost_b[s]),
            buy,
            sell,
            step_h,
            penalty_per_kwh,
        )
    return StorageValues(grid, values)


def _backward(
    e: np.ndarray,
    e0: float,
    pmin: float,
    pmax: np.ndarray,
    eta: float,
    a: float,
    b: float,
    buy,
    sell,
    step_h: float,
    penalty: float,
) -> np.ndarray:
    """``V_t`` on the grid ``e`` of one storage, ``t = T…0``."""
    T = pmax.size
    out = np.zeros((T + 1, e.size))
    out[T] = -penalty * np.clip(e0 - e - 1e-9 * (1.0 + e[-1]), 0.0, None)
    p = (e[:, None] - e[None, :]) / step_h  # from state k (now) to state j (next), cells, kW
    dis, chg = np.clip(p, 0.0, None), np.clip(-p, 0.0, None)
    m_out, m_in = eta * dis * step_h, chg / eta * step_h  # kWh through the meter
    wear = step_h * (a * p**2 + max(b, 0.0) * np.abs(p))
    slack = 1e-9 * (1.0 + abs(pmin))
    below = p < pmin - slack
    for t in range(T - 1, -1, -1):
        q = sell[t] * m_out - buy[t] * m_in - wear + out[t + 1][None, :]
        q[below | (p > pmax[t] + slack)] = -np.inf
        out[t] = q.max(axis=1)  # p = 0 (stay put) is always allowed
    return out
