"""Reading one published snapshot (its DuckDB file and manifest), never the working warehouse."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

SNAPSHOT_DB = "published.duckdb"  # as publish.snapshot writes it


@dataclass
class Snapshot:
    folder: Path
    manifest: dict
    con: duckdb.DuckDBPyConnection

    def has(self, mart: str) -> bool:
        return mart in self.manifest.get("marts", [])

    def rows(self, mart: str, la_code: str, order_by: str, where: str = "") -> list[dict]:
        """The area's rows of a published mart, as dicts (suppression flags included)."""
        if not self.has(mart):
            return []
        sql = (f"SELECT * FROM marts.{mart} WHERE la_code = ? {('AND ' + where) if where else ''}"
               f" ORDER BY {order_by}")
        cur = self.con.execute(sql, [la_code])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def areas(self) -> list[tuple[str, str]]:
        """Every area with a row in any published mart, by code."""
        selects = [f"SELECT la_code, la_name FROM marts.{m}" for m in self.manifest["marts"]]
        return self.con.execute(" UNION ".join(selects) + " ORDER BY 1").fetchall()

    def extract_dates(self) -> dict[str, str]:
        """Latest extract date per feed that this snapshot rests on (from its manifest)."""
        latest: dict[str, str] = {}
        for entry in self.manifest.get("inputs", []):
            feed, day = entry.get("feed"), entry.get("extract_date")
            if feed and day and day > latest.get(feed, ""):
                latest[feed] = day
        return latest


def open_snapshot(folder: Path) -> Snapshot:
    manifest = json.loads((folder / "manifest.json").read_text())
    con = duckdb.connect(str(folder / SNAPSHOT_DB), read_only=True)
    return Snapshot(folder, manifest, con)
