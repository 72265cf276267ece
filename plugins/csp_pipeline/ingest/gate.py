"""The Great Expectations gate: audits one landed extract before it may be promoted.

DuckDB reads the CSV once (strict, typed, identifiers already replaced) into the audit's scan: a
DuckDB file of the file's rows as the contract names them (`scan`), bounded in memory and spilling
to disk. Great Expectations validates that table through its SQL execution engine on DuckDB
(`gx_duckdb` carries the two fixes it needs): every row rule and whole-file rule (key uniqueness,
row volume) is a query DuckDB runs on both cores, so neither time nor memory follows pandas. The
promote then inserts from the scan instead of reading the CSV again.

The audit needs no warehouse: DuckDB reads the file on the caller's connection (in memory), GE
runs in a context of its own in memory, and each validation result is written to the data
folder's GE project as a file of its own (`data_docs.store_results`). So audits run on several
workers at once; only the promote takes the warehouse's single writer.

Reject rules: each rule's tolerance is judged on GE's counts over the whole file
(`results.RuleResult.judge`). The rows to reject come from GE too: when a reject rule failed
within its tolerance, GE runs that rule again with result format COMPLETE (every failing row's
`_row_number`), unless the file is quarantined anyway (a blocking failure, or a reject rule over
its tolerance), so a clean file costs nothing more and a hopeless one no more than before.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Iterator

import duckdb
import pandas as pd

logging.getLogger("great_expectations").setLevel(logging.WARNING)
import great_expectations as gx  # noqa: E402  (after quietening its import-time logging)

from csp_pipeline.core.registry import Kind, Variant  # noqa: E402
from csp_pipeline.core.settings import duckdb_memory_limit  # noqa: E402
from csp_pipeline.core.sql import ident, literal  # noqa: E402
from csp_pipeline.ingest import gx_duckdb  # noqa: E402
from csp_pipeline.ingest.data_docs import store_results  # noqa: E402
from csp_pipeline.ingest.extract_sql import audit_sql, read_csv_sql  # noqa: E402
from csp_pipeline.ingest.header import contract_columns, declared_part  # noqa: E402
from csp_pipeline.ingest.landing import DIR_MODE, FILE_MODE  # noqa: E402
from csp_pipeline.ingest.results import (  # noqa: E402
    SAMPLE_ROWS,
    RuleResult,
    collect_rejected,
    csv_rejects,
    merge,
    rule_id,
)
from csp_pipeline.ingest.suites import load_suite  # noqa: E402

PLAUSIBLE_YEARS = 25  # event dates older than this many years before the extract are implausible
SCAN_TABLE = "scan"  # the audit's rows, in its scan file


@dataclass
class GateParams:
    extract_date: str
    min_rows: int
    # Code lists that follow the reference data, by expectation parameter (reference.code_lists).
    code_lists: dict[str, list[str]] = field(default_factory=dict)


def _window(extract_date: str) -> dict[str, datetime]:
    end = date.fromisoformat(extract_date)
    return {
        "window_start": datetime(end.year - PLAUSIBLE_YEARS, 1, 1),
        "window_end": datetime.combine(end, datetime.min.time()) + timedelta(days=1, seconds=-1),
    }


@cache
def _memory_context():
    """This process's GE context, in memory: audits on several workers share no GE files but
    the results each writes (`store_results`)."""
    gx_duckdb.apply()
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = {"globally": False}
    ctx.data_sources.add_pandas("extracts")
    return ctx


_SUITES: dict[str, gx.ExpectationSuite] = {}


def _suite(kind: Kind, scopes: tuple[str, ...], only: tuple[str, ...]) -> gx.ExpectationSuite:
    """The parts of the kind's suite with these scopes (with `only`, just those rules), added to
    the context once per process."""
    name = f"{kind.id}.{'+'.join(scopes)}"
    if only:  # the rejected rows of these rules, stored as a validation of their own
        name += ".rejected-rows-" + hashlib.sha1("\n".join(only).encode()).hexdigest()[:8]
    if name not in _SUITES:
        full = load_suite(kind)
        part = [e for e in full.expectations if e.meta.get("scope") in scopes
                and (not only or rule_id(e.configuration) in only)]
        _SUITES[name] = _memory_context().suites.add_or_update(
            gx.ExpectationSuite(name=name, expectations=part, meta=full.meta))
    return _SUITES[name]


@dataclass(frozen=True)
class Scan:
    """The audit's scan file, opened by GE (read-only) as the batch its rules run on."""

    batch: object  # GE's batch definition of its table
    rows: int


