"""Scale benchmark: a whole night (`csp run`: Airflow, gate, promote, dbt build, publish, docs) on
one police extract of 1M and of 10M rows, against the DuckDB floor on the same file, in one run.

    .venv/bin/python benchmarks/bench_scale.py [--rows 1000000,10000000] [--repeat 3]
        [--tmp /tmp/csp-bench-scale] [--results benchmarks/RESULTS.md] [--only fixed]

For each size: the floor (a typed `read_csv` into a file database, then one GROUP BY over month,
ward and crime type, in a fresh process), then `csp run` on a fresh data folder holding only that
file. A 100-row `csp run` measures the fixed cost of a night (Airflow, dbt and docs start-up);
what the rows add is the run minus that. Then one more night of 10k rows on top of the largest
run's warehouse, against the same night on top of 100k rows of history. The 1M case and the
100-row run are medians of `--repeat` runs; the others run once (they are long). `--only fixed`
measures the 100-row night alone, prints it and each run's breakdown, and writes no file.

Peak RSS is the whole process tree's (the `csp run` process and every child, dbt included),
sampled every 0.1 s. The per-stage breakdown comes from Airflow's own task records (durations of
discover, audit, promote, dbt, publish, ...); `audit alone` runs the audit of the file in a fresh
process and splits it into the DuckDB scan (read, parse, pseudonymise, written to the scan file
the promote loads from) and the rest (Great Expectations validating the scan in DuckDB, and
recording its results). Files go under `--tmp`, never the repo. The table replaces the section
`## bench_scale.py output` of `--results`; the rest of that file is kept.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
NIGHT, NEXT_NIGHT = "2024-05-31", "2024-06-01"
SMALL, NIGHT_ROWS, SHORT_HISTORY = 100, 10_000, 100_000

FLOOR = """
import duckdb, sys
con = duckdb.connect(sys.argv[2])
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?, header=true, types={'Longitude':'DOUBLE',"
            "'Latitude':'DOUBLE','Recorded date':'DATE'})", [sys.argv[1]])
con.execute('SELECT "Month", "Ward code", "Crime type", count(*) FROM t GROUP BY ALL').fetchall()
"""

AUDIT = """
import json, sys, time
from pathlib import Path
from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.settings import Settings
from csp_pipeline.core.warehouse import memory
from csp_pipeline.ingest import gate
from csp_pipeline.ingest.audit import audit_file, sql_params
from csp_pipeline.ingest.landing import fingerprint, match, read_header
from csp_pipeline.ingest.ledger_facts import KindFacts
s = Settings.from_env()
e = match(load_registry(), "police", Path(sys.argv[1]))
key = s.pseudonym_key()
t = time.perf_counter()
alone = s.data_dir / "work" / "scan-alone.duckdb"
with memory(s.data_dir / "work" / "duckdb") as con:  # the audit's own scan alone (as bounded)
    gate.write_scan(con, e.kind, read_header(e.path), sql_params(e, e.path, key), alone)
