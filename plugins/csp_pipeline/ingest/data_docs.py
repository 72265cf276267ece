"""Great Expectations' file project under the data folder: the stored validation results and the
Data Docs rendered from them.

Audits run on any worker, several at once, so they never open this project (GE rewrites its
great_expectations.yml when a context is configured): each audit validates in a context of its
own in memory and writes each validation result here as a file of its own (`store_results`).
Data Docs are rendered by one task (`build_new_docs`, in the warehouse DAG), from the results
stored since its last build.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

import great_expectations as gx
from great_expectations.data_context.store import ValidationResultsStore

from csp_pipeline.ingest.data_docs_assets import localise_site

DOCS_INDEX_RESULTS = 1000  # validation results listed on the Data Docs index (newest first)
RESULTS_DIR = ("gx", "uncommitted", "validations")
LAST_BUILD = ".built_at"  # beside the index: when the last build began (ISO, UTC)


@cache
def file_context(gx_root: str):
    """The file-backed GE project: where results persist and Data Docs are rendered."""
    ctx = gx.get_context(mode="file", project_root_dir=gx_root)
    ctx.variables.progress_bars = {"globally": False}
    site = dict(ctx.variables.data_docs_sites["local_site"])
    index_builder = {"class_name": "DefaultSiteIndexBuilder",
                     "validation_results_limit": DOCS_INDEX_RESULTS}
    if site.get("site_index_builder") != index_builder:  # the index reads each listed result
        ctx.update_data_docs_site("local_site", {**site, "site_index_builder": index_builder})
    return ctx


@cache
def _results_store(gx_root: str) -> ValidationResultsStore:
    """The project's validation results store, without the project (the same files)."""
    return ValidationResultsStore(store_backend={
        "class_name": "TupleFilesystemStoreBackend", "root_directory": str(Path(gx_root, "gx")),
        "base_directory": os.path.join(*RESULTS_DIR[1:]) + "/", "filepath_suffix": ".json"})


def store_results(gx_root: Path, run_results: dict) -> None:
    """Persist a checkpoint's validation results: one file per result (suite, run, batch), so
    audits on several workers never write the same file."""
    store = _results_store(str(gx_root))
    for key, result in run_results.items():
        store.set(key, result)


def prune_validation_results(gx_root: Path, before: datetime) -> int:
    """Delete the GE validation results stored before `before`; returns how many. The warehouse
    keeps every result in meta.validation_results; Data Docs drop the pages at the next build."""
    if not Path(gx_root, *RESULTS_DIR).exists():
        return 0
    store = file_context(str(gx_root)).validation_results_store
    expired = [k for k in store.list_keys() if k.run_id.run_time < before]
    for key in expired:
        store.remove_key(key)
    return len(expired)


def data_docs_index(gx_root: Path) -> Path:
    return gx_root / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


def build_data_docs(gx_root: Path, since: datetime | None = None, suite_prefix: str = "") -> Path:
    """Render Data Docs; returns the index page.

    With `since`, only the validation results stored since then (of suites named with
    `suite_prefix`) are rendered, so a night's cost follows the night's files, not the history;
    the index lists the latest DOCS_INDEX_RESULTS results. The first build renders everything.
    """
    ctx = file_context(str(gx_root))
    index = data_docs_index(gx_root)
    started = time.time() - 1  # pages written from here on are tonight's (mtime resolution)
    if since is None or not index.exists():
        ctx.build_data_docs()
    else:
        tonight = [k for k in ctx.validation_results_store.list_keys()
                   if k.run_id.run_time >= since
                   and k.expectation_suite_identifier.name.startswith(suite_prefix)]
        if tonight:  # an empty list would make GE rebuild every page
            ctx.build_data_docs(resource_identifiers=tonight)
    site = index.parent
    localise_site(site, [p for p in site.rglob("*.html") if p.stat().st_mtime >= started])
    return index


def build_new_docs(gx_root: Path) -> Path:
    """Render the results stored since the last build (everything the first time); for the one
    task that builds Data Docs."""
    began = datetime.now(timezone.utc)
    stamp = data_docs_index(gx_root).with_name(LAST_BUILD)
    since = datetime.fromisoformat(stamp.read_text().strip()) if stamp.exists() else None
    index = build_data_docs(gx_root, since)
    stamp.write_text(began.isoformat())
    return index
