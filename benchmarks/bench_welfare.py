"""Welfare clearing time: first solve (compile + solve) and re-solve after one edit (Parameters only).

    python benchmarks/bench_welfare.py [--repeat 5]

Prints a table. Targets (issue 3): re-solve of the 33-bus 24-period day under 50 ms.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.scenario import load_project  # noqa: E402
from core.welfare import WelfareProblem  # noqa: E402


def edited(s, k: int):
    """The scenario with one prosumer's demand scaled (a typical edit: same structure)."""
    i = next(j for j, p in enumerate(s.prosumers) if max(p.demand_kw) > 0)
    p = s.prosumers[i]
    return s.with_prosumer(i, replace(p, demand_kw=tuple(d * (1.0 + 0.01 * (k + 1)) for d in p.demand_kw)))


def bench(name: str, path: Path, repeat: int) -> dict:
    s = load_project(path)
    t0 = time.perf_counter()
    wp = WelfareProblem(s)
    t_build = time.perf_counter() - t0
    t1 = time.perf_counter()
    first = wp.solve()
    t_first = time.perf_counter() - t1
    resolves = []
    for k in range(repeat):
        s2 = edited(s, k)
        t2 = time.perf_counter()
        wp.update(s2)
        sol = wp.solve()
        resolves.append(time.perf_counter() - t2)
    return {
        "case": name,
        "prosumers": len(s.prosumers),
        "periods": s.periods,
        "variables": sum(v.size for v in wp.problem.variables()),
        "build_ms": 1e3 * t_build,
        "first_solve_ms": 1e3 * t_first,
        "resolve_ms_best": 1e3 * min(resolves),
        "resolve_ms_median": 1e3 * sorted(resolves)[len(resolves) // 2],
        "welfare": first.welfare,
        "welfare_after_edit": sol.welfare,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rows = [
        bench("IEEE 33-bus day", ROOT / "projects" / "ieee33-community.json", args.repeat),
        bench("1,000-bus feeder day", ROOT / "projects" / "synthetic-1000bus.json", max(2, args.repeat // 2)),
    ]
    cols = list(rows[0])
    print(" | ".join(f"{c:>18}" for c in cols))
    for r in rows:
        print(" | ".join(f"{r[c]:>18,.1f}" if isinstance(r[c], float) else f"{r[c]:>18}" for c in cols))


if __name__ == "__main__":
    main()
