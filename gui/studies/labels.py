"""What the Studies dock calls the axes and metrics of a study: names, units, tooltips, value ranges and labels."""

from __future__ import annotations

import math

from core.market import FAIRNESS_LABELS, MECHANISM_LABELS, NETWORK_LABELS
from core.study import METRICS
from core.units import MONEY_NAMES, fmt_sig
from gui.market_panels import SHORT_MECHANISM

MONEY = MONEY_NAMES  # one list of the money names: core.units

# axis → (label, unit for the plot's axis, tooltip)
AXIS_INFO: dict[str, tuple[str, str, str]] = {
    "mechanism": (
        "Mechanism",
        "",
        "The market mechanism: the welfare-maximising clearing (shadow price λ) or one of "
        "the double auctions. Unticked: the welfare clearing.",
    ),
    "fairness": (
        "Fairness rule",
        "",
        "How the welfare clearing shares the gains: efficiency (max Σ U), proportional "
        "(max Σ ln U), max-min. Applies to the welfare clearing on the copper plate "
        "only; other combinations are skipped. Unticked: efficiency.",
    ),
    "network": (
        "Network model",
        "",
        "The welfare clearing's network model: none (copper plate), LinDistFlow, AC, "
        "DC. Applies to the welfare clearing only. Unticked: none.",
    ),
    "pv_penetration": (
        "PV penetration",
        "PV kW / peak demand kW",
        "Total PV capacity as a fraction of the project's peak demand (0.5 = half the peak). "
        "Existing PV is scaled, then new PV prosumers are added at load buses (seeded). "
        "Unticked: the project's PV as it is.",
    ),
    "demand_scale": (
        "Demand scale",
        "× demand",
        "A factor on every demand (fixed, flexible and buy blocks). Unticked: 1.",
    ),
    "bid_shading": (
        "Bid shading",
        "s",
        "Strategic shading s: sellers ask (1+s)×, buyers bid (1−s)× their true "
        "prices (−1 < s < 1). Unticked: 0 (truthful).",
    ),
    "k": (
        "k (uniform price)",
        "k",
        "The k of the uniform auction's k-pricing, 0 (buyers' side) … 1 (sellers' "
        "side); only the uniform auction uses it. Unticked: 0.5 (midpoint).",
    ),
    "period": (
        "Reported period",
        "period",
        "The period whose price, DLMPs, market power and audit are reported "
        "(welfare and energy are over the whole horizon).",
    ),
}

