"""Alerts, received by real servers on 127.0.0.1: the generic webhook (an HTTP server), Airflow's
SMTP notifier (an aiosmtpd server) and Airflow's Apprise notifier (its json:// service, posting to
the HTTP server), each configured by an Airflow connection. A failed Airflow task, a file
quarantined by the real gate, rows rejected over tolerance and a missed delivery each reach them;
an unreachable or failing channel is logged, never raised (it must not mask the failure)."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest

from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.settings import Settings
from csp_pipeline.ingest.landing import match
from csp_pipeline.ingest.promote import process
from csp_pipeline.orchestration import alerts
from tests.support.rows import valid_rows, write_extract
from tests.support.webhook import Webhook, serve


@pytest.fixture
def webhook(monkeypatch) -> Iterator[Webhook]:
    with serve(200) as server:
        monkeypatch.setenv("CSP_ALERT_WEBHOOK_URL", server.url)
        yield server


def airflow_context(exception: Exception) -> dict:
    """The parts of Airflow's task context the callback reads."""
    ti = SimpleNamespace(dag_id="csp_feed_police", task_id="process", map_index=2, try_number=3)
    return {"task_instance": ti, "ti": ti, "run_id": "scheduled__2024-05-31T02:00:00+00:00",
            "exception": exception}


def test_a_failed_task_posts_its_dag_task_run_and_error(webhook):
    alerts.on_failure_callback(airflow_context(RuntimeError("DuckDB file is locked")))
    assert webhook.received == [("application/json", {
        "event": "task_failed", "dag_id": "csp_feed_police", "task_id": "process",
        "run_id": "scheduled__2024-05-31T02:00:00+00:00", "error": "DuckDB file is locked"})]


def test_a_quarantined_file_posts_file_feed_and_reason(webhook, tmp_path: Path):
    settings = Settings.from_env({"CSP_DATA_DIR": str(tmp_path), "CSP_DEMO_MODE": "1"})
    kind = load_registry().kind("youth_justice", "children")
    night = date(2024, 5, 31)
    rows = valid_rows(kind, 5, night)
    rows[3]["ETHNICITY"] = "Martian"
    path = write_extract(settings.landing_dir, kind, night, rows)
    outcome = process(settings, match(load_registry(), kind.feed, path), "n1", b"k")
    assert outcome.status == "quarantined"
    alerts.notify_quarantine(settings, outcome.as_dict())
    [(_, payload)] = webhook.received
    assert payload == {  # 1 row of 5 over the rule's 5% tolerance: the partner's rows are wrong
        "event": "rejects_over_tolerance", "file": "youth_justice/children_20240531.csv",
        "feed": "youth_justice", "reason": outcome.reason,
        "quarantine_dir": str(settings.quarantine_dir / "youth_justice")}
    assert "rule 'value in the contract's code list' failed on column 'ETHNICITY'" in (
        payload["reason"]) and "rows: 4" in payload["reason"]
    identifiers = {r[c.name] for r in rows for c in kind.pii_columns if r[c.name]}
    assert not [i for i in identifiers if i in json.dumps(payload)]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("case", ["connection refused", "HTTP 500"])
def test_a_webhook_that_fails_is_logged_and_never_raises(monkeypatch, caplog, case):
    with serve(500) as server:
        _fail_to_deliver(monkeypatch, caplog, case, server)


def _fail_to_deliver(monkeypatch, caplog, case: str, server: Webhook) -> None:
    url = {"connection refused": f"http://127.0.0.1:{_closed_port()}/hook",
           "HTTP 500": server.url}[case]
    monkeypatch.setenv("CSP_ALERT_WEBHOOK_URL", url)
    with caplog.at_level(logging.ERROR, logger="csp_pipeline.orchestration.alerts"):
        alerts.on_failure_callback(airflow_context(ValueError("boom")))
        alerts.notify_quarantine(SimpleNamespace(quarantine_dir=Path("/q")),
                                 {"file": "police/crimes_20240531.csv", "feed": "police"})
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2 and all("could not deliver alert" in r.getMessage() for r in errors)
    assert len(server.received) == (2 if case == "HTTP 500" else 0)


