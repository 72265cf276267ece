"""docker-compose.yml has the standard Airflow production shape (no Docker engine runs here, so
its structure is checked), and carries no secret."""

from __future__ import annotations

import re

import yaml

from csp_pipeline.settings import PROJECT_ROOT

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
AIRFLOW_SERVICES = {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer", "airflow-worker"}


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_services_present_with_healthchecks():
    services = compose()["services"]
    assert AIRFLOW_SERVICES | {"postgres", "redis", "airflow-init"} <= set(services)
    for name in AIRFLOW_SERVICES | {"postgres", "redis"}:
        assert "healthcheck" in services[name], name


def test_celery_on_postgres_and_redis():
    env = compose()["x-airflow-common"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:6379")


def test_top_level_folders_mounted_and_image_built_from_lock():
    volumes = compose()["x-airflow-common"]["volumes"]
    for folder in ("dags", "plugins", "dbt_project", "expectations"):
        assert any(v.startswith(f"./{folder}:") for v in volumes), folder
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert "-r requirements.lock" in dockerfile


def test_airflow_services_wait_for_healthy_backends():
    services = compose()["services"]
    for name in AIRFLOW_SERVICES:
        deps = services[name]["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy", name
        assert deps["redis"]["condition"] == "service_healthy", name


def test_no_secret_values_in_compose():
    text = COMPOSE.read_text()
    for key in ("CSP_PSEUDONYM_KEY", "POSTGRES_PASSWORD", "FERNET_KEY", "JWT_SECRET"):
        for line in text.splitlines():
            if key in line and ":" in line and not line.strip().startswith("#"):
                value = line.split(":", 1)[1]
                assert "${" in value or re.search(r"\$\{", line), f"literal secret in: {line}"
