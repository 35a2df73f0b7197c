"""Fairness objectives, the envy audit and the price of fairness ("Market Design II: Fairness Objectives").

**Utility.** In every rule a participant's utility is its **gain over its
outside option**,

    U_i = (value_i − cost_i − payment_i) − U_i^0,      U_i^0 = outside_option(scenario)[i],

where ``U_i^0`` is what agent i earns trading with the grid alone at the
tariffs (:func:`core.welfare.outside_option`). At any individually rational
allocation ``U_i ≥ 0``, so ``ln U_i`` is defined and the rules compare on one
scale (currency over the horizon).

**Efficiency** (``rule="efficiency"``) is the welfare clearing
(:func:`core.welfare.solve_welfare`) priced at its uniform shadow prices λ*_t:
``payment_i = Δt·Σ_t λ*_t·(−q_{i,t})``, the competitive, budget-balanced
pricing rule. Its gains ``U*_i`` sum to ``G = Σ_i U*_i``.

The other rules, **proportional** (``max Σ_i ln U_i``: the Nash bargaining
solution over the outside options) and **max-min** (``max min_i U_i``, the
Rawlsian rule; optionally lexicographic), are computed in one of two regimes:

(a) ``transfers=True`` — transfers within the tariff band: the platform may
    move money between participants (budget balanced), but nobody's implied
    price may leave the grid's band — a participant never buys a kWh for less
    than the feed-in price nor sells one for more than the retail price
    (:func:`band_floor`). When equal gains ``U_i = G/n`` fit in the band, both
    ``max Σ ln U_i`` and ``max min U_i`` (and the lexicographic max-min) give
    them with the efficient dispatch and the lump sums ``τ_i = G/n − U*_i``
    (price of fairness 0). When they do not — a participant that does not
    trade cannot be paid at all — the rule chooses the dispatch and the
    payments together (:func:`_band_allocation`): raising the worst-off may
    take an inefficient trade, and fairness has a price. On the teaching
    feeder max-min makes B3 (value 8) buy 0.4 kWh from S3 (cost 9) so that
    both gain: W falls from 10 to 9.6, PoF 4 %.

(b) ``transfers=False`` (default) — every kWh settles at λ*, no side
    payments. The rule re-dispatches over the same feasible set as the
    welfare clearing (the :class:`~core.prosumer.FleetModel` constraints and the
    community balance with the grid at the tariffs) with

        U_i(q) = value_i(f_i) − cost_i(p_i) + Δt·Σ_t λ*_t·q_{i,t} − U_i^0,

    concave in the dispatch. Only agents with a DER or a flexible load can
    move their utility (the set S); the others' gain
    ``U_i = −Δt·Σ_t λ*_t·d_{i,t} − U_i^0 = Δt·Σ_t (c^buy_t − λ*_t)·d_{i,t}`` is fixed by λ* and
    they are reported in ``fixed_agents``.
    *Proportional*: ``max Σ_{i∈S} ln(U_i + ε)`` with the regulariser
    ``ε = 1e-6·max(1, mean_i |U*_i|)`` (keeps the logarithm finite when a gain
    is exactly zero; raised by any solver-noise shortfall of an efficient gain
    below 0). *Max-min*: ``max t`` s.t. ``U_i ≥ t`` for ``i ∈ S``;
    *lexicographic*: fix the agents whose constraint ``U_i ≥ t`` is binding
    (positive dual) at ``t`` and maximise the next minimum, for a few rounds.
    Each rule is followed by a **tie-break**: among the rule's optima
    (``U_i`` at least the rule's value, within a tolerance) the planner's
    welfare ``Σ(value − cost) − grid bill`` is maximised, so that a dispatch
    the rule is indifferent about does not buy from or sell to the grid for
    nothing. The platform's budget is reported:
    ``platform_surplus = Σ_i payment_i − Δt·Σ_t (c^buy_t·G^imp_t − c^sell_t·G^exp_t)``
    with ``G^imp − G^exp = −Σ_i q_i`` (the grid takes the net at the tariffs).

    *Caveat (a theorem, not a bug):* at fixed prices λ*, ``U_i`` depends on
    agent i's own dispatch only, and the competitive dispatch maximises each
    ``U_i`` over i's own feasible set (the decentralised price response); the
    grid absorbs any imbalance, so the feasible set is the product of the
    agents' sets. Hence every agent's ``U*_i`` is the most it can get, and the
    proportional, max-min and lexicographic rules **return the efficient
    utilities** ``U*`` (price of fairness 0); only the dispatch among an
    agent's ties (linear costs or values) can differ, which the tie-break
    resolves toward the planner's welfare. A fairness rule can only change
    the outcome through the money: regime (a).

**Envy audit** (:func:`envy`) of any allocation (trade profile ``q_i`` and
payment ``t_i`` per agent)::

    envy_ij = max(0, [V_i(q_j) − t_j] − [V_i(q_i) − t_i])

where ``V_i(q)`` (:func:`bundle_value`) is agent i's best value − cost of
delivering the net trade ``q`` with its own resources (``−∞`` if it cannot:
then no envy). With per-bus prices (DLMPs) an envious pair is flagged
*location-only* when the two agents sit at different buses and the envy
disappears once j's bundle is re-priced at i's own bus prices,
``t'_j = Δt·Σ_t π_{bus(i),t}·(−q_{j,t})``. Two consequences worth knowing:
the efficient allocation at one uniform price is envy-free (each agent's
bundle maximises ``V_i(q) + Δt·λ*·q`` over everything it can deliver), and
equal-gain lump sums are not: with outside options ``U^0``,
``envy_ij = max(0, V_i(q_j) − V_j(q_j) + U^0_j − U^0_i)``, so an agent that values
a neighbour's bundle more than the neighbour does envies it.

**Price of fairness and inequality** (:func:`compare_rules`): welfare
``W = Σ_i U_i`` (the total gain), ``PoF = (W_eff − W_rule)/W_eff``, Jain's index
(:func:`jain`), the Gini coefficient of the gains (:func:`gini`), the worst-off
gain and the number of envious pairs. The metrics are over all participants.

Everything is over the whole horizon (every period of the scenario), with the
grid at the tariffs (the outside option). Numerics: the re-dispatch writes
costs as ``(√a·P)²`` and the proportional objective as
``Σ ln((U_i + ε)/w_i)`` (``w_i`` the efficient gain: the same optimum, better
scaled cones), and leaves the grid's import/export variables out (the grid
takes any net; its bill ``Δt·Σ_t max(c^buy_t·n_t, c^sell_t·n_t)``, ``n = −Σ_i q_i``,
enters the tie-break only).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import cvxpy as cp
import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.errors import ClearingError
from core.numerics import solve
from core.prosumer import FleetModel, check_trade_plan, internal_kw, meter_kw, trade_bounds
from core.scenario.model import STORAGE_KINDS, Prosumer, Scenario
from core.welfare import WelfareSolution, grid_prices, outside_option, solve_welfare

FAIRNESS_RULES: tuple[str, ...] = ("efficiency", "proportional", "maxmin")
RULE_LABELS = {
    "efficiency": "Efficiency (max Σ U)",
    "proportional": "Proportional (max Σ ln U)",
    "maxmin": "Max-min (max min U)",
}
LEXICOGRAPHIC_ROUNDS = 5  # rounds of the lexicographic max-min before the tie-break
REGULARISER = 1e-6  # ε = REGULARISER·max(1, mean |U*|) in ln(U + ε)

# the log objective's optimum only sets floors on the gains (minus a tolerance); the tie-break then finds the
# allocation with an accurate linear/quadratic solve, so an "inaccurate" exponential-cone answer is not shown as such
FLOORS_REFINED = "its gains only set the floors of the tie-break, which is solved again accurately"


# ---------------------------------------------------------------------------
# inequality indices
# ---------------------------------------------------------------------------


def jain(u) -> float:
    """Jain's fairness index ``J(u) = (Σ_i u_i)² / (n·Σ_i u_i²)`` ("Market Design II").

    1 when every ``u_i`` is equal, ``1/n`` when one agent has everything.
    All zeros count as equal (1.0); an empty vector gives ``nan``.
    """
    u = np.asarray(u, dtype=float).ravel()
    if u.size == 0:
        return float("nan")
    sq = float(np.sum(u**2))
    if sq == 0.0:
        return 1.0
    return float(np.sum(u) ** 2 / (u.size * sq))


def gini(u) -> float:
    """Gini coefficient ``G(u) = Σ_i Σ_j |u_i − u_j| / (2·n²·ū)`` of non-negative gains ("Market Design II").

    0 when every ``u_i`` is equal, ``1 − 1/n`` when one agent has everything.
    All zeros give 0; a non-positive mean (or an empty vector) gives ``nan``.
    """
    u = np.asarray(u, dtype=float).ravel()
    n = u.size
    if n == 0:
        return float("nan")
    if np.all(u == 0.0):
        return 0.0
    mean = float(np.mean(u))
    if mean <= 0.0:
        return float("nan")
    s = np.sort(u)
    # Σ_i Σ_j |u_i − u_j| = 2·Σ_k (2k − n + 1)·s_k over the sorted values (k = 0..n−1)
    k = np.arange(n)
    total = 2.0 * float(np.sum((2 * k - n + 1) * s))
    return total / (2.0 * n * n * mean)


# ---------------------------------------------------------------------------
# the value of a bundle to an agent
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# allocations
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FairAllocation:
    """An allocation chosen by a fairness rule: dispatch, payments and each agent's gain (arrays: agents × periods).

    ``utility[i] = value_i − cost_i − payment_i − outside_option_i`` (currency over the horizon);
    ``payment`` is what the agent pays the market (negative: receives), lump-sum ``transfer``
    included (``payment = Δt·Σ_t λ*_t·(−q_{i,t}) − transfer_i``).
    """

    rule: str
    transfers: bool
    lexicographic: bool
    ids: list[str]
    periods: tuple[int, ...]
    step_h: float
    price_per_kwh: np.ndarray  # λ*_t, the uniform price every kWh settles at
    trade_kw: np.ndarray
    der_kw: np.ndarray
    flexible_kw: np.ndarray
    value: np.ndarray
    cost: np.ndarray
    payment: np.ndarray
    transfer: np.ndarray  # lump sum received (transfers=True), Σ = 0
    outside_option: np.ndarray  # U^0_i
    utility: np.ndarray  # U_i, the gain over the outside option
    welfare_gain: float  # Σ_i U_i
    platform_surplus: float  # Σ payments − the grid's bill at the tariffs
    budget_balanced: bool
    supported_by: str
    fixed_agents: tuple[str, ...] = ()
    regulariser: float = 0.0  # ε of ln(U + ε) (proportional, transfers=False)
    solve_time_s: float = 0.0
    extras: dict = field(default_factory=dict)

    @property
    def worst_off(self) -> float:
        """The smallest gain ``min_i U_i``."""
        return float(np.min(self.utility)) if self.utility.size else float("nan")

    @property
    def surplus(self) -> np.ndarray:
        """Each agent's surplus ``value − cost − payment`` (currency)."""
        return self.value - self.cost - self.payment

    def table(self) -> pd.DataFrame:
        """One row per agent: its gain, outside option, surplus, payment, transfer and energy traded."""
        step = self.step_h
        return pd.DataFrame(
            {
                "agent": self.ids,
                "gain": self.utility,
                "outside_option": self.outside_option,
                "surplus": self.surplus,
                "payment": self.payment,
                "transfer": self.transfer,
                "sold_kwh": np.clip(self.trade_kw, 0, None).sum(axis=1) * step,
                "bought_kwh": np.clip(-self.trade_kw, 0, None).sum(axis=1) * step,
                "fixed": [i in set(self.fixed_agents) for i in self.ids],
            }
        )


