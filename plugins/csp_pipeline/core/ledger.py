"""The delivery ledger, `meta.deliveries`: one row per delivered file and what became of it.

The one owner of that table: its DDL, the status words (`Status`) and every read and write.
A file's bytes are fingerprinted (content_hash); the same bytes for the same kind and extract
date are never loaded twice, and a re-issued file supersedes the earlier delivery of its stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import duckdb

from csp_pipeline.core.sql import literal


class Status(StrEnum):
    LOADED = "loaded"            # its rows are in the raw table
    QUARANTINED = "quarantined"  # a blocking rule failed: the file is in quarantine
    SUPERSEDED = "superseded"    # was loaded; a re-issued file for its date and stream replaced it
    RELEASED = "released"        # was quarantined; put back in the landing zone to be audited again


DDL = """
CREATE TABLE IF NOT EXISTS meta.deliveries (
    content_hash VARCHAR NOT NULL,
    feed VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    extract_date DATE NOT NULL,
    stream VARCHAR,                   -- landing.Extract.stream: what a re-issued file replaces
    source_file VARCHAR NOT NULL,
    bytes BIGINT,
    rows BIGINT,                      -- rows loaded
    status VARCHAR NOT NULL,          -- ledger.Status
    reason VARCHAR,
    run_id VARCHAR NOT NULL,
    processed_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
-- rows rejected by reject rules (rows in the file = rows + rows_rejected when loaded)
ALTER TABLE meta.deliveries ADD COLUMN IF NOT EXISTS rows_rejected BIGINT DEFAULT 0;
"""
# A column added after the first warehouses were created.
MIGRATIONS = "ALTER TABLE meta.deliveries ADD COLUMN IF NOT EXISTS stream VARCHAR"


def _is(status: Status) -> str:
    return f"status = {literal(status.value)}"


@dataclass(frozen=True)
class Delivery:
    content_hash: str
    feed: str
    kind: str
    extract_date: str
    stream: str | None
    source_file: str
    bytes: int | None


def record(con: duckdb.DuckDBPyConnection, d: Delivery, status: Status, rows: int,
           reason: str | None, run_id: str, rows_rejected: int = 0) -> None:
    con.execute(
        """INSERT INTO meta.deliveries (content_hash, feed, kind, extract_date, stream, source_file,
           bytes, rows, status, reason, run_id, rows_rejected) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)""",
        [d.content_hash, d.feed, d.kind, d.extract_date, d.stream, d.source_file, d.bytes, rows,
         status.value, reason, run_id, rows_rejected],
    )


def earlier_status(con: duckdb.DuckDBPyConnection, content_hash: str, feed: str, kind: str,
                   extract_date: str) -> Status | None:
    """Status of an earlier delivery of these exact bytes for the same kind and extract date
    (loaded or quarantined; a released file is audited again)."""
    row = con.execute(
        f"""SELECT status FROM meta.deliveries WHERE content_hash = ? AND feed = ? AND kind = ?
           AND extract_date = ? AND status IN ({literal(Status.LOADED.value)},
           {literal(Status.QUARANTINED.value)}) ORDER BY processed_at DESC LIMIT 1""",
        [content_hash, feed, kind, extract_date]).fetchone()
    return Status(row[0]) if row else None


def was_loaded(con: duckdb.DuckDBPyConnection, content_hash: str, feed: str, kind: str,
               extract_date: str) -> bool:
    """Whether these bytes were loaded (and may since have been superseded)."""
    return bool(con.execute(
        f"""SELECT count(*) FROM meta.deliveries WHERE feed = ? AND kind = ?
           AND extract_date = ? AND content_hash = ? AND status IN
           ({literal(Status.LOADED.value)}, {literal(Status.SUPERSEDED.value)})""",
        [feed, kind, extract_date, content_hash]).fetchone()[0])


def supersede(con: duckdb.DuckDBPyConnection, feed: str, kind: str, extract_date: str,
              stream: str | None) -> None:
    """The loaded delivery of this date and stream is being replaced by a re-issued file."""
    con.execute(
        f"""UPDATE meta.deliveries SET status = {literal(Status.SUPERSEDED.value)}
           WHERE feed = ? AND kind = ? AND extract_date = ? AND stream = ?
           AND {_is(Status.LOADED)}""",
        [feed, kind, extract_date, stream])


def release(con: duckdb.DuckDBPyConnection, feed: str, source_file: str) -> None:
    """A quarantined file is put back: the next run audits it again even if its bytes are the
    same (the suite or a code list may have been fixed)."""
    con.execute(
        f"""UPDATE meta.deliveries SET status = {literal(Status.RELEASED.value)}
           WHERE feed = ? AND source_file = ? AND {_is(Status.QUARANTINED)}""",
        [feed, source_file])


def expected_rows(con: duckdb.DuckDBPyConnection, feed: str, kind: str, extract_date: str,
                  recent: int) -> float | None:
    """The rows a delivery for `extract_date` may be expected to hold: the median rows per day
    of extract of the kind's `recent` loaded deliveries before it, times the days it covers."""
    return con.execute(
        f"""WITH dated AS (
               SELECT extract_date, sum(rows) AS rows FROM meta.deliveries
               WHERE feed = ? AND kind = ? AND {_is(Status.LOADED)} AND extract_date < ?
               GROUP BY extract_date ORDER BY extract_date DESC LIMIT ?),
           per_day AS (
               SELECT rows / (extract_date - lag(extract_date) OVER (ORDER BY extract_date))
                   AS rate FROM dated)
           SELECT median(rate) * (CAST(? AS DATE) - (SELECT max(extract_date) FROM dated))
           FROM per_day WHERE rate IS NOT NULL""",
        [feed, kind, extract_date, recent + 1, extract_date],
    ).fetchone()[0]


