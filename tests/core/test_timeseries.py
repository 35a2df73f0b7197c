"""Per-period profiles as CSV (core.scenario.timeseries): round trips, the report, other horizons, bad cells."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from core.errors import ScenarioError
from core.scenario.io import load_project
from core.scenario.timeseries import export_profiles_csv, import_profiles_csv, read_profiles_csv

PROJECTS = Path(__file__).resolve().parents[2] / "projects"


@pytest.fixture(scope="module")
def ieee33():
    return load_project(PROJECTS / "ieee33-community.json")


def _write(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return path


def _read(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _quarter_hours(scenario, path: Path, ids=None) -> Path:
    """A wide file of 96 × 15 min: each hour's demand held over its four quarters."""
    ids = [p.id for p in scenario.prosumers] if ids is None else ids
    demand = {p.id: p.demand_kw for p in scenario.prosumers}
    rows = [["time", *ids]]
    for t in range(96):
        rows.append([f"{t * 15 // 60:02d}:{t * 15 % 60:02d}", *(repr(demand[i][t // 4]) for i in ids)])
    return _write(path, rows)


@pytest.mark.parametrize("name", ["ieee33-community.json", "ieee33-constrained.json", "teaching-5bus.json"])
@pytest.mark.parametrize("long", [False, True])
def test_export_then_import_gives_the_same_project(tmp_path, name, long):
    s = load_project(PROJECTS / name)
    path = export_profiles_csv(s, tmp_path / "profiles.csv", long=long)
    back, report = import_profiles_csv(path, s)
    assert back == s
    assert report.layout == ("long" if long else "wide")
    assert not report.unknown_ids and not report.missing_ids and not report.horizon_changed


def test_import_changes_the_profiles_of_another_project(tmp_path, ieee33):
    """The file's values land in the fields they name (demand, availability, a price), nothing else moves."""
    path = export_profiles_csv(ieee33, tmp_path / "p.csv")
    rows = _read(path)
    header = rows[0]
    rows[1 + 12][header.index("c2")] = "7.5"
    rows[1 + 12][header.index("c3:availability_pu")] = "0.25"
    rows[1 + 3][header.index("wholesale_price_per_kwh")] = "0.5"
    back, _ = import_profiles_csv(_write(path, rows), ieee33)
    idx = back.prosumer_index()
    assert back.prosumers[idx["c2"]].demand_kw[12] == 7.5
    assert back.prosumers[idx["c3"]].asset.availability_pu[12] == 0.25
    assert back.feeder.substation.wholesale_price_per_kwh[3] == 0.5
    assert back.feeder.lines == ieee33.feeder.lines and back.horizon == ieee33.horizon


def test_unmatched_ids_are_reported_both_ways(tmp_path, ieee33):
    path = export_profiles_csv(ieee33, tmp_path / "p.csv")
    rows = _read(path)
    header = rows[0]
    keep = [k for k, h in enumerate(header) if not h.startswith("c4")]  # drop c4 (it has demand_kvar too)
    rows = [[r[k] for k in keep] for r in rows]
    rows[0][rows[0].index("c2")] = "nobody"
    back, report = import_profiles_csv(_write(path, rows), ieee33)
    assert report.unknown_ids == ("nobody",)
    assert set(report.missing_ids) == {"c4"}  # c2's kvar column is still there: it is named by the file
    assert any("not in the project: 'nobody'" in line for line in report.lines())
    assert any("not in the file: 'c4'" in line for line in report.lines())
    assert back == ieee33  # nothing of nobody's went anywhere; c2 kept its demand


def test_long_layout_rows_sorted_by_id_and_grid_rows(tmp_path, ieee33):
    rows = [["id", "time", "value", "quantity"]]
    for t in range(24):
        rows.append(["c2", f"{t:02d}:00", "1.5", "demand_kw"])
    for t in range(24):  # a second series: its clock starts again at 00:00 (not the next day)
        rows.append(["", f"{t:02d}:00", "0.3", "retail_import_price_per_kwh"])
    back, report = import_profiles_csv(_write(tmp_path / "l.csv", rows), ieee33)
    assert report.layout == "long" and report.series == 2 and not report.horizon_changed
    assert back.prosumers[back.prosumer_index()["c2"]].demand_kw == (1.5,) * 24
    assert back.tariffs.retail_import_price_per_kwh == (0.3,) * 24


def test_a_96_period_project_clears(tmp_path, ieee33):
    from core.market import MarketSettings, clear

    q, report = import_profiles_csv(_quarter_hours(ieee33, tmp_path / "q.csv"), ieee33)
    assert (q.periods, q.horizon.step_h, q.horizon.start_hour) == (96, 0.25, 0.0)
    assert report.horizon_changed and "wholesale_price_per_kwh" in report.resampled
    assert "demand_kw" not in report.resampled  # the file gave every demand: nothing of it was resampled
    # prices by clock time: the four quarters of hour k take hour k's price
    old = ieee33.tariffs.retail_import_price_per_kwh
    assert q.tariffs.retail_import_price_per_kwh == tuple(old[t // 4] for t in range(96))
    # a ramp of R kW per hour is R/4 kW per quarter hour
    ramps = [(a.asset, b.asset) for a, b in zip(ieee33.prosumers, q.prosumers, strict=True) if a.asset is not None]
    assert any(a.ramp_kw_per_period for a, _ in ramps)
    for a, b in ramps:
        if a.ramp_kw_per_period is not None:
            assert math.isclose(b.ramp_kw_per_period, a.ramp_kw_per_period / 4)
    settings = MarketSettings(audit=False, tatonnement=False, decentralised_check=False, period=60)
    result = clear(q, settings)
    assert len(result.periods) == 96 and result.period == 60
    assert result.summary["step_h"] == 0.25
    # the same day in quarter hours: the day's demand energy is the hourly project's
    e_q = sum(sum(p.demand_kw) for p in q.prosumers) * 0.25
    e_h = sum(sum(p.demand_kw) for p in ieee33.prosumers) * 1.0
    assert math.isclose(e_q, e_h, rel_tol=1e-12)
    day = clear(ieee33, MarketSettings(audit=False, tatonnement=False, decentralised_check=False))
    assert math.isclose(result.summary["grid_import_kwh"], day.summary["grid_import_kwh"], rel_tol=0.02)


def test_another_horizon_needs_every_demand(tmp_path, ieee33):
    path = _quarter_hours(ieee33, tmp_path / "q.csv", ids=["c2", "c3"])
    with pytest.raises(ScenarioError) as ei:
        import_profiles_csv(path, ieee33)
    text = str(ei.value)
    assert str(path) in text and "demand_kw" in text and "96 × 15 min" in text and "'c4'" in text


def test_several_days_of_clock_times(tmp_path, ieee33):
    ids = [p.id for p in ieee33.prosumers]
    demand = {p.id: p.demand_kw for p in ieee33.prosumers}
    rows = [["time", *ids]] + [[f"{t % 24:02d}:00", *(repr(demand[i][t % 24]) for i in ids)] for t in range(72)]
    s, report = import_profiles_csv(_write(tmp_path / "d.csv", rows), ieee33)
    assert report.horizon_changed and report.horizon_after.periods == 72
    assert (s.periods, s.horizon.step_h) == (72, 1.0)
    assert s.feeder.substation.wholesale_price_per_kwh == ieee33.feeder.substation.wholesale_price_per_kwh * 3
    # and as dates: the same horizon
    rows2 = [rows[0]] + [[f"2024-06-{21 + t // 24} {t % 24:02d}:00", *r[1:]] for t, r in enumerate(rows[1:])]
    s2, _ = import_profiles_csv(_write(tmp_path / "d2.csv", rows2), ieee33)
    assert s2 == s
    # the export of a 3-day project reads back the same
    back, _ = import_profiles_csv(export_profiles_csv(s, tmp_path / "e.csv"), s)
    assert back == s


def test_a_bad_cell_is_named_by_file_column_and_line(tmp_path, ieee33):
    path = export_profiles_csv(ieee33, tmp_path / "p.csv")
    rows = _read(path)
    rows[6][rows[0].index("c5")] = "1,5"  # line 7 of the file
    with pytest.raises(ScenarioError) as ei:
        import_profiles_csv(_write(path, rows), ieee33)
    err = ei.value
    assert err.file == str(path) and err.field == "c5" and err.row == 7
    assert "line 7" in str(err) and "decimal separator" in str(err)


def test_a_value_the_model_refuses_is_named_by_column_and_line(tmp_path, ieee33):
    path = export_profiles_csv(ieee33, tmp_path / "p.csv", long=True)
    rows = _read(path)
    k = next(i for i, r in enumerate(rows) if r[1] == "c3" and r[2] == "availability_pu" and r[0] == "10:00")
    rows[k][3] = "1.5"
    with pytest.raises(ScenarioError) as ei:
        import_profiles_csv(_write(path, rows), ieee33)
    err = ei.value
    assert err.field == "c3:availability_pu" and err.row == k + 1 and "period 10" in str(err)


@pytest.mark.parametrize(
    ("rows", "field", "line", "words"),
    [
        ([["hour", "c2"], ["00:00", "1"]], "time", 1, "required column"),
        ([["time", "c2"], ["00:00", "1"], ["01:00", "1"], ["01:30", "1"]], "time", 4, "evenly spaced"),
        ([["time", "c2"], ["00:00", "1"], ["noon", "1"]], "time", 3, "clock time"),
        ([["time", "c2"], ["00:00", "1"], ["01:00", ""]], "c2", 3, "empty cell"),
        ([["time", "id", "quantity", "value"], ["00:00", "c2", "demand_mw", "1"]], "quantity", 2, "demand_kw"),
        ([["time", "id", "quantity", "value"], ["00:00", "", "demand_kw", "1"]], "id", 2, "name the prosumer"),
        ([["time", "c2", "c2"], ["00:00", "1", "1"]], "c2", 1, "twice"),
    ],
)
def test_bad_files_say_where(tmp_path, ieee33, rows, field, line, words):
    path = _write(tmp_path / "bad.csv", rows)
    with pytest.raises(ScenarioError) as ei:
        import_profiles_csv(path, ieee33)
    err = ei.value
    assert (err.file, err.field, err.row) == (str(path), field, line), str(err)
    assert words in str(err)


def test_a_quantity_the_prosumer_cannot_have(tmp_path, ieee33):
    rows = [["time", "c2:availability_pu"]] + [[f"{t:02d}:00", "0.5"] for t in range(24)]
    with pytest.raises(ScenarioError, match="no asset") as ei:
        import_profiles_csv(_write(tmp_path / "a.csv", rows), ieee33)
    assert ei.value.field == "c2:availability_pu" and ei.value.row == 2


def test_missing_and_empty_files(tmp_path, ieee33):
    with pytest.raises(ScenarioError, match="no such file"):
        import_profiles_csv(tmp_path / "none.csv", ieee33)
    (tmp_path / "e.csv").write_text("time,c2\n")
    with pytest.raises(ScenarioError, match="no data"):
        import_profiles_csv(tmp_path / "e.csv", ieee33)


def test_read_profiles_reports_the_files_horizon(tmp_path):
    rows = [["time", "x"], ["2.5", "1"], ["2.75", "2"]]  # hours
    layout, horizon, series = read_profiles_csv(_write(tmp_path / "h.csv", rows))
    assert layout == "wide" and (horizon.periods, horizon.step_h, horizon.start_hour) == (2, 0.25, 2.5)
    assert series[("x", "demand_kw")].values == {0: 1.0, 1: 2.0}


def test_the_export_is_atomic_and_keeps_full_precision(tmp_path, ieee33):
    path = tmp_path / "p.csv"
    path.write_text("old")
    export_profiles_csv(ieee33, path)
    rows = _read(path)
    assert rows[0][0] == "time" and len(rows) == 25
    assert not list(tmp_path.glob(".p.csv.*"))


def test_a_study_runs_on_a_96_period_project(tmp_path, ieee33):
    """Studies take the quarter-hour day as it is: the period axis counts quarter hours, each point's price is the
    clearing's of that quarter hour, and the evening peak a new study suggests is a quarter hour of the evening."""
    import textwrap

    from core.market import MarketSettings, clear
    from core.scenario.io import save_project
    from core.study import evening_peak_period, load_spec, run_study

    q, _ = import_profiles_csv(_quarter_hours(ieee33, tmp_path / "q.csv"), ieee33)
    save_project(q, tmp_path / "quarter.json")
    peak = evening_peak_period(q)
    assert 64 <= peak < 88  # 16:00–22:00 in quarter hours
    assert peak // 4 == evening_peak_period(ieee33)  # the hourly day's evening peak hour, held over its quarters
    spec_path = tmp_path / "study.toml"
    spec_path.write_text(
        textwrap.dedent(
            """\
            schema_version = 1
            name = "quarter hours"
            base = "quarter.json"
            [axes]
            mechanism = ["uniform"]
            period = [48, 95]
            [market]
            audit = false
            market_power = false
            """
        ),
        encoding="utf-8",
    )
    table = run_study(load_spec(spec_path), workers=0).table
    assert list(table.status) == ["ok", "ok"] and sorted(table.period) == [48, 95]
    for t in (48, 95):
        want = clear(q, MarketSettings(mechanism="uniform", audit=False, period=t)).periods.price_per_kwh.iloc[t]
        got = table[table.period == t].price_per_kwh.iloc[0]
        assert math.isfinite(want) and got == pytest.approx(want)


def test_a_series_the_file_gives_everywhere_is_not_said_resampled(tmp_path, ieee33):
    path = _quarter_hours(ieee33, tmp_path / "q.csv")
    rows = _read(path)
    rows[0].append("wholesale_price_per_kwh")
    for r in rows[1:]:
        r.append("0.1")
    q, report = import_profiles_csv(_write(path, rows), ieee33)
    assert q.feeder.substation.wholesale_price_per_kwh == (0.1,) * 96
    assert "wholesale_price_per_kwh" not in report.resampled and "retail_import_price_per_kwh" in report.resampled


def test_two_days_of_dated_hours_import_and_clear(tmp_path, ieee33):
    """48 hourly rows over two dates: a 48-period horizon; the second day's prices and PV are the first's by clock
    time, the second day's demand the file's (half of the first), and the market clears every hour."""
    from core.market import MarketSettings, clear

    ids = [p.id for p in ieee33.prosumers]
    demand = {p.id: p.demand_kw for p in ieee33.prosumers}
    rows = [["time", *ids]]
    for t in range(48):
        scale = 1.0 if t < 24 else 0.5
        rows.append([f"2016-06-{21 + t // 24} {t % 24:02d}:00", *(repr(scale * demand[i][t % 24]) for i in ids)])
    two, report = import_profiles_csv(_write(tmp_path / "two.csv", rows), ieee33)
    assert (two.periods, two.horizon.step_h) == (48, 1.0) and report.horizon_changed
    price = two.feeder.substation.wholesale_price_per_kwh
    assert price == ieee33.feeder.substation.wholesale_price_per_kwh * 2
    pv = next(p for p in two.prosumers if p.asset is not None and p.asset.kind == "pv")
    assert pv.asset.availability_pu[:24] == pv.asset.availability_pu[24:]
    for p in two.prosumers:
        assert p.demand_kw[24:] == tuple(0.5 * v for v in demand[p.id])
    result = clear(two, MarketSettings(audit=False, tatonnement=False, decentralised_check=False, period=36))
    assert len(result.periods) == 48 and result.period == 36
    assert result.periods.price_per_kwh.notna().all()
