"""The few ledger facts an audit needs, read by the task that finds the files and handed over.

An audit opens no connection to the warehouse file (DuckDB locks it per process: even a read-only
open fails while another process writes), so whatever it needs from `meta.deliveries` is read
beforehand, under the writer lock, for a whole batch of one kind: each file's fingerprint and
whether those bytes were already processed, and the kind's recent loaded deliveries, from which
each file's row-volume floor is computed. Files of a batch are audited in extract-date order and
each counts, for the files after it, as the delivery its promote will record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from csp_pipeline.ingest.landing import Extract

RECENT_DELIVERIES = 5


@dataclass
class KindFacts:
    """One batch's facts: {path: sha256}, {path: status of an earlier delivery of its bytes},
    and the kind's loaded deliveries from the last RECENT_DELIVERIES + 1 dates before the batch
    on ([extract date, stream, rows])."""

    digests: dict[str, str] = field(default_factory=dict)
    seen: dict[str, str] = field(default_factory=dict)
    loaded: list[list] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"digests": self.digests, "seen": self.seen, "loaded": self.loaded}

    @classmethod
    def from_dict(cls, data: dict) -> KindFacts:
        return cls(**data)


def already_processed(con, extract: Extract, digest: str) -> str | None:
    """Status of an earlier delivery of these exact bytes for the same kind and extract date.

    (Two nights' header-only files have the same bytes but are different deliveries.)
    """
    row = con.execute(
        """SELECT status FROM meta.deliveries WHERE content_hash = ? AND feed = ? AND kind = ?
           AND extract_date = ? AND status IN ('loaded', 'quarantined')
           ORDER BY processed_at DESC LIMIT 1""",
        [digest, extract.kind.feed, extract.kind.name, extract.extract_date]).fetchone()
    return row[0] if row else None


def read_facts(con: duckdb.DuckDBPyConnection, extracts: list[Extract],
               digests: dict[str, str]) -> KindFacts:
    """The facts for a batch of one kind's extracts (`digests`: {path: sha256})."""
    facts = KindFacts(digests=dict(digests))
    for e in extracts:
        status = already_processed(con, e, digests[str(e.path)])
        if status:
            facts.seen[str(e.path)] = status
    if not extracts:
        return facts
    kind, first = extracts[0].kind, min(e.extract_date for e in extracts)
    facts.loaded = [list(r) for r in con.execute(
        """SELECT CAST(extract_date AS VARCHAR), stream, rows FROM meta.deliveries
           WHERE feed = $feed AND kind = $kind AND status = 'loaded' AND extract_date >= coalesce(
               (SELECT min(d) FROM (SELECT DISTINCT extract_date AS d FROM meta.deliveries
                WHERE feed = $feed AND kind = $kind AND status = 'loaded' AND extract_date < $first
                ORDER BY d DESC LIMIT $recent)), $first)
           ORDER BY extract_date, processed_at""",
        {"feed": kind.feed, "kind": kind.name, "first": first,
         "recent": RECENT_DELIVERIES + 1}).fetchall()]
    return facts


def min_rows(facts: KindFacts, extract: Extract, ratio: float) -> int:
    """A tenth (by default) of the rows the kind's recent deliveries lead us to expect: fewer is
    suspicious. Deliveries are compared per day of extract they cover (the days since the one
    before), so a nightly file is not judged against a monthly backfill, nor a file after a
    missed night against a single night. Low-volume kinds (under 1/ratio rows expected) pass,
    and so does a supplementary file (released rejects: a few rows added to a delivery)."""
    if extract.supplementary or not facts.loaded:
        return 0
    with duckdb.connect() as con:
        con.execute("CREATE TABLE deliveries (extract_date DATE, rows BIGINT)")
        con.executemany("INSERT INTO deliveries VALUES (?, ?)",
                        [[d, rows] for d, _, rows in facts.loaded])
        expected = con.execute(
            """WITH dated AS (
                   SELECT extract_date, sum(rows) AS rows FROM deliveries WHERE extract_date < ?
                   GROUP BY extract_date ORDER BY extract_date DESC LIMIT ?),
               per_day AS (
                   SELECT rows / (extract_date - lag(extract_date) OVER (ORDER BY extract_date))
                       AS rate FROM dated)
               SELECT median(rate) * (CAST(? AS DATE) - (SELECT max(extract_date) FROM dated))
               FROM per_day WHERE rate IS NOT NULL""",
            [extract.extract_date, RECENT_DELIVERIES + 1, extract.extract_date]).fetchone()[0]
    return int(expected * ratio) if expected else 0


def record_audited(facts: KindFacts, extract: Extract, rows: int) -> None:
    """Count a file audited to load `rows` as the delivery its promote will record: it replaces
    the loaded delivery of its extract date and stream (a supplementary one adds to it)."""
    if not extract.supplementary:
        facts.loaded = [d for d in facts.loaded
                        if (d[0], d[1]) != (extract.extract_date, extract.stream)]
    facts.loaded.append([extract.extract_date, extract.stream, rows])
