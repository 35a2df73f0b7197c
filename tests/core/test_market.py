"""core.market.clear on hand-worked cases, the truthful bids, and the properties audit."""

import json

import numpy as np
import pytest

from core.auction_day import order_book
from core.bids import State, fleet_arrays, period_bids
from core.cli import main as cli_main
from core.market import MarketSettings, clear
from core.mechanisms import OrderBook, uniform_price
from core.properties import audit, compare_mechanisms, shaded, true_utility
from core.scenario.generate import teaching_5bus
from core.scenario.model import Asset, FlexibleLoad, Prosumer

TEACH = teaching_5bus()


def by_agent(frame, column):
    return dict(zip(frame.agent, frame[column], strict=True))


def test_uniform_clears_the_chapters_example():
    r = clear(TEACH, MarketSettings(mechanism="uniform", audit=False))
    assert r.summary["price_per_kwh"] == pytest.approx(8.5)
    assert r.summary["traded_kwh"] == pytest.approx(2.0)
    pay = by_agent(r.agents, "payment")
    assert pay == pytest.approx({"B1": 8.5, "B2": 8.5, "B3": 0.0, "S1": -8.5, "S2": -8.5, "S3": 0.0})
    assert r.summary["platform_surplus"] == pytest.approx(0.0)
    assert r.curves.price == pytest.approx(8.5) and r.curves.traded_kwh == pytest.approx(2.0)
    assert r.curves.demand_price.tolist() == [12.0, 10.0, 8.0]
    assert r.curves.supply_agent == ["S1", "S2", "S3"]


def test_vcg_payments_and_deficit_by_hand():
    # W = (12 − 5) + (10 − 7) = 10. Without B1: 10−5, 8−7 → 6, so B1 pays 6 − (10 − 12) = 8;
    # without B2: 12−5, 8−7 → 8, B2 pays 8 − 0 = 8; without S1: 12−7, 10−9 → 6, S1 pays 6 − 15 = −9;
    # without S2: 12−5, 10−9 → 8, S2 pays 8 − 17 = −9. The platform: 8 + 8 − 9 − 9 = −2.
    r = clear(TEACH, MarketSettings(mechanism="vcg", audit=False))
    pay = by_agent(r.agents, "payment")
    assert [pay[a] for a in ("B1", "B2", "S1", "S2")] == pytest.approx([8.0, 8.0, -9.0, -9.0])
    assert r.summary["platform_surplus"] == pytest.approx(-2.0)


def test_the_properties_table_shows_the_trade_off():
    r = clear(TEACH, MarketSettings(mechanism="uniform"))
    table = r.comparison.set_index("mechanism")
    # VCG: efficient, IR, IC (no shade helps anyone) — and a deficit of 2
    assert table.loc["vcg", "efficiency"] == pytest.approx(1.0)
    assert table.loc["vcg", "max_ic_gain"] == pytest.approx(0.0, abs=1e-9)
    assert table.loc["vcg", "platform_surplus"] == pytest.approx(-2.0)
    assert not table.loc["vcg", "budget_balanced"]
    # pay-as-bid keeps the spread (12 + 10) − (5 + 7) = 10 and rewards shading
    assert table.loc["pay_as_bid", "platform_surplus"] == pytest.approx(10.0)
    assert table.loc["pay_as_bid", "max_ic_gain"] > 0
    # uniform price is budget balanced but not IC: B2, the marginal buyer, bids 8 instead of 10
    # (shade 0.2); it still trades (ahead of B3's 8 by block order), the interval becomes [8, 8]
    # and it pays 8 instead of 8.5: a gain of 0.5.
    assert table.loc["uniform", "platform_surplus"] == pytest.approx(0.0)
    assert table.loc["uniform", "max_ic_gain"] == pytest.approx(0.5)
    assert r.audit.mechanism == "uniform" and r.audit.ir
    row = r.audit.agents.set_index("agent").loc["B2"]
    assert row.ic_gain == pytest.approx(0.5) and row.best_shade == pytest.approx(0.2)


