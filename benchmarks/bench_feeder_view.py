"""The feeder view on the GUI thread: building, editing, recolouring and painting, on 33 and 1,000 buses.

Run by hand::

    python benchmarks/bench_feeder_view.py [--repeats 5] [--projects ieee33-community synthetic-1000bus]
                                           [--before /tmp/feeder_view_orig.py] [--grab /tmp]

Each project is loaded with ``core.scenario.io.load_project`` and cleared once
with LinDistFlow at period 18 (``audit`` and the price iteration off; about
25 s on 1,000 buses). A ``FeederView`` of 1200×800 is shown offscreen and
timed, median of ``repeats``:

* **(a) build**: ``set_scenario`` on a fresh view (the scene is built);
* **(b) edit**: ``set_scenario`` again after one prosumer's demand changed
  (``dataclasses.replace``; the topology and the layout are the same);
* **(f) add a bus**: ``set_scenario`` after a bus was added below another
  (``core.scenario.edit.adding_bus``: the topology and the layout change);
* **(c) result**: ``set_result(result, 18)`` with a new result object (a copy
  of the cleared one), colouring by what the buses host and, in (c'), by DLMP;
* **(d) period**: ``set_period`` to another period of the same result (18 ↔ 19),
  by what the buses host and, in (d'), by DLMP;
* **(e) repaint**: one full repaint of the viewport (``viewport().repaint()``),
  with the result shown and a bus selected.

``--before PATH`` also times another copy of ``gui/feeder_view.py`` (say, the
file before a change, copied aside) in the same process, on the same results,
and prints both. ``--grab DIR`` saves what each one draws as
``DIR/feeder_<before|after>_<scene>.png``: the constrained IEEE 33-bus project
at 19:00 with bus 18 selected (and, in ``…-alert``, bus 17's voltage pushed
below its limit so it wears the red ring; in ``…-line``, 13:00 with the
congested line L22 selected), and the 1,000-bus feeder.

Target (the issue): no GUI-thread stall over 50 ms on 1,000 buses, i.e. every
one of (b)–(e) under 50 ms.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "offscreen"

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import QApplication  # noqa: E402

from core.market import MarketSettings, clear  # noqa: E402
from core.scenario.edit import adding_bus  # noqa: E402
from core.scenario.io import load_project  # noqa: E402

SIZE = (1200, 800)
TARGET_MS = 50.0
ROWS = (
    ("a", "set_scenario, first (build)"),
    ("b", "set_scenario after a demand edit"),
    ("f", "set_scenario after adding a bus"),
    ("c", "set_result (host colours)"),
    ("c'", "set_result (DLMP colours)"),
    ("d", "set_period (host colours)"),
    ("d'", "set_period (DLMP colours)"),
    ("e", "full repaint"),
)


def load_module(label: str, path: Path):
    spec = importlib.util.spec_from_file_location(f"feeder_view_{label}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def edited(s, i: int):
    """``s`` with one prosumer's demand scaled (a different factor for each ``i``)."""
    j = next(k for k, p in enumerate(s.prosumers) if max(p.demand_kw) > 0)
    p = s.prosumers[j]
    return s.with_prosumer(j, dataclasses.replace(p, demand_kw=tuple(d * (1.0 + 0.01 * (i + 1)) for d in p.demand_kw)))


def cleared(s, period: int):
    t0 = time.perf_counter()
    r = clear(s, MarketSettings(network="lindistflow", period=period, audit=False, tatonnement=False))
    print(f"  cleared {s.name!r} at period {period} in {time.perf_counter() - t0:.1f} s", flush=True)
    return r


def new_view(app, module):
    view = module.FeederView()
    view.resize(*SIZE)
    view.show()
    app.processEvents()
    return view


def ms(f) -> float:
    t0 = time.perf_counter()
    f()
    return (time.perf_counter() - t0) * 1000.0


