"""Market concentration and market power ("Strategic Behavior and Market Power"): numbers worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.market_power import (
    concentration_band,
    demand_at,
    demand_elasticity,
    hhi,
    hhi_points,
    lerner_cournot,
    lerner_observed,
    market_power_report,
    residual_supply_index,
    shares,
)
from core.mechanisms import OrderBook, pay_as_bid, uniform_price

CHAPTER_SHARES = [0.4, 0.3, 0.2, 0.1]


# ---------------------------------------------------------------------------
# the chapter's examples
# ---------------------------------------------------------------------------


def test_chapter_hhi_example():
    # 0.4² + 0.3² + 0.2² + 0.1² = 0.16 + 0.09 + 0.04 + 0.01 = 0.30
    h = hhi(CHAPTER_SHARES)
    assert h == pytest.approx(0.30, abs=1e-15)
    # in points: 40² + 30² + 20² + 10² = 1600 + 900 + 400 + 100 = 3000
    assert hhi_points(CHAPTER_SHARES) == pytest.approx(3000.0, abs=1e-9)
    assert concentration_band(h) == "highly concentrated"  # 0.30 > 0.25


def test_chapter_lerner_example():
    # s_1 = 0.4, |ε| = 5: L_1 = 0.4/5 = 0.08; the sign of ε does not matter
    assert lerner_cournot(0.4, 5.0) == pytest.approx(0.08, abs=1e-15)
    assert lerner_cournot(0.4, -5.0) == pytest.approx(0.08, abs=1e-15)
    # the whole chapter market: 0.4/5, 0.3/5, 0.2/5, 0.1/5
    np.testing.assert_allclose(lerner_cournot(np.array(CHAPTER_SHARES), -5.0), [0.08, 0.06, 0.04, 0.02], atol=1e-15)


def test_shares_of_quantities():
    # 40 + 30 + 20 + 10 = 100 kWh
    np.testing.assert_allclose(shares([40.0, 30.0, 20.0, 10.0]), CHAPTER_SHARES, atol=1e-15)
    s = shares(pd.Series([3.0, 1.0], index=["a", "b"]))
    assert list(s.index) == ["a", "b"]
    assert s["a"] == pytest.approx(0.75)
    assert np.isnan(shares([0.0, 0.0])).all()
    with pytest.raises(ValueError, match="≥ 0"):
        shares([1.0, -1.0])


def test_hhi_refuses_percentages():
    with pytest.raises(ValueError, match="divide by 100"):
        hhi([40, 30, 20, 10])


def test_hhi_extremes():
    assert hhi([1.0]) == 1.0  # monopoly: 10,000 points
    assert hhi_points([1.0]) == 10_000.0
    # ten equal firms: 10·0.1² = 0.1 → unconcentrated
    assert hhi([0.1] * 10) == pytest.approx(0.1)
    assert concentration_band(hhi([0.1] * 10)) == "unconcentrated"


@pytest.mark.parametrize(
    ("h", "band"),
    [
        (0.0, "unconcentrated"),
        (0.1499, "unconcentrated"),
        (0.15, "moderately concentrated"),  # 1,500 points: DOJ/FTC 2010 puts it in the moderate band
        (0.2, "moderately concentrated"),
        (0.25, "moderately concentrated"),  # 2,500 points: "above 2,500" is highly concentrated
        (0.2501, "highly concentrated"),
        (1.0, "highly concentrated"),
    ],
)
def test_concentration_bands(h, band):
    assert concentration_band(h) == band


def test_band_boundaries_survive_rounding():
    # four equal firms: 4·0.25² = 0.25 exactly → moderate; the 0.15 boundary computed with rounding error too
    assert concentration_band(hhi([0.25] * 4)) == "moderately concentrated"
    assert concentration_band(0.1 + 0.05) == "moderately concentrated"  # 0.15000000000000002


def test_band_refuses_points():
    with pytest.raises(ValueError, match="0–1 scale"):
        concentration_band(3000)


def test_lerner_observed():
    # P = 10, mc = 8: (10 − 8)/10 = 0.2
    assert lerner_observed(10.0, 8.0) == pytest.approx(0.2)
    # L = 0.08 means P = mc/0.92: mc = 92, P = 100
    assert lerner_observed(100.0, 92.0) == pytest.approx(0.08)
    np.testing.assert_allclose(lerner_observed(np.array([4.0, 5.0]), np.array([1.0, 5.0])), [0.75, 0.0])
    assert np.isnan(lerner_observed(0.0, 1.0))
    assert np.isnan(lerner_observed(-1.0, 1.0))


def test_lerner_cournot_limits():
    assert lerner_cournot(0.5, np.inf) == 0.0  # perfectly elastic: price-takers
    assert lerner_cournot(0.5, 0.0) == np.inf  # perfectly inelastic
    assert lerner_cournot(0.0, 0.0) == 0.0


def test_rsi():
    # capacities 6, 3, 1 (Σ 10), demand 8: (10 − 6)/8 = 0.5, (10 − 3)/8 = 0.875, (10 − 1)/8 = 1.125
    np.testing.assert_allclose(residual_supply_index([6.0, 3.0, 1.0], 8.0), [0.5, 0.875, 1.125])
    assert np.isinf(residual_supply_index([1.0, 2.0], 0.0)).all()


# ---------------------------------------------------------------------------
# a book crafted to reproduce the chapter's market
# ---------------------------------------------------------------------------


def chapter_market() -> OrderBook:
    """Sellers S1–S4 sell 4, 3, 2, 1 kWh (shares 40/30/20/10 %); S5 (ask 12) sells nothing.

    Demand: B1 7 kWh at 20, B2 5 kWh at 10 (12 kWh). Supply at ≤ 10: 4 + 3 + 2 + 1 = 10 kWh, so
    Q = 10: S1–S4 fill whole, B1 whole, B2 3 of its 5 kWh — a partly filled bid pins the uniform
    price to its own, P = 10 (Walrasian interval [max(5, 10), min(10, 12)] = [10, 10]).

    Elasticity over the band 10 ± 5 %: D(10.5) = 7 (B1 only), D(9.5) = 12, slope (7 − 12)/(10.5 − 9.5)
    = −5 kWh per unit price, ε = −5 · P/Q = −5 · 10/10 = −5: the chapter's |ε| = 5.
    """
    return OrderBook.from_blocks(
        buys=[("B1", 20.0, 7.0), ("B2", 10.0, 5.0)],
        sells=[("S1", 2.0, 4.0), ("S2", 3.0, 3.0), ("S3", 4.0, 2.0), ("S4", 5.0, 1.0), ("S5", 12.0, 2.5)],
    )


def test_demand_curve_and_elasticity_by_hand():
    book = chapter_market()
    assert demand_at(book, 10.5) == 7.0
    assert demand_at(book, 10.0) == 12.0  # bids ≥ p
    assert demand_at(book, 9.5) == 12.0
    assert demand_elasticity(book, 10.0, 10.0) == pytest.approx(-5.0, abs=1e-12)
    # a band of 20 %: [8, 12] holds the same bids, slope −5/4, ε = −1.25·10/10
    assert demand_elasticity(book, 10.0, 10.0, band=0.2) == pytest.approx(-1.25, abs=1e-12)
    # no bid in the band 15 ± 5 %: locally perfectly inelastic
    assert demand_elasticity(book, 15.0, 7.0) == 0.0
    assert np.isnan(demand_elasticity(book, 10.0, 0.0))


def test_report_reproduces_the_chapter():
    book = chapter_market()
    out = uniform_price(book)
    assert out.price == 10.0 and out.traded_qty == pytest.approx(10.0)
    frame, summary = market_power_report(book, out)
    f = frame.set_index("agent")
    assert list(f.index) == ["S1", "S2", "S3", "S4", "S5"]
    np.testing.assert_allclose(f.share, [0.4, 0.3, 0.2, 0.1, 0.0], atol=1e-15)
    assert summary["hhi"] == pytest.approx(0.30, abs=1e-15)
    assert summary["hhi_points"] == pytest.approx(3000.0, abs=1e-9)
    assert summary["band"] == "highly concentrated"
    assert summary["elasticity"] == pytest.approx(-5.0, abs=1e-12)
    # L_i = s_i/|ε|: 0.4/5 = 0.08 (the chapter's L_1), 0.06, 0.04, 0.02, 0
    np.testing.assert_allclose(f.lerner_cournot, [0.08, 0.06, 0.04, 0.02, 0.0], atol=1e-15)
    # observed (P − mc)/P at P = 10: (10−2)/10, (10−3)/10, (10−4)/10, (10−5)/10; S5 sold nothing
    np.testing.assert_allclose(f.marginal_cost.iloc[:4], [2.0, 3.0, 4.0, 5.0])
    np.testing.assert_allclose(f.lerner_observed.iloc[:4], [0.8, 0.7, 0.6, 0.5], atol=1e-15)
    assert np.isnan(f.loc["S5", "lerner_observed"])
    # RSI = (12.5 − cap_i)/10: (12.5−4)/10 = 0.85, 0.95, 1.05, 1.15; S5 (12.5−2.5)/10 = 1.0 (not < 1)
    np.testing.assert_allclose(f.rsi, [0.85, 0.95, 1.05, 1.15, 1.0], atol=1e-15)
    assert list(f.pivotal) == [True, True, False, False, False]
    assert summary["pivotal"] == ["S1", "S2"]
    # capacity shares 4, 3, 2, 1, 2.5 of 12.5: .32² + .24² + .16² + .08² + .2² = .232
    assert summary["hhi_capacity"] == pytest.approx(0.232, abs=1e-12)


def test_report_takes_a_given_elasticity():
    book = chapter_market()
    frame, summary = market_power_report(book, uniform_price(book), elasticity=2.0)
    assert summary["elasticity"] == -2.0
    assert frame.lerner_cournot.iloc[0] == pytest.approx(0.2)  # 0.4/2


def test_marginal_cost_is_the_last_sold_block():
    """Seller A offers 1 kWh at 2, 1 at 6, 1 at 11; C 1 kWh at 4; one buyer wants 3 kWh at 10.

    Merit order 2 (A), 4 (C), 6 (A), 11 (A): 3 kWh clear, A's last sold kWh costs 6.
    Price: lo = 6 (highest filled ask), hi = min(10, 11) = 10 → 8.
    L_A = (8 − 6)/8 = 0.25, L_C = (8 − 4)/8 = 0.5; shares 2/3, 1/3 → HHI 4/9 + 1/9 = 5/9.
    """
    book = OrderBook.from_blocks(
        buys=[("B", 10.0, 3.0)], sells=[("A", 2.0, 1.0), ("A", 6.0, 1.0), ("A", 11.0, 1.0), ("C", 4.0, 1.0)]
    )
    out = uniform_price(book)
    assert out.price == 8.0
    frame, summary = market_power_report(book, out)
    f = frame.set_index("agent")
    assert f.loc["A", "marginal_cost"] == 6.0 and f.loc["C", "marginal_cost"] == 4.0
    assert f.loc["A", "lerner_observed"] == pytest.approx(0.25)
    assert f.loc["C", "lerner_observed"] == pytest.approx(0.5)
    assert summary["hhi"] == pytest.approx(5 / 9)
    assert summary["band"] == "highly concentrated"


def test_pay_as_bid_prices_are_what_each_seller_receives():
    # truthful pay-as-bid: every single-block seller receives its own ask, so (P − mc)/P = 0
    book = chapter_market()
    frame, summary = market_power_report(book, pay_as_bid(book))
    f = frame.set_index("agent")
    np.testing.assert_allclose(f.price.iloc[:4], [2.0, 3.0, 4.0, 5.0])
    np.testing.assert_allclose(f.lerner_observed.iloc[:4], 0.0, atol=1e-15)
    # sold-weighted mean seller price (4·2 + 3·3 + 2·4 + 1·5)/10 = 3.0 is where ε is evaluated
    assert summary["price"] == pytest.approx(3.0)


def test_no_trade_report():
    book = OrderBook.from_blocks(buys=[("B", 1.0, 1.0)], sells=[("S", 5.0, 1.0)])
    frame, summary = market_power_report(book, uniform_price(book))
    assert summary["band"] == "no trade"
    assert np.isnan(summary["hhi"])
    assert frame.sold_kwh.iloc[0] == 0.0


def test_report_refuses_a_foreign_outcome():
    with pytest.raises(ValueError, match="not cleared from this book"):
        market_power_report(
            chapter_market(), uniform_price(OrderBook.from_blocks([("B", 9.0, 1.0)], [("S", 1.0, 1.0)]))
        )
