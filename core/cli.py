"""Headless command line: ``feeder-market validate|summary|import|clear|flow …`` (also ``python -m core``).

Every command prints plainly and exits non-zero on a bad file (1) or bad
arguments (2); errors are the ScenarioError's message, never a traceback.
The ``feeder-market`` console script opens the dashboard when it is given no
command (see ``gui.app``); it hands these commands to :func:`main` before Qt
is ever imported.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is imported by the commands that print tables: --help and validate start fast
    import pandas as pd

from core import __version__
from core.errors import ScenarioError
from core.scenario.io import load_project, save_project
from core.scenario.summary import counts, describe_roles, period_totals
from core.units import column_unit, fmt, fmt_column


def nash_defaults() -> dict:
    """The Nash search's defaults: :class:`core.nash_run.NashRequest`'s (that module imports no solver)."""
    import dataclasses

    from core.nash_run import NashRequest

    return {f.name: f.default for f in dataclasses.fields(NashRequest) if f.default is not dataclasses.MISSING}


COMMANDS = ("validate", "summary", "import", "clear", "flow", "nash", "study", "timeseries", "export")


def choice(what: str, choices: Sequence[str], aliases: dict[str, str] | None = None):
    """An argparse type accepting any case and hyphens or underscores (``pay-as-bid``, ``LinDistFlow``,
    ``max-min``): returns the canonical choice, or a usage error listing the choices as the help writes them."""

    def convert(text: str) -> str:
        key = text.strip().lower().replace("-", "_").replace(" ", "_")
        key = (aliases or {}).get(key, key)
        if key in choices:
            return key
        shown = ", ".join(spelled(c) for c in choices)
        raise argparse.ArgumentTypeError(f"{text!r}: choose one of {shown}")

    convert.__name__ = what  # argparse names the type in its messages
    return convert


def at_least_one(what: str):
    """An argparse type for a whole number ≥ 1 (a usage error, exit 2, otherwise)."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: give a whole number ≥ 1") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{text!r}: give a whole number ≥ 1")
        return value

    convert.__name__ = what
    return convert


def spelled(choice_name: str) -> str:
    """A choice as the help and the messages write it: ``pay_as_bid`` → ``pay-as-bid``, ``maxmin`` → ``max-min``."""
    return {"maxmin": "max-min"}.get(choice_name, choice_name.replace("_", "-"))


MECHANISMS = ("welfare", "uniform", "pay_as_bid", "vcg", "trade_reduction")
NETWORKS = ("none", "socp", "lindistflow", "ac", "dc")
FAIRNESS = ("efficiency", "proportional", "maxmin")
FAIRNESS_ALIASES = {"max_min": "maxmin", "max_min_fairness": "maxmin", "proportional_fairness": "proportional"}


def _print_frame(df: pd.DataFrame, fmt: str, out: io.TextIOBase) -> None:
    import pandas as pd

    if fmt == "csv":
        df.to_csv(out, index=False, float_format="%.6g")
    elif fmt == "json":
        out.write(df.to_json(orient="records", indent=2, double_precision=10) + "\n")
    else:
        shown = df.copy()
        for c in shown.columns:  # every number by its column's unit (core.units), one format per column
            if pd.api.types.is_float_dtype(shown[c]):
                shown[c] = fmt_column(shown[c].to_numpy(), column_unit(str(c)))
        with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 200):
            out.write(shown.to_string(index=False) + "\n")


def cmd_validate(args, out) -> int:
    s = load_project(args.file)
    c = counts(s)
    out.write(
        f"{args.file}: valid — {c['buses']} buses, {c['lines']} lines, {c['prosumers']} prosumers, "
        f"{s.periods} period{'s' if s.periods != 1 else ''} of {s.horizon.step_h:g} h\n"
    )
    return 0


