"""One real pipeline run shared by every end-to-end test (session scope): generated extracts, one
night run through Airflow by the `csp` command, exactly as an operator would run it."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.settings import PROJECT_ROOT, Settings
from csp_pipeline.ingest.backfill import consolidate

START = date(2023, 3, 1)
NIGHT = date(2024, 5, 31)
SCALE = 0.3
BROKEN_FEED = "police"


@dataclass
class PipelineRun:
    settings: Settings
    env: dict[str, str]
    generated: Path  # pristine copy of every generated extract, for independent expectations
    broken_file: str
    returncode: int
    output: str
    seconds: float


def csp(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("csp")
    return subprocess.run([str(exe), *args], env=env, capture_output=True, text=True,
                          cwd=PROJECT_ROOT, timeout=1800)


def break_file(path: Path) -> None:
    """A partner error in the night's file: an unknown crime type on the second data row."""
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    rows[2][rows[0].index("Crime type")] = "Burglery"
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory) -> PipelineRun:
    from csp_pipeline.synthetic import generate

    root = tmp_path_factory.mktemp("e2e")
    env = dict(os.environ, CSP_DATA_DIR=str(root / "data"), AIRFLOW_HOME=str(root / "airflow"),
               CSP_DEMO_MODE="1")
    settings = Settings.from_env(env)
    generated = root / "generated"
    generate(generated, START, NIGHT, scale=SCALE, seed=7)
    consolidate(load_registry(), generated, NIGHT - timedelta(days=1))
    nightly = sorted((generated / BROKEN_FEED).glob(f"*_{NIGHT:%Y%m%d}.csv"))
    shutil.copytree(generated, settings.landing_dir)
    broken = settings.landing_dir / BROKEN_FEED / nightly[0].name
    break_file(broken)
    started = time.monotonic()
    done = csp(env, "run", "--date", NIGHT.isoformat())
    return PipelineRun(settings=settings, env=env, generated=generated,
                       broken_file=f"{BROKEN_FEED}/{broken.name}", returncode=done.returncode,
                       output=done.stdout + done.stderr, seconds=time.monotonic() - started)
