"""Editable tables over the scenario's records (prosumers, lines, buses).

Each cell edit builds the new record and the new :class:`Scenario` (which
validates itself); a valid edit goes onto the undo stack, an invalid one is
kept in the cell as typed — shown in red with the reason as its tooltip — and
the scenario stays as it was. Nothing the user typed is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QApplication, QComboBox, QStyle, QStyledItemDelegate

from core.errors import ScenarioError
from core.scenario import ASSET_KINDS, FlexibleLoad, Scenario
from core.scenario.edit import with_asset_kind
from core.scenario.textfmt import format_bids, format_number, format_profile, parse_bids, parse_profile
from gui.document import ProjectDocument

INVALID_BRUSH = QBrush(QColor(255, 205, 205))
INVALID_TEXT = QBrush(QColor(176, 0, 32))  # a refused value's text
READONLY_BRUSH = QBrush(QColor(0, 0, 0, 12))


@dataclass(frozen=True)
class Column:
    """One column: how to show a record's value and how to set it from text.

    ``display`` gives the cell text, ``edit`` the text put in the editor
    (defaults to ``display``), ``set`` returns the edited record or raises
    ``ValueError`` with a plain reason. ``choices`` makes the editor a combo box.
    """

    key: str
    header: str
    tooltip: str
    display: Callable[[Any], str]
    set: Callable[[Any, str, Scenario], Any] | None = None
    edit: Callable[[Any], str] | None = None
    choices: Callable[[Scenario], list[str]] | None = None
    numeric: bool = False


def _num(v) -> str:
    return "" if v is None else format_number(v)


def _parse_float(text: str, *, optional: bool = False) -> float | None:
    t = text.strip()
    if not t:
        if optional:
            return None
        raise ValueError("needs a number")
    try:
        return float(t)
    except ValueError:
        raise ValueError(f"must be a number, got '{t}'") from None


def field_column(
    key: str, header: str, tooltip: str, *, optional: bool = False, text: bool = False, choices=None
) -> Column:
    """A column over a plain attribute of the record."""

    def setter(rec, value, _s):
        return replace(rec, **{key: value.strip() if text else _parse_float(value, optional=optional)})

    return Column(
        key,
        header,
        tooltip,
        (lambda r: str(getattr(r, key))) if text else (lambda r: _num(getattr(r, key))),
        setter,
        choices=choices,
        numeric=not text,
    )


def asset_column(key: str, header: str, tooltip: str, *, optional: bool = False) -> Column:
    """A column over an attribute of the prosumer's DER (needs a DER)."""

    def setter(p, value, _s):
        if p.asset is None:
            raise ValueError("this prosumer has no DER: pick an asset kind first")
        return replace(p, asset=replace(p.asset, **{key: _parse_float(value, optional=optional)}))

    return Column(
        key, header, tooltip, lambda p: "" if p.asset is None else _num(getattr(p.asset, key)), setter, numeric=True
    )


def flex_column(key: str, header: str, tooltip: str) -> Column:
    def setter(p, value, _s):
        fl = p.flexible or FlexibleLoad(d_max_kw=(0.0,) * _s.periods, value_a_per_kw2h=0.0, value_b_per_kwh=0.0)
        return replace(p, flexible=replace(fl, **{key: _parse_float(value)}))

    return Column(
        key,
        header,
        tooltip,
        lambda p: "" if p.flexible is None else _num(getattr(p.flexible, key)),
        setter,
        numeric=True,
    )


def _profile_summary(values) -> str:
    if not values:
        return ""
    vals = list(values)
    if all(v == vals[0] for v in vals):
        return format_number(vals[0])
    return f"peak {max(vals):.4g} · mean {sum(vals) / len(vals):.4g}"


def _set_demand(p, text, s):
    return replace(p, demand_kw=parse_profile(text, s.periods))


