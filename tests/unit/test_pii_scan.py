"""The PII-leak scanner finds identifiers planted in a DuckDB table, a Parquet file, a log file,
the Airflow SQLite database and a quarantine report, and does not flag pseudonyms, generalised
values or ordinary vocabulary."""

from __future__ import annotations

import csv
import hashlib
import hmac
import sqlite3
from pathlib import Path

import duckdb
import pytest

from csp_pipeline.core.settings import Settings
from csp_pipeline.privacy.leak_scan import identifiers_from_extracts, scan

CHILD = {"CHILD_ID": "HP000777", "FORENAME": "Zebedee", "SURNAME": "Quixwell",
         "DATE_OF_BIRTH": "2009-03-17", "SEX": "M", "ETHNICITY": "White",
         "POSTCODE": "TS24 8AB", "LA_CODE": "E06000001", "CARE_STATUS": "NONE",
         "UPN": "A801000000777"}
# identifiers that are also ordinary values elsewhere: a surname that is a ward name, a birth
# date that is also an offence date, a birth date on the 1st (= its generalised birth month)
OTHER = {**CHILD, "CHILD_ID": "HP000778", "FORENAME": "Yolanda", "SURNAME": "Hart",
         "DATE_OF_BIRTH": "2010-06-01", "POSTCODE": "TS25 1XY", "UPN": ""}
THIRD = {**CHILD, "CHILD_ID": "HP000779", "FORENAME": "Xanthe", "SURNAME": "Quixwell",
         "DATE_OF_BIRTH": "2008-02-14", "POSTCODE": "", "UPN": ""}
# a surname that is a word of the dbt project's own text, a birth date that is a month's end
FOURTH = {**CHILD, "CHILD_ID": "HP000780", "FORENAME": "Wilhelmina", "SURNAME": "Young",
          "DATE_OF_BIRTH": "2007-04-30", "POSTCODE": "", "UPN": ""}


def write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    s = Settings.from_env({"CSP_DATA_DIR": str(tmp_path / "data"),
                           "AIRFLOW_HOME": str(tmp_path / "airflow")})
    write(s.landing_dir / "youth_justice" / "children_20240531.csv", [CHILD, OTHER, THIRD, FOURTH])
    write(s.landing_dir / "youth_justice" / "offences_20240531.csv", [
        {"OFFENCE_ID": "OF1", "CHILD_ID": "HP000777", "OFFENCE_DATE": "2008-02-14",
         "OFFENCE_CATEGORY": "Robbery", "GRAVITY_SCORE": "5", "OUTCOME_ID": "OC1"}])
    write(s.landing_dir / "fire" / "incidents_20240531.csv", [
        {"INCIDENT_ID": "F1", "CALL_DATETIME": "2024-05-30T10:00:00", "FRS_NAME": "Cleveland",
         "LA_CODE": "E06000001", "WARD_CODE": "E05008946", "WARD_NAME": "Hart",
         "LSOA_CODE": "", "INCIDENT_TYPE": "Primary fire", "PROPERTY_CATEGORY": "Dwelling",
         "ACCIDENTAL_OR_DELIBERATE": "Accidental", "FATALITIES": "0", "CASUALTIES": "0",
         "RESCUES": "0"}])
    return s


def pseudonym(value: str) -> str:
    return hmac.new(b"demo", value.encode(), hashlib.sha256).hexdigest()


def clean_outputs(s: Settings) -> None:
    """What the pipeline should write: pseudonyms, birth months, postcode districts, ward names,
    a date that is an offence date, Hartlepool (which contains the ward name Hart)."""
    with duckdb.connect(str(s.warehouse)) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.youth_justice__children AS SELECT * FROM (VALUES "
                    f"('{pseudonym('HP000777')}', DATE '2009-03-01', 'TS24', '{pseudonym('A801000000777')}'),"
                    f"('{pseudonym('HP000778')}', DATE '2010-06-01', 'TS25', NULL)) "
                    "v(child_id_pseudonym, birth_month, postcode_district, upn_pseudonym)")
        con.execute("CREATE TABLE raw.offences AS SELECT DATE '2008-02-14' AS offence_date, "
                    "'Hart' AS ward_name, 'Hartlepool' AS la_name")
    log = s.airflow_home / "logs" / "dag_id=csp_feed_youth_justice" / "attempt=1.log"
    log.parent.mkdir(parents=True)
    log.write_text(f"INFO - loaded youth_justice/children_20240531.csv: 3 rows; "
                   f"child {pseudonym('HP000777')} in ward Hart, Hartlepool; born 2009-03\n")


