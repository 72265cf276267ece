"""Partner backfills: nightly extracts of past months consolidated into one extract per month.

When a partner joins, its history arrives as a backfill rather than thousands of nightly files. This
folds the nightly files of each month into one file dated the month's last night, keeping each
business key's latest version (later extract dates win), exactly as loading them night by night
would leave the staging models.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

import duckdb

from csp_pipeline.core.registry import Registry
from csp_pipeline.core.sql import ident, literal
from csp_pipeline.core.warehouse import memory
from csp_pipeline.ingest.landing import discover


def consolidate(registry: Registry, landing_dir: Path, through: date) -> list[Path]:
    """Replace nightly files dated up to `through` by one file per kind and month. Returns them."""
    written = []
    with memory() as con:
        for feed in registry.feeds:
            months: dict[tuple[str, str], list] = defaultdict(list)
            for extract in discover(registry, landing_dir, feed, through.isoformat()):
                months[(extract.kind.name, extract.extract_date[:7])].append(extract)
            for extracts in months.values():
                if len(extracts) < 2:
                    continue
                written.append(_merge(con, extracts))
    return written


def _merge(con: duckdb.DuckDBPyConnection, extracts: list) -> Path:
    kind = extracts[0].kind
    last = max(extracts, key=lambda e: e.extract_date)
    target = last.path.with_name(kind.file_name(last.extract_date) + ".tmp")
    files = [str(e.path) for e in sorted(extracts, key=lambda e: e.extract_date)]
    cols = ", ".join(ident(c) for c in kind.column_names)
    latest = ""
    if kind.key:
        latest = (f"QUALIFY row_number() OVER (PARTITION BY {', '.join(ident(k) for k in kind.key)} "
                  "ORDER BY filename DESC) = 1")
    con.execute(
        f"COPY (SELECT {cols} FROM read_csv($files, header = true, all_varchar = true, "
        f"filename = true, union_by_name = true) {latest} ORDER BY filename) "
        f"TO {literal(target)} (HEADER, DELIMITER ',')", {"files": files})
    for e in extracts:
        e.path.unlink()
    final = target.with_suffix("")
    target.rename(final)
    return final
