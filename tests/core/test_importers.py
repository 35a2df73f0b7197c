"""Importers: the prosumers CSV and pandapower networks.

Reference numbers come from outside the code under test: Baran & Wu's line
table (``BARAN_WU_LINES``, published 1989), their total load (3,715 kW,
2,300 kvar) and transformer impedances computed by hand from vk/vkr/S_n.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import sys
from pathlib import Path

import pandas as pd
import pytest

from core.errors import ScenarioError
from core.scenario import load_project
from core.scenario.generate import BARAN_WU_LINES, solar_shape, teaching_5bus
from core.scenario.importers import (
    export_prosumers_csv,
    import_pandapower,
    import_prosumers_csv,
    solar_availability,
)
from core.scenario.io import dumps_project, loads_project
from core.scenario.model import Asset, Prosumer, TimeHorizon, Transformer

pp = pytest.importorskip("pandapower")
pn = pytest.importorskip("pandapower.networks")

PROJECTS = Path(__file__).resolve().parents[2] / "projects"


@pytest.fixture(scope="module")
def five_bus():
    """The teaching feeder (buses S, 1, 2, 3, 4; one period)."""
    return teaching_5bus()


@pytest.fixture(scope="module")
def ieee33():
    return load_project(PROJECTS / "ieee33-community.json")


def write(tmp_path: Path, text: str, name: str = "prosumers.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def only_problem(err: ScenarioError, column: str):
    hits = [p for p in err.problems if p.field == column]
    assert hits, f"no problem on column {column!r} in {err.report()}"
    return hits[0]


# ---------------------------------------------------------------------------
# CSV: good files
# ---------------------------------------------------------------------------


def test_csv_good_file(tmp_path, ieee33):
    T = ieee33.periods  # 24
    profile = " ".join(str(k) for k in range(T))  # 0 1 2 ... 23
    path = write(
        tmp_path,
        (
            "id,name,bus,demand_kw,power_factor,asset_kind,p_max_kw,p_min_kw,ramp_kw_per_period,efficiency,"
            "cost_a_per_kw2h,cost_b_per_kwh,energy_kwh,flex_d_max_kw,flex_value_a_per_kw2h,flex_value_b_per_kwh\n"
            "h1,Home one,5,2.5,0.95,pv,6,,,0.97,0.001,0.01,,,,\n"
            f"h2,,7,{profile},,battery,5,-5,2.5,0.9,,0.02,10,,,\n"
            "h3,,9,1;1.5;2" + ";2" * (T - 3) + ",,,,,,,,,,3,0.02,0.3\n"
            "h4,,9,0,,,,,,,,,,,,\n"
        ),
    )
    s = import_prosumers_csv(path, ieee33)
    assert [p.id for p in s.prosumers] == ["h1", "h2", "h3", "h4"]
    h1, h2, h3, h4 = s.prosumers
    assert h1.name == "Home one" and h1.bus == "5"
    assert h1.demand_kw == (2.5,) * 24 and h1.power_factor == 0.95
    assert h1.asset == Asset(
        kind="pv",
        p_max_kw=6.0,
        efficiency=0.97,
        cost_a_per_kw2h=0.001,
        cost_b_per_kwh=0.01,
        availability_pu=tuple(round(float(v), 3) for v in solar_shape(24)),
    )
    assert h2.demand_kw == tuple(float(k) for k in range(24))
    assert h2.asset == Asset(
        kind="battery",
        p_max_kw=5.0,
        p_min_kw=-5.0,
        ramp_kw_per_period=2.5,
        efficiency=0.9,
        cost_b_per_kwh=0.02,
        energy_kwh=10.0,
    )
    assert h3.demand_kw[:3] == (1.0, 1.5, 2.0) and h3.demand_kw[3:] == (2.0,) * 21
    assert h3.asset is None
    assert h3.flexible.d_max_kw == (3.0,) * 24
    assert (h3.flexible.value_a_per_kw2h, h3.flexible.value_b_per_kwh) == (0.02, 0.3)
    assert h4.demand_kw == (0.0,) * 24 and h4.asset is None and h4.flexible is None
    # the rest of the scenario is untouched
    assert s.feeder == ieee33.feeder and s.tariffs == ieee33.tariffs and s.horizon == ieee33.horizon


def test_csv_append_keeps_existing(tmp_path, five_bus):
    path = write(tmp_path, "id,bus,demand_kw\nX1,4,3\n")
    s = import_prosumers_csv(path, five_bus, replace=False)
    assert s.prosumers[:-1] == five_bus.prosumers
    assert s.prosumers[-1] == Prosumer(id="X1", bus="4", demand_kw=(3.0,))
    replaced = import_prosumers_csv(path, five_bus)
    assert [p.id for p in replaced.prosumers] == ["X1"]


def test_csv_append_duplicate_id_names_existing(tmp_path, five_bus):
    path = write(tmp_path, "id,bus,demand_kw\nB1,4,3\n")
    with pytest.raises(ScenarioError) as ei:
        import_prosumers_csv(path, five_bus, replace=False)
    p = only_problem(ei.value, "id")
    assert p.row == 2 and "already in the scenario" in p.message


def test_csv_semicolon_separated_file(tmp_path, five_bus):
    path = write(tmp_path, "id;bus;demand_kw\nA;2;1.5\n")
    assert import_prosumers_csv(path, five_bus).prosumers[0].demand_kw == (1.5,)


def test_csv_constant_pv_via_availability_one(tmp_path, ieee33):
    path = write(tmp_path, "id,bus,demand_kw,asset_kind,p_max_kw,availability_pu\nA,2,0,pv,4,1\n")
    assert import_prosumers_csv(path, ieee33).prosumers[0].asset.availability_pu is None


def test_solar_availability_matches_generate_shape():
    assert solar_availability(TimeHorizon(24)) == tuple(round(float(v), 3) for v in solar_shape(24))
    # four half-hour periods from noon are evaluated at their own clock hours
    half = solar_availability(TimeHorizon(periods=4, step_h=0.5, start_hour=12.0))
    # midpoints 12:15, 12:45, 13:15, 13:45: near the noon peak, 0.9·sin(π·6.25/13)^1.3 by hand
    assert half[0] == round(0.9 * math.sin(math.pi * 6.25 / 13) ** 1.3, 3)
    assert all(0.8 < v <= 0.9 for v in half)
    night = solar_availability(TimeHorizon(periods=2, step_h=1.0, start_hour=22.0))
    assert night == (0.0, 0.0)


def test_a_new_pv_follows_the_sun_at_the_projects_own_clock():
    """The dashboard's new PV (core.scenario.edit.default_asset): on a 96 × 15-min day the quarter hours around
    midnight give nothing and 12:00–12:15 (midpoint 12:07:30) gives 0.9·sin(π·6.125/13)^1.3 by hand; on a 24-hour
    day it is the generator's shape."""
    from core.scenario.edit import default_asset, with_asset_kind

    quarter = default_asset("pv", TimeHorizon(periods=96, step_h=0.25)).availability_pu
    assert len(quarter) == 96 and quarter[0] == quarter[95] == 0.0
    assert quarter[48] == round(0.9 * math.sin(math.pi * 6.125 / 13) ** 1.3, 3)
    hourly = default_asset("pv", TimeHorizon(24)).availability_pu
    assert hourly == tuple(round(float(v), 3) for v in solar_shape(24))
    two_days = with_asset_kind(Prosumer(id="a", bus="1", demand_kw=(1.0,) * 48), "pv", TimeHorizon(48))
    assert two_days.asset.availability_pu == hourly + hourly


