"""clear_stages: the market first, its diagnostics after — and the same numbers as clear()."""

from dataclasses import replace

import numpy as np
import pytest

from core.fairness import allocate, compare_rules
from core.market import DIAGNOSTICS, MarketSettings, clear, clear_stages
from core.scenario.generate import teaching_5bus

TEACH = teaching_5bus()


def _teach(**kw) -> MarketSettings:
    return MarketSettings(**{"period": 0, **kw})


def test_the_market_comes_first_and_the_diagnostics_follow():
    # max-min with transfers on the teaching feeder (by hand in test_fairness): B3 buys 0.4 kWh from S3,
    # everyone gains 1.6, PoF 4 %
    stages = list(clear_stages(TEACH, _teach(fairness="maxmin")))
    first, last = stages[0], stages[-1]
    assert first.pending == (
        "decentralised check",
        "properties audit",
        "price iteration",
        "fairness comparison",
        "mechanism comparison",
    )
    assert set(first.pending) <= set(DIAGNOSTICS)
    # one more diagnostic per stage, each arriving in its own result
    assert [s.pending for s in stages] == [first.pending[k:] for k in range(6)]
    assert stages[1].summary["max_trade_gap_kw"] < 1e-4 and stages[1].audit is None
    assert stages[2].audit is not None and stages[2].trace is None
    assert stages[3].trace is not None and stages[3].fairness_comparison is None
    # the market and the chosen rule's allocation are there at once…
    assert first.fairness.utility.to_numpy() == pytest.approx(np.full(6, 1.6), abs=1e-4)
    assert first.fairness_summary["welfare_gain"] == pytest.approx(9.6, abs=1e-4)
    assert first.market_power is not None and first.curves is not None
    # …the diagnostics only in the last result
    assert first.trace is None and first.audit is None and first.comparison is None
    assert first.fairness_comparison is None and first.envy is None and "max_trade_gap_kw" not in first.summary
    assert last.pending == ()
    assert last.trace is not None and last.audit is not None and last.envy is not None
    assert stages[4].mechanisms is None and last.mechanisms is not None
    assert last.summary["max_trade_gap_kw"] < 1e-4
    assert last.fairness_summary["price_of_fairness"] == pytest.approx(0.04, abs=1e-4)
    # the same clearing underneath: the last result completes the first, it does not re-clear
    assert last.periods.price_per_kwh.to_numpy() == pytest.approx(first.periods.price_per_kwh.to_numpy())
    assert last.agents.equals(first.agents)


def test_a_result_already_yielded_is_never_changed():
    stages = clear_stages(TEACH, _teach(fairness="proportional"))
    first = next(stages)
    summary, fs = dict(first.summary), dict(first.fairness_summary)
    *_, last = stages
    assert first.summary == summary and first.fairness_summary == fs and first.pending
    assert first.fairness_comparison is None and first.trace is None and first.audit is None
    assert last.fairness_comparison is not None and last.pending == ()


def test_the_last_stage_is_what_clear_returns():
    settings = _teach(mechanism="uniform")
    *_, last = clear_stages(TEACH, settings)
    whole = clear(TEACH, settings)
    assert last.pending == whole.pending == ()
    assert last.comparison.equals(whole.comparison)
    assert whole.summary["price_per_kwh"] == pytest.approx(8.5)  # the chapter's example


def test_nothing_pending_gives_one_result():
    quiet = _teach(mechanism="vcg", audit=False, compare=False)
    (only,) = clear_stages(TEACH, quiet)
    assert only.pending == () and only.audit is None
    quiet = _teach(audit=False, tatonnement=False, decentralised_check=False, fairness_audit=False, compare=False)
    (only,) = clear_stages(TEACH, quiet)
    assert only.pending == () and only.fairness is None


def test_a_cancelled_run_stops_after_the_first_result():
    calls = []

    def cancelled() -> bool:
        calls.append(1)
        return True

    stages = list(clear_stages(replace(TEACH, name="cancel me"), _teach(), cancelled=cancelled))
    assert len(stages) == 1 and stages[0].pending and stages[0].trace is None
    assert calls


