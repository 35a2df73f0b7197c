"""Feeder Market's computation: scenario model, markets, network physics. Never imports Qt."""

__version__ = "0.1.0"
