"""The scenario: data model, validation, project files and importers."""

from core.errors import Problem, ScenarioError
from core.scenario.importers import (
    PROSUMER_CSV_COLUMNS,
    export_prosumers_csv,
    import_pandapower,
    import_prosumers_csv,
)
from core.scenario.io import SCHEMA_VERSION, dumps_project, load_project, loads_project, save_project
from core.scenario.model import (
    ASSET_KINDS,
    Asset,
    BidBlock,
    Bus,
    Feeder,
    FlexibleLoad,
    Line,
    Prosumer,
    Scenario,
    Substation,
    Tariffs,
    TimeHorizon,
    Transformer,
    validate_scenario,
)

__all__ = [
    "ASSET_KINDS",
    "PROSUMER_CSV_COLUMNS",
    "SCHEMA_VERSION",
    "Asset",
    "BidBlock",
    "Bus",
    "Feeder",
    "FlexibleLoad",
    "Line",
    "Problem",
    "Prosumer",
    "Scenario",
    "ScenarioError",
    "Substation",
    "Tariffs",
    "TimeHorizon",
    "Transformer",
    "dumps_project",
    "export_prosumers_csv",
    "import_pandapower",
    "import_prosumers_csv",
    "load_project",
    "loads_project",
    "save_project",
    "validate_scenario",
]
