"""data.police.uk street-level downloads, exactly as published, through the real ingest and dbt.

The 24 monthly City of London files of ../shared/realdata/police_uk (provenance and dirt in the
README there; read in place, never copied into the repository) land in landing/police/ under
their own names, beside a partner crimes extract for one month made from one of them (no
anti-social behaviour, no ward codes). `landing.discover` and `ingest.process` load them through
the Great Expectations gate; dbt builds the police models over a deployment that onboards the
City of London and five boroughs. Every expected figure is computed here from the CSV rows with
the csv module, never copied from a run.

The deployment's reference data (its areas, and the real LSOA -> ward lookup) is a
CSP_REFERENCE_DIR folder, loaded as the warehouse DAG's `prepare` task loads it before dbt.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from csp_pipeline.core.reference import load_deployment
from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.settings import PROJECT_ROOT, Settings
from csp_pipeline.ingest.landing import discover
from csp_pipeline.ingest.promote import Outcome, process
from tests.support.warehouse import dbt, query, release_dbt_connection

REALDATA = PROJECT_ROOT.parent / "shared" / "realdata"
CITY = REALDATA / "police_uk" / "city-of-london"
SOUTH_YORKSHIRE = REALDATA / "police_uk" / "south-yorkshire" / "2021-01-south-yorkshire-street.csv"
LSOA_WARDS = REALDATA / "lookups" / "lsoa_to_ward_spatial_join_techinesis.csv"

# The deployment's areas: real ONS codes and names.
AREAS = {"E09000001": "City of London", "E09000007": "Camden", "E09000012": "Hackney",
         "E09000019": "Islington", "E09000030": "Tower Hamlets", "E09000033": "Westminster"}
PARTNER_MONTH = "2025-06"  # the month the force's partner extract also covers
PARTNER_FILE = "crimes_20250630.csv"
BUILD = ["build", "--select", "+cs_crime_monthly", "+dq_police_attribution"]
STREET_COLUMNS = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
                  "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category",
                  "Context"]
LSOA_NAME = re.compile(r"^(.*\S)\s+\d{3}[A-Z]$")  # police.uk: "<local authority> <nnnX>"


# ---------------------------------------------------------------- reading the files ourselves
def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def month_of(row: dict[str, str]) -> date:
    return date.fromisoformat(row["Month"] + "-01")


def force_of(row: dict[str, str]) -> str:
    return row["Reported by"] or row["Falls within"]


def area_of(row: dict[str, str]) -> str | None:
    """The onboarded area named in the row's LSOA name (no partner row here has a ward)."""
    m = LSOA_NAME.match(row["LSOA name"])
    names = {name.lower(): code for code, name in AREAS.items()}
    return names.get(m.group(1).lower()) if m else None


def place_of(row: dict[str, str]) -> str:
    if area_of(row):
        return "in area"
    return "unlocated" if not (row["LSOA code"] or row["LSOA name"]) else "outside areas"


def counted(street: list[dict], partner: list[dict]) -> list[dict]:
    """The records that count: a force's partner rows for the months the partner covers, its
    police.uk rows for the others."""
    covered = {(force_of(r), month_of(r)) for r in partner}
    return partner + [r for r in street if (force_of(r), month_of(r)) not in covered]


def partner_extract(street_rows: list[dict], header: list[str]) -> list[dict]:
    """A force's own nightly-style extract for the month: the police.uk rows without anti-social
    behaviour, with an incident id and recorded date, and no ward code (placed by LSOA name)."""
    rows = []
    for i, r in enumerate(r for r in street_rows if r["Crime type"] != "Anti-social behaviour"):
        rows.append({**{c: r[c] for c in STREET_COLUMNS}, "Incident ID": f"COLP{i:05d}",
                     "Recorded date": f"{PARTNER_MONTH}-{1 + i % 28:02d}", "Ward code": ""})
    assert list(rows[0]) == header
    return rows


def write_csv(path: Path, header: list[str], rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, header, lineterminator="\r\n")
        w.writeheader()
        w.writerows(rows)


# ---------------------------------------------------------------- the deployment and the run
def deployment_reference(root: Path) -> Path:
    """A CSP_REFERENCE_DIR folder that onboards AREAS (so the bundled Cleveland areas are not
    reported) and carries the real LSOA -> ward lookup."""
    folder = root / "reference"
    folder.mkdir()
    with (folder / "ref_areas.csv").open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["la_code", "la_name", "csp_name", "police_force", "fire_authority"])
        for code, name in AREAS.items():
            force = "City of London Police" if code == "E09000001" else "Metropolitan Police Service"
            w.writerow([code, name, f"{name} Community Safety Partnership", force,
                        "London Fire Commissioner"])
    shutil.copyfile(LSOA_WARDS, folder / "ref_lsoa_wards.csv")
    return folder


