"""What the dashboard's Studies panel needs from core.study: a spec from a project in memory, rows as they
finish, and a results file's spec found again.

The teaching feeder (bids 12, 10, 8; asks 5, 7, 9 ¢/kWh, 1 kWh each; PV S1 of 1 kW, peak demand 3 kW).
"""

from __future__ import annotations

import math
import textwrap
import tomllib
from dataclasses import replace

import pandas as pd
import pytest

from core.scenario.io import load_project, save_project
from core.study import (
    TIMING_COLUMNS,
    UNSAVED_BASE,
    Draws,
    SpecError,
    StudyError,
    base_reference,
    evening_peak_period,
    parse_spec,
    read_results,
    results_table,
    run_study,
    spec_for_scenario,
    spec_of_results,
    toml_text,
    write_results,
)

AXES = {
    "mechanism": ["welfare", "uniform", "vcg"],
    "fairness": ["efficiency", "maxmin"],
    "pv_penetration": {"start": 0.2, "stop": 0.8, "num": 3},
    "bid_shading": [0.0, 0.1],
}
# as a user would write the same study by hand
HAND_WRITTEN = """\
schema_version = 1
name = "by hand"
base = "copy.json"
seed = 7

[axes]
mechanism = ["welfare", "uniform", "vcg"]
fairness = ["efficiency", "maxmin"]
pv_penetration = { start = 0.2, stop = 0.8, num = 3 }
bid_shading = [0.0, 0.1]

[draws]
n = 2
demand_std = 0.1
bid_std = 0.05
"""


@pytest.fixture
def teaching(projects_dir):
    return load_project(projects_dir / "teaching-5bus.json")


def ids(spec) -> list[str]:
    return [p.point_id for p in spec.points]


def without_timings(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=list(TIMING_COLUMNS))


# --- a spec from the project in memory ----------------------------------------------------------------


def test_a_spec_from_memory_has_the_points_of_the_same_spec_file(tmp_path, teaching):
    save_project(teaching, tmp_path / "copy.json")
    (tmp_path / "study.toml").write_text(HAND_WRITTEN, encoding="utf-8")
    from_file = parse_spec(HAND_WRITTEN, tmp_path / "study.toml")
    draws = Draws(n=2, demand_std=0.1, bid_std=0.05)
    in_memory = spec_for_scenario(teaching, AXES, base_file=tmp_path / "copy.json", seed=7, draws=draws)
    # 3 mechanisms × 2 rules: welfare × {efficiency, max-min}, uniform and vcg × efficiency = 4 of 6 pairs,
    # × 3 PV penetrations × 2 shadings × 2 draws
    assert len(from_file.points) == 4 * 3 * 2 * 2 == 48
    assert from_file.skipped_combinations == 2 * 3 * 2
    assert ids(in_memory) == ids(from_file)
    assert in_memory.skipped_combinations == from_file.skipped_combinations
    assert in_memory.options == from_file.options
    assert in_memory.base_file == tmp_path / "copy.json" and in_memory.base is teaching
    # its text is a spec file: saved beside anything, parse_spec reads the same points from it
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "saved.toml").write_text(in_memory.text, encoding="utf-8")
    assert ids(parse_spec(in_memory.text, elsewhere / "saved.toml")) == ids(from_file)
    assert tomllib.loads(in_memory.text)["base"] == (tmp_path / "copy.json").resolve().as_posix()


def test_an_edited_project_gives_other_point_ids(teaching):
    first = spec_for_scenario(teaching, {"mechanism": ["uniform"]})
    again = spec_for_scenario(teaching, {"mechanism": ["uniform"]})
    assert ids(first) == ids(again)
    edited = teaching.with_prosumer(0, replace(teaching.prosumers[0], name="renamed"))
    assert ids(spec_for_scenario(edited, {"mechanism": ["uniform"]})) != ids(first)