# ---------------------------------------------------------------------------
# CSV: bad files name the column, the line and the file
# ---------------------------------------------------------------------------


def test_csv_bad_number(tmp_path, five_bus):
    path = write(tmp_path, "id,bus,demand_kw,asset_kind,p_max_kw\nA,2,1,,\nB,3,abc,,\n")
    with pytest.raises(ScenarioError) as ei:
        import_prosumers_csv(path, five_bus)
    err = ei.value
    assert err.file == str(path)
    p = only_problem(err, "demand_kw")
    assert p.row == 3 and "must be a number, got 'abc'" in p.message


def test_csv_wrong_profile_length(tmp_path, ieee33):
    path = write(tmp_path, "id,bus,demand_kw\nA,2,1 2 3\n")
    with pytest.raises(ScenarioError) as ei:
        import_prosumers_csv(path, ieee33)
    p = only_problem(ei.value, "demand_kw")
    assert p.row == 2 and "has 3 values, the horizon has 24 periods" in p.message
    assert ei.value.file == str(path)


def test_csv_unknown_column_suggests(tmp_path, five_bus):
    path = write(tmp_path, "id,bus,demand_kw,p_max_kwh\nA,2,1,3\n")
    with pytest.raises(ScenarioError) as ei:
        import_prosumers_csv(path, five_bus)
    p = only_problem(ei.value, "p_max_kwh")
    assert p.row == 1 and "did you mean 'p_max_kw'" in p.message
    assert ei.value.file == str(path)


