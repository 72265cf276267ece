"""Reference data (areas, wards, populations, code lists, unit costs): where it is, each file's
columns and key, and how a deployment's files merge with the bundled ones. The one owner.

Bundled: the dbt seeds `dbt_project/seeds/bundled_<file>.csv` (the Cleveland demo). A deployment
gives files of the same names without the prefix and the same columns (`ref_areas.csv`, ...) in
`$CSP_CONFIG_DIR/reference/`, then in `CSP_REFERENCE_DIR` (a later folder's rows win):
- `ref_areas.csv`, when given, is the list of areas the deployment serves: the bundled areas are
  then reported nowhere, and bundled rows of other files that name them are dropped;
- every other file adds rows, a row with the same key replacing the earlier one.

The merge is written once (`merge_sql`) and runs in two places: the dbt models `ref_<file>`
(generated from FILES by `csp generated --write`) merge each bundled seed with the warehouse table
`deployment_reference.<file>`, which the warehouse DAG loads before dbt (`load_deployment`); and
`register_views` builds the same merged tables on any DuckDB connection, for the gate (code lists
such as LA_CODE follow `ref_areas`) and for partner column expressions that look values up.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from csp_pipeline.core.settings import DBT_PROJECT_DIR, Settings
from csp_pipeline.core.sql import ident, literal
from csp_pipeline.core.warehouse import memory

SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
MODELS_DIR = DBT_PROJECT_DIR / "models" / "reference"
DEPLOYMENT_SCHEMA = "deployment_reference"
CONFIG_SUBFOLDER = "reference"  # inside CSP_CONFIG_DIR
GENERATED = "Generated from plugins/csp_pipeline/core/reference.py by `csp generated --write`. Do not edit."


class ReferenceDataError(ValueError):
    """A deployment's reference file cannot be used: names the file, row, column and rule."""


@dataclass(frozen=True)
class ReferenceFile:
    name: str
    columns: dict[str, str]  # column -> DuckDB type, in the file's order
    key: tuple[str, ...]
    required: tuple[str, ...] = ()  # besides the key (key columns are required unless nullable)
    nullable_key: tuple[str, ...] = ()  # key columns where blank is a value (a default row)
    replaces: bool = False  # a deployment's file replaces every earlier row (ref_areas)
    references: dict[str, str] = field(default_factory=dict)  # column -> "file.column" it names

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    @property
    def seed(self) -> str:
        return f"bundled_{self.name}"

    @property
    def bundled(self) -> Path:
        return SEEDS_DIR / f"{self.seed}.csv"

    @property
    def must_have(self) -> tuple[str, ...]:
        return tuple(c for c in self.key if c not in self.nullable_key) + self.required


V, N, B = "VARCHAR", "INTEGER", "BOOLEAN"
AREA = {"la_code": "ref_areas.la_code"}
# In dependency order: a file comes after the files its columns reference.
FILES: dict[str, ReferenceFile] = {f.name: f for f in (
    ReferenceFile("ref_areas", {"la_code": V, "la_name": V, "csp_name": V, "police_force": V,
                                "fire_authority": V}, ("la_code",), ("la_name",), replaces=True),
    ReferenceFile("ref_wards", {"ward_code": V, "ward_name": V, "la_code": V}, ("ward_code",),
                  ("ward_name", "la_code"), references=AREA),
    # An LSOA's ward for ward-level police views; LSOAs of wards not in ref_wards are ignored,
    # and a blank ward (real lookups place a few LSOAs in none) places nothing.
    ReferenceFile("ref_lsoa_wards", {"lsoa_code": V, "ward_code": V}, ("lsoa_code",)),
    ReferenceFile("ref_populations", {"la_code": V, "year": N, "population_total": N,
                                      "population_10_17": N}, ("la_code", "year"),
                  references=AREA),
    ReferenceFile("ref_population_ethnicity", {"la_code": V, "year": N, "ethnicity": V,
                                               "population_10_17": N},
                  ("la_code", "year", "ethnicity"), ("population_10_17",), references=AREA),
    ReferenceFile("ref_fire_unit_costs", {"incident_type": V, "property_category": V,
                                          "cost_category": V, "unit_cost_gbp": N, "status": V,
                                          "source_note": V},
                  ("incident_type", "property_category"),
                  ("cost_category", "unit_cost_gbp", "status"), ("property_category",)),
    ReferenceFile("ref_outcome_types", {"outcome_type": V, "ladder_rank": N, "tier": V,
                                        "is_substantive": B, "is_custodial": B, "is_remand": B,
                                        "counts_for_out_of_court_kpi": B}, ("outcome_type",),
                  ("ladder_rank", "tier", "is_substantive", "is_custodial", "is_remand",
                   "counts_for_out_of_court_kpi")),
    ReferenceFile("ref_offence_categories", {"offence_category": V,
                                             "is_serious_violence_category": B,
                                             "serious_violence_min_gravity": N},
                  ("offence_category",), ("is_serious_violence_category",)),
)}
TYPE_WORDS = {N: "a whole number", B: "true or false"}


