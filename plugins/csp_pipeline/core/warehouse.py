"""Every DuckDB connection the package opens, and the catalog queries (tables, columns).

`connect` opens the warehouse file (or another DuckDB file, such as a published snapshot) for
writing or read-only; `memory` opens an in-memory database for SQL over files. Opening through
here keeps one configuration: DuckDB refuses a second connection to an open file with another.
The tables themselves are created by `schema.ensure_schema`.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import duckdb


def open_connection(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection the caller closes (prefer `connect`); the file's folder must exist."""
    return duckdb.connect(str(path), read_only=read_only)


@contextmanager
def connect(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to a DuckDB file, closed on leaving; a writer creates the file's folder."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = open_connection(path, read_only)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def memory() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory database: SQL over CSV or Parquet files, or an ATTACHed DuckDB file."""
    con = duckdb.connect()
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
