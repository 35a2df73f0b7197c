"""A project as a pandapower JSON file: one period, or the whole horizon as ``const`` controllers.

:func:`core.scenario.pandapower_io.export_pandapower` builds the net of one period (the feeder, the substation as
the external grid, each bus's net injection as one constant-power load). With ``series=True`` the net also holds
the horizon: a :class:`pandapower.timeseries.DFData` table of every load's ``p_mw`` and ``q_mvar`` per period
(columns ``p_mw_<load>``, ``q_mvar_<load>``, one row per period, index ``0 … T−1``) and two
:class:`pandapower.control.ConstControl` controllers that write it into ``net.load`` at each time step, so
``pandapower.timeseries.run_timeseries(net)`` runs the day. The ``load`` table itself holds the chosen period, and
a bus that has an injection in any period has its load (zero in the periods where it has none).

What comes back: :func:`~core.scenario.pandapower_io.import_pandapower` of the file gives the same feeder (buses,
lines, impedances, ratings, transformers, shunts) and the chosen period's injection at every bus (one consumer per
bus with a load; a net generation reads as a negative demand). It reads one snapshot, not the controllers: the
horizon is for running the day in pandapower, not for coming back (the profiles CSV,
:mod:`core.scenario.timeseries`, is the round trip of a day's profiles).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from core.errors import Problem, ScenarioError
from core.files import write_atomic
from core.scenario.model import Scenario


def pandapower_net(scenario: Scenario, period: int = 0, *, series: bool = False) -> Any:
    """The pandapower net of ``scenario`` in ``period`` (0-based), with the horizon as controllers when ``series``.

    Load ``j`` at bus ``b`` in period ``t``: ``p_mw = −P_b,t/1000``, ``q_mvar = −Q_b,t/1000`` with ``P_b,t``,
    ``Q_b,t`` the bus's net injection in kW and kvar (:func:`core.network.topology.bus_injections_kw`).
    Raises ScenarioError for a period outside the horizon or without pandapower.
    """
    if isinstance(period, bool) or not isinstance(period, int) or not 0 <= period < scenario.periods:
        raise ScenarioError(
            Problem("period", f"must be in 0…{scenario.periods - 1} (the horizon's periods), got {period!r}")
        )
    from core.scenario.pandapower_io import export_pandapower

    net, idx = export_pandapower(scenario, period)
    import numpy as np
    import pandapower as pp

    # the bus's net injection as demand (a load) and PV/wind output (static generators, one per kind), so that a
    # bus that generates more than it draws reads back as a generator, not as a negative demand
    T = scenario.periods
    buses = [b.id for b in scenario.feeder.buses]
    col = {b: k for k, b in enumerate(buses)}
    demand_p = np.zeros((T, len(buses)))
    demand_q = np.zeros((T, len(buses)))
    output = {kind: np.zeros((T, len(buses))) for kind in ("pv", "wind")}
    for pr in scenario.prosumers:
        k = col[pr.bus]
        demand_p[:, k] += pr.demand_kw
        demand_q[:, k] += [pr.reactive_kvar(t) for t in range(T)]
        a = pr.asset
        if a is not None and a.kind in output:
            output[a.kind][:, k] += [a.efficiency * a.p_max_at(t) for t in range(T)]
    net.load.drop(net.load.index, inplace=True)
    steps = range(T) if series else (period,)
    profiles: dict[tuple[str, str], tuple[list[int], list[np.ndarray]]] = {}

    def add(table: str, variable: str, element: int, values_kw: np.ndarray) -> None:
        elements, columns = profiles.setdefault((table, variable), ([], []))
        elements.append(element)
        columns.append(values_kw / 1000.0)

    for b in buses:
        k = col[b]
        if any(demand_p[t, k] or demand_q[t, k] for t in steps):
            j = int(pp.create_load(net, idx[b], p_mw=demand_p[period, k] / 1000.0, q_mvar=demand_q[period, k] / 1000.0))
            add("load", "p_mw", j, demand_p[:, k])
            add("load", "q_mvar", j, demand_q[:, k])
        for kind, out in output.items():
            if any(out[t, k] for t in steps):
                j = int(pp.create_sgen(net, idx[b], p_mw=out[period, k] / 1000.0, type=kind, name=f"{kind} at {b}"))
                add("sgen", "p_mw", j, out[:, k])
    if not series:
        return net
    import pandas as pd
    from pandapower.control import ConstControl
    from pandapower.timeseries import DFData

    data = {
        f"{table}.{variable}.{j}": values
        for (table, variable), (elements, columns) in profiles.items()
        for j, values in zip(elements, columns, strict=True)
    }
    source = DFData(pd.DataFrame(data, index=pd.RangeIndex(T)))
    for (table, variable), (elements, _) in profiles.items():
        ConstControl(
            net,
            table,
            variable,
            elements,
            profile_name=[f"{table}.{variable}.{j}" for j in elements],
            data_source=source,
        )
    return net


def left_out(scenario: Scenario) -> list[str]:
    """What the export does not carry, in words (empty when everything is in it): assets the market dispatches
    (batteries, EVs, generators, CHP) have no injection of their own before a clearing, so the net holds the demand
    and the PV and wind availability only; a power flow of the export is the feeder without them."""
    kinds: dict[str, int] = {}
    for pr in scenario.prosumers:
        a = pr.asset
        if a is not None and a.kind not in ("pv", "wind"):
            kinds[a.kind] = kinds.get(a.kind, 0) + 1
    if not kinds:
        return []
    words = {"battery": ("battery", "batteries"), "ev": ("EV", "EVs"), "chp": ("CHP unit", "CHP units")}
    listed = ", ".join(f"{n:,} {words.get(kind, (kind, kind + 's'))[n != 1]}" for kind, n in sorted(kinds.items()))
    return [
        f"not exported: {listed} — the market dispatches them, so they have no injection before a clearing; the "
        "pandapower net holds the demand and the PV and wind output only"
    ]


def export_pandapower_json(
    scenario: Scenario, path: str | os.PathLike[str], period: int = 0, *, series: bool = False
) -> Path:
    """Write :func:`pandapower_net` to ``path`` with ``pandapower.to_json``, atomically. Returns ``path``."""
    net = pandapower_net(scenario, period, series=series)
    import pandapower as pp

    text = pp.to_json(net)
    return write_atomic(Path(path), lambda fh: fh.write(text))
