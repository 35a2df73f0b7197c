"""The Qt binding itself must not corrupt the interpreter.

PySide6-Essentials 6.12.0 releases ``None`` once too often from every void
method (``QPainter.drawEllipse``, ``save``…) on Python 3.11; painting the
feeder a few hundred times then drives None's reference count to zero and the
interpreter aborts. pyproject.toml excludes that release; this test fails if a
binding with the same fault comes back.
"""

import sys

from core.scenario.generate import teaching_5bus
from gui.feeder_view import FeederView


def test_painting_does_not_leak_references_to_none(qtbot):
    view = FeederView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.set_scenario(teaching_5bus())
    view.show()
    qtbot.waitExposed(view)
    view.buses["2"].setSelected(True)
    view.viewport().repaint()
    before = sys.getrefcount(None)
    for _ in range(20):
        view.viewport().repaint()
    drift = sys.getrefcount(None) - before
    # a faulty binding loses at least one reference per repaint; a sound one none
    assert abs(drift) <= 5, f"None's reference count drifted by {drift} over 20 repaints"
