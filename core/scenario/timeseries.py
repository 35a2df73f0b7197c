"""Per-period profiles of a project as CSV: import onto an existing project, and export.

A *profile* is one number per period of the horizon. The quantities a file may hold:

===============================  =========  ===========================================================
quantity                         of         field of the scenario
===============================  =========  ===========================================================
``demand_kw``                    prosumer   ``Prosumer.demand_kw`` (fixed demand)
``demand_kvar``                  prosumer   ``Prosumer.demand_kvar`` (reactive demand)
``availability_pu``              prosumer   ``Asset.availability_pu`` (share of ``P^max``; needs an asset)
``flexible_max_kw``              prosumer   ``FlexibleLoad.d_max_kw`` (needs a flexible load)
``wholesale_price_per_kwh``      the grid   ``Substation.wholesale_price_per_kwh``
``retail_import_price_per_kwh``  the grid   ``Tariffs.retail_import_price_per_kwh``
``feed_in_price_per_kwh``        the grid   ``Tariffs.feed_in_price_per_kwh``
===============================  =========  ===========================================================

Two layouts, told apart by the header:

* **wide** — a ``time`` column, then one column per series, one row per period. A column named by a prosumer id
  holds its ``demand_kw``; ``ID:quantity`` (``pv3:availability_pu``) one of its other quantities; a column named
  by a grid quantity (``wholesale_price_per_kwh``) that price.
* **long** — columns ``time``, ``id``, ``quantity``, ``value`` (any order), one row per value; a grid quantity has
  an empty ``id``.

``time`` is each period's start: a clock time ``HH:MM`` (or ``HH:MM:SS``; a time earlier than the one before is on
the next day, so several days of clock times read in order), a date and time (``2024-06-21 12:15``, ISO 8601) or
a number of hours. The periods must be evenly spaced (the step is the spacing, one hour when the file has one row).

**The horizon (a documented choice).** The file's times define the imported horizon. When it is the project's
(the same number of periods, step and start clock hour) only the series in the file change. When it is another
(96 × 15 min instead of 24 × 1 h, several days), the import is refused unless the file gives the ``demand_kw`` of
*every* prosumer, since demand cannot be guessed; every other per-period series the file does not give (prices,
reactive demand, availability, flexible ceilings) is then **resampled by clock time**: a new period takes the value
of the project's period that covers its midpoint, the project's horizon repeated end to end (for a one-day horizon:
the same clock time of day). Ramp limits (kW per period) are scaled by the ratio of the steps (the same kW per
hour); explicit bid blocks for a single period cannot be carried to another horizon and refuse the import.

Bad input raises :class:`~core.errors.ScenarioError` naming the file, the column (``field``) and the 1-based line
of the file (``row``). :func:`import_profiles_csv` returns the new scenario with a :class:`ProfileReport`: the ids
of the file that are not in the project and the project's prosumers the file does not mention.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from core.errors import Problem, ScenarioError
from core.files import read_text, write_atomic
from core.scenario.model import Scenario, TimeHorizon, validate_scenario

PROSUMER_QUANTITIES: tuple[str, ...] = ("demand_kw", "demand_kvar", "availability_pu", "flexible_max_kw")
GRID_QUANTITIES: tuple[str, ...] = ("wholesale_price_per_kwh", "retail_import_price_per_kwh", "feed_in_price_per_kwh")
QUANTITIES: tuple[str, ...] = PROSUMER_QUANTITIES + GRID_QUANTITIES
LONG_COLUMNS: tuple[str, ...] = ("time", "id", "quantity", "value")

_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d*)?))?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_FIELD = {  # quantity → (model field path inside a prosumer, for validation messages)
    "demand_kw": "demand_kw",
    "demand_kvar": "demand_kvar",
    "availability_pu": "asset.availability_pu",
    "flexible_max_kw": "flexible.d_max_kw",
}


@dataclass(frozen=True)
class ProfileReport:
    """What an import of profiles matched and changed.

    ``unknown_ids``: prosumer ids in the file that the project does not have (their series are ignored);
    ``missing_ids``: the project's prosumers the file gives nothing for (they keep their profiles, resampled when
    the horizon changed); ``series``: the number of series read; ``horizon_before``/``horizon_after``; ``resampled``:
    what was resampled to the new horizon (empty when the horizon is the same).
    """

    file: str
    layout: str
    series: int
    unknown_ids: tuple[str, ...]
    missing_ids: tuple[str, ...]
    horizon_before: TimeHorizon
    horizon_after: TimeHorizon
    resampled: tuple[str, ...] = field(default=())

    @property
    def horizon_changed(self) -> bool:
        return self.horizon_before != self.horizon_after

    def lines(self) -> list[str]:
        """The report in plain sentences (the CLI prints them, the GUI shows them in a message)."""
        out = [f"{self.series} series read from {self.file} ({self.layout})"]
        if self.unknown_ids:
            out.append(f"{len(self.unknown_ids)} id(s) in the file are not in the project: {_ids(self.unknown_ids)}")
        if self.missing_ids:
            out.append(
                f"{len(self.missing_ids)} prosumer(s) of the project are not in the file: {_ids(self.missing_ids)}"
            )
        if self.horizon_changed:
            b, a = self.horizon_before, self.horizon_after
            out.append(
                f"horizon changed from {b.periods} × {b.step_h * 60:g} min to {a.periods} × {a.step_h * 60:g} min "
                f"from {a.labels()[0]}"
            )
            if self.resampled:
                out.append(f"resampled by clock time: {', '.join(self.resampled)}")
        return out


def _ids(ids: tuple[str, ...], limit: int = 10) -> str:
    shown = ", ".join(f"'{i}'" for i in ids[:limit])
    return shown + (f" … ({len(ids) - limit} more)" if len(ids) > limit else "")


# ---------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------


@dataclass
class _Series:
    values: dict[int, float]  # period → value
    column: str  # where it came from, for messages
    lines: dict[int, int]  # period → 1-based line of the file


def _rows(file: str) -> list[tuple[int, list[str]]]:
    text = read_text(file)  # ScenarioError naming the file when missing, a folder, too large or not UTF-8
    first = text.split("\n", 1)[0]
    delimiter = ";" if ("," not in first and ";" in first) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                rows.append((start, [c.strip() for c in cells]))
            start = reader.line_num + 1
    except csv.Error as err:
        raise ScenarioError(Problem(field="", row=start, line=start, message=str(err)), file=file) from None
    if len(rows) < 2:
        raise ScenarioError(
            "has no data: a profiles CSV needs a header line (time,…) and one row per period", file=file
        )
    return rows


def _number(text: str, column: str, line: int) -> float:
    try:
        v = float(text)
    except ValueError:
        hint = " (use a point as the decimal separator)" if _DECIMAL_COMMA.match(text) else ""
        shown = "an empty cell" if not text else repr(text)
        raise _bad(column, line, f"must be a number, got {shown}{hint}") from None
    if not math.isfinite(v):
        raise _bad(column, line, f"must be a finite number, got {text!r}")
    return v


def _bad(column: str, line: int, message: str, row_id: str | None = None) -> _CellError:
    return _CellError(Problem(field=column, message=message, row=line, line=line, row_id=row_id))


class _CellError(Exception):
    def __init__(self, problem: Problem):
        self.problem = problem


class _Clock:
    """Turns the ``time`` cells into hours from midnight of the first day, in order."""

    def __init__(self, dates: list | None = None) -> None:
        self.last: float | None = None
        self.day = 0.0
        self.dates = [] if dates is None else dates  # the first date seen, shared by the clocks of one file

    def hours(self, text: str, line: int) -> float:
        m = _CLOCK.match(text)
        if m:
            hh, mm, ss = int(m.group(1)), int(m.group(2)), float(m.group(3) or 0.0)
            if hh > 24 or mm > 59 or ss >= 60:
                raise _bad("time", line, f"is not a clock time, got {text!r}")
            h = hh + mm / 60 + ss / 3600 + self.day
            if self.last is not None and h < self.last - 1e-9:
                self.day += 24.0
                h += 24.0
        else:
            try:
                h = float(text)
                if not math.isfinite(h):
                    raise ValueError
            except ValueError:
                try:
                    dt = datetime.fromisoformat(text)
                except ValueError:
                    shown = "an empty cell" if not text else repr(text)
                    raise _bad(
                        "time",
                        line,
                        f"must be a clock time (HH:MM), a date and time (YYYY-MM-DD HH:MM) or hours, got {shown}",
                    ) from None
                if not self.dates:
                    self.dates.append(dt.date())
                h = (dt.date() - self.dates[0]).days * 24.0 + dt.hour + dt.minute / 60 + dt.second / 3600
        self.last = h
        return h


def _horizon_of(times: list[tuple[float, int]], file: str) -> TimeHorizon:
    """The evenly spaced horizon of the distinct times (hours, line), in order; ScenarioError naming the row."""
    times = sorted(times)
    distinct: list[tuple[float, int]] = []
    for h, line in times:
        if distinct and abs(h - distinct[-1][0]) < 1e-9:
            continue
        distinct.append((h, line))
    if len(distinct) == 1:
        step = 1.0
    else:
        step = distinct[1][0] - distinct[0][0]
        for k in range(1, len(distinct)):
            gap = distinct[k][0] - distinct[k - 1][0]
            if abs(gap - step) > 1e-6:
                raise ScenarioError(
                    Problem(
                        field="time",
                        row=distinct[k][1],
                        line=distinct[k][1],
                        message=f"the periods must be evenly spaced: {gap * 60:g} min after the one before, "
                        f"{step * 60:g} min before that",
                    ),
                    file=file,
                )
    if step > 24.0:
        raise ScenarioError(
            Problem(field="time", row=distinct[1][1], line=distinct[1][1], message="periods longer than a day"),
            file=file,
        )
    step = round(step * 3600) / 3600 if abs(step * 3600 - round(step * 3600)) < 1e-6 else step
    return TimeHorizon(periods=len(distinct), step_h=step, start_hour=distinct[0][0] % 24.0)


def read_profiles_csv(path: str | os.PathLike[str]) -> tuple[str, TimeHorizon, dict[tuple[str, str], _Series]]:
    """The file's layout, horizon and series ``{(id, quantity): series}`` (``id`` empty for grid quantities).

    Series name the ids as the file does; matching them to a project is :func:`import_profiles_csv`'s work."""
    file = os.fspath(path)
    rows = _rows(file)
    header_line, header = rows[0]
    lowered = [h.lower() for h in header]
    try:
        if "time" not in lowered:
            raise _bad("time", header_line, "is a required column and is missing from the header (each period's start)")
        seen: set[str] = set()
        for h in header:
            if h in seen:
                raise _bad(h, header_line, "appears twice in the header")
            seen.add(h)
        if set(LONG_COLUMNS) <= set(lowered) and len(header) == len(LONG_COLUMNS):
            return ("long", *_read_long(rows, lowered, file))
        return ("wide", *_read_wide(rows, header, lowered.index("time"), file))
    except _CellError as err:
        raise ScenarioError(err.problem, file=file) from None


