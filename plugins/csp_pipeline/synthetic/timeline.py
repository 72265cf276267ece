"""Records that are sent when they happen and re-sent when they change (episodes, orders).

Arrivals of each night depend only on (seed, feed, night, area), so the events of any night are the
same whatever range is generated; a record opened before the range can close inside it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import date, timedelta

Sends = dict[date, list[dict]]


def nights(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def collect(start: date, end: date, lookback_days: int,
            arrivals: Callable[[date], list[tuple[date, dict]]]) -> Sends:
    """Run `arrivals` for every night from `lookback_days` before start to end; keep sends in range.

    `arrivals(night)` returns (send date, row) pairs: the first send on the night itself, later
    re-sends on the dates the record changes.
    """
    sends: Sends = defaultdict(list)
    for night in nights(start - timedelta(days=lookback_days), end):
        for when, row in arrivals(night):
            if start <= when <= end:
                sends[when].append(row)
    return sends
