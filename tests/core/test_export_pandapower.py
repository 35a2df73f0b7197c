"""A project as a pandapower net (core.scenario.pandapower_export) and back: the feeder and the period's injections."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

pp = pytest.importorskip("pandapower")

from core.cli import main  # noqa: E402
from core.errors import ScenarioError  # noqa: E402
from core.network.topology import bus_injections_kw, radial  # noqa: E402
from core.scenario.io import load_project  # noqa: E402
from core.scenario.pandapower_export import export_pandapower_json, pandapower_net  # noqa: E402
from core.scenario.pandapower_io import import_pandapower  # noqa: E402

PROJECTS = Path(__file__).resolve().parents[2] / "projects"
PERIOD = 12  # noon: the PV makes some buses net generators


@pytest.fixture(scope="module")
def ieee33():
    return load_project(PROJECTS / "ieee33-community.json")


@pytest.fixture(scope="module")
def exported(ieee33, tmp_path_factory):
    path = tmp_path_factory.mktemp("pp") / "net.json"
    export_pandapower_json(ieee33, path, PERIOD, series=True)
    back, warnings = import_pandapower(str(path))
    return path, back, warnings


def _bus_map(scenario, net) -> dict[str, str]:
    """Bus id of the project → bus id of the re-import (the pandapower index the export gave it, by name)."""
    return {str(name): str(i) for i, name in net.bus["name"].items()}


def test_the_feeder_comes_back(ieee33, exported):
    path, back, _ = exported
    bus = _bus_map(ieee33, pp.from_json(str(path)))
    f, g = ieee33.feeder, back.feeder
    assert sorted(b.id for b in g.buses) == sorted(bus.values())
    assert g.substation.bus == bus[f.substation.bus] and g.substation.v_set_pu == f.substation.v_set_pu
    assert g.base_kv == f.base_kv
    theirs = {(ln.from_bus, ln.to_bus): ln for ln in g.lines}
    assert len(theirs) == len(f.lines)
    for ln in f.lines:
        other = theirs[(bus[ln.from_bus], bus[ln.to_bus])]
        assert math.isclose(other.r_ohm, ln.r_ohm, rel_tol=1e-9)
        assert math.isclose(other.x_ohm, ln.x_ohm, rel_tol=1e-9)
        assert math.isclose(other.b_shunt_us, ln.b_shunt_us, rel_tol=1e-9, abs_tol=1e-9)
        assert math.isclose(other.g_shunt_us, ln.g_shunt_us, rel_tol=1e-9, abs_tol=1e-9)
        mine, got = ln.rating_kva_at(f.base_kv), other.rating_kva_at(g.base_kv)
        assert (mine is None) == (got is None)
        if mine is not None:
            assert math.isclose(got, mine, rel_tol=1e-9)
    assert any(ln.rating_kva_at(f.base_kv) is not None for ln in f.lines)  # the test means something


def test_the_periods_injections_come_back(ieee33, exported):
    path, back, warnings = exported
    bus = _bus_map(ieee33, pp.from_json(str(path)))
    p0, q0 = bus_injections_kw(ieee33, PERIOD)
    p1, q1 = bus_injections_kw(back, 0)
    r0, r1 = radial(ieee33), radial(back)
    for b in r0.bus_ids:
        k0, k1 = r0.index[b], r1.index[bus[b]]
        assert p1[k1] == pytest.approx(p0[k0], abs=1e-9)
        assert q1[k1] == pytest.approx(q0[k0], abs=1e-9)
    assert (p0 > 0).any()  # some bus generates more than it draws: it came back as a generator, not a bad demand
    assert any("controller" in w for w in warnings)  # the importer says it read one snapshot


def test_the_series_runs_the_day_in_pandapower(ieee33, exported):
    """run_timeseries over the const controllers gives, in each period, the power flow of that period's export."""
    from pandapower.timeseries import OutputWriter, run_timeseries

    path, _, _ = exported
    net = pp.from_json(str(path))
    assert len(net.controller) == 3  # load p and q, sgen p
    steps = [0, 7, PERIOD, 19]
    ow = OutputWriter(net, time_steps=steps, output_path=None, log_variables=[("res_bus", "vm_pu")])
    run_timeseries(net, time_steps=steps, verbose=False, numba=False)
    vm = ow.output["res_bus.vm_pu"]
    for t in steps:
        one = pandapower_net(ieee33, t)
        pp.runpp(one, numba=False)
        assert np.max(np.abs(vm.loc[t].to_numpy() - one.res_bus.vm_pu.to_numpy())) < 1e-8


def test_one_period_has_no_controllers(ieee33, tmp_path):
    path = export_pandapower_json(ieee33, tmp_path / "one.json", 3)
    net = pp.from_json(str(path))
    assert len(net.controller) == 0
    back, _ = import_pandapower(str(path))
    p0, _ = bus_injections_kw(ieee33, 3)
    assert sum(bus_injections_kw(back, 0)[0]) == pytest.approx(sum(p0), abs=1e-9)


def test_a_period_outside_the_horizon(ieee33, tmp_path):
    with pytest.raises(ScenarioError, match="period"):
        pandapower_net(ieee33, 24)


def test_cli_export_and_timeseries(tmp_path, capsys):
    project = PROJECTS / "ieee33-community.json"
    out = tmp_path / "net.json"
    assert main(["export", str(project), "--to", "pandapower", "-o", str(out), "--period", "12", "--series"]) == 0
    said = capsys.readouterr()
    assert "period 12 (12:00)" in said.out and len(pp.from_json(str(out)).controller) == 3
    # the community's 5 batteries, 4 EVs and its CHP unit are the market's to dispatch: said, not silently dropped
    kinds = [p.asset.kind for p in load_project(project).prosumers if p.asset is not None]
    assert (kinds.count("battery"), kinds.count("ev"), kinds.count("chp")) == (5, 4, 1)
    assert "note: not exported: 5 batteries, 1 CHP unit, 4 EVs" in said.err
    assert main(["export", str(project), "--to", "pandapower", "-o", str(out), "--period", "24"]) == 2
    assert main(["export", str(project), "--to", "psse", "-o", str(out)]) == 2
    csv_path, back = tmp_path / "p.csv", tmp_path / "back.json"
    assert main(["timeseries", str(project), "--export", str(csv_path), "--long"]) == 0
    assert main(["timeseries", str(project), "--import", str(csv_path), "-o", str(back)]) == 0
    assert "series read" in capsys.readouterr().out
    assert load_project(back) == load_project(project)
    assert main(["timeseries", str(project), "--import", str(csv_path)]) == 2
    csv_path.write_text("time,c2\n00:00,x\n")
    assert main(["timeseries", str(project), "--import", str(csv_path), "-o", str(back)]) == 1
    assert "line 2" in capsys.readouterr().err