scan = time.perf_counter() - t
alone.unlink()
t = time.perf_counter()
facts = KindFacts(digests={str(e.path): fingerprint(e.path)})
audited = audit_file(s, e, facts, key)
audit = time.perf_counter() - t
audited.discard_scan()
assert all(r.success for r in audited.results), [r.rule for r in audited.results if not r.success]
print(json.dumps({"scan": scan, "audit": audit}))
"""

STAGES = {"discover": "find + fingerprint", "audit": "audit", "process": "promote",
          "report": "feed report", "prepare": "prepare", "publish": "publish",
          "dbt_docs": "dbt docs", "validation_docs": "GE Data Docs",
          "purge_expired_extracts": "retention", "prune_validation_results": "retention"}


def tree_run(cmd: list[str], env: dict) -> dict:
    """Run `cmd`; wall time and the peak summed RSS of it and all its descendants."""
    started, cpu = time.perf_counter(), _children_cpu()
    log = tempfile.TemporaryFile()  # not a pipe: a full pipe would stop the run
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    root, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        rss = 0
        for p in procs:
            try:
                rss += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        peak = max(peak, rss)
        time.sleep(0.1)
    log.seek(0)
    out = log.read().decode(errors="replace")
    log.close()
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{out[-4000:]}")
    return {"wall": time.perf_counter() - started, "rss_mb": peak / 2**20, "out": out,
            "cpu": _children_cpu() - cpu}


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children: less sensitive than
    wall time to what else the machine is doing."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def write_extract(path: Path, rows: int, first: int = 0) -> Path:
    sys.path.insert(0, str(HERE))
    from police_extract import write_police_extract

    if not path.exists():
        write_police_extract(path, rows, first)
    return path


def fresh(folder: Path, extract: Path | None = None) -> dict:
    """An environment with its own data folder and Airflow home; `extract` landed in it."""
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "data" / "landing" / "police").mkdir(parents=True)
    if extract is not None:
        land(folder, extract, NIGHT)
    return dict(os.environ, CSP_DATA_DIR=str(folder / "data"), AIRFLOW_HOME=str(folder / "airflow"),
                CSP_DEMO_MODE="1", CSP_RETRY_DELAY_SECONDS="1")


def land(folder: Path, extract: Path, night: str) -> None:
    target = folder / "data" / "landing" / "police" / f"crimes_{night.replace('-', '')}.csv"
    os.link(extract, target) if extract.stat().st_dev == target.parent.stat().st_dev \
        else shutil.copy(extract, target)


def csp_run(env: dict, night: str = NIGHT) -> dict:
    result = tree_run([str(BIN / "csp"), "run", "--date", night], env)
    result["stages"] = stages(Path(env["AIRFLOW_HOME"]), night)
    return result


def stages(airflow_home: Path, night: str) -> dict[str, float]:
    """Seconds per stage of the night's DAG runs, from Airflow's task instance records."""
    db = sqlite3.connect(airflow_home / "airflow.db")
    rows = db.execute("""SELECT ti.task_id, ti.duration FROM task_instance ti
                         JOIN dag_run r ON r.run_id = ti.run_id AND r.dag_id = ti.dag_id
                         WHERE r.logical_date LIKE ? AND ti.duration IS NOT NULL""",
                      [f"{night}%"]).fetchall()
    out: dict[str, float] = defaultdict(float)
    for task, duration in rows:
        out["dbt build" if task.startswith("dbt.") else STAGES.get(task, task)] += duration
    return dict(out)


def floor(extract: Path, tmp: Path) -> dict:
    db = tmp / "floor.duckdb"
    db.unlink(missing_ok=True)
    try:
        return tree_run([sys.executable, "-c", FLOOR, str(extract), str(db)], dict(os.environ))
    finally:
        db.unlink(missing_ok=True)


def audit_alone(extract: Path, tmp: Path) -> dict:
    """The audit of the file, landed under its kind's name, in a fresh process."""
    folder = tmp / "audit_alone"
    env = fresh(folder, extract)
    landed = folder / "data" / "landing" / "police" / f"crimes_{NIGHT.replace('-', '')}.csv"
    try:
        r = tree_run([sys.executable, "-c", AUDIT, str(landed)], env)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    measured = re.search(r'\{"scan".*?\}', r["out"])  # DuckDB may print progress after it
    return {**json.loads(measured.group(0)), "rss_mb": r["rss_mb"]}


