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


# Every headline number a result's ``summary`` may hold: name → what it is (units in the name). The summary is a
# dict for the panels' and the exports' sake; this table is its schema (tests check every clearing against it).
SUMMARY_KEYS: dict[str, str] = {
    # the day, valued on one scale (core.outcome), whatever the mechanism
    "mechanism": "the mechanism that cleared",
    "step_h": "hours per period",
    "welfare": "value − cost − net grid cost over the day, with the true curves (currency)",
    "declared_gains": "the gains the bids declared (currency)",
    "traded_kwh": "energy traded between prosumers over the day",
    "grid_import_kwh": "energy bought from the grid over the day",
    "grid_export_kwh": "energy sold to the grid over the day",
    "platform_surplus": "what buyers paid minus what sellers received (currency; negative: a deficit)",
    "value": "the value of the energy used (currency)",
    "cost": "the cost of the energy produced (currency)",
    "grid_cost": "the net cost of the grid (currency)",
    "outside_welfare": "the welfare with everyone trading with the grid alone (currency)",
    "gain_over_outside": "welfare − outside_welfare (currency)",
    "worst_off_gain": "the smallest gain of a prosumer over its outside option (currency)",
    "ir_violations": "prosumers worse off than with the grid alone",
    "storage_burn_kwh": "energy a storage charged and discharged at once (a lossy idle)",
    # the price
    "price_rule": "how the price shown was chosen",
    "mean_price_per_kwh": "the mean of the periods' prices",
    "price_per_kwh": "the chosen period's price (None: nothing traded)",
    "price_lo_per_kwh": "the lowest price that clears the chosen period",
    "price_hi_per_kwh": "the highest price that clears the chosen period",
    "period_traded_kwh": "energy traded in the chosen period",
    "notes": "what the auction did to the chosen period's bids",
    "bilateral_loss_kwh": "losses of the chosen period's bilateral pairs (AC marginal loss factors)",
    # the solve
    "solve_time_s": "seconds the clearing took",
    "status": "the solver's word: optimal or optimal_inaccurate (core.numerics)",
    "solver_warning": "what the solver said was inaccurate, one line each",
    # the network
    "network": "the network model",
    "network_model": "the network model in words, with its distance from the AC physics",
    "network_note": "why the exact model fell back to another",
    "fallback": "the model used when the exact one was not exact",
    "dlmp_min_per_kwh": "the lowest DLMP of the chosen period",
    "dlmp_max_per_kwh": "the highest DLMP of the chosen period",
    "largest_dlmp_component": "the DLMP part that differs most between buses (loss, congestion, voltage or none)",
    "loss_kwh": "network losses over the day",
    "v_min_pu": "the lowest voltage of the chosen period",
    "max_loading_pct": "the most loaded line's loading in the chosen period",
    "decomposition_error_per_kwh": "how far the DLMP parts are from adding up to the bus balance's dual",
    "exactness_gap": "the SOCP relaxation's largest relative gap |P² + Q² − v·ℓ|",
    "ac_rounds": "rounds of the AC voltage correction",
    "ac_max_voltage_gap_pu": "the largest gap between the model's and the AC power flow's voltages",
    "ac_max_limit_violation_pu": "the largest voltage-limit violation in the AC power flow",
    "ac_loss_kwh": "losses in the AC power flow over the day",
    "ac_v_min_pu": "the lowest voltage in the AC power flow",
    # diagnostics
    "max_trade_gap_kw": "decentralised check: the largest gap between an agent alone at λ and the planner",
    "max_imbalance_kw": "decentralised check: the largest imbalance of the agents alone at λ",
    "tatonnement_iterations": "rounds of the price iteration",
    "tatonnement_converged": "whether the price iteration converged",
    "tatonnement_max_price_gap": "how far the iteration ends from the prices that clear",
    "fairness_rule": "the fairness rule of the allocation",
    "price_of_fairness": "the share of welfare the fairness rule gives up",
    "jain": "Jain's index of the gains",
    "envious_pairs": "pairs of prosumers where one prefers the other's bundle",
    "envious_pairs_by_location_only": "envious pairs whose envy is only the DLMP difference between their buses",
}
