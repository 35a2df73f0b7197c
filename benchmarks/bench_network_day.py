"""A whole day of feeder prices through ``clear()``, after an edit, beside pandapower. Run by hand:

    /work/venv/bin/python benchmarks/bench_network_day.py [--repeats 5] [--skip-big]

One table (issue 13). Rows: the 24-period day of the welfare clearing with a network model —
``lindistflow`` (loss factors iterated from the last solution's) and ``socp`` (the exact branch-flow model)
— on the 33-bus community and the 1,000-bus feeder, timed as the dashboard meets it: the project cleared
once (compiling the problems), then one prosumer's demand edited and ``clear()`` called again (median of
``--repeats`` edits; the diagnostics off: the market only). The reference line is pandapower's AC optimal
power flow (``runopp``) of ONE period of ``case33bw`` with two priced generators, and the agreement of our
exact model's DLMPs with its ``lam_p`` on that case. Targets from the issue beside each row.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from core.market import MarketSettings, clear
from core.scenario import load_project

PROJECTS = Path(__file__).resolve().parent.parent / "projects"
TARGETS = {
    ("ieee33-community", "lindistflow"): "< 60 ms",
    ("ieee33-community", "socp"): "< 250 ms",
    ("synthetic-1000bus", "lindistflow"): "< 3 s",
    ("synthetic-1000bus", "socp"): "< 10 s",
}


def edit(s, k: int):
    i = next(j for j, p in enumerate(s.prosumers) if max(p.demand_kw) > 0)
    p = s.prosumers[i]
    return s.with_prosumer(i, replace(p, demand_kw=tuple(d * (1.0 + 0.01 * (k + 1)) for d in p.demand_kw)))


def day(name: str, network: str, repeats: int) -> tuple[float, float, dict]:
    s = load_project(PROJECTS / f"{name}.json")
    st = MarketSettings(
        network=network,
        period=19,
        audit=False,
        tatonnement=False,
        decentralised_check=False,
        fairness_audit=False,
        compare=False,
        market_power=False,
    )
    t0 = time.perf_counter()
    clear(s, st)
    first = time.perf_counter() - t0
    times, r = [], None
    for k in range(repeats):
        s2 = edit(s, k)
        t0 = time.perf_counter()
        r = clear(s2, st)
        times.append(time.perf_counter() - t0)
    return first, statistics.median(times), r.summary


def pandapower_reference() -> tuple[float, float]:
    """(runopp seconds for one period of case33bw + two generators, max |our DLMP − lam_p| in EUR/MWh)."""
    import sys

    import pandapower as pp

    sys.path.insert(0, str(PROJECTS.parent))  # the repository: the test's case is the reference case
    from tests.core.test_branch_flow import case33_with_generators

    net, s = case33_with_generators()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.runopp(net, delta=1e-10)
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            pp.runopp(net, delta=1e-10)
            times.append(time.perf_counter() - t0)
    r = clear(
        s,
        MarketSettings(
            network="socp",
            audit=False,
            tatonnement=False,
            decentralised_check=False,
            fairness_audit=False,
            compare=False,
            market_power=False,
        ),
    )
    b = r.buses.set_index("bus")
    ours = np.array([b.loc[str(k), "dlmp_per_kwh"] for k in range(len(net.bus))]) * 1000.0
    return statistics.median(times), float(np.max(np.abs(ours - net.res_bus.lam_p.to_numpy())))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--skip-big", action="store_true", help="leave out the 1,000-bus feeder")
    args = ap.parse_args(argv)
    opf, gap = pandapower_reference()
    print(
        f"pandapower runopp, ONE period of case33bw + 2 generators: {opf * 1e3:,.0f} ms; "
        f"our exact DLMPs vs its lam_p: max {gap:.4f} EUR/MWh"
    )
    print(f"{'project':<20} {'model':<12} {'first':>9} {'after an edit':>14} {'target':>9}  model says")
    names = ["ieee33-community"] + ([] if args.skip_big else ["synthetic-1000bus"])
    for name in names:
        for network in ("lindistflow", "socp"):
            first, median, summary = day(name, network, args.repeats if name.startswith("ieee") else 2)
            print(
                f"{name:<20} {network:<12} {first * 1e3:>7,.0f}ms {median * 1e3:>12,.0f}ms "
                f"{TARGETS[(name, network)]:>9}  {summary.get('network_model', '')}"
            )


if __name__ == "__main__":
    main()
