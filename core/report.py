"""A self-contained HTML report of a cleared market: settings, headline numbers, tables, figures.

The report opens in any browser with no network: styles are inline, figures
are embedded as ``data:`` URIs (PNG bytes the caller provides — the dashboard
passes its panels' pictures), and nothing is fetched. Core formats no screen:
this module only turns a :class:`~core.market.MarketResult` and a scenario
into HTML text.
"""

from __future__ import annotations

import base64
import datetime as _dt
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd

from core import __version__
from core.market import MECHANISM_LABELS, MarketResult
from core.scenario.model import Scenario
from core.scenario.summary import counts, describe_roles
from core.units import column_label, column_unit, fmt, fmt_column

_STYLE = """
body { font-family: -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 1.6em; }
.meta { color: #666; } table { border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 0.88em; }
th, td { border: 1px solid #ddd; padding: 3px 8px; } th { background: #f3f5f8; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.kpi { display: inline-block; margin: 0 1.5em 0.8em 0; }
.kpi b { display: block; font-size: 1.4em; } figure { margin: 1em 0; } figure img { max-width: 100%;
border: 1px solid #eee; } figcaption { color: #555; font-size: 0.9em; } .note { color: #555; font-size: 0.9em; }
"""


# summary entries the settings table already shows, or too technical for a headline
_NOT_HEADLINES = {"mechanism", "network", "decomposition_error_per_kwh", "status", "fairness_rule"}


def readable(name: str, currency: str) -> str:
    """``price_per_kwh`` → ``Price (EUR/kWh)`` (:func:`core.units.column_label`)."""
    return column_label(name, currency)


def _fmt(v, unit: str = "") -> str:
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        return fmt(v, unit)
    if v is None:
        return "—"
    if isinstance(v, (list, tuple)):
        return ", ".join(map(str, v)) or "—"
    return str(v)


def frame_html(df: pd.DataFrame, max_rows: int = 200, currency: str | None = None) -> str:
    """A DataFrame as an HTML table (numbers right-aligned; long tables cut with a note); with ``currency`` the
    column names are made readable with their units (:func:`readable`)."""
    if df is None or len(df) == 0:
        return '<p class="note">(empty)</p>'
    shown = df.head(max_rows)
    names = [readable(str(c), currency) if currency is not None else str(c) for c in shown.columns]
    head = "".join(f"<th>{escape(n)}</th>" for n in names)
    columns = []  # each numeric column in one format, by its unit
    for c in shown.columns:
        col = shown[c]
        if pd.api.types.is_float_dtype(col):
            columns.append([(True, t) for t in fmt_column(col.to_numpy(), column_unit(str(c)))])
        else:
            columns.append(
                [(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)), _fmt(v)) for v in col]
            )
    rows = []
    for i in range(len(shown)):
        cells = [f'<td class="num">{t}</td>' if num else f"<td>{escape(t)}</td>" for num, t in (c[i] for c in columns)]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if len(df) > max_rows:
        more = f'<p class="note">… {len(df) - max_rows:,} more rows (export the CSV for all).</p>'

    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


def build_html(
    scenario: Scenario, result: MarketResult, figures: dict[str, bytes] | None = None, title: str | None = None
) -> str:
    """The report as one HTML document. ``figures``: caption → PNG bytes, embedded in order."""
    s, st = scenario, result.settings
    c = counts(s)
    cur = escape(result.currency)
    t = result.period
    when = s.horizon.labels()[t]
    title = title or f"{s.name} — {MECHANISM_LABELS.get(st.mechanism, st.mechanism)}"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p class='meta'>Feeder Market {escape(__version__)} · {escape(_dt.datetime.now().strftime('%Y-%m-%d %H:%M'))}"
        f" · period {t} ({escape(when)}) of {s.periods}</p>",
        f"<p>{escape(s.description)}</p>",
        "<h2>Scenario and settings</h2>",
        frame_html(
            pd.DataFrame(
                [
                    ("Feeder", f"{c['buses']} buses, {c['lines']} lines, {s.feeder.base_kv:g} kV"),
                    ("Participants", describe_roles(c)),
                    ("Horizon", f"{s.periods} × {s.horizon.step_h:g} h"),
                    ("Mechanism", MECHANISM_LABELS.get(st.mechanism, st.mechanism)),
                    ("Network model", st.network),
                    ("Outside option", st.grid_prices),
                    ("Fairness rule", st.fairness),
                    ("k (uniform price)", f"{st.k:g}"),
                ],
                columns=["", "value"],
            )
        ),
        "<h2>Headline numbers</h2><div>",
    ]
    for key, value in result.summary.items():
        if isinstance(value, (dict, list, tuple, np.ndarray)) or key in _NOT_HEADLINES:
            continue
        label = readable(key, result.currency)
        parts.append(f"<span class='kpi'>{escape(label)}<b>{escape(_fmt(value, column_unit(key)))}</b></span>")
    parts.append(f"</div><p class='note'>Prices in {cur}/kWh, money in {cur}, energy in kWh.</p>")
    for caption, png in (figures or {}).items():
        data = base64.b64encode(png).decode("ascii")
        parts.append(
            f"<figure><img alt='{escape(caption)}' src='data:image/png;base64,{data}'>"
            f"<figcaption>{escape(caption)}</figcaption></figure>"
        )
    sections = [
        ("Per period", result.periods),
        ("Per participant", result.agents),
        ("Mechanism properties (this period)", result.comparison),
        ("Market power (this period)", result.market_power),
        ("Fairness rules", result.fairness_comparison),
        ("Buses (this period)", None if result.buses is None else result.buses[result.buses.period == t]),
        ("Lines (this period)", None if result.lines is None else result.lines[result.lines.period == t]),
        ("Bilateral trades, loss-neutral", result.bilateral),
    ]
    for heading, df in sections:
        if df is not None and len(df):
            parts.append(f"<h2>{escape(heading)}</h2>{frame_html(df, currency=result.currency)}")
    parts.append("<p class='note'>Made by Feeder Market; this file needs no network to open.</p></body></html>")
    return "\n".join(parts)


def write_report(
    path: str | Path,
    scenario: Scenario,
    result: MarketResult,
    figures: dict[str, bytes] | None = None,
    title: str | None = None,
) -> Path:
    """Write :func:`build_html` to ``path`` (atomically: a temporary file, then a rename)."""
    from core.files import write_atomic

    text = build_html(scenario, result, figures, title)
    p = write_atomic(path, lambda fh: fh.write(text))
    return p
