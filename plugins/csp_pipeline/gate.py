"""The Great Expectations gate: audits one landed extract before it may be promoted.

GE's SQL datasource returns no rows on DuckDB (upstream GX issues 10738 and 11579), so DuckDB reads
the CSV (strict, typed, identifiers already replaced) and GE validates pandas frames fetched from it
in chunks: memory is bounded by the chunk, not the file. Whole-file rules (key uniqueness, row
volume) run once on a frame of the key columns only.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Iterator

import duckdb
import numpy as np
import pandas as pd

logging.getLogger("great_expectations").setLevel(logging.WARNING)
import great_expectations as gx  # noqa: E402  (after quietening its import-time logging)

from csp_pipeline.extract_sql import UNPARSED, audit_sql, q, read_csv_sql  # noqa: E402
from csp_pipeline.registry import Kind  # noqa: E402
from csp_pipeline.suites import load_suite  # noqa: E402

CHUNK_ROWS = 100_000
SAMPLE_ROWS = 20
PLAUSIBLE_YEARS = 25  # event dates older than this many years before the extract are implausible
MASK = "***"


@dataclass
class RuleResult:
    """One expectation's verdict over the whole file."""

    expectation: str
    rule: str
    column: str | None
    severity: str
    success: bool
    element_count: int = 0
    unexpected_count: int = 0
    rows: list[int] = field(default_factory=list)
    values: list[str] = field(default_factory=list)

    def describe(self, file_label: str) -> str:
        where = f"column {self.column!r}" if self.column else "file"
        rows = ", ".join(str(r) for r in self.rows[:SAMPLE_ROWS])
        more = f" (first {len(self.rows[:SAMPLE_ROWS])})" if self.unexpected_count > SAMPLE_ROWS else ""
        detail = f"; rows{more}: {rows}" if rows else ""
        vals = f"; values: {', '.join(self.values[:5])}" if self.values else ""
        return (f"{file_label}: {self.severity} rule '{self.rule}' failed on {where}: "
                f"{self.unexpected_count} row(s){detail}{vals}")


DOCS_INDEX_RESULTS = 1000  # validation results listed on the Data Docs index (newest first)


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
def _context(gx_root: str):
    """A file-backed GE project under the data folder: suites, checkpoints and validation results
    persist there, and Data Docs are built from them once per feed run (`build_data_docs`)."""
    ctx = gx.get_context(mode="file", project_root_dir=gx_root)
    ctx.variables.progress_bars = {"globally": False}
    site = dict(ctx.variables.data_docs_sites["local_site"])
    index_builder = {"class_name": "DefaultSiteIndexBuilder",
                     "validation_results_limit": DOCS_INDEX_RESULTS}
    if site.get("site_index_builder") != index_builder:  # the index reads each listed result
        ctx.update_data_docs_site("local_site", {**site, "site_index_builder": index_builder})
    ctx.data_sources.add_or_update_pandas("extracts")
    return ctx


_CHECKPOINTS: dict[tuple[str, tuple[str, ...], str], gx.Checkpoint] = {}


def _checkpoint(kind: Kind, scopes: tuple[str, ...], gx_root: str) -> gx.Checkpoint:
    """A checkpoint running the parts of the kind's suite with these scopes (cached per process)."""
    cache_key = (kind.id, scopes, gx_root)
    if cache_key not in _CHECKPOINTS:
        _CHECKPOINTS[cache_key] = _make_checkpoint(kind, scopes, gx_root)
    return _CHECKPOINTS[cache_key]


def _make_checkpoint(kind: Kind, scopes: tuple[str, ...], gx_root: str) -> gx.Checkpoint:
    ctx = _context(gx_root)
    name = f"{kind.id}.{'+'.join(scopes)}"
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
    part = [e for e in full.expectations if e.meta.get("scope") in scopes]
    suite = ctx.suites.add_or_update(
        gx.ExpectationSuite(name=name, expectations=part, meta=full.meta))
    vd = ctx.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=name, data=batch, suite=suite))
    return ctx.checkpoints.add_or_update(gx.Checkpoint(
        name=name, validation_definitions=[vd], actions=[],
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_ROWS,
                       "unexpected_index_column_names": ["_row_number"]},
    ))


def _nanoseconds(frame: pd.DataFrame) -> pd.DataFrame:
    """DuckDB hands dates over as datetime64[us]; GE compares only datetime64[ns] columns
    vectorised (others one Python call per value), so widen them (a cheap, exact cast)."""
    for col, dtype in frame.dtypes.items():
        if pd.api.types.is_datetime64_dtype(dtype) and dtype != "datetime64[ns]":
            frame[col] = frame[col].astype("datetime64[ns]")
    return frame


