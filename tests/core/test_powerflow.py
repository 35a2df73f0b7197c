"""Power flow on radial feeders: AC, LinDistFlow, DC, marginal loss factors, loss-neutral trades.

Reference numbers come from outside the code under test: Baran & Wu's
published solution of their 33-bus feeder (1989: 202.7 kW of losses, 0.9131 p.u.
at bus 18), pandapower's Newton–Raphson (``runpp``) on the same network, the
closed-form solution of the two-bus feeder worked out below, and a dense
``B·θ = p`` solve for the DC model.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.cli import main
from core.network.powerflow import (
    MODELS,
    _sweep,
    ac_power_flow,
    dc_power_flow,
    flow,
    lindistflow,
    loss_neutral_trade,
    marginal_loss_factors,
    settle_bilateral,
)
from core.network.topology import Radial, bus_injections_kw, radial
from core.scenario import load_project
from core.scenario.importers import export_pandapower
from core.scenario.model import (
    Bus,
    Feeder,
    Line,
    Prosumer,
    Scenario,
    Substation,
    Tariffs,
    TimeHorizon,
    Transformer,
)


@pytest.fixture(scope="module")
def pp():
    return pytest.importorskip("pandapower")


@pytest.fixture(scope="module")
def case33(pp):
    """case33bw as a scenario, its Radial, injections (kW, kvar) and the AC solution."""
    from core.scenario.importers import import_pandapower

    s, _ = import_pandapower("case33bw")
    net = radial(s)
    p, q = bus_injections_kw(s, 0, net)
    return s, net, p, q, ac_power_flow(net, p, q)


@pytest.fixture(scope="module")
def case33_pp(pp):
    """pandapower's own Newton–Raphson solution of case33bw (tight tolerance)."""
    import pandapower.networks as pn

    ppn = pn.case33bw()
    pp.runpp(ppn, tolerance_mva=1e-12, calculate_voltage_angles=True)
    return ppn


def two_bus(p_kw: float, q_kvar: float, *, reversed_line: bool = False) -> Scenario:
    """Substation S at 1.0 p.u., one line of 5 + j10 ohm to bus B with a load P + jQ.

    Base 10 kV, 1,000 kVA: Z_base = 100 ohm, so r = 0.05 and x = 0.10 p.u.
    """
    line = Line("L", "B", "S", 5.0, 10.0) if reversed_line else Line("L", "S", "B", 5.0, 10.0)
    return Scenario(
        name="two buses",
        feeder=Feeder(
            base_kv=10.0,
            base_kva=1000.0,
            substation=Substation("S", 1.0, (0.1,)),
            buses=(Bus("S"), Bus("B")),
            lines=(line,),
        ),
        horizon=TimeHorizon(1),
        tariffs=Tariffs((0.3,), (0.05,)),
        prosumers=(Prosumer("c", "B", (p_kw,), demand_kvar=(q_kvar,)),),
    )


def two_bus_by_hand(P: float, Q: float, r: float = 0.05, x: float = 0.10, v0: float = 1.0):
    """|V|², loss and d loss/dP of the two-bus feeder in closed form (p.u.).

    With the load S = P + jQ at the receiving bus and V_0 = v0∠0:
    V_0 = V + z·conj(S/V)  ⇒  V_0·conj(V) = |V|² + z·conj(S); the squared modulus is
    v0²u = (u + rP + xQ)² + (xP − rQ)² with u = |V|², i.e.
        u² − (v0² − 2(rP + xQ))·u + (r² + x²)(P² + Q²) = 0,
    whose larger root is the operating point: u = (b + √(b² − 4|z|²|S|²))/2, b = v0² − 2(rP + xQ).
    The current is ℓ = |S|²/u and the loss r·ℓ. Differentiating F(u, P) = 0 implicitly,
    du/dP = −(2ru + 2|z|²P)/(2u − b) and d loss/dP = r(2P/u − |S|²·(du/dP)/u²).
    """
    z2, s2 = r * r + x * x, P * P + Q * Q
    b = v0**2 - 2.0 * (r * P + x * Q)
    u = (b + math.sqrt(b * b - 4.0 * z2 * s2)) / 2.0
    du = -(2.0 * r * u + 2.0 * z2 * P) / (2.0 * u - b)
    return u, r * s2 / u, r * (2.0 * P / u - s2 * du / u**2)


# --------------------------------------------------------------------------- the 2-bus feeder by hand


