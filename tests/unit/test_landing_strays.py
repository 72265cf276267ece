"""Every file in the landing zone that is not a declared extract is reported with why, left in
place and never read; a symbolic link is never followed; a missing landing folder is an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from csp_pipeline.cli.status import render
from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.settings import Settings
from csp_pipeline.ingest.landing import LandingMissing, discover, unrecognised

REGISTRY = load_registry()
STRAYS = {
    "police/crimes 20240531.csv": "space or a non-ASCII character",
    "police/crimes_20240531é.csv": "space or a non-ASCII character",
    "police/crimes_2024-05-31.csv": "not a declared police extract name (expected e.g. ",
    "police/crimes_20240231.csv": "not a declared police extract name",
    "police/arrests_20240531.csv": "not a declared police extract name",
    "police/notes.txt": "not a declared police extract name",
    "police/outcomes_20240531.csv": "a symbolic link: refused, never followed",
    "stray_20240531.csv": "files belong in a feed's folder",
    "probation": "not a declared feed's folder",
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    s = Settings.from_env({"CSP_DATA_DIR": str(tmp_path / "data")})
    (s.landing_dir / "police").mkdir(parents=True)
    (s.landing_dir / "probation").mkdir()
    secret = tmp_path / "secret.csv"
    secret.write_text("not for the pipeline\n")
    for name in STRAYS:
        path = s.landing_dir / name
        if name.startswith("police/outcomes"):
            path.symlink_to(secret)
        elif not path.exists():
            path.write_text("a,b\n1,2\n")
    (s.landing_dir / "police" / "crimes_20240531.csv").write_text("a,b\n1,2\n")
    return s


def test_every_undeclared_file_is_reported_with_why_and_left_in_place(settings):
    found = {str(p.relative_to(settings.landing_dir)): why
             for p, why in unrecognised(REGISTRY, settings.landing_dir)}
    assert set(found) == set(STRAYS)
    for name, why in STRAYS.items():
        assert why in found[name], (name, found[name])
    assert all((settings.landing_dir / n).exists() or (settings.landing_dir / n).is_symlink()
               for n in STRAYS)
    status = render(settings)
    assert "not declared extracts (left in place, never read)" in status
    assert "police/crimes_2024-05-31.csv: not a declared police extract name" in status


def test_discover_reads_declared_extracts_only_and_never_a_symbolic_link(settings):
    found = discover(REGISTRY, settings.landing_dir, "police", None)
    assert [e.path.name for e in found] == ["crimes_20240531.csv"]


def test_a_missing_landing_folder_is_an_error(tmp_path):
    with pytest.raises(LandingMissing, match="does not exist"):
        discover(REGISTRY, tmp_path / "nowhere", "police", None)
    s = Settings.from_env({"CSP_DATA_DIR": str(tmp_path / "d"),
                           "CSP_LANDING_DIR": str(tmp_path / "nowhere")})
    assert "does not exist: runs will fail" in render(s)
