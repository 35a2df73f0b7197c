"""The numerics policy: an inaccurate optimum is accepted with a warning that reaches the result; a failed solve is a
ClearingError naming what was solved; the log goes to a file."""

from __future__ import annotations

import subprocess
import sys

import cvxpy as cp
import pytest

from core import numerics
from core.errors import ClearingError
from core.market import MarketSettings, clear
from core.scenario.generate import teaching_5bus as teaching_scenario


def test_an_inaccurate_optimum_is_kept_with_a_warning():
    with numerics.collect_warnings() as said:
        numerics.check_status("optimal", "the welfare clearing")
        assert said == []
        numerics.check_status("optimal_inaccurate", "the welfare clearing")
    assert len(said) == 1 and said[0].startswith("the welfare clearing: the solver reported an inaccurate solution")
    numerics.check_status("optimal_inaccurate", "outside any block")  # logged only, nothing raised


@pytest.mark.parametrize("status", ["infeasible", "unbounded", "infeasible_inaccurate", "user_limit", None])
def test_anything_else_is_a_clearing_error_that_says_what(status):
    with pytest.raises(ClearingError, match=r"^the welfare clearing (has no|stopped before it found an answer)") as err:
        numerics.check_status(status, "the welfare clearing")
    assert err.value.status == (status or "solver_error")


def test_the_network_clearing_says_unbounded_and_stopped_in_words():
    from core.pricing import _infeasible_reason

    s = teaching_scenario()
    assert "has no finite optimum" in _infeasible_reason("unbounded", s, None, (0,))
    assert "stopped before it found an answer" in _infeasible_reason("user_limit", s, None, (0,))


def test_an_infeasible_problem_is_a_clearing_error_with_its_reason():
    x = cp.Variable()
    problem = cp.Problem(cp.Minimize(x), [x >= 1, x <= 0])
    with pytest.raises(ClearingError, match="x cannot be both ≥ 1 and ≤ 0") as err:
        numerics.solve(problem, "a toy", reason=lambda status: "x cannot be both ≥ 1 and ≤ 0")
    assert err.value.status == "infeasible"
    y = cp.Variable()
    assert numerics.solve(cp.Problem(cp.Minimize((y - 2) ** 2)), "a parabola") == pytest.approx(0.0, abs=1e-8)


def test_the_market_result_carries_the_solvers_warning(monkeypatch):
    import core.welfare as welfare

    real = welfare._solve_checked

    def inaccurate(problem, what, **kwargs):  # the solver says "optimal_inaccurate" for the welfare clearing
        value = real(problem, what, **kwargs)
        if what == "the welfare-maximising clearing":
            numerics.check_status("optimal_inaccurate", what)
        return value

    monkeypatch.setattr(welfare, "_solve_checked", inaccurate)
    from core.market import ClearingCache

    r = clear(teaching_scenario(), MarketSettings(audit=False, tatonnement=False, compare=False), cache=ClearingCache())
    assert r.summary["status"] == "optimal_inaccurate"
    assert "the welfare-maximising clearing: the solver reported an inaccurate solution" in r.summary["solver_warning"]
    monkeypatch.setattr(welfare, "_solve_checked", real)
    clean = clear(
        teaching_scenario(), MarketSettings(audit=False, tatonnement=False, compare=False), cache=ClearingCache()
    )
    assert clean.summary["status"] == "optimal" and "solver_warning" not in clean.summary


def test_the_log_goes_to_its_file(tmp_path):
    log = tmp_path / "logs" / "feeder-market.log"
    code = (
        "import logging, sys; from pathlib import Path; from core import logs, numerics\n"
        f"assert logs.configure(Path({str(log)!r})) == Path({str(log)!r})\n"
        "assert logs.configure(None) == logs.log_file()  # once per process\n"
        "numerics.check_status('optimal_inaccurate', 'a test solve')\n"
        "logging.getLogger('core.study').info('a point failed')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(numerics.__file__).rsplit("/core/", 1)[0])
    text = log.read_text(encoding="utf-8")
    assert "WARNING" in text and "a test solve: the solver reported an inaccurate solution" in text
    assert "INFO" in text and "a point failed" in text


def test_the_terminal_gets_warning_lines_in_the_command_lines_style():
    code = (
        "from core import logs, numerics\n"
        "logs.configure(None)\n"
        "numerics.check_status('optimal_inaccurate', 'a test solve')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        cwd=str(numerics.__file__).rsplit("/core/", 1)[0],
    )
    assert done.stderr.startswith("warning: a test solve: the solver reported an inaccurate solution")
    assert "MainProcess" not in done.stderr and len(done.stderr.splitlines()) == 1


def test_an_inaccurate_step_that_a_later_solve_refines_is_logged_not_shown():
    with numerics.collect_warnings() as said:
        numerics.check_status(
            "optimal_inaccurate",
            "the proportionally fair allocation",
            refined="its gains only set the floors of the tie-break",
        )
    assert said == []
    with pytest.raises(ClearingError):  # refined or not, an infeasible problem is an error
        numerics.check_status("infeasible", "the proportionally fair allocation", refined="…")


def test_a_failed_solve_is_said_about_the_market_not_the_solver():
    import cvxpy as cp

    from core.errors import ClearingError
    from core.numerics import solve

    x = cp.Variable()
    with pytest.raises(ClearingError) as info:
        solve(cp.Problem(cp.Maximize(x), [x >= 0]), "the price response")  # more is always better: no optimum
    assert str(info.value).startswith("the price response has no finite optimum")
    assert "CLARABEL" not in str(info.value) and "unbounded" not in str(info.value)
    with pytest.raises(ClearingError, match="has no feasible answer: the limits"):
        solve(cp.Problem(cp.Minimize(x), [x >= 1, x <= 0]), "the clearing")
