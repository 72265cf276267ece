"""Missed deliveries: a partner that has stopped sending a kind it declared it sends regularly.

A kind with `expected_within_days` in feeds.yml is late when its latest delivered extract (any
outcome: loaded, quarantined, superseded or released all count as a delivery) is more than that
many days before the night. A kind that has never delivered is onboarding (`csp status`), not
late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.schema import ensure_schema
from csp_pipeline.core.settings import Settings
from csp_pipeline.core.warehouse import connect


@dataclass(frozen=True)
class MissedDelivery:
    feed: str
    kind: str
    last: str  # ISO extract date of the latest delivery
    expected_within_days: int
    days: int
    night: str


def missed_deliveries(settings: Settings, night: date) -> list[MissedDelivery]:
    registry = load_registry()
    watched = {(k.feed, k.name): k.expected_within_days for k in registry.kinds
               if k.expected_within_days and k.feed in registry.expected_feeds}
    if not watched or not settings.warehouse.exists():
        return []
    with connect(settings.warehouse) as con:
        ensure_schema(con)
        latest = con.execute("SELECT feed, kind, max(extract_date) FROM meta.deliveries "
                             "WHERE extract_date <= ? GROUP BY ALL", [night]).fetchall()
    missed = []
    for feed, kind, last in sorted(latest):
        within = watched.get((feed, kind))
        if within and (night - last).days > within:
            missed.append(MissedDelivery(feed, kind, last.isoformat(), within,
                                         (night - last).days, night.isoformat()))
    return missed
