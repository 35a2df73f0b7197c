"""A report of a cleared market that a stakeholder can be handed: the document, and its self-contained HTML.

:func:`build_report` turns a scenario and its :class:`~core.market.MarketResult` into a :class:`Report` — a list of
blocks (headings, paragraphs, key figures, tables, figure slots) written for a reader, not a developer:

* an **executive summary** generated from the numbers (who trades, at what price, what the network costs, who gains
  most and least, what the chosen mechanism gives up);
* the **settings in words**, the **headline numbers** with what each means (welfare with its sign convention);
* figure slots by key (:mod:`gui.figures` draws them — core draws nothing);
* the mechanisms compared as one table, per period, participants (top and bottom on a big market, the full table
  attached), market power and fairness each saying which market they measure.

Every number goes through :mod:`core.units`. :func:`to_html` writes the report as one HTML file that opens in any
browser with no network (figures are embedded SVG, full tables attached as CSV ``data:`` links); the PDF is drawn
from the same :class:`Report` by the dashboard's side (:mod:`gui.report`).
"""

from __future__ import annotations

import base64
import datetime as _dt
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd

from core import __version__
from core.market import FAIRNESS_LABELS, MECHANISM_LABELS, NETWORK_LABELS, MarketResult
from core.scenario.model import Scenario
from core.scenario.summary import counts, describe_roles
from core.units import MONEY, PRICE, column_label, column_unit, fmt, fmt_column, fmt_sig

TOP_ROWS = 15  # a big market's participant, bus and line tables show this many from the top (and a few from the
BOTTOM_ROWS = 5  # bottom); the whole table is attached
BIG_TABLE = TOP_ROWS + BOTTOM_ROWS + 5

MECHANISM_WORDS = {
    "welfare": "the welfare-maximising clearing: one price per period, the shadow price of the energy balance, "
    "with every trade that adds value",
    "uniform": "a uniform-price double auction: bids and asks sorted, one price per period between the marginal bid "
    "and ask (k sets where)",
    "pay_as_bid": "a pay-as-bid auction: each matched pair trades at its own bid and ask",
    "vcg": "the VCG mechanism (Clarke pivot payments): truthful bidding is each participant's best strategy, and "
    "the platform may pay for that",
    "trade_reduction": "McAfee's trade reduction: the last matched pair is left out so that prices come from "
    "outside the trades (truthful, budget balanced, slightly less efficient)",
}
NETWORK_WORDS = {
    "none": "none — a copper plate: every bus pays the same price and the feeder's limits are not modelled",
    "socp": "the exact AC branch flow (SOCP relaxation): each bus pays its DLMP",
    "lindistflow": "LinDistFlow with losses: each bus pays its DLMP (energy + loss + congestion + voltage)",
    "ac": "LinDistFlow, corrected against an AC power flow: each bus pays its DLMP",
    "dc": "a DC model (line ratings only): each bus pays its DLMP",
}
MECHANISM_SHORT = {
    "welfare": "welfare-maximising clearing",
    "uniform": "uniform-price auction",
    "pay_as_bid": "pay-as-bid auction",
    "vcg": "VCG mechanism",
    "trade_reduction": "trade-reduction auction",
}
OUTSIDE_WORDS = {
    "tariffs": "the retail tariff to buy from the grid and the feed-in tariff to sell to it",
    "wholesale": "the wholesale price at the substation, to buy and to sell",
}


# --- the document -----------------------------------------------------------------------------------------------
@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Paragraph:
    text: str
    note: bool = False  # a side note (smaller, grey)


@dataclass
class KeyFigures:
    """Headline numbers: (label, value with its unit, what it means)."""

    items: list[tuple[str, str, str]]


@dataclass
class Table:
    """A table already formatted: every cell is text; ``numeric`` marks the right-aligned columns."""

    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    note: str = ""
    attachment: str | None = None  # the attachment holding the whole table, if this one is a part


@dataclass
class FigureSlot:
    """Where figure ``key`` goes (:mod:`gui.figures`); left out when the renderer has none for it."""

    key: str


Block = Heading | Paragraph | KeyFigures | Table | FigureSlot


