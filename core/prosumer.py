"""The prosumer's feasible trade set ("Modeling the Market Participant").

A prosumer with fixed demand ``d_t``, a DER whose internal output is ``p_t``
and an optional flexible load ``f_t`` trades ``q_t = m(p_t) − d_t − f_t`` at its
meter (positive: a sale), where ``m(p) = η·p`` is the DER's power at the meter
(the chapter's ``η p_t``). Its DER obeys

* capacity ``p_min ≤ p_t ≤ P^max·availability_t``,
* ramp ``|p_t − p_{t−1}| ≤ R``,
* for storage, energy ``0 ≤ e_0 − Δt·Σ_{τ≤t} p_τ ≤ E``,

which, with ``p_t = (q_t + d_t + f_t)/η``, become the chapter's constraints on
the trade: ``−d_t ≤ q_t ≤ η·P^max − d_t`` (no flexible load, ``p_min = 0``)
and ``|(q_t − q_{t−1}) + (d_t − d_{t−1})| ≤ η·R``.

This module gives them three ways:

* :func:`trade_bounds`, :func:`dispatch_from_trade` and :func:`check_trade_plan`
  for one prosumer with numpy: the checker says which constraint a trade plan
  breaks, in which period and by how much;
* :class:`FleetModel`: every prosumer's feasible set at once as cvxpy variables
  and constraints, vectorised (one matrix variable per kind of resource) and
  built on ``cvxpy.Parameter`` values so that the clearing problems compile
  once and re-solve fast after an edit.

**Storage** loses energy both ways: discharging ``p > 0`` from the cells puts
``η·p`` through the meter, and charging the cells with ``|p|`` (``p < 0``) takes
``|p|/η`` from it, so ``m(p) = η·p`` for ``p ≥ 0`` and ``m(p) = p/η`` for ``p < 0``
and a kWh stored and given back returns ``η²`` of a kWh (the round-trip
efficiency). ``p`` (cells, kW) is what the energy limits count and what
``p_min_kw``/``p_max_kw`` bound. Its cost is ``a·p² + b·|p|`` (wear per kWh of
throughput). In the optimisation models charging is a variable of its own,
``c ≥ max(−p, 0)``, with ``m = η·p + (η − 1/η)·c`` and wear ``b·(p + 2c)``:
convex, and equal to the above whenever the optimum does not charge and
discharge at once, which only pays when energy has a negative value (the
solution then reports the energy burnt, ``FleetModel.storage_burn_kwh``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from core.scenario.model import STORAGE_KINDS, Prosumer, Scenario

# ---------------------------------------------------------------------------
# one prosumer, numpy
# ---------------------------------------------------------------------------


def _availability(p: Prosumer, T: int) -> np.ndarray:
    a = p.asset
    if a is None:
        return np.zeros(T)
    avail = np.ones(T) if a.availability_pu is None else np.asarray(a.availability_pu, dtype=float)
    return a.p_max_kw * avail


def meter_kw(asset, p):
    """The DER's power at the meter for internal power ``p`` (kW): ``η·p``; storage charging (``p < 0``) ``p/η``."""
    p = np.asarray(p, dtype=float)
    eta = asset.efficiency
    if asset.kind in STORAGE_KINDS:
        return np.where(p >= 0.0, eta * p, p / eta)
    return eta * p


def internal_kw(asset, m):
    """The inverse of :func:`meter_kw`: internal power behind a meter power ``m`` (kW)."""
    m = np.asarray(m, dtype=float)
    eta = asset.efficiency
    if asset.kind in STORAGE_KINDS:
        return np.where(m >= 0.0, m / eta, m * eta)
    return m / eta