def _read_wide(rows, header, t_col, file):
    clock = _Clock()
    times: list[tuple[float, int]] = []
    raw: list[tuple[int, list[str]]] = []
    for line, cells in rows[1:]:
        if len(cells) > len(header):
            raise _bad("", line, f"line {line} has {len(cells)} cells but the header has {len(header)} columns")
        times.append((clock.hours(cells[t_col] if t_col < len(cells) else "", line), line))
        raw.append((line, cells))
    horizon = _horizon_of(times, file)
    if horizon.periods != len(raw):
        dup = next(ln for k, (h, ln) in enumerate(times) if any(abs(h - h2) < 1e-9 for h2, _ in times[:k]))
        raise _bad("time", dup, "repeats the time of an earlier row (one row per period)")
    t0 = times[0][0]
    series: dict[tuple[str, str], _Series] = {}
    for k, col in enumerate(header):
        if k == t_col:
            continue
        if not col:
            raise _bad("", rows[0][0], f"column {k + 1} has an empty header: name a prosumer id or a quantity")
        key = _wide_key(col)
        s = _Series({}, col, {})
        for (h, _), (line, cells) in zip(times, raw, strict=True):
            t = round((h - t0) / horizon.step_h)
            s.values[t] = _number(cells[k] if k < len(cells) else "", col, line)
            s.lines[t] = line
        series[key] = s
    return horizon, series


