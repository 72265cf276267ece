"""The feed registry: typed view of feeds.yml, the single declaration every stage follows.

A deployment folder (`CSP_CONFIG_DIR`) may add a `feeds.yml` of its own: partner variants of the
bundled kinds (a partner's own export mapped onto the contract columns) and the feeds it expects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

import yaml

from csp_pipeline.core.sql import ident

REGISTRY_FILE = Path(__file__).with_name("feeds.yml")
CONFIG_FILE = "feeds.yml"  # inside the deployment folder named by CSP_CONFIG_DIR

# File-name templates: literal text and these fields. The extract date comes from {date}, or from
# {year} with {month} or {month_name} (then it is the month's last day); {stream} names what a
# re-issued file replaces (default: the kind, or the variant).
FILE_FIELDS = {
    "date": r"(?P<date>\d{8})",
    "year": r"(?P<year>\d{4})",
    "month": r"(?P<month>\d{2})",
    "month_name": r"(?P<month>[A-Za-z]+)",
    "stream": r"(?P<stream>[A-Za-z0-9][A-Za-z0-9_-]*?)",
    "kind": None,  # replaced by the kind's name before use
}
DEFAULT_FILES = "{kind}_{date}.csv"


@cache
def file_pattern(template: str) -> re.Pattern:
    """The regular expression that a file-name template stands for."""
    parts = re.split(r"\{([a-z_]+)\}", template)
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(re.escape(part))
        elif FILE_FIELDS.get(part):
            out.append(FILE_FIELDS[part])
        else:
            raise ValueError(f"file-name template {template!r}: unknown field {{{part}}}")
    return re.compile("^" + "".join(out) + "$")

# Lineage columns every raw table carries, in order.
LINEAGE_COLUMNS = {
    "_source_file": "VARCHAR",
    "_content_hash": "VARCHAR",
    "_extract_date": "DATE",
    "_row_number": "BIGINT",
    "_stream": "VARCHAR",  # the delivery stream a re-issued file replaces (landing.Extract.stream)
    "_load_run_id": "VARCHAR",
    "_loaded_at": "TIMESTAMP",
}
PII_TREATMENTS = {"pseudonym", "birth_date", "postcode", "drop"}
# What a failed rule does: quarantine the file, reject the failing rows (the rest loads), or warn.
SEVERITIES = {"blocking", "reject", "warning"}
REJECT_TOLERANCE = 0.05  # default share of a file's rows a reject rule may reject (kind-level)
REJECTS_SUFFIX = ".rejects.csv"  # a released rejects file: <original stem>.rejects.csv
TYPES = {"VARCHAR", "INTEGER", "DOUBLE", "DATE", "TIMESTAMP", "MONTH"}


def snake(name: str) -> str:
    """Contract column name -> warehouse column name: 'Crime ID' -> 'crime_id'."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "VARCHAR"
    required: bool = False
    values: tuple[str, ...] | None = None
    pattern: str | None = None
    min: float | None = None
    max: float | None = None
    pii: str | None = None
    normalise: str = "none"
    severity: str = "blocking"
    tolerance: float | None = None  # reject rules: share of rows; else the kind's reject_tolerance
    reference: str | None = None  # a code list that follows the reference data: 'file.column'

    @property
    def warehouse_name(self) -> str:
        """Name in raw tables; PII columns are renamed to say what they now hold."""
        if self.pii == "pseudonym":
            return f"{snake(self.name)}_pseudonym"
        if self.pii == "birth_date":
            return "birth_month"
        if self.pii == "postcode":
            return "postcode_district"
        return snake(self.name)

    @property
    def warehouse_type(self) -> str:
        if self.pii in ("pseudonym", "postcode"):
            return "VARCHAR"
        if self.type == "MONTH" or self.pii == "birth_date":
            return "DATE"
        return self.type


@dataclass(frozen=True)
class Rule:
    """Cross-field rule: a op b, checked where both are present."""

    a: str
    op: str
    b: str
    severity: str = "blocking"
    tolerance: float | None = None


@dataclass(frozen=True)
class Variant:
    """A partner's own layout of a kind: its file names, encoding, header, and each contract column
    as a DuckDB expression over the partner's (double-quoted) columns; the expressions may query
    the merged reference tables (`ref_areas`, `ref_wards`, ...) by name. Contract columns it does
    not map are missing (NULL)."""

    name: str
    files: str
    header: tuple[str, ...]
    columns: dict[str, str]
    encoding: str = "utf-8"
    partner: str | None = None

    def reads(self, expression: str) -> list[str]:
        """The partner columns an expression reads (those of the header it names)."""
        return [h for h in self.header if ident(h) in expression]


