"""The headless command line: plain output, non-zero exit on a bad file, never a traceback."""

import io
import json
import re

import pytest

from core.cli import main
from gui.app import main as app_main


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_a_good_file(projects_dir, capsys):
    code, out, _err = run(["validate", str(projects_dir / "ieee33-community.json")], capsys)
    assert code == 0
    assert "valid — 33 buses, 32 lines, 49 prosumers, 24 periods of 1 h" in out


def test_validate_a_bad_file_names_file_field_and_row(tmp_path, projects_dir, capsys):
    text = (projects_dir / "teaching-5bus.json").read_text(encoding="utf-8")
    bad = tmp_path / "bad.json"
    bad.write_text(text.replace('"r_ohm": 0.08', '"r_ohm": -0.08'), encoding="utf-8")
    code, _out, err = run(["validate", str(bad)], capsys)
    assert code == 1
    assert "bad.json" in err and "feeder.lines[1].r_ohm" in err and "(id 'L2')" in err
    assert "Traceback" not in err


def test_validate_missing_file(tmp_path, capsys):
    code, _out, err = run(["validate", str(tmp_path / "nope.json")], capsys)
    assert code == 1 and "no such file" in err


def test_summary_totals_match_the_published_loads(projects_dir, capsys):
    code, out, _ = run(["summary", str(projects_dir / "teaching-5bus.json"), "--format", "json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["counts"]["buses"] == 5 and data["counts"]["prosumers"] == 6
    assert data["counts"]["bid_blocks"] == 6
    # sellers: a 1 kW PV and a 1 kW CHP generate, a 1 kW battery discharges; three 1 kW flexible buyers
    row = data["periods"][0]
    assert row["generation_available_kw"] == 2.0 and row["storage_discharge_kw"] == 1.0
    assert row["demand_kw"] == 0.0 and row["flexible_max_kw"] == 3.0


def test_summary_of_ieee33_peaks_at_published_loads(projects_dir, capsys):
    code, out, _ = run(["summary", str(projects_dir / "ieee33-community.json"), "--format", "csv"], capsys)
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith("period,time,demand_kw")
    assert len(lines) == 25
    # each bus peaks at its published load; the sum over buses of the peaks is 3,715 kW,
    # while the sum per period stays below it (commercial and household peaks differ)
    demand = [float(line.split(",")[2]) for line in lines[1:]]
    assert max(demand) < 3715.0 and min(demand) > 0.3 * 3715.0


def test_summary_table_is_plain_text(projects_dir, capsys):
    code, out, _ = run(["summary", str(projects_dir / "ieee33-community.json")], capsys)
    assert code == 0
    assert "feeder: 33 buses, 32 lines, 12.66 kV" in out
    assert "prosumers: 49" in out


def test_import_case33bw_writes_a_valid_project(tmp_path, capsys):
    pytest.importorskip("pandapower")
    out_file = tmp_path / "case33.json"
    code, out, err = run(["import", "case33bw", "-o", str(out_file), "--periods", "2"], capsys)
    assert code == 0, err
    assert "33 buses, 32 lines" in out
    code, out, _ = run(["validate", str(out_file)], capsys)
    assert code == 0 and "2 periods" in out


def test_import_unknown_network_is_a_clear_error(tmp_path, capsys):
    pytest.importorskip("pandapower")
    code, _out, err = run(["import", "no_such_network", "-o", str(tmp_path / "x.json")], capsys)
    assert code == 1 and "no_such_network" in err and "Traceback" not in err


def test_console_script_hands_commands_to_the_cli_without_qt(projects_dir, capsys):
    code = app_main(["validate", str(projects_dir / "teaching-5bus.json")])
    assert code == 0
    assert "1 period of 1 h" in capsys.readouterr().out


def test_console_script_rejects_two_files(capsys):
    assert app_main(["a.json", "b.json"]) == 2


def test_a_mistyped_command_or_a_missing_file_is_a_usage_error_not_a_window(tmp_path, capsys):
    assert app_main(["valdiate"]) == 2
    assert "did you mean 'validate'?" in capsys.readouterr().err
    assert app_main([str(tmp_path / "missing.json")]) == 2
    assert "neither a command nor an existing file" in capsys.readouterr().err
    assert app_main(["valdiate", "x.json"]) == 2
    assert "unknown command 'valdiate'; did you mean 'validate'?" in capsys.readouterr().err


def test_no_command_prints_help():
    buf = io.StringIO()
    assert main([], out=buf) == 2
    assert "validate" in buf.getvalue()


def test_no_display_is_a_clear_message_not_a_crash(monkeypatch, capsys):
    import sys

    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert app_main([]) == 1
    assert "xvfb-run -a feeder-market" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--help"], ["validate", "projects/ieee33-community.json"], []])
def test_help_and_validate_import_no_solver_no_pandas_no_dask(argv):
    """The command line starts fast: --help and validate load neither cvxpy, pandas, dask nor Qt (a fresh process)."""
    import subprocess
    import sys
    from pathlib import Path

    heavy = ("cvxpy", "pandas", "dask", "distributed", "scipy", "PySide6", "pyqtgraph")
    code = (
        f"import sys\nfrom core.cli import main\ntry:\n    main({argv!r}, out=sys.stdout)\nexcept SystemExit:\n"
        f"    pass\nprint('LOADED', sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert "LOADED []" in done.stdout, done.stdout[-500:] + done.stderr[-2000:]
    # and a command that needs them does load them (the check can fail)
    if argv and argv[0] == "validate":
        code2 = code.replace(repr(argv), repr(["summary", "projects/ieee33-community.json", "--format", "csv"]))
        done = subprocess.run([sys.executable, "-c", code2], cwd=root, capture_output=True, text=True, timeout=120)
        assert "'pandas'" in done.stdout.splitlines()[-1]


def test_nash_on_the_command_line_is_the_dashboards_search(projects_dir):
    """One search for both (core.nash_run): the same defaults (3 players), the same equilibrium (price 9 on the
    teaching auction, the chapter's example: S1 marks its ask up to the buyer's next bid)."""
    import dataclasses

    from core.cli import build_parser
    from core.nash_run import NashRequest, run_nash
    from core.scenario import load_project

    fields = {f.name: f.default for f in dataclasses.fields(NashRequest)}
    parsed = vars(build_parser().parse_args(["nash", "x.json"]))
    assert {k: parsed[k] for k in ("players", "m_max", "max_rounds", "k")} == {
        k: fields[k] for k in ("players", "m_max", "max_rounds", "k")
    }
    assert fields["players"] == 3
    path = projects_dir / "teaching-5bus.json"
    buf = io.StringIO()
    assert main(["nash", str(path), "--format", "json"], out=buf) == 0
    cli = json.loads(buf.getvalue())
    gui = run_nash(NashRequest(load_project(path), 0, "uniform"), existence=False).result
    assert cli["price"] == pytest.approx(gui.price) == pytest.approx(9.0)
    assert len(cli["players"]) == len(gui.table) == 3


def test_nash_with_a_mechanism_that_is_not_an_auction_says_so(projects_dir, capsys):
    assert main(["nash", str(projects_dir / "teaching-5bus.json"), "--mechanism", "welfare"], out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert "'welfare': choose one of uniform, pay-as-bid, vcg, trade-reduction" in err


@pytest.mark.parametrize(
    ("argv", "mechanism"),
    [
        (["--mechanism", "Pay-As-Bid"], "pay_as_bid"),
        (["--mechanism", "trade-reduction"], "trade_reduction"),
        (["--mechanism", "UNIFORM"], "uniform"),
        (["--fairness", "max-min"], "welfare"),
    ],
)
def test_choices_accept_any_case_and_hyphens(projects_dir, capsys, argv, mechanism):
    code, out, _ = run(["clear", str(projects_dir / "teaching-5bus.json"), "--no-audit", *argv], capsys)
    assert code == 0 and f": {mechanism} clearing" in out


def test_one_exit_code_convention(projects_dir, capsys):
    teaching = str(projects_dir / "teaching-5bus.json")
    # 2: usage (an unknown choice, a period outside the horizon), for every command alike
    for argv in (
        ["clear", teaching, "--period", "24"],
        ["flow", teaching, "--period", "24"],
        ["nash", teaching, "--period", "24"],
        ["clear", teaching, "--network", "LinDist"],
    ):
        code, _, err = run(argv, capsys)
        assert code == 2 and err.count("\n") <= 8 and "Traceback" not in err, argv
    code, out, _ = run(["flow", teaching, "--model", "AC"], capsys)
    assert code == 0 and "exact AC power flow" in out
    code, _, err = run(["clear", teaching, "--network", "LinDistFlow", "--mechanism", "vcg"], capsys)
    assert code == 2 and "network model applies to the welfare clearing" in err


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"period": 0.5}, "period must be a whole number"),
        ({"k": "half"}, "k must be a number in [0, 1], got 'half'"),
        ({"audit": "yes"}, "audit must be true or false"),
    ],
)
def test_api_arguments_are_checked_by_name(changes, says):
    from core.market import MarketSettings

    with pytest.raises(ValueError, match=re.escape(says)):
        MarketSettings(**changes)


