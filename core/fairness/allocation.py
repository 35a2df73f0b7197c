"""The fairness rules (efficiency, proportional, max-min) as allocations over the welfare clearing's feasible set."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.errors import ClearingError
from core.fairness.measures import FAIRNESS_RULES, FLOORS_REFINED, LEXICOGRAPHIC_ROUNDS, REGULARISER
from core.numerics import solve
from core.prosumer import FleetModel, trade_bounds
from core.scenario.model import STORAGE_KINDS, Scenario
from core.welfare import WelfareSolution, grid_prices, outside_option, solve_welfare


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
