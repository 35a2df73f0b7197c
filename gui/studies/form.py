"""The Studies dock's spec form: the axes to sweep, the Monte Carlo draws and sampling, and the study they make."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.study import TEXT_AXES, Draws, SpecError, StudySpec, evening_peak_period, spec_for_scenario
from gui.studies.editors import AxisRow, ChoiceEditor, RangeEditor
from gui.studies.labels import AXIS_INFO, DEFAULT_AXES

AXIS_ORDER = ("mechanism", "fairness", "network", "pv_penetration", "demand_scale", "bid_shading", "k", "period")


class StudyForm(QWidget):
    """The study as the user sets it up: the axes (a row each), the draws' noise, grid or random points, the seed,
    the audit; under them the count of points or why the study cannot run. :attr:`changed`: any edit."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._periods = 0
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addWidget(self._axes_box())
        lay.addWidget(self._draws_box())
        # the count, the validation message
        self.count_label = QLabel("", self)
        self.count_label.setWordWrap(True)
        self.count_label.setTextFormat(Qt.TextFormat.RichText)
        self.problem_label = QLabel("", self)
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet("color: #b00020;")
        self.problem_label.setVisible(False)
        lay.addWidget(self.count_label)
        lay.addWidget(self.problem_label)
        self.set_axes(DEFAULT_AXES)
        for row in self.axis_rows.values():
            row.sweep.toggled.connect(self._changed)
            row.editor.connect(self._changed)
        for box in (self.draws_n, self.demand_std, self.pv_std, self.bid_std, self.samples, self.seed):
            box.valueChanged.connect(self._changed)
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self.audit.toggled.connect(self._changed)

    def _axes_box(self) -> QGroupBox:
        self.axis_rows: dict[str, AxisRow] = {}
        axes_box = QGroupBox("Axes", self)
        axes_box.setToolTip(
            "Tick the axes to sweep; the study runs every combination of their values (grid) or "
            "random points over them. Unticked axes keep their default."
        )
        grid = QGridLayout(axes_box)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(3)
        for r, axis in enumerate(AXIS_ORDER):
            row = AxisRow(axis, axes_box)
            self.axis_rows[axis] = row
            align = Qt.AlignmentFlag.AlignTop if axis in TEXT_AXES else Qt.AlignmentFlag.AlignVCenter
            grid.addWidget(row.sweep, r, 0, align)
            grid.addWidget(row.editor, r, 1)
        grid.setColumnStretch(1, 1)
        return axes_box

    def _draws_box(self) -> QGroupBox:
        """Monte Carlo, mode, seed."""
        mc_box = QGroupBox("Monte Carlo and sampling", self)
        form = QFormLayout(mc_box)
        form.setContentsMargins(6, 4, 6, 4)
        form.setVerticalSpacing(3)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.draws_n = QSpinBox(mc_box)
        self.draws_n.setRange(1, 10000)
        self.draws_n.setToolTip(
            "Monte Carlo: every point is run this many times, each draw with its own noise "
            "(common random numbers: draw d has the same noise at every point)"
        )
        self.demand_std = self._std_box(
            "Demand noise σ: multiplicative noise exp(σz − σ²/2) on every prosumer's demand, per period"
        )
        self.pv_std = self._std_box("PV noise σ: on each PV asset's availability, per period (clipped to [0, 1])")
        self.bid_std = self._std_box(
            "Bid noise σ: one factor per prosumer on its cost and value coefficients and its explicit bid prices"
        )
        self.mode = QComboBox(mc_box)
        self.mode.addItem("Grid: every combination", "grid")
        self.mode.addItem("Random: sample points", "random")
        self.mode.setToolTip(
            "Grid: the full factorial of the ticked axes. Random: this many points, each axis "
            "drawn (seeded) among its values or uniformly between its first and last value."
        )
        self.samples = QSpinBox(mc_box)
        self.samples.setRange(1, 1_000_000)
        self.samples.setValue(50)
        self.samples.setSuffix(" points")
        self.samples.setEnabled(False)
        self.samples.setToolTip("Random mode: how many points to draw (identical draws are kept once)")
        self.seed = QSpinBox(mc_box)
        self.seed.setRange(0, 2_000_000_000)
        self.seed.setToolTip(
            "Decides the PV sites that PV penetration adds, the random points and the draws' "
            "noise: the same seed gives the same study"
        )
        self.audit = QCheckBox("Audit each point (slower)", mc_box)
        self.audit.setToolTip(
            "The properties audit of the reported period: efficiency against the optimum and the "
            "best gain from a misreport (incentive compatibility), for the auctions"
        )
        form.addRow("Draws per point", self.draws_n)
        noise = QWidget(mc_box)
        nl = QHBoxLayout(noise)
        nl.setContentsMargins(0, 0, 0, 0)
        nl.setSpacing(3)
        for caption, box in (("demand", self.demand_std), ("PV", self.pv_std), ("bids", self.bid_std)):
            lab = QLabel(caption, noise)
            lab.setToolTip(box.toolTip())
            nl.addWidget(lab)
            nl.addWidget(box, 1)
        form.addRow("Noise σ", noise)
        form.addRow("Mode", self.mode)
        form.addRow("Samples", self.samples)
        form.addRow("Seed", self.seed)
        form.addRow("", self.audit)
        return mc_box

    def _std_box(self, tip: str) -> QDoubleSpinBox:
        box = QDoubleSpinBox(self)
        box.setRange(0.0, 2.0)
        box.setSingleStep(0.01)
        box.setDecimals(3)
        box.setToolTip(tip)
        box.setKeyboardTracking(False)
        return box

    def _changed(self, *_args) -> None:
        self.changed.emit()

    def _mode_changed(self) -> None:
        random = self.mode.currentData() == "random"
        self.samples.setEnabled(random)
        for row in self.axis_rows.values():
            if isinstance(row.editor, RangeEditor):
                row.editor.num.setEnabled(not random)
        self.changed.emit()

    # --- setting it up -------------------------------------------------------------------
    def set_axes(self, axes: dict) -> None:
        """Tick exactly ``axes``: a text axis takes a list of choices, a numeric one ``(start, stop, num)``."""
        for axis, row in self.axis_rows.items():
            row.sweep.blockSignals(True)
            row.sweep.setChecked(axis in axes)
            row.editor.setEnabled(axis in axes)
            row.sweep.blockSignals(False)
            if axis not in axes:
                continue
            if isinstance(row.editor, ChoiceEditor):
                row.editor.set_values(axes[axis])
            else:
                start, stop, num = axes[axis]
                row.editor.set_range(start, stop, num)
        self.changed.emit()

    def set_draws(self, n: int = 1, demand_std: float = 0.0, pv_std: float = 0.0, bid_std: float = 0.0) -> None:
        self.draws_n.setValue(n)
        self.demand_std.setValue(demand_std)
        self.pv_std.setValue(pv_std)
        self.bid_std.setValue(bid_std)

    def set_horizon(self, scenario) -> bool:
        """The reported period's choices for the project ``scenario`` (None: none open), at its evening peak and
        ticked, when its number of periods changed; whether it did."""
        periods = int(scenario.periods) if scenario is not None else 0
        if periods == self._periods:
            return False
        self._periods = periods
        editor = self.axis_rows["period"].editor
        peak = evening_peak_period(scenario) if scenario is not None else 0
        for box in (editor.start, editor.stop):
            box.blockSignals(True)
            box.setRange(0, max(periods - 1, 0))
            box.setValue(peak)
            box.blockSignals(False)
        editor.num.setValue(1)
        labels = scenario.horizon.labels() if scenario is not None else []
        editor.setToolTip(
            AXIS_INFO["period"][2]
            + (f"\nThe evening peak of this project: period {peak} ({labels[peak]})" if labels else "")
        )
        self.axis_rows["period"].sweep.setChecked(True)
        return True

    # --- reading it ----------------------------------------------------------------------
    def axes(self) -> dict:
        """The ``[axes]`` of the study as set up: the ticked axes and their values."""
        mode = self.mode.currentData()
        return {a: row.spec_value(mode) for a, row in self.axis_rows.items() if row.sweep.isChecked()}

    def draws(self) -> Draws:
        return Draws(
            n=self.draws_n.value(),
            demand_std=self.demand_std.value(),
            pv_std=self.pv_std.value(),
            bid_std=self.bid_std.value(),
        )

    def spec_for(self, scenario, path: Path | None, modified: bool) -> StudySpec:
        """The study as set up, of the project ``scenario`` (its file ``path``; ``modified``: edits not saved yet);
        raises :class:`SpecError`."""
        if scenario is None:
            raise SpecError("no project is open")
        mode = self.mode.currentData()
        market = {"audit": True} if self.audit.isChecked() else None
        return spec_for_scenario(
            scenario,
            self.axes(),
            base_file=path,
            mode=mode,
            seed=self.seed.value(),
            samples=self.samples.value() if mode == "random" else None,
            draws=self.draws(),
            market=market,
            modified=modified,
        )

    @staticmethod
    def spec_message(err: SpecError) -> str:
        """What is wrong with the study, one line per problem, each named by its axis."""
        lines = []
        for p in err.problems:
            where = p.field.removeprefix("axes.")
            where = AXIS_INFO.get(where, (where,))[0] if where in AXIS_INFO else where
            lines.append(f"{where}: {p.message}" if where else p.message)
        return "\n".join(lines) or str(err)

    def show_count(self, spec: StudySpec | None, error: str) -> None:
        """The number of points of ``spec``, or (None) that it cannot run and why (``error``)."""
        if spec is None:
            self.count_label.setText("<b>Cannot run</b>")
            self.problem_label.setText(f"⚠ {error}")
            self.problem_label.setVisible(True)
            return
        self.problem_label.setVisible(False)
        n = len(spec.points)
        draws = spec.options.draws.n
        text = f"<b>{n:,} point{'s' if n != 1 else ''}</b>"
        if draws > 1:
            text += f" ({n // draws:,} × {draws} draws)"
        if spec.skipped_combinations:
            k = spec.skipped_combinations
            text += (
                f" <span style='color:#555'>({k:,} combination{'s' if k != 1 else ''} skipped: fairness rules "
                "and network models apply to the welfare clearing only)</span>"
            )
        self.count_label.setText(text)
        self.count_label.setToolTip(
            "Combinations the market refuses or ignores are left out: network models and "
            "fairness rules go with the welfare clearing only, fairness rules with the "
            "copper plate at the tariffs only."
        )