def split(reference: str) -> tuple[ReferenceFile, str]:
    """'ref_areas.la_code' -> (the file, the column); raises on an undeclared one."""
    name, _, column = reference.partition(".")
    if name not in FILES or column not in FILES[name].columns:
        raise ValueError(f"{reference!r} is not a reference file column "
                         f"(files: {', '.join(FILES)})")
    return FILES[name], column


def parameter(reference: str) -> str:
    """The expectation parameter that carries a reference code list to a GE suite."""
    split(reference)
    return reference.replace(".", "__")


# ------------------------------------------------------------------------------------- merging
def merge_sql(f: ReferenceFile, bundled: str, deployment: str,
              targets: dict[str, str] | None) -> str:
    """The merged rows of one file: the deployment's rows, then the bundled rows it keeps.

    `bundled` and `deployment` are relations with the file's columns (or two deployment folders'
    rows, lower then higher precedence); `targets` maps each file this one references to the
    relation of its merged rows (None: no such filter). A deployment's `replaces` file keeps no
    bundled row; otherwise a bundled row is kept unless a deployment row has its key, and only if
    the values it references are still there (a bundled ward of an area not served goes).
    """
    cols = ", ".join(ident(c) for c in f.columns)
    if f.replaces:
        keep = [f"not exists (select 1 from {deployment})"]
    else:
        same = " and ".join(f"d.{ident(k)} is not distinct from b.{ident(k)}" for k in f.key)
        keep = [f"not exists (select 1 from {deployment} as d where {same})"]
    for column, target in f.references.items() if targets is not None else ():
        other, other_column = split(target)
        keep.append(f"b.{ident(column)} in (select {ident(other_column)} from {targets[other.name]})")
    where = "\n  and ".join(keep)
    return (f"select {cols} from {deployment}\nunion all\n"
            f"select {cols} from {bundled} as b\nwhere {where}")


def _typed(f: ReferenceFile, relation: str, text: bool, indent: str = " ") -> str:
    """The file's columns cast to their types; from text, blanks are missing values."""
    def value(c: str) -> str:
        return f"nullif(trim({ident(c)}), '')" if text else ident(c)
    cols = f",{indent}".join(f"cast({value(c)} as {t}) as {ident(c)}" for c, t in f.columns.items())
    return f"select{indent}{cols}{indent[:-4] if indent != ' ' else ' '}from {relation}"


def _read_csv(path: Path, header: list[str]) -> str:
    cols = ", ".join(f"{literal(h)}: 'VARCHAR'" for h in header)
    return (f"read_csv({literal(str(path))}, header = true, columns = {{{cols}}}, quote = '\"', "
            "escape = '\"', delim = ',', strict_mode = true, null_padding = false)")


def _header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return next(csv.reader(fh), [])


