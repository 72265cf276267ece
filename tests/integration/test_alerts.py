"""Webhook alerts, received by a real HTTP server on 127.0.0.1: a failed Airflow task and a file
quarantined by the real gate each POST their JSON; an unreachable or failing webhook is logged,
never raised (it must not mask the failure being reported)."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.settings import Settings
from csp_pipeline.ingest.landing import match
from csp_pipeline.ingest.promote import process
from csp_pipeline.orchestration import alerts
from tests.support.rows import valid_rows, write_extract


class Webhook(ThreadingHTTPServer):
    def __init__(self, status: int = 200) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status = status
        self.received: list[tuple[str, dict]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/csp"


class _Handler(BaseHTTPRequestHandler):
    server: Webhook

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.headers["Content-Type"], json.loads(body)))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@contextmanager
def _serve(status: int) -> Iterator[Webhook]:
    server = Webhook(status)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def webhook(monkeypatch) -> Iterator[Webhook]:
    with _serve(200) as server:
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
    assert payload == {
        "event": "file_quarantined", "file": "youth_justice/children_20240531.csv",
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


@pytest.mark.parametrize("case", ["connection refused", "HTTP 500", "malformed URL"])
def test_a_webhook_that_fails_is_logged_and_never_raises(monkeypatch, caplog, case):
    with _serve(500) as server:
        _fail_to_deliver(monkeypatch, caplog, case, server)


def _fail_to_deliver(monkeypatch, caplog, case: str, server: Webhook) -> None:
    url = {"connection refused": f"http://127.0.0.1:{_closed_port()}/hook",
           "HTTP 500": server.url, "malformed URL": "not a url"}[case]
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
    with caplog.at_level(logging.DEBUG, logger="csp_pipeline.orchestration.alerts"):
        alerts.on_failure_callback(airflow_context(ValueError("boom")))
    assert not caplog.records


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