def _grid_bill(s: Scenario, periods: tuple[int, ...], trade_kw: np.ndarray, step_h: float) -> float:
    """``Δt·Σ_t (c^buy_t·G^imp_t − c^sell_t·G^exp_t)`` with the grid taking the net ``G^imp − G^exp = −Σ_i q_i``."""
    buy, sell = grid_prices(s, periods)
    net = -trade_kw.sum(axis=0) if trade_kw.size else np.zeros(len(periods))
    return step_h * float(buy @ np.clip(net, 0, None) - sell @ np.clip(-net, 0, None))


def _budget_tol(payment: np.ndarray) -> float:
    return 1e-6 * max(1.0, float(np.sum(np.abs(payment))))


class _Redispatch:
    """The welfare clearing's feasible set with each agent's gain at fixed prices λ* as cvxpy expressions.

    ``U = value − cost + Δt·q·λ* − U^0`` (a vector over agents), built from FleetModel's ``P`` and
    ``F`` with constant coefficients: ``Δt·Σ_t (a·P² + b·P)`` per DER (storage ``b·|P|``),
    ``Δt·Σ_t (b_v·F − a_v·F²)`` per flexible load, mapped to agents with sparse matrices.
    """

    def __init__(self, s: Scenario, lam: np.ndarray, u0: np.ndarray):
        self.s = s
        self.fleet = f = FleetModel(s)
        nA, T = len(f.ids), f.T
        step = f.step_h
        cost_expr = 0
        value_expr = 0
        if f.der:
            assets = [s.prosumers[i].asset for i in f.der]
            nD = len(assets)
            sqrt_a = np.repeat(np.sqrt(np.array([[a.cost_a_per_kw2h] for a in assets])), T, axis=1)
            storage = np.array([a.kind in STORAGE_KINDS for a in assets])
            b = np.array([a.cost_b_per_kwh for a in assets])
            Bp = np.repeat(np.where(storage, 0.0, b)[:, None], T, axis=1)
            Bs = np.repeat(np.where(storage, np.maximum(b, 0.0), 0.0)[:, None], T, axis=1)
            # (√a·P)² rather than a·P²: the cones then hold numbers of the size of the costs
            per_der = cp.sum(cp.square(cp.multiply(sqrt_a, f.P)) + cp.multiply(Bp, f.P), axis=1)
            if storage.any():  # wear on discharge + charge (FleetModel.throughput, storage rows only)
                MSD = sp.csr_matrix(
                    (np.ones(len(f.storage)), (f.storage, np.arange(len(f.storage)))), shape=(nD, len(f.storage))
                )
                per_der = per_der + MSD @ cp.sum(cp.multiply(Bs[f.storage], f.throughput), axis=1)
            M = sp.csr_matrix((np.ones(nD), (f.der, np.arange(nD))), shape=(nA, nD))
            cost_expr = step * (M @ per_der)
        if f.flex:
            fl = [s.prosumers[i].flexible for i in f.flex]
            nF = len(fl)
            sqrt_av = np.repeat(np.sqrt(np.array([[x.value_a_per_kw2h] for x in fl])), T, axis=1)
            Bv = np.repeat(np.array([[x.value_b_per_kwh] for x in fl]), T, axis=1)
            per_flex = cp.sum(cp.multiply(Bv, f.F) - cp.square(cp.multiply(sqrt_av, f.F)), axis=1)
            MF = sp.csr_matrix((np.ones(nF), (f.flex, np.arange(nF))), shape=(nA, nF))
            value_expr = step * (MF @ per_flex)
        self.lam = lam
        self.u0 = u0
        self.U = value_expr - cost_expr + step * (f.q @ lam) - u0
        # The community balance Σ_i q_i + G^imp − G^exp = 0 with the grid at the tariffs: the grid
        # takes any net, so the feasible set is the agents' own sets, and the grid's bill is
        # Δt·Σ_t max(c^buy_t·n_t, c^sell_t·n_t) with n = −Σ_i q_i (= c^buy·G^imp − c^sell·G^exp
        # since c^sell ≤ c^buy). Written without G^imp, G^exp: free variables that the rules do
        # not price (G^imp = G^exp → ∞) leave an unbounded optimal face, which interior-point
        # solvers handle badly.
        self.constraints = list(f.constraints)
        buy, sell = grid_prices(s, f.periods)
        net = -cp.sum(f.q, axis=0)
        self.welfare = f.value - f.cost - step * cp.sum(cp.maximum(cp.multiply(buy, net), cp.multiply(sell, net)))

    def solve(self, objective, extra: list, what: str, refined: str | None = None) -> cp.Problem:
        prob = cp.Problem(cp.Maximize(objective), [*self.constraints, *extra])
        solve(prob, what, refined=refined, ignore_dpp=True)
        return prob

    def gains(self) -> np.ndarray:
        """The numbers of U at the current solution (with the reporting cost/value of FleetModel)."""
        f, s = self.fleet, self.s
        q = self.trade()
        return f.per_agent_value(s) - f.per_agent_cost(s) + f.step_h * (q @ self.lam) - self.u0

    def trade(self) -> np.ndarray:
        f = self.fleet
        return np.asarray(f.q.value, dtype=float).reshape(len(f.ids), f.T)


