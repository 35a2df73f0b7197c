"""The Studies panel as a user drives it, on the teaching project (one period at noon; 1 kWh bids 12, 10, 8 and
asks 5, 7, 9 ¢/kWh; the PV seller S1 has 1 kW, the peak demand is 3 kW).

Each study the panel runs is checked against an independent path: the same study written as a TOML file,
parsed by ``core.study.parse_spec`` and run by ``core.study.run_study`` directly.

The panel's default run ("in this computer") goes to a worker process (:mod:`gui.workers.studies`), one for the
whole application: the tests share it (spawning one costs about a second), except the one that kills it.
"""

from __future__ import annotations

import os
import signal

import pandas as pd
import pytest

from core.scenario.io import load_project
from core.study import TIMING_COLUMNS, parse_spec, run_study, with_pv_penetration
from gui.studies import StudiesPanel

TIMEOUT_MS = 30000
STUDY = """\
schema_version = 1
base = "teaching-5bus.json"
[axes]
mechanism = ["welfare", "uniform", "vcg"]
pv_penetration = { start = 0.2, stop = 0.8, num = 3 }
period = [0]
"""


def pv_kw(scenario) -> float:
    return sum(p.asset.p_max_kw for p in scenario.prosumers if p.asset is not None and p.asset.kind == "pv")


def without_timings(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=list(TIMING_COLUMNS)).reset_index(drop=True)


@pytest.fixture
def path(projects_dir):
    return projects_dir / "teaching-5bus.json"


@pytest.fixture
def panel(qtbot, path):
    w = StudiesPanel()
    qtbot.addWidget(w, before_close_func=lambda p: p.shutdown())
    w.set_scenario(load_project(path), path)
    w.resize(1100, 700)
    w.show()
    return w


def run_and_wait(panel, qtbot) -> None:
    assert panel.run()
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=TIMEOUT_MS)


@pytest.fixture
def ran(panel, qtbot):
    """The panel after running STUDY (mechanism × 3 PV penetrations)."""
    panel.set_axes({"mechanism": ["welfare", "uniform", "vcg"], "pv_penetration": (0.2, 0.8, 3), "period": (0, 0, 1)})
    run_and_wait(panel, qtbot)
    return panel


def test_the_default_study_and_its_count(panel):
    spec = panel.validate_now()
    # mechanism {welfare, uniform, vcg} × PV 0.1 … 0.8 (8 values) at the evening peak (here: the only period, 0)
    assert spec is not None and len(spec.points) == 24
    assert panel.axes() == {
        "mechanism": ["welfare", "uniform", "vcg"],
        "pv_penetration": {"start": 0.1, "stop": 0.8, "num": 8},
        "period": [0],
    }
    assert "24 points" in panel.count_label.text()
    assert panel.run_button.isEnabled() and not panel.problem_label.isVisible()
    assert panel.stack.currentWidget() is panel.empty and "Choose axes and press Run" in panel.empty.text()


def test_the_count_is_the_number_of_points_of_the_spec(panel):
    panel.set_axes(
        {
            "mechanism": ["welfare", "uniform", "vcg"],
            "fairness": ["efficiency", "maxmin"],
            "pv_penetration": (0.1, 0.5, 3),
        }
    )
    panel.set_draws(2, demand_std=0.1)
    spec = panel.validate_now()
    independent = parse_spec(
        STUDY.replace("period = [0]", 'fairness = ["efficiency", "maxmin"]').replace(
            "start = 0.2, stop = 0.8", "start = 0.1, stop = 0.5"
        )
        + "[draws]\nn = 2\ndemand_std = 0.1\n"
    )
    # welfare × {efficiency, max-min}, uniform and vcg × efficiency: 4 of 6 pairs × 3 PV × 2 draws
    assert len(spec.points) == len(independent.points) == 24
    assert [p.point_id for p in spec.points] == [p.point_id for p in independent.points]
    text = panel.count_label.text()
    assert "24 points" in text and "12 × 2 draws" in text
    assert "6 combinations skipped" in text and "welfare clearing only" in text


