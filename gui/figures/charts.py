"""Imports the modules whose builders :func:`gui.figures.figure` registers (the report's figures)."""

from __future__ import annotations
