"""Soak: consecutive nights of real `csp run` with dirt injected, checked against full rebuilds.

The synthetic extracts for the whole soak are generated once (small scale, a share of the files
given one defect each: `csp generate --dirty`). Before each night, that night's files are landed
(as a partner would deliver them) and `csp run --date <night>` runs it through Airflow, dbt and
GE. Retention is set longer than the soak, so every delivered file stays. Every `--check-every`
nights (and after the last), a fresh deployment is given every file delivered so far at once and
run for the latest night: its warehouse (raw tables and marts, without the loading run's lineage)
must equal the soaked one. Not part of CI: minutes per night.

    .venv/bin/python benchmarks/soak.py --minutes 25 [--scale 0.05] [--check-every 30]

Prints, per night, the files, rows and seconds; at the end the nights run, the files and rows
delivered, the time per night and its extrapolation to 365 nights, and any difference found.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

FIRST_NIGHT = date(2024, 5, 1)
START = FIRST_NIGHT - timedelta(days=14)  # history delivered before the soak, as nightly files
CSP = Path(sys.executable).with_name("csp")


def csp_run(env: dict, night: date) -> float:
    started = time.monotonic()
    done = subprocess.run([str(CSP), "run", "--date", night.isoformat()], env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:  # a quarantined file is not a failure; a failed DAG is
        print(done.stdout[-2000:], done.stderr[-2000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"night {night}: csp run exited {done.returncode}")
    return time.monotonic() - started


def deployment(root: Path, nights: int) -> dict:
    return dict(os.environ, CSP_DATA_DIR=str(root / "data"), AIRFLOW_HOME=str(root / "airflow"),
                CSP_DEMO_MODE="1", CSP_RETRY_DELAY_SECONDS="1",
                CSP_RETENTION_DAYS=str(nights + 400))


def land(delivered: Path, landing: Path, wanted) -> tuple[int, int]:
    """Copy the delivered files whose extract date (ISO) `wanted` accepts into the landing zone;
    returns (files, data rows)."""
    from csp_pipeline.core.registry import load_registry
    from csp_pipeline.ingest.landing import match

    registry, files, rows = load_registry(), 0, 0
    for path in sorted(delivered.glob("*/*.csv")):
        extract = match(registry, path.parent.name, path)
        if extract is None or not wanted(extract.extract_date):
            continue
        target = landing / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        files += 1
        rows += max(path.read_bytes().count(b"\n") - 1, 0)
    return files, rows


def digest(env: dict) -> dict:
    import duckdb

    from csp_pipeline.core.settings import Settings
    from csp_pipeline.core.warehouse import content_digest

    with duckdb.connect(str(Settings.from_env(env).warehouse), read_only=True) as con:
        return content_digest(con)


def rebuild_differs(work: Path, delivered_so_far: Path, night: date, soaked: dict) -> list[str]:
    """A fresh deployment given every delivered file at once, run for `night`: the tables whose
    content differs from the soaked warehouse."""
    root = Path(tempfile.mkdtemp(prefix="rebuild-", dir=work))
    env = deployment(root, 0)
    shutil.copytree(delivered_so_far, Path(env["CSP_DATA_DIR"]) / "landing")
    seconds = csp_run(env, night)
    rebuilt = digest(env)
    diff = sorted(t for t in set(rebuilt) | set(soaked) if rebuilt.get(t) != soaked.get(t))
    print(f"  check after {night}: full rebuild in {seconds:.0f} s; "
          f"{len(rebuilt)} tables compared, {len(diff)} differ {diff[:5]}", flush=True)
    shutil.rmtree(root, ignore_errors=True)
    return diff


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=25)
    ap.add_argument("--max-nights", type=int, default=60, help="nights generated (the bound)")
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--dirty", type=float, default=0.1)
    ap.add_argument("--check-every", type=int, default=30)
    ap.add_argument("--work", default=None, help="folder for the soak (default: a temp folder)")
    args = ap.parse_args()

    from csp_pipeline.synthetic import generate

    work = Path(args.work or tempfile.mkdtemp(prefix="csp-soak-"))
    delivered = work / "delivered"
    last = FIRST_NIGHT + timedelta(days=args.max_nights - 1)
    generate(delivered, START, last, scale=args.scale, seed=5, dirty=args.dirty)
    env = deployment(work / "soak", args.max_nights)
    landing = Path(env["CSP_DATA_DIR"]) / "landing"
    so_far = work / "delivered-so-far"
    # the history before the soak (dirt included), landed at once before the first night
    history_files, history_rows = land(delivered, landing, lambda d: d < FIRST_NIGHT.isoformat())
    files, rows = history_files, history_rows
    shutil.copytree(landing, so_far)
    started, times, differences, night = time.monotonic(), [], [], FIRST_NIGHT
    nights_run = 0
    while nights_run < args.max_nights and time.monotonic() - started < args.minutes * 60:
        tonight = night.isoformat()
        f, r = land(delivered, landing, tonight.__eq__)
        land(delivered, so_far, tonight.__eq__)
        seconds = csp_run(env, night)
        files, rows, nights_run = files + f, rows + r, nights_run + 1
        times.append(seconds)
        print(f"night {night} ({nights_run}): {f} files, {r:,} rows, {seconds:.0f} s", flush=True)
        if nights_run % args.check_every == 0:
            differences += rebuild_differs(work, so_far, night, digest(env))
        night += timedelta(days=1)
    if nights_run % args.check_every:
        differences += rebuild_differs(work, so_far, night - timedelta(days=1), digest(env))
    mean = sum(times) / len(times)
    report = {"nights": nights_run, "files_delivered": files, "rows_delivered": rows,
              "history_files": history_files, "seconds_per_night_mean": round(mean, 1),
              "seconds_per_night_last5": round(sum(times[-5:]) / len(times[-5:]), 1),
              "extrapolated_365_nights_hours": round(365 * mean / 3600, 1),
              "tables_differing_from_rebuild": sorted(set(differences)), "work": str(work)}
    print(json.dumps(report, indent=2))
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
