"""Market clearing off the GUI thread.

:class:`MarketRunner` turns "the scenario or a setting changed" into one call
of :func:`core.market.clear` on a worker of a private :class:`QThreadPool`:

* requests arriving in a burst (a slider being dragged, several edits) are
  merged by a single-shot timer (``DEBOUNCE_MS``): only the last one is run;
* every request gets a generation number; a newer request supersedes an older
  one still running — its ``cancelled()`` turns true, so the price iteration
  stops early, and whatever it returns is dropped, never shown;
* results, failures and progress come back through queued signals, so panels
  are only ever touched on the GUI thread, and the GUI thread never calls
  ``clear`` itself.

The dashboard's runner clears in a separate process (:mod:`gui.worker_process`,
``process=True``, the default): on a thread, the solver's long C calls hold
Python's interpreter lock and freeze the window — 100–300 ms at a time on the
1,000-bus feeder, and still 50–200 ms on the 33-bus one when the machine is
busy. ``process=False`` runs the same protocol — generations, supersede,
stages, progress, failures — on a private thread pool (tests use it to
intercept the computation).

A failure (a :class:`~core.errors.ScenarioError`, a
:class:`~core.errors.ClearingError`, a ``ValueError``, anything) becomes one
readable line in :attr:`MarketRunner.failed`; the traceback goes to the log,
never in front of the user.

:class:`NashRunner` does the same for the on-demand search of a bidding
game's pure Nash equilibrium (:func:`core.strategy.nash_search`, then the
Debreu–Glicksberg–Fan check): one search at a time on its own pool, with
progress and a cancel that stops it at the next best response.
"""

from __future__ import annotations

import logging
import threading
import time

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal

# imported here, not by a worker on first use: an import (compiling the module) holds the GIL
import core.fairness
import core.market_power
import core.pricing
import core.strategy  # noqa: F401
from core import market as _market
from gui.failures import describe_failure
from gui.worker_process import NashCancelled, NashOutcome, NashRequest, run_nash  # noqa: F401 - re-exported

log = logging.getLogger(__name__)

DEBOUNCE_MS = 40


def clear(scenario, settings, progress=None, cancelled=None):
    """The one computation the runner runs: :func:`core.market.clear_stages` (looked up at call time).

    Returns the stages (an iterable of results, the last one complete) or one
    :class:`~core.market.MarketResult`.
    """
    return _market.clear_stages(scenario, settings, progress=progress, cancelled=cancelled)


class Superseded(Exception):  # a control-flow signal, not an error
    """Raised inside a worker's progress callback once a newer request exists: stops ``clear`` early."""


class _Latest:
    """The newest generation, shared with the workers (a plain int read under the GIL)."""

    def __init__(self) -> None:
        self.value = 0


class _Relay(QObject):
    """Lives on the GUI thread; workers emit on it, so delivery to the runner is queued."""

    done = Signal(int, object, float, bool)  # generation, MarketResult, seconds, final (False: a first stage)
    error = Signal(int, str)  # generation, message
    dropped = Signal(int)  # generation (superseded before it finished)
    progress = Signal(int, float, str)  # generation, fraction, text
    running = Signal(int)  # generation: a worker picked the job up


class _Job(QRunnable):
    """One clearing on a pool thread."""

    def __init__(self, generation: int, scenario, settings, latest: _Latest, relay: _Relay):
        super().__init__()
        self.setAutoDelete(True)
        self.generation = generation
        self.scenario = scenario
        self.settings = settings
        self._latest = latest
        self._relay = relay

    def _cancelled(self) -> bool:
        return self.generation != self._latest.value

    def _progress(self, fraction: float, text: str) -> None:
        if self._cancelled():
            raise Superseded
        self._relay.progress.emit(self.generation, float(fraction), str(text))

    def run(self) -> None:
        gen, relay = self.generation, self._relay
        if self._cancelled():  # a newer request came while this one waited for a thread
            relay.dropped.emit(gen)
            return
        relay.running.emit(gen)
        t0 = time.perf_counter()
        try:
            out = clear(self.scenario, self.settings, progress=self._progress, cancelled=self._cancelled)
            result = None
            # the market first (its diagnostics pending), then the complete result
            for stage in [out] if isinstance(out, _market.MarketResult) else out:
                result = stage
                if stage.pending and not self._cancelled():
                    relay.done.emit(gen, stage, time.perf_counter() - t0, False)
            if result is None:
                raise RuntimeError("the clearing returned no result")
        except Superseded:
            relay.dropped.emit(gen)
        except Exception as err:  # every failure becomes a message, none a crash
            if self._cancelled():
                relay.dropped.emit(gen)
            else:
                log.debug("market clearing failed", exc_info=True)
                relay.error.emit(gen, describe_failure(err))
        else:
            if self._cancelled():
                relay.dropped.emit(gen)
            else:
                relay.done.emit(gen, result, time.perf_counter() - t0, True)


