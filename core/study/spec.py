"""A study's spec: the TOML format (see :mod:`core.study`), its parsing and checking, the points it expands to.

(Over 600 lines on purpose: the parser and the checks that name each bad line, field and value belong together.)"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import logging
import math
import os
import re
import tomllib
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import Problem, ScenarioError
from core.market import (
    FAIRNESS_CHOICES,
    MECHANISM_NAMES,
    NETWORK_CHOICES,
    MarketSettings,
)
from core.scenario.io import dumps_project, load_project
from core.scenario.model import Scenario

SCHEMA_VERSION = 1


FORMAT_NAME = "feeder-market-study"


BUNDLED_PROJECTS = Path(__file__).resolve().parents[2] / "projects"  # the repository's projects/


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


MARKET_OPTIONS: dict[str, Any] = {
    "grid": None,
    "audit": False,
    "envy": False,
    "market_power": True,
    "fairness_transfers": True,
    "lexicographic": False,
}


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


AXIS_DTYPES: dict[str, str] = {
    "mechanism": "object",
    "fairness": "object",
    "network": "object",
    "period": "int64",
    "k": "float64",
    "pv_penetration": "float64",
    "demand_scale": "float64",
    "bid_shading": "float64",
}


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
        return MarketSettings(
            mechanism=v["mechanism"],
            fairness=v["fairness"],
            network=v["network"],
            period=int(v["period"]),
            k=0.5 if v["k"] is None else float(v["k"]),
            grid=m["grid"],
            audit=bool(m["audit"]),
            tatonnement=False,
            decentralised_check=False,
            market_power=bool(m["market_power"]),
            fairness_audit=bool(m["envy"]),
            fairness_transfers=bool(m["fairness_transfers"]),
            lexicographic=bool(m["lexicographic"]),
            compare=False,
        )


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
            for k in inner.findall(raw[m.end() :]):
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
            bad.add(path, f'a range needs numbers; {name} takes a list, e.g. {name} = ["{AXES[name]}"]')
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
    payload = {
        "base": digest,
        "seed": options.seed,
        "noise": [options.draws.demand_std, options.draws.pv_std, options.draws.bid_std],
        "market": dict(options.market),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _runnable(values: dict, grid: str | None) -> bool:
    """Whether the market runs this combination as it says: MarketSettings refuses an auction with a network
    model or a fairness rule, and clear() applies fairness rules only on the copper plate at the tariffs."""
    try:
        settings = MarketSettings(
            mechanism=values["mechanism"], fairness=values["fairness"], network=values["network"], grid=grid
        )
    except ValueError:
        return False
    return settings.fairness == "efficiency" or (settings.network == "none" and settings.grid_prices == "tariffs")


def _normalised(values: dict) -> dict:
    """``k`` only matters to the uniform auction: other mechanisms get None (NaN in the table), so that a
    sweep of k does not run them again and again."""
    return values if values["mechanism"] == "uniform" else {**values, "k": None}


def _expand(
    axes: dict[str, dict],
    mode: str,
    seed: int,
    samples: int | None,
    draws: Draws,
    fingerprint: str,
    grid: str | None = None,
) -> tuple[list[StudyPoint], int]:
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


def _parse(
    text: str,
    file: str | os.PathLike | None = None,
    folder: str | os.PathLike | None = None,
    loaded: tuple[Scenario, Path | None] | None = None,
) -> StudySpec:
    """:func:`parse_spec`'s body. ``loaded = (scenario, its file or None)``: the base project is that
    scenario, already in memory (the dashboard's current project), and ``base`` is not looked up."""
    name = str(file) if file is not None else None
    folder = Path(folder) if folder is not None else (Path(file).parent if file is not None else Path.cwd())
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        m = re.search(r"line (\d+)", str(err))
        raise SpecError(
            [Problem("", f"is not valid TOML: {err}", line=int(m.group(1)) if m else None)], file=name
        ) from None
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
        bad.add("mode", f'must be "grid" or "random", got {mode!r}')
        mode = "grid"
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        bad.add("seed", f"must be a whole number ≥ 0, got {seed!r}")
        seed = 0
    samples = data.get("samples")
    if mode == "random":
        if samples is None:
            bad.add("mode", 'mode = "random" needs samples = N (how many points to draw)')
        elif isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            bad.add("samples", f"must be a whole number ≥ 1, got {samples!r}")
            samples = None
    elif samples is not None:
        bad.add("samples", 'is for mode = "random" only (a grid runs every combination)')
        samples = None

    base_ref = data.get("base")
    base: Scenario | None = None
    base_file: Path | None = None
    if base_ref is None:
        bad.add("base", 'is missing: name the base project, e.g. base = "ieee33-community.json"')
    elif not isinstance(base_ref, str) or not base_ref.strip():
        bad.add("base", f"must be a project file name, got {base_ref!r}")
    elif loaded is not None:
        base, base_file = loaded
    else:
        base_file = _resolve_base(base_ref, folder)
        if base_file is None:
            bad.add(
                "base",
                f"project '{base_ref}' not found (looked in {folder.resolve()} and, for a bare file name, "
                f"in the bundled projects {BUNDLED_PROJECTS})",
            )
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
                    bad.add(
                        f"draws.{key}",
                        f"unknown key '{key}': [draws] has {', '.join(DRAW_KEYS)}{_suggest(key, DRAW_KEYS)}",
                    )
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
            bad.add(
                f"market.{key}",
                f"unknown option '{key}': [market] has {', '.join(MARKET_OPTIONS)}"
                f"{_suggest(key, list(MARKET_OPTIONS))}",
            )
        elif key == "grid":
            if v not in ("tariffs", "wholesale"):
                bad.add("market.grid", f'must be "tariffs" or "wholesale", got {v!r}')
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
            bad.add(
                "axes",
                "no combination of the axes can be run: network models and fairness rules apply to "
                'the welfare clearing only (add "welfare" to mechanism), and fairness rules to the '
                "copper plate at the tariffs only",
            )
    if bad.items:
        raise SpecError(sorted(bad.items, key=lambda p: p.line or 0), file=name)
    return StudySpec(
        text=text,
        file=name,
        name=title or Path(name or "study").stem,
        base_ref=base_ref,
        base_file=base_file,
        base=base,
        mode=mode,
        seed=seed,
        samples=samples,
        axes=tuple(axes.items()),
        options=options,
        points=tuple(points),
        skipped_combinations=skipped,
    )


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