def _wide_key(col: str) -> tuple[str, str]:
    if col in GRID_QUANTITIES:
        return ("", col)
    pid, sep, quantity = col.rpartition(":")
    if sep and quantity in PROSUMER_QUANTITIES and pid:
        return (pid, quantity)
    return (col, "demand_kw")


def _read_long(rows, lowered, file):
    at = {c: lowered.index(c) for c in LONG_COLUMNS}
    clocks: dict[tuple[str, str], _Clock] = {}  # one per series: a file sorted by id restarts its clock times
    dates: list = []
    entries: list[tuple[float, int, str, str, float]] = []
    for line, cells in rows[1:]:
        if len(cells) > len(LONG_COLUMNS):
            raise _bad("", line, f"line {line} has {len(cells)} cells but the header has {len(LONG_COLUMNS)} columns")

        def cell(c: str, cells=cells) -> str:
            return cells[at[c]] if at[c] < len(cells) else ""

        quantity, pid = cell("quantity"), cell("id")
        h = clocks.setdefault((pid, quantity), _Clock(dates)).hours(cell("time"), line)
        if quantity not in QUANTITIES:
            shown = "an empty cell" if not quantity else repr(quantity)
            raise _bad("quantity", line, f"must be one of {', '.join(QUANTITIES)}, got {shown}", pid or None)
        if quantity in GRID_QUANTITIES and pid:
            raise _bad("id", line, f"must be empty for {quantity} (a price of the grid, not of a prosumer)", pid)
        if quantity in PROSUMER_QUANTITIES and not pid:
            raise _bad("id", line, f"is required for {quantity}: name the prosumer")
        entries.append((h, line, pid, quantity, _number(cell("value"), "value", line)))
    clock_times = [(h, line) for h, line, *_ in entries]
    horizon = _horizon_of(clock_times, file)
    t0 = min(h for h, _ in clock_times)
    series: dict[tuple[str, str], _Series] = {}
    for h, line, pid, quantity, v in entries:
        t = round((h - t0) / horizon.step_h)
        s = series.setdefault((pid, quantity), _Series({}, f"{pid}:{quantity}" if pid else quantity, {}))
        if t in s.values:
            raise _bad("time", line, f"repeats period {t} of {quantity} (line {s.lines[t]})", pid or None)
        s.values[t] = v
        s.lines[t] = line
    for (pid, quantity), s in series.items():
        missing = [t for t in range(horizon.periods) if t not in s.values]
        if missing:
            labels = _hours_label(horizon, missing)
            raise _bad(
                "time",
                max(s.lines.values()),
                f"{quantity} has no value at {labels} ({len(missing)} of {horizon.periods} periods)",
                pid or None,
            )
    return horizon, series


