"""The Studies dock's run controls: where a study runs, Run and Cancel, its progress and state, the file buttons."""

from __future__ import annotations

import os

from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class RunBox(QWidget):
    """Run in a worker process of this computer or on Dask (a local cluster or a scheduler's address), Run and
    Cancel, the progress bar and a line of state, and the buttons that save and load a study's files."""

    def __init__(self, parent=None):
        super().__init__(parent)
        cores = os.cpu_count() or 1
        self.dask = QCheckBox(f"Use a local Dask cluster ({cores} workers)", self)
        self.dask.setToolTip(
            "Run the points in parallel on a Dask LocalCluster of this machine's cores (starting "
            "it takes a few seconds). Unticked: one point after the other in a worker process of "
            "this computer."
        )
        self.scheduler = QLineEdit(self)
        self.scheduler.setPlaceholderText("or an existing scheduler: tcp://host:8786")
        self.scheduler.setToolTip(
            "The address of a running Dask scheduler: the points run on its workers (the same "
            "Feeder Market must be installed there)"
        )
        self.scheduler.setEnabled(False)
        self.run_button = QPushButton("Run", self)
        self.run_button.setToolTip("Run the study in the background: the plots fill in as points finish")
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Stop the study: no new point starts; the finished points are kept")
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setFormat("%v / %m points")
        self.bar.setTextVisible(True)
        self.state = QLabel("", self)
        self.state.setWordWrap(True)
        self.state.setStyleSheet("color: #555;")

        # files
        self.save_results_button = QPushButton("Save results…", self)
        self.save_results_button.setToolTip(
            "Write the results table: Parquet (with the study's spec, to load again here or read with pandas) or CSV"
        )
        self.load_results_button = QPushButton("Load results…", self)
        self.load_results_button.setToolTip(
            "Open a study's Parquet file (from this panel or `feeder-market study`) and plot it"
        )
        self.save_spec_button = QPushButton("Save spec…", self)
        self.save_spec_button.setToolTip(
            "Write the study as set up above as a TOML spec, to run again with "
            "`feeder-market study SPEC -o results.parquet` (on a cluster too)"
        )
        self.export_plot_button = QPushButton("Export plot data…", self)
        self.export_plot_button.setToolTip(
            "Write the numbers behind the plot shown (means, std, counts; the heat "
            "map's cells; the histogram's bins) as CSV"
        )

        self.report_button = QPushButton("Report…", self)
        self.report_button.setToolTip(
            "Write a report of the study for stakeholders (PDF or one HTML file): what was varied, the plot shown "
            "as drawn, the numbers behind it and the points' outcome, with the whole results attached"
        )

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addWidget(self.dask)
        lay.addWidget(self.scheduler)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.run_button, 1)
        buttons.addWidget(self.cancel_button)
        lay.addLayout(buttons)
        lay.addWidget(self.bar)
        lay.addWidget(self.state)
        files = QGridLayout()
        files.setContentsMargins(0, 4, 0, 0)
        files.setSpacing(3)
        files.addWidget(self.save_results_button, 0, 0)
        files.addWidget(self.load_results_button, 0, 1)
        files.addWidget(self.save_spec_button, 1, 0)
        files.addWidget(self.export_plot_button, 1, 1)
        files.addWidget(self.report_button, 2, 0, 1, 2)
        lay.addLayout(files)
        self.dask.toggled.connect(self.scheduler.setEnabled)

    def where(self) -> tuple[int | None, str | None, str]:
        """``(workers, scheduler, words)`` of :class:`gui.workers.studies.StudyRequest` as chosen, and how to say
        it: 0 workers (a worker process), a local Dask cluster of this machine's cores, or a scheduler."""
        if not self.dask.isChecked():
            return 0, None, "in a worker process"
        address = self.scheduler.text().strip()
        if address:
            return None, address, f"on {address}"
        workers = os.cpu_count() or 1
        return workers, None, f"on a local Dask cluster ({workers} workers)"

    def set_progress(self, done: int, total: int) -> None:
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)

    def say(self, text: str, error: bool = False) -> None:
        """The line of state under the progress bar (red: an error)."""
        self.state.setText(text)
        self.state.setStyleSheet("color: #b00020;" if error else "color: #555;")