PROCESS_JOIN_S = 5.0


class _WorkerProcess:
    """A spawned worker process (``target(requests, replies, shared)``) and a thread relaying its replies to
    the GUI thread through ``relay``'s queued signals. A process that dies fails its requests in flight with
    a message; the runner starts a new one for the next request."""

    name = "feeder-market-worker"
    crashed = "the computation process stopped unexpectedly (exit code {code}); a new one starts with the next change"

    def __init__(self, relay, target):
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")  # never fork a process that runs Qt threads
        self.relay = relay
        self.requests = ctx.Queue()
        self.replies = ctx.Queue()
        self.shared = ctx.Value("q", 0, lock=False)
        self.process = ctx.Process(target=target, args=(self.requests, self.replies, self.shared), daemon=True,
                                   name=self.name)
        self.process.start()
        self.in_flight: set[int] = set()
        self.closing = False
        self.reader = threading.Thread(target=self._read, name=f"{self.name}-replies", daemon=True)
        self.reader.start()

    @property
    def alive(self) -> bool:
        return self.process.is_alive() and not self.closing

    def _read(self) -> None:
        import queue

        while True:
            try:
                msg = self.replies.get(timeout=0.25)
            except queue.Empty:
                if self.closing:
                    return
                if not self.process.is_alive():
                    message = self.crashed.format(code=self.process.exitcode)
                    for gen in sorted(self.in_flight):
                        self.relay.error.emit(gen, message)
                    self.in_flight.clear()
                    return
                continue
            except (EOFError, OSError):
                return
            self.dispatch(msg)

    def dispatch(self, msg: tuple) -> None:
        raise NotImplementedError

    def stop_all(self) -> None:
        """Make whatever the process runs stop at its next step."""
        raise NotImplementedError

    def close(self, timeout_s: float = PROCESS_JOIN_S) -> None:
        self.closing = True
        self.stop_all()
        try:
            self.requests.put(None)
        except (OSError, ValueError):
            pass
        self.process.join(timeout_s)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(1.0)
        self.reader.join(1.0)
        for q in (self.requests, self.replies):
            q.close()
            q.cancel_join_thread()


class _ProcessClearing(_WorkerProcess):
    """The market clearing's process (:func:`gui.worker_process.serve`); ``shared``: the newest generation."""

    name = "feeder-market-clearing"

    def __init__(self, relay: _Relay):
        from gui.worker_process import serve

        super().__init__(relay, serve)

    def submit(self, gen: int, scenario, settings) -> None:
        self.in_flight.add(gen)
        self.shared.value = gen
        self.requests.put((gen, scenario, settings))  # pickled by the queue's feeder thread

    def supersede(self, gen: int) -> None:
        """A newer request exists (wherever it runs): the process stops the one in hand."""
        self.shared.value = gen

    def stop_all(self) -> None:
        self.shared.value = -1  # no clearing has that generation

    def dispatch(self, msg: tuple) -> None:
        relay, (kind, gen) = self.relay, msg[:2]
        if kind == "running":
            relay.running.emit(gen)
        elif kind == "progress":
            relay.progress.emit(gen, msg[2], msg[3])
        elif kind == "done":
            if msg[4]:
                self.in_flight.discard(gen)
            relay.done.emit(gen, msg[2], msg[3], msg[4])
        elif kind == "error":
            self.in_flight.discard(gen)
            relay.error.emit(gen, msg[2])
        elif kind == "dropped":
            self.in_flight.discard(gen)
            relay.dropped.emit(gen)