def _hours_label(horizon: TimeHorizon, periods: list[int]) -> str:
    labels = horizon.labels()
    shown = ", ".join(f"period {t} ({labels[t]})" for t in periods[:5])
    return shown + (" …" if len(periods) > 5 else "")


# ---------------------------------------------------------------------------
# import
# ---------------------------------------------------------------------------


def import_profiles_csv(path: str | os.PathLike[str], scenario: Scenario) -> tuple[Scenario, ProfileReport]:
    """``scenario`` with the per-period series of the CSV file ``path`` (the layouts: this module's docstring).

    Series of ids the project lacks are ignored and reported; the project's prosumers the file does not name keep
    their profiles. When the file's horizon differs from the project's, every prosumer's ``demand_kw`` must be in
    the file and the series not in it are resampled by clock time (:func:`resample`). Raises
    :class:`~core.errors.ScenarioError` (``file=path``) naming the column and the line of a bad cell, of a value
    the scenario's validation refuses (a negative demand, an availability above 1), of a quantity a prosumer cannot
    have (an availability without an asset), or naming the prosumers whose demand is missing.
    """
    file = os.fspath(path)
    layout, horizon, series = read_profiles_csv(file)
    ids = scenario.prosumer_index()
    unknown = tuple(sorted({pid for pid, _ in series if pid and pid not in ids}))
    named = {pid for pid, _ in series if pid in ids}
    missing = tuple(p.id for p in scenario.prosumers if p.id not in named)
    same = _same_horizon(horizon, scenario.horizon)
    problems: list[Problem] = []
    if same:
        horizon = scenario.horizon
        base = scenario
        resampled: tuple[str, ...] = ()
    else:
        no_demand = [p.id for p in scenario.prosumers if (p.id, "demand_kw") not in series]
        if no_demand:
            raise ScenarioError(
                Problem(
                    field="demand_kw",
                    message=f"the file's horizon ({horizon.periods} × {horizon.step_h * 60:g} min) is not the "
                    f"project's ({scenario.periods} × {scenario.horizon.step_h * 60:g} min): it must then give the "
                    f"demand of every prosumer, and has none for {len(no_demand)}: {_ids(tuple(no_demand))}",
                ),
                file=file,
            )
        base, resampled = resample(scenario, horizon)
        resampled = tuple(q for q in resampled if not _given_whole(q, scenario, series))
    prosumers = list(base.prosumers)
    substation, tariffs = base.feeder.substation, base.tariffs
    for (pid, quantity), s in series.items():
        values = tuple(s.values[t] for t in range(horizon.periods))
        line = min(s.lines.values())
        if not pid:
            if quantity == "wholesale_price_per_kwh":
                substation = replace(substation, wholesale_price_per_kwh=values)
            elif quantity == "retail_import_price_per_kwh":
                tariffs = replace(tariffs, retail_import_price_per_kwh=values)
            else:
                tariffs = replace(tariffs, feed_in_price_per_kwh=values)
            continue
        if pid not in ids:
            continue
        i = ids[pid]
        p = prosumers[i]
        if quantity == "demand_kw":
            p = replace(p, demand_kw=values)
        elif quantity == "demand_kvar":
            p = replace(p, demand_kvar=values)
        elif quantity == "availability_pu":
            if p.asset is None:
                problems.append(
                    Problem(s.column, "the prosumer has no asset to give an availability to", line, pid, line)
                )
                continue
            p = replace(p, asset=replace(p.asset, availability_pu=values))
        else:
            if p.flexible is None:
                problems.append(
                    Problem(s.column, "the prosumer has no flexible load to give a ceiling to", line, pid, line)
                )
                continue
            p = replace(p, flexible=replace(p.flexible, d_max_kw=values))
        prosumers[i] = p
    if problems:
        raise ScenarioError(problems, file=file)
    candidate = replace(
        base,
        feeder=replace(base.feeder, substation=substation),
        tariffs=tariffs,
        prosumers=tuple(prosumers),
        validate=False,
    )
    problems = [_file_problem(p, candidate, series) for p in validate_scenario(candidate)]
    if problems:
        raise ScenarioError(problems, file=file)
    report = ProfileReport(
        file=file,
        layout=layout,
        series=len(series),
        unknown_ids=unknown,
        missing_ids=missing,
        horizon_before=scenario.horizon,
        horizon_after=horizon,
        resampled=resampled,
    )
    return replace(candidate, validate=True), report


