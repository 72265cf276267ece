"""Disclosure control for the published snapshot (contracts/marts.md, declared in disclosure.yml).

Counts of people or person-level events from 1 to 4 are suppressed (primary suppression); zeros
are shown. Secondary suppression hides the next smallest non-zero cell of any declared relation
(a total row, a total column with an unpublished remainder, a derivable group sum, cells known to
be equal) in which a suppressed cell could otherwise be recovered by subtraction, until no
relation gives one away. Rates and percentages are suppressed with the counts they depend on.
A suppressed cell becomes NULL and its `<column>_suppressed` flag TRUE.

The rewrite happens on the snapshot's own DuckDB connection, never on the working warehouse,
which keeps exact figures for authorised analysts.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import yaml

from csp_pipeline.core.sql import ident
from csp_pipeline.core.warehouse import column_names
from csp_pipeline.publish.disclosure_audit import Equation, Var, pinned_unknowns

log = logging.getLogger(__name__)

POLICY_FILE = Path(__file__).with_name("disclosure.yml")
FLAG = "_suppressed"

Cell = tuple[int, str]  # (row index, column)


class DisclosureError(RuntimeError):
    """A mart cannot be published safely as declared (undeclared, or its shape changed)."""


@dataclass(frozen=True)
class Condition:
    """Rows where `column` is (or, negated, is not) one of `values`."""

    column: str
    values: frozenset[str]
    negate: bool = False

    def holds(self, row: dict[str, Any]) -> bool:
        return (str(row[self.column]) in self.values) != self.negate


@dataclass(frozen=True)
class Count:
    column: str
    condition: Condition | None = None

    def applies(self, row: dict[str, Any]) -> bool:
        return self.condition is None or self.condition.holds(row)


@dataclass(frozen=True)
class Additive:
    over: str
    columns: tuple[str, ...]
    total: str | None = None
    members: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Subset:
    whole: str
    parts: tuple[str, ...]
    condition: Condition | None = None


@dataclass(frozen=True)
class Shared:
    over: str
    columns: tuple[str, ...]
    members: tuple[str, ...] | None = None


@dataclass(frozen=True)
class MartRule:
    name: str
    places: bool = False
    key: tuple[str, ...] = ()
    public: tuple[str, ...] = ()
    counts: tuple[Count, ...] = ()
    rates: dict[str, tuple[str, ...]] = field(default_factory=dict)
    additive: tuple[Additive, ...] = ()
    subsets: tuple[Subset, ...] = ()
    shared: tuple[Shared, ...] = ()

    @property
    def count_columns(self) -> list[str]:
        return list(dict.fromkeys(c.column for c in self.counts))

    @property
    def protected_columns(self) -> list[str]:
        """Columns that may be suppressed (and carry a flag): counts, then rates."""
        return self.count_columns + [r for r in self.rates if r not in self.count_columns]

    @property
    def declared_columns(self) -> set[str]:
        return {*self.key, *self.public, *self.protected_columns}

    @property
    def condition_columns(self) -> set[str]:
        conds = [c.condition for c in self.counts] + [s.condition for s in self.subsets]
        return {c.column for c in conds if c is not None}


@dataclass(frozen=True)
class Policy:
    threshold: float
    marts: dict[str, MartRule]

    def declared(self, mart: str) -> bool:
        return mart in self.marts

    def rule(self, mart: str) -> MartRule:
        if mart not in self.marts:
            raise DisclosureError(f"mart {mart!r} is not declared in {POLICY_FILE.name}: "
                                  "it is not published until its columns are classified")
        return self.marts[mart]

    def sensitive(self, value: Any) -> bool:
        return value is not None and 0 < value < self.threshold


@dataclass
class Protection:
    """What was suppressed in one mart."""

    mart: str
    primary: int = 0
    secondary: int = 0
    dependent: int = 0
    dropped_columns: list[str] = field(default_factory=list)

    @property
    def cells(self) -> int:
        return self.primary + self.secondary + self.dependent


# ------------------------------------------------------------------------------------ policy


def _condition(doc: dict) -> Condition | None:
    for word, negate in (("when", False), ("unless", True)):
        if word in doc:
            ((column, values),) = doc[word].items()
            return Condition(column, frozenset(str(v) for v in values), negate)
    return None


def _tuple(value: Any) -> tuple[str, ...] | None:
    return None if value is None else tuple(str(v) for v in value)


def parse_policy(doc: dict) -> Policy:
    marts = {}
    for name, md in (doc.get("marts") or {}).items():
        md = md or {}
        counts = tuple(Count(c) if isinstance(c, str) else Count(c["column"], _condition(c))
                       for c in md.get("counts") or ())
        rule = MartRule(
            name=name, places=bool(md.get("places")), key=_tuple(md.get("key")) or (),
            public=_tuple(md.get("public")) or (), counts=counts,
            rates={r: tuple(deps) for r, deps in (md.get("rates") or {}).items()},
            additive=tuple(Additive(over=a["over"], columns=tuple(a["columns"]),
                                    total=a.get("total"), members=_tuple(a.get("members")))
                           for a in md.get("additive") or ()),
            subsets=tuple(Subset(whole=s["whole"], parts=tuple(s["parts"]),
                                 condition=_condition(s)) for s in md.get("subsets") or ()),
            shared=tuple(Shared(over=s["over"], columns=tuple(s["columns"]),
                                members=_tuple(s.get("members"))) for s in md.get("shared") or ()),
        )
        _check_rule(rule)
        marts[name] = rule
    return Policy(threshold=float(doc.get("threshold", 5)), marts=marts)


def _check_rule(rule: MartRule) -> None:
    if rule.places:
        return
    counts = set(rule.count_columns)
    problems = []
    if not rule.key:
        problems.append("a person mart needs a key")
    for rate, deps in rule.rates.items():
        problems += [f"rate {rate} depends on {d}, not a declared count" for d in deps
                     if d not in counts]
    for a in rule.additive:
        problems += [f"additive column {c} is not a count" for c in a.columns if c not in counts]
        if a.over not in rule.key:
            problems.append(f"additive over {a.over} is not a key column")
    for s in rule.subsets:
        problems += [f"subset column {c} is not a count" for c in (s.whole, *s.parts)
                     if c not in counts]
    for sh in rule.shared:
        problems += [f"shared column {c} is not a count" for c in sh.columns if c not in counts]
        if sh.over not in rule.key:
            problems.append(f"shared over {sh.over} is not a key column")
    if problems:
        raise DisclosureError(f"{POLICY_FILE.name}: {rule.name}: " + "; ".join(problems))


def load_policy(path: Path | None = None) -> Policy:
    return _load_cached(str(path or POLICY_FILE))


@cache
def _load_cached(path: str) -> Policy:
    return parse_policy(yaml.safe_load(Path(path).read_text()))


# ------------------------------------------------------------------------------------ relations


@dataclass(frozen=True)
class Relation:
    """total = sum(parts) (+ remainder). total None: the sum is known without a published cell.
    remainder: the value of an unpublished count that completes the sum, if there is one."""

    parts: tuple[Cell, ...]
    total: Cell | None
    remainder: float | None = None

    @property
    def cells(self) -> tuple[Cell, ...]:
        return self.parts + ((self.total,) if self.total else ())


def _group(rows: list[dict], key: tuple[str, ...], over: str) -> dict[tuple, list[int]]:
    rest = [k for k in key if k != over]
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        groups[tuple(row[k] for k in rest)].append(i)
    return groups


def relations(rule: MartRule, rows: list[dict]) -> list[Relation]:
    """Every declared additive relation between the cells of these rows."""
    out: list[Relation] = []
    for a in rule.additive:
        for members in _group(rows, rule.key, a.over).values():
            total_rows = [i for i in members if a.total is not None
                          and str(rows[i][a.over]) == a.total]
            parts = [i for i in members if i not in total_rows and
                     (a.members is None or str(rows[i][a.over]) in a.members)]
            for col in a.columns:
                cells = tuple((i, col) for i in parts)
                total = (total_rows[0], col) if total_rows else None
                if any(rows[i][c] is None for i, c in cells + ((total,) if total else ())):
                    continue
                out.append(Relation(parts=cells, total=total))
    for s in rule.subsets:
        for i, row in enumerate(rows):
            if s.condition is not None and not s.condition.holds(row):
                continue
            values = [row[s.whole], *(row[p] for p in s.parts)]
            if any(v is None for v in values):
                continue
            remainder = values[0] - sum(values[1:])
            if remainder < 0:
                log.warning("%s row %s: %s is less than %s; relation ignored", rule.name,
                            {k: row[k] for k in rule.key}, s.whole, "+".join(s.parts))
                continue
            out.append(Relation(parts=tuple((i, p) for p in s.parts), total=(i, s.whole),
                                remainder=remainder))
    return out


def linked_cells(rule: MartRule, rows: list[dict]) -> dict[Cell, frozenset[Cell]]:
    """Cells declared equal across rows (shared), each mapped to its whole set."""
    links: dict[Cell, frozenset[Cell]] = {}
    for sh in rule.shared:
        for members in _group(rows, rule.key, sh.over).values():
            chosen = [i for i in members if sh.members is None
                      or str(rows[i][sh.over]) in sh.members]
            for col in sh.columns:
                group = frozenset((i, col) for i in chosen)
                for cell in group:
                    links[cell] = links.get(cell, frozenset()) | group
    return links


# ------------------------------------------------------------------------------------ suppression


@dataclass
class Suppression:
    primary: set[Cell]
    secondary: set[Cell]
    dependent: set[Cell]

    @property
    def hidden(self) -> set[Cell]:
        return self.primary | self.secondary | self.dependent


def _countable(rule: MartRule, rows: list[dict]) -> set[Cell]:
    return {(i, c.column) for i, row in enumerate(rows) for c in rule.counts if c.applies(row)}


def _unsafe(rel: Relation, hidden: set[Cell], value, policy: Policy) -> bool:
    """Could a suppressed cell (or a small remainder) be pinned from this relation alone?"""
    if not _sum_known(rel, hidden, value):
        return False
    hidden_parts = [c for c in rel.parts if c in hidden]
    total_hidden = rel.total is not None and rel.total in hidden
    unknown = len(hidden_parts) + total_hidden + (rel.remainder is not None)
    if unknown == 0:
        return False
    if unknown == 1:
        return bool(hidden_parts) or total_hidden or policy.sensitive(rel.remainder)
    if total_hidden:
        return False  # the total and at least one addend unknown: only their difference is known
    # Known sum of the unknowns; each suppressed cell is at least 1 (zeros are shown), a remainder
    # at least 0. If the sum equals those lower bounds, every unknown is pinned to its bound.
    unknown_sum = sum(value(c) for c in hidden_parts) + (rel.remainder or 0)
    return unknown_sum <= len(hidden_parts)


def _sum_known(rel: Relation, hidden: set[Cell], value) -> bool:
    """A group sum without a total cell is derivable only through a shown non-zero member (its
    share of the sum); when every non-zero member is suppressed, nothing reveals the sum."""
    return rel.total is not None or any(c not in hidden and value(c) for c in rel.parts)


def suppress(policy: Policy, rule: MartRule, rows: list[dict]) -> Suppression:
    """Decide which cells of these rows (ordered by the key) are suppressed."""
    def value(cell: Cell):
        return rows[cell[0]][cell[1]]

    countable = _countable(rule, rows)
    links = linked_cells(rule, rows)

    def with_links(cells: set[Cell]) -> set[Cell]:
        return cells.union(*(links.get(c, ()) for c in cells)) & countable if cells else cells

    primary = with_links({c for c in countable if policy.sensitive(value(c))})
    hidden = set(primary)
    for rels, link_groups in _independent_groups(relations(rule, rows), links):
        while True:
            # Relation by relation: the next smallest non-zero cell goes with a lone suppressed
            # one (or with suppressed cells that could only be 1 each).
            changed = True
            while changed:
                changed = False
                for rel in rels:
                    if _unsafe(rel, hidden, value, policy):
                        pick = _pick(rel, hidden, countable, value)
                        if pick is not None:
                            hidden |= with_links({pick})
                            changed = True
            # Relations together (a shown part bounding a suppressed whole from below while a
            # total bounds it from above...): an exact integer search for anything still pinned.
            pick = _audit(policy, rule.name, rels, link_groups, hidden, countable, value)
            if pick is None:
                break
            hidden |= with_links({pick})
    secondary = hidden - primary
    dependent = {(i, rate) for i in range(len(rows)) for rate, deps in rule.rates.items()
                 if any((i, d) in hidden for d in deps)}
    return Suppression(primary=primary, secondary=secondary, dependent=dependent)


def _independent_groups(rels: list[Relation], links: dict[Cell, frozenset[Cell]]
                        ) -> list[tuple[list[Relation], list[frozenset[Cell]]]]:
    """Relations and equal-cell sets split into groups that share no cell, in a stable order."""
    parent: dict[Cell, Cell] = {}

    def find(c: Cell) -> Cell:
        while parent.setdefault(c, c) != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    link_groups = sorted(set(links.values()), key=min)
    for cells in [r.cells for r in rels] + [tuple(g) for g in link_groups]:
        for c in cells[1:]:
            parent[find(c)] = find(cells[0])
    groups: dict[Cell, tuple[list[Relation], list[frozenset[Cell]]]] = {}
    for rel in rels:
        groups.setdefault(find(rel.cells[0]), ([], []))[0].append(rel)
    for g in link_groups:
        groups.setdefault(find(min(g)), ([], []))[1].append(g)
    return [groups[root] for root in sorted(groups)]


def _pick(rel: Relation, hidden: set[Cell], countable: set[Cell], value) -> Cell | None:
    """The smallest non-zero shown cell of the relation (one of 1 would not help when the
    suppressed cells already sum to their minimum, so a larger one is preferred then)."""
    candidates = [c for c in rel.cells if c in countable and c not in hidden and value(c)]
    if not candidates:
        return None  # nothing shown to add: the sum itself is not published
    all_ones = sum(1 for c in rel.parts if c in hidden) >= 2
    return min(candidates, key=lambda c: (all_ones and value(c) < 2, value(c), c == rel.total, c))


def _audit(policy: Policy, mart: str, rels: list[Relation], link_groups: list[frozenset[Cell]],
           hidden: set[Cell], countable: set[Cell], value) -> Cell | None:
    """A cell to suppress next if some suppressed cell, or unpublished remainder of 1-4, is
    pinned to one value by this group's relations taken together; None when nothing is."""
    eqs: list[Equation] = []
    owners: dict[Var, list[Relation]] = defaultdict(list)
    truth: dict[Var, int] = {}
    lower: dict[Var, int] = {}

    def fold(terms: list[tuple[int, Var]], const: int) -> Equation:
        kept = []
        for coef, v in terms:
            if v in truth and lower[v] == 0:  # a remainder
                kept.append((coef, v))
            elif v in hidden:
                truth[v], lower[v] = int(value(v)), 1
                kept.append((coef, v))
            else:
                const -= coef * value(v)
        return tuple(kept), int(const)

    for n, rel in enumerate(rels):
        if not _sum_known(rel, hidden, value):
            continue
        terms: list[tuple[int, Var]] = [(1, c) for c in rel.parts]
        const = sum(value(c) for c in rel.parts) if rel.total is None else 0
        if rel.total is not None:
            terms.append((-1, rel.total))
        if rel.remainder is not None:
            rest = ("remainder", n)
            truth[rest], lower[rest] = int(rel.remainder), 0
            terms.append((1, rest))
            owners[rest].append(rel)
        for c in rel.cells:
            owners[c].append(rel)
        eqs.append(fold(terms, const))
    for group in link_groups:
        cells = sorted(group)
        eqs += [fold([(1, a), (-1, b)], 0) for a, b in zip(cells, cells[1:])]
    eqs = [e for e in eqs if e[0]]
    watch = sorted((v for v in truth if lower[v] == 1 or policy.sensitive(truth[v])), key=str)
    if not watch:
        return None
    for v in pinned_unknowns(eqs, lower, truth, watch):
        picks = [p for rel in owners[v] if (p := _pick(rel, hidden, countable, value))]
        if not picks:  # its own relations have nothing left to hide: any cell of the group
            picks = [c for rel in rels for c in rel.cells
                     if c in countable and c not in hidden and value(c)]
        if picks:
            return min(picks, key=lambda c: (value(c), c))
        log.warning("%s: %s is pinned by the declared relations and its group has nothing "
                    "left to suppress", mart, v)
    return None


