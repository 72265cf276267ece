"""Great Expectations Data Docs from the shared pipeline run, opened from the file system with
the network cut: styled, logo shown, validation results listed, no request leaves the machine."""

from __future__ import annotations

import pytest

from csp_pipeline.ingest.data_docs import data_docs_index
from tests.support.browser import artefact_dir, open_offline
from tests.support.pipeline import PipelineRun

pytestmark = pytest.mark.e2e


def test_data_docs_index_works_offline(chromium, pipeline_run: PipelineRun):
    assert pipeline_run.returncode == 0, pipeline_run.output[-3000:]
    index = data_docs_index(pipeline_run.settings.data_dir / "gx")
    page, log = open_offline(chromium, index)
    page.wait_for_selector("table.ge-index-page-validation-results-table tbody tr")
    assert log.network == [] and log.errors == []
    rows = page.locator("table.ge-index-page-validation-results-table tbody tr")
    assert rows.count() >= 10 and "No matching records" not in rows.first.inner_text()
    # Bootstrap's grid and bootstrap-table's toolbar are styled; the logo and icons loaded.
    assert page.evaluate("getComputedStyle(document.querySelector('.alert-secondary'))"
                         ".backgroundColor") == "rgb(226, 227, 229)"  # Bootstrap 4's
    assert page.locator(".bootstrap-table .fixed-table-toolbar").count() >= 1
    assert page.evaluate("[...document.images].filter(i => i.src.includes('logo'))"
                         ".every(i => i.naturalWidth > 0)")
    assert "Font Awesome 6 Free" in page.evaluate(  # the status icons' font, from the site
        "document.fonts.ready.then(fs => [...fs].filter(f => f.status == 'loaded')"
        ".map(f => f.family))")
    page.screenshot(path=str(artefact_dir("data-docs") / "index.png"))
    page.context.close()


def test_a_validation_page_works_offline(chromium, pipeline_run: PipelineRun):
    site = data_docs_index(pipeline_run.settings.data_dir / "gx").parent
    result = sorted(site.glob("validations/**/*.html"))[-1]
    page, log = open_offline(chromium, result)
    assert log.network == [] and log.errors == []
    assert page.locator("table").count() >= 1
    page.screenshot(path=str(artefact_dir("data-docs") / "validation.png"))
    page.context.close()


def test_dbt_docs_open_on_the_project_overview(pipeline_run: PipelineRun):
    docs = (pipeline_run.settings.data_dir / "dbt_docs" / "static_index.html").read_text()
    assert "Community safety partnership warehouse" in docs
