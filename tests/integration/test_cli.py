"""The `csp` command as an operator meets it: help, version, usage and configuration errors (a
message and exit 2, never a traceback), `csp validate` on one file and `csp scan-pii`, each run as
the real command in a process of its own."""

from __future__ import annotations

import json
import os
import shutil
from datetime import date
from pathlib import Path

import pytest

from csp_pipeline.core.registry import load_registry
from tests.support.pipeline import csp
from tests.support.rows import valid_rows, write_extract

COMMANDS = ["run", "backfill", "demo", "status", "validate", "scan-pii", "report", "release", "generate",
            "generated", "rotate-key"]
NIGHT = date(2024, 5, 31)


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return dict(os.environ, CSP_DATA_DIR=str(tmp_path / "data"), CSP_DEMO_MODE="1",
                AIRFLOW_HOME=str(tmp_path / "airflow"))


def clean(done) -> str:
    """The command's output, checked for what an operator must never see."""
    out = done.stdout + done.stderr
    assert "Traceback" not in out, out
    return out


def test_help_of_every_command_has_arguments_examples_environment_and_exit_codes(env):
    top = csp(env, "--help")
    assert top.returncode == 0
    assert all(c in top.stdout for c in COMMANDS)
    assert "CSP_VOLUME_DROP_RATIO" in top.stdout and "exit codes:" in top.stdout
    for command in COMMANDS:
        done = csp(env, command, "--help")
        assert done.returncode == 0, command
        assert "examples:" in done.stdout and "exit codes:" in done.stdout, command
        assert "csp " + command in done.stdout, command
    assert "environment: CSP_DATA_DIR" in csp(env, "run", "--help").stdout


def test_version(env):
    done = csp(env, "--version")
    assert done.returncode == 0 and done.stdout.startswith("csp ")


