"""The one worker-process design (:mod:`gui.workers`) under each of its three runners: a reply that cannot be
pickled (or read) fails its request with a message naming what failed and the process goes on; a process that dies
fails its request in flight with one message, and the next request starts a new process."""

from __future__ import annotations

import os
import signal

import pytest

from gui.workers.market import MarketRunner
from gui.workers.nash import NashRunner
from gui.workers.studies import StudyRequest, StudyRunner
from tests.gui import worker_jobs

TIMEOUT_MS = 60000


def _market():
    r = MarketRunner(debounce_ms=0)
    return r, lambda arg: r.request(arg, None)


def _nash():
    r = NashRunner()
    return r, r.start


def _study():
    r = StudyRunner()
    return r, lambda arg: r.start(StudyRequest(arg))


RUNNERS = {"market": _market, "nash": _nash, "study": _study}
CRASHED = {
    "market": "computation process stopped unexpectedly",
    "nash": "Nash search's process stopped unexpectedly",
    "study": "study's worker process stopped unexpectedly",
}


@pytest.fixture(params=sorted(RUNNERS))
def runner(request, qtbot):
    r, start = RUNNERS[request.param]()
    r.kind = request.param
    r.start_job = lambda job, arg=None: (setattr(r, "job", job), start(arg))
    yield r
    r.shutdown()


def _run(runner, qtbot, job, arg=None):
    with qtbot.waitSignal(runner.finished, timeout=TIMEOUT_MS) as blocker:
        runner.start_job(job, arg)
    assert not runner.is_busy()
    return blocker.args[0]


@pytest.mark.parametrize(
    ("job", "expected"),
    [
        (worker_jobs.unpicklable_result, "the worker process cannot send its result back: "),
        (worker_jobs.unpicklable_partial, "the worker process cannot send its intermediate result back: "),
        (worker_jobs.unreadable_result, "a reply of the worker process could not be read: "),
    ],
    ids=["result", "partial", "unreadable"],
)
def test_a_reply_that_cannot_be_sent_is_an_error_and_the_next_request_works(runner, qtbot, job, expected):
    first = _run(runner, qtbot, worker_jobs.pid)
    assert first != os.getpid()
    failed = []
    runner.failed.connect(failed.append)
    with qtbot.waitSignal(runner.failed, timeout=TIMEOUT_MS) as blocker:
        runner.start_job(job)
    message = blocker.args[0]
    assert message.startswith(expected) and "\n" not in message
    if job is not worker_jobs.unreadable_result:
        assert "lock" in message  # what could not be pickled
    else:
        assert "cannot be rebuilt here" in message
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=TIMEOUT_MS)
    # the same process serves the next request
    assert _run(runner, qtbot, worker_jobs.pid) == first
    assert len(failed) == 1


def test_a_request_that_cannot_be_pickled_fails_with_a_message(runner, qtbot):
    import threading

    with qtbot.waitSignal(runner.failed, timeout=TIMEOUT_MS) as blocker:
        runner.start_job(worker_jobs.pid, threading.Lock())
    assert "cannot be sent to its worker process" in blocker.args[0] and "lock" in blocker.args[0]
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=TIMEOUT_MS)
    assert _run(runner, qtbot, worker_jobs.pid) != os.getpid()


def test_a_killed_process_fails_its_request_and_the_next_one_starts_a_new_process(runner, qtbot, tmp_path):
    started = tmp_path / "started"
    runner.start_job(worker_jobs.sleeps_until_cancelled, started)
    qtbot.waitUntil(lambda: started.exists() and started.read_text() != "", timeout=TIMEOUT_MS)
    pid = int(started.read_text())
    assert pid != os.getpid() and runner.is_busy()
    with qtbot.waitSignal(runner.failed, timeout=TIMEOUT_MS) as blocker:
        os.kill(pid, signal.SIGKILL)
    assert CRASHED[runner.kind] in blocker.args[0] and "killed by signal 9" in blocker.args[0]
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=TIMEOUT_MS)
    assert _run(runner, qtbot, worker_jobs.pid) not in (pid, os.getpid())


def test_a_superseded_request_is_cancelled_and_never_shown(runner, qtbot, tmp_path):
    started = tmp_path / "started"
    shown = []
    runner.finished.connect(shown.append)
    runner.start_job(worker_jobs.sleeps_until_cancelled, started)
    qtbot.waitUntil(lambda: started.exists() and started.read_text() != "", timeout=TIMEOUT_MS)
    pid = _run(runner, qtbot, worker_jobs.pid)  # stops the sleeper at its next step
    assert shown == [pid] and pid == int(started.read_text())
