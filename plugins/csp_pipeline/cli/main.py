"""csp: the community-safety partnership data pipeline, for its operators.

Partner extracts land in the landing folder; `csp run` takes one night of them through Airflow
(audit, load or quarantine, dbt, publish); the other commands show, check and repair."""

from __future__ import annotations

import argparse
import gc
import sys
import time
from datetime import date, timedelta
from importlib import metadata
from pathlib import Path

from csp_pipeline.cli import UsageError
from csp_pipeline.core.settings import ConfigurationError, Settings, environment_help

EXIT_CODES = {
    "run": "0 every DAG succeeded (a quarantined file is the design working); 1 a DAG failed; "
           "2 usage or configuration error",
    "demo": "0 the demo ran; 1 a DAG failed; 2 usage or configuration error",
    "backfill": "0 every night succeeded; 1 a night failed (later nights not run); 2 usage or "
                "configuration error",
    "status": "0 shown; 2 usage or configuration error",
    "validate": "0 the file would load; 1 it would be quarantined; 2 usage error (not a declared "
                "extract, no such file)",
    "scan-pii": "0 no identifier found; 1 identifiers found (where is printed, masked); 3 nothing "
                "to search for (no extract holds an identifier); 2 configuration error",
    "release": "0 released; 2 no such quarantined file",
    "report": "0 built (and printed); 1 printing failed; 2 no published snapshot or no such area",
    "generated": "0 up to date (or written); 1 out of date",
    "rotate-key": "0 re-keyed; 1 refused (nothing changed); 2 CSP_NEW_PSEUDONYM_KEY not set",
    "generate": "0 written; 2 usage error",
}