class MarketRunner(QObject):
    """Schedules :func:`core.market.clear` on a worker; only the newest request's result is shown.

    Signals (always emitted on the GUI thread):

    * ``started()`` — a clearing was handed to a worker;
    * ``preview(result)`` — the newest request's market before its diagnostics (``result.pending``
      names them): prices, dispatch, curves, DLMPs, market power — shown while the rest is computed;
      then once more after each diagnostic but the last (``preview_index`` counts them);
    * ``finished(result)`` — the newest request's complete :class:`~core.market.MarketResult`
      (``follows_preview`` tells whether a preview of the same request came first);
    * ``failed(message)`` — the newest request failed: one readable line;
    * ``busy(bool)`` — True while a request is pending or running;
    * ``progress(fraction, text)`` — from the newest clearing.
    """

    started = Signal()
    preview = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    busy = Signal(bool)
    progress = Signal(float, str)

    def __init__(self, parent: QObject | None = None, debounce_ms: int = DEBOUNCE_MS, process: bool = True):
        """``process``: clear in a separate process (True) or on a thread of this one (False)."""
        super().__init__(parent)
        self.process_mode = process
        self._proc: _ProcessClearing | None = None
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)  # one clearing at a time; a superseded one stops at its next step
        self._latest = _Latest()
        self._relay = _Relay(self)
        q = Qt.ConnectionType.QueuedConnection
        self._relay.done.connect(self._on_done, q)
        self._relay.error.connect(self._on_error, q)
        self._relay.dropped.connect(self._on_dropped, q)
        self._relay.progress.connect(self._on_progress, q)
        self._relay.running.connect(self._on_running, q)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(debounce_ms)
        self._timer.timeout.connect(self._submit)
        self._pending: tuple | None = None
        self._in_flight: set[int] = set()
        self._busy = False
        self._closed = False
        self.last_result = None
        self.last_error: str | None = None
        self.last_seconds: float | None = None
        self.preview_seconds: float | None = None
        self._last_in_process = False
        self._preview_gen = -1
        self.preview_index = 0  # 0: the request's first preview (the market); 1, 2…: a diagnostic more each
        self.follows_preview = False

    # --- the API ---------------------------------------------------------------------
    def request(self, scenario, settings) -> None:
        """Clear ``scenario`` with ``settings`` soon; supersedes every earlier request."""
        if self._closed:
            return
        self._latest.value += 1  # whatever runs now is stale: let it stop
        if self._proc is not None:
            self._proc.supersede(self._latest.value)
        self._pending = (self._latest.value, scenario, settings)
        self._timer.start()
        self._set_busy(True)

    def is_busy(self) -> bool:
        return self._busy

    @property
    def generation(self) -> int:
        return self._latest.value

    def shutdown(self, timeout_ms: int = -1) -> bool:
        """Drop every request, stop the running clearing at its next step and wait for the worker.

        Called when the window closes: the worker must be gone before the runner
        (and the Python objects it uses) are destroyed. ``clear`` only stops at its
        progress points, so this waits for the step in hand (a fraction of a
        second on the bundled projects) — by default without a time limit.
        """
        self._closed = True
        self._timer.stop()
        self._pending = None
        self._latest.value += 1
        done = self.pool.waitForDone(timeout_ms)
        if self._proc is not None:
            self._proc.close()
            self._proc = None
        self._set_busy(False)
        return done

    @property
    def uses_process(self) -> bool:
        """Whether the last request went to the clearing process."""
        return self._last_in_process

    # --- GUI-thread side ----------------------------------------------------------------
    def _submit(self) -> None:
        if self._pending is None or self._closed:
            return
        gen, scenario, settings = self._pending
        self._pending = None
        self._in_flight.add(gen)
        in_process = self.process_mode
        self._last_in_process = in_process
        if in_process:
            if self._proc is None or not self._proc.alive:
                if self._proc is not None:
                    self._proc.close(0.5)
                self._proc = _ProcessClearing(self._relay)
            self._proc.submit(gen, scenario, settings)
        else:
            self.pool.start(_Job(gen, scenario, settings, self._latest, self._relay))
        self.started.emit()

    def _current(self, gen: int) -> bool:
        return gen == self._latest.value and self._pending is None and not self._closed

    def _finish(self, gen: int) -> None:
        self._in_flight.discard(gen)
        if self._pending is None and not self._timer.isActive() and not any(
            g == self._latest.value for g in self._in_flight
        ):
            self._set_busy(False)

    def _on_running(self, gen: int) -> None:
        if self._current(gen):
            self.progress.emit(0.0, "clearing the market")

    def _on_progress(self, gen: int, fraction: float, text: str) -> None:
        if self._current(gen):
            self.progress.emit(fraction, text)

    def _on_done(self, gen: int, result, seconds: float, final: bool = True) -> None:
        current = self._current(gen)
        if not final:  # the market without (some of) its diagnostics: shown at once, the runner stays busy
            if current:
                self.preview_index = self.preview_index + 1 if gen == self._preview_gen else 0
                self._preview_gen, self.preview_seconds = gen, seconds
                self.preview.emit(result)
            return
        self._finish(gen)
        if current:
            self.follows_preview = self._preview_gen == gen
            self.last_result, self.last_error, self.last_seconds = result, None, seconds
            self.finished.emit(result)

    def _on_error(self, gen: int, message: str) -> None:
        current = self._current(gen)
        self._finish(gen)
        if current:
            self.last_error = message
            self.failed.emit(message)

    def _on_dropped(self, gen: int) -> None:
        self._finish(gen)

    def _set_busy(self, on: bool) -> None:
        if on != self._busy:
            self._busy = on
            self.busy.emit(on)



