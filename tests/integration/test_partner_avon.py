"""The Avon partner example (examples/partners/avon_fire) on the real file Avon Fire & Rescue
Service published: Windows-1252, CRLF, 36 columns of its own, dropped into landing/fire/ under its
own name. It goes through the real gate and promotion (ingest.process, real GE and DuckDB) with
CSP_CONFIG_DIR pointing at the example, then real dbt builds the fire marts; the marts are compared
with figures computed here from the CSV rows in plain Python (csv module, cp1252).
"""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import duckdb
import pytest

from csp_pipeline.core.reference import bundled_rows, load_deployment
from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.settings import PROJECT_ROOT, Settings
from csp_pipeline.ingest.landing import Extract, match
from csp_pipeline.ingest.promote import Outcome, process, release
from csp_pipeline.ingest.quarantine import rejects_path
from tests.support.warehouse import dbt, query

AVON_FILE = (PROJECT_ROOT.parent / "shared" / "realdata" / "fire" / "avon_frs"
             / "afrs_attended_incidents_july_2014.csv")
EXAMPLE = PROJECT_ROOT / "examples" / "partners" / "avon_fire"
MONTH = date(2014, 7, 1)
KEY = b"avon-test-pseudonym-key"
FIRE_MARTS = ["cs_fire_monthly_performance", "cs_fire_hotspot_wards_monthly",
              "cs_fire_economic_cost_monthly"]

# What the service's labels mean (its published categories; contracts/feeds.md for ours).
AREAS = {"BANES": "E06000022", "BRISTOL": "E06000023", "N SOM": "E06000024",
         "S GLOS": "E06000025"}
BUILDINGS = {"Dwelling": "Dwelling", "NonResidential": "Other building",
             "OtherResidential": "Other building", "RoadVehicle": "Road vehicle"}


# ------------------------------------------------------------------ the file, read in Python
def avon_rows() -> list[dict[str, str]]:
    with AVON_FILE.open(encoding="cp1252", newline="") as fh:
        return list(csv.DictReader(fh))


def example_reference(name: str) -> list[dict[str, str]]:
    with (EXAMPLE / "reference" / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


WARDS = {(w["la_code"], w["ward_name"].upper()): w for w in example_reference("ref_wards")}


def area(r: dict) -> str:
    return AREAS[r["Unitary Authority"]]


def ward_code(r: dict) -> str:
    return WARDS[(area(r), r["Ward"])]["ward_code"]


def fire_type(r: dict) -> str | None:
    """Primary, secondary or chimney fire; None for false alarms and special services."""
    if r["Incident Category"] != "Fire":
        return None
    if r["Is Fire Confined to Chimney?"] == "yes":
        return "Chimney fire"
    return "Primary fire" if r["Is Primary Fire"] == "yes" else "Secondary fire"


def incident_type(r: dict) -> str:
    return fire_type(r) or {"False Alarm": "False alarm",
                            "Special Service": "Non-fire incident"}[r["Incident Category"]]


def property_category(r: dict) -> str:
    if r["Property Category"] in BUILDINGS:
        return BUILDINGS[r["Property Category"]]
    path = r["Property Type"].lower()
    if r["Property Category"] in ("Outdoor", "OutdoorStructure") and (
            path.startswith("outdoor > grassland") or "refuse" in path or "rubbish" in path
            or "wheelie bin" in path):
        return "Grassland/refuse"
    return "Other outdoor"


def motive(r: dict) -> str | None:
    cause = r["Cause of Fire"]
    return "Deliberate" if cause.startswith("Deliberate") else cause or None


def deliberate(r: dict) -> bool:
    return motive(r) == "Deliberate"


def called(r: dict) -> datetime:
    when = " ".join(r[c] for c in ("Day", "Month", "Year", "Time of Call"))
    return datetime.strptime(when, "%d %B %Y %H:%M:%S")


def count(r: dict, column: str) -> int:
    return int(r[column] or 0)  # blank unless a victim was involved


def rnd(num: int, den: int) -> int:
    q = Fraction(num, den)
    return int((Decimal(q.numerator) / Decimal(q.denominator)).quantize(Decimal(1), ROUND_HALF_UP))


# ------------------------------------------------------------------ one run, shared
@dataclass
class AvonRun:
    settings: Settings
    extract: Extract
    outcome: Outcome


def avon_env(root: Path) -> dict[str, str]:
    return {"CSP_DATA_DIR": str(root / "data"), "CSP_LANDING_DIR": str(root / "landing"),
            "CSP_WAREHOUSE": str(root / "warehouse.duckdb"), "CSP_CONFIG_DIR": str(EXAMPLE)}


def land_and_process(root: Path, source: Path, name: str | None = None) -> AvonRun:
    settings = Settings.from_env(avon_env(root))
    landed = settings.landing_dir / "fire" / (name or source.name)
    landed.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, landed)  # the bytes as published
    extract = match(load_registry(), "fire", landed)
    assert extract is not None, f"{landed.name} is not matched by the example's variant"
    return AvonRun(settings, extract, process(settings, extract, "avon-run", KEY))


