"""Jobs for the worker-process tests (importable by a spawned worker: ``tests.gui.worker_jobs``)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path


def _path(request) -> Path:
    """The file named by a runner's request: the market's ``(path, settings)``, a study's spec, else itself."""
    if isinstance(request, tuple):
        request = request[0]
    return Path(getattr(request, "spec", request))


def pid(request, progress, cancelled, partial):
    """Its worker's process id."""
    return os.getpid()


def unpicklable_result(request, progress, cancelled, partial):
    return threading.Lock()


def unpicklable_partial(request, progress, cancelled, partial):
    partial(threading.Lock())
    while not cancelled():  # stopped by the failed reply
        time.sleep(0.01)
    return "never shown"


def _refuse():
    raise RuntimeError("this object cannot be rebuilt here")


class Unloadable:
    """Pickles, but does not unpickle."""

    def __reduce__(self):
        return (_refuse, ())


def unreadable_result(request, progress, cancelled, partial):
    return Unloadable()


def sleeps_until_cancelled(request, progress, cancelled, partial):
    """Writes its pid to the request's file, then waits to be cancelled (or killed)."""
    _path(request).write_text(str(os.getpid()))
    deadline = time.monotonic() + 60
    while not cancelled() and time.monotonic() < deadline:
        time.sleep(0.01)
    return "cancelled"
