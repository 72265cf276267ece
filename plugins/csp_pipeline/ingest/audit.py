"""One landed file's audit, apart from the warehouse: ledger facts in, results out.

Runs on any worker, beside other audits: DuckDB reads the file once, on an in-memory connection of
the audit's own, into the audit's scan (an owner-only DuckDB file under the data folder's work
area); Great Expectations validates the scan and writes its results to files of their own. The
results are handed to the promote (the one step that takes the warehouse's writer) as a JSON file
beside the scan, which the promote loads from and then deletes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from csp_pipeline.core.reference import code_lists, register_views
from csp_pipeline.core.settings import Settings
from csp_pipeline.core.warehouse import memory
from csp_pipeline.ingest.gate import GateParams, audit
from csp_pipeline.ingest.landing import DIR_MODE, FILE_MODE, Extract, read_header, utf8_copy
from csp_pipeline.ingest.ledger_facts import KindFacts, min_rows, record_audited
from csp_pipeline.ingest.pseudonymise import pad_params
from csp_pipeline.ingest.results import RuleResult, rejected_row_count


@dataclass
class Audited:
    """What the promote of one file needs from its audit."""

    path: str
    digest: str
    seen: str | None = None  # these bytes were already loaded/quarantined: skip
    results: list[RuleResult] = field(default_factory=list)
    scan: str | None = None  # the file's rows as audited (gate.write_scan), when promotable

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, DIR_MODE)
        target = folder / f"{self.digest[:16]}.{Path(self.path).name}.audit.json"
        body = {"path": self.path, "digest": self.digest, "seen": self.seen,
                "results": [r.as_dict() for r in self.results], "scan": self.scan}
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with open(fd, "w") as out:
            json.dump(body, out)
        return target

    @classmethod
    def load(cls, path: Path) -> Audited:
        body = json.loads(path.read_text())
        return cls(body["path"], body["digest"], body["seen"],
                   [RuleResult.from_dict(r) for r in body["results"]], body.get("scan"))

    def discard_scan(self) -> None:
        """Delete the scan (and its write-ahead log); nothing is left to promote from."""
        if self.scan:
            Path(self.scan).unlink(missing_ok=True)
            Path(self.scan + ".wal").unlink(missing_ok=True)
        self.scan = None


def sql_params(extract: Extract, readable: Path, key: bytes | None) -> dict:
    """The bound parameters of the file's SQL: its path, and the HMAC pads when it pseudonymises."""
    params: dict = {"path": str(readable)}
    if any(c.pii in ("pseudonym",) for c in extract.kind.columns):
        assert key is not None
        params.update(pad_params(key))
    return params


def audit_file(settings: Settings, extract: Extract, facts: KindFacts,
               key: bytes | None, scratch: Path | None = None) -> Audited:
    """Audit one file with its batch's ledger facts; the facts then count it as delivered.
    `scratch` (`csp validate`) holds the working copy and the GE store instead of the data
    folder, so nothing of the audit is kept."""
    base = scratch or settings.data_dir
    path = str(extract.path)
    digest = facts.digests[path]
    if path in facts.seen:
        return Audited(path, digest, seen=facts.seen[path])
    floor = min_rows(facts, extract, settings.volume_drop_ratio)
    kind = extract.kind
    scan = base / "work" / "scans" / f"{digest[:16]}.{extract.path.name}.duckdb"
    audited = Audited(path, digest, scan=str(scan))
    with utf8_copy(extract, base / "work") as readable, \
            memory(base / "work" / "duckdb") as con:
        if extract.variant is not None:  # its expressions may look values up in ref_<file>
            register_views(con, settings)
        params = GateParams(extract.extract_date, floor,
                            code_lists(settings, [c.reference for c in kind.columns if c.reference]))
        try:
            audited.results = audit(con, kind, readable, read_header(readable), params,
                                    sql_params(extract, readable, key), base / "gx", scan,
                                    extract.variant)
        except duckdb.Error as exc:  # unreadable file: encoding, structure DuckDB cannot parse
            audited.results = [RuleResult(
                expectation="csv_readable", rule="file is readable UTF-8 CSV", column=None,
                severity="blocking", success=False, unexpected_count=1,
                values=[str(exc).splitlines()[0][:300]])]
        except BaseException:
            audited.discard_scan()
            raise
    rows = audited_rows(audited.results)
    if any(not r.success and r.severity == "blocking" for r in audited.results):
        audited.discard_scan()  # quarantined: nothing of it is promoted
    elif rows is not None:
        record_audited(facts, extract, rows - rejected_row_count(audited.results))
    return audited


def audited_rows(results: list[RuleResult]) -> int | None:
    """Rows the gate saw (its row-count check), to prove the promoted rows are the audited ones."""
    for r in results:
        if r.expectation == "expect_table_row_count_to_be_between":
            return r.element_count
    return None
