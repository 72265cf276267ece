"""The code lists of feeds.yml (and the delivery ledger's statuses) as a dbt macro, so dbt tests
and models read the one declaration.

`code_list('crime_type')` returns the list: `accepted_values` tests take it as their values
(`values: "{{ code_list('crime_type') }}"`) and SQL renders it as a DuckDB list literal.
Written by `csp generated --write`; a test fails when the file drifts from feeds.yml.
"""

from __future__ import annotations

from pathlib import Path

from csp_pipeline.core.ledger import Status
from csp_pipeline.core.registry import Registry
from csp_pipeline.core.settings import DBT_PROJECT_DIR

MACRO_PATH = DBT_PROJECT_DIR / "macros" / "code_lists.sql"
HEADER = ("{# Generated from plugins/csp_pipeline/core/feeds.yml (code_lists) and core/ledger.py "
          "(delivery_status) by `csp generated --write`. Do not edit. #}")


def _jinja_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def render(registry: Registry) -> str:
    lists = []
    declared = {**registry.code_lists, "delivery_status": tuple(s.value for s in Status)}
    for name, values in sorted(declared.items()):
        items = ",\n        ".join(_jinja_string(v) for v in values)
        lists.append(f"    {_jinja_string(name)}: [\n        {items}]")
    body = ",\n".join(lists)
    return (f"{HEADER}\n"
            "{% macro code_list(name) -%}\n"
            f"{{%- set lists = {{\n{body}\n}} -%}}\n"
            "{%- if name not in lists -%}\n"
            "    {{ exceptions.raise_compiler_error('no code list ' ~ name ~ ' in feeds.yml') }}\n"
            "{%- endif -%}\n"
            "{{ return(lists[name]) }}\n"
            "{%- endmacro %}\n")


def generated_files(registry: Registry) -> dict[Path, str]:
    return {MACRO_PATH: render(registry)}
