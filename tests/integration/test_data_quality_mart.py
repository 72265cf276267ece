"""marts.dq_feed_health, built by real dbt over a ledger written by the real gate.

Real files go through `ingest.process` (clean, warning, quarantined, re-issued, fixed, released,
with rejected rows, a released rejects file), then dbt builds the mart and runs its tests; every
figure is checked against what those deliveries must give.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from csp_pipeline.core.registry import Kind, load_registry
from csp_pipeline.core.settings import Settings
from csp_pipeline.ingest.landing import match
from csp_pipeline.ingest.promote import process, release
from csp_pipeline.ingest.suites import load_suite
from tests.support.rows import Row, valid_rows, write_extract
from tests.support.warehouse import dbt, query

REGISTRY = load_registry()
POLICE = REGISTRY.kind("police", "crimes")
FIRE = REGISTRY.kind("fire", "incidents")
TREATMENT = REGISTRY.kind("substance_misuse", "treatment_episodes")
D1, D2, D3 = date(2024, 5, 29), date(2024, 5, 30), date(2024, 5, 31)


def deliver(settings: Settings, kind: Kind, day: date, rows: list[Row], run_id: str) -> str:
    path = write_extract(settings.landing_dir, kind, day, rows)
    return process(settings, match(REGISTRY, kind.feed, path), run_id, b"k").status


def broken(kind: Kind, day: date, column: str) -> list[Row]:
    rows = valid_rows(kind, 6, day, start=40)
    rows[1][column] = "Not a listed code"
    return rows


def test_feed_health_counts_what_the_gate_did(tmp_path: Path):
    settings = Settings.from_env({"CSP_DATA_DIR": str(tmp_path), "CSP_DEMO_MODE": "1"})
    s = settings
    assert deliver(s, POLICE, D1, valid_rows(POLICE, 10, D1), "n1") == "loaded"
    assert deliver(s, POLICE, D2, broken(POLICE, D2, "Crime type"), "n2") == "quarantined"
    assert deliver(s, POLICE, D2, valid_rows(POLICE, 8, D2), "n3") == "loaded"  # fixed re-send
    assert deliver(s, POLICE, D3, broken(POLICE, D3, "Crime type"), "n3") == "quarantined"
    assert deliver(s, FIRE, D1, valid_rows(FIRE, 5, D1), "n1") == "loaded"
    assert deliver(s, FIRE, D1, valid_rows(FIRE, 3, D1, start=7), "n2") == "loaded"  # re-issue
    assert deliver(s, FIRE, D2, broken(FIRE, D2, "LA_CODE"), "n2") == "quarantined"
    release(s, s.quarantine_dir / "fire" / FIRE.file_name(D2.isoformat()))
    late_triage = valid_rows(TREATMENT, 4, D3)
    late_triage[2].update(REFLD=(D3 - timedelta(days=3)).isoformat(),
                          TRIAGED=(D3 - timedelta(days=9)).isoformat(), DISD=None)
    assert deliver(s, TREATMENT, D3, late_triage, "n3") == "loaded"
    with_rejects = valid_rows(FIRE, 30, D3, start=60)
    with_rejects[3]["LA_CODE"] = "Not a listed code"  # 1 row of 30: rejected, the rest loads
    assert deliver(s, FIRE, D3, with_rejects, "n3") == "loaded"
    rejects = s.quarantine_dir / "fire" / FIRE.file_name(D3.isoformat()).replace(
        ".csv", ".rejects.csv")
    fixed = rejects.read_text().replace("Not a listed code", with_rejects[0]["LA_CODE"])
    rejects.write_text(fixed)
    added = release(s, rejects)  # a supplementary delivery: its row is added
    assert process(s, match(REGISTRY, "fire", added), "n4", b"k").rows == 1

    dbt(s.warehouse, "build", "--select", "dq_feed_health", "source:meta")

    n = {k.id: len(load_suite(k).expectations) for k in (POLICE, FIRE, TREATMENT)}
    got = query(s.warehouse, """
        SELECT feed, kind, extract_date, files, rows, rows_rejected, checks, blocking_failures,
               reject_failures, warnings, quarantined_files, status, health_key
        FROM marts.dq_feed_health ORDER BY feed, kind, extract_date""")
    p, f, t = n[POLICE.id], n[FIRE.id], n[TREATMENT.id]
    assert got == [
        ("fire", "incidents", D1, 2, 3, 0, 2 * f, 0, 0, 0, 0, "loaded",
         "fire/incidents/2024-05-29"),
        ("fire", "incidents", D2, 1, 0, 0, f, 1, 0, 0, 0, "released",
         "fire/incidents/2024-05-30"),
        ("fire", "incidents", D3, 2, 30, 1, 2 * f, 0, 1, 0, 0, "loaded",
         "fire/incidents/2024-05-31"),
        ("police", "crimes", D1, 1, 10, 0, p, 0, 0, 0, 0, "loaded", "police/crimes/2024-05-29"),
        ("police", "crimes", D2, 2, 8, 0, 2 * p, 1, 0, 0, 1, "loaded",
         "police/crimes/2024-05-30"),
        ("police", "crimes", D3, 1, 0, 0, p, 1, 0, 0, 1, "quarantined",
         "police/crimes/2024-05-31"),
        ("substance_misuse", "treatment_episodes", D3, 1, 4, 0, t, 0, 0, 1, 0,
         "loaded_with_warnings", "substance_misuse/treatment_episodes/2024-05-31"),
    ]


def test_a_delivery_with_rejected_rows_is_loaded_with_rejects(tmp_path: Path):
    settings = Settings.from_env({"CSP_DATA_DIR": str(tmp_path), "CSP_DEMO_MODE": "1"})
    rows = valid_rows(POLICE, 40, D3)
    rows[6]["Crime type"] = "Burglery"
    assert deliver(settings, POLICE, D3, rows, "n1") == "loaded"
    dbt(settings.warehouse, "build", "--select", "dq_feed_health", "source:meta")
    assert query(settings.warehouse, """SELECT rows, rows_rejected, reject_failures, status
                                        FROM marts.dq_feed_health""") == [
        (39, 1, 1, "loaded_with_rejects")]
