"""Great Expectations suites, one per feed kind, derived from the registry and kept as reviewed files.

`csp generated --write` regenerates expectations/<feed>.<kind>.json; a test fails when the files and the
registry disagree, so a change to a feed shows up in review as a diff of its checks.
Each expectation's meta says its severity (blocking quarantines the file; reject rejects the failing
rows, and quarantines the file when they are more than its `tolerance`, a share of the file's rows;
warning is recorded) and its scope: `header` (the file's declared columns, up to the last of them),
`trailing` (undeclared columns after them: reported, ignored), `file` (whole-file rules such as key
uniqueness, row volume) or `row` (each row's values); both run on the audit's scan in DuckDB.
"""

from __future__ import annotations

import json
from pathlib import Path

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations.row_conditions import Column

from csp_pipeline.core.reference import parameter
from csp_pipeline.core.registry import Kind
from csp_pipeline.core.settings import EXPECTATIONS_DIR
from csp_pipeline.ingest.extract_sql import PARSED_PII, UNPARSED

MAX_ROWS = 50_000_000
OPS = {">=": True, ">": False}


def _meta(severity: str, scope: str, rule: str, tolerance: float | None = None) -> dict:
    meta = {"severity": severity, "scope": scope, "rule": rule}
    if tolerance is not None:
        meta["tolerance"] = tolerance
    return meta


def build_suite(kind: Kind) -> gx.ExpectationSuite:
    exps: list[gxe.Expectation] = [
        gxe.ExpectTableColumnsToMatchSet(
            column_set=kind.column_names, exact_match=True,
            meta=_meta("blocking", "header", "exact column set"),
        ),
        gxe.ExpectTableColumnsToMatchSet(
            column_set=kind.column_names, exact_match=True,
            meta=_meta("warning", "trailing", "no undeclared columns after the declared ones"),
        ),
        gxe.ExpectTableRowCountToBeBetween(
            min_value={"$PARAMETER": "min_rows"}, max_value=MAX_ROWS,
            meta=_meta("warning", "file", "row volume against recent deliveries"),
        ),
    ]
    if kind.key:
        unique = (
            gxe.ExpectColumnValuesToBeUnique(column=kind.key[0])
            if len(kind.key) == 1
            else gxe.ExpectCompoundColumnsToBeUnique(column_list=list(kind.key))
        )
        unique.meta = _meta("blocking", "file", "business key unique within the file")
        exps.append(unique)
    for col in kind.stored_columns:
        sev, tol = col.severity, kind.tolerance(col)
        parsed_pii = col.pii in PARSED_PII
        if col.required:  # a given value that does not parse fails its format rule only
            exps.append(gxe.ExpectColumnValuesToNotBeNull(
                column=col.name, meta=_meta(sev, "row", "required value present", tol),
                **({"row_condition": Column(col.name + UNPARSED).is_null()}
                   if parsed_pii else {})))
        if col.type != "VARCHAR" and not col.pii:
            exps.append(gxe.ExpectColumnValuesToBeNull(
                column=col.name + UNPARSED,
                meta=_meta(sev, "row", f"value parses as {col.type}", tol)))
        if parsed_pii:
            exps.append(gxe.ExpectColumnValuesToBeNull(
                column=col.name + UNPARSED, meta=_meta(sev, "row", PARSED_PII[col.pii], tol)))
        if col.values:
            exps.append(gxe.ExpectColumnValuesToBeInSet(
                column=col.name, value_set=list(col.values),
                meta=_meta(sev, "row", "value in the contract's code list", tol)))
        if col.reference:  # the list follows the reference data: passed in at run time
            exps.append(gxe.ExpectColumnValuesToBeInSet(
                column=col.name, value_set={"$PARAMETER": parameter(col.reference)},
                meta=_meta(sev, "row", f"value in the reference data ({col.reference})", tol)))
        if col.pattern:
            exps.append(gxe.ExpectColumnValuesToMatchRegex(
                column=col.name, regex=col.pattern,
                meta=_meta(sev, "row", "value matches format", tol)))
        if col.min is not None or col.max is not None:
            exps.append(gxe.ExpectColumnValuesToBeBetween(
                column=col.name, min_value=col.min, max_value=col.max,
                meta=_meta(sev, "row", "value within range", tol)))
    if kind.date_column:  # the date column's severity covers its window too
        col = kind.column(kind.date_column)
        exps.append(gxe.ExpectColumnValuesToBeBetween(
            column=kind.date_column,
            min_value={"$PARAMETER": "window_start"}, max_value={"$PARAMETER": "window_end"},
            meta=_meta(col.severity, "row", "date within plausible window, not after extract date",
                       kind.tolerance(col))))
    for rule in kind.rules:
        exps.append(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=rule.a, column_B=rule.b, or_equal=OPS[rule.op],
            ignore_row_if="either_value_is_missing",
            meta=_meta(rule.severity, "row", f"{rule.a} {rule.op} {rule.b}",
                       kind.tolerance(rule))))
    return gx.ExpectationSuite(
        name=kind.id, expectations=exps, meta={"feed": kind.feed, "kind": kind.name}
    )


def suite_path(kind: Kind, folder: Path = EXPECTATIONS_DIR) -> Path:
    return folder / f"{kind.feed}.{kind.name}.json"


def suite_json(suite: gx.ExpectationSuite) -> str:
    doc = suite.to_json_dict()
    doc.pop("id", None)
    for exp in doc["expectations"]:
        exp.pop("id", None)
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def load_suite(kind: Kind, folder: Path = EXPECTATIONS_DIR) -> gx.ExpectationSuite:
    path = suite_path(kind, folder)
    if not path.exists():
        raise FileNotFoundError(f"no expectation suite for {kind.id}: run `csp generated --write`")
    return gx.ExpectationSuite(**json.loads(path.read_text()))
