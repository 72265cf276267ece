"""Airflow DAGs built from the feed registry: one ingest DAG per feed, one warehouse build, and
the nightly housekeeping (retention of partner extracts).

Each feed DAG finds that feed's new extracts, passes each through the gate (promote or quarantine)
and emits the feed's Asset. The warehouse DAG is scheduled on all feed Assets, so it runs once the
night's feeds are in; it builds the dbt project through astronomer-cosmos and publishes a snapshot.
Every task that writes the DuckDB file takes a slot of the one-slot `duckdb_writer` pool, because
DuckDB allows a single writer.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta

from airflow.sdk import DAG, Asset, dag, get_current_context, task

from csp_pipeline.core.ledger import Status
from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.settings import DBT_PROJECT_DIR, Settings
from csp_pipeline.orchestration import alerts

log = logging.getLogger(__name__)

WRITER_POOL = "duckdb_writer"
START = datetime(2024, 1, 1)


def schedule(variable: str, default: str) -> str | None:
    """A cron from the environment (CSP_FEED_SCHEDULE, CSP_HOUSEKEEPING_SCHEDULE), or `none`: the
    DAG then runs only when triggered (by an upload event, an operator or a test)."""
    value = os.environ.get(variable, default).strip()
    return None if value.lower() == "none" else value


NIGHTLY = schedule("CSP_FEED_SCHEDULE", "0 2 * * *")
HOUSEKEEPING = schedule("CSP_HOUSEKEEPING_SCHEDULE", "0 5 * * *")  # after feeds and warehouse
DEFAULT_ARGS = {
    "owner": "csp-data-engineering",
    "retries": 2,
    "retry_delay": timedelta(seconds=int(os.environ.get("CSP_RETRY_DELAY_SECONDS", "300"))),
    "on_failure_callback": alerts.on_failure_callback,
}


# What dashboards and board-paper DAGs schedule on: a new disclosure-controlled snapshot.
PUBLISHED_SNAPSHOT = Asset(uri="csp://published/current", name="published_snapshot")


def feed_asset(feed: str) -> Asset:
    return Asset(uri=f"csp://warehouse/raw/{feed}", name=f"raw_{feed}")


# ------------------------------------------------------------------------------ feed DAG tasks


@task
def discover(feed: str) -> list[list[str]]:
    """The feed's new files as one batch per kind, oldest first."""
    from csp_pipeline.ingest.landing import discover as find
    from csp_pipeline.ingest.landing import unrecognised

    ctx = get_current_context()
    up_to = ctx["logical_date"].date().isoformat() if ctx.get("logical_date") else None
    settings, registry = Settings.from_env(), load_registry()
    strays = unrecognised(registry, settings.landing_dir, feed)
    for path, why in strays:  # left in place, never read
        log.warning("not loaded, left in place: %s: %s", path, why)
    alerts.notify_unrecognised(feed, strays)
    batches: dict[str, list[str]] = {}
    for e in find(registry, settings.landing_dir, feed, up_to):
        batches.setdefault(e.kind.name, []).append(str(e.path))
    return list(batches.values())


@task(pool=WRITER_POOL, max_active_tis_per_dag=1, retries=0)
def process(feed: str, paths: list[str]) -> list[dict]:
    """One kind's files in extract-date order (mapped tasks run in any order, and a file's
    row-volume check compares it with the deliveries before it). A file that errors does not
    stop the later ones; the task fails once the batch is done."""
    from pathlib import Path

    settings, run_id = Settings.from_env(), get_current_context()["run_id"]
    outcomes, errors = [], []
    for path in paths:
        try:
            outcome = _process_file(settings, feed, Path(path), run_id)
        except Exception as exc:  # raised below, after the rest of the batch
            log.exception("%s failed", Path(path).name)
            errors.append(f"{Path(path).name}: {type(exc).__name__}: {exc}")
            continue
        if outcome["status"] == Status.QUARANTINED:
            alerts.notify_quarantine(settings, outcome)
        outcomes.append(outcome)
    if errors:
        detail = f"{len(errors)} of {len(paths)} file(s) failed: " + "; ".join(errors)
        _record_feed_run(feed, False, detail)
        raise RuntimeError(detail)
    return outcomes


def _process_file(settings: Settings, feed: str, path, run_id: str) -> dict:
    """One file through the gate: its outcome (promote.Outcome) as a dict."""
    from csp_pipeline.ingest.landing import match
    from csp_pipeline.ingest.promote import process as run_gate

    extract = match(load_registry(), feed, path)
    if extract is None:
        raise ValueError(f"{path} is not a declared {feed} extract")
    return run_gate(settings, extract, run_id, settings.pseudonym_key()).as_dict()


