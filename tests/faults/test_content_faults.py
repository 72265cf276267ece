"""Faults in a file's content, through the real gate and promote (real DuckDB, real Great
Expectations suites from expectations/, real quarantine folder); no Airflow needed.

Every case lands one police crimes extract of 40 valid rows with one fault, processes it as the
feed DAG does and asserts: nothing lost (rows in the file = loaded + rejected, or the whole file
kept in quarantine), nothing double counted (raw rows per extract date = distinct keys), and the
message names the file, row, column and rule where the fault has them.
"""

from __future__ import annotations

import csv
import io
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.settings import Settings
from csp_pipeline.ingest.landing import discover, unrecognised
from csp_pipeline.ingest.promote import Outcome
from tests.support.rows import Row, csv_bytes, valid_rows, write_extract
from tests.support.warehouse import env_for, process_landed, sql

REGISTRY = load_registry()
POLICE = REGISTRY.kind("police", "crimes")
NIGHT = date(2024, 5, 31)
KEY = b"faults-test-pseudonym-key"
N = 40


@pytest.fixture(scope="module")
def gx_data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("faults-gx")


@pytest.fixture
def settings(tmp_path, gx_data_dir) -> Settings:
    return Settings.from_env(env_for(tmp_path, gx_data_dir))


def rows(day: date = NIGHT, start: int = 0) -> list[Row]:
    return valid_rows(POLICE, N, day, start=start)


def land(settings: Settings, data: bytes, day: date = NIGHT) -> Path:
    path = settings.landing_dir / "police" / POLICE.file_name(day.isoformat())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def run(settings: Settings, path: Path, run_id: str = "night") -> Outcome:
    return process_landed(settings, path, run_id, KEY)


def accounting(settings: Settings, outcomes: list[Outcome], in_files: list[int]) -> dict:
    """Rows lost (delivered rows neither loaded, rejected nor kept in quarantine) and rows double
    counted (raw rows beyond one per business key and extract date)."""
    kept = sum(n for o, n in zip(outcomes, in_files, strict=True) if o.status == "quarantined")
    skipped = sum(n for o, n in zip(outcomes, in_files, strict=True) if o.status == "skipped")
    loaded = sql(settings, "SELECT count(*) FROM raw.police__crimes")[0][0]
    distinct = sql(settings, 'SELECT count(DISTINCT ("incident_id", _extract_date)) '
                             "FROM raw.police__crimes")[0][0]
    superseded = sql(settings, "SELECT coalesce(sum(rows), 0) FROM meta.deliveries "
                               "WHERE status = 'superseded'")[0][0]
    rejected = sql(settings, "SELECT coalesce(sum(rows_rejected), 0) FROM meta.deliveries "
                             "WHERE status IN ('loaded', 'superseded')")[0][0]
    delivered = sum(in_files) - skipped
    return {"rows_lost": delivered - (loaded + superseded + rejected + kept),
            "double_counted": loaded - distinct}


def message(o: Outcome) -> str:
    return o.reason or "; ".join(o.rejects + o.warnings) or f"{o.status}, {o.rows} rows"


def names(text: str, *parts: str) -> bool:
    return all(p in text for p in parts)


def record(fault: dict, case: str, outcomes: list[Outcome], figures: dict) -> None:
    fault.update(case=case, kind="content", exit=outcomes[-1].status, **figures,
                 message=message(outcomes[-1])[:160])


def text(data: list[Row], header: list[str] | None = None, newline: str = "\n") -> bytes:
    return csv_bytes(header or POLICE.column_names, data, newline)


def test_repeat_delivery_is_skipped(settings, fault):
    path = write_extract(settings.landing_dir, POLICE, NIGHT, rows())
    data = path.read_bytes()
    first = run(settings, path)
    second = run(settings, land(settings, data))
    figures = accounting(settings, [first, second], [N, N])
    record(fault, "repeat delivery (same bytes twice)", [first, second], figures)
    assert (first.status, second.status) == ("loaded", "skipped")
    assert second.reason == "identical bytes already loaded"
    assert figures == {"rows_lost": 0, "double_counted": 0}


def test_re_issue_replaces_the_earlier_delivery(settings, fault):
    first = run(settings, write_extract(settings.landing_dir, POLICE, NIGHT, rows()))
    fixed = rows()
    fixed[4]["Location"] = "On or near Corrected Street"
    second = run(settings, write_extract(settings.landing_dir, POLICE, NIGHT, fixed))
    figures = accounting(settings, [first, second], [N, N])
    record(fault, "re-issued extract (same date, new bytes)", [first, second], figures)
    assert second.status == "loaded"
    assert sql(settings, "SELECT count(*) FROM raw.police__crimes WHERE location = "
                         "'On or near Corrected Street'")[0][0] == 1
    assert sql(settings, "SELECT status FROM meta.deliveries ORDER BY processed_at") == [
        ("superseded",), ("loaded",)]
    assert figures == {"rows_lost": 0, "double_counted": 0}


