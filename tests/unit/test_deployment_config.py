"""docker-compose.yml keeps the official Airflow 3 shape and the settings that make it start
(`make deploy-test` runs it for real; this is the quick structural check), and carries no secret."""

from __future__ import annotations

import yaml

from csp_pipeline.core.settings import PROJECT_ROOT

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
TEST_OVERRIDE = PROJECT_ROOT / "tests" / "deploy" / "docker-compose.test.yml"
AIRFLOW_SERVICES = {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer", "airflow-worker"}


def compose(path=COMPOSE) -> dict:
    return yaml.safe_load(path.read_text())


def test_services_present_with_healthchecks_that_need_no_curl():
    services = compose()["services"]
    assert AIRFLOW_SERVICES | {"postgres", "redis", "airflow-init", "flower"} <= set(services)
    assert services["flower"]["profiles"] == ["flower"]
    for name in AIRFLOW_SERVICES | {"postgres", "redis", "flower"}:
        test = " ".join(services[name]["healthcheck"]["test"])
        assert "curl" not in test and "wget" not in test, name  # the image has neither


def test_celery_on_postgres_via_psycopg2_and_redis():
    env = compose()["x-airflow-common"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    # SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3, which is not installed
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql+psycopg2://")
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:6379")


def test_code_baked_into_the_image_only_data_and_logs_mounted():
    common = compose()["x-airflow-common"]
    targets = sorted(v.split(":")[-1] for v in common["volumes"])
    assert targets == ["/opt/airflow/logs", "/opt/csp/data"]
    assert common["build"]["args"]["BASE_IMAGE"] == "${BASE_IMAGE:-python:3.11-slim-bookworm}"
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert "-r requirements.lock" in dockerfile
    for folder in ("plugins", "dags", "dbt_project", "expectations"):
        assert f"COPY {folder} " in dockerfile, folder
    assert "dbt parse" in dockerfile  # the manifest cosmos renders the warehouse DAG from


def test_images_are_variables_with_official_defaults_and_no_top_level_name():
    spec = compose()
    assert "name" not in spec  # docker-compose 1.29 rejects it; the project name comes from -p
    assert spec["services"]["postgres"]["image"] == "${POSTGRES_IMAGE:-postgres:16}"
    assert spec["services"]["redis"]["image"] == "${REDIS_IMAGE:-redis:7.2-bookworm}"


def test_init_owns_the_volumes_and_services_wait_for_it():
    services = compose()["services"]
    init = services["airflow-init"]
    assert init["user"] == "0:0" and "chown" in init["command"][-1]
    assert "airflow db migrate" in init["command"][-1]
    for name in AIRFLOW_SERVICES:
        deps = services[name]["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy", name
        assert deps["redis"]["condition"] == "service_healthy", name
        assert deps["airflow-init"]["condition"] == "service_completed_successfully", name
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"]["condition"] == \
        "service_healthy"


def test_deploy_test_stack_has_two_workers_with_their_own_hostnames():
    from tests.deploy.host_stack import SECOND, WORKER, host_stack

    stack = {"services": compose(TEST_OVERRIDE)["services"]}
    stack["services"]["airflow-apiserver"]["ports"] = ["127.0.0.1:8080:8080"]
    services = host_stack(stack)["services"]
    assert services[WORKER]["network_mode"] == services[SECOND]["network_mode"] == "host"
    assert services[WORKER]["hostname"] != services[SECOND]["hostname"]
    assert "ports" not in services["airflow-apiserver"]  # Docker refuses them on the host network


def test_no_secret_values_in_compose():
    spec = compose()
    envs = [spec["x-airflow-common"]["environment"]] + [
        s.get("environment", {}) for s in spec["services"].values()]
    secrets = ("PSEUDONYM_KEY", "PASSWORD", "FERNET_KEY", "JWT_SECRET")
    checked = 0
    for env in envs:
        for key, value in env.items():
            if any(s in key for s in secrets) and not key.endswith("PASSWORDS_FILE"):
                assert str(value).startswith("${"), f"literal secret: {key}: {value}"
                checked += 1
    assert checked >= 6
