"""The run's log: what the process and its children write while it captures lands in the log,
and a child that outlives the run (as multiprocessing's resource tracker, started by dbt, does)
does not hold the run's end. The capture runs in a separate process: it takes over fds 1 and 2."""

from __future__ import annotations

import subprocess
import sys
import time

CAPTURE = """
import subprocess, sys
from pathlib import Path
from csp_pipeline.orchestration.run_log import RunLog
with RunLog(Path(sys.argv[1])):
    print("from the run", flush=True)
    subprocess.run(["echo", "from a child"])
    lingering = subprocess.Popen(["sleep", "30"])  # holds the pipe's write end
print("after the run", flush=True)
lingering.kill()
"""


def test_the_run_ends_at_once_though_a_child_holds_the_log_open(tmp_path):
    log = tmp_path / "run.log"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", CAPTURE, str(log)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 8  # the pump used to wait 10 s for the pipe's end
    assert log.read_text().splitlines() == ["from the run", "from a child"]
    assert done.stdout == "after the run\n"
