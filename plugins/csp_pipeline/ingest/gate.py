"""The Great Expectations gate: audits one landed extract before it may be promoted.

GE's SQL datasource returns no rows on DuckDB (upstream GX issues 10738 and 11579), so DuckDB reads
the CSV (strict, typed, identifiers already replaced) and GE validates pandas frames fetched from it
in chunks: memory is bounded by the chunk, not the file. Whole-file rules (key uniqueness, row
volume) run once on a frame of the key columns only.

Reject rules: the gate merges GE's counts over the whole file and judges each rule's tolerance on
the merged counts (GE's `mostly`, over the file, never per chunk). The rows to reject come from GE
too: in a chunk where a reject rule failed, GE runs that rule again with result format COMPLETE
(every failing row's `_row_number`), unless the file is already bound for quarantine (a blocking
failure, or a reject rule failing on more rows than its tolerance of the most the file can hold),
so a clean chunk costs nothing more and a hopeless file no more than before.
"""

from __future__ import annotations

import hashlib
import logging
import time
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
from great_expectations.expectations.expectation import _mostly_success  # noqa: E402

from csp_pipeline.core.registry import Kind, Variant  # noqa: E402
from csp_pipeline.core.sql import ident  # noqa: E402
from csp_pipeline.ingest.data_docs_assets import localise_site  # noqa: E402
from csp_pipeline.ingest.extract_sql import UNPARSED, audit_sql, read_csv_sql  # noqa: E402
from csp_pipeline.ingest.suites import load_suite  # noqa: E402

CHUNK_ROWS = 100_000
SAMPLE_ROWS = 20
PLAUSIBLE_YEARS = 25  # event dates older than this many years before the extract are implausible
MASK = "***"


@dataclass
class RuleResult:
    """One expectation's verdict over the whole file.

    A reject rule (`tolerance` set) that failed on no more than its tolerance of the file's rows
    keeps severity 'reject' and lists every failing row in `rejected`; over its tolerance it
    becomes 'blocking' (`over_tolerance`) and the file is quarantined.
    """

    expectation: str
    rule: str
    column: str | None
    severity: str
    success: bool
    element_count: int = 0
    unexpected_count: int = 0
    rows: list[int] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    tolerance: float | None = None
    over_tolerance: bool = False
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (row, shown value)

    @property
    def rejects_rows(self) -> bool:
        return self.severity == "reject" and not self.success

    def judge(self) -> None:
        """Reject rules: the tolerance judged on the whole file's merged counts, as GE's `mostly`
        (at least 1 - tolerance of the file's rows pass)."""
        if self.tolerance is None or self.success or not self.element_count:
            return
        if not _mostly_success(self.element_count, self.unexpected_count, 1 - self.tolerance):
            self.severity, self.over_tolerance, self.rejected = "blocking", True, []

    def describe(self, file_label: str) -> str:
        where = f"column {self.column!r}" if self.column else "file"
        rows = ", ".join(str(r) for r in self.rows[:SAMPLE_ROWS])
        more = f" (first {len(self.rows[:SAMPLE_ROWS])})" if self.unexpected_count > SAMPLE_ROWS else ""
        detail = f"; rows{more}: {rows}" if rows else ""
        vals = f"; values: {', '.join(self.values[:5])}" if self.values else ""
        unit = "column(s)" if self.expectation == COLUMN_SET else "row(s)"
        severity = "reject" if self.over_tolerance else self.severity
        share = ""
        if self.tolerance is not None and self.element_count:
            verdict = ("over its tolerance: the file is quarantined" if self.over_tolerance
                       else "rejected, within its tolerance")
            share = (f" ({_pct(self.unexpected_count / self.element_count)} of "
                     f"{self.element_count} rows, tolerance {_pct(self.tolerance)}: {verdict})")
        return (f"{file_label}: {severity} rule '{self.rule}' failed on {where}: "
                f"{self.unexpected_count} {unit}{share}{detail}{vals}")


def _pct(share: float) -> str:
    return f"{share * 100:.3g}%"


COLUMN_SET = "expect_table_columns_to_match_set"  # the header, and the extra columns after it


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


_CHECKPOINTS: dict[tuple, gx.Checkpoint] = {}


def _checkpoint(kind: Kind, scopes: tuple[str, ...], gx_root: str,
                only: tuple[str, ...] = ()) -> gx.Checkpoint:
    """A checkpoint running the parts of the kind's suite with these scopes (cached per process);
    with `only` (rule ids), just those rules, returning every failing row (COMPLETE)."""
    cache_key = (kind.id, scopes, gx_root, only)
    if cache_key not in _CHECKPOINTS:
        _CHECKPOINTS[cache_key] = _make_checkpoint(kind, scopes, gx_root, only)
    return _CHECKPOINTS[cache_key]


def _rule_id(cfg) -> str:
    return f"{cfg.type}|{_column(cfg)}|{cfg.meta.get('rule')}|{cfg.meta.get('scope')}"


