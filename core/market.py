"""The single entry point: ``clear(scenario, settings) -> MarketResult``.

The GUI, the CLI, reports and tests all call :func:`clear`. It returns pandas
DataFrames (units in the column names) and a small summary; it never formats
for a screen.

Mechanisms:

* ``welfare`` — the welfare-maximising clearing of the prosumers' own cost and
  value curves over the whole horizon, with their feasible sets and the grid
  (tariffs) as outside option; the price is the balance constraint's dual
  (:mod:`core.welfare`). Its price iteration (tâtonnement) is in ``trace``.
* ``uniform``, ``pay_as_bid``, ``vcg``, ``trade_reduction`` — the double
  auctions of :mod:`core.mechanisms`, on the bids of each period
  (:mod:`core.bids`: explicit blocks, or truthful blocks from the curves).

With ``audit`` the result carries the properties audit of the chosen period
(:mod:`core.properties`) and the comparison of every auction on it.
"""

from __future__ import annotations

import contextlib
import copy
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from core.bids import order_book
from core.mechanisms import MECHANISMS, supply_demand_curves
from core.properties import Audit, audit, compare_mechanisms
from core.scenario.model import Scenario
from core.welfare import (
    ClearingError,
    PriceResponse,
    PriceTrace,
    WelfareProblem,
    decentralised_gap,
    outside_option,
    tatonnement,
)

AUCTIONS = ("uniform", "pay_as_bid", "vcg", "trade_reduction")
NETWORK_CHOICES = ("none", "lindistflow", "ac", "dc")
FAIRNESS_CHOICES = ("efficiency", "proportional", "maxmin")
FAIRNESS_LABELS = {"efficiency": "Efficiency (max Σ U)", "proportional": "Proportional (max Σ ln U)",
                   "maxmin": "Max-min (max min U)"}
FAIRNESS_AUDIT_MAX_AGENTS = 300  # above this, the rules are compared only when one is chosen (seconds per rule)
AUDIT_ALL_AGENTS = 120  # books with more agents search only the AUDIT_MAX_AGENTS most active for lies
AUDIT_MAX_AGENTS = 25
NETWORK_LABELS = {
    "none": "None (copper plate)",
    "lindistflow": "LinDistFlow + losses",
    "ac": "LinDistFlow, AC-checked",
    "dc": "DC (ratings only)",
}
MECHANISM_NAMES = ("welfare", *AUCTIONS)
MECHANISM_LABELS = {
    "welfare": "Welfare-maximising (shadow price)",
    "uniform": "Uniform-price double auction",
    "pay_as_bid": "Pay-as-bid",
    "vcg": "VCG (Clarke pivot)",
    "trade_reduction": "McAfee trade reduction",
}


@dataclass(frozen=True)
class MarketSettings:
    """What to compute.

    ``period``: the period to show and audit (``None``: the first); auctions
    clear every period, the welfare clearing the whole horizon at once.
    ``k``: the k of k-pricing for the uniform auction (0.5: midpoint).
    ``grid``: the outside option, ``tariffs`` (retail/feed-in) or ``wholesale``;
    ``None`` picks the tariffs on a copper plate and the wholesale price at the
    substation with a network model (the chapter's energy component).
    ``network``: the feeder model of the welfare clearing: ``none`` (a copper
    plate), ``lindistflow`` (voltages, ratings, losses by iterated loss
    factors; DLMPs decomposed), ``ac`` (the same clearing, then checked with
    the exact AC power flow) or ``dc`` (ratings on real power only).
    """

    mechanism: str = "welfare"
    period: int | None = None
    k: float = 0.5
    grid: str | None = None
    audit: bool = True
    tatonnement: bool = True
    decentralised_check: bool = True
    network: str = "none"
    market_power: bool = True
    fairness: str = "efficiency"
    fairness_transfers: bool = True
    lexicographic: bool = False
    fairness_audit: bool = True

    @property
    def grid_prices(self) -> str:
        """The outside option in force: ``grid``, or the default for the network model."""
        if self.grid is not None:
            return self.grid
        return "tariffs" if self.network == "none" else "wholesale"

    def __post_init__(self) -> None:
        if self.mechanism not in MECHANISM_NAMES:
            raise ValueError(f"unknown mechanism '{self.mechanism}': choose one of {', '.join(MECHANISM_NAMES)}")
        if not 0.0 <= self.k <= 1.0:
            raise ValueError(f"k must be in [0, 1], got {self.k:g}")
        if self.grid not in (None, "tariffs", "wholesale"):
            raise ValueError(f"grid must be 'tariffs' or 'wholesale', got {self.grid!r}")
        if self.network not in NETWORK_CHOICES:
            raise ValueError(f"unknown network model '{self.network}': choose one of {', '.join(NETWORK_CHOICES)}")
        if self.fairness not in FAIRNESS_CHOICES:
            raise ValueError(f"unknown fairness rule '{self.fairness}': choose one of {', '.join(FAIRNESS_CHOICES)}")
        if self.fairness != "efficiency" and self.mechanism != "welfare":
            raise ValueError(f"fairness rules allocate over the welfare clearing's feasible set; the "
                             f"{self.mechanism} auction has its own allocation (choose fairness 'efficiency')")
        if self.fairness != "efficiency" and (self.network != "none" or self.grid_prices != "tariffs"):
            raise ValueError("fairness rules are computed on the copper plate with the tariffs as the outside "
                             "option (choose network 'none' and the tariffs); with a network the envy audit "
                             "flags envy that comes only from location")
        if self.network != "none" and self.mechanism != "welfare":
            raise ValueError(f"the network model applies to the welfare clearing; the {self.mechanism} auction "
                             "clears bids without the feeder (choose network 'none')")


