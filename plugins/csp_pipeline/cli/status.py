"""`csp status`: what was loaded, rejected, quarantined and published, per feed, with dates.

While a run holds the warehouse (DuckDB allows one writer, and no reader beside it), the feeds
are reported from the published snapshot's manifest instead, and the output says so.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from csp_pipeline.core import ledger
from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.settings import Settings
from csp_pipeline.core.warehouse import open_connection, tables
from csp_pipeline.ingest.landing import unrecognised

FEED_COLUMNS = ("feed", "kind", "files_loaded", "rows_loaded", "rows_rejected", "latest_loaded",
                "files_quarantined", "latest_quarantined")


class WarehouseBusy(RuntimeError):
    """A run holds the warehouse's lock."""


@contextmanager
def _warehouse(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    try:
        con = open_connection(settings.warehouse, read_only=True)
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        raise WarehouseBusy(f"a run is writing the warehouse {settings.warehouse} (DuckDB "
                            "allows no reader beside its one writer)") from None
    try:
        yield con
    finally:
        con.close()


def feed_status(settings: Settings) -> list[tuple]:
    if not settings.warehouse.exists():
        return []
    with _warehouse(settings) as con:
        return ledger.per_kind(con)


def _onboarding(settings: Settings, delivered: set[str]) -> list[str]:
    """The feeds the deployment expects (CSP_CONFIG_DIR's `expected_feeds`, default all) that
    have not delivered yet, and the declared feeds it does not expect."""
    registry = load_registry()
    waiting = [f for f in registry.expected_feeds if f not in delivered]
    other = [f for f in registry.feeds if f not in registry.expected_feeds]
    lines = [f"  expected, nothing delivered yet: {', '.join(waiting)}"] if waiting else []
    return lines + ([f"  not onboarded (not in expected_feeds): {', '.join(other)}"]
                    if other else [])


def check_health(settings: Settings) -> list[tuple]:
    """Per feed kind: checks run, failed (blocking / reject / warning) in the latest 30 extract
    dates."""
    if not settings.warehouse.exists():
        return []
    with _warehouse(settings) as con:
        return con.execute("""
            SELECT feed, kind, count(*) AS checks,
                   count(*) FILTER (WHERE NOT success AND severity = 'blocking') AS blocking_failed,
                   count(*) FILTER (WHERE NOT success AND severity = 'reject') AS rejecting,
                   count(*) FILTER (WHERE NOT success AND severity = 'warning') AS warnings
            FROM meta.validation_results
            WHERE extract_date >= (SELECT max(extract_date) - INTERVAL 30 DAY
                                   FROM meta.validation_results)
            GROUP BY ALL ORDER BY feed, kind""").fetchall()


def police_attribution(settings: Settings, months: int = 12) -> list[tuple]:
    """Per police force and month (the latest `months`): the source the month rests on and where
    its counted records went (marts.dq_police_attribution; empty before the first build)."""
    if not settings.warehouse.exists():
        return []
    with _warehouse(settings) as con:
        if "dq_police_attribution" not in tables(con, "marts"):
            return []
        return con.execute("""
            SELECT force, month, counted_source, counted_records, in_areas, outside_areas,
                   unlocated, not_counted
            FROM marts.dq_police_attribution
            WHERE month > (SELECT max(month) FROM marts.dq_police_attribution) - ? * INTERVAL 1 MONTH
            ORDER BY force, month""", [months]).fetchall()


def _manifest(settings: Settings) -> dict | None:
    path = settings.published_dir / "current" / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else None


def feeds_from_manifest(manifest: dict | None) -> list[tuple]:
    """Per feed and kind, what the published snapshot rests on (loaded deliveries only: the
    manifest knows no rejects or quarantines)."""
    per: dict[tuple[str, str], list] = {}
    for item in (manifest or {}).get("inputs", []):
        entry = per.setdefault((item["feed"], item["kind"]), [0, 0, None])
        entry[0] += 1
        entry[1] += item.get("rows") or 0
        entry[2] = max(filter(None, (entry[2], item.get("extract_date"))), default=None)
    return [(f, k, n, rows, None, latest, None, None)
            for (f, k), (n, rows, latest) in sorted(per.items())]


def status_doc(settings: Settings) -> dict:
    """Everything `csp status` shows, as data (`--json`)."""
    manifest = _manifest(settings)
    doc: dict = {"warehouse": str(settings.warehouse), "source": "warehouse", "busy": None}
    try:
        feeds, health, police = (feed_status(settings), check_health(settings),
                                 police_attribution(settings))
    except WarehouseBusy as exc:
        doc.update(source="published snapshot manifest", busy=str(exc))
        feeds, health, police = feeds_from_manifest(manifest), [], []
    doc["feeds"] = [dict(zip(FEED_COLUMNS, row, strict=False)) for row in feeds]
    doc["checks_last_30_days"] = [dict(zip(("feed", "kind", "checks", "blocking_failed",
                                             "rejecting", "warnings"), r, strict=False)) for r in health]
    doc["police_attribution"] = [dict(zip(("force", "month", "counted_source", "counted_records",
                                           "in_areas", "outside_areas", "unlocated",
                                           "not_counted"), r, strict=False)) for r in police]
    doc["published"] = None if manifest is None else {
        "path": str((settings.published_dir / "current").resolve()),
        "published_at": manifest["published_at"], "run_id": manifest["run_id"],
        "marts": len(manifest["marts"]), "withheld": sorted(manifest.get("withheld") or {})}
    return doc


def _unrecognised(settings: Settings) -> list[str]:
    if not settings.landing_dir.is_dir():
        return ["", f"Landing folder {settings.landing_dir} does not exist: runs will fail"]
    strays = unrecognised(load_registry(), settings.landing_dir)
    if not strays:
        return []
    return ["", "In the landing zone, not declared extracts (left in place, never read):"] + [
        f"  {path.relative_to(settings.landing_dir)}: {why}" for path, why in strays]


def render(settings: Settings) -> str:
    doc = status_doc(settings)
    lines = []
    if doc["busy"]:
        lines += [f"The warehouse is busy: {doc['busy']}.",
                  "Feeds below are what the published snapshot rests on (its manifest); rejects, "
                  "quarantines and checks show once the run ends.", ""]
    lines += ["Feeds (per kind; rows rejected are in quarantine/<feed>/*.rejects.csv):",
              f"  {'feed/kind':42} {'files':>6} {'rows':>10} {'rejected':>8} {'latest':>11} "
              f"{'quarant.':>8} {'latest q.':>11}"]
    for f in doc["feeds"]:
        lines.append(f"  {f['feed'] + '/' + f['kind']:42} {f['files_loaded']:>6} "
                     f"{f['rows_loaded']:>10,} {_n(f['rows_rejected']):>8} "
                     f"{str(f['latest_loaded'] or '-'):>11} {_n(f['files_quarantined']):>8} "
                     f"{str(f['latest_quarantined'] or '-'):>11}")
    lines += _onboarding(settings, {f["feed"] for f in doc["feeds"]})
    if doc["checks_last_30_days"]:
        lines += ["", "Data-quality checks, last 30 days of extracts:",
                  f"  {'feed/kind':42} {'checks':>7} {'blocking':>9} {'rejecting':>9} "
                  f"{'warnings':>9}"]
        lines += [f"  {c['feed'] + '/' + c['kind']:42} {c['checks']:>7} "
                  f"{c['blocking_failed']:>9} {c['rejecting']:>9} {c['warnings']:>9}"
                  for c in doc["checks_last_30_days"]]
    if doc["police_attribution"]:
        lines += ["", "Police records per force and month, last 12 months (the partner extract wins "
                      "a month it covers; unlocated = police.uk 'No Location'):",
                  f"  {'force':28} {'month':7} {'counted source':15} {'counted':>8} {'in areas':>8} "
                  f"{'outside':>8} {'unlocated':>9} {'not counted':>11}"]
        lines += [f"  {p['force']:28} {p['month']:%Y-%m} {p['counted_source']:15} "
                  f"{p['counted_records']:>8,} {p['in_areas']:>8,} {p['outside_areas']:>8,} "
                  f"{p['unlocated']:>9,} {p['not_counted']:>11,}"
                  for p in doc["police_attribution"]]
    lines += _unrecognised(settings)
    pub = doc["published"]
    lines += ["", f"Published: {pub['path']} at {pub['published_at']} (run {pub['run_id']}, "
                  f"{pub['marts']} marts)" if pub else "Published: nothing yet"]
    return "\n".join(lines)


def _n(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"
