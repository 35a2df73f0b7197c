"""The ``feeder-market`` command: the dashboard, or a headless command.

``feeder-market [FILE]`` opens the dashboard on FILE (default: the bundled
IEEE 33-bus community). ``feeder-market validate|summary|import …`` runs the
headless command line of :mod:`core.cli` without ever importing Qt; ``feeder-market report …``
writes the report (:mod:`gui.report`), drawing its figures offscreen.
"""

from __future__ import annotations

import sys
from pathlib import Path

from core.cli import COMMANDS
from core.cli import main as cli_main


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "report":  # draws its figures with Qt (offscreen): the dashboard's side
        from gui.report import report_command

        return report_command(args[1:])
    if args and (args[0] in COMMANDS or args[0] in ("-h", "--help", "--version")):
        return cli_main(args)
    if len(args) > 1 or (args and args[0].startswith("-")):
        what = f"unknown command {args[0]!r}" if not args[0].startswith("-") else f"unknown option {args[0]!r}"
        sys.stderr.write(
            f"feeder-market: {what}{_close(args[0])}; usage: feeder-market [FILE] | feeder-market COMMAND … "
            "(see feeder-market --help)\n"
        )
        return 2
    if args and not Path(args[0]).exists():
        # a typo of a command (valdiate) or a file that is not there: said at once, not a window that hangs a terminal
        sys.stderr.write(
            f"feeder-market: {args[0]!r} is neither a command nor an existing file{_close(args[0])} "
            "(see feeder-market --help)\n"
        )
        return 2
    return run_gui(Path(args[0]) if args else None)


def _close(word: str) -> str:
    """``; did you mean 'validate'?`` for a word close to a command, else nothing."""
    import difflib

    names = [*COMMANDS, "report"]
    near = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    return f"; did you mean {near[0]!r}?" if near else ""


def _no_display() -> str | None:
    """Why the dashboard cannot open a window here, or None."""
    import os

    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return (
        "feeder-market: no display to open the dashboard on (DISPLAY and WAYLAND_DISPLAY are unset).\n"
        "  On a server, run it on a virtual screen: xvfb-run -a feeder-market\n"
        "  Headless commands work anywhere: feeder-market validate|summary|import … (see --help)\n"
    )


def run_gui(path: Path | None = None) -> int:
    """Open the main window (on ``path`` or the default project) and run the event loop."""
    reason = _no_display()
    if reason:
        sys.stderr.write(reason)
        return 1
    import signal

    from gui.workers.process import CLEARING_PRELOAD, CLEARING_PROCESS, close_prestarted, prestart

    stopped: list[int] = []

    def starting(signum, _frame) -> None:  # Ctrl+C before the window is up: nothing to save; stop at the next step
        stopped.append(signum)  # (raising here could land inside a Qt call, which swallows it)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, starting)
    try:
        # the clearing's process starts first: its imports (the solver stack) overlap the window's
        prestart(CLEARING_PROCESS, CLEARING_PRELOAD)
        from PySide6.QtWidgets import QApplication

        from gui.main_window import MainWindow, app_icon

        if stopped:
            return 0
        QApplication.setOrganizationName("FeederMarket")
        QApplication.setApplicationName("Feeder Market")
        app = QApplication.instance() or QApplication(sys.argv[:1])
        configure_log_file()
        app.setWindowIcon(app_icon())
        window = MainWindow()
        if path is not None:
            window.open_path(path, ask=False)
        if stopped:
            window.stop_on_signal()
            return 0
        window.show()
        window.feeder.fit()
        stop_on_signals(window)
        settle_garbage_collector()
        if stopped:  # between the checks
            window.stop_on_signal()
            return 0
        return app.exec()
    finally:
        close_prestarted()


def stop_on_signals(window) -> None:
    """Ctrl+C (SIGINT) and SIGTERM stop the dashboard cleanly (:meth:`MainWindow.stop_on_signal`). Qt's event loop
    runs in C++, where Python's handlers wait: a timer gives them a turn four times a second."""
    import signal

    from PySide6.QtCore import QTimer

    def handler(signum, _frame) -> None:
        QTimer.singleShot(0, lambda: window.stop_on_signal(signal.Signals(signum).name))

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    tick = QTimer(window)
    tick.timeout.connect(lambda: None)
    tick.start(250)


def configure_log_file() -> Path | None:
    """The dashboard logs to ``feeder-market.log`` in the user's data folder (shown in Help → About)."""
    from PySide6.QtCore import QStandardPaths

    from core import logs

    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return logs.configure(Path(folder) / "feeder-market.log" if folder else None)


def settle_garbage_collector() -> None:
    """Move what start-up created (cvxpy, pandas, pyqtgraph, Qt wrappers: ~180,000 objects) out of the
    collector's reach: a full collection then scans only what came later, instead of freezing the window
    100–200 ms every thousand or so results."""
    import gc

    gc.collect()
    gc.freeze()


if __name__ == "__main__":
    raise SystemExit(main())
