"""A market day that can happen under every mechanism, valued on one scale (issue 12).

The invariants — storage within [0, E], nobody buys and sells in one period, nobody trades with itself,
every prosumer's energy closes — on every bundled project and on random scenarios; the welfare clearing
bounds every auction; and a two-period battery day worked out by hand.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.auction_day import clear_day
from core.cli import main as cli_main
from core.market import AUCTIONS, MarketSettings, clear
from core.scenario import load_project
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
)

TOL = 1e-6
QUICK = MarketSettings(
    audit=False, tatonnement=False, decentralised_check=False, fairness_audit=False, compare=False, market_power=False
)


def scenario(prosumers, periods=1, retail=0.3, feed_in=0.1, step_h=1.0) -> Scenario:
    feeder = Feeder(
        base_kv=0.4,
        base_kva=100.0,
        substation=Substation("0", 1.0, (0.1,) * periods),
        buses=(Bus("0"), Bus("1")),
        lines=(Line("L", "0", "1", 0.01, 0.01),),
    )
    per = lambda v: tuple(v) if isinstance(v, (list, tuple)) else (v,) * periods  # noqa: E731
    return Scenario("hand", feeder, TimeHorizon(periods, step_h), Tariffs(per(retail), per(feed_in)), tuple(prosumers))


def meter_kw(day, i: int) -> np.ndarray:
    """Prosumer i's DER power at its meter per period (discharge η·p, charge c/η)."""
    f = day.fleet
    if not f.has_der[i]:
        return np.zeros(day.der_kw.shape[1])
    out = day.der_kw[i] + day.charge_kw[i]  # what the cells give
    return f.eta[i] * out - day.charge_kw[i] / f.eta[i]


def check_day(day) -> None:
    """The day could happen: storage within its energy, one direction per period, balances closed."""
    f = day.fleet
    dt = f.step_h
    for t, out in enumerate(day.outcomes):
        # the clearing pairs a prosumer with itself only at a price where it is indifferent (a block it half
        # uses itself), and the day keeps only its net
        both = np.minimum(out.agent_bought, out.agent_sold) > TOL
        assert not both.any() or (
            out.price_interval is not None and out.price_interval[1] - out.price_interval[0] <= 1e-12
        ), f"period {t}"
    assert np.all(np.minimum(day.bought_kwh, day.sold_kwh) <= TOL), "bought and sold in one period"
    assert np.all(np.minimum(day.grid_import_kwh, day.grid_export_kwh) <= TOL), "imported and exported at once"
    # sold in the market while importing the same energy from the grid would be a conduit, not a prosumer
    for i in range(f.n):
        demand = f.demand_kw[i] * dt + day.flexible_kw[i] * dt
        supply = meter_kw(day, i) * dt
        balance = day.bought_kwh[i] - day.sold_kwh[i] + day.grid_import_kwh[i] - day.grid_export_kwh[i]
        assert balance == pytest.approx(demand - supply, abs=1e-6), f"{f.ids[i]}: energy does not close"
        if f.tracked[i]:
            soc = day.soc_kwh[i]
            assert np.all(soc >= -TOL) and np.all(soc <= f.energy_kwh[i] + TOL), f"{f.ids[i]}: {soc}"
            e = f.e0_kwh[i] - dt * np.cumsum(day.der_kw[i])
            assert soc == pytest.approx(e, abs=1e-6)
            assert soc[-1] >= f.e0_kwh[i] - 1e-6, f"{f.ids[i]} ends below the charge it started with"
        if f.has_der[i]:
            p = day.der_kw[i]
            assert np.all(p <= f.p_max_kw[i] + TOL) and np.all(p >= f.p_min_kw[i] - TOL)
            if np.isfinite(f.ramp_kw[i]):
                assert np.all(np.abs(np.diff(p)) <= f.ramp_kw[i] + TOL)
        if f.has_flex[i]:
            assert np.all(day.flexible_kw[i] >= -TOL) and np.all(day.flexible_kw[i] <= f.f_max_kw[i] + TOL)
    # the market clears: what is bought is sold
    assert day.bought_kwh.sum(axis=0) == pytest.approx(day.sold_kwh.sum(axis=0), abs=1e-6)


# --- by hand ----------------------------------------------------------------------------------------


