"""Dock panels of the editor shell: the prosumer/line/bus tables, the inspector, the scenario form."""

from __future__ import annotations

from dataclasses import replace
from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from core.errors import ScenarioError
from core.market import NETWORK_LABELS
from core.scenario import Scenario
from core.scenario.edit import new_prosumer
from core.scenario.summary import counts, describe_roles
from core.units import fmt_number, fmt_sig
from gui.document import ProjectDocument
from gui.network_panels import (
    LIMIT,
    LOADING_AT_LIMIT_PCT,
    LOADING_OVER_PCT,
    PARTS,
    bus_limits,
    bus_rows,
    clean,
    exactness_text,
    has_network,
    has_voltages,
    line_rows,
    price_decimals,
    voltage_outside,
)
from gui.tables import (
    BusFilterProxy,
    ChoiceDelegate,
    RecordTableModel,
    bus_columns,
    line_columns,
    prosumer_columns,
)


class RecordTable(QWidget):
    """A filterable, editable table of one kind of record."""

    rowPicked = Signal(object)  # the record under the current row, or None

    def __init__(self, model: RecordTableModel, placeholder: str, parent=None):
        super().__init__(parent)
        self.model = model
        self.proxy = BusFilterProxy(self)
        self.proxy.setSourceModel(model)
        self.view = QTableView(self)
        self.view.setModel(self.proxy)
        self.view.setItemDelegate(ChoiceDelegate(model, self.view))
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setAlternatingRowColors(True)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.view.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText(placeholder)
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.bar = QHBoxLayout()
        self.bar.setContentsMargins(0, 0, 0, 0)
        self.bar.addWidget(self.filter, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(self.bar)
        lay.addWidget(self.view)
        self.view.selectionModel().currentRowChanged.connect(self._on_current)
        # widths from the content (the first 200 rows: instant on 3,000), again for each new set of rows
        self.view.horizontalHeader().setResizeContentsPrecision(200)
        self.view.resizeColumnsToContents()
        model.modelReset.connect(self.view.resizeColumnsToContents)

    def _on_current(self, current, _previous) -> None:
        if not current.isValid():
            self.rowPicked.emit(None)
            return
        self.rowPicked.emit(self.model.record(self.proxy.mapToSource(current).row()))

    def selected_rows(self) -> list[int]:
        rows = {self.proxy.mapToSource(i).row() for i in self.view.selectionModel().selectedRows()}
        if not rows and self.view.currentIndex().isValid():
            rows = {self.proxy.mapToSource(self.view.currentIndex()).row()}
        return sorted(rows)

    def select_ids(self, ids: set[str]) -> None:
        """Select the rows whose record id is in ``ids`` and scroll to the first."""
        sel = self.view.selectionModel()
        sel.clearSelection()
        first = None
        for r in range(self.model.rowCount()):
            if self.model.record(r).id in ids:
                idx = self.proxy.mapFromSource(self.model.index(r, 0))
                if idx.isValid():
                    sel.select(idx, sel.SelectionFlag.Select | sel.SelectionFlag.Rows)
                    first = first or idx
        if first is not None:
            self.view.scrollTo(first)


class ProsumerEditor(RecordTable):
    """Prosumers: add at the selected bus, remove, edit every field inline, filter by bus."""

    def __init__(self, doc: ProjectDocument, parent=None):
        model = RecordTableModel(
            doc,
            "prosumer",
            prosumer_columns(),
            records=lambda s: s.prosumers,
            with_record=lambda s, i, p: s.with_prosumer(i, p),
        )
        super().__init__(model, "Filter prosumers (id, name, bus, DER…)", parent)
        self.doc = doc
        self.current_bus: str | None = None
        self.only_bus = QCheckBox("Only the selected bus", self)
        self.only_bus.setToolTip("Show only the prosumers of the bus selected on the feeder")
        self.only_bus.toggled.connect(lambda on: self.proxy.set_bus(self.current_bus if on else None))
        self.add_button = QPushButton("Add", self)
        self.add_button.setToolTip("Add a prosumer at the selected bus (Ctrl+Shift+A)")
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.setToolTip("Remove the selected prosumers (Delete)")
        self.add_button.clicked.connect(self.add_prosumer)
        self.remove_button.clicked.connect(self.remove_selected)
        self.bar.addWidget(self.only_bus)
        self.bar.addWidget(self.add_button)
        self.bar.addWidget(self.remove_button)

    def set_bus(self, bus: str | None) -> None:
        self.current_bus = bus
        if self.only_bus.isChecked():
            self.proxy.set_bus(bus)
        if bus is not None:
            self.select_ids({p.id for p in self.doc.scenario.prosumers_at(bus)})

    def add_prosumer(self) -> None:
        s = self.doc.scenario
        bus = self.current_bus
        if bus is None:
            bus = next((b.id for b in s.feeder.buses if b.id != s.feeder.substation.bus), s.feeder.substation.bus)
        p = new_prosumer(s, bus)
        self.doc.apply(s.adding_prosumer(p), f"Add prosumer {p.id} at bus {bus}")
        self.select_ids({p.id})

    def remove_selected(self) -> None:
        rows = self.selected_rows()
        if not rows:
            return
        s = self.doc.scenario
        ids = [s.prosumers[r].id for r in rows]
        label = ids[0] if len(ids) == 1 else f"{len(ids)} prosumers"
        self.doc.apply(s.removing_prosumers(rows), f"Remove {label}")


def line_table(doc: ProjectDocument) -> RecordTable:
    model = RecordTableModel(
        doc, "line", line_columns(), records=lambda s: s.feeder.lines, with_record=lambda s, i, ln: s.with_line(i, ln)
    )
    return RecordTable(model, "Filter lines (id, bus…)")


def bus_table(doc: ProjectDocument) -> RecordTable:
    model = RecordTableModel(
        doc, "bus", bus_columns(), records=lambda s: s.feeder.buses, with_record=lambda s, i, b: s.with_bus(i, b)
    )
    return RecordTable(model, "Filter buses")


class Inspector(QTextBrowser):
    """What is selected on the feeder, in numbers with their units.

    With a cleared market (:meth:`set_result`) a bus also shows its market
    section — its DLMP and the four parts, its voltage (and the AC check's),
    its net injection — and a line its flow and loading, in the chosen
    period; a voltage outside its limits or a line at or over its rating is
    written in red.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setOpenLinks(False)
        self._scenario: Scenario | None = None
        self._bus: str | None = None
        self._line: str | None = None
        self._result = None
        self._period = 0

    def set_scenario(self, s: Scenario) -> None:
        self._scenario = s
        self._render()

    def set_result(self, result, period: int | None = None) -> None:
        """Show ``result``'s numbers for ``period`` (default: the result's own period)."""
        self._result = result
        self._period = result.period if period is None else period
        self._render()

    def set_period(self, period: int) -> None:
        if period != self._period:
            self._period = period
            self._render()

    def show_bus(self, bus: str | None) -> None:
        self._bus, self._line = bus, None
        self._render()

    def show_line(self, line: str | None) -> None:
        if line is None and self._line is None:
            return
        self._line = line
        if line is not None:
            self._bus = None
        self._render()

    def _render(self) -> None:
        s = self._scenario
        if s is None:
            self.setHtml("")
            return
        if self._line is not None:
            ln = next((x for x in s.feeder.lines if x.id == self._line), None)
            if ln is not None:
                self.setHtml(self._line_html(s, ln) + self._line_market_html(ln.id))
                return
        if self._bus is not None and any(b.id == self._bus for b in s.feeder.buses):
            self.setHtml(self._bus_html(s, self._bus, self._bus_market_html(s, self._bus)))
            return
        self.setHtml(self._scenario_html(s) + self._overview_market_html())

    # --- the market section -------------------------------------------------------------
    def _when(self) -> str:
        r = self._result
        p = r.periods
        t = self._period
        when = str(p.time.iloc[t]) if "time" in p and 0 <= t < len(p) else f"period {t}"
        net = NETWORK_LABELS.get(r.settings.network, r.settings.network) if has_network(r) else ""
        return escape(when + (f" · {net}" if net else ""))

    def _bus_market_html(self, s: Scenario, bus: str) -> str:
        r = self._result
        if r is None:
            return ""
        head = f"<h4>Market · {self._when()}</h4>"
        if not has_network(r):
            p = r.periods
            price = float(p.price_per_kwh.iloc[self._period]) if 0 <= self._period < len(p) else float("nan")
            shown = "–" if price != price else f"{fmt_sig(price)} {escape(r.currency)}/kWh"
            return (
                f"<p><b>Market · {self._when()}</b>: {shown}, the same at every bus (no network model: "
                "choose one in the Market dock for this bus's DLMP)</p>"
            )
        rows = bus_rows(r, self._period)
        if bus not in rows.index:
            return head + "<p>This bus is not in the last cleared market (it will be after the next clearing).</p>"
        model = exactness_text(r)
        if model:
            head += f"<p>{model.removeprefix(' · ')}</p>"
        row = rows.loc[bus]
        unit = f"{escape(r.currency)}/kWh"
        d = price_decimals(rows.dlmp_per_kwh)
        cells = [
            f"<tr><td><b>DLMP</b></td><td align=right><b>{fmt_number(row.dlmp_per_kwh, d)}</b></td><td>{unit}</td></tr>"
        ]
        for key, name, colour in PARTS:
            cells.append(
                f"<tr><td>&nbsp;<span style='color:{colour.name()}'>■</span> {name}</td>"
                f"<td align=right>{fmt_number(clean(row[key]), d)}</td><td>{unit}</td></tr>"
            )
        v_min, v_max = bus_limits(s, bus)
        for label, col in (("Voltage", "v_pu"), ("AC voltage", "v_pu_ac")):
            if col not in row or row[col] != row[col] or (col == "v_pu" and not has_voltages(r)):
                continue
            v = float(row[col])
            text = f"{fmt_number(v, 4)}"
            note = "p.u."
            if voltage_outside(v, v_min, v_max):
                side, lim = ("below", v_min) if v < v_min else ("above", v_max)
                text = f"<span style='color:{LIMIT.name()}'><b>{text}</b></span>"
                note = f"p.u. <span style='color:{LIMIT.name()}'><b>⚠ {side} the limit {lim:g}</b></span>"
            elif abs(v - v_min) <= 1e-6:
                note = "p.u., at its lower limit"
            elif abs(v - v_max) <= 1e-6:
                note = "p.u., at its upper limit"
            cells.append(f"<tr><td>{label}</td><td align=right>{text}</td><td>{note}</td></tr>")
        inj = float(row.injection_kw)
        what = "injection" if inj > 0.05 else ("withdrawal" if inj < -0.05 else "balanced")
        cells.append(f"<tr><td>Net injection</td><td align=right>{fmt_number(inj, 1)}</td><td>kW ({what})</td></tr>")
        return head + "<table cellspacing=0 cellpadding=2>" + "".join(cells) + "</table>"

    def _line_market_html(self, line: str) -> str:
        r = self._result
        if r is None or not has_network(r):
            return ""
        rows = line_rows(r, self._period)
        head = f"<h4>Market · {self._when()}</h4>"
        if line not in rows.index:
            return head + "<p>This line is not in the last cleared market.</p>"
        row = rows.loc[line]
        load = float(row.loading_pct)
        if load != load:
            loading = "<tr><td>Loading</td><td align=right>–</td><td>(unrated)</td></tr>"
        else:
            text, note = fmt_number(load, 1), "% of its rating"
            if load > LOADING_OVER_PCT:
                text = f"<span style='color:{LIMIT.name()}'><b>{text}</b></span>"
                note += f" <span style='color:{LIMIT.name()}'><b>⚠ overloaded</b></span>"
            elif load >= LOADING_AT_LIMIT_PCT:
                text = f"<span style='color:{LIMIT.name()}'><b>{text}</b></span>"
                note += f" — <span style='color:{LIMIT.name()}'><b>congested</b></span>"
            loading = f"<tr><td>Loading</td><td align=right>{text}</td><td>{note}</td></tr>"
        p = float(row.p_kw)
        direction = (
            f"{escape(row.from_bus)} → {escape(row.to_bus)}"
            if p >= 0
            else f"{escape(row.to_bus)} → {escape(row.from_bus)}"
        )
        return (
            head + "<table cellspacing=0 cellpadding=2>"
            f"<tr><td>Real power</td><td align=right>{fmt_number(abs(p), 1)}</td><td>kW, {direction}</td></tr>"
            f"<tr><td>Reactive power</td><td align=right>{fmt_number(row.q_kvar, 1)}</td>"
            f"<td>kvar (from {escape(row.from_bus)})</td></tr>"
            f"{loading}"
            f"<tr><td>Losses</td><td align=right>{fmt_number(row.loss_kw, 2)}</td><td>kW</td></tr>"
            + (
                f"<tr><td>Relaxation gap</td><td align=right>{float(row.exactness_gap):.0e}</td>"
                "<td>(P² + Q² − v·ℓ)/v·ℓ: 0 is exact AC</td></tr>"
                if "exactness_gap" in row and row.exactness_gap == row.exactness_gap
                else ""
            )
            + "</table>"
        )

    def _overview_market_html(self) -> str:
        r = self._result
        if r is None or not has_network(r):
            return ""
        p = r.periods
        t = self._period
        if not 0 <= t < len(p):
            return ""
        unit = f"{escape(r.currency)}/kWh"
        lo, hi = float(p.dlmp_min_per_kwh.iloc[t]), float(p.dlmp_max_per_kwh.iloc[t])
        d = price_decimals([lo, hi])
        v = float(p.v_min_pu.iloc[t])
        load = float(p.max_loading_pct.iloc[t])
        volts = f"{fmt_number(v, 4)} p.u." if has_voltages(r) else "– (the DC model has none)"
        return (
            f"<h4>Market · {self._when()}</h4><table cellspacing=4>"
            f"<tr><td>DLMP</td><td>{fmt_number(lo, d)}–{fmt_number(hi, d)} {unit}</td></tr>"
            f"<tr><td>Lowest voltage</td><td>{volts}</td></tr>"
            f"<tr><td>Most loaded line</td><td>{fmt_number(load, 1)} % of its rating</td></tr></table>"
        )

    @staticmethod
    def _scenario_html(s: Scenario) -> str:
        c = counts(s)
        f = s.feeder
        return (
            f"<h3>{escape(s.name)}</h3><p>{escape(s.description)}</p>"
            f"<table cellspacing=4>"
            f"<tr><td>Buses / lines</td><td>{c['buses']} / {c['lines']}</td></tr>"
            f"<tr><td>Prosumers</td><td>{escape(describe_roles(c))}</td></tr>"
            f"<tr><td>Base voltage</td><td>{f.base_kv:g} kV, {f.base_kva:g} kVA base</td></tr>"
            f"<tr><td>Voltage limits</td><td>{f.v_min_pu:g}–{f.v_max_pu:g} p.u.</td></tr>"
            f"<tr><td>Horizon</td><td>{s.periods} × {s.horizon.step_h:g} h</td></tr>"
            f"</table><p><i>Click a bus or a line on the feeder to inspect it.</i></p>"
        )

    @staticmethod
    def _bus_html(s: Scenario, bus: str, market: str = "") -> str:
        b = next(x for x in s.feeder.buses if x.id == bus)
        ps = s.prosumers_at(bus)
        cur = escape(s.currency)
        rows = "".join(
            f"<tr><td>{escape(p.id)}</td><td>{escape(p.role)}</td><td align=right>{max(p.demand_kw):,.1f}</td>"
            f"<td>{escape(p.asset.kind) if p.asset else '—'}</td>"
            f"<td align=right>{p.asset.p_max_kw:,.1f}</td></tr>"
            if p.asset
            else f"<tr><td>{escape(p.id)}</td><td>{escape(p.role)}</td><td align=right>{max(p.demand_kw):,.1f}</td>"
            f"<td>—</td><td></td></tr>"
            for p in ps
        )
        vmin = b.v_min_pu if b.v_min_pu is not None else s.feeder.v_min_pu
        vmax = b.v_max_pu if b.v_max_pu is not None else s.feeder.v_max_pu
        sub = ""
        if bus == s.feeder.substation.bus:
            w = s.feeder.substation.wholesale_price_per_kwh
            sub = (
                f"<p><b>Substation</b>: V set {s.feeder.substation.v_set_pu:g} p.u.; wholesale price "
                f"{min(w):.4g}–{max(w):.4g} {cur}/kWh</p>"
            )
        return (
            f"<h3>Bus {escape(bus)}</h3>"
            + (f"<p>{escape(b.name)}</p>" if b.name and b.name.strip() != f"Bus {bus}" else "")
            + f"{sub}"
            f"<p>Voltage limits {vmin:g}–{vmax:g} p.u.</p>{market}"
            f"<p><b>{len(ps)} prosumer(s)</b></p>"
            f"<table cellspacing=0 cellpadding=3><tr><th align=left>Id</th><th align=left>Role</th><th>Peak d (kW)</th>"
            f"<th align=left>DER</th><th>P max (kW)</th></tr>{rows}</table>"
        )

    @staticmethod
    def _line_html(s: Scenario, ln) -> str:
        rating = ln.rating_kva_at(s.feeder.base_kv)
        zb = s.feeder.base_z_ohm
        return (
            f"<h3>Line {escape(ln.id)}</h3>"
            + (f"<p>{escape(ln.name)}</p>" if ln.name and ln.name.strip() != f"Line {ln.id}" else "")
            + f"<table cellspacing=4>"
            f"<tr><td>From → to</td><td>{escape(ln.from_bus)} → {escape(ln.to_bus)}</td></tr>"
            f"<tr><td>R</td><td>{ln.r_ohm:g} Ω ({ln.r_ohm / zb:.5f} p.u.)</td></tr>"
            f"<tr><td>X</td><td>{ln.x_ohm:g} Ω ({ln.x_ohm / zb:.5f} p.u.)</td></tr>"
            f"<tr><td>X/R</td><td>{(ln.x_ohm / ln.r_ohm) if ln.r_ohm else float('inf'):.2f}</td></tr>"
            f"<tr><td>Rating</td><td>{f'{rating:,.0f} kVA' if rating else 'unrated'}"
            f"{f' ({ln.rating_a:g} A)' if ln.rating_a else ''}</td></tr>"
            f"</table>"
        )


class ScenarioForm(QWidget):
    """The scenario's own fields: name, description, currency, voltage limits, substation set-point."""

    problem = Signal(str)

    FIELDS = (
        ("name", "Name", "The scenario's title", None),
        ("description", "Description", "What the scenario shows", None),
        ("currency", "Currency", "Code or symbol of every price (per kWh)", None),
        ("v_min_pu", "V min (p.u.)", "Lowest voltage allowed anywhere on the feeder, per unit", "feeder"),
        ("v_max_pu", "V max (p.u.)", "Highest voltage allowed anywhere on the feeder, per unit", "feeder"),
        (
            "v_set_pu",
            "Substation V set (p.u.)",
            "Voltage set-point of the substation (slack bus), per unit",
            "substation",
        ),
    )

    def __init__(self, doc: ProjectDocument, parent=None):
        super().__init__(parent)
        self.doc = doc
        self.edits: dict[str, QLineEdit] = {}
        form = QFormLayout(self)
        for key, label, tip, _where in self.FIELDS:
            e = QLineEdit(self)
            e.setToolTip(tip)
            e.editingFinished.connect(lambda k=key: self._commit(k))
            form.addRow(label, e)
            self.edits[key] = e
        self.message = QLabel(self)
        self.message.setStyleSheet("color: #b00020;")
        self.message.setWordWrap(True)
        form.addRow(self.message)
        doc.scenarioChanged.connect(self.set_scenario)
        self.set_scenario(doc.scenario)

    def _value(self, s: Scenario, key: str):
        where = dict((k, w) for k, _l, _t, w in self.FIELDS)[key]
        if where == "feeder":
            return getattr(s.feeder, key)
        if where == "substation":
            return getattr(s.feeder.substation, key)
        return getattr(s, key)

    def set_scenario(self, s: Scenario) -> None:
        for key, e in self.edits.items():
            if e.property("invalid") or e.hasFocus():
                continue  # keep what the user typed until they fix it (or while they type)
            text = str(self._value(s, key))
            if e.text() != text:
                e.setText(text)
                e.setCursorPosition(0)  # a long name or description reads from its start, not its end
                e.setToolTip(text if len(text) > 30 else "")

    def _commit(self, key: str) -> None:
        e = self.edits[key]
        text = e.text()
        s = self.doc.scenario
        where = dict((k, w) for k, _l, _t, w in self.FIELDS)[key]
        try:
            if where is None:
                new = replace(s, **{key: text})
            else:
                value = float(text)
                if where == "feeder":
                    new = replace(s, feeder=replace(s.feeder, **{key: value}))
                else:
                    new = replace(s, feeder=replace(s.feeder, substation=replace(s.feeder.substation, v_set_pu=value)))
        except ScenarioError as err:
            self._invalid(e, err.problems[0].describe())
            return
        except ValueError:
            self._invalid(e, f"must be a number, got '{text}'")
            return
        e.setProperty("invalid", False)
        e.setStyleSheet("")
        self.message.clear()
        self.problem.emit("")
        self.doc.apply(new, f"Edit scenario {key}")

    def _invalid(self, e: QLineEdit, reason: str) -> None:
        e.setProperty("invalid", True)
        e.setStyleSheet("background: #ffcdcd;")
        e.setToolTip(f"⚠ {reason}")
        self.message.setText(reason)
        self.problem.emit(reason)
