"""One landed extract through write-audit-publish: fingerprint, claim, audit, promote or quarantine.

Rows failing a reject rule (within its tolerance) are left out of the promote, recorded in
meta.rejected_rows and written, as delivered, to the rejects file in quarantine; the rest loads.
"""

from __future__ import annotations

import logging
import shutil
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from csp_pipeline.core import ledger
from csp_pipeline.core.reference import code_lists, register_views
from csp_pipeline.core.schema import ensure_schema
from csp_pipeline.core.settings import Settings
from csp_pipeline.core.warehouse import connect
from csp_pipeline.ingest import quarantine
from csp_pipeline.ingest.extract_sql import promote_sql
from csp_pipeline.ingest.gate import GateParams, RuleResult, audit, rejections
from csp_pipeline.ingest.landing import Extract, fingerprint, read_header, utf8_copy
from csp_pipeline.ingest.pseudonymise import pad_params

log = logging.getLogger(__name__)
RECENT_DELIVERIES = 5
SKIPPED = "skipped"  # an outcome, not a ledger status: these bytes were processed before


@dataclass
class Outcome:
    file: str
    feed: str
    kind: str
    extract_date: str
    status: str  # ledger.Status LOADED or QUARANTINED, or SKIPPED
    rows: int = 0
    rows_rejected: int = 0
    checks_passed: int = 0
    checks_failed: int = 0
    warnings: list[str] = field(default_factory=list)
    rejects: list[str] = field(default_factory=list)  # reject rules that rejected rows
    reason: str | None = None

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def _sql_params(extract: Extract, readable: Path, key: bytes | None) -> dict:
    params: dict = {"path": str(readable)}
    if any(c.pii in ("pseudonym",) for c in extract.kind.columns):
        assert key is not None
        params.update(pad_params(key))
    return params


def _min_rows(con: duckdb.DuckDBPyConnection, extract: Extract, ratio: float) -> int:
    """A tenth (by default) of the rows the kind's recent deliveries lead us to expect: fewer is
    suspicious. Deliveries are compared per day of extract they cover (the days since the one
    before), so a nightly file is not judged against a monthly backfill, nor a file after a
    missed night against a single night. Low-volume kinds (under 1/ratio rows expected) pass,
    and so does a supplementary file (released rejects: a few rows added to a delivery)."""
    if extract.supplementary:
        return 0
    expected = ledger.expected_rows(con, extract.kind.feed, extract.kind.name,
                                    extract.extract_date, RECENT_DELIVERIES)
    return int(expected * ratio) if expected else 0