def trade_bounds(p: Prosumer, T: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-period bounds on the net trade ``q_t`` (kW): ``m(p_min) − d_t − f^max_t ≤ q_t ≤ η·P^max_t − d_t``.

    ``m(p_min)`` is the meter power at the lowest output (``η·p_min``; a storage
    charging at ``|p_min|`` takes ``|p_min|/η``). For a prosumer with ``p_min = 0``
    and no flexible load this is the chapter's ``−d_t ≤ q_t ≤ η·P^max − d_t``.
    """
    T = len(p.demand_kw) if T is None else T
    d = np.asarray(p.demand_kw, dtype=float)
    fmax = np.asarray(p.flexible.d_max_kw, dtype=float) if p.flexible is not None else np.zeros(T)
    if p.asset is None:
        return -d - fmax, -d.copy()
    return float(meter_kw(p.asset, p.asset.p_min_kw)) - d - fmax, p.asset.efficiency * _availability(p, T) - d


def dispatch_from_trade(p: Prosumer, q, flexible_kw=None) -> np.ndarray:
    """The DER dispatch behind a trade plan: ``p_t = m⁻¹(q_t + d_t + f_t)`` (kW; ``(q + d + f)/η`` when
    the DER produces, ``η·(q + d + f)`` when a storage charges)."""
    q = np.asarray(q, dtype=float)
    d = np.asarray(p.demand_kw, dtype=float)
    f = np.zeros_like(q) if flexible_kw is None else np.asarray(flexible_kw, dtype=float)
    if p.asset is None:
        return np.zeros_like(q)
    return internal_kw(p.asset, q + d + f)


@dataclass(frozen=True)
class Violation:
    """A constraint a trade plan breaks: which, when, and by how much (kW or kWh)."""

    prosumer: str
    period: int
    constraint: str  # "trade lower bound", "trade upper bound", "ramp", "storage empty", "storage full"
    amount: float
    unit: str
    message: str


def check_trade_plan(p: Prosumer, q, flexible_kw=None, step_h: float = 1.0, tol: float = 1e-9) -> list[Violation]:
    """Every constraint the trade plan ``q`` (kW per period) breaks, with the excess.

    Checks the bounds of :func:`trade_bounds` (with the flexible consumption
    ``flexible_kw`` when given, else the widest bounds), the ramp coupling
    ``|(q_t − q_{t−1}) + (d_t − d_{t−1}) + (f_t − f_{t−1})| ≤ η·R`` and, for
    storage, the energy limits. An empty list means the plan is feasible.
    """
    q = np.asarray(q, dtype=float)
    T = len(p.demand_kw)
    if q.shape != (T,):
        raise ValueError(f"a trade plan for '{p.id}' needs {T} values, got {q.size}")
    out: list[Violation] = []
    d = np.asarray(p.demand_kw, dtype=float)
    if flexible_kw is not None and p.flexible is not None:
        f = np.asarray(flexible_kw, dtype=float)
        fmax = np.asarray(p.flexible.d_max_kw, dtype=float)
        for t in np.flatnonzero((f < -tol) | (f > fmax + tol)):
            out.append(
                Violation(
                    p.id,
                    int(t),
                    "flexible load",
                    float(max(-f[t], f[t] - fmax[t])),
                    "kW",
                    f"flexible consumption {f[t]:g} kW outside [0, {fmax[t]:g}] kW",
                )
            )
        lo_f = hi_f = f
    else:
        f = None
        lo_f = np.asarray(p.flexible.d_max_kw, dtype=float) if p.flexible is not None else np.zeros(T)
        hi_f = np.zeros(T)
    eta = p.asset.efficiency if p.asset is not None else 1.0
    m_min = float(meter_kw(p.asset, p.asset.p_min_kw)) if p.asset is not None else 0.0
    lo = m_min - d - lo_f
    hi = eta * _availability(p, T) - d - hi_f
    for t in np.flatnonzero(q < lo - tol):
        out.append(
            Violation(
                p.id,
                int(t),
                "trade lower bound",
                float(lo[t] - q[t]),
                "kW",
                f"buys {-q[t]:g} kW in period {t}, more than its {-lo[t]:g} kW of demand (q ≥ m(p_min) − d − f^max)",
            )
        )
    for t in np.flatnonzero(q > hi + tol):
        out.append(
            Violation(
                p.id,
                int(t),
                "trade upper bound",
                float(q[t] - hi[t]),
                "kW",
                f"sells {q[t]:g} kW in period {t}, more than η·P^max − d = {hi[t]:g} kW",
            )
        )
    a = p.asset
    if a is not None:
        disp = dispatch_from_trade(p, q, f)
        if a.ramp_kw_per_period is not None and T > 1:
            dp = np.diff(disp)
            for t in np.flatnonzero(np.abs(dp) > a.ramp_kw_per_period + tol):
                out.append(
                    Violation(
                        p.id,
                        int(t + 1),
                        "ramp",
                        float(abs(dp[t]) - a.ramp_kw_per_period),
                        "kW",
                        f"DER output changes by {dp[t]:+g} kW from period {t} to {t + 1}, beyond the ramp limit "
                        f"R = {a.ramp_kw_per_period:g} kW (|Δq + Δd| ≤ η·R = {eta * a.ramp_kw_per_period:g} kW)",
                    )
                )
        if a.kind in STORAGE_KINDS and a.energy_kwh is not None:
            e = a.soc_init_pu * a.energy_kwh - step_h * np.cumsum(disp)
            for t in np.flatnonzero(e < -tol):
                out.append(
                    Violation(
                        p.id,
                        int(t),
                        "storage empty",
                        float(-e[t]),
                        "kWh",
                        f"storage would hold {e[t]:g} kWh after period {t}",
                    )
                )
            for t in np.flatnonzero(e > a.energy_kwh + tol):
                out.append(
                    Violation(
                        p.id,
                        int(t),
                        "storage full",
                        float(e[t] - a.energy_kwh),
                        "kWh",
                        f"storage would hold {e[t]:g} kWh after period {t}, above {a.energy_kwh:g} kWh",
                    )
                )
    return out


# ---------------------------------------------------------------------------
# every prosumer at once, cvxpy
# ---------------------------------------------------------------------------


def _signature(s: Scenario, periods: tuple[int, ...]) -> tuple:
    """What fixes the shape of the optimisation problem (anything else is a Parameter value)."""
    rows = []
    for p in s.prosumers:
        a = p.asset
        rows.append(
            (
                None
                if a is None
                else (
                    a.kind in STORAGE_KINDS,
                    a.ramp_kw_per_period is not None,
                    a.kind in STORAGE_KINDS and a.energy_kwh is not None,
                ),
                p.flexible is not None,
            )
        )
    return (len(s.prosumers), periods, float(s.horizon.step_h), tuple(rows))


class FleetModel:
    """All prosumers' feasible sets over the chosen periods, as one vectorised cvxpy model.

    Variables: ``P`` (DERs × periods, internal output, kW) and ``F`` (flexible
    loads × periods, kW). Expressions: ``q`` (prosumers × periods, net trade at
    the meter, kW), ``cost`` and ``value`` (currency over the periods).
    Everything a user edits is a ``cvxpy.Parameter``; :meth:`update` loads a
    scenario with the same structure (:meth:`fits`) without recompiling.
    """

    def __init__(self, scenario: Scenario, periods: tuple[int, ...] | None = None):
        self.periods = tuple(range(scenario.periods)) if periods is None else tuple(periods)
        self.signature = _signature(scenario, self.periods)
        T = len(self.periods)
        self.T = T
        prosumers = scenario.prosumers
        nA = len(prosumers)
        self.ids = [p.id for p in prosumers]
        self.der = [i for i, p in enumerate(prosumers) if p.asset is not None]
        self.flex = [i for i, p in enumerate(prosumers) if p.flexible is not None]
        self.storage = [k for k, i in enumerate(self.der) if prosumers[i].asset.kind in STORAGE_KINDS]
        self.plain = [k for k, i in enumerate(self.der) if prosumers[i].asset.kind not in STORAGE_KINDS]
        self.ramped = [k for k, i in enumerate(self.der) if prosumers[i].asset.ramp_kw_per_period is not None]
        self.energy = [k for k in self.storage if prosumers[self.der[k]].asset.energy_kwh is not None]
        nD, nF = len(self.der), len(self.flex)

        self.step_h = float(scenario.horizon.step_h)  # part of the structure: DPP forbids parameter × parameter
        self.demand = cp.Parameter((nA, T), name="demand_kw")
        self.P = cp.Variable((nD, T), name="der_kw") if nD else None
        self.F = cp.Variable((nF, T), name="flexible_kw") if nF else None
        self.constraints: list[cp.Constraint] = []
        q = -self.demand
        cost = 0
        value = 0
        if nD:
            self.p_lo = cp.Parameter((nD, T), name="p_min_kw")
            self.p_hi = cp.Parameter((nD, T), name="p_max_kw")
            self.eta = cp.Parameter((nD, 1), nonneg=True, name="efficiency")
            self.sqrt_a = cp.Parameter((nD, 1), nonneg=True, name="sqrt_cost_a")
            self.b = cp.Parameter((nD, 1), name="cost_b")
            self.b_storage = (
                cp.Parameter((len(self.storage), 1), nonneg=True, name="storage_cost_b") if self.storage else None
            )
            M = sp.csr_matrix((np.ones(nD), (self.der, np.arange(nD))), shape=(nA, nD))
            q = q + M @ cp.multiply(self.eta, self.P)
            self.constraints += [self.P >= self.p_lo, self.P <= self.p_hi]
            cost = cp.sum_squares(cp.multiply(self.sqrt_a, self.P))
            if self.plain:
                cost = cost + cp.sum(cp.multiply(self.b[self.plain], self.P[self.plain]))
            self.charge = None
            self.throughput = None
            if self.storage:
                nS = len(self.storage)
                # charging c ≥ max(−p, 0) takes c/η at the meter for η·c stored: m = η·p + (η − 1/η)·c
                self.charge = cp.Variable((nS, T), name="charge_kw")
                self.loss_coef = cp.Parameter((nS, 1), nonpos=True, name="charge_loss")
                Ps = self.P[self.storage]
                self.constraints += [self.charge >= 0, Ps + self.charge >= 0]
                MS = sp.csr_matrix((np.ones(nS), ([self.der[k] for k in self.storage], np.arange(nS))), shape=(nA, nS))
                q = q + MS @ cp.multiply(self.loss_coef, self.charge)
                self.throughput = Ps + 2 * self.charge  # discharge + charge, kW
                cost = cost + cp.sum(cp.multiply(self.b_storage, self.throughput))
            # the constraints that couple a DER's periods, named: their duals price energy across time
            self.ramp_up = self.ramp_down = self.soc_low = self.soc_high = self.soc_end = None
            if self.ramped and T > 1:
                self.ramp = cp.Parameter((len(self.ramped), 1), nonneg=True, name="ramp_kw")
                dP = self.P[self.ramped, 1:] - self.P[self.ramped, :-1]
                self.ramp_up, self.ramp_down = dP <= self.ramp, -dP <= self.ramp
                self.constraints += [self.ramp_up, self.ramp_down]
            if self.energy:
                self.e_cap = cp.Parameter((len(self.energy), 1), nonneg=True, name="energy_kwh")
                self.e0 = cp.Parameter((len(self.energy), 1), nonneg=True, name="energy_init_kwh")
                stored = self.e0 - self.step_h * cp.cumsum(self.P[self.energy], axis=1)
                self.soc_low, self.soc_high = stored >= 0, stored <= self.e_cap
                self.constraints += [self.soc_low, self.soc_high]
                # hand the storage back as full as it was found (the auctions' storages do the same)
                self.soc_end = stored[:, -1:] >= self.e0
                self.constraints += [self.soc_end]
        if nF:
            self.f_hi = cp.Parameter((nF, T), nonneg=True, name="flexible_max_kw")
            self.sqrt_av = cp.Parameter((nF, 1), nonneg=True, name="sqrt_value_a")
            self.bv = cp.Parameter((nF, 1), name="value_b")
            MF = sp.csr_matrix((np.ones(nF), (self.flex, np.arange(nF))), shape=(nA, nF))
            q = q - MF @ self.F
            self.constraints += [self.F >= 0, self.F <= self.f_hi]
            value = cp.sum(cp.multiply(self.bv, self.F)) - cp.sum_squares(cp.multiply(self.sqrt_av, self.F))
        self.q = q
        self.cost = self.step_h * cost
        self.value = self.step_h * value
        self.update(scenario)

    def fits(self, scenario: Scenario, periods: tuple[int, ...] | None = None) -> bool:
        """True when ``scenario`` has this model's structure (so :meth:`update` suffices)."""
        periods = tuple(range(scenario.periods)) if periods is None else tuple(periods)
        return _signature(scenario, periods) == self.signature

    def update(self, s: Scenario) -> None:
        """Load the numbers of ``s`` into the Parameters (same structure required)."""
        cols = list(self.periods)
        prosumers = s.prosumers
        self.demand.value = np.array([[p.demand_kw[t] for t in cols] for p in prosumers]).reshape(
            len(prosumers), self.T
        )
        if self.der:
            assets = [prosumers[i].asset for i in self.der]
            hi = np.array([[a.p_max_at(t) for t in cols] for a in assets])
            self.p_hi.value = hi
            self.p_lo.value = np.minimum(np.array([[a.p_min_kw] * self.T for a in assets]), hi)
            self.eta.value = np.array([[a.efficiency] for a in assets])
            self.sqrt_a.value = np.sqrt(np.array([[a.cost_a_per_kw2h] for a in assets]))
            self.b.value = np.array([[a.cost_b_per_kwh] for a in assets])
            if self.storage:
                self.b_storage.value = np.maximum(np.array([[assets[k].cost_b_per_kwh] for k in self.storage]), 0.0)
                eta_s = np.array([[assets[k].efficiency] for k in self.storage])
                self.loss_coef.value = np.minimum(eta_s - 1.0 / eta_s, 0.0)
            if self.ramped and self.T > 1:
                self.ramp.value = np.array([[assets[k].ramp_kw_per_period] for k in self.ramped])
            if self.energy:
                self.e_cap.value = np.array([[assets[k].energy_kwh] for k in self.energy])
                self.e0.value = np.array([[assets[k].soc_init_pu * assets[k].energy_kwh] for k in self.energy])
        if self.flex:
            fl = [prosumers[i].flexible for i in self.flex]
            self.f_hi.value = np.array([[f.d_max_kw[t] for t in cols] for f in fl])
            self.sqrt_av.value = np.sqrt(np.array([[f.value_a_per_kw2h] for f in fl]))
            self.bv.value = np.array([[f.value_b_per_kwh] for f in fl])

    # --- reading a solution --------------------------------------------------------
    def der_kw(self) -> np.ndarray:
        """DER internal output per prosumer (prosumers × periods; zero without a DER)."""
        out = np.zeros((len(self.ids), self.T))
        if self.der:
            out[self.der] = self.P.value
        return out

    def flexible_kw(self) -> np.ndarray:
        out = np.zeros((len(self.ids), self.T))
        if self.flex:
            out[self.flex] = self.F.value
        return out

    def coupling_kw(self) -> np.ndarray:
        """``θ_t`` per DER and period (currency/kWh of cell energy): the value the constraints that link a DER's
        periods put on one more kW of its output in period t, read from their duals.

        Storage energy: ``θ_t = −μ_t``, ``μ_t = Σ_{τ≥t} (ν^low_τ − ν^high_τ) + ν^end`` the value of a kWh
        kept in store after period t; a ramp limit adds ``−(ρ^up_t − ρ^down_t − ρ^up_{t+1} + ρ^down_{t+1})/Δt``.
        With them, each period of a DER is its own problem: an interior output has
        ``m'(p)·λ_t = C'(p) − θ_t`` (used by :func:`core.welfare.price_intervals`).
        """
        nD, T = len(self.der), self.T
        theta = np.zeros((nD, T))
        if self.soc_low is not None:
            nu = np.asarray(self.soc_low.dual_value, dtype=float).reshape(len(self.energy), T) - np.asarray(
                self.soc_high.dual_value, dtype=float
            ).reshape(len(self.energy), T)
            mu = np.cumsum(nu[:, ::-1], axis=1)[:, ::-1]
            if self.soc_end is not None:
                mu = mu + np.asarray(self.soc_end.dual_value, dtype=float).reshape(len(self.energy), 1)
            theta[self.energy] -= mu
        if self.ramp_up is not None:
            rho = np.asarray(self.ramp_up.dual_value, dtype=float).reshape(len(self.ramped), T - 1) - np.asarray(
                self.ramp_down.dual_value, dtype=float
            ).reshape(len(self.ramped), T - 1)
            r = np.zeros((len(self.ramped), T))
            r[:, 1:] += rho  # P_t appears in dP_t with +1 …
            r[:, :-1] -= rho  # … and in dP_{t+1} with −1
            theta[self.ramped] -= r / self.step_h
        return theta

    def charge_kw(self) -> np.ndarray:
        """Storage charging power into the cells per prosumer (prosumers × periods; zero elsewhere)."""
        out = np.zeros((len(self.ids), self.T))
        if self.storage:
            out[[self.der[k] for k in self.storage]] = np.maximum(np.asarray(self.charge.value), 0.0)
        return out

    def storage_burn_kwh(self) -> float:
        """Energy a storage spent charging and discharging in the same period (kWh; 0 unless energy had a
        negative value): ``Δt·Σ (c − max(−p, 0))``."""
        if not self.storage:
            return 0.0
        P = self.der_kw()
        burn = self.charge_kw() - np.clip(-P, 0.0, None)
        return self.step_h * float(np.clip(burn, 0.0, None).sum())

    def per_agent_cost(self, s: Scenario) -> np.ndarray:
        """Each prosumer's DER cost over the periods (currency): ``Δt·Σ_t (a·p² + b·p)``, storage
        ``Δt·Σ_t (a·p² + b·(discharge + charge))``."""
        P = self.der_kw()
        C = self.charge_kw()
        out = np.zeros(len(self.ids))
        for i in self.der:
            a = s.prosumers[i].asset
            b_term = a.cost_b_per_kwh * (P[i] + 2 * C[i] if a.kind in STORAGE_KINDS else P[i])
            out[i] = s.horizon.step_h * float(np.sum(a.cost_a_per_kw2h * P[i] ** 2 + b_term))
        return out

    def per_agent_value(self, s: Scenario) -> np.ndarray:
        """Each prosumer's flexible-load value over the periods (currency)."""
        F = self.flexible_kw()
        out = np.zeros(len(self.ids))
        for i in self.flex:
            fl = s.prosumers[i].flexible
            out[i] = s.horizon.step_h * float(np.sum(fl.value_b_per_kwh * F[i] - fl.value_a_per_kw2h * F[i] ** 2))
        return out