def median_run(runs: list[dict]) -> dict:
    best = sorted(runs, key=lambda r: r["wall"])[len(runs) // 2]
    return {**best, "wall": statistics.median(r["wall"] for r in runs),
            "rss_mb": max(r["rss_mb"] for r in runs)}


def measure_size(rows: int, tmp: Path, repeat: int, small: dict) -> dict:
    extract = write_extract(tmp / f"police_{rows}.csv", rows)
    n = repeat if rows <= 1_000_000 else 1
    floors = [floor(extract, tmp) for _ in range(n)]
    # Before the runs: its landing links the file (a new name moves the file's change time, and
    # the last run's folder is the long history, whose next night must find the file unchanged).
    alone = audit_alone(extract, tmp)
    runs = [csp_run(fresh(tmp / f"run_{rows}", extract)) for _ in range(n)]
    f, run = median_run(floors), median_run(runs)
    added = run["wall"] - small["wall"]
    print(f"{rows:>10,} rows: floor {f['wall']:.1f} s ({f['rss_mb']:.0f} MiB); csp run "
          f"{run['wall']:.1f} s, peak RSS {run['rss_mb']:.0f} MiB; added by the rows {added:.1f} s "
          f"= {added / f['wall']:.2f}x floor; audit alone {alone['audit']:.1f} s "
          f"({rows / alone['audit'] / 1e6:.2f}M rows/s; scan {alone['scan']:.1f} s)", flush=True)
    return {"rows": rows, "floor": f, "run": run, "added": added, "alone": alone, "runs": n}


def night_on(folder: Path, label: str) -> dict:
    """One 10k-row night on top of the history already loaded in `folder`."""
    night = write_extract(folder.parent / "police_night.csv", NIGHT_ROWS, first=50_000_000)
    land(folder, night, NEXT_NIGHT)
    env = dict(os.environ, CSP_DATA_DIR=str(folder / "data"), AIRFLOW_HOME=str(folder / "airflow"),
               CSP_DEMO_MODE="1", CSP_RETRY_DELAY_SECONDS="1")
    result = csp_run(env, NEXT_NIGHT)
    print(f"10k-row night on {label} history: {result['wall']:.1f} s, peak RSS "
          f"{result['rss_mb']:.0f} MiB; {breakdown(result['stages'])}", flush=True)
    return result


def fixed_cost_run(tmp: Path) -> dict:
    """The 100-row night on a fresh data folder (Airflow, dbt and docs start-up)."""
    run = csp_run(fresh(tmp / "run_small", write_extract(tmp / f"police_{SMALL}.csv", SMALL)))
    print(f"  {SMALL}-row night: {run['wall']:.1f} s ({run['cpu']:.1f} CPU s, load "
          f"{os.getloadavg()[0]:.1f}); {breakdown(run['stages'])}", flush=True)
    return run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default="1000000,10000000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tmp", type=Path, default=Path("/tmp/csp-bench-scale"))
    ap.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    ap.add_argument("--skip-history", action="store_true")
    ap.add_argument("--only", choices=["fixed"], help="fixed: the 100-row night alone")
    args = ap.parse_args()
    args.tmp.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.rows.split(",")]
    small = median_run([fixed_cost_run(args.tmp) for _ in range(args.repeat)])
    print(f"fixed cost ({SMALL}-row night): {small['wall']:.1f} s, peak RSS "
          f"{small['rss_mb']:.0f} MiB; " + breakdown(small["stages"]), flush=True)
    if args.only == "fixed":
        return
    measured = [measure_size(rows, args.tmp, args.repeat, small) for rows in sizes]
    nights = {}
    if not args.skip_history:  # the largest run's folder is the long history
        short = write_extract(args.tmp / f"police_{SHORT_HISTORY}.csv", SHORT_HISTORY)
        csp_run(fresh(args.tmp / "run_history_100k", short))
        nights = {"short": night_on(args.tmp / "run_history_100k", "100k"),
                  "long": night_on(args.tmp / f"run_{sizes[-1]}", f"{sizes[-1]:,}-row")}
    text = report(small, measured, nights, sizes[-1])
    print(text)
    write_section(args.results, SECTION, text)
    for folder in args.tmp.glob("run_*"):
        shutil.rmtree(folder, ignore_errors=True)


SECTION = "## bench_scale.py output"


def write_section(results: Path, heading: str, body: str) -> None:
    """Replace the section under `heading` (up to the next `## ` heading) with `body`, keeping
    the rest of the file (the reading of the figures written above them, other benchmarks'
    sections); a file without the section gets it at its end."""
    lines = results.read_text().splitlines() if results.exists() else ["# Benchmark results"]
    if heading in lines:
        start = lines.index(heading)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
                   len(lines))
        after = ["", *lines[end:]] if end < len(lines) else []
        lines = lines[:start]
    else:
        after = []
    while lines and not lines[-1].strip():
        lines.pop()
    results.write_text("\n".join([*lines, "", heading, "", body.strip("\n"), *after]) + "\n")


def breakdown(stages: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.1f} s" for k, v in sorted(stages.items(), key=lambda kv: -kv[1]))


