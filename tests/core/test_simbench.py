"""SimBench grids with a day of their profiles (issue 18): the import against SimBench's own frames and pandapower.

The net is loaded once per module (SimBench takes seconds); the reference numbers are read straight from
SimBench's profiles by their ``time`` column, not through the importer's row lookup.
"""

from __future__ import annotations

import copy
import datetime as dt
import sys

import numpy as np
import pytest

sb = pytest.importorskip("simbench")
pp = pytest.importorskip("pandapower")

from core.cli import main  # noqa: E402
from core.errors import ScenarioError  # noqa: E402
from core.network.powerflow import flow  # noqa: E402
from core.scenario import simbench_io  # noqa: E402
from core.scenario.io import load_project  # noqa: E402
from core.scenario.simbench_io import import_simbench, radial_simbench_codes  # noqa: E402

CODE = "1-LV-rural1--0-sw"
DAY = dt.date(2016, 6, 21)


@pytest.fixture(scope="module")
def net():
    return sb.get_simbench_net(CODE)


@pytest.fixture(scope="module")
def absolute(net):
    return sb.get_absolute_values(net, profiles_instead_of_study_cases=True)


@pytest.fixture(scope="module")
def hourly(net):
    return import_simbench(CODE, DAY, net=net)


def _rows(net, clock: str) -> int:
    """The row of ``dd.mm.2016 HH:MM`` in SimBench's profiles, by its own time column."""
    times = net.profiles["load"]["time"]
    hits = np.flatnonzero((times == clock).to_numpy())
    assert len(hits) == 1, clock
    return int(hits[0])


def test_a_summer_day_has_24_hourly_periods_and_says_the_price_is_a_default(hourly, net):
    s, warnings = hourly
    assert s.periods == 24 and s.horizon.step_h == 1.0
    assert len(s.feeder.buses) == len(net.bus) == 15
    assert {p.id for p in s.prosumers} == {f"load{i}" for i in net.load.index} | {f"sgen{i}" for i in net.sgen.index}
    assert len(s.feeder.substation.wholesale_price_per_kwh) == 24
    assert np.mean(s.feeder.substation.wholesale_price_per_kwh) == pytest.approx(0.10)
    assert any("wholesale price is not part of SimBench" in w for w in warnings)
    assert not any("one snapshot repeated" in w for w in warnings)


def test_noon_ac_flow_matches_pandapower_with_the_same_hourly_means(hourly, net, absolute):
    """Period 12 (12:00–13:00): every load and sgen at the mean of SimBench's four quarter hours, in pandapower."""
    s, _ = hourly
    start = _rows(net, "21.06.2016 12:00")
    hour = slice(start, start + 4)
    ppnet = copy.deepcopy(net)
    ppnet.load["p_mw"] = absolute[("load", "p_mw")].iloc[hour].mean().to_numpy()
    ppnet.load["q_mvar"] = absolute[("load", "q_mvar")].iloc[hour].mean().to_numpy()
    ppnet.sgen["p_mw"] = absolute[("sgen", "p_mw")].iloc[hour].mean().to_numpy()
    assert ppnet.sgen["p_mw"].sum() > 0.05  # noon: the PV feeds (a real test of the sgen profiles)
    pp.runpp(ppnet, tolerance_mva=1e-10, numba=False)

    res = flow(s, 12, "ac")
    assert res.converged
    frame = res.bus_frame()
    ours = frame.set_index("bus").v_pu
    theirs = ppnet.res_bus.vm_pu.loc[[int(b) for b in ours.index]].to_numpy()
    assert np.max(np.abs(ours.to_numpy() - theirs)) < 1e-6
    assert ours.max() - ours.min() > 1e-3  # the voltages do move along the feeder


def test_the_days_energy_per_prosumer_is_the_profiles_sum(hourly, net, absolute):
    s, _ = hourly
    start = _rows(net, "21.06.2016 00:00")
    assert _rows(net, "21.06.2016 23:45") == start + 95  # a day without a clock change
    day = slice(start, start + 96)
    by_id = {p.id: p for p in s.prosumers}
    for i in net.load.index:
        want_kwh = absolute[("load", "p_mw")][i].iloc[day].sum() * 0.25 * 1000.0  # 96 quarter hours of 0.25 h
        assert sum(by_id[f"load{i}"].demand_kw) * 1.0 == pytest.approx(want_kwh, rel=1e-9)
    for i in net.sgen.index:
        a = by_id[f"sgen{i}"].asset
        want_kwh = absolute[("sgen", "p_mw")][i].iloc[day].sum() * 0.25 * 1000.0
        assert sum(a.p_max_at(t) for t in range(24)) == pytest.approx(want_kwh, rel=1e-9)
        assert a.p_max_kw == pytest.approx(net.sgen.at[i, "p_mw"] * 1000.0)  # installed, not the day's output