def settings_for(root: Path, reference: Path) -> Settings:
    return Settings.from_env({"CSP_DATA_DIR": str(root / "data"), "CSP_DEMO_MODE": "1",
                              "CSP_REFERENCE_DIR": str(reference)})


def build(settings: Settings, target: Path, *extra: str) -> None:
    """The warehouse DAG's steps: load the deployment's reference rows, then dbt."""
    with duckdb.connect(str(settings.warehouse)) as con:
        load_deployment(con, settings)
    dbt(settings.warehouse, *BUILD, *extra, target_dir=target)


def land(settings: Settings, files: list[Path]) -> Path:
    folder = settings.landing_dir / "police"
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copyfile(f, folder / f.name)  # a tmp landing zone: the downloads as they are
    return folder


def ingest(settings: Settings) -> dict[str, Outcome]:
    return {e.path.name: process(settings, e, "real-police-uk", None)
            for e in discover(load_registry(), settings.landing_dir, "police", None)}


@dataclass
class Run:
    settings: Settings
    outcomes: dict[str, Outcome]
    files: dict[str, list[dict]]  # landed file name -> its rows, read here
    street: list[dict]
    partner: list[dict]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    assert CITY.is_dir() and LSOA_WARDS.exists(), f"real data missing: {REALDATA} (README there)"
    return deployment_reference(tmp_path_factory.mktemp("deployment"))


@pytest.fixture(scope="module")
def run(tmp_path_factory, reference) -> Run:
    root = tmp_path_factory.mktemp("real_police_uk")
    settings = settings_for(root, reference)
    downloads = sorted(CITY.glob("*-street.csv"))
    assert len(downloads) == 24
    folder = land(settings, downloads)
    files = {f.name: read_csv(f) for f in downloads}
    crimes = load_registry().kind("police", "crimes")
    partner = partner_extract(files[f"{PARTNER_MONTH}-city-of-london-street.csv"],
                              crimes.column_names)
    write_csv(folder / PARTNER_FILE, crimes.column_names, partner)
    files[PARTNER_FILE] = read_csv(folder / PARTNER_FILE)
    outcomes = ingest(settings)
    build(settings, root / "target")
    street = [r for name, rows in files.items() if name != PARTNER_FILE for r in rows]
    return Run(settings, outcomes, files, street, files[PARTNER_FILE])


# ---------------------------------------------------------------- nothing lost, nothing merged
def test_every_row_of_every_file_is_loaded(run):
    assert set(run.outcomes) == set(run.files)
    raw = dict(query(run.settings.warehouse, """
        SELECT _source_file, count(*) FROM raw.police__street GROUP BY ALL
        UNION ALL SELECT _source_file, count(*) FROM raw.police__crimes GROUP BY ALL"""))
    ledger = dict(query(run.settings.warehouse, """
        SELECT source_file, rows FROM meta.deliveries WHERE status = 'loaded'"""))
    staged = dict(query(run.settings.warehouse, """
        SELECT source_file, count(*) FROM staging.stg_police__street GROUP BY ALL
        UNION ALL SELECT source_file, count(*) FROM staging.stg_police__crimes GROUP BY ALL"""))
    for name, rows in run.files.items():
        # + rows rejected, once row-level rejects exist (none is rejected in these files)
        assert run.outcomes[name].status == "loaded", (name, run.outcomes[name].reason)
        assert run.outcomes[name].rows == ledger[name] == raw[name] == staged[name] == len(rows), name
    assert sum(len(r) for r in run.files.values()) == len(run.street) + len(run.partner)


def normalised(row: dict[str, str]) -> tuple:
    """A CSV row as the warehouse types it: blanks NULL, Month a date, coordinates numbers."""
    v = {c: (row[c] or None) for c in STREET_COLUMNS}
    v["Month"] = month_of(row)
    for c in ("Longitude", "Latitude"):
        v[c] = float(v[c]) if v[c] else None
    return tuple(v[c] for c in STREET_COLUMNS)