def _same_horizon(a: TimeHorizon, b: TimeHorizon) -> bool:
    return (
        a.periods == b.periods
        and math.isclose(a.step_h, b.step_h, rel_tol=1e-9)
        and (a.periods == 1 or abs((a.start_hour - b.start_hour + 12.0) % 24.0 - 12.0) < 1e-6)
    )


_PROSUMER_FIELD = re.compile(
    r"^prosumers\[(\d+)\]\.(demand_kw|demand_kvar|asset\.availability_pu|flexible\.d_max_kw)\[(\d+)\]$"
)
_GRID_FIELD = re.compile(
    r"^(?:feeder\.substation\.(wholesale_price_per_kwh)|tariffs\.(retail_import_price_per_kwh|feed_in_price_per_kwh))"
    r"\[(\d+)\]$"
)


def _file_problem(p: Problem, scenario: Scenario, series: dict[tuple[str, str], _Series]) -> Problem:
    """A validation problem of a value read from the file restated as (column, line)."""
    m = _PROSUMER_FIELD.match(p.field)
    if m:
        pid = scenario.prosumers[int(m.group(1))].id
        quantity = next(q for q, f in _FIELD.items() if f == m.group(2))
        key, t = (pid, quantity), int(m.group(3))
    else:
        g = _GRID_FIELD.match(p.field)
        if not g:
            return p
        key, t = ("", g.group(1) or g.group(2)), int(g.group(3))
    s = series.get(key)
    if s is None:
        return p
    return Problem(
        field=s.column, message=f"period {t}: {p.message}", row=s.lines[t], row_id=key[0] or None, line=s.lines[t]
    )


