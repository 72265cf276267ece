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

import pytest  # noqa: E402  (after the environment above)

from csp_pipeline.core.settings import Settings  # noqa: E402

pytest_plugins = ["tests.support.pipeline", "tests.support.browser"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A deployment whose data folder (warehouse, landing, quarantine, published) is the test's
    own. tests/integration/conftest.py gives its modules one that shares a GE project."""
    return Settings.from_env({"CSP_DATA_DIR": str(tmp_path / "data")})
