"""The scenario: plain, validated, immutable data.

A :class:`Scenario` holds a radial feeder (buses, lines, the substation), the
time horizon, the tariffs that are every prosumer's outside option, and the
prosumers with their demand, assets and bids. It knows nothing of markets or
screens (``../shared/DESIGN.md``). Every dataclass is frozen; an edit is a new
scenario (``dataclasses.replace``), which is what makes undo/redo trivial.

Units are in the names: ``_kw``, ``_kvar``, ``_kva``, ``_kv``, ``_ohm``, ``_a``,
``_pu``, ``_h`` and ``_per_kwh`` (the scenario's ``currency`` per kWh).

Sign conventions follow the chapter ("Modeling the Market Participant"): a
prosumer's DER output at its internal point is ``p_t`` with
``p_min_kw ≤ p_t ≤ p_max_kw`` (``p_max_kw`` is the chapter's ``P^max``), the
power at its meter is ``η p_t``, and its net trade is ``q_t = η p_t − d_t``
(positive: a sale). A generating asset costs ``C(p) = a p² + b p`` per hour
(``cost_a_per_kw2h``, ``cost_b_per_kwh``); a flexible load is worth
``U(d) = b d − a d²`` per hour (``value_b_per_kwh``, ``value_a_per_kw2h``).

Constructing a :class:`Scenario` validates it and raises
:class:`~core.errors.ScenarioError` naming the field and the row of every
problem found.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # networkx is imported where a graph is built: validating a file needs only a walk
    import networkx as nx

from core.errors import Problem, ScenarioError

AssetKind = Literal["pv", "battery", "ev", "generator", "wind", "chp"]
"""DER kinds. ``battery`` and ``ev`` may have ``p_min_kw < 0`` (charging)."""

MAX_PERIODS = 366 * 96
"""The longest horizon a project may hold: a leap year of quarter hours (a plausibility bound: the market of a
horizon is one problem, and 300,000 periods ran the machine out of memory instead of being refused)."""

STORAGE_KINDS: frozenset[str] = frozenset({"battery", "ev"})
ASSET_KINDS: tuple[str, ...] = ("pv", "battery", "ev", "generator", "wind", "chp")

Side = Literal["buy", "sell"]


@dataclass(frozen=True)
class Bus:
    """A node of the feeder. ``v_min_pu``/``v_max_pu`` override the feeder's limits.

    ``g_shunt_us + j·b_shunt_us`` is a fixed shunt admittance to ground at the bus
    (µS, referred to the feeder's base voltage like every impedance): it draws
    ``P = G·V²`` and ``Q = −B·V²`` (a capacitor bank has ``B > 0`` and supplies
    reactive power; a reactor ``B < 0``). Default: none.

    ``x``, ``y`` are the bus's geographic coordinates, both or neither, in whatever unit the source
    gives (typically longitude and latitude in degrees, or metres east and north in a projected
    system; ``y`` grows northwards). Only relative positions matter: the feeder is drawn from them
    (:func:`core.scenario.layout.geographic_layout`) when every bus has them. Default: none.
    """

    id: str
    name: str = ""
    v_min_pu: float | None = None
    v_max_pu: float | None = None
    g_shunt_us: float = 0.0
    b_shunt_us: float = 0.0
    x: float | None = None
    y: float | None = None

    @property
    def has_coordinates(self) -> bool:
        """Whether the bus has geographic coordinates (``x`` and ``y``)."""
        return self.x is not None and self.y is not None


@dataclass(frozen=True)
class Transformer:
    """What makes a :class:`Line` a two-winding transformer (the line's ``r_ohm``/``x_ohm`` is its
    short-circuit impedance).

    The equivalent circuit, from the line's ``from_bus`` to its ``to_bus``: an ideal
    transformer of off-nominal ratio ``τ = tap_ratio`` (the series impedance sees
    ``V_from/τ``; 1 = the nominal ratio of the two buses' voltage levels, so the per-unit
    voltage on the to side is ``1/τ`` of the from side at no load), then the T model:
    half the series impedance, the magnetising branch ``g_mag_us + j·b_mag_us`` to ground
    (iron losses ``G`` and magnetising current ``B ≤ 0``, inductive), the other half.
    Impedance and admittances are referred to the feeder's base voltage on the to side
    of the ideal transformer (ohm and µS), as every value of the feeder is.

    ``shift_deg`` is the phase shift of the windings' connection (pandapower's
    ``shift_degree``: 150 for Dyn5, 330 for Dyn11): the to side lags the from side by it.
    It turns every voltage angle below the transformer and changes no magnitude, flow or
    loss on a radial feeder with one source.
    """

    tap_ratio: float = 1.0
    shift_deg: float = 0.0
    g_mag_us: float = 0.0
    b_mag_us: float = 0.0


@dataclass(frozen=True)
class Line:
    """A branch between two buses: the π model (series impedance in ohm, shunt admittance
    in µS), a thermal rating, and optionally a transformer.

    The rating is given in kVA (``rating_kva``) or in A (``rating_a``), or both;
    :meth:`rating_kva_at` converts amperes with ``S = √3 · V_LL · I``.
    ``g_shunt_us + j·b_shunt_us`` is the line's whole shunt admittance (conductance and
    charging susceptance, ``B = 2πf·C``), half of it at each end (default: none, as for
    short distribution lines). With ``transformer`` set the branch is a two-winding
    transformer (:class:`Transformer`). Values at another voltage level than the
    feeder's base are referred to it: ``Z' = Z·(V_base/V_n)²``, ``Y' = Y·(V_n/V_base)²``.
    """

    id: str
    from_bus: str
    to_bus: str
    r_ohm: float
    x_ohm: float
    rating_kva: float | None = None
    rating_a: float | None = None
    name: str = ""
    g_shunt_us: float = 0.0
    b_shunt_us: float = 0.0
    transformer: Transformer | None = None

    def rating_kva_at(self, base_kv: float) -> float | None:
        """Apparent-power rating in kVA at line-to-line voltage ``base_kv``.

        The smaller of the two ratings when both are given; ``None`` if unrated.
        """
        ratings = []
        if self.rating_kva is not None:
            ratings.append(self.rating_kva)
        if self.rating_a is not None:
            ratings.append(math.sqrt(3.0) * base_kv * self.rating_a)
        return min(ratings) if ratings else None


@dataclass(frozen=True)
class Substation:
    """The root of the feeder: where it meets the upstream grid.

    ``v_set_pu`` is the voltage set-point of the slack bus, and
    ``wholesale_price_per_kwh[t]`` the price of energy bought from or sold to
    the upstream grid in period ``t`` (the energy component of every DLMP).
    """

    bus: str
    v_set_pu: float
    wholesale_price_per_kwh: tuple[float, ...]


@dataclass(frozen=True)
class Feeder:
    """A radial distribution feeder: a tree of lines rooted at the substation."""

    base_kv: float
    base_kva: float
    substation: Substation
    buses: tuple[Bus, ...]
    lines: tuple[Line, ...]
    v_min_pu: float = 0.95
    v_max_pu: float = 1.05

    @property
    def base_z_ohm(self) -> float:
        """Impedance base ``Z_base = V_base² / S_base`` in ohm."""
        return (self.base_kv * 1e3) ** 2 / (self.base_kva * 1e3)

    def bus_index(self) -> dict[str, int]:
        return {b.id: i for i, b in enumerate(self.buses)}

    def graph(self) -> nx.Graph:
        """The feeder as an undirected networkx graph (bus ids as nodes, line ids on edges)."""
        import networkx as nx

        g = nx.Graph()
        g.add_nodes_from(b.id for b in self.buses)
        for ln in self.lines:
            g.add_edge(ln.from_bus, ln.to_bus, id=ln.id)
        return g


@dataclass(frozen=True)
class TimeHorizon:
    """``periods`` steps of ``step_h`` hours each, starting at ``start_hour``."""

    periods: int
    step_h: float = 1.0
    start_hour: float = 0.0

    def labels(self) -> list[str]:
        """Clock labels ``HH:MM`` of each period's start."""
        out = []
        for t in range(self.periods):
            minutes = round((self.start_hour + t * self.step_h) * 60) % (24 * 60)
            out.append(f"{minutes // 60:02d}:{minutes % 60:02d}")
        return out


