"""The README's "Faults survived" table is the one rendered from the fault suite's results."""

from __future__ import annotations

import json

from tests.faults.table import README, RESULTS, current_table, render


def test_the_readme_faults_table_is_rendered_from_the_suites_results():
    results = json.loads(RESULTS.read_text())
    assert current_table(README.read_text()) == render(results), (
        "README's faults table is out of date: run `python -m tests.faults.table --write` "
        "after `make test-faults`")


def test_every_recorded_case_says_what_was_lost_and_what_the_message_was():
    for case, r in json.loads(RESULTS.read_text()).items():
        assert {"kind", "survived", "exit", "rows_lost", "double_counted", "message"} <= set(r)
        assert r["case"] == case