def test_street_rows_arrive_as_published_duplicates_and_all(run):
    published = Counter(normalised(r) for r in run.street)
    crime_ids = Counter(r["Crime ID"] for r in run.street if r["Crime ID"])
    # the real dirt the README describes is there to be kept
    assert max(published.values()) > 1  # a row published twice, byte for byte
    assert max(crime_ids.values()) > 1  # a Crime ID on several rows
    assert any(not r["Crime ID"] and not r["Last outcome category"] for r in run.street)  # ASB
    staged = Counter(query(run.settings.warehouse, """
        SELECT crime_id, month, reported_by, force_area, longitude, latitude, location,
               lsoa_code, lsoa_name, crime_type, last_outcome_category, context
        FROM staging.stg_police__street"""))
    assert staged == published


# ---------------------------------------------------------------- attribution and the overlap rule
def test_crime_counts_per_area_month_and_type_follow_the_lsoa_names(run):
    expected: dict[tuple, int] = defaultdict(int)
    for r in counted(run.street, run.partner):
        if area_of(r):
            expected[(area_of(r), month_of(r), r["Crime type"])] += 1
    rows = query(run.settings.warehouse, """
        SELECT la_code, month, crime_type, incidents FROM marts.cs_crime_monthly""")
    actual = {(la, m, t): n for la, m, t, n in rows if la in AREAS}
    span = {m for _, m, _ in expected}
    types = {t for _, _, t, _ in rows}
    assert len(types) == 14
    assert {m for _, m, _ in actual} == {m for m in span}  # first to last month, none missing
    assert actual == {(la, m, t): expected.get((la, m, t), 0)
                      for la in AREAS for m in span for t in types}
    assert all(n == 0 for la, _, _, n in rows if la not in AREAS)  # areas not onboarded
    # the partner's month: its crimes, not police.uk's as well (it sent no anti-social behaviour)
    june = date.fromisoformat(f"{PARTNER_MONTH}-01")
    assert sum(actual[(la, june, "Anti-social behaviour")] for la in AREAS) == 0
    assert any(r["Crime type"] == "Anti-social behaviour" and area_of(r)
               for r in run.files[f"{PARTNER_MONTH}-city-of-london-street.csv"])


def test_unlocated_and_outside_rows_are_counted_per_force_and_month(run):
    covered = {(force_of(r), month_of(r)) for r in run.partner}
    expected: dict[tuple, Counter] = defaultdict(Counter)
    for source, rows in (("partner", run.partner), ("police.uk", run.street)):
        for r in rows:
            key = (force_of(r), month_of(r))
            c = expected[key]
            c[source] += 1
            if source == "partner" or key not in covered:
                c["counted"] += 1
                c[place_of(r)] += 1
            else:
                c["not counted"] += 1
    got = query(run.settings.warehouse, """
        SELECT force, month, counted_source, partner_records, police_uk_records, counted_records,
               in_areas, outside_areas, unlocated, not_counted
        FROM marts.dq_police_attribution""")
    assert {(f, m): rest for f, m, *rest in got} == {
        k: ["partner extract" if k in covered else "police.uk", c["partner"], c["police.uk"],
            c["counted"], c["in area"], c["outside areas"], c["unlocated"], c["not counted"]]
        for k, c in expected.items()}
    assert sum(c["unlocated"] for c in expected.values()) > 0
    assert sum(c["outside areas"] for c in expected.values()) > 0


def test_ward_level_view_uses_the_deployment_lsoa_lookup(run):
    ward_of = {r["lsoa_code"]: r["ward_code"] or None for r in read_csv(LSOA_WARDS)}
    expected = Counter((month_of(r), ward_of.get(r["LSOA code"]))
                       for r in counted(run.street, run.partner) if area_of(r))
    got = Counter({(m, w): n for m, w, n in query(run.settings.warehouse, """
        SELECT month, ward_code, count(*) FROM intermediate.int_crime__records_attributed
        WHERE is_counted AND la_code IS NOT NULL GROUP BY ALL""")})
    assert got == expected
    assert sum(n for (_, w), n in expected.items() if w) > 0.9 * sum(expected.values())


