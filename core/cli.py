"""Headless command line: ``feeder-market validate|summary|import …`` (also ``python -m core``).

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

import pandas as pd

from core import __version__
from core.errors import ScenarioError
from core.scenario.io import load_project, save_project
from core.scenario.summary import counts, period_totals

COMMANDS = ("validate", "summary", "import", "clear")


def _print_frame(df: pd.DataFrame, fmt: str, out: io.TextIOBase) -> None:
    if fmt == "csv":
        df.to_csv(out, index=False, float_format="%.6g")
    elif fmt == "json":
        out.write(df.to_json(orient="records", indent=2, double_precision=10) + "\n")
    else:
        with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 200):
            out.write(df.to_string(index=False, float_format=lambda v: f"{v:,.3f}") + "\n")


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
        f"prosumers: {c['prosumers']} ({c['consumers']} consumers, {c['producers']} producers, "
        f"{c['prosumers_with_der']} with demand and a DER); assets: {kinds}; "
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
    from core.market import MarketSettings, clear
    from core.welfare import ClearingError

    s = load_project(args.file)
    try:
        settings = MarketSettings(mechanism=args.mechanism, period=args.period, k=args.k, grid=args.grid,
                                  audit=not args.no_audit, tatonnement=not args.no_audit)
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
            "file": str(args.file), "scenario": s.name, "currency": s.currency,
            "settings": {"mechanism": settings.mechanism, "period": result.period, "k": settings.k,
                         "grid": settings.grid},
            "summary": result.summary,
            "periods": json.loads(result.periods.to_json(orient="records", double_precision=10)),
            "agents": json.loads(result.agents.to_json(orient="records", double_precision=10)),
        }
        if result.comparison is not None:
            payload["properties"] = json.loads(result.comparison.to_json(orient="records", double_precision=10))
        out.write(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")
        return 0
    if args.format == "csv":
        _print_frame(result.agents, "csv", out)
        return 0
    cur = s.currency
    out.write(f"{s.name}: {settings.mechanism} clearing, period {result.period} "
              f"({s.horizon.labels()[result.period]}), prices in {cur}/kWh\n\n")
    width = max(len(k) for k in result.summary)
    for key, value in result.summary.items():
        text = f"{value:,.6g}" if isinstance(value, float) else str(value)
        out.write(f"  {key:<{width}}  {text}\n")
    out.write("\nper period:\n")
    _print_frame(result.periods, "table", out)
    out.write("\nper agent (over the cleared periods):\n")
    _print_frame(result.agents, "table", out)
    if result.comparison is not None:
        out.write(f"\nmechanism properties in period {result.period} "
                  "(Myerson–Satterthwaite: no mechanism guarantees all four):\n")
        _print_frame(result.comparison, "table", out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="feeder-market",
        description="Feeder Market: P2P and transactive energy markets on radial feeders. "
        "Without a command, opens the dashboard (on FILE, or the default project).",
    )
    ap.add_argument("--version", action="version", version=f"feeder-market {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("validate", help="check a project file; exit 1 with the problems if it is bad")
    p.add_argument("file", type=Path)
    p.set_defaults(run=cmd_validate)

    p = sub.add_parser("summary", help="counts and per-period load and generation of a project")
    p.add_argument("file", type=Path)
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.set_defaults(run=cmd_summary)

    p = sub.add_parser(
        "import",
        help="turn a pandapower network into a project",
        description="SOURCE is a pandapower.networks name (e.g. case33bw) or a pandapower JSON file.",
    )
    p.add_argument("source")
    p.add_argument("-o", "--output", required=True, type=Path, help="the project file to write (.json)")
    p.add_argument("--periods", type=int, default=1, help="periods in the horizon (loads repeated; default 1)")
    p.add_argument("--name", default=None, help="the scenario's name")
    p.set_defaults(run=cmd_import)

    p = sub.add_parser("clear", help="clear the market of a project and print prices, trades and properties")
    p.add_argument("file", type=Path)
    p.add_argument("--mechanism", default="welfare",
                   help="welfare (default), uniform, pay_as_bid, vcg or trade_reduction")
    p.add_argument("--period", type=int, default=None, help="period to show and audit (0-based; default 0)")
    p.add_argument("--k", type=float, default=0.5, help="k of k-pricing for the uniform auction (default 0.5)")
    p.add_argument("--grid", choices=("tariffs", "wholesale"), default="tariffs",
                   help="the outside option: retail/feed-in tariffs or the wholesale price")
    p.add_argument("--no-audit", action="store_true", help="skip the properties audit and the price iteration")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.set_defaults(run=cmd_clear)
    return ap


def main(argv: Sequence[str] | None = None, out=None) -> int:
    """Run a headless command; returns the exit code."""
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    if not getattr(args, "command", None):
        build_parser().print_help(out)
        return 2
    try:
        return args.run(args, out)
    except ScenarioError as err:
        sys.stderr.write(f"error: {err.report() if len(err.problems) > 1 else err}\n")
        return 1
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
