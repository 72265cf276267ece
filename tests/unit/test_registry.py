"""The registry is the single declaration: parsing, validation, and adding a kind by declaration."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from csp_pipeline.registry import REGISTRY_FILE, load_registry, parse_registry, snake

CONTRACT_KINDS = {
    "police": {"crimes"}, "fire": {"incidents"},
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
    kind, day = reg.kind_for_file("fire", Path("incidents_20240531.csv"))
    assert (kind.id, day) == ("fire__incidents", "2024-05-31")
    assert reg.kind_for_file("fire", Path("incidents_2024.csv")) is None
    assert reg.kind_for_file("fire", Path("crimes_20240531.csv")) is None


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
