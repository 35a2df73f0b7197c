"""Fairness rules, the envy audit and the price of fairness ("Market Design II: Fairness Objectives").

Every number is worked out by hand in the comments. Markets are one period of one hour with the
grid "far away" (retail 100, feed-in 0) unless said otherwise, so that nobody trades with it:
a seller's outside option is then 0 (selling at 0 does not pay) and so is a buyer's whose
marginal value stays below 100 (buying at 100 does not pay). Gains U_i are over those options.
"""

import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from core.fairness import (
    FAIRNESS_RULES,
    allocate,
    band_floor,
    bundle_value,
    compare_rules,
    envy,
    gini,
    jain,
    price_of_fairness,
)
from core.scenario.generate import teaching_5bus
from core.scenario.io import load_project
from core.scenario.model import (
    STORAGE_KINDS,
    Asset,
    Bus,
    Feeder,
    FlexibleLoad,
    Line,
    Prosumer,
    Scenario,
    Substation,
    Tariffs,
    TimeHorizon,
)
from core.welfare import PriceResponse, grid_prices, outside_option, solve_welfare


def scenario(prosumers, periods=1, retail=100.0, feed_in=0.0, buses=("0", "1")):
    lines = tuple(Line(f"L{b}", buses[0], b, 0.01, 0.01) for b in buses[1:])
    feeder = Feeder(
        base_kv=0.4,
        base_kva=100.0,
        substation=Substation(buses[0], 1.0, (0.1,) * periods),
        buses=tuple(Bus(b) for b in buses),
        lines=lines,
    )
    return Scenario(
        "hand", feeder, TimeHorizon(periods, 1.0), Tariffs((retail,) * periods, (feed_in,) * periods), tuple(prosumers)
    )


def seller(id_, a, b=0.0, cap=100.0, bus="1"):
    return Prosumer(id_, bus, (0.0,), asset=Asset("generator", cap, cost_a_per_kw2h=a, cost_b_per_kwh=b))


def buyer(id_, b, a, d_max=100.0, bus="1"):
    return Prosumer(id_, bus, (0.0,), flexible=FlexibleLoad((d_max,), a, b))


ALL_RULES = [("efficiency", False), ("proportional", False), ("maxmin", False), ("maxmin", True)]


# --- inequality indices ----------------------------------------------------------


def test_jain_and_gini_by_hand():
    # equal: J = 4²/(4·4) = 1, G = 0
    assert jain([1, 1, 1, 1]) == pytest.approx(1.0)
    assert gini([1, 1, 1, 1]) == pytest.approx(0.0)
    # one has all: J = 1²/(4·1) = 0.25; Σ_i Σ_j |u_i − u_j| = 6 (six ordered pairs 1 vs 0), 2·n²·ū = 2·16·0.25 = 8
    assert jain([1, 0, 0, 0]) == pytest.approx(0.25)
    assert gini([1, 0, 0, 0]) == pytest.approx(0.75)
    # (16, 8): J = 24²/(2·(256 + 64)) = 576/640 = 0.9; G = (8 + 8)/(2·4·12) = 1/6
    assert jain([16, 8]) == pytest.approx(0.9)
    assert gini([8, 16]) == pytest.approx(1 / 6)
    # (1, 2, 3): Σ|u_i − u_j| = 2·(1 + 2 + 1) = 8, 2·9·2 = 36 → 2/9
    assert gini([3, 1, 2]) == pytest.approx(2 / 9)
    assert price_of_fairness(24.0, 18.0) == pytest.approx(0.25)


# --- two symmetric agents: every rule agrees -------------------------------------

# seller C = 0.5 p² (mc p), buyer U = 10 d − 0.5 d² (mv 10 − d): p = λ, d = 10 − λ, p = d ⇒ λ* = 5, x = 5.
# U_s = 5·5 − 0.5·25 = 12.5; U_b = 10·5 − 12.5 − 5·5 = 12.5: the gains are already equal, G = 25.
MIRROR = [seller("S", 0.5), buyer("B", 10.0, 0.5)]