def test_15_minute_steps_keep_the_96_quarter_hours(net, absolute):
    s, _ = import_simbench(CODE, DAY, step="15min", net=net)
    assert s.periods == 96 and s.horizon.step_h == 0.25
    assert len(s.feeder.substation.wholesale_price_per_kwh) == 96
    start = _rows(net, "21.06.2016 00:00")
    load0 = next(p for p in s.prosumers if p.id == "load0")
    want = absolute[("load", "p_mw")][0].iloc[start : start + 96].to_numpy() * 1000.0
    np.testing.assert_allclose(load0.demand_kw, want, rtol=1e-9)


def test_clock_change_days_still_have_24_hours(net):
    for day, word in ((dt.date(2016, 3, 27), "skips"), (dt.date(2016, 10, 30), "repeats")):
        s, warnings = import_simbench(CODE, day, net=net)
        assert s.periods == 24
        assert any(word in w for w in warnings)


def test_storage_heat_pumps_and_ev_charging_of_a_future_scenario():
    """Scenario 2 of the same grid: 15 more loads (heat pumps, home charging) and 5 storage units."""
    net2 = sb.get_simbench_net("1-LV-rural1--2-sw")
    s, warnings = import_simbench("1-LV-rural1--2-sw", DAY, net=net2)
    batteries = [p for p in s.prosumers if p.id.startswith("storage")]
    assert len(batteries) == len(net2.storage) == 5
    for p in batteries:
        row = net2.storage.loc[int(p.id.removeprefix("storage"))]
        a = p.asset
        assert a.kind == "battery" and a.p_max_kw == -a.p_min_kw == pytest.approx(row.sn_mva * 1000.0)
        assert a.energy_kwh == pytest.approx(row.max_e_mwh * 1000.0) and p.bus == str(row.bus)
    assert any(w.startswith("8 heat pump(s) and 7 electric-vehicle charging point(s)") for w in warnings), warnings
    assert any("5 storage unit(s) imported as batteries" in w for w in warnings)
    assert not any("storage units ignored" in w for w in warnings)


def test_mv_parallel_transformers_fold_into_the_same_circuit():
    """SimBench's MV grids have two identical HV/MV transformers between the same (switch-joined) buses: one with
    parallel = 2 is the same circuit, so the noon AC flow is still pandapower's (with both units)."""
    code = "1-MV-rural--0-sw"
    mv = sb.get_simbench_net(code)
    s, warnings = import_simbench(code, DAY, net=mv)
    assert any("identical parallel transformer(s) (1) folded" in w for w in warnings)
    assert mv.trafo.in_service.all() and (mv.trafo.parallel == 1).all()  # the caller's net is left unchanged
    absolute = sb.get_absolute_values(mv, profiles_instead_of_study_cases=True)
    start = _rows(mv, "21.06.2016 12:00")
    ppnet = copy.deepcopy(mv)
    for (table, column), frame in absolute.items():
        if table in ("load", "sgen") and len(frame.columns):
            ppnet[table][column] = frame.iloc[start : start + 4].mean().to_numpy()
    pp.runpp(ppnet, tolerance_mva=1e-10, numba=False)
    ours = flow(s, 12, "ac").bus_frame().set_index("bus").v_pu
    theirs = ppnet.res_bus.vm_pu.loc[[int(b) for b in ours.index]].to_numpy()
    assert np.max(np.abs(ours.to_numpy() - theirs)) < 1e-6


def test_a_meshed_code_is_refused_naming_radial_alternatives():
    code = "1-MV-urban--0-no_sw"  # without its switches the open ring closes
    with pytest.raises(ScenarioError) as err:
        import_simbench(code, DAY)
    text = str(err.value)
    assert "meshed" in text and "radial SimBench codes:" in text and "\n" not in text
    named = text.split("radial SimBench codes:")[1]
    radial = {g.code for g in radial_simbench_codes()}
    assert [c for c in radial if c in named]
    assert code not in radial


def test_the_radial_list_holds_the_tested_code_with_its_size(hourly):
    s, _ = hourly
    grid = next(g for g in radial_simbench_codes() if g.code == CODE)
    assert (grid.level, grid.buses, grid.prosumers) == ("LV", len(s.feeder.buses), len(s.prosumers))


def test_bad_code_day_and_step_are_one_line_errors():
    with pytest.raises(ScenarioError, match=r"not a SimBench code; radial SimBench codes: .*1-LV-rural1--0-sw"):
        import_simbench("1-LV-rural9--0-sw", DAY)
    with pytest.raises(ScenarioError, match="cover the year 2016 only"):
        import_simbench(CODE, dt.date(2017, 6, 21))
    with pytest.raises(ScenarioError, match="YYYY-MM-DD"):
        import_simbench(CODE, "21/06/2016")
    with pytest.raises(ScenarioError, match="step"):
        import_simbench(CODE, DAY, step="30min")


def test_without_simbench_the_error_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "simbench", None)
    with pytest.raises(ScenarioError, match=r'pip install -e "\.\[grid\]"'):
        import_simbench(CODE, DAY)


