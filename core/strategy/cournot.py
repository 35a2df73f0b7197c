"""Cournot competition: quantity-setting sellers, the symmetric, interior and general equilibria."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.market_power import lerner_cournot, lerner_observed

VERDICT_HOLDS = "the conditions hold, a pure equilibrium exists"


def _num(x, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)) or not np.isfinite(x):
        raise ValueError(f"{what} must be a finite number, got {x!r}")
    return float(x)


@dataclass(frozen=True, eq=False)
class CournotGame:
    """Cournot competition: ``P(Q) = a − bQ``, firm ``i`` has cost ``c_i·q_i`` and ``0 ≤ q_i ≤ k_i``.

    Payoff ``π_i = (a − bQ − c_i)·q_i``. Without a capacity a firm's strategy set
    is ``[0, a/b]`` (beyond ``a/b`` the price is negative whatever the others do),
    so every strategy set is a compact interval. Profiles are arrays of shape
    ``(n, 1)``.
    """

    a: float
    b: float
    costs: tuple[float, ...]
    capacities: tuple[float, ...] | None = None
    names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        a, b = _num(self.a, "a"), _num(self.b, "b")
        if b <= 0:
            raise ValueError(f"b must be > 0 (demand slopes down), got {b!r}")
        costs = tuple(_num(c, "a cost") for c in self.costs)
        if not costs:
            raise ValueError("a Cournot game needs at least one firm")
        caps = None
        if self.capacities is not None:
            caps = tuple(_num(k, "a capacity") for k in self.capacities)
            if len(caps) != len(costs) or any(k < 0 for k in caps):
                raise ValueError(f"capacities must be ≥ 0, one per firm, got {self.capacities!r}")
        names = tuple(self.names) if self.names is not None else tuple(f"firm {i + 1}" for i in range(len(costs)))
        if len(names) != len(costs):
            raise ValueError(f"{len(names)} names for {len(costs)} firms")
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)
        object.__setattr__(self, "costs", costs)
        object.__setattr__(self, "capacities", caps)
        object.__setattr__(self, "names", names)

    @property
    def n(self) -> int:
        """The number of firms."""
        return len(self.costs)

    @property
    def player_names(self) -> tuple[str, ...]:
        """The firms' names."""
        return self.names

    def upper(self, i: int) -> float:
        """The largest quantity firm ``i`` may choose: its capacity, else ``a/b``."""
        return self.capacities[i] if self.capacities is not None else max(self.a / self.b, 0.0)

    def payoff(self, i: int, profile) -> float:
        """``π_i = (a − b·Σq − c_i)·q_i``."""
        q = np.asarray(profile, dtype=np.float64).reshape(self.n, -1)[:, 0]
        return float((self.a - self.b * q.sum() - self.costs[i]) * q[i])

    def dims(self, i: int, points: int = 21) -> list[tuple[str, float, float, np.ndarray]]:
        """Own-strategy coordinates for :func:`existence_check`: ``[("q_kwh", 0, k_i, grid)]``."""
        hi = self.upper(i)
        return [("q_kwh", 0.0, hi, np.linspace(0.0, hi, points))]

    def default_contexts(self) -> list[np.ndarray]:
        """Others' quantities for :func:`existence_check`: all at 0, at half their upper bound, at the bound."""
        up = np.array([self.upper(i) for i in range(self.n)])
        return [np.zeros((self.n, 1)), (0.5 * up)[:, None], up[:, None].copy()]


@dataclass(frozen=True, eq=False)
class CournotResult:
    """A Cournot equilibrium: quantities, price, profits, and per-firm Lerner indices.

    ``table`` columns: ``firm, cost, capacity, q, share, profit, lerner,
    lerner_cournot, identity_holds, status`` with ``lerner = (P − c_i)/P``,
    ``lerner_cournot = s_i/|ε|`` and ``status`` one of ``"interior"``,
    ``"at capacity"``, ``"out"`` (``q_i = 0``). ``elasticity = −P/(bQ)``, the
    point elasticity of the linear demand at the equilibrium.
    """

    game: CournotGame
    q: np.ndarray
    total_q: float
    price: float
    profits: np.ndarray
    elasticity: float
    table: pd.DataFrame
    method: str
    iterations: int = 0
    converged: bool = True

    @property
    def identity_holds(self) -> bool:
        """``L_i = s_i/|ε|`` for every interior firm (to 1e-9)."""
        t = self.table
        return bool(t.loc[t.status == "interior", "identity_holds"].all())


