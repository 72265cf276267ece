"""All configuration in one place: every environment variable is read and validated here, once.

`Settings.from_env()` turns the environment into a typed, frozen object; a bad value raises
ConfigurationError naming the variable, the value and what is allowed. `VARIABLES` lists every
variable with its default and meaning (`csp --help` prints it). Secrets (the pseudonym keys)
are read only when needed (`pseudonym_key`, `new_pseudonym_key`) and never kept on the object.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping
from urllib.parse import urlparse

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DBT_PROFILE, DBT_TARGET = "csp", "warehouse"  # of dbt_project/profiles.yml
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
DAGS_DIR = PROJECT_ROOT / "dags"

# Only for `csp demo` and tests on synthetic data; announced whenever it is used.
DEMO_PSEUDONYM_KEY = "csp-demo-key-not-for-real-data"
# Where the key may live instead of CSP_PSEUDONYM_KEY: the password of this Airflow connection
# (AIRFLOW_CONN_CSP_PSEUDONYM_KEY, a secrets backend, or the metadata DB).
PSEUDONYM_CONNECTION = "csp_pseudonym_key"

# name -> (default, meaning); the one list of the pipeline's environment.
VARIABLES: dict[str, tuple[str, str]] = {
    "CSP_DATA_DIR": ("<repository>/data", "the data folder (warehouse, landing, quarantine, published, "
                               "Airflow home); must be writable"),
    "CSP_LANDING_DIR": ("$CSP_DATA_DIR/landing", "where partners' extracts land, in <feed>/"),
    "CSP_QUARANTINE_DIR": ("$CSP_DATA_DIR/quarantine", "quarantined files, rejects and reports"),
    "CSP_PUBLISHED_DIR": ("$CSP_DATA_DIR/published", "published snapshots and `current`"),
    "CSP_WAREHOUSE": ("$CSP_DATA_DIR/warehouse.duckdb", "the DuckDB warehouse file"),
    "AIRFLOW_HOME": ("$CSP_DATA_DIR/airflow", "Airflow's home: metadata DB, task and run logs"),
    "CSP_CONFIG_DIR": ("(none)", "a deployment folder: feeds.yml (partner variants), reference/"),
    "CSP_REFERENCE_DIR": ("(none)", "reference CSVs applied after CSP_CONFIG_DIR/reference/"),
    "CSP_PSEUDONYM_KEY": ("(none)", "the pseudonym secret (or Airflow connection "
                                    f"{PSEUDONYM_CONNECTION!r}); required outside demo mode"),
    "CSP_NEW_PSEUDONYM_KEY": ("(none)", "the new secret, for `csp rotate-key` only"),
    "CSP_DEMO_MODE": ("0", "1/true/yes: synthetic data, the public demo key is allowed"),
    "CSP_VOLUME_DROP_RATIO": ("0.1", "a file with fewer rows than this share of the expected "
                                     "volume is quarantined (0 to below 1; 0 turns it off)"),
    "CSP_RETENTION_DAYS": ("90", "extracts older than this many days are deleted (>= 1)"),
    "CSP_PUBLISHED_KEEP": ("5", "published snapshots kept beside `current` (>= 1)"),
    "CSP_PUBLISH_OVER_FAILED_FEEDS": ("0", "1: publish a snapshot even when a feed's latest run "
                                            "failed (marked in its manifest)"),
    "CSP_RETRY_DELAY_SECONDS": ("300", "wait before an Airflow task retry (`csp run`: 15)"),
    "CSP_FEED_SCHEDULE": ("0 2 * * *", "cron of the feed DAGs, or `none` (triggered only)"),
    "CSP_HOUSEKEEPING_SCHEDULE": ("0 5 * * *", "cron of the housekeeping DAG, or `none`"),
    "CSP_ALERT_WEBHOOK_URL": ("(none)", "http(s) URL: every alert POSTed as JSON"),
    "CSP_ALERT_CONNECTIONS": ("(none)", "comma-separated Airflow connection ids of type smtp or "
                                        "apprise: every alert sent through Airflow's notifier"),
    "CSP_ALERT_EMAIL_TO": ("(none)", "comma-separated recipients of the smtp connections' alerts"),
    "CSP_DUCKDB_MEMORY_LIMIT": ("1GB", "memory a pipeline DuckDB database may use before it spills "
                                       "to disk (a size: 1GB, 512MB)"),
    "CSP_DBT_MEMORY_LIMIT": ("1GB", "the same for dbt's connection to the warehouse"),
    "CSP_TELEMETRY": ("0", "1: allow dbt, Great Expectations and cosmos usage statistics"),
}


class ConfigurationError(RuntimeError):
    """The pipeline is not safe to start with this configuration."""


def _bad(name: str, raw: str, allowed: str) -> ConfigurationError:
    return ConfigurationError(f"{name}={raw!r} is not allowed: {allowed}")


def _whole(env: Mapping[str, str], name: str, default: int, least: int) -> int:
    raw = env.get(name, "").strip() or str(default)
    if not raw.isdigit() or int(raw) < least:
        raise _bad(name, raw, f"a whole number of at least {least}")
    return int(raw)


def _share(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip() or str(default)
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value < 1:
        raise _bad(name, raw, "a decimal number from 0 to below 1, e.g. 0.1")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise _bad(name, raw, "1, true, yes or on; 0, false, no, off or empty")


def _folder(env: Mapping[str, str], name: str) -> Path | None:
    """An optional folder that must exist (a deployment's own configuration)."""
    if not env.get(name):
        return None
    path = Path(env[name]).resolve()
    if not path.is_dir():
        raise _bad(name, env[name], "an existing folder")
    return path


def _url(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    parts = urlparse(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _bad(name, raw, "an http:// or https:// URL")
    return raw


def _cron(env: Mapping[str, str], name: str, default: str) -> str | None:
    raw = env.get(name, "").strip() or default
    if raw.lower() == "none":
        return None
    from croniter import croniter

    if not croniter.is_valid(raw):
        raise _bad(name, raw, "a cron expression (e.g. '0 2 * * *' or '@daily') or 'none'")
    return raw


def _names(env: Mapping[str, str], name: str, valid: Callable[[str], bool],
           allowed: str) -> tuple[str, ...]:
    items = tuple(i.strip() for i in env.get(name, "").split(",") if i.strip())
    for item in items:
        if not valid(item):
            raise _bad(name, env[name], allowed)
    return items


# The memory a pipeline DuckDB database may use before it spills to disk (CSP_DUCKDB_MEMORY_LIMIT).
# dbt's own limit is in dbt_project/profiles.yml (CSP_DBT_MEMORY_LIMIT, the same 1GB by default:
# the first build of 10M police rows runs in it, its process under 1.3 GiB; benchmarks/RESULTS.md).
DEFAULT_DUCKDB_MEMORY_LIMIT = "1GB"
_SIZE = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


def duckdb_memory_limit(env=None) -> str:
    """CSP_DUCKDB_MEMORY_LIMIT, a DuckDB size such as `1GB` or `512MiB`."""
    env = os.environ if env is None else env
    raw = env.get("CSP_DUCKDB_MEMORY_LIMIT") or DEFAULT_DUCKDB_MEMORY_LIMIT
    if not _SIZE.fullmatch(raw.strip()):
        raise _bad("CSP_DUCKDB_MEMORY_LIMIT", raw, "a size such as 1GB or 512MB")
    return raw.strip()



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
    retry_delay_seconds: int = 300
    feed_schedule: str | None = "0 2 * * *"
    housekeeping_schedule: str | None = "0 5 * * *"
    alert_connections: tuple[str, ...] = ()
    alert_email_to: tuple[str, ...] = ()
    telemetry: bool = False
    duckdb_memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT  # per pipeline DuckDB database

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data = Path(env.get("CSP_DATA_DIR") or PROJECT_ROOT / "data").resolve()

        def path(name: str, default: Path) -> Path:
            return Path(env.get(name) or default)

        return cls(
            data_dir=data,
            landing_dir=path("CSP_LANDING_DIR", data / "landing"),
            warehouse=path("CSP_WAREHOUSE", data / "warehouse.duckdb"),
            published_dir=path("CSP_PUBLISHED_DIR", data / "published"),
            quarantine_dir=path("CSP_QUARANTINE_DIR", data / "quarantine"),
            airflow_home=path("AIRFLOW_HOME", data / "airflow"),
            demo_mode=_flag(env, "CSP_DEMO_MODE"),
            webhook_url=_url(env, "CSP_ALERT_WEBHOOK_URL"),
            volume_drop_ratio=_share(env, "CSP_VOLUME_DROP_RATIO", 0.1),
            retention_days=_whole(env, "CSP_RETENTION_DAYS", 90, least=1),
            published_keep=_whole(env, "CSP_PUBLISHED_KEEP", 5, least=1),
            publish_over_failed_feeds=_flag(env, "CSP_PUBLISH_OVER_FAILED_FEEDS"),
            config_dir=_folder(env, "CSP_CONFIG_DIR"),
            reference_dir=_folder(env, "CSP_REFERENCE_DIR"),
            retry_delay_seconds=_whole(env, "CSP_RETRY_DELAY_SECONDS", 300, least=0),
            feed_schedule=_cron(env, "CSP_FEED_SCHEDULE", "0 2 * * *"),
            housekeeping_schedule=_cron(env, "CSP_HOUSEKEEPING_SCHEDULE", "0 5 * * *"),
            alert_connections=_names(env, "CSP_ALERT_CONNECTIONS", str.isidentifier,
                                     "Airflow connection ids (letters, digits, _), "
                                     "comma-separated"),
            alert_email_to=_names(env, "CSP_ALERT_EMAIL_TO", lambda a: "@" in a,
                                  "e-mail addresses, comma-separated"),
            telemetry=_flag(env, "CSP_TELEMETRY"),
            duckdb_memory_limit=duckdb_memory_limit(env),
        )

    def require_writable(self) -> None:
        """Refuse to start a run that could not write its results (a clear error, not a
        traceback half way through the night)."""
        for name, folder in (("CSP_DATA_DIR", self.data_dir),
                             ("CSP_QUARANTINE_DIR", self.quarantine_dir),
                             ("CSP_PUBLISHED_DIR", self.published_dir),
                             ("CSP_WAREHOUSE", self.warehouse.parent),
                             ("AIRFLOW_HOME", self.airflow_home)):
            existing = next(p for p in (folder, *folder.parents) if p.exists())
            if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
                raise ConfigurationError(
                    f"{name}: {existing} is not a writable folder for this user (uid "
                    f"{os.getuid()}); the pipeline writes {folder} there")

    def require_landing(self) -> None:
        if not self.landing_dir.is_dir():
            raise ConfigurationError(
                f"the landing folder {self.landing_dir} does not exist (CSP_LANDING_DIR, default "
                "$CSP_DATA_DIR/landing): partners' extracts land in its <feed>/ folders")

    def pseudonym_key(self, env: Mapping[str, str] | None = None) -> bytes:
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

    @staticmethod
    def new_pseudonym_key(env: Mapping[str, str] | None = None) -> bytes:
        """The key `csp rotate-key` moves to: from the environment only (never the command
        line, which shell history and `ps` keep)."""
        env = os.environ if env is None else env
        if not env.get("CSP_NEW_PSEUDONYM_KEY"):
            raise ConfigurationError("set CSP_NEW_PSEUDONYM_KEY to the new secret (and keep the "
                                     "current one in CSP_PSEUDONYM_KEY)")
        return env["CSP_NEW_PSEUDONYM_KEY"].encode()


def environment_help() -> str:
    """The environment variables, for `--help`."""
    width = max(map(len, VARIABLES))
    return "\n".join(f"  {name:{width}}  {meaning} (default {default})"
                     for name, (default, meaning) in VARIABLES.items())


def _airflow_connection_password(conn_id: str) -> str | None:
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id).password or None
    except AirflowNotFoundException:
        return None
