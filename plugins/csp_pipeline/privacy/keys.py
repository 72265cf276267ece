"""Rotating the pseudonym key.

A pseudonym is HMAC-SHA256(key, normalised identifier): it cannot be turned into the pseudonym
under another key without the identifier itself. Rotation therefore re-keys the warehouse from
the source extracts still held (landed files within retention): for every pseudonymised column
of every such file, the old and the new pseudonym are computed from the raw identifier with the
loader's own SQL, giving an old -> new map; then every `*_pseudonym` column of every table (raw
tables and the tables dbt built from them) is rewritten through the map in one transaction.

A raw-table pseudonym that no held file maps (its extracts were purged and the person has not
appeared since) makes rotation refuse, naming the tables, unless `drop_unmapped` is given: then
those rows are deleted, because a pseudonym under a destroyed key can never be linked again.
After a rotation the operator sets CSP_PSEUDONYM_KEY to the new key and destroys the old one.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass, field

import duckdb

from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.schema import ensure_schema
from csp_pipeline.core.settings import Settings
from csp_pipeline.core.sql import ident, qualified
from csp_pipeline.core.warehouse import columns, open_connection
from csp_pipeline.ingest.extract_sql import read_csv_sql, typed_sql
from csp_pipeline.ingest.landing import discover, read_header
from csp_pipeline.ingest.pseudonymise import pad_params

log = logging.getLogger(__name__)
SUFFIX = "_pseudonym"


class RotationError(RuntimeError):
    """Rotation refused; the warehouse is unchanged."""


@dataclass
class RotationReport:
    source_files: int = 0
    unreadable_files: list[str] = field(default_factory=list)
    pseudonyms_mapped: int = 0
    rows_updated: int = 0
    rows_dropped: int = 0
    unmapped: dict[str, int] = field(default_factory=dict)  # raw table.column -> values
    stale_derived: dict[str, int] = field(default_factory=dict)  # dbt table.column -> values
    columns: list[str] = field(default_factory=list)


def key_id(key: bytes) -> str:
    """A public fingerprint of a key (recorded in meta.key_rotations; reveals nothing of it)."""
    return hmac.new(key, b"csp-key-id", hashlib.sha256).hexdigest()[:16]


def build_map(con: duckdb.DuckDBPyConnection, settings: Settings, old_key: bytes,
              new_key: bytes, report: RotationReport) -> None:
    """Fill temp table key_map(old, new) from every landed extract with pseudonymised columns."""
    registry = load_registry()
    con.execute("CREATE OR REPLACE TEMP TABLE key_map_rows (old VARCHAR, new VARCHAR)")
    params = {**pad_params(old_key, "old"), **pad_params(new_key, "new")}
    for feed in registry.feeds:
        for extract in discover(registry, settings.landing_dir, feed, None):
            cols = [c for c in extract.kind.columns if c.pii == "pseudonym"]
            if not cols:
                continue
            header = read_header(extract.path, extract.encoding)
            pairs = " UNION ALL ".join(
                f"SELECT {typed_sql(c, extract.kind, extract.variant, 'old')} AS old, "
                f"{typed_sql(c, extract.kind, extract.variant, 'new')} AS new "
                "FROM src"
                for c in cols)
            try:
                con.execute(f"INSERT INTO key_map_rows WITH src AS ("
                            f"SELECT * FROM {read_csv_sql(header)}) SELECT DISTINCT * FROM "
                            f"({pairs}) WHERE old IS NOT NULL",
                            {**params, "path": str(extract.path)})
            except duckdb.Error as exc:  # a file that never loaded cannot map anything loaded
                report.unreadable_files.append(extract.label)
                log.warning("rotate: cannot read %s: %s", extract.label,
                            str(exc).splitlines()[0])
                continue
            report.source_files += 1
    con.execute("CREATE OR REPLACE TEMP TABLE key_map AS SELECT DISTINCT old, new "
                "FROM key_map_rows")
    con.execute("DROP TABLE key_map_rows")
    clash = con.execute("SELECT count(*) FROM (SELECT old FROM key_map GROUP BY old "
                        "HAVING count(*) > 1)").fetchone()[0]
    if clash:
        raise RotationError(f"{clash} pseudonym(s) map to more than one new value: the "
                            "identifier normalisation differs between feeds")
    report.pseudonyms_mapped = con.execute("SELECT count(*) FROM key_map").fetchone()[0]


def pseudonym_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(schema, table, column) of every VARCHAR *_pseudonym column of a base table."""
    return sorted((c.schema, c.table, c.column) for c in columns(con, base_tables=True)
                  if c.schema != "meta" and c.column.endswith(SUFFIX)
                  and c.data_type == "VARCHAR")


