"""Clearing mechanisms ("Market Design I"): numbers worked by hand, properties on random books."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from core import mechanisms as mech
from core.errors import ScenarioError
from core.mechanisms import (
    MECHANISMS,
    OrderBook,
    efficient_allocation,
    pay_as_bid,
    supply_demand_curves,
    trade_reduction,
    uniform_price,
    vcg,
)
from core.scenario.model import BidBlock, Prosumer

TOL = 1e-9


def chapter_book() -> OrderBook:
    """The chapter's example: bids {12, 10, 8}, asks {5, 7, 9}, 1 kWh each."""
    return OrderBook.from_blocks(
        buys=[("B1", 12.0, 1.0), ("B2", 10.0, 1.0), ("B3", 8.0, 1.0)],
        sells=[("S1", 5.0, 1.0), ("S2", 7.0, 1.0), ("S3", 9.0, 1.0)],
    )


def divisible_book() -> OrderBook:
    """Demand 0–3 kWh @20 (A), 3–7 @15 (B), 7–9 @10 (C); supply 0–5 @8 (X), 5–9 @14 (Y), 9–12 @18 (Z).

    Bids ≥ asks up to 7 kWh (15 ≥ 14); from 7 on 10 < 14. So Q* = 7: A 3, B 4, C 0;
    X 5, Y 2 of its 4 kWh (partly filled), Z 0.
    """
    return OrderBook.from_blocks(
        buys=[("A", 20.0, 3.0), ("B", 15.0, 4.0), ("C", 10.0, 2.0)],
        sells=[("X", 8.0, 5.0), ("Y", 14.0, 4.0), ("Z", 18.0, 3.0)],
    )


def frame(outcome, book):
    return outcome.agent_frame(book).set_index("agent")


# ---------------------------------------------------------------------------
# the chapter's example
# ---------------------------------------------------------------------------


def test_chapter_example_uniform_midpoint():
    book = chapter_book()
    out = uniform_price(book)
    assert out.mechanism == "uniform"
    assert out.traded_qty == pytest.approx(2.0)
    assert out.price == pytest.approx(8.5)
    np.testing.assert_allclose(out.buy_fill, [1, 1, 0])
    np.testing.assert_allclose(out.sell_fill, [1, 1, 0])
    f = frame(out, book)
    # buyers pay 8.5 per kWh, sellers receive 8.5; the unmatched pay nothing
    np.testing.assert_allclose(f.loc[["B1", "B2", "B3", "S1", "S2", "S3"], "payment"], [8.5, 8.5, 0, -8.5, -8.5, 0])
    # surplus 12 − 8.5, 10 − 8.5, 8.5 − 5, 8.5 − 7
    np.testing.assert_allclose(f.loc[["B1", "B2", "S1", "S2"], "declared_surplus"], [3.5, 1.5, 3.5, 1.5])
    assert out.declared_welfare == pytest.approx(10.0)  # (12 − 5) + (10 − 7)
    assert out.platform_surplus == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("interval", "k", "bounds", "price"),
    [
        # walrasian: lo = max(marginal ask 7, highest rejected bid 8) = 8,
        #            hi = min(marginal bid 10, lowest rejected ask 9) = 9
        ("walrasian", 0.5, (8.0, 9.0), 8.5),
        ("walrasian", 0.0, (8.0, 9.0), 8.0),
        ("walrasian", 1.0, (8.0, 9.0), 9.0),
        # the chapter's text: between the marginal ask 7 and the marginal bid 10
        ("marginal_pair", 0.5, (7.0, 10.0), 8.5),
        ("marginal_pair", 0.0, (7.0, 10.0), 7.0),
        ("marginal_pair", 1.0, (7.0, 10.0), 10.0),
        ("marginal_pair", 0.25, (7.0, 10.0), 7.75),
    ],
)
def test_chapter_example_interval_rules(interval, k, bounds, price):
    out = uniform_price(chapter_book(), k=k, interval=interval)
    assert out.price_interval == pytest.approx(bounds)
    assert out.price == pytest.approx(price)
    assert out.traded_qty == pytest.approx(2.0)


