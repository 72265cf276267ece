"""Synthetic partner extracts (`csp generate`) for every declared kind, laid out as partners send them.

Deterministic by seed: each night's records depend only on (seed, feed, night, area), so a sub-range
gives byte-identical files for its nights. `scale` multiplies volumes; `dirty` is the share of files
given one realistic defect (listed in `_dirt_manifest.json`).
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

from csp_pipeline.registry import load_registry
from csp_pipeline.synthetic import education, fire, police, treatment, youth_justice
from csp_pipeline.synthetic.dirt import maybe_dirty
from csp_pipeline.synthetic.timeline import nights
from csp_pipeline.synthetic.world import areas

# Kinds produced night by night: (feed, kind) -> function(seed, area, night, scale) -> rows.
# `always` kinds send a file every night, even an empty one ("nothing today").
NIGHTLY = {
    ("fire", "incidents"): (fire.incidents, True),
    ("police", "crimes"): (police.crimes, True),
    ("education", "attendance"): (education.attendance, False),
    ("education", "exclusions"): (education.exclusions, False),
    ("education", "neet"): (education.neet, False),
    ("youth_justice", "board_attendance"): (youth_justice.board_attendance, False),
}
ALWAYS_SENT = {("substance_misuse", "treatment_episodes"), ("youth_justice", "children"),
               ("youth_justice", "offences"), ("youth_justice", "outcomes"),
               ("youth_justice", "victims")}


def generate(out_dir: Path, start: date, end: date, scale: float = 1.0, seed: int = 42,
             dirty: float = 0.0) -> dict[str, int]:
    registry = load_registry()
    counts: dict[str, int] = {}
    dirt: list[dict] = []
    per_night: dict[tuple[str, str], dict[date, list[dict]]] = {k: {} for k in
                                                                 (*NIGHTLY, *ALWAYS_SENT)}
    for area in areas():
        for (feed, kind), (make, _) in NIGHTLY.items():
            for night in nights(start, end):
                per_night[(feed, kind)].setdefault(night, []).extend(make(seed, area, night, scale))
        for night, rows in treatment.episodes(seed, area, start, end, scale).items():
            per_night[("substance_misuse", "treatment_episodes")].setdefault(night, []).extend(rows)
        for kind, sends in youth_justice.case_records(seed, area, start, end, scale).items():
            for night, rows in sends.items():
                per_night[("youth_justice", kind)].setdefault(night, []).extend(rows)
    for (feed, kind_name), by_night in per_night.items():
        kind = registry.kind(feed, kind_name)
        always = (feed, kind_name) in ALWAYS_SENT or NIGHTLY.get((feed, kind_name), (0, False))[1]
        folder = out_dir / feed
        folder.mkdir(parents=True, exist_ok=True)
        for night in nights(start, end):
            rows = by_night.get(night, [])
            if not rows and not always:
                continue
            path = folder / kind.file_name(night.isoformat())
            _write(path, kind.column_names, rows)
            counts[kind.id] = counts.get(kind.id, 0) + len(rows)
            if dirty:
                defect = maybe_dirty(path, kind, rows, night, dirty, seed)
                if defect:
                    dirt.append(defect)
    (out_dir / "_dirt_manifest.json").write_text(json.dumps(dirt, indent=2) + "\n")
    return counts


def _write(path: Path, header: list[str], rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
