"""dbt's `run_started_at` for sqlfluff's Jinja templater (a fixed time: linting renders, never
runs, the SQL)."""


def strftime(fmt: str) -> str:
    return "2024-01-01 00:00:00.000000"
