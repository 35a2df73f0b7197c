"""Figures drawn from a result — the same drawing code for the panels on screen and for the report.

A figure is a :class:`Figure`: graphics items only (a pyqtgraph ``PlotItem`` or ``GraphicsLayout``, the feeder's
items, text items), never a widget — no combo box, check box or hint label. A panel shows the figure's ``item``
inside its own plot widget and adds its interactions (hover, selection) on top; the report renders the same
``item`` offscreen (:mod:`gui.figures.render`) to SVG for the HTML and as vectors into the PDF.

Each kind of figure is registered in :data:`BUILDERS` by :func:`figure`: ``build(result, scenario, period)``
returns a :class:`Figure` (its item filled and sized, with a caption saying what it shows, for which period and
which model), or ``None`` when the result has nothing to show (no network model: no DLMPs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

#: a figure's size when rendered for the report, in logical pixels (16:9; at A4's text width a 9 pt label
#: prints at about 7 pt)
REPORT_SIZE = (760, 428)


@dataclass
class Figure:
    """A figure: ``item`` (a QGraphicsWidget such as a pyqtgraph PlotItem or GraphicsLayout) and its caption."""

    key: str
    item: object
    caption: str
    size: tuple[int, int] = REPORT_SIZE
    keep: list = field(default_factory=list)  # objects that must live as long as the item (its chart)


Builder = Callable[..., "Figure | None"]
BUILDERS: dict[str, Builder] = {}
ORDER = ("feeder", "supply_demand", "day_prices", "dlmp_parts", "fairness_gains", "market_power", "comparison")


def figure(key: str) -> Callable[[Builder], Builder]:
    """Register ``build(result, scenario, period) -> Figure | None`` as the builder of figure ``key``."""

    def register(build: Builder) -> Builder:
        BUILDERS[key] = build
        return build

    return register


def builders() -> dict[str, Builder]:
    """Every registered builder, in the report's order (importing the modules that register them)."""
    import gui.figures.charts  # noqa: F401 - registers the builders

    return {k: BUILDERS[k] for k in ORDER if k in BUILDERS} | {k: v for k, v in BUILDERS.items() if k not in ORDER}
