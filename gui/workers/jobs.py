"""The jobs the runners hand to a worker (no Qt here): the market clearing, the Nash search, a study.

Each is ``job(request, progress, cancelled, partial)`` (:mod:`gui.workers.protocol`)
and looks its computation up at call time (:func:`clear`, :func:`nash_search`,
:func:`existence_check`, :func:`run_study`), so that a test running the jobs on a
thread (``process=False``) can replace it.
"""

from __future__ import annotations

from core import market as _market
from core import nash_run
from core.errors import Cancelled
from core.nash_run import run_nash

# imported here, not by a worker on first use: an import (compiling the module) holds the GIL
_market.preload()


def clear(scenario, settings, progress=None, cancelled=None):
    """The market clearing: :func:`core.market.clear_stages` — an iterable of stages, the last one complete
    (or one :class:`~core.market.MarketResult`)."""
    return _market.clear_stages(scenario, settings, progress=progress, cancelled=cancelled)


def clear_job(request, progress, cancelled, partial):
    """Clear ``request = (scenario, settings)``: each stage with diagnostics pending goes back as a partial
    result, the complete one is returned. Superseded (``cancelled()``), it stops and raises Cancelled."""
    scenario, settings = request
    if cancelled():  # a newer request came while this one waited
        raise Cancelled

    def step(fraction: float, text: str) -> None:
        if cancelled():
            raise Cancelled
        progress(float(fraction), str(text))

    try:
        out = clear(scenario, settings, progress=step, cancelled=cancelled)
        result = None
        for stage in [out] if isinstance(out, _market.MarketResult) else out:
            result = stage
            if stage.pending and not cancelled():
                partial(stage)
        if result is None:
            raise RuntimeError("the clearing returned no result")
    except Cancelled:
        raise
    except Exception as err:
        if cancelled():  # a failure of a superseded clearing is nobody's business
            raise Cancelled from err
        raise
    if cancelled():
        raise Cancelled
    return result


def nash_search(book, **kwargs):
    """The Nash runner's search: :func:`core.strategy.nash_search` (through :mod:`core.nash_run`)."""
    return nash_run.nash_search(book, **kwargs)


def existence_check(game, **kwargs):
    """The Debreu–Glicksberg–Fan check after the search: :func:`core.strategy.existence_check`."""
    return nash_run.existence_check(game, **kwargs)


def nash_job(request, progress, cancelled, partial):
    """Search a :class:`~core.nash_run.NashRequest`'s game, then check existence: a
    :class:`~core.nash_run.NashOutcome` (cancelled: the search so far, ``result.cancelled`` set)."""
    return run_nash(
        request, lambda f, text: progress(float(f), str(text)), cancelled, search=nash_search, check=existence_check
    )


def run_study(spec, **kwargs):
    """A study: :func:`core.study.run_study`."""
    from core import study

    return study.run_study(spec, **kwargs)


def study_job(request, progress, cancelled, partial):
    """Run a :class:`~gui.workers.studies.StudyRequest`'s study (here, or on Dask); each row goes back as a
    partial result; the :class:`~core.study.StudyRun` is returned (cancelled: with the rows that finished)."""
    return run_study(
        request.spec,
        workers=request.workers,
        scheduler=request.scheduler or None,
        progress=lambda done, total: progress(int(done), int(total)),
        cancelled=cancelled,
        on_row=lambda row: partial(dict(row)),
    )
