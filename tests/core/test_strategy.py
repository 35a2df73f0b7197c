"""Strategic bidding ("Strategic Behavior and Market Power"): Cournot by hand, bidding games worked by hand,
an Edgeworth cycle, deviations checked independently, the Debreu–Glicksberg–Fan conditions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from core.mechanisms import MECHANISMS, OrderBook
from core.properties import shaded, true_utility
from core.strategy import (
    VERDICT_HOLDS,
    BiddingGame,
    CournotGame,
    cournot_equilibrium,
    cournot_interior,
    cournot_symmetric,
    existence_check,
    largest_sellers,
    nash_search,
)

# ---------------------------------------------------------------------------
# Cournot
# ---------------------------------------------------------------------------


def test_symmetric_duopoly_by_hand():
    """a = 100, b = 1, c = 10, n = 2.

    q = (a − c)/(b(n+1)) = 90/3 = 30 each, Q = 60, P = 100 − 60 = 40, profit (40 − 10)·30 = 900.
    L = (P − c)/P = 30/40 = 0.75. |ε| = |dQ/dP|·P/Q = (1/b)·40/60 = 2/3, s_i = 1/2,
    s_i/|ε| = 0.5/(2/3) = 0.75 = L.
    """
    closed = cournot_symmetric(100.0, 1.0, 10.0, 2)
    numeric = cournot_equilibrium(100.0, 1.0, [10.0, 10.0])
    for r in (closed, numeric):
        np.testing.assert_allclose(r.q, [30.0, 30.0], atol=1e-9)
        assert r.price == pytest.approx(40.0, abs=1e-9)
        np.testing.assert_allclose(r.profits, [900.0, 900.0], atol=1e-7)
        assert r.elasticity == pytest.approx(-2.0 / 3.0, abs=1e-12)
        np.testing.assert_allclose(r.table.lerner, [0.75, 0.75], atol=1e-12)
        np.testing.assert_allclose(r.table.lerner_cournot, [0.75, 0.75], atol=1e-12)
        assert r.identity_holds
        assert list(r.table.status) == ["interior", "interior"]
    assert numeric.converged


def test_asymmetric_duopoly_by_hand():
    """a = 100, b = 1, c = (10, 20): P = (a + Σc)/(n+1) = 130/3, q_i = P − c_i: 100/3 and 70/3, Q = 170/3.

    L_1 = (100/3)/(130/3) = 10/13, L_2 = 7/13; |ε| = P/(bQ) = 130/170 and s_1 = 100/170, so
    s_1/|ε| = (100/170)/(130/170) = 10/13 = L_1.
    """
    for r in (cournot_interior(100.0, 1.0, [10.0, 20.0]), cournot_equilibrium(100.0, 1.0, [10.0, 20.0])):
        np.testing.assert_allclose(r.q, [100 / 3, 70 / 3], atol=1e-9)
        assert r.price == pytest.approx(130 / 3, abs=1e-9)
        np.testing.assert_allclose(r.table.lerner, [10 / 13, 7 / 13], atol=1e-12)
        np.testing.assert_allclose(r.table.lerner_cournot, [10 / 13, 7 / 13], atol=1e-10)
        assert r.identity_holds


def test_three_symmetric_firms_converge():
    # n = 3: q = 90/4 = 22.5, P = 100 − 67.5 = 32.5, L = 22.5/32.5 = 9/13 = (1/3)/|ε|, |ε| = 32.5/67.5
    r = cournot_equilibrium(100.0, 1.0, [10.0] * 3)
    np.testing.assert_allclose(r.q, 22.5, atol=1e-9)
    assert r.price == pytest.approx(32.5, abs=1e-9)
    np.testing.assert_allclose(r.table.lerner, 9 / 13, atol=1e-10)
    assert r.identity_holds
    assert cournot_symmetric(100.0, 1.0, 10.0, 3).q[0] == pytest.approx(22.5)


def test_capacity_breaks_the_identity_by_hand():
    """Firm 1 capped at 20: firm 2 answers (100 − 10 − 20)/2 = 35, P = 100 − 55 = 45.

    L_1 = L_2 = 35/45 = 7/9 (same cost); s_1/|ε| = b·q_1/P = 20/45 = 4/9 < L_1 (the capacity binds,
    so its first-order condition does not), s_2/|ε| = 35/45 = L_2.
    """
    r = cournot_equilibrium(100.0, 1.0, [10.0, 10.0], capacities=[20.0, 100.0])
    np.testing.assert_allclose(r.q, [20.0, 35.0], atol=1e-9)
    assert r.price == pytest.approx(45.0, abs=1e-9)
    np.testing.assert_allclose(r.table.lerner, [7 / 9, 7 / 9], atol=1e-12)
    np.testing.assert_allclose(r.table.lerner_cournot, [4 / 9, 7 / 9], atol=1e-10)
    assert list(r.table.status) == ["at capacity", "interior"]
    assert list(r.table.identity_holds) == [False, True]
    assert r.identity_holds  # holds for every interior firm


def test_a_corner_is_not_interior():
    # c = (10, 90): the interior formula gives P = 200/3 < 90, so firm 2 would produce a negative quantity
    with pytest.raises(ValueError, match="not interior"):
        cournot_interior(100.0, 1.0, [10.0, 90.0])
    # the equilibrium: firm 1 a monopolist, q = (100 − 10)/2 = 45, P = 55 < 90 so firm 2 stays out
    r = cournot_equilibrium(100.0, 1.0, [10.0, 90.0])
    np.testing.assert_allclose(r.q, [45.0, 0.0], atol=1e-9)
    assert list(r.table.status) == ["interior", "out"]


def test_cournot_input_checks():
    with pytest.raises(ValueError, match="b must be > 0"):
        cournot_equilibrium(100.0, 0.0, [10.0])
    with pytest.raises(ValueError, match="no firm produces"):
        cournot_symmetric(10.0, 1.0, 20.0, 2)


# ---------------------------------------------------------------------------
# bidding games worked by hand
# ---------------------------------------------------------------------------


def bertrand_book() -> OrderBook:
    """One buyer wants 1 kWh at up to 10; S1 (block 0) sells 1 kWh at cost 2, S2 (block 1) 1 kWh at cost 4."""
    return OrderBook.from_blocks(buys=[("B", 10.0, 1.0)], sells=[("S1", 2.0, 1.0), ("S2", 4.0, 1.0)])


@pytest.mark.parametrize("mechanism", ["uniform", "pay_as_bid"])
def test_two_seller_game_by_hand(mechanism):
    """Asks a1 = 2(1 + m1), a2 = 4(1 + m2), markups on 17 points of [0, 2] (step 1/8, so a1 = 4 is on the grid).

    Only one kWh is wanted, so the lower ask sells it; at a tie the lower block index (S1) goes first.
    Uniform (Walrasian midpoint): while a1 ≤ a2 S1 sells at p = (a1 + min(10, a2))/2; pay-as-bid: at a1.
    Truthful: p = (2 + 4)/2 = 3 (pay-as-bid: 2), S1 earns 1 (0), S2 nothing.
    Round 1, S1 against a2 = 4: its profit (a1 + 4)/2 − 2 (pay-as-bid a1 − 2) rises with a1 up to the
    tie a1 = 4 — m1 = 1, profit 2 — and is 0 beyond (S2 sells). S2 against a1 = 4: its ask is ≥ 4 and
    S1 wins the tie, so it sells nothing whatever it asks: it stays at m2 = 0.
    Round 2: nobody improves → the equilibrium m = (1, 0), price 4, profits (2, 0): Bertrand's
    low-cost firm prices at its rival's cost. The allocation is the truthful one: welfare 10 − 2 = 8,
    nothing lost.
    """
    r = nash_search(bertrand_book(), mechanism, markups=17, m_max=2.0)
    assert r.converged and not r.cycling and not r.cancelled
    assert r.rounds == 2
    assert r.equilibrium == ((1.0, 0.0), (0.0, 0.0))
    assert r.price == 4.0
    np.testing.assert_allclose(r.profits, [2.0, 0.0])
    assert r.welfare_truthful == 8.0 and r.welfare_equilibrium == 8.0 and r.welfare_lost == 0.0
    # the path: the start (price 3, or 2 pay-as-bid) and S1's move to m1 = 1 (price 4)
    path = r.path_frame()
    assert list(path.mover) == [None, "S1"]
    assert list(path.price) == [3.0 if mechanism == "uniform" else 2.0, 4.0]
    assert list(path.markup_S1) == [0.0, 1.0]
    t = r.table.set_index("agent")
    assert t.loc["S1", "truthful_profit"] == (1.0 if mechanism == "uniform" else 0.0)
    assert (t.best_deviation_gain <= r.tol).all()


def test_monopoly_markup_loses_welfare_by_hand():
    """S1 sells up to 2 kWh at cost 2; B1 wants 1 kWh at 10, B2 1 kWh at 5. Markups on 17 points of [0, 4].

    a1 = 2(1 + m). While a1 ≤ 5 both bids clear: p = (a1 + 5)/2, profit 2(p − 2) = a1 + 1 ≤ 6.
    For 5 < a1 ≤ 10 only B1 buys; S1's block is partly filled and pins p = a1: profit a1 − 2 ≤ 8,
    at a1 = 10 (m = 4). Truthful: p = 3.5, profit 3, welfare 10 + 5 − 2·2 = 11; at the markup
    welfare 10 − 2 = 8: B2's trade (5 − 2 = 3) is lost.
    """
    book = OrderBook.from_blocks(buys=[("B1", 10.0, 1.0), ("B2", 5.0, 1.0)], sells=[("S1", 2.0, 2.0)])
    r = nash_search(book, "uniform", markups=17, m_max=4.0)
    assert r.converged
    assert r.equilibrium == ((4.0, 0.0),)
    assert r.price == 10.0 and r.price_truthful == 3.5
    assert r.profits[0] == 8.0 and r.table.truthful_profit[0] == 3.0
    assert (r.welfare_truthful, r.welfare_equilibrium, r.welfare_lost) == (11.0, 8.0, 3.0)
    assert r.welfare_optimal == 11.0


def test_vcg_truthful_is_an_equilibrium():
    # VCG is dominant-strategy incentive compatible: no markup beats the truth, so nobody moves in round 1
    r = nash_search(bertrand_book(), "vcg", markups=17, m_max=2.0)
    assert r.converged and r.rounds == 1
    assert r.equilibrium == ((0.0, 0.0), (0.0, 0.0))
    # S1 earns W − W_{−1} = (10 − 2) − (10 − 4) = 2
    assert r.profits[0] == pytest.approx(2.0)


# ---------------------------------------------------------------------------
# a game without a pure equilibrium: an Edgeworth cycle
# ---------------------------------------------------------------------------


def edgeworth_book() -> OrderBook:
    """Two sellers with 1 kWh each at cost 4; one buyer wants 1.5 kWh at up to 10. Pay-as-bid.

    The lower ask sells its whole kWh at its ask, the higher one the remaining 0.5 kWh at its ask
    (a tie goes to S1). Against a rival asking p, undercutting earns ≈ p − 4, asking 10 earns
    0.5·(10 − 4) = 3: undercut while p > 7, else jump to 10 — Bertrand–Edgeworth, no pure equilibrium.
    """
    return OrderBook.from_blocks(buys=[("B", 10.0, 1.5)], sells=[("S1", 4.0, 1.0), ("S2", 4.0, 1.0)])


def _payoff(book, mechanism, agent, profile):
    """Independent of core.strategy: asks scaled by (1 + m) with core.properties.shaded, scored by true_utility."""
    lie = book
    for a, m in profile.items():
        lie = shaded(lie, a, m)
    return float(true_utility(book, MECHANISMS[mechanism](lie))[agent])


def test_edgeworth_game_has_no_pure_equilibrium_on_the_grid():
    book = edgeworth_book()
    s1, s2 = book.agents.index("S1"), book.agents.index("S2")
    grid = np.linspace(0.0, 1.5, 21)  # asks 4, 4.3, …, 10
    # the payoff tables u[i, j] of each seller when S1 marks up grid[i] and S2 grid[j], every profile cleared once
    u1 = np.empty((grid.size, grid.size))
    u2 = np.empty((grid.size, grid.size))
    for (i, m1), (j, m2) in itertools.product(enumerate(grid), enumerate(grid)):
        u1[i, j] = _payoff(book, "pay_as_bid", s1, {s1: m1, s2: m2})
        u2[i, j] = _payoff(book, "pay_as_bid", s2, {s1: m1, s2: m2})
    best1 = u1.max(axis=0)  # S1's best reply to each markup of S2
    best2 = u2.max(axis=1)  # S2's best reply to each markup of S1
    nash = [
        (grid[i], grid[j])
        for i, j in itertools.product(range(grid.size), range(grid.size))
        if best1[j] <= u1[i, j] + 1e-9 and best2[i] <= u2[i, j] + 1e-9
    ]
    assert nash == []
    # the table is an Edgeworth game: at equal asks the winner (S1, ties) earns more than the loser
    assert u1[10, 10] > u2[10, 10]


def test_edgeworth_cycle_is_reported():
    """Best responses on the grid (no refinement): S1 jumps to 10, S2 undercuts to 9.7, S1 matches (it wins
    ties), S2 undercuts again … one grid step (0.3) per round down to 7.0, where asking 10 (profit 3) beats
    undercutting to 6.7 (2.7): S2 jumps to 10 and S1 follows. The profile after round 12 is the one after
    round 1: a cycle of 11 rounds (10 → 7 in ten steps of 0.3, then the jump)."""
    r = nash_search(edgeworth_book(), "pay_as_bid", m_max=1.5, refine=0)
    assert r.cycling and not r.converged
    assert r.cycle_rounds == 11 and r.rounds == 12
    assert r.equilibrium is None and r.price is None and r.welfare_lost is None and r.profits is None
    assert "no pure equilibrium found" in r.message
    # at the last profile somebody gains by deviating, by more than the tolerance
    assert r.max_deviation_gain > 1.0
    # the path: S1 asks 10 (m = 1.5) in rounds 1 and 12; the mean seller price runs down to 7 and back up
    path = r.path_frame()
    assert list(path[(path.mover == "S1") & (path.markup_S1 == 1.5)]["round"]) == [1, 12]
    assert path.price.iloc[0] == 4.0  # truthful: both ask 4
    bottom = path[(path.markup_S1 == 0.75) & (path.markup_S2 == 0.75)]  # both ask 4·1.75 = 7 in round 11
    assert list(bottom["round"]) == [11] and bottom.price.iloc[0] == pytest.approx(7.0)


def test_edgeworth_with_refinement_never_settles():
    # refined undercuts shrink to 1/16 of a grid step, so the same cycle takes ~160 rounds: not settled in 20
    r = nash_search(edgeworth_book(), "pay_as_bid", m_max=1.5, max_rounds=20)
    assert not r.converged and r.equilibrium is None
    assert "had not settled" in r.message or r.cycling


# ---------------------------------------------------------------------------
# every reported equilibrium: no profitable deviation (checked independently)
# ---------------------------------------------------------------------------


def random_book(rng) -> OrderBook:
    buys = [(f"B{i}", float(rng.integers(6, 16)), float(rng.integers(1, 4))) for i in range(int(rng.integers(1, 4)))]
    sells = []
    for j in range(int(rng.integers(2, 4))):
        for _ in range(int(rng.integers(1, 3))):
            sells.append((f"S{j}", float(rng.integers(1, 9)), float(rng.integers(1, 3))))
    return OrderBook.from_blocks(buys=buys, sells=sells)


def _payoff_withheld(book, mechanism, agent, strategies):
    """Independent payoff with withholding: asks ·(1 + m), kWh ·(1 − w) for each player's sell blocks."""
    sp, sq = book.sell_price.copy(), book.sell_qty.copy()
    for a, (m, w) in strategies.items():
        mine = book.sell_agent == a
        sp[mine] *= 1.0 + m
        sq[mine] *= 1.0 - w
    lie = OrderBook(book.buy_price, book.buy_qty, book.buy_agent, sp, sq, book.sell_agent, book.agents)
    return float(true_utility(book, MECHANISMS[mechanism](lie))[agent])