# ---------------------------------------------------------------------------
# resampling
# ---------------------------------------------------------------------------


def _given_whole(quantity: str, scenario: Scenario, series) -> bool:
    """Whether the file gives ``quantity`` wherever the project has it (then nothing of it was resampled)."""
    if quantity in GRID_QUANTITIES:
        return any(not pid and q == quantity for pid, q in series)
    has = {
        "demand_kvar": lambda p: p.demand_kvar is not None,
        "availability_pu": lambda p: p.asset is not None and p.asset.availability_pu is not None,
        "flexible_max_kw": lambda p: p.flexible is not None,
    }.get(quantity)
    return has is not None and all((p.id, quantity) in series for p in scenario.prosumers if has(p))


def resample(scenario: Scenario, horizon: TimeHorizon) -> tuple[Scenario, tuple[str, ...]]:
    """``scenario`` on ``horizon``, every per-period series resampled by clock time (unvalidated until used).

    New period ``t`` (midpoint ``m_t = start' + (t + ½)·step'`` hours) takes the value of the old period
    ``k = ⌊((m_t − start) mod T·step) / step⌋``: the old horizon repeated end to end, so a one-day horizon gives
    each new period the value at its clock time. Ramp limits (kW per period) are scaled by ``step'/step``.
    Raises ScenarioError when a bid block is for one period (it has no counterpart). Returns the scenario and
    the names of what was resampled.
    """
    old = scenario.horizon
    span = old.periods * old.step_h
    index = [
        min(
            old.periods - 1,
            int(((horizon.start_hour + (t + 0.5) * horizon.step_h - old.start_hour) % span) / old.step_h),
        )
        for t in range(horizon.periods)
    ]

    def on(values: tuple[float, ...]) -> tuple[float, ...]:
        return tuple(values[k] for k in index)

    problems = [
        Problem(f"prosumers[{i}].bids", "a bid block for one period cannot be moved to another horizon", i, p.id)
        for i, p in enumerate(scenario.prosumers)
        if any(b.period is not None for b in p.bids)
    ]
    if problems:
        raise ScenarioError(problems)
    ratio = horizon.step_h / old.step_h
    done: set[str] = {"wholesale_price_per_kwh", "retail_import_price_per_kwh", "feed_in_price_per_kwh"}
    prosumers = []
    for p in scenario.prosumers:
        p = replace(p, demand_kw=on(p.demand_kw))
        if p.demand_kvar is not None:
            p = replace(p, demand_kvar=on(p.demand_kvar))
            done.add("demand_kvar")
        a = p.asset
        if a is not None:
            if a.availability_pu is not None:
                a = replace(a, availability_pu=on(a.availability_pu))
                done.add("availability_pu")
            if a.ramp_kw_per_period is not None and ratio != 1.0:
                a = replace(a, ramp_kw_per_period=a.ramp_kw_per_period * ratio)
                done.add("ramp_kw_per_period (× the step ratio)")
            p = replace(p, asset=a)
        if p.flexible is not None:
            p = replace(p, flexible=replace(p.flexible, d_max_kw=on(p.flexible.d_max_kw)))
            done.add("flexible_max_kw")
        prosumers.append(p)
    f = scenario.feeder
    sub = replace(f.substation, wholesale_price_per_kwh=on(f.substation.wholesale_price_per_kwh))
    tariffs = replace(
        scenario.tariffs,
        retail_import_price_per_kwh=on(scenario.tariffs.retail_import_price_per_kwh),
        feed_in_price_per_kwh=on(scenario.tariffs.feed_in_price_per_kwh),
    )
    out = replace(
        scenario,
        feeder=replace(f, substation=sub),
        horizon=horizon,
        tariffs=tariffs,
        prosumers=tuple(prosumers),
        validate=False,
    )
    order = [q for q in QUANTITIES if q in done] + sorted(d for d in done if d not in QUANTITIES)
    return out, tuple(order)