def two_period_day() -> Scenario:
    """A battery (10 kWh, half full, ±10 kW, η = 1, wear 0.01/kWh), a home (2 then 6 kW) and a PV (4 kWh then
    nothing, free) at retail 0.30 and feed-in 0.10 in both periods."""
    battery = Prosumer(
        "bat",
        "1",
        (0.0, 0.0),
        asset=Asset(
            "battery", 10.0, p_min_kw=-10.0, efficiency=1.0, cost_b_per_kwh=0.01, energy_kwh=10.0, soc_init_pu=0.5
        ),
    )
    home = Prosumer("home", "1", (2.0, 6.0))
    pv = Prosumer("pv", "1", (0.0, 0.0), asset=Asset("pv", 4.0, availability_pu=(1.0, 0.0)))
    return scenario([battery, home, pv], periods=2)


def test_a_two_period_battery_day_by_hand():
    # The battery's forecast is the market without storage: period 0, the home's 2 kWh at retail meet the PV's
    # free 4 kWh at the feed-in floor, one PV block half sold: 0.10; period 1, nobody sells to the home: 0.30.
    # It must end with the 5 kWh it started with. Its energy is then worth V₁(e) = 0.31·(e − 5) below 5 kWh
    # (buying it back in period 1 costs 0.30 + wear) and 0.29·(e − 5) above (selling it nets 0.30 − wear).
    # Period 0, from 5 kWh: discharging asks 0.01 + 0.31 = 0.32, above retail (left out); charging bids
    # 0.29 − 0.01 = 0.28. The home (2 kWh at 0.30) and the battery (5 kWh at 0.28) meet the PV's 4 kWh at
    # 0.10: the home takes 2, the battery 2; its bid, partly filled, sets the price: 0.28.
    # Period 1, from 7 kWh: it may give 2 kWh and still end with 5; they cost only wear, 0.01, so it asks the
    # feed-in floor 0.10. The home's 6 kWh at 0.30 take them; its unfilled bid sets the price, 0.30, and it
    # buys the other 4 kWh from the grid. The battery ends at 5 kWh, as it started.
    s = two_period_day()
    r = clear(s, replace(QUICK, mechanism="uniform"))
    ap = r.agent_periods.set_index(["agent", "period"])
    assert r.periods.price_per_kwh.tolist() == pytest.approx([0.28, 0.30])
    assert [ap.loc[("bat", t), "soc_kwh"] for t in (0, 1)] == pytest.approx([7.0, 5.0])
    assert [ap.loc[("bat", t), "bought_kwh"] for t in (0, 1)] == pytest.approx([2.0, 0.0])
    assert [ap.loc[("bat", t), "sold_kwh"] for t in (0, 1)] == pytest.approx([0.0, 2.0])
    assert [ap.loc[("home", t), "grid_import_kwh"] for t in (0, 1)] == pytest.approx([0.0, 4.0])
    assert ap.loc[("pv", 0), "sold_kwh"] == pytest.approx(4.0)
    a = r.agents.set_index("agent")
    # the battery pays 2 × 0.28 = 0.56 and is paid 2 × 0.30 = 0.60; wear 0.01 × 4 kWh = 0.04: it breaks even
    assert a.loc["bat", "payment"] == pytest.approx(0.56 - 0.60)
    assert a.loc["bat", "cost"] == pytest.approx(0.04)
    assert a.loc["bat", "surplus"] == pytest.approx(0.0, abs=1e-9)
    # the home: 0.56 + 0.60 in the market and 4 × 0.30 = 1.20 to the grid, against 8 × 0.30 = 2.40 alone
    assert a.loc["home", "payment"] + a.loc["home", "grid_payment"] == pytest.approx(2.36)
    assert a.loc["home", "gain_over_outside"] == pytest.approx(0.04)
    # the PV: 4 × 0.28 = 1.12 against 4 × 0.10 = 0.40 exported alone
    assert a.loc["pv", "gain_over_outside"] == pytest.approx(0.72)
    # welfare = value − cost − net grid cost = 0 − 0.04 − 1.20
    assert r.summary["welfare"] == pytest.approx(-1.24)
    assert r.summary["gain_over_outside"] == pytest.approx(0.76)
    assert r.summary["traded_kwh"] == pytest.approx(6.0)
    assert r.summary["grid_import_kwh"] == pytest.approx(4.0)
    assert r.summary["ir_violations"] == 0
    # The welfare clearing does the same: it stores the 2 spare PV kWh for the evening and imports 4 kWh,
    # W* = −0.04 − 1.20 = −1.24. Here the auction day reaches the optimum.
    w = clear(s, replace(QUICK, mechanism="welfare"))
    assert w.summary["welfare"] == pytest.approx(-1.24, abs=1e-6)


