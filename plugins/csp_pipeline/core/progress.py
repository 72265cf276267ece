"""A run's progress as events: what a task tells whoever is watching (`csp run` prints them).

A stage calls `emit("file_done", feed=..., ...)`; every watcher registered with `watching` gets
`(event, data)`. With no watcher (the scheduler, a worker) an event costs nothing. `csp run` runs
the DAGs in its own process and watches, so an operator sees each stage as it happens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)
Watcher = Callable[[str, dict[str, Any]], None]
_watchers: list[Watcher] = []


def emit(event: str, **data: Any) -> None:
    for watcher in tuple(_watchers):
        try:
            watcher(event, data)
        except Exception:  # a display must never fail the data task that reports to it
            log.exception("progress watcher failed on %s", event)


@contextmanager
def watching(watcher: Watcher) -> Iterator[None]:
    _watchers.append(watcher)
    try:
        yield
    finally:
        _watchers.remove(watcher)