# ---------------------------------------------------------------------------
# the Nash search, on demand
# ---------------------------------------------------------------------------


def nash_search(book, **kwargs):
    """The search the Nash runner runs: :func:`core.strategy.nash_search` (looked up at call time)."""
    from core import strategy

    return strategy.nash_search(book, **kwargs)


def existence_check(game, **kwargs):
    """The Debreu–Glicksberg–Fan check the Nash runner runs after the search: :func:`core.strategy.existence_check`."""
    from core import strategy

    return strategy.existence_check(game, **kwargs)


class _NashRelay(QObject):
    done = Signal(int, object)  # generation, NashOutcome
    error = Signal(int, str)  # generation, message
    progress = Signal(int, float, str)  # generation, fraction, text


class _NashJob(QRunnable):
    """One Nash search (and its existence check) on a pool thread."""

    def __init__(self, generation: int, request: NashRequest, stop: threading.Event, relay: _NashRelay):
        super().__init__()
        self.setAutoDelete(True)
        self.generation = generation
        self.request = request
        self.stop = stop
        self._relay = relay

    def _progress(self, fraction: float, text: str) -> None:
        self._relay.progress.emit(self.generation, float(fraction), str(text))

    def run(self) -> None:
        gen, relay = self.generation, self._relay
        try:
            outcome = run_nash(self.request, self._progress, self.stop.is_set, search=nash_search,
                               check=existence_check)
        except Exception as err:  # every failure becomes a message, none a crash
            log.debug("Nash search failed", exc_info=True)
            relay.error.emit(gen, describe_failure(err))
            return
        relay.done.emit(gen, outcome)


class _ProcessNash(_WorkerProcess):
    """The Nash search's process (:func:`gui.worker_process.serve_nash`); ``shared``: the newest generation
    to stop (a search stops once ``shared >= its generation``)."""

    name = "feeder-market-nash"
    crashed = "the Nash search's process stopped unexpectedly (exit code {code}); Find equilibrium starts a new one"

    def __init__(self, relay: _NashRelay):
        from gui.worker_process import serve_nash

        super().__init__(relay, serve_nash)

    def submit(self, gen: int, request) -> None:
        self.in_flight.add(gen)
        self.requests.put((gen, request))

    def stop(self, gen: int) -> None:
        self.shared.value = max(self.shared.value, gen)

    def stop_all(self) -> None:
        self.shared.value = 2**62

    def dispatch(self, msg: tuple) -> None:
        relay, (kind, gen) = self.relay, msg[:2]
        if kind == "progress":
            relay.progress.emit(gen, msg[2], msg[3])
        elif kind == "done":
            self.in_flight.discard(gen)
            relay.done.emit(gen, msg[2])
        elif kind == "error":
            self.in_flight.discard(gen)
            relay.error.emit(gen, msg[2])