def band_floor(s: Scenario, trade_kw: np.ndarray, step_h: float) -> np.ndarray:
    """The least each agent may pay for its trades within the tariff band (currency, per agent).

    ``−Δt·Σ_t max(c^buy_t·q_{i,t}, c^sell_t·q_{i,t})``: every kWh it buys at the feed-in
    price and every kWh it sells at the retail price — the best prices any
    participant can get in a community whose internal prices stay within the
    grid's tariffs.
    """
    buy, sell = grid_prices(s, tuple(range(trade_kw.shape[1])))
    q = np.asarray(trade_kw, dtype=float)
    return -step_h * np.maximum(q * buy[None, :], q * sell[None, :]).sum(axis=1)


def _band_allocation(
    s: Scenario,
    rule: str,
    lexicographic: bool,
    sol: WelfareSolution,
    u0: np.ndarray,
    u_eff: np.ndarray,
    common: dict,
    t0: float,
    rounds: int,
) -> FairAllocation:
    """Transfers limited by the tariff band: the rule chooses the dispatch and the payments together.

    Variables: the dispatch (the welfare clearing's feasible set) and a payment
    ``P_i`` per agent, with ``P_i ≥ −Δt·Σ_t max(c^buy_t q_{i,t}, c^sell_t q_{i,t})``
    (:func:`band_floor`: nobody is paid more per kWh than the tariffs allow) and
    ``Σ_i P_i ≥`` the grid's bill (the platform never runs a deficit). Gains
    ``U_i = value_i − cost_i − P_i − U^0_i``. Proportional maximises
    ``Σ ln(U_i + ε)``, max-min ``min U_i``; a participant that does not trade
    cannot be paid, so raising the worst-off may take an inefficient trade:
    here fairness has a price.
    """
    rd = _Redispatch(s, sol.price_per_kwh, u0)
    f = rd.fleet
    step = f.step_h
    n = len(f.ids)
    buy, sell = grid_prices(s, f.periods)
    q = f.q
    P = cp.Variable(n, name="payment")
    V = rd.U - step * (q @ sol.price_per_kwh)  # value − cost − U^0
    U = V - P
    net = -cp.sum(q, axis=0)
    bill = step * cp.sum(cp.maximum(cp.multiply(buy, net), cp.multiply(sell, net)))
    # The band's floor −Δt·Σ_t max(c^buy q, c^sell q) is concave in q, so "P ≥ floor" is not a convex
    # constraint. Each agent-period is priced by its direction instead — sales at retail, purchases
    # at feed-in, the direction taken from the trade (or, for an agent that does not trade, from what
    # it can do) — which is never looser than the band; re-solved while a direction flips.
    lo_hi = [trade_bounds(p, len(f.periods)) for p in s.prosumers]
    direction = np.array(
        [
            [
                1.0
                if (
                    sol.trade_kw[i, t] > 1e-9
                    or (abs(sol.trade_kw[i, t]) <= 1e-9 and lo_hi[i][0][t] >= 0 and lo_hi[i][1][t] > 0)
                )
                else -1.0
                for t in range(len(f.periods))
            ]
            for i in range(n)
        ]
    ).reshape(n, len(f.periods))
    scale = max(1.0, float(np.mean(np.abs(u_eff))))
    tol = 1e-6 * scale
    extras: dict = {}
    for _round in range(5):
        price = np.where(direction > 0, buy[None, :], sell[None, :])
        extra = [P >= -step * cp.sum(cp.multiply(price, q), axis=1), cp.sum(P) >= bill]
        if rule == "proportional":
            eps = REGULARISER * scale + max(0.0, -float(np.min(u_eff, initial=0.0)))
            w = np.full(n, max(float(u_eff.sum()) / max(n, 1), 1e-3 * scale))
            rd.solve(
                cp.sum(cp.log(cp.multiply(1.0 / w, U + eps))),
                extra,
                "the proportionally fair allocation",
                refined=FLOORS_REFINED,
            )
            floors = np.asarray(U.value, dtype=float) - tol
            extras["regulariser"] = eps
        else:
            levels = []
            fixed = np.zeros(n, dtype=bool)
            floors = np.full(n, -np.inf)
            for _ in range(max(1, rounds if lexicographic else 1)):
                t = cp.Variable()
                free = np.flatnonzero(~fixed)
                con = U[free] >= t
                cons = [*extra, con]
                if fixed.any():
                    cons.append(U[np.flatnonzero(fixed)] >= floors[fixed])
                rd.solve(t, cons, "the max-min allocation")
                level = float(t.value)
                levels.append(level)
                floors[free] = level - tol
                if not lexicographic:
                    break
                dual = np.asarray(con.dual_value, dtype=float).ravel()
                binding = dual > 1e-6 * max(1.0, float(np.max(dual, initial=0.0)))
                if not binding.any():
                    break
                fixed[free[binding]] = True
                if fixed.all():
                    break
            extras["maxmin_levels"] = levels
        trade_now = rd.trade()
        flipped = (np.sign(trade_now) * direction < 0) & (np.abs(trade_now) > 1e-6)
        if not flipped.any():
            break
        direction = np.where(flipped, -direction, direction)
    # tie-break: the planner's welfare among the rule's optima, paying no more than the bill
    try:
        rd.solve(rd.welfare - cp.sum(P) * 1e-9, [*extra, U >= floors], "the fair allocation's tie-break")
    except ClearingError as err:
        extras["tie_break"] = str(err)
    trade = rd.trade()
    payment = np.asarray(P.value, dtype=float).ravel()
    value, cost = f.per_agent_value(s), f.per_agent_cost(s)
    utility = value - cost - payment - u0
    bill_val = _grid_bill(s, f.periods, trade, step)
    surplus = float(payment.sum()) - bill_val
    if surplus > _budget_tol(payment):
        # money the rule left with the platform goes back to whoever can still be paid within the band
        slack = np.clip(payment - band_floor(s, trade, step), 0.0, None)
        give = slack * min(1.0, surplus / float(slack.sum())) if slack.sum() > 0 else np.zeros(n)
        payment = payment - give
        utility = utility + give
        surplus = float(payment.sum()) - bill_val
    market_payment = -(trade * sol.price_per_kwh[None, :]).sum(axis=1) * step
    what = (
        "proportionally fair" if rule == "proportional" else ("lexicographic max-min" if lexicographic else "max-min")
    )
    return FairAllocation(
        rule=rule,
        transfers=True,
        lexicographic=lexicographic,
        **common,
        trade_kw=trade,
        der_kw=f.der_kw(),
        flexible_kw=f.flexible_kw(),
        value=value,
        cost=cost,
        payment=payment,
        transfer=market_payment - payment,
        utility=utility,
        welfare_gain=float(utility.sum()),
        platform_surplus=surplus,
        budget_balanced=abs(surplus) <= _budget_tol(payment),
        supported_by=f"Personal prices within the tariff band [feed-in, retail] with a {what} dispatch: equal "
        "gains would pay some participants more per kWh than the tariffs allow, so the rule also "
        "re-dispatches; budget balanced.",
        solve_time_s=time.perf_counter() - t0,
        extras=extras,
    )


