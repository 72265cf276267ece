"""One landed extract through write-audit-publish: fingerprint, claim, audit, promote or quarantine.

Rows failing a reject rule (within its tolerance) are left out of the promote, recorded in
meta.rejected_rows and written, as delivered, to the rejects file in quarantine; the rest loads.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from csp_pipeline.core.reference import register_views
from csp_pipeline.ingest import quarantine
from csp_pipeline.ingest.audit import Audited, audit_file, audited_rows, sql_params
from csp_pipeline.ingest.extract_sql import promote_sql
from csp_pipeline.ingest.landing import Extract, fingerprint, read_header, utf8_copy
from csp_pipeline.ingest.ledger_facts import already_processed, read_facts
from csp_pipeline.ingest.results import RuleResult, rejections
from csp_pipeline.core.settings import Settings
from csp_pipeline.core.warehouse import connect, ensure_schema

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    file: str
    feed: str
    kind: str
    extract_date: str
    status: str  # loaded | quarantined | skipped
    rows: int = 0
    rows_rejected: int = 0
    checks_passed: int = 0
    checks_failed: int = 0
    warnings: list[str] = field(default_factory=list)
    rejects: list[str] = field(default_factory=list)  # reject rules that rejected rows
    reason: str | None = None

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def _record_results(con, run_id: str, extract: Extract, digest: str, results: list[RuleResult]):
    con.executemany(
        """INSERT INTO meta.validation_results (run_id, feed, kind, source_file, content_hash,
           extract_date, suite, expectation, column_name, severity, success, element_count,
           unexpected_count, sample_rows) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
        [[run_id, extract.kind.feed, extract.kind.name, extract.path.name, digest,
          extract.extract_date, extract.kind.id, r.expectation, r.column, r.severity, r.success,
          r.element_count, r.unexpected_count, ",".join(map(str, r.rows))] for r in results],
    )


def _record_delivery(con, extract: Extract, digest: str, rows: int, status: str,
                     reason: str | None, run_id: str, rows_rejected: int = 0) -> None:
    con.execute(
        """INSERT INTO meta.deliveries (content_hash, feed, kind, extract_date, stream, source_file,
           bytes, rows, status, reason, run_id, rows_rejected) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)""",
        [digest, extract.kind.feed, extract.kind.name, extract.extract_date, extract.stream,
         extract.path.name, extract.path.stat().st_size if extract.path.exists() else None, rows,
         status, reason, run_id, rows_rejected],
    )


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
        con.execute(
            """UPDATE meta.deliveries SET status = 'superseded' WHERE feed = ? AND kind = ?
               AND extract_date = ? AND stream = ? AND status = 'loaded'""",
            [kind.feed, kind.name, extract.extract_date, extract.stream])
    promote = dict(sql_params, path_name=extract.path.name, hash=digest,
                   date=extract.extract_date, stream=extract.stream, run=run_id)
    con.execute(promote_sql(kind, header, extract.variant, skip), promote)
    return con.execute(f"SELECT count(*) FROM {kind.raw_table} WHERE _content_hash = ? "
                       "AND _extract_date = ?", [digest, extract.extract_date]).fetchone()[0]


def process(settings: Settings, extract: Extract, run_id: str, key: bytes | None) -> Outcome:
    """Audit and promote (or quarantine) one extract. Safe to repeat: identical bytes are skipped."""
    digests = {str(extract.path): fingerprint(extract.path)}
    with connect(settings.warehouse) as con:
        ensure_schema(con)
        facts = read_facts(con, [extract], digests)
    return promote_audited(settings, extract, audit_file(settings, extract, facts, key), run_id,
                           key)


