"""Fixtures the integration modules share."""

from __future__ import annotations

from pathlib import Path

import pytest

from csp_pipeline.core.settings import Settings
from tests.support.warehouse import env_for


@pytest.fixture(scope="module")
def shared_data_dir(tmp_path_factory, request) -> Path:
    """One data dir for the module: its GE project (checkpoints, results) is built once."""
    return tmp_path_factory.mktemp(f"{request.module.__name__.rsplit('.', 1)[-1]}-data")


@pytest.fixture
def settings(tmp_path, shared_data_dir) -> Settings:
    """A test deployment with its own landing, warehouse, quarantine and published folders, and
    the module's shared GE project."""
    return Settings.from_env(env_for(tmp_path, shared_data_dir))
