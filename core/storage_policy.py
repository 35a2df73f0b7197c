"""How a storage bids in a market that clears one period at a time: the value of stored energy.

A battery that sells in period t gives up energy it could sell later; one that
buys stores energy for later. Its truthful bid in period t is therefore not a
cost curve but an *opportunity* cost: what the energy is worth in the periods
still to come. This module computes that worth the way a real energy manager
would, and the way hydro reservoirs are scheduled ("water values"):

* **The forecast.** The battery expects to trade at ``π_t`` in every later
  period. By default (:func:`core.auction_day.expected_prices`) ``π_t`` is the
  price the period would clear at without any storage: the retail tariff when
  the community is short, the PV's asks down to the feed-in tariff on a sunny
  midday — what a battery can know ahead from the tariffs and the expected net
  load. A caller may pass another forecast (say, the welfare clearing's prices).
* **The value function** ``V_t(e)``: the most the battery earns from period
  ``t`` to the end of the horizon starting with ``e`` kWh stored, trading at the
  forecast, by backward induction (dynamic programming) on a grid of states of
  charge::

      V_T(e)  = −penalty·max(e_0 − e, 0)        (hand the storage back as full as it was found)
      V_t(e)  = max_p  Δt·(π_t·m(p) − C(p)) + V_{t+1}(e − Δt·p)

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

``V`` is concave in ``e`` (a sup-convolution of concave functions), so asks rise
and bids fall with the quantity. The ramp limit is not part of the value
function (it would make the state two-dimensional); the bids of each period
respect it from the previous period's output. The grid has ``GRID_POINTS``
states of charge; between them ``V`` is interpolated linearly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GRID_POINTS = 61  # states of charge 0, E/60, …, E
PENALTY_FACTOR = 10.0  # per kWh short at the end: this many times the highest retail tariff


@dataclass(frozen=True)
class StorageValues:
    """``V_t(e)`` of several storages on a grid: ``values[s, t, k]`` at ``e = energy_kwh[s]·k/(K−1)``.

    ``t`` runs over ``0…T`` (``t = T`` is the end of the horizon).
    """

    energy_kwh: np.ndarray  # (S,)
    values: np.ndarray  # (S, T+1, K)

    def at(self, t: int, e_kwh: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """``V_t(e)`` (currency) for each storage (``rows``: which ones; ``e_kwh`` matching, any shape
        ``(len(rows), …)``), linear between grid points, ``e`` clipped into ``[0, E]``."""
        rows = np.arange(self.energy_kwh.size) if rows is None else np.asarray(rows)
        E = self.energy_kwh[rows]
        K = self.values.shape[2]
        e = np.asarray(e_kwh, dtype=float)
        shape = (rows.size,) + (1,) * (e.ndim - 1)
        u = np.clip(e / np.maximum(E, 1e-12).reshape(shape), 0.0, 1.0) * (K - 1)
        k = np.minimum(np.floor(u).astype(np.int64), K - 2)
        w = u - k
        table = self.values[rows, t]  # (n, K)
        r = np.arange(rows.size).reshape(shape)
        return (1.0 - w) * table[r, k] + w * table[r, k + 1]


def storage_values(energy_kwh, e0_kwh, p_min_kw, p_max_kw, efficiency, cost_a, cost_b, forecast,
                   step_h: float, penalty_per_kwh: float, points: int = GRID_POINTS) -> StorageValues:
    """Backward induction of the module text for ``S`` storages at once.

    ``energy_kwh``, ``e0_kwh``, ``p_min_kw`` (≤ 0), ``efficiency``, ``cost_a``, ``cost_b``: shape ``(S,)``;
    ``p_max_kw``: ``(S, T)`` (availability included); ``forecast``: ``(T,)`` currency/kWh.
    """
    E = np.asarray(energy_kwh, dtype=float)
    S = E.size
    pmax = np.asarray(p_max_kw, dtype=float).reshape(S, -1)
    T = pmax.shape[1]
    K = points
    frac = np.linspace(0.0, 1.0, K)
    e = E[:, None] * frac[None, :]  # (S, K)
    values = np.zeros((S, T + 1, K))
    e0 = np.asarray(e0_kwh, dtype=float)
    values[:, T] = -penalty_per_kwh * np.clip(e0[:, None] - e - 1e-9 * (1.0 + E[:, None]), 0.0, None)
    # power to go from state k (now) to state j (next): p = (e_k − e_j)/Δt, the same for every t
    p = (e[:, :, None] - e[:, None, :]) / step_h  # (S, K, K)
    eta = np.asarray(efficiency, dtype=float)[:, None, None]
    meter = np.where(p >= 0.0, eta * p, p / eta)
    wear = np.asarray(cost_a, dtype=float)[:, None, None] * p**2 + np.maximum(
        np.asarray(cost_b, dtype=float), 0.0)[:, None, None] * np.abs(p)
    pmin = np.asarray(p_min_kw, dtype=float)[:, None, None]
    slack = 1e-9 * (1.0 + np.abs(pmin))
    below_min = p < pmin - slack
    meter_dt = step_h * meter
    cost_dt = np.where(below_min, np.inf, step_h * wear)  # an impossible charge never pays
    same_max = bool(np.all(pmax == pmax[:, :1]))
    bad = p > pmax[:, 0, None, None] + slack
    for t in range(T - 1, -1, -1):
        if not same_max:
            bad = p > pmax[:, t, None, None] + slack
        q = forecast[t] * meter_dt - cost_dt + values[:, t + 1][:, None, :]
        q[bad] = -np.inf
        # p = 0 (stay put) is always allowed, so every state has a finite best
        values[:, t] = q.max(axis=2)
    return StorageValues(E, values)
