"""Airflow configuration for the embedded default: SQLite metadata under the data folder, no server.

Must be applied before `airflow` is imported (Airflow reads its configuration at import time).
"""

from __future__ import annotations

import os

from csp_pipeline.core.settings import DAGS_DIR, Settings


def apply(settings: Settings) -> None:
    home = settings.airflow_home
    telemetry = "true" if settings.telemetry else "false"  # CSP_TELEMETRY, default off
    home.mkdir(parents=True, exist_ok=True)
    defaults = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": telemetry,
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": telemetry,
        "GX_ANALYTICS_ENABLED": telemetry,
        "TQDM_DISABLE": "1",
        "CSP_DATA_DIR": str(settings.data_dir),
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
