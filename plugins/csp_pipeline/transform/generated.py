"""Files derived from declarations and kept in the repository for review: GE suites and dbt sources
and the code_list macro (from feeds.yml), and the dbt models merging reference data (from reference.py)."""

from __future__ import annotations

from pathlib import Path

from csp_pipeline.core import reference
from csp_pipeline.core.registry import load_registry
from csp_pipeline.ingest import suites
from csp_pipeline.transform import code_lists, dbt_sources


def expected_files() -> dict[Path, str]:
    registry = load_registry()
    files = {suites.suite_path(k): suites.suite_json(suites.build_suite(k)) for k in registry.kinds}
    files.update({dbt_sources.sources_path(f): dbt_sources.render(registry, f)
                  for f in registry.feeds})
    files.update(reference.generated_files())
    files.update(code_lists.generated_files(registry))
    return files


def stale_files() -> list[Path]:
    return [p for p, text in expected_files().items()
            if not p.exists() or p.read_text() != text]


def write_all() -> list[Path]:
    written = []
    for path, text in expected_files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            written.append(path)
    return written