def test_import_to_a_folder_or_a_missing_place_is_one_line(tmp_path, capsys):
    pytest.importorskip("pandapower")
    code, _, err = run(["import", "case33bw", "-o", str(tmp_path)], capsys)
    assert code == 1 and err == f"error: {tmp_path}: is a folder; give the project file to write (.json)\n"
    code, _, err = run(["import", "case33bw", "-o", "/proc/nope/x.json"], capsys)
    assert code == 1 and err.count("\n") == 1 and "No such file or directory" in err and "Traceback" not in err


def test_every_choice_in_every_spelling():
    import argparse

    from core.cli import FAIRNESS, FAIRNESS_ALIASES, MECHANISMS, NETWORKS, choice, spelled

    for name, choices, aliases in (
        ("--mechanism", MECHANISMS, None),
        ("--network", NETWORKS, None),
        ("--fairness", FAIRNESS, FAIRNESS_ALIASES),
    ):
        convert = choice(name, choices, aliases)
        for c in choices:
            hyphens = spelled(c)
            for text in (c, hyphens, hyphens.upper(), c.title(), c.replace("_", "-").capitalize(), f" {c} "):
                assert convert(text) == c, (name, text)
        with pytest.raises(argparse.ArgumentTypeError, match="choose one of"):
            convert("nonsense")
    assert choice("--fairness", FAIRNESS, FAIRNESS_ALIASES)("Max-Min") == "maxmin"
    assert choice("--network", NETWORKS)("LinDistFlow") == "lindistflow"


def test_format_in_any_case_and_players_at_least_one(projects_dir, capsys):
    teaching = str(projects_dir / "teaching-5bus.json")
    assert main(["summary", teaching, "--format", "JSON"]) == 0
    assert capsys.readouterr().out.lstrip().startswith("{")
    assert main(["nash", teaching, "--players", "0"]) == 2  # a usage error, not "nobody sells"
    assert "--players: '0': give a whole number ≥ 1" in capsys.readouterr().err