@dataclass
class Report:
    title: str
    meta: str
    blocks: list[Block]
    attachments: dict[str, pd.DataFrame] = field(default_factory=dict)  # file name → full table (CSV in the HTML)
    currency: str = "EUR"

    def text(self) -> str:
        """The report's words (headings, paragraphs, key figures, table cells): for tests and search."""
        out = [self.title, self.meta]
        for b in self.blocks:
            if isinstance(b, Heading | Paragraph):
                out.append(b.text)
            elif isinstance(b, KeyFigures):
                out += [f"{label} {value} {what}" for label, value, what in b.items]
            elif isinstance(b, Table):
                out.append(" | ".join(b.columns))
                out += [" | ".join(r) for r in b.rows]
        return "\n".join(out)


# --- building it ------------------------------------------------------------------------------------------------
def _money(v, cur: str) -> str:
    return fmt(v, MONEY, cur)


def _price(v, cur: str) -> str:
    return fmt(v, PRICE, cur)


def _kwh(v) -> str:
    """Energy without its unit (the sentence says kWh)."""
    return fmt(v, "kWh")


def _finite(v) -> bool:
    try:
        return v is not None and bool(np.isfinite(float(v)))
    except (TypeError, ValueError):
        return False


def market_words(result: MarketResult, scenario: Scenario) -> str:
    """Which market a number belongs to: ``Welfare-maximising (shadow price), LinDistFlow + losses, 19:00``."""
    st = result.settings
    when = scenario.horizon.labels()[result.period]
    parts = [MECHANISM_LABELS.get(st.mechanism, st.mechanism)]
    parts.append("copper plate" if st.network == "none" else NETWORK_LABELS.get(st.network, st.network))
    return f"{', '.join(parts)}, {when}"