@dataclass(frozen=True)
class Kind:
    feed: str
    name: str
    partner: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    date_column: str | None = None
    rules: tuple[Rule, ...] = ()
    rename: dict[str, str] = field(default_factory=dict)
    files: str = DEFAULT_FILES  # file-name template (FILE_FIELDS)
    encoding: str = "utf-8"
    variants: tuple[Variant, ...] = ()
    reject_tolerance: float = REJECT_TOLERANCE

    @property
    def id(self) -> str:
        return f"{self.feed}__{self.name}"

    @property
    def raw_table(self) -> str:
        return f"raw.{self.id}"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def stored_columns(self) -> list[Column]:
        """Columns that reach the warehouse (dropped identifiers never do)."""
        return [c for c in self.columns if c.pii != "drop"]

    @property
    def pii_columns(self) -> list[Column]:
        return [c for c in self.columns if c.pii]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def file_pattern(self) -> re.Pattern:
        return file_pattern(self.files.replace("{kind}", self.name))

    def file_name(self, extract_date: str, stream: str | None = None) -> str:
        """The landed name of this kind's extract for a date (and stream)."""
        d = date.fromisoformat(extract_date)
        return self.files.replace("{kind}", self.name).format(
            date=f"{d:%Y%m%d}", year=f"{d:%Y}", month=f"{d:%m}", month_name=f"{d:%B}".lower(),
            stream=stream or self.name)

    def tolerance(self, declared: Column | Rule) -> float | None:
        """The share of the file's rows a reject rule may reject (None: not a reject rule)."""
        if declared.severity != "reject":
            return None
        return self.reject_tolerance if declared.tolerance is None else declared.tolerance


@dataclass(frozen=True)
class Registry:
    kinds: tuple[Kind, ...]
    code_lists: dict[str, tuple[str, ...]]
    expected_feeds: tuple[str, ...] = ()  # onboarded feeds (default: every declared feed)

    @property
    def feeds(self) -> list[str]:
        return list(dict.fromkeys(k.feed for k in self.kinds))

    def kinds_of(self, feed: str) -> list[Kind]:
        return [k for k in self.kinds if k.feed == feed]

    def kind(self, feed: str, name: str) -> Kind:
        for k in self.kinds:
            if k.feed == feed and k.name == name:
                return k
        raise KeyError(f"no kind {name!r} declared for feed {feed!r}")


def _code_lists(doc: dict) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """(lists typed in feeds.yml, lists that follow the reference data: name -> 'file.column')."""
    from csp_pipeline.core.reference import split

    typed, from_reference = {}, {}
    for name, values in (doc.get("code_lists") or {}).items():
        if isinstance(values, dict):
            if set(values) != {"reference"}:
                raise ValueError(f"code list {name}: a list of values, or {{reference: "
                                 "<file>.<column>}}")
            split(values["reference"])
            from_reference[name] = values["reference"]
        else:
            typed[name] = tuple(values)
    return typed, from_reference


def parse_registry(doc: dict) -> Registry:
    code_lists, from_reference = _code_lists(doc)
    kinds = []
    for feed, feed_doc in doc["feeds"].items():
        for kind_name, kd in feed_doc["kinds"].items():
            columns = []
            for cd in kd["columns"]:
                cd = dict(cd)
                if cd.get("values") in from_reference:
                    cd["reference"] = from_reference[cd.pop("values")]
                elif isinstance(cd.get("values"), str):
                    cd["values"] = code_lists[cd["values"]]
                elif cd.get("values") is not None:
                    cd["values"] = tuple(cd["values"])
                col = Column(**cd)
                if col.type not in TYPES:
                    raise ValueError(f"{feed}.{kind_name}.{col.name}: unknown type {col.type}")
                if col.pii and col.pii not in PII_TREATMENTS:
                    raise ValueError(f"{feed}.{kind_name}.{col.name}: unknown pii {col.pii}")
                columns.append(col)
            names = {c.name for c in columns}
            key = tuple(kd.get("key") or ())
            rules = tuple(Rule(**r) for r in kd.get("rules") or ())
            tolerance = kd.get("reject_tolerance", REJECT_TOLERANCE)
            for where, decl in [*((c.name, c) for c in columns),
                                *((f"{r.a} {r.op} {r.b}", r) for r in rules)]:
                if decl.severity not in SEVERITIES:
                    raise ValueError(f"{feed}.{kind_name}.{where}: unknown severity "
                                     f"{decl.severity!r} (one of {sorted(SEVERITIES)})")
                if decl.tolerance is not None and decl.severity != "reject":
                    raise ValueError(f"{feed}.{kind_name}.{where}: a tolerance applies to "
                                     "severity reject only")
                for share in (decl.tolerance, tolerance):
                    if share is not None and not 0 <= share < 1:
                        raise ValueError(f"{feed}.{kind_name}.{where}: tolerance {share} is not "
                                         "a share of the rows (0 <= tolerance < 1)")
            for ref in (*key, *(r.a for r in rules), *(r.b for r in rules), kd.get("date_column")):
                if ref is not None and ref not in names:
                    raise ValueError(f"{feed}.{kind_name}: {ref!r} is not a declared column")
            kinds.append(
                Kind(
                    feed=feed,
                    name=kind_name,
                    partner=feed_doc.get("partner", feed),
                    columns=tuple(columns),
                    key=key,
                    date_column=kd.get("date_column"),
                    rules=rules,
                    rename=dict(kd.get("rename") or {}),
                    files=_pattern(kd.get("files", DEFAULT_FILES), f"{feed}.{kind_name}"),
                    encoding=_encoding(kd.get("encoding", "utf-8"), f"{feed}.{kind_name}"),
                    variants=_variants(kd.get("variants") or {}, names, f"{feed}.{kind_name}"),
                    reject_tolerance=tolerance,
                )
            )
    feeds = tuple(dict.fromkeys(k.feed for k in kinds))
    expected = tuple(doc.get("expected_feeds") or feeds)
    unknown = set(expected) - set(feeds)
    if unknown:
        raise ValueError(f"expected_feeds names undeclared feeds: {sorted(unknown)}")
    return Registry(kinds=tuple(kinds), code_lists=code_lists, expected_feeds=expected)


