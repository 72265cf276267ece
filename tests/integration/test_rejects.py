"""Row-level rejects through the real `ingest.process` (real DuckDB file, real GE suites from
expectations/, real quarantine folder): a reject rule rejects the failing rows and the rest of the
file loads; over its tolerance (judged over the whole file, never per chunk) the file is
quarantined; rejected rows are kept as delivered in the rejects file, recorded in
meta.rejected_rows, counted, released as a supplementary delivery, and expire from the day they
were rejected. Every expected figure is computed here from the rows written, in plain Python.
"""

from __future__ import annotations

import csv
import io
import json
import re
import stat
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from csp_pipeline.cli.main import main as csp
from csp_pipeline.core.registry import Kind, load_registry
from csp_pipeline.core.settings import PROJECT_ROOT, Settings
from csp_pipeline.ingest import gate
from csp_pipeline.ingest.landing import discover, match
from csp_pipeline.ingest.promote import Outcome
from csp_pipeline.ingest.results import MASK
from csp_pipeline.privacy.retention import purge_expired
from tests.support.rows import Row, csv_bytes, valid_rows, write_extract
from tests.support.warehouse import env_for, process_landed, sql

REGISTRY = load_registry()
POLICE = REGISTRY.kind("police", "crimes")
CHILDREN = REGISTRY.kind("youth_justice", "children")
NIGHT = date(2024, 5, 31)
KEY = b"rejects-test-pseudonym-key"
CODES = "value in the contract's code list"
FORMAT = "value matches format"
RANGE = "value within range"
REQUIRED = "required value present"
SOUTH_YORKSHIRE = (PROJECT_ROOT.parent / "shared" / "realdata" / "police_uk" / "south-yorkshire"
                   / "2021-01-south-yorkshire-street.csv")


def run(settings: Settings, path: Path, run_id: str = "night-1") -> Outcome:
    return process_landed(settings, path, run_id, KEY)