def _checkpoint(suite: gx.ExpectationSuite, batch, only: tuple[str, ...],
                listed: int = SAMPLE_ROWS) -> gx.Checkpoint:
    """With `only`, GE lists every failing row of those rules, up to `listed` (GE's SQL engine
    caps even a COMPLETE listing at `partial_unexpected_count`)."""
    ctx = _memory_context()
    name = f"{suite.name}@{batch.data_asset.datasource.name}"
    vd = ctx.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=name, data=batch, suite=suite))
    return ctx.checkpoints.add_or_update(gx.Checkpoint(
        name=name, validation_definitions=[vd], actions=[],
        result_format={"result_format": "COMPLETE" if only else "SUMMARY",
                       "partial_unexpected_count": listed if only else SAMPLE_ROWS,
                       "unexpected_index_column_names": ["_row_number"],
                       "return_unexpected_index_query": False},
    ))


def _frame_batch(name: str):
    """The pandas batch the file-shape rules (header, trailing columns) run on."""
    source = _memory_context().data_sources.get("extracts")
    try:
        asset = source.get_asset(name)
    except LookupError:
        asset = source.add_dataframe_asset(name)
    try:
        return asset.get_batch_definition("whole")
    except KeyError:
        return asset.add_batch_definition_whole_dataframe("whole")


def _run(kind: Kind, scopes: tuple[str, ...], data: pd.DataFrame | Scan, params: dict,
         gx_root: Path, only: tuple[str, ...] = ()) -> list:
    """GE's results of the kind's rules with these scopes (with `only`, just those rules, listing
    every failing row) on a frame (the file's shape) or on the scan (its rows)."""
    suite = _suite(kind, scopes, only)
    if isinstance(data, Scan):
        batch, batch_parameters, listed = data.batch, None, max(data.rows, 1)
    else:
        batch, batch_parameters, listed = _frame_batch(suite.name), {"dataframe": data}, len(data)
    result = _checkpoint(suite, batch, only, listed).run(
        batch_parameters=batch_parameters, expectation_parameters=params)
    store_results(gx_root, result.run_results)
    memory = _memory_context().validation_results_store
    for key in result.run_results:  # kept on disk, not in this process
        if memory.has_key(key):
            memory.remove_key(key)
    return [r for vr in result.run_results.values() for r in vr.results]


def scan_sql(kind: Kind, header: list[str], variant: Variant | None = None) -> str:
    """The audit view: every contract column, typed and with identifiers replaced, its unparsed
    text beside it, in file order; `_row_number` only for a partner variant (see write_scan).

    DuckDB parses (and checks the UTF-8 of) only the CSV columns a query uses, so the scan also
    computes one flag over every header column: a bad byte anywhere is a rejected row.
    """
    every_field = " AND ".join(f"{ident(h)} IS NULL" for h in header) or "true"
    return audit_sql(kind, header, variant, extra=(f"({every_field}) AS _all_fields_read",),
                     numbered=variant is not None)


