"""GUI fixtures: a window on the default project with settings kept in a temporary file."""

import gc

import pytest
from PySide6.QtCore import QSettings


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    from gui.main_window import MainWindow

    # on a thread, where tests can intercept the clearing; the process is tested in test_process_runner.py and
    # test_workers.py. Windows in worker processes by default cost +287 s of test time (920 vs 633 s over the
    # 114 tests passing both ways, ~+144 s wall on 2 cores): each window spawns a cold process
    w = MainWindow(settings=settings, process=False)
    w.ask_save_changes = lambda: pytest.fail("unexpected 'save changes?' prompt")
    # closing at teardown must not prompt
    qtbot.addWidget(w, before_close_func=lambda win: win.doc.undo_stack.setClean())
    w.show()
    qtbot.waitExposed(w)
    return w


@pytest.fixture
def teaching(window, projects_dir, qtbot):
    """The window on the teaching project (the chapter's auction), its first result on screen."""
    from tests.gui.waiting import result_where

    assert window.open_path(projects_dir / "teaching-5bus.json", ask=False)
    result_where(window, qtbot, lambda r: r.scenario_name.startswith("Teaching"))
    return window


@pytest.fixture(autouse=True)
def _collect_qt_garbage(qapp):
    """Free each test's widgets while the QApplication lives.

    Left for the interpreter's final garbage collection, PySide6 objects caught
    in reference cycles are torn down after Qt and abort the process.
    """
    yield
    qapp.processEvents()
    gc.collect()
    qapp.processEvents()
