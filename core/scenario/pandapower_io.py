"""pandapower networks: import (lines, transformers, shunts, loads, generators) and export.

(Over 600 lines on purpose: :class:`_NetImporter` reads every pandapower table the model keeps and says, in one
place, what it dropped or approximated; split, the notes a user reads would be scattered.)

:func:`import_pandapower` turns a radial pandapower network into a scenario
(one snapshot repeated over the horizon) and lists, in plain words, what it
dropped or approximated.
"""

from __future__ import annotations

import difflib
import math
import os
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import Problem, ScenarioError
from core.scenario.model import (
    Asset,
    Bus,
    Feeder,
    Line,
    Prosumer,
    Scenario,
    Substation,
    Tariffs,
    TimeHorizon,
    Transformer,
)

_UNRATED_KA = 10.0  # max_i_ka at or above this means "no rating" (case33bw uses 99999)


_BRANCH_TABLES_UNSUPPORTED = {
    "impedance": "impedance elements",
    "dcline": "DC lines",
    "tcsc": "thyristor-controlled series capacitors",
}


_IGNORED_TABLES = {
    "ward": "wards",
    "xward": "extended wards",
    "storage": "storage units",
    "motor": "motors",
    "asymmetric_load": "asymmetric loads",
    "asymmetric_sgen": "asymmetric static generators",
    "svc": "static var compensators",
    "ssc": "static synchronous compensators",
    "vsc": "voltage source converters (and the DC grid behind them)",
    "line_dc": "DC lines",
}


_SGEN_KINDS = {"pv": "pv", "wp": "wind", "wind": "wind", "chp": "chp"}


def import_pandapower(
    source: Any,
    *,
    periods: int = 1,
    wholesale_price_per_kwh: float = 0.10,
    retail_price_per_kwh: float = 0.25,
    feed_in_price_per_kwh: float = 0.07,
    name: str | None = None,
) -> tuple[Scenario, list[str]]:
    """A radial pandapower network as a :class:`Scenario`, with warnings on what was approximated.

    ``source`` is a ``pandapowerNet``, the name of a ``pandapower.networks``
    function (``"case33bw"``) or the path of a pandapower JSON file. The
    snapshot is repeated over ``periods`` one-hour periods, with constant
    wholesale, retail and feed-in prices.

    * Buses: the in-service ones (``Bus.id = str(index)``); buses joined by a
      closed bus–bus switch are merged; buses not connected to the external
      grid are dropped (with what sits on them).
    * One voltage base ``V_b`` (``feeder.base_kv``): the most common nominal
      voltage of the buses that carry loads. An impedance on level ``V_n`` is
      referred to it, ``Z' = Z·(V_b/V_n)²`` (an admittance ``Y' = Y·(V_n/V_b)²``);
      a current rating off the base level becomes ``S = √3·V_n·I_max``. Per-unit
      voltages are then those of pandapower (each bus on its own level).
    * Lines: the π model, ``R = r_ohm_per_km·length_km/parallel`` (and ``X``),
      shunt ``B = 2π·f_hz·c_nf_per_km·length_km·parallel``, ``G = g_us_per_km·…``
      (half at each end), ``I_max = max_i_ka·df·parallel`` (unrated when ≥ 10 kA).
    * Two-winding transformers, as pandapower's power flow models them (T model):
      the rated voltages at the tap position (``tap_pos``, ``tap_neutral``,
      ``tap_step_percent``/``tap_step_degree`` on ``tap_side``, for a ``Ratio``,
      ``Symmetrical`` or ``Ideal`` changer; pandapower ignores an untyped one),
      the off-nominal ratio ``τ = (vn_hv/vn_lv)/(V_hv,bus/V_lv,bus)`` and the phase
      shift ``shift_degree`` (+ the tap's) in a
      :class:`~core.scenario.model.Transformer`; the short-circuit impedance on the lv
      side at its rated voltage, ``|Z| = vk%/100·vn_lv²/S_n/parallel``,
      ``R = vkr%/100·…``; the magnetising branch ``G = pfe/vn_lv²``,
      ``|Y| = i0%/100·S_n/vn_lv²`` (``B = −√(|Y|² − G²)``), times ``parallel``;
      rating ``S_n·parallel·df``.
    * A line cut at one end only (an open switch, a bus out of service) or a
      transformer opened by a switch on one side stays connected at the other in
      pandapower: it becomes the shunt it draws there. Cut at both ends (or a
      transformer at an out-of-service bus), it is dropped. pandapower's ``shunt``
      elements become bus shunts (``(p_mw − j·q_mvar)·step`` at ``vn_kv``).
    * Geographic coordinates: pandapower ≥ 3's GeoJSON points in ``bus.geo`` (older versions:
      ``bus_geodata.x``/``.y``) become ``Bus.x``/``Bus.y``; a bus merged by a switch has the
      coordinates of the bus kept (else of the first merged bus that has some). Only when every
      bus of the feeder has them: with some missing, none are imported (a warning says so).
    * The ext_grid bus is the substation (``v_set_pu = vm_pu``); loads become
      consumers (``P = p_mw·scaling``, ``Q = q_mvar·scaling``), static
      generators DER assets with ``P^max = p_mw·scaling`` and no cost,
      generators ``generator`` assets with ``P^max = max_p_mw`` (else ``p_mw``).

    Raises :class:`~core.errors.ScenarioError` for what a radial feeder cannot
    hold: no or several external grids, three-winding transformers, series
    elements other than lines and transformers, and meshed networks (naming
    the branches that close loops).
    """
    try:
        import pandapower as pp
    except ImportError:
        raise ScenarioError("pandapower is not installed: pip install 'feeder-market[grid]'") from None
    from core.scenario.model import MAX_PERIODS

    if isinstance(periods, bool) or not isinstance(periods, int) or not 1 <= periods <= MAX_PERIODS:
        raise ScenarioError(Problem("periods", f"must be a whole number from 1 to {MAX_PERIODS:,}, got {periods!r}"))
    net, label, file = _load_net(pp, source)
    try:
        return _NetImporter(net, label, periods, name).build(
            wholesale_price_per_kwh, retail_price_per_kwh, feed_in_price_per_kwh
        )
    except ScenarioError as err:
        raise (err.with_file(file) if file else err) from None
    except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError, RecursionError) as err:
        # a net pandapower loads whose tables hold nonsense (a rated voltage of 0 kV, a table that is a string):
        # one sentence about the network, never the importer's traceback
        raise ScenarioError(
            "its tables cannot be read as a feeder (is every bus's vn_kv above 0 and every table a table?): "
            + _first_line(err),
            file=file,
        ) from None


