"""The report's document: words a stakeholder reads, numbers equal to the result's, self-contained HTML."""

import re
from html.parser import HTMLParser

import numpy as np
import pytest

from core.market import MarketSettings, clear
from core.report import FigureSlot, Heading, KeyFigures, Paragraph, Table, build_report, executive_summary, to_html
from core.scenario.generate import ieee33_community, synthetic_feeder, teaching_5bus
from core.units import MONEY, fmt

SVG = b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'><rect width='10' height='10'/></svg>"


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources, self.tables, self.figures = [], 0, 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tables += tag == "table"
        self.figures += tag == "figure"
        for key in ("src", "href"):
            if key in attrs:
                self.sources.append(attrs[key])


@pytest.fixture(scope="module")
def vcg():
    s = teaching_5bus()
    return s, clear(s, MarketSettings(mechanism="vcg"))


def test_the_executive_summary_says_the_results_numbers(vcg):
    # the chapter's VCG example (teaching feeder): S1 (cost 5) and S2 (cost 7) each sell 1 kWh to B1 (value 12)
    # and B2 (value 10): 2 kWh, prices clearing between 8 and 9 ¢; the Clarke pivot makes the platform pay 2 ¢
    s, r = vcg
    text = " ".join(executive_summary(s, r))
    assert "2 of the 6 participants sell and 2 buy: 2 kWh change hands" in text
    g = r.agents.gain_over_outside.to_numpy(float)
    assert f"gain {fmt(g.sum(), MONEY, '¢')} together" in text
    best, worst = r.agents.agent.iat[int(np.argmax(g))], r.agents.agent.iat[int(np.argmin(g))]
    assert f"{best} gains the most ({fmt(g.max(), MONEY, '¢')})" in text
    assert f"{worst} the least ({fmt(g.min(), MONEY, '¢')})" in text
    assert "the platform pays a deficit of 2.00 ¢" in text  # VCG is not budget balanced
    # the participants' 12 ¢ and the platform's −2 ¢ reconcile with the headline's gain over the grid alone, 10 ¢
    assert g.sum() == pytest.approx(12.0) and r.summary["gain_over_outside"] == pytest.approx(10.0)
    assert "(the platform pays out 2.00 ¢, so the gain over the grid alone is 10.00 ¢)" in text


def test_market_power_of_the_auction_itself_is_not_called_another_market():
    s = teaching_5bus()
    r = clear(s, MarketSettings(mechanism="pay_as_bid"))
    words = " ".join(b.text for b in build_report(s, r).blocks if isinstance(b, Paragraph))
    assert "measured on the pay-as-bid auction itself" in words and "a different market" not in words
    r = clear(s, MarketSettings())
    words = " ".join(b.text for b in build_report(s, r).blocks if isinstance(b, Paragraph))
    assert "a different market from this report's (Welfare-maximising (shadow price), copper plate, 12:00)" in words


def test_settings_and_headlines_are_words_with_units(vcg):
    s, r = vcg
    rep = build_report(s, r)
    text = rep.text()
    for raw in ("lindistflow", "wholesale", "pay_as_bid", "price_per_kwh", "gain_over_outside", "ir_ok"):
        assert raw not in text, raw
    kf = next(b for b in rep.blocks if isinstance(b, KeyFigures))
    labels = {label: (value, what) for label, value, what in kf.items}
    assert labels["Welfare"][0] == fmt(r.summary["welfare"], MONEY, "¢")
    assert "negative" in labels["Welfare"][1]  # its sign convention, in words
    assert labels["Platform surplus"][0] == "−2.00 ¢"
    assert labels["Traded between participants"][0] == "2 kWh"
    # one table of the mechanisms compared, every mechanism in words
    heads = [b.text for b in rep.blocks if isinstance(b, Heading)]
    assert heads.count("Mechanisms compared") == 1
    assert "Pay-as-bid auction" in text and "VCG mechanism" in text


def test_the_html_is_self_contained_with_svg_figures(vcg, tmp_path):
    s, r = vcg
    rep = build_report(s, r, figures=("supply_demand", "feeder"))
    html = to_html(rep, {"supply_demand": (SVG, "Supply and demand at 12:00")})
    p = _Parser()
    p.feed(html)
    assert p.figures == 1 and p.tables >= 4  # a slot without a drawing is left out
    assert all(src.startswith(("data:", "#")) for src in p.sources)  # nothing is fetched (links within the page)
    assert any(src.startswith("data:image/svg+xml;base64,") for src in p.sources)
    assert any(src.startswith("data:text/csv;base64,") for src in p.sources)  # the full tables, attached
    assert not re.search(r"https?://", html)
    assert "Figure 1.</b> Supply and demand at 12:00" in html


def test_a_network_report_says_which_market_each_part_measures():
    s = ieee33_community()
    r = clear(s, MarketSettings(network="lindistflow", period=19, audit=False, tatonnement=False))
    text = build_report(s, r).text()
    # market power is the copper plate's uniform auction: said, with that auction's own price and volume
    mp = r.market_power_summary
    assert (
        "a different market from this report's (Welfare-maximising (shadow price), LinDistFlow + losses, 19:00)" in text
    )
    assert fmt(mp["price"], "price", "EUR") in text
    assert "the buses' prices (DLMPs) range from " + fmt(r.summary["dlmp_min_per_kwh"], "price", "EUR") in text
    assert "Each bus pays its distribution locational marginal price" in text
    # no fairness comparison with a network: the section says so and why, rather than being silently missing
    assert "Not in this report: the fairness rules are compared on the copper plate" in text
    # the mechanism table gives efficiency in percent, as its figure does (a ratio showed 99.9 % as 1.00)
    tables = [b for b in build_report(s, r).blocks if isinstance(b, Table) and "Efficiency (%)" in b.columns]
    assert len(tables) == 1 and tables[0].rows[0][tables[0].columns.index("Efficiency (%)")] == "100.0"


def test_a_big_market_shows_the_top_and_bottom_and_attaches_the_rest():
    s = synthetic_feeder(n_buses=40, n_prosumers=120, periods=2)
    r = clear(s, MarketSettings(audit=False, tatonnement=False, compare=False))
    rep = build_report(s, r, figures=())
    table = next(b for b in rep.blocks if isinstance(b, Table) and b.attachment == "participants.csv")
    assert len(table.rows) == 20 and "of 120" in table.note
    assert len(rep.attachments["participants.csv"]) == 120
    gains = [
        float(row[table.columns.index("Gain over the grid alone (EUR)")].replace(",", "").replace("−", "-"))
        for row in table.rows
    ]
    assert gains[:15] == sorted(gains[:15], reverse=True)  # the top, highest first
    assert not any(isinstance(b, FigureSlot) for b in rep.blocks)
    assert any(isinstance(b, Paragraph) for b in rep.blocks)
