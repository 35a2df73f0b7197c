"""Saving: a kill at any moment leaves the old file or the new one, whole; links are kept; leftovers are cleaned."""

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from core.files import remove_stale_temporaries, write_atomic

posix = pytest.mark.skipif(os.name != "posix", reason="signals and symbolic links as on POSIX")


def test_a_save_through_a_link_replaces_its_target_and_keeps_the_link(tmp_path):
    if os.name != "posix":
        pytest.skip("symbolic links")
    target = tmp_path / "real" / "project.json"
    target.parent.mkdir()
    target.write_text("old", encoding="utf-8")
    link = tmp_path / "project.json"
    link.symlink_to(target)
    assert write_atomic(link, lambda fh: fh.write("new")) == link
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text(encoding="utf-8") == "new"
    assert not list(tmp_path.glob(".*.tmp")) and not list(target.parent.glob(".*.tmp"))


def _write(text):
    return lambda fh: fh.write(text)


def test_what_a_save_must_not_replace_is_refused_by_its_name(tmp_path):
    """Renaming over a file needs only the folder's permission: a read-only file, a device, a folder and a loop of
    links are refused before anything is written, each error naming the path asked for (not the temporary file)."""
    ro = tmp_path / "ro.json"
    ro.write_text("old")
    ro.chmod(0o444)
    with pytest.raises(PermissionError, match="read-only") as e:
        write_atomic(ro, _write("new"))
    assert e.value.filename == str(ro) and ro.read_text() == "old"
    with pytest.raises(IsADirectoryError) as e:
        write_atomic(tmp_path, _write("new"))
    assert e.value.filename == str(tmp_path)
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    with pytest.raises(OSError, match="symbolic links"):
        write_atomic(loop, _write("new"))
    assert loop.is_symlink()
    with pytest.raises(OSError, match="not a regular file"):
        write_atomic("/dev/null", _write("new"))
    with pytest.raises(OSError) as e:
        write_atomic(Path("/proc/nope/x.json"), _write("new"))
    assert e.value.filename == "/proc/nope/x.json"
    assert [f for f in tmp_path.iterdir() if f.name.endswith(".tmp")] == []


def test_leftovers_of_a_killed_save_go_at_the_next_save_and_only_they(tmp_path):
    p = tmp_path / "project.json"
    p.write_text("v1", encoding="utf-8")
    stale = tmp_path / ".project.json.k1ll3d.tmp"
    stale.write_text("half a fil", encoding="utf-8")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    other = tmp_path / ".other.json.abc.tmp"  # another file's: not ours to remove
    other.write_text("x", encoding="utf-8")
    os.utime(other, (old, old))
    write_atomic(p, lambda fh: fh.write("v2"))
    assert not stale.exists() and other.exists() and p.read_text(encoding="utf-8") == "v2"
    # at start: what is older than the last good save goes, a newer one (a save in progress) stays
    fresh = tmp_path / ".project.json.inprogress.tmp"
    fresh.write_text("…", encoding="utf-8")
    later = p.stat().st_mtime + 10
    os.utime(fresh, (later, later))
    stale.write_text("half", encoding="utf-8")
    os.utime(stale, (old, old))
    assert remove_stale_temporaries(p) == [stale] and fresh.exists()


CHILD = textwrap.dedent(
    """
    import sys
    from core.files import write_atomic
    path = sys.argv[1]
    a, b = "A" * 400_000 + "\\n", "B" * 600_000 + "\\n"
    print("ready", flush=True)
    i = 0
    while True:
        text = a if i % 2 else b
        write_atomic(path, lambda fh: fh.write(text))
        i += 1
    """
)


@posix
def test_a_save_killed_at_random_moments_leaves_the_old_or_the_new_file(tmp_path):
    p = tmp_path / "project.json"
    a = "A" * 400_000 + "\n"  # large enough that a write takes a while: kills land inside it
    b = "B" * 600_000 + "\n"
    p.write_text(a, encoding="utf-8")
    rng = random.Random(17)
    root = Path(__file__).resolve().parents[2]
    for _ in range(30):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(p)],
            cwd=root,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(root)},
        )
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.05))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        assert p.read_text(encoding="utf-8") in (a, b)  # whole, never half
    write_atomic(p, lambda fh: fh.write(a))  # the next good save cleans what the kills left
    assert p.read_text(encoding="utf-8") == a
    assert not list(tmp_path.glob(".project.json.*.tmp"))
