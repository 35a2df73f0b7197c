"""The variants a point asks for: PV penetration, demand scale, bid shading, Monte Carlo noise (pure functions)."""

from __future__ import annotations

import zlib
from dataclasses import replace
from typing import Any

import numpy as np

from core.scenario.model import Asset, Prosumer, Scenario, TimeHorizon
from core.study.spec import PV_MAX_SCALE, PointOptions, StudyPoint


def peak_demand_kw(s: Scenario) -> float:
    """The feeder's coincident peak demand ``max_t Σ_i (d_{i,t} + d^max_{i,t})`` in kW (fixed + flexible)."""
    total = np.zeros(s.periods)
    for p in s.prosumers:
        total += np.asarray(p.demand_kw, dtype=float)
        if p.flexible is not None:
            total += np.asarray(p.flexible.d_max_kw, dtype=float)
    return float(total.max()) if total.size else 0.0


def _bus_peaks(s: Scenario) -> dict[str, float]:
    per_bus: dict[str, np.ndarray] = {}
    for p in s.prosumers:
        d = np.asarray(p.demand_kw, dtype=float)
        if p.flexible is not None:
            d = d + np.asarray(p.flexible.d_max_kw, dtype=float)
        per_bus[p.bus] = per_bus.get(p.bus, np.zeros(s.periods)) + d
    return {b: float(v.max()) for b, v in per_bus.items() if v.max() > 0}


def solar_profile(h: TimeHorizon) -> tuple[float, ...]:
    """Clear-sky PV availability per period from the horizon's clock (:func:`core.scenario.generate.solar_shape`).

    ``0.9·max(0, sin(π(h − 6)/13))^1.3`` at the middle ``h`` of each period (hours): sunrise 6:00, sunset 19:00.
    """
    hours = (h.start_hour + (np.arange(h.periods) + 0.5) * h.step_h) % 24.0
    return tuple(float(v) for v in 0.9 * np.clip(np.sin(np.pi * (hours - 6.0) / 13.0), 0.0, None) ** 1.3)


def _scale_pv(p: Prosumer, factor: float) -> Prosumer:
    a = p.asset
    ramp = None if a.ramp_kw_per_period is None else a.ramp_kw_per_period * factor
    asset = replace(a, p_max_kw=a.p_max_kw * factor, ramp_kw_per_period=ramp if ramp else None)
    bids = tuple(replace(b, quantity_kwh=b.quantity_kwh * factor) if b.side == "sell" else b for b in p.bids)
    return replace(p, asset=asset, bids=tuple(b for b in bids if b.quantity_kwh > 0))


def with_pv_penetration(s: Scenario, penetration: float, seed: int = 0) -> Scenario:
    """``s`` with total PV capacity ``penetration × peak_demand_kw(s)`` (kW).

    Every PV asset is scaled by the same factor ``target / C₀`` (``C₀``: the
    project's PV capacity), its ramp limit and explicit sell blocks with it
    (penetration 0 removes all PV output). When that factor would exceed
    :data:`PV_MAX_SCALE` — or the project has no PV — existing PV is scaled by
    :data:`PV_MAX_SCALE` (if any) and the rest comes from new PV prosumers
    ``pv-study-<bus>`` at load buses that have no PV yet, picked in a seeded
    random order (``seed``); each is sized at its bus's peak demand, the last
    one at what is left (if every such bus gets one and capacity is still
    missing, they are all scaled up). A new prosumer copies the efficiency,
    cost and availability of the project's first PV asset, or has efficiency
    0.97, no cost and :func:`solar_profile`. The same seed adds the same sites,
    and a higher penetration adds a superset of a lower one's sites.
    """
    target = float(penetration) * peak_demand_kw(s)
    pv = [i for i, p in enumerate(s.prosumers) if p.asset is not None and p.asset.kind == "pv"]
    c0 = float(sum(s.prosumers[i].asset.p_max_kw for i in pv))
    have_pv = {s.prosumers[i].bus for i in pv}
    peaks = _bus_peaks(s)
    order = {b.id: k for k, b in enumerate(s.feeder.buses)}
    candidates = sorted((b for b in peaks if b not in have_pv and b != s.feeder.substation.bus), key=order.get)
    if c0 > 0 and (target <= PV_MAX_SCALE * c0 or not candidates):
        factor, rest = target / c0, 0.0
    else:
        factor = PV_MAX_SCALE if c0 > 0 else 0.0
        rest = target - factor * c0
    items = list(s.prosumers)
    for i in pv:
        items[i] = _scale_pv(items[i], factor)
    if rest > 1e-12 and candidates:
        rng = np.random.default_rng([seed, 0x5056])
        sites = [candidates[int(k)] for k in rng.permutation(len(candidates))]
        sizes: list[tuple[str, float]] = []
        left = rest
        for bus in sites:
            size = min(peaks[bus], left)
            sizes.append((bus, size))
            left -= size
            if left <= 1e-12:
                break
        if left > 1e-12:
            grow = rest / (rest - left)
            sizes = [(b, c * grow) for b, c in sizes]
        template = s.prosumers[pv[0]].asset if pv else None
        taken = {p.id for p in items}
        for bus, size in sizes:
            pid = f"pv-study-{bus}"
            while pid in taken:
                pid += "'"
            taken.add(pid)
            asset = Asset(
                kind="pv",
                p_max_kw=float(size),
                efficiency=template.efficiency if template else 0.97,
                cost_a_per_kw2h=template.cost_a_per_kw2h if template else 0.0,
                cost_b_per_kwh=template.cost_b_per_kwh if template else 0.0,
                availability_pu=template.availability_pu if template else solar_profile(s.horizon),
            )
            items.append(
                Prosumer(id=pid, bus=bus, demand_kw=(0.0,) * s.periods, name=f"Study PV at bus {bus}", asset=asset)
            )
    return replace(s, prosumers=tuple(items))


