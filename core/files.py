"""Atomic file writes: a crash never leaves half a file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def write_atomic(
    path: str | os.PathLike[str],
    write: Callable[[IO], None],
    mode: str = "w",
    encoding: str | None = "utf-8",
    newline: str | None = "\n",
) -> Path:
    """Call ``write(fh)`` on a temporary file beside ``path``, flush it to disk, then rename it over ``path``.

    On any failure the temporary file is removed and ``path`` is left as it
    was. A new file gets mode 0644; a replaced one keeps its mode.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        binary = "b" in mode
        with os.fdopen(fd, mode, **({} if binary else {"encoding": encoding, "newline": newline})) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, p.stat().st_mode & 0o777 if p.exists() else 0o644)
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return p
