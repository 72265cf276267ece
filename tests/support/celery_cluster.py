"""Airflow on real Celery workers on this machine: `airflow scheduler`, `dag-processor`,
`api-server` and N `airflow celery worker` processes against the PostgreSQL and Redis on loopback,
with the Airflow settings of docker-compose.yml (only hosts, ports and secrets differ). Used by the
scale-out test and the scale-out benchmark.

On one host the workers would all record the machine's hostname, so each worker process gets its
own name through Airflow's `hostname_callable` (tests.support.worker_name).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import uuid
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

import yaml
from cryptography.fernet import Fernet

from csp_pipeline.core.settings import DAGS_DIR, PROJECT_ROOT
from tests.deploy.stack_api import Api, wait

PG = os.environ.get("CSP_TEST_POSTGRES", "postgres@127.0.0.1:5432")
REDIS = os.environ.get("CSP_TEST_REDIS", "redis://127.0.0.1:6379/15")
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(sql: str, db: str = "postgres") -> str:
    user, host = PG.split("@")
    return subprocess.run(["psql", "-h", host.split(":")[0], "-p", host.split(":")[1], "-U", user,
                           "-d", db, "-tAc", sql], check=True, capture_output=True,
                          text=True).stdout


def compose_environment(values: dict[str, str]) -> dict[str, str]:
    """docker-compose.yml's Airflow environment, its ${VAR} filled from `values` or defaults."""
    env = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())[
        "x-airflow-common"]["environment"]

    def fill(m: re.Match) -> str:
        name, default = m.group(1), m.group(3)
        return values[name] if name in values else (default or "")
    return {k: re.sub(r"\$\{(\w+)(:[-?]([^}]*))?\}", fill, str(v)) for k, v in env.items()}


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the process group, bounded wait, then SIGKILL."""
    for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            continue
    try:  # children the leader left behind (task supervisors)
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _environment(root: Path, db: str, queue: str, api_port: int, concurrency: int) -> dict:
    env = dict(os.environ)
    env.update(compose_environment({
        "POSTGRES_PASSWORD": "unused", "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex, "CSP_PSEUDONYM_KEY": uuid.uuid4().hex,
        "CSP_RETRY_DELAY_SECONDS": "15", "AIRFLOW_WORKER_CONCURRENCY": str(concurrency),
        # a past night, triggered: no cron run of today's night when the DAGs are unpaused
        "CSP_FEED_SCHEDULE": "none", "CSP_HOUSEKEEPING_SCHEDULE": "none"}))
    for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__RESULT_BACKEND"):
        # the compose URL with this machine's server: the scheme (driver) is the one under test
        env[key] = re.sub(r"//[^/]+/airflow$", f"//{PG}/{db}", env[key])
        assert env[key].endswith(f"@{PG.split('@')[1]}/{db}"), env[key]
    env.update(
        AIRFLOW__CELERY__BROKER_URL=REDIS,
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{api_port}/execution/",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(root / "passwords.json"),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS_DIR), AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__OPERATORS__DEFAULT_QUEUE=queue,  # other sessions' workers may share this Redis
        AIRFLOW__API__HOST="127.0.0.1", AIRFLOW__API__PORT=str(api_port), AIRFLOW__API__WORKERS="1",
        AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK="False",
        AIRFLOW_HOME=str(root / "airflow"), CSP_DATA_DIR=str(root / "data"),
    )
    return env


@contextmanager
def celery_cluster(root: Path, workers: tuple[str, ...], concurrency: int = 2,
                   log=print) -> Iterator[tuple[Api, dict]]:
    """The cluster under `root` (its own metadata database, queue, Airflow home and data folder);
    yields the REST API client and the environment; stops everything and drops the database."""
    db, queue = f"csp_test_{uuid.uuid4().hex[:8]}", f"csp_test_{uuid.uuid4().hex[:8]}"
    api_port, password = free_port(), uuid.uuid4().hex
    env = _environment(root, db, queue, api_port, concurrency)
    (root / "passwords.json").write_text(json.dumps({"admin": password}))
    psql(f"CREATE DATABASE {db}")
    procs: list[subprocess.Popen] = []
    logs = root / "logs"
    logs.mkdir(exist_ok=True)

    def start(name: str, *args: str, **extra: str) -> None:
        with (logs / f"{name}.log").open("w") as out:
            procs.append(subprocess.Popen([str(BIN / "airflow"), *args], env={**env, **extra},
                                          stdout=out, stderr=subprocess.STDOUT, cwd=root,
                                          start_new_session=True))

    try:
        for step in (["db", "migrate"], ["pools", "set", "duckdb_writer", "1", "single writer"]):
            subprocess.run([str(BIN / "airflow"), *step], env=env, check=True,
                           capture_output=True, timeout=300)
        start("api-server", "api-server")
        start("scheduler", "scheduler")
        start("dag-processor", "dag-processor")
        for name in workers:
            # Each worker names itself: Celery's node name, and the hostname Airflow records on
            # every task instance the worker runs (read by tests.support.worker_name).
            start(name, "celery", "worker", "--skip-serve-logs", "--celery-hostname", f"{name}@%h",
                  PYTHONPATH=str(PROJECT_ROOT), CSP_TEST_WORKER_NAME=name,
                  AIRFLOW__CORE__HOSTNAME_CALLABLE="tests.support.worker_name.hostname")
        api = Api(f"http://127.0.0.1:{api_port}", password, log=log)
        wait("the api-server", lambda: _answers(api_port), 120, every=1)
        yield api, env
    finally:
        for proc in reversed(procs):
            stop(proc)
        for proc in procs:
            if proc.returncode not in (0, -signal.SIGTERM, -signal.SIGKILL, 1):
                print(f"{proc.args[1]} exited {proc.returncode}")
        psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        subprocess.run(["redis-cli", "-u", REDIS, "del", queue, f"_kombu.binding.{queue}"],
                       capture_output=True)
        for log_file in sorted(logs.glob("*.log")):  # shown by pytest when a test failed
            print(f"--- {log_file.name} (tail)\n"
                  + "\n".join(log_file.read_text().splitlines()[-25:]))


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def overlapping(a: dict, b: dict) -> bool:
    """Whether two task instances (REST API records) ran at the same time."""
    start_a, end_a, start_b, end_b = (datetime.fromisoformat(t[k]) for t in (a, b)
                                      for k in ("start_date", "end_date"))
    return start_a < end_b and start_b < end_a
