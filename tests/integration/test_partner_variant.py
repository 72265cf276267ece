"""A new partner layout is configuration only: this test writes a deployment folder (a feeds.yml
with a variant of fire/incidents) and a small export in another layout, Latin-1, with its own
file name, codes instead of the contract's labels, a day-first date, council names instead of
codes and ward names in lower case, looked up in the (bundled) reference data. Nothing else is
registered, patched or imported: the real gate and promotion (ingest.process) load it.
"""

from __future__ import annotations

import csv
from datetime import datetime

import pytest
import yaml

from csp_pipeline.core.reference import bundled_rows
from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.settings import Settings
from csp_pipeline.ingest.landing import match
from csp_pipeline.ingest.promote import process
from tests.support.warehouse import query

HEADER = ["Job No", "Date Logged", "Council", "Ward Name", "Call Type", "Premises", "Started",
          "Deaths", "Injuries", "Rescued", "Notes"]
ROWS = [
    ["1001", "03/05/2024 18:40", "Hartlepool", "burn valley", "SEC", "BIN", "DEL", "", "", "",
     "wheelie bin, café car park"],
    ["1002", "04/05/2024 02:05", "Hartlepool", "SEATON", "PRI", "HOUSE", "ACC", "0", "1", "2",
     "kitchen fire, £500 damage"],
    ["1003", "11/05/2024 13:00", "Stockton-on-Tees", "Newtown", "AFA", "SHOP", "", "", "", "",
     ""],
    ["1004", "28/05/2024 23:59", "Middlesbrough", "Linthorpe", "PRI", "CAR", "UNK", "", "", "",
     "car"],
    ["1005", "31/05/2024 07:15", "Redcar and Cleveland", "Zetland", "SSC", "FIELD", "", "", "",
     "1", "animal rescue"],
]
# What the partner's codes mean, as its data dictionary would say.
TYPES = {"PRI": "Primary fire", "SEC": "Secondary fire", "CHI": "Chimney fire",
         "AFA": "False alarm", "SSC": "Non-fire incident"}
PREMISES = {"HOUSE": "Dwelling", "SHOP": "Other building", "CAR": "Road vehicle",
            "FIELD": "Grassland/refuse", "BIN": "Grassland/refuse"}
STARTED = {"ACC": "Accidental", "DEL": "Deliberate", "UNK": "Not known"}


def sql_map(mapping: dict[str, str]) -> str:
    return "MAP {" + ", ".join(f"'{k}': '{v}'" for k, v in mapping.items()) + "}"


VARIANT = {
    "files": "callouts_{year}-{month}.csv",
    "encoding": "latin-1",
    "header": HEADER,
    "columns": {
        "INCIDENT_ID": """'CB-' || "Job No\"""",
        "CALL_DATETIME": """strftime(try_strptime("Date Logged", '%d/%m/%Y %H:%M'),
                                     '%Y-%m-%dT%H:%M:%S')""",
        "FRS_NAME": "'Cleveland Fire Brigade'",
        "LA_CODE": """(SELECT a.la_code FROM ref_areas AS a WHERE a.la_name = "Council")""",
        "WARD_CODE": """(SELECT w.ward_code FROM ref_wards AS w
                         JOIN ref_areas AS a ON a.la_code = w.la_code
                         WHERE a.la_name = "Council" AND lower(w.ward_name) = lower("Ward Name"))""",
        "WARD_NAME": '"Ward Name"',
        "INCIDENT_TYPE": f'{sql_map(TYPES)}["Call Type"]',
        "PROPERTY_CATEGORY": f'{sql_map(PREMISES)}["Premises"]',
        "ACCIDENTAL_OR_DELIBERATE": f'{sql_map(STARTED)}["Started"]',
        "FATALITIES": """coalesce("Deaths", '0')""",
        "CASUALTIES": """coalesce("Injuries", '0')""",
        "RESCUES": """coalesce("Rescued", '0')""",
    },
}


@pytest.fixture
def deployment(tmp_path, monkeypatch):
    folder = tmp_path / "deployment"
    folder.mkdir()
    (folder / "feeds.yml").write_text(yaml.safe_dump(
        {"feeds": {"fire": {"kinds": {"incidents": {"variants": {"callouts": VARIANT}}}}}}))
    monkeypatch.setenv("CSP_CONFIG_DIR", str(folder))
    return folder


def test_a_variant_added_with_files_only_loads(tmp_path, deployment):
    settings = Settings.from_env({
        "CSP_DATA_DIR": str(tmp_path / "data"), "CSP_LANDING_DIR": str(tmp_path / "landing"),
        "CSP_WAREHOUSE": str(tmp_path / "warehouse.duckdb"), "CSP_CONFIG_DIR": str(deployment)})
    landed = settings.landing_dir / "fire" / "callouts_2024-05.csv"
    landed.parent.mkdir(parents=True)
    with landed.open("w", encoding="latin-1", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows([HEADER, *ROWS])

    extract = match(load_registry(), "fire", landed)
    assert (extract.variant.name, extract.extract_date, extract.stream) == (
        "callouts", "2024-05-31", "callouts")
    outcome = process(settings, extract, "variant-run", b"k")
    assert (outcome.status, outcome.rows) == ("loaded", len(ROWS)), outcome.reason

    areas = {a["la_name"]: a["la_code"] for a in bundled_rows("ref_areas")}
    wards = {(w["la_code"], w["ward_name"].lower()): w["ward_code"]
             for w in bundled_rows("ref_wards")}
    expected = []
    for i, r in enumerate(ROWS, start=1):
        v = dict(zip(HEADER, r, strict=True))
        la = areas[v["Council"]]
        expected.append((
            i, f"CB-{v['Job No']}", datetime.strptime(v["Date Logged"], "%d/%m/%Y %H:%M"),
            "Cleveland Fire Brigade", la, wards[(la, v["Ward Name"].lower())], v["Ward Name"],
            None, TYPES[v["Call Type"]], PREMISES[v["Premises"]], STARTED.get(v["Started"]),
            int(v["Deaths"] or 0), int(v["Injuries"] or 0), int(v["Rescued"] or 0)))
    assert query(settings.warehouse, """
        SELECT _row_number, incident_id, call_datetime, frs_name, la_code, ward_code, ward_name,
               lsoa_code, incident_type, property_category, accidental_or_deliberate,
               fatalities, casualties, rescues
        FROM raw.fire__incidents ORDER BY _row_number""") == expected
