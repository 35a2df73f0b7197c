"""What a cleared market is: :class:`MarketResult` (tables, curves, summary), its :class:`Diagnostic` stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import pandas as pd

from core.market.settings import MarketSettings
from core.mechanisms import OrderBook
from core.properties import Audit
from core.welfare import PriceTrace


@dataclass(frozen=True)
class Curves:
    """Supply and demand step curves of one period (cumulative kWh, price per kWh, agent per step)."""

    period: int
    demand_kwh: np.ndarray
    demand_price: np.ndarray
    demand_agent: list[str]
    supply_kwh: np.ndarray
    supply_price: np.ndarray
    supply_agent: list[str]
    price: float | None  # the clearing price shown on the curves (None: nothing traded)
    traded_kwh: float  # energy traded between prosumers in the period
    retail_price: float
    feed_in_price: float
    price_interval: tuple[float, float] | None = None  # every price in it clears the period


@dataclass
class MarketResult:
    """Everything a cleared market shows. DataFrames carry units in their column names.

    * ``agents``: one row per prosumer (totals over the day, valued with the true curves: :mod:`core.outcome`);
    * ``agent_periods``: one row per prosumer and period (market and grid energy, dispatch, state of
      charge ``soc_kwh`` at the end of the period, money);
    * ``periods``: one row per period (price and its interval, traded energy, grid, welfare…);
    * ``curves``: the chosen period's supply and demand; ``book``: its bids as cleared;
    * ``audit`` / ``comparison``: the properties of the chosen period;
    * ``mechanisms``: every mechanism's day on the same scale (``compare``);
    * ``trace``: the price iteration (welfare clearing);
    * ``summary``: headline numbers; ``warnings``: bids the market had to change (clipped, cut).
    """

    settings: MarketSettings
    scenario_name: str
    currency: str
    period: int
    agents: pd.DataFrame
    agent_periods: pd.DataFrame
    periods: pd.DataFrame
    curves: Curves | None
    summary: dict
    book: OrderBook | None = None
    warnings: tuple[str, ...] = ()
    mechanisms: pd.DataFrame | None = None  # one row per mechanism: day and period metrics on one scale
    audit: Audit | None = None
    comparison: pd.DataFrame | None = None
    trace: PriceTrace | None = None
    fairness: pd.DataFrame | None = None  # per agent: gain over the outside option, efficient and under the rule
    fairness_comparison: pd.DataFrame | None = None  # per rule: welfare gain, price of fairness, Jain, Gini…
    fairness_summary: dict | None = None  # the chosen rule, its supporting prices, budget balance, envy figures
    envy: pd.DataFrame | None = None  # agents × agents: how much row i prefers column j's bundle (currency)
    market_power: pd.DataFrame | None = None  # per seller of the chosen period: share, Lerner, RSI…
    market_power_summary: dict | None = None  # HHI (0–1 and points), band, elasticity, pivotal sellers
    bilateral: pd.DataFrame | None = None  # auctions: the chosen period's trades as seller→buyer pairs,
    # made loss-neutral with the AC marginal loss factors (delivered_kwh, loss_kwh)
    buses: pd.DataFrame | None = None  # per bus and period: v_pu, dlmp_per_kwh and its parts, injection_kw
    lines: pd.DataFrame | None = None  # per line and period: p_kw, q_kvar, loading_pct, loss_kw
    timings_s: dict = field(default_factory=dict)
    pending: tuple[Diagnostic, ...] = ()  # diagnostics still being computed (clear_stages' first result); () = complete


class Diagnostic(StrEnum):
    """The diagnostics :func:`~core.market.clear_stages` adds after the market, in the order it computes them.

    A ``StrEnum``: each member equals its text (``Diagnostic.AUDIT == "properties audit"``), which is what a
    result's ``pending`` shows a user."""

    DECENTRALISED_CHECK = "decentralised check"
    AUDIT = "properties audit"
    PRICE_ITERATION = "price iteration"
    FAIRNESS_COMPARISON = "fairness comparison"
    ENVY_AUDIT = "envy audit"
    MECHANISM_COMPARISON = "mechanism comparison"


DIAGNOSTICS: tuple[Diagnostic, ...] = tuple(Diagnostic)