@pytest.fixture(scope="module")
def deployment():
    """CSP_CONFIG_DIR set for the module, as a deployment sets it for every process."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CSP_CONFIG_DIR", str(EXAMPLE))
        yield


@pytest.fixture(scope="module")
def avon(tmp_path_factory, deployment) -> AvonRun:
    run = land_and_process(tmp_path_factory.mktemp("avon"), AVON_FILE)
    with duckdb.connect(str(run.settings.warehouse)) as con:
        load_deployment(con, run.settings)  # as the warehouse DAG does before dbt
    dbt(run.settings.warehouse, "build", "--select", *(f"+{m}" for m in FIRE_MARTS))
    return run


# ------------------------------------------------------------------ loading
def test_the_file_is_recognised_by_its_own_name(avon):
    e = avon.extract
    assert (e.kind.id, e.variant.name, e.extract_date, e.stream, e.encoding) == (
        "fire__incidents", "avon", "2014-07-31", "avon", "cp1252")


def test_nothing_is_lost_every_row_loaded_in_file_order(avon):
    rows = avon_rows()
    assert avon.outcome.status == "loaded", avon.outcome.reason
    assert avon.outcome.warnings == [] and avon.outcome.rejects == []
    rejected = query(avon.settings.warehouse, "SELECT count(DISTINCT row_number) FROM "
                     "meta.rejected_rows WHERE source_file = ?", [AVON_FILE.name])[0][0]
    assert rejected == avon.outcome.rows_rejected == 0  # every real row maps onto the contract
    assert avon.outcome.rows + rejected == len(rows)
    loaded = query(avon.settings.warehouse, """
        SELECT _row_number, incident_id, _source_file, _extract_date, _stream
        FROM raw.fire__incidents ORDER BY _row_number""")
    assert loaded == [(i, r["Incident Number"], AVON_FILE.name, MONTH.replace(day=31), "avon")
                      for i, r in enumerate(rows, start=1)]


def test_the_same_bytes_again_are_skipped(avon):
    again = process(avon.settings, avon.extract, "avon-again", KEY)
    assert again.status == "skipped"
    assert query(avon.settings.warehouse, "SELECT count(*) FROM raw.fire__incidents")[0][0] == \
        len(avon_rows())


def test_incidents_by_area_type_property_and_motive(avon):
    expected = Counter((area(r), incident_type(r), property_category(r), motive(r))
                       for r in avon_rows())
    actual = query(avon.settings.warehouse, """
        SELECT la_code, incident_type, property_category, accidental_or_deliberate, count(*)
        FROM staging.stg_fire__incidents GROUP BY ALL""")
    assert {row[:4]: row[4] for row in actual} == dict(expected)


def test_every_incident_has_its_ward_and_casualty_counts(avon):
    expected = {r["Incident Number"]: (
        area(r), ward_code(r), r["Ward"], called(r), count(r, "No. of fatalities"),
        count(r, "No. of injuries"), count(r, "No. of rescues")) for r in avon_rows()}
    actual = query(avon.settings.warehouse, """
        SELECT incident_id, la_code, ward_code, ward_name, call_datetime, fatalities,
               casualties, rescues
        FROM staging.stg_fire__incidents""")
    assert {row[0]: row[1:] for row in actual} == expected


def test_fire_monthly_performance(avon):
    rows = avon_rows()
    areas = {a["la_code"]: a["la_name"] for a in example_reference("ref_areas")}
    expected = set()
    for la, name in areas.items():
        fires = [r for r in rows if area(r) == la and fire_type(r)]
        adf = [r for r in fires if fire_type(r) == "Primary fire"
               and r["Property Category"] == "Dwelling" and not deliberate(r)]
        values = {
            "Total Fires": len(fires),
            "Total Deliberate Fires": sum(deliberate(r) for r in fires),
            "Deliberate Primary Fires": sum(deliberate(r) for r in fires
                                            if fire_type(r) == "Primary fire"),
            "Deliberate Secondary Fires": sum(deliberate(r) for r in fires
                                              if fire_type(r) == "Secondary fire"),
            "Accidental Dwelling Fires": len(adf),
            "Accidental Dwelling Fire Fatalities": sum(count(r, "No. of fatalities") for r in adf),
            "Accidental Dwelling Fire Injuries": sum(count(r, "No. of injuries") for r in adf),
        }
        expected |= {(la, name, MONTH, indicator, value, None, None, None)
                     for indicator, value in values.items()}
    actual = set(query(avon.settings.warehouse, """
        SELECT la_code, la_name, month, indicator, value, value_previous_year, pct_change,
               direction FROM marts.cs_fire_monthly_performance"""))
    assert actual == expected  # the four Avon areas only: the Cleveland demo areas are gone


def test_fire_hotspot_wards(avon):
    fires = [r for r in avon_rows() if fire_type(r)]
    by_ward = Counter(ward_code(r) for r in fires)
    deliberate_by_ward = Counter(ward_code(r) for r in fires if deliberate(r))
    expected = set()
    for la in AREAS.values():
        wards = sorted((w for w in WARDS.values() if w["la_code"] == la),
                       key=lambda w: (-by_ward[w["ward_code"]], w["ward_name"]))
        area_fires = sum(by_ward[w["ward_code"]] for w in wards)
        top5 = sum(by_ward[w["ward_code"]] for w in wards[:5])
        share = rnd(100 * top5, area_fires) if area_fires else None
        expected |= {(la, MONTH, w["ward_code"], w["ward_name"], by_ward[w["ward_code"]],
                      deliberate_by_ward[w["ward_code"]], rank, area_fires, share)
                     for rank, w in enumerate(wards, start=1)}
    actual = set(query(avon.settings.warehouse, """
        SELECT la_code, month, ward_code, ward_name, fires, deliberate_fires, ward_rank,
               area_fires, top5_share_pct FROM marts.cs_fire_hotspot_wards_monthly"""))
    assert actual == expected


def test_fire_economic_cost(avon):
    costs = {(c["incident_type"], c["property_category"]): c
             for c in bundled_rows("ref_fire_unit_costs")}
    fires: Counter = Counter()
    gbp: Counter = Counter()
    for r in avon_rows():
        if fire_type(r) and deliberate(r):
            cost = (costs.get((fire_type(r), property_category(r)))
                    or costs[(fire_type(r), "")])
            for category in (cost["cost_category"], "Total"):
                fires[(area(r), category)] += 1
                gbp[(area(r), category)] += int(cost["unit_cost_gbp"])
    categories = ["Buildings & Vehicles", "All others fires not involving Buildings or Vehicles",
                  "Total"]
    expected = {(la, MONTH, c, fires[(la, c)], gbp[(la, c)])
                for la in AREAS.values() for c in categories}
    actual = set(query(avon.settings.warehouse, """
        SELECT la_code, month, cost_category, deliberate_fires, cost_gbp
        FROM marts.cs_fire_economic_cost_monthly"""))
    assert actual == expected


# ------------------------------------------------------------------ a label the example lacks
def test_an_unknown_label_rejects_its_row_kept_as_delivered(tmp_path, deployment):
    """A later file naming an area the example does not know (so its ward cannot be looked up
    either): that row is rejected with the row, columns, rules and values, kept as delivered in
    the partner's encoding (ready to fix and release), and the rest of the file loads."""
    rows = avon_rows()
    row = next(i for i, r in enumerate(rows, start=1)  # a Bristol row with an en dash (0x96)
               if r["Unitary Authority"] == "BRISTOL" and "\u2013" in r["Cause of Fire"])
    lines = AVON_FILE.read_bytes().split(b"\r\n")
    lines[row] = lines[row].replace(b",BRISTOL,", b",BRISTOL NORTH,", 1)
    source = tmp_path / "source.csv"
    source.write_bytes(b"\r\n".join(lines))
    run = land_and_process(tmp_path, source, "afrs_attended_incidents_august_2014.csv")

    assert (run.outcome.status, run.outcome.rows, run.outcome.rows_rejected) == (
        "loaded", len(rows) - 1, 1)
    assert any("'LA_CODE'" in r and "BRISTOL NORTH" in r and f"rows: {row}" in r
               for r in run.outcome.rejects), run.outcome.rejects
    recorded = query(run.settings.warehouse, """SELECT row_number, column_name, value
        FROM meta.rejected_rows WHERE source_file = ?""", [run.extract.path.name])
    assert set(recorded) == {(row, "LA_CODE", "BRISTOL NORTH"),
                             (row, "WARD_CODE", rows[row - 1]["Ward"])}
    assert query(run.settings.warehouse, "SELECT count(*) FROM raw.fire__incidents "
                 "WHERE incident_id = ?", [rows[row - 1]["Incident Number"]]) == [(0,)]

    with rejects_path(run.settings, run.extract).open(encoding="cp1252", newline="") as fh:
        kept = list(csv.reader(fh))
    assert kept == [list(rows[0]), [*{**rows[row - 1], "Unitary Authority": "BRISTOL NORTH"}
                                    .values()]]

    # Fixed and released (`csp release`), its row is added to the delivery: nothing lost.
    rejects = rejects_path(run.settings, run.extract)
    rejects.write_bytes(rejects.read_bytes().replace(b",BRISTOL NORTH,", b",BRISTOL,"))
    again = match(load_registry(), "fire", release(run.settings, rejects))
    assert (again.variant.name, again.supplementary, again.encoding) == ("avon", True, "cp1252")
    added = process(run.settings, again, "release-run", KEY)
    assert (added.status, added.rows, added.rows_rejected) == ("loaded", 1, 0)
    assert query(run.settings.warehouse, "SELECT count(*), count(DISTINCT incident_id) FROM "
                 "raw.fire__incidents") == [(len(rows), len(rows))]
