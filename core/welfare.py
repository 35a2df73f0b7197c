"""Welfare and the shadow price ("The Economic Principle of Transactive Energy").

The social planner chooses every DER's output ``p`` and flexible load ``f`` to

    max  Σ_i U_i(f_i) − Σ_i C_i(p_i) − Σ_t Δt·(c^buy_t·G^imp_t − c^sell_t·G^exp_t)
    s.t. Σ_i q_{i,t} + G^imp_t − G^exp_t = 0        (λ_t)   for every period t
         each prosumer's feasible set (core.prosumer)

where ``q_{i,t} = η_i p_{i,t} − d_{i,t} − f_{i,t}`` is prosumer i's net trade
and the grid is the outside option: the community imports ``G^imp`` at
``c^buy`` (the retail import tariff) and exports ``G^exp`` at ``c^sell`` (the
feed-in tariff), or both at the wholesale price. The **shadow price** λ_t is
read from the balance constraint's dual (as PyPSA reads prices from named
constraints). With strictly convex costs and strictly concave values, every
agent that is not at a limit has ``C'_i(p) = η_i λ`` and ``U'_i(f) = λ``.

**Decentralised check**: at λ, each agent alone solves
``max U_i − C_i + Δt·Σ_t λ_t q_{i,t}`` over its own feasible set; the chapter's
claim is that the sum of their answers is the planner's solution.
:func:`price_response` solves all the agents' problems at once (they are
separable) and :class:`WelfareSolution` reports the gap.

**Price iteration** (tâtonnement, projected dual ascent): the auctioneer
announces λ, collects the agents' responses, and moves each period's price
against the excess supply, ``λ_t ← Π[λ_t − α_t·Σ_i q_{i,t}(λ)]`` on
``[c^sell_t, c^buy_t]``, with a secant estimate of each period's slope for
``α_t``. :func:`tatonnement` returns the whole trace.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import cvxpy as cp
import numpy as np

from core.numerics import SOLVER  # noqa: F401 - re-exported: the project's solver
from core.numerics import solve as _solve_checked
from core.prosumer import FleetModel
from core.scenario.model import STORAGE_KINDS, Scenario


def grid_prices(s: Scenario, periods: tuple[int, ...], grid: str = "tariffs") -> tuple[np.ndarray, np.ndarray]:
    """(import price, export price) per period, currency/kWh: the tariffs or the wholesale price."""
    if grid == "wholesale":
        w = np.array([s.feeder.substation.wholesale_price_per_kwh[t] for t in periods])
        return w, w.copy()
    if grid != "tariffs":
        raise ValueError(f"grid prices must be 'tariffs' or 'wholesale', got {grid!r}")
    buy = np.array([s.tariffs.retail_import_price_per_kwh[t] for t in periods])
    sell = np.array([s.tariffs.feed_in_price_per_kwh[t] for t in periods])
    return buy, sell


# cvxpy's DPP compiler densifies a (variables × parameter entries) matrix for quadratic objectives
# (39 GiB on the 1,000-bus day); above this many parameter entries, problems are compiled from the
# current values at every solve instead (about a second there), below it they re-solve in milliseconds.
DPP_MAX_PARAMETER_ENTRIES = 40_000


def _parameter_entries(problem: cp.Problem) -> int:
    return sum(p.size for p in problem.parameters())


def _solve(problem: cp.Problem, what: str) -> float:
    dpp = _parameter_entries(problem) <= DPP_MAX_PARAMETER_ENTRIES
    # cold starts: the same problem gives the same digits whatever this process solved before
    return _solve_checked(problem, what, ignore_dpp=not dpp, warm_start=False)


@dataclass
class WelfareSolution:
    """The planner's optimum: dispatch, trades, prices, and each agent's money (arrays: agents × periods)."""

    periods: tuple[int, ...]
    ids: list[str]
    price_per_kwh: np.ndarray  # λ_t
    trade_kw: np.ndarray  # q_{i,t}
    der_kw: np.ndarray  # p_{i,t}
    flexible_kw: np.ndarray  # f_{i,t}
    grid_import_kw: np.ndarray
    grid_export_kw: np.ndarray
    welfare: float  # objective: value − cost − net grid cost (currency)
    cost: np.ndarray  # per agent (currency)
    value: np.ndarray  # per agent
    payment: np.ndarray  # per agent: what it pays the market, Σ_t λ_t·(−q)·Δt (negative: receives)
    step_h: float
    solve_time_s: float
    status: str = "optimal"
    price_lo_per_kwh: np.ndarray | None = None  # every price in [lo_t, hi_t] supports the same allocation
    price_hi_per_kwh: np.ndarray | None = None
    charge_kw: np.ndarray | None = None  # storage charging into the cells (der_kw is discharge − charge)
    extras: dict = field(default_factory=dict)

    @property
    def surplus(self) -> np.ndarray:
        """Each agent's surplus: value − cost − payment (currency)."""
        return self.value - self.cost - self.payment


