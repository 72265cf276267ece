"""A night run from the command line (`csp run`, `csp backfill`, `csp demo`): its stages printed
as they happen, and a failure reported with where it happened and the end of that task's log."""

from __future__ import annotations

import sys
from datetime import date

from csp_pipeline.cli.console import Console
from csp_pipeline.cli.run_view import RunView
from csp_pipeline.core import progress
from csp_pipeline.core.settings import Settings

LOG_TAIL = 15


def run_night_live(settings: Settings, night: date, verbose: bool, console: Console,
                   wait: float = 0):
    from csp_pipeline.orchestration.runner import run_night

    with progress.watching(RunView(console)):
        return run_night(night, settings, verbose=verbose, wait_seconds=wait)


def run_and_report(settings: Settings, night: date, verbose: bool, wait: float = 0) -> int:
    """Exit code 0 when every DAG succeeded, else 1 with the failures reported on stderr."""
    from csp_pipeline.orchestration.runner import RunFailed

    try:
        result = run_night_live(settings, night, verbose, Console.terminal(), wait)
    except RunFailed as exc:
        print(f"csp run {night}: failed: {exc}", file=sys.stderr)
        return 1
    if result.ok:
        print(f"Night {night}: every DAG succeeded. Library output: {result.log}")
        return 0
    report_failure(result)
    return 1


def report_failure(result) -> None:
    from csp_pipeline.orchestration.run_log import tail

    failed = [d for d, s in result.dag_states.items() if s != "success"]
    err = sys.stderr
    print(f"\ncsp run: the night of {result.night} FAILED in {', '.join(failed)}", file=err)
    for f in result.failures:
        print(f"  DAG {f.dag_id}, task {f.name}: {f.error}", file=err)
        lines = tail(f.log, LOG_TAIL)
        print(f"  last {len(lines)} lines of its log {f.log}:", file=err)
        for line in lines:
            print(f"    {line[:300]}", file=err)
    print(f"  the night's full log: {result.log}", file=err)