def test_chapter_example_marginal_blocks():
    m = efficient_allocation(chapter_book()).marginal
    assert (m.buy_block, m.sell_block, m.next_buy_block, m.next_sell_block) == (1, 1, 2, 2)
    assert (m.bid_price, m.ask_price, m.next_bid_price, m.next_ask_price) == (10.0, 7.0, 8.0, 9.0)
    assert not m.buy_partial and not m.sell_partial
    assert m.welfare == pytest.approx(10.0)


# ---------------------------------------------------------------------------
# divisible blocks: a partly filled block pins the Walrasian price
# ---------------------------------------------------------------------------


def test_divisible_partial_sell_block():
    book = divisible_book()
    alloc = efficient_allocation(book)
    np.testing.assert_allclose(alloc.buy_fill, [3, 4, 0])
    np.testing.assert_allclose(alloc.sell_fill, [5, 2, 0])
    m = alloc.marginal
    assert m.sell_partial and not m.buy_partial
    assert m.sell_block == m.next_sell_block == 1
    # lo = max(filled asks 8, 14; open bid 10) = 14; hi = min(filled bids 20, 15; open asks 14 (Y's rest), 18) = 14
    assert m.walrasian == (14.0, 14.0)
    assert m.marginal_pair == (14.0, 15.0)
    # 3·20 + 4·15 − 5·8 − 2·14 = 60 + 60 − 40 − 28
    assert m.welfare == pytest.approx(52.0)

    for k in (0.0, 0.5, 1.0):
        out = uniform_price(book, k=k)
        assert out.price == pytest.approx(14.0)
    out = uniform_price(book)
    f = frame(out, book)
    # A 3·14, B 4·14, X receives 5·14, Y receives 2·14
    np.testing.assert_allclose(f.loc[["A", "B", "C", "X", "Y", "Z"], "payment"], [42, 56, 0, -70, -28, 0])
    # A (20−14)·3 = 18, B (15−14)·4 = 4, X (14−8)·5 = 30, Y indifferent 0
    np.testing.assert_allclose(f.loc[["A", "B", "X", "Y"], "declared_surplus"], [18, 4, 30, 0], atol=1e-12)
    # the chapter's rule would charge (14 + 15)/2
    assert uniform_price(book, interval="marginal_pair").price == pytest.approx(14.5)


def test_divisible_partial_buy_block():
    # demand 0–3 @20 (A), 3–7 @12 (B); supply 0–2 @5 (X), 2–5 @9 (Y), 5–9 @15 (Z)
    # (3, 5]: 12 ≥ 9 trades; (5, 7]: 12 < 15 does not. Q* = 5 with B filled 2 of 4.
    book = OrderBook.from_blocks(
        buys=[("A", 20.0, 3.0), ("B", 12.0, 4.0)],
        sells=[("X", 5.0, 2.0), ("Y", 9.0, 3.0), ("Z", 15.0, 4.0)],
    )
    out = uniform_price(book, k=0.0)
    np.testing.assert_allclose(out.buy_fill, [3, 2])
    np.testing.assert_allclose(out.sell_fill, [2, 3, 0])
    # lo = max(filled asks 9, open bid 12 (B's rest)) = 12; hi = min(filled bids 12, open ask 15) = 12
    assert out.price_interval == (12.0, 12.0)
    assert out.price == 12.0
    assert "partly filled" in out.notes


def test_ties_are_broken_by_block_index():
    # two bids at 10 for 1 kWh each, 1.5 kWh offered at 4: block 0 fills first, block 1 gets the half
    book = OrderBook.from_blocks(buys=[("A", 10.0, 1.0), ("B", 10.0, 1.0)], sells=[("X", 4.0, 1.5)])
    alloc = efficient_allocation(book)
    np.testing.assert_allclose(alloc.buy_fill, [1.0, 0.5])
    assert alloc.marginal.buy_block == 1 and alloc.marginal.buy_partial
    assert uniform_price(book).price == 10.0  # B is partly filled


