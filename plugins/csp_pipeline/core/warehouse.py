"""Every DuckDB connection the package opens, and the catalog queries (tables, columns).

`connect` opens the warehouse file (or another DuckDB file, such as a published snapshot) for
writing or read-only; `memory` opens an in-memory database for SQL over files. Opening through
here keeps one configuration: DuckDB refuses a second connection to an open file with another.
The tables themselves are created by `schema.ensure_schema`.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import duckdb

from csp_pipeline.core.settings import duckdb_memory_limit


def open_connection(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection the caller closes (prefer `connect`); the file's folder must exist."""
    return bound(duckdb.connect(str(path), read_only=read_only))


def bound(con: duckdb.DuckDBPyConnection, spill_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """The pipeline's bounds on a DuckDB database: a memory limit (settings.duckdb_memory_limit;
    DuckDB's own default is 80% of the machine) past which it spills to disk, in `spill_dir` for
    an in-memory database (a file database spills beside its file). Set once open, not as
    connect-time configuration: another connection to the same file in this process (dbt's, in
    `csp run`) must see the same configuration or DuckDB refuses it."""
    con.execute("SET memory_limit = ?", [duckdb_memory_limit()])
    if spill_dir is not None:
        spill_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(spill_dir, 0o700)
        con.execute("SET temp_directory = ?", [str(spill_dir)])
    return con


@contextmanager
def connect(path: Path, read_only: bool = False,
            private: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to a DuckDB file, closed on leaving; a writer creates the file's folder, and
    of a private file (the warehouse holds person-level, pseudonymised rows) makes the file, its
    write-ahead log and its spill folder readable by the pipeline's user only. A published
    snapshot is not private: analysts read it."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = open_connection(path, read_only)
    if private and not read_only:  # before any query: DuckDB creates its spill folder lazily
        keep_private(path)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def memory(spill_dir: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory database: SQL over CSV or Parquet files, or an ATTACHed DuckDB file. Given a
    `spill_dir` (owner-only: it may hold person-level rows), it has the pipeline's bounds and
    spills there; without one, DuckDB's defaults (it has nowhere to spill)."""
    con = duckdb.connect() if spill_dir is None else bound(duckdb.connect(), spill_dir)
    try:
        yield con
    finally:
        con.close()


@dataclass(frozen=True)
class CatalogColumn:
    schema: str
    table: str
    column: str
    data_type: str


def columns(con: duckdb.DuckDBPyConnection, schema: str | None = None, table: str | None = None,
            database: str | None = None, base_tables: bool = False) -> list[CatalogColumn]:
    """The columns of the database's relations (default: the current database), optionally of
    one schema and table, or of base tables only (not views); by schema, table and position."""
    rows = con.execute(
        """SELECT c.schema_name, c.table_name, c.column_name, c.data_type FROM duckdb_columns() c
           WHERE c.database_name = coalesce($database, current_database())
           AND ($schema IS NULL OR c.schema_name = $schema)
           AND ($table IS NULL OR c.table_name = $table)
           AND (NOT $base_tables OR (c.database_name, c.schema_name, c.table_name) IN
                (SELECT database_name, schema_name, table_name FROM duckdb_tables()))
           ORDER BY c.schema_name, c.table_name, c.column_index""",
        {"database": database, "schema": schema, "table": table, "base_tables": base_tables},
    ).fetchall()
    return [CatalogColumn(*r) for r in rows]


def column_names(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    """The columns of one relation of the current database, in order."""
    return [c.column for c in columns(con, schema, table)]


def tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """The base tables of one schema of the current database, by name."""
    return [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = ? ORDER BY 1", [schema]).fetchall()]


def keep_private(path: Path) -> None:
    """A DuckDB file of person-level rows, its write-ahead log and its spill folder readable by
    the pipeline's user only (for every connection to it: dbt's too)."""
    owner_only(path, path.with_name(path.name + ".wal"))
    if path.parent.is_dir():
        spill_folder(path)


def spill_folder(path: Path) -> Path:
    """The folder a DuckDB file spills to (DuckDB's default, `<file>.tmp`, for every connection
    to it: dbt's too), made owner-only before DuckDB would create it world-readable with
    world-readable files in it. DuckDB leaves a folder it did not create in place."""
    folder = path.with_name(path.name + ".tmp")
    folder.mkdir(mode=0o700, exist_ok=True)
    if not folder.is_symlink() and folder.stat().st_mode & 0o077:
        os.chmod(folder, 0o700)
    return folder


def owner_only(*paths: Path) -> None:
    for path in paths:
        if path.exists() and not path.is_symlink() and path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)


RUN_LINEAGE = {"_load_run_id", "_loaded_at"}  # which run loaded a row, and when


def content_digest(con: duckdb.DuckDBPyConnection,
                   schemas: tuple[str, ...] = ("raw", "marts")) -> dict[str, tuple[int, int]]:
    """(rows, order-free hash of the rows) of every table in `schemas`, leaving out the columns
    that say which run wrote a row and when (and timestamps): two warehouses built from the same
    deliveries, however the nights went, have equal digests."""
    out = {}
    tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name "
                         "IN (SELECT unnest(?)) ORDER BY 1, 2", [list(schemas)]).fetchall()
    for schema, table in tables:
        cols = [c for c, t in con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? "
            "AND table_name = ?", [schema, table]).fetchall()
            if c not in RUN_LINEAGE and not t.startswith("TIMESTAMP")]
        select = ", ".join(f'"{c}"' for c in cols)
        out[f"{schema}.{table}"] = con.execute(
            f"SELECT count(*), coalesce(sum(hash(({select}))), 0)::HUGEINT "
            f"FROM {schema}.{table}").fetchone()
    return out
