"""What a solved day keeps (:class:`SolvedDay`) and how one of its periods is shown: price, bids, curves, pairs."""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from core.auction_day import AuctionDay, book_at, state_at
from core.bids import Fleet, fleet_arrays
from core.market.result import Curves, MarketResult
from core.market.settings import MarketSettings
from core.mechanisms import MECHANISMS, OrderBook, supply_demand_curves
from core.outcome import DayOutcome, value_day
from core.scenario.model import Scenario


@dataclass
class Context:
    """What the diagnostics need from the clearing they examine."""

    sol: object = None  # WelfareSolution (copper plate) or NetworkSolution
    alone: np.ndarray | None = None  # the outside options
    chosen: object = None  # the fairness rule's FairAllocation (copper plate at the tariffs)


@dataclass
class SolvedDay:
    """What a solved day keeps to show another of its periods without solving again."""

    fleet: Fleet
    price: np.ndarray  # per period, nan where nothing traded
    price_lo: np.ndarray
    price_hi: np.ndarray
    traded_kwh: np.ndarray
    auction: AuctionDay | None = None  # auctions: each period's book and outcome
    der_kw: np.ndarray | None = None  # the welfare clearing's dispatch (its bids are built from it)


def curves_of(
    book: OrderBook, s: Scenario, t: int, price: float | None, traded: float, interval: tuple[float, float] | None
) -> Curves:
    dq, dp, di, sq, spr, si = supply_demand_curves(book)
    name = lambda blocks, agents: [book.agents[int(a)] for a in agents[blocks]]  # noqa: E731
    return Curves(
        period=t,
        demand_kwh=np.asarray(dq),
        demand_price=np.asarray(dp),
        demand_agent=name(np.asarray(di), book.buy_agent),
        supply_kwh=np.asarray(sq),
        supply_price=np.asarray(spr),
        supply_agent=name(np.asarray(si), book.sell_agent),
        price=price,
        traded_kwh=traded,
        retail_price=s.tariffs.retail_import_price_per_kwh[t],
        feed_in_price=s.tariffs.feed_in_price_per_kwh[t],
        price_interval=interval,
    )


def agent_meta(s: Scenario) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "agent": [p.id for p in s.prosumers],
            "bus": [p.bus for p in s.prosumers],
            "role": [p.role for p in s.prosumers],
            "der": [p.asset.kind if p.asset is not None else "" for p in s.prosumers],
            "storage_kwh": [
                p.asset.energy_kwh if p.asset is not None and p.asset.energy_kwh is not None else np.nan
                for p in s.prosumers
            ],
        }
    )


def price_columns(day: SolvedDay) -> dict:
    return {"price_per_kwh": day.price, "price_lo_per_kwh": day.price_lo, "price_hi_per_kwh": day.price_hi}


def period_view(s: Scenario, settings: MarketSettings, result: MarketResult, day: SolvedDay, period: int) -> None:
    """Fill in what belongs to the chosen period: its price, its bids and curves, its bilateral trades."""
    price = float(day.price[period])
    traded = float(day.traded_kwh[period])
    lo, hi = float(day.price_lo[period]), float(day.price_hi[period])
    interval = (lo, hi) if np.isfinite(lo) and np.isfinite(hi) else None
    shown = price if np.isfinite(price) else None
    result.summary.update(
        {
            "price_per_kwh": shown,
            "price_lo_per_kwh": lo if interval else None,
            "price_hi_per_kwh": hi if interval else None,
            "period_traded_kwh": traded,
        }
    )
    if day.auction is not None:
        out = day.auction.outcomes[period]
        result.book = day.auction.books[period]
        result.summary["notes"] = out.notes
        result.bilateral = loss_neutral_pairs(s, result.book, out, period)
        if len(result.bilateral) and "loss_kwh" in result.bilateral:
            result.summary["bilateral_loss_kwh"] = float(result.bilateral.loss_kwh.sum())
    elif day.der_kw is not None:
        # what each prosumer would bid from the state the clearing leaves it in; storages value their energy at
        # the clearing's own prices (the energy price with a network)
        forecast = np.where(np.isfinite(day.price), day.price, 0.5 * (day.price_lo + day.price_hi))
        result.book = book_at(day.fleet, period, state_at(day.fleet, day.der_kw, period), forecast).book
    result.curves = curves_of(result.book, s, period, shown, traded, interval) if result.book is not None else None