def test_float_rounding_at_a_shared_breakpoint():
    # demand 0–0.1 @10 (A), 0.1–0.3 @9 (B), then @5 (C); supply 0–0.3 @4 (X), then @8 (Y).
    # Both curves break at 0.3 kWh, but 0.1 + 0.2 = 0.30000000000000004 in floats: without a
    # tolerance Y would get a 5.5e-17 kWh fill and pin the price to 8. Exactly: Q* = 0.3,
    # lo = max(ask 4, open bid 5) = 5, hi = min(bid 9, open ask 8) = 8, midpoint 6.5.
    book = OrderBook.from_blocks(
        buys=[("A", 10.0, 0.1), ("B", 9.0, 0.2), ("C", 5.0, 1.0)],
        sells=[("X", 4.0, 0.3), ("Y", 8.0, 1.0)],
    )
    out = uniform_price(book)
    np.testing.assert_array_equal(out.sell_fill, [0.3, 0.0])
    assert out.price_interval == (5.0, 8.0)
    assert out.price == pytest.approx(6.5)


def test_nothing_clears():
    book = OrderBook.from_blocks(buys=[("A", 5.0, 1.0)], sells=[("X", 6.0, 1.0)])
    for name, fn in MECHANISMS.items():
        out = fn(book)
        assert out.mechanism == name
        assert out.price is None and out.price_interval is None
        assert out.traded_qty == 0.0 and out.platform_surplus == 0.0
        np.testing.assert_array_equal(out.buy_fill, [0.0])
        np.testing.assert_array_equal(out.agent_payment, [0.0, 0.0])
        assert "nothing clears" in out.notes
    one_sided = OrderBook.from_blocks(buys=[("A", 5.0, 1.0)], sells=[])
    assert uniform_price(one_sided).price is None
    assert "no sell blocks" in uniform_price(one_sided).notes


def test_a_bid_equal_to_an_ask_trades():
    # the chapter matches "as long as the buyer's bid is greater than or equal to the seller's ask"
    out = uniform_price(OrderBook.from_blocks(buys=[("A", 7.0, 2.0)], sells=[("X", 7.0, 1.0)]))
    assert out.traded_qty == pytest.approx(1.0)
    assert out.price == 7.0


# ---------------------------------------------------------------------------
# pay-as-bid
# ---------------------------------------------------------------------------


def test_pay_as_bid_chapter_example():
    book = chapter_book()
    out = pay_as_bid(book)
    f = frame(out, book)
    # B1 pays its bid 12, B2 its bid 10; S1 receives its ask 5, S2 its ask 7
    np.testing.assert_allclose(f.loc[["B1", "B2", "B3", "S1", "S2", "S3"], "payment"], [12, 10, 0, -5, -7, 0])
    assert out.platform_surplus == pytest.approx(10.0)  # 12 + 10 − 5 − 7: the platform keeps the spread
    np.testing.assert_allclose(f["declared_surplus"], 0.0)
    assert out.price is None


def test_pay_as_bid_divisible():
    out = pay_as_bid(divisible_book())
    # A 3·20, B 4·15, X −5·8, Y −2·14
    np.testing.assert_allclose(out.agent_payment, [60, 60, 0, -40, -28, 0])
    assert out.platform_surplus == pytest.approx(52.0)


# ---------------------------------------------------------------------------
# VCG
# ---------------------------------------------------------------------------


