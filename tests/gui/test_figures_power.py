"""The report's fairness, market power and comparison figures: drawn from the result, by the panels' own charts.

Each figure is built from a real result, rendered offscreen (no widget in it), and its items hold the result's
numbers; the caption says which market it measures.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from core.market import MarketSettings, clear
from core.scenario.generate import teaching_5bus
from gui.figures import builders
from gui.figures.render import Canvas


@pytest.fixture(scope="module")
def teaching_results():
    s = teaching_5bus()
    return s, {
        "maxmin": clear(s, MarketSettings(fairness="maxmin", period=0)),
        "uniform": clear(s, MarketSettings(mechanism="uniform", period=0)),
    }


def render(fig):
    canvas = Canvas(fig)
    try:
        assert canvas.widgets() == []
        png, svg = canvas.png(), canvas.svg()
    finally:
        canvas.close()
    assert png.startswith(b"\x89PNG") and len(png) > 5_000
    root = ET.fromstring(svg)
    text = " ".join(t for t in root.itertext())
    return png, text


def test_the_fairness_gains_figure_draws_the_gains_of_the_result(qtbot, teaching_results):
    s, results = teaching_results
    r = results["maxmin"]
    fig = builders()["fairness_gains"](r, s, 0)
    chart = fig.keep[0]
    f = r.fairness.set_index("agent")
    # the bars are the result's gains, participant by participant, in the drawn order
    assert chart.rule_bars.opts["height"] == pytest.approx(f.loc[chart.order, "utility"].to_numpy())
    assert chart.eff_bars.opts["height"] == pytest.approx(f.loc[chart.order, "utility_efficient"].to_numpy())
    assert chart.rule_bars.opts["height"] == pytest.approx(np.full(6, 1.6), abs=1e-5)  # max-min: equal gains
    _png, text = render(fig)
    assert "Fairness" in text and "Gain" in text and "under max-min" in text
    assert "under max-min fairness" in fig.caption and "9.60 ¢" in fig.caption and "4 %" in fig.caption
    # an auction has no fairness rule: no figure
    assert builders()["fairness_gains"](results["uniform"], s, 0) is None


def test_the_market_power_figure_says_which_market_it_measures(qtbot, teaching_results):
    s, results = teaching_results
    fig = builders()["market_power"](results["maxmin"], s, 0)
    chart = fig.keep[0]
    # the chapter's auction: S1 and S2 sell 1 kWh each at 8.5 ¢: shares ½, ½, 0; HHI 0.5
    shares = dict(zip(chart.sellers.agent, chart.share_bars.opts["height"], strict=True))
    assert shares == pytest.approx({"S1": 50.0, "S2": 50.0, "S3": 0.0})
    assert chart.observed_bars.opts["height"][0] == pytest.approx(3.5 / 8.5)
    assert chart.gauge.value == pytest.approx(results["maxmin"].market_power_summary["hhi"]) == pytest.approx(0.5)
    assert chart.n_infinite == 2  # ε = 0: the Cournot markup of a seller that sells is ∞
    # the welfare clearing's market power is its price-taking twin's: the caption says so
    assert "measured on the uniform-price auction of the same bids (copper plate, tariffs)" in fig.caption
    assert "a different market from this report's headline" in fig.caption
    _png, text = render(fig)
    assert "HHI 0.50" in text and "measured on the uniform-price auction" in text and "Share (%)" in text
    # on the auction itself it is the same market
    fig = builders()["market_power"](results["uniform"], s, 0)
    assert "different market" not in fig.caption and "uniform-price double auction itself" in fig.caption


def test_a_big_market_shows_its_largest_sellers_and_the_rest_together(qtbot):
    import pandas as pd

    from gui.figures.market_power import sorted_sellers, top_sellers

    n = 40
    share = np.linspace(2.0, 1.0, n)
    share /= share.sum()
    mp = pd.DataFrame(
        {
            "agent": [f"s{i}" for i in range(n)],
            "capacity_kwh": 10.0,
            "sold_kwh": 100.0 * share,
            "share": share,
            "capacity_share": 1.0 / n,
            "marginal_cost": 0.1,
            "price": 0.2,
            "lerner_observed": 0.5,
            "lerner_cournot": share / 2.0,
            "rsi": 2.0,
            "pivotal": False,
        }
    )
    shown = top_sellers(sorted_sellers(mp), 15)
    assert len(shown) == 16 and list(shown.agent[:15]) == [f"s{i}" for i in range(15)]
    rest = shown.iloc[-1]
    assert rest.agent == "25 others" and bool(rest.others)
    assert rest.share == pytest.approx(share[15:].sum())
    assert rest.lerner_observed == pytest.approx(0.5)  # the share-weighted mean of equal indices
    assert rest.lerner_cournot == pytest.approx(np.sum(share[15:] ** 2 / 2.0) / share[15:].sum())


def test_the_comparison_figure_draws_the_mechanisms_of_the_result(qtbot, teaching_results):
    s, results = teaching_results
    r = results["maxmin"]
    fig = builders()["comparison"](r, s, 0)
    charts = fig.keep
    t = r.mechanisms.set_index("mechanism")
    by_metric = {c.plot.getAxis("bottom").labelText: c for c in charts}
    eff = by_metric["Efficiency (%)"]
    assert eff.values == pytest.approx((100.0 * t.efficiency).to_dict())
    assert by_metric["Platform surplus (¢)"].values["vcg"] == pytest.approx(-2.0)  # VCG pays 2 ¢ more than it takes
    assert by_metric["Traded P2P (kWh)"].values == pytest.approx(t.traded_kwh.to_dict())
    _png, text = render(fig)
    assert "Mechanisms compared" in text and "VCG" in text and "no bids" in text and "balanced" in text
    assert "copper plate" in fig.caption and "IR" in fig.caption and "IC" in fig.caption
    # without a comparison: no figure
    bare = clear(s, MarketSettings(period=0, compare=False))
    assert builders()["comparison"](bare, s, 0) is None


def test_the_panels_show_the_charts_items(qtbot, teaching_results):
    from gui.compare_panel import ComparePanel
    from gui.fairness_panel import FairnessPanel
    from gui.power_panels import MarketPowerPanel

    _s, results = teaching_results
    r = results["maxmin"]
    fairness, power, compare = FairnessPanel(), MarketPowerPanel(), ComparePanel()
    for panel in (fairness, power, compare):
        qtbot.addWidget(panel)
        panel.set_result(r)
    assert fairness.plot.getPlotItem() is fairness.chart.plot
    assert fairness.drawn_gains()[2] == pytest.approx(np.full(6, 1.6), abs=1e-5)
    assert power.share_plot.getPlotItem() is power.chart.share_plot
    assert power.drawn_shares() == pytest.approx({"S1": 50.0, "S2": 50.0, "S3": 0.0})
    assert compare.plot.getPlotItem() is compare.chart.plot
    assert compare.chart.values["welfare"] == pytest.approx(100.0)
