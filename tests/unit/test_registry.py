"""The registry is the single declaration: parsing, validation, and adding a kind by declaration."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from csp_pipeline.core.registry import (
    REGISTRY_FILE,
    REJECT_TOLERANCE,
    load_registry,
    parse_registry,
    snake,
)
from csp_pipeline.ingest.landing import match
from csp_pipeline.ingest.suites import build_suite

CONTRACT_KINDS = {
    "police": {"crimes", "street"}, "fire": {"incidents"},
    "education": {"attendance", "exclusions", "neet"},
    "substance_misuse": {"treatment_episodes"},
    "youth_justice": {"children", "offences", "outcomes", "victims", "board_attendance"},
}


def test_every_contract_kind_is_declared():
    reg = load_registry()
    assert {f: {k.name for k in reg.kinds_of(f)} for f in reg.feeds} == CONTRACT_KINDS


def test_police_columns_are_the_police_uk_layout_then_ours():
    cols = load_registry().kind("police", "crimes").column_names
    assert cols[:12] == ["Crime ID", "Month", "Reported by", "Falls within", "Longitude",
                         "Latitude", "Location", "LSOA code", "LSOA name", "Crime type",
                         "Last outcome category", "Context"]
    assert cols[12:] == ["Incident ID", "Recorded date", "Ward code"]


def test_pii_columns_are_renamed_to_what_they_hold_and_names_dropped():
    kind = load_registry().kind("youth_justice", "children")
    stored = [c.warehouse_name for c in kind.stored_columns]
    assert "forename" not in stored and "surname" not in stored
    assert {"child_id_pseudonym", "birth_month", "postcode_district", "upn_pseudonym"} <= set(stored)
    assert "date_of_birth" not in stored and "postcode" not in stored


def test_file_names_map_to_kinds_and_dates():
    reg = load_registry()
    e = match(reg, "fire", Path("incidents_20240531.csv"))
    assert (e.kind.id, e.extract_date, e.stream, e.supplementary) == (
        "fire__incidents", "2024-05-31", "incidents", False)
    assert match(reg, "fire", Path("incidents_2024.csv")) is None
    assert match(reg, "fire", Path("incidents_20240231.csv")) is None  # no such day
    assert match(reg, "fire", Path("crimes_20240531.csv")) is None


def test_police_uk_downloads_are_a_kind_dated_by_their_month():
    reg = load_registry()
    e = match(reg, "police", Path("2024-02-city-of-london-street.csv"))
    assert (e.kind.id, e.extract_date, e.stream) == ("police__street", "2024-02-29",
                                                     "city-of-london")
    other = match(reg, "police", Path("2024-02-south-yorkshire-street.csv"))
    assert other.stream == "south-yorkshire"  # another force's month replaces nothing of this one
    assert match(reg, "police", Path("2024-13-city-of-london-street.csv")) is None


def test_released_rejects_are_a_supplementary_delivery_of_the_same_file():
    e = match(load_registry(), "police", Path("crimes_20240531.rejects.csv"))
    assert (e.kind.name, e.extract_date, e.stream, e.supplementary) == (
        "crimes", "2024-05-31", "crimes", True)


def test_a_deployment_adds_partner_variants_and_expected_feeds(tmp_path):
    (tmp_path / "feeds.yml").write_text(yaml.safe_dump({
        "expected_feeds": ["fire"],
        "feeds": {"fire": {"kinds": {"incidents": {"variants": {"avon": {
            "files": "afrs_attended_incidents_{month_name}_{year}.csv",
            "encoding": "windows-1252", "header": ["Incident Number"],
            "columns": {"INCIDENT_ID": '"Incident Number"'}}}}}}}}))
    reg = load_registry(config_dir=tmp_path)
    assert reg.expected_feeds == ("fire",)
    e = match(reg, "fire", Path("afrs_attended_incidents_july_2014.csv"))
    assert (e.extract_date, e.stream, e.variant.name, e.encoding) == (
        "2014-07-31", "avon", "avon", "cp1252")
    assert load_registry().expected_feeds == tuple(load_registry().feeds)  # bundled: all


def test_a_deployment_may_not_redeclare_a_kind(tmp_path):
    (tmp_path / "feeds.yml").write_text(yaml.safe_dump(
        {"feeds": {"fire": {"kinds": {"incidents": {"key": ["FRS_NAME"]}}}}}))
    with pytest.raises(ValueError, match="may only add `variants`"):
        load_registry(config_dir=tmp_path)


def test_snake_case():
    assert snake("Crime ID") == "crime_id" and snake("LSOA code") == "lsoa_code"


def test_unknown_reference_in_a_rule_is_rejected():
    doc = yaml.safe_load(REGISTRY_FILE.read_text())
    doc["feeds"]["fire"]["kinds"]["incidents"]["rules"] = [{"a": "NOPE", "op": ">=", "b": "RESCUES"}]
    with pytest.raises(ValueError, match="NOPE"):
        parse_registry(doc)


def test_a_new_kind_and_a_partner_rename_are_declarations_only():
    doc = yaml.safe_load(REGISTRY_FILE.read_text())
    doc["feeds"]["fire"]["kinds"]["safer_home_visits"] = {
        "key": ["VISIT_ID"], "date_column": "VISIT_DATE",
        "rename": {"Visit Ref": "VISIT_ID"},
        "columns": [{"name": "VISIT_ID", "type": "VARCHAR", "required": True},
                    {"name": "VISIT_DATE", "type": "DATE", "required": True},
                    {"name": "LA_CODE", "type": "VARCHAR", "values": "la_code"}],
    }
    kind = parse_registry(doc).kind("fire", "safer_home_visits")
    assert kind.raw_table == "raw.fire__safer_home_visits"
    assert kind.column("LA_CODE").reference == "ref_areas.la_code"  # follows the reference data


def test_a_released_rejects_file_is_a_supplementary_file_of_its_kind_and_date():
    reg = load_registry()
    extract = match(reg, "police", Path("/landing/police/crimes_20240531.rejects.csv"))
    assert extract.kind.id == "police__crimes" and extract.extract_date == "2024-05-31"
    assert extract.supplementary
    assert not match(reg, "police", Path("/landing/police/crimes_20240531.csv")).supplementary
    assert match(reg, "police", Path("crimes_20240531.rejects.rejects.csv")) is None


def _with_rule(**changes) -> dict:
    doc = yaml.safe_load(REGISTRY_FILE.read_text())
    crimes = doc["feeds"]["police"]["kinds"]["crimes"]
    column = next(c for c in crimes["columns"] if c["name"] == "Crime type")
    column.update(changes.pop("column", {}))
    crimes.update(changes)
    return doc


def test_reject_tolerance_defaults_to_the_kind_and_a_rule_may_set_its_own():
    kind = parse_registry(_with_rule(reject_tolerance=0.02)).kind("police", "crimes")
    assert kind.tolerance(kind.column("Crime type")) == 0.02
    assert kind.tolerance(kind.column("Incident ID")) is None  # a blocking rule has none
    own = parse_registry(_with_rule(column={"tolerance": 0.2})).kind("police", "crimes")
    assert own.tolerance(own.column("Crime type")) == 0.2
    assert own.tolerance(own.column("LSOA code")) == REJECT_TOLERANCE
    meta = {e.meta["rule"]: e.meta for e in build_suite(own).expectations
            if e.configuration.kwargs.get("column") == "Crime type"}
    assert meta["value in the contract's code list"] == {
        "severity": "reject", "scope": "row", "rule": "value in the contract's code list",
        "tolerance": 0.2}


@pytest.mark.parametrize(("changes", "error"), [
    ({"column": {"severity": "quarantine"}}, "unknown severity 'quarantine'"),
    ({"column": {"severity": "blocking", "tolerance": 0.1}}, "severity reject only"),
    ({"column": {"tolerance": 1.5}}, "tolerance 1.5 is not a share"),
    ({"reject_tolerance": -0.1}, "tolerance -0.1 is not a share"),
])
def test_a_severity_or_tolerance_that_means_nothing_is_refused(changes, error):
    with pytest.raises(ValueError, match=error):
        parse_registry(_with_rule(**changes))