def csv_rows(path: Path) -> list[list[str]]:
    """A CSV file as a person's CSV reader sees it: header first, then the data rows."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.reader(fh))


def rejects_file(settings: Settings, kind: Kind, day: date) -> Path:
    return settings.quarantine_dir / kind.feed / f"{kind.name}_{day:%Y%m%d}.rejects.csv"


def police_path(settings: Settings, day: date = NIGHT) -> Path:
    return settings.landing_dir / "police" / POLICE.file_name(day.isoformat())


def planted(rows: list[Row], changes: dict[int, tuple[str, str | None]]) -> list[Row]:
    """A copy of `rows` with data row n (1-based) given column = value."""
    out = [dict(r) for r in rows]
    for n, (column, value) in changes.items():
        out[n - 1][column] = value
    return out


def assert_rows_add_up(settings: Settings, path: Path) -> None:
    """Rows in the file = rows loaded + rows rejected, in the ledger, the raw table and the
    record of rejections."""
    in_file = len(csv_rows(path)) - 1
    extract = match(REGISTRY, path.parent.name, path)
    [(loaded, rejected)] = sql(settings, """SELECT rows, rows_rejected FROM meta.deliveries
                                            WHERE source_file = ? AND status = 'loaded'""",
                               [path.name])
    raw = sql(settings, f"SELECT count(*) FROM {extract.kind.raw_table} WHERE _source_file = ?",
              [path.name])[0][0]
    recorded = sql(settings, """SELECT count(DISTINCT row_number) FROM meta.rejected_rows
                                WHERE source_file = ?""", [path.name])[0][0]
    assert in_file == loaded + rejected and raw == loaded and recorded == rejected


# --- a few bad rows: the rest loads --------------------------------------------------------------

BAD_POLICE = {2: ("Crime type", "Burglery", CODES), 6: ("LSOA code", "X1", FORMAT),
              9: ("Latitude", "70.5", RANGE)}


def _police_with_rejects(settings: Settings, n: int = 40) -> tuple[Path, list[Row]]:
    rows = planted(valid_rows(POLICE, n, NIGHT), {k: v[:2] for k, v in BAD_POLICE.items()})
    return write_extract(settings.landing_dir, POLICE, NIGHT, rows), rows


def test_a_file_with_a_few_bad_rows_loads_the_rest_and_records_each_reject(settings):
    path, rows = _police_with_rejects(settings)
    out = run(settings, path)
    kept = [n for n in range(1, len(rows) + 1) if n not in BAD_POLICE]
    assert (out.status, out.rows, out.rows_rejected) == ("loaded", len(kept), len(BAD_POLICE))
    assert out.warnings == [] and len(out.rejects) == len(BAD_POLICE)
    for column, _, rule in BAD_POLICE.values():
        assert any(f"reject rule '{rule}' failed on column '{column}'" in r for r in out.rejects)
    # The rest loaded, each row keeping its number in the delivered file.
    loaded = sql(settings, f"SELECT _row_number, incident_id FROM {POLICE.raw_table} ORDER BY 1")
    assert loaded == [(n, rows[n - 1]["Incident ID"]) for n in kept]
    # Each rejected row recorded: file, row, column, rule, value.
    recorded = sql(settings, """SELECT run_id, feed, kind, source_file, extract_date, row_number,
                                       column_name, rule, value
                                FROM meta.rejected_rows ORDER BY row_number""")
    assert recorded == [("night-1", "police", "crimes", path.name, NIGHT, n, column, rule, value)
                        for n, (column, value, rule) in sorted(BAD_POLICE.items())]
    assert sql(settings, "SELECT status, rows, rows_rejected FROM meta.deliveries") == [
        ("loaded", len(kept), len(BAD_POLICE))]
    failed = sql(settings, """SELECT column_name, severity, unexpected_count
                              FROM meta.validation_results WHERE NOT success ORDER BY 1""")
    assert failed == sorted((c, "reject", 1) for c, _, _ in BAD_POLICE.values())
    assert_rows_add_up(settings, path)
    # The delivered file stays in the landing zone (loaded); only its bad rows are in quarantine.
    assert path.exists() and not (settings.quarantine_dir / "police" / path.name).exists()
    report = json.loads(rejects_file(settings, POLICE, NIGHT).with_suffix(".report.json")
                        .read_text())
    assert report["rows"] == {"in_file": len(rows), "loaded": len(kept),
                              "rejected": len(BAD_POLICE), "quarantined": 0}
    assert [(r["row"], r["rejects_file_row"], r["column"]) for r in report["rejected"]] == [
        (n, i, column) for i, (n, (column, _, _)) in enumerate(sorted(BAD_POLICE.items()), 1)]
    md = rejects_file(settings, POLICE, NIGHT).with_suffix(".report.md").read_text()
    assert f"{len(rows)}: {len(kept)} loaded, {len(BAD_POLICE)} rejected" in md
    assert "csp release police/crimes_20240531.rejects.csv" in md


def test_rejected_values_of_identifier_columns_are_masked_everywhere_but_the_rejects_file(
        settings):
    rows = planted(valid_rows(CHILDREN, 30, NIGHT), {3: ("ETHNICITY", "Martian"),
                                                     7: ("DATE_OF_BIRTH", None)})
    path = write_extract(settings.landing_dir, CHILDREN, NIGHT, rows)
    out = run(settings, path)
    assert (out.status, out.rows, out.rows_rejected) == ("loaded", 28, 2)
    assert sql(settings, """SELECT row_number, column_name, rule, value FROM meta.rejected_rows
                            ORDER BY row_number""") == [
        (3, "ETHNICITY", CODES, "Martian"), (7, "DATE_OF_BIRTH", REQUIRED, MASK)]
    identifiers = {r[c.name] for r in rows for c in CHILDREN.pii_columns if r[c.name]}
    rejects = rejects_file(settings, CHILDREN, NIGHT)
    written = [repr(sql(settings, "SELECT * FROM meta.rejected_rows")),
               repr(sql(settings, "SELECT * FROM meta.deliveries")),
               *(p.read_text() for p in rejects.parent.glob("*.report.*"))]
    assert not {i for i in identifiers for text in written if i in text}
    # The rejects file is the partner's own rows, identifiers included, owner-only like them.
    assert rows[2]["FORENAME"] in rejects.read_text()
    assert_rows_add_up(settings, path)


def test_a_malformed_date_of_birth_is_a_format_error_and_an_invalid_postcode_is_reported(
        settings):
    """Not "required value present" for a date of birth that was given but is no date; a
    postcode that is not one is reported (a warning: the row loads, with no district)."""
    rows = planted(valid_rows(CHILDREN, 60, NIGHT), {3: ("DATE_OF_BIRTH", "31/02/2010"),
                                                     7: ("DATE_OF_BIRTH", None),
                                                     9: ("POSTCODE", "NOT A POSTCODE")})
    path = write_extract(settings.landing_dir, CHILDREN, NIGHT, rows)
    out = run(settings, path)
    assert (out.status, out.rows, out.rows_rejected) == ("loaded", 58, 2)
    assert sql(settings, """SELECT row_number, column_name, rule, value FROM meta.rejected_rows
                            ORDER BY row_number""") == [
        (3, "DATE_OF_BIRTH", "value parses as a date", MASK),
        (7, "DATE_OF_BIRTH", REQUIRED, MASK)]
    [warning] = [w for w in out.warnings if "POSTCODE" in w]
    assert "value is a UK postcode" in warning and "9" in warning
    assert "NOT A POSTCODE" not in warning  # an identifier: masked
    assert sql(settings, """SELECT severity, unexpected_count FROM meta.validation_results
                            WHERE column_name = 'POSTCODE' AND NOT success""") == [("warning", 1)]
    assert_rows_add_up(settings, path)


def test_a_0_byte_file_is_quarantined_as_an_empty_file(settings):
    path = settings.landing_dir / "police" / POLICE.file_name(NIGHT.isoformat())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    out = run(settings, path)
    assert out.status == "quarantined"
    assert "empty file" in out.reason and "missing" not in out.reason


# --- tolerance: judged over the whole file ---------------------------------------------------------

@pytest.mark.parametrize("bad", [2, 3])
def test_a_reject_rule_over_its_tolerance_quarantines_the_whole_file(settings, bad):
    n = 40
    tolerance = POLICE.tolerance(POLICE.column("Crime type"))
    over = bad > tolerance * n  # 2 of 40 is 5%: within a 5% tolerance; 3 of 40 is over it
    rows = planted(valid_rows(POLICE, n, NIGHT), {5 * i: ("Crime type", "Burglery")
                                                  for i in range(1, bad + 1)})
    path = write_extract(settings.landing_dir, POLICE, NIGHT, rows)
    out = run(settings, path)
    if not over:
        assert (out.status, out.rows, out.rows_rejected) == ("loaded", n - bad, bad)
        return
    assert out.status == "quarantined" and "over its tolerance" in out.reason
    report = json.loads((settings.quarantine_dir / "police" / path.name)
                        .with_suffix(".report.json").read_text())
    [failure] = report["failures"]
    assert (failure["rule"], failure["column"], failure["severity"], failure["tolerance"],
            failure["over_tolerance"], failure["rows"]) == (
        CODES, "Crime type", "blocking", tolerance, True, [5 * i for i in range(1, bad + 1)])
    assert report["rows"] == {"in_file": n, "loaded": 0, "rejected": 0, "quarantined": n}
    assert not rejects_file(settings, POLICE, NIGHT).exists()
    assert sql(settings, "SELECT count(*) FROM meta.rejected_rows") == [(0,)]
    assert sql(settings, f"SELECT count(*) FROM {POLICE.raw_table}") == [(0,)]
    assert sql(settings, "SELECT status, rows, rows_rejected FROM meta.deliveries") == [
        ("quarantined", 0, 0)]


def test_the_tolerance_is_judged_over_the_whole_file(settings, monkeypatch):
    """250 bad rows near the top (12% of the first 2,048) and 100 near the end (5.4% of the
    last 1,856), each over a 5% tolerance where they cluster, are 4.4% of the file: rejected,
    and the other 7,650 rows load with their own row numbers. GE lists the failing rows in one
    more pass over the scan, of the failed rule alone."""
    n = 8000
    bad = [*range(11, 261), *range(7801, 7901)]
    rows = planted(valid_rows(POLICE, n, NIGHT), {b: ("Crime type", "Burglery") for b in bad})
    assert 100 / 1856 > POLICE.tolerance(POLICE.column("Crime type")) >= len(bad) / n
    passes, real_run = [], gate._run

    def counting_run(kind, scopes, data, params, root, only=()):
        passes.append((scopes, len(only)))
        return real_run(kind, scopes, data, params, root, only)

    monkeypatch.setattr(gate, "_run", counting_run)
    path = write_extract(settings.landing_dir, POLICE, NIGHT, rows)
    out = run(settings, path)
    assert passes == [(("header",), 0), (("trailing",), 0), (("file", "row"), 0), (("row",), 1)]
    assert (out.status, out.rows, out.rows_rejected) == ("loaded", n - len(bad), len(bad))
    assert sql(settings, "SELECT row_number, value FROM meta.rejected_rows ORDER BY 1") == [
        (b, "Burglery") for b in bad]
    numbers = sql(settings, f"SELECT _row_number FROM {POLICE.raw_table} ORDER BY 1")
    assert [r for (r,) in numbers] == sorted(set(range(1, n + 1)) - set(bad))
    assert_rows_add_up(settings, path)


def test_a_file_bound_for_quarantine_is_not_asked_for_its_rejected_rows(settings, monkeypatch):
    """Most rows fail a reject rule: more than its tolerance of the most rows the file can hold,
    so GE is not asked for every failing row (they would all be quarantined anyway)."""
    asked, real_run = [], gate._run

    def recording_run(kind, scopes, data, params, root, only=()):
        asked.append(only)
        return real_run(kind, scopes, data, params, root, only)

    monkeypatch.setattr(gate, "_run", recording_run)
    rows = planted(valid_rows(POLICE, 40, NIGHT), {n: ("LSOA code", "X1") for n in range(1, 31)})
    out = run(settings, write_extract(settings.landing_dir, POLICE, NIGHT, rows))
    assert out.status == "quarantined" and "30 row(s) (75% of 40 rows" in out.reason
    assert asked == [(), (), ()]  # header, trailing columns, the file's rules: no row listing


# --- the rejects file: the rows as delivered --------------------------------------------------------

def _south_yorkshire_columns(count: int) -> list[tuple[str, str]]:
    """(MSOA, COLOUR) pairs as the South Yorkshire uploader appended them, commas included."""
    pairs = sorted({(r[-2], r[-1]) for r in csv_rows(SOUTH_YORKSHIRE)[1:]},
                   key=lambda p: ("," not in p[0], p))
    return pairs[:count]


def test_the_rejects_file_holds_the_rejected_rows_exactly_as_delivered(settings):
    n = 40
    rows = valid_rows(POLICE, n, NIGHT)
    extra = _south_yorkshire_columns(n)
    for row, (msoa, colour) in zip(rows, extra, strict=False):
        row.update({"MSOA": msoa, "COLOUR": colour})
    rows[2].update({"Location": 'On or near "The Crescent", Hartlepool', "Context": None,
                    "Crime type": "Burglery"})
    rows[16]["Longitude"] = "1.9e1"  # parses, out of range
    header = [*POLICE.column_names, "MSOA", "COLOUR"]
    path = police_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xef\xbb\xbf" + csv_bytes(header, rows, newline="\r\n"))  # BOM, CRLF
    out = run(settings, path)
    assert (out.status, out.rows_rejected) == ("loaded", 2)
    delivered = csv_rows(path)
    rejects = rejects_file(settings, POLICE, NIGHT)
    assert csv_rows(rejects) == [delivered[0], delivered[3], delivered[17]]
    assert "," in delivered[3][header.index("MSOA")]  # a quoted value survived as one field
    assert stat.S_IMODE(rejects.parent.stat().st_mode) == 0o700
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in rejects.parent.iterdir()} == {
        rejects.name: 0o600, "crimes_20240531.rejects.report.json": 0o600,
        "crimes_20240531.rejects.report.md": 0o600}


# --- undeclared columns at the end: reported and ignored ----------------------------------------

def test_real_south_yorkshire_rows_with_appended_columns_load_and_the_extras_are_reported(
        settings):
    """The real South Yorkshire download (12,398 rows, `MSOA,COLOUR` appended by its uploader) in
    the crimes layout: our three columns after police.uk's twelve, the two extras at the end.
    Two rows are spoilt here; which rows must be rejected is computed from the rules below."""
    real = csv_rows(SOUTH_YORKSHIRE)
    police_uk = real[0][:12]
    assert police_uk == POLICE.column_names[:12] and real[0][12:] == ["MSOA", "COLOUR"]
    header = [*POLICE.column_names, "MSOA", "COLOUR"]
    day = date(2021, 1, 31)
    data = [[*r[:12], f"SY{i:06d}", "2021-01-15", "E05001234", *r[12:]]
            for i, r in enumerate(real[1:], start=1)]
    data[99][9] = "Burglery"
    data[4999][7] = "E0100743"  # an LSOA code a digit short
    path = police_path(settings, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows([header, *data])

    out = run(settings, path)

    codes = set(POLICE.column("Crime type").values)
    lsoa = re.compile(POLICE.column("LSOA code").pattern)

    def in_range(text: str, name: str) -> bool:
        col = POLICE.column(name)
        return not text or col.min <= float(text) <= col.max

    expected = [i for i, r in enumerate(data, start=1)
                if r[9] not in codes or (r[7] and not lsoa.fullmatch(r[7]))
                or not in_range(r[4], "Longitude") or not in_range(r[5], "Latitude")]
    assert 100 in expected and 5000 in expected
    assert (out.status, out.rows, out.rows_rejected) == (
        "loaded", len(data) - len(expected), len(expected))
    [extra] = out.warnings
    assert "'no undeclared columns after the declared ones'" in extra
    assert "ignored: ['COLOUR', 'MSOA']" in extra
    assert_rows_add_up(settings, path)
    stored = [c for (c,) in sql(settings, f"SELECT column_name FROM (DESCRIBE {POLICE.raw_table})")]
    assert "msoa" not in stored and "colour" not in stored


def test_a_missing_or_renamed_declared_column_still_blocks(settings):
    rows = valid_rows(POLICE, 12, NIGHT)
    header = [("Crime category" if h == "Crime type" else h) for h in POLICE.column_names]
    renamed = [dict(r, **{"Crime category": r["Crime type"]}) for r in rows]
    path = police_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_bytes([*header, "MSOA"], renamed))
    out = run(settings, path)
    assert out.status == "quarantined" and "exact column set" in out.reason
    assert "missing: ['Crime type']" in out.reason and "unexpected: ['Crime category']" in out.reason


# --- a released rejects file adds its rows to the delivery ---------------------------------------

def _release(settings: Settings, monkeypatch, label: str) -> int:
    for name, value in env_for(settings.warehouse.parent, settings.data_dir).items():
        monkeypatch.setenv(name, value)
    return csp(["release", label])


def test_a_released_rejects_file_adds_its_rows_and_never_replaces_the_delivery(settings,
                                                                              monkeypatch):
    path, rows = _police_with_rejects(settings)
    assert run(settings, path, "night-1").rows_rejected == len(BAD_POLICE)
    rejects = rejects_file(settings, POLICE, NIGHT)
    label = f"police/{rejects.name}"
    landed = settings.landing_dir / "police" / rejects.name

    # Released unfixed, every row fails again: quarantined whole; the delivery is untouched.
    assert _release(settings, monkeypatch, label) == 0
    assert landed.exists() and not rejects.exists()
    assert not list(rejects.parent.glob("*.report.*"))
    unfixed = run(settings, landed, "night-2")
    assert unfixed.status == "quarantined" and rejects.exists() and not landed.exists()
    assert sql(settings, f"SELECT count(*) FROM {POLICE.raw_table}") == [(40 - len(BAD_POLICE),)]

    # Fixed by the partner and released again: its rows are added to the delivery.
    text = csv_rows(rejects)
    good = valid_rows(POLICE, 40, NIGHT)
    for n, (column, _, _) in BAD_POLICE.items():
        i = sorted(BAD_POLICE).index(n) + 1
        text[i][text[0].index(column)] = good[n - 1][column]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(text)
    rejects.write_text(buf.getvalue())
    assert _release(settings, monkeypatch, label) == 0
    found = discover(REGISTRY, settings.landing_dir, "police", None)
    assert [(e.path.name, e.supplementary) for e in found] == [
        (path.name, False), (rejects.name, True)]  # a supplementary file after its delivery
    added = run(settings, landed, "night-3")
    assert (added.status, added.rows, added.rows_rejected) == ("loaded", len(BAD_POLICE), 0)
    assert added.warnings == []  # a few rows: not judged against a delivery's volume

    raw = sql(settings, f"""SELECT _source_file, _row_number, incident_id, crime_type
                            FROM {POLICE.raw_table} ORDER BY incident_id""")
    expected = [(path.name, n, r["Incident ID"], r["Crime type"])
                for n, r in enumerate(rows, start=1) if n not in BAD_POLICE]
    expected += [(rejects.name, i, good[n - 1]["Incident ID"], good[n - 1]["Crime type"])
                 for i, n in enumerate(sorted(BAD_POLICE), start=1)]
    assert raw == sorted(expected, key=lambda r: r[2])
    assert sql(settings, """SELECT source_file, status, rows, rows_rejected FROM meta.deliveries
                            ORDER BY processed_at""") == [
        (path.name, "loaded", 40 - len(BAD_POLICE), len(BAD_POLICE)),
        (rejects.name, "released", 0, 0),
        (rejects.name, "loaded", len(BAD_POLICE), 0)]
    assert not rejects.exists()
    assert run(settings, landed, "night-4").status == "skipped"  # same bytes again: no change

    # A re-issued delivery replaces the date's rows, the added ones included.
    path.write_bytes(csv_bytes(POLICE.column_names, good))
    assert run(settings, path, "night-5").rows == 40
    assert sql(settings, f"SELECT DISTINCT _source_file FROM {POLICE.raw_table}") == [(path.name,)]
    assert [s for (s,) in sql(settings, """SELECT status FROM meta.deliveries
                                           WHERE status <> 'released' ORDER BY processed_at""")
            ] == ["superseded", "superseded", "loaded"]


# --- retention of rejects counts from the day they were rejected ---------------------------------

def test_rejects_expire_counted_from_the_day_they_were_rejected_not_the_extract_date(settings):
    old = date(2024, 1, 10)  # long before today: the extract itself is past retention
    rows = planted(valid_rows(POLICE, 40, old), {4: ("Crime type", "Burglery")})
    path = write_extract(settings.landing_dir, POLICE, old, rows)
    assert run(settings, path).rows_rejected == 1
    rejected_on = sql(settings, "SELECT max(rejected_at)::DATE FROM meta.rejected_rows")[0][0]
    kept = sorted(rejects_file(settings, POLICE, old).parent.iterdir())
    assert [p.name for p in kept] == ["crimes_20240110.rejects.csv",
                                      "crimes_20240110.rejects.report.json",
                                      "crimes_20240110.rejects.report.md"]

    now = datetime.combine(rejected_on, datetime.min.time()) + timedelta(hours=12)
    assert purge_expired(settings, now, days=90) == [path]  # the loaded extract: its date
    assert purge_expired(settings, now + timedelta(days=89), days=90) == []
    assert all(p.exists() for p in kept)
    assert sorted(purge_expired(settings, now + timedelta(days=91), days=90)) == kept
    logged = sql(settings, "SELECT reason, extract_date FROM meta.retention_log ORDER BY path")
    assert logged == [("loaded", old), ("rejected", old), ("rejected", old), ("rejected", old)]


# --- nothing lost: for every kind, rows in the file = rows loaded + rows rejected ----------------

def _reject_column(kind: Kind) -> str:
    """A code-list column whose bad values are rejected: a typed list's, else a reference's."""
    rejecting = [c for c in kind.stored_columns if c.severity == "reject"]
    return next(c.name for c in sorted(rejecting, key=lambda c: not c.values)
                if c.values or c.reference)


@pytest.mark.parametrize("kind_id", [k.id for k in REGISTRY.kinds])
def test_rows_in_each_file_are_rows_loaded_plus_rows_rejected(settings, kind_id):
    kind = next(k for k in REGISTRY.kinds if k.id == kind_id)
    column = _reject_column(kind)
    rows = planted(valid_rows(kind, 30, NIGHT), {4: (column, "Not a listed code")})
    path = write_extract(settings.landing_dir, kind, NIGHT, rows)
    out = run(settings, path)
    assert (out.status, out.rows, out.rows_rejected) == ("loaded", 29, 1)
    assert sql(settings, "SELECT row_number, column_name FROM meta.rejected_rows") == [
        (4, column)]
    assert_rows_add_up(settings, path)
