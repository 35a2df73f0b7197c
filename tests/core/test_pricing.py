"""DLMPs on hand-solvable two-bus feeders: each component alone, and the parts adding up."""

import numpy as np
import pytest

from core.pricing import clear_network
from core.scenario.model import (
    Asset,
    Bus,
    Feeder,
    Line,
    Prosumer,
    Scenario,
    Substation,
    Tariffs,
    TimeHorizon,
)

BASE_KVA = 100.0
Z_BASE = 0.4**2 * 1e6 / (BASE_KVA * 1e3)  # 1.6 ohm


def two_bus(rating_kva=None, r=0.0, x=0.01, vmin=0.9, load=10.0, price=0.10, b_gen=0.20):
    """Substation 0 —(r + jx)— bus 1 with a fixed 10 kW load and a 10 kW local unit at b_gen per kWh."""
    f = Feeder(
        base_kv=0.4,
        base_kva=BASE_KVA,
        substation=Substation("0", 1.0, (price,)),
        buses=(Bus("0"), Bus("1")),
        lines=(Line("L", "0", "1", r, x, rating_kva=rating_kva),),
        v_min_pu=vmin,
        v_max_pu=1.1,
    )
    ps = (
        Prosumer("c", "1", (load,)),
        Prosumer("g", "1", (0.0,), asset=Asset("generator", 10.0, cost_b_per_kwh=b_gen, cost_a_per_kw2h=1e-7)),
    )
    return Scenario("two", f, TimeHorizon(1), Tariffs((0.3,), (0.05,)), ps)


def parts(sol, k=1):
    return {name: float(getattr(sol, name)[k, 0]) for name in ("dlmp", "energy", "loss", "congestion", "voltage")}


def test_no_limits_no_losses_every_dlmp_is_the_substation_price():
    sol = clear_network(two_bus())  # r = 0: no losses
    assert sol.dlmp[:, 0] == pytest.approx([0.10, 0.10], abs=1e-6)
    assert parts(sol)["loss"] == pytest.approx(0.0, abs=1e-9)
    assert sol.grid_import_kw[0] == pytest.approx(10.0, abs=1e-4)


def test_a_binding_line_limit_prices_the_local_unit():
    # 6 kVA line, no reactive power: the grid brings 6 kW, the local unit (0.20/kWh) the other 4;
    # DLMP at bus 1 = 0.20 = 0.10 energy + 0.10 congestion
    sol = clear_network(two_bus(rating_kva=6.0))
    p = parts(sol)
    assert p["dlmp"] == pytest.approx(0.20, abs=1e-4)
    assert p["energy"] == pytest.approx(0.10, abs=1e-6) and p["congestion"] == pytest.approx(0.10, abs=1e-4)
    assert p["loss"] == pytest.approx(0.0, abs=1e-9) and p["voltage"] == pytest.approx(0.0, abs=1e-6)
    assert sol.der_kw[1, 0] == pytest.approx(4.0, abs=1e-3)
    assert sol.loading_pct[1, 0] == pytest.approx(100.0, abs=1e-3)


def test_a_binding_voltage_limit_at_the_feeder_end():
    # r = 0.05 ohm = 0.03125 p.u.; v_min = 0.998 ⇒ v² ≥ 0.996004 ⇒ flow ≤ (1 − 0.996004)/(2·0.03125) p.u.
    r_pu = 0.05 / Z_BASE
    f_max_kw = (1 - 0.998**2) / (2 * r_pu) * BASE_KVA  # 6.3936 kW
    sol = clear_network(two_bus(r=0.05, x=0.0, vmin=0.998))
    p = parts(sol)
    assert sol.flow_kw[1, 0] == pytest.approx(f_max_kw, rel=1e-4)
    assert sol.v_pu[1, 0] == pytest.approx(0.998, abs=1e-6)
    # the local unit is marginal: DLMP 0.20; loss part λ·∂Loss/∂w = 0.10 · 2 r F / v0²
    loss = 0.10 * 2 * r_pu * f_max_kw / BASE_KVA
    assert p["dlmp"] == pytest.approx(0.20, abs=1e-4)
    assert p["loss"] == pytest.approx(loss, rel=1e-3)
    assert p["voltage"] == pytest.approx(0.20 - 0.10 - loss, abs=1e-4)
    assert p["congestion"] == pytest.approx(0.0, abs=1e-9)