def bench(app, module, s, result, repeats: int) -> dict[str, float]:
    out: dict[str, list[float]] = {k: [] for k, _ in ROWS}
    views = []
    for _ in range(repeats):  # (a) on fresh views
        view = new_view(app, module)
        out["a"].append(ms(lambda v=view: v.set_scenario(s)))
        app.processEvents()
        views.append(view)
    view = views.pop()
    for v in views:
        v.close()
        v.deleteLater()
    app.processEvents()
    for i in range(repeats):  # (b)
        s2 = edited(s, i)
        out["b"].append(ms(lambda s2=s2: view.set_scenario(s2)))
        app.processEvents()
    for i in range(repeats):  # (f): alternately one bus more and back
        s2 = adding_bus(s, s.feeder.buses[len(s.feeder.buses) // 2].id)[0] if i % 2 == 0 else s
        out["f"].append(ms(lambda s2=s2: view.set_scenario(s2)))
        app.processEvents()
    view.set_scenario(s)
    for mode, c, d in (("host", "c", "d"), ("dlmp", "c'", "d'")):
        view.set_colour_mode(mode)
        for i in range(repeats):  # (c): a new result object each time
            r = result if i % 2 else dataclasses.replace(result)
            out[c].append(ms(lambda r=r: view.set_result(r, 18)))
            app.processEvents()
        for i in range(repeats):  # (d)
            p = 19 if i % 2 == 0 else 18
            out[d].append(ms(lambda p=p: view.set_period(p)))
            app.processEvents()
    view.set_colour_mode("host")
    view.set_period(18)
    view.select_bus(next(iter(view.buses)))
    app.processEvents()
    view.viewport().repaint()
    for _ in range(repeats):  # (e)
        out["e"].append(ms(lambda: view.viewport().repaint()))
    view.close()
    view.deleteLater()
    app.processEvents()
    return {k: statistics.median(v) for k, v in out.items()}


def grab(app, module, label: str, directory: Path, constrained, r19, r13, big, big_result) -> list[Path]:
    saved = []

    def save(view, scene: str) -> None:
        app.processEvents()
        path = directory / f"feeder_{label}_{scene}.png"
        view.grab().save(str(path))
        saved.append(path)

    view = new_view(app, module)
    view.set_scenario(constrained)
    view.set_result(r19, 19)
    view.select_bus("18")
    save(view, "ieee33-constrained")
    buses = r19.buses.copy()
    buses.loc[(buses.bus == "17") & (buses.period == 19), "v_pu"] = 0.90
    view.set_result(dataclasses.replace(r19, buses=buses), 19)
    save(view, "ieee33-constrained-alert")
    view.set_colour_mode("voltage")
    save(view, "ieee33-constrained-alert-voltage")
    view.set_colour_mode("host")
    view.set_result(r13, 13)
    view.select_bus(None)
    view.lines["L22"].setSelected(True)
    save(view, "ieee33-constrained-line")
    view.close()
    if big is not None:
        view = new_view(app, module)
        view.set_scenario(big)
        view.set_result(big_result, 18)
        view.select_bus(sorted(view.buses)[len(view.buses) // 3])
        save(view, "synthetic-1000bus")
        view.set_colour_mode("dlmp")
        save(view, "synthetic-1000bus-dlmp")
        view.close()
    return saved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--projects", nargs="+", default=["ieee33-community", "synthetic-1000bus"])
    ap.add_argument("--before", type=Path, help="another copy of gui/feeder_view.py to time beside this one")
    ap.add_argument("--grab", type=Path, help="save what each one draws as PNGs in this folder")
    args = ap.parse_args()

    app = QApplication.instance() or QApplication(sys.argv)
    modules = []
    if args.before is not None:
        modules.append(("before", load_module("before", args.before)))
    modules.append(("after", load_module("after", ROOT / "gui" / "feeder_view.py")))

    results = {}
    scenarios = {}
    for name in args.projects:
        s = load_project(ROOT / "projects" / f"{name}.json")
        scenarios[name] = s
        results[name] = cleared(s, 18)
    table = {}
    for name in args.projects:
        for label, module in modules:
            table[(name, label)] = bench(app, module, scenarios[name], results[name], args.repeats)
            print(f"  timed {name} ({label})", flush=True)

    print()
    print(f"FeederView {SIZE[0]}×{SIZE[1]} offscreen, ms, median of {args.repeats}")
    labels = [label for label, _ in modules]
    for name in args.projects:
        s = scenarios[name]
        print(f"\n{name}: {len(s.feeder.buses)} buses, {len(s.feeder.lines)} lines, {len(s.prosumers)} prosumers")
        head = f"  {'':<4}{'':<36}" + "".join(f"{label:>10}" for label in labels)
        print(head + ("   target" if name == "synthetic-1000bus" else ""))
        for key, what in ROWS:
            cells = "".join(f"{table[(name, label)][key]:>10.1f}" for label in labels)
            verdict = ""
            if name == "synthetic-1000bus" and key != "a":
                verdict = f"   < {TARGET_MS:.0f}: {'met' if table[(name, labels[-1])][key] < TARGET_MS else 'MISSED'}"
            print(f"  {key:<4}{what:<36}{cells}{verdict}")

    if args.grab is not None:
        constrained = load_project(ROOT / "projects" / "ieee33-constrained.json")
        r19, r13 = cleared(constrained, 19), cleared(constrained, 13)
        big = scenarios.get("synthetic-1000bus")
        for label, module in modules:
            for path in grab(
                app, module, label, args.grab, constrained, r19, r13, big, results.get("synthetic-1000bus")
            ):
                print(f"  saved {path}")


if __name__ == "__main__":
    main()
