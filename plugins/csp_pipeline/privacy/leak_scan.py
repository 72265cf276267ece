"""A leak scanner: searches everything the pipeline wrote for the identifiers partners sent.

`identifiers_from_extracts` collects the values of every PII column (per the feed registry) of
the landed extracts. `scan` looks for them in every table and column (as text) of the warehouse
and of every DuckDB or Parquet file it finds, and in the bytes of every file under the data folder
(and Airflow's home, the published folder and any extra paths) except the landing zone and the
quarantined extracts themselves: Data Docs, quarantine reports, logs, the Airflow SQLite database
where XComs live, DuckDB and Parquet files too.

Matching: an identifier with digits and at least MIN_EMBEDDED characters (ids, UPNs) is found
anywhere, also inside a longer token; any other identifier (names, dates of birth, postcodes)
only as a whole token, case-sensitive, so that "Hart" is not found in "Hartlepool". Values that
cannot identify anyone on their own are not collected: a date of birth on the 1st of a month
is exactly its generalised birth month, one on the last day of a month is a reporting period's
end (the marts print those), and a name or a date that also appears in non-PII columns of the
extracts, in the reference data or in the dbt project's own text (a surname that is a ward name,
"Young" in "Young people", a birth date that is also some referral date) is ordinary vocabulary.
Findings never print an identifier in full.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Iterable, Iterator

import duckdb

from csp_pipeline.core.registry import load_registry
from csp_pipeline.core.settings import DBT_PROJECT_DIR, Settings
from csp_pipeline.core.sql import ident, literal, qualified
from csp_pipeline.core.warehouse import columns, memory
from csp_pipeline.ingest.data_docs_assets import ASSET_DIR
from csp_pipeline.ingest.landing import match
from csp_pipeline.publish.report.build import PLOTLY_JS

log = logging.getLogger(__name__)

MIN_EMBEDDED = 6
CHUNK = 16 << 20
OVERLAP = 512
TOKEN = r"[A-Za-z0-9]+"
SQLITE_MAGIC = b"SQLite format 3\x00"
DUCKDB_MAGIC = b"DUCK"  # at byte offset 8 of a DuckDB database file
PARQUET_MAGIC = b"PAR1"


# ------------------------------------------------------------------------------------ collect


def _csv_rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
        yield from csv.DictReader(fh)


def _tokens(text: str) -> set[str]:
    return set(re.findall(TOKEN, text))


def identifiers_from_extracts(landing_dir: Path) -> set[str]:
    """Every value of a PII column in the landed extracts, less those that identify nobody on
    their own (see module doc)."""
    registry = load_registry()
    found: set[str] = set()
    public: set[str] = set()
    for kind in registry.kinds:
        partner = {contract: name for name, contract in kind.rename.items()}
        pii = {partner.get(c.name, c.name) for c in kind.pii_columns}  # as the file names them
        for path in sorted((landing_dir / kind.feed).glob(f"{kind.name}_*.csv")):
            for row in _csv_rows(path):
                for col, value in row.items():
                    value = (value or "").strip()
                    if not value:
                        continue
                    if col in pii:
                        found.add(value)
                    else:
                        public.add(value)
                        public |= _tokens(value)
    for seed in sorted((DBT_PROJECT_DIR / "seeds").glob("*.csv")):
        for row in _csv_rows(seed):
            for value in row.values():
                if value:
                    public.add(value.strip())
                    public |= _tokens(value)
    for source in _own_text_files():
        text = source.read_text(errors="replace")
        public |= _tokens(text) | set(re.findall(r"\d{4}-\d{2}-\d{2}", text))
    return {v for v in found
            if not _month_boundary(v) and (_embedded(v) or v not in public)}


def _own_text_files() -> list[Path]:
    """Text the pipeline writes out whatever the data: the dbt project's SQL and docs, and the
    dbt docs site's template (its bundled libraries carry release dates)."""
    import dbt.task.docs

    files = [p for folder in ("models", "macros")
             for p in sorted((DBT_PROJECT_DIR / folder).rglob("*.*"))]
    return files + [Path(dbt.task.docs.__file__).parent / "index.html"]