def test_compare_rules_takes_an_allocation_it_already_has():
    known = allocate(TEACH, "maxmin", transfers=True)
    fresh = compare_rules(TEACH, transfers=True)
    reused = compare_rules(TEACH, transfers=True, known={"maxmin": known})
    cols = ["welfare_gain", "price_of_fairness", "jain", "gini", "worst_off", "envious_pairs"]
    assert reused[cols].to_numpy() == pytest.approx(fresh[cols].to_numpy(), abs=1e-6)
    # a "known" allocation is taken as given (not solved again): a doctored one shows through
    doctored = replace(known, welfare_gain=1.0)
    assert compare_rules(TEACH, transfers=True, known={"maxmin": doctored}).loc["maxmin", "welfare_gain"] == 1.0


def test_an_edit_solves_only_the_changed_agents_outside_option(monkeypatch, projects_dir):
    import core.market.cache as cache_module
    from core.market import ClearingCache
    from core.scenario.io import load_project
    from core.welfare import outside_option

    s = load_project(projects_dir / "ieee33-community.json")
    cache = ClearingCache()
    first = cache.outside_option(s)
    assert first == pytest.approx(outside_option(s), rel=1e-6, abs=1e-6)  # a fresh solve of everyone
    i = next(k for k, p in enumerate(s.prosumers) if sum(p.demand_kw) > 0)
    p = s.prosumers[i]
    edited = s.with_prosumer(i, replace(p, demand_kw=tuple(1.5 * d for d in p.demand_kw)))
    solved = []
    real = cache_module.outside_option

    def counting(scenario, *args, **kwargs):
        solved.append([q.id for q in scenario.prosumers])
        return real(scenario, *args, **kwargs)

    monkeypatch.setattr(cache_module, "outside_option", counting)
    again = cache.outside_option(edited)
    assert solved == [[p.id]]  # one small problem: the edited agent alone
    fresh = outside_option(edited)
    assert again == pytest.approx(fresh, rel=1e-6, abs=1e-6)
    assert again[i] != pytest.approx(first[i], rel=1e-3)  # more demand: its bill at the tariffs changed
    # the same project again: nothing to solve
    solved.clear()
    assert cache.outside_option(edited) == pytest.approx(again, abs=0)
    assert solved == []
    # forgetting the solutions solves everyone again
    cache.forget_solutions()
    cache.outside_option(edited)
    assert solved == [[q.id for q in edited.prosumers]]


@pytest.mark.parametrize(
    ("project", "changes"),
    [
        ("teaching-5bus.json", {"mechanism": "welfare"}),
        ("teaching-5bus.json", {"mechanism": "uniform"}),
        ("teaching-5bus.json", {"mechanism": "vcg"}),
        ("teaching-5bus.json", {"fairness": "maxmin"}),
        ("ieee33-constrained.json", {"network": "ac", "audit": False, "compare": False}),
        ("ieee33-constrained.json", {"network": "socp", "audit": False, "compare": False}),
    ],
)
def test_every_headline_number_is_in_the_summary_schema(projects_dir, project, changes):
    """One schema for the summary whatever the branch (core.market.SUMMARY_KEYS): a key a clearing writes that the
    schema does not know is a key a panel or an export cannot explain."""
    from core.market import SUMMARY_KEYS, ClearingCache
    from core.scenario import load_project

    s = load_project(projects_dir / project)
    r = clear(s, MarketSettings(period=min(19, s.periods - 1), **changes), cache=ClearingCache())
    unknown = sorted(set(r.summary) - set(SUMMARY_KEYS))
    assert unknown == []
    # the day's scale is the same under every mechanism
    assert {"welfare", "traded_kwh", "gain_over_outside", "ir_violations", "status"} <= set(r.summary)
    assert r.summary["status"] in ("optimal", "optimal_inaccurate")