def _run(kind: Kind, scopes: tuple[str, ...], frame: pd.DataFrame, params: dict,
         gx_root: Path) -> list:
    frame = _nanoseconds(frame)
    result = _checkpoint(kind, scopes, str(gx_root)).run(
        batch_parameters={"dataframe": frame}, expectation_parameters=params)
    return [r for vr in result.run_results.values() for r in vr.results]


def prune_validation_results(gx_root: Path, before: datetime) -> int:
    """Delete the GE validation results stored before `before`; returns how many. The warehouse
    keeps every result in meta.validation_results; Data Docs drop the pages at the next build."""
    if not (gx_root / "gx").exists():
        return 0
    store = _context(str(gx_root)).validation_results_store
    expired = [k for k in store.list_keys() if k.run_id.run_time < before]
    for key in expired:
        store.remove_key(key)
    return len(expired)


def data_docs_index(gx_root: Path) -> Path:
    return gx_root / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


def build_data_docs(gx_root: Path, since: datetime | None = None, suite_prefix: str = "") -> Path:
    """Render Data Docs; returns the index page.

    With `since`, only the validation results stored since then (of suites named with
    `suite_prefix`) are rendered, so a night's cost follows the night's files, not the history;
    the index lists the latest DOCS_INDEX_RESULTS results. The first build renders everything.
    """
    ctx = _context(str(gx_root))
    index = data_docs_index(gx_root)
    if since is None or not index.exists():
        ctx.build_data_docs()
        return index
    tonight = [k for k in ctx.validation_results_store.list_keys()
               if k.run_id.run_time >= since
               and k.expectation_suite_identifier.name.startswith(suite_prefix)]
    if tonight:  # an empty list would make GE rebuild every page
        ctx.build_data_docs(resource_identifiers=tonight)
    return index


def _merge(acc: dict[str, RuleResult], results: list, kind: Kind) -> None:
    pii = {c.name for c in kind.pii_columns}
    for r in results:
        cfg = r.expectation_config
        columns = cfg.kwargs.get("column_list") or []
        column = cfg.kwargs.get("column") or cfg.kwargs.get("column_A") or ", ".join(columns)
        masked = column in pii or (column or "").removesuffix(UNPARSED) in pii or bool(
            pii.intersection(columns))
        rid = f"{cfg.type}|{column}|{cfg.meta.get('rule')}"
        res = r.result or {}
        if r.exception_info and r.exception_info.get("raised_exception"):
            raise RuntimeError(f"{kind.id}: expectation {cfg.type} on {column} errored: "
                               f"{r.exception_info.get('exception_message')}")
        rr = acc.setdefault(rid, RuleResult(
            expectation=cfg.type, rule=cfg.meta.get("rule", cfg.type),
            column=column.removesuffix(UNPARSED) if column else None,
            severity=cfg.meta.get("severity", "blocking"), success=True))
        rr.success = rr.success and bool(r.success)
        observed = res.get("element_count", res.get("observed_value"))
        rr.element_count += observed if isinstance(observed, int) else 0
        rr.unexpected_count += int(res.get("unexpected_count") or 0)
        for item in res.get("partial_unexpected_index_list") or []:
            if len(rr.rows) < SAMPLE_ROWS and isinstance(item, dict):
                rr.rows.append(int(item["_row_number"]))
        for v in res.get("partial_unexpected_list") or []:
            if len(rr.values) < 5:
                rr.values.append(MASK if masked else _show(v))
        if cfg.type == "expect_table_row_count_to_be_between" and not r.success:
            rr.values = [f"only {observed} rows: under a tenth of the rows recent "
                         "deliveries lead us to expect"]
        if cfg.type == "expect_table_columns_to_match_set" and not r.success:
            details = res.get("details", {}).get("mismatched", {})
            missing, unexpected = details.get("missing", []), details.get("unexpected", [])
            if len(missing) * 2 > len(kind.columns):  # no header row? its "names" may be data
                unexpected = [f"{len(unexpected)} names not shown: is the header row missing?"]
            rr.values = [f"missing: {missing}", f"unexpected: {unexpected}"]
            rr.unexpected_count = 1