@pytest.mark.parametrize(("mechanism", "withhold"), [("uniform", False), ("pay_as_bid", False), ("uniform", True)])
def test_reported_equilibria_have_no_profitable_deviation(mechanism, withhold):
    rng = np.random.default_rng(7)
    converged = 0
    for _ in range(6):
        book = random_book(rng)
        r = nash_search(
            book, mechanism, markups=11, withhold=[0.0, 0.25, 0.5] if withhold else False, max_rounds=30, refine=1
        )
        if not r.converged:
            assert r.equilibrium is None
            continue
        converged += 1
        assert (r.table.best_deviation_gain <= r.tol).all()
        game = r.game
        eq = {p.agent: s for p, s in zip(game.players, r.equilibrium, strict=True)}
        for k, p in enumerate(game.players):
            here = _payoff_withheld(book, mechanism, p.agent, eq)
            assert here == pytest.approx(r.profits[k], abs=1e-9)
            for m, w in itertools.product(game.markup_grid, game.withhold_grid):
                dev = _payoff_withheld(book, mechanism, p.agent, {**eq, p.agent: (m, w)})
                assert dev <= here + r.tol, (p.name, m, w, dev, here)
    assert converged >= 3  # the check is not vacuous


# ---------------------------------------------------------------------------
# Debreu–Glicksberg–Fan, checked numerically
# ---------------------------------------------------------------------------


