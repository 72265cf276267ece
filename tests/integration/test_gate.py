"""The Great Expectations gate, proven on real files through the real `promote.process` (real
DuckDB file, real GE suites from expectations/, real quarantine), for every kind in the registry.

Good files are built from each kind's declaration (tests/support/rows.py); the bad files and the
rule each must break are derived from the same declaration, so a new column, code list, pattern,
range, key or cross-field rule is tested without a line here changing. Row rejects (rules of
severity reject, their tolerance, the rejects file, its release) are in test_rejects.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from csp_pipeline.cli.main import main as csp
from csp_pipeline.core.registry import Column, Kind, Rule, load_registry
from csp_pipeline.core.schema import ensure_schema
from csp_pipeline.core.settings import Settings
from csp_pipeline.core.warehouse import connect
from csp_pipeline.ingest import data_docs, gate, promote, results
from csp_pipeline.ingest.audit import audit_file
from csp_pipeline.ingest.landing import fingerprint, match
from csp_pipeline.ingest.ledger_facts import read_facts
from csp_pipeline.ingest.promote import Outcome, promote_audited
from csp_pipeline.ingest.suites import load_suite
from tests.support.rows import Row, csv_bytes, repair, valid_rows, write_extract
from tests.support.warehouse import env_for, process_landed, sql

REGISTRY = load_registry()
KINDS = {k.id: k for k in REGISTRY.kinds}
NIGHT = date(2024, 5, 31)
KEY = b"gate-test-pseudonym-key"
GOOD_ROWS = 12
WINDOW = "date within plausible window, not after extract date"
REQUIRED = "required value present"
UNIQUE = "business key unique within the file"
WELL_FORMED = "well-formed CSV row (column count, quoting, UTF-8)"
BAD_TYPE = {"INTEGER": "twelve", "DOUBLE": "north", "DATE": "31/05/2024",
            "TIMESTAMP": "2024-05-30 10:00", "MONTH": "May 2024"}
IMPOSSIBLE = {"DATE": "2023-02-30", "TIMESTAMP": "2023-02-30T10:00:00", "MONTH": "2023-13"}


# --- the defects each kind's declaration implies ------------------------------------------------

@dataclass
class Defect:
    """One rule that blocks or rejects broken on one data row (and, for duplicates, row 1 as
    well)."""

    name: str
    rule: str
    column: str | None
    changes: dict[str, str | None]
    also: list[tuple[str, str]] = field(default_factory=list)  # consequences, same row
    skip: Rule | None = None  # the cross-field rule this defect breaks on purpose
    duplicate_of_first: bool = False

    def apply(self, kind: Kind, row: Row, first: Row) -> Row:
        """The defect planted in a copy of `row`, every other rule still holding."""
        row = dict(row)
        frozen = set(self.changes)
        if self.duplicate_of_first:
            row.update({k: first[k] for k in kind.key})
            frozen |= set(kind.key)
        if self.skip:
            frozen |= {self.skip.a, self.skip.b}
        row.update(self.changes)
        return repair(kind, row, frozen=frozen, skip=self.skip)


def _after(col: Column, d: date) -> str:
    if col.type == "MONTH":
        return f"{d:%Y-%m}"
    return f"{d.isoformat()}T00:30:00" if col.type == "TIMESTAMP" else d.isoformat()


def _out_of_range(kind: Kind, col: Column) -> str:
    """Beyond the range on the side that cannot be repaired into another rule's failure."""
    is_left = any(r.a == col.name for r in kind.rules)
    above = col.max is not None and (is_left or col.min is None)
    bound = col.max if above else col.min
    assert bound is not None
    step = 1 if above else -1
    return str(int(bound) + step) if col.type == "INTEGER" else f"{bound + step:.6f}"


def _rule_breach(kind: Kind, rule: Rule, row: Row) -> dict[str, str | None]:
    col = kind.column(rule.b)
    if col.type == "INTEGER":
        b = max(int(row[rule.b] or 0), int(col.min or 0) + 1)
        return {rule.b: str(b), rule.a: str(b - 1)}
    b_day = date.fromisoformat(str(row[rule.b])[:10])
    return {rule.a: _after(col, b_day - timedelta(days=1))}


