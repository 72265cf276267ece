"""Every DAG imports, is documented and owned, retries, runs one at a time, and writes through the
DuckDB writer pool; the dags folder parses well inside Airflow's import timeout."""

from __future__ import annotations

import time

import pytest

from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.settings import DAGS_DIR, Settings
from csp_pipeline.orchestration import airflow_env

IMPORT_TIMEOUT_S = 30  # Airflow's default dagbag_import_timeout


@pytest.fixture(scope="module")
def dagbag():
    from csp_pipeline.orchestration.runner import build_manifest, manifest_is_stale

    airflow_env.apply(Settings.from_env())
    if manifest_is_stale():
        build_manifest()
    from airflow.dag_processing.dagbag import BundleDagBag

    started = time.perf_counter()
    bag = BundleDagBag(dag_folder=DAGS_DIR, bundle_path=DAGS_DIR, bundle_name="dags-folder")
    bag.parse_seconds = time.perf_counter() - started
    return bag


def test_dags_import_without_errors(dagbag):
    assert dagbag.import_errors == {}
    expected = {f"csp_feed_{f}" for f in load_registry().feeds} | {"csp_warehouse", "csp_housekeeping"}
    assert set(dagbag.dag_ids) == expected


def test_dags_have_tags_owner_retries_docs_and_one_active_run(dagbag):
    for dag in dagbag.dags.values():
        assert dag.tags, dag.dag_id
        assert dag.doc_md, dag.dag_id
        assert dag.max_active_runs == 1, dag.dag_id
        for t in dag.tasks:
            assert t.owner == "csp-data-engineering", (dag.dag_id, t.task_id)
        assert any(t.retries > 0 for t in dag.tasks), dag.dag_id


def test_writers_use_the_single_duckdb_pool(dagbag):
    feed = dagbag.dags["csp_feed_fire"]
    assert feed.get_task("process").pool == "duckdb_writer"
    warehouse = dagbag.dags["csp_warehouse"]
    dbt_tasks = [t for t in warehouse.tasks if t.task_id.startswith("dbt.")
                 and type(t).__name__ != "EmptyOperator"]  # cosmos's marker: never runs
    assert dbt_tasks and all(t.pool == "duckdb_writer" for t in dbt_tasks)


def test_dbt_builds_in_one_run_with_a_task_per_node(dagbag):
    """One `dbt build` (no Python start-up and no parse per node: those were most of a small
    night), and still one task per seed and model, each after that build, so an operator sees
    which model failed and can retry it alone; then every test, in process; the docs start
    from the build's parse."""
    import json

    from cosmos.constants import InvocationMode

    from csp_pipeline.core.settings import DBT_PROJECT_DIR

    warehouse = dagbag.dags["csp_warehouse"]
    build = warehouse.get_task("dbt.dbt_producer_watcher")
    # The build as a dbt process: in process, cosmos turns every dbt event into JSON (slower).
    assert build.invocation_mode == InvocationMode.SUBPROCESS
    assert build.base_cmd == ["build"] and build.retries == 0
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    nodes = {f"dbt.{n['name']}_{'seed' if n['resource_type'] == 'seed' else 'run'}"
             for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed")}
    node_tasks = {t.task_id for t in warehouse.tasks if hasattr(t, "producer_task_id")}
    assert node_tasks == nodes and len(nodes) > 50
    for task_id in node_tasks:  # after the build, succeeded or failed (never while it runs)
        task = warehouse.get_task(task_id)
        assert task.trigger_rule == "one_done" or task.upstream_task_ids <= node_tasks, task_id
        assert build.task_id in task.get_flat_relative_ids(upstream=True), task_id
    tests = warehouse.get_task("dbt.dbt_project_test")
    assert tests.invocation_mode == InvocationMode.DBT_RUNNER
    assert node_tasks <= tests.get_flat_relative_ids(upstream=True)
    docs = warehouse.get_task("dbt_docs")
    assert docs.cache_dir == build.cache_dir
    assert docs.dbt_cmd_flags[docs.dbt_cmd_flags.index("--exclude") + 1:] == [
        "resource_type:test", "resource_type:unit_test"]  # no page of their own in the site


def test_the_prebuilt_parse_serves_the_first_dbt_command_of_a_night(dagbag):
    """cosmos names the profile and target on every dbt command; dbt reuses a saved parse only
    for the same ones (a full parse is ~10 s of a small night)."""
    import subprocess

    from csp_pipeline.orchestration.runner import build_manifest, dbt_command

    build_manifest()
    parse = subprocess.run(dbt_command("parse"), capture_output=True, text=True)
    assert parse.returncode == 0, parse.stdout + parse.stderr
    assert "Unable to do partial parsing" not in parse.stdout, parse.stdout


def test_warehouse_build_is_scheduled_by_every_feed_asset(dagbag):
    schedule = dagbag.dags["csp_warehouse"].timetable.asset_condition
    assert type(schedule).__name__ == "AssetAll"  # every feed's Asset, not any one of them
    assert {a.uri for a in schedule.objects} == {f"csp://warehouse/raw/{f}"
                                                 for f in load_registry().feeds}
    for feed in load_registry().feeds:
        report = dagbag.dags[f"csp_feed_{feed}"].get_task("report")
        assert [o.uri for o in report.outlets] == [f"csp://warehouse/raw/{feed}"]


def test_the_published_snapshot_is_the_one_asset_the_warehouse_emits(dagbag):
    warehouse = dagbag.dags["csp_warehouse"]
    emitting = {t.task_id: [o.uri for o in t.outlets] for t in warehouse.tasks if t.outlets}
    assert emitting == {"publish": ["csp://published/current"]}


def test_dags_folder_parses_within_the_import_timeout(dagbag, record_property):
    record_property("dag_parse_seconds", round(dagbag.parse_seconds, 2))
    print(f"dags folder parse: {dagbag.parse_seconds:.2f} s")
    assert dagbag.parse_seconds < IMPORT_TIMEOUT_S
