"""Take the README's screenshots with the app itself, offscreen.

    python -m gui.screenshot docs/screenshot.png [--project FILE] [--bus 14] [--size 1400x880]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m gui.screenshot", description=__doc__.splitlines()[0])
    ap.add_argument("output", type=Path)
    ap.add_argument("--project", type=Path, default=None, help="project to show (default: the bundled default)")
    ap.add_argument("--bus", default=None, help="select this bus, as a user clicking it")
    ap.add_argument("--size", default="1400x880")
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
    app.processEvents()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    ok = window.grab().save(str(args.output))
    window.doc.undo_stack.setClean()
    window.close()
    print(f"wrote {args.output}" if ok else f"could not write {args.output}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