@pytest.mark.parametrize("transfers", [False, True])
@pytest.mark.parametrize(("rule", "lex"), ALL_RULES)
def test_two_symmetric_agents_all_rules_agree(rule, lex, transfers):
    a = allocate(scenario(MIRROR), rule, transfers, lex)
    assert a.utility == pytest.approx([12.5, 12.5], abs=1e-5)
    assert a.trade_kw[:, 0] == pytest.approx([5.0, -5.0], abs=1e-5)
    assert a.payment == pytest.approx([-25.0, 25.0], abs=1e-4)
    assert a.transfer == pytest.approx([0.0, 0.0], abs=1e-6)
    assert a.welfare_gain == pytest.approx(25.0, abs=1e-5)
    assert a.platform_surplus == pytest.approx(0.0, abs=1e-5) and a.budget_balanced


# --- two asymmetric agents -------------------------------------------------------

# seller C = p² (mc 2p), buyer U = 12 d − 0.5 d² (mv 12 − d): 2x = 12 − x ⇒ x = 4, λ* = 8.
# U*_s = 8·4 − 16 = 16, U*_b = 48 − 8 − 32 = 8, G = 24.
ASYM = [seller("S", 1.0), buyer("B", 12.0, 0.5)]


def test_efficiency_on_the_asymmetric_market():
    a = allocate(scenario(ASYM), "efficiency")
    assert a.price_per_kwh[0] == pytest.approx(8.0, abs=1e-6)
    assert a.utility == pytest.approx([16.0, 8.0], abs=1e-5)
    assert a.payment == pytest.approx([-32.0, 32.0], abs=1e-4)
    assert a.worst_off == pytest.approx(8.0, abs=1e-5)


@pytest.mark.parametrize(("rule", "lex"), [("proportional", False), ("maxmin", False), ("maxmin", True)])
def test_with_transfers_the_gain_is_split_equally(rule, lex):
    # G/n = 12 each: τ_S = 12 − 16 = −4 (the seller gives 4), τ_B = 12 − 8 = +4.
    # Payments: −32 − (−4) = −28 (the seller receives 28), 32 − 4 = 28; Σ = 0: budget balanced.
    a = allocate(scenario(ASYM), rule, transfers=True, lexicographic=lex)
    assert a.utility == pytest.approx([12.0, 12.0], abs=1e-5)
    assert a.transfer == pytest.approx([-4.0, 4.0], abs=1e-5)
    assert a.payment == pytest.approx([-28.0, 28.0], abs=1e-4)
    assert a.trade_kw[:, 0] == pytest.approx([4.0, -4.0], abs=1e-5)  # the dispatch stays efficient
    assert a.welfare_gain == pytest.approx(24.0, abs=1e-5)
    assert a.platform_surplus == pytest.approx(0.0, abs=1e-5) and a.budget_balanced
    assert a.worst_off == pytest.approx(12.0, abs=1e-5)  # up from 8


def test_the_comparison_on_the_asymmetric_market_with_transfers():
    table = compare_rules(scenario(ASYM), transfers=True)
    assert list(table.index) == list(FAIRNESS_RULES)
    # efficiency: J(16, 8) = 0.9, G(16, 8) = 1/6; fair rules: (12, 12), J = 1, G = 0; W = 24 for all, PoF 0
    assert table.loc["efficiency", "jain"] == pytest.approx(0.9, abs=1e-6)
    assert table.loc["efficiency", "gini"] == pytest.approx(1 / 6, abs=1e-6)
    for rule in ("proportional", "maxmin"):
        assert table.loc[rule, "jain"] == pytest.approx(1.0, abs=1e-9)
        assert table.loc[rule, "gini"] == pytest.approx(0.0, abs=1e-7)
        assert table.loc[rule, "worst_off"] == pytest.approx(12.0, abs=1e-5)
    assert table.price_of_fairness.to_numpy() == pytest.approx([0, 0, 0], abs=1e-9)
    assert table.welfare_gain.to_numpy() == pytest.approx([24, 24, 24], abs=1e-5)
    assert table.budget_balanced.all()


