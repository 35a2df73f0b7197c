"""The radial feeder as arrays, oriented from the substation down ("Modeling the Physical Network").

Every bus but the substation has exactly one parent; the line into bus ``j``
is line ``j`` of the arrays here (``r_pu[j]``, ``x_pu[j]``: the impedance from
``parent[j]`` to ``j``). Buses are numbered in breadth-first order from the
substation (bus 0), so every parent comes before its children: a backward
sweep is a loop from the end, a forward sweep a loop from the start — or, as
here, sparse triangular solves with the path matrix.

Per unit on the feeder's base: ``Z_base = V_base²/S_base``; powers in p.u. of
``base_kva``; voltages in p.u. of ``base_kv``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from operator import itemgetter

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order

from core.scenario.model import Scenario


@dataclass(frozen=True, eq=False)
class Radial:
    """A radial feeder in breadth-first order. Index 0 is the substation.

    ``bus_ids[k]`` is the scenario id of bus k; ``line_ids[k]`` the id of the line
    from ``parent[k]`` into bus k (``""`` for the substation). ``rating_pu[k]``
    is that line's apparent-power rating in p.u. (``inf`` if unrated).

    **Line j** (from ``i = parent[j]`` into ``j``; entry 0 of every per-line array unused) is,
    in this order from bus i: an ideal transformer of complex ratio
    ``t_j = tap[j]·e^{j·shift_deg[j]·π/180}`` (``1`` for a plain line), then the series
    impedance ``z_j = r_pu[j] + j·x_pu[j]`` on its child side, then bus j::

        V_j = V_i/t_j − z_j·J_j        J_j: the series current, from i towards j
        I_i→j = J_j/conj(t_j)           the current the line draws from bus i

    so ``|V_i|/tap[j]`` is what the series impedance sees at its sending end, and the
    power sent into the series impedance, ``S_j = (V_i/t_j)·conj(J_j)``, is also what
    leaves bus i (an ideal transformer is lossless). ``r_pu``/``x_pu`` are the exact
    π equivalent of what the scenario gives (for a transformer with a magnetising branch,
    its T model converted: slightly different from the short-circuit impedance). The ideal
    transformer is always at the parent end here: a transformer the scenario lists from
    child to parent (``reversed_line[j]``, its ratio ``τ·e^{jφ}`` at the child) is turned
    round exactly, ``tap = 1/τ``, ``shift_deg = −φ`` and ``z = τ²·z_π``.

    **Shunts** are lumped at the buses: ``g_sh_pu[k] + j·b_sh_pu[k]`` is the admittance to
    ground at bus k, drawing ``P = g·|V_k|²`` and ``Q = −b·|V_k|²`` (capacitive ``b > 0``
    supplies reactive power): the bus's own shunt, plus the π-model end shunts of every
    line touching k — line charging halves and transformers' magnetising branches — each
    already referred to bus k (an end shunt behind line j's ideal transformer, on its
    series side, appears at bus ``parent[j]`` divided by ``tap[j]²``). Which part of that
    each line brings is ``line_y_parent_pu[j]`` (at bus ``parent[j]``) and
    ``line_y_child_pu[j]`` (at bus j), complex ``g + jb``, for reporting a line's flows at
    its terminals as pandapower does; the bus arrays already include them.

    Defaults: no transformers and no shunts (``tap = 1``, ``shift_deg = 0``, zeros).
    """

    bus_ids: tuple[str, ...]
    line_ids: tuple[str, ...]
    parent: np.ndarray  # int, parent[0] = -1
    r_pu: np.ndarray  # r_pu[0] = 0
    x_pu: np.ndarray
    rating_pu: np.ndarray
    v_min_pu: np.ndarray  # per bus
    v_max_pu: np.ndarray
    v0_pu: float  # substation set-point
    base_kva: float
    base_kv: float
    reversed_line: np.ndarray  # bool: the scenario lists the line to → from relative to this orientation
    # transformers and shunts (defaults: none). tap[j]: the off-nominal ratio τ of an ideal transformer at the
    # parent end of line j (the series impedance is on the child side: the child sees |V_parent|/τ before the
    # impedance drop); g_sh_pu/b_sh_pu[k]: the shunt admittance y = g + jb to ground at bus k (p.u.; line
    # charging halves and transformers' magnetising branches lumped at their buses): it draws P = g·|V_k|² and
    # Q = −b·|V_k|² (a capacitive b > 0 supplies reactive power)
    tap: np.ndarray | None = None
    g_sh_pu: np.ndarray | None = None
    b_sh_pu: np.ndarray | None = None
    # shift_deg[j]: the phase shift of line j's ideal transformer (the child side lags the parent side by it):
    # angles only. line_y_parent_pu/line_y_child_pu[j]: line j's own share of the bus shunts (complex g + jb)
    shift_deg: np.ndarray | None = None
    line_y_parent_pu: np.ndarray | None = None
    line_y_child_pu: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.bus_ids)
        for name, fill in (("tap", 1.0), ("g_sh_pu", 0.0), ("b_sh_pu", 0.0), ("shift_deg", 0.0)):
            if getattr(self, name) is None:
                object.__setattr__(self, name, np.full(n, fill))
        for name in ("line_y_parent_pu", "line_y_child_pu"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, np.zeros(n, dtype=np.complex128))

    @property
    def has_shunts_or_taps(self) -> bool:
        return bool(
            np.any(self.tap != 1.0)
            or np.any(self.g_sh_pu != 0.0)
            or np.any(self.b_sh_pu != 0.0)
            or np.any(self.shift_deg != 0.0)
        )

    @property
    def n(self) -> int:
        return len(self.bus_ids)

    @cached_property
    def index(self) -> dict[str, int]:
        return {b: k for k, b in enumerate(self.bus_ids)}

    @cached_property
    def path(self) -> sp.csr_matrix:
        """``A[k, j] = 1`` when line j (into bus j) is on the path from the substation to bus k (j, k ≥ 1).

        Voltage drops add up along paths: ``v = v0 − A·drop``; line flows add up
        over subtrees: ``flow = Aᵀ·load``. Built a generation at a time (one numpy
        step per level of the tree, not a loop over buses).
        """
        rows, cols = _ancestors(self.parent)
        return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(self.n, self.n))

    @cached_property
    def incidence(self) -> sp.csr_matrix:
        """``C[j, k]``: +1 at the line's sending bus ``parent[j]``, −1 at its receiving bus ``j`` (lines × buses)."""
        j = np.arange(1, self.n)
        rows = np.concatenate([j, j])
        cols = np.concatenate([self.parent[1:], j])
        vals = np.concatenate([np.ones(self.n - 1), -np.ones(self.n - 1)])
        return sp.csr_matrix((vals, (rows, cols)), shape=(self.n, self.n))

    @cached_property
    def depth(self) -> np.ndarray:
        """The number of lines from the substation to each bus."""
        rows, _ = _ancestors(self.parent)
        return np.bincount(rows, minlength=self.n)

    @cached_property
    def electrical_distance_pu(self) -> np.ndarray:
        """|Z| of the path from the substation to each bus (p.u.): how far a bus is, electrically."""
        z = np.hypot(self.r_pu, self.x_pu)
        return np.asarray(self.path @ z).ravel()