def _set_flex_dmax(p, text, s):
    if not text.strip():
        return replace(p, flexible=None)
    fl = p.flexible or FlexibleLoad(d_max_kw=(0.0,) * s.periods, value_a_per_kw2h=0.001, value_b_per_kwh=0.25)
    return replace(p, flexible=replace(fl, d_max_kw=parse_profile(text, s.periods)))


def _set_kind(p, text, s):
    kind = text.strip() or None
    if kind is not None and kind not in ASSET_KINDS:
        raise ValueError(f"must be one of {', '.join(ASSET_KINDS)} or empty, got '{kind}'")
    return with_asset_kind(p, kind, s.horizon)


def prosumer_columns() -> list[Column]:
    """The prosumer editor's columns, with units and meaning in each tooltip."""
    bus_ids = lambda s: [b.id for b in s.feeder.buses]  # noqa: E731
    return [
        field_column("id", "Id", "Unique name of the participant", text=True),
        field_column("name", "Name", "Free description", text=True),
        field_column("bus", "Bus", "The feeder bus it is connected to", text=True, choices=bus_ids),
        Column(
            "role",
            "Role",
            "consumer, producer, or prosumer (demand and a DER) — follows from the data",
            lambda p: p.role,
        ),
        Column(
            "demand_kw",
            "Demand d_t (kW)",
            "Fixed demand per period, kW. Edit: one number for every period, or one per period separated by commas",
            lambda p: _profile_summary(p.demand_kw),
            _set_demand,
            edit=lambda p: format_profile(p.demand_kw),
            numeric=True,
        ),
        field_column(
            "power_factor",
            "Power factor",
            "Lagging power factor of the demand, in (0, 1]; Q = P·tan(arccos pf) unless a kvar profile is given",
        ),
        Column(
            "asset_kind",
            "DER",
            "The distributed energy resource: pv, battery, ev, generator, wind, chp or none",
            lambda p: "" if p.asset is None else p.asset.kind,
            _set_kind,
            choices=lambda s: ["", *ASSET_KINDS],
        ),
        asset_column("p_max_kw", "P max (kW)", "DER capacity P^max at its internal point, kW"),
        asset_column("p_min_kw", "P min (kW)", "Lowest DER output, kW; negative = charging (storage only)"),
        asset_column(
            "ramp_kw_per_period",
            "Ramp R (kW/period)",
            "Largest change of DER output between consecutive periods, kW; empty = no limit",
            optional=True,
        ),
        asset_column(
            "efficiency",
            "η",
            "Efficiency from the DER to the meter, in (0, 1]: the meter sees η·p_t; "
            "a storage charging takes |p_t|/η from the meter (round trip η²)",
        ),
        asset_column("cost_a_per_kw2h", "Cost a (/kW²h)", "Quadratic cost coefficient: C(p) = a·p² + b·p per hour"),
        asset_column("cost_b_per_kwh", "Cost b (/kWh)", "Linear cost coefficient (marginal cost at zero output)"),
        asset_column(
            "energy_kwh", "Energy (kWh)", "Storage energy capacity, kWh (battery, ev); empty = none", optional=True
        ),
        Column(
            "flex_d_max_kw",
            "Flexible d max (kW)",
            "Price-responsive demand ceiling per period, kW; empty removes the flexible load",
            lambda p: "" if p.flexible is None else _profile_summary(p.flexible.d_max_kw),
            _set_flex_dmax,
            edit=lambda p: "" if p.flexible is None else format_profile(p.flexible.d_max_kw),
            numeric=True,
        ),
        flex_column(
            "value_b_per_kwh",
            "Value b (/kWh)",
            "Flexible load's value U(d) = b·d − a·d²: marginal value of the first kWh",
        ),
        flex_column(
            "value_a_per_kw2h",
            "Value a (/kW²h)",
            "Flexible load's value U(d) = b·d − a·d²: how fast the marginal value falls",
        ),
        Column(
            "bids",
            "Bids / asks",
            "Explicit blocks 'buy|sell PRICE@QUANTITY_KWH [tPERIOD]', comma-separated; "
            "empty = bids derived from the cost/value curves",
            lambda p: format_bids(p.bids),
            lambda p, text, s: replace(p, bids=parse_bids(text)),
        ),
    ]


