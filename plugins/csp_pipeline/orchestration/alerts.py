"""Notifications: a webhook (CSP_ALERT_WEBHOOK_URL) told when a task fails or a file is quarantined."""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from typing import Any

log = logging.getLogger(__name__)
TIMEOUT_S = 10


def post(url: str, payload: dict[str, Any]) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(payload, default=str).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 (operator-set URL)
        response.read()


def _send(payload: dict[str, Any]) -> None:
    url = os.environ.get("CSP_ALERT_WEBHOOK_URL")
    if not url:
        return
    try:
        post(url, payload)
    except (OSError, ValueError) as exc:  # an alerting outage (or a malformed URL) must not
        log.error("could not deliver alert to webhook: %s", exc)  # mask what is being reported


def on_failure_callback(context: dict[str, Any]) -> None:
    """Airflow task failure callback."""
    ti = context.get("task_instance") or context.get("ti")
    _send({
        "event": "task_failed",
        "dag_id": getattr(ti, "dag_id", None),
        "task_id": getattr(ti, "task_id", None),
        "run_id": context.get("run_id"),
        "error": str(context.get("exception") or "")[:1000],
    })


def notify_quarantine(settings: Any, outcome: dict[str, Any]) -> None:
    """A file was quarantined: its feed keeps running, but someone must look at the partner extract."""
    _send({"event": "file_quarantined", "file": outcome["file"], "feed": outcome["feed"],
           "reason": outcome.get("reason"),
           "quarantine_dir": str(settings.quarantine_dir / outcome["feed"])})


def notify_unrecognised(feed: str, files: list) -> None:
    """Files in a feed's landing folder that are not declared extracts: left in place, unread."""
    if files:
        _send({"event": "files_not_recognised", "feed": feed,
               "files": [{"path": str(path), "reason": why} for path, why in files]})
