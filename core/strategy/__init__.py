"""Strategic bidding: Cournot, bidding games, pure Nash equilibria ("Strategic Behavior and Market Power").

Three parts, after the chapter's section:

**Cournot** (sellers choose quantities; linear inverse demand ``P(Q) = a − bQ``,
constant marginal costs ``c_i``, optional capacities ``k_i``). Firm ``i``
maximises ``(a − bQ − c_i)·q_i``; its first-order condition
``a − bQ − b·q_i − c_i = 0`` gives the best response
``q_i = clip((a − c_i − b·Q_{−i})/(2b), 0, k_i)`` and, when every firm is
interior, ``P* = (a + Σc)/(n+1)``, ``q_i* = (P* − c_i)/b``; for ``n`` symmetric
firms ``q* = (a − c)/(b(n+1))``. At an interior equilibrium
``L_i = (P − c_i)/P = b·q_i/P = s_i/|ε|`` with ``|ε| = P/(bQ)`` — the chapter's
relation, checked per firm (a firm held at its capacity has ``L_i > s_i/|ε|``).

**Bidding games** on an order book: the players are sellers (optionally
buyers); a player's strategy is a markup ``m ∈ [0, m_max]`` on its true asks
(``ask + m·|ask|``, which is ``ask·(1+m)`` for a positive ask; a buyer shades its
bids to ``bid − m·|bid|``) and, optionally, a withheld fraction
``w ∈ [0, w_max]`` of its offered kWh. Its payoff is its *true* profit under a
mechanism of :mod:`core.mechanisms` — payment received − true cost of what it
sells (a buyer: true value − payment), i.e. :func:`core.properties.true_utility`
of the declared book. The strategy set is the interval (a box with
withholding), searched on a grid (21 markups by default) with a local
refinement (a finer grid around the best grid point, ``refine`` levels).
:func:`nash_search` runs best-response dynamics and reports convergence, or a
cycle (no pure equilibrium found).

**Existence** (Debreu–Glicksberg–Fan): a pure equilibrium exists when every
strategy set is non-empty, compact and convex, and every payoff is continuous
in the strategy profile and quasi-concave in the player's own strategy.
:func:`existence_check` checks the last two numerically along each player's own
strategy; the uniform-price auction with step curves fails continuity (a seller
whose ask crosses a rival's loses the sale at once).
"""

from __future__ import annotations

from core.strategy.bidding import BiddingGame, NashResult, PathStep, Play, Player, largest_sellers, nash_search
from core.strategy.cournot import (
    VERDICT_HOLDS,
    CournotGame,
    CournotResult,
    cournot_equilibrium,
    cournot_interior,
    cournot_symmetric,
)
from core.strategy.existence import ExistenceCheck, existence_check

__all__ = [
    "VERDICT_HOLDS",
    "BiddingGame",
    "CournotGame",
    "CournotResult",
    "ExistenceCheck",
    "NashResult",
    "PathStep",
    "Play",
    "Player",
    "cournot_equilibrium",
    "cournot_interior",
    "cournot_symmetric",
    "existence_check",
    "largest_sellers",
    "nash_search",
]