def executive_summary(scenario: Scenario, result: MarketResult) -> list[str]:
    """A few sentences generated from the result's numbers (each one checked against them in the tests)."""
    s, r, cur = scenario, result, result.currency
    su, agents, periods = r.summary, r.agents, r.periods
    st = r.settings
    when = s.horizon.labels()[r.period]
    out = []
    # who trades
    n = len(agents)
    sellers = int((agents.sold_kwh > 1e-6).sum()) if "sold_kwh" in agents else 0
    buyers = int((agents.bought_kwh > 1e-6).sum()) if "bought_kwh" in agents else 0
    traded = float(su.get("traded_kwh", 0.0))
    imported = float(su.get("grid_import_kwh", 0.0))
    if traded > 1e-6:
        share = traded / (traded + imported) if traded + imported > 0 else np.nan
        out.append(
            f"Over the {s.periods}-period horizon, {sellers:,} of the {n:,} participants sell and {buyers:,} buy: "
            f"{_kwh(traded)} kWh change hands between neighbours"
            + (
                f", {fmt(100 * share, '%')} % of the energy bought (the rest, {_kwh(imported)} kWh, comes from "
                "the grid)."
                if _finite(share)
                else "."
            )
        )
    else:
        out.append(
            f"Over the {s.periods}-period horizon nothing is traded between the {n:,} participants: every one is "
            f"better off with the grid alone ({_kwh(imported)} kWh bought from it)."
        )
    # at what price
    prices = periods.price_per_kwh.to_numpy(dtype=float) if "price_per_kwh" in periods else np.array([])
    traded_t = periods.traded_kwh.to_numpy(dtype=float) if "traded_kwh" in periods else np.zeros(len(prices))
    live = prices[np.isfinite(prices) & (traded_t > 1e-6)] if prices.size else prices
    p_now = su.get("price_per_kwh")
    lo, hi = su.get("price_lo_per_kwh"), su.get("price_hi_per_kwh")
    if live.size:
        text = (
            f"The price of a kWh traded ranges from {_price(live.min(), cur)} to {_price(live.max(), cur)} over "
            "the periods with trade"
        )
        if _finite(p_now):
            text += f"; at {when} it is {_price(p_now, cur)}"
            if _finite(lo) and _finite(hi) and float(hi) - float(lo) > 1e-9:
                text += f" (any price from {fmt(lo, PRICE)} to {fmt(hi, PRICE)} clears that period)"
        out.append(text + ".")
    elif st.mechanism in ("pay_as_bid", "vcg"):
        out.append("Each trade pays its own price (there is no single market price).")
    # what the network costs
    if st.network != "none" and "loss_kwh" in su:
        text = f"The feeder loses {_kwh(su['loss_kwh'])} kWh over the day in its lines"
        if _finite(su.get("dlmp_min_per_kwh")) and _finite(su.get("dlmp_max_per_kwh")):
            text += (
                f"; at {when} the buses' prices (DLMPs) range from {_price(su['dlmp_min_per_kwh'], cur)} to "
                f"{_price(su['dlmp_max_per_kwh'], cur)}"
            )
            part = su.get("largest_dlmp_component")
            if part and part != "none":
                text += f", most of the difference being the {part} part"
        if _finite(su.get("v_min_pu")):
            text += f"; the lowest voltage is {fmt(su['v_min_pu'], 'p.u.')} p.u."
        if _finite(su.get("max_loading_pct")):
            text += f" and the most loaded line carries {fmt(su['max_loading_pct'], '%')} % of its rating"
        out.append(text + ".")
    # who gains most and least
    if "gain_over_outside" in agents and n:
        g = agents.gain_over_outside.to_numpy(dtype=float)
        top, bottom = int(np.nanargmax(g)), int(np.nanargmin(g))
        text = (
            f"Against trading with the grid alone, the participants gain {_money(np.nansum(g), cur)} together; "
            f"{agents.agent.iat[top]} gains the most ({_money(g[top], cur)}) and {agents.agent.iat[bottom]} the "
            f"least ({_money(g[bottom], cur)})"
        )
        rest = float(su.get("gain_over_outside", np.nan)) - float(np.nansum(g))
        if np.isfinite(rest) and abs(rest) >= 0.005:
            word = "keeps" if rest > 0 else "pays out"
            text += (
                f" (the platform {word} {_money(abs(rest), cur)}, so the gain over the grid alone is "
                f"{_money(su.get('gain_over_outside'), cur)})"
            )
        bad = int(su.get("ir_violations", 0) or 0)
        text += (
            "."
            if bad == 0
            else f"; {bad:,} {'participant ends' if bad == 1 else 'participants end'} up worse off than with the "
            "grid alone."
        )
        out.append(text)
    # what the chosen mechanism gives up
    mech = r.mechanisms
    if mech is not None and len(mech) and "welfare" in mech and st.mechanism in set(mech.mechanism):
        best = float(mech.welfare.max())
        mine = float(mech.set_index("mechanism").welfare.loc[st.mechanism])
        lost = best - mine
        name = MECHANISM_SHORT.get(st.mechanism, st.mechanism)
        if lost <= 1e-6 * (1 + abs(best)):
            text = f"The {name} reaches the highest welfare of the mechanisms compared"
        else:
            text = f"The {name} gives up {_money(lost, cur)} of welfare against the best mechanism compared"
        ps = float(mech.set_index("mechanism").platform_surplus.loc[st.mechanism])
        if ps < -1e-6:
            text += f", and the platform pays a deficit of {_money(-ps, cur)} to keep bidding truthful"
        elif ps > 1e-6:
            text += f", and the platform keeps a surplus of {_money(ps, cur)}"
        out.append(text + ".")
    elif st.mechanism == "welfare":
        ps = float(su.get("platform_surplus", 0.0) or 0.0)
        text = (
            "The welfare-maximising clearing gives up nothing by construction: it finds the most valuable trades "
            "the bids allow"
        )
        if abs(ps) > 1e-6:
            word = "surplus" if ps > 0 else "deficit"
            text += f"; its platform {word} of {_money(abs(ps), cur)} is what the buses' different prices leave over"
        out.append(text + ".")
    return out


def _settings_rows(scenario: Scenario, result: MarketResult) -> list[list[str]]:
    s, st = scenario, result.settings
    c = counts(s)
    rows = [
        ["Feeder", f"{c['buses']:,} buses and {c['lines']:,} lines at {fmt_sig(s.feeder.base_kv)} kV"],
        ["Participants", describe_roles(c)],
        [
            "Horizon",
            f"{s.periods:,} period{'s' if s.periods != 1 else ''} of {fmt(s.horizon.step_h, '')} h; "
            "this report's period: "
            f"{s.horizon.labels()[result.period]}",
        ],
        ["Mechanism", MECHANISM_WORDS.get(st.mechanism, st.mechanism)],
        ["Network model", NETWORK_WORDS.get(st.network, st.network)],
        ["Grid prices in the market", OUTSIDE_WORDS.get(st.grid_prices, st.grid_prices)],
        [
            "Gains measured against",
            "each participant trading with the grid alone at the retail tariff (to buy) and the feed-in tariff "
            "(to sell)",
        ],
        ["Fairness rule", FAIRNESS_LABELS.get(st.fairness, st.fairness)],
    ]
    if st.mechanism == "uniform":
        rows.append(["k", f"{fmt(st.k, '')}: the price sits k of the way from the marginal ask to the marginal bid"])
    return rows


