"""Whether a pure equilibrium must exist: the Debreu–Glicksberg–Fan conditions checked on a bidding game."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.mechanisms import OrderBook, efficient_allocation
from core.strategy.cournot import VERDICT_HOLDS


def _optimal_welfare(book: OrderBook) -> float:
    bf, sf = efficient_allocation(book)[:2]
    return float(bf @ book.buy_price - sf @ book.sell_price)


@dataclass(frozen=True, eq=False)
class ExistenceCheck:
    """The Debreu–Glicksberg–Fan conditions per player, with the evidence.

    ``players`` columns: ``player, nonempty, compact, convex, continuous,
    max_step_rel, jump_rel, jump_at, quasi_concave, qc_violation_rel, qc_at``.
    ``max_step_rel`` is the largest payoff change between adjacent grid points
    over the payoff range; ``jump_rel`` what remains of the largest such change
    after bisecting its cell ``bisections`` times (a jump survives, a continuous
    change vanishes); ``qc_violation_rel`` the deepest dip below the lower of
    the best values on either side (a strict interior local minimum: an upper
    level set that is not an interval). ``samples`` is the evidence: one row per
    player, context, coordinate and grid point (``player, context, coordinate,
    value, payoff``). ``verdict`` is :data:`VERDICT_HOLDS` or says why the
    theorem does not apply.
    """

    players: pd.DataFrame
    samples: pd.DataFrame
    holds: bool
    verdict: str
    notes: tuple[str, ...]


def _qc_violation(f: np.ndarray) -> tuple[float, int]:
    """Largest ``min(max f[:k], max f[k+1:]) − f[k]`` over interior ``k`` (0 for a unimodal sequence), and its ``k``."""
    if f.size < 3:
        return 0.0, -1
    left = np.maximum.accumulate(f)[:-2]
    right = np.maximum.accumulate(f[::-1])[::-1][2:]
    dip = np.minimum(left, right) - f[1:-1]
    k = int(np.argmax(dip))
    return float(max(dip[k], 0.0)), k + 1


def existence_check(
    game,
    contexts: Sequence | None = None,
    jump_tol: float = 1e-3,
    qc_tol: float = 1e-9,
    bisections: int = 40,
    max_cells: int = 3,
) -> ExistenceCheck:
    """Check the Debreu–Glicksberg–Fan conditions of ``game`` numerically ("Strategic Behavior", conditions 1–3).

    ``game`` is a :class:`BiddingGame` or a :class:`CournotGame` (anything with
    ``n``, ``player_names``, ``dims(i)``, ``payoff(i, profile)`` and
    ``default_contexts()``). For each player:

    1. **Strategy set** non-empty, compact, convex: true by construction — it is
       the interval ``[lo, hi]`` of each coordinate (a box with withholding); the
       grid searched is a discretisation of it.
    2. **Continuity** in own strategy: the payoff is sampled on the grid of each
       own coordinate, the others fixed at each context profile (default: all
       truthful, mid-interval, top). The cells with the largest changes (up to
       ``max_cells``, each above ``jump_tol`` of the payoff range) are bisected
       ``bisections`` times, following the half with the larger change; a change
       still above ``jump_tol``·range over a cell ``2^−bisections`` as wide is a
       discontinuity (a Lipschitz payoff's change would have shrunk with the cell).
    3. **Quasi-concavity** in own strategy: along each sampled line the payoffs
       must rise then fall (upper level sets are intervals): no grid point lies
       more than ``qc_tol``·range below the best values on both of its sides.

    Sampling is evidence, not proof: a failure found disproves the condition
    (so the theorem does not apply); a pass holds on the lines and contexts
    sampled. The theorem asks continuity in the whole profile; a discontinuity
    in own strategy is one, and continuity in own strategy is necessary only.
    The sufficient conditions failing does not rule out an equilibrium.
    """
    if contexts is None:
        contexts = game.default_contexts()
    rows, samples = [], []
    failing_cont, failing_qc = [], []
    for i in range(game.n):
        name = game.player_names[i]
        nonempty = compact = convex = True
        max_step = jump = qc_v = 0.0
        jump_at = qc_at = None
        for c, ctx in enumerate(contexts):
            base = np.array(ctx, dtype=np.float64).copy()
            for d, (coord, lo, hi, grid) in enumerate(game.dims(i)):
                nonempty &= bool(np.isfinite(lo) and np.isfinite(hi) and lo <= hi)
                compact &= bool(np.isfinite(lo) and np.isfinite(hi))
                if grid.size < 2:
                    continue

                def f(v, i=i, d=d, base=base):
                    y = base.copy()
                    y[i, d] = v
                    return game.payoff(i, y)

                vals = np.array([f(v) for v in grid])
                samples += [(name, c, coord, float(v), float(p)) for v, p in zip(grid, vals, strict=True)]
                span = float(vals.max() - vals.min())
                if span <= 1e-12 * max(1.0, float(np.abs(vals).max())):
                    continue  # constant along this line: continuous and quasi-concave
                steps = np.abs(np.diff(vals)) / span
                k_max = int(np.argmax(steps))
                if steps[k_max] > max_step:
                    max_step = float(steps[k_max])
                lo_f, hi_f = float(vals.min()), float(vals.max())
                found = []
                for k in np.argsort(-steps, kind="stable")[:max_cells]:
                    if steps[k] <= jump_tol:
                        break
                    u, v = float(grid[k]), float(grid[k + 1])
                    fu, fv = float(vals[k]), float(vals[k + 1])
                    for _ in range(bisections):
                        mid = 0.5 * (u + v)
                        if mid <= u or mid >= v:
                            break
                        fm = f(mid)
                        lo_f, hi_f = min(lo_f, fm), max(hi_f, fm)
                        if abs(fm - fu) >= abs(fv - fm):
                            v, fv = mid, fm
                        else:
                            u, fu = mid, fm
                    found.append((abs(fv - fu), 0.5 * (u + v)))
                for size, where in found:  # relative to the range of every value seen on the line
                    rel = size / (hi_f - lo_f)
                    if rel > jump:
                        jump, jump_at = rel, f"{coord} ≈ {where:.6g} (context {c})"
                dip, kk = _qc_violation(vals)
                if dip / span > qc_v:
                    qc_v, qc_at = dip / span, f"{coord} = {grid[kk]:.6g} (context {c})"
        continuous = jump <= jump_tol
        quasi = qc_v <= qc_tol
        if not continuous:
            failing_cont.append(name)
        if not quasi:
            failing_qc.append(name)
        rows.append(
            {
                "player": name,
                "nonempty": nonempty,
                "compact": compact,
                "convex": convex,
                "continuous": continuous,
                "max_step_rel": max_step,
                "jump_rel": jump,
                "jump_at": jump_at,
                "quasi_concave": quasi,
                "qc_violation_rel": qc_v,
                "qc_at": qc_at,
            }
        )
    frame = pd.DataFrame(rows)
    sets_ok = bool(frame[["nonempty", "compact", "convex"]].all().all()) if len(frame) else True
    holds = sets_ok and not failing_cont and not failing_qc
    if holds:
        verdict = VERDICT_HOLDS
    else:
        why = []
        if not sets_ok:
            why.append("a strategy set is not a compact interval")
        if failing_cont:
            why.append(f"payoff discontinuous for player {', '.join(failing_cont)}")
        if failing_qc:
            why.append(f"not quasi-concave for player {', '.join(failing_qc)}")
        verdict = f"the theorem does not apply ({'; '.join(why)}); an equilibrium may still exist"
    notes = (
        "strategy sets are intervals [0, m_max] (× [0, w_max]): non-empty, compact and convex by construction; "
        "the search grid is a discretisation of them",
        "continuity and quasi-concavity are checked along each player's own strategy, the others fixed at "
        f"{len(contexts)} context profiles: a failure disproves the condition, a pass is evidence on those lines",
        "an equilibrium of the grid game need not be one of the continuous game, nor conversely",
    )
    return ExistenceCheck(
        frame,
        pd.DataFrame(samples, columns=["player", "context", "coordinate", "value", "payoff"]),
        holds,
        verdict,
        notes,
    )