# ---------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------


def profile_series(scenario: Scenario) -> list[tuple[str, str, tuple[float, ...]]]:
    """Every per-period series of ``scenario`` as ``(id, quantity, values)`` (``id`` empty for the grid's), in the
    order of the export: the three prices, then each prosumer's demand, reactive demand, availability, ceiling."""
    out: list[tuple[str, str, tuple[float, ...]]] = [
        ("", "wholesale_price_per_kwh", scenario.feeder.substation.wholesale_price_per_kwh),
        ("", "retail_import_price_per_kwh", scenario.tariffs.retail_import_price_per_kwh),
        ("", "feed_in_price_per_kwh", scenario.tariffs.feed_in_price_per_kwh),
    ]
    for p in scenario.prosumers:
        out.append((p.id, "demand_kw", p.demand_kw))
        if p.demand_kvar is not None:
            out.append((p.id, "demand_kvar", p.demand_kvar))
        if p.asset is not None and p.asset.availability_pu is not None:
            out.append((p.id, "availability_pu", p.asset.availability_pu))
        if p.flexible is not None:
            out.append((p.id, "flexible_max_kw", p.flexible.d_max_kw))
    return out


def time_labels(horizon: TimeHorizon) -> list[str]:
    """Each period's start as the file writes it: ``HH:MM`` (``HH:MM:SS`` when a start is not on a minute)."""
    out = []
    for t in range(horizon.periods):
        seconds = round((horizon.start_hour + t * horizon.step_h) * 3600) % 86400
        hh, rest = divmod(seconds, 3600)
        mm, ss = divmod(rest, 60)
        out.append(f"{hh:02d}:{mm:02d}" + (f":{ss:02d}" if ss else ""))
    return out


def export_profiles_csv(scenario: Scenario, path: str | os.PathLike[str], *, long: bool = False) -> Path:
    """Write every per-period series of ``scenario`` (:func:`profile_series`) to ``path``, wide (default) or long.

    Numbers keep full precision (``repr``), so :func:`import_profiles_csv` of the file onto the same project gives
    it back unchanged. Times are clock times ``HH:MM`` (a multi-day horizon reads back in order). A prosumer whose
    id is a grid quantity's name or has a ``:`` before a quantity name gets an explicit ``ID:demand_kw`` column.
    The file is written atomically (temporary file, then rename). Returns ``path``.
    """
    series = profile_series(scenario)
    times = time_labels(scenario.horizon)
    rows: list[list[str]]
    if long:
        rows = [list(LONG_COLUMNS)]
        for pid, quantity, values in series:
            rows.extend([times[t], pid, quantity, _fmt(v)] for t, v in enumerate(values))
    else:
        header = ["time"] + [_wide_column(pid, q) for pid, q, _ in series]
        rows = [header] + [[times[t]] + [_fmt(v[t]) for _, _, v in series] for t in range(scenario.periods)]
    write: Callable = lambda fh: csv.writer(fh, lineterminator="\n").writerows(rows)  # noqa: E731
    return write_atomic(Path(path), write, newline="")


def _wide_column(pid: str, quantity: str) -> str:
    if not pid:
        return quantity
    if quantity == "demand_kw" and _wide_key(pid) == (pid, "demand_kw") and pid.lower() != "time":
        return pid
    return f"{pid}:{quantity}"


def _fmt(v: float) -> str:
    text = repr(float(v))
    return text[:-2] if text.endswith(".0") else text