def _movable(s: Scenario) -> np.ndarray:
    """Agents whose gain a re-dispatch can move: those with a DER or a flexible load."""
    return np.array([p.asset is not None or p.flexible is not None for p in s.prosumers], dtype=bool)


def _check_rule(rule: str) -> None:
    if rule not in FAIRNESS_RULES:
        raise ValueError(f"unknown fairness rule {rule!r}: choose one of {', '.join(FAIRNESS_RULES)}")


def allocate(
    scenario: Scenario,
    rule: str = "efficiency",
    transfers: bool = False,
    lexicographic: bool = False,
    *,
    efficient: WelfareSolution | None = None,
    outside: np.ndarray | None = None,
    rounds: int = LEXICOGRAPHIC_ROUNDS,
) -> FairAllocation:
    """The allocation a fairness rule chooses ("Market Design II: Fairness Objectives").

    Gains ``U_i = value_i − cost_i − payment_i − U_i^0`` over the outside option
    ``U_i^0`` (the grid alone at the tariffs). ``rule``:

    * ``efficiency``: ``max Σ_i U_i`` — the welfare clearing priced at λ*
      (``payment_i = Δt·Σ_t λ*_t·(−q_{i,t})``);
    * ``proportional``: ``max Σ_i ln U_i``;
    * ``maxmin``: ``max min_i U_i`` (``lexicographic``: then the next minimum, ``rounds`` times).

    ``transfers=True``: the efficient dispatch and equal gains ``U_i = G/n``,
    ``G = Σ_i U*_i``, by the lump sums ``τ_i = G/n − U*_i`` (``Σ τ = 0``).
    ``transfers=False``: every kWh at λ*, no side payments; the rule re-dispatches
    with ``U_i(q) = value_i − cost_i + Δt·Σ_t λ*_t q_{i,t} − U_i^0`` (see the module text,
    including why this returns the efficient gains).

    ``efficient`` and ``outside``: the welfare clearing (grid at the tariffs, whole horizon)
    and the outside options when already computed; otherwise they are computed here.
    Raises :class:`~core.errors.ClearingError` when a solve fails.
    """
    _check_rule(rule)
    t0 = time.perf_counter()
    s = scenario
    sol = solve_welfare(s) if efficient is None else efficient
    if tuple(sol.periods) != tuple(range(s.periods)):
        raise ValueError("fairness rules are computed over the whole horizon: pass a welfare clearing of every period")
    u0 = outside_option(s) if outside is None else np.asarray(outside, dtype=float)
    lam = np.asarray(sol.price_per_kwh, dtype=float)
    step = float(sol.step_h)
    n = len(sol.ids)
    u_eff = sol.value - sol.cost - sol.payment - u0
    bill_eff = _grid_bill(s, sol.periods, sol.trade_kw, step)
    common = dict(ids=list(sol.ids), periods=tuple(sol.periods), step_h=step, price_per_kwh=lam, outside_option=u0)

    if rule == "efficiency" or n == 0:
        surplus = float(sol.payment.sum()) - bill_eff
        return FairAllocation(
            rule=rule,
            transfers=transfers,
            lexicographic=lexicographic,
            **common,
            trade_kw=sol.trade_kw,
            der_kw=sol.der_kw,
            flexible_kw=sol.flexible_kw,
            value=sol.value,
            cost=sol.cost,
            payment=sol.payment,
            transfer=np.zeros(n),
            utility=u_eff,
            welfare_gain=float(u_eff.sum()),
            platform_surplus=surplus,
            budget_balanced=abs(surplus) <= _budget_tol(sol.payment),
            supported_by="Uniform price λ*_t per period (the balance constraint's shadow price): "
            "competitive and budget balanced.",
            solve_time_s=time.perf_counter() - t0,
        )

    if transfers:
        G = float(u_eff.sum())
        tau = G / n - u_eff
        payment = sol.payment - tau
        if np.any(band_floor(s, sol.trade_kw, step) - payment > _budget_tol(payment)):
            # equal gains would pay someone more per kWh than the tariffs allow: a convex re-allocation
            return _band_allocation(s, rule, lexicographic, sol, u0, u_eff, common, t0, rounds)
        utility = sol.value - sol.cost - payment - u0
        surplus = float(payment.sum()) - bill_eff
        return FairAllocation(
            rule=rule,
            transfers=True,
            lexicographic=lexicographic,
            **common,
            trade_kw=sol.trade_kw,
            der_kw=sol.der_kw,
            flexible_kw=sol.flexible_kw,
            value=sol.value,
            cost=sol.cost,
            payment=payment,
            transfer=tau,
            utility=utility,
            welfare_gain=float(utility.sum()),
            platform_surplus=surplus,
            budget_balanced=abs(surplus) <= _budget_tol(payment),
            supported_by=f"Uniform price λ*_t plus a lump-sum redistribution τ_i = G/n − U*_i "
            f"(G = {G:.6g}, Σ τ = 0) within the tariff band: equal gains, budget balanced.",
            solve_time_s=time.perf_counter() - t0,
        )

    # --- transfers=False: re-dispatch at fixed prices λ* -------------------------------------
    movable = _movable(s)
    S = np.flatnonzero(movable)
    fixed = tuple(sol.ids[i] for i in np.flatnonzero(~movable))
    scale = max(1.0, float(np.mean(np.abs(u_eff))))
    tol = 1e-6 * scale  # how far below the rule's level the tie-break may go (solver accuracy)
    # ε keeps ln(U + ε) finite at a zero gain; it also covers an efficient gain a hair below 0 (solver noise)
    eps = REGULARISER * scale + max(0.0, -float(np.min(u_eff[S], initial=0.0))) if rule == "proportional" else 0.0
    extras: dict = {}
    if S.size == 0:
        q, P, F = sol.trade_kw, sol.der_kw, sol.flexible_kw
        value, cost = sol.value, sol.cost
    else:
        rd = _Redispatch(s, lam, u0)
        U = rd.U
        if rule == "proportional":
            # ln((U_i + ε)/w_i) = ln(U_i + ε) − ln w_i: the same optimum, with the cones holding
            # numbers near 1 (w_i: the efficient gain, at least 1e-3 of the mean)
            w = np.maximum(np.abs(u_eff[S]), 1e-3 * scale)
            rd.solve(
                cp.sum(cp.log(cp.multiply(1.0 / w, U[S] + eps))),
                [],
                "the proportionally fair dispatch",
                refined=FLOORS_REFINED,
            )
            level = rd.gains()[S]
            floors = level - tol
        else:
            floors, extras = _maxmin(rd, S, lexicographic, rounds, tol)
        f = rd.fleet
        q, P, F = rd.trade(), f.der_kw(), f.flexible_kw()
        value, cost = f.per_agent_value(s), f.per_agent_cost(s)
        # tie-break: the planner's welfare among the rule's optima (kept as solved if this fails)
        try:
            rd.solve(rd.welfare, [U[S] >= floors], "the fair dispatch's tie-break")
        except ClearingError as err:
            extras["tie_break"] = str(err)
        else:
            q, P, F = rd.trade(), f.der_kw(), f.flexible_kw()
            value, cost = f.per_agent_value(s), f.per_agent_cost(s)
    payment = -(q * lam[None, :]).sum(axis=1) * step
    utility = value - cost - payment - u0
    surplus = float(payment.sum()) - _grid_bill(s, sol.periods, q, step)
    balanced = abs(surplus) <= _budget_tol(payment)
    what = (
        "proportionally fair" if rule == "proportional" else ("lexicographic max-min" if lexicographic else "max-min")
    )
    return FairAllocation(
        rule=rule,
        transfers=False,
        lexicographic=lexicographic,
        **common,
        trade_kw=q,
        der_kw=P,
        flexible_kw=F,
        value=value,
        cost=cost,
        payment=payment,
        transfer=np.zeros(n),
        utility=utility,
        welfare_gain=float(utility.sum()),
        platform_surplus=surplus,
        budget_balanced=balanced,
        supported_by=f"Uniform price λ*_t for every kWh, no side payments, with a centrally chosen {what} dispatch; "
        + (
            "the platform's budget balances."
            if balanced
            else f"the platform runs a {'surplus' if surplus > 0 else 'deficit'} of {abs(surplus):.6g} "
            f"against the grid's bill: not budget balanced."
        ),
        fixed_agents=fixed,
        regulariser=eps,
        solve_time_s=time.perf_counter() - t0,
        extras=extras,
    )


