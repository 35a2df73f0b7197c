"""Rendering a figure's graphics offscreen: to SVG bytes, to PNG bytes, or as vectors into any QPainter (the PDF).

The figure's item is put in a ``pyqtgraph.GraphicsScene`` and drawn with ``QGraphicsScene.render`` — the scene's
items only. pyqtgraph's items place their ticks and labels in device coordinates, which they read from a view of
their scene; a :class:`Canvas` therefore gives the scene one ``pyqtgraph.GraphicsView``, never shown, whose only
content is the figure's item. Nothing on screen is grabbed, and no widget is drawn.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QGraphicsProxyWidget

from gui.figures import Figure

_IGNORES = QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations


class Canvas:
    """An offscreen scene holding one figure, sized ``width`` × ``height`` logical pixels."""

    def __init__(self, fig: Figure):
        self.figure = fig
        self.width, self.height = fig.size
        if hasattr(fig.item, "minimumSize"):  # never narrower than its layout needs (it would overflow the page)
            need = fig.item.minimumSize()
            self.width = max(self.width, math.ceil(need.width()))
            self.height = max(self.height, math.ceil(need.height()))
            fig.size = (self.width, self.height)
        # pyqtgraph's items read their device geometry from a pyqtgraph view of their scene: one that is never
        # shown, whose only content is the figure's item
        self.view = pg.GraphicsView(background="w")
        self.view.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        self.view.resize(self.width, self.height)
        self.scene = self.view.scene()
        self.rect = QRectF(0, 0, self.width, self.height)
        self.view.setCentralItem(fig.item)
        self.view.setRange(self.rect, padding=0)
        self._settle()

    def _settle(self) -> None:
        """Let the items lay themselves out (pyqtgraph's layouts and view ranges update on events)."""
        from PySide6.QtWidgets import QApplication

        for _ in range(3):
            QApplication.processEvents()
        self.figure.item.setGeometry(self.rect)

    def _dpi(self) -> int:
        return self.view.logicalDpiX()

    def _export_mode(self, on: bool, painter) -> None:
        """pyqtgraph's export mode (what its own exporters do): markers drawn as vectors, not cached pixmaps."""
        opts = {"antialias": True, "background": QColor("white"), "painter": painter}
        if on:
            self._undo = []  # what puts the items back as the screen draws them
        for item in self.scene.items():
            if hasattr(item, "setExportMode"):
                item.setExportMode(on, opts if on else None)
            if not on:
                continue
            # a curve as one path, not one line per segment: pyqtgraph segments wide pens for screen speed, which
            # wrote the 1,000-bus supply and demand as 7,700 SVG polylines (4 MB of the HTML report)
            if isinstance(item, pg.PlotCurveItem):
                mode = item.opts["segmentedLineMode"]
                self._undo.append(lambda item=item, mode=mode: item.setSegmentedLineMode(mode))
                item.setSegmentedLineMode("off")
            # pyqtgraph's legends ignore transformations (they keep their size as a plot zooms): painted scaled into
            # a PDF page their text kept its pixel size while the rest shrank, and the last column ran off the
            # figure. In a figure's layout a legend scales with everything else.
            if isinstance(item, pg.LegendItem) and item.flags() & _IGNORES:
                self._undo.append(lambda item=item: item.setFlag(_IGNORES, True))
                item.setFlag(_IGNORES, False)
        if not on:
            for undo in getattr(self, "_undo", ()):
                undo()
            self._undo = []

    def widgets(self) -> list:
        """Widgets embedded in the figure (there must be none)."""
        return [it for it in self.scene.items() if isinstance(it, QGraphicsProxyWidget)]

    def paint(self, painter: QPainter, target: QRectF) -> None:
        """Draw the figure into ``target`` of ``painter`` (vectors on a vector device: SVG, PDF)."""
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        self.scene.render(painter, target, self.rect, Qt.AspectRatioMode.KeepAspectRatio)
        painter.restore()

    def export_paint(self, painter: QPainter, target: QRectF) -> None:
        """:meth:`paint` in pyqtgraph's export mode (markers as vectors, not cached pixmaps)."""
        self._export_mode(True, painter)
        try:
            self.paint(painter, target)
        finally:
            self._export_mode(False, None)

    def svg(self, title: str = "") -> bytes:
        from PySide6.QtSvg import QSvgGenerator

        data = QByteArray()
        buf = QBuffer(data)
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        gen = QSvgGenerator()
        gen.setOutputDevice(buf)
        gen.setSize(QSize(self.width, self.height))
        # the screen's resolution: pyqtgraph lays its axes and markers out for the device it paints on, and the
        # generator's own default (90 dpi) drew them out of step with the data
        gen.setResolution(self._dpi())
        gen.setViewBox(self.rect)
        gen.setTitle(title or self.figure.caption)
        gen.setDescription("Drawn by Feeder Market from the market's result")
        painter = QPainter(gen)
        self._export_mode(True, painter)
        try:
            painter.fillRect(self.rect, QColor("white"))
            self.paint(painter, self.rect)
        finally:
            painter.end()
            self._export_mode(False, None)
        buf.close()
        return bytes(data.data())

    def png(self, scale: float = 2.0) -> bytes:
        img = QImage(int(self.width * scale), int(self.height * scale), QImage.Format.Format_ARGB32)
        img.setDevicePixelRatio(scale)
        img.fill(QColor("white"))
        painter = QPainter(img)
        try:
            self.paint(painter, self.rect)
        finally:
            painter.end()
        data = QByteArray()
        buf = QBuffer(data)
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        img.save(buf, "PNG")
        buf.close()
        return bytes(data.data())

    def close(self) -> None:
        self.view.deleteLater()


class ItemCanvas(Canvas):
    """A figure whose item already lives in a scene (a panel's plot on screen): its scene is drawn within the
    item's bounds — the item and its children only, never the widgets around it."""

    def __init__(self, fig: Figure):  # no offscreen view: the item has its own
        self.figure = fig
        self.width, self.height = fig.size
        self.scene = fig.item.scene()
        self.rect = QRectF(0, 0, self.width, self.height)

    def _dpi(self) -> int:
        return self.scene.views()[0].logicalDpiX()

    def paint(self, painter: QPainter, target: QRectF) -> None:
        # through the view that shows it: pyqtgraph's axes and labels are laid out for that view's geometry
        view = self.scene.views()[0]
        source = view.mapFromScene(self.figure.item.sceneBoundingRect()).boundingRect()
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        view.render(painter, target, source, Qt.AspectRatioMode.KeepAspectRatio)
        painter.restore()

    def close(self) -> None:
        pass


def canvas_for(fig: Figure) -> Canvas:
    """The canvas that draws ``fig``: offscreen for a figure built for it, its own view for one already shown."""
    scene = fig.item.scene()
    return ItemCanvas(fig) if scene is not None and scene.views() else Canvas(fig)


def render_svg(fig: Figure) -> bytes:
    canvas = Canvas(fig)
    try:
        return canvas.svg()
    finally:
        canvas.close()


def render_png(fig: Figure, scale: float = 2.0) -> bytes:
    canvas = Canvas(fig)
    try:
        return canvas.png(scale)
    finally:
        canvas.close()
