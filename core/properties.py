"""The audit of a cleared market ("Market Design I": IC, IR, BB, efficiency).

For an order book taken as the agents' *true* values (the truthful book of
:mod:`core.bids`) and a mechanism:

* **Individual rationality** per agent: its utility ``Σ value of fills − payment``
  (a seller's value is minus its cost) is ≥ 0 — no worse than staying out, i.e.
  than trading with the grid at the tariffs, which bound every truthful bid.
* **Budget balance**: the platform's surplus ``Σ payments`` (≥ 0 weakly
  balanced, = 0 strongly, < 0 a deficit someone must fund).
* **Efficiency**: the true welfare of the allocation over the optimal one.
* **Incentive compatibility, measured**: for each agent, the best unilateral
  misreport found over a grid of shaded bids (a buyer bids ``(1 − s)·v``, a
  seller asks ``(1 + s)·c``), and its gain over telling the truth. Zero for
  every agent and shade is what dominant-strategy IC predicts (VCG); a positive
  gain is a measured incentive to lie.

The comparison table across mechanisms on one book shows the
Myerson–Satterthwaite trade-off: none has all four.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.errors import Cancelled
from core.mechanisms import MECHANISMS, AuctionOutcome, OrderBook, efficient_allocation

SHADES: tuple[float, ...] = (-0.3, -0.15, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75)
TOL = 1e-7


def true_utility(truth: OrderBook, outcome: AuctionOutcome) -> np.ndarray:
    """Per agent: Σ true value of bought kWh − Σ true cost of sold kWh − payment (currency)."""
    n = len(truth.agents)
    value = np.bincount(truth.buy_agent, weights=outcome.buy_fill * truth.buy_price, minlength=n)
    cost = np.bincount(truth.sell_agent, weights=outcome.sell_fill * truth.sell_price, minlength=n)
    return value - cost - outcome.agent_payment


def optimal_welfare(truth: OrderBook) -> float:
    """The largest welfare any allocation of the book achieves (bids ≥ asks matched)."""
    buy_fill, sell_fill = efficient_allocation(truth)[:2]
    return float(buy_fill @ truth.buy_price - sell_fill @ truth.sell_price)


def shaded(book: OrderBook, agent: int, s: float) -> OrderBook:
    """``book`` with agent's bids scaled by (1 − s) and its asks by (1 + s)."""
    bp = np.where(book.buy_agent == agent, book.buy_price * (1.0 - s), book.buy_price)
    sp = np.where(book.sell_agent == agent, book.sell_price * (1.0 + s), book.sell_price)
    return OrderBook(bp, book.buy_qty, book.buy_agent, sp, book.sell_qty, book.sell_agent, book.agents)


@dataclass
class Audit:
    """The four properties of one mechanism on one book."""

    mechanism: str
    agents: pd.DataFrame  # agent, utility, ir_ok, best_shade, ic_gain
    platform_surplus: float
    welfare: float
    optimal_welfare: float
    traded_kwh: float
    ic_agents_searched: int = 0  # how many agents the IC search tried (the most active ones on a large book)

    @property
    def efficiency(self) -> float:
        return 1.0 if abs(self.optimal_welfare) < 1e-12 else self.welfare / self.optimal_welfare

    @property
    def ir(self) -> bool:
        return bool(self.agents.ir_ok.all())

    @property
    def weakly_budget_balanced(self) -> bool:
        return self.platform_surplus >= -TOL

    @property
    def max_ic_gain(self) -> float:
        return float(self.agents.ic_gain.max()) if len(self.agents) else 0.0

    def summary(self) -> dict:
        return {
            "mechanism": self.mechanism,
            "traded_kwh": self.traded_kwh,
            "welfare": self.welfare,
            "efficiency": self.efficiency,
            "platform_surplus": self.platform_surplus,
            "budget_balanced": self.weakly_budget_balanced,
            "ir_violations": int((~self.agents.ir_ok).sum()),
            "individually_rational": self.ir,
            "max_ic_gain": self.max_ic_gain,
            "incentive_compatible": self.max_ic_gain <= 1e-6,
            "ic_agents_searched": self.ic_agents_searched,
        }