def test_existence_flags_the_uniform_price_jump():
    """Bertrand game, truthful context (a2 = 4): S1's payoff (a1 + 4)/2 − 2 climbs to 2 at a1 = 4 (m1 = 1)
    and drops to 0 beyond it — a jump of the whole payoff range, found at m1 ≈ 1."""
    game = BiddingGame(bertrand_book(), "uniform", markups=17, m_max=2.0)
    check = existence_check(game)
    p = check.players.set_index("player")
    assert not p.loc["S1", "continuous"]
    assert p.loc["S1", "jump_rel"] == pytest.approx(1.0, abs=1e-6)
    assert p.loc["S1", "jump_at"].startswith("markup ≈ 1 ")
    assert p.loc["S1", "quasi_concave"]  # rises, then falls: unimodal
    assert bool(p[["nonempty", "compact", "convex"]].all().all())
    assert not check.holds
    assert check.verdict.startswith("the theorem does not apply (payoff discontinuous for player S1")
    assert check.verdict.endswith("an equilibrium may still exist")
    # the evidence: S1's samples at the truthful context, 2 at m = 1 and 0 at m = 1.125
    s = check.samples
    s1 = s[(s.player == "S1") & (s.context == 0)].set_index("value").payoff
    assert s1[1.0] == pytest.approx(2.0) and s1[1.125] == 0.0