def night(text: str) -> date:
    """An argument date: YYYY-MM-DD."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date in the form YYYY-MM-DD (e.g. 2024-05-31)") from None


# ------------------------------------------------------------------------------- commands


def cmd_generate(args: argparse.Namespace) -> int:
    from csp_pipeline.synthetic import generate

    if args.end < args.start:
        raise UsageError(f"--end {args.end} is before --start {args.start}")
    counts = generate(Path(args.out), args.start, args.end, scale=args.scale, seed=args.seed,
                      dirty=args.dirty)
    for name, rows in sorted(counts.items()):
        print(f"{name:45} {rows:>10,} rows")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from csp_pipeline.cli.nights import run_and_report

    return run_and_report(Settings.from_env(), args.date, args.verbose, args.wait)


def cmd_backfill(args: argparse.Namespace) -> int:
    from csp_pipeline.cli.nights import run_and_report

    if args.to < args.from_:
        raise UsageError(f"--to {args.to} is before --from {args.from_}")
    settings = Settings.from_env()
    nights = [args.from_ + timedelta(days=i) for i in range((args.to - args.from_).days + 1)]
    for i, one in enumerate(nights, 1):
        print(f"== backfill night {i} of {len(nights)}: {one}", flush=True)
        code = run_and_report(settings, one, args.verbose)
        if code:
            print(f"csp backfill: stopped at {one} (night {i} of {len(nights)}); nights after it "
                  f"were not run. Fix the cause, then `csp backfill --from {one} --to {args.to}`",
                  file=sys.stderr)
            return code
    print(f"csp backfill: {len(nights)} night(s) {args.from_} .. {args.to} succeeded")
    return 0


def _print_failed_feeds(settings: Settings) -> None:
    """What failed in each feed (meta.feed_runs), and that nothing was published over it."""
    import duckdb

    from csp_pipeline.ingest import feed_runs

    if not settings.warehouse.exists():
        return
    with duckdb.connect(str(settings.warehouse)) as con:  # the configuration dbt used here
        try:
            failed = {f: r for f, r in feed_runs.latest(con).items() if not r["ok"]}
        except duckdb.CatalogException:  # a warehouse from before meta.feed_runs
            return
    for feed, r in failed.items():
        print(f"csp run: feed {feed} failed: {r['detail']}", file=sys.stderr)
    if failed and not settings.publish_over_failed_feeds:
        print("csp run: not published over the failed feed(s): the previous snapshot stays "
              "current (CSP_PUBLISH_OVER_FAILED_FEEDS=1 publishes from partial data)",
              file=sys.stderr)


def cmd_demo(args: argparse.Namespace) -> int:
    import os

    from csp_pipeline.cli.demo import run_demo

    os.environ.setdefault("CSP_DEMO_MODE", "1")
    return run_demo(Settings.from_env(), scale=args.scale, verbose=args.verbose)


def cmd_status(args: argparse.Namespace) -> int:
    from csp_pipeline.cli.status import render, status_doc

    settings = Settings.from_env()
    if args.json:
        import json

        print(json.dumps(status_doc(settings), indent=2, default=str))
    else:
        print(render(settings))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from csp_pipeline.cli.validate import validate_file

    return validate_file(Settings.from_env(), Path(args.file), args.feed, args.json)


def cmd_scan_pii(args: argparse.Namespace) -> int:
    from csp_pipeline.cli.scan_pii import scan_pii

    return scan_pii(Settings.from_env(), [Path(p) for p in args.extra])


def cmd_report(args: argparse.Namespace) -> int:
    """Rebuild the current snapshot's report; with --pdf, print an area's page (the board pack)."""
    from csp_pipeline.publish.report import build_report
    from csp_pipeline.publish.report.build import page_for
    from csp_pipeline.publish.report.pdf import PrintError, print_pdf

    current = Settings.from_env().published_dir / "current"
    if not (current / "manifest.json").exists():
        print(f"csp report: no published snapshot at {current}; run `csp run` first",
              file=sys.stderr)
        return 2
    index = build_report(current.resolve())
    print(f"report: {index}")
    if args.pdf:
        page = page_for(index.parent, args.area)
        if page is None:
            print(f"csp report: no page for area {args.area} in {index.parent}", file=sys.stderr)
            return 2
        try:
            print(f"board pack: {print_pdf(page, Path(args.pdf))}")
        except PrintError as exc:
            print(f"csp report: {exc}", file=sys.stderr)
            return 1
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from csp_pipeline.ingest.promote import ReleaseRefused, release

    settings = Settings.from_env()
    try:
        target = release(settings, args.file)
    except ReleaseRefused as exc:
        print(f"csp release refused: {exc}", file=sys.stderr)
        return 2
    print(f"released {target.name} to {target}; the next `csp run` loads it")
    return 0


def cmd_generated(args: argparse.Namespace) -> int:
    """Write or check the generated files (GE suites, dbt sources, dbt reference models)."""
    from csp_pipeline.transform.generated import stale_files, write_all

    if args.write:
        for path in write_all():
            print(f"wrote {path}")
        return 0
    stale = stale_files()
    for path in stale:
        print(f"out of date: {path} (run `csp generated --write`)", file=sys.stderr)
    return 1 if stale else 0


def cmd_rotate_key(args: argparse.Namespace) -> int:
    """Keys come from the environment only, never the command line (shell history, ps)."""
    from csp_pipeline.privacy.keys import RotationError, key_id, rotate

    settings = Settings.from_env()
    new = Settings.new_pseudonym_key()
    try:
        report = rotate(settings, settings.pseudonym_key(), new, args.drop_unmapped)
    except RotationError as exc:
        print(f"csp rotate-key refused: {exc}", file=sys.stderr)
        return 1
    print(f"re-keyed {report.pseudonyms_mapped:,} pseudonyms from {report.source_files} extract(s):"
          f" {report.rows_updated:,} values updated in {len(report.columns)} column(s), "
          f"{report.rows_dropped:,} unmapped row(s) dropped")
    for column, n in report.stale_derived.items():
        print(f"  {column}: {n} value(s) from dropped rows; a dbt full refresh removes them")
    print(f"Now set CSP_PSEUDONYM_KEY to the new key (id {key_id(new)}) before the next "
          "run, and destroy the old key.")
    return 0


# --------------------------------------------------------------------------------- parser


def _command(sub, name: str, func, summary: str, examples: list[str],
             variables: str = "") -> argparse.ArgumentParser:
    epilog = "examples:\n" + "\n".join(f"  {e}" for e in examples)
    if variables:
        epilog += f"\n\nenvironment: {variables} (all: csp --help)"
    epilog += f"\n\nexit codes: {EXIT_CODES[name]}"
    p = sub.add_parser(name, help=summary, description=summary, epilog=epilog,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(func=func)
    return p


def _verbose(p: argparse.ArgumentParser) -> None:
    p.add_argument("-v", "--verbose", action="store_true",
                   help="show the library output (Airflow, dbt, cosmos) live as well as in the "
                        "run's log")


def _feed(text: str) -> str:
    from csp_pipeline.core.registry import load_registry

    try:
        feeds = load_registry().feeds
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if text not in feeds:
        raise argparse.ArgumentTypeError(f"unknown feed {text!r} (declared: {', '.join(feeds)})")
    return text


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="csp", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="environment (read and checked once; a bad value is named with what is "
               "allowed):\n" + environment_help() + "\n\nexit codes: 0 success; 1 the command's "
               "check or run failed; 2 usage or configuration error; see each command's --help")
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = _command(sub, "run", cmd_run, "run one night of the pipeline through Airflow",
                 ["csp run --date 2024-05-31", "csp run --date 2024-05-31 -v"],
                 "CSP_DATA_DIR, CSP_LANDING_DIR, CSP_PSEUDONYM_KEY, AIRFLOW_HOME")
    r.add_argument("--date", required=True, type=night, metavar="YYYY-MM-DD",
                   help="the night: files with an extract date up to it are processed "
                        "(on or after 2024-01-01, the DAGs' start date)")
    r.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                   help="wait up to this long for another run to finish (default: refuse at once)")
    _verbose(r)

    b = _command(sub, "backfill", cmd_backfill,
                 "run a range of nights in order, stopping at the first that fails",
                 ["csp backfill --from 2024-05-01 --to 2024-05-31"],
                 "as for csp run")
    b.add_argument("--from", dest="from_", required=True, type=night, metavar="YYYY-MM-DD",
                   help="first night")
    b.add_argument("--to", required=True, type=night, metavar="YYYY-MM-DD", help="last night")
    _verbose(b)

    d = _command(sub, "demo", cmd_demo,
                 "generate the synthetic set, run its latest night, print a summary",
                 ["csp demo", "csp demo --scale 0.3"], "CSP_DATA_DIR (default ./data)")
    d.add_argument("--scale", type=float, default=1.0, help="volume multiplier (default 1)")
    _verbose(d)

    s = _command(sub, "status", cmd_status,
                 "per feed and kind: last delivery, rows, rejects, quarantines; the published "
                 "snapshot (from its manifest while a run holds the warehouse)",
                 ["csp status", "csp status --json | jq '.feeds'"], "CSP_DATA_DIR")
    s.add_argument("--json", action="store_true", help="machine-readable output")

    v = _command(sub, "validate", cmd_validate,
                 "put one file through the gate of its kind and print the report; nothing is "
                 "loaded, moved or recorded",
                 ["csp validate data/landing/police/crimes_20240531.csv",
                  "csp validate ~/Downloads/crimes_20240531.csv --feed police --json"],
                 "CSP_DATA_DIR (the warehouse gives the expected volume), CSP_CONFIG_DIR")
    v.add_argument("file", help="a landed file, or a local file named as the partner delivers it")
    v.add_argument("--feed", type=_feed,
                   help="the file's feed (default: the name of its folder)")
    v.add_argument("--json", action="store_true", help="the report as JSON")

    sc = _command(sub, "scan-pii", cmd_scan_pii,
                  "search everything the pipeline wrote for the identifiers in the landed "
                  "extracts (docs/privacy.md)",
                  ["csp scan-pii", "csp scan-pii --extra /srv/exports"],
                  "CSP_DATA_DIR, CSP_LANDING_DIR, AIRFLOW_HOME, CSP_PUBLISHED_DIR")
    sc.add_argument("--extra", action="append", default=[], metavar="PATH",
                    help="another file or folder to search (repeatable)")

    rep = _command(sub, "report", cmd_report,
                   "rebuild the current snapshot's report (--pdf: print the board pack)",
                   ["csp report", "csp report --pdf pack.pdf --area E06000001"],
                   "CSP_PUBLISHED_DIR")
    rep.add_argument("--pdf", metavar="FILE", help="also print an area's page to this PDF")
    rep.add_argument("--area", help="area code for --pdf (default: the report's first area)")

    rel = _command(sub, "release", cmd_release,
                   "return a fixed quarantined file (or rejects file) to the landing zone",
                   ["csp release fire/incidents_20240531.csv"], "CSP_QUARANTINE_DIR")
    rel.add_argument("file", help="quarantined file, e.g. fire/incidents_20240531.csv")

    g = _command(sub, "generate", cmd_generate, "write synthetic partner extracts",
                 ["csp generate --out /tmp/x --start 2024-05-01 --end 2024-05-31 --dirty 0.1"])
    g.add_argument("--out", required=True, help="folder to write <feed>/<kind>_YYYYMMDD.csv")
    g.add_argument("--start", required=True, type=night, metavar="YYYY-MM-DD")
    g.add_argument("--end", required=True, type=night, metavar="YYYY-MM-DD")
    g.add_argument("--scale", type=float, default=1.0, help="volume multiplier (default 1)")
    g.add_argument("--seed", type=int, default=42)
    g.add_argument("--dirty", type=float, default=0.0, help="share of files given one defect")

    gen = _command(sub, "generated", cmd_generated,
                   "check (default) or --write the GE suites and dbt sources generated from "
                   "feeds.yml, and the dbt reference models from reference.py",
                   ["csp generated", "csp generated --write"])
    gen.add_argument("--write", action="store_true", help="rewrite the generated files")

    rot = _command(sub, "rotate-key", cmd_rotate_key,
                   "re-key every pseudonym from CSP_PSEUDONYM_KEY to CSP_NEW_PSEUDONYM_KEY "
                   "(docs/privacy.md)",
                   ["CSP_NEW_PSEUDONYM_KEY=... csp rotate-key"],
                   "CSP_PSEUDONYM_KEY, CSP_NEW_PSEUDONYM_KEY")
    rot.add_argument("--drop-unmapped", action="store_true",
                     help="delete raw rows whose pseudonym no held extract can map")
    return p


def _version() -> str:
    try:
        return metadata.version("csp-pipeline")
    except metadata.PackageNotFoundError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    started = time.monotonic()
    try:
        code = args.func(args)
    except (UsageError, ConfigurationError) as exc:
        print(f"csp {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"csp {args.command}: interrupted", file=sys.stderr)
        return 130
    if args.command in ("run", "demo", "backfill"):
        print(f"({args.command} took {time.monotonic() - started:.0f} s)")
    return code


def console() -> None:
    """The `csp` command. A night leaves a large heap (Airflow, dbt's manifests): the
    interpreter's final garbage collection of it takes seconds, and the OS frees it anyway."""
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    console()
