"""The exact network model: the SOCP relaxation of the branch-flow (DistFlow) equations, and its DLMPs.

Farivar & Low (2013). On a radial feeder, per line ``j`` (from ``i = parent(j)``
into bus ``j``, series impedance ``z = r + jx`` on the child side of an ideal
transformer of ratio ``τ_j`` at the parent end) and period:

* ``P_j, Q_j`` — power sent into the line (after the transformer), p.u.;
* ``ℓ_j`` — the squared current magnitude; ``v_k`` — the squared voltage magnitude;
* real and reactive balance at bus ``j``, with its net injection ``p_j, q_j`` and
  its shunt ``g_j + j·b_j`` (line charging, magnetising branches)::

      P_j − r_j ℓ_j + p_j − g_j v_j = Σ_{c child of j} P_c                 (π_j: the DLMP)
      Q_j − x_j ℓ_j + q_j + b_j v_j = Σ_{c child of j} Q_c                 (reactive)

  and at the substation ``G^imp − G^exp + p_0 − g_0 v_0 = Σ_{c child of 0} P_c`` (λ: energy);
* Ohm's law along the line, ``v_j = w_j − 2(r_j P_j + x_j Q_j) + |z_j|² ℓ_j`` with
  ``w_j = v_i/τ_j²`` the voltage the line sees at its sending end;
* the power–current relation ``P_j² + Q_j² = w_j ℓ_j``, **relaxed to the cone**
  ``P_j² + Q_j² ≤ w_j ℓ_j`` (``‖(2P, 2Q, w − ℓ)‖ ≤ w + ℓ``): convex, and exact at the
  optimum on radial feeders under mild conditions (no reverse-flow-induced upper
  voltage limits binding with negative prices…). The **exactness gap**
  ``(w_j ℓ_j − P_j² − Q_j²)/(w_j ℓ_j)`` is reported per line and period; when it is not
  negligible the relaxation has drawn current for nothing (it "burns" power as
  phantom losses) and its prices are not the AC prices;
* ratings as the ampacity, ``ℓ_j ≤ (S^max_j/V_nom)²`` (the current is the same at both
  ends of the series impedance, whichever way the power flows; a bound, not a cone),
  and voltage limits ``v^min² ≤ v_k ≤ v^max²``; the substation at ``v_0 = V_set²``.

With the losses ``r·ℓ`` exact, the clearing is the AC optimal power flow of the
feeder (pandapower's ``runopp`` to a few hundredths of EUR/MWh, tested).

**DLMP and its parts.** The DLMP of bus ``k`` is the dual of its real balance,
the price of one more kWh withdrawn there. At an exact optimum the network's
optimality conditions are linear in their multipliers: with ``x = (P, Q, ℓ, v)``
the flow variables and ``J`` the Jacobian of the balances, Ohm's law and the
power–current equalities,

    Jᵀ·w = −λ·∇h_0 + Σ_lines μ_j·e_{ℓ_j} + Σ_buses (ν⁺_k − ν⁻_k)·e_{v_k}

(``w`` holds the DLMPs and the other equalities' multipliers; ``μ`` the rating duals,
``ν`` the voltage-limit duals). Solving it three times, with each group of terms
on the right alone, splits every DLMP into

    DLMP_k = λ                  energy (the substation's price)
           + (w^λ_k − λ)        loss: what delivering through the losses adds
           + w^μ_k              congestion: the rated lines
           + w^ν_k              voltage: the voltage limits

and :func:`clear_network_socp` checks that the parts add up to the solver's
balance duals (an independent check of both: the solver's duals against the
conditions they must satisfy).
"""

from __future__ import annotations

import time

import cvxpy as cp
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from core.errors import ClearingError
from core.network.topology import Radial, radial
from core.numerics import DECOMPOSITION_TOL, solve
from core.prosumer import FleetModel
from core.scenario.model import Scenario
from core.welfare import DPP_MAX_PARAMETER_ENTRIES, _parameter_entries, grid_prices