@dataclass(frozen=True)
class Curves:
    """Supply and demand step curves of one period (cumulative kWh, price per kWh, agent per step)."""

    period: int
    demand_kwh: np.ndarray
    demand_price: np.ndarray
    demand_agent: list[str]
    supply_kwh: np.ndarray
    supply_price: np.ndarray
    supply_agent: list[str]
    price: float | None  # the clearing price shown on the curves
    traded_kwh: float  # auctions: cleared kWh; welfare: the DERs' output at the meters (its point on supply)
    retail_price: float
    feed_in_price: float


@dataclass
class MarketResult:
    """Everything a cleared market shows. DataFrames carry units in their column names.

    * ``agents``: one row per prosumer (totals over the cleared periods);
    * ``trades``: one row per prosumer and period;
    * ``periods``: one row per period (price, traded energy, welfare…);
    * ``curves``: the chosen period's supply and demand;
    * ``audit`` / ``comparison``: the properties of the chosen period;
    * ``trace``: the price iteration (welfare clearing);
    * ``summary``: headline numbers.
    """

    settings: MarketSettings
    scenario_name: str
    currency: str
    period: int
    agents: pd.DataFrame
    trades: pd.DataFrame
    periods: pd.DataFrame
    curves: Curves | None
    summary: dict
    audit: Audit | None = None
    comparison: pd.DataFrame | None = None
    trace: PriceTrace | None = None
    fairness: pd.DataFrame | None = None  # per agent: gain over the outside option, efficient and under the rule
    fairness_comparison: pd.DataFrame | None = None  # per rule: welfare gain, price of fairness, Jain, Gini…
    fairness_summary: dict | None = None  # the chosen rule, its supporting prices, budget balance, envy figures
    envy: pd.DataFrame | None = None  # agents × agents: how much row i prefers column j's bundle (currency)
    market_power: pd.DataFrame | None = None  # per seller of the chosen period: share, Lerner, RSI…
    market_power_summary: dict | None = None  # HHI (0–1 and points), band, elasticity, pivotal sellers
    bilateral: pd.DataFrame | None = None  # auctions: the chosen period's trades as seller→buyer pairs,
    # made loss-neutral with the AC marginal loss factors (delivered_kwh, loss_kwh)
    buses: pd.DataFrame | None = None  # per bus and period: v_pu, dlmp_per_kwh and its parts, injection_kw
    lines: pd.DataFrame | None = None  # per line and period: p_kw, q_kvar, loading_pct, loss_kw
    timings_s: dict = field(default_factory=dict)
    pending: tuple[str, ...] = ()  # diagnostics still being computed (clear_stages' first result); () = complete


# compiled welfare problems, re-used after an edit that keeps the structure
_CACHE: dict[tuple, tuple[object, threading.Lock]] = {}  # WelfareProblem or PriceResponse
_CACHE_LOCK = threading.Lock()
# each agent's outside option by (prosumer, tariffs, horizon): an edit re-solves only the agents it changed
_ALONE: dict[tuple, float] = {}
ALONE_CACHE_MAX = 50_000
# the last network clearing: moving the period slider re-reads it instead of solving the day again
_NETWORK_CACHE: dict[tuple, tuple] = {}
# the last copper-plate welfare day (with its fairness rules and price iteration), for the same reason
_DAY_CACHE: dict[MarketSettings, tuple] = {}
NOISE_PER_KWH = 1e-9  # DLMP parts below this are solver noise, not a binding limit


def _cached(kind: str, s: Scenario, grid: str, build):
    """A compiled problem of ``kind`` for ``s``'s structure, loaded with ``s``'s numbers, and its lock.

    The compiled problems (cvxpy Parameters) are re-used after an edit that keeps
    the structure. The caller releases the lock (None: a private problem, the
    cached one being in use by another thread).
    """
    from core.prosumer import _signature

    key = (kind, _signature(s, tuple(range(s.periods))), grid)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        problem, lock = hit
        if lock.acquire(blocking=False):
            problem.update(s)
            return problem, lock
        return build(), None  # in use by another thread: build a private one
    problem = build()
    lock = threading.Lock()
    lock.acquire()
    with _CACHE_LOCK:
        if len(_CACHE) > 8:
            _CACHE.clear()
        _CACHE[key] = (problem, lock)
    return problem, lock


