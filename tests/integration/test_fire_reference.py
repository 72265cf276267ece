"""Hartlepool District Monthly Performance, May 2024 (reference/seeds_hartlepool.md section 1.1,
reference cases 1 to 7), reproduced exactly by dbt from incident-level rows built here."""

from __future__ import annotations

from itertools import count

import pytest

from tests.support.warehouse import create_warehouse, dbt, insert_raw, query

HARTLEPOOL = "E06000001"
_ids = count(1)


def incidents(month: str, n: int, incident_type: str, prop: str, motive: str,
              ward: tuple[str, str] = ("E05010001", "Burn Valley"), **extra) -> list[dict]:
    return [{"incident_id": f"R{next(_ids):05d}", "call_datetime": f"{month}-{1 + i % 28:02d} 18:00:00",
             "frs_name": "Cleveland", "la_code": HARTLEPOOL, "ward_code": ward[0],
             "ward_name": ward[1], "incident_type": incident_type, "property_category": prop,
             "accidental_or_deliberate": motive, "fatalities": 0, "casualties": 0, "rescues": 0,
             **extra} for i in range(n)]


WARDS = {name: (f"E0501{i:04d}", name) for i, name in enumerate(
    ["Burn Valley", "De Bruce", "Fens and Greatham", "Foggy Furze", "Hart",
     "Headland and Harbour", "Manor House", "Rossmere", "Rural West", "Seaton", "Throston",
     "Victoria"], start=1)}


def may_2023() -> list[dict]:
    return (incidents("2023-05", 3, "Primary fire", "Road vehicle", "Deliberate")
            + incidents("2023-05", 98, "Secondary fire", "Grassland/refuse", "Deliberate")
            + incidents("2023-05", 3, "Primary fire", "Dwelling", "Accidental")
            + incidents("2023-05", 11, "Secondary fire", "Other outdoor", "Accidental")
            + incidents("2023-05", 40, "False alarm", "Dwelling", None))  # not fires


def may_2024() -> list[dict]:
    """69 fires: top five wards 15 (all deliberate), 12, 10, 8, 6; 18 in the other seven."""
    wards = [("Burn Valley", 15), ("Rossmere", 12), ("De Bruce", 10), ("Manor House", 8),
             ("Headland and Harbour", 6), ("Hart", 3), ("Seaton", 3), ("Victoria", 3),
             ("Throston", 3), ("Rural West", 2), ("Foggy Furze", 2), ("Fens and Greatham", 2)]
    # 4 deliberate vehicle fires + 1 deliberate dwelling fire, 61 deliberate secondary,
    # 3 accidental (not in dwellings): 69 in all.
    kinds = ([("Primary fire", "Road vehicle", "Deliberate")] * 4
             + [("Primary fire", "Dwelling", "Deliberate")]
             + [("Secondary fire", "Grassland/refuse", "Deliberate")] * 61
             + [("Secondary fire", "Other outdoor", "Accidental")] * 2
             + [("Chimney fire", "Dwelling", "Not known")])
    slots = [w for w, n in wards for _ in range(n)]
    # Burn Valley's 15 must all be deliberate: accidental fires go to the last wards.
    rows = []
    for (incident_type, prop, motive), ward in zip(kinds[:66] + kinds[66:], slots):
        rows += incidents("2024-05", 1, incident_type, prop, motive, ward=WARDS[ward])
    rows[-3:] = [dict(r, ward_code=WARDS["Foggy Furze"][0], ward_name="Foggy Furze")
                 for r in rows[-3:]]
    return rows


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    path = create_warehouse(tmp_path_factory.mktemp("fire_ref") / "warehouse.duckdb")
    insert_raw(path, "fire", "incidents", may_2023() + may_2024())
    dbt(path, "build", "--select", "+cs_fire_monthly_performance", "+cs_fire_economic_cost_monthly",
        "+cs_fire_hotspot_wards_monthly")
    return path


def performance(warehouse) -> dict[str, tuple]:
    rows = query(warehouse, """
        SELECT indicator, value_previous_year, value, direction, pct_change
        FROM marts.cs_fire_monthly_performance WHERE la_code = ? AND month = DATE '2024-05-01'""",
                 [HARTLEPOOL])
    return {r[0]: r[1:] for r in rows}


@pytest.mark.parametrize("indicator, published", [
    ("Total Fires", (115, 69, "Decreased", -40)),                       # case 1
    ("Total Deliberate Fires", (101, 66, "Decreased", -35)),            # case 2: -34.65 -> -35
    ("Deliberate Primary Fires", (3, 5, "Increased", 67)),              # case 3: 66.67 -> 67
    ("Deliberate Secondary Fires", (98, 61, "Decreased", -38)),
    ("Accidental Dwelling Fires", (3, 0, "Decreased", -100)),           # case 4
    ("Accidental Dwelling Fire Fatalities", (0, 0, None, None)),        # case 4: both zero "-"
    ("Accidental Dwelling Fire Injuries", (0, 0, None, None)),
])
def test_incident_summary_may_2024(warehouse, indicator, published):
    assert performance(warehouse)[indicator] == published


@pytest.mark.parametrize("category, published", [
    ("Buildings & Vehicles", (45_384, 87_881, "Increased", 94)),
    ("All others fires not involving Buildings or Vehicles", (404_348, 251_686, "Decreased", -38)),
    ("Total", (449_732, 339_567, "Decreased", -24)),                    # -24.4957 -> -24
])
def test_economic_cost_of_deliberate_fires_may_2024(warehouse, category, published):  # cases 5, 6
    row = query(warehouse, """
        SELECT cost_gbp_previous_year, cost_gbp, direction, pct_change
        FROM marts.cs_fire_economic_cost_monthly
        WHERE la_code = ? AND month = DATE '2024-05-01' AND cost_category = ?""",
                [HARTLEPOOL, category])
    assert row == [published]


def test_top_five_wards_hold_74_percent_of_fires(warehouse):  # case 7
    rows = query(warehouse, """
        SELECT ward_name, fires, deliberate_fires, top5_share_pct
        FROM marts.cs_fire_hotspot_wards_monthly
        WHERE la_code = ? AND month = DATE '2024-05-01' AND ward_rank <= 5 ORDER BY ward_rank""",
                 [HARTLEPOOL])
    assert [(r[0], r[1]) for r in rows] == [("Burn Valley", 15), ("Rossmere", 12),
                                            ("De Bruce", 10), ("Manor House", 8),
                                            ("Headland and Harbour", 6)]
    assert rows[0][2] == 15  # "of which all were deemed as deliberate"
    assert {r[3] for r in rows} == {74}  # 51 / 69, not 51 / 66


def test_months_and_wards_without_fires_are_zero_not_missing(warehouse):
    (april,) = query(warehouse, """
        SELECT value FROM marts.cs_fire_monthly_performance
        WHERE la_code = ? AND month = DATE '2024-04-01' AND indicator = 'Total Fires'""",
                     [HARTLEPOOL])
    assert april == (0,)
    (wards,) = query(warehouse, """
        SELECT count(*) FROM marts.cs_fire_hotspot_wards_monthly
        WHERE la_code = ? AND month = DATE '2024-04-01' AND fires = 0""", [HARTLEPOOL])
    assert wards == (12,)
