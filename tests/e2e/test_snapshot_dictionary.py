"""The data dictionary that travels with the shared pipeline run's snapshot, against the
snapshot's own files: every published mart and column described, with grain, unit and the
suppression rule; and the dbt exposures naming the report's pages."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import yaml

from csp_pipeline.core.settings import DBT_PROJECT_DIR
from tests.support.pipeline import PipelineRun

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def snapshot(pipeline_run: PipelineRun) -> Path:
    assert pipeline_run.returncode == 0, pipeline_run.output[-3000:]
    return (pipeline_run.settings.published_dir / "current").resolve()


def test_every_published_column_has_meaning_unit_and_rule(snapshot):
    data = json.loads((snapshot / "data_dictionary.json").read_text())
    manifest = json.loads((snapshot / "manifest.json").read_text())
    assert [m["name"] for m in data["marts"]] == manifest["marts"]
    for mart in data["marts"]:
        parquet = snapshot / "parquet" / f"{mart['name']}.parquet"
        with duckdb.connect() as con:
            published = [r[0] for r in con.execute(
                f"DESCRIBE SELECT * FROM '{parquet}'").fetchall()]
        assert [c["name"] for c in mart["columns"]] == published, mart["name"]
        assert mart["description"] and mart["grain"].startswith("one row per la_code")
        for col in mart["columns"]:
            assert col["meaning"] not in ("", "-"), (mart["name"], col["name"])
            assert col["unit"] and col["suppression"], (mart["name"], col["name"])
    kpi = {c["name"]: c for c in next(m for m in data["marts"]
                                       if m["name"] == "yj_kpi_quarterly")["columns"]}
    assert kpi["denominator"]["suppression"].startswith("count of people: 1 to 4 suppressed")
    assert kpi["value_pct"]["suppression"] == "suppressed with numerator, denominator"
    assert "not_null" in kpi["quarter"]["tests"]
    text = (snapshot / "DATA_DICTIONARY.md").read_text()
    assert "## yj_kpi_quarterly" in text and "letter c in the CSV files" in text


def test_exposures_name_the_report_pages_youth_justice_included():
    exposures = yaml.safe_load((DBT_PROJECT_DIR / "models" / "exposures.yml").read_text())
    urls = {e["name"]: e.get("url", "") for e in exposures["exposures"]}
    assert urls["youth_justice_performance"].endswith("report/index.html#youth-justice")
    assert all(u.startswith("../published/current/report/index.html#") for u in urls.values())