@task(trigger_rule="all_done")
def report(feed: str, outcomes: list[dict]) -> dict:
    """The feed's night in figures (and its Data Docs rebuilt); emits the feed's Asset."""
    from csp_pipeline.ingest.gate import build_data_docs

    # Index by length: iterating the lazy XCom sequence probes one past the end (a 404).
    outcomes = [o for i in range(len(outcomes)) for o in outcomes[i] or []]
    summary = {"feed": feed, "files": len(outcomes),
               "loaded": sum(o["status"] == Status.LOADED for o in outcomes),
               "quarantined": sum(o["status"] == Status.QUARANTINED for o in outcomes),
               "rows": sum(o["rows"] for o in outcomes),
               "rows_rejected": sum(o["rows_rejected"] for o in outcomes)}
    dag_run = get_current_context()["dag_run"]
    docs = build_data_docs(Settings.from_env().data_dir / "gx",
                           since=dag_run.start_date, suite_prefix=f"{feed}__")
    print(f"feed {feed}: {summary}; Data Docs: {docs}")
    return summary


@task(pool=WRITER_POOL)
def all_files_processed(feed: str) -> None:
    """Fails the run (upstream_failed) when any file errored instead of loading or being
    quarantined; the Asset is still emitted by `report` so the other feeds' data builds.
    Records the feed's run as ok (meta.feed_runs): the warehouse build may publish."""
    _record_feed_run(feed, True)


@task(pool=WRITER_POOL, trigger_rule="one_failed")
def feed_failed(feed: str) -> None:
    """Records the feed's run as failed (unless `process` already said which files), so that
    the warehouse build does not publish over it unless told to."""
    _record_feed_run(feed, False, "a task of the feed's DAG failed; see its log")


def _record_feed_run(feed: str, ok: bool, detail: str | None = None) -> None:
    """meta.feed_runs: how this attempt of the feed's run ended (the first word stands: the
    files `process` names rather than `feed_failed`'s summary). A rerun of a night can reuse
    its run id, so an attempt is the run id and the DAG run's start."""
    from csp_pipeline.core.schema import ensure_schema
    from csp_pipeline.core.warehouse import connect
    from csp_pipeline.ingest import feed_runs

    ctx = get_current_context()
    night = ctx["logical_date"].date().isoformat() if ctx.get("logical_date") else None
    attempt = f"{ctx['run_id']} started {ctx['dag_run'].start_date:%Y-%m-%dT%H:%M:%S.%f}"
    with connect(Settings.from_env().warehouse) as con:
        ensure_schema(con)
        if not feed_runs.recorded(con, feed, attempt):
            feed_runs.record(con, feed, attempt, night, ok, detail)


def _feed_doc(feed: str) -> str:
    kinds = ", ".join(f"`{k.name}`" for k in load_registry().kinds_of(feed))
    return f"""### Ingest the `{feed}` feed
Finds the feed's landed extracts ({kinds}) up to the run's date that are not yet processed
(one mapped `process` task per kind, its files oldest first), fingerprints each, audits it with its Great Expectations suite and promotes it into
`raw.{feed}__<kind>` in one transaction, or quarantines it with a report. Emits the
`raw_{feed}` Asset, which schedules the warehouse build. Declared in `feeds.yml`."""


def build_feed_dag(feed: str) -> DAG:
    @dag(dag_id=f"csp_feed_{feed}", schedule=NIGHTLY, start_date=START, catchup=False,
         max_active_runs=1, tags=["csp", "ingest", feed], default_args=DEFAULT_ARGS,
         doc_md=_feed_doc(feed))
    def feed_dag():
        found = discover(feed)
        outcomes = process.partial(feed=feed).expand(paths=found)
        report.override(outlets=[feed_asset(feed)])(feed, outcomes)
        outcomes >> all_files_processed(feed)
        [found, outcomes] >> feed_failed(feed)

    return feed_dag()


# ------------------------------------------------------------------------- warehouse DAG tasks


@task(pool=WRITER_POOL)
def prepare() -> dict:
    """Every raw table dbt reads (empty when never delivered) and the deployment's reference
    rows, which the dbt models ref_<file> merge with the bundled seeds."""
    from csp_pipeline.core.reference import load_deployment
    from csp_pipeline.core.schema import ensure_schema
    from csp_pipeline.core.warehouse import connect

    settings = Settings.from_env()
    with connect(settings.warehouse) as con:
        ensure_schema(con)
        return {"deployment_reference_rows": load_deployment(con, settings)}


@task(pool=WRITER_POOL, outlets=[PUBLISHED_SNAPSHOT])
def publish() -> dict:
    from airflow.sdk.exceptions import AirflowFailException

    from csp_pipeline.publish.snapshot import PublishRefused
    from csp_pipeline.publish.snapshot import publish as publish_snapshot

    try:
        manifest = publish_snapshot(Settings.from_env(), get_current_context()["run_id"])
    except PublishRefused as exc:  # no retry: the feeds have to be fixed first
        raise AirflowFailException(str(exc)) from None
    return {"published": manifest["path"], "marts": len(manifest["marts"])}


def _dbt_profile():
    from cosmos import ProfileConfig

    return ProfileConfig(profile_name="csp", target_name="warehouse",
                         profiles_yml_filepath=DBT_PROJECT_DIR / "profiles.yml")