def test_two_bus_ac_matches_the_closed_form():
    # P = 0.5, Q = 0.2 p.u.: b = 1 − 2(0.025 + 0.02) = 0.91, |z|²|S|² = 0.0125·0.29 = 0.003625,
    # u = (0.91 + √0.8136)/2 = 0.905999, |V| = 0.951840, loss = 0.05·0.29/0.905999 = 0.016004 p.u. = 16.004 kW
    s = two_bus(500.0, 200.0)
    res = flow(s, 0, "ac")
    u, loss, _ = two_bus_by_hand(0.5, 0.2)
    assert res.converged
    assert res.v_pu[1] == pytest.approx(math.sqrt(u), abs=1e-10)
    assert res.v_pu[1] == pytest.approx(0.951840, abs=1e-6)
    assert res.total_loss_kw == pytest.approx(loss * 1000.0, rel=1e-9)
    assert res.total_loss_kw == pytest.approx(16.004, abs=1e-3)
    # the line's current is |S|/|V| in p.u.; I_base = 1000 kVA/(√3·10 kV) = 57.735 A
    assert res.i_a[1] == pytest.approx(math.sqrt(0.29 / u) * 1000.0 / (math.sqrt(3) * 10.0), rel=1e-9)
    # the substation sends the load plus the losses: P + r·ℓ, Q + x·ℓ
    assert res.p_kw[1] == pytest.approx(500.0 + loss * 1000.0, rel=1e-9)
    assert res.q_kvar[1] == pytest.approx(200.0 + 2.0 * loss * 1000.0, rel=1e-9)  # x = 2r
    assert res.grid_p_kw == pytest.approx(500.0 + loss * 1000.0, rel=1e-9)
    assert res.loading_pct[1] != res.loading_pct[1]  # NaN: unrated


def test_two_bus_linear_models_by_hand():
    s = two_bus(500.0, 200.0)
    ldf = flow(s, 0, "lindistflow")
    # v = 1 − 2(0.05·0.5 + 0.1·0.2) = 0.91; θ = −(xP − rQ) = −(0.05 − 0.01) = −0.04 rad
    assert ldf.v_pu[1] == pytest.approx(math.sqrt(0.91), abs=1e-12)
    assert ldf.angle_deg[1] == pytest.approx(math.degrees(-0.04), abs=1e-12)
    # the loss estimate from the lossless flow: r(P² + Q²)/v0² = 0.05·0.29 = 0.0145 p.u.
    assert ldf.total_loss_kw == pytest.approx(14.5, abs=1e-9)
    assert ldf.p_kw[1] == pytest.approx(500.0) and ldf.grid_p_kw == pytest.approx(500.0)
    dc = flow(s, 0, "dc")
    # |V| = 1, θ = −xP = −0.05 rad, no loss
    assert dc.v_pu[1] == 1.0 and dc.total_loss_kw == 0.0
    assert dc.angle_deg[1] == pytest.approx(math.degrees(-0.05), abs=1e-12)


def test_two_bus_mlf_by_hand():
    net = radial(two_bus(500.0, 200.0))
    p, q = np.array([0.0, -500.0]), np.array([0.0, -200.0])
    mlf = marginal_loss_factors(net, p, q)
    _, _, dloss = two_bus_by_hand(0.5, 0.2)
    # MLF = 1 + d loss/dP with u = 0.905999, b = 0.91:
    # du/dP = −(2·0.05·0.905999 + 2·0.0125·0.5)/(2·0.905999 − 0.91) = −0.114302,
    # d loss/dP = 0.05·(2·0.5/0.905999 + 0.29·0.114302/0.905999²) = 0.05·(1.103754 + 0.040383) = 0.057207
    assert mlf[0] == 1.0
    assert mlf[1] == pytest.approx(1.0 + dloss, abs=1e-9)
    assert mlf[1] == pytest.approx(1.057207, abs=1e-6)


def test_line_frame_follows_the_scenarios_orientation():
    fwd = flow(two_bus(500.0, 200.0), 0, "ac").line_frame()
    rev = flow(two_bus(500.0, 200.0, reversed_line=True), 0, "ac").line_frame()
    _u, loss, _ = two_bus_by_hand(0.5, 0.2)
    loss_kw = loss * 1000.0
    assert list(fwd[["from_bus", "to_bus"]].iloc[0]) == ["S", "B"]
    assert list(rev[["from_bus", "to_bus"]].iloc[0]) == ["B", "S"]
    # power into the line at each end: from S it is P + loss, from B it is −P
    assert fwd.p_from_kw[0] == pytest.approx(500.0 + loss_kw) and fwd.p_to_kw[0] == pytest.approx(-500.0)
    assert rev.p_from_kw[0] == pytest.approx(-500.0) and rev.p_to_kw[0] == pytest.approx(500.0 + loss_kw)
    assert rev.q_from_kvar[0] == pytest.approx(-200.0)
    for frame in (fwd, rev):
        assert frame.p_from_kw[0] + frame.p_to_kw[0] == pytest.approx(frame.loss_kw[0], abs=1e-9)


# --------------------------------------------------------------------------- case33bw: published and pandapower


def test_case33bw_matches_baran_wu(case33):
    s, net, _p, _q, res = case33
    assert res.converged
    assert res.total_loss_kw == pytest.approx(202.7, abs=0.1)
    k = int(np.argmin(res.v_pu))
    assert net.bus_ids[k] == "17"  # Baran–Wu bus 18
    assert res.v_pu[k] == pytest.approx(0.9131, abs=1e-4)
    assert res.bus_frame().set_index("bus").v_pu["17"] == pytest.approx(0.9131, abs=1e-4)
    # through flow(), the frames come in the scenario's order
    frame = flow(s, 0, "ac").bus_frame()
    assert list(frame.bus) == [b.id for b in s.feeder.buses]
    assert frame.v_pu.min() == pytest.approx(0.9131, abs=1e-4)


