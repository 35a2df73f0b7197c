"""The rules' names and numerical settings, and the inequality measures of the gains: Jain's index, Gini."""

from __future__ import annotations

import numpy as np

FAIRNESS_RULES: tuple[str, ...] = ("efficiency", "proportional", "maxmin")
RULE_LABELS = {
    "efficiency": "Efficiency (max Σ U)",
    "proportional": "Proportional (max Σ ln U)",
    "maxmin": "Max-min (max min U)",
}
LEXICOGRAPHIC_ROUNDS = 5  # rounds of the lexicographic max-min before the tie-break
REGULARISER = 1e-6  # ε = REGULARISER·max(1, mean |U*|) in ln(U + ε)


# the log objective's optimum only sets floors on the gains (minus a tolerance); the tie-break then finds the
# allocation with an accurate linear/quadratic solve, so an "inaccurate" exponential-cone answer is not shown as such
FLOORS_REFINED = "its gains only set the floors of the tie-break, which is solved again accurately"


def jain(u) -> float:
    """Jain's fairness index ``J(u) = (Σ_i u_i)² / (n·Σ_i u_i²)`` ("Market Design II").

    1 when every ``u_i`` is equal, ``1/n`` when one agent has everything.
    All zeros count as equal (1.0); an empty vector gives ``nan``.
    """
    u = np.asarray(u, dtype=float).ravel()
    if u.size == 0:
        return float("nan")
    sq = float(np.sum(u**2))
    if sq == 0.0:
        return 1.0
    return float(np.sum(u) ** 2 / (u.size * sq))


def gini(u) -> float:
    """Gini coefficient ``G(u) = Σ_i Σ_j |u_i − u_j| / (2·n²·ū)`` of non-negative gains ("Market Design II").

    0 when every ``u_i`` is equal, ``1 − 1/n`` when one agent has everything.
    All zeros give 0; a non-positive mean (or an empty vector) gives ``nan``.
    """
    u = np.asarray(u, dtype=float).ravel()
    n = u.size
    if n == 0:
        return float("nan")
    if np.all(u == 0.0):
        return 0.0
    mean = float(np.mean(u))
    if mean <= 0.0:
        return float("nan")
    s = np.sort(u)
    # Σ_i Σ_j |u_i − u_j| = 2·Σ_k (2k − n + 1)·s_k over the sorted values (k = 0..n−1)
    k = np.arange(n)
    total = 2.0 * float(np.sum((2 * k - n + 1) * s))
    return total / (2.0 * n * n * mean)