def defects(kind: Kind, row: Row) -> list[Defect]:
    """Every rule of the kind's suite that blocks or rejects, each broken once (`row` is a valid
    row)."""
    found: list[Defect] = []
    stored = [c for c in kind.columns if c.pii != "drop"]
    for col in stored:
        typed = col.type != "VARCHAR" and not col.pii
        also = [(REQUIRED, col.name)] if typed and col.required else []
        if typed:
            found.append(Defect(f"{col.name}: bad {col.type}", f"value parses as {col.type}",
                                col.name, {col.name: BAD_TYPE[col.type]}, also))
        if typed and col.type in IMPOSSIBLE:
            found.append(Defect(f"{col.name}: impossible date", f"value parses as {col.type}",
                                col.name, {col.name: IMPOSSIBLE[col.type]}, also))
        if col.values or col.reference:
            rule = (f"value in the reference data ({col.reference})" if col.reference
                    else "value in the contract's code list")
            found.append(Defect(f"{col.name}: code", rule, col.name,
                                {col.name: "Not a listed code"}))
        if col.pattern:
            found.append(Defect(f"{col.name}: pattern", "value matches format", col.name,
                                {col.name: "X1"}))
        if col.min is not None or col.max is not None:
            found.append(Defect(f"{col.name}: range", "value within range", col.name,
                                {col.name: _out_of_range(kind, col)}))
        if col.required:
            found.append(Defect(f"{col.name}: missing", REQUIRED, col.name, {col.name: None}))
    if kind.date_column:
        col = kind.column(kind.date_column)
        found.append(Defect(f"{col.name}: after extract date", WINDOW, col.name,
                            {col.name: _after(col, NIGHT + timedelta(days=1))}))
        found.append(Defect(f"{col.name}: implausibly old", WINDOW, col.name,
                            {col.name: _after(col, date(NIGHT.year - gate.PLAUSIBLE_YEARS - 1,
                                                        12, 31))}))
    for rule in kind.rules:
        if rule.severity != "warning":
            found.append(Defect(f"{rule.a} {rule.op} {rule.b}", f"{rule.a} {rule.op} {rule.b}",
                                rule.a, _rule_breach(kind, rule, row), skip=rule))
    if kind.key:
        found.append(Defect("duplicate key", UNIQUE, ", ".join(kind.key), {},
                            duplicate_of_first=True))
    return found


def defect_file_rows(kind: Kind) -> tuple[list[Row], dict[str, int]]:
    """Valid rows with defect i on data row i + 2 (row 1 stays valid: duplicates copy it)."""
    count = len(defects(kind, valid_rows(kind, 1, NIGHT)[0]))
    rows = valid_rows(kind, count + 3, NIGHT)
    where = {}
    for i in range(count):
        n = i + 2
        d = defects(kind, rows[n - 1])[i]  # a cross-field breach is relative to its own row
        rows[n - 1] = d.apply(kind, rows[n - 1], rows[0])
        where[d.name] = n
    return rows, where


def declared_severities(kind: Kind) -> dict[tuple[str, str | None], tuple[str, float | None]]:
    """(rule, column) -> (severity, tolerance), as the kind's suite declares them."""
    found = {}
    for exp in load_suite(kind).expectations:
        kw = exp.configuration.kwargs
        column = (kw.get("column") or kw.get("column_A") or ", ".join(kw.get("column_list") or [])
                  or None)
        column = column.removesuffix(" (unparsed)") if column else None
        found[(exp.meta["rule"], column)] = (exp.meta["severity"], exp.meta.get("tolerance"))
    return found


def expected_severity(kind: Kind, target: tuple[str, str | None], failing: int, rows: int) -> str:
    """A reject rule failing on more than its tolerance of the file's rows blocks (GE's
    `mostly` over the whole file: at least 1 - tolerance of the rows pass)."""
    severity, tolerance = declared_severities(kind)[target]
    if severity == "reject" and (rows - failing) / rows < 1 - tolerance:
        return "blocking"
    return severity


def expected_failures(kind: Kind) -> dict[tuple[str, str | None], list[int]]:
    _, where = defect_file_rows(kind)
    expected: dict[tuple[str, str | None], list[int]] = {}
    for d in defects(kind, valid_rows(kind, 1, NIGHT)[0]):
        rows = [1, where[d.name]] if d.duplicate_of_first else [where[d.name]]
        for target in [(d.rule, d.column), *d.also]:
            expected.setdefault(target, []).extend(rows)
    return {k: sorted(v) for k, v in expected.items()}


ROW_CASES = [pytest.param(k.id, d.name, id=f"{k.id}-{d.name}")
             for k in REGISTRY.kinds for d in defects(k, valid_rows(k, 1, NIGHT)[0])]


# --- fixtures and helpers -------------------------------------------------------------------------

def make_settings(root: Path, data_dir: Path) -> Settings:
    return Settings.from_env(env_for(root, data_dir))


def run(settings: Settings, path: Path, run_id: str = "test-run") -> Outcome:
    return process_landed(settings, path, run_id, KEY)


def raw_rows(settings: Settings, kind: Kind, extract: date | None = None) -> int:
    where = f"WHERE _extract_date = '{extract.isoformat()}'" if extract else ""
    return sql(settings, f"SELECT count(*) FROM {kind.raw_table} {where}")[0][0]


def failures(report: dict) -> dict[tuple[str, str | None], dict]:
    """Failures that block or reject (not warnings), by (rule, column)."""
    return {(f["rule"], f["column"]): f for f in report["failures"] if f["severity"] != "warning"}


def report_of(settings: Settings, kind: Kind, extract: date) -> dict:
    path = settings.quarantine_dir / kind.feed / kind.file_name(extract.isoformat())
    return json.loads(path.with_suffix(".report.json").read_text())