def _record_results(con, run_id: str, extract: Extract, digest: str, results: list[RuleResult]):
    con.executemany(
        """INSERT INTO meta.validation_results (run_id, feed, kind, source_file, content_hash,
           extract_date, suite, expectation, column_name, severity, success, element_count,
           unexpected_count, sample_rows) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
        [[run_id, extract.kind.feed, extract.kind.name, extract.path.name, digest,
          extract.extract_date, extract.kind.id, r.expectation, r.column, r.severity, r.success,
          r.element_count, r.unexpected_count, ",".join(map(str, r.rows))] for r in results],
    )


def _record_delivery(con, extract: Extract, digest: str, rows: int, status: ledger.Status,
                     reason: str | None, run_id: str, rows_rejected: int = 0) -> None:
    delivery = ledger.Delivery(
        digest, extract.kind.feed, extract.kind.name, extract.extract_date, extract.stream,
        extract.path.name, extract.path.stat().st_size if extract.path.exists() else None)
    ledger.record(con, delivery, status, rows, reason, run_id, rows_rejected)


REJECTED = "_rejected"  # the relation of this file's rejections while it is promoted


def _record_rejections(con, run_id: str, extract: Extract, digest: str) -> None:
    con.execute(
        f"""INSERT INTO meta.rejected_rows (run_id, feed, kind, source_file, content_hash,
            extract_date, row_number, column_name, rule, value)
            SELECT ?, ?, ?, ?, ?, ?, row_number, column_name, rule, value FROM {REJECTED}""",
        [run_id, extract.kind.feed, extract.kind.name, extract.path.name, digest,
         extract.extract_date])


def _promote(con: duckdb.DuckDBPyConnection, extract: Extract, header: list[str],
             sql_params: dict, digest: str, run_id: str, skip: str | None) -> int:
    """Replace the kind's rows for this extract date and stream with the file's rows (a
    supplementary delivery adds its rows instead), leaving out the rows in `skip`; returns the
    count promoted."""
    kind = extract.kind
    if not extract.supplementary:
        con.execute(f"DELETE FROM {kind.raw_table} WHERE _extract_date = ? AND _stream = ?",
                    [extract.extract_date, extract.stream])
        ledger.supersede(con, kind.feed, kind.name, extract.extract_date, extract.stream)
    promote = dict(sql_params, path_name=extract.path.name, hash=digest,
                   date=extract.extract_date, stream=extract.stream, run=run_id)
    con.execute(promote_sql(kind, header, extract.variant, skip), promote)
    return con.execute(f"SELECT count(*) FROM {kind.raw_table} WHERE _content_hash = ? "
                       "AND _extract_date = ?", [digest, extract.extract_date]).fetchone()[0]


def _audited_rows(results: list[RuleResult]) -> int | None:
    """Rows the gate saw (its row-count check), to prove the promoted rows are the audited ones."""
    for r in results:
        if r.expectation == "expect_table_row_count_to_be_between":
            return r.element_count
    return None


def _audit_file(con: duckdb.DuckDBPyConnection, settings: Settings, extract: Extract,
                readable: Path, key: bytes | None) -> tuple[list[RuleResult], list[str], dict]:
    """The gate's results for the file (an unreadable file fails one blocking rule), with its
    header and the SQL parameters that read it."""
    kind = extract.kind
    if extract.variant is not None:  # its expressions may look values up in ref_<file>
        register_views(con, settings)
    header = read_header(readable)
    params = GateParams(extract.extract_date,
                        _min_rows(con, extract, settings.volume_drop_ratio),
                        code_lists(settings, [c.reference for c in kind.columns if c.reference]))
    sql_params = _sql_params(extract, readable, key)
    try:
        results = audit(con, kind, readable, header, params, sql_params,
                        settings.data_dir / "gx", extract.variant)
    except duckdb.Error as exc:  # unreadable file: encoding, structure DuckDB cannot parse
        results = [RuleResult(expectation="csv_readable", rule="file is readable UTF-8 CSV",
                              column=None, severity="blocking", success=False,
                              unexpected_count=1, values=[str(exc).splitlines()[0][:300]])]
    return results, header, sql_params


def process(settings: Settings, extract: Extract, run_id: str, key: bytes | None) -> Outcome:
    """Audit and promote (or quarantine) one extract. Safe to repeat: identical bytes are skipped."""
    kind = extract.kind
    base = Outcome(file=extract.label, feed=kind.feed, kind=kind.name,
                   extract_date=extract.extract_date, status=SKIPPED)
    digest = fingerprint(extract.path)
    with connect(settings.warehouse) as con, ExitStack() as stack:
        ensure_schema(con)
        seen = ledger.earlier_status(con, digest, kind.feed, kind.name, extract.extract_date)
        if seen:
            base.reason = f"identical bytes already {seen.value}"
            return base
        # a non-UTF-8 file is transcoded only once it is known to be new
        readable = stack.enter_context(utf8_copy(extract, settings.data_dir / "work"))
        results, header, sql_params = _audit_file(con, settings, extract, readable, key)
        failed = [r for r in results if not r.success]
        blocking = [r for r in failed if r.severity == "blocking"]
        base.checks_passed = len(results) - len(failed)
        base.checks_failed = len(failed)
        base.warnings = [r.describe(extract.label) for r in failed if r.severity == "warning"]
        for w in base.warnings:
            log.warning(w)
        audited = _audited_rows(results)
        con.execute("BEGIN")
        _record_results(con, run_id, extract, digest, results)
        if blocking:
            reason = "; ".join(r.describe(extract.label) for r in blocking)
            _record_delivery(con, extract, digest, 0, ledger.Status.QUARANTINED, reason, run_id)
            con.execute("COMMIT")
            quarantine.move(settings, extract, digest, run_id, results, audited)
            log.error("quarantined %s: %s", extract.label, reason)
            base.status, base.reason = ledger.Status.QUARANTINED.value, reason
            return base
        rejected = rejections(results)
        base.rejects = [r.describe(extract.label) for r in failed if r.rejects_rows]
        for w in base.rejects:
            log.warning(w)
        rows_rejected = len({row for row, *_ in rejected})
        rows = _load(con, settings, extract, readable, header, sql_params, digest, run_id,
                     results, audited, rejected)
    base.status, base.rows, base.rows_rejected = ledger.Status.LOADED.value, rows, rows_rejected
    if rows_rejected:
        log.warning("%s: %d row(s) rejected, kept in %s", extract.label, rows_rejected,
                    quarantine.rejects_path(settings, extract))
    return base


def _load(con: duckdb.DuckDBPyConnection, settings: Settings, extract: Extract, readable: Path,
          header: list[str], sql_params: dict, digest: str, run_id: str,
          results: list[RuleResult], audited: int | None, rejected: list) -> int:
    """Promote the audited file, leaving out its rejected rows (kept in quarantine), and record
    the delivery, in the transaction process() began; returns the rows promoted.

    A re-issued extract for the same kind and date replaces the earlier delivery; rows from
    other dates stay (staging keeps each key's latest). Any error before COMMIT rolls all of it
    back: the earlier delivery stays, nothing is half-loaded, no rejection is recorded, and the
    file is processed again on the next run."""
    rows_rejected = len({row for row, *_ in rejected})
    written: list[Path] = []
    if rejected:
        con.register(REJECTED, pd.DataFrame(
            rejected, columns=["row_number", "column_name", "rule", "value"]))
    try:
        rows = _promote(con, extract, header, sql_params, digest, run_id,
                        REJECTED if rejected else None)
        if audited is not None and rows != audited - rows_rejected:
            raise RuntimeError(f"{extract.label}: {rows} rows promoted but {audited} audited "
                               f"and {rows_rejected} rejected; was the file changed while "
                               "it was processed?")
        if rejected:
            _record_rejections(con, run_id, extract, digest)
            counts = {"in_file": audited, "loaded": rows, "rejected": rows_rejected,
                      "quarantined": 0}
            written = quarantine.write_rejects(settings, con, extract, readable, header,
                                               REJECTED, digest, run_id, results, counts)
        _record_delivery(con, extract, digest, rows, ledger.Status.LOADED, None, run_id,
                         rows_rejected)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        for path in written:
            path.unlink(missing_ok=True)
        raise
    finally:
        if rejected:
            con.unregister(REJECTED)
    return rows


class ReleaseRefused(ValueError):
    """`csp release` of something that is not a quarantined file, or onto an existing file."""


def quarantined_file(settings: Settings, name: str | Path) -> Path:
    """The quarantined file `name` names (`<feed>/<file>` under the quarantine folder, or a path
    inside it). Refuses anything else: a path that resolves outside the quarantine folder (an
    absolute path elsewhere, `..`), a symbolic link, a report, a missing file."""
    root = settings.quarantine_dir.resolve()
    given = Path(name)
    candidate = given if given.is_absolute() else root / given
    if not given.is_absolute() and not candidate.exists() and (Path.cwd() / given).exists():
        candidate = Path.cwd() / given  # a path typed from inside the quarantine folder
    if candidate.is_symlink():
        raise ReleaseRefused(f"{name} is a symbolic link; only files in {root} are released")
    resolved = candidate.resolve()
    if resolved.parent.parent != root:
        raise ReleaseRefused(f"{name} is not a quarantined file: only <feed>/<file> inside "
                             f"{root} can be released")
    if resolved.suffix != ".csv" or not resolved.is_file():
        raise ReleaseRefused(f"no quarantined file {name} under {root}")
    return resolved


def release(settings: Settings, name: str | Path) -> Path:
    """Put a fixed quarantined file back in the landing zone; the next run audits and loads it.

    Only a file inside the quarantine folder (`quarantined_file`) is released, and never over a
    file already in the landing zone.

    A rejects file (<stem>.rejects.csv) lands under the same name: a supplementary delivery
    whose rows are added to its kind and extract date, never replacing that delivery's rows.

    The ledger's 'quarantined' entries for this file become 'released', so the next run audits
    it again even when its bytes are unchanged (the suite or a code list may have been fixed)
    rather than skipping them as already seen. The quarantine reports are removed with the
    file: the reason stays in meta.deliveries and meta.validation_results.
    """
    source = quarantined_file(settings, name)
    feed = source.parent.name
    target = settings.landing_dir / feed / source.name
    if target.exists() or target.is_symlink():
        raise ReleaseRefused(f"{target} already exists in the landing zone; the next run has "
                             "to load (or quarantine) it before this file can be released")
    if settings.warehouse.exists():
        with connect(settings.warehouse) as con:
            ensure_schema(con)
            ledger.release(con, feed, source.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(source), target)
    for suffix in (".report.json", ".report.md"):
        source.with_suffix(suffix).unlink(missing_ok=True)
    return target