def _maxmin(rd: _Redispatch, S: np.ndarray, lexicographic: bool, rounds: int, tol: float):
    """``max t`` s.t. ``U_i ≥ t`` (i ∈ S); lexicographic: fix the binding agents at ``t`` and repeat.

    Returns the floors ``U_i ≥ floor_i`` (i ∈ S) for the tie-break and the levels found per round.
    """
    U = rd.U
    levels = np.full(S.size, np.nan)  # the level each agent was fixed at
    free = np.ones(S.size, dtype=bool)
    found = []
    t_val = float("nan")
    for _ in range(max(1, rounds if lexicographic else 1)):
        t = cp.Variable()
        idx_free = np.flatnonzero(free)
        floor_con = U[S[idx_free]] >= t
        extra = [floor_con]
        if (~free).any():
            idx_fix = np.flatnonzero(~free)
            extra.append(U[S[idx_fix]] >= levels[idx_fix] - tol)
        rd.solve(t, extra, "the max-min dispatch")
        t_val = float(t.value)
        found.append(t_val)
        if not lexicographic:
            break
        dual = np.asarray(floor_con.dual_value, dtype=float).ravel()
        binding = dual > 1e-6 * max(1.0, float(np.max(dual, initial=0.0)))
        if not binding.any():
            u = rd.gains()[S[idx_free]]
            binding = u <= t_val + tol
        levels[idx_free[binding]] = t_val
        free[idx_free[binding]] = False
        if not free.any():
            break
    floors = np.where(free, t_val - tol, levels - tol)
    return floors, {"maxmin_levels": found}