def test_cli_imports_a_simbench_day(net, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(simbench_io, "load_simbench_net", lambda code: net)
    out = tmp_path / "lv.json"
    assert main(["import", f"simbench:{CODE}", "--day", "2016-06-21", "--step", "15min", "-o", str(out)]) == 0
    assert "96 period(s)" in capsys.readouterr().out
    assert load_project(out).periods == 96


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--day", "2016-13-01"], "YYYY-MM-DD"),
        ([], "needs --day"),
        (["--day", "2016-06-21", "--step", "5min"], "choose one of 1h, 15min"),
    ],
)
def test_cli_errors_are_one_line(argv, expected, tmp_path, capsys):
    code = main(["import", f"simbench:{CODE}", *argv, "-o", str(tmp_path / "x.json")])
    lines = capsys.readouterr().err.strip().splitlines()
    assert expected in lines[-1]
    assert (code, len(lines)) == (1, 1) or code == 2  # ours: one line; argparse's (2): the usage, then one line


def test_cli_bad_code_lists_close_radial_codes(tmp_path, capsys):
    assert main(["import", "simbench:1-LV-rural4--0-sw", "--day", "2016-06-21", "-o", str(tmp_path / "x.json")]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "not a SimBench code" in err and "1-LV-rural" in err


def test_pandapower_round_trip_of_a_simbench_day(hourly, tmp_path):
    """Export the imported day's noon to pandapower and import it back: the same feeder (lines, the MV/LV
    transformer with its phase shift and iron losses), the same injections, and pandapower's own power flow of the
    exported net gives our AC voltages."""
    from core.network.topology import bus_injections_kw, radial
    from core.scenario.pandapower_export import export_pandapower_json
    from core.scenario.pandapower_io import import_pandapower

    s, _ = hourly
    path = export_pandapower_json(s, tmp_path / "net.json", 12, series=True)
    ppnet = pp.from_json(str(path))
    back, _ = import_pandapower(str(path))
    bus = {str(name): str(i) for i, name in ppnet.bus["name"].items()}

    f, g = s.feeder, back.feeder
    assert g.substation.bus == bus[f.substation.bus] and g.base_kv == f.base_kv
    theirs = {(ln.from_bus, ln.to_bus): ln for ln in g.lines}
    assert len(theirs) == len(f.lines) == len(f.buses) - 1
    trafos = 0
    for ln in f.lines:
        other = theirs[(bus[ln.from_bus], bus[ln.to_bus])]
        assert other.r_ohm == pytest.approx(ln.r_ohm, rel=1e-9) and other.x_ohm == pytest.approx(ln.x_ohm, rel=1e-9)
        assert (other.transformer is None) == (ln.transformer is None)
        if ln.transformer is not None:
            trafos += 1
            a, b = ln.transformer, other.transformer
            assert b.shift_deg == pytest.approx(a.shift_deg) and b.tap_ratio == pytest.approx(a.tap_ratio)
            assert b.g_mag_us == pytest.approx(a.g_mag_us, rel=1e-9) and b.b_mag_us == pytest.approx(
                a.b_mag_us, rel=1e-9
            )
    assert trafos == 1  # the MV/LV transformer of the grid

    r0, r1 = radial(s), radial(back)
    p0, q0 = bus_injections_kw(s, 12)
    p1, q1 = bus_injections_kw(back, 0)
    for b in r0.bus_ids:
        assert p1[r1.index[bus[b]]] == pytest.approx(p0[r0.index[b]], abs=1e-9)
        assert q1[r1.index[bus[b]]] == pytest.approx(q0[r0.index[b]], abs=1e-9)
    assert (p0 > 0).any()  # noon: some bus feeds the grid

    ours = flow(s, 12, "ac").bus_frame().set_index("bus").v_pu
    again = flow(back, 0, "ac").bus_frame().set_index("bus").v_pu
    pp.runpp(ppnet, tolerance_mva=1e-10, numba=False)
    for b, v in ours.items():
        assert again[bus[b]] == pytest.approx(v, abs=1e-9)
        assert ppnet.res_bus.vm_pu.at[int(bus[b])] == pytest.approx(v, abs=1e-6)


def test_the_lindistflow_clearing_takes_the_shunts_as_the_lindistflow_flow_does(hourly):
    """The MV/LV transformer's iron losses (pfe 0.46 kW) and magnetising current, and the cables' charging, are in
    the clearing's network as constant draws at the no-load voltage, as in ``flow(…, "lindistflow")``: with SimBench's
    fixed demand and free PV the clearing dispatches the profiles, so its lowest voltage is the flow's, and its
    losses hold the iron losses (the clearing left them out, and MV feeders' voltages came out 0.007 p.u. low)."""
    from core.market import MarketSettings, clear

    s, _ = hourly
    lean = dict(audit=False, tatonnement=False, compare=False, market_power=False, decentralised_check=False)
    r = clear(s, MarketSettings(network="lindistflow", period=12, fairness_audit=False, **lean))
    for t in (3, 12, 19):
        f = flow(s, t, "lindistflow")
        row = r.periods.iloc[t]
        assert row.v_min_pu == pytest.approx(f.v_pu.min(), abs=2e-6)
        assert row.loss_kwh >= 0.46  # one hour of the transformer's iron losses at least
        assert row.loss_kwh == pytest.approx(flow(s, t, "ac").total_loss_kw * 1.0, rel=0.05)