def test_case33bw_matches_pandapower(case33, case33_pp):
    _s, net, _p, _q, res = case33
    ppn = case33_pp
    idx = np.array([int(b) for b in net.bus_ids])
    assert np.max(np.abs(res.v_pu - ppn.res_bus.vm_pu.to_numpy()[idx])) < 1e-6
    assert np.max(np.abs(res.angle_deg - ppn.res_bus.va_degree.to_numpy()[idx])) < 1e-4
    lines = res.line_frame().set_index("line")
    ref = ppn.res_line.loc[ppn.line.in_service]
    ref.index = [f"L{i}" for i in ref.index]
    lines = lines.loc[ref.index]
    assert np.max(np.abs(lines.loss_kw.to_numpy() / 1000.0 - ref.pl_mw.to_numpy())) < 1e-6
    assert np.max(np.abs(lines.p_from_kw.to_numpy() / 1000.0 - ref.p_from_mw.to_numpy())) < 1e-6
    assert np.max(np.abs(lines.q_to_kvar.to_numpy() / 1000.0 - ref.q_to_mvar.to_numpy())) < 1e-6
    assert np.max(np.abs(lines.i_a.to_numpy() / 1000.0 - ref.i_from_ka.to_numpy())) < 1e-6
    assert res.grid_p_kw / 1000.0 == pytest.approx(ppn.res_ext_grid.p_mw.iloc[0], abs=1e-6)
    assert res.total_loss_kw / 1000.0 == pytest.approx(ref.pl_mw.sum(), abs=1e-6)


def test_lindistflow_is_close_to_ac_and_optimistic(case33):
    _s, net, p, q, ac = case33
    ldf = lindistflow(net, p, q)
    dv = ldf.v_pu - ac.v_pu
    assert np.max(np.abs(dv)) < 0.01
    assert np.all(dv >= -1e-12)  # it ignores the losses' own drop: voltages too high
    assert ldf.v_min_pu == pytest.approx(0.9159, abs=1e-4) and ldf.v_min_pu > ac.v_min_pu
    # lossless flows: the substation sends exactly the load; the loss is only an estimate
    assert ldf.grid_p_kw == pytest.approx(3715.0)
    assert 0.85 * ac.total_loss_kw < ldf.total_loss_kw < ac.total_loss_kw


def test_dc_blind_spot(case33):
    _s, net, p, _q, ac = case33
    dc = dc_power_flow(net, p)
    assert np.all(dc.v_pu == net.v0_pu) and dc.total_loss_kw == 0.0
    assert ac.v_min_pu < 0.914
    assert np.all(dc.q_kvar == 0.0) and np.all(dc.loss_kw == 0.0)


def test_dc_angles_solve_the_b_matrix(case33):
    _s, net, p, _q, _ac = case33
    # the textbook DC power flow: B·θ = p with B = Cᵀ·diag(1/x)·C, slack row and column removed (v0 = 1)
    n = net.n
    b = np.zeros((n, n))
    for j in range(1, n):
        i, y = net.parent[j], 1.0 / net.x_pu[j]
        b[i, i] += y
        b[j, j] += y
        b[i, j] -= y
        b[j, i] -= y
    theta = np.zeros(n)
    theta[1:] = np.linalg.solve(b[1:, 1:], p[1:] / net.base_kva)
    dc = dc_power_flow(net, p)
    assert np.max(np.abs(np.deg2rad(dc.angle_deg) - theta)) < 1e-12


def test_the_triangular_sweeps_are_products_with_the_path_matrix(case33):
    _s, net, *_ = case33
    rng = np.random.default_rng(7)
    b = rng.normal(size=net.n) + 1j * rng.normal(size=net.n)
    d = b.copy()
    d[0] = 0.0
    sw = _sweep(net)
    assert np.max(np.abs(sw.subtree(b)[1:] - (net.path.T @ b)[1:])) < 1e-12  # subtree sums
    assert np.max(np.abs(sw.down(d) - net.path @ d)) < 1e-12  # sums along the path


def test_path_and_depth_follow_the_parents(projects_dir):
    net = radial(load_project(projects_dir / "synthetic-1000bus.json"))
    depth = np.zeros(net.n, dtype=int)
    rows, cols = [], []
    for k in range(1, net.n):  # the definitions, bus by bus
        depth[k] = depth[net.parent[k]] + 1
        j = k
        while j > 0:
            rows.append(k)
            cols.append(j)
            j = net.parent[j]
    assert np.array_equal(net.depth, depth) and net.depth.max() > 20
    a = net.path.tocoo()
    assert sorted(zip(a.row.tolist(), a.col.tolist(), strict=True)) == sorted(zip(rows, cols, strict=True))


# --------------------------------------------------------------------------- marginal loss factors


