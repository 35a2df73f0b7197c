"""The bundled projects, generated (seeded, reproducible): ``python -m core.scenario.generate projects/``.

* :func:`teaching_5bus` — a five-bus LV feeder whose participants bid the
  chapter's double-auction example (bids 12, 10, 8; asks 5, 7, 9 ¢/kWh), so
  the worked numbers (2 units at 8.5) are one click away.
* :func:`ieee33_community` — the IEEE 33-bus feeder of Baran & Wu (1989),
  12.66 kV, with the published line impedances and bus loads; the published
  loads are each bus's peak, shaped over a 24-hour day, and many buses host
  PV, batteries, EVs, flexible loads or a small CHP unit. The default project.
* :func:`synthetic_feeder` — a random radial feeder of about 1,000 buses and a
  few thousand prosumers, for scale.

The bundled files in ``projects/`` are exactly what this module writes; a
test regenerates them and compares, so they never drift from the script.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.scenario.io import save_project
from core.scenario.model import (
    Asset,
    BidBlock,
    Bus,
    Feeder,
    FlexibleLoad,
    Line,
    Prosumer,
    Scenario,
    Substation,
    Tariffs,
    TimeHorizon,
)

# Baran & Wu (1989), "Network reconfiguration in distribution systems for loss
# reduction and load balancing", IEEE Trans. Power Delivery 4(2): the 32
# sectionalizing branches (from, to, r ohm, x ohm) and the peak load of each
# bus (kW, kvar). Bus 1 is the substation at 12.66 kV; total 3,715 kW / 2,300 kvar.
BARAN_WU_LINES: tuple[tuple[int, int, float, float], ...] = (
    (1, 2, 0.0922, 0.0470),
    (2, 3, 0.4930, 0.2511),
    (3, 4, 0.3660, 0.1864),
    (4, 5, 0.3811, 0.1941),
    (5, 6, 0.8190, 0.7070),
    (6, 7, 0.1872, 0.6188),
    (7, 8, 0.7114, 0.2351),
    (8, 9, 1.0300, 0.7400),
    (9, 10, 1.0440, 0.7400),
    (10, 11, 0.1966, 0.0650),
    (11, 12, 0.3744, 0.1238),
    (12, 13, 1.4680, 1.1550),
    (13, 14, 0.5416, 0.7129),
    (14, 15, 0.5910, 0.5260),
    (15, 16, 0.7463, 0.5450),
    (16, 17, 1.2890, 1.7210),
    (17, 18, 0.7320, 0.5740),
    (2, 19, 0.1640, 0.1565),
    (19, 20, 1.5042, 1.3554),
    (20, 21, 0.4095, 0.4784),
    (21, 22, 0.7089, 0.9373),
    (3, 23, 0.4512, 0.3083),
    (23, 24, 0.8980, 0.7091),
    (24, 25, 0.8960, 0.7011),
    (6, 26, 0.2030, 0.1034),
    (26, 27, 0.2842, 0.1447),
    (27, 28, 1.0590, 0.9337),
    (28, 29, 0.8042, 0.7006),
    (29, 30, 0.5075, 0.2585),
    (30, 31, 0.9744, 0.9630),
    (31, 32, 0.3105, 0.3619),
    (32, 33, 0.3410, 0.5302),
)
BARAN_WU_LOADS: dict[int, tuple[float, float]] = {
    2: (100, 60),
    3: (90, 40),
    4: (120, 80),
    5: (60, 30),
    6: (60, 20),
    7: (200, 100),
    8: (200, 100),
    9: (60, 20),
    10: (60, 20),
    11: (45, 30),
    12: (60, 35),
    13: (60, 35),
    14: (120, 80),
    15: (60, 10),
    16: (60, 20),
    17: (60, 20),
    18: (90, 40),
    19: (90, 40),
    20: (90, 40),
    21: (90, 40),
    22: (90, 40),
    23: (90, 50),
    24: (420, 200),
    25: (420, 200),
    26: (60, 25),
    27: (60, 25),
    28: (60, 20),
    29: (120, 70),
    30: (200, 600),
    31: (150, 70),
    32: (210, 100),
    33: (60, 40),
}


# ---------------------------------------------------------------------------
# daily shapes (hourly, normalised)
# ---------------------------------------------------------------------------


def _hours(T: int) -> np.ndarray:
    return np.arange(T) * (24.0 / T) + 0.5 * (24.0 / T)


def residential_shape(T: int = 24) -> np.ndarray:
    """Household demand over the day, peak 1.0 in the evening, 0.35 at night."""
    h = _hours(T)
    morning = 0.35 * np.exp(-0.5 * ((h - 7.5) / 1.3) ** 2)
    evening = 0.65 * np.exp(-0.5 * ((h - 19.0) / 2.2) ** 2)
    s = 0.35 + morning + evening
    return s / s.max()


def commercial_shape(T: int = 24) -> np.ndarray:
    """Offices and shops: a plateau from 8:00 to 18:00, 0.4 at night."""
    h = _hours(T)
    day = 1.0 / (1.0 + np.exp(-(h - 8.0) * 1.5)) * 1.0 / (1.0 + np.exp((h - 18.0) * 1.5))
    s = 0.4 + 0.6 * day
    return s / s.max()


def solar_shape(T: int = 24) -> np.ndarray:
    """Clear-sky PV output per unit of capacity: sunrise 6:00, noon peak 0.9, sunset 19:00."""
    h = _hours(T)
    s = np.clip(np.sin(np.pi * (h - 6.0) / 13.0), 0.0, None) ** 1.3
    return 0.9 * s


def wholesale_price_shape(T: int = 24) -> np.ndarray:
    """A day-ahead price curve (EUR/kWh): night trough, solar dip at noon, evening peak."""
    h = _hours(T)
    return (
        0.085
        + 0.045 * np.exp(-0.5 * ((h - 19.0) / 2.0) ** 2)
        + 0.02 * np.exp(-0.5 * ((h - 8.0) / 1.5) ** 2)
        - 0.035 * np.exp(-0.5 * ((h - 13.0) / 2.5) ** 2)
        - 0.015 * np.exp(-0.5 * ((h - 3.0) / 2.5) ** 2)
    )


def _r(values, nd: int = 3) -> tuple[float, ...]:
    return tuple(float(round(float(v), nd)) for v in values)


def _tou_retail(T: int) -> tuple[float, ...]:
    """Time-of-use retail tariff: 0.22 at night, 0.28 by day, 0.34 from 17:00 to 21:00 (EUR/kWh)."""
    h = _hours(T)
    return _r(np.where((h >= 17) & (h < 21), 0.34, np.where((h >= 7) & (h < 23), 0.28, 0.22)))


# ---------------------------------------------------------------------------
# teaching-5bus
# ---------------------------------------------------------------------------


def teaching_5bus() -> Scenario:
    """Five buses, six traders, one hour: the chapter's double-auction example.

    Buyers B1–B3 bid 12, 10 and 8 ¢/kWh for 1 kWh each; sellers S1–S3 ask 5, 7
    and 9 ¢/kWh. Their cost and value curves say the same (linear, capacity
    1 kW), so the welfare clearing and the auction agree.
    """
    T = 1
    buses = tuple(
        Bus(id=b, name=n)
        for b, n in (
            ("S", "Substation"),
            ("1", "Main street"),
            ("2", "School"),
            ("3", "Farm"),
            ("4", "Hillside"),
        )
    )
    lines = (
        Line(id="L1", from_bus="S", to_bus="1", r_ohm=0.05, x_ohm=0.03, rating_kva=100.0),
        Line(id="L2", from_bus="1", to_bus="2", r_ohm=0.08, x_ohm=0.04, rating_kva=60.0),
        Line(id="L3", from_bus="2", to_bus="3", r_ohm=0.10, x_ohm=0.05, rating_kva=40.0),
        Line(id="L4", from_bus="1", to_bus="4", r_ohm=0.12, x_ohm=0.05, rating_kva=40.0),
    )
    feeder = Feeder(
        base_kv=0.4,
        base_kva=100.0,
        substation=Substation(bus="S", v_set_pu=1.0, wholesale_price_per_kwh=(6.0,)),
        buses=buses,
        lines=lines,
        v_min_pu=0.95,
        v_max_pu=1.05,
    )
    prosumers = []
    for k, (bus, bid) in enumerate((("2", 12.0), ("4", 10.0), ("3", 8.0)), start=1):
        prosumers.append(
            Prosumer(
                id=f"B{k}",
                name=f"Buyer {k}",
                bus=bus,
                demand_kw=(0.0,),
                flexible=FlexibleLoad(d_max_kw=(1.0,), value_a_per_kw2h=0.0, value_b_per_kwh=bid),
                bids=(BidBlock(side="buy", price_per_kwh=bid, quantity_kwh=1.0),),
            )
        )
    for k, (bus, ask, kind) in enumerate((("3", 5.0, "pv"), ("2", 7.0, "battery"), ("4", 9.0, "chp")), start=1):
        prosumers.append(
            Prosumer(
                id=f"S{k}",
                name=f"Seller {k}",
                bus=bus,
                demand_kw=(0.0,),
                asset=Asset(kind=kind, p_max_kw=1.0, cost_b_per_kwh=ask),
                bids=(BidBlock(side="sell", price_per_kwh=ask, quantity_kwh=1.0),),
            )
        )
    return Scenario(
        name="Teaching feeder (5 buses)",
        description=(
            "The chapter's double-auction example on a five-bus LV feeder: bids {12, 10, 8} and "
            "asks {5, 7, 9} ¢/kWh for 1 kWh each. A uniform-price auction clears 2 kWh at 8.5 ¢/kWh."
        ),
        currency="¢",
        feeder=feeder,
        horizon=TimeHorizon(periods=T, step_h=1.0, start_hour=12.0),
        tariffs=Tariffs(retail_import_price_per_kwh=(25.0,), feed_in_price_per_kwh=(4.0,)),
        prosumers=tuple(prosumers),
    )


# ---------------------------------------------------------------------------
# ieee33-community
# ---------------------------------------------------------------------------

# which buses host what (deterministic, spread over the main feeder and the laterals)
_PV_BUSES = (3, 5, 8, 10, 12, 14, 16, 18, 20, 22, 25, 27, 29, 31, 33)
_BATTERY_BUSES = (7, 14, 24, 30, 32)
_EV_BUSES = (4, 11, 19, 26)
_FLEX_BUSES = (6, 9, 13, 17, 21, 23, 28)
_CHP_BUSES = (25,)
_COMMERCIAL_BUSES = (7, 8, 24, 25, 30)


def _downstream(lines, root: int) -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for f, t, *_ in lines:
        children.setdefault(f, []).append(t)
    return children


def ieee33_community(seed: int = 33) -> Scenario:
    """The IEEE 33-bus Baran–Wu feeder as a 24-hour energy community (the default project).

    Impedances and peak loads are Baran & Wu's. Each load bus has one
    aggregated participant whose fixed demand is its published peak (kW and
    kvar) times a residential or commercial daily shape; PV, batteries, EVs,
    flexible loads and one CHP unit sit on the buses listed in this module.
    Line ratings (A) are 1.3 × the peak current of everything downstream,
    rounded up to 10 A (the paper gives none). ``seed`` drives small
    per-participant variations of cost and value.
    """
    T = 24
    rng = np.random.default_rng(seed)
    base_kv = 12.66
    res, com, sun = residential_shape(T), commercial_shape(T), solar_shape(T)

    children = _downstream(BARAN_WU_LINES, 1)

    def sub_load(b: int) -> complex:
        p, q = BARAN_WU_LOADS.get(b, (0.0, 0.0))
        return complex(p, q) + sum((sub_load(c) for c in children.get(b, [])), 0j)

    buses = tuple(Bus(id=str(b), name="Substation" if b == 1 else f"Bus {b}") for b in range(1, 34))
    lines = []
    for k, (f, t, r, x) in enumerate(BARAN_WU_LINES, start=1):
        amps = abs(sub_load(t)) / (math.sqrt(3) * base_kv)
        rating = max(50.0, math.ceil(1.3 * amps / 10.0) * 10.0)
        lines.append(Line(id=f"L{k}", from_bus=str(f), to_bus=str(t), r_ohm=r, x_ohm=x, rating_a=rating))
    price = _r(wholesale_price_shape(T), 4)
    feeder = Feeder(
        base_kv=base_kv,
        base_kva=10_000.0,
        substation=Substation(bus="1", v_set_pu=1.0, wholesale_price_per_kwh=price),
        buses=buses,
        lines=tuple(lines),
        v_min_pu=0.90,
        v_max_pu=1.05,
    )

    prosumers: list[Prosumer] = []
    for b in range(2, 34):
        p_kw, q_kvar = BARAN_WU_LOADS[b]
        shape = com if b in _COMMERCIAL_BUSES else res
        asset = None
        kind_label = "commercial" if b in _COMMERCIAL_BUSES else "households"
        if b in _PV_BUSES:
            cap = float(round(p_kw * rng.uniform(1.4, 2.6) / 5) * 5)
            asset = Asset(
                kind="pv",
                p_max_kw=cap,
                efficiency=0.97,
                cost_a_per_kw2h=float(round(rng.uniform(2e-5, 6e-5), 6)),
                cost_b_per_kwh=float(round(rng.uniform(0.005, 0.015), 4)),
                availability_pu=_r(sun),
            )
        prosumers.append(
            Prosumer(
                id=f"c{b}",
                name=f"Bus {b} {kind_label}",
                bus=str(b),
                demand_kw=_r(p_kw * shape),
                demand_kvar=_r(q_kvar * shape),
                asset=asset,
            )
        )
        if b in _BATTERY_BUSES:
            p = float(round(p_kw * 0.5 / 10) * 10) or 50.0
            prosumers.append(
                Prosumer(
                    id=f"bat{b}",
                    name=f"Bus {b} community battery",
                    bus=str(b),
                    demand_kw=(0.0,) * T,
                    asset=Asset(
                        kind="battery",
                        p_max_kw=p,
                        p_min_kw=-p,
                        ramp_kw_per_period=p,
                        efficiency=0.95,
                        cost_a_per_kw2h=float(round(rng.uniform(1e-4, 3e-4), 6)),
                        cost_b_per_kwh=0.02,
                        energy_kwh=2.0 * p,
                        soc_init_pu=0.5,
                    ),
                )
            )
        if b in _EV_BUSES:
            prosumers.append(
                Prosumer(
                    id=f"ev{b}",
                    name=f"Bus {b} EV car park",
                    bus=str(b),
                    demand_kw=(0.0,) * T,
                    asset=Asset(
                        kind="ev",
                        p_max_kw=20.0,
                        p_min_kw=-60.0,
                        ramp_kw_per_period=30.0,
                        efficiency=0.92,
                        cost_a_per_kw2h=2e-4,
                        cost_b_per_kwh=0.03,
                        energy_kwh=240.0,
                        soc_init_pu=0.4,
                    ),
                )
            )
        if b in _FLEX_BUSES:
            d_max = p_kw * 0.4
            prosumers.append(
                Prosumer(
                    id=f"hp{b}",
                    name=f"Bus {b} heat pumps",
                    bus=str(b),
                    demand_kw=(0.0,) * T,
                    power_factor=0.95,
                    flexible=FlexibleLoad(
                        d_max_kw=_r(d_max * (0.6 + 0.4 * res)),
                        value_a_per_kw2h=float(round(rng.uniform(0.5, 1.5) * 0.2 / d_max, 6)),
                        value_b_per_kwh=float(round(rng.uniform(0.24, 0.32), 3)),
                    ),
                )
            )
        if b in _CHP_BUSES:
            prosumers.append(
                Prosumer(
                    id=f"chp{b}",
                    name=f"Bus {b} CHP unit",
                    bus=str(b),
                    demand_kw=(0.0,) * T,
                    power_factor=0.9,
                    asset=Asset(
                        kind="chp",
                        p_max_kw=300.0,
                        ramp_kw_per_period=100.0,
                        efficiency=1.0,
                        cost_a_per_kw2h=2e-4,
                        cost_b_per_kwh=0.09,
                    ),
                )
            )
    return Scenario(
        name="IEEE 33-bus community",
        description=(
            "The IEEE 33-bus Baran–Wu feeder (12.66 kV, 3,715 kW / 2,300 kvar peak) as an energy "
            "community over a 24-hour day: household and commercial loads on every bus, rooftop PV on "
            "15 buses, 5 community batteries, 4 EV car parks, 7 groups of heat pumps and a CHP unit."
        ),
        currency="EUR",
        feeder=feeder,
        horizon=TimeHorizon(periods=T, step_h=1.0),
        tariffs=Tariffs(retail_import_price_per_kwh=_tou_retail(T), feed_in_price_per_kwh=(0.07,) * T),
        prosumers=tuple(prosumers),
    )


def ieee33_constrained() -> Scenario:
    """The IEEE 33-bus community with two limits that bind, for DLMPs with every component.

    The lateral 3→23 (feeding buses 23–25 and their two 420 kW commercial loads)
    is rated 30 A, which congests it at midday when the offices draw most and the
    wholesale price is low enough to import rather than run the CHP unit; the
    voltage floor is 0.934 p.u., which binds
    at the end of the main feeder (bus 18) in the evening peak.
    """
    from dataclasses import replace

    s = ieee33_community()
    f = s.feeder
    lines = tuple(replace(ln, rating_a=30.0) if (ln.from_bus, ln.to_bus) == ("3", "23") else ln for ln in f.lines)
    return replace(
        s,
        name="IEEE 33-bus community, constrained",
        description=(
            "The IEEE 33-bus community with a 30 A lateral 3→23 (congested at midday by the commercial loads at "
            "buses 24 and 25) and "
            "a 0.934 p.u. voltage floor (binding at bus 18 in the evening): every DLMP component is non-zero."
        ),
        feeder=replace(f, lines=lines, v_min_pu=0.934),
    )


# ---------------------------------------------------------------------------
# synthetic feeder for scale
# ---------------------------------------------------------------------------


def synthetic_feeder(n_buses: int = 1000, n_prosumers: int = 3000, seed: int = 1000, periods: int = 24) -> Scenario:
    """A random radial 11 kV feeder of ``n_buses`` buses and ``n_prosumers`` prosumers (seeded).

    Each new bus hangs off one of the 40 most recently placed buses, which
    grows long laterals with side branches, as real feeders do. Segments are
    50–250 m of 0.16 + j0.11 ohm/km cable (rated 400 A near the substation,
    tapering to 100 A). Prosumers are households (1–4 kW peak), 35 % with
    rooftop PV, 6 % with a battery, 5 % with an EV charger as flexible load.
    """
    T = periods
    rng = np.random.default_rng(seed)
    parent = [-1]
    for k in range(1, n_buses):
        lo = max(0, k - 40)
        parent.append(int(rng.integers(lo, k)))
    depth = [0] * n_buses
    for k in range(1, n_buses):
        depth[k] = depth[parent[k]] + 1
    max_depth = max(depth)
    buses = tuple(Bus(id=f"n{k}", name="Substation" if k == 0 else "") for k in range(n_buses))
    lines = []
    for k in range(1, n_buses):
        length_km = float(rng.uniform(0.05, 0.25))
        rating = 400.0 - 300.0 * depth[k] / max_depth
        lines.append(
            Line(
                id=f"l{k}",
                from_bus=f"n{parent[k]}",
                to_bus=f"n{k}",
                r_ohm=float(round(0.16 * length_km, 5)),
                x_ohm=float(round(0.11 * length_km, 5)),
                rating_a=float(round(rating / 10) * 10),
            )
        )
    feeder = Feeder(
        base_kv=11.0,
        base_kva=10_000.0,
        substation=Substation(bus="n0", v_set_pu=1.03, wholesale_price_per_kwh=_r(wholesale_price_shape(T), 4)),
        buses=buses,
        lines=tuple(lines),
        v_min_pu=0.90,
        v_max_pu=1.05,
    )
    res, sun = residential_shape(T), solar_shape(T)
    sun_r = _r(sun)
    prosumers = []
    hosts = rng.integers(1, n_buses, size=n_prosumers)
    for i in range(n_prosumers):
        bus = f"n{int(hosts[i])}"
        peak = float(rng.uniform(1.0, 4.0))
        noise = rng.normal(1.0, 0.08, size=T).clip(0.6, 1.4)
        demand = _r(peak * res * noise)
        u = rng.random()
        asset = None
        flexible = None
        if u < 0.35:
            asset = Asset(
                kind="pv",
                p_max_kw=float(round(rng.uniform(3.0, 10.0), 1)),
                efficiency=0.97,
                cost_a_per_kw2h=0.001,
                cost_b_per_kwh=0.01,
                availability_pu=sun_r,
            )
        elif u < 0.41:
            p = float(round(rng.uniform(3.0, 7.0), 1))
            asset = Asset(
                kind="battery",
                p_max_kw=p,
                p_min_kw=-p,
                ramp_kw_per_period=p,
                efficiency=0.95,
                cost_a_per_kw2h=0.002,
                cost_b_per_kwh=0.02,
                energy_kwh=float(round(2.5 * p, 1)),
            )
        elif u < 0.46:
            flexible = FlexibleLoad(
                d_max_kw=(7.4,) * T, value_a_per_kw2h=0.01, value_b_per_kwh=float(round(rng.uniform(0.2, 0.35), 3))
            )
        prosumers.append(
            Prosumer(id=f"h{i + 1}", bus=bus, demand_kw=demand, power_factor=0.97, asset=asset, flexible=flexible)
        )
    return Scenario(
        name=f"Synthetic feeder ({n_buses} buses)",
        description=(
            f"A seeded random radial 11 kV feeder (seed {seed}) with {n_buses} buses and {n_prosumers} "
            "households, about a third with rooftop PV, for testing at scale."
        ),
        currency="EUR",
        feeder=feeder,
        horizon=TimeHorizon(periods=T, step_h=1.0),
        tariffs=Tariffs(retail_import_price_per_kwh=_tou_retail(T), feed_in_price_per_kwh=(0.07,) * T),
        prosumers=tuple(prosumers),
    )


BUNDLED: dict[str, Callable[[], Scenario]] = {
    "teaching-5bus.json": teaching_5bus,
    "ieee33-community.json": ieee33_community,
    "ieee33-constrained.json": ieee33_constrained,
    "synthetic-1000bus.json": synthetic_feeder,
}
DEFAULT_PROJECT = "ieee33-community.json"


def write_bundled(folder: str | Path) -> list[Path]:
    """Write every bundled project into ``folder``; returns the paths written."""
    folder = Path(folder)
    return [save_project(make(), folder / name) for name, make in BUNDLED.items()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m core.scenario.generate", description=__doc__.split("\n")[0])
    ap.add_argument("folder", nargs="?", default="projects", help="where to write the bundled projects")
    args = ap.parse_args(argv)
    for p in write_bundled(args.folder):
        print(f"wrote {p} ({p.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