# ------------------------------------------------------------------------------------ tables


def protect_mart(con: duckdb.DuckDBPyConnection, mart: str, policy: Policy | None = None,
                 schema: str = "marts") -> Protection:
    """Apply the mart's declared disclosure control to `schema.mart` in place."""
    policy = policy or load_policy()
    rule = policy.rule(mart)
    result = Protection(mart)
    if rule.places:
        return result
    table = f"{schema}.{mart}"
    columns = column_names(con, schema, mart)
    missing = sorted(c for c in rule.declared_columns | rule.condition_columns
                     if c not in columns)
    if missing:
        raise DisclosureError(f"{mart}: declared column(s) {missing} are not in the mart; "
                              f"update {POLICY_FILE.name}")
    clash = [c + FLAG for c in rule.protected_columns if c + FLAG in columns]
    if clash:
        raise DisclosureError(f"{mart}: column(s) {clash} clash with suppression flags")
    result.dropped_columns = [c for c in columns if c not in rule.declared_columns]
    for c in result.dropped_columns:
        log.warning("%s: column %s is not classified in %s; it is not published", mart, c,
                    POLICY_FILE.name)

    con.execute(f"CREATE OR REPLACE TEMP TABLE __numbered AS "
                f"SELECT row_number() OVER () AS __row, * FROM {table}")
    needed = list(dict.fromkeys([*rule.key, *rule.count_columns, *rule.condition_columns]))
    order = ", ".join(ident(k) for k in rule.key)
    fetched = con.execute(f"SELECT __row, {', '.join(ident(c) for c in needed)} FROM __numbered "
                          f"ORDER BY {order}, __row").fetchall()
    row_ids = [r[0] for r in fetched]
    rows = [dict(zip(needed, r[1:])) for r in fetched]
    keys = [tuple(r[k] for k in rule.key) for r in rows]
    if len(set(keys)) != len(keys):
        raise DisclosureError(f"{mart}: key {list(rule.key)} does not identify rows uniquely")

    s = suppress(policy, rule, rows)
    result.primary, result.secondary = len(s.primary), len(s.secondary)
    result.dependent = len(s.dependent)
    flagged = rule.protected_columns
    per_row: dict[int, set[str]] = defaultdict(set)
    for i, col in s.hidden:
        per_row[row_ids[i]].add(col)
    con.execute("CREATE OR REPLACE TEMP TABLE __flags (__row BIGINT, "
                + ", ".join(f"{ident(c)} BOOLEAN" for c in flagged) + ")")
    if per_row:
        con.executemany(f"INSERT INTO __flags VALUES (?{', ?' * len(flagged)})",
                        [[r, *(c in cols for c in flagged)] for r, cols in sorted(per_row.items())])
    select = []
    for c in columns:
        if c in result.dropped_columns:
            continue
        if c in flagged:
            select.append(f"CASE WHEN f.{ident(c)} THEN NULL ELSE n.{ident(c)} END AS {ident(c)}")
            select.append(f"coalesce(f.{ident(c)}, false) AS {ident(c + FLAG)}")
        else:
            select.append(f"n.{ident(c)}")
    tmp = f"{schema}.{ident(mart + '__protected')}"
    con.execute(f"CREATE OR REPLACE TABLE {tmp} AS SELECT {', '.join(select)} FROM __numbered n "
                f"LEFT JOIN __flags f USING (__row) ORDER BY n.__row")
    con.execute(f"DROP TABLE {table}")
    con.execute(f"ALTER TABLE {tmp} RENAME TO {ident(mart)}")
    con.execute("DROP TABLE __numbered")
    con.execute("DROP TABLE __flags")
    log.info("%s: %d cells suppressed (%d primary, %d secondary, %d rates)", mart, result.cells,
             result.primary, result.secondary, result.dependent)
    return result


def protect_snapshot(con: duckdb.DuckDBPyConnection, marts: list[str]) -> int:
    """Protect every listed mart of the snapshot in place; returns the number of cells suppressed.

    Raises DisclosureError for a mart that is not declared or no longer matches its declaration.
    """
    policy = load_policy()
    return sum(protect_mart(con, mart, policy).cells for mart in marts)
