"""Presenting and exporting: panel pictures (PNG/SVG), result tables (CSV/Excel), themes, fonts.

Nothing here computes a number: the tables written are the ``MarketResult``'s
own DataFrames, and the pictures are the panels as drawn.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette
from PySide6.QtWidgets import QApplication, QWidget

try:  # QtSvg ships with PySide6-Essentials; keep the dashboard working if a build lacks it
    from PySide6.QtSvg import QSvgGenerator
except ImportError:  # pragma: no cover - depends on the installed wheel
    QSvgGenerator = None

HAVE_SVG = QSvgGenerator is not None
HAVE_EXCEL = importlib.util.find_spec("openpyxl") is not None

# the result tables written by "Results as CSV…": file stem → MarketResult attribute
RESULT_TABLES = ("agents", "agent_periods", "periods", "mechanisms", "buses", "lines", "market_power", "fairness")


def _size(widget: QWidget) -> QSize:
    size = widget.size()
    if size.width() < 50 or size.height() < 50:  # never laid out (a dock behind another): its preferred size
        size = widget.sizeHint().expandedTo(QSize(640, 420))
        widget.resize(size)
    return size


def png_bytes(widget: QWidget) -> bytes:
    """The widget as drawn, as PNG bytes."""
    _size(widget)
    pixmap = widget.grab()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    pixmap.save(buf, "PNG")
    buf.close()
    return bytes(data.data())


def save_png(widget: QWidget, path: str | Path) -> Path:
    p = Path(path)
    p.write_bytes(png_bytes(widget))
    return p


def save_svg(widget: QWidget, path: str | Path, title: str = "") -> Path:
    """The widget painted into an SVG file (vector for the pyqtgraph plots and the feeder's scene)."""
    if not HAVE_SVG:
        raise OSError("SVG export needs PySide6.QtSvg, which this installation lacks")
    p = Path(path)
    size = _size(widget)
    gen = QSvgGenerator()
    gen.setFileName(str(p))
    gen.setSize(size)
    gen.setViewBox(QRect(0, 0, size.width(), size.height()))
    gen.setTitle(title or widget.windowTitle() or "Feeder Market panel")
    gen.setDescription("Exported from Feeder Market")
    painter = QPainter()
    if not painter.begin(gen):
        raise OSError(f"{p}: cannot write an SVG file here")
    try:
        QWidget.render(widget, painter, QPoint())  # the widget and its children (not QGraphicsView.render)
    finally:
        painter.end()
    return p


def result_tables(result) -> dict[str, object]:
    """The result's DataFrames to export (the optional ones only when present)."""
    out = {}
    for name in RESULT_TABLES:
        df = getattr(result, name, None)
        if df is not None and len(df.columns):
            out[name] = df
    return out


def write_csv_folder(result, folder: str | Path) -> list[Path]:
    """One CSV per result table in ``folder`` (created); the files written."""
    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in result_tables(result).items():
        p = d / f"{name}.csv"
        df.to_csv(p, index=not _plain_index(df))
        written.append(p)
    return written


def write_excel(result, path: str | Path) -> Path:
    """One sheet per result table (needs openpyxl)."""
    import pandas as pd

    p = Path(path)
    with pd.ExcelWriter(p, engine="openpyxl") as xl:
        for name, df in result_tables(result).items():
            df.to_excel(xl, sheet_name=name[:31], index=not _plain_index(df))
    return p


def _plain_index(df) -> bool:
    """A 0..n-1 RangeIndex carries nothing worth a column."""
    import pandas as pd

    return isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1


# --- themes ------------------------------------------------------------------------------------
THEMES = ("light", "dark")
# muted text: the greys the panels use on the light theme, and what each becomes on the dark one
MUTED_DARK = {"#282828": "#e2e2e2", "#333": "#d4d4d4", "#444": "#c8c8c8", "#555": "#b4b4b4", "#666": "#a4a4a4"}
_current = {"theme": "light"}


def muted(widget: QWidget, grey: str = "#555", extra: str = "") -> None:
    """Colour ``widget``'s text a muted ``grey`` (one of :data:`MUTED_DARK`'s keys) that follows the theme;
    ``extra``: more style sheet declarations. The dark theme turns it into a light grey."""
    sheet = _muted_sheet(grey, extra, _current["theme"])
    widget.setProperty("muted_ink", (grey, extra, sheet))
    widget.setStyleSheet(sheet)


def _muted_sheet(grey: str, extra: str, theme: str) -> str:
    colour = MUTED_DARK.get(grey, grey) if theme == "dark" else grey
    return f"color: {colour};{extra}"


def _retint(root: QWidget, theme: str) -> None:
    """Re-colour the muted texts under ``root`` that still wear the style :func:`muted` gave them."""
    for w in [root, *root.findChildren(QWidget)]:
        ink = w.property("muted_ink")
        if not ink or w.styleSheet() != ink[2]:
            continue
        sheet = _muted_sheet(ink[0], ink[1], theme)
        w.setProperty("muted_ink", (ink[0], ink[1], sheet))
        w.setStyleSheet(sheet)


_DARK_BG, _DARK_FG = QColor(30, 32, 36), QColor(220, 222, 226)


def dark_palette() -> QPalette:
    p = QPalette()
    R = QPalette.ColorRole
    base, alt, text = QColor(38, 40, 45), QColor(48, 51, 57), _DARK_FG
    for role, colour in (
        (R.Window, _DARK_BG),
        (R.WindowText, text),
        (R.Base, base),
        (R.AlternateBase, alt),
        (R.ToolTipBase, alt),
        (R.ToolTipText, text),
        (R.Text, text),
        (R.Button, alt),
        (R.ButtonText, text),
        (R.BrightText, QColor(255, 90, 90)),
        (R.Highlight, QColor(52, 120, 200)),
        (R.HighlightedText, QColor(255, 255, 255)),
        (R.Link, QColor(110, 170, 255)),
        (R.PlaceholderText, QColor(140, 142, 148)),
    ):
        p.setColor(role, colour)
    for role in (R.WindowText, R.Text, R.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 122, 128))
    return p


