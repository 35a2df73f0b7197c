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

A failure (a :class:`~core.errors.ScenarioError`, a
:class:`~core.welfare.ClearingError`, a ``ValueError``, anything) becomes one
readable line in :attr:`MarketRunner.failed`; the traceback goes to the log,
never in front of the user.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal

from core import market as _market
from core.errors import ScenarioError
from core.welfare import ClearingError

log = logging.getLogger(__name__)

DEBOUNCE_MS = 40


def clear(scenario, settings, progress=None, cancelled=None):
    """The one computation the runner runs: :func:`core.market.clear` (looked up at call time)."""
    return _market.clear(scenario, settings, progress=progress, cancelled=cancelled)


class Superseded(Exception):  # a control-flow signal, not an error
    """Raised inside a worker's progress callback once a newer request exists: stops ``clear`` early."""


def describe_failure(err: BaseException) -> str:
    """One readable line for a failed clearing (no traceback)."""
    if isinstance(err, ScenarioError):
        text = err.problems[0].describe() if err.problems else str(err)
        return f"invalid scenario: {text}"
    if isinstance(err, ClearingError):
        text = str(err) or err.status
    elif isinstance(err, ValueError):
        text = str(err)
    else:
        text = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[0] if lines else type(err).__name__


class _Latest:
    """The newest generation, shared with the workers (a plain int read under the GIL)."""

    def __init__(self) -> None:
        self.value = 0


class _Relay(QObject):
    """Lives on the GUI thread; workers emit on it, so delivery to the runner is queued."""

    done = Signal(int, object, float)  # generation, MarketResult, seconds
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
            result = clear(self.scenario, self.settings, progress=self._progress, cancelled=self._cancelled)
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
                relay.done.emit(gen, result, time.perf_counter() - t0)


class MarketRunner(QObject):
    """Schedules :func:`core.market.clear` on a worker; only the newest request's result is shown.

    Signals (always emitted on the GUI thread):

    * ``started()`` — a clearing was handed to a worker;
    * ``finished(result)`` — the newest request's :class:`~core.market.MarketResult`;
    * ``failed(message)`` — the newest request failed: one readable line;
    * ``busy(bool)`` — True while a request is pending or running;
    * ``progress(fraction, text)`` — from the newest clearing.
    """

    started = Signal()
    finished = Signal(object)
    failed = Signal(str)
    busy = Signal(bool)
    progress = Signal(float, str)

    def __init__(self, parent: QObject | None = None, debounce_ms: int = DEBOUNCE_MS):
        super().__init__(parent)
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

    # --- the API ---------------------------------------------------------------------
    def request(self, scenario, settings) -> None:
        """Clear ``scenario`` with ``settings`` soon; supersedes every earlier request."""
        if self._closed:
            return
        self._latest.value += 1  # whatever runs now is stale: let it stop
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
        self._set_busy(False)
        return done

    # --- GUI-thread side ----------------------------------------------------------------
    def _submit(self) -> None:
        if self._pending is None or self._closed:
            return
        gen, scenario, settings = self._pending
        self._pending = None
        self._in_flight.add(gen)
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

    def _on_done(self, gen: int, result, seconds: float) -> None:
        current = self._current(gen)
        self._finish(gen)
        if current:
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

