"""Faults of the process, through real `csp run` nights (Airflow dag.test, dbt through cosmos,
GE, DuckDB), as an operator's command runs them. Nights are shared between cases:

- deployment `clean`: the baseline night; then the next night under a full disk during publish
  (its published folder is a small tmpfs, as root), a reader holding the published snapshot all
  along, a feed that fails (publish refused), and finally a good rerun; then bad settings.
- deployment `killed`: the same night started, a second run started beside it (refused), the first
  killed with SIGKILL mid-load, then rerun: its warehouse must equal the clean one.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.settings import PROJECT_ROOT, Settings
from csp_pipeline.core.warehouse import content_digest
from csp_pipeline.ingest.backfill import consolidate

START = date(2024, 3, 1)
NIGHT = date(2024, 5, 31)
NEXT = NIGHT + timedelta(days=1)
SCALE = 0.1
TMPFS_MB = 256
CSP = Path(sys.executable).with_name("csp")


@dataclass
class Deployment:
    root: Path
    env: dict[str, str]

    @property
    def settings(self) -> Settings:
        return Settings.from_env(self.env)

    def run(self, night: date, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(CSP), "run", "--date", night.isoformat()],
                              env={**self.env, **extra}, capture_output=True, text=True,
                              cwd=PROJECT_ROOT, timeout=2400)

    def start(self, night: date) -> subprocess.Popen:
        return subprocess.Popen([str(CSP), "run", "--date", night.isoformat()], env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                cwd=PROJECT_ROOT, start_new_session=True)

    def current(self) -> Path:
        return (self.settings.published_dir / "current").resolve()


def deploy(root: Path, generated: Path) -> Deployment:
    env = dict(os.environ, CSP_DATA_DIR=str(root / "data"), AIRFLOW_HOME=str(root / "airflow"),
               CSP_DEMO_MODE="1", CSP_RETRY_DELAY_SECONDS="1")
    for name in ("CSP_LANDING_DIR", "CSP_WAREHOUSE", "CSP_PUBLISHED_DIR", "CSP_QUARANTINE_DIR"):
        env.pop(name, None)
    d = Deployment(root, env)
    shutil.copytree(generated, d.settings.landing_dir)
    return d


def digest(warehouse: Path) -> dict[str, tuple[int, int]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return content_digest(con)


def raw_rows(d: dict[str, tuple[int, int]]) -> int:
    return sum(n for t, (n, _) in d.items() if t.startswith("raw."))


def snapshot_complete(folder: Path) -> bool:
    manifest = json.loads((folder / "manifest.json").read_text())
    with duckdb.connect(str(folder / "published.duckdb"), read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() "
                                            "WHERE schema_name = 'marts'").fetchall()}
    return bool(manifest["marts"]) and tables == set(manifest["marts"]) and all(
        (folder / f / f"{m}.{f}").exists() for m in manifest["marts"] for f in ("parquet", "csv"))


def last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:200] if lines else ""


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    from csp_pipeline.synthetic import generate

    folder = tmp_path_factory.mktemp("faults-generated")
    generate(folder, START, NEXT, scale=SCALE, seed=11)
    consolidate(load_registry(), folder, NIGHT - timedelta(days=1))
    return folder


@pytest.fixture(scope="module")
def tmpfs(tmp_path_factory):
    """A small tmpfs for the clean deployment's published folder (root only): a full disk."""
    mount = tmp_path_factory.mktemp("faults-tmpfs")
    if os.geteuid() != 0:
        yield None
        return
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_MB}m,mode=0755", "tmpfs",
                    str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture(scope="module")
def clean(tmp_path_factory, generated, tmpfs):
    d = deploy(tmp_path_factory.mktemp("faults-clean"), generated)
    if tmpfs is not None:
        d.env["CSP_PUBLISHED_DIR"] = str(tmpfs / "published")
    started = time.monotonic()
    done = d.run(NIGHT)
    return d, done, time.monotonic() - started