def test_an_invalid_choice_says_why_and_cannot_run(panel):
    panel.set_axes({"mechanism": [], "pv_penetration": (0.1, 0.8, 8)})
    assert panel.validate_now() is None
    assert panel.problem_label.isVisible() and not panel.run_button.isEnabled()
    assert "Mechanism: is empty: give at least one value" in panel.problem_label.text()
    assert "Traceback" not in panel.problem_label.text()
    assert panel.run() is False and not panel.is_running()
    panel.set_axes({"mechanism": ["uniform", "vcg"], "fairness": ["maxmin"]})
    panel.validate_now()
    assert "welfare clearing only" in panel.problem_label.text() and not panel.run_button.isEnabled()
    panel.set_axes({"mechanism": ["uniform"]})
    assert panel.validate_now() is not None and panel.run_button.isEnabled()
    assert not panel.problem_label.isVisible()


def test_a_run_fills_the_table_and_the_lines_with_run_study_s_numbers(ran, qtbot):
    direct = run_study(parse_spec(STUDY), workers=0).table
    assert len(direct) == 9 and (direct.status == "ok").all()
    pd.testing.assert_frame_equal(without_timings(ran.table), without_timings(direct), check_exact=True)
    assert ran.model.rowCount() == 9 and "Done: 9 points" in ran.state.text()
    assert ran.bar.value() == ran.bar.maximum() == 9
    # lines: one per mechanism, the metric (the gain over the grid alone, one scale for all) against PV penetration
    assert ran.view.currentData() == "lines" and ran.stack.currentWidget() is ran.lines_plot
    assert ran.metric_combo.currentData() == "gain_over_outside"
    assert set(ran.line_curves) == {"welfare", "uniform", "vcg"}
    for metric in ("gain_over_outside", "traded_kwh", "welfare"):
        ran.metric_combo.setCurrentIndex(ran.metric_combo.findData(metric))
        for mech, curve in ran.line_curves.items():
            x, y = curve.getData()
            rows = direct[direct.mechanism == mech].sort_values("pv_penetration")
            assert list(x) == pytest.approx([0.2, 0.5, 0.8])
            assert list(y) == pytest.approx(rows[metric].tolist())
    # another metric: the price of the uniform auction; VCG has none (a legend says so)
    ran.metric_combo.setCurrentIndex(ran.metric_combo.findData("price_per_kwh"))
    assert set(ran.line_curves) == {"welfare", "uniform"} and "no value: VCG" in ran.legend.text()
    uniform = direct[direct.mechanism == "uniform"].sort_values("pv_penetration")
    assert list(ran.line_curves["uniform"].getData()[1]) == pytest.approx(uniform.price_per_kwh.tolist())
    assert "¢/kWh" in ran.lines_plot.getPlotItem().getAxis("left").labelText


def test_cancel_stops_the_study_and_keeps_the_finished_rows(panel, qtbot):
    panel.set_axes(
        {"mechanism": ["welfare", "uniform", "pay_as_bid", "vcg", "trade_reduction"], "pv_penetration": (0.0, 1.0, 100)}
    )
    assert len(panel.validate_now().points) == 500
    assert panel.run()
    # the plot follows the rows as they come in (every REFRESH_MS), long before the end
    qtbot.waitUntil(lambda: len(panel.table) >= 1, timeout=TIMEOUT_MS)
    assert panel.is_running() and panel.stack.currentWidget() is panel.lines_plot and panel.line_curves
    assert panel.runner.process_pid not in (None, os.getpid())  # in the worker process
    assert "Running:" in panel.state.text() and " / 500 points" in panel.state.text()
    assert panel.cancel_button.isEnabled()
    panel.cancel()
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=TIMEOUT_MS)
    run = panel.runner.last_run
    assert run.cancelled and 1 <= run.computed < 500
    assert len(panel.table) == run.computed and (panel.table.status == "ok").all()
    assert "Cancelled after" in panel.state.text() and "kept" in panel.state.text()
    # the rows kept are the study's first points, as run_study computes them
    direct = run_study(panel.spec, workers=0, points=panel.spec.points[: run.computed]).table
    pd.testing.assert_frame_equal(without_timings(panel.table), without_timings(direct), check_exact=True)
    assert panel.run_button.isEnabled() and not panel.cancel_button.isEnabled()