def test_status_says_which_source_each_month_rests_on(run):
    release_dbt_connection()
    done = subprocess.run([str(Path(sys.executable).with_name("csp")), "status"], text=True,
                          capture_output=True, cwd=PROJECT_ROOT, timeout=300,
                          env=dict(os.environ, CSP_DATA_DIR=str(run.settings.data_dir)))
    assert done.returncode == 0, done.stderr
    text = done.stdout
    line = re.compile(r"^\s+(?P<force>.+?)\s+(?P<month>\d{4}-\d{2})\s+"
                      r"(?P<source>partner extract|police\.uk)\s+(?P<numbers>[\d,\s]+)$")
    shown = {(m["force"], m["month"]): (m["source"], [int(n.replace(",", ""))
                                                      for n in m["numbers"].split()])
             for m in map(line.match, text.splitlines()) if m}
    months = sorted({f"{month_of(r):%Y-%m}" for r in run.street})[-12:]
    assert {k[1] for k in shown} == set(months)  # the last 12 months
    for month in months:
        rows = [r for r in run.street if r["Month"] == month]
        source, (n, in_areas, outside, unlocated, not_counted) = shown[("City of London Police",
                                                                       month)]
        if month == PARTNER_MONTH:
            rows, not_counted_expected = run.partner, len(rows)
        else:
            not_counted_expected = 0
        assert source == ("partner extract" if month == PARTNER_MONTH else "police.uk")
        assert (n, unlocated, not_counted) == (
            len(rows), sum(place_of(r) == "unlocated" for r in rows), not_counted_expected)
        assert in_areas + outside + unlocated == n


# ---------------------------------------------------------------- a later download of a month
def test_a_later_download_replaces_its_month_incrementally(tmp_path, reference):
    """police.uk re-publishes months with updated outcomes: the new download of a force's month
    replaces the earlier one, in raw, staging and the marts, in an incremental build, and a
    full refresh agrees."""
    settings = settings_for(tmp_path, reference)
    target = tmp_path / "target"
    first = [CITY / f"2024-{m:02d}-city-of-london-street.csv" for m in (1, 2, 3)]
    folder = land(settings, first)
    assert {o.status for o in ingest(settings).values()} == {"loaded"}
    build(settings, target)

    # The re-download of February: outcomes updated, a few rows gone.
    feb = read_csv(first[1])
    later = [dict(r, **{"Last outcome category": "Court result unavailable"})
             if r["Crime ID"] and i % 3 == 0 else r for i, r in enumerate(feb)][:-25]
    write_csv(folder / first[1].name, STREET_COLUMNS, later)
    outcomes = ingest(settings)
    assert outcomes[first[1].name].status == "loaded"
    assert {outcomes[f.name].status for f in (first[0], first[2])} == {"skipped"}
    build(settings, target)

    rows = read_csv(first[0]) + later + read_csv(first[2])
    staged = Counter(query(settings.warehouse, """
        SELECT crime_id, month, reported_by, force_area, longitude, latitude, location,
               lsoa_code, lsoa_name, crime_type, last_outcome_category, context
        FROM staging.stg_police__street"""))
    assert staged == Counter(normalised(r) for r in rows)
    expected: dict[tuple, int] = defaultdict(int)
    for r in rows:
        if area_of(r):
            expected[(area_of(r), month_of(r), r["Crime type"])] += 1
    marts_sql = "SELECT * EXCLUDE (processed_at) FROM intermediate.int_crime__monthly_counts"
    incremental = set(query(settings.warehouse, marts_sql))
    assert {(la, m, t): n for la, m, t, n in incremental if n} == dict(expected)
    mart = set(query(settings.warehouse, "SELECT * FROM marts.cs_crime_monthly"))
    dq = set(query(settings.warehouse, "SELECT * FROM marts.dq_police_attribution"))

    build(settings, target, "--full-refresh")
    assert set(query(settings.warehouse, marts_sql)) == incremental
    assert set(query(settings.warehouse, "SELECT * FROM marts.cs_crime_monthly")) == mart
    assert set(query(settings.warehouse, "SELECT * FROM marts.dq_police_attribution")) == dq


# ---------------------------------------------------------------- a partner who added columns
def test_south_yorkshire_download_with_added_columns_loads(tmp_path, reference):
    settings = settings_for(tmp_path, reference)
    land(settings, [SOUTH_YORKSHIRE])
    rows = read_csv(SOUTH_YORKSHIRE)
    outcome = ingest(settings)[SOUTH_YORKSHIRE.name]
    assert outcome.status == "loaded", outcome.reason
    assert (outcome.rows, outcome.rows_rejected) == (len(rows), 0)  # nothing lost
    assert any("ignored: ['COLOUR', 'MSOA']" in w for w in outcome.warnings)
    build(settings, tmp_path / "target")
    assert Counter(query(settings.warehouse, """
        SELECT crime_id, month, reported_by, force_area, longitude, latitude, location,
               lsoa_code, lsoa_name, crime_type, last_outcome_category, context
        FROM staging.stg_police__street""")) == Counter(normalised(r) for r in rows)
    places = Counter(place_of(r) for r in rows)
    assert query(settings.warehouse, """
        SELECT in_areas, outside_areas, unlocated FROM marts.dq_police_attribution""") == [
        (places["in area"], places["outside areas"], places["unlocated"])]
