"""Scenario studies (core.study): sweeps and Monte Carlo, in this process and on a Dask LocalCluster.

Numbers checked by hand on the teaching feeder (bids 12, 10, 8; asks 5, 7, 9 ¢/kWh, 1 kWh each):
shading by s = 0.2 makes the bids 9.6, 8, 6.4 and the asks 6, 8.4, 10.8, so only the first pair
trades; its declared gain is 9.6 − 6 = 3.6 and its true gain 12 − 5 = 7.
"""

from __future__ import annotations

import json
import math
import textwrap

import pandas as pd
import pytest

import core.study as study
from core import __version__
from core.cli import main
from core.scenario.io import load_project
from core.study import (
    TIMING_COLUMNS,
    SpecError,
    StudyError,
    example_spec,
    load_spec,
    parse_spec,
    peak_demand_kw,
    perturb,
    read_results,
    run_study,
    scale_demand,
    with_pv_penetration,
)

TEACHING = """\
schema_version = 1
name = "teaching"
base = "teaching-5bus.json"
seed = 3

[axes]
mechanism = ["welfare", "uniform", "pay_as_bid", "vcg"]
bid_shading = [0.0, 0.2]
"""

TEACHING_NOISY = (
    TEACHING
    + """
[draws]
n = 1
demand_std = 0.1
bid_std = 0.05
"""
)


