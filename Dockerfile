# Airflow image with the project baked in (used by docker-compose.yml): the locked dependencies,
# dags, plugins, the dbt project with its manifest (parsed here) and the GE suites. Only data and
# logs are mounted at run time.
#
# BASE_IMAGE: any Debian bookworm image with python3 (3.11) and its venv module.
# PIP_INDEX_URL / PIP_FIND_LINKS / PIP_NO_INDEX: where pip finds the wheels, when not the default
# index (tests/deploy builds from a wheelhouse made on the host).
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}
ARG PIP_INDEX_URL
ARG PIP_FIND_LINKS
ARG PIP_NO_INDEX
ARG AIRFLOW_UID=50000
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH AIRFLOW_HOME=/opt/airflow CSP_DATA_DIR=/opt/csp/data \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false GX_ANALYTICS_ENABLED=false TQDM_DISABLE=1 \
    AIRFLOW__COSMOS__ENABLE_TELEMETRY=False AIRFLOW__CORE__DAGS_FOLDER=/opt/csp/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False
# uid 50000, group 0: the official Airflow image's convention (an arbitrary uid in group root works).
RUN useradd --create-home --uid "${AIRFLOW_UID}" --gid 0 airflow \
    && python3 -m venv /opt/venv
WORKDIR /opt/csp
COPY requirements.lock ./
RUN pip install --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY plugins ./plugins
COPY dags ./dags
COPY dbt_project ./dbt_project
COPY expectations ./expectations
RUN pip install --no-deps -e . \
    && rm -rf dbt_project/target dbt_project/logs \
    && dbt parse --project-dir dbt_project --profiles-dir dbt_project --profile csp --target warehouse --quiet \
    && rm -rf dbt_project/logs \
    && mkdir -p "$AIRFLOW_HOME/logs" "$CSP_DATA_DIR" \
    && chown -R "${AIRFLOW_UID}:0" "$AIRFLOW_HOME" "$CSP_DATA_DIR" \
    && chmod -R g+rwX "$AIRFLOW_HOME" "$CSP_DATA_DIR"
USER ${AIRFLOW_UID}
