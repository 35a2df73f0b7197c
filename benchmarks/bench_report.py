"""Report time: how long the report of a project takes to write, HTML and PDF, with its figures drawn offscreen.

Run by hand::

    python benchmarks/bench_report.py [--projects ieee33-community synthetic-1000bus] [--network lindistflow]

For each project the market is cleared once (as ``feeder-market report`` does: the welfare clearing with the
mechanisms compared, the market power and, on small markets, the fairness rules), then the report is written as
HTML and as PDF. The table gives the clearing's seconds apart from the report's (figures, layout, writing), the
file size and the PDF's pages. Target (the issue): the 1,000-bus report written in under 10 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--projects", nargs="+", default=["ieee33-community", "synthetic-1000bus"])
    ap.add_argument("--network", default="none")
    args = ap.parse_args()
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])  # noqa: F841 - fonts and painting

    from core.market import MarketSettings, clear
    from core.scenario.io import load_project
    from core.scenario.summary import start_period
    from gui.report import write_report

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.projects:
            s = load_project(ROOT / "projects" / f"{name}.json")
            period = start_period(s, args.network != "none")[0]
            t0 = time.perf_counter()
            r = clear(s, MarketSettings(network=args.network, period=period, tatonnement=False))
            cleared = time.perf_counter() - t0
            for kind in ("html", "pdf"):
                path, seconds = write_report(Path(tmp) / f"{name}.{kind}", s, r)
                pages = "–"
                if kind == "pdf":
                    try:
                        import pypdf

                        pages = str(len(pypdf.PdfReader(str(path)).pages))
                    except ImportError:
                        pass
                rows.append((name, len(s.feeder.buses), kind, cleared, seconds, path.stat().st_size / 1e3, pages))
    print(f"\nreport time (network model: {args.network}); the clearing is the same for both formats")
    head = (
        f"{'project':<20}{'buses':>6}  {'format':<7}{'clearing s':>11}{'report s':>10}{'total s':>9}{'kB':>8}"
        f"{'pages':>7}"
    )
    print(head)
    print("-" * len(head))
    for name, buses, kind, cleared, seconds, kb, pages in rows:
        print(
            f"{name:<20}{buses:>6}  {kind:<7}{cleared:>11.2f}{seconds:>10.2f}{cleared + seconds:>9.2f}{kb:>8.0f}"
            f"{pages:>7}"
        )


if __name__ == "__main__":
    main()