def test_the_base_a_spec_names(tmp_path, teaching, projects_dir):
    bundled = spec_for_scenario(teaching, {"mechanism": ["uniform"]}, base_file=projects_dir / "teaching-5bus.json")
    assert tomllib.loads(bundled.text)["base"] == "teaching-5bus.json"  # found wherever the spec is saved
    assert ids(parse_spec(bundled.text, tmp_path / "anywhere.toml")) == ids(bundled)
    assert base_reference(None) == UNSAVED_BASE
    unsaved = spec_for_scenario(teaching, {"mechanism": ["uniform"]})
    assert unsaved.base_file is None and unsaved.base_ref == UNSAVED_BASE
    assert "never saved" in unsaved.text
    with pytest.raises(SpecError) as err:  # the CLI cannot run it, and says why
        parse_spec(unsaved.text, tmp_path / "unsaved.toml")
    assert err.value.problems[0].field == "base" and "not found" in str(err.value)
    modified = spec_for_scenario(teaching, {"mechanism": ["uniform"]}, base_file=tmp_path / "p.json", modified=True)
    assert "unsaved changes" in modified.text


def test_bad_choices_are_spec_errors_naming_the_axis(teaching):
    with pytest.raises(SpecError) as err:
        spec_for_scenario(teaching, {"mechanism": []})
    assert err.value.problems[0].field == "axes.mechanism" and "empty" in err.value.problems[0].message
    with pytest.raises(SpecError) as err:
        spec_for_scenario(teaching, {"mechanism": ["uniform", "vcg"], "fairness": ["maxmin"]})
    assert err.value.problems[0].field == "axes" and "welfare clearing only" in err.value.problems[0].message
    with pytest.raises(SpecError) as err:
        spec_for_scenario(teaching, {"period": [3]})  # the teaching project has one period
    assert "outside the base project's horizon (0…0)" in str(err.value)
    with pytest.raises(SpecError) as err:
        spec_for_scenario(teaching, {"pv_penetration": [math.nan]})
    assert err.value.problems[0].field == "axes.pv_penetration"
    with pytest.raises(SpecError) as err:
        spec_for_scenario(teaching, {"mechanism": ["uniform"]}, mode="random")
    assert "samples" in str(err.value)


def test_toml_text_writes_values_that_read_back_exactly():
    axes = {"k": [0.1, 1 / 3, 1e-05, 0.0], "period": {"start": 0, "stop": 23, "num": 24}, "mechanism": ["uniform"]}
    text = toml_text(
        'C:\\projects\\"odd" name.json',
        axes,
        name="PV — 10 % → 80 %",
        mode="random",
        samples=5,
        seed=3,
        draws=Draws(n=4, pv_std=0.25),
        market={"audit": True, "envy": False},
        comment="two\nlines",
    )
    data = tomllib.loads(text)
    assert data["base"] == 'C:\\projects\\"odd" name.json' and data["name"] == "PV — 10 % → 80 %"
    assert data["axes"]["k"] == [0.1, 1 / 3, 1e-05, 0.0]
    assert data["axes"]["period"] == {"start": 0, "stop": 23, "num": 24}
    assert list(data["axes"]) == ["mechanism", "period", "k"]  # AXES order
    assert data["draws"] == {"n": 4, "pv_std": 0.25}
    assert data["market"] == {"audit": True}  # only what differs from the defaults
    assert (data["mode"], data["samples"], data["seed"]) == ("random", 5, 3)
    assert text.startswith("# two\n# lines\n")
    assert "[draws]" not in toml_text("p.json", {}, draws=Draws())  # one draw, no noise: no table


def test_the_evening_peak(teaching, projects_dir):
    assert evening_peak_period(teaching) == 0  # one period, at noon
    s = load_project(projects_dir / "ieee33-community.json")
    s = s.removing_prosumers([i for i, p in enumerate(s.prosumers) if p.flexible is not None])
    profile = [1.0] * 24
    profile[8], profile[17], profile[20] = 5.0, 2.0, 3.0  # the morning is higher, the evening peaks at 20:00
    s = replace(s, prosumers=tuple(replace(p, demand_kw=tuple(profile), demand_kvar=None) for p in s.prosumers))
    assert evening_peak_period(s) == 20
    night = replace(s, horizon=replace(s.horizon, start_hour=22.0, step_h=0.25))  # 22:00 … 03:45
    assert evening_peak_period(night) == 18


