"""Writing specs: the TOML text of a spec, a spec for the open project, the spec of a results file, the example."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import Problem, ScenarioError
from core.scenario.io import load_project
from core.scenario.model import Scenario
from core.study.spec import (
    AXES,
    BUNDLED_PROJECTS,
    DRAW_KEYS,
    MARKET_OPTIONS,
    Draws,
    SpecError,
    StudyError,
    StudySpec,
    _parse,
)

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


def toml_text(
    base: str,
    axes: Mapping[str, Any],
    *,
    name: str = "",
    mode: str = "grid",
    seed: int = 0,
    samples: int | None = None,
    draws: Draws | None = None,
    market: Mapping[str, Any] | None = None,
    comment: str = "",
) -> str:
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


def spec_for_scenario(
    base: Scenario,
    axes: Mapping[str, Any],
    *,
    base_file: str | os.PathLike | None = None,
    name: str = "",
    mode: str = "grid",
    seed: int = 0,
    samples: int | None = None,
    draws: Draws | None = None,
    market: Mapping[str, Any] | None = None,
    modified: bool = False,
) -> StudySpec:
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
    comment = [
        "A Feeder Market scenario study, made in the dashboard's Studies panel.",
        "Run it again with: feeder-market study THIS_FILE -o results.parquet",
    ]
    if base_file is None:
        comment.append("The project was never saved: save it and name its file in base = … to run this spec.")
    elif modified:
        comment.append("The project had unsaved changes when this spec was made: the file named in base = … is")
        comment.append("the project as last saved (the points' ids and results differ from the dashboard's run).")
    text = toml_text(
        ref,
        axes,
        name=name or f"Study of {base.name}",
        mode=mode,
        seed=seed,
        samples=samples,
        draws=draws,
        market=market,
        comment="\n".join(comment),
    )
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


def spec_of_results(
    meta: Mapping[str, str], near: str | os.PathLike | None = None, table: pd.DataFrame | None = None
) -> StudySpec:
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
            raise StudyError(
                f"its base project '{meta.get('base', '?')}' cannot be found (looked in {looked}"
                + (f" and at {recorded}" if recorded and recorded != "None" else "")
                + ")"
            )
    if table is not None and len(table):
        ids = {p.point_id for p in spec.points}
        foreign = [pid for pid in table.point_id if pid not in ids]
        if foreign:
            raise StudyError(
                f"{len(foreign)} of its {len(table)} rows are not points of its spec on the project "
                f"{spec.base_file or spec.base_ref} as it is now: the project (or Feeder Market) has "
                "changed since the study ran"
            )
    return spec


EXAMPLE_SPEC = """\
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
"""


def example_spec() -> str:
    """A commented, valid example spec (the IEEE 33-bus community; 72 points)."""
    return EXAMPLE_SPEC