def test_csv_missing_required_column(tmp_path, five_bus):
    path = write(tmp_path, "id,demand_kw\nA,1\n")
    with pytest.raises(ScenarioError) as ei:
        import_prosumers_csv(path, five_bus)
    p = only_problem(ei.value, "bus")
    assert p.row == 1 and "required" in p.message


def test_csv_missing_bus_reported_at_its_line(tmp_path, five_bus):
    path = write(tmp_path, "id,bus,demand_kw\nA,2,1\n\nB,nowhere,1\n")  # line 3 blank
    with pytest.raises(ScenarioError) as ei:
        import_prosumers_csv(path, five_bus)
    err = ei.value
    p = only_problem(err, "bus")
    assert p.row == 4 and "nowhere" in p.message and p.row_id == "B"
    assert err.file == str(path)


def test_csv_validation_problems_map_to_lines(tmp_path, five_bus):
    path = write(tmp_path, ("id,bus,demand_kw,asset_kind,p_max_kw,efficiency\nA,2,1,chp,5,1.5\nB,2,-1,,,\nA,3,1,,,\n"))
    with pytest.raises(ScenarioError) as ei:
        import_prosumers_csv(path, five_bus)
    by_col = {(p.field, p.row): p for p in ei.value.problems}
    assert "efficiency" in by_col["efficiency", 2].message
    assert "period 0" in by_col["demand_kw", 3].message
    assert "line 2" in by_col["id", 4].message  # the duplicate id points at the first one


def test_csv_collects_every_row_problem(tmp_path, five_bus):
    path = write(
        tmp_path,
        (
            "id,bus,demand_kw,asset_kind,p_max_kw,flex_d_max_kw\n"
            "A,2,x,,,\n"  # bad number
            "B,2,1,pv,,\n"  # PV without p_max_kw
            "C,2,1,solar,3,\n"  # unknown kind
            "D,2,1,,4,\n"  # asset column without a kind
            "E,2,1,,,2\n"  # flexible without its value
            "F,zzz,1,,,\n"  # unknown bus (found by validation)
        ),
    )
    with pytest.raises(ScenarioError) as ei:
        import_prosumers_csv(path, five_bus)
    got = {(p.field, p.row) for p in ei.value.problems}
    assert got == {
        ("demand_kw", 2),
        ("p_max_kw", 3),
        ("asset_kind", 4),
        ("asset_kind", 5),
        ("flex_value_b_per_kwh", 6),
        ("bus", 7),
    }
    msgs = {(p.field, p.row): p.message for p in ei.value.problems}
    assert "pv" in msgs["p_max_kw", 3]
    assert "must be one of" in msgs["asset_kind", 4] and "'solar'" in msgs["asset_kind", 4]
    assert "p_max_kw" in msgs["asset_kind", 5]


def test_csv_no_such_file(tmp_path, five_bus):
    with pytest.raises(ScenarioError) as ei:
        import_prosumers_csv(tmp_path / "missing.csv", five_bus)
    assert ei.value.file == str(tmp_path / "missing.csv")


# ---------------------------------------------------------------------------
# CSV: export → import round trip
# ---------------------------------------------------------------------------