def _key_figures(scenario: Scenario, result: MarketResult) -> KeyFigures:
    su, cur = result.summary, result.currency
    when = scenario.horizon.labels()[result.period]
    items = [
        (
            "Welfare",
            _money(su.get("welfare"), cur),
            "value of the energy used − cost of the energy produced − net cost of the grid, over the day. A community "
            "that buys most of its energy has a negative welfare; what the market adds is the gain below.",
        ),
        (
            "Gain over the grid alone",
            _money(su.get("gain_over_outside"), cur),
            "welfare minus the welfare with everyone trading with the grid alone at the tariffs: the participants' "
            "gains plus what the platform keeps (positive: the market helps)",
        ),
        ("Traded between participants", f"{_kwh(su.get('traded_kwh'))} kWh", "over the day"),
        (
            "Bought from / sold to the grid",
            f"{_kwh(su.get('grid_import_kwh'))} / {_kwh(su.get('grid_export_kwh'))} kWh",
            "over the day",
        ),
    ]
    p, lo, hi = su.get("price_per_kwh"), su.get("price_lo_per_kwh"), su.get("price_hi_per_kwh")
    if _finite(p):
        extra = (
            f"any price from {fmt(lo, PRICE)} to {fmt(hi, PRICE)} clears it"
            if _finite(lo) and _finite(hi) and float(hi) - float(lo) > 1e-9
            else "one price clears it"
        )
        items.append((f"Price at {when}", _price(p, cur), extra))
    ps = su.get("platform_surplus")
    if _finite(ps):
        items.append(
            (
                "Platform surplus",
                _money(ps, cur),
                "what buyers paid minus what sellers received over the day (negative: the platform pays a deficit)",
            )
        )
    if result.settings.network != "none":
        if _finite(su.get("loss_kwh")):
            items.append(("Network losses", f"{_kwh(su['loss_kwh'])} kWh", "over the day"))
        if _finite(su.get("dlmp_min_per_kwh")):
            items.append(
                (
                    f"DLMPs at {when}",
                    f"{fmt(su['dlmp_min_per_kwh'], PRICE)}–{fmt(su['dlmp_max_per_kwh'], PRICE)} {cur}/kWh",
                    "the lowest and the highest bus price",
                )
            )
        if _finite(su.get("v_min_pu")):
            items.append((f"Lowest voltage at {when}", fmt(su["v_min_pu"], "p.u.", ""), "per unit of nominal"))
        if _finite(su.get("max_loading_pct")):
            items.append(
                (f"Most loaded line at {when}", f"{fmt(su['max_loading_pct'], '%')} %", "of its thermal rating")
            )
    return KeyFigures(items)


def frame_table(
    df: pd.DataFrame,
    currency: str,
    columns: list[str] | None = None,
    labels: dict[str, str] | None = None,
    note: str = "",
    attachment: str | None = None,
) -> Table:
    """``df`` (or its ``columns``) as a formatted :class:`Table`: readable headers with units, each numeric column in
    one format by its unit, booleans as yes/no."""
    cols = [c for c in (columns or list(df.columns)) if c in df.columns]
    heads, cells, numeric = [], [], []
    for c in cols:
        col = df[c]
        heads.append((labels or {}).get(c, column_label(str(c), currency)))
        if pd.api.types.is_bool_dtype(col):
            cells.append(["yes" if v else "no" for v in col])
            numeric.append(False)
        elif pd.api.types.is_numeric_dtype(col):
            unit = column_unit(str(c))
            if pd.api.types.is_integer_dtype(col) and unit == "":
                cells.append([f"{int(v):,}" for v in col])
            else:
                cells.append(fmt_column(col.to_numpy(dtype=float), unit))
            numeric.append(True)
        else:
            cells.append(["—" if v is None or (isinstance(v, float) and v != v) else str(v) for v in col])
            numeric.append(False)
    rows = [list(r) for r in zip(*cells, strict=True)] if cells else []
    return Table(heads, rows, numeric, note, attachment)


def _top_bottom(df: pd.DataFrame, by: str, attachment: str, what: str) -> tuple[pd.DataFrame, str]:
    """A big table's first ``TOP_ROWS`` and last ``BOTTOM_ROWS`` rows by ``by`` (descending), with the note."""
    if len(df) <= BIG_TABLE or by not in df:
        return df, ""
    order = df.sort_values(by, ascending=False, kind="stable")
    part = pd.concat([order.head(TOP_ROWS), order.tail(BOTTOM_ROWS)])
    note = (
        f"The {TOP_ROWS} {what} with the highest and the {BOTTOM_ROWS} with the lowest {column_label(by)} "
        f"of {len(df):,}; the whole table is attached as {attachment}."
    )
    return part, note


