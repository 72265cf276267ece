"""Alerts: what must reach a person, through Airflow's own notifiers and a generic webhook.

An alert is an event (a failed task, a quarantined file, rows rejected over a rule's tolerance, a
partner that has stopped delivering) with a title and a text a person can act on. It goes to:
- each Airflow connection named in CSP_ALERT_CONNECTIONS, through the notifier of its type:
  `smtp` (the SMTP provider's SmtpNotifier, to CSP_ALERT_EMAIL_TO; the sender is the
  connection's `from_email` extra) or `apprise` (the Apprise provider's AppriseNotifier: Teams,
  Slack, e-mail and many more, configured in the connection's `config` extra);
- CSP_ALERT_WEBHOOK_URL, as a JSON POST of the event's fields (for other systems).
An alerting outage is logged and never raised: it must not mask what is being reported.
"""

from __future__ import annotations

import html
import json
import logging
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from csp_pipeline.core.settings import Settings

log = logging.getLogger(__name__)
TIMEOUT_S = 10


@dataclass
class Alert:
    event: str
    title: str
    text: str
    fields: dict[str, Any] = field(default_factory=dict)  # the webhook's JSON, with `event`


def post(url: str, payload: dict[str, Any]) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(payload, default=str).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 (operator-set URL)
        response.read()


def send(alert: Alert, settings: Settings | None = None) -> None:
    settings = settings or Settings.from_env()
    log.warning("alert %s: %s", alert.event, alert.title)
    if settings.webhook_url:
        try:
            post(settings.webhook_url, {"event": alert.event, **alert.fields})
        except (OSError, ValueError) as exc:
            log.error("could not deliver alert to webhook: %s", exc)
    for conn_id in settings.alert_connections:
        try:
            _notify(conn_id, alert, settings)
        except Exception as exc:  # noqa: BLE001 (any notifier's failure: logged, never masking)
            log.error("could not deliver alert through Airflow connection %r: %s: %s", conn_id,
                      type(exc).__name__, exc)


def _notify(conn_id: str, alert: Alert, settings: Settings) -> None:
    from airflow.sdk import BaseHook

    conn_type = BaseHook.get_connection(conn_id).conn_type
    title = f"[csp] {alert.title}"
    if conn_type in ("smtp", "email"):
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        if not settings.alert_email_to:
            raise ValueError("CSP_ALERT_EMAIL_TO names no recipient for this smtp connection")
        body = f"<pre>{html.escape(alert.text)}</pre>"
        SmtpNotifier(to=list(settings.alert_email_to), subject=title, html_content=body,
                     smtp_conn_id=conn_id).notify({})
    elif conn_type == "apprise":
        from airflow.providers.apprise.notifications.apprise import AppriseNotifier

        AppriseNotifier(title=title, body=alert.text, apprise_conn_id=conn_id).notify({})
    else:
        raise ValueError(f"its type is {conn_type!r}; alerts go through 'smtp' or 'apprise'")


# ----------------------------------------------------------------------------- the events


def on_failure_callback(context: dict[str, Any]) -> None:
    """Airflow task failure callback."""
    ti = context.get("task_instance") or context.get("ti")
    dag_id, task_id = getattr(ti, "dag_id", None), getattr(ti, "task_id", None)
    error = str(context.get("exception") or "")[:1000]
    fields = {"dag_id": dag_id, "task_id": task_id, "run_id": context.get("run_id"),
              "error": error}
    send(Alert("task_failed", f"task failed: {dag_id}.{task_id}",
               f"DAG {dag_id}, task {task_id}, run {context.get('run_id')} failed:\n{error}\n\n"
               "Its log is in Airflow (or under AIRFLOW_HOME/logs for `csp run`).", fields))


def notify_quarantine(settings: Any, outcome: dict[str, Any]) -> None:
    """A file was quarantined: its feed keeps running, but someone must look at the partner
    extract. A file quarantined because a reject rule failed on more rows than its tolerance
    is its own event (`rejects_over_tolerance`): the partner's rows, not the file's shape."""
    reason = outcome.get("reason") or ""
    folder = settings.quarantine_dir / outcome["feed"]
    event = ("rejects_over_tolerance" if "over its tolerance" in reason else "file_quarantined")
    what = "rows rejected over tolerance" if event == "rejects_over_tolerance" else "quarantined"
    send(Alert(event, f"{what}: {outcome['file']}",
               f"{outcome['file']} was quarantined; nothing of it was loaded.\n{reason}\n\n"
               f"Report and file: {folder}. Fix the extract (or ask the partner to) and "
               f"`csp release {outcome['file']}`.",
               {"file": outcome["file"], "feed": outcome["feed"], "reason": outcome.get("reason"),
                "quarantine_dir": str(folder)}))


def notify_missed_delivery(settings: Settings, missed: Any) -> None:
    """A partner has stopped delivering a kind (ingest.deliveries.MissedDelivery)."""
    send(Alert("delivery_missed", f"no {missed.feed}/{missed.kind} extract for {missed.days} days",
               f"The last {missed.feed}/{missed.kind} extract is dated {missed.last}; one is "
               f"expected at least every {missed.expected_within_days} day(s) (feeds.yml), and "
               f"none has come for {missed.days} days up to {missed.night}. Ask the partner.",
               {"feed": missed.feed, "kind": missed.kind, "last_extract_date": missed.last,
                "expected_within_days": missed.expected_within_days, "days": missed.days,
                "night": missed.night}),
         settings)


def notify_unrecognised(feed: str, files: list) -> None:
    """Files in a feed's landing folder that are not declared extracts: left in place, unread."""
    if files:
        send(Alert("files_not_recognised", f"{len(files)} file(s) in landing/{feed} not read",
                   "Not declared extracts of this feed, left in place and unread:\n"
                   + "\n".join(f"{path}: {why}" for path, why in files),
                   {"feed": feed,
                    "files": [{"path": str(path), "reason": why} for path, why in files]}))
