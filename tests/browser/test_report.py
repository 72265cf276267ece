"""The snapshot's report in headless Chromium, opened from the file system with no network:
no script errors, every chart drawn, every figure equal to the published CSV read independently
(suppressed cells included), the board paper's fire table, and the PDF board pack."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.browser import artefact_dir, open_offline
from tests.support.pipeline import PipelineRun, csp

pytestmark = pytest.mark.e2e

HARTLEPOOL = "E06000001"
SECTIONS = ["data-as-of", "fire", "crime", "substance", "education", "neet", "youth-justice"]


@pytest.fixture(scope="module")
def snapshot(pipeline_run: PipelineRun) -> Path:
    assert pipeline_run.returncode == 0, pipeline_run.output[-3000:]
    return (pipeline_run.settings.published_dir / "current").resolve()


@pytest.fixture(scope="module")
def report_pages(snapshot: Path) -> list[Path]:
    index = snapshot / "report" / "index.html"
    assert index.exists()
    return [index, *sorted((snapshot / "report").glob("area-*.html"))]


@pytest.fixture(scope="module")
def index_page(chromium, report_pages):
    page, log = open_offline(chromium, report_pages[0])
    page.wait_for_function("window.reportCharts !== undefined")
    page.evaluate("window.reportCharts")
    yield page, log
    page.context.close()


def test_index_is_hartlepool_with_every_section_no_errors_no_network(index_page):
    page, log = index_page
    assert page.locator("body").get_attribute("data-area") == HARTLEPOOL
    assert page.locator("h1").inner_text().startswith("Hartlepool")
    assert [s.get_attribute("id") for s in page.locator("main > section").all()] == SECTIONS
    assert log.errors == [] and log.network == []
    folder = artefact_dir("report")
    for slug in SECTIONS:
        for d in page.locator(f"#{slug} details").all():
            d.evaluate("d => d.open = true")
        page.locator(f"#{slug}").screenshot(path=str(folder / f"section-{slug}.png"))
        assert page.locator(f"#{slug} table.data").count() >= 1, slug


def test_every_chart_is_drawn(index_page):
    page, _ = index_page
    charts = page.locator("div.chart")
    assert charts.count() >= 10
    for i in range(charts.count()):
        chart = charts.nth(i)
        assert chart.locator("svg.main-svg").count() >= 1, chart.get_attribute("id")
        # drawn marks: lines, markers or bars
        assert chart.locator("g.trace, path.point, g.point").count() >= 1


def test_area_selector_opens_each_area(chromium, report_pages, snapshot):
    areas = {r["la_code"] for r in read_csv(snapshot, "cs_fire_monthly_performance")}
    assert len(report_pages) == len(areas) == 4
    page, log = open_offline(chromium, report_pages[0])
    options = page.locator("#area-select option").all()
    page.select_option("#area-select", options[2].get_attribute("value"))
    page.wait_for_load_state("load")
    assert page.locator("h1").inner_text().startswith(options[2].inner_text())
    assert log.errors == [] and log.network == []
    page.context.close()


def read_csv(snapshot: Path, mart: str) -> list[dict]:
    with (snapshot / "csv" / f"{mart}.csv").open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def page_cells(page) -> list[dict]:
    return page.evaluate("""() => {
        const out = [];
        for (const t of document.querySelectorAll('table[data-mart]')) {
          if (!t.dataset.mart) continue;
          for (const td of t.querySelectorAll('td[data-col]')) {
            const key = td.dataset.key || td.closest('tr').dataset.key;
            out.push({mart: t.dataset.mart, la: t.dataset.laCode, key: key,
                      col: td.dataset.col, text: td.textContent.trim()});
          }
        }
        return out;
    }""")


def as_number(text: str) -> float | None:
    try:
        return float(text.replace(",", "").replace("%", "").replace("£", ""))
    except ValueError:
        return None


def same(shown: str, published: str) -> bool:
    """A page cell against the CSV value: `c` for `c`, numbers equal to the decimals shown."""
    if published == "c" or shown == "c":
        return shown == published
    if published == "":
        return shown == "-"
    a, b = as_number(shown), as_number(published)
    if a is not None and b is not None:
        places = len(shown.split(".")[1].rstrip("%")) if "." in shown else 0
        return abs(a - b) <= 0.5 * 10 ** -places + 1e-9
    return shown == {"true": "yes", "false": "no"}.get(published, published)


def test_every_figure_equals_the_published_csv(chromium, report_pages, snapshot):
    """Each table cell that shows a mart column is looked up in the snapshot's CSV by its key."""
    checked, suppressed, zeros = 0, 0, 0
    for path in report_pages:
        page, log = open_offline(chromium, path)
        cells = page_cells(page)
        page.context.close()
        assert cells and log.errors == []
        csvs: dict[str, list[dict]] = {}
        for c in cells:
            rows = csvs.setdefault(c["mart"], read_csv(snapshot, c["mart"]))
            key = json.loads(c["key"])
            match = [r for r in rows if r["la_code"] == c["la"]
                     and all(same(v, r[k]) for k, v in key.items())]
            assert len(match) == 1, (c, len(match))
            assert same(c["text"], match[0][c["col"]]), (c, match[0][c["col"]])
            checked += 1
            suppressed += c["text"] == "c"
            zeros += c["text"] == "0"
    assert checked > 1000
    assert suppressed >= 1 and zeros >= 1, (suppressed, zeros)


def test_fire_table_is_laid_out_as_the_board_paper(index_page, snapshot):
    page, _ = index_page
    table = page.locator("#fire table.data").first
    headers = [h.inner_text() for h in table.locator("thead th").all()]
    assert headers[0] == "Indicator" and headers[4] == "% Change"
    assert headers[3].startswith("Direction of Travel 20")
    month = max(r["month"] for r in read_csv(snapshot, "cs_fire_monthly_performance"))
    assert headers[2] == f"{month[5:7]}" or headers[2].endswith(month[2:4])
    indicators = [r.locator("td").first.inner_text() for r in table.locator("tbody tr").all()]
    assert indicators == ["Total Fires", "Total Deliberate Fires", "Deliberate Primary Fires",
                          "Deliberate Secondary Fires", "Accidental Dwelling Fires",
                          "Accidental Dwelling Fire Fatalities",
                          "Accidental Dwelling Fire Injuries"]


def test_csp_report_prints_the_board_pack(pipeline_run, tmp_path):
    pdf = tmp_path / "board-pack.pdf"
    done = csp(pipeline_run.env, "report", "--pdf", str(pdf))
    assert done.returncode == 0, done.stderr[-3000:]
    assert pdf.read_bytes().startswith(b"%PDF")
    folder = artefact_dir("report-pdf")
    for old in folder.glob("page-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(folder / "page")], check=True)
    pages = sorted(folder.glob("page-*.png"))
    assert len(pages) >= len(SECTIONS)  # each section starts a page
    shutil.copy2(pdf, folder / "board-pack.pdf")


def test_every_exposure_url_opens_a_section(index_page):
    import yaml

    from csp_pipeline.core.settings import DBT_PROJECT_DIR

    page, _ = index_page
    exposures = yaml.safe_load((DBT_PROJECT_DIR / "models" / "exposures.yml").read_text())
    for exposure in exposures["exposures"]:
        anchor = exposure["url"].split("#")[1]
        assert page.locator(f"main > section#{anchor}").count() == 1, exposure["name"]