@pytest.mark.parametrize(("rule", "lex"), [("proportional", False), ("maxmin", False), ("maxmin", True)])
def test_without_transfers_the_rules_cannot_beat_the_efficient_gains(rule, lex):
    # At the fixed price λ* = 8 and x = p = d: U_S(x) = 8x − x², U_B(x) = 12x − 0.5x² − 8x = 4x − 0.5x².
    # Both peak at x = 4 (U_S' = 8 − 2x, U_B' = 4 − x). Equal gains 8x − x² = 4x − 0.5x² only at x = 0 or
    # x = 8, where both gains are 0: equalising would make both worse off. So max min(U_S, U_B) is at x = 4
    # (min = 8), and max ln U_S + ln U_B too: (8 − 2x)/U_S + (4 − x)/U_B = 0 ⇔ x = 4. Gains stay (16, 8).
    a = allocate(scenario(ASYM), rule, transfers=False, lexicographic=lex)
    assert a.trade_kw[:, 0] == pytest.approx([4.0, -4.0], abs=1e-4)
    assert a.utility == pytest.approx([16.0, 8.0], abs=1e-5)
    assert a.payment == pytest.approx([-32.0, 32.0], abs=1e-3)
    assert a.transfer == pytest.approx([0.0, 0.0])
    assert a.fixed_agents == ()
    assert a.budget_balanced


def test_a_tie_is_broken_toward_the_planners_welfare():
    # seller with a linear cost 5/kWh (10 kW), buyer U = 12 d − 0.5 d²: λ* = 5, d = 12 − 5 = 7 = p.
    # At λ* = 5 the seller earns 5p − 5p = 0 whatever it produces: it is indifferent on [0, 10];
    # the buyer's U_B = 12·7 − 24.5 − 35 = 24.5. Max-min's t = min(0, ·) = 0 holds for every p, but
    # p ≠ 7 would import (7 − p) at 100 or export at 0 while paying the seller 5: a platform deficit
    # (at p = 10: 35 − 50 + 0 = −15). The tie-break picks p = 7: balanced.
    s = scenario([seller("S", 0.0, b=5.0, cap=10.0), buyer("B", 12.0, 0.5)])
    for rule in ("proportional", "maxmin"):
        a = allocate(s, rule)
        assert a.utility == pytest.approx([0.0, 24.5], abs=1e-4)
        assert a.der_kw[0, 0] == pytest.approx(7.0, abs=1e-3)
        assert a.platform_surplus == pytest.approx(0.0, abs=1e-3)


# --- ieee33-community --------------------------------------------------------------


@pytest.fixture(scope="module")
def ieee33():
    s = load_project(Path(__file__).resolve().parents[2] / "projects" / "ieee33-community.json")
    return SimpleNamespace(s=s, sol=solve_welfare(s), u0=outside_option(s))


@pytest.mark.parametrize("transfers", [False, True])
def test_maxmin_never_lowers_the_worst_off(ieee33, transfers):
    kw = dict(efficient=ieee33.sol, outside=ieee33.u0)
    eff = allocate(ieee33.s, "efficiency", **kw)
    for lex in (False, True):
        mm = allocate(ieee33.s, "maxmin", transfers, lex, **kw)
        assert mm.worst_off >= eff.worst_off - 1e-6
    if transfers:
        # equal gains G/n would pay the heat pumps more per kWh than the tariffs allow, so the band binds:
        # the worst-off still rises well above the efficient worst-off, at a small price in welfare
        assert mm.worst_off > eff.worst_off + 1.0
        assert mm.welfare_gain <= eff.welfare_gain + 1e-6
        assert np.all(mm.payment >= band_floor(ieee33.s, mm.trade_kw, ieee33.s.horizon.step_h) - 1e-6)
        assert mm.budget_balanced


