"""A landed file is hashed once while it stays unchanged (it is found again every night until
retention deletes it); any change to it, even one that keeps its size and modification time,
is hashed again."""

from __future__ import annotations

import os
import time

import pytest

from csp_pipeline.core.schema import ensure_schema
from csp_pipeline.core.warehouse import connect
from csp_pipeline.ingest import landing

SETTLED = landing.STAMP_SETTLE_NS / 1e9 + 0.5


@pytest.fixture
def hashed(monkeypatch):
    """The paths `landing.fingerprint` reads, in order (the real function, counted)."""
    calls, real = [], landing.fingerprint
    monkeypatch.setattr(landing, "fingerprint", lambda path: calls.append(path) or real(path))
    return calls


@pytest.fixture
def con(tmp_path):
    with connect(tmp_path / "warehouse.duckdb") as con:
        ensure_schema(con)
        yield con


def _settled(path, seconds: float = SETTLED) -> None:
    """Back-date the file's times as if it had landed `seconds` ago (its change time moves too,
    to now: so wait until that has settled)."""
    os.utime(path, ns=(time.time_ns() - int(seconds * 1e9),) * 2)
    time.sleep(SETTLED)


def test_an_unchanged_file_is_read_once_and_a_changed_one_again(tmp_path, con, hashed):
    path = tmp_path / "crimes_20240531.csv"
    path.write_text("a,b\n1,2\n")
    _settled(path)
    first = landing.known_fingerprint(con, path)
    assert first == landing.fingerprint(path) and len(hashed) == 2
    assert landing.known_fingerprint(con, path) == first and len(hashed) == 2  # not read again

    before = os.stat(path)
    path.write_text("a,b\n1,3\n")  # same size; modification time set back
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(path).st_size == before.st_size
    changed = landing.known_fingerprint(con, path)
    assert changed != first and changed == landing.fingerprint(path)


def test_a_file_replaced_by_a_rename_with_the_same_size_and_times_is_read_again(tmp_path, con):
    path, other = tmp_path / "crimes_20240531.csv", tmp_path / "incoming.csv"
    path.write_text("a,b\n1,2\n")
    other.write_text("a,b\n9,9\n")
    _settled(path)
    first = landing.known_fingerprint(con, path)
    st = os.stat(path)
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(other, path)
    assert landing.known_fingerprint(con, path) == landing.fingerprint(path) != first


def test_a_file_just_written_is_not_remembered_until_its_times_settle(tmp_path, con, hashed):
    path = tmp_path / "crimes_20240531.csv"
    path.write_text("a,b\n1,2\n")
    landing.known_fingerprint(con, path)
    landing.known_fingerprint(con, path)
    assert len(hashed) == 2  # a write in the same tick of a coarse clock would not show


def test_remembered_digests_of_files_gone_are_forgotten(tmp_path, con):
    kept, gone = tmp_path / "a.csv", tmp_path / "b.csv"
    for p in (kept, gone):
        p.write_text("x\n")
    _settled(kept, 10)
    for p in (kept, gone):
        landing.known_fingerprint(con, p)
    gone.unlink()
    landing.forget_missing_fingerprints(con)
    assert con.execute("SELECT path FROM meta.fingerprints").fetchall() == [(str(kept),)]
