"""Monthly backfills keep each key's latest version, as nightly loading would."""

from __future__ import annotations

import csv
from datetime import date

from csp_pipeline.core.registry import load_registry
from csp_pipeline.ingest.backfill import consolidate

HEADER = load_registry().kind("fire", "incidents").column_names


def write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(rows)


def row(incident_id, casualties):
    return [incident_id, "2024-05-01T10:00:00", "Cleveland", "E06000001", "E05000001", "Hart",
            "E01000001", "Primary fire", "Dwelling", "Accidental", 0, casualties, 0]


def test_consolidate_keeps_latest_version_per_key(tmp_path):
    landing = tmp_path / "landing"
    write(landing / "fire" / "incidents_20240501.csv", [row("A", 0), row("B", 0)])
    write(landing / "fire" / "incidents_20240502.csv", [row("A", 2)])
    write(landing / "fire" / "incidents_20240601.csv", [row("C", 1)])
    out = consolidate(load_registry(), landing, date(2024, 5, 31))
    assert [p.name for p in out] == ["incidents_20240502.csv"]
    assert sorted(p.name for p in (landing / "fire").iterdir()) == [
        "incidents_20240502.csv", "incidents_20240601.csv"]
    with out[0].open() as fh:
        rows = {r["INCIDENT_ID"]: r["CASUALTIES"] for r in csv.DictReader(fh)}
    assert rows == {"A": "2", "B": "0"}
