"""Load benchmark: one police extract through the whole gate-and-promote path, against the DuckDB
floor (a plain typed read_csv into a file database) measured in the same run.

    .venv/bin/python benchmarks/bench_load.py [--rows 1000000] [--repeat 3]

Each measurement runs in a fresh process; wall time and peak RSS are that process's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

FLOOR = """
import duckdb, sys
con = duckdb.connect(sys.argv[2])
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?, header=true, types={'Longitude':'DOUBLE',"
            "'Latitude':'DOUBLE','Recorded date':'DATE'})", [sys.argv[1]])
"""

CSP = """
import os, sys
from pathlib import Path
from csp_pipeline.core.settings import Settings
from csp_pipeline.core.registry import load_registry
from csp_pipeline.ingest.landing import match
from csp_pipeline.ingest.promote import process
s = Settings.from_env()
out = process(s, match(load_registry(), "police", Path(sys.argv[1])), "bench", s.pseudonym_key())
assert out.status == "loaded", out.reason
"""

MEASURE = """
import resource, subprocess, sys, time, json
t = time.perf_counter()
subprocess.run(sys.argv[1:], check=True)
wall = time.perf_counter() - t
print(json.dumps({"wall": wall, "rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def measure(cmd: list[str], env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    sys.path.insert(0, str(HERE))
    from police_extract import write_police_extract

    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        csv = write_police_extract(work / "crimes_20240531.csv", args.rows)
        results: dict[str, list[dict]] = {"duckdb floor": [], "csp gate + promote": []}
        for i in range(args.repeat):
            env = dict(os.environ, CSP_DATA_DIR=str(work / f"data{i}"), CSP_DEMO_MODE="1",
                       GX_ANALYTICS_ENABLED="false", TQDM_DISABLE="1")
            results["duckdb floor"].append(
                measure([sys.executable, "-c", FLOOR, str(csv), str(work / f"floor{i}.duckdb")], env))
            results["csp gate + promote"].append(measure([sys.executable, "-c", CSP, str(csv)], env))
    floor = statistics.median(r["wall"] for r in results["duckdb floor"])
    floor_rss = statistics.median(r["rss_mb"] for r in results["duckdb floor"])
    print(f"{args.rows:,} police rows, {args.repeat} runs each, median (fresh process each)")
    print(f"{'path':24} {'wall s':>8} {'x floor':>8} {'peak RSS MB':>12} {'x floor':>8} "
          f"{'s per 1M rows':>14}")
    for name, runs in results.items():
        wall = statistics.median(r["wall"] for r in runs)
        rss = statistics.median(r["rss_mb"] for r in runs)
        print(f"{name:24} {wall:8.2f} {wall / floor:8.2f} {rss:12.0f} {rss / floor_rss:8.2f} "
              f"{wall / args.rows * 1e6:14.2f}")


if __name__ == "__main__":
    main()