def spec_file(tmp_path, text, name="spec.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def without_timings(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=list(TIMING_COLUMNS))


def row(table: pd.DataFrame, **axes) -> pd.Series:
    mask = pd.Series(True, index=table.index)
    for k, v in axes.items():
        mask &= table[k] == v
    assert mask.sum() == 1, axes
    return table[mask].iloc[0]


# --- numbers --------------------------------------------------------------------------------------


def test_teaching_points_give_the_chapters_numbers(tmp_path):
    spec = load_spec(spec_file(tmp_path, TEACHING))
    assert len(spec.points) == 8 and spec.skipped_combinations == 0
    table = run_study(spec, workers=0).table
    assert list(table.status) == ["ok"] * 8
    uniform = row(table, mechanism="uniform", bid_shading=0.0)
    assert uniform.price_per_kwh == pytest.approx(8.5)
    assert uniform.traded_kwh == pytest.approx(2.0)
    assert uniform.welfare == pytest.approx(10.0) and uniform.declared_gains == pytest.approx(10.0)
    assert uniform.platform_surplus == pytest.approx(0.0, abs=1e-9)
    assert uniform.hhi == pytest.approx(0.5)  # two sellers with 1 kWh each
    assert row(table, mechanism="vcg", bid_shading=0.0).platform_surplus == pytest.approx(-2.0)
    assert row(table, mechanism="pay_as_bid", bid_shading=0.0).platform_surplus == pytest.approx(10.0)
    welfare = row(table, mechanism="welfare", bid_shading=0.0)
    assert welfare.welfare == pytest.approx(10.0, abs=1e-6)
    assert welfare.price_per_kwh == pytest.approx(8.5, abs=1e-6)  # the middle of [8, 9], the prices that clear
    for mech in ("uniform", "welfare"):
        shaded = row(table, mechanism=mech, bid_shading=0.2)
        assert shaded.traded_kwh == pytest.approx(1.0, abs=1e-6)
        assert shaded.declared_gains == pytest.approx(3.6, abs=1e-6)  # 9.6 − 6, as declared
        assert shaded.welfare == pytest.approx(7.0, abs=1e-6)  # 12 − 5, truly
    means = study.pivot(table)  # mechanism × bid_shading (k varies only as NaN: not an axis of this study)
    assert sorted(means.index) == ["pay_as_bid", "uniform", "vcg", "welfare"] and list(means.columns) == [0.0, 0.2]
    assert means.loc["uniform", 0.2] == pytest.approx(7.0)
    assert table.point.tolist() == list(range(8))
    assert table.point_id.is_unique and table.point_id.str.len().eq(16).all()


def test_k_fairness_and_network_axes_keep_only_what_the_market_runs(tmp_path):
    spec = load_spec(
        spec_file(
            tmp_path,
            """\
        schema_version = 1
        base = "teaching-5bus.json"
        [axes]
        mechanism = ["welfare", "uniform"]
        k = [0.0, 0.5, 1.0]
        fairness = ["efficiency", "maxmin"]
        network = ["none", "lindistflow"]
        """,
        )
    )
    # welfare: k does not apply (one point per fairness × network), max-min needs the copper plate;
    # uniform: no fairness rule, no network, one point per k
    table = run_study(spec, workers=0).table
    assert len(table) == 6 and (table.status == "ok").all()
    assert table[table.mechanism == "welfare"].k.isna().all()
    uniform = table[table.mechanism == "uniform"].set_index("k")
    assert uniform.price_per_kwh.to_dict() == pytest.approx({0.0: 8.0, 0.5: 8.5, 1.0: 9.0})  # k-pricing on [8, 9]
    maxmin = row(table, mechanism="welfare", fairness="maxmin")
    assert maxmin.network == "none"
    assert maxmin.fairness_welfare_gain == pytest.approx(9.6, abs=1e-4)  # the README's 9.6 instead of 10
    assert maxmin.price_of_fairness == pytest.approx(0.04, abs=1e-5)
    networked = row(table, mechanism="welfare", network="lindistflow")
    assert networked.largest_dlmp_component == "loss" and networked.loss_kwh > 0


def test_pv_penetration_scales_pv_then_adds_seeded_prosumers(projects_dir):
    s = load_project(projects_dir / "teaching-5bus.json")
    assert peak_demand_kw(s) == pytest.approx(3.0)  # three 1 kW flexible buyers

    def pv(x):
        return {p.id: p for p in x.prosumers if p.asset is not None and p.asset.kind == "pv"}

    half = pv(with_pv_penetration(s, 0.5))
    assert list(half) == ["S1"] and half["S1"].asset.p_max_kw == pytest.approx(1.5)
    assert half["S1"].bids[0].quantity_kwh == pytest.approx(1.5)  # its explicit ask follows its capacity
    none = pv(with_pv_penetration(s, 0.0))
    assert none["S1"].asset.p_max_kw == 0.0 and none["S1"].bids == ()
    full = pv(with_pv_penetration(s, 1.0, seed=5))
    assert full["S1"].asset.p_max_kw == pytest.approx(2.0)  # scaled by at most PV_MAX_SCALE
    added = [p for k, p in full.items() if k != "S1"]
    assert len(added) == 1 and added[0].bus in {"2", "4"}  # a load bus without PV
    assert added[0].asset.p_max_kw == pytest.approx(1.0)
    assert sum(p.asset.p_max_kw for p in full.values()) == pytest.approx(3.0)
    assert pv(with_pv_penetration(s, 1.0, seed=5)).keys() == full.keys()  # seeded

    big = load_project(projects_dir / "ieee33-community.json")
    peak = peak_demand_kw(big)
    low, high = with_pv_penetration(big, 0.3, seed=1), with_pv_penetration(big, 2.5, seed=1)
    assert sum(p.p_max_kw for p in (x.asset for x in pv(low).values())) == pytest.approx(0.3 * peak)
    assert sum(p.p_max_kw for p in (x.asset for x in pv(high).values())) == pytest.approx(2.5 * peak)
    assert set(pv(low)) <= set(pv(high))


def test_demand_scale_and_noise(projects_dir):
    s = load_project(projects_dir / "ieee33-community.json")
    assert peak_demand_kw(scale_demand(s, 2.0)) == pytest.approx(2.0 * peak_demand_kw(s))
    a = perturb(s, seed=1, draw=0, demand_std=0.1, pv_std=0.1, bid_std=0.1)
    b = perturb(s, seed=1, draw=0, demand_std=0.1, pv_std=0.1, bid_std=0.1)
    c = perturb(s, seed=1, draw=1, demand_std=0.1, pv_std=0.1, bid_std=0.1)
    assert a == b and a != c
    # a prosumer's noise is its own: dropping the others does not change it
    alone = perturb(s.removing_prosumers(range(1, len(s.prosumers))), seed=1, draw=0, demand_std=0.1)
    assert alone.prosumers[0].demand_kw == perturb(s, seed=1, draw=0, demand_std=0.1).prosumers[0].demand_kw
    for p in a.prosumers:
        if p.asset is not None and p.asset.kind == "pv":
            assert all(0.0 <= v <= 1.0 for v in p.asset.availability_pu)


# --- where it runs ----------------------------------------------------------------------------------


def test_in_process_and_on_a_local_cluster_give_the_identical_table(tmp_path):
    spec = load_spec(spec_file(tmp_path, TEACHING_NOISY))
    assert len(spec.points) == 8
    here = run_study(spec, workers=0)
    cluster = run_study(spec, tmp_path / "cluster.parquet", workers=2)  # a LocalCluster of 2 processes
    assert here.workers == 0 and cluster.workers == 2 and cluster.computed == 8
    assert (here.table.status == "ok").all()
    pd.testing.assert_frame_equal(without_timings(here.table), without_timings(cluster.table), check_exact=True)
    saved, _meta = read_results(tmp_path / "cluster.parquet")
    pd.testing.assert_frame_equal(without_timings(saved), without_timings(here.table), check_exact=True)


def test_the_same_spec_and_seed_give_the_same_table(tmp_path):
    ranges = "bid_shading = { start = 0.0, stop = 0.3 }\ndemand_scale = { start = 0.5, stop = 1.5 }"
    text = (
        TEACHING.replace("seed = 3", 'seed = 3\nmode = "random"\nsamples = 6').replace(
            "bid_shading = [0.0, 0.2]", ranges
        )
        + "\n[draws]\nn = 2\ndemand_std = 0.1\npv_std = 0.1\nbid_std = 0.1\n"
    )
    first = run_study(load_spec(spec_file(tmp_path, text)), workers=0).table
    second = run_study(load_spec(spec_file(tmp_path, text, "again.toml")), workers=0).table
    assert len(first) == 12
    pd.testing.assert_frame_equal(without_timings(first), without_timings(second), check_exact=True)
    other = load_spec(spec_file(tmp_path, text.replace("seed = 3", "seed = 4"), "other.toml"))
    assert {p.point_id for p in other.points}.isdisjoint(first.point_id)


# --- failures and resuming -----------------------------------------------------------------------


def test_an_infeasible_point_is_recorded_and_the_study_finishes(tmp_path):
    spec = load_spec(
        spec_file(
            tmp_path,
            """\
        schema_version = 1
        base = "ieee33-constrained.json"
        [axes]
        network = ["lindistflow"]
        demand_scale = [1.0, 1.5]
        period = [19]
        """,
        )
    )
    table = run_study(spec, workers=0).table
    assert list(table.status) == ["ok", "infeasible"]
    ok, bad = table.iloc[0], table.iloc[1]
    assert "infeasible" in bad.message and math.isnan(bad.welfare)
    assert ok.message == "" and ok.v_min_pu >= 0.934 - 1e-6  # the constrained feeder's voltage floor
    assert ok.dlmp_max_per_kwh > ok.dlmp_min_per_kwh and ok.loss_kwh > 0
    assert ok.largest_dlmp_component in {"loss", "congestion", "voltage"}


def test_an_interrupted_study_resumes_without_recomputing(tmp_path, monkeypatch):
    spec = load_spec(spec_file(tmp_path, TEACHING))
    out = tmp_path / "results.parquet"
    calls = []
    real = study.run_point
    monkeypatch.setattr(study.run, "run_point", lambda *a: calls.append(a[1].point_id) or real(*a))
    first = run_study(spec, out, workers=0, cancelled=lambda: len(calls) >= 3)
    assert first.cancelled and first.computed == 3 and len(calls) == 3
    assert len(read_results(out)[0]) == 3  # the finished points are on disk
    calls.clear()
    seen = []
    second = run_study(spec, out, workers=0, progress=lambda done, total: seen.append((done, total)))
    assert second.reused == 3 and second.computed == 5 and len(calls) == 5 and not second.cancelled
    assert seen[0] == (3, 8) and seen[-1] == (8, 8)
    fresh = run_study(spec, workers=0).table
    pd.testing.assert_frame_equal(without_timings(second.table), without_timings(fresh), check_exact=True)
    calls.clear()
    assert run_study(spec, out, workers=0).computed == 0 and calls == []


def test_results_of_another_study_are_not_mixed_in(tmp_path):
    out = tmp_path / "results.parquet"
    run_study(load_spec(spec_file(tmp_path, TEACHING)), out, workers=0)
    other = load_spec(spec_file(tmp_path, TEACHING.replace("seed = 3", "seed = 9"), "other.toml"))
    with pytest.raises(StudyError, match="not in this study"):
        run_study(other, out, workers=0)


HEAD = 'schema_version = 1\nbase = "teaching-5bus.json"\n[axes]\n'


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            HEAD + 'mechanism = ["uniform"]\nshading = [0.1]\n',
            5,
            ["axes.shading", "unknown axis 'shading'", "bid_shading"],
        ),
        (HEAD + "demand_scale = { start = 1.0, stop = 2.0, num = 0 }\n", 4, ["empty range"]),
        (HEAD + "demand_scale = []\n", 4, ["is empty"]),
        (HEAD + 'mechanism = ["welfare", "dutch"]\n', 4, ["unknown mechanism 'dutch'", "trade_reduction"]),
        (HEAD + "period = [5]\n", 4, ["outside the base project's horizon"]),
        ('schema_version = 1\nbase = "nowhere.json"\n', 2, ["'nowhere.json' not found"]),
        ('schema_version = 2\nbase = "teaching-5bus.json"\n', 1, ["reads schema_version 1, got 2"]),
        (HEAD + "mechanism = [uniform]\n", 4, ["not valid TOML"]),
        (HEAD + 'mechanism = ["uniform"]\n[draws]\nn = 2\nnoise = 0.1\n', 7, ["unknown key 'noise'"]),
    ],
    ids=[
        "unknown-axis",
        "empty-range",
        "empty-list",
        "unknown-mechanism",
        "period",
        "missing-base",
        "schema-version",
        "toml-syntax",
        "draws-key",
    ],
)
def test_a_bad_spec_names_the_line(tmp_path, capsys, text, line, words):
    path = spec_file(tmp_path, text)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert err.value.problems[0].line == line
    message = str(err.value)
    assert message.startswith(f"{path}: line {line}")
    for w in words:
        assert w in message
    assert main(["study", str(path), "-o", str(tmp_path / "r.parquet")]) == 2
    assert f"line {line}" in capsys.readouterr().err