# ----------------------------------------------------------------------- deployment folders
def folders(settings: Settings) -> list[Path]:
    """The deployment's reference folders, lowest precedence first."""
    out = []
    if settings.config_dir is not None and (settings.config_dir / CONFIG_SUBFOLDER).is_dir():
        out.append(settings.config_dir / CONFIG_SUBFOLDER)
    if settings.reference_dir is not None:
        if not settings.reference_dir.is_dir():
            raise ReferenceDataError(f"CSP_REFERENCE_DIR {settings.reference_dir} is not a folder")
        out.append(settings.reference_dir)
    for folder in out:
        for path in sorted(folder.glob("*.csv")):
            if path.stem not in FILES:
                raise ReferenceDataError(
                    f"{path}: not a reference file; a deployment's reference files are "
                    f"{', '.join(f.file_name for f in FILES.values())}")
    return out


def _load_layer(con: duckdb.DuckDBPyConnection, f: ReferenceFile, path: Path,
                table: str) -> None:
    """One deployment file as a typed temp table with its row numbers, checked: header, types,
    required values, a unique key. A bad file raises, naming the file, row, column and rule."""
    header = _header(path)
    missing = [c for c in f.columns if c not in header]
    extra = [h for h in header if h not in f.columns]
    if missing or extra or len(set(header)) != len(header):
        raise ReferenceDataError(
            f"{path}: the header must name the columns {', '.join(f.columns)} once each "
            f"(missing: {missing or 'none'}; unexpected: {extra or 'none'})")
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table}_text AS SELECT "
                    f"row_number() OVER () AS _row, * FROM {_read_csv(path, header)}")
    except duckdb.Error as exc:
        raise ReferenceDataError(f"{path}: not a readable UTF-8 CSV file: "
                                 f"{str(exc).splitlines()[0][:300]}") from None
    for column, typ in f.columns.items():
        if typ == V:
            continue
        bad = con.execute(
            f"SELECT _row, {ident(column)} FROM {table}_text WHERE nullif(trim({ident(column)}), '') "
            f"IS NOT NULL AND TRY_CAST(trim({ident(column)}) AS {typ}) IS NULL ORDER BY _row LIMIT 1"
        ).fetchone()
        if bad:
            raise ReferenceDataError(f"{path} row {bad[0]}, column {column}: {bad[1]!r} is not "
                                     f"{TYPE_WORDS.get(typ, typ)} ({typ})")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT _row, "
                f"{_typed(f, table + '_text', text=True).removeprefix('select ')}")
    con.execute(f"DROP TABLE {table}_text")
    for column in f.must_have:
        row = con.execute(f"SELECT min(_row) FROM {table} WHERE {ident(column)} IS NULL").fetchone()
        if row[0] is not None:
            raise ReferenceDataError(f"{path} row {row[0]}, column {column}: a value is required")
    keys = ", ".join(ident(k) for k in f.key)
    dup = con.execute(f"SELECT list(_row ORDER BY _row), {keys} FROM {table} GROUP BY ALL "
                      "HAVING count(*) > 1 ORDER BY 1 LIMIT 1").fetchone()
    if dup:
        value = ", ".join(f"{k}={v}" for k, v in zip(f.key, dup[1:], strict=True))
        raise ReferenceDataError(f"{path} rows {', '.join(map(str, dup[0]))}: key ({value}) "
                                 "appears more than once; each key once per file")
    if f.replaces and con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0:
        raise ReferenceDataError(f"{path}: no rows; a deployment's {f.file_name} lists the "
                                 "areas it serves (at least one)")


