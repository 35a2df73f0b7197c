"""The market panels' shared style: colours, plot helpers, axis and period labels, money columns."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QLabel,
)

from core.market import MECHANISM_LABELS, MarketResult
from core.units import MONEY_NAMES
from gui.presenting import muted

DEMAND = QColor(31, 119, 180)


SUPPLY = QColor(214, 39, 40)


RETAIL = QColor(120, 60, 160)


FEED_IN = QColor(20, 140, 90)


POINT = QColor(20, 20, 20)


HIGHLIGHT = QColor(255, 200, 40)


DLMP_BAND = QColor(226, 110, 30)


VOLTAGE = QColor(72, 40, 120)


LIMIT_RED = QColor(200, 0, 0)


GOOD = QBrush(QColor(200, 236, 200))


BAD = QBrush(QColor(255, 205, 205))


SELECTED = QBrush(QColor(214, 230, 250))


MONEY_COLUMNS = MONEY_NAMES  # one list of the money columns: core.units


SHORT_MECHANISM = {
    "welfare": "Welfare (λ)",
    "uniform": "Uniform price",
    "pay_as_bid": "Pay-as-bid",
    "vcg": "VCG",
    "trade_reduction": "Trade reduction",
}


def price_unit(result: MarketResult) -> str:
    return f"{result.currency}/kWh"


def make_plot(parent=None) -> pg.PlotWidget:
    """A white pyqtgraph plot with dark, readable axes and a light grid."""
    w = pg.PlotWidget(parent=parent, background="w")
    w.setMenuEnabled(False)
    style_plot_item(w.getPlotItem())
    w.setMinimumSize(160, 80)  # small enough for the docks to fit a 1,366×768 screen
    return w


def style_plot_item(item: pg.PlotItem) -> pg.PlotItem:
    """The house style of a plot: a light grid, dark readable axes at 8.5 pt, no SI prefixes."""
    item.showGrid(x=True, y=True, alpha=0.15)
    font = QFont()
    font.setPointSizeF(8.5)
    for side in ("left", "bottom"):
        ax = item.getAxis(side)
        ax.setPen(pg.mkPen("#444"))
        ax.setTextPen(pg.mkPen("#222"))
        ax.setTickFont(font)
        ax.enableAutoSIPrefix(False)
    return item


def axis_label(plot: pg.PlotWidget, side: str, text: str) -> None:
    plot.getPlotItem().setLabel(side, text, **{"color": "#222", "font-size": "9pt"})


def dashed(color: QColor, width: float = 1.5) -> object:
    return pg.mkPen(color, width=width, style=Qt.PenStyle.DashLine)


def hline(color: QColor, position: float = 0.9, above: bool = True) -> pg.InfiniteLine:
    """A dashed horizontal line with a label at ``position`` (0 left … 1 right), above or below it."""
    ax = 1.0 if position > 0.5 else 0.0
    anchor = (ax, 1.0) if above else (ax, 0.0)
    line = pg.InfiniteLine(
        angle=0,
        movable=False,
        pen=dashed(color),
        label="",
        labelOpts={
            "position": position,
            "color": color,
            "anchors": [anchor, anchor],
            "fill": pg.mkBrush(255, 255, 255, 200),
        },
    )
    line.setZValue(5)
    return line


def set_line_label(line: pg.InfiniteLine, text: str) -> None:
    line.label.setFormat(text.replace("{", "{{").replace("}", "}}"))


def nobreak(text: str) -> str:
    """``text`` that a label never wraps (non-breaking spaces, a word joiner after each slash)."""
    return text.replace(" ", "\u00a0").replace("/", "/\u2060")


def mechanism_title(result: MarketResult) -> str:
    return MECHANISM_LABELS.get(result.settings.mechanism, result.settings.mechanism)


def period_label(result: MarketResult) -> str:
    p = result.periods
    row = p[p.period == result.period]
    return str(row.time.iloc[0]) if len(row) and "time" in p else f"period {result.period}"


def _note(text: str, parent=None) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    muted(label, "#555", " padding: 16px;")
    return label
