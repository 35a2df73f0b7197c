"""SimBench grids with a day of their profiles: :func:`import_simbench`.

SimBench (the ``simbench`` package, in the ``[grid]`` extra) ships benchmark grids of every voltage level as
pandapower networks, with a year (2016, quarter-hourly) of relative load, generation and storage profiles. A grid
goes through the pandapower importer (:func:`core.scenario.pandapower_io.import_pandapower`: transformers,
switches, the radial check), and one day of SimBench's absolute values is laid on the prosumers it made
(``load{i}``, ``sgen{i}``), plus SimBench's storage units as batteries.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import re
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from core.errors import Problem, ScenarioError
from core.scenario.model import Asset, Prosumer, Scenario, TimeHorizon

SIMBENCH_YEAR = 2016  # a leap year: 366 days × 96 quarter hours = 35 136 rows per profile
STEPS: dict[str, float] = {"1h": 1.0, "15min": 0.25}
INSTALL_HINT = 'SimBench is not installed: pip install -e ".[grid]"'

# The wholesale price is not part of SimBench. This default (EUR/kWh, hour by hour from 00:00) is a stylised
# day-ahead shape of a central European spring/summer weekday: low at night, a morning shoulder, a midday dip when
# PV floods the market and an evening peak; its mean is 0.10 EUR/kWh, the flat default of the pandapower importer.
DEFAULT_WHOLESALE_PRICE_PER_KWH: tuple[float, ...] = (
    0.0875, 0.0825, 0.0795, 0.0775, 0.0785, 0.0845, 0.0975, 0.1125, 0.1175, 0.1105, 0.0995, 0.0905,
    0.0855, 0.0845, 0.0885, 0.0965, 0.1065, 0.1195, 0.1305, 0.1335, 0.1265, 0.1145, 0.1025, 0.0935,
)  # fmt: skip


@dataclass(frozen=True)
class SimbenchGrid:
    """A SimBench code that imports as one radial feeder: its voltage level (``LV``, ``MV``) and size."""

    code: str
    level: str
    buses: int
    prosumers: int


# The codes that import as one radial feeder: every LV, MV and MVLV code (but the 5,000–10,000-bus MVLV '-all-' ones,
# of which '-0-sw' only) was imported once (2016-06-21, simbench 1.6.3; tests/core/test_simbench.py checks a
# sample). The MV and MVLV urban and commercial grids without their switches ('-no_sw') are meshed; the HV, HVMV
# and EHV codes have several external grids or a meshed HV part; the "complete_data" and EHVHV… codes were not tried.
_RADIAL: tuple[tuple[str, int, int], ...] = (  # (code, buses, prosumers) as imported
    ("1-LV-rural1--0-sw", 15, 17),
    ("1-LV-rural1--0-no_sw", 15, 17),
    ("1-LV-rural1--1-sw", 15, 26),
    ("1-LV-rural1--1-no_sw", 15, 26),
    ("1-LV-rural1--2-sw", 15, 41),
    ("1-LV-rural1--2-no_sw", 15, 41),
    ("1-LV-rural2--0-sw", 97, 107),
    ("1-LV-rural2--0-no_sw", 97, 107),
    ("1-LV-rural2--1-sw", 97, 112),
    ("1-LV-rural2--1-no_sw", 97, 112),
    ("1-LV-rural2--2-sw", 97, 137),
    ("1-LV-rural2--2-no_sw", 97, 137),
    ("1-LV-rural3--0-sw", 129, 135),
    ("1-LV-rural3--0-no_sw", 129, 135),
    ("1-LV-rural3--1-sw", 129, 184),
    ("1-LV-rural3--1-no_sw", 129, 184),
    ("1-LV-rural3--2-sw", 129, 196),
    ("1-LV-rural3--2-no_sw", 129, 196),
    ("1-LV-semiurb4--0-sw", 44, 42),
    ("1-LV-semiurb4--0-no_sw", 44, 42),
    ("1-LV-semiurb4--1-sw", 44, 46),
    ("1-LV-semiurb4--1-no_sw", 44, 46),
    ("1-LV-semiurb4--2-sw", 44, 68),
    ("1-LV-semiurb4--2-no_sw", 44, 68),
    ("1-LV-semiurb5--0-sw", 111, 113),
    ("1-LV-semiurb5--0-no_sw", 111, 113),
    ("1-LV-semiurb5--1-sw", 111, 142),
    ("1-LV-semiurb5--1-no_sw", 111, 142),
    ("1-LV-semiurb5--2-sw", 111, 159),
    ("1-LV-semiurb5--2-no_sw", 111, 159),
    ("1-LV-urban6--0-sw", 59, 116),
    ("1-LV-urban6--0-no_sw", 59, 116),
    ("1-LV-urban6--1-sw", 59, 119),
    ("1-LV-urban6--1-no_sw", 59, 119),
    ("1-LV-urban6--2-sw", 59, 154),
    ("1-LV-urban6--2-no_sw", 59, 154),
    ("1-MV-rural--0-sw", 95, 198),
    ("1-MV-rural--0-no_sw", 95, 198),
    ("1-MV-rural--1-sw", 97, 251),
    ("1-MV-rural--1-no_sw", 97, 251),
    ("1-MV-rural--2-sw", 97, 288),
    ("1-MV-rural--2-no_sw", 97, 288),
    ("1-MV-semiurb--0-sw", 115, 236),
    ("1-MV-semiurb--0-no_sw", 115, 236),
    ("1-MV-semiurb--1-sw", 120, 328),
    ("1-MV-semiurb--1-no_sw", 120, 328),
    ("1-MV-semiurb--2-sw", 120, 359),
    ("1-MV-semiurb--2-no_sw", 120, 359),
    ("1-MV-urban--0-sw", 139, 273),
    ("1-MV-urban--1-sw", 139, 374),
    ("1-MV-urban--2-sw", 139, 406),
    ("1-MV-comm--0-sw", 104, 187),
    ("1-MV-comm--1-sw", 107, 240),
    ("1-MV-comm--2-sw", 108, 276),
    ("1-MVLV-rural-all-0-sw", 5477, 5954),
    ("1-MVLV-rural-1.108-0-sw", 109, 213),
    ("1-MVLV-rural-1.108-0-no_sw", 109, 213),
    ("1-MVLV-rural-1.108-1-sw", 111, 274),
    ("1-MVLV-rural-1.108-1-no_sw", 111, 274),
    ("1-MVLV-rural-1.108-2-sw", 111, 326),
    ("1-MVLV-rural-1.108-2-no_sw", 111, 326),
    ("1-MVLV-rural-2.107-0-sw", 191, 303),
    ("1-MVLV-rural-2.107-0-no_sw", 191, 303),
    ("1-MVLV-rural-2.107-1-sw", 193, 361),
    ("1-MVLV-rural-2.107-1-no_sw", 193, 361),
    ("1-MVLV-rural-2.107-2-sw", 193, 422),
    ("1-MVLV-rural-2.107-2-no_sw", 193, 422),
    ("1-MVLV-rural-4.101-0-sw", 138, 238),
    ("1-MVLV-rural-4.101-0-no_sw", 138, 238),
    ("1-MVLV-rural-4.101-1-sw", 140, 294),
    ("1-MVLV-rural-4.101-1-no_sw", 140, 294),
    ("1-MVLV-rural-4.101-2-sw", 140, 353),
    ("1-MVLV-rural-4.101-2-no_sw", 140, 353),
    ("1-MVLV-semiurb-all-0-sw", 9097, 9566),
    ("1-MVLV-semiurb-3.202-0-sw", 243, 369),
    ("1-MVLV-semiurb-3.202-0-no_sw", 243, 369),
    ("1-MVLV-semiurb-3.202-1-sw", 248, 509),
    ("1-MVLV-semiurb-3.202-1-no_sw", 248, 509),
    ("1-MVLV-semiurb-3.202-2-sw", 248, 552),
    ("1-MVLV-semiurb-3.202-2-no_sw", 248, 552),
    ("1-MVLV-semiurb-4.201-0-sw", 158, 276),
    ("1-MVLV-semiurb-4.201-0-no_sw", 158, 276),
    ("1-MVLV-semiurb-4.201-1-sw", 163, 371),
    ("1-MVLV-semiurb-4.201-1-no_sw", 163, 371),
    ("1-MVLV-semiurb-4.201-2-sw", 163, 424),
    ("1-MVLV-semiurb-4.201-2-no_sw", 163, 424),
    ("1-MVLV-semiurb-5.220-0-sw", 225, 347),
    ("1-MVLV-semiurb-5.220-0-no_sw", 225, 347),
    ("1-MVLV-semiurb-5.220-1-sw", 230, 467),
    ("1-MVLV-semiurb-5.220-1-no_sw", 230, 467),
    ("1-MVLV-semiurb-5.220-2-sw", 230, 515),
    ("1-MVLV-semiurb-5.220-2-no_sw", 230, 515),
    ("1-MVLV-urban-all-0-sw", 10453, 12348),
    ("1-MVLV-urban-5.303-0-sw", 249, 384),
    ("1-MVLV-urban-5.303-1-sw", 249, 513),
    ("1-MVLV-urban-5.303-2-sw", 249, 562),
    ("1-MVLV-urban-6.305-0-sw", 197, 387),
    ("1-MVLV-urban-6.305-1-sw", 197, 491),
    ("1-MVLV-urban-6.305-2-sw", 197, 557),
    ("1-MVLV-urban-6.309-0-sw", 197, 387),
    ("1-MVLV-urban-6.309-1-sw", 197, 491),
    ("1-MVLV-urban-6.309-2-sw", 197, 557),
    ("1-MVLV-comm-all-0-sw", 6203, 7359),
    ("1-MVLV-comm-3.403-0-sw", 232, 320),
    ("1-MVLV-comm-3.403-1-sw", 235, 421),
    ("1-MVLV-comm-3.403-2-sw", 236, 469),
    ("1-MVLV-comm-4.416-0-sw", 147, 227),
    ("1-MVLV-comm-4.416-1-sw", 150, 283),
    ("1-MVLV-comm-4.416-2-sw", 151, 341),
    ("1-MVLV-comm-5.401-0-sw", 214, 298),
    ("1-MVLV-comm-5.401-1-sw", 217, 379),
    ("1-MVLV-comm-5.401-2-sw", 218, 432),
)


def radial_simbench_codes() -> tuple[SimbenchGrid, ...]:
    """The SimBench codes that import as one radial feeder, with their voltage level and size."""
    return tuple(SimbenchGrid(code, _level(code), nb, npros) for code, nb, npros in _RADIAL)


def _level(code: str) -> str:
    parts = code.split("-")
    return parts[1] if len(parts) > 1 else ""


def simbench_installed() -> bool:
    """Whether the ``simbench`` package can be imported (without importing it: that takes a second)."""
    import importlib.util

    try:
        return importlib.util.find_spec("simbench") is not None
    except (ImportError, ValueError):  # ValueError: a module set to None in sys.modules (tests)
        return False


def _simbench() -> Any:
    try:
        import simbench
    except ImportError:
        raise ScenarioError(INSTALL_HINT) from None
    return simbench


def _alternatives(code: str, n: int = 5) -> list[str]:
    """Radial codes close to ``code``: the same level and variant first, then the nearest spellings."""
    radial = [c for c, _, _ in _RADIAL]
    close = difflib.get_close_matches(code, radial, n=n, cutoff=0.4)
    if len(close) < n:
        level = _level(code)
        close += [c for c in radial if _level(c) == level and c not in close][: n - len(close)]
    return close or radial[:n]


def _alternatives_text(code: str) -> str:
    return "radial SimBench codes: " + ", ".join(_alternatives(code))


def parse_day(text: str) -> dt.date:
    """A day ``YYYY-MM-DD`` of SimBench's year; raises :class:`ScenarioError` for anything else."""
    try:
        day = dt.date.fromisoformat(text.strip())
    except (AttributeError, ValueError):
        raise ScenarioError(Problem("day", f"must be a date YYYY-MM-DD in {SIMBENCH_YEAR}, got {text!r}")) from None
    return _check_day(day)


