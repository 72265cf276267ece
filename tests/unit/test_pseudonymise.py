"""Pseudonyms computed in DuckDB SQL are exactly RFC 2104 HMAC-SHA256, and generalisation works."""

from __future__ import annotations

import hashlib
import hmac

import duckdb
import pytest

from csp_pipeline.core.registry import Column
from csp_pipeline.core.settings import ConfigurationError, Settings
from csp_pipeline.ingest.pseudonymise import hmac_pads, hmac_sql, pii_sql


@pytest.mark.parametrize("key", [b"k", b"a-much-longer-secret" * 5])
@pytest.mark.parametrize("value", ["A123456789012", "HP000001", "é-unicode"])
def test_sql_hmac_equals_python_hmac(key, value):
    ipad, opad = hmac_pads(key)
    got = duckdb.execute(f"SELECT {hmac_sql('$v')}", {"v": value, "ipad": ipad, "opad": opad})
    assert got.fetchone()[0] == hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def test_identifiers_are_normalised_before_pseudonymising():
    ipad, opad = hmac_pads(b"key")
    col = Column(name="UPN", pii="pseudonym", normalise="upper")
    sql = f"SELECT {pii_sql(col, '$a')}, {pii_sql(col, '$b')}, {pii_sql(col, '$c')}"
    a, b, c = duckdb.execute(sql, {"a": " a123 ", "b": "A123", "c": "", "ipad": ipad,
                                   "opad": opad}).fetchone()
    assert a == b and c is None


def test_generalisation_of_birth_dates_and_postcodes():
    dob = Column(name="DOB", type="DATE", pii="birth_date")
    pc = Column(name="POSTCODE", pii="postcode")
    row = duckdb.execute(
        f"SELECT {pii_sql(dob, '$d')}::VARCHAR, {pii_sql(pc, '$p')}, {pii_sql(pc, '$q')}",
        {"d": "2008-07-19", "p": "TS24 8AB", "q": "ts1 2xy"}).fetchone()
    assert row == ("2008-07-01", "TS24", "TS1")


def test_pipeline_refuses_to_start_without_a_key_outside_demo_mode(tmp_path):
    settings = Settings.from_env({"CSP_DATA_DIR": str(tmp_path)})
    with pytest.raises(ConfigurationError, match="CSP_PSEUDONYM_KEY"):
        settings.pseudonym_key({})
    demo = Settings.from_env({"CSP_DATA_DIR": str(tmp_path), "CSP_DEMO_MODE": "1"})
    assert demo.pseudonym_key({}) and demo.pseudonym_key({"CSP_PSEUDONYM_KEY": "s"}) == b"s"


def test_the_key_can_come_from_an_airflow_connection(tmp_path, monkeypatch):
    """Airflow's own secrets lookup: here its environment-variable backend."""
    monkeypatch.setenv("AIRFLOW_CONN_CSP_PSEUDONYM_KEY",
                       '{"conn_type": "generic", "password": "from-a-connection"}')
    settings = Settings.from_env({"CSP_DATA_DIR": str(tmp_path)})
    assert settings.pseudonym_key({}) == b"from-a-connection"
    assert settings.pseudonym_key({"CSP_PSEUDONYM_KEY": "env-first"}) == b"env-first"
