"""All configuration in one place, from environment variables (contracts/operations.md)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
DAGS_DIR = PROJECT_ROOT / "dags"

# Only for `csp demo` and tests on synthetic data; announced whenever it is used.
DEMO_PSEUDONYM_KEY = "csp-demo-key-not-for-real-data"
# Where the key may live instead of CSP_PSEUDONYM_KEY: the password of this Airflow connection
# (AIRFLOW_CONN_CSP_PSEUDONYM_KEY, a secrets backend, or the metadata DB).
PSEUDONYM_CONNECTION = "csp_pseudonym_key"


class ConfigurationError(RuntimeError):
    """The pipeline is not safe to start with this configuration."""


def _positive(env, name: str, default: int) -> int:
    raw = env.get(name, str(default))
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigurationError(f"{name} must be a whole number of at least 1, not {raw!r}")
    return int(raw)


# The memory a pipeline DuckDB database may use before it spills to disk (CSP_DUCKDB_MEMORY_LIMIT).
# dbt's own limit is in dbt_project/profiles.yml (CSP_DBT_MEMORY_LIMIT, default 4GB): its models
# over the full history need more (1GB failed stg_police__crimes on a 10M-row history).
DEFAULT_DUCKDB_MEMORY_LIMIT = "1GB"
_SIZE = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


def duckdb_memory_limit(env=None) -> str:
    """CSP_DUCKDB_MEMORY_LIMIT, a DuckDB size such as `1GB` or `512MiB`."""
    env = os.environ if env is None else env
    raw = env.get("CSP_DUCKDB_MEMORY_LIMIT") or DEFAULT_DUCKDB_MEMORY_LIMIT
    if not _SIZE.fullmatch(raw.strip()):
        raise ConfigurationError(f"CSP_DUCKDB_MEMORY_LIMIT must be a size such as 1GB or 512MB, "
                                 f"not {raw!r}")
    return raw.strip()


def _folder(env, name: str) -> Path | None:
    return Path(env[name]).resolve() if env.get(name) else None


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    landing_dir: Path
    warehouse: Path
    published_dir: Path
    quarantine_dir: Path
    airflow_home: Path
    demo_mode: bool
    webhook_url: str | None
    volume_drop_ratio: float
    retention_days: int   # landed/quarantined extracts older than this are deleted (logged)
    published_keep: int   # published snapshots kept beside `current`
    publish_over_failed_feeds: bool = False  # publish even when a feed's latest run failed
    config_dir: Path | None = None     # the deployment folder (partner variants, reference/)
    reference_dir: Path | None = None  # reference CSVs, applied after config_dir/reference/
    duckdb_memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT  # per pipeline DuckDB database

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data = Path(env.get("CSP_DATA_DIR", PROJECT_ROOT / "data")).resolve()
        return cls(
            data_dir=data,
            landing_dir=Path(env.get("CSP_LANDING_DIR", data / "landing")),
            warehouse=Path(env.get("CSP_WAREHOUSE", data / "warehouse.duckdb")),
            published_dir=Path(env.get("CSP_PUBLISHED_DIR", data / "published")),
            quarantine_dir=Path(env.get("CSP_QUARANTINE_DIR", data / "quarantine")),
            airflow_home=Path(env.get("AIRFLOW_HOME", data / "airflow")),
            demo_mode=env.get("CSP_DEMO_MODE", "").lower() in ("1", "true", "yes"),
            webhook_url=env.get("CSP_ALERT_WEBHOOK_URL") or None,
            volume_drop_ratio=float(env.get("CSP_VOLUME_DROP_RATIO", "0.1")),
            retention_days=_positive(env, "CSP_RETENTION_DAYS", 90),
            published_keep=_positive(env, "CSP_PUBLISHED_KEEP", 5),
            publish_over_failed_feeds=env.get("CSP_PUBLISH_OVER_FAILED_FEEDS", "").lower()
            in ("1", "true", "yes"),
            config_dir=_folder(env, "CSP_CONFIG_DIR"),
            reference_dir=_folder(env, "CSP_REFERENCE_DIR"),
            duckdb_memory_limit=duckdb_memory_limit(env),
        )

    def pseudonym_key(self, env: dict[str, str] | None = None) -> bytes:
        """The HMAC secret. Refuses to run on real data without one."""
        env = os.environ if env is None else env
        key = env.get("CSP_PSEUDONYM_KEY") or _airflow_connection_password(PSEUDONYM_CONNECTION)
        if key:
            return key.encode()
        if self.demo_mode:
            return DEMO_PSEUDONYM_KEY.encode()
        raise ConfigurationError(
            f"CSP_PSEUDONYM_KEY is not set and there is no Airflow connection "
            f"{PSEUDONYM_CONNECTION!r}. Set one to a long random secret (kept outside the "
            "repository), or set CSP_DEMO_MODE=1 to use the public demo key on synthetic data only."
        )


def _airflow_connection_password(conn_id: str) -> str | None:
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id).password or None
    except AirflowNotFoundException:
        return None