def test_vcg_chapter_example_runs_a_deficit():
    # W = (12 − 5) + (10 − 7) = 10.
    # without B1: bids {10, 8} vs asks {5, 7, 9}: (10−5) + (8−7) = 6; v_B1 = 12; t = 6 − (10 − 12) = 8
    # without B2: bids {12, 8}: (12−5) + (8−7) = 8; v_B2 = 10; t = 8 − (10 − 10) = 8
    # without S1: asks {7, 9}: (12−7) + (10−9) = 6; v_S1 = −5; t = 6 − (10 + 5) = −9 (receives 9)
    # without S2: asks {5, 9}: (12−5) + (10−9) = 8; v_S2 = −7; t = 8 − (10 + 7) = −9 (receives 9)
    # B3, S3 trade nothing: t = 0. Platform: 8 + 8 − 9 − 9 = −2, a deficit of 2.
    book = chapter_book()
    out = vcg(book)
    f = frame(out, book)
    np.testing.assert_allclose(f.loc[["B1", "B2", "B3", "S1", "S2", "S3"], "payment"], [8, 8, 0, -9, -9, 0])
    assert out.platform_surplus == pytest.approx(-2.0)
    assert "deficit of 2" in out.notes
    # utilities W − W_{−i}: 10 − 6, 10 − 8, 10 − 6, 10 − 8
    np.testing.assert_allclose(f.loc[["B1", "B2", "S1", "S2"], "declared_surplus"], [4, 2, 4, 2])
    assert out.declared_welfare == pytest.approx(10.0)


def test_vcg_divisible_example():
    # W = 52 (see divisible_book).
    # without A: B 4@15, C 2@10 vs X 5@8, Y 4@14 → B 4, C 1, X 5: 60 + 10 − 40 = 30; t_A = 30 − (52 − 60) = 38
    # without B: A 3@20, C 2@10 vs X 5@8 → A 3, C 2, X 5: 60 + 20 − 40 = 40;           t_B = 40 − (52 − 60) = 48
    # without X: A 3, B 1 vs Y 4@14 (next ask 18 > 15): 60 + 15 − 56 = 19;            t_X = 19 − (52 + 40) = −73
    # without Y: A 3, B 2 vs X 5@8 (next ask 18 > 15): 60 + 30 − 40 = 50;             t_Y = 50 − (52 + 28) = −30
    # platform 38 + 48 − 73 − 30 = −17
    out = vcg(divisible_book())
    np.testing.assert_allclose(out.agent_payment, [38, 48, 0, -73, -30, 0])
    assert out.platform_surplus == pytest.approx(-17.0)


def test_vcg_agent_on_both_sides():
    # A bids 10, M bids 6 and asks 2, S asks 8 (1 kWh each). Efficient: A buys M's kWh, W = 10 − 2 = 8.
    # v_M = −2 (its bid is not filled). Without M: A 10 vs S 8 → W = 2; t_M = 2 − (8 + 2) = −8.
    # Without A: M's bid 6 meets M's ask 2 → W = 4; t_A = 4 − (8 − 10) = 6. Platform 6 − 8 = −2.
    book = OrderBook.from_blocks(buys=[("A", 10.0, 1.0), ("M", 6.0, 1.0)], sells=[("M", 2.0, 1.0), ("S", 8.0, 1.0)])
    out = vcg(book)
    f = frame(out, book)
    np.testing.assert_allclose(f.loc[["A", "M", "S"], "payment"], [6, -8, 0])
    np.testing.assert_allclose(f.loc[["A", "M"], "declared_surplus"], [4, 6])  # W − W_{−i}: 8 − 4, 8 − 2


# ---------------------------------------------------------------------------
# trade reduction
# ---------------------------------------------------------------------------


def test_trade_reduction_keeps_all_trades_when_p0_is_inside():
    # b_k = 10, a_k = 7, b_{k+1} = 8, a_{k+1} = 9: p0 = 8.5 ∈ [7, 10]
    book = chapter_book()
    out = trade_reduction(book)
    assert out.price == pytest.approx(8.5)
    assert out.traded_qty == pytest.approx(2.0)
    np.testing.assert_allclose(out.agent_payment, [8.5, 8.5, 0, -8.5, -8.5, 0])
    assert out.platform_surplus == pytest.approx(0.0)
    assert "p0" in out.notes and "all 2 kWh" in out.notes