def test_out_of_order_delivery_loads_both_dates(settings, fault):
    later = run(settings, write_extract(settings.landing_dir, POLICE, NIGHT, rows()))
    earlier_day = NIGHT - timedelta(days=1)
    earlier = run(settings, write_extract(settings.landing_dir, POLICE, earlier_day,
                                          rows(earlier_day, start=N)))
    figures = accounting(settings, [later, earlier], [N, N])
    record(fault, "out-of-order delivery (older extract after newer)", [later, earlier], figures)
    assert (later.status, earlier.status) == ("loaded", "loaded")
    assert figures == {"rows_lost": 0, "double_counted": 0}


def quarantined_case(settings, fault, case: str, data: bytes, in_file: int, *parts: str,
                     day: date = NIGHT) -> Outcome:
    path = land(settings, data, day)
    out = run(settings, path)
    figures = accounting(settings, [out], [in_file])
    record(fault, case, [out], figures)
    assert out.status == "quarantined", message(out)
    kept = settings.quarantine_dir / "police" / path.name
    assert kept.read_bytes() == data and not path.exists()
    assert names(out.reason, f"police/{path.name}", *parts), out.reason
    assert figures == {"rows_lost": 0, "double_counted": 0}
    return out


def test_truncated_file_is_quarantined_naming_the_broken_line(settings, fault):
    data = text(rows())
    cut = data[: data.rindex(b"\n", 0, len(data) - 1) + 30]  # the last row stops mid-field
    quarantined_case(settings, fault, "truncated file (last row cut mid-field)", cut, N,
                     "well-formed CSV row", f"line {N + 1}")


def test_windows_1252_bytes_in_a_utf8_kind_are_quarantined_naming_the_line(settings, fault):
    data = rows()
    data[6]["Location"] = "On or near Café Street £"
    raw = text(data).decode().encode("cp1252")
    quarantined_case(settings, fault, "Windows-1252 file where UTF-8 is declared", raw, N,
                     "well-formed CSV row", "line 8")


def test_bom_and_crlf_load_every_row_with_clean_values(settings, fault):
    clean = rows()
    path = land(settings, b"\xef\xbb\xbf" + text(clean, newline="\r\n"))
    out = run(settings, path)
    figures = accounting(settings, [out], [N])
    record(fault, "byte-order mark and CRLF line ends", [out], figures)
    assert (out.status, out.rows) == ("loaded", N)
    assert sql(settings, "SELECT count(*) FROM raw.police__crimes WHERE location LIKE '%\r%' "
                         "OR crime_id LIKE '%\ufeff%'")[0][0] == 0
    assert figures == {"rows_lost": 0, "double_counted": 0}


def test_renamed_column_quarantines_the_file_naming_it(settings, fault):
    header = [("Crime Category" if h == "Crime type" else h) for h in POLICE.column_names]
    data = [{("Crime Category" if k == "Crime type" else k): v for k, v in r.items()}
            for r in rows()]
    quarantined_case(settings, fault, "renamed column", text(data, header), N,
                     "exact column set", "Crime type", "Crime Category")


def test_missing_column_quarantines_the_file_naming_it(settings, fault):
    header = [h for h in POLICE.column_names if h != "LSOA code"]
    quarantined_case(settings, fault, "missing column", text(rows(), header), N,
                     "exact column set", "LSOA code")


def test_extra_trailing_column_is_reported_and_the_rows_load(settings, fault):
    data = [dict(r, Notes="partner note") for r in rows()]
    path = land(settings, text(data, [*POLICE.column_names, "Notes"]))
    out = run(settings, path)
    figures = accounting(settings, [out], [N])
    record(fault, "extra column appended", [out], figures)
    assert (out.status, out.rows) == ("loaded", N)
    assert names(" ".join(out.warnings), "police/", "Notes", "no undeclared columns")
    assert figures == {"rows_lost": 0, "double_counted": 0}


def test_empty_file_is_quarantined_as_an_empty_file(settings, fault):
    out = quarantined_case(settings, fault, "empty file (0 bytes)", b"", 0, "empty file")
    assert "missing" not in out.reason


def test_header_only_file_loads_no_rows(settings, fault):
    path = land(settings, text([]))
    out = run(settings, path)
    figures = accounting(settings, [out], [0])
    record(fault, "header only, no rows", [out], figures)
    assert (out.status, out.rows) == ("loaded", 0)
    assert figures == {"rows_lost": 0, "double_counted": 0}


def test_ten_percent_bad_rows_quarantine_the_file_naming_rows_and_rule(settings, fault):
    data = rows()
    for n in (5, 15, 25, 35):  # 10%: over the crime type rule's tolerance
        data[n - 1]["Crime type"] = "Burglery"
    quarantined_case(settings, fault, "10% bad rows (over the reject tolerance)", text(data), N,
                     "column 'Crime type'", "value in the contract's code list",
                     "rows: 5, 15, 25, 35")


