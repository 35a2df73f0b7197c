"""The feeder on the map: "Geographic layout" is offered when every bus has coordinates, on by default then, and
moves the buses to where they are (east to the right, north up); off, the one-line diagram comes back."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import QPointF, Qt

from core.scenario.edit import adding_bus
from core.scenario.generate import teaching_5bus
from gui.feeder_items import LineItem
from gui.feeder_view import FeederView

# metres east and north: 1 north of the substation, 2 and 3 west of 1, 4 north-east of 1 (in the tree, 4 hangs to
# the left of 2: the map reverses east and west, and puts the substation at the bottom)
XY = {"S": (0.0, 0.0), "1": (0.0, 100.0), "2": (-100.0, 100.0), "3": (-200.0, 100.0), "4": (100.0, 200.0)}


def with_coordinates(s, xy=XY):
    buses = tuple(replace(b, x=xy[b.id][0], y=xy[b.id][1]) for b in s.feeder.buses)
    return replace(s, feeder=replace(s.feeder, buses=buses))


@pytest.fixture
def view(qtbot):
    v = FeederView()
    qtbot.addWidget(v)
    v.resize(900, 700)
    v.show()
    qtbot.waitExposed(v)
    return v


def positions(view):
    return {b: view.bus_scene_pos(b) for b in view.buses}


def line_between(view, s, a, b):
    return next(view.lines[ln.id] for ln in s.feeder.lines if {ln.from_bus, ln.to_bus} == {a, b})


def test_the_switch_is_off_and_disabled_without_coordinates(view):
    view.set_scenario(teaching_5bus())
    box = view.geographic_box
    assert box.text() == "Geographic layout"
    assert not box.isEnabled() and not box.isChecked() and not view.is_geographic()
    assert "needs geographic coordinates" in box.toolTip()


def test_coordinates_put_the_buses_on_the_map_and_the_switch_brings_the_tree_back(view, qtbot):
    plain = teaching_5bus()
    view.set_scenario(plain)
    tree = positions(view)
    assert tree["4"].x() < tree["2"].x()  # the tree: the short lateral to the left

    mapped = with_coordinates(plain)
    view.set_scenario(mapped)  # the same topology, coordinates added
    box = view.geographic_box
    assert box.isEnabled() and box.isChecked() and view.is_geographic()
    assert "on the map" in box.toolTip()
    pos = positions(view)
    # east to the right, west to the left, in the coordinates' order
    assert pos["3"].x() < pos["2"].x() < pos["1"].x() < pos["4"].x()
    assert pos["S"].x() == pytest.approx(pos["1"].x())
    # north up: 4 at the top, the substation at the bottom
    assert pos["4"].y() < pos["1"].y() < pos["S"].y()
    assert pos["1"].y() == pytest.approx(pos["2"].y()) == pytest.approx(pos["3"].y())
    # one scale for both axes: 4 is as far north of 1 as it is east of it
    assert pos["1"].y() - pos["4"].y() == pytest.approx(pos["4"].x() - pos["1"].x())
    assert pos["1"].x() - pos["2"].x() == pytest.approx(pos["4"].x() - pos["1"].x())
    diagonal = line_between(view, mapped, "1", "4")
    assert diagonal.path().elementCount() == 2  # a straight line, not an elbow
    assert diagonal.path().pointAtPercent(0.0) == pos["1"]  # from its upstream end
    # the labels follow their buses
    assert view.labels["4"].pos().x() > pos["4"].x() and view.labels["4"].pos().y() < pos["4"].y()

    qtbot.mouseClick(box, Qt.MouseButton.LeftButton)  # the user switches it off
    assert not box.isChecked() and not view.is_geographic()
    assert positions(view) == tree
    assert line_between(view, mapped, "1", "4").path().elementCount() == 3  # across, then down

    view.set_scenario(replace(mapped, name="renamed"))  # an edit keeps the user's choice
    assert not view.is_geographic() and box.isEnabled()
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
    assert view.is_geographic() and positions(view) == pos


def test_selection_and_new_buses_on_the_map(view):
    mapped = with_coordinates(teaching_5bus())
    view.set_scenario(mapped)
    view.select_bus("4")
    assert view.selected_bus() == "4"
    halo = view.selection_marks()[0]
    assert halo.pos() == view.bus_scene_pos("4")
    # a bus added below 3 gets coordinates south-east of it: the feeder stays on the map
    grown, new = adding_bus(mapped, "3")
    added = grown.feeder.buses[-1]
    assert (added.id, added.x, added.y) == (new, -150.0, 50.0)  # half the median line (100 m) east and south
    view.set_scenario(grown)
    assert view.is_geographic()
    p = view.bus_scene_pos(new)
    assert p.x() > view.bus_scene_pos("3").x() and p.y() > view.bus_scene_pos("3").y()
    assert view.selected_bus() == "4"
    # a feeder without coordinates: back to the tree, the switch disabled
    view.set_scenario(teaching_5bus())
    assert not view.is_geographic() and not view.geographic_box.isEnabled()


def test_a_straight_line_points_its_reverse_flow_arrow_upstream(qtbot):
    line = LineItem("L")
    line.set_ends(QPointF(0.0, 0.0), QPointF(40.0, 0.0), straight=True)  # upstream to the west
    line.set_reverse(True)
    arrow = line.childItems()[0]
    assert arrow.pos() == QPointF(20.0, 0.0)
    tip = arrow.mapToParent(QPointF(0.0, -5.0))  # the arrow's tip, pointing up before rotation
    assert tip.x() == pytest.approx(15.0) and tip.y() == pytest.approx(0.0)
    line.set_ends(QPointF(0.0, 0.0), QPointF(40.0, 30.0))  # the elbow: the arrow on the drop, pointing up
    assert arrow.rotation() == 0.0 and arrow.pos() == QPointF(40.0, 15.0)
