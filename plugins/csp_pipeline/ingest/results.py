"""A rule's verdict over a whole file (`RuleResult`), how it reads to a person, and how Great
Expectations' results (of the file's shape, then of its rows) make it up.

Reject rules: each rule's tolerance is judged on GE's counts over the whole file (GE's `mostly`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

import duckdb
import numpy as np
import pandas as pd
from great_expectations.expectations.expectation import _mostly_success

from csp_pipeline.core.registry import Kind
from csp_pipeline.ingest.extract_sql import UNPARSED

SAMPLE_ROWS = 20
MASK = "***"
COLUMN_SET = "expect_table_columns_to_match_set"  # the header, and the extra columns after it


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

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RuleResult:
        return cls(**{**data, "rejected": [tuple(r) for r in data.get("rejected", [])]})


def _pct(share: float) -> str:
    return f"{share * 100:.3g}%"


def rule_id(cfg) -> str:
    return f"{cfg.type}|{column_of(cfg)}|{cfg.meta.get('rule')}|{cfg.meta.get('scope')}"


def column_of(cfg) -> str:
    kw = cfg.kwargs
    return kw.get("column") or kw.get("column_A") or ", ".join(kw.get("column_list") or [])


def _masked(kind: Kind, cfg) -> bool:
    pii = {c.name for c in kind.pii_columns}
    column = column_of(cfg)
    return column.removesuffix(UNPARSED) in pii or bool(
        pii.intersection(cfg.kwargs.get("column_list") or []))


def merge(acc: dict[str, RuleResult], results: list, kind: Kind) -> list[str]:
    """Add GE's results (of the file's shape, or of its rows) to the file's; returns the ids of
    the reject rules that failed in them."""
    failed_rejects = []
    for r in results:
        cfg = r.expectation_config
        column, masked, rid = column_of(cfg), _masked(kind, cfg), rule_id(cfg)
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
                rr.values.append(MASK if masked else show(v))
        _explain(rr, cfg, res, r.success, observed, kind)
    return failed_rejects


def _explain(rr: RuleResult, cfg, res: dict, success: bool, observed, kind: Kind) -> None:
    """The values shown for the file-shape rules: row volume, header and trailing columns."""
    if cfg.type == "expect_table_row_count_to_be_between" and not success:
        rr.values = [f"only {observed} rows: under a tenth of the rows recent "
                     "deliveries lead us to expect"]
    if cfg.type == COLUMN_SET and cfg.meta.get("scope") == "trailing" and not success:
        extra = res.get("details", {}).get("mismatched", {}).get("unexpected", [])
        rr.values, rr.unexpected_count = [f"ignored: {extra}"], len(extra)
    elif cfg.type == COLUMN_SET and not success:
        details = res.get("details", {}).get("mismatched", {})
        missing, unexpected = details.get("missing", []), details.get("unexpected", [])
        if len(missing) * 2 > len(kind.columns):  # no header row? its "names" may be data
            unexpected = [f"{len(unexpected)} names not shown: is the header row missing?"]
        rr.unexpected_count = len(missing) + len(details.get("unexpected", []))
        rr.values = [f"missing: {missing}", f"unexpected: {unexpected}"]


def collect_rejected(acc: dict[str, RuleResult], results: list, kind: Kind) -> None:
    """Every failing row of the file (GE's COMPLETE results of its failed reject rules)."""
    for r in results:
        cfg = r.expectation_config
        masked = _masked(kind, cfg)
        res = r.result or {}
        acc[rule_id(cfg)].rejected += [
            (int(item["_row_number"]), MASK if masked else show(_failing_value(cfg, item)))
            for item in res.get("unexpected_index_list") or []]  # GE caps unexpected_list


def _failing_value(cfg, item: dict) -> object:
    """The checked value(s) of one entry of GE's unexpected_index_list."""
    kw = cfg.kwargs
    if kw.get("column_A"):
        return item[kw["column_A"]], item[kw["column_B"]]
    if kw.get("column_list"):
        return {c: item[c] for c in kw["column_list"]}
    return item[kw["column"]]


def show(value: object) -> str:
    """A sample value as a person reads it: 2024-06-01, not Timestamp(...) or np.int32(3)."""
    if isinstance(value, (tuple, list)):
        return " vs ".join(show(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={show(v)}" for k, v in value.items())
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return "(missing)"
    if isinstance(value, (pd.Timestamp, datetime, np.datetime64)):
        ts = pd.Timestamp(value)
        return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat()
    return str(value.item() if isinstance(value, np.generic) else value)


def csv_rejects(con: duckdb.DuckDBPyConnection) -> RuleResult | None:
    """The malformed rows DuckDB's scan rejected (column count, quoting, UTF-8), as one rule.
    One entry per bad line (DuckDB records one error per missing column, for instance); the
    rejected line's text is never read: it may hold identifiers."""
    rows = con.execute("""SELECT line, string_agg(DISTINCT error_type, ', ' ORDER BY error_type)
                          FROM reject_errors GROUP BY line ORDER BY line""").fetchall()
    if not rows:
        return None
    return RuleResult(
        expectation="csv_rows_well_formed", rule="well-formed CSV row (column count, quoting, UTF-8)",
        column=None, severity="blocking", success=False, unexpected_count=len(rows),
        rows=[int(r[0]) - 1 for r in rows[:SAMPLE_ROWS]],
        values=[f"line {r[0]}: {r[1]}" for r in rows[:5]])


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


def rejected_row_count(results: list[RuleResult]) -> int:
    """Distinct rows the reject rules reject (a row failing several rules counts once)."""
    return len({row for row, *_ in rejections(results)})
