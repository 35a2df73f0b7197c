"""Feasible sets, the planner's shadow price, the decentralised check and the price iteration.

Every number is worked out by hand in the comments.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.prosumer import FleetModel, check_trade_plan, dispatch_from_trade, trade_bounds
from core.scenario.model import (
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
from core.welfare import (
    PriceResponse,
    decentralised_gap,
    outside_option,
    price_response,
    respond,
    separable,
    separable_surplus,
    solve_welfare,
    tatonnement,
)


def scenario(prosumers, periods=1, retail=100.0, feed_in=0.0, step_h=1.0):
    feeder = Feeder(
        base_kv=0.4,
        base_kva=100.0,
        substation=Substation("0", 1.0, (0.1,) * periods),
        buses=(Bus("0"), Bus("1")),
        lines=(Line("L", "0", "1", 0.01, 0.01),),
    )
    per = lambda v: tuple(v) if isinstance(v, (list, tuple)) else (v,) * periods  # noqa: E731
    return Scenario("hand", feeder, TimeHorizon(periods, step_h), Tariffs(per(retail), per(feed_in)), tuple(prosumers))


# --- the feasible set ------------------------------------------------------------


def test_trade_bounds_are_the_chapters():
    # -d_t ≤ q_t ≤ η·P^max − d_t with d = (2, 3), P^max = 5, η = 0.9: [-2, 2.5] and [-3, 1.5]
    p = Prosumer("a", "1", (2.0, 3.0), asset=Asset("generator", 5.0, efficiency=0.9))
    lo, hi = trade_bounds(p)
    assert lo == pytest.approx([-2.0, -3.0]) and hi == pytest.approx([2.5, 1.5])


def test_dispatch_is_recovered_from_the_trade():
    p = Prosumer("a", "1", (2.0, 3.0), asset=Asset("generator", 5.0, efficiency=0.8))
    # p_t = (q_t + d_t)/η: (1 + 2)/0.8 = 3.75, (−1 + 3)/0.8 = 2.5
    assert dispatch_from_trade(p, [1.0, -1.0]) == pytest.approx([3.75, 2.5])


def test_checker_names_the_broken_bound_and_the_excess():
    p = Prosumer("a", "1", (2.0, 3.0), asset=Asset("generator", 5.0, efficiency=0.9))
    v = check_trade_plan(p, [2.6, -3.2])
    kinds = {(x.constraint, x.period): x.amount for x in v}
    assert kinds[("trade upper bound", 0)] == pytest.approx(0.1)  # 2.6 − 2.5
    assert kinds[("trade lower bound", 1)] == pytest.approx(0.2)  # −3 − (−3.2)
    assert check_trade_plan(p, [2.5, -3.0]) == []


def test_checker_finds_a_ramp_violation_by_hand():
    # d = (2, 3), q = (0, 0): |Δq + Δd| = 1 > η·R = 0.9; in DER output Δp = 1/0.9 = 1.111 > R = 1 by 0.111
    p = Prosumer("a", "1", (2.0, 3.0), asset=Asset("generator", 5.0, efficiency=0.9, ramp_kw_per_period=1.0))
    v = check_trade_plan(p, [0.0, 0.0])
    assert [(x.constraint, x.period) for x in v] == [("ramp", 1)]
    assert v[0].amount == pytest.approx(1 / 0.9 - 1.0)
    # q = (0, −0.1): |−0.1 + 1| = 0.9 = η·R, just feasible
    assert check_trade_plan(p, [0.0, -0.1]) == []


def test_checker_tracks_stored_energy():
    # 10 kWh battery at 50 %: discharging 4 kW for two hours leaves 5 − 8 = −3 kWh
    b = Asset("battery", 5.0, p_min_kw=-5.0, energy_kwh=10.0, soc_init_pu=0.5)
    p = Prosumer("b", "1", (0.0, 0.0), asset=b)
    v = check_trade_plan(p, [4.0, 4.0])
    assert [(x.constraint, x.period, round(x.amount, 9)) for x in v] == [("storage empty", 1, 3.0)]


def test_storage_loses_energy_both_ways():
    # η = 0.9: charging the cells with 4 kW takes 4/0.9 = 4.444 kW at the meter, and 4 kW from the cells
    # gives 0.9·4 = 3.6 kW: a kWh stored and given back returns η² = 0.81 kWh
    b = Prosumer(
        "b",
        "1",
        (0.0, 0.0),
        asset=Asset("battery", 5.0, p_min_kw=-5.0, efficiency=0.9, energy_kwh=10.0, soc_init_pu=0.0),
    )
    assert dispatch_from_trade(b, [-4.0 / 0.9, 3.6]) == pytest.approx([-4.0, 4.0])
    lo, hi = trade_bounds(b)
    assert lo == pytest.approx([-5.0 / 0.9] * 2) and hi == pytest.approx([4.5] * 2)
    assert check_trade_plan(b, [-4.0 / 0.9, 3.6]) == []  # stores 4 kWh, gives 4 kWh back
    assert [x.constraint for x in check_trade_plan(b, [-4.0 / 0.9, 3.7])] == ["storage empty"]


def test_storage_arbitrage_pays_the_round_trip_loss():
    # One price per period (retail = feed-in): 0.10 then 0.20. Battery: 10 kWh, empty, ±10 kW, η = 0.9,
    # no wear. Buying 10/0.9 = 11.11 kWh at 0.10 (1.111) to sell 0.9·10 = 9 kWh at 0.20 (1.8) earns
    # 0.6889; the planner does it because 0.20·0.9 > 0.10/0.9. (With η only on the way out it would
    # earn 0.2·9 − 0.1·9 = 0.9.)
    b = Prosumer(
        "b",
        "1",
        (0.0, 0.0),
        asset=Asset("battery", 10.0, p_min_kw=-10.0, efficiency=0.9, energy_kwh=10.0, soc_init_pu=0.0),
    )
    sol = solve_welfare(scenario([b], periods=2, retail=[0.1, 0.2], feed_in=[0.1, 0.2]))
    assert sol.der_kw[0] == pytest.approx([-10.0, 10.0], abs=1e-5)
    assert sol.trade_kw[0] == pytest.approx([-10.0 / 0.9, 9.0], abs=1e-5)
    assert sol.welfare == pytest.approx(1.8 - 1.0 / 0.9, abs=1e-6)


def test_fleet_model_reaches_the_trade_bounds():
    import cvxpy as cp

    p = Prosumer("a", "1", (2.0, 3.0), asset=Asset("generator", 5.0, efficiency=0.9, cost_a_per_kw2h=0.1))
    fm = FleetModel(scenario([p], periods=2))
    cp.Problem(cp.Maximize(cp.sum(fm.q)), fm.constraints).solve()
    assert fm.q.value.ravel() == pytest.approx([2.5, 1.5], abs=1e-6)
    cp.Problem(cp.Minimize(cp.sum(fm.q)), fm.constraints).solve()
    assert fm.q.value.ravel() == pytest.approx([-2.0, -3.0], abs=1e-6)


# --- the planner and its shadow price --------------------------------------------

TWO_BY_TWO = [
    # producers C1 = 0.5 p² (mc p), C2 = p² (mc 2p); consumers U1 = 10 d − 0.5 d², U2 = 8 d − 0.5 d²
    Prosumer("G1", "1", (0.0,), asset=Asset("generator", 100.0, cost_a_per_kw2h=0.5)),
    Prosumer("G2", "1", (0.0,), asset=Asset("generator", 100.0, cost_a_per_kw2h=1.0)),
    Prosumer("D1", "1", (0.0,), flexible=FlexibleLoad((100.0,), 0.5, 10.0)),
    Prosumer("D2", "1", (0.0,), flexible=FlexibleLoad((100.0,), 0.5, 8.0)),
]
# supply p1 + p2 = λ + λ/2 = 1.5 λ; demand (10 − λ) + (8 − λ) = 18 − 2 λ  ⇒  λ = 18/3.5 = 36/7
LAMBDA = 36 / 7


def test_two_producers_two_consumers_by_hand():
    s = scenario(TWO_BY_TWO)
    sol = solve_welfare(s)
    assert sol.price_per_kwh[0] == pytest.approx(LAMBDA, rel=1e-6)
    q = sol.trade_kw[:, 0]
    assert q == pytest.approx([LAMBDA, LAMBDA / 2, -(10 - LAMBDA), -(8 - LAMBDA)], rel=1e-6)
    # welfare = U1 + U2 − C1 − C2 at the optimum
    d1, d2, p1, p2 = 10 - LAMBDA, 8 - LAMBDA, LAMBDA, LAMBDA / 2
    welfare = 10 * d1 - 0.5 * d1**2 + 8 * d2 - 0.5 * d2**2 - 0.5 * p1**2 - p2**2
    assert sol.welfare == pytest.approx(welfare, rel=1e-6)
    # the market is budget balanced: payments sum to zero without the grid
    assert sol.payment.sum() == pytest.approx(0.0, abs=1e-6)
    assert sol.grid_import_kw[0] == pytest.approx(0.0, abs=1e-6)


def test_decentralised_answers_add_up_to_the_planners():
    s = scenario(TWO_BY_TWO)
    sol = solve_welfare(s)
    gap = decentralised_gap(sol, s)
    assert gap["max_trade_gap_kw"] < 1e-5 and gap["max_imbalance_kw"] < 1e-5
    # and at a wrong price they do not: at λ = 4 supply 6 < demand 10
    q = price_response(s, [4.0])
    assert q[:, 0].sum() == pytest.approx(1.5 * 4 - (18 - 2 * 4), abs=1e-5)


def test_price_iteration_converges_to_the_shadow_price():
    s = scenario(TWO_BY_TWO)
    trace = tatonnement(s, tol=1e-7)
    assert trace.converged
    assert trace.final[0] == pytest.approx(LAMBDA, abs=1e-5)
    assert trace.prices.shape[0] == trace.iterations >= 2
    # excess supply shrinks to zero along the way
    assert abs(trace.excess_kw[-1, 0]) < abs(trace.excess_kw[0, 0])


def test_an_exporting_community_is_priced_at_the_feed_in_tariff():
    # 10 kW of PV at 0.01/kWh and no load: everything is exported at feed-in 0.07, λ = 0.07
    pv = Prosumer("pv", "1", (0.0,), asset=Asset("pv", 10.0, cost_a_per_kw2h=0.0001, cost_b_per_kwh=0.01))
    s = scenario([pv], retail=0.3, feed_in=0.07)
    sol = solve_welfare(s)
    assert sol.price_per_kwh[0] == pytest.approx(0.07, abs=1e-6)
    assert sol.grid_export_kw[0] == pytest.approx(10.0, abs=1e-4)


def test_an_importing_community_is_priced_at_retail():
    load = Prosumer("c", "1", (4.0,))
    s = scenario([load], retail=0.3, feed_in=0.07)
    sol = solve_welfare(s)
    assert sol.price_per_kwh[0] == pytest.approx(0.3, abs=1e-6)
    assert sol.payment[0] == pytest.approx(1.2, abs=1e-6)  # 4 kWh × 0.3


def test_outside_option_by_hand():
    # a consumer of 2 kW for 30 minutes pays 1 kWh × 0.3; a 6 kW PV with no cost sells 3 kWh at 0.05
    c = Prosumer("c", "1", (2.0,))
    pv = Prosumer("pv", "1", (0.0,), asset=Asset("pv", 6.0))
    s = scenario([c, pv], retail=0.3, feed_in=0.05, step_h=0.5)
    assert outside_option(s) == pytest.approx([-0.3, 0.15], abs=1e-6)


def test_self_consumption_alone_by_hand():
    # a household of 3 kW with a 5 kW PV of cost 0.02 + 0.01·P per kWh and a flexible load worth 0.2 − 0.05·F
    # per kW: alone it sells at 0.05 and buys at 0.30. At π = 0.05 its PV gives (0.05 − 0.02)/0.02 = 1.5 kW,
    # its flexible load (0.2 − 0.05)/0.1 = 1.5 kW: q = 1.5 − 3 − 1.5 < 0, short. At π = 0.30 the PV gives
    # 5 kW (capped) and the load 0: q = 2 > 0, long. So it balances itself: PV = 3 + F with
    # 0.02 + 0.02·P = π = 0.2 − 0.1·F → P = 3 + F, 0.02 + 0.06 + 0.02·F = 0.2 − 0.1·F → F = 1, P = 4, π = 0.10.
    # Surplus: −(0.01·16 + 0.02·4) + (0.2·1 − 0.05·1) = −0.24 + 0.15 = −0.09 per hour.
    h = Prosumer(
        "h",
        "1",
        (3.0,),
        asset=Asset("pv", 5.0, cost_a_per_kw2h=0.01, cost_b_per_kwh=0.02),
        flexible=FlexibleLoad((4.0,), 0.05, 0.2),
    )
    s = scenario([h], retail=0.3, feed_in=0.05)
    assert separable_surplus([h], (0,), 1.0, [0.05], [0.3]) == pytest.approx([-0.09], abs=1e-12)
    assert outside_option(s, response=PriceResponse(s)) == pytest.approx([-0.09], abs=1e-6)  # the solver agrees
    q, _ = respond(s, [0.05], [0.3])
    assert q.tolist() == [[0.0]]  # it balances itself: no trade
    # at one price of 0.2 its PV gives (0.2 − 0.02)/0.02 = 9 → 5 kW (capped), the load 0: it sells 2 kW
    q, surplus = respond(s, [0.2])
    assert q.ravel() == pytest.approx([2.0]) and surplus == pytest.approx([-(0.01 * 25 + 0.02 * 5) + 0.2 * 2])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0, 8),  # demand
            st.sampled_from([None, "pv", "chp"]),
            st.floats(0, 10),  # capacity
            st.floats(0.5, 1.0),  # efficiency
            st.sampled_from([0.0, 0.004, 0.05]),  # cost a
            st.floats(-0.05, 0.4),  # cost b
            st.booleans(),  # a flexible load
            st.sampled_from([0.0, 0.03]),  # its value a
            st.floats(0.0, 0.5),  # its value b
        ),
        min_size=1,
        max_size=6,
    ),
    st.lists(st.tuples(st.floats(0.0, 0.2), st.floats(0.0, 0.3)), min_size=1, max_size=3),
)
def test_the_closed_form_alone_is_the_solvers_optimum(agents, prices):
    # independent peer: the agents' own problems solved as one program by Clarabel (PriceResponse)
    T = len(prices)
    feed_in = tuple(p for p, _ in prices)
    retail = tuple(p + extra for p, extra in prices)
    ps = []
    for k, (d, kind, cap, eta, a, b, flex, av, bv) in enumerate(agents):
        asset = None if kind is None else Asset(kind, cap, efficiency=eta, cost_a_per_kw2h=a, cost_b_per_kwh=b)
        fl = FlexibleLoad((3.0,) * T, av, bv) if flex else None
        ps.append(Prosumer(f"p{k}", "1", (d,) * T, asset=asset, flexible=fl))
    s = scenario(ps, periods=T, retail=retail, feed_in=feed_in)
    assert all(separable(p, T) for p in ps)
    solver = outside_option(s, response=PriceResponse(s))
    closed = outside_option(s)
    assert closed == pytest.approx(solver, abs=2e-5, rel=1e-6)


def test_storage_shifts_energy_to_the_expensive_period():
    # an empty lossless 10 kWh battery (it must end the day as it began) and 5 kW of load in the second hour,
    # import 0.1 then 0.5: it charges 5 kW in the cheap hour and serves the load in the dear one
    b = Asset("battery", 5.0, p_min_kw=-5.0, energy_kwh=10.0, soc_init_pu=0.0, cost_a_per_kw2h=1e-6)
    load = Prosumer("c", "1", (0.0, 5.0))
    s = scenario([load, Prosumer("b", "1", (0.0, 0.0), asset=b)], periods=2, retail=[0.1, 0.5], feed_in=0.05)
    sol = solve_welfare(s)
    assert sol.der_kw[1] == pytest.approx([-5.0, 5.0], abs=1e-3)
    assert sol.grid_import_kw == pytest.approx([5.0, 0.0], abs=1e-3)
    # λ stays between the tariffs; in the dear hour the battery, not the grid, is marginal
    assert 0.05 - 1e-6 <= sol.price_per_kwh[1] <= 0.5 + 1e-6
