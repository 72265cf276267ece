"""`csp status` says which expected feeds have not delivered and which feeds are not onboarded."""

from __future__ import annotations

import duckdb
import yaml

from csp_pipeline.cli.status import render
from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.schema import ensure_schema
from csp_pipeline.core.settings import Settings


def test_status_names_expected_feeds_without_deliveries_and_feeds_not_onboarded(tmp_path,
                                                                                  monkeypatch):
    config = tmp_path / "deployment"
    config.mkdir()
    (config / "feeds.yml").write_text(yaml.safe_dump({"expected_feeds": ["police", "fire"]}))
    monkeypatch.setenv("CSP_CONFIG_DIR", str(config))
    settings = Settings.from_env({"CSP_DATA_DIR": str(tmp_path)})
    with duckdb.connect(str(settings.warehouse)) as con:
        ensure_schema(con)
        con.execute("""INSERT INTO meta.deliveries (content_hash, feed, kind, extract_date,
                       source_file, rows, status, run_id)
                       VALUES ('h', 'fire', 'incidents', DATE '2024-05-31',
                               'incidents_20240531.csv', 3, 'loaded', 'r')""")
    out = render(settings)
    assert "expected, nothing delivered yet: police\n" in out
    others = [f for f in load_registry().feeds if f not in ("police", "fire")]
    assert f"not onboarded (not in expected_feeds): {', '.join(others)}" in out