def cmd_summary(args, out) -> int:
    s = load_project(args.file)
    totals = period_totals(s)
    if args.format == "json":
        payload = {
            "file": str(args.file),
            "name": s.name,
            "currency": s.currency,
            "base_kv": s.feeder.base_kv,
            "counts": counts(s),
            "periods": json.loads(totals.to_json(orient="records", double_precision=10)),
        }
        out.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        return 0
    if args.format == "csv":
        _print_frame(totals, "csv", out)
        return 0
    c = counts(s)
    out.write(f"{s.name}  ({args.file})\n")
    if s.description:
        out.write(f"{s.description}\n")
    out.write(
        f"feeder: {c['buses']} buses, {c['lines']} lines, {s.feeder.base_kv:g} kV, substation at bus "
        f"'{s.feeder.substation.bus}' (v_set {s.feeder.substation.v_set_pu:g} p.u.), "
        f"voltage limits {s.feeder.v_min_pu:g}–{s.feeder.v_max_pu:g} p.u.\n"
    )
    kinds = ", ".join(f"{k[7:]} {v}" for k, v in c.items() if k.startswith("assets_")) or "none"
    out.write(
        f"prosumers: {describe_roles(c)}; assets: {kinds}; "
        f"flexible loads {c['flexible_loads']}; bid blocks {c['bid_blocks']}\n"
    )
    out.write(f"horizon: {s.periods} periods of {s.horizon.step_h:g} h; prices in {s.currency}/kWh\n\n")
    _print_frame(totals, "table", out)
    e = s.horizon.step_h
    out.write(
        f"\nenergy over the horizon: demand {totals.demand_kw.sum() * e:,.1f} kWh, "
        f"generation available {totals.generation_available_kw.sum() * e:,.1f} kWh\n"
    )
    return 0


def cmd_import(args, out) -> int:
    from core.scenario.importers import import_pandapower

    if args.output.is_dir():
        sys.stderr.write(f"error: {args.output}: is a folder; give the project file to write (.json)\n")
        return 1
    if args.source.lower().startswith("simbench:"):
        from core.scenario.simbench_io import import_simbench

        if args.day is None:
            raise ScenarioError("a SimBench grid needs --day YYYY-MM-DD (a day of 2016, the year of its profiles)")
        code = args.source.split(":", 1)[1]
        scenario, warnings = import_simbench(code, args.day, step=args.step, name=args.name)
    else:
        scenario, warnings = import_pandapower(args.source, periods=args.periods, name=args.name)
    path = save_project(scenario, args.output)
    for w in warnings:
        out.write(f"warning: {w}\n")
    c = counts(scenario)
    out.write(
        f"wrote {path}: {c['buses']} buses, {c['lines']} lines, {c['prosumers']} prosumers, "
        f"{scenario.periods} period(s)\n"
    )
    return 0