@dataclass(frozen=True)
class Tariffs:
    """The grid's retail tariffs: every prosumer's outside option.

    Without the local market a prosumer buys at ``retail_import_price_per_kwh[t]``
    and sells its surplus at ``feed_in_price_per_kwh[t]``.
    """

    retail_import_price_per_kwh: tuple[float, ...]
    feed_in_price_per_kwh: tuple[float, ...]


@dataclass(frozen=True)
class Asset:
    """A prosumer's DER (the chapter's dispatchable resource).

    ``p_min_kw ≤ p_t ≤ p_max_kw·availability_pu[t]``, ``|p_t − p_{t−1}| ≤ ramp_kw_per_period``
    (``None``: no ramp limit) and ``η = efficiency`` from the DER to the meter.
    Cost ``C(p) = cost_a_per_kw2h·p² + cost_b_per_kwh·p`` per hour of operation.
    Storage (``battery``, ``ev``) may charge (``p_min_kw < 0``) and has an energy
    capacity ``energy_kwh`` with initial state of charge ``soc_init_pu``.
    """

    kind: AssetKind
    p_max_kw: float
    p_min_kw: float = 0.0
    ramp_kw_per_period: float | None = None
    efficiency: float = 1.0
    cost_a_per_kw2h: float = 0.0
    cost_b_per_kwh: float = 0.0
    availability_pu: tuple[float, ...] | None = None
    energy_kwh: float | None = None
    soc_init_pu: float = 0.5

    def p_max_at(self, t: int) -> float:
        """Available capacity ``P^max·availability_t`` in period ``t`` (kW)."""
        if self.availability_pu is None:
            return self.p_max_kw
        return self.p_max_kw * self.availability_pu[t]


