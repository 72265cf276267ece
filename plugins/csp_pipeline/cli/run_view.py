"""`csp run` as it happens: one line per stage, from the run's progress events (core.progress)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from csp_pipeline.cli.console import Bar, Console

DBT_PREFIX = "dbt."


class RunView:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.bar: Bar | None = None
        self.dbt_total = 0
        self.dbt = Counter()
        self.dbt_failed: list[str] = []

    def __call__(self, event: str, data: dict[str, Any]) -> None:
        handler = getattr(self, f"on_{event}", None)
        if handler:
            handler(**data)

    def say(self, text: str) -> None:
        self.console.line(text)

    def _bar(self, label: str, total: int, unit: str) -> None:
        self.bar = self.console.bar(label, total, unit)

    def _close_bar(self) -> None:
        self.console.close_bar()
        self.bar = None

    def on_night_started(self, night: str, log: Path) -> None:
        self.say(f"Night {night}; library output goes to {log} (-v shows it here)")

    def on_dag_started(self, dag_id: str, tasks: list[str]) -> None:
        self.dbt_total = sum(t.startswith(DBT_PREFIX) for t in tasks)
        self.dbt, self.dbt_failed = Counter(), []
        self.say(f"{dag_id}: started")

    def on_dag_finished(self, dag_id: str, state: str, seconds: float) -> None:
        self._close_bar()
        self._dbt_summary()
        self.say(f"{dag_id}: {state} in {seconds:.0f} s")

    def on_files_found(self, feed: str, files: int) -> None:
        if files:
            self._bar(f"{feed}: files", files, "files")
        else:
            self.say(f"  {feed}: no new files")

    def on_file_done(self, file: str, status: str, rows_rejected: int, report: Path | None,
                     **_: Any) -> None:
        if self.bar:
            self.bar.advance()
        if status == "quarantined":
            self.say(f"  quarantined {file}; report: {report}")
        elif rows_rejected:
            self.say(f"  {rows_rejected:,} row(s) of {file} rejected; report: {report}")

    def on_file_failed(self, file: str, error: str, **_: Any) -> None:
        if self.bar:
            self.bar.advance()
        self.say(f"  FAILED {file}: {error}")

    def on_feed_done(self, feed: str, loaded: int, quarantined: int, rows: int,
                     rows_rejected: int, **_: Any) -> None:
        self._close_bar()
        self.say(f"  {feed}: {loaded} file(s) loaded, {rows:,} rows, {rows_rejected:,} rejected; "
                 f"{quarantined} file(s) quarantined")

    def on_task_started(self, task_id: str, **_: Any) -> None:
        if task_id.startswith(DBT_PREFIX) and self.bar is None and self.dbt_total:
            self._bar("dbt", self.dbt_total, "nodes")
        elif not task_id.startswith(DBT_PREFIX):
            self._dbt_summary()

    def on_task_finished(self, dag_id: str, task_id: str, map_index: int, state: str,
                         error: str | None, log: Path) -> None:
        if task_id.startswith(DBT_PREFIX) and self.bar is not None:
            self.bar.advance()
        name = f"{dag_id}.{task_id}" + (f"[{map_index}]" if map_index >= 0 else "")
        if state == "up_for_retry":
            self.say(f"  {name} failed, will retry: {_first_line(error)}")
        elif state == "failed":
            self.say(f"  FAILED {name}: {_first_line(error)}")
            self.say(f"    log: {log}")

    def on_dbt_results(self, counts: dict[str, int], failed: list[str]) -> None:
        self.dbt.update(counts)
        for line in failed:
            if len(self.dbt_failed) < 10:
                self.say(f"  dbt {line}")
            self.dbt_failed.append(line)

    def _dbt_summary(self) -> None:
        if not self.dbt:
            return
        self._close_bar()
        c = self.dbt
        tests = c["test:pass"] + c["unit_test:pass"]
        failed = sum(n for k, n in c.items() if k.split(":")[1] in ("fail", "error")
                     and k.split(":")[0] in ("test", "unit_test"))
        errors = sum(n for k, n in c.items() if k.split(":")[0] in ("model", "seed")
                     and k.split(":")[1] == "error")
        self.say(f"  dbt: {c['seed:success']} seeds and {c['model:success']} models built"
                 + (f", {errors} failed" if errors else "")
                 + f"; {tests} tests passed, {failed} failed"
                 + (f", {c['test:warn']} warned" if c["test:warn"] else ""))
        self.dbt = Counter()

    def on_published(self, path: str, marts: int, withheld: int) -> None:
        self._dbt_summary()
        held = f" ({withheld} withheld)" if withheld else ""
        self.say(f"  published {marts} marts{held}: {Path(path).resolve()}")

    def on_deliveries_checked(self, missed: list[str]) -> None:
        if missed:
            self.say(f"  missed deliveries (alerted): {'; '.join(missed)}")
        else:
            self.say("  deliveries: every watched kind delivered within its expected interval")

    def on_retention(self, deleted: int) -> None:
        self.say(f"  retention: {deleted} expired extract(s) deleted")


def _first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return (lines[0] if lines else "no error message")[:400]