def test_inflexible_agents_are_fixed_at_the_price(ieee33):
    # a household with no DER and no flexible load trades q = −d; its gain over buying at retail is
    # Σ_t (c^buy_t − λ*_t)·d_t·Δt whatever the rule
    s, sol = ieee33.s, ieee33.sol
    a = allocate(s, "maxmin", efficient=sol, outside=ieee33.u0)
    plain = [i for i, p in enumerate(s.prosumers) if p.asset is None and p.flexible is None]
    assert a.fixed_agents == tuple(s.prosumers[i].id for i in plain)
    buy, _ = grid_prices(s, sol.periods)
    for i in plain:
        d = np.asarray(s.prosumers[i].demand_kw)
        assert a.utility[i] == pytest.approx(float((buy - sol.price_per_kwh) @ d), abs=1e-5)


def _gains(s, P, F, lam, u0):
    """U_i = Σ_t (b_v f − a_v f²) − Σ_t (a p² + b p) + Σ_t λ_t q_t − U0_i, q = m(p) − d − f (Δt = 1 h),
    m(p) = η p, except a storage charging (p < 0) takes p/η at the meter."""
    out = np.zeros(len(s.prosumers))
    for i, p in enumerate(s.prosumers):
        d = np.asarray(p.demand_kw)
        v = c = 0.0
        q = -d - F[i]
        if p.flexible is not None:
            v = float(np.sum(p.flexible.value_b_per_kwh * F[i] - p.flexible.value_a_per_kw2h * F[i] ** 2))
        if p.asset is not None:
            a = p.asset
            lin = a.cost_b_per_kwh * (np.abs(P[i]) if a.kind in STORAGE_KINDS else P[i])
            c = float(np.sum(a.cost_a_per_kw2h * P[i] ** 2 + lin))
            eta = a.efficiency
            q = q + (np.where(P[i] >= 0, eta * P[i], P[i] / eta) if a.kind in STORAGE_KINDS else eta * P[i])
        out[i] = v - c + float(lam @ q) - u0[i]
    return out


def test_proportional_first_order_condition(ieee33):
    # At the proportional optimum no feasible move raises Σ_i ΔU_i/U_i. Moves: towards the agents'
    # own answers at other prices (each a feasible dispatch; the grid takes any imbalance).
    s, sol, u0 = ieee33.s, ieee33.sol, ieee33.u0
    a = allocate(s, "proportional", efficient=sol, outside=u0)
    S = [i for i, p in enumerate(s.prosumers) if p.asset is not None or p.flexible is not None]
    U = _gains(s, a.der_kw, a.flexible_kw, a.price_per_kwh, u0)
    assert U == pytest.approx(a.utility, abs=1e-6)  # the test's own arithmetic agrees with the module's
    resp = PriceResponse(s)
    buy, sell = grid_prices(s, sol.periods)
    rng = np.random.default_rng(7)
    others = [(sol.der_kw, sol.flexible_kw)]  # the efficient dispatch, then answers at random prices
    for _ in range(2):
        resp.solve(rng.uniform(sell, buy))
        others.append((resp.fleet.der_kw(), resp.fleet.flexible_kw()))
    for P2, F2 in others:
        for theta in (0.01, 0.2, 1.0):
            Ut = _gains(
                s, (1 - theta) * a.der_kw + theta * P2, (1 - theta) * a.flexible_kw + theta * F2, a.price_per_kwh, u0
            )
            assert float(np.sum((Ut[S] - U[S]) / (U[S] + a.regulariser))) <= 1e-6


def test_proportional_first_order_condition_with_transfers():
    # With transfers the utility set is Σ U ≤ G = 24. At (12, 12), a move to the efficient (16, 8) gives
    # Σ ΔU/U = (4 − 4)/12 = 0 ≤ 0; at the efficient point the move to (12, 12) gives
    # (−4)/16 + 4/8 = 0.25 > 0: the efficient split is not proportionally fair.
    s = scenario(ASYM)
    fair = allocate(s, "proportional", transfers=True).utility
    eff = allocate(s, "efficiency").utility
    assert float(np.sum((eff - fair) / fair)) == pytest.approx(0.0, abs=1e-6)
    assert float(np.sum((fair - eff) / eff)) == pytest.approx(0.25, abs=1e-6)