@dataclass(frozen=True)
class FlexibleLoad:
    """Price-responsive demand on top of the fixed profile: ``0 ≤ d_t ≤ d_max_kw[t]``.

    Worth ``U(d) = value_b_per_kwh·d − value_a_per_kw2h·d²`` per hour (strictly
    concave when ``value_a_per_kw2h > 0``); its marginal value is ``b − 2 a d``.
    """

    d_max_kw: tuple[float, ...]
    value_a_per_kw2h: float
    value_b_per_kwh: float


@dataclass(frozen=True)
class BidBlock:
    """An explicit price–quantity block: buy (a bid) or sell (an ask).

    Divisible up to ``quantity_kwh`` at ``price_per_kwh``; ``period`` is the
    0-based period it applies to, or ``None`` for every period.
    """

    side: Side
    price_per_kwh: float
    quantity_kwh: float
    period: int | None = None


@dataclass(frozen=True)
class Prosumer:
    """A market participant at a bus: fixed demand, an optional DER, flexible load and bids.

    Reactive demand is ``demand_kvar`` when given, else derived from the
    (lagging) ``power_factor``: ``Q = P·tan(arccos pf)``.
    """

    id: str
    bus: str
    demand_kw: tuple[float, ...]
    name: str = ""
    asset: Asset | None = None
    flexible: FlexibleLoad | None = None
    power_factor: float = 1.0
    demand_kvar: tuple[float, ...] | None = None
    bids: tuple[BidBlock, ...] = ()

    def reactive_kvar(self, t: int) -> float:
        """Reactive demand in period ``t`` (kvar)."""
        if self.demand_kvar is not None:
            return self.demand_kvar[t]
        pf = self.power_factor
        return self.demand_kw[t] * math.tan(math.acos(pf)) if pf < 1.0 else 0.0

    @property
    def role(self) -> str:
        """``consumer``, ``producer`` or ``prosumer``: one that can both buy and sell
        (demand and a DER, or storage, which charges and discharges)."""
        has_demand = any(d > 0 for d in self.demand_kw) or self.flexible is not None
        has_der = self.asset is not None
        if has_der and (has_demand or self.asset.kind in STORAGE_KINDS):
            return "prosumer"
        if has_der:
            return "producer"
        return "consumer"


