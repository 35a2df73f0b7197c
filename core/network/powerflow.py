"""Power flow on a radial feeder: exact AC, LinDistFlow and DC; marginal loss factors; loss-neutral P2P trades.

Chapter sections: "Modeling the Physical Network" (the three models) and
"Pricing under Physical Constraints: Distribution Locational Marginal Prices"
(marginal loss factors and the loss-neutral settlement of a P2P trade).

Conventions
-----------
* Arrays follow :class:`~core.network.topology.Radial`: breadth-first order,
  index 0 is the substation (the slack bus, ``|V| = net.v0_pu``, angle 0).
  Line ``j`` is the line from ``parent[j]`` into bus ``j``; entry 0 of a
  per-line array is unused (0, or NaN for a loading).
* ``p_kw``/``q_kvar`` given to a solver are **net injections** per bus
  (generation − demand, kW/kvar), as :func:`~core.network.topology.bus_injections_kw`
  returns them. Loads are constant power. The substation's own entry is
  served by the grid directly: it flows through no line.
* Per unit on the feeder's base: ``s = p/base_kva``; line currents in A at the
  feeder's voltage, ``I_base = base_kva / (√3·base_kv)``.
* Line flows are taken at the sending end, from the parent (substation side)
  to the child: positive means power flows away from the substation.
* Transformers and shunts as :class:`~core.network.topology.Radial` holds them:
  an ideal transformer of ratio ``tap·e^{j·shift}`` at the parent end of a line,
  the series impedance on its child side; shunts lumped at the buses.

The AC solver is the backward/forward sweep on complex currents, written
with the path matrix ``A`` (``A[k, j] = 1`` when line ``j`` is on the path
from the substation to bus ``k``, :attr:`Radial.path`): branch currents are
subtree sums ``J = Aᵀ·i`` and voltages are the slack voltage minus the drops
along the path, ``V = V0 − A·(z∘J)``. Both products are computed as sparse
triangular solves with ``U = I − M`` (``M[parent[j], j] = 1``, ``A = U⁻ᵀ``
without bus 0), O(n) on any tree however deep. There is no Python loop over
buses.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from core.network.topology import Radial, bus_injections_kw, radial
from core.scenario.model import Scenario

MODELS: tuple[str, ...] = ("ac", "lindistflow", "dc")
"""The power flow models :func:`flow` knows."""

MODEL_TITLES: dict[str, str] = {
    "ac": "exact AC power flow (backward/forward sweep)",
    "lindistflow": "LinDistFlow (Baran–Wu linearisation, lossless flows)",
    "dc": "DC power flow (transmission approximation: |V| fixed, R ignored)",
}


# ---------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FlowResult:
    """The solution of a power flow on a radial feeder (arrays in :class:`Radial` order).

    Per bus ``k``: ``v_pu`` (magnitude), ``angle_deg``, and the net injections
    ``p_inj_kw``/``q_inj_kvar`` (generation − demand; at the substation, what
    bus 0 injects into its lines, i.e. the grid's supply plus any local net
    injection). Per line ``j`` (the line into bus ``j``; entry 0 unused):
    ``p_kw``/``q_kvar`` at the sending end from ``parent[j]`` to ``j`` (at the
    parent bus's terminal: through the line's ideal transformer, if any, and
    including the line's own end shunt there), ``i_a`` the magnitude of the
    series current in A at the feeder's base voltage, ``loss_kw = r·|I|²`` plus
    what the line's own shunts draw (iron losses, line conductance),
    ``loss_kvar = x·|I|²`` plus its shunts' (line charging: negative) and
    ``loading_pct = 100·|S_sending|/S_rating`` (NaN when the line is unrated).
    ``total_loss_kw = Σ loss_kw`` plus what the buses' own shunts draw;
    ``grid_p_kw``/``grid_q_kvar`` is what the upstream grid supplies at the
    substation. ``iterations`` is 0 for the linear (direct) models.

    ``bus_order``/``line_order`` are the scenario's ids in file order (set by
    :func:`flow`); the frames use them, or the breadth-first order without them.
    """

    model: str
    net: Radial
    v_pu: np.ndarray
    angle_deg: np.ndarray
    p_inj_kw: np.ndarray
    q_inj_kvar: np.ndarray
    p_kw: np.ndarray
    q_kvar: np.ndarray
    i_a: np.ndarray
    loss_kw: np.ndarray
    loss_kvar: np.ndarray
    loading_pct: np.ndarray
    total_loss_kw: float
    grid_p_kw: float
    grid_q_kvar: float
    iterations: int
    converged: bool
    bus_order: tuple[str, ...] | None = None
    line_order: tuple[str, ...] | None = None

    @property
    def v_complex_pu(self) -> np.ndarray:
        """The bus voltages as phasors ``|V|·e^{jθ}`` (p.u.)."""
        return self.v_pu * np.exp(1j * np.deg2rad(self.angle_deg))

    def bus_frame(self) -> pd.DataFrame:
        """One row per bus: ``bus, v_pu, angle_deg, p_inj_kw, q_inj_kvar`` (scenario order when known)."""
        net = self.net
        order = np.arange(net.n) if self.bus_order is None else np.array([net.index[b] for b in self.bus_order])
        return pd.DataFrame(
            {
                "bus": [net.bus_ids[k] for k in order],
                "v_pu": self.v_pu[order],
                "angle_deg": self.angle_deg[order] + 0.0,  # + 0.0: no "-0" in print-outs
                "p_inj_kw": self.p_inj_kw[order] + 0.0,
                "q_inj_kvar": self.q_inj_kvar[order] + 0.0,
            }
        )

    def line_frame(self) -> pd.DataFrame:
        """One row per line, oriented as in the scenario (``from_bus`` → ``to_bus``).

        Columns ``line, from_bus, to_bus, p_from_kw, q_from_kvar, p_to_kw,
        q_to_kvar, i_a, loss_kw, loss_kvar, loading_pct``. As in pandapower's
        ``res_line``, ``p_from_kw`` is the power flowing into the line at its
        from end and ``p_to_kw`` into it at its to end, so
        ``p_from_kw + p_to_kw = loss_kw``. Scenario order when known (set by
        :func:`flow`), else breadth-first order.
        """
        net = self.net
        if self.line_order is None:
            j = np.arange(1, net.n)
        else:
            where = {lid: k for k, lid in enumerate(net.line_ids) if k > 0}
            j = np.array([where[lid] for lid in self.line_order], dtype=int)
        rev = net.reversed_line[j]
        parent = net.parent[j]
        send_p, send_q = self.p_kw[j], self.q_kvar[j]
        recv_p, recv_q = send_p - self.loss_kw[j], send_q - self.loss_kvar[j]  # leaving the line at the child
        return pd.DataFrame(
            {
                "line": [net.line_ids[k] for k in j],
                "from_bus": [net.bus_ids[c] if r else net.bus_ids[p] for c, p, r in zip(j, parent, rev, strict=True)],
                "to_bus": [net.bus_ids[p] if r else net.bus_ids[c] for c, p, r in zip(j, parent, rev, strict=True)],
                "p_from_kw": np.where(rev, -recv_p, send_p) + 0.0,  # + 0.0: no "-0" in print-outs
                "q_from_kvar": np.where(rev, -recv_q, send_q) + 0.0,
                "p_to_kw": np.where(rev, send_p, -recv_p) + 0.0,
                "q_to_kvar": np.where(rev, send_q, -recv_q) + 0.0,
                "i_a": self.i_a[j],
                "loss_kw": self.loss_kw[j],
                "loss_kvar": self.loss_kvar[j],
                "loading_pct": self.loading_pct[j],
            }
        )

    @property
    def v_min_pu(self) -> float:
        """The lowest bus voltage magnitude (p.u.)."""
        return float(self.v_pu.min())

    @property
    def v_max_pu(self) -> float:
        """The highest bus voltage magnitude (p.u.)."""
        return float(self.v_pu.max())


# ---------------------------------------------------------------------------
# the sweeps: triangular solves with the parent matrix, cached per Radial
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Sweep:
    """The two sums along the tree, as O(n) triangular solves, and the feeder's transformers and shunts.

    With ``M[parent[j], j] = 1`` and ``U = I − M`` (upper triangular in
    breadth-first order, unit diagonal: its LU has no fill-in), the path
    matrix ``A`` of :attr:`Radial.path` is ``U⁻ᵀ`` without bus 0, so
    ``Aᵀ·b = U⁻¹·b`` (subtree sums) and ``A·d = U⁻ᵀ·d`` when ``d_0 = 0``
    (sums along the path from the substation). Unlike a product with ``A``,
    whose size grows with n × depth, a solve costs O(n) on any tree.

    ``ratio[k]`` is the product of the complex ratios ``t_j = tap_j·e^{j·shift_j}`` of the
    ideal transformers on the path to bus k (``None`` without transformers), ``ratio2 = |ratio|²``;
    ``y_bus`` the buses' shunt admittances ``g + jb`` and ``y_own`` the part of them that no line
    accounts for (the buses' own shunts), both ``None`` without shunts.
    """

    lu: spla.SuperLU
    ratio: np.ndarray | None = None
    ratio2: np.ndarray | None = None
    conj_ratio: np.ndarray | None = None
    t: np.ndarray | None = None
    y_bus: np.ndarray | None = None
    y_own: np.ndarray | None = None

    def subtree(self, b: np.ndarray) -> np.ndarray:
        """``x_j = Σ_{k in the subtree of j} b_k`` (``x_0`` is the sum over all buses)."""
        return self.lu.solve(b)

    def down(self, d: np.ndarray) -> np.ndarray:
        """``x_k = Σ_{j on the path from bus 0 to k} d_j`` (``d_0`` must be 0)."""
        return self.lu.solve(d, trans="T")


_SWEEPS: weakref.WeakKeyDictionary[Radial, _Sweep] = weakref.WeakKeyDictionary()


def _sweep(net: Radial) -> _Sweep:
    cached = _SWEEPS.get(net)
    if cached is not None:
        return cached
    n = net.n
    # U = I − M in compressed columns, built directly: column j holds −1 at row parent[j] < j, then 1 at row j
    indptr = np.empty(n + 1, dtype=np.int32)
    indptr[0] = 0
    indptr[1:] = np.arange(1, 2 * n, 2)
    indices = np.empty(2 * n - 1, dtype=np.int32)
    indices[0] = 0
    indices[1::2] = net.parent[1:]
    indices[2::2] = np.arange(1, n)
    data = np.ones(2 * n - 1, dtype=np.complex128)
    data[1::2] = -1.0
    u = sp.csc_matrix((data, indices, indptr), shape=(n, n))
    # panel_size=1: the same factors (and bits) as the default, without its supernode set-up for a tree
    lu = spla.splu(u, permc_spec="NATURAL", diag_pivot_thresh=0.0, panel_size=1)
    ratio = ratio2 = t = y_bus = y_own = None
    if np.any(net.tap != 1.0) or np.any(net.shift_deg != 0.0):
        t = net.tap * np.exp(1j * np.deg2rad(net.shift_deg))
        t[0] = 1.0
        log_t = np.log(net.tap) + 1j * np.deg2rad(net.shift_deg)
        log_t[0] = 0.0
        ratio = np.exp(lu.solve(log_t, trans="T"))  # the product of the ratios along each path
        ratio2 = np.abs(ratio) ** 2
    if np.any(net.g_sh_pu != 0.0) or np.any(net.b_sh_pu != 0.0):
        y_bus = net.g_sh_pu + 1j * net.b_sh_pu
        y_own = y_bus - net.line_y_child_pu
        y_own -= np.bincount(net.parent[1:], weights=net.line_y_parent_pu[1:].real, minlength=n)
        y_own -= 1j * np.bincount(net.parent[1:], weights=net.line_y_parent_pu[1:].imag, minlength=n)
    s = _Sweep(
        lu=lu,
        ratio=ratio,
        ratio2=ratio2,
        conj_ratio=None if ratio is None else np.conj(ratio),
        t=t,
        y_bus=y_bus,
        y_own=y_own,
    )
    _SWEEPS[net] = s
    return s


def _check_injections(net: Radial, p_kw, q_kvar=None) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(p_kw, dtype=float)
    q = np.zeros(net.n) if q_kvar is None else np.asarray(q_kvar, dtype=float)
    for name, a in (("p_kw", p), ("q_kvar", q)):
        if a.shape != (net.n,):
            raise ValueError(f"{name} must hold one value per bus ({net.n}), got shape {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} must be finite numbers")
    return p, q


def _i_base_a(net: Radial) -> float:
    """Base current ``I_base = S_base/(√3·V_base)`` in A (kVA/kV = A)."""
    return net.base_kva / (math.sqrt(3.0) * net.base_kv)


def _loading_pct(net: Radial, s_abs_pu: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(np.isfinite(net.rating_pu), 100.0 * s_abs_pu / net.rating_pu, np.nan)
    out[0] = np.nan
    return out


def _slack_out(net: Radial, s_send: np.ndarray) -> complex:
    """What bus 0 injects into its lines: the sum of the sending-end flows of the lines leaving it."""
    if net.n == 1:
        return 0j
    return complex(s_send[1:][net.parent[1:] == 0].sum())


# ---------------------------------------------------------------------------
# AC
# ---------------------------------------------------------------------------


def ac_power_flow(net: Radial, p_kw, q_kvar, tol: float = 1e-10, max_iter: int = 50) -> FlowResult:
    """Exact AC power flow of a radial feeder by backward/forward sweep ("Modeling the Physical Network").

    Constant-power loads; slack at the substation, ``V_0 = v0_pu∠0``. With the
    per-unit net injections ``s_k = (p_k + j q_k)/S_base``, line impedances
    ``z_j = r_j + j x_j`` and bus shunts ``y_k = g_k + j b_k``, iterate from the flat start
    ``V = V_0``:

    * injected currents ``i_k = conj(s_k / V_k) − y_k·V_k`` (``i_0 = 0``: bus 0 is fed by the grid),
    * backward sweep, branch currents as subtree sums ``J = −Aᵀ·i``
      (``J_j`` flows from ``parent[j]`` to ``j``),
    * forward sweep ``V = V_0 − A·(z∘J)``,

    until ``max_k |ΔV_k| < tol`` (p.u.). **Transformers**: line j has an ideal transformer of
    complex ratio ``t_j`` (:class:`Radial`) at its parent end, so ``V_j = V_i/t_j − z_j·J_j`` and
    the line draws ``J_j/conj(t_j)`` from bus i. Both sweeps stay one triangular solve each on the
    feeder referred to the substation's side of every transformer: with ``R_k`` the product of the
    ratios on the path to bus k, ``J = conj(R)∘(−Aᵀ·(i/conj(R)))`` and
    ``V = (V_0 − A·(z∘|R|²∘J/conj(R)))/R`` (without transformers ``R = 1``: the sweeps above, to
    the bit).

    Then the series current of line ``j`` is ``J_j`` (``i_a = |J_j|·I_base``), the power it sends
    into its series impedance ``S_j = (V_i/t_j)·conj(J_j)``, and what flows into the line at its
    parent terminal ``p_kw + j·q_kvar = S_j + conj(y^par_j)·|V_i|²`` (its own end shunt there,
    ``Radial.line_y_parent_pu``; as pandapower's ``p_from_mw``). Its loss is everything it draws,
    ``z_j|J_j|² + conj(y^par_j)|V_i|² + conj(y^child_j)|V_j|²`` (series loss, iron losses and line
    conductance; line charging makes ``loss_kvar`` negative), ``total_loss_kw`` adds the buses' own
    shunts, so ``Σ p_inj = total_loss_kw``. ``converged`` is False when ``max_iter`` sweeps do not
    reach ``tol`` (for instance beyond the feeder's loadability, where no solution exists).
    """
    p, q = _check_injections(net, p_kw, q_kvar)
    n, base = net.n, net.base_kva
    s_inj = (p + 1j * q) / base
    z = net.r_pu + 1j * net.x_pu
    sw = _sweep(net)
    ratio = sw.ratio
    if ratio is not None:
        z_ref = z * sw.ratio2  # impedances referred to the substation's side
    v0 = complex(net.v0_pu)
    v = np.full(n, v0, dtype=np.complex128)
    if ratio is not None:
        v = v / ratio  # the no-load voltages: the flat start through the transformers
    j_line = np.zeros(n, dtype=np.complex128)
    converged = False
    it = 0
    with np.errstate(all="ignore"):
        while it < max_iter:
            it += 1
            j_line = _branch_currents(sw, s_inj, v)
            if ratio is None:
                v_new = v0 - sw.down(z * j_line)
            else:
                v_new = (v0 - sw.down(z_ref * (j_line / sw.conj_ratio))) / ratio
            err = float(np.max(np.abs(v_new - v))) if n > 1 else 0.0
            v = v_new
            if not np.isfinite(err):
                break
            if err < tol:
                converged = True
                break
        if converged:  # the currents of the final voltages
            j_line = _branch_currents(sw, s_inj, v)
    return _ac_result(net, p, q, v, j_line, it, converged)


def _branch_currents(sw: _Sweep, s_inj, v) -> np.ndarray:
    """The backward sweep: every line's series current ``J`` from the buses' voltages (``J_0 = 0``)."""
    i_inj = np.conj(s_inj / v)
    if sw.y_bus is not None:
        i_inj -= sw.y_bus * v
    i_inj[0] = 0.0
    if sw.ratio is None:
        j_line = -sw.subtree(i_inj)
    else:
        j_line = -sw.subtree(i_inj / sw.conj_ratio) * sw.conj_ratio
    j_line[0] = 0.0
    return j_line


def _ac_result(net: Radial, p, q, v, j_line, iterations: int, converged: bool) -> FlowResult:
    base = net.base_kva
    sw = _sweep(net)
    j_line = j_line.copy()
    j_line[0] = 0.0
    v_send = np.empty_like(v)
    v_send[0] = v[0]
    v_send[1:] = v[net.parent[1:]]
    if sw.t is not None:
        v_send = v_send / sw.t  # what the series impedance sees, behind the ideal transformer
    s_send = v_send * np.conj(j_line)
    i2 = np.abs(j_line) ** 2
    loss = (net.r_pu + 1j * net.x_pu) * i2
    s_out0_extra = 0j
    own_loss = 0.0
    if sw.y_bus is not None:  # the lines' own end shunts at their terminals, the buses' own shunts apart
        vm2 = np.abs(v) ** 2
        vm2_send = np.empty(net.n)
        vm2_send[0] = vm2[0]
        vm2_send[1:] = vm2[net.parent[1:]]
        at_parent = np.conj(net.line_y_parent_pu) * vm2_send
        at_child = np.conj(net.line_y_child_pu) * vm2
        at_parent[0] = at_child[0] = 0.0
        s_send = s_send + at_parent
        loss = loss + at_parent + at_child
        own = np.conj(sw.y_own) * vm2
        s_out0_extra = complex(own[0])
        own_loss = float(own.real.sum())
    s_out0 = _slack_out(net, s_send) + s_out0_extra
    p_inj, q_inj = p.copy(), q.copy()
    p_inj[0], q_inj[0] = s_out0.real * base, s_out0.imag * base
    loss_kw = loss.real * base
    return FlowResult(
        model="ac",
        net=net,
        v_pu=np.abs(v),
        angle_deg=np.rad2deg(np.angle(v)),
        p_inj_kw=p_inj,
        q_inj_kvar=q_inj,
        p_kw=s_send.real * base,
        q_kvar=s_send.imag * base,
        i_a=np.sqrt(i2) * _i_base_a(net),
        loss_kw=loss_kw,
        loss_kvar=loss.imag * base,
        loading_pct=_loading_pct(net, np.abs(s_send)),
        total_loss_kw=float(loss_kw.sum() + own_loss * base),
        grid_p_kw=float(p_inj[0] - p[0]),
        grid_q_kvar=float(q_inj[0] - q[0]),
        iterations=iterations,
        converged=converged,
    )


# ---------------------------------------------------------------------------
# LinDistFlow and DC
# ---------------------------------------------------------------------------


def lindistflow(net: Radial, p_kw, q_kvar) -> FlowResult:
    """LinDistFlow, the Baran–Wu linearisation of DistFlow ("Modeling the Physical Network").

    Lossless line flows are the sums of the withdrawals below each line,
    ``P_j = −Σ_{k below j} p_k`` (``P = −Aᵀp``, same for ``Q``), and squared
    voltages drop along the path, ``v_j = v_i − 2(r_j P_j + x_j Q_j)``
    (``v = |V|²``, ``v = v0² − A·2(r∘P + x∘Q)``); ``|V| = √v``. The DistFlow
    term ``|z|²ℓ`` and the losses are dropped, so on a loaded feeder
    LinDistFlow overestimates the voltages (slightly: about the size of the
    losses' own drop). Angles are the matching linearisation
    ``θ_j = θ_i − (x_j P_j − r_j Q_j)/v0²`` (radians).

    Transformers and shunts (:class:`Radial`): line j sees ``v_i/tap_j²`` at its sending end,
    ``v_j = v_i/tap_j² − 2(r_j P_j + x_j Q_j)``, and its phase shift turns the angles below it; a
    shunt draws a constant ``(g − jb)·u_k`` at the no-load voltage ``u_k = v0²/Π tap²`` along the
    path (the linear model's usual choice), added to the withdrawals.

    The reported losses are **an estimate, not part of the model**: ``r·ℓ``
    with ``ℓ_j = (P_j² + Q_j²)/w_j`` from the lossless flows and the voltage
    ``w_j = v_i/tap_j²`` the line sees at its sending end (the same ``ℓ`` gives the current and
    ``loss_kvar = x·ℓ``), plus the shunts' draw. The flows themselves stay lossless: what the
    substation sends is ``−Σ p_k`` (and the shunts' constant draw) without them.
    """
    p, q = _check_injections(net, p_kw, q_kvar)
    base = net.base_kva
    sw = _sweep(net)
    s = (p + 1j * q) / base
    v0sq = net.v0_pu**2
    sh_par = sh_child = None
    if sw.y_bus is not None:
        u = no_load_vsq(net)
        s = s - shunt_draw_pu(net)  # the shunts' draw at the no-load voltage
        u_send = np.empty(net.n)
        u_send[0] = u[0]
        u_send[1:] = u[net.parent[1:]]
        sh_par = np.conj(net.line_y_parent_pu) * u_send
        sh_child = np.conj(net.line_y_child_pu) * u
        sh_par[0] = sh_child[0] = 0.0
    s[0] = 0.0
    flows = -sw.subtree(s)  # P + jQ of each line, lossless
    flows[0] = 0.0
    f_p, f_q = flows.real, flows.imag
    # one solve for both sums: the real part drops v, the imaginary part turns θ
    d = 2.0 * (net.r_pu * f_p + net.x_pu * f_q) + 1j * (net.x_pu * f_p - net.r_pu * f_q)
    if sw.ratio is None:
        drops = sw.down(d)
        vsq = v0sq - drops.real
        theta = -drops.imag / v0sq
    else:  # referred to the substation's side: w = v·|R|² drops like v does without transformers
        drops = sw.down(d * sw.ratio2 + 1j * np.deg2rad(net.shift_deg) * v0sq)
        vsq = (v0sq - drops.real) / sw.ratio2
        theta = -drops.imag / v0sq
    vm = np.sqrt(np.clip(vsq, 0.0, None))
    v_send = np.empty(net.n)
    v_send[0] = v0sq
    v_send[1:] = vsq[net.parent[1:]]
    if sw.ratio is not None:
        v_send = v_send / net.tap**2
    with np.errstate(divide="ignore", invalid="ignore"):
        ell = np.where(v_send > 0, (f_p**2 + f_q**2) / v_send, np.nan)
    ell[0] = 0.0
    return _linear_result("lindistflow", net, p, q, vm, theta, f_p, f_q, ell, sh_par, sh_child)


def no_load_vsq(net: Radial) -> np.ndarray:
    """The squared voltage of each bus at no load, ``u_k = v0²/Π tap²`` along its path (p.u.)."""
    sw = _sweep(net)
    v0sq = net.v0_pu**2
    return np.full(net.n, v0sq) if sw.ratio is None else v0sq / sw.ratio2


def shunt_draw_pu(net: Radial) -> np.ndarray:
    """What each bus's shunts draw at the no-load voltage, ``(g − jb)·u_k`` (p.u., complex ``P + jQ`` withdrawn:
    iron losses ``P > 0``, cable charging ``Q < 0``), the constant the linear models take them as; zeros without
    shunts."""
    sw = _sweep(net)
    if sw.y_bus is None:
        return np.zeros(net.n, dtype=np.complex128)
    return np.conj(sw.y_bus) * no_load_vsq(net)


def dc_power_flow(net: Radial, p_kw) -> FlowResult:
    """The DC power flow of transmission studies, applied to a feeder ("Modeling the Physical Network").

    Assumptions: ``|V| = v0`` at every bus, ``R ≪ X`` (resistance ignored),
    reactive power ignored. Real flows ``P_ij = v0²(θ_i − θ_j)/x_ij`` and
    bus balances ``B·θ = p`` (``θ_0 = 0``). On a radial feeder the solution of
    ``B·θ = p`` is explicit: the flows are the sums of the withdrawals below
    each line, ``P = −Aᵀp``, and ``θ = −A·(x∘P)/v0²`` (radians), which also
    works for lines with ``x = 0`` (where ``B`` would be infinite).

    **The blind spot on a distribution feeder**: no voltage drop at all
    (``|V| = v0`` everywhere, however loaded the feeder), zero losses
    (``loss_kw = 0``), no reactive flows, and ``R``, which dominates on
    feeders (``R/X ≈ 1–3``), plays no part. Transformer taps and shunts are
    ignored too (a transformer's phase shift still turns the angles below it). The
    current reported is ``|P|/v0·I_base``.
    """
    p, _ = _check_injections(net, p_kw)
    base = net.base_kva
    sw = _sweep(net)
    pu_p = (p / base).astype(np.complex128)
    pu_p[0] = 0.0
    f_p = -sw.subtree(pu_p).real
    f_p[0] = 0.0
    v0 = net.v0_pu
    d = (net.x_pu * f_p).astype(np.complex128)
    if sw.ratio is not None:
        d = d + np.deg2rad(net.shift_deg) * v0**2
    theta = -sw.down(d).real / v0**2
    return _linear_result("dc", net, p, np.zeros(net.n), np.full(net.n, float(v0)), theta, f_p, np.zeros(net.n), None)


def _linear_result(model, net, p, q, vm, theta, f_p, f_q, ell, sh_par=None, sh_child=None) -> FlowResult:
    base = net.base_kva
    f_p = f_p.copy()
    f_q = f_q.copy()
    f_p[0] = f_q[0] = 0.0
    if ell is None:  # DC: no losses, current from the real flow at |V| = v0
        i_pu = np.abs(f_p) / net.v0_pu
        loss_kw = np.zeros(net.n)
        loss_kvar = np.zeros(net.n)
    else:
        i_pu = np.sqrt(ell)
        loss_kw = net.r_pu * ell * base
        loss_kvar = net.x_pu * ell * base
    s_send = f_p + 1j * f_q
    s_out0_extra = 0j
    if sh_par is not None:  # the lines' own end shunts at their terminals (LinDistFlow: constant draws)
        s_send = s_send + sh_par
        loss_kw = loss_kw + (sh_par.real + sh_child.real) * base
        loss_kvar = loss_kvar + (sh_par.imag + sh_child.imag) * base
        sw = _sweep(net)
        u0 = net.v0_pu**2
        s_out0_extra = complex(np.conj(sw.y_own[0]) * u0)
    s_out0 = _slack_out(net, s_send) + s_out0_extra
    p_inj, q_inj = p.copy(), q.copy()
    p_inj[0], q_inj[0] = s_out0.real * base, s_out0.imag * base
    return FlowResult(
        model=model,
        net=net,
        v_pu=vm,
        angle_deg=np.rad2deg(theta),
        p_inj_kw=p_inj,
        q_inj_kvar=q_inj,
        p_kw=s_send.real * base,
        q_kvar=s_send.imag * base,
        i_a=i_pu * _i_base_a(net),
        loss_kw=loss_kw,
        loss_kvar=loss_kvar,
        loading_pct=_loading_pct(net, np.abs(s_send)),
        total_loss_kw=float(loss_kw.sum()),
        grid_p_kw=float(p_inj[0] - p[0]),
        grid_q_kvar=float(q_inj[0] - q[0]),
        iterations=0,
        converged=True,
    )


# ---------------------------------------------------------------------------
# marginal loss factors
# ---------------------------------------------------------------------------


def _ybus(net: Radial) -> sp.csr_matrix:
    """The bus admittance matrix of the radial feeder.

    Without transformers and shunts ``Y = Cᵀ·diag(1/z)·C``. With them, line j (ratio ``t_j`` at its
    parent end i, series admittance ``y_j = 1/z_j``) adds ``y_j/|t_j|²`` at ``(i, i)``, ``y_j`` at
    ``(j, j)``, ``−y_j/conj(t_j)`` at ``(i, j)`` and ``−y_j/t_j`` at ``(j, i)``, and every bus's shunt
    ``g + jb`` sits on the diagonal.
    """
    y = np.zeros(net.n, dtype=np.complex128)
    y[1:] = 1.0 / (net.r_pu[1:] + 1j * net.x_pu[1:])
    if not net.has_shunts_or_taps:
        c = net.incidence.astype(np.complex128)
        return (c.T @ sp.diags(y) @ c).tocsr()
    n = net.n
    j = np.arange(1, n)
    i = net.parent[1:]
    t = net.tap[1:] * np.exp(1j * np.deg2rad(net.shift_deg[1:]))
    yj = y[1:]
    rows = np.concatenate([i, j, i, j, np.arange(n)])
    cols = np.concatenate([i, j, j, i, np.arange(n)])
    vals = np.concatenate([yj / np.abs(t) ** 2, yj, -yj / np.conj(t), -yj / t, net.g_sh_pu + 1j * net.b_sh_pu])
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, n))


def marginal_loss_factors(net: Radial, p_kw, q_kvar, solution: FlowResult | None = None) -> np.ndarray:
    """Marginal loss factors ``MLF_k = 1 + ∂P_loss/∂P_{L,k}`` at the AC operating point ("Pricing under
    Physical Constraints").

    ``P_{L,k}`` is the real load (withdrawal) at bus ``k``, its reactive load
    held fixed. Since the slack supplies ``P_0 = Σ P_L − Σ P_G + P_loss``,
    ``MLF_k = ∂P_0/∂P_{L,k}``, found analytically from the AC Jacobian
    ``J = ∂(P, Q)/∂(θ, |V|)`` of the non-slack buses: with
    ``λ = J⁻ᵀ·∇_{θ,|V|} P_0`` (one sparse solve), ``∂P_0/∂p_k = λ_k`` for an
    injection ``p_k = −P_{L,k}``, so ``MLF_k = −λ_k``. ``MLF_0 = 1`` (load at
    the substation crosses no line). ``MLF > 1``: one more kW of load there
    raises the losses; ``MLF < 1``: it lowers them (e.g. next to a PV
    surplus). Returned in :class:`Radial` order (use
    ``dict(zip(net.bus_ids, mlf))`` for :func:`settle_bilateral`).

    Hand check, one line ``r + jx`` feeding ``P + jQ`` from ``v0``: with
    ``u = |V|²`` the root of ``u² − (v0² − 2(rP + xQ))u + |z|²(P² + Q²) = 0``
    and ``loss = r(P² + Q²)/u``, ``MLF = 1 + d loss/dP``.
    ``solution`` is the AC :class:`FlowResult` at ``p_kw, q_kvar`` if already
    computed; raises ``ValueError`` if the AC power flow does not converge.
    """
    p, q = _check_injections(net, p_kw, q_kvar)
    res = solution if solution is not None else ac_power_flow(net, p, q)
    if res.model != "ac":
        raise ValueError(f"marginal loss factors need the AC solution, got a {res.model!r} one")
    if not res.converged:
        raise ValueError("the AC power flow did not converge: no marginal loss factors at this operating point")
    n = net.n
    mlf = np.ones(n)
    if n == 1:
        return mlf
    v = res.v_complex_pu
    y = _ybus(net)
    ibus = y @ v
    dv = sp.diags(v)
    dvn = sp.diags(v / np.abs(v))
    ds_dva = 1j * dv @ np.conj(sp.diags(ibus) - y @ dv)
    ds_dvm = dv @ np.conj(y @ dvn) + np.conj(sp.diags(ibus)) @ dvn
    ds_dva = sp.csr_matrix(ds_dva)
    ds_dvm = sp.csr_matrix(ds_dvm)
    pq = np.arange(1, n)
    a = ds_dva[pq][:, pq]
    m = ds_dvm[pq][:, pq]
    jac = sp.bmat([[a.real, m.real], [a.imag, m.imag]], format="csc")
    grad = np.concatenate([ds_dva[0].toarray().ravel()[pq].real, ds_dvm[0].toarray().ravel()[pq].real])
    lam = spla.spsolve(jac.T.tocsc(), grad)
    mlf[1:] = -lam[: n - 1]
    return mlf


# ---------------------------------------------------------------------------
# the scenario entry point
# ---------------------------------------------------------------------------


def flow(scenario: Scenario, period: int = 0, model: str = "ac", net: Radial | None = None) -> FlowResult:
    """The power flow of a scenario in one period, with the model named ("Modeling the Physical Network").

    Injections are :func:`~core.network.topology.bus_injections_kw`: each
    prosumer's fixed demand and its PV/wind at available capacity times ``η``,
    as given in the file (no market dispatch). ``model`` is ``"ac"``
    (:func:`ac_power_flow`), ``"lindistflow"`` (:func:`lindistflow`) or ``"dc"``
    (:func:`dc_power_flow`). The result's frames are in the scenario's bus and
    line order. Raises ``ValueError`` for an unknown model or a period outside
    ``0 … T−1``.
    """
    if model not in MODELS:
        raise ValueError(f"unknown power flow model {model!r}: choose one of {', '.join(MODELS)}")
    T = scenario.periods
    if isinstance(period, bool) or not isinstance(period, (int, np.integer)) or not 0 <= period < T:
        raise ValueError(f"period must be a whole number in 0…{T - 1}, got {period!r}")
    net = net or radial(scenario)
    p, q = bus_injections_kw(scenario, int(period), net)
    if model == "ac":
        res = ac_power_flow(net, p, q)
    elif model == "lindistflow":
        res = lindistflow(net, p, q)
    else:
        res = dc_power_flow(net, p)
    return _with_order(res, scenario)


def _with_order(res: FlowResult, scenario: Scenario) -> FlowResult:
    f = scenario.feeder
    return replace(res, bus_order=tuple(b.id for b in f.buses), line_order=tuple(ln.id for ln in f.lines))


# ---------------------------------------------------------------------------
# loss-neutral P2P settlement
# ---------------------------------------------------------------------------


def loss_neutral_trade(mlf_seller, mlf_buyer, dp_seller):
    """The buyer's delivered quantity of a loss-neutral P2P trade ("Pricing under Physical Constraints").

    The chapter's condition for a trade from seller ``i`` to buyer ``j``,
    ``dP_i·MLF_i = dP_j·MLF_j``, gives ``dP_j = dP_i·MLF_i/MLF_j``: the slack
    (and so the rest of the system) sees no change in losses. By hand:
    ``MLF_i = 1.02``, ``MLF_j = 1.05``, ``dP_i = 10 kWh`` → ``dP_j = 10·1.02/1.05
    = 9.7143 kWh`` delivered; the 0.2857 kWh difference pays for the losses.
    With the seller farther out than the buyer (``MLF_i > MLF_j``) the trade
    relieves losses and more is delivered than was sold. Works element-wise
    on arrays.
    """
    ms = np.asarray(mlf_seller, dtype=float)
    mb = np.asarray(mlf_buyer, dtype=float)
    if np.any(mb <= 0) or np.any(ms <= 0):
        raise ValueError("marginal loss factors must be positive")
    out = np.asarray(dp_seller, dtype=float) * ms / mb
    return float(out) if out.ndim == 0 else out


TRADE_COLUMNS: tuple[str, ...] = ("seller", "buyer", "seller_bus", "buyer_bus", "kwh")
"""The columns :func:`settle_bilateral` needs."""


def settle_bilateral(trades: pd.DataFrame, mlf_by_bus: Mapping[str, float] | pd.Series) -> pd.DataFrame:
    """Make each bilateral trade loss-neutral ("Pricing under Physical Constraints").

    ``trades`` has one row per trade with columns ``seller, buyer, seller_bus,
    buyer_bus, kwh`` (``kwh``: what the seller injects, ``dP_i``);
    ``mlf_by_bus`` maps a bus id to its MLF (a dict or a Series indexed by bus
    id). Returns a copy with ``mlf_seller``, ``mlf_buyer``,
    ``delivered_kwh = kwh·MLF_seller/MLF_buyer`` (:func:`loss_neutral_trade`)
    and ``loss_kwh = kwh − delivered_kwh`` added (negative: the trade relieves
    losses). By hand: 10 kWh from a bus at MLF 1.02 to one at 1.05 delivers
    9.7143 kWh and loses 0.2857 kWh. Raises ``ValueError`` naming a missing
    column or the row of a bus without an MLF.
    """
    missing = [c for c in TRADE_COLUMNS if c not in trades.columns]
    if missing:
        have = ", ".join(map(str, trades.columns))
        raise ValueError(f"the trades need the column(s) {', '.join(missing)} (have {have})")
    table = dict(mlf_by_bus.items())
    out = trades.copy()
    for side in ("seller", "buyer"):
        col = f"{side}_bus"
        unknown = [(i, b) for i, b in zip(range(len(out)), out[col], strict=True) if b not in table]
        if unknown:
            i, b = unknown[0]
            raise ValueError(
                f"trade row {i}: {col} '{b}' has no marginal loss factor"
                + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
            )
        out[f"mlf_{side}"] = np.array([float(table[b]) for b in out[col]])
    kwh = out["kwh"].to_numpy(dtype=float)
    delivered = loss_neutral_trade(out["mlf_seller"].to_numpy(), out["mlf_buyer"].to_numpy(), kwh)
    out["delivered_kwh"] = delivered
    out["loss_kwh"] = kwh - delivered
    return out


__all__ = [
    "MODELS",
    "TRADE_COLUMNS",
    "FlowResult",
    "ac_power_flow",
    "dc_power_flow",
    "flow",
    "lindistflow",
    "loss_neutral_trade",
    "marginal_loss_factors",
    "settle_bilateral",
]
