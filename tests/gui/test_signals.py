"""A running dashboard stops on Ctrl+C (SIGINT) and SIGTERM: exit 0 within 5 s, its worker processes gone."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (Linux /proc)."""
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.add(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_running_dashboard_stops_on_a_signal(tmp_path, sig):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gui", str(ROOT / "projects" / "teaching-5bus.json")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while time.monotonic() < deadline and proc.poll() is None:  # the clearing process is up: it is running
            workers = {c for c in _children(proc.pid) if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()}
            if workers:
                break
            time.sleep(0.2)
        assert workers, "the dashboard never started its worker process"
        time.sleep(1.0)
        proc.send_signal(sig)
        code = proc.wait(timeout=5)
        err = proc.stderr.read()
        assert code == 0, err
        assert "Traceback" not in err and "leaked semaphore" not in err, err
        time.sleep(0.5)
        assert not any(_alive(w) for w in workers), "a worker process outlived the dashboard"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