def build_report(
    scenario: Scenario, result: MarketResult, title: str | None = None, figures: tuple[str, ...] | None = None
) -> Report:
    """The report of ``result`` (cleared from ``scenario``). ``figures``: the figure keys to leave slots for, in
    order (default: every figure of :mod:`gui.figures`' order)."""

    s, r, st, cur = scenario, result, result.settings, result.currency
    when = s.horizon.labels()[r.period]
    mech_label = MECHANISM_LABELS.get(st.mechanism, st.mechanism)
    title = title or f"{s.name} — {mech_label}"
    meta = (
        f"Feeder Market {__version__} · {_dt.datetime.now().strftime('%Y-%m-%d %H:%M')} · "
        f"{mech_label} · network model: {NETWORK_LABELS.get(st.network, st.network)} · "
        f"period {when} ({r.period + 1} of {s.periods})"
    )
    order = (
        figures
        if figures is not None
        else ("feeder", "supply_demand", "day_prices", "dlmp_parts", "fairness_gains", "market_power", "comparison")
    )
    b: list[Block] = []
    attachments: dict[str, pd.DataFrame] = {}
    b.append(Heading("Summary"))
    b += [Paragraph(t) for t in executive_summary(s, r)]
    if s.description:
        b.append(Paragraph(s.description, note=True))
    b.append(Heading("Settings"))
    b.append(Table(["", "In words"], _settings_rows(s, r), [False, False]))
    b.append(Heading("Headline numbers"))
    b.append(_key_figures(s, r))
    b.append(
        Paragraph(
            f"Prices in {cur}/kWh, money in {cur}, energy in kWh. Every number belongs to the market above "
            f"({market_words(r, s)}) unless its section says otherwise.",
            note=True,
        )
    )
    for w in r.warnings:
        b.append(Paragraph(f"Note: {w}", note=True))
    # the figures
    if order:
        b.append(Heading("Figures"))
        for key in order[:3]:
            b.append(FigureSlot(key))
    # mechanisms compared
    if r.mechanisms is not None and len(r.mechanisms):
        b.append(Heading("Mechanisms compared"))
        b.append(
            Paragraph(
                "Every mechanism clears the same bids on the copper plate with the same outside option, and each "
                "is valued with the participants' true costs and values: the welfare and the gains are on one "
                "scale. A day's welfare here is the copper plate's, not the network clearing's above when there is "
                "one. Worse off: participants worse off than with the grid alone; best lie's gain: the most one "
                f"participant gains by misreporting its bids at {when} (0: truthful bidding is its best)."
            )
        )
        m = r.mechanisms.copy()
        m["mechanism"] = [MECHANISM_SHORT.get(x, x).capitalize().replace("Vcg", "VCG") for x in m.mechanism]
        m["efficiency_pct"] = 100.0 * m.efficiency  # in percent, as the figure beside it (a ratio hid 99.9 as 1.00)
        b.append(
            frame_table(
                m,
                cur,
                [
                    "mechanism",
                    "welfare",
                    "gain_over_outside",
                    "efficiency_pct",
                    "platform_surplus",
                    "traded_kwh",
                    "ir_violations",
                    "max_ic_gain",
                ],
                {
                    "mechanism": "Mechanism",
                    "efficiency_pct": "Efficiency (%)",
                    "ir_violations": "Worse off",
                    "max_ic_gain": f"Best lie's gain ({cur})",
                    "period_price_per_kwh": f"Price at {when} ({cur}/kWh)",
                    "worst_off_gain": f"Smallest gain ({cur})",
                },
            )
        )
        if "comparison" in order:
            b.append(FigureSlot("comparison"))
    elif r.comparison is not None and len(r.comparison):
        b.append(Heading(f"Mechanism properties at {when}"))
        m = r.comparison.copy()
        m["mechanism"] = [MECHANISM_SHORT.get(x, x).capitalize().replace("Vcg", "VCG") for x in m.mechanism]
        b.append(frame_table(m, cur, labels={"mechanism": "Mechanism", "efficiency": "Efficiency"}))
        if "comparison" in order:
            b.append(FigureSlot("comparison"))
    # the network
    if st.network != "none" and r.buses is not None and len(r.buses):
        b.append(Heading(f"The feeder's prices at {when}"))
        b.append(
            Paragraph(
                "Each bus pays its distribution locational marginal price (DLMP): the energy price at the substation "
                "plus the cost of the losses, congestion and voltage support its consumption causes."
            )
        )
        if "dlmp_parts" in order:
            b.append(FigureSlot("dlmp_parts"))
        buses = r.buses[r.buses.period == r.period].drop(columns="period")
        attachments["buses.csv"] = r.buses
        part, note = _top_bottom(buses, "dlmp_per_kwh", "buses.csv", "buses")
        b.append(frame_table(part, cur, note=note, attachment="buses.csv" if note else None))
        if r.lines is not None and len(r.lines):
            lines = r.lines[r.lines.period == r.period].drop(columns="period")
            attachments["lines.csv"] = r.lines
            part, note = _top_bottom(
                lines, "loading_pct" if "loading_pct" in lines else lines.columns[-1], "lines.csv", "lines"
            )
            b.append(frame_table(part, cur, note=note, attachment="lines.csv" if note else None))
    # per period
    b.append(Heading("Per period"))
    per = ["time", "price_per_kwh", "traded_kwh", "grid_import_kwh", "grid_export_kwh", "welfare"]
    if st.network != "none":
        per += ["dlmp_min_per_kwh", "dlmp_max_per_kwh", "loss_kwh", "v_min_pu", "max_loading_pct"]
    attachments["periods.csv"] = r.periods
    b.append(frame_table(r.periods, cur, per, {"time": "Time"}, attachment="periods.csv"))
    # participants
    b.append(Heading("Participants"))
    attachments["participants.csv"] = r.agents
    part, note = _top_bottom(r.agents, "gain_over_outside", "participants.csv", "participants")
    b.append(
        frame_table(
            part,
            cur,
            [
                "agent",
                "bus",
                "role",
                "der",
                "bought_kwh",
                "sold_kwh",
                "grid_import_kwh",
                "grid_export_kwh",
                "payment",
                "gain_over_outside",
                "ir_ok",
            ],
            {
                "agent": "Participant",
                "bus": "Bus",
                "role": "Role",
                "der": "Asset",
                "ir_ok": "No worse off",
                "payment": f"Pays the market ({cur})",
                "gain_over_outside": f"Gain over the grid alone ({cur})",
            },
            note=note or "Payments are over the day; a negative payment is money received.",
            attachment="participants.csv",
        )
    )
    # market power
    ms = r.market_power_summary
    if ms:
        b.append(Heading("Market power"))
        measured = ms.get("measured_on", "uniform")
        measured_words = (
            "on the uniform-price auction of the same bids, on the copper plate with the tariffs"
            if measured == "uniform"
            else f"on the {MECHANISM_SHORT.get(measured, measured)} itself, on the copper plate with the tariffs"
        )
        # a different market only when what was measured is not this report's own (the same auction on the copper
        # plate measures itself)
        differs = measured != st.mechanism or st.network != "none"
        b.append(
            Paragraph(
                f"Market power at {when} is measured {measured_words}"
                + (
                    f" — a different market from this report's ({market_words(r, s)}): its price and volume "
                    f"({_price(ms.get('price'), cur)}, {_kwh(ms.get('traded_kwh'))} kWh) are that auction's."
                    if differs
                    else "."
                )
                + f" HHI {fmt(ms.get('hhi'), '')} ({fmt(ms.get('hhi_points'), 'count')} points: {ms.get('band', '')})"
                + f" among {ms.get('n_sellers', 0):,} sellers"
                + (
                    f"; pivotal sellers (the others could not serve the demand without them): "
                    f"{', '.join(map(str, ms['pivotal'][:12]))}" + (" …" if len(ms["pivotal"]) > 12 else "")
                    if ms.get("pivotal")
                    else "; no seller is pivotal"
                )
                + "."
            )
        )
        if "market_power" in order:
            b.append(FigureSlot("market_power"))
        if r.market_power is not None and len(r.market_power):
            mp = r.market_power
            by = "share" if "share" in mp else mp.columns[1]
            top = mp.sort_values(by, ascending=False, kind="stable").head(TOP_ROWS)
            note = f"The {len(top)} largest of {len(mp):,} sellers." if len(mp) > len(top) else ""
            b.append(frame_table(top, cur, note=note, labels={"agent": "Seller"}))
    # fairness
    if r.fairness_comparison is not None and len(r.fairness_comparison):
        b.append(Heading("Fairness"))
        b.append(
            Paragraph(
                "Each rule shares the gains over the grid alone differently among the same participants (copper plate, "
                "tariffs as the outside option): efficiency maximises their sum, proportional fairness the sum of "
                "their logarithms, max-min the smallest. The price of fairness is the share of the total gain a "
                "rule gives up."
            )
        )
        if "fairness_gains" in order:
            b.append(FigureSlot("fairness_gains"))
        fc = r.fairness_comparison.drop(columns=["solve_time_s"], errors="ignore")  # the solver's time is not a result
        if "rule" in fc:
            fc["rule"] = [FAIRNESS_LABELS.get(x, x) for x in fc.rule]
        b.append(frame_table(fc, cur, labels={"rule": "Rule", "jain": "Jain's index", "gini": "Gini"}))
    elif "fairness_gains" in order and r.fairness is not None:
        b.append(Heading("Fairness"))
        b.append(FigureSlot("fairness_gains"))
    else:  # the section is missing for a reason the reader is told
        from core.market.settings import FAIRNESS_AUDIT_MAX_AGENTS

        if st.mechanism != "welfare":
            why = (
                f"the {MECHANISM_SHORT.get(st.mechanism, st.mechanism)} has its own allocation, so the fairness rules "
                "(which share the welfare clearing's gains) are not compared in this report"
            )
        elif st.network != "none" or st.grid_prices != "tariffs":
            why = (
                "the fairness rules are compared on the copper plate with the tariffs as the outside option, and this "
                "report's market has a network model; a report with the network model none shows them"
            )
        elif len(s.prosumers) > FAIRNESS_AUDIT_MAX_AGENTS:
            why = (
                f"with {len(s.prosumers):,} participants (over {FAIRNESS_AUDIT_MAX_AGENTS}) the rules are compared "
                "only when one is chosen: a report with --fairness proportional or max-min shows it"
            )
        else:
            why = "the fairness rules were not compared for this result"
        b.append(Heading("Fairness"))
        b.append(Paragraph(f"Not in this report: {why}."))
    # figures not placed yet (the day's prices and the rest), so none is lost
    placed = {x.key for x in b if isinstance(x, FigureSlot)}
    rest = [k for k in order if k not in placed]
    if rest:
        at = next(i for i, x in enumerate(b) if isinstance(x, FigureSlot)) + 1 if placed else len(b)
        for k in rest:
            b.insert(at, FigureSlot(k))
            at += 1
    return Report(title, meta, b, attachments, cur)


