"""What clearing keeps between calls: :class:`ClearingCache` (compiled problems, outside options, solved days).

A dashboard clears the same feeder again and again: after an edit that keeps the structure, the compiled cvxpy
problems are re-loaded with the new numbers instead of compiled again; each prosumer's outside option is solved once
per (prosumer, tariffs, horizon); moving the period slider re-reads the solved day. All of that lives in one object,
passed to the clearing that uses it (:func:`core.market.clear` takes ``cache=``; the default is :data:`CACHE`, one per
process). :meth:`ClearingCache.reset` empties it; :meth:`ClearingCache.forget_solutions` drops what was *solved*
(outside options and days) but keeps what was *compiled*, so that a study's row does not depend on which points the
process cleared before it (every solve is cold: ``warm_start=False`` throughout core).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import numpy as np

from core.scenario.model import Scenario
from core.welfare import PriceResponse, WelfareProblem, outside_option


class ClearingCache:
    """Compiled problems (each with a lock: one solve at a time), outside options and the last solved days.

    Thread-safe: the GUI's worker thread and a study's threads may share one. A compiled problem in use by another
    thread is not waited for: the caller gets a private one.
    """

    MAX_PROBLEMS = 8  # compiled problems kept (each is a feeder and fleet structure, a kind and an outside option)
    MAX_OUTSIDE_OPTIONS = 50_000  # prosumers' outside options kept

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._problems: dict[tuple, tuple[Any, threading.Lock]] = {}
        self._alone: dict[tuple, float] = {}
        self._network: dict[tuple, tuple] = {}  # the last network clearing: (scenario, solution, checks)
        self._days: dict[Any, tuple] = {}  # the last day solved: settings → (scenario, result, day)
        self._compare: dict[float, tuple] = {}  # every mechanism's day for the comparison: k → (scenario, days)

    # -- lifetime ---------------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything: compiled problems, outside options, solved days."""
        with self._lock:
            self._problems.clear()
        self.forget_solutions()

    def forget_solutions(self) -> None:
        """Forget what was solved (outside options, days), keep what was compiled."""
        with self._lock:
            self._alone.clear()
            self._network.clear()
            self._days.clear()
            self._compare.clear()

    # -- compiled problems -------------------------------------------------------------------------------------
    def problem(self, key: tuple, s: Scenario, build: Callable[[], Any]) -> tuple[Any, threading.Lock | None]:
        """The compiled problem under ``key`` loaded with ``s``'s numbers, and its lock, which the caller releases
        (None: a private problem, the cached one being in use by another thread)."""
        with self._lock:
            hit = self._problems.get(key)
        if hit is not None:
            problem, lock = hit
            if lock.acquire(blocking=False):
                problem.update(s)
                return problem, lock
            return build(), None
        problem = build()
        lock = threading.Lock()
        lock.acquire()
        with self._lock:
            if len(self._problems) > self.MAX_PROBLEMS:
                self._problems.clear()
            self._problems[key] = (problem, lock)
        return problem, lock

    def welfare_problem(self, s: Scenario, grid: str) -> tuple[WelfareProblem, threading.Lock | None]:
        from core.prosumer import _signature

        key = ("welfare", _signature(s, tuple(range(s.periods))), grid)
        return self.problem(key, s, lambda: WelfareProblem(s, grid=grid))

    @contextlib.contextmanager
    def price_response(self, s: Scenario) -> Iterator[PriceResponse]:
        """Every agent alone at announced prices (outside options, the decentralised check, the price iteration)."""
        from core.prosumer import _signature

        key = ("response", _signature(s, tuple(range(s.periods))), "")
        response, lock = self.problem(key, s, lambda: PriceResponse(s))
        try:
            yield response
        finally:
            if lock is not None:
                lock.release()

    def network_problem(self, kind: str, s: Scenario, grid: str):
        """The compiled network problem of ``kind`` (``socp``, ``lindistflow``, ``dc``) for ``s``'s feeder and
        fleet structure, loaded with ``s``'s numbers, and its lock (None: a private one)."""
        from core.branch_flow import BranchFlowProblem
        from core.network.topology import radial
        from core.pricing import LinDistFlowProblem
        from core.prosumer import _signature

        def build():
            return BranchFlowProblem(s, grid) if kind == "socp" else LinDistFlowProblem(s, grid=grid, model=kind)

        net = radial(s)
        feeder = (
            net.bus_ids,
            net.parent.tobytes(),
            net.r_pu.tobytes(),
            net.x_pu.tobytes(),
            net.rating_pu.tobytes(),
            net.v_min_pu.tobytes(),
            net.v_max_pu.tobytes(),
            net.v0_pu,
            net.tap.tobytes(),
            net.g_sh_pu.tobytes(),
            net.b_sh_pu.tobytes(),
            net.base_kva,
            tuple(p.bus for p in s.prosumers),
        )
        key = (kind, _signature(s, tuple(range(s.periods))), grid, feeder)
        return self.problem(key, s, build)

    # -- outside options -------------------------------------------------------------------------------------
    def outside_option(self, s: Scenario) -> np.ndarray:
        """Each agent's outside option; agents alone are independent, so only the agents not seen before (an
        edit) are solved (kept by prosumer, tariffs and horizon)."""
        context = (s.tariffs, s.horizon)
        keys = [(p, context) for p in s.prosumers]
        with self._lock:
            known = [self._alone.get(k) for k in keys]
        missing = [i for i, v in enumerate(known) if v is None]
        if not missing:
            return np.array(known, dtype=float)
        values = np.array([np.nan if v is None else v for v in known], dtype=float)
        few = replace(s, prosumers=tuple(s.prosumers[i] for i in missing), validate=False)
        # closed form where an agent's periods are independent; a solver (compiled once per kind) for storage
        values[missing] = outside_option(few, solver=self.price_response)
        with self._lock:
            if len(self._alone) + len(missing) > self.MAX_OUTSIDE_OPTIONS:
                self._alone.clear()
            self._alone.update((keys[i], float(values[i])) for i in missing)
        return np.asarray(values, dtype=float)

    # -- solved days ------------------------------------------------------------------------------------------
    def day(self, key, s: Scenario) -> tuple | None:
        """The (result, day) solved last under ``key`` if it was solved for ``s``."""
        with self._lock:
            hit = self._days.get(key)
        return hit[1:] if hit is not None and hit[0] == s else None

    def keep_day(self, key, s: Scenario, result, day) -> None:
        with self._lock:
            self._days.clear()
            self._days[key] = (s, result, day)

    def network_day(self, key: tuple, s: Scenario) -> tuple | None:
        """The (solution, checks) of the network clearing solved last under ``key`` if it was solved for ``s``."""
        with self._lock:
            hit = self._network.get(key)
        return hit[1:] if hit is not None and hit[0] == s else None

    def keep_network_day(self, key: tuple, s: Scenario, solution, checks: dict) -> None:
        with self._lock:
            self._network.clear()
            self._network[key] = (s, solution, checks)

    def compared_days(self, k: float, s: Scenario) -> dict:
        """Every mechanism's (result, day) already cleared for ``s`` and this ``k`` (a copy; {} when none)."""
        with self._lock:
            hit = self._compare.get(k)
        return dict(hit[1]) if hit is not None and hit[0] == s else {}

    def keep_compared_days(self, k: float, s: Scenario, days: dict) -> None:
        with self._lock:
            self._compare.clear()
            self._compare[k] = (s, dict(days))


CACHE = ClearingCache()  # the process's cache: what core.market.clear uses unless it is given another
