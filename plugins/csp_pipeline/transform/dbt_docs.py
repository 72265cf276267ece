"""Keep the dbt documentation site that the warehouse DAG generates (cosmos' docs operator).

cosmos runs `dbt docs generate --static` in a temporary copy of the project and then calls
`keep_docs` with that copy; the site is copied to `<data dir>/dbt_docs/` and swapped in whole, so
analysts opening it never see a half-written one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from csp_pipeline.core.settings import Settings

DOCS_FILES = ("static_index.html", "index.html", "manifest.json", "catalog.json")


def docs_dir(settings: Settings) -> Path:
    return settings.data_dir / "dbt_docs"


def keep_docs(project_dir: str, **_context) -> None:
    target = Path(project_dir) / "target"
    if not (target / "static_index.html").exists():
        return  # dbt failed: cosmos raises its error right after this callback
    final = docs_dir(Settings.from_env())
    work = final.with_name(".dbt_docs.partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for name in DOCS_FILES:
        if (target / name).exists():
            shutil.copy2(target / name, work / name)
    old = final.with_name(".dbt_docs.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    work.rename(final)
    shutil.rmtree(old, ignore_errors=True)
