"""Network-constrained clearing (LinDistFlow + loss factors, DLMPs): first solve and re-solve after one edit.

    python benchmarks/bench_network.py

Prints a table. Targets (issue 4): the 33-bus single-period DLMP re-solve under 100 ms; the 1,000-bus
single-period network clearing under 2 s first solve. The problem is rebuilt at every solve (cvxpy
compiles it from the current numbers), so "first" and "re-solve" differ only by caches.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.pricing import clear_network  # noqa: E402
from core.scenario import load_project  # noqa: E402


def edited(s):
    i = next(j for j, p in enumerate(s.prosumers) if max(p.demand_kw) > 0)
    p = s.prosumers[i]
    return s.with_prosumer(i, replace(p, demand_kw=tuple(d * 1.02 for d in p.demand_kw)))


def run(name, path, periods, repeat=3):
    s = load_project(path)
    t0 = time.perf_counter()
    sol = clear_network(s, periods)
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeat):
        s2 = edited(s)
        t1 = time.perf_counter()
        sol2 = clear_network(s2, periods)
        times.append(time.perf_counter() - t1)
    return {
        "case": name,
        "buses": sol.net.n,
        "periods": len(sol.periods),
        "first_s": first,
        "resolve_s_best": min(times),
        "loss_factor_iterations": sol2.iterations,
        "max_decomposition_error": sol2.decomposition_error,
    }


def main() -> None:
    rows = [
        run("33-bus, period 19", ROOT / "projects" / "ieee33-constrained.json", (19,)),
        run("33-bus, whole day", ROOT / "projects" / "ieee33-constrained.json", None, repeat=2),
        run("1,000-bus, period 19", ROOT / "projects" / "synthetic-1000bus.json", (19,), repeat=2),
    ]
    cols = list(rows[0])
    print(" | ".join(f"{c:>24}" for c in cols))
    for r in rows:
        print(" | ".join(f"{r[c]:>24.4g}" if isinstance(r[c], float) else f"{r[c]:>24}" for c in cols))


if __name__ == "__main__":
    main()
