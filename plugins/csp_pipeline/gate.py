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

import duckdb
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


@dataclass
class GateParams:
    extract_date: str
    min_rows: int


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


def _run(kind: Kind, scopes: tuple[str, ...], frame: pd.DataFrame, params: dict,
         gx_root: Path) -> list:
    result = _checkpoint(kind, scopes, str(gx_root)).run(
        batch_parameters={"dataframe": frame}, expectation_parameters=params)
    return [r for vr in result.run_results.values() for r in vr.results]


def build_data_docs(gx_root: Path) -> Path:
    """Render Data Docs for every stored validation result; returns the index page."""
    ctx = _context(str(gx_root))
    ctx.build_data_docs()
    return gx_root / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


def _merge(acc: dict[str, RuleResult], results: list, kind: Kind) -> None:
    pii = {c.name for c in kind.pii_columns}
    for r in results:
        cfg = r.expectation_config
        column = cfg.kwargs.get("column") or cfg.kwargs.get("column_A")
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
                rr.values.append(MASK if rr.column in pii else str(v))
        if cfg.type == "expect_table_row_count_to_be_between" and not r.success:
            rr.values = [f"only {observed} rows: under a tenth of recent deliveries' median"]
        if cfg.type == "expect_table_columns_to_match_set" and not r.success:
            details = res.get("details", {}).get("mismatched", {})
            rr.values = [f"missing: {details.get('missing', [])}",
                         f"unexpected: {details.get('unexpected', [])}"]
            rr.unexpected_count = 1


def _csv_rejects(con: duckdb.DuckDBPyConnection) -> RuleResult | None:
    rows = con.execute(
        "SELECT line, error_type, error_message FROM reject_errors ORDER BY line").fetchall()
    if not rows:
        return None
    return RuleResult(
        expectation="csv_rows_well_formed", rule="well-formed CSV row (column count, quoting, UTF-8)",
        column=None, severity="blocking", success=False, unexpected_count=len(rows),
        rows=[int(r[0]) - 1 for r in rows[:SAMPLE_ROWS]],
        values=[f"line {r[0]}: {r[1]}" for r in rows[:5]])


def audit(con: duckdb.DuckDBPyConnection, kind: Kind, path: Path, header: list[str],
          params: GateParams, sql_params: dict, gx_root: Path) -> list[RuleResult]:
    """Validate one extract; returns every rule's result (failed blocking ones stop promotion).

    A file of up to CHUNK_ROWS rows is validated in one pass. A larger one runs the whole-file
    rules on its key columns, then the row rules chunk by chunk, so memory stays bounded.
    """
    acc: dict[str, RuleResult] = {}
    ge_params = {"min_rows": params.min_rows, **_window(params.extract_date)}
    renamed = [kind.rename.get(h, h) for h in header]
    _merge(acc, _run(kind, ("header",), pd.DataFrame(columns=renamed), ge_params, gx_root), kind)
    if not next(iter(acc.values())).success:
        return list(acc.values())  # nothing else can be read reliably from a file of another shape

    src = audit_sql(kind, header)
    key_cols = ", ".join(q(k) for k in kind.key) or "1 AS _no_key"
    keys = con.execute(f"SELECT _row_number, {key_cols} FROM ({src})", sql_params).df()
    rejects = _csv_rejects(con)
    if rejects:
        return [rejects]
    if len(keys) <= CHUNK_ROWS:
        del keys
        frame = con.execute(src, sql_params).df()
        _merge(acc, _run(kind, ("file", "row"), frame, ge_params, gx_root), kind)
        return list(acc.values())

    # Whole-file rules on the key columns only (uniqueness must see every row at once).
    _merge(acc, _run(kind, ("file",), keys, ge_params, gx_root), kind)
    del keys
    reader = con.execute(src, sql_params)
    while True:
        chunk = reader.fetch_df_chunk(max(1, CHUNK_ROWS // 2048))
        if chunk.empty:
            break
        _merge(acc, _run(kind, ("row",), chunk, ge_params, gx_root), kind)
    return list(acc.values())


def read_header(path: Path) -> list[str]:
    """The header row's column names (a UTF-8 byte-order mark is accepted)."""
    with path.open("rb") as fh:
        first = fh.readline()
    text = first.decode("utf-8-sig", errors="replace").rstrip("\r\n")
    return next(csv.reader([text]), [])


__all__ = ["RuleResult", "GateParams", "audit", "read_header", "read_csv_sql"]
