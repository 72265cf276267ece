"""A valid police crimes extract of N rows, written by DuckDB (fast, deterministic)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.settings import DBT_PROJECT_DIR

WARDS = DBT_PROJECT_DIR / "seeds" / "bundled_ref_wards.csv"


def write_police_extract(path: Path, rows: int, first: int = 0) -> Path:
    """Rows numbered from `first` (their crime and incident ids follow the number), spread over
    five months, 14 crime types, 40 of the bundled reference's wards and 9,999 LSOAs; the LSOA
    names (`Hartlepool 042A`) place every row in Hartlepool, so the marts attribute them to areas
    and the report has pages."""
    kind = load_registry().kind("police", "crimes")
    types = list(kind.column("Crime type").values)
    wards = [w for (w,) in duckdb.sql(f"SELECT ward_code FROM read_csv('{WARDS}') ORDER BY 1 "
                                     "LIMIT 40").fetchall()]
    path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.execute(f"""
        COPY (
          SELECT CASE WHEN i % 5 = 0 THEN NULL ELSE sha256(i::VARCHAR) END AS "Crime ID",
                 '2024-0' || (1 + i % 5) AS "Month",
                 'Cleveland Police' AS "Reported by", 'Cleveland Police' AS "Falls within",
                 -1.2 - (i % 1000) / 10000.0 AS "Longitude", 54.6 + (i % 1000) / 10000.0 AS "Latitude",
                 'On or near Street ' || (i % 300) AS "Location",
                 'E0100' || lpad((i % 9999)::VARCHAR, 4, '0') AS "LSOA code",
                 'Hartlepool ' || lpad((i % 90)::VARCHAR, 3, '0') || 'A' AS "LSOA name",
                 list_extract($types, 1 + (i % {len(types)})::INTEGER) AS "Crime type",
                 'Under investigation' AS "Last outcome category", NULL AS "Context",
                 'INC' || lpad(i::VARCHAR, 9, '0') AS "Incident ID",
                 '2024-0' || (1 + i % 5) || '-1' || (i % 9) AS "Recorded date",
                 list_extract($wards, 1 + (i % {len(wards)})::INTEGER) AS "Ward code"
          FROM range({first}, {first + rows}) t(i)
        ) TO '{path}' (HEADER, DELIMITER ',')""", {"types": types, "wards": wards})
    return path
