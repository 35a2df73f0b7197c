"""Scenario studies: parameter sweeps and Monte Carlo over one base project.

The rooms: :mod:`~core.study.spec` (the format and its checks), :mod:`~core.study.authoring` (writing specs),
:mod:`~core.study.variants` (the scenario of a point), :mod:`~core.study.points` (one point's row),
:mod:`~core.study.results` (tables and Parquet files), :mod:`~core.study.run` (in process or on Dask).

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

from core.study.authoring import (
    UNSAVED_BASE,
    base_reference,
    evening_peak_period,
    example_spec,
    spec_for_scenario,
    spec_of_results,
    toml_text,
)
from core.study.points import run_point
from core.study.results import pivot, read_results, results_table, status_counts, write_results
from core.study.run import StudyRun, local_cluster, run_study
from core.study.spec import (
    AXES,
    COLUMNS,
    METRICS,
    TEXT_AXES,
    TIMING_COLUMNS,
    Draws,
    PointOptions,
    SpecError,
    StudyError,
    StudyPoint,
    StudySpec,
    load_spec,
    parse_spec,
)
from core.study.variants import (
    build_variant,
    peak_demand_kw,
    perturb,
    scale_demand,
    shade_bids,
    solar_profile,
    with_pv_penetration,
)

__all__ = [
    "AXES",
    "COLUMNS",
    "METRICS",
    "TEXT_AXES",
    "TIMING_COLUMNS",
    "UNSAVED_BASE",
    "Draws",
    "PointOptions",
    "SpecError",
    "StudyError",
    "StudyPoint",
    "StudyRun",
    "StudySpec",
    "base_reference",
    "build_variant",
    "evening_peak_period",
    "example_spec",
    "load_spec",
    "local_cluster",
    "parse_spec",
    "peak_demand_kw",
    "perturb",
    "pivot",
    "read_results",
    "results_table",
    "run_point",
    "run_study",
    "scale_demand",
    "shade_bids",
    "solar_profile",
    "spec_for_scenario",
    "spec_of_results",
    "status_counts",
    "toml_text",
    "with_pv_penetration",
    "write_results",
]