def register_views(con: duckdb.DuckDBPyConnection, settings: Settings,
                   names: tuple[str, ...] | None = None) -> None:
    """Temp tables named as the reference files (`ref_areas`, `ref_wards`, `ref_lsoa_wards`, ...)
    on this connection, holding the merged bundled + deployment rows; query them as views.
    `names` limits the work to those files (and the files they reference).

    Also left on the connection: `_deployment_<file>`, the deployment folders' own rows merged
    (what `load_deployment` stores). A deployment row naming a value its target lacks (a ward of
    an area not served) raises, naming the file, row and column.
    """
    wanted = _closure(names or tuple(FILES))
    layers = folders(settings)
    for f in FILES.values():
        if f.name not in wanted:
            continue
        deployment = f"_deployment_{f.name}"
        columns = ", ".join(f"{ident(c)} {t}" for c, t in f.columns.items())
        con.execute(f"CREATE OR REPLACE TEMP TABLE {deployment} ({columns})")
        given = [folder / f.file_name for folder in layers if (folder / f.file_name).exists()]
        for i, path in enumerate(given):  # a later folder's rows win
            _load_layer(con, f, path, f"_layer_{i}")
            con.execute(f"CREATE OR REPLACE TEMP TABLE _merged AS "
                        f"{merge_sql(f, deployment, f'_layer_{i}', None)}")
            con.execute(f"CREATE OR REPLACE TEMP TABLE {deployment} AS SELECT * FROM _merged")
            con.execute("DROP TABLE _merged")
        bundled = f"({_typed(f, _read_csv(f.bundled, _header(f.bundled)), text=True)})"
        targets = {split(t)[0].name: split(t)[0].name for t in f.references.values()}
        con.execute(f"CREATE OR REPLACE TEMP TABLE {f.name} AS "
                    f"{merge_sql(f, bundled, deployment, targets)}")
        for i, path in enumerate(given):  # against the merged rows of the files referenced
            _check_references(con, f, path, f"_layer_{i}")
        for i in range(len(given)):
            con.execute(f"DROP TABLE _layer_{i}")


def _closure(names: tuple[str, ...]) -> set[str]:
    wanted: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in FILES:
            raise ValueError(f"no reference file {name!r} (files: {', '.join(FILES)})")
        if name not in wanted:
            wanted.add(name)
            todo += [split(t)[0].name for t in FILES[name].references.values()]
    return wanted


def _check_references(con: duckdb.DuckDBPyConnection, f: ReferenceFile, path: Path,
                      layer: str) -> None:
    for column, target in f.references.items():
        other, other_column = split(target)
        bad = con.execute(
            f"SELECT _row, {ident(column)} FROM {layer} WHERE {ident(column)} IS NOT NULL AND "
            f"{ident(column)} NOT IN (SELECT {ident(other_column)} FROM {other.name}) "
            "ORDER BY _row LIMIT 1").fetchone()
        if bad:
            raise ReferenceDataError(
                f"{path} row {bad[0]}, column {column}: {bad[1]!r} is not in {target} of this "
                f"deployment (add it to {other.file_name}, or drop the row)")


def code_lists(settings: Settings, references: list[str]) -> dict[str, list[str]]:
    """{expectation parameter: the values} for code lists that follow the reference data
    (`reference: ref_areas.la_code` in feeds.yml), as the gate passes them to a suite."""
    if not references:
        return {}
    with memory() as con:
        register_views(con, settings, tuple(split(r)[0].name for r in references))
        out = {}
        for r in references:
            f, column = split(r)
            out[parameter(r)] = [v for (v,) in con.execute(
                f"SELECT DISTINCT {ident(column)} FROM {f.name} WHERE {ident(column)} IS NOT NULL "
                "ORDER BY 1").fetchall()]
    return out


def reference_values(reference: str, settings: Settings | None = None) -> list[str]:
    """The values of one reference column ('ref_areas.la_code'), merged; default settings from
    the environment."""
    return code_lists(settings or Settings.from_env(), [reference])[parameter(reference)]


# -------------------------------------------------------------------------------- warehouse
def deployment_table_ddl(f: ReferenceFile) -> str:
    columns = ", ".join(f"{ident(c)} {t}" for c, t in f.columns.items())
    return f"CREATE TABLE IF NOT EXISTS {DEPLOYMENT_SCHEMA}.{f.name} ({columns})"


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The warehouse tables of deployment rows, empty until `load_deployment` fills them."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {DEPLOYMENT_SCHEMA}")
    for f in FILES.values():
        con.execute(deployment_table_ddl(f))