def test_the_chapters_auction_and_vcg_deficit_stand():
    teach = teaching_5bus()
    uniform = clear(teach, replace(QUICK, mechanism="uniform"))
    assert uniform.summary["price_per_kwh"] == pytest.approx(8.5)
    assert uniform.summary["traded_kwh"] == pytest.approx(2.0)
    # every mechanism's day on one scale: the same two trades are worth (12 − 5) + (10 − 7) = 10 for all
    for mech in ("uniform", "pay_as_bid", "vcg"):
        assert clear(teach, replace(QUICK, mechanism=mech)).summary["welfare"] == pytest.approx(10.0)
    vcg = clear(teach, replace(QUICK, mechanism="vcg"))
    assert vcg.summary["platform_surplus"] == pytest.approx(-2.0)


def test_a_prosumer_never_trades_with_itself():
    # alone with a buy at 12 and a sell at 5 it used to "trade" 1 kWh with itself at 8.5
    s = scenario(
        [
            Prosumer(
                "me",
                "1",
                (1.0,),
                asset=Asset("generator", 1.0, cost_b_per_kwh=5.0),
                bids=(BidBlock("buy", 12.0, 1.0), BidBlock("sell", 5.0, 1.0)),
            )
        ],
        retail=25.0,
        feed_in=4.0,
    )
    r = clear(s, replace(QUICK, mechanism="uniform"))
    assert r.summary["traded_kwh"] == 0.0
    assert r.summary["price_per_kwh"] is None  # nothing traded: no price


def test_a_bid_above_retail_is_clipped_and_individual_rationality_is_against_the_tariffs():
    # B bids 30 when retail is 25: nobody pays more than the grid charges, so the bid is 25 and the
    # uniform price at k = 1 is 25, not 30
    b = Prosumer("B", "1", (0.0,), flexible=FlexibleLoad((1.0,), 0.0, 30.0), bids=(BidBlock("buy", 30.0, 1.0),))
    sl = Prosumer("S", "1", (0.0,), asset=Asset("chp", 1.0, cost_b_per_kwh=9.0), bids=(BidBlock("sell", 9.0, 1.0),))
    s = scenario([b, sl], retail=25.0, feed_in=4.0)
    r = clear(s, replace(QUICK, mechanism="uniform", k=1.0))
    assert r.summary["price_per_kwh"] == pytest.approx(25.0)
    assert any("above the retail tariff 25" in w for w in r.warnings)
    # B pays 25 for a kWh worth 30 — what the grid would have charged it: no gain, no loss
    a = r.agents.set_index("agent")
    assert a.loc["B", "gain_over_outside"] == pytest.approx(0.0, abs=1e-6) and a.loc["B", "ir_ok"]
    # a seller asking less than the feed-in tariff would be better off with the grid; asked at 2 it gets 4
    s2 = scenario(
        [b, replace(sl, bids=(BidBlock("sell", 2.0, 1.0),), asset=Asset("pv", 1.0))], retail=25.0, feed_in=4.0
    )
    r2 = clear(s2, replace(QUICK, mechanism="uniform", k=0.0))
    assert r2.summary["price_per_kwh"] == pytest.approx(4.0)
    assert r2.agents.ir_ok.all()


def test_explicit_bids_cannot_offer_more_than_the_prosumer_has():
    # a 1 kW PV offering 5 kWh: cut to the 1 kWh it can deliver, with a warning
    pv = Prosumer("pv", "1", (0.0,), asset=Asset("pv", 1.0), bids=(BidBlock("sell", 5.0, 5.0),))
    home = Prosumer("home", "1", (3.0,))
    r = clear(scenario([pv, home], retail=25.0, feed_in=4.0), replace(QUICK, mechanism="uniform"))
    assert r.summary["traded_kwh"] == pytest.approx(1.0)
    assert any("can deliver only 1 kWh" in w for w in r.warnings)


def test_no_trade_reports_the_interval_of_prices_not_a_price():
    # the teaching feeder without its sellers: nobody trades; every λ from the best bid (12) to retail (25)
    # clears nothing
    teach = teaching_5bus()
    buyers = replace(teach, prosumers=tuple(p for p in teach.prosumers if p.id.startswith("B")))
    r = clear(buyers, replace(QUICK, mechanism="welfare"))
    assert r.summary["price_per_kwh"] is None
    assert r.summary["price_lo_per_kwh"] == pytest.approx(12.0, abs=1e-5)
    assert r.summary["price_hi_per_kwh"] == pytest.approx(25.0, abs=1e-5)
    u = clear(buyers, replace(QUICK, mechanism="uniform"))
    assert u.summary["price_per_kwh"] is None
    assert (u.summary["price_lo_per_kwh"], u.summary["price_hi_per_kwh"]) == pytest.approx((12.0, 25.0))


