"""Key rotation on a real warehouse loaded by ingest.process (real GE gate, real DuckDB) from
extracts written here: every pseudonym is re-keyed, linkage between feeds survives, and rotation
refuses when a pseudonym has no extract left to map it."""

from __future__ import annotations

import csv
import hashlib
import hmac
from pathlib import Path

import duckdb
import pytest

from csp_pipeline.cli.main import main
from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.settings import Settings
from csp_pipeline.ingest.landing import discover
from csp_pipeline.ingest.promote import process
from csp_pipeline.privacy.keys import RotationError, key_id, pseudonym_columns, rotate

OLD, NEW = b"old-secret-for-tests", b"new-secret-for-tests"
CHILDREN = [  # CHILD_ID, UPN (blank: unknown)
    ("HP000101", "A801000000101"), ("HP000102", "B801000000102"), ("hp000103 ", ""),
    ("HP000104", "C801000000104")]


def hmac_hex(key: bytes, value: str) -> str:
    return hmac.new(key, value.strip().upper().encode(), hashlib.sha256).hexdigest()


def write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])


def land_extracts(landing: Path) -> None:
    yj = landing / "youth_justice"
    write(yj / "children_20240530.csv",
          ["CHILD_ID", "FORENAME", "SURNAME", "DATE_OF_BIRTH", "SEX", "ETHNICITY", "POSTCODE",
           "LA_CODE", "CARE_STATUS", "UPN"],
          [[c, "Amelia", "Robson", "2009-03-17", "F", "White", "TS24 8AB", "E06000001", "NONE", u]
           for c, u in CHILDREN[:3]])
    write(yj / "children_20240531.csv",  # a later extract re-sends one child and adds one
          ["CHILD_ID", "FORENAME", "SURNAME", "DATE_OF_BIRTH", "SEX", "ETHNICITY", "POSTCODE",
           "LA_CODE", "CARE_STATUS", "UPN"],
          [[c, "Jack", "Hall", "2010-11-02", "M", "Mixed", "TS25 1XY", "E06000001", "CIN", u]
           for c, u in (CHILDREN[0], CHILDREN[3])])
    write(yj / "offences_20240531.csv",
          ["OFFENCE_ID", "CHILD_ID", "OFFENCE_DATE", "OFFENCE_CATEGORY", "GRAVITY_SCORE",
           "OUTCOME_ID"],
          [[f"OF{i}", c, "2024-05-01", "Robbery", "5", f"OC{i}"]
           for i, (c, _) in enumerate(CHILDREN)])
    write(landing / "education" / "attendance_20240531.csv",
          ["UPN", "DATE_OF_BIRTH", "LA_CODE", "SCHOOL_URN", "ACADEMIC_YEAR", "TERM", "NCY",
           "SESSIONS_POSSIBLE", "SESSIONS_AUTHORISED", "SESSIONS_UNAUTHORISED", "SEN_PROVISION"],
          [[u.lower(), "2009-03-17", "E06000001", "123456", "202324", "Spring", "10", "120",
            "4", "2", "N"] for _, u in CHILDREN if u])


@pytest.fixture
def loaded(tmp_path: Path) -> Settings:
    settings = Settings.from_env({"CSP_DATA_DIR": str(tmp_path / "data")})
    land_extracts(settings.landing_dir)
    registry = load_registry()
    for feed in ("youth_justice", "education"):
        for extract in discover(registry, settings.landing_dir, feed, None):
            outcome = process(settings, extract, "load-run", OLD)
            assert outcome.status == "loaded", outcome
    with duckdb.connect(str(settings.warehouse)) as con:  # a table dbt would build from raw
        con.execute("CREATE SCHEMA staging")
        con.execute("CREATE TABLE staging.stg_youth_justice__offences AS SELECT offence_id, "
                    "child_id_pseudonym FROM raw.youth_justice__offences")
    return settings


def all_pseudonyms(settings: Settings) -> set[str]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        out = set()
        for s, t, c in pseudonym_columns(con):
            out |= {r[0] for r in con.execute(f'SELECT "{c}" FROM {s}.{t} '
                                              f'WHERE "{c}" IS NOT NULL').fetchall()}
        return out


def linked_upns(settings: Settings) -> int:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute("""SELECT count(DISTINCT c.child_id_pseudonym)
            FROM raw.youth_justice__children c JOIN raw.education__attendance a
            USING (upn_pseudonym)""").fetchone()[0]