def pii_values(kind: Kind, rows: list[Row]) -> set[str]:
    return {str(r[c.name]) for r in rows for c in kind.pii_columns if r.get(c.name)}


def assert_no_raw_identifiers(settings: Settings, kind: Kind, rows: list[Row]) -> None:
    """No raw identifier from the file in the reports, the ledger, the results or the GE store."""
    secrets = pii_values(kind, rows)
    texts = [p.read_text() for p in settings.quarantine_dir.rglob("*.report.*")]
    texts += [p.read_text() for p in (settings.data_dir / "gx").rglob("*.json")]
    for table in ("meta.validation_results", "meta.deliveries"):
        texts += [repr(r) for r in sql(settings, f"SELECT * FROM {table}")]
    leaked = {s for s in secrets for t in texts if s in t}
    assert not leaked, f"raw identifiers leaked: {sorted(leaked)[:5]}"


# --- every kind: a good file, each rule broken, the file-level failures --------------------------

@pytest.mark.parametrize("kind_id", KINDS)
def test_a_valid_file_passes_every_check_and_loads(settings, kind_id):
    kind = KINDS[kind_id]
    rows = valid_rows(kind, GOOD_ROWS, NIGHT)
    out = run(settings, write_extract(settings.landing_dir, kind, NIGHT, rows))
    assert (out.status, out.rows, out.checks_failed, out.warnings) == ("loaded", GOOD_ROWS, 0, [])
    assert out.checks_passed == len(gate.load_suite(kind).expectations)
    assert raw_rows(settings, kind, NIGHT) == GOOD_ROWS
    stored = repr(sql(settings, f"SELECT * FROM {kind.raw_table}"))
    assert not {v for v in pii_values(kind, rows) if v in stored}, "raw identifier promoted"


def deliveries_around(kind: Kind, night: date) -> tuple[date, date, date]:
    """The extract dates of the deliveries before and after `night`: the nights either side, or
    the months' last days for a kind delivered monthly (its files are named by month)."""
    if kind.file_name(night.isoformat()) != kind.file_name((night - timedelta(days=1)).isoformat()):
        return night - timedelta(days=1), night, night + timedelta(days=1)
    first = night.replace(day=1)
    after = (night + timedelta(days=32)).replace(day=1)
    return first - timedelta(days=1), night, (after + timedelta(days=32)).replace(day=1) - timedelta(days=1)


@pytest.fixture(scope="module")
def defect_run(tmp_path_factory, shared_data_dir):
    """Per kind, once: a good delivery, then the file with every defect, then a good one."""
    done: dict[str, dict] = {}

    def get(kind: Kind) -> dict:
        if kind.id not in done:
            root = tmp_path_factory.mktemp(f"defects-{kind.id}")
            s = make_settings(root, shared_data_dir)
            before, bad_day, after = deliveries_around(kind, NIGHT)
            earlier = run(s, write_extract(s.landing_dir, kind, before,
                                           valid_rows(kind, GOOD_ROWS, before)))
            rows, where = defect_file_rows(kind)
            bad = write_extract(s.landing_dir, kind, bad_day, rows)
            outcome = run(s, bad)
            later = run(s, write_extract(s.landing_dir, kind, after,
                                         valid_rows(kind, GOOD_ROWS, after, start=100)))
            done[kind.id] = dict(settings=s, rows=rows, where=where, bad=bad, outcome=outcome,
                                 earlier=earlier, later=later, report=report_of(s, kind, bad_day))
        return done[kind.id]

    return get


@pytest.mark.parametrize(("kind_id", "defect"), ROW_CASES)
def test_each_rule_fails_for_the_right_reason(defect_run, kind_id, defect):
    kind = KINDS[kind_id]
    got = defect_run(kind)
    d = next(x for x in defects(kind, got["rows"][0]) if x.name == defect)
    failure = failures(got["report"]).get((d.rule, d.column))
    assert failure, f"{d.rule!r} on {d.column!r} did not fail: {list(failures(got['report']))}"
    row = got["where"][defect]
    expected_rows = expected_failures(kind)[(d.rule, d.column)]
    assert row in failure["rows"] and failure["rows"] == expected_rows
    assert failure["unexpected_count"] == len(expected_rows)
    assert failure["severity"] == expected_severity(kind, (d.rule, d.column), len(expected_rows),
                                                    len(got["rows"]))


