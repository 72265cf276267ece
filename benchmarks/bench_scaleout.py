"""Scale-out benchmark: the same backfill through the feed DAGs on one Celery worker and on two.

A month of synthetic nightly extracts of every feed is landed, then the night at its end is
triggered for every feed DAG on a loopback Celery cluster (tests.support.celery_cluster: real
`airflow scheduler`, `dag-processor`, `api-server` and `airflow celery worker` processes against
the PostgreSQL and Redis on loopback). Each feed DAG finds its backlog of files and audits and
promotes them. Timed from the triggers until every feed run has finished; the warehouse DAG stays
paused. Both runs use the same files, each on a fresh data folder and metadata database, in this
one process: the ratio is measured in one run.

Audits take no writer lock, so two workers audit two feeds at once; promotes still queue for the
one-slot `duckdb_writer` pool. Each worker runs `--concurrency` tasks at once (default 1: one task
slot per worker, so the second worker is what adds the slot).

    .venv/bin/python benchmarks/bench_scaleout.py [--days 31] [--scale 1] [--concurrency 1]

Needs PostgreSQL and Redis on loopback (tests/support/backends.sh).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
NIGHT = date(2024, 5, 31)
WORKERS = ("csp-bench-worker-a", "csp-bench-worker-b")


def run_backfill(template: Path, root: Path, workers: tuple[str, ...], concurrency: int) -> dict:
    from tests.deploy.stack_api import FEEDS
    from tests.support.celery_cluster import celery_cluster

    shutil.copytree(template, root / "data" / "landing")
    with celery_cluster(root, workers, concurrency, log=lambda line: None) as (api, _env):
        api.ready(dags=FEEDS)
        started = time.monotonic()
        api.night(NIGHT.isoformat(), warehouse=False, timeout=3600)
        wall = time.monotonic() - started
        tis = [t for t in api.check(list(workers), dags=FEEDS) if t["state"] == "success"]
    busy = Counter()
    for t in tis:
        busy[t["task_id"]] += t["duration"] or 0
    return {"wall": wall, "tasks": len(tis), "busy": dict(busy),
            "per_worker": Counter(t["hostname"] for t in tis)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=31)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--concurrency", type=int, default=1)
    args = ap.parse_args()
    os.environ.setdefault("CSP_DEMO_MODE", "1")
    with tempfile.TemporaryDirectory(prefix="csp-bench-scaleout-") as tmp:
        template = Path(tmp) / "landing"
        start = NIGHT - timedelta(days=args.days - 1)
        subprocess.run([str(Path(sys.executable).with_name("csp")), "generate", "--out",
                        str(template), "--start", start.isoformat(), "--end", NIGHT.isoformat(),
                        "--scale", str(args.scale)], check=True, capture_output=True)
        files = sorted(template.rglob("*.csv"))
        size = sum(f.stat().st_size for f in files) / 1e6
        print(f"backfill: {len(files)} files, {size:.0f} MB, {args.days} nights of every feed "
              f"(scale {args.scale}); {os.cpu_count()} cores; worker concurrency "
              f"{args.concurrency}")
        results = {}
        for n in (1, 2):
            results[n] = r = run_backfill(template, Path(tmp) / f"workers-{n}", WORKERS[:n],
                                          args.concurrency)
            busy = ", ".join(f"{k} {v:.0f} s" for k, v in sorted(r["busy"].items()))
            print(f"{n} worker(s): {r['wall']:6.1f} s wall; {r['tasks']} tasks "
                  f"({', '.join(f'{w}: {c}' for w, c in sorted(r['per_worker'].items()))}); "
                  f"task time {busy}")
        print(f"speed-up of 2 workers over 1: {results[1]['wall'] / results[2]['wall']:.2f}x "
              "(1-worker wall / 2-worker wall, same files, same run)")


if __name__ == "__main__":
    main()
