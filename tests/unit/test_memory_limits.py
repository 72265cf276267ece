"""DuckDB's memory bounds: pipeline connections (settings, core/warehouse.py) and dbt's profile."""

from __future__ import annotations

import re
import threading
import time

import duckdb
import pytest
import yaml

from csp_pipeline.core.settings import (
    DBT_PROJECT_DIR,
    DEFAULT_DUCKDB_MEMORY_LIMIT,
    VARIABLES,
    ConfigurationError,
    Settings,
)
from csp_pipeline.core.warehouse import connect, memory

UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
         "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def _bytes(size: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)\s*([A-Za-z]+)", size.strip()).groups()
    return float(number) * UNITS[unit.upper()]


def _setting(con, name: str) -> str:
    return con.execute(f"SELECT current_setting('{name}')").fetchone()[0]


def test_pipeline_connections_are_bounded_and_in_memory_ones_spill_owner_only(tmp_path,
                                                                               monkeypatch):
    monkeypatch.delenv("CSP_DUCKDB_MEMORY_LIMIT", raising=False)
    with connect(tmp_path / "w.duckdb") as con:
        assert _bytes(_setting(con, "memory_limit")) == pytest.approx(_bytes("1GB"), rel=0.01)
    monkeypatch.setenv("CSP_DUCKDB_MEMORY_LIMIT", "512MiB")
    spill = tmp_path / "spill"
    with memory(spill) as con:
        assert _setting(con, "memory_limit") == "512.0 MiB"
        assert _setting(con, "temp_directory") == str(spill)
    assert spill.stat().st_mode & 0o077 == 0


def test_a_memory_limit_that_is_not_a_size_is_refused_naming_the_variable():
    with pytest.raises(ConfigurationError, match="CSP_DUCKDB_MEMORY_LIMIT"):
        Settings.from_env({"CSP_DUCKDB_MEMORY_LIMIT": "lots"})
    assert Settings.from_env({"CSP_DUCKDB_MEMORY_LIMIT": "2GB"}).duckdb_memory_limit == "2GB"


def test_dbt_is_bounded_like_the_pipeline_by_default():
    """dbt's connection has the pipeline's bound (1GB) unless CSP_DBT_MEMORY_LIMIT says
    otherwise: a night's whole process tree stays within 2 GiB, the first build of 10M police
    rows included (benchmarks/RESULTS.md)."""
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())
    limit = profile["csp"]["outputs"]["warehouse"]["settings"]["memory_limit"]
    variable, default = re.fullmatch(r"\{\{ env_var\('(\w+)', '(\w+)'\) \}\}", limit).groups()
    assert variable == "CSP_DBT_MEMORY_LIMIT"
    assert default == DEFAULT_DUCKDB_MEMORY_LIMIT == VARIABLES[variable][0]


def test_a_warehouse_spills_into_an_owner_only_folder_whoever_connects(tmp_path, monkeypatch):
    """DuckDB spills a file database into `<file>.tmp`, which it would create world-readable
    with world-readable files: the pipeline makes it owner-only first, and another connection
    to the file (as dbt's is: no pipeline bounds) spills there too."""
    monkeypatch.setenv("CSP_DUCKDB_MEMORY_LIMIT", "64MB")
    path = tmp_path / "w.duckdb"
    with connect(path):
        pass
    folder = tmp_path / "w.duckdb.tmp"
    assert folder.stat().st_mode & 0o777 == 0o700
    spilled, sorting = set(), threading.Event()
    watcher = threading.Thread(target=_watch, args=(folder, spilled, sorting))
    con = duckdb.connect(str(path))
    try:
        con.execute("SET memory_limit = '64MB'; SET threads = 1")
        sorting.set()
        watcher.start()
        con.execute("CREATE TABLE t AS SELECT i, md5(i::VARCHAR) AS s FROM range(2000000) r(i) "
                    "ORDER BY s")
    finally:
        sorting.clear()
        watcher.join()
        con.close()
    assert spilled, "the sort did not spill: the test would show nothing"
    assert folder.stat().st_mode & 0o777 == 0o700  # kept, not replaced


def _watch(folder, seen: set, running: threading.Event) -> None:
    """Names of the files DuckDB writes into `folder` while `running` (it deletes them after)."""
    while running.is_set():
        seen.update(p.name for p in folder.iterdir())
        time.sleep(0.005)
