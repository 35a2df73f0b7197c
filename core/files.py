"""Reading input files within limits, and atomic writes: a crash never leaves half a file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

MAX_INPUT_BYTES = 200 * 1024 * 1024  # the largest project (or CSV) file read: 200 MB


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


def read_text(path: str | os.PathLike[str], limit: int = MAX_INPUT_BYTES) -> str:
    """The UTF-8 text of ``path`` (a UTF-8 byte-order mark, as Notepad writes it, is dropped), read no further
    than ``limit`` bytes. Raises :class:`~core.errors.ScenarioError` naming the file with one plain line: no such
    file, a folder, unreadable, too large (``/dev/zero`` is refused, not read until memory runs out), not UTF-8."""
    from core.errors import ScenarioError

    p = Path(path)
    if p.is_dir():
        raise ScenarioError("is a folder, not a file", file=str(p))
    try:
        with open(p, "rb") as fh:
            data = fh.read(limit + 1)
    except FileNotFoundError:
        raise ScenarioError("no such file", file=str(p)) from None
    except PermissionError:
        raise ScenarioError("cannot be read: permission denied", file=str(p)) from None
    except OSError as err:
        raise ScenarioError(f"cannot be read: {err.strerror or err}", file=str(p)) from None
    if len(data) > limit:
        raise ScenarioError(
            f"is larger than {limit / 2**20:,.0f} MB, the most a project file may hold (is it one?)", file=str(p)
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ScenarioError(
            f"is not UTF-8 text: byte 0x{data[err.start]:02x} at line {line} (save it as UTF-8)", file=str(p)
        ) from None