def _cournot_result(
    game: CournotGame, q: np.ndarray, method: str, iterations: int = 0, converged: bool = True, tol: float = 1e-9
) -> CournotResult:
    q = np.asarray(q, dtype=np.float64)
    total = float(q.sum())
    price = game.a - game.b * total
    costs = np.array(game.costs)
    profits = (price - costs) * q
    eps = -price / (game.b * total) if total > 0 else float("-inf")
    share = q / total if total > 0 else np.zeros_like(q)
    lern = np.atleast_1d(lerner_observed(np.full(q.shape, price), costs))
    lc = np.atleast_1d(lerner_cournot(share, eps))
    caps = game.capacities
    scale = max(abs(game.a), 1.0) / game.b
    status = []
    for i in range(game.n):
        if q[i] <= tol * scale:
            status.append("out")
        elif caps is not None and q[i] >= caps[i] - tol * scale:
            status.append("at capacity")
        else:
            status.append("interior")
    table = pd.DataFrame(
        {
            "firm": list(game.names),
            "cost": costs,
            "capacity": np.array(caps) if caps is not None else np.full(game.n, np.inf),
            "q": q,
            "share": share,
            "profit": profits,
            "lerner": lern,
            "lerner_cournot": lc,
            "identity_holds": np.isclose(lern, lc, rtol=tol, atol=tol),
            "status": status,
        }
    )
    return CournotResult(game, q, total, float(price), profits, float(eps), table, method, iterations, converged)


def cournot_symmetric(a: float, b: float, c: float, n: int) -> CournotResult:
    """Closed form for ``n`` identical firms ("Strategic Behavior": Cournot competition).

    ``q* = (a − c)/(b(n+1))`` each, ``Q* = n·q*``, ``P* = (a + n·c)/(n+1)``,
    ``L = (P* − c)/P* = (1/n)/|ε|`` with ``|ε| = P*/(bQ*)``. For ``a = 100``,
    ``b = 1``, ``c = 10``, ``n = 2``: ``q* = 30``, ``P* = 40``, ``L = 0.75``.
    Requires ``a > c`` (else nobody produces) and ``n ≥ 1``.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a whole number ≥ 1, got {n!r}")
    game = CournotGame(a, b, (c,) * int(n))
    if game.a <= game.costs[0]:
        raise ValueError(f"a = {game.a:g} ≤ c = {game.costs[0]:g}: no firm produces")
    q = (game.a - game.costs[0]) / (game.b * (n + 1))
    return _cournot_result(game, np.full(int(n), q), "closed form (symmetric)")


def cournot_interior(a: float, b: float, costs: Sequence[float], names: Sequence[str] | None = None) -> CournotResult:
    """Closed form of the asymmetric Cournot equilibrium when every firm produces ("Strategic Behavior").

    Summing the first-order conditions ``a − bQ − b·q_i − c_i = 0`` over the
    ``n`` firms: ``Q* = (n·a − Σc)/(b(n+1))``, ``P* = (a + Σc)/(n+1)``,
    ``q_i* = (P* − c_i)/b``. Valid only if every ``q_i* > 0`` (``P* > c_i``);
    otherwise raises ``ValueError`` naming the firm (use
    :func:`cournot_equilibrium`, which handles corners and capacities).
    """
    game = CournotGame(a, b, tuple(costs), names=None if names is None else tuple(names))
    c = np.array(game.costs)
    price = (game.a + c.sum()) / (game.n + 1)
    q = (price - c) / game.b
    bad = np.flatnonzero(q <= 0)
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"{game.names[i]}: cost {c[i]:g} ≥ the interior price {price:g}, so it would produce "
            f"{q[i]:g}; the equilibrium is not interior (use cournot_equilibrium)"
        )
    return _cournot_result(game, q, "closed form (interior)")


def cournot_equilibrium(
    a: float,
    b: float,
    costs: Sequence[float],
    capacities: Sequence[float] | None = None,
    names: Sequence[str] | None = None,
    tol: float = 1e-12,
    max_iter: int = 100_000,
) -> CournotResult:
    """Cournot equilibrium by best-response iteration, with capacities and corners ("Strategic Behavior").

    Firms respond in turn (Gauss–Seidel): ``q_i ← clip((a − c_i − b·Q_{−i})/(2b), 0, k_i)``
    until no quantity moves by more than ``tol·a/b``. The linear Cournot game is
    an exact potential game with the strictly concave potential
    ``Φ(q) = Σ(a − c_i)q_i − b·Σq_i² − b·Σ_{i<j} q_i q_j``, and each best response
    maximises ``Φ`` in one coordinate over an interval, so the iteration
    converges to the unique equilibrium (simultaneous responses would oscillate
    for ``n ≥ 3``).
    """
    game = CournotGame(
        a, b, tuple(costs), None if capacities is None else tuple(capacities), None if names is None else tuple(names)
    )
    q = np.zeros(game.n)
    up = np.array([game.upper(i) for i in range(game.n)])
    c = np.array(game.costs)
    scale = max(abs(game.a), 1.0) / game.b
    it = 0
    converged = False
    while it < max_iter:
        it += 1
        delta = 0.0
        for i in range(game.n):
            others = q.sum() - q[i]
            new = min(max((game.a - c[i] - game.b * others) / (2.0 * game.b), 0.0), up[i])
            delta = max(delta, abs(new - q[i]))
            q[i] = new
        if delta <= tol * scale:
            converged = True
            break
    return _cournot_result(game, q, "best-response iteration", it, converged)
