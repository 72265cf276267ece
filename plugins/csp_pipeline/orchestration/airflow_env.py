"""Airflow configuration for the embedded default: SQLite metadata under the data folder, no server.

Must be applied before `airflow` is imported (Airflow reads its configuration at import time).
"""

from __future__ import annotations

import logging
import os
from datetime import datetime

from csp_pipeline.core.settings import DAGS_DIR, Settings

# The DAGs' start date: Airflow runs no night before it (`csp run` refuses one).
DAGS_START = datetime(2024, 1, 1)


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
        # dbt's partial-parse state, per deployment: cosmos's default (/tmp/cosmos) is shared
        # by every data folder on the machine, each of which invalidates the others' parse.
        "AIRFLOW__COSMOS__CACHE_DIR": str(home / "cosmos"),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",  # into log files: the terminal shows progress
        "DBT_SEND_ANONYMOUS_USAGE_STATS": telemetry,
        "GX_ANALYTICS_ENABLED": telemetry,
        "TQDM_DISABLE": "1",
        # Airflow's own task log folder; `csp run` writes each task's log there itself.
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "CSP_DATA_DIR": str(settings.data_dir),
        # cosmos reads the OpenLineage namespace at import (warning when Airflow has none).
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "csp",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)


class _Drop(logging.Filter):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


def quiet_known_warnings() -> None:
    """Known-harmless library warnings, each silenced where it is logged (never all warnings):
    cosmos advertises the OpenLineage provider, which this deployment does not use."""
    logging.getLogger("cosmos.operators.local").addFilter(
        _Drop("install apache-airflow-providers-openlineage"))