# --- rows as they finish ------------------------------------------------------------------------------


def test_on_row_gets_every_computed_row_before_its_progress(teaching):
    spec = spec_for_scenario(teaching, {"mechanism": ["welfare", "uniform", "vcg"], "bid_shading": [0.0, 0.2]})
    events: list = []
    run = run_study(
        spec,
        workers=0,
        on_row=lambda r: events.append(("row", r["point"])),
        progress=lambda done, total: events.append(("progress", done)),
    )
    assert events[0] == ("progress", 0)
    rows = [e for e in events if e[0] == "row"]
    assert len(rows) == run.computed == 6
    for i, (_kind, point) in enumerate(rows):  # each row comes just before the progress that counts it
        j = events.index(("row", point))
        assert events[j + 1] == ("progress", i + 1)
    collected: list[dict] = []
    again = run_study(spec, workers=0, on_row=collected.append)
    pd.testing.assert_frame_equal(
        without_timings(results_table(collected)), without_timings(again.table), check_exact=True
    )
    assert sorted(collected[0]) == sorted(run.table.columns)


# --- a results file's spec, found again -------------------------------------------------------------


def test_the_spec_of_a_results_file(tmp_path, teaching):
    project = tmp_path / "proj.json"
    save_project(teaching, project)
    spec = spec_for_scenario(teaching, {"mechanism": ["uniform", "vcg"]}, base_file=project)
    run = run_study(spec, workers=0)
    out = tmp_path / "results" / "r.parquet"
    write_results(run.table, out, spec)
    table, meta = read_results(out)
    assert meta["currency"] == "¢" and meta["base_file"] == str(project)
    again = spec_of_results(meta, near=out, table=table)
    assert ids(again) == ids(spec) and again.base == teaching
    # the project edited on disk since: its points are other points
    save_project(teaching.with_prosumer(0, replace(teaching.prosumers[0], name="edited")), project)
    with pytest.raises(StudyError, match="has changed since the study ran"):
        spec_of_results(meta, near=out, table=table)
    spec_of_results(meta, near=out)  # without the table: not checked
    project.unlink()
    with pytest.raises(StudyError, match="cannot be found"):
        spec_of_results(meta, near=out)
    unsaved = spec_for_scenario(teaching, {"mechanism": ["uniform"]})
    write_results(run_study(unsaved, workers=0).table, tmp_path / "u.parquet", unsaved)
    with pytest.raises(StudyError, match="never saved"):
        spec_of_results(read_results(tmp_path / "u.parquet")[1], near=tmp_path)


def test_a_spec_file_s_relative_base_is_found_beside_the_spec(tmp_path, teaching):
    folder = tmp_path / "study"
    folder.mkdir()
    save_project(teaching, folder / "copy.json")
    spec_path = folder / "s.toml"
    spec_path.write_text(textwrap.dedent(HAND_WRITTEN), encoding="utf-8")
    spec = parse_spec(HAND_WRITTEN, spec_path)
    out = tmp_path / "elsewhere" / "r.parquet"
    write_results(results_table([]), out, spec)
    _table, meta = read_results(out)
    assert ids(spec_of_results(meta, near=out)) == ids(spec)


def test_results_written_again_from_their_metadata(tmp_path, teaching):
    spec = spec_for_scenario(teaching, {"mechanism": ["uniform"]})
    table = run_study(spec, workers=0).table
    write_results(table, tmp_path / "a.parquet", spec)
    read, meta = read_results(tmp_path / "a.parquet")
    write_results(read, tmp_path / "b.parquet", None, metadata=meta)
    again, meta_again = read_results(tmp_path / "b.parquet")
    assert meta_again == meta
    pd.testing.assert_frame_equal(again, read)
    with pytest.raises(ValueError, match="spec or its metadata"):
        write_results(read, tmp_path / "c.parquet", None)
