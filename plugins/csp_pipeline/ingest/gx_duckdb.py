"""Great Expectations' SQL execution on DuckDB (through duckdb-engine): two small fixes carried here.

1. GE runs each metric query on a connection of its own and reads the rows after closing it
   (`SqlAlchemyExecutionEngine.execute_query`). Closing an SQLAlchemy connection rolls back its
   transaction, and a duckdb-engine connection runs every statement on one DuckDB connection,
   whose ROLLBACK drops the pending result: GE then finds no row and every expectation errors
   with `IndexError` in `resolve_metric_bundle` (upstream GX issues 10738 and 11579). Fix: on
   DuckDB, the rows are buffered before the connection closes.
2. GE has no regular-expression operator for DuckDB ("Regex is not supported for dialect
   duckdb"). Fix: DuckDB's `regexp_matches`, which matches anywhere in the value, as GE's pandas
   engine (`str.contains`) does.

`apply()` installs both, once per process; `tests/integration/test_gx_duckdb.py` shows each
failing without it.
"""

from __future__ import annotations

import importlib
from functools import cache

import sqlalchemy as sa
from great_expectations.execution_engine.sqlalchemy_execution_engine import (
    SqlAlchemyExecutionEngine,
)

DIALECT = "duckdb"
# GE's modules that bind `get_dialect_regex_expression` at import (each looks it up there).
_REGEX_USERS = [
    "great_expectations.expectations.metrics.column_map_metrics.column_values_match_regex",
    "great_expectations.expectations.metrics.column_map_metrics.column_values_not_match_regex",
    "great_expectations.expectations.metrics.column_map_metrics.column_values_match_regex_list",
    "great_expectations.expectations.metrics.column_map_metrics."
    "column_values_not_match_regex_list",
]


def _is_duckdb(dialect) -> bool:
    return getattr(getattr(dialect, "dialect", dialect), "name", None) == DIALECT


def _buffered_execute_query(original):
    def execute_query(self, query):
        if self.dialect_name != DIALECT:
            return original(self, query)
        with self.get_connection() as connection:
            result = self._execute_query_with_recovery(connection, query)
            # the rows, read while the connection (and so DuckDB's result) is still open
            return result.freeze()() if result.returns_rows else result
    return execute_query


def _regex_with_duckdb(original):
    def get_dialect_regex_expression(column, regex, dialect, positive=True):
        if _is_duckdb(dialect):
            matches = sa.func.regexp_matches(column, sa.literal(regex))
            return matches if positive else sa.not_(matches)
        return original(column, regex, dialect, positive)
    return get_dialect_regex_expression


@cache
def buffer_results() -> None:
    """Fix 1 (idempotent)."""
    SqlAlchemyExecutionEngine.execute_query = _buffered_execute_query(
        SqlAlchemyExecutionEngine.execute_query)


@cache
def regex_operator() -> None:
    """Fix 2 (idempotent)."""
    for name in _REGEX_USERS:
        module = importlib.import_module(name)
        module.get_dialect_regex_expression = _regex_with_duckdb(
            module.get_dialect_regex_expression)


def apply() -> None:
    """Install both fixes (idempotent)."""
    buffer_results()
    regex_operator()