# ---------------------------------------------------------------------------
# envy
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EnvyReport:
    """The envy audit of an allocation ("Market Design II": envy-freeness).

    ``envy`` (agents × agents, currency): row i envies column j by
    ``max(0, [V_i(q_j) − t_j] − [V_i(q_i) − t_i])``; ``deliverable``: whether i's resources can
    deliver j's bundle at all; ``location_only``: envy that disappears when j's bundle is
    re-priced at i's bus prices (``None`` without bus prices).
    """

    envy: pd.DataFrame
    deliverable: pd.DataFrame
    location_only: pd.DataFrame | None
    envious_pairs: int
    max_envy: float
    worst_pair: tuple[str, str] | None
    location_pairs: int
    tol: float

    @property
    def envy_free(self) -> bool:
        return self.envious_pairs == 0


def _bus_price_matrix(s: Scenario, bus_prices, periods: tuple[int, ...]) -> np.ndarray:
    """Price per agent's bus and period (agents × periods) from a mapping bus → prices, a DataFrame or an array."""
    T = len(periods)
    if isinstance(bus_prices, pd.DataFrame):
        table = {
            str(k): np.asarray(v, dtype=float) for k, v in zip(bus_prices.index, bus_prices.to_numpy(), strict=True)
        }
    elif isinstance(bus_prices, Mapping):
        table = {str(k): np.atleast_1d(np.asarray(v, dtype=float)) for k, v in bus_prices.items()}
    else:
        arr = np.asarray(bus_prices, dtype=float)
        buses = [b.id for b in s.feeder.buses]
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.shape[0] != len(buses):
            raise ValueError(f"bus prices: {arr.shape[0]} rows for {len(buses)} buses (feeder order expected)")
        table = dict(zip(buses, arr, strict=True))
    out = np.zeros((len(s.prosumers), T))
    for i, p in enumerate(s.prosumers):
        if p.bus not in table:
            raise ValueError(f"bus prices: no price for bus '{p.bus}' (prosumer '{p.id}')")
        row = table[p.bus]
        if row.size == 1:
            row = np.full(T, float(row[0]))
        if row.size != T:
            raise ValueError(f"bus prices: bus '{p.bus}' has {row.size} prices for {T} periods")
        out[i] = row
    return out


