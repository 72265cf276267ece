"""Airflow DAGs built from the feed registry: one ingest DAG per feed, one warehouse build, and
the nightly housekeeping (retention of partner extracts, missed deliveries).

Each feed DAG finds that feed's new extracts, passes each through the gate (promote or quarantine)
and emits the feed's Asset. The warehouse DAG is scheduled on all feed Assets, so it runs once the
night's feeds are in; it builds the dbt project through astronomer-cosmos and publishes a snapshot.
Every task that opens the DuckDB file takes a slot of the one-slot `duckdb_writer` pool, because
DuckDB allows a single writer (and locks the file even against readers in other processes). The
audits do not: their ledger facts are read by `discover` and handed over, so the feeds' audits run
at once on several workers and only their promotes queue for the writer.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from airflow.sdk import DAG, Asset, dag, get_current_context, task

from csp_pipeline.core import progress
from csp_pipeline.core.ledger import Status
from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.settings import DBT_PROFILE, DBT_PROJECT_DIR, DBT_TARGET, Settings
from csp_pipeline.orchestration import alerts
from csp_pipeline.orchestration.airflow_env import DAGS_START, quiet_known_warnings

log = logging.getLogger(__name__)
quiet_known_warnings()

WRITER_POOL = "duckdb_writer"
START = DAGS_START

# Read and validated once (core/settings.py): a bad value is a DAG import error naming it.
SETTINGS = Settings.from_env()
NIGHTLY = SETTINGS.feed_schedule  # None: the DAG runs only when triggered
HOUSEKEEPING = SETTINGS.housekeeping_schedule  # after feeds and warehouse
DEFAULT_ARGS = {
    "owner": "csp-data-engineering",
    "retries": 2,
    "retry_delay": timedelta(seconds=SETTINGS.retry_delay_seconds),
    "on_failure_callback": alerts.on_failure_callback,
}


# What dashboards and board-paper DAGs schedule on: a new disclosure-controlled snapshot.
PUBLISHED_SNAPSHOT = Asset(uri="csp://published/current", name="published_snapshot")


def feed_asset(feed: str) -> Asset:
    return Asset(uri=f"csp://warehouse/raw/{feed}", name=f"raw_{feed}")


# ------------------------------------------------------------------------------ feed DAG tasks


@task(pool=WRITER_POOL)
def discover(feed: str) -> list[dict]:
    """The feed's new files as one batch per kind, oldest first, each with the ledger facts its
    audit needs (read here, under the writer lock: audits open no warehouse)."""
    from csp_pipeline.ingest.landing import discover as find
    from csp_pipeline.ingest.landing import unrecognised

    ctx = get_current_context()
    up_to = ctx["logical_date"].date().isoformat() if ctx.get("logical_date") else None
    settings, registry = Settings.from_env(), load_registry()
    strays = unrecognised(registry, settings.landing_dir, feed)
    for path, why in strays:  # left in place, never read
        log.warning("not loaded, left in place: %s: %s", path, why)
    alerts.notify_unrecognised(feed, strays)
    batches: dict[str, list] = {}
    for e in find(registry, settings.landing_dir, feed, up_to):
        batches.setdefault(e.kind.name, []).append(e)
    progress.emit("files_found", feed=feed, files=sum(map(len, batches.values())))
    return [_batch_facts(extracts) for extracts in batches.values()]


@task
def audit(feed: str, batch: dict) -> list[dict]:
    """One kind's files audited in extract-date order (a file's row-volume check compares it
    with the deliveries before it), outside the writer lock: audits of several feeds run at
    once on several workers. A file that errors does not stop the later ones; its promote task
    reports it."""
    return _audit_batch(feed, batch, get_current_context()["run_id"])


@task(pool=WRITER_POOL, max_active_tis_per_dag=1, retries=0)
def process(feed: str, audits: list[dict]) -> list[dict]:
    """Each audited file promoted or quarantined (its results recorded with it) in one
    transaction of the warehouse's writer, in the audit's order; fails once the batch is done
    if any file errored."""
    return _promote_batch(feed, audits, get_current_context()["run_id"])


@task(trigger_rule="all_done")
def report(feed: str, outcomes: list[dict]) -> dict:
    """The feed's night in figures; emits the feed's Asset. (Data Docs are rendered by the
    warehouse DAG's `validation_docs`.)"""
    # Index by length: iterating the lazy XCom sequence probes one past the end (a 404).
    outcomes = [o for i in range(len(outcomes)) for o in outcomes[i] or []]
    summary = {"feed": feed, "files": len(outcomes),
               "loaded": sum(o["status"] == Status.LOADED for o in outcomes),
               "quarantined": sum(o["status"] == Status.QUARANTINED for o in outcomes),
               "rows": sum(o["rows"] for o in outcomes),
               "rows_rejected": sum(o["rows_rejected"] for o in outcomes)}
    print(f"feed {feed}: {summary}")
    progress.emit("feed_done", **summary)
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
(one mapped `audit` and `process` task per kind, its files oldest first), fingerprints each, audits it with its
Great Expectations suite (outside the writer lock) and promotes it into
`raw.{feed}__<kind>` in one transaction, or quarantines it with a report. Emits the
`raw_{feed}` Asset, which schedules the warehouse build. Declared in `feeds.yml`."""


def build_feed_dag(feed: str) -> DAG:
    @dag(dag_id=f"csp_feed_{feed}", schedule=NIGHTLY, start_date=START, catchup=False,
         max_active_runs=1, tags=["csp", "ingest", feed], default_args=DEFAULT_ARGS,
         doc_md=_feed_doc(feed))
    def feed_dag():
        found = discover(feed)
        audits = audit.partial(feed=feed).expand(batch=found)
        outcomes = process.partial(feed=feed).expand(audits=audits)
        report.override(outlets=[feed_asset(feed)])(feed, outcomes)
        outcomes >> all_files_processed(feed)
        [found, audits, outcomes] >> feed_failed(feed)

    return feed_dag()


def _batch_facts(extracts: list) -> dict:
    """A batch of one kind's extracts with their ledger facts (fingerprints, bytes already seen,
    recent deliveries), as an XCom. A file found again (it stays landed until retention) is
    not read again while unchanged (landing.known_fingerprint)."""
    from csp_pipeline.core.schema import ensure_schema
    from csp_pipeline.core.warehouse import connect
    from csp_pipeline.ingest.landing import known_fingerprint
    from csp_pipeline.ingest.ledger_facts import read_facts

    digests, unreadable = {}, {}
    with connect(Settings.from_env().warehouse) as con:
        ensure_schema(con)
        for e in extracts:
            try:
                digests[str(e.path)] = known_fingerprint(con, e.path)
            except OSError as exc:  # reported as that file's error; the others carry on
                unreadable[str(e.path)] = f"{type(exc).__name__}: {exc}"
        readable = [e for e in extracts if str(e.path) in digests]
        facts = read_facts(con, readable, digests)
    return {"paths": [str(e.path) for e in extracts], "facts": facts.as_dict(),
            "unreadable": unreadable}


def _audit_batch(feed: str, batch: dict, run_id: str) -> list[dict]:
    """Audit a batch's files in order; [{path, audit: the saved audit} or {path, error}]."""
    from pathlib import Path

    from csp_pipeline.ingest.audit import audit_file
    from csp_pipeline.ingest.ledger_facts import KindFacts

    settings = Settings.from_env()
    facts, out = KindFacts.from_dict(batch["facts"]), []
    folder = settings.data_dir / "work" / "audits" / run_id.replace(":", "_").replace("+", "_")
    for path in batch["paths"]:
        try:
            if path in batch["unreadable"]:
                out.append({"path": path, "error": batch["unreadable"][path]})
                continue
            extract = _extract(feed, path)
            audited = audit_file(settings, extract, facts, settings.pseudonym_key())
            out.append({"path": path, "audit": str(audited.save(folder))})
        except Exception as exc:  # reported by the promote task, after the rest of the batch
            log.exception("%s failed", Path(path).name)
            out.append({"path": path, "error": f"{type(exc).__name__}: {exc}"})
    return out


