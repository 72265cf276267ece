"""Every setting is read and validated in one place; a bad value names the variable, the value and
what is allowed, never a traceback or a silently ignored value."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from csp_pipeline.core.settings import VARIABLES, ConfigurationError, Settings


@pytest.mark.parametrize("name, bad, allowed", [
    ("CSP_VOLUME_DROP_RATIO", "ten", "from 0 to below 1"),
    ("CSP_VOLUME_DROP_RATIO", "-1", "from 0 to below 1"),
    ("CSP_VOLUME_DROP_RATIO", "nan", "from 0 to below 1"),
    ("CSP_VOLUME_DROP_RATIO", "inf", "from 0 to below 1"),
    ("CSP_VOLUME_DROP_RATIO", "1.5", "from 0 to below 1"),
    ("CSP_RETENTION_DAYS", "0", "at least 1"),
    ("CSP_RETENTION_DAYS", "ninety", "at least 1"),
    ("CSP_PUBLISHED_KEEP", "-2", "at least 1"),
    ("CSP_RETRY_DELAY_SECONDS", "5m", "at least 0"),
    ("CSP_DEMO_MODE", "maybe", "1, true, yes or on"),
    ("CSP_TELEMETRY", "2", "1, true, yes or on"),
    ("CSP_ALERT_WEBHOOK_URL", "hooks.example/x", "http:// or https://"),
    ("CSP_ALERT_WEBHOOK_URL", "ftp://hooks.example/x", "http:// or https://"),
    ("CSP_FEED_SCHEDULE", "every night", "a cron expression"),
    ("CSP_HOUSEKEEPING_SCHEDULE", "0 5 * *", "a cron expression"),
    ("CSP_ALERT_CONNECTIONS", "smtp alerts", "Airflow connection ids"),
    ("CSP_ALERT_EMAIL_TO", "duty-officer", "e-mail addresses"),
    ("CSP_CONFIG_DIR", "/no/such/folder", "an existing folder"),
    ("CSP_REFERENCE_DIR", "/no/such/folder", "an existing folder"),
])
def test_a_bad_value_names_the_variable_and_what_is_allowed(name, bad, allowed):
    with pytest.raises(ConfigurationError) as err:
        Settings.from_env({name: bad})
    assert str(err.value).startswith(f"{name}={bad!r} is not allowed: ")
    assert allowed in str(err.value)


def test_defaults_and_good_values_are_typed():
    default = Settings.from_env({})
    assert (default.volume_drop_ratio, default.retention_days, default.published_keep,
            default.retry_delay_seconds, default.demo_mode, default.telemetry) == (
        0.1, 90, 5, 300, False, False)
    assert (default.feed_schedule, default.housekeeping_schedule) == ("0 2 * * *", "0 5 * * *")
    assert default.webhook_url is None and default.alert_connections == ()
    s = Settings.from_env({
        "CSP_VOLUME_DROP_RATIO": "0", "CSP_DEMO_MODE": "yes", "CSP_FEED_SCHEDULE": "none",
        "CSP_HOUSEKEEPING_SCHEDULE": "@daily", "CSP_RETRY_DELAY_SECONDS": "0",
        "CSP_ALERT_WEBHOOK_URL": "https://hooks.example/csp",
        "CSP_ALERT_CONNECTIONS": "csp_smtp, csp_teams", "CSP_ALERT_EMAIL_TO": "a@x.org,b@x.org"})
    assert s.volume_drop_ratio == 0 and s.demo_mode and s.feed_schedule is None
    assert s.housekeeping_schedule == "@daily" and s.retry_delay_seconds == 0
    assert s.alert_connections == ("csp_smtp", "csp_teams")
    assert s.alert_email_to == ("a@x.org", "b@x.org")


def test_an_unwritable_data_folder_is_a_clear_error(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    if os.getuid() == 0:  # root may write anywhere: let the permission check answer as for a user
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: real(p, mode) and Path(p) != locked)
    settings = Settings.from_env({"CSP_DATA_DIR": str(locked / "data")})
    with pytest.raises(ConfigurationError, match=f"CSP_DATA_DIR: {locked} is not a writable folder"):
        settings.require_writable()


def test_a_data_folder_that_is_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "data").write_text("not a folder")
    settings = Settings.from_env({"CSP_DATA_DIR": str(tmp_path / "data")})
    with pytest.raises(ConfigurationError, match="CSP_DATA_DIR: .* is not a writable folder"):
        settings.require_writable()
    Settings.from_env({"CSP_DATA_DIR": str(tmp_path / "new" / "data")}).require_writable()


def test_a_missing_landing_folder_is_a_clear_error(tmp_path):
    settings = Settings.from_env({"CSP_DATA_DIR": str(tmp_path)})
    with pytest.raises(ConfigurationError, match="landing folder .* does not exist"):
        settings.require_landing()
    settings.landing_dir.mkdir()
    settings.require_landing()


def test_every_variable_read_is_documented():
    """The one list `csp --help` prints names every variable the package reads."""
    import re
    from pathlib import Path

    import csp_pipeline

    root = Path(csp_pipeline.__file__).parent
    read = set()
    for path in root.rglob("*.py"):
        read |= set(re.findall(r"""env(?:iron)?\.get\(\s*["']((?:CSP|AIRFLOW)_[A-Z_]+)""",
                               path.read_text()))
        read |= set(re.findall(r"""env\[["']((?:CSP|AIRFLOW)_[A-Z_]+)""", path.read_text()))
    read |= set(re.findall(r'"(CSP_[A-Z_]+)"', (root / "core" / "settings.py").read_text()))
    assert read - {"AIRFLOW_CONN_CSP_PSEUDONYM_KEY"} <= set(VARIABLES)
