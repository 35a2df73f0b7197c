"""The market clearing off the GUI thread: :class:`MarketRunner`, debounced and superseded.

:class:`MarketRunner` turns "the scenario or a setting changed" into one call
of :func:`core.market.clear_stages` (:func:`gui.workers.jobs.clear_job`) in a
worker process (``process=True``, the default) or on a thread (``process=False``):

* requests arriving in a burst (a slider being dragged, several edits) are
  merged by a single-shot timer (``DEBOUNCE_MS``): only the last one is run;
* a newer request supersedes an older one still running: it stops at its next
  progress point, and whatever it returns is dropped, never shown;
* results, failures and progress come back through queued signals, so panels
  are only ever touched on the GUI thread, and the GUI thread never clears.

The process, because on a thread the solver's long C calls hold Python's
interpreter lock and freeze the window — 100–300 ms at a time on the 1,000-bus
feeder, and still 50–200 ms on the 33-bus one when the machine is busy.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from gui.workers import jobs
from gui.workers.process import CLEARING_PRELOAD, CLEARING_PROCESS
from gui.workers.runner import Runner

DEBOUNCE_MS = 40


class MarketRunner(Runner):
    """Schedules the clearing on a worker; only the newest request's result is shown.

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

    preview = Signal(object)
    finished = Signal(object)
    progress = Signal(float, str)

    job = staticmethod(jobs.clear_job)
    what = "clearing"
    process_name = CLEARING_PROCESS
    crashed = "the computation process stopped unexpectedly ({how}); a new one starts with the next change"
    preload = CLEARING_PRELOAD

    def __init__(self, parent: QObject | None = None, debounce_ms: int = DEBOUNCE_MS, process: bool = True):
        """``process``: clear in a separate process (True) or on a thread of this one (False)."""
        super().__init__(parent, process=process)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(debounce_ms)
        self._timer.timeout.connect(self._submit)
        self._pending: tuple | None = None
        self.last_result = None
        self.last_error: str | None = None
        self.last_seconds: float | None = None
        self.preview_seconds: float | None = None
        self._preview_gen = -1
        self.preview_index = 0  # 0: the request's first preview (the market); 1, 2…: a diagnostic more each
        self.follows_preview = False

    def request(self, scenario, settings) -> None:
        """Clear ``scenario`` with ``settings`` soon; supersedes every earlier request."""
        if self._closed:
            return
        gen = self._next_generation()  # whatever runs now is stale: it stops
        self._pending = (gen, scenario, settings)
        self._timer.start()
        self._update_busy()

    def shutdown(self, timeout_ms: int = -1) -> bool:
        """Drop every request, stop the running clearing at its next step and wait for the worker.

        Called when the window closes: the worker must be gone before the runner
        (and the Python objects it uses) are destroyed.
        """
        return super().shutdown(timeout_ms)

    def _waiting(self) -> bool:
        return self._pending is not None

    def _stop_waiting(self) -> None:
        self._timer.stop()
        self._pending = None

    def _submit(self) -> None:
        if self._pending is None or self._closed:
            return
        gen, scenario, settings = self._pending
        self._pending = None
        self._launch(gen, (scenario, settings))
        self.started.emit()

    def _on_running(self, gen: int, pid: int) -> None:
        if self._current(gen):
            self.progress.emit(0.0, "clearing the market")

    def _on_progress(self, gen: int, fraction: float, text: str) -> None:
        self.progress.emit(fraction, text)

    def _on_partial(self, gen: int, items: list) -> None:
        # the market without (some of) its diagnostics: shown at once, the runner stays busy
        for result, seconds in items:
            self.preview_index = self.preview_index + 1 if gen == self._preview_gen else 0
            self._preview_gen, self.preview_seconds = gen, seconds
            self.preview.emit(result)

    def _on_done(self, gen: int, result, seconds: float) -> None:
        self.follows_preview = self._preview_gen == gen
        self.last_result, self.last_error, self.last_seconds = result, None, seconds
        self.finished.emit(result)

    def _on_error(self, gen: int, message: str) -> None:
        self.last_error = message
        self.failed.emit(message)


__all__ = ["DEBOUNCE_MS", "MarketRunner"]
