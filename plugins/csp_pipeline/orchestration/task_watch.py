"""An Airflow listener for `csp run`: each task's start and end as progress events, its output
into its own log file, and the failures of the night, with their logs, for the final report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from airflow.listeners import hookimpl

from csp_pipeline.core import progress
from csp_pipeline.orchestration import run_log


@dataclass
class TaskFailure:
    dag_id: str
    task_id: str
    map_index: int
    error: str
    log: Path
    will_retry: bool

    @property
    def name(self) -> str:
        return self.task_id + (f"[{self.map_index}]" if self.map_index >= 0 else "")


class TaskWatch:
    def __init__(self, logs_root: Path) -> None:
        self.logs_root = logs_root
        self.failures: list[TaskFailure] = []

    def _log(self, ti) -> Path:
        return run_log.task_log_path(self.logs_root, ti.dag_id, ti.run_id, ti.task_id,
                                     ti.map_index, ti.try_number)

    def _ids(self, ti) -> dict:
        return {"dag_id": ti.dag_id, "task_id": ti.task_id, "map_index": ti.map_index,
                "log": self._log(ti)}

    @hookimpl
    def on_task_instance_running(self, previous_state, task_instance) -> None:
        run_log.to_task(self._log(task_instance))
        progress.emit("task_started", **self._ids(task_instance))

    @hookimpl
    def on_task_instance_success(self, previous_state, task_instance) -> None:
        self._finished(task_instance, "success")

    @hookimpl
    def on_task_instance_skipped(self, previous_state, task_instance) -> None:
        self._finished(task_instance, "skipped")

    @hookimpl
    def on_task_instance_failed(self, previous_state, task_instance, error) -> None:
        state = str(getattr(task_instance, "state", "") or "failed").lower()
        retries_left = task_instance.try_number <= (getattr(task_instance, "max_tries", 0) or 0)
        text = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else (
            str(error or "no error message"))
        failure = TaskFailure(task_instance.dag_id, task_instance.task_id,
                              task_instance.map_index, text, self._log(task_instance),
                              will_retry=state.endswith("up_for_retry") or retries_left)
        self.failures.append(failure)
        self._finished(task_instance, "up_for_retry" if failure.will_retry else "failed", text)

    def _finished(self, ti, state: str, error: str | None = None) -> None:
        run_log.to_task(None)
        progress.emit("task_finished", state=state, error=error, **self._ids(ti))

    def final_failures(self) -> list[TaskFailure]:
        """Each failed task's last attempt, unless a retry then succeeded."""
        last: dict[tuple, TaskFailure] = {}
        for f in self.failures:
            last[(f.dag_id, f.task_id, f.map_index)] = f
        return [f for f in last.values() if not f.will_retry]
