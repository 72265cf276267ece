"""`csp release` moves only a quarantined file, from inside the quarantine folder, and never over
a landed file (real files, the real command)."""

from __future__ import annotations

from pathlib import Path

import pytest

from csp_pipeline.cli.main import main as csp
from csp_pipeline.core.settings import Settings


@pytest.fixture
def settings(tmp_path: Path, monkeypatch) -> Settings:
    monkeypatch.setenv("CSP_DATA_DIR", str(tmp_path / "data"))
    for name in ("CSP_QUARANTINE_DIR", "CSP_LANDING_DIR", "CSP_WAREHOUSE"):
        monkeypatch.delenv(name, raising=False)
    s = Settings.from_env()
    (s.quarantine_dir / "fire").mkdir(parents=True)
    (s.quarantine_dir / "fire" / "incidents_20240531.csv").write_text("A\n1\n")
    return s


def test_release_moves_a_quarantined_file_to_its_feed_landing_folder(settings, capsys):
    assert csp(["release", "fire/incidents_20240531.csv"]) == 0
    assert (settings.landing_dir / "fire" / "incidents_20240531.csv").read_text() == "A\n1\n"
    assert not (settings.quarantine_dir / "fire" / "incidents_20240531.csv").exists()


@pytest.mark.parametrize("given", ["outside", "dotdot", "symlink", "report"])
def test_release_refuses_anything_but_a_file_inside_the_quarantine_folder(settings, tmp_path,
                                                                           capsys, given):
    victim = tmp_path / "etc" / "passwd.csv"
    victim.parent.mkdir()
    victim.write_text("secret\n")
    report = settings.quarantine_dir / "fire" / "incidents_20240531.report.md"
    report.write_text("# report")
    link = settings.quarantine_dir / "fire" / "crimes_20240531.csv"
    link.symlink_to(victim)
    arg = {"outside": str(victim), "dotdot": "../../etc/passwd.csv",
           "symlink": "fire/crimes_20240531.csv", "report": "fire/incidents_20240531.report.md"}
    assert csp(["release", arg[given]]) == 2
    assert "csp release refused" in capsys.readouterr().err
    assert victim.read_text() == "secret\n" and report.exists() and link.is_symlink()
    assert not any(settings.landing_dir.rglob("*")) if settings.landing_dir.exists() else True


def test_release_never_overwrites_a_file_in_the_landing_zone(settings, capsys):
    landed = settings.landing_dir / "fire" / "incidents_20240531.csv"
    landed.parent.mkdir(parents=True)
    landed.write_text("A\n2\n")
    assert csp(["release", "fire/incidents_20240531.csv"]) == 2
    assert "already exists in the landing zone" in capsys.readouterr().err
    assert landed.read_text() == "A\n2\n"
    assert (settings.quarantine_dir / "fire" / "incidents_20240531.csv").exists()
