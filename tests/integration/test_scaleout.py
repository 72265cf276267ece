"""The docker-compose shape run directly on this machine: Airflow with a Postgres metadata DB, the
CeleryExecutor with a Redis broker, an api-server and a Celery worker as separate processes. A feed
DAG's tasks travel through Redis to the worker and load a real extract.

Needs PostgreSQL and Redis on loopback (as on the project's machines); set CSP_SKIP_SCALEOUT=1 on a
machine without them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import duckdb
import pytest

from csp_pipeline.registry import load_registry
from csp_pipeline.settings import DAGS_DIR, PROJECT_ROOT

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


def wait_for(url: str, seconds: float) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"{url} did not answer within {seconds} s")


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
        AIRFLOW__CELERY__RESULT_BACKEND=f"db+{PG.replace('+psycopg2', '')}/{db}",
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{port}/execution/",
        AIRFLOW__API_AUTH__JWT_SECRET=uuid.uuid4().hex,
        AIRFLOW__CELERY__WORKER_CONCURRENCY="2",
    )
    procs: list[subprocess.Popen] = []
    try:
        subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, check=True,
                       capture_output=True)
        subprocess.run([str(BIN / "airflow"), "pools", "set", "duckdb_writer", "1", "writer"],
                       env=env, check=True, capture_output=True)
        logs = root / "logs"
        logs.mkdir()
        for name, cmd in (("api", ["api-server", "--port", str(port)]),
                          ("worker", ["celery", "worker"])):
            procs.append(subprocess.Popen([str(BIN / "airflow"), *cmd], env=env, cwd=PROJECT_ROOT,
                                          stdout=(logs / f"{name}.log").open("w"),
                                          stderr=subprocess.STDOUT))
        wait_for(f"http://127.0.0.1:{port}/api/v2/version", 120)
        yield env, root
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def test_feed_dag_runs_on_celery_workers_with_postgres_metadata(scaleout):
    env, root = scaleout
    kind = load_registry().kind("fire", "incidents")
    landing = root / "data" / "landing" / "fire"
    landing.mkdir(parents=True)
    (landing / kind.file_name("2024-05-31")).write_text(
        ",".join(kind.column_names) + "\n"
        "F1,2024-05-30T21:14:00,Cleveland,E06000001,E05000001,Burn Valley,E01000001,"
        "Secondary fire,Grassland/refuse,Deliberate,0,0,0\n")
    done = subprocess.run(
        [str(BIN / "airflow"), "dags", "test", "csp_feed_fire", "2024-05-31", "--use-executor"],
        env=env, capture_output=True, text=True, timeout=600)
    worker_log = (root / "logs" / "worker.log").read_text()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:] + worker_log[-3000:]
    with duckdb.connect(str(root / "data" / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT incident_id FROM raw.fire__incidents").fetchall() == [("F1",)]
    # the tasks ran in the Celery worker process, not in the CLI
    assert "csp_feed_fire" in worker_log
