"""Network-constrained clearing and DLMPs ("Pricing under Physical Constraints").

The welfare clearing of :mod:`core.welfare` with the feeder's physics added,
on the LinDistFlow model with iterated loss factors:

* bus balance: ``p_{k,t} = Σ_{i at k} q_{i,t}``                                    (π_{k,t}: the DLMP)
* system balance: ``G^imp_t − G^exp_t + Σ_k p_{k,t} − Loss_t(p) = 0``                 (λ_t: energy)
  with losses linearised around the last solution,
  ``Loss ≈ L̂ + Σ_k LF_k (p_k − p̂_k)``, ``LF_k = ∂Loss/∂p_k``, and
  ``Loss = Σ_j r_j (P_j² + Q_j²)/v_0²`` (DistFlow); re-solved until the
  injections stop moving ("LinDistFlow with iterated loss factors");
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

import time
from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.network.topology import Radial, radial
from core.prosumer import FleetModel
from core.scenario.model import Scenario
from core.welfare import DPP_MAX_PARAMETER_ENTRIES, SOLVER, ClearingError, _parameter_entries, grid_prices

NETWORK_MODELS = ("none", "lindistflow", "dc")
DECOMPOSITION_TOL = 1e-5  # currency/kWh: the parts must add up to the DLMP within this


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

    def bus_frame(self, t_index: int = 0) -> pd.DataFrame:
        """Per bus in one of the cleared periods: voltage, DLMP and its parts, net injection."""
        n = self.net
        return pd.DataFrame({
            "bus": list(n.bus_ids),
            "depth": n.depth,
            "electrical_distance_pu": n.electrical_distance_pu,
            "v_pu": self.v_pu[:, t_index],
            "dlmp_per_kwh": self.dlmp[:, t_index],
            "energy_per_kwh": self.energy[:, t_index],
            "loss_per_kwh": self.loss[:, t_index],
            "congestion_per_kwh": self.congestion[:, t_index],
            "voltage_per_kwh": self.voltage[:, t_index],
            "injection_kw": self.injection_kw[:, t_index],
        })

    def line_frame(self, t_index: int = 0) -> pd.DataFrame:
        """Per line in one of the cleared periods: flow from the substation side, loading, loss estimate."""
        n = self.net
        j = np.arange(1, n.n)
        if self.line_loss_kw is not None:
            loss = self.line_loss_kw[j, t_index]
        else:
            loss = n.r_pu[j] * (self.flow_kw[j, t_index] ** 2 + self.flow_kvar[j, t_index] ** 2) / (
                n.v0_pu**2 * n.base_kva)
        frame = pd.DataFrame({
            "line": [n.line_ids[k] for k in j],
            "from_bus": [n.bus_ids[n.parent[k]] for k in j],
            "to_bus": [n.bus_ids[k] for k in j],
            "p_kw": self.flow_kw[j, t_index],
            "q_kvar": self.flow_kvar[j, t_index],
            "loading_pct": self.loading_pct[j, t_index],
            "loss_kw": loss,
        })
        if self.exactness_gap is not None:
            frame["exactness_gap"] = self.exactness_gap[j, t_index]
        return frame


def _bus_matrix(s: Scenario, net: Radial) -> sp.csr_matrix:
    rows = [net.index[p.bus] for p in s.prosumers]
    return sp.csr_matrix((np.ones(len(rows)), (rows, np.arange(len(rows)))), shape=(net.n, len(rows)))


def _reactive(s: Scenario, net: Radial, periods) -> np.ndarray:
    """Reactive injection per bus (kvar): minus the reactive demand (DERs at unity power factor)."""
    q = np.zeros((net.n, len(periods)))
    for pr in s.prosumers:
        k = net.index[pr.bus]
        q[k] -= [pr.reactive_kvar(t) for t in periods]
    return q


def clear_network(scenario: Scenario, periods: tuple[int, ...] | None = None, grid: str = "wholesale",
                  model: str = "lindistflow", max_iter: int = 6, tol_kw: float = 1e-3,
                  v_correction_pu: np.ndarray | None = None, cancelled=None) -> NetworkSolution:
    """The welfare clearing with the feeder's constraints, and its DLMPs decomposed (module text).

    ``v_correction_pu`` (buses × periods) is added to the voltage limits the
    linear model must keep: the amount by which LinDistFlow overestimated the
    AC voltage at the last solution (see :func:`clear_network_ac`).
    """
    if model not in ("lindistflow", "dc"):
        raise ValueError(f"network model must be 'lindistflow' or 'dc' for clearing, got {model!r}")
    s = scenario
    periods = tuple(range(s.periods)) if periods is None else tuple(periods)
    T = len(periods)
    net = radial(s)
    nB = net.n
    base = net.base_kva
    v0sq = net.v0_pu**2
    A = net.path  # buses × lines (line j = into bus j)
    At = A.T.tocsr()
    B = _bus_matrix(s, net)
    qr = _reactive(s, net, periods)
    Qf = -(At @ qr)  # reactive flow into each bus's subtree (kvar), row 0 = 0
    r = net.r_pu[:, None]
    x = net.x_pu[:, None]
    step = s.horizon.step_h
    buy, sell = grid_prices(s, periods, grid)

    fleet = FleetModel(s, periods)
    p = cp.Variable((nB, T), name="injection_kw")
    g_imp = cp.Variable(T, nonneg=True)
    g_exp = cp.Variable(T, nonneg=True)
    lf = cp.Parameter((nB, T), name="loss_factor")
    lc = cp.Parameter(T, name="loss_constant")
    nodal = step * (p - B @ fleet.q) == 0
    if model == "dc":
        balance = step * (g_imp - g_exp + cp.sum(p, axis=0)) == 0
    else:
        balance = step * (g_imp - g_exp + cp.sum(cp.multiply(1.0 - lf, p), axis=0) - lc) == 0
    cons = [*fleet.constraints, nodal, balance]
    # flows and voltages as variables tied by sparse recursions (the same model as F = −Aᵀp and
    # v = v0² − 2A(rF + xQ)/base, without forming the dense products on a 1,000-bus feeder)
    n1 = nB - 1
    # kids[j−1, c−1] = 1 when parent(c) = j ≥ 1 (the substation's children have no such row)
    has_parent = net.parent[1:] >= 1
    kids = sp.csr_matrix((np.ones(int(has_parent.sum())),
                          (net.parent[1:][has_parent] - 1, np.flatnonzero(has_parent))), shape=(n1, n1))
    F = cp.Variable((n1, T), name="flow_kw") if n1 else None
    rated = np.flatnonzero(np.isfinite(net.rating_pu))
    rated = rated[rated > 0]
    line_up = line_dn = None
    v_lo = v_hi = None
    if n1:
        cons.append((sp.identity(n1, format="csr") - kids) @ F + p[1:] == 0)
        if rated.size:
            s_max = net.rating_pu[rated, None] * base
            fmax = np.repeat(s_max, T, axis=1) if model == "dc" else np.sqrt(
                np.clip(s_max**2 - Qf[rated] ** 2, 0.0, None))
            line_up = step * (F[rated - 1] - fmax) <= 0
            line_dn = step * (-F[rated - 1] - fmax) <= 0
            cons += [line_up, line_dn]
        if model != "dc":
            v = cp.Variable((n1, T), name="v_squared")
            up = sp.csr_matrix((np.ones(int(has_parent.sum())),
                                (np.flatnonzero(has_parent), net.parent[1:][has_parent] - 1)), shape=(n1, n1))
            root_child = (~has_parent).astype(float)[:, None]
            cons.append((sp.identity(n1, format="csr") - up) @ v
                        == v0sq * root_child - 2.0 * (cp.multiply(r[1:], F) + x[1:] * Qf[1:]) / base)
            corr = np.zeros((nB, T)) if v_correction_pu is None else np.asarray(v_correction_pu)
            vmin = (net.v_min_pu[1:, None] + corr[1:]) ** 2 * np.ones((1, T))
            vmax = (net.v_max_pu[1:, None] + corr[1:]) ** 2 * np.ones((1, T))
            v_lo = step * (vmin - v) <= 0
            v_hi = step * (v - vmax) <= 0
            cons += [v_lo, v_hi]
    grid_cost = step * (buy @ g_imp - sell @ g_exp)
    problem = cp.Problem(cp.Maximize(fleet.value - fleet.cost - grid_cost), cons)

    lf.value = np.zeros((nB, T))
    lc.value = np.zeros(T)
    t0 = time.perf_counter()
    p_prev = None
    iterations = 0
    for iterations in range(1, (1 if model == "dc" else max_iter) + 1):  # noqa: B007 (reported below)
        if cancelled is not None and cancelled():
            from core.properties import Cancelled

            raise Cancelled
        try:
            # compiled once and re-solved with new loss factors (DPP) unless the problem is large
            problem.solve(solver=SOLVER, ignore_dpp=_parameter_entries(problem) > DPP_MAX_PARAMETER_ENTRIES,
                          warm_start=False)
        except cp.error.SolverError as err:
            raise ClearingError("solver_error", f"the network-constrained clearing: solver failed ({err})") from None
        if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
            raise ClearingError(problem.status, _infeasible_reason(problem.status, s, net, periods))
        p_hat = np.asarray(p.value)
        lf_used = np.asarray(lf.value).copy()  # the prices below belong to this linearisation
        if model == "dc":
            break
        f_hat = -(At @ p_hat)
        loss_hat = (net.r_pu[:, None] * (f_hat**2 + Qf**2)).sum(axis=0) / (v0sq * base)
        lf_new = -2.0 * (A @ (net.r_pu[:, None] * f_hat)) / (v0sq * base)
        if p_prev is not None and np.max(np.abs(p_hat - p_prev)) < tol_kw:
            break
        p_prev = p_hat
        lf.value = lf_new
        lc.value = loss_hat - (lf_new * p_hat).sum(axis=0)
    elapsed = time.perf_counter() - t0

    # --- prices and their parts (withdrawal prices, currency/kWh) -------------------------
    lam = -np.asarray(balance.dual_value, dtype=float).reshape(T)
    dlmp = np.asarray(nodal.dual_value, dtype=float).reshape(nB, T)
    energy = np.repeat(lam[None, :], nB, axis=0)
    loss = np.zeros((nB, T)) if model == "dc" else -lam[None, :] * lf_used
    congestion = np.zeros((nB, T))
    if rated.size:
        mu = np.zeros((nB, T))
        mu[rated] = np.asarray(line_up.dual_value).reshape(rated.size, T) - np.asarray(
            line_dn.dual_value).reshape(rated.size, T)
        congestion = np.asarray(A @ mu)
    voltage = np.zeros((nB, T))
    if model != "dc" and v_lo is not None:
        nu = np.zeros((nB, T))
        nu[1:] = np.asarray(v_lo.dual_value) - np.asarray(v_hi.dual_value)
        # Σ_m ν_m 2 R_mk / base with R = A diag(r) Aᵀ
        voltage = 2.0 * np.asarray(A @ (net.r_pu[:, None] * (At @ nu))) / base
    parts = energy + loss + congestion + voltage
    # stationarity of the last linearised problem in p: the parts add up to the bus balance's dual
    err = float(np.max(np.abs(parts - dlmp))) if parts.size else 0.0
    if err > DECOMPOSITION_TOL * max(1.0, float(np.max(np.abs(dlmp)))):
        raise AssertionError(f"DLMP decomposition does not add up (largest gap {err:.3g} per kWh)")

    q = np.asarray(fleet.q.value, dtype=float).reshape(len(fleet.ids), T)
    bus_of = np.array([net.index[pr.bus] for pr in s.prosumers], dtype=int)
    payment = -(q * dlmp[bus_of]).sum(axis=1) * step if len(bus_of) else np.zeros(0)
    f_val = -(At @ p_hat)
    v_val = np.sqrt(np.clip(v0sq - 2.0 * (A @ (net.r_pu[:, None] * f_val + net.x_pu[:, None] * Qf)) / base, 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        loading = 100.0 * np.hypot(f_val, Qf) / (net.rating_pu[:, None] * base)
    loading[0] = np.nan
    loading[~np.isfinite(net.rating_pu)] = np.nan
    loss_kw = (net.r_pu[:, None] * (f_val**2 + Qf**2)).sum(axis=0) / (v0sq * base)
    if model == "dc":
        v_val = np.full((nB, T), net.v0_pu)
        loss_kw = np.zeros(T)
    net_import = np.asarray(g_imp.value).reshape(T) - np.asarray(g_exp.value).reshape(T)
    return NetworkSolution(
        model=model, net=net, periods=periods, ids=list(fleet.ids), trade_kw=q, der_kw=fleet.der_kw(),
        charge_kw=fleet.charge_kw(),
        flexible_kw=fleet.flexible_kw(), cost=fleet.per_agent_cost(s), value=fleet.per_agent_value(s),
        payment=payment, injection_kw=p_hat, dlmp=dlmp, energy=energy, loss=loss, congestion=congestion,
        voltage=voltage, v_pu=v_val, flow_kw=f_val, flow_kvar=Qf, loading_pct=loading, loss_kw=loss_kw,
        # at one grid price importing and exporting at once costs nothing: report the net
        grid_import_kw=np.clip(net_import, 0, None), grid_export_kw=np.clip(-net_import, 0, None),
        welfare=float(problem.value), iterations=iterations, decomposition_error=err, solve_time_s=elapsed,
    )


def _infeasible_reason(status: str, s: Scenario, net: Radial, periods) -> str:
    """A plain reason when the network makes the market infeasible (what the solver cannot say itself)."""
    if status not in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
        return f"the network-constrained clearing is {status}"
    # the usual culprit: fixed demand that no flow within the ratings and voltage limits can serve
    return (
        "the network-constrained clearing is infeasible: no dispatch meets the fixed demand within the "
        f"line ratings and voltage limits ({net.v_min_pu.min():g}–{net.v_max_pu.max():g} p.u.) — "
        "relax a rating or a voltage limit, or add local generation or flexibility"
    )


def clear_network_ac(scenario: Scenario, periods: tuple[int, ...] | None = None, grid: str = "wholesale",
                     rounds: int = 3, tol_pu: float = 1e-4, cancelled=None) -> tuple[NetworkSolution, dict]:
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
    for k in range(1, rounds + 1):
        sol = clear_network(s, periods, grid=grid, v_correction_pu=corr, cancelled=cancelled)
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
