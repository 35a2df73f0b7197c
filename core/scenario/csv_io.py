"""Prosumer tables as CSV: import (every bad cell named by line and column) and export.

One prosumer per line; the header names the columns, which are the model's
field names with the unit in the name. Columns may come in any order; empty
cells take the model's default.

=========================  ========  ==============================================
column                     needed    meaning
=========================  ========  ==============================================
``id``                     required  the prosumer's unique id
``bus``                    required  the id of the bus it is connected to
``demand_kw``              required  fixed demand: a profile (see below)
``name``                   optional  free text
``demand_kvar``            optional  reactive demand: a profile (empty: from ``power_factor``)
``power_factor``           optional  lagging power factor of the demand (default 1)
``asset_kind``             optional  pv, battery, ev, generator, wind, chp (empty: no DER)
``p_max_kw``               asset     the DER's capacity ``P^max`` (needed with an asset)
``p_min_kw``               optional  minimum output, negative for charging storage (default 0)
``ramp_kw_per_period``     optional  ramp limit ``R`` (empty: none)
``efficiency``             optional  ``η`` from the DER to the meter (default 1)
``cost_a_per_kw2h``        optional  ``a`` of the cost ``C(p) = a p² + b p`` (default 0)
``cost_b_per_kwh``         optional  ``b`` of the cost (default 0)
``energy_kwh``             optional  storage energy capacity
``soc_init_pu``            optional  storage initial state of charge (default 0.5)
``availability_pu``        optional  per-period availability of ``P^max``: a profile
``flex_d_max_kw``          flexible  flexible demand ceiling ``d^max_t``: a profile
``flex_value_a_per_kw2h``  optional  ``a`` of the value ``U(d) = b d − a d²`` (default 0)
``flex_value_b_per_kwh``   flexible  ``b`` of the value (needed with a flexible load)
=========================  ========  ==============================================

A *profile* cell holds one number (the same in every period of the scenario's
horizon) or exactly ``T`` numbers separated by spaces or semicolons. The
column separator is a comma (a semicolon is accepted when the header has no
comma; profiles then use spaces). Numbers use a decimal point.

``demand_kvar``, ``soc_init_pu`` and ``availability_pu`` extend the minimal
column set so that every field of a :class:`~core.scenario.model.Prosumer`
except its explicit bids can be written and read back.

**PV availability (a documented choice).** A ``pv`` asset whose
``availability_pu`` cell is empty gets the clear-sky solar profile of
:func:`core.scenario.generate.solar_shape` (rounded to 3 decimals), since a
rooftop array's ``P^max`` is its nameplate, not what it can give at night.
To make the capacity constant over the day, write ``1`` in ``availability_pu``.
A profile of all ones is stored as "no availability profile" (``None``), which
means the same. Other kinds have no availability profile unless one is given.
For a horizon that is not one day of ``T`` equal periods from midnight, the
same clear-sky curve is evaluated at the midpoint clock hour of each period.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import Problem, ScenarioError
from core.files import write_atomic
from core.scenario.model import (
    ASSET_KINDS,
    Asset,
    FlexibleLoad,
    Prosumer,
    Scenario,
    TimeHorizon,
    validate_scenario,
)

REQUIRED_COLUMNS: tuple[str, ...] = ("id", "bus", "demand_kw")


ASSET_COLUMNS: tuple[str, ...] = (
    "p_max_kw",
    "p_min_kw",
    "ramp_kw_per_period",
    "efficiency",
    "cost_a_per_kw2h",
    "cost_b_per_kwh",
    "energy_kwh",
    "soc_init_pu",
    "availability_pu",
)


FLEX_COLUMNS: tuple[str, ...] = ("flex_d_max_kw", "flex_value_a_per_kw2h", "flex_value_b_per_kwh")


PROSUMER_CSV_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "bus",
    "demand_kw",
    "demand_kvar",
    "power_factor",
    "asset_kind",
    *ASSET_COLUMNS,
    *FLEX_COLUMNS,
)


_SPLIT = re.compile(r"[;\s]+")


_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")


def solar_availability(horizon: TimeHorizon) -> tuple[float, ...]:
    """The clear-sky PV availability of each period of ``horizon``, rounded to 3 decimals.

    For one day of ``T`` equal periods from midnight this is exactly
    ``round(solar_shape(T), 3)`` (:func:`core.scenario.generate.solar_shape`:
    ``0.9·max(0, sin(π(h − 6)/13))^1.3`` at the period's midpoint hour ``h``).
    Other horizons evaluate the same curve at their own midpoint clock hours.
    """
    # imported here, not at the top: core.scenario imports this module, and a top-level import of
    # generate would make `python -m core.scenario.generate` warn that it was imported twice
    from core.scenario.generate import solar_shape

    T = horizon.periods
    if math.isclose(T * horizon.step_h, 24.0) and horizon.start_hour == 0.0:
        shape = solar_shape(T)
    else:  # the same formula as generate.solar_shape, at this horizon's clock hours
        h = (horizon.start_hour + (np.arange(T) + 0.5) * horizon.step_h) % 24.0
        shape = 0.9 * np.clip(np.sin(np.pi * (h - 6.0) / 13.0), 0.0, None) ** 1.3
    return tuple(float(round(float(v), 3)) for v in shape)


def import_prosumers_csv(path: str | os.PathLike[str], scenario: Scenario, *, replace: bool = True) -> Scenario:
    """Read prosumers from the CSV file ``path`` into a copy of ``scenario``.

    The file's prosumers replace the scenario's (``replace=True``) or are
    appended after them (``replace=False``); the feeder, horizon and tariffs
    are kept. The columns are described in this module's docstring; a profile
    cell holds 1 or ``T = scenario.horizon.periods`` numbers.

    Raises :class:`~core.errors.ScenarioError` with ``file=path`` listing every
    problem found: each :class:`~core.errors.Problem` has ``field`` = the CSV
    column and ``row`` = the 1-based line of the file (the header is line 1),
    including the problems the scenario's own validation finds in the new
    prosumers (an unknown bus, an efficiency above 1, a duplicate id, …).
    """
    file = os.fspath(path)
    rows = _read_csv(file)
    header_line, header = rows[0]
    columns = _check_header(header, header_line, file)
    T = scenario.horizon.periods
    solar = None

    problems: list[Problem] = []
    built: list[Prosumer] = []
    lines_of: list[int] = []
    for line, cells in rows[1:]:
        if not any(c.strip() for c in cells):
            continue  # a blank line
        if len(cells) > len(columns):
            problems.append(
                Problem(
                    field="",
                    row=line,
                    line=line,
                    message=f"line {line} has {len(cells)} cells but the header has {len(columns)} columns",
                )
            )
            continue
        values = {col: (cells[k].strip() if k < len(cells) else "") for k, col in enumerate(columns)}
        row = _Row(values, line, T)
        kind = values.get("asset_kind", "").lower()
        if kind == "pv" and solar is None:
            solar = solar_availability(scenario.horizon)
        prosumer = row.prosumer(solar)
        if row.problems:
            problems.extend(row.problems)
        else:
            built.append(prosumer)
            lines_of.append(line)

    base = scenario.prosumers if not replace else ()
    candidate = _replace_prosumers(scenario, base + tuple(built), validate=False)
    for p in validate_scenario(candidate):
        problems.append(_csv_problem(p, len(base), lines_of))
    if problems:
        problems.sort(key=lambda p: p.row if p.row is not None else 0)
        raise ScenarioError(problems, file=file)
    return _replace_prosumers(scenario, candidate.prosumers, validate=True)


def _replace_prosumers(scenario: Scenario, prosumers: tuple[Prosumer, ...], *, validate: bool) -> Scenario:
    return replace(scenario, prosumers=prosumers, validate=validate)


def _read_csv(file: str) -> list[tuple[int, list[str]]]:
    """The file's records as (first line number, cells); raises ScenarioError when unreadable."""
    try:
        with open(file, encoding="utf-8-sig", newline="") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise ScenarioError("no such file", file=file) from None
    except UnicodeDecodeError as err:
        raise ScenarioError(f"is not UTF-8 text: {err}", file=file) from None
    except OSError as err:
        raise ScenarioError(f"cannot be read: {err}", file=file) from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if ("," not in first and ";" in first) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for cells in reader:
            if cells:
                rows.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as err:
        raise ScenarioError(Problem(field="", row=start, line=start, message=str(err)), file=file) from None
    if not rows:
        raise ScenarioError("is empty: a prosumers CSV needs a header line (id,bus,demand_kw,…)", file=file)
    return rows


def _check_header(header: list[str], line: int, file: str) -> list[str]:
    columns = [h.strip() for h in header]
    problems: list[Problem] = []
    known = set(PROSUMER_CSV_COLUMNS)
    seen: set[str] = set()
    for col in columns:
        if col in seen:
            problems.append(Problem(field=col, row=line, line=line, message="appears twice in the header"))
        seen.add(col)
        if col not in known:
            lowered = col.lower()
            close = difflib.get_close_matches(lowered, PROSUMER_CSV_COLUMNS, n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            shown = f"'{col}'" if col else "an empty header cell"
            problems.append(
                Problem(
                    field=col,
                    row=line,
                    line=line,
                    message=f"{shown} is not a known column{hint}; the columns are {', '.join(PROSUMER_CSV_COLUMNS)}",
                )
            )
    for col in REQUIRED_COLUMNS:
        if col not in seen:
            problems.append(
                Problem(field=col, row=line, line=line, message="is a required column and is missing from the header")
            )
    if problems:
        raise ScenarioError(problems, file=file)
    return columns


class _Row:
    """One CSV record being parsed; problems name the column and the line."""

    def __init__(self, values: dict[str, str], line: int, T: int) -> None:
        self.values = values
        self.line = line
        self.T = T
        self.problems: list[Problem] = []
        self.row_id = values.get("id") or None

    def fail(self, col: str, message: str) -> None:
        self.problems.append(Problem(field=col, message=message, row=self.line, line=self.line, row_id=self.row_id))

    def text(self, col: str) -> str:
        return self.values.get(col, "")

    def _number(self, col: str, text: str) -> float | None:
        try:
            v = float(text)
        except ValueError:
            hint = " (use a point as the decimal separator)" if _DECIMAL_COMMA.match(text) else ""
            self.fail(col, f"must be a number, got {text!r}{hint}")
            return None
        if not math.isfinite(v):
            self.fail(col, f"must be a finite number, got {text!r}")
            return None
        return v

    def number(self, col: str) -> float | None:
        """The cell as a float, ``None`` when empty (or bad: the problem is recorded)."""
        text = self.text(col)
        return self._number(col, text) if text else None

    def profile(self, col: str) -> tuple[float, ...] | None:
        """One number repeated over the horizon, or exactly T numbers; ``None`` when empty."""
        text = self.text(col)
        if not text:
            return None
        tokens = [t for t in _SPLIT.split(text) if t]
        values = []
        for tok in tokens:
            v = self._number(col, tok)
            if v is None:
                return None
            values.append(v)
        if len(values) == 1:
            return (values[0],) * self.T
        if len(values) != self.T:
            if self.T == 1:
                self.fail(col, f"has {len(values)} values, the horizon has 1 period (give one number)")
            else:
                self.fail(
                    col, f"has {len(values)} values, the horizon has {self.T} periods (give one number or {self.T})"
                )
            return None
        return tuple(values)

    def prosumer(self, solar: tuple[float, ...] | None) -> Prosumer | None:
        pid = self.text("id")
        bus = self.text("bus")
        if not pid:
            self.fail("id", "is required: every prosumer needs an id")
        if not bus:
            self.fail("bus", "is required: name the bus the prosumer is connected to")
        demand = self.profile("demand_kw")
        if demand is None and not self.text("demand_kw"):
            self.fail("demand_kw", "is required (write 0 for no fixed demand)")
        kvar = self.profile("demand_kvar")
        pf = self.number("power_factor")
        asset = self.asset(solar)
        flexible = self.flexible()
        if self.problems:
            return None
        kwargs: dict[str, Any] = {}
        if pf is not None:
            kwargs["power_factor"] = pf
        return Prosumer(
            id=pid,
            bus=bus,
            demand_kw=demand,
            name=self.text("name"),
            asset=asset,
            flexible=flexible,
            demand_kvar=kvar,
            **kwargs,
        )

    def asset(self, solar: tuple[float, ...] | None) -> Asset | None:
        kind = self.text("asset_kind").lower()
        given = [c for c in ASSET_COLUMNS if self.text(c)]
        if not kind:
            if given:
                self.fail(
                    "asset_kind",
                    f"is empty, but the line gives {', '.join(given)}: "
                    f"name the asset's kind ({', '.join(ASSET_KINDS)})",
                )
            return None
        if kind not in ASSET_KINDS:
            close = difflib.get_close_matches(kind, ASSET_KINDS, n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            self.fail(
                "asset_kind", f"must be one of {', '.join(ASSET_KINDS)} or empty, got {self.text('asset_kind')!r}{hint}"
            )
            return None
        p_max = self.number("p_max_kw")
        if p_max is None and not self.text("p_max_kw"):
            self.fail("p_max_kw", f"is required for a {kind} asset (its capacity in kW)")
        kwargs: dict[str, Any] = {}
        for col in (
            "p_min_kw",
            "ramp_kw_per_period",
            "efficiency",
            "cost_a_per_kw2h",
            "cost_b_per_kwh",
            "energy_kwh",
            "soc_init_pu",
        ):
            v = self.number(col)
            if v is not None:
                kwargs[col] = v
        availability = self.profile("availability_pu")
        if availability is None and not self.text("availability_pu") and kind == "pv":
            availability = solar
        if availability is not None and all(a == 1.0 for a in availability):
            availability = None  # constant capacity: the same as no profile
        if p_max is None:
            return None
        return Asset(kind=kind, p_max_kw=p_max, availability_pu=availability, **kwargs)

    def flexible(self) -> FlexibleLoad | None:
        given = [c for c in FLEX_COLUMNS if self.text(c)]
        if not given:
            return None
        d_max = self.profile("flex_d_max_kw")
        a = self.number("flex_value_a_per_kw2h")
        b = self.number("flex_value_b_per_kwh")
        for col in ("flex_d_max_kw", "flex_value_b_per_kwh"):
            if not self.text(col):
                self.fail(col, f"is required for a flexible load (the line gives {', '.join(given)})")
        if d_max is None or b is None:
            return None
        return FlexibleLoad(d_max_kw=d_max, value_a_per_kw2h=0.0 if a is None else a, value_b_per_kwh=b)


_FIELD_TO_COLUMN = {
    "asset.kind": "asset_kind",
    **{f"asset.{c}": c for c in ASSET_COLUMNS},
    "flexible.d_max_kw": "flex_d_max_kw",
    "flexible.value_a_per_kw2h": "flex_value_a_per_kw2h",
    "flexible.value_b_per_kwh": "flex_value_b_per_kwh",
}


_PROSUMER_FIELD = re.compile(r"^prosumers\[(\d+)\](?:\.(.*))?$")


_INDEXED = re.compile(r"^(.*)\[(\d+)\]$")


_DUPLICATE = re.compile(r"^duplicates prosumer (\d+) \('(.*)'\)$")


def _csv_problem(p: Problem, n_base: int, lines_of: list[int]) -> Problem:
    """A validation problem of ``prosumers[i]`` restated as (CSV column, CSV line)."""
    m = _PROSUMER_FIELD.match(p.field)
    if not m or int(m.group(1)) < n_base:
        return p  # not about a prosumer read from the file
    line = lines_of[int(m.group(1)) - n_base]
    rest = m.group(2) or "id"
    message = p.message
    idx = _INDEXED.match(rest)
    if idx:
        rest = idx.group(1)
        message = f"period {int(idx.group(2))}: {message}"
    column = _FIELD_TO_COLUMN.get(rest, rest)
    dup = _DUPLICATE.match(message)
    if dup:
        other = int(dup.group(1))
        where = f"line {lines_of[other - n_base]}" if other >= n_base else "a prosumer already in the scenario"
        message = f"duplicates the id '{dup.group(2)}' of {where}"
    return Problem(field=column, message=message, row=line, line=line, row_id=p.row_id)


def export_prosumers_csv(scenario: Scenario, path: str | os.PathLike[str]) -> list[str]:
    """Write the scenario's prosumers to ``path`` in the format :func:`import_prosumers_csv` reads.

    Every column of :data:`PROSUMER_CSV_COLUMNS` is written; numbers keep full
    precision (``repr``), a constant profile is written as one number. A PV
    availability equal to :func:`solar_availability` is left empty (the
    importer's default); a PV without a profile gets ``1`` (constant capacity).
    ``import_prosumers_csv(path, scenario)`` gives the same prosumers back,
    except what the format cannot hold: explicit bid blocks. Returns a
    warning for each prosumer whose bids were left out (empty: nothing lost).
    The file is written atomically (temporary file, then rename).
    """
    warnings: list[str] = []
    solar: tuple[float, ...] | None = None
    out_rows: list[list[str]] = [list(PROSUMER_CSV_COLUMNS)]
    for p in scenario.prosumers:
        cells = dict.fromkeys(PROSUMER_CSV_COLUMNS, "")
        cells.update(id=p.id, name=p.name, bus=p.bus, demand_kw=_fmt_profile(p.demand_kw))
        if p.demand_kvar is not None:
            cells["demand_kvar"] = _fmt_profile(p.demand_kvar)
        if p.power_factor != 1.0:
            cells["power_factor"] = _fmt(p.power_factor)
        a = p.asset
        if a is not None:
            cells.update(
                asset_kind=a.kind,
                p_max_kw=_fmt(a.p_max_kw),
                p_min_kw=_fmt(a.p_min_kw),
                ramp_kw_per_period="" if a.ramp_kw_per_period is None else _fmt(a.ramp_kw_per_period),
                efficiency=_fmt(a.efficiency),
                cost_a_per_kw2h=_fmt(a.cost_a_per_kw2h),
                cost_b_per_kwh=_fmt(a.cost_b_per_kwh),
                energy_kwh="" if a.energy_kwh is None else _fmt(a.energy_kwh),
                soc_init_pu=_fmt(a.soc_init_pu),
            )
            if a.kind == "pv":
                if solar is None:
                    solar = solar_availability(scenario.horizon)
                if a.availability_pu is None:
                    cells["availability_pu"] = "1"
                elif a.availability_pu != solar:
                    cells["availability_pu"] = _fmt_profile(a.availability_pu)
            elif a.availability_pu is not None:
                cells["availability_pu"] = _fmt_profile(a.availability_pu)
        f = p.flexible
        if f is not None:
            cells.update(
                flex_d_max_kw=_fmt_profile(f.d_max_kw),
                flex_value_a_per_kw2h=_fmt(f.value_a_per_kw2h),
                flex_value_b_per_kwh=_fmt(f.value_b_per_kwh),
            )
        if p.bids:
            warnings.append(f"prosumer '{p.id}': {len(p.bids)} bid block(s) left out (the CSV has no bids)")
        out_rows.append([cells[c] for c in PROSUMER_CSV_COLUMNS])
    _write_atomic(Path(path), out_rows)
    return warnings


def _fmt(v: float) -> str:
    text = repr(float(v))
    return text[:-2] if text.endswith(".0") else text


def _fmt_profile(values: tuple[float, ...]) -> str:
    if values and all(v == values[0] for v in values):
        return _fmt(values[0])
    return " ".join(_fmt(v) for v in values)


def _write_atomic(p: Path, rows: list[list[str]]) -> None:
    write_atomic(p, lambda fh: csv.writer(fh, lineterminator="\n").writerows(rows), newline="")