def test_existence_finds_a_jump_inside_a_grid_cell():
    """Markups 0, 0.4, 0.8, 1.2, 1.6: S1's jump (at m1 = 1, a1 = 4) lies inside the cell [0.8, 1.2], where the
    payoff goes 1.8 → 2 (at m1 = 1, the tie) → 0. Bisection must follow the half holding the drop."""
    check = existence_check(BiddingGame(bertrand_book(), "uniform", markups=5, m_max=1.6))
    p = check.players.set_index("player")
    assert not p.loc["S1", "continuous"]
    assert p.loc["S1", "jump_rel"] == pytest.approx(1.0, abs=1e-6)  # a drop of 2 over the range [0, 2]
    assert float(p.loc["S1", "jump_at"].split("≈ ")[1].split(" ")[0]) == pytest.approx(1.0, abs=1e-6)


def test_existence_flags_edgeworth_non_quasi_concavity():
    """Edgeworth game, rivals at m = 0.75 (ask 7): S1's payoff a1 − 4 rises to 3 at a1 = 7 (it wins the tie),
    drops to 0.5·(7.3 − 4) = 1.65 above it and climbs back to 3 at a1 = 10: a strict interior dip."""
    check = existence_check(BiddingGame(edgeworth_book(), "pay_as_bid", m_max=1.5))
    p = check.players.set_index("player")
    assert not p.loc["S1", "quasi_concave"]
    assert p.loc["S1", "qc_violation_rel"] > 0.2
    assert "not quasi-concave for player S1" in check.verdict