def test_mlf_matches_finite_differences_on_case33bw(case33):
    _s, net, p, q, res = case33
    mlf = marginal_loss_factors(net, p, q, solution=res)
    assert mlf[0] == 1.0
    h = 1.0  # kW of extra load, central differences
    for bus in ("5", "17", "24", "32"):
        k = net.index[bus]
        e = np.zeros(net.n)
        e[k] = h
        up = ac_power_flow(net, p - e, q, tol=1e-13).total_loss_kw
        down = ac_power_flow(net, p + e, q, tol=1e-13).total_loss_kw
        dloss = (up - down) / (2.0 * h)
        assert mlf[k] - 1.0 == pytest.approx(dloss, rel=1e-4)
    # the far end of the loaded main feeder costs more losses than its start
    assert 1.0 < mlf[net.index["1"]] < mlf[net.index["5"]] < mlf[net.index["17"]]
    assert mlf[net.index["17"]] > 1.1


def test_mlf_below_one_next_to_a_pv_surplus(projects_dir):
    s = load_project(projects_dir / "ieee33-community.json")
    net = radial(s)
    p, q = bus_injections_kw(s, 12, net)
    mlf = marginal_loss_factors(net, p, q)
    assert mlf.min() < 1.0  # midday export: more load there relieves the reverse flow


# --------------------------------------------------------------------------- bundled projects


@pytest.mark.parametrize("period", [19, 12])
def test_ieee33_community_flows(projects_dir, period):
    s = load_project(projects_dir / "ieee33-community.json")
    res = flow(s, period, "ac")
    assert res.converged and res.iterations < 20
    # power balance: what all buses inject is what the lines lose
    assert res.p_inj_kw.sum() == pytest.approx(res.total_loss_kw, abs=1e-6)
    if period == 19:  # evening peak: importing, voltages sag
        assert res.grid_p_kw > 2000.0 and res.v_min_pu < 0.95
    else:  # midday PV: exporting, voltages rise above the set-point
        assert res.grid_p_kw < 0.0 and res.v_max_pu > s.feeder.substation.v_set_pu
    assert len(res.line_frame()) == len(s.feeder.lines) and len(res.bus_frame()) == len(s.feeder.buses)


@pytest.mark.parametrize("period", [19, 12])
def test_ieee33_community_matches_pandapower(pp, projects_dir, period):
    s = load_project(projects_dir / "ieee33-community.json")
    res = flow(s, period, "ac")
    ppn, idx = export_pandapower(s, period)
    pp.runpp(ppn, tolerance_mva=1e-12)
    buses = res.bus_frame()
    ref = ppn.res_bus.loc[[idx[b] for b in buses.bus]]
    assert np.max(np.abs(buses.v_pu.to_numpy() - ref.vm_pu.to_numpy())) < 1e-6
    assert np.max(np.abs(buses.angle_deg.to_numpy() - ref.va_degree.to_numpy())) < 1e-4
    lines = res.line_frame()
    assert np.max(np.abs(lines.p_from_kw.to_numpy() / 1000.0 - ppn.res_line.p_from_mw.to_numpy())) < 1e-6
    assert np.max(np.abs(lines.p_to_kw.to_numpy() / 1000.0 - ppn.res_line.p_to_mw.to_numpy())) < 1e-6


def test_synthetic_1000bus_converges(projects_dir):
    s = load_project(projects_dir / "synthetic-1000bus.json")
    net = radial(s)
    for period in (0, 12, 19):
        res = flow(s, period, "ac", net=net)
        assert res.converged and res.iterations < 20
        assert res.p_inj_kw.sum() == pytest.approx(res.total_loss_kw, abs=1e-6)
        ldf = flow(s, period, "lindistflow", net=net)
        assert np.max(np.abs(ldf.v_pu - res.v_pu)) < 0.005
        dc = flow(s, period, "dc", net=net)
        assert np.all(dc.v_pu == s.feeder.substation.v_set_pu)


def test_flow_rejects_bad_arguments(projects_dir):
    s = load_project(projects_dir / "teaching-5bus.json")
    with pytest.raises(ValueError, match="unknown power flow model"):
        flow(s, 0, "newton")
    with pytest.raises(ValueError, match="period"):
        flow(s, 5, "ac")
    with pytest.raises(ValueError, match="one value per bus"):
        ac_power_flow(radial(s), np.zeros(3), np.zeros(3))


def test_ac_reports_non_convergence():
    # 20 MW through 5 + j10 ohm at 10 kV is far past the two-bus loadability: no solution exists
    net: Radial = radial(two_bus(20000.0, 0.0))
    res = ac_power_flow(net, np.array([0.0, -20000.0]), np.zeros(2))
    assert not res.converged
    with pytest.raises(ValueError, match="did not converge"):
        marginal_loss_factors(net, np.array([0.0, -20000.0]), np.zeros(2))


# --------------------------------------------------------------------------- loss-neutral P2P settlement


def test_loss_neutral_trade_by_hand():
    # dP_i·MLF_i = dP_j·MLF_j: 10 kWh sold at MLF 1.02, bought at MLF 1.05 → 10·1.02/1.05 = 9.7142857 kWh
    assert loss_neutral_trade(1.02, 1.05, 10.0) == pytest.approx(9.7142857, abs=1e-7)
    assert loss_neutral_trade(1.05, 1.02, 10.0) == pytest.approx(10.2941176, abs=1e-7)  # seller farther out
    assert np.allclose(loss_neutral_trade([1.0, 1.1], [1.1, 1.1], [11.0, 5.0]), [10.0, 5.0])


