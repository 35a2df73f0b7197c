"""The five mechanisms' days side by side on one scale (the Compare view)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from core.errors import Cancelled
from core.market.auctions import clear_auction
from core.market.cache import CACHE, ClearingCache
from core.market.copper_plate import clear_welfare
from core.market.settings import AUDIT_ALL_AGENTS, AUDIT_MAX_AGENTS, MECHANISM_NAMES, MarketSettings
from core.properties import audit
from core.scenario.model import Scenario

COMPARE_COLUMNS = (
    "welfare",
    "efficiency",
    "gain_over_outside",
    "platform_surplus",
    "traded_kwh",
    "grid_import_kwh",
    "grid_export_kwh",
    "worst_off_gain",
    "ir_violations",
    "max_ic_gain",
    "period_welfare",
    "period_traded_kwh",
    "period_price_per_kwh",
    "period_platform_surplus",
)


def comparable(settings: MarketSettings) -> bool:
    return settings.network == "none" and settings.grid_prices == "tariffs" and settings.fairness == "efficiency"


def _compare_days(s: Scenario, k: float, cancelled, known: tuple | None, cache: ClearingCache) -> dict | None:
    """Each mechanism's (result, day) on the copper plate at the tariffs, solved once per scenario."""
    days = cache.compared_days(k, s)
    if known is not None:
        days.setdefault(known[0].settings.mechanism, known)
    base = MarketSettings(
        k=k,
        grid="tariffs",
        audit=False,
        tatonnement=False,
        decentralised_check=False,
        market_power=False,
        fairness_audit=False,
        compare=False,
    )
    for mech in MECHANISM_NAMES:
        if mech in days:
            continue
        if cancelled is not None and cancelled():
            return None
        settings = replace(base, mechanism=mech)
        if mech == "welfare":
            r, _, day = clear_welfare(s, settings, 0, None, cancelled, cache=cache)
        else:
            r, day = clear_auction(s, settings, 0, cache=cache)
        days[mech] = (r, day)
    cache.keep_compared_days(k, s, days)
    return days


def compare_days(
    s: Scenario,
    settings: MarketSettings,
    period: int,
    cancelled=None,
    known: tuple | None = None,
    cache: ClearingCache | None = None,
) -> pd.DataFrame | None:
    """The five mechanisms' days on one scale (:mod:`core.outcome`), copper plate at the tariffs.

    One row per mechanism: the day's welfare, its **efficiency**
    ``(W − W⁰)/(W* − W⁰)`` (the share of the welfare clearing's gain over everyone
    trading with the grid alone, ``W⁰``, that the mechanism achieves), platform
    surplus, traded energy, grid import and export, the worst-off prosumer's gain,
    individual-rationality violations against the tariffs, the best gain a prosumer
    finds by misreporting in ``period`` (measured on that period's bids; VCG's is 0),
    and the same quantities for ``period`` alone. ``known``: a (result, day) already
    cleared that way. ``None`` when cancelled.
    """

    days = _compare_days(s, settings.k, cancelled, known, CACHE if cache is None else cache)
    if days is None:
        return None
    rows = []
    for mech in MECHANISM_NAMES:
        r, day = days[mech]
        row = {
            "mechanism": mech,
            **{
                c: r.summary.get(c)
                for c in (
                    "welfare",
                    "gain_over_outside",
                    "platform_surplus",
                    "traded_kwh",
                    "grid_import_kwh",
                    "grid_export_kwh",
                    "worst_off_gain",
                    "ir_violations",
                )
            },
        }
        p = r.periods.iloc[period]
        row.update(
            period_welfare=float(p.welfare),
            period_traded_kwh=float(p.traded_kwh),
            period_price_per_kwh=float(p.price_per_kwh),
            period_platform_surplus=float(p.platform_surplus),
        )
        row["max_ic_gain"] = np.nan  # the welfare clearing: a price-taking planner, no bids to misreport
        if day.auction is not None:
            book = day.auction.books[period]
            kw = {"k": settings.k} if mech == "uniform" else {}
            limit = None if len(book.agents) <= AUDIT_ALL_AGENTS else AUDIT_MAX_AGENTS
            try:
                row["max_ic_gain"] = audit(book, mech, max_agents=limit, cancelled=cancelled, **kw).max_ic_gain
            except Cancelled:
                return None
        rows.append(row)
    table = pd.DataFrame(rows)
    best = float(table.gain_over_outside.iloc[0])
    # the share of the welfare clearing's gain; no share of a gain that is solver noise
    meaningful = best > 1e-6 * (1.0 + abs(float(table.welfare.iloc[0])))
    table["efficiency"] = table.gain_over_outside / best if meaningful else np.nan
    table.attrs["outside_welfare"] = float(table.welfare.iloc[0] - best)
    table.attrs["period"] = period
    return table[["mechanism", *COMPARE_COLUMNS]]
