"""The feed registry: typed view of feeds.yml, the single declaration every stage follows."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

REGISTRY_FILE = Path(__file__).with_name("feeds.yml")
FILE_NAME = re.compile(r"^(?P<kind>[a-z_]+)_(?P<date>\d{8})\.csv$")

# Lineage columns every raw table carries, in order.
LINEAGE_COLUMNS = {
    "_source_file": "VARCHAR",
    "_content_hash": "VARCHAR",
    "_extract_date": "DATE",
    "_row_number": "BIGINT",
    "_load_run_id": "VARCHAR",
    "_loaded_at": "TIMESTAMP",
}
PII_TREATMENTS = {"pseudonym", "birth_date", "postcode", "drop"}
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

    def file_name(self, extract_date: str) -> str:
        return f"{self.name}_{extract_date.replace('-', '')}.csv"


@dataclass(frozen=True)
class Registry:
    kinds: tuple[Kind, ...]
    code_lists: dict[str, tuple[str, ...]]

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

    def kind_for_file(self, feed: str, path: Path) -> tuple[Kind, str] | None:
        """(kind, ISO extract date) for a landed file name, or None if it is not a declared kind."""
        m = FILE_NAME.match(path.name)
        if not m:
            return None
        try:
            kind = self.kind(feed, m["kind"])
        except KeyError:
            return None
        d = m["date"]
        return kind, f"{d[:4]}-{d[4:6]}-{d[6:]}"


def _code_lists(doc: dict) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """(lists typed in feeds.yml, lists that follow the reference data: name -> 'file.column')."""
    from csp_pipeline.reference import split

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
                )
            )
    return Registry(kinds=tuple(kinds), code_lists=code_lists)


def load_registry(path: Path | None = None) -> Registry:
    return _load_cached(str(path or REGISTRY_FILE))


@cache
def _load_cached(path: str) -> Registry:
    return parse_registry(yaml.safe_load(Path(path).read_text()))
