"""The feeder side of a cleared market: DLMPs per bus, and the colour scales the feeder view paints with.

Everything here reads a :class:`core.market.MarketResult` cleared with a
network model (``result.buses``, ``result.lines``: one row per bus or line
and period) and shows one period of it; nothing is computed that core
returns (``../shared/DESIGN.md``). A period change only picks other rows of
the same frames, so the views follow the period slider without a new
clearing.

* :func:`bus_rows`, :func:`line_rows` — one period's rows;
* :class:`ColourScale` — a value → colour map with its title, unit, range and
  marked limits (:func:`dlmp_scale`, :func:`voltage_scale`, :data:`LOADING_SCALE`);
* :class:`DLMPPanel` — the DLMP of every bus as a stack of its four parts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSizePolicy, QStackedWidget, QVBoxLayout, QWidget

from core.market import NETWORK_LABELS, MarketResult
from core.units import fmt_number, fmt_sig
from gui.figures.dlmp import (
    AREAS_ABOVE,
    NOISE,
    PARTS,
    DLMPChart,
    bus_rows,
    exactness_text,
    has_network,
    price_decimals,
)
from gui.figures.supply_demand import plot_widget
from gui.market_panels import _note, price_unit
from gui.presenting import muted

LIMIT = QColor(200, 0, 0)
V_TOL_PU = 1e-6  # a voltage this close to its limit is at the limit, not beyond it
LOADING_AT_LIMIT_PCT = 99.5  # a line this loaded is at its rating (congested)
LOADING_OVER_PCT = 100.5  # … and beyond this it is overloaded


def has_voltages(result: MarketResult | None) -> bool:
    """Whether the network model computes voltages (the DC model does not: its ``v_pu`` is the set-point)."""
    return has_network(result) and result.settings.network != "dc"


def line_rows(result: MarketResult | None, period: int) -> pd.DataFrame:
    """``result.lines`` of one period, indexed by line id (empty without a network)."""
    if result is None or result.lines is None or len(result.lines) == 0:
        return pd.DataFrame()
    ln = result.lines
    return ln[ln.period == period].set_index("line", drop=False)


def clean(x: float) -> float:
    """``x`` with solver noise (|x| < 1e-9) shown as an exact 0."""
    x = float(x)
    return 0.0 if abs(x) < NOISE else x


# ---------------------------------------------------------------------------
# colour scales
# ---------------------------------------------------------------------------


def _sampled(name: str, start: float, stop: float, n: int = 12) -> pg.ColorMap:
    """Part of a pyqtgraph colour map, re-spread over [0, 1]."""
    base = pg.colormap.get(name)
    pos = np.linspace(0.0, 1.0, n)
    colours = [base.map(start + (stop - start) * p, mode="qcolor") for p in pos]
    return pg.ColorMap(pos, colours)


# one colour language: red only for a limit broken (a voltage outside its limits, a line at its rating); prices on a
# sequential blue (pale: cheap → deep: dear), voltages on viridis
DLMP_CMAP = _sampled("CET-L12", 0.12, 1.0)
VOLTAGE_CMAP = pg.colormap.get("viridis")  # dark purple (low) → yellow (high)
# calm grey while a line has room, orange as it nears its rating, red at it
LOADING_CMAP = pg.ColorMap(
    [0.0, 0.5, 0.8, 1.0], [QColor(165, 175, 190), QColor(196, 184, 150), QColor(240, 150, 20), QColor(200, 0, 0)]
)


@dataclass(frozen=True, eq=False)
class ColourScale:
    """Values from ``lo`` to ``hi`` (in ``unit``) mapped onto ``cmap``; ``marks``: values named on the bar."""

    title: str
    unit: str
    lo: float
    hi: float
    cmap: pg.ColorMap
    marks: tuple[tuple[float, str], ...] = field(default=())
    digits: int = 4

    def fraction(self, value: float) -> float:
        if not math.isfinite(value):
            return 0.0
        if self.hi - self.lo <= 0:
            return 0.5
        return min(1.0, max(0.0, (value - self.lo) / (self.hi - self.lo)))

    def colour(self, value: float) -> QColor:
        return QColor(self.cmap.map(self.fraction(value), mode="qcolor"))

    def stops(self, n: int = 16) -> list[tuple[float, QColor]]:
        return [(p, QColor(self.cmap.map(p, mode="qcolor"))) for p in np.linspace(0.0, 1.0, n)]

    def label(self, value: float) -> str:
        """Every label of one bar with the same decimals: enough to tell its two ends apart ("0.049 … 0.214", not
        "0.04911 … 0.2141")."""
        span = abs(self.hi - self.lo)
        if not (math.isfinite(span) and span > 0):
            return fmt_sig(value, self.digits)
        decimals = max(0, min(6, 2 - math.floor(math.log10(span))))
        return f"{value:,.{decimals}f}"


def _range(v: np.ndarray, default: float) -> tuple[float, float]:
    """(lowest, highest) of ``v``; one value when they differ by solver noise only."""
    if v.size == 0:
        return default, default
    lo, hi = float(v.min()), float(v.max())
    return (lo, hi) if hi - lo > NOISE * (1.0 + abs(hi)) else (lo, lo)


def dlmp_scale(rows: pd.DataFrame, currency: str) -> ColourScale:
    """The DLMPs of one period, from the cheapest bus to the dearest."""
    lo, hi = _range(rows.dlmp_per_kwh.to_numpy(float), 0.0)
    return ColourScale("Bus DLMP", f"{currency}/kWh", lo, hi, DLMP_CMAP)


def voltage_scale(rows: pd.DataFrame, v_min_pu: float, v_max_pu: float, column: str = "v_pu") -> ColourScale:
    """The voltages of one period, lowest to highest; the feeder's limits are marked where they fall inside."""
    lo, hi = _range(rows[column].to_numpy(float), 1.0)
    marks = tuple(
        (lim, name) for lim, name in ((v_min_pu, "min"), (v_max_pu, "max")) if lo - V_TOL_PU <= lim <= hi + V_TOL_PU
    )
    return ColourScale("Bus voltage", "p.u.", lo, hi, VOLTAGE_CMAP, marks, digits=4)


