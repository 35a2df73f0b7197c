"""Throughput of a scenario study (``core.study.run_study``): in this process vs a Dask LocalCluster. By hand:

    /work/venv/bin/python benchmarks/bench_study.py [--points 1000] [--mechanism uniform] [--batch 1 auto]

The study: the default project (IEEE 33-bus community, 24 periods), one mechanism
(``uniform`` by default; ``welfare`` solves the day's planner problem per point),
``demand_scale`` over 10 values from 0.8 to 1.2 and ``--points``/10 Monte Carlo
draws (5 % noise on demand, PV availability and bids); the audit and the envy
audit off, market power on. The same points run

1. in this process (``workers=0``);
2. in 2 plain processes without Dask, each running half the points in-process (a
   control: how well this machine runs two CPU-bound processes at once);
3. on a LocalCluster of 1 worker process, then of 2 (one thread each), once per
   ``--batch`` size (points per Dask task; ``auto``: sized from the measured point time).

Start-up (spawning the processes, importing core and cvxpy there) is timed apart from
the run; the run includes shipping the scenario to every worker. Reported per
configuration: points per second, the speed-up on the in-process run, the mean time
of a point measured where it ran (``wall_time_s``), and the overhead per point,
``(run time × processes − in-process run time) / points``: the worker time a point
costs beyond running it in this process (with one worker: Dask's scheduling and
serialisation; with several, also what running in parallel costs on this machine,
which the control row shows without Dask). The tables of every configuration are
checked to be identical (timing columns aside).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from core.study import TIMING_COLUMNS, load_spec, local_cluster, parse_spec, run_study

SPEC = """\
schema_version = 1
name = "bench"
base = "ieee33-community.json"
seed = 1
[axes]
mechanism = ["{mechanism}"]
demand_scale = {{ start = 0.8, stop = 1.2, num = 10 }}
period = [12]
[draws]
n = {draws}
demand_std = 0.05
pv_std = 0.05
bid_std = 0.05
[market]
audit = false
envy = false
"""


_SPEC = {}


def _warm(text: str) -> None:
    """Pool initializer: import core and parse the spec (its base project) before the clock starts."""
    _SPEC["spec"] = parse_spec(text, folder=Path.cwd())


def _import_core() -> None:
    import core.study  # noqa: F401


def _warm_done(_: int) -> bool:
    return "spec" in _SPEC


def _half(job: tuple[str, int]) -> pd.DataFrame:
    """Every other point of the spec, in this process (the control without Dask)."""
    spec = _SPEC["spec"]
    return run_study(spec, workers=0, points=spec.points[job[1] :: 2]).table


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1000, help="points in the study (a multiple of 10; default 1000)")
    ap.add_argument("--mechanism", default="uniform", help="uniform (default), welfare, vcg…")
    ap.add_argument("--batch", nargs="+", default=["1", "auto"], help="points per Dask task (default: 1 auto)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="LocalCluster sizes (default: 1 2)")
    args = ap.parse_args(argv)
    from distributed import Client

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.toml"
        path.write_text(SPEC.format(mechanism=args.mechanism, draws=max(1, args.points // 10)), encoding="utf-8")
        spec = load_spec(path)
    n = len(spec.points)
    print(
        f"{n} points: {spec.base_file.name}, mechanism {args.mechanism}, audit off; "
        f"{os.cpu_count()} cores; Python {sys.version.split()[0]}; load average {os.getloadavg()[0]:.2f} "
        "(other work on the machine skews every row)",
        flush=True,
    )

    rows, tables = [], {}
    t0 = time.perf_counter()
    here = run_study(spec, workers=0)
    t_here = time.perf_counter() - t0
    tables["in-process"] = here.table
    work = float(here.table.wall_time_s.sum())
    rows.append(
        {
            "run": "in-process",
            "processes": 1,
            "batch": "",
            "startup_s": 0.0,
            "run_s": t_here,
            "points_per_s": n / t_here,
            "speedup": 1.0,
            "ms_per_point": 1e3 * work / n,
            "overhead_ms_per_point": 0.0,
        }
    )
    print(f"  in-process: {t_here:.1f} s", flush=True)

    ctx = multiprocessing.get_context("spawn")
    t0 = time.perf_counter()
    with ctx.Pool(2, initializer=_warm, initargs=(spec.text,)) as pool:  # imports and parsing before the clock
        pool.map(_warm_done, range(2))
        startup = time.perf_counter() - t0
        t1 = time.perf_counter()
        halves = pool.map(_half, [(spec.text, 0), (spec.text, 1)])
        t_two = time.perf_counter() - t1
    tables["2 processes"] = pd.concat(halves).sort_values("point").reset_index(drop=True)
    inside = float(tables["2 processes"].wall_time_s.sum())
    rows.append(
        {
            "run": "2 plain processes (control)",
            "processes": 2,
            "batch": "",
            "startup_s": startup,
            "run_s": t_two,
            "points_per_s": n / t_two,
            "speedup": t_here / t_two,
            "ms_per_point": 1e3 * inside / n,
            "overhead_ms_per_point": 1e3 * (2 * t_two - t_here) / n,
        }
    )
    print(f"  2 plain processes: {t_two:.1f} s", flush=True)
    for w in args.workers:
        for b in [None if b == "auto" else int(b) for b in args.batch]:
            t0 = time.perf_counter()
            cluster = local_cluster(w)  # as run_study starts one
            client = Client(cluster)
            client.run(_import_core)  # imports (cvxpy…) belong to the start-up, not to the first points
            startup = time.perf_counter() - t0
            try:
                t1 = time.perf_counter()
                run = run_study(spec, client=client, batch=b)
                t_run = time.perf_counter() - t1
            finally:
                client.close()
                cluster.close()
            name = f"LocalCluster, {w} worker{'s' if w > 1 else ''}"
            tables[f"{name} {b}"] = run.table
            inside = float(run.table.wall_time_s.sum())
            rows.append(
                {
                    "run": name,
                    "processes": w,
                    "batch": "auto" if b is None else b,
                    "startup_s": startup,
                    "run_s": t_run,
                    "points_per_s": n / t_run,
                    "speedup": t_here / t_run,
                    "ms_per_point": 1e3 * inside / n,
                    "overhead_ms_per_point": 1e3 * (t_run * w - t_here) / n,
                }
            )
            print(f"  {name}: start-up {startup:.1f} s, run {t_run:.1f} s", flush=True)

    ref = tables["in-process"].drop(columns=list(TIMING_COLUMNS))
    same = all(t.drop(columns=list(TIMING_COLUMNS)).equals(ref) for t in tables.values())
    statuses = here.table.status.value_counts().to_dict()
    print()
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:,.2f}"))
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")
    print(f"statuses {statuses}; tables identical across runs (timing columns aside): {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