def test_identifiers_from_extracts_collects_pii_columns_less_ordinary_values(settings):
    ids = identifiers_from_extracts(settings.landing_dir)
    assert ids == {"HP000777", "HP000778", "HP000779", "HP000780", "Zebedee", "Quixwell",
                   "Yolanda", "Xanthe", "Wilhelmina", "2009-03-17", "TS24 8AB", "TS25 1XY",
                   "A801000000777"}
    # not collected: "Hart" (a ward name), "2010-06-01" (a 1st of the month = its birth month),
    # "2007-04-30" (a month's end = a reporting period's end), "Young" (a word of the dbt
    # project's text), "2008-02-14" (also an offence date); never non-PII values such as "White"


def test_a_clean_pipeline_output_has_no_findings(settings):
    clean_outputs(settings)
    assert scan(settings, identifiers_from_extracts(settings.landing_dir)) == []


def test_planted_identifiers_are_found_in_tables_parquet_logs_xcoms_and_reports(settings):
    clean_outputs(settings)
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("CREATE SCHEMA staging")
        con.execute("CREATE TABLE staging.leak (n INTEGER, note VARCHAR)")
        con.execute("INSERT INTO staging.leak VALUES (1, 'referred as HP000777 by school')")
    snap = settings.published_dir / "snapshots" / "s1" / "parquet"
    snap.mkdir(parents=True)
    with duckdb.connect() as con:  # compressed Parquet: only a reader of the file can see it
        con.execute(f"COPY (SELECT 'A801000000777' AS upn, range AS i FROM range(1000)) "
                    f"TO '{snap / 'leak.parquet'}' (FORMAT parquet, COMPRESSION zstd)")
    log = settings.airflow_home / "logs" / "task.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("ERROR row {'FORENAME': 'Zebedee', 'POSTCODE': 'TS24 8AB'}\n")
    db = sqlite3.connect(settings.airflow_home / "airflow.db")
    db.execute("CREATE TABLE xcom (key TEXT, value BLOB)")
    db.execute("INSERT INTO xcom VALUES ('return_value', ?)",
               [b'{"episode": "EPX1HP00077801", "dob": "2009-03-17"}'])
    db.commit()
    db.close()
    q = settings.quarantine_dir / "youth_justice"
    q.mkdir(parents=True)
    (q / "children_20240601.csv").write_text("CHILD_ID\nHP000779\n")  # the partner's own file
    (q / "children_20240601.report.md").write_text("- bad value Xanthe in row 2\n")

    findings = scan(settings, identifiers_from_extracts(settings.landing_dir))
    text = "\n".join(findings)

    def found(where: str, identifier: str) -> bool:
        return any(where in f and f"{identifier[:2]}{'*' * (len(identifier) - 2)}" in f
                   for f in findings)

    assert found("table staging.leak column note", "HP000777")
    assert found("leak.parquet table main.parquet_file column upn", "A801000000777")
    assert found("task.log (bytes)", "Zebedee") and found("task.log (bytes)", "TS24 8AB")
    assert found("airflow.db table xcom", "HP000778")  # inside a longer token
    assert found("airflow.db table xcom", "2009-03-17")
    assert found("children_20240601.report.md (bytes)", "Xanthe")
    assert "children_20240601.csv" not in text  # quarantined extracts are like the landing zone
    assert "attempt=1.log" not in text and "raw.youth_justice__children" not in text
    for identifier in ("HP000777", "A801000000777", "Zebedee", "TS24 8AB", "2009-03-17"):
        assert identifier not in text  # findings never print an identifier in full


def test_unreadable_database_is_reported_not_skipped(settings):
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    settings.warehouse.write_bytes(b"\0" * 8 + b"DUCK" + b"\0" * 100)  # corrupt DuckDB file
    findings = scan(settings, {"HP000777"})
    assert any("could not be opened as duckdb" in f for f in findings)


def test_bundled_libraries_are_skipped_only_as_verbatim_copies(settings):
    """plotly.js, copied into every report, holds short strings that collide with names by
    chance; a verbatim copy is skipped, an altered one (a name appended) is scanned."""
    from csp_pipeline.publish.report.build import PLOTLY_JS

    clean_outputs(settings)
    assets = settings.published_dir / "snapshots" / "s1" / "report" / "assets"
    assets.mkdir(parents=True)
    library = PLOTLY_JS.read_bytes()
    (assets / "plotly.min.js").write_bytes(library)
    ids = identifiers_from_extracts(settings.landing_dir)
    assert scan(settings, ids) == []
    (assets / "plotly.min.js").write_bytes(library + b"/* Zebedee Quixwell */")
    assert any("plotly.min.js" in f for f in scan(settings, ids))
