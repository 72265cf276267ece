"""The warehouse's tables: the pipeline's bookkeeping (schema `meta`), one raw table per
declared kind and the deployment's reference tables, created idempotently by `ensure_schema`.
The delivery ledger's table is declared by its owner, `ledger`."""

from __future__ import annotations

import duckdb

from csp_pipeline.core import ledger, reference
from csp_pipeline.core.registry import LINEAGE_COLUMNS, Kind, load_registry
from csp_pipeline.core.sql import ident

META_DDL = """
CREATE SCHEMA IF NOT EXISTS meta;
CREATE SCHEMA IF NOT EXISTS raw;
CREATE TABLE IF NOT EXISTS meta.rejected_rows (  -- one row per rejected row and failed rule
    run_id VARCHAR NOT NULL,
    feed VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    extract_date DATE NOT NULL,
    row_number BIGINT NOT NULL,       -- 1-based data row in the delivered file
    column_name VARCHAR,
    rule VARCHAR NOT NULL,
    value VARCHAR,                    -- as audited; '***' for identifier columns
    rejected_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS meta.validation_results (
    run_id VARCHAR NOT NULL,
    feed VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    extract_date DATE NOT NULL,
    suite VARCHAR NOT NULL,
    expectation VARCHAR NOT NULL,
    column_name VARCHAR,
    severity VARCHAR NOT NULL,        -- blocking | reject | warning
    success BOOLEAN NOT NULL,
    element_count BIGINT,
    unexpected_count BIGINT,
    sample_rows VARCHAR,
    validated_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS meta.retention_log (
    path VARCHAR NOT NULL,            -- the deleted file (landing or quarantine)
    feed VARCHAR,
    kind VARCHAR,
    extract_date DATE,
    reason VARCHAR NOT NULL,          -- loaded | quarantined | rejected
    content_hash VARCHAR,
    retention_days INTEGER NOT NULL,
    deleted_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS meta.key_rotations (
    old_key_id VARCHAR NOT NULL,      -- HMAC(key, 'csp-key-id'), never the key itself
    new_key_id VARCHAR NOT NULL,
    source_files BIGINT NOT NULL,
    pseudonyms_mapped BIGINT NOT NULL,
    rows_updated BIGINT NOT NULL,
    rows_dropped BIGINT NOT NULL,
    rotated_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS meta.feed_runs (  -- each feed DAG run's end: ok, or what failed
    feed VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    night DATE,
    ok BOOLEAN NOT NULL,
    detail VARCHAR,                   -- the files that errored, or the task that failed
    recorded_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS meta.fingerprints (  -- landing.known_fingerprint: files hashed once
    path VARCHAR NOT NULL,
    bytes UBIGINT NOT NULL,
    modified_ns BIGINT NOT NULL,
    changed_ns BIGINT NOT NULL,       -- ctime: moved by any write, rename or copy over the file
    inode UBIGINT NOT NULL,
    content_hash VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS meta.runs (
    run_id VARCHAR NOT NULL,
    stage VARCHAR NOT NULL,
    detail VARCHAR,
    finished_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
"""


def raw_table_ddl(kind: Kind) -> str:
    cols = [f"{ident(c.warehouse_name)} {c.warehouse_type}" for c in kind.stored_columns]
    cols += [f"{name} {typ}" for name, typ in LINEAGE_COLUMNS.items()]
    return f"CREATE TABLE IF NOT EXISTS {kind.raw_table} ({', '.join(cols)})"


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create meta tables, one raw table per declared kind (empty for a feed that never
    delivered, so that dbt builds whatever subset of feeds a deployment has) and the tables of
    the deployment's reference rows (idempotent)."""
    con.execute(META_DDL)
    con.execute(ledger.DDL)
    con.execute(ledger.MIGRATIONS)
    for kind in load_registry().kinds:
        con.execute(raw_table_ddl(kind))
        con.execute(f"ALTER TABLE {kind.raw_table} ADD COLUMN IF NOT EXISTS _stream VARCHAR")
    reference.ensure_tables(con)