def test_trade_reduction_pure_drops_the_marginal_pair():
    # drop B2 (10) and S2 (7): B1 buys 1 kWh from S1, paying 10; S1 receives 7; the platform keeps 3
    out = trade_reduction(chapter_book(), variant="pure")
    np.testing.assert_allclose(out.buy_fill, [1, 0, 0])
    np.testing.assert_allclose(out.sell_fill, [1, 0, 0])
    np.testing.assert_allclose(out.agent_payment, [10, 0, 0, -7, 0, 0])
    assert out.platform_surplus == pytest.approx(3.0)
    assert out.declared_welfare == pytest.approx(7.0)
    assert out.price is None


def test_trade_reduction_drops_when_p0_is_outside():
    # bids A 4@20, D 2@18, B 2@16, C 3@3; asks X 1@2, V 2@4, Y 4@6, Z 5@30.
    # Bids ≥ 16 total 8 kWh, asks ≤ 6 total 7 kWh, next ask 30: Q* = 7, B (16) partly filled (1 of 2).
    # b_k = 16 = b_{k+1} (B's rest), a_k = 6 (Y), a_{k+1} = 30 (Z): p0 = (16 + 30)/2 = 23 > 16 → drop B and Y.
    # Remaining bids A 4 + D 2 = 6 kWh, asks X 1 + V 2 = 3 kWh: 3 kWh trade, buyers rationed ×½ (A 2, D 1).
    # Buyers pay b_k = 16: A 32, D 16; sellers receive a_k = 6: X 6, V 12; platform (16 − 6)·3 = 30.
    book = OrderBook.from_blocks(
        buys=[("A", 20.0, 4.0), ("D", 18.0, 2.0), ("B", 16.0, 2.0), ("C", 3.0, 3.0)],
        sells=[("X", 2.0, 1.0), ("V", 4.0, 2.0), ("Y", 6.0, 4.0), ("Z", 30.0, 5.0)],
    )
    eff = efficient_allocation(book)
    np.testing.assert_allclose(eff.buy_fill, [4, 2, 1, 0])
    assert eff.marginal.buy_partial
    assert eff.marginal.welfare == pytest.approx(98.0)  # 80 + 36 + 16 − 2 − 8 − 24

    out = trade_reduction(book)
    np.testing.assert_allclose(out.buy_fill, [2, 1, 0, 0])
    np.testing.assert_allclose(out.sell_fill, [1, 2, 0, 0])
    f = frame(out, book)
    np.testing.assert_allclose(
        f.loc[["A", "D", "B", "C", "X", "V", "Y", "Z"], "payment"], [32, 16, 0, 0, -6, -12, 0, 0]
    )
    assert out.platform_surplus == pytest.approx(30.0)
    assert out.declared_welfare == pytest.approx(48.0)  # 2·20 + 18 − 2 − 2·4
    # A 2·20 − 32, D 18 − 16, X 6 − 2, V 12 − 8
    np.testing.assert_allclose(f.loc[["A", "D", "X", "V"], "declared_surplus"], [8, 2, 4, 4])
    assert "p0 = 23" in out.notes and "dropped" in out.notes and "buyers rationed" in out.notes
    assert out.price is None


def test_trade_reduction_without_a_rejected_block_drops():
    # every bid is accepted: b_{k+1} does not exist, so p0 is undefined and the pair (A, X) is dropped
    book = OrderBook.from_blocks(buys=[("A", 10.0, 1.0)], sells=[("X", 5.0, 1.0), ("Y", 6.0, 1.0)])
    out = trade_reduction(book)
    assert out.traded_qty == 0.0
    assert "no rejected buy block" in out.notes