# Clarabel's iterative refinement costs 60 % of the solve here and changes the DLMPs by < 1e-6 EUR/kWh. A solve
# that stalls at the last digits ("almost solved") is kept: the exactness gap and the DLMP decomposition, which
# checks the duals against the optimality conditions, say whether it is good
SOLVER_OPTIONS: dict = {"iterative_refinement_enable": False}
EXACT_GAP = 1e-5  # relative: a relaxation this close to P² + Q² = w·ℓ on every line is exact (solver accuracy)


def _matrices(net: Radial):
    """Children (``Ch[k, c] = 1`` when ``parent(c) = k``, lines/buses 1…n−1) and parents (``Up[c, k] = 1``)."""
    n1 = net.n - 1
    par = net.parent[1:]
    has = par >= 1
    ch = sp.csr_matrix((np.ones(int(has.sum())), (par[has] - 1, np.flatnonzero(has))), shape=(n1, n1))
    up = ch.T.tocsr()
    root_child = (~has).astype(float)
    return ch, up, root_child


class BranchFlowProblem:
    """The welfare clearing with the exact branch-flow model, compiled once per feeder and fleet structure."""

    def __init__(self, scenario: Scenario, grid: str = "wholesale", periods: tuple[int, ...] | None = None):
        s = scenario
        self.grid = grid
        self.periods = tuple(range(s.periods)) if periods is None else tuple(periods)
        T = len(self.periods)
        self.net = net = radial(s)
        self.fleet = fleet = FleetModel(s, self.periods)
        n, n1 = net.n, net.n - 1
        base = net.base_kva
        dt = fleet.step_h
        self.ch, self.up, self.root_child = ch, up, root_child = _matrices(net)
        rows = [net.index[p.bus] for p in s.prosumers]
        B = sp.csr_matrix((np.ones(len(rows)), (rows, np.arange(len(rows)))), shape=(n, len(rows)))
        self.B = B
        r, x = net.r_pu[1:, None], net.x_pu[1:, None]
        tau2 = (net.tap[1:] ** 2)[:, None]
        g, b = net.g_sh_pu[1:, None], net.b_sh_pu[1:, None]
        v0sq = float(net.v0_pu**2)
        self.q_inj = cp.Parameter((n, T), name="reactive_injection_kvar")
        self.buy = cp.Parameter(T, name="grid_import_price")
        self.sell = cp.Parameter(T, name="grid_export_price")
        self.g_imp = cp.Variable(T, name="grid_import_kw")
        self.g_exp = cp.Variable(T, name="grid_export_kw")
        p = B @ fleet.q  # net injection per bus, kW
        self.p = p
        cons = [*fleet.constraints, self.g_imp >= 0, self.g_exp >= 0]
        self.P = self.Q = self.L = self.V = None
        self.rating = self.v_low = self.v_high = None
        g0 = float(net.g_sh_pu[0]) * v0sq  # the substation bus's own shunt draw (p.u.)
        if n1:
            self.P = P = cp.Variable((n1, T), name="p_flow_pu")
            self.Q = Q = cp.Variable((n1, T), name="q_flow_pu")
            self.L = L = cp.Variable((n1, T), nonneg=True, name="current_squared_pu")
            self.V = V = cp.Variable((n1, T), name="v_squared_pu")
            W = cp.multiply(1.0 / tau2, up @ V + v0sq * root_child[:, None])  # sending-end voltage²
            self.W = W
            root_out = cp.sum(cp.multiply(root_child[:, None], P), axis=0)  # Σ over the substation's lines
            # balances in p.u. (well scaled for the solver); their duals are per p.u.·h: ÷ (base·Δt) per kWh
            self.balance = P - cp.multiply(r, L) - cp.multiply(g, V) - ch @ P + p[1:] / base == 0
            self.root = (self.g_imp - self.g_exp + p[0]) / base - (root_out + g0) == 0
            self.reactive = (Q - cp.multiply(x, L) + cp.multiply(b, V) - ch @ Q) + self.q_inj[1:] / base == 0
            z2 = r**2 + x**2
            self.ohm = V == W - 2 * (cp.multiply(r, P) + cp.multiply(x, Q)) + cp.multiply(z2, L)
            flat = lambda e: cp.reshape(e, (1, n1 * T), order="C")  # noqa: E731
            self.cone = cp.SOC(
                cp.reshape(W + L, (n1 * T,), order="C"), cp.vstack([flat(2 * P), flat(2 * Q), flat(W - L)]), axis=0
            )
            cons += [self.balance, self.root, self.reactive, self.ohm, self.cone]
            vmin, vmax = net.v_min_pu[1:, None] ** 2, net.v_max_pu[1:, None] ** 2
            self.v_low = V >= vmin * np.ones((1, T))
            self.v_high = V <= vmax * np.ones((1, T))
            cons += [self.v_low, self.v_high]
            rated = np.flatnonzero(np.isfinite(net.rating_pu[1:]))
            self.rated = rated
            self.rating = None
            if rated.size:
                # the ampacity: the current (the same at both ends of the series impedance) within the rating at
                # nominal voltage, ℓ ≤ (S^max/V_nom)² — a bound, not a cone
                imax2 = (net.rating_pu[1:][rated] ** 2)[:, None] * np.ones((1, T))
                self.rating = L[rated] <= imax2
                cons.append(self.rating)
        else:
            self.root = (self.g_imp - self.g_exp + p[0]) / base - g0 == 0
            cons.append(self.root)
        grid_cost = dt * (self.buy @ self.g_imp - self.sell @ self.g_exp)
        self.problem = cp.Problem(cp.Maximize(fleet.value - fleet.cost - grid_cost), cons)
        self.update(s)

    def update(self, s: Scenario) -> None:
        """Load the numbers of ``s`` (same feeder and fleet structure) into the compiled problem."""
        self.scenario = s
        self.fleet.update(s)
        from core.pricing import _reactive

        self.q_inj.value = _reactive(s, self.net, self.periods)  # fixed reactive demand; DERs at unity pf
        buy, sell = grid_prices(s, self.periods, self.grid)
        self.buy.value, self.sell.value = buy, sell

    def solve(self, cancelled=None):
        from core.pricing import NetworkSolution

        if cancelled is not None and cancelled():
            from core.errors import Cancelled

            raise Cancelled
        t0 = time.perf_counter()
        from core.pricing import _infeasible_reason

        # the SciPy canonicalisation backend: cvxpy's default one fails on this model's parameter products
        solve(
            self.problem,
            "the exact (SOCP) network clearing",
            reason=lambda status: _infeasible_reason(status, self.scenario, self.net, self.periods),
            warm_start=False,
            canon_backend=cp.SCIPY_CANON_BACKEND,
            ignore_dpp=_parameter_entries(self.problem) > DPP_MAX_PARAMETER_ENTRIES,
            **SOLVER_OPTIONS,
        )
        elapsed = time.perf_counter() - t0
        net, fleet, s = self.net, self.fleet, self.scenario
        T, n, base = len(self.periods), net.n, net.base_kva
        q = np.asarray(fleet.q.value, dtype=float).reshape(len(fleet.ids), T)
        p_kw = np.asarray(self.B @ q).reshape(n, T)
        per_kwh = 1.0 / (base * self.fleet.step_h)  # the balances are in p.u.: their duals per p.u.·h
        lam = -per_kwh * np.asarray(self.root.dual_value, dtype=float).reshape(T)
        v = np.full((n, T), net.v0_pu**2)
        flow_p = np.zeros((n, T))
        flow_q = np.zeros((n, T))
        ell = np.zeros((n, T))
        dlmp = np.repeat(lam[None, :], n, axis=0)
        parts = {k: np.zeros((n, T)) for k in ("loss", "congestion", "voltage")}
        gap = np.zeros((n, T))
        err = 0.0
        if n > 1:
            v[1:] = np.asarray(self.V.value)
            flow_p[1:], flow_q[1:] = np.asarray(self.P.value), np.asarray(self.Q.value)
            ell[1:] = np.clip(np.asarray(self.L.value), 0.0, None)
            dlmp[1:] = -per_kwh * np.asarray(self.balance.dual_value, dtype=float).reshape(n - 1, T)
            w = np.asarray(self.W.value)
            # relative to the period's largest w·ℓ (a line carrying almost nothing would make any noise large)
            scale = np.maximum((w * ell[1:]).max(axis=0, keepdims=True), 1e-12)
            gap[1:] = (w * ell[1:] - flow_p[1:] ** 2 - flow_q[1:] ** 2) / scale
            recon = self._decompose(lam, v, flow_p, flow_q, ell, w, parts)
            err = float(np.max(np.abs(recon - dlmp))) if recon.size else 0.0
        energy = np.repeat(lam[None, :], n, axis=0)
        loss_kw = base * (net.r_pu[:, None] * ell).sum(axis=0) + base * (net.g_sh_pu[:, None] * v).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            loading = 100.0 * np.sqrt(ell) / net.rating_pu[:, None]  # current over the ampacity
        loading[0] = np.nan
        loading[~np.isfinite(net.rating_pu)] = np.nan
        bus_of = np.array([net.index[pr.bus] for pr in s.prosumers], dtype=int)
        step = s.horizon.step_h
        payment = -(q * dlmp[bus_of]).sum(axis=1) * step if len(bus_of) else np.zeros(0)
        g_imp = np.asarray(self.g_imp.value).reshape(T)
        g_exp = np.asarray(self.g_exp.value).reshape(T)
        net_import = g_imp - g_exp
        sol = NetworkSolution(
            model="socp",
            net=net,
            periods=self.periods,
            ids=list(fleet.ids),
            trade_kw=q,
            der_kw=fleet.der_kw(),
            flexible_kw=fleet.flexible_kw(),
            cost=fleet.per_agent_cost(s),
            value=fleet.per_agent_value(s),
            payment=payment,
            injection_kw=p_kw,
            dlmp=dlmp,
            energy=energy,
            loss=parts["loss"],
            congestion=parts["congestion"],
            voltage=parts["voltage"],
            v_pu=np.sqrt(np.clip(v, 0.0, None)),
            flow_kw=base * flow_p,
            flow_kvar=base * flow_q,
            loading_pct=loading,
            loss_kw=loss_kw,
            grid_import_kw=np.clip(net_import, 0, None),
            grid_export_kw=np.clip(-net_import, 0, None),
            welfare=float(self.problem.value),
            iterations=1,
            decomposition_error=err,
            solve_time_s=elapsed,
            charge_kw=fleet.charge_kw(),
            line_loss_kw=base * net.r_pu[:, None] * ell,
            exactness_gap=gap,
        )
        sol.checks.update(exactness_gap=float(np.max(np.abs(gap))) if gap.size else 0.0)
        return sol

    def _decompose(self, lam, v, P, Q, L, W, parts) -> np.ndarray:
        """The DLMP's parts from the optimality conditions (module text); returns their sum (buses × periods).

        One sparse system for every period at once (they are independent here: block diagonal), three
        right-hand sides (energy, voltage, congestion).
        """
        net, T, n1 = self.net, len(self.periods), self.net.n - 1
        dt, base = self.fleet.step_h, net.base_kva
        r, x, g, b = net.r_pu[1:], net.x_pu[1:], net.g_sh_pu[1:], net.b_sh_pu[1:]
        tau2 = net.tap[1:] ** 2
        z2 = r**2 + x**2
        nu = np.asarray(self.v_high.dual_value, dtype=float).reshape(n1, T) - np.asarray(
            self.v_low.dual_value, dtype=float
        ).reshape(n1, T)
        mu = np.zeros((n1, T))
        if self.rating is not None:
            mu[self.rated] = np.asarray(self.rating.dual_value, dtype=float).reshape(self.rated.size, T)
        Pt, Qt, Lt = P[1:].T, Q[1:].T, L[1:].T  # periods × lines
        Wt = W.T
        j = np.arange(n1)
        par = net.parent[1:] - 1  # the parent line/bus of each (−1: the substation)
        kid = np.flatnonzero(par >= 0)  # lines whose parent is not the substation
        one = np.ones((T, n1))
        # (row block, column block, rows, columns, values per period) of J: rows bal, rea, ohm, pq; cols P, Q, ℓ, v
        entries = [
            (0, 0, j, j, base * dt * one),
            (0, 0, par[kid], kid, -base * dt * one[:, kid]),
            (0, 2, j, j, -base * dt * r * one),
            (0, 3, j, j, -base * dt * g * one),
            (1, 1, j, j, one),
            (1, 1, par[kid], kid, -one[:, kid]),
            (1, 2, j, j, -x * one),
            (1, 3, j, j, b * one),
            (2, 0, j, j, 2 * r * one),
            (2, 1, j, j, 2 * x * one),
            (2, 2, j, j, -z2 * one),
            (2, 3, j, j, one),
            (2, 3, kid, par[kid], -(1.0 / tau2[kid]) * one[:, kid]),
            (3, 0, j, j, 2 * Pt),
            (3, 1, j, j, 2 * Qt),
            (3, 2, j, j, -Wt),
            (3, 3, kid, par[kid], -Lt[:, kid] / tau2[kid]),
        ]
        size = 4 * n1
        offset = (np.arange(T) * size)[:, None]
        rows = np.concatenate([(rb * n1 + rr)[None, :] + offset for rb, _, rr, _, _ in entries], axis=1).ravel()
        cols = np.concatenate([(cb * n1 + cc)[None, :] + offset for _, cb, _, cc, _ in entries], axis=1).ravel()
        vals = np.concatenate([vv for *_, vv in entries], axis=1).ravel()
        JT = sp.csc_matrix((vals, (cols, rows)), shape=(size * T, size * T))  # Jᵀ
        rhs = np.zeros((T, 3, size))
        root = self.root_child > 0
        rhs[:, 0, :n1][:, root] = (lam[:, None] * base * dt) * np.ones((T, int(root.sum())))
        rhs[:, 1, 3 * n1 :] = nu.T
        rhs[:, 2, 2 * n1 : 3 * n1] = mu.T  # ℓ ≤ I^max²
        sol = spla.splu(JT).solve(np.ascontiguousarray(rhs.transpose(0, 2, 1).reshape(T * size, 3)))
        w = sol.reshape(T, size, 3)[:, :n1, :]  # the DLMP rows
        parts["loss"][1:] = (w[:, :, 0] - lam[:, None]).T
        parts["voltage"][1:] = w[:, :, 1].T
        parts["congestion"][1:] = w[:, :, 2].T
        total = np.zeros((n1 + 1, T))
        total[0] = lam
        total[1:] = w.sum(axis=2).T
        return total


def clear_network_socp(
    scenario: Scenario,
    periods: tuple[int, ...] | None = None,
    grid: str = "wholesale",
    cancelled=None,
    problem: BranchFlowProblem | None = None,
):
    """The welfare clearing on the exact branch-flow model (module text): a :class:`~core.pricing.NetworkSolution`
    with ``model="socp"``, its DLMPs decomposed, and ``checks["exactness_gap"]``."""
    bf = problem if problem is not None else BranchFlowProblem(scenario, grid, periods)
    if problem is not None:
        bf.update(scenario)
    sol = bf.solve(cancelled)
    top = float(np.max(np.abs(sol.dlmp))) if sol.dlmp.size else 0.0
    if sol.decomposition_error > DECOMPOSITION_TOL * max(1.0, top) and sol.checks["exactness_gap"] <= EXACT_GAP:
        raise ClearingError(
            "decomposition",
            f"the exact (SOCP) DLMPs' parts do not add up to the bus balance's dual "
            f"(largest gap {sol.decomposition_error:.3g} per kWh): a numerical failure",
        )
    return sol
