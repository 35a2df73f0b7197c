"""One point: build its scenario, clear its market, and return its row (never raises for a failed point)."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from core.errors import ClearingError
from core.market import (
    CACHE,
    MarketResult,
    MarketSettings,
    clear,
)
from core.scenario.model import Scenario
from core.study.spec import METRICS, PointOptions, StudyPoint
from core.study.variants import build_variant


def _num(v: Any) -> float:
    if v is None:
        return math.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _metrics(result: MarketResult, settings: MarketSettings) -> dict[str, Any]:
    s = result.summary
    row: dict[str, Any] = {
        "welfare": _num(s.get("welfare")),
        "declared_gains": _num(s.get("declared_gains")),
        "gain_over_outside": _num(s.get("gain_over_outside")),
        "worst_off_gain": _num(s.get("worst_off_gain")),
        "price_per_kwh": _num(s.get("price_per_kwh")),
        "traded_kwh": _num(s.get("traded_kwh")),
        "grid_import_kwh": _num(s.get("grid_import_kwh")),
        "grid_export_kwh": _num(s.get("grid_export_kwh")),
        "platform_surplus": _num(s.get("platform_surplus")),
        "ir_violations": s.get("ir_violations"),
        "dlmp_min_per_kwh": _num(s.get("dlmp_min_per_kwh")),
        "dlmp_max_per_kwh": _num(s.get("dlmp_max_per_kwh")),
        "largest_dlmp_component": s.get("largest_dlmp_component", ""),
        "v_min_pu": _num(s.get("v_min_pu")),
        "loss_kwh": _num(s.get("loss_kwh")),
        "max_loading_pct": _num(s.get("max_loading_pct")),
        "envious_pairs": s.get("envious_pairs"),
        "price_of_fairness": _num(s.get("price_of_fairness")),
        "jain": _num(s.get("jain")),
        "solve_time_s": _num(s.get("solve_time_s")),
    }
    prices = result.periods.price_per_kwh.to_numpy(dtype=float)
    row["mean_price_per_kwh"] = float(np.mean(prices[np.isfinite(prices)])) if np.isfinite(prices).any() else math.nan
    if result.market_power_summary is not None:
        row["hhi"] = _num(result.market_power_summary.get("hhi"))
        lerner = (
            result.market_power.lerner_observed.to_numpy(dtype=float)
            if result.market_power is not None
            else np.zeros(0)
        )
        row["max_lerner"] = float(np.max(lerner[np.isfinite(lerner)])) if np.isfinite(lerner).any() else math.nan
    if result.fairness_summary is not None and "welfare_gain" in result.fairness_summary:
        row["fairness_welfare_gain"] = _num(result.fairness_summary["welfare_gain"])
    if result.audit is not None and settings.mechanism != "welfare":
        row["efficiency"] = float(result.audit.efficiency)
        row["max_ic_gain"] = float(result.audit.max_ic_gain)
    return row


def _empty_row(point: StudyPoint) -> dict[str, Any]:
    row: dict[str, Any] = {"point": point.index, "point_id": point.point_id, "draw": point.draw}
    for name, v in point.values:
        row[name] = math.nan if v is None else v
    for name, dtype in METRICS.items():
        row[name] = "" if dtype == "object" else (None if dtype == "Int64" else math.nan)
    return row


def run_point(base: Scenario, point: StudyPoint, options: PointOptions) -> dict[str, Any]:
    """Build the point's scenario, clear its market and return its row; never raises for a failed point.

    ``status``: ``ok``; ``infeasible`` when the clearing is proven infeasible
    (a :class:`ClearingError` with an infeasible status); ``error`` with the
    error's message for anything else. The row does not depend on what was
    computed before in the same process: every solve is cold, and the outside options solved for earlier points
    are forgotten (:meth:`~core.market.ClearingCache.forget_solutions`), the compiled problems kept.
    """
    t0 = time.perf_counter()
    row = _empty_row(point)
    CACHE.forget_solutions()
    try:
        settings = point.settings(options)
        truth, declared = build_variant(base, point, options)
        # shaded bids are declarations: the outcome is valued at the truthful curves
        result = clear(declared, settings, truth=None if declared is truth else truth)
        row.update(_metrics(result, settings))
        row["status"] = "ok"
    except ClearingError as err:
        row["status"] = "infeasible" if "infeasible" in str(err.status) else "error"
        row["message"] = str(err)
    except Exception as err:  # a failed point is recorded, the study goes on
        row["status"] = "error"
        row["message"] = f"{type(err).__name__}: {err}"
    row["wall_time_s"] = time.perf_counter() - t0
    return row


def _run_points(base: Scenario, points: Sequence[StudyPoint], options: PointOptions) -> list[dict[str, Any]]:
    """Several points in one task (:func:`run_study`'s ``batch``)."""
    return [run_point(base, p, options) for p in points]
