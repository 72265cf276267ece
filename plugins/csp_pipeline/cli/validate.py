"""`csp validate FILE`: one file through the gate of its kind, on its own.

The same audit a run does (Great Expectations suite, reject tolerances, the volume check against
the kind's recent deliveries when the warehouse can be read), into a throwaway GE store: nothing
is loaded, moved or recorded. Exit 0 when the file would load, 1 when it would be quarantined.
"""

from __future__ import annotations

import json
import sys
import tempfile
from contextlib import redirect_stdout
from pathlib import Path

import duckdb

from csp_pipeline.cli import UsageError
from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.settings import Settings
from csp_pipeline.core.warehouse import connect
from csp_pipeline.ingest.audit import audit_file, audited_rows
from csp_pipeline.ingest.landing import Extract, fingerprint, match
from csp_pipeline.ingest.ledger_facts import KindFacts, read_facts
from csp_pipeline.ingest.results import RuleResult, rejected_row_count


def extract_of(path: Path, feed: str | None) -> Extract:
    registry = load_registry()
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    feed = feed or path.resolve().parent.name
    if feed not in registry.feeds:
        raise UsageError(f"cannot tell the feed of {path}: its folder {feed!r} is not a feed; "
                         f"give --feed (one of {', '.join(registry.feeds)})")
    extract = match(registry, feed, path)
    if extract is None:
        names = [k.files.replace("{kind}", k.name) for k in registry.kinds_of(feed)]
        raise UsageError(f"{path.name} is not named as a {feed} extract is: "
                         f"{', '.join(names)} (or a partner variant's name)")
    return extract


def _facts(settings: Settings, extract: Extract) -> tuple[KindFacts, str]:
    """The ledger facts a run's audit would have (for the volume check), read from the warehouse
    when it can be read; bytes already loaded are audited all the same."""
    digests = {str(extract.path): fingerprint(extract.path)}
    try:
        with connect(settings.warehouse, read_only=True) as con:
            facts = read_facts(con, [extract], digests)
    except duckdb.Error:  # missing, never loaded, or held by a run
        return KindFacts(digests=digests), ("no volume check: the warehouse is missing or held "
                                            "by a run")
    facts.seen.clear()
    return facts, "volume checked against the kind's recent deliveries"


def verdict(extract: Extract, results: list[RuleResult], volume_note: str) -> dict:
    failed = [r for r in results if not r.success]
    blocking = [r for r in failed if r.severity == "blocking"]
    rejects = [r for r in failed if r.rejects_rows]
    return {
        "file": str(extract.path), "feed": extract.kind.feed, "kind": extract.kind.name,
        "variant": extract.variant.name if extract.variant else None,
        "extract_date": extract.extract_date,
        "verdict": "quarantine" if blocking else "load",
        "rows_in_file": audited_rows(results),
        "rows_rejected": rejected_row_count(results),
        "checks_passed": len(results) - len(failed), "checks_failed": len(failed),
        "blocking": [r.describe(extract.label) for r in blocking],
        "rejects": [] if blocking else [r.describe(extract.label) for r in rejects],
        "warnings": [r.describe(extract.label) for r in failed if r.severity == "warning"],
        "volume_check": volume_note,
    }


def validate_file(settings: Settings, path: Path, feed: str | None, as_json: bool) -> int:
    extract = extract_of(path, feed)
    facts, note = _facts(settings, extract)
    # library log lines go to stderr: stdout is the report (JSON with --json) alone
    with tempfile.TemporaryDirectory(prefix="csp-validate-") as tmp, redirect_stdout(sys.stderr):
        audited = audit_file(settings, extract, facts, settings.pseudonym_key(), Path(tmp))
    doc = verdict(extract, audited.results, note)
    print(json.dumps(doc, indent=2) if as_json else render(doc))
    return 1 if doc["verdict"] == "quarantine" else 0


def render(doc: dict) -> str:
    head = (f"{doc['file']}: {doc['feed']}/{doc['kind']}"
            + (f" (variant {doc['variant']})" if doc["variant"] else "")
            + f", extract date {doc['extract_date']}, {doc['rows_in_file'] or 0:,} rows")
    if doc["verdict"] == "quarantine":
        lines = [head, "WOULD BE QUARANTINED:"] + [f"  - {b}" for b in doc["blocking"]]
    else:
        lines = [head, f"would load: {doc['rows_in_file'] or 0:,} rows, "
                       f"{doc['rows_rejected']:,} rejected"]
        lines += [f"  - {r}" for r in doc["rejects"]]
    lines += [f"  warning: {w}" for w in doc["warnings"]]
    lines += [f"checks: {doc['checks_passed']} passed, {doc['checks_failed']} failed; "
              f"{doc['volume_check']}", "Nothing was loaded, moved or recorded."]
    return "\n".join(lines)
