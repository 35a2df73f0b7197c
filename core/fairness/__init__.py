"""Fairness objectives, the envy audit and the price of fairness ("Market Design II: Fairness Objectives").

**Utility.** In every rule a participant's utility is its **gain over its
outside option**,

    U_i = (value_i − cost_i − payment_i) − U_i^0,      U_i^0 = outside_option(scenario)[i],

where ``U_i^0`` is what agent i earns trading with the grid alone at the
tariffs (:func:`core.welfare.outside_option`). At any individually rational
allocation ``U_i ≥ 0``, so ``ln U_i`` is defined and the rules compare on one
scale (currency over the horizon).

**Efficiency** (``rule="efficiency"``) is the welfare clearing
(:func:`core.welfare.solve_welfare`) priced at its uniform shadow prices λ*_t:
``payment_i = Δt·Σ_t λ*_t·(−q_{i,t})``, the competitive, budget-balanced
pricing rule. Its gains ``U*_i`` sum to ``G = Σ_i U*_i``.

The other rules, **proportional** (``max Σ_i ln U_i``: the Nash bargaining
solution over the outside options) and **max-min** (``max min_i U_i``, the
Rawlsian rule; optionally lexicographic), are computed in one of two regimes:

(a) ``transfers=True`` — transfers within the tariff band: the platform may
    move money between participants (budget balanced), but nobody's implied
    price may leave the grid's band — a participant never buys a kWh for less
    than the feed-in price nor sells one for more than the retail price
    (:func:`band_floor`). When equal gains ``U_i = G/n`` fit in the band, both
    ``max Σ ln U_i`` and ``max min U_i`` (and the lexicographic max-min) give
    them with the efficient dispatch and the lump sums ``τ_i = G/n − U*_i``
    (price of fairness 0). When they do not — a participant that does not
    trade cannot be paid at all — the rule chooses the dispatch and the
    payments together (:func:`_band_allocation`): raising the worst-off may
    take an inefficient trade, and fairness has a price. On the teaching
    feeder max-min makes B3 (value 8) buy 0.4 kWh from S3 (cost 9) so that
    both gain: W falls from 10 to 9.6, PoF 4 %.

(b) ``transfers=False`` (default) — every kWh settles at λ*, no side
    payments. The rule re-dispatches over the same feasible set as the
    welfare clearing (the :class:`~core.prosumer.FleetModel` constraints and the
    community balance with the grid at the tariffs) with

        U_i(q) = value_i(f_i) − cost_i(p_i) + Δt·Σ_t λ*_t·q_{i,t} − U_i^0,

    concave in the dispatch. Only agents with a DER or a flexible load can
    move their utility (the set S); the others' gain
    ``U_i = −Δt·Σ_t λ*_t·d_{i,t} − U_i^0 = Δt·Σ_t (c^buy_t − λ*_t)·d_{i,t}`` is fixed by λ* and
    they are reported in ``fixed_agents``.
    *Proportional*: ``max Σ_{i∈S} ln(U_i + ε)`` with the regulariser
    ``ε = 1e-6·max(1, mean_i |U*_i|)`` (keeps the logarithm finite when a gain
    is exactly zero; raised by any solver-noise shortfall of an efficient gain
    below 0). *Max-min*: ``max t`` s.t. ``U_i ≥ t`` for ``i ∈ S``;
    *lexicographic*: fix the agents whose constraint ``U_i ≥ t`` is binding
    (positive dual) at ``t`` and maximise the next minimum, for a few rounds.
    Each rule is followed by a **tie-break**: among the rule's optima
    (``U_i`` at least the rule's value, within a tolerance) the planner's
    welfare ``Σ(value − cost) − grid bill`` is maximised, so that a dispatch
    the rule is indifferent about does not buy from or sell to the grid for
    nothing. The platform's budget is reported:
    ``platform_surplus = Σ_i payment_i − Δt·Σ_t (c^buy_t·G^imp_t − c^sell_t·G^exp_t)``
    with ``G^imp − G^exp = −Σ_i q_i`` (the grid takes the net at the tariffs).

    *Caveat (a theorem, not a bug):* at fixed prices λ*, ``U_i`` depends on
    agent i's own dispatch only, and the competitive dispatch maximises each
    ``U_i`` over i's own feasible set (the decentralised price response); the
    grid absorbs any imbalance, so the feasible set is the product of the
    agents' sets. Hence every agent's ``U*_i`` is the most it can get, and the
    proportional, max-min and lexicographic rules **return the efficient
    utilities** ``U*`` (price of fairness 0); only the dispatch among an
    agent's ties (linear costs or values) can differ, which the tie-break
    resolves toward the planner's welfare. A fairness rule can only change
    the outcome through the money: regime (a).

**Envy audit** (:func:`envy`) of any allocation (trade profile ``q_i`` and
payment ``t_i`` per agent)::

    envy_ij = max(0, [V_i(q_j) − t_j] − [V_i(q_i) − t_i])

where ``V_i(q)`` (:func:`bundle_value`) is agent i's best value − cost of
delivering the net trade ``q`` with its own resources (``−∞`` if it cannot:
then no envy). With per-bus prices (DLMPs) an envious pair is flagged
*location-only* when the two agents sit at different buses and the envy
disappears once j's bundle is re-priced at i's own bus prices,
``t'_j = Δt·Σ_t π_{bus(i),t}·(−q_{j,t})``. Two consequences worth knowing:
the efficient allocation at one uniform price is envy-free (each agent's
bundle maximises ``V_i(q) + Δt·λ*·q`` over everything it can deliver), and
equal-gain lump sums are not: with outside options ``U^0``,
``envy_ij = max(0, V_i(q_j) − V_j(q_j) + U^0_j − U^0_i)``, so an agent that values
a neighbour's bundle more than the neighbour does envies it.

**Price of fairness and inequality** (:func:`compare_rules`): welfare
``W = Σ_i U_i`` (the total gain), ``PoF = (W_eff − W_rule)/W_eff``, Jain's index
(:func:`jain`), the Gini coefficient of the gains (:func:`gini`), the worst-off
gain and the number of envious pairs. The metrics are over all participants.

Everything is over the whole horizon (every period of the scenario), with the
grid at the tariffs (the outside option). Numerics: the re-dispatch writes
costs as ``(√a·P)²`` and the proportional objective as
``Σ ln((U_i + ε)/w_i)`` (``w_i`` the efficient gain: the same optimum, better
scaled cones), and leaves the grid's import/export variables out (the grid
takes any net; its bill ``Δt·Σ_t max(c^buy_t·n_t, c^sell_t·n_t)``, ``n = −Σ_i q_i``,
enters the tie-break only).
"""

from __future__ import annotations

from core.fairness.allocation import FairAllocation, allocate, band_floor
from core.fairness.bundles import bundle_value
from core.fairness.compare import compare_rules, price_of_fairness
from core.fairness.envy import EnvyReport, envy
from core.fairness.measures import (
    FAIRNESS_RULES,
    FLOORS_REFINED,
    LEXICOGRAPHIC_ROUNDS,
    REGULARISER,
    RULE_LABELS,
    gini,
    jain,
)

__all__ = [
    "FAIRNESS_RULES",
    "FLOORS_REFINED",
    "LEXICOGRAPHIC_ROUNDS",
    "REGULARISER",
    "RULE_LABELS",
    "EnvyReport",
    "FairAllocation",
    "allocate",
    "band_floor",
    "bundle_value",
    "compare_rules",
    "envy",
    "gini",
    "jain",
    "price_of_fairness",
]
