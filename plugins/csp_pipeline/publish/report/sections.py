"""The report's sections: what each shows, as charts each with its table."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from csp_pipeline.publish.report import charts
from csp_pipeline.publish.report.snapshot_data import Snapshot
from csp_pipeline.publish.report.tables import Table, cell, fmt, key_json, mart_table, pivot_table

FIRE_INDICATORS = ["Total Fires", "Total Deliberate Fires", "Deliberate Primary Fires",
                   "Deliberate Secondary Fires", "Accidental Dwelling Fires",
                   "Accidental Dwelling Fire Fatalities", "Accidental Dwelling Fire Injuries"]
TREND_MONTHS = 13


@dataclass
class Block:
    table: Table
    chart: dict | None = None
    text: str | None = None
    collapsed: bool = False  # a long chart table, shown on request (and not printed)


@dataclass
class Section:
    slug: str
    title: str
    feed: str  # the feed whose extract dates it rests on
    latest: str | None = None  # latest period shown
    blocks: list[Block] = field(default_factory=list)


def last_periods(rows: list[dict], column: str, n: int) -> list[dict]:
    periods = sorted({r[column] for r in rows})[-n:]
    return [r for r in rows if r[column] in periods]


def latest_first(rows: list[dict], column: str) -> list[dict]:
    return sorted(rows, key=lambda r: r[column], reverse=True)


def financial_year_label(month: date) -> str:
    start = month.year if month.month >= 4 else month.year - 1
    return f"{start - 1}/{str(start)[2:]} - {start}/{str(start + 1)[2:]}"


def comparison_headers(first: str, month: date) -> list[str]:
    """The board paper's columns: same month last year, this month, direction, % change."""
    return [first, f"{month:%b} {(month.year - 1) % 100:02d}", f"{month:%b %y}",
            f"Direction of Travel {financial_year_label(month)}", "% Change"]


def comparison_table(title: str, mart: str, la_code: str, rows: list[dict], name: str,
                     current: str, previous: str, key: list[str]) -> Table:
    first = {"indicator": "Indicator", "cost_category": "Type of fire"}[name]
    table = Table(title, comparison_headers(first, rows[0]["month"]), mart=mart, la_code=la_code)
    for r in rows:
        table.rows.append([cell(r, name), cell(r, previous), cell(r, current),
                           cell(r, "direction"), cell(r, "pct_change")])
        table.keys.append(key_json(r, key))
    return table


def fire(snap: Snapshot, la: str) -> Section:
    section = Section("fire", "Fire: district monthly performance", "fire")
    perf = snap.rows("cs_fire_monthly_performance", la, "month, indicator")
    if not perf:
        return section
    month = max(r["month"] for r in perf)
    section.latest = f"{month:%B %Y}"
    order = {name: i for i, name in enumerate(FIRE_INDICATORS)}
    now = sorted((r for r in perf if r["month"] == month),
                 key=lambda r: order.get(r["indicator"], len(order)))
    key = ["month", "indicator"]
    section.blocks.append(Block(comparison_table(
        f"Incident summary {month:%B %Y}", "cs_fire_monthly_performance", la, now, "indicator",
        "value", "value_previous_year", key)))
    trend = [r for r in last_periods(perf, "month", TREND_MONTHS)
             if r["indicator"] in FIRE_INDICATORS[:4]]
    section.blocks.append(Block(
        pivot_table("Fires by month (last 13 months)", "cs_fire_monthly_performance", la,
                    latest_first(trend, "month"), "month", "indicator", "value", key, "Month"),
        charts.grouped_lines("Fires by month", trend, "month", "indicator", "value", "Fires")))
    cost = snap.rows("cs_fire_economic_cost_monthly", la, "month, sort_order",
                     "month = (SELECT max(month) FROM marts.cs_fire_economic_cost_monthly)")
    if cost:
        section.blocks.append(Block(comparison_table(
            f"Economic cost of deliberate fires {cost[0]['month']:%B %Y}",
            "cs_fire_economic_cost_monthly", la, cost, "cost_category", "cost_gbp",
            "cost_gbp_previous_year", ["month", "cost_category"])))
    section.blocks.append(hotspots(snap, la))
    return section


def hotspots(snap: Snapshot, la: str) -> Block:
    rows = snap.rows("cs_fire_hotspot_wards_monthly", la, "ward_rank",
                     "ward_rank <= 5 AND month = (SELECT max(month) FROM "
                     "marts.cs_fire_hotspot_wards_monthly)")
    table = mart_table("Hotspot wards (top five)", "cs_fire_hotspot_wards_monthly", la, rows,
                       ["month", "ward_name"], [("Rank", "ward_rank"), ("Ward", "ward_name"),
                                                ("Number of fires", "fires"),
                                                ("Deliberate fires", "deliberate_fires")])
    text = None
    if rows:
        top = rows[0]
        text = (f"The top 5 wards for all fire incidents in {top['month']:%B %Y} cumulatively "
                f"accounted for {fmt('top5_share_pct', top['top5_share_pct'])} of fires across "
                f"the district. {top['ward_name']} had the highest level with {top['fires']}.")
    return Block(table, charts.bars("Fires by ward", rows, "ward_name", "fires", "Fires"), text)


