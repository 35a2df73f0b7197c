"""Power flow time: our radial AC sweep, LinDistFlow and DC against pandapower's Newton–Raphson (runpp).

    python benchmarks/bench_powerflow.py [--repeat 20]

Prints a table. Target: our AC at least 10× faster than ``pandapower.runpp``
with every bus voltage within 1e-6 p.u. of it. Cases: pandapower's case33bw
(imported with ``import_pandapower``) and the bundled 1,000-bus feeder at its
evening peak (period 19), turned into a pandapower net (buses, lines with
R, X in ohm over 1 km, loads).

``ours_AC`` times :func:`ac_power_flow` on a prepared :class:`Radial` (what a
dashboard that re-solves after an edit pays); ``ours_AC_cold`` adds
``radial(scenario)`` and the path matrix, the analogue of the conversion that
``runpp`` does on every call. Times are the best of ``--repeat`` runs, in ms;
pandapower runs without numba (``numba=False``; it is not installed here).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

warnings.filterwarnings("ignore")

import pandapower as pp  # noqa: E402
import pandapower.networks as pn  # noqa: E402

from core.network import powerflow  # noqa: E402
from core.network.powerflow import ac_power_flow, dc_power_flow, lindistflow, marginal_loss_factors  # noqa: E402
from core.network.topology import bus_injections_kw, radial  # noqa: E402
from core.scenario import load_project  # noqa: E402
from core.scenario.importers import export_pandapower, import_pandapower  # noqa: E402


def best_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times)


def bench(name: str, s, t: int, ppn, pp_index: dict[str, int], repeat: int) -> dict:
    net = radial(s)
    p, q = bus_injections_kw(s, t, net)
    res = ac_power_flow(net, p, q)  # also builds the cached path matrix

    def cold():
        powerflow._SWEEPS.clear()
        ac_power_flow(radial(s), p, q)

    t_pp = best_ms(lambda: pp.runpp(ppn, numba=False), repeat)
    pp.runpp(ppn, numba=False)
    rows = [pp_index[b] for b in net.bus_ids]
    vm = ppn.res_bus.vm_pu.loc[rows].to_numpy()
    va = ppn.res_bus.va_degree.loc[rows].to_numpy()
    t_ac = best_ms(lambda: ac_power_flow(net, p, q), repeat)
    return {
        "case": name,
        "buses": net.n,
        "pandapower_ms": t_pp,
        "ours_AC_ms": t_ac,
        "ours_AC_cold_ms": best_ms(cold, repeat),
        "speed-up": t_pp / t_ac,
        "iterations": res.iterations,
        "max_dV_pu": float(np.max(np.abs(res.v_pu - vm))),
        "max_dtheta_deg": float(np.max(np.abs(res.angle_deg - va))),
        "dloss_kw": abs(res.total_loss_kw - 1e3 * ppn.res_line.pl_mw.sum()),
        "LinDistFlow_ms": best_ms(lambda: lindistflow(net, p, q), repeat),
        "DC_ms": best_ms(lambda: dc_power_flow(net, p), repeat),
        "MLF_ms": best_ms(lambda: marginal_loss_factors(net, p, q, solution=res), repeat),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()

    s33, _ = import_pandapower("case33bw")
    p33 = pn.case33bw()
    rows = [bench("case33bw", s33, 0, p33, {str(i): i for i in p33.bus.index}, args.repeat)]
    s1k = load_project(ROOT / "projects" / "synthetic-1000bus.json")
    p1k, idx1k = export_pandapower(s1k, 19)
    rows.append(bench("1,000-bus, period 19", s1k, 19, p1k, idx1k, max(3, args.repeat // 2)))

    cols = list(rows[0])
    width = {c: max(len(c), 9) for c in cols}
    width["case"] = max(len(r["case"]) for r in rows)
    print(" | ".join(f"{c:>{width[c]}}" for c in cols))
    for r in rows:
        cells = []
        for c in cols:
            v = r[c]
            if c in ("max_dV_pu", "max_dtheta_deg", "dloss_kw"):
                cells.append(f"{v:>{width[c]}.1e}")
            elif isinstance(v, float):
                cells.append(f"{v:>{width[c]},.2f}")
            else:
                cells.append(f"{v:>{width[c]}}")
        print(" | ".join(cells))


if __name__ == "__main__":
    main()
