"""Connections to the DuckDB warehouse and the pipeline's own bookkeeping tables (schema `meta`)."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from csp_pipeline.core import reference
from csp_pipeline.core.registry import LINEAGE_COLUMNS, Kind, load_registry

META_DDL = """
CREATE SCHEMA IF NOT EXISTS meta;
CREATE SCHEMA IF NOT EXISTS raw;
CREATE TABLE IF NOT EXISTS meta.deliveries (
    content_hash VARCHAR NOT NULL,
    feed VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    extract_date DATE NOT NULL,
    stream VARCHAR,                   -- landing.Extract.stream: what a re-issued file replaces
    source_file VARCHAR NOT NULL,
    bytes BIGINT,
    rows BIGINT,                      -- rows loaded
    status VARCHAR NOT NULL,          -- loaded | quarantined | superseded | released
    reason VARCHAR,
    run_id VARCHAR NOT NULL,
    processed_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
-- rows rejected by reject rules (rows in the file = rows + rows_rejected when loaded)
ALTER TABLE meta.deliveries ADD COLUMN IF NOT EXISTS rows_rejected BIGINT DEFAULT 0;
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
CREATE TABLE IF NOT EXISTS meta.runs (
    run_id VARCHAR NOT NULL,
    stage VARCHAR NOT NULL,
    detail VARCHAR,
    finished_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
"""


DEFAULT_MEMORY_LIMIT = "1GB"


def bound(con: duckdb.DuckDBPyConnection, spill_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """The pipeline's bounds on a DuckDB database: a memory limit (CSP_DUCKDB_MEMORY_LIMIT,
    default 1GB; DuckDB's own default is 80% of the machine) past which it spills to disk, in
    `spill_dir` for an in-memory database (a file database spills beside its file). Set once
    open, not as connect-time configuration: another connection to the same file in this
    process (dbt's, in `csp run`) must see the same configuration or DuckDB refuses it."""
    con.execute("SET memory_limit = ?", [os.environ.get("CSP_DUCKDB_MEMORY_LIMIT",
                                                       DEFAULT_MEMORY_LIMIT)])
    if spill_dir is not None:
        spill_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(spill_dir, 0o700)
        con.execute("SET temp_directory = ?", [str(spill_dir)])
    return con


@contextmanager
def connect(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = bound(duckdb.connect(str(path), read_only=read_only))
    try:
        yield con
    finally:
        con.close()


def in_memory(spill_dir: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB database with the pipeline's bounds, spilling into `spill_dir`."""
    return bound(duckdb.connect(), spill_dir)


def raw_table_ddl(kind: Kind) -> str:
    cols = [f'"{c.warehouse_name}" {c.warehouse_type}' for c in kind.stored_columns]
    cols += [f"{name} {typ}" for name, typ in LINEAGE_COLUMNS.items()]
    return f"CREATE TABLE IF NOT EXISTS {kind.raw_table} ({', '.join(cols)})"


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create meta tables, one raw table per declared kind (empty for a feed that never
    delivered, so that dbt builds whatever subset of feeds a deployment has) and the tables of
    the deployment's reference rows (idempotent)."""
    con.execute(META_DDL)
    con.execute("ALTER TABLE meta.deliveries ADD COLUMN IF NOT EXISTS stream VARCHAR")
    for kind in load_registry().kinds:
        con.execute(raw_table_ddl(kind))
        con.execute(f"ALTER TABLE {kind.raw_table} ADD COLUMN IF NOT EXISTS _stream VARCHAR")
    reference.ensure_tables(con)