def report(small: dict, measured: list[dict], nights: dict, largest: int) -> str:
    lines = [f"Machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB "
             "RAM (shared with other work while measured). Police crimes extracts in the contract "
             "layout; each `csp run` on a fresh data folder.", "",
             "| case | wall s | peak RSS MiB (process tree) | ratio to floor |",
             "|---|---|---|---|",
             f"| fixed cost: {SMALL}-row `csp run` (median of {len(measured) and measured[0]['runs']}) "
             f"| {small['wall']:.1f} | {small['rss_mb']:.0f} | |"]
    for m in measured:
        f, run, rows = m["floor"], m["run"], m["rows"]
        note = f" (median of {m['runs']})" if m["runs"] > 1 else ""
        lines += [
            f"| {rows:,} rows: DuckDB floor{note} | {f['wall']:.1f} | {f['rss_mb']:.0f} | 1.00 |",
            f"| {rows:,} rows: `csp run`{note} | {run['wall']:.1f} | {run['rss_mb']:.0f} | "
            f"{run['wall'] / f['wall']:.2f} |",
            f"| {rows:,} rows: added to a night (run - fixed cost) | {m['added']:.1f} | | "
            f"{m['added'] / f['wall']:.2f} |",
            f"| {rows:,} rows: gate + promote inside `csp run` (audit {_stage(run, 'audit'):.1f} "
            f"+ promote {_stage(run, 'promote'):.1f}) | {_gate(run):.1f} | | "
            f"{_gate(run) / f['wall']:.2f} |",
            f"| {rows:,} rows: audit alone (scan {m['alone']['scan']:.1f} s) | "
            f"{m['alone']['audit']:.1f} | {m['alone']['rss_mb']:.0f} | "
            f"{rows / m['alone']['audit'] / 1e6:.2f}M rows/s |"]
    if nights:
        s, g = nights["short"], nights["long"]
        lines += [f"| 10k-row night on 100k history | {s['wall']:.1f} | {s['rss_mb']:.0f} | |",
                  f"| 10k-row night on {largest:,} history | {g['wall']:.1f} | {g['rss_mb']:.0f} | "
                  f"{g['wall'] / s['wall']:.2f}x the 100k-history night |"]
    lines += ["", "Targets of issue 17, from the figures above:", "",
              *targets(small, measured, nights)]
    lines += ["", "Per-stage seconds (Airflow task durations; the rest of the wall time is Airflow "
              "start-up, DAG parsing and dag.test() scheduling):", ""]
    lines.append(f"- {SMALL} rows: {breakdown(small['stages'])}")
    for m in measured:
        lines.append(f"- {m['rows']:,} rows: {breakdown(m['run']['stages'])}")
    for label, n in nights.items():
        lines.append(f"- 10k-row night on {label} history: {breakdown(n['stages'])}")
    return "\n".join(lines) + "\n"


def _stage(run: dict, name: str) -> float:
    return run["stages"].get(name, 0.0)


def _gate(run: dict) -> float:
    return _stage(run, "audit") + _stage(run, "promote")


def targets(small: dict, measured: list[dict], nights: dict) -> list[str]:
    """Each target of the issue, met or missed, from this run's figures."""
    big = measured[-1]
    rows, floor_s = big["rows"], big["floor"]["wall"]
    checks = [
        (f"what {rows:,} rows add to a night <= 3x the floor", big["added"] / floor_s <= 3,
         f"{big['added'] / floor_s:.2f}x (gate + promote alone {_gate(big['run']) / floor_s:.2f}x)"),
        (f"peak RSS of the {rows:,}-row `csp run` <= 2 GiB", big["run"]["rss_mb"] <= 2048,
         f"{big['run']['rss_mb']:.0f} MiB"),
        ("fixed cost of a night <= 60 s", small["wall"] <= 60, f"{small['wall']:.1f} s"),
        (f"audit alone of {rows:,} rows >= 1M rows/s", rows / big["alone"]["audit"] >= 1e6,
         f"{rows / big['alone']['audit'] / 1e6:.2f}M rows/s (the floor itself: "
         f"{rows / floor_s / 1e6:.2f}M rows/s)")]
    if nights:
        ratio = nights["long"]["wall"] / nights["short"]["wall"]
        checks.append(("10k-row night on the long history <= 1.2x on 100k", ratio <= 1.2,
                       f"{ratio:.2f}x"))
    return [f"- {'met' if ok else 'MISSED'}: {what}: {got}" for what, ok, got in checks]


if __name__ == "__main__":
    main()