@pytest.mark.parametrize("args, message", [
    (["run", "--date", "31/05/2024"],
     "argument --date: '31/05/2024' is not a date in the form YYYY-MM-DD (e.g. 2024-05-31)"),
    (["run"], "the following arguments are required: --date"),
    (["backfill", "--from", "2024-05-31", "--to", "2024-05-01"],
     "--to 2024-05-01 is before --from 2024-05-31"),
    (["validate", "x.csv", "--feed", "polise"],
     "argument --feed: unknown feed 'polise' (declared: police, fire, "),
    (["run", "--date", "2023-12-31"],
     "2023-12-31 is before the DAGs' start date 2024-01-01: Airflow runs no such night"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_arguments_are_usage_errors(env, args, message):
    done = csp(env, *args)
    assert done.returncode == 2, clean(done)
    assert message in clean(done)


@pytest.mark.parametrize("variable, value", [
    ("CSP_VOLUME_DROP_RATIO", "ten"), ("CSP_VOLUME_DROP_RATIO", "nan"),
    ("CSP_VOLUME_DROP_RATIO", "-1"), ("CSP_VOLUME_DROP_RATIO", "inf")])
def test_a_bad_setting_is_named_with_what_is_allowed(env, variable, value):
    done = csp({**env, variable: value}, "status")
    assert done.returncode == 2
    assert f"csp status: {variable}={value!r} is not allowed: a decimal number from 0 to below 1" \
        in clean(done)


def test_a_run_without_a_landing_folder_is_a_clear_error(env, tmp_path):
    done = csp(env, "run", "--date", "2024-05-31")
    assert done.returncode == 2
    assert (f"the landing folder {tmp_path / 'data' / 'landing'} does not exist"
            in clean(done))


def test_an_unknown_key_in_a_deployment_feeds_yml_is_a_clear_error(env, tmp_path):
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "feeds.yml").write_text("expected_feed: [fire]\n")
    done = csp({**env, "CSP_CONFIG_DIR": str(tmp_path / "deploy")}, "validate", "x.csv",
               "--feed", "fire")
    assert done.returncode == 2
    assert "unknown key(s) ['expected_feed']" in clean(done)


# ------------------------------------------------------------------------------- validate


def _extract(env, feed: str, kind: str, rows_changed=None) -> Path:
    landing = Path(env["CSP_DATA_DIR"]) / "landing"
    k = load_registry().kind(feed, kind)
    rows = valid_rows(k, 40, NIGHT)
    if rows_changed:
        rows_changed(rows)
    return write_extract(landing, k, NIGHT, rows)


def _nothing_written(env, path: Path) -> None:
    data = Path(env["CSP_DATA_DIR"])
    assert path.exists()  # not moved
    assert sorted(p.name for p in data.iterdir()) == ["landing"]  # no warehouse, gx, quarantine


def test_validate_a_good_file_would_load_and_nothing_is_recorded(env):
    path = _extract(env, "youth_justice", "children")
    done = csp(env, "validate", str(path))
    assert done.returncode == 0, clean(done)
    out = clean(done)
    assert "youth_justice/children, extract date 2024-05-31, 40 rows" in out
    assert "would load: 40 rows, 0 rejected" in out and "0 failed" in out
    assert "Nothing was loaded, moved or recorded." in out
    _nothing_written(env, path)


def test_validate_a_bad_file_would_be_quarantined_with_its_report(env, tmp_path):
    def spoil(rows):  # 5 of 40 rows: over the rule's 5% tolerance of rejected rows
        for row in rows[3:40:8]:
            row["ETHNICITY"] = "Martian"

    landed = _extract(env, "youth_justice", "children", spoil)
    local = tmp_path / "children_20240531.csv"  # a local copy, outside the landing zone
    shutil.copy(landed, local)
    done = csp(env, "validate", str(local), "--feed", "youth_justice", "--json")
    assert done.returncode == 1, clean(done)
    doc = json.loads(done.stdout)
    assert doc["verdict"] == "quarantine" and doc["rows_in_file"] == 40
    [blocking] = doc["blocking"]
    assert "rule 'value in the contract's code list' failed on column 'ETHNICITY'" in blocking
    assert "over its tolerance: the file is quarantined); rows: 4, 12, 20, 28, 36" in blocking
    text = csp(env, "validate", str(landed))
    assert text.returncode == 1 and "WOULD BE QUARANTINED:" in clean(text)
    _nothing_written(env, landed)


def test_validate_a_file_that_is_not_an_extract_is_a_usage_error(env, tmp_path):
    stray = tmp_path / "police" / "notes.csv"
    stray.parent.mkdir()
    stray.write_text("a,b\n")
    done = csp(env, "validate", str(stray))
    assert done.returncode == 2
    assert "notes.csv is not named as a police extract is: crimes_{date}.csv" in clean(done)
    missing = csp(env, "validate", str(tmp_path / "police" / "crimes_20240531.csv"))
    assert missing.returncode == 2 and "no such file" in clean(missing)


# ------------------------------------------------------------------------------- scan-pii


def test_scan_pii_with_nothing_to_search_for_says_so(env):
    (Path(env["CSP_DATA_DIR"]) / "landing" / "police").mkdir(parents=True)
    done = csp(env, "scan-pii")
    assert done.returncode == 3
    assert "nothing to search for: the 0 extract(s) in" in clean(done)


def test_scan_pii_finds_a_leaked_identifier_and_passes_when_clean(env):
    path = _extract(env, "youth_justice", "children")
    kind = load_registry().kind("youth_justice", "children")
    ok = csp(env, "scan-pii")
    assert ok.returncode == 0, clean(ok)
    assert "Searching for " in ok.stdout and "identifier values (the PII columns of 1 landed" \
        in ok.stdout and "No identifier found." in ok.stdout
    with path.open() as fh:
        import csv

        row = next(csv.DictReader(fh))
    child_id = row[next(c.name for c in kind.pii_columns if c.pii == "pseudonym")]
    leak = Path(env["CSP_DATA_DIR"]) / "exports" / "debug.txt"
    leak.parent.mkdir()
    leak.write_text(f"row dumped for debugging: {child_id}\n")
    found = csp(env, "scan-pii")
    assert found.returncode == 1, clean(found)
    assert f"{leak} (bytes): identifier {child_id[:2]}" in found.stdout
    assert child_id not in found.stdout
