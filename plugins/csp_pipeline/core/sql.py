"""Quoting for SQL text that DuckDB cannot take as a bound parameter (names, ATTACH and COPY paths,
read_csv column maps). The one place names and literals are quoted: values go in as parameters."""

from __future__ import annotations

from pathlib import Path


def ident(name: str) -> str:
    """A quoted identifier: a double quote in the name is doubled."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str | Path) -> str:
    """A quoted string literal (a path or a name where SQL takes no parameter)."""
    return "'" + str(text).replace("'", "''") + "'"


def qualified(*parts: str) -> str:
    """A dotted name of quoted parts (database, schema, table, column)."""
    return ".".join(ident(p) for p in parts)