def test_csv_round_trip_ieee33(tmp_path, ieee33):
    path = tmp_path / "out.csv"
    assert export_prosumers_csv(ieee33, path) == []
    back = import_prosumers_csv(path, dataclasses.replace(ieee33, prosumers=()))
    # every prosumer field the CSV can express: all of them but bids (ieee33 has none)
    assert len(back.prosumers) == len(ieee33.prosumers) == 49  # 32 loads, 5 batteries, 4 EVs, 7 heat pumps, 1 CHP
    for a, b in zip(back.prosumers, ieee33.prosumers, strict=True):
        assert a == b, a.id
    assert back == ieee33


def test_csv_round_trip_drops_only_bids(tmp_path, five_bus):
    path = tmp_path / "teach.csv"
    warnings = export_prosumers_csv(five_bus, path)
    assert len(warnings) == 6 and all("bid" in w for w in warnings)
    back = import_prosumers_csv(path, five_bus)
    assert back.prosumers == tuple(dataclasses.replace(p, bids=()) for p in five_bus.prosumers)


def test_csv_round_trip_constant_pv(tmp_path, ieee33):
    pv = Prosumer(id="solo", bus="3", demand_kw=(1.0,) * 24, asset=Asset(kind="pv", p_max_kw=3.0))
    s = dataclasses.replace(ieee33, prosumers=(pv,))
    path = tmp_path / "pv.csv"
    export_prosumers_csv(s, path)
    assert import_prosumers_csv(path, s).prosumers == (pv,)


# ---------------------------------------------------------------------------
# pandapower
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def case33_net():
    return pn.case33bw()  # about 0.4 s to build: build it once, copy it per test


@pytest.fixture
def net33(case33_net):
    return copy.deepcopy(case33_net)


@pytest.fixture(scope="module")
def case33():
    return import_pandapower("case33bw")  # by name, through pandapower.networks


def test_case33bw_topology_and_loads(case33):
    s, warnings = case33
    f = s.feeder
    assert len(f.buses) == 33 and len(f.lines) == 32
    assert f.substation.bus == "0" and f.substation.v_set_pu == 1.0
    assert f.base_kv == 12.66 and f.base_kva == 10_000.0
    assert (f.v_min_pu, f.v_max_pu) == (0.9, 1.1)
    assert math.isclose(sum(p.demand_kw[0] for p in s.prosumers), 3715.0, abs_tol=1e-9)
    assert math.isclose(sum(p.demand_kvar[0] for p in s.prosumers), 2300.0, abs_tol=1e-9)
    assert any("out-of-service" in w and "32, 33, 34, 35, 36" in w for w in warnings)
    assert all(ln.rating_a is None and ln.rating_kva is None for ln in f.lines)  # 99999 kA: unrated


def test_case33bw_impedances_equal_baran_wu(case33):
    s, _ = case33
    lines = {(ln.from_bus, ln.to_bus): ln for ln in s.feeder.lines}
    assert len(lines) == len(BARAN_WU_LINES) == 32
    for f, t, r, x in BARAN_WU_LINES:
        ln = lines[(str(f - 1), str(t - 1))]
        assert abs(ln.r_ohm - r) < 1e-9 and abs(ln.x_ohm - x) < 1e-9, (f, t)


def test_case33bw_saves_as_plain_json(case33):
    s, _ = case33
    assert type(s.feeder.lines[0].r_ohm) is float and type(s.prosumers[0].demand_kw[0]) is float
    assert loads_project(dumps_project(s)) == s


def test_periods_and_prices(net33):
    s, _ = import_pandapower(
        net33,
        periods=3,
        wholesale_price_per_kwh=0.08,
        retail_price_per_kwh=0.3,
        feed_in_price_per_kwh=0.05,
        name="mine",
    )
    assert s.name == "mine" and s.periods == 3
    assert s.feeder.substation.wholesale_price_per_kwh == (0.08, 0.08, 0.08)
    assert s.tariffs.retail_import_price_per_kwh == (0.3,) * 3
    assert s.tariffs.feed_in_price_per_kwh == (0.05,) * 3
    assert s.prosumers[0].demand_kw == (100.0,) * 3