def test_a_few_future_dates_are_rejected_naming_row_and_rule(settings, fault):
    data = rows()
    data[2]["Recorded date"] = (NIGHT + timedelta(days=30)).isoformat()
    path = land(settings, text(data))
    out = run(settings, path)
    figures = accounting(settings, [out], [N])
    record(fault, "future date (after the extract date)", [out], figures)
    assert (out.status, out.rows, out.rows_rejected) == ("loaded", N - 1, 1)
    assert names(" ".join(out.rejects), "police/", "column 'Recorded date'", "rows: 3",
                 "not after extract date")
    assert figures == {"rows_lost": 0, "double_counted": 0}


def test_duplicate_keys_quarantine_the_file_naming_the_key(settings, fault):
    data = rows()
    data[9]["Incident ID"] = data[3]["Incident ID"]
    quarantined_case(settings, fault, "duplicate business keys", text(data), N,
                     "business key unique", "Incident ID", "rows: 4, 10")


def test_embedded_newlines_in_quoted_fields_load_as_one_value(settings, fault):
    data = rows()
    data[5]["Location"] = "On or near\nTwo Line Street"
    path = land(settings, text(data))
    out = run(settings, path)
    figures = accounting(settings, [out], [N])
    record(fault, "embedded newline in a quoted field", [out], figures)
    assert (out.status, out.rows) == ("loaded", N)
    assert sql(settings, "SELECT _row_number FROM raw.police__crimes "
                         "WHERE location = 'On or near\nTwo Line Street'") == [(6,)]
    assert figures == {"rows_lost": 0, "double_counted": 0}


def test_formula_cells_load_as_their_true_text(settings, fault):
    """The raw and published DuckDB/Parquet keep the text; the CSV export neutralises it
    (tests/integration/test_publish.py)."""
    formula = '=HYPERLINK("http://evil.example","Ward")'
    data = rows()
    data[0]["Location"] = formula
    data[1]["LSOA name"] = "@SUM(1+1)"
    out = run(settings, land(settings, text(data)))
    figures = accounting(settings, [out], [N])
    record(fault, "formula cells (=, @)", [out], figures)
    assert (out.status, out.rows) == ("loaded", N)
    assert sql(settings, "SELECT location FROM raw.police__crimes WHERE _row_number = 1") == [
        (formula,)]
    assert figures == {"rows_lost": 0, "double_counted": 0}


def test_very_long_fields_load_whole(settings, fault):
    data = rows()
    data[7]["Location"] = "x" * 200_000
    out = run(settings, land(settings, text(data)))
    figures = accounting(settings, [out], [N])
    record(fault, "very long field (200,000 characters)", [out], figures)
    assert (out.status, out.rows) == ("loaded", N)
    assert sql(settings, "SELECT max(length(location)) FROM raw.police__crimes")[0][0] == 200_000
    assert figures == {"rows_lost": 0, "double_counted": 0}


MISNAMED = {"crimes_2024-05-31.csv": "not a declared police extract name",
            "crimes 20240531.csv": "space or a non-ASCII character",
            "crímes_20240531.csv": "space or a non-ASCII character",
            "arrests_20240531.csv": "not a declared police extract name"}


def test_misnamed_files_are_reported_left_in_place_and_never_read(settings, fault):
    folder = settings.landing_dir / "police"
    folder.mkdir(parents=True)
    for name in MISNAMED:
        (folder / name).write_bytes(text(rows()))
    found = {p.name: why for p, why in unrecognised(REGISTRY, settings.landing_dir)}
    fault.update(case="misnamed files (date format, space, non-ASCII, undeclared kind)",
                 kind="content", exit="reported, left in place", rows_lost=0, double_counted=0,
                 message=f"crimes_2024-05-31.csv: {found.get('crimes_2024-05-31.csv')}"[:160])
    assert discover(REGISTRY, settings.landing_dir, "police", None) == []
    assert {n: w for n, w in found.items() if n in MISNAMED} == {
        n: found[n] for n in MISNAMED} and all(MISNAMED[n] in found[n] for n in MISNAMED)
    assert all((folder / n).exists() for n in MISNAMED)


def test_a_symlink_is_refused_and_its_target_never_read(settings, fault, tmp_path):
    target = tmp_path / "elsewhere" / "secret.csv"
    target.parent.mkdir()
    target.write_bytes(text(rows()))
    link = settings.landing_dir / "police" / POLICE.file_name(NIGHT.isoformat())
    link.parent.mkdir(parents=True)
    link.symlink_to(target)
    found = dict(unrecognised(REGISTRY, settings.landing_dir))
    fault.update(case="symbolic link in the landing zone", kind="content",
                 exit="refused, reported", rows_lost=0, double_counted=0,
                 message=f"{link.name}: {found.get(link)}")
    assert discover(REGISTRY, settings.landing_dir, "police", None) == []
    assert found[link] == "a symbolic link: refused, never followed"
    assert target.exists() and link.is_symlink()


def test_rows_in_the_csv_reader_match_the_file(settings):
    """The suite's own accounting: a clean file's rows as Python's CSV reader counts them."""
    data = text(rows())
    assert len(list(csv.reader(io.StringIO(data.decode())))) - 1 == N
    shutil.rmtree(settings.landing_dir, ignore_errors=True)
