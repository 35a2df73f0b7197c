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

from dataclasses import dataclass
from functools import cached_property

import networkx as nx
import numpy as np
import scipy.sparse as sp

from core.scenario.model import Scenario


@dataclass(frozen=True, eq=False)
class Radial:
    """A radial feeder in breadth-first order. Index 0 is the substation.

    ``bus_ids[k]`` is the scenario id of bus k; ``line_ids[k]`` the id of the line
    from ``parent[k]`` into bus k (``""`` for the substation). ``rating_pu[k]``
    is that line's apparent-power rating in p.u. (``inf`` if unrated).
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

    def __post_init__(self) -> None:
        n = len(self.bus_ids)
        for name, fill in (("tap", 1.0), ("g_sh_pu", 0.0), ("b_sh_pu", 0.0)):
            if getattr(self, name) is None:
                object.__setattr__(self, name, np.full(n, fill))

    @property
    def has_shunts_or_taps(self) -> bool:
        return bool(np.any(self.tap != 1.0) or np.any(self.g_sh_pu != 0.0) or np.any(self.b_sh_pu != 0.0))

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
        over subtrees: ``flow = Aᵀ·load``.
        """
        rows, cols = [], []
        for k in range(1, self.n):
            j = k
            while j > 0:
                rows.append(k)
                cols.append(j)
                j = int(self.parent[j])
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
        d = np.zeros(self.n, dtype=int)
        for k in range(1, self.n):
            d[k] = d[self.parent[k]] + 1
        return d

    @cached_property
    def electrical_distance_pu(self) -> np.ndarray:
        """|Z| of the path from the substation to each bus (p.u.): how far a bus is, electrically."""
        z = np.hypot(self.r_pu, self.x_pu)
        return np.asarray(self.path @ z).ravel()


def radial(s: Scenario) -> Radial:
    """The scenario's feeder as a :class:`Radial` (the scenario is valid, so it is a tree)."""
    f = s.feeder
    g = nx.Graph()
    g.add_nodes_from(b.id for b in f.buses)
    line_of: dict[frozenset, object] = {}
    for ln in f.lines:
        g.add_edge(ln.from_bus, ln.to_bus)
        line_of[frozenset((ln.from_bus, ln.to_bus))] = ln
    root = f.substation.bus
    order = [root] + [v for _, v in nx.bfs_edges(g, root)]
    idx = {b: k for k, b in enumerate(order)}
    parent = np.full(len(order), -1, dtype=int)
    for u, v in nx.bfs_edges(g, root):
        parent[idx[v]] = idx[u]
    n = len(order)
    zb = f.base_z_ohm
    r = np.zeros(n)
    x = np.zeros(n)
    rating = np.full(n, np.inf)
    rev = np.zeros(n, dtype=bool)
    line_ids = [""] * n
    for k in range(1, n):
        ln = line_of[frozenset((order[parent[k]], order[k]))]
        r[k] = ln.r_ohm / zb
        x[k] = ln.x_ohm / zb
        kva = ln.rating_kva_at(f.base_kv)
        rating[k] = np.inf if kva is None else kva / f.base_kva
        rev[k] = ln.from_bus != order[parent[k]]
        line_ids[k] = ln.id
    buses = {b.id: b for b in f.buses}
    vmin = np.array([buses[b].v_min_pu if buses[b].v_min_pu is not None else f.v_min_pu for b in order])
    vmax = np.array([buses[b].v_max_pu if buses[b].v_max_pu is not None else f.v_max_pu for b in order])
    return Radial(
        bus_ids=tuple(order), line_ids=tuple(line_ids), parent=parent, r_pu=r, x_pu=x, rating_pu=rating,
        v_min_pu=vmin, v_max_pu=vmax, v0_pu=f.substation.v_set_pu, base_kva=f.base_kva, base_kv=f.base_kv,
        reversed_line=rev,
    )


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