@pytest.mark.parametrize("kind_id", KINDS)
def test_a_bad_file_is_quarantined_with_a_report_and_nothing_else_changes(defect_run, kind_id):
    kind = KINDS[kind_id]
    got = defect_run(kind)
    s, out, report = got["settings"], got["outcome"], got["report"]
    label = f"{kind.feed}/{got['bad'].name}"
    # Exactly the planted failures, nothing collateral; warnings none; the duplicate key blocks,
    # so the rows reject rules would have rejected are quarantined with the rest of the file.
    assert {k: f["rows"] for k, f in failures(report).items()} == expected_failures(kind)
    assert {k: f["severity"] for k, f in failures(report).items()} == {
        k: expected_severity(kind, k, len(rows), len(got["rows"]))
        for k, rows in expected_failures(kind).items()}
    assert [f for f in report["failures"] if f["severity"] == "warning"] == []
    assert report["rows"] == {"in_file": len(got["rows"]), "loaded": 0, "rejected": 0,
                              "quarantined": len(got["rows"])}
    assert out.status == "quarantined" and label in out.reason
    # Moved with its reports; the Markdown names file, rule, column and the release command.
    assert not got["bad"].exists()
    moved = s.quarantine_dir / kind.feed / got["bad"].name
    assert moved.exists() and report["file"] == label
    md = moved.with_suffix(".report.md").read_text()
    for rule, column in failures(report):
        assert f"rule '{rule}'" in md and (column is None or repr(column) in md)
    assert f"csp release {label}" in md
    # PII values masked in samples; no raw identifier anywhere it could be written.
    pii = {c.name for c in kind.pii_columns}
    for f in report["failures"]:
        if f["column"] and set(f["column"].split(", ")) & pii:
            assert set(f["sample_values"]) <= {results.MASK}, f
    assert_no_raw_identifiers(s, kind, got["rows"])
    # Nothing promoted; the earlier delivery untouched; a later file of the kind still loads.
    assert raw_rows(s, kind, NIGHT) == 0
    assert got["earlier"].status == got["later"].status == "loaded"
    assert raw_rows(s, kind) == 2 * GOOD_ROWS
    ledger = sql(s, "SELECT status, rows FROM meta.deliveries WHERE source_file = ?",
                 [got["bad"].name])
    assert ledger == [("quarantined", 0)]
    recorded = sql(s, """SELECT column_name, sample_rows FROM meta.validation_results
                         WHERE source_file = ? AND NOT success""", [got["bad"].name])
    assert len(recorded) == len(failures(report))


def _land_variant(settings: Settings, kind: Kind, variant: str) -> tuple[Path, list[Row]]:
    rows = valid_rows(kind, GOOD_ROWS, NIGHT)
    header = kind.column_names
    path = settings.landing_dir / kind.feed / kind.file_name(NIGHT.isoformat())
    path.parent.mkdir(parents=True, exist_ok=True)
    if variant == "missing column":
        path.write_bytes(csv_bytes(header[:-1], rows))
    elif variant == "undeclared column among the declared":
        columns = [*header[:-1], "NOTES", header[-1]]  # at the end it is ignored: test_rejects.py
        path.write_bytes(csv_bytes(columns, [dict(r, NOTES="x") for r in rows]))
    elif variant == "truncated mid-row":
        data = csv_bytes(header, rows)
        last_row_start = data.rstrip(b"\n").rfind(b"\n") + 1
        path.write_bytes(data[: last_row_start + data[last_row_start:].find(b",") + 1])
    elif variant == "non-UTF-8 bytes":
        rows[2][header[-1]] = "@@"
        path.write_bytes(csv_bytes(header, rows).replace(b"@@", b"caf\xe9"))  # Latin-1 e-acute
    elif variant == "BOM and CRLF":
        path.write_bytes(b"\xef\xbb\xbf" + csv_bytes(header, rows, newline="\r\n"))
    return path, rows


FILE_CASES = {  # variant -> (rule, rows, text that must appear in the sample values)
    "missing column": ("exact column set", [], "missing: ['{last}']"),
    "undeclared column among the declared": ("exact column set", [], "unexpected: ['NOTES']"),
    "truncated mid-row": (WELL_FORMED, [GOOD_ROWS], "MISSING COLUMNS"),
    "non-UTF-8 bytes": (WELL_FORMED, [3], "INVALID ENCODING"),
}


@pytest.mark.parametrize("variant", FILE_CASES)
@pytest.mark.parametrize("kind_id", KINDS)
def test_a_malformed_file_is_quarantined_for_its_shape(settings, kind_id, variant):
    kind = KINDS[kind_id]
    path, rows = _land_variant(settings, kind, variant)
    out = run(settings, path)
    rule, expected_rows, text = FILE_CASES[variant]
    assert out.status == "quarantined"
    report = report_of(settings, kind, NIGHT)
    assert [(f["rule"], f["column"], f["rows"]) for f in report["failures"]] == [
        (rule, None, expected_rows)]
    assert text.format(last=kind.column_names[-1]) in " ".join(report["failures"][0]["sample_values"])
    assert raw_rows(settings, kind) == 0
    assert_no_raw_identifiers(settings, kind, rows)


def test_a_file_without_its_header_row_is_quarantined_without_showing_its_first_row(settings):
    kind = REGISTRY.kind("youth_justice", "children")
    rows = valid_rows(kind, GOOD_ROWS, NIGHT)
    path = write_extract(settings.landing_dir, kind, NIGHT, rows)
    path.write_bytes(path.read_bytes().split(b"\n", 1)[1])  # the partner forgot the header
    assert run(settings, path).status == "quarantined"
    [failure] = report_of(settings, kind, NIGHT)["failures"]
    assert failure["rule"] == "exact column set"
    assert "is the header row missing?" in failure["sample_values"][1]
    assert_no_raw_identifiers(settings, kind, rows)


