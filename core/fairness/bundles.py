"""What a prosumer values a bundle of energy at: its own dispatch of DER and flexible load behind the meter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import cvxpy as cp
import numpy as np

from core.errors import ClearingError
from core.numerics import solve
from core.prosumer import check_trade_plan, internal_kw, meter_kw
from core.scenario.model import STORAGE_KINDS, Prosumer


def _slice(p: Prosumer, periods: Sequence[int]) -> Prosumer:
    """The prosumer restricted to ``periods`` (profiles cut; everything else unchanged)."""
    cols = list(periods)
    if len(cols) == len(p.demand_kw) and cols == list(range(len(p.demand_kw))):
        return p
    asset = p.asset
    if asset is not None and asset.availability_pu is not None:
        asset = replace(asset, availability_pu=tuple(asset.availability_pu[t] for t in cols))
    flexible = p.flexible
    if flexible is not None:
        flexible = replace(flexible, d_max_kw=tuple(flexible.d_max_kw[t] for t in cols))
    return replace(p, demand_kw=tuple(p.demand_kw[t] for t in cols), asset=asset, flexible=flexible, demand_kvar=None)


def _der_cost(p: Prosumer, disp: np.ndarray, step_h: float) -> np.ndarray:
    """``Δt·Σ_t (a·p_t² + b·p_t)`` per row (storage: ``b·|p_t|``), as FleetModel.per_agent_cost."""
    a = p.asset
    lin = a.cost_b_per_kwh * (np.abs(disp) if a.kind in STORAGE_KINDS else disp)
    return step_h * np.sum(a.cost_a_per_kw2h * disp**2 + lin, axis=-1)


def _flex_value(p: Prosumer, f: np.ndarray, step_h: float) -> np.ndarray:
    """``Δt·Σ_t (b_v·f_t − a_v·f_t²)`` per row."""
    fl = p.flexible
    return step_h * np.sum(fl.value_b_per_kwh * f - fl.value_a_per_kw2h * f**2, axis=-1)


def _coupling_ok(p: Prosumer, disp: np.ndarray, step_h: float, tol: float) -> np.ndarray:
    """Per row of DER dispatches (rows × periods): the ramp ``|p_t − p_{t−1}| ≤ R`` and storage energy
    ``0 ≤ e_0 − Δt·Σ_{τ≤t} p_τ ≤ E`` hold (as :func:`core.prosumer.check_trade_plan` checks them), and
    storage is handed back as full as found, ``Δt·Σ_t p_t ≤ 0`` (FleetModel's rule)."""
    a = p.asset
    m, T = disp.shape
    ok = np.ones(m, dtype=bool)
    if a.ramp_kw_per_period is not None and T > 1:
        ok &= np.all(np.abs(np.diff(disp, axis=1)) <= a.ramp_kw_per_period + tol, axis=1)
    if a.kind in STORAGE_KINDS and a.energy_kwh is not None:
        e = a.soc_init_pu * a.energy_kwh - step_h * np.cumsum(disp, axis=1)
        ok &= np.all((e >= -tol) & (e <= a.energy_kwh + tol), axis=1)
        ok &= step_h * disp.sum(axis=1) <= tol * step_h * T
    return ok


def _coupled(p: Prosumer, T: int) -> bool:
    """Whether the DER's periods are coupled (ramp limit or storage energy)."""
    a = p.asset
    return (a.ramp_kw_per_period is not None and T > 1) or (a.kind in STORAGE_KINDS and a.energy_kwh is not None)


def _p_bounds(p: Prosumer, T: int) -> tuple[np.ndarray, np.ndarray]:
    a = p.asset
    hi = np.array([a.p_max_at(t) for t in range(T)], dtype=float)
    return np.minimum(np.full(T, a.p_min_kw), hi), hi


def _best_der_and_flex(p: Prosumer, Q: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per bundle (row of ``Q``) and period, the DER output maximising ``b_v f − a_v f² − a p² − b p``.

    With ``f = η p − d − q``, the stationary point
    ``p* = (η b_v + 2 a_v η (d + q) − b)/(2 a_v η² + 2 a)`` is clipped to the interval
    where ``p_min ≤ p ≤ P^max_t`` and ``0 ≤ f ≤ f^max_t``, i.e.
    ``p ∈ [max(p_min, (d + q)/η), min(P^max_t, (d + q + f^max_t)/η)]``; for storage
    (cost ``b|p|``) the branches ``p ≥ 0`` and ``p ≤ 0`` are clipped separately and the better
    kept. Returns ``(p, f, ok)``, ``ok`` False for a bundle whose interval is empty in some period.
    """
    a, fl = p.asset, p.flexible
    T = Q.shape[1]
    d = np.asarray(p.demand_kw, dtype=float)
    fmax = np.asarray(fl.d_max_kw, dtype=float)
    eta, ca, cb = a.efficiency, a.cost_a_per_kw2h, a.cost_b_per_kwh
    av, bv = fl.value_a_per_kw2h, fl.value_b_per_kwh
    plo, phi = _p_bounds(p, T)
    lo = np.maximum(plo, internal_kw(a, d + Q))
    hi = np.minimum(phi, internal_kw(a, d + Q + fmax))
    ok = np.all(lo <= hi + tol / eta, axis=1)
    hi = np.maximum(hi, lo)
    # (wear slope, meter slope, branch): storage meters η·p discharging and p/η charging
    branches = (
        [(cb, eta, 0.0, np.inf), (-cb, 1.0 / eta, -np.inf, 0.0)]
        if a.kind in STORAGE_KINDS
        else [(cb, eta, -np.inf, np.inf)]
    )
    best_p = lo.copy()
    best_g = np.full(Q.shape, -np.inf)
    for b_lin, k, b_lo, b_hi in branches:
        blo, bhi = np.maximum(lo, b_lo), np.minimum(hi, b_hi)
        inside = blo <= bhi
        den = 2 * av * k**2 + 2 * ca
        num = k * bv + 2 * av * k * (d + Q) - b_lin
        if den > 0:
            star = num / den
        else:  # linear in p: go to the end the slope points to
            star = np.where(num > 0, np.inf, np.where(num < 0, -np.inf, 0.0))
        cand = np.clip(star, blo, np.where(inside, bhi, blo))
        f = k * cand - d - Q
        g = bv * f - av * f**2 - ca * cand**2 - b_lin * cand
        better = inside & (g > best_g)
        best_p = np.where(better, cand, best_p)
        best_g = np.where(better, g, best_g)
    return best_p, np.clip(meter_kw(a, best_p) - d - Q, 0.0, fmax), ok


def _coupled_der_and_flex(p: Prosumer, q: np.ndarray, step_h: float) -> float:
    """V_i(q) for a DER with a flexible load whose periods are coupled (ramp, storage energy): a small QP."""
    a, fl = p.asset, p.flexible
    T = q.size
    d = np.asarray(p.demand_kw, dtype=float)
    plo, phi = _p_bounds(p, T)
    P = cp.Variable(T)
    F = cp.Variable(T)
    storage = a.kind in STORAGE_KINDS
    C = cp.Variable(T, nonneg=True) if storage else None  # charging (core.prosumer: m = η·p + (η − 1/η)·c)
    meter = a.efficiency * P + (a.efficiency - 1.0 / a.efficiency) * C if storage else a.efficiency * P
    cons = [P >= plo, P <= phi, F >= 0, F <= np.asarray(fl.d_max_kw, dtype=float), meter - d - F == q]
    if storage:
        cons.append(P + C >= 0)
    if a.ramp_kw_per_period is not None and T > 1:
        cons += [cp.abs(cp.diff(P)) <= a.ramp_kw_per_period]
    if a.kind in STORAGE_KINDS and a.energy_kwh is not None:
        stored = a.soc_init_pu * a.energy_kwh - step_h * cp.cumsum(P)
        cons += [stored >= 0, stored <= a.energy_kwh, stored[T - 1] >= a.soc_init_pu * a.energy_kwh]
    lin = max(a.cost_b_per_kwh, 0.0) * (P + 2 * C) if storage else a.cost_b_per_kwh * P
    obj = step_h * cp.sum(
        fl.value_b_per_kwh * F - fl.value_a_per_kw2h * cp.square(F) - a.cost_a_per_kw2h * cp.square(P) - lin
    )
    prob = cp.Problem(cp.Maximize(obj), cons)
    try:
        solve(prob, "a prosumer's best bundle")
    except ClearingError:
        return -np.inf
    return float(prob.value)


def _bundle_values(p: Prosumer, Q: np.ndarray, step_h: float, tol: float) -> np.ndarray:
    """``V_i(q)`` for every row ``q`` of ``Q`` (bundles × periods); ``p`` already cut to those periods."""
    m, T = Q.shape
    d = np.asarray(p.demand_kw, dtype=float)
    out = np.full(m, -np.inf)
    a = p.asset
    if a is None:
        if p.flexible is None:
            out[np.all(np.abs(Q + d) <= tol, axis=1)] = 0.0
            return out
        fmax = np.asarray(p.flexible.d_max_kw, dtype=float)
        F = -Q - d
        ok = np.all((F >= -tol) & (F <= fmax + tol), axis=1)
        out[ok] = _flex_value(p, np.clip(F[ok], 0.0, fmax), step_h)
        return out
    plo, phi = _p_bounds(p, T)
    if p.flexible is None:
        # check_trade_plan's bounds, m(p_min) − d ≤ q ≤ η·P^max_t − d, first for every bundle at once
        eta = a.efficiency
        ok = np.all((Q >= float(meter_kw(a, a.p_min_kw)) - d - tol) & (Q <= eta * phi - d + tol), axis=1)
        if _coupled(p, T):
            idx = np.flatnonzero(ok)
            ok[idx] = _coupling_ok(p, internal_kw(a, Q[idx] + d), step_h, tol)
            for k in np.flatnonzero(ok):  # the few left: check_trade_plan has the last word
                ok[k] = not check_trade_plan(p, Q[k], step_h=step_h, tol=tol)
        out[ok] = -_der_cost(p, np.clip(internal_kw(a, Q[ok] + d), plo, phi), step_h)
        return out
    disp, F, ok = _best_der_and_flex(p, Q, tol)
    out[ok] = _flex_value(p, F[ok], step_h) - _der_cost(p, disp[ok], step_h)
    if _coupled(p, T):
        # the closed form ignores ramp and storage energy: where it breaks them, solve the horizon
        idx = np.flatnonzero(ok)
        for k in idx[~_coupling_ok(p, disp[idx], step_h, tol)]:
            out[k] = _coupled_der_and_flex(p, Q[k], step_h)
    return out


def bundle_value(
    prosumer: Prosumer, trade_kw, step_h: float = 1.0, periods: Sequence[int] | None = None, tol_kw: float = 1e-6
) -> float:
    """``V_i(q)``: agent i's best value − cost of delivering the net trade ``q`` with its own resources.

    ``q_t = η·p_t − d_t − f_t`` (kW, positive: a sale), over ``periods`` (default: all).
    Returns ``−inf`` when no dispatch of i's resources delivers ``q`` ("Market Design II",
    envy-freeness). Worked out without an optimiser where possible:

    * no DER, no flexible load: ``q`` must be ``−d`` (then ``V = 0``);
    * no DER: ``f_t = −q_t − d_t`` within ``[0, f^max_t]``, ``V = Δt·Σ_t (b_v f_t − a_v f_t²)``;
    * a DER, no flexible load: ``p_t = (q_t + d_t)/η``, feasible when
      :func:`core.prosumer.check_trade_plan` finds nothing (bounds, ramp, storage energy)
      and storage ends the horizon as full as it started (``Σ_t p_t ≤ 0``,
      as in FleetModel); ``V = −Δt·Σ_t (a p_t² + b p_t)`` (storage: ``b|p_t|``). Many bundles
      at once (:func:`envy`) are first screened with the same checks in numpy;
    * a DER and a flexible load: per period the concave 1-D problem in ``p`` with
      ``f = η p − d − q``, solved in closed form by clipping the stationary point
      ``p* = (η b_v + 2 a_v η (d + q) − b)/(2 a_v η² + 2 a)`` to the interval where ``p`` and
      ``f`` are within their bounds. This ignores ramp and storage energy limits; when the
      closed-form dispatch breaks one of them, a small QP over the horizon is solved instead.

    ``tol_kw``: how far outside a bound a trade may be and still count as deliverable
    (solver noise); a deliverable plan is clipped into its bounds before it is valued.
    """
    periods = list(range(len(prosumer.demand_kw))) if periods is None else list(periods)
    q = np.asarray(trade_kw, dtype=float).ravel()
    if q.shape != (len(periods),):
        raise ValueError(f"a bundle for '{prosumer.id}' needs {len(periods)} values, got {q.size}")
    return float(_bundle_values(_slice(prosumer, periods), q[None, :], step_h, tol_kw)[0])
