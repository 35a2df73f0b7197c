"""The entry points: :func:`clear` and :func:`clear_stages` (the market first, then its diagnostics one by one)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from core.errors import Cancelled
from core.market.auctions import clear_auction
from core.market.cache import CACHE, ClearingCache
from core.market.compare import comparable, compare_days
from core.market.copper_plate import clear_welfare, fairness_compare
from core.market.day import Context, SolvedDay, at_period, market_power_of, snapshot
from core.market.network import network_envy
from core.market.result import DIAGNOSTICS, Diagnostic, MarketResult
from core.market.settings import AUDIT_ALL_AGENTS, AUDIT_MAX_AGENTS, MarketSettings
from core.numerics import INACCURATE, collect_warnings
from core.properties import audit, compare_mechanisms
from core.scenario.model import Scenario
from core.welfare import decentralised_gap, tatonnement


def clear(
    scenario: Scenario,
    settings: MarketSettings | None = None,
    progress=None,
    cancelled=None,
    truth: Scenario | None = None,
    cache: ClearingCache | None = None,
) -> MarketResult:
    """Clear ``scenario``'s market as ``settings`` say. Raises ClearingError if it cannot be solved.

    ``progress(fraction, text)`` and ``cancelled()`` let a caller on another
    thread follow and stop the long parts (the price iteration, the audit).
    ``truth``: the prosumers' true curves when ``scenario`` is what they declared
    (a study's shaded bids): the outcome is valued with these (``welfare``),
    and what was declared is ``declared_gains``.
    ``cache``: what to keep between calls (compiled problems, outside options, the solved day;
    :class:`~core.market.ClearingCache`); the process's :data:`~core.market.CACHE` by default.
    The complete result: the last one :func:`clear_stages` yields.
    """
    return list(clear_stages(scenario, settings, progress, cancelled, truth=truth, cache=cache))[-1]


def clear_stages(
    scenario: Scenario,
    settings: MarketSettings | None = None,
    progress=None,
    cancelled=None,
    truth: Scenario | None = None,
    cache: ClearingCache | None = None,
) -> Iterator[MarketResult]:
    """The market first, then its diagnostics one by one: yields a result after each.

    The first is the clearing itself — prices, dispatch, payments, curves,
    DLMPs and flows, market power, and the chosen fairness rule's allocation —
    with ``pending`` naming the diagnostics still to come (:data:`DIAGNOSTICS`,
    in this order, as ``settings`` ask: the decentralised check, the properties
    audit, the price iteration, every fairness rule compared with the envy
    audit, every mechanism's day compared). Each next result has one more of
    them; the last is complete (``pending == ()``). A result yielded before is
    never changed afterwards. When nothing is pending there is one result.
    Once ``cancelled()`` returns True no further result is yielded.
    ``truth``, ``cache``: as in :func:`clear`.
    """
    settings = settings or MarketSettings()
    cache = CACHE if cache is None else cache
    T = scenario.periods
    period = 0 if settings.period is None else settings.period
    if not 0 <= period < T:
        raise ValueError(f"period {period} is outside the horizon (0…{T - 1})")
    stop = (lambda: False) if cancelled is None else cancelled
    day_key = replace(settings, period=None) if truth is None and settings.network == "none" else None
    ctx = None
    hit = cache.day(day_key, scenario) if day_key is not None else None
    with collect_warnings() as solver_warnings:
        if hit is not None:
            result, day = at_period(scenario, hit[0], hit[1], period), hit[1]  # the day is solved: views change
        elif settings.mechanism == "welfare":
            result, ctx, day = clear_welfare(scenario, settings, period, progress, cancelled, truth, cache=cache)
        else:
            result, day = clear_auction(scenario, settings, period, truth, cache=cache)
    if solver_warnings:
        result.summary["status"] = INACCURATE
        _note(result, solver_warnings)
    if settings.market_power and result.book is not None and result.market_power is None:
        t0 = time.perf_counter()
        result.market_power, result.market_power_summary = market_power_of(settings, result.book)
        result.timings_s["market_power"] = time.perf_counter() - t0
    todo = _wanted(scenario, settings, ctx, result)
    if todo:
        result.pending = todo
        yield snapshot(result)
        for k, item in enumerate(todo):  # each diagnostic shown as soon as it is done
            if stop():
                return
            with collect_warnings() as solver_warnings:
                _diagnose(scenario, settings, result, ctx, (item,), progress, stop, day, cache)
            _note(result, solver_warnings, item)
            if stop():
                return
            result.pending = todo[k + 1 :]
            if result.pending:
                yield snapshot(result)
    if day_key is not None and hit is None:
        cache.keep_day(day_key, scenario, snapshot(result), day)
    yield result


def _note(result: MarketResult, texts: list[str], diagnostic: Diagnostic | None = None) -> None:
    """Attach the solver's warnings to ``summary["solver_warning"]`` (one line per warning, the diagnostic named)."""
    if not texts:
        return
    lines = [t if diagnostic is None else f"{diagnostic}: {t}" for t in texts]
    known = result.summary.get("solver_warning")
    result.summary["solver_warning"] = "\n".join([known, *lines] if known else lines)


def _wanted(s: Scenario, settings: MarketSettings, ctx: Context | None, result: MarketResult) -> tuple[Diagnostic, ...]:
    """The diagnostics ``settings`` ask for that this result does not have yet, in :data:`DIAGNOSTICS`' order."""
    copper = ctx is not None and settings.network == "none"
    todo = []
    if copper and settings.decentralised_check:
        todo.append(Diagnostic.DECENTRALISED_CHECK)
    if settings.audit and result.audit is None and result.book is not None:
        todo.append(Diagnostic.AUDIT)
    if copper and settings.tatonnement:
        todo.append(Diagnostic.PRICE_ITERATION)
    if copper and ctx.chosen is not None:
        todo.append(Diagnostic.FAIRNESS_COMPARISON)
    if ctx is not None and settings.network != "none" and settings.fairness_audit:
        todo.append(Diagnostic.ENVY_AUDIT)
    if settings.compare and result.mechanisms is None:
        todo.append(Diagnostic.MECHANISM_COMPARISON)
    return tuple(d for d in DIAGNOSTICS if d in todo)


def _diagnose(
    s: Scenario,
    settings: MarketSettings,
    result: MarketResult,
    ctx: Context | None,
    todo: tuple[Diagnostic, ...],
    progress,
    stop,
    day: SolvedDay | None = None,
    cache: ClearingCache = CACHE,
) -> None:
    """Fill in the diagnostics ``todo`` names (in that order), stopping early once ``stop()``."""
    timings, summary = result.timings_s, result.summary
    if Diagnostic.DECENTRALISED_CHECK in todo and not stop():
        t0 = time.perf_counter()
        summary.update(decentralised_gap(ctx.sol, s, solver=cache.price_response))  # solver: storage only
        timings["decentralised_check"] = time.perf_counter() - t0
    if Diagnostic.PRICE_ITERATION in todo and not stop():
        t0 = time.perf_counter()
        prog = None if progress is None else (lambda k, m: progress(0.3 + 0.5 * k / m, f"price iteration {k}"))
        with cache.price_response(s) as response:
            trace = tatonnement(s, grid=settings.grid_prices, progress=prog, cancelled=stop, response=response)
        result.trace = trace
        summary["tatonnement_iterations"] = trace.iterations
        summary["tatonnement_converged"] = trace.converged
        # how far the iteration ends from the prices that clear (0 anywhere inside their interval)
        lo = result.periods.price_lo_per_kwh.to_numpy(dtype=float)
        hi = result.periods.price_hi_per_kwh.to_numpy(dtype=float)
        summary["tatonnement_max_price_gap"] = float(np.max(np.maximum(lo - trace.final, trace.final - hi).clip(0)))
        timings["tatonnement"] = time.perf_counter() - t0
    if Diagnostic.FAIRNESS_COMPARISON in todo and not stop():
        if progress is not None:
            progress(0.8, "comparing the fairness rules")
        t0 = time.perf_counter()
        fairness_compare(s, settings, result, ctx)
        timings["fairness"] = timings.get("fairness", 0.0) + time.perf_counter() - t0
    if Diagnostic.ENVY_AUDIT in todo and not stop():
        t0 = time.perf_counter()
        network_envy(s, result, ctx.sol)
        timings["envy"] = time.perf_counter() - t0
    if Diagnostic.AUDIT in todo and not stop():
        t0 = time.perf_counter()
        truth = result.book
        mech = "uniform" if settings.mechanism == "welfare" else settings.mechanism
        kw = {"k": settings.k} if mech == "uniform" else {}
        # on a large book, search the most active agents for profitable lies (the others move prices least)
        limit = None if len(truth.agents) <= AUDIT_ALL_AGENTS else AUDIT_MAX_AGENTS
        step = None if progress is None else (lambda f: progress(0.85 + 0.15 * f, "auditing the mechanisms"))
        try:
            result.audit = audit(truth, mech, max_agents=limit, cancelled=stop, **kw)
            result.comparison = compare_mechanisms(truth, k=settings.k, max_agents=limit, cancelled=stop, progress=step)
        except Cancelled:
            return
        timings["audit"] = time.perf_counter() - t0
    if Diagnostic.MECHANISM_COMPARISON in todo and not stop():
        t0 = time.perf_counter()
        if progress is not None:
            progress(0.9, "comparing the mechanisms")
        known = (result, day) if day is not None and comparable(settings) else None
        table = compare_days(s, settings, result.period, cancelled=stop, known=known, cache=cache)
        if table is not None:
            result.mechanisms = table
        timings["mechanism_comparison"] = time.perf_counter() - t0