@pytest.mark.parametrize("kind_id", KINDS)
def test_a_byte_order_mark_and_crlf_line_ends_are_accepted(settings, kind_id):
    kind = KINDS[kind_id]
    path, _ = _land_variant(settings, kind, "BOM and CRLF")
    out = run(settings, path)
    assert (out.status, out.rows, out.checks_failed) == ("loaded", GOOD_ROWS, 0)
    assert raw_rows(settings, kind, NIGHT) == GOOD_ROWS


# --- warnings promote and are recorded -----------------------------------------------------------

def test_warnings_are_recorded_and_the_file_still_loads(settings):
    kind = REGISTRY.kind("substance_misuse", "treatment_episodes")
    warning_rule = next(r for r in kind.rules if r.severity == "warning")
    assert (warning_rule.a, warning_rule.b) == ("TRIAGED", "REFLD")
    for days in (4, 3, 2):  # recent deliveries of 30 rows: median 30
        day = NIGHT - timedelta(days=days)
        assert run(settings, write_extract(settings.landing_dir, kind, day,
                                           valid_rows(kind, 30, day))).status == "loaded"
    rows = valid_rows(kind, 2, NIGHT, start=500)  # 2 rows: under a tenth of the median
    rows[1]["TRIAGED"] = (NIGHT - timedelta(days=20)).isoformat()
    rows[1]["REFLD"] = (NIGHT - timedelta(days=5)).isoformat()  # triaged before referral
    rows[1]["DISD"] = None
    out = run(settings, write_extract(settings.landing_dir, kind, NIGHT, rows))
    assert (out.status, out.rows) == ("loaded", 2)
    assert len(out.warnings) == 2 and out.checks_failed == 2
    assert any("row volume" in w and "only 2 rows" in w for w in out.warnings)
    assert any("'TRIAGED >= REFLD'" in w and "rows: 2" in w for w in out.warnings)
    recorded = sql(settings, """SELECT expectation, column_name, unexpected_count, sample_rows
                                FROM meta.validation_results WHERE extract_date = ?
                                AND NOT success AND severity = 'warning' ORDER BY expectation""",
                   [NIGHT])
    assert recorded == [
        ("expect_column_pair_values_a_to_be_greater_than_b", "TRIAGED", 1, "2"),
        ("expect_table_row_count_to_be_between", None, 0, "")]
    assert raw_rows(settings, kind, NIGHT) == 2
    assert not (settings.quarantine_dir / kind.feed).exists()


# --- release from quarantine ---------------------------------------------------------------------

POLICE = REGISTRY.kind("police", "crimes")


def _quarantine_police_file(settings: Settings) -> tuple[Path, list[Row]]:
    rows = valid_rows(POLICE, GOOD_ROWS, NIGHT)
    rows[4]["Crime type"] = "Burglery"
    path = write_extract(settings.landing_dir, POLICE, NIGHT, rows)
    assert run(settings, path, "night-1").status == "quarantined"
    return settings.quarantine_dir / "police" / path.name, rows


def _release(settings: Settings, monkeypatch, label: str) -> int:
    for name, value in env_for(settings.warehouse.parent, settings.data_dir).items():
        monkeypatch.setenv(name, value)
    return csp(["release", label])


def test_row_volume_is_judged_per_day_of_extract_covered(settings):
    """Monthly backfills of 600 rows (about 20 a day), then nightly files: a night of 15 rows is
    normal; after three days without a delivery, a file of 2 rows is not."""
    def deliver(day: date, n: int, start: int) -> list[str]:
        out = run(settings, write_extract(settings.landing_dir, POLICE, day,
                                          valid_rows(POLICE, n, day, start=start)))
        assert out.status == "loaded", out.reason
        return [w for w in out.warnings if "row volume" in w]

    assert deliver(NIGHT - timedelta(days=62), 600, 0) == []  # the first delivery: nothing to judge
    assert deliver(NIGHT - timedelta(days=31), 600, 1000) == []
    assert deliver(NIGHT - timedelta(days=1), 600, 2000) == []
    assert deliver(NIGHT, 15, 3000) == []  # a median month-day brings about 20
    late = deliver(NIGHT + timedelta(days=3), 2, 4000)
    assert len(late) == 1 and "only 2 rows" in late[0]


def test_a_fixed_quarantined_file_released_with_csp_release_loads_next_run(settings, monkeypatch):
    quarantined, rows = _quarantine_police_file(settings)
    rows[4]["Crime type"] = "Burglary"  # the partner's fix, made in the quarantined file
    quarantined.write_bytes(csv_bytes(POLICE.column_names, rows))
    assert _release(settings, monkeypatch, f"police/{quarantined.name}") == 0
    landed = settings.landing_dir / "police" / quarantined.name
    assert landed.exists() and not quarantined.exists()
    assert not list(quarantined.parent.glob("*.report.*"))
    out = run(settings, landed, "night-2")
    assert (out.status, out.rows) == ("loaded", GOOD_ROWS)
    assert sql(settings, "SELECT status FROM meta.deliveries ORDER BY processed_at") == [
        ("released",), ("loaded",)]


