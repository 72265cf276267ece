"""A landed file's header read in contract terms."""

from __future__ import annotations

from csp_pipeline.core.registry import Kind, Variant


def contract_columns(kind: Kind, header: list[str], variant: Variant | None = None) -> list[str]:
    """The file's column names in contract terms. When most declared columns are missing the
    first row is probably data, not a header: its values are not passed on (nor stored by GE).
    A variant's file has a contract column when it has every partner column its expression reads
    (an unmapped contract column is present: it is declared missing)."""
    if variant is not None:
        have = set(header)
        return [c for c in kind.column_names
                if all(h in have for h in variant.reads(variant.columns.get(c, "")))]
    names = [kind.rename.get(h, h) for h in header]
    declared = set(kind.column_names)
    if len(declared - set(names)) * 2 > len(declared):
        names = [n if n in declared else f"unrecognised column {i}"
                 for i, n in enumerate(names, start=1)]
    return names


def declared_part(kind: Kind, columns: list[str]) -> list[str]:
    """The columns up to the last declared one: undeclared columns after it (a partner appending
    columns) are reported and ignored, not a different layout."""
    declared = set(kind.column_names)
    last = max((i for i, n in enumerate(columns) if n in declared), default=len(columns) - 1)
    return columns[: last + 1]