# ---------------------------------------------------------------------------
# curves
# ---------------------------------------------------------------------------


def test_supply_demand_curves_by_hand():
    book = OrderBook.from_blocks(
        buys=[("A", 10.0, 1.0), ("B", 12.0, 2.0), ("C", 10.0, 0.5)],
        sells=[("X", 7.0, 1.0), ("Y", 3.0, 2.0)],
    )
    c = supply_demand_curves(book)
    np.testing.assert_allclose(c.demand_q, [0, 2, 3, 3.5])  # B 2 @12, then the tie at 10: A (block 0) before C
    np.testing.assert_allclose(c.demand_p, [12, 10, 10])
    np.testing.assert_array_equal(c.demand_block_index, [1, 0, 2])
    np.testing.assert_allclose(c.supply_q, [0, 2, 3])
    np.testing.assert_allclose(c.supply_p, [3, 7])
    np.testing.assert_array_equal(c.supply_block_index, [1, 0])


# ---------------------------------------------------------------------------
# input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("buys", "sells", "words"),
    [
        ([("A", float("nan"), 1.0)], [], ("buy block 0", "price", "finite")),
        ([("A", 1.0, 1.0)], [("X", 1.0, 1.0), ("Y", float("inf"), 1.0)], ("sell block 1", "price")),
        ([("A", 1.0, 0.0)], [], ("buy block 0", "quantity", "positive")),
        ([], [("X", 1.0, -2.0)], ("sell block 0", "quantity")),
        ([("A", 1.0, float("inf"))], [], ("buy block 0", "quantity")),
        ([("A", "12", 1.0)], [], ("buy block 0", "price", "number")),
        ([("A", 1.0)], [], ("buy block 0", "(agent, price, qty)")),
        ([], [("", 1.0, 1.0)], ("sell block 0", "agent")),
    ],
)
def test_bad_blocks_name_side_and_index(buys, sells, words):
    with pytest.raises(ValueError) as err:
        OrderBook.from_blocks(buys, sells)
    assert isinstance(err.value, ScenarioError)
    for w in words:
        assert w in str(err.value)


def test_bad_arrays():
    ok = dict(
        buy_price=[1.0, 2.0],
        buy_qty=[1.0, 1.0],
        buy_agent=[0, 1],
        sell_price=[1.0],
        sell_qty=[1.0],
        sell_agent=[0],
        agents=("a", "b"),
    )
    OrderBook(**ok)
    with pytest.raises(ValueError, match=r"buy side: .*equal lengths, got 2, 1 and 2"):
        OrderBook(**{**ok, "buy_qty": [1.0]})
    with pytest.raises(ValueError, match=r"sell block 0: the agent code must be in 0…1, got 2"):
        OrderBook(**{**ok, "sell_agent": [2]})
    with pytest.raises(ValueError, match=r"duplicates agent 0"):
        OrderBook(**{**ok, "agents": ("a", "a")})
    with pytest.raises(ValueError, match=r"whole-number agent codes"):
        OrderBook(**{**ok, "buy_agent": [0.5, 1.0]})
    with pytest.raises(ValueError, match=r"one-dimensional"):
        OrderBook(**{**ok, "sell_price": [[1.0]]})
    book = OrderBook(**ok)
    assert not book.buy_price.flags.writeable
    with pytest.raises(ValueError, match=r"agent code"):
        book.without_agent(5)


def test_bad_options():
    book = chapter_book()
    with pytest.raises(ValueError, match="k must be"):
        uniform_price(book, k=1.5)
    with pytest.raises(ValueError, match="interval must be"):
        uniform_price(book, interval="midpoint")
    with pytest.raises(ValueError, match="variant must be"):
        trade_reduction(book, variant="huang")
    other = OrderBook.from_blocks([("A", 1.0, 1.0)], [])
    with pytest.raises(ValueError, match="not the one"):
        uniform_price(book).agent_frame(other)