def test_clean_night(clean, fault):
    d, done, seconds = clean
    fault.update(case="clean night (the baseline)", kind="process", exit=done.returncode,
                 rows_lost=0, double_counted=0, message=f"{seconds:.0f} s")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert snapshot_complete(d.current())
    assert raw_rows(digest(d.settings.warehouse)) > 0


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_person_level_state_is_owner_only(clean, fault):
    d, _, _ = clean
    s = d.settings
    gx = s.data_dir / "gx"
    private = [s.warehouse, s.airflow_home / "airflow.db"] + [
        p for p in [*s.airflow_home.rglob("*"), *gx.rglob("*")] if not p.is_symlink()]
    loose = [str(p) for p in private if mode(p) & 0o077 and not (
        "data_docs" in p.parts and not mode(p) & 0o027)]
    fault.update(case="warehouse, Airflow home, GE stores readable by others", kind="process",
                 exit="checked", rows_lost=0, double_counted=0,
                 message=f"{len(private)} files and folders owner-only "
                         f"(warehouse {oct(mode(s.warehouse))})")
    assert loose == []


@pytest.fixture(scope="module")
def killed(tmp_path_factory, generated):
    return deploy(tmp_path_factory.mktemp("faults-killed"), generated)


def wait_for(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_two_runs_at_once_and_kill_9_mid_load_then_rerun(clean, killed, fault, request):
    first = killed.start(NIGHT)
    lock = killed.settings.data_dir / "run.lock"
    try:
        wait_for(lambda: lock.exists() and f'"pid": {first.pid}' in lock.read_text(), 300,
                 "the first run to take the lock")
        second = killed.run(NIGHT)
        results = killed.settings.data_dir / "gx" / "gx" / "uncommitted" / "validations"
        wait_for(lambda: sum(1 for p in results.rglob("*.json")) >= 5 or
                 first.poll() is not None, 900, "the first run to load some files")
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert first.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    rerun = killed.run(NIGHT)
    clean_digest, rerun_digest = digest(clean[0].settings.warehouse), None
    if rerun.returncode == 0:
        rerun_digest = digest(killed.settings.warehouse)
    lost = raw_rows(clean_digest) - raw_rows(rerun_digest or {})
    fault.update(case="two runs at once", kind="process", exit=second.returncode,
                 rows_lost=0, double_counted=0, message=last_line(second.stderr))
    _record_kill(request, rerun, max(lost, 0), max(-lost, 0))
    assert second.returncode == 1 and "holds the run lock" in second.stderr
    assert "Traceback" not in second.stderr
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert rerun_digest == clean_digest
    assert snapshot_complete(killed.current())


KILL_RECORD: dict = {}


def _record_kill(request, rerun, lost: int, doubled: int) -> None:
    KILL_RECORD.update(case="kill -9 mid-load, then rerun", kind="process",
                       exit=rerun.returncode, rows_lost=lost, double_counted=doubled,
                       message="rerun equals the clean night's warehouse" if not lost + doubled
                       else "rerun differs from the clean night")


def test_kill_9_mid_load_then_rerun_is_recorded(fault):
    """The kill case's own row in the results (its assertions are in the test above)."""
    assert KILL_RECORD, "the two-runs/kill test did not get as far as the rerun"
    fault.update(KILL_RECORD)
    assert KILL_RECORD["exit"] == 0 and KILL_RECORD["rows_lost"] == 0
    assert KILL_RECORD["double_counted"] == 0


class Reader(threading.Thread):
    """An analyst holding the published snapshot open (DuckDB and a Parquet file) throughout."""

    def __init__(self, folder: Path):
        super().__init__(daemon=True)
        self.folder, self.stop, self.errors, self.reads = folder, threading.Event(), [], 0
        self.con = duckdb.connect(str(folder / "published.duckdb"), read_only=True)
        self.parquet = next((folder / "parquet").glob("*.parquet")).open("rb")
        self.expected = self.count()

    def count(self) -> int:
        return self.con.execute("SELECT count(*) FROM marts.cs_crime_monthly").fetchone()[0]

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                assert self.count() == self.expected
                self.reads += 1
            except Exception as exc:  # noqa: BLE001 (reported by the test)
                self.errors.append(repr(exc))
            time.sleep(0.5)


def fill(mount: Path, leave_bytes: int) -> Path:
    filler = mount / "filler"
    free = shutil.disk_usage(mount).free
    with filler.open("wb") as fh:
        fh.truncate(0)
        block = b"\0" * (1 << 20)
        remaining = max(free - leave_bytes, 0)
        while remaining > 0:
            n = fh.write(block[: min(len(block), remaining)])
            remaining -= n
    return filler


def test_full_disk_during_publish_keeps_the_previous_snapshot(clean, tmpfs, fault):
    if tmpfs is None:
        pytest.skip("needs root to mount a small tmpfs")
    d, first, _ = clean
    assert first.returncode == 0
    before = d.current()
    reader = Reader(before)
    reader.start()
    filler = fill(tmpfs, 256 * 1024)
    try:
        done = d.run(NEXT)
    finally:
        filler.unlink()
    reader.stop.set()
    reader.join()
    fault.update(case="full disk during publish (small tmpfs)", kind="process",
                 exit=done.returncode, rows_lost=0, double_counted=0,
                 message=next((ln.strip()[:200] for ln in (done.stdout + done.stderr).splitlines()
                               if "No space left" in ln), last_line(done.stderr)))
    assert done.returncode == 1
    assert d.current() == before and snapshot_complete(before)
    assert not list((tmpfs / "published" / "snapshots").glob(".*.partial"))
    assert reader.errors == [] and reader.reads > 0
    CLEAN_STATE["reader"] = reader


CLEAN_STATE: dict = {}


def test_a_failed_feed_is_not_published_over(clean, fault):
    d, first, _ = clean
    assert first.returncode == 0
    before = d.current()
    fire = d.settings.landing_dir / "fire" / load_registry().kind("fire", "incidents").file_name(
        NEXT.isoformat())
    aside = d.root / fire.name
    had_file = fire.exists()
    if had_file:
        shutil.move(fire, aside)
    fire.mkdir()  # named like tonight's extract, but unreadable as one: the fire feed fails
    try:
        done = d.run(NEXT)
    finally:
        fire.rmdir()
        if had_file:
            shutil.move(aside, fire)
    out = done.stdout + done.stderr
    fault.update(case="a feed fails: no publish over it", kind="process", exit=done.returncode,
                 rows_lost=0, double_counted=0,
                 message=next((ln.strip()[:200] for ln in out.splitlines()
                               if "not published" in ln), last_line(done.stderr)))
    assert done.returncode == 1
    assert "csp_feed_fire" in done.stderr
    assert d.current() == before and snapshot_complete(before)


def test_reader_holding_the_snapshot_during_publish(clean, fault):
    d, first, _ = clean
    before = d.current()
    reader = Reader(before)
    reader.start()
    done = d.run(NEXT)
    reader.stop.set()
    reader.join()
    after = d.current()
    manifest = json.loads((after / "manifest.json").read_text())
    fault.update(case="reader holding the published snapshot during publish", kind="process",
                 exit=done.returncode, rows_lost=0, double_counted=0,
                 message=f"{reader.reads} reads of the old snapshot, all complete; new one "
                         f"published, partial={manifest['partial']}")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert after != before and snapshot_complete(after) and manifest["partial"] is False
    assert manifest["feeds"]["fire"]["extract_dates"].endswith(NEXT.isoformat())
    assert reader.errors == [] and reader.reads > 0 and reader.count() == reader.expected


BAD_SETTINGS = {
    "CSP_RETENTION_DAYS=0": ({"CSP_RETENTION_DAYS": "0"}, "CSP_RETENTION_DAYS"),
    "CSP_VOLUME_DROP_RATIO=ten": ({"CSP_VOLUME_DROP_RATIO": "ten"}, "CSP_VOLUME_DROP_RATIO"),
    "CSP_LANDING_DIR missing": ({"CSP_LANDING_DIR": "/nonexistent/landing"}, "does not exist"),
    "no pseudonym key outside demo mode": ({"CSP_DEMO_MODE": "0", "CSP_PSEUDONYM_KEY": ""},
                                           "CSP_PSEUDONYM_KEY"),
}
# Typed validation of settings and its messages belong to the operator's-view issue (15): until it
# lands this case is expected to fail (a traceback), and the results say so.
PENDING = {"CSP_VOLUME_DROP_RATIO=ten": "settings validation: issue 15"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(reason=PENDING[n]))
                                  if n in PENDING else n for n in BAD_SETTINGS])
def test_bad_settings_refuse_to_run_with_a_message_and_change_nothing(tmp_path, generated,
                                                                      fault, name):
    d = deploy(tmp_path, generated)
    extra, named = BAD_SETTINGS[name]
    done = d.run(NEXT, **extra)
    fault.update(case=f"bad setting: {name}", kind="process", exit=done.returncode, rows_lost=0,
                 double_counted=0, message=last_line(done.stderr))
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and named in last_line(done.stderr)
    assert not d.settings.warehouse.exists() and not d.settings.published_dir.exists()
