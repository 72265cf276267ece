"""Shared fixtures. Tools run for real; these only isolate their state in temporary folders."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Before any test imports Airflow, GE or dbt: no telemetry, quiet progress bars, demo key allowed,
# and an Airflow home of the test session's own (Airflow reads its configuration at import).
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="csp-tests-"))
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")
os.environ.setdefault("CSP_DEMO_MODE", "1")
os.environ["AIRFLOW_HOME"] = str(_SESSION_DIR / "airflow")
os.environ["CSP_DATA_DIR"] = str(_SESSION_DIR / "data")

pytest_plugins = ["tests.support.pipeline", "tests.support.browser"]