def test_welfare_clearing_of_the_teaching_curves():
    # linear costs 5, 7, 9 and values 12, 10, 8 (1 kW each): two trades; λ is any price in [8, 9]
    r = clear(TEACH, MarketSettings(mechanism="welfare", tatonnement=False))
    assert r.summary["traded_kwh"] == pytest.approx(2.0, abs=1e-5)
    # every price in [8, 9] supports the allocation (B3 at 8 does not buy, S3 at 9 does not sell); the
    # result says so and shows its middle, 8.5 — what the uniform auction's midpoint gives
    assert r.summary["price_lo_per_kwh"] == pytest.approx(8.0, abs=1e-5)
    assert r.summary["price_hi_per_kwh"] == pytest.approx(9.0, abs=1e-5)
    assert r.summary["price_per_kwh"] == pytest.approx(8.5, abs=1e-5)
    assert r.summary["welfare"] == pytest.approx(10.0, abs=1e-5)
    assert r.summary["ir_violations"] == 0


def test_every_period_of_the_default_day_clears(projects_dir):
    from core.scenario import load_project

    s = load_project(projects_dir / "ieee33-community.json")
    r = clear(s, MarketSettings(mechanism="welfare", period=12, audit=False, tatonnement=False))
    assert len(r.periods) == 24 and len(r.agents) == len(s.prosumers)
    p = r.periods.price_per_kwh.to_numpy()
    # λ stays within the outside option's band in every period
    assert np.all(p >= r.periods.feed_in_price_per_kwh - 1e-6)
    assert np.all(p <= r.periods.retail_price_per_kwh + 1e-6)
    # every agent does at least as well as with the grid alone
    assert r.agents.ir_ok.all()
    assert r.summary["max_trade_gap_kw"] < 0.05


def test_settings_are_checked():
    with pytest.raises(ValueError, match="unknown mechanism 'dutch'"):
        MarketSettings(mechanism="dutch")
    with pytest.raises(ValueError, match=r"k must be a number in \[0, 1\]"):
        MarketSettings(k=1.5)
    with pytest.raises(ValueError, match="outside the horizon"):
        clear(TEACH, MarketSettings(mechanism="uniform", period=3))


# --- truthful bids ------------------------------------------------------------


def flat(blocks):
    return [v for block in blocks for v in block]


def prosumer_blocks(p, s, t):
    """(buys, sells) as sorted (price, kWh) blocks of ``p`` alone in ``s``'s period ``t``, from its initial state."""
    from dataclasses import replace

    alone = replace(s, prosumers=(p,))
    fleet = fleet_arrays(alone)
    book = period_bids(fleet, t, State.initial(fleet)).book
    buys = sorted(zip(book.buy_price.tolist(), book.buy_qty.tolist(), strict=True), key=lambda b: -b[0])
    sells = sorted(zip(book.sell_price.tolist(), book.sell_qty.tolist(), strict=True))
    return buys, sells


def test_truthful_blocks_by_hand():
    s = TEACH
    gen = Prosumer("g", "1", (0.0,), asset=Asset("generator", 8.0, cost_a_per_kw2h=0.01, cost_b_per_kwh=5.0))
    buys, sells = prosumer_blocks(gen, s, 0)
    # 4 blocks of 2 kWh at the marginal cost of their middles, 1, 3, 5, 7 kW: 5 + 0.02·p
    assert buys == [] and flat(sells) == pytest.approx(flat([(5.02, 2.0), (5.06, 2.0), (5.10, 2.0), (5.14, 2.0)]))
    flex = Prosumer("f", "1", (3.0,), flexible=FlexibleLoad((8.0,), 0.5, 30.0))
    buys, _ = prosumer_blocks(flex, s, 0)
    # fixed 3 kWh at retail 25; flexible blocks of 2 kWh worth 30 − 0.5·(f₁ + f₂): 29, 27, 25, 23, capped at 25
    # — and the block [4, 6] split where the marginal value 30 − f crosses retail, at f = 5: 25.5 → 25 and 24.5
    assert flat(buys) == pytest.approx(
        flat([(25.0, 3.0), (25.0, 2.0), (25.0, 2.0), (25.0, 1.0), (24.5, 1.0), (23.0, 2.0)])
    )
    pv = Prosumer("p", "1", (0.0,), asset=Asset("pv", 4.0, efficiency=0.5))
    _, sells = prosumer_blocks(pv, s, 0)
    # free energy is still worth the feed-in price (4): η·P^max = 2 kWh in 4 blocks at 4
    assert flat(sells) == pytest.approx(flat([(4.0, 0.5)] * 4))


def test_order_book_lists_every_prosumer():
    book = order_book(TEACH, 0)
    assert book.agents == ("B1", "B2", "B3", "S1", "S2", "S3")
    assert sorted(book.buy_price.tolist()) == [8.0, 10.0, 12.0]


# --- the audit on its own ---------------------------------------------------------


