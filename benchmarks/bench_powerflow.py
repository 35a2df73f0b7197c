"""Power flow time: our radial AC sweep, LinDistFlow and DC against pandapower's Newton–Raphson (runpp).

    python benchmarks/bench_powerflow.py [--repeat 20]

Prints a table. Targets (issue 13): our AC, cold, at least 30× faster than
``pandapower.runpp`` with every bus voltage within 1e-6 p.u. of it, with
transformers too. Cases: pandapower's case33bw and CIGRE MV (two 110/20 kV
transformers, cable charging, three tie lines hanging from open switches),
both imported with ``import_pandapower`` and compared with the original net;
the bundled 1,000-bus feeder at its evening peak (period 19), turned into a
pandapower net by ``export_pandapower``; and the same feeder with
transformers (every tenth branch a transformer off its nominal tap, with a
magnetising branch and, every other one, a 150° shift; every other branch a
cable with charging), exported the same way.

``ours_AC_cold`` is what a fresh power flow costs: ``radial(scenario)`` (the
network arrays) and :func:`ac_power_flow` with its triangular factorisation,
the analogue of the conversion that ``runpp`` does on every call;
``cold_speed-up`` is pandapower's time over it. ``ours_AC`` times
:func:`ac_power_flow` on a prepared :class:`Radial` (what a dashboard that
re-solves after an edit pays). Times are the best run, in ms, of at least
``--repeat`` runs and as many as fit in 1.5 s (the garbage collector off
while timing, as ``timeit`` does); pandapower runs without numba
(``numba=False``; it is not installed here).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import warnings
from dataclasses import replace
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
from core.scenario.model import Transformer  # noqa: E402


def best_ms(fn, repeat: int, budget_s: float = 1.5) -> float:
    """The best run in ms: at least ``repeat`` runs, and more until ``budget_s`` seconds are spent (as
    ``timeit``'s autorange gives a quick function more runs than a slow one), with the garbage collector
    off while timing, as ``timeit`` does."""
    times = []
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        while len(times) < repeat or time.perf_counter() - start < budget_s:
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    finally:
        gc.enable()
    return 1e3 * min(times)


def bench(name: str, s, t: int, ppn, pp_index: dict[str, int], repeat: int) -> dict:
    net = radial(s)
    p, q = bus_injections_kw(s, t, net)
    res = ac_power_flow(net, p, q)  # also builds the cached factorisation

    def cold():
        powerflow._SWEEPS.clear()
        ac_power_flow(radial(s), p, q)

    t_pp = best_ms(lambda: pp.runpp(ppn, numba=False), repeat)
    pp.runpp(ppn, numba=False, tolerance_mva=1e-10)
    rows = [pp_index[b] for b in net.bus_ids]
    vm = ppn.res_bus.vm_pu.loc[rows].to_numpy()
    va = ppn.res_bus.va_degree.loc[rows].to_numpy()
    pp_loss_mw = sum(
        float(ppn[f"res_{e}"][c].sum())
        for e, c in (("line", "pl_mw"), ("trafo", "pl_mw"), ("shunt", "p_mw"))
        if len(ppn[e])
    )
    t_ac = best_ms(lambda: ac_power_flow(net, p, q), repeat)
    t_cold = best_ms(cold, repeat)
    return {
        "case": name,
        "buses": net.n,
        "trafos": sum(ln.transformer is not None for ln in s.feeder.lines),
        "pandapower_ms": t_pp,
        "ours_AC_cold_ms": t_cold,
        "cold_speed-up": t_pp / t_cold,
        "ours_AC_ms": t_ac,
        "speed-up": t_pp / t_ac,
        "iterations": res.iterations,
        "max_dV_pu": float(np.max(np.abs(res.v_pu - vm))),
        "max_dtheta_deg": float(np.max(np.abs(res.angle_deg - va))),
        "dloss_kw": abs(res.total_loss_kw - 1e3 * pp_loss_mw),
        "LinDistFlow_ms": best_ms(lambda: lindistflow(net, p, q), repeat),
        "DC_ms": best_ms(lambda: dc_power_flow(net, p), repeat),
        "MLF_ms": best_ms(lambda: marginal_loss_factors(net, p, q, solution=res), repeat),
    }


def with_transformers(s):
    """The feeder with every tenth branch a transformer (taps ±1.25 %, magnetising branch of a 630 kVA 11 kV unit,
    every other one shifted 150°) and every other branch a cable with 80 µS of charging."""
    lines = []
    for k, ln in enumerate(s.feeder.lines):
        if k % 10 == 5:
            tap = 1.0 + 0.0125 * (1 if k % 20 == 5 else -1)
            ln = replace(
                ln,
                transformer=Transformer(
                    tap_ratio=tap, shift_deg=150.0 if k % 40 == 5 else 0.0, g_mag_us=9.9, b_mag_us=-12.1
                ),
            )
        elif k % 2:
            ln = replace(ln, b_shunt_us=80.0)
        lines.append(ln)
    return replace(s, name=s.name + " with transformers", feeder=replace(s.feeder, lines=tuple(lines)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()

    s33, _ = import_pandapower("case33bw")
    p33 = pn.case33bw()
    rows = [bench("case33bw", s33, 0, p33, {str(i): i for i in p33.bus.index}, args.repeat)]
    cigre = pn.create_cigre_network_mv(with_der=False)
    s_cigre, _ = import_pandapower(cigre)
    rows.append(bench("CIGRE MV", s_cigre, 0, cigre, {str(i): i for i in cigre.bus.index}, args.repeat))
    s1k = load_project(ROOT / "projects" / "synthetic-1000bus.json")
    p1k, idx1k = export_pandapower(s1k, 19)
    rows.append(bench("1,000-bus, period 19", s1k, 19, p1k, idx1k, args.repeat))
    s1t = with_transformers(s1k)
    p1t, idx1t = export_pandapower(s1t, 19)
    rows.append(bench("1,000-bus with transformers, period 19", s1t, 19, p1t, idx1t, args.repeat))

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
