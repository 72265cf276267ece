"""Disclosure control applied to a mart table in place, on the snapshot's own connection."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field

import duckdb

from csp_pipeline.core.sql import ident
from csp_pipeline.core.warehouse import column_names
from csp_pipeline.publish.disclosure.policy import load_policy
from csp_pipeline.publish.disclosure.rules import (
    FLAG,
    POLICY_FILE,
    DisclosureError,
    MartRule,
    Policy,
)
from csp_pipeline.publish.disclosure.suppression import suppress

log = logging.getLogger(__name__)


@dataclass
class Protection:
    """What was suppressed in one mart."""

    mart: str
    primary: int = 0
    secondary: int = 0
    dependent: int = 0
    dropped_columns: list[str] = field(default_factory=list)

    @property
    def cells(self) -> int:
        return self.primary + self.secondary + self.dependent


def protect_mart(con: duckdb.DuckDBPyConnection, mart: str, policy: Policy | None = None,
                 schema: str = "marts") -> Protection:
    """Apply the mart's declared disclosure control to `schema.mart` in place."""
    policy = policy or load_policy()
    rule = policy.rule(mart)
    result = Protection(mart)
    if rule.places:
        return result
    table = f"{schema}.{mart}"
    columns = column_names(con, schema, mart)
    result.dropped_columns = _unclassified(rule, mart, columns)
    row_ids, rows = _numbered_rows(con, table, rule, mart)
    s = suppress(policy, rule, rows)
    result.primary, result.secondary = len(s.primary), len(s.secondary)
    result.dependent = len(s.dependent)
    per_row: dict[int, set[str]] = defaultdict(set)
    for i, col in s.hidden:
        per_row[row_ids[i]].add(col)
    _rewrite(con, schema, mart, [c for c in columns if c not in result.dropped_columns],
             rule.protected_columns, per_row)
    log.info("%s: %d cells suppressed (%d primary, %d secondary, %d rates)", mart, result.cells,
             result.primary, result.secondary, result.dependent)
    return result


def _unclassified(rule: MartRule, mart: str, columns: list[str]) -> list[str]:
    """The mart's columns its rule does not classify (not published); raises when the mart no
    longer has a declared column, or has one named like a suppression flag."""
    missing = sorted(c for c in rule.declared_columns | rule.condition_columns
                     if c not in columns)
    if missing:
        raise DisclosureError(f"{mart}: declared column(s) {missing} are not in the mart; "
                              f"update {POLICY_FILE.name}")
    clash = [c + FLAG for c in rule.protected_columns if c + FLAG in columns]
    if clash:
        raise DisclosureError(f"{mart}: column(s) {clash} clash with suppression flags")
    dropped = [c for c in columns if c not in rule.declared_columns]
    for c in dropped:
        log.warning("%s: column %s is not classified in %s; it is not published", mart, c,
                    POLICY_FILE.name)
    return dropped


def _numbered_rows(con: duckdb.DuckDBPyConnection, table: str, rule: MartRule,
                   mart: str) -> tuple[list[int], list[dict]]:
    """The table numbered in temp table __numbered; the numbers and the rows (the columns
    suppression reads) ordered by the key. Raises when the key does not identify rows."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE __numbered AS "
                f"SELECT row_number() OVER () AS __row, * FROM {table}")
    needed = list(dict.fromkeys([*rule.key, *rule.count_columns, *rule.condition_columns]))
    order = ", ".join(ident(k) for k in rule.key)
    fetched = con.execute(f"SELECT __row, {', '.join(ident(c) for c in needed)} FROM __numbered "
                          f"ORDER BY {order}, __row").fetchall()
    rows = [dict(zip(needed, r[1:], strict=True)) for r in fetched]
    keys = [tuple(r[k] for k in rule.key) for r in rows]
    if len(set(keys)) != len(keys):
        raise DisclosureError(f"{mart}: key {list(rule.key)} does not identify rows uniquely")
    return [r[0] for r in fetched], rows


def _rewrite(con: duckdb.DuckDBPyConnection, schema: str, mart: str, published: list[str],
             flagged: list[str], per_row: dict[int, set[str]]) -> None:
    """Replace the mart by its published columns of __numbered, each flagged column's hidden
    cells NULL and its `<column>_suppressed` flag set."""
    con.execute("CREATE OR REPLACE TEMP TABLE __flags (__row BIGINT, "
                + ", ".join(f"{ident(c)} BOOLEAN" for c in flagged) + ")")
    if per_row:
        con.executemany(f"INSERT INTO __flags VALUES (?{', ?' * len(flagged)})",
                        [[r, *(c in cols for c in flagged)] for r, cols in sorted(per_row.items())])
    select = []
    for c in published:
        if c in flagged:
            select.append(f"CASE WHEN f.{ident(c)} THEN NULL ELSE n.{ident(c)} END AS {ident(c)}")
            select.append(f"coalesce(f.{ident(c)}, false) AS {ident(c + FLAG)}")
        else:
            select.append(f"n.{ident(c)}")
    tmp = f"{schema}.{ident(mart + '__protected')}"
    con.execute(f"CREATE OR REPLACE TABLE {tmp} AS SELECT {', '.join(select)} FROM __numbered n "
                f"LEFT JOIN __flags f USING (__row) ORDER BY n.__row")
    con.execute(f"DROP TABLE {schema}.{mart}")
    con.execute(f"ALTER TABLE {tmp} RENAME TO {ident(mart)}")
    con.execute("DROP TABLE __numbered")
    con.execute("DROP TABLE __flags")


def protect_snapshot(con: duckdb.DuckDBPyConnection, marts: list[str]) -> int:
    """Protect every listed mart of the snapshot in place; returns the number of cells suppressed.

    Raises DisclosureError for a mart that is not declared or no longer matches its declaration.
    """
    policy = load_policy()
    return sum(protect_mart(con, mart, policy).cells for mart in marts)
