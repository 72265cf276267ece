"""A night on real Celery workers: `airflow scheduler`, `dag-processor`, `api-server` and two
`airflow celery worker` processes against the PostgreSQL and Redis on loopback, with the Airflow
settings of docker-compose.yml (tests.support.celery_cluster). The night's feed DAGs are
triggered through the REST API; every task instance must succeed on one of the two workers, and
both must have run some. Audits take no writer lock, so the audits of two feeds run at the same
time on the two workers (shown by the task instances' start and end times).

Needs PostgreSQL and Redis on loopback (tests/support/backends.sh starts them; .ci/run runs it);
set CSP_SKIP_SCALEOUT=1 on a machine without them.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import time

import duckdb
import pytest

from tests.deploy.stack_api import FEEDS
from tests.support.celery_cluster import BIN, celery_cluster, overlapping

pytestmark = pytest.mark.skipif(os.environ.get("CSP_SKIP_SCALEOUT") == "1",
                                reason="CSP_SKIP_SCALEOUT=1")
NIGHT = "2024-05-31"
WORKERS = ("csp-test-worker-a", "csp-test-worker-b")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("scaleout")
    with celery_cluster(root, WORKERS) as (api, env):
        yield api, env, root


def test_a_night_of_feeds_runs_on_two_named_celery_workers(cluster):
    api, env, root = cluster
    generated = subprocess.run([str(BIN / "csp"), "generate", "--out", str(root / "data" / "landing"),
                                "--start", NIGHT, "--end", NIGHT, "--scale", "0.3"], env=env,
                               capture_output=True, text=True, check=True).stdout
    assert "police/crimes" in generated
    started = time.monotonic()
    api.ready(dags=FEEDS)  # the warehouse and housekeeping DAGs stay paused
    api.night(NIGHT, warehouse=False, timeout=600)
    print(f"night on Celery: {time.monotonic() - started:.0f} s")

    tis = api.check(list(WORKERS), dags=FEEDS)
    ran = [t for t in tis if t["state"] == "success"]
    assert {t["dag_id"] for t in ran} == set(FEEDS)
    assert {t["hostname"] for t in ran} == set(WORKERS)

    # audits hold no writer lock: two feeds' audits ran at the same time on the two workers
    audits = [t for t in ran if t["task_id"] == "audit"]
    assert {t["dag_id"] for t in audits} == set(FEEDS)
    together = [(a["dag_id"], b["dag_id"]) for a, b in itertools.combinations(audits, 2)
                if a["dag_id"] != b["dag_id"] and a["hostname"] != b["hostname"]
                and overlapping(a, b)]
    print(f"audits of two feeds overlapping on the two workers: {together}")
    assert together

    with duckdb.connect(str(root / "data" / "warehouse.duckdb"), read_only=True) as con:
        loaded = dict(con.execute("SELECT feed, count(*) FROM meta.deliveries "
                                  "WHERE status = 'loaded' GROUP BY feed").fetchall())
    assert set(loaded) == {f.removeprefix("csp_feed_") for f in FEEDS}