def test_clicking_a_point_opens_its_scenario(ran, qtbot, path):
    base = load_project(path)
    curve = ran.line_curves["uniform"]
    spot = curve.scatter.points()[1]  # PV penetration 0.5
    with qtbot.waitSignal(ran.openPoint, timeout=2000) as blocker:
        curve.sigPointsClicked.emit(curve, [spot], None)  # what a click on the marker emits
    scenario, settings, description = blocker.args
    assert pv_kw(scenario) == pytest.approx(pv_kw(with_pv_penetration(base, 0.5, 0))) == pytest.approx(1.5)
    assert settings.mechanism == "uniform" and settings.period == 0
    assert "Uniform price" in description and "0.5" in description
    # a heat-map cell: PV 0.8 (column 2) × VCG (row 2)
    ran.view.setCurrentIndex(ran.view.findData("heat"))
    assert ran.stack.currentWidget() is ran.heat_plot
    with qtbot.waitSignal(ran.openPoint, timeout=2000) as blocker:
        assert ran.heat_cell_clicked(2, 2)
    scenario, settings, _ = blocker.args
    assert settings.mechanism == "vcg" and pv_kw(scenario) == pytest.approx(pv_kw(with_pv_penetration(base, 0.8)))
    # a table row (double-click): the first row is point 0, welfare at PV 0.2
    with qtbot.waitSignal(ran.openPoint, timeout=2000) as blocker:
        assert ran.open_row(0)
    scenario, settings, _ = blocker.args
    assert settings.mechanism == "welfare" and pv_kw(scenario) == pytest.approx(0.2 * 3.0)


def test_histogram_over_draws(panel, qtbot):
    panel.set_axes({"mechanism": ["uniform", "pay_as_bid"], "period": (0, 0, 1)})
    panel.set_draws(6, demand_std=0.2, bid_std=0.1)
    run_and_wait(panel, qtbot)
    assert len(panel.table) == 12
    panel.view.setCurrentIndex(panel.view.findData("histogram"))
    panel.metric_combo.setCurrentIndex(panel.metric_combo.findData("welfare"))
    assert panel.stack.currentWidget() is panel.hist_view and len(panel.hist_plots) == 2
    data = panel.plot_data
    assert data.groupby("group").points.sum().to_dict() == {"pay_as_bid": 6, "uniform": 6}
    uniform = panel.table[panel.table.mechanism == "uniform"].welfare
    assert data[data.group == "uniform"]["mean"].iat[0] == pytest.approx(uniform.mean())
    assert "5–95 %" in panel.legend.text()


def test_results_saved_and_loaded_again(ran, qtbot, tmp_path):
    saved = ran.save_results(tmp_path / "study.parquet")
    ran.export_table(tmp_path / "study.csv")
    csv = pd.read_csv(tmp_path / "study.csv")
    assert len(csv) == 9 and list(csv.columns) == list(ran.table.columns)
    ran.save_spec(tmp_path / "study.toml")
    assert [p.point_id for p in parse_spec((tmp_path / "study.toml").read_text(), tmp_path / "study.toml").points] == [
        p.point_id for p in ran.spec.points
    ]
    other = StudiesPanel()
    qtbot.addWidget(other, before_close_func=lambda p: p.shutdown())
    assert other.load_results(saved)
    pd.testing.assert_frame_equal(other.table, ran.table, check_exact=True)
    assert other.spec is not None and set(other.line_curves) == {"welfare", "uniform", "vcg"}
    assert "loaded from study.parquet" in other.title.text()
    with qtbot.waitSignal(other.openPoint, timeout=2000):
        assert other.open_row(3)
    assert not other.load_results(tmp_path / "study.csv")  # not a study: a message, the results stay
    assert "not a readable Parquet file" in other.state.text() and len(other.table) == 9