def _promote_batch(feed: str, audits: list[dict], run_id: str) -> list[dict]:
    from pathlib import Path

    from csp_pipeline.ingest.audit import Audited
    from csp_pipeline.ingest.promote import promote_audited

    settings, outcomes, errors = Settings.from_env(), [], []
    for item in audits:
        name = Path(item["path"]).name
        error = item.get("error")  # its audit failed (logged by the audit task)
        if error is None:
            try:
                extract = _extract(feed, item["path"])
                saved = Path(item["audit"])
                outcome = promote_audited(settings, extract, Audited.load(saved),
                                          run_id).as_dict()
                saved.unlink()
            except Exception as exc:  # raised below, after the rest of the batch
                log.exception("%s failed", name)
                error = f"{type(exc).__name__}: {exc}"
        if error is not None:
            errors.append(f"{name}: {error}")
            progress.emit("file_failed", feed=feed, file=f"{feed}/{name}", error=error)
            continue
        if outcome["status"] == Status.QUARANTINED:
            alerts.notify_quarantine(settings, outcome)
        progress.emit("file_done", **outcome, report=_report_of(settings, extract, outcome))
        outcomes.append(outcome)
    if errors:
        detail = f"{len(errors)} of {len(audits)} file(s) failed: " + "; ".join(errors)
        _record_feed_run(feed, False, detail)
        raise RuntimeError(detail)
    return outcomes


