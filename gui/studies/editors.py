"""The Studies dock's small input widgets: the values of one axis (checkboxes or a range) and its row in the form."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QGridLayout, QHBoxLayout, QLabel, QSpinBox, QWidget

from core.study import AXES, TEXT_AXES
from gui.studies.labels import AXIS_INFO, RANGES, TEXT_LABELS, TEXT_TIPS, value_text


class ChoiceEditor(QWidget):
    """The values of a text axis: one checkbox per choice."""

    def __init__(self, axis: str, parent=None):
        super().__init__(parent)
        self.axis = axis
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(0)
        self.checks: dict[str, QCheckBox] = {}
        for i, choice in enumerate(TEXT_AXES[axis]):
            box = QCheckBox(TEXT_LABELS[axis].get(choice, choice), self)
            box.setToolTip(TEXT_TIPS[axis].get(choice, choice))
            grid.addWidget(box, i // 2, i % 2)
            self.checks[choice] = box

    def values(self) -> list[str]:
        return [c for c, box in self.checks.items() if box.isChecked()]

    def set_values(self, values) -> None:
        wanted = set(values)
        for c, box in self.checks.items():
            box.setChecked(c in wanted)

    def connect(self, slot) -> None:
        for box in self.checks.values():
            box.toggled.connect(slot)


class RangeEditor(QWidget):
    """The values of a numeric axis: ``num`` evenly spaced values from ``start`` to ``stop`` (both included)."""

    def __init__(self, axis: str, parent=None):
        super().__init__(parent)
        self.axis = axis
        whole = axis == "period"
        if whole:
            self.start, self.stop = QSpinBox(self), QSpinBox(self)
            for s in (self.start, self.stop):
                s.setRange(0, 0)
        else:
            lo, hi, step, decimals, start, stop, _num = RANGES[axis]
            self.start, self.stop = QDoubleSpinBox(self), QDoubleSpinBox(self)
            for s, v in ((self.start, start), (self.stop, stop)):
                s.setRange(lo, hi)
                s.setSingleStep(step)
                s.setDecimals(decimals)
                s.setValue(v)
        self.num = QSpinBox(self)
        self.num.setRange(1, 1000)
        self.num.setValue(1 if whole else RANGES[axis][6])
        self.num.setToolTip(
            "How many evenly spaced values from the first to the last (both included); "
            "1: the first value only. In random mode each point draws a value between the two."
        )
        self.start.setToolTip("The first value")
        self.stop.setToolTip("The last value")
        for s in (self.start, self.stop, self.num):
            s.setKeyboardTracking(False)
            s.setMinimumWidth(52)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        lay.addWidget(self.start, 1)
        lay.addWidget(QLabel("to", self))
        lay.addWidget(self.stop, 1)
        lay.addWidget(QLabel("×", self))
        lay.addWidget(self.num)

    def range(self) -> tuple[float, float, int]:
        return self.start.value(), self.stop.value(), self.num.value()

    def set_range(self, start, stop, num: int) -> None:
        cast = int if isinstance(self.start, QSpinBox) else float
        self.start.setValue(cast(start))
        self.stop.setValue(cast(stop))
        self.num.setValue(int(num))

    def spec_value(self, mode: str):
        """What the spec's ``[axes]`` says: a list of one value, or a range."""
        start, stop, num = self.range()
        if self.axis == "period":
            start, stop = int(start), int(stop)
        if num == 1 or start == stop:
            return [start]
        if mode == "random":
            return {"start": start, "stop": stop}
        return {"start": start, "stop": stop, "num": num}

    def connect(self, slot) -> None:
        self.start.valueChanged.connect(slot)
        self.stop.valueChanged.connect(slot)
        self.num.valueChanged.connect(slot)


class AxisRow:
    """One axis of the form: a "sweep" checkbox (its name) and the editor of its values."""

    def __init__(self, axis: str, parent: QWidget):
        self.axis = axis
        name, _unit, tip = AXIS_INFO[axis]
        self.sweep = QCheckBox(name, parent)
        default = AXES[axis]
        shown = "the project's PV" if default is None else value_text(axis, default)
        self.sweep.setToolTip(f"{tip}\nTicked: the values on the right; unticked: the default ({shown}).")
        self.editor = ChoiceEditor(axis, parent) if axis in TEXT_AXES else RangeEditor(axis, parent)
        self.editor.setToolTip(tip)
        self.editor.setEnabled(False)
        self.sweep.toggled.connect(self.editor.setEnabled)

    def spec_value(self, mode: str):
        if isinstance(self.editor, ChoiceEditor):
            return self.editor.values()
        return self.editor.spec_value(mode)