def test_a_ramp_limited_ev_can_come_down_before_it_leaves():
    # 4 kW EV, ramp 1 kW per period, away in period 1 (availability 0): at most 1 kW in period 0, or it could not
    # be back at 0 when it leaves; with that, the auction day is worth what the welfare clearing's is
    ev = Prosumer(
        "ev",
        "1",
        (0.0,) * 4,
        asset=Asset(
            "ev",
            4.0,
            p_min_kw=-10.0,
            ramp_kw_per_period=1.0,
            energy_kwh=40.0,
            soc_init_pu=0.5,
            availability_pu=(1.0, 0.0, 1.0, 1.0),
        ),
    )
    home = Prosumer("home", "1", (4.0, 0.0, 0.0, 0.0))
    pv = Prosumer("pv", "1", (0.0,) * 4, asset=Asset("pv", 4.0, availability_pu=(0.0, 0.0, 1.0, 1.0)))
    s = scenario([ev, home, pv], periods=4, retail=0.3, feed_in=0.05)
    day = clear_day(s, "uniform")
    check_day(day)
    assert day.der_kw[0, 0] <= 1.0 + 1e-9
    w = clear(s, replace(QUICK, mechanism="welfare")).summary["welfare"]
    assert clear(s, replace(QUICK, mechanism="uniform")).summary["welfare"] <= w + 1e-6


@pytest.mark.parametrize("soc", [0.5, 0.47, 0.333])
def test_a_battery_alone_stays_put(soc):
    # nobody to trade with, retail 0.30 and feed-in 0.10: buying to sell back loses, so it idles whatever its
    # initial charge (not on a round number of its planning grid)
    bat = Prosumer(
        "bat",
        "1",
        (0.0,) * 3,
        asset=Asset("battery", 1.0, p_min_kw=-1.0, efficiency=0.95, energy_kwh=10.0, soc_init_pu=soc),
    )
    r = clear(scenario([bat], periods=3), replace(QUICK, mechanism="uniform"))
    assert r.summary["grid_import_kwh"] == pytest.approx(0.0, abs=1e-9)
    assert r.summary["welfare"] == pytest.approx(0.0, abs=1e-9) and r.summary["ir_violations"] == 0


def test_a_battery_plans_with_the_spread_between_buying_and_selling():
    # alone, cheap then dear retail (0.10 → 0.40) but feed-in 0.05: it could only buy at 0.10 and sell at
    # 0.05, so it does nothing (planning at one middle price it bought 5.3 kWh and dumped them)
    bat = Prosumer(
        "bat",
        "1",
        (0.0,) * 4,
        asset=Asset("battery", 5.0, p_min_kw=-5.0, efficiency=0.95, energy_kwh=10.0, soc_init_pu=0.5),
    )
    r = clear(
        scenario([bat], periods=4, retail=[0.1, 0.1, 0.4, 0.4], feed_in=0.05), replace(QUICK, mechanism="uniform")
    )
    assert r.summary["grid_import_kwh"] == pytest.approx(0.0, abs=1e-9)
    assert r.summary["grid_export_kwh"] == pytest.approx(0.0, abs=1e-9)


def test_a_long_storage_moves_too():
    # 100 kWh at 1 kW: 100 hours to fill. It still shifts the PV's midday kWh to the evening home (its
    # planning grid is fine enough for one period at full power)
    bat = Prosumer(
        "bat", "1", (0.0,) * 4, asset=Asset("battery", 1.0, p_min_kw=-1.0, energy_kwh=100.0, soc_init_pu=0.5)
    )
    home = Prosumer("home", "1", (0.0, 0.0, 1.0, 1.0))
    pv = Prosumer("pv", "1", (0.0,) * 4, asset=Asset("pv", 1.0, availability_pu=(1.0, 1.0, 0.0, 0.0)))
    s = scenario([bat, home, pv], periods=4, retail=0.3, feed_in=0.05)
    day = clear_day(s, "uniform")
    assert day.der_kw[0] == pytest.approx([-1.0, -1.0, 1.0, 1.0])
    assert clear(s, replace(QUICK, mechanism="uniform")).summary["welfare"] == pytest.approx(
        clear(s, replace(QUICK, mechanism="welfare")).summary["welfare"], abs=1e-6
    )


