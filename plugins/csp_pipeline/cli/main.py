"""The `csp` command (contracts/operations.md)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

from csp_pipeline.core.settings import ConfigurationError, Settings
from csp_pipeline.ingest.landing import LandingMissing

DEMO_START = date(2022, 6, 1)
DEMO_END = date(2024, 5, 31)


def cmd_generate(args: argparse.Namespace) -> int:
    from csp_pipeline.synthetic import generate

    counts = generate(Path(args.out), date.fromisoformat(args.start), date.fromisoformat(args.end),
                      scale=args.scale, seed=args.seed, dirty=args.dirty)
    for name, rows in sorted(counts.items()):
        print(f"{name:45} {rows:>10,} rows")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from csp_pipeline.orchestration.runner import RunFailed, run_night

    settings = Settings.from_env()
    try:
        result = run_night(date.fromisoformat(args.date), settings, args.wait)
    except RunFailed as exc:
        print(f"csp run failed: {exc}", file=sys.stderr)
        return 1
    for dag_id, state in result.dag_states.items():
        print(f"{dag_id:32} {state}")
    from csp_pipeline.core.registry import load_registry
    from csp_pipeline.ingest.landing import unrecognised

    for path, why in unrecognised(load_registry(), settings.landing_dir):
        print(f"csp run: not loaded, left in place: {path}: {why}", file=sys.stderr)
    if not result.ok:
        failed = [d for d, s in result.dag_states.items() if s != "success"]
        print(f"csp run: DAG run(s) failed: {', '.join(failed)}; see the task logs under "
              f"{settings.airflow_home / 'logs'}", file=sys.stderr)
        _print_failed_feeds(settings)
        return 1
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
    from csp_pipeline.cli.demo import run_demo

    os.environ.setdefault("CSP_DEMO_MODE", "1")
    return run_demo(Settings.from_env(), scale=args.scale)


def cmd_status(args: argparse.Namespace) -> int:
    from csp_pipeline.cli.status import render

    print(render(Settings.from_env()))
    return 0


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


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="csp", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="write synthetic partner extracts")
    g.add_argument("--out", required=True)
    g.add_argument("--start", required=True)
    g.add_argument("--end", required=True)
    g.add_argument("--scale", type=float, default=1.0)
    g.add_argument("--seed", type=int, default=42)
    g.add_argument("--dirty", type=float, default=0.0, help="share of files given one defect")
    g.set_defaults(func=cmd_generate)

    r = sub.add_parser("run", help="run the nightly pipeline for one night through Airflow")
    r.add_argument("--date", required=True)
    r.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                   help="wait up to this long for another run to finish (default: refuse at once)")
    r.set_defaults(func=cmd_run)

    d = sub.add_parser("demo", help="generate the synthetic set, run it, print a summary")
    d.add_argument("--scale", type=float, default=1.0)
    d.set_defaults(func=cmd_demo)

    sub.add_parser("status", help="loaded, quarantined and published, per feed").set_defaults(
        func=cmd_status)

    rep = sub.add_parser("report", help="rebuild the current snapshot's report (--pdf: print "
                                        "the board pack)")
    rep.add_argument("--pdf", metavar="FILE", help="also print an area's page to this PDF")
    rep.add_argument("--area", help="area code for --pdf (default: the report's first area)")
    rep.set_defaults(func=cmd_report)

    rel = sub.add_parser("release", help="return a fixed quarantined file to the landing zone")
    rel.add_argument("file", help="quarantined file, e.g. fire/incidents_20240531.csv")
    rel.set_defaults(func=cmd_release)

    gen = sub.add_parser("generated", help="check (default) or --write the GE suites and dbt "
                                           "sources generated from feeds.yml, and the dbt "
                                           "reference models from reference.py")
    gen.add_argument("--write", action="store_true")
    gen.set_defaults(func=cmd_generated)

    rot = sub.add_parser("rotate-key", help="re-key every pseudonym from CSP_PSEUDONYM_KEY to "
                                            "CSP_NEW_PSEUDONYM_KEY (docs/privacy.md)")
    rot.add_argument("--drop-unmapped", action="store_true",
                     help="delete raw rows whose pseudonym no held extract can map")
    rot.set_defaults(func=cmd_rotate_key)
    return p


def cmd_rotate_key(args: argparse.Namespace) -> int:
    """Keys come from the environment only, never the command line (shell history, ps)."""
    from csp_pipeline.privacy.keys import RotationError, key_id, rotate

    settings = Settings.from_env()
    new = os.environ.get("CSP_NEW_PSEUDONYM_KEY")
    if not new:
        print("csp rotate-key: set CSP_NEW_PSEUDONYM_KEY to the new secret (and keep the current "
              "one in CSP_PSEUDONYM_KEY)", file=sys.stderr)
        return 2
    try:
        report = rotate(settings, settings.pseudonym_key(), new.encode(), args.drop_unmapped)
    except RotationError as exc:
        print(f"csp rotate-key refused: {exc}", file=sys.stderr)
        return 1
    print(f"re-keyed {report.pseudonyms_mapped:,} pseudonyms from {report.source_files} extract(s):"
          f" {report.rows_updated:,} values updated in {len(report.columns)} column(s), "
          f"{report.rows_dropped:,} unmapped row(s) dropped")
    for column, n in report.stale_derived.items():
        print(f"  {column}: {n} value(s) from dropped rows; a dbt full refresh removes them")
    print(f"Now set CSP_PSEUDONYM_KEY to the new key (id {key_id(new.encode())}) before the next "
          "run, and destroy the old key.")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    started = time.monotonic()
    try:
        code = args.func(args)
    except (ConfigurationError, LandingMissing) as exc:
        print(f"csp: {exc}", file=sys.stderr)
        return 2
    if args.command in ("run", "demo"):
        print(f"({args.command} took {time.monotonic() - started:.0f} s)")
    return code


if __name__ == "__main__":
    sys.exit(main())
