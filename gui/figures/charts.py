"""Imports the modules whose builders :func:`gui.figures.figure` registers (the report's figures)."""

# ruff: noqa: F401 - imported for their registrations

from __future__ import annotations

import gui.figures.comparison
import gui.figures.day_prices
import gui.figures.dlmp
import gui.figures.fairness
import gui.figures.feeder
import gui.figures.market_power
import gui.figures.supply_demand