def lv_network():
    """An ext grid at 20 kV, one 20 kV cable, a 20/0.4 kV transformer, two LV lines with loads."""
    net = pp.create_empty_network(name="tiny", sn_mva=1.0)
    mv0 = pp.create_bus(net, vn_kv=20.0, name="grid")
    mv1 = pp.create_bus(net, vn_kv=20.0, name="MV station")
    lv = [pp.create_bus(net, vn_kv=0.4, name=f"LV{k}") for k in range(3)]
    pp.create_ext_grid(net, mv0, vm_pu=1.02)
    pp.create_line_from_parameters(
        net, mv0, mv1, length_km=2.0, r_ohm_per_km=0.2, x_ohm_per_km=0.1, c_nf_per_km=250.0, max_i_ka=0.3
    )
    pp.create_transformer_from_parameters(
        net,
        mv1,
        lv[0],
        sn_mva=0.4,
        vn_hv_kv=20.0,
        vn_lv_kv=0.4,
        vkr_percent=1.2,
        vk_percent=6.0,
        pfe_kw=0.5,
        i0_percent=0.2,
    )
    pp.create_line_from_parameters(
        net, lv[0], lv[1], length_km=0.1, r_ohm_per_km=0.206, x_ohm_per_km=0.08, c_nf_per_km=0.0, max_i_ka=0.27
    )
    pp.create_line_from_parameters(
        net,
        lv[1],
        lv[2],
        length_km=0.2,
        r_ohm_per_km=0.206,
        x_ohm_per_km=0.08,
        c_nf_per_km=0.0,
        max_i_ka=0.27,
        parallel=2,
    )
    pp.create_load(net, lv[1], p_mw=0.03, q_mvar=0.01)
    pp.create_load(net, lv[2], p_mw=0.05, q_mvar=0.02, scaling=0.5)
    pp.create_sgen(net, lv[2], p_mw=0.02)
    return net


def test_transformer_network():
    s, warnings = import_pandapower(lv_network())
    f = s.feeder
    assert f.base_kv == 0.4 and f.base_kva == 1000.0 and s.name == "tiny"
    assert f.substation.bus == "0" and f.substation.v_set_pu == 1.02
    by_id = {ln.id: ln for ln in f.lines}
    # the transformer by hand: Z_base = 0.4² / 0.4 = 0.4 ohm; |Z| = 6 % of it, R = 1.2 % of it
    t = by_id["T0"]
    assert (t.from_bus, t.to_bus) == ("1", "2")
    assert math.isclose(t.r_ohm, 0.0048, rel_tol=1e-9)
    assert math.isclose(t.x_ohm, math.sqrt(0.024**2 - 0.0048**2), rel_tol=1e-9)
    assert t.rating_kva == 400.0 and t.rating_a is None
    # the 20 kV cable referred to 0.4 kV: 0.4 ohm · (0.4/20)² = 1.6e-4; rating √3·20 kV·300 A
    mv = by_id["L0"]
    assert math.isclose(mv.r_ohm, 0.4 * (0.4 / 20) ** 2, rel_tol=1e-9)
    assert math.isclose(mv.x_ohm, 0.2 * (0.4 / 20) ** 2, rel_tol=1e-9)
    assert math.isclose(mv.rating_kva, math.sqrt(3) * 20 * 300, rel_tol=1e-9) and mv.rating_a is None
    # LV lines stay in ohm and amperes; two in parallel halve the impedance and double the rating
    assert math.isclose(by_id["L1"].r_ohm, 0.0206, rel_tol=1e-9) and by_id["L1"].rating_a == 270.0
    assert math.isclose(by_id["L2"].r_ohm, 0.0206, rel_tol=1e-9) and by_id["L2"].rating_a == 540.0
    loads = {p.id: p for p in s.prosumers}
    assert loads["load0"].demand_kw == (30.0,) and loads["load0"].demand_kvar == (10.0,)
    assert loads["load1"].demand_kw == (25.0,) and loads["load1"].demand_kvar == (10.0,)
    assert loads["sgen0"].asset == Asset(kind="pv", p_max_kw=20.0)
    # the cable's charging, B = 2π·50 Hz·250 nF/km·2 km = 1.5708e-4 S at 20 kV, referred: ×(20/0.4)² = 0.392699 S
    assert math.isclose(mv.b_shunt_us, 2 * math.pi * 50 * 250e-9 * 2 * 2500 * 1e6, rel_tol=1e-9)
    assert math.isclose(mv.b_shunt_us, 392699.08, rel_tol=1e-8) and mv.g_shunt_us == 0.0
    # the magnetising branch: G = pfe/V² = 0.5 kW/(0.4 kV)² = 3.125e-3 S; |Y| = i0·S_n/V² = 0.2 %·0.4/0.16 = 5e-3 S,
    # B = −√(|Y|² − G²) = −3.9031e-3 S; nominal ratio, no shift
    assert t.transformer == Transformer(g_mag_us=3125.0, b_mag_us=t.transformer.b_mag_us)
    assert math.isclose(t.transformer.b_mag_us, -math.sqrt(5000.0**2 - 3125.0**2), rel_tol=1e-9)
    text = " ".join(warnings)
    assert "voltage levels" in text
    assert "neglected" not in text and "ignored" not in text and "nominal" not in text


