"""The double auctions over the day: each period cleared in time order from the state the earlier ones left."""

from __future__ import annotations

import time

import numpy as np

from core.auction_day import clear_day, no_trade_interval
from core.market.cache import ClearingCache
from core.market.day import SolvedDay, period_view, price_columns, valued
from core.market.result import MarketResult
from core.market.settings import MarketSettings
from core.outcome import from_auction, with_columns
from core.scenario.model import Scenario


def clear_auction(
    s: Scenario, settings: MarketSettings, period: int, truth: Scenario | None = None, *, cache: ClearingCache
) -> tuple[MarketResult, SolvedDay]:
    """The chosen auction over the day (:func:`core.auction_day.clear_day`), valued on the common scale."""
    t0 = time.perf_counter()
    grid = settings.grid_prices
    if truth is None:
        auction = clear_day(s, settings.mechanism, settings.k, grid=grid)
    else:  # the prosumers bid what `s` declares; their physics is `truth`'s
        auction = clear_day(truth, settings.mechanism, settings.k, declared=s, grid=grid)
    elapsed = time.perf_counter() - t0
    fleet = auction.fleet
    outcome = from_auction(auction, fleet.retail, fleet.feed_in)
    alone = cache.outside_option(s if truth is None else truth)
    val = valued(s, fleet, None, outcome, alone)  # `fleet` already holds the true physics
    T = s.periods
    price = np.array([np.nan if o.price is None else float(o.price) for o in auction.outcomes])
    lo, hi = np.full(T, np.nan), np.full(T, np.nan)
    for t, (o, b) in enumerate(zip(auction.outcomes, auction.books, strict=True)):
        if o.price_interval is not None and o.traded_qty > 0:
            lo[t], hi[t] = o.price_interval
        else:
            lo[t], hi[t] = no_trade_interval(b, float(fleet.retail[t]), float(fleet.feed_in[t]))
    day = SolvedDay(fleet, price, lo, hi, outcome.traded_kwh, auction=auction)
    periods = with_columns(
        val.periods,
        **price_columns(day),
        retail_price_per_kwh=s.tariffs.retail_import_price_per_kwh,
        feed_in_price_per_kwh=s.tariffs.feed_in_price_per_kwh,
    )
    rule = {
        "uniform": f"k = {settings.k:g} on the interval of prices that clear",
        "trade_reduction": "McAfee's p0 where all efficient trades happen (else buyers and sellers pay "
        "different prices: no single price)",
        "pay_as_bid": "none: every block pays its own bid",
        "vcg": "none: Clarke pivot payments",
    }
    summary = {
        **val.summary,
        "price_rule": rule[settings.mechanism],
        "mean_price_per_kwh": float(np.nanmean(price)) if np.isfinite(price).any() else None,
        "solve_time_s": elapsed,
        "status": "optimal",
    }
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
        warnings=tuple(auction.warnings),
        timings_s={"clear": elapsed},
    )
    period_view(s, settings, result, day, period)
    return result, day