def _welfare_problem(s: Scenario, grid: str) -> tuple[WelfareProblem, threading.Lock | None]:
    return _cached("welfare", s, grid, lambda: WelfareProblem(s, grid=grid))


@contextlib.contextmanager
def _price_response(s: Scenario):
    """Every agent alone at announced prices (outside options, the decentralised check, the price iteration)."""
    response, lock = _cached("response", s, "", lambda: PriceResponse(s))
    try:
        yield response
    finally:
        if lock is not None:
            lock.release()


def _outside_option(s: Scenario) -> np.ndarray:
    """Each agent's outside option; agents alone are independent, so only the agents that changed since an
    earlier call (an edit) are solved again (:data:`_ALONE`: prosumer, tariffs, horizon → surplus)."""
    context = (s.tariffs, s.horizon)
    keys = [(p, context) for p in s.prosumers]
    with _CACHE_LOCK:
        known = [_ALONE.get(k) for k in keys]
    missing = [i for i, v in enumerate(known) if v is None]
    if len(missing) == len(keys):
        with _price_response(s) as response:
            values = outside_option(s, response=response)
    elif missing:
        values = np.array(known, dtype=float)
        few = replace(s, prosumers=tuple(s.prosumers[i] for i in missing), validate=False)
        values[missing] = outside_option(few)
    else:
        return np.array(known, dtype=float)
    with _CACHE_LOCK:
        if len(_ALONE) + len(missing) > ALONE_CACHE_MAX:
            _ALONE.clear()
        _ALONE.update((keys[i], float(values[i])) for i in missing)
    return np.asarray(values, dtype=float)


def _curves(s: Scenario, t: int, price: float | None, traded: float) -> Curves:
    book = order_book(s, t)
    dq, dp, di, sq, spr, si = supply_demand_curves(book)
    name = lambda blocks, agents: [book.agents[int(a)] for a in agents[blocks]]  # noqa: E731
    return Curves(
        period=t,
        demand_kwh=np.asarray(dq), demand_price=np.asarray(dp), demand_agent=name(np.asarray(di), book.buy_agent),
        supply_kwh=np.asarray(sq), supply_price=np.asarray(spr), supply_agent=name(np.asarray(si), book.sell_agent),
        price=price, traded_kwh=traded,
        retail_price=s.tariffs.retail_import_price_per_kwh[t], feed_in_price=s.tariffs.feed_in_price_per_kwh[t],
    )


def _local_supply_kwh(s: Scenario, der_kw: np.ndarray, t: int) -> float:
    """Energy the DERs put through their meters in period t (kWh): where the welfare clearing sits on the
    supply curve (which lists every DER's ask, self-consumption included)."""
    eta = np.array([p.asset.efficiency if p.asset is not None else 0.0 for p in s.prosumers])
    return float(np.sum(np.clip(eta * der_kw[:, t], 0.0, None)) * s.horizon.step_h) if len(eta) else 0.0