def test_tap_position_and_rated_voltages_by_hand():
    net = lv_network()
    # rated 20/0.42 kV on 20/0.4 kV buses, the hv tap at −2 steps of 2.5 %: 19 kV
    net.trafo.loc[
        0, ["vn_lv_kv", "tap_side", "tap_neutral", "tap_pos", "tap_step_percent", "tap_changer_type", "shift_degree"]
    ] = [0.42, "hv", 0, -2, 2.5, "Ratio", 150.0]
    s, warnings = import_pandapower(net)
    t = {ln.id: ln for ln in s.feeder.lines}["T0"]
    # τ = (19/0.42)/(20/0.4) = 0.904762; Z on the lv side at its rated 0.42 kV: 0.42²/0.4 = 0.441 ohm base
    assert math.isclose(t.transformer.tap_ratio, (19 / 0.42) / 50, rel_tol=1e-10)
    assert t.transformer.shift_deg == 150.0
    assert math.isclose(t.r_ohm, 0.012 * 0.441, rel_tol=1e-10)
    assert math.isclose(math.hypot(t.r_ohm, t.x_ohm), 0.06 * 0.441, rel_tol=1e-10)
    assert math.isclose(t.transformer.g_mag_us, 0.5e-3 / 0.42**2 * 1e6, rel_tol=1e-10)
    assert not any("tap" in w for w in warnings)
    # on the lv side at +2 steps: 0.441 kV, which also scales the impedance
    net.trafo.loc[0, ["tap_side", "tap_pos"]] = ["lv", 2]
    t = {ln.id: ln for ln in import_pandapower(net)[0].feeder.lines}["T0"]
    assert math.isclose(t.transformer.tap_ratio, (20 / 0.441) / 50, rel_tol=1e-10)
    assert math.isclose(t.r_ohm, 0.012 * 0.441**2 / 0.4, rel_tol=1e-10)
    # a tap changer without a type: pandapower's power flow ignores its position, and so do we, saying so
    net.trafo.loc[0, "tap_changer_type"] = None
    s, warnings = import_pandapower(net)
    assert math.isclose(
        {ln.id: ln for ln in s.feeder.lines}["T0"].transformer.tap_ratio, (20 / 0.42) / 50, rel_tol=1e-10
    )  # only the rated voltages count
    assert any("tap position of transformer(s) 0 is ignored, as pandapower ignores it" in w for w in warnings)


def test_a_line_open_at_one_end_is_the_charging_it_draws():
    net = lv_network()
    spur = pp.create_bus(net, vn_kv=20.0, name="open end")
    cable = pp.create_line_from_parameters(
        net, 1, spur, length_km=1.0, r_ohm_per_km=0.2, x_ohm_per_km=0.1, c_nf_per_km=250.0, max_i_ka=0.3
    )
    pp.create_switch(net, spur, cable, et="l", closed=False)
    pp.create_shunt(net, 3, q_mvar=-0.01, p_mw=0.0)  # a 10 kvar capacitor bank on LV1
    s, warnings = import_pandapower(net)
    assert str(spur) not in {b.id for b in s.feeder.buses} and f"L{cable}" not in {ln.id for ln in s.feeder.lines}
    # the π left hanging: y/2 at bus 1 in parallel with z in series with y/2 (20 kV), referred to 0.4 kV
    y_half = 1j * 2 * math.pi * 50 * 250e-9 / 2
    y = (y_half + 1 / (complex(0.2, 0.1) + 1 / y_half)) * (20 / 0.4) ** 2 * 1e6
    bus = {b.id: b for b in s.feeder.buses}
    assert math.isclose(bus["1"].b_shunt_us, y.imag, rel_tol=1e-9)
    assert math.isclose(bus["1"].g_shunt_us, y.real, rel_tol=1e-9)
    assert bus["3"].b_shunt_us == 62500.0 and bus["3"].g_shunt_us == 0.0  # B = Q/V² = 0.01 MVA/(0.4 kV)²
    assert any("connected at one end only" in w and f"{cable}" in w for w in warnings)
    assert not any("shunts ignored" in w for w in warnings)


