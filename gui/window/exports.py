"""The window's exports: a panel as PNG/SVG, the results as CSV or Excel, the HTML report."""

from __future__ import annotations

import contextlib
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QMenu,
)

from gui.presenting import (
    HAVE_SVG,
    save_png,
    save_svg,
    write_csv_folder,
    write_excel,
)


class ExportsMixin:
    """Methods of :class:`gui.main_window.MainWindow` (exports)."""

    # --- exporting -------------------------------------------------------------------------------
    def panel_widget(self, key: str):
        """The widget of panel ``key`` ("feeder" or a dock's key)."""
        return self.feeder if key == "feeder" else self.docks[key].widget()

    def current_panel(self) -> str:
        """The panel holding the keyboard focus (the feeder when none does)."""
        w = QApplication.focusWidget()
        while w is not None:
            if w is self.feeder:
                return "feeder"
            for key, dock in self.docks.items():
                if w is dock:
                    return key
            w = w.parentWidget()
        return "feeder"

    def _panel_title(self, key: str) -> str:
        return "Feeder" if key == "feeder" else self.docks[key].windowTitle()

    def _panel_menu(self, key: str, global_pos) -> None:
        menu = QMenu(self)
        menu.addAction("Export PNG…", lambda: self.export_panel_dialog("png", key))
        svg = menu.addAction("Export SVG…", lambda: self.export_panel_dialog("svg", key))
        svg.setEnabled(HAVE_SVG)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(global_pos)

    def export_panel(self, key: str, path: str | Path) -> Path:
        """Write panel ``key`` to ``path``: PNG or SVG by the file's suffix."""
        p = Path(path)
        widget = self.panel_widget(key)
        if p.suffix.lower() == ".svg":
            return save_svg(widget, p, self._panel_title(key))
        return save_png(widget, p if p.suffix else p.with_suffix(".png"))

    def _export_dir(self) -> Path:
        d = self.settings.value("export/dir")
        return Path(d) if d and Path(d).is_dir() else Path.home()

    def _remember_dir(self, path: Path) -> None:
        self.settings.setValue("export/dir", str(path if path.is_dir() else path.parent))

    def export_panel_dialog(self, fmt: str, key: str | None = None) -> None:
        key = key or self.current_panel()
        name = self._panel_title(key).lower().replace(" ", "-")
        filt = "PNG pictures (*.png)" if fmt == "png" else "SVG drawings (*.svg)"
        path, _ = QFileDialog.getSaveFileName(
            self, f"Export {self._panel_title(key)} as {fmt.upper()}", str(self._export_dir() / f"{name}.{fmt}"), filt
        )
        if not path:
            return
        p = Path(path) if path.lower().endswith(f".{fmt}") else Path(f"{path}.{fmt}")
        try:
            self.export_panel(key, p)
        except OSError as err:
            self.error("Cannot export the panel", f"{p}: {err.strerror or err}")
            return
        self._remember_dir(p)
        self.statusBar().showMessage(f"Exported {self._panel_title(key)} to {p}", 8000)

    def _need_result(self) -> bool:
        if self.market_result is None:
            self.statusBar().showMessage("⚠ No market result yet: wait for the market to clear", 8000)
            return False
        return True

    def export_results_csv(self, folder: str | Path) -> list[Path]:
        """The current result's tables as CSV files in ``folder``."""
        return write_csv_folder(self.market_result, folder)

    def export_results_csv_dialog(self) -> None:
        if not self._need_result():
            return
        folder = QFileDialog.getExistingDirectory(self, "Export the results into a folder", str(self._export_dir()))
        if not folder:
            return
        try:
            files = self.export_results_csv(folder)
        except OSError as err:
            self.error("Cannot export the results", f"{folder}: {err.strerror or err}")
            return
        self._remember_dir(Path(folder))
        self.statusBar().showMessage(f"Wrote {', '.join(f.name for f in files)} to {folder}", 8000)

    def export_excel_dialog(self) -> None:
        if not self._need_result():
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the results as Excel", str(self._export_dir() / "results.xlsx"), "Excel workbooks (*.xlsx)"
        )
        if not path:
            return
        p = Path(path) if path.endswith(".xlsx") else Path(f"{path}.xlsx")
        try:
            write_excel(self.market_result, p)
        except OSError as err:
            self.error("Cannot export the results", f"{p}: {err.strerror or err}")
            return
        self._remember_dir(p)
        self.statusBar().showMessage(f"Wrote {p}", 8000)

    def export_report(self, path: str | Path, page: str = "A4") -> Path:
        """Write the report (HTML or PDF, by the name's ending) of the scenario and its current result to ``path``:
        its figures drawn from the result (:mod:`gui.report`), not grabbed from the panels."""
        from gui.report import write_report

        if self.market_result is None:
            raise OSError("no market result yet")
        p, seconds = write_report(Path(path), self.doc.scenario, self.market_result, page=page)
        with contextlib.suppress(OSError):
            p.chmod(0o644)  # written through a private temporary file: readable like any document
        self.last_report = p
        self.act_open_report.setEnabled(True)
        self.statusBar().showMessage(
            f"Wrote the report {p} in {seconds:.1f} s (File ▸ Export ▸ Open last report)", 10000
        )
        return p

    def export_report_dialog(self) -> None:
        from gui.report import ReportError

        if not self._need_result():
            return
        stem = (self.doc.path.stem if self.doc.path else "feeder-market") + "-report.pdf"
        path, chosen = QFileDialog.getSaveFileName(
            self,
            "Write the report",
            str(self._export_dir() / stem),
            "PDF, A4 (*.pdf);;PDF, Letter (*.pdf);;HTML, one self-contained file (*.html)",
        )
        if not path:
            return
        html = chosen.startswith("HTML")
        p = Path(path)
        if p.suffix.lower() not in (".pdf", ".html", ".htm"):
            p = Path(f"{path}.{'html' if html else 'pdf'}")
        try:
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                self.export_report(p, page="Letter" if "Letter" in chosen else "A4")
            finally:
                QApplication.restoreOverrideCursor()
        except (OSError, ReportError) as err:
            self.error(
                "Cannot write the report", str(err) if isinstance(err, ReportError) else f"{p}: {err.strerror or err}"
            )
            return
        self._remember_dir(p)

    def open_last_report(self) -> None:
        if self.last_report is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.last_report)))
