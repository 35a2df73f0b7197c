"""The exact network model (SOCP branch flow): pandapower's AC optimum, exactness, the DLMP parts, re-solves."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest

from core.branch_flow import EXACT_GAP, BranchFlowProblem, clear_network_socp
from core.market import MarketSettings, clear
from core.scenario import load_project
from core.scenario.model import Asset, Bus, Feeder, Line, Prosumer, Scenario, Substation, Tariffs, TimeHorizon

pp = pytest.importorskip("pandapower")

QUICK = MarketSettings(
    audit=False, tatonnement=False, decentralised_check=False, fairness_audit=False, compare=False, market_power=False
)
GENERATORS = ((17, 45.0), (32, 55.0))  # bus, EUR/MWh; both + 20 EUR/MW²h, 0–500 kW, unity power factor


def case33_with_generators():
    """pandapower's case33bw with two priced generators and the substation at 50 EUR/MWh, and the same as a
    project (imported)."""
    import pandapower.networks as pn

    from core.scenario.importers import import_pandapower

    net = pn.case33bw()
    net.poly_cost.loc[0, "cp1_eur_per_mw"] = 50.0
    for bus, c1 in GENERATORS:
        g = pp.create_sgen(
            net,
            bus,
            p_mw=0.0,
            q_mvar=0.0,
            min_p_mw=0.0,
            max_p_mw=0.5,
            min_q_mvar=0.0,
            max_q_mvar=0.0,
            controllable=True,
        )
        pp.create_poly_cost(net, g, "sgen", cp1_eur_per_mw=c1, cp2_eur_per_mw2=20.0)
    s, _ = import_pandapower(pn.case33bw(), periods=1, wholesale_price_per_kwh=0.050)
    gens = tuple(
        Prosumer(
            f"g{b}", str(b), (0.0,), asset=Asset("generator", 500.0, cost_a_per_kw2h=20e-6, cost_b_per_kwh=c / 1000.0)
        )
        for b, c in GENERATORS
    )
    return net, replace(s, prosumers=s.prosumers + gens)


def test_the_dlmps_are_pandapowers_ac_optimum():
    net, s = case33_with_generators()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.runopp(net, delta=1e-10)
    r = clear(s, replace(QUICK, network="socp"))
    assert r.summary["network"] == "socp" and "exact" in r.summary["network_model"]
    assert r.summary["exactness_gap"] < 1e-6
    buses = r.buses.set_index("bus")
    ours = np.array([buses.loc[str(k), "dlmp_per_kwh"] for k in range(len(net.bus))]) * 1000.0  # EUR/MWh
    assert ours == pytest.approx(net.res_bus.lam_p.to_numpy(), abs=0.05)
    # the dispatch: the generators' output within 2 kW of pandapower's (247 and 18 kW)
    der = r.agent_periods.set_index("agent").der_kw
    for (bus, _), kw in zip(GENERATORS, net.res_sgen.p_mw.to_numpy() * 1000.0, strict=True):
        assert der[f"g{bus}"] == pytest.approx(kw, abs=2.0)
    # the losses are AC losses (pandapower: 170 kW)
    assert r.summary["loss_kwh"] == pytest.approx(net.res_line.pl_mw.sum() * 1000.0, rel=2e-3)


def test_lindistflow_prices_sit_below_the_exact_ones_on_this_case():
    # LinDistFlow's losses are quadratic in flows at nominal voltage: 154 kW where AC has 170, so its loss parts
    # and prices fall short by about 1 EUR/MWh at the far end
    _, s = case33_with_generators()
    exact = clear(s, replace(QUICK, network="socp")).buses.set_index("bus").dlmp_per_kwh
    lin = clear(s, replace(QUICK, network="lindistflow")).buses.set_index("bus").dlmp_per_kwh
    gap = (exact - lin.reindex(exact.index)) * 1000.0
    assert 0.5 < gap.max() < 2.0


@pytest.mark.parametrize("project", ["ieee33-community", "ieee33-constrained"])
def test_the_relaxation_is_exact_on_the_bundled_feeders_and_the_parts_add_up(projects_dir, project):
    s = load_project(projects_dir / f"{project}.json")
    sol = clear_network_socp(s)
    assert np.max(np.abs(sol.exactness_gap)) < 1e-6
    parts = sol.energy + sol.loss + sol.congestion + sol.voltage
    assert np.max(np.abs(parts - sol.dlmp)) < 1e-6  # the parts rebuilt from the optimality conditions
    if project == "ieee33-constrained":
        # at 19:00 the voltage floor binds at bus 18 (0.934 p.u.) and the 30 A lateral at midday: both show
        at19 = sol.bus_frame(19).set_index("bus")
        assert at19.loc["18", "v_pu"] == pytest.approx(0.934, abs=1e-5)
        assert at19.voltage_per_kwh.max() > 1e-3
        assert np.max(np.abs(sol.congestion)) > 1e-4


def test_the_exact_voltages_are_the_ac_power_flows(projects_dir):
    # at the SOCP's injections the exact AC power flow gives the same voltages: the relaxation is physics
    from core.network.powerflow import ac_power_flow

    s = load_project(projects_dir / "ieee33-constrained.json")
    sol = clear_network_socp(s)
    q = np.zeros_like(sol.injection_kw)
    for pr in s.prosumers:
        q[sol.net.index[pr.bus]] -= [pr.reactive_kvar(t) for t in range(s.periods)]
    for t in (3, 12, 19):
        ac = ac_power_flow(sol.net, sol.injection_kw[:, t], q[:, t])
        assert sol.v_pu[:, t] == pytest.approx(ac.v_pu, abs=1e-6)


def test_a_negative_price_makes_the_relaxation_inexact_and_the_market_says_so():
    # energy the grid pays to take: the relaxation "burns" it as phantom current in the line (P² + Q² < v·ℓ).
    # The market falls back to the AC-checked LinDistFlow clearing and says why
    feeder = Feeder(
        base_kv=0.4,
        base_kva=100.0,
        substation=Substation("0", 1.0, (-0.05, -0.05)),
        buses=(Bus("0"), Bus("1")),
        lines=(Line("L", "0", "1", 0.05, 0.02, rating_kva=100.0),),
    )
    s = Scenario(
        "negative", feeder, TimeHorizon(2), Tariffs((0.3, 0.3), (0.0, 0.0)), (Prosumer("home", "1", (10.0, 10.0)),)
    )
    sol = clear_network_socp(s)
    assert sol.checks["exactness_gap"] > EXACT_GAP
    r = clear(s, replace(QUICK, network="socp"))
    assert r.summary["fallback"] == "ac" and "not exact" in r.summary["network_note"]
    assert "relaxation was not exact" in r.summary["network_model"]


def test_a_re_solve_after_an_edit_is_a_fresh_solve(projects_dir):
    s = load_project(projects_dir / "ieee33-constrained.json")
    problem = BranchFlowProblem(s)
    before = problem.solve()
    i = next(k for k, p in enumerate(s.prosumers) if p.id == "c18")
    p = s.prosumers[i]
    edited = s.with_prosumer(i, replace(p, demand_kw=tuple(1.2 * d for d in p.demand_kw)))
    again = clear_network_socp(edited, problem=problem)  # the compiled problem, new numbers
    fresh = clear_network_socp(edited)
    assert again.dlmp == pytest.approx(fresh.dlmp, abs=1e-6)
    assert again.v_pu == pytest.approx(fresh.v_pu, abs=1e-7)
    k = before.net.index["18"]
    # bus 18 serves 20 % more of c18's fixed demand: its net injection falls by that much at 19:00
    assert before.injection_kw[k, 19] - again.injection_kw[k, 19] == pytest.approx(0.2 * p.demand_kw[19], rel=1e-6)