def test_losses_alone_raise_the_far_price_by_the_marginal_loss():
    # r = 0.02 ohm, 10 kW: ∂Loss/∂w = 2 r F / v0² (p.u.) with F ≈ 10 kW plus its own losses
    r_pu = 0.02 / Z_BASE
    sol = clear_network(two_bus(r=0.02, x=0.0))
    p = parts(sol)
    assert p["loss"] == pytest.approx(0.10 * 2 * r_pu * sol.flow_kw[1, 0] / BASE_KVA, rel=1e-6)
    assert p["loss"] > 0 and p["congestion"] == 0 and p["voltage"] == pytest.approx(0.0, abs=1e-9)
    # the grid supplies the load and the loss I²r ≈ r F² / v0²
    assert sol.grid_import_kw[0] == pytest.approx(10.0 + sol.loss_kw[0], rel=1e-6)
    assert sol.loss_kw[0] == pytest.approx(r_pu * (10.0 / BASE_KVA) ** 2 * BASE_KVA, rel=1e-2)


@pytest.mark.parametrize("case", [dict(rating_kva=6.0), dict(r=0.05, x=0.0, vmin=0.998), dict(r=0.02, x=0.01)])
def test_parts_add_up_to_the_dlmp(case):
    sol = clear_network(two_bus(**case))
    total = sol.energy + sol.loss + sol.congestion + sol.voltage
    assert np.max(np.abs(total - sol.dlmp)) < 1e-6
    assert sol.decomposition_error < 1e-6


def test_dc_model_sees_congestion_but_no_voltage_or_loss():
    sol = clear_network(two_bus(r=0.05, x=0.0, vmin=0.998), model="dc")
    assert sol.dlmp[1, 0] == pytest.approx(0.10, abs=1e-6)  # blind to the voltage limit
    assert np.all(sol.v_pu == 1.0) and sol.loss_kw[0] == 0.0


def test_infeasible_network_is_reported_with_a_reason():
    from core.errors import ClearingError

    # 20 kW of fixed load behind a 6 kVA line with a 10 kW local unit: at least 20 − 10 = 10 kW must flow
    with pytest.raises(ClearingError, match=r"infeasible: line \S+ must carry at least 10\.0 kW .* rating of 6\.0 kVA"):
        clear_network(two_bus(rating_kva=6.0, load=20.0))


def test_the_constrained_bundled_project_has_every_component(projects_dir):
    from core.scenario import load_project

    s = load_project(projects_dir / "ieee33-constrained.json")
    sol = clear_network(s)  # the whole day: storage couples the periods
    # midday (period 13): the 30 A lateral 3→23 is congested; evening (19): the voltage floor binds at bus 18
    k18, k25 = sol.net.index["18"], sol.net.index["25"]
    assert abs(sol.congestion[k25, 13]) > 1e-4
    assert sol.loading_pct[sol.net.index["23"], 13] == pytest.approx(100.0, abs=1e-3)
    assert sol.voltage[k18, 19] > 1e-4
    assert sol.v_pu[k18, 19] == pytest.approx(0.934, abs=1e-6)
    assert np.all(sol.loss[1:, 19] > 0)
    total = sol.energy + sol.loss + sol.congestion + sol.voltage
    assert np.max(np.abs(total - sol.dlmp)) < 1e-6


