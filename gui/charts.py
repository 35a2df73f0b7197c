"""Small chart helpers shared by the panels: named categories on an axis, labelled numbers, a palette.

Nothing here knows about markets; it only draws what it is given.
"""

from __future__ import annotations

import math
from html import escape

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFontMetricsF
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QScrollArea, QSizePolicy, QWidget

from gui.presenting import muted

# a colour per series (matplotlib's tab10, readable on white)
PALETTE = tuple(
    QColor(c)
    for c in (
        "#1f77b4",
        "#ff7f0e",
        "#2ca02c",
        "#d62728",
        "#9467bd",
        "#8c564b",
        "#e377c2",
        "#7f7f7f",
        "#bcbd22",
        "#17becf",
    )
)


def series_colour(i: int) -> QColor:
    return PALETTE[i % len(PALETTE)]


def nice_stride(k: int) -> int:
    """``k`` rounded up to 1, 2, 5, 10, 20, 50…"""
    if k <= 1:
        return 1
    mag = 10 ** math.floor(math.log10(k))
    return next(m * mag for m in (1, 2, 5, 10) if m * mag >= k)


class CategoryTicks:
    """Names at the integer positions 0…n−1 of one axis; every k-th when they would not fit side by side.

    Follows the view: zooming in shows more names, zooming out fewer. ``side``
    is ``"bottom"`` (names side by side: their width counts) or ``"left"``
    (names stacked: the line height counts).
    """

    def __init__(self, plot: pg.PlotWidget, side: str = "bottom"):
        self.plot = plot
        self.side = side
        self.names: list[str] = []
        self.stride = 1
        vb = plot.getPlotItem().getViewBox()
        signal = vb.sigXRangeChanged if side == "bottom" else vb.sigYRangeChanged
        signal.connect(lambda *_a: self.update())
        vb.sigResized.connect(lambda *_a: self.update())

    def set_names(self, names) -> None:
        self.names = [str(n) for n in names]
        self.update()

    def update(self) -> None:
        item = self.plot.getPlotItem()
        ax = item.getAxis(self.side)
        n = len(self.names)
        if n == 0:
            ax.setTicks([[]])
            return
        vb = item.getViewBox()
        horizontal = self.side in ("bottom", "top")
        lo, hi = vb.viewRange()[0 if horizontal else 1]
        pixels = max(vb.width() if horizontal else vb.height(), 40.0)
        fm = QFontMetricsF(ax.style.get("tickFont") or self.plot.font())
        if horizontal:
            need = max(fm.horizontalAdvance(s) for s in self.names) + 8.0
        else:
            need = fm.height() + 2.0
        per_item = pixels / max(hi - lo, 1.0)
        k = nice_stride(max(1, math.ceil(need / max(per_item, 1e-9))))
        self.stride = k
        major = [(float(i), self.names[i]) for i in range(0, n, k)]
        minor = [(float(i), "") for i in range(n)] if k > 1 and per_item >= 3 else []
        ax.setTicks([major, minor])


class StatGrid(QWidget):
    """Labelled numbers, one per line: a grey caption, the value in bold with its unit, a note; each with a tooltip.

    Read back with :meth:`value` (plain text with the unit, as a test or a report wants it).
    """

    def __init__(self, keys: list[tuple[str, str, str]], parent=None):
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(2)
        grid.setColumnStretch(1, 1)
        self.captions: dict[str, QLabel] = {}
        self.labels: dict[str, QLabel] = {}
        self.values: dict[str, str] = {}
        for row, (key, caption, tip) in enumerate(keys):
            cap = QLabel(caption, self)
            muted(cap, "#555")
            cap.setToolTip(tip)
            label = QLabel(self)
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setToolTip(tip)
            label.setWordWrap(True)
            grid.addWidget(cap, row, 0, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            grid.addWidget(label, row, 1, Qt.AlignmentFlag.AlignTop)
            self.captions[key] = cap
            self.labels[key] = label
            self.set(key, "–")

    def set(self, key: str, value: str, unit: str = "", note: str = "") -> None:
        self.values[key] = f"{value} {unit}".strip() + (f" {note}" if note else "")
        unit_html = f"&nbsp;{escape(unit)}" if unit else ""
        note_html = f" <span style='color:#666'>{escape(note)}</span>" if note else ""
        self.labels[key].setText(f"<b>{escape(value)}</b>{unit_html}{note_html}")

    def show_only(self, keys) -> None:
        keys = set(keys)
        for key in self.labels:
            self.labels[key].setVisible(key in keys)
            self.captions[key].setVisible(key in keys)

    def value(self, key: str) -> str:
        """The value shown for ``key`` as plain text with its unit (``"0 %"``, ``"2,867.37 EUR"``)."""
        return self.values[key]


class StatLine(QLabel):
    """Labelled numbers in a line of text (``caption value unit · …``), wrapping when narrow.

    The API of :class:`StatGrid`.
    """

    def __init__(self, keys: list[tuple[str, str, str]], parent=None):
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setWordWrap(True)
        self.keys = [k for k, _c, _t in keys]
        self.captions = {k: c for k, c, _t in keys}
        self.setToolTip("\n".join(f"{c}: {t}" for _k, c, t in keys))
        self.values: dict[str, str] = {}
        self._html: dict[str, str] = {}
        self._shown = set(self.keys)
        for k in self.keys:
            self.set(k, "–")

    def set(self, key: str, value: str, unit: str = "", note: str = "") -> None:
        self.values[key] = f"{value} {unit}".strip() + (f" {note}" if note else "")
        unit_html = f"&nbsp;{escape(unit)}" if unit else ""
        note_html = f" <span style='color:#666'>{escape(note)}</span>" if note else ""
        self._html[key] = (
            f"<nobr><span style='color:#555'>{escape(self.captions[key])}</span> "
            f"<b>{escape(value)}</b>{unit_html}</nobr>{note_html}"
        )
        self._render()

    def show_only(self, keys) -> None:
        self._shown = set(keys)
        self._render()

    def _render(self) -> None:
        self.setText(" &nbsp;·&nbsp; ".join(self._html[k] for k in self.keys if k in self._shown and k in self._html))

    def value(self, key: str) -> str:
        return self.values[key]


def side_column(widget: QWidget, width: int = 270) -> QScrollArea:
    """``widget`` in a vertically scrolling column about ``width`` px wide (a panel's summary beside its plots)."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setWidget(widget)
    area.setMinimumWidth(min(max(widget.minimumSizeHint().width() + 14, 180), width))
    area.resize(width, area.height())
    widget.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
    return area


def index_at(plot: pg.PlotWidget, scene_pos, n: int, axis: int = 0) -> int | None:
    """The category index (rounded view x, or y with ``axis=1``) under a scene position, or None."""
    vb = plot.getPlotItem().getViewBox()
    if n == 0 or not vb.sceneBoundingRect().contains(scene_pos):
        return None
    p = vb.mapSceneToView(scene_pos)
    i = round(p.x() if axis == 0 else p.y())
    return i if 0 <= i < n else None


__all__ = [
    "PALETTE",
    "CategoryTicks",
    "StatGrid",
    "StatLine",
    "index_at",
    "nice_stride",
    "series_colour",
    "side_column",
]