def test_settle_bilateral_by_hand():
    trades = pd.DataFrame(
        {
            "seller": ["a", "b"],
            "buyer": ["c", "d"],
            "seller_bus": ["3", "7"],
            "buyer_bus": ["7", "3"],
            "kwh": [10.0, 4.0],
        }
    )
    mlf = {"3": 1.02, "7": 1.05}
    out = settle_bilateral(trades, mlf)
    # row 0: 10 kWh from 1.02 to 1.05 → 9.7142857 delivered, 0.2857143 lost
    # row 1: 4 kWh from 1.05 to 1.02 → 4.1176471 delivered, −0.1176471 (the trade relieves losses)
    assert out.delivered_kwh.tolist() == pytest.approx([9.7142857, 4.1176471], abs=1e-7)
    assert out.loss_kwh.tolist() == pytest.approx([0.2857143, -0.1176471], abs=1e-7)
    assert out.mlf_seller.tolist() == [1.02, 1.05] and "delivered_kwh" not in trades
    # the slack sees no change: Σ MLF_j·delivered − MLF_i·kwh = 0 for each trade
    assert np.allclose(out.mlf_buyer * out.delivered_kwh, out.mlf_seller * out.kwh)
    out2 = settle_bilateral(trades, pd.Series(mlf))
    assert out2.delivered_kwh.tolist() == out.delivered_kwh.tolist()
    with pytest.raises(ValueError, match="row 1: seller_bus '7'"):
        settle_bilateral(trades, {"3": 1.0})
    with pytest.raises(ValueError, match="kwh"):
        settle_bilateral(trades.drop(columns="kwh"), mlf)


# --------------------------------------------------------------------------- the command line


