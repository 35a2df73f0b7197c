"""Scenario studies: parameter sweeps and Monte Carlo over one base project (issue 8).

A **study** clears the market of one base project at many *points* — variants
of the scenario and of the market settings — and keeps one summary row per
point in a tidy table (pandas, saved as Parquet). It runs in this process for
a handful of points, on a Dask ``LocalCluster`` with this machine's cores by
default, or on an existing Dask cluster (``scheduler="tcp://HOST:8786"``).

The spec (TOML, ``schema_version = 1``)
=======================================

::

    schema_version = 1
    name = "PV penetration × mechanism"
    base = "ieee33-community.json"   # relative to the spec's folder; a bare name that is
                                     # not there is looked up in the bundled projects/ folder
    mode = "grid"                    # "grid": every combination; "random": `samples` points
    # samples = 100                  # mode = "random" only
    seed = 8                         # PV sites, random points and the draws' noise

    [axes]                           # each: a list of values, or a range {start, stop, num}
    mechanism = ["welfare", "uniform", "vcg"]
    pv_penetration = { start = 0.2, stop = 1.0, num = 5 }

    [draws]                          # Monte Carlo: n draws of every point (omit: no noise)
    n = 10
    demand_std = 0.05
    pv_std = 0.1
    bid_std = 0.05

    [market]                         # fixed for every point
    audit = false                    # properties audit (efficiency, measured IC): slower
    envy = false                     # envy audit on the copper plate: slower
    market_power = true              # HHI and Lerner of the reported period
    # grid = "tariffs"               # outside option: "tariffs" or "wholesale"
    # fairness_transfers = true
    # lexicographic = false

Axes (a point not sweeping an axis takes its default):

* ``mechanism`` — ``welfare`` (default), ``uniform``, ``pay_as_bid``, ``vcg``, ``trade_reduction``;
* ``fairness`` — ``efficiency`` (default), ``proportional``, ``maxmin`` (welfare clearing only);
* ``network`` — ``none`` (default), ``lindistflow``, ``ac``, ``dc`` (welfare clearing only);
* ``period`` — the period whose price, DLMPs, market power and audit are reported (default 0);
* ``k`` — the k of the uniform auction's k-pricing (default 0.5; NaN in the rows of other mechanisms);
* ``pv_penetration`` — total PV capacity as a fraction of the base project's peak demand
  (:func:`with_pv_penetration`; default: the project's PV as it is);
* ``demand_scale`` — a factor on every demand (:func:`scale_demand`; default 1);
* ``bid_shading`` — sellers ask ``(1+s)×`` and buyers bid ``(1−s)×`` their truthful prices
  (:func:`shade_bids`; default 0).

In ``mode = "grid"`` a range gives ``num`` evenly spaced values from ``start`` to
``stop`` inclusive, and the points are the full factorial of the axes. In
``mode = "random"``, ``samples`` points are drawn (seeded): a list axis picks
one of its values, a range axis a uniform number between ``start`` and
``stop`` (``num`` is not needed; whole numbers for ``period``); identical draws
are kept once. Either way each point is run for every Monte Carlo draw.
Combinations the market refuses or would ignore (a network model or a fairness
rule with an auction; a fairness rule with a network model or the wholesale
outside option) are left out and counted in :attr:`StudySpec.skipped_combinations`.

The point id
============

Every point has a deterministic id, the first 16 hex digits of the SHA-256 of
its parameters (every axis value, the draw) and of what else decides its result
(the base scenario's content, the seed, the noise levels, the ``[market]``
options). The same spec and seed give the same points, the same ids and the
same table wherever the study runs — in this process, on a ``LocalCluster`` or
on a cluster of many machines — except the timing columns
(:data:`TIMING_COLUMNS`). An interrupted study resumes: rows already in the
output file (by id) are not computed again; rows with status ``error`` are.

Results
=======

One row per point: ``point`` (its index in the spec), ``point_id``, ``draw``, the
axes (:data:`AXES`; ``pv_penetration`` is NaN when the project's PV is kept as
it is), then the metrics (:data:`METRICS`) and ``status`` (``ok``,
``infeasible`` or ``error``) with its ``message``. A point that fails records
its error and the study goes on. The Parquet file carries the spec text, the
package version and the base project in its schema metadata
(:func:`read_results`); it is rewritten atomically (temporary file, fsync,
rename) every few points, so a crash leaves the last complete checkpoint.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import logging
import math
import os
import re
import time
import tomllib
import weakref
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import __version__
from core.errors import ClearingError, Problem, ScenarioError
from core.market import (
    CACHE,
    FAIRNESS_CHOICES,
    MECHANISM_NAMES,
    NETWORK_CHOICES,
    MarketResult,
    MarketSettings,
    clear,
)
from core.scenario.io import dumps_project, load_project
from core.scenario.model import Asset, Prosumer, Scenario, TimeHorizon

SCHEMA_VERSION = 1
FORMAT_NAME = "feeder-market-study"
BUNDLED_PROJECTS = Path(__file__).resolve().parent.parent / "projects"

# every axis and its default (None: pv_penetration keeps the project's PV as it is)
AXES: dict[str, Any] = {
    "mechanism": "welfare",
    "fairness": "efficiency",
    "network": "none",
    "period": 0,
    "k": 0.5,
    "pv_penetration": None,
    "demand_scale": 1.0,
    "bid_shading": 0.0,
}
TEXT_AXES = {"mechanism": MECHANISM_NAMES, "fairness": FAIRNESS_CHOICES, "network": NETWORK_CHOICES}
MARKET_OPTIONS: dict[str, Any] = {"grid": None, "audit": False, "envy": False, "market_power": True,
                                  "fairness_transfers": True, "lexicographic": False}
DRAW_KEYS = ("n", "demand_std", "pv_std", "bid_std")
TOP_KEYS = ("schema_version", "name", "base", "mode", "seed", "samples", "axes", "draws", "market")

# the metrics of a row, with their dtypes
METRICS: dict[str, str] = {
    # over the horizon unless said otherwise; "the reported period" is the point's period axis
    "welfare": "float64",  # value − cost − net grid cost at the true (unshaded) curves, every mechanism alike
    "declared_gains": "float64",  # what the bids declared: Σ bid·fill − Σ ask·fill (welfare clearing: its objective)
    "gain_over_outside": "float64",  # welfare − Σ outside options (everyone trading with the grid alone)
    "worst_off_gain": "float64",  # the smallest gain of a prosumer over its outside option
    "price_per_kwh": "float64",  # the reported period's clearing price (the energy price with a network)
    "mean_price_per_kwh": "float64",  # over the periods that cleared at a price
    "traded_kwh": "float64",  # energy traded between prosumers (min of sold, bought per period)
    "grid_import_kwh": "float64",
    "grid_export_kwh": "float64",
    "platform_surplus": "float64",
    "ir_violations": "Int64",  # prosumers worse off than with the grid alone at the tariffs
    "efficiency": "float64",  # [market] audit = true, auctions: the reported period's gains at its bids / optimum
    "max_ic_gain": "float64",  # [market] audit = true, auctions: best gain from a misreport
    "hhi": "float64",  # of the reported period ([market] market_power)
    "max_lerner": "float64",  # largest observed Lerner index (P − mc)/P of a seller
    "dlmp_min_per_kwh": "float64",  # with a network: the reported period's DLMPs…
    "dlmp_max_per_kwh": "float64",
    "largest_dlmp_component": "object",  # … the largest non-energy part there: loss, congestion, voltage or none
    "v_min_pu": "float64",  # … its lowest voltage (LinDistFlow)
    "loss_kwh": "float64",  # over the horizon
    "max_loading_pct": "float64",  # the reported period's most loaded line
    "envious_pairs": "Int64",  # a fairness rule other than efficiency, or [market] envy = true (DLMPs with a network)
    "price_of_fairness": "float64",  # welfare lost by the fairness rule against efficiency (a fraction)
    "fairness_welfare_gain": "float64",  # Σ gains over the outside options under the rule (welfare: the efficient one)
    "jain": "float64",  # Jain's index of the gains under the rule
    "solve_time_s": "float64",  # the solver's (welfare clearing) or the auction's time
    "wall_time_s": "float64",  # the whole point: variant, clearing, metrics
    "status": "object",
    "message": "object",
}
ID_COLUMNS: dict[str, str] = {"point": "int64", "point_id": "object", "draw": "int64"}
AXIS_DTYPES: dict[str, str] = {"mechanism": "object", "fairness": "object", "network": "object", "period": "int64",
                               "k": "float64", "pv_penetration": "float64", "demand_scale": "float64",
                               "bid_shading": "float64"}
COLUMNS: dict[str, str] = {**ID_COLUMNS, **AXIS_DTYPES, **METRICS}
TIMING_COLUMNS = ("solve_time_s", "wall_time_s")
STATUSES = ("ok", "infeasible", "error")
IN_PROCESS_BELOW = 10  # fewer points to run than this: no cluster (starting one costs seconds)
PV_MAX_SCALE = 2.0  # pv_penetration scales existing PV up to this factor, then adds PV prosumers
META_KEY = b"feeder_market.study"
TASK_SECONDS = 0.25  # automatic batching: points per Dask task so that a task takes about this long
MAX_BATCH = 50
TASKS_PER_WORKER = 4  # tasks in flight per worker
WAIT_FOR_WORKERS_S = 60.0
log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


class SpecError(ScenarioError):
    """A bad study spec: every problem names the spec file, the key and its line."""

    @staticmethod
    def _describe(p: Problem) -> str:
        where = [f"line {p.line}"] if p.line is not None else []
        if p.field:
            where.append(p.field)
        return f"{', '.join(where)}: {p.message}" if where else p.message

    def _format(self) -> str:
        head = f"{self.file}: " if self.file else ""
        if not self.problems:
            return head + "invalid study spec"
        more = len(self.problems) - 1
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        return head + self._describe(self.problems[0]) + tail

    def report(self) -> str:
        """Every problem, one per line."""
        head = f"{self.file}:\n" if self.file else ""
        return head + "\n".join(f"  - {self._describe(p)}" for p in self.problems)

    def with_file(self, file: str) -> SpecError:
        """The same problems, attributed to ``file``."""
        return SpecError(self.problems, file=file)


class StudyError(ValueError):
    """A study cannot run as asked (e.g. the output file holds another study's points)."""


# ---------------------------------------------------------------------------
# the spec
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Draws:
    """Monte Carlo draws: ``n`` per point, with multiplicative noise ``exp(σz − σ²/2)``, ``z ~ N(0, 1)``."""

    n: int = 1
    demand_std: float = 0.0
    pv_std: float = 0.0
    bid_std: float = 0.0

    @property
    def noisy(self) -> bool:
        """Whether any noise level is above 0 (otherwise every draw is the base point)."""
        return self.demand_std > 0 or self.pv_std > 0 or self.bid_std > 0


@dataclass(frozen=True)
class PointOptions:
    """What every point of a study shares besides the base scenario (shipped with each task)."""

    seed: int = 0
    draws: Draws = field(default_factory=Draws)
    market: tuple[tuple[str, Any], ...] = tuple(MARKET_OPTIONS.items())

    def market_option(self, name: str) -> Any:
        """The value of one ``[market]`` option."""
        return dict(self.market)[name]


@dataclass(frozen=True)
class StudyPoint:
    """One point: a value for every axis (:data:`AXES` order) and a draw index."""

    index: int
    point_id: str
    draw: int
    values: tuple[tuple[str, Any], ...]

    def get(self, axis: str) -> Any:
        """This point's value of ``axis`` (its default when the spec does not sweep it)."""
        return dict(self.values)[axis]

    def settings(self, options: PointOptions) -> MarketSettings:
        """The :class:`MarketSettings` of this point (no price iteration, no decentralised check)."""
        v = dict(self.values)
        m = dict(options.market)
        return MarketSettings(mechanism=v["mechanism"], fairness=v["fairness"], network=v["network"],
                              period=int(v["period"]), k=0.5 if v["k"] is None else float(v["k"]),
                              grid=m["grid"], audit=bool(m["audit"]),
                              tatonnement=False, decentralised_check=False, market_power=bool(m["market_power"]),
                              fairness_audit=bool(m["envy"]), fairness_transfers=bool(m["fairness_transfers"]),
                              lexicographic=bool(m["lexicographic"]), compare=False)


@dataclass(frozen=True)
class StudySpec:
    """A parsed, validated study spec with its base scenario and its points."""

    text: str
    file: str | None
    name: str
    base_ref: str  # as written in the spec
    base_file: Path | None  # None: an unsaved project (spec_for_scenario)
    base: Scenario = field(repr=False, compare=False)
    mode: str = "grid"
    seed: int = 0
    samples: int | None = None
    axes: tuple[tuple[str, dict], ...] = ()  # swept axes: {"values": (…)} or {"start", "stop", "num"}
    options: PointOptions = field(default_factory=PointOptions)
    points: tuple[StudyPoint, ...] = ()
    skipped_combinations: int = 0

    @property
    def swept(self) -> tuple[str, ...]:
        """The axes the spec declares, in :data:`AXES` order."""
        return tuple(name for name, _ in self.axes)


def _key_lines(text: str) -> dict[str, int]:
    """Dotted key paths (``axes.mechanism``, ``draws.n``, ``seed``) → their 1-based line in the TOML text.

    A light scan, not a parser: table headers, ``key = …`` lines (dotted keys
    too) and the keys of an inline table on the same line.
    """
    lines: dict[str, int] = {}
    table = ""
    key = r'(?:[A-Za-z0-9_\-]+|"[^"]*"|\'[^\']*\')'
    header = re.compile(rf"^\s*\[\s*({key}(?:\s*\.\s*{key})*)\s*\]")
    assign = re.compile(rf"^\s*({key}(?:\s*\.\s*{key})*)\s*=")
    inner = re.compile(rf"[{{,]\s*({key})\s*=")

    def clean(path: str) -> str:
        return ".".join(part.strip().strip("\"'") for part in path.split("."))

    for number, raw in enumerate(text.splitlines(), start=1):
        m = header.match(raw)
        if m and not raw.lstrip().startswith("[["):
            table = clean(m.group(1))
            lines.setdefault(table, number)
            continue
        m = assign.match(raw)
        if m:
            path = clean(m.group(1))
            full = f"{table}.{path}" if table else path
            lines.setdefault(full, number)
            for k in inner.findall(raw[m.end():]):
                lines.setdefault(f"{full}.{clean(k)}", number)
    return lines


class _Problems:
    def __init__(self, text: str) -> None:
        self.lines = _key_lines(text)
        self.items: list[Problem] = []

    def line(self, path: str) -> int | None:
        parts = path.split(".")
        while parts:
            hit = self.lines.get(".".join(parts))
            if hit is not None:
                return hit
            parts.pop()
        return None

    def add(self, path: str, message: str) -> None:
        self.items.append(Problem(field=path, message=message, line=self.line(path)))


def _suggest(name: str, names: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(names), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _resolve_base(ref: str, folder: Path) -> Path | None:
    """The base project: ``ref`` relative to the spec's folder, or a bare name in the bundled projects."""
    p = Path(ref).expanduser()
    candidate = p if p.is_absolute() else folder / p
    if candidate.is_file():
        return candidate
    if len(p.parts) == 1 and (BUNDLED_PROJECTS / p).is_file():
        return BUNDLED_PROJECTS / p
    return None


def _check_value(axis: str, v: Any, periods: int) -> str | None:
    """Why ``v`` is not a valid value of ``axis`` (None: it is)."""
    if axis in TEXT_AXES:
        choices = TEXT_AXES[axis]
        if not isinstance(v, str):
            return f"must be one of {', '.join(choices)}, got {v!r}"
        if v not in choices:
            return f"unknown {axis} '{v}': choose one of {', '.join(choices)}{_suggest(v, choices)}"
        return None
    if not _is_number(v):
        return f"must be a number, got {v!r}"
    if axis == "period":
        if float(v) != int(v):
            return f"a period is a whole number, got {v!r}"
        if not 0 <= int(v) < periods:
            return f"period {int(v)} is outside the base project's horizon (0…{periods - 1})"
    elif axis == "k" and not 0.0 <= v <= 1.0:
        return f"k must be in [0, 1], got {v:g}"
    elif axis == "pv_penetration" and v < 0:
        return f"a PV penetration must be ≥ 0, got {v:g}"
    elif axis == "demand_scale" and v <= 0:
        return f"a demand scale must be > 0, got {v:g}"
    elif axis == "bid_shading" and not -1.0 < v < 1.0:
        return f"a bid shading must be in (−1, 1), got {v:g}"
    return None


def _normalise(axis: str, v: Any) -> Any:
    if axis in TEXT_AXES:
        return v
    if axis == "period":
        return int(v)
    return float(round(float(v), 10))


def _parse_axis(name: str, raw: Any, mode: str, periods: int, bad: _Problems) -> dict | None:
    path = f"axes.{name}"
    if isinstance(raw, dict):
        if name in TEXT_AXES:
            bad.add(path, f"a range needs numbers; {name} takes a list, e.g. {name} = [\"{AXES[name]}\"]")
            return None
        extra = sorted(set(raw) - {"start", "stop", "num"})
        if extra:
            bad.add(f"{path}.{extra[0]}", f"a range has keys start, stop and num, got '{extra[0]}'")
            return None
        needed = ("start", "stop", "num") if mode == "grid" else ("start", "stop")
        missing = [k for k in needed if k not in raw]
        if missing:
            bad.add(path, f"a range needs {', '.join(needed)}: '{missing[0]}' is missing")
            return None
        for k in ("start", "stop"):
            why = _check_value(name, raw[k], periods)
            if why:
                bad.add(path, f"{k}: {why}")
                return None
        if "num" in raw:
            num = raw["num"]
            if isinstance(num, bool) or not isinstance(num, int):
                bad.add(path, f"num must be a whole number, got {num!r}")
                return None
            if num < 1:
                bad.add(path, f"empty range: num must be at least 1, got {num}")
                return None
        if mode == "random":
            return {"start": raw["start"], "stop": raw["stop"]}
        values = np.linspace(float(raw["start"]), float(raw["stop"]), int(raw["num"]))
        if name == "period" and not np.allclose(values, np.round(values)):
            bad.add(path, f"the range gives periods that are not whole numbers ({', '.join(f'{v:g}' for v in values)})")
            return None
        return {"values": tuple(dict.fromkeys(_normalise(name, v) for v in values))}
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        bad.add(path, "is empty: give at least one value")
        return None
    for v in items:
        why = _check_value(name, v, periods)
        if why:
            bad.add(path, why)
            return None
    return {"values": tuple(dict.fromkeys(_normalise(name, v) for v in items))}


def _point_id(fingerprint: str, values: dict, draw: int) -> str:
    payload = json.dumps({"study": fingerprint, "axes": values, "draw": draw}, sort_keys=True, allow_nan=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


_DIGESTS: dict[int, tuple[weakref.ref, str]] = {}


def _base_digest(base: Scenario) -> str:
    """SHA-256 of the base project's JSON (:func:`dumps_project`), remembered per scenario object.

    A :class:`Scenario` is frozen, so its digest never changes: a spec re-validated at every change of a
    form (:func:`spec_for_scenario`) does not write a large project out again each time.
    """
    key = id(base)
    hit = _DIGESTS.get(key)
    if hit is not None and hit[0]() is base:
        return hit[1]
    digest = hashlib.sha256(dumps_project(base).encode()).hexdigest()
    try:
        ref = weakref.ref(base, lambda _ref, key=key: _DIGESTS.pop(key, None))
    except TypeError:  # an object without weak references: not remembered
        return digest
    _DIGESTS[key] = (ref, digest)
    return digest


def _fingerprint(base: Scenario, options: PointOptions) -> str:
    """What decides a point's result besides its own parameters (a point id hashes it)."""
    digest = _base_digest(base)
    payload = {"base": digest, "seed": options.seed,
               "noise": [options.draws.demand_std, options.draws.pv_std, options.draws.bid_std],
               "market": dict(options.market)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _runnable(values: dict, grid: str | None) -> bool:
    """Whether the market runs this combination as it says: MarketSettings refuses an auction with a network
    model or a fairness rule, and clear() applies fairness rules only on the copper plate at the tariffs."""
    try:
        settings = MarketSettings(mechanism=values["mechanism"], fairness=values["fairness"],
                                  network=values["network"], grid=grid)
    except ValueError:
        return False
    return settings.fairness == "efficiency" or (settings.network == "none" and settings.grid_prices == "tariffs")


def _normalised(values: dict) -> dict:
    """``k`` only matters to the uniform auction: other mechanisms get None (NaN in the table), so that a
    sweep of k does not run them again and again."""
    return values if values["mechanism"] == "uniform" else {**values, "k": None}


def _expand(axes: dict[str, dict], mode: str, seed: int, samples: int | None, draws: Draws,
            fingerprint: str, grid: str | None = None) -> tuple[list[StudyPoint], int]:
    """Points of the study (in a fixed order) and how many combinations are left out (:func:`_runnable`)."""
    combos: list[dict] = []
    skipped = 0
    if mode == "grid":
        names = list(axes)
        for choice in itertools.product(*(axes[n]["values"] for n in names)):
            values = {**AXES, **dict(zip(names, choice, strict=True))}
            if _runnable(values, grid):
                combos.append(_normalised(values))
            else:
                skipped += 1
    else:
        rng = np.random.default_rng([seed, 0x52414E44])
        attempts = 0
        while len(combos) < (samples or 0) and attempts < 100 * (samples or 0):
            attempts += 1
            values = dict(AXES)
            for name, ax in axes.items():
                if "values" in ax:
                    values[name] = ax["values"][int(rng.integers(len(ax["values"])))]
                elif name == "period":
                    lo, hi = sorted((int(ax["start"]), int(ax["stop"])))
                    values[name] = int(rng.integers(lo, hi + 1))
                else:
                    values[name] = float(round(rng.uniform(float(ax["start"]), float(ax["stop"])), 6))
            if _runnable(values, grid):
                combos.append(_normalised(values))
            else:
                skipped += 1
    points: list[StudyPoint] = []
    seen: set[str] = set()
    for values in combos:
        for d in range(draws.n):
            pid = _point_id(fingerprint, values, d)
            if pid in seen:
                continue
            seen.add(pid)
            points.append(StudyPoint(len(points), pid, d, tuple((n, values[n]) for n in AXES)))
    return points, skipped


def parse_spec(text: str, file: str | os.PathLike | None = None, folder: str | os.PathLike | None = None) -> StudySpec:
    """Parse and validate a study spec (TOML text); loads the base project and lists the points.

    ``folder`` is where a relative ``base`` is looked for (default: the spec
    file's folder, else the working directory). Raises :class:`SpecError` naming
    the line of every problem; a base project that exists but is broken raises
    the project's own :class:`ScenarioError`.
    """
    return _parse(text, file, folder)


def _parse(text: str, file: str | os.PathLike | None = None, folder: str | os.PathLike | None = None,
           loaded: tuple[Scenario, Path | None] | None = None) -> StudySpec:
    """:func:`parse_spec`'s body. ``loaded = (scenario, its file or None)``: the base project is that
    scenario, already in memory (the dashboard's current project), and ``base`` is not looked up."""
    name = str(file) if file is not None else None
    folder = Path(folder) if folder is not None else (Path(file).parent if file is not None else Path.cwd())
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        m = re.search(r"line (\d+)", str(err))
        raise SpecError([Problem("", f"is not valid TOML: {err}", line=int(m.group(1)) if m else None)],
                        file=name) from None
    bad = _Problems(text)
    for key in data:
        if key not in TOP_KEYS:
            bad.add(key, f"unknown key '{key}': a spec has {', '.join(TOP_KEYS)}{_suggest(key, TOP_KEYS)}")
    version = data.get("schema_version")
    if version is None:
        bad.add("schema_version", f"is missing: a study spec starts with schema_version = {SCHEMA_VERSION}")
    elif version != SCHEMA_VERSION or isinstance(version, bool):
        newer = " (a spec from a newer Feeder Market?)" if _is_number(version) and version > SCHEMA_VERSION else ""
        bad.add("schema_version", f"this Feeder Market reads schema_version {SCHEMA_VERSION}, got {version!r}{newer}")
    title = data.get("name", "")
    if not isinstance(title, str):
        bad.add("name", f"must be text, got {title!r}")
        title = ""
    mode = data.get("mode", "grid")
    if mode not in ("grid", "random"):
        bad.add("mode", f"must be \"grid\" or \"random\", got {mode!r}")
        mode = "grid"
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        bad.add("seed", f"must be a whole number ≥ 0, got {seed!r}")
        seed = 0
    samples = data.get("samples")
    if mode == "random":
        if samples is None:
            bad.add("mode", "mode = \"random\" needs samples = N (how many points to draw)")
        elif isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            bad.add("samples", f"must be a whole number ≥ 1, got {samples!r}")
            samples = None
    elif samples is not None:
        bad.add("samples", "is for mode = \"random\" only (a grid runs every combination)")
        samples = None

    base_ref = data.get("base")
    base: Scenario | None = None
    base_file: Path | None = None
    if base_ref is None:
        bad.add("base", "is missing: name the base project, e.g. base = \"ieee33-community.json\"")
    elif not isinstance(base_ref, str) or not base_ref.strip():
        bad.add("base", f"must be a project file name, got {base_ref!r}")
    elif loaded is not None:
        base, base_file = loaded
    else:
        base_file = _resolve_base(base_ref, folder)
        if base_file is None:
            bad.add("base", f"project '{base_ref}' not found (looked in {folder.resolve()} and, for a bare file name, "
                            f"in the bundled projects {BUNDLED_PROJECTS})")
        else:
            base = load_project(base_file)  # a broken project file: its own ScenarioError (file, field, row)
    periods = base.periods if base is not None else 10**9

    axes_raw = data.get("axes", {})
    axes: dict[str, dict] = {}
    if not isinstance(axes_raw, dict):
        bad.add("axes", "must be a table: [axes] with one key per axis")
        axes_raw = {}
    for key in axes_raw:
        if key not in AXES:
            bad.add(f"axes.{key}", f"unknown axis '{key}': choose from {', '.join(AXES)}{_suggest(key, list(AXES))}")
    for axis in AXES:  # in AXES order, so that points come in a fixed order
        if axis in axes_raw:
            parsed = _parse_axis(axis, axes_raw[axis], mode, periods, bad)
            if parsed is not None:
                axes[axis] = parsed

    draws = Draws()
    draws_raw = data.get("draws")
    if draws_raw is not None:
        if not isinstance(draws_raw, dict):
            bad.add("draws", "must be a table: [draws] with n and the noise levels")
        else:
            for key in draws_raw:
                if key not in DRAW_KEYS:
                    bad.add(f"draws.{key}", f"unknown key '{key}': [draws] has {', '.join(DRAW_KEYS)}"
                                            f"{_suggest(key, DRAW_KEYS)}")
            n = draws_raw.get("n")
            if n is None:
                bad.add("draws", "needs n = number of Monte Carlo draws per point")
                n = 1
            elif isinstance(n, bool) or not isinstance(n, int) or n < 1:
                bad.add("draws.n", f"must be a whole number ≥ 1, got {n!r}")
                n = 1
            stds = {}
            for key in DRAW_KEYS[1:]:
                v = draws_raw.get(key, 0.0)
                if not _is_number(v) or v < 0:
                    bad.add(f"draws.{key}", f"must be a standard deviation ≥ 0, got {v!r}")
                    v = 0.0
                stds[key] = float(v)
            draws = Draws(n=n, **stds)

    market = dict(MARKET_OPTIONS)
    market_raw = data.get("market", {})
    if not isinstance(market_raw, dict):
        bad.add("market", "must be a table: [market] with the fixed options")
        market_raw = {}
    for key, v in market_raw.items():
        if key not in MARKET_OPTIONS:
            bad.add(f"market.{key}", f"unknown option '{key}': [market] has {', '.join(MARKET_OPTIONS)}"
                                     f"{_suggest(key, list(MARKET_OPTIONS))}")
        elif key == "grid":
            if v not in ("tariffs", "wholesale"):
                bad.add("market.grid", f"must be \"tariffs\" or \"wholesale\", got {v!r}")
            else:
                market[key] = v
        elif not isinstance(v, bool):
            bad.add(f"market.{key}", f"must be true or false, got {v!r}")
        else:
            market[key] = v
    options = PointOptions(seed=seed, draws=draws, market=tuple(market.items()))

    points: list[StudyPoint] = []
    skipped = 0
    if not bad.items and base is not None:
        points, skipped = _expand(axes, mode, seed, samples, draws, _fingerprint(base, options), market["grid"])
        if not points:
            bad.add("axes", "no combination of the axes can be run: network models and fairness rules apply to "
                            "the welfare clearing only (add \"welfare\" to mechanism), and fairness rules to the "
                            "copper plate at the tariffs only")
    if bad.items:
        raise SpecError(sorted(bad.items, key=lambda p: p.line or 0), file=name)
    return StudySpec(text=text, file=name, name=title or Path(name or "study").stem, base_ref=base_ref,
                     base_file=base_file, base=base, mode=mode, seed=seed, samples=samples,
                     axes=tuple(axes.items()), options=options, points=tuple(points), skipped_combinations=skipped)


def load_spec(path: str | os.PathLike) -> StudySpec:
    """Read and parse a spec file (:func:`parse_spec`); a relative ``base`` is relative to the file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError("no such file", file=str(p)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError(f"cannot be read: {err}", file=str(p)) from None
    return parse_spec(text, p)


# ---------------------------------------------------------------------------
# a spec from the dashboard: an in-memory base project, the same TOML
# ---------------------------------------------------------------------------

UNSAVED_BASE = "(current project)"  # the base of a spec made from a project that has no file


def base_reference(path: str | os.PathLike | None) -> str:
    """What a spec's ``base`` says for the project file ``path``: a bundled project's bare name (found wherever
    the spec is saved), any other file's absolute path, :data:`UNSAVED_BASE` for a project without a file."""
    if path is None:
        return UNSAVED_BASE
    p = Path(path).expanduser().resolve()
    if p.parent == BUNDLED_PROJECTS.resolve() and p.is_file():
        return p.name
    return p.as_posix()


def _toml_value(v: Any) -> str:
    """One TOML value: a bool, a whole number, a float (shortest round-trip form), text, a list or an inline table."""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if not math.isfinite(f):
            raise ValueError(f"{f} is not a finite number")
        return repr(f)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # JSON's escapes are TOML basic-string escapes
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise ValueError(f"cannot write {v!r} in a spec")


def toml_text(base: str, axes: Mapping[str, Any], *, name: str = "", mode: str = "grid", seed: int = 0,
              samples: int | None = None, draws: Draws | None = None, market: Mapping[str, Any] | None = None,
              comment: str = "") -> str:
    """The TOML text of a study spec (the format :func:`parse_spec` reads), written from its parts.

    ``base``: the spec's ``base`` (:func:`base_reference`); ``axes``: axis → a list of values or a range
    ``{"start", "stop", "num"}``, written in :data:`AXES` order (unknown names too, at the end, so that
    :func:`parse_spec` names them); ``draws``: a ``[draws]`` table when it has more than one draw or any
    noise; ``market``: the ``[market]`` options that differ from :data:`MARKET_OPTIONS`; ``comment``: lines
    put first as TOML comments. Raises :class:`SpecError` for a value TOML cannot hold (NaN, an object).
    """
    lines = [f"# {ln}".rstrip() for ln in comment.splitlines()]
    lines += ["schema_version = 1"]
    try:
        if name:
            lines.append(f"name = {_toml_value(name)}")
        lines += [f"base = {_toml_value(base)}", f"mode = {_toml_value(mode)}"]
        if samples is not None:
            lines.append(f"samples = {_toml_value(samples)}")
        lines += [f"seed = {_toml_value(seed)}", "", "[axes]"]
    except ValueError as err:
        raise SpecError(f"cannot be written as TOML: {err}") from None
    ordered = [a for a in AXES if a in axes] + [a for a in axes if a not in AXES]
    for axis in ordered:
        try:
            lines.append(f"{axis} = {_toml_value(axes[axis])}")
        except ValueError as err:
            raise SpecError([Problem(f"axes.{axis}", f"cannot be written as TOML: {err}")]) from None
    if draws is not None and (draws.n != 1 or draws.noisy):
        lines += ["", "[draws]", f"n = {_toml_value(draws.n)}"]
        lines += [f"{k} = {_toml_value(float(getattr(draws, k)))}" for k in DRAW_KEYS[1:] if getattr(draws, k)]
    changed = {k: v for k, v in (market or {}).items() if k not in MARKET_OPTIONS or v != MARKET_OPTIONS[k]}
    if changed:
        lines += ["", "[market]"]
        try:
            lines += [f"{k} = {_toml_value(v)}" for k, v in changed.items() if v is not None]
        except ValueError as err:
            raise SpecError([Problem("market", f"cannot be written as TOML: {err}")]) from None
    return "\n".join(lines) + "\n"


def spec_for_scenario(base: Scenario, axes: Mapping[str, Any], *, base_file: str | os.PathLike | None = None,
                      name: str = "", mode: str = "grid", seed: int = 0, samples: int | None = None,
                      draws: Draws | None = None, market: Mapping[str, Any] | None = None,
                      modified: bool = False) -> StudySpec:
    """A study of ``base``, a project in memory (the dashboard's, maybe edited, maybe never saved).

    Writes the TOML text a user would write (:func:`toml_text`; its ``base``
    names ``base_file`` — :func:`base_reference` — or says
    :data:`UNSAVED_BASE`) and validates it exactly as :func:`parse_spec` does,
    with ``base`` as the base project: the same axes give the same points and
    point ids as a spec file naming the project saved as it is. ``modified``:
    ``base`` has changes its file does not have; the text says so in a
    comment (re-run with the CLI, it would study the file as saved). Raises
    :class:`SpecError` (problems name ``axes.mechanism``, ``draws.n``…; their
    line is the line of :attr:`StudySpec.text`).
    """
    ref = base_reference(base_file)
    comment = ["A Feeder Market scenario study, made in the dashboard's Studies panel.",
               "Run it again with: feeder-market study THIS_FILE -o results.parquet"]
    if base_file is None:
        comment.append("The project was never saved: save it and name its file in base = … to run this spec.")
    elif modified:
        comment.append("The project had unsaved changes when this spec was made: the file named in base = … is")
        comment.append("the project as last saved (the points' ids and results differ from the dashboard's run).")
    text = toml_text(ref, axes, name=name or f"Study of {base.name}", mode=mode, seed=seed, samples=samples,
                     draws=draws, market=market, comment="\n".join(comment))
    return _parse(text, loaded=(base, None if base_file is None else Path(base_file)))


def evening_peak_period(s: Scenario) -> int:
    """The period whose clock hour is in the evening, 16:00 ≤ h < 22:00, with the highest feeder demand
    ``Σ_i (d_{i,t} + d^max_{i,t})`` (the first of equal ones); without evening periods: 18 when the
    horizon has at least 19 periods, else 0."""
    h = s.horizon
    hours = (h.start_hour + np.arange(h.periods) * h.step_h) % 24.0
    evening = np.flatnonzero((hours >= 16.0) & (hours < 22.0))
    if evening.size == 0:
        return 18 if s.periods >= 19 else 0
    total = np.zeros(s.periods)
    for p in s.prosumers:
        total += np.asarray(p.demand_kw, dtype=float)
        if p.flexible is not None:
            total += np.asarray(p.flexible.d_max_kw, dtype=float)
    return int(evening[int(np.argmax(total[evening]))])


def spec_of_results(meta: Mapping[str, str], near: str | os.PathLike | None = None,
                    table: pd.DataFrame | None = None) -> StudySpec:
    """The spec a results file was written with (:func:`read_results`' metadata), parsed again so that its
    points' scenarios can be rebuilt (:func:`build_variant`).

    The base project is looked for as the spec says, relative to the spec
    file's folder (metadata ``spec_file``), then to ``near`` (the results
    file or its folder), then at the absolute path recorded when the study
    ran (``base_file``). With ``table``: every ``point_id`` of the table must
    be a point of the spec, else the base project has changed since the study
    ran. Raises :class:`StudyError` saying why the spec cannot be had.
    """
    text = meta.get("spec") or ""
    if not text.strip():
        raise StudyError("the file holds no study spec")
    spec_file = meta.get("spec_file") or None
    folders: list[Path] = []
    if spec_file:
        folders.append(Path(spec_file).parent)
    if near is not None:
        n = Path(near)
        folders.append(n if n.is_dir() else n.parent)
    spec: StudySpec | None = None
    for folder in folders or [Path.cwd()]:
        try:
            spec = _parse(text, spec_file, folder)
            break
        except SpecError as err:
            if not all(p.field == "base" for p in err.problems):
                raise StudyError(f"its spec is not valid here: {err}") from None
    if spec is None:
        recorded = meta.get("base_file") or ""
        if recorded and recorded != "None" and Path(recorded).is_file():
            try:
                spec = _parse(text, spec_file, loaded=(load_project(recorded), Path(recorded)))
            except ScenarioError as err:
                raise StudyError(f"its spec is not valid with the project {recorded}: {err}") from None
        elif meta.get("base") == UNSAVED_BASE:
            raise StudyError("the study ran on a project that was never saved: its scenarios cannot be rebuilt")
        else:
            looked = ", ".join(str(f) for f in folders) or str(Path.cwd())
            raise StudyError(f"its base project '{meta.get('base', '?')}' cannot be found (looked in {looked}"
                             + (f" and at {recorded}" if recorded and recorded != "None" else "") + ")")
    if table is not None and len(table):
        ids = {p.point_id for p in spec.points}
        foreign = [pid for pid in table.point_id if pid not in ids]
        if foreign:
            raise StudyError(f"{len(foreign)} of its {len(table)} rows are not points of its spec on the project "
                             f"{spec.base_file or spec.base_ref} as it is now: the project (or Feeder Market) has "
                             "changed since the study ran")
    return spec


EXAMPLE_SPEC = '''\
# A Feeder Market scenario study: feeder-market study THIS_FILE -o results.parquet
# The market of the base project is cleared at every combination of the axes
# (mode = "grid") or at `samples` random points (mode = "random"), each point for
# every Monte Carlo draw; one summary row per point goes to a Parquet table.
schema_version = 1
name = "PV penetration and mechanisms on the IEEE 33-bus community"

# The base project: a path relative to this file's folder; a bare file name that is
# not there is looked up in Feeder Market's bundled projects folder.
base = "ieee33-community.json"

mode = "grid"    # "grid": the full factorial of the axes; "random": `samples` points drawn over them
# samples = 200  # mode = "random" only
seed = 8         # decides the PV sites pv_penetration adds, the random points and the draws' noise

[axes]
# Each axis is a list of values or a range {start = …, stop = …, num = …} (num values,
# start and stop included). An axis left out takes its default (in brackets).
mechanism = ["welfare", "uniform", "vcg"]  # [welfare] uniform, pay_as_bid, vcg, trade_reduction
pv_penetration = { start = 0.2, stop = 1.0, num = 3 }  # [as in the project] PV capacity / peak demand
demand_scale = [0.9, 1.1]                  # [1] a factor on every demand
period = [12]                              # [0] the period whose price, market power (and audit) are reported
# bid_shading = [0.0, 0.1, 0.2]            # [0] sellers ask (1+s)×, buyers bid (1−s)× their truthful price
# k = [0.0, 0.5, 1.0]                      # [0.5] k-pricing of the uniform auction
# fairness = ["efficiency", "maxmin"]      # [efficiency] proportional, maxmin: welfare clearing only
# network = ["none", "lindistflow"]        # [none] lindistflow, ac, dc: welfare clearing only
# (combinations the market refuses or ignores, e.g. an auction with a network model, are left out)

[draws]
# Monte Carlo: n draws of every point, each with multiplicative noise exp(σz − σ²/2), z ~ N(0, 1)
n = 4
demand_std = 0.05  # on every prosumer's demand, per period
pv_std = 0.10      # on PV availability, per period (clipped to [0, 1])
bid_std = 0.05     # on each prosumer's cost and value coefficients and explicit bid prices

[market]
# fixed for every point
audit = false          # the properties audit (efficiency, measured IC) of the reported period: slower
envy = false           # the envy audit (envious pairs) on the copper plate: slower
market_power = true    # HHI and Lerner of the reported period
# grid = "tariffs"     # the outside option: "tariffs" or "wholesale" (default: tariffs, wholesale with a network)
'''


def example_spec() -> str:
    """A commented, valid example spec (the IEEE 33-bus community; 72 points)."""
    return EXAMPLE_SPEC


# ---------------------------------------------------------------------------
# scenario variants (pure functions on the frozen Scenario)
# ---------------------------------------------------------------------------


def peak_demand_kw(s: Scenario) -> float:
    """The feeder's coincident peak demand ``max_t Σ_i (d_{i,t} + d^max_{i,t})`` in kW (fixed + flexible)."""
    total = np.zeros(s.periods)
    for p in s.prosumers:
        total += np.asarray(p.demand_kw, dtype=float)
        if p.flexible is not None:
            total += np.asarray(p.flexible.d_max_kw, dtype=float)
    return float(total.max()) if total.size else 0.0


def _bus_peaks(s: Scenario) -> dict[str, float]:
    per_bus: dict[str, np.ndarray] = {}
    for p in s.prosumers:
        d = np.asarray(p.demand_kw, dtype=float)
        if p.flexible is not None:
            d = d + np.asarray(p.flexible.d_max_kw, dtype=float)
        per_bus[p.bus] = per_bus.get(p.bus, np.zeros(s.periods)) + d
    return {b: float(v.max()) for b, v in per_bus.items() if v.max() > 0}


def solar_profile(h: TimeHorizon) -> tuple[float, ...]:
    """Clear-sky PV availability per period from the horizon's clock (:func:`core.scenario.generate.solar_shape`).

    ``0.9·max(0, sin(π(h − 6)/13))^1.3`` at the middle ``h`` of each period (hours): sunrise 6:00, sunset 19:00.
    """
    hours = (h.start_hour + (np.arange(h.periods) + 0.5) * h.step_h) % 24.0
    return tuple(float(v) for v in 0.9 * np.clip(np.sin(np.pi * (hours - 6.0) / 13.0), 0.0, None) ** 1.3)


def _scale_pv(p: Prosumer, factor: float) -> Prosumer:
    a = p.asset
    ramp = None if a.ramp_kw_per_period is None else a.ramp_kw_per_period * factor
    asset = replace(a, p_max_kw=a.p_max_kw * factor, ramp_kw_per_period=ramp if ramp else None)
    bids = tuple(replace(b, quantity_kwh=b.quantity_kwh * factor) if b.side == "sell" else b for b in p.bids)
    return replace(p, asset=asset, bids=tuple(b for b in bids if b.quantity_kwh > 0))


def with_pv_penetration(s: Scenario, penetration: float, seed: int = 0) -> Scenario:
    """``s`` with total PV capacity ``penetration × peak_demand_kw(s)`` (kW).

    Every PV asset is scaled by the same factor ``target / C₀`` (``C₀``: the
    project's PV capacity), its ramp limit and explicit sell blocks with it
    (penetration 0 removes all PV output). When that factor would exceed
    :data:`PV_MAX_SCALE` — or the project has no PV — existing PV is scaled by
    :data:`PV_MAX_SCALE` (if any) and the rest comes from new PV prosumers
    ``pv-study-<bus>`` at load buses that have no PV yet, picked in a seeded
    random order (``seed``); each is sized at its bus's peak demand, the last
    one at what is left (if every such bus gets one and capacity is still
    missing, they are all scaled up). A new prosumer copies the efficiency,
    cost and availability of the project's first PV asset, or has efficiency
    0.97, no cost and :func:`solar_profile`. The same seed adds the same sites,
    and a higher penetration adds a superset of a lower one's sites.
    """
    target = float(penetration) * peak_demand_kw(s)
    pv = [i for i, p in enumerate(s.prosumers) if p.asset is not None and p.asset.kind == "pv"]
    c0 = float(sum(s.prosumers[i].asset.p_max_kw for i in pv))
    have_pv = {s.prosumers[i].bus for i in pv}
    peaks = _bus_peaks(s)
    order = {b.id: k for k, b in enumerate(s.feeder.buses)}
    candidates = sorted((b for b in peaks if b not in have_pv and b != s.feeder.substation.bus), key=order.get)
    if c0 > 0 and (target <= PV_MAX_SCALE * c0 or not candidates):
        factor, rest = target / c0, 0.0
    else:
        factor = PV_MAX_SCALE if c0 > 0 else 0.0
        rest = target - factor * c0
    items = list(s.prosumers)
    for i in pv:
        items[i] = _scale_pv(items[i], factor)
    if rest > 1e-12 and candidates:
        rng = np.random.default_rng([seed, 0x5056])
        sites = [candidates[int(k)] for k in rng.permutation(len(candidates))]
        sizes: list[tuple[str, float]] = []
        left = rest
        for bus in sites:
            size = min(peaks[bus], left)
            sizes.append((bus, size))
            left -= size
            if left <= 1e-12:
                break
        if left > 1e-12:
            grow = rest / (rest - left)
            sizes = [(b, c * grow) for b, c in sizes]
        template = s.prosumers[pv[0]].asset if pv else None
        taken = {p.id for p in items}
        for bus, size in sizes:
            pid = f"pv-study-{bus}"
            while pid in taken:
                pid += "'"
            taken.add(pid)
            asset = Asset(kind="pv", p_max_kw=float(size),
                          efficiency=template.efficiency if template else 0.97,
                          cost_a_per_kw2h=template.cost_a_per_kw2h if template else 0.0,
                          cost_b_per_kwh=template.cost_b_per_kwh if template else 0.0,
                          availability_pu=template.availability_pu if template else solar_profile(s.horizon))
            items.append(Prosumer(id=pid, bus=bus, demand_kw=(0.0,) * s.periods, name=f"Study PV at bus {bus}",
                                  asset=asset))
    return replace(s, prosumers=tuple(items))


def scale_demand(s: Scenario, factor: float) -> Scenario:
    """``s`` with every demand times ``factor``: fixed demand (kW and kvar), flexible ``d^max`` and the
    quantities of explicit buy blocks."""
    f = float(factor)
    if f == 1.0:
        return s

    def scaled(p: Prosumer) -> Prosumer:
        flex = p.flexible
        if flex is not None:
            flex = replace(flex, d_max_kw=tuple(v * f for v in flex.d_max_kw))
        kvar = None if p.demand_kvar is None else tuple(v * f for v in p.demand_kvar)
        bids = tuple(replace(b, quantity_kwh=b.quantity_kwh * f) if b.side == "buy" else b for b in p.bids)
        return replace(p, demand_kw=tuple(v * f for v in p.demand_kw), demand_kvar=kvar, flexible=flex, bids=bids)

    return replace(s, prosumers=tuple(scaled(p) for p in s.prosumers))


def shade_bids(s: Scenario, shading: float) -> Scenario:
    """``s`` as declared by agents who shade by ``shading`` = s ∈ (−1, 1) (:func:`core.properties.shaded`).

    Sellers ask ``(1+s)×`` their truthful price and buyers bid ``(1−s)×``:
    a DER's cost coefficients ``a, b`` are multiplied by ``1+s`` (so its
    marginal-cost asks are), a flexible load's value coefficients by ``1−s``
    (its marginal-value bids), and an explicit block's price ``p`` becomes
    ``p + s|p|`` (ask) or ``p − s|p|`` (bid). Fixed demand bids at the retail
    tariff and the asks' floor at the feed-in tariff are reservation prices,
    not shaded. The clearing then sees these declared curves; since declared
    cost = (1+s)·true cost and declared value = (1−s)·true value, the true
    welfare of the outcome is recovered exactly (:func:`run_point`).
    """
    sh = float(shading)
    if sh == 0.0:
        return s
    up, down = 1.0 + sh, 1.0 - sh

    def shaded(p: Prosumer) -> Prosumer:
        a, flex = p.asset, p.flexible
        if a is not None:
            a = replace(a, cost_a_per_kw2h=a.cost_a_per_kw2h * up, cost_b_per_kwh=a.cost_b_per_kwh * up)
        if flex is not None:
            flex = replace(flex, value_a_per_kw2h=flex.value_a_per_kw2h * down,
                           value_b_per_kwh=flex.value_b_per_kwh * down)
        bids = tuple(replace(b, price_per_kwh=b.price_per_kwh + sh * abs(b.price_per_kwh) if b.side == "sell"
                             else b.price_per_kwh - sh * abs(b.price_per_kwh)) for b in p.bids)
        return replace(p, asset=a, flexible=flex, bids=bids)

    return replace(s, prosumers=tuple(shaded(p) for p in s.prosumers))


def _factor(z, std: float):
    """Multiplicative noise with mean 1: ``exp(σz − σ²/2)``."""
    return np.exp(std * np.asarray(z) - 0.5 * std * std)


def perturb(s: Scenario, seed: int, draw: int, demand_std: float = 0.0, pv_std: float = 0.0,
            bid_std: float = 0.0) -> Scenario:
    """Monte Carlo draw ``draw`` of ``s``: multiplicative noise ``exp(σz − σ²/2)`` (mean 1), ``z ~ N(0, 1)``.

    Each prosumer's noise comes from its own stream, seeded by ``(seed, draw,
    CRC-32 of its id)``, so draw d of every point of a study sees the same
    noise (common random numbers: differences between mechanisms are not
    noise) whatever the prosumers around it:

    * ``demand_std``: per period, on its fixed demand (kW and kvar) and flexible ``d^max``;
    * ``pv_std``: per period, on a PV asset's availability (clipped to [0, 1]; none given = 1);
    * ``bid_std``: one factor on its cost and value coefficients and its explicit bid prices.
    """
    if demand_std <= 0 and pv_std <= 0 and bid_std <= 0:
        return s
    T = s.periods

    def noisy(p: Prosumer) -> Prosumer:
        rng = np.random.default_rng([seed, draw, zlib.crc32(p.id.encode())])
        zd, zp, zb = rng.standard_normal(T), rng.standard_normal(T), float(rng.standard_normal())
        changes: dict[str, Any] = {}
        if demand_std > 0:
            fd = _factor(zd, demand_std)
            changes["demand_kw"] = tuple(float(v) for v in np.asarray(p.demand_kw) * fd)
            if p.demand_kvar is not None:
                changes["demand_kvar"] = tuple(float(v) for v in np.asarray(p.demand_kvar) * fd)
            if p.flexible is not None:
                changes["flexible"] = replace(p.flexible, d_max_kw=tuple(
                    float(v) for v in np.asarray(p.flexible.d_max_kw) * fd))
        a = p.asset
        if pv_std > 0 and a is not None and a.kind == "pv":
            base = np.ones(T) if a.availability_pu is None else np.asarray(a.availability_pu, dtype=float)
            avail = np.clip(base * _factor(zp, pv_std), 0.0, 1.0)
            a = replace(a, availability_pu=tuple(float(v) for v in avail))
        if bid_std > 0:
            fb = float(_factor(zb, bid_std))
            if a is not None:
                a = replace(a, cost_a_per_kw2h=a.cost_a_per_kw2h * fb, cost_b_per_kwh=a.cost_b_per_kwh * fb)
            flex = changes.get("flexible", p.flexible)
            if flex is not None:
                changes["flexible"] = replace(flex, value_a_per_kw2h=flex.value_a_per_kw2h * fb,
                                              value_b_per_kwh=flex.value_b_per_kwh * fb)
            changes["bids"] = tuple(replace(b, price_per_kwh=b.price_per_kwh * fb) for b in p.bids)
        if a is not p.asset:
            changes["asset"] = a
        return replace(p, **changes) if changes else p

    return replace(s, prosumers=tuple(noisy(p) for p in s.prosumers))


def build_variant(base: Scenario, point: StudyPoint, options: PointOptions) -> tuple[Scenario, Scenario]:
    """(truth, declared): the point's scenario before and after bid shading.

    In order: :func:`with_pv_penetration`, :func:`scale_demand`, the draw's
    noise (:func:`perturb`, when ``[draws]`` has a noise level above 0) — the
    truth — then :func:`shade_bids` — what the market sees.
    """
    s = base
    pen = point.get("pv_penetration")
    if pen is not None:
        s = with_pv_penetration(s, pen, options.seed)
    s = scale_demand(s, point.get("demand_scale"))
    d = options.draws
    if d.noisy:
        s = perturb(s, options.seed, point.draw, d.demand_std, d.pv_std, d.bid_std)
    return s, shade_bids(s, point.get("bid_shading"))


# ---------------------------------------------------------------------------
# one point
# ---------------------------------------------------------------------------


def _num(v: Any) -> float:
    if v is None:
        return math.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _metrics(result: MarketResult, settings: MarketSettings) -> dict[str, Any]:
    s = result.summary
    row: dict[str, Any] = {
        "welfare": _num(s.get("welfare")),
        "declared_gains": _num(s.get("declared_gains")),
        "gain_over_outside": _num(s.get("gain_over_outside")),
        "worst_off_gain": _num(s.get("worst_off_gain")),
        "price_per_kwh": _num(s.get("price_per_kwh")),
        "traded_kwh": _num(s.get("traded_kwh")),
        "grid_import_kwh": _num(s.get("grid_import_kwh")),
        "grid_export_kwh": _num(s.get("grid_export_kwh")),
        "platform_surplus": _num(s.get("platform_surplus")),
        "ir_violations": s.get("ir_violations"),
        "dlmp_min_per_kwh": _num(s.get("dlmp_min_per_kwh")),
        "dlmp_max_per_kwh": _num(s.get("dlmp_max_per_kwh")),
        "largest_dlmp_component": s.get("largest_dlmp_component", ""),
        "v_min_pu": _num(s.get("v_min_pu")),
        "loss_kwh": _num(s.get("loss_kwh")),
        "max_loading_pct": _num(s.get("max_loading_pct")),
        "envious_pairs": s.get("envious_pairs"),
        "price_of_fairness": _num(s.get("price_of_fairness")),
        "jain": _num(s.get("jain")),
        "solve_time_s": _num(s.get("solve_time_s")),
    }
    prices = result.periods.price_per_kwh.to_numpy(dtype=float)
    row["mean_price_per_kwh"] = float(np.mean(prices[np.isfinite(prices)])) if np.isfinite(prices).any() else math.nan
    if result.market_power_summary is not None:
        row["hhi"] = _num(result.market_power_summary.get("hhi"))
        lerner = result.market_power.lerner_observed.to_numpy(dtype=float) if result.market_power is not None \
            else np.zeros(0)
        row["max_lerner"] = float(np.max(lerner[np.isfinite(lerner)])) if np.isfinite(lerner).any() else math.nan
    if result.fairness_summary is not None and "welfare_gain" in result.fairness_summary:
        row["fairness_welfare_gain"] = _num(result.fairness_summary["welfare_gain"])
    if result.audit is not None and settings.mechanism != "welfare":
        row["efficiency"] = float(result.audit.efficiency)
        row["max_ic_gain"] = float(result.audit.max_ic_gain)
    return row


def _empty_row(point: StudyPoint) -> dict[str, Any]:
    row: dict[str, Any] = {"point": point.index, "point_id": point.point_id, "draw": point.draw}
    for name, v in point.values:
        row[name] = math.nan if v is None else v
    for name, dtype in METRICS.items():
        row[name] = "" if dtype == "object" else (None if dtype == "Int64" else math.nan)
    return row


def run_point(base: Scenario, point: StudyPoint, options: PointOptions) -> dict[str, Any]:
    """Build the point's scenario, clear its market and return its row; never raises for a failed point.

    ``status``: ``ok``; ``infeasible`` when the clearing is proven infeasible
    (a :class:`ClearingError` with an infeasible status); ``error`` with the
    error's message for anything else. The row does not depend on what was
    computed before in the same process: every solve is cold, and the outside options solved for earlier points
    are forgotten (:meth:`~core.market.ClearingCache.forget_solutions`), the compiled problems kept.
    """
    t0 = time.perf_counter()
    row = _empty_row(point)
    CACHE.forget_solutions()
    try:
        settings = point.settings(options)
        truth, declared = build_variant(base, point, options)
        # shaded bids are declarations: the outcome is valued at the truthful curves
        result = clear(declared, settings, truth=None if declared is truth else truth)
        row.update(_metrics(result, settings))
        row["status"] = "ok"
    except ClearingError as err:
        row["status"] = "infeasible" if "infeasible" in str(err.status) else "error"
        row["message"] = str(err)
    except Exception as err:  # a failed point is recorded, the study goes on
        row["status"] = "error"
        row["message"] = f"{type(err).__name__}: {err}"
    row["wall_time_s"] = time.perf_counter() - t0
    return row


def _run_points(base: Scenario, points: Sequence[StudyPoint], options: PointOptions) -> list[dict[str, Any]]:
    """Several points in one task (:func:`run_study`'s ``batch``)."""
    return [run_point(base, p, options) for p in points]


# ---------------------------------------------------------------------------
# the table and its file
# ---------------------------------------------------------------------------


def _frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(list(rows), columns=list(COLUMNS))
    for name, dtype in COLUMNS.items():
        if dtype == "object":
            df[name] = df[name].fillna("").astype(object)
        elif dtype == "Int64":
            df[name] = pd.array([None if pd.isna(v) else int(v) for v in df[name]], dtype="Int64")
        else:
            df[name] = df[name].astype(dtype)
    return df.sort_values("point", kind="stable").reset_index(drop=True)


def results_table(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Rows of :func:`run_point` (or :func:`run_study`'s ``on_row``) as a study table: :data:`COLUMNS` with
    their dtypes, sorted by point (what :func:`run_study` returns for the same rows)."""
    return _frame(rows)


def _metadata(spec: StudySpec) -> dict[str, str]:
    return {
        "format": FORMAT_NAME,
        "schema_version": str(SCHEMA_VERSION),
        "version": __version__,
        "spec": spec.text,
        "spec_file": spec.file or "",
        "name": spec.name,
        "base": spec.base_ref,
        "base_file": "" if spec.base_file is None else str(spec.base_file),
        "points": str(len(spec.points)),
        "currency": spec.base.currency if spec.base is not None else "",
    }


def write_results(table: pd.DataFrame, path: str | os.PathLike, spec: StudySpec | None,
                  metadata: Mapping[str, str] | None = None) -> Path:
    """Write ``table`` as Parquet with the spec text and the package version in its schema metadata.

    Atomic: a temporary file in the same folder, flushed to disk, then renamed
    over ``path`` — a crash leaves either the old file or the new one.
    ``spec=None``: the study's ``metadata`` as :func:`read_results` gave it
    (a study read back whose base project is not at hand, written again).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if spec is None and metadata is None:
        raise ValueError("write_results needs the study's spec or its metadata")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    meta = dict(arrow.schema.metadata or {})
    study_meta = _metadata(spec) if spec is not None else dict(metadata or {})
    meta[META_KEY] = json.dumps(study_meta, ensure_ascii=False).encode()
    arrow = arrow.replace_schema_metadata(meta)
    from core.files import write_atomic

    write_atomic(p, lambda fh: pq.write_table(arrow, fh), mode="wb")
    return p


def read_results(path: str | os.PathLike) -> tuple[pd.DataFrame, dict[str, str]]:
    """A study's table and its metadata (``spec``, ``version``, ``base``…). Raises StudyError if it is not one."""
    import pyarrow.parquet as pq

    p = Path(path)
    try:
        arrow = pq.read_table(p)
    except FileNotFoundError:
        raise StudyError(f"{p}: no such file") from None
    except Exception as err:
        raise StudyError(f"{p}: not a readable Parquet file ({err})") from None
    raw = (arrow.schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise StudyError(f"{p}: not a Feeder Market study file (no study metadata)")
    meta = json.loads(raw.decode())
    table = arrow.to_pandas()
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise StudyError(f"{p}: a study file without the column(s) {', '.join(missing)} (another version?)")
    return _frame(table[list(COLUMNS)].to_dict("records")), meta


def status_counts(table: pd.DataFrame) -> pd.Series:
    """Number of points per status (``ok``, ``infeasible``, ``error``), every status listed."""
    return table.status.value_counts().reindex(STATUSES, fill_value=0)


def pivot(table: pd.DataFrame, metric: str = "welfare", rows: str | None = None,
          columns: str | None = None) -> pd.DataFrame:
    """Mean of ``metric`` over the ``ok`` points, by ``rows`` × ``columns`` (axes).

    Without ``rows``/``columns``: ``mechanism`` when it varies, else the first
    axis that varies, by the next axis that varies (at most 12 values).
    """
    if metric not in table.columns:
        raise KeyError(f"no metric '{metric}': choose one of {', '.join(METRICS)}")
    ok = table[table.status == "ok"]
    varying = [a for a in AXES if table[a].nunique() > 1]  # NaN (k of other mechanisms…) is not a value
    if rows is None:
        rows = "mechanism" if "mechanism" in varying else (varying[0] if varying else "mechanism")
    if columns is None:
        columns = next((a for a in varying if a != rows and table[a].nunique() <= 12), None)
    if ok.empty:
        return pd.DataFrame()
    values = ok[metric].astype(float)
    if columns is None:
        return values.groupby(ok[rows], dropna=False).agg(["mean", "std", "count"]).rename_axis(rows)
    return values.groupby([ok[rows], ok[columns]], dropna=False).mean().unstack(columns)


# ---------------------------------------------------------------------------
# running a study
# ---------------------------------------------------------------------------


@dataclass
class StudyRun:
    """What :func:`run_study` did: the table (every known point of the spec) and counts."""

    table: pd.DataFrame
    computed: int  # points computed by this run
    reused: int  # points read back from the output file
    total: int  # points asked for
    cancelled: bool
    workers: int  # 0: in this process
    elapsed_s: float
    output: Path | None = None

    @property
    def complete(self) -> bool:
        """Every point asked for has a row (and the run was not cancelled)."""
        return not self.cancelled and len(self.table) >= self.total


class _Checkpoint:
    """Rewrites the output file every ``every`` new rows or ``seconds`` (atomically)."""

    def __init__(self, path: Path | None, spec: StudySpec, rows: dict[str, dict], every: int, seconds: float):
        self.path, self.spec, self.rows = path, spec, rows
        self.every, self.seconds = max(1, every), seconds
        self.pending, self.last = 0, time.monotonic()

    def add(self, row: dict) -> None:
        self.rows[row["point_id"]] = row
        self.pending += 1
        if self.path is not None and (self.pending >= self.every or time.monotonic() - self.last >= self.seconds):
            self.flush()

    def flush(self) -> None:
        if self.path is not None and (self.pending or not self.path.exists()):
            write_results(_frame(list(self.rows.values())), self.path, self.spec)
        self.pending, self.last = 0, time.monotonic()


def _existing_rows(path: Path | None, spec: StudySpec) -> dict[str, dict]:
    if path is None or not path.exists():
        return {}
    table, _meta = read_results(path)
    index = {p.point_id: p.index for p in spec.points}
    foreign = [pid for pid in table.point_id if pid not in index]
    if foreign:
        raise StudyError(f"{path} holds {len(foreign)} point(s) that are not in this study (results of another spec "
                         "or base project): write to another file, or delete it to start afresh")
    table["point"] = [index[pid] for pid in table.point_id]
    return {r["point_id"]: r for r in table.to_dict("records")}


def run_study(spec: StudySpec, output: str | os.PathLike | None = None, *, client=None, scheduler: str | None = None,
              workers: int | None = None, points: Sequence[StudyPoint] | None = None,
              progress: Callable[[int, int], None] | None = None, cancelled: Callable[[], bool] | None = None,
              batch: int | None = None, checkpoint_every: int = 25, checkpoint_s: float = 10.0,
              on_row: Callable[[dict[str, Any]], None] | None = None) -> StudyRun:
    """Run ``spec``'s points (or ``points``, a subset) and return the table; resumes from ``output``.

    Where: in this process when ``workers == 0``, or when nothing else is asked
    and fewer than :data:`IN_PROCESS_BELOW` points are left to run; on
    ``client`` (a ``distributed.Client`` the caller owns); on the cluster at
    ``scheduler`` (used as it is); else on a new ``LocalCluster`` of
    ``workers`` processes (default: this machine's cores) with one thread
    each, closed at the end. The base scenario is shipped once per worker
    (``client.scatter(…, broadcast=True)``), then each task gets its future.
    A task runs ``batch`` points (default: sized from the points' measured
    time so that a task takes about :data:`TASK_SECONDS`).

    ``output``: the Parquet file; its rows (status ``ok`` or ``infeasible``) are
    not computed again, and it is rewritten atomically every
    ``checkpoint_every`` points or ``checkpoint_s`` seconds and at the end —
    also when the run is cancelled or interrupted. ``progress(done, total)``
    counts reused points as done; ``cancelled()`` is polled: once it returns
    True no more points are submitted, pending ones are cancelled, finished
    ones are kept. ``on_row(row)`` gets each computed row (a dict of
    :data:`COLUMNS`) as it comes in, before the ``progress`` call that counts
    it (a dashboard plots the study while it runs); reused rows are only in
    the returned table.
    """
    t_start = time.monotonic()
    path = None if output is None else Path(output)
    wanted = list(spec.points if points is None else points)
    rows = _existing_rows(path, spec)
    todo = [p for p in wanted if p.point_id not in rows or rows[p.point_id]["status"] == "error"]
    for p in todo:
        rows.pop(p.point_id, None)
    reused = len(wanted) - len(todo)
    total = len(wanted)
    state = {"done": reused, "computed": 0, "stopped": False}
    check = _Checkpoint(path, spec, rows, checkpoint_every, checkpoint_s)

    def finished(row: dict) -> None:
        check.add(row)
        state["done"] += 1
        state["computed"] += 1
        if on_row is not None:
            on_row(row)
        if progress is not None:
            progress(state["done"], total)

    def stop() -> bool:
        if cancelled is not None and not state["stopped"] and cancelled():
            state["stopped"] = True
        return state["stopped"]

    if progress is not None:
        progress(reused, total)
    in_process = workers == 0 or (client is None and scheduler is None and workers is None
                                  and len(todo) < IN_PROCESS_BELOW)
    n_workers = 0
    try:
        if not todo:
            pass
        elif in_process:
            for p in todo:
                if stop():
                    break
                finished(run_point(spec.base, p, spec.options))
        else:
            n_workers = _run_dask(spec, todo, client, scheduler, workers, None if batch is None else max(1, batch),
                                  finished, stop)
    finally:
        check.flush()
    table = _frame(list(rows.values()))
    return StudyRun(table=table, computed=state["computed"], reused=reused, total=total, cancelled=state["stopped"],
                    workers=n_workers, elapsed_s=time.monotonic() - t_start, output=path)


def local_cluster(workers: int):
    """A Dask ``LocalCluster`` for a study: ``workers`` processes of one thread each, no dashboard, and no
    statistical profiler in the workers (it samples the running point every 10 ms: a few % of its time)."""
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.worker.profile.enabled": False}):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                            silence_logs=logging.ERROR)


def _failed_rows(chunk: Sequence[StudyPoint], message: str) -> list[dict[str, Any]]:
    rows = []
    for p in chunk:
        row = _empty_row(p)
        row.update(status="error", message=f"the task failed on the cluster: {message}")
        rows.append(row)
    return rows


def _run_dask(spec: StudySpec, todo: list[StudyPoint], client, scheduler: str | None, workers: int | None,
              batch: int | None, finished: Callable[[dict], None], stop: Callable[[], bool]) -> int:
    """Run ``todo`` on Dask; returns the number of workers used.

    Tasks run ``batch`` points each; ``batch=None`` sizes them as results come in, so that a task takes
    about :data:`TASK_SECONDS` (fewer round trips for fast points) while every worker keeps several
    tasks to the end (load balance, prompt cancelling).
    """
    from collections import deque

    from distributed import Client, as_completed

    owned: list = []
    if client is None:
        if scheduler is not None:
            client = Client(scheduler, timeout=30)
        else:
            cluster = local_cluster(workers or os.cpu_count() or 1)
            owned.append(cluster)
            client = Client(cluster)
        owned.insert(0, client)
    try:
        try:
            client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS_S)
        except TimeoutError:
            raise StudyError(f"no Dask worker joined the scheduler {client.scheduler.address} within "
                             f"{WAIT_FOR_WORKERS_S:g} s: start some with `dask worker ADDRESS`") from None
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        base = client.scatter(spec.base, broadcast=True)  # once per worker, not once per point
        queue = deque(todo)
        inflight: dict = {}
        ac = as_completed()
        timing = {"seconds": 0.0, "points": 0, "ok_tasks": 0, "failed_tasks": 0}

        def size() -> int:
            if batch is not None:
                return batch
            if not timing["points"]:
                return 1
            mean = max(timing["seconds"] / timing["points"], 1e-4)
            return max(1, min(int(TASK_SECONDS / mean), MAX_BATCH, len(queue) // (2 * n_workers)))

        def submit() -> None:
            if queue:
                chunk = [queue.popleft() for _ in range(min(size(), len(queue)))]
                future = client.submit(_run_points, base, chunk, spec.options, pure=False)
                inflight[future] = chunk
                ac.add(future)

        def collect(future) -> None:
            chunk = inflight.pop(future)
            if future.status == "finished":
                results = future.result()
                timing["ok_tasks"] += 1
            else:  # a lost worker, a task the workers cannot even unpickle (another version of core?)
                results = _failed_rows(chunk, _future_message(future))
                timing["failed_tasks"] += 1
            for row in results:
                timing["seconds"] += float(row.get("wall_time_s") or 0.0)
                timing["points"] += 1
                finished(row)

        for _ in range(TASKS_PER_WORKER * n_workers):
            submit()
        while inflight:
            if stop():
                for future in [f for f in inflight if f.status == "finished"]:
                    collect(future)  # keep what finished
                client.cancel(list(inflight))
                break
            if not ac.has_ready():
                time.sleep(0.01)
                continue
            for future in ac.next_batch(block=False):
                collect(future)
                if not timing["ok_tasks"] and timing["failed_tasks"] >= 3:
                    client.cancel(list(inflight))
                    raise StudyError(f"the cluster cannot run the study's tasks: {_future_message(future)} — is "
                                     "the same Feeder Market installed on every worker?")
                if not stop():
                    submit()
        return n_workers
    finally:
        for thing in owned:
            try:
                thing.close()
            except Exception as err:  # closing must not hide the study's own outcome
                log.debug("closing %s: %s", thing, err)


def _future_message(future) -> str:
    """What went wrong with a Dask future, in one line."""
    err = future.exception() if future.status == "error" else future.status
    return f"{type(err).__name__}: {err}" if isinstance(err, BaseException) else str(err)


__all__ = [
    "AXES", "METRICS", "TIMING_COLUMNS", "UNSAVED_BASE", "Draws", "PointOptions", "SpecError", "StudyError",
    "StudyPoint", "StudyRun", "StudySpec", "base_reference", "build_variant", "evening_peak_period",
    "example_spec", "load_spec", "local_cluster", "parse_spec", "peak_demand_kw", "perturb", "pivot",
    "read_results", "results_table", "run_point", "run_study", "scale_demand", "shade_bids", "solar_profile",
    "spec_for_scenario", "spec_of_results", "status_counts", "toml_text", "with_pv_penetration", "write_results",
]
