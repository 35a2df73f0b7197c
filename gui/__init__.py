"""Feeder Market's desktop application (PySide6 + pyqtgraph). Reads core's results; computes nothing itself."""
