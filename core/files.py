"""Reading input files within limits, and atomic writes: a crash never leaves half a file."""

from __future__ import annotations

import os
import tempfile
import time
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
    """Call ``write(fh)`` on a temporary file beside ``path``, flush it to disk, then rename it over ``path`` and
    flush the folder: after a crash or a kill at any moment, ``path`` is the old file or the new one, whole.

    * On any failure the temporary file is removed and ``path`` is left as it was.
    * A symbolic link is followed: its target is replaced (atomically, beside the target), the link kept.
    * Temporary files of this name left by a write that was killed (``.NAME.*.tmp``, older than this write) are
      removed once the new file is in place.
    * A new file gets mode 0644; a replaced one keeps its mode.

    Returns ``path`` as given (the link, when it is one).
    """
    started = time.time()
    given = Path(path)
    p = _target(given)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=TMP_SUFFIX, dir=p.parent)
    except OSError as e:  # said of the file asked for, not of the temporary one beside it
        raise _of(e, given) from None
    try:
        binary = "b" in mode
        with os.fdopen(fd, mode, **({} if binary else {"encoding": encoding, "newline": newline})) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, p.stat().st_mode & 0o777 if p.exists() else 0o644)
        try:
            os.replace(tmp, p)
        except OSError as e:
            raise _of(e, given) from None
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_folder(p.parent)
    remove_stale_temporaries(p, older_than=started)  # left before this save began: no save of ours is in them
    return given


TMP_SUFFIX = ".tmp"


def _of(e: OSError, given: Path) -> OSError:
    """``e`` said of ``given`` (an error with an errno names the path; any other is kept as it is)."""
    return OSError(e.errno, e.strerror, str(given)) if e.errno is not None else e


def _target(given: Path) -> Path:
    """The file a write to ``given`` replaces: a link's target (a loop of links refused), never a folder, a device
    or a read-only file (renaming over them needs only the folder's permission, so they are refused here)."""
    import errno
    import stat

    p = given
    if given.is_symlink():
        try:
            p = Path(os.path.realpath(given, strict=True))
        except FileNotFoundError:  # a dangling link: its target is created
            p = Path(os.path.realpath(given))
        except OSError as e:
            raise _of(e, given) from None
    try:
        st = p.stat()
    except FileNotFoundError:
        return p
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder; give the file to write", str(given))
    if not stat.S_ISREG(st.st_mode):
        raise OSError(errno.EINVAL, "is not a regular file (a device or a pipe); write to a file", str(given))
    if not st.st_mode & 0o222 or not os.access(p, os.W_OK):
        raise PermissionError(errno.EACCES, "is read-only; make it writable or write elsewhere", str(given))
    return p


def _fsync_folder(folder: Path) -> None:
    """Flush the folder's entry of the renamed file to disk (POSIX; elsewhere the rename is the best there is)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temporaries(path: str | os.PathLike[str], older_than: float | None = None) -> list[Path]:
    """Remove the temporary files a killed :func:`write_atomic` of ``path`` left beside it (``.NAME.*.tmp``) that
    are older than ``older_than`` (seconds since the epoch; default: older than ``path`` itself, the last good
    save). Returns what was removed; files it cannot remove are left alone."""
    p = Path(path)
    if p.is_symlink():
        p = Path(os.path.realpath(p))
    if older_than is None:
        try:
            older_than = p.stat().st_mtime
        except OSError:
            return []
    removed = []
    try:
        candidates = list(p.parent.glob(f".{glob_escape(p.name)}.*{TMP_SUFFIX}"))
    except OSError:
        return []
    for c in candidates:
        try:
            if c.is_file() and not c.is_symlink() and c.stat().st_mtime < older_than:
                c.unlink()
                removed.append(c)
        except OSError:
            pass
    return removed


def glob_escape(name: str) -> str:
    import glob

    return glob.escape(name)


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
