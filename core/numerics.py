"""The numerics policy: named tolerances, one way to solve and judge a convex problem, and what an inaccurate
solve leaves behind (a warning on the result, a line in the log).

Tolerances are *named* so a reader knows what a number is for, and changed in one place:

* :data:`KWH_TOL` — an energy balance closes (kWh per period);
* :data:`TRADE_TOL` — a period with no trade (kW, relative to the largest trade of the day);
* :data:`PRICE_TOL` — two prices are the same (currency/kWh, relative to the price);
* :data:`DLMP_NOISE_PER_KWH` — a DLMP part below this is solver noise, not a binding limit;
* :data:`DECOMPOSITION_TOL` — DLMP parts add up to the bus balance's dual (relative to the largest DLMP).

:func:`solve` runs cvxpy with the project's solver, turns a solver failure or an infeasible/unbounded status into a
:class:`~core.errors.ClearingError` naming what was being solved, and accepts "optimal_inaccurate" only *with a
warning*: the text is logged and kept by :func:`collect_warnings` so that the market attaches it to its result
(``summary["solver_warning"]``) and the dashboard shows it. cvxpy's own "Solution may be inaccurate" warning is
replaced by that message.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import warnings
from collections.abc import Iterator

from core.errors import ClearingError

log = logging.getLogger(__name__)

SOLVER = "CLARABEL"

KWH_TOL = 1e-6
TRADE_TOL = 1e-7
PRICE_TOL = 1e-9
DLMP_NOISE_PER_KWH = 1e-9
DECOMPOSITION_TOL = 1e-5

INACCURATE = "optimal_inaccurate"

_collected: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("solver_warnings", default=None)


@contextlib.contextmanager
def collect_warnings() -> Iterator[list[str]]:
    """Collect the solver warnings raised inside the block (on this thread) into the list it yields."""
    bucket: list[str] = []
    token = _collected.set(bucket)
    try:
        yield bucket
    finally:
        _collected.reset(token)


def warn(text: str) -> None:
    """Record a numerical warning: logged, and kept by the innermost :func:`collect_warnings` block."""
    log.warning(text)
    bucket = _collected.get()
    if bucket is not None and text not in bucket:
        bucket.append(text)


def check_status(status: str | None, what: str, reason=None, refined: str | None = None) -> None:
    """Raise :class:`ClearingError` unless ``status`` is optimal; an inaccurate optimum is accepted with a warning.

    ``reason(status)``: the message for an infeasible or unbounded problem (default: "``what`` is ``status``").
    ``refined``: why an inaccurate optimum does not reach the numbers shown (a later solve refines it): then it is
    only logged, not shown."""
    if status == "optimal":
        return
    if status == INACCURATE and refined:
        log.info("%s: the solver reported an inaccurate solution; %s", what, refined)
        return
    if status == INACCURATE:
        warn(
            f"{what}: the solver reported an inaccurate solution (its tolerances were not all met); "
            "the numbers shown may be off in their last digits"
        )
        return
    raise ClearingError(status or "solver_error", reason(status) if reason is not None else plain_status(what, status))


def plain_status(what: str, status: str | None) -> str:
    """A failed solve in words about the market, not the solver's."""
    if status in ("unbounded", "unbounded_inaccurate"):
        return (
            f"{what} has no finite optimum: some value or cost makes trading ever more profitable (a negative cost "
            "or a value with no upper limit on the quantity?)"
        )
    if status in ("infeasible", "infeasible_inaccurate"):
        return f"{what} has no feasible answer: the limits of the prosumers and the feeder cannot all be met"
    if status in ("user_limit", "solver_error", None):
        return (
            f"{what} stopped before it found an answer: the numbers of the project are too far apart for it (a cost, "
            "value or size many orders of magnitude from the others?)"
        )
    return f"{what} could not be solved ({status})"


def solve(problem, what: str, reason=None, refined: str | None = None, **options) -> float:
    """Solve ``problem`` (a ``cvxpy.Problem``) with :data:`SOLVER` and judge its status (:func:`check_status`).

    ``reason``, ``refined``: as in :func:`check_status`. ``options`` go to ``problem.solve`` (``warm_start``,
    ``ignore_dpp``, ``canon_backend``, solver settings).
    Returns the optimal value."""
    import cvxpy as cp

    options.setdefault("solver", SOLVER)
    try:
        with warnings.catch_warnings():  # cvxpy's "may be inaccurate": said by check_status in this project's words
            warnings.filterwarnings("ignore", message="Solution may be inaccurate", category=UserWarning)
            value = problem.solve(**options)
    except cp.error.SolverError as err:
        log.info("%s: %s", what, err)  # the solver's own words, for the dashboard's log (not the user's screen)
        raise ClearingError(
            "solver_error",
            f"{what} could not be solved: the numbers are too far apart for the solver (a price, cost or quantity "
            "many orders of magnitude from the others?)",
        ) from None
    check_status(problem.status, what, reason, refined)
    return value
