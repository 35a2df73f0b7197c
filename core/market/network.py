"""The welfare clearing on the feeder: SOCP branch flow, LinDistFlow, AC-checked or DC; DLMPs, voltages, flows."""

from __future__ import annotations

import time

import numpy as np

from core.bids import fleet_arrays
from core.market.cache import ClearingCache
from core.market.day import Context, SolvedDay, no_trade, period_view, price_columns, valued
from core.market.result import MarketResult
from core.market.settings import MarketSettings
from core.numerics import DLMP_NOISE_PER_KWH
from core.outcome import from_dispatch, with_columns
from core.scenario.model import Scenario


def _clear_socp(s: Scenario, settings: MarketSettings, cancelled, cache: ClearingCache) -> tuple[object, dict]:
    """The exact model; where its relaxation is not exact, the AC-checked LinDistFlow clearing, said plainly."""
    from core.branch_flow import EXACT_GAP, clear_network_socp

    problem, lock = cache.network_problem("socp", s, settings.grid_prices)
    try:
        sol = clear_network_socp(s, cancelled=cancelled, problem=problem)
    finally:
        if lock is not None:
            lock.release()
    gap = sol.checks["exactness_gap"]
    if gap <= EXACT_GAP:
        return sol, {"exactness_gap": gap}
    worst = np.unravel_index(int(np.argmax(np.abs(sol.exactness_gap))), sol.exactness_gap.shape)
    note = (
        f"the exact (SOCP) model's relaxation is not exact here (P² + Q² falls {gap:.2%} short of v·ℓ on line "
        f"{sol.net.line_ids[worst[0]]} at period {worst[1]}: it would draw current for nothing, as happens when "
        "energy has a negative price); the prices shown are LinDistFlow's, corrected by the AC power flow"
    )
    ac, checks = _clear_linear(s, settings, "ac", cancelled, cache)
    return ac, {**checks, "exactness_gap": gap, "network_note": note, "fallback": "ac"}


def _clear_linear(
    s: Scenario, settings: MarketSettings, network: str, cancelled, cache: ClearingCache
) -> tuple[object, dict]:
    """LinDistFlow (``lindistflow``), AC-checked (``ac``) or DC, on the compiled problem of ``s``'s structure."""
    from core.pricing import clear_network, clear_network_ac

    kind = "dc" if network == "dc" else "lindistflow"
    problem, lock = cache.network_problem(kind, s, settings.grid_prices)
    try:
        if network == "ac":
            return clear_network_ac(s, grid=settings.grid_prices, cancelled=cancelled, problem=problem)
        return clear_network(s, grid=settings.grid_prices, model=kind, cancelled=cancelled, problem=problem), {}
    finally:
        if lock is not None:
            lock.release()