def _all_limits_written(s):
    """The same clearing with every rating and voltage limit in the problem from the start (no screening)."""
    from core.pricing import LinDistFlowProblem

    lp = LinDistFlowProblem(s)
    lp.watch_line[lp.rated] = True
    lp.watch_v[1:] = True
    lp._build()
    return lp.solve()


def test_screening_the_limits_gives_the_full_problems_prices(projects_dir):
    # the constrained project binds a line rating at midday and the voltage floor in the evening: the screened
    # problem (limits added as the solution breaks them) must land on the optimum of the problem with all of them
    from core.scenario import load_project

    s = load_project(projects_dir / "ieee33-constrained.json")
    screened, full = clear_network(s), _all_limits_written(s)
    # the two reach the loss factors' fixed point by different paths: prices agree to what LF_TOL allows
    # (λ·1e-5 per kWh, 0.002 EUR/MWh here); the binding limits' parts are the full problem's
    assert np.max(np.abs(screened.dlmp - full.dlmp)) < 1e-5
    assert np.max(np.abs(screened.congestion - full.congestion)) < 1e-5
    assert np.max(np.abs(screened.voltage - full.voltage)) < 1e-5
    assert np.abs(screened.congestion).max() > 1e-3 and np.abs(screened.voltage).max() > 1e-3
    assert screened.welfare == pytest.approx(full.welfare, rel=1e-7)


def test_an_edit_that_newly_binds_a_limit_re_solves_to_the_fresh_answer():
    from dataclasses import replace

    from core.pricing import LinDistFlowProblem

    loose = two_bus(rating_kva=12.0)  # 10 kW through a 12 kVA line: nothing binds, nothing is watched
    lp = LinDistFlowProblem(loose)
    lp.update(loose)
    assert lp.solve().congestion[1, 0] == 0.0 and not lp.watch_line.any()
    c = loose.prosumers[0]
    tight = loose.with_prosumer(0, replace(c, demand_kw=(16.0,)))  # 16 kW: the line carries 12, the unit 4
    lp.update(tight)
    again = lp.solve()
    fresh = clear_network(tight)
    assert again.dlmp[1, 0] == pytest.approx(0.20, abs=1e-4) and again.der_kw[1, 0] == pytest.approx(4.0, abs=1e-3)
    assert np.max(np.abs(again.dlmp - fresh.dlmp)) < 1e-6
    assert lp.watch_line[1, 0]


def test_an_infeasible_rating_is_named_with_the_flow_it_must_carry():
    # every prosumer of the 33-bus community is beyond line L1 (substation → bus 2): in each period L1 carries at
    # least the whole fixed demand less everything the DERs could give; with a 1 kVA rating the worst period names it
    from dataclasses import replace

    from core.errors import ClearingError
    from core.market import MarketSettings, clear
    from core.scenario.generate import ieee33_community
    from core.scenario.model import STORAGE_KINDS

    s = ieee33_community()
    s = s.with_line(0, replace(s.feeder.lines[0], rating_kva=1.0, rating_a=None))
    assert s.feeder.lines[0].id == "L1" and s.feeder.lines[0].from_bus == s.feeder.substation.bus

    def least(t):
        total = 0.0
        for p in s.prosumers:
            supply = 0.0
            if p.asset is not None:
                supply = p.asset.efficiency * max(p.asset.p_max_at(t), 0.0)
                if p.asset.kind in STORAGE_KINDS and p.asset.energy_kwh is not None:
                    supply = min(supply, p.asset.efficiency * p.asset.energy_kwh / s.horizon.step_h)
            total += p.demand_kw[t] - supply
        return total

    worst = max(range(s.periods), key=least)
    with pytest.raises(ClearingError) as info:
        clear(s, MarketSettings(network="lindistflow", audit=False, tatonnement=False))
    text = str(info.value)
    assert f"line L1 must carry at least {least(worst):,.1f} kW at {s.horizon.labels()[worst]}" in text
    assert "above its rating of 1.0 kVA" in text