def load_deployment(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, int]:
    """Replace the warehouse's `deployment_reference.<file>` tables with the deployment's rows
    (empty when it gives none), in one transaction; dbt merges them with the bundled seeds.
    Returns the rows per file."""
    register_views(con, settings)  # reads and checks every file before anything is replaced
    ensure_tables(con)
    counts = {}
    con.execute("BEGIN")
    try:
        for f in FILES.values():
            cols = ", ".join(ident(c) for c in f.columns)
            con.execute(f"DELETE FROM {DEPLOYMENT_SCHEMA}.{f.name}")
            con.execute(f"INSERT INTO {DEPLOYMENT_SCHEMA}.{f.name} ({cols}) "
                        f"SELECT {cols} FROM _deployment_{f.name}")
            counts[f.name] = con.execute(
                f"SELECT count(*) FROM {DEPLOYMENT_SCHEMA}.{f.name}").fetchone()[0]
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return counts


def bundled_rows(name: str) -> list[dict[str, str]]:
    """A bundled file's rows as text (the synthetic generator builds its world from them)."""
    with FILES[name].bundled.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# ------------------------------------------------------------------- dbt files generated here
INDENT = "\n        "


def model_sql(f: ReferenceFile) -> str:
    """The dbt model `ref_<file>`: the bundled seed merged with the deployment's rows."""
    targets = {split(t)[0].name: f"{{{{ ref('{split(t)[0].name}') }}}}"
               for t in f.references.values()}
    rule = ("a deployment's rows, when it gives any, replace every bundled row" if f.replaces
            else f"a deployment row replaces the bundled row with the same "
                 f"{', '.join(f.key)}")
    dropped = (f";\n-- bundled rows naming a {', '.join(f.references.values())} no longer there "
               "are dropped" if f.references else "")
    bundled = f"{{{{ ref('{f.seed}') }}}}"
    return (
        f"-- {GENERATED}\n"
        f"-- {f.name}: the bundled seed {f.seed} merged with the deployment's rows\n"
        f"-- ({DEPLOYMENT_SCHEMA}.{f.name}, loaded by the warehouse DAG from its {f.file_name}):\n"
        f"-- {rule}{dropped}.\n"
        f"with bundled as (\n    {_typed(f, bundled, False, INDENT)}\n),\n\n"
        f"deployment as (\n    {_typed(f, source(f), False, INDENT)}\n)\n\n"
        f"{merge_sql(f, 'bundled', 'deployment', targets)}\n"
    )


def source(f: ReferenceFile) -> str:
    return f"{{{{ source('{DEPLOYMENT_SCHEMA}', '{f.name}') }}}}"


def model_path(f: ReferenceFile) -> Path:
    return MODELS_DIR / f"{f.name}.sql"


def sources_path() -> Path:
    return MODELS_DIR / f"_{DEPLOYMENT_SCHEMA}__sources.yml"


def sources_yml() -> str:
    import yaml

    tables = [{"name": f.name,
               "description": f"The deployment's {f.file_name} (empty when it gives none); "
                              f"key: {', '.join(f.key)}.",
               "columns": [{"name": c, "description": f"{c} as the deployment gives it ({t})"}
                           for c, t in f.columns.items()]}
              for f in FILES.values()]
    doc = {"version": 2, "sources": [{
        "name": DEPLOYMENT_SCHEMA, "schema": DEPLOYMENT_SCHEMA,
        "description": "Reference rows of this deployment (CSP_CONFIG_DIR/reference/, then "
                       "CSP_REFERENCE_DIR), loaded by the warehouse DAG before dbt runs "
                       "(plugins/csp_pipeline/core/reference.py).",
        "tables": tables}]}
    return f"# {GENERATED}\n" + yaml.safe_dump(doc, sort_keys=False, width=100)


def generated_files() -> dict[Path, str]:
    files = {model_path(f): model_sql(f) for f in FILES.values()}
    files[sources_path()] = sources_yml()
    return files