def envy(scenario: Scenario, allocation, bus_prices=None, tol: float | None = None) -> EnvyReport:
    """The envy matrix of an allocation ("Market Design II": envy-freeness).

    ``envy_ij = max(0, [V_i(q_j) − t_j] − [V_i(q_i) − t_i])``, with ``V_i`` from :func:`bundle_value`
    (no envy where ``V_i(q_j) = −∞``). ``allocation``: anything with ``trade_kw`` (agents × periods)
    and ``payment`` (per agent) — a :class:`FairAllocation`, a
    :class:`~core.welfare.WelfareSolution` or a network clearing — over its ``periods`` (default:
    all). ``bus_prices``: optional prices per bus and period (a mapping bus id → prices, a DataFrame
    indexed by bus id, or an array in the feeder's bus order); a pair at different buses is
    flagged *location-only* when ``max(0, V_i(q_j) − t'_j − [V_i(q_i) − t_i]) ≤ tol`` with
    ``t'_j = Δt·Σ_t π_{bus(i),t}·(−q_{j,t})``. A pair counts as envious when its envy exceeds
    ``tol`` (default ``1e-6·max(1, max_i |t_i|)``).
    """
    s = scenario
    q = np.asarray(allocation.trade_kw, dtype=float)
    t = np.asarray(allocation.payment, dtype=float).ravel()
    n = len(s.prosumers)
    if q.shape[0] != n or t.size != n:
        raise ValueError(f"the allocation has {q.shape[0]} agents, the scenario {n}")
    periods = tuple(getattr(allocation, "periods", None) or range(q.shape[1]))
    step = s.horizon.step_h
    ids = [p.id for p in s.prosumers]
    tol = 1e-6 * max(1.0, float(np.max(np.abs(t), initial=0.0))) if tol is None else tol
    tol_kw = 1e-6 * max(1.0, float(np.max(np.abs(q), initial=0.0)))
    prices = None if bus_prices is None else _bus_price_matrix(s, bus_prices, periods)

    V = np.empty((n, n))
    for i, p in enumerate(s.prosumers):
        V[i] = _bundle_values(_slice(p, periods), q, step, tol_kw)
    own = np.diag(V).copy()
    bad = [ids[i] for i in np.flatnonzero(~np.isfinite(own))]
    if bad:
        raise ValueError(f"the allocation cannot be delivered by its own agents: {', '.join(bad)}")
    deliverable = np.isfinite(V)
    with np.errstate(invalid="ignore"):
        E = np.where(deliverable, (V - t[None, :]) - (own - t)[:, None], 0.0)
    E = np.maximum(E, 0.0)
    np.fill_diagonal(E, 0.0)
    envious = E > tol
    loc = None
    loc_pairs = 0
    if prices is not None:
        buses = np.array([p.bus for p in s.prosumers])
        # t'_ij = Δt·Σ_t π_{bus(i),t}·(−q_{j,t})
        repriced = -step * prices @ q.T
        with np.errstate(invalid="ignore"):
            E2 = np.where(deliverable, (V - repriced) - (own - t)[:, None], 0.0)
        loc = envious & (E2 <= tol) & (buses[:, None] != buses[None, :])
        loc_pairs = int(loc.sum())
        loc = pd.DataFrame(loc, index=ids, columns=ids)
    worst = None
    if envious.any():
        i, j = np.unravel_index(int(np.argmax(E)), E.shape)
        worst = (ids[i], ids[j])
    return EnvyReport(
        envy=pd.DataFrame(np.where(envious, E, 0.0), index=ids, columns=ids),
        deliverable=pd.DataFrame(deliverable, index=ids, columns=ids),
        location_only=loc,
        envious_pairs=int(envious.sum()),
        max_envy=float(E.max(initial=0.0)) if envious.any() else 0.0,
        worst_pair=worst,
        location_pairs=loc_pairs,
        tol=tol,
    )