def _column(cfg) -> str:
    kw = cfg.kwargs
    return kw.get("column") or kw.get("column_A") or ", ".join(kw.get("column_list") or [])


def _make_checkpoint(kind: Kind, scopes: tuple[str, ...], gx_root: str,
                     only: tuple[str, ...]) -> gx.Checkpoint:
    ctx = _context(gx_root)
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
            and (not only or _rule_id(e.configuration) in only)]
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
    result = _checkpoint(kind, scopes, str(gx_root), only).run(
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
    started = time.time() - 1  # pages written from here on are tonight's (mtime resolution)
    if since is None or not index.exists():
        ctx.build_data_docs()
    else:
        tonight = [k for k in ctx.validation_results_store.list_keys()
                   if k.run_id.run_time >= since
                   and k.expectation_suite_identifier.name.startswith(suite_prefix)]
        if tonight:  # an empty list would make GE rebuild every page
            ctx.build_data_docs(resource_identifiers=tonight)
    site = index.parent
    localise_site(site, [p for p in site.rglob("*.html") if p.stat().st_mtime >= started])
    return index


def _masked(kind: Kind, cfg) -> bool:
    pii = {c.name for c in kind.pii_columns}
    column = _column(cfg)
    return column.removesuffix(UNPARSED) in pii or bool(
        pii.intersection(cfg.kwargs.get("column_list") or []))


def _merge(acc: dict[str, RuleResult], results: list, kind: Kind) -> list[str]:
    """Add GE's results (one chunk, or the whole file) to the file's; returns the ids of the
    reject rules that failed in them."""
    failed_rejects = []
    for r in results:
        cfg = r.expectation_config
        column, masked, rid = _column(cfg), _masked(kind, cfg), _rule_id(cfg)
        res = r.result or {}
        if r.exception_info and r.exception_info.get("raised_exception"):
            raise RuntimeError(f"{kind.id}: expectation {cfg.type} on {column} errored: "
                               f"{r.exception_info.get('exception_message')}")
        rr = acc.setdefault(rid, RuleResult(
            expectation=cfg.type, rule=cfg.meta.get("rule", cfg.type),
            column=column.removesuffix(UNPARSED) if column else None,
            severity=cfg.meta.get("severity", "blocking"), success=True,
            tolerance=cfg.meta.get("tolerance")))
        rr.success = rr.success and bool(r.success)
        observed = res.get("element_count", res.get("observed_value"))
        rr.element_count += observed if isinstance(observed, int) else 0
        rr.unexpected_count += int(res.get("unexpected_count") or 0)
        if rr.severity == "reject" and not r.success:
            failed_rejects.append(rid)
        for item in res.get("partial_unexpected_index_list") or []:
            if len(rr.rows) < SAMPLE_ROWS and isinstance(item, dict):
                rr.rows.append(int(item["_row_number"]))
        for v in res.get("partial_unexpected_list") or []:
            if len(rr.values) < 5:
                rr.values.append(MASK if masked else _show(v))
        if cfg.type == "expect_table_row_count_to_be_between" and not r.success:
            rr.values = [f"only {observed} rows: under a tenth of the rows recent "
                         "deliveries lead us to expect"]
        if cfg.type == COLUMN_SET and cfg.meta.get("scope") == "trailing" and not r.success:
            extra = res.get("details", {}).get("mismatched", {}).get("unexpected", [])
            rr.values, rr.unexpected_count = [f"ignored: {extra}"], len(extra)
        elif cfg.type == COLUMN_SET and not r.success:
            details = res.get("details", {}).get("mismatched", {})
            missing, unexpected = details.get("missing", []), details.get("unexpected", [])
            if len(missing) * 2 > len(kind.columns):  # no header row? its "names" may be data
                unexpected = [f"{len(unexpected)} names not shown: is the header row missing?"]
            rr.unexpected_count = len(missing) + len(details.get("unexpected", []))
            rr.values = [f"missing: {missing}", f"unexpected: {unexpected}"]
    return failed_rejects


def _collect_rejected(acc: dict[str, RuleResult], results: list, kind: Kind) -> None:
    """Every failing row of a chunk (GE's COMPLETE results of its failed reject rules)."""
    for r in results:
        cfg = r.expectation_config
        masked = _masked(kind, cfg)
        res = r.result or {}
        acc[_rule_id(cfg)].rejected += [
            (int(item["_row_number"]), MASK if masked else _show(_failing_value(cfg, item)))
            for item in res.get("unexpected_index_list") or []]  # GE caps unexpected_list


def _failing_value(cfg, item: dict) -> object:
    """The checked value(s) of one entry of GE's unexpected_index_list."""
    kw = cfg.kwargs
    if kw.get("column_A"):
        return item[kw["column_A"]], item[kw["column_B"]]
    if kw.get("column_list"):
        return {c: item[c] for c in kw["column_list"]}
    return item[kw["column"]]


def _bound_for_quarantine(acc: dict[str, RuleResult], max_rows: int) -> bool:
    return any(not r.success and (r.severity == "blocking" or (
        r.tolerance is not None and r.unexpected_count > r.tolerance * max_rows))
        for r in acc.values())


def _reject_rows(acc: dict[str, RuleResult], failed: list[str], kind: Kind, frame: pd.DataFrame,
                 params: dict, gx_root: Path, max_rows: int) -> None:
    """The chunk's rows failing reject rules, unless the file is bound for quarantine."""
    if failed and not _bound_for_quarantine(acc, max_rows):
        _collect_rejected(acc, _run(kind, ("row",), frame, params, gx_root, tuple(failed)), kind)


def max_rows(path: Path) -> int:
    """An upper bound of the file's data rows: its line breaks (a quoted field may hold more)."""
    newlines = returns = 0
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            newlines += block.count(b"\n")
            returns += block.count(b"\r")
    return max(newlines, returns)


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


def scan_sql(kind: Kind, header: list[str], variant: Variant | None = None) -> str:
    """The audit view, projected to the checked columns, in file order.

    DuckDB parses (and checks the UTF-8 of) only the CSV columns a query uses, so the scan also
    computes one flag over every header column: a bad byte anywhere is a rejected row.
    """
    every_field = " AND ".join(f"{ident(h)} IS NULL" for h in header) or "true"
    view = audit_sql(kind, header, variant, extra=(f"({every_field}) AS _all_fields_read",))
    columns = ", ".join(ident(c) for c in (*_checked_columns(kind), "_all_fields_read"))
    return f"SELECT {columns} FROM ({view})"


def _header_columns(kind: Kind, header: list[str], variant: Variant | None = None) -> list[str]:
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


def _declared_part(kind: Kind, columns: list[str]) -> list[str]:
    """The columns up to the last declared one: undeclared columns after it (a partner appending
    columns) are reported and ignored, not a different layout."""
    declared = set(kind.column_names)
    last = max((i for i, n in enumerate(columns) if n in declared), default=len(columns) - 1)
    return columns[: last + 1]


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
    columns = _header_columns(kind, header, variant)
    declared = pd.DataFrame(columns=_declared_part(kind, columns))
    _merge(acc, _run(kind, ("header",), declared, ge_params, gx_root), kind)
    if not next(iter(acc.values())).success:
        return list(acc.values())  # nothing else can be read reliably from a file of another shape
    _merge(acc, _run(kind, ("trailing",), pd.DataFrame(columns=columns), ge_params, gx_root), kind)

    reader = con.execute(scan_sql(kind, header, variant), sql_params)
    most = max_rows(path)
    vectors = max(1, CHUNK_ROWS // 2048)
    first = reader.fetch_df_chunk(vectors)
    second = reader.fetch_df_chunk(vectors) if len(first) else first
    keys = None
    if second.empty:  # the whole file is one chunk (or none): one GE pass
        failed = _merge(acc, _run(kind, ("file", "row"), first, ge_params, gx_root), kind)
        _reject_rows(acc, failed, kind, first, ge_params, gx_root, most)
    else:
        pending, parts = [first, second], []
        del first, second  # each chunk is freed once validated; only its keys are kept
        for chunk in _chunks(reader, pending, vectors):
            parts.append(chunk[["_row_number", *kind.key]])
            failed = _merge(acc, _run(kind, ("row",), chunk, ge_params, gx_root), kind)
            _reject_rows(acc, failed, kind, chunk, ge_params, gx_root, most)
        keys = pd.concat(parts, ignore_index=True)
    rejects = _csv_rejects(con)
    if rejects:
        return [rejects]
    if keys is not None:  # whole-file rules: uniqueness must see every row's key at once
        _merge(acc, _run(kind, ("file",), keys, ge_params, gx_root), kind)
    for result in acc.values():
        result.judge()
    return list(acc.values())


def rejections(results: list[RuleResult]) -> list[tuple[int, str | None, str, str]]:
    """(row, column, rule, shown value) of every row a reject rule within its tolerance rejects,
    in row order; a row failing several rules appears once per rule. Empty when a rule blocks."""
    if any(not r.success and r.severity == "blocking" for r in results):
        return []
    rejecting = [r for r in results if r.rejects_rows]
    for r in rejecting:
        if len(r.rejected) != r.unexpected_count:  # never promote a row GE did not account for
            raise RuntimeError(f"reject rule {r.rule!r} on {r.column!r}: {r.unexpected_count} "
                               f"failing rows counted but {len(r.rejected)} listed")
    found = [(row, r.column, r.rule, value) for r in rejecting for row, value in r.rejected]
    return sorted(found, key=lambda f: f[0])


def _chunks(reader: duckdb.DuckDBPyConnection, fetched: list[pd.DataFrame],
            vectors: int) -> Iterator[pd.DataFrame]:
    while fetched:
        yield fetched.pop(0)
    while not (chunk := reader.fetch_df_chunk(vectors)).empty:
        yield chunk


__all__ = ["RuleResult", "GateParams", "audit", "read_csv_sql", "rejections", "scan_sql"]
