"""The Studies panel while a study runs: throughput and the longest GUI-thread stall. By hand::

    /work/venv/bin/python benchmarks/bench_studies_panel.py [--repeats 3]

The panel (1100 × 700, offscreen) studies the default project
(``projects/ieee33-community.json``) as a user finds it: mechanism {welfare,
uniform, vcg} × PV penetration 0.1 … 0.8 (8 values) at period 18 — 24 points —
and the same with 4 Monte Carlo draws (demand σ 0.1, PV σ 0.2) — 96 points —
run "in this computer" (the panel's default: no Dask). Each study runs once
with the Plot tab (lines view) in front and once with the Table tab in front.

Measured per run, from ``run()`` until the panel has handled the end of the
study (and 200 ms more, to catch the work that follows it):

* **points/s** — the study's points over that time;
* **stall** — the longest gap between two ticks of a 5 ms ``QTimer`` on the GUI
  thread (as in ``bench_gui_latency.py``): the longest the window was frozen;
* **full GC** — the longest of Python's full (generation 2) garbage
  collections in the GUI process during the row's runs, and **stall w/o GC**,
  the longest gap with those collections taken out. A full collection walks
  every object of the process (~180,000 once cvxpy, pandas and pyqtgraph are
  imported: ~100 ms on the reference machine) whatever the panel does; it comes
  every few hundred points.

A first run (not in the table) warms up what every run reuses (the solver's
compiled problems; with a worker process, the process itself): its time is
printed apart, as the "cold" run a user gets on the first Run. Target: every
stall under 50 ms.

``--views heat histogram`` adds rows with those views of the Plot tab in front;
``--gc-freeze`` calls ``gc.freeze()`` once the panel is built (what an
application can do after its start-up imports: the collections then skip
every object that existed then).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "offscreen"

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROBE_MS = 5
TIMEOUT_S = 600.0
TARGET_MS = 50.0
AXES = {"mechanism": ["welfare", "uniform", "vcg"], "pv_penetration": (0.1, 0.8, 8), "period": (18, 18, 1)}
STUDIES = (("24 points", 1, 0.0, 0.0), ("96 points (4 draws)", 4, 0.1, 0.2))  # name, draws, demand σ, PV σ


def main() -> None:
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from core.scenario.io import load_project
    from gui.studies import StudiesPanel

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="runs per row: the median points/s, the longest stall")
    ap.add_argument(
        "--views", nargs="*", default=[], choices=["heat", "histogram"], help="also these views of the Plot tab"
    )
    ap.add_argument("--gc-freeze", action="store_true", help="gc.freeze() once the panel is built")
    args = ap.parse_args()

    app = QApplication.instance() or QApplication(sys.argv)

    class Probe:
        """A 5 ms timer on the GUI thread; the longest gap between two ticks since :meth:`reset`, and the longest
        with the full garbage collections in it taken out (and the longest such collection)."""

        def __init__(self) -> None:
            self.timer = QTimer()
            self.timer.setTimerType(Qt.TimerType.PreciseTimer)
            self.timer.setInterval(PROBE_MS)
            self.timer.timeout.connect(self._tick)
            self.gc_start = 0.0
            gc.callbacks.append(self._gc)
            self.reset()

        def reset(self) -> None:
            self.last = time.perf_counter()
            self.longest = self.longest_without_gc = self.longest_gc = self.gc_in_gap = 0.0

        def _gc(self, phase: str, info: dict) -> None:
            if info["generation"] != 2:
                return
            if phase == "start":
                self.gc_start = time.perf_counter()
            else:
                spent = time.perf_counter() - self.gc_start
                self.gc_in_gap += spent
                self.longest_gc = max(self.longest_gc, spent)

        def _tick(self) -> None:
            now = time.perf_counter()
            self.longest = max(self.longest, now - self.last)
            self.longest_without_gc = max(self.longest_without_gc, now - self.last - self.gc_in_gap)
            self.gc_in_gap = 0.0
            self.last = now

    def spin(done, timeout_s: float = TIMEOUT_S) -> None:
        """Run the event loop until ``done()`` (checked every millisecond)."""
        loop = QEventLoop()
        end = time.perf_counter() + timeout_s
        poll = QTimer()
        poll.setInterval(1)
        poll.timeout.connect(lambda: (done() or time.perf_counter() > end) and loop.quit())
        poll.start()
        loop.exec()
        poll.stop()
        if not done():
            raise TimeoutError("the study did not finish in time")

    path = ROOT / "projects" / "ieee33-community.json"
    panel = StudiesPanel()
    panel.set_scenario(load_project(path), path)
    panel.resize(1100, 700)
    panel.show()
    spin(lambda: True)
    if args.gc_freeze:
        gc.collect()
        gc.freeze()
    probe = Probe()
    probe.timer.start()

    def run_once(n_points: int) -> tuple[float, float, float, float]:
        spec = panel.validate_now()
        assert spec is not None and len(spec.points) == n_points, panel.form_error
        settle = time.perf_counter() + 0.2
        spin(lambda: time.perf_counter() > settle)
        probe.reset()
        t0 = time.perf_counter()
        assert panel.run(), "the panel refused to run"
        spin(lambda: not panel.is_running())
        seconds = time.perf_counter() - t0
        after = time.perf_counter() + 0.2
        spin(lambda: time.perf_counter() > after)
        assert len(panel.table) == n_points and (panel.table.status == "ok").all(), panel.state.text()
        return n_points / seconds, probe.longest * 1000.0, probe.longest_without_gc * 1000.0, probe.longest_gc * 1000.0

    panel.set_axes(AXES)
    panel.set_draws(1)
    panel.view.setCurrentIndex(panel.view.findData("lines"))
    panel.tabs.setCurrentIndex(0)
    t0 = time.perf_counter()
    cold_rate, cold_stall, cold_no_gc, _cold_gc = run_once(24)
    print(
        f"first (cold) run, 24 points: {time.perf_counter() - t0:.2f} s ({cold_rate:.1f} points/s), "
        f"longest stall {cold_stall:.0f} ms ({cold_no_gc:.0f} ms without full GCs)",
        flush=True,
    )

    shown = [("Plot (lines)", 0, "lines"), ("Table", 1, "lines")]
    shown += [(f"Plot ({view})", 0, view) for view in args.views]
    rows = []
    for name, draws, demand_std, pv_std in STUDIES:
        panel.set_axes(AXES)
        panel.set_draws(draws, demand_std=demand_std, pv_std=pv_std)
        n_points = 24 * draws
        for tab, index, view in shown:
            panel.view.setCurrentIndex(panel.view.findData(view))
            panel.tabs.setCurrentIndex(index)
            runs = [run_once(n_points) for _ in range(args.repeats)]
            rate = statistics.median(r[0] for r in runs)
            stalls = [r[1] for r in runs]
            rows.append(
                (
                    name,
                    tab,
                    rate,
                    max(stalls),
                    statistics.median(stalls),
                    max(r[2] for r in runs),
                    max(r[3] for r in runs),
                )
            )
            print(
                f"  {name}, {tab}: {rate:.1f} points/s, stalls {[round(s) for s in stalls]} ms "
                f"(without full GCs {[round(r[2]) for r in runs]} ms)",
                flush=True,
            )
    probe.timer.stop()
    panel.shutdown()
    panel.close()
    app.processEvents()

    print()
    print(
        f"Studies panel, ieee33-community, in this computer{' (gc.freeze())' if args.gc_freeze else ''}; median "
        f"points/s and longest GUI-thread stall ({PROBE_MS} ms probe) over {args.repeats} runs"
    )
    head = (
        f"{'study':<22}{'tab in front':<19}{'points/s':>9}{'stall ms':>10}{'median':>8}{'full GC ms':>12}"
        f"{'stall w/o GC':>14}  target < {TARGET_MS:.0f} ms"
    )
    print(head)
    print("-" * len(head))
    for name, tab, rate, stall, median, no_gc, full_gc in rows:
        gc_text = f"{full_gc:.0f}" if full_gc else "–"
        print(
            f"{name:<22}{tab:<19}{rate:>9.1f}{stall:>10.0f}{median:>8.0f}{gc_text:>12}{no_gc:>14.0f}  "
            f"{'met' if stall < TARGET_MS else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
