"""Big projects clear in a separate process (the solver's C calls hold the GIL and would freeze the window on
a thread): the same protocol as the thread pool — stages, supersede, failures — and a crash is survived."""

from __future__ import annotations

import os
import signal

import pytest

from core.market import MarketSettings
from core.scenario.generate import teaching_5bus
from gui.workers.market import MarketRunner

TIMEOUT_MS = 60000
TEACH = teaching_5bus()


@pytest.fixture
def runner(qtbot):
    r = MarketRunner()  # the default: a process
    yield r
    r.shutdown()


def test_the_process_clears_the_chapters_auction_in_two_stages(runner, qtbot):
    previews, finals = [], []
    runner.preview.connect(previews.append)
    runner.finished.connect(finals.append)
    with qtbot.waitSignal(runner.finished, timeout=TIMEOUT_MS):
        runner.request(TEACH, MarketSettings(mechanism="uniform"))
    assert runner.uses_process and runner._proc.process.pid != os.getpid()
    # the chapter's example: 2 kWh at 8.5 (k = 0.5); the audit follows the market
    assert [p.pending for p in previews] == [("properties audit", "mechanism comparison"), ("mechanism comparison",)]
    (final,) = finals
    assert final.summary["price_per_kwh"] == pytest.approx(8.5) and final.pending == ()
    assert final.comparison is not None and runner.follows_preview and not runner.is_busy()


def test_a_newer_request_supersedes_and_a_failure_is_one_line(runner, qtbot):
    shown, failed = [], []
    runner.finished.connect(lambda r: shown.append(r.settings.mechanism))
    runner.failed.connect(failed.append)
    runner.request(TEACH, MarketSettings(mechanism="vcg"))
    runner.request(TEACH, MarketSettings(mechanism="pay_as_bid"))
    qtbot.waitUntil(lambda: bool(shown) and not runner.is_busy(), timeout=TIMEOUT_MS)
    assert shown == ["pay_as_bid"]
    with qtbot.waitSignal(runner.failed, timeout=TIMEOUT_MS):
        runner.request(TEACH, MarketSettings(period=3))
    assert failed == ["period 3 is outside the horizon (0…0)"]


def test_a_process_that_dies_fails_its_request_and_the_next_one_works(runner, qtbot, projects_dir):
    from core.scenario.io import load_project

    slow = load_project(projects_dir / "ieee33-community.json")  # the day with every diagnostic: ~1 s
    with qtbot.waitSignal(runner.progress, timeout=TIMEOUT_MS):  # the process picked the request up
        runner.request(slow, MarketSettings(period=18))
    first = runner._proc.process
    with qtbot.waitSignal(runner.failed, timeout=TIMEOUT_MS) as blocker:
        os.kill(first.pid, signal.SIGKILL)
    assert "computation process stopped unexpectedly" in blocker.args[0]
    assert not runner.is_busy()
    with qtbot.waitSignal(runner.finished, timeout=TIMEOUT_MS) as blocker:
        runner.request(TEACH, MarketSettings(mechanism="vcg", audit=False))
    assert runner._proc.process is not first and runner._proc.process.is_alive()
    assert blocker.args[0].summary["platform_surplus"] == pytest.approx(-2.0)  # VCG's deficit by hand


def test_the_window_clears_a_project_in_the_process_and_draws_its_panels_in_turns(window, projects_dir, qtbot):
    window.runner.process_mode = True  # as the application does (the tests' windows clear on a thread)
    window.progressive_panels = True  # as on a big project
    assert window.open_path(projects_dir / "teaching-5bus.json", ask=False)
    window.market_controls.set_mechanism("vcg")
    qtbot.waitUntil(
        lambda: (
            window.market_result is not None
            and window.market_result.settings.mechanism == "vcg"
            and not window.market_result.pending
            and not window.runner.is_busy()
            and window.panels_settled()
        ),
        timeout=TIMEOUT_MS,
    )
    assert window.runner.uses_process
    result = window.market_result
    # every panel shows the same result, whichever turn drew it
    assert window.curves.result is window.agent_results.result is window.market_power.result
    assert window.curves.result.summary["platform_surplus"] == pytest.approx(-2.0)
    assert window.properties.result.comparison.equals(result.comparison) and window.properties.isEnabled()
    assert window.compare.result is result and window.compare.isEnabled()
    assert window.feeder.period == window.market_controls.period.value()


def test_the_worker_ends_when_the_dashboard_dies(tmp_path):
    """A dashboard killed without closing (no atexit) must not leave its worker process behind."""
    import subprocess
    import sys
    import time

    script = tmp_path / "dies.py"
    script.write_text(
        "import os, signal, sys\n"
        "os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
        "def main():\n"
        "    from PySide6.QtWidgets import QApplication\n"
        "    app = QApplication([])\n"
        "    from core.market import MarketSettings\n"
        "    from core.scenario.generate import teaching_5bus\n"
        "    from gui.workers.market import MarketRunner\n"
        "    r = MarketRunner()\n"
        "    r.finished.connect(lambda _r: (print(r._proc.process.pid, flush=True), os.kill(os.getpid(), 9)))\n"
        "    r.request(teaching_5bus(), MarketSettings(mechanism='uniform', audit=False))\n"
        "    app.exec()\n"
        "if __name__ == '__main__':\n"
        "    main()\n"
    )
    out = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=os.getcwd(),
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    worker = int(out.stdout.split()[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.kill(worker, signal.SIGKILL)
        pytest.fail("the worker outlived the dashboard by 10 s")


# --- the Nash search in its own process ---------------------------------------------------------------


def test_the_nash_search_runs_in_its_process_finds_9_and_cancels(qtbot, projects_dir):
    from core.nash_run import NashRequest
    from core.scenario.io import load_project
    from gui.workers.nash import NashRunner

    runner = NashRunner()  # the default: a process
    try:
        # the teaching auction (test_fairness_power, by hand): the sellers settle at 9 ¢/kWh against 8.5
        with qtbot.waitSignal(runner.finished, timeout=TIMEOUT_MS) as blocker:
            runner.start(NashRequest(TEACH, 0, "uniform", players=3))
        outcome = blocker.args[0]
        assert runner._proc.process.pid != os.getpid() and runner._proc.process.is_alive()
        assert outcome.result.converged and outcome.result.price == pytest.approx(9.0)
        assert outcome.existence is not None and not runner.is_busy()
        # a long search (10 sellers withholding on the 33-bus evening) stops at the next best response
        slow = NashRequest(
            load_project(projects_dir / "ieee33-community.json"), 19, "uniform", players=10, withhold=True
        )
        with qtbot.waitSignal(runner.progress, timeout=TIMEOUT_MS):
            runner.start(slow)
        with qtbot.waitSignal(runner.finished, timeout=TIMEOUT_MS) as blocker:
            runner.cancel()
        assert blocker.args[0].result.cancelled and "cancelled" in blocker.args[0].existence_note
    finally:
        runner.shutdown()
    assert runner._proc is None