class NashRunner(QObject):
    """Runs :func:`nash_search` (then :func:`existence_check`) on a worker when asked; never on the GUI thread.

    ``cancel()`` stops the running search at its next best response (the result
    comes back with ``cancelled`` set); ``cancel(drop=True)`` also drops it (the
    market it was searching has changed). Signals, always on the GUI thread:
    ``started()``, ``finished(NashOutcome)``, ``failed(message)``,
    ``progress(fraction, text)``, ``busy(bool)``.
    """

    started = Signal()
    finished = Signal(object)
    failed = Signal(str)
    progress = Signal(float, str)
    busy = Signal(bool)

    def __init__(self, parent: QObject | None = None, process: bool = True):
        """``process``: search in a separate process (True) or on a thread of this one (False)."""
        super().__init__(parent)
        self.process_mode = process
        self._proc: _ProcessNash | None = None
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._relay = _NashRelay(self)
        q = Qt.ConnectionType.QueuedConnection
        self._relay.done.connect(self._on_done, q)
        self._relay.error.connect(self._on_error, q)
        self._relay.progress.connect(self._on_progress, q)
        self._generation = 0
        self._stop: threading.Event | None = None
        self._dropped: set[int] = set()
        self._running: set[int] = set()
        self._busy = False
        self._closed = False
        self.last_outcome: NashOutcome | None = None

    def start(self, request: NashRequest) -> None:
        """Search ``request``'s game on the worker; a search still running is cancelled and dropped."""
        if self._closed:
            return
        self.cancel(drop=True)
        self._generation += 1
        self._stop = threading.Event()
        self._running.add(self._generation)
        self._set_busy(True)
        if self.process_mode:
            if self._proc is None or not self._proc.alive:
                if self._proc is not None:
                    self._proc.close(0.5)
                self._proc = _ProcessNash(self._relay)
            self._proc.submit(self._generation, request)
        else:
            self.pool.start(_NashJob(self._generation, request, self._stop, self._relay))
        self.started.emit()

    def cancel(self, drop: bool = False) -> None:
        """Stop the running search at its next step; with ``drop`` its result is never shown."""
        if self._stop is not None:
            self._stop.set()
        if self._proc is not None:
            self._proc.stop(self._generation)
        if drop and self._generation in self._running:
            self._dropped.add(self._generation)

    def is_busy(self) -> bool:
        return self._busy

    def shutdown(self, timeout_ms: int = -1) -> bool:
        """Stop the search and wait for the worker (the window is closing)."""
        self._closed = True
        self.cancel(drop=True)
        done = self.pool.waitForDone(timeout_ms)
        if self._proc is not None:
            self._proc.close()
            self._proc = None
        self._set_busy(False)
        return done

    def _finish(self, gen: int) -> bool:
        """Forget ``gen``; whether its result is to be shown."""
        self._running.discard(gen)
        show = gen == self._generation and gen not in self._dropped and not self._closed
        self._dropped.discard(gen)
        if not self._running:
            self._set_busy(False)
        return show

    def _on_done(self, gen: int, outcome: NashOutcome) -> None:
        if self._finish(gen):
            self.last_outcome = outcome
            self.finished.emit(outcome)

    def _on_error(self, gen: int, message: str) -> None:
        if self._finish(gen):
            self.failed.emit(message)

    def _on_progress(self, gen: int, fraction: float, text: str) -> None:
        if gen == self._generation and gen not in self._dropped:
            self.progress.emit(fraction, text)

    def _set_busy(self, on: bool) -> None:
        if on != self._busy:
            self._busy = on
            self.busy.emit(on)
