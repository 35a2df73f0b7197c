"""Clearing time of the uniform-price double auction (``core.mechanisms.uniform_price``). Run by hand:

    /work/venv/bin/python benchmarks/bench_auction.py [--repeats 7] [--seed 0] [--no-pymarket]

Prints two tables.

1. ``uniform_price`` on seeded random books of 1e3 … 1e6 blocks (half buys, half
   sells; prices U(0, 100), quantities U(0.1, 10) kWh, one agent per ten blocks),
   beside the efficient-fill kernel alone (bucketed, as ``uniform_price`` uses it, and
   the full merit-order sort) and a bare numpy floor: the two argsorts, two cumsums
   and one searchsorted that any sort-and-match clearing does. The book is built
   (and validated) outside the timing. Best of ``--repeats`` with ``time.perf_counter``.
2. pymarket (``pip install pymarket``), if installed, at 1e3 and 1e4 blocks of 1 kWh
   each with distinct prices (so both should agree): its uniform clearing price
   (``intersect_stepwise`` of its demand and supply curves, midpoint of the marginal
   pair, as MUDA uses it) against ``uniform_price(book, k=0.5, interval="marginal_pair")``,
   and its Huang et al. (2002) auction against ``trade_reduction(book, variant="pure")``
   (with unit blocks both drop the marginal pair; buyers pay ``b_k``, sellers get
   ``a_k``). Cleared quantity, prices, times and the speed ratio side by side.
   pymarket is timed from its bids DataFrame, ours from a built ``OrderBook``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable

import numpy as np

from core import mechanisms as mech
from core.mechanisms import OrderBook, trade_reduction, uniform_price

SIZES = (1_000, 10_000, 100_000, 1_000_000)
PYMARKET_SIZES = (1_000, 10_000)


def best_of(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Smallest wall time of ``repeats`` calls (seconds), and the last result."""
    best, result = float("inf"), None
    for _ in range(max(repeats, 1)):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def random_book(n: int, seed: int) -> OrderBook:
    rng = np.random.default_rng(seed)
    h = n // 2
    n_agents = max(n // 10, 1)
    return OrderBook(
        buy_price=rng.uniform(0.0, 100.0, h),
        buy_qty=rng.uniform(0.1, 10.0, h),
        buy_agent=rng.integers(0, n_agents, h),
        sell_price=rng.uniform(0.0, 100.0, n - h),
        sell_qty=rng.uniform(0.1, 10.0, n - h),
        sell_agent=rng.integers(0, n_agents, n - h),
        agents=tuple(f"agent{i}" for i in range(n_agents)),
    )


def sort_and_match_floor(bp: np.ndarray, bq: np.ndarray, sp: np.ndarray, sq: np.ndarray) -> float:
    """The bare minimum of a sorting clearing: two argsorts, two cumsums, one searchsorted."""
    ob = np.argsort(-bp)
    os_ = np.argsort(sp)
    d = np.cumsum(bq[ob])
    s = np.concatenate(([0.0], np.cumsum(sq[os_])))
    return float(np.max(np.minimum(d, s[np.searchsorted(sp[os_], bp[ob], side="right")])))


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:10.3f}"


def bench_sizes(repeats: int, seed: int) -> None:
    print(f"uniform_price clearing time, best of {repeats} (ms)")
    head = (
        f"{'blocks':>9} | {'uniform_price':>13} | {'fills bucketed':>14} | {'fills full sort':>15} | "
        f"{'numpy floor':>11} | {'floor/ours':>10} | {'cleared kWh':>12} | {'price':>8}"
    )
    print(head)
    print("-" * len(head))
    for n in SIZES:
        book = random_book(n, seed)
        args = (book.buy_price, book.buy_qty, book.sell_price, book.sell_qty)
        t_ours, out = best_of(lambda book=book: uniform_price(book), repeats)
        t_bucket, _ = best_of(lambda args=args: mech._fills(*args), repeats)
        t_full, _ = best_of(lambda args=args: mech._fills(*args, nbins=1), repeats)
        t_floor, q_floor = best_of(lambda args=args: sort_and_match_floor(*args), repeats)
        assert abs(q_floor - out.traded_qty) <= 1e-9 * q_floor, (q_floor, out.traded_qty)
        print(
            f"{n:>9} | {ms(t_ours):>13} | {ms(t_bucket):>14} | {ms(t_full):>15} | {ms(t_floor):>11} | "
            f"{t_floor / t_ours:>10.2f} | {out.traded_qty:>12.1f} | {out.price:>8.4f}"
        )


