"""`csp scan-pii`: the leak scan of docs/privacy.md as a command.

It collects the identifier values of the landed extracts' PII columns and searches for them in
everything the pipeline wrote (privacy/leak_scan.py). With nothing to search for (every extract
purged, or none landed) it says so and exits NOTHING_TO_SEARCH: an empty search proves nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

from csp_pipeline.core.settings import Settings
from csp_pipeline.privacy.leak_scan import files_to_scan, identifiers_from_extracts, scan

NOTHING_TO_SEARCH = 3


def scan_pii(settings: Settings, extra: list[Path]) -> int:
    extracts = sorted(settings.landing_dir.glob("*/*.csv")) if settings.landing_dir.is_dir() else []
    identifiers = identifiers_from_extracts(settings.landing_dir)
    if not identifiers:
        print(f"csp scan-pii: nothing to search for: the {len(extracts)} extract(s) in "
              f"{settings.landing_dir} hold no identifier value (every extract purged by "
              "retention, or none landed yet). Run the scan while the extracts are held, e.g. "
              "right after a night's run.", file=sys.stderr)
        return NOTHING_TO_SEARCH
    files = files_to_scan(settings, extra)
    roots = [settings.warehouse, settings.data_dir, settings.airflow_home,
             settings.published_dir, *extra]
    print(f"Searching for {len(identifiers):,} identifier values (the PII columns of "
          f"{len(extracts)} landed extracts) in {len(files):,} files: every table of each DuckDB, "
          "Parquet and SQLite file, and the bytes of all, under:")
    for root in dict.fromkeys(roots):
        print(f"  {root}")
    print(f"  (not the landing zone {settings.landing_dir} nor the quarantined extracts, which "
          "hold the partners' own rows)")
    findings = scan(settings, identifiers, extra)
    if findings:
        print(f"FOUND identifiers in {len(findings)} place(s) (masked):")
        for finding in findings:
            print(f"  {finding}")
        return 1
    print("No identifier found.")
    return 0