def test_releasing_unchanged_bytes_audits_them_again(settings, monkeypatch):
    quarantined, _ = _quarantine_police_file(settings)
    assert _release(settings, monkeypatch, f"police/{quarantined.name}") == 0
    assert sql(settings, "SELECT status FROM meta.deliveries") == [("released",)]
    out = run(settings, settings.landing_dir / "police" / quarantined.name, "night-2")
    assert out.status == "quarantined", "identical bytes were skipped instead of re-audited"
    assert sql(settings, "SELECT status, run_id FROM meta.deliveries ORDER BY processed_at") == [
        ("released", "night-1"), ("quarantined", "night-2")]
    runs = sql(settings, """SELECT run_id, count(*) FILTER (WHERE NOT success)
                            FROM meta.validation_results GROUP BY ALL ORDER BY run_id""")
    assert runs == [("night-1", 1), ("night-2", 1)]
    assert quarantined.exists()


def test_releasing_an_unknown_file_fails_clearly(settings, monkeypatch, capsys):
    assert _release(settings, monkeypatch, "police/crimes_20240101.csv") == 2
    assert "no quarantined file police/crimes_20240101.csv" in capsys.readouterr().err


# --- delivery rules at the ingest level ------------------------------------------------------------

def _raw_state(settings: Settings, kind: Kind) -> list[tuple]:
    """The raw table without per-run lineage (run id, load time)."""
    cols = [c.warehouse_name for c in kind.stored_columns]
    cols += ["_source_file", "_content_hash", "_extract_date", "_row_number"]
    return sql(settings, f"SELECT {', '.join(cols)} FROM {kind.raw_table} ORDER BY ALL")


def test_identical_bytes_delivered_twice_are_skipped_and_change_nothing(settings):
    path = write_extract(settings.landing_dir, POLICE, NIGHT, valid_rows(POLICE, 10, NIGHT))
    assert run(settings, path, "night-1").status == "loaded"
    before = [sql(settings, f"SELECT * FROM {t} ORDER BY ALL") for t in
              (POLICE.raw_table, "meta.deliveries", "meta.validation_results")]
    again = run(settings, path, "night-2")
    assert (again.status, again.reason) == ("skipped", "identical bytes already loaded")
    after = [sql(settings, f"SELECT * FROM {t} ORDER BY ALL") for t in
             (POLICE.raw_table, "meta.deliveries", "meta.validation_results")]
    assert after == before


def test_a_new_file_for_the_same_kind_and_date_replaces_the_earlier_delivery(settings):
    other_day = NIGHT - timedelta(days=1)
    run(settings, write_extract(settings.landing_dir, POLICE, other_day,
                                valid_rows(POLICE, 5, other_day, start=900)))
    path = write_extract(settings.landing_dir, POLICE, NIGHT, valid_rows(POLICE, 10, NIGHT))
    assert run(settings, path).rows == 10
    reissued = valid_rows(POLICE, 7, NIGHT, start=3)  # 7 rows, 4 of them re-sent
    path.write_bytes(csv_bytes(POLICE.column_names, reissued))
    assert run(settings, path).rows == 7
    assert raw_rows(settings, POLICE, NIGHT) == 7 and raw_rows(settings, POLICE, other_day) == 5
    ids = sql(settings, f"SELECT incident_id FROM {POLICE.raw_table} WHERE _extract_date = ? "
                        "ORDER BY _row_number", [NIGHT])
    assert [i for (i,) in ids] == [r["Incident ID"] for r in reissued]
    assert sql(settings, """SELECT extract_date, status, rows FROM meta.deliveries
                            ORDER BY processed_at""") == [
        (other_day, "loaded", 5), (NIGHT, "superseded", 10), (NIGHT, "loaded", 7)]


def test_out_of_order_delivery_ends_in_the_same_raw_state(tmp_path, shared_data_dir):
    days = [NIGHT - timedelta(days=2), NIGHT - timedelta(days=1), NIGHT]
    files = {d: csv_bytes(POLICE.column_names, valid_rows(POLICE, 6, d, start=10 * i))
             for i, d in enumerate(days)}
    states = []
    for order in (days, days[::-1], [days[1], days[2], days[0]]):
        s = make_settings(tmp_path / "-".join(d.strftime("%d") for d in order), shared_data_dir)
        for d in order:
            path = s.landing_dir / "police" / POLICE.file_name(d.isoformat())
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(files[d])
            assert run(s, path).status == "loaded"
        states.append(_raw_state(s, POLICE))
    assert len(states[0]) == 18 and states[0] == states[1] == states[2]


