"""`csp run`: one night of the pipeline, executed through Airflow with the same DAGs the scheduler runs.

Each DAG runs with `dag.test()` (in process, SQLite metadata, no scheduler). The feed DAGs run
first; the warehouse DAG, which the scheduler would start from their Assets, runs after them.
Library output goes to the night's log and each task's own log (run_log); the stages report
their progress as events (core.progress) for `csp run` to print as they happen.
"""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from csp_pipeline.core import progress
from csp_pipeline.core.settings import (
    DBT_PROFILE,
    DBT_PROJECT_DIR,
    DBT_TARGET,
    ConfigurationError,
    Settings,
)
from csp_pipeline.core.warehouse import keep_private
from csp_pipeline.ingest.landing import secure_tree
from csp_pipeline.orchestration import airflow_env, run_log
from csp_pipeline.orchestration.run_lock import RunLocked, run_lock

log = logging.getLogger(__name__)


class RunFailed(RuntimeError):
    """The run itself failed (not a quarantined file, which is the design working)."""


@dataclass
class NightResult:
    night: str
    log: Path
    dag_states: dict[str, str] = field(default_factory=dict)
    failures: list = field(default_factory=list)  # task_watch.TaskFailure, last attempts

    @property
    def ok(self) -> bool:
        return all(s == "success" for s in self.dag_states.values())


def dbt_command(command: str, *flags: str) -> list[str]:
    """A dbt command on the project under the profile and target that cosmos names on every
    command it runs: dbt reuses a saved parse only for the same ones."""
    return [sys.executable, "-c", "from dbt.cli.main import cli; cli()", command,
            "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--profile", DBT_PROFILE, "--target", DBT_TARGET, *flags]


def build_manifest() -> None:
    """`dbt parse` so cosmos renders the DAG from a pre-built manifest (no dbt ls at parse time),
    and its first `dbt build` of a data folder reuses this parse (dbt's partial parsing)
    instead of parsing the project again."""
    subprocess.run(dbt_command("parse", "--quiet"), check=True)


def manifest_is_stale() -> bool:
    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [DBT_PROJECT_DIR / "dbt_project.yml"]
    for folder in ("models", "macros", "seeds", "tests"):
        sources += [p for p in (DBT_PROJECT_DIR / folder).rglob("*") if p.is_file()]
    return any(p.stat().st_mtime > built for p in sources)


def prepare(settings: Settings) -> None:
    """Idempotent set-up: Airflow metadata DB, the DuckDB writer pool, the dbt manifest."""
    airflow_env.apply(settings)
    settings.pseudonym_key()  # refuse to start without a key outside demo mode
    if manifest_is_stale():
        build_manifest()
    from airflow.models.pool import Pool
    from airflow.utils import db as airflow_db

    if not (settings.airflow_home / "airflow.db").exists():
        airflow_db.initdb()

    from csp_pipeline.orchestration.dags import WRITER_POOL

    restrict_state(settings)

    Pool.create_or_update_pool(WRITER_POOL, slots=1, description="single DuckDB writer",
                               include_deferred=False)


def restrict_state(settings: Settings) -> None:
    """The warehouse (person-level, pseudonymised rows), the Airflow home (its database holds
    XComs and logs) and the Great Expectations stores (results with sample values; Data Docs are
    for the pipeline's engineers) readable by the pipeline's user only. Published snapshots are
    not touched: analysts read them."""
    keep_private(settings.warehouse)
    for folder in (settings.airflow_home, settings.data_dir / "gx", settings.data_dir / "work"):
        secure_tree(folder)


def load_dags():
    """Parse the dags folder as `airflow dags test` does, and record the DAGs in the metadata DB."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    bundle = next(iter(manager.get_all_dag_bundles()))
    bundle.initialize()
    bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
    if bag.import_errors:
        raise RunFailed(f"DAG import errors: {bag.import_errors}")
    sync_bag_to_db(bag, bundle.name, bundle.version)
    return bag


def run_log_path(settings: Settings, night: date) -> Path:
    started = datetime.now(timezone.utc)
    return settings.airflow_home / "logs" / "csp_runs" / f"{night}_{started:%Y%m%dT%H%M%S}.log"


def run_night(night: date, settings: Settings | None = None, verbose: bool = False,
              wait_seconds: float = 0) -> NightResult:
    """One night, holding the data folder's run lock (a second run waits `wait_seconds` for it,
    then is refused with RunFailed)."""
    if night < airflow_env.DAGS_START.date():
        raise ConfigurationError(f"{night} is before the DAGs' start date "
                                 f"{airflow_env.DAGS_START:%Y-%m-%d}: Airflow runs no such night")
    settings = settings or Settings.from_env()
    settings.require_writable()
    try:
        with run_lock(settings.data_dir, night.isoformat(), wait_seconds):
            try:
                return _run_night(night, settings, verbose)
            finally:  # files the night created (logs, results, the WAL) with the default umask
                restrict_state(settings)
    except RunLocked as exc:
        raise RunFailed(str(exc)) from None


def _run_night(night: date, settings: Settings, verbose: bool) -> NightResult:
    # dag.test() waits out retry delays in this process: keep an operator's wait short.
    os.environ.setdefault("CSP_RETRY_DELAY_SECONDS", "15")
    settings.require_landing()
    result = NightResult(night=night.isoformat(), log=run_log_path(settings, night))
    progress.emit("night_started", night=result.night, log=result.log)
    with run_log.RunLog(result.log, verbose):
        prepare(settings)
        _run_dags(night, settings, result)
    return result


def _run_dags(night: date, settings: Settings, result: NightResult) -> None:
    from airflow.sdk.listener import get_listener_manager

    from csp_pipeline.orchestration.task_watch import TaskWatch

    bag = load_dags()
    logical = datetime(night.year, night.month, night.day, 2, tzinfo=timezone.utc)
    watch = TaskWatch(settings.airflow_home / "logs")
    listeners = get_listener_manager()
    listeners.add_listener(watch)
    try:
        feed_dags = sorted(d for d in bag.dag_ids if d.startswith("csp_feed_"))
        # A failing feed is reported and never stops the others.
        for dag_id in [*feed_dags, "csp_warehouse", "csp_housekeeping"]:
            _freeze_heap()
            dag = bag.get_dag(dag_id)
            progress.emit("dag_started", dag_id=dag_id, tasks=list(dag.task_ids))
            started = time.monotonic()
            run = dag.test(logical_date=logical)
            result.dag_states[dag_id] = str(run.state)
            progress.emit("dag_finished", dag_id=dag_id, state=str(run.state),
                          seconds=time.monotonic() - started)
    finally:
        gc.unfreeze()
        listeners.pm.unregister(watch)
        result.failures = watch.final_failures()


def _freeze_heap() -> None:
    """Python's full garbage collections walk every object alive; a night holds millions that
    live to its end (Airflow, Great Expectations, dbt's manifests), which cost ~10 s of a small
    night in collections. What is alive when a DAG starts is left out of them (gc.freeze), its
    garbage collected first; the run unfreezes it at its end."""
    gc.collect()
    gc.freeze()