def test_no_webhook_configured_sends_nothing(monkeypatch, caplog):
    monkeypatch.delenv("CSP_ALERT_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("CSP_ALERT_CONNECTIONS", raising=False)
    with caplog.at_level(logging.DEBUG, logger="csp_pipeline.orchestration.alerts"):
        alerts.on_failure_callback(airflow_context(ValueError("boom")))
    # the alert is in the log, and nothing was tried (no delivery error)
    assert [r.getMessage() for r in caplog.records] == [
        "alert task_failed: task failed: csp_feed_police.process"]


# ------------------------------------------------------------- Airflow's notifiers, by connection


@pytest.fixture
def smtp_server() -> Iterator[list]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received: list = []

    class Keep(Message):
        def handle_message(self, message) -> None:
            received.append(message)

    controller = Controller(Keep(), hostname="127.0.0.1", port=_closed_port())
    controller.start()
    try:
        yield received, controller.port
    finally:
        controller.stop()


def _connections(monkeypatch, **conns: dict) -> None:
    for conn_id, conn in conns.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    monkeypatch.setenv("CSP_ALERT_CONNECTIONS", ",".join(conns))


def _quarantined(tmp_path: Path, bad_rows: int) -> dict:
    settings = Settings.from_env({"CSP_DATA_DIR": str(tmp_path), "CSP_DEMO_MODE": "1"})
    kind = load_registry().kind("youth_justice", "children")
    rows = valid_rows(kind, 40, date(2024, 5, 31))
    for row in rows[:bad_rows]:
        row["ETHNICITY"] = "Martian"
    path = write_extract(settings.landing_dir, kind, date(2024, 5, 31), rows)
    outcome = process(settings, match(load_registry(), kind.feed, path), "n1", b"k")
    assert outcome.status == "quarantined"
    return outcome.as_dict()


def test_a_quarantine_reaches_email_and_apprise_through_airflow_connections(
        monkeypatch, tmp_path, smtp_server, webhook):
    mails, port = smtp_server
    _connections(monkeypatch,
                 csp_mail={"conn_type": "smtp", "host": "127.0.0.1", "port": port,
                           "extra": {"from_email": "csp@pipeline.example", "disable_tls": True,
                                     "disable_ssl": True, "timeout": 10}},
                 csp_teams={"conn_type": "apprise",
                            "extra": {"config": {"path": "json://" + webhook.url.split("//")[1]
                                                 .replace("/hooks/csp", "/hooks/teams")}}})
    monkeypatch.setenv("CSP_ALERT_EMAIL_TO", "duty-officer@csp.example")
    outcome = _quarantined(tmp_path, bad_rows=5)  # 5 of 40: over the 5% tolerance
    alerts.notify_quarantine(Settings.from_env(), outcome)
    [mail] = mails
    subject = "[csp] rows rejected over tolerance: youth_justice/children_20240531.csv"
    assert mail["Subject"] == subject and mail["To"] == "duty-officer@csp.example"
    assert mail["From"] == "csp@pipeline.example"
    body = mail.get_payload(decode=True) if not mail.is_multipart() else \
        mail.get_payload()[0].get_payload(decode=True)
    assert b"failed on column &#x27;ETHNICITY&#x27;" in body and b"csp release" in body
    apprise = [p for (_, p), path in zip(webhook.received, webhook.paths, strict=False) if path == "/hooks/teams"]
    assert [(p["title"], p["type"]) for p in apprise] == [(subject, "info")]
    assert "csp release youth_justice/children_20240531.csv" in apprise[0]["message"]
    generic = [p for (_, p), path in zip(webhook.received, webhook.paths, strict=False) if path == "/hooks/csp"]
    assert [p["event"] for p in generic] == ["rejects_over_tolerance"]


def test_a_failing_notifier_is_logged_and_the_others_still_deliver(monkeypatch, caplog, webhook):
    _connections(monkeypatch,
                 csp_mail={"conn_type": "smtp", "host": "127.0.0.1", "port": _closed_port(),
                           "extra": {"from_email": "csp@x.example", "disable_tls": True,
                                     "disable_ssl": True, "timeout": 5, "retry_limit": 1}},
                 csp_other={"conn_type": "http", "host": "example"})
    monkeypatch.setenv("CSP_ALERT_EMAIL_TO", "duty@x.example")
    with caplog.at_level(logging.ERROR, logger="csp_pipeline.orchestration.alerts"):
        alerts.on_failure_callback(airflow_context(RuntimeError("boom")))
    errors = sorted(r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
    assert len(errors) == 2
    assert errors[0].startswith("could not deliver alert through Airflow connection 'csp_mail'")
    assert "'csp_other': ValueError: its type is 'http'" in errors[1]
    assert [p["event"] for _, p in webhook.received] == ["task_failed"]


def test_a_partner_that_stopped_delivering_is_alerted(monkeypatch, tmp_path, webhook):
    from csp_pipeline.ingest.deliveries import missed_deliveries

    settings = Settings.from_env({"CSP_DATA_DIR": str(tmp_path), "CSP_DEMO_MODE": "1",
                                  "CSP_ALERT_WEBHOOK_URL": webhook.url})
    kind = load_registry().kind("fire", "incidents")
    assert kind.expected_within_days == 3
    for night in (date(2024, 5, 20), date(2024, 5, 21)):
        path = write_extract(settings.landing_dir, kind, night, valid_rows(kind, 5, night))
        assert process(settings, match(load_registry(), "fire", path), "n", b"k").status == \
            "loaded"
    assert missed_deliveries(settings, date(2024, 5, 24)) == []  # 3 days: still on time
    [missed] = missed_deliveries(settings, date(2024, 5, 25))
    assert (missed.feed, missed.kind, missed.last, missed.days) == (
        "fire", "incidents", "2024-05-21", 4)
    alerts.notify_missed_delivery(settings, missed)
    [(_, payload)] = webhook.received
    assert payload == {"event": "delivery_missed", "feed": "fire", "kind": "incidents",
                       "last_extract_date": "2024-05-21", "expected_within_days": 3, "days": 4,
                       "night": "2024-05-25"}


def test_files_that_are_not_declared_extracts_are_alerted_with_why(webhook, tmp_path):
    from csp_pipeline.ingest.landing import unrecognised

    landing = tmp_path / "landing"
    (landing / "police").mkdir(parents=True)
    (landing / "police" / "crimes_2024-05-31.csv").write_text("a\n1\n")
    alerts.notify_unrecognised("police", unrecognised(load_registry(), landing, "police"))
    alerts.notify_unrecognised("fire", [])  # nothing to report: no alert
    [(_, payload)] = webhook.received
    assert payload["event"] == "files_not_recognised" and payload["feed"] == "police"
    [item] = payload["files"]
    assert item["path"].endswith("police/crimes_2024-05-31.csv")
    assert "not a declared police extract name" in item["reason"]
