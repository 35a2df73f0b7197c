"""The feeder's drawing: a tidy tree whose buses never overlap and whose lines never cross, at any size."""

import bisect
import itertools
from collections import defaultdict
from dataclasses import replace

import pytest

from core.scenario.generate import ieee33_community, synthetic_feeder, teaching_5bus
from core.scenario.layout import geographic_layout, tree_layout
from core.scenario.model import Bus, Feeder, Line, Substation


def segments(feeder, pos):
    """Each line as drawn: horizontal on its upstream bus's row to the downstream column, then down."""
    out = []
    for ln in feeder.lines:
        a, b = pos[ln.from_bus], pos[ln.to_bus]
        up, down = (a, b) if a[1] <= b[1] else (b, a)
        parent = ln.from_bus if a[1] <= b[1] else ln.to_bus
        h = ("h", up[1], min(up[0], down[0]), max(up[0], down[0]), parent)
        out.append((ln.id, h, ("v", down[0], up[1], down[1])))
    return out


def check(feeder):
    pos = tree_layout(feeder)
    assert set(pos) == {b.id for b in feeder.buses}
    rows = defaultdict(list)
    for x, y in pos.values():
        rows[y].append(x)
    for xs in rows.values():  # one column apart at least, on every row
        xs.sort()
        assert all(b - a >= 1.0 for a, b in itertools.pairwise(xs))
    root = feeder.substation.bus
    for ln in feeder.lines:  # a parent one row above its child
        a, b = pos[ln.from_bus], pos[ln.to_bus]
        assert abs(a[1] - b[1]) == 1.0
    # no bus on another line's horizontal run, and no two buses' connectors (the runs to their children, which
    # share the parent's end) overlapping on a row
    segs = segments(feeder, pos)
    spans: dict[str, list[float]] = {}
    for _id, h, _v in segs:
        lo, hi = spans.get(h[4], [h[2], h[3]])
        spans[h[4]] = [min(lo, h[2]), max(hi, h[3])]
    by_row = defaultdict(list)
    for parent, (lo, hi) in spans.items():
        if hi > lo:
            by_row[pos[parent][1]].append((lo, hi))
    for runs in by_row.values():
        runs.sort()
        assert all(r2[0] >= r1[1] for r1, r2 in itertools.pairwise(runs)), "two connectors overlap"
    spans_at = {y: sorted((lo, hi, parent) for parent, (lo, hi) in spans.items() if pos[parent][1] == y) for y in rows}
    for bus, (x, y) in pos.items():  # a bus inside a connector's run is the bus it starts from, none other
        runs = spans_at.get(y, [])
        k = bisect.bisect_left(runs, (x, float("inf"), "")) - 1
        if k >= 0 and runs[k][0] < x < runs[k][1]:
            assert runs[k][2] == bus, f"bus {bus} sits on the connector of bus {runs[k][2]}"
    return pos, root


def test_the_main_feeder_is_one_vertical_line_and_the_laterals_hang_to_its_left():
    s = ieee33_community()
    pos, _root = check(s.feeder)
    trunk = [str(k) for k in range(1, 19)]  # buses 1…18, the Baran–Wu main feeder
    assert len({pos[b][0] for b in trunk}) == 1
    assert all(pos[b][0] < pos["1"][0] for b in ("19", "23", "26", "33"))
    assert pos["19"][1] == pos["2"][1] + 1  # a lateral starts one row under the bus it branches from


@pytest.mark.parametrize("n", [1000, 5000])
def test_large_feeders_keep_their_buses_apart_and_their_lines_uncrossed(n):
    s = synthetic_feeder(n_buses=n, n_prosumers=1, seed=n, periods=1)
    pos, _root = check(s.feeder)
    width = max(x for x, _ in pos.values()) - min(x for x, _ in pos.values())
    g = s.feeder.graph()
    leaves = sum(1 for b in s.feeder.buses if g.degree(b.id) == 1)
    assert width <= 0.75 * leaves  # the contours pack the laterals (a column per leaf: 357 of 358 on 1,000 buses)


def test_the_teaching_feeder():
    check(teaching_5bus().feeder)


# --------------------------------------------------------------------------- the map


def three_buses(**xy) -> Feeder:
    """S with A to its east and B to its south (coordinates ``xy``: {bus: (x, y)})."""
    return Feeder(
        base_kv=20.0,
        base_kva=1000.0,
        substation=Substation("S", v_set_pu=1.0, wholesale_price_per_kwh=(0.1,)),
        buses=tuple(Bus(b, x=xy[b][0], y=xy[b][1]) if b in xy else Bus(b) for b in ("S", "A", "B")),
        lines=(Line("L1", "S", "A", r_ohm=0.1, x_ohm=0.1), Line("L2", "B", "S", r_ohm=0.1, x_ohm=0.1)),
    )


def test_geographic_layout_puts_north_up_in_units_of_the_median_line():
    # A 0.02° east of S, B 0.01° south of S: the lines are 0.02 and 0.01 long, the unit their median 0.015
    pos = geographic_layout(three_buses(S=(7.0, 48.0), A=(7.02, 48.0), B=(7.0, 47.99)))
    assert pos.keys() == {"S", "A", "B"}
    assert pos["S"] == pytest.approx((0.0, 0.0))
    assert pos["A"] == pytest.approx((0.02 / 0.015, 0.0))  # east: to the right
    assert pos["B"] == pytest.approx((0.0, 0.01 / 0.015))  # south: below (y grows downwards, as a tree's depth)
    # metres give the same drawing: only relative positions count
    metres = geographic_layout(three_buses(S=(1000.0, 5000.0), A=(1200.0, 5000.0), B=(1000.0, 4900.0)))
    assert {b: metres[b] for b in "SAB"} == {b: pytest.approx(pos[b]) for b in "SAB"}


def test_geographic_layout_needs_every_bus_placed():
    assert geographic_layout(three_buses()) is None
    assert geographic_layout(three_buses(S=(7.0, 48.0), A=(7.02, 48.0))) is None  # B has none
    assert geographic_layout(three_buses(S=(1.0, 1.0), A=(1.0, 1.0), B=(1.0, 1.0))) is None  # all on one point
    f = three_buses(S=(0.0, 0.0), A=(0.0, 0.0), B=(0.0, -3.0))  # one line of length zero: the other is the unit
    assert geographic_layout(f) == {"S": (0.0, 0.0), "A": (0.0, 0.0), "B": (0.0, 1.0)}
    one = replace(f, buses=(Bus("S", x=5.0, y=5.0),), lines=())
    assert geographic_layout(one) == {"S": (0.0, 0.0)}