def _vcg_utility_under_lie(truth: OrderBook, lie: OrderBook, agent: int, w_without: float) -> float:
    """Agent's true utility in VCG when it reports ``lie``: only the allocation changes with its report.

    VCG pays ``W_{−i} − (W_lie − v^lie_i(x))``, and ``W_{−i}`` does not depend on i's
    report, so one efficient allocation of the lie gives the answer.
    """
    bf, sf = efficient_allocation(lie)[:2]
    w_lie = float(bf @ lie.buy_price - sf @ lie.sell_price)
    mine_b, mine_s = lie.buy_agent == agent, lie.sell_agent == agent
    v_lie = float(bf[mine_b] @ lie.buy_price[mine_b] - sf[mine_s] @ lie.sell_price[mine_s])
    v_true = float(bf[mine_b] @ truth.buy_price[mine_b] - sf[mine_s] @ truth.sell_price[mine_s])
    payment = w_without - (w_lie - v_lie)
    return v_true - payment


def audit(
    truth: OrderBook,
    mechanism: str | Callable[[OrderBook], AuctionOutcome],
    shades=SHADES,
    agents: list[int] | None = None,
    max_agents: int | None = None,
    cancelled=None,
    progress=None,
    **kwargs,
) -> Audit:
    """IR, BB, efficiency and measured IC of ``mechanism`` when ``truth`` holds the true values.

    ``agents`` restricts the IC search (default: every agent with a block);
    ``max_agents`` keeps the most active ones (by declared quantity), for large
    books. ``cancelled()`` returning True raises :class:`Cancelled`;
    ``progress(fraction)`` follows the search.
    """
    fn = MECHANISMS[mechanism] if isinstance(mechanism, str) else mechanism
    name = mechanism if isinstance(mechanism, str) else getattr(mechanism, "__name__", "mechanism")
    out = fn(truth, **kwargs)
    u = true_utility(truth, out)
    n = len(truth.agents)
    volume = np.bincount(truth.buy_agent, weights=truth.buy_qty, minlength=n) + np.bincount(
        truth.sell_agent, weights=truth.sell_qty, minlength=n
    )
    search = [i for i in range(n) if volume[i] > 0] if agents is None else list(agents)
    if max_agents is not None and len(search) > max_agents:
        search = sorted(search, key=lambda i: -volume[i])[:max_agents]
    gain = np.zeros(n)
    best = np.zeros(n)
    fast_vcg = name == "vcg"
    for k, i in enumerate(search):
        if cancelled is not None and cancelled():
            raise Cancelled
        w_without = optimal_welfare(truth.without_agent(i)) if fast_vcg else 0.0
        for s in shades:
            lie_book = shaded(truth, i, s)
            if fast_vcg:
                g = _vcg_utility_under_lie(truth, lie_book, i, w_without) - u[i]
            else:
                g = true_utility(truth, fn(lie_book, **kwargs))[i] - u[i]
            if g > gain[i] + 1e-12:
                gain[i], best[i] = g, s
        if progress is not None:
            progress((k + 1) / max(len(search), 1))
    frame = pd.DataFrame(
        {
            "agent": list(truth.agents),
            "utility": u,
            "ir_ok": u >= -TOL,
            "best_shade": best,
            "ic_gain": gain,
        }
    )
    value = float(out.buy_fill @ truth.buy_price - out.sell_fill @ truth.sell_price)
    return Audit(
        name,
        frame,
        float(out.platform_surplus),
        value,
        optimal_welfare(truth),
        float(out.traded_qty),
        ic_agents_searched=len(search),
    )


def compare_mechanisms(
    truth: OrderBook,
    mechanisms=("uniform", "pay_as_bid", "vcg", "trade_reduction"),
    shades=SHADES,
    max_agents: int | None = None,
    cancelled=None,
    progress=None,
    **kwargs,
) -> pd.DataFrame:
    """One row per mechanism: traded kWh, welfare, efficiency, platform surplus, IR, BB, IC gain.

    On any book with a real trade it reproduces Myerson–Satterthwaite: VCG is
    efficient, IR and IC but runs a deficit; uniform price and trade reduction
    balance the budget but reward misreports or lose efficiency.
    """
    rows = []
    for k, m in enumerate(mechanisms):
        extra = {"k": kwargs["k"]} if m == "uniform" and "k" in kwargs else {}
        sub = None if progress is None else (lambda f, k=k: progress((k + f) / len(mechanisms)))
        rows.append(
            audit(truth, m, shades=shades, max_agents=max_agents, cancelled=cancelled, progress=sub, **extra).summary()
        )
    return pd.DataFrame(rows)