def dbt_models(profile):
    """The dbt project as one task per model (astronomer-cosmos, from the pre-built manifest),
    then every dbt test."""
    from cosmos import DbtTaskGroup, ExecutionConfig, ProjectConfig, RenderConfig
    from cosmos.constants import LoadMode, TestBehavior

    return DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(
            dbt_project_path=DBT_PROJECT_DIR,
            manifest_path=DBT_PROJECT_DIR / "target" / "manifest.json",
        ),
        profile_config=profile,
        execution_config=ExecutionConfig(dbt_executable_path=_dbt_executable()),
        # Tests run once all models are built: relationship tests have two parents, and a
        # per-model test task could run before its second parent exists.
        render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST,
                                   test_behavior=TestBehavior.AFTER_ALL),
        # No per-model Assets (cosmos would emit 42 that no DAG declares); downstream DAGs
        # schedule on the one published snapshot Asset instead.
        operator_args={"install_deps": False, "pool": WRITER_POOL, "emit_datasets": False},
    )


def dbt_docs(profile):
    """The dbt documentation site (models, columns, tests, lineage, exposures) for analysts,
    regenerated from tonight's warehouse; kept by csp_pipeline.transform.dbt_docs.keep_docs."""
    from cosmos.operators.local import DbtDocsLocalOperator

    return DbtDocsLocalOperator(
        task_id="dbt_docs", project_dir=DBT_PROJECT_DIR, profile_config=profile,
        dbt_executable_path=_dbt_executable(), install_deps=False, dbt_cmd_flags=["--static"],
        callback="csp_pipeline.transform.dbt_docs.keep_docs", pool=WRITER_POOL)


WAREHOUSE_DOC = """### Build the warehouse and publish
Runs when every feed DAG has emitted its Asset. `prepare` creates every declared raw table (empty
for a feed that never delivered: a deployment builds the marts of whatever feeds it has) and
loads the deployment's reference data (`CSP_CONFIG_DIR/reference/`, `CSP_REFERENCE_DIR`) into
`deployment_reference`. astronomer-cosmos renders the dbt project
(seeds, staging -> intermediate -> marts, from the pre-built manifest) as one task per model,
then runs every dbt test. Then the marts are published as an atomic
snapshot with disclosure control (`data/published/current`), and the dbt documentation site is
regenerated (`data/dbt_docs/static_index.html`)."""


def build_warehouse_dag() -> DAG:
    @dag(dag_id="csp_warehouse", schedule=[feed_asset(f) for f in load_registry().feeds],
         start_date=START, catchup=False, max_active_runs=1, tags=["csp", "dbt", "publish"],
         default_args=DEFAULT_ARGS, doc_md=WAREHOUSE_DOC)
    def warehouse_dag():
        profile = _dbt_profile()
        prepare() >> dbt_models(profile) >> publish() >> dbt_docs(profile)

    return warehouse_dag()


def _dbt_executable() -> str:
    import shutil
    import sys
    from pathlib import Path

    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


# ---------------------------------------------------------------------- housekeeping DAG tasks


@task(pool=WRITER_POOL)
def purge_expired_extracts() -> dict:
    from csp_pipeline.privacy.retention import purge_expired

    night = get_current_context()["logical_date"]
    deleted = purge_expired(Settings.from_env(), night)
    return {"deleted_files": len(deleted)}  # a count: XComs carry no file names


@task
def prune_validation_results() -> dict:
    """GE's stored results, kept as long as the extracts they describe (by when they were
    validated); the warehouse keeps every result in meta.validation_results."""
    from datetime import timezone

    from csp_pipeline.ingest.gate import prune_validation_results as prune

    settings = Settings.from_env()
    cutoff = datetime.now(timezone.utc) - timedelta(days=settings.retention_days)
    return {"pruned_results": prune(settings.data_dir / "gx", cutoff)}


HOUSEKEEPING_DOC = """### Housekeeping: retention of partner extracts
Deletes landed extracts that were loaded whose extract date is more than `CSP_RETENTION_DAYS`
(default 90) before the run's night, and quarantined extracts with their reports quarantined
that long ago (and at least 30 days ago). Files never
loaded are kept. Every deletion is logged in `meta.retention_log` (see docs/privacy.md). Great
Expectations' stored validation results older than the same window are pruned too."""


def build_housekeeping_dag() -> DAG:
    @dag(dag_id="csp_housekeeping", schedule=HOUSEKEEPING, start_date=START, catchup=False,
         max_active_runs=1, tags=["csp", "privacy", "retention"], default_args=DEFAULT_ARGS,
         doc_md=HOUSEKEEPING_DOC)
    def housekeeping_dag():
        purge_expired_extracts()
        prune_validation_results()

    return housekeeping_dag()


def all_dags() -> dict[str, DAG]:
    dags = {f"csp_feed_{feed}": build_feed_dag(feed) for feed in load_registry().feeds}
    dags["csp_warehouse"] = build_warehouse_dag()
    dags["csp_housekeeping"] = build_housekeeping_dag()
    return dags