def study_report(
    name: str,
    about: list[str],
    plot_caption: str,
    plot_data: pd.DataFrame,
    results: pd.DataFrame,
    currency: str,
    figure_key: str = "study_plot",
) -> Report:
    """The report of a study (:mod:`core.study`): what was varied and how many points, its plot (slot
    ``figure_key``), the numbers behind the plot, and the points' outcome; the whole results attached."""
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    meta = f"Feeder Market {__version__} · {now} · a study of {len(results):,} points"
    b: list[Block] = [Heading("The study")]
    b += [Paragraph(t) for t in about]
    b.append(FigureSlot(figure_key))
    attachments = {"study-results.csv": results}
    if len(plot_data):
        b.append(Heading("The numbers behind the plot"))
        attachments["plot.csv"] = plot_data
        shown = plot_data.head(BIG_TABLE * 2)
        note = (
            f"The first {len(shown):,} of {len(plot_data):,} rows; the whole table is attached as plot.csv."
            if len(plot_data) > len(shown)
            else ""
        )
        b.append(frame_table(shown, currency, note=note, attachment="plot.csv" if note else None))
    if "status" in results:
        b.append(Heading("The points"))
        counts = results.status.value_counts()
        b.append(Table(["Outcome", "Points"], [[str(k), f"{int(v):,}"] for k, v in counts.items()], [False, True]))
    b.append(Paragraph(plot_caption, note=True))
    return Report(f"Study: {name}", meta, b, attachments, currency)


