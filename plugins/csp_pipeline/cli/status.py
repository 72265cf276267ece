"""`csp status`: what was loaded, rejected, quarantined and published, per feed, with dates."""

from __future__ import annotations

import json

from csp_pipeline.core import ledger
from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.settings import Settings
from csp_pipeline.core.warehouse import connect, tables
from csp_pipeline.ingest.landing import unrecognised


def feed_status(settings: Settings) -> list[tuple]:
    if not settings.warehouse.exists():
        return []
    with connect(settings.warehouse, read_only=True) as con:
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
    with connect(settings.warehouse, read_only=True) as con:
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
    with connect(settings.warehouse, read_only=True) as con:
        if "dq_police_attribution" not in tables(con, "marts"):
            return []
        return con.execute("""
            SELECT force, month, counted_source, counted_records, in_areas, outside_areas,
                   unlocated, not_counted
            FROM marts.dq_police_attribution
            WHERE month > (SELECT max(month) FROM marts.dq_police_attribution) - ? * INTERVAL 1 MONTH
            ORDER BY force, month""", [months]).fetchall()


def _unrecognised(settings: Settings) -> list[str]:
    if not settings.landing_dir.is_dir():
        return ["", f"Landing folder {settings.landing_dir} does not exist: runs will fail"]
    strays = unrecognised(load_registry(), settings.landing_dir)
    if not strays:
        return []
    return ["", "In the landing zone, not declared extracts (left in place, never read):"] + [
        f"  {path.relative_to(settings.landing_dir)}: {why}" for path, why in strays]


def render(settings: Settings) -> str:
    lines = ["Feeds (per kind; rows rejected are in quarantine/<feed>/*.rejects.csv):",
             f"  {'feed/kind':42} {'files':>6} {'rows':>10} {'rejected':>8} {'latest':>11} "
             f"{'quarant.':>8} {'latest q.':>11}"]
    for feed, kind, files, rows, rejected, latest, q, latest_q in feed_status(settings):
        lines.append(f"  {feed + '/' + kind:42} {files:>6} {rows:>10,} {rejected:>8,} "
                     f"{str(latest or '-'):>11} {q:>8} {str(latest_q or '-'):>11}")
    lines += _onboarding(settings, {feed for feed, *_ in feed_status(settings)})
    health = check_health(settings)
    if health:
        lines += ["", "Data-quality checks, last 30 days of extracts:",
                  f"  {'feed/kind':42} {'checks':>7} {'blocking':>9} {'rejecting':>9} "
                  f"{'warnings':>9}"]
        lines += [f"  {f + '/' + k:42} {c:>7} {b:>9} {r:>9} {w:>9}"
                  for f, k, c, b, r, w in health]
    police = police_attribution(settings)
    if police:
        lines += ["", "Police records per force and month, last 12 months (the partner extract wins "
                      "a month it covers; unlocated = police.uk 'No Location'):",
                  f"  {'force':28} {'month':7} {'counted source':15} {'counted':>8} {'in areas':>8} "
                  f"{'outside':>8} {'unlocated':>9} {'not counted':>11}"]
        lines += [f"  {f:28} {m:%Y-%m} {src:15} {n:>8,} {a:>8,} {o:>8,} {u:>9,} {x:>11,}"
                  for f, m, src, n, a, o, u, x in police]
    lines += _unrecognised(settings)
    manifest = settings.published_dir / "current" / "manifest.json"
    if manifest.exists():
        doc = json.loads(manifest.read_text())
        lines += ["", f"Published: {manifest.parent.resolve()} at {doc['published_at']} "
                      f"(run {doc['run_id']}, {len(doc['marts'])} marts)"]
    else:
        lines += ["", "Published: nothing yet"]
    return "\n".join(lines)