def test_cli_flow_prints_voltages_flows_and_loss(projects_dir, capsys):
    code = main(["flow", str(projects_dir / "ieee33-community.json"), "--model", "ac", "--period", "19"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "converged in" in out and "total loss:" in out
    assert "v_pu" in out and "angle_deg" in out and "loading_pct" in out and "i_a" in out
    res = flow(load_project(projects_dir / "ieee33-community.json"), 19, "ac")
    assert f"total loss: {res.total_loss_kw:,.3f} kW" in out


@pytest.mark.parametrize("model", MODELS)
def test_cli_flow_json(projects_dir, capsys, model):
    import json

    code = main(["flow", str(projects_dir / "teaching-5bus.json"), "--model", model, "--format", "json"])
    out, _ = capsys.readouterr()
    assert code == 0
    data = json.loads(out)
    assert data["model"] == model and len(data["buses"]) == 5 and len(data["lines"]) == 4


def test_cli_flow_csv(projects_dir, capsys):
    code = main(["flow", str(projects_dir / "teaching-5bus.json"), "--format", "csv"])
    out, _ = capsys.readouterr()
    assert code == 0
    buses, lines = out.strip().split("\n\n")
    assert buses.startswith("bus,v_pu,angle_deg") and lines.startswith("line,from_bus,to_bus,p_from_kw")


def test_cli_flow_bad_arguments(projects_dir, tmp_path, capsys):
    code = main(["flow", str(projects_dir / "teaching-5bus.json"), "--model", "newton"])
    _, err = capsys.readouterr()
    assert code == 2 and "'newton': choose one of ac, lindistflow, dc" in err and "Traceback" not in err
    code = main(["flow", str(projects_dir / "teaching-5bus.json"), "--period", "3"])
    _, err = capsys.readouterr()
    assert code == 2 and "--period" in err
    code = main(["flow", str(tmp_path / "nope.json")])
    _, err = capsys.readouterr()
    assert code == 1 and "no such file" in err


# --------------------------------------------------------------------------- transformers and shunts


def _plain_sweep(net: Radial, p_kw, q_kvar, tol: float = 1e-10, max_iter: int = 50):
    """The sweep as it was before transformers and shunts (the reference for 'nothing changed')."""
    s_inj = (np.asarray(p_kw) + 1j * np.asarray(q_kvar)) / net.base_kva
    z = net.r_pu + 1j * net.x_pu
    sw = _sweep(net)
    v0 = complex(net.v0_pu)
    v = np.full(net.n, v0, dtype=np.complex128)
    for _ in range(max_iter):
        i_inj = np.conj(s_inj / v)
        i_inj[0] = 0.0
        j_line = -sw.subtree(i_inj)
        j_line[0] = 0.0
        v_new = v0 - sw.down(z * j_line)
        err = float(np.max(np.abs(v_new - v)))
        v = v_new
        if err < tol:
            break
    i_inj = np.conj(s_inj / v)
    i_inj[0] = 0.0
    return v, -sw.subtree(i_inj)


@pytest.mark.parametrize("period", [12, 19])
def test_a_feeder_without_transformers_gives_exactly_what_it_gave_before(projects_dir, period):
    s = load_project(projects_dir / "ieee33-community.json")
    net = radial(s)
    assert not net.has_shunts_or_taps and np.all(net.tap == 1.0) and np.all(net.b_sh_pu == 0.0)
    p, q = bus_injections_kw(s, period, net)
    res = ac_power_flow(net, p, q)
    v, j_line = _plain_sweep(net, p, q)
    assert np.array_equal(res.v_pu, np.abs(v)) and np.array_equal(res.angle_deg, np.rad2deg(np.angle(v)))
    j_line[0] = 0.0
    i2 = np.abs(j_line) ** 2
    assert np.array_equal(res.loss_kw, net.r_pu * i2 * net.base_kva)
    assert np.array_equal(res.p_kw[1:], (v[net.parent[1:]] * np.conj(j_line[1:])).real * net.base_kva)
    assert res.total_loss_kw == float((net.r_pu * i2 * net.base_kva).sum())


def one_line(line: Line, load_kw: float = 0.0, load_kvar: float = 0.0, bus_b: Bus | None = None) -> Scenario:
    """Substation S at 1.0 p.u., one branch to bus B (base 10 kV, 1,000 kVA: Z_base = 100 ohm)."""
    return Scenario(
        name="one branch",
        feeder=Feeder(
            base_kv=10.0,
            base_kva=1000.0,
            substation=Substation("S", 1.0, (0.1,)),
            buses=(Bus("S"), bus_b or Bus("B")),
            lines=(line,),
        ),
        horizon=TimeHorizon(1),
        tariffs=Tariffs((0.3,), (0.05,)),
        prosumers=(Prosumer("c", "B", (load_kw,), demand_kvar=(load_kvar,)),),
    )


def test_a_tap_by_hand_in_both_orientations():
    # the ideal transformer at S (from S to B, τ = 1.05): the impedance sees V_S/τ, so the two-bus
    # closed form holds with v0 = 1/1.05; at no load |V_B| = 1/1.05
    tr = Transformer(tap_ratio=1.05, shift_deg=30.0)
    fwd = Line("T", "S", "B", 5.0, 10.0, transformer=tr)
    res = flow(one_line(fwd), 0, "ac")
    assert res.v_pu[1] == pytest.approx(1 / 1.05, abs=1e-12) and res.angle_deg[1] == pytest.approx(-30.0, abs=1e-9)
    u, loss, _ = two_bus_by_hand(0.5, 0.2, v0=1 / 1.05)
    res = flow(one_line(fwd, 500.0, 200.0), 0, "ac")
    assert res.v_pu[1] == pytest.approx(math.sqrt(u), abs=1e-10) and res.total_loss_kw == pytest.approx(1e3 * loss)
    assert res.grid_p_kw == pytest.approx(500.0 + 1e3 * loss, rel=1e-9)
    # listed from B to S, the ideal transformer sits at B: the impedance's B side is V_B/τ, fed from V_S = 1,
    # so |V_B| = τ·√u with u the two-bus root for v0 = 1 (the load's power passes the ideal transformer whole)
    rev = Line("T", "B", "S", 5.0, 10.0, transformer=tr)
    net = radial(one_line(rev))
    assert net.reversed_line[1] and net.tap[1] == pytest.approx(1 / 1.05) and net.shift_deg[1] == -30.0
    assert net.r_pu[1] == pytest.approx(0.05 * 1.05**2)  # the impedance referred to the parent's side
    assert flow(one_line(rev), 0, "ac").v_pu[1] == pytest.approx(1.05, abs=1e-12)
    u, loss, _ = two_bus_by_hand(0.5, 0.2)
    res = flow(one_line(rev, 500.0, 200.0), 0, "ac")
    assert res.v_pu[1] == pytest.approx(1.05 * math.sqrt(u), abs=1e-10)
    assert res.total_loss_kw == pytest.approx(1e3 * loss, rel=1e-9)
    assert res.angle_deg[1] - flow(one_line(fwd, 500.0, 200.0), 0, "ac").angle_deg[1] != 0.0  # the shift turns


def test_shunts_by_hand():
    # a 2,000 µS capacitor at the end of 5 + j10 ohm (y = j0.2 p.u., z = 0.05 + j0.1 p.u.), no load:
    # V_B = 1 − z·(y·V_B)  ⇒  V_B = 1/(1 + zy) = 1/(0.98 + 0.01j), |V_B| = 1.0203550
    line = Line("L", "S", "B", 5.0, 10.0)
    res = flow(one_line(line, bus_b=Bus("B", b_shunt_us=2000.0)), 0, "ac")
    assert res.v_pu[1] == pytest.approx(1 / abs(0.98 + 0.01j), abs=1e-12)
    assert res.v_pu[1] == pytest.approx(1.0203550, abs=1e-7)
    # the capacitor supplies Q = b|V|² = 0.2·1.0411 p.u.; what the line loses comes from the grid
    assert res.grid_q_kvar == pytest.approx(-200.0 * res.v_pu[1] ** 2 + res.loss_kvar[1], rel=1e-9)
    assert res.p_inj_kw.sum() == pytest.approx(res.total_loss_kw, abs=1e-9)
    # the same admittance as the line's own charging: half (j0.1 p.u.) at each end, so
    # V_B = 1/(1 + z·j0.1) = 1/(0.99 + 0.005j) and the series current J = j0.1·V_B
    res = flow(one_line(replace_line(line, b_shunt_us=2000.0)), 0, "ac")
    vb = 1 / (0.99 + 0.005j)
    assert res.v_pu[1] == pytest.approx(abs(vb), abs=1e-12)
    assert res.i_a[1] == pytest.approx(abs(0.1j * vb) * 1000.0 / (math.sqrt(3) * 10.0), rel=1e-9)
    # the line's loss is all it draws: r|J|², x|J|² and its charging at both ends (generated: negative kvar)
    frame = res.line_frame()
    assert frame.loss_kw[0] == pytest.approx(1e3 * 0.05 * 0.01 * abs(vb) ** 2, rel=1e-9)
    assert frame.loss_kvar[0] == pytest.approx(1e3 * (0.1 * 0.01 * abs(vb) ** 2 - 0.1 - 0.1 * abs(vb) ** 2), rel=1e-9)
    assert frame.p_from_kw[0] + frame.p_to_kw[0] == pytest.approx(frame.loss_kw[0], abs=1e-12)
    assert frame.q_from_kvar[0] + frame.q_to_kvar[0] == pytest.approx(frame.loss_kvar[0], abs=1e-12)
    assert frame.q_from_kvar[0] == pytest.approx(res.grid_q_kvar, abs=1e-12)  # at S: its charging half included


def replace_line(line: Line, **changes) -> Line:
    from dataclasses import replace

    return replace(line, **changes)


def mv_lv_network(
    pp,
    *,
    tap_side: str = "hv",
    tap_pos: int = -2,
    shift: float = 150.0,
    vn_lv_kv: float = 0.41,
    fed_from_lv: bool = False,
):
    """A 20 kV cable feeder (charging), a capacitor bank, a 630 kVA 20/0.41 kV transformer off its neutral tap
    (magnetising branch, Dyn5), three LV cables with charging, loads on both levels."""
    net = pp.create_empty_network(name="mv/lv", sn_mva=1.0)
    mv = [pp.create_bus(net, vn_kv=20.0, name=f"MV{k}") for k in range(3)]
    lv = [pp.create_bus(net, vn_kv=0.4, name=f"LV{k}") for k in range(4)]
    pp.create_ext_grid(net, lv[3] if fed_from_lv else mv[0], vm_pu=1.02)
    cable = dict(r_ohm_per_km=0.161, x_ohm_per_km=0.117, c_nf_per_km=273.0, max_i_ka=0.36)
    pp.create_line_from_parameters(net, mv[0], mv[1], length_km=3.0, g_us_per_km=0.5, **cable)
    pp.create_line_from_parameters(net, mv[1], mv[2], length_km=1.5, **cable)
    pp.create_transformer_from_parameters(
        net,
        mv[2],
        lv[0],
        sn_mva=0.63,
        vn_hv_kv=20.0,
        vn_lv_kv=vn_lv_kv,
        vkr_percent=1.1,
        vk_percent=4.0,
        pfe_kw=1.2,
        i0_percent=0.3,
        shift_degree=shift,
        tap_side=tap_side,
        tap_neutral=0,
        tap_min=-5,
        tap_max=5,
        tap_step_percent=2.5,
        tap_pos=tap_pos,
        tap_changer_type="Ratio",
    )
    lv_cable = dict(r_ohm_per_km=0.206, x_ohm_per_km=0.08, c_nf_per_km=210.0, max_i_ka=0.27)
    pp.create_line_from_parameters(net, lv[0], lv[1], length_km=0.2, **lv_cable)
    pp.create_line_from_parameters(net, lv[1], lv[2], length_km=0.15, **lv_cable)
    pp.create_line_from_parameters(net, lv[1], lv[3], length_km=0.1, **lv_cable)
    pp.create_load(net, lv[1], p_mw=0.12, q_mvar=0.04)
    pp.create_load(net, lv[2], p_mw=0.09, q_mvar=0.03)
    pp.create_load(net, lv[0] if fed_from_lv else lv[3], p_mw=0.05, q_mvar=0.01)
    pp.create_load(net, mv[1], p_mw=0.05 if fed_from_lv else 0.4, q_mvar=0.01 if fed_from_lv else 0.1)
    pp.create_shunt(net, mv[1], q_mvar=-0.05, p_mw=0.001)
    return net


def _against_runpp(pp, ppnet, scenario, tol_v=1e-6, tol_deg=1e-4):
    """Our AC power flow of an imported network against pandapower's Newton–Raphson on the original."""
    net = radial(scenario)
    p, q = bus_injections_kw(scenario, 0, net)
    res = ac_power_flow(net, p, q)
    assert res.converged
    pp.runpp(ppnet, tolerance_mva=1e-10, numba=False)
    rows = [int(b) for b in net.bus_ids]
    dv = np.max(np.abs(res.v_pu - ppnet.res_bus.vm_pu.loc[rows].to_numpy()))
    dtheta = np.max(np.abs(res.angle_deg - ppnet.res_bus.va_degree.loc[rows].to_numpy()))
    assert dv < tol_v and dtheta < tol_deg
    return net, p, q, res, dv


def test_cigre_mv_matches_pandapower(pp):
    """pandapower's CIGRE MV benchmark (two 110/20 kV transformers, shift 30°, cables with charging).

    With its switches as given, S1, S2 and S3 are open: the tie lines 12, 13 and 14 hang from one end each
    and the network is radial. Before transformers and shunts were modelled the voltages were 4.5e-3 p.u. off.
    """
    import pandapower.networks as pn

    ppnet = pn.create_cigre_network_mv(with_der=False)
    from core.scenario.importers import import_pandapower

    s, warnings = import_pandapower(ppnet)
    assert any("connected at one end only" in w and "12, 13, 14" in w for w in warnings)
    assert {ln.id for ln in s.feeder.lines if ln.transformer} == {"T0", "T1"}
    _net, _p, _q, res, dv = _against_runpp(pp, ppnet, s)
    assert dv < 1e-9  # as close as both solvers' tolerances allow
    ref = ppnet.res_line.loc[[0, 1, 5]]
    lines = res.line_frame().set_index("line").loc[["L0", "L1", "L5"]]
    assert np.max(np.abs(lines.p_from_kw.to_numpy() / 1e3 - ref.p_from_mw.to_numpy())) < 1e-6
    assert np.max(np.abs(lines.q_to_kvar.to_numpy() / 1e3 - ref.q_to_mvar.to_numpy())) < 1e-6
    losses = ppnet.res_line.pl_mw.sum() + ppnet.res_trafo.pl_mw.sum()  # the hanging lines' charging too
    assert res.total_loss_kw / 1e3 == pytest.approx(losses, abs=1e-6)


@pytest.mark.parametrize(
    "variant",
    [
        {},  # hv tap at −2 steps, lv rated 0.41 kV on a 0.4 kV bus, Dyn5
        {"tap_side": "lv", "tap_pos": 3, "shift": 0.0, "vn_lv_kv": 0.4},  # an lv tap also scales the impedance
        {"fed_from_lv": True, "shift": 330.0},  # fed from the lv side: the ideal transformer sits at the child end
    ],
    ids=["hv-tap", "lv-tap", "fed-from-lv"],
)
def test_mv_lv_network_with_a_tapped_transformer_matches_pandapower(pp, variant):
    from core.scenario.importers import export_pandapower, import_pandapower

    ppnet = mv_lv_network(pp, **variant)
    s, warnings = import_pandapower(ppnet)
    tr = {ln.id: ln for ln in s.feeder.lines}["T0"].transformer
    assert tr.tap_ratio != 1.0 and tr.g_mag_us > 0 and tr.b_mag_us < 0
    assert all(ln.b_shunt_us > 0 for ln in s.feeder.lines if ln.transformer is None)
    assert not any("neglected" in w or "ignored" in w for w in warnings)
    net, p, q, res, _dv = _against_runpp(pp, ppnet, s)
    assert net.has_shunts_or_taps and net.reversed_line[net.line_ids.index("T0")] == variant.get("fed_from_lv", False)
    # the branches at their terminals, as pandapower reports them
    lines = res.line_frame().set_index("line")
    for i in ppnet.line.index:
        row = lines.loc[f"L{i}"]
        assert row.p_from_kw / 1e3 == pytest.approx(ppnet.res_line.p_from_mw[i], abs=1e-6)
        assert row.q_to_kvar / 1e3 == pytest.approx(ppnet.res_line.q_to_mvar[i], abs=1e-6)
        assert row.loss_kvar / 1e3 == pytest.approx(ppnet.res_line.ql_mvar[i], abs=1e-6)
    t = lines.loc["T0"]
    assert t.p_from_kw / 1e3 == pytest.approx(ppnet.res_trafo.p_hv_mw[0], abs=1e-6)
    assert t.loss_kw / 1e3 == pytest.approx(ppnet.res_trafo.pl_mw[0], abs=1e-6)  # copper and iron
    assert res.p_inj_kw.sum() == pytest.approx(res.total_loss_kw, abs=1e-6)
    # the exporter writes the same network back: pandapower agrees with it too
    out, idx = export_pandapower(s, 0)
    pp.runpp(out, tolerance_mva=1e-10, numba=False)
    assert np.max(np.abs(res.v_pu - out.res_bus.vm_pu.loc[[idx[b] for b in net.bus_ids]].to_numpy())) < 1e-6
    assert np.max(np.abs(res.angle_deg - out.res_bus.va_degree.loc[[idx[b] for b in net.bus_ids]].to_numpy())) < 1e-4
    # marginal loss factors at the AC point: the slack's response to one more kW of load, by finite differences
    mlf = marginal_loss_factors(net, p, q, solution=res)
    for k in (net.index["2"], net.index["4"], net.index["5"]):
        e = np.zeros(net.n)
        e[k] = 0.05
        up = ac_power_flow(net, p - e, q, tol=1e-13).grid_p_kw
        down = ac_power_flow(net, p + e, q, tol=1e-13).grid_p_kw
        assert mlf[k] == pytest.approx((up - down) / 0.1, rel=1e-6)
    # LinDistFlow sees the same taps and shunts: close to AC, exact at no load
    assert np.max(np.abs(lindistflow(net, p, q).v_pu - res.v_pu)) < 0.02
    zero = np.zeros(net.n)
    assert np.max(np.abs(lindistflow(net, zero, zero).v_pu - ac_power_flow(net, zero, zero).v_pu)) < 2e-3