def test_a_flexible_load_alone_buys_what_the_grid_is_worth_to_it():
    # U(f) = 0.55 f − 0.05 f², f ≤ 4: worth buying at retail 0.30 up to U'(f) = 0.30, f = 2.5 kW — the same as
    # with the grid alone (its blocks split at that point), so no gain and no loss
    flex = Prosumer("flex", "1", (0.0,), flexible=FlexibleLoad((4.0,), 0.05, 0.55))
    r = clear(scenario([flex]), replace(QUICK, mechanism="uniform"))
    assert r.agent_periods.flexible_kw[0] == pytest.approx(2.5)
    assert r.agents.gain_over_outside[0] == pytest.approx(0.0, abs=1e-6) and r.summary["ir_violations"] == 0


# --- every mechanism, every bundled project -----------------------------------------------------------


@pytest.mark.parametrize("project", ["teaching-5bus", "ieee33-community", "ieee33-constrained"])
@pytest.mark.parametrize("mechanism", AUCTIONS)
def test_every_bundled_day_can_happen(projects_dir, project, mechanism):
    s = load_project(projects_dir / f"{project}.json")
    check_day(clear_day(s, mechanism))


def test_the_big_feeder_day_can_happen(projects_dir):
    s = load_project(projects_dir / "synthetic-1000bus.json")
    check_day(clear_day(s, "uniform"))
    check_day(clear_day(s, "trade_reduction"))


@pytest.mark.parametrize("project", ["teaching-5bus", "ieee33-community"])
def test_the_welfare_clearing_bounds_every_auction(projects_dir, project):
    s = load_project(projects_dir / f"{project}.json")
    best = clear(s, replace(QUICK, mechanism="welfare")).summary["welfare"]
    for mech in AUCTIONS:
        w = clear(s, replace(QUICK, mechanism=mech)).summary["welfare"]
        assert w <= best + 1e-6 * (1 + abs(best)), mech


def test_one_definition_of_traded_energy(projects_dir):
    s = load_project(projects_dir / "ieee33-community.json")
    r = clear(
        s,
        MarketSettings(
            mechanism="uniform", period=19, tatonnement=False, decentralised_check=False, fairness_audit=False
        ),
    )
    # the headline (day), the supply and demand panel (period), the properties table and the comparison agree
    assert r.summary["traded_kwh"] == pytest.approx(r.periods.traded_kwh.sum())
    assert r.curves.traded_kwh == pytest.approx(r.periods.traded_kwh[19])
    assert r.comparison.set_index("mechanism").loc["uniform", "traded_kwh"] == pytest.approx(r.curves.traded_kwh)
    m = r.mechanisms.set_index("mechanism")
    assert m.loc["uniform", "traded_kwh"] == pytest.approx(r.summary["traded_kwh"])
    assert m.loc["uniform", "period_traded_kwh"] == pytest.approx(r.curves.traded_kwh)
    assert m.loc["welfare", "efficiency"] == pytest.approx(1.0)
    assert (m.efficiency <= 1.0 + 1e-9).all()
    assert m.loc["vcg", "max_ic_gain"] == pytest.approx(0.0, abs=1e-9)


# --- random days ------------------------------------------------------------------------------------


