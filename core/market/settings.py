"""What to compute: :class:`MarketSettings`, the mechanisms' and models' names, and the rules of which settings
go together (one place: the settings check themselves with them, the dashboard and the command line ask them)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

AUCTIONS = ("uniform", "pay_as_bid", "vcg", "trade_reduction")

NETWORK_CHOICES = ("none", "socp", "lindistflow", "ac", "dc")

FAIRNESS_CHOICES = ("efficiency", "proportional", "maxmin")

FAIRNESS_LABELS = {
    "efficiency": "Efficiency (max Σ U)",
    "proportional": "Proportional (max Σ ln U)",
    "maxmin": "Max-min (max min U)",
}

FAIRNESS_AUDIT_MAX_AGENTS = 300  # above this, the rules are compared only when one is chosen (seconds per rule)

AUDIT_ALL_AGENTS = 120  # books with more agents search only the AUDIT_MAX_AGENTS most active for lies

AUDIT_MAX_AGENTS = 25

NETWORK_LABELS = {
    "none": "None (copper plate)",
    "socp": "AC (exact, SOCP)",
    "lindistflow": "LinDistFlow + losses",
    "ac": "LinDistFlow, AC-checked",
    "dc": "DC (ratings only)",
}

MECHANISM_NAMES = ("welfare", *AUCTIONS)

MECHANISM_LABELS = {
    "welfare": "Welfare-maximising (shadow price)",
    "uniform": "Uniform-price double auction",
    "pay_as_bid": "Pay-as-bid",
    "vcg": "VCG (Clarke pivot)",
    "trade_reduction": "McAfee trade reduction",
}


def network_refusal(mechanism: str) -> str | None:
    """Why ``mechanism`` cannot take a network model (None: it can)."""
    if mechanism != "welfare":
        return (
            f"the network model applies to the welfare clearing; the {mechanism} auction clears bids without "
            "the feeder (choose network 'none')"
        )
    return None


def fairness_refusal(mechanism: str, network: str, grid_prices: str) -> str | None:
    """Why a fairness rule other than efficiency cannot be chosen with these settings (None: it can)."""
    if mechanism != "welfare":
        return (
            f"fairness rules allocate over the welfare clearing's feasible set; the {mechanism} auction has its "
            "own allocation (choose fairness 'efficiency')"
        )
    if network != "none" or grid_prices != "tariffs":
        return (
            "fairness rules are computed on the copper plate with the tariffs as the outside option (choose "
            "network 'none' and the tariffs); with a network the envy audit flags envy that comes only from "
            "location"
        )
    return None


def iteration_refusal(mechanism: str, network: str) -> str | None:
    """Why there is no price iteration (tâtonnement) with these settings (None: there is)."""
    if mechanism != "welfare":
        return f"the {mechanism} auction clears directly: there is no price iteration"
    if network != "none":
        return "the price iteration runs on the copper plate only: with a network the prices are the DLMPs"
    return None


def default_grid(network: str) -> str:
    """The outside option when none is chosen: the tariffs on a copper plate, the wholesale price with a network
    (the chapter's energy component)."""
    return "tariffs" if network == "none" else "wholesale"


@dataclass(frozen=True)
class MarketSettings:
    """What to compute.

    ``period``: the period to show and audit (``None``: the first); auctions
    clear every period, the welfare clearing the whole horizon at once.
    ``k``: the k of k-pricing for the uniform auction (0.5: midpoint).
    ``grid``: the outside option, ``tariffs`` (retail/feed-in) or ``wholesale``;
    ``None`` picks the tariffs on a copper plate and the wholesale price at the
    substation with a network model (the chapter's energy component).
    ``network``: the feeder model of the welfare clearing: ``none`` (a copper
    plate), ``socp`` (the exact branch-flow model, :mod:`core.branch_flow`: the AC
    optimum, losses exact, its exactness gap reported; where the relaxation is not
    exact it falls back to ``ac`` and says so), ``lindistflow`` (voltages, ratings, losses by iterated loss
    factors; DLMPs decomposed), ``ac`` (the same clearing, then checked with
    the exact AC power flow) or ``dc`` (ratings on real power only).
    """

    mechanism: str = "welfare"
    period: int | None = None
    k: float = 0.5
    grid: str | None = None
    audit: bool = True
    tatonnement: bool = True
    decentralised_check: bool = True
    network: str = "none"
    market_power: bool = True
    fairness: str = "efficiency"
    fairness_transfers: bool = True
    lexicographic: bool = False
    fairness_audit: bool = True
    compare: bool = True  # the five mechanisms' days side by side (result.mechanisms)

    @property
    def grid_prices(self) -> str:
        """The outside option in force: ``grid``, or the default for the network model."""
        return self.grid if self.grid is not None else default_grid(self.network)

    def __post_init__(self) -> None:
        if self.mechanism not in MECHANISM_NAMES:
            raise ValueError(f"unknown mechanism '{self.mechanism}': choose one of {', '.join(MECHANISM_NAMES)}")
        # the API's arguments checked by name (a ValueError, never a TypeError from deep inside)
        if isinstance(self.k, bool) or not isinstance(self.k, int | float) or not 0.0 <= self.k <= 1.0:
            raise ValueError(f"k must be a number in [0, 1], got {self.k!r}")
        if self.period is not None and (
            isinstance(self.period, bool) or not isinstance(self.period, int | np.integer) or self.period < 0
        ):
            raise ValueError(f"period must be a whole number ≥ 0 (a period of the horizon), got {self.period!r}")
        for name in (
            "audit",
            "tatonnement",
            "decentralised_check",
            "market_power",
            "fairness_transfers",
            "lexicographic",
            "fairness_audit",
            "compare",
        ):
            if not isinstance(getattr(self, name), bool | np.bool_):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.grid not in (None, "tariffs", "wholesale"):
            raise ValueError(f"grid must be 'tariffs' or 'wholesale', got {self.grid!r}")
        if self.network not in NETWORK_CHOICES:
            raise ValueError(f"unknown network model '{self.network}': choose one of {', '.join(NETWORK_CHOICES)}")
        if self.fairness not in FAIRNESS_CHOICES:
            raise ValueError(f"unknown fairness rule '{self.fairness}': choose one of {', '.join(FAIRNESS_CHOICES)}")
        if self.fairness != "efficiency":
            why = fairness_refusal(self.mechanism, self.network, self.grid_prices)
            if why:
                raise ValueError(why)
        if self.network != "none" and network_refusal(self.mechanism):
            raise ValueError(network_refusal(self.mechanism))


def with_settings(settings: MarketSettings, **changes) -> MarketSettings:
    """A copy of ``settings`` with some fields changed (validated)."""
    return replace(settings, **changes)
