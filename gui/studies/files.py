"""The Studies dock's file dialogs: where to save a study's results, its spec or its plot's numbers, what to load."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog

from core.study import SpecError

if TYPE_CHECKING:
    from gui.studies.panel import StudiesPanel


def _folder(panel: StudiesPanel) -> Path:
    """The project's folder (else the home folder): where the dialogs open."""
    return panel.path.parent if panel.path is not None else Path.home()


def ask_save_results(panel: StudiesPanel) -> None:
    spec = panel.results.spec
    stem = (spec.name if spec is not None else "study").replace(" ", "-").replace("/", "-")
    path, chosen = QFileDialog.getSaveFileName(
        panel, "Save the study's results", str(_folder(panel) / f"{stem}.parquet"), "Parquet (*.parquet);;CSV (*.csv)"
    )
    if path:
        p = Path(path)
        if not p.suffix:
            p = p.with_suffix(".csv" if "CSV" in chosen else ".parquet")
        try:
            panel.save_results(p)
            panel.run_box.say(f"Saved {len(panel.results.table):,} rows to {p}")
        except (OSError, ValueError) as err:
            panel.run_box.say(f"⚠ Cannot save {p.name}: {err}", error=True)


def ask_load_results(panel: StudiesPanel) -> None:
    path, _ = QFileDialog.getOpenFileName(
        panel, "Load a study's results", str(_folder(panel)), "Study results (*.parquet)"
    )
    if path:
        panel.load_results(path)


def ask_save_spec(panel: StudiesPanel) -> None:
    path, _ = QFileDialog.getSaveFileName(
        panel, "Save the study spec", str(_folder(panel) / "study.toml"), "Study spec (*.toml)"
    )
    if path:
        p = Path(path) if Path(path).suffix else Path(path).with_suffix(".toml")
        try:
            panel.save_spec(p)
            panel.run_box.say(f"Saved the spec to {p}: run it with feeder-market study {p.name} -o results.parquet")
        except (OSError, SpecError) as err:
            panel.run_box.say(f"⚠ Cannot save the spec: {err}", error=True)


def ask_export_plot(panel: StudiesPanel) -> None:
    path, _ = QFileDialog.getSaveFileName(
        panel, "Export the plot's data", str(_folder(panel) / "plot.csv"), "CSV (*.csv)"
    )
    if path:
        try:
            panel.export_plot_data(path)
        except OSError as err:
            panel.run_box.say(f"⚠ Cannot write {path}: {err}", error=True)


def ask_report(panel: StudiesPanel) -> None:
    from gui.report import ReportError

    path, chosen = QFileDialog.getSaveFileName(
        panel,
        "Write the study's report",
        str(_folder(panel) / "study-report.pdf"),
        "PDF, A4 (*.pdf);;PDF, Letter (*.pdf);;HTML, one self-contained file (*.html)",
    )
    if not path:
        return
    p = Path(path)
    if p.suffix.lower() not in (".pdf", ".html", ".htm"):
        p = Path(f"{path}.{'html' if chosen.startswith('HTML') else 'pdf'}")
    try:
        panel.write_report(p, page="Letter" if "Letter" in chosen else "A4")
        panel.run_box.say(f"Wrote the study's report {p}")
    except (OSError, ReportError) as err:
        panel.run_box.say(f"⚠ Cannot write the report: {err}", error=True)
