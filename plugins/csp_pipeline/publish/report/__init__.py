"""The partnership performance report: static pages built from one published snapshot.

`build_report(snapshot_dir)` reads only that snapshot's disclosure-controlled DuckDB file and
manifest and writes `report/` inside it (one page per area, `index.html` for the first, with
plotly.js and the style sheet bundled beside them so the folder opens from the file system with
no network). Publishing calls it before `current` moves; `csp report` calls it again on demand.
"""

from csp_pipeline.publish.report.build import build_report

__all__ = ["build_report"]
