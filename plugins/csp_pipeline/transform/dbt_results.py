"""What a dbt command run by cosmos did, as a progress event: its nodes' results by type.

cosmos calls `announce` with the temporary project folder after each dbt command (before it
raises a failure), where dbt has written `target/run_results.json`.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from csp_pipeline.core import progress

FAILED = {"error", "fail", "runtime error"}


def summarise(run_results: dict) -> dict:
    """Counts per (resource type, status), and what failed with dbt's message."""
    counts: Counter[str] = Counter()
    failed = []
    for result in run_results.get("results", []):
        kind = result["unique_id"].split(".", 1)[0]
        status = str(result.get("status"))
        counts[f"{kind}:{status}"] += 1
        if status in FAILED:
            message = " ".join(str(result.get("message") or "").split())
            failed.append(f"{result['unique_id']}: {status}: {message[:300]}")
    return {"counts": dict(counts), "failed": failed}


def announce(project_dir: str, **_context) -> None:
    path = Path(project_dir) / "target" / "run_results.json"
    if path.exists():
        progress.emit("dbt_results", **summarise(json.loads(path.read_text())))
