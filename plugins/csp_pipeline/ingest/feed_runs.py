"""How each feed's latest run ended (meta.feed_runs): the warehouse build publishes over a feed
whose latest run failed only when told to (CSP_PUBLISH_OVER_FAILED_FEEDS), and the snapshot's
manifest says which feeds it rests on and whether any had failed."""

from __future__ import annotations

import duckdb


def record(con: duckdb.DuckDBPyConnection, feed: str, run_id: str, night: str | None, ok: bool,
           detail: str | None = None) -> None:
    con.execute("INSERT INTO meta.feed_runs (feed, run_id, night, ok, detail) VALUES (?,?,?,?,?)",
                [feed, run_id, night, ok, detail])


def recorded(con: duckdb.DuckDBPyConnection, feed: str, run_id: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM meta.feed_runs WHERE feed = ? AND run_id = ?",
                            [feed, run_id]).fetchone()[0])


def latest(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    """Per feed, its latest run: {"run_id", "night", "ok", "detail"} (failed if any record of
    that run says so)."""
    rows = con.execute("""
        WITH last AS (SELECT feed, arg_max(run_id, recorded_at) AS run_id
                      FROM meta.feed_runs GROUP BY feed)
        SELECT f.feed, f.run_id, max(f.night)::VARCHAR, bool_and(f.ok),
               string_agg(f.detail, '; ' ORDER BY f.recorded_at) FILTER (WHERE NOT f.ok)
        FROM meta.feed_runs f JOIN last USING (feed, run_id)
        GROUP BY ALL ORDER BY f.feed""").fetchall()
    return {feed: {"run_id": run, "night": night, "ok": ok, "detail": detail}
            for feed, run, night, ok, detail in rows}
