"""The Studies dock, by part: the spec form, the results view (plots and table), the panel that runs them."""

from gui.studies.labels import metric_label
from gui.studies.panel import StudiesPanel

__all__ = ["StudiesPanel", "metric_label"]
