"""The youth justice section: first-time entrants, reoffending, custody, the ten KPIs and
disproportionality, as the youth justice plan tables them."""

from __future__ import annotations

from csp_pipeline.publish.report import charts
from csp_pipeline.publish.report.sections import Block, Section, latest_first
from csp_pipeline.publish.report.snapshot_data import Snapshot
from csp_pipeline.publish.report.tables import (
    SUPPRESSED,
    Cell,
    Table,
    cell,
    fmt,
    key_json,
    mart_table,
)


def youth_justice(snap: Snapshot, la: str) -> Section:
    section = Section("youth-justice", "Youth justice", "youth_justice")
    for part in (first_time_entrants, reoffending, custody, kpis, disproportionality):
        block = part(snap, la)
        if block is not None:
            section.blocks.append(block)
    done = snap.rows("yj_kpi_quarterly", la, "quarter", "period_complete")
    if done:
        section.latest = f"KPIs: quarter from {done[-1]['quarter']:%d %B %Y}"
    return section


def first_time_entrants(snap: Snapshot, la: str) -> Block | None:
    rows = snap.rows("yj_first_time_entrants", la, "period_end",
                     "period_type = 'rolling_12_months'")
    if not rows:
        return None
    table = mart_table("First-time entrants (rolling 12 months)", "yj_first_time_entrants", la,
                       latest_first(rows, "period_end"), ["period_type", "period_end"],
                       [("12 months to", "period_end"), ("First-time entrants", "fte_count"),
                        ("Population 10-17", "population_10_17"),
                        ("Rate per 100,000", "rate_per_100k")])
    return Block(table, charts.lines("First-time entrants per 100,000 aged 10-17", rows,
                                     "period_end", {"Rate per 100,000": "rate_per_100k"},
                                     "Rate per 100,000"))


def reoffending(snap: Snapshot, la: str) -> Block | None:
    rows = snap.rows("yj_reoffending", la, "cohort_quarter")
    if not rows:
        return None
    table = mart_table("Reoffending cohorts", "yj_reoffending", la,
                       latest_first(rows, "cohort_quarter"), ["cohort_quarter"],
                       [("Cohort quarter", "cohort_quarter"), ("Cohort size", "cohort_size"),
                        ("Reoffenders", "reoffenders"), ("Reoffences", "reoffences"),
                        ("Binary rate %", "binary_rate_pct"),
                        ("Reoffences per reoffender", "reoffences_per_reoffender"),
                        ("Tracking complete", "tracking_complete")],
                       note="Cohorts with tracking complete \"no\" are still being tracked "
                            "(18 months from the end of the quarter): their rates can rise.")
    return Block(table, charts.bars("Binary reoffending rate by cohort (pale: still tracking)",
                                    rows, "cohort_quarter", "binary_rate_pct", "%",
                                    colour_by="tracking_complete"))


def custody(snap: Snapshot, la: str) -> Block | None:
    rows = snap.rows("yj_custody", la, "financial_year")
    if not rows:
        return None
    table = mart_table("Custody and remands by financial year", "yj_custody", la,
                       latest_first(rows, "financial_year"), ["financial_year"],
                       [("Year", "financial_year"), ("Remands", "remands"),
                        ("Custody", "custodial_sentences"),
                        ("Population 10-17", "population_10_17"),
                        ("Custody rate per 1,000", "custody_rate_per_1000")])
    return Block(table, charts.lines("Custodial sentences and remands", rows, "financial_year",
                                     {"Custody": "custodial_sentences", "Remands": "remands"},
                                     "Children"))


KPI_ORDER = ["ACCOMMODATION", "ETE", "SEND", "MENTAL_HEALTH", "SUBSTANCE_MISUSE", "OUT_OF_COURT",
             "WIDER_SERVICES", "BOARD_ATTENDANCE", "SERIOUS_VIOLENCE", "VICTIMS"]


def kpis(snap: Snapshot, la: str) -> Block | None:
    """The latest complete quarter (a quarter in progress would compare part with whole)."""
    rows = snap.rows("yj_kpi_quarterly", la, "quarter", "period_complete")
    if not rows:
        return None
    rows.sort(key=lambda r: (r["quarter"], KPI_ORDER.index(r["kpi_code"])
                             if r["kpi_code"] in KPI_ORDER else len(KPI_ORDER)))
    quarters = sorted({r["quarter"] for r in rows})
    now = [r for r in rows if r["quarter"] == quarters[-1]]
    before = {r["kpi_code"]: r for r in rows if len(quarters) > 1 and r["quarter"] == quarters[-2]}
    table = Table(f"The ten KPIs, quarter from {quarters[-1]:%d %B %Y}",
                  ["KPI", "Numerator", "Denominator", "Value", "Previous quarter",
                   "Change"], mart="yj_kpi_quarterly", la_code=la,
                  note="Values are % of the denominator, except serious violence (rate per "
                       "100,000 aged 10-17). Change in percentage points on the previous quarter.")
    for r in now:
        prev = before.get(r["kpi_code"], {})
        shown = cell(prev, "value_pct") if prev else Cell("-")
        shown.key = key_json(prev, ["quarter", "kpi_code"]) if prev else None
        table.rows.append([cell(r, "kpi_name"), cell(r, "numerator"), cell(r, "denominator"),
                           cell(r, "value_pct"), shown, change(r, prev)])
        table.keys.append(key_json(r, ["quarter", "kpi_code"]))
    return Block(table)


def change(now: dict, before: dict) -> Cell:
    """Change on the previous quarter; `c` when either value is suppressed."""
    if now.get("value_pct_suppressed") or before.get("value_pct_suppressed"):
        return Cell(SUPPRESSED, suppressed=True, numeric=True)
    a, b = now.get("value_pct"), before.get("value_pct")
    if a is None or b is None:
        return Cell("-")
    diff = a - b
    return Cell(("+" if diff > 0 else "") + fmt("change", round(diff, 1)), numeric=True)


def disproportionality(snap: Snapshot, la: str) -> Block | None:
    rows = snap.rows("yj_disproportionality", la, "period_end, ethnicity",
                     "period_end = (SELECT max(period_end) FROM marts.yj_disproportionality)")
    if not rows:
        return None
    table = mart_table(f"Disproportionality, {rows[0]['period_start']} to {rows[0]['period_end']}",
                       "yj_disproportionality", la, rows, ["period_end", "ethnicity"],
                       [("Ethnic group", "ethnicity"), ("Children in cohort", "cohort_count"),
                        ("Cohort share %", "cohort_share_pct"),
                        ("Population share %", "population_10_17_share_pct"),
                        ("Relative rate index", "relative_rate_index")],
                       note="Relative rate index: cohort share / population share; above 1 "
                            "means over-represented.")
    return Block(table, charts.bars("Relative rate index by ethnic group", rows, "ethnicity",
                                    "relative_rate_index", "RRI", reference=1.0))