def _report_of(settings: Settings, extract, outcome: dict) -> str | None:
    """Where an operator reads why a file was quarantined or rows rejected (progress only:
    XComs carry no more than the outcome)."""
    from csp_pipeline.ingest.quarantine import report_path

    report = (report_path(settings, extract) if outcome["status"] == Status.QUARANTINED
              else report_path(settings, extract, rejects=True) if outcome["rows_rejected"]
              else None)
    return str(report) if report else None


def _extract(feed: str, path: str):
    from pathlib import Path

    from csp_pipeline.ingest.landing import match

    extract = match(load_registry(), feed, Path(path))
    if extract is None:
        raise ValueError(f"{path} is not a declared {feed} extract")
    return extract


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
    progress.emit("published", path=manifest["path"], marts=len(manifest["marts"]),
                  withheld=len(manifest.get("withheld") or ()))
    return {"published": manifest["path"], "marts": len(manifest["marts"])}


def _dbt_profile():
    from cosmos import ProfileConfig

    return ProfileConfig(profile_name=DBT_PROFILE, target_name=DBT_TARGET,
                         profiles_yml_filepath=DBT_PROJECT_DIR / "profiles.yml")


def dbt_models(profile):
    """The dbt project as one `dbt build` (astronomer-cosmos's watcher mode, from the pre-built
    manifest) with one Airflow task per seed and model that reports that node's own result,
    then every dbt test."""
    from cosmos import DbtTaskGroup, ExecutionConfig, ProjectConfig, RenderConfig
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

    group = DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(
            dbt_project_path=DBT_PROJECT_DIR,
            manifest_path=DBT_PROJECT_DIR / "target" / "manifest.json",
        ),
        profile_config=profile,
        # One dbt invocation (in process: no Python start-up, one parse) builds every node;
        # per-node invocations cost ~2 s each in start-up and parsing, most of a small night.
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER, invocation_mode=InvocationMode.DBT_RUNNER,
            dbt_executable_path=_dbt_executable(),
            setup_operator_args={"invocation_mode": InvocationMode.SUBPROCESS}),
        # Tests run once all models are built: relationship tests have two parents, and a
        # per-model test task could run before its second parent exists. No per-model
        # Assets (cosmos would emit one per model that no DAG declares, warning on each);
        # downstream DAGs schedule on the one published snapshot Asset instead. Exposures
        # (the dashboards and papers fed by the marts) only document: left out of the
        # rendering, as cosmos has no task for them (it warns on each, once per parse).
        render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST,
                                   test_behavior=TestBehavior.AFTER_ALL, emit_datasets=False,
                                   exclude=["resource_type:exposure"]),
        # Each dbt command's results (models built, tests passed or failed) as progress.
        operator_args={"install_deps": False, "pool": WRITER_POOL,
                       "callback": "csp_pipeline.transform.dbt_results.announce"},
    )
    _build_task(group).retries = 0  # cosmos skips a retried build: each node's task retries it
    _node_tasks_after_the_build(group)
    return group


def _node_tasks_after_the_build(group) -> None:
    """Each node's task reads its result once the build has succeeded or failed (a failed
    build still reports the nodes it built); it is skipped when the build never ran. cosmos
    lets them start beside the build and wait, which `dag.test()` (one task at a time, in any
    order among the ready ones) would turn into a wait that never ends."""
    build = _build_task(group)
    for node in group.iter_tasks():  # nested groups included
        if node is not build and hasattr(node, "producer_task_id") and not node.upstream_list:
            build >> node
            node.trigger_rule = "one_done"


def _build_task(group):
    from cosmos.constants import PRODUCER_WATCHER_TASK_ID

    return group.children[f"{group.group_id}.{PRODUCER_WATCHER_TASK_ID}"]