def _dispatch_frames(s: Scenario, sol, alone: np.ndarray, price_kwh: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-agent totals and per-agent-period trades of a welfare or network clearing.

    ``price_kwh`` (agents × periods) is what each agent pays per kWh: λ_t, or its bus's DLMP.
    """
    T, step, n = s.periods, s.horizon.step_h, len(s.prosumers)
    meta = _agent_meta(s)
    surplus = sol.surplus
    agents = meta.assign(
        bought_kwh=np.clip(-sol.trade_kw, 0, None).sum(axis=1) * step,
        sold_kwh=np.clip(sol.trade_kw, 0, None).sum(axis=1) * step,
        payment=sol.payment, value=sol.value, cost=sol.cost, surplus=surplus, outside_option=alone,
        gain_over_outside=surplus - alone, ir_ok=surplus >= alone - 1e-6 * (1 + np.abs(alone)),
    )
    trades = pd.DataFrame({
        "agent": np.repeat(meta.agent.to_numpy(), T),
        "period": np.tile(np.arange(T), n),
        "trade_kw": sol.trade_kw.ravel(),
        "der_kw": sol.der_kw.ravel(),
        "flexible_kw": sol.flexible_kw.ravel(),
        "price_per_kwh": np.asarray(price_kwh, dtype=float).reshape(n * T),
    })
    trades["payment"] = -trades.trade_kw * trades.price_per_kwh * step
    return agents, trades


def _agent_meta(s: Scenario) -> pd.DataFrame:
    return pd.DataFrame({
        "agent": [p.id for p in s.prosumers],
        "bus": [p.bus for p in s.prosumers],
        "role": [p.role for p in s.prosumers],
        "der": [p.asset.kind if p.asset is not None else "" for p in s.prosumers],
    })


def clear(scenario: Scenario, settings: MarketSettings | None = None, progress=None, cancelled=None) -> MarketResult:
    """Clear ``scenario``'s market as ``settings`` say. Raises ClearingError if it cannot be solved.

    ``progress(fraction, text)`` and ``cancelled()`` let a caller on another
    thread follow and stop the long parts (the price iteration, the audit).
    The complete result: the last one :func:`clear_stages` yields.
    """
    return list(clear_stages(scenario, settings, progress, cancelled))[-1]


@dataclass
class _Context:
    """What the diagnostics need from the clearing they examine."""

    sol: object = None  # WelfareSolution (copper plate) or NetworkSolution
    alone: np.ndarray | None = None  # the outside options
    chosen: object = None  # the fairness rule's FairAllocation (copper plate at the tariffs)


DIAGNOSTICS = ("decentralised check", "properties audit", "price iteration", "fairness comparison", "envy audit")


def clear_stages(scenario: Scenario, settings: MarketSettings | None = None, progress=None,
                 cancelled=None) -> Iterator[MarketResult]:
    """The market first, then its diagnostics one by one: yields a result after each.

    The first is the clearing itself — prices, dispatch, payments, curves,
    DLMPs and flows, market power, and the chosen fairness rule's allocation —
    with ``pending`` naming the diagnostics still to come (:data:`DIAGNOSTICS`,
    in this order, as ``settings`` ask: the decentralised check, the properties
    audit, the price iteration, every fairness rule compared with the envy
    audit). Each next result has one more of them; the last is complete
    (``pending == ()``). A result yielded before is never changed afterwards.
    When nothing is pending there is one result. Once ``cancelled()`` returns
    True no further result is yielded.
    """
    settings = settings or MarketSettings()
    T = scenario.periods
    period = 0 if settings.period is None else settings.period
    if not 0 <= period < T:
        raise ValueError(f"period {period} is outside the horizon (0…{T - 1})")
    stop = (lambda: False) if cancelled is None else cancelled
    day_key = replace(settings, period=None) if settings.mechanism == "welfare" and settings.network == "none" else None
    ctx = None
    hit = None
    if day_key is not None:
        with _CACHE_LOCK:
            hit = _DAY_CACHE.get(day_key)
        if hit is not None and hit[0] != scenario:
            hit = None
    if hit is not None:
        result = _at_period(scenario, hit[1], period)  # the day is solved: only the period's views change
    elif settings.mechanism == "welfare":
        result, ctx = _clear_welfare(scenario, settings, period, progress, cancelled)
    else:
        result = _clear_auction(scenario, settings, period)
    if settings.market_power:
        t0 = time.perf_counter()
        result.market_power, result.market_power_summary = _market_power(scenario, settings, period)
        result.timings_s["market_power"] = time.perf_counter() - t0
    todo = _wanted(scenario, settings, ctx)
    if todo:
        result.pending = todo
        yield _snapshot(result)
        for k, item in enumerate(todo):  # each diagnostic shown as soon as it is done
            if stop():
                return
            _diagnose(scenario, settings, result, ctx, (item,), progress, stop)
            if stop():
                return
            result.pending = todo[k + 1:]
            if result.pending:
                yield _snapshot(result)
    if day_key is not None and hit is None:
        with _CACHE_LOCK:
            _DAY_CACHE.clear()
            _DAY_CACHE[day_key] = (scenario, _snapshot(result))
    yield result


def _snapshot(result: MarketResult) -> MarketResult:
    """A copy that later stages cannot change (they only set attributes and update these dicts)."""
    r = copy.copy(result)
    r.summary, r.timings_s = dict(result.summary), dict(result.timings_s)
    if result.fairness_summary is not None:
        r.fairness_summary = dict(result.fairness_summary)
    return r


def _wanted(s: Scenario, settings: MarketSettings, ctx: _Context | None) -> tuple[str, ...]:
    """The diagnostics ``settings`` ask for that this result does not have yet, quickest first."""
    copper = ctx is not None and settings.network == "none"
    todo = []
    if copper and settings.decentralised_check:
        todo.append("decentralised check")
    if settings.audit:
        todo.append("properties audit")
    if copper and settings.tatonnement:
        todo.append("price iteration")
    if copper and ctx.chosen is not None:
        todo.append("fairness comparison")
    if ctx is not None and settings.network != "none" and settings.fairness_audit:
        todo.append("envy audit")
    return tuple(todo)


def _diagnose(s: Scenario, settings: MarketSettings, result: MarketResult, ctx: _Context | None,
              todo: tuple[str, ...], progress, stop) -> None:
    """Fill in the diagnostics ``todo`` names (in that order), stopping early once ``stop()``."""
    timings, summary = result.timings_s, result.summary
    if "decentralised check" in todo and not stop():
        t0 = time.perf_counter()
        with _price_response(s) as response:
            summary.update(decentralised_gap(ctx.sol, s, response=response))
        timings["decentralised_check"] = time.perf_counter() - t0
    if "price iteration" in todo and not stop():
        t0 = time.perf_counter()
        prog = None if progress is None else (lambda k, m: progress(0.3 + 0.5 * k / m, f"price iteration {k}"))
        with _price_response(s) as response:
            trace = tatonnement(s, grid=settings.grid_prices, progress=prog, cancelled=stop, response=response)
        result.trace = trace
        summary["tatonnement_iterations"] = trace.iterations
        summary["tatonnement_converged"] = trace.converged
        summary["tatonnement_max_price_gap"] = float(np.max(np.abs(trace.final - ctx.sol.price_per_kwh)))
        timings["tatonnement"] = time.perf_counter() - t0
    if "fairness comparison" in todo and not stop():
        if progress is not None:
            progress(0.8, "comparing the fairness rules")
        t0 = time.perf_counter()
        _fairness_compare(s, settings, result, ctx)
        timings["fairness"] = timings.get("fairness", 0.0) + time.perf_counter() - t0
    if "envy audit" in todo and not stop():
        t0 = time.perf_counter()
        _network_envy(s, result, ctx.sol)
        timings["envy"] = time.perf_counter() - t0
    if "properties audit" in todo and not stop():
        from core.properties import Cancelled

        t0 = time.perf_counter()
        truth = order_book(s, result.period)
        mech = "uniform" if settings.mechanism == "welfare" else settings.mechanism
        kw = {"k": settings.k} if mech == "uniform" else {}
        # on a large book, search the most active agents for profitable lies (the others move prices least)
        limit = None if len(truth.agents) <= AUDIT_ALL_AGENTS else AUDIT_MAX_AGENTS
        step = None if progress is None else (lambda f: progress(0.85 + 0.15 * f, "auditing the mechanisms"))
        try:
            result.audit = audit(truth, mech, max_agents=limit, cancelled=stop, **kw)
            result.comparison = compare_mechanisms(truth, k=settings.k, max_agents=limit, cancelled=stop,
                                                   progress=step)
        except Cancelled:
            return
        timings["audit"] = time.perf_counter() - t0


def _at_period(s: Scenario, day: MarketResult, period: int) -> MarketResult:
    """A solved day's result seen at another period: its price and curves change, nothing is re-solved."""
    r = copy.copy(day)
    r.period = period
    r.settings = replace(day.settings, period=period)
    r.summary = dict(day.summary)
    r.summary["price_per_kwh"] = float(day.periods.price_per_kwh[period])
    n, T = len(s.prosumers), s.periods
    der = day.trades.der_kw.to_numpy().reshape(n, T) if n else np.zeros((0, T))
    r.curves = _curves(s, period, r.summary["price_per_kwh"], _local_supply_kwh(s, der, period))
    r.audit = r.comparison = r.market_power = r.market_power_summary = None
    r.timings_s = {"day_reused": True}
    return r


def _market_power(s: Scenario, settings: MarketSettings, period: int) -> tuple[pd.DataFrame, dict]:
    """Concentration and market power in the chosen period (:mod:`core.market_power`).

    Auctions: on their own outcome. The welfare clearing: on the uniform-price
    auction of the same truthful bids (its price-taking twin).
    """
    from core.market_power import market_power_report

    book = order_book(s, period)
    mech = "uniform" if settings.mechanism == "welfare" else settings.mechanism
    kw = {"k": settings.k} if mech == "uniform" else {}
    report = market_power_report(book, MECHANISMS[mech](book, **kw))
    summary = dict(report.summary)
    summary["measured_on"] = mech  # the welfare clearing is measured on its price-taking twin, the uniform auction
    return report.sellers, summary


def _clear_welfare(s: Scenario, settings: MarketSettings, period: int, progress,
                   cancelled) -> tuple[MarketResult, _Context]:
    if settings.network != "none":
        return _clear_network(s, settings, period, progress, cancelled)
    t0 = time.perf_counter()
    problem, lock = _welfare_problem(s, settings.grid_prices)
    try:
        sol = problem.solve()
        grid_bill = s.horizon.step_h * (problem.buy.value @ sol.grid_import_kw
                                        - problem.sell.value @ sol.grid_export_kw)
    finally:
        if lock is not None:
            lock.release()
    timings = {"welfare": time.perf_counter() - t0}
    T, step = s.periods, s.horizon.step_h
    t1 = time.perf_counter()
    alone = _outside_option(s)
    timings["outside_option"] = time.perf_counter() - t1
    labels = s.horizon.labels()
    n = len(s.prosumers)
    agents, trades = _dispatch_frames(s, sol, alone, np.tile(sol.price_per_kwh, (n, 1)))
    sold = np.clip(sol.trade_kw, 0, None).sum(axis=0) * step
    bought = np.clip(-sol.trade_kw, 0, None).sum(axis=0) * step
    periods = pd.DataFrame({
        "period": np.arange(T),
        "time": labels,
        "price_per_kwh": sol.price_per_kwh,
        "sold_kwh": sold,
        "bought_kwh": bought,
        "p2p_kwh": np.minimum(sold, bought),
        "grid_import_kwh": sol.grid_import_kw * step,
        "grid_export_kwh": sol.grid_export_kw * step,
        "retail_price_per_kwh": s.tariffs.retail_import_price_per_kwh,
        "feed_in_price_per_kwh": s.tariffs.feed_in_price_per_kwh,
    })
    summary = {
        "mechanism": "welfare",
        "welfare": sol.welfare,
        "price_per_kwh": float(sol.price_per_kwh[period]),
        "mean_price_per_kwh": float(np.mean(sol.price_per_kwh)),
        "p2p_kwh": float(periods.p2p_kwh.sum()),
        "grid_import_kwh": float(periods.grid_import_kwh.sum()),
        "grid_export_kwh": float(periods.grid_export_kwh.sum()),
        "platform_surplus": float(sol.payment.sum() - grid_bill),
        "ir_violations": int((~agents.ir_ok).sum()),
        "solve_time_s": sol.solve_time_s,
        "status": sol.status,
    }
    curves = _curves(s, period, float(sol.price_per_kwh[period]), _local_supply_kwh(s, sol.der_kw, period))
    result = MarketResult(settings, s.name, s.currency, period, agents, trades, periods, curves, summary,
                          timings_s=timings)
    ctx = _Context(sol=sol, alone=alone)
    wanted = settings.fairness != "efficiency" or (
        settings.fairness_audit and len(s.prosumers) <= FAIRNESS_AUDIT_MAX_AGENTS)
    if wanted and settings.grid_prices == "tariffs":
        if progress is not None and settings.fairness != "efficiency":
            progress(0.2, f"allocating by the {settings.fairness} rule")
        t4 = time.perf_counter()
        ctx.chosen = _fairness_rule(s, settings, result, sol, alone)
        timings["fairness"] = time.perf_counter() - t4
    return result, ctx


def _fairness_rule(s: Scenario, settings: MarketSettings, result: MarketResult, sol, alone):
    """The fairness rule's allocation and each agent's gains under it and under efficiency (:mod:`core.fairness`).

    Utilities are gains over the outside option (trading with the grid alone at the tariffs).
    """
    from core.fairness import allocate

    chosen = allocate(s, settings.fairness, settings.fairness_transfers, settings.lexicographic,
                      efficient=sol, outside=alone)
    efficient = chosen if settings.fairness == "efficiency" else allocate(s, "efficiency", efficient=sol,
                                                                          outside=alone)
    result.fairness = pd.DataFrame({
        "agent": list(chosen.ids),
        "utility_efficient": efficient.utility,
        "utility": chosen.utility,
        "payment": chosen.payment,
        "transfer": chosen.transfer,
    })
    result.fairness_summary = {
        "rule": settings.fairness,
        "transfers": settings.fairness_transfers,
        "supported_by": chosen.supported_by,
        "budget_balanced": bool(chosen.budget_balanced),
        "platform_surplus": float(chosen.platform_surplus),
        "welfare_gain": float(chosen.welfare_gain),
        "worst_off": float(chosen.worst_off),
    }
    result.summary["fairness_rule"] = settings.fairness
    return chosen


def _fairness_compare(s: Scenario, settings: MarketSettings, result: MarketResult, ctx: _Context) -> None:
    """Every rule compared (price of fairness, Jain, Gini…) and the envy audit of the chosen allocation."""
    from core.fairness import compare_rules, envy

    chosen = ctx.chosen
    report = envy(s, chosen)
    result.fairness_comparison = compare_rules(s, settings.fairness_transfers, settings.lexicographic,
                                               efficient=ctx.sol, outside=ctx.alone,
                                               known={settings.fairness: chosen}).reset_index()
    result.envy = report.envy
    row = result.fairness_comparison.set_index("rule").loc[settings.fairness]
    result.fairness_summary = {
        **result.fairness_summary,
        "price_of_fairness": float(row.price_of_fairness),
        "jain": float(row.jain),
        "gini": float(row.gini),
        "envious_pairs": int(report.envious_pairs),
        "max_envy": float(report.max_envy),
        "worst_pair": report.worst_pair,
    }
    result.summary.update({
        "price_of_fairness": float(row.price_of_fairness),
        "jain": float(row.jain),
        "envious_pairs": int(report.envious_pairs),
    })


def _clear_network(s: Scenario, settings: MarketSettings, period: int, progress,
                   cancelled) -> tuple[MarketResult, _Context]:
    from core.pricing import clear_network, clear_network_ac

    t0 = time.perf_counter()
    model = "dc" if settings.network == "dc" else "lindistflow"
    key = (settings.network, settings.grid_prices)
    cached = _NETWORK_CACHE.get(key)
    if cached is not None and cached[0] == s:
        sol, checks = cached[1], cached[2]  # the same scenario, another period: nothing to solve
    else:
        checks = {}
        if progress is not None:
            progress(0.1, "clearing with the feeder's constraints")
        if settings.network == "ac":
            sol, checks = clear_network_ac(s, grid=settings.grid_prices, cancelled=cancelled)
        else:
            sol = clear_network(s, grid=settings.grid_prices, model=model, cancelled=cancelled)
        if not (cancelled is not None and cancelled()):  # a clearing stopped early is not the answer
            with _CACHE_LOCK:
                _NETWORK_CACHE.clear()
                _NETWORK_CACHE[key] = (s, sol, checks)
    timings = {"network_clearing": time.perf_counter() - t0, "network_reused": cached is not None and cached[0] == s}
    T, step = s.periods, s.horizon.step_h
    alone = _outside_option(s)
    net = sol.net
    bus_of = np.array([net.index[p.bus] for p in s.prosumers], dtype=int)
    agents, trades = _dispatch_frames(s, sol, alone, sol.dlmp[bus_of] if len(bus_of) else np.zeros((0, T)))
    buses = pd.concat([sol.bus_frame(t).assign(period=t) for t in range(T)], ignore_index=True)
    lines = pd.concat([sol.line_frame(t).assign(period=t) for t in range(T)], ignore_index=True)
    if settings.network == "ac":
        if checks.get("v_pu_ac") is not None:
            buses["v_pu_ac"] = np.concatenate([checks["v_pu_ac"][:, t] for t in range(T)])
    sold = np.clip(sol.trade_kw, 0, None).sum(axis=0) * step
    bought = np.clip(-sol.trade_kw, 0, None).sum(axis=0) * step
    energy = sol.energy[0]
    periods = pd.DataFrame({
        "period": np.arange(T), "time": s.horizon.labels(), "price_per_kwh": energy,
        "dlmp_min_per_kwh": sol.dlmp.min(axis=0), "dlmp_max_per_kwh": sol.dlmp.max(axis=0),
        "sold_kwh": sold, "bought_kwh": bought, "p2p_kwh": np.minimum(sold, bought),
        "grid_import_kwh": sol.grid_import_kw * step, "grid_export_kwh": sol.grid_export_kw * step,
        "loss_kwh": sol.loss_kw * step, "v_min_pu": sol.v_pu.min(axis=0),
        "max_loading_pct": np.nanmax(np.where(np.isfinite(sol.loading_pct), sol.loading_pct, -np.inf), axis=0)
        if net.n > 1 else np.zeros(T),
        "retail_price_per_kwh": s.tariffs.retail_import_price_per_kwh,
        "feed_in_price_per_kwh": s.tariffs.feed_in_price_per_kwh,
    })
    parts = {"energy": sol.energy, "loss": sol.loss, "congestion": sol.congestion, "voltage": sol.voltage}
    local = {k: float(np.max(np.abs(v[:, period]))) for k, v in parts.items() if k != "energy"}
    largest = max(local, key=local.get) if max(local.values(), default=0.0) > NOISE_PER_KWH else "none"
    summary = {
        "mechanism": "welfare",
        "network": settings.network,
        "network_model": ("DC: line ratings on real power, no losses, no voltages" if model == "dc" else
                          f"LinDistFlow with loss factors iterated {sol.iterations}×"
                          + (f", voltage limits corrected by the AC power flow in {checks['ac_rounds']} round(s)"
                             if checks else "")),
        "welfare": sol.welfare,
        "price_per_kwh": float(energy[period]),
        "dlmp_min_per_kwh": float(sol.dlmp[:, period].min()),
        "dlmp_max_per_kwh": float(sol.dlmp[:, period].max()),
        "largest_dlmp_component": largest,
        "loss_kwh": float(periods.loss_kwh.sum()),
        "v_min_pu": float(sol.v_pu[:, period].min()),
        "max_loading_pct": float(periods.max_loading_pct[period]),
        "p2p_kwh": float(periods.p2p_kwh.sum()),
        "grid_import_kwh": float(periods.grid_import_kwh.sum()),
        "ir_violations": int((~agents.ir_ok).sum()),
        "decomposition_error_per_kwh": sol.decomposition_error,
        "solve_time_s": sol.solve_time_s,
        "status": "optimal",
    }
    summary.update({k: v for k, v in checks.items() if not isinstance(v, np.ndarray)})
    curves = _curves(s, period, float(energy[period]), _local_supply_kwh(s, sol.der_kw, period))
    result = MarketResult(settings, s.name, s.currency, period, agents, trades, periods, curves, summary,
                          buses=buses, lines=lines, timings_s=timings)
    return result, _Context(sol=sol, alone=alone)


def _network_envy(s: Scenario, result: MarketResult, sol) -> None:
    """Envy under the DLMPs, flagging the pairs whose envy is only the price difference between their buses."""
    from core.fairness import envy

    report = envy(s, sol, bus_prices=dict(zip(sol.net.bus_ids, sol.dlmp, strict=True)))
    result.envy = report.envy
    result.fairness_summary = {
        "rule": "efficiency", "envious_pairs": int(report.envious_pairs), "max_envy": float(report.max_envy),
        "worst_pair": report.worst_pair, "location_pairs": int(report.location_pairs),
    }
    result.summary.update({"envious_pairs": int(report.envious_pairs),
                           "envious_pairs_by_location_only": int(report.location_pairs)})


def _clear_auction(s: Scenario, settings: MarketSettings, period: int) -> MarketResult:
    t0 = time.perf_counter()
    fn = MECHANISMS[settings.mechanism]
    kw = {"k": settings.k} if settings.mechanism == "uniform" else {}
    meta = _agent_meta(s)
    n, T = len(s.prosumers), s.periods
    rows, per_period = [], []
    chosen = None
    for t in range(T):
        book = order_book(s, t)
        out = fn(book, **kw)
        if t == period:
            chosen = (book, out)
        bought = np.asarray(out.agent_bought, dtype=float)
        sold = np.asarray(out.agent_sold, dtype=float)
        pay = np.asarray(out.agent_payment, dtype=float)
        value = np.bincount(book.buy_agent, weights=out.buy_fill * book.buy_price, minlength=n)
        cost = np.bincount(book.sell_agent, weights=out.sell_fill * book.sell_price, minlength=n)
        rows.append(pd.DataFrame({
            "agent": meta.agent, "period": t, "bought_kwh": bought, "sold_kwh": sold, "payment": pay,
            "value": value, "cost": cost,
        }))
        per_period.append({
            "period": t, "time": s.horizon.labels()[t],
            "price_per_kwh": np.nan if out.price is None else float(out.price),
            "traded_kwh": float(out.traded_qty),
            "platform_surplus": float(out.platform_surplus),
            "declared_welfare": float(out.declared_welfare),
            "retail_price_per_kwh": s.tariffs.retail_import_price_per_kwh[t],
            "feed_in_price_per_kwh": s.tariffs.feed_in_price_per_kwh[t],
        })
    trades = pd.concat(rows, ignore_index=True)
    trades["surplus"] = trades.value - trades.cost - trades.payment
    totals = trades.groupby("agent", sort=False)[["bought_kwh", "sold_kwh", "payment", "value", "cost",
                                                  "surplus"]].sum().reset_index()
    agents = meta.merge(totals, on="agent", how="left")
    agents["ir_ok"] = agents.surplus >= -1e-7
    periods = pd.DataFrame(per_period)
    book, out = chosen
    summary = {
        "mechanism": settings.mechanism,
        "welfare": float(periods.declared_welfare.sum()),
        "price_per_kwh": None if out.price is None else float(out.price),
        "traded_kwh": float(periods.traded_kwh.sum()),
        "platform_surplus": float(periods.platform_surplus.sum()),
        "ir_violations": int((~agents.ir_ok).sum()),
        "notes": out.notes,
        "solve_time_s": time.perf_counter() - t0,
        "status": "optimal",
    }
    curves = _curves(s, period, None if out.price is None else float(out.price), float(out.traded_qty))
    bilateral = _loss_neutral_pairs(s, book, out, period)
    if len(bilateral):
        summary["bilateral_loss_kwh"] = float(bilateral.loss_kwh.sum())
    return MarketResult(settings, s.name, s.currency, period, agents, trades, periods, curves, summary,
                        bilateral=bilateral, timings_s={"clear": summary["solve_time_s"]})


def _loss_neutral_pairs(s: Scenario, book, out, t: int) -> pd.DataFrame:
    """Bilateral pairs of the cleared book, settled so that ``dP_i·MLF_i = dP_j·MLF_j``.

    MLFs come from the AC power flow of the period's injections as given in the file.
    """
    from core.mechanisms import bilateral_matches
    from core.network.powerflow import ac_power_flow, marginal_loss_factors, settle_bilateral
    from core.network.topology import bus_injections_kw, radial

    pairs = bilateral_matches(book, out)
    bus = {p.id: p.bus for p in s.prosumers}
    pairs["seller_bus"] = [bus[a] for a in pairs.seller]
    pairs["buyer_bus"] = [bus[a] for a in pairs.buyer]
    if pairs.empty:
        return pairs.assign(mlf_seller=[], mlf_buyer=[], delivered_kwh=[], loss_kwh=[])
    net = radial(s)
    p_kw, q_kvar = bus_injections_kw(s, t, net)
    sol = ac_power_flow(net, p_kw, q_kvar)
    if not sol.converged:
        return pairs
    mlf = marginal_loss_factors(net, p_kw, q_kvar, solution=sol)
    return settle_bilateral(pairs, dict(zip(net.bus_ids, mlf, strict=True)))


def with_settings(settings: MarketSettings, **changes) -> MarketSettings:
    """A copy of ``settings`` with some fields changed (validated)."""
    return replace(settings, **changes)


__all__ = [
    "DIAGNOSTICS",
    "FAIRNESS_CHOICES",
    "FAIRNESS_LABELS",
    "MECHANISM_LABELS",
    "MECHANISM_NAMES",
    "NETWORK_CHOICES",
    "NETWORK_LABELS",
    "ClearingError",
    "Curves",
    "MarketResult",
    "MarketSettings",
    "clear",
    "clear_stages",
    "with_settings",
]
