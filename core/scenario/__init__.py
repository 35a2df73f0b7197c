"""The scenario: data model, validation, project files and importers.

Names are loaded on first use (PEP 562): ``from core.scenario import load_project`` does not import the importers'
numerical stack, so the command line starts fast."""

from __future__ import annotations

import importlib

_WHERE = {
    **dict.fromkeys(("Problem", "ScenarioError"), "core.errors"),
    **dict.fromkeys(
        ("PROSUMER_CSV_COLUMNS", "export_prosumers_csv", "import_pandapower", "import_prosumers_csv"),
        "core.scenario.importers",
    ),
    **dict.fromkeys(
        ("SCHEMA_VERSION", "dumps_project", "load_project", "loads_project", "save_project"), "core.scenario.io"
    ),
    **dict.fromkeys(
        (
            "ASSET_KINDS",
            "Asset",
            "BidBlock",
            "Bus",
            "Feeder",
            "FlexibleLoad",
            "Line",
            "Prosumer",
            "Scenario",
            "Substation",
            "Tariffs",
            "TimeHorizon",
            "Transformer",
            "validate_scenario",
        ),
        "core.scenario.model",
    ),
}


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'core.scenario' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = sorted(_WHERE)