def _unmapped(con, schema: str, table: str, column: str, side: str = "old") -> int:
    """Distinct values of the column that are no `side` (old or new) pseudonym of key_map."""
    return con.execute(
        f"SELECT count(DISTINCT {ident(column)}) FROM {qualified(schema, table)} t "
        f"WHERE {ident(column)} IS NOT NULL AND NOT EXISTS "
        f"(SELECT 1 FROM key_map m WHERE m.{side} = t.{ident(column)})").fetchone()[0]


def _check_previous_rotation(con, old_key: bytes) -> None:
    last = con.execute("SELECT new_key_id FROM meta.key_rotations ORDER BY rotated_at DESC "
                       "LIMIT 1").fetchone()
    if last and last[0] != key_id(old_key):
        raise RotationError(f"the warehouse was last rotated to key {last[0]}, but the current "
                            f"key given is {key_id(old_key)}: check CSP_PSEUDONYM_KEY")


def rotate(settings: Settings, old_key: bytes, new_key: bytes,
           drop_unmapped: bool = False) -> RotationReport:
    """Re-key every pseudonym in the warehouse from old_key to new_key (see module doc)."""
    if old_key == new_key:
        raise RotationError("the new key is the same as the current key")
    report = RotationReport()
    try:
        con = open_connection(settings.warehouse)
    except duckdb.IOException as exc:
        raise RotationError(f"cannot open the warehouse for writing ({exc}); pause the pipeline's "
                            "DAGs so that no run holds it, then retry") from exc
    try:
        ensure_schema(con)
        _check_previous_rotation(con, old_key)
        build_map(con, settings, old_key, new_key, report)
        cols = pseudonym_columns(con)
        report.columns = [f"{s}.{t}.{c}" for s, t, c in cols]
        raw = [x for x in cols if x[0] == "raw"]
        for s, t, c in raw:
            n = _unmapped(con, s, t, c)
            if n:
                report.unmapped[f"{s}.{t}.{c}"] = n
        if report.unmapped and not drop_unmapped:
            detail = ", ".join(f"{k}: {v}" for k, v in report.unmapped.items())
            raise RotationError(
                f"{sum(report.unmapped.values())} pseudonym value(s) in raw tables have no "
                f"source extract left to map them ({detail}); {report.source_files} extract(s) "
                f"read from {settings.landing_dir}. Restore the extracts from backup, or rerun "
                "with --drop-unmapped to delete those rows (they could never be linked again). "
                "If every value is unmapped, the current key is probably wrong.")
        con.execute("BEGIN")
        try:
            if drop_unmapped:
                for s, t, c in raw:
                    report.rows_dropped += con.execute(
                        f"DELETE FROM {qualified(s, t)} WHERE {ident(c)} IS NOT NULL AND NOT "
                        f"EXISTS (SELECT 1 FROM key_map m WHERE m.old = {qualified(s, t, c)})"
                    ).fetchone()[0]
            for s, t, c in cols:
                report.rows_updated += con.execute(
                    f"UPDATE {qualified(s, t)} SET {ident(c)} = m.new FROM key_map m "
                    f"WHERE {qualified(s, t, c)} = m.old").fetchone()[0]
                if s != "raw":
                    # left by rows dropped upstream; the model's next full refresh removes them
                    stale = _unmapped(con, s, t, c, "new")
                    if stale:
                        report.stale_derived[f"{s}.{t}.{c}"] = stale
            con.execute(
                """INSERT INTO meta.key_rotations (old_key_id, new_key_id, source_files,
                   pseudonyms_mapped, rows_updated, rows_dropped) VALUES (?, ?, ?, ?, ?, ?)""",
                [key_id(old_key), key_id(new_key), report.source_files, report.pseudonyms_mapped,
                 report.rows_updated, report.rows_dropped])
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    finally:
        con.close()
    log.info("rotate: %d pseudonyms re-keyed in %d columns, %d rows updated, %d dropped",
             report.pseudonyms_mapped, len(cols), report.rows_updated, report.rows_dropped)
    return report