def test_existence_holds_for_cournot():
    check = existence_check(CournotGame(100.0, 1.0, (10.0, 10.0)))
    assert check.holds
    assert check.verdict == VERDICT_HOLDS
    assert check.players.continuous.all() and check.players.quasi_concave.all()
    assert (check.players.jump_rel < 1e-6).all()


# ---------------------------------------------------------------------------
# the search's plumbing
# ---------------------------------------------------------------------------


def test_progress_and_cancel():
    seen = []
    r = nash_search(bertrand_book(), "uniform", markups=17, m_max=2.0, progress=lambda f, t: seen.append(f))
    assert seen and seen[-1] == 1.0 and all(a <= b for a, b in itertools.pairwise(seen))
    calls = iter([False, True])
    c = nash_search(bertrand_book(), "uniform", markups=17, m_max=2.0, cancelled=lambda: next(calls, True))
    assert c.cancelled and not c.converged and c.equilibrium is None
    assert c.table.best_deviation_gain.isna().all()
    assert r.converged


def test_players_and_grids():
    book = OrderBook.from_blocks(buys=[("B", 9.0, 5.0)], sells=[("S1", 1.0, 1.0), ("S2", 2.0, 3.0), ("S3", 3.0, 2.0)])
    assert largest_sellers(book, 2) == [2, 3]  # S2 (3 kWh), S3 (2 kWh); codes after B
    g = BiddingGame(book, players=["S2", ("B", "buy")], withhold=True)
    assert [(p.name, p.side) for p in g.players] == [("S2", "sell"), ("B", "buy")]
    assert g.markup_grid.size == 21 and g.m_max == 1.0 and g.withhold_grid[-1] == 0.5
    declared, _, _ = g.declared_book([[0.5, 0.5], [0.25, 0.0]])
    assert declared.sell_price.tolist() == [1.0, 3.0, 3.0] and declared.sell_qty.tolist() == [1.0, 1.5, 2.0]
    assert declared.buy_price.tolist() == [6.75]
    with pytest.raises(ValueError, match="no sell blocks"):
        BiddingGame(book, players=[("B", "sell")])
    with pytest.raises(ValueError, match="mechanism"):
        BiddingGame(book, "nope")
