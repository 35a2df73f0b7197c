"""Test setup shared by core and GUI tests.

GUI tests run without a display: Qt's offscreen platform is selected here,
before any test imports PySide6.
"""

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
PROJECTS = REPO / "projects"


@pytest.fixture
def projects_dir() -> Path:
    return PROJECTS
