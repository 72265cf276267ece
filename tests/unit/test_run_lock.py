"""One run at a time: a second `csp run` is refused with a message naming the run holding the
lock (or waits a bounded time for it), and a run killed with SIGKILL leaves no stale lock. The
holder is a real separate process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from csp_pipeline.cli.main import main as csp
from csp_pipeline.orchestration.run_lock import RunLocked, lock_path, run_lock

HOLD = """
import sys, time
from pathlib import Path
from csp_pipeline.orchestration.run_lock import run_lock
with run_lock(Path(sys.argv[1]), "2024-05-30"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold(data_dir: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(data_dir), str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_run_is_refused_naming_the_run_that_holds_the_lock(tmp_path, monkeypatch,
                                                                     capsys):
    monkeypatch.setenv("CSP_DATA_DIR", str(tmp_path))
    holder = hold(tmp_path, 60)
    try:
        started = time.monotonic()
        assert csp(["run", "--date", "2024-05-31"]) == 1
        assert time.monotonic() - started < 10
        err = capsys.readouterr().err
        assert f"pid {holder.pid}" in err and "night 2024-05-30" in err
        assert "Traceback" not in err and "--wait" in err
    finally:
        holder.kill()
        holder.wait()


def test_a_waiting_run_gets_the_lock_when_the_first_finishes(tmp_path):
    holder = hold(tmp_path, 1.5)
    with pytest.raises(RunLocked):
        with run_lock(tmp_path, "2024-05-31", wait_seconds=0):
            pass
    with run_lock(tmp_path, "2024-05-31", wait_seconds=30):
        assert f'"pid": {os.getpid()}' in lock_path(tmp_path).read_text()
    holder.wait()


def test_a_run_killed_with_sigkill_leaves_no_stale_lock(tmp_path):
    holder = hold(tmp_path, 60)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert f'"pid": {holder.pid}' in lock_path(tmp_path).read_text()  # the file stays...
    with run_lock(tmp_path, "2024-05-31", wait_seconds=0):  # ...but not the lock
        pass
