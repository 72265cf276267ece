# Airflow image with the project's locked dependencies (used by docker-compose.yml).
FROM python:3.11-slim
ENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 AIRFLOW_HOME=/opt/airflow \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false GX_ANALYTICS_ENABLED=false TQDM_DISABLE=1 \
    AIRFLOW__COSMOS__ENABLE_TELEMETRY=False
RUN useradd --create-home --uid 50000 airflow
WORKDIR /opt/csp
COPY requirements.lock pyproject.toml README.md ./
RUN pip install uv==0.13.9 && uv pip install --system --compile-bytecode -r requirements.lock
COPY plugins ./plugins
COPY dags ./dags
COPY dbt_project ./dbt_project
COPY expectations ./expectations
RUN uv pip install --system --no-deps -e . \
    && dbt parse --project-dir dbt_project --profiles-dir dbt_project \
    && chown -R airflow /opt/csp
USER airflow