def test_compare_rules_on_ieee33(ieee33):
    t0 = time.perf_counter()
    table = compare_rules(ieee33.s, transfers=False, efficient=ieee33.sol, outside=ieee33.u0)
    elapsed = time.perf_counter() - t0
    assert elapsed < 10.0
    assert table.loc["efficiency", "price_of_fairness"] == 0.0
    assert table.loc["maxmin", "worst_off"] >= table.loc["efficiency", "worst_off"] - 1e-6
    # uniform price λ*, every agent at its own best answer: no envy (V_i(q_j) + λ·q_j ≤ V_i(q_i) + λ·q_i)
    assert table.loc["efficiency", "envious_pairs"] == 0
    # without transfers every agent already has its largest gain at λ*: the rules keep W (PoF ≈ 0)
    assert table.price_of_fairness.abs().max() < 1e-6
    assert table.budget_balanced.all()
    with_tr = compare_rules(ieee33.s, transfers=True, efficient=ieee33.sol, outside=ieee33.u0)
    assert with_tr.loc["maxmin", "jain"] > with_tr.loc["efficiency", "jain"]
    assert with_tr.loc["maxmin", "worst_off"] > with_tr.loc["efficiency", "worst_off"]
    # the tariff band binds on this feeder: fairness costs a little welfare
    assert 0.0 < with_tr.loc["maxmin", "price_of_fairness"] < 0.05
    # lump sums are not envy-free: an agent that could deliver a neighbour's bundle wants its transfer too
    assert with_tr.loc["maxmin", "envious_pairs"] > 0


def test_the_tariff_band_makes_fairness_cost_welfare_on_the_teaching_feeder():
    # Bids 12, 10, 8 / asks 5, 7, 9 (1 kWh each), retail 25, feed-in 4, no grid trade. Efficient: B1–S1 and
    # B2–S2 trade, W = 10; B3 and S3 stay out with U = 0, and a participant that does not trade cannot be
    # paid within the band. Max-min with transfers: B3 buys x from S3 (welfare 10 − x); B3 pays at least
    # feed-in 4 per kWh, so U_B3 ≤ 8x − 4x = 4x; S3 receives at most retail 25, U_S3 ≤ 16x. Equal gains
    # (10 − x)/6 ≤ 4x ⇒ x ≥ 0.4: x = 0.4, everyone gets 9.6/6 = 1.6, PoF = 0.4/10 = 4 %.
    s = teaching_5bus()
    mm = allocate(s, "maxmin", transfers=True)
    q = dict(zip(mm.ids, mm.trade_kw[:, 0], strict=True))
    assert q["B3"] == pytest.approx(-0.4, abs=1e-4) and q["S3"] == pytest.approx(0.4, abs=1e-4)
    assert mm.utility == pytest.approx(np.full(6, 1.6), abs=1e-4)
    assert mm.welfare_gain == pytest.approx(9.6, abs=1e-4)
    # Proportional: B3 at its cap 4x, the other five share the rest equally:
    # max 5·ln((10 − 5x)/5) + ln(4x) ⇒ −5/(2 − x) + 1/x = 0 ⇒ x = 1/3, U_B3 = 4/3, the others 5/3
    pf = allocate(s, "proportional", transfers=True)
    u = dict(zip(pf.ids, pf.utility, strict=True))
    assert u["B3"] == pytest.approx(4 / 3, abs=1e-3)
    assert [u[a] for a in ("B1", "B2", "S1", "S2", "S3")] == pytest.approx([5 / 3] * 5, abs=1e-3)
    assert pf.welfare_gain == pytest.approx(10 - 1 / 3, abs=1e-3)
    table = compare_rules(s, transfers=True)
    assert table.loc["maxmin", "price_of_fairness"] == pytest.approx(0.04, abs=1e-4)
    assert table.loc["proportional", "price_of_fairness"] == pytest.approx(1 / 30, abs=1e-4)


