"""Where the program writes what went wrong: :func:`configure` sets up :mod:`logging` once per process (a log file
for the dashboard, standard error for the command line), so that a failure's traceback can be reported."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"
MAX_BYTES = 1_000_000  # the log file rolls over at this size, keeping one older file

_configured: Path | None = None


def configure(path: Path | None = None, level: int = logging.INFO) -> Path | None:
    """Send the project's log records (``core``, ``gui``) to ``path`` (a rotating file; its folder is created) or,
    with no path, warnings and worse to standard error. Idempotent: a second call changes nothing and returns the
    file of the first. Returns the log file (None: standard error)."""
    global _configured
    root = logging.getLogger()
    if getattr(root, "_feeder_market", False):
        return _configured
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler: logging.Handler = logging.handlers.RotatingFileHandler(
                path, maxBytes=MAX_BYTES, backupCount=1, encoding="utf-8"
            )
        except OSError:  # a read-only home: log to standard error rather than not start
            handler, path = logging.StreamHandler(), None
            level = max(level, logging.WARNING)
    else:
        handler = logging.StreamHandler()
        level = max(level, logging.WARNING)
    # a terminal gets a line in the command line's own style ("warning: …"); a log file the time and the process
    handler.setFormatter(logging.Formatter(FORMAT) if path is not None else _TerminalFormatter())
    for name in ("core", "gui"):
        logging.getLogger(name).setLevel(level)
    root.addHandler(handler)
    root._feeder_market = True  # type: ignore[attr-defined]
    _configured = path
    return path


class _TerminalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = f"{record.levelname.lower()}: {record.getMessage()}"
        if record.exc_info:  # a traceback stays for the log of a crash
            text += "\n" + self.formatException(record.exc_info)
        return text


def log_file() -> Path | None:
    """The log file :func:`configure` opened (None: none)."""
    return _configured
