"""Nightly-cost benchmark: does one night cost the same after a short and after a long history?

For each history length, a warehouse is built from the synthetic extracts of that many months
before the night (monthly backfills, loaded through the gate, then a full dbt build); then the
night itself is timed: the night's files through the gate and an incremental `dbt build` (the
same steps the Airflow DAGs run, without Airflow's own overhead). The shortest history is the
baseline; a ratio near 1.0 means the night's cost follows the night's data, not the warehouse.

    .venv/bin/python benchmarks/bench_night.py [--months 6,18] [--scale 1] [--repeat 2]

Each night is timed twice per history on a copy of the built warehouse (median reported).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

NIGHT = date(2024, 5, 31)


def months_before(night: date, n: int) -> date:
    year, month = divmod(night.year * 12 + night.month - 1 - n, 12)
    return date(year, month + 1, 1)


def load(settings, landing: Path, nights: set[str] | None = None) -> int:
    """Every landed file (or only those of `nights`) through the gate; returns rows loaded."""
    from csp_pipeline.core.registry import load_registry
    from csp_pipeline.ingest.landing import discover
    from csp_pipeline.ingest.promote import process

    registry, rows = load_registry(), 0
    for feed in registry.feeds:
        for extract in discover(registry, landing, feed, None):
            if nights is None or extract.extract_date in nights:
                rows += process(settings, extract, "bench", settings.pseudonym_key()).rows
    return rows


def dbt_build(env: dict, *extra: str) -> None:
    from csp_pipeline.core.settings import DBT_PROJECT_DIR
    from csp_pipeline.orchestration.runner import dbt_command

    subprocess.run(dbt_command("build", "--quiet", *extra), env=env, check=True,
                   cwd=DBT_PROJECT_DIR)


def history(work: Path, months: int, scale: float) -> tuple[Path, Path, int]:
    """A data dir holding `months` of history, and the landing folder of the night's files."""
    from csp_pipeline.core.registry import load_registry
    from csp_pipeline.core.settings import Settings
    from csp_pipeline.ingest.backfill import consolidate
    from csp_pipeline.synthetic import generate

    data, landing = work / f"h{months}" / "data", work / f"h{months}" / "landing"
    generate(landing, months_before(NIGHT, months), NIGHT, scale=scale, seed=42)
    consolidate(load_registry(), landing, NIGHT - timedelta(days=1))
    night_files = work / f"h{months}" / "night"
    for path in landing.glob(f"*/*_{NIGHT:%Y%m%d}.csv"):
        (night_files / path.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.move(path, night_files / path.parent.name / path.name)
    env = dict(os.environ, CSP_DATA_DIR=str(data), CSP_LANDING_DIR=str(landing))
    settings = Settings.from_env(env)
    rows = load(settings, landing)
    dbt_build({**env, "CSP_WAREHOUSE": str(settings.warehouse)})
    return data, night_files, rows


def time_night(data: Path, night_files: Path, copy: Path) -> tuple[float, float, int]:
    from csp_pipeline.core.settings import Settings

    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(data, copy)
    env = dict(os.environ, CSP_DATA_DIR=str(copy), CSP_LANDING_DIR=str(night_files))
    settings = Settings.from_env(env)
    started = time.perf_counter()
    rows = load(settings, night_files)
    loaded = time.perf_counter()
    dbt_build({**env, "CSP_WAREHOUSE": str(settings.warehouse)})
    return loaded - started, time.perf_counter() - loaded, rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--months", default="6,18")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    os.environ.setdefault("CSP_DEMO_MODE", "1")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for months in (int(m) for m in args.months.split(",")):
            data, night_files, history_rows = history(work, months, args.scale)
            # a fresh path per copy: the gate caches its GE project per path within a process
            runs = [time_night(data, night_files, work / f"night-{months}-{i}")
                    for i in range(args.repeat)]
            gate_s = statistics.median(r[0] for r in runs)
            dbt_s = statistics.median(r[1] for r in runs)
            results.append((months, history_rows, runs[0][2], gate_s, dbt_s))
    base = results[0][3] + results[0][4]
    print(f"one night ({NIGHT}) after histories of different lengths, scale {args.scale}, "
          f"median of {args.repeat}")
    print(f"{'history':>8} {'history rows':>13} {'night rows':>11} {'gate s':>7} {'dbt s':>7} "
          f"{'night s':>8} {'x baseline':>10}")
    for months, history_rows, night_rows, gate_s, dbt_s in results:
        print(f"{months:>6}mo {history_rows:>13,} {night_rows:>11,} {gate_s:7.2f} {dbt_s:7.2f} "
              f"{gate_s + dbt_s:8.2f} {(gate_s + dbt_s) / base:10.2f}")


if __name__ == "__main__":
    main()