def test_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="unknown fairness rule"):
        allocate(scenario(MIRROR), "utilitarian")


# --- the value of a bundle ----------------------------------------------------------

# A generator C = 0.5 p² with a flexible load U = 10 f − 0.5 f² (f ≤ 20), d = 0, η = 1: delivering q
# means f = p − q; the stationary point p* = (η b_v + 2 a_v η (d + q) − b)/(2 a_v η² + 2 a) = (10 + q)/2.
BOTH = Prosumer(
    "C", "1", (0.0,), asset=Asset("generator", 10.0, cost_a_per_kw2h=0.5), flexible=FlexibleLoad((20.0,), 0.5, 10.0)
)


@pytest.mark.parametrize(
    ("q", "v"),
    [
        (-4.0, 41.0),  # p = 3, f = 7: 70 − 24.5 − 4.5
        (4.0, 1.0),  # p = 7, f = 3: 30 − 4.5 − 24.5
        (9.0, -40.25),  # p = 9.5 ∈ [9, 10], f = 0.5: 5 − 0.125 − 45.125
        (-15.0, 37.5),  # p* = −2.5 clipped to p = 0 (f = 15 ≤ 20): 150 − 112.5
    ],
)
def test_bundle_value_with_a_der_and_a_flexible_load(q, v):
    assert bundle_value(BOTH, [q]) == pytest.approx(v)


def test_bundle_value_of_storage_with_a_flexible_load():
    # battery ±5 kW, C = 0.5 p² + 1·|p| (no energy limit), load U = 10 f − 0.5 f² (f ≤ 20), d = 0, f = p − q.
    # Branch p ≥ 0: p* = (10 + q − 1)/2; branch p ≤ 0: p* = (10 + q + 1)/2.
    bat = Prosumer(
        "E",
        "1",
        (0.0,),
        asset=Asset("battery", 5.0, p_min_kw=-5.0, cost_a_per_kw2h=0.5, cost_b_per_kwh=1.0),
        flexible=FlexibleLoad((20.0,), 0.5, 10.0),
    )
    # q = −4: p = 2.5, f = 6.5: 65 − 21.125 − 3.125 − 2.5 = 38.25 (the p ≤ 0 branch stops at 0: 40 − 8 = 32)
    assert bundle_value(bat, [-4.0]) == pytest.approx(38.25)
    # q = 3: p* = 6 clipped to P^max = 5, f = 2: 20 − 2 − 12.5 − 5 = 0.5
    assert bundle_value(bat, [3.0]) == pytest.approx(0.5)
    # q = −12: p ≥ 0 stops at 0 (f = 12: 120 − 72 = 48); p ≤ 0 gives p = −0.5 (charging), f = 11.5:
    # 115 − 66.125 − 0.125 − 0.5 = 48.25, better: the 12th kWh is worth less than storing it
    assert bundle_value(bat, [-12.0]) == pytest.approx(48.25)
    # q = 8 needs p ≥ 8 > 5
    assert bundle_value(bat, [8.0]) == -np.inf


def test_bundles_a_der_and_a_flexible_load_cannot_deliver():
    # q = 12 needs p = q + f ≥ 12 > P^max = 10; q = −25 needs f = p + 25 ≤ 20, i.e. p ≤ −5 < p_min = 0
    assert bundle_value(BOTH, [12.0]) == -np.inf
    assert bundle_value(BOTH, [-25.0]) == -np.inf


