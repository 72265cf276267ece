"""dbt source declarations generated from the registry (models/staging/<feed>/_<feed>__sources.yml).

`csp generated --write` regenerates them; a test fails when they drift from the registry.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from csp_pipeline.core.registry import LINEAGE_COLUMNS, Registry
from csp_pipeline.core.settings import DBT_PROJECT_DIR

PII_NOTES = {
    "pseudonym": "keyed pseudonym (HMAC-SHA256) of the partner's identifier",
    "birth_date": "first day of the month of birth (date of birth generalised at the boundary)",
    "postcode": "postcode district (outward code), generalised at the boundary",
}


def sources_doc(registry: Registry, feed: str) -> dict:
    tables = []
    for kind in registry.kinds_of(feed):
        columns = [
            {"name": c.warehouse_name,
             "description": PII_NOTES.get(c.pii or "", f"{c.name} as delivered ({c.type})")}
            for c in kind.stored_columns
        ] + [{"name": n, "description": "lineage"} for n in LINEAGE_COLUMNS]
        tables.append({
            "name": kind.name,
            "identifier": kind.id,
            "description": f"Every delivered version of {kind.partner}'s `{kind.name}` extract "
                           f"(business key: {', '.join(kind.key)}).",
            "columns": columns,
        })
    # Referenced in staging models as source('<feed>', '<kind>').
    return {"version": 2, "sources": [{"name": feed, "schema": "raw", "tables": tables}]}


def sources_path(feed: str, project: Path = DBT_PROJECT_DIR) -> Path:
    return project / "models" / "staging" / feed / f"_{feed}__sources.yml"


def render(registry: Registry, feed: str) -> str:
    header = "# Generated from plugins/csp_pipeline/core/feeds.yml by `csp generated --write`. Do not edit.\n"
    return header + yaml.safe_dump(sources_doc(registry, feed), sort_keys=False, width=100)
