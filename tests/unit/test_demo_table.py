"""The demo's closing table, laid out like the district report, from a published snapshot."""

from __future__ import annotations

from datetime import date

import duckdb

from csp_pipeline.cli.demo import HARTLEPOOL, fire_table
from csp_pipeline.core.settings import Settings

ROWS = [  # indicator, sort order, value, previous year, % change, direction
    ("Total Fires", 1, 113, 107, 6, "Increased"),
    ("Deliberate Secondary Fires", 4, 74, 81, -9, "Decreased"),
    ("Accidental Dwelling Fire Fatalities", 6, 0, 0, None, None),
    ("Accidental Dwelling Fire Injuries", 7, None, 0, None, None),  # suppressed: 1 to 4 people
]


def test_fire_table_lays_out_the_latest_month_and_marks_suppressed_cells(tmp_path):
    settings = Settings.from_env({"CSP_DATA_DIR": str(tmp_path)})
    current = settings.published_dir / "current"
    current.mkdir(parents=True)
    with duckdb.connect(str(current / "published.duckdb")) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute("""CREATE TABLE marts.cs_fire_monthly_performance (la_code VARCHAR,
            month DATE, indicator VARCHAR, sort_order INTEGER, value INTEGER,
            value_previous_year INTEGER, pct_change INTEGER, direction VARCHAR)""")
        for month in (date(2024, 4, 1), date(2024, 5, 1)):
            con.executemany("INSERT INTO marts.cs_fire_monthly_performance VALUES "
                            "(?, ?, ?, ?, ?, ?, ?, ?)",
                            [(HARTLEPOOL, month, *r[:2], *r[2:]) for r in reversed(ROWS)])
    lines = fire_table(settings).splitlines()
    assert lines[0] == "Hartlepool District Monthly Performance May 2024: Incident summary"
    assert lines[2].split()[:5] == ["Indicator", "May", "23", "May", "24"]
    assert "2023/24 - 2024/25" in lines[2]
    body = [line.split() for line in lines[3:7]]
    assert body[0] == ["Total", "Fires", "107", "113", "Increased", "6%"]
    assert body[1] == ["Deliberate", "Secondary", "Fires", "81", "74", "Decreased", "-9%"]
    assert body[2][-4:] == ["0", "0", "-", "-"]
    assert body[3][-4:] == ["0", "c", "-", "-"]
    assert lines[-1].startswith("c: 1 to 4 people, suppressed")
