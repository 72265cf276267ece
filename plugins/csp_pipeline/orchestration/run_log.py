"""Where a `csp run`'s library output goes: a per-run log file, and each task's own log.

While a run captures, everything this process and its children write to stdout and stderr
(Airflow, cosmos, dbt, Great Expectations, warnings) goes through a pipe to the run's log file
and, while a task runs, also to that task's log in Airflow's layout
(`<AIRFLOW_HOME>/logs/dag_id=.../run_id=.../task_id=.../attempt=N.log`); with `verbose` it is
shown on the terminal too. The switch between task logs travels through the same pipe as a
marker line, so every line lands in the log of the task that wrote it.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import BinaryIO

MARKER = b"\x00csp-task-log\x00"
END = b"\x00csp-run-log-end\x00\n"
_active: RunLog | None = None


def task_log_path(logs_root: Path, dag_id: str, run_id: str, task_id: str, map_index: int,
                  try_number: int) -> Path:
    """Airflow's own log layout, so the files are where an Airflow user looks for them."""
    folder = logs_root / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
    if map_index >= 0:
        folder = folder / f"map_index={map_index}"
    return folder / f"attempt={try_number}.log"


def to_task(path: Path | None) -> None:
    """From now on, captured output also goes to this task's log (None: to the run log only)."""
    if _active is not None:
        _active.switch(path)


class RunLog:
    """Captures fd 1 and 2 into `path` (see module doc) while entered."""

    def __init__(self, path: Path, verbose: bool = False) -> None:
        self.path, self.verbose = path, verbose
        self._thread: threading.Thread | None = None

    def __enter__(self) -> RunLog:
        global _active
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _flush()
        self._saved = (os.dup(1), os.dup(2))
        read, write = os.pipe()
        os.dup2(write, 1)
        os.dup2(write, 2)
        os.close(write)
        self._thread = threading.Thread(target=self._pump, args=(read,), daemon=True,
                                        name="csp-run-log")
        self._thread.start()
        _active = self
        return self

    def __exit__(self, *exc) -> None:
        global _active
        _active = None
        _flush()
        # The pump stops at this line rather than at the pipe's end: children that outlive the
        # run (multiprocessing's resource tracker, started by dbt) hold the pipe open.
        os.write(1, END)
        os.dup2(self._saved[0], 1)
        os.dup2(self._saved[1], 2)
        if self._thread:
            self._thread.join(timeout=10)
        os.close(self._saved[1])
        os.close(self._saved[0])

    def switch(self, path: Path | None) -> None:
        _flush()
        os.write(1, MARKER + (str(path).encode() if path else b"") + b"\n")

    def _pump(self, read: int) -> None:
        task: BinaryIO | None = None
        with os.fdopen(read, "rb") as source, self.path.open("ab") as run_log:
            for line in source:
                if line == END:
                    break
                if line.startswith(MARKER):
                    if task:
                        task.close()
                    target = line[len(MARKER):].strip().decode()
                    task = _open(Path(target)) if target else None
                    continue
                run_log.write(line)
                run_log.flush()
                if task:
                    task.write(line)
                    task.flush()
                if self.verbose:
                    try:
                        os.write(self._saved[1], line)
                    except OSError:  # the run has ended and given the terminal back
                        self.verbose = False
            if task:
                task.close()


def _open(path: Path) -> BinaryIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("ab")


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def tail(path: Path, lines: int = 20) -> list[str]:
    """The last lines of a log (empty when it does not exist)."""
    if not path.exists():
        return []
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        fh.seek(max(0, fh.tell() - 64 * 1024))
        text = fh.read().decode("utf-8", "replace")
    return text.splitlines()[-lines:]
