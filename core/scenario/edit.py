"""Edits the dashboard offers, as pure functions returning new records or scenarios.

They hold the defaults (a new PV gets the clear-sky availability shape, a new
battery can charge as fast as it discharges…) so that the GUI only asks.
"""

from __future__ import annotations

from dataclasses import replace

from core.scenario.model import STORAGE_KINDS, Asset, Prosumer, Scenario, TimeHorizon


def default_asset(kind: str, horizon: TimeHorizon, p_max_kw: float = 5.0) -> Asset:
    """A sensible new asset of ``kind`` (5 kW; storage holds 2 h).

    A new PV follows the clear-sky shape at ``horizon``'s own clock hours
    (:func:`core.scenario.csv_io.solar_availability`): 96 quarter hours, a horizon that starts at 06:00 or runs over
    several days see the sun when it shines, never a full output at midnight.
    """
    if kind == "pv":
        from core.scenario.csv_io import solar_availability

        shape = solar_availability(horizon)
        return Asset(
            kind="pv",
            p_max_kw=p_max_kw,
            efficiency=0.97,
            cost_a_per_kw2h=0.001,
            cost_b_per_kwh=0.01,
            availability_pu=shape,
        )
    if kind in STORAGE_KINDS:
        return Asset(
            kind=kind,
            p_max_kw=p_max_kw,
            p_min_kw=-p_max_kw,
            ramp_kw_per_period=p_max_kw,
            efficiency=0.95,
            cost_a_per_kw2h=0.002,
            cost_b_per_kwh=0.02,
            energy_kwh=2.0 * p_max_kw,
        )
    return Asset(kind=kind, p_max_kw=p_max_kw, cost_a_per_kw2h=0.002, cost_b_per_kwh=0.08)


def with_asset_kind(p: Prosumer, kind: str | None, horizon: TimeHorizon) -> Prosumer:
    """Change (or remove, ``kind=None``) a prosumer's DER, keeping its size and cost where they carry over."""
    if not kind:
        return replace(p, asset=None)
    if p.asset is None:
        return replace(p, asset=default_asset(kind, horizon))
    if p.asset.kind == kind:
        return p
    fresh = default_asset(kind, horizon, p_max_kw=p.asset.p_max_kw)
    return replace(
        p,
        asset=replace(
            fresh,
            cost_a_per_kw2h=p.asset.cost_a_per_kw2h,
            cost_b_per_kwh=p.asset.cost_b_per_kwh,
            efficiency=p.asset.efficiency,
        ),
    )


def new_prosumer(s: Scenario, bus: str) -> Prosumer:
    """An empty consumer at ``bus`` with a fresh id and zero demand."""
    return Prosumer(id=s.unique_prosumer_id(), bus=bus, demand_kw=(0.0,) * s.periods)


def empty_scenario(periods: int = 24) -> Scenario:
    """A new project: a 12.47 kV substation bus and one bus below it, no prosumers, a 24-hour day."""
    from core.scenario.generate import _tou_retail, wholesale_price_shape
    from core.scenario.model import Bus, Feeder, Line, Substation, Tariffs

    price = tuple(float(round(v, 4)) for v in wholesale_price_shape(periods))
    feeder = Feeder(
        base_kv=12.47,
        base_kva=10_000.0,
        substation=Substation(bus="0", v_set_pu=1.0, wholesale_price_per_kwh=price),
        buses=(Bus(id="0", name="Substation"), Bus(id="1")),
        lines=(Line(id="L1", from_bus="0", to_bus="1", r_ohm=0.1, x_ohm=0.08, rating_a=200.0),),
    )
    return Scenario(
        name="New feeder",
        feeder=feeder,
        horizon=TimeHorizon(periods=periods),
        tariffs=Tariffs(retail_import_price_per_kwh=_tou_retail(periods), feed_in_price_per_kwh=(0.07,) * periods),
    )


def adding_bus(s: Scenario, parent: str) -> tuple[Scenario, str]:
    """A new bus hung below ``parent`` by a new line (a copy of the line feeding ``parent``, or 0.1 + j0.08 Ω).

    On a feeder whose buses all have geographic coordinates the new bus gets some too, so that the feeder can
    still be drawn on the map: ``parent``'s, shifted by half the median line length ``ℓ`` east and south,
    ``(x + ℓ/2, y − ℓ/2)`` (1 when no line has a length).
    """
    import math
    import statistics

    from core.scenario.model import Bus, Line

    ids = {b.id for b in s.feeder.buses}
    k = len(s.feeder.buses)
    while str(k) in ids:
        k += 1
    bus_id = str(k)
    line_ids = {ln.id for ln in s.feeder.lines}
    j = len(s.feeder.lines) + 1
    while f"L{j}" in line_ids:
        j += 1
    feeding = next((ln for ln in s.feeder.lines if parent in (ln.from_bus, ln.to_bus)), None)
    line = (
        replace(feeding, id=f"L{j}", from_bus=parent, to_bus=bus_id, name="")
        if feeding is not None
        else Line(id=f"L{j}", from_bus=parent, to_bus=bus_id, r_ohm=0.1, x_ohm=0.08, rating_a=200.0)
    )
    f = s.feeder
    new = Bus(id=bus_id)
    if f.buses and all(b.has_coordinates for b in f.buses):
        xy = {b.id: (b.x, b.y) for b in f.buses}
        lengths = [d for ln in f.lines if (d := math.dist(xy[ln.from_bus], xy[ln.to_bus])) > 0]
        step = statistics.median(lengths) / 2 if lengths else 1.0
        new = replace(new, x=xy[parent][0] + step, y=xy[parent][1] - step)
    feeder = replace(f, buses=(*f.buses, new), lines=(*f.lines, line))
    return replace(s, feeder=feeder), bus_id


def removing_bus(s: Scenario, bus: str) -> Scenario:
    """Remove a leaf bus with its line and its prosumers (a bus with buses below it cannot go)."""
    from core.errors import Problem, ScenarioError

    f = s.feeder
    if bus == f.substation.bus:
        raise ScenarioError(Problem("feeder.substation.bus", "the substation bus cannot be removed"))
    touching = [ln for ln in f.lines if bus in (ln.from_bus, ln.to_bus)]
    if len(touching) > 1:
        raise ScenarioError(
            Problem(
                "feeder.buses",
                f"bus '{bus}' has {len(touching) - 1} bus(es) below it: remove those first",
                row=f.bus_index().get(bus),
                row_id=bus,
            )
        )
    feeder = replace(
        f,
        buses=tuple(b for b in f.buses if b.id != bus),
        lines=tuple(ln for ln in f.lines if ln not in touching),
    )
    return replace(s, feeder=feeder, prosumers=tuple(p for p in s.prosumers if p.bus != bus))
