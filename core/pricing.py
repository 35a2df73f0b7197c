"""Network-constrained clearing and DLMPs ("Pricing under Physical Constraints").

The welfare clearing of :mod:`core.welfare` with the feeder's physics added,
on the LinDistFlow model with iterated loss factors:

* bus balance: ``p_{k,t} = Σ_{i at k} q_{i,t}``                                    (π_{k,t}: the DLMP)
* system balance: ``G^imp_t − G^exp_t + Σ_k p_{k,t} − Loss_t(p) = 0``                 (λ_t: energy)
  with losses linearised around the last solution,
  ``Loss ≈ L̂ + Σ_k LF_k (p_k − p̂_k)``, ``LF_k = ∂Loss/∂p_k``, and
  ``Loss = Σ_j r_j (P_j² + Q_j²)/v_0²`` (DistFlow); re-solved until the
  injections stop moving ("LinDistFlow with iterated loss factors");
* the feeder's shunts (cable charging, transformers' iron losses and magnetising current, the buses' own) as
  constant draws at the no-load voltage, as the LinDistFlow power flow takes them: their real draw is part of
  ``Loss`` (a constant, so no price moves with it) and flows through the lines, their reactive supply joins the
  reactive flows;
* line flows ``P_j = −Σ_{k below j} p_k`` (lossless LinDistFlow), reactive
  flows from the fixed reactive demand (DERs at unity power factor), and the
  apparent-power rating as the exact box ``|P_j| ≤ √(S_j² − Q_j²)``         (μ^±_j: congestion);
* squared voltages ``v_k = v_0² − 2 Σ_{j on the path to k} (r_j P_j + x_j Q_j)``
  within ``[v_min², v_max²]``                                                   (ν^±_k: voltage).

From the KKT conditions, the price of withdrawing one more kWh at bus k is

    DLMP_k = λ                                   energy (the substation's price)
           + λ·∂Loss/∂w_k                        loss        (= λ·(MLF_k − 1))
           + Σ_j (μ^+_j − μ^-_j)·[k below j]     congestion
           + Σ_m (ν^-_m − ν^+_m)·2·R_{mk}        voltage     (R_{mk}: shared path resistance)

and the four parts sum to the bus balance's dual: :func:`clear_network`
asserts it. ``model="dc"`` keeps only the line limits (on real power, no
losses, no voltages): the transmission habit that misleads on a feeder.
After solving, the AC power flow at the cleared injections (when available)
measures how far the linear model is from the physics.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.errors import ClearingError
from core.network.powerflow import shunt_draw_pu
from core.network.topology import Radial, radial
from core.numerics import DECOMPOSITION_TOL, solve
from core.prosumer import FleetModel
from core.scenario.model import Scenario
from core.welfare import DPP_MAX_PARAMETER_ENTRIES, _parameter_entries, grid_prices

NETWORK_MODELS = ("none", "lindistflow", "dc")


@dataclass
class NetworkSolution:
    """A network-constrained clearing: market results plus prices and physics per bus and line.

    Arrays are buses × periods in the :class:`Radial` order (``net.bus_ids``);
    lines are indexed by their receiving bus (row 0 unused).
    """

    model: str
    net: Radial
    periods: tuple[int, ...]
    ids: list[str]
    trade_kw: np.ndarray  # prosumers × periods
    der_kw: np.ndarray
    flexible_kw: np.ndarray
    cost: np.ndarray
    value: np.ndarray
    payment: np.ndarray  # per prosumer: Σ_t DLMP at its bus × its withdrawal × Δt
    injection_kw: np.ndarray  # p: buses × periods
    dlmp: np.ndarray
    energy: np.ndarray
    loss: np.ndarray
    congestion: np.ndarray
    voltage: np.ndarray
    v_pu: np.ndarray  # LinDistFlow voltages at the solution
    flow_kw: np.ndarray  # P_j
    flow_kvar: np.ndarray  # Q_j
    loading_pct: np.ndarray
    loss_kw: np.ndarray  # per period, modelled (DistFlow quadratic)
    grid_import_kw: np.ndarray
    grid_export_kw: np.ndarray
    welfare: float
    iterations: int
    decomposition_error: float
    solve_time_s: float
    checks: dict = field(default_factory=dict)
    charge_kw: np.ndarray | None = None  # storage charging into the cells (der_kw is discharge − charge)
    line_loss_kw: np.ndarray | None = None  # per line and period, when the model has them exactly (SOCP: r·ℓ)
    exactness_gap: np.ndarray | None = None  # SOCP: (w·ℓ − P² − Q²)/(w·ℓ) per line and period

    @property
    def surplus(self) -> np.ndarray:
        return self.value - self.cost - self.payment

    def bus_frame(self, t_index: int | None = 0) -> pd.DataFrame:
        """Per bus in one of the cleared periods (``None``: every period, with a ``period`` column): voltage, DLMP
        and its parts, net injection."""
        n = self.net
        cols = range(self.dlmp.shape[1]) if t_index is None else [t_index]
        T = len(cols)
        pick = lambda a: a[:, list(cols)].T.ravel()  # noqa: E731 (period-major, then bus)
        frame = pd.DataFrame(
            {
                "bus": np.tile(np.asarray(n.bus_ids, dtype=object), T),
                "depth": np.tile(n.depth, T),
                "electrical_distance_pu": np.tile(n.electrical_distance_pu, T),
                "v_pu": pick(self.v_pu),
                "dlmp_per_kwh": pick(self.dlmp),
                "energy_per_kwh": pick(self.energy),
                "loss_per_kwh": pick(self.loss),
                "congestion_per_kwh": pick(self.congestion),
                "voltage_per_kwh": pick(self.voltage),
                "injection_kw": pick(self.injection_kw),
            }
        )
        if t_index is None:
            frame["period"] = np.repeat(np.arange(T), n.n)
        return frame

    def line_frame(self, t_index: int | None = 0) -> pd.DataFrame:
        """Per line in one of the cleared periods (``None``: every period, with a ``period`` column): flow from the
        substation side, loading, losses (modelled: the model's own where it has them, else ``r·(P² + Q²)/v₀²``)."""
        n = self.net
        j = np.arange(1, n.n)
        cols = list(range(self.dlmp.shape[1])) if t_index is None else [t_index]
        T = len(cols)
        pick = lambda a: a[j][:, cols].T.ravel()  # noqa: E731
        if self.line_loss_kw is not None:
            loss = self.line_loss_kw
        else:
            loss = n.r_pu[:, None] * (self.flow_kw**2 + self.flow_kvar**2) / (n.v0_pu**2 * n.base_kva)
        frame = pd.DataFrame(
            {
                "line": np.tile(np.asarray([n.line_ids[k] for k in j], dtype=object), T),
                "from_bus": np.tile(np.asarray([n.bus_ids[n.parent[k]] for k in j], dtype=object), T),
                "to_bus": np.tile(np.asarray([n.bus_ids[k] for k in j], dtype=object), T),
                "p_kw": pick(self.flow_kw),
                "q_kvar": pick(self.flow_kvar),
                "loading_pct": pick(self.loading_pct),
                "loss_kw": pick(loss),
            }
        )
        if self.exactness_gap is not None:
            frame["exactness_gap"] = pick(self.exactness_gap)
        if t_index is None:
            frame["period"] = np.repeat(np.arange(T), n.n - 1)
        return frame


def _bus_matrix(s: Scenario, net: Radial) -> sp.csr_matrix:
    rows = [net.index[p.bus] for p in s.prosumers]
    return sp.csr_matrix((np.ones(len(rows)), (rows, np.arange(len(rows)))), shape=(net.n, len(rows)))


def _reactive(s: Scenario, net: Radial, periods) -> np.ndarray:
    """Reactive injection per bus (kvar): minus the reactive demand (DERs at unity power factor)."""
    q = np.zeros((net.n, len(periods)))
    cols = list(periods)
    for pr in s.prosumers:
        if pr.demand_kvar is not None:
            kvar = np.asarray(pr.demand_kvar, dtype=float)[cols]
        elif pr.power_factor < 1.0:
            kvar = np.asarray(pr.demand_kw, dtype=float)[cols] * math.tan(math.acos(pr.power_factor))
        else:
            continue
        q[net.index[pr.bus]] -= kvar
    return q


LF_TOL = 1e-5  # loss factors that move less than this between linearisation and solution have converged
# (a price error of λ·1e-5: 0.003 EUR/MWh at 0.3 EUR/kWh)
# Clarabel's iterative refinement doubles the solve time and changes these prices by < 1e-7 per kWh
SOLVER_OPTIONS: dict = {"iterative_refinement_enable": False}
# Screening (see LinDistFlowProblem): a limit is violated beyond the solver's accuracy when a flow passes its
# rating by more than this share of it, or a squared voltage its limit by more than V2_TOL; limits closer
# than the margins below to where the solution sits are watched from then on, so the next edit rarely adds one
WATCH_TOL = 1e-6
V2_TOL = 1e-7
WATCH_LOADING = 0.9  # lines loaded above 90 % of what their rating leaves for real power
WATCH_V2 = 0.01  # buses whose squared voltage is within 0.01 p.u.² (≈ 0.005 p.u.) of a limit
SCREEN_ROUNDS = 30


def _rows_over_periods(rows: sp.csr_matrix, periods_of_rows: np.ndarray, n: int, T: int) -> sp.csr_matrix:
    """Row i of ``rows`` (over the n buses) placed on the columns of period ``periods_of_rows[i]`` of vec(p)
    (cvxpy's column-major order: entry (k, t) is column t·n + k)."""
    coo = rows.tocoo()
    return sp.csr_matrix((coo.data, (coo.row, coo.col + n * periods_of_rows[coo.row])), shape=(rows.shape[0], n * T))


class LinDistFlowProblem:
    """The LinDistFlow (or DC) clearing of the module text, compiled once per feeder and fleet structure.

    Everything an edit changes is a ``cvxpy.Parameter`` (the fleet's numbers, the ratings the reactive flows
    leave for real power, the voltage limits and their AC correction, the loss factors): :meth:`update` loads a
    scenario, :meth:`solve` re-solves, starting the loss factors from the last solution's (an edit that moves
    little converges in one solve).

    **Screening.** On a feeder almost every line rating and voltage limit is slack, and writing them all (with
    a flow and a voltage variable per line and period) makes the problem three times larger than the market
    in it. The problem therefore carries only the *watched* limits, each written directly in the injections
    (a line's flow is minus the injections below it; a squared voltage is ``v_0² + 2·(R p)_k/base − 2·(A x
    Q)_k/base``, ``R`` the shared path resistance). After each solve every limit is checked at the solution;
    violated ones (and those near) join the watched set and the problem is solved again. A solution that keeps
    every limit is the optimum of the full problem (it solves a relaxation of it and is feasible), and the
    limits left out have zero duals, so the prices are the full problem's.
    """

    def __init__(
        self,
        scenario: Scenario,
        periods: tuple[int, ...] | None = None,
        grid: str = "wholesale",
        model: str = "lindistflow",
    ):
        if model not in ("lindistflow", "dc"):
            raise ValueError(f"network model must be 'lindistflow' or 'dc' for clearing, got {model!r}")
        s = scenario
        self.model, self.grid = model, grid
        self.periods = periods = tuple(range(s.periods)) if periods is None else tuple(periods)
        T = len(periods)
        self.net = net = radial(s)
        nB = net.n
        self.v0sq = net.v0_pu**2
        self.A = A = net.path  # buses × lines (line j = into bus j)
        self.At = A.T.tocsr()
        B = _bus_matrix(s, net)
        self.step = step = s.horizon.step_h
        self.fleet = fleet = FleetModel(s, periods)
        self.p = p = cp.Variable((nB, T), name="injection_kw")
        self.g_imp = cp.Variable(T, nonneg=True)
        self.g_exp = cp.Variable(T, nonneg=True)
        self.buy, self.sell = cp.Parameter(T, name="buy"), cp.Parameter(T, name="sell")
        self.lf = lf = cp.Parameter((nB, T), name="loss_factor")
        self.lc = lc = cp.Parameter(T, name="loss_constant")
        self.nodal = step * (p - B @ fleet.q) == 0
        if model == "dc":
            self.balance = step * (self.g_imp - self.g_exp + cp.sum(p, axis=0)) == 0
        else:
            self.balance = step * (self.g_imp - self.g_exp + cp.sum(cp.multiply(1.0 - lf, p), axis=0) - lc) == 0
        self._base = [*fleet.constraints, self.nodal, self.balance]
        grid_cost = step * (self.buy @ self.g_imp - self.sell @ self.g_exp)
        self._objective = cp.Maximize(fleet.value - fleet.cost - grid_cost)
        rated = np.flatnonzero(np.isfinite(net.rating_pu))
        self.rated = rated[rated > 0]
        self._rated_mask = np.zeros((nB, 1), dtype=bool)  # buses × 1: the lines (into each bus) with a rating
        self._rated_mask[self.rated] = True
        self.watch_line = np.zeros((nB, T), dtype=bool)  # (line, period) ratings in the problem
        self.watch_v = np.zeros((nB, T), dtype=bool)  # (bus, period) voltage limits in the problem
        self.start: tuple[np.ndarray, np.ndarray] | None = None  # the last solution's loss factors
        self.update(s)
        self._build()

    def _build(self) -> None:
        """The problem with the watched limits (a new structure: compiled again on the next solve)."""
        nB, T, step, base = self.net.n, len(self.periods), self.step, self.net.base_kva
        cons = list(self._base)
        vec_p = cp.vec(self.p, order="F")
        self.line_up = self.line_dn = self.v_lo = self.v_hi = None
        self.line_at = np.nonzero(self.watch_line)
        if self.line_at[0].size:
            j, t = self.line_at
            flow = _rows_over_periods(-self.At[j], t, nB, T) @ vec_p
            self.fmax = cp.Parameter(j.size, nonneg=True, name="real_rating_kw")
            self.line_up = step * (flow - self.fmax) <= 0
            self.line_dn = step * (-flow - self.fmax) <= 0
            cons += [self.line_up, self.line_dn]
        self.v_at = np.nonzero(self.watch_v)
        if self.v_at[0].size:
            k, t = self.v_at
            r_shared = (self.A[k] @ sp.diags(self.net.r_pu)) @ self.At  # rows of R
            v_var = _rows_over_periods((2.0 / base) * r_shared.tocsr(), t, nB, T) @ vec_p
            self.v_lo_c = cp.Parameter(k.size, name="v_min_squared_less_constant")
            self.v_hi_c = cp.Parameter(k.size, name="v_max_squared_less_constant")
            self.v_lo = step * (self.v_lo_c - v_var) <= 0
            self.v_hi = step * (v_var - self.v_hi_c) <= 0
            cons += [self.v_lo, self.v_hi]
        self.problem = cp.Problem(self._objective, cons)
        self._load_limits()

    def _load_limits(self) -> None:
        if self.line_up is not None:
            self.fmax.value = self._fmax[self.line_at]
        if self.v_lo is not None:
            self.v_lo_c.value = (self._vmin2 - self._v_const)[self.v_at]
            self.v_hi_c.value = (self._vmax2 - self._v_const)[self.v_at]

    def update(self, s: Scenario, v_correction_pu: np.ndarray | None = None) -> None:
        """Load ``s`` (same feeder and fleet structure); ``v_correction_pu`` (buses × periods) narrows the voltage
        limits by the amount LinDistFlow overestimated the AC voltage (:func:`clear_network_ac`)."""
        self.scenario = s
        self.fleet.update(s)
        net, T = self.net, len(self.periods)
        base = net.base_kva
        qr = _reactive(s, net, self.periods)
        # the shunts as constant draws at the no-load voltage (as the LinDistFlow power flow takes them): their
        # reactive supply (cable charging) in the reactive flows, their real draw (iron losses) in the losses
        draw = shunt_draw_pu(net) * base if self.model != "dc" else np.zeros(net.n, dtype=np.complex128)
        p_sh = draw.real  # kW drawn
        qr = qr - draw.imag[:, None]  # kvar supplied (the draw's Q is negative for cable charging)
        self._p_shunt = float(p_sh.sum())
        self.Qf = Qf = -(self.At @ qr)  # reactive flow into each bus's subtree (kvar), row 0 = 0
        s_max = net.rating_pu[:, None] * base * np.ones((1, T))
        self._fmax = s_max if self.model == "dc" else np.sqrt(np.clip(s_max**2 - Qf**2, 0.0, None))
        corr = np.zeros((net.n, T)) if v_correction_pu is None else np.asarray(v_correction_pu)
        self._vmin2 = np.clip(net.v_min_pu[:, None] + corr, 0.0, None) ** 2
        self._vmax2 = np.clip(net.v_max_pu[:, None] + corr, 0.0, None) ** 2
        # the part of the squared voltage the market does not move: v_0² − 2·(A x Q)/base
        # and what the shunts' real draw carries through the lines (their flow, kW, into each subtree)
        self._f_shunt = f_sh = np.asarray(self.At @ p_sh).reshape(-1, 1)
        self._v_const = (
            self.v0sq - 2.0 * np.asarray(self.A @ (net.x_pu[:, None] * Qf + net.r_pu[:, None] * f_sh)) / base
        )
        self.buy.value, self.sell.value = grid_prices(s, self.periods, self.grid)
        if hasattr(self, "problem"):
            self._load_limits()

    def _screen(self, p_hat: np.ndarray) -> bool:
        """Watch the limits the solution ``p_hat`` breaks (and those near); True when one was broken."""
        net, base = self.net, self.net.base_kva
        flow = np.abs(np.asarray(self.At @ p_hat))
        fmax = self._fmax
        rated = self._rated_mask
        broken = rated & (flow > fmax * (1.0 + WATCH_TOL) + WATCH_TOL)
        near = rated & (flow >= WATCH_LOADING * fmax)
        if self.model != "dc" and net.n > 1:
            v2 = self._v_const + (2.0 / base) * np.asarray(self.A @ (net.r_pu[:, None] * (self.At @ p_hat)))
            v_broken = (v2 < self._vmin2 - V2_TOL) | (v2 > self._vmax2 + V2_TOL)
            v_near = (v2 < self._vmin2 + WATCH_V2) | (v2 > self._vmax2 - WATCH_V2)
            v_broken[0] = v_near[0] = False  # the substation's voltage is set
        else:
            v_broken = v_near = np.zeros_like(broken)
        if not (np.any(broken & ~self.watch_line) or np.any(v_broken & ~self.watch_v)):
            return False
        self.watch_line |= broken | near
        self.watch_v |= v_broken | v_near
        self._build()
        return True

    def _solve_once(self) -> None:
        # compiled once and re-solved with new numbers (DPP) unless the problem is large
        solve(
            self.problem,
            "the network-constrained clearing",
            reason=lambda status: _infeasible_reason(status, self.scenario, self.net, self.periods),
            warm_start=False,
            ignore_dpp=_parameter_entries(self.problem) > DPP_MAX_PARAMETER_ENTRIES,
            **SOLVER_OPTIONS,
        )

    def _factors(self, p_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The loss factors ∂Loss/∂p and the constant of the loss linearised at injections ``p_hat``."""
        net, base, v0sq = self.net, self.net.base_kva, self.v0sq
        f_hat = -(self.At @ p_hat)
        loss_hat = (net.r_pu[:, None] * (f_hat**2 + self.Qf**2)).sum(axis=0) / (v0sq * base)
        lf = -2.0 * (self.A @ (net.r_pu[:, None] * f_hat)) / (v0sq * base)
        return lf, loss_hat - (lf * p_hat).sum(axis=0)

    def solve(self, max_iter: int = 6, cancelled=None) -> NetworkSolution:
        """Solve, watching every limit the solution breaks, and iterate the loss factors to their fixed point
        (at most ``max_iter`` linearisations; the prices are decomposed with the factors they were solved with)."""
        T, nB = len(self.periods), self.net.n
        lf0, lc0 = self.start if self.start is not None else (np.zeros((nB, T)), np.zeros(T))
        # the loss constant: the linearised line losses plus the shunts' constant draw (this scenario's)
        self.lf.value, self.lc.value = lf0, lc0 + self._p_shunt
        t0 = time.perf_counter()
        iterations = rounds = 0
        while True:
            if cancelled is not None and cancelled():
                from core.errors import Cancelled

                raise Cancelled
            self._solve_once()
            p_hat = np.asarray(self.p.value)
            rounds += 1
            broken = self._screen(p_hat) if rounds <= SCREEN_ROUNDS else False
            if self.model == "dc":
                if broken:
                    continue
                iterations = 1
                break
            lf_new, lc_new = self._factors(p_hat)
            # a fixed point: the loss factors at the solution are the ones it was solved with
            moved = np.max(np.abs(lf_new - np.asarray(self.lf.value)), initial=0.0) >= LF_TOL
            if not broken:
                iterations += 1
                if not moved or iterations >= max_iter:
                    break
            if moved:
                self.lf.value, self.lc.value = lf_new, lc_new + self._p_shunt
        self.start = (np.asarray(self.lf.value).copy(), np.asarray(self.lc.value).copy() - self._p_shunt)
        return self._solution(iterations, time.perf_counter() - t0)

    def _solution(self, iterations: int, elapsed: float) -> NetworkSolution:
        s, net, fleet, model = self.scenario, self.net, self.fleet, self.model
        T, nB = len(self.periods), net.n
        base, v0sq, A, At, Qf = net.base_kva, self.v0sq, self.A, self.At, self.Qf
        step = s.horizon.step_h
        p_hat = np.asarray(self.p.value)
        lf_used = np.asarray(self.lf.value)
        # --- prices and their parts (withdrawal prices, currency/kWh) -------------------------
        lam = -np.asarray(self.balance.dual_value, dtype=float).reshape(T)
        dlmp = np.asarray(self.nodal.dual_value, dtype=float).reshape(nB, T)
        energy = np.repeat(lam[None, :], nB, axis=0)
        loss = np.zeros((nB, T)) if model == "dc" else -lam[None, :] * lf_used
        congestion = np.zeros((nB, T))
        if self.line_up is not None:
            mu = np.zeros((nB, T))
            mu[self.line_at] = np.asarray(self.line_up.dual_value).reshape(-1) - np.asarray(
                self.line_dn.dual_value
            ).reshape(-1)
            congestion = np.asarray(A @ mu)
        voltage = np.zeros((nB, T))
        if model != "dc" and self.v_lo is not None:
            nu = np.zeros((nB, T))
            nu[self.v_at] = np.asarray(self.v_lo.dual_value).reshape(-1) - np.asarray(self.v_hi.dual_value).reshape(-1)
            # Σ_m ν_m 2 R_mk / base with R = A diag(r) Aᵀ
            voltage = 2.0 * np.asarray(A @ (net.r_pu[:, None] * (At @ nu))) / base
        parts = energy + loss + congestion + voltage
        # stationarity of the last linearised problem in p: the parts add up to the bus balance's dual
        err = float(np.max(np.abs(parts - dlmp))) if parts.size else 0.0
        if err > DECOMPOSITION_TOL * max(1.0, float(np.max(np.abs(dlmp)))):
            raise ClearingError(
                "decomposition",
                f"the DLMPs' parts do not add up to the bus balance's dual (largest "
                f"gap {err:.3g} per kWh): a numerical failure",
            )
        q = np.asarray(fleet.q.value, dtype=float).reshape(len(fleet.ids), T)
        bus_of = np.array([net.index[pr.bus] for pr in s.prosumers], dtype=int)
        payment = -(q * dlmp[bus_of]).sum(axis=1) * step if len(bus_of) else np.zeros(0)
        f_val = -(At @ p_hat)
        v_val = np.sqrt(
            np.clip(
                v0sq - 2.0 * (A @ (net.r_pu[:, None] * (f_val + self._f_shunt) + net.x_pu[:, None] * Qf)) / base,
                0,
                None,
            )
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            loading = 100.0 * np.hypot(f_val, Qf) / (net.rating_pu[:, None] * base)
        loading[0] = np.nan
        loading[~np.isfinite(net.rating_pu)] = np.nan
        loss_kw = (net.r_pu[:, None] * (f_val**2 + Qf**2)).sum(axis=0) / (v0sq * base) + self._p_shunt
        if model == "dc":
            v_val = np.full((nB, T), net.v0_pu)
            loss_kw = np.zeros(T)
        net_import = np.asarray(self.g_imp.value).reshape(T) - np.asarray(self.g_exp.value).reshape(T)
        return NetworkSolution(
            model=model,
            net=net,
            periods=self.periods,
            ids=list(fleet.ids),
            trade_kw=q,
            der_kw=fleet.der_kw(),
            charge_kw=fleet.charge_kw(),
            flexible_kw=fleet.flexible_kw(),
            cost=fleet.per_agent_cost(s),
            value=fleet.per_agent_value(s),
            payment=payment,
            injection_kw=p_hat,
            dlmp=dlmp,
            energy=energy,
            loss=loss,
            congestion=congestion,
            voltage=voltage,
            v_pu=v_val,
            flow_kw=f_val,
            flow_kvar=Qf,
            loading_pct=loading,
            loss_kw=loss_kw,
            # at one grid price importing and exporting at once costs nothing: report the net
            grid_import_kw=np.clip(net_import, 0, None),
            grid_export_kw=np.clip(-net_import, 0, None),
            welfare=float(self.problem.value),
            iterations=iterations,
            decomposition_error=err,
            solve_time_s=elapsed,
        )


def clear_network(
    scenario: Scenario,
    periods: tuple[int, ...] | None = None,
    grid: str = "wholesale",
    model: str = "lindistflow",
    max_iter: int = 6,
    tol_kw: float = 1e-3,
    v_correction_pu: np.ndarray | None = None,
    cancelled=None,
    problem: LinDistFlowProblem | None = None,
) -> NetworkSolution:
    """The welfare clearing with the feeder's constraints, and its DLMPs decomposed (module text).

    ``v_correction_pu`` (buses × periods) is added to the voltage limits the
    linear model must keep: the amount by which LinDistFlow overestimated the
    AC voltage at the last solution (see :func:`clear_network_ac`). ``problem``: a compiled
    :class:`LinDistFlowProblem` of this structure to re-use (its last loss factors are the start).
    ``tol_kw`` is kept for callers; convergence is the loss factors' fixed point (:data:`LF_TOL`).
    """
    del tol_kw
    lp = problem if problem is not None else LinDistFlowProblem(scenario, periods, grid, model)
    lp.update(scenario, v_correction_pu)
    return lp.solve(max_iter=max_iter, cancelled=cancelled)


def _infeasible_reason(status: str, s: Scenario, net: Radial, periods) -> str:
    """A plain reason when the network makes the market infeasible (what the solver cannot say itself)."""
    if status not in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
        from core.numerics import plain_status

        return plain_status("the network-constrained clearing", status)
    line = _overloaded_line(s, net, periods)
    if line is not None:
        return "the network-constrained clearing is infeasible: " + line
    # the usual culprit: fixed demand that no flow within the ratings and voltage limits can serve
    return (
        "the network-constrained clearing is infeasible: no dispatch meets the fixed demand within the "
        f"line ratings and voltage limits ({net.v_min_pu.min():g}–{net.v_max_pu.max():g} p.u.) — "
        "relax a rating or a voltage limit, or add local generation or flexibility"
    )


def _overloaded_line(s: Scenario, net: Radial, periods) -> str | None:
    """The line (and period) whose rating no dispatch can keep, if there is one: the fixed demand beyond it, less
    all the power the DERs beyond it could give, must still flow through it (a plain sum over its subtree; losses
    only add to it)."""
    from core.scenario.model import STORAGE_KINDS

    periods = tuple(range(s.periods)) if periods is None else tuple(periods)
    try:
        idx = net.index
        need = np.zeros((net.n, len(periods)))
        for p in s.prosumers:
            k = idx[p.bus]
            for c, t in enumerate(periods):
                supply = 0.0
                if p.asset is not None:
                    a = p.asset
                    supply = a.efficiency * max(a.p_max_at(t), 0.0)
                    if a.kind in STORAGE_KINDS and a.energy_kwh is not None:
                        supply = min(supply, a.efficiency * a.energy_kwh / s.horizon.step_h)  # full, at most
                need[k, c] += p.demand_kw[t] - supply
        flow = np.asarray(net.path.T @ need)  # kW through line j (into bus j): its subtree's net need
        rating = np.asarray(net.rating_pu, dtype=float) * net.base_kva
        excess = flow - rating[:, None]
        excess[0] = -np.inf  # bus 0 has no line
        j, c = np.unravel_index(int(np.nanargmax(excess)), excess.shape)
        if not np.isfinite(excess[j, c]) or excess[j, c] <= 1e-6 * max(rating[j], 1.0):
            return None
    except (KeyError, ValueError, IndexError):
        return None
    when = s.horizon.labels()[periods[c]]
    return (
        f"line {net.line_ids[j]} must carry at least {flow[j, c]:,.1f} kW at {when} (the fixed demand beyond it "
        f"less all the power its DERs could give), above its rating of {rating[j]:,.1f} kVA — raise that rating, "
        "or add generation, storage or flexibility beyond it"
    )


def clear_network_ac(
    scenario: Scenario,
    periods: tuple[int, ...] | None = None,
    grid: str = "wholesale",
    rounds: int = 3,
    tol_pu: float = 1e-4,
    cancelled=None,
    problem: LinDistFlowProblem | None = None,
) -> tuple[NetworkSolution, dict]:
    """LinDistFlow clearing corrected by the exact AC power flow until the AC voltages keep the limits.

    Each round runs the AC power flow (:mod:`core.network.powerflow`) at the
    cleared injections, shifts every bus's voltage limits by the amount the
    linear model overestimated its voltage, ``v_LinDistFlow − v_AC``, and
    clears again. Returns the last solution and the check: the largest
    LinDistFlow–AC voltage gap, the AC losses and the AC voltage range, and the
    largest AC violation of a voltage limit (≈ 0 when the correction worked).
    """
    from core.network.powerflow import ac_power_flow

    s = scenario
    periods = tuple(range(s.periods)) if periods is None else tuple(periods)
    corr = None
    check: dict = {}
    sol = None
    lp = problem if problem is not None else LinDistFlowProblem(s, periods, grid)
    for k in range(1, rounds + 1):
        sol = clear_network(s, periods, grid=grid, v_correction_pu=corr, cancelled=cancelled, problem=lp)
        q_inj = _reactive(s, sol.net, periods)
        v_ac = np.empty_like(sol.v_pu)
        loss = 0.0
        for t in range(len(periods)):
            res = ac_power_flow(sol.net, sol.injection_kw[:, t], q_inj[:, t])
            v_ac[:, t] = res.v_pu
            loss += float(res.total_loss_kw)
        gap = sol.v_pu - v_ac
        lo = sol.net.v_min_pu[:, None] - v_ac
        hi = v_ac - sol.net.v_max_pu[:, None]
        violation = float(max(np.max(lo[1:], initial=0.0), np.max(hi[1:], initial=0.0), 0.0))
        check = {
            "ac_rounds": k,
            "ac_max_voltage_gap_pu": float(np.max(np.abs(gap))),
            "ac_max_limit_violation_pu": violation,
            "ac_loss_kwh": loss * s.horizon.step_h,
            "ac_v_min_pu": float(v_ac[1:].min()) if v_ac.shape[0] > 1 else float(sol.net.v0_pu),
            "v_pu_ac": v_ac,
        }
        if violation <= tol_pu:
            break
        corr = gap  # the linear model's error at this operating point: keep that much margin
    return sol, check