def clear_network_day(
    s: Scenario,
    settings: MarketSettings,
    period: int,
    progress,
    cancelled,
    truth: Scenario | None = None,
    *,
    cache: ClearingCache,
) -> tuple[MarketResult, Context, SolvedDay]:
    """The welfare clearing of the day on the feeder; the same scenario at another period re-reads the solution."""
    from core.welfare import grid_prices

    t0 = time.perf_counter()
    model = "dc" if settings.network == "dc" else "lindistflow"
    key = (settings.network, settings.grid_prices)
    cached = cache.network_day(key, s)
    if cached is not None:
        sol, checks = cached  # the same scenario, another period: nothing to solve
    else:
        checks = {}
        if progress is not None:
            progress(0.1, "clearing with the feeder's constraints")
        if settings.network == "socp":
            sol, checks = _clear_socp(s, settings, cancelled, cache)
        else:
            sol, checks = _clear_linear(s, settings, settings.network, cancelled, cache)
        if not (cancelled is not None and cancelled()):  # a clearing stopped early is not the answer
            cache.keep_network_day(key, s, sol, checks)
    timings = {"network_clearing": time.perf_counter() - t0, "network_reused": cached is not None}
    T = s.periods
    alone = cache.outside_option(s)
    net = sol.net
    n = len(s.prosumers)
    bus_of = np.array([net.index[p.bus] for p in s.prosumers], dtype=int)
    fleet = fleet_arrays(s, settings.grid_prices)
    buy, sell = grid_prices(s, tuple(range(T)), settings.grid_prices)
    outcome = from_dispatch(
        "welfare",
        fleet,
        sol.trade_kw,
        sol.der_kw,
        sol.charge_kw,
        sol.flexible_kw,
        sol.dlmp[bus_of] if n else np.zeros((0, T)),
        sol.grid_import_kw,
        sol.grid_export_kw,
        buy,
        sell,
    )
    val = valued(s, fleet, truth, outcome, alone)
    buses, lines = sol.bus_frame(None), sol.line_frame(None)
    if settings.network == "ac":
        if checks.get("v_pu_ac") is not None:
            buses["v_pu_ac"] = np.concatenate([checks["v_pu_ac"][:, t] for t in range(T)])
    energy = sol.energy[0]
    idle = no_trade(sol.trade_kw)
    day = SolvedDay(fleet, np.where(idle, np.nan, energy), energy, energy, outcome.traded_kwh, der_kw=sol.der_kw)
    periods = with_columns(
        val.periods,
        **price_columns(day),
        dlmp_min_per_kwh=sol.dlmp.min(axis=0),
        dlmp_max_per_kwh=sol.dlmp.max(axis=0),
        loss_kwh=sol.loss_kw * s.horizon.step_h,
        v_min_pu=sol.v_pu.min(axis=0),
        max_loading_pct=np.nanmax(np.where(np.isfinite(sol.loading_pct), sol.loading_pct, -np.inf), axis=0)
        if net.n > 1
        else np.zeros(T),
        retail_price_per_kwh=s.tariffs.retail_import_price_per_kwh,
        feed_in_price_per_kwh=s.tariffs.feed_in_price_per_kwh,
    )
    parts = {"energy": sol.energy, "loss": sol.loss, "congestion": sol.congestion, "voltage": sol.voltage}
    local = {k: float(np.max(np.abs(v[:, period]))) for k, v in parts.items() if k != "energy"}
    largest = max(local, key=local.get) if max(local.values(), default=0.0) > DLMP_NOISE_PER_KWH else "none"
    summary = {
        **val.summary,
        "network": settings.network,
        "network_model": _model_text(sol, model, checks),
        "price_rule": "the energy price at the substation (each bus pays its DLMP)",
        "mean_price_per_kwh": float(np.mean(energy)),
        "dlmp_min_per_kwh": float(sol.dlmp[:, period].min()),
        "dlmp_max_per_kwh": float(sol.dlmp[:, period].max()),
        "largest_dlmp_component": largest,
        "loss_kwh": float(periods.loss_kwh.sum()),
        "v_min_pu": float(sol.v_pu[:, period].min()),
        "max_loading_pct": float(periods.max_loading_pct[period]),
        "decomposition_error_per_kwh": sol.decomposition_error,
        "solve_time_s": sol.solve_time_s,
        "status": "optimal",  # the solver's word: clear_stages marks an inaccurate solve (core.numerics)
    }
    summary.update({k: v for k, v in checks.items() if not isinstance(v, np.ndarray)})
    result = MarketResult(
        settings,
        s.name,
        s.currency,
        period,
        val.agents,
        val.agent_periods,
        periods,
        None,
        summary,
        buses=buses,
        lines=lines,
        timings_s=timings,
    )
    period_view(s, settings, result, day, period)
    return result, Context(sol=sol, alone=alone), day


def _model_text(sol, model: str, checks: dict) -> str:
    """Which model produced the prices, in words, with its distance from the AC physics."""
    if sol.model == "socp":
        return (
            f"AC branch flow, exact (SOCP relaxation; exactness gap {checks.get('exactness_gap', 0.0):.1e}, "
            "losses r·ℓ exact)"
        )
    if model == "dc":
        return "DC: line ratings on real power, no losses, no voltages"
    text = f"LinDistFlow with loss factors iterated {sol.iterations}×"
    if checks.get("ac_rounds"):
        text += f", voltage limits corrected by the AC power flow in {checks['ac_rounds']} round(s)"
    if checks.get("fallback"):
        text += " (the exact model's relaxation was not exact here)"
    return text


def network_envy(s: Scenario, result: MarketResult, sol) -> None:
    """Envy under the DLMPs, flagging the pairs whose envy is only the price difference between their buses."""
    from core.fairness import envy

    report = envy(s, sol, bus_prices=dict(zip(sol.net.bus_ids, sol.dlmp, strict=True)))
    result.envy = report.envy
    result.fairness_summary = {
        "rule": "efficiency",
        "envious_pairs": int(report.envious_pairs),
        "max_envy": float(report.max_envy),
        "worst_pair": report.worst_pair,
        "location_pairs": int(report.location_pairs),
    }
    result.summary.update(
        {"envious_pairs": int(report.envious_pairs), "envious_pairs_by_location_only": int(report.location_pairs)}
    )