def test_results_of_an_unsaved_project_plot_but_cannot_open_points(qtbot, path, tmp_path):
    panel = StudiesPanel()
    qtbot.addWidget(panel, before_close_func=lambda p: p.shutdown())
    panel.set_scenario(load_project(path), None)  # never saved
    panel.set_axes({"mechanism": ["uniform", "vcg"], "pv_penetration": (0.2, 0.8, 2)})
    run_and_wait(panel, qtbot)
    panel.save_results(tmp_path / "unsaved.parquet")
    other = StudiesPanel()
    qtbot.addWidget(other, before_close_func=lambda p: p.shutdown())
    assert other.load_results(tmp_path / "unsaved.parquet")
    assert other.spec is None and len(other.table) == 4
    assert other.stack.currentWidget() is other.lines_plot and set(other.line_curves) == {"uniform", "vcg"}
    other.metric_combo.setCurrentIndex(other.metric_combo.findData("welfare"))
    assert "¢" in other.metric_combo.currentText()  # the currency came with the file
    assert not other.open_row(0)
    assert "never saved" in other.hint.text()


def test_a_run_studies_the_project_as_it_is_when_run(panel, qtbot, path):
    from dataclasses import replace

    base = load_project(path)
    panel.set_axes({"mechanism": ["uniform"], "pv_penetration": (0.5, 0.5, 1)})
    assert panel.validate_now().base is not None
    s1 = base.prosumers[3]
    assert s1.id == "S1"
    edited = base.with_prosumer(3, replace(s1, asset=replace(s1.asset, p_max_kw=2.0)))  # an edit, same horizon
    panel.set_scenario(edited, path, modified=True)
    run_and_wait(panel, qtbot)
    assert panel.spec.base is edited and "unsaved changes" in panel.spec.text
    direct = run_study(
        parse_spec(
            STUDY.replace('"welfare", "uniform", "vcg"', '"uniform"').replace(
                "{ start = 0.2, stop = 0.8, num = 3 }", "[0.5]"
            )
        ),
        workers=0,
    ).table
    assert len(panel.table) == len(direct) == 1
    # the same PV penetration, but measured on another project: other ids, the same target capacity
    assert panel.table.point_id.iat[0] != direct.point_id.iat[0]
    with qtbot.waitSignal(panel.openPoint, timeout=2000) as blocker:
        assert panel.open_row(0)
    assert pv_kw(blocker.args[0]) == pytest.approx(0.5 * 3.0)


def test_a_point_opens_in_the_dashboard_and_undo_goes_back(window, projects_dir, qtbot):
    """In the window: the study runs on the open project; clicking a point loads its scenario and its market
    (VCG at PV 0.8: 2.4 kW of PV against 3 kW of peak demand) and the panels clear it; Undo restores the project."""
    assert window.open_path(projects_dir / "teaching-5bus.json", ask=False)
    base = window.doc.scenario
    before = window.market_controls.settings()
    studies = window.studies
    studies.set_axes({"mechanism": ["uniform", "vcg"], "pv_penetration": (0.2, 0.8, 2), "period": (0, 0, 1)})
    run_and_wait(studies, qtbot)
    assert len(studies.table) == 4
    studies.view.setCurrentIndex(studies.view.findData("heat"))
    assert studies.heat_cell_clicked(1, 1)  # PV 0.8 × VCG
    assert pv_kw(window.doc.scenario) == pytest.approx(pv_kw(with_pv_penetration(base, 0.8))) == pytest.approx(2.4)
    assert window.market_controls.settings().mechanism == "vcg" and window.doc.modified
    assert "Undo" in window.statusBar().currentMessage()
    qtbot.waitUntil(
        lambda: (
            window.market_result is not None
            and window.market_result.settings.mechanism == "vcg"
            and not window.runner.is_busy()
        ),
        timeout=TIMEOUT_MS,
    )
    row = studies.table[(studies.table.mechanism == "vcg") & (studies.table.pv_penetration == 0.8)].iloc[0]
    assert window.market_result.summary["traded_kwh"] == pytest.approx(row.traded_kwh)  # the study's own row
    window.act_undo.trigger()
    assert window.doc.scenario == base and not window.doc.modified
    # and the market settings the project had before (the welfare clearing at its period)
    assert window.market_controls.settings().mechanism == before.mechanism
    assert window.market_controls.settings().period == before.period
    assert "Back to the project" in window.statusBar().currentMessage()