def _month_boundary(value: str) -> bool:
    """An ISO date on the first or the last day of its month."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return False
    return day.day == 1 or (day + timedelta(days=1)).day == 1


# ------------------------------------------------------------------------------------ match


def _embedded(identifier: str) -> bool:
    return (len(identifier) >= MIN_EMBEDDED and identifier.isalnum()
            and any(ch.isdigit() for ch in identifier))


def _shape(identifier: str) -> str:
    """A regex for the identifier's shape: letters, digits and its literal separators."""
    out = []
    for ch in identifier:
        cls = "[A-Za-z]" if ch.isalpha() else r"\d" if ch.isdigit() else re.escape(ch)
        if out and out[-1][0] == cls:
            out[-1][1] += 1
        else:
            out.append([cls, 1])
    return "".join(c if n == 1 else f"{c}{{{n}}}" for c, n in out)


class Matcher:
    """Finds identifiers in text: whole tokens, whole separator-bearing shapes (dates,
    postcodes) and, for long ids, any substring of a token."""

    def __init__(self, identifiers: Iterable[str]) -> None:
        ids = {i for i in identifiers if i}
        self.tokens = {i for i in ids if re.fullmatch(TOKEN, i)}
        self.embedded = {i for i in self.tokens if _embedded(i)}
        self.embedded |= {i.upper() for i in self.embedded}
        self.lengths = sorted({len(i) for i in self.embedded})
        self.exact = self.tokens | self.embedded
        self.shaped = ids - self.tokens
        shapes = sorted({_shape(i) for i in self.shaped})
        self.shape_re = re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(shapes) + r")(?![A-Za-z0-9])"
                                   ) if shapes else None

    def find(self, text: str) -> set[str]:
        tokens = set(re.findall(TOKEN, text))
        hits = tokens & self.exact
        if self.lengths:
            for tok in tokens:
                for n in self.lengths:
                    if n >= len(tok):
                        break
                    hits |= {tok[i:i + n] for i in range(len(tok) - n + 1)} & self.embedded
        if self.shape_re is not None:
            hits |= set(self.shape_re.findall(text)) & self.shaped
        return hits


def mask(identifier: str) -> str:
    digest = hashlib.sha256(identifier.encode()).hexdigest()[:8]
    return f"{identifier[:2]}{'*' * max(0, len(identifier) - 2)} (sha256 {digest})"


# ------------------------------------------------------------------------------------ scan


@dataclass(frozen=True)
class Finding:
    where: str
    identifier: str

    def __str__(self) -> str:
        return f"{self.where}: identifier {mask(self.identifier)}"


def _scan_tables(con: duckdb.DuckDBPyConnection, catalog: str, label: str,
                 matcher: Matcher) -> Iterator[Finding]:
    """Every column of every base table (views hold no data of their own), as text."""
    cols = sorted((c.schema, c.table, c.column)
                  for c in columns(con, database=catalog, base_tables=True))
    for schema, table, column in cols:
        where = f"{label} table {schema}.{table} column {column}"
        try:
            values = con.execute(
                f"SELECT DISTINCT TRY_CAST({ident(column)} AS VARCHAR) FROM "
                f"{qualified(catalog, schema, table)} WHERE {ident(column)} IS NOT NULL").fetchall()
        except duckdb.Error as exc:
            yield Finding(f"{where} (could not be read: {str(exc).splitlines()[0][:120]})", "")
            continue
        text = "\n".join(v[0] for v in values if v[0] is not None)
        for hit in sorted(matcher.find(text)):
            yield Finding(where, hit)


def _scan_duckdb_file(path: Path, label: str, matcher: Matcher) -> Iterator[Finding]:
    with memory() as con:
        con.execute(f"ATTACH {literal(path)} AS scanned (READ_ONLY)")
        yield from list(_scan_tables(con, "scanned", label, matcher))


def _scan_parquet(path: Path, label: str, matcher: Matcher) -> Iterator[Finding]:
    with memory() as con:
        con.execute("CREATE TABLE parquet_file AS SELECT * FROM read_parquet(?)", [str(path)])
        yield from list(_scan_tables(con, "memory", label, matcher))