def scale_demand(s: Scenario, factor: float) -> Scenario:
    """``s`` with every demand times ``factor``: fixed demand (kW and kvar), flexible ``d^max`` and the
    quantities of explicit buy blocks."""
    f = float(factor)
    if f == 1.0:
        return s

    def scaled(p: Prosumer) -> Prosumer:
        flex = p.flexible
        if flex is not None:
            flex = replace(flex, d_max_kw=tuple(v * f for v in flex.d_max_kw))
        kvar = None if p.demand_kvar is None else tuple(v * f for v in p.demand_kvar)
        bids = tuple(replace(b, quantity_kwh=b.quantity_kwh * f) if b.side == "buy" else b for b in p.bids)
        return replace(p, demand_kw=tuple(v * f for v in p.demand_kw), demand_kvar=kvar, flexible=flex, bids=bids)

    return replace(s, prosumers=tuple(scaled(p) for p in s.prosumers))


def shade_bids(s: Scenario, shading: float) -> Scenario:
    """``s`` as declared by agents who shade by ``shading`` = s ∈ (−1, 1) (:func:`core.properties.shaded`).

    Sellers ask ``(1+s)×`` their truthful price and buyers bid ``(1−s)×``:
    a DER's cost coefficients ``a, b`` are multiplied by ``1+s`` (so its
    marginal-cost asks are), a flexible load's value coefficients by ``1−s``
    (its marginal-value bids), and an explicit block's price ``p`` becomes
    ``p + s|p|`` (ask) or ``p − s|p|`` (bid). Fixed demand bids at the retail
    tariff and the asks' floor at the feed-in tariff are reservation prices,
    not shaded. The clearing then sees these declared curves; since declared
    cost = (1+s)·true cost and declared value = (1−s)·true value, the true
    welfare of the outcome is recovered exactly (:func:`run_point`).
    """
    sh = float(shading)
    if sh == 0.0:
        return s
    up, down = 1.0 + sh, 1.0 - sh

    def shaded(p: Prosumer) -> Prosumer:
        a, flex = p.asset, p.flexible
        if a is not None:
            a = replace(a, cost_a_per_kw2h=a.cost_a_per_kw2h * up, cost_b_per_kwh=a.cost_b_per_kwh * up)
        if flex is not None:
            flex = replace(
                flex, value_a_per_kw2h=flex.value_a_per_kw2h * down, value_b_per_kwh=flex.value_b_per_kwh * down
            )
        bids = tuple(
            replace(
                b,
                price_per_kwh=b.price_per_kwh + sh * abs(b.price_per_kwh)
                if b.side == "sell"
                else b.price_per_kwh - sh * abs(b.price_per_kwh),
            )
            for b in p.bids
        )
        return replace(p, asset=a, flexible=flex, bids=bids)

    return replace(s, prosumers=tuple(shaded(p) for p in s.prosumers))


