"""The report written to a file — HTML or PDF — with its figures drawn from the result (:mod:`gui.figures`).

:func:`write_report` is what File ▸ Export ▸ Report… and the headless ``feeder-market report`` command call: it
builds the document (:func:`core.report.build_report`), draws each figure offscreen from the result, and writes

* **HTML**: one self-contained file, figures as SVG (:func:`core.report.to_html`);
* **PDF**: A4 or Letter, drawn with Qt's PDF writer — text as text, figures as vectors, page numbers, a figure and
  its caption never split across pages, long tables continued on the next page under their header.

No window is needed: the figures are graphics items rendered offscreen (``QT_QPA_PLATFORM=offscreen`` where there
is no display).
"""

from __future__ import annotations

import time
from html import escape
from pathlib import Path

from core.market import MarketResult
from core.report import FigureSlot, Heading, KeyFigures, Paragraph, Report, Table, build_report, to_html
from core.scenario.model import Scenario

PAGE_SIZES = ("A4", "Letter")
NUM_CELL = " class=num align=right style='white-space:nowrap; font-size:{pt}pt'"  # a number is never broken
NOWRAP = " style='white-space:nowrap; font-size:{pt}pt'"
CELL = " style='font-size:{pt}pt'"
SHORT_TEXT = 30  # a text cell this short is not broken either (a mechanism's name, a bus id)
SUFFIXES = (".html", ".htm", ".pdf")


class ReportError(Exception):
    """A report that cannot be written: one line for the user."""


def draw_figures(scenario: Scenario, result: MarketResult, keys=None) -> dict:
    """key → :class:`gui.figures.Figure` for every figure this result has (``keys``: which, default all)."""
    from gui.figures import builders

    out = {}
    for key, build in builders().items():
        if keys is not None and key not in keys:
            continue
        fig = build(result, scenario, result.period)
        if fig is not None:
            out[key] = fig
    return out


def check_path(path: str | Path) -> Path:
    """``path`` if a report can be written there, else :class:`ReportError` with one line."""
    p = Path(path)
    if p.is_dir():
        raise ReportError(f"{p}: is a folder; give a file name ending in .html or .pdf")
    if p.suffix.lower() not in SUFFIXES:
        raise ReportError(f"{p}: a report is written as .html or .pdf (the name's ending chooses)")
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.exists():
        raise ReportError(f"{p}: the folder {folder} does not exist")
    if not folder.is_dir():
        raise ReportError(f"{p}: {folder} is not a folder")
    import os

    if not os.access(folder, os.W_OK):
        raise ReportError(f"{p}: cannot write in {folder} (no permission)")
    return p


def write_report(
    path: str | Path,
    scenario: Scenario,
    result: MarketResult,
    title: str | None = None,
    page: str = "A4",
) -> tuple[Path, float]:
    """Write the report of ``result`` to ``path`` (.html or .pdf, atomically). Returns (path, seconds)."""
    t0 = time.perf_counter()
    p = check_path(path)
    figs = draw_figures(scenario, result)
    report = build_report(scenario, result, title, tuple(figs))
    write_document(p, report, figs, page)
    return p, time.perf_counter() - t0


def write_document(path: str | Path, report: Report, figures: dict, page: str = "A4") -> Path:
    """Write ``report`` with its ``figures`` (key → :class:`gui.figures.Figure`) to ``path``: PDF or HTML by the
    name's ending, atomically."""
    from core.files import write_atomic

    p = check_path(path)
    try:
        if p.suffix.lower() == ".pdf":
            data = pdf_bytes(report, figures, page)
            write_atomic(p, lambda fh: fh.write(data), mode="wb", encoding=None, newline=None)
        else:
            from gui.figures.render import canvas_for

            rendered = {}
            for key, fig in figures.items():
                canvas = canvas_for(fig)
                try:
                    rendered[key] = (canvas.svg(), fig.caption)
                finally:
                    canvas.close()
            text = to_html(report, rendered)
            write_atomic(p, lambda fh: fh.write(text))
    except OSError as err:
        raise ReportError(f"{p}: cannot write the report ({err.strerror or err})") from None
    return p


# --- PDF --------------------------------------------------------------------------------------------------------
_CSS = """
body { font-family: 'DejaVu Sans'; font-size: 9pt; color: #222; }
h1 { font-size: 17pt; } h2 { font-size: 12.5pt; color: #1d2c4d; } p { margin: 0; }
.note { color: #555; font-size: 8pt; } .meta { color: #666; font-size: 8pt; }
td.num { text-align: right; } th { background-color: #eef1f6; text-align: left; font-weight: bold; }
.kv { font-size: 12pt; font-weight: bold; } .kw { color: #555; font-size: 7.5pt; }
"""


