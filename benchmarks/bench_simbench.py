"""SimBench grids with a day of their profiles: import and clearing times (issue 18). Run by hand:

    /work/venv/bin/python benchmarks/bench_simbench.py [--day 2016-06-21] [--codes CODE ...]

One table, a row per code: the time to load SimBench's net (``simbench.get_simbench_net``, reading its CSV
files), the time of :func:`core.scenario.simbench_io.import_simbench` on the loaded net (the pandapower importer and
the day's profiles), the size of the feeder, then the 24-period day through ``core.market.clear`` on a copper plate
(``network="none"``) and with LinDistFlow (``network="lindistflow"``): the welfare clearing of the market only
(the audits, the mechanism comparison and market power off, as the dashboard's first result) and the full default
result (``MarketSettings(network=…)``: the five mechanisms compared, the audits, market power, fairness), each with a
fresh cache (the problems compiled inside the timing). Wall times with ``time.perf_counter``, one run each.
SimBench's prosumers have fixed demand and zero-cost generation, so the day's welfare problem is a small LP.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
import warnings

from core.market import ClearingCache, MarketSettings, clear
from core.scenario.simbench_io import import_simbench, load_simbench_net

CODES = ("1-LV-rural1--0-sw", "1-LV-semiurb4--0-sw", "1-MV-rural--0-sw", "1-MV-urban--0-sw", "1-MVLV-rural-1.108-0-sw")


def lean(network: str) -> MarketSettings:
    return MarketSettings(
        network=network,
        audit=False,
        tatonnement=False,
        decentralised_check=False,
        fairness_audit=False,
        compare=False,
        market_power=False,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--day", default="2016-06-21")
    ap.add_argument("--codes", nargs="+", default=list(CODES))
    args = ap.parse_args()
    day = dt.date.fromisoformat(args.day)
    warnings.filterwarnings("ignore")
    head = f"{'code':<24} {'load net':>9} {'import':>8} {'buses':>6} {'prosumers':>9} "
    head += f"{'clear none':>11} {'clear LDF':>10} {'full none':>10} {'full LDF':>10}"
    print(f"SimBench day {day.isoformat()}, 24 periods of 1 h")
    print(head)
    print("-" * len(head))
    for code in args.codes:
        t0 = time.perf_counter()
        net = load_simbench_net(code)
        t_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        s, _ = import_simbench(code, day, net=net)
        t_import = time.perf_counter() - t0
        times = []
        runs = [lean("none"), lean("lindistflow"), MarketSettings(), MarketSettings(network="lindistflow")]
        for settings in runs:
            t0 = time.perf_counter()
            try:
                clear(s, settings, cache=ClearingCache())
                times.append(f"{time.perf_counter() - t0:.2f} s")
            except Exception as err:  # a benchmark row says what failed and goes on
                times.append(f"fail ({type(err).__name__})")
        print(
            f"{code:<24} {t_load:>7.2f} s {t_import:>6.2f} s {len(s.feeder.buses):>6} {len(s.prosumers):>9} "
            f"{times[0]:>11} {times[1]:>10} {times[2]:>10} {times[3]:>10}",
            flush=True,
        )


if __name__ == "__main__":
    main()
