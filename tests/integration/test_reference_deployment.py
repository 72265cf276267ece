"""A new area is reference data, not code: a deployment's reference folder (CSP_REFERENCE_DIR)
onboards the four Avon unitary authorities. Through the real ingest (DuckDB, Great Expectations)
the gate accepts their LA codes and refuses Cleveland's; real dbt-core builds the marts for the
Avon areas alone (the bundled Cleveland areas appear nowhere).

LA codes and names are ONS's; the wards and populations are illustrative, made up for this test.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from csp_pipeline.core.reference import bundled_rows, load_deployment
from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.settings import Settings
from csp_pipeline.ingest.data_docs import build_data_docs, data_docs_index
from csp_pipeline.ingest.landing import match
from csp_pipeline.ingest.promote import process
from tests.support.rows import Row, valid_rows, write_extract
from tests.support.warehouse import dbt, query

AVON = {"E06000022": "Bath and North East Somerset", "E06000023": "Bristol, City of",
        "E06000024": "North Somerset", "E06000025": "South Gloucestershire"}
# Illustrative wards: three per area, codes and names made up.
WARDS = {f"E0599{n:04d}": (f"Illustrative ward {n}", la)
         for n, la in enumerate(sorted(AVON) * 3, start=1)}
CLEVELAND = {r["la_code"] for r in bundled_rows("ref_areas")}
FIRE = load_registry().kind("fire", "incidents")
NIGHT = date(2024, 5, 31)
FIRE_TYPES = {"Primary fire", "Secondary fire", "Chimney fire"}
KEY = b"reference-test-key"


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])


@pytest.fixture(scope="module")
def avon(tmp_path_factory) -> Settings:
    root = tmp_path_factory.mktemp("avon")
    ref = root / "reference"
    ref.mkdir()
    write_csv(ref / "ref_areas.csv", ["la_code", "la_name", "csp_name", "police_force",
                                      "fire_authority"],
              [[code, name, f"{name} Community Safety Partnership", "Avon and Somerset Police",
                "Avon Fire Authority"] for code, name in AVON.items()])
    write_csv(ref / "ref_wards.csv", ["ward_code", "ward_name", "la_code"],
              [[code, name, la] for code, (name, la) in WARDS.items()])
    write_csv(ref / "ref_populations.csv", ["la_code", "year", "population_total",
                                            "population_10_17"],
              [[la, year, 200_000 + 1000 * i, 18_000 + 100 * i]
               for i, la in enumerate(AVON) for year in (2023, 2024)])
    return Settings.from_env({
        "CSP_DATA_DIR": str(root / "data"), "CSP_WAREHOUSE": str(root / "warehouse.duckdb"),
        "CSP_LANDING_DIR": str(root / "landing"), "CSP_QUARANTINE_DIR": str(root / "quarantine"),
        "CSP_REFERENCE_DIR": str(ref), "CSP_DEMO_MODE": "1"})


def fires(n: int, extract: date, areas: list[str], start: int = 0) -> list[Row]:
    """Valid incident rows placed in these areas' wards (any ward of the area)."""
    rows = valid_rows(FIRE, n, extract, start)
    for i, row in enumerate(rows):
        la = areas[i % len(areas)]
        row["LA_CODE"] = la
        row["WARD_CODE"] = [w for w, (_, area) in WARDS.items() if area == la][i % 3]
    return rows


def deliver(settings: Settings, extract: date, rows: list[Row]):
    path = write_extract(settings.landing_dir, FIRE, extract, rows)
    return process(settings, match(load_registry(), "fire", path), "reference-test", KEY)


@pytest.fixture(scope="module")
def loaded(avon: Settings) -> list[Row]:
    rows = fires(60, NIGHT, sorted(AVON)[:3])  # South Gloucestershire: no fire delivered
    outcome = deliver(avon, NIGHT, rows)
    assert (outcome.status, outcome.rows) == ("loaded", len(rows)), outcome.reason
    return rows


def test_the_gate_accepts_the_deployment_areas_and_refuses_the_bundled_ones(avon, loaded):
    day = date(2024, 5, 30)
    rows = fires(12, day, sorted(AVON), start=100)
    rows[2]["LA_CODE"] = "E06000001"  # Hartlepool: bundled, but not an area of this deployment
    outcome = deliver(avon, day, rows)
    assert outcome.status == "quarantined"
    report = json.loads((avon.quarantine_dir / "fire" / FIRE.file_name(day.isoformat()))
                        .with_suffix(".report.json").read_text())
    (failure,) = [f for f in report["failures"] if f["severity"] == "blocking"]
    assert (failure["column"], failure["rule"], failure["rows"], failure["sample_values"]) == (
        "LA_CODE", "value in the reference data (ref_areas.la_code)", [3], ["E06000001"])
    # Data Docs render a suite whose code list is an expectation parameter.
    build_data_docs(avon.data_dir / "gx")
    assert data_docs_index(avon.data_dir / "gx").exists()


@pytest.fixture(scope="module")
def built(avon: Settings, loaded: list[Row]) -> Path:
    with duckdb.connect(str(avon.warehouse)) as con:  # the warehouse DAG's `prepare` step
        counts = load_deployment(con, avon)
    assert counts["ref_areas"] == len(AVON) and counts["ref_wards"] == len(WARDS)
    dbt(avon.warehouse, "build", "--select", "+cs_fire_monthly_performance",
        "+cs_fire_hotspot_wards_monthly", "+cs_crime_monthly", "+yj_first_time_entrants")
    return avon.warehouse


def test_dbt_builds_the_marts_for_the_deployment_areas_only(built, loaded):
    assert dict(query(built, "SELECT la_code, la_name FROM reference.ref_areas")) == AVON
    wards = query(built, "SELECT ward_code, ward_name, la_code FROM reference.ref_wards")
    assert {w: (name, la) for w, name, la in wards} == WARDS  # no bundled Cleveland ward left
    assert {la for (la,) in query(built, "SELECT DISTINCT la_code FROM reference.ref_populations")
            } == set(AVON)

    grid = query(built, "SELECT DISTINCT la_code FROM marts.cs_fire_monthly_performance")
    assert {la for (la,) in grid} == set(AVON)  # every area served, with or without fires
    assert not CLEVELAND & {la for (la,) in query(
        built, "SELECT DISTINCT la_code FROM marts.cs_fire_hotspot_wards_monthly")}


def test_the_fire_figures_of_the_new_areas_match_an_independent_count(built, loaded):
    expected = Counter((r["LA_CODE"], datetime.fromisoformat(r["CALL_DATETIME"]).date()
                        .replace(day=1)) for r in loaded if r["INCIDENT_TYPE"] in FIRE_TYPES)
    got = {(la, month): value for la, month, value in query(built, """
        SELECT la_code, month, value FROM marts.cs_fire_monthly_performance
        WHERE indicator = 'Total Fires'""")}
    assert got == {(la, month): expected.get((la, month), 0) for la, month in got}
    assert set(expected) <= set(got) and sum(got.values()) == sum(expected.values()) > 0
    hotspots = Counter()
    for r in loaded:
        if r["INCIDENT_TYPE"] in FIRE_TYPES:
            hotspots[r["WARD_CODE"]] += 1
    got_wards = Counter()
    for ward, fires_ in query(built, "SELECT ward_code, fires FROM "
                                     "marts.cs_fire_hotspot_wards_monthly"):
        got_wards[ward] += fires_
    assert +got_wards == hotspots
