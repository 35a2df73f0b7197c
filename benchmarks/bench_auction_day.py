"""The sequential auction day against the old per-period clearing. Run by hand:

    /work/venv/bin/python benchmarks/bench_auction_day.py [--repeats 7] [--mechanisms uniform,vcg]

For each bundled project (33 and 1,000 buses) and mechanism, one table row:

* **sequential day** (:func:`core.auction_day.clear_day`, what ``clear()`` runs now): the 24 periods in time
  order, each period's bids from the state the earlier ones left, every prosumer settled with the grid, the
  state carried on. Timed warm (the storages' value functions and the forecast are computed once per
  scenario and reused after an edit of another prosumer); the cold first day is shown too.
* **independent periods** (the clearing before issue 12, rebuilt from today's pieces): every period's bids
  from the *initial* state, no settlement, no state — the impossible day (a 200 kWh battery selling
  2,280 kWh), timed for reference.

Beside the times: the storage energy each day claims to sell (kWh) against what the storages hold, and
the day's traded energy. Best of ``--repeats`` with ``time.perf_counter``. The target (issue 12): the
33-bus uniform-price day under 100 ms.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from core import auction_day
from core.auction_day import clear_day
from core.bids import State, fleet_arrays, period_bids
from core.mechanisms import MECHANISMS
from core.scenario import load_project

PROJECTS = Path(__file__).resolve().parent.parent / "projects"


def independent_periods(s, mechanism: str):
    """Every period cleared from the initial state, as the market did before issue 12."""
    fleet = fleet_arrays(s)
    values = auction_day._storage_values(fleet, auction_day.expected_prices(fleet))
    state = State.initial(fleet)
    fn = MECHANISMS[mechanism]
    outs = []
    for t in range(fleet.periods):
        book = period_bids(fleet, t, state, values).book
        outs.append((book, fn(book)))
    return fleet, outs


def best_of(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--mechanisms", default="uniform,pay_as_bid,vcg,trade_reduction")
    args = ap.parse_args(argv)
    mechanisms = [m.strip() for m in args.mechanisms.split(",") if m.strip()]
    print(
        f"{'project':<22} {'mechanism':<16} {'cold day':>9} {'day':>9} {'per-period':>11} "
        f"{'storage sold (day / per-period / held) kWh':>44} {'traded kWh':>11}"
    )
    for name in ("ieee33-community", "synthetic-1000bus"):
        s = load_project(PROJECTS / f"{name}.json")
        for mech in mechanisms:
            auction_day._VALUES.clear()
            auction_day._FORECASTS.clear()
            t0 = time.perf_counter()
            clear_day(s, mech)
            cold = time.perf_counter() - t0
            reps = args.repeats if not (mech == "vcg" and name.startswith("synthetic")) else 1
            warm, day = best_of(lambda s=s, mech=mech: clear_day(s, mech), reps)
            old, (fleet, outs) = best_of(lambda s=s, mech=mech: independent_periods(s, mech), reps)
            st = fleet.storage
            sold_day = float(day.sold_kwh[st].sum())
            sold_old = float(
                sum(np.bincount(b.sell_agent, weights=o.sell_fill, minlength=fleet.n)[st].sum() for b, o in outs)
            )
            held = float(np.nansum(fleet.energy_kwh[st]))
            traded = float(day.bought_kwh.sum())
            print(
                f"{name:<22} {mech:<16} {cold * 1e3:>7.0f}ms {warm * 1e3:>7.0f}ms {old * 1e3:>9.0f}ms "
                f"{sold_day:>16,.0f} / {sold_old:>10,.0f} / {held:>9,.0f}      {traded:>11,.0f}"
            )


if __name__ == "__main__":
    main()
