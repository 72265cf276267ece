"""SQL over a landed CSV: the audit view that Great Expectations checks, and the promoted rows.

Every column is read as text so that one bad value becomes a reported rule failure (with its row),
not a load error. Typed columns are parsed strictly; a value that does not parse appears in the
audit view's `<column> (unparsed)` column, which the type expectation requires to be empty.
Direct identifiers are replaced in the same SELECT, so neither the audit nor the warehouse sees them.
A partner variant's contract columns are its declared DuckDB expressions over the partner's columns.
"""

from __future__ import annotations

from csp_pipeline.core.registry import Column, Kind, Variant
from csp_pipeline.core.sql import ident, literal
from csp_pipeline.ingest.pseudonymise import pii_sql

UNPARSED = " (unparsed)"
# Identifier columns whose replacement parses the value (a date of birth, a postcode): a value
# that does not parse is a format failure, not a missing value.
PARSED_PII = {"birth_date": "value parses as a date", "postcode": "value is a UK postcode"}

_PARSERS = {
    "DATE": "try_strptime({v}, '%Y-%m-%d')::DATE",
    "MONTH": "try_strptime({v}, '%Y-%m')::DATE",
    "TIMESTAMP": "try_strptime({v}, '%Y-%m-%dT%H:%M:%S')",
    "INTEGER": "CASE WHEN regexp_full_match({v}, '-?[0-9]{{1,9}}') THEN {v}::INTEGER END",
    "DOUBLE": "try_cast({v} AS DOUBLE)",
}


def read_csv_sql(header: list[str]) -> str:
    """read_csv of $path with the file's own header as names, all text, malformed rows rejected."""
    cols = ", ".join(f"{literal(h)}: 'VARCHAR'" for h in header)
    return (
        f"read_csv($path, header = true, columns = {{{cols}}}, quote = '\"', escape = '\"', "
        "store_rejects = true, strict_mode = true, null_padding = false)"
    )


def _raw(col: Column, kind: Kind, variant: Variant | None) -> str:
    """The raw text of a contract column, whatever the partner calls it; empty string is missing."""
    if variant is not None:
        expression = variant.columns.get(col.name)
        return f"nullif(CAST(({expression}) AS VARCHAR), '')" if expression else "NULL::VARCHAR"
    rename = kind.rename
    source = {contract: partner for partner, contract in rename.items()}.get(col.name, col.name)
    return f"nullif({ident(source)}, '')"


def typed_sql(col: Column, kind: Kind, variant: Variant | None = None,
              key_param: str = "") -> str:
    """The contract column's value: parsed to its type, or its PII replacement (whose pseudonym
    key pads are the parameters named by `key_param`, see pseudonymise.hmac_sql)."""
    raw = _raw(col, kind, variant)
    if col.pii:
        return pii_sql(col, raw, key_param)
    parser = _PARSERS.get(col.type)
    return parser.format(v=raw) if parser else raw


def audit_sql(kind: Kind, header: list[str], variant: Variant | None = None,
              extra: tuple[str, ...] = (), numbered: bool = False) -> str:
    """Rows as Great Expectations sees them, in file order: contract names, parsed values, PII
    already replaced; `extra` select items (over the file's own columns) are added at the end;
    `numbered`: first, `_row_number`, the row's 1-based number in the file."""
    select = ["row_number() OVER () AS _row_number"] if numbered else []
    for col in kind.stored_columns:
        typed = typed_sql(col, kind, variant)
        select.append(f"{typed} AS {ident(col.name)}")
        if col.type in _PARSERS and not col.pii:
            raw = _raw(col, kind, variant)
            select.append(
                f"CASE WHEN {raw} IS NOT NULL AND {typed} IS NULL "
                f"THEN {raw} END AS {ident(col.name + UNPARSED)}"
            )
        elif col.pii in PARSED_PII:  # given but not a date / postcode: flagged, never shown
            raw = _raw(col, kind, variant)
            select.append(f"CASE WHEN {raw} IS NOT NULL AND {typed} IS NULL "
                          f"THEN '***' END AS {ident(col.name + UNPARSED)}")
    select.extend(extra)
    return f"SELECT {', '.join(select)} FROM {read_csv_sql(header)}"


def numbered_rows_sql(header: list[str]) -> str:
    """The file's rows, as text, with `_row_number`: the row's 1-based number in the file."""
    return f"(SELECT row_number() OVER () AS _row_number, * FROM {read_csv_sql(header)})"


def promote_sql(kind: Kind, scan: str, skip: str | None = None) -> str:
    """INSERT of the audited rows (the audit's scan table `scan`: contract names, values already
    typed and identifiers replaced) into the raw table, with lineage; parameters $path_name,
    $hash, $date, $stream, $run. `skip` names a relation whose `row_number`s (rejected rows) are
    left out; the rows loaded keep their number in the file."""
    cols = [ident(c.warehouse_name) for c in kind.stored_columns]
    values = [ident(c.name) for c in kind.stored_columns]
    lineage = "$path_name, $hash, $date::DATE, _row_number, $stream, $run, current_timestamp"
    where = f" WHERE _row_number NOT IN (SELECT row_number FROM {skip})" if skip else ""
    return (
        f"INSERT INTO {kind.raw_table} ({', '.join(cols)}, _source_file, _content_hash, "
        f"_extract_date, _row_number, _stream, _load_run_id, _loaded_at) "
        f"SELECT {', '.join(values)}, {lineage} FROM {scan}{where}"
    )