class WelfareProblem:
    """The planner's problem, compiled once; :meth:`solve` after :meth:`update` re-solves fast."""

    def __init__(self, scenario: Scenario, periods: tuple[int, ...] | None = None, grid: str = "tariffs"):
        self.fleet = FleetModel(scenario, periods)
        self.grid = grid
        T = self.fleet.T
        self.buy = cp.Parameter(T, name="grid_import_price")
        self.sell = cp.Parameter(T, name="grid_export_price")
        self.g_imp = cp.Variable(T, name="grid_import_kw")
        self.g_exp = cp.Variable(T, name="grid_export_kw")
        f = self.fleet
        # balance in kWh per period, so that its dual is a price per kWh
        self.balance = f.step_h * (cp.sum(f.q, axis=0) + self.g_imp - self.g_exp) == 0
        grid_cost = f.step_h * (self.buy @ self.g_imp - self.sell @ self.g_exp)
        self.problem = cp.Problem(
            cp.Maximize(f.value - f.cost - grid_cost), [*f.constraints, self.balance, self.g_imp >= 0, self.g_exp >= 0]
        )
        self.update(scenario)

    def fits(self, scenario: Scenario, periods=None, grid: str = "tariffs") -> bool:
        return grid == self.grid and self.fleet.fits(scenario, periods)

    def update(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.fleet.update(scenario)
        buy, sell = grid_prices(scenario, self.fleet.periods, self.grid)
        self.buy.value, self.sell.value = buy, sell

    def solve(self) -> WelfareSolution:
        t0 = time.perf_counter()
        welfare = _solve(self.problem, "the welfare-maximising clearing")
        elapsed = time.perf_counter() - t0
        f, s = self.fleet, self.scenario
        dual = -np.asarray(self.balance.dual_value, dtype=float).reshape(f.T)
        lo, hi = price_intervals(self, dual)
        # the middle of the supporting interval (where it is one price, the dual itself)
        lam = np.where(hi - lo > PRICE_TOL * (1.0 + np.abs(dual)), 0.5 * (lo + hi), dual)
        q = np.asarray(f.q.value, dtype=float).reshape(len(f.ids), f.T)
        step = s.horizon.step_h
        return WelfareSolution(
            periods=f.periods,
            ids=list(f.ids),
            price_per_kwh=lam,
            trade_kw=q,
            der_kw=f.der_kw(),
            flexible_kw=f.flexible_kw(),
            grid_import_kw=np.clip(np.asarray(self.g_imp.value).reshape(f.T), 0.0, None),
            grid_export_kw=np.clip(np.asarray(self.g_exp.value).reshape(f.T), 0.0, None),
            welfare=float(welfare),
            cost=f.per_agent_cost(s),
            value=f.per_agent_value(s),
            payment=-(q * lam[None, :]).sum(axis=1) * step,
            step_h=step,
            solve_time_s=elapsed,
            status=self.problem.status,
            price_lo_per_kwh=lo,
            price_hi_per_kwh=hi,
            charge_kw=f.charge_kw(),
            extras={"dual_price_per_kwh": dual, "storage_burn_kwh": f.storage_burn_kwh()},
        )


PRICE_TOL = 1e-7  # relative: supporting intervals narrower than this are one price (solver noise)
BOUND_TOL = 1e-4  # relative to the range: a dispatch this close to a bound is at it (interior-point accuracy)


def price_intervals(problem: WelfareProblem, dual: np.ndarray, raw: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``[lo_t, hi_t]``: the prices of period t at which the planner's allocation is still every agent's best
    answer, all other multipliers held (the periods' intervals then combine freely: each agent's own
    optimality conditions keep holding with the same multipliers on its storage and ramp).

    Each agent-period is its own problem once the constraints linking periods are priced
    (:meth:`core.prosumer.FleetModel.coupling_kw`, ``θ``). An output ``p`` strictly inside its limits
    pins the price: ``λ = (C'(p) − θ)/η`` (a storage charging: ``λ = η·(C'(p) − θ)`` with ``C'`` its
    slope there); at its upper limit it only needs ``λ ≥`` that, at its lower limit ``λ ≤``; an idle
    storage stays idle for ``η·(−θ − b) ≤ λ ≤ (b − θ)/η``. A flexible load ``f`` inside ``[0, f^max]``
    pins ``λ = U'(f)``, at 0 needs ``λ ≥ U'(0)``, at ``f^max`` ``λ ≤ U'(f^max)``. The grid pins
    ``λ`` to the import price when the community imports (to the export price when it exports), and
    otherwise keeps it within them. Where the conditions meet in one point (or cross by solver noise)
    the interval is the dual ``dual`` itself (``raw``: the conditions as they are, for tests).
    """
    f, s = problem.fleet, problem.scenario
    T = f.T
    lo = np.full(T, -np.inf)
    hi = np.full(T, np.inf)

    def at_least(mask, value):
        v = np.where(mask, value, -np.inf)
        np.maximum(lo, v.max(axis=0) if v.ndim > 1 else v, out=lo)

    def at_most(mask, value):
        v = np.where(mask, value, np.inf)
        np.minimum(hi, v.min(axis=0) if v.ndim > 1 else v, out=hi)

    buy, sell = np.asarray(problem.buy.value, dtype=float), np.asarray(problem.sell.value, dtype=float)
    g_imp, g_exp = np.asarray(problem.g_imp.value, dtype=float), np.asarray(problem.g_exp.value, dtype=float)
    scale = 1.0 + np.abs(np.sum(np.abs(np.asarray(f.q.value))), dtype=float) / max(1, T)
    tol_g = BOUND_TOL * scale
    at_least(g_imp > tol_g, buy)
    at_most(np.ones(T, bool), buy)
    at_most(g_exp > tol_g, sell)
    at_least(np.ones(T, bool), sell)
    if f.der:
        assets = [s.prosumers[i].asset for i in f.der]
        P = np.asarray(f.P.value, dtype=float)
        plo, phi = np.asarray(f.p_lo.value, dtype=float), np.asarray(f.p_hi.value, dtype=float)
        theta = f.coupling_kw()
        a = np.array([[x.cost_a_per_kw2h] for x in assets])
        eta = np.array([[x.efficiency] for x in assets])
        storage = np.zeros((len(assets), 1), dtype=bool)
        storage[f.storage] = True
        b = np.array([[x.cost_b_per_kwh] for x in assets])
        b = np.where(storage, np.maximum(b, 0.0), b)
        tol = BOUND_TOL * (1.0 + np.abs(phi) + np.abs(plo))
        at_lo, at_hi = P <= plo + tol, P >= phi - tol
        fixed = at_lo & at_hi  # nowhere to go: says nothing about the price
        # producing (every DER, and a storage discharging): λ·η = 2a·p + b − θ
        out = ~storage | (P > tol)
        mc = (2 * a * P + b - theta) / eta
        at_least(out & ~fixed & ~at_lo, mc)  # it could produce less and does not want to
        at_most(out & ~fixed & ~at_hi, mc)  # it could produce more and does not want to
        # a storage charging: λ/η = 2a·p − b − θ (p < 0)
        chg = storage & (P < -tol)
        mv = eta * (2 * a * P - b - theta)
        at_least(chg & ~fixed & ~at_lo, mv)
        at_most(chg & ~fixed & ~at_hi, mv)
        # an idle storage: neither discharging (λ ≤ (b − θ)/η) nor charging (λ ≥ −η(b + θ)) pays
        idle = storage & ~out & ~chg
        at_most(idle & (phi > tol), (b - theta) / eta)
        at_least(idle & (plo < -tol), -eta * (b + theta))
    if f.flex:
        fl = [s.prosumers[i].flexible for i in f.flex]
        F = np.asarray(f.F.value, dtype=float)
        fmax = np.asarray(f.f_hi.value, dtype=float)
        av = np.array([[x.value_a_per_kw2h] for x in fl])
        bv = np.array([[x.value_b_per_kwh] for x in fl])
        tol = BOUND_TOL * (1.0 + fmax)
        mv = bv - 2 * av * F
        none, full = F <= tol, F >= fmax - tol
        can = fmax > tol
        at_least(can & ~full, mv)  # it could take more and does not want to
        at_most(can & ~none, mv)  # it could take less and does not want to
    if raw:
        return lo, hi
    noise = PRICE_TOL * (1.0 + np.abs(dual))
    bad = (hi < lo) | (dual < lo - 1e3 * noise) | (dual > hi + 1e3 * noise) | ~np.isfinite(lo) | ~np.isfinite(hi)
    lo = np.where(bad, dual, lo)
    hi = np.where(bad, dual, hi)
    return lo, hi


def solve_welfare(scenario: Scenario, periods: tuple[int, ...] | None = None, grid: str = "tariffs") -> WelfareSolution:
    """The welfare-maximising clearing and its shadow prices (compiles a fresh problem)."""
    return WelfareProblem(scenario, periods, grid).solve()


# ---------------------------------------------------------------------------
# each agent alone at given prices
# ---------------------------------------------------------------------------


class PriceResponse:
    """Every agent's own problem at announced prices, all at once (they are independent).

    Agent i maximises ``U_i − C_i + Δt·Σ_t (sell_t·s_{i,t} − buy_t·b_{i,t})`` with
    ``q_i = s_i − b_i``, ``s, b ≥ 0``: it sells at ``sell_t`` and buys at
    ``buy_t`` (``sell ≤ buy``). At one price λ for both it is the chapter's
    profit / net-utility maximisation; at the tariffs it is the agent's outside
    option (trading with the grid alone).
    """

    def __init__(self, scenario: Scenario, periods: tuple[int, ...] | None = None):
        self.fleet = f = FleetModel(scenario, periods)
        nA, T = len(f.ids), f.T
        self.sell_price = cp.Parameter(T, name="sell_price")
        self.buy_price = cp.Parameter(T, name="buy_price")
        self.s = cp.Variable((nA, T), nonneg=True, name="sold_kw")
        self.b = cp.Variable((nA, T), nonneg=True, name="bought_kw")
        money = f.step_h * (cp.sum(self.s @ self.sell_price) - cp.sum(self.b @ self.buy_price))
        self.problem = cp.Problem(cp.Maximize(f.value - f.cost + money), [*f.constraints, f.q == self.s - self.b])
        self.scenario = scenario

    def update(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.fleet.update(scenario)

    def solve(self, sell_price, buy_price=None) -> tuple[np.ndarray, np.ndarray]:
        """(net trades q, surplus per agent) at the prices (buy defaults to sell: one price)."""
        sell = np.asarray(sell_price, dtype=float).reshape(self.fleet.T)
        buy = sell if buy_price is None else np.asarray(buy_price, dtype=float).reshape(self.fleet.T)
        if np.any(sell > buy + 1e-12):
            raise ValueError("the selling price may not exceed the buying price (arbitrage)")
        self.sell_price.value, self.buy_price.value = sell, buy
        _solve(self.problem, "the agents' price response")
        f = self.fleet
        q = np.asarray(f.q.value, dtype=float).reshape(len(f.ids), f.T)
        step = self.scenario.horizon.step_h
        money = step * (np.asarray(self.s.value) @ sell - np.asarray(self.b.value) @ buy)
        surplus = f.per_agent_value(self.scenario) - f.per_agent_cost(self.scenario) + money
        return q, surplus


def price_response(scenario: Scenario, prices, periods=None) -> np.ndarray:
    """Each agent's net trade (agents × periods, kW) when it faces ``prices`` alone."""
    return PriceResponse(scenario, periods).solve(prices)[0]


def respond(scenario: Scenario, sell, buy=None, periods=None, solver=None) -> tuple[np.ndarray, np.ndarray]:
    """Every agent's own answer to ``sell``/``buy`` (currency/kWh per period; ``buy`` defaults to ``sell``):
    (net trades q, agents × periods kW; surplus per agent), as :meth:`PriceResponse.solve` gives them.

    The agents whose periods are independent (:func:`separable`) are answered in closed form
    (:func:`separable_response`); only the others (storage, ramp limits) go to a solver: a
    :class:`PriceResponse` of them, or ``solver(scenario_of_them)``, a context manager giving one (a cache's).
    """
    periods = tuple(range(scenario.periods)) if periods is None else tuple(periods)
    T = len(periods)
    sell = np.asarray(sell, dtype=float).reshape(T)
    buy = sell if buy is None else np.asarray(buy, dtype=float).reshape(T)
    if np.any(sell > buy + 1e-12):
        raise ValueError("the selling price may not exceed the buying price (arbitrage)")
    n = len(scenario.prosumers)
    q, surplus = np.zeros((n, T)), np.zeros(n)
    simple = [i for i, p in enumerate(scenario.prosumers) if separable(p, T)]
    if simple:
        q[simple], surplus[simple] = separable_response(
            [scenario.prosumers[i] for i in simple], periods, scenario.horizon.step_h, sell, buy
        )
    rest = sorted(set(range(n)) - set(simple))
    if rest:
        few = replace(scenario, prosumers=tuple(scenario.prosumers[i] for i in rest), validate=False)
        if solver is None:
            q[rest], surplus[rest] = PriceResponse(few, periods).solve(sell, buy)
        else:
            with solver(few) as response:
                q[rest], surplus[rest] = response.solve(sell, buy)
    return q, surplus


def outside_option(scenario: Scenario, periods=None, response: PriceResponse | None = None, solver=None) -> np.ndarray:
    """Each agent's surplus trading with the grid alone at the tariffs (currency): its outside option.

    ``response``: a :class:`PriceResponse` of this scenario and these periods to re-use (compiled once): every
    agent is then solved in it. Without one, :func:`respond` (closed form where the agent's periods are
    independent; ``solver`` as there).
    """
    periods = tuple(range(scenario.periods)) if periods is None else tuple(periods)
    buy, sell = grid_prices(scenario, periods)
    if response is not None:
        return response.solve(sell, buy)[1]
    return respond(scenario, sell, buy, periods, solver)[1]


def separable(prosumer, periods: int) -> bool:
    """True when the agent's periods are independent problems: no storage and no ramp limit linking them."""
    a = prosumer.asset
    if a is None:
        return True
    if a.kind in STORAGE_KINDS:
        return False
    return a.ramp_kw_per_period is None or periods <= 1


def separable_surplus(prosumers, periods: tuple[int, ...], step_h: float, sell, buy) -> np.ndarray:
    """The surplus of :func:`separable_response`."""
    return separable_response(prosumers, periods, step_h, sell, buy)[1]


def separable_response(prosumers, periods: tuple[int, ...], step_h: float, sell, buy) -> tuple[np.ndarray, np.ndarray]:
    """(net trades, agents × periods kW; surplus per agent) of agents whose periods are independent
    (:func:`separable`) facing ``buy`` ≥ ``sell`` (currency/kWh per period) alone, in closed form — the
    :class:`PriceResponse` optimum without a solver.

    In a period an agent chooses its DER output ``P ∈ [P_lo, P_hi]`` (cost ``a·P² + b·P``, ``η·P`` at the meter)
    and its flexible load ``F ∈ [0, F_hi]`` (value ``b_v·F − a_v·F²``) against its fixed demand ``d``. Valued
    at a price π of energy at the meter, ``L(π) = max_{P,F} −C(P) + V(F) + π·(η·P − d − F)``, and its net trade
    ``q(π)`` rises with π. The agent sells at ``sell`` when even there it has energy to spare (``q(sell) ≥ 0``),
    buys at ``buy`` when even there it is short (``q(buy) < 0``), and otherwise balances itself at the π in
    between where ``q`` crosses 0 — where buying and selling cost nothing, so its surplus is ``L(π)`` too.
    ``L`` is convex and continuous in π, so π found by bisection gives the surplus to rounding.
    """
    n, T = len(prosumers), len(periods)
    sell = np.broadcast_to(np.asarray(sell, dtype=float), (n, T))
    buy = np.broadcast_to(np.asarray(buy, dtype=float), (n, T))
    d = np.array([[p.demand_kw[t] for t in periods] for p in prosumers]).reshape(n, T)
    hi = np.zeros((n, T))
    lo = np.zeros((n, T))
    eta = np.ones((n, 1))
    a = np.zeros((n, 1))
    b = np.zeros((n, 1))
    fhi = np.zeros((n, T))
    av = np.zeros((n, 1))
    bv = np.zeros((n, 1))
    for i, p in enumerate(prosumers):
        if p.asset is not None:
            x = p.asset
            hi[i] = [x.p_max_at(t) for t in periods]
            lo[i] = np.minimum(x.p_min_kw, hi[i])
            eta[i], a[i], b[i] = x.efficiency, x.cost_a_per_kw2h, x.cost_b_per_kwh
        if p.flexible is not None:
            f = p.flexible
            fhi[i] = [f.d_max_kw[t] for t in periods]
            av[i], bv[i] = f.value_a_per_kw2h, f.value_b_per_kwh

    def best(pi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The output and the flexible load that maximise L at π (ties at the middle of the interval)."""
        slope = pi * eta - b  # d/dP of −b·P + π·η·P
        with np.errstate(divide="ignore", invalid="ignore"):
            interior = np.where(a > 0, slope / (2 * a), np.where(slope > 0, hi, np.where(slope < 0, lo, (lo + hi) / 2)))
            flex = np.where(av > 0, (bv - pi) / (2 * av), np.where(bv > pi, fhi, np.where(bv < pi, 0.0, fhi / 2)))
        return np.clip(interior, lo, hi), np.clip(flex, 0.0, fhi)

    def net(pi: np.ndarray) -> np.ndarray:
        P, F = best(pi)
        return eta * P - d - F

    # π: buy when short even at the buying price, sell when long even at the selling price, else where q = 0
    left, right = sell.copy(), buy.copy()
    for _ in range(80):
        mid = (left + right) / 2
        short = net(mid) < 0
        left, right = np.where(short, mid, left), np.where(short, right, mid)
    pi = np.where(net(buy) < 0, buy, np.where(net(sell) >= 0, sell, right))
    P, F = best(pi)
    q = eta * P - d - F
    balanced = (pi > sell) & (pi < buy)  # self-sufficient at an inner π: trades nothing (up to the bisection)
    value = -(a * P**2 + b * P) + (bv * F - av * F**2) + pi * q
    return np.where(balanced, 0.0, q), step_h * value.sum(axis=1)


def decentralised_gap(
    solution: WelfareSolution, scenario: Scenario, response: PriceResponse | None = None, solver=None
) -> dict[str, float]:
    """How far the agents' own answers at λ are from the planner's (chapter: they coincide).

    ``max_trade_gap_kw``: the largest |q_i(λ) − q*_i| over agents and periods;
    ``max_imbalance_kw``: the largest |Σ_i q_i(λ) + G^imp − G^exp| over periods.
    """
    if response is not None:
        q = response.solve(solution.price_per_kwh)[0]
    else:
        q = respond(scenario, solution.price_per_kwh, periods=solution.periods, solver=solver)[0]
    imbalance = q.sum(axis=0) + solution.grid_import_kw - solution.grid_export_kw
    return {
        "max_trade_gap_kw": float(np.max(np.abs(q - solution.trade_kw))) if q.size else 0.0,
        "max_imbalance_kw": float(np.max(np.abs(imbalance))) if imbalance.size else 0.0,
    }


# ---------------------------------------------------------------------------
# tâtonnement
# ---------------------------------------------------------------------------


@dataclass
class PriceTrace:
    """The price iteration: prices and excess supply after each round."""

    prices: np.ndarray  # iterations × periods
    excess_kw: np.ndarray  # iterations × periods: Σ_i q_i(λ) − (grid's share at a bound)
    converged: bool
    iterations: int
    tolerance: float

    @property
    def final(self) -> np.ndarray:
        return self.prices[-1]


def tatonnement(
    scenario: Scenario,
    periods=None,
    grid: str = "tariffs",
    tol: float = 1e-4,
    max_iter: int = 200,
    start=None,
    progress=None,
    cancelled=None,
    response: PriceResponse | None = None,
) -> PriceTrace:
    """Projected dual ascent on λ (see the module text); stops when no price moves more than ``tol``.

    ``progress(k, max_iter)`` is called each round; ``cancelled()`` returning
    True stops early (the trace so far is returned, ``converged`` False).
    ``response``: a :class:`PriceResponse` of this scenario and periods to re-use.
    """
    periods = tuple(range(scenario.periods)) if periods is None else tuple(periods)
    hi, lo = grid_prices(scenario, periods, grid)
    resp = response or PriceResponse(scenario, periods)
    lam = np.clip((lo + hi) / 2 if start is None else np.asarray(start, dtype=float), lo, hi)
    prices, excess = [], []
    step = np.full(lam.shape, 1e-3)
    prev_lam = prev_z = None
    converged = False
    k = 0
    for k in range(1, max_iter + 1):
        q, _ = resp.solve(lam)
        z = q.sum(axis=0)  # excess supply inside the community
        # the grid takes any excess at the export price and fills any shortage at the import price
        z_eff = np.where((lam <= lo + 1e-12) & (z > 0), 0.0, np.where((lam >= hi - 1e-12) & (z < 0), 0.0, z))
        prices.append(lam.copy())
        excess.append(z_eff.copy())
        if prev_lam is not None:
            # secant: excess supply rises with price; aim the next step at z = 0
            dl, dz = lam - prev_lam, z - prev_z
            slope = np.divide(dz, dl, out=np.zeros_like(dz), where=np.abs(dl) > 1e-12)
            good = slope > 1e-9
            step = np.where(good, np.clip(1.0 / np.where(good, slope, 1.0), 1e-9, 1e3), step * 2.0)
        new = np.clip(lam - step * z, lo, hi)
        if progress is not None:
            progress(k, max_iter)
        if np.max(np.abs(new - lam), initial=0.0) < tol:
            converged = True
            break
        if cancelled is not None and cancelled():
            break
        prev_lam, prev_z = lam, z
        lam = new
    return PriceTrace(np.array(prices), np.array(excess), converged, k, tol)
