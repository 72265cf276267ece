"""One `csp run` at a time per data folder.

Two runs at once would interleave their DAG runs on the same SQLite Airflow database and DuckDB
file. The lock is an advisory `flock` on `<data dir>/run.lock`, which the kernel releases when
its process ends in any way (kill -9 included): a lock left by a killed run is never stale. The
file also says who holds it (pid, night, start), for the refusal message.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

POLL_SECONDS = 0.5


class RunLocked(RuntimeError):
    """Another run holds the lock (after waiting `wait_seconds`)."""


def lock_path(data_dir: Path) -> Path:
    return data_dir / "run.lock"


def holder(data_dir: Path) -> dict:
    """What the lock file says about the run holding it ({} when unreadable)."""
    try:
        return json.loads(lock_path(data_dir).read_text() or "{}")
    except (OSError, ValueError):
        return {}


@contextmanager
def run_lock(data_dir: Path, night: str, wait_seconds: float = 0) -> Iterator[None]:
    """Hold the data folder's run lock for the block; wait up to `wait_seconds` for it, then
    raise RunLocked naming the run that holds it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path(data_dir), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise RunLocked(_refusal(data_dir, wait_seconds)) from None
                time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "night": night, "started": datetime.now(
            timezone.utc).isoformat(timespec="seconds")}).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _refusal(data_dir: Path, waited: float) -> str:
    h = holder(data_dir)
    who = (f"the run of night {h.get('night')} (pid {h.get('pid')}, started {h.get('started')})"
           if h else "another run")
    return (f"{who} holds the run lock {lock_path(data_dir)}; waited {waited:.0f} s. Only one "
            "run at a time can use a data folder: wait for it to finish, or pass --wait SECONDS")
