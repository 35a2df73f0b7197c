"""The market: ``clear(scenario, settings) -> MarketResult``, the single entry point the GUI, the CLI, reports and tests
call. It returns pandas DataFrames (units in the column names) and a summary; it never formats for a screen.

Mechanisms:

* ``welfare`` — the welfare-maximising clearing of the prosumers' own cost and value curves over the whole horizon,
  with their feasible sets and the grid (tariffs) as outside option; the price is read from the balance
  constraint's dual (:mod:`core.welfare`), as the middle of the interval of prices that support the allocation when
  there is more than one. Its price iteration (tâtonnement) is in ``trace``. With a network model, on the feeder
  (:mod:`core.market.network`): DLMPs, voltages, flows.
* ``uniform``, ``pay_as_bid``, ``vcg``, ``trade_reduction`` — the double auctions of :mod:`core.mechanisms`, cleared
  period by period in time order, each period's bids from the state the earlier ones left (:mod:`core.auction_day`).

Every outcome is valued the same way (:mod:`core.outcome`): ``summary["welfare"]`` is value − cost − net grid cost
with the true curves, whatever the mechanism; what the bids declared is ``summary["declared_gains"]``;
``traded_kwh`` is the energy traded between prosumers. ``agents`` holds each prosumer's day, ``agent_periods`` each
prosumer's periods (energy with the market and the grid, dispatch, state of charge, money), ``periods`` the market's
periods (price and its interval, traded energy, grid, welfare).

With ``audit`` the result carries the properties audit of the chosen period (:mod:`core.properties`) and the
comparison of every auction on it; with ``compare`` the five mechanisms' days side by side (``mechanisms``).

The rooms of this package, from the top: :mod:`~core.market.stages` (``clear``, ``clear_stages`` and the diagnostics),
:mod:`~core.market.copper_plate`, :mod:`~core.market.network` and :mod:`~core.market.auctions` (the three kinds of
clearing), :mod:`~core.market.compare` (the five mechanisms on one scale), :mod:`~core.market.day` (a solved day and
the view of one period), :mod:`~core.market.result` (what a result holds), :mod:`~core.market.settings` (what to
compute and which settings go together) and :mod:`~core.market.cache` (what is kept between calls).
"""

from __future__ import annotations

from core.errors import Cancelled, ClearingError
from core.market.cache import CACHE, ClearingCache
from core.market.compare import COMPARE_COLUMNS, compare_days
from core.market.result import DIAGNOSTICS, SUMMARY_KEYS, Curves, Diagnostic, MarketResult
from core.market.settings import (
    AUCTIONS,
    FAIRNESS_CHOICES,
    FAIRNESS_LABELS,
    MECHANISM_LABELS,
    MECHANISM_NAMES,
    NETWORK_CHOICES,
    NETWORK_LABELS,
    MarketSettings,
    default_grid,
    fairness_refusal,
    iteration_refusal,
    network_refusal,
    with_settings,
)
from core.market.stages import clear, clear_stages


def preload() -> None:
    """Import now what the clearing and its diagnostics import on first use (fairness, market power, the network
    models, the Nash search): a worker thread that imports a module holds the GIL while it compiles, freezing the
    window that started it."""
    import core.branch_flow
    import core.fairness
    import core.market_power
    import core.pricing
    import core.strategy  # noqa: F401


__all__ = [
    "AUCTIONS",
    "CACHE",
    "COMPARE_COLUMNS",
    "DIAGNOSTICS",
    "FAIRNESS_CHOICES",
    "FAIRNESS_LABELS",
    "MECHANISM_LABELS",
    "MECHANISM_NAMES",
    "NETWORK_CHOICES",
    "NETWORK_LABELS",
    "SUMMARY_KEYS",
    "Cancelled",
    "ClearingCache",
    "ClearingError",
    "Curves",
    "Diagnostic",
    "MarketResult",
    "MarketSettings",
    "clear",
    "clear_stages",
    "compare_days",
    "default_grid",
    "fairness_refusal",
    "iteration_refusal",
    "network_refusal",
    "preload",
    "with_settings",
]