def test_rotation_rekeys_every_pseudonym_and_keeps_linkage(loaded):
    ids = [c.strip().upper() for c, _ in CHILDREN] + [u for _, u in CHILDREN if u]
    before = all_pseudonyms(loaded)
    assert before == {hmac_hex(OLD, v) for v in ids}
    assert linked_upns(loaded) == 3

    report = rotate(loaded, OLD, NEW)

    assert all_pseudonyms(loaded) == {hmac_hex(NEW, v) for v in ids}
    assert linked_upns(loaded) == 3  # the same children link across feeds under the new key
    assert report.pseudonyms_mapped == len(ids) and report.source_files == 4
    assert report.rows_dropped == 0 and not report.unmapped
    assert "staging.stg_youth_justice__offences.child_id_pseudonym" in report.columns
    with duckdb.connect(str(loaded.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(DISTINCT offence_id) FROM "
                           "staging.stg_youth_justice__offences s JOIN "
                           "raw.youth_justice__children c USING (child_id_pseudonym)"
                           ).fetchone()[0] == 4
        rec = con.execute("SELECT old_key_id, new_key_id, rows_updated FROM meta.key_rotations"
                          ).fetchall()
    assert rec == [(key_id(OLD), key_id(NEW), report.rows_updated)]
    # children: 5 rows (one child sent twice), 4 UPNs; offences and their staging copy: 4 each;
    # attendance: 3
    assert report.rows_updated == 5 + 4 + 4 + 4 + 3
    # the same old key cannot be used again: the warehouse now expects the new one
    with pytest.raises(RotationError, match="last rotated"):
        rotate(loaded, OLD, b"third-key")


def test_rotation_refuses_when_a_pseudonym_has_no_extract_left(loaded):
    # HP000104's only extracts are purged: its rows cannot be mapped to the new key
    (loaded.landing_dir / "youth_justice" / "children_20240531.csv").unlink()
    offences = loaded.landing_dir / "youth_justice" / "offences_20240531.csv"
    offences.write_text("\n".join(line for line in offences.read_text().splitlines()
                                  if "HP000104" not in line) + "\n")
    before = all_pseudonyms(loaded)
    with pytest.raises(RotationError) as err:
        rotate(loaded, OLD, NEW)
    message = str(err.value)
    assert "raw.youth_justice__children.child_id_pseudonym: 1" in message
    assert "raw.youth_justice__offences.child_id_pseudonym: 1" in message
    assert "--drop-unmapped" in message
    assert all_pseudonyms(loaded) == before  # nothing changed

    report = rotate(loaded, OLD, NEW, drop_unmapped=True)
    assert report.rows_dropped == 2  # the child's record and its offence
    assert hmac_hex(NEW, "HP000104") not in all_pseudonyms(loaded)
    assert report.stale_derived == {"staging.stg_youth_justice__offences.child_id_pseudonym": 1}
    assert all_pseudonyms(loaded) - {hmac_hex(OLD, "HP000104")} <= {
        hmac_hex(NEW, v) for v in ("HP000101", "HP000102", "HP000103", "A801000000101",
                                   "B801000000102", "C801000000104")}


def test_a_wrong_current_key_maps_nothing_and_is_refused(loaded):
    with pytest.raises(RotationError, match="key is probably wrong"):
        rotate(loaded, b"not-the-key", NEW)
    with pytest.raises(RotationError, match="same as the current key"):
        rotate(loaded, OLD, OLD)


def test_csp_rotate_key_command(loaded, monkeypatch, capsys):
    monkeypatch.setenv("CSP_DATA_DIR", str(loaded.data_dir))
    monkeypatch.setenv("CSP_PSEUDONYM_KEY", OLD.decode())
    monkeypatch.delenv("CSP_NEW_PSEUDONYM_KEY", raising=False)
    assert main(["rotate-key"]) == 2
    monkeypatch.setenv("CSP_NEW_PSEUDONYM_KEY", NEW.decode())
    assert main(["rotate-key"]) == 0
    out = capsys.readouterr().out
    assert "re-keyed 7 pseudonyms" in out and key_id(NEW) in out
    assert NEW.decode() not in out and OLD.decode() not in out
    assert main(["rotate-key"]) == 1  # CSP_PSEUDONYM_KEY still holds the old key: refused