def test_a_crash_half_way_through_promote_rolls_back_and_a_rerun_loads_once(settings,
                                                                              monkeypatch):
    path = write_extract(settings.landing_dir, POLICE, NIGHT, valid_rows(POLICE, 10, NIGHT))
    assert run(settings, path, "night-1").rows == 10
    before = _raw_state(settings, POLICE)
    path.write_bytes(csv_bytes(POLICE.column_names, valid_rows(POLICE, 8, NIGHT, start=50)))
    real_promote_sql = promote.promote_sql

    def crashing_promote_sql(kind: Kind, scan: str, skip=None) -> str:
        # Fails on the 4th inserted row: after the DELETE of the earlier delivery, mid-INSERT.
        return real_promote_sql(kind, scan, skip).replace(
            "current_timestamp FROM", "CASE WHEN row_number() OVER () > 3 THEN "
            "error('simulated crash')::TIMESTAMP ELSE current_timestamp END FROM")

    monkeypatch.setattr(promote, "promote_sql", crashing_promote_sql)
    with pytest.raises(duckdb.Error, match="simulated crash"):
        run(settings, path, "night-2")
    assert _raw_state(settings, POLICE) == before  # nothing lost, nothing half-loaded
    assert sql(settings, "SELECT status, rows FROM meta.deliveries") == [("loaded", 10)]
    assert sql(settings, "SELECT DISTINCT run_id FROM meta.validation_results") == [("night-1",)]
    assert path.exists()

    monkeypatch.setattr(promote, "promote_sql", real_promote_sql)
    assert run(settings, path, "night-3").rows == 8
    ids = sql(settings, f"SELECT incident_id, count(*) FROM {POLICE.raw_table} GROUP BY ALL")
    assert len(ids) == 8 and {n for _, n in ids} == {1}
    assert sql(settings, "SELECT status, rows FROM meta.deliveries ORDER BY processed_at") == [
        ("superseded", 10), ("loaded", 8)]


# --- one read of the file: DuckDB scans it, GE checks the scan, the promote loads from it ---------

def test_every_rule_runs_once_over_the_whole_file_with_file_row_numbers(settings, monkeypatch):
    """GE checks the audit's scan in one pass (the row rules and the whole-file rules together):
    a defect far down the file is caught at its file row, key uniqueness sees duplicates rows
    apart, and only the reject rule that failed is asked again for its rows."""
    n = 5000
    rows = valid_rows(POLICE, n, NIGHT)
    rows[4899]["Crime type"] = "Burglery"
    rows[4499]["Incident ID"] = rows[9]["Incident ID"]  # duplicate of a row near the top
    calls = []
    real_run = gate._run
    monkeypatch.setattr(gate, "_run", lambda kind, scopes, data, params, root, only=(): (
        calls.append((scopes, type(data).__name__, len(only)))
        or real_run(kind, scopes, data, params, root, only)))
    out = run(settings, write_extract(settings.landing_dir, POLICE, NIGHT, rows))
    assert out.status == "quarantined"
    assert calls == [(("header",), "DataFrame", 0), (("trailing",), "DataFrame", 0),
                     (("file", "row"), "Scan", 0)]  # quarantined: its rejected rows not listed
    report = report_of(settings, POLICE, NIGHT)
    got = {k: (f["unexpected_count"], f["rows"], f["sample_values"])
           for k, f in failures(report).items()}
    assert got == {("value in the contract's code list", "Crime type"): (1, [4900], ["Burglery"]),
                   (UNIQUE, "Incident ID"): (2, [10, 4500], [rows[9]["Incident ID"]] * 2)}
    severities = {k[1]: f["severity"] for k, f in failures(report).items()}
    assert severities == {"Crime type": "reject", "Incident ID": "blocking"}
    counts = dict(sql(settings, """SELECT expectation || ':' || column_name, element_count
                                   FROM meta.validation_results WHERE column_name IS NOT NULL"""))
    assert counts["expect_column_values_to_be_in_set:Crime type"] == n  # every row evaluated
    assert not list((settings.data_dir / "work" / "scans").glob("*.duckdb"))


def test_row_numbers_hold_when_duckdb_reads_a_large_file_on_every_thread(settings):
    """The scan numbers rows by their position in the table (DuckDB keeps insertion order while
    several threads read the file): rows rejected far apart in a file read in parallel keep
    their numbers in the file, and every loaded row keeps its own."""
    n = 150_000  # ~30 MB: DuckDB splits the read between threads
    rows = valid_rows(POLICE, n, NIGHT)
    for r in rows:  # the generator's dates go back a day a row: keep them in the window
        r["Recorded date"] = rows[0]["Recorded date"]
    bad = [777, 74_321, 149_999]
    for b in bad:
        rows[b - 1]["Crime type"] = f"Burglery {b}"
    out = run(settings, write_extract(settings.landing_dir, POLICE, NIGHT, rows))
    assert (out.status, out.rows_rejected) == ("loaded", len(bad))
    assert sql(settings, "SELECT row_number, value FROM meta.rejected_rows ORDER BY 1") == [
        (b, f"Burglery {b}") for b in bad]
    got = dict(sql(settings, f"SELECT _row_number, incident_id FROM {POLICE.raw_table}"))
    assert len(got) == n - len(bad)  # each row loaded with the id written on its line:
    assert all(got[i] == rows[i - 1]["Incident ID"] for i in got)


