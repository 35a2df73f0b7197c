"""A tidy drawing of the radial feeder: substation at the top, one row per depth."""

from __future__ import annotations

import networkx as nx

from core.scenario.model import Feeder


def tree_layout(feeder: Feeder) -> dict[str, tuple[float, float]]:
    """Positions ``(x, y)`` in layout units: ``y`` is the depth (0 at the substation)
    and leaves sit on consecutive ``x``.

    A parent stands straight above its largest subtree, so the main feeder is
    one vertical line (as in a one-line diagram) and the laterals, visited
    smallest first, branch off to its left.
    """
    g = feeder.graph()
    root = feeder.substation.bus
    tree = nx.bfs_tree(g, root)
    size: dict[str, int] = {}
    for node in reversed(list(nx.topological_sort(tree))):
        size[node] = 1 + sum(size[c] for c in tree.successors(node))
    order = {b.id: i for i, b in enumerate(feeder.buses)}
    pos: dict[str, tuple[float, float]] = {}
    next_leaf = 0.0
    # iterative post-order (a 1,000-bus chain would overflow recursion)
    stack: list[tuple[str, int, bool]] = [(root, 0, False)]
    while stack:
        node, depth, done = stack.pop()
        kids = sorted(tree.successors(node), key=lambda c: (size[c], order.get(c, 0)))
        if done:
            pos[node] = (pos[kids[-1]][0], float(depth))
            continue
        if not kids:
            pos[node] = (next_leaf, float(depth))
            next_leaf += 1.0
            continue
        stack.append((node, depth, True))
        for c in reversed(kids):
            stack.append((c, depth + 1, False))
    # buses not reachable (only in an invalid scenario) go in a row underneath
    depth_max = max((p[1] for p in pos.values()), default=0.0)
    for b in feeder.buses:
        if b.id not in pos:
            pos[b.id] = (next_leaf, depth_max + 1.0)
            next_leaf += 1.0
    return pos


def electrical_depth(feeder: Feeder) -> dict[str, int]:
    """Number of lines between each bus and the substation."""
    return nx.single_source_shortest_path_length(feeder.graph(), feeder.substation.bus)