def cmd_clear(args, out) -> int:
    from core.errors import ClearingError
    from core.market import MarketSettings, clear

    s = load_project(args.file)
    if args.period is not None and not 0 <= args.period < s.periods:
        sys.stderr.write(f"error: --period must be in 0…{s.periods - 1} for {args.file}, got {args.period}\n")
        return 2
    try:
        settings = MarketSettings(
            mechanism=args.mechanism,
            period=args.period,
            k=args.k,
            grid=args.grid,
            network=args.network,
            fairness=args.fairness,
            fairness_transfers=not args.no_transfers,
            lexicographic=args.lexicographic,
            fairness_audit=not args.no_audit,
            audit=not args.no_audit,
            tatonnement=not args.no_audit,
            compare=not args.no_audit,
        )
    except ValueError as err:
        sys.stderr.write(f"error: {err}\n")
        return 2
    try:
        result = clear(s, settings)
    except (ClearingError, ValueError) as err:
        sys.stderr.write(f"error: {args.file}: {err}\n")
        return 1
    if args.format == "json":
        payload = {
            "file": str(args.file),
            "scenario": s.name,
            "currency": s.currency,
            "settings": {
                "mechanism": settings.mechanism,
                "period": result.period,
                "k": settings.k,
                "grid": settings.grid_prices,
                "network": settings.network,
            },
            "summary": result.summary,
            "warnings": list(result.warnings),
            "periods": json.loads(result.periods.to_json(orient="records", double_precision=10)),
            "agents": json.loads(result.agents.to_json(orient="records", double_precision=10)),
            "agent_periods": json.loads(result.agent_periods.to_json(orient="records", double_precision=10)),
        }
        if result.mechanisms is not None:
            payload["mechanisms"] = json.loads(result.mechanisms.to_json(orient="records", double_precision=10))
        if result.fairness_comparison is not None:
            payload["fairness"] = {
                "summary": result.fairness_summary,
                "rules": json.loads(result.fairness_comparison.to_json(orient="records", double_precision=10)),
                "agents": json.loads(result.fairness.to_json(orient="records", double_precision=10)),
            }
        if result.market_power is not None:
            payload["market_power"] = {
                "summary": {
                    k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in result.market_power_summary.items()
                },
                "sellers": json.loads(result.market_power.to_json(orient="records", double_precision=10)),
            }
        if result.buses is not None:
            payload["buses"] = json.loads(result.buses.to_json(orient="records", double_precision=10))
            payload["lines"] = json.loads(result.lines.to_json(orient="records", double_precision=10))
        if result.comparison is not None:
            payload["properties"] = json.loads(result.comparison.to_json(orient="records", double_precision=10))
        out.write(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")
        return 0
    if args.format == "csv":
        _print_frame(result.agents, "csv", out)
        return 0
    cur = s.currency
    out.write(
        f"{s.name}: {settings.mechanism} clearing, period {result.period} "
        f"({s.horizon.labels()[result.period]}), prices in {cur}/kWh\n\n"
    )
    width = max(len(k) for k in result.summary)
    for key, value in result.summary.items():
        text = fmt(value, column_unit(key)) if value is None or isinstance(value, float) else str(value)
        out.write(f"  {key:<{width}}  {text}\n")
    for w in result.warnings:
        out.write(f"  warning: {w}\n")
    out.write("\nper period:\n")
    _print_frame(result.periods, "table", out)
    out.write("\nper agent (over the cleared periods):\n")
    _print_frame(result.agents, "table", out)
    if result.mechanisms is not None:
        out.write(
            f"\nevery mechanism on the copper plate at the tariffs (welfare = value − cost − net grid cost, "
            f"{cur}; efficiency: share of the welfare clearing's gain over the grid alone; the period "
            f"columns are period {result.period}):\n"
        )
        _print_frame(result.mechanisms, "table", out)
    if result.buses is not None:
        t = result.period
        out.write(f"\nper bus in period {t} (DLMP = energy + loss + congestion + voltage, {cur}/kWh):\n")
        _print_frame(result.buses[result.buses.period == t].drop(columns="period"), "table", out)
        out.write(f"\nper line in period {t}:\n")
        _print_frame(result.lines[result.lines.period == t].drop(columns="period"), "table", out)
    if result.fairness_comparison is not None:
        f = result.fairness_summary
        out.write(
            f"\nfairness (utility = gain over the outside option, {cur}): rule {f['rule']}; {f['supported_by']}\n"
        )
        out.write(f"envy: {f['envious_pairs']} envious pair(s), largest {f['max_envy']:.4g} {cur}\n")
        _print_frame(result.fairness_comparison, "table", out)
    elif result.fairness_summary is not None:
        f = result.fairness_summary
        out.write(
            f"\nenvy under DLMPs: {f['envious_pairs']} envious pair(s), {f['location_pairs']} of them only "
            f"from location; largest {f['max_envy']:.4g} {cur}\n"
        )
    if args.market_power and result.market_power is not None:
        m = result.market_power_summary
        out.write(
            f"\nmarket power in period {result.period}: HHI {m['hhi']:.4f} ({m['hhi_points']:,.0f} points, "
            f"{m['band']}), demand elasticity {m['elasticity']:.3g}; pivotal: "
            f"{', '.join(m['pivotal']) if m['pivotal'] else 'none'}\n"
        )
        _print_frame(result.market_power, "table", out)
    if result.comparison is not None:
        out.write(
            f"\nmechanism properties in period {result.period} "
            "(Myerson–Satterthwaite: no mechanism guarantees all four):\n"
        )
        _print_frame(result.comparison, "table", out)
    return 0


def cmd_timeseries(args, out) -> int:
    from core.scenario.timeseries import export_profiles_csv, import_profiles_csv

    s = load_project(args.file)
    if args.export is not None:
        path = export_profiles_csv(s, args.export, long=args.long)
        out.write(
            f"wrote {path}: {s.periods} period(s) of {s.horizon.step_h * 60:g} min, {len(s.prosumers)} prosumers "
            f"({'long' if args.long else 'wide'})\n"
        )
        return 0
    if args.output is None:
        sys.stderr.write("error: --import needs -o OUT.json (the project file to write)\n")
        return 2
    if args.output.is_dir():
        sys.stderr.write(f"error: {args.output}: is a folder; give the project file to write (.json)\n")
        return 1
    scenario, report = import_profiles_csv(args.import_, s)
    path = save_project(scenario, args.output)
    for line in report.lines():
        out.write(f"{line}\n")
    out.write(f"wrote {path}: {scenario.periods} period(s) of {scenario.horizon.step_h * 60:g} min\n")
    return 0


def cmd_export(args, out) -> int:
    from core.scenario.pandapower_export import export_pandapower_json

    s = load_project(args.file)
    if not 0 <= args.period < s.periods:
        sys.stderr.write(f"error: --period must be in 0…{s.periods - 1} for {args.file}, got {args.period}\n")
        return 2
    if args.output.is_dir():
        sys.stderr.write(f"error: {args.output}: is a folder; give the file to write (.json)\n")
        return 1
    path = export_pandapower_json(s, args.output, args.period, series=args.series)
    from core.scenario.pandapower_export import left_out

    for note in left_out(s):
        sys.stderr.write(f"note: {note}\n")
    what = f"the {s.periods} periods as const controllers" if args.series else "one period"
    out.write(f"wrote {path}: pandapower net of period {args.period} ({s.horizon.labels()[args.period]}), {what}\n")
    return 0


def cmd_flow(args, out) -> int:
    from core.network.powerflow import MODEL_TITLES, MODELS, flow

    if args.model not in MODELS:
        sys.stderr.write(f"error: unknown power flow model {args.model!r}: choose one of {', '.join(MODELS)}\n")
        return 2
    s = load_project(args.file)
    if not 0 <= args.period < s.periods:
        sys.stderr.write(f"error: --period must be in 0…{s.periods - 1} for {args.file}, got {args.period}\n")
        return 2
    res = flow(s, args.period, args.model)
    if not res.converged:
        sys.stderr.write(
            f"error: {args.file}: the AC power flow did not converge in {res.iterations} iterations in period "
            f"{args.period}: the load may exceed what the feeder can carry (try --model lindistflow)\n"
        )
        return 1
    buses, lines = res.bus_frame(), res.line_frame()
    k_min = int(buses.v_pu.idxmin())
    summary = {
        "total_loss_kw": res.total_loss_kw,
        "grid_p_kw": res.grid_p_kw,
        "grid_q_kvar": res.grid_q_kvar,
        "v_min_pu": res.v_min_pu,
        "v_min_bus": str(buses.bus[k_min]),
        "v_max_pu": res.v_max_pu,
        "max_loading_pct": float(lines.loading_pct.max()) if lines.loading_pct.notna().any() else None,
    }
    if args.format == "json":
        payload = {
            "file": str(args.file),
            "scenario": s.name,
            "model": res.model,
            "period": args.period,
            "time": s.horizon.labels()[args.period],
            "converged": res.converged,
            "iterations": res.iterations,
            **summary,
            "buses": json.loads(buses.to_json(orient="records", double_precision=10)),
            "lines": json.loads(lines.to_json(orient="records", double_precision=10)),
        }
        out.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        return 0
    if args.format == "csv":
        _print_frame(buses, "csv", out)
        out.write("\n")
        _print_frame(lines, "csv", out)
        return 0
    out.write(f"{s.name}: {MODEL_TITLES[res.model]}, period {args.period} ({s.horizon.labels()[args.period]})\n")
    if res.model == "ac":
        out.write(f"converged in {res.iterations} iterations\n")
    loading = summary["max_loading_pct"]
    estimate = " (I²R estimate from the lossless flows)" if res.model == "lindistflow" else ""
    out.write(
        f"total loss {res.total_loss_kw:,.3f} kW{estimate}; "
        f"grid supplies {res.grid_p_kw:,.3f} kW, {res.grid_q_kvar:,.3f} kvar; "
        f"voltage {res.v_min_pu:.4f} p.u. (bus '{summary['v_min_bus']}') to {res.v_max_pu:.4f} p.u.; "
        f"highest loading {'unrated' if loading is None else f'{loading:,.1f} %'}\n"
    )
    if res.model == "dc":
        out.write(
            "note: the DC model keeps every voltage at the set-point and has no losses: its blind spot on a feeder\n"
        )
    fine = {"v_pu": "{:.5f}".format, "angle_deg": "{:.4f}".format}  # voltages need more than 3 decimals
    out.write("\nbuses:\n")
    out.write(buses.to_string(index=False, formatters=fine, float_format=lambda v: f"{v:,.3f}") + "\n")
    out.write("\nlines (p_from/p_to: power into the line at each end):\n")
    _print_frame(lines, "table", out)
    out.write(f"\ntotal loss: {res.total_loss_kw:,.3f} kW\n")
    return 0


def cmd_nash(args, out) -> int:
    from core.nash_run import NashRequest, run_nash

    s = load_project(args.file)
    if not 0 <= args.period < s.periods:
        sys.stderr.write(f"error: --period must be in 0…{s.periods - 1} for {args.file}, got {args.period}\n")
        return 2
    # the same search as the dashboard's Nash panel (core.nash_run), with the same defaults
    request = NashRequest(
        s,
        args.period,
        args.mechanism,
        players=args.players,
        withhold=args.withhold,
        m_max=args.m_max,
        max_rounds=args.max_rounds,
        k=args.k,
    )
    try:
        outcome = run_nash(request, existence=args.existence)
    except ValueError as err:
        if "no prosumer offers energy" in str(err):
            sys.stderr.write(f"error: {args.file}: nobody sells in period {args.period}\n")
            return 1
        sys.stderr.write(f"error: {err}\n")
        return 2
    except KeyError as err:
        sys.stderr.write(f"error: {err}\n")
        return 2
    res = outcome.result
    players = res.last_profile  # one (markup, withheld) per strategic seller
    if args.format == "json":
        payload = {
            "file": str(args.file),
            "period": args.period,
            "mechanism": args.mechanism,
            "converged": res.converged,
            "cycling": res.cycling,
            "rounds": res.rounds,
            "message": res.message,
            "price": res.price,
            "price_truthful": res.price_truthful,
            "welfare_lost": res.welfare_lost,
            "max_deviation_gain": res.max_deviation_gain,
            "players": json.loads(res.table.to_json(orient="records", double_precision=10)),
            "path": json.loads(res.path_frame().to_json(orient="records", double_precision=10)),
        }
        out.write(json.dumps(payload, indent=2) + "\n")
        return 0
    cur = s.currency
    out.write(
        f"{s.name}: bidding game under {args.mechanism}, period {args.period}, "
        f"{len(players)} strategic seller(s), markups up to {args.m_max:g}"
        f"{', withholding allowed' if args.withhold else ''}\n"
    )
    out.write(f"{res.message}\n")
    if res.converged:
        out.write(
            f"equilibrium price {res.price:.6g} {cur}/kWh (truthful {res.price_truthful:.6g}); "
            f"welfare lost {res.welfare_lost:.6g} {cur}; largest deviation gain {res.max_deviation_gain:.3g}\n"
        )
    out.write("\n")
    _print_frame(res.table, args.format, out)
    if outcome.existence is not None:
        check = outcome.existence
        out.write(f"\nDebreu–Glicksberg–Fan: {check.verdict}\n")
        _print_frame(check.players, "table", out)
    return 0


def cmd_study(args, out) -> int:
    from tqdm import tqdm

    from core.study import METRICS, SpecError, StudyError, example_spec, load_spec, pivot, run_study, status_counts

    if args.example:
        out.write(example_spec())
        return 0
    if args.spec is None or args.output is None:
        sys.stderr.write("error: give a SPEC file and -o RESULTS.parquet (or --example for a spec to start from)\n")
        return 2
    if args.scheduler and args.workers is not None:
        sys.stderr.write("error: --workers starts a local cluster; with --scheduler the cluster is used as it is\n")
        return 2
    if args.workers is not None and args.workers < 0:
        sys.stderr.write(f"error: --workers must be 0 (this process) or more, got {args.workers}\n")
        return 2
    if args.metric not in METRICS:
        sys.stderr.write(f"error: unknown metric '{args.metric}': choose one of {', '.join(METRICS)}\n")
        return 2
    try:
        spec = load_spec(args.spec)
    except SpecError as err:
        sys.stderr.write(f"error: {err.report() if len(err.problems) > 1 else err}\n")
        return 2
    bar = tqdm(total=len(spec.points), unit="point", desc="study", file=sys.stderr, leave=False, disable=args.quiet)
    try:
        run = run_study(
            spec,
            args.output,
            scheduler=args.scheduler,
            workers=args.workers,
            progress=lambda done, total: bar.update(done - bar.n),
        )
    except StudyError as err:
        sys.stderr.write(f"error: {err}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(
            f"\ninterrupted: the finished points are saved in {args.output}; run the same command again to resume\n"
        )
        return 130
    except OSError as err:  # an unreachable scheduler
        sys.stderr.write(f"error: {err}\n")
        return 2
    finally:
        bar.close()
    where = "in this process" if run.workers == 0 else f"on {run.workers} worker{'s' if run.workers != 1 else ''}"
    out.write(
        f"{spec.name}: {len(run.table)} of {run.total} points ({run.computed} computed {where}, "
        f"{run.reused} reused from {args.output}) in {run.elapsed_s:,.1f} s\n"
    )
    if spec.skipped_combinations:
        out.write(
            f"({spec.skipped_combinations} combination(s) left out: network models and fairness rules apply "
            "to the welfare clearing only, fairness rules to the copper plate at the tariffs only)\n"
        )
    counts = status_counts(run.table)
    out.write("status: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + "\n")
    failed = run.table[run.table.status == "error"]
    if len(failed):
        sys.stderr.write(
            f"warning: {len(failed)} point(s) failed, e.g. point {failed.point.iloc[0]}: {failed.message.iloc[0]}\n"
        )
    table = pivot(run.table, args.metric)
    if not table.empty:
        out.write(f"\nmean {args.metric} of the ok points:\n")
        import pandas as pd

        with pd.option_context("display.max_rows", 60, "display.max_columns", 20, "display.width", 200):
            out.write(table.to_string(float_format=lambda v: f"{v:,.4g}") + "\n")
    out.write(f"\nwrote {args.output} (one row per point; the spec and version are in its metadata)\n")
    return 130 if run.cancelled else 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="feeder-market",
        description="Feeder Market: P2P and transactive energy markets on radial feeders. "
        "Without a command, opens the dashboard (on FILE, or the default project).",
        epilog="feeder-market report FILE -o OUT.pdf|OUT.html [--mechanism … --network … --period …] writes the "
        "dashboard's report without a window (feeder-market report --help).",
    )
    ap.add_argument("--version", action="version", version=f"feeder-market {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("validate", help="check a project file; exit 1 with the problems if it is bad")
    p.add_argument("file", type=Path)
    p.set_defaults(run=cmd_validate)

    p = sub.add_parser("summary", help="counts and per-period load and generation of a project")
    p.add_argument("file", type=Path)
    p.add_argument(
        "--format",
        type=choice("--format", ("table", "csv", "json")),
        default="table",
        help="table (default), csv or json",
    )
    p.set_defaults(run=cmd_summary)

    p = sub.add_parser(
        "import",
        help="turn a pandapower network into a project",
        description="SOURCE is a pandapower.networks name (e.g. case33bw), a pandapower JSON file or "
        "simbench:CODE (a SimBench grid with a day of its profiles: --day, --step).",
    )
    p.add_argument("source")
    p.add_argument("-o", "--output", required=True, type=Path, help="the project file to write (.json)")
    p.add_argument("--periods", type=int, default=1, help="periods in the horizon (loads repeated; default 1)")
    p.add_argument("--name", default=None, help="the scenario's name")
    p.add_argument("--day", default=None, help="simbench: the day of the profiles, YYYY-MM-DD in 2016")
    p.add_argument(
        "--step", default="1h", type=choice("--step", ("1h", "15min")), help="simbench: 1h (default) or 15min"
    )
    p.set_defaults(run=cmd_import)

    p = sub.add_parser("clear", help="clear the market of a project and print prices, trades and properties")
    p.add_argument("file", type=Path)
    p.add_argument(
        "--mechanism",
        default="welfare",
        type=choice("--mechanism", MECHANISMS),
        help="welfare (default), uniform, pay-as-bid, vcg or trade-reduction",
    )
    p.add_argument("--period", type=int, default=None, help="period to show and audit (0-based; default 0)")
    p.add_argument("--k", type=float, default=0.5, help="k of k-pricing for the uniform auction (default 0.5)")
    p.add_argument(
        "--grid",
        type=choice("--grid", ("tariffs", "wholesale")),
        default=None,
        help="the outside option: retail/feed-in tariffs (default without a network) or the "
        "wholesale price at the substation (default with one)",
    )
    p.add_argument(
        "--network",
        default="none",
        type=choice("--network", NETWORKS),
        help="feeder model of the welfare clearing: none (default), socp (exact AC), lindistflow, ac or dc",
    )
    p.add_argument("--no-audit", action="store_true", help="skip the properties audit and the price iteration")
    p.add_argument(
        "--fairness",
        default="efficiency",
        type=choice("--fairness", FAIRNESS, FAIRNESS_ALIASES),
        help="efficiency (default), proportional or max-min",
    )
    p.add_argument(
        "--no-transfers", action="store_true", help="fairness without lump-sum transfers: every kWh at the market price"
    )
    p.add_argument("--lexicographic", action="store_true", help="lexicographic max-min")
    p.add_argument(
        "--market-power",
        action="store_true",
        help="also print shares, HHI, Lerner (observed and Cournot) and pivotal sellers",
    )
    p.add_argument(
        "--format",
        type=choice("--format", ("table", "csv", "json")),
        default="table",
        help="table (default), csv or json",
    )
    p.set_defaults(run=cmd_clear)

    p = sub.add_parser("nash", help="search a pure Nash equilibrium of the sellers' bidding game")
    p.add_argument("file", type=Path)
    p.add_argument(
        "--mechanism",
        default="uniform",
        type=choice("--mechanism", MECHANISMS[1:]),
        help="uniform (default), pay-as-bid, vcg or trade-reduction",
    )
    p.add_argument("--period", type=int, default=0)
    nash = nash_defaults()
    p.add_argument(
        "--players",
        type=at_least_one("--players"),
        default=nash["players"],
        help=f"the N largest sellers play strategically (default {nash['players']}, as in the dashboard)",
    )
    p.add_argument("--withhold", action="store_true", help="players may also withhold capacity")
    p.add_argument(
        "--m-max",
        type=float,
        default=nash["m_max"],
        help=f"largest markup on cost (default {nash['m_max']:g} = +100 %%)",
    )
    p.add_argument("--max-rounds", type=int, default=nash["max_rounds"])
    p.add_argument("--k", type=float, default=nash["k"], help=f"k of the uniform price (default {nash['k']:g})")
    p.add_argument("--existence", action="store_true", help="check the Debreu–Glicksberg–Fan conditions")
    p.add_argument(
        "--format",
        type=choice("--format", ("table", "csv", "json")),
        default="table",
        help="table (default), csv or json",
    )
    p.set_defaults(run=cmd_nash)

    p = sub.add_parser(
        "flow",
        help="power flow of a project in one period: voltages, line flows, losses",
        description="Injections are the prosumers' demand and PV/wind output as given in the file.",
    )
    p.add_argument("file", type=Path)
    p.add_argument(
        "--model",
        default="ac",
        type=choice("--model", ("ac", "lindistflow", "dc")),
        help="ac (exact, default), lindistflow or dc",
    )
    p.add_argument("--period", type=int, default=0, help="period (0-based; default 0)")
    p.add_argument(
        "--format",
        type=choice("--format", ("table", "csv", "json")),
        default="table",
        help="table (default), csv (the bus table, a blank line, the line table) or json",
    )
    p.set_defaults(run=cmd_flow)

    p = sub.add_parser(
        "timeseries",
        help="import per-prosumer profiles from a CSV into a project, or export them",
        description="--import CSV -o OUT.json: the CSV's series (wide: time + one column per prosumer id; long: "
        "time,id,quantity,value) onto FILE's project, unmatched ids reported; another horizon (96 × 15 min, several "
        "days) needs every prosumer's demand and resamples the rest by clock time. --export CSV [--long]: every "
        "per-period series of FILE. The format: docs/cli.md.",
    )
    p.add_argument("file", type=Path)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--import", dest="import_", type=Path, metavar="CSV", help="the profiles to read")
    g.add_argument("--export", type=Path, metavar="CSV", help="the profiles file to write")
    p.add_argument("-o", "--output", type=Path, help="with --import: the project file to write (.json)")
    p.add_argument("--long", action="store_true", help="with --export: one row per value (time,id,quantity,value)")
    p.set_defaults(run=cmd_timeseries)

    p = sub.add_parser(
        "export",
        help="write a project as a pandapower network (one period, or the day as const controllers)",
        description="The feeder, the substation as the external grid, each bus's demand as a load and its PV/wind "
        "output as static generators in --period; with --series also every period as pandapower const "
        "controllers over a DFData table (pandapower.timeseries.run_timeseries runs the day).",
    )
    p.add_argument("file", type=Path)
    p.add_argument("--to", required=True, type=choice("--to", ("pandapower",)), help="pandapower")
    p.add_argument("-o", "--output", required=True, type=Path, help="the file to write (.json)")
    p.add_argument("--period", type=int, default=0, help="the period of the net's tables (0-based; default 0)")
    p.add_argument("--series", action="store_true", help="also the whole horizon as const controllers")
    p.set_defaults(run=cmd_export)

    p = sub.add_parser(
        "study",
        help="run a scenario study (sweeps, Monte Carlo) locally or on a Dask cluster",
        description="Clear the market of a base project at every point of a TOML study spec and "
        "write one summary row per point to a Parquet file. An interrupted study resumes from the "
        "file. `feeder-market study --example` prints a commented spec to start from.",
    )
    p.add_argument("spec", type=Path, nargs="?", help="the study spec (TOML)")
    p.add_argument("-o", "--output", type=Path, help="the results file (.parquet)")
    p.add_argument("--scheduler", default=None, help="run on an existing Dask cluster, e.g. tcp://HOST:8786")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local worker processes (default: this machine's cores; 0: in this process)",
    )
    p.add_argument("--metric", default="welfare", help="the metric of the summary pivot (default welfare)")
    p.add_argument("--example", action="store_true", help="print a commented example spec and exit")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=cmd_study)
    return ap


def main(argv: Sequence[str] | None = None, out=None) -> int:
    """Run a headless command; returns the exit code."""
    out = out or sys.stdout
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # argparse's usage errors (2) and --help/--version (0): a code, as every command
        return int(stop.code or 0)
    if not getattr(args, "command", None):
        build_parser().print_help(out)
        return 2
    from core import logs

    logs.configure()  # warnings (an inaccurate solve, a failed point) to standard error
    try:
        return args.run(args, out)
    except ScenarioError as err:
        sys.stderr.write(f"error: {err.report() if len(err.problems) > 1 else err}\n")
        return 1
    except BrokenPipeError:
        return 0
    except OSError as err:  # a file that cannot be written there (a missing folder, no permission): one line
        where = err.filename or ""
        sys.stderr.write(f"error: {where}{': ' if where else ''}cannot write it: {err.strerror or err}\n")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