def recent_loaded(con: duckdb.DuckDBPyConnection, feed: str, kind: str, first: str,
                  recent: int) -> list[list]:
    """[extract date, stream, rows] of the kind's loaded deliveries dated from `first` on and
    from the `recent` extract dates before it: what `expected_rows` reads for files from `first`."""
    return [list(r) for r in con.execute(
        f"""SELECT CAST(extract_date AS VARCHAR), stream, rows FROM meta.deliveries
           WHERE feed = $feed AND kind = $kind AND {_is(Status.LOADED)} AND extract_date >= coalesce(
               (SELECT min(d) FROM (SELECT DISTINCT extract_date AS d FROM meta.deliveries
                WHERE feed = $feed AND kind = $kind AND {_is(Status.LOADED)}
                AND extract_date < $first ORDER BY d DESC LIMIT $recent)), $first)
           ORDER BY extract_date, processed_at""",
        {"feed": feed, "kind": kind, "first": first, "recent": recent}).fetchall()]


def loaded_inputs(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(feed, kind, source_file, content_hash, extract_date, rows) of every loaded delivery."""
    return con.execute(
        "SELECT feed, kind, source_file, content_hash, extract_date::VARCHAR, rows "
        f"FROM meta.deliveries WHERE {_is(Status.LOADED)} ORDER BY feed, kind, extract_date"
    ).fetchall()


def per_kind(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Per feed kind: files and rows loaded, rows rejected, latest date loaded, files
    quarantined, latest date quarantined."""
    loaded, quarantined = _is(Status.LOADED), _is(Status.QUARANTINED)
    return con.execute(f"""
        SELECT feed, kind,
               count(*) FILTER (WHERE {loaded}) AS files_loaded,
               coalesce(sum(rows) FILTER (WHERE {loaded}), 0) AS rows_loaded,
               coalesce(sum(rows_rejected) FILTER (WHERE {loaded}), 0) AS rows_rejected,
               max(extract_date) FILTER (WHERE {loaded}) AS latest_loaded,
               count(*) FILTER (WHERE {quarantined}) AS files_quarantined,
               max(extract_date) FILTER (WHERE {quarantined}) AS latest_quarantined
        FROM meta.deliveries GROUP BY ALL ORDER BY feed, kind""").fetchall()
