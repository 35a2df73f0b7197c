"""The envy audit: how much each prosumer prefers another's bundle, and envy that is only location (DLMPs)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.fairness.bundles import _bundle_values, _slice
from core.scenario.model import Scenario


@dataclass(frozen=True)
class EnvyReport:
    """The envy audit of an allocation ("Market Design II": envy-freeness).

    ``envy`` (agents × agents, currency): row i envies column j by
    ``max(0, [V_i(q_j) − t_j] − [V_i(q_i) − t_i])``; ``deliverable``: whether i's resources can
    deliver j's bundle at all; ``location_only``: envy that disappears when j's bundle is
    re-priced at i's bus prices (``None`` without bus prices).
    """

    envy: pd.DataFrame
    deliverable: pd.DataFrame
    location_only: pd.DataFrame | None
    envious_pairs: int
    max_envy: float
    worst_pair: tuple[str, str] | None
    location_pairs: int
    tol: float

    @property
    def envy_free(self) -> bool:
        return self.envious_pairs == 0


def _bus_price_matrix(s: Scenario, bus_prices, periods: tuple[int, ...]) -> np.ndarray:
    """Price per agent's bus and period (agents × periods) from a mapping bus → prices, a DataFrame or an array."""
    T = len(periods)
    if isinstance(bus_prices, pd.DataFrame):
        table = {
            str(k): np.asarray(v, dtype=float) for k, v in zip(bus_prices.index, bus_prices.to_numpy(), strict=True)
        }
    elif isinstance(bus_prices, Mapping):
        table = {str(k): np.atleast_1d(np.asarray(v, dtype=float)) for k, v in bus_prices.items()}
    else:
        arr = np.asarray(bus_prices, dtype=float)
        buses = [b.id for b in s.feeder.buses]
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.shape[0] != len(buses):
            raise ValueError(f"bus prices: {arr.shape[0]} rows for {len(buses)} buses (feeder order expected)")
        table = dict(zip(buses, arr, strict=True))
    out = np.zeros((len(s.prosumers), T))
    for i, p in enumerate(s.prosumers):
        if p.bus not in table:
            raise ValueError(f"bus prices: no price for bus '{p.bus}' (prosumer '{p.id}')")
        row = table[p.bus]
        if row.size == 1:
            row = np.full(T, float(row[0]))
        if row.size != T:
            raise ValueError(f"bus prices: bus '{p.bus}' has {row.size} prices for {T} periods")
        out[i] = row
    return out


def envy(scenario: Scenario, allocation, bus_prices=None, tol: float | None = None) -> EnvyReport:
    """The envy matrix of an allocation ("Market Design II": envy-freeness).

    ``envy_ij = max(0, [V_i(q_j) − t_j] − [V_i(q_i) − t_i])``, with ``V_i`` from :func:`bundle_value`
    (no envy where ``V_i(q_j) = −∞``). ``allocation``: anything with ``trade_kw`` (agents × periods)
    and ``payment`` (per agent) — a :class:`FairAllocation`, a
    :class:`~core.welfare.WelfareSolution` or a network clearing — over its ``periods`` (default:
    all). ``bus_prices``: optional prices per bus and period (a mapping bus id → prices, a DataFrame
    indexed by bus id, or an array in the feeder's bus order); a pair at different buses is
    flagged *location-only* when ``max(0, V_i(q_j) − t'_j − [V_i(q_i) − t_i]) ≤ tol`` with
    ``t'_j = Δt·Σ_t π_{bus(i),t}·(−q_{j,t})``. A pair counts as envious when its envy exceeds
    ``tol`` (default ``1e-6·max(1, max_i |t_i|)``).
    """
    s = scenario
    q = np.asarray(allocation.trade_kw, dtype=float)
    t = np.asarray(allocation.payment, dtype=float).ravel()
    n = len(s.prosumers)
    if q.shape[0] != n or t.size != n:
        raise ValueError(f"the allocation has {q.shape[0]} agents, the scenario {n}")
    periods = tuple(getattr(allocation, "periods", None) or range(q.shape[1]))
    step = s.horizon.step_h
    ids = [p.id for p in s.prosumers]
    tol = 1e-6 * max(1.0, float(np.max(np.abs(t), initial=0.0))) if tol is None else tol
    tol_kw = 1e-6 * max(1.0, float(np.max(np.abs(q), initial=0.0)))
    prices = None if bus_prices is None else _bus_price_matrix(s, bus_prices, periods)

    V = np.empty((n, n))
    for i, p in enumerate(s.prosumers):
        V[i] = _bundle_values(_slice(p, periods), q, step, tol_kw)
    own = np.diag(V).copy()
    bad = [ids[i] for i in np.flatnonzero(~np.isfinite(own))]
    if bad:
        raise ValueError(f"the allocation cannot be delivered by its own agents: {', '.join(bad)}")
    deliverable = np.isfinite(V)
    with np.errstate(invalid="ignore"):
        E = np.where(deliverable, (V - t[None, :]) - (own - t)[:, None], 0.0)
    E = np.maximum(E, 0.0)
    np.fill_diagonal(E, 0.0)
    envious = E > tol
    loc = None
    loc_pairs = 0
    if prices is not None:
        buses = np.array([p.bus for p in s.prosumers])
        # t'_ij = Δt·Σ_t π_{bus(i),t}·(−q_{j,t})
        repriced = -step * prices @ q.T
        with np.errstate(invalid="ignore"):
            E2 = np.where(deliverable, (V - repriced) - (own - t)[:, None], 0.0)
        loc = envious & (E2 <= tol) & (buses[:, None] != buses[None, :])
        loc_pairs = int(loc.sum())
        loc = pd.DataFrame(loc, index=ids, columns=ids)
    worst = None
    if envious.any():
        i, j = np.unravel_index(int(np.argmax(E)), E.shape)
        worst = (ids[i], ids[j])
    return EnvyReport(
        envy=pd.DataFrame(np.where(envious, E, 0.0), index=ids, columns=ids),
        deliverable=pd.DataFrame(deliverable, index=ids, columns=ids),
        location_only=loc,
        envious_pairs=int(envious.sum()),
        max_envy=float(E.max(initial=0.0)) if envious.any() else 0.0,
        worst_pair=worst,
        location_pairs=loc_pairs,
        tol=tol,
    )
