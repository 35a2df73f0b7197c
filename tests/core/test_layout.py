"""The feeder's drawing: a tidy tree whose buses never overlap and whose lines never cross, at any size."""

import bisect
import itertools
from collections import defaultdict

import pytest

from core.scenario.generate import ieee33_community, synthetic_feeder, teaching_5bus
from core.scenario.layout import tree_layout


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