# metric → (label, unit, tooltip); {cur} is the project's currency
METRIC_INFO: dict[str, tuple[str, str, str]] = {
    "welfare": (
        "Welfare",
        "{cur}",
        "Value − cost − net grid cost over the horizon, at the prosumers' true "
        "(unshaded) curves: the same scale for every mechanism, and the welfare "
        "clearing's is the most any mechanism reaches",
    ),
    "declared_gains": (
        "Declared gains",
        "{cur}",
        "What the bids declared: Σ bid × kWh bought − Σ ask × kWh sold "
        "(the welfare clearing: its objective on the declared curves)",
    ),
    "gain_over_outside": (
        "Gain over the grid alone",
        "{cur}",
        "Welfare − Σ outside options: what the market adds to everyone trading with the grid alone",
    ),
    "worst_off_gain": (
        "Worst-off gain",
        "{cur}",
        "The smallest gain of a prosumer over its outside option "
        "(negative: someone is worse off than with the grid alone)",
    ),
    "price_per_kwh": ("Price", "{cur}/kWh", "The reported period's clearing price (the energy price with a network)"),
    "mean_price_per_kwh": ("Mean price", "{cur}/kWh", "The mean clearing price over the periods that cleared"),
    "traded_kwh": ("Traded energy", "kWh", "Energy traded between prosumers (peer to peer) over the horizon"),
    "grid_import_kwh": ("Grid import", "kWh", "Energy imported from the grid over the horizon"),
    "grid_export_kwh": ("Grid export", "kWh", "Energy exported to the grid over the horizon"),
    "platform_surplus": ("Platform surplus", "{cur}", "Payments in − payments out: the budget left to the platform"),
    "ir_violations": ("IR violations", "agents", "Agents worse off than with the grid alone at the tariffs"),
    "efficiency": (
        "Efficiency (period bids)",
        "of the optimum",
        "Auctions with the audit: the reported period's gains at its bids / the most those bids allow",
    ),
    "max_ic_gain": (
        "Largest IC gain",
        "{cur}",
        "Auctions with the audit: the best gain an agent finds by misreporting",
    ),
    "hhi": ("HHI", "0–1", "Herfindahl–Hirschman index of the sellers in the reported period"),
    "max_lerner": ("Largest Lerner index", "(P − mc)/P", "The largest observed Lerner index of a seller"),
    "dlmp_min_per_kwh": ("Lowest DLMP", "{cur}/kWh", "With a network model: the reported period's lowest DLMP"),
    "dlmp_max_per_kwh": ("Highest DLMP", "{cur}/kWh", "With a network model: the reported period's highest DLMP"),
    "v_min_pu": ("Lowest voltage", "p.u.", "With a network model: the reported period's lowest voltage"),
    "loss_kwh": ("Losses", "kWh", "With a network model: line losses over the horizon"),
    "max_loading_pct": ("Largest line loading", "%", "The reported period's most loaded line"),
    "envious_pairs": (
        "Envious pairs",
        "pairs",
        "Pairs (i, j) where i prefers j's bundle (fairness rules, or the envy audit)",
    ),
    "price_of_fairness": ("Price of fairness", "fraction", "Welfare lost by the fairness rule against efficiency"),
    "fairness_welfare_gain": ("Gains over outside options", "{cur}", "Σ gains over the outside options under the rule"),
    "jain": ("Jain's index", "0–1", "Jain's fairness index of the gains (1: equal)"),
    "solve_time_s": ("Solve time", "s", "The solver's (welfare clearing) or the auction's time"),
    "wall_time_s": ("Time per point", "s", "The whole point: variant, clearing, metrics"),
}
PLOT_METRICS = tuple(m for m, dtype in METRICS.items() if dtype in ("float64", "Int64"))

TEXT_LABELS = {
    "mechanism": SHORT_MECHANISM,
    "fairness": {"efficiency": "Efficiency", "proportional": "Proportional", "maxmin": "Max-min"},
    "network": {"none": "None (copper plate)", "lindistflow": "LinDistFlow", "ac": "AC-checked", "dc": "DC"},
}
TEXT_TIPS = {"mechanism": MECHANISM_LABELS, "fairness": FAIRNESS_LABELS, "network": NETWORK_LABELS}

# numeric axis → (minimum, maximum, step, decimals, default start, stop, num)
RANGES: dict[str, tuple[float, float, float, int, float, float, int]] = {
    "pv_penetration": (0.0, 10.0, 0.05, 3, 0.1, 0.8, 8),
    "demand_scale": (0.05, 10.0, 0.05, 3, 0.8, 1.2, 3),
    "bid_shading": (-0.95, 0.95, 0.05, 3, 0.0, 0.3, 4),
    "k": (0.0, 1.0, 0.1, 3, 0.0, 1.0, 5),
}
DEFAULT_AXES = {"mechanism": ["welfare", "uniform", "vcg"], "pv_penetration": (0.1, 0.8, 8)}


def metric_label(metric: str, currency: str = "") -> str:
    """``Welfare (EUR)``, ``Price (EUR/kWh)``: the metric's name and unit."""
    name, unit, _tip = METRIC_INFO.get(metric, (metric.replace("_", " "), "", ""))
    unit = unit.format(cur=currency or "currency")
    return f"{name} ({unit})" if unit else name


def axis_title(axis: str) -> str:
    name, unit, _tip = AXIS_INFO.get(axis, (axis, "", ""))
    return f"{name} ({unit})" if unit and unit != name.lower() and unit not in ("k", "period") else name


def value_text(axis: str, v) -> str:
    """An axis value as the plots name it (``Uniform price``, ``0.45``, ``–`` for none)."""
    if axis in TEXT_LABELS:
        return TEXT_LABELS[axis].get(v, str(v))
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return fmt_sig(float(v), 4)
