"""Plain figures about a scenario: counts and per-period totals (no market involved)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

from core.scenario.model import STORAGE_KINDS, Scenario


def counts(s: Scenario) -> dict[str, int]:
    """Buses, lines, prosumers, and prosumers by role and by asset kind."""
    roles = Counter(p.role for p in s.prosumers)
    kinds = Counter(p.asset.kind for p in s.prosumers if p.asset is not None)
    out = {
        "buses": len(s.feeder.buses),
        "lines": len(s.feeder.lines),
        "prosumers": len(s.prosumers),
        "consumers": roles.get("consumer", 0),
        "producers": roles.get("producer", 0),
        "prosumers_with_der": roles.get("prosumer", 0),
        "flexible_loads": sum(p.flexible is not None for p in s.prosumers),
        "bid_blocks": sum(len(p.bids) for p in s.prosumers),
    }
    for kind, n in sorted(kinds.items()):
        out[f"assets_{kind}"] = n
    return out


def period_totals(s: Scenario) -> pd.DataFrame:
    """Per period: fixed demand (kW, kvar), flexible demand ceiling, generation available, prices.

    ``generation_available_kw`` is ``Σ η·P^max·availability_t`` over every
    non-storage DER (what could reach the meters); ``storage_discharge_kw`` the
    same for batteries and EVs discharging at full power.
    """
    import pandas as pd  # only here: the command line's validate and --help never import pandas

    T = s.periods
    demand = np.zeros(T)
    demand_q = np.zeros(T)
    flex = np.zeros(T)
    gen = np.zeros(T)
    stor = np.zeros(T)
    for p in s.prosumers:
        d = np.asarray(p.demand_kw, dtype=float)
        demand += d
        demand_q += [p.reactive_kvar(t) for t in range(T)]
        if p.flexible is not None:
            flex += np.asarray(p.flexible.d_max_kw, dtype=float)
        a = p.asset
        if a is not None:
            avail = a.p_max_kw * (np.asarray(a.availability_pu) if a.availability_pu is not None else np.ones(T))
            if a.kind in STORAGE_KINDS:
                stor += a.efficiency * np.maximum(avail, 0.0)
            else:
                gen += a.efficiency * avail
    return pd.DataFrame(
        {
            "period": np.arange(T),
            "time": s.horizon.labels(),
            "demand_kw": demand,
            "demand_kvar": demand_q,
            "flexible_max_kw": flex,
            "generation_available_kw": gen,
            "storage_discharge_kw": stor,
            "wholesale_price_per_kwh": s.feeder.substation.wholesale_price_per_kwh,
            "retail_import_price_per_kwh": s.tariffs.retail_import_price_per_kwh,
            "feed_in_price_per_kwh": s.tariffs.feed_in_price_per_kwh,
        }
    )


def describe_roles(c: dict[str, int]) -> str:
    """``49 (24 consumers, 1 producer, 24 with demand and a DER)`` from :func:`counts`."""

    def n(k: int, word: str) -> str:
        return f"{k} {word}{'' if k == 1 else 's'}"

    return (
        f"{c['prosumers']} ({n(c['consumers'], 'consumer')}, {n(c['producers'], 'producer')}, "
        f"{c['prosumers_with_der']} with demand and a DER)"
    )


def start_period(s: Scenario, network: bool = False) -> tuple[int, str]:
    """The period a dashboard opens at, and why in words: where something happens.

    On a copper plate, the period where the most local generation could meet local demand (``min(generation
    available, demand + flexible ceiling)``, the most a local market could trade); with a network model, or when
    nothing local is generated, the demand peak (where ratings and voltage floors bind: the evening). Ties go to
    the earlier period. No market is cleared to find it.
    """
    if s.periods <= 1:
        return 0, "the only period"
    totals = period_totals(s)
    demand = (totals.demand_kw + totals.flexible_max_kw).to_numpy(float)
    gen = totals.generation_available_kw.to_numpy(float)
    local = np.minimum(gen, demand)
    labels = s.horizon.labels()
    if network or not np.any(local > 0):
        t = int(np.argmax(demand))
        return t, f"{labels[t]}, the demand peak ({demand[t]:,.0f} kW)"
    t = int(np.argmax(local))
    return t, f"{labels[t]}, when local generation could meet the most local demand ({local[t]:,.0f} kW)"
