"""The rules compared: price of fairness, Jain, Gini, worst-off gain, envy."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from core.fairness.allocation import FairAllocation, allocate
from core.fairness.envy import envy
from core.fairness.measures import FAIRNESS_RULES, gini, jain
from core.scenario.model import Scenario
from core.welfare import WelfareSolution, outside_option, solve_welfare


def price_of_fairness(w_efficient: float, w_rule: float) -> float:
    """``PoF = (W_eff − W_rule)/W_eff`` with ``W = Σ_i U_i`` (0 when ``W_eff = 0``)."""
    if w_efficient == 0.0:
        return 0.0
    return (w_efficient - w_rule) / w_efficient


def compare_rules(
    scenario: Scenario,
    transfers: bool = False,
    lexicographic: bool = False,
    bus_prices=None,
    *,
    efficient: WelfareSolution | None = None,
    outside: np.ndarray | None = None,
    known: dict[str, FairAllocation] | None = None,
) -> pd.DataFrame:
    """One row per rule of :data:`FAIRNESS_RULES`: what fairness costs and what it buys ("Market Design II").

    Columns: ``welfare_gain`` (``W = Σ_i U_i``), ``price_of_fairness``
    (``(W_eff − W)/W_eff``), ``jain`` (``(Σ U)²/(n·Σ U²)``), ``gini`` (of the gains),
    ``worst_off`` (``min_i U_i``), ``envious_pairs`` and ``max_envy`` (:func:`envy`),
    ``platform_surplus`` and ``budget_balanced``, ``solve_time_s`` (allocation and audit).
    ``known``: allocations already computed with these settings, by rule (not solved again).
    """
    sol = solve_welfare(scenario) if efficient is None else efficient
    u0 = outside_option(scenario) if outside is None else outside
    rows = []
    w_eff = None
    for rule in FAIRNESS_RULES:
        t0 = time.perf_counter()
        a = (known or {}).get(rule)
        earlier = 0.0 if a is None else a.solve_time_s
        if a is None:
            a = allocate(scenario, rule, transfers, lexicographic, efficient=sol, outside=u0)
        e = envy(scenario, a, bus_prices)
        elapsed = time.perf_counter() - t0 + earlier
        if rule == "efficiency":
            w_eff = a.welfare_gain
        rows.append(
            {
                "rule": rule,
                "welfare_gain": a.welfare_gain,
                "price_of_fairness": price_of_fairness(w_eff, a.welfare_gain),
                "jain": jain(a.utility),
                "gini": gini(a.utility),
                "worst_off": a.worst_off,
                "envious_pairs": e.envious_pairs,
                "max_envy": e.max_envy,
                "platform_surplus": a.platform_surplus,
                "budget_balanced": a.budget_balanced,
                "solve_time_s": elapsed,
            }
        )
    return pd.DataFrame(rows).set_index("rule")