def test_bus_switch_merges_and_open_line_switch_cuts():
    net = lv_network()
    extra = pp.create_bus(net, vn_kv=0.4, name="busbar B")
    pp.create_switch(net, 2, extra, et="b", closed=True)  # LV0 == busbar B
    pp.create_load(net, extra, p_mw=0.01)
    island = pp.create_bus(net, vn_kv=0.4, name="spur")
    cut = pp.create_line_from_parameters(
        net, 4, island, length_km=0.1, r_ohm_per_km=0.2, x_ohm_per_km=0.1, c_nf_per_km=0.0, max_i_ka=0.2
    )
    pp.create_switch(net, 4, cut, et="l", closed=False)
    s, warnings = import_pandapower(net)
    ids = [b.id for b in s.feeder.buses]
    assert str(extra) not in ids and str(island) not in ids
    assert {p.id: p.bus for p in s.prosumers}["load2"] == "2"
    assert f"L{cut}" not in {ln.id for ln in s.feeder.lines}
    text = " ".join(warnings)
    assert "bus-bus switch" in text and "opened by a switch" in text and "not connected" in text


def with_geodata(net, xy):
    """``net`` with the coordinates ``xy`` ({bus: (x, y)}) set as this pandapower keeps them."""
    for b, (x, y) in xy.items():
        net.bus.loc[b, "geo"] = json.dumps({"coordinates": [x, y], "type": "Point"})
    return net


def test_cigre_mv_brings_its_geographic_coordinates():
    net = pn.create_cigre_network_mv()
    s, warnings = import_pandapower(net)
    assert all(b.has_coordinates for b in s.feeder.buses)
    geo = {str(i): json.loads(g)["coordinates"] for i, g in net.bus.geo.items()}  # pandapower's GeoJSON points
    assert {b.id: [b.x, b.y] for b in s.feeder.buses} == {b.id: geo[b.id] for b in s.feeder.buses}
    assert not any("coordinates" in w for w in warnings)
    assert loads_project(dumps_project(s)) == s


def test_coordinates_of_merged_buses_partial_and_older_pandapower():
    net = lv_network()
    extra = pp.create_bus(net, vn_kv=0.4, name="busbar B")
    pp.create_switch(net, 2, extra, et="b", closed=True)  # LV0 == busbar B: bus 2 is kept
    xy = {0: (8.0, 49.0), 1: (8.01, 49.0), 2: (8.02, 48.99), 3: (8.03, 48.99), 4: (8.03, 48.98), extra: (9.0, 50.0)}
    s, warnings = import_pandapower(with_geodata(net, xy))
    assert {b.id: (b.x, b.y) for b in s.feeder.buses} == {str(b): xy[b] for b in range(5)}
    # the kept bus without coordinates takes those of the bus merged into it
    net.bus.loc[2, "geo"] = None
    s, _ = import_pandapower(net)
    assert (s.feeder.buses[2].x, s.feeder.buses[2].y) == (9.0, 50.0)
    # a bus without any: none imported, and a warning says so
    net.bus.loc[4, "geo"] = None
    s, warnings = import_pandapower(net)
    assert not any(b.has_coordinates for b in s.feeder.buses)
    assert any("1 of 5 bus(es) have no geographic coordinates (4)" in w for w in warnings)
    # pandapower before 3: a bus_geodata table with columns x and y
    old = lv_network()
    old.bus = old.bus.drop(columns="geo")
    xs, ys = [0.0, 100.0, 200.0, 300.0, 300.0], [0.0, 0.0, -50.0, -50.0, -150.0]
    old["bus_geodata"] = pd.DataFrame({"x": xs, "y": ys})
    s, _ = import_pandapower(old)
    assert [(b.x, b.y) for b in s.feeder.buses] == list(zip(xs, ys, strict=True))
    # no coordinates at all: nothing said
    s, warnings = import_pandapower(lv_network())
    assert not any(b.has_coordinates for b in s.feeder.buses) and not any("coordinates" in w for w in warnings)


