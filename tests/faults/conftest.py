"""The fault-injection suite (marker `faults`; `make test-faults`, its own step in .ci/run).

Every case records what it saw (exit status, rows lost, rows double counted, the message) with
the `fault` fixture; whether it survived is whether its assertions passed. The records are merged
into results.json, from which `tools/faults_table.py` renders the README's "Faults survived".
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

RESULTS = Path(__file__).with_name("results.json")
_RECORDS: dict[str, dict] = {}
# What changes from run to run in a message, so that the README's table changes only with what
# the pipeline says: temporary folders, process ids, clock times.
_VOLATILE = [(re.compile(r"/tmp/pytest-of-[^/]+/pytest-\d+/[^/\s'\"]+"), "<tmp>"),
             (re.compile(r"\bpid \d+"), "pid <pid>"),
             (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)?"),
              "<time>")]


def stable(message: str) -> str:
    for pattern, placeholder in _VOLATILE:
        message = pattern.sub(placeholder, message)
    return message


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.faults)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.fault_passed = report.passed


@pytest.fixture
def fault(request):
    """A dict the case fills: case, kind (content | process), exit, rows_lost, double_counted,
    message. Recorded after the test with survived = its assertions passed."""
    record: dict = {}
    yield record
    if record.get("case"):
        record["message"] = stable(str(record.get("message", "")))
        record["survived"] = bool(getattr(request.node, "fault_passed", False))
        _RECORDS[record["case"]] = record


def pytest_sessionfinish(session, exitstatus):
    if not _RECORDS:
        return
    merged = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    merged.update(_RECORDS)
    RESULTS.write_text(json.dumps(dict(sorted(merged.items(), key=lambda kv: (
        kv[1].get("order", 99), kv[0]))), indent=2, ensure_ascii=False) + "\n")
