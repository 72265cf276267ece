"""Gate benchmark: the Great Expectations audit of one police extract (no promote), against the
DuckDB floor (a plain typed read_csv into a file database) measured in the same run, at two
chunk sizes.

    .venv/bin/python benchmarks/bench_gate.py [--rows 1000000] [--repeat 3] [--chunks 100000,500000]

Each measurement runs in a fresh process; wall time and peak RSS are that process's (interpreter
start and imports included). "audit s" is the `gate.audit` call alone (GE project set-up, the
DuckDB scan, every chunk's validation, the whole-file rules), timed inside the process.
The anchor is /work/shared/reference/perf_anchors.md section 4: GE 1.24.1 validating 1M pandas
rows with 12 expectations in 4.3 s (~230k rows/s), CSV read not included.
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
ANCHOR_ROWS_PER_S = 230_000

GATE = """
import json, sys, time
from pathlib import Path
started = time.perf_counter()
import duckdb
from csp_pipeline.ingest import gate
from csp_pipeline.ingest.landing import read_header
from csp_pipeline.core.registry import load_registry
imported = time.perf_counter()
csv, db, gx_root, chunk = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
gate.CHUNK_ROWS = chunk
kind = load_registry().kind("police", "crimes")
with duckdb.connect(db) as con:
    t = time.perf_counter()
    results = gate.audit(con, kind, csv, read_header(csv), gate.GateParams("2024-05-31", 0),
                         {"path": str(csv)}, gx_root)
    audit = time.perf_counter() - t
failed = [r.rule for r in results if not r.success]
assert not failed, failed
print(json.dumps({"import": imported - started, "audit": audit,
                  "expectations": len(results)}))
"""

MEASURE = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
out = subprocess.run(sys.argv[1:], check=True, capture_output=True, text=True).stdout
wall = time.perf_counter() - t
inner = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"wall": wall, "rss_mb": rss, **inner}))
"""


def measure(cmd: list[str], env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> None:
    sys.path.insert(0, str(HERE))
    from bench_load import FLOOR
    from police_extract import write_police_extract

    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--chunks", default="100000,500000")
    args = ap.parse_args()
    chunks = [int(c) for c in args.chunks.split(",")]
    env = dict(os.environ, GX_ANALYTICS_ENABLED="false", TQDM_DISABLE="1")
    results: dict[str, list[dict]] = {"duckdb floor (typed read_csv)": []}
    results.update({f"gate audit, chunk {c:,}": [] for c in chunks})
    with tempfile.TemporaryDirectory(dir=os.environ.get("CSP_BENCH_DIR")) as tmp:
        work = Path(tmp)
        csv = write_police_extract(work / "crimes_20240531.csv", args.rows)
        csv_mb = csv.stat().st_size / 1e6
        for i in range(args.repeat):  # interleaved, so machine noise hits every path alike
            floor_db = work / f"floor{i}.duckdb"
            results["duckdb floor (typed read_csv)"].append(
                measure([sys.executable, "-c", FLOOR, str(csv), str(floor_db)], env))
            floor_db.unlink()
            for c in chunks:
                results[f"gate audit, chunk {c:,}"].append(measure(
                    [sys.executable, "-c", GATE, str(csv), str(work / f"gate{i}_{c}.duckdb"),
                     str(work / f"gx{i}_{c}"), str(c)], env))
    floor = median(results["duckdb floor (typed read_csv)"], "wall")
    floor_rss = median(results["duckdb floor (typed read_csv)"], "rss_mb")
    print(f"{args.rows:,} police rows ({csv_mb:.0f} MB CSV), {args.repeat} runs "
          "each, median; fresh process per run")
    print(f"{'path':32} {'wall s':>7} {'x floor':>8} {'audit s':>8} {'rows/s':>9} "
          f"{'peak RSS MB':>12} {'x floor':>8}")
    for name, runs in results.items():
        wall, rss = median(runs, "wall"), median(runs, "rss_mb")
        audit = median(runs, "audit") if "audit" in runs[0] else None
        audit_s = f"{audit:8.2f}" if audit else f"{'-':>8}"
        rate = f"{args.rows / audit:9,.0f}" if audit else f"{'-':>9}"
        print(f"{name:32} {wall:7.2f} {wall / floor:8.2f} {audit_s} {rate} {rss:12.0f} "
              f"{rss / floor_rss:8.2f}")
    gates = {n: median(r, "audit") for n, r in results.items() if "audit" in r[0]}
    best = min(gates, key=gates.__getitem__)
    n_exp = results[best][0]["expectations"]
    anchor = args.rows / ANCHOR_ROWS_PER_S
    print(f"GE anchor (12 expectations, validate only, CSV read excluded): {anchor:.2f} s for "
          f"{args.rows:,} rows; {best} ({n_exp} checks, CSV scan included): "
          f"{gates[best] / anchor:.2f}x the anchor")


if __name__ == "__main__":
    main()
