"""Test support: a real DuckDB warehouse with raw rows built for a test, and real dbt builds over it."""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Iterator

import duckdb

from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.schema import ensure_schema
from csp_pipeline.core.settings import DBT_PROJECT_DIR


def create_warehouse(path: Path) -> Path:
    with duckdb.connect(str(path)) as con:
        ensure_schema(con)
    return path


def insert_raw(path: Path, feed: str, kind: str, rows: list[dict],
               extract_date: str | date = "2024-06-01") -> None:
    """Insert rows (warehouse column names; missing columns NULL) into raw.<feed>__<kind>.

    A row may set its lineage `_extract_date`, `_row_number` and `_stream` (default: the kind's
    name, as landing gives a file without a stream in its name)."""
    k = load_registry().kind(feed, kind)
    cols = [c.warehouse_name for c in k.stored_columns]
    unknown = {c for r in rows for c in r} - set(cols) - {"_extract_date", "_row_number", "_stream"}
    if unknown:
        raise KeyError(f"{k.id} has no columns {sorted(unknown)}")
    with duckdb.connect(str(path)) as con:
        for i, r in enumerate(rows, start=1):
            values = [r.get(c) for c in cols]
            con.execute(
                f"INSERT INTO {k.raw_table} ({', '.join(cols)}, _source_file, _content_hash, "
                f"_extract_date, _row_number, _stream, _load_run_id, _loaded_at) VALUES "
                f"({', '.join('?' * len(cols))}, 'test.csv', 'test', ?, ?, ?, 'test', now())",
                [*values, r.get("_extract_date", extract_date), r.get("_row_number", i),
                 r.get("_stream", k.name)],
            )


@contextmanager
def _env(**values: str) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def dbt(warehouse: Path, *args: str, target_dir: Path | None = None,
        project_dir: Path = DBT_PROJECT_DIR) -> None:
    """Run dbt-core in-process against this warehouse; raises with dbt's message on failure.
    `project_dir`: a copy of the project (e.g. with a deployment's reference rows added)."""
    from dbt.cli.main import dbtRunner

    target = target_dir or warehouse.parent / "dbt_target"
    with _env(CSP_WAREHOUSE=str(warehouse), DBT_SEND_ANONYMOUS_USAGE_STATS="false"):
        # Cautious: a test runs only when all its parents are selected (not a relationship test
        # whose other side was never built).
        selection = ["--indirect-selection", "cautious"] if "--select" in args else []
        result = dbtRunner().invoke([
            *args, *selection, "--project-dir", str(project_dir), "--profiles-dir", str(project_dir),
            "--target-path", str(target), "--log-path", str(target / "logs"), "--no-partial-parse",
        ])
    if not result.success:
        failures = []
        for r in getattr(result.result, "results", None) or []:
            if str(r.status) not in ("success", "pass"):
                failures.append(f"{r.node.name}: {r.status}: {r.message}")
        raise AssertionError(f"dbt {' '.join(args)} failed: {result.exception or failures}")


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    # Same configuration as dbt-duckdb's in-process connection, which may still be open.
    with duckdb.connect(str(warehouse)) as con:
        return con.execute(sql, params or []).fetchall()


def release_dbt_connection() -> None:
    """Close the database dbt-duckdb keeps open in this process after a build, so that another
    process (`csp status`) can open the warehouse."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


def env_for(root: Path, data_dir: Path) -> dict[str, str]:
    """Environment of a test deployment: its own landing, warehouse, quarantine and published
    folders under `root`, sharing `data_dir` (GE's project) with other tests."""
    return {"CSP_DATA_DIR": str(data_dir), "CSP_LANDING_DIR": str(root / "landing"),
            "CSP_WAREHOUSE": str(root / "warehouse.duckdb"),
            "CSP_QUARANTINE_DIR": str(root / "quarantine"),
            "CSP_PUBLISHED_DIR": str(root / "published"), "CSP_DEMO_MODE": "1"}


def process_landed(settings, path: Path, run_id: str, key: bytes):
    """One landed file through the real gate and promote, as the feed DAG passes it on."""
    from csp_pipeline.ingest.landing import match
    from csp_pipeline.ingest.promote import process

    extract = match(load_registry(), path.parent.name, path)
    assert extract, path
    return process(settings, extract, run_id, key)


def sql(settings, statement: str, params: list | None = None) -> list[tuple]:
    """A query on the test deployment's warehouse."""
    return query(settings.warehouse, statement, params)
