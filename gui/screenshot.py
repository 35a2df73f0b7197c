"""Take the README's screenshots with the app itself, offscreen.

    python -m gui.screenshot docs/screenshot.png [--project FILE] [--bus 14] [--size 1366x768] [--workspace prices]
                             [--mechanism uniform] [--network lindistflow] [--period 12]
                             [--colour-by dlmp] [--show dlmp,day_prices] [--no-audit] [--panel curves]
                             [--fairness maxmin] [--nash] [--bottom-height 420]

It waits for the market to clear (the runner idle) before taking the picture.
``--show KEYS`` brings those docks to the front of their tab groups;
``--panel KEY`` grabs one dock's panel instead of the whole window;
``--nash`` presses the Nash panel's *Find equilibrium* and waits for it;
``--bottom-height`` gives the bottom docks that many pixels.

The README's two main pictures (a 1366×768 laptop screen)::

    python -m gui.screenshot docs/screenshot.png --bus 14
    python -m gui.screenshot docs/screenshot-dlmp.png --project projects/ieee33-constrained.json \\
        --network lindistflow --period 19 --colour-by voltage --bus 18 --workspace prices
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def wait_for_market(app, window, timeout_s: float) -> bool:
    """Process events until the market runner is idle (the first result shown), or ``timeout_s`` passed."""
    import time

    from PySide6.QtCore import QEventLoop

    deadline = time.monotonic() + timeout_s
    app.processEvents()

    def busy() -> bool:
        return window.runner.is_busy() or not window.panels_settled()

    while busy() and time.monotonic() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.01)
    app.processEvents()
    return not busy()


def wait_for(app, busy, timeout_s: float) -> bool:
    """Process events while ``busy()``, at most ``timeout_s``; whether it stopped being busy."""
    import time

    from PySide6.QtCore import QEventLoop

    deadline = time.monotonic() + timeout_s
    app.processEvents()
    while busy() and time.monotonic() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.01)
    app.processEvents()
    return not busy()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m gui.screenshot", description=__doc__.splitlines()[0])
    ap.add_argument("output", type=Path)
    ap.add_argument("--project", type=Path, default=None, help="project to show (default: the bundled default)")
    ap.add_argument("--bus", default=None, help="select this bus, as a user clicking it")
    ap.add_argument("--size", default="1366x768", help="window size (a laptop's screen by default)")
    workspaces = ("edit", "market", "prices", "fairness", "studies")
    ap.add_argument("--workspace", default=None, choices=workspaces, help="workspace to show")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the market to clear")
    ap.add_argument("--mechanism", default=None, help="clearing mechanism (welfare, uniform, pay_as_bid, vcg, …)")
    ap.add_argument("--network", default=None, help="network model of the welfare clearing (none, lindistflow, ac, dc)")
    ap.add_argument("--period", type=int, default=None, help="period to show (0-based)")
    ap.add_argument("--colour-by", default=None, choices=("host", "dlmp", "voltage"), help="what the bus colours show")
    ap.add_argument("--show", default="", help="comma-separated docks to bring to the front (dlmp, day_prices, …)")
    ap.add_argument("--no-audit", action="store_true", help="switch the mechanism audit off")
    ap.add_argument("--panel", default=None, help="grab only this dock (market, curves, properties, agents, …)")
    ap.add_argument(
        "--fairness", default=None, help="fairness rule of the welfare clearing (efficiency, proportional, maxmin)"
    )
    ap.add_argument("--nash", action="store_true", help="run the Nash search and wait for it")
    ap.add_argument("--bottom-height", type=int, default=None, help="height of the bottom docks, px")
    ap.add_argument("--theme", default=None, choices=("light", "dark"), help="the colour theme")
    ap.add_argument(
        "--study",
        default=None,
        metavar="VIEW",
        choices=("lines", "heat", "histogram"),
        help="run the Studies dock's default study (with --draws N), show it in VIEW and wait for it",
    )
    ap.add_argument("--draws", type=int, default=1, help="Monte Carlo draws per point of --study")
    ap.add_argument("--metric", default=None, help="the metric the Studies dock plots (a study table column)")
    args = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from gui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    import tempfile

    settings = QSettings(str(Path(tempfile.mkdtemp()) / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings)
    if args.project is not None and not window.open_path(args.project, ask=False):
        return 1
    w, h = (int(v) for v in args.size.split("x"))
    window.resize(w, h)
    window.show()
    app.processEvents()
    window.feeder.fit()
    if args.bus is not None:
        window.feeder.buses[args.bus].setSelected(True)
    if args.mechanism is not None:
        window.market_controls.set_mechanism(args.mechanism)
    if args.no_audit:
        window.market_controls.audit.setChecked(False)
    if args.network is not None:
        window.market_controls.set_network(args.network)
    if args.fairness is not None:
        window.market_controls.set_fairness(args.fairness)
    if args.period is not None:
        window.market_controls.period.setValue(args.period)
    if args.colour_by is not None:
        window.feeder.set_colour_mode(args.colour_by)
    if args.theme is not None:
        window.set_theme(args.theme)
    if args.workspace is not None:
        window.show_workspace(args.workspace)
        window.restore_default_layout()  # arranged for this window's size
    for key in filter(None, (k.strip() for k in args.show.split(","))):
        window.docks[key].show()
        window.docks[key].raise_()
    if args.bottom_height is not None:
        from PySide6.QtCore import Qt

        window.resizeDocks([window.docks["prosumers"]], [args.bottom_height], Qt.Orientation.Vertical)
    if not wait_for_market(app, window, args.timeout):
        print(f"the market did not clear within {args.timeout:g} s; the screenshot shows it computing")
    app.processEvents()
    if args.study is not None:
        studies = window.studies
        window.docks["studies"].show()
        window.docks["studies"].raise_()
        if args.draws > 1:
            studies.set_draws(args.draws, demand_std=0.1, pv_std=0.2, bid_std=0.05)
        if not studies.run():
            print("the study cannot run: " + studies.problem_label.text())
            return 1
        if not wait_for(app, studies.is_running, args.timeout):
            print(f"the study did not finish within {args.timeout:g} s")
        studies.view.setCurrentIndex(studies.view.findData(args.study))
        if args.metric is not None:
            studies.metric_combo.setCurrentIndex(studies.metric_combo.findData(args.metric))
        app.processEvents()
    if args.nash:
        window.nash.find()
        if not wait_for(app, window.nash_runner.is_busy, args.timeout):
            print(f"the Nash search did not finish within {args.timeout:g} s")
    app.processEvents()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    if args.panel is not None:
        dock = window.docks[args.panel]
        dock.show()
        dock.raise_()
        app.processEvents()
        ok = dock.widget().grab().save(str(args.output))
    else:
        ok = window.grab().save(str(args.output))
    window.doc.undo_stack.setClean()
    window.close()
    print(f"wrote {args.output}" if ok else f"could not write {args.output}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