def test_without_agent_keeps_codes():
    book = chapter_book().without_agent(1)  # B2
    assert book.agents == chapter_book().agents
    np.testing.assert_array_equal(book.buy_price, [12.0, 8.0])
    np.testing.assert_array_equal(book.buy_agent, [0, 2])


def test_from_prosumers_takes_the_period_blocks():
    prosumers = [
        Prosumer("p1", "1", (1.0, 1.0), bids=(BidBlock("buy", 12.0, 2.0), BidBlock("sell", 3.0, 1.0, period=1))),
        Prosumer("p2", "2", (0.0, 0.0), bids=(BidBlock("sell", 5.0, 4.0, period=0),)),
        Prosumer("p3", "2", (0.0, 0.0)),
    ]
    book = OrderBook.from_prosumers(prosumers, period=0)
    assert book.agents == ("p1", "p2", "p3")
    np.testing.assert_array_equal(book.buy_price, [12.0])
    np.testing.assert_array_equal(book.sell_price, [5.0])
    np.testing.assert_array_equal(book.sell_agent, [1])
    assert OrderBook.from_prosumers(prosumers).n_sell == 2
    out = uniform_price(book)
    assert out.traded_qty == pytest.approx(2.0)
    assert out.price == pytest.approx(5.0)  # p2's 4 kWh are partly sold, which pins the price to its ask