def apply_theme(
    app: QApplication, root: QWidget, theme: str, light_palette: QPalette, restyle_plots: bool = True
) -> None:
    """Palette for the widgets; background and ink for every pyqtgraph view under ``root``.

    ``restyle_plots=False`` leaves the plots as their panels drew them (the light theme at start).
    """
    dark = theme == "dark"
    _current["theme"] = theme
    app.setPalette(dark_palette() if dark else light_palette)
    _retint(root, theme)
    bg, fg = (_DARK_BG, _DARK_FG) if dark else (QColor("white"), "d")
    pg.setConfigOption("background", bg)
    pg.setConfigOption("foreground", fg)
    if not restyle_plots:
        return
    for view in root.findChildren(pg.GraphicsView):
        view.setBackground(bg)
        for item in view.scene().items():
            if isinstance(item, pg.AxisItem):
                item.setPen()
                item.setTextPen()
            elif isinstance(item, pg.TextItem) and item.fill.style() == Qt.BrushStyle.NoBrush:
                # labels drawn straight on the plot: dark ink on the light theme, light on the dark one
                light = getattr(item, "_light_ink", None)
                if light is None:
                    light = item._light_ink = QColor(item.color)
                item.setColor(_DARK_FG if dark and light.lightness() < 100 else light)


# --- fonts ---------------------------------------------------------------------------------------
def scale_plot_fonts(root: QWidget, factor: float | None) -> None:
    """Tick fonts of every pyqtgraph axis under ``root`` ×``factor`` (None: back to the default)."""
    font = None
    if factor is not None:
        font = QFont(QApplication.font())
    for view in root.findChildren(pg.GraphicsView):
        for item in view.scene().items():
            if isinstance(item, pg.AxisItem):
                item.setTickFont(font)
                if font is not None:
                    item.label.setFont(font)
                else:
                    item.label.setFont(QFont(QApplication.font()))
