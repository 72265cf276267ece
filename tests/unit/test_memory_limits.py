"""DuckDB's memory bounds: pipeline connections (settings, core/warehouse.py) and dbt's profile."""

from __future__ import annotations

import re

import pytest
import yaml

from csp_pipeline.core.settings import DBT_PROJECT_DIR, ConfigurationError, Settings
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


def test_dbt_may_use_at_least_4gb_by_default():
    """The first build of a 10M-row police history completes at 1GB but spills and takes
    minutes longer than at 4GB (benchmarks/RESULTS.md)."""
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())
    limit = profile["csp"]["outputs"]["warehouse"]["settings"]["memory_limit"]
    variable, default = re.fullmatch(r"\{\{ env_var\('(\w+)', '(\w+)'\) \}\}", limit).groups()
    assert variable == "CSP_DBT_MEMORY_LIMIT"
    assert _bytes(default) >= _bytes("4GB")