def test_bundle_value_respects_a_ramp_with_a_flexible_load():
    # Two periods, ramp R = 1, q = (−4, 4): per period p = (3, 7) breaks the ramp. With p₂ = p₁ + 1:
    # d/dp₁ [g₁(p₁) + g₂(p₁ + 1)] = (10 − 4 − 2p₁) + (10 + 4 − 2p₁ − 2) = 18 − 4p₁ = 0 ⇒ p = (4.5, 5.5),
    # f = (8.5, 1.5): V = 85 − 36.125 + 15 − 1.125 − 10.125 − 15.125 = 37.5 (unconstrained: 41 + 1 = 42).
    p = Prosumer(
        "C",
        "1",
        (0.0, 0.0),
        asset=Asset("generator", 10.0, cost_a_per_kw2h=0.5, ramp_kw_per_period=1.0),
        flexible=FlexibleLoad((20.0, 20.0), 0.5, 10.0),
    )
    assert bundle_value(p, [-4.0, 4.0]) == pytest.approx(37.5, abs=1e-5)


def test_bundle_value_of_the_other_kinds():
    # a flexible load alone: f = −q − d, V = 10 f − 0.5 f²: f = 4 → 32, f = 6 → 42; f = 25 > 20 → −∞
    load = buyer("L", 10.0, 0.5, d_max=20.0)
    assert bundle_value(load, [-4.0]) == pytest.approx(32.0)
    assert bundle_value(load, [-6.0]) == pytest.approx(42.0)
    assert bundle_value(load, [-25.0]) == -np.inf
    assert bundle_value(load, [1.0]) == -np.inf  # it cannot sell
    # fixed demand only: just −d
    home = Prosumer("H", "1", (2.0,))
    assert bundle_value(home, [-2.0]) == 0.0 and bundle_value(home, [-1.0]) == -np.inf
    # a DER alone: p = (q + d)/η = (3 + 1)/0.5 = 8, V = −p² = −64
    gen = Prosumer("G", "1", (1.0,), asset=Asset("generator", 10.0, efficiency=0.5, cost_a_per_kw2h=1.0))
    assert bundle_value(gen, [3.0]) == pytest.approx(-64.0)
    # storage over two hours must end as full as it started: (1, 1) empties it by 2 kWh; (1, −1) costs
    # 0.1·(1 + 1) + 0.2·(|1| + |−1|) = 0.6
    bat = Prosumer(
        "b",
        "1",
        (0.0, 0.0),
        asset=Asset("battery", 5.0, p_min_kw=-5.0, energy_kwh=10.0, cost_a_per_kw2h=0.1, cost_b_per_kwh=0.2),
    )
    assert bundle_value(bat, [1.0, 1.0]) == -np.inf
    assert bundle_value(bat, [1.0, -1.0]) == pytest.approx(-0.6)


# --- envy ----------------------------------------------------------------------------


def test_identical_agents_with_identical_bundles_envy_nobody():
    # seller C = p², two buyers U = 10 d − 0.5 d²: 2·(10 − λ) = λ/2 ⇒ λ = 8, each buyer d = 2
    s = scenario([seller("S", 1.0), buyer("B1", 10.0, 0.5), buyer("B2", 10.0, 0.5)])
    a = allocate(s, "efficiency")
    assert a.trade_kw[1:, 0] == pytest.approx([-2.0, -2.0], abs=1e-5)
    rep = envy(s, a)
    assert rep.envious_pairs == 0 and rep.max_envy == 0.0 and rep.envy_free
    assert rep.envy.to_numpy().sum() == 0.0
    # the seller cannot consume, the buyers cannot produce
    assert not rep.deliverable.loc["S", "B1"] and not rep.deliverable.loc["B1", "S"]
    assert rep.deliverable.loc["B1", "B2"]


