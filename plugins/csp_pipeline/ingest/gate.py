"""The Great Expectations gate: audits one landed extract before it may be promoted.

GE's SQL datasource returns no rows on DuckDB (upstream GX issues 10738 and 11579), so DuckDB reads
the CSV (strict, typed, identifiers already replaced) and GE validates pandas frames fetched from it
in chunks: memory is bounded by the chunk, not the file. Whole-file rules (key uniqueness, row
volume) run once on a frame of the key columns only.

The audit needs no warehouse: DuckDB reads the file on the caller's connection (in memory), GE
runs in a context of its own in memory, and each validation result is written to the data
folder's GE project as a file of its own (`data_docs.store_results`). So audits run on several
workers at once; only the promote takes the warehouse's single writer.

Reject rules: the gate merges GE's counts over the whole file and judges each rule's tolerance on
the merged counts (`results.RuleResult.judge`). The rows to reject come from GE too: in a chunk
where a reject rule failed, GE runs that rule again with result format COMPLETE (every failing
row's `_row_number`), unless the file is already bound for quarantine (a blocking failure, or a
reject rule failing on more rows than its tolerance of the most the file can hold), so a clean
chunk costs nothing more and a hopeless file no more than before.
"""

from __future__ import annotations

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Iterator

import duckdb
import pandas as pd

logging.getLogger("great_expectations").setLevel(logging.WARNING)
import great_expectations as gx  # noqa: E402  (after quietening its import-time logging)
from great_expectations.execution_engine import pandas_execution_engine  # noqa: E402

# GE hashes every frame it is given into a batch marker that nothing here reads (a tenth of the
# audit's time); a threshold of 0 bytes turns that off.
pandas_execution_engine.HASH_THRESHOLD = 0

from csp_pipeline.core.registry import Kind, Variant  # noqa: E402
from csp_pipeline.core.sql import ident  # noqa: E402
from csp_pipeline.ingest.data_docs import file_context, store_results  # noqa: E402
from csp_pipeline.ingest.extract_sql import audit_sql, read_csv_sql  # noqa: E402
from csp_pipeline.ingest.header import contract_columns, declared_part, max_rows  # noqa: E402
from csp_pipeline.ingest.results import (  # noqa: E402
    SAMPLE_ROWS,
    RuleResult,
    bound_for_quarantine,
    collect_rejected,
    csv_rejects,
    merge,
    rule_id,
)
from csp_pipeline.ingest.suites import load_suite  # noqa: E402

CHUNK_ROWS = 100_000
PLAUSIBLE_YEARS = 25  # event dates older than this many years before the extract are implausible
_context = file_context  # the data folder's GE project (results, Data Docs)


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
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = {"globally": False}
    ctx.data_sources.add_pandas("extracts")
    return ctx


_CHECKPOINTS: dict[tuple, gx.Checkpoint] = {}


def _checkpoint(kind: Kind, scopes: tuple[str, ...],
                only: tuple[str, ...] = ()) -> gx.Checkpoint:
    """A checkpoint running the parts of the kind's suite with these scopes (cached per process);
    with `only` (rule ids), just those rules, returning every failing row (COMPLETE)."""
    cache_key = (kind.id, scopes, only)
    if cache_key not in _CHECKPOINTS:
        _CHECKPOINTS[cache_key] = _make_checkpoint(kind, scopes, only)
    return _CHECKPOINTS[cache_key]


def _make_checkpoint(kind: Kind, scopes: tuple[str, ...],
                     only: tuple[str, ...]) -> gx.Checkpoint:
    ctx = _memory_context()
    name = f"{kind.id}.{'+'.join(scopes)}"
    if only:  # the rejected rows of these rules, stored as a validation of their own
        name += ".rejected-rows-" + hashlib.sha1("\n".join(only).encode()).hexdigest()[:8]
    source = ctx.data_sources.get("extracts")
    try:
        asset = source.get_asset(name)
    except LookupError:
        asset = source.add_dataframe_asset(name)
    try:
        batch = asset.get_batch_definition("whole")
    except KeyError:
        batch = asset.add_batch_definition_whole_dataframe("whole")
    full = load_suite(kind)
    part = [e for e in full.expectations if e.meta.get("scope") in scopes
            and (not only or rule_id(e.configuration) in only)]
    suite = ctx.suites.add_or_update(
        gx.ExpectationSuite(name=name, expectations=part, meta=full.meta))
    vd = ctx.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=name, data=batch, suite=suite))
    return ctx.checkpoints.add_or_update(gx.Checkpoint(
        name=name, validation_definitions=[vd], actions=[],
        result_format={"result_format": "COMPLETE" if only else "SUMMARY",
                       "partial_unexpected_count": SAMPLE_ROWS,
                       "unexpected_index_column_names": ["_row_number"],
                       "return_unexpected_index_query": False},
    ))


def _nanoseconds(frame: pd.DataFrame) -> pd.DataFrame:
    """DuckDB hands dates over as datetime64[us]; GE compares only datetime64[ns] columns
    vectorised (others one Python call per value), so widen them (a cheap, exact cast)."""
    for col, dtype in frame.dtypes.items():
        if pd.api.types.is_datetime64_dtype(dtype) and dtype != "datetime64[ns]":
            frame[col] = frame[col].astype("datetime64[ns]")
    return frame