def _figure_height(slot, figures: dict, width: float) -> float:
    """About how tall figure ``slot`` prints at ``width`` points (its caption included)."""
    fig = figures.get(slot.key) if isinstance(slot, FigureSlot) else None
    if fig is None:
        return 0.0
    w, h = fig.size
    return width * h / w + 50.0


def _keep_with(following: list, figures: dict, width: float) -> float:
    """The room a heading needs below it on the same page: what it introduces (or a few lines)."""
    if not following:
        return 0.0
    nxt = following[0]
    if isinstance(nxt, FigureSlot):
        return _figure_height(nxt, figures, width)
    if isinstance(nxt, Paragraph) and len(following) > 1 and isinstance(following[1], FigureSlot):
        return 40.0 + _figure_height(following[1], figures, width)
    return 110.0 if isinstance(nxt, Table) else 60.0


def _header_lines(text: str, width: int = 12) -> str:
    """A column header broken into short lines at its spaces (never inside a word, which Qt does to a header
    squeezed by its neighbours)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(escape(x) for x in lines)


class _Pdf:
    """Lays the report's blocks out on pages (first pass), then paints them with page numbers (second pass)."""

    GAP = 6.0  # points between blocks

    def __init__(self, writer, painter):
        from PySide6.QtGui import QPageLayout

        self.writer, self.painter = writer, painter
        res = writer.resolution()
        self.k = res / 72.0  # device pixels per point
        rect = writer.pageLayout().paintRectPixels(res)
        self.width = rect.width() / self.k
        self.height = rect.height() / self.k - 22.0  # the footer's room
        self.pages: list[list] = [[]]
        self.y = 0.0
        self._unit = QPageLayout.Unit.Point

    # the first pass --------------------------------------------------------------------------------------------
    def doc(self, html: str, width: float | None = None):
        from PySide6.QtGui import QTextDocument

        d = QTextDocument()
        d.documentLayout().setPaintDevice(self.writer)
        d.setDefaultStyleSheet(_CSS)
        d.setDocumentMargin(0)
        d.setHtml(f"<body>{html}</body>")
        d.setTextWidth((width or self.width) * self.k)
        return d

    def height_of(self, d) -> float:
        return d.size().height() / self.k

    def new_page(self) -> None:
        self.pages.append([])
        self.y = 0.0

    def room(self) -> float:
        return self.height - self.y

    def place(self, height: float, paint, keep_with_next: float = 0.0) -> None:
        """Put a block of ``height`` points here (a new page first if it does not fit with ``keep_with_next``)."""
        if self.y > 0 and height + keep_with_next > self.room():
            self.new_page()
        y = self.y
        self.pages[-1].append(lambda painter, y=y: paint(painter, y))
        self.y += height + self.GAP

    def text(self, html: str, keep_with_next: float = 0.0) -> None:
        d = self.doc(html)
        h = self.height_of(d)

        def paint(painter, y, d=d):
            painter.save()
            painter.translate(0, y * self.k)
            d.drawContents(painter)
            painter.restore()

        self.place(h, paint, keep_with_next)

    def table(self, t: Table) -> None:
        def html(rows, pt: float, full: bool = True) -> str:
            head = "".join(
                f"<th{' align=right' if n else ''}{NOWRAP.format(pt=pt)}>{_header_lines(c)}</th>"
                for c, n in zip(t.columns, t.numeric, strict=True)
            )
            num, short, cell = NUM_CELL.format(pt=pt), NOWRAP.format(pt=pt), CELL.format(pt=pt)
            body = "".join(
                "<tr>"
                + "".join(
                    f"<td{num if n else (short if len(v) <= SHORT_TEXT else cell)}>{escape(v)}</td>"
                    for v, n in zip(r, t.numeric, strict=True)
                )
                + "</tr>"
                for r in rows
            )
            return (
                "<table border=0.5 cellspacing=0 cellpadding=2 style='border-color:#c8cdd8' "
                f"{'width=100%' if full else ''}><thead><tr>{head}</tr></thead>{body}</table>"
            )

        # the largest font (7.5 pt down to 5.5 pt) at which the table fits the text column's width
        for pt in (7.5, 7.0, 6.5, 6.0, 5.5):
            natural = self.doc(html(t.rows[:40], pt, full=False), width=100 * self.width).idealWidth()
            if natural <= self.width * self.k:
                break
        html_at = lambda rows: html(rows, pt)  # noqa: E731
        rows = list(t.rows)
        while rows:
            # as many rows as fit here (at least a few, else the next page)
            fit = self._rows_fitting(rows, html_at)
            if fit == 0:
                self.new_page()
                fit = max(1, self._rows_fitting(rows, html_at))
            self.text(html_at(rows[:fit]))
            rows = rows[fit:]
            if rows:
                self.new_page()
        if t.note:
            self.text(f"<p class=note>{escape(t.note)}</p>")

    def _rows_fitting(self, rows, html) -> int:
        if self.height_of(self.doc(html(rows))) <= self.room():
            return len(rows)
        lo, hi = 0, len(rows)
        while lo < hi:  # the most rows whose table fits in the room left
            mid = (lo + hi + 1) // 2
            if self.height_of(self.doc(html(rows[:mid]))) <= self.room():
                lo = mid
            else:
                hi = mid - 1
        return lo if lo >= min(3, len(rows)) else 0

    def figure(self, fig, number: int) -> None:
        from PySide6.QtCore import QRectF

        from gui.figures.render import canvas_for

        # painted straight into the page as vectors at paint time (the PDF is laid out at the screen's 96 dpi, the
        # resolution pyqtgraph sizes its labels and markers for; clipping to the plots is kept)
        canvas = canvas_for(fig)
        w_px, h_px = canvas.width, canvas.height  # what the figure's layout needed
        self._canvases.append(canvas)
        w = self.width
        h = w * h_px / w_px
        cap = self.doc(f"<p class=note><b>Figure {number}.</b> {escape(fig.caption)}</p>")
        ch = self.height_of(cap)
        if h + ch > self.height:  # never taller than a page
            h = self.height - ch - self.GAP
            w = h * w_px / h_px

        def paint(painter, y, canvas=canvas, cap=cap, w=w, h=h):
            k = self.k
            canvas.export_paint(painter, QRectF((self.width - w) / 2 * k, y * k, w * k, h * k))
            painter.save()
            painter.translate(0, (y + h + 3) * k)
            cap.drawContents(painter)
            painter.restore()

        self.place(h + 3 + ch, paint)

    def key_figures(self, kf: KeyFigures) -> None:
        cells = [
            f"<td width=33%><span class=kw>{escape(label)}</span><br><span class=kv>{escape(value)}</span><br>"
            f"<span class=kw>{escape(what)}</span></td>"
            for label, value, what in kf.items
        ]
        rows = ["<tr>" + "".join(cells[i : i + 3]) + "</tr>" for i in range(0, len(cells), 3)]
        self.text(f"<table cellspacing=0 cellpadding=4 width=100%>{''.join(rows)}</table>")

    # the second pass -------------------------------------------------------------------------------------------
    def paint_all(self, title: str) -> None:
        from PySide6.QtCore import QRectF, Qt
        from PySide6.QtGui import QColor, QFont

        pages = [p for p in self.pages if p] or [[]]
        n = len(pages)
        font = QFont("DejaVu Sans")
        font.setPointSizeF(7.5)
        for i, ops in enumerate(pages):
            if i:
                self.writer.newPage()
            for op in ops:
                op(self.painter)
            self.painter.save()
            self.painter.setFont(font)
            self.painter.setPen(QColor("#777"))
            k = self.k
            foot = QRectF(0, (self.height + 8) * k, self.width * k, 12 * k)
            self.painter.drawText(foot, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), title)
            self.painter.drawText(
                foot, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), f"page {i + 1} of {n}"
            )
            self.painter.restore()
        self.page_count = n