def promote_audited(settings: Settings, extract: Extract, audited: Audited, run_id: str,
                    key: bytes | None) -> Outcome:
    """Record an audited file's results and promote it, or quarantine it, in one transaction of
    the warehouse's writer. Identical bytes already processed (seen by the audit, or since) are
    skipped."""
    kind = extract.kind
    base = Outcome(file=extract.label, feed=kind.feed, kind=kind.name,
                   extract_date=extract.extract_date, status="skipped")
    digest, results = audited.digest, audited.results
    with connect(settings.warehouse) as con:
        ensure_schema(con)
        seen = audited.seen or already_processed(con, extract, digest)
        if seen:
            base.reason = f"identical bytes already {seen}"
            return base
        failed = [r for r in results if not r.success]
        base.checks_passed, base.checks_failed = len(results) - len(failed), len(failed)
        base.warnings = [r.describe(extract.label) for r in failed if r.severity == "warning"]
        for w in base.warnings:
            log.warning(w)
        con.execute("BEGIN")
        _record_results(con, run_id, extract, digest, results)
        blocking = [r for r in failed if r.severity == "blocking"]
        if blocking:
            return _quarantine(settings, con, extract, audited, run_id, blocking, base)
        base.rejects = [r.describe(extract.label) for r in failed if r.rejects_rows]
        for w in base.rejects:
            log.warning(w)
        with utf8_copy(extract, settings.data_dir / "work") as readable:
            if extract.variant is not None:  # its expressions may look values up in ref_<file>
                register_views(con, settings)
            rows, rows_rejected = _load(settings, con, extract, readable, audited, run_id, key)
    base.status, base.rows, base.rows_rejected = "loaded", rows, rows_rejected
    if rows_rejected:
        log.warning("%s: %d row(s) rejected, kept in %s", extract.label, rows_rejected,
                    quarantine.rejects_path(settings, extract))
    return base


def _quarantine(settings: Settings, con, extract: Extract, audited: Audited, run_id: str,
                blocking: list[RuleResult], base: Outcome) -> Outcome:
    reason = "; ".join(r.describe(extract.label) for r in blocking)
    _record_delivery(con, extract, audited.digest, 0, "quarantined", reason, run_id)
    con.execute("COMMIT")
    quarantine.move(settings, extract, audited.digest, run_id, audited.results,
                    audited_rows(audited.results))
    log.error("quarantined %s: %s", extract.label, reason)
    base.status, base.reason = "quarantined", reason
    return base


def _load(settings: Settings, con, extract: Extract, readable: Path, audited: Audited,
          run_id: str, key: bytes | None) -> tuple[int, int]:
    """Promote in one transaction (begun by the caller): a re-issued extract for the same kind
    and date replaces the earlier delivery; rows from other dates stay (staging keeps each
    key's latest). Any error before COMMIT rolls all of it back: the earlier delivery stays,
    nothing is half-loaded, no rejection is recorded, and the file is processed again on the
    next run. Returns (rows loaded, rows rejected)."""
    digest, results = audited.digest, audited.results
    rejected = rejections(results)
    rows_rejected = len({row for row, *_ in rejected})
    audited_count = audited_rows(results)
    header = read_header(readable)
    params = sql_params(extract, readable, key)
    written: list[Path] = []
    if rejected:
        con.register(REJECTED, pd.DataFrame(
            rejected, columns=["row_number", "column_name", "rule", "value"]))
    try:
        rows = _promote(con, extract, header, params, digest, run_id,
                        REJECTED if rejected else None)
        if audited_count is not None and rows != audited_count - rows_rejected:
            raise RuntimeError(f"{extract.label}: {rows} rows promoted but {audited_count} "
                               f"audited and {rows_rejected} rejected; was the file changed "
                               "while it was processed?")
        if rejected:
            _record_rejections(con, run_id, extract, digest)
            counts = {"in_file": audited_count, "loaded": rows, "rejected": rows_rejected,
                      "quarantined": 0}
            written = quarantine.write_rejects(settings, con, extract, readable, header,
                                               REJECTED, digest, run_id, results, counts)
        _record_delivery(con, extract, digest, rows, "loaded", None, run_id, rows_rejected)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        for path in written:
            path.unlink(missing_ok=True)
        raise
    finally:
        if rejected:
            con.unregister(REJECTED)
    return rows, rows_rejected


def release(settings: Settings, quarantined_file: Path) -> Path:
    """Put a fixed quarantined file back in the landing zone; the next run audits and loads it.

    A rejects file (<stem>.rejects.csv) lands under the same name: a supplementary delivery
    whose rows are added to its kind and extract date, never replacing that delivery's rows.

    The ledger's 'quarantined' entries for this file become 'released', so the next run audits
    it again even when its bytes are unchanged (the suite or a code list may have been fixed)
    rather than skipping them as already seen. The quarantine reports are removed with the
    file: the reason stays in meta.deliveries and meta.validation_results.
    """
    feed = quarantined_file.parent.name
    target = settings.landing_dir / feed / quarantined_file.name
    if settings.warehouse.exists():
        with connect(settings.warehouse) as con:
            ensure_schema(con)
            con.execute(
                """UPDATE meta.deliveries SET status = 'released'
                   WHERE feed = ? AND source_file = ? AND status = 'quarantined'""",
                [feed, quarantined_file.name])
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(quarantined_file), target)
    for suffix in (".report.json", ".report.md"):
        quarantined_file.with_suffix(suffix).unlink(missing_ok=True)
    return target