def test_the_default_run_is_in_a_worker_process_with_run_study_s_numbers(panel, qtbot):
    """Welfare clearing and uniform auction × 2 PV penetrations × 2 draws with demand noise: the panel's rows come
    from another process, and are exactly what run_study gives in this one."""
    panel.set_axes({"mechanism": ["welfare", "uniform"], "pv_penetration": (0.2, 0.8, 2), "period": (0, 0, 1)})
    panel.set_draws(2, demand_std=0.1)
    run_and_wait(panel, qtbot)
    assert panel.runner.process_pid not in (None, os.getpid())
    assert "Done: 8 points" in panel.state.text() and panel.model.rowCount() == 8
    spec = parse_spec(
        STUDY.replace('"welfare", "uniform", "vcg"', '"welfare", "uniform"').replace("num = 3", "num = 2")
        + "[draws]\nn = 2\ndemand_std = 0.1\n"
    )
    direct = run_study(spec, workers=0).table
    assert (direct.status == "ok").all() and direct.draw.nunique() == 2
    pd.testing.assert_frame_equal(without_timings(panel.table), without_timings(direct), check_exact=True)
    # the table shows the rows as run_study's table has them, the welfare clearing's first
    assert [panel.model.text(r, panel.model.frame.columns.get_loc("mechanism")) for r in range(8)] == list(
        direct.mechanism
    )
    # a second run goes to the same process (its solver caches warm)
    pid = panel.runner.process_pid
    panel.set_draws(1)
    run_and_wait(panel, qtbot)
    assert panel.runner.process_pid == pid and len(panel.table) == 4


def test_a_killed_worker_process_ends_the_run_with_a_message_and_the_next_run_works(panel, qtbot):
    panel.set_axes(
        {"mechanism": ["welfare", "uniform", "pay_as_bid", "vcg", "trade_reduction"], "pv_penetration": (0.0, 1.0, 100)}
    )
    assert panel.run()
    qtbot.waitUntil(lambda: len(panel.table) >= 2, timeout=TIMEOUT_MS)
    pid = panel.runner.process_pid
    assert pid not in (None, os.getpid())
    os.kill(pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=TIMEOUT_MS)
    text = panel.state.text()
    assert "The study stopped" in text and "stopped unexpectedly" in text and "killed by signal 9" in text
    assert "Traceback" not in text
    # the rows that came back are kept, as run_study computes them
    kept = len(panel.table)
    assert 2 <= kept < 500 and (panel.table.status == "ok").all() and panel.model.rowCount() == kept
    direct = run_study(panel.spec, workers=0, points=panel.spec.points[:kept]).table
    pd.testing.assert_frame_equal(without_timings(panel.table), without_timings(direct), check_exact=True)
    assert panel.run_button.isEnabled() and not panel.cancel_button.isEnabled()
    # the next Run starts a new process and works
    panel.set_axes({"mechanism": ["uniform", "vcg"], "pv_penetration": (0.2, 0.8, 2), "period": (0, 0, 1)})
    run_and_wait(panel, qtbot)
    assert panel.runner.process_pid not in (None, pid, os.getpid())
    assert "Done: 4 points" in panel.state.text() and (panel.table.status == "ok").all()


def test_a_study_report_holds_its_plot_and_its_numbers(ran, tmp_path):
    pypdf = pytest.importorskip("pypdf")
    assert ran.report_button.isEnabled()
    html = ran.write_report(tmp_path / "study.html").read_text(encoding="utf-8")
    assert html.count("<figure>") == 1 and "data:image/svg+xml;base64," in html  # the plot, as vectors
    assert "Study: " in html and "The numbers behind the plot" in html and "study-results.csv" in html
    # the plot's numbers: the mean gain of each mechanism at each PV penetration, as the plot draws them
    data = ran.plot_data
    assert len(data) == 9 and html.count("<tr>") >= 9
    pdf = ran.write_report(tmp_path / "study.pdf")
    reader = pypdf.PdfReader(str(pdf))
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert "The numbers behind the plot" in text and "page 1 of" in text
    assert "Gain over the grid alone" in text or "gain over the grid alone" in text.lower()