# --- HTML -------------------------------------------------------------------------------------------------------
_STYLE = """
body { font-family: "DejaVu Sans", -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 60em;
       color: #222; line-height: 1.45; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccd; padding-bottom: 0.2em; margin-top: 1.6em; }
.meta { color: #666; font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.6em 0 0.4em; font-size: 0.85em; }
th, td { border: 1px solid #dde; padding: 2px 7px; white-space: nowrap; }
th { background: #f1f3f7; text-align: left; white-space: normal; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.wide { overflow-x: auto; }
.kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(15em, 1fr)); gap: 0.6em 1.2em; }
.kpi b { display: block; font-size: 1.3em; } .kpi span { color: #555; font-size: 0.85em; }
figure { margin: 1.2em 0; page-break-inside: avoid; break-inside: avoid; }
figure img { width: 100%; max-width: 46em; border: 1px solid #eee; }
figcaption { color: #444; font-size: 0.9em; max-width: 46em; }
.note { color: #555; font-size: 0.88em; }
@media print { body { margin: 0; max-width: none; } h2 { page-break-after: avoid; } }
"""


def _table_html(t: Table, links: dict[str, str]) -> str:
    head = "".join(
        f"<th class='{'num' if n else ''}'>{escape(c)}</th>" for c, n in zip(t.columns, t.numeric, strict=True)
    )
    body = "".join(
        "<tr>"
        + "".join(f"<td class='{'num' if n else ''}'>{escape(v)}</td>" for v, n in zip(r, t.numeric, strict=True))
        + "</tr>"
        for r in t.rows
    )
    note = escape(t.note)
    if t.attachment and t.attachment in links:  # the data once, at the end; here a link to it
        note += f" <a href='#attached-{escape(t.attachment)}'>{escape(t.attachment)}</a>"
    return f"<div class='wide'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>" + (
        f"<p class='note'>{note}</p>" if note.strip() else ""
    )