def crime(snap: Snapshot, la: str) -> Section:
    section = Section("crime", "Crime and anti-social behaviour", "police")
    rows = snap.rows("cs_crime_monthly", la, "month, crime_type")
    if not rows:
        return section
    month = max(r["month"] for r in rows)
    section.latest = f"{month:%B %Y}"
    key = ["month", "crime_type"]
    now = sorted((r for r in rows if r["month"] == month), key=lambda r: -(r["incidents"] or 0))
    section.blocks.append(Block(mart_table(
        f"Recorded crime and ASB, {month:%B %Y}", "cs_crime_monthly", la, now, key,
        [("Crime type", "crime_type"), (f"{month:%b} {(month.year - 1) % 100:02d}",
                                        "incidents_previous_year"),
         (f"{month:%b %y}", "incidents"), ("Direction", "direction"), ("% Change", "pct_change"),
         ("Rolling 12 months", "rolling_12m"), ("Rate per 1,000", "rate_per_1000_population")])))
    trend = last_periods(rows, "month", TREND_MONTHS)
    section.blocks.append(Block(
        pivot_table("Incidents by month and type (last 13 months)", "cs_crime_monthly", la,
                    latest_first(trend, "month"), "month", "crime_type", "incidents", key,
                    "Month"),
        charts.crime_by_type("Incidents this year and same month last year", trend),
        collapsed=True))
    return section


def substance_misuse(snap: Snapshot, la: str) -> Section:
    section = Section("substance", "Substance misuse treatment", "substance_misuse")
    rows = snap.rows("cs_substance_misuse_outcomes", la, "period_end, sort_order",
                     "is_complete_window")  # 12 months wholly inside the data
    if not rows:
        return section
    end = max(r["period_end"] for r in rows)
    section.latest = f"12 months to {end:%d %B %Y}"
    key = ["period_end", "substance_group"]
    section.blocks.append(Block(mart_table(
        f"Treatment outcomes, 12 months to {end:%d %B %Y}", "cs_substance_misuse_outcomes", la,
        [r for r in rows if r["period_end"] == end], key,
        [("Substance group", "substance_group"), ("In treatment", "in_treatment"),
         ("Successful completions", "successful_completions"),
         ("Completion %", "successful_completion_pct"), ("Re-presentations", "representations"),
         ("Non-representation %", "non_representation_pct")])))
    rows = last_periods(rows, "period_end", TREND_MONTHS)
    section.blocks.append(Block(
        pivot_table("Successful completion % by period", "cs_substance_misuse_outcomes", la,
                    latest_first(rows, "period_end"), "period_end", "substance_group",
                    "successful_completion_pct", key, "12 months to"),
        charts.grouped_lines("Successful completions (% of those in treatment)", rows,
                             "period_end", "substance_group", "successful_completion_pct", "%"),
        collapsed=True))
    return section


def education(snap: Snapshot, la: str) -> Section:
    section = Section("education", "Education: absence, suspensions and exclusions", "education")
    rows = snap.rows("cs_education_termly", la, "academic_year, term_number")
    if not rows:
        return section
    section.latest = f"{rows[-1]['academic_year']} {rows[-1]['term']}"
    for r in rows:
        r["period"] = f"{r['academic_year']} {r['term']}"
    section.blocks.append(Block(
        mart_table("Termly figures", "cs_education_termly", la, rows[::-1],
                   ["academic_year", "term"],
                   [("Academic year", "academic_year"), ("Term", "term"), ("Pupils", "pupils"),
                    ("Persistent absence %", "persistent_absence_pct"),
                    ("Suspensions", "suspensions"), ("Suspension rate", "suspension_rate"),
                    ("Permanent exclusions", "permanent_exclusions"),
                    ("Exclusion rate", "permanent_exclusion_rate")]),
        charts.lines("Persistent absence and suspensions", rows, "period",
                     {"Persistent absence %": "persistent_absence_pct",
                      "Suspension rate": "suspension_rate"}, "%")))
    return section


def neet(snap: Snapshot, la: str) -> Section:
    section = Section("neet", "Young people not in education, employment or training",
                      "education")
    rows = last_periods(snap.rows("cs_neet_monthly", la, "month"), "month", TREND_MONTHS)
    if not rows:
        return section
    section.latest = f"{rows[-1]['month']:%B %Y}"
    section.blocks.append(Block(
        mart_table("NEET and not known by month", "cs_neet_monthly", la, rows[::-1], ["month"],
                   [("Month", "month"), ("Cohort", "cohort"), ("NEET", "neet"),
                    ("NEET %", "neet_pct"), ("Not known", "not_known"),
                    ("Not known %", "not_known_pct")]),
        charts.lines("NEET and not known (% of cohort)", rows, "month",
                     {"NEET %": "neet_pct", "Not known %": "not_known_pct"}, "%")))
    return section