def _first_line(err: BaseException) -> str:
    """An exception's first line, at most 200 characters (pandapower's and pandas' messages run to many lines)."""
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]


def _load_net(pp: Any, source: Any) -> tuple[Any, str, str | None]:
    """(net, label, file) from a pandapowerNet, a pandapower.networks name or a JSON path."""
    if isinstance(source, pp.pandapowerNet):
        return source, "", None
    if not isinstance(source, (str, os.PathLike)):
        raise ScenarioError(
            f"cannot import an object of type '{type(source).__name__}': give a pandapowerNet, the name of a "
            "pandapower.networks function (such as 'case33bw') or the path of a pandapower JSON file"
        )
    text = os.fspath(source)
    p = Path(text)
    if p.is_file():
        try:
            net = pp.from_json(text)
        except Exception as err:  # pandapower raises many kinds on a bad file
            raise ScenarioError(f"cannot be read as a pandapower network: {_first_line(err)}", file=text) from None
        if not isinstance(net, pp.pandapowerNet):
            raise ScenarioError("does not hold a pandapower network", file=text)
        return net, p.stem, text
    if text.lower().endswith(".json") or "/" in text or os.sep in text:
        raise ScenarioError("no such file", file=text)
    import pandapower.networks as pn

    fn = getattr(pn, text, None)
    if text.startswith("_") or fn is None or not callable(fn) or isinstance(fn, type):
        names = sorted(n for n in dir(pn) if not n.startswith("_") and callable(getattr(pn, n, None)))
        close = difflib.get_close_matches(text, names, n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else " (such as 'case33bw')"
        raise ScenarioError(f"'{text}' is neither a pandapower JSON file nor a network of pandapower.networks{hint}")
    try:
        net = fn()
    except TypeError as err:
        raise ScenarioError(
            f"pandapower.networks.{text}() cannot be called without arguments ({err}): "
            "build the network in Python and pass the net itself"
        ) from None
    if not isinstance(net, pp.pandapowerNet):
        raise ScenarioError(f"pandapower.networks.{text}() does not return a pandapower network")
    return net, text, None


def _sig(v: float, digits: int = 12) -> float:
    """A plain Python float rounded to ``digits`` significant digits (no float noise, no numpy)."""
    return float(f"{float(v):.{digits}g}")


def _finite(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _ids(indices: list[int], limit: int = 10) -> str:
    shown = ", ".join(str(i) for i in indices[:limit])
    return shown + (f" … ({len(indices)} in all)" if len(indices) > limit else "")


def _bus_coordinates(net: Any) -> dict[int, tuple[float, float]]:
    """The buses' geographic coordinates ``{bus: (x, y)}`` where the net has finite ones.

    pandapower ≥ 3 keeps a GeoJSON point per bus in ``net.bus.geo`` (a text such as
    ``{"coordinates": [7.77, 48.41], "type": "Point"}``, or the parsed object); earlier
    versions a ``net.bus_geodata`` table with columns ``x`` and ``y``. Anything else (no
    table, a missing or malformed entry, a geometry other than a point) is left out.
    """
    import json

    out: dict[int, tuple[float, float]] = {}
    bus = net.bus
    if "geo" in bus.columns:
        for idx, geo in bus["geo"].items():
            if isinstance(geo, str):
                try:
                    geo = json.loads(geo)
                except ValueError:
                    continue
            if not isinstance(geo, dict) or geo.get("type", "Point") != "Point":
                continue
            xy = geo.get("coordinates")
            if isinstance(xy, (list, tuple)) and len(xy) >= 2:
                x, y = _finite(xy[0]), _finite(xy[1])
                if x is not None and y is not None:
                    out[int(idx)] = (_sig(x), _sig(y))
    if not out and "bus_geodata" in net:
        geodata = net["bus_geodata"]
        if hasattr(geodata, "columns") and {"x", "y"} <= set(geodata.columns):
            for idx, x, y in zip(geodata.index, geodata["x"], geodata["y"], strict=True):
                fx, fy = _finite(x), _finite(y)
                if fx is not None and fy is not None:
                    out[int(idx)] = (_sig(fx), _sig(fy))
    return out


def _wrap_deg(angle: float) -> float:
    """An angle in degrees within (−180, 180] (the same phase shift)."""
    a = math.fmod(angle, 360.0)
    if a > 180.0:
        a -= 360.0
    elif a <= -180.0:
        a += 360.0
    return a


def _trafo_rated_voltages(row: Any) -> tuple[float, float, float, str]:
    """A two-winding transformer's rated voltages at its tap position and its phase shift, as pandapower's
    power flow computes them (``build_branch._calc_tap_from_dataframe``, pandapower 3).

    ``(vn_hv_kv, vn_lv_kv, shift_deg, note)``. For each tap changer (``tap_*`` and ``tap2_*``) at
    position ``n = tap_pos − tap_neutral``: a ``Ratio`` or ``Symmetrical`` changer changes the rated
    voltage ``u`` of its side (``tap_side``) to ``|u + du·e^{jα}|`` with ``du = u·n·tap_step_percent/100``
    and ``α = tap_step_degree`` (0 if not given), and shifts the phase by ``±atan(du·sin α/(u + du·cos α))``
    (+ on the hv side); an ``Ideal`` one only shifts the phase, by ``n·tap_step_degree`` (or
    ``2·asin(n·tap_step_percent/200)``). A changer without a type changes nothing in pandapower
    either (``note = "untyped"`` when its position is off neutral); ``note = "table"`` when a tap
    characteristic table would apply (not read: the steps are used).
    """
    vn = {"hv": float(row["vn_hv_kv"]), "lv": float(row["vn_lv_kv"])}
    shift = _finite(row.get("shift_degree")) or 0.0
    note = ""
    for t in ("", "2"):
        pos = _finite(row.get(f"tap{t}_pos"))
        if pos is None:
            continue
        neutral = _finite(row.get(f"tap{t}_neutral"))
        diff = math.nan if neutral is None else pos - neutral
        side = row.get(f"tap{t}_side")
        kind = row.get(f"tap{t}_changer_type")
        kind = kind if isinstance(kind, str) else ""
        dep = row.get("tap_dependency_table") if t == "" else None
        if isinstance(dep, (bool, np.bool_)) and dep and diff:
            note = "table"
        if side not in ("hv", "lv") or not diff or not math.isfinite(diff):
            continue
        direction = 1.0 if side == "hv" else -1.0
        step_pct = _finite(row.get(f"tap{t}_step_percent"))
        step_deg = _finite(row.get(f"tap{t}_step_degree"))
        if kind == "Ideal":
            if step_deg:
                shift += direction * diff * step_deg
            elif step_pct:
                shift += direction * 2.0 * math.degrees(math.asin(diff * step_pct / 200.0))
        elif kind in ("Ratio", "Symmetrical"):
            u = vn[side]
            du = u * diff * (step_pct or 0.0) / 100.0
            alpha = math.radians(step_deg or 0.0)
            vn[side] = math.hypot(u + du * math.cos(alpha), du * math.sin(alpha))
            shift += math.degrees(math.atan(direction * du * math.sin(alpha) / (u + du * math.cos(alpha))))
        elif note != "table":
            note = "untyped"
    return vn["hv"], vn["lv"], shift, note


class _NetImporter:
    """The conversion of one pandapower network; collects warnings as it goes."""

    def __init__(self, net: Any, label: str, periods: int, name: str | None) -> None:
        self.net = net
        self.T = periods
        net_name = net.name if isinstance(getattr(net, "name", None), str) else ""
        self.label = label or net_name or "pandapower network"
        self.name = name or net_name or self.label
        self.warnings: list[str] = []
        self.shunts: dict[int, complex] = {}  # S at the feeder's base, per representative bus
        self.cuts: list[tuple[str, int, str, int | None, complex]] = []  # (table, index, why, connected bus, Y)

    def table(self, key: str):
        """The in-service rows of ``net[key]`` (None when the table is absent or empty)."""
        if key not in self.net:
            return None
        df = self.net[key]
        if not hasattr(df, "columns") or len(df) == 0:
            return None
        if "in_service" in df.columns:
            df = df[df["in_service"].fillna(False).astype(bool)]
        return df if len(df) else None

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    # --- the whole conversion ---------------------------------------------
    def build(self, wholesale: float, retail: float, feed_in: float) -> tuple[Scenario, list[str]]:
        net = self.net
        self.check_unsupported()
        eg = self.table("ext_grid")
        if eg is None:
            raise ScenarioError(
                Problem(
                    "ext_grid", "the network has no external grid in service: a feeder needs one substation (slack bus)"
                )
            )
        if len(eg) > 1:
            raise ScenarioError(
                Problem(
                    "ext_grid",
                    f"the network has {len(eg)} external grids in service ({_ids(list(eg.index))}); "
                    "a radial feeder has one substation: set all but one out of service",
                )
            )
        slack_orig = int(eg["bus"].iloc[0])
        v_set = float(eg["vm_pu"].iloc[0])

        buses = net.bus
        live = {int(i) for i in buses.index[buses["in_service"].fillna(False).astype(bool)]}
        if slack_orig not in live:
            raise ScenarioError(Problem("ext_grid", f"the external grid's bus {slack_orig} is out of service"))
        # nominal voltages to 7 significant digits: some networks store them as float32
        vn = {int(i): _sig(v, 7) for i, v in buses["vn_kv"].items()}
        self.vn = vn

        self.rep = self.merge_switched_buses(live, slack_orig)
        slack = self.rep[slack_orig]
        base_kv = self.choose_base_kv(live)
        self.base_kv = base_kv

        branches = self.lines(live, vn) + self.trafos(live, vn)
        self.shunt_elements(live)
        reach = self.check_radial(branches, live, slack)
        self.settle_cuts(reach)
        dropped_buses = sorted(b for b in live if self.rep[b] not in reach)
        if dropped_buses:
            self.warn(f"{len(dropped_buses)} bus(es) not connected to the external grid dropped: {_ids(dropped_buses)}")
        reach_ids = {str(r) for r in reach}
        kept_branches = [b for b in branches if b[1].from_bus in reach_ids]

        feeder_vmin, feeder_vmax, bus_objs = self.buses(reach, slack)
        feeder = Feeder(
            base_kv=_sig(base_kv),
            base_kva=_sig(float(net.sn_mva) * 1000.0),
            substation=Substation(
                bus=str(slack), v_set_pu=_sig(v_set), wholesale_price_per_kwh=(float(wholesale),) * self.T
            ),
            buses=tuple(bus_objs),
            lines=tuple(ln for _, ln in kept_branches),
            v_min_pu=feeder_vmin,
            v_max_pu=feeder_vmax,
        )
        prosumers = self.prosumers(reach)
        self.warn(f"one snapshot repeated over {self.T} period(s) of 1 h: loads, generation and prices are constant")
        try:
            scenario = Scenario(
                name=self.name,
                description=(
                    f"Imported from pandapower ({self.label}): {len(bus_objs)} buses, "
                    f"{len(kept_branches)} branches, {len(prosumers)} prosumers."
                ),
                feeder=feeder,
                horizon=TimeHorizon(periods=self.T, step_h=1.0),
                tariffs=Tariffs(
                    retail_import_price_per_kwh=(float(retail),) * self.T,
                    feed_in_price_per_kwh=(float(feed_in),) * self.T,
                ),
                prosumers=tuple(prosumers),
            )
        except ScenarioError as err:
            raise ScenarioError(
                [replace(p, message=f"{p.message} (in the network imported from {self.label})") for p in err.problems]
            ) from None
        return scenario, self.warnings

    # --- pieces -----------------------------------------------------------
    def check_unsupported(self) -> None:
        problems = []
        t3 = self.table("trafo3w")
        if t3 is not None:
            problems.append(
                Problem(
                    "trafo3w",
                    f"three-winding transformers are not supported "
                    f"(in service: {_ids(list(t3.index))}); model each as "
                    "two-winding transformers or set it out of service",
                )
            )
        for key, what in _BRANCH_TABLES_UNSUPPORTED.items():
            df = self.table(key)
            if df is not None:
                problems.append(
                    Problem(
                        key,
                        f"{what} are not supported (in service: {_ids(list(df.index))}): "
                        "they are branches, and dropping them would change the topology",
                    )
                )
        if problems:
            raise ScenarioError(problems)
        for key, what in _IGNORED_TABLES.items():
            df = self.table(key)
            if df is not None:
                self.warn(f"{len(df)} {what} ignored ({key} {_ids(list(df.index))})")
        ctrl = self.net["controller"] if "controller" in self.net else None
        if ctrl is not None and len(ctrl):
            self.warn(f"{len(ctrl)} controller(s) ignored")

    def merge_switched_buses(self, live: set[int], slack: int) -> dict[int, int]:
        """Representative bus of each live bus: closed bus–bus switches fuse buses."""
        parent = {b: b for b in live}

        def find(b: int) -> int:
            while parent[b] != b:
                parent[b] = parent[parent[b]]
                b = parent[b]
            return b

        sw = self.net.switch if "switch" in self.net else None
        if sw is not None and len(sw):
            closed_bb = sw[(sw["et"] == "b") & sw["closed"].fillna(False).astype(bool)]
            merged, with_z = [], []
            for idx, s in closed_bb.iterrows():
                a, b = int(s["bus"]), int(s["element"])
                if a not in live or b not in live:
                    continue
                ra, rb = find(a), find(b)
                if ra == rb:
                    continue
                keep, drop = (ra, rb) if (ra == find(slack) or (rb != find(slack) and ra < rb)) else (rb, ra)
                parent[drop] = keep
                merged.append(int(idx))
                z = _finite(s.get("z_ohm", 0.0))
                if z:
                    with_z.append(int(idx))
            if merged:
                self.warn(f"{len(merged)} closed bus-bus switch(es) ({_ids(merged)}) merge their buses into one")
            if with_z:
                self.warn(f"the impedance of bus-bus switch(es) {_ids(with_z)} is neglected")
        return {b: find(b) for b in live}

    def choose_base_kv(self, live: set[int]) -> float:
        """The most common nominal voltage of the buses that carry loads (ties: the lower)."""
        vn = self.vn
        counts: Counter[float] = Counter()
        for key in ("load", "sgen"):
            df = self.table(key)
            if df is not None:
                counts.update(vn[int(b)] for b in df["bus"] if int(b) in live)
            if counts:
                break
        if not counts:
            counts.update(vn[b] for b in live)
        best = max(counts.values())
        base = min(v for v, c in counts.items() if c == best)
        levels = sorted({vn[b] for b in live})
        if len(levels) > 1:
            self.warn(
                f"the network has {len(levels)} voltage levels ({', '.join(f'{v:g}' for v in levels)} kV); "
                f"impedances are referred to {base:g} kV, the level of the loads"
            )
        return base

    def open_ends(self, et: str) -> dict[int, set[int]]:
        """The buses at which each branch of type ``et`` (``"l"``, ``"t"``) is opened by a switch."""
        sw = self.net.switch if "switch" in self.net else None
        if sw is None or not len(sw):
            return {}
        opened = sw[(sw["et"] == et) & ~sw["closed"].fillna(False).astype(bool)]
        out: dict[int, set[int]] = {}
        for e, b in zip(opened["element"], opened["bus"], strict=True):
            out.setdefault(int(e), set()).add(int(b))
        return out

    def add_shunt(self, bus: int, y_s: complex) -> None:
        """A shunt admittance (S, referred to the feeder's base) at the representative of ``bus``."""
        if y_s != 0:
            r = self.rep[bus]
            self.shunts[r] = self.shunts.get(r, 0j) + y_s

    def cut(
        self,
        table: str,
        idx: int,
        ends: tuple[int, int],
        live: set[int],
        opened: set[int],
        z: complex,
        y_from: complex,
        y_to: complex,
        t: complex,
    ) -> bool:
        """Whether a branch is cut at one end or both (a switch open or a bus out of service there); a cut
        branch is recorded for :meth:`settle_cuts`.

        One connected end only: pandapower keeps such a branch (its open end on an auxiliary bus),
        and it draws its no-load admittance there: the near end shunt in parallel with ``z`` in
        series with the far one, ``(y_from + 1/(z + 1/y_to))/|t|²`` from the from end (or
        ``y_to + 1/(z + 1/y_from)`` from the to end), with ``z``, ``y_from`` (behind the ideal
        transformer ``t`` at ``ends[0]``) and ``y_to`` its π in ohm and S at the feeder's base.
        """
        on = [b in live and b not in opened for b in ends]
        if all(on):
            return False
        reason = "switch" if any(b in opened for b in ends) else "bus"
        # pandapower hangs a line on an auxiliary bus at an out-of-service bus too, but drops a transformer there
        if not any(on) or (table == "trafo" and not all(b in live for b in ends)):
            self.cuts.append((table, idx, "bus" if table == "trafo" and reason == "bus" else reason, None, 0j))
            return True
        if on[0]:  # the far shunt in series with z, in parallel with the near one, behind the ideal transformer
            y_eq = (y_from + (1.0 / (z + 1.0 / y_to) if y_to else 0j)) / abs(t) ** 2
        else:  # fed from the to side, the ideal transformer at the open end carries no current
            y_eq = y_to + (1.0 / (z + 1.0 / y_from) if y_from else 0j)
        self.cuts.append((table, idx, reason, ends[0] if on[0] else ends[1], y_eq))
        return True

    def settle_cuts(self, reach: set[int]) -> None:
        """The cut branches: those still hanging from the feeder at one end become a shunt at that bus."""
        words = {"line": "line(s)", "trafo": "transformer(s)"}
        for table in ("line", "trafo"):
            opened, dead, hanging = [], [], []
            for _, i, why, bus, y in (c for c in self.cuts if c[0] == table):
                if bus is not None and self.rep[bus] in reach:
                    hanging.append(i)
                    self.add_shunt(bus, y)
                else:
                    (opened if why == "switch" else dead).append(i)
            if opened:
                self.warn(f"{len(opened)} {words[table]} opened by a switch dropped: {_ids(opened)}")
            if dead:
                self.warn(f"{len(dead)} {words[table]} touching an out-of-service bus dropped: {_ids(dead)}")
            if hanging:
                what = "the charging" if table == "line" else "the magnetising current"
                self.warn(
                    f"{len(hanging)} {words[table]} connected at one end only (a switch open or a bus out of "
                    f"service at the other) kept as {what} they draw, a shunt at the connected bus: "
                    f"{_ids(hanging)}"
                )

    def lines(self, live: set[int], vn: dict[int, float]) -> list[tuple[tuple[str, int], Line]]:
        df = self.net.line
        if not len(df):
            return []
        out = []
        out_of_service, unrated = [], 0
        cut = self.open_ends("l")
        f_hz = float(getattr(self.net, "f_hz", 50.0) or 50.0)
        for idx, row in df.iterrows():
            idx = int(idx)
            fb, tb = int(row["from_bus"]), int(row["to_bus"])
            if not bool(row["in_service"]):
                out_of_service.append(idx)
                continue
            parallel = float(row.get("parallel", 1) or 1)
            length = float(row["length_km"])
            level = vn[fb]
            k = (self.base_kv / level) ** 2
            r = float(row["r_ohm_per_km"]) * length / parallel * k
            x = float(row["x_ohm_per_km"]) * length / parallel * k
            # the π's shunt, B = 2πf·C and G, in S at the line's level, referred: Y' = Y/k
            c_nf = _finite(row.get("c_nf_per_km", 0.0)) or 0.0
            g_us = _finite(row.get("g_us_per_km", 0.0)) or 0.0
            b_s = 2.0 * math.pi * f_hz * c_nf * 1e-9 * length * parallel / k
            g_s = g_us * 1e-6 * length * parallel / k
            if self.cut(
                "line",
                idx,
                (fb, tb),
                live,
                cut.get(idx, set()),
                complex(r, x),
                complex(g_s, b_s) / 2,
                complex(g_s, b_s) / 2,
                1.0,
            ):
                continue
            i_ka = _finite(row.get("max_i_ka"))
            df_ = _finite(row.get("df", 1.0)) or 1.0
            rating_a = rating_kva = None
            if i_ka is None or i_ka <= 0 or i_ka >= _UNRATED_KA:
                unrated += 1
            elif math.isclose(level, self.base_kv, rel_tol=1e-9):
                rating_a = _sig(i_ka * df_ * parallel * 1000.0)
            else:
                rating_kva = _sig(math.sqrt(3.0) * level * i_ka * df_ * parallel * 1000.0)
            name = row.get("name")
            out.append(
                (
                    ("line", idx),
                    Line(
                        id=f"L{idx}",
                        from_bus=str(self.rep[fb]),
                        to_bus=str(self.rep[tb]),
                        r_ohm=_sig(r),
                        x_ohm=_sig(x),
                        rating_kva=rating_kva,
                        rating_a=rating_a,
                        name=name if isinstance(name, str) else "",
                        g_shunt_us=_sig(g_s * 1e6),
                        b_shunt_us=_sig(b_s * 1e6),
                    ),
                )
            )
        if out_of_service:
            self.warn(f"{len(out_of_service)} out-of-service line(s) dropped: {_ids(out_of_service)}")
        if unrated:
            self.warn(f"{unrated} line(s) have no current rating (max_i_ka missing or ≥ {_UNRATED_KA:g} kA)")
        return out

    def trafos(self, live: set[int], vn: dict[int, float]) -> list[tuple[tuple[str, int], Line]]:
        df = self.table("trafo")
        if df is None:
            return []
        from core.network.topology import t_to_pi

        out = []
        cut = self.open_ends("t")
        untyped, tabled, uneven = [], [], []
        problems = []
        for idx, row in df.iterrows():
            idx = int(idx)
            hv, lv = int(row["hv_bus"]), int(row["lv_bus"])
            sn = _finite(row["sn_mva"]) or 0.0
            vk = _finite(row["vk_percent"]) or 0.0
            vkr = _finite(row["vkr_percent"]) or 0.0
            parallel = float(row.get("parallel", 1) or 1)
            if sn <= 0 or vk <= 0 or vkr < 0 or vkr > vk:
                problems.append(
                    Problem(
                        f"trafo[{idx}]",
                        f"needs sn_mva > 0 and 0 ≤ vkr_percent ≤ vk_percent, got sn_mva={sn:g}, vk={vk:g}, vkr={vkr:g}",
                        row=idx,
                        row_id=f"T{idx}",
                    )
                )
                continue
            vn_hv, vn_lv, shift, note = _trafo_rated_voltages(row)
            if note == "untyped":
                untyped.append(idx)
            elif note == "table":
                tabled.append(idx)
            for col in ("leakage_resistance_ratio_hv", "leakage_reactance_ratio_hv"):
                share = _finite(row.get(col))
                if share is not None and share != 0.5:
                    uneven.append(idx)
                    break
            # pandapower's model, referred to the feeder's base V_b: the short-circuit impedance on the lv
            # side at the (tapped) rated voltage, Z = vk%·vn_lv²/S_n, referred from the lv bus's level;
            # the magnetising branch (pfe, i0) likewise; the ratio off the buses' nominal ratio
            k_lv = (self.base_kv / vn[lv]) ** 2
            z_abs = vk / 100.0 * vn_lv**2 / sn / parallel * k_lv
            r = vkr / 100.0 * vn_lv**2 / sn / parallel * k_lv
            x = math.sqrt(max(z_abs * z_abs - r * r, 0.0))
            pfe_mw = (_finite(row.get("pfe_kw")) or 0.0) / 1000.0
            i0 = _finite(row.get("i0_percent")) or 0.0
            q0_mvar = math.sqrt(max((i0 / 100.0 * sn) ** 2 - pfe_mw**2, 0.0))
            y_m = complex(pfe_mw, -q0_mvar) / vn_lv**2 * parallel / k_lv  # S at the feeder's base
            tau = (vn_hv / vn_lv) / (vn[hv] / vn[lv])
            t = tau * complex(math.cos(math.radians(shift)), math.sin(math.radians(shift)))
            z_pi, y_end = t_to_pi(complex(r, x), y_m)
            if self.cut("trafo", idx, (hv, lv), live, cut.get(idx, set()), z_pi, y_end, y_end, t):
                continue
            transformer = Transformer(
                tap_ratio=_sig(tau),
                shift_deg=_sig(_wrap_deg(shift)),
                g_mag_us=_sig(y_m.real * 1e6),
                b_mag_us=_sig(y_m.imag * 1e6),
            )
            df_ = _finite(row.get("df", 1.0)) or 1.0
            name = row.get("name")
            out.append(
                (
                    ("trafo", idx),
                    Line(
                        id=f"T{idx}",
                        from_bus=str(self.rep[hv]),
                        to_bus=str(self.rep[lv]),
                        r_ohm=_sig(r),
                        x_ohm=_sig(x),
                        rating_kva=_sig(sn * 1000.0 * parallel * df_),
                        name=name if isinstance(name, str) else "",
                        transformer=None if transformer == Transformer() else transformer,
                    ),
                )
            )
        if problems:
            raise ScenarioError(problems)
        if untyped:
            self.warn(
                f"the tap position of transformer(s) {_ids(untyped)} is ignored, as pandapower ignores it: "
                "they have no tap_changer_type (Ratio, Symmetrical or Ideal)"
            )
        if tabled:
            self.warn(
                f"the tap characteristic tables of transformer(s) {_ids(tabled)} are not read: their ratio "
                "comes from tap_step_percent and tap_step_degree, their impedance from vk_percent and "
                "vkr_percent at every tap position"
            )
        if uneven:
            self.warn(
                f"the magnetising branch of transformer(s) {_ids(uneven)} is placed in the middle of the "
                "short-circuit impedance (leakage_*_ratio_hv other than 0.5 are not modelled)"
            )
        return out

    def shunt_elements(self, live: set[int]) -> None:
        """pandapower's shunts (``p_mw``, ``q_mvar`` per step at ``vn_kv``) as bus shunts:
        ``Y = (p − jq)·step/vn²`` in S at their bus's level, referred to the feeder's base."""
        df = self.table("shunt")
        if df is None:
            return
        tabled = []
        for idx, row in df.iterrows():
            bus = int(row["bus"])
            if bus not in live:
                continue
            level = self.vn[bus]
            vn_sh = _finite(row.get("vn_kv")) or level
            step = _finite(row.get("step", 1)) or 0.0
            dep = row.get("step_dependency_table")
            if isinstance(dep, (bool, np.bool_)) and dep:
                tabled.append(int(idx))
            y = complex(float(row["p_mw"]), -float(row["q_mvar"])) * step / vn_sh**2  # S at the bus's level
            self.add_shunt(bus, y * (level / self.base_kv) ** 2)
        if tabled:
            self.warn(
                f"the step characteristic tables of shunt(s) {_ids(tabled)} are not read: "
                "p_mw and q_mvar per step are used"
            )

    def check_radial(self, branches: list[tuple[tuple[str, int], Line]], live: set[int], slack: int) -> set[int]:
        """The representative buses reachable from the slack; raises if a branch closes a loop there.

        Branches are added in table order (lines, then transformers); one whose
        ends are already connected closes a loop.
        """
        parent = {self.rep[b]: self.rep[b] for b in live}

        def find(b: int) -> int:
            while parent[b] != b:
                parent[b] = parent[parent[b]]
                b = parent[b]
            return b

        closing = []
        for (table, idx), ln in branches:
            a, b = int(ln.from_bus), int(ln.to_bus)
            ra, rb = find(a), find(b)
            if ra == rb:
                closing.append((table, idx, ln))
            else:
                parent[ra] = rb
        root = find(slack)
        reach = {b for b in parent if find(b) == root}
        loops = [c for c in closing if int(c[2].from_bus) in reach]
        if loops:
            raise ScenarioError(
                [
                    Problem(
                        field=f"{table}[{idx}]",
                        row=idx,
                        row_id=ln.id,
                        message=(
                            f"the pandapower network is meshed: {table} {idx} (bus {ln.from_bus} to bus {ln.to_bus}) "
                            "closes a loop; a feeder must be radial: open a switch or set the branch out of service"
                        ),
                    )
                    for table, idx, ln in loops
                ]
            )
        return reach

    def buses(self, reach: set[int], slack: int) -> tuple[float, float, list[Bus]]:
        """Feeder voltage limits (most common among non-slack buses) and the Bus records."""
        df = self.net.bus
        lim: dict[int, tuple[float | None, float | None]] = {}
        for b in reach:
            row = df.loc[b]
            lim[b] = (_finite(row.get("min_vm_pu")), _finite(row.get("max_vm_pu")))

        def common(k: int, default: float) -> float:
            vals = Counter(lim[b][k] for b in reach if b != slack and lim[b][k] is not None)
            return _sig(vals.most_common(1)[0][0]) if vals else default

        vmin, vmax = common(0, 0.95), common(1, 1.05)
        if vmin >= vmax:
            self.warn(f"bus voltage limits {vmin:g}–{vmax:g} pu are not a range: 0.95–1.05 pu used")
            vmin, vmax = 0.95, 1.05
        out = []
        odd = []
        for b in sorted(reach):
            name = df.at[b, "name"]
            bmin, bmax = lim[b] if b != slack else (None, None)
            ov_min = _sig(bmin) if bmin is not None and _sig(bmin) != vmin else None
            ov_max = _sig(bmax) if bmax is not None and _sig(bmax) != vmax else None
            if (ov_min if ov_min is not None else vmin) >= (ov_max if ov_max is not None else vmax):
                odd.append(b)
                ov_min = ov_max = None
            y = self.shunts.get(b, 0j) * 1e6  # µS
            out.append(
                Bus(
                    id=str(b),
                    name=name if isinstance(name, str) else "",
                    v_min_pu=ov_min,
                    v_max_pu=ov_max,
                    g_shunt_us=_sig(y.real),
                    b_shunt_us=_sig(y.imag),
                )
            )
        if odd:
            self.warn(f"the voltage limits of bus(es) {_ids(odd)} are not a range: the feeder's are used")
        return vmin, vmax, self.coordinates(out)

    def coordinates(self, buses: list[Bus]) -> list[Bus]:
        """``buses`` with their geographic coordinates when the net has them for every one of them.

        A representative bus takes its own coordinates, else those of the first bus merged into it
        (by index) that has some; with some buses still without, none are given (a warning says so).
        """
        geo = _bus_coordinates(self.net)
        if not geo:
            return buses
        merged: dict[int, list[int]] = {}
        for b, r in sorted(self.rep.items()):
            merged.setdefault(r, []).append(b)
        xy: dict[str, tuple[float, float]] = {}
        missing: list[int] = []
        for bus in buses:
            r = int(bus.id)
            found = geo.get(r) or next((geo[b] for b in merged.get(r, ()) if b in geo), None)
            if found is None:
                missing.append(r)
            else:
                xy[bus.id] = found
        if missing:
            self.warn(
                f"{len(missing)} of {len(buses)} bus(es) have no geographic coordinates ({_ids(missing)}): "
                "no coordinates imported, the feeder is drawn as a tree"
            )
            return buses
        return [replace(bus, x=xy[bus.id][0], y=xy[bus.id][1]) for bus in buses]

    def prosumers(self, reach: set[int]) -> list[Prosumer]:
        T = self.T
        out: list[Prosumer] = []
        lost: list[str] = []

        def host(b: Any) -> str | None:
            r = self.rep.get(int(b))
            return str(r) if r is not None and r in reach else None

        loads = self.table("load")
        if loads is not None:
            zip_share = []
            for idx, row in loads.iterrows():
                bus = host(row["bus"])
                if bus is None:
                    lost.append(f"load {idx}")
                    continue
                scaling = _finite(row.get("scaling", 1.0))
                scaling = 1.0 if scaling is None else scaling
                p = _sig(float(row["p_mw"]) * scaling * 1000.0)
                q = _sig(float(row["q_mvar"]) * scaling * 1000.0)
                if any(
                    (_finite(row.get(c)) or 0.0) != 0
                    for c in ("const_z_p_percent", "const_i_p_percent", "const_z_q_percent", "const_i_q_percent")
                ):
                    zip_share.append(int(idx))
                name = row.get("name")
                out.append(
                    Prosumer(
                        id=f"load{idx}",
                        bus=bus,
                        demand_kw=(p,) * T,
                        demand_kvar=(q,) * T,
                        name=name if isinstance(name, str) else "",
                    )
                )
            if zip_share:
                self.warn(f"the voltage dependence of load(s) {_ids(zip_share)} is ignored (constant power)")
        sgens = self.table("sgen")
        if sgens is not None:
            with_q = []
            for idx, row in sgens.iterrows():
                bus = host(row["bus"])
                if bus is None:
                    lost.append(f"sgen {idx}")
                    continue
                scaling = _finite(row.get("scaling", 1.0))
                scaling = 1.0 if scaling is None else scaling
                kind = _SGEN_KINDS.get(str(row.get("type") or "").strip().lower(), "pv")
                if (_finite(row.get("q_mvar")) or 0.0) != 0:
                    with_q.append(int(idx))
                name = row.get("name")
                out.append(
                    Prosumer(
                        id=f"sgen{idx}",
                        bus=bus,
                        demand_kw=(0.0,) * T,
                        name=name if isinstance(name, str) else "",
                        asset=Asset(kind=kind, p_max_kw=_sig(float(row["p_mw"]) * scaling * 1000.0)),
                    )
                )
            if with_q:
                self.warn(f"the reactive output of static generator(s) {_ids(with_q)} is ignored")
            self.warn(
                "static generators become assets with their present output as capacity, constant "
                "over the horizon (no solar profile) and at zero cost"
            )
        gens = self.table("gen")
        if gens is not None:
            for idx, row in gens.iterrows():
                bus = host(row["bus"])
                if bus is None:
                    lost.append(f"gen {idx}")
                    continue
                p_max = _finite(row.get("max_p_mw"))
                if p_max is None:
                    scaling = _finite(row.get("scaling", 1.0))
                    p_max = float(row["p_mw"]) * (1.0 if scaling is None else scaling)
                name = row.get("name")
                out.append(
                    Prosumer(
                        id=f"gen{idx}",
                        bus=bus,
                        demand_kw=(0.0,) * T,
                        name=name if isinstance(name, str) else "",
                        asset=Asset(kind="generator", p_max_kw=_sig(p_max * 1000.0)),
                    )
                )
            self.warn(
                f"the voltage control of generator(s) {_ids(list(gens.index))} is not modelled: "
                "they are imported as dispatchable generators without cost"
            )
        costs = self.net["poly_cost"] if "poly_cost" in self.net else None
        if costs is not None and len(costs) and (costs["et"] != "ext_grid").any():
            self.warn("generation costs in poly_cost are ignored")
        if lost:
            self.warn(
                f"{len(lost)} element(s) on buses not connected to the external grid dropped: "
                f"{', '.join(lost[:10])}{' …' if len(lost) > 10 else ''}"
            )
        return out


def _max_i_ka(rating_kva: float | None, base_kv: float) -> float:
    """A rating in kVA at ``base_kv`` as pandapower's ``max_i_ka`` (``I = S/(√3·V)``); unrated: 10 kA."""
    return _UNRATED_KA if rating_kva is None else rating_kva / (math.sqrt(3.0) * base_kv) / 1000.0


def export_pandapower(scenario: Scenario, period: int = 0):
    """The scenario in one period as a pandapower net (the inverse of :func:`import_pandapower`, for comparison).

    Buses at the feeder's base voltage; the substation as the external grid; each bus's net injection of
    the period (as given in the file, :func:`core.network.topology.bus_injections_kw`) as one
    constant-power load; a bus's geographic coordinates (when it has them) as its ``geodata``. Lines
    with their R and X in ohm and their shunt (``c_nf_per_km`` from ``B = 2πf·C`` at 50 Hz,
    ``g_us_per_km``) over 1 km, rated ``max_i_ka = S/(√3·V_b)`` from :meth:`~core.scenario.model.Line.rating_kva_at`
    (unrated: 10 kA, which the importer reads as no rating). A line with a
    :class:`~core.scenario.model.Transformer` becomes a pandapower transformer from its ``from_bus``
    (hv) to its ``to_bus`` (lv) with the same equivalent circuit: ``vn_lv_kv`` the base,
    ``vn_hv_kv = tap_ratio·base`` (the off-nominal ratio), ``S_n`` its rating (else the feeder's base),
    ``vk``/``vkr`` from ``|Z|``/``R`` on ``S_n``, ``pfe_kw``/``i0_percent`` from the magnetising branch,
    ``shift_degree``; pandapower's default T model puts the magnetising branch in the middle, as
    :class:`~core.scenario.model.Transformer` does. A transformer's own π shunt (``g_shunt_us``,
    ``b_shunt_us``) and every bus's shunt become pandapower shunts. Returns ``(net, index)`` with the
    pandapower bus index of each bus id. Needs pandapower.
    """
    try:
        import pandapower as pp
    except ImportError:
        raise ScenarioError("pandapower is not installed: pip install 'feeder-market[grid]'") from None
    from core.network.topology import bus_injections_kw, radial

    f = scenario.feeder
    vb = f.base_kv
    ppn = pp.create_empty_network(sn_mva=f.base_kva / 1000.0, f_hz=50.0)
    idx = {
        b.id: pp.create_bus(ppn, vn_kv=vb, name=b.id, geodata=(b.x, b.y) if b.has_coordinates else None)
        for b in f.buses
    }
    pp.create_ext_grid(ppn, idx[f.substation.bus], vm_pu=f.substation.v_set_pu, va_degree=0.0)

    def shunt(bus: str, y_us: complex) -> None:  # draws (G − jB)·V²: p_mw = G·V², q_mvar = −B·V² at V = V_b
        if y_us != 0:
            pp.create_shunt(ppn, idx[bus], p_mw=y_us.real * 1e-6 * vb**2, q_mvar=-y_us.imag * 1e-6 * vb**2, vn_kv=vb)

    for b in f.buses:
        shunt(b.id, complex(b.g_shunt_us, b.b_shunt_us))
    for ln in f.lines:
        tr = ln.transformer
        if tr is None:
            pp.create_line_from_parameters(
                ppn,
                idx[ln.from_bus],
                idx[ln.to_bus],
                length_km=1.0,
                r_ohm_per_km=ln.r_ohm,
                x_ohm_per_km=ln.x_ohm,
                c_nf_per_km=ln.b_shunt_us * 1e-6 / (2.0 * math.pi * 50.0) * 1e9,
                g_us_per_km=ln.g_shunt_us,
                max_i_ka=_max_i_ka(ln.rating_kva_at(vb), vb),
                name=ln.id,
            )
            continue
        sn = (ln.rating_kva_at(vb) or f.base_kva) / 1000.0
        z_base = vb**2 / sn
        y_m = complex(tr.g_mag_us, tr.b_mag_us) * 1e-6  # S at the lv (series) side, vn_lv_kv = V_b
        pp.create_transformer_from_parameters(
            ppn,
            idx[ln.from_bus],
            idx[ln.to_bus],
            sn_mva=sn,
            vn_hv_kv=tr.tap_ratio * vb,
            vn_lv_kv=vb,
            vk_percent=100.0 * math.hypot(ln.r_ohm, ln.x_ohm) / z_base,
            vkr_percent=100.0 * ln.r_ohm / z_base,
            pfe_kw=y_m.real * vb**2 * 1000.0,
            i0_percent=100.0 * abs(y_m) * vb**2 / sn,
            shift_degree=tr.shift_deg,
            name=ln.id,
        )
        y_half = complex(ln.g_shunt_us, ln.b_shunt_us) / 2.0  # on the series side: at the hv bus, over τ²
        shunt(ln.from_bus, y_half / tr.tap_ratio**2)
        shunt(ln.to_bus, y_half)
    net = radial(scenario)
    p, q = bus_injections_kw(scenario, period, net)
    for k, b in enumerate(net.bus_ids):
        if p[k] or q[k]:
            pp.create_load(ppn, idx[b], p_mw=-p[k] / 1000.0, q_mvar=-q[k] / 1000.0)
    return ppn, idx
