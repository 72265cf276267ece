"""Synthetic partner extracts (`csp generate`) for every declared kind, laid out as partners send them.

    generate(out_dir, start, end, scale=1.0, seed=42, dirty=0.0) -> {"<feed>/<kind>": rows}

writes out_dir/<feed>/<kind>_YYYYMMDD.csv for the nights in [start, end] (header = the registry's
columns, UTF-8, ISO dates, "" = missing) and out_dir/_dirt_manifest.json. Each file holds what
was recorded or updated that night in all four Cleveland areas; cadences and calibration are in
each feed's module. Deterministic: same arguments give byte-identical files, and a sub-range gives
the same files for its nights as a longer range (nights draw from (seed, night, area), standing
universes of people and careers from (seed, area)). `scale` multiplies volumes and the universe of
people; `dirty` is the share of non-empty files given one realistic defect each (see dirt.py), all
listed in the manifest (an empty list for a clean run). The people are born 1990-2022 and the
treatment careers run 2006-2031, so ranges within 2010-2027 have every feed at full volume.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

from csp_pipeline.core.registry import load_registry
from csp_pipeline.synthetic import education, fire, police, treatment, youth_justice
from csp_pipeline.synthetic.areas import areas
from csp_pipeline.synthetic.context import Context, Maker
from csp_pipeline.synthetic.dirt import Defect, chosen, spoil
from csp_pipeline.synthetic.table import concat, csv_bytes, to_rows, write_csv
from csp_pipeline.synthetic.timeline import nights

# (feed, kind) -> generator. Kinds sent every night even when empty are the daily system extracts.
MAKERS: dict[tuple[str, str], Maker] = {
    ("police", "crimes"): police.crimes,
    ("fire", "incidents"): fire.incidents,
    ("education", "attendance"): education.attendance,
    ("education", "exclusions"): education.exclusions,
    ("education", "neet"): education.neet,
    ("substance_misuse", "treatment_episodes"): treatment.treatment_episodes,
    ("youth_justice", "children"): youth_justice.children,
    ("youth_justice", "offences"): youth_justice.offences,
    ("youth_justice", "outcomes"): youth_justice.outcomes,
    ("youth_justice", "victims"): youth_justice.victims,
    ("youth_justice", "board_attendance"): youth_justice.board_attendance,
}
# Public downloads are not synthesised: tests load the real ones (../shared/realdata).
NOT_SYNTHESISED = {("police", "street")}
MANIFEST = "_dirt_manifest.json"


def generate(out_dir: Path, start: date, end: date, scale: float = 1.0, seed: int = 42,
             dirty: float = 0.0,
             on_kind: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Write the extracts for every night in [start, end]; rows written per '<feed>/<kind>'
    (`on_kind` is told each kind's name and rows as it is done)."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    if not 0.0 <= dirty <= 1.0 or scale <= 0:
        raise ValueError("dirty must be in [0, 1] and scale positive")
    registry = load_registry()
    declared = {(k.feed, k.name) for k in registry.kinds} - NOT_SYNTHESISED
    if declared != set(MAKERS):
        raise ValueError(f"registry kinds and generators differ: {sorted(declared ^ set(MAKERS))}")
    out_dir = Path(out_dir)
    counts: dict[str, int] = {}
    defects: list[Defect] = []
    for (feed, kind_name), make in MAKERS.items():
        kind = registry.kind(feed, kind_name)
        header = kind.column_names
        makers = [make(Context(seed, area, scale, start)) for area in areas()]
        folder = out_dir / feed
        folder.mkdir(parents=True, exist_ok=True)
        written = 0
        for night in nights(start, end):
            path = folder / kind.file_name(night.isoformat())
            tables = (m(night) for m in makers)  # every maker is asked every night, in order
            if dirty and chosen(kind, night, seed, dirty):
                got = [t for t in tables if t is not None]
                rows = to_rows(concat(got, header), header)
                if rows:
                    defect = spoil(kind, rows, night, seed)
                    path.write_bytes(defect.data)
                    defects.append(defect)
                elif got:
                    path.write_bytes(csv_bytes(header, []))
                written += len(rows)
            else:
                written += write_csv(path, header, tables) or 0
        counts[f"{feed}/{kind_name}"] = written
        if on_kind:
            on_kind(f"{feed}/{kind_name}", written)
    manifest = [d.describe() for d in sorted(defects, key=lambda d: d.file)]
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return counts