def _ancestors(parent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, cols)``: bus ``rows[i]`` has line ``cols[i]`` on its path from the substation (each bus ≥ 1
    with itself and every ancestor but bus 0), built one generation at a time."""
    n = len(parent)
    k = np.arange(1, n)
    cur = k
    rows, cols = [], []
    while k.size:
        rows.append(k)
        cols.append(cur)
        cur = parent[cur]
        keep = cur > 0
        k, cur = k[keep], cur[keep]
    if not rows:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    return np.concatenate(rows), np.concatenate(cols)


def _bfs(n: int, a: np.ndarray, b: np.ndarray, root: int) -> tuple[np.ndarray, np.ndarray]:
    """Breadth-first order and predecessors of the tree with edges ``a[l]–b[l]``, from ``root``.

    Each bus's neighbours are visited in the order of the lines' file order (the order
    a networkx graph built line by line would visit them), so the numbering is the one
    a plain queue-based search gives; the search itself is scipy's compiled one.
    """
    m = len(a)
    rows = np.concatenate([a, b])
    cols = np.concatenate([b, a])
    lid = np.concatenate([np.arange(m), np.arange(m)])
    perm = np.lexsort((lid, rows))
    indptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    g = sp.csr_matrix((np.ones(2 * m), cols[perm].astype(np.int32), indptr), shape=(n, n))
    order, pred = breadth_first_order(g, root, directed=True, return_predecessors=True)
    return order, pred


def radial(s: Scenario) -> Radial:
    """The scenario's feeder as a :class:`Radial` (the scenario is valid, so it is a tree).

    Per unit on ``Z_base = V_base²/S_base``: ``r_pu = r_ohm/Z_base``, shunts ``y_pu = Y·Z_base``
    (µS·10⁻⁶). A line's shunt ``g_shunt_us + j·b_shunt_us`` goes half to each end. A
    transformer (:class:`~core.scenario.model.Transformer`) is its T model converted
    exactly to a π (the wye–delta transform): with ``z`` its series impedance split in
    two halves and ``y_m`` the magnetising branch between them,

        z_π = z + (z/2)²·y_m,      y_end = (z/2)·y_m / z_π   at each end (series side),

    and ``t = tap_ratio·e^{j·shift}``. A transformer listed with its ideal transformer at
    the child end (``from_bus`` below ``to_bus``) is turned round exactly: the parent
    end gets ``1/t`` and the series impedance becomes ``|t|²·z_π``. End shunts on the
    series side of the ideal transformer are divided by ``|t|²`` at their bus.
    """
    f = s.feeder
    buses, lines = f.buses, f.lines
    n = len(buses)
    # the records' fields, one list comprehension each (the cheapest way through frozen dataclasses), and
    # look-ups through operator.itemgetter (a loop in C)
    ids = [bb.id for bb in buses]
    where = dict(zip(ids, range(n), strict=True))
    root = where[f.substation.bus]
    a = np.array(_pick(where, [ln.from_bus for ln in lines]), dtype=np.intp)
    b = np.array(_pick(where, [ln.to_bus for ln in lines]), dtype=np.intp)
    order, pred = _bfs(n, a, b, root)
    pos = np.empty(n, dtype=np.intp)
    pos[order] = np.arange(n)
    parent = np.full(n, -1, dtype=int)
    parent[1:] = pos[pred[order[1:]]]
    # each line's child (its end farther from the substation) and its place in breadth-first order
    from_is_child = pred[a] == b
    k = pos[np.where(from_is_child, a, b)]
    line_at = np.zeros(n, dtype=np.intp)  # the file index of the line into each bus
    line_at[k] = np.arange(len(lines))
    zb = f.base_z_ohm
    r = np.zeros(n)
    x = np.zeros(n)
    r[k] = np.array([ln.r_ohm for ln in lines], dtype=float) / zb
    x[k] = np.array([ln.x_ohm for ln in lines], dtype=float) / zb
    r_kva = _optional([ln.rating_kva for ln in lines])
    r_a = _optional([ln.rating_a for ln in lines])
    kva = np.fmin(r_kva, (math.sqrt(3.0) * f.base_kv) * r_a)  # Line.rating_kva_at, every line at once
    rating = np.full(n, np.inf)
    rating[k] = np.where(np.isnan(kva), np.inf, kva / f.base_kva)
    rev = np.zeros(n, dtype=bool)
    rev[k] = from_is_child
    line_ids = ("", *_pick([ln.id for ln in lines], line_at[1:].tolist()))
    bus_ids = tuple(_pick(ids, order.tolist()))
    vmin = _optional([bb.v_min_pu for bb in buses], f.v_min_pu)[order]
    vmax = _optional([bb.v_max_pu for bb in buses], f.v_max_pu)[order]
    extra = _transformers_and_shunts(f, order, k, from_is_child, zb, r, x, parent)
    return Radial(
        bus_ids=bus_ids,
        line_ids=line_ids,
        parent=parent,
        r_pu=r,
        x_pu=x,
        rating_pu=rating,
        v_min_pu=vmin,
        v_max_pu=vmax,
        v0_pu=f.substation.v_set_pu,
        base_kva=f.base_kva,
        base_kv=f.base_kv,
        reversed_line=rev,
        **extra,
    )


def _pick(items, keys: list) -> list:
    """``[items[k] for k in keys]``, the loop in C."""
    if len(keys) < 2:
        return [items[k] for k in keys]
    return list(itemgetter(*keys)(items))


def _optional(values: list, default: float = math.nan) -> np.ndarray:
    """Floats, ``None`` replaced by ``default``."""
    none = values.count(None)
    if none == 0:
        return np.array(values, dtype=float)
    if none == len(values):
        return np.full(len(values), default)
    return np.array([default if v is None else v for v in values], dtype=float)


def _transformers_and_shunts(f, order, k, from_is_child, zb, r, x, parent) -> dict:
    """The taps, phase shifts and shunts of :class:`Radial` (``r``/``x`` are changed in place for
    transformers); an empty dict when the feeder has none (the defaults)."""
    lines, buses = f.lines, f.buses
    n, m = len(buses), len(lines)
    special = [ln for ln in lines if ln.transformer is not None or ln.g_shunt_us or ln.b_shunt_us]
    if not special and not [bb for bb in buses if bb.g_shunt_us or bb.b_shunt_us]:
        return {}  # the usual feeder: one quick pass over the records
    trafos = [ln.transformer for ln in lines]
    g_line = np.array([ln.g_shunt_us for ln in lines], dtype=float)
    b_line = np.array([ln.b_shunt_us for ln in lines], dtype=float)
    g_bus = np.array([bb.g_shunt_us for bb in buses], dtype=float)[order]
    b_bus = np.array([bb.b_shunt_us for bb in buses], dtype=float)[order]
    trafo = [] if trafos.count(None) == m else [i for i, q in enumerate(trafos) if q is not None]
    # per line in file order: the π (series z, end shunts on the series side) and the ratio at the from end
    z = (r[k] + 1j * x[k]).astype(np.complex128)
    y_half = (g_line + 1j * b_line) * 1e-6 * zb / 2.0
    y_from = y_half.copy()
    y_to = y_half.copy()
    tau = np.ones(m)
    phi = np.zeros(m)
    if trafo:
        ti = np.array(trafo)
        tr = [trafos[i] for i in trafo]
        ym = np.array([complex(q.g_mag_us, q.b_mag_us) for q in tr]) * 1e-6 * zb
        z_pi, y_end = t_to_pi(z[ti], ym)
        z[ti] = z_pi
        y_from[ti] += y_end
        y_to[ti] += y_end
        tau[ti] = [q.tap_ratio for q in tr]
        phi[ti] = [q.shift_deg for q in tr]
    t2 = tau * tau
    y_from_bus = y_from / t2  # the from end's shunt sits behind the ideal transformer
    # in Radial orientation: the ideal transformer at the parent end
    fc = from_is_child
    z_par = np.where(fc, t2 * z, z)
    y_parent = np.where(fc, y_to, y_from_bus)
    y_child = np.where(fc, y_from_bus, y_to)
    tap = np.ones(n)
    shift = np.zeros(n)
    tap[k] = np.where(fc, 1.0 / tau, tau)
    shift[k] = np.where(fc, -phi, phi)
    if trafo:  # plain lines keep r_ohm/Z_base exactly
        r[k[ti]] = z_par[ti].real
        x[k[ti]] = z_par[ti].imag
    ly_par = np.zeros(n, dtype=np.complex128)
    ly_ch = np.zeros(n, dtype=np.complex128)
    ly_par[k] = y_parent
    ly_ch[k] = y_child
    y_bus = (g_bus + 1j * b_bus) * 1e-6 * zb + ly_ch
    y_bus += np.bincount(parent[k], weights=y_parent.real, minlength=n)
    y_bus += 1j * np.bincount(parent[k], weights=y_parent.imag, minlength=n)
    return {
        "tap": tap,
        "shift_deg": shift,
        "g_sh_pu": y_bus.real.copy(),
        "b_sh_pu": y_bus.imag.copy(),
        "line_y_parent_pu": ly_par,
        "line_y_child_pu": ly_ch,
    }


def t_to_pi(z, y_m):
    """The exact π equivalent of a transformer's T model (the wye–delta transform; arrays or numbers).

    The T: half the series impedance ``z/2``, the magnetising branch ``y_m`` to ground, the other
    half. The π: series ``z_π = z + (z/2)²·y_m`` and ``y_end = (z/2)·y_m/z_π`` to ground at each end
    (pandapower's ``trafo_model="t"`` does the same). ``y_m = 0`` gives ``z_π = z``, ``y_end = 0``.
    Returns ``(z_π, y_end)`` in the units of ``z`` and ``1/z``.
    """
    half = z / 2.0
    z_pi = z + half * half * y_m
    return z_pi, half * y_m / z_pi


def bus_injections_kw(s: Scenario, t: int, net: Radial | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Net injections (generation − demand) per bus in period ``t``, kW and kvar, as given in the file.

    Demand is each prosumer's fixed demand (kvar from its profile or power
    factor). Generation is each DER at its available capacity times ``η`` for
    PV and wind (they produce what the sun and wind give), and zero for
    dispatchable units and storage (their output is the market's decision).
    """
    net = net or radial(s)
    p = np.zeros(net.n)
    q = np.zeros(net.n)
    for pr in s.prosumers:
        k = net.index[pr.bus]
        p[k] -= pr.demand_kw[t]
        q[k] -= pr.reactive_kvar(t)
        a = pr.asset
        if a is not None and a.kind in ("pv", "wind"):
            p[k] += a.efficiency * a.p_max_at(t)
    return p, q
