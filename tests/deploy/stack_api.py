"""Drives and checks an Airflow deployment of the pipeline through its REST API (standard library
only): used by tests/deploy/deploy_test.sh and tests/integration/test_scaleout.py.

    stack_api.py ready               every DAG parsed, no import errors; unpause the feed and
                                     housekeeping DAGs
    stack_api.py night YYYY-MM-DD [feeds-only]
                                     unpause the warehouse DAG (unless feeds-only), trigger the
                                     feed DAGs for that night, wait for them and for the warehouse
                                     run their Assets start
    stack_api.py housekeeping DATE   trigger the housekeeping DAG for that night and wait
    stack_api.py check W1,W2         every run succeeded; every task instance that ran succeeded
                                     on one of the named workers, and each worker ran some (a
                                     table of task -> hostname is printed)

Reads CSP_TEST_API_URL and AIRFLOW_ADMIN_PASSWORD. Exits non-zero with the reason on failure.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections import Counter

FEEDS = ["csp_feed_education", "csp_feed_fire", "csp_feed_police", "csp_feed_substance_misuse",
         "csp_feed_youth_justice"]
WAREHOUSE, HOUSEKEEPING = "csp_warehouse", "csp_housekeeping"
DAGS = FEEDS + [WAREHOUSE, HOUSEKEEPING]
TERMINAL = {"success", "failed"}


class Failed(RuntimeError):
    pass


class Api:
    def __init__(self, url: str, password: str, log=print):
        self.url, self.password, self.log = url.rstrip("/"), password, log
        self._token: str | None = None

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        if self._token is None:
            self._token = self._request("POST", "/auth/token", {
                "username": "admin", "password": self.password}, auth=False)["access_token"]
        return self._request(method, path, body)

    def _request(self, method: str, path: str, body: dict | None, auth: bool = True) -> dict:
        req = urllib.request.Request(self.url + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
        if auth:
            req.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise Failed(f"{method} {path}: HTTP {exc.code} {exc.read()[:500]!r}") from exc

    def pages(self, path: str, key: str) -> list[dict]:
        items: list[dict] = []
        while True:
            sep = "&" if "?" in path else "?"
            page = self.call("GET", f"{path}{sep}limit=100&offset={len(items)}")
            items += page[key]
            if not page[key] or len(items) >= page["total_entries"]:
                return items

    def runs(self, dag_id: str) -> list[dict]:
        return self.pages(f"/api/v2/dags/{dag_id}/dagRuns?order_by=run_after", "dag_runs")

    def task_instances(self) -> list[dict]:
        return self.pages("/api/v2/dags/~/dagRuns/~/taskInstances", "task_instances")

    def ready(self, dags: list[str] = FEEDS + [HOUSEKEEPING], timeout: float = 300) -> None:
        """Wait until the dag-processor has parsed the DAGs (failing on import errors); unpause."""
        def parsed():
            errors = self.call("GET", "/api/v2/importErrors")["import_errors"]
            if errors:
                raise Failed(f"DAG import errors: {errors}")
            return set(DAGS) <= {d["dag_id"] for d in self.pages("/api/v2/dags", "dags")}
        wait("the dag-processor to parse every DAG", parsed, timeout)
        for dag_id in dags:
            self.call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        self.log(f"  {len(DAGS)} DAGs parsed, no import errors; unpaused: {', '.join(dags)}")

    def trigger(self, dag_id: str, night: str) -> str:
        run_id = f"night__{night}"
        self.call("POST", f"/api/v2/dags/{dag_id}/dagRuns",
                  {"dag_run_id": run_id, "logical_date": f"{night}T02:00:00Z", "conf": {}})
        return run_id

    def finished(self, dag_id: str, run_id: str, timeout: float) -> str:
        def state():
            s = self.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"]
            return s if s in TERMINAL else None
        started = time.monotonic()
        s = wait(f"{dag_id} {run_id}", state, timeout)
        self.log(f"  {dag_id:28} {run_id:40} {s:8} ({time.monotonic() - started:.0f} s)")
        if s != "success":
            raise Failed(f"{dag_id} {run_id} ended {s}")
        return s

    def night(self, date: str, warehouse: bool = True, timeout: float = 1200) -> None:
        """The night's feed runs and (with `warehouse`) the warehouse run their Assets start.
        Feed runs while the warehouse DAG is paused queue no warehouse run (a backlog night)."""
        before = len(self.runs(WAREHOUSE)) if warehouse else 0
        if warehouse:
            self.call("PATCH", f"/api/v2/dags/{WAREHOUSE}", {"is_paused": False})
        triggered = {dag_id: self.trigger(dag_id, date) for dag_id in FEEDS}
        for dag_id, run_id in triggered.items():
            self.finished(dag_id, run_id, timeout)
        if warehouse:  # scheduled by the feed DAGs' Assets: no trigger here
            new = wait("the Asset-triggered warehouse run",
                       lambda: self.runs(WAREHOUSE)[before:], 120)[-1]
            if new["run_type"] != "asset_triggered":
                raise Failed(f"warehouse run {new['dag_run_id']} is {new['run_type']}")
            self.finished(WAREHOUSE, new["dag_run_id"], timeout)

    def check(self, workers: list[str], dags: list[str] = DAGS) -> list[dict]:
        """Every run succeeded; every task that ran succeeded on one of `workers`, each of which
        ran some. Prints task -> hostname; returns the task instances."""
        problems, states = [], Counter()
        for dag_id in dags:
            for run in self.runs(dag_id):
                states[(dag_id, run["state"])] += 1
                if run["state"] != "success":
                    problems.append(f"run {dag_id} {run['dag_run_id']} is {run['state']}")
        tis = [t for t in self.task_instances() if t["dag_id"] in dags]
        self.log(f"  {'dag':26} {'run':28} {'task':58} {'state':8} try hostname")
        for ti in sorted(tis, key=lambda t: (t["start_date"] or "", t["task_id"])):
            task = ti["task_id"] + (f"[{ti['map_index']}]" if ti["map_index"] >= 0 else "")
            self.log(f"  {ti['dag_id']:26} {ti['dag_run_id'][:28]:28} {task:58} "
                     f"{str(ti['state']):8} {ti['try_number']:3} {ti['hostname']}")
            if ti["state"] == "skipped":  # e.g. a feed's mapped task with no file that night
                continue
            if ti["state"] != "success":
                problems.append(f"task {ti['dag_id']}.{task} {ti['dag_run_id']} is {ti['state']}")
            elif ti["hostname"] not in workers:
                problems.append(f"task {ti['dag_id']}.{task} ran on {ti['hostname']!r}, "
                                f"not one of {workers}")
        ran = Counter(ti["hostname"] for ti in tis if ti["state"] == "success")
        self.log("  runs: " + ", ".join(f"{d} {s} x{n}" for (d, s), n in sorted(states.items())))
        self.log(f"  task instances: {len(tis)}; succeeded per worker: "
                 + ", ".join(f"{w}: {ran[w]}" for w in workers))
        problems += [f"worker {w} ran no task" for w in workers if not ran[w]]
        if problems:
            raise Failed("; ".join(problems[:20]))
        return tis


def wait(what: str, done, timeout: float, every: float = 3.0):
    deadline = time.monotonic() + timeout
    while True:
        result = done()
        if result:
            return result
        if time.monotonic() > deadline:
            raise Failed(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def main(argv: list[str]) -> int:
    api = Api(os.environ["CSP_TEST_API_URL"], os.environ["AIRFLOW_ADMIN_PASSWORD"])
    try:
        if argv[0] == "ready":
            api.ready()
        elif argv[0] == "night":
            api.night(argv[1], warehouse=argv[2:] != ["feeds-only"])
        elif argv[0] == "housekeeping":
            api.finished(HOUSEKEEPING, api.trigger(HOUSEKEEPING, argv[1]), 600)
        elif argv[0] == "check":
            api.check(argv[1].split(","))
        else:
            raise SystemExit(__doc__)
    except Failed as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