def to_html(report: Report, figures: dict[str, tuple[bytes, str]] | None = None) -> str:
    """The report as one HTML document. ``figures``: key → (SVG bytes, caption); a slot without one is left out."""
    figures = figures or {}
    links = {
        name: "data:text/csv;base64," + base64.b64encode(df.to_csv(index=False).encode("utf-8")).decode("ascii")
        for name, df in report.attachments.items()
    }
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(report.title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(report.title)}</h1><p class='meta'>{escape(report.meta)}</p>",
    ]
    n_fig = 0
    for blk in report.blocks:
        if isinstance(blk, Heading):
            parts.append(f"<h{blk.level}>{escape(blk.text)}</h{blk.level}>")
        elif isinstance(blk, Paragraph):
            parts.append(f"<p class='note'>{escape(blk.text)}</p>" if blk.note else f"<p>{escape(blk.text)}</p>")
        elif isinstance(blk, KeyFigures):
            cells = "".join(
                f"<div class='kpi'>{escape(label)}<b>{escape(value)}</b><span>{escape(what)}</span></div>"
                for label, value, what in blk.items
            )
            parts.append(f"<div class='kpis'>{cells}</div>")
        elif isinstance(blk, Table):
            parts.append(_table_html(blk, links))
        elif isinstance(blk, FigureSlot) and blk.key in figures:
            svg, caption = figures[blk.key]
            n_fig += 1
            data = base64.b64encode(svg).decode("ascii")
            parts.append(
                f"<figure><img alt='{escape(caption)}' src='data:image/svg+xml;base64,{data}'>"
                f"<figcaption><b>Figure {n_fig}.</b> {escape(caption)}</figcaption></figure>"
            )
    if links:
        parts.append(
            "<h2>Attached tables</h2><p class='note'>The full tables, as CSV: "
            + ", ".join(
                f"<a id='attached-{escape(n)}' download='{escape(n)}' href='{u}'>{escape(n)}</a>"
                for n, u in links.items()
            )
            + ".</p>"
        )
    parts.append("<p class='note'>Made by Feeder Market; this file needs no network to open.</p></body></html>")
    return "\n".join(parts)


def build_html(
    scenario: Scenario,
    result: MarketResult,
    figures: dict[str, tuple[bytes, str]] | None = None,
    title: str | None = None,
) -> str:
    """:func:`build_report` written by :func:`to_html`."""
    return to_html(build_report(scenario, result, title, tuple(figures) if figures is not None else ()), figures)


def write_report(
    path: str | Path,
    scenario: Scenario,
    result: MarketResult,
    figures: dict[str, tuple[bytes, str]] | None = None,
    title: str | None = None,
) -> Path:
    """Write :func:`build_html` to ``path`` (atomically: a temporary file, then a rename)."""
    from core.files import write_atomic

    text = build_html(scenario, result, figures, title)
    return write_atomic(path, lambda fh: fh.write(text))