def line_columns() -> list[Column]:
    bus_ids = lambda s: [b.id for b in s.feeder.buses]  # noqa: E731
    return [
        field_column("id", "Id", "Unique name of the line", text=True),
        field_column("from_bus", "From bus", "Bus at one end", text=True, choices=bus_ids),
        field_column("to_bus", "To bus", "Bus at the other end", text=True, choices=bus_ids),
        field_column("r_ohm", "R (Ω)", "Series resistance, ohm"),
        field_column("x_ohm", "X (Ω)", "Series reactance, ohm"),
        field_column(
            "rating_kva", "Rating (kVA)", "Thermal rating as apparent power, kVA; empty = none", optional=True
        ),
        field_column("rating_a", "Rating (A)", "Thermal rating as current, A; empty = none", optional=True),
        field_column("name", "Name", "Free description", text=True),
    ]


def bus_columns() -> list[Column]:
    return [
        Column("id", "Id", "Bus id (referenced by lines and prosumers; not editable here)", lambda b: b.id),
        field_column("name", "Name", "Free description", text=True),
        field_column(
            "v_min_pu", "V min (p.u.)", "Lower voltage limit at this bus; empty = the feeder's", optional=True
        ),
        field_column(
            "v_max_pu", "V max (p.u.)", "Upper voltage limit at this bus; empty = the feeder's", optional=True
        ),
    ]


class RecordTableModel(QAbstractTableModel):
    """A table over one tuple of records of the document's scenario."""

    problem = Signal(str)  # the reason an edit was refused ('' when an edit succeeded)

    def __init__(
        self,
        doc: ProjectDocument,
        noun: str,
        columns: list[Column],
        records: Callable[[Scenario], tuple],
        with_record: Callable[[Scenario, int, Any], Scenario],
        parent=None,
    ):
        super().__init__(parent)
        self.doc = doc
        self.noun = noun
        self.columns = columns
        self._records = records
        self._with_record = with_record
        self._rows: tuple = records(doc.scenario)
        self.pending: dict[tuple[str, str], tuple[str, str]] = {}  # (record id, column key) -> (text, reason)
        doc.scenarioChanged.connect(self._on_scenario)

    # --- sync with the document --------------------------------------------
    def _on_scenario(self, scenario: Scenario) -> None:
        rows = self._records(scenario)
        if len(rows) != len(self._rows) or [r.id for r in rows] != [r.id for r in self._rows]:
            self.beginResetModel()
            self._rows = rows
            ids = {r.id for r in rows}
            self.pending = {k: v for k, v in self.pending.items() if k[0] in ids}
            self.endResetModel()
        else:
            old, self._rows = self._rows, rows
            # only the rows that changed (an edit keeps the other records as the same objects): a sorted or
            # filtered view re-sorts what it is told about, 3,000 rows for nothing on the big feeder
            changed = [i for i, (a, b) in enumerate(zip(old, rows, strict=True)) if a is not b and a != b]
            last = len(self.columns) - 1
            start = prev = None
            for i in [*changed, None]:
                if start is not None and (i is None or i != prev + 1):
                    self.dataChanged.emit(self.index(start, 0), self.index(prev, last))
                    start = None
                if i is not None and start is None:
                    start = i
                prev = i

    def record(self, row: int):
        return self._rows[row]

    # --- Qt model API --------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal:
            col = self.columns[section]
            if role == Qt.ItemDataRole.DisplayRole:
                return col.header
            if role == Qt.ItemDataRole.ToolTipRole:
                return col.tooltip
        elif role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(self._rows):
            # the row's id, not its number: it stays in view when the table is scrolled to the right (a frozen
            # id column) and follows the row through sorting and filtering
            return str(getattr(self._rows[section], "id", section + 1))
        elif role == Qt.ItemDataRole.ToolTipRole and 0 <= section < len(self._rows):
            return f"row {section + 1}"
        return None

    def flags(self, index):
        f = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if self.columns[index.column()].set is not None:
            f |= Qt.ItemFlag.ItemIsEditable
        return f

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        rec = self._rows[index.row()]
        col = self.columns[index.column()]
        pending = self.pending.get((rec.id, col.key))
        if role == Qt.ItemDataRole.DisplayRole:
            return pending[0] if pending else col.display(rec)
        if role == Qt.ItemDataRole.EditRole:
            if pending:
                return pending[0]
            return (col.edit or col.display)(rec)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"⚠ {pending[1]}" if pending else col.tooltip
        if role == Qt.ItemDataRole.BackgroundRole:
            if pending:
                return INVALID_BRUSH
            if col.set is None:
                return READONLY_BRUSH
        if role == Qt.ItemDataRole.DecorationRole and pending:
            # a warning sign that a row selection's highlight cannot hide (the red background it can)
            return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        if role == Qt.ItemDataRole.ForegroundRole and pending:
            return INVALID_TEXT
        if role == Qt.ItemDataRole.TextAlignmentRole and col.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        rec = self._rows[index.row()]
        col = self.columns[index.column()]
        text = "" if value is None else str(value)
        key = (rec.id, col.key)
        if col.set is None:
            return False
        if key not in self.pending and text == (col.edit or col.display)(rec):
            return False  # nothing changed
        reason = None
        try:
            new_rec = col.set(rec, text, self.doc.scenario)
            new_scenario = self._with_record(self.doc.scenario, index.row(), new_rec)
        except ValueError as err:  # ScenarioError is a ValueError
            reason = f"{self.noun} '{rec.id}', {col.header}: " + (
                err.problems[0].message if isinstance(err, ScenarioError) and err.problems else str(err)
            )
        if reason is not None:
            self.pending[key] = (text, reason)
            self.dataChanged.emit(index, index)
            self.problem.emit(reason)
            return True  # keep what was typed, shown as invalid
        self.pending.pop(key, None)
        self.problem.emit("")
        self.doc.apply(new_scenario, f"Edit {self.noun} {rec.id}: {col.header}")
        self.dataChanged.emit(index, index)
        return True

    def column_of(self, key: str) -> int:
        return next(i for i, c in enumerate(self.columns) if c.key == key)


