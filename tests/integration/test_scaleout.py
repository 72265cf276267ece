"""The docker-compose backends run directly on this machine: Airflow's metadata DB migrated on a real
PostgreSQL server and a feed DAG run recorded there; the Celery broker URL reaches a real Redis.

Not covered: tasks executed by a Celery worker. With celery 5.6 and apache-airflow-providers-celery
3.26 on Airflow 3.3.2 the provider's `airflow celery worker` command fails to load
(`providers_configuration_loaded`); see the README's scale-out section.

Needs PostgreSQL and Redis on loopback (as on the project's machines); set CSP_SKIP_SCALEOUT=1 on a
machine without them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import duckdb
import pytest

from csp_pipeline.registry import load_registry
from csp_pipeline.settings import DAGS_DIR

pytestmark = pytest.mark.skipif(os.environ.get("CSP_SKIP_SCALEOUT") == "1",
                                reason="CSP_SKIP_SCALEOUT=1")
PG = os.environ.get("CSP_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432")
REDIS = os.environ.get("CSP_TEST_REDIS", "redis://127.0.0.1:6379/15")
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True,
                   capture_output=True)


@pytest.fixture(scope="module")
def scaleout(tmp_path_factory):
    root = tmp_path_factory.mktemp("scaleout")
    db = f"csp_test_{uuid.uuid4().hex[:8]}"
    port = free_port()
    psql(f"CREATE DATABASE {db}")
    env = dict(
        os.environ,
        AIRFLOW_HOME=str(root / "airflow"), CSP_DATA_DIR=str(root / "data"), CSP_DEMO_MODE="1",
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS_DIR), AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"{PG}/{db}",
        AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
        AIRFLOW__CELERY__BROKER_URL=REDIS,
        AIRFLOW__CELERY__RESULT_BACKEND=f"db+{PG}/{db}",
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{port}/execution/",
        AIRFLOW__API_AUTH__JWT_SECRET=uuid.uuid4().hex,
        AIRFLOW__CELERY__WORKER_CONCURRENCY="2",
    )
    env.pop("AIRFLOW__CORE__EXECUTOR")  # tasks run in the CLI process (see module docstring)
    try:
        subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, check=True,
                       capture_output=True)
        subprocess.run([str(BIN / "airflow"), "pools", "set", "duckdb_writer", "1", "writer"],
                       env=env, check=True, capture_output=True)
        yield env, root, db
    finally:
        psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def test_celery_broker_is_a_reachable_redis(scaleout):
    from kombu import Connection

    with Connection(REDIS, connect_timeout=5) as conn:
        conn.ensure_connection(max_retries=1)
        assert conn.connected


def test_feed_dag_runs_with_postgres_metadata(scaleout):
    env, root, db = scaleout
    kind = load_registry().kind("fire", "incidents")
    landing = root / "data" / "landing" / "fire"
    landing.mkdir(parents=True)
    (landing / kind.file_name("2024-05-31")).write_text(
        ",".join(kind.column_names) + "\n"
        "F1,2024-05-30T21:14:00,Cleveland,E06000001,E05000001,Burn Valley,E01000001,"
        "Secondary fire,Grassland/refuse,Deliberate,0,0,0\n")
    done = subprocess.run(
        [str(BIN / "airflow"), "dags", "test", "csp_feed_fire", "2024-05-31"],
        env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with duckdb.connect(str(root / "data" / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT incident_id FROM raw.fire__incidents").fetchall() == [("F1",)]
    # the run and its task instances are recorded in the Postgres metadata DB
    runs = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-tAc",
         "SELECT state FROM dag_run WHERE dag_id = 'csp_feed_fire'"],
        capture_output=True, text=True, check=True).stdout.split()
    assert runs == ["success"]