def test_shading_and_true_utility():
    book = OrderBook.from_blocks([("b", 10.0, 1.0)], [("s", 4.0, 1.0)])
    lie = shaded(book, 0, 0.2)
    assert lie.buy_price.tolist() == [8.0] and lie.sell_price.tolist() == [4.0]
    a = audit(book, "uniform")
    # one pair: the walrasian interval is [4, 10], price 7; utilities 3 and 3
    assert true_utility(book, uniform_price(book)) == pytest.approx([3.0, 3.0])
    # the buyer gains by bidding lower (price falls with its bid): shading 0.5 → bid 5, price 4.5, gain 2.5
    assert a.agents.set_index("agent").loc["b", "ic_gain"] == pytest.approx(2.5)


def test_compare_mechanisms_has_one_row_each():
    table = compare_mechanisms(order_book(TEACH, 0))
    assert table.mechanism.tolist() == ["uniform", "pay_as_bid", "vcg", "trade_reduction"]
    assert table.individually_rational.all()


# --- command line -----------------------------------------------------------------


def test_cli_clear_prints_the_auction(tmp_path, projects_dir, capsys):
    code = cli_main(["clear", str(projects_dir / "teaching-5bus.json"), "--mechanism", "uniform", "--format", "json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["price_per_kwh"] == 8.5
    assert {row["mechanism"] for row in data["properties"]} == {"uniform", "pay_as_bid", "vcg", "trade_reduction"}


def test_cli_clear_rejects_an_unknown_mechanism(projects_dir, capsys):
    assert cli_main(["clear", str(projects_dir / "teaching-5bus.json"), "--mechanism", "dutch"]) == 2
    assert "'dutch': choose one of welfare, uniform, pay-as-bid, vcg, trade-reduction" in capsys.readouterr().err


# --- with the feeder ----------------------------------------------------------------


def test_network_clearing_through_clear(projects_dir):
    from core.scenario import load_project

    s = load_project(projects_dir / "ieee33-constrained.json")
    r = clear(s, MarketSettings(network="lindistflow", period=19, audit=False, tatonnement=False))
    assert len(r.buses) == 33 * 24 and len(r.lines) == 32 * 24
    at19 = r.buses[r.buses.period == 19].set_index("bus")
    parts = at19.energy_per_kwh + at19.loss_per_kwh + at19.congestion_per_kwh + at19.voltage_per_kwh
    assert np.max(np.abs(parts - at19.dlmp_per_kwh)) < 1e-6
    assert r.summary["largest_dlmp_component"] == "voltage"
    assert at19.loc["18", "v_pu"] == pytest.approx(0.934, abs=1e-6)
    # the energy component is the wholesale price at the substation (the default outside option with a network)
    assert r.summary["price_per_kwh"] == pytest.approx(s.feeder.substation.wholesale_price_per_kwh[19], abs=1e-6)
    # prosumers pay the DLMP of their own bus for everything they take (from peers or, through the platform,
    # the grid)
    tr = r.agent_periods[(r.agent_periods.agent == "c18") & (r.agent_periods.period == 19)].iloc[0]
    taken = tr.bought_kwh + tr.grid_import_kwh - tr.sold_kwh - tr.grid_export_kwh
    assert taken > 0 and tr.payment == pytest.approx(at19.loc["18", "dlmp_per_kwh"] * taken)


def test_ac_checked_clearing_keeps_the_ac_voltages_within_limits(projects_dir):
    from core.scenario import load_project

    s = load_project(projects_dir / "ieee33-constrained.json")
    plain = clear(s, MarketSettings(network="lindistflow", period=19, audit=False, tatonnement=False))
    checked = clear(s, MarketSettings(network="ac", audit=False, tatonnement=False))
    # LinDistFlow ignores losses and overestimates voltages: at its optimum the AC voltage at bus 18 dips
    # below the 0.934 floor; corrected by the AC power flow, the AC voltages keep it
    assert checked.summary["ac_max_limit_violation_pu"] <= 1e-4
    assert checked.summary["ac_v_min_pu"] >= 0.934 - 1e-4
    assert plain.summary["v_min_pu"] == pytest.approx(0.934, abs=1e-6)
    assert "v_pu_ac" in checked.buses.columns


def test_network_with_an_auction_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="applies to the welfare clearing"):
        MarketSettings(mechanism="uniform", network="lindistflow")


def test_vcg_ic_search_shortcut_matches_running_vcg():
    from core.mechanisms import vcg

    rng = np.random.default_rng(7)
    buys = [(f"b{i}", float(rng.uniform(5, 15)), float(rng.uniform(0.5, 2))) for i in range(6)]
    sells = [(f"s{i}", float(rng.uniform(3, 12)), float(rng.uniform(0.5, 2))) for i in range(6)]
    book = OrderBook.from_blocks(buys, sells)
    fast = audit(book, "vcg").agents.ic_gain.to_numpy()
    slow = audit(book, lambda b: vcg(b)).agents.ic_gain.to_numpy()  # a callable: no shortcut
    assert fast == pytest.approx(slow, abs=1e-9)
    assert np.all(fast <= 1e-9)  # and VCG is IC: no shade pays


def test_audit_of_a_large_book_searches_the_most_active_agents(projects_dir):
    from core.scenario import load_project

    s = load_project(projects_dir / "synthetic-1000bus.json")
    book = order_book(s, 19)
    a = audit(book, "uniform", max_agents=5)
    assert a.ic_agents_searched == 5
    volume = np.bincount(book.buy_agent, weights=book.buy_qty, minlength=len(book.agents)) + np.bincount(
        book.sell_agent, weights=book.sell_qty, minlength=len(book.agents)
    )
    searched = set(np.argsort(-volume)[:5])
    assert set(np.flatnonzero(a.agents.ic_gain.to_numpy() > 0)) <= searched


def test_auction_trades_become_loss_neutral_bilateral_pairs():
    r = clear(TEACH, MarketSettings(mechanism="uniform", audit=False))
    pairs = r.bilateral
    # the chapter's matching: 12 with 5 (B1 ← S1) and 10 with 7 (B2 ← S2), 1 kWh each
    assert list(zip(pairs.seller, pairs.buyer, strict=True)) == [("S1", "B1"), ("S2", "B2")]
    assert pairs.kwh.tolist() == pytest.approx([1.0, 1.0])
    # S1's PV is the only injection in the file, so the feeder's losses barely move: MLFs within 0.5 % of 1
    assert np.allclose(pairs.mlf_seller, 1.0, atol=5e-3) and np.allclose(pairs.mlf_buyer, 1.0, atol=5e-3)
    delivered = (pairs.delivered_kwh * pairs.mlf_buyer).to_numpy()
    assert (pairs.kwh * pairs.mlf_seller).to_numpy() == pytest.approx(delivered)


def test_loss_neutral_pairs_on_a_loaded_feeder(projects_dir):
    from core.scenario import load_project

    s = load_project(projects_dir / "ieee33-community.json")
    r = clear(s, MarketSettings(mechanism="uniform", period=19, audit=False))
    pairs = r.bilateral
    assert len(pairs) > 0 and (pairs.mlf_buyer > 1.0).any()
    # dP_i·MLF_i = dP_j·MLF_j for every pair
    lhs = (pairs.kwh * pairs.mlf_seller).to_numpy()
    assert lhs == pytest.approx((pairs.delivered_kwh * pairs.mlf_buyer).to_numpy())
    assert pairs.kwh.sum() == pytest.approx(r.periods.traded_kwh[19])
    assert r.summary["bilateral_loss_kwh"] == pytest.approx(pairs.loss_kwh.sum())


# --- market power through clear() and the CLI -------------------------------------------------


def test_market_power_of_the_teaching_auction():
    r = clear(TEACH, MarketSettings(mechanism="uniform", audit=False))
    m = r.market_power.set_index("agent")
    # S1 and S2 sell 1 kWh each: shares ½, HHI ¼ + ¼ = 0.5 (5,000 points); S1's Lerner (8.5 − 5)/8.5
    assert r.market_power_summary["hhi"] == pytest.approx(0.5)
    assert r.market_power_summary["hhi_points"] == pytest.approx(5000.0)
    assert r.market_power_summary["band"] == "highly concentrated"
    assert m.loc["S1", "lerner_observed"] == pytest.approx(3.5 / 8.5)


def test_cli_nash_finds_the_teaching_equilibrium(projects_dir, capsys):
    code = cli_main(["nash", str(projects_dir / "teaching-5bus.json"), "--format", "json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    # S1 marks its ask of 5 up to 9 (m = 0.8), tying S3's 9: the price rises from 8.5 to 9, no trade is lost
    assert data["converged"] and data["price"] == pytest.approx(9.0)
    assert data["welfare_lost"] == pytest.approx(0.0)
    assert data["max_deviation_gain"] <= 1e-6


def test_cli_clear_market_power_flag(projects_dir, capsys):
    assert (
        cli_main(
            [
                "clear",
                str(projects_dir / "teaching-5bus.json"),
                "--mechanism",
                "uniform",
                "--market-power",
                "--no-audit",
            ]
        )
        == 0
    )
    assert "HHI 0.5000 (5,000 points, highly concentrated)" in capsys.readouterr().out


# --- fairness through clear() ---------------------------------------------------------------


def test_fairness_rules_through_clear(projects_dir):
    from core.scenario import load_project

    s = load_project(projects_dir / "ieee33-community.json")
    r = clear(s, MarketSettings(fairness="maxmin", audit=False, tatonnement=False, market_power=False))
    f = r.fairness
    # transfers within the tariff band: the worst-off rises, the total gain falls a little, the budget balances
    assert r.fairness_summary["worst_off"] > f.utility_efficient.min() + 1.0
    assert 0.0 <= r.fairness_summary["price_of_fairness"] < 0.05
    assert r.fairness_summary["budget_balanced"]
    assert r.envy.shape == (len(s.prosumers), len(s.prosumers))
    table = r.fairness_comparison.set_index("rule")
    assert table.loc["efficiency", "envious_pairs"] == 0  # competitive prices: nobody prefers another's bundle
    assert table.loc["maxmin", "jain"] > table.loc["efficiency", "jain"]


def test_fairness_needs_the_welfare_clearing():
    with pytest.raises(ValueError, match="fairness rules allocate"):
        MarketSettings(mechanism="vcg", fairness="proportional")
    with pytest.raises(ValueError, match="unknown fairness rule"):
        MarketSettings(fairness="utilitarian")


def test_envy_under_dlmps_is_flagged_as_location(projects_dir):
    from core.scenario import load_project

    s = load_project(projects_dir / "ieee33-constrained.json")
    r = clear(s, MarketSettings(network="lindistflow", period=19, audit=False, tatonnement=False))
    f = r.fairness_summary
    assert f["envious_pairs"] >= f["location_pairs"] > 0


def test_moving_the_period_reuses_the_network_clearing(projects_dir):
    from core.market import ClearingCache
    from core.scenario import load_project

    cache = ClearingCache()  # its own: earlier tests may have cleared this very scenario in the process's cache
    s = load_project(projects_dir / "ieee33-constrained.json")
    first = clear(s, MarketSettings(network="lindistflow", period=19, audit=False, tatonnement=False), cache=cache)
    again = clear(s, MarketSettings(network="lindistflow", period=13, audit=False, tatonnement=False), cache=cache)
    assert not first.timings_s["network_reused"] and again.timings_s["network_reused"]
    assert again.summary["largest_dlmp_component"] == "congestion"
    pd_ = __import__("pandas")
    pd_.testing.assert_frame_equal(first.buses, again.buses)
    # an edit is a new scenario: solved again
    edited = s.with_prosumer(0, __import__("dataclasses").replace(s.prosumers[0], power_factor=0.9))
    third = clear(edited, MarketSettings(network="lindistflow", period=13, audit=False, tatonnement=False), cache=cache)
    assert not third.timings_s["network_reused"]
    # a reset cache forgets the day
    cache.reset()
    fourth = clear(
        edited, MarketSettings(network="lindistflow", period=13, audit=False, tatonnement=False), cache=cache
    )
    assert not fourth.timings_s["network_reused"]


def test_moving_the_period_reuses_the_solved_day(projects_dir):
    from core.market import ClearingCache
    from core.scenario import load_project

    cache = ClearingCache()
    s = load_project(projects_dir / "ieee33-community.json")
    first = clear(s, MarketSettings(period=0, audit=False, tatonnement=False, fairness_audit=False), cache=cache)
    moved = clear(s, MarketSettings(period=12, audit=False, tatonnement=False, fairness_audit=False), cache=cache)
    assert not first.timings_s.get("day_reused") and moved.timings_s["day_reused"]
    # the same day, seen at noon: its price and its curves, not the midnight ones
    assert moved.summary["price_per_kwh"] == pytest.approx(first.periods.price_per_kwh[12])
    assert moved.curves.period == 12 and moved.period == 12
    fresh = clear(
        s.with_prosumer(0, __import__("dataclasses").replace(s.prosumers[0], power_factor=0.9)),
        MarketSettings(period=12, audit=False, tatonnement=False, fairness_audit=False),
    )
    assert not fresh.timings_s.get("day_reused")