@st.composite
def random_scenarios(draw):
    T = draw(st.integers(2, 6))
    n = draw(st.integers(1, 7))
    retail = [draw(st.floats(0.15, 0.4)) for _ in range(T)]
    feed_in = [draw(st.floats(0.0, 0.12)) for _ in range(T)]
    prosumers = []
    for i in range(n):
        kind = draw(st.sampled_from(["home", "pv", "battery", "ev", "chp", "flex"]))
        demand = tuple(draw(st.floats(0.0, 5.0)) for _ in range(T))
        pid = f"{kind}{i}"
        if kind == "home":
            prosumers.append(Prosumer(pid, "1", demand))
        elif kind == "flex":
            prosumers.append(
                Prosumer(
                    pid,
                    "1",
                    demand,
                    flexible=FlexibleLoad(
                        tuple(draw(st.floats(0.0, 4.0)) for _ in range(T)),
                        draw(st.floats(0.0, 0.05)),
                        draw(st.floats(0.05, 0.5)),
                    ),
                )
            )
        elif kind == "pv":
            prosumers.append(
                Prosumer(
                    pid,
                    "1",
                    demand,
                    asset=Asset(
                        "pv",
                        draw(st.floats(0.5, 8.0)),
                        efficiency=draw(st.floats(0.8, 1.0)),
                        cost_a_per_kw2h=draw(st.floats(0.0, 0.01)),
                        cost_b_per_kwh=draw(st.floats(0.0, 0.05)),
                        availability_pu=tuple(draw(st.floats(0.0, 1.0)) for _ in range(T)),
                    ),
                )
            )
        elif kind == "chp":
            prosumers.append(
                Prosumer(
                    pid,
                    "1",
                    demand,
                    asset=Asset(
                        "chp",
                        draw(st.floats(1.0, 6.0)),
                        p_min_kw=draw(st.floats(0.0, 0.5)),
                        ramp_kw_per_period=draw(st.one_of(st.none(), st.floats(0.5, 3.0))),
                        efficiency=draw(st.floats(0.8, 1.0)),
                        cost_a_per_kw2h=draw(st.floats(0.0, 0.02)),
                        cost_b_per_kwh=draw(st.floats(0.05, 0.3)),
                    ),
                )
            )
        else:
            p = draw(st.floats(0.5, 6.0))
            away = tuple(draw(st.sampled_from([0.0, 1.0, 1.0])) for _ in range(T)) if kind == "ev" else None
            prosumers.append(
                Prosumer(
                    pid,
                    "1",
                    demand,
                    asset=Asset(
                        kind,
                        p,
                        p_min_kw=-draw(st.floats(0.5, 6.0)),
                        availability_pu=away,
                        ramp_kw_per_period=draw(st.one_of(st.none(), st.floats(0.5, 6.0))),
                        efficiency=draw(st.floats(0.8, 1.0)),
                        cost_a_per_kw2h=draw(st.floats(0.0, 0.01)),
                        cost_b_per_kwh=draw(st.floats(0.0, 0.03)),
                        energy_kwh=draw(st.floats(1.0, 20.0)),
                        soc_init_pu=draw(st.floats(0.0, 1.0)),
                    ),
                )
            )
        if draw(st.booleans()) and draw(st.booleans()):  # now and then, explicit bids too
            side = draw(st.sampled_from(["buy", "sell"]))
            prosumers[-1] = replace(
                prosumers[-1], bids=(BidBlock(side, draw(st.floats(0.0, 0.6)), draw(st.floats(0.1, 5.0))),)
            )
    return scenario(prosumers, periods=T, retail=retail, feed_in=feed_in)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_scenarios(), st.sampled_from(AUCTIONS))
def test_random_days_can_happen(s, mechanism):
    check_day(clear_day(s, mechanism))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_scenarios())
def test_the_welfare_clearing_bounds_random_auctions(s):
    if any(p.bids for p in s.prosumers):  # declared bids may trade what the true curves would not: fine,
        s = replace(s, prosumers=tuple(replace(p, bids=()) for p in s.prosumers))  # but this is about truth
    best = clear(s, replace(QUICK, mechanism="welfare")).summary["welfare"]
    for mech in AUCTIONS:
        w = clear(s, replace(QUICK, mechanism=mech)).summary["welfare"]
        assert w <= best + 1e-5 * (1 + abs(best)), mech


# --- the command line ---------------------------------------------------------------------------------


def test_cli_json_carries_the_common_scale(projects_dir, capsys):
    code = cli_main(
        [
            "clear",
            str(projects_dir / "ieee33-community.json"),
            "--mechanism",
            "uniform",
            "--no-audit",
            "--format",
            "json",
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("welfare", "declared_gains", "traded_kwh", "grid_import_kwh", "grid_export_kwh"):
        assert isinstance(data["summary"][key], float), key
    rows = data["agent_periods"]
    assert len(rows) == 49 * 24
    bat = [r for r in rows if r["agent"] == "bat7"]
    assert [r["period"] for r in bat] == list(range(24))
    assert all(0.0 <= r["soc_kwh"] <= 200.0 + 1e-9 for r in bat)
    assert sum(r["sold_kwh"] for r in bat) < 400  # it cannot sell 2,280 kWh out of 200
    home = next(r for r in rows if r["agent"] == "c2")
    assert {"bought_kwh", "sold_kwh", "grid_import_kwh", "grid_export_kwh"} <= set(home) and home["soc_kwh"] is None