def test_coordinates_survive_an_export_and_import():
    from core.scenario.importers import export_pandapower

    s, _ = import_pandapower(pn.create_cigre_network_mv())
    net, idx = export_pandapower(s, 0)
    back, _ = import_pandapower(net)
    coords = {b.id: (b.x, b.y) for b in s.feeder.buses}
    assert {b.id: (b.x, b.y) for b in back.feeder.buses} == {str(idx[k]): xy for k, xy in coords.items()}


def test_meshed_network_names_loop_lines(net33):
    net = net33
    net.line.loc[32, "in_service"] = True  # the tie between buses 20 and 7
    with pytest.raises(ScenarioError) as ei:
        import_pandapower(net)
    err = ei.value
    assert "meshed" in str(err) and "loop" in str(err)
    assert [p.row_id for p in err.problems] == ["L32"]


def test_two_ext_grids_rejected(net33):
    net = net33
    pp.create_ext_grid(net, 17)
    with pytest.raises(ScenarioError, match="external grids"):
        import_pandapower(net)


def test_a_net_of_nonsense_tables_is_one_sentence_not_a_traceback(net33, tmp_path):
    """pandapower loads it, but every bus is rated 0 kV: the importer divided by zero (a ZeroDivisionError reached
    the user); now one sentence naming the file."""
    net33.bus["vn_kv"] = 0.0
    path = tmp_path / "zero.json"
    pp.to_json(net33, str(path))
    with pytest.raises(ScenarioError, match="vn_kv above 0") as e:
        import_pandapower(str(path))
    assert str(path) in str(e.value) and "\n" not in str(e.value)


def test_no_ext_grid_rejected(net33):
    net = net33
    net.ext_grid.loc[0, "in_service"] = False
    with pytest.raises(ScenarioError, match="no external grid"):
        import_pandapower(net)


def test_trafo3w_rejected():
    net = lv_network()
    b110 = pp.create_bus(net, vn_kv=110.0)
    b10 = pp.create_bus(net, vn_kv=10.0)
    pp.create_transformer3w_from_parameters(
        net,
        b110,
        0,
        b10,
        vn_hv_kv=110,
        vn_mv_kv=20,
        vn_lv_kv=10,
        sn_hv_mva=40,
        sn_mv_mva=40,
        sn_lv_mva=10,
        vk_hv_percent=10,
        vk_mv_percent=10,
        vk_lv_percent=10,
        vkr_hv_percent=0.3,
        vkr_mv_percent=0.3,
        vkr_lv_percent=0.3,
        pfe_kw=30,
        i0_percent=0.1,
    )
    with pytest.raises(ScenarioError, match="three-winding"):
        import_pandapower(net)


def test_json_file_round_trip(tmp_path, case33, net33):
    path = tmp_path / "net.json"
    pp.to_json(net33, str(path))
    s, _ = import_pandapower(str(path))
    assert s.feeder == case33[0].feeder and s.prosumers == case33[0].prosumers


def test_unknown_source_is_a_clear_error(tmp_path):
    with pytest.raises(ScenarioError) as ei:
        import_pandapower("no_such_network")
    assert "no_such_network" in str(ei.value) and "pandapower" in str(ei.value)
    with pytest.raises(ScenarioError) as ei:
        import_pandapower(str(tmp_path / "gone.json"))
    assert ei.value.file == str(tmp_path / "gone.json")
    bad = write(tmp_path, "{not json", "bad.json")
    with pytest.raises(ScenarioError) as ei:
        import_pandapower(str(bad))
    assert ei.value.file == str(bad)


def test_missing_pandapower_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandapower", None)
    with pytest.raises(ScenarioError, match=r"pandapower is not installed: pip install 'feeder-market\[grid\]'"):
        import_pandapower("case33bw")