# ---------------------------------------------------------------------------
# the comparison table
# ---------------------------------------------------------------------------


def price_of_fairness(w_efficient: float, w_rule: float) -> float:
    """``PoF = (W_eff − W_rule)/W_eff`` with ``W = Σ_i U_i`` (0 when ``W_eff = 0``)."""
    if w_efficient == 0.0:
        return 0.0
    return (w_efficient - w_rule) / w_efficient


def compare_rules(
    scenario: Scenario,
    transfers: bool = False,
    lexicographic: bool = False,
    bus_prices=None,
    *,
    efficient: WelfareSolution | None = None,
    outside: np.ndarray | None = None,
    known: dict[str, FairAllocation] | None = None,
) -> pd.DataFrame:
    """One row per rule of :data:`FAIRNESS_RULES`: what fairness costs and what it buys ("Market Design II").

    Columns: ``welfare_gain`` (``W = Σ_i U_i``), ``price_of_fairness``
    (``(W_eff − W)/W_eff``), ``jain`` (``(Σ U)²/(n·Σ U²)``), ``gini`` (of the gains),
    ``worst_off`` (``min_i U_i``), ``envious_pairs`` and ``max_envy`` (:func:`envy`),
    ``platform_surplus`` and ``budget_balanced``, ``solve_time_s`` (allocation and audit).
    ``known``: allocations already computed with these settings, by rule (not solved again).
    """
    sol = solve_welfare(scenario) if efficient is None else efficient
    u0 = outside_option(scenario) if outside is None else outside
    rows = []
    w_eff = None
    for rule in FAIRNESS_RULES:
        t0 = time.perf_counter()
        a = (known or {}).get(rule)
        earlier = 0.0 if a is None else a.solve_time_s
        if a is None:
            a = allocate(scenario, rule, transfers, lexicographic, efficient=sol, outside=u0)
        e = envy(scenario, a, bus_prices)
        elapsed = time.perf_counter() - t0 + earlier
        if rule == "efficiency":
            w_eff = a.welfare_gain
        rows.append(
            {
                "rule": rule,
                "welfare_gain": a.welfare_gain,
                "price_of_fairness": price_of_fairness(w_eff, a.welfare_gain),
                "jain": jain(a.utility),
                "gini": gini(a.utility),
                "worst_off": a.worst_off,
                "envious_pairs": e.envious_pairs,
                "max_envy": e.max_envy,
                "platform_surplus": a.platform_surplus,
                "budget_balanced": a.budget_balanced,
                "solve_time_s": elapsed,
            }
        )
    return pd.DataFrame(rows).set_index("rule")