def _run(kind: Kind, scopes: tuple[str, ...], frame: pd.DataFrame, params: dict,
         gx_root: Path, only: tuple[str, ...] = ()) -> list:
    frame = _nanoseconds(frame)
    result = _checkpoint(kind, scopes, only).run(
        batch_parameters={"dataframe": frame}, expectation_parameters=params)
    store_results(gx_root, result.run_results)
    memory = _memory_context().validation_results_store
    for key in result.run_results:  # kept on disk, not in this process
        if memory.has_key(key):
            memory.remove_key(key)
    return [r for vr in result.run_results.values() for r in vr.results]


def _reject_rows(acc: dict[str, RuleResult], failed: list[str], kind: Kind, frame: pd.DataFrame,
                 params: dict, gx_root: Path, max_rows: int) -> None:
    """The chunk's rows failing reject rules, unless the file is bound for quarantine."""
    if failed and not bound_for_quarantine(acc, max_rows):
        collect_rejected(acc, _run(kind, ("row",), frame, params, gx_root, tuple(failed)), kind)


_CHECKED: dict[str, tuple[str, ...]] = {}


def _checked_columns(kind: Kind) -> tuple[str, ...]:
    """Audit-view columns that a file- or row-scope expectation reads (others are not fetched)."""
    if kind.id not in _CHECKED:
        _CHECKED[kind.id] = _suite_columns(kind)
    return _CHECKED[kind.id]


def _suite_columns(kind: Kind) -> tuple[str, ...]:
    cols: dict[str, None] = {"_row_number": None}
    for exp in load_suite(kind).expectations:
        if exp.meta.get("scope") in ("file", "row"):
            kw = exp.configuration.kwargs
            names = [kw.get("column"), kw.get("column_A"), kw.get("column_B"),
                     *(kw.get("column_list") or [])]
            cols.update((n, None) for n in names if n)
    return tuple(cols)


def scan_sql(kind: Kind, header: list[str], variant: Variant | None = None) -> str:
    """The audit view, projected to the checked columns, in file order.

    DuckDB parses (and checks the UTF-8 of) only the CSV columns a query uses, so the scan also
    computes one flag over every header column: a bad byte anywhere is a rejected row.
    """
    every_field = " AND ".join(f"{ident(h)} IS NULL" for h in header) or "true"
    view = audit_sql(kind, header, variant, extra=(f"({every_field}) AS _all_fields_read",))
    columns = ", ".join(ident(c) for c in (*_checked_columns(kind), "_all_fields_read"))
    return f"SELECT {columns} FROM ({view})"


def audit(con: duckdb.DuckDBPyConnection, kind: Kind, path: Path, header: list[str],
          params: GateParams, sql_params: dict, gx_root: Path,
          variant: Variant | None = None) -> list[RuleResult]:
    """Validate one extract; returns every rule's result (a failed blocking one, or a reject rule
    over its tolerance, stops promotion; a reject rule within it lists the rows to reject).

    One streaming DuckDB scan of the file: the row rules run chunk by chunk (CHUNK_ROWS) so
    memory stays bounded; the key columns of every chunk are kept, and the whole-file rules (key
    uniqueness, row volume) run on them at the end. A file of one chunk is validated in one pass.
    A file with malformed rows (column count, quoting, encoding) fails on those alone.
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

    reader = con.execute(scan_sql(kind, header, variant), sql_params)
    most = max_rows(path)
    vectors = max(1, CHUNK_ROWS // 2048)
    first = reader.fetch_df_chunk(vectors)
    second = reader.fetch_df_chunk(vectors) if len(first) else first
    keys = None
    if second.empty:  # the whole file is one chunk (or none): one GE pass
        failed = merge(acc, _run(kind, ("file", "row"), first, ge_params, gx_root), kind)
        _reject_rows(acc, failed, kind, first, ge_params, gx_root, most)
    else:
        pending, parts = [first, second], []
        del first, second  # each chunk is freed once validated; only its keys are kept
        for chunk in _chunks(reader, pending, vectors):
            parts.append(chunk[["_row_number", *kind.key]])
            failed = merge(acc, _run(kind, ("row",), chunk, ge_params, gx_root), kind)
            _reject_rows(acc, failed, kind, chunk, ge_params, gx_root, most)
        keys = pd.concat(parts, ignore_index=True)
    rejects = csv_rejects(con)
    if rejects:
        return [rejects]
    if keys is not None:  # whole-file rules: uniqueness must see every row's key at once
        merge(acc, _run(kind, ("file",), keys, ge_params, gx_root), kind)
    for result in acc.values():
        result.judge()
    return list(acc.values())


def _chunks(reader: duckdb.DuckDBPyConnection, fetched: list[pd.DataFrame],
            vectors: int) -> Iterator[pd.DataFrame]:
    """The chunks in file order; DuckDB reads the next one (on its own threads, the GIL
    released) while GE validates this one, so the scan and the validation share the cores."""
    while fetched:
        yield fetched.pop(0)
    with ThreadPoolExecutor(1, thread_name_prefix="gate-scan") as scan:
        ahead = scan.submit(reader.fetch_df_chunk, vectors)
        while not (chunk := ahead.result()).empty:
            ahead = scan.submit(reader.fetch_df_chunk, vectors)
            yield chunk


__all__ = ["RuleResult", "GateParams", "audit", "read_csv_sql", "scan_sql"]