def dbt_docs(profile, models):
    """The dbt documentation site (models, columns, tests, lineage, exposures) for analysts,
    regenerated from tonight's warehouse; kept by csp_pipeline.transform.dbt_docs.keep_docs.
    Starts from the build's parse (cosmos's cache of the `models` group) rather than a new one.
    Compiles the models and seeds the site shows, not the 400-odd tests (no page of their own):
    they were most of its time."""
    from cosmos.operators.local import DbtDocsLocalOperator

    return DbtDocsLocalOperator(
        task_id="dbt_docs", project_dir=DBT_PROJECT_DIR, profile_config=profile,
        dbt_executable_path=_dbt_executable(), install_deps=False,
        dbt_cmd_flags=["--static", "--exclude", "resource_type:test", "resource_type:unit_test"],
        callback="csp_pipeline.transform.dbt_docs.keep_docs", pool=WRITER_POOL,
        cache_dir=_build_task(models).cache_dir)


WAREHOUSE_DOC = """### Build the warehouse and publish
Runs when every feed DAG has emitted its Asset. `prepare` creates every declared raw table (empty
for a feed that never delivered: a deployment builds the marts of whatever feeds it has) and
loads the deployment's reference data (`CSP_CONFIG_DIR/reference/`, `CSP_REFERENCE_DIR`) into
`deployment_reference`. astronomer-cosmos renders the dbt project
(seeds, staging -> intermediate -> marts, from the pre-built manifest): `dbt.dbt_producer_watcher`
builds every seed and model in one `dbt build` (its log is dbt's), then one task per seed and
model shows that node's result (a failed model's task fails; its retry runs that model alone),
then `dbt.dbt_project_test` runs every dbt test. Then the marts are published as an atomic
snapshot with disclosure control (`data/published/current`), and the dbt documentation site is
regenerated (`data/dbt_docs/static_index.html`). `validation_docs` renders the Great Expectations
Data Docs of the files audited since its last run."""


@task
def validation_docs() -> str:
    """Great Expectations' Data Docs for the results stored since the last build: one task
    renders them (audits on several workers only write their own result files)."""
    from csp_pipeline.ingest.data_docs import build_new_docs

    return str(build_new_docs(Settings.from_env().data_dir / "gx"))


def build_warehouse_dag() -> DAG:
    @dag(dag_id="csp_warehouse", schedule=[feed_asset(f) for f in load_registry().feeds],
         start_date=START, catchup=False, max_active_runs=1, tags=["csp", "dbt", "publish"],
         default_args=DEFAULT_ARGS, doc_md=WAREHOUSE_DOC)
    def warehouse_dag():
        profile = _dbt_profile()
        models = dbt_models(profile)
        prepare() >> models >> publish() >> dbt_docs(profile, models)
        validation_docs()

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
    from datetime import datetime, timezone

    from csp_pipeline.privacy.retention import purge_expired, purge_stale_work

    settings = Settings.from_env()
    deleted = purge_expired(settings, get_current_context()["logical_date"])
    deleted += purge_stale_work(settings, datetime.now(timezone.utc))
    progress.emit("retention", deleted=len(deleted))
    return {"deleted_files": len(deleted)}  # a count: XComs carry no file names


@task
def prune_validation_results() -> dict:
    """GE's stored results, kept as long as the extracts they describe (by when they were
    validated); the warehouse keeps every result in meta.validation_results."""
    from datetime import timezone

    from csp_pipeline.ingest.data_docs import prune_validation_results as prune

    settings = Settings.from_env()
    cutoff = datetime.now(timezone.utc) - timedelta(days=settings.retention_days)
    return {"pruned_results": prune(settings.data_dir / "gx", cutoff)}


@task(pool=WRITER_POOL)
def check_deliveries() -> dict:
    """Alert on each kind whose partner has stopped delivering (feeds.yml's
    `expected_within_days`)."""
    from csp_pipeline.ingest.deliveries import missed_deliveries

    settings = Settings.from_env()
    missed = missed_deliveries(settings, get_current_context()["logical_date"].date())
    for m in missed:
        alerts.notify_missed_delivery(settings, m)
    progress.emit("deliveries_checked",
                  missed=[f"{m.feed}/{m.kind} (last {m.last}, {m.days} days)" for m in missed])
    return {"missed_deliveries": len(missed)}


HOUSEKEEPING_DOC = """### Housekeeping: retention of partner extracts, missed deliveries
Alerts on every kind whose partner has sent nothing for longer than the kind's
`expected_within_days` (feeds.yml). Deletes landed extracts that were loaded whose extract date is more than `CSP_RETENTION_DAYS`
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
        check_deliveries()

    return housekeeping_dag()


def all_dags() -> dict[str, DAG]:
    dags = {f"csp_feed_{feed}": build_feed_dag(feed) for feed in load_registry().feeds}
    dags["csp_warehouse"] = build_warehouse_dag()
    dags["csp_housekeeping"] = build_housekeeping_dag()
    return dags