def _factor(z, std: float):
    """Multiplicative noise with mean 1: ``exp(σz − σ²/2)``."""
    return np.exp(std * np.asarray(z) - 0.5 * std * std)


def perturb(
    s: Scenario, seed: int, draw: int, demand_std: float = 0.0, pv_std: float = 0.0, bid_std: float = 0.0
) -> Scenario:
    """Monte Carlo draw ``draw`` of ``s``: multiplicative noise ``exp(σz − σ²/2)`` (mean 1), ``z ~ N(0, 1)``.

    Each prosumer's noise comes from its own stream, seeded by ``(seed, draw,
    CRC-32 of its id)``, so draw d of every point of a study sees the same
    noise (common random numbers: differences between mechanisms are not
    noise) whatever the prosumers around it:

    * ``demand_std``: per period, on its fixed demand (kW and kvar) and flexible ``d^max``;
    * ``pv_std``: per period, on a PV asset's availability (clipped to [0, 1]; none given = 1);
    * ``bid_std``: one factor on its cost and value coefficients and its explicit bid prices.
    """
    if demand_std <= 0 and pv_std <= 0 and bid_std <= 0:
        return s
    T = s.periods

    def noisy(p: Prosumer) -> Prosumer:
        rng = np.random.default_rng([seed, draw, zlib.crc32(p.id.encode())])
        zd, zp, zb = rng.standard_normal(T), rng.standard_normal(T), float(rng.standard_normal())
        changes: dict[str, Any] = {}
        if demand_std > 0:
            fd = _factor(zd, demand_std)
            changes["demand_kw"] = tuple(float(v) for v in np.asarray(p.demand_kw) * fd)
            if p.demand_kvar is not None:
                changes["demand_kvar"] = tuple(float(v) for v in np.asarray(p.demand_kvar) * fd)
            if p.flexible is not None:
                changes["flexible"] = replace(
                    p.flexible, d_max_kw=tuple(float(v) for v in np.asarray(p.flexible.d_max_kw) * fd)
                )
        a = p.asset
        if pv_std > 0 and a is not None and a.kind == "pv":
            base = np.ones(T) if a.availability_pu is None else np.asarray(a.availability_pu, dtype=float)
            avail = np.clip(base * _factor(zp, pv_std), 0.0, 1.0)
            a = replace(a, availability_pu=tuple(float(v) for v in avail))
        if bid_std > 0:
            fb = float(_factor(zb, bid_std))
            if a is not None:
                a = replace(a, cost_a_per_kw2h=a.cost_a_per_kw2h * fb, cost_b_per_kwh=a.cost_b_per_kwh * fb)
            flex = changes.get("flexible", p.flexible)
            if flex is not None:
                changes["flexible"] = replace(
                    flex, value_a_per_kw2h=flex.value_a_per_kw2h * fb, value_b_per_kwh=flex.value_b_per_kwh * fb
                )
            changes["bids"] = tuple(replace(b, price_per_kwh=b.price_per_kwh * fb) for b in p.bids)
        if a is not p.asset:
            changes["asset"] = a
        return replace(p, **changes) if changes else p

    return replace(s, prosumers=tuple(noisy(p) for p in s.prosumers))


def build_variant(base: Scenario, point: StudyPoint, options: PointOptions) -> tuple[Scenario, Scenario]:
    """(truth, declared): the point's scenario before and after bid shading.

    In order: :func:`with_pv_penetration`, :func:`scale_demand`, the draw's
    noise (:func:`perturb`, when ``[draws]`` has a noise level above 0) — the
    truth — then :func:`shade_bids` — what the market sees.
    """
    s = base
    pen = point.get("pv_penetration")
    if pen is not None:
        s = with_pv_penetration(s, pen, options.seed)
    s = scale_demand(s, point.get("demand_scale"))
    d = options.draws
    if d.noisy:
        s = perturb(s, options.seed, point.draw, d.demand_std, d.pv_std, d.bid_std)
    return s, shade_bids(s, point.get("bid_shading"))