def test_a_clean_file_is_checked_in_one_pass_and_rejected_rows_in_one_more(settings,
                                                                           monkeypatch):
    calls = []
    real_run = gate._run
    monkeypatch.setattr(gate, "_run", lambda kind, scopes, data, params, root, only=(): (
        calls.append((scopes, len(only))) or real_run(kind, scopes, data, params, root, only)))
    rows = valid_rows(POLICE, 30, NIGHT)
    assert run(settings, write_extract(settings.landing_dir, POLICE, NIGHT, rows)).rows == 30
    assert calls == [(("header",), 0), (("trailing",), 0), (("file", "row"), 0)]
    calls.clear()
    rows = valid_rows(POLICE, 100, NIGHT, start=200)
    rows[49]["Crime type"] = "Burglery"
    out = run(settings, write_extract(settings.landing_dir, POLICE, NIGHT, rows), "night-2")
    assert (out.rows, out.rows_rejected) == (99, 1)
    assert calls == [(("header",), 0), (("trailing",), 0), (("file", "row"), 0), (("row",), 1)]


def test_the_promote_loads_the_rows_the_audit_read_not_the_file_again(settings):
    """The file is read once: the promote inserts from the audit's scan (which it then deletes),
    so bytes changed on disk after the audit do not reach the warehouse."""
    rows = valid_rows(POLICE, 12, NIGHT)
    path = write_extract(settings.landing_dir, POLICE, NIGHT, rows)
    extract = match(load_registry(), "police", path)
    with connect(settings.warehouse) as con:
        ensure_schema(con)
        facts = read_facts(con, [extract], {str(path): fingerprint(path)})
    audited = audit_file(settings, extract, facts, b"k")
    scan = Path(audited.scan)
    assert scan.exists() and scan.stat().st_mode & 0o777 == 0o600
    path.write_text("not,the,audited,file\n")
    outcome = promote_audited(settings, extract, audited, "read-once")
    assert (outcome.status, outcome.rows) == ("loaded", 12)
    ids = sql(settings, f"SELECT incident_id FROM {POLICE.raw_table} ORDER BY _row_number")
    assert [i for (i,) in ids] == [r["Incident ID"] for r in rows]
    assert not scan.exists()


# --- Data Docs: a night renders its own results, not the history ---------------------------------

def test_data_docs_render_only_the_results_stored_since_the_run_began(tmp_path):
    settings = make_settings(tmp_path, tmp_path / "data")
    gx_root = settings.data_dir / "gx"
    yesterday = NIGHT - timedelta(days=1)
    first = write_extract(settings.landing_dir, POLICE, yesterday,
                          valid_rows(POLICE, GOOD_ROWS, yesterday))
    assert run(settings, first, "night-1").status == "loaded"
    index = data_docs.build_data_docs(gx_root)  # the first build renders everything
    pages = lambda: set(index.parent.glob("validations/**/*.html"))  # noqa: E731
    before = pages()
    assert before and index.exists()
    old = sorted(before)[0]
    old.unlink()

    began = datetime.now(timezone.utc)
    second = write_extract(settings.landing_dir, POLICE, NIGHT, valid_rows(POLICE, GOOD_ROWS, NIGHT))
    assert run(settings, second, "night-2").status == "loaded"
    data_docs.build_data_docs(gx_root, since=began, suite_prefix="police__")
    assert pages() - before  # tonight's results are rendered ...
    assert not old.exists()  # ... and last night's page was not rendered again
    data_docs.build_data_docs(gx_root, since=began, suite_prefix="fire__")
    assert not old.exists()  # another feed's report renders nothing of police's
    data_docs.build_data_docs(gx_root)  # a full build would have
    assert old.exists()


def test_validation_results_older_than_the_cutoff_are_pruned_and_leave_the_docs(tmp_path):
    settings = make_settings(tmp_path, tmp_path / "data")
    gx_root = settings.data_dir / "gx"
    path = write_extract(settings.landing_dir, POLICE, NIGHT, valid_rows(POLICE, GOOD_ROWS, NIGHT))
    assert run(settings, path).status == "loaded"
    index = data_docs.build_data_docs(gx_root)
    assert list(index.parent.glob("validations/**/*.html"))
    assert data_docs.prune_validation_results(gx_root, datetime.now(timezone.utc) - timedelta(days=1)) == 0
    stored = len(data_docs.file_context(str(gx_root)).validation_results_store.list_keys())
    assert stored and data_docs.prune_validation_results(gx_root, datetime.now(timezone.utc)) == stored
    assert data_docs.file_context(str(gx_root)).validation_results_store.list_keys() == []
    data_docs.build_data_docs(gx_root)
    assert not list(index.parent.glob("validations/**/*.html"))  # their pages went with them
