"""The HTML report: self-contained, with the numbers of the result in it."""

import re
from html.parser import HTMLParser

from core.market import MarketSettings, clear
from core.report import build_html, write_report
from core.scenario.generate import teaching_5bus

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources, self.tables = [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.tables += 1
        for key in ("src", "href"):
            if key in attrs:
                self.sources.append(attrs[key])


def test_report_is_self_contained_and_carries_the_numbers(tmp_path):
    s = teaching_5bus()
    r = clear(s, MarketSettings(mechanism="uniform"))
    html = build_html(s, r, figures={"Supply and demand": PNG})
    p = _Parser()
    p.feed(html)
    assert p.tables >= 4  # settings, periods, participants, mechanism properties, market power
    # nothing is fetched: the one figure is a data: URI
    assert p.sources == [p.sources[0]] and p.sources[0].startswith("data:image/png;base64,")
    assert not re.search(r"https?://", html)
    assert "8.5" in html and "Uniform-price double auction" in html
    out = write_report(tmp_path / "report.html", s, r)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_report_names_say_what_and_in_what_unit():
    from core.report import readable

    assert readable("price_per_kwh", "¢") == "Price (¢/kWh)"
    assert readable("v_min_pu", "EUR") == "V min (p.u.)"
    assert readable("max_loading_pct", "EUR") == "Max loading (%)"
    assert readable("p2p_kwh", "EUR") == "P2P (kWh)"
    assert readable("platform_surplus", "¢") == "Platform surplus (¢)"
    assert readable("ir_ok", "¢") == "IR OK"
    s = teaching_5bus()
    r = clear(s, MarketSettings(mechanism="vcg"))
    html = build_html(s, r)
    # the chapter's VCG example: the platform pays 2 ¢ (module text of test_market); headline and tables readable
    assert "Platform surplus (¢)<b>−2.00</b>" in html  # money: two decimals, a true minus
    assert "<th>Bought (kWh)</th>" in html and "price_per_kwh" not in html
    assert "e-1" not in html  # no solver noise in scientific notation