def write_scan(con: duckdb.DuckDBPyConnection, kind: Kind, header: list[str], sql_params: dict,
               target: Path, variant: Variant | None = None) -> int:
    """Read the file once into `target` (an owner-only DuckDB file: person-level rows); returns
    its rows. The `scan` view holds them with `_row_number`, the row's number in the file.

    A file in the contract's layout is a plain projection of the CSV, stored in file order (DuckDB
    keeps insertion order, on every thread), so a row's number is its position in the table
    (numbering the rows while reading them, a window over the whole file, took longer than the
    read). A partner variant's expressions may look values up in reference tables, and a join
    may emit rows out of file order, so its rows are numbered as they are read."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(target.parent, DIR_MODE)
    target.unlink(missing_ok=True)
    con.execute("SET preserve_insertion_order = true")
    con.execute(f"ATTACH {literal(str(target))} AS audit_scan")
    try:
        os.chmod(target, FILE_MODE)
        con.execute(f"CREATE TABLE audit_scan.{SCAN_TABLE}_rows AS "
                    f"{scan_sql(kind, header, variant)}", sql_params)
        numbered = "*" if variant is not None else "rowid + 1 AS _row_number, *"
        con.execute(f"CREATE VIEW audit_scan.{SCAN_TABLE} AS SELECT {numbered} "
                    f"FROM {SCAN_TABLE}_rows")  # unqualified: bound where the view is
        return con.execute(f"SELECT count(*) FROM audit_scan.{SCAN_TABLE}_rows").fetchone()[0]
    finally:
        con.execute("DETACH audit_scan")


@contextmanager
def _opened(kind: Kind, path: Path, rows: int, spill_dir: Path) -> Iterator[Scan]:
    """The scan file as a GE SQL datasource of its own (read-only, the pipeline's memory bound,
    spilling to `spill_dir`), removed with its engine's connections on leaving. Data Docs show
    it by the scan's name (the file's digest and name) and the kind."""
    ctx = _memory_context()
    name = f"{path.stem}-{uuid.uuid4().hex[:8]}"
    config = {"memory_limit": duckdb_memory_limit(), "temp_directory": str(spill_dir)}
    source = ctx.data_sources.add_sql(
        name, connection_string=f"duckdb:///{path}",
        kwargs={"connect_args": {"read_only": True, "config": config}})
    try:
        asset = source.add_table_asset(f"{kind.id}.rows", table_name=SCAN_TABLE)
        yield Scan(asset.add_batch_definition_whole_table("whole"), rows)
    finally:
        for checkpoint in [c for c in ctx.checkpoints.all() if c.name.endswith("@" + name)]:
            ctx.checkpoints.delete(checkpoint.name)
            ctx.validation_definitions.delete(checkpoint.name)
        source.get_execution_engine().close()  # both engines' connections closed: DuckDB lets
        source.get_engine().dispose()  # go of the file (the datasource's own checks table names)
        ctx.data_sources.delete(name)


def audit(con: duckdb.DuckDBPyConnection, kind: Kind, path: Path, header: list[str],
          params: GateParams, sql_params: dict, gx_root: Path, scan_path: Path,
          variant: Variant | None = None) -> list[RuleResult]:
    """Validate one extract; returns every rule's result (a failed blocking one, or a reject rule
    over its tolerance, stops promotion; a reject rule within it lists the rows to reject).

    DuckDB reads the file once into `scan_path` (kept for the promote); GE checks the scan. A
    file with malformed rows (column count, quoting, encoding) fails on those alone.
    """
    if path.stat().st_size == 0:
        return [RuleResult(expectation="file_not_empty", rule="empty file (0 bytes: no header, "
                           "no rows)", column=None, severity="blocking", success=False,
                           unexpected_count=1)]
    acc: dict[str, RuleResult] = {}
    ge_params = {"min_rows": params.min_rows, **_window(params.extract_date), **params.code_lists}
    columns = contract_columns(kind, header, variant)
    declared = pd.DataFrame(columns=declared_part(kind, columns))
    merge(acc, _run(kind, ("header",), declared, ge_params, gx_root), kind)
    if not next(iter(acc.values())).success:
        return list(acc.values())  # nothing else can be read reliably from a file of another shape
    merge(acc, _run(kind, ("trailing",), pd.DataFrame(columns=columns), ge_params, gx_root), kind)

    rows = write_scan(con, kind, header, sql_params, scan_path, variant)
    rejects = csv_rejects(con)
    if rejects:
        return [rejects]
    with _opened(kind, scan_path, rows, scan_path.parent / "spill") as scan:
        failed = merge(acc, _run(kind, ("file", "row"), scan, ge_params, gx_root), kind)
        for result in acc.values():
            result.judge()
        if failed and not any(not r.success and r.severity == "blocking" for r in acc.values()):
            collect_rejected(acc, _run(kind, ("row",), scan, ge_params, gx_root, tuple(failed)),
                             kind)
    for result in acc.values():
        if result.expectation == COMPOUND_UNIQUE and not result.success and not result.rows:
            result.rows = _duplicate_rows(con, scan_path, kind.key)
    return list(acc.values())


COMPOUND_UNIQUE = "expect_compound_columns_to_be_unique"


def _duplicate_rows(con: duckdb.DuckDBPyConnection, scan_path: Path,
                    key: tuple[str, ...]) -> list[int]:
    """The first rows whose compound key another row shares. GE's SQL engine counts them but
    lists none (its multicolumn rules return no row index there); the join is GE's own."""
    cols = [ident(c) for c in key]
    on = " AND ".join(f"d.{c} = s.{c}" for c in cols)
    con.execute(f"ATTACH {literal(str(scan_path))} AS audit_scan (READ_ONLY)")
    try:
        return [r for (r,) in con.execute(
            f"SELECT s._row_number FROM audit_scan.{SCAN_TABLE} s JOIN (SELECT {', '.join(cols)} "
            f"FROM audit_scan.{SCAN_TABLE} GROUP BY ALL HAVING count(*) > 1) d ON {on} "
            f"ORDER BY 1 LIMIT {SAMPLE_ROWS}").fetchall()]
    finally:
        con.execute("DETACH audit_scan")


__all__ = ["RuleResult", "GateParams", "audit", "read_csv_sql", "scan_sql", "write_scan"]
