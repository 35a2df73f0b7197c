"""The Studies dock's plots of a study's results: lines against an axis, a heat map over two, histograms over draws.

Each plot owns its pyqtgraph widget and the items it drew, kept and reused by the next drawing (a redraw sets
their data); a drawing returns its legend, the numbers behind it and a hint. Clicks call ``on_click``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF

from core.study import TEXT_AXES
from core.units import fmt_sig
from gui.charts import CategoryTicks, series_colour
from gui.market_panels import axis_label, dashed, make_plot, style_plot_item
from gui.studies.labels import axis_title, value_text

NONE = "__none__"  # a grouping combo's "no grouping"
HEAT_TEXT_CELLS = 144  # write the value in each cell up to this many cells


def rows_at(frame: pd.DataFrame, axis: str, value) -> pd.Series:
    """Which rows of ``frame`` have ``value`` on ``axis`` (numbers: to 1e-9)."""
    if axis in TEXT_AXES:
        return frame[axis] == value
    return pd.Series(np.isclose(frame[axis].to_numpy(float), float(value), rtol=0, atol=1e-9), index=frame.index)


def index_of(axis: str, values: pd.Series, order: list) -> np.ndarray:
    """For each of ``values`` (a column of ``axis``), its index in ``order`` (the axis' values); −1 if absent."""
    if axis in TEXT_AXES:
        return pd.Index(list(order), dtype=object).get_indexer(values.to_numpy(dtype=object))
    keys = np.round(np.asarray(order, dtype=float), 9)
    return pd.Index(keys).get_indexer(np.round(values.to_numpy(dtype=float, na_value=np.nan), 9))


def _padded_range(arrays, pad: float = 0.06) -> tuple[float, float] | None:
    """The range of the finite values of ``arrays`` with ``pad`` of its span on each side (None: no value)."""
    finite = [a[np.isfinite(a)] for a in arrays]
    finite = [a for a in finite if a.size]
    if not finite:
        return None
    lo = float(min(a.min() for a in finite))
    hi = float(max(a.max() for a in finite))
    span = hi - lo if hi > lo else (abs(hi) or 1.0)
    return lo - pad * span, hi + pad * span


def _light_grid(plot: pg.PlotItem) -> None:
    """Grid lines at the major and minor ticks only, not at the third level's: those are drawn at 3–5 % opacity
    (hardly visible) and, being translucent, cost Qt's raster engine ~0.1 ms each — with ~70 of them, most of
    a plot's repaint while a study runs."""
    for side in ("left", "bottom"):
        plot.getAxis(side).setStyle(maxTickLevel=1)


class _Ticks(CategoryTicks):
    """Category names on an axis when there are names; the axis' own numbers when there are none."""

    def update(self) -> None:
        if not self.names:
            self.plot.getPlotItem().getAxis(self.side).setTicks(None)
            return
        super().update()


@dataclass(frozen=True)
class Study:
    """What a plot needs to know of the study shown."""

    values: dict[str, list]  # every axis: its values in the study, in order
    unit: str  # the metric's name and unit
    missing: str  # what a group without any value is said to have ("no value", "no value yet")

    def group_values(self, g: str | None) -> list:
        return [None] if g in (None, NONE) else list(self.values[g])

    def positions(self, axis: str, values) -> np.ndarray:
        """Where values of ``axis`` go along a plot axis: themselves (numbers) or their index (text)."""
        if axis in TEXT_AXES:
            order = {v: i for i, v in enumerate(self.values[axis])}
            return np.array([order.get(v, np.nan) for v in values], dtype=float)
        return np.asarray(values, dtype=float)


@dataclass(frozen=True)
class Drawing:
    """What a plot drew: its legend (rich text), the numbers behind it (for export) and a hint for the user."""

    legend: str
    data: pd.DataFrame
    hint: str


class _Plot:
    """A plot widget whose axis labels are set only when they change (setting one lays the plot out)."""

    def __init__(self, widget):
        self.widget = widget
        self._labels: dict[str, str] = {}

    def _axis_label(self, side: str, text: str) -> None:
        """:func:`gui.market_panels.axis_label`, only when the text changes."""
        if self._labels.get(side) != text:
            self._labels[side] = text
            axis_label(self.widget, side, text)


class LinesPlot(_Plot):
    """A metric against an axis, one line per value of another: the mean with a ±1 std band; a click on a marker
    calls ``on_click(group, x)``."""

    def __init__(self, parent, on_click: Callable):
        super().__init__(make_plot(parent))
        self.on_click = on_click
        _light_grid(self.widget.getPlotItem())
        self.ticks = _Ticks(self.widget, "bottom")
        self.curves: dict[object, pg.PlotDataItem] = {}  # group → its line
        self._pool: list[dict] = []  # the lines' plot items, reused by every redraw
        self._x_range: tuple[float, float] | None = None
        self._y_range: tuple[float, float] | None = None
        self._x_axis: str | None = None
        self._xs: list = []

    def _stats(self, ok: pd.DataFrame, metric: str, x_axis: str, g_axis, study: Study) -> list[tuple]:
        """Per group of ``g_axis`` (one group: None): the mean, std (ddof 1) and count of ``metric`` at each
        value of ``x_axis`` — every group at once (a pass of ``np.bincount``, not a groupby per group)."""
        xs, groups = study.values[x_axis], study.group_values(g_axis)
        nx, ng = len(xs), len(groups)
        y = ok[metric].to_numpy(dtype=float, na_value=np.nan)
        xi = index_of(x_axis, ok[x_axis], xs)
        gi = np.zeros(len(ok), dtype=np.intp) if groups == [None] else index_of(g_axis, ok[g_axis], groups)
        keep = (xi >= 0) & (gi >= 0) & ~np.isnan(y)
        cell, v = gi[keep] * nx + xi[keep], y[keep]
        count = np.bincount(cell, minlength=ng * nx)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.bincount(cell, weights=v, minlength=ng * nx) / count
            dev = np.bincount(cell, weights=(v - mean[cell]) ** 2, minlength=ng * nx)
            std = np.where(count > 1, np.sqrt(dev / np.maximum(count - 1, 1)), np.nan)
        mean = np.where(count > 0, mean, np.nan)
        return [
            (g, mean[k * nx : (k + 1) * nx], std[k * nx : (k + 1) * nx], count[k * nx : (k + 1) * nx])
            for k, g in enumerate(groups)
        ]

    def _items(self, rank: int, band: bool) -> dict:
        """The plot items of the ``rank``-th line (kept between redraws: a redraw sets their data)."""
        pi = self.widget.getPlotItem()
        while len(self._pool) <= rank:
            curve = pg.PlotDataItem([], [], symbol="o", symbolPen=pg.mkPen("w", width=1.0), connect="finite")
            curve.setCurveClickable(False)
            curve.sigPointsClicked.connect(self._clicked)
            pi.addItem(curve)
            self._pool.append({"curve": curve, "band": None, "style": None, "band_colour": None})
        items = self._pool[rank]
        if band and items["band"] is None:
            upper = pg.PlotCurveItem(pen=pg.mkPen(None))
            lower = pg.PlotCurveItem(pen=pg.mkPen(None))
            fill = pg.FillBetweenItem(upper, lower)
            for it in (upper, lower, fill):
                pi.addItem(it)
            items["band"] = (upper, lower, fill)
        return items

    def _drop(self, keep: int) -> None:
        """Remove the plot items of the lines from ``keep`` on (fewer lines than before)."""
        pi = self.widget.getPlotItem()
        for items in self._pool[keep:]:
            for it in (items["curve"], *(items["band"] or ())):
                pi.removeItem(it)
        del self._pool[keep:]

    def draw(self, ok: pd.DataFrame, metric: str, x_axis: str, g_axis, study: Study) -> Drawing:
        """The mean of ``metric`` over the ok rows ``ok`` against ``x_axis``, one line per value of ``g_axis``."""
        self._x_axis, self._xs = x_axis, study.values[x_axis]
        if g_axis == x_axis:
            g_axis = NONE
        pi = self.widget.getPlotItem()
        self.curves = {}
        xs = study.values[x_axis]
        xpos = study.positions(x_axis, xs)
        text_x = x_axis in TEXT_AXES
        names = [value_text(x_axis, v) for v in xs] if text_x else []
        if names != self.ticks.names:
            self.ticks.set_names(names)
        series = [
            (k, g, mean, std, count)
            for k, (g, mean, std, count) in enumerate(self._stats(ok, metric, x_axis, g_axis, study))
            if np.isfinite(mean).any()
        ]
        self._drop(len(series))
        legend, records = [], []
        band = False
        for rank, (k, g, mean, std, count) in enumerate(series):
            colour = series_colour(k)
            with_band = bool(np.nanmax(count, initial=0) > 1 and np.isfinite(std).any())
            items = self._items(rank, with_band)
            # a line that a later one covers (the same values somewhere) is drawn wider, with larger markers
            behind = sum(
                1 for _k, _h, m2, _s, _c in series[rank + 1 :] if np.isclose(mean, m2, rtol=1e-6, atol=1e-12).any()
            )
            curve = items["curve"]
            style = (colour.name(), behind)
            if items["style"] != style:
                items["style"] = style
                curve.setPen(pg.mkPen(colour, width=2.0 + 2.0 * behind))
                curve.setSymbolBrush(pg.mkBrush(colour))
                curve.setSymbolSize(8 + 5 * behind)
            if items["band"] is not None:
                upper, lower, fill_item = items["band"]
                if with_band:
                    band = True
                    f = np.isfinite(mean) & np.isfinite(xpos)
                    s = np.where(np.isfinite(std), std, 0.0)[f]
                    upper.setData(xpos[f], mean[f] + s)
                    lower.setData(xpos[f], mean[f] - s)
                    if items["band_colour"] != colour.name():
                        items["band_colour"] = colour.name()
                        fill = QColor(colour)
                        fill.setAlpha(45)
                        fill_item.setBrush(pg.mkBrush(fill))
                for it in (upper, lower, fill_item):
                    if it.isVisible() != with_band:
                        it.setVisible(with_band)
            curve.setData(xpos, mean)
            curve.setZValue(10 + rank)
            self.curves[g] = curve
            label = value_text(g_axis, g) if g is not None else study.unit
            same = [
                h
                for _k, h, m2, _s, _c in series[rank + 1 :]
                if np.allclose(mean, m2, rtol=1e-9, atol=1e-12, equal_nan=True)
            ]
            if same:
                label += f" (the same values as {value_text(g_axis, same[0])})"
            legend.append(f"<nobr><span style='color:{colour.name()}'>━●</span> {escape(label)}</nobr>")
            for i, v in enumerate(xs):
                records.append(
                    {
                        "group_axis": "" if g is None else g_axis,
                        "group": "" if g is None else g,
                        "x_axis": x_axis,
                        "x": v,
                        "mean": mean[i],
                        "std": std[i],
                        "points": count[i],
                    }
                )
        missing = [
            value_text(g_axis, g)
            for g in study.group_values(g_axis)
            if g is not None and all(h != g for _k, h, *_rest in series)
        ]
        if missing:
            legend.append(f"<nobr>{study.missing}: {escape(', '.join(missing))}</nobr>")
        if band:
            legend.append("<nobr><span style='color:#999'>▒</span> ±1 std over the draws and the axes at “all”</nobr>")
        self._axis_label("bottom", axis_title(x_axis))
        self._axis_label("left", study.unit)
        pad = 0.5 if text_x else 0.04 * ((np.nanmax(xpos) - np.nanmin(xpos)) or 1.0)
        x_range = (float(np.nanmin(xpos)) - pad, float(np.nanmax(xpos)) + pad)
        vb = pi.getViewBox()
        if x_range != self._x_range:
            self._x_range = x_range
            vb.setXRange(*x_range, padding=0)
        # the y range from the lines and bands drawn (not the view's auto range: it would find it out at the first
        # paint, change the axes and paint the plot a second time)
        y_range = _padded_range(
            [
                y
                for _k, _g, mean, std, _c in series
                for y in (mean, mean + np.nan_to_num(std), mean - np.nan_to_num(std))
            ]
        )
        if y_range is not None and y_range != self._y_range:
            self._y_range = y_range
            vb.setYRange(*y_range, padding=0)
        return Drawing(
            " &nbsp; ".join(legend),
            pd.DataFrame(records),
            "Click a point to open its scenario in the dashboard (the first ok draw of it).",
        )

    def _clicked(self, curve, points, _event=None) -> None:
        if not len(points):
            return
        group = next((g for g, c in self.curves.items() if c is curve), None)
        x_axis, xs = self._x_axis, self._xs
        px = float(points[0].pos().x())
        if x_axis in TEXT_AXES:
            i = round(px)
            if not 0 <= i < len(xs):
                return
            x = xs[i]
        else:
            x = min(xs, key=lambda v: abs(float(v) - px)) if xs else px
        self.on_click(group, x)


class HeatMap(_Plot):
    """The mean metric over two axes, with a colour bar; a click on a cell calls ``on_click(i, j)`` (its column and
    row)."""

    def __init__(self, parent, on_click: Callable):
        super().__init__(make_plot(parent))
        self.on_click = on_click
        hp = self.widget.getPlotItem()
        hp.showGrid(x=False, y=False)
        self.image = pg.ImageItem(axisOrder="col-major")
        hp.addItem(self.image)
        self.bar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=pg.colormap.get("viridis"), interactive=False, width=14)
        self.bar.setImageItem(self.image, insert_in=hp)
        bar_axis = self.bar.axis
        bar_axis.setPen(pg.mkPen("#444"))
        bar_axis.setTextPen(pg.mkPen("#222"))
        bar_axis.setTickFont(hp.getAxis("left").style.get("tickFont"))
        bar_axis.enableAutoSIPrefix(False)
        self.x_ticks = CategoryTicks(self.widget, "bottom")
        self.y_ticks = CategoryTicks(self.widget, "left")
        self.texts: list[pg.TextItem] = []
        self.axes: tuple[list, list] = ([], [])  # the values along x and y of the map shown
        self.widget.scene().sigMouseClicked.connect(self._clicked)

    def draw(self, ok: pd.DataFrame, metric: str, x_axis: str, y_axis, study: Study) -> Drawing:
        """The mean of ``metric`` over the ok rows ``ok`` in each cell of ``x_axis`` × ``y_axis`` (one row: none)."""
        if y_axis in (None, NONE) or y_axis == x_axis:
            y_axis = None
        xs = study.values[x_axis]
        ys = study.values[y_axis] if y_axis else [None]
        grid = np.full((len(xs), len(ys)), np.nan)
        counts = np.zeros((len(xs), len(ys)), dtype=int)
        records = []
        for i, xv in enumerate(xs):
            col = ok[rows_at(ok, x_axis, xv)]
            for j, yv in enumerate(ys):
                cell = col if yv is None else col[rows_at(col, y_axis, yv)]
                v = cell[metric].astype(float).dropna()
                if len(v):
                    grid[i, j] = float(v.mean())
                    counts[i, j] = len(v)
                records.append(
                    {
                        "x_axis": x_axis,
                        "x": xv,
                        "y_axis": y_axis or "",
                        "y": "" if yv is None else yv,
                        "mean": grid[i, j],
                        "points": counts[i, j],
                    }
                )
        self.axes = (list(xs), list(ys))
        finite = grid[np.isfinite(grid)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if hi <= lo:
            lo, hi = lo - 0.5 * (abs(lo) or 1.0), hi + 0.5 * (abs(hi) or 1.0)
        self.image.setImage(grid, autoLevels=False, levels=(lo, hi))
        self.image.setRect(QRectF(-0.5, -0.5, len(xs), len(ys)))
        self.bar.setLevels((lo, hi))
        fm = QFontMetricsF(self.bar.axis.style.get("tickFont") or self.widget.font())
        top = max(abs(lo), abs(hi))
        self.bar.axis.setWidth(int(fm.horizontalAdvance(fmt_sig(-top, 4)) + 14))
        self.x_ticks.set_names([value_text(x_axis, v) for v in xs])
        names = [value_text(y_axis, v) if y_axis else "" for v in ys]
        self.y_ticks.set_names(names)
        hp = self.widget.getPlotItem()
        left = hp.getAxis("left")
        fm = QFontMetricsF(left.style.get("tickFont") or self.widget.font())
        left.setWidth(int(max((fm.horizontalAdvance(t) for t in names), default=0) + 14 + (24 if y_axis else 0)))
        cells = []  # (i, j, text, ink) of the values written in their cells
        if grid.size <= HEAT_TEXT_CELLS:
            cmap = pg.colormap.get("viridis")
            for i in range(len(xs)):
                for j in range(len(ys)):
                    if not math.isfinite(grid[i, j]):
                        continue
                    c = cmap.mapToQColor((grid[i, j] - lo) / (hi - lo))
                    luma = 0.299 * c.redF() + 0.587 * c.greenF() + 0.114 * c.blueF()
                    cells.append((i, j, fmt_sig(grid[i, j], 3), "#111" if luma > 0.5 else "#fff"))
        self._write_cells(cells)
        self._axis_label("bottom", axis_title(x_axis))
        self._axis_label("left", axis_title(y_axis) if y_axis else "")
        vb = hp.getViewBox()
        vb.setRange(xRange=(-0.5, len(xs) - 0.5), yRange=(-0.5, len(ys) - 0.5), padding=0)
        empty = int((~np.isfinite(grid)).sum())
        legend = f"Mean {escape(study.unit)} per cell over the ok points (draws and axes at “all”)" + (
            f" · {empty} empty cell{'s' if empty != 1 else ''} (no ok point or no value)" if empty else ""
        )
        return Drawing(
            legend,
            pd.DataFrame(records),
            "Click a cell to open its scenario in the dashboard (the cell's first ok point).",
        )

    def _write_cells(self, cells: list[tuple]) -> None:
        """The values written in the heat map's cells: the text items of the last drawing are reused."""
        hp = self.widget.getPlotItem()
        for t in self.texts[len(cells) :]:
            hp.removeItem(t)
        del self.texts[len(cells) :]
        for n, (i, j, text, ink) in enumerate(cells):
            if n < len(self.texts):
                t = self.texts[n]
                if (t.textItem.toPlainText(), t.color.name()) != (text, QColor(ink).name()):
                    t.setText(text, color=ink)
            else:
                t = pg.TextItem(text, color=ink, anchor=(0.5, 0.5))
                t.setZValue(5)
                hp.addItem(t)
                self.texts.append(t)
            if (t.pos().x(), t.pos().y()) != (i, j):
                t.setPos(i, j)

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        vb = self.widget.getPlotItem().getViewBox()
        if not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        p = vb.mapSceneToView(event.scenePos())
        self.on_click(round(p.x()), round(p.y()))


class Histograms:
    """The metric over the ok points (Monte Carlo draws), one histogram per group, stacked, with its mean and its
    5 % and 95 % quantiles."""

    def __init__(self, parent):
        self.widget = pg.GraphicsLayoutWidget(parent, border=None)
        self.widget.setBackground("w")
        self.widget.setMinimumSize(160, 80)
        self.plots: list[pg.PlotItem] = []
        self._items: list[dict] = []  # per plot of the histogram view: its items, kept between redraws

    def _layout(self, n: int) -> None:
        """``n`` stacked plots in the histogram view, each with its bars, its mean and its 5 % and 95 % lines:
        the plots of the last drawing when there were as many (a redraw sets their data)."""
        while len(self.plots) > n:  # fewer groups: the last plots go
            self.widget.removeItem(self.plots.pop())
            self._items.pop()
        for rank in range(len(self.plots), n):  # more groups: plots are added below
            pi = self._plot(rank)
            bars = pg.PlotDataItem([0.0, 1.0], [0], stepMode="center", fillLevel=0)
            lines = (
                pg.InfiniteLine(0.0, angle=90, pen=pg.mkPen("#222", width=2.0)),
                pg.InfiniteLine(0.0, angle=90, pen=dashed(QColor("#222"), 1.3)),
                pg.InfiniteLine(0.0, angle=90, pen=dashed(QColor("#222"), 1.3)),
            )
            for it in (bars, *lines):
                pi.addItem(it)
            self.plots.append(pi)
            self._items.append({"plot": pi, "bars": bars, "lines": lines, "colour": None, "look": {}})

    def _plot(self, row: int) -> pg.PlotItem:
        """A plot of the histogram view, styled as :func:`gui.market_panels.make_plot`'s."""
        item = self.widget.addPlot(row=row, col=0)
        item.setMenuEnabled(False)
        style_plot_item(item)
        item.getAxis("left").setWidth(48)
        _light_grid(item)
        return item

    def draw(self, ok: pd.DataFrame, metric: str, g_axis, study: Study, draws: int) -> Drawing:
        """One histogram of ``metric`` over the ok rows ``ok`` per group of ``g_axis``, stacked (a shared x range
        when the groups overlap, else each its own); ``draws``: the study's Monte Carlo draws per point."""
        groups = []
        for k, g in enumerate(study.group_values(g_axis)):
            sub = ok if g is None else ok[rows_at(ok, g_axis, g)]
            v = np.sort(sub[metric].astype(float).dropna().to_numpy())
            if v.size:
                groups.append((k, g, v))
        lo = min(float(v[0]) for _k, _g, v in groups)
        hi = max(float(v[-1]) for _k, _g, v in groups)
        widest = max(float(v[-1] - v[0]) for _k, _g, v in groups)
        shared = (hi - lo) <= 5.0 * widest  # the groups overlap or lie close: compare them on one axis

        def edges_for(a: float, b: float, spread: float) -> np.ndarray:
            span = b - a
            if span <= 1e-12 * max(abs(b), 1.0):
                half = 0.01 * (abs(a) or 1.0)
                return np.array([a - half, b + half])
            bins = int(np.clip(round(12 * span / max(spread, span / 40.0)), 5, 40))
            return np.linspace(a, b, bins + 1)

        legend, records = [], []
        common = (
            edges_for(lo, hi, min((float(v[-1] - v[0]) for _k, _g, v in groups if v[-1] > v[0]), default=hi - lo))
            if shared
            else None
        )
        last = len(groups) - 1
        self._layout(len(groups))
        for rank, (k, g, v) in enumerate(groups):
            edges = common if shared else edges_for(float(v[0]), float(v[-1]), float(v[-1] - v[0]))
            counts, _ = np.histogram(v, bins=edges)
            colour = series_colour(k)
            items = self._items[rank]
            pi = items["plot"]
            if items["colour"] != colour.name():
                items["colour"] = colour.name()
                fill = QColor(colour)
                fill.setAlpha(110)
                items["bars"].setPen(pg.mkPen(colour, width=1.6))
                items["bars"].setBrush(pg.mkBrush(fill))
            items["bars"].setData(edges, counts)
            mean, q05, q95 = float(v.mean()), float(np.quantile(v, 0.05)), float(np.quantile(v, 0.95))
            for line, x in zip(items["lines"], (mean, q05, q95), strict=True):
                line.setValue(x)
            name = value_text(g_axis, g) if g is not None else "All ok points"
            # what the plot shows besides its data: set only when it changes (setting it lays the plot out)
            look = {
                "title": f"<span style='color:{colour.name()}'>■</span> {escape(name)}",
                "ticks": max(1, math.ceil(counts.max(initial=1) / 4)),
                "link": bool(shared and rank),
                "bottom": study.unit if rank == last else ("" if not shared else None),
                "values": not (shared and rank != last),
                "left": "Points" if rank == last // 2 else None,
            }
            old = items["look"]
            if old.get("title") != look["title"]:
                pi.setTitle(look["title"], size="9pt", color="#222", justify="left")
            if old.get("ticks") != look["ticks"]:
                pi.getAxis("left").setTickSpacing(major=look["ticks"], minor=1)
            if old.get("link") != look["link"]:
                pi.setXLink(self.plots[0] if look["link"] else None)
            for side in ("bottom", "left"):
                if side in old and old[side] == look[side]:
                    continue
                if look[side] is None:
                    pi.showLabel(side, False)
                else:
                    pi.setLabel(side, look[side], color="#222", size="9pt")
            if old.get("values") != look["values"]:
                pi.getAxis("bottom").setStyle(showValues=look["values"])
            items["look"] = look
            pad = 0.03 * (edges[-1] - edges[0])
            pi.getViewBox().setRange(
                xRange=(edges[0] - pad, edges[-1] + pad),
                yRange=(0, max(int(counts.max(initial=0)), 1) * 1.1),
                padding=0,
            )
            same = [h for _k, h, w in groups[rank + 1 :] if w.size == v.size and np.allclose(w, v, rtol=1e-9)]
            note = f" (the same values as {value_text(g_axis, same[0])})" if same else ""
            legend.append(
                f"<nobr><span style='color:{colour.name()}'>■</span> {escape(name + note)}: mean "
                f"<b>{escape(fmt_sig(mean))}</b>, 5–95 % [{escape(fmt_sig(q05))}, "
                f"{escape(fmt_sig(q95))}] (n = {v.size})</nobr>"
            )
            for b in range(len(counts)):
                records.append(
                    {
                        "group_axis": "" if g is None else g_axis,
                        "group": "" if g is None else g,
                        "bin_from": edges[b],
                        "bin_to": edges[b + 1],
                        "points": int(counts[b]),
                        "mean": mean,
                        "q05": q05,
                        "q95": q95,
                    }
                )
        missing = [
            value_text(g_axis, g)
            for g in study.group_values(g_axis)
            if g is not None and all(h != g for _k, h, _v in groups)
        ]
        if missing:
            legend.append(f"<nobr>{study.missing}: {escape(', '.join(missing))}</nobr>")
        legend.append(
            "<nobr>━ mean &nbsp; ╍ 5 % and 95 % quantiles"
            + ("" if shared else " · each group on its own scale (far apart)")
            + "</nobr>"
        )
        return Drawing(
            " &nbsp; ".join(legend),
            pd.DataFrame(records),
            "The metric over every ok point (Monte Carlo draws and the axes at “all”)."
            + ("" if draws > 1 else " Set draws > 1 and some noise for a distribution."),
        )