class ChoiceDelegate(QStyledItemDelegate):
    """A combo box for columns with a fixed set of choices (bus, DER kind)."""

    def __init__(self, model: RecordTableModel, parent=None):
        super().__init__(parent)
        self._model = model

    def _column(self, index) -> Column:
        src = index.model().mapToSource(index) if isinstance(index.model(), QSortFilterProxyModel) else index
        return self._model.columns[src.column()]

    def createEditor(self, parent, option, index):
        col = self._column(index)
        if col.choices is None:
            return super().createEditor(parent, option, index)
        box = QComboBox(parent)
        box.addItems(col.choices(self._model.doc.scenario))
        box.setEditable(False)
        return box

    def setEditorData(self, editor, index):
        if isinstance(editor, QComboBox):
            text = index.data(Qt.ItemDataRole.EditRole) or ""
            i = editor.findText(text)
            editor.setCurrentIndex(max(i, 0))
        else:
            super().setEditorData(editor, index)

    def setModelData(self, editor, model, index):
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentText(), Qt.ItemDataRole.EditRole)
        else:
            super().setModelData(editor, model, index)


class BusFilterProxy(QSortFilterProxyModel):
    """Filters rows by free text (any column) and, optionally, by bus."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.bus: str | None = None
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(-1)

    def set_bus(self, bus: str | None) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt ≥ 6.10
            self.beginFilterChange()
            self.bus = bus
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.bus = bus
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, row, parent):
        model = self.sourceModel()
        if self.bus is not None and getattr(model.record(row), "bus", self.bus) != self.bus:
            return False
        return super().filterAcceptsRow(row, parent)
