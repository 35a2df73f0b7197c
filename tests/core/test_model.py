"""The scenario data model: validation names the field and the row; small formulas checked by hand."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import Problem, ScenarioError
from core.scenario.generate import teaching_5bus
from core.scenario.model import (
    Asset,
    BidBlock,
    Bus,
    Feeder,
    FlexibleLoad,
    Line,
    Prosumer,
    Scenario,
    Substation,
    Tariffs,
    TimeHorizon,
    Transformer,
    validate_scenario,
)

T = 6  # periods of the small scenario below


# ---------------------------------------------------------------------------
# a small valid scenario and ways to break it
# ---------------------------------------------------------------------------


def buses() -> tuple[Bus, ...]:
    return (Bus("S", "Substation"), Bus("1"), Bus("2"), Bus("3"))


def lines() -> tuple[Line, ...]:
    # S ─ 1 ─ 2
    #     └── 3
    return (
        Line("L1", "S", "1", r_ohm=0.05, x_ohm=0.03, rating_kva=100.0),
        Line("L2", "1", "2", r_ohm=0.08, x_ohm=0.04),
        Line("L3", "1", "3", r_ohm=0.10, x_ohm=0.05, rating_a=150.0),
    )


def prosumers() -> tuple[Prosumer, ...]:
    return (
        Prosumer("p1", "1", demand_kw=(1.0, 2.0, 3.0, 2.0, 1.0, 0.5), bids=(BidBlock("buy", 0.30, 1.5),)),
        Prosumer(
            "p2",
            "2",
            demand_kw=(0.5,) * T,
            asset=Asset("pv", p_max_kw=5.0, efficiency=0.97, availability_pu=(0, 0.2, 0.8, 1, 0.5, 0)),
        ),
        Prosumer(
            "p3",
            "3",
            demand_kw=(0.0,) * T,
            asset=Asset("battery", p_max_kw=3.0, p_min_kw=-3.0, energy_kwh=6.0),
            flexible=FlexibleLoad(d_max_kw=(1.0,) * T, value_a_per_kw2h=0.01, value_b_per_kwh=0.25),
        ),
    )


def feeder(**changes) -> Feeder:
    base = Feeder(
        base_kv=0.4,
        base_kva=100.0,
        substation=Substation("S", v_set_pu=1.0, wholesale_price_per_kwh=(0.08,) * T),
        buses=buses(),
        lines=lines(),
    )
    return replace(base, **changes)


def tariffs(**changes) -> Tariffs:
    return replace(Tariffs((0.25,) * T, (0.07,) * T), **changes)


def scenario(**changes) -> Scenario:
    kwargs = dict(name="small", feeder=feeder(), horizon=TimeHorizon(T), tariffs=tariffs(), prosumers=prosumers())
    kwargs.update(changes)
    return Scenario(**kwargs)


def with_prosumer(i: int, **changes) -> tuple[Prosumer, ...]:
    items = list(prosumers())
    items[i] = replace(items[i], **changes)
    return tuple(items)


def with_asset(i: int, **changes) -> tuple[Prosumer, ...]:
    return with_prosumer(i, asset=replace(prosumers()[i].asset, **changes))


def problems_of(**changes) -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        scenario(**changes)
    return info.value.problems


def where(problems: list[Problem]) -> list[tuple[str, int | None]]:
    return [(p.field, p.row) for p in problems]


# ---------------------------------------------------------------------------
# valid input
# ---------------------------------------------------------------------------


def test_small_scenario_is_valid():
    s = scenario()
    assert validate_scenario(s) == []
    assert s.periods == T
    assert [p.id for p in s.prosumers_at("1")] == ["p1"]


def test_efficiency_of_exactly_one_is_accepted():
    s = scenario(prosumers=with_asset(1, efficiency=1.0))
    assert s.prosumers[1].asset.efficiency == 1.0


def test_storage_may_charge():
    # p3 is a battery with p_min_kw = -3: no problem (only non-storage may not)
    assert scenario().prosumers[2].asset.p_min_kw == -3.0


def test_single_bus_feeder_without_lines_is_valid():
    f = feeder(buses=(Bus("S"),), lines=())
    s = scenario(feeder=f, prosumers=(Prosumer("p", "S", demand_kw=(1.0,) * T),))
    assert s.feeder.lines == ()


# ---------------------------------------------------------------------------
# topology
# ---------------------------------------------------------------------------


def test_islanded_bus():
    f = feeder(buses=(*buses(), Bus("4")))  # bus 4 (row 4) has no line
    probs = problems_of(feeder=f)
    assert where(probs) == [("feeder.buses", 4)]
    assert probs[0].row_id == "4"
    assert "not connected" in probs[0].message


def test_islanded_pair_names_the_first_and_counts_both():
    f = feeder(buses=(*buses(), Bus("4"), Bus("5")), lines=(*lines(), Line("L4", "4", "5", 0.1, 0.1)))
    probs = problems_of(feeder=f)
    assert where(probs) == [("feeder.buses", 4)]
    assert probs[0].message.startswith("2 bus(es)")


def test_loop_blames_the_line_that_closes_it():
    # L4 from the substation to bus 2 closes S-1-2-S; L1 and L2 were fine before it
    f = feeder(lines=(*lines(), Line("L4", "S", "2", 0.1, 0.1)))
    probs = problems_of(feeder=f)
    assert where(probs) == [("feeder.lines[3]", 3)]
    assert probs[0].row_id == "L4"
    assert "loop" in probs[0].message


def test_loop_line_in_the_middle_of_the_table():
    # same cycle, the closing line listed before a later, harmless one
    ls = lines()
    f = feeder(lines=(ls[0], ls[1], Line("Lx", "2", "S", 0.1, 0.1), ls[2]))
    assert where(problems_of(feeder=f)) == [("feeder.lines[2]", 2)]


def test_parallel_duplicate_line():
    f = feeder(lines=(*lines(), Line("L2b", "2", "1", 0.08, 0.04)))
    probs = problems_of(feeder=f)
    assert where(probs) == [("feeder.lines[3]", 3)]
    assert probs[0].row_id == "L2b"


def test_line_to_missing_bus():
    ls = list(lines())
    ls[1] = replace(ls[1], to_bus="9")
    probs = problems_of(feeder=feeder(lines=tuple(ls)))
    # bus 2 is now also islanded, but the tree check is skipped until the endpoints are fixed
    assert where(probs) == [("feeder.lines[1].to_bus", 1)]
    assert probs[0].row_id == "L2"
    assert "'9'" in probs[0].message


def test_line_from_a_bus_to_itself():
    f = feeder(lines=(*lines(), Line("L4", "3", "3", 0.1, 0.1)))
    assert ("feeder.lines[3].to_bus", 3) in where(problems_of(feeder=f))


def test_substation_on_missing_bus():
    f = feeder(substation=Substation("X", 1.0, (0.08,) * T))
    assert where(problems_of(feeder=f)) == [("feeder.substation.bus", None)]


# ---------------------------------------------------------------------------
# numbers out of range
# ---------------------------------------------------------------------------


def test_negative_resistance():
    ls = list(lines())
    ls[0] = replace(ls[0], r_ohm=-0.01)
    probs = problems_of(feeder=feeder(lines=tuple(ls)))
    assert where(probs) == [("feeder.lines[0].r_ohm", 0)]
    assert probs[0].row_id == "L1"


def test_zero_r_and_zero_x():
    ls = list(lines())
    ls[2] = replace(ls[2], r_ohm=0.0, x_ohm=0.0)
    probs = problems_of(feeder=feeder(lines=tuple(ls)))
    assert where(probs) == [("feeder.lines[2].r_ohm", 2)]
    assert "both zero" in probs[0].message


def test_zero_r_alone_is_fine():
    ls = list(lines())
    ls[2] = replace(ls[2], r_ohm=0.0)
    assert scenario(feeder=feeder(lines=tuple(ls))).feeder.lines[2].r_ohm == 0.0


def test_shunts_and_transformers_default_to_none():
    ln = lines()[0]
    assert (ln.g_shunt_us, ln.b_shunt_us, ln.transformer) == (0.0, 0.0, None)
    assert (buses()[1].g_shunt_us, buses()[1].b_shunt_us) == (0.0, 0.0)
    assert Transformer() == Transformer(tap_ratio=1.0, shift_deg=0.0, g_mag_us=0.0, b_mag_us=0.0)


def test_a_transformer_line_with_charging_and_a_capacitor_bank_is_valid():
    ls = list(lines())
    ls[0] = replace(ls[0], transformer=Transformer(tap_ratio=1.025, shift_deg=150.0, g_mag_us=3125.0, b_mag_us=-3903.1))
    ls[1] = replace(ls[1], b_shunt_us=120.0, g_shunt_us=0.5)
    bs = list(buses())
    bs[2] = replace(bs[2], b_shunt_us=2500.0)
    s = scenario(feeder=feeder(lines=tuple(ls), buses=tuple(bs)))
    assert s.feeder.lines[0].transformer.tap_ratio == 1.025


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (dict(tap_ratio=0.0), "tap_ratio", "off-nominal ratio"),
        (dict(tap_ratio=2.5), "tap_ratio", "[0.5, 2]"),
        (dict(tap_ratio=math.nan), "tap_ratio", "finite"),
        (dict(shift_deg=400.0), "shift_deg", "[-360, 360]"),
        (dict(g_mag_us=-1.0), "g_mag_us", "iron-loss conductance draws power"),
        (dict(b_mag_us=5.0), "b_mag_us", "inductive"),
    ],
)
def test_a_bad_transformer_names_its_field_and_row(change, field, words):
    ls = list(lines())
    ls[1] = replace(ls[1], transformer=replace(Transformer(), **change))
    probs = problems_of(feeder=feeder(lines=tuple(ls)))
    assert where(probs) == [(f"feeder.lines[1].transformer.{field}", 1)]
    assert probs[0].row_id == "L2" and words in probs[0].message


def test_bad_shunts_name_their_field_and_row():
    ls = list(lines())
    ls[2] = replace(ls[2], g_shunt_us=-0.1)
    bs = list(buses())
    bs[3] = replace(bs[3], b_shunt_us=math.inf)
    probs = problems_of(feeder=feeder(lines=tuple(ls), buses=tuple(bs)))
    assert sorted(where(probs)) == [("feeder.buses[3].b_shunt_us", 3), ("feeder.lines[2].g_shunt_us", 2)]
    assert any("draws power" in p.message for p in probs)


def test_bus_coordinates_are_optional_and_come_in_pairs():
    assert (buses()[1].x, buses()[1].y, buses()[1].has_coordinates) == (None, None, False)
    bs = list(buses())
    bs[0] = replace(bs[0], x=7.77, y=48.41)  # longitude, latitude
    bs[1] = replace(bs[1], x=-120.0, y=0.0)
    assert scenario(feeder=feeder(buses=tuple(bs))).feeder.buses[0].has_coordinates
    bs[2] = replace(bs[2], x=1.0)  # y missing
    bs[3] = replace(bs[3], y=math.nan, x=2.0)
    probs = problems_of(feeder=feeder(buses=tuple(bs)))
    assert where(probs) == [("feeder.buses[2].y", 2), ("feeder.buses[3].y", 3)]
    assert probs[0].row_id == "2" and "both coordinates" in probs[0].message
    assert "finite" in probs[1].message


def test_prosumer_on_missing_bus():
    probs = problems_of(prosumers=with_prosumer(1, bus="nowhere"))
    assert where(probs) == [("prosumers[1].bus", 1)]
    assert probs[0].row_id == "p2"


@pytest.mark.parametrize("eta", [0.0, 1.5, -0.5])
def test_efficiency_outside_zero_one(eta):
    probs = problems_of(prosumers=with_asset(1, efficiency=eta))
    assert where(probs) == [("prosumers[1].asset.efficiency", 1)]
    assert "(0, 1]" in probs[0].message


def test_demand_profile_of_wrong_length():
    probs = problems_of(prosumers=with_prosumer(0, demand_kw=(1.0,) * (T - 1)))
    assert where(probs) == [("prosumers[0].demand_kw", 0)]
    assert "5 values" in probs[0].message and "6 periods" in probs[0].message


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_in_demand_profile(bad):
    demand = [0.0] * T
    demand[5] = bad
    probs = problems_of(prosumers=with_prosumer(2, demand_kw=tuple(demand)))
    assert where(probs) == [("prosumers[2].demand_kw[5]", 2)]
    assert probs[0].row_id == "p3"


def test_negative_demand():
    probs = problems_of(prosumers=with_prosumer(0, demand_kw=(1.0, -1.0, 0, 0, 0, 0)))
    assert where(probs) == [("prosumers[0].demand_kw[1]", 0)]


def test_duplicate_prosumer_id():
    probs = problems_of(prosumers=with_prosumer(2, id="p1"))
    assert where(probs) == [("prosumers[2].id", 2)]
    assert "duplicates prosumer 0" in probs[0].message


def test_duplicate_bus_id():
    probs = problems_of(feeder=feeder(buses=(*buses(), Bus("2"))))
    assert ("feeder.buses[4].id", 4) in where(probs)


def test_duplicate_line_id():
    ls = list(lines())
    ls[2] = replace(ls[2], id="L1")
    probs = problems_of(feeder=feeder(lines=tuple(ls)))
    assert where(probs) == [("feeder.lines[2].id", 2)]


@pytest.mark.parametrize(("v_min", "v_max"), [(1.05, 1.05), (1.1, 0.9)])
def test_v_min_not_below_v_max(v_min, v_max):
    probs = problems_of(feeder=feeder(v_min_pu=v_min, v_max_pu=v_max))
    assert where(probs) == [("feeder.v_min_pu", None)]


def test_bus_voltage_override_v_min_not_below_v_max():
    bs = list(buses())
    bs[2] = replace(bs[2], v_min_pu=1.0, v_max_pu=0.98)
    probs = problems_of(feeder=feeder(buses=tuple(bs)))
    assert where(probs) == [("feeder.buses[2].v_min_pu", 2)]


def test_feed_in_above_retail():
    feed = [0.07] * T
    feed[3] = 0.30  # retail is 0.25
    probs = problems_of(tariffs=tariffs(feed_in_price_per_kwh=tuple(feed)))
    assert where(probs) == [("tariffs.feed_in_price_per_kwh[3]", 3)]


def test_feed_in_equal_to_retail_is_fine():
    assert scenario(tariffs=tariffs(feed_in_price_per_kwh=(0.25,) * T))


def test_pv_cannot_charge():
    probs = problems_of(prosumers=with_asset(1, p_min_kw=-1.0))
    assert where(probs) == [("prosumers[1].asset.p_min_kw", 1)]
    assert "storage" in probs[0].message


def test_p_min_above_p_max():
    probs = problems_of(prosumers=with_asset(2, p_min_kw=4.0))  # p_max is 3
    assert where(probs) == [("prosumers[2].asset.p_min_kw", 2)]


@pytest.mark.parametrize("q", [0.0, -1.0])
def test_bid_with_no_quantity(q):
    probs = problems_of(prosumers=with_prosumer(0, bids=(BidBlock("buy", 0.30, q),)))
    assert where(probs) == [("prosumers[0].bids[0].quantity_kwh", 0)]


def test_bid_for_a_period_past_the_horizon():
    probs = problems_of(prosumers=with_prosumer(0, bids=(BidBlock("buy", 0.3, 1.0), BidBlock("sell", 0.1, 1.0, T))))
    assert where(probs) == [("prosumers[0].bids[1].period", 0)]


def test_wholesale_price_of_wrong_length():
    f = feeder(substation=Substation("S", 1.0, (0.08,) * (T + 1)))
    probs = problems_of(feeder=f)
    assert where(probs) == [("feeder.substation.wholesale_price_per_kwh", None)]


def test_availability_above_one():
    probs = problems_of(prosumers=with_asset(1, availability_pu=(0, 0, 1.2, 0, 0, 0)))
    assert where(probs) == [("prosumers[1].asset.availability_pu[2]", 1)]


def test_no_periods():
    probs = problems_of(horizon=TimeHorizon(0))
    assert ("horizon.periods", None) in where(probs)


# ---------------------------------------------------------------------------
# several problems at once, and the message
# ---------------------------------------------------------------------------


def test_every_problem_is_collected():
    ls = list(lines())
    ls[0] = replace(ls[0], r_ohm=-1.0)
    ps = list(with_asset(1, efficiency=1.5))
    ps[2] = replace(ps[2], demand_kw=(0, 0, 0, 0, 0, math.nan))
    with pytest.raises(ScenarioError) as info:
        scenario(feeder=feeder(lines=tuple(ls)), prosumers=tuple(ps))
    err = info.value
    assert where(err.problems) == [
        ("feeder.lines[0].r_ohm", 0),
        ("prosumers[1].asset.efficiency", 1),
        ("prosumers[2].demand_kw[5]", 2),
    ]
    assert str(err).endswith("(and 2 more problems)")
    report = err.report().splitlines()
    assert len(report) == 3 and "prosumers[2].demand_kw[5]" in report[2]


def test_message_names_field_and_id():
    with pytest.raises(ScenarioError) as info:
        scenario(prosumers=with_asset(1, efficiency=0.0))
    text = str(info.value)
    assert "prosumers[1].asset.efficiency" in text
    assert "'p2'" in text
    assert info.value.field == "prosumers[1].asset.efficiency"
    assert info.value.row == 1


def test_an_edit_is_validated_too():
    s = scenario()
    with pytest.raises(ScenarioError) as info:
        s.with_line(1, replace(s.feeder.lines[1], r_ohm=-1.0))
    assert info.value.field == "feeder.lines[1].r_ohm"
    # and a good edit gives a new scenario, leaving the old one alone
    s2 = s.with_prosumer(0, replace(s.prosumers[0], demand_kw=(0.0,) * T))
    assert s2.prosumers[0].demand_kw == (0.0,) * T and s.prosumers[0].demand_kw[2] == 3.0


def test_validation_can_be_deferred():
    s = scenario(prosumers=with_asset(1, efficiency=2.0), validate=False)
    assert where(validate_scenario(s)) == [("prosumers[1].asset.efficiency", 1)]


# ---------------------------------------------------------------------------
# small formulas, by hand
# ---------------------------------------------------------------------------


def test_rating_from_amperes():
    # S = √3 · V_LL · I = 1.7320508 × 12.66 kV × 100 A = 2192.78 kVA
    assert Line("L", "a", "b", 0.1, 0.1, rating_a=100.0).rating_kva_at(12.66) == pytest.approx(2192.78, abs=0.01)
    # 0.4 kV, 100 A: 1.7320508 × 40 = 69.28 kVA
    assert Line("L", "a", "b", 0.1, 0.1, rating_a=100.0).rating_kva_at(0.4) == pytest.approx(69.28, abs=0.01)


def test_rating_is_the_smaller_of_both():
    both = Line("L", "a", "b", 0.1, 0.1, rating_kva=1000.0, rating_a=100.0)
    assert both.rating_kva_at(12.66) == 1000.0  # 1000 < 2192.78
    assert both.rating_kva_at(0.4) == pytest.approx(69.28, abs=0.01)  # 69.28 < 1000
    assert Line("L", "a", "b", 0.1, 0.1, rating_kva=250.0).rating_kva_at(12.66) == 250.0
    assert Line("L", "a", "b", 0.1, 0.1).rating_kva_at(12.66) is None


def test_base_impedance():
    # Z = V² / S = (12.66 kV)² / 10 MVA = 160.2756 / 10 = 16.02756 ohm
    f = replace(feeder(), base_kv=12.66, base_kva=10_000.0)
    assert f.base_z_ohm == pytest.approx(16.02756, rel=1e-9)


def test_reactive_from_power_factor():
    # tan(acos 0.8) = 0.6 / 0.8 = 0.75, so 100 kW → 75 kvar
    p = Prosumer("p", "1", demand_kw=(100.0, 40.0), power_factor=0.8)
    assert p.reactive_kvar(0) == pytest.approx(75.0, abs=1e-9)
    assert p.reactive_kvar(1) == pytest.approx(30.0, abs=1e-9)
    # tan(acos 0.6) = 0.8 / 0.6
    assert Prosumer("p", "1", (60.0,), power_factor=0.6).reactive_kvar(0) == pytest.approx(80.0, abs=1e-9)
    assert Prosumer("p", "1", (100.0,)).reactive_kvar(0) == 0.0  # unity power factor


def test_explicit_reactive_demand_wins():
    p = Prosumer("p", "1", demand_kw=(100.0,), power_factor=0.8, demand_kvar=(-12.5,))
    assert p.reactive_kvar(0) == -12.5


def test_role():
    pv = Asset("pv", p_max_kw=5.0)
    assert Prosumer("a", "1", (1.0, 0.0)).role == "consumer"
    assert Prosumer("b", "1", (0.0, 0.0), asset=pv).role == "producer"
    assert Prosumer("c", "1", (0.0, 0.3), asset=pv).role == "prosumer"
    flex = FlexibleLoad((1.0, 1.0), 0.0, 0.2)
    assert Prosumer("d", "1", (0.0, 0.0), asset=pv, flexible=flex).role == "prosumer"
    assert Prosumer("e", "1", (0.0, 0.0), flexible=flex).role == "consumer"
    battery = Asset(kind="battery", p_max_kw=5.0, p_min_kw=-5.0)
    assert Prosumer("f", "1", (0.0, 0.0), asset=battery).role == "prosumer"  # it buys and sells


def test_asset_capacity_per_period():
    a = Asset("pv", p_max_kw=8.0, availability_pu=(0.0, 0.25, 1.0))
    assert [a.p_max_at(t) for t in range(3)] == [0.0, 2.0, 8.0]
    assert Asset("chp", p_max_kw=8.0).p_max_at(2) == 8.0


def test_labels_hourly():
    labels = TimeHorizon(24, 1.0).labels()
    assert len(labels) == 24
    assert labels[:3] == ["00:00", "01:00", "02:00"]
    assert labels[13] == "13:00"
    assert labels[-1] == "23:00"


def test_labels_quarter_hourly():
    labels = TimeHorizon(96, 0.25).labels()
    assert len(labels) == 96 == len(set(labels))
    assert labels[:5] == ["00:00", "00:15", "00:30", "00:45", "01:00"]
    assert labels[50] == "12:30"  # 50 × 15 min = 750 min
    assert labels[-1] == "23:45"


def test_labels_wrap_past_midnight():
    assert TimeHorizon(4, 1.0, start_hour=22.0).labels() == ["22:00", "23:00", "00:00", "01:00"]
    assert TimeHorizon(3, 0.5, start_hour=12.0).labels() == ["12:00", "12:30", "13:00"]


# ---------------------------------------------------------------------------
# an edit of one prosumer checks only that prosumer — and finds what the whole check finds
# ---------------------------------------------------------------------------


TEACH = teaching_5bus()
_IDS = [p.id for p in TEACH.prosumers]
_BUSES = [b.id for b in TEACH.feeder.buses]


@st.composite
def _edits(draw):
    i = draw(st.integers(0, len(TEACH.prosumers) - 1))
    p = TEACH.prosumers[i]
    pid = draw(st.sampled_from([p.id, *_IDS, "", "new"]))
    bus = draw(st.sampled_from([*_BUSES, "nowhere"]))
    value = st.one_of(st.floats(-5, 20), st.just(float("nan")), st.just(float("inf")))
    demand = tuple(draw(st.lists(value, min_size=0, max_size=TEACH.periods + 1)))
    pf = draw(st.sampled_from([p.power_factor, 0.0, 0.9, 1.2]))
    return i, replace(p, id=pid, bus=bus, demand_kw=demand, power_factor=pf)


@settings(max_examples=150, deadline=None)
@given(_edits())
def test_an_edit_is_refused_exactly_when_the_whole_scenario_would_be(edit):
    i, prosumer = edit
    items = list(TEACH.prosumers)
    items[i] = prosumer
    whole = {
        (q.field, q.message, q.row) for q in validate_scenario(replace(TEACH, prosumers=tuple(items), validate=False))
    }
    try:
        edited = TEACH.with_prosumer(i, prosumer)
    except ScenarioError as err:
        found = {(q.field, q.message, q.row) for q in err.problems}
    else:
        found = set()
        assert edited.prosumers[i] == prosumer and edited.validate  # later edits are checked again
    assert found == whole


def test_an_edited_scenario_checks_its_next_edits_too():
    p = TEACH.prosumers[0]
    edited = TEACH.with_prosumer(0, replace(p, name="renamed"))
    with pytest.raises(ScenarioError, match="not on the feeder"):
        edited.with_prosumer(1, replace(edited.prosumers[1], bus="nowhere"))
    with pytest.raises(ScenarioError, match="not on the feeder"):
        replace(edited, prosumers=(replace(p, bus="nowhere"), *edited.prosumers[1:]))


def test_the_dashboard_starts_where_something_happens():
    from core.scenario.model import Asset, Bus, Feeder, Prosumer, Scenario, Substation, Tariffs, TimeHorizon
    from core.scenario.summary import start_period

    f = Feeder(base_kv=0.4, base_kva=100.0, substation=Substation("0", 1.0, (0.1,) * 4), buses=(Bus("0"),), lines=())
    pv = Asset("pv", 10.0, availability_pu=(0.0, 0.5, 1.0, 0.2))
    ps = (
        Prosumer("home", "0", (2.0, 3.0, 4.0, 9.0)),  # the evening peak is period 3
        Prosumer("roof", "0", (0.0,) * 4, asset=pv),
    )
    s = Scenario("four", f, TimeHorizon(4), Tariffs((0.3,) * 4, (0.05,) * 4), ps)
    # min(generation, demand): 0, min(5, 3) = 3, min(10, 4) = 4, min(2, 9) = 2 → period 2
    assert start_period(s) == (2, "02:00, when local generation could meet the most local demand (4 kW)")
    assert start_period(s, network=True)[0] == 3  # the demand peak
    dark = Scenario("four", f, TimeHorizon(4), Tariffs((0.3,) * 4, (0.05,) * 4), ps[:1])
    assert start_period(dark) == (3, "03:00, the demand peak (9 kW)")


# --- plausibility: a number no real feeder has is refused by its field, its row and the bound ----------------
def _with(s, what: str, value):
    """The teaching feeder with one number changed (validated on construction)."""
    f, p = s.feeder, s.prosumers
    if what == "base_kv":
        return replace(s, feeder=replace(f, base_kv=value))
    if what == "r_ohm":
        return s.with_line(0, replace(f.lines[0], r_ohm=value))
    if what == "rating_a":
        return s.with_line(0, replace(f.lines[0], rating_a=value))
    if what == "demand":
        return replace(s, prosumers=(replace(p[0], demand_kw=(value,) * s.periods), *p[1:]))
    if what == "cost":
        k = next(i for i, x in enumerate(p) if x.asset is not None)
        q = replace(p[k], asset=replace(p[k].asset, cost_b_per_kwh=value))
        return replace(s, prosumers=(*p[:k], q, *p[k + 1 :]))
    if what == "retail":
        return replace(s, tariffs=replace(s.tariffs, retail_import_price_per_kwh=(value,) * s.periods))
    raise AssertionError(what)


@pytest.mark.parametrize(
    ("what", "value", "field", "says"),
    [
        ("base_kv", 1e308, "feeder.base_kv", "a distribution feeder's voltage is in [0.1, 500]"),
        ("base_kv", 1e-9, "feeder.base_kv", "a distribution feeder's voltage is in [0.1, 500]"),
        ("r_ohm", 1e300, "feeder.lines[0].r_ohm", "times the feeder's base impedance"),
        ("rating_a", 1e-9, "feeder.lines[0].rating_a", "a line's rating (A) is in [0.1, 100000]"),
        ("demand", 1e12, "prosumers[0].demand_kw[0]", "times the feeder's base power"),
        ("cost", 1e200, ".asset.cost_b_per_kwh", "a price per kWh in any currency"),
        ("retail", 1e300, "tariffs.retail_import_price_per_kwh[0]", "a price per kWh in any currency"),
    ],
)
def test_implausible_numbers_are_refused_by_field_and_bound(what, value, field, says):
    s = teaching_5bus()
    with pytest.raises(ScenarioError) as info:
        _with(s, what, value)
    problem = info.value.problems[0]
    assert field in problem.field and says in problem.message, problem


def test_the_bounds_are_relative_to_the_feeders_base():
    # the teaching feeder: 0.4 kV, base 100 kVA → base impedance 0.4² · 1000 / 100 = 1.6 Ω; 100 base impedances
    # = 160 Ω is still a line, 161 Ω is not; 100 × 100 kVA = 10 MW of one household's demand is the ceiling
    s = teaching_5bus()
    assert s.feeder.base_kv == 0.4 and s.feeder.base_kva == 100.0
    _with(s, "r_ohm", 160.0)
    with pytest.raises(ScenarioError, match="161 Ω, beyond 160 Ω"):
        _with(s, "r_ohm", 161.0)
    _with(s, "demand", 10_000.0)
    with pytest.raises(ScenarioError, match="beyond 10000 kW"):
        _with(s, "demand", 10_001.0)


def test_a_horizon_longer_than_a_year_of_quarter_hours_is_refused():
    """300,000 periods validated and then ran the machine out of memory; the bound is a leap year of 15 minutes."""
    import json

    from core.scenario.io import dumps_project, loads_project

    data = json.loads(dumps_project(teaching_5bus()))
    data["scenario"]["horizon"]["periods"] = 366 * 96 + 1
    with pytest.raises(ScenarioError, match="at most 35,136") as e:
        loads_project(json.dumps(data))
    assert [p.field for p in e.value.problems] == ["horizon.periods"]  # one line, not a profile-length per prosumer
    data["scenario"]["horizon"]["periods"] = 10**300  # the bound still said, the number in three digits
    with pytest.raises(ScenarioError, match=r"must be at most 35,136 .*got 1e\+300$"):
        loads_project(json.dumps(data))