LOADING_SCALE = ColourScale("Line loading", "% of rating", 0.0, 100.0, LOADING_CMAP, digits=3)


def voltage_outside(v: float, v_min: float, v_max: float) -> bool:
    return v < v_min - V_TOL_PU or v > v_max + V_TOL_PU


def bus_limits(scenario, bus_id: str) -> tuple[float, float]:
    """The voltage limits of a bus (its own, or the feeder's)."""
    f = scenario.feeder
    b = next((x for x in f.buses if x.id == bus_id), None)
    lo = b.v_min_pu if b is not None and b.v_min_pu is not None else f.v_min_pu
    hi = b.v_max_pu if b is not None and b.v_max_pu is not None else f.v_max_pu
    return lo, hi


# ---------------------------------------------------------------------------
# the DLMP panel
# ---------------------------------------------------------------------------


class DLMPPanel(QWidget):
    """The period's DLMP of every bus as a stacked bar of energy + loss + congestion + voltage.

    Buses are sorted by electrical distance from the substation (left to
    right); positive parts stack above zero, negative ones below, and a black
    bar marks the DLMP itself (the sum). Hovering a bar names its numbers;
    clicking it picks the bus (``busPicked``). Without a network model there
    are no DLMPs, and a note says how to get them.
    """

    busPicked = Signal(str)

    NO_NETWORK = (
        "No network model: the market clears on a copper plate, so every bus pays the same price.\n\n"
        "Choose a network model to see DLMPs (Market dock → Network; the welfare clearing only)."
    )

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result: MarketResult | None = None
        self.period = 0
        self.rows = pd.DataFrame()  # the period's buses in the order drawn
        self._selected: str | None = None
        self._hover_index: int | None = None
        self.title = QLabel("No market cleared yet", self)
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.legend = QLabel(self._legend_text(True), self)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        self.legend.setToolTip(
            "DLMP = energy (the substation's price) + loss (λ·marginal loss) + congestion "
            "(line ratings) + voltage (voltage limits); parts below zero lower the price"
        )
        self.with_energy = QCheckBox("Energy part", self)
        self.with_energy.setChecked(True)
        self.with_energy.setToolTip(
            "Untick to leave out the energy part (the substation's price, the same at every "
            "bus) and see the locational parts — loss, congestion, voltage — at a larger "
            "scale; the black bar then marks DLMP − energy"
        )
        self.with_energy.toggled.connect(lambda _on: self._draw(refit=False))
        # the drawing is the report's figure's (gui.figures.dlmp): one code path
        self.chart = ch = DLMPChart()
        self.plot = plot_widget(ch.plot, self)
        self.hover_band, self.selected_band, self.lateral = ch.hover_band, ch.selected_band, ch.lateral
        self.bars, self.areas, self.zero, self.total = ch.bars, ch.areas, ch.zero, ch.total
        self.x = ch.x
        self._tree = None  # the feeder as a tree from the substation (set_feeder), for the laterals
        self._feeder = None
        self._lateral_idx: list[int] = []  # the drawn lateral's rows
        self.hover = QLabel(" ", self)
        muted(self.hover, "#333")
        self.hover.setTextFormat(Qt.TextFormat.RichText)
        self.hover.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.hover.setFixedHeight(self.hover.fontMetrics().lineSpacing() + 4)
        self.hover.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        page = QWidget(self)
        pl = QVBoxLayout(page)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.setSpacing(2)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.legend, 1)
        row.addWidget(self.with_energy)
        pl.addLayout(row)
        pl.addWidget(self.plot, 1)
        pl.addWidget(self.hover)
        self.note = _note(self.NO_NETWORK, self)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(page)
        self.stack.addWidget(self.note)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.title)
        lay.addWidget(self.stack, 1)
        self.stack.setCurrentWidget(self.note)
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)
        self.plot.scene().sigMouseClicked.connect(self._mouse_clicked)

    @staticmethod
    def _legend_text(energy: bool) -> str:
        swatch = "<nobr><span style='color:{c}'>■</span> {name}</nobr>"
        parts = [swatch.format(c=c.name(), name=name) for key, name, c in PARTS if energy or key != "energy_per_kwh"]
        mark = "DLMP (their sum)" if energy else "DLMP − energy"
        return " &nbsp; ".join(parts) + f" &nbsp; <nobr><b>━</b> {mark}</nobr>"

    # --- data ---------------------------------------------------------------------------
    def set_result(self, result: MarketResult, period: int | None = None) -> None:
        self.result = result
        self.period = result.period if period is None else period
        self._draw(refit=True)

    def set_period(self, period: int) -> None:
        """Show another period of the same result (no new clearing)."""
        if period == self.period:
            return
        self.period = period
        self._draw(refit=False)

    def set_selected_bus(self, bus: str | None) -> None:
        self._selected = bus
        self._show_selected()

    def set_feeder(self, feeder) -> None:
        """The feeder the prices are on: on a large one, selecting a bus marks its whole lateral."""
        import networkx as nx

        if feeder is self._feeder:  # an edit of the prosumers keeps the feeder: same tree
            return
        self._feeder = feeder
        self._tree = nx.bfs_tree(feeder.graph(), feeder.substation.bus)
        self._root = feeder.substation.bus
        self._show_selected()

    def lateral_of(self, bus: str) -> list[str]:
        """The buses of ``bus``'s lateral: its path from the substation, itself, and every bus below it."""
        import networkx as nx

        if self._tree is None or bus not in self._tree:
            return [bus]
        return [*nx.shortest_path(self._tree, self._root, bus), *nx.descendants(self._tree, bus)]

    def _draw(self, refit: bool) -> None:
        result = self.result
        if not has_network(result):
            self.rows = self.chart.rows = pd.DataFrame()
            self.title.setText("<b>DLMP</b> · no network model")
            self.title.setToolTip("")
            self.stack.setCurrentWidget(self.note)
            return
        t = self.period
        energy = self.with_energy.isChecked()
        self.legend.setText(self._legend_text(energy))
        self.rows = rows = self.chart.show(result, t, energy, refit)
        n = len(rows)
        many = n >= AREAS_ABOVE
        self.x, self._mark = self.chart.x, self.chart.mark
        dlmp = rows.dlmp_per_kwh.to_numpy(float)
        unit = price_unit(result)
        self._show_selected()
        if self._hover_index is not None and self._hover_index < n:
            self.hover_index(self._hover_index)
        else:
            self.hover.setText(
                "Hover the chart for the nearest bus's numbers; click to select it"
                if many
                else "Hover a bar for the bus's numbers; click it to select the bus"
            )
        periods = result.periods
        when = str(periods.time.iloc[t]) if "time" in periods and 0 <= t < len(periods) else f"period {t}"
        network = NETWORK_LABELS.get(result.settings.network, result.settings.network)
        d = price_decimals(dlmp)
        text = (
            f"<b>DLMP</b> · {escape(when)} · {escape(network)} · "
            f"{fmt_number(dlmp.min(), d)}–{fmt_number(dlmp.max(), d)} {escape(unit)}"
        )
        locational = rows[[key for key, _n, _c in PARTS if key != "energy_per_kwh"]].to_numpy(float)
        if (
            t == result.period
            and result.summary.get("largest_dlmp_component")
            and np.abs(locational).max(initial=0.0) >= NOISE
        ):
            text += f" · largest locational part: {escape(str(result.summary['largest_dlmp_component']))}"
        text += exactness_text(result)
        self.title.setText(text)
        err = result.summary.get("decomposition_error_per_kwh")
        self.title.setToolTip(
            f"{n} buses, sorted by electrical distance from the substation (Σ|Z| along the path, p.u.)."
            + (f" The four parts add up to each DLMP within {fmt_sig(err, 2)} {unit}." if err is not None else "")
            + (f"\n{result.summary['network_model']}" if result.summary.get("network_model") else "")
            + (f"\n{result.summary['network_note']}" if result.summary.get("network_note") else "")
        )
        self.stack.setCurrentIndex(0)

    def _show_selected(self) -> None:
        idx = self.index_of(self._selected) if self._selected is not None else None
        self.selected_band.setVisible(idx is not None)
        if idx is not None:
            self.selected_band.setRegion(self._band_at(idx))
        marks = getattr(self, "_mark", None)
        if idx is None or len(self.rows) < AREAS_ABOVE or marks is None or len(marks) != len(self.rows):
            self._lateral_idx = []
            self.lateral.setData([], [])
            return
        where = {str(b): i for i, b in enumerate(self.rows.bus)}
        self._lateral_idx = [where[b] for b in self.lateral_of(self._selected) if b in where]
        self.lateral.setData(self.x[self._lateral_idx], marks[self._lateral_idx])

    def lateral_marked(self) -> list[str]:
        """The buses marked as the selected bus's lateral (tests)."""
        return [str(self.rows.bus.iloc[i]) for i in self._lateral_idx]

    def _band_at(self, i: int) -> tuple[float, float]:
        return self.chart.band_at(i)

    # --- reading back what is drawn (tests, reports) ------------------------------------------
    def index_of(self, bus: str) -> int | None:
        ids = [str(b) for b in self.rows.bus] if len(self.rows) else []
        return ids.index(bus) if bus in ids else None

    def bar_count(self) -> int:
        return len(self.bars["energy_per_kwh"].opts["x"]) if len(self.rows) else 0

    def drawn_parts(self, bus: str) -> dict[str, float]:
        """The height of each part's bar at ``bus`` as drawn."""
        i = self.index_of(bus)
        return {name: float(self.bars[key].opts["height"][i]) for key, name, _c in PARTS}

    def drawn_total(self, bus: str) -> float:
        """The DLMP marked on ``bus``'s bar."""
        i = self.index_of(bus)
        return float(self.total.yData[2 * i])

    # --- mouse -------------------------------------------------------------------------------
    def _index_at(self, scene_pos) -> int | None:
        vb = self.plot.getPlotItem().getViewBox()
        if not vb.sceneBoundingRect().contains(scene_pos) or not len(self.rows):
            return None
        at = vb.mapSceneToView(scene_pos).x()
        if len(self.rows) >= AREAS_ABOVE:  # the bus nearest along the distance axis
            return int(np.argmin(np.abs(self.x - at)))
        i = round(at)
        return i if 0 <= i < len(self.rows) else None

    def _mouse_moved(self, scene_pos) -> None:
        i = self._index_at(scene_pos)
        if i is None:
            return
        self.hover_index(i)

    def _mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        i = self._index_at(event.scenePos())
        if i is not None:
            self.busPicked.emit(str(self.rows.bus.iloc[i]))

    def describe(self, bus: str, full: bool = False) -> str:
        """The numbers of ``bus`` in the shown period, as one line of rich text (``full``: with units)."""
        r = self.rows.loc[bus]
        unit = price_unit(self.result)
        d = price_decimals(self.rows.dlmp_per_kwh)
        num = lambda x: "0" if clean(x) == 0 else fmt_number(x, d)  # noqa: E731
        parts = " + ".join(f"{num(r[key])} {name}" for key, name, _c in PARTS)
        v = f"V {fmt_number(r.v_pu, 4)} p.u." if has_voltages(self.result) else "no voltages (DC model)"
        if "v_pu_ac" in r and pd.notna(r.v_pu_ac):
            v += f" (AC {fmt_number(r.v_pu_ac, 4)})"
        inj = float(r.injection_kw)
        if full:
            flow = (
                f"injects {fmt_number(inj, 1)} kW"
                if inj > 0.05
                else (f"withdraws {fmt_number(-inj, 1)} kW" if inj < -0.05 else "no net injection")
            )
            return (
                f"<b>Bus {escape(bus)}</b><br>DLMP <b>{fmt_number(r.dlmp_per_kwh, d)}</b> {escape(unit)} = "
                f"{parts}<br>{v}<br>{flow}"
            )
        return f"<b>Bus {escape(bus)}</b> · DLMP <b>{fmt_number(r.dlmp_per_kwh, d)}</b> = {parts} · {v}"

    def hover_index(self, i: int) -> str:
        """Highlight bar ``i`` and describe its bus; returns the text shown."""
        self._hover_index = i
        bus = str(self.rows.bus.iloc[i])
        text = self.describe(bus)
        self.hover_band.setRegion(self._band_at(i))
        self.hover_band.setVisible(True)
        self.hover.setText(text)
        self.plot.setToolTip(self.describe(bus, full=True))
        return text


__all__ = [
    "LOADING_SCALE",
    "PARTS",
    "ColourScale",
    "DLMPPanel",
    "bus_rows",
    "dlmp_scale",
    "has_network",
    "has_voltages",
    "line_rows",
    "voltage_scale",
]
