"""One landed extract through write-audit-publish: fingerprint, claim, audit, promote or quarantine.

The rows are inserted from the audit's scan (the file as the gate read and checked it), so the
file is read once. Rows failing a reject rule (within its tolerance) are left out of the promote,
recorded in meta.rejected_rows and written, as delivered, to the rejects file in quarantine; the
rest loads.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from csp_pipeline.core import ledger
from csp_pipeline.core.schema import ensure_schema
from csp_pipeline.core.settings import Settings
from csp_pipeline.core.sql import literal
from csp_pipeline.core.warehouse import connect
from csp_pipeline.ingest import quarantine
from csp_pipeline.ingest.audit import Audited, audit_file, audited_rows
from csp_pipeline.ingest.extract_sql import promote_sql
from csp_pipeline.ingest.gate import SCAN_TABLE
from csp_pipeline.ingest.landing import Extract, fingerprint, read_header, utf8_copy
from csp_pipeline.ingest.ledger_facts import already_processed, read_facts
from csp_pipeline.ingest.results import RuleResult, rejections

log = logging.getLogger(__name__)
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


SCAN = "audit_scan"  # the audit's scan file, attached while its rows are promoted


def _promote(con: duckdb.DuckDBPyConnection, extract: Extract, digest: str, run_id: str,
             skip: str | None) -> int:
    """Replace the kind's rows for this extract date and stream with the file's rows (a
    supplementary delivery adds its rows instead), leaving out the rows in `skip`; returns the
    count promoted."""
    kind = extract.kind
    if not extract.supplementary:
        con.execute(f"DELETE FROM {kind.raw_table} WHERE _extract_date = ? AND _stream = ?",
                    [extract.extract_date, extract.stream])
        ledger.supersede(con, kind.feed, kind.name, extract.extract_date, extract.stream)
    promote = dict(path_name=extract.path.name, hash=digest, date=extract.extract_date,
                   stream=extract.stream, run=run_id)
    # the INSERT's own count: counting the file's rows in the table would scan all its history
    return con.execute(promote_sql(kind, f"{SCAN}.{SCAN_TABLE}", skip), promote).fetchone()[0]


def process(settings: Settings, extract: Extract, run_id: str, key: bytes | None) -> Outcome:
    """Audit and promote (or quarantine) one extract. Safe to repeat: identical bytes are skipped."""
    digests = {str(extract.path): fingerprint(extract.path)}
    with connect(settings.warehouse) as con:
        ensure_schema(con)
        facts = read_facts(con, [extract], digests)
    return promote_audited(settings, extract, audit_file(settings, extract, facts, key), run_id)


def promote_audited(settings: Settings, extract: Extract, audited: Audited,
                    run_id: str) -> Outcome:
    """Record an audited file's results and promote it, or quarantine it, in one transaction of
    the warehouse's writer. Identical bytes already processed (seen by the audit, or since) are
    skipped. The audit's scan is deleted whatever happens (a file promoted in vain is audited
    again next run)."""
    try:
        return _promote_audited(settings, extract, audited, run_id)
    finally:
        audited.discard_scan()


def _promote_audited(settings: Settings, extract: Extract, audited: Audited,
                     run_id: str) -> Outcome:
    kind = extract.kind
    base = Outcome(file=extract.label, feed=kind.feed, kind=kind.name,
                   extract_date=extract.extract_date, status=SKIPPED)
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
        blocking = [r for r in failed if r.severity == "blocking"]
        if not blocking:  # its rows load from the audit's scan (attached outside the transaction)
            if not audited.scan or not Path(audited.scan).exists():
                raise RuntimeError(f"{extract.label}: the audit's scan {audited.scan} is missing")
            con.execute(f"ATTACH {literal(audited.scan)} AS {SCAN} (READ_ONLY)")
        con.execute("BEGIN")
        _record_results(con, run_id, extract, digest, results)
        if blocking:
            return _quarantine(settings, con, extract, audited, run_id, blocking, base)
        rejected = rejections(results)
        base.rejects = [r.describe(extract.label) for r in failed if r.rejects_rows]
        for w in base.rejects:
            log.warning(w)
        rows_rejected = len({row for row, *_ in rejected})
        rows = _load(con, settings, extract, digest, run_id, results, audited_rows(results),
                     rejected, rows_rejected)
    base.status, base.rows, base.rows_rejected = ledger.Status.LOADED.value, rows, rows_rejected
    if rows_rejected:
        log.warning("%s: %d row(s) rejected, kept in %s", extract.label, rows_rejected,
                    quarantine.rejects_path(settings, extract))
    return base


def _quarantine(settings: Settings, con, extract: Extract, audited: Audited, run_id: str,
                blocking: list[RuleResult], base: Outcome) -> Outcome:
    reason = "; ".join(r.describe(extract.label) for r in blocking)
    _record_delivery(con, extract, audited.digest, 0, ledger.Status.QUARANTINED, reason, run_id)
    con.execute("COMMIT")
    quarantine.move(settings, extract, audited.digest, run_id, audited.results,
                    audited_rows(audited.results))
    log.error("quarantined %s: %s", extract.label, reason)
    base.status, base.reason = ledger.Status.QUARANTINED.value, reason
    return base


def _load(con: duckdb.DuckDBPyConnection, settings: Settings, extract: Extract, digest: str,
          run_id: str, results: list[RuleResult], audited: int | None, rejected: list,
          rows_rejected: int) -> int:
    """Promote the audited file, leaving out its rejected rows (kept in quarantine), and record
    the delivery, in the transaction promote_audited() began; returns the rows promoted.

    A re-issued extract for the same kind and date replaces the earlier delivery; rows from
    other dates stay (staging keeps each key's latest). Any error before COMMIT rolls all of it
    back: the earlier delivery stays, nothing is half-loaded, no rejection is recorded, and the
    file is processed again on the next run."""
    written: list[Path] = []
    if rejected:
        con.register(REJECTED, pd.DataFrame(
            rejected, columns=["row_number", "column_name", "rule", "value"]))
    try:
        rows = _promote(con, extract, digest, run_id, REJECTED if rejected else None)
        if audited is not None and rows != audited - rows_rejected:
            raise RuntimeError(f"{extract.label}: {rows} rows promoted but {audited} audited "
                               f"and {rows_rejected} rejected; was the file changed while "
                               "it was processed?")
        if rejected:
            _record_rejections(con, run_id, extract, digest)
            counts = {"in_file": audited, "loaded": rows, "rejected": rows_rejected,
                      "quarantined": 0}
            # as delivered: read from the file itself (a non-UTF-8 one transcoded again)
            with utf8_copy(extract, settings.data_dir / "work") as readable:
                written = quarantine.write_rejects(
                    settings, con, extract, readable, read_header(readable), REJECTED, digest,
                    run_id, results, counts)
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