def at_period(s: Scenario, template: MarketResult, day: SolvedDay, period: int) -> MarketResult:
    """A solved day's result seen at a period: its price, bids and curves change, nothing is re-solved (the
    same period: the result as it was, diagnostics included)."""
    r = snapshot(template)
    r.timings_s = {"day_reused": True}
    if period == template.period:
        return r
    r.period = period
    r.settings = replace(template.settings, period=period)
    r.audit = r.comparison = r.market_power = r.market_power_summary = r.bilateral = None
    r.mechanisms = None  # its period columns belong to the period it was computed for
    period_view(s, r.settings, r, day, period)
    return r


def snapshot(result: MarketResult) -> MarketResult:
    """A copy that later stages cannot change (they only set attributes and update these dicts)."""
    r = copy.copy(result)
    r.summary, r.timings_s = dict(result.summary), dict(result.timings_s)
    if result.fairness_summary is not None:
        r.fairness_summary = dict(result.fairness_summary)
    return r


def market_power_of(settings: MarketSettings, book: OrderBook) -> tuple[pd.DataFrame, dict]:
    """Concentration and market power in the chosen period's bids (:mod:`core.market_power`).

    Auctions: on their own outcome. The welfare clearing: on the uniform-price
    auction of the same truthful bids (its price-taking twin).
    """
    from core.market_power import market_power_report

    mech = "uniform" if settings.mechanism == "welfare" else settings.mechanism
    kw = {"k": settings.k} if mech == "uniform" else {}
    report = market_power_report(book, MECHANISMS[mech](book, **kw))
    summary = dict(report.summary)
    summary["measured_on"] = mech  # the welfare clearing is measured on its price-taking twin, the uniform auction
    return report.sellers, summary


def valued(s: Scenario, fleet: Fleet, truth: Scenario | None, outcome: DayOutcome, alone: np.ndarray):
    """The outcome valued with the true curves (``truth`` when the scenario is a declaration)."""
    real = fleet if truth is None else fleet_arrays(truth, "tariffs")
    return value_day(real, outcome, alone, agent_meta(s), s.horizon.labels())


def no_trade(q: np.ndarray, tol: float = 1e-7) -> np.ndarray:
    """Periods in which nobody trades anything (prosumers × periods of kW)."""
    return (
        np.all(np.abs(q) <= tol * (1.0 + np.abs(q).max(initial=0.0)), axis=0)
        if q.size
        else np.ones(q.shape[1], dtype=bool)
    )


def loss_neutral_pairs(s: Scenario, book, out, t: int) -> pd.DataFrame:
    """Bilateral pairs of the cleared book, settled so that ``dP_i·MLF_i = dP_j·MLF_j``.

    MLFs come from the AC power flow of the period's injections as given in the file.
    """
    from core.mechanisms import bilateral_matches
    from core.network.powerflow import ac_power_flow, marginal_loss_factors, settle_bilateral
    from core.network.topology import bus_injections_kw, radial

    pairs = bilateral_matches(book, out)
    bus = {p.id: p.bus for p in s.prosumers}
    pairs["seller_bus"] = [bus[a] for a in pairs.seller]
    pairs["buyer_bus"] = [bus[a] for a in pairs.buyer]
    if pairs.empty:
        return pairs.assign(mlf_seller=[], mlf_buyer=[], delivered_kwh=[], loss_kwh=[])
    net = radial(s)
    p_kw, q_kvar = bus_injections_kw(s, t, net)
    sol = ac_power_flow(net, p_kw, q_kvar)
    if not sol.converged:
        return pairs
    mlf = marginal_loss_factors(net, p_kw, q_kvar, solution=sol)
    return settle_bilateral(pairs, dict(zip(net.bus_ids, mlf, strict=True)))
