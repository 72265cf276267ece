"""`csp demo`: generate the bundled synthetic extracts, run the latest night, print a summary."""

from __future__ import annotations

import json
from datetime import date, timedelta

from csp_pipeline.cli.console import Console
from csp_pipeline.core import ledger
from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.settings import DEMO_PSEUDONYM_KEY, Settings
from csp_pipeline.core.warehouse import connect
from csp_pipeline.ingest.backfill import consolidate
from csp_pipeline.ingest.data_docs import data_docs_index
from csp_pipeline.publish.report.sections import FIRE_INDICATORS, comparison_headers
from csp_pipeline.publish.report.tables import SUPPRESSED, SUPPRESSED_NOTE
from csp_pipeline.transform.dbt_docs import docs_dir

DEMO_END = date(2024, 5, 31)
DEMO_START = date(2022, 5, 1)
HARTLEPOOL = "E06000001"


def prepare_landing(settings: Settings, scale: float, console: Console) -> None:
    """Synthetic history as monthly backfills, then the latest night as nightly files."""
    from csp_pipeline.synthetic import MAKERS, generate

    if any(settings.landing_dir.glob("*/*.csv")):
        console.line(f"Synthetic extracts already in {settings.landing_dir}: kept")
        return
    console.line(f"Generating synthetic extracts {DEMO_START} .. {DEMO_END} into "
                 f"{settings.landing_dir}")
    bar = console.bar("generating", len(MAKERS), "kinds")
    counts = generate(settings.landing_dir, DEMO_START, DEMO_END, scale=scale, seed=42,
                      on_kind=lambda _kind, _rows: bar.advance())
    consolidate(load_registry(), settings.landing_dir, DEMO_END - timedelta(days=1))
    console.close_bar()
    console.line(f"  {sum(counts.values()):,} rows in {len(counts)} kinds of extract")


def summary(settings: Settings) -> str:
    lines = []
    # Not read_only: `csp run` ran dbt in this process, and DuckDB refuses a second connection
    # to an open file with another configuration.
    with connect(settings.warehouse) as con:
        kinds = ledger.per_kind(con)
        passed_of = {(feed, kind): f"{passed}/{run}" for feed, kind, passed, run in con.execute(
            """SELECT feed, kind, count(*) FILTER (WHERE success), count(*)
               FROM meta.validation_results GROUP BY ALL""").fetchall()}
    rows = [(feed, kind, files, n, quarantined, passed_of.get((feed, kind), "0/0"))
            for feed, kind, files, n, _, _, quarantined, _ in kinds]
    lines.append(f"{'feed/kind':40} {'files':>6} {'rows loaded':>12} {'quarantined':>11} "
                 f"{'checks passed':>14}")
    for feed, kind, files, n, quarantined, checks in rows:
        lines.append(f"{feed + '/' + kind:40} {files:>6} {n:>12,} {quarantined:>11} {checks:>14}")
    current = settings.published_dir / "current"
    manifest = json.loads((current / "manifest.json").read_text())
    lines += ["", f"Marts built and published ({len(manifest['marts'])}): "
                  + ", ".join(manifest["marts"]),
              f"Published snapshot: {current.resolve()} (published.duckdb, parquet/, csv/)",
              f"Data Docs (Great Expectations): {data_docs_index(settings.data_dir / 'gx')}",
              f"dbt docs (models, tests, lineage): {docs_dir(settings) / 'static_index.html'}", ""]
    lines.append(fire_table(settings))
    lines += ["", f"Data dictionary: {current.resolve() / 'DATA_DICTIONARY.md'}",
              f"Partnership performance report (opens offline): "
              f"{current.resolve() / 'report' / 'index.html'}",
              "Print it as the board pack: csp report --pdf board-pack.pdf"]
    return "\n".join(lines)


def fire_table(settings: Settings) -> str:
    """The Hartlepool district monthly fire performance table for the latest month."""
    db = settings.published_dir / "current" / "published.duckdb"
    with connect(db, read_only=True) as con:
        month = con.execute("SELECT max(month) FROM marts.cs_fire_monthly_performance "
                            "WHERE la_code = ?", [HARTLEPOOL]).fetchone()[0]
        rows = con.execute("""
            SELECT indicator, value_previous_year, value, direction, pct_change
            FROM marts.cs_fire_monthly_performance WHERE la_code = ? AND month = ?""",
                           [HARTLEPOOL, month]).fetchall()
    order = FIRE_INDICATORS
    rows.sort(key=lambda r: order.index(r[0]) if r[0] in order else len(order))
    first, prev, cur, travel, change = comparison_headers("Indicator", month)
    out = [f"Hartlepool District Monthly Performance {month:%B %Y}: Incident summary", "",
           f"{first:38} {prev:>7} {cur:>7}  {travel:36} {change:>8}"]
    for indicator, before, now, direction, pct in rows:
        pct_text = "-" if pct is None else f"{pct}%"
        out.append(f"{indicator:38} {_cell(before):>7} {_cell(now):>7}  {direction or '-':36} "
                   f"{pct_text:>8}")
    if any(None in (before, now) for _, before, now, _, _ in rows):
        out += ["", SUPPRESSED_NOTE]
    return "\n".join(out)


def _cell(value: int | None) -> str:
    return SUPPRESSED if value is None else str(value)


def run_demo(settings: Settings, scale: float = 1.0, verbose: bool = False) -> int:
    from csp_pipeline.cli.nights import report_failure, run_night_live

    settings.require_writable()
    console = Console.terminal()
    console.line(f"Demo mode: synthetic data, pseudonymised with the public demo key "
                 f"({DEMO_PSEUDONYM_KEY!r}); never use it for real data.")
    prepare_landing(settings, scale, console)
    result = run_night_live(settings, DEMO_END, verbose, console)
    if not result.ok:
        report_failure(result)
        return 1
    console.line()
    console.line(summary(settings))
    console.line(f"\nLibrary output of the night (Airflow, dbt, cosmos): {result.log}")
    return 0
