"""Importers and exporters of a scenario: prosumer tables as CSV (:mod:`core.scenario.csv_io`) and pandapower
networks (:mod:`core.scenario.pandapower_io`), SimBench grids with a day of profiles (:mod:`core.scenario.simbench_io`);
this module keeps their public names in one place."""

from __future__ import annotations

from core.scenario.csv_io import (
    ASSET_COLUMNS,
    FLEX_COLUMNS,
    PROSUMER_CSV_COLUMNS,
    REQUIRED_COLUMNS,
    export_prosumers_csv,
    import_prosumers_csv,
    solar_availability,
)
from core.scenario.pandapower_io import export_pandapower, import_pandapower
from core.scenario.simbench_io import import_simbench, radial_simbench_codes

__all__ = [
    "ASSET_COLUMNS",
    "FLEX_COLUMNS",
    "PROSUMER_CSV_COLUMNS",
    "REQUIRED_COLUMNS",
    "export_pandapower",
    "export_prosumers_csv",
    "import_pandapower",
    "import_prosumers_csv",
    "import_simbench",
    "radial_simbench_codes",
    "solar_availability",
]