def unit_book(n: int, seed: int):
    """``n`` blocks of 1 kWh with distinct prices on a 0.001 grid, as an OrderBook and as a pymarket BidManager."""
    import pymarket as pm

    rng = np.random.default_rng(seed)
    h = n // 2
    prices = rng.choice(100_000, n, replace=False) / 1000.0
    bm = pm.BidManager()
    for i in range(n):
        bm.add_bid(1.0, float(prices[i]), i, i < h)
    book = OrderBook(
        prices[:h],
        np.ones(h),
        np.arange(h),
        prices[h:],
        np.ones(n - h),
        np.arange(h, n),
        tuple(f"u{i}" for i in range(n)),
    )
    return book, bm.get_df()


def bench_pymarket(repeats: int, seed: int) -> None:
    try:
        import pymarket  # noqa: F401  (lazy: an optional peer)
        from pymarket.bids.demand_curves import demand_curve_from_bids, intersect_stepwise, supply_curve_from_bids
        from pymarket.mechanisms.huang_auction import HuangAuction
    except ImportError:
        print("pymarket not installed")
        return

    def pm_uniform(df):
        q, _, _, price = intersect_stepwise(demand_curve_from_bids(df)[0], supply_curve_from_bids(df)[0], k=0.5)
        return (0.0 if q is None else float(q)), (None if q is None else float(price))

    def pm_huang(df):
        _, extra = HuangAuction(df).run()
        return float(extra["quantity_traded"]), float(extra["price_buy"]), float(extra["price_sell"])

    print()
    print("against pymarket (1 kWh blocks, distinct prices)")
    head = (
        f"{'blocks':>7} | {'mechanism':<28} | {'kWh ours':>8} | {'kWh pm':>8} | {'price(s) ours':>17} | "
        f"{'price(s) pymarket':>17} | {'ours ms':>9} | {'pymarket ms':>11} | {'pm/ours':>8}"
    )
    print(head)
    print("-" * len(head))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        for n in PYMARKET_SIZES:
            book, df = unit_book(n, seed)
            pm_repeats = repeats if n <= 1_000 else min(repeats, 2)

            t_ours, out = best_of(lambda book=book: uniform_price(book, k=0.5, interval="marginal_pair"), repeats)
            t_pm, (q_pm, p_pm) = best_of(lambda df=df: pm_uniform(df), pm_repeats)
            print(
                f"{n:>7} | {'uniform (midpoint a_k, b_k)':<28} | {out.traded_qty:>8.0f} | {q_pm:>8.0f} | "
                f"{out.price:>17.4f} | {p_pm:>17.4f} | {ms(t_ours):>9} | {ms(t_pm):>11} | {t_pm / t_ours:>8.0f}"
            )

            t_ours, out = best_of(lambda book=book: trade_reduction(book, variant="pure"), repeats)
            t_pm, (q_pm, pb, ps) = best_of(lambda df=df: pm_huang(df), pm_repeats)
            fills = out.buy_fill > 0
            ours_b = float(out.agent_payment[book.buy_agent[fills]][0]) if fills.any() else float("nan")
            ours_s = float(-out.agent_payment[book.sell_agent[out.sell_fill > 0]][0]) if fills.any() else float("nan")
            print(
                f"{n:>7} | {'trade reduction / Huang':<28} | {out.traded_qty:>8.0f} | {q_pm:>8.0f} | "
                f"{ours_b:>8.3f}/{ours_s:<8.3f} | {pb:>8.3f}/{ps:<8.3f} | {ms(t_ours):>9} | {ms(t_pm):>11} | "
                f"{t_pm / t_ours:>8.0f}"
            )
    print("price(s) of trade reduction: buyers pay / sellers receive per kWh")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-pymarket", action="store_true")
    a = ap.parse_args()
    bench_sizes(a.repeats, a.seed)
    if not a.no_pymarket:
        bench_pymarket(a.repeats, a.seed)


if __name__ == "__main__":
    main()