# --- the example and the command line -----------------------------------------------------------------


def test_the_example_spec_parses_and_runs(tmp_path, capsys):
    assert main(["study", "--example"]) == 0
    text = capsys.readouterr().out
    assert text == example_spec()
    spec = parse_spec(text, tmp_path / "spec.toml")  # a bare base name: found in the bundled projects
    assert spec.base_file.name == "ieee33-community.json"
    assert len(spec.points) == 72 and spec.swept == ("mechanism", "period", "pv_penetration", "demand_scale")
    run = run_study(spec, workers=0, points=spec.points[::25])  # a reduced size: 3 points
    assert len(run.table) == 3 and (run.table.status == "ok").all()
    assert set(run.table.mechanism) == {"welfare", "uniform", "vcg"}


def test_the_study_command_writes_parquet_with_its_spec(tmp_path, capsys):
    path = spec_file(tmp_path, TEACHING)
    out = tmp_path / "results.parquet"
    assert main(["study", str(path), "-o", str(out), "--workers", "0", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "status: ok 8, infeasible 0, error 0" in printed and "mean welfare" in printed
    assert "bid_shading" in printed and "pay_as_bid" in printed
    table, meta = read_results(out)
    assert len(table) == 8 and meta["spec"] == path.read_text(encoding="utf-8")
    assert meta["version"] == __version__ and meta["base"] == "teaching-5bus.json"
    assert json.loads(json.dumps(meta))["format"] == "feeder-market-study"
    assert main(["study", str(path), "-o", str(out), "--workers", "0", "--quiet"]) == 0
    assert "0 computed in this process, 8 reused" in capsys.readouterr().out
    assert main(["study", str(path), "-o", str(out), "--scheduler", "tcp://x:8786", "--workers", "2"]) == 2