def _pattern(template: str, where: str) -> str:
    try:
        groups = file_pattern(template.replace("{kind}", "kind")).groupindex
    except (ValueError, re.error) as exc:
        raise ValueError(f"{where}: {exc}") from None
    if "date" not in groups and not {"year", "month"} <= set(groups):
        raise ValueError(f"{where}: file-name template {template!r} needs {{date}}, or {{year}} "
                         "with {month} or {month_name}")
    return template


def _encoding(name: str, where: str) -> str:
    import codecs

    try:
        return codecs.lookup(name).name
    except LookupError:
        raise ValueError(f"{where}: unknown encoding {name!r}") from None


def _variants(doc: dict, contract: set[str], where: str) -> tuple[Variant, ...]:
    variants = []
    for name, vd in doc.items():
        here = f"{where} variant {name}"
        unknown = set(vd.get("columns") or {}) - contract
        if unknown:
            raise ValueError(f"{here}: maps undeclared contract columns {sorted(unknown)}")
        if not vd.get("files"):
            raise ValueError(f"{here}: needs a `files` pattern")
        variants.append(Variant(
            name=name, files=_pattern(vd["files"], here), header=tuple(vd.get("header") or ()),
            columns={c: str(e) for c, e in (vd.get("columns") or {}).items()},
            encoding=_encoding(vd.get("encoding", "utf-8"), here), partner=vd.get("partner")))
    return tuple(variants)


def merge_config(bundled: dict, deployment: dict) -> dict:
    """The bundled declarations plus a deployment's: its variants are added to the bundled kinds
    (a variant of the same name replaces the bundled one) and `expected_feeds` is taken from it."""
    doc = {**bundled, "feeds": {f: {**fd, "kinds": {k: dict(kd) for k, kd in fd["kinds"].items()}}
                                for f, fd in bundled["feeds"].items()}}
    for feed, fd in (deployment.get("feeds") or {}).items():
        for kind, kd in (fd.get("kinds") or {}).items():
            if feed not in doc["feeds"] or kind not in doc["feeds"][feed]["kinds"]:
                raise ValueError(f"{CONFIG_FILE} of the deployment: {feed}.{kind} is not a "
                                 "declared kind (a deployment adds variants of declared kinds)")
            extra = set(kd) - {"variants"}
            if extra:
                raise ValueError(f"{CONFIG_FILE} of the deployment: {feed}.{kind} may only add "
                                 f"`variants`, not {sorted(extra)}")
            target = doc["feeds"][feed]["kinds"][kind]
            target["variants"] = {**(target.get("variants") or {}), **kd["variants"]}
    if deployment.get("expected_feeds"):
        doc["expected_feeds"] = deployment["expected_feeds"]
    return doc


def load_registry(path: Path | None = None, config_dir: Path | None = None) -> Registry:
    """The bundled registry (or `path`), plus the deployment's `feeds.yml` in `config_dir`
    (default: the folder named by CSP_CONFIG_DIR)."""
    if config_dir is None:
        from csp_pipeline.core.settings import Settings  # the one place configuration is read

        config_dir = Settings.from_env().config_dir
    config = config_dir / CONFIG_FILE if config_dir else None
    return _load_cached(str(path or REGISTRY_FILE),
                        str(config) if config and config.exists() else "")


@cache
def _load_cached(path: str, config: str) -> Registry:
    doc = yaml.safe_load(Path(path).read_text())
    if config:
        doc = merge_config(doc, yaml.safe_load(Path(config).read_text()) or {})
    return parse_registry(doc)