def _scan_sqlite(path: Path, label: str, matcher: Matcher) -> Iterator[Finding]:
    import sqlite3

    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            rows = con.execute(f"SELECT * FROM {ident(table)}").fetchall()
            text = "\n".join(str(v) if not isinstance(v, bytes) else v.decode("utf-8", "replace")
                             for row in rows for v in row if v is not None)
            for hit in sorted(matcher.find(text)):
                yield Finding(f"{label} table {table}", hit)
    finally:
        con.close()


def _scan_bytes(path: Path, label: str, matcher: Matcher) -> Iterator[Finding]:
    """Raw bytes, in overlapping chunks (latin-1 keeps every byte as one character; identifiers
    are compared in their UTF-8 bytes the same way)."""
    hits: set[str] = set()
    with path.open("rb") as fh:
        tail = b""
        while block := fh.read(CHUNK):
            hits |= matcher.find((tail + block).decode("latin-1"))
            tail = block[-OVERLAP:]
    for hit in sorted(hits):
        yield Finding(f"{label} (bytes)", hit.encode("latin-1").decode("utf-8", "replace"))


def _kind_of(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head[8:12] == DUCKDB_MAGIC:
        return "duckdb"
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    return "file"


def _third_party_libraries() -> dict[int, set[str]]:
    """Size -> sha256 of the JavaScript and styles copied verbatim from installed packages into
    the report and the Data Docs (plotly.js, Bootstrap, Vega...): minified code whose strings
    collide by chance with short names and dates. Only a byte-identical copy is skipped."""
    files = [PLOTLY_JS, *(p for p in ASSET_DIR.rglob("*") if p.is_file())]
    known: dict[int, set[str]] = {}
    for f in files:
        if f.exists():
            known.setdefault(f.stat().st_size, set()).add(_sha256(f))
    return known


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(settings: Settings, extra_paths: Iterable[Path]) -> list[Path]:
    wal = settings.warehouse.with_name(settings.warehouse.name + ".wal")
    roots = [settings.data_dir, settings.airflow_home, settings.published_dir,
             settings.warehouse, wal, *map(Path, extra_paths)]
    landing = settings.landing_dir.resolve()
    registry = load_registry()
    libraries = _third_party_libraries()
    seen: dict[Path, None] = {}
    for root in roots:
        items = [root] if root.is_file() else sorted(root.rglob("*")) if root.is_dir() else []
        for p in items:
            rp = p.resolve()
            if not p.is_file() or rp in seen or rp.is_relative_to(landing):
                continue
            if (rp.is_relative_to(settings.quarantine_dir.resolve())
                    and match(registry, p.parent.name, p)):  # the partner's own rows, kept
                continue
            size = p.stat().st_size
            if size in libraries and _sha256(p) in libraries[size]:
                continue
            seen[rp] = None
    return list(seen)


def scan(settings: Settings, identifiers: set[str],
         extra_paths: Iterable[Path] = ()) -> list[str]:
    """Every place an identifier was found, as readable findings (identifiers masked)."""
    text_matcher = Matcher(identifiers)
    as_bytes = [i.encode("utf-8").decode("latin-1") for i in identifiers]
    byte_matcher = Matcher(as_bytes)
    # In the compressed pages of a database or Parquet file a short name ("Ali") turns up by
    # chance between non-letters; there the table scan reads the values and the byte scan looks
    # for the identifiers long enough not to occur by chance.
    binary_byte_matcher = Matcher(i for i in as_bytes if len(i) >= MIN_EMBEDDED)
    findings: list[Finding] = []
    for path in _files(settings, extra_paths):
        label = str(path)
        kind = _kind_of(path)
        try:
            if kind == "duckdb" and not path.name.endswith(".wal"):
                findings += _scan_duckdb_file(path, label, text_matcher)
            elif kind == "parquet":
                findings += _scan_parquet(path, label, text_matcher)
            elif kind == "sqlite":
                findings += _scan_sqlite(path, label, text_matcher)
        except (duckdb.Error, OSError) as exc:
            findings.append(Finding(f"{label} (could not be opened as {kind}: "
                                    f"{str(exc).splitlines()[0][:120]})", ""))
        findings += _scan_bytes(path, label,
                                byte_matcher if kind == "file" else binary_byte_matcher)
    out = sorted({str(f) if f.identifier else f.where for f in findings})
    for line in out:
        log.warning("pii scan: %s", line)
    return out
