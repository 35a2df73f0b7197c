"""Playing through the periods: the period steps on only after each result arrived, and pause stops it."""

from __future__ import annotations

from PySide6.QtCore import Qt

TIMEOUT_MS = 30000


def _fast_community(window, projects_dir, qtbot):
    """The IEEE 33-bus community with the slow diagnostics off, its first result on screen."""
    assert window.open_path(projects_dir / "ieee33-community.json", ask=False)
    controls = window.market_controls
    controls.audit.setChecked(False)
    controls.iterate.setChecked(False)
    qtbot.waitUntil(
        lambda: (
            window.market_result is not None and not window.runner.is_busy() and not window.market_result.settings.audit
        ),
        timeout=TIMEOUT_MS,
    )
    return controls


def test_play_advances_the_period_and_pause_stops_it(window, projects_dir, qtbot):
    controls = _fast_community(window, projects_dir, qtbot)
    assert controls._periods > 2 and controls.play.isEnabled()
    assert controls.play.accessibleName() == "Play" and "Space" in controls.play.toolTip()
    assert not controls.play.icon().isNull()  # the style's icon: fonts may lack the ⏸ glyph
    start = controls.period.value()
    seen: list[int] = []
    busy_at_step: list[bool] = []

    def on_period(value: int) -> None:
        seen.append(value)
        busy_at_step.append(window.runner.is_busy())

    controls.periodChanged.connect(on_period)
    qtbot.mouseClick(controls.play, Qt.MouseButton.LeftButton)
    assert controls.is_playing() and controls.play.accessibleName() == "Pause"
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=TIMEOUT_MS)
    assert seen[:2] == [(start + 1) % controls._periods, (start + 2) % controls._periods]
    assert not any(busy_at_step)  # each step came after the previous period's result: nothing queued
    qtbot.mouseClick(controls.play, Qt.MouseButton.LeftButton)
    assert not controls.is_playing() and controls.play.accessibleName() == "Play"
    assert not controls.play_timer.isActive()
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=TIMEOUT_MS)
    stopped = controls.period.value()
    controls.result_arrived()  # a late result does not restart the playback
    assert controls.period.value() == stopped


def test_play_stops_on_failure_and_on_a_single_period(window, projects_dir, qtbot):
    controls = _fast_community(window, projects_dir, qtbot)
    controls.toggle_play()  # the Ctrl+Space / Space action
    assert controls.is_playing()
    controls.set_failed("the solver gave up")
    assert not controls.is_playing()
    controls.toggle_play()
    assert controls.is_playing()
    assert window.open_path(projects_dir / "teaching-5bus.json", ask=False)
    assert window.doc.scenario.periods == 1  # a scenario of one period stops the playback
    assert not controls.is_playing() and not controls.play.isEnabled()
    controls.start_playing()
    assert not controls.is_playing()
