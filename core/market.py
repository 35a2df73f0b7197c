"""The single entry point: ``clear(scenario, settings) -> MarketResult``.

The GUI, the CLI, reports and tests all call :func:`clear`. It returns pandas
DataFrames (units in the column names) and a small summary; it never formats
for a screen.

Mechanisms:

* ``welfare`` — the welfare-maximising clearing of the prosumers' own cost and
  value curves over the whole horizon, with their feasible sets and the grid
  (tariffs) as outside option; the price is read from the balance constraint's
  dual (:mod:`core.welfare`), as the middle of the interval of prices that support
  the allocation when there is more than one. Its price iteration (tâtonnement) is in ``trace``.
* ``uniform``, ``pay_as_bid``, ``vcg``, ``trade_reduction`` — the double
  auctions of :mod:`core.mechanisms`, cleared period by period in time order,
  each period's bids from the state the earlier ones left (:mod:`core.auction_day`).

Every outcome is valued the same way (:mod:`core.outcome`): ``summary["welfare"]``
is value − cost − net grid cost with the true curves, whatever the mechanism;
what the bids declared is ``summary["declared_gains"]``; ``traded_kwh`` is the
energy traded between prosumers. ``agents`` holds each prosumer's day,
``agent_periods`` each prosumer's periods (energy with the market and the grid,
dispatch, state of charge, money), ``periods`` the market's periods (price and
its interval, traded energy, grid, welfare).

With ``audit`` the result carries the properties audit of the chosen period
(:mod:`core.properties`) and the comparison of every auction on it; with
``compare`` the five mechanisms' days side by side (``mechanisms``).
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

from core.auction_day import AuctionDay, book_at, clear_day, no_trade_interval, state_at
from core.bids import Fleet, fleet_arrays
from core.errors import Cancelled, ClearingError
from core.mechanisms import MECHANISMS, OrderBook, supply_demand_curves
from core.outcome import DayOutcome, from_auction, from_dispatch, value_day
from core.properties import Audit, audit, compare_mechanisms
from core.scenario.model import Scenario
from core.welfare import (
    PriceResponse,
    PriceTrace,
    WelfareProblem,
    decentralised_gap,
    outside_option,
    tatonnement,
)

AUCTIONS = ("uniform", "pay_as_bid", "vcg", "trade_reduction")
NETWORK_CHOICES = ("none", "socp", "lindistflow", "ac", "dc")
FAIRNESS_CHOICES = ("efficiency", "proportional", "maxmin")
FAIRNESS_LABELS = {"efficiency": "Efficiency (max Σ U)", "proportional": "Proportional (max Σ ln U)",
                   "maxmin": "Max-min (max min U)"}
FAIRNESS_AUDIT_MAX_AGENTS = 300  # above this, the rules are compared only when one is chosen (seconds per rule)
AUDIT_ALL_AGENTS = 120  # books with more agents search only the AUDIT_MAX_AGENTS most active for lies
AUDIT_MAX_AGENTS = 25
NETWORK_LABELS = {
    "none": "None (copper plate)",
    "socp": "AC (exact, SOCP)",
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
    plate), ``socp`` (the exact branch-flow model, :mod:`core.branch_flow`: the AC
    optimum, losses exact, its exactness gap reported; where the relaxation is not
    exact it falls back to ``ac`` and says so), ``lindistflow`` (voltages, ratings, losses by iterated loss
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
    compare: bool = True  # the five mechanisms' days side by side (result.mechanisms)

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
    price: float | None  # the clearing price shown on the curves (None: nothing traded)
    traded_kwh: float  # energy traded between prosumers in the period
    retail_price: float
    feed_in_price: float
    price_interval: tuple[float, float] | None = None  # every price in it clears the period


@dataclass
class MarketResult:
    """Everything a cleared market shows. DataFrames carry units in their column names.

    * ``agents``: one row per prosumer (totals over the day, valued with the true curves: :mod:`core.outcome`);
    * ``agent_periods``: one row per prosumer and period (market and grid energy, dispatch, state of
      charge ``soc_kwh`` at the end of the period, money);
    * ``periods``: one row per period (price and its interval, traded energy, grid, welfare…);
    * ``curves``: the chosen period's supply and demand; ``book``: its bids as cleared;
    * ``audit`` / ``comparison``: the properties of the chosen period;
    * ``mechanisms``: every mechanism's day on the same scale (``compare``);
    * ``trace``: the price iteration (welfare clearing);
    * ``summary``: headline numbers; ``warnings``: bids the market had to change (clipped, cut).
    """

    settings: MarketSettings
    scenario_name: str
    currency: str
    period: int
    agents: pd.DataFrame
    agent_periods: pd.DataFrame
    periods: pd.DataFrame
    curves: Curves | None
    summary: dict
    book: OrderBook | None = None
    warnings: tuple[str, ...] = ()
    mechanisms: pd.DataFrame | None = None  # one row per mechanism: day and period metrics on one scale
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
# the last day solved (with its diagnostics), for the same reason: (scenario, result, _Day)
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
        with _price_response(few) as response:  # compiled once per kind of prosumer
            values[missing] = outside_option(few, response=response)
    else:
        return np.array(known, dtype=float)
    with _CACHE_LOCK:
        if len(_ALONE) + len(missing) > ALONE_CACHE_MAX:
            _ALONE.clear()
        _ALONE.update((keys[i], float(values[i])) for i in missing)
    return np.asarray(values, dtype=float)


def _curves(book: OrderBook, s: Scenario, t: int, price: float | None, traded: float,
            interval: tuple[float, float] | None) -> Curves:
    dq, dp, di, sq, spr, si = supply_demand_curves(book)
    name = lambda blocks, agents: [book.agents[int(a)] for a in agents[blocks]]  # noqa: E731
    return Curves(
        period=t,
        demand_kwh=np.asarray(dq), demand_price=np.asarray(dp), demand_agent=name(np.asarray(di), book.buy_agent),
        supply_kwh=np.asarray(sq), supply_price=np.asarray(spr), supply_agent=name(np.asarray(si), book.sell_agent),
        price=price, traded_kwh=traded,
        retail_price=s.tariffs.retail_import_price_per_kwh[t], feed_in_price=s.tariffs.feed_in_price_per_kwh[t],
        price_interval=interval,
    )


def _agent_meta(s: Scenario) -> pd.DataFrame:
    return pd.DataFrame({
        "agent": [p.id for p in s.prosumers],
        "bus": [p.bus for p in s.prosumers],
        "role": [p.role for p in s.prosumers],
        "der": [p.asset.kind if p.asset is not None else "" for p in s.prosumers],
        "storage_kwh": [p.asset.energy_kwh if p.asset is not None and p.asset.energy_kwh is not None else np.nan
                        for p in s.prosumers],
    })


def clear(scenario: Scenario, settings: MarketSettings | None = None, progress=None, cancelled=None,
          truth: Scenario | None = None) -> MarketResult:
    """Clear ``scenario``'s market as ``settings`` say. Raises ClearingError if it cannot be solved.

    ``progress(fraction, text)`` and ``cancelled()`` let a caller on another
    thread follow and stop the long parts (the price iteration, the audit).
    ``truth``: the prosumers' true curves when ``scenario`` is what they declared
    (a study's shaded bids): the outcome is valued with these (``welfare``),
    and what was declared is ``declared_gains``.
    The complete result: the last one :func:`clear_stages` yields.
    """
    return list(clear_stages(scenario, settings, progress, cancelled, truth=truth))[-1]


@dataclass
class _Context:
    """What the diagnostics need from the clearing they examine."""

    sol: object = None  # WelfareSolution (copper plate) or NetworkSolution
    alone: np.ndarray | None = None  # the outside options
    chosen: object = None  # the fairness rule's FairAllocation (copper plate at the tariffs)


@dataclass
class _Day:
    """What a solved day keeps to show another of its periods without solving again."""

    fleet: Fleet
    price: np.ndarray  # per period, nan where nothing traded
    price_lo: np.ndarray
    price_hi: np.ndarray
    traded_kwh: np.ndarray
    auction: AuctionDay | None = None  # auctions: each period's book and outcome
    der_kw: np.ndarray | None = None  # the welfare clearing's dispatch (its bids are built from it)


DIAGNOSTICS = ("decentralised check", "properties audit", "price iteration", "fairness comparison", "envy audit",
               "mechanism comparison")


def clear_stages(scenario: Scenario, settings: MarketSettings | None = None, progress=None,
                 cancelled=None, truth: Scenario | None = None) -> Iterator[MarketResult]:
    """The market first, then its diagnostics one by one: yields a result after each.

    The first is the clearing itself — prices, dispatch, payments, curves,
    DLMPs and flows, market power, and the chosen fairness rule's allocation —
    with ``pending`` naming the diagnostics still to come (:data:`DIAGNOSTICS`,
    in this order, as ``settings`` ask: the decentralised check, the properties
    audit, the price iteration, every fairness rule compared with the envy
    audit, every mechanism's day compared). Each next result has one more of
    them; the last is complete (``pending == ()``). A result yielded before is
    never changed afterwards. When nothing is pending there is one result.
    Once ``cancelled()`` returns True no further result is yielded.
    ``truth``: as in :func:`clear`.
    """
    settings = settings or MarketSettings()
    T = scenario.periods
    period = 0 if settings.period is None else settings.period
    if not 0 <= period < T:
        raise ValueError(f"period {period} is outside the horizon (0…{T - 1})")
    stop = (lambda: False) if cancelled is None else cancelled
    day_key = replace(settings, period=None) if truth is None and settings.network == "none" else None
    ctx = None
    hit = None
    if day_key is not None:
        with _CACHE_LOCK:
            hit = _DAY_CACHE.get(day_key)
        if hit is not None and hit[0] != scenario:
            hit = None
    if hit is not None:
        result, day = _at_period(scenario, hit[1], hit[2], period), hit[2]  # the day is solved: views change
    elif settings.mechanism == "welfare":
        result, ctx, day = _clear_welfare(scenario, settings, period, progress, cancelled, truth)
    else:
        result, day = _clear_auction(scenario, settings, period, truth)
    if settings.market_power and result.book is not None and result.market_power is None:
        t0 = time.perf_counter()
        result.market_power, result.market_power_summary = _market_power(settings, result.book)
        result.timings_s["market_power"] = time.perf_counter() - t0
    todo = _wanted(scenario, settings, ctx, result)
    if todo:
        result.pending = todo
        yield _snapshot(result)
        for k, item in enumerate(todo):  # each diagnostic shown as soon as it is done
            if stop():
                return
            _diagnose(scenario, settings, result, ctx, (item,), progress, stop, day)
            if stop():
                return
            result.pending = todo[k + 1:]
            if result.pending:
                yield _snapshot(result)
    if day_key is not None and hit is None:
        with _CACHE_LOCK:
            _DAY_CACHE.clear()
            _DAY_CACHE[day_key] = (scenario, _snapshot(result), day)
    yield result


def _snapshot(result: MarketResult) -> MarketResult:
    """A copy that later stages cannot change (they only set attributes and update these dicts)."""
    r = copy.copy(result)
    r.summary, r.timings_s = dict(result.summary), dict(result.timings_s)
    if result.fairness_summary is not None:
        r.fairness_summary = dict(result.fairness_summary)
    return r


def _wanted(s: Scenario, settings: MarketSettings, ctx: _Context | None, result: MarketResult) -> tuple[str, ...]:
    """The diagnostics ``settings`` ask for that this result does not have yet, quickest first."""
    copper = ctx is not None and settings.network == "none"
    todo = []
    if copper and settings.decentralised_check:
        todo.append("decentralised check")
    if settings.audit and result.audit is None and result.book is not None:
        todo.append("properties audit")
    if copper and settings.tatonnement:
        todo.append("price iteration")
    if copper and ctx.chosen is not None:
        todo.append("fairness comparison")
    if ctx is not None and settings.network != "none" and settings.fairness_audit:
        todo.append("envy audit")
    if settings.compare and result.mechanisms is None:
        todo.append("mechanism comparison")
    return tuple(todo)


def _diagnose(s: Scenario, settings: MarketSettings, result: MarketResult, ctx: _Context | None,
              todo: tuple[str, ...], progress, stop, day: _Day | None = None) -> None:
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
        # how far the iteration ends from the prices that clear (0 anywhere inside their interval)
        lo = result.periods.price_lo_per_kwh.to_numpy(dtype=float)
        hi = result.periods.price_hi_per_kwh.to_numpy(dtype=float)
        summary["tatonnement_max_price_gap"] = float(np.max(np.maximum(lo - trace.final, trace.final - hi).clip(0)))
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

        t0 = time.perf_counter()
        truth = result.book
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
    if "mechanism comparison" in todo and not stop():
        t0 = time.perf_counter()
        if progress is not None:
            progress(0.9, "comparing the mechanisms")
        known = (result, day) if day is not None and _comparable(settings) else None
        table = compare_days(s, settings, result.period, cancelled=stop, known=known)
        if table is not None:
            result.mechanisms = table
        timings["mechanism_comparison"] = time.perf_counter() - t0


def _price_columns(day: _Day) -> dict:
    return {"price_per_kwh": day.price, "price_lo_per_kwh": day.price_lo, "price_hi_per_kwh": day.price_hi}


def _period_view(s: Scenario, settings: MarketSettings, result: MarketResult, day: _Day, period: int) -> None:
    """Fill in what belongs to the chosen period: its price, its bids and curves, its bilateral trades."""
    price = float(day.price[period])
    traded = float(day.traded_kwh[period])
    lo, hi = float(day.price_lo[period]), float(day.price_hi[period])
    interval = (lo, hi) if np.isfinite(lo) and np.isfinite(hi) else None
    shown = price if np.isfinite(price) else None
    result.summary.update({
        "price_per_kwh": shown,
        "price_lo_per_kwh": lo if interval else None,
        "price_hi_per_kwh": hi if interval else None,
        "period_traded_kwh": traded,
    })
    if day.auction is not None:
        out = day.auction.outcomes[period]
        result.book = day.auction.books[period]
        result.summary["notes"] = out.notes
        result.bilateral = _loss_neutral_pairs(s, result.book, out, period)
        if len(result.bilateral) and "loss_kwh" in result.bilateral:
            result.summary["bilateral_loss_kwh"] = float(result.bilateral.loss_kwh.sum())
    elif day.der_kw is not None:
        # what each prosumer would bid from the state the clearing leaves it in; storages value their energy at
        # the clearing's own prices (the energy price with a network)
        forecast = np.where(np.isfinite(day.price), day.price, 0.5 * (day.price_lo + day.price_hi))
        result.book = book_at(day.fleet, period, state_at(day.fleet, day.der_kw, period), forecast).book
    result.curves = _curves(result.book, s, period, shown, traded, interval) if result.book is not None else None


def _at_period(s: Scenario, template: MarketResult, day: _Day, period: int) -> MarketResult:
    """A solved day's result seen at a period: its price, bids and curves change, nothing is re-solved (the
    same period: the result as it was, diagnostics included)."""
    r = _snapshot(template)
    r.timings_s = {"day_reused": True}
    if period == template.period:
        return r
    r.period = period
    r.settings = replace(template.settings, period=period)
    r.audit = r.comparison = r.market_power = r.market_power_summary = r.bilateral = None
    r.mechanisms = None  # its period columns belong to the period it was computed for
    _period_view(s, r.settings, r, day, period)
    return r


def _market_power(settings: MarketSettings, book: OrderBook) -> tuple[pd.DataFrame, dict]:
    """Concentration and market power in the chosen period's bids (:mod:`core.market_power`).

    Auctions: on their own outcome. The welfare clearing: on the uniform-price
    auction of the same truthful bids (its price-taking twin).
    """
    from core.market_power import market_power_report

    mech = "uniform" if settings.mechanism == "welfare" else settings.mechanism
    kw = {"k": settings.k} if mech == "uniform" else {}
    report = market_power_report(book, MECHANISMS[mech](book, **kw))
    summary = dict(report.summary)
    summary["measured_on"] = mech  # the welfare clearing is measured on its price-taking twin, the uniform auction
    return report.sellers, summary


def _frames(s: Scenario, fleet: Fleet, truth: Scenario | None, outcome: DayOutcome, alone: np.ndarray):
    """The outcome valued with the true curves (``truth`` when the scenario is a declaration)."""
    real = fleet if truth is None else fleet_arrays(truth, "tariffs")
    return value_day(real, outcome, alone, _agent_meta(s), s.horizon.labels())


def _no_trade(q: np.ndarray, tol: float = 1e-7) -> np.ndarray:
    """Periods in which nobody trades anything (prosumers × periods of kW)."""
    return np.all(np.abs(q) <= tol * (1.0 + np.abs(q).max(initial=0.0)), axis=0) if q.size else np.ones(
        q.shape[1], dtype=bool)


def _clear_welfare(s: Scenario, settings: MarketSettings, period: int, progress, cancelled,
                   truth: Scenario | None = None) -> tuple[MarketResult, _Context, _Day]:
    if settings.network != "none":
        return _clear_network(s, settings, period, progress, cancelled, truth)
    t0 = time.perf_counter()
    problem, lock = _welfare_problem(s, settings.grid_prices)
    try:
        sol = problem.solve()
        buy, sell = np.asarray(problem.buy.value, dtype=float), np.asarray(problem.sell.value, dtype=float)
    finally:
        if lock is not None:
            lock.release()
    timings = {"welfare": time.perf_counter() - t0}
    t1 = time.perf_counter()
    alone = _outside_option(s)
    timings["outside_option"] = time.perf_counter() - t1
    n = len(s.prosumers)
    fleet = fleet_arrays(s, settings.grid_prices)
    lam = sol.price_per_kwh
    outcome = from_dispatch("welfare", fleet, sol.trade_kw, sol.der_kw, sol.charge_kw, sol.flexible_kw,
                            np.tile(lam, (n, 1)), sol.grid_import_kw, sol.grid_export_kw, buy, sell)
    val = _frames(s, fleet, truth, outcome, alone)
    idle = _no_trade(sol.trade_kw)
    day = _Day(fleet, np.where(idle, np.nan, lam), sol.price_lo_per_kwh, sol.price_hi_per_kwh,
               outcome.traded_kwh, der_kw=sol.der_kw)
    periods = val.periods.assign(**_price_columns(day),
                                 retail_price_per_kwh=s.tariffs.retail_import_price_per_kwh,
                                 feed_in_price_per_kwh=s.tariffs.feed_in_price_per_kwh)
    wide = np.flatnonzero(sol.price_hi_per_kwh - sol.price_lo_per_kwh > 1e-9 * (1 + np.abs(lam)))
    summary = {
        **val.summary,
        "price_rule": ("the middle of the interval of prices that clear (the balance's dual where it is one price)"
                       if wide.size else "the balance constraint's dual (one price clears each period)"),
        "mean_price_per_kwh": float(np.nanmean(day.price)) if np.isfinite(day.price).any() else None,
        "solve_time_s": sol.solve_time_s,
        "status": sol.status,
    }
    if sol.extras.get("storage_burn_kwh", 0.0) > 1e-6:
        summary["storage_burn_kwh"] = float(sol.extras["storage_burn_kwh"])
    result = MarketResult(settings, s.name, s.currency, period, val.agents, val.agent_periods, periods, None,
                          summary, timings_s=timings)
    _period_view(s, settings, result, day, period)
    ctx = _Context(sol=sol, alone=alone)
    wanted = settings.fairness != "efficiency" or (
        settings.fairness_audit and len(s.prosumers) <= FAIRNESS_AUDIT_MAX_AGENTS)
    if wanted and settings.grid_prices == "tariffs":
        if progress is not None and settings.fairness != "efficiency":
            progress(0.2, f"allocating by the {settings.fairness} rule")
        t4 = time.perf_counter()
        ctx.chosen = _fairness_rule(s, settings, result, sol, alone)
        timings["fairness"] = time.perf_counter() - t4
    return result, ctx, day


def _network_problem(kind: str, s: Scenario, grid: str):
    """The compiled network problem of ``kind`` (``socp``, ``lindistflow``, ``dc``) for ``s``'s feeder and fleet
    structure, loaded with ``s``'s numbers, and its lock (None: a private one, the cached one being in use)."""
    from core.branch_flow import BranchFlowProblem
    from core.network.topology import radial
    from core.pricing import LinDistFlowProblem
    from core.prosumer import _signature

    def build():
        return BranchFlowProblem(s, grid) if kind == "socp" else LinDistFlowProblem(s, grid=grid, model=kind)

    net = radial(s)
    feeder = (net.bus_ids, net.parent.tobytes(), net.r_pu.tobytes(), net.x_pu.tobytes(), net.rating_pu.tobytes(),
              net.v_min_pu.tobytes(), net.v_max_pu.tobytes(), net.v0_pu, net.tap.tobytes(), net.g_sh_pu.tobytes(),
              net.b_sh_pu.tobytes(), net.base_kva, tuple(p.bus for p in s.prosumers))
    key = (kind, _signature(s, tuple(range(s.periods))), grid, feeder)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is not None and hit[1].acquire(blocking=False):
        hit[0].update(s)
        return hit[0], hit[1]
    if hit is not None:
        return build(), None  # in use by another thread
    problem = build()
    lock = threading.Lock()
    lock.acquire()
    with _CACHE_LOCK:
        if len(_CACHE) > 8:
            _CACHE.clear()
        _CACHE[key] = (problem, lock)
    return problem, lock


def _clear_socp(s: Scenario, settings: MarketSettings, cancelled) -> tuple[object, dict]:
    """The exact model; where its relaxation is not exact, the AC-checked LinDistFlow clearing, said plainly."""
    from core.branch_flow import EXACT_GAP, clear_network_socp

    problem, lock = _network_problem("socp", s, settings.grid_prices)
    try:
        sol = clear_network_socp(s, cancelled=cancelled, problem=problem)
    finally:
        if lock is not None:
            lock.release()
    gap = sol.checks["exactness_gap"]
    if gap <= EXACT_GAP:
        return sol, {"exactness_gap": gap}
    worst = np.unravel_index(int(np.argmax(np.abs(sol.exactness_gap))), sol.exactness_gap.shape)
    note = (f"the exact (SOCP) model's relaxation is not exact here (P² + Q² falls {gap:.2%} short of v·ℓ on line "
            f"{sol.net.line_ids[worst[0]]} at period {worst[1]}: it would draw current for nothing, as happens when "
            "energy has a negative price); the prices shown are LinDistFlow's, corrected by the AC power flow")
    ac, checks = _clear_linear(s, settings, "ac", cancelled)
    return ac, {**checks, "exactness_gap": gap, "network_note": note, "fallback": "ac"}


def _clear_linear(s: Scenario, settings: MarketSettings, network: str, cancelled) -> tuple[object, dict]:
    """LinDistFlow (``lindistflow``), AC-checked (``ac``) or DC, on the compiled problem of ``s``'s structure."""
    from core.pricing import clear_network, clear_network_ac

    kind = "dc" if network == "dc" else "lindistflow"
    problem, lock = _network_problem(kind, s, settings.grid_prices)
    try:
        if network == "ac":
            return clear_network_ac(s, grid=settings.grid_prices, cancelled=cancelled, problem=problem)
        return clear_network(s, grid=settings.grid_prices, model=kind, cancelled=cancelled, problem=problem), {}
    finally:
        if lock is not None:
            lock.release()


def _clear_network(s: Scenario, settings: MarketSettings, period: int, progress, cancelled,
                   truth: Scenario | None = None) -> tuple[MarketResult, _Context, _Day]:
    from core.welfare import grid_prices

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
        if settings.network == "socp":
            sol, checks = _clear_socp(s, settings, cancelled)
        else:
            sol, checks = _clear_linear(s, settings, settings.network, cancelled)
        if not (cancelled is not None and cancelled()):  # a clearing stopped early is not the answer
            with _CACHE_LOCK:
                _NETWORK_CACHE.clear()
                _NETWORK_CACHE[key] = (s, sol, checks)
    timings = {"network_clearing": time.perf_counter() - t0, "network_reused": cached is not None and cached[0] == s}
    T = s.periods
    alone = _outside_option(s)
    net = sol.net
    n = len(s.prosumers)
    bus_of = np.array([net.index[p.bus] for p in s.prosumers], dtype=int)
    fleet = fleet_arrays(s, settings.grid_prices)
    buy, sell = grid_prices(s, tuple(range(T)), settings.grid_prices)
    outcome = from_dispatch("welfare", fleet, sol.trade_kw, sol.der_kw, sol.charge_kw, sol.flexible_kw,
                            sol.dlmp[bus_of] if n else np.zeros((0, T)), sol.grid_import_kw, sol.grid_export_kw,
                            buy, sell)
    val = _frames(s, fleet, truth, outcome, alone)
    buses, lines = sol.bus_frame(None), sol.line_frame(None)
    if settings.network == "ac":
        if checks.get("v_pu_ac") is not None:
            buses["v_pu_ac"] = np.concatenate([checks["v_pu_ac"][:, t] for t in range(T)])
    energy = sol.energy[0]
    idle = _no_trade(sol.trade_kw)
    day = _Day(fleet, np.where(idle, np.nan, energy), energy, energy, outcome.traded_kwh, der_kw=sol.der_kw)
    periods = val.periods.assign(
        **_price_columns(day),
        dlmp_min_per_kwh=sol.dlmp.min(axis=0), dlmp_max_per_kwh=sol.dlmp.max(axis=0),
        loss_kwh=sol.loss_kw * s.horizon.step_h, v_min_pu=sol.v_pu.min(axis=0),
        max_loading_pct=np.nanmax(np.where(np.isfinite(sol.loading_pct), sol.loading_pct, -np.inf), axis=0)
        if net.n > 1 else np.zeros(T),
        retail_price_per_kwh=s.tariffs.retail_import_price_per_kwh,
        feed_in_price_per_kwh=s.tariffs.feed_in_price_per_kwh,
    )
    parts = {"energy": sol.energy, "loss": sol.loss, "congestion": sol.congestion, "voltage": sol.voltage}
    local = {k: float(np.max(np.abs(v[:, period]))) for k, v in parts.items() if k != "energy"}
    largest = max(local, key=local.get) if max(local.values(), default=0.0) > NOISE_PER_KWH else "none"
    summary = {
        **val.summary,
        "network": settings.network,
        "network_model": _model_text(sol, model, checks),
        "price_rule": "the energy price at the substation (each bus pays its DLMP)",
        "mean_price_per_kwh": float(np.mean(energy)),
        "dlmp_min_per_kwh": float(sol.dlmp[:, period].min()),
        "dlmp_max_per_kwh": float(sol.dlmp[:, period].max()),
        "largest_dlmp_component": largest,
        "loss_kwh": float(periods.loss_kwh.sum()),
        "v_min_pu": float(sol.v_pu[:, period].min()),
        "max_loading_pct": float(periods.max_loading_pct[period]),
        "decomposition_error_per_kwh": sol.decomposition_error,
        "solve_time_s": sol.solve_time_s,
        "status": "optimal",
    }
    summary.update({k: v for k, v in checks.items() if not isinstance(v, np.ndarray)})
    result = MarketResult(settings, s.name, s.currency, period, val.agents, val.agent_periods, periods, None,
                          summary, buses=buses, lines=lines, timings_s=timings)
    _period_view(s, settings, result, day, period)
    return result, _Context(sol=sol, alone=alone), day


def _clear_auction(s: Scenario, settings: MarketSettings, period: int,
                   truth: Scenario | None = None) -> tuple[MarketResult, _Day]:
    t0 = time.perf_counter()
    grid = settings.grid_prices
    if truth is None:
        auction = clear_day(s, settings.mechanism, settings.k, grid=grid)
    else:  # the prosumers bid what `s` declares; their physics is `truth`'s
        auction = clear_day(truth, settings.mechanism, settings.k, declared=s, grid=grid)
    elapsed = time.perf_counter() - t0
    fleet = auction.fleet
    outcome = from_auction(auction, fleet.retail, fleet.feed_in)
    alone = _outside_option(s if truth is None else truth)
    val = _frames(s, fleet, None, outcome, alone)  # `fleet` already holds the true physics
    T = s.periods
    price = np.array([np.nan if o.price is None else float(o.price) for o in auction.outcomes])
    lo, hi = np.full(T, np.nan), np.full(T, np.nan)
    for t, (o, b) in enumerate(zip(auction.outcomes, auction.books, strict=True)):
        if o.price_interval is not None and o.traded_qty > 0:
            lo[t], hi[t] = o.price_interval
        else:
            lo[t], hi[t] = no_trade_interval(b, float(fleet.retail[t]), float(fleet.feed_in[t]))
    day = _Day(fleet, price, lo, hi, outcome.traded_kwh, auction=auction)
    periods = val.periods.assign(**_price_columns(day),
                                 retail_price_per_kwh=s.tariffs.retail_import_price_per_kwh,
                                 feed_in_price_per_kwh=s.tariffs.feed_in_price_per_kwh)
    rule = {"uniform": f"k = {settings.k:g} on the interval of prices that clear",
            "trade_reduction": "McAfee's p0 where all efficient trades happen (else buyers and sellers pay "
                               "different prices: no single price)",
            "pay_as_bid": "none: every block pays its own bid", "vcg": "none: Clarke pivot payments"}
    summary = {
        **val.summary,
        "price_rule": rule[settings.mechanism],
        "mean_price_per_kwh": float(np.nanmean(price)) if np.isfinite(price).any() else None,
        "solve_time_s": elapsed,
        "status": "optimal",
    }
    result = MarketResult(settings, s.name, s.currency, period, val.agents, val.agent_periods, periods, None,
                          summary, warnings=tuple(auction.warnings), timings_s={"clear": elapsed})
    _period_view(s, settings, result, day, period)
    return result, day


COMPARE_COLUMNS = ("welfare", "efficiency", "gain_over_outside", "platform_surplus", "traded_kwh",
                   "grid_import_kwh", "grid_export_kwh", "worst_off_gain", "ir_violations", "max_ic_gain",
                   "period_welfare", "period_traded_kwh", "period_price_per_kwh", "period_platform_surplus")
# every mechanism's day on the copper plate at the tariffs, for the comparison: (scenario, k) → {mechanism: day}
_COMPARE_CACHE: dict[tuple, dict] = {}


def _comparable(settings: MarketSettings) -> bool:
    return settings.network == "none" and settings.grid_prices == "tariffs" and settings.fairness == "efficiency"


def _compare_days(s: Scenario, k: float, cancelled, known: tuple | None) -> dict | None:
    """Each mechanism's (result, day) on the copper plate at the tariffs, solved once per scenario."""
    with _CACHE_LOCK:
        hit = _COMPARE_CACHE.get(("days", k))
    days = dict(hit[1]) if hit is not None and hit[0] == s else {}
    if known is not None:
        days.setdefault(known[0].settings.mechanism, known)
    base = MarketSettings(k=k, grid="tariffs", audit=False, tatonnement=False, decentralised_check=False,
                          market_power=False, fairness_audit=False, compare=False)
    for mech in MECHANISM_NAMES:
        if mech in days:
            continue
        if cancelled is not None and cancelled():
            return None
        settings = replace(base, mechanism=mech)
        if mech == "welfare":
            r, _, day = _clear_welfare(s, settings, 0, None, cancelled)
        else:
            r, day = _clear_auction(s, settings, 0)
        days[mech] = (r, day)
    with _CACHE_LOCK:
        _COMPARE_CACHE.clear()
        _COMPARE_CACHE[("days", k)] = (s, days)
    return days


def compare_days(s: Scenario, settings: MarketSettings, period: int, cancelled=None,
                 known: tuple | None = None) -> pd.DataFrame | None:
    """The five mechanisms' days on one scale (:mod:`core.outcome`), copper plate at the tariffs.

    One row per mechanism: the day's welfare, its **efficiency**
    ``(W − W⁰)/(W* − W⁰)`` (the share of the welfare clearing's gain over everyone
    trading with the grid alone, ``W⁰``, that the mechanism achieves), platform
    surplus, traded energy, grid import and export, the worst-off prosumer's gain,
    individual-rationality violations against the tariffs, the best gain a prosumer
    finds by misreporting in ``period`` (measured on that period's bids; VCG's is 0),
    and the same quantities for ``period`` alone. ``known``: a (result, day) already
    cleared that way. ``None`` when cancelled.
    """

    days = _compare_days(s, settings.k, cancelled, known)
    if days is None:
        return None
    rows = []
    for mech in MECHANISM_NAMES:
        r, day = days[mech]
        row = {"mechanism": mech, **{c: r.summary.get(c) for c in ("welfare", "gain_over_outside",
                                                                     "platform_surplus", "traded_kwh",
                                                                     "grid_import_kwh", "grid_export_kwh",
                                                                     "worst_off_gain", "ir_violations")}}
        p = r.periods.iloc[period]
        row.update(period_welfare=float(p.welfare), period_traded_kwh=float(p.traded_kwh),
                   period_price_per_kwh=float(p.price_per_kwh), period_platform_surplus=float(p.platform_surplus))
        row["max_ic_gain"] = np.nan  # the welfare clearing: a price-taking planner, no bids to misreport
        if day.auction is not None:
            book = day.auction.books[period]
            kw = {"k": settings.k} if mech == "uniform" else {}
            limit = None if len(book.agents) <= AUDIT_ALL_AGENTS else AUDIT_MAX_AGENTS
            try:
                row["max_ic_gain"] = audit(book, mech, max_agents=limit, cancelled=cancelled, **kw).max_ic_gain
            except Cancelled:
                return None
        rows.append(row)
    table = pd.DataFrame(rows)
    best = float(table.gain_over_outside.iloc[0])
    # the share of the welfare clearing's gain; no share of a gain that is solver noise
    meaningful = best > 1e-6 * (1.0 + abs(float(table.welfare.iloc[0])))
    table["efficiency"] = table.gain_over_outside / best if meaningful else np.nan
    table.attrs["outside_welfare"] = float(table.welfare.iloc[0] - best)
    table.attrs["period"] = period
    return table[["mechanism", *COMPARE_COLUMNS]]


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


def _model_text(sol, model: str, checks: dict) -> str:
    """Which model produced the prices, in words, with its distance from the AC physics."""
    if sol.model == "socp":
        return (f"AC branch flow, exact (SOCP relaxation; exactness gap {checks.get('exactness_gap', 0.0):.1e}, "
                "losses r·ℓ exact)")
    if model == "dc":
        return "DC: line ratings on real power, no losses, no voltages"
    text = f"LinDistFlow with loss factors iterated {sol.iterations}×"
    if checks.get("ac_rounds"):
        text += f", voltage limits corrected by the AC power flow in {checks['ac_rounds']} round(s)"
    if checks.get("fallback"):
        text += " (the exact model's relaxation was not exact here)"
    return text


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
    "Cancelled",
    "ClearingError",
    "Curves",
    "MarketResult",
    "MarketSettings",
    "clear",
    "clear_stages",
    "with_settings",
]