def pdf_bytes(report: Report, figures: dict, page: str = "A4") -> bytes:
    """The report as a PDF document (bytes)."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF
    from PySide6.QtGui import QPageLayout, QPageSize, QPainter, QPdfWriter

    if page not in PAGE_SIZES:
        raise ReportError(f"page size {page!r}: choose {' or '.join(PAGE_SIZES)}")
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buf)
    writer.setResolution(96)  # the screen's: fonts and pyqtgraph's device sizes agree (the PDF stays vector)
    writer.setTitle(report.title)
    writer.setCreator("Feeder Market")
    size = QPageSize(QPageSize.PageSizeId.A4 if page == "A4" else QPageSize.PageSizeId.Letter)
    writer.setPageLayout(
        QPageLayout(size, QPageLayout.Orientation.Portrait, QMarginsF(18, 16, 18, 14), QPageLayout.Unit.Millimeter)
    )
    painter = QPainter()
    if not painter.begin(writer):
        raise ReportError("cannot start the PDF writer")
    pdf = _Pdf(writer, painter)
    pdf._canvases = []
    try:
        pdf.text(f"<h1>{escape(report.title)}</h1><p class=meta>{escape(report.meta)}</p>")
        n_fig = 0
        blocks = report.blocks
        for i, blk in enumerate(blocks):
            if isinstance(blk, Heading):
                # a heading stays with what follows it: a figure, a paragraph and the figure it introduces, a
                # table's first rows, or a few lines
                keep = _keep_with(blocks[i + 1 :], figures, pdf.width)
                pdf.text(f"<h{blk.level}>{escape(blk.text)}</h{blk.level}>", keep_with_next=keep)
            elif isinstance(blk, Paragraph):
                nxt = blocks[i + 1] if i + 1 < len(blocks) else None
                keep = _figure_height(nxt, figures, pdf.width) if isinstance(nxt, FigureSlot) else 0.0
                pdf.text(
                    f"<p class=note>{escape(blk.text)}</p>" if blk.note else f"<p>{escape(blk.text)}</p>",
                    keep_with_next=keep,
                )
            elif isinstance(blk, KeyFigures):
                pdf.key_figures(blk)
            elif isinstance(blk, Table):
                pdf.table(blk)
            elif isinstance(blk, FigureSlot) and blk.key in figures:
                n_fig += 1
                pdf.figure(figures[blk.key], n_fig)
        if report.attachments:
            pdf.text(
                "<p class=note>The full tables ("
                + ", ".join(escape(n) for n in report.attachments)
                + ") are attached to the HTML report, or exported by File ▸ Export ▸ Results as CSV.</p>"
            )
        pdf.paint_all(report.title)
    finally:
        painter.end()
        for canvas in pdf._canvases:
            canvas.close()
    buf.close()
    return bytes(data.data())


# --- the headless command ---------------------------------------------------------------------------------------
def report_command(argv: list[str]) -> int:
    """``feeder-market report FILE -o OUT.pdf|OUT.html [--mechanism … --network … --period … --page A4|Letter]``:
    the dashboard's report without a window. Exit codes: 0 written, 1 a bad project or market, or a place the report
    cannot be written, 2 a usage error."""
    import argparse
    import os
    import sys

    ap = argparse.ArgumentParser(
        prog="feeder-market report",
        description="Write the report of a project's market (HTML or PDF, by the output's ending) without a window.",
    )
    ap.add_argument("file", type=Path, help="the project (.json)")
    ap.add_argument("-o", "--output", required=True, type=Path, help="the report to write: .html or .pdf")
    ap.add_argument(
        "--mechanism", default="welfare", help="welfare (default), uniform, pay-as-bid, vcg, trade-reduction"
    )
    ap.add_argument("--network", default="none", help="none (default), lindistflow, socp, ac or dc")
    ap.add_argument(
        "--period",
        type=int,
        default=None,
        help="the period the report shows (0-based; default: where something happens)",
    )
    ap.add_argument("--fairness", default="efficiency", help="efficiency (default), proportional or max-min")
    ap.add_argument(
        "--page",
        default="A4",
        type=lambda v: next((p for p in PAGE_SIZES if p.lower() == v.strip().lower()), v),
        choices=PAGE_SIZES,
        help="the PDF's page size (default A4; any case)",
    )
    ap.add_argument("--title", default=None, help="the report's title (default: project — mechanism)")
    args = ap.parse_args(argv)

    def norm(text: str) -> str:
        return text.strip().lower().replace("-", "_")

    from core.errors import ScenarioError
    from core.market import MECHANISM_NAMES, MarketSettings, clear
    from core.market.settings import FAIRNESS_CHOICES, NETWORK_CHOICES
    from core.scenario.io import load_project
    from core.scenario.summary import start_period

    mechanism, network, fairness = norm(args.mechanism), norm(args.network), norm(args.fairness).replace("_", "")
    for value, choices, what in (
        (mechanism, MECHANISM_NAMES, "--mechanism"),
        (network, NETWORK_CHOICES, "--network"),
        (fairness, FAIRNESS_CHOICES, "--fairness"),
    ):
        if value not in choices:
            sys.stderr.write(
                f"feeder-market report: {what} {value!r}: choose one of "
                f"{', '.join(c.replace('_', '-') for c in choices)}\n"
            )
            return 2
    try:
        check_path(args.output)
        scenario = load_project(args.file)
        period = args.period
        if period is None:
            period = start_period(scenario, network != "none")[0]
        if not 0 <= period < scenario.periods:
            sys.stderr.write(
                f"feeder-market report: --period {period}: the project has periods 0–{scenario.periods - 1}\n"
            )
            return 2
        settings = MarketSettings(
            mechanism=mechanism, network=network, period=period, fairness=fairness, tatonnement=False
        )
        result = clear(scenario, settings)
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance() or QApplication(["feeder-market"])  # noqa: F841 - fonts and painting
        path, seconds = write_report(args.output, scenario, result, args.title, args.page)
    except ReportError as err:
        sys.stderr.write(f"error: {err}\n")
        return 1
    except ScenarioError as err:
        sys.stderr.write(f"error: {err.report() if len(err.problems) > 1 else err}\n")
        return 1
    except Exception as err:  # the market cannot clear (infeasible…): one line, no traceback
        from gui.failures import describe_failure

        sys.stderr.write(f"error: {describe_failure(err)}\n")
        return 1
    print(f"wrote {path} in {seconds:.1f} s")
    return 0