def _check_day(day: Any) -> dt.date:
    if isinstance(day, dt.datetime):
        day = day.date()
    if not isinstance(day, dt.date):
        raise ScenarioError(Problem("day", f"must be a date in {SIMBENCH_YEAR}, got {day!r}"))
    if day.year != SIMBENCH_YEAR:
        raise ScenarioError(
            Problem(
                "day",
                f"SimBench profiles cover the year {SIMBENCH_YEAR} only: give a day from {SIMBENCH_YEAR}-01-01 "
                f"to {SIMBENCH_YEAR}-12-31, got {day.isoformat()}",
            )
        )
    return day


def load_simbench_net(code: str) -> Any:
    """SimBench's pandapower net of ``code`` (with its profiles); a one-line :class:`ScenarioError` for a code
    SimBench does not know (naming close radial codes) or when SimBench is not installed."""
    sb = _simbench()
    if not isinstance(code, str) or code not in set(sb.collect_all_simbench_codes()):
        raise ScenarioError(Problem("code", f"{code!r} is not a SimBench code; {_alternatives_text(str(code))}"))
    return sb.get_simbench_net(code)


def import_simbench(
    code: str,
    day: dt.date | str,
    step: str = "1h",
    name: str | None = None,
    *,
    net: Any = None,
) -> tuple[Scenario, list[str]]:
    """The SimBench grid ``code`` with the profiles of ``day`` (in 2016) as a :class:`Scenario`, and warnings.

    * The grid: :func:`~core.scenario.pandapower_io.import_pandapower` on SimBench's net (its transformer
      model, switches, merged buses and radial check). Identical transformers between the same two buses (the
      two HV/MV units of SimBench's MV grids) are first folded into one with ``parallel`` their sum, which is
      the same circuit. A meshed or multi-feeder code is refused with the importer's message and a list of
      radial codes.
    * The profiles: SimBench's absolute values (``get_absolute_values(net, profiles_instead_of_study_cases=
      True)``, ``relative profile × p_mw``), the day's rows found by SimBench's ``time`` column (the local
      clock, :func:`_day_rows`: the two clock-change days are filled to 96 quarter hours). With ``step="1h"``
      each hour is the mean of its four quarter hours, ``x_h = ¼·Σ_{q=4h}^{4h+3} x_q`` (24 periods, the same
      energy); ``"15min"`` keeps the 96 quarter hours (``step_h = 0.25``).
      Load ``i`` (prosumer ``load{i}``): ``demand_kw[t] = 1000·scaling·p_mw[t]``, ``demand_kvar`` from
      ``q_mvar``. Static generator ``i`` (``sgen{i}``): capacity ``P^max = 1000·scaling·p_mw`` (installed),
      ``availability_pu[t] = p_mw[t]/p_mw`` (its relative profile), so ``P^max·availability_t`` is SimBench's
      output; kind ``wind`` for SimBench's wind types, else the importer's (``pv``). Storage ``i``
      (``storage{i}``): a battery of ``±1000·sn_mva`` kW and ``1000·max_e_mwh`` kWh whose dispatch the market
      decides (SimBench's own schedule is not imposed).
    * Prices: the wholesale price is not in SimBench: :data:`DEFAULT_WHOLESALE_PRICE_PER_KWH` (hour by
      hour, each quarter hour at its hour's price), said in the warnings; retail and feed-in tariffs the
      pandapower importer's defaults. ``net`` is an already loaded net of ``code`` (left unchanged).
    """
    if step not in STEPS:
        raise ScenarioError(Problem("step", f"must be one of {', '.join(STEPS)}, got {step!r}"))
    day = parse_day(day) if isinstance(day, str) else _check_day(day)
    sb = _simbench()
    if net is None:
        net = load_simbench_net(code)
    net = copy.deepcopy(net)
    warnings: list[str] = []
    folded = _fold_parallel_trafos(net)
    if folded:
        warnings.append(
            f"{len(folded)} identical parallel transformer(s) ({', '.join(map(str, folded))}) folded into "
            "their twin (parallel = 2): the same circuit"
        )
    per_hour = 4 if step == "1h" else 1
    T = 96 // per_hour
    step_h = STEPS[step]
    try:
        scenario, grid_warnings = _import_grid(net, T, name or f"{code} {day.isoformat()}")
    except ScenarioError as err:
        if not any(p.field.split("[")[0] in _TOPOLOGY or "meshed" in p.message for p in err.problems):
            raise
        # one line: the first reason (a loop, several external grids, …), how many more, and where to go instead
        first = err.problems[0]
        more = f" (and {len(err.problems) - 1} more)" if len(err.problems) > 1 else ""
        msg = f"{first.message}{more}; SimBench's {code} is not one radial feeder: {_alternatives_text(code)}"
        raise ScenarioError(replace(first, message=msg)) from None
    warnings += [w for w in grid_warnings if not w.startswith(_REPLACED_WARNINGS)]

    rows, labels, dst_note = _day_rows(net, day)
    # the day's rows only (the net is our copy): SimBench multiplies every row of the year, 15 s on 6,000 elements
    net.profiles = {
        k: df.iloc[rows].reset_index(drop=True) if hasattr(df, "iloc") and len(df) > rows[-1] else df
        for k, df in net.profiles.items()
    }
    absolute = sb.get_absolute_values(net, profiles_instead_of_study_cases=True)
    clock = [f"{h:02d}:{m:02d}" for h in range(24) for m in (0, 15, 30, 45)]
    quarter: dict[tuple[str, str], Any] = {}

    def day_profile(key: tuple[str, str], idx: int) -> np.ndarray:
        if key not in quarter:  # the day's 96 clock quarter hours of every element, once per table
            frame = absolute[key].set_axis(labels, axis=0)
            frame = frame.groupby(level=0, sort=False).mean().reindex(clock)
            quarter[key] = frame.fillna(frame.shift(4)).to_numpy(dtype=float)
        col = absolute[key].columns.get_loc(idx)
        return quarter[key][:, col].reshape(T, per_hour).mean(axis=1)

    by_id = {p.id: p for p in scenario.prosumers}
    out: list[Prosumer] = []
    raised: list[str] = []
    negative: list[str] = []
    others: list[str] = []
    heat_pumps: list[str] = []  # SimBench's heat pump profiles: Soil_…, Air_…
    ev_chargers: list[str] = []  # home charging stations (Heimladestation): HLS_…
    for pid, pr in by_id.items():
        kind, idx = _element(pid)
        if kind == "load":
            scaling = _scaling(net.load, idx)
            p = day_profile(("load", "p_mw"), idx) * 1000.0 * scaling
            if (p < 0).any():
                negative.append(pid)
                p = np.maximum(p, 0.0)
            q = day_profile(("load", "q_mvar"), idx) * 1000.0 * scaling
            profile = str(net.load.at[idx, "profile"] if "profile" in net.load.columns else "")
            if profile.startswith(("Soil_", "Air_")):
                heat_pumps.append(pid)
            elif profile.startswith("HLS_"):
                ev_chargers.append(pid)
            out.append(replace(pr, demand_kw=_tuple(p), demand_kvar=_tuple(q)))
        elif kind == "sgen" and pr.asset is not None:
            scaling = _scaling(net.sgen, idx)
            p = np.maximum(day_profile(("sgen", "p_mw"), idx) * 1000.0 * scaling, 0.0)
            p_max = pr.asset.p_max_kw
            if p.max() > p_max:
                raised.append(pid)
                p_max = float(p.max())
            avail = p / p_max if p_max > 0 else np.zeros(T)
            kind = pr.asset.kind
            sgen_type = str(net.sgen.at[idx, "type"] if "type" in net.sgen.columns else "").lower()
            if "wind" in sgen_type or sgen_type.startswith("wp"):
                kind = "wind"  # SimBench's "Wind_MV"
            elif "pv" not in sgen_type:
                others.append(pid)  # biomass, hydro, an LV grid's aggregated "lv_RES"
            asset = replace(pr.asset, kind=kind, p_max_kw=_sig(p_max), availability_pu=_tuple(avail))
            out.append(replace(pr, asset=asset))
        else:
            out.append(pr)
    storages = _storage_prosumers(net, scenario, T)
    out += storages
    prices = tuple(price for price in DEFAULT_WHOLESALE_PRICE_PER_KWH for _ in range(4 // per_hour))
    feeder = scenario.feeder
    feeder = replace(feeder, substation=replace(feeder.substation, wholesale_price_per_kwh=prices))
    scenario = replace(
        scenario,
        feeder=feeder,
        horizon=TimeHorizon(periods=T, step_h=step_h),
        prosumers=tuple(out),
        description=(
            f"SimBench {code} on {day.isoformat()} ({T} periods of {step}): {len(feeder.buses)} buses, "
            f"{len(feeder.lines)} branches, {len(out)} prosumers."
        ),
    )
    how = "hourly means of the quarter hours" if per_hour == 4 else "quarter hours"
    warnings.append(f"load and generation of SimBench's profiles for {day.isoformat()} ({how})")
    if dst_note:
        warnings.append(f"{day.isoformat()}: {dst_note}")
    warnings.append(
        "the wholesale price is not part of SimBench: a default daily profile is used "
        f"({min(prices):.4f}–{max(prices):.4f} per kWh, mean {np.mean(prices):.4f}); edit it in the substation"
    )
    if negative:
        warnings.append(f"negative active demand of load(s) {', '.join(negative[:10])} set to 0 (a load cannot feed)")
    if raised:
        warnings.append(f"the capacity of generator(s) {', '.join(raised[:10])} raised to their profile's peak")
    if heat_pumps or ev_chargers:
        warnings.append(
            f"{len(heat_pumps)} heat pump(s) and {len(ev_chargers)} electric-vehicle charging point(s) imported as "
            "loads following their SimBench profile (fixed demand, not flexible)"
        )
    if others:
        warnings.append(
            f"{len(others)} generator(s) neither PV nor wind (biomass, hydro, aggregated LV generation: "
            f"{', '.join(others[:5])}{' …' if len(others) > 5 else ''}) imported as PV-like units: their SimBench "
            "profile is their availability, at zero cost"
        )
    if storages:
        warnings.append(
            f"{len(storages)} storage unit(s) imported as batteries (±sn_mva, max_e_mwh, soc_percent): "
            "the market decides their dispatch, SimBench's schedule is not imposed"
        )
    return scenario, warnings


# the pandapower importer's notes on what this importer replaces (a constant snapshot, sgens without profile,
# storage ignored)
# the importer's refusals that say the code is not one radial feeder
_TOPOLOGY = {"ext_grid", "trafo3w", "impedance", "dcline", "tcsc"}
_REPLACED_WARNINGS = ("one snapshot repeated", "static generators become assets")


def _import_grid(net: Any, periods: int, name: str) -> tuple[Scenario, list[str]]:
    from core.scenario.pandapower_io import import_pandapower

    scenario, warnings = import_pandapower(net, periods=periods, name=name)
    warnings = [w for w in warnings if not re.match(r"\d+ storage units ignored", w)]
    return scenario, warnings


def _element(pid: str) -> tuple[str, int]:
    m = re.fullmatch(r"(load|sgen|gen)(\d+)", pid)
    return (m.group(1), int(m.group(2))) if m else ("", -1)


def _scaling(df: Any, idx: int) -> float:
    s = df.at[idx, "scaling"] if "scaling" in df.columns else 1.0
    try:
        s = float(s)
    except (TypeError, ValueError):
        return 1.0
    return s if np.isfinite(s) else 1.0


def _sig(v: float, digits: int = 12) -> float:
    return float(f"{float(v):.{digits}g}")


def _tuple(a: np.ndarray) -> tuple[float, ...]:
    return tuple(_sig(v) for v in a)


def _day_rows(net: Any, day: dt.date) -> tuple[np.ndarray, list[str], str]:
    """Where ``day``'s 96 quarter hours ``00:00 … 23:45`` are in SimBench's profiles, ``(rows, labels, note)``.

    SimBench's ``time`` column is the local clock (CET/CEST): 27 March 2016 has 92 rows (no 02:00–02:45) and
    30 October 100 (02:00–02:45 twice). ``rows`` are the day's rows, ``labels`` their clock times; a clock
    quarter hour seen twice is averaged, one that does not exist takes the value of the quarter hour an hour
    before (``note`` says which applies)."""
    frames = [df for df in net.profiles.values() if hasattr(df, "columns") and "time" in df.columns and len(df)]
    if not frames:
        raise ScenarioError(Problem("profiles", "this SimBench net has no profiles (no time column)"))
    times = frames[0]["time"].astype(str)
    prefix = day.strftime("%d.%m.%Y ")
    rows = np.flatnonzero(times.str.startswith(prefix).to_numpy())
    if not len(rows):
        raise ScenarioError(Problem("day", f"SimBench's profiles have no row for {day.isoformat()}"))
    labels = [t[len(prefix) :] for t in times.iloc[rows]]
    note = ""
    if len(rows) < 96:
        note = "the clock skips an hour (summer time): the missing quarter hours repeat the hour before"
    elif len(rows) > 96:
        note = "the clock repeats an hour (winter time): the repeated quarter hours are averaged"
    return rows, labels, note


def _storage_prosumers(net: Any, scenario: Scenario, T: int) -> list[Prosumer]:
    """SimBench's storage units as batteries at their bus (or the bus it was merged into by a closed bus–bus
    switch)."""
    st = net.storage if "storage" in net else None
    if st is None or not len(st):
        return []
    buses = {b.id for b in scenario.feeder.buses}
    sw = net.switch
    closed = sw[(sw["et"] == "b") & sw["closed"].fillna(False).astype(bool)]
    neighbours: dict[int, set[int]] = {}
    for a, b in zip(closed["bus"], closed["element"], strict=True):
        neighbours.setdefault(int(a), set()).add(int(b))
        neighbours.setdefault(int(b), set()).add(int(a))

    def host(bus: int) -> str | None:
        seen, todo = {bus}, [bus]
        while todo:
            b = todo.pop()
            if str(b) in buses:
                return str(b)
            for n in neighbours.get(b, ()):
                if n not in seen:
                    seen.add(n)
                    todo.append(n)
        return None

    out = []
    for idx, row in st.iterrows():
        if not bool(row.get("in_service", True)):
            continue
        bus = host(int(row["bus"]))
        sn = abs(float(row.get("sn_mva") or 0.0)) or abs(float(row["p_mw"]))
        energy = float(row.get("max_e_mwh") or 0.0)
        if bus is None or sn <= 0 or energy <= 0:
            continue
        eff = float(row.get("efficiency_percent") or 100.0)
        eff = eff / 100.0 if eff > 1.0 else eff  # SimBench stores a fraction in efficiency_percent
        soc = float(row.get("soc_percent") or 0.0) / 100.0
        name = row.get("name")
        out.append(
            Prosumer(
                id=f"storage{idx}",
                bus=bus,
                demand_kw=(0.0,) * T,
                name=name if isinstance(name, str) else "",
                asset=Asset(
                    kind="battery",
                    p_max_kw=_sig(sn * 1000.0),
                    p_min_kw=-_sig(sn * 1000.0),
                    efficiency=_sig(min(max(eff, 1e-3), 1.0)),
                    energy_kwh=_sig(energy * 1000.0),
                    soc_init_pu=_sig(min(max(soc, 0.0), 1.0)),
                ),
            )
        )
    return out


_TRAFO_PARAMS = (
    "sn_mva", "vn_hv_kv", "vn_lv_kv", "vk_percent", "vkr_percent", "pfe_kw", "i0_percent", "shift_degree",
    "tap_side", "tap_neutral", "tap_step_percent", "tap_step_degree", "tap_pos", "tap_changer_type", "df",
)  # fmt: skip


def _fold_parallel_trafos(net: Any) -> list[int]:
    """Fold identical in-service transformers between the same two buses (after closed bus–bus switches) into
    one with ``parallel`` their sum; returns the indices set out of service. Identical units in parallel are
    one unit of ``parallel`` = their number in pandapower's model (impedance over n, admittance times n)."""
    tr = net.trafo
    if len(tr) < 2:
        return []
    parent: dict[int, int] = {int(b): int(b) for b in net.bus.index}

    def find(b: int) -> int:
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        return b

    sw = net.switch
    for a, b in zip(
        sw.loc[(sw["et"] == "b") & sw["closed"].fillna(False).astype(bool), "bus"],
        sw.loc[(sw["et"] == "b") & sw["closed"].fillna(False).astype(bool), "element"],
        strict=True,
    ):
        parent[find(int(a))] = find(int(b))
    open_t = set(sw.loc[(sw["et"] == "t") & ~sw["closed"].fillna(False).astype(bool), "element"].astype(int))
    groups: dict[tuple, list[int]] = {}
    for idx, row in tr.iterrows():
        if not bool(row["in_service"]) or int(idx) in open_t:
            continue
        key = (find(int(row["hv_bus"])), find(int(row["lv_bus"])), *(str(row.get(c)) for c in _TRAFO_PARAMS))
        groups.setdefault(key, []).append(int(idx))
    folded = []
    for members in groups.values():
        if len(members) < 2:
            continue
        keep, rest = members[0], members[1:]
        net.trafo.at[keep, "parallel"] = int(tr.loc[members, "parallel"].sum())
        for i in rest:
            net.trafo.at[i, "in_service"] = False
        folded += rest
    return folded
