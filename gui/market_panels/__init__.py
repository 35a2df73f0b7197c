"""Panels that show a cleared market. Each is an independent widget with ``set_result(result)``.

They display the numbers of a :class:`core.market.MarketResult` as they are:
plots are pyqtgraph items created once and updated in place with ``setData``;
tables are read-only views of core's DataFrames. Nothing here computes a
market number (``../shared/DESIGN.md``).

* :class:`CurvesPanel` — the chosen period's supply and demand step curves;
* :class:`PropertiesPanel` — the mechanisms compared on IR, BB, efficiency, IC;
* :class:`AgentResultsPanel` — every prosumer's energy and money;
* :class:`PriceIterationPanel` — the welfare clearing's price iteration;
* :class:`DayPricesPanel` — the price in every period of the horizon.
"""

from __future__ import annotations

from gui.market_panels.agents import AGENT_TOOLTIPS, SOC, AgentResultsPanel, SparklineDelegate
from gui.market_panels.curves import CurvesPanel
from gui.market_panels.day_prices import DayPricesPanel
from gui.market_panels.iteration import DECENTRALISED_REL_TOL, PriceIterationPanel, _small
from gui.market_panels.properties import PROPERTY_COLUMNS, PropertiesPanel
from gui.market_panels.style import (
    BAD,
    DEMAND,
    DLMP_BAND,
    FEED_IN,
    GOOD,
    HIGHLIGHT,
    LIMIT_RED,
    MONEY_COLUMNS,
    POINT,
    RETAIL,
    SELECTED,
    SHORT_MECHANISM,
    SUPPLY,
    VOLTAGE,
    _note,
    axis_label,
    dashed,
    hline,
    make_plot,
    mechanism_title,
    nobreak,
    period_label,
    price_unit,
    set_line_label,
    style_plot_item,
)

__all__ = [
    "AGENT_TOOLTIPS",
    "BAD",
    "DECENTRALISED_REL_TOL",
    "DEMAND",
    "DLMP_BAND",
    "FEED_IN",
    "GOOD",
    "HIGHLIGHT",
    "LIMIT_RED",
    "MONEY_COLUMNS",
    "POINT",
    "PROPERTY_COLUMNS",
    "RETAIL",
    "SELECTED",
    "SHORT_MECHANISM",
    "SOC",
    "SUPPLY",
    "VOLTAGE",
    "AgentResultsPanel",
    "CurvesPanel",
    "DayPricesPanel",
    "PriceIterationPanel",
    "PropertiesPanel",
    "SparklineDelegate",
    "_note",
    "_small",
    "axis_label",
    "dashed",
    "hline",
    "make_plot",
    "mechanism_title",
    "nobreak",
    "period_label",
    "price_unit",
    "set_line_label",
    "style_plot_item",
]