# ---------------------------------------------------------------------------
# the bucketed clearing equals the full merit-order sort
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("price_kind", ["continuous", "integer", "constant"])
def test_bucketed_clearing_equals_full_sort_on_large_books(seed, price_kind):
    rng = np.random.default_rng(seed)
    n = 3000  # per side: 6000 blocks ≥ the bucketing threshold
    if price_kind == "continuous":
        bp, sp = rng.normal(50, 15, n), rng.normal(45, 15, n)
    elif price_kind == "integer":
        bp, sp = rng.integers(0, 30, n).astype(float), rng.integers(0, 30, n).astype(float)  # many ties
    else:
        bp, sp = np.full(n, 7.0), np.full(n, 7.0)
    bq, sq = rng.uniform(0.1, 5, n), rng.uniform(0.1, 5, n)
    auto = mech._fills(bp, bq, sp, sq)
    full = mech._fills(bp, bq, sp, sq, nbins=1)
    scale = bq.sum()
    np.testing.assert_allclose(auto[0], full[0], rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(auto[1], full[1], rtol=0, atol=1e-9 * scale)
    assert auto[0].sum() == pytest.approx(auto[1].sum())


# ---------------------------------------------------------------------------
# properties on random books
# ---------------------------------------------------------------------------

AGENTS = ("a", "b", "c", "d")
prices = st.one_of(st.integers(-3, 15).map(float), st.floats(-5.0, 20.0, allow_nan=False, allow_infinity=False))
quantities = st.one_of(st.sampled_from([0.5, 1.0, 2.0, 3.0]), st.floats(0.01, 10.0))
blocks = st.tuples(st.sampled_from(AGENTS), prices, quantities)
books = st.builds(OrderBook.from_blocks, st.lists(blocks, max_size=8), st.lists(blocks, max_size=8))
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def lp_welfare(book: OrderBook) -> float:
    """max Σ b x − Σ a y s.t. Σ x = Σ y, 0 ≤ x ≤ q — an independent oracle (HiGHS)."""
    nb, ns = book.n_buy, book.n_sell
    if nb == 0 or ns == 0:
        return 0.0
    res = linprog(
        c=np.concatenate((-book.buy_price, book.sell_price)),
        A_eq=np.concatenate((np.ones(nb), -np.ones(ns)))[None, :],
        b_eq=[0.0],
        bounds=list(zip(np.zeros(nb + ns), np.concatenate((book.buy_qty, book.sell_qty)), strict=True)),
        method="highs",
    )
    assert res.status == 0
    return -res.fun


def assert_ir(out, book):
    surplus = out.agent_frame(book)["declared_surplus"].to_numpy()
    assert (surplus >= -TOL).all(), (out.notes, surplus)


@PROPS
@given(books)
def test_efficient_allocation_matches_the_lp_optimum(book):
    alloc = efficient_allocation(book)
    assert alloc.marginal.welfare == pytest.approx(lp_welfare(book), abs=1e-6)
    assert (alloc.buy_fill >= 0).all() and (alloc.buy_fill <= book.buy_qty).all()
    assert (alloc.sell_fill >= 0).all() and (alloc.sell_fill <= book.sell_qty).all()
    assert alloc.buy_fill.sum() == pytest.approx(alloc.sell_fill.sum(), abs=1e-9)


@PROPS
@given(books, st.floats(0.0, 1.0), st.sampled_from(["walrasian", "marginal_pair"]))
def test_uniform_price_is_ir_strongly_budget_balanced_and_efficient(book, k, interval):
    out = uniform_price(book, k=k, interval=interval)
    assert_ir(out, book)
    assert abs(out.platform_surplus) <= TOL
    assert out.declared_welfare == pytest.approx(efficient_allocation(book).marginal.welfare, abs=1e-9)
    if out.traded_qty > 0:
        lo, hi = out.price_interval
        assert lo <= out.price <= hi
    if interval == "walrasian" and out.price is not None:
        # the price supports the allocation: willing traders trade, the unfilled do not want more
        p, bp, sp = out.price, book.buy_price, book.sell_price
        assert (bp[out.buy_fill > 0] >= p).all() and (bp[out.buy_fill < book.buy_qty] <= p).all()
        assert (sp[out.sell_fill > 0] <= p).all() and (sp[out.sell_fill < book.sell_qty] >= p).all()


@PROPS
@given(books, st.sampled_from(["mcafee", "pure"]))
def test_trade_reduction_is_ir_and_weakly_budget_balanced(book, variant):
    out = trade_reduction(book, variant=variant)
    assert_ir(out, book)
    assert out.platform_surplus >= -TOL
    assert out.declared_welfare <= efficient_allocation(book).marginal.welfare + TOL
    assert out.buy_fill.sum() == pytest.approx(out.sell_fill.sum(), abs=1e-9)


@PROPS
@given(books)
def test_vcg_is_ir_and_efficient(book):
    out = vcg(book)
    assert_ir(out, book)
    assert out.declared_welfare == pytest.approx(lp_welfare(book), abs=1e-6)


@PROPS
@given(books)
def test_pay_as_bid_keeps_the_spread(book):
    out = pay_as_bid(book)
    assert_ir(out, book)
    assert out.platform_surplus == pytest.approx(out.declared_welfare, abs=1e-9)
    assert out.platform_surplus >= -TOL


@PROPS
@given(books)
def test_supply_demand_curves_are_monotone(book):
    c = supply_demand_curves(book)
    assert (np.diff(c.demand_q) > 0).all() and (np.diff(c.supply_q) > 0).all()
    assert (np.diff(c.demand_p) <= 0).all() and (np.diff(c.supply_p) >= 0).all()
    assert sorted(c.demand_block_index.tolist()) == list(range(book.n_buy))
    assert sorted(c.supply_block_index.tolist()) == list(range(book.n_sell))
    np.testing.assert_array_equal(c.demand_p, book.buy_price[c.demand_block_index])


@PROPS
@given(books, st.integers(2, 9))
def test_bucketed_clearing_equals_full_sort(book, nbins):
    args = (book.buy_price, book.buy_qty, book.sell_price, book.sell_qty)
    bucketed, full = mech._fills(*args, nbins=nbins), mech._fills(*args, nbins=1)
    np.testing.assert_allclose(bucketed[0], full[0], atol=1e-9)
    np.testing.assert_allclose(bucketed[1], full[1], atol=1e-9)
