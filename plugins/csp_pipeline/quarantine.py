"""Quarantine: a file that fails a blocking rule is moved aside with a report; nothing is lost."""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from csp_pipeline.gate import RuleResult
    from csp_pipeline.landing import Extract
    from csp_pipeline.settings import Settings


def report_text(label: str, results: list[RuleResult]) -> str:
    lines = [f"# Quarantined: {label}", ""]
    for r in results:
        if not r.success:
            lines.append(f"- {r.describe(label)}")
    lines += ["", "Fix the file (or the partner's extract) and release it with:",
              f"    csp release {label}", ""]
    return "\n".join(lines)


def move(settings: Settings, extract: Extract, digest: str, run_id: str,
         results: list[RuleResult]) -> None:
    """Move the file to quarantine/<feed>/ with a JSON and a Markdown report beside it.

    Reports name file, rule, column, count and row numbers; values of PII columns are masked.
    """
    folder = settings.quarantine_dir / extract.kind.feed
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    target = folder / extract.path.name
    shutil.move(str(extract.path), target)
    doc = {
        "file": extract.label, "content_hash": digest, "run_id": run_id,
        "extract_date": extract.extract_date,
        "quarantined_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "failures": [
            {"rule": r.rule, "expectation": r.expectation, "column": r.column,
             "severity": r.severity, "unexpected_count": r.unexpected_count, "rows": r.rows,
             "sample_values": r.values}
            for r in results if not r.success
        ],
    }
    target.with_suffix(".report.json").write_text(json.dumps(doc, indent=2) + "\n")
    target.with_suffix(".report.md").write_text(report_text(extract.label, results))
    from csp_pipeline.landing import secure_tree

    secure_tree(folder)  # the file and its reports: readable by the pipeline's user only
