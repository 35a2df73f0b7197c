"""The welfare clearing on a copper plate: the whole day at once, its price from the balance dual, fairness rules."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from core.bids import fleet_arrays
from core.market.cache import ClearingCache
from core.market.day import Context, SolvedDay, no_trade, period_view, price_columns, valued
from core.market.network import clear_network_day
from core.market.result import MarketResult
from core.market.settings import FAIRNESS_AUDIT_MAX_AGENTS, MarketSettings
from core.outcome import from_dispatch, with_columns
from core.scenario.model import Scenario


def clear_welfare(
    s: Scenario,
    settings: MarketSettings,
    period: int,
    progress,
    cancelled,
    truth: Scenario | None = None,
    *,
    cache: ClearingCache,
) -> tuple[MarketResult, Context, SolvedDay]:
    """The welfare clearing of the whole day (on the feeder when ``settings.network`` says so)."""
    if settings.network != "none":
        return clear_network_day(s, settings, period, progress, cancelled, truth, cache=cache)
    t0 = time.perf_counter()
    problem, lock = cache.welfare_problem(s, settings.grid_prices)
    try:
        sol = problem.solve()
        buy, sell = np.asarray(problem.buy.value, dtype=float), np.asarray(problem.sell.value, dtype=float)
    finally:
        if lock is not None:
            lock.release()
    timings = {"welfare": time.perf_counter() - t0}
    t1 = time.perf_counter()
    alone = cache.outside_option(s)
    timings["outside_option"] = time.perf_counter() - t1
    n = len(s.prosumers)
    fleet = fleet_arrays(s, settings.grid_prices)
    lam = sol.price_per_kwh
    outcome = from_dispatch(
        "welfare",
        fleet,
        sol.trade_kw,
        sol.der_kw,
        sol.charge_kw,
        sol.flexible_kw,
        np.tile(lam, (n, 1)),
        sol.grid_import_kw,
        sol.grid_export_kw,
        buy,
        sell,
    )
    val = valued(s, fleet, truth, outcome, alone)
    idle = no_trade(sol.trade_kw)
    day = SolvedDay(
        fleet,
        np.where(idle, np.nan, lam),
        sol.price_lo_per_kwh,
        sol.price_hi_per_kwh,
        outcome.traded_kwh,
        der_kw=sol.der_kw,
    )
    periods = with_columns(
        val.periods,
        **price_columns(day),
        retail_price_per_kwh=s.tariffs.retail_import_price_per_kwh,
        feed_in_price_per_kwh=s.tariffs.feed_in_price_per_kwh,
    )
    wide = np.flatnonzero(sol.price_hi_per_kwh - sol.price_lo_per_kwh > 1e-9 * (1 + np.abs(lam)))
    summary = {
        **val.summary,
        "price_rule": (
            "the middle of the interval of prices that clear (the balance's dual where it is one price)"
            if wide.size
            else "the balance constraint's dual (one price clears each period)"
        ),
        "mean_price_per_kwh": float(np.nanmean(day.price)) if np.isfinite(day.price).any() else None,
        "solve_time_s": sol.solve_time_s,
        "status": sol.status,
    }
    if sol.extras.get("storage_burn_kwh", 0.0) > 1e-6:
        summary["storage_burn_kwh"] = float(sol.extras["storage_burn_kwh"])
    result = MarketResult(
        settings, s.name, s.currency, period, val.agents, val.agent_periods, periods, None, summary, timings_s=timings
    )
    period_view(s, settings, result, day, period)
    ctx = Context(sol=sol, alone=alone)
    wanted = settings.fairness != "efficiency" or (
        settings.fairness_audit and len(s.prosumers) <= FAIRNESS_AUDIT_MAX_AGENTS
    )
    if wanted and settings.grid_prices == "tariffs":
        if progress is not None and settings.fairness != "efficiency":
            progress(0.2, f"allocating by the {settings.fairness} rule")
        t4 = time.perf_counter()
        ctx.chosen = fairness_rule(s, settings, result, sol, alone)
        timings["fairness"] = time.perf_counter() - t4
    return result, ctx, day


def fairness_rule(s: Scenario, settings: MarketSettings, result: MarketResult, sol, alone):
    """The fairness rule's allocation and each agent's gains under it and under efficiency (:mod:`core.fairness`).

    Utilities are gains over the outside option (trading with the grid alone at the tariffs).
    """
    from core.fairness import allocate

    chosen = allocate(
        s, settings.fairness, settings.fairness_transfers, settings.lexicographic, efficient=sol, outside=alone
    )
    efficient = chosen if settings.fairness == "efficiency" else allocate(s, "efficiency", efficient=sol, outside=alone)
    result.fairness = pd.DataFrame(
        {
            "agent": list(chosen.ids),
            "utility_efficient": efficient.utility,
            "utility": chosen.utility,
            "payment": chosen.payment,
            "transfer": chosen.transfer,
        }
    )
    result.fairness_summary = {
        "rule": settings.fairness,
        "transfers": settings.fairness_transfers,
        "supported_by": chosen.supported_by,
        "budget_balanced": bool(chosen.budget_balanced),
        "platform_surplus": float(chosen.platform_surplus),
        "welfare_gain": float(chosen.welfare_gain),
        "worst_off": float(chosen.worst_off),
    }
    result.summary["fairness_rule"] = settings.fairness
    return chosen


def fairness_compare(s: Scenario, settings: MarketSettings, result: MarketResult, ctx: Context) -> None:
    """Every rule compared (price of fairness, Jain, Gini…) and the envy audit of the chosen allocation."""
    from core.fairness import compare_rules, envy

    chosen = ctx.chosen
    report = envy(s, chosen)
    result.fairness_comparison = compare_rules(
        s,
        settings.fairness_transfers,
        settings.lexicographic,
        efficient=ctx.sol,
        outside=ctx.alone,
        known={settings.fairness: chosen},
    ).reset_index()
    result.envy = report.envy
    row = result.fairness_comparison.set_index("rule").loc[settings.fairness]
    result.fairness_summary = {
        **result.fairness_summary,
        "price_of_fairness": float(row.price_of_fairness),
        "jain": float(row.jain),
        "gini": float(row.gini),
        "envious_pairs": int(report.envious_pairs),
        "max_envy": float(report.max_envy),
        "worst_pair": report.worst_pair,
    }
    result.summary.update(
        {
            "price_of_fairness": float(row.price_of_fairness),
            "jain": float(row.jain),
            "envious_pairs": int(report.envious_pairs),
        }
    )
