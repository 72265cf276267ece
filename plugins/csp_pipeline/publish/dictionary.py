"""The snapshot's data dictionary (DATA_DICTIONARY.md and data_dictionary.json).

Built from the dbt manifest the night's build ran from (model and column descriptions, tests),
the disclosure policy (grain, what is suppressed and why) and the snapshot's own tables (the
columns actually published, with their types): every published mart, its grain, every column's
meaning, unit and suppression rule.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import duckdb

from csp_pipeline.core.settings import DBT_PROJECT_DIR
from csp_pipeline.publish.disclosure import FLAG, Policy, load_policy
from csp_pipeline.publish.disclosure.rules import MartRule

log = logging.getLogger(__name__)
DICTIONARY_MD = "DATA_DICTIONARY.md"
DICTIONARY_JSON = "data_dictionary.json"

COMMON = {"la_code": "ONS code of the local authority area (e.g. E06000001).",
          "la_name": "Name of the local authority area.",
          "sort_order": "Order in which the board paper lists the rows."}
# Unit by column name, first match wins (suffix or exact name).
UNITS = [("_suppressed", "flag (true = the column's value is suppressed)"),
         ("term_number", "number (1 autumn, 2 spring, 3 summer)"),
         ("ward_rank", "rank (1 = most fires)"), ("population_year", "year (mid-year estimate)"),
         ("incidents", "count of incidents"), ("rolling_12m", "count of incidents"),
         ("fires", "count of fires"),
         ("pct_change", "percent change on the same period last year, whole number"),
         ("_pct", "percent"), ("rate_per_100k", "per 100,000 population aged 10-17"),
         ("rate_per_1000_population", "per 1,000 resident population"),
         ("custody_rate_per_1000", "per 1,000 population aged 10-17"),
         ("_rate", "per 100 pupils"), ("relative_rate_index", "ratio (1.00 = proportionate)"),
         ("reoffences_per_reoffender", "reoffences per reoffender"),
         ("cost_gbp", "pounds sterling (GBP)"), ("population_10_17", "people (estimate)"),
         ("month", "date (first day of the month)"), ("quarter", "date (first day of the quarter)"),
         ("period_start", "date"), ("period_end", "date"), ("_date", "date"),
         ("financial_year", "financial year, April-March, written 2023-24"),
         ("academic_year", "academic year, September-August, written 2023/24"),
         ("direction", "text: Increased | Decreased | No change"), ("complete", "flag"),
         ("la_", "text"), ("name", "text"), ("type", "text"), ("ethnicity", "text"),
         ("code", "text"), ("category", "text"), ("group", "text"), ("term", "text"),
         ("link", "text"), ("value_unit", "text"), ("sort_order", "number (order)")]
COUNT_UNIT = "count"


def unit(column: str, counts: set[str], data_type: str) -> str:
    if column in counts:
        return COUNT_UNIT
    for name, text in UNITS:
        if column == name or column.endswith(name) or column.startswith(name):
            return text
    if data_type == "BOOLEAN":
        return "flag"
    return "number" if data_type in ("BIGINT", "INTEGER", "DOUBLE", "HUGEINT") \
        or data_type.startswith("DECIMAL") else "text"


def suppression_rule(rule: MartRule, column: str, threshold: float) -> str:
    if column.endswith(FLAG):
        return "-"
    if rule.places:
        return "not suppressed: counts incidents at places, not people"
    counts = {c.column: c for c in rule.counts}
    if column in counts:
        cond = counts[column].condition
        where = "" if cond is None else (f" (rows where {cond.column} is "
                                         f"{'not ' if cond.negate else ''}"
                                         f"{', '.join(sorted(cond.values))})")
        return (f"count of people: 1 to {int(threshold) - 1} suppressed{where}, with secondary "
                "suppression so a total cannot give it away; zeros shown")
    if column in rule.rates:
        return f"suppressed with {', '.join(rule.rates[column])}"
    return "not suppressed"


def dbt_manifest() -> Path:
    """The manifest the night's dbt build ran from (`dbt parse` before the run; dbt_project.yml
    honours DBT_TARGET_PATH)."""
    target = Path(os.environ.get("DBT_TARGET_PATH", "target"))
    return (target if target.is_absolute() else DBT_PROJECT_DIR / target) / "manifest.json"


def _dbt_models(manifest_path: Path) -> dict[str, dict]:
    if not manifest_path.exists():  # marts not built by dbt (a bare publish): no descriptions
        log.warning("data dictionary: no dbt manifest at %s; columns described from the "
                    "dictionary's common terms only", manifest_path)
        return {}
    nodes = json.loads(manifest_path.read_text())["nodes"].values()
    models = {n["name"]: n for n in nodes if n["resource_type"] == "model"}
    tests: dict[tuple[str, str | None], list[str]] = {}
    models_grain: dict[str, list[str]] = {}
    for n in nodes:
        if n["resource_type"] == "test" and n.get("attached_node"):
            model = n["attached_node"].split(".")[-1]
            meta = n.get("test_metadata") or {}
            name = meta.get("name", n["name"])
            if name == "unique_combination":
                kwargs = meta.get("kwargs") or {}
                grain = kwargs.get("columns") or (kwargs.get("arguments") or {}).get("columns")
                models_grain[model] = grain
            tests.setdefault((model, n.get("column_name")), []).append(name)
    for name, model in models.items():
        model["_tests"] = {col: sorted(set(t)) for (m, col), t in tests.items() if m == name}
        model["_grain"] = models_grain.get(name)
    return models


def build_dictionary(snapshot_dir: Path, manifest_path: Path | None = None,
                     policy: Policy | None = None) -> dict:
    policy = policy or load_policy()
    manifest_path = manifest_path or dbt_manifest()
    snapshot = json.loads((snapshot_dir / "manifest.json").read_text())
    models = _dbt_models(manifest_path)
    marts = []
    with duckdb.connect(str(snapshot_dir / "published.duckdb"), read_only=True) as con:
        for mart in snapshot["marts"]:
            model, rule = models.get(mart, {}), policy.rule(mart)
            columns = con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'marts'"
                " AND table_name = ? ORDER BY column_index", [mart]).fetchall()
            counts = set(rule.count_columns)
            marts.append({
                "name": mart, "description": " ".join(model.get("description", "").split()),
                "grain": "one row per " + ", ".join(rule.key or model.get("_grain") or ["-"]),
                "files": {"parquet": f"parquet/{mart}.parquet", "csv": f"csv/{mart}.csv",
                          "duckdb": f"published.duckdb: marts.{mart}"},
                "tests": model.get("_tests", {}).get(None, []),
                "columns": [_column(model, rule, policy.threshold, c, t, counts)
                            for c, t in columns]})
    return {"published_at": snapshot.get("published_at"), "run_id": snapshot.get("run_id"),
            "dbt_manifest": str(manifest_path), "suppression": SUPPRESSION_TEXT, "marts": marts}


def _column(model: dict, rule: MartRule, threshold: float, name: str, data_type: str,
            counts: set[str]) -> dict:
    described = (model.get("columns", {}).get(name) or {}).get("description", "")
    if name.endswith(FLAG):
        described = f"True when {name.removesuffix(FLAG)} is suppressed (shown as NULL)."
    meaning = " ".join((described or COMMON.get(name, "")).split())
    return {"name": name, "type": data_type, "meaning": meaning or "-",
            "unit": unit(name, counts, data_type),
            "suppression": suppression_rule(rule, name, threshold),
            "tests": model.get("_tests", {}).get(name, [])}


SUPPRESSION_TEXT = (
    "Any count of people or person-level events from 1 to 4 is suppressed: NULL with a "
    "<column>_suppressed flag in Parquet and DuckDB, the letter c in the CSV files. Secondary "
    "suppression hides the next smallest cell wherever a suppressed one could be worked out from "
    "a total; rates and percentages whose numerator or denominator is suppressed are suppressed "
    "too. Zeros are shown. Counts of incidents at places (fires, crimes at area level) are not "
    "suppressed. The working warehouse keeps exact figures for authorised analysts only.")


def write_dictionary(snapshot_dir: Path, manifest_path: Path | None = None) -> Path:
    data = build_dictionary(snapshot_dir, manifest_path)
    (snapshot_dir / DICTIONARY_JSON).write_text(json.dumps(data, indent=2) + "\n")
    path = snapshot_dir / DICTIONARY_MD
    path.write_text(markdown(data), encoding="utf-8")
    return path


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(data: dict) -> str:
    out = ["# Data dictionary", "",
           f"Snapshot published {data['published_at']} (run {data['run_id']}). Every published "
           "mart, its grain and each column's meaning, unit and suppression rule; also in "
           f"`{DICTIONARY_JSON}`. How to open the files: the README's \"Using the published "
           "data\".", "", "## Suppression", "", data["suppression"], "", "## Marts", ""]
    out += [f"- [{m['name']}](#{m['name']})" for m in data["marts"]]
    for m in data["marts"]:
        out += ["", f"## {m['name']}", "", m["description"] or "-", "",
                f"**Grain:** {m['grain']}. **Files:** `{m['files']['parquet']}`, "
                f"`{m['files']['csv']}`, {m['files']['duckdb']}.", "",
                "| Column | Type | Meaning | Unit | Suppression | Tests |",
                "|---|---|---|---|---|---|"]
        out += [f"| `{c['name']}` | {c['type']} | {_cell(c['meaning'])} | {_cell(c['unit'])} | "
                f"{_cell(c['suppression'])} | {', '.join(c['tests']) or '-'} |"
                for c in m["columns"]]
    return "\n".join(out) + "\n"
