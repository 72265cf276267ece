"""Write `report/` inside a snapshot folder: one page per area plus the bundled assets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jinja2
import plotly

from csp_pipeline.publish.report import sections
from csp_pipeline.publish.report.snapshot_data import Snapshot, open_snapshot
from csp_pipeline.publish.report.tables import SUPPRESSED_NOTE
from csp_pipeline.publish.report.youth_justice import youth_justice

HERE = Path(__file__).parent
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
BUILDERS = (sections.fire, sections.crime, sections.substance_misuse, sections.education,
            sections.neet, youth_justice)


class ReportError(RuntimeError):
    """The report could not be built (the publish fails with it)."""


def page_name(index: int, la_code: str) -> str:
    return "index.html" if index == 0 else f"area-{la_code}.html"


def page_for(report_dir: Path, la_code: str | None) -> Path | None:
    """An area's page in a built report (the first area's when no code is given)."""
    if la_code is None:
        return report_dir / "index.html"
    for page in report_dir.glob("*.html"):
        if f'data-area="{la_code}"' in page.read_text(encoding="utf-8"):
            return page
    return None


def build_report(snapshot_dir: Path) -> Path:
    """Build `<snapshot_dir>/report/` (replacing any earlier one whole); returns its index."""
    snapshot_dir = Path(snapshot_dir)
    final = snapshot_dir / "report"
    work = snapshot_dir / ".report.partial"
    shutil.rmtree(work, ignore_errors=True)
    (work / "assets").mkdir(parents=True)
    snap = open_snapshot(snapshot_dir)
    try:
        areas = snap.areas()
        if not areas:
            raise ReportError(f"snapshot {snapshot_dir} has no area in any published mart")
        template = _env().get_template("area.html")
        for i, (code, name) in enumerate(areas):
            html = template.render(**_page_context(snap, areas, code, name))
            (work / page_name(i, code)).write_text(html, encoding="utf-8")
    finally:
        snap.con.close()
    shutil.copy2(PLOTLY_JS, work / "assets" / "plotly.min.js")
    for asset in (HERE / "static").iterdir():
        shutil.copy2(asset, work / "assets" / asset.name)
    if final.exists():
        shutil.rmtree(final)
    work.rename(final)
    return final / "index.html"


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                              autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)


def _page_context(snap: Snapshot, areas: list[tuple[str, str]], code: str, name: str) -> dict:
    built = [build(snap, code) for build in BUILDERS]
    charts = {}
    for s in built:
        for j, block in enumerate(s.blocks):
            if block.chart is not None:
                charts[f"chart-{s.slug}-{j}"] = block.chart
    extract_dates = snap.extract_dates()
    manifest = snap.manifest
    return {
        "area": {"code": code, "name": name},
        "areas": [{"code": c, "name": n, "page": page_name(i, c)}
                  for i, (c, n) in enumerate(areas)],
        "sections": built, "charts_json": json.dumps(charts, default=str),
        "data_as_of": {"published_at": manifest.get("published_at"),
                       "run_id": manifest.get("run_id"),
                       "code_version": manifest.get("code_version"),
                       "rows": [(s.title, s.latest or "no data", s.feed,
                                 extract_dates.get(s.feed, "none loaded")) for s in built]},
        "suppressed_note": SUPPRESSED_NOTE,
    }
