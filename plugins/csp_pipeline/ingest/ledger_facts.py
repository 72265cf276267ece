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

from csp_pipeline.core import ledger
from csp_pipeline.core.warehouse import memory
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


def already_processed(con: duckdb.DuckDBPyConnection, extract: Extract, digest: str) -> str | None:
    """Status of an earlier delivery of these exact bytes for the same kind and extract date.

    (Two nights' header-only files have the same bytes but are different deliveries.)
    """
    kind = extract.kind
    status = ledger.earlier_status(con, digest, kind.feed, kind.name, extract.extract_date)
    return status.value if status else None


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
    facts.loaded = ledger.recent_loaded(con, kind.feed, kind.name, first, RECENT_DELIVERIES + 1)
    return facts


def min_rows(facts: KindFacts, extract: Extract, ratio: float) -> int:
    """A tenth (by default) of the rows the kind's recent deliveries lead us to expect: fewer is
    suspicious (`ledger.expected_rows`, here over the batch's facts in a ledger of their own, in
    memory). Low-volume kinds (under 1/ratio rows expected) pass, and so does a supplementary
    file (released rejects: a few rows added to a delivery)."""
    if extract.supplementary or not facts.loaded:
        return 0
    kind = extract.kind
    with memory() as con:
        con.execute("CREATE SCHEMA meta")
        con.execute(ledger.DDL)
        for day, stream, rows in facts.loaded:
            ledger.record(con, ledger.Delivery("", kind.feed, kind.name, day, stream, "", None),
                          ledger.Status.LOADED, rows, None, "")
        expected = ledger.expected_rows(con, kind.feed, kind.name, extract.extract_date,
                                        RECENT_DELIVERIES)
    return int(expected * ratio) if expected else 0


def record_audited(facts: KindFacts, extract: Extract, rows: int) -> None:
    """Count a file audited to load `rows` as the delivery its promote will record: it replaces
    the loaded delivery of its extract date and stream (a supplementary one adds to it)."""
    if not extract.supplementary:
        facts.loaded = [d for d in facts.loaded
                        if (d[0], d[1]) != (extract.extract_date, extract.stream)]
    facts.loaded.append([extract.extract_date, extract.stream, rows])
