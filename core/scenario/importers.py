"""Importers: a CSV file of prosumers, and pandapower networks.

Prosumers CSV
=============

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

pandapower
==========

:func:`import_pandapower` turns a radial pandapower network into a scenario
(one snapshot repeated over the horizon) and lists, in plain words, what it
dropped or approximated.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import os
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import Problem, ScenarioError
from core.files import write_atomic
from core.scenario.model import (
    ASSET_KINDS,
    Asset,
    Bus,
    Feeder,
    FlexibleLoad,
    Line,
    Prosumer,
    Scenario,
    Substation,
    Tariffs,
    TimeHorizon,
    Transformer,
    validate_scenario,
)

# ---------------------------------------------------------------------------
# prosumers CSV
# ---------------------------------------------------------------------------

REQUIRED_COLUMNS: tuple[str, ...] = ("id", "bus", "demand_kw")
"""Columns a prosumers CSV must have."""

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
"""Every column a prosumers CSV may have, in the order :func:`export_prosumers_csv` writes them."""

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


# ---------------------------------------------------------------------------
# pandapower
# ---------------------------------------------------------------------------

_UNRATED_KA = 10.0  # max_i_ka at or above this means "no rating" (case33bw uses 99999)
_BRANCH_TABLES_UNSUPPORTED = {
    "impedance": "impedance elements",
    "dcline": "DC lines",
    "tcsc": "thyristor-controlled series capacitors",
}
_IGNORED_TABLES = {
    "ward": "wards",
    "xward": "extended wards",
    "storage": "storage units",
    "motor": "motors",
    "asymmetric_load": "asymmetric loads",
    "asymmetric_sgen": "asymmetric static generators",
    "svc": "static var compensators",
    "ssc": "static synchronous compensators",
    "vsc": "voltage source converters (and the DC grid behind them)",
    "line_dc": "DC lines",
}
_SGEN_KINDS = {"pv": "pv", "wp": "wind", "wind": "wind", "chp": "chp"}


def import_pandapower(
    source: Any,
    *,
    periods: int = 1,
    wholesale_price_per_kwh: float = 0.10,
    retail_price_per_kwh: float = 0.25,
    feed_in_price_per_kwh: float = 0.07,
    name: str | None = None,
) -> tuple[Scenario, list[str]]:
    """A radial pandapower network as a :class:`Scenario`, with warnings on what was approximated.

    ``source`` is a ``pandapowerNet``, the name of a ``pandapower.networks``
    function (``"case33bw"``) or the path of a pandapower JSON file. The
    snapshot is repeated over ``periods`` one-hour periods, with constant
    wholesale, retail and feed-in prices.

    * Buses: the in-service ones (``Bus.id = str(index)``); buses joined by a
      closed bus–bus switch are merged; buses not connected to the external
      grid are dropped (with what sits on them).
    * One voltage base ``V_b`` (``feeder.base_kv``): the most common nominal
      voltage of the buses that carry loads. An impedance on level ``V_n`` is
      referred to it, ``Z' = Z·(V_b/V_n)²`` (an admittance ``Y' = Y·(V_n/V_b)²``);
      a current rating off the base level becomes ``S = √3·V_n·I_max``. Per-unit
      voltages are then those of pandapower (each bus on its own level).
    * Lines: the π model, ``R = r_ohm_per_km·length_km/parallel`` (and ``X``),
      shunt ``B = 2π·f_hz·c_nf_per_km·length_km·parallel``, ``G = g_us_per_km·…``
      (half at each end), ``I_max = max_i_ka·df·parallel`` (unrated when ≥ 10 kA).
    * Two-winding transformers, as pandapower's power flow models them (T model):
      the rated voltages at the tap position (``tap_pos``, ``tap_neutral``,
      ``tap_step_percent``/``tap_step_degree`` on ``tap_side``, for a ``Ratio``,
      ``Symmetrical`` or ``Ideal`` changer; pandapower ignores an untyped one),
      the off-nominal ratio ``τ = (vn_hv/vn_lv)/(V_hv,bus/V_lv,bus)`` and the phase
      shift ``shift_degree`` (+ the tap's) in a
      :class:`~core.scenario.model.Transformer`; the short-circuit impedance on the lv
      side at its rated voltage, ``|Z| = vk%/100·vn_lv²/S_n/parallel``,
      ``R = vkr%/100·…``; the magnetising branch ``G = pfe/vn_lv²``,
      ``|Y| = i0%/100·S_n/vn_lv²`` (``B = −√(|Y|² − G²)``), times ``parallel``;
      rating ``S_n·parallel·df``.
    * A line cut at one end only (an open switch, a bus out of service) or a
      transformer opened by a switch on one side stays connected at the other in
      pandapower: it becomes the shunt it draws there. Cut at both ends (or a
      transformer at an out-of-service bus), it is dropped. pandapower's ``shunt``
      elements become bus shunts (``(p_mw − j·q_mvar)·step`` at ``vn_kv``).
    * The ext_grid bus is the substation (``v_set_pu = vm_pu``); loads become
      consumers (``P = p_mw·scaling``, ``Q = q_mvar·scaling``), static
      generators DER assets with ``P^max = p_mw·scaling`` and no cost,
      generators ``generator`` assets with ``P^max = max_p_mw`` (else ``p_mw``).

    Raises :class:`~core.errors.ScenarioError` for what a radial feeder cannot
    hold: no or several external grids, three-winding transformers, series
    elements other than lines and transformers, and meshed networks (naming
    the branches that close loops).
    """
    try:
        import pandapower as pp
    except ImportError:
        raise ScenarioError("pandapower is not installed: pip install 'feeder-market[grid]'") from None
    if isinstance(periods, bool) or not isinstance(periods, int) or periods < 1:
        raise ScenarioError(Problem("periods", f"must be a whole number ≥ 1, got {periods!r}"))
    net, label, file = _load_net(pp, source)
    try:
        return _NetImporter(net, label, periods, name).build(
            wholesale_price_per_kwh, retail_price_per_kwh, feed_in_price_per_kwh
        )
    except ScenarioError as err:
        raise (err.with_file(file) if file else err) from None


def _load_net(pp: Any, source: Any) -> tuple[Any, str, str | None]:
    """(net, label, file) from a pandapowerNet, a pandapower.networks name or a JSON path."""
    if isinstance(source, pp.pandapowerNet):
        return source, "", None
    if not isinstance(source, (str, os.PathLike)):
        raise ScenarioError(
            f"cannot import an object of type '{type(source).__name__}': give a pandapowerNet, the name of a "
            "pandapower.networks function (such as 'case33bw') or the path of a pandapower JSON file"
        )
    text = os.fspath(source)
    p = Path(text)
    if p.is_file():
        try:
            net = pp.from_json(text)
        except Exception as err:  # pandapower raises many kinds on a bad file
            raise ScenarioError(f"cannot be read as a pandapower network: {err}", file=text) from None
        if not isinstance(net, pp.pandapowerNet):
            raise ScenarioError("does not hold a pandapower network", file=text)
        return net, p.stem, text
    if text.lower().endswith(".json") or "/" in text or os.sep in text:
        raise ScenarioError("no such file", file=text)
    import pandapower.networks as pn

    fn = getattr(pn, text, None)
    if text.startswith("_") or fn is None or not callable(fn) or isinstance(fn, type):
        names = sorted(n for n in dir(pn) if not n.startswith("_") and callable(getattr(pn, n, None)))
        close = difflib.get_close_matches(text, names, n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else " (such as 'case33bw')"
        raise ScenarioError(f"'{text}' is neither a pandapower JSON file nor a network of pandapower.networks{hint}")
    try:
        net = fn()
    except TypeError as err:
        raise ScenarioError(
            f"pandapower.networks.{text}() cannot be called without arguments ({err}): "
            "build the network in Python and pass the net itself"
        ) from None
    if not isinstance(net, pp.pandapowerNet):
        raise ScenarioError(f"pandapower.networks.{text}() does not return a pandapower network")
    return net, text, None


def _sig(v: float, digits: int = 12) -> float:
    """A plain Python float rounded to ``digits`` significant digits (no float noise, no numpy)."""
    return float(f"{float(v):.{digits}g}")


def _finite(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _ids(indices: list[int], limit: int = 10) -> str:
    shown = ", ".join(str(i) for i in indices[:limit])
    return shown + (f" … ({len(indices)} in all)" if len(indices) > limit else "")


def _wrap_deg(angle: float) -> float:
    """An angle in degrees within (−180, 180] (the same phase shift)."""
    a = math.fmod(angle, 360.0)
    if a > 180.0:
        a -= 360.0
    elif a <= -180.0:
        a += 360.0
    return a


def _trafo_rated_voltages(row: Any) -> tuple[float, float, float, str]:
    """A two-winding transformer's rated voltages at its tap position and its phase shift, as pandapower's
    power flow computes them (``build_branch._calc_tap_from_dataframe``, pandapower 3).

    ``(vn_hv_kv, vn_lv_kv, shift_deg, note)``. For each tap changer (``tap_*`` and ``tap2_*``) at
    position ``n = tap_pos − tap_neutral``: a ``Ratio`` or ``Symmetrical`` changer changes the rated
    voltage ``u`` of its side (``tap_side``) to ``|u + du·e^{jα}|`` with ``du = u·n·tap_step_percent/100``
    and ``α = tap_step_degree`` (0 if not given), and shifts the phase by ``±atan(du·sin α/(u + du·cos α))``
    (+ on the hv side); an ``Ideal`` one only shifts the phase, by ``n·tap_step_degree`` (or
    ``2·asin(n·tap_step_percent/200)``). A changer without a type changes nothing in pandapower
    either (``note = "untyped"`` when its position is off neutral); ``note = "table"`` when a tap
    characteristic table would apply (not read: the steps are used).
    """
    vn = {"hv": float(row["vn_hv_kv"]), "lv": float(row["vn_lv_kv"])}
    shift = _finite(row.get("shift_degree")) or 0.0
    note = ""
    for t in ("", "2"):
        pos = _finite(row.get(f"tap{t}_pos"))
        if pos is None:
            continue
        neutral = _finite(row.get(f"tap{t}_neutral"))
        diff = math.nan if neutral is None else pos - neutral
        side = row.get(f"tap{t}_side")
        kind = row.get(f"tap{t}_changer_type")
        kind = kind if isinstance(kind, str) else ""
        dep = row.get("tap_dependency_table") if t == "" else None
        if isinstance(dep, (bool, np.bool_)) and dep and diff:
            note = "table"
        if side not in ("hv", "lv") or not diff or not math.isfinite(diff):
            continue
        direction = 1.0 if side == "hv" else -1.0
        step_pct = _finite(row.get(f"tap{t}_step_percent"))
        step_deg = _finite(row.get(f"tap{t}_step_degree"))
        if kind == "Ideal":
            if step_deg:
                shift += direction * diff * step_deg
            elif step_pct:
                shift += direction * 2.0 * math.degrees(math.asin(diff * step_pct / 200.0))
        elif kind in ("Ratio", "Symmetrical"):
            u = vn[side]
            du = u * diff * (step_pct or 0.0) / 100.0
            alpha = math.radians(step_deg or 0.0)
            vn[side] = math.hypot(u + du * math.cos(alpha), du * math.sin(alpha))
            shift += math.degrees(math.atan(direction * du * math.sin(alpha) / (u + du * math.cos(alpha))))
        elif note != "table":
            note = "untyped"
    return vn["hv"], vn["lv"], shift, note


class _NetImporter:
    """The conversion of one pandapower network; collects warnings as it goes."""

    def __init__(self, net: Any, label: str, periods: int, name: str | None) -> None:
        self.net = net
        self.T = periods
        net_name = net.name if isinstance(getattr(net, "name", None), str) else ""
        self.label = label or net_name or "pandapower network"
        self.name = name or net_name or self.label
        self.warnings: list[str] = []
        self.shunts: dict[int, complex] = {}  # S at the feeder's base, per representative bus
        self.cuts: list[tuple[str, int, str, int | None, complex]] = []  # (table, index, why, connected bus, Y)

    def table(self, key: str):
        """The in-service rows of ``net[key]`` (None when the table is absent or empty)."""
        if key not in self.net:
            return None
        df = self.net[key]
        if not hasattr(df, "columns") or len(df) == 0:
            return None
        if "in_service" in df.columns:
            df = df[df["in_service"].fillna(False).astype(bool)]
        return df if len(df) else None

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    # --- the whole conversion ---------------------------------------------
    def build(self, wholesale: float, retail: float, feed_in: float) -> tuple[Scenario, list[str]]:
        net = self.net
        self.check_unsupported()
        eg = self.table("ext_grid")
        if eg is None:
            raise ScenarioError(
                Problem(
                    "ext_grid", "the network has no external grid in service: a feeder needs one substation (slack bus)"
                )
            )
        if len(eg) > 1:
            raise ScenarioError(
                Problem(
                    "ext_grid",
                    f"the network has {len(eg)} external grids in service ({_ids(list(eg.index))}); "
                    "a radial feeder has one substation: set all but one out of service",
                )
            )
        slack_orig = int(eg["bus"].iloc[0])
        v_set = float(eg["vm_pu"].iloc[0])

        buses = net.bus
        live = {int(i) for i in buses.index[buses["in_service"].fillna(False).astype(bool)]}
        if slack_orig not in live:
            raise ScenarioError(Problem("ext_grid", f"the external grid's bus {slack_orig} is out of service"))
        # nominal voltages to 7 significant digits: some networks store them as float32
        vn = {int(i): _sig(v, 7) for i, v in buses["vn_kv"].items()}
        self.vn = vn

        self.rep = self.merge_switched_buses(live, slack_orig)
        slack = self.rep[slack_orig]
        base_kv = self.choose_base_kv(live)
        self.base_kv = base_kv

        branches = self.lines(live, vn) + self.trafos(live, vn)
        self.shunt_elements(live)
        reach = self.check_radial(branches, live, slack)
        self.settle_cuts(reach)
        dropped_buses = sorted(b for b in live if self.rep[b] not in reach)
        if dropped_buses:
            self.warn(f"{len(dropped_buses)} bus(es) not connected to the external grid dropped: {_ids(dropped_buses)}")
        reach_ids = {str(r) for r in reach}
        kept_branches = [b for b in branches if b[1].from_bus in reach_ids]

        feeder_vmin, feeder_vmax, bus_objs = self.buses(reach, slack)
        feeder = Feeder(
            base_kv=_sig(base_kv),
            base_kva=_sig(float(net.sn_mva) * 1000.0),
            substation=Substation(
                bus=str(slack), v_set_pu=_sig(v_set), wholesale_price_per_kwh=(float(wholesale),) * self.T
            ),
            buses=tuple(bus_objs),
            lines=tuple(ln for _, ln in kept_branches),
            v_min_pu=feeder_vmin,
            v_max_pu=feeder_vmax,
        )
        prosumers = self.prosumers(reach)
        self.warn(f"one snapshot repeated over {self.T} period(s) of 1 h: loads, generation and prices are constant")
        try:
            scenario = Scenario(
                name=self.name,
                description=(
                    f"Imported from pandapower ({self.label}): {len(bus_objs)} buses, "
                    f"{len(kept_branches)} branches, {len(prosumers)} prosumers."
                ),
                feeder=feeder,
                horizon=TimeHorizon(periods=self.T, step_h=1.0),
                tariffs=Tariffs(
                    retail_import_price_per_kwh=(float(retail),) * self.T,
                    feed_in_price_per_kwh=(float(feed_in),) * self.T,
                ),
                prosumers=tuple(prosumers),
            )
        except ScenarioError as err:
            raise ScenarioError(
                [replace(p, message=f"{p.message} (in the network imported from {self.label})") for p in err.problems]
            ) from None
        return scenario, self.warnings

    # --- pieces -----------------------------------------------------------
    def check_unsupported(self) -> None:
        problems = []
        t3 = self.table("trafo3w")
        if t3 is not None:
            problems.append(
                Problem(
                    "trafo3w",
                    f"three-winding transformers are not supported "
                    f"(in service: {_ids(list(t3.index))}); model each as "
                    "two-winding transformers or set it out of service",
                )
            )
        for key, what in _BRANCH_TABLES_UNSUPPORTED.items():
            df = self.table(key)
            if df is not None:
                problems.append(
                    Problem(
                        key,
                        f"{what} are not supported (in service: {_ids(list(df.index))}): "
                        "they are branches, and dropping them would change the topology",
                    )
                )
        if problems:
            raise ScenarioError(problems)
        for key, what in _IGNORED_TABLES.items():
            df = self.table(key)
            if df is not None:
                self.warn(f"{len(df)} {what} ignored ({key} {_ids(list(df.index))})")
        ctrl = self.net["controller"] if "controller" in self.net else None
        if ctrl is not None and len(ctrl):
            self.warn(f"{len(ctrl)} controller(s) ignored")

    def merge_switched_buses(self, live: set[int], slack: int) -> dict[int, int]:
        """Representative bus of each live bus: closed bus–bus switches fuse buses."""
        parent = {b: b for b in live}

        def find(b: int) -> int:
            while parent[b] != b:
                parent[b] = parent[parent[b]]
                b = parent[b]
            return b

        sw = self.net.switch if "switch" in self.net else None
        if sw is not None and len(sw):
            closed_bb = sw[(sw["et"] == "b") & sw["closed"].fillna(False).astype(bool)]
            merged, with_z = [], []
            for idx, s in closed_bb.iterrows():
                a, b = int(s["bus"]), int(s["element"])
                if a not in live or b not in live:
                    continue
                ra, rb = find(a), find(b)
                if ra == rb:
                    continue
                keep, drop = (ra, rb) if (ra == find(slack) or (rb != find(slack) and ra < rb)) else (rb, ra)
                parent[drop] = keep
                merged.append(int(idx))
                z = _finite(s.get("z_ohm", 0.0))
                if z:
                    with_z.append(int(idx))
            if merged:
                self.warn(f"{len(merged)} closed bus-bus switch(es) ({_ids(merged)}) merge their buses into one")
            if with_z:
                self.warn(f"the impedance of bus-bus switch(es) {_ids(with_z)} is neglected")
        return {b: find(b) for b in live}

    def choose_base_kv(self, live: set[int]) -> float:
        """The most common nominal voltage of the buses that carry loads (ties: the lower)."""
        vn = self.vn
        counts: Counter[float] = Counter()
        for key in ("load", "sgen"):
            df = self.table(key)
            if df is not None:
                counts.update(vn[int(b)] for b in df["bus"] if int(b) in live)
            if counts:
                break
        if not counts:
            counts.update(vn[b] for b in live)
        best = max(counts.values())
        base = min(v for v, c in counts.items() if c == best)
        levels = sorted({vn[b] for b in live})
        if len(levels) > 1:
            self.warn(
                f"the network has {len(levels)} voltage levels ({', '.join(f'{v:g}' for v in levels)} kV); "
                f"impedances are referred to {base:g} kV, the level of the loads"
            )
        return base

    def open_ends(self, et: str) -> dict[int, set[int]]:
        """The buses at which each branch of type ``et`` (``"l"``, ``"t"``) is opened by a switch."""
        sw = self.net.switch if "switch" in self.net else None
        if sw is None or not len(sw):
            return {}
        opened = sw[(sw["et"] == et) & ~sw["closed"].fillna(False).astype(bool)]
        out: dict[int, set[int]] = {}
        for e, b in zip(opened["element"], opened["bus"], strict=True):
            out.setdefault(int(e), set()).add(int(b))
        return out

    def add_shunt(self, bus: int, y_s: complex) -> None:
        """A shunt admittance (S, referred to the feeder's base) at the representative of ``bus``."""
        if y_s != 0:
            r = self.rep[bus]
            self.shunts[r] = self.shunts.get(r, 0j) + y_s

    def cut(
        self,
        table: str,
        idx: int,
        ends: tuple[int, int],
        live: set[int],
        opened: set[int],
        z: complex,
        y_from: complex,
        y_to: complex,
        t: complex,
    ) -> bool:
        """Whether a branch is cut at one end or both (a switch open or a bus out of service there); a cut
        branch is recorded for :meth:`settle_cuts`.

        One connected end only: pandapower keeps such a branch (its open end on an auxiliary bus),
        and it draws its no-load admittance there: the near end shunt in parallel with ``z`` in
        series with the far one, ``(y_from + 1/(z + 1/y_to))/|t|²`` from the from end (or
        ``y_to + 1/(z + 1/y_from)`` from the to end), with ``z``, ``y_from`` (behind the ideal
        transformer ``t`` at ``ends[0]``) and ``y_to`` its π in ohm and S at the feeder's base.
        """
        on = [b in live and b not in opened for b in ends]
        if all(on):
            return False
        reason = "switch" if any(b in opened for b in ends) else "bus"
        # pandapower hangs a line on an auxiliary bus at an out-of-service bus too, but drops a transformer there
        if not any(on) or (table == "trafo" and not all(b in live for b in ends)):
            self.cuts.append((table, idx, "bus" if table == "trafo" and reason == "bus" else reason, None, 0j))
            return True
        if on[0]:  # the far shunt in series with z, in parallel with the near one, behind the ideal transformer
            y_eq = (y_from + (1.0 / (z + 1.0 / y_to) if y_to else 0j)) / abs(t) ** 2
        else:  # fed from the to side, the ideal transformer at the open end carries no current
            y_eq = y_to + (1.0 / (z + 1.0 / y_from) if y_from else 0j)
        self.cuts.append((table, idx, reason, ends[0] if on[0] else ends[1], y_eq))
        return True

    def settle_cuts(self, reach: set[int]) -> None:
        """The cut branches: those still hanging from the feeder at one end become a shunt at that bus."""
        words = {"line": "line(s)", "trafo": "transformer(s)"}
        for table in ("line", "trafo"):
            opened, dead, hanging = [], [], []
            for _, i, why, bus, y in (c for c in self.cuts if c[0] == table):
                if bus is not None and self.rep[bus] in reach:
                    hanging.append(i)
                    self.add_shunt(bus, y)
                else:
                    (opened if why == "switch" else dead).append(i)
            if opened:
                self.warn(f"{len(opened)} {words[table]} opened by a switch dropped: {_ids(opened)}")
            if dead:
                self.warn(f"{len(dead)} {words[table]} touching an out-of-service bus dropped: {_ids(dead)}")
            if hanging:
                what = "the charging" if table == "line" else "the magnetising current"
                self.warn(
                    f"{len(hanging)} {words[table]} connected at one end only (a switch open or a bus out of "
                    f"service at the other) kept as {what} they draw, a shunt at the connected bus: "
                    f"{_ids(hanging)}"
                )

    def lines(self, live: set[int], vn: dict[int, float]) -> list[tuple[tuple[str, int], Line]]:
        df = self.net.line
        if not len(df):
            return []
        out = []
        out_of_service, unrated = [], 0
        cut = self.open_ends("l")
        f_hz = float(getattr(self.net, "f_hz", 50.0) or 50.0)
        for idx, row in df.iterrows():
            idx = int(idx)
            fb, tb = int(row["from_bus"]), int(row["to_bus"])
            if not bool(row["in_service"]):
                out_of_service.append(idx)
                continue
            parallel = float(row.get("parallel", 1) or 1)
            length = float(row["length_km"])
            level = vn[fb]
            k = (self.base_kv / level) ** 2
            r = float(row["r_ohm_per_km"]) * length / parallel * k
            x = float(row["x_ohm_per_km"]) * length / parallel * k
            # the π's shunt, B = 2πf·C and G, in S at the line's level, referred: Y' = Y/k
            c_nf = _finite(row.get("c_nf_per_km", 0.0)) or 0.0
            g_us = _finite(row.get("g_us_per_km", 0.0)) or 0.0
            b_s = 2.0 * math.pi * f_hz * c_nf * 1e-9 * length * parallel / k
            g_s = g_us * 1e-6 * length * parallel / k
            if self.cut(
                "line",
                idx,
                (fb, tb),
                live,
                cut.get(idx, set()),
                complex(r, x),
                complex(g_s, b_s) / 2,
                complex(g_s, b_s) / 2,
                1.0,
            ):
                continue
            i_ka = _finite(row.get("max_i_ka"))
            df_ = _finite(row.get("df", 1.0)) or 1.0
            rating_a = rating_kva = None
            if i_ka is None or i_ka <= 0 or i_ka >= _UNRATED_KA:
                unrated += 1
            elif math.isclose(level, self.base_kv, rel_tol=1e-9):
                rating_a = _sig(i_ka * df_ * parallel * 1000.0)
            else:
                rating_kva = _sig(math.sqrt(3.0) * level * i_ka * df_ * parallel * 1000.0)
            name = row.get("name")
            out.append(
                (
                    ("line", idx),
                    Line(
                        id=f"L{idx}",
                        from_bus=str(self.rep[fb]),
                        to_bus=str(self.rep[tb]),
                        r_ohm=_sig(r),
                        x_ohm=_sig(x),
                        rating_kva=rating_kva,
                        rating_a=rating_a,
                        name=name if isinstance(name, str) else "",
                        g_shunt_us=_sig(g_s * 1e6),
                        b_shunt_us=_sig(b_s * 1e6),
                    ),
                )
            )
        if out_of_service:
            self.warn(f"{len(out_of_service)} out-of-service line(s) dropped: {_ids(out_of_service)}")
        if unrated:
            self.warn(f"{unrated} line(s) have no current rating (max_i_ka missing or ≥ {_UNRATED_KA:g} kA)")
        return out

    def trafos(self, live: set[int], vn: dict[int, float]) -> list[tuple[tuple[str, int], Line]]:
        df = self.table("trafo")
        if df is None:
            return []
        from core.network.topology import t_to_pi

        out = []
        cut = self.open_ends("t")
        untyped, tabled, uneven = [], [], []
        problems = []
        for idx, row in df.iterrows():
            idx = int(idx)
            hv, lv = int(row["hv_bus"]), int(row["lv_bus"])
            sn = _finite(row["sn_mva"]) or 0.0
            vk = _finite(row["vk_percent"]) or 0.0
            vkr = _finite(row["vkr_percent"]) or 0.0
            parallel = float(row.get("parallel", 1) or 1)
            if sn <= 0 or vk <= 0 or vkr < 0 or vkr > vk:
                problems.append(
                    Problem(
                        f"trafo[{idx}]",
                        f"needs sn_mva > 0 and 0 ≤ vkr_percent ≤ vk_percent, got sn_mva={sn:g}, vk={vk:g}, vkr={vkr:g}",
                        row=idx,
                        row_id=f"T{idx}",
                    )
                )
                continue
            vn_hv, vn_lv, shift, note = _trafo_rated_voltages(row)
            if note == "untyped":
                untyped.append(idx)
            elif note == "table":
                tabled.append(idx)
            for col in ("leakage_resistance_ratio_hv", "leakage_reactance_ratio_hv"):
                share = _finite(row.get(col))
                if share is not None and share != 0.5:
                    uneven.append(idx)
                    break
            # pandapower's model, referred to the feeder's base V_b: the short-circuit impedance on the lv
            # side at the (tapped) rated voltage, Z = vk%·vn_lv²/S_n, referred from the lv bus's level;
            # the magnetising branch (pfe, i0) likewise; the ratio off the buses' nominal ratio
            k_lv = (self.base_kv / vn[lv]) ** 2
            z_abs = vk / 100.0 * vn_lv**2 / sn / parallel * k_lv
            r = vkr / 100.0 * vn_lv**2 / sn / parallel * k_lv
            x = math.sqrt(max(z_abs * z_abs - r * r, 0.0))
            pfe_mw = (_finite(row.get("pfe_kw")) or 0.0) / 1000.0
            i0 = _finite(row.get("i0_percent")) or 0.0
            q0_mvar = math.sqrt(max((i0 / 100.0 * sn) ** 2 - pfe_mw**2, 0.0))
            y_m = complex(pfe_mw, -q0_mvar) / vn_lv**2 * parallel / k_lv  # S at the feeder's base
            tau = (vn_hv / vn_lv) / (vn[hv] / vn[lv])
            t = tau * complex(math.cos(math.radians(shift)), math.sin(math.radians(shift)))
            z_pi, y_end = t_to_pi(complex(r, x), y_m)
            if self.cut("trafo", idx, (hv, lv), live, cut.get(idx, set()), z_pi, y_end, y_end, t):
                continue
            transformer = Transformer(
                tap_ratio=_sig(tau),
                shift_deg=_sig(_wrap_deg(shift)),
                g_mag_us=_sig(y_m.real * 1e6),
                b_mag_us=_sig(y_m.imag * 1e6),
            )
            df_ = _finite(row.get("df", 1.0)) or 1.0
            name = row.get("name")
            out.append(
                (
                    ("trafo", idx),
                    Line(
                        id=f"T{idx}",
                        from_bus=str(self.rep[hv]),
                        to_bus=str(self.rep[lv]),
                        r_ohm=_sig(r),
                        x_ohm=_sig(x),
                        rating_kva=_sig(sn * 1000.0 * parallel * df_),
                        name=name if isinstance(name, str) else "",
                        transformer=None if transformer == Transformer() else transformer,
                    ),
                )
            )
        if problems:
            raise ScenarioError(problems)
        if untyped:
            self.warn(
                f"the tap position of transformer(s) {_ids(untyped)} is ignored, as pandapower ignores it: "
                "they have no tap_changer_type (Ratio, Symmetrical or Ideal)"
            )
        if tabled:
            self.warn(
                f"the tap characteristic tables of transformer(s) {_ids(tabled)} are not read: their ratio "
                "comes from tap_step_percent and tap_step_degree, their impedance from vk_percent and "
                "vkr_percent at every tap position"
            )
        if uneven:
            self.warn(
                f"the magnetising branch of transformer(s) {_ids(uneven)} is placed in the middle of the "
                "short-circuit impedance (leakage_*_ratio_hv other than 0.5 are not modelled)"
            )
        return out

    def shunt_elements(self, live: set[int]) -> None:
        """pandapower's shunts (``p_mw``, ``q_mvar`` per step at ``vn_kv``) as bus shunts:
        ``Y = (p − jq)·step/vn²`` in S at their bus's level, referred to the feeder's base."""
        df = self.table("shunt")
        if df is None:
            return
        tabled = []
        for idx, row in df.iterrows():
            bus = int(row["bus"])
            if bus not in live:
                continue
            level = self.vn[bus]
            vn_sh = _finite(row.get("vn_kv")) or level
            step = _finite(row.get("step", 1)) or 0.0
            dep = row.get("step_dependency_table")
            if isinstance(dep, (bool, np.bool_)) and dep:
                tabled.append(int(idx))
            y = complex(float(row["p_mw"]), -float(row["q_mvar"])) * step / vn_sh**2  # S at the bus's level
            self.add_shunt(bus, y * (level / self.base_kv) ** 2)
        if tabled:
            self.warn(
                f"the step characteristic tables of shunt(s) {_ids(tabled)} are not read: "
                "p_mw and q_mvar per step are used"
            )

    def check_radial(self, branches: list[tuple[tuple[str, int], Line]], live: set[int], slack: int) -> set[int]:
        """The representative buses reachable from the slack; raises if a branch closes a loop there.

        Branches are added in table order (lines, then transformers); one whose
        ends are already connected closes a loop.
        """
        parent = {self.rep[b]: self.rep[b] for b in live}

        def find(b: int) -> int:
            while parent[b] != b:
                parent[b] = parent[parent[b]]
                b = parent[b]
            return b

        closing = []
        for (table, idx), ln in branches:
            a, b = int(ln.from_bus), int(ln.to_bus)
            ra, rb = find(a), find(b)
            if ra == rb:
                closing.append((table, idx, ln))
            else:
                parent[ra] = rb
        root = find(slack)
        reach = {b for b in parent if find(b) == root}
        loops = [c for c in closing if int(c[2].from_bus) in reach]
        if loops:
            raise ScenarioError(
                [
                    Problem(
                        field=f"{table}[{idx}]",
                        row=idx,
                        row_id=ln.id,
                        message=(
                            f"the pandapower network is meshed: {table} {idx} (bus {ln.from_bus} to bus {ln.to_bus}) "
                            "closes a loop; a feeder must be radial: open a switch or set the branch out of service"
                        ),
                    )
                    for table, idx, ln in loops
                ]
            )
        return reach

    def buses(self, reach: set[int], slack: int) -> tuple[float, float, list[Bus]]:
        """Feeder voltage limits (most common among non-slack buses) and the Bus records."""
        df = self.net.bus
        lim: dict[int, tuple[float | None, float | None]] = {}
        for b in reach:
            row = df.loc[b]
            lim[b] = (_finite(row.get("min_vm_pu")), _finite(row.get("max_vm_pu")))

        def common(k: int, default: float) -> float:
            vals = Counter(lim[b][k] for b in reach if b != slack and lim[b][k] is not None)
            return _sig(vals.most_common(1)[0][0]) if vals else default

        vmin, vmax = common(0, 0.95), common(1, 1.05)
        if vmin >= vmax:
            self.warn(f"bus voltage limits {vmin:g}–{vmax:g} pu are not a range: 0.95–1.05 pu used")
            vmin, vmax = 0.95, 1.05
        out = []
        odd = []
        for b in sorted(reach):
            name = df.at[b, "name"]
            bmin, bmax = lim[b] if b != slack else (None, None)
            ov_min = _sig(bmin) if bmin is not None and _sig(bmin) != vmin else None
            ov_max = _sig(bmax) if bmax is not None and _sig(bmax) != vmax else None
            if (ov_min if ov_min is not None else vmin) >= (ov_max if ov_max is not None else vmax):
                odd.append(b)
                ov_min = ov_max = None
            y = self.shunts.get(b, 0j) * 1e6  # µS
            out.append(
                Bus(
                    id=str(b),
                    name=name if isinstance(name, str) else "",
                    v_min_pu=ov_min,
                    v_max_pu=ov_max,
                    g_shunt_us=_sig(y.real),
                    b_shunt_us=_sig(y.imag),
                )
            )
        if odd:
            self.warn(f"the voltage limits of bus(es) {_ids(odd)} are not a range: the feeder's are used")
        return vmin, vmax, out

    def prosumers(self, reach: set[int]) -> list[Prosumer]:
        T = self.T
        out: list[Prosumer] = []
        lost: list[str] = []

        def host(b: Any) -> str | None:
            r = self.rep.get(int(b))
            return str(r) if r is not None and r in reach else None

        loads = self.table("load")
        if loads is not None:
            zip_share = []
            for idx, row in loads.iterrows():
                bus = host(row["bus"])
                if bus is None:
                    lost.append(f"load {idx}")
                    continue
                scaling = _finite(row.get("scaling", 1.0))
                scaling = 1.0 if scaling is None else scaling
                p = _sig(float(row["p_mw"]) * scaling * 1000.0)
                q = _sig(float(row["q_mvar"]) * scaling * 1000.0)
                if any(
                    (_finite(row.get(c)) or 0.0) != 0
                    for c in ("const_z_p_percent", "const_i_p_percent", "const_z_q_percent", "const_i_q_percent")
                ):
                    zip_share.append(int(idx))
                name = row.get("name")
                out.append(
                    Prosumer(
                        id=f"load{idx}",
                        bus=bus,
                        demand_kw=(p,) * T,
                        demand_kvar=(q,) * T,
                        name=name if isinstance(name, str) else "",
                    )
                )
            if zip_share:
                self.warn(f"the voltage dependence of load(s) {_ids(zip_share)} is ignored (constant power)")
        sgens = self.table("sgen")
        if sgens is not None:
            with_q = []
            for idx, row in sgens.iterrows():
                bus = host(row["bus"])
                if bus is None:
                    lost.append(f"sgen {idx}")
                    continue
                scaling = _finite(row.get("scaling", 1.0))
                scaling = 1.0 if scaling is None else scaling
                kind = _SGEN_KINDS.get(str(row.get("type") or "").strip().lower(), "pv")
                if (_finite(row.get("q_mvar")) or 0.0) != 0:
                    with_q.append(int(idx))
                name = row.get("name")
                out.append(
                    Prosumer(
                        id=f"sgen{idx}",
                        bus=bus,
                        demand_kw=(0.0,) * T,
                        name=name if isinstance(name, str) else "",
                        asset=Asset(kind=kind, p_max_kw=_sig(float(row["p_mw"]) * scaling * 1000.0)),
                    )
                )
            if with_q:
                self.warn(f"the reactive output of static generator(s) {_ids(with_q)} is ignored")
            self.warn(
                "static generators become assets with their present output as capacity, constant "
                "over the horizon (no solar profile) and at zero cost"
            )
        gens = self.table("gen")
        if gens is not None:
            for idx, row in gens.iterrows():
                bus = host(row["bus"])
                if bus is None:
                    lost.append(f"gen {idx}")
                    continue
                p_max = _finite(row.get("max_p_mw"))
                if p_max is None:
                    scaling = _finite(row.get("scaling", 1.0))
                    p_max = float(row["p_mw"]) * (1.0 if scaling is None else scaling)
                name = row.get("name")
                out.append(
                    Prosumer(
                        id=f"gen{idx}",
                        bus=bus,
                        demand_kw=(0.0,) * T,
                        name=name if isinstance(name, str) else "",
                        asset=Asset(kind="generator", p_max_kw=_sig(p_max * 1000.0)),
                    )
                )
            self.warn(
                f"the voltage control of generator(s) {_ids(list(gens.index))} is not modelled: "
                "they are imported as dispatchable generators without cost"
            )
        costs = self.net["poly_cost"] if "poly_cost" in self.net else None
        if costs is not None and len(costs) and (costs["et"] != "ext_grid").any():
            self.warn("generation costs in poly_cost are ignored")
        if lost:
            self.warn(
                f"{len(lost)} element(s) on buses not connected to the external grid dropped: "
                f"{', '.join(lost[:10])}{' …' if len(lost) > 10 else ''}"
            )
        return out


__all__ = [
    "PROSUMER_CSV_COLUMNS",
    "REQUIRED_COLUMNS",
    "export_prosumers_csv",
    "import_pandapower",
    "import_prosumers_csv",
    "solar_availability",
]


def export_pandapower(scenario: Scenario, period: int = 0):
    """The scenario in one period as a pandapower net (the inverse of :func:`import_pandapower`, for comparison).

    Buses at the feeder's base voltage; the substation as the external grid; each bus's net injection of
    the period (as given in the file, :func:`core.network.topology.bus_injections_kw`) as one
    constant-power load. Lines with their R and X in ohm and their shunt (``c_nf_per_km`` from
    ``B = 2πf·C`` at 50 Hz, ``g_us_per_km``) over 1 km, unrated. A line with a
    :class:`~core.scenario.model.Transformer` becomes a pandapower transformer from its ``from_bus``
    (hv) to its ``to_bus`` (lv) with the same equivalent circuit: ``vn_lv_kv`` the base,
    ``vn_hv_kv = tap_ratio·base`` (the off-nominal ratio), ``S_n`` its rating (else the feeder's base),
    ``vk``/``vkr`` from ``|Z|``/``R`` on ``S_n``, ``pfe_kw``/``i0_percent`` from the magnetising branch,
    ``shift_degree``; pandapower's default T model puts the magnetising branch in the middle, as
    :class:`~core.scenario.model.Transformer` does. A transformer's own π shunt (``g_shunt_us``,
    ``b_shunt_us``) and every bus's shunt become pandapower shunts. Returns ``(net, index)`` with the
    pandapower bus index of each bus id. Needs pandapower.
    """
    try:
        import pandapower as pp
    except ImportError:
        raise ScenarioError("pandapower is not installed: pip install 'feeder-market[grid]'") from None
    from core.network.topology import bus_injections_kw, radial

    f = scenario.feeder
    vb = f.base_kv
    ppn = pp.create_empty_network(sn_mva=f.base_kva / 1000.0, f_hz=50.0)
    idx = {b.id: pp.create_bus(ppn, vn_kv=vb, name=b.id) for b in f.buses}
    pp.create_ext_grid(ppn, idx[f.substation.bus], vm_pu=f.substation.v_set_pu, va_degree=0.0)

    def shunt(bus: str, y_us: complex) -> None:  # draws (G − jB)·V²: p_mw = G·V², q_mvar = −B·V² at V = V_b
        if y_us != 0:
            pp.create_shunt(ppn, idx[bus], p_mw=y_us.real * 1e-6 * vb**2, q_mvar=-y_us.imag * 1e-6 * vb**2, vn_kv=vb)

    for b in f.buses:
        shunt(b.id, complex(b.g_shunt_us, b.b_shunt_us))
    for ln in f.lines:
        tr = ln.transformer
        if tr is None:
            pp.create_line_from_parameters(
                ppn,
                idx[ln.from_bus],
                idx[ln.to_bus],
                length_km=1.0,
                r_ohm_per_km=ln.r_ohm,
                x_ohm_per_km=ln.x_ohm,
                c_nf_per_km=ln.b_shunt_us * 1e-6 / (2.0 * math.pi * 50.0) * 1e9,
                g_us_per_km=ln.g_shunt_us,
                max_i_ka=10.0,
                name=ln.id,
            )
            continue
        sn = (ln.rating_kva_at(vb) or f.base_kva) / 1000.0
        z_base = vb**2 / sn
        y_m = complex(tr.g_mag_us, tr.b_mag_us) * 1e-6  # S at the lv (series) side, vn_lv_kv = V_b
        pp.create_transformer_from_parameters(
            ppn,
            idx[ln.from_bus],
            idx[ln.to_bus],
            sn_mva=sn,
            vn_hv_kv=tr.tap_ratio * vb,
            vn_lv_kv=vb,
            vk_percent=100.0 * math.hypot(ln.r_ohm, ln.x_ohm) / z_base,
            vkr_percent=100.0 * ln.r_ohm / z_base,
            pfe_kw=y_m.real * vb**2 * 1000.0,
            i0_percent=100.0 * abs(y_m) * vb**2 / sn,
            shift_degree=tr.shift_deg,
            name=ln.id,
        )
        y_half = complex(ln.g_shunt_us, ln.b_shunt_us) / 2.0  # on the series side: at the hv bus, over τ²
        shunt(ln.from_bus, y_half / tr.tap_ratio**2)
        shunt(ln.to_bus, y_half)
    net = radial(scenario)
    p, q = bus_injections_kw(scenario, period, net)
    for k, b in enumerate(net.bus_ids):
        if p[k] or q[k]:
            pp.create_load(ppn, idx[b], p_mw=-p[k] / 1000.0, q_mvar=-q[k] / 1000.0)
    return ppn, idx