def _show(value: object) -> str:
    """A sample value as a person reads it: 2024-06-01, not Timestamp(...) or np.int32(3)."""
    if isinstance(value, (tuple, list)):
        return " vs ".join(_show(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_show(v)}" for k, v in value.items())
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return "(missing)"
    if isinstance(value, (pd.Timestamp, datetime, np.datetime64)):
        ts = pd.Timestamp(value)
        return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat()
    return str(value.item() if isinstance(value, np.generic) else value)


def _csv_rejects(con: duckdb.DuckDBPyConnection) -> RuleResult | None:
    # One entry per bad line (DuckDB records one error per missing column, for instance); the
    # rejected line's text is never read: it may hold identifiers.
    rows = con.execute("""SELECT line, string_agg(DISTINCT error_type, ', ' ORDER BY error_type)
                          FROM reject_errors GROUP BY line ORDER BY line""").fetchall()
    if not rows:
        return None
    return RuleResult(
        expectation="csv_rows_well_formed", rule="well-formed CSV row (column count, quoting, UTF-8)",
        column=None, severity="blocking", success=False, unexpected_count=len(rows),
        rows=[int(r[0]) - 1 for r in rows[:SAMPLE_ROWS]],
        values=[f"line {r[0]}: {r[1]}" for r in rows[:5]])


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


def scan_sql(kind: Kind, header: list[str]) -> str:
    """The audit view, projected to the checked columns, in file order.

    DuckDB parses (and checks the UTF-8 of) only the CSV columns a query uses, so the scan also
    computes one flag over every header column: a bad byte anywhere is a rejected row.
    """
    source = f" FROM {read_csv_sql(header)}"
    view = audit_sql(kind, header)
    if not view.endswith(source):
        raise AssertionError("audit_sql no longer ends with read_csv_sql: update scan_sql")
    every_field = " AND ".join(f"{q(h)} IS NULL" for h in header) or "true"
    view = f"{view.removesuffix(source)}, ({every_field}) AS _all_fields_read{source}"
    columns = ", ".join(q(c) for c in (*_checked_columns(kind), "_all_fields_read"))
    return f"SELECT {columns} FROM ({view})"


def _header_columns(kind: Kind, header: list[str]) -> list[str]:
    """The file's column names in contract terms. When most declared columns are missing the
    first row is probably data, not a header: its values are not passed on (nor stored by GE)."""
    names = [kind.rename.get(h, h) for h in header]
    declared = set(kind.column_names)
    if len(declared - set(names)) * 2 > len(declared):
        names = [n if n in declared else f"unrecognised column {i}"
                 for i, n in enumerate(names, start=1)]
    return names


def audit(con: duckdb.DuckDBPyConnection, kind: Kind, path: Path, header: list[str],
          params: GateParams, sql_params: dict, gx_root: Path) -> list[RuleResult]:
    """Validate one extract; returns every rule's result (failed blocking ones stop promotion).

    One streaming DuckDB scan of the file: the row rules run chunk by chunk (CHUNK_ROWS) so
    memory stays bounded; the key columns of every chunk are kept, and the whole-file rules (key
    uniqueness, row volume) run on them at the end. A file of one chunk is validated in one pass.
    A file with malformed rows (column count, quoting, encoding) fails on those alone.
    """
    acc: dict[str, RuleResult] = {}
    ge_params = {"min_rows": params.min_rows, **_window(params.extract_date), **params.code_lists}
    columns = _header_columns(kind, header)
    _merge(acc, _run(kind, ("header",), pd.DataFrame(columns=columns), ge_params, gx_root), kind)
    if not next(iter(acc.values())).success:
        return list(acc.values())  # nothing else can be read reliably from a file of another shape

    reader = con.execute(scan_sql(kind, header), sql_params)
    vectors = max(1, CHUNK_ROWS // 2048)
    first = reader.fetch_df_chunk(vectors)
    second = reader.fetch_df_chunk(vectors) if len(first) else first
    keys = None
    if second.empty:  # the whole file is one chunk (or none): one GE pass
        _merge(acc, _run(kind, ("file", "row"), first, ge_params, gx_root), kind)
    else:
        pending, parts = [first, second], []
        del first, second  # each chunk is freed once validated; only its keys are kept
        for chunk in _chunks(reader, pending, vectors):
            parts.append(chunk[["_row_number", *kind.key]])
            _merge(acc, _run(kind, ("row",), chunk, ge_params, gx_root), kind)
        keys = pd.concat(parts, ignore_index=True)
    rejects = _csv_rejects(con)
    if rejects:
        return [rejects]
    if keys is not None:  # whole-file rules: uniqueness must see every row's key at once
        _merge(acc, _run(kind, ("file",), keys, ge_params, gx_root), kind)
    return list(acc.values())


def _chunks(reader: duckdb.DuckDBPyConnection, fetched: list[pd.DataFrame],
            vectors: int) -> Iterator[pd.DataFrame]:
    while fetched:
        yield fetched.pop(0)
    while not (chunk := reader.fetch_df_chunk(vectors)).empty:
        yield chunk


def read_header(path: Path) -> list[str]:
    """The header row's column names (a UTF-8 byte-order mark is accepted)."""
    with path.open("rb") as fh:
        first = fh.readline()
    text = first.decode("utf-8-sig", errors="replace").rstrip("\r\n")
    return next(csv.reader([text]), [])


__all__ = ["RuleResult", "GateParams", "audit", "read_header", "read_csv_sql", "scan_sql"]