def test_a_crafted_allocation_has_the_envy_worked_out_by_hand():
    # two identical loads (V(−4) = 32, V(−6) = 42): A gets 4 kWh for 16, B 6 kWh for 30.
    # A: own 32 − 16 = 16, B's bundle 42 − 30 = 12 → no envy. B: own 42 − 30 = 12, A's 32 − 16 = 16 → envy 4.
    s = scenario([buyer("A", 10.0, 0.5, d_max=20.0), buyer("B", 10.0, 0.5, d_max=20.0)])
    alloc = SimpleNamespace(trade_kw=np.array([[-4.0], [-6.0]]), payment=np.array([16.0, 30.0]))
    rep = envy(s, alloc)
    assert rep.envy.to_numpy() == pytest.approx(np.array([[0.0, 0.0], [4.0, 0.0]]))
    assert rep.envious_pairs == 1 and rep.max_envy == pytest.approx(4.0)
    assert rep.worst_pair == ("B", "A")
    assert rep.location_only is None
    # both at bus 1: the envy is not about location, whatever the bus prices
    rep = envy(s, alloc, bus_prices={"0": [5.0], "1": [5.0]})
    assert not rep.location_only.to_numpy().any() and rep.location_pairs == 0


def test_lump_sums_create_envy_worked_out_by_hand():
    # seller C = p² (supply λ/2), buyers U₁ = 10 f − 0.5 f², U₂ = 9 f − 0.5 f²: λ/2 = 19 − 2λ ⇒ λ* = 7.6,
    # f₁ = 2.4, f₂ = 1.4. At λ* nobody envies (each has its best bundle at that price). With transfers every
    # gain is G/n, so i's envy of j is [V_i(q_j) + λ q_j + τ_j] − G/n = V_i(q_j) − V_j(q_j) (outside options
    # 0): buyer 1 values buyer 2's 1.4 kWh at (10 − 9)·1.4 = 1.4 more than buyer 2 does; buyer 2 values
    # buyer 1's bundle 2.4 less: no envy; the seller and the buyers cannot deliver each other's bundles.
    s = scenario([seller("S", 1.0), buyer("B1", 10.0, 0.5), buyer("B2", 9.0, 0.5)])
    assert envy(s, allocate(s, "efficiency")).envious_pairs == 0
    rep = envy(s, allocate(s, "maxmin", transfers=True))
    assert rep.envious_pairs == 1 and rep.worst_pair == ("B1", "B2")
    assert rep.max_envy == pytest.approx(1.4, abs=1e-5)


def test_envy_from_location_is_flagged():
    # identical loads at buses 1 (DLMP 6) and 2 (DLMP 4), each answering its own price: 10 − f = π,
    # A buys 4 for 24, B buys 6 for 24. A: own 32 − 24 = 8, B's bundle 42 − 24 = 18 → envy 10;
    # B: own 42 − 24 = 18, A's 32 − 24 = 8 → none. Re-priced at A's bus: 42 − 6·6 = 6 ≤ 8 → location only.
    s = scenario(
        [buyer("A", 10.0, 0.5, d_max=20.0, bus="1"), buyer("B", 10.0, 0.5, d_max=20.0, bus="2")], buses=("0", "1", "2")
    )
    alloc = SimpleNamespace(trade_kw=np.array([[-4.0], [-6.0]]), payment=np.array([24.0, 24.0]))
    rep = envy(s, alloc, bus_prices={"0": 5.0, "1": [6.0], "2": [4.0]})
    assert rep.envy.to_numpy() == pytest.approx(np.array([[0.0, 10.0], [0.0, 0.0]]))
    assert rep.location_only.loc["A", "B"] and rep.location_pairs == 1
    # B paying 18 for its 6 kWh (3/kWh) while the bus prices are 3 at both buses: A's envy is
    # 42 − 18 − 8 = 16, and re-priced at A's bus, 42 − 3·6 = 24 > 8: still envy, not about location
    alloc2 = SimpleNamespace(trade_kw=alloc.trade_kw, payment=np.array([24.0, 18.0]))
    rep2 = envy(s, alloc2, bus_prices={"0": 5.0, "1": 3.0, "2": 3.0})
    assert rep2.envy.loc["A", "B"] == pytest.approx(16.0)
    assert not rep2.location_only.loc["A", "B"] and rep2.location_pairs == 0