@dataclass(frozen=True)
class Scenario:
    """A whole market scenario; validated on construction (raises ScenarioError)."""

    name: str
    feeder: Feeder
    horizon: TimeHorizon
    tariffs: Tariffs
    prosumers: tuple[Prosumer, ...] = ()
    currency: str = "EUR"
    description: str = ""
    validate: bool = field(default=True, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.validate:
            problems = validate_scenario(self)
            if problems:
                raise ScenarioError(problems)

    # --- convenient views -------------------------------------------------
    @property
    def periods(self) -> int:
        return self.horizon.periods

    def prosumer_index(self) -> dict[str, int]:
        return {p.id: i for i, p in enumerate(self.prosumers)}

    def prosumers_at(self, bus_id: str) -> list[Prosumer]:
        return [p for p in self.prosumers if p.bus == bus_id]

    # --- edits (each returns a new validated scenario) ---------------------
    def with_prosumer(self, index: int, prosumer: Prosumer) -> Scenario:
        """``self`` with prosumer ``index`` replaced; raises ScenarioError naming what is wrong with it.

        A validated scenario is valid, so only the new record is checked (an edit on the 3,000-prosumer
        feeder: ~0.1 ms instead of ~170 ms for the whole scenario).
        """
        items = list(self.prosumers)
        items[index] = prosumer
        if not self.validate:
            return replace(self, prosumers=tuple(items))
        c = _Checker()
        if isinstance(prosumer.id, str) and prosumer.id.strip():
            first = next((i for i, p in enumerate(items) if p.id == prosumer.id), index)
            if first != index:
                c.add(f"prosumers[{index}].id", f"duplicates prosumer {first} ('{prosumer.id}')", index, prosumer.id)
            else:
                later = next((i for i, p in enumerate(items) if i > index and p.id == prosumer.id), None)
                if later is not None:
                    c.add(
                        f"prosumers[{later}].id", f"duplicates prosumer {index} ('{prosumer.id}')", later, prosumer.id
                    )
        _validate_prosumer(c, prosumer, index, {b.id for b in self.feeder.buses}, self.periods)
        if c.problems:
            raise ScenarioError(c.problems)
        new = replace(self, prosumers=tuple(items), validate=False)
        object.__setattr__(new, "validate", True)  # checked above: later edits validate again
        return new

    def adding_prosumer(self, prosumer: Prosumer, index: int | None = None) -> Scenario:
        items = list(self.prosumers)
        items.insert(len(items) if index is None else index, prosumer)
        return replace(self, prosumers=tuple(items))

    def removing_prosumers(self, indices: Iterable[int]) -> Scenario:
        drop = set(indices)
        return replace(self, prosumers=tuple(p for i, p in enumerate(self.prosumers) if i not in drop))

    def with_line(self, index: int, line: Line) -> Scenario:
        lines = list(self.feeder.lines)
        lines[index] = line
        return replace(self, feeder=replace(self.feeder, lines=tuple(lines)))

    def with_bus(self, index: int, bus: Bus) -> Scenario:
        buses = list(self.feeder.buses)
        buses[index] = bus
        return replace(self, feeder=replace(self.feeder, buses=tuple(buses)))

    def unique_prosumer_id(self, stem: str = "p") -> str:
        taken = {p.id for p in self.prosumers}
        k = len(self.prosumers) + 1
        while f"{stem}{k}" in taken:
            k += 1
        return f"{stem}{k}"


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------


class _Checker:
    """Collects problems with a consistent field path and row."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, field: str, message: str, row: int | None = None, row_id: str | None = None) -> None:
        self.problems.append(Problem(field=field, message=message, row=row, row_id=row_id))

    def number(
        self, value, field: str, *, row=None, row_id=None, lo=None, hi=None, lo_open=False, hi_open=False, what=""
    ) -> bool:
        """Check a finite real number within [lo, hi] (open ends when asked)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.add(field, f"must be a number, got {value!r}", row, row_id)
            return False
        if not math.isfinite(value):
            self.add(field, f"must be a finite number, got {value!r}", row, row_id)
            return False
        bad = (lo is not None and (value <= lo if lo_open else value < lo)) or (
            hi is not None and (value >= hi if hi_open else value > hi)
        )
        if bad:
            left = "(" if lo_open else "["
            right = ")" if hi_open else "]"
            lo_s = "-inf" if lo is None else f"{lo:g}"
            hi_s = "inf" if hi is None else f"{hi:g}"
            self.add(field, f"{what or 'must be'} in {left}{lo_s}, {hi_s}{right}, got {value:g}", row, row_id)
            return False
        return True

    def profile(self, values, field: str, periods: int, *, row=None, row_id=None, lo=None, hi=None) -> bool:
        """Check a per-period profile: right length, every value finite and in range."""
        if not isinstance(values, tuple):
            self.add(field, f"must be a list of {periods} numbers", row, row_id)
            return False
        if len(values) != periods:
            self.add(
                field,
                f"has {len(values)} values, the horizon has {periods} period{'s' if periods != 1 else ''}",
                row,
                row_id,
            )
            return False
        ok = True
        for t, v in enumerate(values):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                self.add(f"{field}[{t}]", f"must be a finite number, got {v!r}", row, row_id)
                ok = False
            elif (lo is not None and v < lo) or (hi is not None and v > hi):
                rng = f"[{'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'}]"
                self.add(f"{field}[{t}]", f"must be in {rng}, got {v:g}", row, row_id)
                ok = False
        return ok


def validate_scenario(s: Scenario) -> list[Problem]:
    """Every problem of a scenario, each naming its field and row (empty: valid)."""
    c = _Checker()
    if not isinstance(s.name, str):
        c.add("name", "must be text")
    if not isinstance(s.currency, str) or not s.currency.strip():
        c.add("currency", "must be a non-empty currency code or symbol")

    # horizon
    h = s.horizon
    T = h.periods
    if isinstance(T, bool) or not isinstance(T, int) or T < 1:
        c.add("horizon.periods", f"must be a whole number ≥ 1, got {T!r}")
        T = None  # profile lengths cannot be checked
    elif T > MAX_PERIODS:
        got = f"{T:,}" if T < 10**12 else f"{float(T):.3g}"
        c.add(
            "horizon.periods",
            f"must be at most {MAX_PERIODS:,} (a year of quarter hours; a market clears a day or a week at once), "
            f"got {got}",
        )
        T = None
    c.number(h.step_h, "horizon.step_h", lo=0.0, lo_open=True, hi=24.0)
    c.number(h.start_hour, "horizon.start_hour", lo=0.0, hi=24.0, hi_open=True)

    _validate_feeder(c, s.feeder, T)
    _validate_tariffs(c, s.tariffs, T)
    _validate_prosumers(c, s, T)
    if not c.problems:  # well-formed: now whether its numbers could be a real feeder's
        _plausible(c, s)
    return c.problems


# Plausibility bounds (README, "Project format"): a number outside them is a typo or a unit slip (W for kW, V for
# kV), not a feeder; the solver would answer in its own words. Power and energy are relative to the feeder's base
# power, impedances and shunts to its base impedance, money to a generous ceiling that holds in any currency.
BASE_KV = (0.1, 500.0)  # kV
BASE_KVA = (1.0, 1e7)  # kVA
IMPEDANCE_PU = 100.0  # a line's |r|, |x| at most this many base impedances
SHUNT_PU = 100.0  # a shunt's |g|, |b| at most this many base admittances
RATING_KVA = (0.1, 1e6)  # kVA
RATING_A = (0.1, 1e5)  # A
POWER_PER_BASE = 100.0  # a prosumer's demand, DER, flexible load, ramp: at most this × the base power (kW)
ENERGY_PER_BASE = 1000.0  # a storage's energy, a bid's quantity: at most this × the base power (kWh)
MONEY_PER_KWH = 1e6  # |a price, a cost or a value| per kWh (or per kW²h): below this, in any currency


def _plausible(c: _Checker, s: Scenario) -> None:
    f = s.feeder
    c.number(f.base_kv, "feeder.base_kv", lo=BASE_KV[0], hi=BASE_KV[1], what="a distribution feeder's voltage is")
    c.number(f.base_kva, "feeder.base_kva", lo=BASE_KVA[0], hi=BASE_KVA[1], what="a feeder's base power is")
    if c.problems:
        return  # the other bounds are relative to these
    z_base = f.base_kv**2 * 1000.0 / f.base_kva  # Ω
    y_base_us = 1e6 / z_base
    power = POWER_PER_BASE * f.base_kva
    energy = ENERGY_PER_BASE * f.base_kva
    money = MONEY_PER_KWH

    def at_most(value, field, bound, unit, why, row=None, row_id=None) -> None:
        if value is not None and abs(value) > bound:
            c.add(field, f"is {value:g} {unit}, beyond {bound:g} {unit} ({why})", row, row_id)

    z_why = f"{IMPEDANCE_PU:g} times the feeder's base impedance of {z_base:.4g} Ω: no line is that long"
    y_why = f"{SHUNT_PU:g} times the feeder's base admittance"
    for i, b in enumerate(f.buses):
        at_most(b.g_shunt_us, f"feeder.buses[{i}].g_shunt_us", SHUNT_PU * y_base_us, "µS", y_why, i, b.id)
        at_most(b.b_shunt_us, f"feeder.buses[{i}].b_shunt_us", SHUNT_PU * y_base_us, "µS", y_why, i, b.id)
    for i, ln in enumerate(f.lines):
        fld = f"feeder.lines[{i}]"
        at_most(ln.r_ohm, f"{fld}.r_ohm", IMPEDANCE_PU * z_base, "Ω", z_why, i, ln.id)
        at_most(ln.x_ohm, f"{fld}.x_ohm", IMPEDANCE_PU * z_base, "Ω", z_why, i, ln.id)
        at_most(ln.g_shunt_us, f"{fld}.g_shunt_us", SHUNT_PU * y_base_us, "µS", y_why, i, ln.id)
        at_most(ln.b_shunt_us, f"{fld}.b_shunt_us", SHUNT_PU * y_base_us, "µS", y_why, i, ln.id)
        if ln.rating_kva is not None:
            c.number(
                ln.rating_kva,
                f"{fld}.rating_kva",
                row=i,
                row_id=ln.id,
                lo=RATING_KVA[0],
                hi=RATING_KVA[1],
                what="a line's rating (kVA) is",
            )
        if ln.rating_a is not None:
            c.number(
                ln.rating_a,
                f"{fld}.rating_a",
                row=i,
                row_id=ln.id,
                lo=RATING_A[0],
                hi=RATING_A[1],
                what="a line's rating (A) is",
            )
    money_why = "a price per kWh in any currency"
    for t, v in enumerate(f.substation.wholesale_price_per_kwh):
        at_most(v, f"feeder.substation.wholesale_price_per_kwh[{t}]", money, "per kWh", money_why, t)
    for name in ("retail_import_price_per_kwh", "feed_in_price_per_kwh"):
        for t, v in enumerate(getattr(s.tariffs, name)):
            at_most(v, f"tariffs.{name}[{t}]", money, "per kWh", money_why, t)
    power_why = f"{POWER_PER_BASE:g} times the feeder's base power of {f.base_kva:g} kVA"
    energy_why = f"{ENERGY_PER_BASE:g} times the feeder's base power of {f.base_kva:g} kVA, in kWh"
    for i, p in enumerate(s.prosumers):
        fld = f"prosumers[{i}]"
        for t, v in enumerate(p.demand_kw):
            at_most(v, f"{fld}.demand_kw[{t}]", power, "kW", power_why, i, p.id)
        for t, v in enumerate(p.demand_kvar or ()):
            at_most(v, f"{fld}.demand_kvar[{t}]", power, "kvar", power_why, i, p.id)
        a = p.asset
        if a is not None:
            at_most(a.p_max_kw, f"{fld}.asset.p_max_kw", power, "kW", power_why, i, p.id)
            at_most(a.p_min_kw, f"{fld}.asset.p_min_kw", power, "kW", power_why, i, p.id)
            at_most(a.ramp_kw_per_period, f"{fld}.asset.ramp_kw_per_period", power, "kW", power_why, i, p.id)
            at_most(a.energy_kwh, f"{fld}.asset.energy_kwh", energy, "kWh", energy_why, i, p.id)
            at_most(a.cost_a_per_kw2h, f"{fld}.asset.cost_a_per_kw2h", money, "per kW²h", money_why, i, p.id)
            at_most(a.cost_b_per_kwh, f"{fld}.asset.cost_b_per_kwh", money, "per kWh", money_why, i, p.id)
        fl = p.flexible
        if fl is not None:
            for t, v in enumerate(fl.d_max_kw):
                at_most(v, f"{fld}.flexible.d_max_kw[{t}]", power, "kW", power_why, i, p.id)
            at_most(fl.value_a_per_kw2h, f"{fld}.flexible.value_a_per_kw2h", money, "per kW²h", money_why, i, p.id)
            at_most(fl.value_b_per_kwh, f"{fld}.flexible.value_b_per_kwh", money, "per kWh", money_why, i, p.id)
        for k, b in enumerate(p.bids):
            at_most(b.price_per_kwh, f"{fld}.bids[{k}].price_per_kwh", money, "per kWh", money_why, i, p.id)
            at_most(b.quantity_kwh, f"{fld}.bids[{k}].quantity_kwh", energy, "kWh", energy_why, i, p.id)


def _validate_feeder(c: _Checker, f: Feeder, T: int | None) -> None:
    c.number(f.base_kv, "feeder.base_kv", lo=0.0, lo_open=True)
    c.number(f.base_kva, "feeder.base_kva", lo=0.0, lo_open=True)
    if (
        c.number(f.v_min_pu, "feeder.v_min_pu", lo=0.0, lo_open=True)
        and c.number(f.v_max_pu, "feeder.v_max_pu", lo=0.0, lo_open=True)
        and f.v_min_pu >= f.v_max_pu
    ):
        c.add("feeder.v_min_pu", f"must be below v_max_pu ({f.v_max_pu:g}), got {f.v_min_pu:g}")

    if not f.buses:
        c.add("feeder.buses", "a feeder needs at least one bus (the substation)")
    seen: dict[str, int] = {}
    for i, b in enumerate(f.buses):
        fld = f"feeder.buses[{i}]"
        if not isinstance(b.id, str) or not b.id.strip():
            c.add(f"{fld}.id", "must be a non-empty text", i)
            continue
        if b.id in seen:
            c.add(f"{fld}.id", f"duplicates bus {seen[b.id]} ('{b.id}')", i, b.id)
        seen.setdefault(b.id, i)
        for name in ("v_min_pu", "v_max_pu"):
            v = getattr(b, name)
            if v is not None:
                c.number(v, f"{fld}.{name}", row=i, row_id=b.id, lo=0.0, lo_open=True)
        if isinstance(b.v_min_pu, (int, float)) and isinstance(b.v_max_pu, (int, float)) and b.v_min_pu >= b.v_max_pu:
            c.add(f"{fld}.v_min_pu", f"must be below v_max_pu ({b.v_max_pu:g})", i, b.id)
        if b.g_shunt_us != 0.0:
            c.number(
                b.g_shunt_us,
                f"{fld}.g_shunt_us",
                row=i,
                row_id=b.id,
                lo=0.0,
                what="a shunt conductance draws power: it must be",
            )
        if b.b_shunt_us != 0.0:
            c.number(b.b_shunt_us, f"{fld}.b_shunt_us", row=i, row_id=b.id)
        if (b.x is None) != (b.y is None):
            given, missing = ("x", "y") if b.y is None else ("y", "x")
            c.add(
                f"{fld}.{missing}",
                f"is missing while {given} is given: a bus has both coordinates (x, y) or neither",
                i,
                b.id,
            )
        for name in ("x", "y"):
            v = getattr(b, name)
            if v is not None:
                c.number(v, f"{fld}.{name}", row=i, row_id=b.id)

    sub = f.substation
    if sub.bus not in seen:
        c.add("feeder.substation.bus", f"names bus '{sub.bus}', which is not on the feeder")
    c.number(sub.v_set_pu, "feeder.substation.v_set_pu", lo=0.8, hi=1.2)
    if T is not None:
        c.profile(sub.wholesale_price_per_kwh, "feeder.substation.wholesale_price_per_kwh", T)

    line_seen: dict[str, int] = {}
    endpoints_ok = True
    for i, ln in enumerate(f.lines):
        fld = f"feeder.lines[{i}]"
        lid = ln.id if isinstance(ln.id, str) else None
        if not isinstance(ln.id, str) or not ln.id.strip():
            c.add(f"{fld}.id", "must be a non-empty text", i)
        elif ln.id in line_seen:
            c.add(f"{fld}.id", f"duplicates line {line_seen[ln.id]} ('{ln.id}')", i, lid)
        else:
            line_seen[ln.id] = i
        for end in ("from_bus", "to_bus"):
            bus = getattr(ln, end)
            if bus not in seen:
                c.add(f"{fld}.{end}", f"names bus '{bus}', which is not on the feeder", i, lid)
                endpoints_ok = False
        if ln.from_bus == ln.to_bus:
            c.add(f"{fld}.to_bus", f"the line starts and ends at bus '{ln.from_bus}'", i, lid)
            endpoints_ok = False
        r_ok = c.number(ln.r_ohm, f"{fld}.r_ohm", row=i, row_id=lid, lo=0.0, what="an impedance must be")
        x_ok = c.number(ln.x_ohm, f"{fld}.x_ohm", row=i, row_id=lid, lo=0.0, what="an impedance must be")
        if r_ok and x_ok and ln.r_ohm == 0.0 and ln.x_ohm == 0.0:
            c.add(f"{fld}.r_ohm", "r_ohm and x_ohm are both zero: a line needs an impedance", i, lid)
        for name in ("rating_kva", "rating_a"):
            v = getattr(ln, name)
            if v is not None:
                c.number(v, f"{fld}.{name}", row=i, row_id=lid, lo=0.0, lo_open=True)
        if ln.g_shunt_us != 0.0:
            c.number(
                ln.g_shunt_us,
                f"{fld}.g_shunt_us",
                row=i,
                row_id=lid,
                lo=0.0,
                what="a shunt conductance draws power: it must be",
            )
        if ln.b_shunt_us != 0.0:
            c.number(ln.b_shunt_us, f"{fld}.b_shunt_us", row=i, row_id=lid)
        if ln.transformer is not None:
            _validate_transformer(c, ln.transformer, f"{fld}.transformer", i, lid)

    if seen and endpoints_ok and sub.bus in seen:
        _validate_tree(c, f)


def _validate_transformer(c: _Checker, t: Transformer, fld: str, i: int, lid: str | None) -> None:
    if not isinstance(t, Transformer):
        c.add(fld, f"must be a transformer record or empty, got {t!r}", i, lid)
        return
    c.number(
        t.tap_ratio,
        f"{fld}.tap_ratio",
        row=i,
        row_id=lid,
        lo=0.5,
        hi=2.0,
        what="an off-nominal ratio (1 = nominal) must be",
    )
    c.number(t.shift_deg, f"{fld}.shift_deg", row=i, row_id=lid, lo=-360.0, hi=360.0)
    c.number(
        t.g_mag_us,
        f"{fld}.g_mag_us",
        row=i,
        row_id=lid,
        lo=0.0,
        what="the iron-loss conductance draws power: it must be",
    )
    c.number(
        t.b_mag_us,
        f"{fld}.b_mag_us",
        row=i,
        row_id=lid,
        hi=0.0,
        what="a magnetising susceptance is inductive: it must be",
    )


def _validate_tree(c: _Checker, f: Feeder) -> None:
    """A radial feeder: connected, no loops, no parallel lines, rooted at the substation."""
    import networkx as nx

    g = nx.MultiGraph()
    g.add_nodes_from(b.id for b in f.buses)
    for i, ln in enumerate(f.lines):
        g.add_edge(ln.from_bus, ln.to_bus, key=i)
    reach = nx.node_connected_component(g, f.substation.bus)
    if len(reach) < g.number_of_nodes():
        index = f.bus_index()
        islanded = sorted((b for b in g.nodes if b not in reach), key=lambda b: index[b])
        shown = ", ".join(f"'{b}'" for b in islanded[:8]) + (" …" if len(islanded) > 8 else "")
        first = index[islanded[0]]
        c.add(
            "feeder.buses",
            f"{len(islanded)} bus(es) not connected to the substation '{f.substation.bus}': {shown}",
            first,
            islanded[0],
        )
    # a loop: taking the lines in file order, one whose two ends earlier lines
    # already join (union-find), so the line that is blamed is the one that
    # closes the cycle, not whichever a graph search happened to reach last
    root = {b: b for b in g.nodes}

    def find(b: str) -> str:
        while root[b] != b:
            root[b] = root[root[b]]
            b = root[b]
        return b

    for i, ln in enumerate(f.lines):
        a, b = find(ln.from_bus), find(ln.to_bus)
        if a != b:
            root[a] = b
        elif ln.from_bus in reach:
            c.add(
                f"feeder.lines[{i}]",
                f"closes a loop between '{ln.from_bus}' and '{ln.to_bus}': a feeder must be radial (a tree)",
                i,
                ln.id,
            )


def _validate_tariffs(c: _Checker, tr: Tariffs, T: int | None) -> None:
    if T is None:
        return
    ok1 = c.profile(tr.retail_import_price_per_kwh, "tariffs.retail_import_price_per_kwh", T)
    ok2 = c.profile(tr.feed_in_price_per_kwh, "tariffs.feed_in_price_per_kwh", T)
    if ok1 and ok2:
        for t in range(T):
            if tr.feed_in_price_per_kwh[t] > tr.retail_import_price_per_kwh[t]:
                c.add(
                    f"tariffs.feed_in_price_per_kwh[{t}]",
                    f"feed-in price {tr.feed_in_price_per_kwh[t]:g} exceeds the retail import price "
                    f"{tr.retail_import_price_per_kwh[t]:g}: anyone could buy from the grid and sell back at a profit",
                    t,
                )
                break


def _validate_prosumers(c: _Checker, s: Scenario, T: int | None) -> None:
    bus_ids = {b.id for b in s.feeder.buses}
    seen: dict[str, int] = {}
    for i, p in enumerate(s.prosumers):
        if isinstance(p.id, str) and p.id.strip():
            if p.id in seen:
                c.add(f"prosumers[{i}].id", f"duplicates prosumer {seen[p.id]} ('{p.id}')", i, p.id)
            else:
                seen[p.id] = i
        _validate_prosumer(c, p, i, bus_ids, T)


def _validate_prosumer(c: _Checker, p: Prosumer, i: int, bus_ids: set[str], T: int | None) -> None:
    """One prosumer's own fields (ids unique across prosumers: the caller)."""
    fld = f"prosumers[{i}]"
    pid = p.id if isinstance(p.id, str) else None
    if not isinstance(p.id, str) or not p.id.strip():
        c.add(f"{fld}.id", "must be a non-empty text", i)
    if p.bus not in bus_ids:
        c.add(f"{fld}.bus", f"names bus '{p.bus}', which is not on the feeder", i, pid)
    if T is not None:
        c.profile(p.demand_kw, f"{fld}.demand_kw", T, row=i, row_id=pid, lo=0.0)
        if p.demand_kvar is not None:
            c.profile(p.demand_kvar, f"{fld}.demand_kvar", T, row=i, row_id=pid)
    c.number(p.power_factor, f"{fld}.power_factor", row=i, row_id=pid, lo=0.0, lo_open=True, hi=1.0)
    if p.asset is not None:
        _validate_asset(c, p.asset, f"{fld}.asset", T, i, pid)
    if p.flexible is not None:
        fl = p.flexible
        if T is not None:
            c.profile(fl.d_max_kw, f"{fld}.flexible.d_max_kw", T, row=i, row_id=pid, lo=0.0)
        c.number(
            fl.value_a_per_kw2h,
            f"{fld}.flexible.value_a_per_kw2h",
            row=i,
            row_id=pid,
            lo=0.0,
            what="a concave value needs a coefficient",
        )
        c.number(fl.value_b_per_kwh, f"{fld}.flexible.value_b_per_kwh", row=i, row_id=pid)
    for k, b in enumerate(p.bids):
        bf = f"{fld}.bids[{k}]"
        if b.side not in ("buy", "sell"):
            c.add(f"{bf}.side", f"must be 'buy' or 'sell', got {b.side!r}", i, pid)
        c.number(b.price_per_kwh, f"{bf}.price_per_kwh", row=i, row_id=pid)
        c.number(b.quantity_kwh, f"{bf}.quantity_kwh", row=i, row_id=pid, lo=0.0, lo_open=True)
        if (
            b.period is not None
            and T is not None
            and (isinstance(b.period, bool) or not isinstance(b.period, int) or not 0 <= b.period < T)
        ):
            c.add(f"{bf}.period", f"must be a period in 0…{T - 1} or empty, got {b.period!r}", i, pid)


def _validate_asset(c: _Checker, a: Asset, fld: str, T: int | None, i: int, pid: str | None) -> None:
    if a.kind not in ASSET_KINDS:
        c.add(f"{fld}.kind", f"must be one of {', '.join(ASSET_KINDS)}, got {a.kind!r}", i, pid)
    ok_max = c.number(a.p_max_kw, f"{fld}.p_max_kw", row=i, row_id=pid, lo=0.0)
    ok_min = c.number(a.p_min_kw, f"{fld}.p_min_kw", row=i, row_id=pid)
    if ok_max and ok_min:
        if a.p_min_kw > a.p_max_kw:
            c.add(f"{fld}.p_min_kw", f"exceeds p_max_kw ({a.p_max_kw:g}), got {a.p_min_kw:g}", i, pid)
        if a.p_min_kw < 0 and a.kind not in STORAGE_KINDS:
            c.add(f"{fld}.p_min_kw", f"only storage (battery, ev) can charge; a {a.kind} needs p_min_kw ≥ 0", i, pid)
    if a.ramp_kw_per_period is not None:
        c.number(a.ramp_kw_per_period, f"{fld}.ramp_kw_per_period", row=i, row_id=pid, lo=0.0, lo_open=True)
    c.number(
        a.efficiency, f"{fld}.efficiency", row=i, row_id=pid, lo=0.0, lo_open=True, hi=1.0, what="efficiency η must be"
    )
    c.number(
        a.cost_a_per_kw2h, f"{fld}.cost_a_per_kw2h", row=i, row_id=pid, lo=0.0, what="a convex cost needs a coefficient"
    )
    c.number(a.cost_b_per_kwh, f"{fld}.cost_b_per_kwh", row=i, row_id=pid)
    if a.availability_pu is not None and T is not None:
        c.profile(a.availability_pu, f"{fld}.availability_pu", T, row=i, row_id=pid, lo=0.0, hi=1.0)
    if a.energy_kwh is not None:
        c.number(a.energy_kwh, f"{fld}.energy_kwh", row=i, row_id=pid, lo=0.0, lo_open=True)
    c.number(a.soc_init_pu, f"{fld}.soc_init_pu", row=i, row_id=pid, lo=0.0, hi=1.0)
